/* test_enqueue_batch: the enqueuer against a real redis-server. The
 * deliveries added in one loop pass go out as one script call; each is
 * judged as if alone and in order (a repeat of an earlier one in the same
 * batch is its duplicate, a full stream refuses only those past the cap, a
 * bad one is refused at once without touching the others); the raw copy of
 * each queued delivery is kept and no rawin key is left; every callback
 * runs exactly once, also when Redis is down and at free (which sends
 * nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "queue/enqueue_batch.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static redisContext *C;
static struct bs_keys K;

struct res {
	int calls;
	enum bs_enqueue_status st;
	char id[64];
	char err[200];
};

static int done;

static void
on_enq(enum bs_enqueue_status st, const char *id, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	done++;
	r->st = st;
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
add(struct bs_enqueuer *q, const char *delivery, const char *hook,
    long long maxlen, struct res *out)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"d\":\"%s\"}", delivery);
	const char *lanes[] = { "acme/web/production" };
	struct bs_enqueue e = {
		.delivery = delivery, .content_key = NULL,
		.event_key = "repo:push", .job = "job", .job_len = 3,
		.raw_headers = "X-Event-Key: repo:push\n", .raw_headers_len = 23,
		.raw_body = body, .raw_body_len = strlen(body),
		.seen_ttl_s = 3600, .raw_ttl_s = 60, .maxlen = maxlen,
		.window_s = 600, .hook = hook, .lanes = lanes, .n_lanes = 1,
	};
	bs_enqueuer_add(q, &e, on_enq, out);
	/* The caller's buffers may go away at once. */
	memset(body, 'x', sizeof(body) - 1);
}

