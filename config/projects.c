/* projects: the projects: list (issue 16), Sleuth's own model of what is
 * deployed: a project's code deployments, each a repository with
 * environment mappings (environment slug -> branches) and path prefixes.
 *
 * The walker (keys.c) maps a project's keys through the tables and calls
 * bs_config_parse_envs for an environments mapping and
 * bs_config_check_project once the whole project is mapped (a code
 * deployment inherits the project's track, which may be written after
 * it). After the walk, bs_config_expand_projects appends every
 * hand-written code deployment's targets (config/expand.h) to the flat
 * ones; the checks of config_check.c then resolve the projects' tokens
 * through bs_config_project_secrets, and bs_config_check_projects judges
 * sleuth.graphql_url and path prefixes without API credentials. Every
 * message points at the node at fault, in the project form. Calls
 * expand.c, deployments.c, scalars.c and config_diag.c. */
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/expand.h"

/* === environments ========================================================= */

/* One environment's value: a branch, a list of branches or null (none,
 * for track: tag) into e. */
static void
env_branches(struct ctx *c, const struct bs_ynode *v, const char *path,
    struct bs_env_mapping *e)
{
	if (bs_ynode_is_null(v))
		return;
	if (v->type == BS_YNODE_SCALAR) {
		e->branches = bs_arena_alloc(c->a, sizeof(char *));
		e->branches[0] = bs_arena_strndup(c->a, v->str, v->len);
		e->n_branches = 1;
		return;
	}
	if (v->type == BS_YNODE_MAP) {
		ERR(c, v, "%s: expected a branch or a list of branches, got a "
		    "mapping", path);
		return;
	}
	if (v->n > CONFIG_MAX_LIST) {
		ERR(c, v, "%s: too many items (%zu, at most %d)", path, v->n,
		    CONFIG_MAX_LIST);
		return;
	}
	e->branches = bs_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(char *));
	for (size_t i = 0; i < v->n; i++) {
		const struct bs_ynode *it = v->items[i];
		if (it->type != BS_YNODE_SCALAR || bs_ynode_is_null(it)) {
			ERR(c, it, "%s[%zu]: expected a branch, got %s", path, i,
			    it->type == BS_YNODE_SCALAR ? "null" :
			    bs_config_type_name(it));
			continue;
		}
		e->branches[e->n_branches++] = bs_arena_strndup(c->a, it->str,
		    it->len);
	}
}

void
bs_config_parse_envs(struct ctx *c, const struct bs_ynode *v,
    const char *path, struct bs_code_deployment *cd)
{
	if (v->type != BS_YNODE_MAP) {
		ERR(c, v, "%s: expected a mapping of environment slug to branch "
		    "(or list of branches), got %s", path, bs_config_type_name(v));
		return;
	}
	cd->envs = bs_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(*cd->envs));
	cd->n_envs = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct bs_ynode *key = v->items[2 * i];
		const struct bs_ynode *val = v->items[2 * i + 1];
		char kpath[300];
		snprintf(kpath, sizeof(kpath), "%s.%s", path, SHOW(key));
		size_t j;
		for (j = 0; j < i; j++)
			if (v->items[2 * j]->len == key->len &&
			    memcmp(v->items[2 * j]->str, key->str, key->len) == 0)
				break;
		if (j < i) {
			ERR(c, key, "%s: duplicate environment (first at line %d)",
			    kpath, v->items[2 * j]->line);
			continue;
		}
		struct bs_env_mapping *e = &cd->envs[cd->n_envs++];
		memset(e, 0, sizeof(*e));
		e->environment = bs_arena_strndup(c->a, key->str, key->len);
		e->line = val->line;
		e->column = val->column;
		env_branches(c, val, kpath, e);
	}
}

/* === one project ========================================================== */

/* The node of p's j-th code deployment in the project's node pm (the
 * walker keeps the mappings of the list, in order) and its index in the
 * yaml list. */
