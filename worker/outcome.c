/* outcome: a run's outcome, recorded in one atomic Redis step (see run.h).
 *
 * When the last task has ended, run_finish builds, once, what becomes of
 * the entry: for each task a lane op (lanes.h) and, for those that are not
 * done, a successor — a retry record with its due time, a dead letter, or
 * the parked successor of a push waiting for its turn — and
 * bs_jobs_finish_lanes acknowledges the entry with all of them. If Redis
 * drops or times out, the same outcome is sent again while Redis comes
 * back, until shortly before another worker could claim the entry (the
 * finish script is safe to repeat: one that did run is not redone). Past
 * that, or at exit, the entry stays pending and is claimed again: at least
 * once, made effectively once by the lanes (a registered push is DONE) and
 * Sleuth's ignore_if_duplicate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/timer.h"
#include "worker/run.h"

#define MAX_HISTORY 8192     /* bytes of attempt history carried along */
#define LATER_MS 1000        /* a task without its turn asks again after this */
#define REPLICA_TRIES 3      /* finishes sent while no replica confirms */

static void send_finish(struct run *run);

static void
on_finish_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_finish(arg);
}

static void
finished(int ok, const char *err, void *arg)
{
	struct run *run = arg;
	struct bs_wctx *ctx = run->ctx;
	if (ok) {
		if (run->finish_tries > 1)
			log_info("job %s: outcome recorded (try %d)", run->id,
			    run->finish_tries);
		bs_consumer_run_free(run);
		return;
	}
	bs_metrics_inc(ctx->metrics, BS_M_REDIS_ERRORS);
	/* A Redis drop or timeout (not a refusal by the script): the outcome
	 * is still in memory, so record it once Redis is back instead of
	 * leaving the entry to a claim after the whole visibility timeout and
	 * a second Sleuth call. So too, a few times, when no replica
	 * confirmed it within redis.wait_timeout_ms (a lagging replica): a
	 * failover now would promote a replica without it; the finish sent
	 * again writes nothing and waits for the replicas once more. Past
	 * those tries it is on the master only, and a failover that loses it
	 * leaves the entry pending here: the read that fails on that failover
	 * makes the consumer take it up again (consumer.c, recover). Not while
	 * draining: the entry stays pending for the next worker. */
	long long now = bs_now_ms();
	if ((err == bs_redis_err_down || err == bs_redis_err_timeout ||
	    (err == bs_redis_err_replicas && run->finish_tries < REPLICA_TRIES)) &&
	    !bs_consumer_stopping(run->c) && ctx->redis && now < run->finish_until) {
		if (!run->finish_ev)
			run->finish_ev = evtimer_new(ctx->base, on_finish_retry, run);
		if (run->finish_ev) {
			int ms = 250 << (run->finish_tries < 3 ? run->finish_tries : 3);
			if (run->finish_tries == 1)
				log_warn("job %s: could not record its outcome (%s); "
				    "trying again", run->id, err);
			bs_timer_arm_ms(run->finish_ev, ms);
			return;
		}
	}
	if (err == bs_redis_err_replicas)
		log_warn("job %s: no replica confirmed its outcome after %d tries; "
		    "it is recorded on the master only", run->id, run->finish_tries);
	else
		log_warn("job %s: could not record its outcome (%s); it stays "
		    "pending and will be claimed again", run->id, err ? err : "?");
	bs_consumer_run_free(run);
}

static void
on_finished(int ok, const char *err, void *arg)
{
	run_log_push(arg, NULL);
	finished(ok, err, arg);
	bs_log_ctx_pop();
}

static void
send_finish(struct run *run)
{
	struct bs_wctx *ctx = run->ctx;
	run->finish_tries++;
	if (!ctx->redis) {
		/* Shutting down: the entry stays pending for the next worker. */
		on_finished(0, "shutting down", run);
		return;
	}
	struct bs_finish f = {
		.id = run->id,
		.consumer = bs_consumer_name(run->c),
		.recs = run->recs,
		.n_recs = run->n_recs,
		.registered = run->registered,
		.dead_maxlen = ctx->live->cfg->dead.max_len,
		.ops = run->ops,
		.n_ops = run->n_ops,
		.owner = bs_consumer_owner(run->c),
		.hold_ms = ctx->live->cfg->worker.order_hold_ms,
		.events = &run->pub,
		.outcomes = run->outs,
		.n_outcomes = run->n_outs,
	};
	bs_jobs_finish_lanes(ctx->redis, ctx->keys, &f, on_finished, run);
}

void
run_cancel_wait(struct run *run)
{
	if (run->finish_ev && evtimer_pending(run->finish_ev, NULL)) {
		evtimer_del(run->finish_ev);
		send_finish(run);
	}
}

