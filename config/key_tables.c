/* key_tables: every key the config file accepts, one line each (name,
 * kind, field, range, sub-table): what keys.c's walker maps onto struct
 * bs_config. To add a key: its line here, its default in set_defaults
 * (config.c), its checks in config_check.c (several keys at once),
 * deployments.c (one deployment) or projects.c (one project), and its row
 * in README's configuration reference and examples/full.yaml (test_config
 * checks both). Data only. */
#include "config/config_internal.h"

#include <stddef.h>

#define CF(f) offsetof(struct bs_config, f)
#define DF(f) offsetof(struct bs_deployment, f)
#define END { NULL, K_STR, 0, 0, 0, 0, NULL }

static const struct bs_keydef redis_sentinel_keys[] = {
	{ "master", K_STR, CF(redis.sentinel.master), 0, 0, 0, NULL },
	{ "addresses", K_LIST, CF(redis.sentinel.addresses),
	    CF(redis.sentinel.n_addresses), 0, 16, NULL },
	{ "password_env", K_STR, CF(redis.sentinel.password_env), 0, 0, 0, NULL },
	{ "password_file", K_STR, CF(redis.sentinel.password_file), 0, 0, 0, NULL },
	END
};

/* One topology of url, sentinel and cluster (check_redis.c). */
static const struct bs_keydef redis_keys[] = {
	{ "url", K_STR, CF(redis.url), 0, 0, 0, NULL },
	{ "sentinel", K_MAP, 0, 0, 0, 0, redis_sentinel_keys },
	{ "cluster", K_LIST, CF(redis.cluster), CF(redis.n_cluster), 0, 64, NULL },
	{ "db", K_INT, CF(redis.db), 0, 0, 15, NULL },
	{ "password_env", K_STR, CF(redis.password_env), 0, 0, 0, NULL },
	{ "password_file", K_STR, CF(redis.password_file), 0, 0, 0, NULL },
	{ "prefix", K_STR, CF(redis.prefix), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(redis.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "command_timeout_ms", K_MS, CF(redis.command_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "connections", K_INT, CF(redis.connections), 0, 1, 64, NULL },
	{ "wait_replicas", K_INT, CF(redis.wait_replicas), 0, 0, 16, NULL },
	{ "wait_timeout_ms", K_MS, CF(redis.wait_timeout_ms), 0, 1, 60000, NULL },
	END
};

static const struct bs_keydef bitbucket_api_keys[] = {
	{ "cloud_url", K_STR, CF(bitbucket.api.cloud_url), 0, 0, 0, NULL },
	{ "server_url", K_STR, CF(bitbucket.api.server_url), 0, 0, 0, NULL },
	{ "token_env", K_STR, CF(bitbucket.api.token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, CF(bitbucket.api.token_file), 0, 0, 0, NULL },
	{ "username", K_STR, CF(bitbucket.api.username), 0, 0, 0, NULL },
	{ "app_password_env", K_STR, CF(bitbucket.api.app_password_env), 0, 0, 0,
	    NULL },
	{ "app_password_file", K_STR, CF(bitbucket.api.app_password_file), 0, 0,
	    0, NULL },
	{ "requests_per_hour", K_INT, CF(bitbucket.api.requests_per_hour), 0, 1,
	    1000000, NULL },
	{ "burst", K_INT, CF(bitbucket.api.burst), 0, 1, 10000, NULL },
	{ "connect_timeout_ms", K_MS, CF(bitbucket.api.connect_timeout_ms), 0, 1,
	    10 * MS_M, NULL },
	{ "timeout_ms", K_MS, CF(bitbucket.api.timeout_ms), 0, 1, MS_H, NULL },
	END
};

static const struct bs_keydef bitbucket_keys[] = {
	{ "secret_env", K_STR, CF(bitbucket.secret_env), 0, 0, 0, NULL },
	{ "secret_file", K_STR, CF(bitbucket.secret_file), 0, 0, 0, NULL },
	{ "secret_previous_env", K_STR, CF(bitbucket.secret_previous_env), 0, 0,
	    0, NULL },
	{ "secret_previous_file", K_STR, CF(bitbucket.secret_previous_file), 0,
	    0, 0, NULL },
	{ "allow_unsigned", K_BOOL, CF(bitbucket.allow_unsigned), 0, 0, 0, NULL },
	{ "allow_cidrs", K_CIDRS, CF(bitbucket.allow_cidrs),
	    CF(bitbucket.n_allow_cidrs), 0, CONFIG_MAX_CIDRS, NULL },
	{ "api", K_MAP, 0, 0, 0, 0, bitbucket_api_keys },
	END
};

static const struct bs_keydef sleuth_keys[] = {
	{ "base_url", K_STR, CF(sleuth.base_url), 0, 0, 0, NULL },
	{ "token_env", K_STR, CF(sleuth.token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, CF(sleuth.token_file), 0, 0, 0, NULL },
	{ "dry_run", K_BOOL, CF(sleuth.dry_run), 0, 0, 0, NULL },
	{ "connect_timeout_ms", K_MS, CF(sleuth.connect_timeout_ms), 0, 1, 10 * MS_M, NULL },
	{ "timeout_ms", K_MS, CF(sleuth.timeout_ms), 0, 1, MS_H, NULL },
	{ "max_commits", K_SZ, CF(sleuth.max_commits), 0, 1, 100000, NULL },
	{ "graphql_url", K_STR, CF(sleuth.graphql_url), 0, 0, 0, NULL },
	{ "graphql_token_env", K_STR, CF(sleuth.graphql_token_env), 0, 0, 0, NULL },
	{ "graphql_auth", K_STR, CF(sleuth.graphql_auth), 0, 0, 0, NULL },
	{ "graphql_token_file", K_STR, CF(sleuth.graphql_token_file), 0, 0, 0,
	    NULL },
	{ "discover_every", K_MS64, CF(sleuth.discover_every_ms), 0, 10 * MS_S,
	    MS_D, NULL },
	END
};

static const struct bs_keydef issues_keys[] = {
	{ "patterns", K_LIST, CF(issues.patterns), CF(issues.n_patterns), 0, 64, NULL },
	{ "projects", K_LIST, CF(issues.projects), CF(issues.n_projects), 0, 4096, NULL },
	{ "stop_list", K_LIST, CF(issues.stop_list), CF(issues.n_stop_list), 0, 4096, NULL },
	{ "url", K_STR, CF(issues.url), 0, 0, 0, NULL },
	END
};

static const struct bs_keydef http_keys[] = {
	{ "max_body", K_SIZE, CF(http.max_body), 0, 1, 1024LL * 1024 * 1024, NULL },
	{ "max_headers", K_SIZE, CF(http.max_headers), 0, 1024, 1024 * 1024, NULL },
	{ "timeout_ms", K_MS, CF(http.timeout_ms), 0, 1, MS_H, NULL },
	{ "idle_timeout_ms", K_MS, CF(http.idle_timeout_ms), 0, 1, MS_H, NULL },
	/* Concurrent ingest connections; at the cap idle connections, then the
	 * oldest unfinished requests, are shed for a new one (ingest/). */
	{ "max_connections", K_INT, CF(http.max_connections), 0, 1, 1000000, NULL },
	{ "max_connections_per_ip", K_INT, CF(http.max_connections_per_ip), 0, 0,
	    1000000, NULL },
	{ "max_inflight_bytes", K_SIZE, CF(http.max_inflight_bytes), 0, 64 * 1024,
	    1LL << 40, NULL },
	{ "trusted_proxies", K_CIDRS, CF(http.trusted_proxies),
	    CF(http.n_trusted_proxies), 0, CONFIG_MAX_CIDRS, NULL },
	END
};

static const struct bs_keydef limits_keys[] = {
	{ "max_depth", K_SZ, CF(limits.max_depth), 0, 1, 10000, NULL },
	{ "max_changes", K_SZ, CF(limits.max_changes), 0, 1, 1000000, NULL },
	{ "max_commits", K_SZ, CF(limits.max_commits), 0, 1, 1000000, NULL },
	{ "max_string", K_SIZE, CF(limits.max_string), 0, 1, 64LL * 1024 * 1024, NULL },
	END
};

static const struct bs_keydef queue_keys[] = {
	{ "seen_ttl", K_SEC, CF(queue.seen_ttl_s), 0, 1, 365 * 86400LL, NULL },
	{ "raw_ttl", K_SEC, CF(queue.raw_ttl_s), 0, 0, 365 * 86400LL, NULL },
	{ "content_dedupe", K_BOOL, CF(queue.content_dedupe), 0, 0, 0, NULL },
	{ "content_dedupe_window", K_SEC, CF(queue.content_dedupe_window_s), 0, 1, 365 * 86400LL, NULL },
	{ "pr_ttl", K_SEC, CF(queue.pr_ttl_s), 0, 1, 365 * 86400LL, NULL },
	{ "max_stream", K_LL, CF(queue.max_stream), 0, 1, 1000000000000LL, NULL },
	{ "shards", K_INT, CF(queue.shards), 0, 1, 64, NULL },
	{ "events", K_BOOL, CF(queue.events), 0, 0, 0, NULL },
	{ "events_ttl", K_MS64, CF(queue.events_ttl_ms), 0, MS_S, 3650 * MS_D, NULL },
	{ "events_maxlen", K_LL, CF(queue.events_maxlen), 0, 1, 1000000000000LL, NULL },
	{ "events_format", K_STR, CF(queue.events_format), 0, 0, 0, NULL },
	END
};

static const struct bs_keydef worker_keys[] = {
	{ "concurrency", K_INT, CF(worker.concurrency), 0, 1, 10000, NULL },
	{ "block_ms", K_MS, CF(worker.block_ms), 0, 1, 10 * MS_M, NULL },
	{ "visibility_timeout", K_MS64, CF(worker.visibility_timeout_ms), 0, MS_S, 7 * MS_D, NULL },
	{ "order_hold", K_MS64, CF(worker.order_hold_ms), 0, 1, 30 * MS_D, NULL },
	END
};

static const struct bs_keydef retry_keys[] = {
	{ "max_attempts", K_INT, CF(retry.max_attempts), 0, 1, 10000, NULL },
	{ "max_age", K_MS64, CF(retry.max_age_ms), 0, MS_S, 365 * MS_D, NULL },
	{ "base", K_MS64, CF(retry.base_ms), 0, 1, MS_D, NULL },
	{ "cap", K_MS64, CF(retry.cap_ms), 0, 1, 7 * MS_D, NULL },
	{ "slow_attempts", K_INT, CF(retry.slow_attempts), 0, 0, 1000, NULL },
	{ "slow_delay", K_MS64, CF(retry.slow_delay_ms), 0, 1, MS_D, NULL },
	END
};

static const struct bs_keydef backfill_keys[] = {
	{ "max_commits", K_SZ, CF(backfill.max_commits), 0, 1, 100000, NULL },
	{ "max_wait", K_MS64, CF(backfill.max_wait_ms), 0, 1, MS_H, NULL },
	END
};

static const struct bs_keydef dead_keys[] = {
	{ "max_len", K_LL, CF(dead.max_len), 0, 1, 1000000000000LL, NULL },
	{ "max_age", K_MS64, CF(dead.max_age_ms), 0, MS_S, 3650 * MS_D, NULL },
	END
};

#define PF(f) offsetof(struct bs_project, f)
#define CDF(f) offsetof(struct bs_code_deployment, f)
#define PPF(f) offsetof(struct bs_path_prefix, f)

/* Relative to a struct bs_path_prefix. */
static const struct bs_keydef path_prefix_keys[] = {
	{ "includes", K_LIST, PPF(includes), PPF(n_includes), 0, CONFIG_MAX_LIST,
	    NULL },
	{ "excludes", K_LIST, PPF(excludes), PPF(n_excludes), 0, CONFIG_MAX_LIST,
	    NULL },
	END
};

static const struct bs_keydef code_deployment_keys[] = {
	{ "deployment", K_STR, CDF(deployment), 0, 0, 0, NULL },
	{ "repository", K_STR, CDF(repository), 0, 0, 0, NULL },
	{ "track", K_TRACKI, CDF(track), 0, 0, 0, NULL },
	{ "tag_pattern", K_STR, CDF(tag_pattern), 0, 0, 0, NULL },
	{ "environments", K_ENVS, 0, 0, 0, 0, NULL },
	{ "path_prefix", K_PATHS, CDF(paths), 0, 0, 0, path_prefix_keys },
	END
};

static const struct bs_keydef project_keys[] = {
	{ "org", K_STR, PF(org), 0, 0, 0, NULL },
	{ "project", K_STR, PF(project), 0, 0, 0, NULL },
	{ "discover", K_BOOL, PF(discover), 0, 0, 0, NULL },
	{ "include_non_manual", K_BOOL, PF(include_non_manual), 0, 0, 0, NULL },
	{ "track", K_TRACK, PF(track), 0, 0, 0, NULL },
	{ "token_env", K_STR, PF(token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, PF(token_file), 0, 0, 0, NULL },
	{ "graphql_token_env", K_STR, PF(graphql_token_env), 0, 0, 0, NULL },
	{ "graphql_token_file", K_STR, PF(graphql_token_file), 0, 0, 0, NULL },
	{ "dry_run", K_TRI, PF(dry_run), 0, 0, 0, NULL },
	{ "tags", K_LIST, PF(tags), PF(n_tags), 0, CONFIG_MAX_LIST, NULL },
	{ "issue_tags", K_BOOL, PF(issue_tags), 0, 0, 0, NULL },
	{ "code_deployments", K_CODE_DEPS, 0, 0, 0, 0, code_deployment_keys },
	END
};

static const struct bs_keydef deployment_keys[] = {
	{ "org", K_STR, DF(org), 0, 0, 0, NULL },
	{ "deployment", K_STR, DF(deployment), 0, 0, 0, NULL },
	{ "repository", K_STR, DF(repository), 0, 0, 0, NULL },
	{ "branch", K_LIST, DF(branches), DF(n_branches), 0, CONFIG_MAX_LIST, NULL },
	{ "environment", K_STR, DF(environment), 0, 0, 0, NULL },
	{ "track", K_TRACK, DF(track), 0, 0, 0, NULL },
	{ "tag_pattern", K_STR, DF(tag_pattern), 0, 0, 0, NULL },
	{ "token_env", K_STR, DF(token_env), 0, 0, 0, NULL },
	{ "token_file", K_STR, DF(token_file), 0, 0, 0, NULL },
	{ "dry_run", K_TRI, DF(dry_run), 0, 0, 0, NULL },
	{ "tags", K_LIST, DF(tags), DF(n_tags), 0, CONFIG_MAX_LIST, NULL },
	{ "issue_tags", K_BOOL, DF(issue_tags), 0, 0, 0, NULL },
	{ "path_prefix", K_PATHS, DF(paths), 0, 0, 0, path_prefix_keys },
	END
};


const struct bs_keydef bs_config_top_keys[] = {
	{ "listen", K_STR, CF(listen), 0, 0, 0, NULL },
	{ "log_level", K_STR, CF(log_level), 0, 0, 0, NULL },
	{ "metrics_listen", K_STR, CF(metrics_listen), 0, 0, 0, NULL },
	{ "log_format", K_STR, CF(log_format), 0, 0, 0, NULL },
	{ "redis", K_MAP, 0, 0, 0, 0, redis_keys },
	{ "bitbucket", K_MAP, 0, 0, 0, 0, bitbucket_keys },
	{ "sleuth", K_MAP, 0, 0, 0, 0, sleuth_keys },
	{ "issues", K_MAP, 0, 0, 0, 0, issues_keys },
	{ "http", K_MAP, 0, 0, 0, 0, http_keys },
	{ "limits", K_MAP, 0, 0, 0, 0, limits_keys },
	{ "queue", K_MAP, 0, 0, 0, 0, queue_keys },
	{ "worker", K_MAP, 0, 0, 0, 0, worker_keys },
	{ "retry", K_MAP, 0, 0, 0, 0, retry_keys },
	{ "dead", K_MAP, 0, 0, 0, 0, dead_keys },
	{ "backfill", K_MAP, 0, 0, 0, 0, backfill_keys },
	{ "projects", K_PROJECTS, 0, 0, 0, 0, project_keys },
	{ "deployments", K_DEPLOYMENTS, 0, 0, 0, 0, deployment_keys },
	END
};
