/* backfill: see backfill.h.
 *
 * One `struct bf` per task being prepared, freed when it calls back. Its
 * steps chain through Redis and bb_client callbacks and one timer (the
 * merge-note poll); the first step is deferred on that timer so the
 * callback never runs before backfill_run returns. The fetched commits
 * live in a job of their own (t->bf_job: one change holding them, their
 * keys as COMMIT keys of change 0), which is also what the cache stores
 * (the job codec: bounded, validated on the way back). */
#include "worker/backfill.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/pct.h"
#include "common/timer.h"
#include "common/xalloc.h"
#include "deploy/commit_plan.h"
#include "parsers/bb_api.h"
#include "queue/job_codec.h"
#include "worker/bb_client.h"
#include "worker/run.h"

#define BF_PAGE 100                      /* commits asked per page (Cloud's max) */
#define BF_MAX_PAGE_BYTES (8u << 20)     /* a page's body */
#define BF_MAX_ONE_BYTES (1u << 20)      /* a commit's or a repository's body */
#define BF_POLL_MS 1000                  /* the merge-note poll */
#define BF_SHORT 12                      /* prefix length of a sha note */

struct bf {
	struct task *t;
	backfill_cb *cb;
	struct bs_wctx *ctx;
	enum bs_product product;
	const char *repo;
	long long deadline;
	struct event *timer;
	int step;                   /* what the timer does: BF_* below */
	struct bs_commit_plan plan;
	char *exclude;              /* the exclude in force (plan's or main's) */
	char *cache_key;
	struct bs_job *job;         /* the fetched commits, until handed over */
	size_t cap;                 /* of job->ev.changes[0].commits */
	long long dc_start;
	int asked_api;              /* the merge lookup was tried */
	struct bf *prev, *next;     /* ctx->backfills */
};

enum { BF_START = 0, BF_POLL_NOTE };

static void on_ignored(const redisReply *reply, const char *err, void *arg);

static void plan_commits(struct bf *b);

/* === helpers ============================================================ */

static void
done(struct bf *b)
{
	struct task *t = b->t;
	backfill_cb *cb = b->cb;
	if (b->prev)
		b->prev->next = b->next;
	else
		b->ctx->backfills = b->next;
	if (b->next)
		b->next->prev = b->prev;
	if (b->job) {
		bs_job_release(b->job);
		free(b->job);
	}
	event_free(b->timer);
	free(b->exclude);
	free(b->cache_key);
	free(b);
	t->prepared = 1;
	cb(t);
}

/* Counts in this process's metrics and in {p}:stats (`bitsleuth stats`,
 * every worker's), fire and forget. */
static void
count(struct bs_wctx *ctx, enum bs_metric m, const char *field)
{
	bs_metrics_inc(ctx->metrics, m);
	if (!ctx->redis)
		return;
	const char *argv[] = { "HINCRBY", ctx->keys->stats, field, "1" };
	size_t argvlen[] = { 7, strlen(ctx->keys->stats), strlen(field), 1 };
	bs_redis_command(ctx->redis, 4, argv, argvlen, on_ignored, NULL);
}

static bool
shutting_down(const struct bf *b)
{
	return !b->ctx->redis || !b->ctx->http;
}

/* Appends s percent-encoded (common/pct.h). */
static void
add_pct(char **buf, size_t *len, const char *s)
{
	*buf = xrealloc(*buf, *len + 3 * strlen(s) + 1);
	*len += bs_pct_encode(*buf + *len, s);
}

