/* ordering: registrations for one target go out in push order. See
 * ordering.c. Private to worker/ (the consumer uses it). */
#ifndef BS_ORDERING_H
#define BS_ORDERING_H
struct bs_wctx;
struct bs_ordering;
enum bs_order_verdict { BS_ORDER_GO = 0, BS_ORDER_SUPERSEDED = 1 };
typedef void bs_order_cb(enum bs_order_verdict v, void *arg);
/* Per-process ordering on ctx's loop, Redis (ctx->redis, ctx->keys). */
struct bs_ordering *bs_ordering_new(struct bs_wctx *ctx);
/* Call only at exit, after every run has finished: then no task holds a
 * target and no acquisition waits (asserted in debug builds). Anything left
 * anyway (a broken caller) is dropped without callback and freed. */
void bs_ordering_free(struct bs_ordering *o);
/* Calls cb exactly once, never before returning: GO when this task may be sent now (the caller
 * must then call bs_ordering_done for the same target), SUPERSEDED when a newer push for the
 * target is already registered (nothing to release). Tasks for one target run one at a time,
 * the others wait in FIFO order; different targets never wait for each other. A Redis error
 * or a malformed origin gives GO (fail open). Exception to "never before returning": after
 * bs_ordering_shutdown, or while ctx->redis or ctx->http is NULL (the clients are being
 * freed at exit and the loop no longer runs), cb runs at once with GO, without Redis. */
void bs_ordering_acquire(struct bs_ordering *o, const char *target, const char *origin,
    bs_order_cb *cb, void *arg);
/* Releases target (the next waiting task may go); registered != 0 records origin as the
 * target's newest when it is newer. Call it as soon as the task's Sleuth call has an outcome
 * (not when its whole run finishes: a run may hold two tasks for one target). */
void bs_ordering_done(struct bs_ordering *o, const char *target, const char *origin,
    int registered);
/* Call when the loop has stopped, before the Sleuth client and the Redis clients are freed
 * (bs_worker_close does).
 * Every verdict already decided but not yet delivered (they wait for the loop) is delivered
 * now, and from then on every verdict at once, with GO and no Redis check, so that every run
 * can still finish while the clients are freed. Idempotent. */
void bs_ordering_shutdown(struct bs_ordering *o);
#endif
