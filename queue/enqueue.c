/* enqueue: deliveries into the jobs stream, one at a time (bs_jobs_enqueue,
 * jobs.h) or the deliveries of one loop pass together (enqueue_batch.h),
 * both by one call of bs_script_enqueue (scripts.c), which judges each
 * delivery as if it were alone.
 *
 * Each delivery is checked and copied into its batch's arena when it is
 * added (so the caller's buffers may go away), and becomes its share of
 * the script's KEYS and ARGV plus, when its raw copy is kept, the HSET and
 * EXPIRE of rawin:<delivery> sent just before the script on the same
 * connection. A sent batch keeps only its callbacks: bs_redis_eval_after
 * copies the arguments. */
#include "queue/enqueue_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "queue/lanes.h"
#include "queue/reply.h"
#include "queue/scripts.h"

#define ENQ_DEFAULT_SEEN_TTL 86400
#define ENQ_DEFAULT_WINDOW 600

/* How long a raw delivery waits in rawin:<delivery> for its script: far
 * beyond any command timeout, so it expires only when the script never
 * ran (its connection dropped in between). */
#define ENQ_RAWIN_TTL "60"

/* One delivery's share of the call; every pointer is into the arena. */
struct item {
	bs_enqueue_cb *cb;
	void *arg;
	size_t nkeys, nargs;
	const char **kv, **av;
	size_t *kl, *al;
	int npre;                   /* 0, or 2: HSET and EXPIRE of rawin */
	const char *hv[10], *xv[3];
	size_t hl[10], xl[3];
};

struct batch {
	struct bs_arena arena;
	struct item *items;
	size_t n, cap;
	size_t bytes;
};

struct bs_enqueuer {
	struct event_base *base;
	struct bs_redis *r;
	const struct bs_keys *k;
	struct event *flush_ev;
	struct batch *cur;          /* waiting to be sent, or NULL */
};

/* What a sent batch waits for. */
struct sent {
	size_t n;
	struct {
		bs_enqueue_cb *cb;
		void *arg;
	} to[];
};

static const char *
copy(struct bs_arena *a, const char *s, size_t n)
{
	return bs_arena_strndup(a, s ? s : "", s ? n : 0);
}

static const char *
copys(struct bs_arena *a, const char *s)
{
	return copy(a, s, s ? strlen(s) : 0);
}

/* prefix + id, without printf: a delivery costs a dozen of these. */
static const char *
key_of(struct bs_arena *a, const char *prefix, const char *id)
{
	size_t pl = strlen(prefix), il = strlen(id);
	char *s = bs_arena_alloc(a, pl + il + 1);
	memcpy(s, prefix, pl);
	memcpy(s + pl, id, il);
	return s;
}

/* Decimal text of v (> 0 or 0) in the arena. */
static const char *
num(struct bs_arena *a, long long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long long u = v > 0 ? (unsigned long long)v : 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	char *s = bs_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = tmp[n - 1 - i];
	return s;
}

/* Checks e and fills it (its strings copied into a). Returns NULL, or the
 * reason it cannot be queued (nothing is sent for it). */