static const struct bs_ynode *
cd_node(const struct bs_ynode *pm, size_t j, size_t *yidx)
{
	const struct bs_ynode *l = bs_ynode_get(pm, "code_deployments", NULL);
	for (size_t i = 0, k = 0; l && l->type == BS_YNODE_SEQ && i < l->n; i++)
		if (l->items[i]->type == BS_YNODE_MAP && k++ == j) {
			*yidx = i;
			return l->items[i];
		}
	*yidx = j;
	return pm;
}

/* The key node of the environment whose value is at e's place, for the
 * messages about its slug. */
static const struct bs_ynode *
env_key(const struct bs_ynode *envn, const struct bs_env_mapping *e)
{
	for (size_t i = 0; envn && envn->type == BS_YNODE_MAP && i < envn->n; i++)
		if (envn->items[2 * i + 1]->line == e->line &&
		    envn->items[2 * i + 1]->column == e->column)
			return envn->items[2 * i];
	return NULL;
}

static const struct bs_ynode *
env_value_node(const struct bs_ynode *envn, const struct bs_env_mapping *e)
{
	const struct bs_ynode *k = env_key(envn, e);
	for (size_t i = 0; k && i < envn->n; i++)
		if (envn->items[2 * i] == k)
			return envn->items[2 * i + 1];
	return NULL;
}

static void
check_env(struct ctx *c, const struct bs_ynode *envn, const char *cpath,
    const struct bs_env_mapping *e, enum bs_track track)
{
	char ep[300];
	snprintf(ep, sizeof(ep), "%s.environments.%s", cpath, e->environment);
	const struct bs_ynode *kn = env_key(envn, e), *vn = env_value_node(envn,
	    e);
	bs_config_check_slug(c, kn, ep, e->environment, false);
	if (track == BS_TRACK_TAG) {
		if (e->n_branches)
			WARN(c, vn, "%s: branch ignored with track: tag (every pushed "
			    "tag matching tag_pattern is a deploy, whatever its "
			    "branch; write null)", ep);
		return;
	}
	if (vn && vn->type == BS_YNODE_SEQ && vn->n == 0)
		ERR(c, vn, "%s: empty list: no branch can match", ep);
	else if (vn && bs_ynode_is_null(vn))
		ERR(c, vn, "%s: no branch: no push can match (write a branch, a "
		    "glob or a list of them)", ep);
	for (size_t i = 0; i < e->n_branches; i++)
		bs_config_check_branch(c, vn && vn->type == BS_YNODE_SEQ &&
		    i < vn->n ? vn->items[i] : vn, ep, e->branches[i], track);
}

/* Key `key` of mapping m (at path) holding the slug v: required, a Sleuth
 * slug, lower-case (a warning). */
static void
required_slug(struct ctx *c, const struct bs_ynode *m, const char *path,
    const char *key, const char *v)
{
	char kp[300];
	if (!v) {
		ERR(c, m, "%s: missing required key '%s'", path, key);
		return;
	}
	snprintf(kp, sizeof(kp), "%s.%s", path, key);
	bs_config_check_slug(c, bs_ynode_get(m, key, NULL), kp, v, true);
}

