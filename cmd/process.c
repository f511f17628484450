/* process: process set-up, signals and the draining shutdown (see
 * process.h).
 *
 * SIGTERM/SIGINT: stop accepting connections and taking jobs, let the
 * deliveries waiting for Redis get their answer and the Sleuth calls in
 * flight finish and be recorded, then leave the loop. Jobs that did not get
 * that far stay pending in the stream for the next worker. A second signal,
 * or the drain deadline, leaves at once (still safe: nothing acknowledged
 * lives only in memory). SIGHUP reloads the configuration file (see
 * config/live.h for what changes live): deployments, issue patterns,
 * dry-run switches, retry policy, limits and the webhook secret apply
 * without a restart; the listen address, Redis URL and prefix do not.
 *
 * /metrics, /healthz and /readyz (ingest/ops.h) are served on
 * metrics_listen by every mode when it is set, else on the ingest port
 * (run, serve). Under systemd (Type=notify, common/sd_notify.h) the process
 * says READY=1 once it listens, every shard's pool is up and, with a
 * worker, the worker consumes; STOPPING=1 when it starts draining; STATUS=
 * what it waits for, and whether Redis is up. */
#include "cmd/process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmd/cmd_common.h"
#include "cmd/layout.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/sd_notify.h"
#include "common/timer.h"
#include "common/xalloc.h"
#include "config/live.h"
#include "ingest/ingest.h"
#include "ingest/ops.h"
#include "queue/keys.h"
#include "queue/redis_client.h"
#include "queue/shard.h"
#include "worker/discovery.h"
#include "worker/worker.h"

#define DRAIN_POLL_MS 50
#define READY_POLL_MS 100         /* until READY=1 is sent */

/* queue.shards: every shard has its keys; in Redis Cluster each also has
 * its own pools (they talk to the master of its hash tag), otherwise the
 * shards share the process' pools (one server). Index 0 is the unsharded
 * layout when there is one shard. */
struct process {
	enum bs_mode mode;
	struct event_base *base;
	struct bs_live *live;
	int n_shards;
	struct bs_keys *keys;         /* n_shards */
	struct bs_metrics metrics;
	/* The process' pools per shard: ingest's, or work's (redis), and in
	 * run the worker's own (redis_worker), so that its steps never queue
	 * behind ingest's enqueues (and vice versa). Only [0] outside a
	 * cluster. */
	struct bs_redis *redis[BS_SHARDS_MAX];
	struct bs_redis *redis_worker[BS_SHARDS_MAX];
	int n_pools;                  /* of redis[] (and of redis_worker[]) */
	int pools_up;                 /* of redis[] */
	struct bs_shard ingest_shards[BS_SHARDS_MAX];
	struct bs_shard worker_shards[BS_SHARDS_MAX];
	struct bs_ingest *ingest;     /* NULL in work mode */
	struct bs_worker *worker;     /* NULL in serve mode */
	/* The discover: true projects' mappings (issue 16): asked of Sleuth
	 * by work and run, read from the Redis cache by serve. */
	struct bs_discovery *discovery;
	/* /metrics, /healthz, /readyz: on metrics_listen, or on the ingest
	 * port; NULL in work mode without metrics_listen. */
	struct bs_ops *ops;
	struct event *sigterm, *sigint, *sighup, *drain_timer;
	struct event *ready_timer;    /* polls readiness until READY=1 */
	int ready_sent;               /* READY=1 went to systemd */
	const char *status_sent;      /* the last STATUS= (a constant) */
	long long drain_deadline_ms;
	int stopping;
	int layout_pending;          /* the queue.shards check waits for Redis */
	int exit_status;             /* 1 after a late refusal */
};

unsigned
bs_mode_config_uses(enum bs_mode mode)
{
	switch (mode) {
	case BS_MODE_SERVE: return BS_USES_INGEST | BS_USES_REDIS;
	case BS_MODE_WORK:  return BS_USES_WORKER | BS_USES_REDIS;
	case BS_MODE_RUN:   break;
	}
	return BS_USES_ALL;
}

/* One sd_notify datagram; a failure is logged once (systemd is not
 * worth more: the unit times out and says why). */
static void
notify(const char *state)
{
	static int warned;
	char err[256];
	if (bs_sd_notify(state, err, sizeof(err)) < 0 && !warned) {
		warned = 1;
		log_warn("%s", err);
	}
}

/* Why the process is not ready (/readyz adds draining), or NULL: the
 * ingest listens from the start, so it is every shard's pool and, with a
 * worker, the worker consuming. */
static const char *
not_ready(void *arg)
{
	const struct process *p = arg;
	if (p->pools_up != p->n_pools)
		return "redis is not reachable";
	if (p->worker && p->live->discovery_missing)
		return "a discover project has no mapping from Sleuth yet";
	if (p->worker && !bs_worker_consuming(p->worker))
		return "the worker is not consuming yet";
	return NULL;
}

