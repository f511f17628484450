/* cmd_shards: what the operator commands know of queue.shards: which
 * shard a dead letter is in, how its id is shown, which master a shard's
 * connection reached, and the WAIT after an acknowledging write.
 *
 * Dead-letter ids: with one shard a dead letter is its stream id, as it
 * always was. With queue.shards > 1 it is shown as "<stream id>@<shard>"
 * and accepted either so or as the plain stream id, which is then looked
 * for in every shard (found in two: an error naming both). */
#ifndef BS_CMD_SHARDS_H
#define BS_CMD_SHARDS_H

#include <stddef.h>

#include "cmd/cmd_common.h"

/* The id of dead letter `id` of shard `shard` as shown: "id", or
 * "id@shard" when a->n_shards > 1. */
void bs_cmd_dead_id(const struct bs_cmd_redis *a, const char *id, int shard,
    char *out, size_t outlen);

/* The shard and stream id of a dead-letter id as given (see above).
 * Returns 0, or -1 with err ("no dead letter 'ID'", "dead letter 'ID' is
 * in shards 0 and 2: give ID@0 or ID@2", a bad shard). */
int bs_cmd_dead_find(const struct bs_cmd_redis *a, const char *arg,
    int *shard, char *id, size_t idlen, char *err, size_t errlen);

/* "host:port" (or the socket path) that c is connected to. */
void bs_cmd_master(const redisContext *c, char *out, size_t outlen);

/* After an acknowledging write on shard `shard`: bs_redis_sync_wait.
 * Returns 0, or -1 with err saying that the write happened but is not yet
 * confirmed on replicas. */
int bs_cmd_wait(const struct bs_cmd_redis *a, int shard, char *err,
    size_t errlen);

#endif
