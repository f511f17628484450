/* jobs: the queue operations of ingest and workers, each one atomic.
 *
 * Where a job lives (exactly one place at any instant):
 *   {p}:jobs   stream, consumer group "workers": new jobs and due retries
 *   {p}:retry  zset, score = due unix ms, member = msgpack array of the
 *              entry's field/value pairs (so a Lua script can XADD it back)
 *   {p}:dead   stream of dead letters
 * Every move between them is one Lua script (XACK+XDEL of the stream entry
 * together with the ZADD/XADD elsewhere), so a crash at any instant leaves a
 * job in exactly one place; an entry is only XDELed in the same step that
 * stores its successor. Durable counters live in the {p}:stats hash.
 *
 * Entry fields in {p}:jobs: job (msgpack, see job_codec.h), delivery, event,
 * and for a retry also target ("org/deployment/environment"), attempt,
 * first_ms and history (JSON array of earlier attempts).
 *
 * Every call's callback runs exactly once (see redis_client.h). */
#ifndef BS_JOBS_H
#define BS_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/keys.h"
#include "queue/record.h"
#include "queue/redis_client.h"

struct bs_field {
	const char *name;
	const char *val;
	size_t len;
};

/* Fills f with name and val[0..len) (binary-safe), or with name and the
 * C string val; a NULL val is the empty value. Nothing is copied. */
void bs_field_set(struct bs_field *f, const char *name, const char *val,
    size_t len);
void bs_field_str(struct bs_field *f, const char *name, const char *val);

struct bs_entry {
	const char *id;             /* stream id "ms-seq" */
	struct bs_field *fields;
	size_t n_fields;
	long long delivered;        /* times delivered (XAUTOCLAIM: >1 = redelivery) */
};

/* The field `name` of e, or NULL. */
const struct bs_field *bs_entry_field(const struct bs_entry *e,
    const char *name);

/* ---- ingest ---------------------------------------------------------- */

struct bs_enqueue {
	const char *delivery;       /* delivery id: dedupe key */
	const char *content_key;    /* content dedupe key (event+repo+ref+hash), may be NULL */
	const char *event_key;
	const char *job;            /* encoded job */
	size_t job_len;
	const char *raw_headers;    /* kept for replay: "Name: value\n"... */
	size_t raw_headers_len;
	const char *raw_body;
	size_t raw_body_len;
	int seen_ttl_s;             /* how long a delivery id is remembered (<= 0: 86400) */
	int raw_ttl_s;              /* how long the raw delivery is kept (0: not kept) */
	long long maxlen;           /* approximate cap of the jobs stream, 0 = none */
	long long received_ms;      /* when the delivery arrived, kept with the raw
	                             * delivery (<= 0: now); a replay passes the
	                             * original's */
	int window_s;               /* queue.content_dedupe_window (<= 0: 600): how
	                             * long a content key is remembered, and how
	                             * long after the copy queued under this
	                             * delivery id a resend is still a duplicate */
	const char *hook;           /* webhook id (X-Hook-UUID), NULL or "" if none */
	bool resend;                /* the sender says it sent this request before
	                             * (X-Attempt-Number > 1) */
	const char *const *lanes;   /* targets the push hits: it joins their lanes */
	size_t n_lanes;             /* (lanes.h); at most BS_JOBS_MAX_LANES */
	const char *repository;     /* the event's, a plain field of {p}:events */
	const struct bs_record_opts *events; /* NULL or !on: no {p}:events entry */
};

#define BS_JOBS_MAX_LANES 64

enum bs_enqueue_status {
	BS_ENQ_QUEUED = 0,          /* id = the new stream id */
	BS_ENQ_DUPLICATE,           /* id = the stream id of the first delivery */
	BS_ENQ_FAILED,              /* err set; nothing was written */
};

typedef void bs_enqueue_cb(enum bs_enqueue_status st, const char *id,
    const char *err, void *arg);

/* Dedupe, XADD, remember both keys and keep the raw delivery, all in one
 * script (bs_script_enqueue). A duplicate is
 *   - a delivery id already queued, unless `resend` and that copy was
 *     queued more than window_s ago (a manual Resend: queued again);
 *   - else a content key queued within window_s under another hook, or
 *     where either hook is empty (the same content under the same
 *     non-empty hook is a new event: queued, and the key now names it).
 * The first job's id comes back with BS_ENQ_DUPLICATE. A queued job's id
 * joins the tail of each of its lanes in the same step; a lane name that
 * is empty or over BS_LANE_NAME_MAX fails the call (nothing written).
 * With events on, a queued job is also appended to {p}:events in that
 * step (record.h: the job bytes, or their JSON form). */
void bs_jobs_enqueue(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_enqueue *e, bs_enqueue_cb *cb, void *arg);

/* ---- worker ---------------------------------------------------------- */

/* entries are valid only during the callback; err set and n == 0 on error. */
typedef void bs_entries_cb(struct bs_entry *entries, size_t n,
    const char *err, void *arg);

