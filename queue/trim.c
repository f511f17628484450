/* trim: see trim.h. */
#include "queue/trim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* KEYS: 1 the stream; ARGV: 1 age ms (> 0), 2 "~" (approximate) or "=".
 * Returns what XTRIM removed. */
static struct bs_redis_script trim_script = { .source =
	"local age = tonumber(ARGV[1])\n"
	"if not age or age <= 0 or (ARGV[2] ~= '~' and ARGV[2] ~= '=') then\n"
	"  return redis.error_reply('bad trim arguments')\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2],\n"
	"  string.format('%.0f', math.max(now - age, 0)))\n"
};

struct trim_op {
	bs_trim_cb *cb;
	void *arg;
};

static void
on_trim(const redisReply *rep, const char *err, void *arg)
{
	struct trim_op op = *(struct trim_op *)arg;
	free(arg);
	if (!rep)
		op.cb(-1, err ? err : "no reply", op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(-1, rep->str, op.arg);
	else if (rep->type != REDIS_REPLY_INTEGER)
		op.cb(-1, "unexpected reply to the trim script", op.arg);
	else
		op.cb(rep->integer, NULL, op.arg);
}

void
bs_trim_older(struct bs_redis *r, const char *key, long long age_ms,
    int approx, bs_trim_cb *cb, void *arg)
{
	char age[24];
	snprintf(age, sizeof(age), "%lld", age_ms > 0 ? age_ms : 1);
	const char *argv[] = { key, age, approx ? "~" : "=" };
	size_t argvlen[3];
	for (int i = 0; i < 3; i++)
		argvlen[i] = strlen(argv[i]);
	struct trim_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &trim_script, 1, 3, argv, argvlen, on_trim, op);
}
