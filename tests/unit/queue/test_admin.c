/* test_admin: the replay log against a real redis-server: the one record
 * format written by bs_admin_replay_record and by the dead-letter replay
 * script (with and without a target), the MAXLEN ~ trim of both, and
 * bs_admin_replays: newest first, limit (default, clamp), since, records
 * of the old formats read back as stored, a missing stream read as an
 * empty log and a wrong-type key as an error. */
#include <string.h>

#include "../test.h"
#include "queue/admin.h"
#include "queue/keys.h"
#include "redis_server.h"

static redisContext *C;
static struct bs_keys K;

static void
cmd(const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(C, fmt, a, b);
	freeReplyObject(r);
}

static long long
xlen(const char *key)
{
	redisReply *r = redisCommand(C, "XLEN %s", key);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
	freeReplyObject(r);
	return v;
}

static const char *
field(const struct bs_admin_entry *e, const char *name)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (strcmp(e->fields[i].name, name) == 0)
			return e->fields[i].val;
	return NULL;
}

/* Fills key with n tiny entries in one script (fast, no round trips). */
static void
fill(const char *key, int n)
{
	char ns[16];
	snprintf(ns, sizeof(ns), "%d", n);
	redisReply *r = redisCommand(C, "EVAL %s 1 %s %s",
	    "for i = 1, tonumber(ARGV[1]) do "
	    "redis.call('XADD', KEYS[1], '*', 'f', 'x') end return 1", key, ns);
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
	C = bs_test_redis_sync(&srv);
	bs_keys_init(&K, "t");
	char err[256];
	struct bs_admin_entries l;

	TEST("a missing replay log is empty, not an error") {
		err[0] = '\0';
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 0);
		CHECK_STR(err, "");
		bs_admin_entries_release(&l);
		CHECK_INT(bs_admin_replays(C, &K, 1, 10, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 0);
		bs_admin_entries_release(&l);
	}

	TEST("record: the one format; the log reads it back newest first") {
		CHECK_INT(bs_admin_replay_record(C, &K, "payload", "bob", 1000,
		    "d-1", "1-0", err, sizeof(err)), 0);
		CHECK_INT(bs_admin_replay_record(C, &K, "delivery", NULL, 2000,
		    "d-2.replay.5", "2-0", err, sizeof(err)), 0);
		CHECK_INT(bs_admin_replay_record(C, &K, "delivery", "", 3000,
		    "d-3 with space", "3-0", err, sizeof(err)), 0);
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 3);
		if (l.n == 3) {
			CHECK_STR(field(&l.v[0], "what"), "d-3 with space");
			CHECK_STR(field(&l.v[0], "who"), "unknown");
			CHECK_STR(field(&l.v[1], "who"), "unknown");
			const struct bs_admin_entry *e = &l.v[2];
			CHECK_INT(e->n_fields, 5);
			CHECK_STR(field(e, "kind"), "payload");
			CHECK_STR(field(e, "who"), "bob");
			CHECK_STR(field(e, "when_ms"), "1000");
			CHECK_STR(field(e, "what"), "d-1");
			CHECK_STR(field(e, "job"), "1-0");
			CHECK(field(e, "target") == NULL);
			CHECK_STR(field(&l.v[1], "what"), "d-2.replay.5");
			CHECK_STR(field(&l.v[1], "kind"), "delivery");
		}
		bs_admin_entries_release(&l);
	}

	TEST("limit: at most N, newest; 0 is 50, above 1000 is 1000") {
		CHECK_INT(bs_admin_replays(C, &K, 0, 1, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		if (l.n == 1)
			CHECK_STR(field(&l.v[0], "what"), "d-3 with space");
		bs_admin_entries_release(&l);
		cmd("DEL %s", K.replays, NULL);
		fill(K.replays, 1200);
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 50);
		bs_admin_entries_release(&l);
		CHECK_INT(bs_admin_replays(C, &K, 0, 5000, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1000);
		bs_admin_entries_release(&l);
	}

	TEST("since: records at or after the time; old formats as stored") {
		cmd("DEL %s", K.replays, NULL);
		/* Written by earlier versions: both old shapes. */
		cmd("XADD %s 1000-0 who carol when 1000 what 9-0 new_id %s",
		    K.replays, "10-0");
		cmd("XADD %s 2000-0 kind payload who dave when_ms 2000 delivery d job %s",
		    K.replays, "20-0");
		cmd("XADD %s 3000-0 kind dead who erin when_ms 3000 what 7-0 job %s",
		    K.replays, "30-0");
		CHECK_INT(bs_admin_replays(C, &K, 2000, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 2);
		if (l.n == 2) {
			CHECK_STR(l.v[0].id, "3000-0");
			CHECK_STR(l.v[1].id, "2000-0");
			CHECK_STR(field(&l.v[1], "delivery"), "d");
		}
		bs_admin_entries_release(&l);
		CHECK_INT(bs_admin_replays(C, &K, 3001, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 0);
		bs_admin_entries_release(&l);
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 3);
		if (l.n == 3) {
			CHECK_STR(l.v[2].id, "1000-0");
			CHECK_STR(field(&l.v[2], "new_id"), "10-0");
		}
		bs_admin_entries_release(&l);
	}

	TEST("dead replay: record without target when the letter has none") {
		cmd("DEL %s", K.replays, NULL);
		cmd("XADD %s 5-0 job x attempt 3 reason %s", K.dead, "boom");
		char new_id[64];
		CHECK_INT(bs_admin_dead_replay(C, &K, "5-0", NULL, 4242, new_id,
		    sizeof(new_id), err, sizeof(err)), 0);
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		if (l.n == 1) {
			const struct bs_admin_entry *e = &l.v[0];
			CHECK_INT(e->n_fields, 5);
			CHECK_STR(field(e, "kind"), "dead");
			CHECK_STR(field(e, "who"), "unknown");
			CHECK_STR(field(e, "when_ms"), "4242");
			CHECK_STR(field(e, "what"), "5-0");
			CHECK_STR(field(e, "job"), new_id);
			CHECK(field(e, "target") == NULL);
		}
		bs_admin_entries_release(&l);
	}

	TEST("every write to the log trims it (MAXLEN ~)") {
		cmd("DEL %s", K.replays, NULL);
		fill(K.replays, BS_REPLAYS_MAXLEN + 500);
		CHECK_INT(bs_admin_replay_record(C, &K, "payload", "bob", 1, "d",
		    "1-0", err, sizeof(err)), 0);
		long long n = xlen(K.replays);
		CHECK(n >= BS_REPLAYS_MAXLEN && n < BS_REPLAYS_MAXLEN + 500);
		fill(K.replays, 500);
		cmd("XADD %s 6-0 job x target %s", K.dead, "a/b/c");
		char new_id[64];
		CHECK_INT(bs_admin_dead_replay(C, &K, "6-0", "zed", 1, new_id,
		    sizeof(new_id), err, sizeof(err)), 0);
		n = xlen(K.replays);
		CHECK(n >= BS_REPLAYS_MAXLEN && n < BS_REPLAYS_MAXLEN + 500);
		CHECK_INT(bs_admin_replays(C, &K, 0, 1, &l, err, sizeof(err)), 0);
		CHECK_INT(l.n, 1);
		if (l.n == 1) {
			CHECK_STR(field(&l.v[0], "target"), "a/b/c");
			CHECK_STR(field(&l.v[0], "who"), "zed");
		}
		bs_admin_entries_release(&l);
	}

	TEST("a replays key of the wrong type is an error") {
		cmd("DEL %s", K.replays, NULL);
		cmd("SET %s %s", K.replays, "oops");
		CHECK_INT(bs_admin_replays(C, &K, 0, 0, &l, err, sizeof(err)), -1);
		CHECK(strstr(err, "WRONGTYPE") != NULL);
		CHECK_INT(l.n, 0);
		CHECK_INT(bs_admin_replay_record(C, &K, "payload", "bob", 1, "d",
		    "1-0", err, sizeof(err)), -1);
		cmd("DEL %s", K.replays, NULL);
	}

	redisFree(C);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
