/* consumer: the worker loop (see consumer.h, run.h).
 *
 * A `run` is one stream entry being worked on: its decoded job, the
 * targets it hits (filtered to one target for a retry or parked entry) and
 * one task per target. Each task asks for its turn in its target's lane
 * (task.c) and the tasks whose turn has come go to Sleuth in parallel
 * through the shared curl multi; when the last one has an outcome the run
 * is finished in one atomic Redis step (outcome.c). The tick promotes due
 * retries, claims entries of dead consumers, trims old dead letters and
 * sweeps the lanes (lost wake-ups, heads held past worker.order_hold).
 * After a failed read (recover) the entries pending under its
 * own name are read again, page by page, before new ones, and those it
 * has no run for are taken up: a failover can leave such entries behind
 * (a read whose reply was lost, an outcome the new master never got), and
 * they would otherwise wait for a claim, holding their lanes, for
 * worker.visibility_timeout.
 *
 * Library re-entry: new reads are started from a zero-timeout `kick` event,
 * never from inside a hiredis reply callback. */
#include "worker/consumer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/trim.h"
#include "worker/backfill.h"
#include "worker/pr_links.h"
#include "worker/run.h"

struct bs_consumer {
	struct bs_wctx *ctx;
	char name[128];
	char owner[200];            /* lease owner: name, pid and a random tag */
	struct event *kick;
	struct event *tick;
	struct run *runs;           /* runs not yet over */
	int reading;
	int claiming;
	int promoting;
	int sweeping;
	int stopping;
	int recovering;             /* a read of its own pending is out */
	bool recover;               /* read its own pending before new ones */
	char recover_from[BS_STREAM_ID_MAX + 1]; /* the next page starts after */
	unsigned long freed;        /* runs freed so far */
	unsigned long freed_at_own; /* ... when the read of its own was sent */
	int busy;                   /* runs not yet over */
	long long last_claim_ms;
	long long last_trim_ms;
	long long read_backoff_until;
	bool told_waiting;          /* waiting_for_mapping said so */
	long long sweep_cursor;
	struct bs_backoff backoff;
};

static void kick(struct bs_consumer *c);

/* This shard's share of worker.concurrency: the runs it may hold at once.
 * The concurrency is split evenly, the remainder going to the lowest
 * shards, at least 1 each: with 10 over 3 shards 4, 3 and 3. A share is
 * not lent to another shard (each shard's read blocks on its own master,
 * so a share lent away could not be taken back in time); with fewer
 * shards than concurrency, raise worker.concurrency. */
static int
share(const struct bs_consumer *c)
{
	int conc = c->ctx->live->cfg->worker.concurrency;
	int n = c->ctx->n_shards > 0 ? c->ctx->n_shards : 1;
	int s = conc / n + (c->ctx->shard < conc % n ? 1 : 0);
	return s > 0 ? s : 1;
}

const char *
bs_consumer_name(const struct bs_consumer *c)
{
	return c->name;
}

const char *
bs_consumer_owner(const struct bs_consumer *c)
{
	return c->owner;
}

struct bs_backoff *
bs_consumer_backoff(struct bs_consumer *c)
{
	return &c->backoff;
}

int
bs_consumer_stopping(const struct bs_consumer *c)
{
	return c->stopping;
}

void
bs_consumer_run_free(struct run *run)
{
	struct bs_consumer *c = run->c;
	if (run->prev)
		run->prev->next = run->next;
	else
		c->runs = run->next;
	if (run->next)
		run->next->prev = run->prev;
	bs_log_ctx_forget();        /* it may point into the run */
	if (run->finish_ev)
		event_free(run->finish_ev);
	for (size_t i = 0; i < run->n_tasks; i++)
		backfill_release(&run->tasks[i]);
	bs_job_release(&run->job);
	bs_arena_release(&run->arena);
	free(run);
	c->busy--;
	c->freed++;
	kick(c);
}

/* === Taking entries ===================================================== */

static const char *
field_dup(struct run *run, const struct bs_entry *e, const char *name,
    size_t *len)
{
	const struct bs_field *f = bs_entry_field(e, name);
	if (!f)
		return NULL;
	if (len)
		*len = f->len;
	return bs_arena_strndup(&run->arena, f->val, f->len);
}

static void plan_run(struct run *run);

