/* test_live: the configuration in force and its scanner: a reload that
 * loads replaces both, one with errors or a bad pattern keeps both, the
 * bound listen port survives, and every config is freed once (ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/live.h"
#include "tests/unit/test.h"

static char path[64];

static void
write_config(const char *issues, const char *branch)
{
	char text[4096];
	snprintf(text, sizeof(text),
	    "listen: 127.0.0.1:0\n"
	    "issues:\n  %s\n"
	    "deployments:\n"
	    "  - org: acme\n"
	    "    deployment: shop-web\n"
	    "    repository: acme/shop\n"
	    "    branch: %s\n"
	    "    environment: production\n", issues, branch);
	bs_test_write_file(path, text);
}

static void
count_key(const char *key, size_t len, size_t pattern, size_t start,
    void *arg)
{
	(void)key;
	(void)len;
	(void)pattern;
	(void)start;
	(*(int *)arg)++;
}

static int
keys_in(const struct bs_live *l, const char *text)
{
	int n = 0;
	bs_scanner_scan(l->scanner, text, strlen(text), count_key, &n);
	return n;
}

int
main(void)
{
	snprintf(path, sizeof(path), "/tmp/bs-test-live-%ld.yaml", (long)getpid());
	const unsigned uses = BS_USES_REDIS;
	struct bs_config *first = calloc(1, sizeof(*first));
	struct bs_diags d;
	write_config("patterns: [jira]", "main");
	bs_diags_init(&d);
	CHECK_INT(bs_config_load_for(path, uses, first, &d), 0);
	bs_diags_release(&d);
	first->listen_port = 43210;     /* as if bound to a free port */
	char err[256] = "";
	struct bs_live *l = bs_live_new(first, path, uses, err, sizeof(err));
	CHECK(l != NULL);
	if (!l)
		return TEST_REPORT();

	TEST("the first config and its scanner are in force") {
		CHECK(l->cfg == first);
		CHECK_INT(keys_in(l, "SHOP-12 fix"), 1);
		CHECK_INT(keys_in(l, "#34 fix"), 0);
	}
	TEST("a reload replaces config and scanner, keeps the bound port") {
		write_config("patterns: [jira, bitbucket]", "release");
		CHECK_INT(bs_live_reload(l), 0);
		CHECK(l->cfg != first);
		CHECK_STR(l->cfg->deployments[0].branches[0], "release");
		CHECK_INT(l->cfg->listen_port, 43210);
		CHECK_INT(keys_in(l, "#34 fix"), 1);
		/* the caller's config is untouched and still readable */
		CHECK_STR(first->deployments[0].branches[0], "main");
	}
	TEST("a file with errors is refused and the running config stays") {
		const struct bs_config *before = l->cfg;
		write_config("patterns: [jira", "main");   /* unclosed list */
		CHECK_INT(bs_live_reload(l), -1);
		CHECK(l->cfg == before);
		CHECK_STR(l->cfg->deployments[0].branches[0], "release");
	}
	TEST("a pattern that does not compile is refused") {
		const struct bs_config *before = l->cfg;
		write_config("patterns: [\"([A-Z]+\"]", "main");
		CHECK_INT(bs_live_reload(l), -1);
		CHECK(l->cfg == before);
		CHECK_INT(keys_in(l, "#34 fix"), 1);
	}
	TEST("reloads in a row retire the replaced configs") {
		for (int i = 0; i < 5; i++) {
			write_config("patterns: [jira]", i % 2 ? "main" : "dev");
			CHECK_INT(bs_live_reload(l), 0);
		}
		CHECK_STR(l->cfg->deployments[0].branches[0], "dev");
		CHECK_INT(keys_in(l, "#34 and SHOP-1"), 1);
	}
	TEST("topology, WAIT and shards need a restart: the running ones stay") {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fprintf(f,
			    "listen: 127.0.0.1:0\n"
			    "redis:\n"
			    "  cluster: [10.0.0.1:6379, 10.0.0.2:6379]\n"
			    "  wait_replicas: 1\n"
			    "  wait_timeout_ms: 500\n"
			    "queue: {shards: 3}\n"
			    "deployments:\n"
			    "  - {org: acme, deployment: shop-web, repository: "
			    "acme/shop, branch: hotfix, environment: production}\n");
			fclose(f);
		}
		const char *url = l->cfg->redis.url;
		char *keep = url ? strdup(url) : NULL;
		CHECK_INT(bs_live_reload(l), 0);
		/* what is not bound is in force */
		CHECK_STR(l->cfg->deployments[0].branches[0], "hotfix");
		/* what is bound stays as it runs */
		CHECK_STR(l->cfg->redis.url, keep);
		CHECK_INT(l->cfg->redis.n_cluster, 0);
		CHECK(l->cfg->redis.cluster == NULL);
		CHECK_INT(l->cfg->redis.wait_replicas, 0);
		CHECK_INT(l->cfg->redis.wait_timeout_ms, 1000);
		CHECK_INT(l->cfg->queue.shards, 1);
		free(keep);
		/* again from the same file: still the running values */
		CHECK_INT(bs_live_reload(l), 0);
		CHECK_INT(l->cfg->queue.shards, 1);
		CHECK(l->cfg->redis.url != NULL);
	}
	TEST("bs_config_scanner reports a bad pattern") {
		struct bs_config *c = calloc(1, sizeof(*c));
		write_config("patterns: [jira]", "main");
		bs_diags_init(&d);
		CHECK_INT(bs_config_load_for(path, uses, c, &d), 0);
		bs_diags_release(&d);
		char bad_pattern[] = "([";
		char *bad = bad_pattern;
		char **saved = c->issues.patterns;
		c->issues.patterns = &bad;
		c->issues.n_patterns = 1;
		err[0] = '\0';
		CHECK(bs_config_scanner(c, err, sizeof(err)) == NULL);
		CHECK(err[0] != '\0');
		c->issues.patterns = saved;
		bs_config_release(c);
		free(c);
	}
	bs_live_free(l);
	bs_config_release(first);
	free(first);
	unlink(path);
	return TEST_REPORT();
}
