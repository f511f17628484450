/* admin: synchronous queue operations for the operator commands. */
#ifndef BS_ADMIN_H
#define BS_ADMIN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/jobs.h"
#include "queue/keys.h"

/* ---- operators (synchronous, for the CLI) ---------------------------- */

/* Each works over a redisContext from bs_redis_connect_sync() and returns
 * 0, or -1 with a reason in err. Everything returned is malloc'd and owned
 * by the caller (release with the matching *_release). */

/* A consumer of the jobs group: every one XINFO CONSUMERS knows, idle
 * ones (pending 0) included. */
struct bs_admin_consumer {
	char *name;
	long long pending;
	long long idle_ms;          /* since its last read or claim; -1 unknown */
};

#define BS_ADMIN_MAX_CONSUMERS 1000

struct bs_admin_counter {
	char *name;
	long long value;
};

/* One Bitbucket API token bucket (api_budget.h) as last written. */
struct bs_admin_budget {
	char *bucket;               /* "bb.<hash of host and credential>" */
	double tokens;              /* at ts_ms */
	long long ts_ms, until_ms;  /* last refill; paused by a 429 until */
};

struct bs_admin_stats {
	long long jobs_len;         /* entries in {p}:jobs (unread + pending) */
	long long pending;          /* delivered, not yet acknowledged */
	struct bs_admin_consumer *consumers;  /* pending per consumer */
	size_t n_consumers;
	long long retry_len;        /* records in {p}:retry */
	long long next_retry_ms;    /* earliest due unix ms, -1 when none */
	long long dead_len;         /* entries in {p}:dead */
	long long dryrun_len;       /* entries in {p}:dryrun (sleuth.dry_run) */
	long long oldest_age_ms;    /* now - time of the first jobs entry, -1 if none */
	/* Lanes (lanes.h), over at most BS_ADMIN_MAX_LANES of them, oldest
	 * head first (lanes counts all). */
	long long lanes;            /* targets with pushes without an outcome */
	long long lane_waiting;     /* pushes waiting behind their lane's head */
	long long lanes_held;       /* lanes whose failing head holds pushes back */
	long long oldest_head_age_ms; /* now - since of the oldest head, -1 if none */
	struct bs_admin_counter *counters;   /* the {p}:stats hash */
	size_t n_counters;
	struct bs_admin_budget *budgets;     /* {p}:apibudget:*, at most 64 */
	size_t n_budgets;
};

#define BS_ADMIN_MAX_LANES 10000

/* The figures of one shard's keys k. with_budgets: also the API token
 * buckets (a SCAN of the whole keyspace: only for the shard that holds
 * them, shard 0). */
int bs_admin_stats(redisContext *c, const struct bs_keys *k, long long now_ms,
    int with_budgets, struct bs_admin_stats *out, char *err, size_t errlen);
void bs_admin_stats_release(struct bs_admin_stats *s);

/* An empty sum for bs_admin_stats_add (the "none" values are -1). */
void bs_admin_stats_zero(struct bs_admin_stats *sum);
/* Adds the stats of one shard (queue/shard.h) to sum: counts and
 * counters (by name) and consumers' pending (by name) add up, the next
 * retry is the earliest, the ages the oldest, budgets are appended (only
 * shard 0 holds any). s stays the caller's. */
void bs_admin_stats_add(struct bs_admin_stats *sum,
    const struct bs_admin_stats *s);

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

/* The value of field `name` of e (NUL-terminated; *len, when not NULL, gets
 * its length), or NULL when e has no such field. */
const char *bs_admin_entry_field(const struct bs_admin_entry *e,
    const char *name, size_t *len);
void bs_admin_entries_release(struct bs_admin_entries *e);
/* Copies the stream entry e of a reply (bs_reply_entry_shape checked:
 * [id, [f, v, ...]], or [id, nil] for one deleted while pending, which
 * gets its id only) into *out. */
void bs_admin_entry_copy(const redisReply *e, struct bs_admin_entry *out);

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
 * "0" (history kept), delete it from {p}:dead and record the replay in
 * {p}:replays as {kind "dead", who, when_ms, what id, job NEW_ID} plus the
 * dead letter's target when it has one (see bs_admin_replay_record). The
 * new jobs id goes to new_id. */
int bs_admin_dead_replay(redisContext *c, const struct bs_keys *k,
    const char *id, const char *actor, long long now_ms, char *new_id,
    size_t new_id_len, char *err, size_t errlen);

/* ---- the replay log {p}:replays ---------------------------------------
 *
 * One record per replay, whatever replayed it:
 *   kind     "dead" (dlq replay), "payload" (replay --event) or
 *            "delivery" (replay --delivery)
 *   who      the operator ($USER, $LOGNAME or the uid's account name)
 *   when_ms  unix ms of the replay
 *   what     the dead letter id (dead) or the delivery id queued
 *   job      the new {p}:jobs id
 *   target   (dead only, when the dead letter has one) org/deployment/env
 * Every XADD trims with MAXLEN ~ BS_REPLAYS_MAXLEN. Records written before
 * this format ({who, when, what, new_id} or {kind, who, when_ms, delivery,
 * job}) may still be in the stream; readers should accept them. */
#define BS_REPLAYS_MAXLEN 100000
#define BS_REPLAYS_LOG_DEFAULT 50    /* records bs_admin_replays gives by default */
#define BS_REPLAYS_LOG_MAX 1000      /* and at most */

/* Appends one record {kind, who actor, when_ms, what, job} to {p}:replays
 * (actor NULL or "": "unknown"). Dead-letter replays are recorded by
 * bs_admin_dead_replay itself, atomically with the move: this is for the
 * replays that are not one script (payload, delivery). */
int bs_admin_replay_record(redisContext *c, const struct bs_keys *k,
    const char *kind, const char *actor, long long when_ms, const char *what,
    const char *job, char *err, size_t errlen);

/* The replay log, newest first: at most limit records (0:
 * BS_REPLAYS_LOG_DEFAULT; capped at BS_REPLAYS_LOG_MAX) whose stream id is at or after since_ms (0 or less: all),
 * with their fields as stored (old-format records included). A missing
 * stream is an empty log (out->n == 0), not an error. */
int bs_admin_replays(redisContext *c, const struct bs_keys *k,
    long long since_ms, size_t limit, struct bs_admin_entries *out, char *err,
    size_t errlen);

/* The newest entries of stream `key`, newest first: at most limit (>= 1)
 * whose id is at or after since_ms (0 or less: all), fields as stored. A
 * missing stream is empty (out->n == 0), not an error. (The dry-run
 * records {p}:dryrun are read so by `bitsleuth dryrun`.) */
int bs_admin_stream_newest(redisContext *c, const char *key,
    long long since_ms, size_t limit, struct bs_admin_entries *out,
    char *err, size_t errlen);

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
