/* cmd_check: the subcommands that look without running: `check` (the
 * config's diagnostics and a summary of what it would do, and
 * --explain-event: what one payload would register) and `scan` (the issue
 * keys of a text, with the config's patterns). */
#include "cmd/commands.h"

#include <getopt.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd_common.h"
#include "cmd/cmd_discover.h"
#include "common/xalloc.h"
#include "config/live.h"
#include "deploy/match.h"
#include "deploy/sleuth.h"
#include "ingest/intake.h"
#include "parsers/event_dump.h"
#include "parsers/issue_scan.h"
#include "parsers/stop_list.h"

/* === check ============================================================== */

/* One line naming the Redis topology, the shards and their keys, and one
 * more when acknowledged writes WAIT for replicas. */
static void
print_redis(const struct bs_config *cfg)
{
	int shards = cfg->queue.shards;
	if (cfg->redis.sentinel.master)
		printf("redis:        sentinel master %s via %zu sentinel%s, db %d",
		    cfg->redis.sentinel.master, cfg->redis.sentinel.n_addresses,
		    cfg->redis.sentinel.n_addresses == 1 ? "" : "s", cfg->redis.db);
	else if (cfg->redis.n_cluster)
		printf("redis:        cluster, %zu seed node%s", cfg->redis.n_cluster,
		    cfg->redis.n_cluster == 1 ? "" : "s");
	else
		printf("redis:        %s", cfg->redis.url ? cfg->redis.url : "(none)");
	if (shards > 1)
		printf(", %d shards (keys {%s:0}:* .. {%s:%d}:*)\n", shards,
		    cfg->redis.prefix, cfg->redis.prefix, shards - 1);
	else
		printf(" (keys {%s}:*)\n", cfg->redis.prefix);
	if (cfg->redis.wait_replicas > 0)
		printf("              acknowledged writes wait for %d replica%s "
		    "(%d ms)\n", cfg->redis.wait_replicas,
		    cfg->redis.wait_replicas == 1 ? "" : "s",
		    cfg->redis.wait_timeout_ms);
}

/* The streams for other readers (queue.events*). */
static void
print_readers(const struct bs_config *cfg)
{
	if (!cfg->queue.events) {
		printf("readers:      off (queue.events: false): no {p}:events, "
		    "no {p}:deploys\n");
		return;
	}
	long long ttl = (long long)cfg->queue.events_ttl_ms;
	printf("readers:      {p}:events and {p}:deploys, %s, kept %lld%s "
	    "(at most ~%lld entries)\n", cfg->queue.events_format,
	    ttl % 86400000 == 0 ? ttl / 86400000 : ttl % 3600000 == 0 ?
	    ttl / 3600000 : ttl / 1000, ttl % 86400000 == 0 ? "d" :
	    ttl % 3600000 == 0 ? "h" : "s", cfg->queue.events_maxlen);
}

/* Where target i of cfg->deployments is written: "deployments[i]", or
 * "projects[p].code_deployments[j]" (the projects' targets follow the
 * flat ones, one per environment in file order: config.h). */
static void
target_where(const struct bs_config *cfg, size_t i, char *out, size_t outlen)
{
	size_t k = 0;
	while (k < cfg->n_deployments && cfg->deployments[k].origin ==
	    BS_ORIGIN_FLAT)
		k++;
	if (i < k) {
		snprintf(out, outlen, "deployments[%zu]", i);
		return;
	}
	for (size_t p = 0; p < cfg->n_projects; p++) {
		const struct bs_project *pr = &cfg->projects[p];
		for (size_t j = 0; !pr->discover && j < pr->n_code_deployments; j++) {
			k += pr->code_deployments[j].n_envs;
			if (i < k) {
				snprintf(out, outlen, "projects[%zu].code_deployments[%zu]",
				    p, j);
				return;
			}
		}
	}
	snprintf(out, outlen, "deployments[%zu]", i);
}

/* One target: bs_deployment_describe's line, then its track, where it is
 * written (`where`), its line and whether it is dry-run. */
static void
print_target(const struct bs_config *cfg, const struct bs_deployment *d,
    const char *where)
{
	char line[1024];
	bs_deployment_describe(d, line, sizeof(line));
	int dry = d->dry_run == 1 || (d->dry_run == -1 && cfg->sleuth.dry_run);
	printf("  %s (%s; %s, line %d%s)\n", line, d->track == BS_TRACK_PUSH ?
	    "push" : d->track == BS_TRACK_MERGE ? "merge" : "tag", where, d->line,
	    dry ? "; dry run" : "");
}

