/* test_secret_files: the *_file secret keys on real files: the content
 * with one trailing newline dropped; the file wins over its *_env (a
 * warning when both are written); missing (an error, a warning under
 * BS_USES_LENIENT, nothing for a command that does not use it),
 * unreadable, empty, over 64 KiB, a directory: errors at the key's line
 * and column; readable by others: a warning. No message holds the
 * secret. Also the --listen/BITSLEUTH_LISTEN overrides and
 * bs_config_format_value (check --print). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/bs-secret-XXXXXX";

static const char deps[] =
    "deployments:\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, "
    "branch: main, environment: production}\n";

static int
parse_uses(const char *text, unsigned uses)
{
	return fixture_parse(text, deps, uses);
}

static int
parse(const char *text)
{
	return parse_uses(text, BS_USES_ALL);
}

/* A file in dir with content and mode; returns its path (static). */
static const char *
secret_file(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len)
		abort();
	close(fd);
	chmod(p, mode);
	return p;
}

/* No diagnostic holds s. */
static int
nowhere(const char *s)
{
	for (size_t i = 0; i < diags.n; i++)
		if (strstr(diags.items[i].message, s))
			return 0;
	return 1;
}

static char yaml[4096];

#define Y(...) (snprintf(yaml, sizeof(yaml), __VA_ARGS__), yaml)

