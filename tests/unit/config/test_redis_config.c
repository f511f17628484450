/* test_redis_config: the Redis topology keys (redis.url, redis.sentinel,
 * redis.cluster, redis.db), WAIT (redis.wait_replicas, wait_timeout_ms)
 * and queue.shards: each accepted, and each mistake with its message at
 * its line and column; the warnings. */
#include "config/config.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"


static const char deps[] =
    "deployments:\n"
    "  - {org: a, deployment: b, repository: a/b, branch: m, "
    "environment: p}\n";

/* Parses head + deps for `uses` (after releasing the previous one). */
static int
parse_for(const char *head, unsigned uses)
{
	return fixture_parse(head, deps, uses);
}

static int
parse(const char *head)
{
	return parse_for(head, BS_USES_ALL);
}

/* Exactly one diagnostic, sev at ln:col with the message sub. */
#define EXPECT_ONLY(sev, sub, ln, col) do { \
	CHECK_INT(diags.n, 1); \
	EXPECT_DIAG(sev, sub, ln, col); \
} while (0)

int
main(void)
{
	bs_diags_init(&diags);
	setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
	setenv("SLEUTH_API_TOKEN", "tok", 1);
	unsetenv("BS_TEST_UNSET");

	TEST("defaults: the plain URL, db 0, no WAIT, one shard") {
		CHECK_INT(parse(""), 0);
		CHECK_INT(diags.n, 0);
		CHECK_STR(cfg.redis.url, "redis://127.0.0.1:6379/0");
		CHECK(cfg.redis.sentinel.master == NULL);
		CHECK_INT(cfg.redis.sentinel.n_addresses, 0);
		CHECK(cfg.redis.sentinel.password == NULL);
		CHECK(cfg.redis.cluster == NULL);
		CHECK_INT(cfg.redis.n_cluster, 0);
		CHECK_INT(cfg.redis.db, 0);
		CHECK_INT(cfg.redis.wait_replicas, 0);
		CHECK_INT(cfg.redis.wait_timeout_ms, 1000);
		CHECK_INT(cfg.queue.shards, 1);
	}

	TEST("sentinel: accepted, the default URL is dropped") {
		CHECK_INT(parse(
		    "redis:\n"
		    "  sentinel:\n"
		    "    master: mymaster\n"
		    "    addresses: [10.0.0.1:26379, \"[::1]:26380\", "
		    "sentinel-3.example:26381]\n"
		    "  db: 15\n"), 0);
		CHECK_INT(diags.n, 0);
		CHECK(cfg.redis.url == NULL);
		CHECK_STR(cfg.redis.sentinel.master, "mymaster");
		CHECK_INT(cfg.redis.sentinel.n_addresses, 3);
		if (cfg.redis.sentinel.n_addresses == 3) {
			CHECK_STR(cfg.redis.sentinel.addresses[0], "10.0.0.1:26379");
			CHECK_STR(cfg.redis.sentinel.addresses[1], "[::1]:26380");
		}
		CHECK_INT(cfg.redis.db, 15);
		CHECK_INT(cfg.redis.n_cluster, 0);
		/* One address may be written as a string. */
		CHECK_INT(parse("redis: {sentinel: {master: m, addresses: "
		    "\"h:26379\"}}\n"), 0);
		CHECK_INT(cfg.redis.sentinel.n_addresses, 1);
		CHECK(cfg.redis.url == NULL);
	}

	TEST("sentinel: master and addresses are required") {
		CHECK_INT(parse("redis:\n  sentinel:\n    addresses: [h:1]\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.master: required with "
		    "redis.sentinel", 2, 3);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.addresses: required with "
		    "redis.sentinel", 2, 3);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"
		    "    addresses: []\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.addresses: needs at "
		    "least one host:port", 4, 16);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: \"my master\"\n"
		    "    addresses: [h:1]\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.master: must be 1 to 128 "
		    "characters without spaces", 3, 13);
		CHECK_INT(parse("redis:\n  sentinel: [h:1]\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel: expected a mapping, got "
		    "a list", 2, 13);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"
		    "    adresses: [h:1]\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.sentinel.adresses: unknown key "
		    "(did you mean 'addresses'?)", 4, 5);
		/* "sentinel:" with nothing: no sentinel, the URL stays. */
		CHECK_INT(parse("redis:\n  sentinel:\n"), 0);
		CHECK_STR(cfg.redis.url, "redis://127.0.0.1:6379/0");
	}

	TEST("sentinel: 1 to 16 addresses, each host:port") {
		CHECK_INT(parse(
		    "redis:\n"
		    "  sentinel:\n"
		    "    master: m\n"
		    "    addresses:\n"
		    "      - h\n"
		    "      - \"::1:26379\"\n"
		    "      - h:0\n"
		    "      - h:65536\n"
		    "      - \":26379\"\n"
		    "      - \"x y:1\"\n"
		    "      - \"[nope]:1\"\n"
		    "      - h:12ab\n"
		    "      - unix:///tmp/s\n"), -1);
		CHECK_INT(diags.errors, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.sentinel.addresses[0]: expected "
		    "host:port like 10.0.0.5:26379 or [2001:db8::5]:26379, got 'h' "
		    "(no port)", 5, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "addresses[1]: expected host:port like "
		    "10.0.0.5:26379 or [2001:db8::5]:26379, got '::1:26379' (an IPv6 "
		    "address needs brackets: [address]:port)", 6, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got 'h:0' (the port must be 1 to 65535)",
		    7, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got 'h:65536' (the port must be 1 to "
		    "65535)", 8, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got ':26379' (empty host)", 9, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got 'x y:1' (bad character in the host)",
		    10, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got '[nope]:1' (bad IPv6 address)", 11, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "got 'h:12ab' (the port must be", 12, 9);
		EXPECT_DIAG(BS_DIAG_ERROR, "addresses[8]: expected host:port", 13, 9);
		/* 17 are too many. */
		char many[2048] = "redis:\n  sentinel:\n    master: m\n"
		    "    addresses: [";
		for (int i = 0; i < 17; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many),
			    "%sh%d:26379", i ? ", " : "", i);
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "]\n");
		CHECK_INT(parse(many), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.addresses: too many items "
		    "(17, at most 16)", 4, 16);
		/* The string form: the message names no index. */
		CHECK_INT(parse("redis: {sentinel: {master: m, addresses: h}}\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.addresses: expected "
		    "host:port like", 1, 42);
	}

	TEST("sentinel: password_env is resolved like redis.password_env") {
		const char *y =
		    "redis:\n"
		    "  sentinel:\n"
		    "    master: m\n"
		    "    addresses: [h:26379]\n"
		    "    password_env: BS_TEST_UNSET\n";
		CHECK_INT(parse(y), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "environment variable BS_TEST_UNSET "
		    "(redis.sentinel.password_env) is not set", 5, 19);
		/* A command that does not use Redis does not need it. */
		CHECK_INT(parse_for(y, BS_USES_INGEST | BS_USES_WORKER), 0);
		CHECK_INT(diags.n, 0);
		CHECK(cfg.redis.sentinel.password == NULL);
		setenv("BS_TEST_UNSET", "spw", 1);
		CHECK_INT(parse(y), 0);
		CHECK_STR(cfg.redis.sentinel.password, "spw");
		CHECK(cfg.redis.password == NULL);
		unsetenv("BS_TEST_UNSET");
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"
		    "    addresses: [h:1]\n    password_env: \"not a name\"\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.password_env: must name "
		    "an environment variable", 5, 19);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"
		    "    addresses: [h:1]\n    password_env: aB3dE5gH7jK9mN1pQ3sT5\n"),
		    -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.password_env: names no set "
		    "variable and looks like the secret itself", 5, 19);
		CHECK_INT(parse("redis:\n  sentinel:\n    master: m\n"
		    "    addresses: [h:1]\n    password: hunter2\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel.password: secrets come "
		    "from the environment: use password_env", 5, 5);
	}

	TEST("cluster: accepted, the default URL is dropped") {
		CHECK_INT(parse("redis:\n  cluster: [10.0.0.1:6379, "
		    "10.0.0.2:6379, \"[2001:db8::5]:6379\"]\n"), 0);
		CHECK_INT(diags.n, 0);
		CHECK(cfg.redis.url == NULL);
		CHECK_INT(cfg.redis.n_cluster, 3);
		if (cfg.redis.n_cluster == 3)
			CHECK_STR(cfg.redis.cluster[2], "[2001:db8::5]:6379");
		CHECK(cfg.redis.sentinel.master == NULL);
		CHECK_INT(parse("redis:\n  cluster: node:7000\n"), 0);
		CHECK_INT(cfg.redis.n_cluster, 1);
		/* db 0 may be written; any other is an error. */
		CHECK_INT(parse("redis:\n  cluster: [h:1]\n  db: 0\n"), 0);
		CHECK_INT(diags.n, 0);
	}

	TEST("cluster: 1 to 64 seeds, each host:port") {
		CHECK_INT(parse("redis:\n  cluster: []\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.cluster: needs at least one "
		    "host:port", 2, 12);
		CHECK_INT(parse("redis:\n  cluster:\n    - h:1\n    - h:99999\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.cluster[1]: expected host:port "
		    "like 10.0.0.5:6379 or [2001:db8::5]:6379, got 'h:99999' (the "
		    "port must be 1 to 65535)", 4, 7);
		CHECK_INT(parse("redis:\n  cluster: {a: 1}\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.cluster: expected a string or a "
		    "list of strings, got a mapping", 2, 12);
		char many[4096] = "redis:\n  cluster: [";
		for (int i = 0; i < 65; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many),
			    "%sh%d:6379", i ? ", " : "", i);
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "]\n");
		CHECK_INT(parse(many), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.cluster: too many items (65, at "
		    "most 64)", 2, 12);
		CHECK_INT(parse("redis:\n  cluster: [h:1]\n  db: 2\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.db: a cluster has only database 0",
		    3, 7);
	}

	TEST("one topology: url, sentinel and cluster are exclusive") {
		CHECK_INT(parse(
		    "redis:\n"
		    "  url: redis://h:6379/0\n"
		    "  sentinel: {master: m, addresses: [h:26379]}\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.sentinel: redis.url and "
		    "redis.sentinel are exclusive (one topology)", 3, 3);
		/* The second one in the file is at fault, whichever it is. */
		CHECK_INT(parse(
		    "redis:\n"
		    "  cluster: [h:1]\n"
		    "  url: redis://h:6379/0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.url: redis.url and redis.cluster "
		    "are exclusive (one topology)", 3, 3);
		CHECK_INT(parse(
		    "redis:\n"
		    "  sentinel: {master: m, addresses: [h:26379]}\n"
		    "  cluster: [h:1]\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.cluster: redis.sentinel and "
		    "redis.cluster are exclusive (one topology)", 3, 3);
		CHECK_INT(parse(
		    "redis:\n"
		    "  url: redis://h:6379/0\n"
		    "  sentinel: {master: m, addresses: [h:26379]}\n"
		    "  cluster: [h:1]\n"), -1);
		CHECK_INT(diags.errors, 2);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.cluster: redis.url and "
		    "redis.cluster are exclusive", 4, 3);
		/* A null url is not written. */
		CHECK_INT(parse("redis:\n  url:\n  cluster: [h:1]\n"), 0);
		CHECK(cfg.redis.url == NULL);
	}

	TEST("redis.db: only for sentinel") {
		CHECK_INT(parse("redis:\n  url: redis://h:6379/2\n  db: 3\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.db: put the database in redis.url",
		    3, 7);
		CHECK_INT(parse("redis:\n  db: 0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.db: put the database in redis.url "
		    "(redis://host:port/N); redis.db is only for redis.sentinel", 2, 7);
		CHECK_INT(parse("redis:\n  sentinel: {master: m, addresses: [h:1]}\n"
		    "  db: 16\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.db: 16 is out of range (0 .. 15)",
		    3, 7);
		CHECK_INT(parse("redis:\n  sentinel: {master: m, addresses: [h:1]}\n"
		    "  db: -1\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.db: -1 is out of range", 3, 7);
	}

	TEST("redis.url: rediss:// is refused with the stunnel hint") {
		CHECK_INT(parse("redis:\n  url: rediss://h:6380/0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.url: rediss:// (TLS) is not "
		    "supported by hiredis 0.14; run the stunnel sidecar and point "
		    "redis.url at it (README \"TLS to Redis\")", 2, 8);
		CHECK_INT(parse("redis:\n  url: REDISS://h:6380/0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "rediss:// (TLS) is not supported", 2, 8);
		/* unix:// stays allowed in plain mode. */
		CHECK_INT(parse("redis:\n  url: unix:///run/redis.sock?db=1\n"), 0);
		CHECK_STR(cfg.redis.url, "unix:///run/redis.sock?db=1");
		CHECK_INT(parse("redis:\n  url: http://h:6379\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.url: bad redis url", 2, 8);
	}

	TEST("WAIT: ranges, and the warning near Bitbucket's 10 s") {
		CHECK_INT(parse("redis:\n  wait_replicas: 2\n  wait_timeout_ms: 2s\n"),
		    0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.redis.wait_replicas, 2);
		CHECK_INT(cfg.redis.wait_timeout_ms, 2000);
		CHECK_INT(parse("redis:\n  wait_replicas: 17\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.wait_replicas: 17 is out of range "
		    "(0 .. 16)", 2, 18);
		CHECK_INT(parse("redis:\n  wait_replicas: -1\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.wait_replicas: -1 is out of range",
		    2, 18);
		CHECK_INT(parse("redis:\n  wait_timeout_ms: 0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.wait_timeout_ms: 0 ms is out of "
		    "range (1 .. 60000 ms)", 2, 20);
		CHECK_INT(parse("redis:\n  wait_timeout_ms: 61s\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "redis.wait_timeout_ms: 61000 ms is out "
		    "of range", 2, 20);
		/* 5000 + 5000 >= 10000 */
		CHECK_INT(parse("redis:\n  wait_replicas: 1\n  wait_timeout_ms: 5000\n"),
		    0);
		EXPECT_ONLY(BS_DIAG_WARNING, "redis.wait_timeout_ms (5000) + "
		    "redis.command_timeout_ms (5000) is not below 10000 ms: Bitbucket "
		    "times a delivery out after 10 s, so the 202 could come too late "
		    "and it resends", 3, 20);
		/* 4999 + 5000: fine. */
		CHECK_INT(parse("redis:\n  wait_replicas: 1\n  wait_timeout_ms: 4999\n"),
		    0);
		CHECK_INT(diags.n, 0);
		/* Through command_timeout_ms only: the warning at wait_replicas. */
		CHECK_INT(parse("redis:\n  wait_replicas: 1\n"
		    "  command_timeout_ms: 9s\n"), 0);
		EXPECT_ONLY(BS_DIAG_WARNING, "redis.wait_timeout_ms (1000) + "
		    "redis.command_timeout_ms (9000)", 2, 18);
		/* Without WAIT the sum does not matter. */
		CHECK_INT(parse("redis:\n  wait_timeout_ms: 60000\n"), 0);
		CHECK_INT(diags.n, 0);
	}

	TEST("queue.shards: 1 to 64, a warning without a cluster") {
		CHECK_INT(parse("redis:\n  cluster: [h:1]\nqueue:\n  shards: 64\n"),
		    0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.queue.shards, 64);
		CHECK_INT(parse("queue:\n  shards: 3\n"), 0);
		EXPECT_ONLY(BS_DIAG_WARNING, "queue.shards: 3 shards without "
		    "redis.cluster: shards share one server: no gain, only more keys",
		    2, 11);
		CHECK_INT(cfg.queue.shards, 3);
		CHECK_INT(parse("queue:\n  shards: 1\n"), 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(parse("queue:\n  shards: 0\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "queue.shards: 0 is out of range (1 .. 64)",
		    2, 11);
		CHECK_INT(parse("queue:\n  shards: 65\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "queue.shards: 65 is out of range", 2, 11);
		CHECK_INT(parse("queue:\n  shards: three\n"), -1);
		EXPECT_ONLY(BS_DIAG_ERROR, "queue.shards: expected an integer, got "
		    "'three'", 2, 11);
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	return TEST_REPORT();
}
