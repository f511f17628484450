/* layout: the queue.shards guard (see layout.h), over synchronous
 * connections: one to the unsharded tag's master for the layout key, and
 * one per shard of the old layout to count its work. */
#include "cmd/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd/cmd_common.h"
#include "common/log.h"
#include "queue/keys.h"
#include "queue/shard.h"

/* Integer reply of a one-key command, or -1 with err. */
static long long
count(redisContext *c, const char *cmd, const char *key, char *err,
    size_t errlen)
{
	redisReply *r = redisCommand(c, "%s %s", cmd, key);
	long long v = -1;
	if (!r)
		snprintf(err, errlen, "%s %s: %s", cmd, key, c->errstr);
	else if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else
		snprintf(err, errlen, "%s %s: %s", cmd, key,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	if (r)
		freeReplyObject(r);
	return v;
}

/* Jobs (stream entries and retries) in every shard of an old layout of n
 * shards, and its lanes with pushes (a parked push is in no stream) in
 * *lanes; -1 with err. */
static long long
old_work(const struct bs_config *cfg, int n, long long *lanes, char *err,
    size_t errlen)
{
	long long total = 0;
	*lanes = 0;
	for (int i = 0; i < n; i++) {
		struct bs_keys k;
		if (bs_shard_keys(cfg->redis.prefix, i, n, &k) != 0) {
			snprintf(err, errlen, "bad redis.prefix '%s'", cfg->redis.prefix);
			return -1;
		}
		struct bs_redis_config rc;
		bs_cmd_redis_config(cfg, &rc);
		rc.hash_tag = k.prefix;
		redisContext *c = bs_redis_connect_sync(&rc, err, errlen);
		if (!c)
			return -1;
		long long a = count(c, "XLEN", k.jobs, err, errlen);
		long long b = a < 0 ? -1 : count(c, "ZCARD", k.retry, err, errlen);
		long long l = b < 0 ? -1 : count(c, "ZCARD", k.lanes, err, errlen);
		redisFree(c);
		if (l < 0)
			return -1;
		total += a + b;
		*lanes += l;
	}
	return total;
}

int
bs_layout_check(const struct bs_config *cfg, char *err, size_t errlen)
{
	int n = bs_cmd_n_shards(cfg);
	struct bs_redis_config rc;
	bs_cmd_redis_config(cfg, &rc);   /* hash_tag: the unsharded prefix */
	char key[256];
	snprintf(key, sizeof(key), "{%s}:layout", cfg->redis.prefix);
	char cerr[256];
	redisContext *c = bs_redis_connect_sync(&rc, cerr, sizeof(cerr));
	if (!c) {
		snprintf(err, errlen, "cannot check the queue layout: %s", cerr);
		return -2;
	}
	int old = 1, rc_ = -1;
	redisReply *r = redisCommand(c, "GET %s", key);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "queue layout: GET %s: %s", key,
		    r ? r->str : c->errstr);
		goto out;
	}
	if (r->type == REDIS_REPLY_STRING) {
		char *end;
		long v = strtol(r->str, &end, 10);
		old = *end || end == r->str || v < 1 || v > BS_SHARDS_MAX ? -1 : (int)v;
		if (old < 1) {
			snprintf(err, errlen, "queue layout: %s holds '%s', not a "
			    "number of shards (1..%d)", key, r->str, BS_SHARDS_MAX);
			goto out;
		}
	}
	int absent = r->type == REDIS_REPLY_NIL;
	freeReplyObject(r);
	r = NULL;
	if (old != n) {
		long long lanes;
		long long w = old_work(cfg, old, &lanes, cerr, sizeof(cerr));
		if (w < 0) {
			snprintf(err, errlen, "queue layout: %s", cerr);
			goto out;
		}
		if (w > 0 || lanes > 0) {
			snprintf(err, errlen, "queue.shards changed from %d to %d while "
			    "the old layout still holds %lld jobs%s: drain first (README "
			    "\"Changing queue.shards\")", old, n, w, lanes > 0 ?
			    " and lanes with pushes" : "");
			goto out;
		}
	}
	if (old != n || absent) {
		char v[16];
		snprintf(v, sizeof(v), "%d", n);
		r = redisCommand(c, "SET %s %s", key, v);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "queue layout: SET %s: %s", key,
			    r ? r->str : c->errstr);
			goto out;
		}
		if (old != n)
			log_info("queue.shards changed from %d to %d; the old layout "
			    "was empty", old, n);
	}
	rc_ = 0;
out:
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return rc_;
}
