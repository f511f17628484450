/* ingest: the HTTP side: POST /hooks/bitbucket, and /healthz, /readyz,
 * /metrics (ingest/ops.h) unless metrics_listen serves them elsewhere.
 *
 * Served by http_server (our HTTP/1.1 on bufferevents, every http.* limit
 * enforced per connection; see http_server.h). A delivery is admitted by
 * its source (bitbucket.allow_cidrs) from the head, judged by intake, then
 * enqueued; the reply is sent from the enqueue callback, so 202 means
 * Redis holds the job, and 503 means it does not (Bitbucket resends on
 * 5xx). */
#ifndef BS_INGEST_H
#define BS_INGEST_H

#include <stddef.h>

#include <event2/event.h>

#include "common/metrics.h"
#include "config/live.h"
#include "queue/keys.h"
#include "queue/redis_client.h"
#include "queue/shard.h"

struct bs_ingest;
struct bs_ops;

/* What the process shares with the ingest half, given at creation. */
struct bs_ingest_env {
	struct event_base *base;
	const struct bs_live *live;     /* config and scanner, read per request */
	/* The shards (n_shards >= 1 of them, outliving the ingest): a
	 * delivery is queued in the shard of its repository (queue/shard.h),
	 * one without a repository in shard 0, and /readyz asks whether every
	 * shard's pool is up. */
	const struct bs_shard *shards;
	int n_shards;
	struct bs_metrics *metrics;     /* outlives the ingest */
	/* GET/HEAD /metrics, /healthz, /readyz go to ops (ingest/ops.h;
	 * freed before the ingest); NULL: they are 404 here (metrics_listen
	 * serves them). */
	struct bs_ops *ops;
};

/* Binds live->cfg's listen address on env->base (env is copied, the
 * pointers in it are not). Returns NULL with a reason in err. */
struct bs_ingest *bs_ingest_new(const struct bs_ingest_env *env, char *err,
    size_t errlen);
int bs_ingest_port(const struct bs_ingest *in);
/* Stops accepting new connections; requests already read still finish.
 * (/readyz says "shutting down": bs_ops_drain.) */
void bs_ingest_stop_accepting(struct bs_ingest *in);
/* Deliveries waiting for Redis to answer. */
size_t bs_ingest_pending(const struct bs_ingest *in);
/* Frees the server, its connections and their tracking. NULL is a no-op.
 * Before event_base_free. */
void bs_ingest_free(struct bs_ingest *in);

#endif
