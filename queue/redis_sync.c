/* redis_sync: the CLI's synchronous connection (see redis_client.h):
 * redis.url's node, the master the sentinels name (its ROLE checked), or
 * the master that owns the hash tag's slot in a cluster; and WAIT after a
 * write. Each step is bounded by the connect and command timeouts. */
#include "queue/redis_client.h"

#include <stdio.h>
#include <string.h>

#include "common/redis_url.h"
#include "queue/redis_proto.h"

struct tmo {
	struct timeval connect, command;
};

static redisContext *
open_node(const struct bs_redis_addr *a, const struct tmo *t, char *err,
    size_t errlen)
{
	redisContext *c = a->unix_path[0] ?
	    redisConnectUnixWithTimeout(a->unix_path, t->connect) :
	    redisConnectWithTimeout(a->host, a->port, t->connect);
	if (!c) {
		snprintf(err, errlen, "cannot allocate a redis connection");
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "cannot connect to redis at %s:%d: %s",
		    a->unix_path[0] ? a->unix_path : a->host,
		    a->unix_path[0] ? 0 : a->port, c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, t->command) != REDIS_OK) {
		snprintf(err, errlen, "cannot set redis timeout: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	return c;
}

/* AUTH with password (and user) when set; 0 or -1 with err. */
static int
auth(redisContext *c, const char *user, const char *password, char *err,
    size_t errlen)
{
	if (!password || !password[0])
		return 0;
	redisReply *rep = user && user[0] ?
	    redisCommand(c, "AUTH %s %s", user, password) :
	    redisCommand(c, "AUTH %s", password);
	int ok = rep && rep->type != REDIS_REPLY_ERROR;
	if (!ok)
		snprintf(err, errlen, "redis auth failed: %s",
		    rep ? rep->str : c->errstr);
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

/* Asks the sources (sentinels or cluster seeds) in turn for the address
 * the pool would use. Returns 0 with host/port, or -1 with err. */
static int
locate(const struct bs_redis_config *cfg, const struct tmo *t, char *host,
    size_t hostlen, int *port, char *err, size_t errlen)
{
	int sentinel = cfg->sentinel_master != NULL;
	size_t n = sentinel ? cfg->n_sentinels : cfg->n_cluster;
	const char *const *src = sentinel ? cfg->sentinels : cfg->cluster;
	int slot = bs_redis_tag_slot(cfg->hash_tag);
	char why[512] = "no address";
	for (size_t i = 0; i < n; i++) {
		struct bs_redis_addr a;
		memset(&a, 0, sizeof(a));
		if (bs_redis_hostport(src[i], a.host, sizeof(a.host), &a.port) < 0) {
			snprintf(why, sizeof(why), "bad address '%s'", src[i]);
			continue;
		}
		redisContext *c = open_node(&a, t, why, sizeof(why));
		if (!c)
			continue;
		if (auth(c, NULL, sentinel ? cfg->sentinel_password : cfg->password,
		    why, sizeof(why)) < 0) {
			redisFree(c);
			continue;
		}
		redisReply *rep = sentinel ?
		    redisCommand(c, "SENTINEL get-master-addr-by-name %s",
		    cfg->sentinel_master) : redisCommand(c, "CLUSTER SLOTS");
		int ok = rep && (sentinel ?
		    bs_redis_sentinel_addr(rep, host, hostlen, port) :
		    bs_redis_slots_owner(rep, slot, host, hostlen, port)) == 0;
		if (!ok)
			snprintf(why, sizeof(why), "%s answered %s", src[i],
			    rep && rep->type == REDIS_REPLY_ERROR ? rep->str :
			    sentinel ? "no master by that name" : "no owner of the slot");
		if (rep)
			freeReplyObject(rep);
		redisFree(c);
		if (ok)
			return 0;
	}
	snprintf(err, errlen, "cannot find the redis %s: %s",
	    sentinel ? "master through the sentinels" : "slot's owner in the cluster",
	    why);
	return -1;
}

redisContext *
bs_redis_connect_sync(const struct bs_redis_config *cfg, char *err,
    size_t errlen)
{
	struct bs_redis_addr a;
	memset(&a, 0, sizeof(a));
	int cms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
	int tms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 5000;
	struct tmo t = { { cms / 1000, (cms % 1000) * 1000 },
	    { tms / 1000, (tms % 1000) * 1000 } };
	if (cfg->sentinel_master || cfg->n_cluster > 0) {
		if (locate(cfg, &t, a.host, sizeof(a.host), &a.port, err, errlen) < 0)
			return NULL;
		a.db = cfg->sentinel_master ? cfg->db : 0;
	} else if (bs_redis_parse_url(cfg->url, &a, err, errlen) < 0) {
		return NULL;
	}
	if (cfg->password)
		snprintf(a.password, sizeof(a.password), "%s", cfg->password);
	redisContext *c = open_node(&a, &t, err, errlen);
	if (!c)
		return NULL;
	redisReply *rep = NULL;
	if (auth(c, a.user, a.password, err, errlen) < 0)
		goto fail;
	if (a.db) {
		rep = redisCommand(c, "SELECT %d", a.db);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis select %d failed: %s", a.db,
			    rep ? rep->str : c->errstr);
			goto fail;
		}
		freeReplyObject(rep);
		rep = NULL;
	}
	if (cfg->sentinel_master) {
		rep = redisCommand(c, "ROLE");
		if (!bs_redis_role_is_master(rep)) {
			snprintf(err, errlen, "redis at %s:%d is not a master (a "
			    "failover is under way?)", a.host, a.port);
			goto fail;
		}
		freeReplyObject(rep);
	}
	return c;
fail:
	if (rep)
		freeReplyObject(rep);
	redisFree(c);
	return NULL;
}

int
bs_redis_sync_wait(redisContext *c, const struct bs_redis_config *cfg,
    char *err, size_t errlen)
{
	if (cfg->wait_replicas <= 0)
		return 0;
	int tms = cfg->wait_timeout_ms > 0 ? cfg->wait_timeout_ms : 1000;
	int cms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 5000;
	/* The reply may take the whole WAIT: the socket waits that much longer. */
	struct timeval longer = { (tms + cms) / 1000, ((tms + cms) % 1000) * 1000 };
	struct timeval usual = { cms / 1000, (cms % 1000) * 1000 };
	redisSetTimeout(c, longer);
	redisReply *rep = redisCommand(c, "WAIT %d %d", cfg->wait_replicas, tms);
	redisSetTimeout(c, usual);
	if (!rep || rep->type != REDIS_REPLY_INTEGER ||
	    rep->integer < cfg->wait_replicas) {
		if (rep && rep->type == REDIS_REPLY_INTEGER)
			snprintf(err, errlen, "%s (%lld of %d replicas)",
			    bs_redis_err_replicas, rep->integer, cfg->wait_replicas);
		else
			snprintf(err, errlen, "redis WAIT failed: %s",
			    rep && rep->str ? rep->str : c->errstr);
		if (rep)
			freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}
