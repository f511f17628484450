/* commit_plan: which commits a deploy of one target carries, and where
 * they come from (issue 12). Pure: a change and what Redis knows in, a
 * plan out.
 *
 * A deploy's commits are those reachable from its sha and not from the
 * sha last registered for the target: what Sleuth itself computes. The
 * webhook's list is that set only when it provably is: an update (not a
 * creation, not a force push), not truncated, whose old hash is the last
 * registered sha, whose first commit is the new head, and which is closed
 * under parents down to the old hash (every parent of a listed commit is
 * listed or is the old hash, and the old hash is not listed). Everything
 * else asks Bitbucket's API:
 *   last known                 include=sha, exclude=last
 *   none known, an update      include=sha, exclude=the change's old hash
 *                              (the commits of this push)
 *   none known, a new branch   include=sha, exclude=the repository's main
 *                              branch (so history is never pulled whole)
 *   none known, a tag or merge nothing: leave `commits` out (Sleuth
 *                              computes its own diff)
 * A merge or tag deploy with a last sha known is fetched like a push. */
#ifndef BS_COMMIT_PLAN_H
#define BS_COMMIT_PLAN_H

#include <stdbool.h>

#include "common/event.h"

enum bs_commit_source {
	BS_COMMITS_OMIT = 0,     /* send no `commits` */
	BS_COMMITS_PAYLOAD,      /* the webhook's list is exact */
	BS_COMMITS_FETCH,        /* ask the API: include, exclude / exclude_main */
	BS_COMMITS_SAME,         /* sha is the one last registered: send nothing */
};

struct bs_commit_plan {
	enum bs_commit_source source;
	const char *include;     /* FETCH: the deployed sha */
	const char *exclude;     /* FETCH: a sha, or NULL with exclude_main */
	bool exclude_main;
	const char *why;         /* a static phrase for logs */
};

/* ch: the pushed change the target matched, or NULL (a merge); sha: what
 * is registered (a merge's may be a 12-character prefix); last: the sha
 * last registered for the target, or NULL. Strings are borrowed. */
void bs_commit_plan(const struct bs_change *ch, const char *sha,
    const char *last, struct bs_commit_plan *out);

/* Whether a and b name the same commit: equal, or one a prefix (at least
 * 7 hex digits) of the other, ASCII case-insensitively. */
bool bs_same_commit(const char *a, const char *b);

#endif
