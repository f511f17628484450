/* test_record: the streams for other readers (record.h). Pure: the deploy
 * record in both encodings, msgpack -> JSON on good and bad input. Against
 * a real redis-server: a queued delivery on {p}:events with its plain
 * fields and the job bytes (msgpack) or their JSON; a duplicate and a
 * refused delivery add nothing; events off creates no key; a finish
 * appends its outcomes to {p}:deploys once however often it is sent;
 * trimming by length (MAXLEN ~) and by age (MINID, exact). */
#include <string.h>

#include "../test.h"
#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/jobs.h"
#include "queue/readers.h"
#include "queue/record.h"
#include "queue/trim.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static struct bs_keys K;
static redisContext *C;

struct enq_res {
	int calls;
	enum bs_enqueue_status st;
	char id[64];
};

static void
on_enq(enum bs_enqueue_status st, const char *id, const char *err, void *arg)
{
	(void)err;
	struct enq_res *r = arg;
	r->calls++;
	r->st = st;
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
}

struct done_res {
	int calls, ok;
};

static void
on_done(int ok, const char *err, void *arg)
{
	(void)err;
	struct done_res *r = arg;
	r->calls++;
	r->ok = ok;
}

static void
on_reply(const redisReply *rep, const char *err, void *arg)
{
	(void)rep;
	(void)err;
	((struct done_res *)arg)->calls++;
}

struct trim_res {
	int calls;
	long long removed;
};

static void
on_trim(long long removed, const char *err, void *arg)
{
	(void)err;
	struct trim_res *r = arg;
	r->calls++;
	r->removed = removed;
}