int
main(void)
{
	bs_diags_init(&diags);
	if (!mkdtemp(dir))
		return 1;
	setenv("SLEUTH_API_TOKEN", "env-token", 1);
	setenv("BITBUCKET_WEBHOOK_SECRET", "env-secret", 1);
	unsetenv("BITSLEUTH_LISTEN");
	unsetenv("BITSLEUTH_METRICS_LISTEN");

	TEST("the file's content, one trailing newline dropped, wins over env") {
		const char *f = secret_file("hook", "file-secret\n", 12, 0600);
		CHECK_INT(parse(Y("bitbucket:\n  secret_file: %s\n", f)), 0);
		CHECK_STR(cfg.bitbucket.secret, "file-secret");
		CHECK_INT(diags.n, 0);
		/* Only one newline goes; inner ones stay. */
		f = secret_file("two", "a\nb\n\n", 5, 0400);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), 0);
		CHECK_STR(cfg.sleuth.token, "a\nb\n");
		/* No newline at all: the whole content. */
		f = secret_file("raw", "raw-pass", 8, 0600);
		CHECK_INT(parse(Y("redis:\n  password_file: %s\n", f)), 0);
		CHECK_STR(cfg.redis.password, "raw-pass");
	}

	TEST("both keys written: a warning at the file key, the file wins") {
		const char *f = secret_file("both", "from-file\n", 10, 0600);
		CHECK_INT(parse(Y("sleuth:\n  token_env: SLEUTH_API_TOKEN\n"
		    "  token_file: %s\n", f)), 0);
		CHECK_STR(cfg.sleuth.token, "from-file");
		const struct bs_diag *g = find("sleuth.token_file and "
		    "sleuth.token_env are both written: the file wins");
		CHECK(g != NULL);
		CHECK(g && g->severity == BS_DIAG_WARNING && g->line == 3 &&
		    g->column == 15);
		CHECK(nowhere("from-file") && nowhere("env-token"));
	}

	TEST("missing: an error at line:col, a warning when lenient, nothing "
	    "when unused") {
		const char *y = Y("bitbucket:\n  secret_file: %s/nope\n", dir);
		CHECK_INT(parse(y), -1);
		const struct bs_diag *g = find("bitbucket.secret_file: cannot open");
		CHECK(g && g->severity == BS_DIAG_ERROR && g->line == 2 &&
		    g->column == 16);
		CHECK(g && strstr(g->message, "No such file"));
		CHECK(cfg.bitbucket.secret == NULL);
		/* check without --strict */
		CHECK_INT(parse_uses(y, BS_USES_ALL | BS_USES_LENIENT), 0);
		g = find("bitbucket.secret_file: cannot open");
		CHECK(g && g->severity == BS_DIAG_WARNING);
		CHECK(g && strstr(g->message, "refuse to start"));
		/* the worker does not use the webhook secret */
		CHECK_INT(parse_uses(y, BS_USES_WORKER | BS_USES_REDIS), 0);
		CHECK(find("secret_file") == NULL);
	}

	TEST("empty, over 64 KiB, a directory, unreadable: errors") {
		const char *f = secret_file("empty", "\n", 1, 0600);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), -1);
		const struct bs_diag *g = find("sleuth.token_file: ");
		CHECK(g && strstr(g->message, "empty") && g->line == 2 &&
		    g->column == 15);
		static char big[64 * 1024 + 2];
		memset(big, 'x', sizeof(big));
		f = secret_file("big", big, sizeof(big), 0600);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), -1);
		CHECK(find("larger than 64 KiB") != NULL);
		/* Exactly 64 KiB plus its newline is fine. */
		big[64 * 1024] = '\n';
		f = secret_file("edge", big, 64 * 1024 + 1, 0600);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), 0);
		CHECK(cfg.sleuth.token && strlen(cfg.sleuth.token) == 64 * 1024);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", dir)), -1);
		CHECK(find("not a regular file") != NULL);
		f = secret_file("nul", "ab\0cd", 5, 0600);
		CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), -1);
		CHECK(find("NUL byte") != NULL);
		if (geteuid() != 0) {   /* root reads a mode-000 file anyway */
			f = secret_file("locked", "s", 1, 0000);
			CHECK_INT(parse(Y("sleuth:\n  token_file: %s\n", f)), -1);
			CHECK(find("Permission denied") != NULL);
		}
	}

	TEST("a file others may read: a warning, the secret still used") {
		const char *f = secret_file("open", "world-readable\n", 15, 0644);
		CHECK_INT(parse(Y("bitbucket:\n  secret_file: %s\n", f)), 0);
		CHECK_STR(cfg.bitbucket.secret, "world-readable");
		const struct bs_diag *g = find("may be read by anyone (mode 0644)");
		CHECK(g && g->severity == BS_DIAG_WARNING && g->line == 2);
		f = secret_file("group", "grp\n", 4, 0640);
		CHECK_INT(parse(Y("bitbucket:\n  secret_file: %s\n", f)), 0);
		CHECK(find("may be read by its group (mode 0640)") != NULL);
		CHECK(nowhere("world-readable") && nowhere("grp"));
	}

	TEST("every *_file key resolves: previous secret, sentinel, api, "
	    "deployments") {
		const char *prev = secret_file("prev", "old\n", 4, 0600);
		const char *sp = secret_file("sp", "sentinel-pass\n", 14, 0600);
		const char *tok = secret_file("bbtok", "bb-token\n", 9, 0600);
		const char *dt = secret_file("deptok", "dep-token\n", 10, 0600);
		CHECK_INT(parse(Y("bitbucket:\n  secret_previous_file: %s\n"
		    "  api:\n    token_file: %s\n"
		    "redis:\n  url:\n  sentinel:\n    master: m\n"
		    "    addresses: [127.0.0.1:26379]\n    password_file: %s\n",
		    prev, tok, sp)), 0);
		CHECK_STR(cfg.bitbucket.secret_previous, "old");
		CHECK_STR(cfg.bitbucket.api.token, "bb-token");
		CHECK_STR(cfg.redis.sentinel.password, "sentinel-pass");
		const char *app = secret_file("app", "app-pass\n", 9, 0600);
		CHECK_INT(parse(Y("bitbucket:\n  api:\n    username: me\n"
		    "    app_password_file: %s\n", app)), 0);
		CHECK_STR(cfg.bitbucket.api.app_password, "app-pass");
		/* deployments[].token_file, and a missing one at its place */
		bs_config_release(&cfg);
		bs_diags_release(&diags);
		bs_diags_init(&diags);
		const char *d = Y("deployments:\n"
		    "  - {org: a, deployment: b, repository: a/b, branch: m, "
		    "environment: p, token_file: %s}\n"
		    "  - org: a\n    deployment: c\n    repository: a/c\n"
		    "    branch: m\n    environment: p\n"
		    "    token_file: %s/missing\n", dt, dir);
		CHECK_INT(bs_config_parse("t.yaml", d, strlen(d), &cfg, &diags), -1);
		CHECK_STR(cfg.deployments[0].token, "dep-token");
		const struct bs_diag *g = find("deployments[1].token_file: cannot "
		    "open");
		CHECK(g && g->severity == BS_DIAG_ERROR && g->line == 8 &&
		    g->column == 17);
		CHECK(nowhere("dep-token"));
	}

	TEST("an unset variable the command needs: an error, a warning when "
	    "lenient") {
		unsetenv("BITBUCKET_WEBHOOK_SECRET");
		CHECK_INT(parse(""), -1);
		const struct bs_diag *g = find("environment variable "
		    "BITBUCKET_WEBHOOK_SECRET (bitbucket.secret_env) is not set");
		CHECK(g && g->severity == BS_DIAG_ERROR);
		CHECK_INT(parse_uses("", BS_USES_ALL | BS_USES_LENIENT), 0);
		g = find("environment variable BITBUCKET_WEBHOOK_SECRET "
		    "(bitbucket.secret_env) is not set");
		CHECK(g && g->severity == BS_DIAG_WARNING);
		CHECK(g && strstr(g->message, "check --strict makes this an error"));
		/* A name that looks like the secret itself stays an error. */
		CHECK_INT(parse_uses("bitbucket: {secret_env: Gkvl8kQ2x9ZtR4mWp7Yb}\n",
		    BS_USES_ALL | BS_USES_LENIENT), -1);
		setenv("BITBUCKET_WEBHOOK_SECRET", "env-secret", 1);
	}

	TEST("--listen wins over BITSLEUTH_LISTEN wins over the file; errors "
	    "name their source") {
		char out[256];
		CHECK_INT(parse("listen: 127.0.0.1:7000\n"), 0);
		CHECK_INT(cfg.listen_port, 7000);
		setenv("BITSLEUTH_LISTEN", "127.0.0.1:7001", 1);
		CHECK_INT(parse("listen: 127.0.0.1:7000\n"), 0);
		CHECK_INT(cfg.listen_port, 7001);
		bs_config_set_address_flags("127.0.0.1:7002", "127.0.0.1:9100");
		CHECK_INT(parse("listen: 127.0.0.1:7000\n"), 0);
		CHECK_INT(cfg.listen_port, 7002);
		CHECK_INT(cfg.metrics_listen_port, 9100);
		CHECK_INT(bs_config_format_value(&cfg, "metrics_listen", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "127.0.0.1:9100");
		bs_config_set_address_flags("nope", NULL);
		CHECK_INT(parse(""), -1);
		CHECK(find("--listen (overriding listen): expected host:port") !=
		    NULL);
		bs_config_set_address_flags(NULL, NULL);
		setenv("BITSLEUTH_LISTEN", "x:y", 1);
		CHECK_INT(parse(""), -1);
		CHECK(find("BITSLEUTH_LISTEN (overriding listen): expected") != NULL);
		unsetenv("BITSLEUTH_LISTEN");
		setenv("BITSLEUTH_METRICS_LISTEN", "::1:80", 1);
		CHECK_INT(parse(""), -1);
		CHECK(find("BITSLEUTH_METRICS_LISTEN (overriding metrics_listen)") !=
		    NULL);
		unsetenv("BITSLEUTH_METRICS_LISTEN");
	}

	TEST("bs_config_format_value: scalars, unset, sections, unknown keys") {
		char out[256];
		CHECK_INT(parse("redis:\n  prefix: shop\n  command_timeout_ms: 2s\n"
		    "queue: {shards: 3}\n"), 0);
		CHECK_INT(bs_config_format_value(&cfg, "redis.prefix", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "shop");
		CHECK_INT(bs_config_format_value(&cfg, "redis.command_timeout_ms",
		    out, sizeof(out)), 0);
		CHECK_STR(out, "2000ms");
		CHECK_INT(bs_config_format_value(&cfg, "queue.shards", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "3");
		CHECK_INT(bs_config_format_value(&cfg, "queue.content_dedupe", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "true");
		CHECK_INT(bs_config_format_value(&cfg, "metrics_listen", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "");
		CHECK_INT(bs_config_format_value(&cfg, "redis", out, sizeof(out)),
		    -2);
		CHECK_INT(bs_config_format_value(&cfg, "issues.patterns", out,
		    sizeof(out)), -2);
		CHECK_INT(bs_config_format_value(&cfg, "redis.nope", out,
		    sizeof(out)), -1);
		CHECK_INT(bs_config_format_value(&cfg, "redis.prefix.x", out,
		    sizeof(out)), -1);
		CHECK_INT(bs_config_format_value(&cfg, "", out, sizeof(out)), -1);
		/* Sentinel: url is NULL, printed as an empty line. */
		CHECK_INT(parse("redis:\n  url:\n  sentinel:\n    master: m\n"
		    "    addresses: [127.0.0.1:26379]\n"), 0);
		CHECK_INT(bs_config_format_value(&cfg, "redis.url", out,
		    sizeof(out)), 0);
		CHECK_STR(out, "");
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_REPORT();
}
