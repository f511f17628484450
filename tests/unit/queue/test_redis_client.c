/* test_redis_client: the async client against a real redis-server:
 * URL parsing, connect and state callbacks, command timeout (DEBUG SLEEP)
 * with reconnect, SIGKILL + restart on the same port, commands while down,
 * free with pending commands, EVALSHA with NOSCRIPT fallback, first
 * connect failing then succeeding, the sync connection, a pool of four
 * (spreading, up while one connection is) and eval_after's order. Every async
 * callback is counted to prove it ran exactly once. */
#include <string.h>

#include "../test.h"
#include "queue/redis_client.h"
#include "redis_server.h"

struct state_log {
	int ups, downs;
	int last;
};

static void
on_state(int up, void *arg)
{
	struct state_log *s = arg;
	if (up)
		s->ups++;
	else
		s->downs++;
	s->last = up;
}

struct res {
	int calls;
	const char *err;
	int type;
	char str[128];
	long long integer;
};

static void
on_reply(const redisReply *reply, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->err = err;
	r->type = reply ? reply->type : -1;
	r->str[0] = '\0';
	if (reply && reply->str)
		snprintf(r->str, sizeof(r->str), "%s", reply->str);
	if (reply && reply->type == REDIS_REPLY_INTEGER)
		r->integer = reply->integer;
}

/* A callback that sends another command from inside the flush. */
struct reissue {
	struct res first, second;
	struct bs_redis *r;
};

static void
on_reply_second(const redisReply *reply, const char *err, void *arg)
{
	on_reply(reply, err, &((struct reissue *)arg)->second);
}

static void
on_reply_reissue(const redisReply *reply, const char *err, void *arg)
{
	struct reissue *ri = arg;
	on_reply(reply, err, &ri->first);
	const char *ping[] = { "PING" };
	size_t len[] = { 4 };
	bs_redis_command(ri->r, 1, ping, len, on_reply_second, ri);
}

static void
cmd(struct bs_redis *r, struct res *out, int argc, const char **argv)
{
	size_t lens[16];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	bs_redis_command(r, argc, argv, lens, on_reply, out);
}

static struct bs_redis *
client(struct event_base *base, const char *url, int cmd_ms,
    struct state_log *st)
{
	struct bs_redis_config cfg = { .url = url, .password = NULL, .connect_timeout_ms = 2000, .command_timeout_ms = cmd_ms };
	char err[256];
	return bs_redis_new(base, &cfg, on_state, st, err, sizeof(err));
}

/* A pool of four connections, all of them up (NULL if it never came up). */
static struct bs_redis *
pool_of_four(struct event_base *base, const char *url, struct state_log *st)
{
	struct bs_redis_config cfg = { .url = url, .password = NULL, .connect_timeout_ms = 2000, .command_timeout_ms = 2000, .connections = 4 };
	char err[256];
	struct bs_redis *r = bs_redis_new(base, &cfg, on_state, st, err,
	    sizeof(err));
	if (!r)
		return NULL;
	if (bs_test_run_until(base, &st->ups, 1, 3000) != 0) {
		bs_redis_free(r);
		return NULL;
	}
	bs_test_run_for(base, 300);     /* the other three come up */
	return r;
}

