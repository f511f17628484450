/* test_jobs: the queue operations against a real redis-server: enqueue
 * with dedupe by delivery and by content (and the raw delivery kept), read,
 * finish with retry and dead records, already-acknowledged finish, promote
 * of due retries (fields checked, corrupt members to dead), claim of an
 * entry left pending by another consumer, NOGROUP recovery after FLUSHALL,
 * dry-run records and counters, and the synchronous operator functions
 * (stats, dead list with filters, get, replay, purge, raw). Every async
 * callback is counted to prove it ran exactly once. */
#include <string.h>

#include "../test.h"
#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/admin.h"
#include "queue/jobs.h"
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

#define MAXE 8
struct ent_res {
	int calls;
	size_t n;
	char err[128];
	char ids[MAXE][64];
	long long delivered[MAXE];
	size_t n_fields[MAXE];
	char job[MAXE][2048];
	size_t job_len[MAXE];
	char attempt[MAXE][16];
	char target[MAXE][64];
};

static void
on_entries(struct bs_entry *e, size_t n, const char *err, void *arg)
{
	struct ent_res *r = arg;
	r->calls++;
	r->n = n;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
	for (size_t i = 0; i < n && i < MAXE; i++) {
		snprintf(r->ids[i], sizeof(r->ids[i]), "%s", e[i].id);
		r->delivered[i] = e[i].delivered;
		r->n_fields[i] = e[i].n_fields;
		const struct bs_field *f = bs_entry_field(&e[i], "job");
		r->job_len[i] = 0;
		if (f && f->len <= sizeof(r->job[i])) {
			memcpy(r->job[i], f->val, f->len);
			r->job_len[i] = f->len;
		}
		f = bs_entry_field(&e[i], "attempt");
		snprintf(r->attempt[i], sizeof(r->attempt[i]), "%s", f ? f->val : "");
		f = bs_entry_field(&e[i], "target");
		snprintf(r->target[i], sizeof(r->target[i]), "%s", f ? f->val : "");
	}
}

struct done_res {
	int calls;
	int ok;
	long long n;
	char err[128];
};