static long long
integer(const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(C, fmt, arg);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

/* Calls of EVALSHA and EVAL since the last CONFIG RESETSTAT. */
static long long
script_calls(void)
{
	redisReply *r = redisCommand(C, "INFO commandstats");
	long long n = 0;
	if (r && r->type == REDIS_REPLY_STRING) {
		const char *names[] = { "cmdstat_evalsha:calls=", "cmdstat_eval:calls=" };
		for (int i = 0; i < 2; i++) {
			const char *p = strstr(r->str, names[i]);
			if (p)
				n += strtoll(p + strlen(names[i]), NULL, 10);
		}
	}
	freeReplyObject(r);
	return n;
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
	bs_keys_init(&K, "t");
	int ups = 0;
	R = bs_test_client(base, &srv, &ups);
	C = bs_test_redis_sync(&srv);

	TEST("one pass, one call, each delivery judged in order") {
		struct bs_enqueuer *q = bs_enqueuer_new(base, R, &K);
		struct res r[6];
		memset(r, 0, sizeof(r));
		/* A first call loads the script (EVALSHA, NOSCRIPT, EVAL). */
		done = 0;
		add(q, "b-0", "{h}", 0, &r[5]);
		CHECK_INT(bs_test_run_until(base, &done, 1, 3000), 0);
		freeReplyObject(redisCommand(C, "CONFIG RESETSTAT"));
		done = 0;
		add(q, "b-1", "{h}", 0, &r[0]);
		add(q, "b-2", "{h}", 0, &r[1]);
		add(q, "b-1", "{h}", 0, &r[2]);          /* b-1 again: its duplicate */
		add(q, "b-3", "with space", 0, &r[3]);   /* refused at once */
		CHECK_INT(r[3].calls, 1);
		CHECK_INT(r[3].st, BS_ENQ_FAILED);
		CHECK_STR(r[3].err, "hook id too long or with spaces");
		add(q, "b-4", "{h}", 0, &r[4]);
		CHECK_INT((int)bs_enqueuer_waiting(q), 4);
		CHECK_INT(r[0].calls, 0);               /* nothing before the pass ends */
		CHECK_INT(bs_test_run_until(base, &done, 5, 3000), 0);
		CHECK_INT((int)bs_enqueuer_waiting(q), 0);
		CHECK_INT(script_calls(), 1);
		for (int i = 0; i < 5; i++)
			CHECK_INT(r[i].calls, 1);
		CHECK_INT(r[0].st, BS_ENQ_QUEUED);
		CHECK_INT(r[1].st, BS_ENQ_QUEUED);
		CHECK_INT(r[2].st, BS_ENQ_DUPLICATE);
		CHECK_STR(r[2].id, r[0].id);
		CHECK_INT(r[4].st, BS_ENQ_QUEUED);
		CHECK(strcmp(r[0].id, r[1].id) < 0 || strlen(r[0].id) < strlen(r[1].id));
		CHECK_INT(integer("XLEN %s", K.jobs), 4);
		/* The raw copies are the queued deliveries' own, none left in. */
		redisReply *b = redisCommand(C, "HGET %sb-2 body", K.raw);
		CHECK(b && b->type == REDIS_REPLY_STRING);
		CHECK_STR(b && b->str ? b->str : "", "{\"d\":\"b-2\"}");
		freeReplyObject(b);
		b = redisCommand(C, "HGET %sb-1 body", K.raw);
		CHECK_STR(b && b->str ? b->str : "", "{\"d\":\"b-1\"}");
		freeReplyObject(b);
		redisReply *ks = redisCommand(C, "KEYS %s*", K.rawin);
		CHECK(ks && ks->type == REDIS_REPLY_ARRAY && ks->elements == 0);
		freeReplyObject(ks);
		/* Lane order is the order added. */
		redisReply *l = redisCommand(C, "LRANGE %sacme/web/production 0 -1",
		    K.lane);
		CHECK(l && l->elements == 4);
		if (l && l->elements == 4) {
			CHECK_STR(l->element[1]->str, r[0].id);
			CHECK_STR(l->element[2]->str, r[1].id);
			CHECK_STR(l->element[3]->str, r[4].id);
		}
		freeReplyObject(l);
		bs_enqueuer_free(q);
	}

	TEST("a full stream refuses only the deliveries past its cap") {
		struct bs_enqueuer *q = bs_enqueuer_new(base, R, &K);
		long long have = integer("XLEN %s", K.jobs);
		struct res r[3];
		memset(r, 0, sizeof(r));
		done = 0;
		add(q, "f-1", "{h}", have + 1, &r[0]);
		add(q, "f-2", "{h}", have + 1, &r[1]);
		add(q, "f-3", "{h}", 0, &r[2]);          /* no cap: queued */
		CHECK_INT(bs_test_run_until(base, &done, 3, 3000), 0);
		CHECK_INT(r[0].st, BS_ENQ_QUEUED);
		CHECK_INT(r[1].st, BS_ENQ_FAILED);
		CHECK(strncmp(r[1].err, "QUEUEFULL", 9) == 0);
		CHECK_INT(r[2].st, BS_ENQ_QUEUED);
		CHECK_INT(integer("EXISTS %s", "{t}:seen:f-2"), 0);
		CHECK_INT(integer("EXISTS %s", "{t}:raw:f-2"), 0);
		CHECK_INT(integer("EXISTS %s", "{t}:rawin:f-2"), 0);
		bs_enqueuer_free(q);
	}

	TEST("the cap on a batch sends it at once; free fails what waits") {
		struct bs_enqueuer *q = bs_enqueuer_new(base, R, &K);
		struct res r[BS_ENQUEUE_BATCH_MAX + 1];
		memset(r, 0, sizeof(r));
		done = 0;
		char d[32];
		for (int i = 0; i < BS_ENQUEUE_BATCH_MAX; i++) {
			snprintf(d, sizeof(d), "m-%d", i);
			add(q, d, "{h}", 0, &r[i]);
		}
		CHECK_INT((int)bs_enqueuer_waiting(q), 0);  /* sent at the cap */
		add(q, "m-last", "{h}", 0, &r[BS_ENQUEUE_BATCH_MAX]);
		CHECK_INT((int)bs_enqueuer_waiting(q), 1);
		bs_enqueuer_flush(q);
		CHECK_INT(bs_test_run_until(base, &done, BS_ENQUEUE_BATCH_MAX + 1,
		    3000), 0);
		for (int i = 0; i <= BS_ENQUEUE_BATCH_MAX; i++) {
			CHECK_INT(r[i].calls, 1);
			CHECK_INT(r[i].st, BS_ENQ_QUEUED);
		}
		struct res w = { 0 };
		add(q, "m-waits", "{h}", 0, &w);
		bs_enqueuer_free(q);
		CHECK_INT(w.calls, 1);
		CHECK_INT(w.st, BS_ENQ_FAILED);
		CHECK_STR(w.err, bs_redis_err_shutdown);
		bs_test_run_for(base, 100);
		CHECK_INT(w.calls, 1);
		CHECK_INT(integer("EXISTS %s", "{t}:seen:m-waits"), 0);
	}

	TEST("redis down: every delivery of the batch fails once") {
		struct bs_enqueuer *q = bs_enqueuer_new(base, R, &K);
		bs_test_redis_kill(&srv);
		bs_test_run_for(base, 200);
		struct res r[2];
		memset(r, 0, sizeof(r));
		done = 0;
		add(q, "x-1", "{h}", 0, &r[0]);
		add(q, "x-2", "{h}", 0, &r[1]);
		CHECK_INT(bs_test_run_until(base, &done, 2, 3000), 0);
		for (int i = 0; i < 2; i++) {
			CHECK_INT(r[i].calls, 1);
			CHECK_INT(r[i].st, BS_ENQ_FAILED);
		}
		bs_enqueuer_free(q);
		bs_test_run_for(base, 50);
		CHECK_INT(r[0].calls, 1);
	}

	bs_redis_free(R);
	redisFree(C);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
