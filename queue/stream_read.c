/* stream_read: synchronous XREAD / XREADGROUP / XGROUP CREATE / XACK of
 * one stream (stream_read.h), for followers such as `bitsleuth tail`. */
#include "queue/stream_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "queue/reply.h"

#define ARGV_MAX 12

/* Runs argv; the reply, or NULL with err (connection error, or an error
 * reply, then freed). */
static redisReply *
run(redisContext *c, int argc, const char **argv, char *err, size_t errlen)
{
	size_t lens[ARGV_MAX];
	for (int i = 0; i < argc && i < ARGV_MAX; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = redisCommandArgv(c, argc, argv, lens);
	if (!rep) {
		snprintf(err, errlen, "redis %s failed: %s", argv[0],
		    c->errstr[0] ? c->errstr : "connection error");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis %s: %s", argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

void
bs_stream_id_before_ms(long long ms, char *out, size_t outlen)
{
	if (ms <= 0)
		snprintf(out, outlen, "0-0");
	else
		snprintf(out, outlen, "%lld-18446744073709551615", ms - 1);
}

int
bs_stream_last_id(redisContext *c, const char *key, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char *argv[] = { "XREVRANGE", key, "+", "-", "COUNT", "1" };
	redisReply *rep = run(c, 6, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = 0;
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "unexpected reply to XREVRANGE %s", key);
		rc = -1;
	} else if (rep->elements == 0) {
		snprintf(out, outlen, "0-0");
	} else if (bs_reply_entry_shape(rep->element[0], 0) < 0 ||
	    rep->element[0]->element[0]->len >= BS_STREAM_ID_LEN) {
		snprintf(err, errlen, "malformed entry in XREVRANGE %s", key);
		rc = -1;
	} else {
		snprintf(out, outlen, "%s", rep->element[0]->element[0]->str);
	}
	freeReplyObject(rep);
	return rc;
}

/* The entries of an XREAD / XREADGROUP reply for one key: nil (nothing
 * came) or [[key, [entry, ...]]]. */
static int
copy_read(const redisReply *rep, size_t count, struct bs_admin_entries *out,
    char *err, size_t errlen)
{
	if (rep->type == REDIS_REPLY_NIL)
		return 0;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2 ||
	    rep->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "unexpected reply to a stream read");
		return -1;
	}
	const redisReply *es = rep->element[0]->element[1];
	if (es->elements == 0)
		return 0;
	out->v = xcalloc(es->elements, sizeof(*out->v));
	for (size_t i = 0; i < es->elements && out->n < count; i++) {
		const redisReply *e = es->element[i];
		if (bs_reply_entry_shape(e, 0) < 0 ||
		    e->element[0]->len >= BS_STREAM_ID_LEN) {
			bs_admin_entries_release(out);
			snprintf(err, errlen, "malformed stream entry");
			return -1;
		}
		bs_admin_entry_copy(e, &out->v[out->n++]);
	}
	return 0;
}

/* Appends "BLOCK ms" (block_ms >= 1) and "COUNT n" to argv at *argc. */
static int
read_opts(const char **argv, int *argc, long block_ms, size_t count,
    char *block, size_t blocklen, char *cnt, size_t cntlen, char *err,
    size_t errlen)
{
	if (count == 0 || block_ms == 0) {
		snprintf(err, errlen,
		    "a stream read needs COUNT >= 1 and a bounded BLOCK");
		return -1;
	}
	if (block_ms > 0) {
		snprintf(block, blocklen, "%ld", block_ms);
		argv[(*argc)++] = "BLOCK";
		argv[(*argc)++] = block;
	}
	snprintf(cnt, cntlen, "%zu", count);
	argv[(*argc)++] = "COUNT";
	argv[(*argc)++] = cnt;
	return 0;
}

/* Sends the read argv and copies what came into out. */
static int
read_into(redisContext *c, int argc, const char **argv, size_t count,
    struct bs_admin_entries *out, char *err, size_t errlen)
{
	redisReply *rep = run(c, argc, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = copy_read(rep, count, out, err, errlen);
	freeReplyObject(rep);
	return rc;
}

int
bs_stream_read(redisContext *c, const char *key, const char *after,
    size_t count, long block_ms, struct bs_admin_entries *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *argv[ARGV_MAX] = { "XREAD" };
	int argc = 1;
	char block[24], cnt[24];
	if (read_opts(argv, &argc, block_ms, count, block, sizeof(block), cnt,
	    sizeof(cnt), err, errlen) != 0)
		return -1;
	argv[argc++] = "STREAMS";
	argv[argc++] = key;
	argv[argc++] = after;
	return read_into(c, argc, argv, count, out, err, errlen);
}

int
bs_stream_group_create(redisContext *c, const char *key, const char *group,
    const char *start, int *created, char *err, size_t errlen)
{
	const char *argv[] = { "XGROUP", "CREATE", key, group, start, "MKSTREAM" };
	size_t lens[6];
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = redisCommandArgv(c, 6, argv, lens);
	if (!rep) {
		snprintf(err, errlen, "redis XGROUP CREATE failed: %s",
		    c->errstr[0] ? c->errstr : "connection error");
		return -1;
	}
	int rc = 0;
	*created = 0;
	if (bs_reply_is_err(rep, "BUSYGROUP")) {
		*created = 0;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis XGROUP CREATE: %s", rep->str);
		rc = -1;
	} else {
		*created = 1;
	}
	freeReplyObject(rep);
	return rc;
}

int
bs_stream_read_group(redisContext *c, const char *key, const char *group,
    const char *consumer, const char *id, size_t count, long block_ms,
    struct bs_admin_entries *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *argv[ARGV_MAX] = { "XREADGROUP", "GROUP", group, consumer };
	int argc = 4;
	char block[24], cnt[24];
	if (strcmp(id, ">") != 0)
		block_ms = -1;      /* the pending history never blocks */
	if (read_opts(argv, &argc, block_ms, count, block, sizeof(block), cnt,
	    sizeof(cnt), err, errlen) != 0)
		return -1;
	argv[argc++] = "STREAMS";
	argv[argc++] = key;
	argv[argc++] = id;
	return read_into(c, argc, argv, count, out, err, errlen);
}

int
bs_stream_ack(redisContext *c, const char *key, const char *group,
    const char *id, char *err, size_t errlen)
{
	const char *argv[] = { "XACK", key, group, id };
	redisReply *rep = run(c, 4, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "unexpected reply to XACK %s", key);
	freeReplyObject(rep);
	return rc;
}
