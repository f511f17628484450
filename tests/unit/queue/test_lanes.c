/* test_lanes: per-target lanes (queue/lanes.h) against a real
 * redis-server: stream id parsing and numeric order ("9-0" < "10-0"), the
 * enqueue joining each lane in push order, acquire (GO for the head, WAIT
 * behind it and while a lease is held, joining the tail when not queued),
 * a parked push woken by the step that finishes the head, DONE and
 * SUPERSEDED against {p}:order, the hold releasing a failing head (in the
 * finish and in the sweep), the sweep waking a parked head whose lease
 * holder died, the early lane step, and every callback exactly once when
 * Redis is down (before the call returns). */
#include <string.h>
#include <time.h>

#include "../test.h"
#include "queue/jobs.h"
#include "queue/lanes.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static struct bs_keys K;
static redisContext *C;
static const char *T = "acme/web/production";

struct res {
	int calls;
	int value;
	char newest[64];
	char err[128];
	char id[64];
	struct bs_lanes_sweep sw;
};

static void
on_lane(enum bs_lane_verdict v, const char *newest, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = (int)v;
	snprintf(r->newest, sizeof(r->newest), "%s", newest ? newest : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_done(int ok, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = ok;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_enq(enum bs_enqueue_status st, const char *id, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->value = (int)st;
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_sweep(const struct bs_lanes_sweep *s, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->sw = *s;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static int n_deliveries;

/* Queues one push hitting the lanes given; returns its stream id in out. */
static void
enqueue(const char *const *lanes, size_t n, char *out, size_t outlen)
{
	char delivery[32];
	snprintf(delivery, sizeof(delivery), "d-%d", ++n_deliveries);
	struct bs_enqueue e = { .delivery = delivery, .event_key = "repo:push",
		.job = "x", .job_len = 1, .seen_ttl_s = 60, .lanes = lanes,
		.n_lanes = n };
	struct res r = { 0 };
	bs_jobs_enqueue(R, &K, &e, on_enq, &r);
	bs_test_run_until(base, &r.calls, 1, 3000);
	CHECK_INT(r.value, BS_ENQ_QUEUED);
	snprintf(out, outlen, "%s", r.id);
}

static struct res
acquire(const char *t, const char *origin, const char *owner, long long ms)
{
	struct res r = { 0 };
	bs_lane_acquire(R, &K, t, origin, owner, ms, on_lane, &r);
	bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

/* Makes the entry id pending for consumer c1 (as a read would). */
static void
deliver_all(void)
{
	redisReply *x = redisCommand(C, "XGROUP CREATE %s %s 0 MKSTREAM", K.jobs,
	    K.group);
	freeReplyObject(x);
	x = redisCommand(C, "XREADGROUP GROUP %s c1 COUNT 100 STREAMS %s >",
	    K.group, K.jobs);
	freeReplyObject(x);
}

static struct res
finish(const char *id, const struct bs_lane_op *ops, size_t n,
    const struct bs_finish_rec *recs, size_t nrecs, long long hold)
{
	struct bs_finish f = { .id = id, .consumer = "c1", .recs = recs,
		.n_recs = nrecs, .ops = ops, .n_ops = n, .owner = "w1",
		.hold_ms = hold };
	struct res r = { 0 };
	bs_jobs_finish_lanes(R, &K, &f, on_done, &r);
	bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static long long
llen(const char *t)
{
	struct bs_lane_keys lk;
	bs_lane_keys(&K, t, &lk);
	redisReply *x = redisCommand(C, "LLEN %s", lk.list);
	long long v = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
	freeReplyObject(x);
	return v;
}

static void
lindex0(const char *t, char *out, size_t outlen)
{
	struct bs_lane_keys lk;
	bs_lane_keys(&K, t, &lk);
	redisReply *x = redisCommand(C, "LINDEX %s 0", lk.list);
	snprintf(out, outlen, "%s", x && x->type == REDIS_REPLY_STRING ?
	    x->str : "(nil)");
	freeReplyObject(x);
}

static long long
xlen(void)
{
	redisReply *x = redisCommand(C, "XLEN %s", K.jobs);
	long long v = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
	freeReplyObject(x);
	return v;
}

#define stat_of(name) bs_test_hget_int(C, K.stats, (name))

static void
flush(void)
{
	freeReplyObject(redisCommand(C, "FLUSHALL"));
}

static const struct bs_field park_fields[] = {
	{ "job", "x", 1 }, { "target", "acme/web/production", 19 },
};

int
main(void)
{
	TEST("stream id parse") {
		unsigned long long ms = 1, seq = 1;
		CHECK_INT(bs_stream_id_parse("1732520000000-0", &ms, &seq), 0);
		CHECK_INT(bs_stream_id_parse("0-0", &ms, &seq), 0);
		CHECK_INT(bs_stream_id_parse("18446744073709551615-7", &ms, &seq), 0);
		CHECK_INT(bs_stream_id_parse("18446744073709551616-0", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse(NULL, &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("123", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("-1", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("1-", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("1-2-3", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("1-+2", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse(" 1-2", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("1a-2", &ms, &seq), -1);
		CHECK_INT(bs_stream_id_parse("*", &ms, &seq), -1);
		CHECK(bs_stream_id_parse("1732520000000-0", &ms, &seq) == 0 &&
		    ms == 1732520000000ULL && seq == 0);
	}
	TEST("stream id ms") {
		CHECK_INT(bs_stream_id_ms("1732520000000-3"), 1732520000000LL);
		CHECK_INT(bs_stream_id_ms("0-0"), 0);
		CHECK_INT(bs_stream_id_ms("9223372036854775807-0"), 9223372036854775807LL);
		CHECK_INT(bs_stream_id_ms("9223372036854775808-0"), 0);
		CHECK_INT(bs_stream_id_ms("1732520000000"), 0);
		CHECK_INT(bs_stream_id_ms(""), 0);
		CHECK_INT(bs_stream_id_ms(NULL), 0);
	}
	TEST("stream id compare is numeric, not by string") {
		CHECK(bs_stream_id_cmp("9-0", "10-0") < 0);
		CHECK(bs_stream_id_cmp("10-0", "9-0") > 0);
		CHECK(bs_stream_id_cmp("5-9", "5-10") < 0);
		CHECK(bs_stream_id_cmp("5-10", "5-9") > 0);
		CHECK(bs_stream_id_cmp("5-1", "6-0") < 0);
		CHECK_INT(bs_stream_id_cmp("5-1", "5-1"), 0);
		CHECK_INT(bs_stream_id_cmp("0005-1", "5-01"), 0);
		CHECK(bs_stream_id_cmp("1732520000000-3", "1732520000001-0") < 0);
		CHECK(bs_stream_id_cmp("x", "0-0") < 0);
		CHECK(bs_stream_id_cmp("0-0", NULL) > 0);
		CHECK_INT(bs_stream_id_cmp("x", ""), 0);
	}

	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	base = event_base_new();
	bs_keys_init(&K, "t");
	int ups = 0;
	char a[64], b[64], c[64], buf[64];
	R = bs_test_client(base, &srv, &ups);
	C = bs_test_redis_sync(&srv);
	CHECK_STR(K.lanes, "{t}:lanes");

	TEST("enqueue joins every lane of the push, in push order") {
		const char *both[] = { T, "acme/api/production" };
		enqueue(both, 2, a, sizeof(a));
		enqueue(both, 1, b, sizeof(b));
		CHECK_INT(llen(T), 2);
		CHECK_INT(llen("acme/api/production"), 1);
		lindex0(T, buf, sizeof(buf));
		CHECK_STR(buf, a);
		redisReply *x = redisCommand(C, "XRANGE %s %s %s", K.jobs, a, a);
		CHECK(x && x->elements == 1);
		int found = 0;
		for (size_t i = 0; x && i + 1 < x->element[0]->element[1]->elements; i += 2)
			if (strcmp(x->element[0]->element[1]->element[i]->str, "lanes") == 0)
				found = strcmp(x->element[0]->element[1]->element[i + 1]->str,
				    "acme/web/production\nacme/api/production") == 0;
		CHECK(found);
		freeReplyObject(x);
		const char *bad[] = { "" };
		struct bs_enqueue e = { .delivery = "bad", .event_key = "repo:push",
			.job = "x", .job_len = 1, .lanes = bad, .n_lanes = 1 };
		struct res r = { 0 };
		bs_jobs_enqueue(R, &K, &e, on_enq, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_INT(r.value, BS_ENQ_FAILED);
		CHECK_INT(xlen(), 2);
	}

	TEST("the head goes, the next waits, a lease holds the lane") {
		CHECK_INT(acquire(T, b, "w1", 5000).value, BS_LANE_WAIT);
		struct res r = acquire(T, a, "w1", 5000);
		CHECK_INT(r.value, BS_LANE_GO);
		CHECK_STR(r.err, "");
		/* The same task asking again (a redelivery to the same owner). */
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_GO);
		/* Another owner with the head's position: the lease is not his. */
		CHECK_INT(acquire(T, a, "w2", 5000).value, BS_LANE_WAIT);
		/* A position not queued joins the tail. */
		CHECK_INT(acquire(T, "99999999999999-0", "w1", 5000).value, BS_LANE_WAIT);
		CHECK_INT(llen(T), 3);
		CHECK(acquire(T, "nonsense", "w1", 5000).err[0] != '\0');
		CHECK(acquire(T, a, "w|1", 5000).err[0] != '\0');
	}

	TEST("parked behind the head, woken by the head's finish") {
		deliver_all();
		/* b's run: parked (its successor stored in the lane). */
		struct bs_lane_op pb = { T, b, BS_LANE_PARK, park_fields, 2 };
		struct res r = finish(b, &pb, 1, NULL, 0, 600000);
		CHECK_INT(r.value, 1);
		CHECK_STR(r.err, "");
		CHECK_INT(xlen(), 1);                 /* a's entry left; b's parked */
		/* a registered: leaves its lanes, b's successor is back in the stream. */
		struct bs_lane_op pa[] = { { T, a, BS_LANE_REGISTERED, NULL, 0,
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
			{ "acme/api/production", a, BS_LANE_REGISTERED, NULL, 0, NULL } };
		r = finish(a, pa, 2, NULL, 0, 600000);
		CHECK_INT(r.value, 1);
		CHECK_INT(xlen(), 1);                 /* the woken successor of b */
		lindex0(T, buf, sizeof(buf));
		CHECK_STR(buf, b);
		CHECK_INT(llen("acme/api/production"), 0);
		r = acquire(T, b, "w1", 5000);
		CHECK_INT(r.value, BS_LANE_GO);
		/* GO tells the sha last registered for the target. */
		CHECK_STR(r.newest, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		/* Registered: DONE for a again, SUPERSEDED for anything older. */
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_DONE);
		r = acquire("acme/api/production", "1-0", "w1", 5000);
		CHECK_INT(r.value, BS_LANE_SUPERSEDED);
		CHECK_STR(r.newest, a);
	}

	TEST("the early step moves the lane; the finish may repeat it") {
		struct res r = { 0 };
		bs_lane_step(R, &K, T, b, BS_LANE_REGISTERED,
		    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "w1", 600000, on_done, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_INT(r.value, 1);
		lindex0(T, buf, sizeof(buf));
		CHECK_STR(buf, "99999999999999-0");
		CHECK_STR(acquire(T, "99999999999999-0", "w9", 1).newest,
		    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		r = (struct res){ 0 };
		bs_lane_step(R, &K, T, b, BS_LANE_REGISTERED, NULL, "w1", 600000,
		    on_done, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_INT(r.value, 1);
		CHECK_INT(llen(T), 1);
		r = (struct res){ 0 };
		bs_lane_step(R, &K, T, b, BS_LANE_PARK, NULL, "w1", 600000, on_done,
		    &r);
		CHECK_INT(r.calls, 1);                /* refused before sending */
		CHECK_INT(r.value, 0);
	}

	TEST("the finish releases a failing head past the hold") {
		flush();
		enqueue(&T, 1, a, sizeof(a));
		enqueue(&T, 1, b, sizeof(b));
		deliver_all();
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_GO);
		struct bs_lane_op pb = { T, b, BS_LANE_PARK, park_fields, 2 };
		CHECK_INT(finish(b, &pb, 1, NULL, 0, 600000).value, 1);
		bs_test_sleep_ms(30);
		/* a failed (a retry is scheduled): with a 10 ms hold it is released. */
		struct bs_field rf[] = { { "job", "x", 1 }, { "origin", a, strlen(a) } };
		struct bs_finish_rec rec = { .kind = BS_FINISH_RETRY, .due_ms = 1,
			.fields = rf, .n_fields = 2 };
		struct bs_lane_op ka = { T, a, BS_LANE_KEEP, NULL, 0 };
		CHECK_INT(finish(a, &ka, 1, &rec, 1, 10).value, 1);
		CHECK_INT(stat_of("lanes_released"), 1);
		lindex0(T, buf, sizeof(buf));
		CHECK_STR(buf, b);
		CHECK_INT(xlen(), 1);                 /* b woken */
		/* b registers; a's retry then is superseded (not sent). */
		CHECK_INT(acquire(T, b, "w1", 5000).value, BS_LANE_GO);
		deliver_all();
		redisReply *x = redisCommand(C, "XRANGE %s - +", K.jobs);
		snprintf(c, sizeof(c), "%s", x->element[0]->element[0]->str);
		freeReplyObject(x);
		struct bs_lane_op rb = { T, b, BS_LANE_REGISTERED, NULL, 0 };
		struct res fr = finish(c, &rb, 1, NULL, 0, 10);
		CHECK_STR(fr.err, "");
		CHECK_INT(fr.value, 1);
		struct res r = acquire(T, a, "w1", 5000);
		CHECK_INT(r.value, BS_LANE_SUPERSEDED);
		CHECK_STR(r.newest, b);
	}

	TEST("a released head that comes back before anything newer goes") {
		flush();
		enqueue(&T, 1, a, sizeof(a));
		enqueue(&T, 1, b, sizeof(b));
		deliver_all();
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_GO);
		bs_test_sleep_ms(30);
		struct bs_lane_op ka = { T, a, BS_LANE_KEEP, NULL, 0 };
		CHECK_INT(finish(a, &ka, 1, NULL, 0, 10).value, 1);
		/* b holds the lease now: a (released) must wait, without parking. */
		CHECK_INT(acquire(T, b, "w2", 5000).value, BS_LANE_GO);
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_WAIT_RELEASED);
	}

	TEST("the sweep wakes a parked head whose lease holder died, and holds") {
		flush();
		enqueue(&T, 1, a, sizeof(a));
		enqueue(&T, 1, b, sizeof(b));
		deliver_all();
		/* w-dead takes a's lease for 50 ms and dies; a's entry, claimed by
		 * c1, finds the lease busy and parks. */
		CHECK_INT(acquire(T, a, "w-dead", 50).value, BS_LANE_GO);
		CHECK_INT(acquire(T, a, "w1", 5000).value, BS_LANE_WAIT);
		struct bs_lane_op pa = { T, a, BS_LANE_PARK, park_fields, 2 };
		CHECK_INT(finish(a, &pa, 1, NULL, 0, 600000).value, 1);
		CHECK_INT(xlen(), 1);                 /* b's entry only */
		bs_test_sleep_ms(120);
		long long cursor = 0;
		struct res r = { 0 };
		bs_lanes_sweep(R, &K, bs_test_now_ms() + 5000, 0, 600000, 100, &cursor,
		    on_sweep, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_STR(r.err, "");
		CHECK_INT(r.sw.woken, 1);
		CHECK_INT(r.sw.lanes, 1);
		CHECK_INT(r.sw.waiting, 1);
		CHECK_INT(r.sw.held, 0);
		CHECK_INT(r.sw.released, 0);
		CHECK(r.sw.oldest_head_ms > 0);
		CHECK_INT(xlen(), 2);
		/* A failing head past the hold, not in flight: the sweep releases it. */
		struct res g = acquire(T, a, "w1", 5000);
		CHECK_INT(g.value, BS_LANE_GO);
		deliver_all();
		{
			redisReply *x = redisCommand(C, "XRANGE %s - +", K.jobs);
			snprintf(c, sizeof(c), "%s", x->element[x->elements - 1]->element[0]->str);
			freeReplyObject(x);
		}
		struct bs_lane_op ka = { T, a, BS_LANE_KEEP, NULL, 0 };
		CHECK_INT(finish(c, &ka, 1, NULL, 0, 600000).value, 1);
		bs_test_sleep_ms(30);
		r = (struct res){ 0 };
		bs_lanes_sweep(R, &K, bs_test_now_ms() + 5000, 0, 10, 100, &cursor,
		    on_sweep, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_INT(r.sw.released, 1);
		lindex0(T, buf, sizeof(buf));
		CHECK_STR(buf, b);
	}

	TEST("redis down: every callback once, with an error, before returning") {
		bs_test_redis_kill(&srv);
		bs_test_run_for(base, 200);
		struct res x = { 0 }, y = { 0 }, z = { 0 };
		long long cursor = 0;
		bs_lane_acquire(R, &K, T, "1-0", "w1", 1000, on_lane, &x);
		bs_lane_step(R, &K, T, "1-0", BS_LANE_LEAVE, NULL, "w1", 1000, on_done,
		    &y);
		bs_lanes_sweep(R, &K, bs_test_now_ms(), 1000, 1000, 10, &cursor,
		    on_sweep, &z);
		CHECK_INT(x.calls, 1);
		CHECK_INT(y.calls, 1);
		CHECK_INT(z.calls, 1);
		CHECK(x.err[0] != '\0' && y.err[0] != '\0' && z.err[0] != '\0');
		bs_test_run_for(base, 50);
		CHECK_INT(x.calls + y.calls + z.calls, 3);
	}

	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
