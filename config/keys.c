/* keys: how the values of the keys the config file accepts (the tables of
 * key_tables.c) are mapped onto struct bs_config. The walker finds unknown keys (with "did you mean"),
 * literal secrets (pointing at the *_env key to use), duplicate keys,
 * wrong types and out-of-range values uniformly, each message at the node
 * at fault. Lists of mappings (deployments, projects, code deployments)
 * are mapped item by item and checked by deployments.c and projects.c.
 * Calls projects.c, deployments.c, scalars.c and config_diag.c. */
#include "config/config_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void
each_key(const struct bs_keydef *t, const char *prefix,
    void (*fn)(const char *path, void *arg), void *arg)
{
	char path[128];
	for (; t->name; t++) {
		const struct bs_keydef *sub = t->sub;
		bool list = t->kind == K_DEPLOYMENTS || t->kind == K_PROJECTS ||
		    t->kind == K_CODE_DEPS;
		snprintf(path, sizeof(path), "%s%s%s%s", prefix, *prefix ? "." : "",
		    t->name, list ? "[]" : "");
		if (sub)
			each_key(sub, path, fn, arg);
		else
			fn(path, arg);
	}
}

void
bs_config_each_key(void (*fn)(const char *path, void *arg), void *arg)
{
	each_key(bs_config_top_keys, "", fn, arg);
}

/* The value of one scalar key (check --print): the key's definition at
 * dotted path in the tables, its field formatted in a form the config
 * accepts back. */
int
bs_config_format_value(const struct bs_config *cfg, const char *path,
    char *out, size_t outlen)
{
	const struct bs_keydef *t = bs_config_top_keys;
	const char *p = path;
	for (;;) {
		size_t n = strcspn(p, ".");
		const struct bs_keydef *k = t;
		while (k->name && (strlen(k->name) != n ||
		    strncmp(k->name, p, n) != 0))
			k++;
		if (!k->name || n == 0)
			return -1;
		if (k->kind == K_MAP) {
			if (!p[n])
				return -2;
			t = k->sub;
			p += n + 1;
			continue;
		}
		if (p[n])
			return -1;
		const char *base = (const char *)cfg + k->off;
		switch (k->kind) {
		case K_STR: {
			const char *v = *(char *const *)(const void *)base;
			snprintf(out, outlen, "%s", v ? v : "");
			return 0;
		}
		case K_BOOL:
			snprintf(out, outlen, "%s", *(const bool *)(const void *)base ?
			    "true" : "false");
			return 0;
		case K_INT:
			snprintf(out, outlen, "%d", *(const int *)(const void *)base);
			return 0;
		case K_SZ:
		case K_SIZE:
			snprintf(out, outlen, "%zu", *(const size_t *)(const void *)base);
			return 0;
		case K_LL:
			snprintf(out, outlen, "%lld",
			    *(const long long *)(const void *)base);
			return 0;
		case K_MS:
			snprintf(out, outlen, "%dms", *(const int *)(const void *)base);
			return 0;
		case K_SEC:
			snprintf(out, outlen, "%ds", *(const int *)(const void *)base);
			return 0;
		case K_MS64:
			snprintf(out, outlen, "%lldms",
			    (long long)*(const int64_t *)(const void *)base);
			return 0;
		default:
			return -2;      /* lists, address ranges, deployments */
		}
	}
}

/* === mapping a node onto a field ======================================== */

static char *
scalar_dup(struct ctx *c, const struct bs_ynode *n)
{
	return bs_arena_strndup(c->a, n->str, n->len);
}

static bool
expect_scalar(struct ctx *c, const struct bs_ynode *v, const char *path,
    const char *what)
{
	if (v->type == BS_YNODE_SCALAR)
		return true;
	ERR(c, v, "%s: expected %s, got %s", path, what, bs_config_type_name(v));
	return false;
}

