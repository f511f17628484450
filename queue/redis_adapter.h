/* redis_adapter: our libevent adapter for hiredis 0.14.1 async contexts.
 *
 * Modelled on hiredis master's adapters/libevent.h rather than the bundled
 * 0.14.1 one: ONE event per context re-armed with the current read/write
 * interest, a re-entrancy guard (a read that frees the context must not be
 * followed by a write on the same wake-up, hiredis#468), checked
 * allocations, and hooks published only after everything exists
 * (hiredis#1360). Private to queue/. */
#ifndef BS_REDIS_ADAPTER_H
#define BS_REDIS_ADAPTER_H

#include <event2/event.h>
#include <hiredis/async.h>

/* Attaches ac to base and arms read and write interest (a connecting
 * context learns of its connect through the first write event). Returns
 * REDIS_OK, or REDIS_ERR (nothing attached; the caller frees ac) when ac
 * already has an adapter or libevent cannot create the event. The adapter
 * frees itself through hiredis' cleanup hook when ac is freed. */
int bs_redis_adapter_attach(redisAsyncContext *ac, struct event_base *base);

#endif