/* XREADGROUP GROUP workers <consumer> COUNT n BLOCK ms STREAMS jobs >:
 * new entries. With `from` an id instead (no BLOCK): the entries already
 * pending for this consumer after that id ("0": from the start), oldest
 * first, in order to take up again those whose XREADGROUP reply, or whose
 * recorded outcome, a Redis failover took away; a pending entry deleted
 * from the stream is not among them. A missing group (NOGROUP after Redis
 * lost its data) is re-created with MKSTREAM and reported as an empty
 * read. block_ms must be below the client's command timeout. */
void bs_jobs_read(struct bs_redis *r, const struct bs_keys *k,
    const char *consumer, const char *from, int count, int block_ms,
    bs_entries_cb *cb, void *arg);

/* XAUTOCLAIM of entries idle longer than min_idle_ms (a dead consumer's),
 * up to count; they arrive with delivered > 1. */
void bs_jobs_claim(struct bs_redis *r, const struct bs_keys *k,
    const char *consumer, long long min_idle_ms, int count, bs_entries_cb *cb,
    void *arg);

/* Creates the consumer group (MKSTREAM) if missing. */
void bs_jobs_ensure_group(struct bs_redis *r, const struct bs_keys *k,
    bs_redis_reply_cb *cb, void *arg);

enum bs_finish_kind { BS_FINISH_RETRY = 1, BS_FINISH_DEAD = 2 };

/* What becomes of one failed target of an entry. */
struct bs_finish_rec {
	enum bs_finish_kind kind;
	long long due_ms;           /* RETRY: when to run again */
	const struct bs_field *fields;  /* the successor entry's fields */
	size_t n_fields;
};

typedef void bs_done_cb(int ok, const char *err, void *arg);

/* In one script: ZADD each RETRY record to {p}:retry, XADD each DEAD record
 * to {p}:dead (capped at dead_maxlen, approximately), XACK and XDEL the
 * entry `id`, and count registered/retried/dead in {p}:stats. With n == 0
 * it is a plain acknowledgement. If the entry was already acknowledged, or
 * `consumer` is given and the entry is no longer pending for it (another
 * worker claimed it and owns its outcome now), nothing is written but the
 * count finish_repeats in {p}:stats, and ok=1.
 * Safe to repeat after a timeout: a finish that did run is not redone. */
void bs_jobs_finish(struct bs_redis *r, const struct bs_keys *k,
    const char *id, const char *consumer, const struct bs_finish_rec *recs,
    size_t n, long long registered, long long dead_maxlen, bs_done_cb *cb,
    void *arg);

struct bs_lane_op;

/* The whole outcome of one entry, for bs_jobs_finish_lanes. */
struct bs_finish {
	const char *id;
	const char *consumer;       /* NULL: any */
	const struct bs_finish_rec *recs;
	size_t n_recs;
	long long registered;
	long long dead_maxlen;
	const struct bs_lane_op *ops;   /* what each task does to its lane */
	size_t n_ops;
	const char *owner;          /* lease owner of this process (lanes.h) */
	long long hold_ms;          /* worker.order_hold: a failing head is
	                             * released past it (lanes.h) */
	const struct bs_record_opts *events; /* NULL or !on: outcomes unwritten */
	const struct bs_outcome_rec *outcomes; /* for {p}:deploys */
	size_t n_outcomes;
};

/* One deploy outcome for {p}:deploys (record.h). */
struct bs_outcome_rec {
	const char *kind;           /* BS_REC_* */
	const char *target, *delivery, *repository, *job; /* NULL: "" */
	long long at_ms;
	const char *data;           /* bs_record_deploy() in the events' format */
	size_t data_len;
};

/* bs_jobs_finish plus, in the same script, each lane op (lanes.h): the
 * lease given back, the position leaving or staying in its lane or parked
 * there, the target's newest registration recorded, the next parked head
 * woken, and each outcome appended to {p}:deploys. Nothing of it happens
 * when the finish writes nothing (see bs_jobs_finish), so an outcome is
 * there exactly once however often the finish is sent. */
void bs_jobs_finish_lanes(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_finish *f, bs_done_cb *cb, void *arg);

/* Moves up to max retry records due at now_ms back into {p}:jobs (one
 * script); cb's ok = number moved (>= 0), or -1 on error. */
typedef void bs_count_cb(long long n, const char *err, void *arg);
void bs_jobs_promote(struct bs_redis *r, const struct bs_keys *k,
    long long now_ms, int max, bs_count_cb *cb, void *arg);

/* XADD to {p}:dryrun (capped at maxlen): what would have been sent. */
void bs_jobs_record_dryrun(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_field *fields, size_t n, long long maxlen,
    bs_done_cb *cb, void *arg);

/* HINCRBY {p}:stats name by. */
void bs_jobs_count(struct bs_redis *r, const struct bs_keys *k,
    const char *name, long long by, bs_done_cb *cb, void *arg);

#endif