/* STATUS= when it changed, and READY=1 the first time nothing is
 * missing. Called on Redis state changes and by ready_timer. */
static void
ready_check(struct process *p)
{
	if (p->stopping)
		return;
	const char *why = not_ready(p);
	const char *status = why ? why : "ready";
	if (!p->ready_sent && !why) {
		p->ready_sent = 1;
		p->status_sent = status;
		notify(p->mode == BS_MODE_WORK ? "READY=1\nSTATUS=ready: consuming" :
		    "READY=1\nSTATUS=ready: accepting deliveries");
		return;
	}
	if (status == p->status_sent)
		return;
	p->status_sent = status;
	char line[128];
	snprintf(line, sizeof(line), "STATUS=%s", status);
	notify(line);
}

static void
on_ready_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct process *p = arg;
	ready_check(p);
	if (!p->ready_sent && !p->stopping)
		bs_timer_arm_ms(p->ready_timer, READY_POLL_MS);
}

static void
on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct process *p = arg;
	size_t waiting = 0;
	if (p->ingest)
		waiting += bs_ingest_pending(p->ingest);
	if (p->worker)
		waiting += (size_t)bs_worker_busy(p->worker);
	if (waiting == 0 || bs_now_ms() >= p->drain_deadline_ms) {
		if (waiting)
			log_warn("drain deadline reached with %zu operations unfinished; "
			    "unacknowledged jobs stay pending for the next worker", waiting);
		/* Last: /readyz said "shutting down" for the whole drain. */
		if (p->ops)
			bs_ops_stop_accepting(p->ops);
		event_base_loopbreak(p->base);
		return;
	}
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	event_add(p->drain_timer, &tv);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct process *p = arg;
	if (p->stopping) {
		log_warn("second signal: leaving now");
		event_base_loopbreak(p->base);
		return;
	}
	log_info("signal %d: draining (no new deliveries or jobs)", (int)sig);
	p->stopping = 1;
	notify("STOPPING=1\nSTATUS=draining");
	if (p->ops)
		bs_ops_drain(p->ops);
	if (p->ingest)
		bs_ingest_stop_accepting(p->ingest);
	if (p->worker)
		bs_worker_stop(p->worker);
	const struct bs_config *cfg = p->live->cfg;
	p->drain_deadline_ms = bs_now_ms() + cfg->sleuth.timeout_ms +
	    cfg->backfill.max_wait_ms + cfg->redis.command_timeout_ms +
	    (cfg->redis.wait_replicas > 0 ? cfg->redis.wait_timeout_ms : 0) + 1000;
	on_drain_check(-1, 0, p);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct process *p = arg;
	if (p->ready_sent && !p->stopping)
		notify("RELOADING=1\nSTATUS=reloading the configuration");
	bs_live_reload(p->live);
	bs_discovery_refresh(p->discovery);
	if (p->ready_sent && !p->stopping) {
		notify("READY=1");
		p->status_sent = NULL;      /* say the status again */
		ready_check(p);
	}
}

/* The queue.shards check that could not run at start: when a pool first
 * connects (before it sends anything: on_state runs in its handshake).
 * Refused: the process drains and exits 1, as a refusal at start would. */
static void
layout_check_late(struct process *p)
{
	char err[512];
	int lc = bs_layout_check(p->live->cfg, err, sizeof(err));
	if (lc == -2)
		return;             /* the layout key's master is still away */
	p->layout_pending = 0;
	if (lc == 0)
		return;
	log_error("%s", err);
	p->exit_status = 1;
	on_stop_signal(SIGTERM, 0, p);
}

/* Redis is up while every pool of redis[] is (each shard's master). */
static void
on_redis_state(int up, void *arg)
{
	struct process *p = arg;
	if (up && p->layout_pending)
		layout_check_late(p);
	int was = p->pools_up == p->n_pools;
	p->pools_up += up ? 1 : -1;
	int is = p->pools_up == p->n_pools;
	p->metrics.redis_up = is;
	if (is && !was)
		log_info("redis is up");
	else if (was && !is)
		log_warn("redis is down; deliveries are answered 503 until it is back");
	if (p->ready_timer)
		ready_check(p);
}

/* The consumer's name in the group: $BITSLEUTH_CONSUMER, else host-pid. */
static void
consumer_name(char *out, size_t outlen)
{
	const char *env = getenv("BITSLEUTH_CONSUMER");
	if (env && *env) {
		snprintf(out, outlen, "%s", env);
		return;
	}
	char host[64] = "host";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outlen, "%s-%ld", host, (long)getpid());
}

