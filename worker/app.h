/* app: the running process: one libevent loop and what hangs off it.
 *
 * `run` has both halves (ingest and consumer), `serve` only ingest, `work`
 * only the consumer. Two Redis connections: `redis` for short commands
 * (enqueue, finish, promote) and `redis_block` for the consumer's blocking
 * XREADGROUP, so a blocked read never delays an enqueue. Loop thread only. */
#ifndef BS_APP_H
#define BS_APP_H

#include <event2/event.h>

#include "deploy/http_client.h"
#include "parsers/issue_scan.h"
#include "queue/keys.h"
#include "queue/redis_client.h"
#include "worker/config.h"
#include "worker/metrics.h"

struct bs_ingest;
struct bs_consumer;
struct bs_ordering;

enum bs_app_mode { BS_MODE_RUN = 0, BS_MODE_SERVE, BS_MODE_WORK };

struct bs_app {
	enum bs_app_mode mode;
	struct event_base *base;
	struct bs_config *cfg;        /* current config (replaced on SIGHUP) */
	struct bs_config **_retired;  /* earlier configs, freed at exit */
	size_t _n_retired;
	struct bs_config *_retired_first; /* the caller's, not ours to free */
	char *config_path;
	struct bs_keys keys;
	struct bs_redis *redis;
	struct bs_redis *redis_block; /* NULL in serve mode */
	struct bs_scanner *scanner;
	struct bs_http *http_out;     /* NULL in serve mode */
	struct bs_metrics metrics;
	struct bs_ingest *ingest;     /* NULL in work mode */
	struct bs_consumer *consumer; /* NULL in serve mode */
	struct bs_ordering *ordering; /* per-target push order; NULL in serve mode */
	struct event *_sigterm, *_sigint, *_sighup, *_drain_timer;
	int stopping;
};

/* Builds everything from cfg (taking ownership of cfg) and runs the loop
 * until SIGTERM/SIGINT has drained. Returns the process exit status. */
int bs_app_main(enum bs_app_mode mode, struct bs_config *cfg,
    const char *config_path);

/* The secrets a mode needs (enum bs_config_uses): serve the webhook
 * secret, work the Sleuth tokens, run both; all of them Redis. */
unsigned bs_app_config_uses(enum bs_app_mode mode);

/* Makes a Redis connection config from cfg (pointers into cfg). */
void bs_app_redis_config(const struct bs_config *cfg,
    struct bs_redis_config *out);

/* Builds the scanner of cfg's issues.*; NULL with err on a bad pattern. */
struct bs_scanner *bs_app_scanner(const struct bs_config *cfg, char *err,
    size_t errlen);

#endif
