/* stream_read: synchronous readers of one stream for a follower such as
 * `bitsleuth tail` (issue 15): XREAD after an id, a consumer group of its
 * own (XGROUP CREATE ... MKSTREAM, XREADGROUP, XACK), and the stream's
 * newest id. Over a redisContext from bs_redis_connect_sync, whose command
 * timeout bounds every call: a BLOCK must stay below it.
 *
 * Each returns 0, or -1 with a reason in err (a connection error, or the
 * error reply as Redis gave it, e.g. "NOGROUP ..."). Entries are copied out
 * of the reply (bs_admin_entry, release with bs_admin_entries_release). An
 * entry that was deleted or trimmed while pending in a group comes back
 * with n_fields 0 (XREADGROUP of the pending history gives its id only). */
#ifndef BS_STREAM_READ_H
#define BS_STREAM_READ_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/admin.h"

/* Longest stream id written to an out buffer: "<u64>-<u64>" + NUL. */
#define BS_STREAM_ID_LEN 48

/* The stream id just before every entry of unix millisecond ms or later
 * (XREAD and XGROUP CREATE start after the id they are given):
 * "<ms-1>-18446744073709551615", or "0-0" for ms <= 0. */
void bs_stream_id_before_ms(long long ms, char *out, size_t outlen);

/* The id of the newest entry of key, or "0-0" when it is empty or missing
 * (so that reading after it gives only entries added later). */
int bs_stream_last_id(redisContext *c, const char *key, char *out,
    size_t outlen, char *err, size_t errlen);

/* XREAD [BLOCK block_ms] COUNT count STREAMS key after: at most count (>= 1)
 * entries with an id above `after`, oldest first. block_ms < 0: do not
 * block; else wait up to block_ms for the first one (0 is "forever" to
 * Redis: refused here). Nothing new: out->n == 0. */
int bs_stream_read(redisContext *c, const char *key, const char *after,
    size_t count, long block_ms, struct bs_admin_entries *out, char *err,
    size_t errlen);

/* XGROUP CREATE key group start MKSTREAM. *created: 1 when it was made,
 * 0 when the group already existed (BUSYGROUP: it keeps its position). */
int bs_stream_group_create(redisContext *c, const char *key,
    const char *group, const char *start, int *created, char *err,
    size_t errlen);

/* XREADGROUP GROUP group consumer [BLOCK block_ms] COUNT count STREAMS key
 * id. id ">": entries never delivered to the group (they become the
 * consumer's pending ones); any other id: the consumer's own pending
 * entries above it (no BLOCK then). block_ms as for bs_stream_read. */
int bs_stream_read_group(redisContext *c, const char *key, const char *group,
    const char *consumer, const char *id, size_t count, long block_ms,
    struct bs_admin_entries *out, char *err, size_t errlen);

/* XACK key group id. */
int bs_stream_ack(redisContext *c, const char *key, const char *group,
    const char *id, char *err, size_t errlen);

#endif
