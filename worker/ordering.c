/* ordering: one registration per target at a time, in push order (see
 * ordering.h; the Redis side is queue/order.c).
 *
 * A `slot` per target in use (chained hash map, removed when idle) is busy
 * while one task holds it, from its check until bs_ordering_done; other
 * acquisitions wait in a FIFO. The holder's check asks Redis whether a newer
 * push is already registered (SUPERSEDED: the slot passes on at once);
 * Redis errors and malformed origins fail open (GO). Across processes a
 * lock per target in Redis ({p}:lock:<target>, taken by the same script as
 * the check, expiring after the longest Sleuth call) makes workers take
 * turns; a worker that finds it held asks again every 100-200 ms. So the
 * pushes Sleuth sees for a target are always in push order. Verdicts
 * go through a `ready` list drained from a zero-timeout event, so no
 * callback runs inside acquire or inside a Redis reply callback. At exit
 * (bs_ordering_shutdown, or ctx->redis / ctx->http cleared) verdicts are
 * GO without Redis and delivered at once; a `delivering` flag turns nested
 * deliveries into appends. Target names over ORDERING_MAX_NAME: not ordered. */
#include "worker/ordering.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "queue/order.h"
#include "worker/context.h"

#define ORDERING_MAX_NAME 512
#define ORDERING_MIN_BUCKETS 64

struct slot;

struct waiter {
	struct waiter *next;
	struct bs_ordering *o;
	struct slot *slot;          /* NULL for a target that is not ordered */
	char origin[BS_ORDER_ID_MAX + 1];
	int origin_ok;
	enum bs_order_verdict v;
	bs_order_cb *cb;
	void *arg;
	struct event *retry_ev;     /* another process holds the target: wait */
	struct waiter *next_retry;  /* in o->retrying while retry_ev is armed */
};

struct slot {
	struct slot *next;          /* bucket chain */
	uint32_t hash;
	char *name;
	int busy;
	struct waiter *head, *tail; /* waiting acquisitions, FIFO */
};

struct bs_ordering {
	struct bs_wctx *ctx;
	struct slot **buckets;
	size_t n_buckets;           /* a power of two */
	size_t n_slots;
	struct event *ready_ev;
	struct waiter *ready, *ready_tail;
	size_t undelivered;         /* acquisitions whose cb has not run */
	struct waiter *retrying;    /* waiting for another process's turn to end */
	char owner[160];            /* this process in {p}:lock:<target> */
	int delivering;
	int shutdown;
};

/* === the slot map ======================================================= */

static uint32_t
hash_name(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static void
grow(struct bs_ordering *o)
{
	size_t nb = o->n_buckets * 2;
	struct slot **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < o->n_buckets; i++) {
		struct slot *s = o->buckets[i];
		while (s) {
			struct slot *next = s->next;
			size_t j = s->hash & (nb - 1);
			s->next = b[j];
			b[j] = s;
			s = next;
		}
	}
	free(o->buckets);
	o->buckets = b;
	o->n_buckets = nb;
}

static struct slot *
slot_find(struct bs_ordering *o, const char *name, int create)
{
	uint32_t h = hash_name(name);
	for (struct slot *s = o->buckets[h & (o->n_buckets - 1)]; s; s = s->next)
		if (s->hash == h && strcmp(s->name, name) == 0)
			return s;
	if (!create)
		return NULL;
	if (o->n_slots >= o->n_buckets)
		grow(o);
	struct slot *s = xcalloc(1, sizeof(*s));
	s->hash = h;
	s->name = xstrdup(name);
	size_t i = h & (o->n_buckets - 1);
	s->next = o->buckets[i];
	o->buckets[i] = s;
	o->n_slots++;
	return s;
}

static void
slot_remove(struct bs_ordering *o, struct slot *s)
{
	struct slot **pp = &o->buckets[s->hash & (o->n_buckets - 1)];
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	o->n_slots--;
	free(s->name);
	free(s);
}

/* === delivering verdicts ================================================ */

/* The loop no longer runs (exit): no Redis, deliver at once. */
static int
sync_mode(const struct bs_ordering *o)
{
	return o->shutdown || !o->ctx->redis || !o->ctx->http;
}

