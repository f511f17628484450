/* task: one push for one target, its turn in the target's lane and its
 * Sleuth call (see run.h, queue/lanes.h).
 *
 * task_acquire asks Redis for the task's turn (bs_lane_acquire). GO: the
 * lease is ours, and the call goes out as soon as the run is enriched
 * (the body carries the keys of merged PRs). Every other verdict ends the
 * task without a call: WAIT parks it (an older push for the target has no
 * outcome yet), a released head whose lane is busy and a failed Redis call
 * ask again in a second, SUPERSEDED is a dead letter, DONE was registered
 * before. Ordering never fails open: without an answer from Redis nothing
 * is sent. Dry-run tasks take their turn the same way, so what they record
 * is in push order too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "worker/backfill.h"
#include "worker/path_filter.h"
#include "worker/run.h"

static void
task_end(struct task *t, enum task_end end)
{
	t->end = end;
	run_unref(t->run);
}

static void
lane_answered(enum bs_lane_verdict v, const char *newest, const char *err,
    void *arg)
{
	struct task *t = arg;
	struct run *run = t->run;
	if (err) {
		bs_metrics_inc(run->ctx->metrics, BS_M_REDIS_ERRORS);
		log_warn("job %s -> %s: cannot ask for its turn (%s); asking again "
		    "shortly", run->id, t->name, err);
		snprintf(t->reason, sizeof(t->reason), "no turn: %s", err);
		task_end(t, TASK_LATER);
		return;
	}
	switch (v) {
	case BS_LANE_GO:
		t->lane_go = 1;
		/* "<sha> <track>" as task_deployed_note wrote it */
		t->last_sha = newest ? bs_arena_strdup(&run->arena, newest) : NULL;
		if (t->last_sha && (t->last_how = strchr(t->last_sha, ' ')))
			*t->last_how++ = '\0';
		if (run->enriched)
			task_start(t);
		return;
	case BS_LANE_WAIT:
		log_debug("job %s -> %s: an older push is ahead; parked", run->id,
		    t->name);
		task_end(t, TASK_PARKED);
		return;
	case BS_LANE_WAIT_RELEASED:
		task_end(t, TASK_LATER);
		return;
	case BS_LANE_SUPERSEDED:
		snprintf(t->newest, sizeof(t->newest), "%s", newest ? newest : "?");
		task_end(t, TASK_SUPERSEDED);
		return;
	case BS_LANE_DONE:
		log_info("job %s -> %s: registered before; not sent again", run->id,
		    t->name);
		task_end(t, TASK_DONE);
		return;
	}
	task_end(t, TASK_LATER);
}

static void
on_lane(enum bs_lane_verdict v, const char *newest, const char *err,
    void *arg)
{
	struct task *t = arg;
	run_log_push(t->run, t);
	lane_answered(v, newest, err, arg);
	bs_log_ctx_pop();
}

static void
acquire_turn(struct task *t)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	if (!ctx->redis || bs_stream_id_parse(run->origin, NULL, NULL) != 0 ||
	    strlen(t->name) > BS_LANE_NAME_MAX) {
		/* Exit, or an entry no lane can hold (a hand-made origin, a
		 * name over the cap): nothing is sent without a turn. */
		if (ctx->redis)
			log_warn("job %s -> %s: no valid lane position '%s'; asking "
			    "again later", run->id, t->name, run->origin);
		snprintf(t->reason, sizeof(t->reason), "no turn");
		task_end(t, TASK_LATER);
		return;
	}
	/* Long enough for the longest Sleuth call, but a dead holder's lease
	 * must be gone by the time its job can be claimed by another worker. */
	long long lease_ms = (long long)cfg->sleuth.timeout_ms +
	    cfg->backfill.max_wait_ms + 2LL * cfg->redis.command_timeout_ms + 5000;
	if (path_filter_needed(t))     /* its files: a wait of their own */
		lease_ms += cfg->backfill.max_wait_ms;
	if (lease_ms > cfg->worker.visibility_timeout_ms)
		lease_ms = cfg->worker.visibility_timeout_ms;
	bs_lane_acquire(ctx->redis, ctx->keys, t->name, run->origin,
	    bs_consumer_owner(run->c), lease_ms, on_lane, t);
}

void
task_acquire(struct task *t)
{
	run_log_push(t->run, t);
	acquire_turn(t);
	bs_log_ctx_pop();
}

/* === the Sleuth call ==================================================== */

static void
on_stepped(int ok, const char *err, void *arg)
{
	struct task *t = arg;
	run_log_push(t->run, t);
	if (ok)
		t->stepped = 1;
	else
		log_debug("job %s -> %s: lane step failed (%s); the run's finish "
		    "does it", t->run->id, t->name, err ? err : "?");
	task_end(t, t->end_after);
	bs_log_ctx_pop();
}

/* t is done with its lane (action). While other targets of the same push
 * are still out, its lane moves on now (the next push for this target
 * need not wait for them); alone, or without Redis, the run's finish does
 * it in the same step. Then t ends `end`. */
