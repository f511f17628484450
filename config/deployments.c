/* deployments: the checks of one item of the deployments: list, run by
 * keys.c right after the item was mapped onto its struct bs_deployment
 * (the item's keys are in deployment_keys in keys.c): required keys,
 * Sleuth slugs, repository, branch names git would refuse, tag_pattern
 * with track, token_env, Sleuth tags (normalised to '#tag'), path
 * prefixes and duplicate (org, deployment, environment) triples. The
 * checks of single values are shared with projects.c (code deployments).
 * Calls scalars.c and config_diag.c only. */
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

/* === the value checks shared with projects.c ============================= */

void
bs_config_check_slug(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *s, bool lower)
{
	char sh[64];
	if (!is_slug(s))
		ERR(c, at, "%s: '%s' is not a Sleuth slug (letters, digits, '-' "
		    "and '_')", path, bs_config_show(sh, sizeof(sh), s, strlen(s)));
	else if (lower && has_upper(s))
		WARN(c, at, "%s: Sleuth slugs are lower-case, '%s' has upper-case "
		    "letters", path, bs_config_show(sh, sizeof(sh), s, strlen(s)));
}

void
bs_config_check_repository(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *repo)
{
	char sh[64];
	if (!is_repository(repo))
		ERR(c, at, "%s: expected 'workspace/repo' (Cloud) or "
		    "'PROJECT/repo' (Data Center), got '%s'", path,
		    bs_config_show(sh, sizeof(sh), repo, strlen(repo)));
}

void
bs_config_check_branch(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *branch, enum bs_track track)
{
	const char *why;
	char sh[64];
	if (!branch[0])
		ERR(c, at, "%s: empty branch name: no branch can match", path);
	else if (track != BS_TRACK_TAG && (why = bad_ref_reason(branch)) != NULL)
		WARN(c, at, "%s: '%s' can never match: git refuses branch names "
		    "%s", path, bs_config_show(sh, sizeof(sh), branch,
		    strlen(branch)), why);
}

void
bs_config_check_tag_pattern(struct ctx *c, const char *prefix,
    enum bs_track track, char **tag_pattern, const struct bs_ynode *track_at,
    const struct bs_ynode *tp_at)
{
	if (track == BS_TRACK_TAG && !*tag_pattern)
		WARN(c, track_at, "%s: track: tag without tag_pattern: every "
		    "pushed tag is a deploy", prefix);
	else if (track != BS_TRACK_TAG && *tag_pattern)
		WARN(c, tp_at, "%s.tag_pattern: ignored unless track: tag", prefix);
	if (!*tag_pattern)
		*tag_pattern = bs_arena_strdup(c->a, "*");
}

void
bs_config_check_tags(struct ctx *c, const struct bs_ynode *tn,
    const char *path, char **tags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *t = norm_tag(c, tags[i]);
		if (!t) {
			char sh[64];
			ERR(c, tn && tn->type == BS_YNODE_SEQ && i < tn->n ?
			    tn->items[i] : tn, "%s: '%s' is not a Sleuth tag "
			    "(lower-case letters, digits, '-' and '_')", path,
			    bs_config_show(sh, sizeof(sh), tags[i], strlen(tags[i])));
			continue;
		}
		tags[i] = t;
	}
}

/* One list of a path_prefix (includes or excludes; node ln, the list or
 * the one string). */
static void
check_prefixes(struct ctx *c, const struct bs_ynode *ln, const char *path,
    char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct bs_ynode *at = ln && ln->type == BS_YNODE_SEQ &&
		    i < ln->n ? ln->items[i] : ln;
		char *p = v[i];
		while (*p == '/')
			p++;
		v[i] = p;
		bool dots = false;
		for (const char *s = p; *s; s += strcspn(s, "/"), s += *s == '/')
			dots |= strncmp(s, "..", 2) == 0 && (s[2] == '/' || !s[2]);
		char sh[64];
		if (!*p)
			ERR(c, at, "%s: empty path prefix (every file is under it: "
			    "leave the key out instead)", path);
		else if (dots)
			ERR(c, at, "%s: '%s': a path prefix is relative to the "
			    "repository root and cannot hold a '..' part", path,
			    bs_config_show(sh, sizeof(sh), p, strlen(p)));
	}
}

void
bs_config_check_paths(struct ctx *c, const struct bs_ynode *pn,
    const char *path, struct bs_path_prefix *pp)
{
	if (!pn)
		return;
	char sub[300];
	if (pn->type != BS_YNODE_MAP) {
		check_prefixes(c, pn, path, pp->includes, pp->n_includes);
		return;
	}
	snprintf(sub, sizeof(sub), "%s.includes", path);
	check_prefixes(c, bs_ynode_get(pn, "includes", NULL), sub, pp->includes,
	    pp->n_includes);
	snprintf(sub, sizeof(sub), "%s.excludes", path);
	check_prefixes(c, bs_ynode_get(pn, "excludes", NULL), sub, pp->excludes,
	    pp->n_excludes);
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
	char path[64], kp[96];
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
		snprintf(kp, sizeof(kp), "%s.%s", path, slugs[i]);
		bs_config_check_slug(c, bs_ynode_get(m, slugs[i], NULL), kp, *sv[i],
		    i < 2);
	}
	snprintf(kp, sizeof(kp), "%s.repository", path);
	if (dep->repository)
		bs_config_check_repository(c, bs_ynode_get(m, "repository", NULL),
		    kp, dep->repository);

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
	snprintf(kp, sizeof(kp), "%s.branch", path);
	for (size_t i = 0; i < dep->n_branches; i++)
		bs_config_check_branch(c, bn && bn->type == BS_YNODE_SEQ &&
		    i < bn->n ? bn->items[i] : bn, kp, dep->branches[i], dep->track);

	bs_config_check_tag_pattern(c, path, dep->track, &dep->tag_pattern,
	    bs_ynode_get(m, "track", NULL), bs_ynode_get(m, "tag_pattern", NULL));

	if (dep->token_env && !bs_config_is_env_name(dep->token_env))
		ERR(c, bs_ynode_get(m, "token_env", NULL), "%s.token_env: must "
		    "name an environment variable ([A-Za-z_][A-Za-z0-9_]*), not "
		    "hold the token", path);

	snprintf(kp, sizeof(kp), "%s.tags", path);
	bs_config_check_tags(c, bs_ynode_get(m, "tags", NULL), kp, dep->tags,
	    dep->n_tags);
	snprintf(kp, sizeof(kp), "%s.path_prefix", path);
	bs_config_check_paths(c, bs_ynode_get(m, "path_prefix", NULL), kp,
	    &dep->paths);
	warn_duplicate(c, m, path, dep);
}
