/* test_prs: remembered pull requests against a real redis-server: the
 * strict PR number parser, key names (lower-cased repository, hash tag,
 * refusals), store (fields, binary-safe values, TTL) and fetch (found and
 * missing in one call), overwrite replacing the whole hash, refused
 * arguments writing nothing, the keys codec (round trip, dedupe, malformed
 * lines skipped) and a Redis that is down. Every async callback is counted
 * to prove it ran exactly once. */
#include <string.h>

#include "../test.h"
#include "common/xalloc.h"
#include "queue/prs.h"
#include "redis_server.h"

static struct event_base *base;
static struct bs_redis *R;
static struct bs_keys K;
static redisContext *C;

struct done_res {
	int calls;
	int ok;
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

#define MAXR 4
struct fetch_res {
	int calls;
	size_t n;
	char err[128];
	int64_t id[MAXR];
	int found[MAXR];
	size_t n_fields[MAXR];
	char title[MAXR][64];
	size_t title_len[MAXR];
	char keys[MAXR][256];
	int has_old[MAXR];
};

static void
on_fetch(const struct bs_pr_record *recs, size_t n, const char *err,
    void *arg)
{
	struct fetch_res *r = arg;
	r->calls++;
	r->n = n;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
	for (size_t i = 0; i < n && i < MAXR; i++) {
		r->id[i] = recs[i].id;
		r->found[i] = recs[i].found;
		r->n_fields[i] = recs[i].n_fields;
		const struct bs_field *f = bs_pr_record_field(&recs[i], "title");
		r->title_len[i] = f ? f->len : 0;
		if (f && f->len < sizeof(r->title[i]))
			memcpy(r->title[i], f->val, f->len);
		f = bs_pr_record_field(&recs[i], "keys");
		snprintf(r->keys[i], sizeof(r->keys[i]), "%s", f ? f->val : "");
		r->has_old[i] = bs_pr_record_field(&recs[i], "old") != NULL;
	}
}

static long long
q_int(const char *fmt, const char *a)
{
	redisReply *r = redisCommand(C, fmt, a);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
	freeReplyObject(r);
	return v;
}

static void
wait_calls(int *calls, int want)
{
	(void)bs_test_run_until(base, calls, want, 3000);
}

static struct done_res
store(const char *repo, int64_t id, const struct bs_field *f, size_t n,
    int ttl)
{
	struct done_res r = { 0 };
	bs_prs_store(R, &K, repo, id, f, n, ttl, on_done, &r);
	wait_calls(&r.calls, 1);
	bs_test_run_for(base, 20);          /* a second call would show */
	return r;
}

static struct fetch_res *
fetch(const char *repo, const int64_t *ids, size_t n)
{
	static struct fetch_res r;
	memset(&r, 0, sizeof(r));
	bs_prs_fetch(R, &K, repo, ids, n, on_fetch, &r);
	wait_calls(&r.calls, 1);
	bs_test_run_for(base, 20);
	return &r;
}

struct decoded {
	size_t n;
	enum bs_key_where where[8];
	char key[8][64];
};

static void
collect(enum bs_key_where where, const char *key, size_t keylen, void *arg)
{
	struct decoded *d = arg;
	if (d->n < 8) {
		d->where[d->n] = where;
		snprintf(d->key[d->n], sizeof(d->key[d->n]), "%.*s", (int)keylen,
		    key);
	}
	d->n++;
}

int
main(void)
{
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
	R = bs_test_client(base, &srv, &ups);
	C = bs_test_redis_sync(&srv);

	TEST("parse_id: strict digits, 1..10 of them, no leading zero") {
		int64_t id = -1;
		CHECK_INT(bs_prs_parse_id("1", 1, &id), 0);
		CHECK_INT(id, 1);
		CHECK_INT(bs_prs_parse_id("69", 2, &id), 0);
		CHECK_INT(id, 69);
		CHECK_INT(bs_prs_parse_id("9999999999", 10, &id), 0);
		CHECK_INT(id, INT64_C(9999999999));
		CHECK_INT(bs_prs_parse_id("123)", 3, &id), 0);  /* len bounds it */
		CHECK_INT(id, 123);
		id = 7;
		CHECK_INT(bs_prs_parse_id("12345678901", 11, &id), -1);
		CHECK_INT(bs_prs_parse_id("99999999999999999999", 20, &id), -1);
		CHECK_INT(bs_prs_parse_id("", 0, &id), -1);
		CHECK_INT(bs_prs_parse_id(NULL, 3, &id), -1);
		CHECK_INT(bs_prs_parse_id("0", 1, &id), -1);
		CHECK_INT(bs_prs_parse_id("012", 3, &id), -1);
		CHECK_INT(bs_prs_parse_id("+1", 2, &id), -1);
		CHECK_INT(bs_prs_parse_id("-1", 2, &id), -1);
		CHECK_INT(bs_prs_parse_id("1 ", 2, &id), -1);
		CHECK_INT(bs_prs_parse_id("1a", 2, &id), -1);
		CHECK_INT(bs_prs_parse_id("\xd9\xa1", 2, &id), -1); /* Arabic one */
		CHECK_INT(id, 7);                           /* untouched */
	}

	TEST("key: hash tag, repository lower-cased, refusals") {
		char key[BS_PRS_KEY_MAX];
		CHECK_INT(bs_prs_key(&K, "ACME/Shop", 42, key, sizeof(key)), 0);
		CHECK_STR(key, "{t}:pr:acme/shop:42");
		CHECK_INT(bs_prs_key(&K, "PROJ/repo-1", 9999999999, key,
		    sizeof(key)), 0);
		CHECK_STR(key, "{t}:pr:proj/repo-1:9999999999");
		CHECK_INT(bs_prs_key(&K, "", 1, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, NULL, 1, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, "a b", 1, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, "a\nb", 1, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, "a/b", 0, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, "a/b", -5, key, sizeof(key)), -1);
		CHECK_INT(bs_prs_key(&K, "a/b", 1, key, 10), -1);
		char longrepo[BS_PRS_MAX_REPO + 2];
		memset(longrepo, 'a', sizeof(longrepo) - 1);
		longrepo[sizeof(longrepo) - 1] = '\0';
		CHECK_INT(bs_prs_key(&K, longrepo, 1, key, sizeof(key)), -1);
		longrepo[BS_PRS_MAX_REPO] = '\0';
		CHECK_INT(bs_prs_key(&K, longrepo, 1, key, sizeof(key)), 0);
	}

	TEST("store then fetch: found and missing in one call, TTL set") {
		struct bs_field f[4] = {
			{ "title", "SHOP-77 better\0login", 20 },   /* binary-safe */
			{ "branch", "feature/x", 9 },
			{ "keys", "pr_title:SHOP-77\n", 17 },
			{ "old", "yes", 3 },
		};
		struct done_res d = store("Acme/Shop", 42, f, 4, 3600);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 1);
		CHECK_STR(d.err, "");
		CHECK_INT(q_int("HLEN %s", "{t}:pr:acme/shop:42"), 4);
		long long ttl = q_int("TTL %s", "{t}:pr:acme/shop:42");
		CHECK(ttl > 3590 && ttl <= 3600);

		int64_t ids[3] = { 43, 42, 7 };
		struct fetch_res *r = fetch("acme/SHOP", ids, 3);
		CHECK_INT(r->calls, 1);
		CHECK_STR(r->err, "");
		CHECK_INT(r->n, 3);
		CHECK_INT(r->id[0], 43);
		CHECK_INT(r->found[0], 0);
		CHECK_INT(r->n_fields[0], 0);
		CHECK_INT(r->id[1], 42);
		CHECK_INT(r->found[1], 1);
		CHECK_INT(r->n_fields[1], 4);
		CHECK_INT(r->title_len[1], 20);
		CHECK(memcmp(r->title[1], "SHOP-77 better\0login", 20) == 0);
		CHECK_STR(r->keys[1], "pr_title:SHOP-77\n");
		CHECK_INT(r->has_old[1], 1);
		CHECK_INT(r->found[2], 0);
		/* another repository does not see it */
		r = fetch("acme/other", ids + 1, 1);
		CHECK_INT(r->n, 1);
		CHECK_INT(r->found[0], 0);
	}

