/* api_budget: a token bucket in Redis, shared by every worker, for the
 * requests one credential makes to one Bitbucket API host (issue 12).
 *
 *   {p}:apibudget:<bucket>  hash: tokens (fractional), ts (ms of the last
 *                           refill), until (ms: paused by a 429 until then)
 *
 * The bucket refills at per_hour / 3600 s up to burst. Taking a token and
 * pausing after a 429 are one script each call, on Redis' clock, so any
 * number of workers together stay within the rate. The key expires once
 * it would be full again. Every call's callback runs exactly once (see
 * redis_client.h). */
#ifndef BS_API_BUDGET_H
#define BS_API_BUDGET_H

#include "queue/keys.h"
#include "queue/redis_client.h"

/* granted: a token was taken. Else wait_ms says when one may be (a pause
 * or the refill). remaining: whole tokens left after this call. On
 * failure err is set and the rest is meaningless. */
typedef void bs_budget_cb(int granted, long long wait_ms, long long remaining,
    const char *err, void *arg);

/* Takes one token from `bucket` (1..64 bytes of [A-Za-z0-9_.-]). */
void bs_api_budget_take(struct bs_redis *r, const struct bs_keys *k,
    const char *bucket, int per_hour, int burst, bs_budget_cb *cb, void *arg);

/* Pauses the bucket for pause_ms (Bitbucket answered 429 with that
 * Retry-After); a longer pause already in force stays. Takes nothing;
 * granted is 0 and wait_ms the pause in force. */
void bs_api_budget_pause(struct bs_redis *r, const struct bs_keys *k,
    const char *bucket, int per_hour, int burst, long long pause_ms,
    bs_budget_cb *cb, void *arg);

#endif