int
main(void)
{
	TEST("parse url") {
		struct bs_redis_addr a;
		char err[256];
		CHECK_INT(bs_redis_parse_url("redis://127.0.0.1:6390/3", &a, err,
		    sizeof(err)), 0);
		CHECK_STR(a.host, "127.0.0.1");
		CHECK_INT(a.port, 6390);
		CHECK_INT(a.db, 3);
		CHECK_STR(a.password, "");
		CHECK_INT(bs_redis_parse_url("redis://:s%40cret@redis.local", &a, err,
		    sizeof(err)), 0);
		CHECK_STR(a.password, "s@cret");
		CHECK_STR(a.host, "redis.local");
		CHECK_INT(a.port, 6379);
		CHECK_INT(a.db, 0);
		CHECK_INT(bs_redis_parse_url("redis://bob:pw@[::1]:7000/", &a, err,
		    sizeof(err)), 0);
		CHECK_STR(a.user, "bob");
		CHECK_STR(a.password, "pw");
		CHECK_STR(a.host, "::1");
		CHECK_INT(a.port, 7000);
		CHECK_INT(bs_redis_parse_url("unix:///run/redis.sock?db=2", &a, err,
		    sizeof(err)), 0);
		CHECK_STR(a.unix_path, "/run/redis.sock");
		CHECK_INT(a.db, 2);
		CHECK_INT(bs_redis_parse_url("http://x", &a, err, sizeof(err)), -1);
		CHECK_STR(err, "bad redis url 'http://x': scheme must be redis:// or unix://");
		CHECK_INT(bs_redis_parse_url("redis://:hunter2@h:0", &a, err, sizeof(err)), -1);
		CHECK_STR(err, "bad redis url 'redis://***@h:0': bad port");
		CHECK_INT(bs_redis_parse_url("redis://h:70000", &a, err, sizeof(err)), -1);
		CHECK_INT(bs_redis_parse_url("redis://h:12x", &a, err, sizeof(err)), -1);
		CHECK_INT(bs_redis_parse_url("redis://h/abc", &a, err, sizeof(err)), -1);
		CHECK_INT(bs_redis_parse_url("redis://:pw%4@h", &a, err, sizeof(err)), -1);
		CHECK_INT(bs_redis_parse_url("redis://", &a, err, sizeof(err)), -1);
		CHECK_INT(bs_redis_parse_url(NULL, &a, err, sizeof(err)), -1);
	}

	/* BS_EVENT_DEBUG=1: libevent checks every event operation. */
	if (getenv("BS_EVENT_DEBUG"))
		event_enable_debug_mode();
	struct bs_test_redis srv;
	if (bs_test_redis_start(&srv, 0) < 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	struct event_base *base = event_base_new();

	TEST("bad url gives no client") {
		struct bs_redis_config cfg = { .url = "nope://", .password = NULL, .connect_timeout_ms = 0, .command_timeout_ms = 0 };
		char err[256] = "";
		CHECK(bs_redis_new(base, &cfg, NULL, NULL, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "bad redis url") != NULL);
	}

	TEST("connect, command, state callback, select db") {
		struct state_log st = { 0, 0, -1 };
		char url[160];
		snprintf(url, sizeof(url), "redis://127.0.0.1:%d/5", srv.port);
		struct bs_redis *r = client(base, url, 1000, &st);
		CHECK(r != NULL);
		CHECK(!bs_redis_is_up(r));
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 3000), 0);
		CHECK(bs_redis_is_up(r));
		struct res a = { 0 };
		const char *set[] = { "SET", "k", "v5" };
		cmd(r, &a, 3, set);
		CHECK_INT(a.calls, 0); /* not before the reply arrives */
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 2000), 0);
		CHECK(a.err == NULL);
		CHECK_STR(a.str, "OK");
		/* It really went to db 5. */
		redisContext *c = bs_test_redis_sync(&srv);
		redisReply *rep = redisCommand(c, "SELECT 5");
		freeReplyObject(rep);
		rep = redisCommand(c, "GET k");
		CHECK(rep && rep->type == REDIS_REPLY_STRING);
		CHECK_STR(rep ? rep->str : NULL, "v5");
		freeReplyObject(rep);
		rep = redisCommand(c, "FLUSHALL");
		freeReplyObject(rep);
		redisFree(c);
		bs_test_run_for(base, 50);
		CHECK_INT(a.calls, 1);
		bs_redis_free(r);
		CHECK_INT(st.ups, 1);
		CHECK_INT(st.downs, 0);
	}

	TEST("command timeout: exactly once, reconnect, works again") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = client(base, srv.url, 300, &st);
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 3000), 0);
		struct res slow = { 0 }, behind[20];
		struct reissue ri;
		memset(behind, 0, sizeof(behind));
		memset(&ri, 0, sizeof(ri));
		ri.r = r;
		const char *sleep2[] = { "DEBUG", "SLEEP", "2" };
		const char *ping[] = { "PING" };
		size_t plen[] = { 4 };
		long long t0 = bs_test_now_ms();
		cmd(r, &slow, 3, sleep2);
		bs_test_run_for(base, 50); /* the rest is younger */
		for (int i = 0; i < 20; i++)
			cmd(r, &behind[i], 1, ping);
		bs_redis_command(r, 1, ping, plen, on_reply_reissue, &ri);
		CHECK_INT(bs_test_run_until(base, &slow.calls, 1, 3000), 0);
		long long took = bs_test_now_ms() - t0;
		/* The timeout (not the end of the 2 s sleep) completed it: err
		 * says so. No upper bound: a busy machine may be slow. */
		CHECK(took >= 250);
		CHECK(slow.err == bs_redis_err_timeout);
		for (int i = 0; i < 20; i++) {
			CHECK_INT(behind[i].calls, 1);
			CHECK(behind[i].err == bs_redis_err_down);
		}
		/* The one sent from inside the flush failed at once. */
		CHECK_INT(ri.first.calls, 1);
		CHECK(ri.first.err == bs_redis_err_down);
		CHECK_INT(ri.second.calls, 1);
		CHECK(ri.second.err == bs_redis_err_down);
		CHECK_INT(st.downs, 1);
		CHECK(!bs_redis_is_up(r));
		/* Down: the next command fails before the call returns. */
		struct res down = { 0 };
		cmd(r, &down, 1, ping);
		CHECK_INT(down.calls, 1);
		CHECK(down.err == bs_redis_err_down);
		/* Comes back once the server wakes up. */
		CHECK_INT(bs_test_run_until(base, &st.ups, 2, 6000), 0);
		struct res again = { 0 };
		cmd(r, &again, 1, ping);
		CHECK_INT(bs_test_run_until(base, &again.calls, 1, 2000), 0);
		CHECK(again.err == NULL);
		CHECK_STR(again.str, "PONG");
		bs_test_run_for(base, 100);
		CHECK_INT(slow.calls, 1);
		for (int i = 0; i < 20; i++)
			CHECK_INT(behind[i].calls, 1);
		CHECK_INT(ri.first.calls, 1);
		CHECK_INT(ri.second.calls, 1);
		CHECK_INT(down.calls, 1);
		CHECK_INT(again.calls, 1);
		bs_redis_free(r);
	}

	TEST("server killed and restarted on the same port") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = client(base, srv.url, 1000, &st);
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 3000), 0);
		struct res inflight = { 0 };
		const char *blpop[] = { "BLPOP", "nothing", "0.8" };
		cmd(r, &inflight, 3, blpop);
		bs_test_run_for(base, 50);
		bs_test_redis_kill(&srv);
		CHECK_INT(bs_test_run_until(base, &st.downs, 1, 3000), 0);
		CHECK_INT(inflight.calls, 1);
		CHECK(inflight.err == bs_redis_err_down);
		CHECK_INT(st.last, 0);
		struct res down = { 0 };
		const char *ping[] = { "PING" };
		cmd(r, &down, 1, ping);
		CHECK_INT(down.calls, 1);
		CHECK(down.err == bs_redis_err_down);
		bs_test_run_for(base, 400); /* a few refused reconnects */
		CHECK_INT(st.ups, 1);
		CHECK_INT(bs_test_redis_restart(&srv), 0);
		CHECK_INT(bs_test_run_until(base, &st.ups, 2, 8000), 0);
		struct res ok = { 0 };
		cmd(r, &ok, 1, ping);
		CHECK_INT(bs_test_run_until(base, &ok.calls, 1, 2000), 0);
		CHECK_STR(ok.str, "PONG");
		bs_test_run_for(base, 50);
		CHECK_INT(inflight.calls, 1);
		CHECK_INT(st.downs, 1);
		bs_redis_free(r);
	}

	TEST("free with pending commands calls each once with shutdown") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = client(base, srv.url, 1000, &st);
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 3000), 0);
		struct res p[4];
		memset(p, 0, sizeof(p));
		const char *blpop[] = { "BLPOP", "nothing", "0.5" };
		const char *ping[] = { "PING" };
		cmd(r, &p[0], 3, blpop);
		bs_test_run_for(base, 30); /* the first one is on the wire */
		for (int i = 1; i < 4; i++)
			cmd(r, &p[i], 1, ping);
		bs_redis_free(r);
		for (int i = 0; i < 4; i++) {
			CHECK_INT(p[i].calls, 1);
			CHECK(p[i].err == bs_redis_err_shutdown);
		}
		bs_test_run_for(base, 600);
		for (int i = 0; i < 4; i++)
			CHECK_INT(p[i].calls, 1);
		CHECK_INT(st.downs, 0);
	}

	TEST("eval: EVALSHA, NOSCRIPT fallback after SCRIPT FLUSH") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = client(base, srv.url, 1000, &st);
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 3000), 0);
		struct bs_redis_script sc = {
			.source = "return KEYS[1] .. ':' .. ARGV[1]",
		};
		const char *args[] = { "{t}:k", "a\0b" };
		size_t lens[] = { 5, 3 };
		struct res a = { 0 };
		bs_redis_eval(r, &sc, 1, 2, args, lens, on_reply, &a);
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 2000), 0);
		CHECK(a.err == NULL);
		CHECK_INT(a.type, REDIS_REPLY_STRING);
		CHECK_STR(a.str, "{t}:k:a"); /* printf stops at the NUL */
		/* Our local SHA1 is the one Redis computes. */
		redisContext *c = bs_test_redis_sync(&srv);
		redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", sc.source);
		CHECK(rep && rep->type == REDIS_REPLY_STRING);
		CHECK_STR(rep ? rep->str : NULL, sc.sha);
		freeReplyObject(rep);
		rep = redisCommand(c, "SCRIPT FLUSH");
		freeReplyObject(rep);
		rep = redisCommand(c, "SCRIPT EXISTS %s", sc.sha);
		CHECK(rep && rep->elements == 1 && rep->element[0]->integer == 0);
		freeReplyObject(rep);
		struct res b = { 0 };
		bs_redis_eval(r, &sc, 1, 2, args, lens, on_reply, &b);
		CHECK_INT(bs_test_run_until(base, &b.calls, 1, 2000), 0);
		CHECK(b.err == NULL);
		CHECK_STR(b.str, "{t}:k:a");
		/* The fallback EVAL loaded it again. */
		rep = redisCommand(c, "SCRIPT EXISTS %s", sc.sha);
		CHECK(rep && rep->elements == 1 && rep->element[0]->integer == 1);
		freeReplyObject(rep);
		/* A script error is a reply, not a transport error. */
		struct bs_redis_script bad = { .source = "return redis.error_reply('boom')" };
		struct res e = { 0 };
		bs_redis_eval(r, &bad, 0, 0, NULL, NULL, on_reply, &e);
		CHECK_INT(bs_test_run_until(base, &e.calls, 1, 2000), 0);
		CHECK(e.err == NULL);
		CHECK_INT(e.type, REDIS_REPLY_ERROR);
		CHECK_STR(e.str, "ERR boom"); /* Redis 7 adds the code */
		redisFree(c);
		bs_test_run_for(base, 50);
		CHECK_INT(a.calls, 1);
		CHECK_INT(b.calls, 1);
		CHECK_INT(e.calls, 1);
		bs_redis_free(r);
	}

	TEST("first connect fails, then the server appears") {
		struct bs_test_redis late;
		memset(&late, 0, sizeof(late));
		int port = bs_test_free_port();
		char url[128];
		snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = client(base, url, 1000, &st);
		struct res down = { 0 };
		const char *ping[] = { "PING" };
		cmd(r, &down, 1, ping);
		CHECK_INT(down.calls, 1);
		CHECK(down.err == bs_redis_err_down);
		bs_test_run_for(base, 300);
		CHECK_INT(st.ups, 0);
		CHECK_INT(st.downs, 0);
		/* Start a server on exactly that port. */
		late.port = port;
		snprintf(late.dir, sizeof(late.dir), "/tmp/bs-redis-late-XXXXXX");
		CHECK(mkdtemp(late.dir) != NULL);
		CHECK_INT(bs_test_redis_spawn(&late), 0);
		CHECK_INT(bs_test_run_until(base, &st.ups, 1, 8000), 0);
		struct res ok = { 0 };
		cmd(r, &ok, 1, ping);
		CHECK_INT(bs_test_run_until(base, &ok.calls, 1, 2000), 0);
		CHECK_STR(ok.str, "PONG");
		bs_redis_free(r);
		bs_test_redis_stop(&late);
	}

	TEST("sync connection: auth failure and db select") {
		struct bs_redis_config cfg = { .url = srv.url, .password = NULL, .connect_timeout_ms = 1000, .command_timeout_ms = 1000 };
		char err[256] = "";
		redisContext *c = bs_redis_connect_sync(&cfg, err, sizeof(err));
		CHECK(c != NULL);
		if (c) {
			redisReply *rep = redisCommand(c, "PING");
			CHECK(rep && rep->type == REDIS_REPLY_STATUS);
			freeReplyObject(rep);
			redisFree(c);
		}
		cfg.password = "wrong";
		c = bs_redis_connect_sync(&cfg, err, sizeof(err));
		CHECK(c == NULL);
		CHECK(strstr(err, "redis auth failed") != NULL);
		struct bs_redis_config dead = { .url = "redis://127.0.0.1:1", .password = NULL, .connect_timeout_ms = 500, .command_timeout_ms = 500 };
		c = bs_redis_connect_sync(&dead, err, sizeof(err));
		CHECK(c == NULL);
		CHECK(strstr(err, "cannot connect to redis") != NULL);
	}

	TEST("pool: commands spread over its connections, up while one is") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = pool_of_four(base, srv.url, &st);
		CHECK(r != NULL);
		/* Eight commands sent at once: fewest in flight first, so every
		 * connection carries two. */
		struct res id[8];
		memset(id, 0, sizeof(id));
		const char *client_id[] = { "CLIENT", "ID" };
		for (int i = 0; i < 8; i++)
			cmd(r, &id[i], 2, client_id);
		int done = 0;
		for (int t = 0; t < 200 && done < 8; t++) {
			bs_test_run_for(base, 10);
			done = 0;
			for (int i = 0; i < 8; i++)
				done += id[i].calls;
		}
		CHECK_INT(done, 8);
		long long ids[8];
		int distinct = 0;
		for (int i = 0; i < 8; i++) {
			CHECK_INT(id[i].calls, 1);
			int seen = 0;
			for (int j = 0; j < distinct; j++)
				seen |= ids[j] == id[i].integer;
			if (!seen)
				ids[distinct++] = id[i].integer;
		}
		CHECK_INT(distinct, 4);
		/* Three of the four killed: the pool stays up (no down callback)
		 * and commands still succeed on the one left. */
		redisContext *c = bs_test_redis_sync(&srv);
		for (int i = 0; i < 3; i++) {
			redisReply *rep = redisCommand(c, "CLIENT KILL ID %lld", ids[i]);
			CHECK(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
			freeReplyObject(rep);
		}
		redisFree(c);
		bs_test_run_for(base, 50);
		CHECK(bs_redis_is_up(r));
		CHECK_INT(st.downs, 0);
		struct res after[6];
		memset(after, 0, sizeof(after));
		const char *ping[] = { "PING" };
		for (int i = 0; i < 6; i++)
			cmd(r, &after[i], 1, ping);
		bs_test_run_for(base, 300);
		for (int i = 0; i < 6; i++) {
			CHECK_INT(after[i].calls, 1);
			CHECK(after[i].err == NULL);
			CHECK_STR(after[i].str, "PONG");
		}
		bs_redis_free(r);
	}

	TEST("eval_after: the plain commands run right before the script") {
		/* Four connections and many commands in flight: each script
		 * sees what its own pre-command wrote, because both went out on
		 * the same connection, in that order (order holds per
		 * connection only: two callers sharing a key may interleave). */
		struct state_log st = { 0, 0, -1 };
		struct bs_redis *r = pool_of_four(base, srv.url, &st);
		CHECK(r != NULL);
		struct bs_redis_script sc = {
			.source = "local v = redis.call('GET', KEYS[1])\n"
			    "redis.call('DEL', KEYS[1])\n"
			    "return v == ARGV[1] and 'same' or ('other:' .. tostring(v))",
		};
		enum { N = 40 };
		struct res out[N];
		memset(out, 0, sizeof(out));
		char vals[N][16], keys[N][24];
		for (int i = 0; i < N; i++) {
			snprintf(vals[i], sizeof(vals[i]), "v%d", i);
			snprintf(keys[i], sizeof(keys[i]), "{t}:after:%d", i);
			const char *setv[] = { "SET", keys[i], vals[i] };
			size_t setl[] = { 3, strlen(keys[i]), strlen(vals[i]) };
			struct bs_redis_argv pre = { 3, setv, setl };
			const char *args[] = { keys[i], vals[i] };
			size_t lens[] = { strlen(keys[i]), strlen(vals[i]) };
			bs_redis_eval_after(r, &pre, 1, &sc, 1, 2, args, lens, on_reply,
			    &out[i]);
		}
		bs_test_run_for(base, 500);
		for (int i = 0; i < N; i++) {
			CHECK_INT(out[i].calls, 1);
			CHECK(out[i].err == NULL);
			CHECK_STR(out[i].str, "same");
		}
		bs_redis_free(r);
	}

	TEST("async auth refused keeps retrying without going up") {
		struct state_log st = { 0, 0, -1 };
		struct bs_redis_config cfg = { .url = srv.url, .password = "wrong", .connect_timeout_ms = 1000, .command_timeout_ms = 1000 };
		char err[256];
		struct bs_redis *r = bs_redis_new(base, &cfg, on_state, &st, err,
		    sizeof(err));
		CHECK(r != NULL);
		bs_test_run_for(base, 500);
		CHECK_INT(st.ups, 0);
		CHECK(!bs_redis_is_up(r));
		bs_redis_free(r);
	}

	event_base_free(base);
	bs_test_redis_stop(&srv);
	return TEST_REPORT();
}
