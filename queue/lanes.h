/* lanes: per-target push order across every worker process, in Redis.
 *
 * A target ("org/deployment/environment") has a lane: the pushes for it
 * that have no outcome yet, in push order. SQS FIFO message groups, Kafka
 * partitions and BullMQ groups are the model: strict order within a lane,
 * full parallelism across lanes, a failing head blocks only its own lane,
 * and only for a bounded time (worker.order_hold).
 *
 *   {p}:lane:<T>   list of positions (stream ids), oldest first. Ingest's
 *                  enqueue script appends the new entry's id to the lane of
 *                  every target the push hits, in the step that queues it,
 *                  so lane order is push order whoever reads the entries.
 *   {p}:lanex:<T>  hash: lease "until_ms|owner|position" (one send in
 *                  flight per lane), head, since (ms the head became head),
 *                  blocked (ms a push first waited behind this head),
 *                  failing (the head has failed at least once).
 *   {p}:lanep:<T>  hash: "p:<position>" parked successor (msgpack array of
 *                  entry fields, as in {p}:retry) of a push waiting its
 *                  turn; "r:<position>" a head released past the hold.
 *   {p}:lanes      zset of lanes with pushes, score = the head's since.
 *   {p}:order      hash: target -> position of the newest push registered.
 *   {p}:deployed   hash: target -> the sha that registration sent (what
 *                  the next deploy's commits are counted from, issue 12).
 *
 * A task (one push, one target) asks for its turn (bs_lane_acquire): GO
 * takes the lease; WAIT means an older push is ahead, so the task is
 * parked in its run's finish step and the entry acknowledged; whoever
 * finishes the head moves the next head's parked record back into the
 * jobs stream in the same step (lane_wake). A worker that dies holding a
 * lease loses it after lease_ms; the periodic sweep then wakes the parked
 * head, and releases a failing head that has blocked its lane for longer
 * than the hold: the next push goes, the released one keeps its retries
 * and, when one comes due, goes to the dead letters as superseded if a
 * newer push has been registered meanwhile (bs_lane_acquire: SUPERSEDED),
 * else is sent (it is still older than anything registered).
 *
 * Positions are stream ids "ms-seq", compared numerically (bs_stream_id_cmp,
 * and in Lua). A fresh entry's position is its own id, a retry or parked
 * successor carries it in its `origin` field; a dead letter replayed by an
 * operator loses it and joins its lane at the tail with the new id.
 *
 * Every async call's callback runs exactly once (see redis_client.h; when
 * the client is not connected that is before the call returns). */
#ifndef BS_LANES_H
#define BS_LANES_H

#include <stddef.h>

#include "queue/keys.h"
#include "queue/redis_client.h"

/* Longest position accepted (two 20-digit numbers and '-'), and the
 * longest target name a lane is kept for (longer names: not ordered). */
#define BS_STREAM_ID_MAX 41
#define BS_LANE_NAME_MAX 512

/* Parses a stream id "ms-seq" (decimal digits only, each part at most 20
 * digits and below 2^64). Returns 0, or -1 when s is not one. */
int bs_stream_id_parse(const char *s, unsigned long long *ms,
    unsigned long long *seq);

/* The ms part of a stream id (when Redis added it), 0 when s is not one. */
long long bs_stream_id_ms(const char *s);

/* Numeric order of two stream ids: < 0 when a is older than b, 0 when
 * equal, > 0 when newer. An invalid id is older than every valid one; two
 * invalid ids are equal. */
int bs_stream_id_cmp(const char *a, const char *b);

/* The three keys of target's lane into l (each BS_KEY_MAX + name long).
 * Returns 0, or -1 when the name is empty or over BS_LANE_NAME_MAX. */
struct bs_lane_keys {
	char list[BS_KEY_MAX + BS_LANE_NAME_MAX];
	char meta[BS_KEY_MAX + BS_LANE_NAME_MAX];
	char parked[BS_KEY_MAX + BS_LANE_NAME_MAX];
};
int bs_lane_keys(const struct bs_keys *k, const char *target,
    struct bs_lane_keys *l);

