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

#include <stddef.h>
#include <stdint.h>

#include "queue/keys.h"
#include "queue/redis_client.h"

struct bs_field {
	const char *name;
	const char *val;
	size_t len;
};

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
};

enum bs_enqueue_status {
	BS_ENQ_QUEUED = 0,          /* id = the new stream id */
	BS_ENQ_DUPLICATE,           /* id = the stream id of the first delivery */
	BS_ENQ_FAILED,              /* err set; nothing was written */
};

typedef void bs_enqueue_cb(enum bs_enqueue_status st, const char *id,
    const char *err, void *arg);

/* Dedupe by delivery id and by content key, XADD, remember both keys and
 * keep the raw delivery, all in one script. */
void bs_jobs_enqueue(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_enqueue *e, bs_enqueue_cb *cb, void *arg);

/* ---- worker ---------------------------------------------------------- */

/* entries are valid only during the callback; err set and n == 0 on error. */
typedef void bs_entries_cb(struct bs_entry *entries, size_t n,
    const char *err, void *arg);

/* XREADGROUP GROUP workers <consumer> COUNT n BLOCK ms STREAMS jobs >.
 * A missing group (NOGROUP after Redis lost its data) is re-created with
 * MKSTREAM and reported as an empty read. block_ms must be below the
 * client's command timeout. */
void bs_jobs_read(struct bs_redis *r, const struct bs_keys *k,
    const char *consumer, int count, int block_ms, bs_entries_cb *cb,
    void *arg);

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
 * it is a plain acknowledgement. If the entry was already acknowledged
 * (another worker claimed and finished it) nothing is written and ok=1. */
void bs_jobs_finish(struct bs_redis *r, const struct bs_keys *k,
    const char *id, const struct bs_finish_rec *recs, size_t n,
    long long registered, long long dead_maxlen, bs_done_cb *cb, void *arg);

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

/* ---- operators (synchronous, for the CLI) ---------------------------- */

/* Each works over a redisContext from bs_redis_connect_sync() and returns
 * 0, or -1 with a reason in err. Everything returned is malloc'd and owned
 * by the caller (release with the matching *_release). */

struct bs_admin_consumer {
	char *name;
	long long pending;
};

struct bs_admin_counter {
	char *name;
	long long value;
};

struct bs_admin_stats {
	long long jobs_len;         /* entries in {p}:jobs (unread + pending) */
	long long pending;          /* delivered, not yet acknowledged */
	struct bs_admin_consumer *consumers;  /* pending per consumer */
	size_t n_consumers;
	long long retry_len;        /* records in {p}:retry */
	long long next_retry_ms;    /* earliest due unix ms, -1 when none */
	long long dead_len;         /* entries in {p}:dead */
	long long oldest_age_ms;    /* now - time of the first jobs entry, -1 if none */
	struct bs_admin_counter *counters;   /* the {p}:stats hash */
	size_t n_counters;
};

int bs_admin_stats(redisContext *c, const struct bs_keys *k, long long now_ms,
    struct bs_admin_stats *out, char *err, size_t errlen);
void bs_admin_stats_release(struct bs_admin_stats *s);

/* A stream entry copied out of a reply: names and values are malloc'd and
 * NUL-terminated (len excludes the NUL; values may hold NULs). */
struct bs_admin_entry {
	char *id;
	struct bs_field *fields;
	size_t n_fields;
};

struct bs_admin_entries {
	struct bs_admin_entry *v;
	size_t n;
};

void bs_admin_entry_release(struct bs_admin_entry *e);
void bs_admin_entries_release(struct bs_admin_entries *e);

/* Filters of bs_admin_dead_list; zero/NULL members do not filter. */
struct bs_dead_filter {
	long long since_ms;         /* dead letters written at or after */
	const char *repo;           /* substring of the event's repository */
	const char *deployment;     /* prefix of the target "org/deployment/env" */
	const char *reason;         /* substring of the reason field */
	size_t limit;               /* at most this many (0: 1000) */
};

/* Dead letters, oldest first, that pass every filter. The repository is
 * the entry's "repository" field or else the one in its decoded job. */
int bs_admin_dead_list(redisContext *c, const struct bs_keys *k,
    const struct bs_dead_filter *f, struct bs_admin_entries *out, char *err,
    size_t errlen);

/* One dead letter by id; "no dead letter 'ID'" when missing. */
int bs_admin_dead_get(redisContext *c, const struct bs_keys *k,
    const char *id, struct bs_admin_entry *out, char *err, size_t errlen);

/* In one script: copy dead letter `id` back into {p}:jobs with attempt
 * "0" (history kept), delete it from {p}:dead and log {who, when, what,
 * new_id} in {p}:replays. The new jobs id goes to new_id. */
int bs_admin_dead_replay(redisContext *c, const struct bs_keys *k,
    const char *id, const char *actor, long long now_ms, char *new_id,
    size_t new_id_len, char *err, size_t errlen);

/* XDEL of the given dead letters; *deleted = how many existed. */
int bs_admin_dead_purge(redisContext *c, const struct bs_keys *k,
    const char *const *ids, size_t n, long long *deleted, char *err,
    size_t errlen);

/* A delivery kept by enqueue (raw_ttl_s > 0): "no raw delivery 'ID'" once
 * it expired or when it was never kept. */
struct bs_admin_raw {
	char *headers;
	size_t headers_len;
	char *body;
	size_t body_len;
	char *event;
	char *job_id;               /* stream id it was queued as */
	long long received_ms;
};

int bs_admin_raw_get(redisContext *c, const struct bs_keys *k,
    const char *delivery, struct bs_admin_raw *out, char *err, size_t errlen);
void bs_admin_raw_release(struct bs_admin_raw *raw);

#endif
