/* config: the loader's top (see config.h): the defaults, reading the file,
 * parse -> walk -> check, and release.
 *
 * Two steps. yaml_doc turns the file into a tree with a line and column
 * per node; then a table per section (keys.c) maps the tree onto the
 * struct, so unknown keys, wrong types and out-of-range values are found
 * uniformly and every message points at the node at fault. Cross-field
 * checks (config_check.c: secrets from the environment, URLs, regexes)
 * run afterwards, looking the nodes up again for their places; each
 * deployment is checked as it is mapped (deployments.c). Diagnostics are
 * sorted by place (config_diag.c). Everything is allocated in cfg->arena;
 * messages in d->arena. The --listen/--metrics-listen flags and their
 * variables replace the file's addresses after the walk, before the
 * checks.
 *
 * The files and who calls whom (no circles):
 *   config.c -> keys.c, config_check.c, config_diag.c, yaml_doc.c
 *   keys.c -> key_tables.c, projects.c, deployments.c, scalars.c,
 *   config_diag.c, yaml_doc.c
 *   config_check.c -> check_api.c, check_redis.c, projects.c
 *   projects.c -> expand.c, deployments.c
 *   deployments.c, config_check.c, check_*.c, projects.c -> scalars.c,
 *   config_diag.c, yaml_doc.c
 *   scalars.c, config_diag.c, yaml_doc.c: leaves (live.c sits on top,
 *   through config.h)
 * Their private declarations: config_internal.h. */
#include "config/config_internal.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* === load ================================================================= */

static void
set_defaults(struct bs_config *cfg)
{
	struct bs_arena *a = &cfg->arena;
	cfg->listen = bs_arena_strdup(a, "127.0.0.1:8080");
	cfg->listen_host = bs_arena_strdup(a, "127.0.0.1");
	cfg->listen_port = 8080;
	cfg->redis.url = bs_arena_strdup(a, "redis://127.0.0.1:6379/0");
	cfg->redis.prefix = bs_arena_strdup(a, "bitsleuth");
	cfg->redis.connect_timeout_ms = 2000;
	cfg->redis.command_timeout_ms = 5000;
	cfg->redis.connections = 4;
	cfg->redis.wait_timeout_ms = 1000;
	cfg->queue.shards = 1;
	cfg->bitbucket.secret_env = bs_arena_strdup(a, "BITBUCKET_WEBHOOK_SECRET");
	cfg->bitbucket.api.cloud_url = bs_arena_strdup(a, "https://api.bitbucket.org");
	cfg->bitbucket.api.requests_per_hour = 500;
	cfg->bitbucket.api.burst = 20;
	cfg->bitbucket.api.connect_timeout_ms = 5000;
	cfg->bitbucket.api.timeout_ms = 10000;
	cfg->backfill.max_commits = 1000;
	cfg->backfill.max_wait_ms = 30 * MS_S;
	cfg->sleuth.base_url = bs_arena_strdup(a, "https://app.sleuth.io");
	cfg->sleuth.token_env = bs_arena_strdup(a, "SLEUTH_API_TOKEN");
	cfg->sleuth.connect_timeout_ms = 5000;
	cfg->sleuth.timeout_ms = 30000;
	cfg->sleuth.max_commits = 250;
	cfg->sleuth.graphql_token_env = bs_arena_strdup(a, "SLEUTH_GRAPHQL_TOKEN");
	cfg->sleuth.graphql_auth = bs_arena_strdup(a, "apikey");
	cfg->sleuth.discover_every_ms = 5 * MS_M;    /* graphql_url: at check */
	cfg->issues.patterns = bs_arena_alloc(a, sizeof(char *));
	cfg->issues.patterns[0] = bs_arena_strdup(a, "jira");
	cfg->issues.n_patterns = 1;
	cfg->http.max_body = 1024 * 1024;
	cfg->http.max_headers = 16 * 1024;
	cfg->http.timeout_ms = 10000;
	cfg->http.idle_timeout_ms = 5000;
	cfg->http.max_connections = 1024;
	cfg->http.max_connections_per_ip = 64;
	cfg->http.max_inflight_bytes = 64 * 1024 * 1024;
	bs_parse_limits_default(&cfg->limits);
	cfg->queue.seen_ttl_s = 7 * 86400;
	cfg->queue.raw_ttl_s = 7 * 86400;
	cfg->queue.content_dedupe = true;
	cfg->queue.content_dedupe_window_s = 10 * 60;
	cfg->queue.pr_ttl_s = 30 * 86400;
	cfg->queue.max_stream = 1000000;
	cfg->queue.events = true;
	cfg->queue.events_ttl_ms = 7 * MS_D;
	cfg->queue.events_maxlen = 1000000;
	cfg->queue.events_format = bs_arena_strdup(a, "msgpack");
	cfg->worker.concurrency = 16;
	cfg->worker.block_ms = 1000;
	cfg->worker.visibility_timeout_ms = 5 * MS_M;
	cfg->worker.order_hold_ms = 10 * MS_M;
	cfg->retry.max_attempts = 20;
	cfg->retry.max_age_ms = 48 * MS_H;
	cfg->retry.base_ms = 5 * MS_S;
	cfg->retry.cap_ms = MS_H;
	cfg->retry.slow_attempts = 5;
	cfg->retry.slow_delay_ms = 60 * MS_S;
	cfg->dead.max_len = 100000;
	cfg->dead.max_age_ms = 30 * MS_D;
	cfg->log_level = bs_arena_strdup(a, "info");
	cfg->log_format = bs_arena_strdup(a, "text");
}

