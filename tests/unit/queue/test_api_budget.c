/* test_api_budget: the shared token bucket (queue/api_budget.h) against a
 * real redis-server: a full bucket grants `burst` at once then refuses
 * with the refill wait, two clients share one bucket, a 429 pause refuses
 * every taker until it ends, buckets are independent, the key expires,
 * bad arguments and a down Redis answer once. */
#include <string.h>

#include "../test.h"
#include "queue/api_budget.h"
#include "redis_server.h"

struct res {
	int calls, granted;
	long long wait, left;
	char err[128];
};

static struct event_base *base;

static void
on_budget(int granted, long long wait_ms, long long remaining, const char *err,
    void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->granted = granted;
	r->wait = wait_ms;
	r->left = remaining;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static struct res
take(struct bs_redis *R, const struct bs_keys *K, const char *b, int per_hour,
    int burst)
{
	struct res r = { 0 };
	bs_api_budget_take(R, K, b, per_hour, burst, on_budget, &r);
	bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

int
main(void)
{
	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	base = event_base_new();
	struct bs_keys K;
	bs_keys_init(&K, "t");
	int ups = 0, ups2 = 0;
	struct bs_redis *R = bs_test_client(base, &srv, &ups);
	struct bs_redis *R2 = bs_test_client(base, &srv, &ups2);
	redisContext *C = bs_test_redis_sync(&srv);

	TEST("a full bucket grants burst at once, then says when the next comes") {
		for (int i = 0; i < 3; i++) {
			struct res r = take(i % 2 ? R2 : R, &K, "cloud.a", 3600, 3);
			CHECK_STR(r.err, "");
			CHECK_INT(r.granted, 1);
			CHECK_INT(r.left, 2 - i);
		}
		struct res r = take(R, &K, "cloud.a", 3600, 3);  /* one a second */
		CHECK_INT(r.granted, 0);
		CHECK(r.wait > 0 && r.wait <= 1000);
		bs_test_run_for(base, 1100);
		CHECK_INT(take(R2, &K, "cloud.a", 3600, 3).granted, 1);
	}

	TEST("a 429 pause refuses every taker until it ends") {
		struct res r = { 0 };
		bs_api_budget_pause(R, &K, "cloud.b", 3600, 5, 600, on_budget, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK_STR(r.err, "");
		CHECK_INT(r.granted, 0);
		CHECK(r.wait > 0 && r.wait <= 600);
		r = take(R2, &K, "cloud.b", 3600, 5);
		CHECK_INT(r.granted, 0);
		CHECK(r.wait > 0 && r.wait <= 600);
		/* A shorter pause does not shorten it. */
		r = (struct res){ 0 };
		bs_api_budget_pause(R, &K, "cloud.b", 3600, 5, 10, on_budget, &r);
		bs_test_run_until(base, &r.calls, 1, 3000);
		CHECK(r.wait > 100);
		bs_test_run_for(base, 700);
		CHECK_INT(take(R, &K, "cloud.b", 3600, 5).granted, 1);
		CHECK_INT(take(R, &K, "cloud.a", 3600, 3).granted, 0);  /* independent */
	}

	TEST("the key expires once the bucket would be full again") {
		redisReply *x = redisCommand(C, "PTTL {t}:apibudget:cloud.b");
		CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer > 0 &&
		    x->integer <= 61000 + 1000);
		freeReplyObject(x);
	}

	TEST("bad arguments and a down Redis answer exactly once") {
		struct res r = take(R, &K, "bad bucket!", 3600, 3);
		CHECK(r.err[0] != '\0');
		r = take(R, &K, "ok", 0, 3);
		CHECK(r.err[0] != '\0');
		bs_test_redis_stop(&srv);
		bs_test_run_for(base, 200);
		r = (struct res){ 0 };
		bs_api_budget_take(R, &K, "cloud.a", 3600, 3, on_budget, &r);
		bs_test_run_for(base, 100);
		CHECK_INT(r.calls, 1);
		CHECK(r.err[0] != '\0');
	}

	redisFree(C);
	bs_redis_free(R);
	bs_redis_free(R2);
	event_base_free(base);
	return TEST_REPORT();
}