/* history + one attempt object, as a new JSON array string. */
static char *
history_append(struct run *run, const struct task *t, long long at)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"attempt", 7);
	yajl_gen_integer(g, run->attempt + 1);
	yajl_gen_string(g, (const unsigned char *)"at_ms", 5);
	yajl_gen_integer(g, at);
	yajl_gen_string(g, (const unsigned char *)"status", 6);
	yajl_gen_integer(g, t->status);
	yajl_gen_string(g, (const unsigned char *)"outcome", 7);
	const char *on = bs_outcome_name(t->outcome);
	yajl_gen_string(g, (const unsigned char *)on, strlen(on));
	yajl_gen_string(g, (const unsigned char *)"reason", 6);
	yajl_gen_string(g, (const unsigned char *)t->reason, strlen(t->reason));
	yajl_gen_map_close(g);
	const unsigned char *obj;
	size_t olen;
	yajl_gen_get_buf(g, &obj, &olen);

	const char *old = run->history && run->history[0] == '[' ?
	    run->history : "[]";
	size_t oldlen = strlen(old);
	/* Past the cap the history restarts with the latest attempt (dropping
	 * whole objects from the front is not worth a parser here). */
	if (oldlen + olen > MAX_HISTORY)
		old = "[]", oldlen = 2;
	char *out = bs_arena_alloc(&run->arena, oldlen + olen + 3);
	memcpy(out, old, oldlen - 1);                 /* without ']' */
	size_t o = oldlen - 1;
	if (oldlen > 2)
		out[o++] = ',';
	memcpy(out + o, obj, olen);
	o += olen;
	out[o++] = ']';
	out[o] = '\0';
	yajl_gen_free(g);
	return out;
}

/* The fields every successor of task t carries (job, ids, position). */
static size_t
successor_fields(struct run *run, const struct task *t, struct bs_field *f,
    long attempt, long long first)
{
	size_t k = 0;
	bs_field_set(&f[k++], "job", run->blob, run->blob_len);
	bs_field_str(&f[k++], "delivery", run->delivery);
	bs_field_str(&f[k++], "event", run->event);
	bs_field_str(&f[k++], "origin", run->origin);
	if (strcmp(run->queued, run->origin) != 0)
		bs_field_str(&f[k++], "queued_as", run->queued);
	bs_field_str(&f[k++], "target", t->name);
	bs_field_str(&f[k++], "attempt", bs_arena_printf(&run->arena, "%ld", attempt));
	if (first > 0)
		bs_field_str(&f[k++], "first_ms", bs_arena_printf(&run->arena, "%lld",
		    first));
	if (run->history)
		bs_field_str(&f[k++], "history", run->history);
	bs_field_str(&f[k++], "repository", run->job.ev.repository);
	return k;
}

static void
add_op(struct run *run, const char *target, enum bs_lane_action act,
    const struct bs_field *fields, size_t n)
{
	if (run->n_ops >= RUN_MAX_LANES)
		return;
	run->ops[run->n_ops++] = (struct bs_lane_op){ .target = target,
		.origin = run->origin, .action = act, .fields = fields,
		.n_fields = n };
}

/* The outcome of task t (NULL: an entry that could not be decoded) for
 * {p}:deploys, recorded with the finish when the streams are on. What the
 * body carried comes from t->sent (a task never sent has none, except one
 * DONE after a crash, whose registration was never recorded). */
static void
add_outcome(struct run *run, struct task *t, const char *kind,
    const char *reason, long status, long long now)
{
	if (!run->pub.on || run->n_outs >= sizeof(run->outs) / sizeof(run->outs[0]))
		return;
	const struct bs_sleuth_sent *sent = t ? t->sent : NULL;
	if (t && !sent && t->end == TASK_DONE)
		sent = task_sent_summary(t);
	const struct bs_deployment *dep = t ? t->target.dep : NULL;
	/* Sleuth calls made for it: this run's, or for a DONE one the call
	 * of the run that died before recording it. */
	int called = t && (t->end == TASK_SENT || t->end == TASK_OPEN ||
	    t->end == TASK_DONE);
	struct bs_deploy_record rec = {
		.kind = kind, .at_ms = now, .delivery = run->delivery,
		.job = run->queued, .event = run->event,
		.repository = run->job.ev.repository,
		.target = t ? t->name : NULL,
		.org = dep ? dep->org : NULL,
		.deployment = dep ? dep->deployment : NULL,
		.environment = dep ? dep->environment : NULL,
		.sha = t ? t->target.sha : NULL,
		.branch = t ? t->target.branch : NULL,
		.date = sent && sent->date[0] ? sent->date : NULL,
		.commits = sent ? sent->commits : -1,
		.keys = sent ? sent->keys : NULL,
		.n_keys = sent ? sent->n_keys : 0,
		.attempts = run->attempt + (called ? 1 : 0),
		.status = status, .reason = reason,
		.superseded_by = t && t->end == TASK_SUPERSEDED ? t->newest : NULL,
		.url = t ? t->url : NULL,
	};
	size_t len;
	char *data = bs_record_deploy(&rec, run->pub.format, &len);
	char *copy = bs_arena_alloc(&run->arena, len ? len : 1);
	memcpy(copy, data, len);
	free(data);
	run->outs[run->n_outs++] = (struct bs_outcome_rec){ .kind = kind,
		.target = rec.target, .delivery = run->delivery,
		.repository = rec.repository, .job = run->queued, .at_ms = now,
		.data = copy, .data_len = len };
}

