/* path_filter: see path_filter.h.
 *
 * One `struct pf` per task being decided (malloc'd, freed when it calls
 * back), whose first step is deferred on a timer so the callback never
 * runs before path_filter_run returns. The file lists live on the run
 * (`struct pf_files`, in its arena, listed from run->pf_files): the first
 * task that needs one starts its lookup (`struct pf_fetch`: the cache,
 * then the API's pages), the others of the run wait on it as well, and a
 * later one finds it decided. */
#include "worker/path_filter.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/pct.h"
#include "common/xalloc.h"
#include "deploy/paths.h"
#include "parsers/bb_api.h"
#include "parsers/bb_changes.h"
#include "worker/bb_client.h"
#include "worker/run.h"

#define PF_DC_LIMIT 1000                 /* paths asked per Data Center page */
#define PF_MAX_PAGE_BYTES (8u << 20)     /* a page's body */
#define PF_CACHE_HEAD "paths\n"          /* a cached list: this, then one path a line */
#define PF_CACHE_TOO_MANY "too many"     /* a cached list over the cap */

enum pf_state { PF_PENDING = 0, PF_KNOWN, PF_UNKNOWN };

struct pf;

/* One file list of a run (its arena). */
struct pf_files {
	struct pf_files *next;      /* run->pf_files */
	char *key;                  /* the cache key, which names it */
	enum pf_state state;
	char **paths;               /* PF_KNOWN */
	size_t n_paths;
	const char *why;            /* PF_UNKNOWN */
	struct pf *waiters;         /* PF_PENDING: tasks waiting for it */
};

struct pf {
	struct task *t;
	path_filter_cb *cb;
	struct bs_wctx *ctx;
	struct event *timer;
	struct pf *wnext;           /* the waiters of one pf_files */
	struct pf *prev, *next;     /* every pf of this process (loop thread) */
};

struct pf_fetch {
	struct bs_wctx *ctx;
	struct pf_files *files;
	struct bs_arena *run_arena;
	enum bs_product product;
	const char *repo;
	char *old;                  /* NULL: a single commit against its parent */
	char *new;
	long long deadline;
	long long dc_start;
	struct bs_arena arena;      /* the pages' strings */
	char **paths;               /* malloc'd array, strings in arena */
	size_t n_paths, cap;
};

static struct pf *pfs;          /* decisions under way, for the exit */

/* === helpers ============================================================ */

static bool
shutting_down(const struct bs_wctx *ctx)
{
	return !ctx->redis || !ctx->http;
}

static void
finish(struct pf *p)
{
	struct task *t = p->t;
	path_filter_cb *cb = p->cb;
	if (p->prev)
		p->prev->next = p->next;
	else
		pfs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	event_free(p->timer);
	free(p);
	cb(t);
}

