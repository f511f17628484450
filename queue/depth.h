/* depth: the queue-depth gauges of /metrics, per shard, read from Redis
 * asynchronously and cached for a second, so that a scrape storm is not a
 * Redis storm.
 *
 * One refresh is one Lua script per shard (one round trip each) over the
 * process' pool of that shard: the jobs stream's length, the pending count
 * of the workers group, the retry records, the dead letters, the age of
 * the oldest unprocessed job (the oldest pending entry or the oldest entry
 * not yet delivered to the group, by Redis' clock; 0 when none) and the
 * lanes held (of the BS_DEPTH_MAX_LANES lanes with the oldest heads, those
 * whose failing head holds pushes back), the figures `bitsleuth stats`
 * shows (queue/admin.h).
 *
 * bs_queue_depth_fresh: when the figures are less than BS_DEPTH_FRESH_MS
 * old (a failed read counts as read: it is not retried sooner), cb runs
 * before the call returns; otherwise one refresh is started unless one is
 * already running (single-flight: concurrent callers wait on the same
 * one), and cb runs when it completes or after timeout_ms, whichever is
 * first. A shard whose last read failed, or whose figures are older than
 * BS_DEPTH_FRESH_MS + timeout_ms, is rendered without its gauges; every
 * refresh in which some shard's read failed counts in
 * bitsleuth_queue_scrape_errors_total. A new refresh never starts while a
 * shard's script of the last one is still unanswered, so a slow Redis sees
 * at most one script per shard in flight.
 *
 * Every cb runs exactly once: with fresh figures, at its timeout, or from
 * bs_queue_depth_free (which answers every waiting one first). The pools
 * may be freed before or after the depth: a script's reply that arrives
 * after bs_queue_depth_free finds the depth gone and is dropped. Loop
 * thread only. */
#ifndef BS_QUEUE_DEPTH_H
#define BS_QUEUE_DEPTH_H

#include <stddef.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "queue/shard.h"

#define BS_DEPTH_FRESH_MS 1000
#define BS_DEPTH_MAX_LANES 1000

struct bs_queue_depth;

/* One shard's figures, as one script read them. */
struct bs_depth_figures {
	long long length;        /* entries in {p}:jobs */
	long long pending;       /* read by the workers group, not acknowledged */
	long long retries;       /* records in {p}:retry */
	long long dead;          /* entries in {p}:dead */
	long long oldest_age_ms; /* the oldest unprocessed job's age, 0: none */
	long long lanes_held;
	long long events;        /* entries in {p}:events (record.h) */
	long long deploys;       /* entries in {p}:deploys */
	long long readers_lag;   /* the largest lag of a reader group on them */
};

#define BS_DEPTH_FIGURES 9   /* integers in the script's answer */

/* shards (n_shards of them, 1 .. BS_SHARDS_MAX) and their pools and keys
 * outlive the depth, or the pools are freed first (then every read
 * fails). timeout_ms bounds a caller's wait (at least 1). */
struct bs_queue_depth *bs_queue_depth_new(struct event_base *base,
    const struct bs_shard *shards, int n_shards, int timeout_ms);

typedef void bs_queue_depth_cb(void *arg);
/* cb(arg) exactly once, once the figures are fresh or the wait timed out
 * (see above); maybe before this returns. */
void bs_queue_depth_fresh(struct bs_queue_depth *d, bs_queue_depth_cb *cb,
    void *arg);

/* Receives the exposition text in pieces, in order. */
typedef void bs_queue_depth_out(void *arg, const char *text, size_t len);
/* The gauges of the shards that could be read (a family without any
 * shard is left out) and the scrape error counter, in Prometheus text
 * format 0.0.4. */
void bs_queue_depth_render(const struct bs_queue_depth *d,
    bs_queue_depth_out *out, void *arg);

/* Scripts sent so far (one per shard per refresh), for tests. */
unsigned long long bs_queue_depth_reads(const struct bs_queue_depth *d);

/* Answers every waiting caller, detaches from the scripts in flight and
 * frees d. NULL is a no-op. Not from inside a cb of d. */
void bs_queue_depth_free(struct bs_queue_depth *d);

/* Reads the script's reply {length, pending, retries, dead, oldest age
 * ms, lanes held} into out. Returns 0, or -1 with a reason in err for an
 * error or malformed reply. Pure. */
int bs_depth_parse(const redisReply *rep, struct bs_depth_figures *out,
    char *err, size_t errlen);

/* Appends the exposition of shards figures[0..n) into out (an outlen
 * buffer, NUL-terminated, truncated at outlen - 1): figures[i] NULL means
 * shard i is left out. Returns the length it needed. Pure. */
size_t bs_depth_format(const struct bs_depth_figures *const *figures,
    int n, unsigned long long scrape_errors, char *out, size_t outlen);

#endif