static void
start_run(struct bs_consumer *c, const struct bs_entry *e)
{
	struct run *run = xcalloc(1, sizeof(*run));
	run->c = c;
	run->ctx = c->ctx;
	run->read_ms = bs_now_ms();
	bs_arena_init(&run->arena);
	bs_job_init(&run->job);
	run->next = c->runs;
	if (c->runs)
		c->runs->prev = run;
	c->runs = run;
	run->id = bs_arena_strdup(&run->arena, e->id);
	run->blob = (char *)field_dup(run, e, "job", &run->blob_len);
	run->delivery = (char *)field_dup(run, e, "delivery", NULL);
	run->event = (char *)field_dup(run, e, "event", NULL);
	run->filter = (char *)field_dup(run, e, "target", NULL);
	run->history = (char *)field_dup(run, e, "history", NULL);
	run->lanes = (char *)field_dup(run, e, "lanes", NULL);
	const char *s = field_dup(run, e, "attempt", NULL);
	run->attempt = s ? strtol(s, NULL, 10) : 0;
	s = field_dup(run, e, "first_ms", NULL);
	run->first_ms = s ? strtoll(s, NULL, 10) : 0;
	/* A fresh entry's lane position is its own id; a successor carries
	 * the position of the push it continues. */
	run->origin = (char *)field_dup(run, e, "origin", NULL);
	if (!run->origin)
		run->origin = run->id;
	/* The id the delivery was first queued as (its {p}:events entry's
	 * `job`): a replayed dead letter starts a new lane position but
	 * keeps it. */
	run->queued = (char *)field_dup(run, e, "queued_as", NULL);
	if (!run->queued)
		run->queued = run->origin;
	c->busy++;

	run_log_push(run, NULL);
	if (!run->blob || bs_job_decode(run->blob, run->blob_len, &run->job,
	    run->decode_err, sizeof(run->decode_err)) != 0) {
		if (!run->blob)
			snprintf(run->decode_err, sizeof(run->decode_err),
			    "entry has no job field");
		run->undecodable = 1;
		log_warn("job %s: %s", run->id, run->decode_err);
		run->pending = 1;
		run_unref(run);
		bs_log_ctx_pop();
		return;
	}

	plan_run(run);
	bs_log_ctx_pop();
}

/* pr_links is done: the job has its merged PRs' keys. Tasks whose turn has
 * come start now. */
static void
on_enriched(void *arg)
{
	struct run *run = arg;
	run_log_push(run, NULL);
	run->enriched = 1;
	for (size_t i = 0; i < run->n_tasks; i++)
		if (run->tasks[i].lane_go && run->tasks[i].end == TASK_OPEN)
			task_start(&run->tasks[i]);
	run_unref(run);
	bs_log_ctx_pop();
}

/* Matches the decoded job against the deployments, asks for each target's
 * turn in its lane, and meanwhile lets pr_links store the PR (PR jobs) or
 * add the keys of merged PRs (pushes). */
static void
plan_run(struct run *run)
{
	struct bs_wctx *ctx = run->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	struct bs_target targets[RUN_MAX_TARGETS];
	size_t nt = bs_match_job(ctx->live->deps, ctx->live->n_deps,
	    &run->job, targets, RUN_MAX_TARGETS);
	if (nt > RUN_MAX_TARGETS) {
		log_warn("job %s hits %zu targets; only the first %d are registered",
		    run->id, nt, RUN_MAX_TARGETS);
		nt = RUN_MAX_TARGETS;
	}
	for (size_t i = 0; i < nt; i++) {
		char name[300];
		bs_target_name(&targets[i], name, sizeof(name));
		if (run->filter && strcmp(run->filter, name) != 0)
			continue;
		int twice = 0;   /* two changes of one push hitting one target */
		for (size_t j = 0; j < run->n_tasks && !twice; j++)
			twice = strcmp(run->tasks[j].name, name) == 0;
		if (twice)
			continue;
		struct task *t = &run->tasks[run->n_tasks++];
		t->run = run;
		t->target = targets[i];
		const struct bs_deployment *dep = targets[i].dep;
		t->dry = dep->dry_run == 1 || (dep->dry_run == -1 && cfg->sleuth.dry_run);
		t->mdep = bs_metrics_deployment(ctx->metrics, dep->deployment);
		snprintf(t->name, sizeof(t->name), "%s", name);
	}
	if (run->n_tasks == 0 && run->job.ev.type != BS_EVENT_PR)
		log_info("job %s (%s %s): no configured deployment matches",
		    run->id, run->event ? run->event : "?",
		    run->job.ev.repository ? run->job.ev.repository : "?");
	/* One count per task, one for the enrichment, one guard so nothing
	 * finishes the run while it is being started. */
	run->pending = run->n_tasks + 2;
	/* A fresh entry leaves its notes for the merges that may need them (a
	 * retry or successor, which names its target, left them on its first
	 * read); without a merge deployment nothing reads them. */
	bool merges = false;
	for (size_t i = 0; i < ctx->live->n_deps && !merges; i++)
		merges = ctx->live->deps[i].track == BS_TRACK_MERGE;
	if (!run->filter && merges)
		backfill_note_push(ctx, &run->job);
	for (size_t i = 0; i < run->n_tasks; i++)
		task_acquire(&run->tasks[i]);
	bs_pr_links_run(ctx, &run->job, on_enriched, run);
	run_unref(run);
}

