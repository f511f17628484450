/* consumer: the worker loop (see consumer.h).
 *
 * A `run` is one stream entry being worked on: its decoded job, the
 * targets it hits (filtered to one target for a retry entry) and one `task`
 * per target. Tasks go to Sleuth in parallel through the shared curl multi;
 * when the last one has an outcome the run is finished in one atomic Redis
 * step (bs_jobs_finish): successes acknowledged, retryable failures into the
 * retry set with their due time, the rest into the dead letters. If that
 * step fails the entry simply stays pending and is claimed again after the
 * visibility timeout: at least once, made effectively once by Sleuth's
 * ignore_if_duplicate.
 *
 * Library re-entry: new reads are started from a zero-timeout `kick` event,
 * never from inside a hiredis reply callback. */
#include "worker/consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "deploy/backoff.h"
#include "deploy/sleuth.h"
#include "queue/job_codec.h"
#include "queue/jobs.h"
#include "worker/context.h"
#include "worker/ordering.h"
#include "worker/pr_links.h"

#define MAX_TARGETS 64
#define MAX_HISTORY 8192     /* bytes of attempt history carried along */

struct run;

struct task {
	struct run *run;
	struct bs_target target;
	char name[300];             /* org/deployment/environment */
	enum bs_outcome outcome;
	long status;
	long retry_after_s;
	char reason[400];
	int dry;
	int superseded;             /* a newer push for the target was registered */
	int order_go;               /* its turn for the target has come */
};

struct run {
	struct bs_consumer *c;
	struct bs_arena arena;      /* strings of this run */
	char *id;
	struct bs_job job;
	char *blob;                 /* the entry's job field, for successors */
	size_t blob_len;
	char *delivery, *event, *filter, *history;
	char *origin;               /* stream id of the job's first entry: push order */
	long attempt;               /* attempts made before this one */
	long long first_ms;
	struct task tasks[MAX_TARGETS];
	size_t n_tasks;
	size_t pending;             /* tasks + enrichment + start guard not yet done */
	int enriched;               /* pr_links has run */
	int undecodable;
	char decode_err[200];
	/* The outcome, built once by finish_run and sent by send_finish (again
	 * after a Redis drop: the finish script is safe to repeat). */
	struct bs_finish_rec recs[MAX_TARGETS + 1];
	size_t n_recs;
	long long registered;
	int finish_tries;
	long long finish_until;     /* give up re-sending the finish after this */
	struct event *finish_ev;
};

struct bs_consumer {
	struct bs_wctx *ctx;
	char name[128];
	struct event *kick;
	struct event *tick;
	int reading;
	int claiming;
	int promoting;
	int stopping;
	int busy;                   /* runs not yet finished */
	long long last_claim_ms;
	long long last_trim_ms;
	long long read_backoff_until;
	struct bs_backoff backoff;
};


static void kick(struct bs_consumer *c);
static void send_finish(struct run *run);

/* === Finishing a run ==================================================== */

static void
run_free(struct run *run)
{
	struct bs_consumer *c = run->c;
	if (run->finish_ev)
		event_free(run->finish_ev);
	bs_job_release(&run->job);
	bs_arena_release(&run->arena);
	free(run);
	c->busy--;
	kick(c);
}

static void
on_finish_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_finish(arg);
}

static void
on_finished(int ok, const char *err, void *arg)
{
	struct run *run = arg;
	struct bs_consumer *c = run->c;
	if (ok) {
		if (run->finish_tries > 1)
			log_info("job %s: outcome recorded (try %d)", run->id,
			    run->finish_tries);
		run_free(run);
		return;
	}
	bs_metrics_inc(c->ctx->metrics, BS_M_REDIS_ERRORS);
	/* A Redis drop or timeout (not a refusal by the script): the outcome
	 * is still in memory, so record it once Redis is back instead of
	 * leaving the entry to a claim after the whole visibility timeout and
	 * a second Sleuth call. A finish that did run before the drop is not
	 * redone (the script sees the entry acknowledged). Not while
	 * draining: the entry stays pending for the next worker. */
	long long now = bs_now_ms();
	if ((err == bs_redis_err_down || err == bs_redis_err_timeout) &&
	    !c->stopping && c->ctx->redis && now < run->finish_until) {
		if (!run->finish_ev)
			run->finish_ev = evtimer_new(c->ctx->base, on_finish_retry, run);
		if (run->finish_ev) {
			int ms = 250 << (run->finish_tries < 3 ? run->finish_tries : 3);
			struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
			if (run->finish_tries == 1)
				log_warn("job %s: could not record its outcome (%s); "
				    "trying again while redis is back", run->id, err);
			evtimer_add(run->finish_ev, &tv);
			return;
		}
	}
	log_warn("job %s: could not record its outcome (%s); it stays pending "
	    "and will be claimed again", run->id, err ? err : "?");
	run_free(run);
}

