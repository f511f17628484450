/* discovery: the code deployments of the projects with discover: true,
 * learned from Sleuth's GraphQL API and kept in force in the live config
 * (config/live.h: bs_live_learn). Issue 16.
 *
 * One agent per process that matches jobs (serve, work, run). At start it
 * takes every project's cached answer from Redis (so a restart, a second
 * work process or a Sleuth outage use the same mapping), then, when it
 * may ask Sleuth (work, run), asks Sleuth for each project: at once, then
 * every sleuth.discover_every, and on bs_discovery_refresh (SIGHUP). A
 * process that may not ask (serve) reads the cache on the same schedule.
 *
 * Cache: {p}:discover:<org>/<project> (shard 0's keys), a hash:
 *   answer       Sleuth's last good answer, as sent (parsers/sleuth_graphql.h)
 *   fetched_ms   when it was fetched (wall clock)
 *   failures     refreshes failed since (HINCRBY), reset to 0 by a good one
 *   last_error   why the last refresh failed, one line
 *   last_error_ms
 * A failed refresh never drops a mapping: the one in force stays, the
 * failure is counted (bitsleuth_discovery_refreshes_total{outcome="failed"},
 * the cache's `failures`, shown by `bitsleuth stats`) and logged. While a
 * project has no mapping at all, refreshes are tried every 10 s (doubling
 * up to discover_every). Every async callback runs exactly once. Loop
 * thread only. */
#ifndef BS_WORKER_DISCOVERY_H
#define BS_WORKER_DISCOVERY_H

#include <stddef.h>

#include <event2/event.h>

#include "common/arena.h"
#include "common/metrics.h"
#include "config/config.h"
#include "config/live.h"
#include "parsers/sleuth_graphql.h"
#include "queue/keys.h"
#include "queue/redis_client.h"

struct bs_discovery;

struct bs_discovery_env {
	struct event_base *base;
	struct bs_live *live;            /* learned mappings go in here */
	struct bs_redis *redis;          /* shard 0's pool, for the cache */
	const struct bs_keys *keys;      /* shard 0's keys */
	struct bs_metrics *metrics;
	int ask_sleuth;                  /* 0: the cache only (serve) */
};

/* Starts the agent (a no-op agent when live's config has no discover
 * project: it still answers bs_discovery_refresh). env is copied. */
struct bs_discovery *bs_discovery_new(const struct bs_discovery_env *env);

/* Refreshes every project now (SIGHUP, after the reload: projects added
 * by the reload are learned too). */
void bs_discovery_refresh(struct bs_discovery *d);

/* Stops its timers and requests (callbacks run, nothing is learned after
 * this) and frees it. Before the Redis pool is freed. NULL is a no-op. */
void bs_discovery_free(struct bs_discovery *d);

/* One question to Sleuth for project p under cfg, outside a process
 * (check --discover): runs its own loop until the answer, at most
 * sleuth.timeout_ms. On success returns 0 with the answer in *out
 * (strings in a) and the raw body in *body (in a); else -1 with the reason
 * in err ("HTTP 401: the token was refused", "Sleuth refused: ...", "no
 * such project", "cannot connect: ..."). */
int bs_discovery_ask_once(const struct bs_config *cfg,
    const struct bs_project *p, struct bs_arena *a, struct bs_discovered *out,
    char *err, size_t errlen);

#endif
