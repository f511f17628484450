/* test_depth: the queue-depth gauges (queue/depth.h). Pure: the script
 * reply's reader and the exposition (absent shards, seconds). Against a
 * real redis-server: the figures of a known queue (unread, pending, retry,
 * dead, lanes held; the oldest age from the pending entry, then from the
 * first undelivered one), the 1 s cache (a second call within it answers
 * at once without a read), single flight, the bounded wait while Redis is
 * slow (DEBUG SLEEP), a Redis that is down (answered at once, gauges
 * absent, an error counted), and every callback exactly once when the
 * depth or the pool is freed with a refresh in flight. */
#include <stdarg.h>
#include <string.h>

#include "../test.h"
#include "queue/depth.h"
#include "queue/keys.h"
#include "redis_server.h"

static redisContext *C;
static struct bs_keys K;

static void
rc(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(C, fmt, ap);
	va_end(ap);
	freeReplyObject(r);
}

static int calls;

static void
on_fresh(void *arg)
{
	(void)arg;
	calls++;
}

struct text {
	char buf[8192];
	size_t len;
};

static void
collect(void *arg, const char *t, size_t n)
{
	struct text *x = arg;
	if (x->len + n < sizeof(x->buf)) {
		memcpy(x->buf + x->len, t, n);
		x->len += n;
		x->buf[x->len] = '\0';
	}
}

static void
render(const struct bs_queue_depth *d, struct text *t)
{
	t->len = 0;
	t->buf[0] = '\0';
	bs_queue_depth_render(d, collect, t);
}

