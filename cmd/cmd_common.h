/* cmd_common: what several subcommands share: option parsing of -c, config
 * loading with diagnostics on stderr, --since durations. */
#ifndef BS_CMD_COMMON_H
#define BS_CMD_COMMON_H

#include <getopt.h>

#include <hiredis/hiredis.h>
#include <yajl/yajl_gen.h>

#include "common/clock.h"
#include "queue/keys.h"
#include "queue/redis_client.h"
#include "config/config.h"

/* Largest payload file a command reads (replay, check --explain-event). */
#define BS_CMD_MAX_PAYLOAD (64u << 20)

/* The long options of scan, for getopt_long: -c --config, -h --help,
 * --explain (and check's --explain-event). */
extern const struct option bs_cmd_config_opts[];
/* run/serve/work: -c, -h, -v --verbose, -q --quiet, --listen ADDR ('L'),
 * --metrics-listen ADDR ('M'). */
extern const struct option bs_cmd_run_opts[];
/* check: -c, -h, --explain-event ('E'), --strict ('S'), --print KEY
 * ('P'). */
extern const struct option bs_cmd_check_opts[];

/* -v (verbose > 0: debug) or -q (quiet 1: warn, 2 or more: error) as
 * the log level override (bs_log_set_override), which outlives SIGHUP;
 * neither: nothing. The later flag wins when both are given: pass the
 * one seen last with the other 0. */
void bs_cmd_log_flags(int verbose, int quiet);

/* The shards of cfg's queue: queue.shards, 1..BS_SHARDS_MAX. */
int bs_cmd_n_shards(const struct bs_config *cfg);

/* The Redis connection settings of cfg (pointers into cfg). */
void bs_cmd_redis_config(const struct bs_config *cfg,
    struct bs_redis_config *out);

/* Default config path when -c is not given: $BITSLEUTH_CONFIG, else
 * ./bitsleuth.yaml. */
const char *bs_default_config_path(void);

/* Loads path for a command that uses `uses` (enum bs_config_uses: only
 * those secrets are required); prints every error (and with
 * print_warnings every warning) as FILE:LINE:COL to stderr. Returns 0 on
 * success (cfg loaded), -1 on errors (cfg released). */
int bs_load_config_or_report(const char *path, unsigned uses,
    struct bs_config *cfg, int print_warnings);

/* Reads a whole file (at most max bytes); returns malloc'd buffer or NULL
 * with a message on stderr. */
char *bs_read_file(const char *path, size_t max, size_t *len);

/* --limit N of command cmd: 1..max (max 0: no upper bound) into *out;
 * 0, or -1 after printing "bitsleuth CMD: bad --limit ..." to stderr. */
int bs_cmd_parse_limit(const char *cmd, const char *arg, long max,
    size_t *out);

/* A duration as given to --since, in the config's forms (see
 * bs_config_parse_duration; a bare number is seconds) -> milliseconds; -1
 * when malformed or too large. */
long long bs_parse_duration(const char *s);

/* A point in time as given to `replay --date`: ISO-8601 in UTC,
 * "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (the fraction is cut to milliseconds),
 * or unix milliseconds -> unix ms; -1 when malformed, not UTC, not a real
 * date, or outside BS_UTC_TIME_MIN (1973-03-03T09:46:40Z, so that unix
 * seconds are refused rather than read as a day in 1970) .. 9999. */
#define BS_UTC_TIME_MIN 100000000000LL
long long bs_parse_utc_time(const char *s);


/* Who runs this command, for the replay log: $USER, else $LOGNAME, else
 * the account name of the real uid, else "uid N". Points to static or
 * environment storage. */
const char *bs_cmd_actor(void);

/* One shard of the queue (queue.shards, queue/shard.h) as a command sees
 * it: its keys and a synchronous connection to its master. */
struct bs_cmd_shard {
	struct bs_keys keys;
	redisContext *rc;
};

/* What an operator command works with: the config (loaded needing only
 * Redis' own secret), the connection settings (for bs_redis_sync_wait),
 * and every shard (n_shards >= 1, one connection each); keys and rc are
 * shard 0's (the whole queue when it is not sharded). */
struct bs_cmd_redis {
	struct bs_config cfg;
	struct bs_redis_config rcfg;
	struct bs_keys keys;
	redisContext *rc;
	int n_shards;
	struct bs_cmd_shard *shards;
};

/* Loads path and connects to every shard. Returns 0, or -1 after printing
 * the reason ("bitsleuth CMD: ...") to stderr, with nothing left to
 * close. */
int bs_cmd_redis_open(struct bs_cmd_redis *a, const char *path,
    const char *cmd);
void bs_cmd_redis_close(struct bs_cmd_redis *a);

/* A yajl generator for --json output that refuses invalid UTF-8 (values
 * are checked or cleaned before they are written). */
yajl_gen bs_cmd_json_new(void);
/* Writes g's document and a newline to stdout, then frees g. */
void bs_cmd_json_print(yajl_gen g);
/* Writes s[0..len) (NULL: "") as a JSON string: as it is when valid UTF-8,
 * else with every non-ASCII byte as '?', so that bytes read from Redis can
 * never leave the document broken. */
void bs_cmd_json_str(yajl_gen g, const char *s, size_t len);

/* An age for people: "-" (negative: unknown), "4.2s", "12m05s", "3h07m",
 * "9d". */
void bs_cmd_human_age(long long ms, char *out, size_t outlen);

#endif
