/* deployment: one configured Sleuth code deployment, as the config loads
 * it (config/) and matching reads it (deploy/match.h).
 *
 * A deployment names a Sleuth target (org, deployment slug, environment)
 * and the Bitbucket repository and branches whose pushes (or merges, or
 * tags) are deploys of it. Plain data: the config's arena owns the
 * strings. */
#ifndef BS_DEPLOYMENT_H
#define BS_DEPLOYMENT_H

#include <stdbool.h>
#include <stddef.h>

enum bs_track {
	BS_TRACK_PUSH = 0,    /* a push to a matching branch (creation too, not deletion) */
	BS_TRACK_MERGE = 1,   /* a merged PR into a matching branch: its merge commit */
	BS_TRACK_TAG = 2,     /* a pushed tag matching tag_pattern: the tag's commit */
};

/* Sleuth's source path prefixes of a code deployment (monorepos, issue
 * 16): a push is a deploy of it only when it changes a file that is under
 * one of `includes` (any file when there are none) and under none of
 * `excludes`. A prefix is a path relative to the repository root without
 * a leading '/' ("services/web/"); one with '*', '?' or '[' is a glob
 * (deploy/paths.h). Both empty: every push. */
struct bs_path_prefix {
	char **includes;
	size_t n_includes;
	char **excludes;
	size_t n_excludes;
};

/* One environment of a code deployment: the branches whose pushes are its
 * deploys (exact names or globs). */
struct bs_env_mapping {
	char *environment;      /* Sleuth environment slug */
	char **branches;
	size_t n_branches;
	int line, column;       /* in the config file; 0 when discovered */
};

/* A Sleuth code deployment in Sleuth's own model (issue 16): written by
 * hand under projects[].code_deployments, or learned from Sleuth's GraphQL
 * API (parsers/sleuth_graphql.h). config/expand.h turns it, with its
 * project, into one struct bs_deployment per environment. */
struct bs_code_deployment {
	char *deployment;       /* code deployment slug */
	char *name;             /* Sleuth's display name (discovered), may be NULL */
	char *repository;       /* "ws/repo" or "PROJECT/slug" */
	int track;              /* enum bs_track, or -1: the project's track */
	char *tag_pattern;      /* NULL: "*" */
	struct bs_env_mapping *envs;
	size_t n_envs;
	struct bs_path_prefix paths;
	/* Sleuth's deployTrackingType, upper case ("MANUAL" is Sleuth's
	 * "Webhook"), NULL when written by hand. */
	char *tracking_type;
	int line;               /* in the config file; 0 when discovered */
};

/* Where a struct bs_deployment came from. */
enum bs_dep_origin {
	BS_ORIGIN_FLAT = 0,     /* the deployments: list */
	BS_ORIGIN_PROJECT,      /* projects[].code_deployments, by hand */
	BS_ORIGIN_DISCOVERED,   /* projects[] with discover: true, from Sleuth */
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
	char *token_file;       /* or a file holding the token (wins), may be NULL */
	char *token;            /* resolved from the environment or file at load */
	int dry_run;            /* -1 inherit sleuth.dry_run, 0, 1 */
	char **tags;            /* static "#tag"s sent with every deploy */
	size_t n_tags;
	bool issue_tags;        /* also send "#<key>" lowercased per issue key */
	int line;               /* where it is in the config file, for messages
	                         * (0 for a discovered one) */
	/* issue 16 */
	enum bs_dep_origin origin;
	char *project;          /* Sleuth project slug; NULL for a flat entry */
	struct bs_path_prefix paths;  /* empty: every push is a deploy */
};

/* One line describing target d, as `check`, `check --discover` and the
 * discovery log show it:
 *   "<org>/<project or ->/<deployment>/<environment> <- <repository> <what>"
 * where <what> is the branches ("main, rel-*"; "merge into main" for
 * track merge; "tag v*" for track tag), then " (branch sent)" when a
 * branch is a glob (Sleuth gets the full branch name), then
 * " [paths: <include> ... -<exclude> ...]" when d has path prefixes.
 * Cut at outlen (always NUL-terminated). */
void bs_deployment_describe(const struct bs_deployment *d, char *out,
    size_t outlen);

#endif
