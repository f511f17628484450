/* worker: the consumer half of bitsleuth: jobs from the Redis stream ->
 * the configured deployments they hit -> register_deploy on Sleuth, with
 * retries, dead letters, per-target push order and PR links.
 *
 * The process (cmd/) creates it with what it shares with the ingest half,
 * explicitly: the loop, the live config, the Redis connection for short
 * commands, the key names and the metrics registry. The worker opens what
 * only it uses: a second Redis connection for its blocking reads (so a
 * blocked read never delays an enqueue) and the Sleuth HTTP client.
 * Loop thread only. */
#ifndef BS_WORKER_H
#define BS_WORKER_H

#include <stddef.h>

#include <event2/event.h>

#include "common/metrics.h"
#include "config/live.h"
#include "queue/keys.h"
#include "queue/redis_client.h"
#include "queue/shard.h"

struct bs_worker;

struct bs_worker_env {
	struct event_base *base;
	const struct bs_live *live;      /* read for every job */
	const struct bs_redis_config *redis_config; /* for the blocking connection */
	struct bs_metrics *metrics;      /* outlives the worker */
	const char *name;                /* consumer name in the group (host-pid) */
	/* The shards (n_shards >= 1, outliving the worker and, their pools,
	 * bs_worker_close): one consumer per shard, each with its own blocking
	 * connection (to the shard's master: redis_config with hash_tag = the
	 * shard's prefix), its shard's pool and keys.
	 * worker.concurrency is split between them (worker/README.md). */
	const struct bs_shard *shards;
	int n_shards;
};

/* Opens the worker's own connections and starts consuming on env->base.
 * env is copied (the pointers in it are not). Returns NULL with the reason
 * in err. */
struct bs_worker *bs_worker_new(const struct bs_worker_env *env, char *err,
    size_t errlen);

/* Stops taking new entries; those in flight finish. Idempotent. */
void bs_worker_stop(struct bs_worker *w);

/* Entries taken and not yet finished (for the drain). */
int bs_worker_busy(const struct bs_worker *w);

/* Whether it consumes: every shard's blocking connection is up (its
 * XREADGROUP goes out at once) and it was not stopped. For readiness
 * (cmd/process.c: /readyz, systemd's READY=1). */
int bs_worker_consuming(const struct bs_worker *w);

/* Call once the loop has stopped, before the shared Redis connections are
 * freed (every shard's). Every Sleuth call still in flight ends (its callback runs once,
 * with "shutdown", and records its outcome through the shared connection),
 * every ordering verdict still waiting is delivered, the worker's own
 * connections are freed, and from then on the worker issues no command on
 * the shared connection: the callbacks its free flushes finish without
 * further Redis work. Idempotent. */
void bs_worker_close(struct bs_worker *w);

/* Frees the worker (bs_worker_close first if it was not called). After
 * the shared Redis connection was freed. NULL is a no-op. */
void bs_worker_free(struct bs_worker *w);

#endif
