/* redis_locate: finds the node a pool must talk to when redis.url does not
 * name it: in Sentinel mode the master the sentinels report (and a watch on
 * +switch-master), in Cluster mode the master that owns the pool's slot
 * (CLUSTER SLOTS). Private to queue/ (redis_client uses it).
 *
 * A lookup asks the sources in turn (sentinels, or the seed nodes and every
 * node learned since), each bounded by the connect timeout; when none
 * answers it starts again after a backoff (250 ms .. 2 s), until one does.
 * Lookups never overlap: asking while one runs does nothing more.
 *
 * Contract: `found` runs once per successful lookup and once per
 * +switch-master for our master, maybe with the address the pool already
 * has; never from inside bs_redis_locate_* calls. Loop thread only. */
#ifndef BS_REDIS_LOCATE_H
#define BS_REDIS_LOCATE_H

#include <event2/event.h>

#include "queue/redis_client.h"

struct bs_redis_locate;

typedef void bs_redis_located_cb(const char *host, int port, int switched,
    void *arg);

/* cfg must be in Sentinel or Cluster mode and outlive l (its strings are
 * copied). The first lookup (and the Sentinel watch) start at once. */
struct bs_redis_locate *bs_redis_locate_new(struct event_base *base,
    const struct bs_redis_config *cfg, bs_redis_located_cb *found, void *arg);
/* Starts a lookup unless one is under way. */
void bs_redis_locate_now(struct bs_redis_locate *l);
/* Cluster mode: host:port becomes a source too (a MOVED target). */
void bs_redis_locate_learn(struct bs_redis_locate *l, const char *host,
    int port);
/* Stops everything; found is not called again. */
void bs_redis_locate_free(struct bs_redis_locate *l);

#endif
