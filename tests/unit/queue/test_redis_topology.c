/* test_redis_topology: the async client behind Redis Sentinel and on a
 * Redis Cluster, against real redis-server and redis-sentinel processes:
 * finding the master, following a failover after SIGKILL (+switch-master,
 * ROLE), WAIT on acknowledging scripts (confirmed, and timed out when no
 * replica is left), finding the slot's owner, following MOVED after a slot
 * migration and retrying through ASK while it migrates; and the sync
 * connection in both modes. Every callback is counted (exactly once). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "common/metrics.h"
#include "queue/redis_client.h"
#include "queue/redis_proto.h"
#include "redis_server.h"

struct res {
	int calls;
	const char *err;
	int type;
	long long integer;
	char str[256];
};

static void
on_reply(const redisReply *reply, const char *err, void *arg)
{
	struct res *r = arg;
	r->calls++;
	r->err = err;
	r->type = reply ? reply->type : -1;
	r->integer = reply ? reply->integer : 0;
	r->str[0] = '\0';
	if (reply && reply->str)
		snprintf(r->str, sizeof(r->str), "%s", reply->str);
}

static void
on_up(int up, void *arg)
{
	if (up)
		(*(int *)arg)++;
}

static struct bs_redis_script incr_acked = { .acks = 1,
    .source = "return redis.call('INCR', KEYS[1])" };

static struct bs_redis_script two_incr = { .source =
    "return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])" };

static void
incr(struct bs_redis *r, const char *key, struct res *out)
{
	const char *argv[] = { key };
	size_t len[] = { strlen(key) };
	bs_redis_eval(r, &incr_acked, 1, 1, argv, len, on_reply, out);
}

static void
cmd2(struct bs_redis *r, const char *a, const char *b, struct res *out)
{
	const char *argv[] = { a, b };
	size_t len[] = { strlen(a), strlen(b) };
	bs_redis_command(r, 2, argv, len, on_reply, out);
}

static redisReply *
sync_cmd(int port, const char *fmt, ...)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

static int
info_has(int port, const char *section, const char *needle)
{
	redisReply *r = sync_cmd(port, "INFO %s", section);
	int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, needle);
	if (r)
		freeReplyObject(r);
	return ok;
}

static int
wait_info(int port, const char *section, const char *needle, int ms)
{
	long long end = bs_test_now_ms() + ms;
	while (bs_test_now_ms() < end) {
		if (info_has(port, section, needle))
			return 0;
		bs_test_sleep_ms(50);
	}
	return -1;
}

/* Runs base until bs_redis_address(r) is want and r is up (ms at most). */
static int
run_until_at(struct event_base *base, struct bs_redis *r, const char *want,
    int ms)
{
	long long end = bs_test_now_ms() + ms;
	while (bs_test_now_ms() < end) {
		if (bs_redis_is_up(r) && strcmp(bs_redis_address(r), want) == 0)
			return 0;
		bs_test_run_for(base, 20);
	}
	return -1;
}

static void
node_id(int port, char *out, size_t n)
{
	redisReply *r = sync_cmd(port, "CLUSTER MYID");
	snprintf(out, n, "%s", r && r->str ? r->str : "?");
	if (r)
		freeReplyObject(r);
}

