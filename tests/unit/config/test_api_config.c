/* test_api_config: bitbucket.api.* and backfill.*: defaults, credentials
 * from the environment (token or username + app password, never both),
 * http:// only to a loopback address, and the waits against
 * worker.visibility_timeout, each error at its line. */
#include <stdlib.h>

#include "config/config.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"


static const char deps[] =
    "deployments:\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, "
    "branch: main, environment: production}\n";

static int
parse(const char *text)
{
	return fixture_parse(text, deps, BS_USES_WORKER);
}

int
main(void)
{
	bs_diags_init(&diags);
	setenv("SLEUTH_API_TOKEN", "sleuth-tok", 1);
	setenv("BS_T_BB_TOKEN", "tok-123", 1);
	setenv("BS_T_BB_PASS", "pass-456", 1);
	unsetenv("BS_T_UNSET");

	TEST("defaults: Cloud's API, no credentials, 500/h, 30 s wait") {
		CHECK_INT(parse(""), 0);
		CHECK_STR(cfg.bitbucket.api.cloud_url, "https://api.bitbucket.org");
		CHECK(cfg.bitbucket.api.server_url == NULL);
		CHECK(cfg.bitbucket.api.token == NULL);
		CHECK_INT(cfg.bitbucket.api.requests_per_hour, 500);
		CHECK_INT(cfg.bitbucket.api.burst, 20);
		CHECK_INT(cfg.backfill.max_commits, 1000);
		CHECK_INT(cfg.backfill.max_wait_ms, 30000);
	}

	TEST("a token or a username with an app password, from the environment") {
		CHECK_INT(parse("bitbucket:\n  api:\n    token_env: BS_T_BB_TOKEN\n"
		    "    server_url: https://bitbucket.example.com\n"), 0);
		CHECK_STR(cfg.bitbucket.api.token, "tok-123");
		CHECK_STR(cfg.bitbucket.api.server_url, "https://bitbucket.example.com");
		CHECK_INT(parse("bitbucket:\n  api:\n    username: ci-bot\n"
		    "    app_password_env: BS_T_BB_PASS\n"), 0);
		CHECK_STR(cfg.bitbucket.api.app_password, "pass-456");
		CHECK(cfg.bitbucket.api.token == NULL);
	}

	TEST("an unset variable is a warning: the API is not called") {
		CHECK_INT(parse("bitbucket:\n  api:\n    token_env: BS_T_UNSET\n"), 0);
		CHECK(cfg.bitbucket.api.token == NULL);
		const struct bs_diag *d = find("is not set");
		CHECK(d != NULL && d->severity == BS_DIAG_WARNING && d->line == 3);
	}

	TEST("both kinds of credential, or half of Basic, are errors at their line") {
		CHECK(parse("bitbucket:\n  api:\n    token_env: BS_T_BB_TOKEN\n"
		    "    username: ci-bot\n    app_password_env: BS_T_BB_PASS\n") != 0);
		const struct bs_diag *d = find("not both");
		CHECK(d != NULL && d->line == 3);
		CHECK(parse("bitbucket:\n  api:\n    username: ci-bot\n") != 0);
		CHECK(find("needs app_password_env") != NULL);
		CHECK(parse("bitbucket:\n  api:\n    app_password_env: BS_T_BB_PASS\n") != 0);
		CHECK(find("needs username") != NULL);
		CHECK(parse("bitbucket:\n  api:\n    token_env: \"tok en\"\n") != 0);
		CHECK(find("must name an environment variable") != NULL);
	}

	TEST("http:// only to a loopback address; a malformed URL is refused") {
		CHECK_INT(parse("bitbucket:\n  api:\n    cloud_url: http://127.0.0.1:9\n"), 0);
		CHECK(parse("bitbucket:\n  api:\n    server_url: http://bitbucket.example.com\n") != 0);
		const struct bs_diag *d = find("in clear");
		CHECK(d != NULL && d->line == 3);
		CHECK(parse("bitbucket:\n  api:\n    cloud_url: ftp://x\n") != 0);
		CHECK(find("expected http(s)://") != NULL);
	}

	TEST("the waits must stay below the visibility timeout") {
		CHECK(parse("bitbucket:\n  api:\n    token_env: BS_T_BB_TOKEN\n"
		    "backfill:\n  max_wait: 4m\nworker:\n  visibility_timeout: 4m\n") != 0);
		CHECK(find("must stay below worker.visibility_timeout") != NULL);
		CHECK(parse("backfill:\n  max_wait: 0\n") != 0);
		CHECK(parse("backfill:\n  max_commits: 5000\n  max_wait: 10s\n") == 0);
		CHECK_INT(cfg.backfill.max_commits, 5000);
		CHECK_INT(cfg.backfill.max_wait_ms, 10000);
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	return TEST_REPORT();
}
