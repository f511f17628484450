/* check_redis: the checks of redis.* and queue.shards (see
 * config_internal.h), after the tree was mapped.
 *
 * Exactly one topology is in force: a plain server (redis.url, also the
 * default), a master found through Sentinel (redis.sentinel) or a Redis
 * Cluster (redis.cluster). The three are written exclusively; with
 * sentinel or cluster the default URL is dropped (cfg->redis.url NULL).
 * hiredis 0.14 speaks no TLS: rediss:// is refused with the way out (the
 * stunnel sidecar, README "TLS to Redis"). The secrets of redis.* are
 * resolved by config_check.c with the others. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/redis_url.h"

#define MAX_SENTINELS 16
#define MAX_SEEDS 64
#define BITBUCKET_TIMEOUT_MS 10000  /* Bitbucket gives a delivery 10 s */

/* bs_config_node; *full tells whether the whole path was there. */
static const struct bs_ynode *
lookup(const struct ctx *c, const char *path, bool key, bool *full)
{
	const struct bs_ynode *v = c->root, *last = NULL;
	*full = false;
	while (v && *path) {
		char seg[64];
		size_t n = strcspn(path, ".");
		if (n >= sizeof(seg) || v->type != BS_YNODE_MAP)
			return last;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		struct bs_ynode *kn = NULL;
		const struct bs_ynode *val = bs_ynode_get(v, seg, &kn);
		if (!val)
			return last;
		last = key && !*path ? kn : val;
		v = val;
	}
	*full = last != NULL;
	return last;
}

const struct bs_ynode *
bs_config_node(const struct ctx *c, const char *path, bool key)
{
	bool full;
	return lookup(c, path, key, &full);
}

/* The value node at path when the whole path is there, else NULL. */
static const struct bs_ynode *
exact(const struct ctx *c, const char *path)
{
	bool full;
	const struct bs_ynode *n = lookup(c, path, false, &full);
	return full ? n : NULL;
}

/* The key node of redis.<key> when its value is written and not null. */
static const struct bs_ynode *
written(const struct ctx *c, const char *key)
{
	const struct bs_ynode *r = bs_ynode_get(c->root, "redis", NULL);
	struct bs_ynode *kn = NULL;
	const struct bs_ynode *v = r && r->type == BS_YNODE_MAP ?
	    bs_ynode_get(r, key, &kn) : NULL;
	return v && !bs_ynode_is_null(v) ? kn : NULL;
}

/* NULL when s is "host:port" (a name or IPv4 address, or an IPv6 address
 * in brackets; port 1..65535), else why not. */
static const char *
hostport_error(const char *s)
{
	const char *colon;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return "an IPv6 address is [address]:port";
		char a6[64];
		struct in6_addr in6;
		size_t n = (size_t)(rb - s - 1);
		if (n == 0 || n >= sizeof(a6))
			return "bad IPv6 address";
		memcpy(a6, s + 1, n);
		a6[n] = '\0';
		if (inet_pton(AF_INET6, a6, &in6) != 1)
			return "bad IPv6 address";
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "no port";
		if (memchr(s, ':', (size_t)(colon - s)))
			return "an IPv6 address needs brackets: [address]:port";
		const char *host = s, *hend = colon;
		if (hend == host)
			return "empty host";
		for (const char *p = host; p < hend; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
			    *p == '_'))
				return "bad character in the host";
		if (hend - host > 253)
			return "host too long";
	}
	long long port = -1;
	const char *p = colon + 1;
	if (!*p || strspn(p, "0123456789") != strlen(p) ||
	    bs_config_parse_ll(p, strlen(p), &port) != 0 || port < 1 ||
	    port > 65535)
		return "the port must be 1 to 65535";
	return NULL;
}

/* redis.<path>: a list of lo..hi "host:port" in arr[0..n) mapped from the
 * node at `at` (a list, or one string). */
static void
check_addresses(struct ctx *c, const char *path, char **arr, size_t n,
    size_t hi, const char *example)
{
	char full[64];
	snprintf(full, sizeof(full), "redis.%s", path);
	const struct bs_ynode *at = bs_config_node(c, full, false);
	if (!at)
		return;
	if (at->type == BS_YNODE_SEQ && at->n == 0) {
		ERR(c, at, "%s: needs at least one host:port", full);
		return;
	}
	if (n > hi)
		return;             /* "too many items", reported by the walker */
	bool one = at->type == BS_YNODE_SCALAR;
	bool exact = at->type == BS_YNODE_SEQ && at->n == n;
	for (size_t i = 0; i < n; i++) {
		const struct bs_ynode *it = one || !exact ? at : at->items[i];
		const char *why = it->type == BS_YNODE_SCALAR && (one || exact) &&
		    it->len != strlen(arr[i]) ? "a NUL inside" :
		    hostport_error(arr[i]);
		if (!why)
			continue;
		char sh[64], idx[24] = "";
		if (!one)
			snprintf(idx, sizeof(idx), "[%zu]", i);
		ERR(c, it, "%s%s: expected host:port like %s, got '%s' (%s)", full,
		    idx, example, bs_config_show(sh, sizeof(sh), arr[i],
		    strlen(arr[i])), why);
	}
}

