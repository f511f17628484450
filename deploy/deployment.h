/* deployment: the configured Sleuth code deployments and which of them a
 * job hits.
 *
 * A deployment names a Sleuth target (org, deployment slug, environment)
 * and the Bitbucket repository and branches whose pushes (or merges, or
 * tags) are deploys of it. Matching is pure: job in, targets out. */
#ifndef BS_DEPLOYMENT_H
#define BS_DEPLOYMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/job.h"

enum bs_track {
	BS_TRACK_PUSH = 0,    /* a push to a matching branch (creation too, not deletion) */
	BS_TRACK_MERGE = 1,   /* a merged PR into a matching branch: its merge commit */
	BS_TRACK_TAG = 2,     /* a pushed tag matching tag_pattern: the tag's commit */
};

struct bs_deployment {
	char *org;              /* Sleuth organisation slug */
	char *deployment;       /* Sleuth code deployment slug */
	char *repository;       /* Cloud "ws/repo" or DC "PROJECT/slug" (case-insensitive) */
	char **branches;        /* exact names or globs (*, ?, [..]) */
	size_t n_branches;
	char *environment;      /* Sleuth environment slug */
	enum bs_track track;
	char *tag_pattern;      /* glob, for track: tag ("*" when unset) */
	char *token_env;        /* overrides sleuth.token_env, may be NULL */
	char *token;            /* resolved from the environment at load */
	int dry_run;            /* -1 inherit sleuth.dry_run, 0, 1 */
	char **tags;            /* static "#tag"s sent with every deploy */
	size_t n_tags;
	bool issue_tags;        /* also send "#<key>" lowercased per issue key */
	int line;               /* where it is in the config file, for messages */
};

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
