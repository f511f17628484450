/* test_order: stream id parsing and numeric comparison (including the cases
 * where string order is wrong: "9-0" < "10-0", "5-9" < "5-10"), and the
 * {p}:order scripts against a real redis-server: get of a missing target,
 * set only when newer (never backwards, also across ms and seq lengths),
 * check with the superseded counter, malformed origins refused without a
 * write, other targets untouched, and callbacks exactly once when Redis is
 * down (before the call returns). */
#include <string.h>
#include <time.h>

#include "../test.h"
#include "queue/order.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static struct bs_keys K;
static redisContext *C;

struct res {
	int calls;
	int value;                  /* superseded / updated */
	char origin[64];            /* got origin or newest ("" = NULL) */
	int origin_null;
	char err[128];
};

static void
on_get(const char *origin, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->origin_null = origin == NULL;
	snprintf(r->origin, sizeof(r->origin), "%s", origin ? origin : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_check(int superseded, const char *newest, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = superseded;
	r->origin_null = newest == NULL;
	snprintf(r->origin, sizeof(r->origin), "%s", newest ? newest : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_set(int updated, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = updated;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_claim(enum bs_order_claim_verdict v, const char *newest, const char *err,
    void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = (int)v;
	r->origin_null = newest == NULL;
	snprintf(r->origin, sizeof(r->origin), "%s", newest ? newest : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static struct res
claim(const char *target, const char *origin, const char *owner, long long ms)
{
	struct res r = { 0 };
	bs_order_claim(R, &K, target, origin, owner, ms, on_claim, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static struct res
release_(const char *target, const char *origin, const char *owner)
{
	struct res r = { 0 };
	bs_order_release(R, &K, target, origin, owner, on_set, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static void
on_state(int up, void *arg)
{
	int *ups = arg;
	if (up)
		(*ups)++;
}

static struct res
get(const char *target)
{
	struct res r = { 0 };
	bs_order_get(R, &K, target, on_get, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static struct res
set(const char *target, const char *origin)
{
	struct res r = { 0 };
	bs_order_set_if_newer(R, &K, target, origin, on_set, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static struct res
check(const char *target, const char *origin)
{
	struct res r = { 0 };
	bs_order_check(R, &K, target, origin, on_check, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static long long
superseded_count(void)
{
	redisReply *r = redisCommand(C, "HGET %s superseded", K.stats);
	long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
	freeReplyObject(r);
	return v;
}

static void
hget(const char *target, char *out, size_t outlen)
{
	redisReply *r = redisCommand(C, "HGET %s %s", K.order, target);
	snprintf(out, outlen, "%s", r && r->type == REDIS_REPLY_STRING ?
	    r->str : "(nil)");
	freeReplyObject(r);
}

int
main(void)
{
	TEST("id parse") {
		unsigned long long ms = 1, seq = 1;
		CHECK_INT(bs_order_id_parse("1732520000000-0", &ms, &seq), 0);
		CHECK(ms == 1732520000000ULL);
		CHECK(seq == 0);
		CHECK_INT(bs_order_id_parse("0-0", &ms, &seq), 0);
		CHECK(ms == 0 && seq == 0);
		CHECK_INT(bs_order_id_parse("18446744073709551615-7", &ms, &seq), 0);
		CHECK(ms == 18446744073709551615ULL && seq == 7);
		CHECK_INT(bs_order_id_parse("18446744073709551616-0", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse(NULL, &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("123", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("-1", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("1-", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("1-2-3", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("1-+2", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse(" 1-2", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("1a-2", &ms, &seq), -1);
		CHECK_INT(bs_order_id_parse("*", &ms, &seq), -1);
	}

	TEST("id compare is numeric, not by string") {
		CHECK(bs_order_id_cmp("9-0", "10-0") < 0);
		CHECK(bs_order_id_cmp("10-0", "9-0") > 0);
		CHECK(bs_order_id_cmp("5-9", "5-10") < 0);
		CHECK(bs_order_id_cmp("5-10", "5-9") > 0);
		CHECK(bs_order_id_cmp("5-1", "6-0") < 0);
		CHECK_INT(bs_order_id_cmp("5-1", "5-1"), 0);
		CHECK_INT(bs_order_id_cmp("0005-1", "5-01"), 0);
		CHECK(bs_order_id_cmp("1732520000000-3", "1732520000001-0") < 0);
		/* Invalid sorts first. */
		CHECK(bs_order_id_cmp("x", "0-0") < 0);
		CHECK(bs_order_id_cmp("0-0", NULL) > 0);
		CHECK_INT(bs_order_id_cmp("x", ""), 0);
	}

	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	base = event_base_new();
	bs_keys_init(&K, "t");
	int ups = 0;
	struct bs_redis_config cfg = { srv.url, NULL, 2000, 2000 };
	char err[256], buf[128];
	R = bs_redis_new(base, &cfg, on_state, &ups, err, sizeof(err));
	bs_test_run_until(base, &ups, 1, 3000);
	C = bs_test_redis_sync(&srv);
	CHECK_STR(K.order, "{t}:order");

	TEST("get of a target with no record") {
		struct res r = get("acme/web/production");
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.origin_null, 1);
		CHECK_STR(r.err, "");
	}

	TEST("set only moves forward, numerically") {
		const char *t = "acme/web/production";
		struct res r = set(t, "9-5");
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.value, 1);
		CHECK_STR(r.err, "");
		hget(t, buf, sizeof(buf));
		CHECK_STR(buf, "9-5");
		/* "10-0" is newer although it sorts first as a string. */
		CHECK_INT(set(t, "10-0").value, 1);
		hget(t, buf, sizeof(buf));
		CHECK_STR(buf, "10-0");
		/* Older and equal: not written. */
		CHECK_INT(set(t, "9-99").value, 0);
		CHECK_INT(set(t, "10-0").value, 0);
		hget(t, buf, sizeof(buf));
		CHECK_STR(buf, "10-0");
		/* Same ms, larger seq with more digits. */
		CHECK_INT(set(t, "10-10").value, 1);
		CHECK_INT(set(t, "10-9").value, 0);
		hget(t, buf, sizeof(buf));
		CHECK_STR(buf, "10-10");
		struct res g = get(t);
		CHECK_STR(g.origin, "10-10");
		CHECK_INT(g.origin_null, 0);
		/* Another target is independent. */
		CHECK_INT(set("acme/web/staging", "1-0").value, 1);
		hget("acme/web/staging", buf, sizeof(buf));
		CHECK_STR(buf, "1-0");
		hget(t, buf, sizeof(buf));
		CHECK_STR(buf, "10-10");
	}

	TEST("set refuses a malformed origin and writes nothing") {
		struct res r = set("acme/web/production", "10-11x");
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.value, -1);
		CHECK(strstr(r.err, "bad origin") != NULL);
		r = set("acme/web/production", NULL);
		CHECK_INT(r.value, -1);
		hget("acme/web/production", buf, sizeof(buf));
		CHECK_STR(buf, "10-10");
		/* A malformed recorded value is overwritten by a good one. */
		redisReply *x = redisCommand(C, "HSET %s bad/rec/x garbage", K.order);
		freeReplyObject(x);
		CHECK_INT(set("bad/rec/x", "1-0").value, 1);
		hget("bad/rec/x", buf, sizeof(buf));
		CHECK_STR(buf, "1-0");
	}

	TEST("check: superseded only by a newer registered push, counted") {
		const char *t = "acme/web/production";   /* newest 10-10 */
		CHECK_INT(superseded_count(), 0);
		struct res r = check(t, "10-9");
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.value, 1);
		CHECK_STR(r.origin, "10-10");
		CHECK_STR(r.err, "");
		CHECK_INT(superseded_count(), 1);
		r = check(t, "9-999");
		CHECK_INT(r.value, 1);
		CHECK_INT(superseded_count(), 2);
		/* The same push (a redelivery) and newer ones go. */
		r = check(t, "10-10");
		CHECK_INT(r.value, 0);
		CHECK_STR(r.origin, "10-10");
		r = check(t, "11-0");
		CHECK_INT(r.value, 0);
		r = check(t, "100-0");
		CHECK_INT(r.value, 0);
		/* No record at all. */
		r = check("acme/api/production", "1-0");
		CHECK_INT(r.value, 0);
		CHECK_INT(r.origin_null, 1);
		CHECK_INT(superseded_count(), 2);
		/* Malformed origin: an error, nothing counted. */
		r = check(t, "abc");
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.value, 0);
		CHECK(strstr(r.err, "bad origin") != NULL);
		CHECK_INT(superseded_count(), 2);
	}

	TEST("claim and release: processes take turns, in push order") {
		const char *t = "acme/turns/production";
		struct res r = claim(t, "10-0", "w1", 60000);
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.value, BS_CLAIM_GO);
		CHECK_STR(r.err, "");
		r = claim(t, "11-0", "w2", 60000);          /* w1 holds it */
		CHECK_INT(r.value, BS_CLAIM_BUSY);
		CHECK_STR(r.origin, "w1");
		r = claim(t, "10-0", "w1", 60000);          /* re-entrant for the holder */
		CHECK_INT(r.value, BS_CLAIM_GO);
		r = release_(t, "10-0", "w2");              /* not w2's lock: kept */
		CHECK_INT(r.value, 1);
		r = claim(t, "11-0", "w2", 60000);
		CHECK_INT(r.value, BS_CLAIM_BUSY);
		r = release_(t, NULL, "w1");                /* w1 gives it back */
		CHECK_INT(r.value, 0);
		r = claim(t, "11-0", "w2", 60000);
		CHECK_INT(r.value, BS_CLAIM_GO);
		r = release_(t, "11-0", "w2");
		CHECK_INT(r.value, 1);
		char got[64];
		hget(t, got, sizeof(got));
		CHECK_STR(got, "11-0");
		long long before = superseded_count();
		r = claim(t, "10-5", "w1", 60000);          /* older than registered */
		CHECK_INT(r.value, BS_CLAIM_SUPERSEDED);
		CHECK_STR(r.origin, "11-0");
		CHECK_INT(superseded_count(), before + 1);
		r = claim(t, "12-0", "w1", 60000);          /* superseded took no lock */
		CHECK_INT(r.value, BS_CLAIM_GO);
		r = release_(t, NULL, "w1");
	}
	TEST("claim: a dead holder's lock expires") {
		const char *t = "acme/expiry/production";
		struct res r = claim(t, "1-0", "dead", 150);
		CHECK_INT(r.value, BS_CLAIM_GO);
		r = claim(t, "2-0", "alive", 60000);
		CHECK_INT(r.value, BS_CLAIM_BUSY);
		struct timespec ts = { 0, 300 * 1000000L };
		nanosleep(&ts, NULL);
		r = claim(t, "2-0", "alive", 60000);
		CHECK_INT(r.value, BS_CLAIM_GO);
		r = claim(t, "bad", "alive", 60000);
		CHECK(r.err[0] != '\0');
		CHECK_INT(r.value, BS_CLAIM_GO);            /* callers fail open */
		release_(t, NULL, "alive");
	}
	TEST("redis down: every callback once, with an error, before returning") {
		bs_test_redis_kill(&srv);
		bs_test_run_for(base, 200);
		struct res a = { 0 }, b = { 0 }, c = { 0 };
		bs_order_check(R, &K, "acme/web/production", "1-0", on_check, &a);
		bs_order_set_if_newer(R, &K, "acme/web/production", "99-0", on_set, &b);
		bs_order_get(R, &K, "acme/web/production", on_get, &c);
		CHECK_INT(a.calls, 1);
		CHECK_INT(b.calls, 1);
		CHECK_INT(c.calls, 1);
		CHECK(a.err[0] != '\0');
		CHECK_INT(a.value, 0);
		CHECK_INT(b.value, -1);
		CHECK(b.err[0] != '\0');
		CHECK_INT(c.origin_null, 1);
		CHECK(c.err[0] != '\0');
		/* A NULL callback for set is allowed. */
		bs_order_set_if_newer(R, &K, "acme/web/production", "99-0", NULL, NULL);
		bs_test_run_for(base, 50);
		CHECK_INT(a.calls + b.calls + c.calls, 3);
	}

	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