enum bs_lane_verdict {
	BS_LANE_GO = 0,         /* the lease is ours: send, then finish */
	BS_LANE_WAIT,           /* an older push is ahead: park it */
	BS_LANE_WAIT_RELEASED,  /* released past the hold, the lane is busy:
	                         * try again shortly (not parked) */
	BS_LANE_SUPERSEDED,     /* a newer push is registered: dead letter */
	BS_LANE_DONE,           /* this very push is registered already */
};

const char *bs_lane_verdict_name(enum bs_lane_verdict v);

/* info: SUPERSEDED: the target's newest registered position; GO: the sha
 * last registered for the target ({p}:deployed), NULL when none is known;
 * else NULL. On failure err is set (and v is meaningless). */
typedef void bs_lane_cb(enum bs_lane_verdict v, const char *info,
    const char *err, void *arg);

/* In one script, for the task (target, origin) of lease owner `owner`:
 * DONE/SUPERSEDED when {p}:order holds origin or a newer position; WAIT
 * when another task holds a valid lease; GO (lease taken for lease_ms,
 * Redis' clock) when origin is the lane's head or a released one; a
 * position not in the lane (an entry queued before lanes existed, a target
 * the worker's config has and ingest's had not, a replayed dead letter)
 * joins it at the tail first. A malformed origin or name is an error. */
void bs_lane_acquire(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, const char *owner,
    long long lease_ms, bs_lane_cb *cb, void *arg);

/* What a finished task does to its lane (in bs_jobs_finish's step). */
enum bs_lane_action {
	BS_LANE_REGISTERED = 1, /* leaves the lane; newest registered = it */
	BS_LANE_LEAVE,          /* leaves (dead letter, dry run, done, unmatched) */
	BS_LANE_LEAVE_SUPERSEDED, /* leaves, counted as superseded */
	BS_LANE_KEEP,           /* stays, a retry is scheduled: a head is failing */
	BS_LANE_STAY,           /* stays, not attempted (no turn yet) */
	BS_LANE_PARK,           /* waits: `fields` are its successor entry */
};

struct bs_field;
struct bs_lane_op {
	const char *target;
	const char *origin;
	enum bs_lane_action action;
	const struct bs_field *fields;  /* PARK only */
	size_t n_fields;
	const char *sha;                /* REGISTERED: the sha sent, or NULL */
};

typedef void bs_lane_step_cb(int ok, const char *err, void *arg);

/* One task's lane op (REGISTERED or LEAVE only) on its own, ahead of its
 * run's finish, so that a target's next push need not wait for the other
 * targets of the same push: the same effect as that op in
 * bs_jobs_finish_lanes, and safe to apply there again (idempotent). */
void bs_lane_step(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, enum bs_lane_action action,
    const char *sha, const char *owner, long long hold_ms,
    bs_lane_step_cb *cb, void *arg);

/* What the sweep saw and did. */
struct bs_lanes_sweep {
	long long lanes;        /* lanes with pushes (ZCARD {p}:lanes) */
	long long oldest_head_ms; /* since of the oldest head, 0 when none */
	long long waiting;      /* pushes behind a head, in the lanes looked at */
	long long held;         /* of those lanes: head failing, pushes waiting */
	long long released;     /* heads released past the hold now */
	long long woken;        /* parked heads moved back into the stream now */
	size_t looked_at;
};

typedef void bs_lanes_sweep_cb(const struct bs_lanes_sweep *s,
    const char *err, void *arg);

/* Two steps: ZRANGEBYSCORE {p}:lanes for up to max lanes whose head is
 * older than min_age_ms (by the client's clock; starting at *cursor,
 * which advances and wraps so that every old lane is visited), then one
 * script over those lanes: a head with a parked record and no valid lease
 * is woken (lost wake-ups: a worker died holding the lease); a failing
 * head without a lease that has blocked pushes for hold_ms or longer is
 * released (counted in {p}:stats lanes_released). cursor must live until
 * cb runs. */
void bs_lanes_sweep(struct bs_redis *r, const struct bs_keys *k,
    long long now_ms, long long min_age_ms, long long hold_ms, int max,
    long long *cursor, bs_lanes_sweep_cb *cb, void *arg);

#endif