static void
send_finish(struct run *run)
{
	struct bs_consumer *c = run->c;
	struct bs_wctx *ctx = c->ctx;
	run->finish_tries++;
	if (!ctx->redis) {
		/* Shutting down: the entry stays pending for the next worker. */
		on_finished(0, "shutting down", run);
		return;
	}
	bs_jobs_finish(ctx->redis, ctx->keys, run->id, c->name, run->recs,
	    run->n_recs, run->registered, ctx->live->cfg->dead.max_len, on_finished, run);
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
	/* Keep the newest attempts when the history grows too long: drop from
	 * the front whole objects is not worth a parser here, so the cap keeps
	 * the first attempts and the latest one. */
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

static void
set_field(struct bs_field *f, const char *name, const char *val, size_t len)
{
	f->name = name;
	f->val = val ? val : "";
	f->len = val ? len : 0;
}

static void
set_str(struct bs_field *f, const char *name, const char *val)
{
	set_field(f, name, val, val ? strlen(val) : 0);
}

static void
finish_run(struct run *run)
{
	struct bs_consumer *c = run->c;
	struct bs_wctx *ctx = c->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	long long now = bs_now_ms();
	struct bs_finish_rec *recs = run->recs;
	size_t n = 0;
	long long registered = 0;

	if (run->undecodable) {
		struct bs_field *f = bs_arena_alloc(&run->arena, 8 * sizeof(*f));
		size_t k = 0;
		set_field(&f[k++], "job", run->blob, run->blob_len);
		set_str(&f[k++], "origin", run->origin);
		set_str(&f[k++], "delivery", run->delivery);
		set_str(&f[k++], "event", run->event);
		set_str(&f[k++], "reason", bs_arena_printf(&run->arena,
		    "undecodable job: %s", run->decode_err));
		set_str(&f[k++], "dead_ms", bs_arena_printf(&run->arena, "%lld", now));
		set_str(&f[k++], "attempt", "0");
		recs[n++] = (struct bs_finish_rec){ .kind = BS_FINISH_DEAD,
			.fields = f, .n_fields = k };
		bs_metrics_inc(ctx->metrics, BS_M_JOBS_UNDECODABLE);
	}

	for (size_t i = 0; i < run->n_tasks; i++) {
		struct task *t = &run->tasks[i];
		if (t->outcome == BS_OUTCOME_OK) {
			if (!t->dry && !t->superseded)
				registered++;
			continue;
		}
		long made = run->attempt + 1;
		long long first = run->first_ms ? run->first_ms : now;
		enum bs_finish_kind kind = BS_FINISH_RETRY;
		long long due = 0;
		const char *reason = t->reason;
		if (t->outcome == BS_OUTCOME_DEAD) {
			kind = BS_FINISH_DEAD;
		} else if (t->outcome == BS_OUTCOME_RETRY_SLOW) {
			if (made >= cfg->retry.slow_attempts) {
				kind = BS_FINISH_DEAD;
				reason = bs_arena_printf(&run->arena,
				    "gave up after %ld attempts: %s", made, t->reason);
			} else {
				due = now + cfg->retry.slow_delay_ms;
			}
		} else {
			if (made >= cfg->retry.max_attempts ||
			    now - first >= cfg->retry.max_age_ms) {
				kind = BS_FINISH_DEAD;
				reason = bs_arena_printf(&run->arena,
				    "gave up after %ld attempts: %s", made, t->reason);
			} else {
				due = now + bs_backoff_delay_ms(&c->backoff, (unsigned)made,
				    t->retry_after_s);
			}
		}
		struct bs_field *f = bs_arena_alloc(&run->arena, 15 * sizeof(*f));
		size_t k = 0;
		set_field(&f[k++], "job", run->blob, run->blob_len);
		set_str(&f[k++], "delivery", run->delivery);
		set_str(&f[k++], "event", run->event);
		set_str(&f[k++], "origin", run->origin);
		set_str(&f[k++], "target", t->name);
		set_str(&f[k++], "attempt", bs_arena_printf(&run->arena, "%ld", made));
		set_str(&f[k++], "first_ms", bs_arena_printf(&run->arena, "%lld", first));
		set_str(&f[k++], "history", history_append(run, t, now));
		set_str(&f[k++], "repository", run->job.ev.repository);
		if (kind == BS_FINISH_DEAD) {
			set_str(&f[k++], "reason", reason);
			set_str(&f[k++], "status", bs_arena_printf(&run->arena, "%ld",
			    t->status));
			set_str(&f[k++], "dead_ms", bs_arena_printf(&run->arena, "%lld", now));
			bs_metrics_inc(ctx->metrics, BS_M_SLEUTH_DEAD);
			log_warn("job %s -> %s: dead letter: %s", run->id, t->name, reason);
		} else {
			set_str(&f[k++], "due_ms", bs_arena_printf(&run->arena, "%lld", due));
			bs_metrics_inc(ctx->metrics, BS_M_SLEUTH_RETRY);
			log_info("job %s -> %s: retry %ld in %lld ms: %s", run->id, t->name,
			    made, due - now, t->reason);
		}
		recs[n++] = (struct bs_finish_rec){ .kind = kind, .due_ms = due,
			.fields = f, .n_fields = k };
	}
	run->n_recs = n;
	run->registered = registered;
	run->finish_until = now + cfg->worker.visibility_timeout_ms / 2;
	send_finish(run);
}

static void
run_unref(struct run *run)
{
	if (--run->pending == 0)
		finish_run(run);
}

static void
task_done(struct task *t)
{
	run_unref(t->run);
}

/* === Sleuth calls ======================================================= */

static void
on_sleuth(const struct bs_http_response *resp, void *arg)
{
	struct task *t = arg;
	struct bs_wctx *ctx = t->run->c->ctx;
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
	bs_ordering_done(ctx->ordering, t->name, t->run->origin,
	    t->outcome == BS_OUTCOME_OK);
	if (t->outcome == BS_OUTCOME_OK) {
		bs_metrics_inc(ctx->metrics, BS_M_SLEUTH_OK);
		log_info("job %s -> %s: registered sha %s (%.0f ms)", t->run->id,
		    t->name, t->target.sha, resp->total_s * 1000);
	}
	task_done(t);
}

static void
on_dryrun_recorded(int ok, const char *err, void *arg)
{
	struct task *t = arg;
	if (!ok) {
		/* The record is only informational; the job is done either way. */
		log_warn("dry-run record for %s not stored: %s", t->name,
		    err ? err : "?");
	}
	task_done(t);
}

/* The register_deploy URL and body of task t (both malloc'd). */
static void
build_request(const struct task *t, char **url, char **body, size_t *blen)
{
	const struct bs_config *cfg = t->run->c->ctx->live->cfg;
	struct bs_sleuth_opts opt = {
		.issue_url = cfg->issues.url,
		.max_commits = cfg->sleuth.max_commits,
	};
	*body = bs_sleuth_body(&t->run->job, &t->target, &opt, blen);
	*url = bs_sleuth_url(cfg->sleuth.base_url, t->target.dep);
}

/* Sends task t to Sleuth (its target's turn has come). */
static void
send_task(struct task *t)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->c->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	const struct bs_deployment *dep = t->target.dep;
	size_t blen;
	char *body, *url;
	build_request(t, &url, &body, &blen);
	if (!ctx->http) {
		/* Shutting down: an outcome without a call keeps the entry pending. */
		t->outcome = BS_OUTCOME_RETRY;
		snprintf(t->reason, sizeof(t->reason), "shutting down");
		bs_ordering_done(ctx->ordering, t->name, run->origin, 0);
		free(body);
		free(url);
		task_done(t);
		return;
	}
	const char *token = dep->token ? dep->token : cfg->sleuth.token;
	char auth[1100];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
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
	bs_http_post(ctx->http, &req, on_sleuth, t);
	free(body);
	free(url);
}