static const char *
prepare(struct bs_arena *a, const struct bs_keys *k, const struct bs_enqueue *e,
    struct item *it)
{
	size_t dlen = e->delivery ? strlen(e->delivery) : 0;
	size_t clen = e->content_key ? strlen(e->content_key) : 0;
	const char *hook = e->hook ? e->hook : "";
	if (dlen == 0 || dlen > BS_QUEUE_MAX_ID)
		return "delivery id is empty or too long";
	if (clen > BS_QUEUE_MAX_ID)
		return "content key too long";
	/* Stored after a space in the content key's value: no spaces in it. */
	if (strlen(hook) > BS_QUEUE_MAX_ID || strpbrk(hook, " \r\n"))
		return "hook id too long or with spaces";
	if (!e->job || e->job_len == 0)
		return "empty job";
	size_t nl = e->lanes ? e->n_lanes : 0;
	if (nl > BS_JOBS_MAX_LANES)
		return "too many lanes";
	it->nkeys = 4 + 2 * nl;
	it->nargs = 11 + nl;
	it->kv = bs_arena_alloc(a, it->nkeys * sizeof(*it->kv));
	it->kl = bs_arena_alloc(a, it->nkeys * sizeof(*it->kl));
	it->av = bs_arena_alloc(a, it->nargs * sizeof(*it->av));
	it->al = bs_arena_alloc(a, it->nargs * sizeof(*it->al));
	size_t ki = 0, ai = 0;
#define KEY(s) do { it->kv[ki] = (s); it->kl[ki] = strlen(it->kv[ki]); ki++; } while (0)
#define ARG(s, l) do { it->av[ai] = (s); it->al[ai] = (l); ai++; } while (0)
#define ARGS(s) do { const char *s_ = (s); ARG(s_, strlen(s_)); } while (0)
	const char *rawin = key_of(a, k->rawin, e->delivery);
	KEY(key_of(a, k->seen, e->delivery));
	KEY(key_of(a, k->seenc, clen ? e->content_key : ""));
	KEY(key_of(a, k->raw, e->delivery));
	KEY(rawin);
	for (size_t i = 0; i < nl; i++) {
		struct bs_lane_keys lk;
		if (bs_lane_keys(k, e->lanes[i], &lk) != 0)
			return "bad lane name";
		KEY(copys(a, lk.list));
		KEY(copys(a, lk.meta));
	}
	const char *ev = copys(a, e->event_key);
	/* The job is a binary-safe (ptr, len) pair that need not be
	 * NUL-terminated: never strlen it. */
	ARG(copy(a, e->job, e->job_len), e->job_len);
	ARGS(copys(a, e->delivery));
	ARGS(ev);
	ARGS(num(a, e->seen_ttl_s > 0 ? e->seen_ttl_s : ENQ_DEFAULT_SEEN_TTL));
	ARGS(num(a, e->raw_ttl_s));
	ARGS(num(a, e->maxlen));
	ARGS(clen ? "1" : "0");
	ARGS(num(a, e->window_s > 0 ? e->window_s : ENQ_DEFAULT_WINDOW));
	ARGS(copys(a, hook));
	ARGS(e->resend ? "1" : "0");
	ARGS(num(a, (long long)nl));
	for (size_t i = 0; i < nl; i++)
		ARGS(copys(a, e->lanes[i]));
#undef KEY
#undef ARG
#undef ARGS
	/* The raw delivery goes to rawin:<delivery> just before the script,
	 * which moves it to raw:<delivery> (scripts.c). Nothing is kept
	 * without a raw TTL: do not ship the body for nothing. Headers and
	 * body are (ptr, len) pairs, never strlen'd. */
	it->npre = 0;
	if (e->raw_ttl_s > 0) {
		const char *recv = num(a,
		    e->received_ms > 0 ? e->received_ms : bs_now_ms());
		size_t hlen = e->raw_headers ? e->raw_headers_len : 0;
		size_t blen = e->raw_body ? e->raw_body_len : 0;
		const char *hv[10] = { "HSET", rawin, "headers",
		    copy(a, e->raw_headers, hlen), "body", copy(a, e->raw_body, blen),
		    "event", ev, "received_ms", recv };
		size_t hl[10] = { 4, strlen(rawin), 7, hlen, 4, blen, 5, strlen(ev),
		    11, strlen(recv) };
		memcpy(it->hv, hv, sizeof(hv));
		memcpy(it->hl, hl, sizeof(hl));
		it->xv[0] = "EXPIRE";
		it->xv[1] = rawin;
		it->xv[2] = ENQ_RAWIN_TTL;
		it->xl[0] = 6;
		it->xl[1] = strlen(rawin);
		it->xl[2] = strlen(ENQ_RAWIN_TTL);
		it->npre = 2;
	}
	return NULL;
}

static struct batch *
batch_new(void)
{
	return xcalloc(1, sizeof(struct batch));
}

static void
batch_free(struct batch *b)
{
	bs_arena_release(&b->arena);
	free(b->items);
	free(b);
}

/* Adds e to b. Returns NULL, or the reason it was refused (not added). */
static const char *
batch_add(struct batch *b, const struct bs_keys *k, const struct bs_enqueue *e,
    bs_enqueue_cb *cb, void *arg)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
	}
	struct item *it = &b->items[b->n];
	memset(it, 0, sizeof(*it));
	size_t before = b->arena.total;
	const char *why = prepare(&b->arena, k, e, it);
	if (why)
		return why;
	it->cb = cb;
	it->arg = arg;
	b->n++;
	b->bytes += b->arena.total - before;
	return NULL;
}

static void
on_reply(const redisReply *rep, const char *err, void *arg)
{
	struct sent *s = arg;
	const char *all = NULL;
	if (!rep)
		all = err;
	else if (rep->type == REDIS_REPLY_ERROR)
		all = rep->str;
	else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != s->n)
		all = "unexpected reply to enqueue";
	for (size_t i = 0; i < s->n; i++) {
		bs_enqueue_cb *cb = s->to[i].cb;
		void *cb_arg = s->to[i].arg;
		if (all) {
			cb(BS_ENQ_FAILED, NULL, all, cb_arg);
			continue;
		}
		const redisReply *r = rep->element[i];
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_STRING) {
			cb(BS_ENQ_FAILED, NULL, "unexpected reply to enqueue", cb_arg);
			continue;
		}
		const char *st = r->element[0]->str, *v = r->element[1]->str;
		if (strcmp(st, "queued") == 0)
			cb(BS_ENQ_QUEUED, v, NULL, cb_arg);
		else if (strcmp(st, "dup") == 0)
			cb(BS_ENQ_DUPLICATE, v, NULL, cb_arg);
		else
			cb(BS_ENQ_FAILED, NULL, v, cb_arg);
	}
	free(s);
}

