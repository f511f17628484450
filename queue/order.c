/* order: per-target newest registered push in {p}:order (see order.h).
 *
 * Two small Lua scripts keep each decision atomic: `check` reads the
 * target's newest origin, compares and counts a superseded task in one
 * step; `set` writes an origin only when it is newer than the recorded one,
 * so two workers finishing out of order can never move a target backwards.
 * Stream ids are compared numerically in both C and Lua: the parts are
 * decimal digit strings without leading zeros, so a longer string is the
 * bigger number and equal lengths compare bytewise (exact for any length;
 * Lua numbers would lose precision above 2^53).
 *
 * Caps: origins longer than BS_ORDER_ID_MAX are malformed; a target name
 * goes to Redis as is (names come from the configuration, not from
 * payloads). Replies are checked for shape; a malformed one is an error. */
#include "queue/order.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* Shared Lua helpers: parse an id into its two digit strings (leading zeros
 * dropped), numeric comparison of digit strings, "a newer than b". */
#define ORDER_LUA_HELPERS \
	"local function parse(id)\n" \
	"  if type(id) ~= 'string' or #id > 41 then return nil end\n" \
	"  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')\n" \
	"  if not ms or #ms > 20 or #seq > 20 then return nil end\n" \
	"  ms = string.gsub(ms, '^0+', '')\n" \
	"  seq = string.gsub(seq, '^0+', '')\n" \
	"  return {ms, seq}\n" \
	"end\n" \
	"local function numcmp(a, b)\n" \
	"  if #a ~= #b then return #a < #b and -1 or 1 end\n" \
	"  if a == b then return 0 end\n" \
	"  return a < b and -1 or 1\n" \
	"end\n" \
	"local function newer(a, b)\n" \
	"  local c = numcmp(a[1], b[1])\n" \
	"  if c ~= 0 then return c > 0 end\n" \
	"  return numcmp(a[2], b[2]) > 0\n" \
	"end\n"

/* check
 * KEYS: 1 order, 2 stats
 * ARGV: 1 target, 2 origin
 * Returns {1, newest} when newest is newer than origin (and counts it as
 * superseded), else {0, recorded or ""}. */
static struct bs_redis_script order_check_script = { .source =
	ORDER_LUA_HELPERS
	"local mine = parse(ARGV[2])\n"
	"if not mine then return redis.error_reply('bad origin') end\n"
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if cur then\n"
	"  local c = parse(cur)\n"
	"  if c and newer(c, mine) then\n"
	"    redis.call('HINCRBY', KEYS[2], 'superseded', 1)\n"
	"    return {1, cur}\n"
	"  end\n"
	"  return {0, cur}\n"
	"end\n"
	"return {0, ''}\n"
};

/* set
 * KEYS: 1 order
 * ARGV: 1 target, 2 origin
 * Returns 1 when origin was written, 0 when the recorded one is as new or
 * newer. */
static struct bs_redis_script order_set_script = { .source =
	ORDER_LUA_HELPERS
	"local mine = parse(ARGV[2])\n"
	"if not mine then return redis.error_reply('bad origin') end\n"
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local c = cur and parse(cur)\n"
	"if c and not newer(mine, c) then return 0 end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"return 1\n"
};

/* claim
 * KEYS: 1 order, 2 stats, 3 lock
 * ARGV: 1 target, 2 origin, 3 owner, 4 lock ms
 * Returns {1, newest} superseded, {2, holder} busy, {0, recorded or ""}
 * with the lock taken. */
static struct bs_redis_script order_claim_script = { .source =
	ORDER_LUA_HELPERS
	"local mine = parse(ARGV[2])\n"
	"if not mine then return redis.error_reply('bad origin') end\n"
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local c = cur and parse(cur)\n"
	"if c and newer(c, mine) then\n"
	"  redis.call('HINCRBY', KEYS[2], 'superseded', 1)\n"
	"  return {1, cur}\n"
	"end\n"
	"local holder = redis.call('GET', KEYS[3])\n"
	"if holder and holder ~= ARGV[3] then return {2, holder} end\n"
	"redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])\n"
	"return {0, cur or ''}\n"
};