static void
on_order(enum bs_order_verdict v, void *arg)
{
	struct task *t = arg;
	if (v == BS_ORDER_GO) {
		/* The body carries the keys of merged PRs: wait for them. */
		t->order_go = 1;
		if (t->run->enriched)
			send_task(t);
		return;
	}
	t->superseded = 1;
	t->outcome = BS_OUTCOME_OK;
	bs_metrics_inc(t->run->c->ctx->metrics, BS_M_SLEUTH_SUPERSEDED);
	snprintf(t->reason, sizeof(t->reason), "superseded by a newer push");
	log_info("job %s -> %s: not sent, a newer push to this target is "
	    "already registered (superseded)", t->run->id, t->name);
	task_done(t);
}

static void
start_task(struct task *t)
{
	struct run *run = t->run;
	struct bs_wctx *ctx = run->c->ctx;
	if (!t->dry) {
		if (t->order_go)
			send_task(t);
		return;
	}
	size_t blen;
	char *body, *url;
	build_request(t, &url, &body, &blen);
	log_info("dry-run: job %s -> %s: POST %s %.*s", run->id, t->name, url,
	    (int)(blen > 2000 ? 2000 : blen), body);
	bs_metrics_inc(ctx->metrics, BS_M_SLEUTH_DRYRUN);
	t->outcome = BS_OUTCOME_OK;
	struct bs_field f[5];
	set_str(&f[0], "url", url);
	set_str(&f[1], "target", t->name);
	set_str(&f[2], "delivery", run->delivery);
	set_str(&f[3], "job", run->id);
	set_field(&f[4], "body", body, blen);
	if (ctx->redis)
		bs_jobs_record_dryrun(ctx->redis, ctx->keys, f, 5, 100000,
		    on_dryrun_recorded, t);
	else
		on_dryrun_recorded(0, "shutting down", t);
	free(body);
	free(url);
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
	bs_arena_init(&run->arena);
	bs_job_init(&run->job);
	run->id = bs_arena_strdup(&run->arena, e->id);
	run->blob = (char *)field_dup(run, e, "job", &run->blob_len);
	run->delivery = (char *)field_dup(run, e, "delivery", NULL);
	run->event = (char *)field_dup(run, e, "event", NULL);
	run->filter = (char *)field_dup(run, e, "target", NULL);
	run->history = (char *)field_dup(run, e, "history", NULL);
	const char *s = field_dup(run, e, "attempt", NULL);
	run->attempt = s ? strtol(s, NULL, 10) : 0;
	s = field_dup(run, e, "first_ms", NULL);
	run->first_ms = s ? strtoll(s, NULL, 10) : 0;
	run->origin = (char *)field_dup(run, e, "origin", NULL);
	if (!run->origin)
		run->origin = run->id;
	c->busy++;

	if (!run->blob || bs_job_decode(run->blob, run->blob_len, &run->job,
	    run->decode_err, sizeof(run->decode_err)) != 0) {
		if (!run->blob)
			snprintf(run->decode_err, sizeof(run->decode_err),
			    "entry has no job field");
		run->undecodable = 1;
		log_warn("job %s: %s", run->id, run->decode_err);
		finish_run(run);
		return;
	}

	plan_run(run);
}