static void
set_list(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct bs_keydef *k, char *base)
{
	char ***arr = (char ***)(void *)(base + k->off);
	size_t *n = (size_t *)(void *)(base + k->off2);
	if (v->type == BS_YNODE_MAP) {
		ERR(c, v, "%s: expected a string or a list of strings, got a "
		    "mapping", path);
		return;
	}
	if (v->type == BS_YNODE_SCALAR) {
		*arr = bs_arena_alloc(c->a, sizeof(char *));
		(*arr)[0] = scalar_dup(c, v);
		*n = 1;
		return;
	}
	if ((long long)v->n > k->max) {
		ERR(c, v, "%s: too many items (%zu, at most %lld)", path, v->n,
		    k->max);
		return;
	}
	*arr = bs_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(char *));
	*n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct bs_ynode *it = v->items[i];
		if (it->type != BS_YNODE_SCALAR || bs_ynode_is_null(it)) {
			ERR(c, it, "%s[%zu]: expected a string, got %s", path, i,
			    it->type == BS_YNODE_SCALAR ? "null" : bs_config_type_name(it));
			continue;
		}
		(*arr)[(*n)++] = scalar_dup(c, it);
	}
}

/* A list of address ranges (or one as a string); each item must parse with
 * bs_cidr_parse, the error says why and, for host bits set, which network
 * was meant. */
static void
set_cidrs(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct bs_keydef *k, char *base)
{
	struct bs_cidr **arr = (struct bs_cidr **)(void *)(base + k->off);
	size_t *n = (size_t *)(void *)(base + k->off2);
	if (v->type == BS_YNODE_MAP) {
		ERR(c, v, "%s: expected a list of address ranges like "
		    "192.0.2.0/24, got a mapping", path);
		return;
	}
	size_t count = v->type == BS_YNODE_SCALAR ? 1 : v->n;
	if ((long long)count > k->max) {
		ERR(c, v, "%s: too many items (%zu, at most %lld)", path, count,
		    k->max);
		return;
	}
	*arr = bs_arena_alloc(c->a, (count ? count : 1) * sizeof(**arr));
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		const struct bs_ynode *it = v->type == BS_YNODE_SCALAR ? v :
		    v->items[i];
		char ipath[300];
		if (v->type == BS_YNODE_SCALAR)
			snprintf(ipath, sizeof(ipath), "%s", path);
		else
			snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (it->type != BS_YNODE_SCALAR || bs_ynode_is_null(it)) {
			ERR(c, it, "%s: expected an address range like 192.0.2.0/24 "
			    "or 2001:db8::/32, got %s", ipath,
			    it->type == BS_YNODE_SCALAR ? "null" :
			    bs_config_type_name(it));
			continue;
		}
		struct bs_cidr *r = &(*arr)[*n];
		const char *why = NULL;
		r->bits = 999;      /* set on failure only for host bits set */
		if (strlen(it->str) == it->len &&
		    bs_cidr_parse(it->str, r, &why) == 0) {
			(*n)++;
			continue;
		}
		if (!why)
			why = "a NUL inside";
		if (r->bits > 128) {
			ERR(c, it, "%s: '%s': %s", ipath, SHOW(it), why);
			continue;
		}
		char net[BS_CIDR_ADDRSTRLEN];
		int v4 = r->bits >= 96 && memcmp(r->addr,
		    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
		ERR(c, it, "%s: '%s': %s (did you mean %s/%u?)", ipath, SHOW(it),
		    why, bs_cidr_format(r->addr, net, sizeof(net)),
		    v4 ? r->bits - 96 : r->bits);
	}
}

static void walk_map(struct ctx *c, const struct bs_ynode *map,
    const char *path, const struct bs_keydef *defs, char *base);
static void parse_deployments(struct ctx *c, const struct bs_ynode *v,
    const struct bs_keydef *defs);
static void parse_projects(struct ctx *c, const struct bs_ynode *v,
    const struct bs_keydef *defs);
static void parse_code_deployments(struct ctx *c, const struct bs_ynode *v,
    const char *path, const struct bs_keydef *defs, struct bs_project *p);