static void
add_str(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* "{base}/2.0/repositories/{ws}/{repo}" (Cloud) or
 * "{base}/rest/api/1.0/projects/{P}/repos/{r}" (DC), then tail; malloc'd,
 * NULL when the repository is not "a/b". */
static char *
repo_url(const struct bf *b, const char *tail)
{
	const char *base = bs_bb_base(b->ctx, b->product);
	const char *slash = b->repo ? strchr(b->repo, '/') : NULL;
	if (!base || !slash || slash == b->repo || !slash[1] ||
	    strchr(slash + 1, '/'))
		return NULL;
	char *u = NULL, *owner = xstrndup(b->repo, (size_t)(slash - b->repo));
	size_t len = 0, bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	u = xmalloc(bl + 1);
	memcpy(u, base, bl);
	u[bl] = '\0';
	len = bl;
	add_str(&u, &len, b->product == BS_PRODUCT_CLOUD ? "/2.0/repositories/" :
	    "/rest/api/1.0/projects/");
	add_pct(&u, &len, owner);
	add_str(&u, &len, b->product == BS_PRODUCT_CLOUD ? "/" : "/repos/");
	add_pct(&u, &len, slash + 1);
	add_str(&u, &len, tail);
	free(owner);
	return u;
}

static void
on_ignored(const redisReply *reply, const char *err, void *arg)
{
	(void)reply;
	(void)arg;
	if (err)
		log_debug("backfill: a note was not stored: %s", err);
}

static void
redis_set(struct bs_wctx *ctx, const char *key, const char *val, size_t vlen,
    long long ttl_s)
{
	if (!ctx->redis)
		return;
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%lld", ttl_s > 0 ? ttl_s : 86400);
	const char *argv[] = { "SET", key, val, "EX", ttl };
	size_t argvlen[] = { 3, strlen(key), vlen, 2, strlen(ttl) };
	bs_redis_command(ctx->redis, 5, argv, argvlen, on_ignored, NULL);
}

/* "{p}:sha:<repo lower-case>:<first 12 of sha lower-case>"; malloc'd,
 * NULL without a repository. */
static char *
note_key(const struct bs_wctx *ctx, const char *repo, const char *sha)
{
	char s[BF_SHORT + 1];
	size_t n = 0;
	for (; sha && sha[n] && n < BF_SHORT; n++)
		s[n] = (char)tolower((unsigned char)sha[n]);
	s[n] = '\0';
	return bs_keys_repo(ctx->keys->sha, repo, s);
}

/* Leaves the note of sha (40 hex) in repo: "<sha>\n<email>". */
static void
write_note(struct bs_wctx *ctx, const char *repo, const char *sha,
    const char *email)
{
	char *key = note_key(ctx, repo, sha);
	if (!key)
		return;
	char val[300];
	int n = snprintf(val, sizeof(val), "%s\n%s", sha,
	    email && !strchr(email, '\n') ? email : "");
	redis_set(ctx, key, val, (size_t)n < sizeof(val) ? (size_t)n :
	    sizeof(val) - 1, ctx->live->cfg->queue.pr_ttl_s);
	free(key);
}

void
backfill_note_push(struct bs_wctx *ctx, const struct bs_job *job)
{
	const struct bs_event *ev = &job->ev;
	if (ev->type != BS_EVENT_PUSH || !ev->repository || !ctx->redis)
		return;
	for (size_t i = 0; i < ev->n_changes && i < 64; i++) {
		const struct bs_change *ch = &ev->changes[i];
		if (!bs_api_is_hash40(ch->new_commit))
			continue;
		const char *email = NULL;
		for (size_t j = 0; j < ch->n_commits && !email; j++)
			if (ch->commits[j].hash && strcasecmp(ch->commits[j].hash,
			    ch->new_commit) == 0)
				email = ch->commits[j].author.email;
		write_note(ctx, ev->repository, ch->new_commit, email);
	}
}

void
backfill_release(struct task *t)
{
	if (t->bf_job) {
		bs_job_release(t->bf_job);
		free(t->bf_job);
		t->bf_job = NULL;
	}
}

/* === 1. a merge's full sha ============================================== */

static void
resolved(struct bf *b, const char *full, const char *email)
{
	struct task *t = b->t;
	struct bs_arena *a = &t->run->arena;
	log_info("job %s -> %s: merge sha %s is %s", t->run->id, t->name,
	    t->target.sha, full);
	t->target.sha = bs_arena_strdup(a, full);
	if (email && *email)
		t->bf_email = bs_arena_strdup(a, email);
	count(b->ctx, BS_M_MERGE_RESOLVED, "merge_resolved");
	plan_commits(b);
}

static void
merge_short(struct bf *b, const char *why)
{
	struct task *t = b->t;
	count(b->ctx, BS_M_MERGE_SHORT, "merge_short");
	log_warn("job %s -> %s: merge sent with the short sha %s: %s", t->run->id,
	    t->name, t->target.sha, why);
	plan_commits(b);
}

static void lookup_note(struct bf *b);

static void
poll_note(struct bf *b)
{
	long long left = b->deadline - bs_now_ms();
	if (left <= 0) {
		merge_short(b, "neither Bitbucket's API nor the push of the merge "
		    "commit gave the full one within backfill.max_wait");
		return;
	}
	/* Looks again in a second, the last time at the deadline itself. */
	long long ms = left < BF_POLL_MS ? left : BF_POLL_MS;
	b->step = BF_POLL_NOTE;
	bs_timer_arm_ms(b->timer, ms);
}

static void
on_api_commit(const struct bs_bb_answer *a, void *arg)
{
	struct bf *b = arg;
	if (shutting_down(b)) {
		done(b);
		return;
	}
	if (a->error) {
		count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
		log_info("job %s -> %s: merge sha lookup: %s", b->t->run->id,
		    b->t->name, a->error);
		poll_note(b);
		return;
	}
	struct bs_arena ar;
	bs_arena_init(&ar);
	struct bs_commit c;
	char err[200];
	if (bs_api_parse_commit(b->product, a->body, a->body_len, &ar, &c, err,
	    sizeof(err)) != 0 || !bs_api_is_hash40(c.hash) ||
	    !bs_same_commit(c.hash, b->t->target.sha)) {
		count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
		log_warn("job %s -> %s: merge sha lookup: unusable answer (%s)",
		    b->t->run->id, b->t->name, err[0] ? err : "another commit");
		bs_arena_release(&ar);
		poll_note(b);
		return;
	}
	write_note(b->ctx, b->repo, c.hash, c.author.email);
	resolved(b, c.hash, c.author.email);
	bs_arena_release(&ar);
}

static void
on_note(const redisReply *reply, const char *err, void *arg)
{
	struct bf *b = arg;
	if (shutting_down(b)) {
		done(b);
		return;
	}
	if (!err && reply && reply->type == REDIS_REPLY_STRING) {
		char full[41] = "";
		const char *nl = memchr(reply->str, '\n', reply->len);
		size_t hl = nl ? (size_t)(nl - reply->str) : reply->len;
		if (hl == 40) {
			memcpy(full, reply->str, 40);
			if (bs_api_is_hash40(full) && bs_same_commit(full, b->t->target.sha)) {
				char email[256] = "";
				if (nl)
					snprintf(email, sizeof(email), "%.*s",
					    (int)(reply->len - hl - 1), nl + 1);
				resolved(b, full, email);
				return;
			}
		}
	}
	if (!b->asked_api && bs_bb_available(b->ctx, b->product)) {
		b->asked_api = 1;
		char tail[80];
		snprintf(tail, sizeof(tail), b->product == BS_PRODUCT_CLOUD ?
		    "/commit/%s" : "/commits/%s", b->t->target.sha);
		char *url = repo_url(b, tail);
		if (url) {
			bs_bb_get(b->ctx, b->product, url, b->deadline,
			    BF_MAX_ONE_BYTES, on_api_commit, b);
			free(url);
			return;
		}
	}
	poll_note(b);
}

static void
lookup_note(struct bf *b)
{
	char *key = note_key(b->ctx, b->repo, b->t->target.sha);
	if (!key) {
		poll_note(b);
		return;
	}
	const char *argv[] = { "GET", key };
	size_t argvlen[] = { 3, strlen(key) };
	bs_redis_command(b->ctx->redis, 2, argv, argvlen, on_note, b);
	free(key);
}

/* === 3. fetching commits ================================================ */

static void
fell_back(struct bf *b, const char *why)
{
	struct task *t = b->t;
	count(b->ctx, BS_M_BACKFILL_FALLBACK, "backfill_fallback");
	log_warn("job %s -> %s: registering without commits: %s", t->run->id,
	    t->name, why);
	t->bf_mode = BS_BODY_NONE;
	done(b);
}

struct scan_arg {
	struct bs_job *job;
	uint32_t commit;
};

static void
on_key(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	(void)pattern;
	(void)start;
	struct scan_arg *s = arg;
	bs_job_add_key(s->job, key, len, BS_KEY_COMMIT, 0, s->commit);
}

/* The fetched commits are the deploy's: scan, hand over, cache. */
static void
fetched(struct bf *b)
{
	struct task *t = b->t;
	struct bs_job *job = b->job;
	struct bs_change *ch = &job->ev.changes[0];
	for (size_t i = 0; i < ch->n_commits; i++) {
		const char *m = ch->commits[i].message;
		struct scan_arg s = { job, (uint32_t)i };
		if (m)
			bs_scanner_scan(b->ctx->live->scanner, m, strlen(m), on_key, &s);
	}
	size_t len;
	char *blob = bs_job_encode(job, &len);
	redis_set(b->ctx, b->cache_key, blob, len,
	    b->ctx->live->cfg->dead.max_age_ms / 1000);
	free(blob);
	count(b->ctx, BS_M_BACKFILL_DONE, "backfill_done");
	log_info("job %s -> %s: %zu commits from Bitbucket's API (%s)",
	    t->run->id, t->name, ch->n_commits, b->plan.why);
	t->bf_job = job;
	t->bf_mode = BS_BODY_GIVEN;
	b->job = NULL;
	done(b);
}

static void fetch_page(struct bf *b, const char *url);

/* Whether answer a ended the preparation (shutting down, or the API
 * failed: the deploy goes without commits). */
static bool
ended_badly(struct bf *b, const struct bs_bb_answer *a)
{
	if (shutting_down(b)) {
		done(b);
		return true;
	}
	if (a->error) {
		count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
		fell_back(b, a->error);
		return true;
	}
	return false;
}

static void
on_page(const struct bs_bb_answer *a, void *arg)
{
	struct bf *b = arg;
	if (ended_badly(b, a))
		return;
	struct bs_job *job = b->job;
	struct bs_change *ch = &job->ev.changes[0];
	size_t max = b->ctx->live->cfg->backfill.max_commits;
	struct bs_api_page page;
	char err[200];
	if (bs_api_parse_commits(b->product, a->body, a->body_len,
	    max - ch->n_commits, &job->ev.arena, &page, err, sizeof(err)) != 0) {
		count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
		char why[300];
		snprintf(why, sizeof(why), "unreadable page from Bitbucket's API: "
		    "%s", err);
		fell_back(b, why);
		return;
	}
	for (size_t i = 0; i < page.n_commits; i++) {
		struct bs_commit *c = bs_arena_push(&job->ev.arena,
		    (void **)&ch->commits, &ch->n_commits, &b->cap, sizeof(*c));
		*c = page.commits[i];
	}
	if (page.last || ch->n_commits >= max || page.dropped > 0) {
		if (!page.last)
			log_info("job %s -> %s: backfill stopped at backfill."
			    "max_commits (%zu)", b->t->run->id, b->t->name, max);
		fetched(b);
		return;
	}
	char *next = NULL;
	if (b->product == BS_PRODUCT_CLOUD) {
		if (!page.next || !bs_bb_same_origin(bs_bb_base(b->ctx, b->product),
		    page.next)) {
			count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
			fell_back(b, "Bitbucket's next page is on another server");
			return;
		}
		next = xstrdup(page.next);
	} else {
		if (page.next_start <= b->dc_start) {
			count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
			fell_back(b, "Bitbucket's next page does not advance");
			return;
		}
		b->dc_start = page.next_start;
	}
	fetch_page(b, next);
	free(next);
}

/* The first page's URL (url == NULL), or next. */
static void
fetch_page(struct bf *b, const char *url)
{
	if (url) {
		bs_bb_get(b->ctx, b->product, url, b->deadline, BF_MAX_PAGE_BYTES,
		    on_page, b);
		return;
	}
	char *q = NULL;
	size_t len = 0;
	if (b->product == BS_PRODUCT_CLOUD) {
		add_str(&q, &len, "/commits?include=");
		add_pct(&q, &len, b->plan.include);
		add_str(&q, &len, "&exclude=");
		add_pct(&q, &len, b->exclude);
		char n[32];
		snprintf(n, sizeof(n), "&pagelen=%d", BF_PAGE);
		add_str(&q, &len, n);
	} else {
		add_str(&q, &len, "/commits?since=");
		add_pct(&q, &len, b->exclude);
		add_str(&q, &len, "&until=");
		add_pct(&q, &len, b->plan.include);
		char n[64];
		snprintf(n, sizeof(n), "&limit=%d&start=%lld", BF_PAGE, b->dc_start);
		add_str(&q, &len, n);
	}
	char *full = repo_url(b, q);
	free(q);
	if (!full) {
		fell_back(b, "the repository name is not workspace/repository");
		return;
	}
	bs_bb_get(b->ctx, b->product, full, b->deadline, BF_MAX_PAGE_BYTES,
	    on_page, b);
	free(full);
}

static void
start_fetch(struct bf *b)
{
	b->job = xcalloc(1, sizeof(*b->job));
	bs_job_init(b->job);
	struct bs_event *ev = &b->job->ev;
	ev->type = BS_EVENT_PUSH;
	ev->product = b->product;
	ev->repository = bs_arena_strdup(&ev->arena, b->repo);
	ev->changes = bs_arena_alloc(&ev->arena, sizeof(*ev->changes));
	ev->n_changes = 1;
	ev->changes[0].ref_type = BS_REF_OTHER;
	ev->changes[0].new_hash = bs_arena_strdup(&ev->arena, b->plan.include);
	ev->changes[0].new_commit = ev->changes[0].new_hash;
	ev->changes[0].old_hash = bs_arena_strdup(&ev->arena, b->exclude);
	fetch_page(b, NULL);
}

static void
on_main(const struct bs_bb_answer *a, void *arg)
{
	struct bf *b = arg;
	if (ended_badly(b, a))
		return;
	struct bs_arena ar;
	bs_arena_init(&ar);
	char *name = NULL, *head = NULL, err[200];
	if (bs_api_parse_main_branch(b->product, a->body, a->body_len, &ar, &name,
	    &head, err, sizeof(err)) != 0 || !name) {
		count(b->ctx, BS_M_BACKFILL_FAILED, "backfill_failed");
		bs_arena_release(&ar);
		fell_back(b, "the repository's main branch is unknown");
		return;
	}
	/* Cloud excludes by branch name; Data Center's since takes a commit. */
	if (b->product == BS_PRODUCT_DC && head)
		b->exclude = xstrdup(head);
	else if (b->product == BS_PRODUCT_DC) {
		size_t n = strlen(name) + 12;
		b->exclude = xmalloc(n);
		snprintf(b->exclude, n, "refs/heads/%s", name);
	} else
		b->exclude = xstrdup(name);
	bs_arena_release(&ar);
	if (bs_same_commit(b->exclude, b->plan.include)) {
		/* The new branch points at the main branch's head: nothing new. */
		b->t->bf_mode = BS_BODY_NONE;
		done(b);
		return;
	}
	start_fetch(b);
}

static void
on_cache(const redisReply *reply, const char *err, void *arg)
{
	struct bf *b = arg;
	if (shutting_down(b)) {
		done(b);
		return;
	}
	struct task *t = b->t;
	if (!err && reply && reply->type == REDIS_REPLY_STRING) {
		struct bs_job *job = xcalloc(1, sizeof(*job));
		bs_job_init(job);
		char derr[200];
		if (bs_job_decode(reply->str, reply->len, job, derr,
		    sizeof(derr)) == 0 && job->ev.n_changes == 1) {
			count(b->ctx, BS_M_BACKFILL_CACHED, "backfill_cached");
			log_info("job %s -> %s: %zu commits from the backfill cache",
			    t->run->id, t->name, job->ev.changes[0].n_commits);
			t->bf_job = job;
			t->bf_mode = BS_BODY_GIVEN;
			done(b);
			return;
		}
		log_warn("backfill cache entry %s unusable: %s; fetching again",
		    b->cache_key, derr);
		bs_job_release(job);
		free(job);
	}
	if (b->plan.exclude_main) {
		char *url = repo_url(b, b->product == BS_PRODUCT_CLOUD ? "" :
		    "/branches/default");
		if (!url) {
			fell_back(b, "the repository name is not workspace/repository");
			return;
		}
		bs_bb_get(b->ctx, b->product, url, b->deadline, BF_MAX_ONE_BYTES,
		    on_main, b);
		free(url);
		return;
	}
	b->exclude = xstrdup(b->plan.exclude);
	start_fetch(b);
}

/* === 2. the plan ======================================================== */

static void
plan_commits(struct bf *b)
{
	struct task *t = b->t;
	const struct bs_event *ev = &t->run->job.ev;
	const struct bs_change *ch = t->target.change < ev->n_changes ?
	    &ev->changes[t->target.change] : NULL;
	/* The same commit registered again by the same track is a replay or a
	 * resend: it goes (Sleuth's ignore_if_duplicate decides), its commits
	 * planned as for a first deploy. By the other track (a push and a
	 * merge deployment on one target) it is not sent twice. */
	const char *last = t->last_sha;
	if (last && bs_same_commit(last, t->target.sha) && t->last_how &&
	    strcmp(t->last_how, task_track(t)) == 0)
		last = NULL;
	bs_commit_plan(ch, t->target.sha, last, &b->plan);
	switch (b->plan.source) {
	case BS_COMMITS_SAME:
		t->bf_mode = BS_BODY_SAME;
		done(b);
		return;
	case BS_COMMITS_PAYLOAD:
		t->bf_mode = BS_BODY_PAYLOAD;
		done(b);
		return;
	case BS_COMMITS_OMIT:
		t->bf_mode = BS_BODY_NONE;
		done(b);
		return;
	case BS_COMMITS_FETCH:
		break;
	}
	if (!bs_bb_available(b->ctx, b->product)) {
		count(b->ctx, BS_M_BACKFILL_OMITTED, "backfill_omitted");
		log_debug("job %s -> %s: no Bitbucket API credentials for %s: "
		    "commits left out (%s)", t->run->id, t->name,
		    bs_product_name(b->product), b->plan.why);
		t->bf_mode = BS_BODY_NONE;
		done(b);
		return;
	}
	char pre[BS_KEY_MAX + 16], rest[600];
	snprintf(pre, sizeof(pre), "%s%s:", b->ctx->keys->bf,
	    bs_product_name(b->product));
	snprintf(rest, sizeof(rest), "%s:%s", b->plan.exclude_main ? "^main" :
	    b->plan.exclude, b->plan.include);
	b->cache_key = bs_keys_repo(pre, b->repo, rest);
	if (!b->cache_key) {
		fell_back(b, "the job names no repository");
		return;
	}
	const char *argv[] = { "GET", b->cache_key };
	size_t argvlen[] = { 3, strlen(b->cache_key) };
	bs_redis_command(b->ctx->redis, 2, argv, argvlen, on_cache, b);
}

/* === start ============================================================== */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bf *b = arg;
	if (shutting_down(b)) {
		done(b);
		return;
	}
	if (b->step == BF_POLL_NOTE) {
		lookup_note(b);
		return;
	}
	const char *sha = b->t->target.sha;
	if (b->t->target.change == SIZE_MAX && sha && strlen(sha) < 40 &&
	    strlen(sha) >= 7) {
		lookup_note(b);
		return;
	}
	plan_commits(b);
}

void
backfill_run(struct task *t, backfill_cb *cb)
{
	struct bf *b = xcalloc(1, sizeof(*b));
	b->t = t;
	b->cb = cb;
	b->ctx = t->run->ctx;
	b->product = t->run->job.ev.product;
	b->repo = t->run->job.ev.repository;
	b->deadline = bs_now_ms() + b->ctx->live->cfg->backfill.max_wait_ms;
	b->timer = evtimer_new(b->ctx->base, on_timer, b);
	if (!b->timer) {
		log_error("cannot create a timer");
		abort();
	}
	t->bf_mode = BS_BODY_PAYLOAD;
	b->next = b->ctx->backfills;
	if (b->next)
		b->next->prev = b;
	b->ctx->backfills = b;
	event_active(b->timer, EV_TIMEOUT, 0);
}

void
backfill_cancel_waiting(struct bs_wctx *ctx)
{
	for (struct bf *b = ctx->backfills, *next; b; b = next) {
		next = b->next;
		if (event_pending(b->timer, EV_TIMEOUT, NULL)) {
			event_del(b->timer);
			done(b);
		}
	}
}
