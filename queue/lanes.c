/* lanes: the per-target lane protocol in Redis (see lanes.h). Two scripts
 * live here, acquire and sweep; enqueue and finish (scripts.c) touch the
 * lanes with the same Lua helpers (lanes_lua.h). Replies are checked for
 * shape; a malformed one is an error. */
#include "queue/lanes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "queue/lanes_lua.h"

/* acquire
 * KEYS: 1 lane list, 2 lane meta, 3 lane parked, 4 order, 5 lanes index,
 *       6 deployed
 * ARGV: 1 target, 2 origin, 3 owner, 4 lease ms
 * Returns {verdict, info or ""}: "go" (info = the sha last registered for
 * the target), "wait", "wait_released", "superseded" (info = the
 * registered position), "done". */
static struct bs_redis_script lane_acquire_script = { .prelude = bs_lanes_lua, .source =
	"local L, X, P = KEYS[1], KEYS[2], KEYS[3]\n"
	"local t, pos, owner = ARGV[1], ARGV[2], ARGV[3]\n"
	"local mine = parse(pos)\n"
	"local lease_ms = tonumber(ARGV[4])\n"
	"if not mine then return redis.error_reply('bad origin') end\n"
	"if not lease_ms or lease_ms < 1 or t == '' or string.find(owner, '|', 1, true) then\n"
	"  return redis.error_reply('bad lane arguments')\n"
	"end\n"
	"local now = now_ms()\n"
	"local cur = redis.call('HGET', KEYS[4], t)\n"
	"local c = cur and parse(cur)\n"
	"if c then\n"
	"  local d = idcmp(c, mine)\n"
	"  if d == 0 then return {'done', cur} end\n"
	"  if d > 0 then return {'superseded', cur} end\n"
	"end\n"
	"local head = redis.call('LINDEX', L, 0)\n"
	"local released = false\n"
	"if head ~= pos then\n"
	"  released = redis.call('HEXISTS', P, 'r:' .. pos) == 1\n"
	"  if not released and not redis.call('LPOS', L, pos) then\n"
	"    local n = redis.call('RPUSH', L, pos)\n"
	"    lane_joined(KEYS[5], L, X, t, pos, n, now)\n"
	"    if n == 1 then head = pos end\n"
	"  end\n"
	"end\n"
	"local o, p = lease_of(X, now)\n"
	"if o and not (o == owner and p == pos) then\n"
	"  if released then return {'wait_released', ''} end\n"
	"  return {'wait', ''}\n"
	"end\n"
	"if released or head == pos then\n"
	"  redis.call('HSET', X, 'lease', (now + lease_ms) .. '|' .. owner .. '|' .. pos)\n"
	"  return {'go', redis.call('HGET', KEYS[6], t) or ''}\n"
	"end\n"
	"return {'wait', ''}\n"
};

/* sweep
 * KEYS: 1 jobs, 2 dead, 3 stats, 4 lanes index, then per lane: list,
 *       meta, parked
 * ARGV: 1 hold ms, then the lane names in KEYS order
 * Returns {lanes, oldest since, waiting, held, released, woken}. */
static struct bs_redis_script lane_sweep_script = { .prelude = bs_lanes_lua, .source =
	"local hold = tonumber(ARGV[1])\n"
	"if not hold or #KEYS ~= 4 + 3 * (#ARGV - 1) then\n"
	"  return redis.error_reply('bad sweep arguments')\n"
	"end\n"
	"local now = now_ms()\n"
	"local waiting, held, released, woken = 0, 0, 0, 0\n"
	"for i = 2, #ARGV do\n"
	"  local t = ARGV[i]\n"
	"  local b = 4 + 3 * (i - 2)\n"
	"  local L, X, P = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3]\n"
	"  local head = lane_mark(KEYS[4], L, X, t, now)\n"
	"  if head then\n"
	"    if lane_hold(KEYS[1], KEYS[3], KEYS[4], L, X, P, t, hold, now) == 1 then\n"
	"      released = released + 1\n"
	"      head = redis.call('LINDEX', L, 0)\n"
	"    end\n"
	"    woken = woken + lane_wake(KEYS[1], KEYS[2], KEYS[4], L, X, P, t, head, now)\n"
	"    local n = redis.call('LLEN', L)\n"
	"    if n > 1 then\n"
	"      waiting = waiting + n - 1\n"
	"      if redis.call('HEXISTS', X, 'failing') == 1 then held = held + 1 end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local lanes = redis.call('ZCARD', KEYS[4])\n"
	"local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')\n"
	"local oldest = first[2] or '0'\n"
	"return {lanes, oldest, waiting, held, released, woken}\n"
};