/* The targets of the file (cfg->deployments: the flat ones, then the
 * projects' in order, config.h) with where each is written, then the
 * projects whose targets are learned from Sleuth. */
static void
print_targets(const struct bs_config *cfg)
{
	printf("targets:      %zu\n", cfg->n_deployments);
	for (size_t i = 0; i < cfg->n_deployments; i++) {
		char where[128];
		target_where(cfg, i, where, sizeof(where));
		print_target(cfg, &cfg->deployments[i], where);
	}
	for (size_t i = 0; i < cfg->n_projects; i++)
		if (cfg->projects[i].discover)
			printf("  %s/%s: discovered from Sleuth (check --discover shows "
			    "its targets)\n", cfg->projects[i].org,
			    cfg->projects[i].project);
}

static void
print_summary(const struct bs_config *cfg)
{
	printf("listen:       http://%s:%d/hooks/bitbucket\n", cfg->listen_host,
	    cfg->listen_port);
	print_redis(cfg);
	print_readers(cfg);
	printf("signatures:   %s\n", cfg->bitbucket.secret ? "required (secret set)" :
	    cfg->bitbucket.allow_unsigned ? "NOT checked (allow_unsigned: true)" :
	    "required (secret NOT set here: run and serve refuse to start)");
	printf("sleuth:       %s%s\n", cfg->sleuth.base_url,
	    cfg->sleuth.dry_run ? " (dry_run: nothing is sent)" : "");
	const struct bs_bitbucket_api *api = &cfg->bitbucket.api;
	bool creds = api->token || (api->username && api->app_password);
	printf("bitbucket api: cloud %s, data center %s; %s\n", api->cloud_url,
	    api->server_url ? api->server_url : "(not set)", !creds ?
	    "no credentials: not called (unprovable commit lists are left out)" :
	    api->token ? "token (Bearer)" : "username + app password (Basic)");
	if (creds)
		printf("backfill:     at most %zu commits, %d requests/h (burst %d), "
		    "max_wait %lld ms\n", cfg->backfill.max_commits,
		    api->requests_per_hour, api->burst,
		    (long long)cfg->backfill.max_wait_ms);
	printf("issue keys:  ");
	for (size_t i = 0; i < cfg->issues.n_patterns; i++)
		printf(" %s", cfg->issues.patterns[i]);
	printf("\n");
	printf("projects:    ");
	for (size_t i = 0; i < cfg->issues.n_projects; i++)
		printf(" %s", cfg->issues.projects[i]);
	printf("%s\n", cfg->issues.n_projects ? "" : " (any)");
	size_t ns = cfg->issues.n_stop_list;
	const char *const *stops = (const char *const *)cfg->issues.stop_list;
	if (!stops)
		stops = bs_stop_list_builtin(&ns);
	printf("stop-list:    %s, %zu entr%s%s", cfg->issues.stop_list ?
	    "issues.stop_list" : "built-in", ns, ns == 1 ? "y" : "ies",
	    ns ? ":" : "");
	for (size_t i = 0; i < ns; i++)
		printf("%s%s", i % 12 == 0 ? "\n  " : " ", stops[i]);
	printf("\n");
	print_targets(cfg);
}

