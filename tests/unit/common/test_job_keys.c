/* Unit tests of common/job's key hash set: many keys with duplicates
 * against a naive reference, keys pushed by a decoder, distinct order. */
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/job.h"
#include "tests/unit/test.h"

/* The reference: the linear scan bs_job_add_key used to be. */
static int
ref_has(const struct bs_issue_ref *refs, size_t n, const char *key,
    size_t keylen, enum bs_key_where where, uint32_t change, uint32_t commit)
{
	for (size_t i = 0; i < n; i++)
		if (refs[i].where == where && refs[i].change == change &&
		    refs[i].commit == commit && strlen(refs[i].key) == keylen &&
		    memcmp(refs[i].key, key, keylen) == 0)
			return 1;
	return 0;
}

int
main(void)
{
	TEST("job keys: 20000 adds with duplicates match the linear reference") {
		struct bs_job job;
		bs_job_init(&job);
		static struct bs_issue_ref ref[20000];
		static char names[20000][16];
		size_t nref = 0;
		unsigned seed = 12345;
		for (int i = 0; i < 20000; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned k = (seed >> 8) % 700;
			enum bs_key_where w = (enum bs_key_where)(1 + (seed >> 20) % 5);
			uint32_t change = (seed >> 4) % 3, commit = (seed >> 12) % 4;
			char key[16];
			int len = snprintf(key, sizeof(key), "PROJ-%u", k);
			/* a longer buffer: only keylen bytes count */
			char buf[32];
			memcpy(buf, key, (size_t)len);
			memcpy(buf + len, "99", 3);
			bs_job_add_key(&job, buf, (size_t)len, w, change, commit);
			if (!ref_has(ref, nref, key, (size_t)len, w, change, commit)) {
				memcpy(names[nref], key, (size_t)len + 1);
				ref[nref] = (struct bs_issue_ref){ names[nref], w, change,
					commit };
				nref++;
			}
		}
		CHECK_INT(job.n_keys, nref);
		int same = job.n_keys == nref;
		for (size_t i = 0; same && i < nref; i++)
			same = strcmp(job.keys[i].key, ref[i].key) == 0 &&
			    job.keys[i].where == ref[i].where &&
			    job.keys[i].change == ref[i].change &&
			    job.keys[i].commit == ref[i].commit;
		CHECK(same);
		/* distinct strings in first-seen order */
		const char **keys;
		size_t n = bs_job_distinct_keys(&job, &keys);
		size_t want = 0;
		int order = 1;
		for (size_t i = 0; i < nref; i++) {
			size_t j;
			for (j = 0; j < i; j++)
				if (strcmp(ref[j].key, ref[i].key) == 0)
					break;
			if (j == i) {
				order &= want < n && strcmp(keys[want], ref[i].key) == 0;
				want++;
			}
		}
		CHECK_INT(n, want);
		CHECK(order);
		CHECK_INT(n, 700);
		bs_job_release(&job);
	}
	TEST("job keys: keys pushed directly (the decoder) are deduped too") {
		struct bs_job job;
		bs_job_init(&job);
		for (uint32_t i = 0; i < 40; i++) {
			struct bs_issue_ref *r = bs_arena_push(&job.ev.arena,
			    (void **)&job.keys, &job.n_keys, &job._keys_cap, sizeof(*r));
			r->key = bs_arena_printf(&job.ev.arena, "OPS-%u", i);
			r->where = BS_KEY_COMMIT;
			r->change = 0;
			r->commit = i;
		}
		bs_job_add_key(&job, "OPS-7", 5, BS_KEY_COMMIT, 0, 7);   /* there */
		bs_job_add_key(&job, "OPS-7", 5, BS_KEY_COMMIT, 0, 8);   /* new */
		CHECK_INT(job.n_keys, 41);
		/* more pushed after the set was built, then added again */
		struct bs_issue_ref *r = bs_arena_push(&job.ev.arena,
		    (void **)&job.keys, &job.n_keys, &job._keys_cap, sizeof(*r));
		r->key = bs_arena_strdup(&job.ev.arena, "SHOP-1");
		r->where = BS_KEY_BRANCH;
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_BRANCH, 0, 0);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_PR_TITLE, 0, 0);
		CHECK_INT(job.n_keys, 43);
		const char **keys;
		size_t n = bs_job_distinct_keys(&job, &keys);
		CHECK_INT(n, 41);
		CHECK_STR(keys[0], "OPS-0");
		CHECK_STR(keys[39], "OPS-39");
		CHECK_STR(keys[40], "SHOP-1");
		bs_job_release(&job);
	}
	TEST("job keys: empty job, prefixes and a released job reused") {
		struct bs_job job;
		bs_job_init(&job);
		const char **keys;
		CHECK_INT(bs_job_distinct_keys(&job, &keys), 0);
		bs_job_add_key(&job, "AB-12", 5, BS_KEY_COMMIT, 0, 0);
		bs_job_add_key(&job, "AB-1", 4, BS_KEY_COMMIT, 0, 0);
		bs_job_add_key(&job, "AB-12", 4, BS_KEY_COMMIT, 0, 0);  /* "AB-1" */
		CHECK_INT(job.n_keys, 2);
		bs_job_release(&job);
		bs_job_init(&job);
		bs_job_add_key(&job, "AB-1", 4, BS_KEY_COMMIT, 0, 0);
		CHECK_INT(job.n_keys, 1);
		CHECK_INT(bs_job_distinct_keys(&job, &keys), 1);
		bs_job_release(&job);
	}
	return TEST_REPORT();
}