static void
test_sentinel(struct event_base *base)
{
	struct bs_test_redis m, rep, sen;
	char rport[16], maddr[64], raddr[64], saddr[64];
	CHECK_INT(bs_test_redis_start(&m, 0), 0);
	snprintf(rport, sizeof(rport), "%d", m.port);
	memset(&rep, 0, sizeof(rep));
	rep.extra[0] = "--replicaof";
	rep.extra[1] = "127.0.0.1";
	rep.extra[2] = rport;
	CHECK_INT(bs_test_redis_start_with(&rep, 0), 0);
	CHECK_INT(wait_info(m.port, "replication", ",state=online,", 10000), 0);
	memset(&sen, 0, sizeof(sen));
	snprintf(sen.sentinel_conf, sizeof(sen.sentinel_conf), "%s/sentinel.conf",
	    m.dir);
	FILE *f = fopen(sen.sentinel_conf, "w");
	fprintf(f, "sentinel monitor mymaster 127.0.0.1 %d 1\n"
	    "sentinel down-after-milliseconds mymaster 500\n"
	    "sentinel failover-timeout mymaster 2000\n", m.port);
	fclose(f);
	CHECK_INT(bs_test_redis_start_with(&sen, 0), 0);
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", m.port);
	snprintf(raddr, sizeof(raddr), "127.0.0.1:%d", rep.port);
	snprintf(saddr, sizeof(saddr), "127.0.0.1:%d", sen.port);
	/* The sentinel must know the replica before the master dies. */
	long long end = bs_test_now_ms() + 15000;
	int known = 0;
	while (!known && bs_test_now_ms() < end) {
		redisReply *r = sync_cmd(sen.port, "SENTINEL replicas mymaster");
		known = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
		if (r)
			freeReplyObject(r);
		if (!known)
			bs_test_sleep_ms(100);
	}
	CHECK(known);

	struct bs_metrics met;
	memset(&met, 0, sizeof(met));
	const char *sentinels[] = { "127.0.0.1:1", saddr }; /* the first is dead */
	struct bs_redis_config cfg = { .sentinel_master = "mymaster",
	    .sentinels = sentinels, .n_sentinels = 2, .connect_timeout_ms = 500,
	    .command_timeout_ms = 2000, .connections = 2, .wait_replicas = 1,
	    .wait_timeout_ms = 2000, .metrics = &met };
	int ups = 0;
	char err[256];
	struct bs_redis *r = bs_redis_new(base, &cfg, on_up, &ups, err, sizeof(err));
	CHECK(r != NULL);
	TEST("sentinel: the master the sentinels name") {
		CHECK_INT(run_until_at(base, r, maddr, 5000), 0);
		struct res a = { 0 };
		incr(r, "{t}:n", &a);
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 5000), 0);
		CHECK(a.err == NULL);
		CHECK_INT(a.integer, 1);
		CHECK_INT((long long)met.c[BS_M_REDIS_WAIT_TIMEOUTS], 0);
	}
	TEST("sentinel: the CLI's connection reaches the master too") {
		redisContext *c = bs_redis_connect_sync(&cfg, err, sizeof(err));
		CHECK(c != NULL);
		if (c) {
			CHECK_INT(c->tcp.port, m.port);
			CHECK_INT(bs_redis_sync_wait(c, &cfg, err, sizeof(err)), 0);
			redisFree(c);
		}
	}
	TEST("sentinel: SIGKILL of the master, the replica takes over") {
		bs_test_redis_kill(&m);
		long long t0 = bs_test_now_ms();
		CHECK_INT(run_until_at(base, r, raddr, 20000), 0);
		fprintf(stderr, "failover followed in %lld ms\n", bs_test_now_ms() - t0);
		CHECK_INT((long long)met.c[BS_M_REDIS_FAILOVERS], 1);
		struct res a = { 0 };
		cmd2(r, "INCR", "{t}:plain", &a);
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 5000), 0);
		CHECK(a.err == NULL);
		CHECK_INT(a.type, REDIS_REPLY_INTEGER);
	}
	TEST("sentinel: no replica left, an acknowledging write is not confirmed") {
		struct res a = { 0 };
		incr(r, "{t}:n", &a);
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 5000), 0);
		CHECK(a.err == bs_redis_err_replicas);
		CHECK_INT((long long)met.c[BS_M_REDIS_WAIT_TIMEOUTS], 1);
		redisContext *c = bs_redis_connect_sync(&cfg, err, sizeof(err));
		CHECK(c != NULL);
		if (c) {
			CHECK_INT(c->tcp.port, rep.port);
			CHECK_INT(bs_redis_sync_wait(c, &cfg, err, sizeof(err)), -1);
			CHECK(strstr(err, "0 of 1") != NULL);
			redisFree(c);
		}
	}
	bs_redis_free(r);
	bs_test_redis_stop(&sen);
	bs_test_redis_stop(&rep);
	bs_test_redis_stop(&m);
}