/* Creates the halves of p->mode; 0, or -1 after logging why. */
static int
start_halves(struct process *p, const struct bs_redis_config *rc)
{
	char err[256];
	p->metrics.lanes = -1;      /* no lane gauges until a worker sweeps */
	p->metrics.api_budget = -1; /* nor an API budget before a request */
	p->metrics.redis_replica_lag_ms = -1;
	p->metrics.discovered_targets = -1;
	p->metrics.discovery_oldest_ms = -1;
	int own = p->live->cfg->metrics_listen_host != NULL;
	if (own || p->mode != BS_MODE_WORK) {
		struct bs_ops_env env = {
			.base = p->base, .live = p->live, .metrics = &p->metrics,
			.shards = p->ingest_shards, .n_shards = p->n_shards,
			.not_ready = not_ready, .not_ready_arg = p,
			.listen = own,
		};
		p->ops = bs_ops_new(&env, err, sizeof(err));
		if (!p->ops) {
			log_error("%s", err);
			return -1;
		}
	}
	if (p->mode != BS_MODE_WORK) {
		struct bs_ingest_env env = {
			.base = p->base, .live = p->live, .metrics = &p->metrics,
			.shards = p->ingest_shards, .n_shards = p->n_shards,
			.ops = own ? NULL : p->ops,
		};
		p->ingest = bs_ingest_new(&env, err, sizeof(err));
		if (!p->ingest) {
			log_error("%s", err);
			return -1;
		}
	}
	/* Before the halves that match jobs: its cached mappings are asked
	 * for first. Shard 0's pool and keys hold the cache. */
	struct bs_discovery_env denv = {
		.base = p->base, .live = p->live,
		.redis = p->redis_worker[0] ? p->redis_worker[0] : p->redis[0],
		.keys = &p->keys[0], .metrics = &p->metrics,
		.ask_sleuth = p->mode != BS_MODE_SERVE,
	};
	p->discovery = bs_discovery_new(&denv);
	if (p->mode != BS_MODE_SERVE) {
		char name[128];
		consumer_name(name, sizeof(name));
		struct bs_worker_env env = {
			.base = p->base, .live = p->live,
			.redis_config = rc, .metrics = &p->metrics,
			.name = name,
			.shards = p->worker_shards, .n_shards = p->n_shards,
		};
		p->worker = bs_worker_new(&env, err, sizeof(err));
		if (!p->worker) {
			log_error("cannot set up the worker: %s", err);
			return -1;
		}
	}
	return 0;
}

/* The pools per shard (see struct process); 0, or -1 after logging. */
static int
open_pools(struct process *p, const struct bs_config *cfg,
    struct bs_redis_config *rc)
{
	char err[256];
	p->n_pools = cfg->redis.n_cluster > 0 ? p->n_shards : 1;
	rc->connections = cfg->redis.connections;
	for (int i = 0; i < p->n_pools; i++) {
		rc->hash_tag = p->keys[i].prefix;
		p->redis[i] = bs_redis_new(p->base, rc, on_redis_state, p, err,
		    sizeof(err));
		if (p->redis[i] && p->mode == BS_MODE_RUN)
			p->redis_worker[i] = bs_redis_new(p->base, rc, NULL, NULL, err,
			    sizeof(err));
		if (!p->redis[i] || (p->mode == BS_MODE_RUN && !p->redis_worker[i])) {
			log_error("%s", err);
			return -1;
		}
	}
	for (int i = 0; i < p->n_shards; i++) {
		int j = p->n_pools > 1 ? i : 0;
		p->ingest_shards[i].redis = p->redis[j];
		p->ingest_shards[i].keys = &p->keys[i];
		p->worker_shards[i].redis = p->redis_worker[j] ? p->redis_worker[j] :
		    p->redis[j];
		p->worker_shards[i].keys = &p->keys[i];
	}
	return 0;
}

/* A lane (org/deployment/environment) lives in one shard only if every
 * deployment of that name watches the same repository: warn otherwise. */
static void
warn_split_lanes(const struct bs_config *cfg, int n_shards)
{
	if (n_shards <= 1)
		return;
	for (size_t i = 0; i < cfg->n_deployments; i++) {
		const struct bs_deployment *a = &cfg->deployments[i];
		for (size_t j = i + 1; j < cfg->n_deployments; j++) {
			const struct bs_deployment *b = &cfg->deployments[j];
			if (!a->org || !b->org || !a->deployment || !b->deployment ||
			    !a->environment || !b->environment || !a->repository ||
			    !b->repository || strcmp(a->org, b->org) != 0 ||
			    strcmp(a->deployment, b->deployment) != 0 ||
			    strcmp(a->environment, b->environment) != 0)
				continue;
			if (bs_shard_of(a->repository, n_shards) !=
			    bs_shard_of(b->repository, n_shards))
				log_warn("deployment %s/%s/%s watches %s and %s, which "
				    "are in different queue shards: its pushes are not "
				    "kept in order across them", a->org, a->deployment,
				    a->environment, a->repository, b->repository);
		}
	}
}

