/* reply: helpers over hiredis replies shared by the async (jobs.c) and
 * synchronous (admin.c) queue code. Private to queue/. */
#ifndef BS_QUEUE_REPLY_H
#define BS_QUEUE_REPLY_H

#include <hiredis/hiredis.h>

/* Longest delivery id, content key or stream id accepted, in bytes. */
#define BS_QUEUE_MAX_ID 256

/* Whether r is an error reply starting with prefix ("NOGROUP", ...). */
int bs_reply_is_err(const redisReply *r, const char *prefix);

/* Checks one stream entry [id, [f, v, ...] (, delivered)]. Returns the
 * number of fields, 0 for a deleted entry (nil fields), -1 when malformed. */
long bs_reply_entry_shape(const redisReply *e, int with_delivered);

#endif