static void
check_code_deployment(struct ctx *c, const struct bs_ynode *pm,
    struct bs_project *p, struct bs_code_deployment *cd,
    const struct bs_ynode *m, const char *cpath)
{
	char kp[300];
	required_slug(c, m, cpath, "deployment", cd->deployment);
	if (!cd->repository)
		ERR(c, m, "%s: missing required key 'repository'", cpath);
	snprintf(kp, sizeof(kp), "%s.repository", cpath);
	if (cd->repository)
		bs_config_check_repository(c, bs_ynode_get(m, "repository", NULL),
		    kp, cd->repository);

	struct bs_ynode *ek = NULL;
	const struct bs_ynode *envn = bs_ynode_get(m, "environments", &ek);
	if (!envn || bs_ynode_is_null(envn))
		ERR(c, envn ? envn : m, "%s: missing required key 'environments' "
		    "(environment slug -> branch)", cpath);
	else if (envn->type == BS_YNODE_MAP && envn->n == 0)
		ERR(c, envn, "%s.environments: empty: the code deployment reaches "
		    "no environment", cpath);
	enum bs_track track = cd->track >= 0 ? (enum bs_track)cd->track :
	    p->track;
	for (size_t i = 0; i < cd->n_envs; i++)
		check_env(c, envn, cpath, &cd->envs[i], track);

	const struct bs_ynode *tn = bs_ynode_get(m, "track", NULL);
	bs_config_check_tag_pattern(c, cpath, track, &cd->tag_pattern,
	    tn ? tn : bs_ynode_get(pm, "track", NULL),
	    bs_ynode_get(m, "tag_pattern", NULL));
	snprintf(kp, sizeof(kp), "%s.path_prefix", cpath);
	bs_config_check_paths(c, bs_ynode_get(m, "path_prefix", NULL), kp,
	    &cd->paths);
}

void
bs_config_check_project(struct ctx *c, const struct bs_ynode *m, size_t idx,
    struct bs_project *p)
{
	char path[64], kp[300];
	snprintf(path, sizeof(path), "projects[%zu]", idx);
	required_slug(c, m, path, "org", p->org);
	required_slug(c, m, path, "project", p->project);
	snprintf(kp, sizeof(kp), "%s.tags", path);
	bs_config_check_tags(c, bs_ynode_get(m, "tags", NULL), kp, p->tags,
	    p->n_tags);

	const struct bs_ynode *cdn = bs_ynode_get(m, "code_deployments", NULL);
	bool written = cdn && !bs_ynode_is_null(cdn) &&
	    !(cdn->type == BS_YNODE_SEQ && cdn->n == 0);
	if (p->discover && written)
		ERR(c, cdn, "%s: discover: true and code_deployments: the code "
		    "deployments of a discovered project are learned from Sleuth; "
		    "write one or the other", path);
	else if (!p->discover && !written)
		ERR(c, cdn ? cdn : m, "%s: no code deployments: write "
		    "code_deployments, or discover: true", path);
	if (p->include_non_manual && !p->discover)
		WARN(c, bs_ynode_get(m, "include_non_manual", NULL), "%s."
		    "include_non_manual: ignored without discover: true", path);

	for (size_t j = 0; p->org && p->project && j < c->cfg->n_projects; j++) {
		const struct bs_project *o = &c->cfg->projects[j];
		if (o->org && o->project && strcmp(o->org, p->org) == 0 &&
		    strcmp(o->project, p->project) == 0) {
			ERR(c, bs_ynode_get(m, "project", NULL), "%s: project %s/%s "
			    "is already at projects[%zu] (line %d): write it once",
			    path, p->org, p->project, c->proj_index[j], o->line);
			break;
		}
	}
	for (size_t j = 0; j < p->n_code_deployments; j++) {
		size_t yi;
		const struct bs_ynode *cm = cd_node(m, j, &yi);
		char cpath[96];
		snprintf(cpath, sizeof(cpath), "%s.code_deployments[%zu]", path, yi);
		check_code_deployment(c, m, p, &p->code_deployments[j], cm, cpath);
	}
}

/* === expansion ============================================================ */

/* Where target i of cfg->deployments is written, for the duplicate
 * warning: "deployments[3]" or "projects[0].code_deployments[1].
 * environments.production". */
static void
target_place(const struct ctx *c, size_t i, char **labels, char *out,
    size_t outlen)
{
	if (i < c->n_flat)
		snprintf(out, outlen, "deployments[%zu]", c->dep_index[i]);
	else
		snprintf(out, outlen, "%s", labels[i - c->n_flat]);
}

