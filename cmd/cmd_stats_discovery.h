/* cmd_stats_discovery: the discovery part of `bitsleuth stats` (issue
 * 16): for every discover: true project of the config, what its cache
 * in Redis says ({p}:discover:<org>/<project>, worker/discovery.h): when
 * its mapping was learned, how many code deployments it has, and the
 * refreshes that failed since. */
#ifndef BS_CMD_STATS_DISCOVERY_H
#define BS_CMD_STATS_DISCOVERY_H

#include <stddef.h>

#include <yajl/yajl_gen.h>

#include "cmd/cmd_common.h"

struct bs_disc_stat {
	char project[256];          /* "org/project" */
	long long fetched_ms;       /* 0: nothing learned */
	long long code_deployments; /* -1: the answer does not parse */
	long long failures;
	char last_error[300];
	long long last_error_ms;    /* 0: none */
};

/* Reads every discover project's cache through shard 0's connection into
 * *out (malloc'd, *n entries; none: NULL, 0). Returns 0, or -1 with the
 * reason in err: Redis failed, or a project's key
 * ("<prefix>discover:<org>/<project>") is over 599 bytes (never cut: a
 * cut key would be another project's). */
int bs_cmd_discovery_collect(const struct bs_cmd_redis *a,
    struct bs_disc_stat **out, size_t *n, char *err, size_t errlen);

/* "discovery:" then one line per project: "  acme/payments: 3 code
 * deployments, learned 12m05s ago; 2 refreshes failed since (last 5.0s
 * ago: HTTP 503 from Sleuth)" (ages by bs_cmd_human_age; "(last: reason)"
 * when the failure's time is not recorded, no parenthesis when neither
 * is); nothing when no project discovers. */
void bs_cmd_discovery_text(const struct bs_disc_stat *st, size_t n,
    long long now);

/* "discovery": [{"project", "learned_ms", "code_deployments", "failures",
 * "last_error", "last_error_ms"}, ...] (learned_ms and code_deployments
 * null when nothing is learned; code_deployments -1 when the cached
 * answer does not parse; last_error_ms 0 when none). */
void bs_cmd_discovery_json(yajl_gen g, const struct bs_disc_stat *st,
    size_t n);

#endif
