/* config: the YAML configuration file, loaded and validated.
 *
 * One file (see README "Configuration reference" and examples/); secrets
 * come only from environment variables named by *_env keys or from files
 * named by *_file keys (which win). Loading never
 * stops at the first problem: every error and warning is collected with
 * file, line and column so that `bitsleuth check` can list them all. */
#ifndef BS_CONFIG_H
#define BS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/cidr.h"
#include "common/deployment.h"
#include "parsers/bitbucket.h"

struct bs_config {
	char *path;

	char *listen;               /* "host:port" as written */
	char *listen_host;          /* default 127.0.0.1 */
	int listen_port;            /* default 8080; 0 = any free port */
	/* metrics_listen (issue 14): where /metrics, /healthz and /readyz are
	 * served, by every mode (work included), instead of on the ingest
	 * address. NULL (the default): on the ingest address, and nowhere in
	 * work mode. */
	char *metrics_listen;       /* "host:port" as written, or NULL */
	char *metrics_listen_host;
	int metrics_listen_port;    /* 0 = any free port */

	struct {
		char *url;              /* default redis://127.0.0.1:6379/0 */
		char *password_env;     /* optional */
		char *password_file;    /* optional, instead of password_env */
		char *password;         /* resolved */
		char *prefix;           /* default "bitsleuth" */
		int connect_timeout_ms; /* default 2000 */
		int command_timeout_ms; /* default 5000 */
		int connections;        /* per pool (ingest; the worker's), default 4 */
		/* Topology (issue 13): exactly one of url, sentinel.master and
		 * cluster is in force. When sentinel or cluster is written, url
		 * is NULL. */
		struct {
			char *master;       /* NULL: no sentinel */
			char **addresses;   /* "host:port" of the sentinels */
			size_t n_addresses;
			char *password_env; /* the sentinels' own password, optional */
			char *password_file;
			char *password;     /* resolved */
		} sentinel;
		int db;                 /* sentinel mode's database, default 0 */
		char **cluster;         /* seed nodes "host:port"; n_cluster 0: none */
		size_t n_cluster;
		/* A write that acknowledges something (a 202, a registration, a
		 * dead letter) is reported only once WAIT says this many replicas
		 * hold it; default 0 (no WAIT). */
		int wait_replicas;
		int wait_timeout_ms;    /* WAIT's timeout, default 1000 */
	} redis;

	struct {
		char *secret_env;       /* default BITBUCKET_WEBHOOK_SECRET */
		/* *_file keys (issue 14): the secret is the file's content (one
		 * trailing newline dropped), for Docker and Kubernetes secrets;
		 * a *_file key written wins over its *_env key. */
		char *secret_file;
		char *secret;           /* resolved; NULL when unset */
		/* The secret being rotated out (unset by default): while it is
		 * set, a delivery signed with either secret verifies. */
		char *secret_previous_env;
		char *secret_previous_file;
		char *secret_previous;  /* resolved; NULL when unset or empty */
		bool allow_unsigned;    /* default false */
		/* Sources a delivery may come from (the client address, see
		 * http.trusted_proxies); empty (the default): every source. */
		struct bs_cidr *allow_cidrs;
		size_t n_allow_cidrs;
		/* Bitbucket's REST API, read by the worker to backfill the
		 * commits of a deploy and resolve short merge hashes (issue 12).
		 * Credentials: a token (Bearer) or username + app password
		 * (Basic); without them the API is not called. */
		struct bs_bitbucket_api {
			char *cloud_url;        /* default https://api.bitbucket.org */
			char *server_url;       /* Data Center base URL, may be NULL */
			char *token_env;
			char *token_file;
			char *token;            /* resolved */
			char *username;
			char *app_password_env;
			char *app_password_file;
			char *app_password;     /* resolved */
			int requests_per_hour;  /* token bucket rate, default 500 */
			int burst;              /* bucket size, default 20 */
			int connect_timeout_ms; /* default 5000 */
			int timeout_ms;         /* per request, default 10000 */
		} api;
	} bitbucket;

	struct {
		char *base_url;         /* default https://app.sleuth.io */
		char *token_env;        /* default SLEUTH_API_TOKEN */
		char *token_file;
		char *token;            /* resolved */
		bool dry_run;           /* default false */
		int connect_timeout_ms; /* default 5000 */
		int timeout_ms;         /* default 30000 */
		size_t max_commits;     /* default 250 */
		/* Discovery (issue 16): Sleuth's GraphQL API, asked for the code
		 * deployments of every project with discover: true. */
		char *graphql_url;      /* default {base_url}/graphql */
		char *graphql_token_env; /* default SLEUTH_GRAPHQL_TOKEN: an
		                         * organisation API key, sent as
		                         * "Authorization: apikey <key>" */
		char *graphql_token_file;
		char *graphql_token;    /* resolved */
		/* How the key is sent: "apikey" (default: "Authorization: apikey
		 * <key>", Sleuth's GraphQL docs and its Terraform provider, for the
		 * organisation API key) or "bearer" ("Authorization: Bearer
		 * <token>", for an access token of scope ALL; Sleuth's Python client
		 * sends every key so since 2024). */
		char *graphql_auth;
		int64_t discover_every_ms; /* refresh period, default 5 min */
	} sleuth;