static void
test_cluster(struct event_base *base)
{
	struct bs_test_redis n[3];
	char seeds[3][64], cmd[512];
	size_t o = 0;
	o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "redis-cli --cluster create");
	for (int i = 0; i < 3; i++) {
		memset(&n[i], 0, sizeof(n[i]));
		n[i].extra[0] = "--cluster-enabled";
		n[i].extra[1] = "yes";
		n[i].extra[2] = "--cluster-node-timeout";
		n[i].extra[3] = "1000";
		CHECK_INT(bs_test_redis_start_with(&n[i], 0), 0);
		snprintf(seeds[i], sizeof(seeds[i]), "127.0.0.1:%d", n[i].port);
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " %s", seeds[i]);
	}
	snprintf(cmd + o, sizeof(cmd) - o, " --cluster-yes >/dev/null 2>&1");
	CHECK_INT(system(cmd), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(wait_info(n[i].port, "", "", 1), 0);
	long long end = bs_test_now_ms() + 15000;
	for (int i = 0; i < 3; i++)
		while (bs_test_now_ms() < end) {
			redisReply *ci = sync_cmd(n[i].port, "CLUSTER INFO");
			int ok = ci && ci->str && strstr(ci->str, "cluster_state:ok");
			if (ci)
				freeReplyObject(ci);
			if (ok)
				break;
			bs_test_sleep_ms(100);
		}

	const char *tag = "bstest";
	int slot = bs_redis_keyslot("{bstest}", 8);
	redisReply *sl = sync_cmd(n[0].port, "CLUSTER SLOTS");
	char host[64];
	int owner = 0;
	CHECK_INT(bs_redis_slots_owner(sl, slot, host, sizeof(host), &owner), 0);
	freeReplyObject(sl);
	int src = -1, dst = -1;
	for (int i = 0; i < 3; i++)
		if (n[i].port == owner)
			src = i;
	CHECK(src >= 0);
	if (src < 0)
		return;
	dst = (src + 1) % 3;
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", owner);

	struct bs_metrics met;
	memset(&met, 0, sizeof(met));
	/* Seeded with a node that does not own the slot. */
	const char *seedv[] = { seeds[dst] };
	struct bs_redis_config cfg = { .cluster = seedv, .n_cluster = 1,
	    .hash_tag = tag, .connect_timeout_ms = 1000,
	    .command_timeout_ms = 3000, .connections = 2, .metrics = &met };
	int ups = 0;
	char err[256];
	struct bs_redis *r = bs_redis_new(base, &cfg, on_up, &ups, err, sizeof(err));
	CHECK(r != NULL);
	TEST("cluster: the slot's owner, whatever the seed") {
		CHECK_INT(run_until_at(base, r, want, 5000), 0);
		struct res a[5];
		memset(a, 0, sizeof(a));
		for (int i = 0; i < 5; i++) {
			char k[32];
			snprintf(k, sizeof(k), "{bstest}:k%d", i);
			cmd2(r, "INCR", k, &a[i]);
		}
		for (int i = 0; i < 5; i++) {
			CHECK_INT(bs_test_run_until(base, &a[i].calls, 1, 3000), 0);
			CHECK_INT(a[i].calls, 1);
			CHECK(a[i].err == NULL && a[i].type == REDIS_REPLY_INTEGER);
		}
		redisContext *c = bs_redis_connect_sync(&cfg, err, sizeof(err));
		CHECK(c != NULL);
		if (c) {
			CHECK_INT(c->tcp.port, owner);
			redisFree(c);
		}
	}
	TEST("cluster: a migration: ASK followed, TRYAGAIN retried, MOVED followed") {
		char sid[64], did[64];
		node_id(n[src].port, sid, sizeof(sid));
		node_id(n[dst].port, did, sizeof(did));
		redisReply *x;
		x = sync_cmd(n[dst].port, "CLUSTER SETSLOT %d IMPORTING %s", slot, sid);
		freeReplyObject(x);
		x = sync_cmd(n[src].port, "CLUSTER SETSLOT %d MIGRATING %s", slot, did);
		freeReplyObject(x);
		x = sync_cmd(n[src].port, "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS "
		    "{bstest}:k0 {bstest}:k1 {bstest}:k2", n[dst].port, "");
		CHECK(x && x->type == REDIS_REPLY_STATUS);
		if (x)
			freeReplyObject(x);
		/* k0 has gone from the source: ASK, then ASKING + INCR there. */
		struct res a = { 0 };
		cmd2(r, "INCR", "{bstest}:k0", &a);
		CHECK_INT(bs_test_run_until(base, &a.calls, 1, 3000), 0);
		CHECK(a.err == NULL);
		CHECK_INT(a.integer, 2);
		CHECK((long long)met.c[BS_M_REDIS_ASK] >= 1);
		/* k0 moved, k3 not yet: TRYAGAIN until k3 follows, then ASK. */
		struct res t = { 0 };
		const char *keys[] = { "{bstest}:k0", "{bstest}:k3" };
		size_t kl[] = { 11, 11 };
		bs_redis_eval(r, &two_incr, 2, 2, keys, kl, on_reply, &t);
		bs_test_run_for(base, 200);
		CHECK_INT(t.calls, 0);
		CHECK((long long)met.c[BS_M_REDIS_TRYAGAIN] >= 1);
		x = sync_cmd(n[src].port, "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS "
		    "{bstest}:k3 {bstest}:k4", n[dst].port, "");
		CHECK(x && x->type == REDIS_REPLY_STATUS);
		if (x)
			freeReplyObject(x);
		CHECK_INT(bs_test_run_until(base, &t.calls, 1, 3000), 0);
		CHECK(t.err == NULL);
		CHECK_INT(t.integer, 3 + 2);
		for (int i = 0; i < 3; i++) {
			x = sync_cmd(n[i].port, "CLUSTER SETSLOT %d NODE %s", slot, did);
			if (x)
				freeReplyObject(x);
		}
		/* Migration over: the source answers MOVED, the pool follows. */
		char want2[64];
		snprintf(want2, sizeof(want2), "127.0.0.1:%d", n[dst].port);
		struct res b = { 0 };
		cmd2(r, "INCR", "{bstest}:k1", &b);
		CHECK_INT(bs_test_run_until(base, &b.calls, 1, 3000), 0);
		CHECK(b.err == NULL);
		CHECK_INT(b.integer, 2);
		CHECK((long long)met.c[BS_M_REDIS_MOVED] >= 1);
		CHECK_INT(run_until_at(base, r, want2, 3000), 0);
	}
	bs_redis_free(r);
	for (int i = 0; i < 3; i++)
		bs_test_redis_stop(&n[i]);
}

int
main(void)
{
	struct event_base *base = event_base_new();
	test_sentinel(base);
	test_cluster(base);
	event_base_free(base);
	return TEST_REPORT();
}