/* Parses PAYLOAD as event KEY and prints what would be registered. */
static int
explain_event(const struct bs_config *cfg, const char *key, const char *file)
{
	size_t len;
	char *body = bs_read_file(file, BS_CMD_MAX_PAYLOAD, &len);
	if (!body)
		return 1;
	char err[256];
	struct bs_scanner *sc = bs_config_scanner(cfg, err, sizeof(err));
	if (!sc) {
		fprintf(stderr, "bitsleuth: %s\n", err);
		free(body);
		return 1;
	}
	struct bs_intake in = { .cfg = cfg, .scanner = sc };
	struct bs_delivery d = {
		.event_key = key, .content_type = "application/json", .body = body,
		.len = len, .skip_signature = 1,
	};
	struct bs_intake_result r;
	bs_intake_process(&in, &d, bs_now_ms(), &r);
	int rc = 0;
	if (r.verdict != BS_INTAKE_QUEUE) {
		printf("%d %s: %s\n", r.status, r.code, r.reason);
		rc = r.verdict == BS_INTAKE_REFUSED ? 1 : 0;
	} else {
		printf("== event\n");
		bs_event_dump(&r.job.ev, stdout);
		printf("== issue keys\n");
		for (size_t i = 0; i < r.job.n_keys; i++)
			printf("%s (%s, change %u, commit %u)\n", r.job.keys[i].key,
			    bs_key_where_name(r.job.keys[i].where), r.job.keys[i].change,
			    r.job.keys[i].commit);
		size_t n = bs_match_job(cfg->deployments, cfg->n_deployments, &r.job,
		    NULL, 0);
		struct bs_target *t = xcalloc(n ? n : 1, sizeof(*t));
		n = bs_match_job(cfg->deployments, cfg->n_deployments, &r.job, t, n);
		printf("== %zu deploy%s\n", n, n == 1 ? "" : "s");
		struct bs_sleuth_opts opt = { .issue_url = cfg->issues.url,
			.max_commits = cfg->sleuth.max_commits };
		for (size_t i = 0; i < n; i++) {
			const struct bs_deployment *dep = t[i].dep;
			char name[512];
			bs_target_name(&t[i], name, sizeof(name));
			int dry = dep->dry_run == 1 ||
			    (dep->dry_run == -1 && cfg->sleuth.dry_run);
			char where[128];
			target_where(cfg, t[i].dep_index, where, sizeof(where));
			printf("# %s (%s at line %d, %s %s%s): %s, "
			    "Authorization: Bearer $%s\n", name, where,
			    dep->line, t[i].change == SIZE_MAX ? "merge into" :
			    dep->track == BS_TRACK_TAG ? "tag" : "push to",
			    t[i].branch ? t[i].branch : "?",
			    t[i].send_branch ? ", matched by a pattern" : "",
			    dry ? "dry run, would not be sent" : "would be sent",
			    dep->token_env ? dep->token_env : cfg->sleuth.token_env);
			size_t blen;
			char *url = bs_sleuth_url(cfg->sleuth.base_url, dep);
			char *b = bs_sleuth_body(&r.job, &t[i], &opt, &blen);
			printf("POST %s\n%.*s\n", url, (int)blen, b);
			free(url);
			free(b);
		}
		free(t);
	}
	bs_intake_result_release(&r);
	bs_scanner_free(sc);
	free(body);
	return rc;
}

/* check --print KEY: the effective value of one scalar key on stdout
 * (an empty line when it is unset, like redis.url under Sentinel or
 * Cluster), nothing else. The config is loaded needing no secret. */
static int
print_key(const char *path, const char *key)
{
	struct bs_config cfg;
	if (bs_load_config_or_report(path, 0, &cfg, 0) != 0)
		return 1;
	char buf[4096];
	int r = bs_config_format_value(&cfg, key, buf, sizeof(buf));
	if (r == 0)
		printf("%s\n", buf);
	else if (r == -2)
		fprintf(stderr, "bitsleuth check: --print %s: not a scalar key (a "
		    "section or a list)\n", key);
	else
		fprintf(stderr, "bitsleuth check: --print: unknown key '%s' (a "
		    "dotted path like redis.url, listen or queue.shards)\n", key);
	bs_config_release(&cfg);
	return r == 0 ? 0 : 2;
}