static bool
same_target(const struct bs_deployment *a, const struct bs_deployment *b)
{
	return a->org && b->org && a->deployment && b->deployment &&
	    a->environment && b->environment && strcmp(a->org, b->org) == 0 &&
	    strcmp(a->deployment, b->deployment) == 0 &&
	    strcmp(a->environment, b->environment) == 0;
}

/* A warning at target i (a project's, from env mapping e) when an earlier
 * one reaches the same (org, deployment, environment). */
static void
warn_twice(struct ctx *c, size_t i, const struct bs_env_mapping *e,
    char **labels)
{
	const struct bs_deployment *d = &c->cfg->deployments[i];
	for (size_t j = 0; j < i; j++) {
		const struct bs_deployment *o = &c->cfg->deployments[j];
		if (!same_target(d, o))
			continue;
		char here[300], there[300];
		target_place(c, i, labels, here, sizeof(here));
		target_place(c, j, labels, there, sizeof(there));
		struct bs_ynode at = { .line = e->line, .column = e->column };
		WARN(c, e->line ? &at : NULL, "%s: target %s/%s/%s is also "
		    "reached by %s (line %d): a push may be registered twice", here,
		    d->org, d->deployment, d->environment, there, o->line);
		return;
	}
}

void
bs_config_expand_projects(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	c->n_flat = cfg->n_deployments;
	size_t count = 0;
	for (size_t i = 0; i < cfg->n_projects; i++)
		for (size_t j = 0; !cfg->projects[i].discover &&
		    j < cfg->projects[i].n_code_deployments; j++)
			count += cfg->projects[i].code_deployments[j].n_envs;
	if (count == 0 || cfg->n_deployments + count > CONFIG_MAX_DEPLOYMENTS) {
		if (count)
			ERR(c, NULL, "too many targets (%zu, at most %d)",
			    cfg->n_deployments + count, CONFIG_MAX_DEPLOYMENTS);
		return;
	}
	size_t n = cfg->n_deployments, total = n + count;
	struct bs_deployment *deps = bs_arena_alloc(c->a, total * sizeof(*deps));
	const struct bs_ynode **nodes = bs_arena_alloc(c->a, total *
	    sizeof(*nodes));
	size_t *index = bs_arena_alloc(c->a, total * sizeof(*index));
	char **labels = bs_arena_alloc(c->a, count * sizeof(*labels));
	if (n) {
		memcpy(deps, cfg->deployments, n * sizeof(*deps));
		memcpy(nodes, c->dep_nodes, n * sizeof(*nodes));
		memcpy(index, c->dep_index, n * sizeof(*index));
	}
	cfg->deployments = deps;
	c->dep_nodes = nodes;
	c->dep_index = index;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		for (size_t j = 0; !p->discover && j < p->n_code_deployments; j++) {
			const struct bs_code_deployment *cd = &p->code_deployments[j];
			size_t got = bs_expand_code_deployment(c->a, p, cd,
			    BS_ORIGIN_PROJECT, &deps[n]);
			size_t yi;
			cd_node(c->proj_nodes[i], j, &yi);
			for (size_t k = 0; k < got; k++, n++) {
				nodes[n] = c->proj_nodes[i];
				index[n] = c->proj_index[i];
				labels[n - c->n_flat] = bs_arena_printf(c->a,
				    "projects[%zu].code_deployments[%zu].environments.%s",
				    c->proj_index[i], yi, cd->envs[k].environment);
				cfg->n_deployments = n + 1;
				warn_twice(c, n, &cd->envs[k], labels);
			}
		}
	}
}

/* === secrets ============================================================== */

/* Whether name, the value of *_env key `key` (its node at), may be read:
 * a variable's name, not a secret written in its place (errors). */