static void
set_field(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct bs_keydef *k, char *base)
{
	void *f = base + k->off;
	long long x = 0, ms = 0;

	if (k->kind == K_MAP) {
		if (bs_ynode_is_null(v))
			return;
		if (v->type != BS_YNODE_MAP) {
			ERR(c, v, "%s: expected a mapping, got %s", path,
			    bs_config_type_name(v));
			return;
		}
		walk_map(c, v, path, k->sub, base);
		return;
	}
	if (k->kind == K_DEPLOYMENTS) {
		parse_deployments(c, v, k->sub);
		return;
	}
	if (bs_ynode_is_null(v))
		return;          /* "key:" or "key: ~" keeps the default */
	if (k->kind == K_LIST) {
		set_list(c, v, path, k, base);
		return;
	}
	if (k->kind == K_CIDRS) {
		set_cidrs(c, v, path, k, base);
		return;
	}
	switch (k->kind) {
	case K_PROJECTS:
		parse_projects(c, v, k->sub);
		return;
	case K_CODE_DEPS:
		parse_code_deployments(c, v, path, k->sub,
		    (struct bs_project *)(void *)base);
		return;
	case K_ENVS:
		bs_config_parse_envs(c, v, path,
		    (struct bs_code_deployment *)(void *)base);
		return;
	case K_PATHS:
		/* A string or a list: the includes; a mapping: both. */
		if (v->type == BS_YNODE_MAP)
			walk_map(c, v, path, k->sub, f);
		else
			set_list(c, v, path, &k->sub[0], f);
		return;
	default:
		break;
	}

	switch (k->kind) {
	case K_STR:
		if (!expect_scalar(c, v, path, "a string"))
			return;
		*(char **)f = scalar_dup(c, v);
		return;
	case K_BOOL:
	case K_TRI: {
		bool b;
		if (bs_config_parse_bool(v, &b) != 0) {
			ERR(c, v, "%s: expected true or false, got %s", path,
			    v->type == BS_YNODE_SCALAR ? SHOW(v) : bs_config_type_name(v));
			return;
		}
		if (k->kind == K_BOOL)
			*(bool *)f = b;
		else
			*(int *)f = b ? 1 : 0;
		return;
	}
	case K_TRACK:
	case K_TRACKI: {
		if (!expect_scalar(c, v, path, "push, merge or tag"))
			return;
		int t = strcmp(v->str, "push") == 0 ? BS_TRACK_PUSH :
		    strcmp(v->str, "merge") == 0 ? BS_TRACK_MERGE :
		    strcmp(v->str, "tag") == 0 ? BS_TRACK_TAG : -1;
		if (t < 0)
			ERR(c, v, "%s: expected push, merge or tag, got '%s'", path,
			    SHOW(v));
		else if (k->kind == K_TRACK)
			*(enum bs_track *)f = (enum bs_track)t;
		else
			*(int *)f = t;
		return;
	}
	case K_INT:
	case K_SZ:
	case K_LL:
		if (!expect_scalar(c, v, path, "an integer"))
			return;
		if (bs_config_parse_ll(v->str, v->len, &x) != 0) {
			ERR(c, v, "%s: expected an integer, got '%s'", path, SHOW(v));
			return;
		}
		break;
	case K_MS:
	case K_SEC:
	case K_MS64:
		if (!expect_scalar(c, v, path, "a duration"))
			return;
		if (bs_config_parse_duration(v->str, v->len, k->kind == K_MS ? 1 : MS_S,
		    &ms) != 0) {
			ERR(c, v, "%s: expected a duration like 500ms, 30s, 5m, 48h, "
			    "7d or an integer (%s), got '%s'", path,
			    k->kind == K_MS ? "milliseconds" : "seconds", SHOW(v));
			return;
		}
		x = k->kind == K_SEC ? ms / MS_S : ms;
		if (k->kind == K_SEC && ms % MS_S != 0) {
			ERR(c, v, "%s: must be a whole number of seconds", path);
			return;
		}
		break;
	case K_SIZE:
		if (!expect_scalar(c, v, path, "a size"))
			return;
		if (bs_config_parse_size(v->str, v->len, &x) != 0) {
			ERR(c, v, "%s: expected a size like 1MiB, 256KiB, 512KB or "
			    "an integer of bytes, got '%s'", path, SHOW(v));
			return;
		}
		break;
	default:
		return;
	}

	if (x < k->min || x > k->max) {
		const char *unit = k->kind == K_SIZE ? " bytes" :
		    k->kind == K_SEC ? " s" :
		    (k->kind == K_MS || k->kind == K_MS64) ? " ms" : "";
		ERR(c, v, "%s: %lld%s is out of range (%lld .. %lld%s)", path, x,
		    unit, k->min, k->max, unit);
		return;
	}
	switch (k->kind) {
	case K_INT:
	case K_MS:
	case K_SEC:
		*(int *)f = (int)x;
		break;
	case K_SZ:
	case K_SIZE:
		*(size_t *)f = (size_t)x;
		break;
	case K_LL:
		*(long long *)f = x;
		break;
	case K_MS64:
		*(int64_t *)f = (int64_t)x;
		break;
	default:
		break;
	}
}