	struct {
		char **patterns;        /* default {"jira"} */
		size_t n_patterns;
		char **projects;        /* allow-list, may be empty */
		size_t n_projects;
		/* issues.stop_list (parsers/stop_list.h): NULL when the key is
		 * absent, meaning the built-in list; else the configured list,
		 * which replaces it (n_stop_list 0 for []: no stop-list). */
		char **stop_list;
		size_t n_stop_list;
		char *url;              /* issue link template with {key}, may be NULL */
	} issues;

	struct {
		size_t max_body;        /* default 1 MiB, >= 256 KiB warned below */
		size_t max_headers;     /* default 16 KiB */
		int timeout_ms;         /* whole request from its first byte, and
		                         * writing the reply; default 10000 */
		int idle_timeout_ms;    /* keep-alive connection with no request in
		                         * progress; default 5000 */
		int max_connections;    /* default 1024; at the cap idle and oldest
		                         * unfinished connections are shed */
		int max_connections_per_ip; /* default 64; 0: no per-address cap */
		size_t max_inflight_bytes;  /* request bodies held in memory at
		                             * once, default 64 MiB; beyond: 503 */
		/* Peers whose X-Forwarded-For is read (bs_cidr_client); empty
		 * (the default): the TCP peer is the client. */
		struct bs_cidr *trusted_proxies;
		size_t n_trusted_proxies;
	} http;

	struct bs_parse_limits limits;  /* limits.max_depth ... */

	struct {
		int seen_ttl_s;         /* delivery-id dedupe memory, default 7 days */
		int raw_ttl_s;          /* raw delivery kept, default 7 days; 0 = not kept */
		bool content_dedupe;    /* also dedupe by content (event+repo+refs), default true */
		int content_dedupe_window_s; /* how long the same content from another webhook
		                         * is a duplicate, and how soon a repeat of a delivery
		                         * id is Bitbucket's automatic retry (later, with
		                         * X-Attempt-Number > 1: a manual Resend), default 10 min */
		int pr_ttl_s;           /* how long a PR's issue keys are remembered, default 30 days */
		long long max_stream;   /* approximate cap of the jobs stream, default 1000000 */
		int shards;             /* hash tags the queue spreads over, default 1
		                         * ({prefix}); N > 1: {prefix:0} .. {prefix:N-1} */
		bool events;            /* the streams for other readers, {p}:events and
		                         * {p}:deploys (issue 15), default true */
		int64_t events_ttl_ms;  /* their entries are trimmed past this age, default 7 days */
		long long events_maxlen; /* and past this length (approximately), default 1000000 */
		char *events_format;    /* msgpack (default) | json: their `data` field */
	} queue;

	struct {
		int concurrency;        /* Sleuth calls in flight per process, default 16 */
		int block_ms;           /* XREADGROUP block, default 1000 */
		int64_t visibility_timeout_ms; /* claim others' entries idle this long, default 5 min */
		int64_t order_hold_ms;  /* how long a failing head may block its lane, default 10 min */
	} worker;

	struct {
		int max_attempts;       /* default 20 */
		int64_t max_age_ms;     /* default 48 h */
		int64_t base_ms;        /* default 5 s */
		int64_t cap_ms;         /* default 1 h */
		int slow_attempts;      /* "sha not found" retries, default 5 */
		int64_t slow_delay_ms;  /* default 60 s */
	} retry;

	struct {
		size_t max_commits;     /* commits fetched per deploy, default 1000 */
		int64_t max_wait_ms;    /* backfill and merge-hash wait, default 30 s */
	} backfill;

	struct {
		long long max_len;      /* dead letter stream cap, default 100000 */
		int64_t max_age_ms;     /* dead letters older than this are trimmed, default 30 days */
	} dead;

	char *log_level;            /* default info */
	char *log_format;           /* text (default) | json; issue 14 */

	/* Every target the file names: the flat deployments: list first (in
	 * file order), then the code deployments written under projects:,
	 * expanded (config/expand.h; origin BS_ORIGIN_PROJECT). The
	 * discovered ones are not here: they live in the running process
	 * (config/live.h: bs_live's deps). */
	struct bs_deployment *deployments;
	size_t n_deployments;

	/* projects: (issue 16), in file order. */
	struct bs_project *projects;
	size_t n_projects;

	struct bs_arena arena;      /* owns everything above */
};

/* One item of projects: a Sleuth project, with its code deployments
 * written by hand or learned from Sleuth (discover: true; then
 * code_deployments is empty). What is set here applies to every code
 * deployment of the project. */