	TEST("overwrite replaces every field and restarts the TTL") {
		redisReply *x = redisCommand(C, "EXPIRE {t}:pr:acme/shop:42 100");
		freeReplyObject(x);
		struct bs_field f[2] = {
			{ "title", "SHOP-78 renamed", 15 },
			{ "keys", "pr_title:SHOP-78\npr_branch:FEAT-1\n", 34 },
		};
		struct done_res d = store("acme/shop", 42, f, 2, 7200);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 1);
		long long ttl = q_int("TTL %s", "{t}:pr:acme/shop:42");
		CHECK(ttl > 7190 && ttl <= 7200);
		int64_t id = 42;
		struct fetch_res *r = fetch("acme/shop", &id, 1);
		CHECK_INT(r->found[0], 1);
		CHECK_INT(r->n_fields[0], 2);
		CHECK_INT(r->has_old[0], 0);           /* the old field is gone */
		CHECK_STR(r->title[0], "SHOP-78 renamed");
		CHECK_STR(r->keys[0], "pr_title:SHOP-78\npr_branch:FEAT-1\n");
	}

	TEST("an expired PR is missing") {
		struct bs_field f[1] = { { "title", "x", 1 } };
		struct done_res d = store("acme/shop", 5, f, 1, 1);
		CHECK_INT(d.ok, 1);
		redisReply *x = redisCommand(C, "PEXPIRE {t}:pr:acme/shop:5 1");
		freeReplyObject(x);
		bs_test_sleep_ms(10);
		int64_t id = 5;
		struct fetch_res *r = fetch("acme/shop", &id, 1);
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->found[0], 0);
	}

	TEST("refused arguments: callback once, nothing written") {
		redisReply *x = redisCommand(C, "DBSIZE");
		long long before = x->integer;
		freeReplyObject(x);
		struct bs_field f[1] = { { "title", "x", 1 } };
		struct bs_field unnamed[1] = { { "", "x", 1 } };
		struct bs_field many[BS_PRS_MAX_FIELDS + 1];
		for (size_t i = 0; i < BS_PRS_MAX_FIELDS + 1; i++)
			many[i] = f[0];
		struct done_res d;
		d = store("a b", 1, f, 1, 60);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 0);
		CHECK_STR(d.err, "bad repository name or pr id");
		d = store("a/b", 0, f, 1, 60);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 0);
		d = store("a/b", 1, f, 0, 60);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 0);
		CHECK_STR(d.err, "bad pr field count or ttl");
		d = store("a/b", 1, many, BS_PRS_MAX_FIELDS + 1, 60);
		CHECK_INT(d.ok, 0);
		d = store("a/b", 1, f, 1, 0);
		CHECK_INT(d.ok, 0);
		d = store("a/b", 1, unnamed, 1, 60);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 0);
		CHECK_STR(d.err, "empty pr field name");
		int64_t ids[BS_PRS_MAX_FETCH + 1];
		for (size_t i = 0; i < BS_PRS_MAX_FETCH + 1; i++)
			ids[i] = (int64_t)i + 1;
		struct fetch_res *r = fetch("a/b", ids, BS_PRS_MAX_FETCH + 1);
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->n, 0);
		CHECK_STR(r->err, "bad pr count");
		r = fetch("a/b", ids, 0);
		CHECK_STR(r->err, "bad pr count");
		ids[3] = 0;
		r = fetch("a/b", ids, 5);
		CHECK_INT(r->calls, 1);
		CHECK_STR(r->err, "bad repository name or pr id");
		x = redisCommand(C, "DBSIZE");
		CHECK_INT(x->integer, before);
		freeReplyObject(x);
		/* the largest fetch is fine */
		r = fetch("a/b", (int64_t[BS_PRS_MAX_FETCH]){ 1, 2, 3, 4, 5, 6, 7,
		    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 },
		    BS_PRS_MAX_FETCH);
		CHECK_STR(r->err, "");
		CHECK_INT(r->n, BS_PRS_MAX_FETCH);
	}

	TEST("keys codec: PR-side keys only, distinct, round trip") {
		struct bs_job job;
		bs_job_init(&job);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_PR_TITLE, 0, 0);
		bs_job_add_key(&job, "OPS-2", 5, BS_KEY_COMMIT, 0, 0);   /* not PR */
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_PR_DESCRIPTION, 0, 0);
		bs_job_add_key(&job, "FEAT-3", 6, BS_KEY_PR_BRANCH, 0, 0);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_PR_TITLE, 1, 0); /* dup */
		bs_job_add_key(&job, "BAD\nKEY", 7, BS_KEY_PR_TITLE, 0, 0);
		size_t len = 0;
		char *s = bs_prs_keys_encode(job.keys, job.n_keys, &len);
		CHECK_STR(s, "pr_title:SHOP-1\npr_description:SHOP-1\n"
		    "pr_branch:FEAT-3\n");
		CHECK_INT(len, strlen(s));
		struct decoded d = { 0 };
		CHECK_INT(bs_prs_keys_decode(s, len, collect, &d), 3);
		CHECK_INT(d.n, 3);
		CHECK_INT(d.where[0], BS_KEY_PR_TITLE);
		CHECK_STR(d.key[0], "SHOP-1");
		CHECK_INT(d.where[1], BS_KEY_PR_DESCRIPTION);
		CHECK_INT(d.where[2], BS_KEY_PR_BRANCH);
		CHECK_STR(d.key[2], "FEAT-3");
		free(s);
		s = bs_prs_keys_encode(job.keys, 0, &len);
		CHECK_STR(s, "");
		CHECK_INT(len, 0);
		free(s);
		bs_job_release(&job);
	}

	TEST("keys codec: malformed lines are skipped") {
		static const char in[] =
		    "pr_title:A-1\n"
		    "commit:B-2\n"             /* not a PR-side where */
		    "pr_title:\n"              /* empty key */
		    "nocolon\n"
		    "\n"
		    ":C-3\n"
		    "pr_branch:D:4\n"          /* key keeps everything after ':' */
		    "pr_title:E\0F\n"          /* NUL inside */
		    "pr_description:G-7";      /* unterminated */
		struct decoded d = { 0 };
		CHECK_INT(bs_prs_keys_decode(in, sizeof(in) - 1, collect, &d), 2);
		CHECK_STR(d.key[0], "A-1");
		CHECK_INT(d.where[1], BS_KEY_PR_BRANCH);
		CHECK_STR(d.key[1], "D:4");
		CHECK_INT(bs_prs_keys_decode(NULL, 10, collect, &d), 0);
		/* too long a key */
		char big[BS_PRS_MAX_KEY_LEN + 20];
		memset(big, 'K', sizeof(big));
		memcpy(big, "pr_title:", 9);
		big[sizeof(big) - 1] = '\n';
		struct decoded e = { 0 };
		CHECK_INT(bs_prs_keys_decode(big, sizeof(big), collect, &e), 0);
	}

	TEST("redis down: store and fetch fail once with an error") {
		bs_test_redis_kill(&srv);
		bs_test_run_for(base, 100);
		struct bs_field f[1] = { { "title", "x", 1 } };
		struct done_res d = store("a/b", 1, f, 1, 60);
		CHECK_INT(d.calls, 1);
		CHECK_INT(d.ok, 0);
		CHECK(d.err[0] != '\0');
		int64_t id = 1;
		struct fetch_res *r = fetch("a/b", &id, 1);
		CHECK_INT(r->calls, 1);
		CHECK_INT(r->n, 0);
		CHECK(r->err[0] != '\0');
	}

	redisFree(C);
	bs_redis_free(R);
	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
