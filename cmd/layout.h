/* layout: the guard against changing queue.shards under queued work.
 *
 * "{<prefix>}:layout" (a string, the unsharded hash tag: one more slot on
 * a cluster) holds the queue.shards the installation last started with;
 * absent means 1 (every version before shards). On start (run, serve,
 * work): absent or equal -> written, start; different -> if any shard of
 * the old layout still holds work (entries in its jobs stream or retry
 * set, or lanes with pushes) the start is refused, else the new N is
 * written and the switch logged. See README "Changing queue.shards". */
#ifndef BS_CMD_LAYOUT_H
#define BS_CMD_LAYOUT_H

#include <stddef.h>

#include "config/config.h"

/* Checks and records cfg->queue.shards over synchronous connections.
 * Returns 0 (may start), -1 with the reason in err (refused, or a Redis
 * error on the way), or -2 with err when the layout key's master is not
 * reachable at all (the caller decides: an unsharded process starts
 * anyway and reconnects, as it always did; a sharded one does not). */
int bs_layout_check(const struct bs_config *cfg, char *err, size_t errlen);

#endif
