/* sleuth: the register_deploy request and what its answer means.
 *
 * POST {base}/api/1/deployments/{org}/{deployment}/register_deploy with
 * Authorization: Bearer <token> and a JSON body (sleuth-api.md 1.3):
 * sha, environment, branch (when matched by a pattern), date (ISO-8601
 * UTC), email, ignore_if_duplicate "true", commits (unless Bitbucket
 * truncated the list), links, tags. Bodies are written with yajl_gen. */
#ifndef BS_SLEUTH_H
#define BS_SLEUTH_H

#include <stddef.h>

#include "common/job.h"
#include "deploy/match.h"

struct bs_sleuth_sent;

/* Where a deploy's `commits` come from (the worker decides, issue 12). */
enum bs_body_commits {
	BS_BODY_PAYLOAD = 0,        /* the change's list, unless truncated */
	BS_BODY_GIVEN,              /* opts.commits (fetched from Bitbucket's API) */
	BS_BODY_NONE,               /* no `commits`: Sleuth computes its own */
	BS_BODY_SAME,               /* (worker only: nothing is sent at all) */
};

struct bs_sleuth_opts {
	const char *issue_url;      /* "https://x.atlassian.net/browse/{key}" or NULL */
	size_t max_commits;         /* default 250, as Sleuth's own client */
	enum bs_body_commits commits_from;
	/* GIVEN: the deploy's commits, newest first, and the issue keys of
	 * their messages, which replace the keys of the payload's commits
	 * (branch and PR keys stay). */
	const struct bs_commit *commits;
	size_t n_commits;
	const char *const *commit_keys;
	size_t n_commit_keys;
	const char *email;          /* the deployed commit's author when known
	                             * otherwise (a merge resolved through the
	                             * API), or NULL */
	struct bs_sleuth_sent *sent; /* when not NULL, filled with what the
	                             * body carries (the deploy's record) */
};

#define BS_SLEUTH_MAX_KEYS 100      /* distinct issue keys per deploy */

/* What one register_deploy body carries, for the outcome record of
 * {p}:deploys: its date ("" when none), how many commits (-1: no
 * `commits`, Sleuth computes them) and the deploy's issue keys (pointers
 * into the job and the opts' commit keys). */
struct bs_sleuth_sent {
	char date[32];
	long long commits;
	const char *keys[BS_SLEUTH_MAX_KEYS];
	size_t n_keys;
};

/* "{base}/api/1/deployments/{org}/{deployment}/register_deploy" with the
 * slugs percent-encoded; malloc'd. */
char *bs_sleuth_url(const char *base_url, const struct bs_deployment *dep);

/* The JSON body for target t of job; malloc'd, length in *len. */
char *bs_sleuth_body(const struct bs_job *job, const struct bs_target *t,
    const struct bs_sleuth_opts *opt, size_t *len);

enum bs_outcome {
	BS_OUTCOME_OK = 0,          /* 200: registered */
	BS_OUTCOME_RETRY,           /* 5xx, 429, timeout, connection error */
	BS_OUTCOME_RETRY_SLOW,      /* 400 "sha not found": Sleuth may not have it yet */
	BS_OUTCOME_DEAD,            /* 401/403/404, other 4xx: a human must look */
};

/* Classifies an answer (status 0 = no answer). */
enum bs_outcome bs_sleuth_classify(long status, const char *body,
    size_t body_len);
const char *bs_outcome_name(enum bs_outcome o);

#endif
