/* test_stop_list: the issues.stop_list key: absent (or "stop_list:") is
 * the built-in list, [] is none, a list replaces it; the scanner built from
 * the config (bs_config_scanner) applies it; bad values are errors at
 * their line. */
#include "config/live.h"
#include "parsers/stop_list.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"

static const char deps[] =
    "deployments:\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, "
    "branch: main, environment: production}\n";

/* Parses "issues:\n" + issues + deps; returns the rc. */
static int
parse(const char *issues)
{
	char head[2048];
	snprintf(head, sizeof(head), "issues:\n%s", issues);
	int rc = fixture_parse(head, deps, BS_USES_ALL);
	if (rc != 0)
		bs_diags_print(&diags, "t.yaml", stderr);
	return rc;
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

/* Keys the config's scanner finds in text (-1 when it cannot be built). */
static int
keys_in(const char *text)
{
	char err[256];
	struct bs_scanner *s = bs_config_scanner(&cfg, err, sizeof(err));
	if (!s)
		return -1;
	int n = 0;
	bs_scanner_scan(s, text, strlen(text), count_key, &n);
	bs_scanner_free(s);
	return n;
}

int
main(void)
{
	bs_diags_init(&diags);
	setenv("BITBUCKET_WEBHOOK_SECRET", "s3cret", 1);
	setenv("SLEUTH_API_TOKEN", "tok", 1);
	static const char tokens[] = "UTF-8 SHA-256 ISO-8601 CVE-2024-1 SHOP-12";

	TEST("absent: the built-in list") {
		CHECK_INT(parse("  patterns: [jira]\n"), 0);
		CHECK(cfg.issues.stop_list == NULL);
		CHECK_INT(cfg.issues.n_stop_list, 0);
		CHECK_INT(keys_in(tokens), 1);
		/* "stop_list:" (null) keeps the default too. */
		CHECK_INT(parse("  stop_list:\n"), 0);
		CHECK(cfg.issues.stop_list == NULL);
		CHECK_INT(keys_in(tokens), 1);
	}

	TEST("[]: no stop-list") {
		CHECK_INT(parse("  stop_list: []\n"), 0);
		CHECK(cfg.issues.stop_list != NULL);
		CHECK_INT(cfg.issues.n_stop_list, 0);
		CHECK_INT(diags.n, 0);
		CHECK_INT(keys_in(tokens), 5);
	}

	TEST("a list replaces the built-in one") {
		CHECK_INT(parse("  stop_list: [LEGACY, \"utf-8\"]\n"), 0);
		CHECK_INT(cfg.issues.n_stop_list, 2);
		if (cfg.issues.n_stop_list == 2) {
			CHECK_STR(cfg.issues.stop_list[0], "LEGACY");
			CHECK_STR(cfg.issues.stop_list[1], "utf-8");
		}
		/* UTF-8 and LEGACY-3 dropped; SHA-256 etc. are back. */
		CHECK_INT(keys_in("UTF-8 LEGACY-3 SHA-256 SHOP-12"), 2);
		/* A single entry as a string, like the other lists. */
		CHECK_INT(parse("  stop_list: RFC\n"), 0);
		CHECK_INT(cfg.issues.n_stop_list, 1);
		CHECK_INT(keys_in("RFC-7231 UTF-8"), 1);
	}

	TEST("projects beat the stop-list") {
		CHECK_INT(parse("  projects: [UTF, SHOP]\n"), 0);
		CHECK_INT(keys_in(tokens), 2);       /* UTF-8, SHOP-12 */
	}

	TEST("bad values are errors at their line") {
		CHECK_INT(parse("  patterns: [jira]\n  stop_list: {a: 1}\n"), -1);
		const struct bs_diag *d = find("issues.stop_list: expected a string "
		    "or a list of strings, got a mapping");
		CHECK(d != NULL);
		if (d)
			CHECK_INT(d->line, 3);
		CHECK_INT(parse("  stop_list:\n    - RFC\n    - [x]\n"), -1);
		d = find("issues.stop_list[1]: expected a string");
		CHECK(d != NULL);
		if (d)
			CHECK_INT(d->line, 4);
		CHECK_INT(parse("  stop_list: [RFC, \"\", \"UTF 8\"]\n"), -1);
		CHECK_INT(diags.errors, 2);
		d = find("issues.stop_list[1]: an entry is a project");
		CHECK(d != NULL);
		if (d)
			CHECK_INT(d->line, 2);
		CHECK(find("issues.stop_list[2]") != NULL);
		CHECK_INT(parse("  stop_lst: []\n"), -1);
		CHECK(find("did you mean") != NULL);
	}

	TEST("the built-in list is well-formed") {
		size_t n = 0;
		const char *const *l = bs_stop_list_builtin(&n);
		CHECK(n >= 40);
		for (size_t i = 0; i < n; i++) {
			CHECK(l[i] != NULL && l[i][0] != '\0');
			CHECK(strchr(l[i], ' ') == NULL);
		}
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	return TEST_REPORT();
}