static void
add_dead(struct run *run, struct bs_field *f, size_t k, const char *reason,
    long status, long long now)
{
	bs_field_str(&f[k++], "reason", reason);
	bs_field_str(&f[k++], "status", bs_arena_printf(&run->arena, "%ld", status));
	bs_field_str(&f[k++], "dead_ms", bs_arena_printf(&run->arena, "%lld", now));
	run->recs[run->n_recs++] = (struct bs_finish_rec){ .kind = BS_FINISH_DEAD,
		.fields = f, .n_fields = k };
}

/* A task that was sent: registered, retried or dead. */
static void
sent_outcome(struct run *run, struct task *t, long long now)
{
	struct bs_wctx *ctx = run->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	if (t->outcome == BS_OUTCOME_OK) {
		add_outcome(run, t, t->dry ? BS_REC_DRY_RUN : BS_REC_REGISTERED, NULL,
		    t->status, now);
		if (!t->dry)
			run->registered++;
		if (!t->stepped) {
			add_op(run, t->name, t->dry ? BS_LANE_LEAVE : BS_LANE_REGISTERED,
			    NULL, 0);
			if (!t->dry && run->n_ops > 0)
				run->ops[run->n_ops - 1].sha = task_deployed_note(t);
		}
		return;
	}
	long made = run->attempt + 1;
	long long first = run->first_ms ? run->first_ms : now;
	int dead = 0;
	long long due = 0;
	const char *reason = t->reason;
	if (t->outcome == BS_OUTCOME_DEAD) {
		dead = 1;
	} else if (t->outcome == BS_OUTCOME_RETRY_SLOW) {
		if (made >= cfg->retry.slow_attempts)
			dead = 1;
		else
			due = now + cfg->retry.slow_delay_ms;
	} else if (made >= cfg->retry.max_attempts ||
	    now - first >= cfg->retry.max_age_ms) {
		dead = 1;
	} else {
		due = now + bs_backoff_delay_ms(bs_consumer_backoff(run->c),
		    (unsigned)made, t->retry_after_s);
	}
	if (dead && t->outcome != BS_OUTCOME_DEAD)
		reason = bs_arena_printf(&run->arena, "gave up after %ld attempts: %s",
		    made, t->reason);
	struct bs_field *f = bs_arena_alloc(&run->arena, 16 * sizeof(*f));
	char *saved = run->history;
	run->history = history_append(run, t, now);
	size_t k = successor_fields(run, t, f, made, first);
	run->history = saved;
	if (dead) {
		task_count(t, BS_MDP_DEAD);
		log_warn("job %s -> %s: dead letter: %s", run->id, t->name, reason);
		add_dead(run, f, k, reason, t->status, now);
		add_outcome(run, t, BS_REC_DEAD, reason, t->status, now);
		add_op(run, t->name, BS_LANE_LEAVE, NULL, 0);
		return;
	}
	bs_field_str(&f[k++], "due_ms", bs_arena_printf(&run->arena, "%lld", due));
	task_count(t, BS_MDP_RETRY);
	log_info("job %s -> %s: retry %ld in %lld ms: %s", run->id, t->name, made,
	    due - now, t->reason);
	run->recs[run->n_recs++] = (struct bs_finish_rec){ .kind = BS_FINISH_RETRY,
		.due_ms = due, .fields = f, .n_fields = k };
	add_op(run, t->name, BS_LANE_KEEP, NULL, 0);
}

