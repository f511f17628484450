/* job: lifecycle and key bookkeeping for a queued delivery (see job.h). */
#include "common/job.h"

#include <string.h>

void
bs_job_init(struct bs_job *job)
{
	memset(job, 0, sizeof(*job));
	job->version = BS_JOB_VERSION;
	bs_event_init(&job->ev);
}

void
bs_job_release(struct bs_job *job)
{
	bs_event_release(&job->ev);
	memset(job, 0, sizeof(*job));
}

const char *
bs_key_where_name(enum bs_key_where w)
{
	switch (w) {
	case BS_KEY_COMMIT: return "commit";
	case BS_KEY_BRANCH: return "branch";
	case BS_KEY_PR_TITLE: return "pr_title";
	case BS_KEY_PR_DESCRIPTION: return "pr_description";
	case BS_KEY_PR_BRANCH: return "pr_branch";
	}
	return "unknown";
}

/* One slot of a hash set over job->keys: index + 1 (0: empty) and the
 * entry's hash, so most probes that miss never touch the key string. */
struct bs_key_slot {
	uint32_t idx1;
	uint32_t hash;
};

/* FNV-1a over the bytes, then a 64-bit finaliser (splitmix64) so the low
 * bits used for the slot index are well mixed. */
static uint64_t
hash_bytes(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint32_t
mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (uint32_t)h;
}

static uint32_t
ref_hash(const char *key, size_t keylen, enum bs_key_where where,
    uint32_t change, uint32_t commit)
{
	uint64_t h = hash_bytes(key, keylen, 0xcbf29ce484222325ULL);
	h ^= (uint64_t)where * 0x9e3779b97f4a7c15ULL;
	h ^= ((uint64_t)change << 32 | commit) * 0xc2b2ae3d27d4eb4fULL;
	return mix(h);
}

/* Same key as keys[idx]? keylen bytes of key, then its terminator. */
static int
key_eq(const char *stored, const char *key, size_t keylen)
{
	return memcmp(stored, key, keylen) == 0 && stored[keylen] == '\0';
}

static void
set_put(struct bs_key_slot *set, size_t cap, uint32_t hash, size_t idx)
{
	size_t mask = cap - 1;
	size_t i = hash & mask;
	while (set[i].idx1)
		i = (i + 1) & mask;
	set[i].idx1 = (uint32_t)(idx + 1);
	set[i].hash = hash;
}

/* Makes room for one more entry and indexes keys[] the set does not know
 * yet (pushed by the decoder, or a job that shrank: then from scratch). */
static void
set_sync(struct bs_job *job)
{
	size_t want = job->n_keys + 1;
	if (job->_set_n > job->n_keys) {         /* rebuild */
		job->_set_n = 0;
		job->_set_cap = 0;
	}
	if (job->_set_cap == 0 || want * 2 > job->_set_cap) {
		size_t cap = job->_set_cap ? job->_set_cap : 16;
		while (want * 2 > cap)
			cap *= 2;
		job->_set = bs_arena_alloc(&job->ev.arena, cap * sizeof(*job->_set));
		job->_set_cap = cap;
		job->_set_n = 0;
	}
	for (; job->_set_n < job->n_keys; job->_set_n++) {
		const struct bs_issue_ref *r = &job->keys[job->_set_n];
		set_put(job->_set, job->_set_cap, ref_hash(r->key, strlen(r->key),
		    r->where, r->change, r->commit), job->_set_n);
	}
}

void
bs_job_add_key(struct bs_job *job, const char *key, size_t keylen,
    enum bs_key_where where, uint32_t change, uint32_t commit)
{
	if (job->n_keys >= UINT32_MAX - 1)
		return;
	set_sync(job);
	uint32_t hash = ref_hash(key, keylen, where, change, commit);
	size_t mask = job->_set_cap - 1;
	/* A key with a NUL inside never equals a stored one (strlen of the
	 * copy is shorter): added as it comes, as it always was. */
	int has_nul = memchr(key, '\0', keylen) != NULL;
	for (size_t i = hash & mask; !has_nul && job->_set[i].idx1;
	    i = (i + 1) & mask) {
		if (job->_set[i].hash != hash)
			continue;
		const struct bs_issue_ref *r = &job->keys[job->_set[i].idx1 - 1];
		if (r->where == where && r->change == change && r->commit == commit &&
		    key_eq(r->key, key, keylen))
			return;
	}
	struct bs_issue_ref *r = bs_arena_push(&job->ev.arena, (void **)&job->keys,
	    &job->n_keys, &job->_keys_cap, sizeof(*r));
	r->key = bs_arena_strndup(&job->ev.arena, key, keylen);
	r->where = where;
	r->change = change;
	r->commit = commit;
	if (has_nul)
		hash = ref_hash(r->key, strlen(r->key), where, change, commit);
	set_put(job->_set, job->_set_cap, hash, job->n_keys - 1);
	job->_set_n = job->n_keys;
}

size_t
bs_job_distinct_keys(struct bs_job *job, const char ***out)
{
	const char **list = bs_arena_alloc(&job->ev.arena,
	    (job->n_keys ? job->n_keys : 1) * sizeof(*list));
	size_t n = 0;
	if (job->n_keys == 0) {
		*out = list;
		return 0;
	}
	size_t cap = 16;
	while (cap < job->n_keys * 2)
		cap *= 2;
	struct bs_key_slot *set = bs_arena_alloc(&job->ev.arena,
	    cap * sizeof(*set));
	size_t mask = cap - 1;
	for (size_t k = 0; k < job->n_keys; k++) {
		const char *key = job->keys[k].key;
		size_t len = strlen(key);
		uint32_t hash = mix(hash_bytes(key, len, 0xcbf29ce484222325ULL));
		size_t i = hash & mask;
		int seen = 0;
		for (; set[i].idx1; i = (i + 1) & mask) {
			if (set[i].hash == hash &&
			    key_eq(list[set[i].idx1 - 1], key, len)) {
				seen = 1;
				break;
			}
		}
		if (seen)
			continue;
		set[i].idx1 = (uint32_t)(n + 1);
		set[i].hash = hash;
		list[n++] = key;
	}
	*out = list;
	return n;
}