struct bs_project {
	char *org;              /* Sleuth organisation slug */
	char *project;          /* Sleuth project slug */
	bool discover;          /* learn its code deployments from Sleuth */
	enum bs_track track;    /* default for its code deployments: push */
	char *token_env;        /* register token, overrides sleuth.token_env */
	char *token_file;
	char *token;            /* resolved, NULL when inherited */
	char *graphql_token_env; /* overrides sleuth.graphql_token_env */
	char *graphql_token_file;
	char *graphql_token;    /* resolved, NULL when inherited */
	int dry_run;            /* -1 inherit sleuth.dry_run, 0, 1 */
	char **tags;            /* static "#tag"s of its deploys */
	size_t n_tags;
	bool issue_tags;
	/* discover only: also register for discovered code deployments whose
	 * deploy tracking type is not MANUAL ("Webhook"); default false: they
	 * are skipped (Sleuth makes their deploys itself). */
	bool include_non_manual;
	struct bs_code_deployment *code_deployments;
	size_t n_code_deployments;
	int line, column;
};

enum bs_diag_severity { BS_DIAG_ERROR = 0, BS_DIAG_WARNING = 1 };

struct bs_diag {
	enum bs_diag_severity severity;
	int line;                   /* 1-based, 0 when not tied to a place */
	int column;                 /* 1-based */
	char *message;
};

struct bs_diags {
	struct bs_diag *items;
	size_t n;
	size_t _cap;
	size_t errors;
	size_t warnings;
	struct bs_arena arena;
};

void bs_diags_init(struct bs_diags *d);
void bs_diags_release(struct bs_diags *d);
/* Prints "FILE:LINE:COL: error: message" lines to f. */
void bs_diags_print(const struct bs_diags *d, const char *file, void *f);

/* What the loading command will use, so that only the secrets it needs are
 * required: `serve` needs the webhook secret, `work` the Sleuth tokens,
 * both Redis; `stats`, `dlq` and `replay` only Redis; `check` and `run`
 * everything. A secret the command does not use is resolved when set and
 * neither an error nor a warning when unset. */
enum bs_config_uses {
	BS_USES_INGEST = 1,         /* bitbucket.secret_env */
	BS_USES_WORKER = 2,         /* sleuth.token_env, deployments[].token_env */
	BS_USES_REDIS = 4,          /* redis.password_env */
	BS_USES_ALL = 7,
	/* `check` without --strict: a secret that is needed but unset (its
	 * variable, or its *_file missing) is a warning, not an error. */
	BS_USES_LENIENT = 8,
};

/* Process-wide overrides of listen and metrics_listen (issue 14), for
 * every later load (SIGHUP reloads too): the flag given here (--listen,
 * --metrics-listen; NULL: none), else $BITSLEUTH_LISTEN /
 * $BITSLEUTH_METRICS_LISTEN (non-empty), else the file. The address is
 * checked like the key's, the message naming the flag or variable. The
 * strings must outlive the process's loads (argv does). */
void bs_config_set_address_flags(const char *listen,
    const char *metrics_listen);

/* Loads and validates path into *cfg, resolving *_env secrets from the
 * process environment. Returns 0 when there are no errors (warnings may
 * exist), -1 otherwise; every problem is in *d. cfg must be released with
 * bs_config_release either way. bs_config_load is bs_config_load_for with
 * BS_USES_ALL. */
int bs_config_load(const char *path, struct bs_config *cfg,
    struct bs_diags *d);
int bs_config_load_for(const char *path, unsigned uses,
    struct bs_config *cfg, struct bs_diags *d);
/* Same from a buffer (for tests); `name` is used in messages. */
int bs_config_parse(const char *name, const char *yaml, size_t len,
    struct bs_config *cfg, struct bs_diags *d);
int bs_config_parse_for(const char *name, const char *yaml, size_t len,
    unsigned uses, struct bs_config *cfg, struct bs_diags *d);
void bs_config_release(struct bs_config *cfg);

/* A duration as the config writes them ("500ms", "30s", "5m", "48h",
 * "7d"; a bare integer is multiplied by bare_ms) in s[0..len) -> *ms.
 * Returns 0, or -1 when malformed or too large. */
int bs_config_parse_duration(const char *s, size_t len, long long bare_ms,
    long long *ms);

/* Calls fn with the path of every key the loader accepts, in table order:
 * "listen", "redis.url", ..., "deployments[].branch" (for the tests that
 * keep README's reference and examples/full.yaml complete). */
void bs_config_each_key(void (*fn)(const char *path, void *arg), void *arg);

/* The effective value of the scalar key at dotted path ("redis.url",
 * "queue.shards") in cfg, written to out in a form the config accepts
 * (strings as they are, "" when unset; durations with ms or s; sizes in
 * bytes; true/false). Returns 0, -1 for an unknown key, -2 for a section
 * or a list. Secrets' values are not keys: only their *_env and *_file
 * names can be printed. */
int bs_config_format_value(const struct bs_config *cfg, const char *path,
    char *out, size_t outlen);

#endif