static void
on_done(int ok, const char *err, void *arg)
{
	struct done_res *r = arg;
	r->calls++;
	r->ok = ok;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_count(long long n, const char *err, void *arg)
{
	struct done_res *r = arg;
	r->calls++;
	r->n = n;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
on_reply(const redisReply *rep, const char *err, void *arg)
{
	struct done_res *r = arg;
	r->calls++;
	r->ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

/* Synchronous helpers for checking what Redis holds. */
static long long
q_int(const char *fmt, const char *a)
{
	redisReply *r = redisCommand(C, fmt, a);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
	freeReplyObject(r);
	return v;
}

#define stat_of(name) bs_test_hget_int(C, K.stats, (name))

static void
wait_calls(int *calls, int want)
{
	(void)bs_test_run_until(base, calls, want, 3000);
}

static struct enq_res
enqueue(const char *delivery, const char *content, const char *job,
    size_t job_len, int raw_ttl)
{
	struct enq_res r = { 0 };
	struct bs_enqueue e = {
		.delivery = delivery, .content_key = content,
		.event_key = "repo:push", .job = job, .job_len = job_len,
		.raw_headers = "X-Event-Key: repo:push\n", .raw_headers_len = 23,
		.raw_body = "{\"a\":1}", .raw_body_len = 7,
		.seen_ttl_s = 600, .raw_ttl_s = raw_ttl, .maxlen = 10000,
	};
	bs_jobs_enqueue(R, &K, &e, on_enq, &r);
	wait_calls(&r.calls, 1);
	return r;
}

static struct ent_res *
read_jobs(const char *consumer, int block)
{
	static struct ent_res r;
	memset(&r, 0, sizeof(r));
	bs_jobs_read(R, &K, consumer, NULL, 8, block, on_entries, &r);
	wait_calls(&r.calls, 1);
	return &r;
}

/* The group (if missing), then n entries "job x delivery <tag>-<i>" added
 * by hand; their ids into ids. */
static void
add_plain_entries(char ids[][64], int n, const char *tag)
{
	freeReplyObject(redisCommand(C, "XGROUP CREATE %s %s $ MKSTREAM", K.jobs,
	    K.group));
	for (int i = 0; i < n; i++) {
		redisReply *x = redisCommand(C, "XADD %s * job x delivery %s-%d",
		    K.jobs, tag, i);
		snprintf(ids[i], 64, "%s", x && x->str ? x->str : "");
		freeReplyObject(x);
	}
}

static void
flushall(void)
{
	redisReply *r = redisCommand(C, "FLUSHALL");
	freeReplyObject(r);
}

int
main(void)
{
	/* BS_EVENT_DEBUG=1: libevent checks every event operation. */
	if (getenv("BS_EVENT_DEBUG"))
		event_enable_debug_mode();
	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	base = event_base_new();
	bs_keys_init(&K, "t");
	int ups = 0;
	char err[256];
	R = bs_test_client(base, &srv, &ups);
	C = bs_test_redis_sync(&srv);

	/* A real encoded job. */
	struct bs_job job;
	bs_job_init(&job);
	job.delivery = bs_arena_strdup(&job.ev.arena, "d-1");
	job.ev.repository = bs_arena_strdup(&job.ev.arena, "acme/shop");
	job.ev.type = BS_EVENT_PUSH;
	size_t jlen;
	char *jbuf = bs_job_encode(&job, &jlen);

	TEST("ensure_group creates, then BUSYGROUP is success") {
		struct done_res a = { 0 }, b = { 0 };
		bs_jobs_ensure_group(R, &K, on_reply, &a);
		wait_calls(&a.calls, 1);
		CHECK_INT(a.ok, 1);
		bs_jobs_ensure_group(R, &K, on_reply, &b);
		wait_calls(&b.calls, 1);
		CHECK_INT(b.ok, 1);
		CHECK_STR(b.err, "");
		CHECK_INT(q_int("EXISTS %s", K.jobs), 1);
	}

	char first_id[64];
	TEST("enqueue, dedupe by delivery and by content") {
		struct enq_res a = enqueue("d-1", "push:acme/shop:main:abc", jbuf, jlen, 60);
		CHECK_INT(a.calls, 1);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		CHECK(strchr(a.id, '-') != NULL);
		snprintf(first_id, sizeof(first_id), "%s", a.id);
		struct enq_res b = enqueue("d-1", NULL, jbuf, jlen, 60);
		CHECK_INT(b.calls, 1);
		CHECK_INT(b.st, BS_ENQ_DUPLICATE);
		CHECK_STR(b.id, first_id);
		struct enq_res c = enqueue("d-2", "push:acme/shop:main:abc", jbuf, jlen, 60);
		CHECK_INT(c.st, BS_ENQ_DUPLICATE);
		CHECK_STR(c.id, first_id);
		CHECK_INT(q_int("XLEN %s", K.jobs), 1);
		CHECK_INT(stat_of("queued"), 1);
		CHECK_INT(stat_of("duplicates"), 2);
		char key[400];
		snprintf(key, sizeof(key), "%sd-1", K.seen);
		long long ttl = q_int("TTL %s", key);
		CHECK(ttl > 590 && ttl <= 600);
		snprintf(key, sizeof(key), "%sd-1", K.raw);
		ttl = q_int("TTL %s", key);
		CHECK(ttl > 50 && ttl <= 60);
		/* Bad input fails at once and writes nothing. */
		struct enq_res d = enqueue("", NULL, jbuf, jlen, 0);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.st, BS_ENQ_FAILED);
		CHECK_STR(d.err, "delivery id is empty or too long");
		CHECK_INT(q_int("XLEN %s", K.jobs), 1);
	}

	TEST("raw delivery kept and read back; missing one refused") {
		struct bs_admin_raw raw;
		CHECK_INT(bs_admin_raw_get(C, &K, "d-1", &raw, err, sizeof(err)), 0);
		CHECK_STR(raw.headers, "X-Event-Key: repo:push\n");
		CHECK_INT(raw.body_len, 7);
		CHECK_STR(raw.body, "{\"a\":1}");
		CHECK_STR(raw.event, "repo:push");
		CHECK_STR(raw.job_id, first_id);
		CHECK(raw.received_ms > 1700000000000LL);
		bs_admin_raw_release(&raw);
		CHECK_INT(bs_admin_raw_get(C, &K, "d-404", &raw, err, sizeof(err)), -1);
		CHECK_STR(err, "no raw delivery 'd-404'");
	}

	TEST("read delivers the entry with its fields") {
		struct ent_res *r = read_jobs("w1", 100);
		CHECK_INT(r->calls, 1);
		CHECK_STR(r->err, "");
		CHECK_INT(r->n, 1);
		CHECK_STR(r->ids[0], first_id);
		CHECK_INT(r->delivered[0], 1);
		CHECK_INT(r->n_fields[0], 3);
		CHECK_INT(r->job_len[0], jlen);
		struct bs_job back;
		bs_job_init(&back);
		CHECK_INT(bs_job_decode(r->job[0], r->job_len[0], &back, err,
		    sizeof(err)), 0);
		CHECK_STR(back.delivery, "d-1");
		CHECK_STR(back.ev.repository, "acme/shop");
		bs_job_release(&back);
		/* Nothing new: an empty read after ~BLOCK. */
		long long t0 = bs_test_now_ms();
		r = read_jobs("w1", 200);
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->n, 0);
		CHECK_STR(r->err, "");
		CHECK(bs_test_now_ms() - t0 >= 150);
	}

	TEST("BLOCK is kept below the command timeout") {
		/* Client timeout 2000 ms: BLOCK 10000 would drop the connection;
		 * it is cut to 1500 and the read ends empty, not in a timeout. */
		long long t0 = bs_test_now_ms();
		struct ent_res *r = read_jobs("w1", 10000);
		long long took = bs_test_now_ms() - t0;
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->n, 0);
		CHECK_STR(r->err, "");
		/* No upper bound on a busy machine: an empty reply (not a
		 * timeout) with the connection still up is the proof. */
		CHECK(took >= 1400);
		CHECK(bs_redis_is_up(R));
	}

	long long now = bs_test_now_ms();
	struct bs_field retry_f[] = {
		{ "job", jbuf, jlen },
		{ "delivery", "d-1", 3 },
		{ "event", "repo:push", 9 },
		{ "target", "acme/shop-web/production", 24 },
		{ "attempt", "1", 1 },
		{ "first_ms", "1764065000000", 13 },
		{ "history", "[{\"status\":503}]", 16 },
	};
	struct bs_field dead_f[] = {
		{ "job", jbuf, jlen },
		{ "delivery", "d-1", 3 },
		{ "event", "repo:push", 9 },
		{ "target", "acme/shop-api/staging", 21 },
		{ "attempt", "5", 1 },
		{ "first_ms", "1764065000000", 13 },
		{ "history", "[{\"status\":400}]", 16 },
		{ "reason", "sleuth said 400: bad environment", 32 },
	};

	TEST("finish: retry and dead records, ack and delete") {
		struct bs_finish_rec recs[] = {
			{ BS_FINISH_RETRY, now - 1, retry_f, 7 },
			{ BS_FINISH_DEAD, 0, dead_f, 8 },
		};
		struct done_res d = { 0 };
		bs_jobs_finish(R, &K, first_id, NULL, recs, 2, 3, 1000, on_done, &d);
		wait_calls(&d.calls, 1);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 1);
		CHECK_STR(d.err, "");
		CHECK_INT(q_int("XLEN %s", K.jobs), 0);
		CHECK_INT(q_int("ZCARD %s", K.retry), 1);
		CHECK_INT(q_int("XLEN %s", K.dead), 1);
		CHECK_INT(stat_of("registered"), 3);
		CHECK_INT(stat_of("retried"), 1);
		CHECK_INT(stat_of("dead"), 1);
		redisReply *p = redisCommand(C, "XPENDING %s %s", K.jobs, K.group);
		CHECK(p && p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0);
		freeReplyObject(p);
	}

	TEST("finish of an already acknowledged entry writes nothing") {
		struct bs_finish_rec recs[] = { { BS_FINISH_DEAD, 0, dead_f, 8 } };
		struct done_res d = { 0 };
		bs_jobs_finish(R, &K, first_id, NULL, recs, 1, 1, 1000, on_done, &d);
		wait_calls(&d.calls, 1);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 1);
		CHECK_INT(q_int("XLEN %s", K.dead), 1);
		CHECK_INT(stat_of("registered"), 3);
		CHECK_INT(stat_of("dead"), 1);
		/* Its one write: what a WAIT after it waits for. */
		CHECK_INT(stat_of("finish_repeats"), 1);
		/* Malformed records are refused before anything is sent. */
		struct bs_finish_rec bad[] = { { BS_FINISH_DEAD, 0, dead_f, 0 } };
		struct done_res e = { 0 };
		bs_jobs_finish(R, &K, first_id, NULL, bad, 1, 0, 0, on_done, &e);
		CHECK_INT(e.calls, 1);
		CHECK_INT(e.ok, 0);
		CHECK_STR(e.err, "bad finish record");
	}

	TEST("promote moves due retries back with their fields") {
		/* One more retry, not due yet: msgpack of
		 * ["delivery", "d-9", "target", "x/y/z"]. */
		redisReply *z = redisCommand(C, "ZADD %s %lld %s", K.retry,
		    now + 600000, "\x94\xa8" "delivery\xa3" "d-9\xa6target\xa5x/y/z");
		freeReplyObject(z);
		struct done_res d = { 0 };
		bs_jobs_promote(R, &K, now, 10, on_count, &d);
		wait_calls(&d.calls, 1);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.n, 1);
		CHECK_STR(d.err, "");
		CHECK_INT(q_int("ZCARD %s", K.retry), 1);
		CHECK_INT(q_int("XLEN %s", K.jobs), 1);
		redisReply *x = redisCommand(C, "XRANGE %s - +", K.jobs);
		CHECK(x && x->elements == 1);
		if (x && x->elements == 1) {
			const redisReply *f = x->element[0]->element[1];
			CHECK_INT(f->elements, 14);
			for (size_t i = 0; i < 7 && f->elements == 14; i++) {
				CHECK_STR(f->element[2 * i]->str, retry_f[i].name);
				CHECK_INT(f->element[2 * i + 1]->len, retry_f[i].len);
				CHECK(memcmp(f->element[2 * i + 1]->str, retry_f[i].val,
				    retry_f[i].len) == 0);
			}
		}
		freeReplyObject(x);
		/* A corrupt member goes to dead, not back into jobs. */
		z = redisCommand(C, "ZADD %s %lld %s", K.retry, now - 5, "garbage");
		freeReplyObject(z);
		struct done_res e = { 0 };
		bs_jobs_promote(R, &K, now, 10, on_count, &e);
		wait_calls(&e.calls, 1);
		CHECK_INT(e.n, 0);
		CHECK_INT(q_int("XLEN %s", K.dead), 2);
		CHECK_INT(q_int("ZCARD %s", K.retry), 1);
		CHECK_INT(q_int("XLEN %s", K.jobs), 1);
	}

	TEST("claim an entry another consumer left pending") {
		struct ent_res *r = read_jobs("w-dead", 100);
		CHECK_INT(r->n, 1);
		char id[64];
		snprintf(id, sizeof(id), "%s", r->ids[0]);
		CHECK_STR(r->attempt[0], "1");
		struct ent_res c1;
		memset(&c1, 0, sizeof(c1));
		bs_jobs_claim(R, &K, "w2", 300, 10, on_entries, &c1);
		wait_calls(&c1.calls, 1);
		CHECK_INT(c1.calls, 1);
		CHECK_INT(c1.n, 0); /* not idle long enough yet */
		bs_test_run_for(base, 350);
		struct ent_res c2;
		memset(&c2, 0, sizeof(c2));
		bs_jobs_claim(R, &K, "w2", 300, 10, on_entries, &c2);
		wait_calls(&c2.calls, 1);
		CHECK_INT(c2.calls, 1);
		CHECK_STR(c2.err, "");
		CHECK_INT(c2.n, 1);
		CHECK_STR(c2.ids[0], id);
		CHECK_INT(c2.delivered[0], 2);
		CHECK_STR(c2.target[0], "acme/shop-web/production");
		CHECK_INT(stat_of("redelivered"), 1);
		/* The first consumer comes back late: it no longer owns the
		 * entry, so its finish (here a retry record) writes nothing. */
		struct bs_field lf[] = { { "job", "x", 1 }, { "target", "late", 4 } };
		struct bs_finish_rec late = { .kind = BS_FINISH_RETRY, .due_ms = 1,
			.fields = lf, .n_fields = 2 };
		struct done_res l = { 0 };
		long long retry_before = q_int("ZCARD %s", K.retry);
		bs_jobs_finish(R, &K, id, "w-dead", &late, 1, 1, 0, on_done, &l);
		wait_calls(&l.calls, 1);
		CHECK_INT(l.calls, 1);
		CHECK_INT(l.ok, 1);
		CHECK_INT(q_int("XLEN %s", K.jobs), 1);
		CHECK_INT(q_int("ZCARD %s", K.retry), retry_before);
		CHECK_INT(stat_of("registered"), 3);
		CHECK_INT(stat_of("finish_repeats"), 2);
		/* w2 now owns it and acknowledges it. */
		struct done_res d = { 0 };
		bs_jobs_finish(R, &K, id, "w2", NULL, 0, 1, 0, on_done, &d);
		wait_calls(&d.calls, 1);
		CHECK_INT(d.ok, 1);
		CHECK_INT(q_int("XLEN %s", K.jobs), 0);
		CHECK_INT(stat_of("registered"), 4);
	}

	TEST("dry-run record and counter") {
		struct bs_field f[] = { { "target", "a/b/c", 5 }, { "body", "{}", 2 } };
		struct done_res d = { 0 }, c = { 0 };
		bs_jobs_record_dryrun(R, &K, f, 2, 100, on_done, &d);
		bs_jobs_count(R, &K, "ignored", 5, on_done, &c);
		wait_calls(&d.calls, 1);
		wait_calls(&c.calls, 1);
		CHECK_INT(d.ok, 1);
		CHECK_INT(c.ok, 1);
		CHECK_INT(q_int("XLEN %s", K.dryrun), 1);
		CHECK_INT(stat_of("ignored"), 5);
	}

	TEST("operator stats") {
		struct enq_res a = enqueue("d-s1", NULL, jbuf, jlen, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		struct enq_res b = enqueue("d-s2", NULL, jbuf, jlen, 0);
		CHECK_INT(b.st, BS_ENQ_QUEUED);
		bs_test_run_for(base, 20);
		struct ent_res one;
		memset(&one, 0, sizeof(one));
		bs_jobs_read(R, &K, "w3", NULL, 1, 100, on_entries, &one);
		wait_calls(&one.calls, 1);
		CHECK_INT(one.n, 1);
		struct bs_admin_stats st;
		long long t = bs_test_now_ms();
		CHECK_INT(bs_admin_stats(C, &K, t, 1, &st, err, sizeof(err)), 0);
		CHECK_INT(st.jobs_len, 2);
		CHECK_INT(st.pending, 1);
		/* Every consumer of the group, idle ones (pending 0) too: only w3
		 * holds an entry. */
		CHECK(st.n_consumers >= 2);
		long long held = 0;
		int w3 = 0;
		for (size_t i = 0; i < st.n_consumers; i++) {
			held += st.consumers[i].pending;
			CHECK(st.consumers[i].idle_ms >= 0);
			if (strcmp(st.consumers[i].name, "w3") == 0) {
				w3 = 1;
				CHECK_INT(st.consumers[i].pending, 1);
			}
		}
		CHECK_INT(w3, 1);
		CHECK_INT(held, 1);
		CHECK_INT(st.dryrun_len, 1);
		CHECK_INT(st.retry_len, 1);
		CHECK_INT(st.next_retry_ms, now + 600000);
		CHECK_INT(st.dead_len, 2);
		CHECK(st.oldest_age_ms >= 0 && st.oldest_age_ms < 5000);
		long long queued = -1;
		for (size_t i = 0; i < st.n_counters; i++)
			if (strcmp(st.counters[i].name, "queued") == 0)
				queued = st.counters[i].value;
		CHECK_INT(queued, 3);
		bs_admin_stats_release(&st);
	}

	TEST("operator dead letters: list, filters, get, replay, purge") {
		struct bs_admin_entries l;
		struct bs_dead_filter f = { 0 };
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 2);
		bs_admin_entries_release(&l);
		f.deployment = "acme/shop-api";
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		char dead_id[64] = "";
		if (l.n == 1)
			snprintf(dead_id, sizeof(dead_id), "%s", l.v[0].id);
		bs_admin_entries_release(&l);
		f.deployment = NULL;
		f.repo = "acme/sh"; /* from the decoded job */
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		bs_admin_entries_release(&l);
		f.repo = NULL;
		f.reason = "corrupt";
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		char corrupt_id[64] = "";
		if (l.n == 1)
			snprintf(corrupt_id, sizeof(corrupt_id), "%s", l.v[0].id);
		bs_admin_entries_release(&l);
		f.reason = NULL;
		f.since_ms = bs_test_now_ms() + 60000;
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 0);
		bs_admin_entries_release(&l);
		f.since_ms = 0;
		f.limit = 1;
		CHECK_INT(bs_admin_dead_list(C, &K, &f, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		bs_admin_entries_release(&l);

		struct bs_admin_entry e;
		CHECK_INT(bs_admin_dead_get(C, &K, dead_id, &e, err, sizeof(err)), 0);
		CHECK_STR(e.id, dead_id);
		CHECK_INT(e.n_fields, 8);
		bs_admin_entry_release(&e);
		CHECK_INT(bs_admin_dead_get(C, &K, "1-1", &e, err, sizeof(err)), -1);
		CHECK_STR(err, "no dead letter '1-1'");

		char new_id[64];
		long long jobs_before = q_int("XLEN %s", K.jobs);
		CHECK_INT(bs_admin_dead_replay(C, &K, dead_id, "alice", 1764065000999LL,
		    new_id, sizeof(new_id), err, sizeof(err)), 0);
		CHECK_INT(q_int("XLEN %s", K.jobs), jobs_before + 1);
		CHECK_INT(q_int("XLEN %s", K.dead), 1);
		redisReply *x = redisCommand(C, "XRANGE %s %s %s", K.jobs, new_id, new_id);
		CHECK(x && x->elements == 1);
		if (x && x->elements == 1) {
			const redisReply *fv = x->element[0]->element[1];
			int saw_attempt = 0, saw_history = 0, saw_first = 0;
			for (size_t i = 0; i + 1 < fv->elements; i += 2) {
				if (strcmp(fv->element[i]->str, "attempt") == 0) {
					CHECK_STR(fv->element[i + 1]->str, "0");
					saw_attempt = 1;
				}
				if (strcmp(fv->element[i]->str, "first_ms") == 0) {
					/* max_age counts from the replay */
					CHECK_STR(fv->element[i + 1]->str, "1764065000999");
					saw_first = 1;
				}
				if (strcmp(fv->element[i]->str, "history") == 0) {
					CHECK_STR(fv->element[i + 1]->str, "[{\"status\":400}]");
					saw_history = 1;
				}
			}
			CHECK(saw_attempt && saw_history && saw_first);
		}
		freeReplyObject(x);
		/* The one replay record format, checked by name; MAXLEN ~ keeps
		 * the stream bounded (an approximate trim never shows at 1). */
		x = redisCommand(C, "XRANGE %s - +", K.replays);
		CHECK(x && x->elements == 1);
		if (x && x->elements == 1) {
			const redisReply *fv = x->element[0]->element[1];
			CHECK_INT(fv->elements, 12);
			const char *want_rec[][2] = {
				{ "kind", "dead" }, { "who", "alice" },
				{ "when_ms", "1764065000999" }, { "what", dead_id },
				{ "job", new_id }, { "target", "acme/shop-api/staging" },
			};
			for (size_t w = 0; w < 6; w++) {
				const char *got = NULL;
				for (size_t i = 0; i + 1 < fv->elements; i += 2)
					if (strcmp(fv->element[i]->str, want_rec[w][0]) == 0)
						got = fv->element[i + 1]->str;
				CHECK_STR(got, want_rec[w][1]);
			}
		}
		freeReplyObject(x);
		CHECK_INT(stat_of("replayed"), 1);
		CHECK_INT(bs_admin_dead_replay(C, &K, dead_id, "alice", 1, new_id,
		    sizeof(new_id), err, sizeof(err)), -1);
		char want[128];
		snprintf(want, sizeof(want), "no dead letter '%s'", dead_id);
		CHECK_STR(err, want);

		const char *ids[] = { corrupt_id, "1-1" };
		long long deleted = -1;
		CHECK_INT(bs_admin_dead_purge(C, &K, ids, 2, &deleted, err,
		    sizeof(err)), 0);
		CHECK_INT(deleted, 1);
		CHECK_INT(q_int("XLEN %s", K.dead), 0);
	}

	TEST("NOGROUP after FLUSHALL: group re-created, then reads work") {
		flushall();
		struct ent_res *r = read_jobs("w1", 100);
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->n, 0);
		CHECK_STR(r->err, "");
		redisReply *g = redisCommand(C, "XINFO GROUPS %s", K.jobs);
		CHECK(g && g->type == REDIS_REPLY_ARRAY && g->elements == 1);
		freeReplyObject(g);
		struct enq_res a = enqueue("d-after", NULL, jbuf, jlen, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		r = read_jobs("w1", 100);
		CHECK_INT(r->n, 1);
		CHECK_STR(r->ids[0], a.id);
		/* Claim with no group is an empty claim, not an error. */
		flushall();
		struct ent_res c;
		memset(&c, 0, sizeof(c));
		bs_jobs_claim(R, &K, "w2", 0, 10, on_entries, &c);
		wait_calls(&c.calls, 1);
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.n, 0);
		CHECK_STR(c.err, "");
	}

	TEST("a full jobs stream refuses the delivery; nothing is trimmed") {
		struct enq_res a = { 0 }, b = { 0 };
		struct bs_enqueue e = { .delivery = "d-full-1", .job = jbuf,
			.job_len = jlen, .maxlen = 1 };
		long long before = q_int("XLEN %s", K.jobs);
		bs_jobs_enqueue(R, &K, &e, on_enq, &a);
		wait_calls(&a.calls, 1);
		if (before == 0)
			CHECK_INT(a.st, BS_ENQ_QUEUED);
		e.delivery = "d-full-2";
		bs_jobs_enqueue(R, &K, &e, on_enq, &b);
		wait_calls(&b.calls, 1);
		CHECK_INT(b.calls, 1);
		CHECK_INT(b.st, BS_ENQ_FAILED);
		CHECK(strstr(b.err, "QUEUEFULL") != NULL);
		CHECK_INT(q_int("XLEN %s", K.jobs), before ? before : 1);
		char seen[BS_KEY_MAX + 16];
		snprintf(seen, sizeof(seen), "%sd-full-2", K.seen);
		CHECK_INT(q_int("EXISTS %s", seen), 0);  /* Bitbucket's resend is new */
		CHECK_INT(stat_of("refused_full"), 1);
	}

	TEST("claim finds a stale entry behind many live ones") {
		/* One XAUTOCLAIM with COUNT 1 looks at 10 PEL entries only: the
		 * stale one sits behind 12 that live workers hold. */
		char ids[13][64];
		add_plain_entries(ids, 13, "d-live");
		redisReply *x = redisCommand(C, "XREADGROUP GROUP %s w-stale COUNT 100 "
		    "STREAMS %s >", K.group, K.jobs);
		freeReplyObject(x);
		bs_test_run_for(base, 350);
		for (int i = 0; i < 12; i++) {
			x = redisCommand(C, "XCLAIM %s %s w-live 0 %s JUSTID", K.jobs,
			    K.group, ids[i]);
			freeReplyObject(x);
		}
		struct ent_res c1;
		memset(&c1, 0, sizeof(c1));
		bs_jobs_claim(R, &K, "w-claimer", 300, 1, on_entries, &c1);
		wait_calls(&c1.calls, 1);
		CHECK_INT(c1.calls, 1);
		CHECK_STR(c1.err, "");
		CHECK_INT(c1.n, 1);
		if (c1.n == 1)
			CHECK_STR(c1.ids[0], ids[12]);
	}

	TEST("read again what this consumer has pending, page by page") {
		/* A read whose reply was lost: Redis holds three entries pending
		 * for w-own, which never saw them; it had finished the first. */
		flushall();
		char ids[3][64];
		add_plain_entries(ids, 3, "d-own");
		freeReplyObject(redisCommand(C, "XREADGROUP GROUP %s w-own COUNT 10 "
		    "STREAMS %s >", K.group, K.jobs));
		freeReplyObject(redisCommand(C, "XACK %s %s %s", K.jobs, K.group, ids[0]));
		const char *from[] = { "0", ids[1], ids[2] };
		const char *want[] = { ids[1], ids[2], NULL };
		for (int i = 0; i < 3; i++) {
			struct ent_res o;
			memset(&o, 0, sizeof(o));
			bs_jobs_read(R, &K, "w-own", from[i], 1, 1000, on_entries, &o);
			wait_calls(&o.calls, 1);
			CHECK_INT(o.calls, 1);
			CHECK_STR(o.err, "");
			CHECK_INT(o.n, want[i] ? 1 : 0);
			if (want[i] && o.n == 1) {
				CHECK_STR(o.ids[0], want[i]);
				CHECK_STR(o.target[0], "");
				CHECK_INT(o.n_fields[0], 2);
			}
		}
		/* Another consumer has none of them; nothing new is there. */
		struct ent_res other;
		memset(&other, 0, sizeof(other));
		bs_jobs_read(R, &K, "w-other", "0", 10, 0, on_entries, &other);
		wait_calls(&other.calls, 1);
		CHECK_INT(other.n, 0);
		CHECK_INT(read_jobs("w-own", 0)->n, 0);
		/* A pending entry deleted from the stream is not handed out. */
		freeReplyObject(redisCommand(C, "XDEL %s %s", K.jobs, ids[2]));
		struct ent_res gone;
		memset(&gone, 0, sizeof(gone));
		bs_jobs_read(R, &K, "w-own", ids[1], 10, 0, on_entries, &gone);
		wait_calls(&gone.calls, 1);
		CHECK_STR(gone.err, "");
		CHECK_INT(gone.n, 0);
	}

	TEST("operations while redis is down fail at once, exactly once") {
		bs_test_redis_kill(&srv);
		int downs = 0;
		while (bs_redis_is_up(R) && downs++ < 300)
			bs_test_run_for(base, 10);
		CHECK(!bs_redis_is_up(R));
		struct enq_res a = { 0 };
		struct bs_enqueue e = { .delivery = "d-x", .job = jbuf, .job_len = jlen };
		bs_jobs_enqueue(R, &K, &e, on_enq, &a);
		CHECK_INT(a.calls, 1);
		CHECK_INT(a.st, BS_ENQ_FAILED);
		CHECK_STR(a.err, bs_redis_err_down);
		struct ent_res r;
		memset(&r, 0, sizeof(r));
		bs_jobs_read(R, &K, "w1", NULL, 1, 100, on_entries, &r);
		CHECK_INT(r.calls, 1);
		CHECK_STR(r.err, bs_redis_err_down);
		struct done_res p = { 0 };
		bs_jobs_promote(R, &K, now, 10, on_count, &p);
		CHECK_INT(p.calls, 1);
		CHECK_INT(p.n, -1);
		bs_test_run_for(base, 100);
		CHECK_INT(a.calls, 1);
		CHECK_INT(r.calls, 1);
		CHECK_INT(p.calls, 1);
	}

	TEST("appendonly: a queued job and its dedupe key survive a crash") {
		struct bs_test_redis aof;
		CHECK_INT(bs_test_redis_start(&aof, 1), 0);
		bs_redis_free(R);
		int ups2 = 0;
		R = bs_test_client(base, &aof, &ups2);
		CHECK(R != NULL);
		struct done_res g = { 0 };
		bs_jobs_ensure_group(R, &K, on_reply, &g);
		wait_calls(&g.calls, 1);
		struct enq_res a = enqueue("d-crash", NULL, jbuf, jlen, 0);
		CHECK_INT(a.st, BS_ENQ_QUEUED);
		bs_test_redis_kill(&aof); /* SIGKILL right after the 'ack' */
		CHECK_INT(bs_test_redis_restart(&aof), 0);
		CHECK_INT(bs_test_run_until(base, &ups2, 2, 8000), 0);
		struct ent_res *r = read_jobs("w1", 100);
		CHECK_INT(r->n, 1);
		CHECK_STR(r->ids[0], a.id);
		struct enq_res b = enqueue("d-crash", NULL, jbuf, jlen, 0);
		CHECK_INT(b.st, BS_ENQ_DUPLICATE);
		CHECK_STR(b.id, a.id);
		bs_redis_free(R);
		R = NULL;
		bs_test_redis_stop(&aof);
	}

	free(jbuf);
	bs_job_release(&job);
	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