int
bs_cmd_check(int argc, char **argv)
{
	const char *path = bs_default_config_path();
	const char *explain = NULL, *print = NULL;
	bool strict = false, discover = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", bs_cmd_check_opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'E': explain = optarg; break;
		case 'S': strict = true; break;
		case 'P': print = optarg; break;
		case 'D': discover = true; break;
		case 'h': return bs_cmd_help("check");
		default: return 2;
		}
	}
	if (explain && optind >= argc) {
		fprintf(stderr, "bitsleuth check: --explain-event KEY needs a PAYLOAD.json\n");
		return 2;
	}
	if (!explain && optind < argc) {
		fprintf(stderr, "bitsleuth check: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	if (print) {
		if (explain) {
			fprintf(stderr, "bitsleuth check: --print and --explain-event "
			    "do not go together\n");
			return 2;
		}
		return print_key(path, print);
	}
	struct bs_config cfg;
	/* Without --strict a secret missing from this shell is a warning:
	 * the file is still judged; run/serve/work refuse to start. */
	unsigned uses = BS_USES_ALL | (strict ? 0 : BS_USES_LENIENT);
	if (bs_load_config_or_report(path, uses, &cfg, 1) != 0)
		return 1;
	int rc = 0;
	if (cfg.issues.n_projects == 0)
		fprintf(stderr, "%s: warning: issues.projects is empty: keys of any "
		    "project are accepted, and only the stop-list (%s) keeps "
		    "tokens like UTF-8 or SHA-256 from becoming issues; list your "
		    "Jira projects, e.g. issues: {projects: [SHOP, OPS]}\n", path,
		    cfg.issues.stop_list ? "issues.stop_list" : "built-in");
	if (explain)
		rc = explain_event(&cfg, explain, argv[optind]);
	else {
		printf("%s: ok\n", path);
		if (discover)
			rc = bs_cmd_check_discover(&cfg, path);
		else
			print_summary(&cfg);
	}
	bs_config_release(&cfg);
	return rc;
}


/* === scan =============================================================== */

static void
on_key(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	(void)pattern;
	(void)start;
	(void)arg;
	printf("%.*s\n", (int)len, key);
}

static void
on_explain(const char *pattern_name, const char *key, size_t len,
    size_t start, int allowed, void *arg)
{
	const struct bs_scanner *sc = arg;
	const char *why = "";
	if (!allowed)
		why = bs_scanner_verdict(sc, key, len) == BS_SCAN_STOPPED ?
		    "\tdropped: on the stop-list (issues.stop_list)" :
		    "\tdropped: project not in issues.projects";
	printf("%.*s\tpattern %s\tbytes %zu-%zu%s\n", (int)len, key, pattern_name,
	    start, start + len, why);
}

int
bs_cmd_scan(int argc, char **argv)
{
	const char *path = NULL;
	int explain = 0;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:hx", bs_cmd_config_opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'x': explain = 1; break;
		case 'h': return bs_cmd_help("scan");
		default: return 2;
		}
	}
	char *text = NULL;
	size_t len = 0;
	if (optind >= argc || strcmp(argv[optind], "-") == 0) {
		text = bs_read_file("-", 1u << 20, &len);
	} else {
		/* All remaining arguments, joined by spaces. */
		size_t cap = 1;
		for (int i = optind; i < argc; i++)
			cap += strlen(argv[i]) + 1;
		text = xmalloc(cap);
		len = 0;
		for (int i = optind; i < argc; i++) {
			size_t n = strlen(argv[i]);
			if (i > optind)
				text[len++] = ' ';
			memcpy(text + len, argv[i], n);
			len += n;
		}
		text[len] = '\0';
	}
	if (!text)
		return 1;
	struct bs_config cfg;
	int have_cfg = 0;
	if (path) {
		if (bs_load_config_or_report(path, 0, &cfg, 0) != 0) {
			free(text);
			return 1;
		}
		have_cfg = 1;
	}
	static const char *const jira[] = { "jira" };
	struct bs_scan_options opt = { .patterns = jira, .n_patterns = 1,
		.stop_list_builtin = 1 };
	if (have_cfg) {
		opt.patterns = (const char *const *)cfg.issues.patterns;
		opt.n_patterns = cfg.issues.n_patterns;
		opt.projects = (const char *const *)cfg.issues.projects;
		opt.n_projects = cfg.issues.n_projects;
		opt.stop_list = (const char *const *)cfg.issues.stop_list;
		opt.n_stop_list = cfg.issues.n_stop_list;
		opt.stop_list_builtin = cfg.issues.stop_list == NULL;
	}
	char err[256];
	struct bs_scanner *sc = bs_scanner_new(&opt, err, sizeof(err));
	int rc = 0;
	if (!sc) {
		fprintf(stderr, "bitsleuth scan: %s\n", err);
		rc = 1;
	} else {
		int n = explain ? bs_scanner_explain(sc, text, len, on_explain, sc) :
		    bs_scanner_scan(sc, text, len, on_key, NULL);
		if (n < 0) {
			fprintf(stderr, "bitsleuth scan: a pattern hit its match limit; "
			    "keys after that point were not looked for\n");
			rc = 1;
		}
		bs_scanner_free(sc);
	}
	if (have_cfg)
		bs_config_release(&cfg);
	free(text);
	return rc;
}
