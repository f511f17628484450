/* consumer: the worker loop: jobs stream -> Sleuth -> ack, retry or dead.
 *
 * Reads with XREADGROUP while fewer runs than its shard's share of
 * worker.concurrency are in flight (one consumer per queue shard, see
 * worker/README.md), claims entries of consumers that died (idle longer than
 * worker.visibility_timeout), promotes due retries every second, and for
 * each entry registers every target it hits, each in its turn in the
 * target's lane (queue/lanes.h). Private to worker/ (worker.c creates it). An entry is finished (acked,
 * with its failed targets moved to the retry set or the dead letters) in one
 * atomic step only when all its targets have an outcome; an entry whose
 * worker dies stays pending and is claimed by another. */
#ifndef BS_CONSUMER_H
#define BS_CONSUMER_H

struct bs_wctx;
struct bs_consumer;

/* `name` is the consumer name in the group (host-pid by default). */
struct bs_consumer *bs_consumer_new(struct bs_wctx *ctx, const char *name);
/* Stops taking new entries; in-flight ones finish. */
void bs_consumer_stop(struct bs_consumer *c);
/* Entries taken and not yet finished. */
int bs_consumer_busy(const struct bs_consumer *c);
/* At exit, once the clients are cleared (bs_worker_close): every run
 * waiting on a timer ends now; its entry stays pending for another worker. */
void bs_consumer_close(struct bs_consumer *c);
void bs_consumer_free(struct bs_consumer *c);

#endif
