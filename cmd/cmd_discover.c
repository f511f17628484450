/* cmd_discover: check --discover (see cmd_discover.h). */
#include "cmd/cmd_discover.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "config/expand.h"
#include "config/live.h"
#include "worker/discovery.h"

/* Whether project p has a GraphQL key: its own when it names one
 * (graphql_token_env or _file: then never sleuth's, which may be of
 * another organisation), else sleuth's. If not, writes to stderr what
 * to set, naming what is configured. */
static bool
token_ok(const struct bs_config *cfg, const struct bs_project *p)
{
	bool own = p->graphql_token_env || p->graphql_token_file;
	if (own ? p->graphql_token != NULL : cfg->sleuth.graphql_token != NULL)
		return true;
	const char *file = own ? p->graphql_token_file :
	    cfg->sleuth.graphql_token_file;
	const char *env = own ? p->graphql_token_env :
	    cfg->sleuth.graphql_token_env;
	const char *whose = own ? "the project's " : "sleuth.";
	fprintf(stderr, "error: discover %s/%s: no GraphQL token: ", p->org,
	    p->project);
	if (file)
		fprintf(stderr, "%sgraphql_token_file %s gives no key", whose,
		    file);
	else
		fprintf(stderr, "set $%s (%sgraphql_token_env)",
		    env ? env : "SLEUTH_GRAPHQL_TOKEN", whose);
	fprintf(stderr, " (an organisation API key of Sleuth)\n");
	return false;
}

/* Asks for project p and puts the answer in force in l; 0, or -1. */
static int
discover_one(struct bs_live *l, const struct bs_config *cfg,
    const struct bs_project *p)
{
	if (!token_ok(cfg, p))
		return -1;
	struct bs_arena a;
	bs_arena_init(&a);
	struct bs_discovered d;
	char err[300];
	if (bs_discovery_ask_once(cfg, p, &a, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "error: discover %s/%s: %s\n", p->org, p->project,
		    err);
		bs_arena_release(&a);
		return -1;
	}
	printf("discover %s/%s: %zu code deployments from Sleuth", p->org,
	    p->project, d.n);
	if (d.skipped_other)
		printf(" (%zu change sources skipped: not on Bitbucket)",
		    d.skipped_other);
	if (d.skipped_bad)
		printf(" (%zu malformed, skipped)", d.skipped_bad);
	printf("\n");
	for (size_t i = 0; i < d.n; i++) {
		const struct bs_code_deployment *cd = &d.items[i];
		if (!cd->tracking_type || strcasecmp(cd->tracking_type, "MANUAL") == 0)
			continue;
		if (bs_expand_keeps(p, cd))
			printf("warning: %s/%s/%s: deploy tracking type %s, not MANUAL "
			    "(\"Webhook\"): Sleuth registers its deploys itself too, so "
			    "each push counts twice (include_non_manual: true)\n",
			    p->org, p->project, cd->deployment, cd->tracking_type);
		else
			printf("warning: %s/%s/%s: deploy tracking type %s, not MANUAL "
			    "(\"Webhook\"): Sleuth registers its deploys itself; skipped "
			    "(include_non_manual: true registers it as well, and each "
			    "push then counts twice)\n", p->org, p->project,
			    cd->deployment, cd->tracking_type);
	}
	/* bs_live_learn's own log lines (the diff) are not this command's
	 * output: only its warnings (targets reached twice) are shown. */
	enum bs_log_level was = bs_log_threshold;
	if (bs_log_threshold < BS_LOG_WARN)
		bs_log_threshold = BS_LOG_WARN;
	bs_live_learn(l, p->org, p->project, &a, &d, 1);
	bs_log_threshold = was;
	return 0;
}

int
bs_cmd_check_discover(struct bs_config *cfg, const char *path)
{
	char err[256];
	struct bs_live *l = bs_live_new(cfg, path, BS_USES_ALL, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	int rc = 0;
	size_t asked = 0;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		if (!cfg->projects[i].discover)
			continue;
		asked++;
		if (discover_one(l, cfg, &cfg->projects[i]) != 0)
			rc = 1;
	}
	if (!asked)
		printf("discover: no project has discover: true\n");
	printf("targets (%zu):\n", l->n_deps);
	for (size_t i = 0; i < l->n_deps; i++) {
		char line[1024];
		bs_deployment_describe(&l->deps[i], line, sizeof(line));
		printf("  %s\n", line);
	}
	bs_live_free(l);
	return rc;
}
