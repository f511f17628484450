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
	int line;               /* where it is in the config file, for messages */
};

#endif
