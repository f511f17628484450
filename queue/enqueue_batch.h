/* enqueue_batch: the deliveries of one loop pass, queued by one script call.
 *
 * Redis spends most of an enqueue on the script call itself (arguments
 * made into Lua strings, the call, its effects wrapped for the AOF), not
 * on the commands inside it. An enqueuer collects the deliveries added
 * while the loop runs the callbacks of one pass, and sends them together
 * as one bs_script_enqueue call once those callbacks are done (or at once
 * when BS_ENQUEUE_BATCH_MAX deliveries or BS_ENQUEUE_BATCH_BYTES bytes are
 * waiting). Each delivery is judged exactly as if it were alone, in the
 * order added, and gets its own callback with its own verdict.
 *
 * Contract: bs_enqueuer_add copies what it needs (the caller's buffers
 * may go away when it returns) and calls cb exactly once: with the
 * verdict, or with BS_ENQ_FAILED and err (Redis down, timeout, a bad
 * argument, shutdown). Loop thread only. */
#ifndef BS_ENQUEUE_BATCH_H
#define BS_ENQUEUE_BATCH_H

#include <event2/event.h>

#include "queue/jobs.h"

#define BS_ENQUEUE_BATCH_MAX 64
#define BS_ENQUEUE_BATCH_BYTES (1024 * 1024)

struct bs_enqueuer;

/* r, k and base must outlive the enqueuer. */
struct bs_enqueuer *bs_enqueuer_new(struct event_base *base,
    struct bs_redis *r, const struct bs_keys *k);
void bs_enqueuer_add(struct bs_enqueuer *q, const struct bs_enqueue *e,
    bs_enqueue_cb *cb, void *arg);
/* Sends what is waiting now (the loop would at the end of its pass). */
void bs_enqueuer_flush(struct bs_enqueuer *q);
/* Deliveries added and not yet sent. */
size_t bs_enqueuer_waiting(const struct bs_enqueuer *q);
/* Fails every delivery still waiting with bs_redis_err_shutdown (it sends
 * nothing: the Redis client may be gone already), then frees. Batches
 * already sent complete through the Redis client as usual. NULL is a
 * no-op. */
void bs_enqueuer_free(struct bs_enqueuer *q);

#endif
