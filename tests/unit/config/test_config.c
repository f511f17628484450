/* test_config: the example configs load clean; defaults; durations and
 * sizes; and every kind of mistake gives its message at its line. */
#include "config/config.h"
#include "config/yaml_doc.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"

#include <unistd.h>


/* Parses text (after releasing the previous one); returns the rc. */
static int
parse(const char *text)
{
	return fixture_parse(text, "", BS_USES_ALL);
}

static const char base_deps[] =
    "deployments:\n"
    "  - org: acme\n"
    "    deployment: shop-web\n"
    "    repository: acme/shop\n"
    "    branch: main\n"
    "    environment: production\n";

/* base_deps after the given head. */
static const char *
with_deps(const char *head)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s%s", head, base_deps);
	return buf;
}

static int
load_example(const char *name)
{
	char path[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/examples/%s", src ? src : ".", name);
	bs_config_release(&cfg);
	bs_diags_release(&diags);
	bs_diags_init(&diags);
	int rc = bs_config_load(path, &cfg, &diags);
	if (rc != 0 || diags.n)
		bs_diags_print(&diags, path, stderr);
	return rc;
}

/* Reads BS_SOURCE_DIR/name into a malloc'd string, NULL when missing. */
static char *
read_source(const char *name)
{
	char path[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

struct key_check {
	/* examples/full*.yaml: full.yaml and one per exclusive topology
	 * (full-sentinel.yaml, full-cluster.yaml) */
	const struct bs_ynode *full[8];
	size_t n_full;
	const char *readme;             /* README's configuration reference */
	size_t keys, missing;
};

/* Whether the key at path ("a.b[].c") is in the tree full. */
static bool
key_in(const struct bs_ynode *full, const char *path)
{
	/* Walk "a.b[].c": each segment a map key, "[]" the list's first item. */
	const struct bs_ynode *v = full;
	for (const char *p = path; v && *p;) {
		size_t n = strcspn(p, ".");
		char seg[64];
		snprintf(seg, sizeof(seg), "%.*s", (int)n, p);
		char *br = strstr(seg, "[]");
		if (br)
			*br = '\0';
		struct bs_ynode *kn = NULL;
		const struct bs_ynode *val = v->type == BS_YNODE_MAP ?
		    bs_ynode_get(v, seg, &kn) : NULL;
		/* The key's node marks presence (its value may be null). */
		v = p[n] ? val : kn;
		if (v && br)
			v = v->type == BS_YNODE_SEQ && v->n > 0 ? v->items[0] : NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return v != NULL;
}

/* Every key the loader accepts is in one of examples/full*.yaml (at its
 * place) and in README's reference table (as `path`). */
static void
check_key(const char *path, void *arg)
{
	struct key_check *kc = arg;
	kc->keys++;
	bool found = false;
	for (size_t i = 0; i < kc->n_full && !found; i++)
		found = key_in(kc->full[i], path);
	if (!found) {
		fprintf(stderr, "  %s is not in examples/full*.yaml\n", path);
		kc->missing++;
	}
	char quoted[160];
	snprintf(quoted, sizeof(quoted), "| `%s`", path);
	if (kc->readme && !strstr(kc->readme, quoted)) {
		/* "| `retry.base` / `retry.cap` |" rows name two keys. */
		snprintf(quoted, sizeof(quoted), "/ `%s` |", path);
		if (!strstr(kc->readme, quoted)) {
			fprintf(stderr, "  %s is not in README's configuration "
			    "reference\n", path);
			kc->missing++;
		}
	}
}

int
main(void)
{
	bs_diags_init(&diags);
	setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
	setenv("SLEUTH_API_TOKEN", "tok", 1);
	unsetenv("BS_TEST_UNSET");

	TEST("examples/bitsleuth.yaml loads clean") {
		CHECK_INT(load_example("bitsleuth.yaml"), 0);
		CHECK_INT(diags.errors, 0);
		CHECK_INT(diags.warnings, 0);
		CHECK_STR(cfg.listen_host, "127.0.0.1");
		CHECK_INT(cfg.listen_port, 8080);
		CHECK_STR(cfg.redis.url, "redis://127.0.0.1:6379/0");
		CHECK_STR(cfg.redis.prefix, "bitsleuth");
		CHECK_STR(cfg.bitbucket.secret, "s3cret");
		CHECK(cfg.sleuth.dry_run);
		CHECK_INT(cfg.n_deployments, 2);
		if (cfg.n_deployments == 2) {
			CHECK_STR(cfg.deployments[0].repository, "cloudbeers/temp");
			CHECK_INT(cfg.deployments[0].n_branches, 1);
			CHECK_STR(cfg.deployments[0].branches[0], "main");
			CHECK_STR(cfg.deployments[1].repository, "PRJ/my-repo");
			CHECK_INT(cfg.deployments[1].n_branches, 2);
			CHECK_STR(cfg.deployments[1].branches[1], "main");
			CHECK_INT(cfg.deployments[1].dry_run, -1);
			CHECK(cfg.deployments[0].line > 0);
		}
		/* dry_run everywhere: no token needed. */
		unsetenv("SLEUTH_API_TOKEN");
		CHECK_INT(load_example("bitsleuth.yaml"), 0);
		setenv("SLEUTH_API_TOKEN", "tok", 1);
	}

	TEST("examples/full.yaml loads clean with the documented defaults") {
		CHECK_INT(load_example("full.yaml"), 0);
		CHECK_INT(diags.errors, 0);
		CHECK_INT(diags.warnings, 0);
		CHECK_STR(cfg.sleuth.token, "tok");
		CHECK_INT(cfg.http.max_body, 1024 * 1024);
		CHECK_INT(cfg.limits.max_string, 65536);
		CHECK_INT(cfg.queue.seen_ttl_s, 7 * 86400);
		CHECK_INT(cfg.queue.content_dedupe_window_s, 600);
		CHECK_INT(cfg.worker.visibility_timeout_ms, 300000);
		CHECK_INT(cfg.retry.max_age_ms, 48LL * 3600 * 1000);
		CHECK_INT(cfg.retry.slow_delay_ms, 60000);
		/* Every scalar setting equals the loader's own default. */
		struct bs_config def;
		struct bs_diags dd;
		bs_diags_init(&dd);
		bs_config_parse("d.yaml", "", 0, &def, &dd);
#define SAME(f) CHECK_INT((long long)cfg.f, (long long)def.f)
#define SAMES(f) CHECK_STR(cfg.f ? cfg.f : "(null)", def.f ? def.f : "(null)")
		SAMES(listen); SAMES(log_level); SAMES(redis.url);
		SAMES(redis.password_env); SAMES(redis.prefix);
		SAME(redis.connect_timeout_ms); SAME(redis.command_timeout_ms);
		SAME(redis.connections); SAME(redis.db); SAME(redis.n_cluster);
		SAME(redis.wait_replicas); SAME(redis.wait_timeout_ms);
		SAMES(redis.sentinel.master); SAME(queue.shards);
		SAMES(bitbucket.secret_env); SAME(bitbucket.allow_unsigned);
		SAMES(sleuth.base_url); SAMES(sleuth.token_env); SAME(sleuth.dry_run);
		SAME(sleuth.connect_timeout_ms); SAME(sleuth.timeout_ms);
		SAME(sleuth.max_commits);
		SAME(issues.n_patterns); SAMES(issues.patterns[0]);
		SAMES(issues.url);
		/* The one non-default: full.yaml shows an allow-list. */
		CHECK_INT(cfg.issues.n_projects, 2);
		CHECK(def.issues.stop_list == NULL && cfg.issues.stop_list == NULL);
		SAME(http.max_body); SAME(http.max_headers); SAME(http.timeout_ms);
		SAME(http.max_connections);
		SAME(bitbucket.n_allow_cidrs); SAME(http.n_trusted_proxies);
		SAME(limits.max_depth); SAME(limits.max_changes);
		SAME(limits.max_commits); SAME(limits.max_string);
		SAME(queue.seen_ttl_s); SAME(queue.raw_ttl_s);
		SAME(queue.content_dedupe); SAME(queue.pr_ttl_s);
		SAME(queue.content_dedupe_window_s);
		SAME(queue.max_stream);
		SAME(worker.concurrency); SAME(worker.block_ms);
		SAME(worker.visibility_timeout_ms);
		SAME(retry.max_attempts); SAME(retry.max_age_ms); SAME(retry.base_ms);
		SAME(retry.cap_ms); SAME(retry.slow_attempts); SAME(retry.slow_delay_ms);
		SAME(dead.max_len); SAME(dead.max_age_ms);
		SAMES(sleuth.graphql_url); SAMES(sleuth.graphql_token_env);
		SAME(sleuth.discover_every_ms);
#undef SAME
#undef SAMES
		bs_config_release(&def);
		bs_diags_release(&dd);
		/* The flat deployment, then projects[0]'s one target. */
		CHECK_INT(cfg.n_deployments, 2);
		CHECK_INT(cfg.n_projects, 1);
		if (cfg.n_deployments == 2) {
			CHECK_INT(cfg.deployments[0].origin, BS_ORIGIN_FLAT);
			CHECK(cfg.deployments[0].project == NULL);
			CHECK_INT(cfg.deployments[1].origin, BS_ORIGIN_PROJECT);
			CHECK_STR(cfg.deployments[1].project, "shop");
			CHECK_INT(cfg.deployments[1].paths.n_includes, 0);
			CHECK_INT(cfg.deployments[0].track, BS_TRACK_PUSH);
			CHECK(!cfg.deployments[0].issue_tags);
			CHECK_STR(cfg.deployments[0].tag_pattern, "*");
			CHECK(cfg.deployments[0].token_env == NULL);
			CHECK_INT(cfg.deployments[0].dry_run, -1);
			CHECK_INT(cfg.deployments[0].n_tags, 0);
		}
	}

	TEST("every accepted key is in examples/full*.yaml and README") {
		/* The topologies are exclusive: no one file can hold every key,
		 * so the keys are the union over full.yaml, full-sentinel.yaml,
		 * full-cluster.yaml (each loads with neither error nor warning). */
		static const char *const files[] = { "full.yaml",
			"full-sentinel.yaml", "full-cluster.yaml" };
		char *readme = read_source("README.md");
		CHECK(readme != NULL);
		struct bs_arena a;
		bs_arena_init(&a);
		const char *ref = readme ? strstr(readme, "## Configuration reference") :
		    NULL;
		CHECK(ref != NULL);
		struct key_check kc = { .readme = ref };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char name[64];
			snprintf(name, sizeof(name), "examples/%s", files[i]);
			char *text = read_source(name);
			CHECK(text != NULL);
			struct bs_ynode *root = NULL;
			char err[256];
			int ln, col;
			CHECK_INT(bs_ydoc_parse(&a, text ? text : "", text ?
			    strlen(text) : 0, &root, err, sizeof(err), &ln, &col), 0);
			if (root)
				kc.full[kc.n_full++] = root;
			free(text);
			CHECK_INT(load_example(files[i]), 0);
			CHECK_INT(diags.errors, 0);
			CHECK_INT(diags.warnings, 0);
		}
		bs_config_each_key(check_key, &kc);
		CHECK(kc.keys > 50);
		CHECK_INT(kc.missing, 0);
		bs_arena_release(&a);
		free(readme);
	}

	TEST("examples/full-sentinel.yaml and full-cluster.yaml") {
		CHECK_INT(load_example("full-sentinel.yaml"), 0);
		CHECK(cfg.redis.url == NULL);
		CHECK_STR(cfg.redis.sentinel.master, "mymaster");
		CHECK_INT(cfg.redis.sentinel.n_addresses, 3);
		CHECK_INT(cfg.redis.db, 0);
		CHECK_INT(cfg.redis.wait_replicas, 1);
		CHECK_INT(cfg.queue.shards, 1);
		CHECK_INT(load_example("full-cluster.yaml"), 0);
		CHECK(cfg.redis.url == NULL);
		CHECK_INT(cfg.redis.n_cluster, 3);
		CHECK_INT(cfg.queue.shards, 3);
		CHECK(cfg.redis.sentinel.master == NULL);
	}

	TEST("defaults when keys are absent") {
		CHECK_INT(parse(base_deps), 0);
		CHECK_INT(diags.n, 0);
		CHECK_STR(cfg.path, "t.yaml");
		CHECK_STR(cfg.listen, "127.0.0.1:8080");
		CHECK_STR(cfg.listen_host, "127.0.0.1");
		CHECK_INT(cfg.listen_port, 8080);
		CHECK_STR(cfg.redis.url, "redis://127.0.0.1:6379/0");
		CHECK(cfg.redis.password_env == NULL);
		CHECK_STR(cfg.redis.prefix, "bitsleuth");
		CHECK_INT(cfg.redis.connect_timeout_ms, 2000);
		CHECK_INT(cfg.redis.command_timeout_ms, 5000);
		CHECK_INT(cfg.redis.wait_replicas, 0);
		CHECK_INT(cfg.redis.wait_timeout_ms, 1000);
		CHECK_INT(cfg.queue.shards, 1);
		CHECK_STR(cfg.bitbucket.secret_env, "BITBUCKET_WEBHOOK_SECRET");
		CHECK(!cfg.bitbucket.allow_unsigned);
		CHECK_STR(cfg.sleuth.base_url, "https://app.sleuth.io");
		CHECK_STR(cfg.sleuth.token_env, "SLEUTH_API_TOKEN");
		CHECK(!cfg.sleuth.dry_run);
		CHECK_INT(cfg.sleuth.connect_timeout_ms, 5000);
		CHECK_INT(cfg.sleuth.timeout_ms, 30000);
		CHECK_INT(cfg.sleuth.max_commits, 250);
		CHECK_INT(cfg.issues.n_patterns, 1);
		CHECK_STR(cfg.issues.patterns[0], "jira");
		CHECK_INT(cfg.issues.n_projects, 0);
		CHECK(cfg.issues.url == NULL);
		CHECK_INT(cfg.http.max_body, 1048576);
		CHECK_INT(cfg.http.max_headers, 16384);
		CHECK_INT(cfg.http.timeout_ms, 10000);
		CHECK_INT(cfg.http.max_connections, 1024);
		CHECK_INT(cfg.bitbucket.n_allow_cidrs, 0);
		CHECK_INT(cfg.http.n_trusted_proxies, 0);
		CHECK_INT(cfg.limits.max_depth, 64);
		CHECK_INT(cfg.limits.max_changes, 1000);
		CHECK_INT(cfg.limits.max_commits, 1000);
		CHECK_INT(cfg.limits.max_string, 65536);
		CHECK_INT(cfg.queue.seen_ttl_s, 604800);
		CHECK_INT(cfg.queue.raw_ttl_s, 604800);
		CHECK_INT(cfg.queue.max_stream, 1000000);
		CHECK_INT(cfg.worker.concurrency, 16);
		CHECK_INT(cfg.worker.block_ms, 1000);
		CHECK_INT(cfg.worker.visibility_timeout_ms, 300000);
		CHECK_INT(cfg.retry.max_attempts, 20);
		CHECK_INT(cfg.retry.max_age_ms, 172800000);
		CHECK_INT(cfg.retry.base_ms, 5000);
		CHECK_INT(cfg.retry.cap_ms, 3600000);
		CHECK_INT(cfg.retry.slow_attempts, 5);
		CHECK_INT(cfg.retry.slow_delay_ms, 60000);
		CHECK_INT(cfg.dead.max_len, 100000);
		CHECK_STR(cfg.log_level, "info");
		CHECK_STR(cfg.bitbucket.secret, "s3cret");
		CHECK_STR(cfg.sleuth.token, "tok");
		CHECK_STR(cfg.sleuth.graphql_url, "https://app.sleuth.io/graphql");
		CHECK_STR(cfg.sleuth.graphql_token_env, "SLEUTH_GRAPHQL_TOKEN");
		CHECK_INT(cfg.sleuth.discover_every_ms, 300000);
		CHECK_INT(cfg.n_deployments, 1);
		if (cfg.n_deployments == 1) {
			CHECK_INT(cfg.deployments[0].origin, BS_ORIGIN_FLAT);
			CHECK(cfg.deployments[0].project == NULL);
			const struct bs_deployment *d = &cfg.deployments[0];
			CHECK_STR(d->org, "acme");
			CHECK_STR(d->deployment, "shop-web");
			CHECK_STR(d->environment, "production");
			CHECK_INT(d->track, BS_TRACK_PUSH);
			CHECK_INT(d->line, 2);
			CHECK(!d->issue_tags);
			CHECK(d->token == NULL);
		}
	}

	TEST("durations and sizes") {
		CHECK_INT(parse(with_deps(
		    "redis:\n"
		    "  connect_timeout_ms: 500ms\n"
		    "  command_timeout_ms: 1500\n"
		    "sleuth:\n"
		    "  timeout_ms: 30s\n"
		    "queue:\n"
		    "  seen_ttl: 48h\n"
		    "  raw_ttl: 3600\n"
		    "worker:\n"
		    "  visibility_timeout: 90\n"
		    "  block_ms: 2s\n"
		    "retry:\n"
		    "  max_age: 7d\n"
		    "  base: 250ms\n"
		    "  cap: 5m\n"
		    "http:\n"
		    "  max_body: 512KB\n"
		    "  max_headers: 8KiB\n"
		    "limits:\n"
		    "  max_string: 2MiB\n")), 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.redis.connect_timeout_ms, 500);
		CHECK_INT(cfg.redis.command_timeout_ms, 1500);
		CHECK_INT(cfg.sleuth.timeout_ms, 30000);
		CHECK_INT(cfg.queue.seen_ttl_s, 48 * 3600);
		CHECK_INT(cfg.queue.raw_ttl_s, 3600);
		CHECK_INT(cfg.worker.visibility_timeout_ms, 90000);
		CHECK_INT(cfg.worker.block_ms, 2000);
		CHECK_INT(cfg.retry.max_age_ms, 7LL * 86400 * 1000);
		CHECK_INT(cfg.retry.base_ms, 250);
		CHECK_INT(cfg.retry.cap_ms, 300000);
		CHECK_INT(cfg.http.max_body, 512000);
		CHECK_INT(cfg.http.max_headers, 8192);
		CHECK_INT(cfg.limits.max_string, 2 * 1024 * 1024);

		CHECK_INT(parse(with_deps("queue:\n  seen_ttl: 5x\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "queue.seen_ttl: expected a duration", 2,
		    13);
		CHECK_INT(parse(with_deps("queue:\n  seen_ttl: 1500ms\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "whole number of seconds", 2, 13);
		CHECK_INT(parse(with_deps("http:\n  max_body: 1TB\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "http.max_body: expected a size", 2, 13);
		CHECK_INT(parse(with_deps("http:\n  max_body: -5\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "http.max_body: expected a size", 2, 13);
		CHECK_INT(parse(with_deps("worker:\n  concurrency: 0\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "worker.concurrency: 0 is out of range "
		    "(1 .. 10000)", 2, 16);
		CHECK_INT(parse(with_deps("worker:\n  concurrency: 1.5\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "worker.concurrency: expected an integer",
		    2, 16);
		CHECK_INT(parse(with_deps("redis:\n  connect_timeout_ms: 11m\n")),
		    -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "660000 ms is out of range", 2, 23);
		CHECK_INT(parse(with_deps("retry:\n  base: 2h\n  cap: 1h\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "retry.base (7200000 ms) is above", 2, 9);
	}

	TEST("branch: a string or a list") {
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: acme\n"
		    "    deployment: web\n"
		    "    repository: acme/shop\n"
		    "    branch: [main, \"release/*\"]\n"
		    "    environment: production\n"
		    "    track: merge\n"
		    "    tags: [hotfix, \"#web\"]\n"
		    "    issue_tags: yes\n"
		    "    dry_run: false\n"
		    "  - org: acme\n"
		    "    deployment: web\n"
		    "    repository: acme/shop\n"
		    "    branch:\n"
		    "      - develop\n"
		    "    environment: staging\n"), 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.n_deployments, 2);
		if (cfg.n_deployments == 2) {
			const struct bs_deployment *d = &cfg.deployments[0];
			CHECK_INT(d->n_branches, 2);
			CHECK_STR(d->branches[0], "main");
			CHECK_STR(d->branches[1], "release/*");
			CHECK_INT(d->track, BS_TRACK_MERGE);
			CHECK_INT(d->n_tags, 2);
			CHECK_STR(d->tags[0], "#hotfix");
			CHECK_STR(d->tags[1], "#web");
			CHECK(d->issue_tags);
			CHECK_INT(d->dry_run, 0);
			CHECK_INT(cfg.deployments[1].n_branches, 1);
			CHECK_STR(cfg.deployments[1].branches[0], "develop");
			CHECK_INT(cfg.deployments[1].line, 11);
		}
	}

	TEST("unknown key with did you mean") {
		CHECK_INT(parse(with_deps("redis:\n  prefx: x\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.prefx: unknown key (did you mean "
		    "'prefix'?)", 2, 3);
		CHECK_INT(parse(with_deps("lsten: 1.2.3.4:80\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "lsten: unknown key (did you mean "
		    "'listen'?)", 1, 1);
		CHECK_INT(parse(with_deps("zzzzzz: 1\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "zzzzzz: unknown key", 1, 1);
		CHECK(strstr(find("zzzzzz")->message, "did you mean") == NULL);
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: acme\n"
		    "    deployment: web\n"
		    "    repository: acme/shop\n"
		    "    branches: main\n"
		    "    environment: production\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].branches: unknown key "
		    "(did you mean 'branch'?)", 5, 5);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0]: missing required key "
		    "'branch'", 2, 5);
	}

	TEST("missing required keys point at the deployment") {
		CHECK_INT(parse(
		    "sleuth:\n"
		    "  dry_run: true\n"
		    "deployments:\n"
		    "  - org: acme\n"
		    "    branch: main\n"
		    "  - deployment: x\n"
		    "    org: acme\n"
		    "    repository: a/b\n"
		    "    environment: prod\n"
		    "    branch: main\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0]: missing required key "
		    "'deployment'", 4, 5);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0]: missing required key "
		    "'repository'", 4, 5);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0]: missing required key "
		    "'environment'", 4, 5);
		CHECK(find("deployments[1]") == NULL);
		CHECK_INT(diags.errors, 3);
	}

	TEST("wrong types") {
		CHECK_INT(parse(with_deps("redis: redis://x\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis: expected a mapping, got a scalar",
		    1, 8);
		CHECK_INT(parse(with_deps("sleuth:\n  dry_run: maybe\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "sleuth.dry_run: expected true or false, "
		    "got maybe", 2, 12);
		CHECK_INT(parse(with_deps("listen: [1, 2]\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "listen: expected a string, got a list",
		    1, 9);
		CHECK_INT(parse("deployments: {a: 1}\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments: expected a list", 1, 14);
		CHECK_INT(parse("deployments:\n  - just a string\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0]: expected a mapping", 2,
		    5);
		CHECK_INT(parse("- a\n- b\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "must be a mapping", 1, 1);
		CHECK_INT(parse(with_deps("issues:\n  patterns: {a: b}\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "issues.patterns: expected a string or a "
		    "list", 2, 13);
		CHECK_INT(parse(with_deps("deployments: []\nlog_level: loud\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments: duplicate key (first at "
		    "line 1)", 3, 1);
		EXPECT_DIAG(BS_DIAG_ERROR, "log_level: unknown level 'loud'", 2, 12);
	}

	TEST("bad urls") {
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: ftp://x\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "sleuth.base_url: expected http(s)://", 2,
		    13);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: https://\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "sleuth.base_url", 2, 13);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://127.0.0.1:9/"
		    "x\n")), 0);
		/* Plain http only to this machine: the token would go in clear. */
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://sleuth.example"
		    "\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "sleuth.base_url: http:// would send the "
		    "Sleuth token in clear", 2, 13);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://127.1.2.3\n")),
		    0);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://[::1]:8080/"
		    "\n")), 0);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: HTTP://LocalHost:9"
		    "\n")), 0);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://128.0.0.1\n")),
		    -1);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://127.0.0.1.ex"
		    "ample.com\n")), -1);
		CHECK_INT(parse(with_deps("sleuth:\n  base_url: http://[::2]\n")), -1);
		CHECK_INT(parse(with_deps("\n\nredis:\n  url: http://x\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.url: ", 4, 8);
		CHECK_INT(parse(with_deps("redis:\n  url: redis://:pw@host:6379/0"
		    "\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.url: secrets come from the "
		    "environment: use password_env", 2, 8);
		CHECK_INT(parse(with_deps("redis:\n  prefix: \"a b\"\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "redis.prefix: must be", 2, 11);
		CHECK_INT(parse(with_deps("issues:\n  url: https://x/browse\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.url: has no {key}", 2, 8);
		CHECK_INT(parse(with_deps("queue:\n  content_dedupe_window: 15m\n")),
		    0);
		CHECK_INT(cfg.queue.content_dedupe_window_s, 900);
		CHECK_INT(diags.warnings, 0);
		CHECK_INT(parse(with_deps("queue:\n  content_dedupe_window: 0\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "queue.content_dedupe_window: 0 s is out "
		    "of range", 2, 26);
		CHECK_INT(parse(with_deps("queue:\n  content_dedupe_window: 30s\n")),
		    0);
		EXPECT_DIAG(BS_DIAG_WARNING, "queue.content_dedupe_window (30 s) is "
		    "below 5 minutes", 2, 26);
		CHECK_INT(parse(with_deps("queue:\n  seen_ttl: 1h\n"
		    "  content_dedupe_window: 2h\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "queue.content_dedupe_window (7200 s) is "
		    "above queue.seen_ttl (3600 s)", 3, 26);
	}

	TEST("listen must be host:port") {
		static const char *const bad[] = { "8080", "localhost", ":8080",
			"host:", "host:99999", "host:-1", "[::1]8080", "host:80x", "::1:80",
			"[::1]:80:90", "a b:80", "" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char head[128];
			snprintf(head, sizeof(head), "listen: \"%s\"\n", bad[i]);
			CHECK_INT(parse(with_deps(head)), -1);
			EXPECT_DIAG(BS_DIAG_ERROR, "listen: expected host:port", 1, 9);
		}
		CHECK_INT(parse(with_deps("listen: \"[::1]:0\"\n")), 0);
		CHECK_STR(cfg.listen_host, "::1");
		CHECK_INT(cfg.listen_port, 0);
		CHECK_INT(parse(with_deps("listen: 0.0.0.0:9000\n")), 0);
		CHECK_STR(cfg.listen_host, "0.0.0.0");
		CHECK_INT(cfg.listen_port, 9000);
	}

	TEST("source allow-list and trusted proxies") {
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_cidrs:\n"
		    "    - 192.0.2.0/24\n    - \"2001:db8::/32\"\n    - 198.51.100.7\n"
		    "http:\n  trusted_proxies: [10.0.0.0/8, \"::1\"]\n")), 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.bitbucket.n_allow_cidrs, 3);
		CHECK_INT(cfg.http.n_trusted_proxies, 2);
		if (cfg.bitbucket.n_allow_cidrs == 3 && cfg.http.n_trusted_proxies == 2) {
			CHECK_INT(cfg.bitbucket.allow_cidrs[0].bits, 96 + 24);
			CHECK_INT(cfg.bitbucket.allow_cidrs[1].bits, 32);
			CHECK_INT(cfg.bitbucket.allow_cidrs[2].bits, 128);
			CHECK_INT(cfg.http.trusted_proxies[1].bits, 128);
			unsigned char a[16];
			CHECK_INT(bs_cidr_addr16("192.0.2.200", 11, a), 0);
			CHECK(bs_cidr_match16(cfg.bitbucket.allow_cidrs,
			    cfg.bitbucket.n_allow_cidrs, a));
			CHECK_INT(bs_cidr_addr16("192.0.3.1", 9, a), 0);
			CHECK(!bs_cidr_match16(cfg.bitbucket.allow_cidrs,
			    cfg.bitbucket.n_allow_cidrs, a));
		}
		/* One range as a string; an empty list is the default. */
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_cidrs: 192.0.2.0/24\n"
		    "http:\n  trusted_proxies: []\n")), 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(cfg.bitbucket.n_allow_cidrs, 1);
		CHECK_INT(cfg.http.n_trusted_proxies, 0);
		/* Each bad entry at its place, with bs_cidr_parse's reason. */
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_cidrs:\n"
		    "    - 192.0.2.0/24\n    - 2001:db8::/129\n    - 10.0.0.1/8\n"
		    "    - not-an-ip\n    - 2001:db8::1/32\n    -\n    - [a]\n"
		    "http:\n  trusted_proxies: [\"10.0.0.0/8 \"]\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[1]: '2001:db8::/129': "
		    "prefix length out of range (0..128 for IPv6)", 4, 7);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[2]: '10.0.0.1/8': "
		    "host bits set beyond the prefix (did you mean 10.0.0.0/8?)", 5, 7);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[3]: 'not-an-ip': "
		    "bad address", 6, 7);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[4]: '2001:db8::1/32': "
		    "host bits set beyond the prefix (did you mean 2001:db8::/32?)", 7, 7);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[5]: expected an "
		    "address range like 192.0.2.0/24 or 2001:db8::/32, got null", 8, 0);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.allow_cidrs[6]: expected an "
		    "address range like 192.0.2.0/24 or 2001:db8::/32, got a list", 9, 7);
		EXPECT_DIAG(BS_DIAG_ERROR, "http.trusted_proxies[0]: '10.0.0.0/8 ': "
		    "stray text after the prefix length", 11, 21);
		CHECK_INT(diags.errors, 7);
		CHECK_INT(cfg.bitbucket.n_allow_cidrs, 1);
		CHECK_INT(parse(with_deps("http:\n  trusted_proxies:\n    a: b\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "http.trusted_proxies: expected a list of "
		    "address ranges like 192.0.2.0/24, got a mapping", 3, 5);
		/* Trusted proxies without an allow-list: a warning. */
		CHECK_INT(parse(with_deps("http:\n  trusted_proxies:\n    - "
		    "10.0.0.0/8\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "http.trusted_proxies is set but "
		    "bitbucket.allow_cidrs is empty (every source is allowed): "
		    "X-Forwarded-For has no effect", 3, 5);
		CHECK_INT(diags.n, 1);
		CHECK_INT(parse(with_deps("http:\n  trusted_proxies: [10.0.0.0/8]\n"
		    "bitbucket:\n  allow_cidrs: [192.0.2.0/24]\n")), 0);
		CHECK_INT(diags.n, 0);
	}

	TEST("bad regex in issues.patterns") {
		CHECK_INT(parse(with_deps(
		    "issues:\n"
		    "  patterns:\n"
		    "    - jira\n"
		    "    - \"ab(c\"\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "issues.patterns[1]: bad regex: missing "
		    "closing parenthesis at offset 4", 4, 7);
		CHECK_INT(parse(with_deps("issues:\n  patterns: [jira, \"(x+x+)+y\", "
		    "\"OPS-(?<key>[0-9]+)\"]\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.patterns[1]: a quantified group",
		    2, 20);
		/* It also finds nothing in the sample text; OPS-(..) does. */
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.patterns[1]: issue pattern 1 "
		    "matches nothing", 2, 20);
		CHECK_INT(diags.n, 2);
		CHECK_INT(cfg.issues.n_patterns, 3);
		CHECK_INT(parse(with_deps("issues:\n  patterns: \"(?:ab)+\\\\(x+\\\\)+\"\n")),
		    0);
		CHECK(find("a quantified group") == NULL);
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.patterns[0]: issue pattern 0 "
		    "matches nothing in the sample text", 2, 13);
		CHECK_INT(diags.n, 1);
		CHECK_INT(parse(with_deps("issues:\n  projects: [SHOP, \"OPS-1\"]\n")),
		    -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "issues.projects[1]", 2, 20);
	}

	TEST("issue patterns that match nothing in the sample text") {
		CHECK_INT(parse(with_deps(
		    "issues:\n"
		    "  patterns:\n"
		    "    - jira\n"
		    "    - bitbucket\n"
		    "    - \"TICKET:(?<key>[0-9]+)\"\n"
		    "    - \"(?<key>[A-Z]+-[0-9]+)\"\n"
		    "    - \"\\\\[(?<key>[A-Z]+-[0-9]+)\\\\]\"\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.patterns[2]: issue pattern 2 "
		    "matches nothing in the sample text", 5, 7);
		CHECK_INT(diags.warnings, 1);
		CHECK_INT(diags.errors, 0);
		/* A lone pattern written as a string; the place is the string. */
		CHECK_INT(parse(with_deps("issues:\n  patterns: \"zzz-(?<key>[0-9]+)\"\n")),
		    0);
		EXPECT_DIAG(BS_DIAG_WARNING, "issues.patterns[0]: issue pattern 0 "
		    "matches nothing", 2, 13);
		CHECK_INT(diags.n, 1);
		/* The projects allow-list does not count: jira still matches. */
		CHECK_INT(parse(with_deps("issues:\n  patterns: [jira]\n  projects: "
		    "[NOPE]\n")), 0);
		CHECK_INT(diags.n, 0);
		/* A bad regex is an error only, not also "matches nothing". */
		CHECK_INT(parse(with_deps("issues:\n  patterns: [\"(zz\"]\n")), -1);
		CHECK(find("matches nothing") == NULL);
		CHECK_INT(diags.n, 1);
	}

	TEST("branch names git refuses can never match") {
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    branch:\n"
		    "      - \"feature one\"\n"
		    "      - fix~1\n"
		    "      - a^b\n"
		    "      - \"x:y\"\n"
		    "      - a..b\n"
		    "      - 'a\\b'\n"
		    "      - main.lock\n"
		    "      - release/\n"
		    "      - \"release/*\"\n"
		    "      - \"hotfix/[0-9]*\"\n"
		    "      - feature/SHOP-1_ok.v2\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "deployments[0].branch: 'feature one' can "
		    "never match: git refuses branch names with a space", 7, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'fix~1' can never match: git refuses "
		    "branch names with '~'", 8, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'a^b' can never match: git refuses "
		    "branch names with '^'", 9, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'x:y' can never match: git refuses "
		    "branch names with ':'", 10, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'a..b' can never match: git refuses "
		    "branch names with '..'", 11, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'a\\b' can never match: git refuses "
		    "branch names with '\\'", 12, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'main.lock' can never match: git refuses "
		    "branch names ending in '.lock'", 13, 9);
		EXPECT_DIAG(BS_DIAG_WARNING, "'release/' can never match: git refuses "
		    "branch names ending in '/'", 14, 9);
		CHECK_INT(diags.warnings, 8);
		CHECK_INT(diags.errors, 0);
		/* A single name: the place is the scalar. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    branch: \"my branch\"\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "deployments[0].branch: 'my branch' can "
		    "never match", 6, 13);
		CHECK_INT(diags.n, 1);
		/* track: tag ignores branch (one warning that says so, not
		 * "never match"); good names and globs are quiet. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    track: tag\n"
		    "    tag_pattern: \"v*\"\n"
		    "    branch: \"my branch\"\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: q\n"
		    "    branch: [main, \"release/*\", feature/x.y, \"[^x]*\", "
		    "'hot\\*fix', \"v[0-9]*/\"]\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "deployments[0].branch: ignored with "
		    "track: tag", 8, 13);
		CHECK(find("never match") == NULL);
		CHECK_INT(diags.n, 1);
		/* A glob is judged by what no branch name can hold anywhere. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: q\n"
		    "    branch: [\"a b*\", \"rel*:x\", \"v*..*\", \"/x*\"]\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "'a b*' can never match: git refuses "
		    "branch names with a space", 6, 14);
		EXPECT_DIAG(BS_DIAG_WARNING, "'rel*:x' can never match", 6, 22);
		EXPECT_DIAG(BS_DIAG_WARNING, "'v*..*' can never match", 6, 32);
		EXPECT_DIAG(BS_DIAG_WARNING, "'/x*' can never match: git refuses "
		    "branch names starting with '/'", 6, 41);
		CHECK_INT(diags.n, 4);
	}

	TEST("previous secret for a rotation") {
		setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
		unsetenv("BS_T_OLD");
		/* Named but unset: no rotation under way, nothing to say. */
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_previous_env: "
		    "BS_T_OLD\n")), 0);
		CHECK(cfg.bitbucket.secret_previous == NULL);
		CHECK_INT(diags.n, 0);
		setenv("BS_T_OLD", "old", 1);
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_previous_env: "
		    "BS_T_OLD\n")), 0);
		CHECK_STR(cfg.bitbucket.secret_previous, "old");
		EXPECT_DIAG(BS_DIAG_WARNING, "rotating: deliveries signed with the "
		    "previous secret (BS_T_OLD) are still accepted", 2, 24);
		/* The old secret without a new one is a mistake. */
		unsetenv("BITBUCKET_WEBHOOK_SECRET");
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_unsigned: true\n"
		    "  secret_previous_env: BS_T_OLD\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.secret_previous_env is set but "
		    "the current secret (BITBUCKET_WEBHOOK_SECRET) is not", 3, 24);
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_previous_env: "
		    "\"abc def\"\n  allow_unsigned: true\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.secret_previous_env: must name "
		    "an environment variable", 2, 24);
		unsetenv("BS_T_OLD");
		setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
	}

	TEST("missing secret variables") {
		unsetenv("BITBUCKET_WEBHOOK_SECRET");
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_unsigned: false\n")),
		    -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "environment variable "
		    "BITBUCKET_WEBHOOK_SECRET (bitbucket.secret_env) is not set", 2, 3);
		CHECK_INT(parse(base_deps), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "BITBUCKET_WEBHOOK_SECRET", 0, 0);
		CHECK_INT(parse(with_deps("bitbucket:\n  allow_unsigned: true\n")), 0);
		CHECK(cfg.bitbucket.secret == NULL);
		/* Legal, but worth a warning: nothing is checked. */
		EXPECT_DIAG(BS_DIAG_WARNING, "environment variable "
		    "BITBUCKET_WEBHOOK_SECRET (bitbucket.secret_env) is not set: with "
		    "allow_unsigned: true every delivery is accepted without a "
		    "signature check", 2, 19);
		CHECK_INT(diags.n, 1);
		setenv("BITBUCKET_WEBHOOK_SECRET", "", 1);   /* empty = unset */
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_env: "
		    "BITBUCKET_WEBHOOK_SECRET\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "is not set", 2, 15);
		setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_env: "
		    "\"abc def\"\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.secret_env: must name an "
		    "environment variable", 2, 15);

		unsetenv("SLEUTH_API_TOKEN");
		CHECK_INT(parse(with_deps("sleuth:\n  token_env: SLEUTH_API_TOKEN\n")),
		    -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "environment variable SLEUTH_API_TOKEN "
		    "(sleuth.token_env) is not set", 2, 14);
		CHECK_INT(parse(with_deps("sleuth:\n  dry_run: true\n")), 0);
		CHECK(cfg.sleuth.token == NULL);
		EXPECT_DIAG(BS_DIAG_WARNING, "environment variable SLEUTH_API_TOKEN "
		    "(sleuth.token_env) is not set: fine while the deployments that "
		    "use it are dry_run", 2, 0);
		CHECK_INT(diags.n, 1);
		/* A dry-run deployment's own unset token_env: a warning too. */
		CHECK_INT(parse(
		    "sleuth: {token_env: BS_TEST_UNSET2, dry_run: false}\n"
		    "deployments:\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p, dry_run: true, token_env: BS_TEST_UNSET}\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "environment variable BS_TEST_UNSET "
		    "(deployments[0].token_env) is not set: fine while the "
		    "deployment is dry_run", 3, 0);
		CHECK_INT(diags.n, 1);
		/* One deployment dry_run, the other not: still an error. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p, dry_run: true}\n"
		    "  - {org: a, deployment: c, repository: a/b, branch: m, "
		    "environment: p}\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "SLEUTH_API_TOKEN", 0, 0);
		/* A deployment's own token_env. */
		CHECK_INT(parse(
		    "sleuth: {dry_run: true}\n"
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    branch: m\n"
		    "    environment: p\n"
		    "    dry_run: false\n"
		    "    token_env: BS_TEST_UNSET\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "environment variable BS_TEST_UNSET "
		    "(deployments[0].token_env) is not set", 9, 16);
		/* The index is the one in the file, also after a bad item. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - nonsense\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p, token_env: BS_TEST_UNSET}\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "BS_TEST_UNSET (deployments[1].token_env)",
		    3, 84);
		setenv("BS_TEST_UNSET", "dtok", 1);
		CHECK_INT(parse(
		    "sleuth: {dry_run: true}\n"
		    "deployments:\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p, dry_run: false, token_env: BS_TEST_UNSET}\n"),
		    0);
		CHECK_STR(cfg.deployments[0].token, "dtok");
		unsetenv("BS_TEST_UNSET");
		setenv("SLEUTH_API_TOKEN", "tok", 1);

		CHECK_INT(parse(with_deps("redis:\n  password_env: BS_TEST_UNSET\n")),
		    -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "BS_TEST_UNSET (redis.password_env) is not "
		    "set", 2, 17);
		setenv("BS_TEST_UNSET", "rpw", 1);
		CHECK_INT(parse(with_deps("redis:\n  password_env: BS_TEST_UNSET\n")),
		    0);
		CHECK_STR(cfg.redis.password, "rpw");
		unsetenv("BS_TEST_UNSET");
	}

	TEST("each command needs only the secrets it uses") {
		const char *yaml =
		    "sleuth: {token_env: BS_TEST_TOK}\n"
		    "redis: {password_env: BS_TEST_RPW}\n"
		    "deployments:\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p}\n"
		    "  - {org: a, deployment: c, repository: a/b, branch: m, "
		    "environment: q, token_env: BS_TEST_TOK2}\n";
		unsetenv("BITBUCKET_WEBHOOK_SECRET");
		unsetenv("BS_TEST_TOK");
		unsetenv("BS_TEST_TOK2");
		unsetenv("BS_TEST_RPW");
		struct {
			unsigned uses;
			size_t errors;
			const char *first;
		} cases[] = {
			{ BS_USES_ALL, 4, "BITBUCKET_WEBHOOK_SECRET" },
			{ BS_USES_INGEST | BS_USES_REDIS, 2, "BITBUCKET_WEBHOOK_SECRET" },
			{ BS_USES_WORKER | BS_USES_REDIS, 3, "BS_TEST_TOK" },
			{ BS_USES_REDIS, 1, "BS_TEST_RPW" },
			{ 0, 0, NULL },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			bs_config_release(&cfg);
			bs_diags_release(&diags);
			bs_diags_init(&diags);
			int rc = bs_config_parse_for("t.yaml", yaml, strlen(yaml),
			    cases[i].uses, &cfg, &diags);
			CHECK_INT(rc, cases[i].errors ? -1 : 0);
			CHECK_INT(diags.errors, cases[i].errors);
			/* What a command does not use is not even a warning. */
			CHECK_INT(diags.warnings, 0);
			if (cases[i].first)
				CHECK(find(cases[i].first) != NULL);
			if (!(cases[i].uses & BS_USES_INGEST))
				CHECK(find("BITBUCKET_WEBHOOK_SECRET") == NULL);
			if (!(cases[i].uses & BS_USES_WORKER))
				CHECK(find("BS_TEST_TOK") == NULL);
		}
		/* Set secrets are resolved whatever the command uses. */
		setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
		setenv("BS_TEST_TOK", "t1", 1);
		bs_config_release(&cfg);
		bs_diags_release(&diags);
		bs_diags_init(&diags);
		CHECK_INT(bs_config_parse_for("t.yaml", yaml, strlen(yaml), 0, &cfg,
		    &diags), 0);
		CHECK_STR(cfg.bitbucket.secret, "s3cret");
		CHECK_STR(cfg.sleuth.token, "t1");
		unsetenv("BS_TEST_TOK");
		setenv("SLEUTH_API_TOKEN", "tok", 1);
	}

	TEST("a secret written into a *_env key is refused") {
		/* Valid variable-name syntax, but no such variable and it reads
		 * like a token: an error even where an unset variable is legal. */
		CHECK_INT(parse(
		    "sleuth: {dry_run: true}\n"
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    branch: m\n"
		    "    environment: p\n"
		    "    token_env: a8F3kq92LmZx0PqRt7Vw\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].token_env: names no set "
		    "variable and looks like the token itself", 8, 16);
		CHECK(find("a8F3kq92") == NULL);
		CHECK_INT(parse(with_deps("sleuth:\n  token_env: "
		    "sk9f8e7d6c5b4a3f2e1d0c9b\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "sleuth.token_env: names no set variable "
		    "and looks like the secret itself", 2, 14);
		CHECK_INT(parse(with_deps("bitbucket:\n  secret_env: "
		    "Hunter2Hunter2Hunter2x\n  allow_unsigned: true\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.secret_env: names no set "
		    "variable", 2, 15);
		/* A token-looking value that is set as a variable is a name. */
		setenv("sk9f8e7d6c5b4a3f2e1d0c9b", "tok", 1);
		CHECK_INT(parse(with_deps("sleuth:\n  token_env: "
		    "sk9f8e7d6c5b4a3f2e1d0c9b\n")), 0);
		unsetenv("sk9f8e7d6c5b4a3f2e1d0c9b");
		/* Ordinary names are never judged so. */
		CHECK_INT(parse(with_deps("sleuth:\n  token_env: "
		    "SLEUTH_TOKEN_FOR_ACME_PRODUCTION\n  dry_run: true\n")), 0);
		CHECK(find("looks like") == NULL);
	}

	TEST("literal secrets are refused") {
		CHECK_INT(parse(with_deps("bitbucket:\n  secret: hunter2\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "bitbucket.secret: secrets come from the "
		    "environment: use secret_env", 2, 3);
		CHECK(find("hunter2") == NULL);
		CHECK_INT(parse(with_deps("sleuth:\n  token: abc\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "use token_env", 2, 3);
		CHECK_INT(parse(with_deps("redis:\n  password: abc\n")), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "use password_env", 2, 3);
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    branch: m\n"
		    "    environment: p\n"
		    "    api_key: abc\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].api_key: secrets come from "
		    "the environment", 7, 5);
	}

	TEST("deployment checks") {
		/* Body limit below 256 KiB: warning only. */
		CHECK_INT(parse(with_deps("http:\n  max_body: 100KiB\n")), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "http.max_body: 102400 bytes is below "
		    "256 KiB", 2, 13);

		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    track: tag\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "track: tag without tag_pattern", 6, 12);
		CHECK_STR(cfg.deployments[0].tag_pattern, "*");
		CHECK_INT(cfg.deployments[0].track, BS_TRACK_TAG);

		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    branch: main\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/c\n"
		    "    environment: p\n"
		    "    branch: dev\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "deployments[1]: same org, deployment "
		    "and environment as the deployment at line 2", 7, 5);

		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: a\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    branch: []\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].branch: empty list: no "
		    "branch can match", 6, 13);

		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: \"a b\"\n"
		    "    deployment: x/y\n"
		    "    repository: nodash\n"
		    "    environment: prod!\n"
		    "    branch: main\n"
		    "    track: deploy\n"
		    "    tags: [\"Hot Fix\"]\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].org: 'a b' is not a "
		    "Sleuth slug", 2, 10);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].deployment: 'x/y' is not "
		    "a Sleuth slug", 3, 17);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].environment: 'prod!'", 5,
		    18);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].repository: expected", 4,
		    17);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].track: expected push, "
		    "merge or tag, got 'deploy'", 7, 12);
		EXPECT_DIAG(BS_DIAG_ERROR, "deployments[0].tags: 'Hot Fix' is not a "
		    "Sleuth tag", 8, 12);
		CHECK_INT(diags.errors, 6);
		/* Sorted by line. */
		for (size_t i = 1; i < diags.n; i++)
			CHECK(diags.items[i - 1].line <= diags.items[i].line);

		CHECK_INT(parse(
		    "deployments:\n"
		    "  - org: Acme\n"
		    "    deployment: b\n"
		    "    repository: a/b\n"
		    "    environment: p\n"
		    "    branch: main\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "Sleuth slugs are lower-case", 2, 10);
	}

	TEST("yaml syntax errors give one diag at the parser's place") {
		CHECK_INT(parse("redis:\n  url: [a, b\nlisten: x\n"), -1);
		CHECK_INT(diags.n, 1);
		CHECK(strncmp(diags.items[0].message, "yaml: ", 6) == 0);
		CHECK_INT(diags.items[0].line, 3);
		CHECK_INT(parse("a: b\n c: d\n"), -1);
		CHECK_INT(diags.n, 1);
		CHECK_INT(diags.items[0].line, 2);
		CHECK_INT(parse("a: &x [1]\nb: *x\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "aliases", 2, 4);
		CHECK_INT(parse("a: 1\n---\nb: 2\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "only one yaml document", 2, 1);
		CHECK_INT(parse("? [a]\n: 1\n"), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "mapping keys must be plain strings", 1, 3);
	}

	TEST("empty file: defaults and a warning") {
		CHECK_INT(parse(""), 0);
		CHECK_INT(diags.errors, 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "no deployments", 0, 0);
		CHECK_INT(cfg.n_deployments, 0);
		CHECK_INT(parse("# only a comment\n"), 0);
		CHECK_INT(parse("deployments: []\n"), 0);
		EXPECT_DIAG(BS_DIAG_WARNING, "no deployments", 0, 0);
	}

	TEST("bs_diags_print format") {
		CHECK_INT(parse(with_deps("redis:\n  prefx: x\nhttp:\n  max_body: "
		    "1KiB\n")), -1);
		char *buf = NULL;
		size_t sz = 0;
		FILE *f = open_memstream(&buf, &sz);
		bs_diags_print(&diags, "conf.yaml", f);
		fclose(f);
		CHECK_STR(buf, "conf.yaml:2:3: error: redis.prefx: unknown key (did "
		    "you mean 'prefix'?)\nconf.yaml:4:13: warning: http.max_body: "
		    "1024 bytes is below 256 KiB: Bitbucket payloads up to 256 KB "
		    "would be refused\n");
		free(buf);
	}

	TEST("missing file") {
		bs_config_release(&cfg);
		bs_diags_release(&diags);
		bs_diags_init(&diags);
		CHECK_INT(bs_config_load("/nonexistent/x.yaml", &cfg, &diags), -1);
		EXPECT_DIAG(BS_DIAG_ERROR, "cannot open: No such file", 0, 0);
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	return TEST_REPORT();
}