/* === address overrides ==================================================== */

static const char *flag_listen, *flag_metrics_listen;

void
bs_config_set_address_flags(const char *listen, const char *metrics_listen)
{
	flag_listen = listen;
	flag_metrics_listen = metrics_listen;
}

/* The override of one address key (flag, else variable) into *field, and
 * its source's name into *from. */
static void
override_address(struct ctx *c, char **field, const char **from,
    const char *flag, const char *flag_name, const char *var)
{
	const char *v = getenv(var);
	if (flag) {
		*field = bs_arena_strdup(c->a, flag);
		*from = flag_name;
	} else if (v && *v) {
		*field = bs_arena_strdup(c->a, v);
		*from = var;
	}
}

int
bs_config_parse(const char *name, const char *yaml, size_t len,
    struct bs_config *cfg, struct bs_diags *d)
{
	return bs_config_parse_for(name, yaml, len, BS_USES_ALL, cfg, d);
}

int
bs_config_parse_for(const char *name, const char *yaml, size_t len,
    unsigned uses, struct bs_config *cfg, struct bs_diags *d)
{
	memset(cfg, 0, sizeof(*cfg));
	bs_arena_init(&cfg->arena);
	cfg->path = bs_arena_strdup(&cfg->arena, name ? name : "config");
	set_defaults(cfg);
	size_t errors0 = d->errors, first = d->n;

	struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena, .uses = uses };
	if (len > CONFIG_MAX_FILE) {
		ERR(&c, NULL, "file too large (%zu bytes, at most %d)", len,
		    CONFIG_MAX_FILE);
		return -1;
	}
	/* The tree lives in its own arena, dropped once mapped. */
	struct bs_arena tree;
	bs_arena_init(&tree);
	char err[512];
	int line = 0, col = 0;
	if (bs_ydoc_parse(&tree, yaml ? yaml : "", yaml ? len : 0, &c.root, err,
	    sizeof(err), &line, &col) != 0) {
		struct bs_ynode at = { .line = line, .column = col };
		ERR(&c, line > 0 ? &at : NULL, "%s", err);
		bs_arena_release(&tree);
		return -1;
	}
	if (c.root && c.root->type != BS_YNODE_MAP && !bs_ynode_is_null(c.root)) {
		ERR(&c, c.root, "the configuration must be a mapping of keys, got "
		    "%s", bs_config_type_name(c.root));
		bs_arena_release(&tree);
		return -1;
	}
	if (c.root && c.root->type != BS_YNODE_MAP)
		c.root = NULL;
	if (c.root)
		bs_config_walk(&c);
	override_address(&c, &cfg->listen, &c.listen_from, flag_listen,
	    "--listen", "BITSLEUTH_LISTEN");
	override_address(&c, &cfg->metrics_listen, &c.metrics_listen_from,
	    flag_metrics_listen, "--metrics-listen", "BITSLEUTH_METRICS_LISTEN");

	bs_config_check(&c);
	bs_config_sort_diags(d, first);
	bs_arena_release(&tree);
	return d->errors > errors0 ? -1 : 0;
}