/* pr_links is done: the job has its merged PRs' keys. Tasks whose turn has
 * come (and dry-run ones) start now. */
static void
on_enriched(void *arg)
{
	struct run *run = arg;
	run->enriched = 1;
	for (size_t i = 0; i < run->n_tasks; i++)
		if (run->tasks[i].dry || run->tasks[i].order_go)
			start_task(&run->tasks[i]);
	run_unref(run);
}

/* Matches the decoded job against the deployments, takes each real
 * target's place in the per-target queue right away (so the order of
 * registrations is the order in which jobs were read), and meanwhile lets
 * pr_links store the PR (PR jobs) or add the keys of merged PRs (pushes). */
static void
plan_run(struct run *run)
{
	struct bs_wctx *ctx = run->c->ctx;
	const struct bs_config *cfg = ctx->live->cfg;
	struct bs_target targets[MAX_TARGETS];
	size_t nt = bs_match_job(cfg->deployments, cfg->n_deployments,
	    &run->job, targets, MAX_TARGETS);
	if (nt > MAX_TARGETS) {
		log_warn("job %s hits %zu targets; only the first %d are registered",
		    run->id, nt, MAX_TARGETS);
		nt = MAX_TARGETS;
	}
	for (size_t i = 0; i < nt; i++) {
		char name[300];
		bs_target_name(&targets[i], name, sizeof(name));
		if (run->filter && strcmp(run->filter, name) != 0)
			continue;
		struct task *t = &run->tasks[run->n_tasks++];
		t->run = run;
		t->target = targets[i];
		const struct bs_deployment *dep = targets[i].dep;
		t->dry = dep->dry_run == 1 || (dep->dry_run == -1 && cfg->sleuth.dry_run);
		snprintf(t->name, sizeof(t->name), "%s", name);
	}
	if (run->n_tasks == 0 && run->job.ev.type != BS_EVENT_PR)
		log_info("job %s (%s %s): no configured deployment matches",
		    run->id, run->event ? run->event : "?",
		    run->job.ev.repository ? run->job.ev.repository : "?");
	/* One count per task, one for the enrichment, one guard so nothing
	 * finishes the run while it is being started. */
	run->pending = run->n_tasks + 2;
	for (size_t i = 0; i < run->n_tasks; i++)
		if (!run->tasks[i].dry)
			bs_ordering_acquire(ctx->ordering, run->tasks[i].name, run->origin,
			    on_order, &run->tasks[i]);
	bs_pr_links_run(ctx, &run->job, on_enriched, run);
	run_unref(run);
}