enum took { TOOK_NEW, TOOK_CLAIMED, TOOK_OWN };

/* Redis may hold entries pending under this name that no run holds (a
 * read's reply, or a recorded outcome, lost to a drop or a failover): read
 * them again from the start before the next new ones. */
static void
recover(struct bs_consumer *c)
{
	snprintf(c->recover_from, sizeof(c->recover_from), "0");
	c->recover = true;
}

static bool
has_run(const struct bs_consumer *c, const char *id)
{
	for (const struct run *run = c->runs; run; run = run->next)
		if (strcmp(run->id, id) == 0)
			return true;
	return false;
}

static void
on_entries(struct bs_entry *entries, size_t n, const char *err, void *arg,
    enum took took)
{
	struct bs_consumer *c = arg;
	struct bs_wctx *ctx = c->ctx;
	if (err) {
		bs_metrics_inc(ctx->metrics, BS_M_REDIS_ERRORS);
		log_debug("reading jobs: %s", err);
		c->read_backoff_until = bs_now_ms() + 500;
		/* The read may have run with its reply lost on the way. */
		recover(c);
		return;
	}
	if (took == TOOK_OWN) {
		/* A run freed meanwhile may have finished an entry of this page
		 * after the read saw it pending (another connection): read the
		 * page again rather than run it twice. So too while a discover
		 * project waits for its mapping (the wait ends in on_kick), and
		 * after a stop: they stay pending for the next worker. */
		if (c->freed != c->freed_at_own || c->stopping ||
		    ctx->live->discovery_missing)
			return;
		/* The next page starts after this one; an empty page ends it. */
		if (n == 0)
			c->recover = false;
		else
			snprintf(c->recover_from, sizeof(c->recover_from), "%s",
			    entries[n - 1].id);
	}
	if (n && ctx->live->discovery_missing) {
		/* Read before a reload added a discover project that has no
		 * mapping yet: matched now, they would be acknowledged as
		 * matching nothing. They stay pending under this consumer and are
		 * claimed again after worker.visibility_timeout, once it has one. */
		log_warn("worker '%s': %zu job(s) read while a discover project has "
		    "no mapping yet; left pending, claimed again after "
		    "worker.visibility_timeout", c->name, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		/* Being worked on, or its outcome being sent again: a claim
		 * can hand out an entry of this consumer's too (one of its
		 * own past the visibility timeout, or one the read of its own
		 * took up while the claim was out). */
		if (took != TOOK_NEW && has_run(c, entries[i].id))
			continue;
		bs_metrics_inc(ctx->metrics, BS_M_JOBS_READ);
		if (took == TOOK_CLAIMED) {
			bs_metrics_inc(ctx->metrics, BS_M_JOBS_REDELIVERED);
			log_info("job %s: claimed from a stopped consumer", entries[i].id);
		} else if (took == TOOK_OWN) {
			bs_metrics_inc(ctx->metrics, BS_M_JOBS_REDELIVERED);
			log_info("job %s: pending here with no run (a reply lost to a "
			    "redis drop or failover); taken up again", entries[i].id);
		}
		start_run(c, &entries[i]);
	}
}

static void
on_read(struct bs_entry *entries, size_t n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->reading = 0;
	on_entries(entries, n, err, arg, TOOK_NEW);
	kick(c);
}

static void
on_own(struct bs_entry *entries, size_t n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->recovering = 0;
	on_entries(entries, n, err, arg, TOOK_OWN);
	kick(c);
}

static void
on_claimed(struct bs_entry *entries, size_t n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->claiming = 0;
	on_entries(entries, n, err, arg, TOOK_CLAIMED);
	kick(c);
}

static void
on_promoted(long long n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->promoting = 0;
	if (err) {
		log_debug("promoting retries: %s", err);
		return;
	}
	for (long long i = 0; i < n; i++)
		bs_metrics_inc(c->ctx->metrics, BS_M_RETRIES_PROMOTED);
}

/* Whether jobs must wait: a discover: true project has no mapping yet
 * (config/live.h), so a push for it would match nothing and be
 * acknowledged. Said in the log once per wait. */
static bool
waiting_for_mapping(struct bs_consumer *c)
{
	size_t missing = c->ctx->live->discovery_missing;
	if (missing && !c->told_waiting)
		log_warn("worker '%s': %zu discover project(s) have no mapping yet "
		    "(Sleuth not answered, nothing cached); jobs wait in the queue "
		    "until one is learned", c->name, missing);
	else if (!missing && c->told_waiting)
		log_info("worker '%s': every discover project has a mapping; "
		    "consuming", c->name);
	c->told_waiting = missing > 0;
	return missing > 0;
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_consumer *c = arg;
	struct bs_wctx *ctx = c->ctx;
	if (ctx->block_back) {
		ctx->block_back = 0;
		recover(c);
	}
	if (c->stopping || c->reading || c->recovering)
		return;
	int room = share(c) - c->busy;
	if (room <= 0)
		return;
	long long now = bs_now_ms();
	if (waiting_for_mapping(c)) {
		struct timeval tv = { 0, 500 * 1000 };
		event_add(c->kick, &tv);
		return;
	}
	if (now < c->read_backoff_until) {
		struct timeval tv = { 0, (suseconds_t)((c->read_backoff_until - now) * 1000) };
		event_add(c->kick, &tv);
		return;
	}
	if (c->recover) {
		/* Its own pending entries first, a page of `room` at a time,
		 * on the connection the other Redis work uses (no BLOCK). */
		c->recovering = 1;
		c->freed_at_own = c->freed;
		bs_jobs_read(ctx->redis, ctx->keys, c->name, c->recover_from, room,
		    0, on_own, c);
		return;
	}
	c->reading = 1;
	bs_jobs_read(ctx->redis_block, ctx->keys, c->name, NULL, room,
	    ctx->live->cfg->worker.block_ms, on_read, c);
}

static void
kick(struct bs_consumer *c)
{
	if (!c->stopping)
		event_active(c->kick, EV_TIMEOUT, 0);
}

static void
on_trimmed(long long removed, const char *err, void *arg)
{
	const char *what = arg;
	if (err)
		log_debug("trimming %s: %s", what, err);
	else if (removed > 0)
		log_info("trimmed %lld %s", removed, what);
}

static void
on_swept(const struct bs_lanes_sweep *sw, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	struct bs_metrics *m = c->ctx->metrics;
	c->sweeping = 0;
	if (err) {
		log_debug("sweeping the lanes: %s", err);
		return;
	}
	/* The gauges are every shard's sum (the oldest head: over all). */
	c->ctx->sweep = *sw;
	c->ctx->swept = 1;
	long long lanes = 0, waiting = 0, held = 0, oldest = 0;
	for (int i = 0; i < c->ctx->n_shards; i++) {
		const struct bs_wctx *x = &c->ctx->all[i];
		if (!x->swept)
			continue;
		lanes += x->sweep.lanes;
		waiting += x->sweep.waiting;
		held += x->sweep.held;
		if (x->sweep.oldest_head_ms > 0 &&
		    (oldest == 0 || x->sweep.oldest_head_ms < oldest))
			oldest = x->sweep.oldest_head_ms;
	}
	m->lanes = lanes;
	m->lane_waiting = waiting;
	m->lanes_held = held;
	long long now = bs_now_ms();
	m->lane_oldest_head_age_ms = oldest > 0 && now > oldest ? now - oldest : 0;
	for (long long i = 0; i < sw->released; i++)
		bs_metrics_inc(m, BS_M_LANES_RELEASED);
	for (long long i = 0; i < sw->woken; i++)
		bs_metrics_inc(m, BS_M_LANES_WOKEN);
	if (sw->released > 0)
		log_warn("released %lld lane head(s) that kept failing for longer "
		    "than worker.order_hold; younger pushes go on", sw->released);
	if (sw->woken > 0)
		log_info("woke %lld parked lane head(s) whose lease had expired",
		    sw->woken);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_consumer *c = arg;
	struct bs_wctx *ctx = c->ctx;
	if (c->stopping || !bs_redis_is_up(ctx->redis))
		return;
	long long now = bs_now_ms();
	if (!c->promoting) {
		c->promoting = 1;
		bs_jobs_promote(ctx->redis, ctx->keys, now, 100, on_promoted, c);
	}
	long long vis = ctx->live->cfg->worker.visibility_timeout_ms;
	int room = share(c) - c->busy;
	if (!c->claiming && room > 0 && now - c->last_claim_ms >= vis / 2 &&
	    !waiting_for_mapping(c)) {
		c->last_claim_ms = now;
		c->claiming = 1;
		bs_jobs_claim(ctx->redis, ctx->keys, c->name, vis, room, on_claimed, c);
	}
	if (!c->sweeping) {
		/* Lanes whose head is older than a second: a parked head whose
		 * waker died, a failing head held past worker.order_hold. */
		c->sweeping = 1;
		bs_lanes_sweep(ctx->redis, ctx->keys, now, 1000,
		    ctx->live->cfg->worker.order_hold_ms, 100, &c->sweep_cursor,
		    on_swept, c);
	}
	if (now - c->last_trim_ms >= 60000) {
		/* Dead letters older than dead.max_age go; so do the readers'
		 * streams' entries older than queue.events_ttl (each XADD trims
		 * them too, but a quiet installation adds nothing); by Redis'
		 * clock (queue/trim.h). */
		const struct bs_config *cfg = ctx->live->cfg;
		c->last_trim_ms = now;
		bs_trim_older(ctx->redis, ctx->keys->dead, cfg->dead.max_age_ms, 1,
		    on_trimmed, (void *)"dead letters older than dead.max_age");
		if (cfg->queue.events) {
			bs_trim_older(ctx->redis, ctx->keys->events,
			    cfg->queue.events_ttl_ms, 0, on_trimmed,
			    (void *)"events older than queue.events_ttl");
			bs_trim_older(ctx->redis, ctx->keys->deploys,
			    cfg->queue.events_ttl_ms, 0, on_trimmed,
			    (void *)"deploy outcomes older than queue.events_ttl");
		}
	}
	kick(c);
}

/* === Lifecycle ========================================================== */

struct bs_consumer *
bs_consumer_new(struct bs_wctx *ctx, const char *name)
{
	struct bs_consumer *c = xcalloc(1, sizeof(*c));
	c->ctx = ctx;
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* Unique even when two processes share a consumer name; '|' is the
	 * lease's separator. */
	unsigned long long tag = (unsigned long long)bs_now_ms() ^
	    ((unsigned long long)getpid() << 32) ^ (unsigned long long)(uintptr_t)c;
	tag ^= (unsigned long long)clock() << 16;
	snprintf(c->owner, sizeof(c->owner), "%s/%ld/%llx", name, (long)getpid(),
	    tag & 0xffffffffffffULL);
	for (char *p = c->owner; *p; p++)
		if (*p == '|')
			*p = '_';
	c->kick = event_new(ctx->base, -1, 0, on_kick, c);
	c->tick = event_new(ctx->base, -1, EV_PERSIST, on_tick, c);
	if (!c->kick || !c->tick) {
		log_error("cannot create consumer events");
		abort();
	}
	bs_backoff_init(&c->backoff, ctx->live->cfg->retry.base_ms, ctx->live->cfg->retry.cap_ms,
	    (uint64_t)bs_now_ms() ^ (uint64_t)(uintptr_t)c);
	struct timeval tv = { 1, 0 };
	event_add(c->tick, &tv);
	kick(c);
	if (ctx->n_shards > 1)
		log_info("worker '%s' consuming %s (shard %d of %d, %d of "
		    "concurrency %d)", c->name, ctx->keys->jobs, ctx->shard,
		    ctx->n_shards, share(c), ctx->live->cfg->worker.concurrency);
	else
		log_info("worker '%s' consuming %s (concurrency %d)", c->name,
		    ctx->keys->jobs, ctx->live->cfg->worker.concurrency);
	return c;
}

void
bs_consumer_stop(struct bs_consumer *c)
{
	c->stopping = 1;
	event_del(c->tick);
	event_del(c->kick);
}

int
bs_consumer_busy(const struct bs_consumer *c)
{
	return c->busy + c->reading + c->recovering + c->claiming + c->promoting +
	    c->sweeping;
}

void
bs_consumer_close(struct bs_consumer *c)
{
	bs_consumer_stop(c);
	/* Runs waiting to re-send their outcome give up now (each frees
	 * itself, so take the next one first). */
	for (struct run *run = c->runs, *next; run; run = next) {
		next = run->next;
		run_cancel_wait(run);
	}
}

void
bs_consumer_free(struct bs_consumer *c)
{
	if (!c)
		return;
	event_free(c->kick);
	event_free(c->tick);
	free(c);
}
