/* readers: see readers.h. XINFO STREAM and XINFO GROUPS answer flat
 * field/value arrays (RESP2); fields are looked up by name so that a
 * Redis adding fields changes nothing, and one missing (lag before 7.0,
 * or nil when Redis cannot tell) reads as unknown. */
#include "queue/readers.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "queue/lanes.h"

/* The value of field name in a flat field/value array, or NULL. */
static const redisReply *
field_of(const redisReply *a, const char *name)
{
	if (!a || a->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < a->elements; i += 2)
		if (a->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(a->element[i]->str, name) == 0)
			return a->element[i + 1];
	return NULL;
}

static long long
int_of(const redisReply *a, const char *name, long long unknown)
{
	const redisReply *v = field_of(a, name);
	return v && v->type == REDIS_REPLY_INTEGER ? v->integer : unknown;
}

int
bs_readers_stats(redisContext *c, const char *key, long long now,
    struct bs_reader_stream *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->oldest_age_ms = -1;
	const char *xs[] = { "XINFO", "STREAM", key };
	redisReply *r = redisCommandArgv(c, 3, xs, NULL);
	if (!r) {
		snprintf(err, errlen, "redis XINFO STREAM failed: %s", c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* "ERR no such key": nothing written yet, or queue.events off. */
		int missing = strstr(r->str, "no such key") != NULL;
		if (!missing)
			snprintf(err, errlen, "XINFO STREAM %s: %s", key, r->str);
		freeReplyObject(r);
		return missing ? 0 : -1;
	}
	out->length = int_of(r, "length", 0);
	long long added = int_of(r, "entries-added", -1);
	char first_id[48] = "";
	const redisReply *first = field_of(r, "first-entry");
	if (first && first->type == REDIS_REPLY_ARRAY && first->elements >= 1 &&
	    first->element[0]->type == REDIS_REPLY_STRING) {
		long long age = now - bs_stream_id_ms(first->element[0]->str);
		out->oldest_age_ms = age > 0 ? age : 0;
		snprintf(first_id, sizeof(first_id), "%s", first->element[0]->str);
	}
	freeReplyObject(r);

	const char *xg[] = { "XINFO", "GROUPS", key };
	if (!(r = redisCommandArgv(c, 3, xg, NULL))) {
		snprintf(err, errlen, "redis XINFO GROUPS failed: %s", c->errstr);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "XINFO GROUPS %s: %s", key,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -1;
	}
	size_t n = r->elements < BS_READERS_MAX_GROUPS ? r->elements :
	    BS_READERS_MAX_GROUPS;
	out->groups = xcalloc(n ? n : 1, sizeof(*out->groups));
	for (size_t i = 0; i < n; i++) {
		const redisReply *g = r->element[i];
		const redisReply *name = field_of(g, "name");
		if (!name || name->type != REDIS_REPLY_STRING)
			continue;
		struct bs_reader_group *o = &out->groups[out->n_groups++];
		o->name = xstrndup(name->str, name->len);
		o->consumers = int_of(g, "consumers", 0);
		o->pending = int_of(g, "pending", 0);
		o->lag = int_of(g, "lag", -1);
		/* Behind the oldest entry left: what was added, less what is
		 * still there, less what it read (nil: nothing yet) was
		 * trimmed unread. */
		const redisReply *last = field_of(g, "last-delivered-id");
		long long read = int_of(g, "entries-read", 0);
		if (added >= 0 && first_id[0] && last &&
		    last->type == REDIS_REPLY_STRING &&
		    bs_stream_id_cmp(last->str, first_id) < 0 &&
		    added - out->length - read > 0)
			o->missed = added - out->length - read;
	}
	freeReplyObject(r);
	return 0;
}

void
bs_readers_add(struct bs_reader_stream *sum, const struct bs_reader_stream *s)
{
	sum->length += s->length;
	if (s->oldest_age_ms > sum->oldest_age_ms)
		sum->oldest_age_ms = s->oldest_age_ms;
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct bs_reader_group *g = &s->groups[i];
		struct bs_reader_group *t = NULL;
		for (size_t j = 0; j < sum->n_groups && !t; j++)
			if (strcmp(sum->groups[j].name, g->name) == 0)
				t = &sum->groups[j];
		if (!t) {
			if (sum->n_groups >= BS_READERS_MAX_GROUPS)
				continue;
			sum->groups = xrealloc(sum->groups,
			    (sum->n_groups + 1) * sizeof(*sum->groups));
			t = &sum->groups[sum->n_groups++];
			*t = *g;
			t->name = xstrdup(g->name);
			continue;
		}
		t->consumers += g->consumers;
		t->pending += g->pending;
		t->lag = t->lag < 0 || g->lag < 0 ? -1 : t->lag + g->lag;
		t->missed += g->missed;
	}
}

void
bs_readers_release(struct bs_reader_stream *s)
{
	for (size_t i = 0; i < s->n_groups; i++)
		free(s->groups[i].name);
	free(s->groups);
	memset(s, 0, sizeof(*s));
	s->oldest_age_ms = -1;
}