static void
task_outcome(struct run *run, struct task *t, long long now)
{
	struct bs_field *f;
	size_t k;
	switch (t->end) {
	case TASK_SENT:
	case TASK_OPEN:
		sent_outcome(run, t, now);
		break;
	case TASK_PARKED:
		f = bs_arena_alloc(&run->arena, 16 * sizeof(*f));
		k = successor_fields(run, t, f, run->attempt, run->first_ms);
		add_op(run, t->name, BS_LANE_PARK, f, k);
		break;
	case TASK_LATER:
		f = bs_arena_alloc(&run->arena, 16 * sizeof(*f));
		k = successor_fields(run, t, f, run->attempt, run->first_ms);
		bs_field_str(&f[k++], "due_ms", bs_arena_printf(&run->arena, "%lld",
		    now + LATER_MS));
		run->recs[run->n_recs++] = (struct bs_finish_rec){
			.kind = BS_FINISH_RETRY, .due_ms = now + LATER_MS,
			.fields = f, .n_fields = k };
		add_op(run, t->name, BS_LANE_STAY, NULL, 0);
		break;
	case TASK_SUPERSEDED:
		f = bs_arena_alloc(&run->arena, 16 * sizeof(*f));
		k = successor_fields(run, t, f, run->attempt, run->first_ms);
		task_count(t, BS_MDP_SUPERSEDED);
		log_warn("job %s -> %s: dead letter: superseded (held past "
		    "worker.order_hold, then push %s was registered)", run->id,
		    t->name, t->newest);
		add_dead(run, f, k, bs_arena_printf(&run->arena, "superseded: held "
		    "past worker.order_hold, then the newer push %s was registered",
		    t->newest), 0, now);
		add_outcome(run, t, BS_REC_SUPERSEDED, f[k].val, 0, now);
		add_op(run, t->name, BS_LANE_LEAVE_SUPERSEDED, NULL, 0);
		break;
	case TASK_DONE:
		/* Registered before by a run whose outcome was never recorded
		 * (it died in between): recorded now. An unchanged sha is not
		 * a deploy. */
		if (!t->same)
			add_outcome(run, t, t->dry ? BS_REC_DRY_RUN : BS_REC_REGISTERED,
			    NULL, 0, now);
		add_op(run, t->name, BS_LANE_LEAVE, NULL, 0);
		break;
	case TASK_FILTERED:
		/* Not a deploy of this target (its path prefixes): it leaves
		 * its lane, with no outcome, retry or dead letter. */
		if (!t->stepped)
			add_op(run, t->name, BS_LANE_LEAVE, NULL, 0);
		break;
	}
}

/* Lanes the entry was queued into (its `lanes` field) or is the successor
 * of (`target`) that no task of this run took: the worker's config no
 * longer matches them, so they leave their lane instead of blocking it. */
static void
unmatched_lanes(struct run *run)
{
	char *list = NULL;
	if (run->lanes)
		list = bs_arena_strdup(&run->arena, run->lanes);
	else if (run->filter)
		list = bs_arena_strdup(&run->arena, run->filter);
	if (!list || bs_stream_id_parse(run->origin, NULL, NULL) != 0)
		return;
	char *save = NULL;
	for (char *name = strtok_r(list, "\n", &save); name;
	    name = strtok_r(NULL, "\n", &save)) {
		int taken = 0;
		for (size_t i = 0; i < run->n_tasks && !taken; i++)
			taken = strcmp(run->tasks[i].name, name) == 0;
		if (taken || strlen(name) > BS_LANE_NAME_MAX)
			continue;
		log_warn("job %s: queued for %s, which this worker's config does not "
		    "match (changed since?); it leaves that lane unsent", run->id,
		    name);
		add_op(run, name, BS_LANE_LEAVE, NULL, 0);
	}
}

static void
run_finish(struct run *run)
{
	struct bs_wctx *ctx = run->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	long long now = bs_now_ms();
	run->n_recs = 0;
	run->n_ops = 0;
	run->n_outs = 0;
	run->registered = 0;
	bs_record_opts_set(&run->pub, cfg->queue.events, cfg->queue.events_format,
	    cfg->queue.events_ttl_ms, cfg->queue.events_maxlen);
	if (run->undecodable) {
		struct bs_field *f = bs_arena_alloc(&run->arena, 8 * sizeof(*f));
		size_t k = 0;
		bs_field_set(&f[k++], "job", run->blob, run->blob_len);
		bs_field_str(&f[k++], "delivery", run->delivery);
		bs_field_str(&f[k++], "event", run->event);
		bs_field_str(&f[k++], "attempt", "0");
		add_dead(run, f, k, bs_arena_printf(&run->arena,
		    "undecodable job: %s", run->decode_err), 0, now);
		add_outcome(run, NULL, BS_REC_DEAD, f[k].val, 0, now);
		bs_metrics_inc(ctx->metrics, BS_M_JOBS_UNDECODABLE);
	}
	for (size_t i = 0; i < run->n_tasks; i++) {
		run_log_push(run, &run->tasks[i]);
		task_outcome(run, &run->tasks[i], now);
		bs_log_ctx_pop();
	}
	run_log_push(run, NULL);
	unmatched_lanes(run);
	bs_log_ctx_pop();
	/* Re-sent while Redis is away, but only until shortly before the
	 * entry can be claimed by another worker. */
	long long vis = cfg->worker.visibility_timeout_ms;
	run->finish_until = run->read_ms + vis - vis / 4;
	send_finish(run);
}

void
run_unref(struct run *run)
{
	if (--run->pending == 0)
		run_finish(run);
}