static void
on_entries(struct bs_entry *entries, size_t n, const char *err, void *arg,
    int claimed)
{
	struct bs_consumer *c = arg;
	struct bs_wctx *ctx = c->ctx;
	if (err) {
		bs_metrics_inc(ctx->metrics, BS_M_REDIS_ERRORS);
		log_debug("reading jobs: %s", err);
		c->read_backoff_until = bs_now_ms() + 500;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bs_metrics_inc(ctx->metrics, BS_M_JOBS_READ);
		if (claimed) {
			bs_metrics_inc(ctx->metrics, BS_M_JOBS_REDELIVERED);
			log_info("job %s: claimed from a stopped consumer", entries[i].id);
		}
		start_run(c, &entries[i]);
	}
}

static void
on_read(struct bs_entry *entries, size_t n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->reading = 0;
	on_entries(entries, n, err, arg, 0);
	kick(c);
}

static void
on_claimed(struct bs_entry *entries, size_t n, const char *err, void *arg)
{
	struct bs_consumer *c = arg;
	c->claiming = 0;
	on_entries(entries, n, err, arg, 1);
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

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_consumer *c = arg;
	struct bs_wctx *ctx = c->ctx;
	if (c->stopping || c->reading)
		return;
	int room = ctx->live->cfg->worker.concurrency - c->busy;
	if (room <= 0)
		return;
	long long now = bs_now_ms();
	if (now < c->read_backoff_until) {
		struct timeval tv = { 0, (suseconds_t)((c->read_backoff_until - now) * 1000) };
		event_add(c->kick, &tv);
		return;
	}
	c->reading = 1;
	bs_jobs_read(ctx->redis_block, ctx->keys, c->name, room,
	    ctx->live->cfg->worker.block_ms, on_read, c);
}

static void
kick(struct bs_consumer *c)
{
	if (!c->stopping)
		event_active(c->kick, EV_TIMEOUT, 0);
}

static void
on_trimmed(const redisReply *reply, const char *err, void *arg)
{
	(void)arg;
	if (err)
		log_debug("trimming dead letters: %s", err);
	else if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
		log_info("trimmed %lld dead letters older than dead.max_age",
		    reply->integer);
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
	int room = ctx->live->cfg->worker.concurrency - c->busy;
	if (!c->claiming && room > 0 && now - c->last_claim_ms >= vis / 2) {
		c->last_claim_ms = now;
		c->claiming = 1;
		bs_jobs_claim(ctx->redis, ctx->keys, c->name, vis, room, on_claimed, c);
	}
	if (now - c->last_trim_ms >= 60000) {
		/* Dead letters older than dead.max_age go (stream ids are ms). */
		c->last_trim_ms = now;
		char minid[32];
		snprintf(minid, sizeof(minid), "%lld",
		    now - (long long)ctx->live->cfg->dead.max_age_ms);
		const char *argv[] = { "XTRIM", ctx->keys->dead, "MINID", "~", minid };
		size_t argvlen[5];
		for (int i = 0; i < 5; i++)
			argvlen[i] = strlen(argv[i]);
		bs_redis_command(ctx->redis, 5, argv, argvlen, on_trimmed, c);
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
	return c->busy + c->reading + c->claiming + c->promoting;
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
