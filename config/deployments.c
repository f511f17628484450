/* deployments: the checks of one item of the deployments: list, run by
 * keys.c right after the item was mapped onto its struct bs_deployment
 * (the item's keys are in deployment_keys in keys.c): required keys,
 * Sleuth slugs, repository, branch names git would refuse, tag_pattern
 * with track, token_env, Sleuth tags (normalised to '#tag') and duplicate
 * (org, deployment, environment) triples. Calls scalars.c and
 * config_diag.c only. */
#include "config/config_internal.h"

#include <stdio.h>
#include <string.h>

/* === what a deployment's values may be =================================== */

static bool
is_slug(const char *s)
{
	if (!*s || strlen(s) > CONFIG_MAX_SLUG)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static bool
has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* "ws/repo" or "PROJECT/slug": two non-empty parts, no spaces. */
static bool
is_repository(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Sleuth tags: '#' then lower-case letters, digits, '-' and '_'. A tag
 * written without '#' gets one. Returns NULL when the tag is invalid. */
static char *
norm_tag(struct ctx *c, const char *t)
{
	const char *p = t[0] == '#' ? t + 1 : t;
	if (!*p || strlen(p) > 100)
		return NULL;
	for (const char *q = p; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
		    *q == '-' || *q == '_'))
			return NULL;
	return bs_arena_printf(c->a, "#%s", p);
}

/* Why git would refuse name as a branch (git check-ref-format), or NULL.
 * Globs (with '*', '?' or '[') are judged only by what no branch name can
 * hold anywhere (a space, '~', ':', '..', ...): their '\\' is an escape,
 * '^' may negate a class and the ends are pattern characters. */
static const char *
bad_ref_reason(const char *name)
{
	size_t n = strlen(name);
	bool glob = strpbrk(name, "*?[") != NULL;
	if (n == 0)
		return NULL;
	for (const char *p = name; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == ' ')
			return "with a space";
		if (ch < 0x20 || ch == 0x7f)
			return "with control characters";
		if (glob && (ch == '^' || ch == '\\'))
			continue;
		if (ch == '~' || ch == '^' || ch == ':' || ch == '\\') {
			static const char *const why[] = { "with '~'", "with '^'",
				"with ':'", "with '\\'" };
			return why[ch == '~' ? 0 : ch == '^' ? 1 : ch == ':' ? 2 : 3];
		}
	}
	if (strstr(name, ".."))
		return "with '..'";
	if (strstr(name, "@{"))
		return "with '@{'";
	if (strstr(name, "//"))
		return "with '//'";
	if (name[0] == '/')
		return "starting with '/'";
	if (glob)
		return NULL;
	if (name[n - 1] == '/')
		return "ending in '/'";
	if (bs_config_ends_with(name, n, ".lock"))
		return "ending in '.lock'";
	if (name[n - 1] == '.')
		return "ending in '.'";
	if (name[0] == '.' || strstr(name, "/."))
		return "with a part starting with '.'";
	return NULL;
}

/* === one deployment ===================================================== */

/* A warning when an earlier deployment has the same (org, deployment,
 * environment): c->cfg->deployments[0 .. n_deployments) are the earlier
 * ones, dep is the one being added. */
static void
warn_duplicate(struct ctx *c, const struct bs_ynode *m,
    const char *path, const struct bs_deployment *dep)
{
	struct bs_config *cfg = c->cfg;
	for (size_t j = 0; j < cfg->n_deployments; j++) {
		const struct bs_deployment *o = &cfg->deployments[j];
		if (dep->org && o->org && strcmp(dep->org, o->org) == 0 &&
		    dep->deployment && o->deployment &&
		    strcmp(dep->deployment, o->deployment) == 0 &&
		    dep->environment && o->environment &&
		    strcmp(dep->environment, o->environment) == 0) {
			WARN(c, m, "%s: same org, deployment and environment as "
			    "the deployment at line %d: a push may be registered "
			    "twice", path, o->line);
			break;
		}
	}
}

void
bs_config_check_deployment(struct ctx *c, const struct bs_ynode *m, size_t idx,
    struct bs_deployment *dep)
{
	char path[64];
	snprintf(path, sizeof(path), "deployments[%zu]", idx);
	static const char *const required[] = { "org", "deployment",
		"repository", "environment" };
	char *const *fields[] = { &dep->org, &dep->deployment, &dep->repository,
		&dep->environment };
	for (size_t i = 0; i < 4; i++)
		if (!*fields[i])
			ERR(c, m, "%s: missing required key '%s'", path, required[i]);

