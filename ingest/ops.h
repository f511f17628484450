/* ops: GET/HEAD /metrics, /healthz and /readyz, for every mode.
 *
 * One handler, served in one of two places (cmd/process.c chooses):
 *   - with metrics_listen set, on its own listener there (http_server's,
 *     with the ops port's small caps below), in run, serve and work alike;
 *     the ingest port then answers 404 for these paths;
 *   - without, on the ingest port (ingest.c hands the requests over), in
 *     run and serve; work serves nothing.
 *
 *   /healthz  200 {"status":"ok"} while the process runs;
 *   /readyz   200 {"status":"ready"} while every shard's Redis pool is up,
 *             the process is not draining and env->not_ready (the worker
 *             consuming, cmd/) says nothing; else 503
 *             {"error":"not_ready","reason":...};
 *   /metrics  the registry (common/metrics.h), then the queue-depth gauges
 *             (queue/depth.h: answered once they are fresh, or after at
 *             most min(redis.command_timeout_ms, 2000) ms).
 *
 * The ops port's caps: BS_OPS_MAX_CONNECTIONS connections, bodies of at
 * most BS_OPS_MAX_BODY bytes, http.max_headers, http.timeout_ms and
 * http.idle_timeout_ms as at start. Its HTTP-layer counts (refusals,
 * connections) are kept apart from the ingest port's, so that
 * bitsleuth_http_* describe the ingest port alone. Loop thread only. */
#ifndef BS_OPS_H
#define BS_OPS_H

#include <stddef.h>

#include <event2/event.h>

#include "common/metrics.h"
#include "config/live.h"
#include "queue/shard.h"

#define BS_OPS_MAX_CONNECTIONS 16
#define BS_OPS_MAX_BODY 4096

struct bs_ops;
struct bs_http_req;

/* NULL when ready, else why not (a constant string). */
typedef const char *bs_ops_not_ready(void *arg);

struct bs_ops_env {
	struct event_base *base;
	const struct bs_live *live;
	/* Every shard (n_shards >= 1), outliving the ops or their pools freed
	 * first: /readyz asks their pools, the depth gauges read them. */
	const struct bs_shard *shards;
	int n_shards;
	struct bs_metrics *metrics;     /* rendered on /metrics; outlives us */
	bs_ops_not_ready *not_ready;    /* may be NULL */
	void *not_ready_arg;
	/* 1: listen on live->cfg's metrics_listen (which must be set), and
	 * log "metrics on http://HOST:PORT (/metrics, /healthz, /readyz)". */
	int listen;
};

/* env is copied (its pointers are not). NULL with the reason in err
 * (listen: the address could not be bound). */
struct bs_ops *bs_ops_new(const struct bs_ops_env *env, char *err,
    size_t errlen);
/* Whether path[0..len) is one of the three paths. */
int bs_ops_path(const char *path, size_t len);
/* Answers a GET or HEAD of one of the three paths (the caller checked
 * both); maybe later, exactly once (http_server.h's rules). For the
 * ingest port's handler. */
void bs_ops_serve(struct bs_ops *o, struct bs_http_req *req);
/* Draining: /readyz answers 503 "shutting down" from now on. */
void bs_ops_drain(struct bs_ops *o);
/* Closes the own listener (the end of a drain); requests already read
 * are still answered. */
void bs_ops_stop_accepting(struct bs_ops *o);
/* Answers every /metrics still waiting, then frees the listener and its
 * connections. Before the server whose requests it may answer (the
 * ingest's) is freed, and before event_base_free. NULL is a no-op. */
void bs_ops_free(struct bs_ops *o);

#endif