/* release
 * KEYS: 1 order, 2 lock
 * ARGV: 1 target, 2 origin or "" (not registered), 3 owner
 * Returns 1 when origin was written, else 0. */
static struct bs_redis_script order_release_script = { .source =
	ORDER_LUA_HELPERS
	"local written = 0\n"
	"if ARGV[2] ~= '' then\n"
	"  local mine = parse(ARGV[2])\n"
	"  if not mine then return redis.error_reply('bad origin') end\n"
	"  local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"  local c = cur and parse(cur)\n"
	"  if not (c and not newer(mine, c)) then\n"
	"    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"    written = 1\n"
	"  end\n"
	"end\n"
	"if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end\n"
	"return written\n"
};

int
bs_order_id_parse(const char *s, unsigned long long *ms,
    unsigned long long *seq)
{
	if (!s || strlen(s) > BS_ORDER_ID_MAX)
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

int
bs_order_id_cmp(const char *a, const char *b)
{
	unsigned long long ams, aseq, bms, bseq;
	int av = bs_order_id_parse(a, &ams, &aseq) == 0;
	int bv = bs_order_id_parse(b, &bms, &bseq) == 0;
	if (!av || !bv)
		return av - bv;
	if (ams != bms)
		return ams < bms ? -1 : 1;
	if (aseq != bseq)
		return aseq < bseq ? -1 : 1;
	return 0;
}

/* === async calls ======================================================== */

struct order_op {
	union {
		bs_order_get_cb *get;
		bs_order_check_cb *check;
		bs_order_set_cb *set;
		bs_order_claim_cb *claim;
	} cb;
	void *arg;
};

static struct order_op *
op_new(void *arg)
{
	struct order_op *op = xcalloc(1, sizeof(*op));
	op->arg = arg;
	return op;
}

static void
get_reply(const redisReply *rep, const char *err, void *arg)
{
	struct order_op op = *(struct order_op *)arg;
	free(arg);
	if (!rep)
		op.cb.get(NULL, err ? err : "no reply", op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb.get(NULL, rep->str, op.arg);
	else if (rep->type == REDIS_REPLY_NIL)
		op.cb.get(NULL, NULL, op.arg);
	else if (rep->type == REDIS_REPLY_STRING)
		op.cb.get(rep->str, NULL, op.arg);
	else
		op.cb.get(NULL, "unexpected reply to order get", op.arg);
}

void
bs_order_get(struct bs_redis *r, const struct bs_keys *k, const char *target,
    bs_order_get_cb *cb, void *arg)
{
	const char *argv[] = { "HGET", k->order, target };
	size_t argvlen[3];
	for (int i = 0; i < 3; i++)
		argvlen[i] = strlen(argv[i]);
	struct order_op *op = op_new(arg);
	op->cb.get = cb;
	bs_redis_command(r, 3, argv, argvlen, get_reply, op);
}

static void
check_reply(const redisReply *rep, const char *err, void *arg)
{
	struct order_op op = *(struct order_op *)arg;
	free(arg);
	if (!rep) {
		op.cb.check(0, NULL, err ? err : "no reply", op.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		op.cb.check(0, NULL, rep->str, op.arg);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    (rep->element[0]->integer != 0 && rep->element[0]->integer != 1)) {
		op.cb.check(0, NULL, "unexpected reply to order check", op.arg);
		return;
	}
	const char *newest = rep->element[1]->len ? rep->element[1]->str : NULL;
	op.cb.check((int)rep->element[0]->integer, newest, NULL, op.arg);
}

void
bs_order_check(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, bs_order_check_cb *cb, void *arg)
{
	const char *argv[] = { k->order, k->stats, target, origin ? origin : "" };
	size_t argvlen[4];
	for (int i = 0; i < 4; i++)
		argvlen[i] = strlen(argv[i]);
	struct order_op *op = op_new(arg);
	op->cb.check = cb;
	bs_redis_eval(r, &order_check_script, 2, 4, argv, argvlen, check_reply,
	    op);
}

static void
set_reply(const redisReply *rep, const char *err, void *arg)
{
	struct order_op op = *(struct order_op *)arg;
	free(arg);
	if (!op.cb.set)
		return;
	if (!rep)
		op.cb.set(-1, err ? err : "no reply", op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb.set(-1, rep->str, op.arg);
	else if (rep->type != REDIS_REPLY_INTEGER ||
	    (rep->integer != 0 && rep->integer != 1))
		op.cb.set(-1, "unexpected reply to order set", op.arg);
	else
		op.cb.set((int)rep->integer, NULL, op.arg);
}

void
bs_order_set_if_newer(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, bs_order_set_cb *cb, void *arg)
{
	const char *argv[] = { k->order, target, origin ? origin : "" };
	size_t argvlen[3];
	for (int i = 0; i < 3; i++)
		argvlen[i] = strlen(argv[i]);
	struct order_op *op = op_new(arg);
	op->cb.set = cb;
	bs_redis_eval(r, &order_set_script, 1, 3, argv, argvlen, set_reply, op);
}

/* "{prefix}:lock:<target>" */
static void
lock_key(const struct bs_keys *k, const char *target, char *out, size_t outlen)
{
	snprintf(out, outlen, "{%s}:lock:%s", k->prefix, target);
}

static void
claim_reply(const redisReply *rep, const char *err, void *arg)
{
	struct order_op op = *(struct order_op *)arg;
	free(arg);
	bs_order_claim_cb *cb = op.cb.claim;
	if (!rep) {
		cb(BS_CLAIM_GO, NULL, err ? err : "no reply", op.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		cb(BS_CLAIM_GO, NULL, rep->str, op.arg);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[0]->integer < 0 || rep->element[0]->integer > 2) {
		cb(BS_CLAIM_GO, NULL, "unexpected reply to order claim", op.arg);
		return;
	}
	const char *s = rep->element[1]->len ? rep->element[1]->str : NULL;
	cb((enum bs_order_claim_verdict)rep->element[0]->integer, s, NULL, op.arg);
}

void
bs_order_claim(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *origin, const char *owner,
    long long lock_ms, bs_order_claim_cb *cb, void *arg)
{
	char lock[BS_KEY_MAX + 600], ms[24];
	lock_key(k, target, lock, sizeof(lock));
	snprintf(ms, sizeof(ms), "%lld", lock_ms > 0 ? lock_ms : 60000);
	const char *argv[] = { k->order, k->stats, lock, target,
		origin ? origin : "", owner, ms };
	size_t argvlen[7];
	for (int i = 0; i < 7; i++)
		argvlen[i] = strlen(argv[i]);
	struct order_op *op = op_new(arg);
	op->cb.claim = cb;
	bs_redis_eval(r, &order_claim_script, 3, 7, argv, argvlen, claim_reply, op);
}

void
bs_order_release(struct bs_redis *r, const struct bs_keys *k,
    const char *target, const char *registered_origin, const char *owner,
    bs_order_set_cb *cb, void *arg)
{
	char lock[BS_KEY_MAX + 600];
	lock_key(k, target, lock, sizeof(lock));
	const char *argv[] = { k->order, lock, target,
		registered_origin ? registered_origin : "", owner };
	size_t argvlen[5];
	for (int i = 0; i < 5; i++)
		argvlen[i] = strlen(argv[i]);
	struct order_op *op = op_new(arg);
	op->cb.set = cb;
	bs_redis_eval(r, &order_release_script, 2, 5, argv, argvlen, set_reply, op);
}