int
bs_config_load(const char *path, struct bs_config *cfg, struct bs_diags *d)
{
	return bs_config_load_for(path, BS_USES_ALL, cfg, d);
}

int
bs_config_load_for(const char *path, unsigned uses, struct bs_config *cfg,
    struct bs_diags *d)
{
	memset(cfg, 0, sizeof(*cfg));
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		int e = path ? errno : EINVAL;
		bs_arena_init(&cfg->arena);
		cfg->path = bs_arena_strdup(&cfg->arena, path ? path : "");
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(e));
		struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena };
		ERR(&c, NULL, "%s", msg);
		return -1;
	}
	size_t cap = 64 * 1024, n = 0;
	char *buf = xmalloc(cap + 1);
	size_t r;
	int too_big = 0;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap > CONFIG_MAX_FILE) {
				too_big = 1;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr || too_big) {
		free(buf);
		bs_arena_init(&cfg->arena);
		cfg->path = bs_arena_strdup(&cfg->arena, path);
		struct ctx c = { .cfg = cfg, .d = d, .a = &cfg->arena };
		if (too_big)
			ERR(&c, NULL, "file too large (at most %d bytes)",
			    CONFIG_MAX_FILE);
		else
			ERR(&c, NULL, "cannot read the file");
		return -1;
	}
	buf[n] = '\0';
	int rc = bs_config_parse_for(path, buf, n, uses, cfg, d);
	free(buf);
	return rc;
}

void
bs_config_release(struct bs_config *cfg)
{
	if (!cfg)
		return;
	/* Scrub resolved secrets before the memory goes back. */
	if (cfg->bitbucket.secret)
		memset(cfg->bitbucket.secret, 0, strlen(cfg->bitbucket.secret));
	if (cfg->bitbucket.secret_previous)
		memset(cfg->bitbucket.secret_previous, 0,
		    strlen(cfg->bitbucket.secret_previous));
	if (cfg->sleuth.token)
		memset(cfg->sleuth.token, 0, strlen(cfg->sleuth.token));
	if (cfg->redis.password)
		memset(cfg->redis.password, 0, strlen(cfg->redis.password));
	if (cfg->redis.sentinel.password)
		memset(cfg->redis.sentinel.password, 0,
		    strlen(cfg->redis.sentinel.password));
	if (cfg->sleuth.graphql_token)
		memset(cfg->sleuth.graphql_token, 0,
		    strlen(cfg->sleuth.graphql_token));
	for (size_t i = 0; i < cfg->n_deployments; i++)
		if (cfg->deployments && cfg->deployments[i].token)
			memset(cfg->deployments[i].token, 0,
			    strlen(cfg->deployments[i].token));
	for (size_t i = 0; cfg->projects && i < cfg->n_projects; i++) {
		char *s[] = { cfg->projects[i].token, cfg->projects[i].graphql_token };
		for (size_t j = 0; j < 2; j++)
			if (s[j])
				memset(s[j], 0, strlen(s[j]));
	}
	bs_arena_release(&cfg->arena);
	memset(cfg, 0, sizeof(*cfg));
}
