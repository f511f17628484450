/* worker: the consumer half, its connections and its shutdown order (see
 * worker.h): one context and one consumer per shard, sharing the loop,
 * the live config, the metrics and the Sleuth HTTP client. */
#include "worker/worker.h"
#include "worker/backfill.h"
#include "worker/path_filter.h"
#include "worker/bb_client.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "worker/consumer.h"
#include "worker/context.h"

struct bs_worker {
	struct bs_wctx *ctx;            /* n of them (ctx[i].all == ctx) */
	struct bs_consumer **consumer;  /* n */
	struct bs_http *http;           /* the one Sleuth client they share */
	int n;
	int closed;
	int stopped;                    /* bs_worker_stop ran */
};

static void
free_blocks(struct bs_worker *w)
{
	for (int i = 0; i < w->n; i++) {
		struct bs_redis *r = w->ctx[i].redis_block;
		w->ctx[i].redis_block = NULL;
		bs_redis_free(r);
	}
}

/* The blocking pool's connections are up again: a failover (or a drop)
 * may have taken back this worker's newest steps, whether or not a read
 * was out to notice (consumer.c, recover). */
static void
on_block_state(int up, void *arg)
{
	struct bs_wctx *ctx = arg;
	if (up)
		ctx->block_back = 1;
}

struct bs_worker *
bs_worker_new(const struct bs_worker_env *env, char *err, size_t errlen)
{
	struct bs_worker *w = xcalloc(1, sizeof(*w));
	w->n = env->n_shards;
	w->ctx = xcalloc((size_t)w->n, sizeof(*w->ctx));
	w->consumer = xcalloc((size_t)w->n, sizeof(*w->consumer));
	for (int i = 0; i < w->n; i++) {
		struct bs_wctx *ctx = &w->ctx[i];
		ctx->base = env->base;
		ctx->live = env->live;
		ctx->redis = env->shards[i].redis;
		ctx->keys = env->shards[i].keys;
		ctx->metrics = env->metrics;
		ctx->all = w->ctx;
		ctx->shard = i;
		ctx->n_shards = w->n;
		/* The blocking read talks to the shard's own master. */
		struct bs_redis_config rc = *env->redis_config;
		rc.hash_tag = ctx->keys->prefix;
		ctx->redis_block = bs_redis_new(env->base, &rc, on_block_state, ctx,
		    err, errlen);
		if (!ctx->redis_block) {
			free_blocks(w);
			goto fail;
		}
	}
	/* Every configured deployment has its deploys_total series from the
	 * start (one a reload adds gets them at its first deploy). */
	for (size_t i = 0; i < env->live->n_deps; i++)
		bs_metrics_deployment(env->metrics, env->live->deps[i].deployment);
	w->http = bs_http_new(env->base);
	if (!w->http) {
		snprintf(err, errlen, "cannot create the Sleuth HTTP client");
		free_blocks(w);
		goto fail;
	}
	for (int i = 0; i < w->n; i++)
		w->ctx[i].http = w->http;
	for (int i = 0; i < w->n; i++)
		w->consumer[i] = bs_consumer_new(&w->ctx[i], env->name);
	return w;
fail:
	free(w->consumer);
	free(w->ctx);
	free(w);
	return NULL;
}

void
bs_worker_stop(struct bs_worker *w)
{
	w->stopped = 1;
	for (int i = 0; i < w->n; i++)
		bs_consumer_stop(w->consumer[i]);
}

int
bs_worker_busy(const struct bs_worker *w)
{
	int busy = 0;
	for (int i = 0; i < w->n; i++)
		busy += bs_consumer_busy(w->consumer[i]);
	return busy;
}

int
bs_worker_consuming(const struct bs_worker *w)
{
	if (w->closed || w->stopped || w->ctx[0].live->discovery_missing)
		return 0;
	for (int i = 0; i < w->n; i++)
		if (!w->ctx[i].redis_block || !bs_redis_is_up(w->ctx[i].redis_block))
			return 0;
	return 1;
}

void
bs_worker_close(struct bs_worker *w)
{
	if (w->closed)
		return;
	w->closed = 1;
	bs_worker_stop(w);
	/* Each pointer is cleared before its free, so callbacks that run
	 * during the free see the client gone and do not call back into it.
	 * A failed Sleuth call's callback still records its outcome through
	 * its shard's shared `redis`, which is why those go last (every
	 * shard's together: a call of one shard may use shard 0's, the API
	 * budget). Runs waiting on a timer (a finish to send again) end last,
	 * without Redis: their entries stay pending for the next worker. */
	for (int i = 0; i < w->n; i++)
		w->ctx[i].http = NULL;
	struct bs_http *h = w->http;
	w->http = NULL;
	bs_http_free(h);
	free_blocks(w);
	for (int i = 0; i < w->n; i++)
		w->ctx[i].redis = NULL;
	/* Backfills waiting on a timer end now (their tasks without a call),
	 * before the runs waiting to send their finish give up. */
	for (int i = 0; i < w->n; i++) {
		bs_bb_cancel_waiting(&w->ctx[i]);
		path_filter_cancel_waiting(&w->ctx[i]);
		backfill_cancel_waiting(&w->ctx[i]);
	}
	for (int i = 0; i < w->n; i++)
		bs_consumer_close(w->consumer[i]);
}

void
bs_worker_free(struct bs_worker *w)
{
	if (!w)
		return;
	bs_worker_close(w);
	for (int i = 0; i < w->n; i++)
		bs_consumer_free(w->consumer[i]);
	free(w->consumer);
	free(w->ctx);
	free(w);
}