static void release(struct bs_ordering *o, struct slot *s);

static void
waiter_free(struct waiter *w)
{
	if (w->retry_ev)
		event_free(w->retry_ev);
	free(w);
}

static void
deliver(struct bs_ordering *o)
{
	if (o->delivering)
		return;              /* the outer loop below takes it */
	o->delivering = 1;
	struct waiter *w;
	while ((w = o->ready) != NULL) {
		o->ready = w->next;
		if (!o->ready)
			o->ready_tail = NULL;
		o->undelivered--;
		if (w->v == BS_ORDER_SUPERSEDED && w->slot)
			release(o, w->slot);     /* nothing to send: next one's turn */
		w->cb(w->v, w->arg);
		waiter_free(w);
	}
	o->delivering = 0;
}

static void
ready_push(struct bs_ordering *o, struct waiter *w)
{
	w->next = NULL;
	if (o->ready_tail)
		o->ready_tail->next = w;
	else
		o->ready = w;
	o->ready_tail = w;
	if (sync_mode(o))
		deliver(o);
	else
		event_active(o->ready_ev, EV_TIMEOUT, 0);
}

static void
on_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver(arg);
}

/* === checks ============================================================= */

static void start_check(struct bs_ordering *o, struct waiter *w);

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct waiter *w = arg;
	struct bs_ordering *o = w->o;
	for (struct waiter **pp = &o->retrying; *pp; pp = &(*pp)->next_retry) {
		if (*pp == w) {
			*pp = w->next_retry;
			break;
		}
	}
	start_check(o, w);
}

static void
on_claim(enum bs_order_claim_verdict v, const char *newest, const char *err,
    void *arg)
{
	struct waiter *w = arg;
	struct bs_ordering *o = w->o;
	if (err) {
		log_debug("ordering: checking %s failed (%s); sending anyway",
		    w->slot->name, err);
		w->v = BS_ORDER_GO;
	} else if (v == BS_CLAIM_SUPERSEDED) {
		log_debug("ordering: %s: push %s superseded by registered push %s",
		    w->slot->name, w->origin, newest ? newest : "?");
		w->v = BS_ORDER_SUPERSEDED;
	} else if (v == BS_CLAIM_BUSY && !sync_mode(o)) {
		/* Another worker process is registering this target: ask again
		 * shortly (its lock expires even if it died). */
		if (!w->retry_ev)
			w->retry_ev = evtimer_new(o->ctx->base, on_retry, w);
		if (w->retry_ev) {
			struct timeval tv = { 0, 100000 + (suseconds_t)(rand() % 100000) };
			w->next_retry = o->retrying;
			o->retrying = w;
			evtimer_add(w->retry_ev, &tv);
			return;
		}
		w->v = BS_ORDER_GO;
	} else {
		w->v = BS_ORDER_GO;
	}
	ready_push(o, w);
}

/* w holds its slot in this process now: ask Redis whether it is still
 * wanted and whether another process holds the target. */
static void
start_check(struct bs_ordering *o, struct waiter *w)
{
	if (sync_mode(o) || !w->origin_ok) {
		if (!w->origin_ok && !sync_mode(o))
			log_debug("ordering: %s: no valid origin; sending unchecked",
			    w->slot->name);
		w->v = BS_ORDER_GO;
		ready_push(o, w);
		return;
	}
	const struct bs_config *cfg = o->ctx->live->cfg;
	/* Long enough for the longest Sleuth call, but a dead holder's lock
	 * must be gone by the time its job can be claimed by another worker. */
	long long lock_ms = (long long)cfg->sleuth.timeout_ms +
	    2LL * cfg->redis.command_timeout_ms + 5000;
	if (lock_ms > cfg->worker.visibility_timeout_ms)
		lock_ms = cfg->worker.visibility_timeout_ms;
	bs_order_claim(o->ctx->redis, o->ctx->keys, w->slot->name, w->origin,
	    o->owner, lock_ms, on_claim, w);
}

/* The holder of s is finished: the next waiter (if any) holds it now. */
static void
release(struct bs_ordering *o, struct slot *s)
{
	struct waiter *w = s->head;
	if (!w) {
		slot_remove(o, s);
		return;
	}
	s->head = w->next;
	if (!s->head)
		s->tail = NULL;
	s->busy = 1;
	start_check(o, w);
}

