/* match: which configured Sleuth code deployments (common/deployment.h)
 * a job hits, as targets to register.
 *
 * Matching is pure: job in, targets out, in change order then deployment
 * order. */
#ifndef BS_MATCH_H
#define BS_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/deployment.h"
#include "common/job.h"

/* One registration to make: a deployment hit by one change (or PR). */
struct bs_target {
	const struct bs_deployment *dep;
	size_t dep_index;
	size_t change;          /* index into job->ev.changes; SIZE_MAX for a PR merge */
	const char *sha;        /* commit to register (job-owned) */
	const char *branch;     /* the branch (or tag) name that matched */
	bool send_branch;       /* matched by a glob: Sleuth needs the full branch */
};

/* fnmatch-style glob: '*' (any run, '/' included), '?', '[...]'. */
bool bs_glob_match(const char *pattern, const char *s);

/* Fills out[0..max) with the targets job hits, in change order then
 * deployment order, one per (deployment, change); returns how many there
 * are (may exceed max: then only max were written). */
size_t bs_match_job(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_job *job, struct bs_target *out, size_t max);

/* "org/deployment/environment" into out. */
void bs_target_name(const struct bs_target *t, char *out, size_t outlen);

#endif