static void
step_now(struct task *t, enum bs_lane_action action, const char *note,
    enum task_end end)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->ctx;
	if (run->pending <= 1 || !ctx->redis) {
		task_end(t, end);
		return;
	}
	t->end_after = end;
	bs_lane_step(ctx->redis, ctx->keys, t->name, run->origin, action, note,
	    bs_consumer_owner(run->c), ctx->live->cfg->worker.order_hold_ms,
	    on_stepped, t);
}

/* t has its final outcome (registered, or its dry run recorded). */
static void
task_sent(struct task *t)
{
	if (t->outcome != BS_OUTCOME_OK) {
		task_end(t, TASK_SENT);
		return;
	}
	step_now(t, t->dry ? BS_LANE_LEAVE : BS_LANE_REGISTERED,
	    task_deployed_note(t), TASK_SENT);
}

void
task_count(struct task *t, enum bs_m_deploy outcome)
{
	struct bs_metrics *m = t->run->ctx->metrics;
	bs_metrics_deploy(m, t->mdep, outcome);
	long long received = t->run->job.received_ms;
	if (outcome != BS_MDP_RETRY && received > 0)
		bs_metrics_queue_wait_observe(m,
		    (double)(bs_now_ms() - received) / 1000.0);
}

static void
on_sleuth(const struct bs_http_response *resp, void *arg)
{
	struct task *t = arg;
	run_log_push(t->run, t);
	struct bs_wctx *ctx = t->run->ctx;
	ctx->metrics->in_flight--;
	t->status = resp->status;
	t->retry_after_s = resp->retry_after_s;
	if (resp->status == 0) {
		t->outcome = BS_OUTCOME_RETRY;
		snprintf(t->reason, sizeof(t->reason), "no answer from sleuth: %s",
		    resp->error ? resp->error : "unknown error");
	} else {
		t->outcome = bs_sleuth_classify(resp->status, resp->body,
		    resp->body_len);
		char body[200];
		bs_log_escape(body, sizeof(body), resp->body ? resp->body : "",
		    resp->body_len, 160);
		snprintf(t->reason, sizeof(t->reason), "sleuth answered %ld: %s",
		    resp->status, body);
	}
	bs_metrics_sleuth_observe(ctx->metrics, t->mdep,
	    t->outcome == BS_OUTCOME_OK ? BS_MSL_OK :
	    t->outcome == BS_OUTCOME_DEAD ? BS_MSL_DEAD : BS_MSL_RETRY,
	    bs_metrics_now() - t->sent_at);
	if (t->outcome == BS_OUTCOME_OK) {
		task_count(t, BS_MDP_REGISTERED);
		log_info("job %s -> %s: registered sha %s (%.0f ms)", t->run->id,
		    t->name, t->target.sha, resp->total_s * 1000);
	}
	task_sent(t);
	bs_log_ctx_pop();
}

static void
on_dryrun_recorded(int ok, const char *err, void *arg)
{
	struct task *t = arg;
	run_log_push(t->run, t);
	if (!ok) {
		/* The record is only informational; the job is done either way. */
		log_warn("dry-run record for %s not stored: %s", t->name,
		    err ? err : "?");
	}
	task_sent(t);
	bs_log_ctx_pop();
}

/* The register_deploy URL and body of task t (both malloc'd); what the
 * body carries is kept in t->sent (its strings copied to the arena: the
 * backfilled commits' keys go with bf_job). */
static void
build_request(struct task *t, char **url, char **body, size_t *blen)
{
	const struct bs_config *cfg = t->run->ctx->live->cfg;
	struct bs_arena *a = &t->run->arena;
	if (!t->sent)
		t->sent = bs_arena_alloc(a, sizeof(*t->sent));
	struct bs_sleuth_opts opt = {
		.sent = t->sent,
		.issue_url = cfg->issues.url,
		.max_commits = cfg->sleuth.max_commits,
		.commits_from = t->bf_mode,
		.email = t->bf_email,
	};
	if (t->bf_mode == BS_BODY_GIVEN && t->bf_job) {
		const char **keys = NULL;
		opt.commits = t->bf_job->ev.changes[0].commits;
		opt.n_commits = t->bf_job->ev.changes[0].n_commits;
		opt.n_commit_keys = bs_job_distinct_keys(t->bf_job, &keys);
		opt.commit_keys = keys;
	}
	*body = bs_sleuth_body(&t->run->job, &t->target, &opt, blen);
	*url = bs_sleuth_url(cfg->sleuth.base_url, t->target.dep);
	for (size_t i = 0; i < t->sent->n_keys; i++)
		t->sent->keys[i] = bs_arena_strdup(a, t->sent->keys[i]);
}

const struct bs_sleuth_sent *
task_sent_summary(struct task *t)
{
	if (!t->sent) {
		size_t blen;
		char *body, *url;
		build_request(t, &url, &body, &blen);
		free(body);
		free(url);
	}
	return t->sent;
}

