/* context: what the worker's parts (consumer, task, outcome, pr_links) share,
 * private to worker/. worker.c fills it from the bs_worker_env it is
 * given and owns the connections marked so below.
 *
 * Shutdown is told through these pointers: `http` is cleared before the
 * Sleuth client is freed and `redis` before the process frees the shared
 * connection, so a callback that runs during those frees sees the client
 * gone and does not call into it (bs_worker_close). Loop thread only. */
#ifndef BS_WORKER_CONTEXT_H
#define BS_WORKER_CONTEXT_H

#include <event2/event.h>

#include "common/metrics.h"
#include "config/live.h"
#include "deploy/http_client.h"
#include "queue/keys.h"
#include "queue/lanes.h"
#include "queue/redis_client.h"

struct bs_wctx {
	struct event_base *base;
	const struct bs_live *live;   /* live->cfg: the config in force */
	struct bs_redis *redis;       /* shared, short commands; NULL once closed */
	struct bs_redis *redis_block; /* ours, the blocking XREADGROUP; NULL once closed */
	int block_back;             /* redis_block is up again (after a drop or a
	                             * failover): the consumer reads what is
	                             * pending under its name again */
	struct bs_http *http;         /* ours, the Sleuth client; NULL once closed */
	const struct bs_keys *keys;
	struct bs_metrics *metrics;
	struct bb_req *bb_reqs;       /* bb_client.c: requests not yet ended */
	struct bf *backfills;         /* backfill.c: tasks being prepared */
	/* queue.shards: one context per shard (worker.c), all alike but for
	 * redis, redis_block and keys (the shard's) and the lists above;
	 * `all` is the array of them (n_shards), `shard` this one's index.
	 * Installation-wide state (the API token bucket) is shard 0's. */
	struct bs_wctx *all;
	int shard, n_shards;
	struct bs_lanes_sweep sweep;  /* this shard's last lane sweep */
	int swept;                    /* sweep holds one */
};

/* Shard 0's context: where installation-wide state lives. */
static inline struct bs_wctx *
bs_wctx_shard0(struct bs_wctx *ctx)
{
	return ctx->all ? &ctx->all[0] : ctx;
}

#endif
