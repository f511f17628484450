/* order: the Redis side of per-target push order ({p}:order).
 *
 * {p}:order is a hash: target name "org/deployment/environment" -> the
 * origin (stream id "ms-seq" of a job's first entry) of the newest push
 * registered for that target. Stream ids order pushes by arrival; they are
 * compared numerically (ms, then seq), never as strings, here and in the
 * Lua scripts. Knows nothing of workers: worker/ordering.c builds the
 * per-process queueing on top.
 *
 * Every async call's callback runs exactly once (see redis_client.h; when
 * the client is not connected that is before the call returns). */
#ifndef BS_ORDER_H
#define BS_ORDER_H

#include "queue/keys.h"
#include "queue/redis_client.h"

/* Longest origin accepted (two 20-digit numbers and '-'). */
#define BS_ORDER_ID_MAX 41

/* Parses a stream id "ms-seq" (decimal digits only, each part at most 20
 * digits and below 2^64). Returns 0, or -1 when s is not one. */
int bs_order_id_parse(const char *s, unsigned long long *ms,
    unsigned long long *seq);

/* Numeric order of two stream ids: < 0 when a is older than b, 0 when
 * equal, > 0 when newer. An invalid id is older than every valid one; two
 * invalid ids are equal. */
int bs_order_id_cmp(const char *a, const char *b);

/* origin: the newest registered origin of target, or NULL when none is
 * recorded; err set (origin NULL) on failure. */
typedef void bs_order_get_cb(const char *origin, const char *err, void *arg);

/* HGET {p}:order target. */
void bs_order_get(struct bs_redis *r, const struct bs_keys *k,
    const char *target, bs_order_get_cb *cb, void *arg);

/* superseded = 1 when a push newer than the caller's origin is already
 * registered for the target (newest = that origin), else 0 (newest = the
 * recorded origin or NULL). On failure superseded = 0, newest = NULL and
 * err is set. */
typedef void bs_order_check_cb(int superseded, const char *newest,
    const char *err, void *arg);

/* In one script: reads the target's newest origin and, when it is newer
 * than origin, counts the task as superseded (HINCRBY {p}:stats superseded
 * 1). A malformed origin is an error (nothing counted). */
void bs_order_check(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, bs_order_check_cb *cb,
    void *arg);

/* updated = 1 when origin was recorded, 0 when the recorded one was
 * already as new or newer; -1 with err on failure. */
typedef void bs_order_set_cb(int updated, const char *err, void *arg);

/* In one script: records origin as the target's newest unless the recorded
 * one is newer or the same (a malformed recorded value is overwritten). A
 * malformed origin is an error (nothing written). cb may be NULL. */
void bs_order_set_if_newer(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, bs_order_set_cb *cb, void *arg);

/* === cross-process turn ================================================
 * Several worker processes may hold jobs for one target. A short lock
 * {p}:lock:<target> (value = the holder's owner string, expiring after
 * lock_ms so a dead holder cannot block the target for longer) makes them
 * take turns, and the check against {p}:order inside the same script keeps
 * the registered sequence of a target in push order across processes. */

enum bs_order_claim_verdict {
	BS_CLAIM_GO = 0,            /* the lock is ours: send, then release */
	BS_CLAIM_SUPERSEDED = 1,    /* a newer push is registered: counted, no lock */
	BS_CLAIM_BUSY = 2,          /* another process holds the target: try later */
};

typedef void bs_order_claim_cb(enum bs_order_claim_verdict v,
    const char *newest, const char *err, void *arg);

/* In one script: SUPERSEDED (and HINCRBY {p}:stats superseded) when a push
 * newer than origin is registered for target; else BUSY when the lock is
 * held by another owner; else takes the lock for lock_ms and GO. On failure
 * err is set and v is BS_CLAIM_GO (callers fail open). */
void bs_order_claim(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, const char *owner,
    long long lock_ms, bs_order_claim_cb *cb, void *arg);

/* In one script: when registered_origin is not NULL, records it as the
 * target's newest (as bs_order_set_if_newer), and deletes the lock if
 * `owner` still holds it. cb may be NULL; updated as in bs_order_set_cb. */
void bs_order_release(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *registered_origin, const char *owner,
    bs_order_set_cb *cb, void *arg);

#endif
