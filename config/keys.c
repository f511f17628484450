/* keys: every key the config file accepts and how its value is mapped
 * onto struct bs_config. To add or change a key: its line in a table below
 * (name, kind, field, range), its default in set_defaults (config.c), its
 * checks in config_check.c (several keys at once) or deployments.c (one
 * deployment). The walker finds unknown keys (with "did you mean"),
 * literal secrets (pointing at the *_env key to use), duplicate keys,
 * wrong types and out-of-range values uniformly, each message at the node
 * at fault. Calls scalars.c, deployments.c and config_diag.c. */
#include "config/config_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
	K_CIDRS,        /* struct bs_cidr * at off, size_t count at off2: list
	                 * or string of address ranges */
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

static const struct keydef redis_sentinel_keys[] = {
	{ "master", K_STR, CF(redis.sentinel.master), 0, 0, 0, NULL },
	{ "addresses", K_LIST, CF(redis.sentinel.addresses),
	    CF(redis.sentinel.n_addresses), 0, 16, NULL },
	{ "password_env", K_STR, CF(redis.sentinel.password_env), 0, 0, 0, NULL },
	{ "password_file", K_STR, CF(redis.sentinel.password_file), 0, 0, 0, NULL },
	END
};

/* One topology of url, sentinel and cluster (check_redis.c). */
static const struct keydef redis_keys[] = {
	{ "url", K_STR, CF(redis.url), 0, 0, 0, NULL },
	{ "sentinel", K_MAP, 0, 0, 0, 0, redis_sentinel_keys },
	{ "cluster", K_LIST, CF(redis.cluster), CF(redis.n_cluster), 0, 64, NULL },
	{ "db", K_INT, CF(redis.db), 0, 0, 15, NULL },
	{ "password_env", K_STR, CF(redis.password_env), 0, 0, 0, NULL },
	{ "password_file", K_STR, CF(redis.password_file), 0, 0, 0, NULL },
	{ "prefix", K_STR, CF(redis.prefix), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(redis.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "command_timeout_ms", K_MS, CF(redis.command_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "connections", K_INT, CF(redis.connections), 0, 1, 64, NULL },
	{ "wait_replicas", K_INT, CF(redis.wait_replicas), 0, 0, 16, NULL },
	{ "wait_timeout_ms", K_MS, CF(redis.wait_timeout_ms), 0, 1, 60000, NULL },
	END
};

static const struct keydef bitbucket_api_keys[] = {
	{ "cloud_url", K_STR, CF(bitbucket.api.cloud_url), 0, 0, 0, NULL },
	{ "server_url", K_STR, CF(bitbucket.api.server_url), 0, 0, 0, NULL },
	{ "token_env", K_STR, CF(bitbucket.api.token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, CF(bitbucket.api.token_file), 0, 0, 0, NULL },
	{ "username", K_STR, CF(bitbucket.api.username), 0, 0, 0, NULL },
	{ "app_password_env", K_STR, CF(bitbucket.api.app_password_env), 0, 0, 0,
	    NULL },
	{ "app_password_file", K_STR, CF(bitbucket.api.app_password_file), 0, 0,
	    0, NULL },
	{ "requests_per_hour", K_INT, CF(bitbucket.api.requests_per_hour), 0, 1,
	    1000000, NULL },
	{ "burst", K_INT, CF(bitbucket.api.burst), 0, 1, 10000, NULL },
	{ "connect_timeout_ms", K_MS, CF(bitbucket.api.connect_timeout_ms), 0, 1,
	    10 * MS_M, NULL },
	{ "timeout_ms", K_MS, CF(bitbucket.api.timeout_ms), 0, 1, MS_H, NULL },
	END
};

static const struct keydef bitbucket_keys[] = {
	{ "secret_env", K_STR, CF(bitbucket.secret_env), 0, 0, 0, NULL },
	{ "secret_file", K_STR, CF(bitbucket.secret_file), 0, 0, 0, NULL },
	{ "secret_previous_env", K_STR, CF(bitbucket.secret_previous_env), 0, 0,
	    0, NULL },
	{ "secret_previous_file", K_STR, CF(bitbucket.secret_previous_file), 0,
	    0, 0, NULL },
	{ "allow_unsigned", K_BOOL, CF(bitbucket.allow_unsigned), 0, 0, 0, NULL },
	{ "allow_cidrs", K_CIDRS, CF(bitbucket.allow_cidrs),
	    CF(bitbucket.n_allow_cidrs), 0, CONFIG_MAX_CIDRS, NULL },
	{ "api", K_MAP, 0, 0, 0, 0, bitbucket_api_keys },
	END
};

static const struct keydef sleuth_keys[] = {
	{ "base_url", K_STR, CF(sleuth.base_url), 0, 0, 0, NULL },
	{ "token_env", K_STR, CF(sleuth.token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, CF(sleuth.token_file), 0, 0, 0, NULL },
	{ "dry_run", K_BOOL, CF(sleuth.dry_run), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(sleuth.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "timeout_ms", K_MS, CF(sleuth.timeout_ms), 0, 1, MS_H, NULL },
	{ "max_commits", K_SZ, CF(sleuth.max_commits), 0, 1, 100000, NULL },
	END
};

static const struct keydef issues_keys[] = {
	{ "patterns", K_LIST, CF(issues.patterns), CF(issues.n_patterns), 0, 64, NULL },
	{ "projects", K_LIST, CF(issues.projects), CF(issues.n_projects), 0, 4096, NULL },
	{ "stop_list", K_LIST, CF(issues.stop_list), CF(issues.n_stop_list), 0, 4096, NULL },
	{ "url", K_STR, CF(issues.url), 0, 0, 0, NULL },
	END
};

static const struct keydef http_keys[] = {
	{ "max_body", K_SIZE, CF(http.max_body), 0, 1, 1024LL * 1024 * 1024, NULL },
	{ "max_headers", K_SIZE, CF(http.max_headers), 0, 1024, 1024 * 1024, NULL },
	{ "timeout_ms", K_MS, CF(http.timeout_ms), 0, 1, MS_H, NULL },
	{ "idle_timeout_ms", K_MS, CF(http.idle_timeout_ms), 0, 1, MS_H, NULL },
	/* Concurrent ingest connections; at the cap idle connections, then the
	 * oldest unfinished requests, are shed for a new one (ingest/). */
	{ "max_connections", K_INT, CF(http.max_connections), 0, 1, 1000000, NULL },
	{ "max_connections_per_ip", K_INT, CF(http.max_connections_per_ip), 0, 0,
	    1000000, NULL },
	{ "max_inflight_bytes", K_SIZE, CF(http.max_inflight_bytes), 0, 64 * 1024,
	    1LL << 40, NULL },
	{ "trusted_proxies", K_CIDRS, CF(http.trusted_proxies),
	    CF(http.n_trusted_proxies), 0, CONFIG_MAX_CIDRS, NULL },
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
	{ "content_dedupe_window", K_SEC, CF(queue.content_dedupe_window_s), 0, 1, 365 * 86400LL, NULL },
	{ "pr_ttl", K_SEC, CF(queue.pr_ttl_s), 0, 1, 365 * 86400LL, NULL },
	{ "max_stream", K_LL, CF(queue.max_stream), 0, 1, 1000000000000LL, NULL },
	{ "shards", K_INT, CF(queue.shards), 0, 1, 64, NULL },
	{ "events", K_BOOL, CF(queue.events), 0, 0, 0, NULL },
	{ "events_ttl", K_MS64, CF(queue.events_ttl_ms), 0, MS_S, 3650 * MS_D, NULL },
	{ "events_maxlen", K_LL, CF(queue.events_maxlen), 0, 1, 1000000000000LL, NULL },
	{ "events_format", K_STR, CF(queue.events_format), 0, 0, 0, NULL },
	END
};

static const struct keydef worker_keys[] = {
	{ "concurrency", K_INT, CF(worker.concurrency), 0, 1, 10000, NULL },
	{ "block_ms", K_MS, CF(worker.block_ms), 0, 1, 10 * MS_M, NULL },
	{ "visibility_timeout", K_MS64, CF(worker.visibility_timeout_ms), 0, MS_S, 7 * MS_D, NULL },
	{ "order_hold", K_MS64, CF(worker.order_hold_ms), 0, 1, 30 * MS_D, NULL },
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

static const struct keydef backfill_keys[] = {
	{ "max_commits", K_SZ, CF(backfill.max_commits), 0, 1, 100000, NULL },
	{ "max_wait", K_MS64, CF(backfill.max_wait_ms), 0, 1, MS_H, NULL },
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
	{ "metrics_listen", K_STR, CF(metrics_listen), 0, 0, 0, NULL },
	{ "log_format", K_STR, CF(log_format), 0, 0, 0, NULL },
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
	{ "backfill", K_MAP, 0, 0, 0, 0, backfill_keys },
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
	{ "token_file", K_STR, DF(token_file), 0, 0, 0, NULL },
	{ "dry_run", K_TRI, DF(dry_run), 0, 0, 0, NULL },
	{ "tags", K_LIST, DF(tags), DF(n_tags), 0, CONFIG_MAX_LIST, NULL },
	{ "issue_tags", K_BOOL, DF(issue_tags), 0, 0, 0, NULL },
	END
};

static void
each_key(const struct keydef *t, const char *prefix,
    void (*fn)(const char *path, void *arg), void *arg)
{
	char path[128];
	for (; t->name; t++) {
		const struct keydef *sub = t->kind == K_MAP ? t->sub :
		    t->kind == K_DEPLOYMENTS ? deployment_keys : NULL;
		snprintf(path, sizeof(path), "%s%s%s%s", prefix, *prefix ? "." : "",
		    t->name, t->kind == K_DEPLOYMENTS ? "[]" : "");
		if (sub)
			each_key(sub, path, fn, arg);
		else
			fn(path, arg);
	}
}

void
bs_config_each_key(void (*fn)(const char *path, void *arg), void *arg)
{
	each_key(top_keys, "", fn, arg);
}

/* The value of one scalar key (check --print): the key's definition at
 * dotted path in the tables, its field formatted in a form the config
 * accepts back. */
int
bs_config_format_value(const struct bs_config *cfg, const char *path,
    char *out, size_t outlen)
{
	const struct keydef *t = top_keys;
	const char *p = path;
	for (;;) {
		size_t n = strcspn(p, ".");
		const struct keydef *k = t;
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

/* === literal secrets ====================================================== */

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
	if (bs_config_ends_with(k->str, k->len, "_secret"))
		return "secret_env";
	if (bs_config_ends_with(k->str, k->len, "_password"))
		return "password_env";
	if (bs_config_ends_with(k->str, k->len, "_token"))
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

/* A list of address ranges (or one as a string); each item must parse with
 * bs_cidr_parse, the error says why and, for host bits set, which network
 * was meant. */
static void
set_cidrs(struct ctx *c, const struct bs_ynode *v, const char *path,
    const struct keydef *k, char *base)
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
	if (k->kind == K_CIDRS) {
		set_cidrs(c, v, path, k, base);
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

/* === the deployments list =============================================== */

/* Each item is mapped through deployment_keys onto a struct bs_deployment
 * (dry_run -1: as sleuth.dry_run; track push), then checked by
 * deployments.c; c->dep_nodes / c->dep_index remember its node and index
 * for the later checks. */
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
		bs_config_check_deployment(c, m, i, dep);
		c->dep_nodes[cfg->n_deployments] = m;
		c->dep_index[cfg->n_deployments] = i;
		cfg->n_deployments++;
	}
}

void
bs_config_walk(struct ctx *c)
{
	walk_map(c, c->root, "", top_keys, (char *)c->cfg);
}