static bool
env_name_ok(struct ctx *c, const struct bs_ynode *at, const char *key,
    const char *name, bool has_file)
{
	if (!name)
		return false;
	if (!bs_config_is_env_name(name)) {
		ERR(c, at, "%s: must name an environment variable "
		    "([A-Za-z_][A-Za-z0-9_]*), not hold the secret", key);
		return false;
	}
	if (!has_file && bs_config_looks_like_secret(name) && !getenv(name)) {
		ERR(c, at, "%s: names no set variable and looks like the secret "
		    "itself: secrets come from the environment, write the "
		    "variable's name here", key);
		return false;
	}
	return true;
}

/* One secret pair <prefix>_env / <prefix>_file written in mapping m:
 * its value, NULL when unset; *reported when a problem was reported. */
static char *
pair(struct ctx *c, const struct bs_ynode *m, const char *prefix,
    const char *name, const char *env, const char *file, bool needed,
    bool *reported)
{
	char ek[128], fk[128], ekey[64], fkey[64];
	snprintf(ekey, sizeof(ekey), "%s_env", name);
	snprintf(fkey, sizeof(fkey), "%s_file", name);
	snprintf(ek, sizeof(ek), "%s.%s", prefix, ekey);
	snprintf(fk, sizeof(fk), "%s.%s", prefix, fkey);
	const struct bs_ynode *en = m ? bs_ynode_get(m, ekey, NULL) : NULL;
	bool ok = env_name_ok(c, en, ek, env, file != NULL);
	*reported = env && !ok;
	struct bs_secret_keys k = { .env_key = ek, .file_key = fk, .env = env,
		.env_ok = ok, .env_written = en && !bs_ynode_is_null(en),
		.file = file, .file_at = m ? bs_ynode_get(m, fkey, NULL) : NULL };
	bool failed;
	char *v = bs_config_secret(c, &k, needed, &failed);
	*reported |= failed;
	return v;
}

static bool
project_dry(const struct bs_config *cfg, const struct bs_project *p)
{
	return p->dry_run == 1 || (p->dry_run == -1 && cfg->sleuth.dry_run);
}

/* Project i's register token, into it and its targets. */
static void
project_token(struct ctx *c, size_t i, bool *global_needed,
    bool *global_reported)
{
	struct bs_config *cfg = c->cfg;
	struct bs_project *p = &cfg->projects[i];
	const struct bs_ynode *m = c->proj_nodes[i];
	bool worker = c->uses & BS_USES_WORKER, dry = project_dry(cfg, p);
	bool used = p->discover || p->n_code_deployments > 0, reported;
	char path[64];
	snprintf(path, sizeof(path), "projects[%zu]", c->proj_index[i]);
	if (!p->token_env && !p->token_file) {
		*global_needed |= used;
		if (worker && used && !dry && !cfg->sleuth.token &&
		    !*global_reported) {
			*global_reported = true;
			bs_config_need(c, bs_config_node(c, "sleuth.token_env", false),
			    "environment variable %s (sleuth.token_env) is not set: "
			    "set it, or use sleuth.dry_run: true",
			    cfg->sleuth.token_env);
		}
		return;
	}
	p->token = pair(c, m, path, "token", p->token_env, p->token_file,
	    worker && !dry && used, &reported);
	for (size_t j = c->n_flat; j < cfg->n_deployments; j++)
		if (cfg->deployments[j].project == p->project &&
		    cfg->deployments[j].org == p->org)
			cfg->deployments[j].token = p->token;
	if (reported || p->token || !worker || !used)
		return;
	const struct bs_ynode *tn = bs_ynode_get(m, "token_env", NULL);
	if (dry)
		WARN(c, tn, "environment variable %s (%s.token_env) is not set: "
		    "fine while the project is dry_run, needed once it is not",
		    p->token_env, path);
	else
		bs_config_need(c, tn, "environment variable %s (%s.token_env) is "
		    "not set: set it, or make the project dry_run: true",
		    p->token_env, path);
}

