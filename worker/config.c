/* config: see config.h.
 *
 * Two steps. yaml_doc turns the file into a tree with a line and column
 * per node; then a table per section (keydef: name, kind, where it goes in
 * struct bs_config, range) maps the tree onto the struct, so unknown keys,
 * wrong types and out-of-range values are found uniformly and every
 * message points at the node at fault. Cross-field checks (secrets from
 * the environment, URLs, regexes, deployments) run afterwards, looking the
 * nodes up again for their places. Diagnostics are sorted by place.
 *
 * Durations: "500ms", "30s", "5m", "48h", "7d" or a bare integer, which is
 * milliseconds for keys named *_ms and seconds for every other duration key
 * (queue.seen_ttl, retry.max_age, worker.visibility_timeout, ...).
 * Sizes: a bare integer of bytes, or with B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024); units are case-insensitive.
 * Everything is allocated in cfg->arena; messages in d->arena. */
#include "worker/config_internal.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "parsers/issue_scan.h"
#include "queue/redis_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* === scalar conversions ================================================== */

int
bs_config_parse_ll(const char *s, size_t len, long long *out)
{
	if (len == 0 || len > 20 || strlen(s) != len)
		return -1;
	size_t i = 0;
	if (s[0] == '+' || s[0] == '-')
		i++;
	if (i == len)
		return -1;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Splits "123unit" into the number and the unit. */
static int
split_num(const char *s, size_t len, long long *num, const char **unit)
{
	size_t i = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 18 || strlen(s) != len)
		return -1;
	long long v = 0;
	for (size_t j = 0; j < i; j++)
		v = v * 10 + (s[j] - '0');
	while (i < len && s[i] == ' ')
		i++;
	*num = v;
	*unit = s + i;
	return 0;
}

int
bs_config_parse_duration(const char *s, size_t len, long long bare_ms,
    long long *ms)
{
	long long v;
	const char *u;
	if (split_num(s, len, &v, &u) != 0)
		return -1;
	long long mul;
	if (*u == '\0')
		mul = bare_ms;
	else if (strcmp(u, "ms") == 0)
		mul = 1;
	else if (strcmp(u, "s") == 0)
		mul = MS_S;
	else if (strcmp(u, "m") == 0)
		mul = MS_M;
	else if (strcmp(u, "h") == 0)
		mul = MS_H;
	else if (strcmp(u, "d") == 0)
		mul = MS_D;
	else
		return -1;
	if (v > (long long)(INT64_MAX / 4) / mul)
		return -1;
	*ms = v * mul;
	return 0;
}

static int
parse_size(const char *s, size_t len, long long *bytes)
{
	static const struct { const char *u; long long mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "kb", 1000LL }, { "kib", 1024LL },
		{ "mb", 1000LL * 1000 }, { "mib", 1024LL * 1024 },
		{ "gb", 1000LL * 1000 * 1000 }, { "gib", 1024LL * 1024 * 1024 },
	};
	long long v;
	const char *u;
	if (split_num(s, len, &v, &u) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i].u) == 0) {
			if (v > (long long)(INT64_MAX / 4) / units[i].mul)
				return -1;
			*bytes = v * units[i].mul;
			return 0;
		}
	}
	return -1;
}