static void
walk_map(struct ctx *c, const struct bs_ynode *map, const char *path,
    const struct bs_keydef *defs, char *base)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct bs_ynode *key = map->items[2 * i];
		const struct bs_ynode *val = map->items[2 * i + 1];
		char kpath[256];
		char kshow[64];
		bs_config_show(kshow, sizeof(kshow), key->str, key->len);
		if (path && *path)
			snprintf(kpath, sizeof(kpath), "%s.%s", path, kshow);
		else
			snprintf(kpath, sizeof(kpath), "%s", kshow);

		size_t j;
		for (j = 0; j < i; j++) {
			const struct bs_ynode *prev = map->items[2 * j];
			if (prev->len == key->len &&
			    memcmp(prev->str, key->str, key->len) == 0)
				break;
		}
		if (j < i) {
			ERR(c, key, "%s: duplicate key (first at line %d)", kpath,
			    map->items[2 * j]->line);
			continue;
		}

		const struct bs_keydef *k = NULL;
		for (const struct bs_keydef *d = defs; d->name; d++) {
			if (strlen(d->name) == key->len &&
			    memcmp(d->name, key->str, key->len) == 0) {
				k = d;
				break;
			}
		}
		if (!k) {
			const char *hint = bs_config_secret_key_hint(key);
			if (hint) {
				ERR(c, key, "%s: secrets come from the environment: use "
				    "%s", kpath, hint);
				continue;
			}
			const char *best = NULL;
			size_t bestd = 3;
			for (const struct bs_keydef *d = defs; d->name; d++) {
				size_t ed = bs_config_edit_distance(kshow, d->name);
				if (ed < bestd && ed <= (strlen(d->name) + 1) / 3 + 1) {
					bestd = ed;
					best = d->name;
				}
			}
			if (best)
				ERR(c, key, "%s: unknown key (did you mean '%s'?)", kpath,
				    best);
			else
				ERR(c, key, "%s: unknown key", kpath);
			continue;
		}
		set_field(c, val, kpath, k, base);
	}
}

/* === the lists of mappings ============================================== */

/* Maps list v at `path`, each item a mapping through defs, into a new
 * array of items of `size` bytes in *out (their count in *n): init sets an
 * item's defaults before, done checks it after (its node, its index in v).
 * Items that are not mappings are reported and left out. */
static void
map_items(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct bs_keydef *defs, size_t size, void **out, size_t *n,
    void (*init)(void *item, const struct bs_ynode *m),
    void (*done)(struct ctx *c, const struct bs_ynode *m, size_t idx,
    void *item, void *arg), void *arg)
{
	if (v->type != BS_YNODE_SEQ) {
		ERR(c, v, "%s: expected a list, got %s", path, bs_config_type_name(v));
		return;
	}
	if (v->n > CONFIG_MAX_DEPLOYMENTS) {
		ERR(c, v, "%s: too many (%zu, at most %d)", path, v->n,
		    CONFIG_MAX_DEPLOYMENTS);
		return;
	}
	char *arr = bs_arena_alloc(c->a, (v->n ? v->n : 1) * size);
	*out = arr;
	*n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct bs_ynode *m = v->items[i];
		char ipath[160];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (m->type != BS_YNODE_MAP) {
			ERR(c, m, "%s: expected a mapping, got %s", ipath,
			    bs_ynode_is_null(m) ? "null" : bs_config_type_name(m));
			continue;
		}
		char *item = arr + *n * size;
		memset(item, 0, size);
		init(item, m);
		walk_map(c, m, ipath, defs, item);
		done(c, m, i, item, arg);
		(*n)++;
	}
}

/* deployments: dry_run -1 (as sleuth.dry_run), track push; checked by
 * deployments.c; c->dep_nodes / c->dep_index remember its node and index
 * for the later checks. */