void
bs_config_project_secrets(struct ctx *c, bool *global_needed,
    bool *global_reported)
{
	struct bs_config *cfg = c->cfg;
	bool worker = c->uses & BS_USES_WORKER, reported;
	/* The GraphQL key of sleuth: is needed by a discover project without
	 * its own. */
	const struct bs_project *uses_global = NULL;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		struct bs_project *p = &cfg->projects[i];
		project_token(c, i, global_needed, global_reported);
		if (!p->graphql_token_env && !p->graphql_token_file) {
			if (p->discover && !uses_global)
				uses_global = p;
			continue;
		}
		char path[64];
		snprintf(path, sizeof(path), "projects[%zu]", c->proj_index[i]);
		p->graphql_token = pair(c, c->proj_nodes[i], path, "graphql_token",
		    p->graphql_token_env, p->graphql_token_file,
		    worker && p->discover, &reported);
		if (worker && p->discover && !reported && !p->graphql_token)
			bs_config_need(c, bs_ynode_get(c->proj_nodes[i],
			    "graphql_token_env", NULL), "environment variable %s "
			    "(%s.graphql_token_env) is not set: discovery needs a "
			    "Sleuth organisation API key", p->graphql_token_env, path);
	}
	cfg->sleuth.graphql_token = pair(c, bs_ynode_get(c->root, "sleuth",
	    NULL), "sleuth", "graphql_token", cfg->sleuth.graphql_token_env,
	    cfg->sleuth.graphql_token_file, worker && uses_global, &reported);
	if (worker && uses_global && !reported && !cfg->sleuth.graphql_token)
		bs_config_need(c, bs_config_node(c, "sleuth.graphql_token_env",
		    false), "environment variable %s (sleuth.graphql_token_env) "
		    "is not set: discovery of %s/%s needs a Sleuth organisation API "
		    "key (Settings -> API keys)", cfg->sleuth.graphql_token_env,
		    uses_global->org ? uses_global->org : "-",
		    uses_global->project ? uses_global->project : "-");
}

/* === whole-file checks ==================================================== */

static bool
has_paths(const struct bs_path_prefix *pp)
{
	return pp->n_includes || pp->n_excludes;
}

void
bs_config_check_projects(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	if (!cfg->sleuth.graphql_url) {
		size_t n = strlen(cfg->sleuth.base_url);
		while (n && cfg->sleuth.base_url[n - 1] == '/')
			n--;
		cfg->sleuth.graphql_url = bs_arena_printf(c->a, "%.*s/graphql",
		    (int)n, cfg->sleuth.base_url);
	} else {
		bs_config_check_http_url(c, bs_config_node(c, "sleuth.graphql_url",
		    false), "sleuth.graphql_url", cfg->sleuth.graphql_url,
		    "the Sleuth API key");
	}

	const struct bs_bitbucket_api *api = &cfg->bitbucket.api;
	if (api->token_env || api->token_file || (api->username &&
	    (api->app_password_env || api->app_password_file)))
		return;
	static const char why[] = "no Bitbucket API credentials: the changed "
	    "files cannot be known, so every push is registered as if there "
	    "were no prefix";
	for (size_t i = 0; i < c->n_flat; i++)
		if (has_paths(&cfg->deployments[i].paths))
			WARN(c, bs_ynode_get(c->dep_nodes[i], "path_prefix", NULL),
			    "deployments[%zu].path_prefix: %s", c->dep_index[i], why);
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		for (size_t j = 0; j < p->n_code_deployments; j++) {
			size_t yi;
			const struct bs_ynode *m = cd_node(c->proj_nodes[i], j, &yi);
			if (has_paths(&p->code_deployments[j].paths))
				WARN(c, bs_ynode_get(m, "path_prefix", NULL), "projects[%zu]."
				    "code_deployments[%zu].path_prefix: %s",
				    c->proj_index[i], yi, why);
		}
	}
}
