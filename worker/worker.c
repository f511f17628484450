/* worker: the consumer half, its connections and its shutdown order (see
 * worker.h). */
#include "worker/worker.h"
#include "worker/backfill.h"
#include "worker/bb_client.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "worker/consumer.h"
#include "worker/context.h"

struct bs_worker {
	struct bs_wctx ctx;
	struct bs_consumer *consumer;
	int closed;
};

struct bs_worker *
bs_worker_new(const struct bs_worker_env *env, char *err, size_t errlen)
{
	struct bs_worker *w = xcalloc(1, sizeof(*w));
	w->ctx.base = env->base;
	w->ctx.live = env->live;
	w->ctx.redis = env->redis;
	w->ctx.keys = env->keys;
	w->ctx.metrics = env->metrics;
	w->ctx.redis_block = bs_redis_new(env->base, env->redis_config, NULL,
	    NULL, err, errlen);
	w->ctx.http = w->ctx.redis_block ? bs_http_new(env->base) : NULL;
	if (!w->ctx.http) {
		if (w->ctx.redis_block)
			snprintf(err, errlen, "cannot create the Sleuth HTTP client");
		bs_redis_free(w->ctx.redis_block);
		free(w);
		return NULL;
	}
	w->consumer = bs_consumer_new(&w->ctx, env->name);
	return w;
}

void
bs_worker_stop(struct bs_worker *w)
{
	bs_consumer_stop(w->consumer);
}

int
bs_worker_busy(const struct bs_worker *w)
{
	return bs_consumer_busy(w->consumer);
}

void
bs_worker_close(struct bs_worker *w)
{
	if (w->closed)
		return;
	w->closed = 1;
	bs_consumer_stop(w->consumer);
	/* Each pointer is cleared before its free, so callbacks that run
	 * during the free see the client gone and do not call back into it.
	 * A failed Sleuth call's callback still records its outcome through
	 * the shared `redis`, which is why that one goes last. Runs waiting
	 * on a timer (a finish to send again) end last, without Redis: their
	 * entries stay pending for the next worker. */
	struct bs_http *h = w->ctx.http;
	w->ctx.http = NULL;
	bs_http_free(h);
	struct bs_redis *r = w->ctx.redis_block;
	w->ctx.redis_block = NULL;
	bs_redis_free(r);
	w->ctx.redis = NULL;
	/* Backfills waiting on a timer end now (their tasks without a call),
	 * before the runs waiting to send their finish give up. */
	bs_bb_cancel_waiting(&w->ctx);
	backfill_cancel_waiting(&w->ctx);
	bs_consumer_close(w->consumer);
}

void
bs_worker_free(struct bs_worker *w)
{
	if (!w)
		return;
	bs_worker_close(w);
	bs_consumer_free(w->consumer);
	free(w);
}