/* step: one task's lane op ahead of its run's finish
 * KEYS: 1 jobs, 2 dead, 3 stats, 4 order, 5 lanes index, 6 lane list,
 *       7 meta, 8 parked, 9 deployed
 * ARGV: 1 target, 2 origin, 3 "reg" or "pop", 4 owner, 5 hold ms, 6 the
 *       sha registered ("" when unknown)
 * Returns 1. */
static struct bs_redis_script lane_step_script = { .acks = 1, .prelude = bs_lanes_lua, .source =
	"local t, pos, act, owner, hold = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])\n"
	"if t == '' or not parse(pos) or (act ~= 'reg' and act ~= 'pop') or not hold then\n"
	"  return redis.error_reply('bad lane step')\n"
	"end\n"
	"local k = {jobs = KEYS[1], dead = KEYS[2], stats = KEYS[3], order = KEYS[4],\n"
	"  idx = KEYS[5], deployed = KEYS[9]}\n"
	"lane_op(k, KEYS[6], KEYS[7], KEYS[8], t, pos, act, ARGV[6] or '', owner, hold,\n"
	"  now_ms())\n"
	"return 1\n"
};

int
bs_stream_id_parse(const char *s, unsigned long long *ms,
    unsigned long long *seq)
{
	if (!s || strlen(s) > BS_STREAM_ID_MAX)
		return -1;
	const char *dash = strchr(s, '-');
	if (!dash || dash == s || !dash[1] || dash - s > 20 ||
	    strlen(dash + 1) > 20)
		return -1;
	for (const char *p = s; *p; p++)
		if (p != dash && (*p < '0' || *p > '9'))
			return -1;
	errno = 0;
	unsigned long long a = strtoull(s, NULL, 10);
	unsigned long long b = strtoull(dash + 1, NULL, 10);
	if (errno == ERANGE)
		return -1;
	if (ms)
		*ms = a;
	if (seq)
		*seq = b;
	return 0;
}

long long
bs_stream_id_ms(const char *s)
{
	unsigned long long ms;
	if (!s || bs_stream_id_parse(s, &ms, NULL) != 0 || ms > (unsigned long long)LLONG_MAX)
		return 0;
	return (long long)ms;
}

int
bs_stream_id_cmp(const char *a, const char *b)
{
	unsigned long long ams, aseq, bms, bseq;
	int av = bs_stream_id_parse(a, &ams, &aseq) == 0;
	int bv = bs_stream_id_parse(b, &bms, &bseq) == 0;
	if (!av || !bv)
		return av - bv;
	if (ams != bms)
		return ams < bms ? -1 : 1;
	if (aseq != bseq)
		return aseq < bseq ? -1 : 1;
	return 0;
}

int
bs_lane_keys(const struct bs_keys *k, const char *target,
    struct bs_lane_keys *l)
{
	size_t n = target ? strlen(target) : 0;
	if (n == 0 || n > BS_LANE_NAME_MAX)
		return -1;
	snprintf(l->list, sizeof(l->list), "%s%s", k->lane, target);
	snprintf(l->meta, sizeof(l->meta), "%s%s", k->lanex, target);
	snprintf(l->parked, sizeof(l->parked), "%s%s", k->lanep, target);
	return 0;
}

static const char *const verdict_names[] = {
	[BS_LANE_GO] = "go",
	[BS_LANE_WAIT] = "wait",
	[BS_LANE_WAIT_RELEASED] = "wait_released",
	[BS_LANE_SUPERSEDED] = "superseded",
	[BS_LANE_DONE] = "done",
};

const char *
bs_lane_verdict_name(enum bs_lane_verdict v)
{
	if ((unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]))
		return verdict_names[v];
	return "?";
}

/* === acquire ============================================================ */

struct acquire_op {
	bs_lane_cb *cb;
	void *arg;
};