static void
add_str(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* Appends s percent-encoded (common/pct.h). */
static void
add_pct(char **buf, size_t *len, const char *s)
{
	*buf = xrealloc(*buf, *len + 3 * strlen(s) + 1);
	*len += bs_pct_encode(*buf + *len, s);
}

/* "{base}/2.0/repositories/{ws}/{repo}" (Cloud) or
 * "{base}/rest/api/1.0/projects/{P}/repos/{r}" (DC), then tail; malloc'd,
 * NULL when the repository is not "a/b". */
static char *
repo_url(const struct pf_fetch *f, const char *tail)
{
	const char *base = bs_bb_base(f->ctx, f->product);
	const char *slash = f->repo ? strchr(f->repo, '/') : NULL;
	if (!base || !slash || slash == f->repo || !slash[1] ||
	    strchr(slash + 1, '/'))
		return NULL;
	size_t bl = strlen(base), len = 0;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	char *u = xstrndup(base, bl), *owner = xstrndup(f->repo,
	    (size_t)(slash - f->repo));
	len = bl;
	add_str(&u, &len, f->product == BS_PRODUCT_CLOUD ? "/2.0/repositories/" :
	    "/rest/api/1.0/projects/");
	add_pct(&u, &len, owner);
	add_str(&u, &len, f->product == BS_PRODUCT_CLOUD ? "/" : "/repos/");
	add_pct(&u, &len, slash + 1);
	add_str(&u, &len, tail);
	free(owner);
	return u;
}

/* Whether s is a commit hash (or a prefix of one) of 7..40 hex digits. */
static bool
is_hex_hash(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 7 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *c = d; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d;
}

static void
on_ignored(const redisReply *reply, const char *err, void *arg)
{
	(void)reply;
	(void)arg;
	if (err)
		log_debug("path filter: a file list was not cached: %s", err);
}

/* === the decision ======================================================= */

static void
unknown(struct pf *p, const char *why)
{
	struct task *t = p->t;
	bs_metrics_inc(p->ctx->metrics, BS_M_PATHS_UNKNOWN);
	run_log_push(t->run, t);
	log_info("job %s -> %s: the files the push changed are unknown (%s); "
	    "registered as if it had no path prefix", t->run->id, t->name, why);
	bs_log_ctx_pop();
	finish(p);
}

/* p's list is decided (or the worker is shutting down). */
static void
decide(struct pf *p, const struct pf_files *files)
{
	struct task *t = p->t;
	if (shutting_down(p->ctx)) {
		finish(p);
		return;
	}
	if (files->state != PF_KNOWN) {
		unknown(p, files->why ? files->why : "?");
		return;
	}
	run_log_push(t->run, t);
	if (bs_paths_touched(&t->target.dep->paths, files->paths,
	    files->n_paths)) {
		bs_metrics_inc(p->ctx->metrics, BS_M_PATHS_MATCHED);
		log_debug("job %s -> %s: the push touches its path prefixes (%zu "
		    "files changed)", t->run->id, t->name, files->n_paths);
	} else {
		bs_metrics_inc(p->ctx->metrics, BS_M_PATHS_SKIPPED);
		log_info("job %s -> %s: the push touches no file under its path "
		    "prefixes; not registered", t->run->id, t->name);
		t->pf_skip = 1;
	}
	bs_log_ctx_pop();
	finish(p);
}

/* The lookup of files is over: every task waiting for it is decided. The
 * last one may end the run, so nothing of it is touched after that. */
static void
wake(struct pf_files *files)
{
	struct pf *w = files->waiters;
	files->waiters = NULL;
	while (w) {
		struct pf *next = w->wnext;
		decide(w, files);
		w = next;
	}
}

/* === the lookup ========================================================= */

static void
cache_store(struct pf_fetch *f, const char *val, size_t vlen)
{
	struct bs_wctx *ctx = f->ctx;
	if (!ctx->redis)
		return;
	long long ttl_s = ctx->live->cfg->dead.max_age_ms / 1000;
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%lld", ttl_s > 0 ? ttl_s : 86400);
	const char *argv[] = { "SET", f->files->key, val, "EX", ttl };
	size_t argvlen[] = { 3, strlen(f->files->key), vlen, 2, strlen(ttl) };
	bs_redis_command(ctx->redis, 5, argv, argvlen, on_ignored, NULL);
}

/* Ends the lookup: the list is in f (PF_KNOWN), or why it is not. */
static void
fetch_end(struct pf_fetch *f, enum pf_state state, const char *why)
{
	struct pf_files *files = f->files;
	struct bs_arena *a = f->run_arena;
	files->state = state;
	if (state == PF_KNOWN) {
		files->paths = bs_arena_alloc(a, (f->n_paths ? f->n_paths : 1) *
		    sizeof(*files->paths));
		for (size_t i = 0; i < f->n_paths; i++)
			files->paths[i] = bs_arena_strdup(a, f->paths[i]);
		files->n_paths = f->n_paths;
	} else
		files->why = bs_arena_strdup(a, why);
	bs_arena_release(&f->arena);
	free(f->paths);
	free(f->old);
	free(f->new);
	free(f);
	wake(files);
}

/* The list is complete: cached (unless a path cannot be one line), then
 * decided. */
static void
fetched(struct pf_fetch *f)
{
	char *val = NULL;
	size_t len = 0;
	bool storable = true;
	add_str(&val, &len, "paths");
	for (size_t i = 0; i < f->n_paths && storable; i++) {
		storable = !strchr(f->paths[i], '\n') && f->paths[i][0];
		add_str(&val, &len, "\n");
		add_str(&val, &len, f->paths[i]);
	}
	if (storable)
		cache_store(f, val, len);
	free(val);
	log_debug("path filter: %zu changed files from Bitbucket's API",
	    f->n_paths);
	fetch_end(f, PF_KNOWN, NULL);
}

static void
too_many(struct pf_fetch *f)
{
	cache_store(f, PF_CACHE_TOO_MANY, strlen(PF_CACHE_TOO_MANY));
	char why[120];
	snprintf(why, sizeof(why), "more than %d files changed",
	    PATH_FILTER_MAX_FILES);
	fetch_end(f, PF_UNKNOWN, why);
}

static void fetch_page(struct pf_fetch *f, const char *url);

static void
on_page(const struct bs_bb_answer *a, void *arg)
{
	struct pf_fetch *f = arg;
	char why[300];
	if (shutting_down(f->ctx)) {
		fetch_end(f, PF_UNKNOWN, "shutting down");
		return;
	}
	if (a->error) {
		snprintf(why, sizeof(why), "Bitbucket's API: %s", a->error);
		fetch_end(f, PF_UNKNOWN, why);
		return;
	}
	struct bs_changes_page page;
	char err[200] = "";
	if (bs_api_parse_changes(f->product, a->body, a->body_len,
	    PATH_FILTER_MAX_FILES - f->n_paths, &f->arena, &page, err,
	    sizeof(err)) != 0) {
		snprintf(why, sizeof(why), "unreadable page from Bitbucket's API: "
		    "%s", err);
		fetch_end(f, PF_UNKNOWN, why);
		return;
	}
	for (size_t i = 0; i < page.n_paths && f->n_paths <
	    PATH_FILTER_MAX_FILES; i++) {
		if (f->n_paths == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 64;
			f->paths = xrealloc(f->paths, f->cap * sizeof(*f->paths));
		}
		f->paths[f->n_paths++] = page.paths[i];
	}
	if (page.dropped > 0) {
		too_many(f);
		return;
	}
	if (page.last) {
		fetched(f);
		return;
	}
	if (f->n_paths >= PATH_FILTER_MAX_FILES) {
		too_many(f);
		return;
	}
	if (f->product == BS_PRODUCT_CLOUD) {
		if (!page.next || !bs_bb_same_origin(bs_bb_base(f->ctx, f->product),
		    page.next)) {
			fetch_end(f, PF_UNKNOWN, "Bitbucket's next page is on another "
			    "server");
			return;
		}
		char *next = xstrdup(page.next);
		fetch_page(f, next);
		free(next);
		return;
	}
	if (page.next_start <= f->dc_start) {
		fetch_end(f, PF_UNKNOWN, "Bitbucket's next page does not advance");
		return;
	}
	f->dc_start = page.next_start;
	fetch_page(f, NULL);
}

/* GETs url, or (NULL) the first Cloud page / the DC page at dc_start. */
static void
fetch_page(struct pf_fetch *f, const char *url)
{
	if (url) {
		bs_bb_get(f->ctx, f->product, url, f->deadline, PF_MAX_PAGE_BYTES,
		    on_page, f);
		return;
	}
	char *q = NULL;
	size_t len = 0;
	if (f->product == BS_PRODUCT_CLOUD) {
		add_str(&q, &len, "/diffstat/");
		add_pct(&q, &len, f->new);
		if (f->old) {
			add_str(&q, &len, "..");
			add_pct(&q, &len, f->old);
		}
	} else {
		add_str(&q, &len, "/changes?");
		if (f->old) {
			add_str(&q, &len, "since=");
			add_pct(&q, &len, f->old);
			add_str(&q, &len, "&");
		}
		add_str(&q, &len, "until=");
		add_pct(&q, &len, f->new);
		char n[64];
		snprintf(n, sizeof(n), "&limit=%d&start=%lld", PF_DC_LIMIT,
		    f->dc_start);
		add_str(&q, &len, n);
	}
	char *full = repo_url(f, q);
	free(q);
	if (!full) {
		fetch_end(f, PF_UNKNOWN, "the repository name is not "
		    "workspace/repository");
		return;
	}
	bs_bb_get(f->ctx, f->product, full, f->deadline, PF_MAX_PAGE_BYTES,
	    on_page, f);
	free(full);
}

/* A cached list ("paths\n<path>\n..." or "too many"): 0 when usable. */
static int
from_cache(struct pf_fetch *f, const char *s, size_t len)
{
	if (len == strlen(PF_CACHE_TOO_MANY) &&
	    memcmp(s, PF_CACHE_TOO_MANY, len) == 0) {
		char why[120];
		snprintf(why, sizeof(why), "more than %d files changed (cached)",
		    PATH_FILTER_MAX_FILES);
		fetch_end(f, PF_UNKNOWN, why);
		return 0;
	}
	size_t hl = strlen(PF_CACHE_HEAD) - 1;
	if (len < hl || memcmp(s, PF_CACHE_HEAD, hl) != 0 ||
	    (len > hl && s[hl] != '\n') || memchr(s, '\0', len))
		return -1;
	const char *p = s + hl, *end = s + len;
	while (p < end) {
		p++;                    /* the '\n' before each path */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (e == p || f->n_paths >= PATH_FILTER_MAX_FILES)
			return -1;
		if (f->n_paths == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 64;
			f->paths = xrealloc(f->paths, f->cap * sizeof(*f->paths));
		}
		f->paths[f->n_paths++] = bs_arena_strndup(&f->arena, p,
		    (size_t)(e - p));
		p = e;
	}
	log_debug("path filter: %zu changed files from the cache", f->n_paths);
	fetch_end(f, PF_KNOWN, NULL);
	return 0;
}

static void
on_cache(const redisReply *reply, const char *err, void *arg)
{
	struct pf_fetch *f = arg;
	if (shutting_down(f->ctx)) {
		fetch_end(f, PF_UNKNOWN, "shutting down");
		return;
	}
	if (!err && reply && reply->type == REDIS_REPLY_STRING) {
		if (from_cache(f, reply->str, reply->len) == 0)
			return;
		log_warn("path filter cache entry %s unusable; fetching again",
		    f->files->key);
		f->n_paths = 0;
	}
	f->deadline = bs_now_ms() + f->ctx->live->cfg->backfill.max_wait_ms;
	fetch_page(f, NULL);
}

static void
start_fetch(struct pf *p, struct pf_files *files, const char *old,
    const char *new)
{
	struct run *run = p->t->run;
	struct pf_fetch *f = xcalloc(1, sizeof(*f));
	f->ctx = p->ctx;
	f->files = files;
	f->run_arena = &run->arena;
	f->product = run->job.ev.product;
	f->repo = run->job.ev.repository;
	f->old = old ? xstrdup(old) : NULL;
	f->new = xstrdup(new);
	bs_arena_init(&f->arena);
	const char *argv[] = { "GET", files->key };
	size_t argvlen[] = { 3, strlen(files->key) };
	bs_redis_command(p->ctx->redis, 2, argv, argvlen, on_cache, f);
}

/* === start ============================================================== */

/* The commits whose files t's push changed: old..new, or new against its
 * first parent (*old NULL). Returns NULL, or why they are not known. */
static const char *
commits_of(const struct task *t, char **old, char **new)
{
	const struct bs_event *ev = &t->run->job.ev;
	*old = *new = NULL;
	if (t->target.change == SIZE_MAX) {
		if (!is_hex_hash(t->target.sha))
			return "the merge commit's hash is not known";
		*new = lower_dup(t->target.sha);
		return NULL;
	}
	if (t->target.change >= ev->n_changes)
		return "the push names no change";
	const struct bs_change *ch = &ev->changes[t->target.change];
	if (ch->ref_type == BS_REF_TAG)
		return "a tag: no previous commit to compare with";
	if (!ch->old_hash)
		return "a created branch: no previous commit to compare with";
	if (!bs_api_is_hash40(ch->old_hash) || !bs_api_is_hash40(ch->new_commit))
		return "the push does not name both commits";
	*old = lower_dup(ch->old_hash);
	*new = lower_dup(ch->new_commit);
	return NULL;
}

static void
start(struct pf *p)
{
	struct task *t = p->t;
	struct run *run = t->run;
	if (shutting_down(p->ctx) || !path_filter_needed(t)) {
		finish(p);
		return;
	}
	enum bs_product product = run->job.ev.product;
	if (!bs_bb_available(p->ctx, product)) {
		char why[120];
		snprintf(why, sizeof(why), "no Bitbucket API credentials for %s",
		    bs_product_name(product));
		unknown(p, why);
		return;
	}
	char *old, *new;
	const char *why = commits_of(t, &old, &new);
	if (why) {
		unknown(p, why);
		return;
	}
	char pre[BS_KEY_MAX + 16], rest[200];
	snprintf(pre, sizeof(pre), "%s%s:", p->ctx->keys->files,
	    bs_product_name(product));
	snprintf(rest, sizeof(rest), "%s%s:%s", old ? old : new, old ? "" : "^",
	    new);
	char *key = bs_keys_repo(pre, run->job.ev.repository, rest);
	if (!key) {
		free(old);
		free(new);
		unknown(p, "the job names no repository");
		return;
	}
	struct pf_files *files = run->pf_files;
	while (files && strcmp(files->key, key) != 0)
		files = files->next;
	if (files && files->state != PF_PENDING) {
		free(key);
		free(old);
		free(new);
		decide(p, files);
		return;
	}
	if (files) {                /* another task of the run is fetching it */
		p->wnext = files->waiters;
		files->waiters = p;
		free(key);
		free(old);
		free(new);
		return;
	}
	files = bs_arena_alloc(&run->arena, sizeof(*files));
	files->key = bs_arena_strdup(&run->arena, key);
	files->waiters = p;
	files->next = run->pf_files;
	run->pf_files = files;
	start_fetch(p, files, old, new);
	free(key);
	free(old);
	free(new);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start(arg);
}

bool
path_filter_needed(const struct task *t)
{
	return t->target.dep && !bs_paths_none(&t->target.dep->paths);
}

void
path_filter_run(struct task *t, path_filter_cb *cb)
{
	struct pf *p = xcalloc(1, sizeof(*p));
	p->t = t;
	p->cb = cb;
	p->ctx = t->run->ctx;
	t->pf_skip = 0;
	p->timer = evtimer_new(p->ctx->base, on_timer, p);
	if (!p->timer) {
		log_error("cannot create a timer");
		abort();
	}
	p->next = pfs;
	if (p->next)
		p->next->prev = p;
	pfs = p;
	event_active(p->timer, EV_TIMEOUT, 0);
}

void
path_filter_cancel_waiting(struct bs_wctx *ctx)
{
	for (struct pf *p = pfs, *next; p; p = next) {
		next = p->next;
		if (p->ctx == ctx && event_pending(p->timer, EV_TIMEOUT, NULL)) {
			event_del(p->timer);
			finish(p);
		}
	}
}
