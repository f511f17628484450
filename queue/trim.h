/* trim: streams trimmed by age on Redis' clock.
 *
 * bs_trim_older drops the entries of a stream older than age_ms, with the
 * cut-off computed by Redis (TIME, in one small script) rather than by the
 * caller, so a worker whose clock runs ahead never trims entries younger
 * than the age: {p}:dead by dead.max_age (approximately: whole nodes),
 * {p}:events and {p}:deploys by queue.events_ttl (exactly, as their XADDs
 * do; record.h). A key that does not exist stays absent. cb runs exactly
 * once: with the number of entries removed, or -1 and err. */
#ifndef BS_TRIM_H
#define BS_TRIM_H

#include "queue/redis_client.h"

typedef void bs_trim_cb(long long removed, const char *err, void *arg);

void bs_trim_older(struct bs_redis *r, const char *key, long long age_ms,
    int approx, bs_trim_cb *cb, void *arg);

#endif