/* The value of series `name` in t, or -1 when absent. */
static double
value(const struct text *t, const char *series)
{
	const char *p = t->buf;
	size_t n = strlen(series);
	while ((p = strstr(p, series))) {
		if ((p == t->buf || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static redisReply *
array_of(long long *v, size_t n, redisReply *elems, redisReply **ptrs)
{
	static redisReply top;
	memset(&top, 0, sizeof(top));
	top.type = REDIS_REPLY_ARRAY;
	top.elements = n;
	top.element = ptrs;
	for (size_t i = 0; i < n; i++) {
		memset(&elems[i], 0, sizeof(elems[i]));
		elems[i].type = REDIS_REPLY_INTEGER;
		elems[i].integer = v[i];
		ptrs[i] = &elems[i];
	}
	return &top;
}

static void
pure_tests(void)
{
	char err[128];
	redisReply e[10], *p[10];
	struct bs_depth_figures f;

	TEST("parse: nine integers in order") {
		long long v[] = { 5, 2, 1, 3, 1500, 1, 40, 12, 7 };
		CHECK(bs_depth_parse(array_of(v, 9, e, p), &f, err, sizeof(err)) == 0);
		CHECK_INT(f.events, 40);
		CHECK_INT(f.deploys, 12);
		CHECK_INT(f.readers_lag, 7);
		CHECK_INT(f.length, 5);
		CHECK_INT(f.pending, 2);
		CHECK_INT(f.retries, 1);
		CHECK_INT(f.dead, 3);
		CHECK_INT(f.oldest_age_ms, 1500);
		CHECK_INT(f.lanes_held, 1);
	}

	TEST("parse: wrong shapes, negatives, errors and no reply are refused") {
		long long v[] = { 5, 2, 1, 3, 1500, 1, 0, 0, 0, 0 };
		CHECK(bs_depth_parse(array_of(v, 8, e, p), &f, err, sizeof(err)) == -1);
		CHECK(bs_depth_parse(array_of(v, 10, e, p), &f, err, sizeof(err)) == -1);
		long long neg[] = { 5, -2, 1, 3, 1500, 1, 0, 0, 0 };
		CHECK(bs_depth_parse(array_of(neg, 9, e, p), &f, err, sizeof(err)) == -1);
		redisReply *top = array_of(v, 9, e, p);
		e[3].type = REDIS_REPLY_STRING;
		CHECK(bs_depth_parse(top, &f, err, sizeof(err)) == -1);
		CHECK(strstr(err, "figure 4") != NULL);
		char msg[] = "NOSCRIPT x";
		redisReply er = { .type = REDIS_REPLY_ERROR, .str = msg, .len = 10 };
		CHECK(bs_depth_parse(&er, &f, err, sizeof(err)) == -1);
		CHECK_STR(err, "NOSCRIPT x");
		CHECK(bs_depth_parse(NULL, &f, err, sizeof(err)) == -1);
	}

	TEST("format: shards left out, seconds with ms, the counter always") {
		struct bs_depth_figures a = { 1, 2, 3, 4, 61234, 0 };
		struct bs_depth_figures c = { 7, 0, 0, 0, 5, 1 };
		const struct bs_depth_figures *figs[] = { &a, NULL, &c };
		char out[4096];
		size_t n = bs_depth_format(figs, 3, 9, out, sizeof(out));
		CHECK(n == strlen(out));
		CHECK(strstr(out, "bitsleuth_queue_length{shard=\"0\"} 1\n") != NULL);
		CHECK(strstr(out, "bitsleuth_queue_length{shard=\"2\"} 7\n") != NULL);
		CHECK(strstr(out, "shard=\"1\"") == NULL);
		CHECK(strstr(out, "bitsleuth_queue_oldest_age_seconds{shard=\"0\"} 61.234\n") != NULL);
		CHECK(strstr(out, "bitsleuth_queue_oldest_age_seconds{shard=\"2\"} 0.005\n") != NULL);
		CHECK(strstr(out, "# TYPE bitsleuth_queue_lanes_held gauge\n") != NULL);
		CHECK(strstr(out, "bitsleuth_queue_scrape_errors_total 9\n") != NULL);
		/* Too small a buffer: cut, NUL-terminated, the length it needs. */
		char tiny[40];
		CHECK(bs_depth_format(figs, 3, 9, tiny, sizeof(tiny)) == n);
		CHECK(strlen(tiny) == sizeof(tiny) - 1);
	}

	TEST("format: no shard read: only the error counter") {
		const struct bs_depth_figures *figs[] = { NULL, NULL };
		char out[1024];
		bs_depth_format(figs, 2, 0, out, sizeof(out));
		CHECK(strstr(out, "bitsleuth_queue_length") == NULL);
		CHECK(strstr(out, "bitsleuth_queue_scrape_errors_total 0\n") != NULL);
	}
}

/* DEBUG SLEEP on the server through C without waiting for its reply:
 * the pool's next command waits behind it. Read the reply with
 * finish_sleep. */
static void
start_sleep(const char *secs)
{
	redisAppendCommand(C, "DEBUG SLEEP %s", secs);
	int done = 0;
	while (!done)
		if (redisBufferWrite(C, &done) != REDIS_OK)
			break;
}

static void
finish_sleep(void)
{
	redisReply *r = NULL;
	if (redisGetReply(C, (void **)&r) == REDIS_OK)
		freeReplyObject(r);
}

int
main(void)
{
	pure_tests();

	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	C = bs_test_redis_sync(&srv);
	bs_keys_init(&K, "bstest");
	struct event_base *base = event_base_new();
	int ups = 0;
	struct bs_redis *r = bs_test_client(base, &srv, &ups);
	CHECK(r != NULL);
	struct bs_shard shard = { r, &K };
	struct text t;

	TEST("an empty queue: every gauge 0, and no group yet is not an error") {
		struct bs_queue_depth *d = bs_queue_depth_new(base, &shard, 1, 500);
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(bs_test_run_until(base, &calls, 1, 3000) == 0);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == 0);
		CHECK(value(&t, "bitsleuth_queue_pending{shard=\"0\"}") == 0);
		CHECK(value(&t, "bitsleuth_queue_oldest_age_seconds{shard=\"0\"}") == 0);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 0);
		bs_queue_depth_free(d);
	}

	/* A known queue: three jobs 5 s, 4 s and 3 s old; the oldest read by
	 * a consumer and not acknowledged; one retry, two dead letters; lane
	 * t1 held (failing head, a push behind it), t2 failing alone (not
	 * held), t3 waiting behind a head that is not failing (not held). */
	long long now = bs_test_now_ms();
	rc("XADD %s %lld-0 f x", K.jobs, now - 5000);
	rc("XADD %s %lld-0 f x", K.jobs, now - 4000);
	rc("XADD %s %lld-0 f x", K.jobs, now - 3000);
	rc("XGROUP CREATE %s %s 0", K.jobs, K.group);
	rc("XREADGROUP GROUP %s probe COUNT 1 STREAMS %s >", K.group, K.jobs);
	rc("ZADD %s %lld r1", K.retry, now + 60000);
	rc("XADD %s * reason a", K.dead);
	rc("XADD %s * reason b", K.dead);
	rc("ZADD %s 1 t1 2 t2 3 t3", K.lanes);
	rc("RPUSH %st1 a b", K.lane);
	rc("HSET %st1 failing 1", K.lanex);
	rc("RPUSH %st2 a", K.lane);
	rc("HSET %st2 failing 1", K.lanex);
	rc("RPUSH %st3 a b c", K.lane);
	/* The readers' streams: four events, a group that read one (lag 3)
	 * and one that read none (lag 4); two deploys, no group. */
	for (int i = 0; i < 4; i++)
		rc("XADD %s * v 1", K.events);
	rc("XGROUP CREATE %s r1 0", K.events);
	rc("XGROUP CREATE %s r2 0", K.events);
	rc("XREADGROUP GROUP r1 c COUNT 1 STREAMS %s >", K.events);
	rc("XADD %s * v 1", K.deploys);
	rc("XADD %s * v 1", K.deploys);

	struct bs_queue_depth *d = bs_queue_depth_new(base, &shard, 1, 500);

	TEST("a known queue: length, pending, retries, dead, held, oldest age") {
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 0);          /* nothing read yet: it waits */
		CHECK(bs_test_run_until(base, &calls, 1, 3000) == 0);
		CHECK(bs_queue_depth_reads(d) == 1);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == 3);
		CHECK(value(&t, "bitsleuth_queue_pending{shard=\"0\"}") == 1);
		CHECK(value(&t, "bitsleuth_queue_retries{shard=\"0\"}") == 1);
		CHECK(value(&t, "bitsleuth_queue_dead_letters{shard=\"0\"}") == 2);
		CHECK(value(&t, "bitsleuth_queue_lanes_held{shard=\"0\"}") == 1);
		CHECK(value(&t, "bitsleuth_queue_events_length{shard=\"0\"}") == 4);
		CHECK(value(&t, "bitsleuth_queue_deploys_length{shard=\"0\"}") == 2);
		CHECK(value(&t, "bitsleuth_queue_readers_lag{shard=\"0\"}") == 4);
		double age = value(&t, "bitsleuth_queue_oldest_age_seconds{shard=\"0\"}");
		CHECK(age >= 5.0 && age < 60);
	}

	TEST("within a second: answered at once from the cache, no read") {
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 1);
		CHECK(bs_queue_depth_reads(d) == 1);
	}

	TEST("the pending one acknowledged: the oldest is the first undelivered") {
		redisReply *x = redisCommand(C, "XRANGE %s - + COUNT 1", K.jobs);
		CHECK(x && x->type == REDIS_REPLY_ARRAY && x->elements == 1);
		if (x && x->elements == 1) {
			rc("XACK %s %s %s", K.jobs, K.group, x->element[0]->element[0]->str);
			rc("XDEL %s %s", K.jobs, x->element[0]->element[0]->str);
		}
		freeReplyObject(x);
		bs_test_run_for(base, 1100);
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		bs_queue_depth_fresh(d, on_fresh, NULL);   /* the same refresh */
		CHECK(bs_test_run_until(base, &calls, 2, 3000) == 0);
		CHECK(bs_queue_depth_reads(d) == 2);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == 2);
		CHECK(value(&t, "bitsleuth_queue_pending{shard=\"0\"}") == 0);
		double age = value(&t, "bitsleuth_queue_oldest_age_seconds{shard=\"0\"}");
		CHECK(age >= 4.0 && age < 5.0 + 30);
	}

	TEST("Redis slow: the wait ends at its bound, the late answer still counts") {
		bs_test_run_for(base, 1600);   /* older than fresh + timeout */
		start_sleep("1.2");
		calls = 0;
		long long t0 = bs_test_now_ms();
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(bs_test_run_until(base, &calls, 1, 3000) == 0);
		long long waited = bs_test_now_ms() - t0;
		CHECK(waited >= 450);          /* the 500 ms bound, not the reply */
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == -1);
		/* A caller while that script is still out waits on it: no second
		 * script behind a slow one. */
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(bs_queue_depth_reads(d) == 3);
		finish_sleep();
		CHECK(bs_test_run_until(base, &calls, 2, 3000) == 0);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == 2);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 0);
	}

	TEST("the depth freed with a refresh in flight: its caller answered once") {
		bs_test_run_for(base, 1100);
		start_sleep("0.5");
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 0);
		bs_queue_depth_free(d);
		CHECK(calls == 1);
		finish_sleep();
		bs_test_run_for(base, 300);    /* the late reply finds it gone */
		CHECK(calls == 1);
	}

	TEST("Redis down: answered at once, gauges absent, an error counted") {
		d = bs_queue_depth_new(base, &shard, 1, 500);
		bs_test_redis_kill(&srv);
		redisFree(C);
		C = NULL;
		for (int i = 0; i < 100 && bs_redis_is_up(r); i++)
			bs_test_run_for(base, 20);
		CHECK(!bs_redis_is_up(r));
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 1);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == -1);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 1);
		/* A failure is cached like a read: not retried within the second. */
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 2);
		CHECK(bs_queue_depth_reads(d) == 1);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 1);
	}

	TEST("back up: the gauges return") {
		CHECK(bs_test_redis_restart(&srv) == 0);
		C = bs_test_redis_sync(&srv);
		int want = ups + 1;
		CHECK(bs_test_run_until(base, &ups, want, 8000) == 0);
		bs_test_run_for(base, 1000);
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(bs_test_run_until(base, &calls, 1, 3000) == 0);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == 0);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 1);
	}

	TEST("the pool freed with a refresh in flight: answered once, an error") {
		bs_test_run_for(base, 1100);
		start_sleep("0.3");
		calls = 0;
		bs_queue_depth_fresh(d, on_fresh, NULL);
		CHECK(calls == 0);
		bs_redis_free(r);
		r = NULL;
		CHECK(calls == 1);
		render(d, &t);
		CHECK(value(&t, "bitsleuth_queue_length{shard=\"0\"}") == -1);
		CHECK(value(&t, "bitsleuth_queue_scrape_errors_total") == 2);
		finish_sleep();
		bs_queue_depth_free(d);
		CHECK(calls == 1);
	}

	if (C)
		redisFree(C);
	bs_redis_free(r);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