static void
dep_init(void *item, const struct bs_ynode *m)
{
	struct bs_deployment *dep = item;
	dep->dry_run = -1;
	dep->track = BS_TRACK_PUSH;
	dep->line = m->line;
	dep->origin = BS_ORIGIN_FLAT;
}

static void
dep_done(struct ctx *c, const struct bs_ynode *m, size_t idx, void *item,
    void *arg)
{
	(void)arg;
	/* The array so far: the earlier ones are the duplicates' reference. */
	c->cfg->deployments = (struct bs_deployment *)item - c->cfg->n_deployments;
	bs_config_check_deployment(c, m, idx, item);
	c->dep_nodes[c->cfg->n_deployments] = m;
	c->dep_index[c->cfg->n_deployments] = idx;
	c->cfg->n_deployments++;    /* the earlier ones, for the checks */
}

static void
parse_deployments(struct ctx *c, const struct bs_ynode *v,
    const struct bs_keydef *defs)
{
	if (bs_ynode_is_null(v))
		return;
	size_t cap = v->type == BS_YNODE_SEQ && v->n ? v->n : 1;
	c->dep_nodes = bs_arena_alloc(c->a, cap * sizeof(*c->dep_nodes));
	c->dep_index = bs_arena_alloc(c->a, cap * sizeof(*c->dep_index));
	struct bs_config *cfg = c->cfg;
	cfg->n_deployments = 0;
	size_t n = 0;
	void *arr = NULL;
	map_items(c, v, "deployments", defs, sizeof(struct bs_deployment), &arr,
	    &n, dep_init, dep_done, NULL);
	cfg->deployments = arr;
	cfg->n_deployments = n;
	c->n_flat = n;
}

/* projects: dry_run -1, track push; checked by projects.c once all its
 * keys are mapped (its code deployments inherit its track). */
static void
project_init(void *item, const struct bs_ynode *m)
{
	struct bs_project *p = item;
	p->dry_run = -1;
	p->track = BS_TRACK_PUSH;
	p->line = m->line;
	p->column = m->column;
}

static void
project_done(struct ctx *c, const struct bs_ynode *m, size_t idx, void *item,
    void *arg)
{
	(void)arg;
	c->cfg->projects = (struct bs_project *)item - c->cfg->n_projects;
	bs_config_check_project(c, m, idx, item);
	c->proj_nodes[c->cfg->n_projects] = m;
	c->proj_index[c->cfg->n_projects] = idx;
	c->cfg->n_projects++;
}

static void
parse_projects(struct ctx *c, const struct bs_ynode *v,
    const struct bs_keydef *defs)
{
	size_t cap = v->type == BS_YNODE_SEQ && v->n ? v->n : 1;
	c->proj_nodes = bs_arena_alloc(c->a, cap * sizeof(*c->proj_nodes));
	c->proj_index = bs_arena_alloc(c->a, cap * sizeof(*c->proj_index));
	struct bs_config *cfg = c->cfg;
	cfg->n_projects = 0;
	size_t n = 0;
	void *arr = NULL;
	map_items(c, v, "projects", defs, sizeof(struct bs_project), &arr, &n,
	    project_init, project_done, NULL);
	cfg->projects = arr;
	cfg->n_projects = n;
}

/* A code deployment: track -1 (its project's); checked with its project
 * (bs_config_check_project). */
static void
cd_init(void *item, const struct bs_ynode *m)
{
	struct bs_code_deployment *cd = item;
	cd->track = -1;
	cd->line = m->line;
}

static void
cd_done(struct ctx *c, const struct bs_ynode *m, size_t idx, void *item,
    void *arg)
{
	(void)c;
	(void)m;
	(void)idx;
	(void)item;
	(void)arg;
}

static void
parse_code_deployments(struct ctx *c, const struct bs_ynode *v,
    const char *path, const struct bs_keydef *defs, struct bs_project *p)
{
	void *arr = NULL;
	size_t n = 0;
	map_items(c, v, path, defs, sizeof(struct bs_code_deployment), &arr, &n,
	    cd_init, cd_done, NULL);
	p->code_deployments = arr;
	p->n_code_deployments = n;
}

void
bs_config_walk(struct ctx *c)
{
	walk_map(c, c->root, "", bs_config_top_keys, (char *)c->cfg);
	bs_config_expand_projects(c);
}