static int
add_signals(struct process *p)
{
	p->sigterm = evsignal_new(p->base, SIGTERM, on_stop_signal, p);
	p->sigint = evsignal_new(p->base, SIGINT, on_stop_signal, p);
	p->sighup = evsignal_new(p->base, SIGHUP, on_hup, p);
	p->drain_timer = evtimer_new(p->base, on_drain_check, p);
	if (!p->sigterm || !p->sigint || !p->sighup || !p->drain_timer) {
		log_error("cannot install signal handlers");
		return -1;
	}
	event_add(p->sigterm, NULL);
	event_add(p->sigint, NULL);
	event_add(p->sighup, NULL);
	return 0;
}

static void
event_free_opt(struct event *ev)
{
	if (ev)
		event_free(ev);
}

/* Order: the ops first (the scrapes still waiting are answered while
 * the pools they ask about are alive, and before the ingest that may hold
 * their requests), then the worker's clients (bs_worker_close: its Sleuth
 * calls still record their outcomes through its pool), then the pools,
 * whose flushed callbacks answer the deliveries still waiting and find the
 * worker closed, then the halves themselves. */
static void
teardown(struct process *p)
{
	bs_ops_free(p->ops);
	p->ops = NULL;
	if (p->worker)
		bs_worker_close(p->worker);
	/* Freed once the pools below deliver the replies it waits for. */
	bs_discovery_free(p->discovery);
	p->discovery = NULL;
	for (int i = 0; i < p->n_pools; i++) {
		bs_redis_free(p->redis_worker[i]);
		p->redis_worker[i] = NULL;
	}
	for (int i = 0; i < p->n_pools; i++) {
		bs_redis_free(p->redis[i]);
		p->redis[i] = NULL;
	}
	bs_worker_free(p->worker);
	bs_ingest_free(p->ingest);
	event_free_opt(p->sigterm);
	event_free_opt(p->sigint);
	event_free_opt(p->sighup);
	event_free_opt(p->drain_timer);
	event_free_opt(p->ready_timer);
	if (p->base)
		event_base_free(p->base);
	bs_live_free(p->live);
	free(p->keys);
}

int
bs_process_main(enum bs_mode mode, struct bs_config *cfg,
    const char *config_path)
{
	struct process p;
	memset(&p, 0, sizeof(p));
	p.mode = mode;
	int status = 1;
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	p.base = event_base_new();
	if (!p.base) {
		log_error("cannot create the event loop");
		goto out;
	}
	p.n_shards = bs_cmd_n_shards(cfg);
	p.keys = xcalloc((size_t)p.n_shards, sizeof(*p.keys));
	for (int i = 0; i < p.n_shards; i++) {
		if (bs_shard_keys(cfg->redis.prefix, i, p.n_shards, &p.keys[i]) != 0) {
			log_error("bad redis.prefix '%s'", cfg->redis.prefix);
			goto out;
		}
	}
	p.live = bs_live_new(cfg, config_path, bs_mode_config_uses(mode), err,
	    sizeof(err));
	if (!p.live) {
		log_error("issues.patterns: %s", err);
		goto out;
	}
	int lc = bs_layout_check(cfg, err, sizeof(err));
	if (lc == -2) {
		/* The process never exits for want of Redis: the check runs
		 * when a pool first connects (on_redis_state). */
		log_warn("%s; the queue.shards check waits for Redis", err);
		p.layout_pending = 1;
	} else if (lc != 0) {
		log_error("%s", err);
		goto out;
	}
	warn_split_lanes(cfg, p.n_shards);
	struct bs_redis_config rc;
	bs_cmd_redis_config(cfg, &rc);
	rc.metrics = &p.metrics;    /* failovers, redirects, WAIT, lag */
	if (open_pools(&p, cfg, &rc) != 0)
		goto out;
	rc.connections = 1;         /* the worker's blocking reads */
	if (start_halves(&p, &rc) != 0 || add_signals(&p) != 0)
		goto out;
	log_info("bitsleuth %s running (%s)%s", BS_VERSION,
	    mode == BS_MODE_RUN ? "ingest + worker" : mode == BS_MODE_SERVE ?
	    "ingest only" : "worker only",
	    cfg->sleuth.dry_run ? ", sleuth dry_run: nothing is sent" : "");
	p.ready_timer = bs_timer_new(p.base, on_ready_poll, &p);
	on_ready_poll(-1, 0, &p);

	event_base_dispatch(p.base);
	log_info("stopped");
	status = p.exit_status;
out:
	teardown(&p);
	return status;
}
