/* job: what one Bitbucket delivery becomes in the queue.
 *
 * A job is the normalised event plus what the ingest found in it (issue keys
 * and where) and the delivery's identity. queue/job_codec encodes it with
 * msgpack (versioned, see BS_JOB_VERSION) for the `<prefix>:jobs` stream; the
 * worker decodes it back into this struct and hands it to deploy/. All
 * strings are owned by `ev.arena`. */
#ifndef BS_JOB_H
#define BS_JOB_H

#include <stdint.h>

#include "common/event.h"

#define BS_JOB_VERSION 1

/* Where an issue key was found. */
enum bs_key_where {
	BS_KEY_COMMIT = 1,          /* a commit message: change, commit index */
	BS_KEY_BRANCH = 2,          /* a pushed ref name: change index */
	BS_KEY_PR_TITLE = 3,
	BS_KEY_PR_DESCRIPTION = 4,
	BS_KEY_PR_BRANCH = 5,       /* the PR's source branch */
};

struct bs_key_slot;

struct bs_issue_ref {
	char *key;                  /* "SHOP-12", "#45" */
	enum bs_key_where where;
	uint32_t change;            /* index into ev.changes (COMMIT, BRANCH) */
	uint32_t commit;            /* index into changes[change].commits (COMMIT) */
};

struct bs_job {
	uint32_t version;           /* BS_JOB_VERSION when built by this binary */
	char *delivery;             /* X-Request-UUID (Cloud) / X-Request-Id (DC) */
	int64_t received_ms;        /* unix ms when ingest accepted it */
	struct bs_event ev;
	struct bs_issue_ref *keys;  /* distinct (key, where, change, commit) in payload order */
	size_t n_keys;
	size_t _keys_cap;
	/* bs_job_add_key's hash set over keys[] (open addressing, in the
	 * arena, doubled when half full). Keys pushed into keys[] directly
	 * (the job decoder) are indexed on the next bs_job_add_key. */
	struct bs_key_slot *_set;
	size_t _set_cap;            /* slots, a power of two, or 0 */
	size_t _set_n;              /* keys[0.._set_n) are in the set */
};

void bs_job_init(struct bs_job *job);
void bs_job_release(struct bs_job *job);
const char *bs_key_where_name(enum bs_key_where w); /* "commit", "branch", "pr_title", ... */

/* Adds a key found at `where` unless that exact (key, where, change, commit)
 * is already there; the string is copied into the job's arena. Expected
 * O(1) (a hash set), so a push with thousands of keys stays linear. */
void bs_job_add_key(struct bs_job *job, const char *key, size_t keylen,
    enum bs_key_where where, uint32_t change, uint32_t commit);

/* Distinct key strings in first-seen order, written to *out (arena-owned);
 * returns the count. Linear (a hash set in the arena). */
size_t bs_job_distinct_keys(struct bs_job *job, const char ***out);

#endif