/* Sends b as one script call and frees it; its callbacks run once the
 * reply is in (or before this returns when Redis is not connected). */
static void
batch_send(struct bs_redis *r, const struct bs_keys *k, struct batch *b)
{
	size_t nkeys = 3, nargs = 1, npre = 0;
	for (size_t i = 0; i < b->n; i++) {
		nkeys += b->items[i].nkeys;
		nargs += b->items[i].nargs;
		npre += (size_t)b->items[i].npre;
	}
	size_t argc = nkeys + nargs;
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *argvlen = xcalloc(argc, sizeof(*argvlen));
	struct bs_redis_argv *pre = xcalloc(npre ? npre : 1, sizeof(*pre));
	struct sent *s = xmalloc(sizeof(*s) + b->n * sizeof(s->to[0]));
	s->n = b->n;
	char count[24];
	snprintf(count, sizeof(count), "%zu", b->n);
	const char *fixed[] = { k->jobs, k->stats, k->lanes };
	size_t a = 0, p = 0;
	for (size_t i = 0; i < 3; i++, a++) {
		argv[a] = fixed[i];
		argvlen[a] = strlen(fixed[i]);
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct item *it = &b->items[i];
		memcpy(argv + a, it->kv, it->nkeys * sizeof(*argv));
		memcpy(argvlen + a, it->kl, it->nkeys * sizeof(*argvlen));
		a += it->nkeys;
	}
	argv[a] = count;
	argvlen[a++] = strlen(count);
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		memcpy(argv + a, it->av, it->nargs * sizeof(*argv));
		memcpy(argvlen + a, it->al, it->nargs * sizeof(*argvlen));
		a += it->nargs;
		if (it->npre) {
			pre[p++] = (struct bs_redis_argv){ 10, it->hv, it->hl };
			pre[p++] = (struct bs_redis_argv){ 3, it->xv, it->xl };
		}
		s->to[i].cb = it->cb;
		s->to[i].arg = it->arg;
	}
	bs_redis_eval_after(r, pre, npre, &bs_script_enqueue, (int)nkeys,
	    (int)argc, argv, argvlen, on_reply, s);
	free(pre);
	free(argvlen);
	free(argv);
	batch_free(b);
}

void
bs_jobs_enqueue(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_enqueue *e, bs_enqueue_cb *cb, void *arg)
{
	struct batch *b = batch_new();
	const char *why = batch_add(b, k, e, cb, arg);
	if (why) {
		batch_free(b);
		cb(BS_ENQ_FAILED, NULL, why, arg);
		return;
	}
	batch_send(r, k, b);
}

/* === the enqueuer === */

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bs_enqueuer_flush(arg);
}

struct bs_enqueuer *
bs_enqueuer_new(struct event_base *base, struct bs_redis *r,
    const struct bs_keys *k)
{
	struct bs_enqueuer *q = xcalloc(1, sizeof(*q));
	q->base = base;
	q->r = r;
	q->k = k;
	q->flush_ev = event_new(base, -1, 0, on_flush, q);
	if (!q->flush_ev) {
		fprintf(stderr, "bitsleuth: out of memory (event_new)\n");
		abort();
	}
	return q;
}

void
bs_enqueuer_add(struct bs_enqueuer *q, const struct bs_enqueue *e,
    bs_enqueue_cb *cb, void *arg)
{
	if (!q->cur)
		q->cur = batch_new();
	const char *why = batch_add(q->cur, q->k, e, cb, arg);
	if (why) {
		cb(BS_ENQ_FAILED, NULL, why, arg);
		return;
	}
	if (q->cur->n >= BS_ENQUEUE_BATCH_MAX ||
	    q->cur->bytes >= BS_ENQUEUE_BATCH_BYTES) {
		bs_enqueuer_flush(q);
		return;
	}
	/* Active events run after those the loop has already made active in
	 * this pass: the flush waits for the other ready connections. */
	if (q->cur->n == 1)
		event_active(q->flush_ev, EV_TIMEOUT, 0);
}

void
bs_enqueuer_flush(struct bs_enqueuer *q)
{
	struct batch *b = q->cur;
	q->cur = NULL;
	if (!b)
		return;
	if (b->n == 0) {
		batch_free(b);
		return;
	}
	batch_send(q->r, q->k, b);
}

size_t
bs_enqueuer_waiting(const struct bs_enqueuer *q)
{
	return q->cur ? q->cur->n : 0;
}

void
bs_enqueuer_free(struct bs_enqueuer *q)
{
	if (!q)
		return;
	event_free(q->flush_ev);
	struct batch *b = q->cur;
	free(q);
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		b->items[i].cb(BS_ENQ_FAILED, NULL, bs_redis_err_shutdown,
		    b->items[i].arg);
	batch_free(b);
}