static int
parse_bool(const struct bs_ynode *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
		"YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
		"NO", "off", "Off", "OFF" };
	if (n->type != BS_YNODE_SCALAR || !n->plain)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(n->str, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(n->str, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* === did you mean ========================================================= */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t row[41];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* === key tables =========================================================== */

enum kind {
	K_STR,          /* char * */
	K_BOOL,         /* bool */
	K_INT,          /* int, integer */
	K_SZ,           /* size_t, integer */
	K_LL,           /* long long, integer */
	K_MS,           /* int ms, duration, bare = ms */
	K_SEC,          /* int s, duration, bare = s */
	K_MS64,         /* int64_t ms, duration, bare = s */
	K_SIZE,         /* size_t bytes, size */
	K_LIST,         /* char ** at off, size_t count at off2: list or string */
	K_TRACK,        /* enum bs_track */
	K_TRI,          /* int -1/0/1 from a bool */
	K_MAP,          /* a section: sub table, same base */
	K_DEPLOYMENTS,
};

struct keydef {
	const char *name;
	enum kind kind;
	size_t off, off2;
	long long min, max;
	const struct keydef *sub;
};

#define CF(f) offsetof(struct bs_config, f)
#define DF(f) offsetof(struct bs_deployment, f)
#define END { NULL, K_STR, 0, 0, 0, 0, NULL }

static const struct keydef redis_keys[] = {
	{ "url", K_STR, CF(redis.url), 0, 0, 0, NULL },
	{ "password_env", K_STR, CF(redis.password_env), 0, 0, 0, NULL },
	{ "prefix", K_STR, CF(redis.prefix), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(redis.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "command_timeout_ms", K_MS, CF(redis.command_timeout_ms), 0, 1, 10 * MS_M, NULL },
	END
};

static const struct keydef bitbucket_keys[] = {
	{ "secret_env", K_STR, CF(bitbucket.secret_env), 0, 0, 0, NULL },
	{ "allow_unsigned", K_BOOL, CF(bitbucket.allow_unsigned), 0, 0, 0, NULL },
	END
};

static const struct keydef sleuth_keys[] = {
	{ "base_url", K_STR, CF(sleuth.base_url), 0, 0, 0, NULL },
	{ "token_env", K_STR, CF(sleuth.token_env), 0, 0, 0, NULL },
	{ "dry_run", K_BOOL, CF(sleuth.dry_run), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(sleuth.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "timeout_ms", K_MS, CF(sleuth.timeout_ms), 0, 1, MS_H, NULL },
	{ "max_commits", K_SZ, CF(sleuth.max_commits), 0, 1, 100000, NULL },
	END
};

static const struct keydef issues_keys[] = {
	{ "patterns", K_LIST, CF(issues.patterns), CF(issues.n_patterns), 0, 64, NULL },
	{ "projects", K_LIST, CF(issues.projects), CF(issues.n_projects), 0, 4096, NULL },
	{ "url", K_STR, CF(issues.url), 0, 0, 0, NULL },
	END
};

static const struct keydef http_keys[] = {
	{ "max_body", K_SIZE, CF(http.max_body), 0, 1, 1024LL * 1024 * 1024, NULL },
	{ "max_headers", K_SIZE, CF(http.max_headers), 0, 1024, 1024 * 1024, NULL },
	{ "timeout_ms", K_MS, CF(http.timeout_ms), 0, 1, MS_H, NULL },
	/* Concurrent ingest connections; at the cap the listener pauses and
	 * new connections wait in the kernel's listen backlog (conn_limit.c). */
	{ "max_connections", K_INT, CF(http.max_connections), 0, 1, 1000000, NULL },
	END
};

static const struct keydef limits_keys[] = {
	{ "max_depth", K_SZ, CF(limits.max_depth), 0, 1, 10000, NULL },
	{ "max_changes", K_SZ, CF(limits.max_changes), 0, 1, 1000000, NULL },
	{ "max_commits", K_SZ, CF(limits.max_commits), 0, 1, 1000000, NULL },
	{ "max_string", K_SIZE, CF(limits.max_string), 0, 1, 64LL * 1024 * 1024, NULL },
	END
};

static const struct keydef queue_keys[] = {
	{ "seen_ttl", K_SEC, CF(queue.seen_ttl_s), 0, 1, 365 * 86400LL, NULL },
	{ "raw_ttl", K_SEC, CF(queue.raw_ttl_s), 0, 0, 365 * 86400LL, NULL },
	{ "content_dedupe", K_BOOL, CF(queue.content_dedupe), 0, 0, 0, NULL },
	{ "pr_ttl", K_SEC, CF(queue.pr_ttl_s), 0, 1, 365 * 86400LL, NULL },
	{ "max_stream", K_LL, CF(queue.max_stream), 0, 1, 1000000000000LL, NULL },
	END
};

static const struct keydef worker_keys[] = {
	{ "concurrency", K_INT, CF(worker.concurrency), 0, 1, 10000, NULL },
	{ "block_ms", K_MS, CF(worker.block_ms), 0, 1, 10 * MS_M, NULL },
	{ "visibility_timeout", K_MS64, CF(worker.visibility_timeout_ms), 0, MS_S, 7 * MS_D, NULL },
	END
};

static const struct keydef retry_keys[] = {
	{ "max_attempts", K_INT, CF(retry.max_attempts), 0, 1, 10000, NULL },
	{ "max_age", K_MS64, CF(retry.max_age_ms), 0, MS_S, 365 * MS_D, NULL },
	{ "base", K_MS64, CF(retry.base_ms), 0, 1, MS_D, NULL },
	{ "cap", K_MS64, CF(retry.cap_ms), 0, 1, 7 * MS_D, NULL },
	{ "slow_attempts", K_INT, CF(retry.slow_attempts), 0, 0, 1000, NULL },
	{ "slow_delay", K_MS64, CF(retry.slow_delay_ms), 0, 1, MS_D, NULL },
	END
};

static const struct keydef dead_keys[] = {
	{ "max_len", K_LL, CF(dead.max_len), 0, 1, 1000000000000LL, NULL },
	{ "max_age", K_MS64, CF(dead.max_age_ms), 0, MS_S, 3650 * MS_D, NULL },
	END
};

static const struct keydef top_keys[] = {
	{ "listen", K_STR, CF(listen), 0, 0, 0, NULL },
	{ "log_level", K_STR, CF(log_level), 0, 0, 0, NULL },
	{ "redis", K_MAP, 0, 0, 0, 0, redis_keys },
	{ "bitbucket", K_MAP, 0, 0, 0, 0, bitbucket_keys },
	{ "sleuth", K_MAP, 0, 0, 0, 0, sleuth_keys },
	{ "issues", K_MAP, 0, 0, 0, 0, issues_keys },
	{ "http", K_MAP, 0, 0, 0, 0, http_keys },
	{ "limits", K_MAP, 0, 0, 0, 0, limits_keys },
	{ "queue", K_MAP, 0, 0, 0, 0, queue_keys },
	{ "worker", K_MAP, 0, 0, 0, 0, worker_keys },
	{ "retry", K_MAP, 0, 0, 0, 0, retry_keys },
	{ "dead", K_MAP, 0, 0, 0, 0, dead_keys },
	{ "deployments", K_DEPLOYMENTS, 0, 0, 0, 0, NULL },
	END
};

static const struct keydef deployment_keys[] = {
	{ "org", K_STR, DF(org), 0, 0, 0, NULL },
	{ "deployment", K_STR, DF(deployment), 0, 0, 0, NULL },
	{ "repository", K_STR, DF(repository), 0, 0, 0, NULL },
	{ "branch", K_LIST, DF(branches), DF(n_branches), 0, CONFIG_MAX_LIST, NULL },
	{ "environment", K_STR, DF(environment), 0, 0, 0, NULL },
	{ "track", K_TRACK, DF(track), 0, 0, 0, NULL },
	{ "tag_pattern", K_STR, DF(tag_pattern), 0, 0, 0, NULL },
	{ "token_env", K_STR, DF(token_env), 0, 0, 0, NULL },
	{ "dry_run", K_TRI, DF(dry_run), 0, 0, 0, NULL },
	{ "tags", K_LIST, DF(tags), DF(n_tags), 0, CONFIG_MAX_LIST, NULL },
	{ "issue_tags", K_BOOL, DF(issue_tags), 0, 0, 0, NULL },
	END
};

void
bs_config_each_key(void (*fn)(const char *path, void *arg), void *arg)
{
	char path[128];
	for (const struct keydef *t = top_keys; t->name; t++) {
		const struct keydef *sub = t->kind == K_MAP ? t->sub :
		    t->kind == K_DEPLOYMENTS ? deployment_keys : NULL;
		if (!sub) {
			fn(t->name, arg);
			continue;
		}
		for (const struct keydef *k = sub; k->name; k++) {
			snprintf(path, sizeof(path), "%s%s.%s", t->name,
			    t->kind == K_DEPLOYMENTS ? "[]" : "", k->name);
			fn(path, arg);
		}
	}
}

/* === literal secrets ====================================================== */

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The *_env key to suggest when key looks like a literal secret, else
 * NULL. */
static const char *
secret_key_hint(const struct bs_ynode *k)
{
	static const char *const exact[][2] = {
		{ "secret", "secret_env" }, { "webhook_secret", "secret_env" },
		{ "password", "password_env" }, { "passwd", "password_env" },
		{ "token", "token_env" }, { "api_key", "token_env" },
		{ "apikey", "token_env" }, { "api_token", "token_env" },
		{ "access_token", "token_env" },
	};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(k->str, exact[i][0]) == 0)
			return exact[i][1];
	if (ends_with(k->str, k->len, "_secret"))
		return "secret_env";
	if (ends_with(k->str, k->len, "_password"))
		return "password_env";
	if (ends_with(k->str, k->len, "_token"))
		return "token_env";
	return NULL;
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
    const struct keydef *k, char *base)
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

static void walk_map(struct ctx *c, const struct bs_ynode *map,
    const char *path, const struct keydef *defs, char *base);
static void parse_deployments(struct ctx *c, const struct bs_ynode *v);

static void
set_field(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct keydef *k, char *base)
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
		parse_deployments(c, v);
		return;
	}
	if (bs_ynode_is_null(v))
		return;          /* "key:" or "key: ~" keeps the default */
	if (k->kind == K_LIST) {
		set_list(c, v, path, k, base);
		return;
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
		if (parse_bool(v, &b) != 0) {
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
		if (!expect_scalar(c, v, path, "push, merge or tag"))
			return;
		if (strcmp(v->str, "push") == 0)
			*(enum bs_track *)f = BS_TRACK_PUSH;
		else if (strcmp(v->str, "merge") == 0)
			*(enum bs_track *)f = BS_TRACK_MERGE;
		else if (strcmp(v->str, "tag") == 0)
			*(enum bs_track *)f = BS_TRACK_TAG;
		else
			ERR(c, v, "%s: expected push, merge or tag, got '%s'", path,
			    SHOW(v));
		return;
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
		if (parse_size(v->str, v->len, &x) != 0) {
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
    const struct keydef *defs, char *base)
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

		const struct keydef *k = NULL;
		for (const struct keydef *d = defs; d->name; d++) {
			if (strlen(d->name) == key->len &&
			    memcmp(d->name, key->str, key->len) == 0) {
				k = d;
				break;
			}
		}
		if (!k) {
			const char *hint = secret_key_hint(key);
			if (hint) {
				ERR(c, key, "%s: secrets come from the environment: use "
				    "%s", kpath, hint);
				continue;
			}
			const char *best = NULL;
			size_t bestd = 3;
			for (const struct keydef *d = defs; d->name; d++) {
				size_t ed = edit_distance(kshow, d->name);
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

/* === deployments ========================================================= */

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

bool
bs_config_is_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	size_t n = 0;
	for (; *s; s++, n++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return n <= 128;
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
	if (ends_with(name, n, ".lock"))
		return "ending in '.lock'";
	if (name[n - 1] == '.')
		return "ending in '.'";
	if (name[0] == '.' || strstr(name, "/."))
		return "with a part starting with '.'";
	return NULL;
}

static void
check_deployment(struct ctx *c, const struct bs_ynode *m, size_t idx,
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
}

static void
parse_deployments(struct ctx *c, const struct bs_ynode *v)
{
	if (bs_ynode_is_null(v))
		return;
	if (v->type != BS_YNODE_SEQ) {
		ERR(c, v, "deployments: expected a list, got %s", bs_config_type_name(v));
		return;
	}
	if (v->n > CONFIG_MAX_DEPLOYMENTS) {
		ERR(c, v, "deployments: too many (%zu, at most %d)", v->n,
		    CONFIG_MAX_DEPLOYMENTS);
		return;
	}
	struct bs_config *cfg = c->cfg;
	cfg->deployments = bs_arena_alloc(c->a,
	    (v->n ? v->n : 1) * sizeof(*cfg->deployments));
	cfg->n_deployments = 0;
	c->dep_nodes = bs_arena_alloc(c->a, (v->n ? v->n : 1) *
	    sizeof(*c->dep_nodes));
	c->dep_index = bs_arena_alloc(c->a, (v->n ? v->n : 1) *
	    sizeof(*c->dep_index));
	for (size_t i = 0; i < v->n; i++) {
		const struct bs_ynode *m = v->items[i];
		char path[64];
		snprintf(path, sizeof(path), "deployments[%zu]", i);
		if (m->type != BS_YNODE_MAP) {
			ERR(c, m, "%s: expected a mapping, got %s", path,
			    bs_ynode_is_null(m) ? "null" : bs_config_type_name(m));
			continue;
		}
		struct bs_deployment *dep = &cfg->deployments[cfg->n_deployments];
		memset(dep, 0, sizeof(*dep));
		dep->dry_run = -1;
		dep->track = BS_TRACK_PUSH;
		dep->line = m->line;
		walk_map(c, m, path, deployment_keys, (char *)dep);
		check_deployment(c, m, i, dep);
		/* Duplicates of (org, deployment, environment). */
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
		c->dep_nodes[cfg->n_deployments] = m;
		c->dep_index[cfg->n_deployments] = i;
		cfg->n_deployments++;
	}
}

/* === load ================================================================= */

static void
set_defaults(struct bs_config *cfg)
{
	struct bs_arena *a = &cfg->arena;
	cfg->listen = bs_arena_strdup(a, "127.0.0.1:8080");
	cfg->listen_host = bs_arena_strdup(a, "127.0.0.1");
	cfg->listen_port = 8080;
	cfg->redis.url = bs_arena_strdup(a, "redis://127.0.0.1:6379/0");
	cfg->redis.prefix = bs_arena_strdup(a, "bitsleuth");
	cfg->redis.connect_timeout_ms = 2000;
	cfg->redis.command_timeout_ms = 5000;
	cfg->bitbucket.secret_env = bs_arena_strdup(a, "BITBUCKET_WEBHOOK_SECRET");
	cfg->sleuth.base_url = bs_arena_strdup(a, "https://app.sleuth.io");
	cfg->sleuth.token_env = bs_arena_strdup(a, "SLEUTH_API_TOKEN");
	cfg->sleuth.connect_timeout_ms = 5000;
	cfg->sleuth.timeout_ms = 30000;
	cfg->sleuth.max_commits = 250;
	cfg->issues.patterns = bs_arena_alloc(a, sizeof(char *));
	cfg->issues.patterns[0] = bs_arena_strdup(a, "jira");
	cfg->issues.n_patterns = 1;
	cfg->http.max_body = 1024 * 1024;
	cfg->http.max_headers = 16 * 1024;
	cfg->http.timeout_ms = 10000;
	cfg->http.max_connections = 1024;
	bs_parse_limits_default(&cfg->limits);
	cfg->queue.seen_ttl_s = 7 * 86400;
	cfg->queue.raw_ttl_s = 7 * 86400;
	cfg->queue.content_dedupe = true;
	cfg->queue.pr_ttl_s = 30 * 86400;
	cfg->queue.max_stream = 1000000;
	cfg->worker.concurrency = 16;
	cfg->worker.block_ms = 1000;
	cfg->worker.visibility_timeout_ms = 5 * MS_M;
	cfg->retry.max_attempts = 20;
	cfg->retry.max_age_ms = 48 * MS_H;
	cfg->retry.base_ms = 5 * MS_S;
	cfg->retry.cap_ms = MS_H;
	cfg->retry.slow_attempts = 5;
	cfg->retry.slow_delay_ms = 60 * MS_S;
	cfg->dead.max_len = 100000;
	cfg->dead.max_age_ms = 30 * MS_D;
	cfg->log_level = bs_arena_strdup(a, "info");
}

/* Stable insertion sort of d->items[from..] by (line, column); lines 0
 * (not tied to a place) go last. */
static void
sort_diags(struct bs_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct bs_diag x = d->items[i];
		long lx = x.line > 0 ? x.line : (long)INT32_MAX + 1;
		size_t j = i;
		while (j > from) {
			const struct bs_diag *p = &d->items[j - 1];
			long lp = p->line > 0 ? p->line : (long)INT32_MAX + 1;
			if (lp < lx || (lp == lx && p->column <= x.column))
				break;
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

int
bs_config_parse(const char *name, const char *yaml, size_t len,
    struct bs_config *cfg, struct bs_diags *d)
{
	return bs_config_parse_for(name, yaml, len, BS_USES_ALL, cfg, d);
}

int
bs_config_parse_for(const char *name, const char *yaml, size_t len,
    unsigned uses, struct bs_config *cfg, struct bs_diags *d)
{
	memset(cfg, 0, sizeof(*cfg));
	bs_arena_init(&cfg->arena);
	cfg->path = bs_arena_strdup(&cfg->arena, name ? name : "config");
	set_defaults(cfg);
	size_t errors0 = d->errors, first = d->n;

	struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena, .uses = uses };
	if (len > CONFIG_MAX_FILE) {
		ERR(&c, NULL, "file too large (%zu bytes, at most %d)", len,
		    CONFIG_MAX_FILE);
		return -1;
	}
	/* The tree lives in its own arena, dropped once mapped. */
	struct bs_arena tree;
	bs_arena_init(&tree);
	char err[512];
	int line = 0, col = 0;
	if (bs_ydoc_parse(&tree, yaml ? yaml : "", yaml ? len : 0, &c.root, err,
	    sizeof(err), &line, &col) != 0) {
		struct bs_ynode at = { .line = line, .column = col };
		ERR(&c, line > 0 ? &at : NULL, "%s", err);
		bs_arena_release(&tree);
		return -1;
	}
	if (c.root && c.root->type != BS_YNODE_MAP && !bs_ynode_is_null(c.root)) {
		ERR(&c, c.root, "the configuration must be a mapping of keys, got "
		    "%s", bs_config_type_name(c.root));
		bs_arena_release(&tree);
		return -1;
	}
	if (c.root && c.root->type != BS_YNODE_MAP)
		c.root = NULL;
	if (c.root)
		walk_map(&c, c.root, "", top_keys, (char *)cfg);

	bs_config_check(&c);
	sort_diags(d, first);
	bs_arena_release(&tree);
	return d->errors > errors0 ? -1 : 0;
}

int
bs_config_load(const char *path, struct bs_config *cfg, struct bs_diags *d)
{
	return bs_config_load_for(path, BS_USES_ALL, cfg, d);
}

int
bs_config_load_for(const char *path, unsigned uses, struct bs_config *cfg,
    struct bs_diags *d)
{
	memset(cfg, 0, sizeof(*cfg));
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		int e = path ? errno : EINVAL;
		bs_arena_init(&cfg->arena);
		cfg->path = bs_arena_strdup(&cfg->arena, path ? path : "");
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(e));
		struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena };
		ERR(&c, NULL, "%s", msg);
		return -1;
	}
	size_t cap = 64 * 1024, n = 0;
	char *buf = xmalloc(cap + 1);
	size_t r;
	int too_big = 0;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap > CONFIG_MAX_FILE) {
				too_big = 1;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr || too_big) {
		free(buf);
		bs_arena_init(&cfg->arena);
		cfg->path = bs_arena_strdup(&cfg->arena, path);
		struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena };
		if (too_big)
			ERR(&c, NULL, "file too large (at most %d bytes)",
			    CONFIG_MAX_FILE);
		else
			ERR(&c, NULL, "cannot read the file");
		return -1;
	}
	buf[n] = '\0';
	int rc = bs_config_parse_for(path, buf, n, uses, cfg, d);
	free(buf);
	return rc;
}

void
bs_config_release(struct bs_config *cfg)
{
	if (!cfg)
		return;
	/* Scrub resolved secrets before the memory goes back. */
	if (cfg->bitbucket.secret)
		memset(cfg->bitbucket.secret, 0, strlen(cfg->bitbucket.secret));
	if (cfg->sleuth.token)
		memset(cfg->sleuth.token, 0, strlen(cfg->sleuth.token));
	if (cfg->redis.password)
		memset(cfg->redis.password, 0, strlen(cfg->redis.password));
	for (size_t i = 0; i < cfg->n_deployments; i++)
		if (cfg->deployments && cfg->deployments[i].token)
			memset(cfg->deployments[i].token, 0,
			    strlen(cfg->deployments[i].token));
	bs_arena_release(&cfg->arena);
	memset(cfg, 0, sizeof(*cfg));
}
