/* api_budget: the token bucket script (see api_budget.h). */
#include "queue/api_budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* KEYS: 1 the bucket. ARGV: 1 per hour, 2 burst, 3 pause ms (0: take).
 * Returns {granted 0/1, wait ms, whole tokens left}. */
static struct bs_redis_script budget_script = { .source =
	"local rate = tonumber(ARGV[1]) / 3600000\n"
	"local burst = tonumber(ARGV[2])\n"
	"local pause = tonumber(ARGV[3])\n"
	"if not rate or rate <= 0 or not burst or burst < 1 or not pause then\n"
	"  return redis.error_reply('bad budget arguments')\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'until')\n"
	"local tokens = tonumber(h[1]) or burst\n"
	"local ts = tonumber(h[2]) or now\n"
	"local untl = tonumber(h[3]) or 0\n"
	"if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end\n"
	"if tokens > burst then tokens = burst end\n"
	"if pause > 0 and now + pause > untl then untl = now + pause end\n"
	"local granted, wait = 0, 0\n"
	"if now < untl then\n"
	"  wait = untl - now\n"
	"elseif pause == 0 and tokens >= 1 then\n"
	"  tokens = tokens - 1\n"
	"  granted = 1\n"
	"else\n"
	"  wait = math.ceil((1 - tokens) / rate)\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now, 'until', untl)\n"
	"local full = math.ceil((burst - tokens) / rate)\n"
	"if untl > now then full = full + (untl - now) end\n"
	"redis.call('PEXPIRE', KEYS[1], full + 60000)\n"
	"return {granted, wait, math.floor(tokens)}\n"
};

struct budget_op {
	bs_budget_cb *cb;
	void *arg;
};

static void
on_reply(const redisReply *rep, const char *err, void *arg)
{
	struct budget_op op = *(struct budget_op *)arg;
	free(arg);
	if (!rep) {
		op.cb(0, 0, 0, err ? err : "no reply", op.arg);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		op.cb(0, 0, 0, rep->str, op.arg);
	} else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    rep->element[2]->type != REDIS_REPLY_INTEGER) {
		op.cb(0, 0, 0, "unexpected reply to the API budget", op.arg);
	} else {
		op.cb(rep->element[0]->integer == 1, rep->element[1]->integer,
		    rep->element[2]->integer, NULL, op.arg);
	}
}

static int
bucket_ok(const char *b)
{
	size_t n = b ? strlen(b) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (; *b; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
		    (*b >= '0' && *b <= '9') || *b == '_' || *b == '.' || *b == '-'))
			return 0;
	return 1;
}

static void
budget_call(struct bs_redis *r, const struct bs_keys *k, const char *bucket,
    int per_hour, int burst, long long pause_ms, bs_budget_cb *cb, void *arg)
{
	if (!bucket_ok(bucket) || per_hour < 1 || burst < 1) {
		cb(0, 0, 0, "bad budget arguments", arg);
		return;
	}
	char key[BS_KEY_MAX + 80], a1[24], a2[24], a3[24];
	snprintf(key, sizeof(key), "%s%s", k->apibudget, bucket);
	snprintf(a1, sizeof(a1), "%d", per_hour);
	snprintf(a2, sizeof(a2), "%d", burst);
	snprintf(a3, sizeof(a3), "%lld", pause_ms > 0 ? pause_ms : 0);
	const char *argv[] = { key, a1, a2, a3 };
	size_t argvlen[4];
	for (int i = 0; i < 4; i++)
		argvlen[i] = strlen(argv[i]);
	struct budget_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &budget_script, 1, 4, argv, argvlen, on_reply, op);
}

void
bs_api_budget_take(struct bs_redis *r, const struct bs_keys *k,
    const char *bucket, int per_hour, int burst, bs_budget_cb *cb, void *arg)
{
	budget_call(r, k, bucket, per_hour, burst, 0, cb, arg);
}

void
bs_api_budget_pause(struct bs_redis *r, const struct bs_keys *k,
    const char *bucket, int per_hour, int burst, long long pause_ms,
    bs_budget_cb *cb, void *arg)
{
	budget_call(r, k, bucket, per_hour, burst, pause_ms > 0 ? pause_ms : 1,
	    cb, arg);
}