	struct bs_ynode *kn;
	const char *slugs[] = { "org", "deployment", "environment" };
	char *const *sv[] = { &dep->org, &dep->deployment, &dep->environment };
	for (size_t i = 0; i < 3; i++) {
		if (!*sv[i])
			continue;
		const struct bs_ynode *v = bs_ynode_get(m, slugs[i], &kn);
		char sh[64];
		if (!is_slug(*sv[i]))
			ERR(c, v, "%s.%s: '%s' is not a Sleuth slug (letters, digits, "
			    "'-' and '_')", path, slugs[i],
			    bs_config_show(sh, sizeof(sh), *sv[i], strlen(*sv[i])));
		else if (i < 2 && has_upper(*sv[i]))
			WARN(c, v, "%s.%s: Sleuth slugs are lower-case, '%s' has "
			    "upper-case letters", path, slugs[i],
			    bs_config_show(sh, sizeof(sh), *sv[i], strlen(*sv[i])));
	}
	if (dep->repository && !is_repository(dep->repository)) {
		char sh[64];
		ERR(c, bs_ynode_get(m, "repository", NULL), "%s.repository: "
		    "expected 'workspace/repo' (Cloud) or 'PROJECT/repo' (Data "
		    "Center), got '%s'", path, bs_config_show(sh, sizeof(sh),
		    dep->repository, strlen(dep->repository)));
	}

	const struct bs_ynode *bn = bs_ynode_get(m, "branch", &kn);
	if (dep->track != BS_TRACK_TAG) {
		if (!bn || bs_ynode_is_null(bn))
			ERR(c, m, "%s: missing required key 'branch'", path);
		else if (bn->type == BS_YNODE_SEQ && bn->n == 0)
			ERR(c, bn, "%s.branch: empty list: no branch can match", path);
	} else if (bn && !bs_ynode_is_null(bn)) {
		WARN(c, bn, "%s.branch: ignored with track: tag (every pushed tag "
		    "matching tag_pattern is a deploy, whatever its branch)", path);
	}
	for (size_t i = 0; i < dep->n_branches; i++) {
		const struct bs_ynode *at = bn && bn->type == BS_YNODE_SEQ &&
		    i < bn->n ? bn->items[i] : bn;
		const char *why;
		if (!dep->branches[i][0]) {
			ERR(c, at, "%s.branch: empty branch name: no branch can "
			    "match", path);
		} else if (dep->track != BS_TRACK_TAG &&
		    (why = bad_ref_reason(dep->branches[i])) != NULL) {
			char sh[64];
			WARN(c, at, "%s.branch: '%s' can never match: git refuses "
			    "branch names %s", path, bs_config_show(sh, sizeof(sh),
			    dep->branches[i], strlen(dep->branches[i])), why);
		}
	}

	const struct bs_ynode *tp = bs_ynode_get(m, "tag_pattern", &kn);
	if (dep->track == BS_TRACK_TAG && !dep->tag_pattern)
		WARN(c, bs_ynode_get(m, "track", NULL), "%s: track: tag without "
		    "tag_pattern: every pushed tag is a deploy", path);
	else if (dep->track != BS_TRACK_TAG && dep->tag_pattern)
		WARN(c, tp, "%s.tag_pattern: ignored unless track: tag", path);
	if (!dep->tag_pattern)
		dep->tag_pattern = bs_arena_strdup(c->a, "*");

	if (dep->token_env && !bs_config_is_env_name(dep->token_env))
		ERR(c, bs_ynode_get(m, "token_env", NULL), "%s.token_env: must "
		    "name an environment variable ([A-Za-z_][A-Za-z0-9_]*), not "
		    "hold the token", path);

	const struct bs_ynode *tn = bs_ynode_get(m, "tags", NULL);
	for (size_t i = 0; i < dep->n_tags; i++) {
		char *t = norm_tag(c, dep->tags[i]);
		if (!t) {
			char sh[64];
			ERR(c, tn && tn->type == BS_YNODE_SEQ && i < tn->n ?
			    tn->items[i] : tn, "%s.tags: '%s' is not a Sleuth tag "
			    "(lower-case letters, digits, '-' and '_')", path,
			    bs_config_show(sh, sizeof(sh), dep->tags[i], strlen(dep->tags[i])));
			continue;
		}
		dep->tags[i] = t;
	}
	warn_duplicate(c, m, path, dep);
}