static void
acquire_reply(const redisReply *rep, const char *err, void *arg)
{
	struct acquire_op op = *(struct acquire_op *)arg;
	free(arg);
	if (!rep) {
		op.cb(BS_LANE_WAIT, NULL, err ? err : "no reply", op.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		op.cb(BS_LANE_WAIT, NULL, rep->str, op.arg);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		op.cb(BS_LANE_WAIT, NULL, "unexpected reply to lane acquire", op.arg);
		return;
	}
	const char *v = rep->element[0]->str;
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++) {
		if (strcmp(v, verdict_names[i]) == 0) {
			const char *info = rep->element[1]->len ?
			    rep->element[1]->str : NULL;
			op.cb((enum bs_lane_verdict)i, i == BS_LANE_SUPERSEDED ||
			    i == BS_LANE_GO ? info : NULL, NULL, op.arg);
			return;
		}
	}
	op.cb(BS_LANE_WAIT, NULL, "unexpected verdict from lane acquire", op.arg);
}

void
bs_lane_acquire(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, const char *owner,
    long long lease_ms, bs_lane_cb *cb, void *arg)
{
	struct bs_lane_keys l;
	if (bs_lane_keys(k, target, &l) != 0) {
		cb(BS_LANE_WAIT, NULL, "bad lane name", arg);
		return;
	}
	if (bs_stream_id_parse(origin, NULL, NULL) != 0) {
		cb(BS_LANE_WAIT, NULL, "bad origin", arg);
		return;
	}
	char ms[24];
	snprintf(ms, sizeof(ms), "%lld", lease_ms > 0 ? lease_ms : 60000);
	const char *argv[] = { l.list, l.meta, l.parked, k->order, k->lanes,
		k->deployed, target, origin, owner ? owner : "", ms };
	size_t argvlen[10];
	for (int i = 0; i < 10; i++)
		argvlen[i] = strlen(argv[i]);
	struct acquire_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &lane_acquire_script, 6, 10, argv, argvlen,
	    acquire_reply, op);
}

/* === step =============================================================== */

struct step_op {
	bs_lane_step_cb *cb;
	void *arg;
};

static void
step_reply(const redisReply *rep, const char *err, void *arg)
{
	struct step_op op = *(struct step_op *)arg;
	free(arg);
	if (!rep)
		op.cb(0, err ? err : "no reply", op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(0, rep->str, op.arg);
	else if (rep->type != REDIS_REPLY_INTEGER)
		op.cb(0, "unexpected reply to lane step", op.arg);
	else
		op.cb(1, NULL, op.arg);
}

void
bs_lane_step(struct bs_redis *r, const struct bs_keys *k, const char *target,
    const char *origin, enum bs_lane_action action, const char *sha,
    const char *owner, long long hold_ms, bs_lane_step_cb *cb, void *arg)
{
	struct bs_lane_keys l;
	if (bs_lane_keys(k, target, &l) != 0 ||
	    bs_stream_id_parse(origin, NULL, NULL) != 0 ||
	    (action != BS_LANE_REGISTERED && action != BS_LANE_LEAVE)) {
		cb(0, "bad lane step", arg);
		return;
	}
	char hold[24];
	snprintf(hold, sizeof(hold), "%lld", hold_ms > 0 ? hold_ms : 600000LL);
	const char *argv[] = { k->jobs, k->dead, k->stats, k->order, k->lanes,
		l.list, l.meta, l.parked, k->deployed, target, origin,
		action == BS_LANE_REGISTERED ? "reg" : "pop", owner ? owner : "", hold,
		action == BS_LANE_REGISTERED && sha ? sha : "" };
	size_t argvlen[15];
	for (int i = 0; i < 15; i++)
		argvlen[i] = strlen(argv[i]);
	struct step_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &lane_step_script, 9, 15, argv, argvlen, step_reply, op);
}

/* === sweep ============================================================== */

struct sweep_op {
	struct bs_redis *r;
	const struct bs_keys *k;
	long long hold_ms;
	int max;
	long long *cursor;
	bs_lanes_sweep_cb *cb;
	void *arg;
	size_t looked_at;
};

static long long
reply_ll(const redisReply *e)
{
	if (e->type == REDIS_REPLY_INTEGER)
		return e->integer;
	if (e->type == REDIS_REPLY_STRING)
		return strtoll(e->str, NULL, 10);
	return 0;
}