static long long
xlen(const char *key)
{
	redisReply *r = redisCommand(C, "XLEN %s", key);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

static long long
exists(const char *key)
{
	redisReply *r = redisCommand(C, "EXISTS %s", key);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

/* Field `name` of the newest entry of key into out ("" when none). */
static size_t
newest_field(const char *key, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	redisReply *r = redisCommand(C, "XREVRANGE %s + - COUNT 1", key);
	size_t n = 0;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
		redisReply *f = r->element[0]->element[1];
		for (size_t i = 0; i + 1 < f->elements; i += 2)
			if (strcmp(f->element[i]->str, name) == 0) {
				n = f->element[i + 1]->len < cap - 1 ?
				    f->element[i + 1]->len : cap - 1;
				memcpy(out, f->element[i + 1]->str, n);
				out[n] = '\0';
			}
	}
	freeReplyObject(r);
	return n;
}

static struct enq_res
enqueue(const char *delivery, const char *job, size_t len,
    const struct bs_record_opts *pub, long long maxlen)
{
	struct enq_res r = { 0 };
	struct bs_enqueue e = { .delivery = delivery, .event_key = "repo:push",
		.job = job, .job_len = len, .seen_ttl_s = 600, .maxlen = maxlen,
		.repository = "acme/shop", .received_ms = 1764000000000LL,
		.events = pub };
	bs_jobs_enqueue(R, &K, &e, on_enq, &r);
	(void)bs_test_run_until(base, &r.calls, 1, 3000);
	return r;
}

int
main(void)
{
	if (getenv("BS_EVENT_DEBUG"))
		event_enable_debug_mode();

	const char *keys[] = { "SHOP-1", "OPS-2" };
	struct bs_deploy_record rec = { .kind = BS_REC_REGISTERED,
		.at_ms = 1764000000123LL, .delivery = "d-1", .job = "1-0",
		.event = "repo:push", .repository = "acme/shop",
		.target = "acme/web/production", .org = "acme", .deployment = "web",
		.environment = "production", .sha = "abc", .branch = "main",
		.date = "2025-11-24T16:00:00.123Z", .commits = 3, .keys = keys,
		.n_keys = 2, .attempts = 1, .status = 200 };

	TEST("deploy record: msgpack and JSON say the same") {
		size_t mlen, jlen, clen;
		char *mp = bs_record_deploy(&rec, BS_RECORD_MSGPACK, &mlen);
		char *js = bs_record_deploy(&rec, BS_RECORD_JSON, &jlen);
		char *conv = bs_record_json(mp, mlen, &clen);
		CHECK(conv != NULL);
		CHECK_INT((long long)clen, (long long)jlen);
		CHECK(conv && memcmp(conv, js, jlen) == 0);
		CHECK(strstr(js, "{\"v\":1,\"kind\":\"registered\",\"at_ms\":"
		    "1764000000123,") == js);
		CHECK(strstr(js, "\"commits\":3,\"keys\":[\"SHOP-1\",\"OPS-2\"],"
		    "\"attempts\":1,\"status\":200,\"reason\":null,"
		    "\"superseded_by\":null,\"url\":null}") != NULL);
		struct bs_deploy_record none = rec;
		none.commits = -1;
		none.keys = NULL;
		char *j2 = bs_record_deploy(&none, BS_RECORD_JSON, &jlen);
		CHECK(strstr(j2, "\"commits\":null,\"keys\":[]") != NULL);
		free(mp);
		free(js);
		free(conv);
		free(j2);
	}

	TEST("msgpack -> JSON: values, escapes, and what it refuses") {
		/* {"a":[1,-2,true,nil,1.5,"x\"y\n"],"b":18446744073709551615} */
		const char mp[] = "\x82\xa1" "a" "\x96\x01\xfe\xc3\xc0"
		    "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00" "\xa4x\"y\n"
		    "\xa1" "b" "\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
		size_t n;
		char *j = bs_record_json(mp, sizeof(mp) - 1, &n);
		CHECK_STR(j ? j : "(null)",
		    "{\"a\":[1,-2,true,null,1.5,\"x\\\"y\\n\"],"
		    "\"b\":18446744073709551615}");
		free(j);
		CHECK(bs_record_json(mp, sizeof(mp) - 2, &n) == NULL);   /* cut */
		CHECK(bs_record_json("\x01\x02", 2, &n) == NULL);        /* two values */
		CHECK(bs_record_json("\x81\x01\x02", 3, &n) == NULL);    /* int key */
		CHECK(bs_record_json("", 0, &n) == NULL);
		/* A string that is not UTF-8 becomes null, not broken JSON. */
		j = bs_record_json("\x91\xa2\xff\xfe", 4, &n);
		CHECK_STR(j ? j : "(null)", "[null]");
		free(j);
		/* Nesting deeper than the bound is refused. */
		char deep[200];
		memset(deep, '\x91', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\x01';
		CHECK(bs_record_json(deep, sizeof(deep), &n) == NULL);
		enum bs_record_format f;
		CHECK_INT(bs_record_format_parse("json", &f), 0);
		CHECK_INT(f, BS_RECORD_JSON);
		CHECK_INT(bs_record_format_parse("xml", &f), -1);
	}

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
	struct done_res g = { 0 };
	bs_jobs_ensure_group(R, &K, on_reply, &g);
	(void)bs_test_run_until(base, &g.calls, 1, 3000);

	struct bs_job job;
	bs_job_init(&job);
	job.delivery = bs_arena_strdup(&job.ev.arena, "d-1");
	job.ev.repository = bs_arena_strdup(&job.ev.arena, "acme/shop");
	job.ev.type = BS_EVENT_PUSH;
	size_t jlen;
	char *jbuf = bs_job_encode(&job, &jlen);
	struct bs_record_opts mp_on, js_on, off;
	bs_record_opts_set(&mp_on, true, "msgpack", 3600000, 1000);
	bs_record_opts_set(&js_on, true, "json", 3600000, 1000);
	bs_record_opts_set(&off, false, "msgpack", 0, 0);
	char v[4096];

	TEST("events off: a queued delivery leaves no {p}:events") {
		struct enq_res a = enqueue("d-off", jbuf, jlen, &off, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		CHECK_INT(exists(K.events), 0);
		a = enqueue("d-null", jbuf, jlen, NULL, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		CHECK_INT(exists(K.events), 0);
	}

	TEST("a queued delivery is on {p}:events once, with its fields") {
		struct enq_res a = enqueue("d-1", jbuf, jlen, &mp_on, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		CHECK_INT(xlen(K.events), 1);
		newest_field(K.events, "job", v, sizeof(v));
		CHECK_STR(v, a.id);
		newest_field(K.events, "delivery", v, sizeof(v));
		CHECK_STR(v, "d-1");
		newest_field(K.events, "repository", v, sizeof(v));
		CHECK_STR(v, "acme/shop");
		newest_field(K.events, "received_ms", v, sizeof(v));
		CHECK_STR(v, "1764000000000");
		newest_field(K.events, "format", v, sizeof(v));
		CHECK_STR(v, "msgpack");
		size_t n = newest_field(K.events, "data", v, sizeof(v));
		CHECK(n == jlen && memcmp(v, jbuf, jlen) == 0);
		struct enq_res b = enqueue("d-1", jbuf, jlen, &mp_on, 0);
		CHECK_INT(b.st, BS_ENQ_DUPLICATE);
		CHECK_INT(xlen(K.events), 1);
	}

	TEST("format json: the job's JSON form") {
		struct enq_res a = enqueue("d-2", jbuf, jlen, &js_on, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		size_t n = newest_field(K.events, "data", v, sizeof(v));
		size_t cl;
		char *want = bs_record_json(jbuf, jlen, &cl);
		CHECK(want && n == cl && memcmp(v, want, cl) == 0);
		CHECK(strncmp(v, "{\"v\":1,\"delivery\":\"d-1\"", 23) == 0);
		free(want);
		newest_field(K.events, "format", v, sizeof(v));
		CHECK_STR(v, "json");
	}

	TEST("a refused delivery (queue full) adds nothing") {
		long long before = xlen(K.events);
		struct enq_res a = enqueue("d-full", jbuf, jlen, &mp_on, 1);
		CHECK_INT(a.st, BS_ENQ_FAILED);
		CHECK_INT(xlen(K.events), before);
	}

	TEST("a finish appends its outcomes once, however often sent") {
		struct enq_res a = enqueue("d-3", jbuf, jlen, &mp_on, 0);
		redisReply *rd = redisCommand(C, "XREADGROUP GROUP %s w1 COUNT 100 "
		    "STREAMS %s >", K.group, K.jobs);
		freeReplyObject(rd);
		size_t dl;
		char *data = bs_record_deploy(&rec, BS_RECORD_MSGPACK, &dl);
		struct bs_outcome_rec outs[] = {
			{ BS_REC_REGISTERED, "acme/web/production", "d-3", "acme/shop",
			  a.id, 1764000000123LL, data, dl },
			{ BS_REC_DEAD, "acme/api/production", "d-3", "acme/shop", a.id,
			  1764000000124LL, data, dl },
		};
		struct bs_finish f = { .id = a.id, .events = &mp_on, .outcomes = outs,
			.n_outcomes = 2 };
		for (int i = 0; i < 2; i++) {
			struct done_res d = { 0 };
			bs_jobs_finish_lanes(R, &K, &f, on_done, &d);
			(void)bs_test_run_until(base, &d.calls, 1, 3000);
			CHECK_INT(d.calls, 1);
			CHECK_INT(d.ok, 1);
		}
		CHECK_INT(xlen(K.deploys), 2);
		newest_field(K.deploys, "kind", v, sizeof(v));
		CHECK_STR(v, "dead");
		newest_field(K.deploys, "target", v, sizeof(v));
		CHECK_STR(v, "acme/api/production");
		newest_field(K.deploys, "job", v, sizeof(v));
		CHECK_STR(v, a.id);
		size_t n = newest_field(K.deploys, "data", v, sizeof(v));
		CHECK(n == dl && memcmp(v, data, dl) == 0);
		/* Off: outcomes given are not written. */
		struct enq_res b = enqueue("d-4", jbuf, jlen, &off, 0);
		rd = redisCommand(C, "XREADGROUP GROUP %s w1 COUNT 100 STREAMS %s >",
		    K.group, K.jobs);
		freeReplyObject(rd);
		struct bs_finish f2 = { .id = b.id, .events = &off, .outcomes = outs,
			.n_outcomes = 2 };
		struct done_res d = { 0 };
		bs_jobs_finish_lanes(R, &K, &f2, on_done, &d);
		(void)bs_test_run_until(base, &d.calls, 1, 3000);
		CHECK_INT(d.ok, 1);
		CHECK_INT(xlen(K.deploys), 2);
		free(data);
	}

	TEST("trimmed by length (MAXLEN ~) and by age (MINID, exact)") {
		redisReply *r = redisCommand(C, "DEL %s", K.events);
		freeReplyObject(r);
		r = redisCommand(C, "CONFIG SET stream-node-max-entries 4");
		freeReplyObject(r);
		struct bs_record_opts small;
		bs_record_opts_set(&small, true, "msgpack", 3600000, 10);
		char d[32];
		for (int i = 0; i < 40; i++) {
			snprintf(d, sizeof(d), "d-len-%d", i);
			enqueue(d, jbuf, jlen, &small, 0);
		}
		long long n = xlen(K.events);
		CHECK(n >= 10 && n <= 14);
		/* Entries older than the TTL (ids of 1970) go at the next
		 * delivery, exactly: whole nodes or not. */
		r = redisCommand(C, "DEL %s", K.events);
		freeReplyObject(r);
		r = redisCommand(C, "XADD %s 1000-0 v 1", K.events);
		freeReplyObject(r);
		r = redisCommand(C, "XADD %s 1001-0 v 1", K.events);
		freeReplyObject(r);
		enqueue("d-age", jbuf, jlen, &mp_on, 0);
		CHECK_INT(xlen(K.events), 1);
		newest_field(K.events, "delivery", v, sizeof(v));
		CHECK_STR(v, "d-age");
	}

	TEST("readers: groups with pending, lag, and what trimming took") {
		redisReply *r = redisCommand(C, "DEL %s", K.events);
		freeReplyObject(r);
		struct bs_reader_stream st;
		char err[200];
		CHECK_INT(bs_readers_stats(C, K.events, 0, &st, err, sizeof(err)), 0);
		CHECK_INT(st.length, 0);                 /* no key: nothing, no error */
		CHECK_INT(st.n_groups, 0);
		bs_readers_release(&st);
		struct bs_record_opts small;
		bs_record_opts_set(&small, true, "msgpack", 3600000, 10);
		enqueue("d-r0", jbuf, jlen, &small, 0);
		r = redisCommand(C, "XGROUP CREATE %s early 0", K.events);
		freeReplyObject(r);
		char d[32];
		for (int i = 1; i <= 30; i++) {
			snprintf(d, sizeof(d), "d-r%d", i);
			enqueue(d, jbuf, jlen, &small, 0);
		}
		r = redisCommand(C, "XGROUP CREATE %s late 0", K.events);
		freeReplyObject(r);
		r = redisCommand(C, "XREADGROUP GROUP late c1 COUNT 2 STREAMS %s >",
		    K.events);
		freeReplyObject(r);
		CHECK_INT(bs_readers_stats(C, K.events, 0, &st, err, sizeof(err)), 0);
		CHECK(st.length >= 10 && st.length <= 14);
		CHECK_INT(st.n_groups, 2);
		for (size_t i = 0; i < st.n_groups; i++) {
			const struct bs_reader_group *rg = &st.groups[i];
			if (strcmp(rg->name, "early") == 0) {
				/* Created before 30 more came; the stream kept ~10. */
				CHECK_INT(rg->pending, 0);
				CHECK_INT(rg->lag, st.length);
				CHECK_INT(rg->missed, 31 - st.length);
			} else {
				/* Created after the trimming at 0: it reads the
				 * whole window and misses nothing it could see. */
				CHECK_STR(rg->name, "late");
				CHECK_INT(rg->consumers, 1);
				CHECK_INT(rg->pending, 2);
				CHECK_INT(rg->lag, st.length - 2);
				CHECK_INT(rg->missed, 0);
			}
		}
		struct bs_reader_stream sum = { .oldest_age_ms = -1 };
		bs_readers_add(&sum, &st);
		bs_readers_add(&sum, &st);
		CHECK_INT(sum.length, 2 * st.length);
		CHECK_INT(sum.n_groups, 2);
		CHECK_INT(sum.groups[0].pending + sum.groups[1].pending, 4);
		bs_readers_release(&sum);
		bs_readers_release(&st);
	}

	TEST("the workers' trim by age: on Redis' clock, exact or by nodes") {
		redisReply *r = redisCommand(C, "DEL %s", K.deploys);
		freeReplyObject(r);
		for (int i = 0; i < 3; i++) {
			r = redisCommand(C, "XADD %s %d-0 v 1", K.deploys, 1000 + i);
			freeReplyObject(r);
		}
		r = redisCommand(C, "XADD %s * v 1", K.deploys);
		freeReplyObject(r);
		struct trim_res t = { 0 };
		bs_trim_older(R, K.deploys, 3600000, 0, on_trim, &t);
		(void)bs_test_run_until(base, &t.calls, 1, 3000);
		CHECK_INT(t.calls, 1);
		CHECK_INT(t.removed, 3);
		CHECK_INT(xlen(K.deploys), 1);
		struct trim_res u = { 0 };
		bs_trim_older(R, "t-no-such-stream", 1000, 1, on_trim, &u);
		(void)bs_test_run_until(base, &u.calls, 1, 3000);
		CHECK_INT(u.calls, 1);
		CHECK_INT(u.removed, 0);
		CHECK_INT(exists("t-no-such-stream"), 0);
	}

	free(jbuf);
	bs_job_release(&job);
	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