/* === API ================================================================ */

struct bs_ordering *
bs_ordering_new(struct bs_wctx *ctx)
{
	struct bs_ordering *o = xcalloc(1, sizeof(*o));
	o->ctx = ctx;
	o->n_buckets = ORDERING_MIN_BUCKETS;
	char host[64] = "host";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(o->owner, sizeof(o->owner), "%s-%ld-%p", host, (long)getpid(),
	    (void *)o);
	o->buckets = xcalloc(o->n_buckets, sizeof(*o->buckets));
	o->ready_ev = event_new(ctx->base, -1, 0, on_ready, o);
	if (!o->ready_ev) {
		log_error("cannot create the ordering event");
		abort();
	}
	return o;
}

void
bs_ordering_acquire(struct bs_ordering *o, const char *target,
    const char *origin, bs_order_cb *cb, void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->o = o;
	w->cb = cb;
	w->arg = arg;
	if (origin && strlen(origin) <= BS_ORDER_ID_MAX) {
		snprintf(w->origin, sizeof(w->origin), "%s", origin);
		w->origin_ok = bs_order_id_parse(w->origin, NULL, NULL) == 0;
	}
	o->undelivered++;
	if (!target || strlen(target) > ORDERING_MAX_NAME) {
		w->v = BS_ORDER_GO;
		ready_push(o, w);
		return;
	}
	struct slot *s = slot_find(o, target, 1);
	w->slot = s;
	if (s->busy) {
		if (s->tail)
			s->tail->next = w;
		else
			s->head = w;
		s->tail = w;
		return;
	}
	s->busy = 1;
	start_check(o, w);
}

static void
on_set(int updated, const char *err, void *arg)
{
	char *target = arg;
	if (updated < 0)
		log_debug("ordering: recording the newest push of %s failed: %s",
		    target, err ? err : "?");
	free(target);
}

void
bs_ordering_done(struct bs_ordering *o, const char *target,
    const char *origin, int registered)
{
	if (!target || strlen(target) > ORDERING_MAX_NAME)
		return;
	struct slot *s = slot_find(o, target, 0);
	if (!s || !s->busy) {
		log_warn("ordering: %s released without being held", target);
		return;
	}
	/* Sent before the next holder's check on the same connection, so
	 * Redis sees the new newest first; also gives the target back to
	 * the other processes. */
	if (!sync_mode(o))
		bs_order_release(o->ctx->redis, o->ctx->keys, target,
		    registered && bs_order_id_parse(origin, NULL, NULL) == 0 ?
		    origin : NULL, o->owner, on_set, xstrdup(target));
	s->busy = 0;
	release(o, s);
}

void
bs_ordering_shutdown(struct bs_ordering *o)
{
	if (!o)
		return;
	o->shutdown = 1;
	while (o->retrying) {
		struct waiter *w = o->retrying;
		o->retrying = w->next_retry;
		evtimer_del(w->retry_ev);
		w->v = BS_ORDER_GO;
		ready_push(o, w);
	}
	deliver(o);
}

void
bs_ordering_free(struct bs_ordering *o)
{
	if (!o)
		return;
	assert(o->n_slots == 0 && o->undelivered == 0 && !o->ready);
	if (o->n_slots || o->undelivered)
		log_warn("ordering: %zu targets held, %zu acquisitions without a "
		    "verdict at exit; dropped", o->n_slots, o->undelivered);
	for (size_t i = 0; i < o->n_buckets; i++) {
		struct slot *s = o->buckets[i];
		while (s) {
			struct slot *next = s->next;
			for (struct waiter *w = s->head, *wn; w; w = wn) {
				wn = w->next;
				waiter_free(w);
			}
			free(s->name);
			free(s);
			s = next;
		}
	}
	for (struct waiter *w = o->ready, *wn; w; w = wn) {
		wn = w->next;
		waiter_free(w);
	}
	for (struct waiter *w = o->retrying, *wn; w; w = wn) {
		wn = w->next_retry;
		waiter_free(w);
	}
	free(o->buckets);
	event_free(o->ready_ev);
	free(o);
}