static void
check_url(struct ctx *c)
{
	const struct bs_ynode *at = bs_config_node(c, "redis.url", false);
	const char *url = c->cfg->redis.url;
	char err[512];
	struct bs_redis_addr addr;
	if (strncasecmp(url, "rediss://", 9) == 0) {
		ERR(c, at, "redis.url: rediss:// (TLS) is not supported by hiredis "
		    "0.14; run the stunnel sidecar and point redis.url at it "
		    "(README \"TLS to Redis\")");
		return;
	}
	if (bs_redis_parse_url(url, &addr, err, sizeof(err)) != 0) {
		ERR(c, at, "redis.url: %s", err);
	} else if (addr.password[0]) {
		ERR(c, at, "redis.url: secrets come from the environment: use "
		    "password_env, not a password in the url");
	}
	memset(&addr, 0, sizeof(addr));
}

static void
check_sentinel(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	const struct bs_ynode *sn = written(c, "sentinel");
	if (!sn || bs_config_node(c, "redis.sentinel", false)->type !=
	    BS_YNODE_MAP)
		return;             /* not a mapping: reported by the walker */
	const char *m = cfg->redis.sentinel.master;
	if (!m) {
		ERR(c, sn, "redis.sentinel.master: required with redis.sentinel: "
		    "the name the sentinels monitor the master under, e.g. "
		    "mymaster");
	} else {
		bool ok = *m && strlen(m) <= 128;
		for (const char *p = m; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				ok = false;
		if (!ok)
			ERR(c, bs_config_node(c, "redis.sentinel.master", false),
			    "redis.sentinel.master: must be 1 to 128 characters "
			    "without spaces");
	}
	const struct bs_ynode *an = exact(c, "redis.sentinel.addresses");
	if (!an || bs_ynode_is_null(an))
		ERR(c, sn, "redis.sentinel.addresses: required with "
		    "redis.sentinel: the sentinels' host:port (1 to %d)",
		    MAX_SENTINELS);
	else if (cfg->redis.sentinel.addresses)
		check_addresses(c, "sentinel.addresses",
		    cfg->redis.sentinel.addresses, cfg->redis.sentinel.n_addresses,
		    MAX_SENTINELS, "10.0.0.5:26379 or [2001:db8::5]:26379");
}

/* One topology: the first written of url, sentinel and cluster (in file
 * order) wins; each later one is an error at its key. */
static void
check_topology(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	static const char *const names[] = { "url", "sentinel", "cluster" };
	const struct bs_ynode *kn[3];
	for (size_t i = 0; i < 3; i++)
		kn[i] = written(c, names[i]);
	size_t first = 3;
	for (size_t i = 0; i < 3; i++)
		if (kn[i] && (first == 3 || kn[i]->line < kn[first]->line ||
		    (kn[i]->line == kn[first]->line &&
		    kn[i]->column < kn[first]->column)))
			first = i;
	for (size_t i = 0; i < 3; i++)
		if (kn[i] && i != first)
			ERR(c, kn[i], "redis.%s: redis.%s and redis.%s are exclusive "
			    "(one topology)", names[i], names[first < i ? first : i],
			    names[first < i ? i : first]);

	bool sentinel = kn[1] != NULL, cluster = kn[2] != NULL;
	if (sentinel || cluster)
		cfg->redis.url = NULL;   /* the default must not linger */
	if (!sentinel)
		memset(&cfg->redis.sentinel, 0, sizeof(cfg->redis.sentinel));
	if (!cluster) {
		cfg->redis.cluster = NULL;
		cfg->redis.n_cluster = 0;
	}
	if (cfg->redis.url)
		check_url(c);
	if (sentinel)
		check_sentinel(c);
	if (cluster && bs_config_node(c, "redis.cluster", false)->type !=
	    BS_YNODE_MAP)
		check_addresses(c, "cluster", cfg->redis.cluster,
		    cfg->redis.n_cluster, MAX_SEEDS,
		    "10.0.0.5:6379 or [2001:db8::5]:6379");

	const struct bs_ynode *dn = written(c, "db");
	const struct bs_ynode *dv = bs_config_node(c, "redis.db", false);
	if (!dn || sentinel) {
		/* default 0, or the database of sentinel mode */
	} else if (cluster) {
		if (cfg->redis.db != 0)
			ERR(c, dv, "redis.db: a cluster has only database 0");
	} else {
		ERR(c, dv, "redis.db: put the database in redis.url "
		    "(redis://host:port/N); redis.db is only for redis.sentinel");
	}
}

static void
check_wait_and_shards(struct ctx *c)
{
	const struct bs_config *cfg = c->cfg;
	int total = cfg->redis.wait_timeout_ms + cfg->redis.command_timeout_ms;
	if (cfg->redis.wait_replicas > 0 && total >= BITBUCKET_TIMEOUT_MS) {
		const struct bs_ynode *at = exact(c, "redis.wait_timeout_ms");
		WARN(c, at ? at : bs_config_node(c, "redis.wait_replicas", false),
		    "redis.wait_timeout_ms (%d) + redis.command_timeout_ms (%d) is "
		    "not below 10000 ms: Bitbucket times a delivery out after 10 s, "
		    "so the 202 could come too late and it resends",
		    cfg->redis.wait_timeout_ms, cfg->redis.command_timeout_ms);
	}
	if (cfg->queue.shards > 1 && cfg->redis.n_cluster == 0)
		WARN(c, bs_config_node(c, "queue.shards", false), "queue.shards: "
		    "%d shards without redis.cluster: shards share one server: no "
		    "gain, only more keys", cfg->queue.shards);
}

void
bs_config_check_redis(struct ctx *c)
{
	check_topology(c);
	check_wait_and_shards(c);
}