static void
sweep_reply(const redisReply *rep, const char *err, void *arg)
{
	struct sweep_op *op = arg;
	struct bs_lanes_sweep s = { .looked_at = op->looked_at };
	const char *e = err;
	if (!rep && !e)
		e = "no reply";
	else if (rep && rep->type == REDIS_REPLY_ERROR)
		e = rep->str;
	else if (rep && (rep->type != REDIS_REPLY_ARRAY || rep->elements != 6))
		e = "unexpected reply to lane sweep";
	if (!e) {
		s.lanes = reply_ll(rep->element[0]);
		s.oldest_head_ms = reply_ll(rep->element[1]);
		s.waiting = reply_ll(rep->element[2]);
		s.held = reply_ll(rep->element[3]);
		s.released = reply_ll(rep->element[4]);
		s.woken = reply_ll(rep->element[5]);
	}
	op->cb(&s, e, op->arg);
	free(op);
}

static void
candidates_reply(const redisReply *rep, const char *err, void *arg)
{
	struct sweep_op *op = arg;
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		struct bs_lanes_sweep s = { 0 };
		op->cb(&s, err ? err : rep && rep->type == REDIS_REPLY_ERROR ?
		    rep->str : "unexpected reply to the lanes index", op->arg);
		free(op);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING)
			n++;
	/* Wrap around once the oldest lanes have all been visited. */
	if (rep->elements < (size_t)op->max)
		*op->cursor = 0;
	else
		*op->cursor += (long long)rep->elements;
	size_t argc = 5 + 4 * n;
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *argvlen = xcalloc(argc, sizeof(*argvlen));
	const char **names = xcalloc(n ? n : 1, sizeof(*names));
	struct bs_lane_keys *lk = xcalloc(n ? n : 1, sizeof(*lk));
	size_t nk = 4, used = 0;
	argv[0] = op->k->jobs;
	argv[1] = op->k->dead;
	argv[2] = op->k->stats;
	argv[3] = op->k->lanes;
	char hold[24];
	snprintf(hold, sizeof(hold), "%lld", op->hold_ms);
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *e = rep->element[i];
		if (e->type != REDIS_REPLY_STRING || strlen(e->str) != e->len ||
		    bs_lane_keys(op->k, e->str, &lk[used]) != 0)
			continue;
		argv[nk++] = lk[used].list;
		argv[nk++] = lk[used].meta;
		argv[nk++] = lk[used].parked;
		names[used++] = e->str;
	}
	size_t a = nk;
	argv[a++] = hold;
	for (size_t i = 0; i < used; i++)
		argv[a++] = names[i];
	for (size_t i = 0; i < a; i++)
		argvlen[i] = strlen(argv[i]);
	op->looked_at = used;
	bs_redis_eval(op->r, &lane_sweep_script, (int)nk, (int)a, argv, argvlen,
	    sweep_reply, op);
	free(names);
	free(lk);
	free(argvlen);
	free(argv);
}

void
bs_lanes_sweep(struct bs_redis *r, const struct bs_keys *k, long long now_ms,
    long long min_age_ms, long long hold_ms, int max, long long *cursor,
    bs_lanes_sweep_cb *cb, void *arg)
{
	struct sweep_op *op = xcalloc(1, sizeof(*op));
	op->r = r;
	op->k = k;
	op->hold_ms = hold_ms > 0 ? hold_ms : 1;
	op->max = max > 0 ? max : 100;
	op->cursor = cursor;
	op->cb = cb;
	op->arg = arg;
	char upto[24], off[24], cnt[24];
	snprintf(upto, sizeof(upto), "%lld", now_ms - min_age_ms);
	snprintf(off, sizeof(off), "%lld", *cursor > 0 ? *cursor : 0);
	snprintf(cnt, sizeof(cnt), "%d", op->max);
	const char *argv[] = { "ZRANGEBYSCORE", k->lanes, "-inf", upto, "LIMIT",
		off, cnt };
	size_t argvlen[7];
	for (int i = 0; i < 7; i++)
		argvlen[i] = strlen(argv[i]);
	bs_redis_command(r, 7, argv, argvlen, candidates_reply, op);
}
