/* test_dedupe: the enqueue script's dedupe rules against a real
 * redis-server (bs_jobs_enqueue, queue/scripts.c): the same content under
 * the same webhook is a new event, under another webhook (or an unknown
 * one) a duplicate within the window; a repeat of a delivery id is a
 * duplicate unless it is a resend and the copy queued under that id is
 * older than the window; content remembered before the window (or by an
 * older version with a 7-day TTL) does not count; the content key lives
 * for the window; the raw delivery keeps the receive time it is given; bad
 * arguments write nothing. Old entries are made by writing keys whose
 * stream ids lie in the past, so nothing here waits for a clock. */
#include <string.h>

#include "../test.h"
#include "common/clock.h"
#include "queue/admin.h"
#include "queue/jobs.h"
#include "queue/scripts.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static struct bs_keys K;
static redisContext *C;

struct enq_res {
	int calls;
	enum bs_enqueue_status st;
	char id[64];
	char err[128];
};

static void
on_enq(enum bs_enqueue_status st, const char *id, const char *err, void *arg)
{
	struct enq_res *r = arg;
	r->calls++;
	r->st = st;
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

/* A raw script reply: its error text. */
struct eval_res {
	int calls;
	char text[256];
};

static void
on_eval(const redisReply *reply, const char *err, void *arg)
{
	struct eval_res *r = arg;
	r->calls++;
	snprintf(r->text, sizeof(r->text), "%s", reply && reply->str ?
	    reply->str : err ? err : "");
}

/* One enqueue of a small job with window 600 s. */
static struct enq_res
enq(const char *delivery, const char *content, const char *hook, bool resend,
    long long received_ms)
{
	struct enq_res r = { 0 };
	struct bs_enqueue e = {
		.delivery = delivery, .content_key = content,
		.event_key = "repo:push", .job = "job", .job_len = 3,
		.raw_headers = "X-Event-Key: repo:push\n", .raw_headers_len = 23,
		.raw_body = "{}", .raw_body_len = 2,
		.seen_ttl_s = 3600, .raw_ttl_s = 60, .maxlen = 10000,
		.received_ms = received_ms, .window_s = 600, .hook = hook,
		.resend = resend,
	};
	bs_jobs_enqueue(R, &K, &e, on_enq, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

static long long
xlen(void)
{
	redisReply *r = redisCommand(C, "XLEN %s", K.jobs);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

/* GET prefix+name into out ("" when missing). */
static const char *
get(const char *prefix, const char *name, char *out, size_t outlen)
{
	redisReply *r = redisCommand(C, "GET %s%s", prefix, name);
	snprintf(out, outlen, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return out;
}

static long long
ttl(const char *prefix, const char *name)
{
	redisReply *r = redisCommand(C, "TTL %s%s", prefix, name);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -9;
	freeReplyObject(r);
	return v;
}

static void
set(const char *prefix, const char *name, const char *val)
{
	redisReply *r = redisCommand(C, "SET %s%s %s EX 3600", prefix, name, val);
	freeReplyObject(r);
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
	char err[256], v[256], want[256];
	R = bs_test_client(base, &srv, &ups);
	C = bs_test_redis_sync(&srv);

	TEST("same content: new event under the same hook, else a duplicate") {
		struct enq_res a = enq("d-a", "c-ab", "{h1}", false, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		snprintf(want, sizeof(want), "%s {h1}", a.id);
		CHECK_STR(get(K.seenc, "c-ab", v, sizeof(v)), want);
		long long t = ttl(K.seenc, "c-ab");
		CHECK(t > 590 && t <= 600);         /* the window, not seen_ttl */
		CHECK(ttl(K.seen, "d-a") > 3500);
		/* A->B again from the same webhook, a new request: a new push. */
		struct enq_res b = enq("d-b", "c-ab", "{h1}", false, 0);
		CHECK_INT(b.st, BS_ENQ_QUEUED);
		CHECK(strcmp(a.id, b.id) != 0);
		snprintf(want, sizeof(want), "%s {h1}", b.id);
		CHECK_STR(get(K.seenc, "c-ab", v, sizeof(v)), want);
		/* The same push from a second webhook: the echo of b. */
		struct enq_res c = enq("d-c", "c-ab", "{h2}", false, 0);
		CHECK_INT(c.st, BS_ENQ_DUPLICATE);
		CHECK_STR(c.id, b.id);
		CHECK_STR(get(K.seenc, "c-ab", v, sizeof(v)), want);  /* unchanged */
		/* No hook (Data Center, a hand-made request): a duplicate. */
		struct enq_res d = enq("d-d", "c-ab", "", false, 0);
		CHECK_INT(d.st, BS_ENQ_DUPLICATE);
		CHECK_STR(d.id, b.id);
		struct enq_res e = enq("d-e", "c-ab", NULL, true, 0);
		CHECK_INT(e.st, BS_ENQ_DUPLICATE);
		/* Content first seen without a hook: a duplicate for any hook. */
		struct enq_res f = enq("d-f", "c-dc", "", false, 0);
		CHECK_INT(f.st, BS_ENQ_QUEUED);
		CHECK_INT(enq("d-g", "c-dc", "", false, 0).st, BS_ENQ_DUPLICATE);
		CHECK_INT(enq("d-h", "c-dc", "{h1}", false, 0).st, BS_ENQ_DUPLICATE);
		CHECK_INT(xlen(), 3);
		/* Duplicates write neither a seen key nor a raw delivery. */
		CHECK_STR(get(K.seen, "d-c", v, sizeof(v)), "");
		CHECK_INT(ttl(K.raw, "d-c"), -2);
		/* The raw copy on its way in is moved (queued) or dropped
		 * (duplicate): no rawin key is left behind. */
		CHECK_INT(ttl(K.rawin, "d-c"), -2);
		CHECK_INT(ttl(K.rawin, "d-f"), -2);
		CHECK(ttl(K.raw, "d-f") > 0 && ttl(K.raw, "d-f") <= 60);
	}

	TEST("a raw delivery that did not arrive fails before any write") {
		/* The script without its HSET (as if that command had failed):
		 * nothing is queued and the caller gets the error. */
		const char *kv[] = { K.jobs, "s", "c", "r", K.stats, K.lanes, "w",
		    K.events };
		char keys[7][BS_KEY_MAX + 16];
		snprintf(keys[1], sizeof(keys[1]), "%sd-none", K.seen);
		snprintf(keys[2], sizeof(keys[2]), "%sc-none", K.seenc);
		snprintf(keys[3], sizeof(keys[3]), "%sd-none", K.raw);
		snprintf(keys[6], sizeof(keys[6]), "%sd-none", K.rawin);
		kv[1] = keys[1];
		kv[2] = keys[2];
		kv[3] = keys[3];
		kv[6] = keys[6];
		const char *argv[24] = { 0 };
		size_t argvlen[24];
		const char *args[] = { "job", "d-none", "repo:push", "3600", "60",
		    "0", "1", "600", "", "0", "msgpack", "60000", "100", "",
		    "acme/shop", "1" };
		for (int i = 0; i < 8; i++)
			argv[i] = kv[i];
		for (int i = 0; i < 16; i++)
			argv[8 + i] = args[i];
		for (int i = 0; i < 24; i++)
			argvlen[i] = strlen(argv[i]);
		long long before = xlen();
		struct eval_res rep = { 0 };
		bs_redis_eval(R, &bs_script_enqueue, 8, 24, argv, argvlen,
		    on_eval, &rep);
		(void)bs_test_run_until(base, &rep.calls, 1, 3000);
		CHECK_INT(rep.calls, 1);
		CHECK(strstr(rep.text, "raw delivery not staged") != NULL);
		CHECK_INT(xlen(), before);
		CHECK_STR(get(K.seen, "d-none", v, sizeof(v)), "");
		CHECK_INT(ttl(K.raw, "d-none"), -2);
		CHECK_INT(ttl(K.events, ""), -2);   /* nor on {p}:events */
	}

	TEST("content older than the window does not count") {
		/* Written 2 h ago in the old format (no hook, 7-day TTL) and in
		 * the new one: neither swallows a new push. */
		set(K.seenc, "c-old", "1000-0");
		CHECK_INT(enq("d-o1", "c-old", "{h1}", false, 0).st, BS_ENQ_QUEUED);
		char old[64];
		snprintf(old, sizeof(old), "%lld-0 {h2}", bs_now_ms() - 7200 * 1000LL);
		set(K.seenc, "c-old2", old);
		CHECK_INT(enq("d-o2", "c-old2", "{h1}", false, 0).st, BS_ENQ_QUEUED);
		/* A recent old-format value (no hook) still is a duplicate. */
		char recent[64];
		snprintf(recent, sizeof(recent), "%lld-0", bs_now_ms() - 1000);
		set(K.seenc, "c-new", recent);
		struct enq_res r = enq("d-o3", "c-new", "{h1}", false, 0);
		CHECK_INT(r.st, BS_ENQ_DUPLICATE);
		CHECK_STR(r.id, recent);
	}

	TEST("delivery id: retry a duplicate, a late resend queued again") {
		struct enq_res a = enq("d-r", NULL, "{h1}", false, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		/* Bitbucket's automatic retry (X-Attempt-Number 2) soon after. */
		struct enq_res b = enq("d-r", NULL, "{h1}", true, 0);
		CHECK_INT(b.st, BS_ENQ_DUPLICATE);
		CHECK_STR(b.id, a.id);
		/* The copy under d-r was queued 20 minutes ago. */
		char old[64];
		snprintf(old, sizeof(old), "%lld-0", bs_now_ms() - 1200 * 1000LL);
		set(K.seen, "d-r", old);
		/* Not a resend (attempt 1 again: not from Bitbucket): duplicate. */
		struct enq_res c = enq("d-r", NULL, "{h1}", false, 0);
		CHECK_INT(c.st, BS_ENQ_DUPLICATE);
		CHECK_STR(c.id, old);
		/* A manual Resend: queued again, and d-r names the new job. */
		struct enq_res d = enq("d-r", NULL, "{h1}", true, 0);
		CHECK_INT(d.st, BS_ENQ_QUEUED);
		CHECK_STR(get(K.seen, "d-r", v, sizeof(v)), d.id);
		/* Its own automatic retry is a duplicate again. */
		struct enq_res e = enq("d-r", NULL, "{h1}", true, 0);
		CHECK_INT(e.st, BS_ENQ_DUPLICATE);
		CHECK_STR(e.id, d.id);
		/* A late resend whose content another webhook just sent: the
		 * content rule still holds. */
		struct enq_res f = enq("d-s", "c-rs", "{h2}", false, 0);
		CHECK_INT(f.st, BS_ENQ_QUEUED);
		set(K.seen, "d-t", old);
		struct enq_res g = enq("d-t", "c-rs", "{h1}", true, 0);
		CHECK_INT(g.st, BS_ENQ_DUPLICATE);
		CHECK_STR(g.id, f.id);
	}

	TEST("the raw delivery keeps the receive time given") {
		CHECK_INT(enq("d-time", NULL, NULL, false, 1764504000000LL).st,
		    BS_ENQ_QUEUED);
		struct bs_admin_raw raw;
		CHECK_INT(bs_admin_raw_get(C, &K, "d-time", &raw, err, sizeof(err)), 0);
		CHECK_INT(raw.received_ms, 1764504000000LL);
		bs_admin_raw_release(&raw);
		/* <= 0: now. */
		long long t0 = bs_now_ms();
		CHECK_INT(enq("d-now", NULL, NULL, false, 0).st, BS_ENQ_QUEUED);
		CHECK_INT(bs_admin_raw_get(C, &K, "d-now", &raw, err, sizeof(err)), 0);
		CHECK(raw.received_ms >= t0 && raw.received_ms <= bs_now_ms());
		bs_admin_raw_release(&raw);
	}

	TEST("a hook id with a space is refused; nothing written") {
		long long before = xlen();
		struct enq_res r = enq("d-bad", "c-bad", "{h 1}", false, 0);
		CHECK_INT(r.calls, 1);
		CHECK_INT(r.st, BS_ENQ_FAILED);
		CHECK_STR(r.err, "hook id too long or with spaces");
		CHECK_INT(xlen(), before);
		CHECK_STR(get(K.seen, "d-bad", v, sizeof(v)), "");
	}

	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
