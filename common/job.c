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

void
bs_job_add_key(struct bs_job *job, const char *key, size_t keylen,
    enum bs_key_where where, uint32_t change, uint32_t commit)
{
	for (size_t i = 0; i < job->n_keys; i++) {
		struct bs_issue_ref *r = &job->keys[i];
		if (r->where == where && r->change == change && r->commit == commit &&
		    strlen(r->key) == keylen && memcmp(r->key, key, keylen) == 0)
			return;
	}
	struct bs_issue_ref *r = bs_arena_push(&job->ev.arena, (void **)&job->keys,
	    &job->n_keys, &job->_keys_cap, sizeof(*r));
	r->key = bs_arena_strndup(&job->ev.arena, key, keylen);
	r->where = where;
	r->change = change;
	r->commit = commit;
}

size_t
bs_job_distinct_keys(struct bs_job *job, const char ***out)
{
	const char **list = bs_arena_alloc(&job->ev.arena,
	    (job->n_keys ? job->n_keys : 1) * sizeof(*list));
	size_t n = 0;
	for (size_t i = 0; i < job->n_keys; i++) {
		size_t j;
		for (j = 0; j < n; j++)
			if (strcmp(list[j], job->keys[i].key) == 0)
				break;
		if (j == n)
			list[n++] = job->keys[i].key;
	}
	*out = list;
	return n;
}
