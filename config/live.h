/* live: the configuration in force in a running process, and the issue
 * scanner compiled from it, replaced together on SIGHUP.
 *
 * Created once by the process (cmd/) and handed to every room that reads
 * the config while running (ingest, worker). Those read `cfg` and
 * `scanner` afresh for each delivery or job and never keep them across a
 * return to the loop, except that a job in flight may keep pointing into
 * the deployments it started with: a replaced config is therefore kept
 * (retired) until bs_live_free, at exit. Reloads are rare and a config is
 * a few KB. Loop thread only. */
#ifndef BS_LIVE_H
#define BS_LIVE_H

#include <stddef.h>

#include "config/config.h"
#include "parsers/issue_scan.h"

/* Users read `cfg` and `scanner` and never write or free them. */
struct bs_live {
	struct bs_config *cfg;            /* never NULL */
	struct bs_scanner *scanner;       /* cfg's issues.*; never NULL */
	/* private */
	struct bs_config **_retired;
	size_t _n_retired;
	char *_path;
	unsigned _uses;
	int _owns_current;           /* 0 while cfg is still the caller's */
};

/* Builds the scanner of cfg's issues.* (patterns, project allow-list,
 * subject cap); NULL with the reason in err on a pattern that does not
 * compile. Free it with bs_scanner_free. */
struct bs_scanner *bs_config_scanner(const struct bs_config *cfg, char *err,
    size_t errlen);

/* Starts from cfg, loaded from path for a command that uses `uses` (enum
 * bs_config_uses; a reload requires the same secrets). cfg stays the
 * caller's and must outlive the live config. Returns NULL with the reason
 * in err when cfg's patterns do not compile. */
struct bs_live *bs_live_new(struct bs_config *cfg, const char *path,
    unsigned uses, char *err, size_t errlen);

/* Loads the file again. A file with errors (each logged with its line and
 * column) or a pattern that does not compile is refused and the running
 * config stays: returns -1. Otherwise the new config and scanner are in
 * force when this returns 0. listen, redis.prefix, the Redis topology
 * (redis.url, redis.sentinel, redis.cluster, redis.db), redis.wait_replicas,
 * redis.wait_timeout_ms and queue.shards are bound to sockets, connections
 * and key names: a change to them is logged as needing a restart; the bound
 * listen port, the topology, the WAIT settings and the shards of the
 * running config are kept (copied into the new one). log_level and
 * log_format take effect (bs_log_apply; a -v/-q level still wins), each
 * change logged ("log: level debug -> info"). */
int bs_live_reload(struct bs_live *l);

/* Frees the scanner, every config this live config loaded, and l. The
 * first config (bs_live_new's) is the caller's. NULL is a no-op. */
void bs_live_free(struct bs_live *l);

#endif
