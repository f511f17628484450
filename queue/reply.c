/* reply: see reply.h. */
#include "queue/reply.h"

#include <string.h>

int
bs_reply_is_err(const redisReply *r, const char *prefix)
{
	return r && r->type == REDIS_REPLY_ERROR && r->str &&
	    strncmp(r->str, prefix, strlen(prefix)) == 0;
}

/* Checks one [id, [f, v, ...] (, delivered)] element. Returns the number
 * of fields, 0 for a deleted entry (nil fields), -1 when malformed. */
long
bs_reply_entry_shape(const redisReply *e, int with_delivered)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	if (with_delivered && (e->elements < 3 ||
	    e->element[2]->type != REDIS_REPLY_INTEGER))
		return -1;
	const redisReply *f = e->element[1];
	if (f->type == REDIS_REPLY_NIL)
		return 0;
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0 ||
	    f->elements == 0)
		return -1;
	for (size_t i = 0; i < f->elements; i++)
		if (f->element[i]->type != REDIS_REPLY_STRING)
			return -1;
	return (long)(f->elements / 2);
}

