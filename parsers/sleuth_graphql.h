/* sleuth_graphql: the GraphQL query bitsleuth sends Sleuth to learn a
 * project's code deployments, and its answer read into Sleuth's model
 * (common/deployment.h: struct bs_code_deployment). Issue 16; facts in
 * docs/sleuth-api.md §1.8 and §2.
 *
 * Pure code, no I/O. The query is the one Sleuth's Terraform provider
 * sends (internal/gqlclient/code_change_sources.go):
 *
 *   query($projectSlug: ID!) { project(projectSlug: $projectSlug) {
 *     changeSources { type ... on CodeChangeSource { slug name
 *       repository { owner name provider url } deployTrackingType
 *       pathPrefix environmentMappings { environmentSlug branch } } } } }
 *
 * The answer passes bs_utf8_check_json() and yajl's SAX parser through
 * json_sax.h (depth 64, strings 65536 bytes), like every other body.
 * Reasons written into err are one line and never echo more than a short,
 * sanitised piece of Sleuth's own error message. */
#ifndef BS_SLEUTH_GRAPHQL_H
#define BS_SLEUTH_GRAPHQL_H

#include <stddef.h>

#include "common/arena.h"
#include "common/deployment.h"

/* Most change sources, and environment mappings per change source, read;
 * more are counted in skipped_bad. */
#define BS_GQL_MAX_SOURCES 1000
#define BS_GQL_MAX_MAPPINGS 100

/* The request body: {"query":"...","variables":{"projectSlug":"<slug>"}},
 * NUL-terminated, in a; *len its length. The slug is JSON-escaped (yajl_gen);
 * NULL (and *len 0) when it is NULL or not valid UTF-8. */
char *bs_graphql_project_query(struct bs_arena *a, const char *project_slug,
    size_t *len);

struct bs_discovered {
	struct bs_code_deployment *items;  /* the Bitbucket code deployments, in answer order */
	size_t n;
	size_t skipped_other;   /* change sources that are not CODE, or whose
	                         * repository is not on Bitbucket */
	size_t skipped_bad;     /* CODE sources left out: no slug, no
	                         * repository owner/name, a slug or
	                         * environment slug that is not a Sleuth slug,
	                         * a bad pathPrefix, or over the caps */
};

/* Reads Sleuth's answer to the project query into *out (zeroed first):
 *   - {"errors":[{"message":...},...]} (with or without data) -> -1,
 *     err "Sleuth refused: <first message>";
 *   - data.project null or absent -> -1, err "no such project";
 *   - data.project.changeSources not an array -> -1.
 * Of every change source, kept: `type` "CODE" (or absent) and
 * repository.provider starting with "BITBUCKET" (case-insensitive; Cloud
 * and Data Center). Each kept one becomes a bs_code_deployment:
 *   deployment   slug
 *   name         name (NULL when absent or holding a control byte,
 *                < 0x20 or 0x7F)
 *   repository   "<owner>/<name>" (Cloud workspace/repo, DC PROJECT/slug)
 *   track        -1 (the project's)
 *   tracking_type deployTrackingType upper-cased (NULL when absent or
 *                holding a control byte)
 *   paths        pathPrefix through bs_path_prefix_parse
 *   envs         one per environmentMappings item {environmentSlug,
 *                branch}: branch, trimmed of leading and trailing
 *                spaces (a Git branch has none), as a one-item list. A
 *                branch with '*', '?' or '[' is kept as a glob; one
 *                ending in '/' is a prefix and becomes "<branch>*"; else
 *                exact. Items with an empty branch or slug, or a branch
 *                holding a control byte, are skipped (skipped_bad counts
 *                the source only when none is left).
 * A string over the layer's cap (65536 bytes) is not cut but counts as a
 * value of the wrong type (a source whose slug, repository part, type,
 * provider or pathPrefix it is goes to skipped_bad; a deployTrackingType
 * is NULL; a mapping is skipped), except a name, which is cut (at a
 * character boundary). A repeated key replaces what the earlier one said,
 * repository and environmentMappings included.
 * Returns 0, or -1 with the reason in err. */
int bs_graphql_parse_project(const char *body, size_t len,
    struct bs_arena *a, struct bs_discovered *out, char *err, size_t errlen);

/* Sleuth's pathPrefix value: a JSON object {"includes":[...],
 * "excludes":[...]} (what the Terraform provider writes), or a comma
 * separated list of includes (what the UI takes); "" is none. Each prefix
 * is trimmed of spaces and of one leading '/'; empty ones are dropped.
 * A prefix holding a control character, a list of more than 100, or
 * JSON that is not such an object are errors.
 * Returns 0, or -1 with the reason in err. */
int bs_path_prefix_parse(const char *s, size_t len, struct bs_arena *a,
    struct bs_path_prefix *out, char *err, size_t errlen);

#endif