static void
record_dry_run(struct task *t)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->ctx;
	size_t blen;
	char *body, *url;
	build_request(t, &url, &body, &blen);
	log_info("dry-run: job %s -> %s: POST %s %.*s", run->id, t->name, url,
	    (int)(blen > 2000 ? 2000 : blen), body);
	task_count(t, BS_MDP_DRY_RUN);
	t->outcome = BS_OUTCOME_OK;
	t->url = bs_arena_strdup(&run->arena, url);
	struct bs_field f[5];
	bs_field_str(&f[0], "url", url);
	bs_field_str(&f[1], "target", t->name);
	bs_field_str(&f[2], "delivery", run->delivery);
	bs_field_str(&f[3], "job", run->id);
	bs_field_set(&f[4], "body", body, blen);
	if (ctx->redis)
		bs_jobs_record_dryrun(ctx->redis, ctx->keys, f, 5, 100000,
		    on_dryrun_recorded, t);
	else
		on_dryrun_recorded(0, "shutting down", t);
	free(body);
	free(url);
}

const char *
task_track(const struct task *t)
{
	static const char *const how[] = { "push", "merge", "tag" };
	enum bs_track k = t->target.dep->track;
	return (unsigned)k < 3 ? how[k] : "push";
}

const char *
task_deployed_note(struct task *t)
{
	return bs_arena_printf(&t->run->arena, "%s %s", t->target.sha ?
	    t->target.sha : "", task_track(t));
}

static void start_task(struct task *t);

static void
on_prepared(struct task *t)
{
	t->preparing = 0;
	task_start(t);
}

/* Not a deploy of t's target: it leaves its lane (see step_now). */
static void
filtered_out(struct task *t)
{
	step_now(t, BS_LANE_LEAVE, NULL, TASK_FILTERED);
}

static void
on_filtered(struct task *t)
{
	struct bs_wctx *ctx = t->run->ctx;
	t->filtering = 0;
	t->filtered = 1;
	run_log_push(t->run, t);
	if (!ctx->http || !ctx->redis) {
		/* Shutting down: nothing was decided; it stays in its lane. */
		snprintf(t->reason, sizeof(t->reason), "shutting down");
		task_end(t, TASK_LATER);
	} else if (t->pf_skip) {
		filtered_out(t);
	} else {
		start_task(t);
	}
	bs_log_ctx_pop();
}

static void
start_task(struct task *t)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	if (!t->filtered && path_filter_needed(t)) {
		/* Path prefixes (issue 16): a push that touches none of them is
		 * not a deploy of this target. Before backfill, which would
		 * otherwise fetch its commits for nothing. */
		if (!t->filtering) {
			t->filtering = 1;
			path_filter_run(t, on_filtered);
		}
		return;
	}
	if (!t->prepared) {
		if (!t->preparing) {
			t->preparing = 1;
			backfill_run(t, on_prepared);
		}
		return;
	}
	if (t->bf_mode == BS_BODY_SAME) {
		task_count(t, BS_MDP_SAME_SHA);
		log_info("job %s -> %s: sha %s is the target's last registered one; "
		    "not sent again", run->id, t->name, t->target.sha);
		t->same = 1;
		task_end(t, TASK_DONE);
		return;
	}
	if (t->dry) {
		record_dry_run(t);
		return;
	}
	if (!ctx->http) {
		/* Shutting down: an outcome without a call keeps it in its lane. */
		snprintf(t->reason, sizeof(t->reason), "shutting down");
		task_end(t, TASK_LATER);
		return;
	}
	const struct bs_deployment *dep = t->target.dep;
	size_t blen;
	char *body, *url;
	build_request(t, &url, &body, &blen);
	const char *token = dep->token ? dep->token : cfg->sleuth.token;
	/* Sized to the token, whatever its length; wiped once bs_http_post
	 * has copied it (into headers it wipes itself when the call ends). */
	static const char pre[] = "Authorization: Bearer ";
	size_t tlen = token ? strlen(token) : 0;
	char *auth = xmalloc(sizeof(pre) + tlen);
	memcpy(auth, pre, sizeof(pre) - 1);
	if (tlen)
		memcpy(auth + sizeof(pre) - 1, token, tlen);
	auth[sizeof(pre) - 1 + tlen] = '\0';
	const char *headers[] = { auth };
	struct bs_http_request req = {
		.url = url,
		.headers = headers,
		.n_headers = 1,
		.body = body,
		.body_len = blen,
		.connect_timeout_ms = cfg->sleuth.connect_timeout_ms,
		.timeout_ms = cfg->sleuth.timeout_ms,
		.max_response = 4096,
	};
	ctx->metrics->in_flight++;
	t->sent_at = bs_metrics_now();
	bs_http_post(ctx->http, &req, on_sleuth, t);
	OPENSSL_cleanse(auth, sizeof(pre) - 1 + tlen);
	free(auth);
	free(body);
	free(url);
}

void
task_start(struct task *t)
{
	run_log_push(t->run, t);
	start_task(t);
	bs_log_ctx_pop();
}
