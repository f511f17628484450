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
#include "parsers/sleuth_graphql.h"

/* Users read `cfg`, `scanner` and `deps` and never write or free them. */
struct bs_live {
	struct bs_config *cfg;            /* never NULL */
	struct bs_scanner *scanner;       /* cfg's issues.*; never NULL */
	/* The targets in force (issue 16): cfg->deployments, then the code
	 * deployments learned for cfg's discover: true projects (in project
	 * order, expanded with config/expand.h under the project's settings,
	 * those bs_expand_keeps refuses left out). What matches jobs (ingest's
	 * lanes, the worker) reads these, not cfg->deployments. A replaced
	 * array is retired like a config: jobs in flight may point into it. */
	const struct bs_deployment *deps;
	size_t n_deps;
	/* cfg's discover: true projects with no mapping learned yet (neither
	 * from Sleuth nor from the cache). While it is not 0 the worker does
	 * not read jobs: a push for such a project would match nothing and be
	 * acknowledged, i.e. lost. */
	size_t discovery_missing;
	/* private */
	struct bs_config **_retired;
	size_t _n_retired;
	struct live_learned *_learned;   /* per project, see live.c */
	size_t _n_learned;
	struct live_set *_sets;          /* the deps arrays made, newest first */
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

/* Puts the code deployments d learned from Sleuth for project
 * org/project (one of cfg's discover: true projects) in force, learned at
 * fetched_ms (wall clock). `arena` holds d's strings and passes to l (it
 * is freed with l, or when a later answer retires it). A project not in
 * cfg (or not discovering) is refused: returns -1 and the arena is freed.
 * Otherwise the targets are recomposed; the change is logged as a diff,
 * one line per target that appeared ("+ org/deployment/env <- repo
 * branches") or disappeared ("- ..."), and a discovered target that a
 * static one (or another project) already reaches is warned of. Returns
 * the number of targets that appeared or disappeared (0: same mapping).
 * The mapping of a project stays across reloads (bs_live_reload
 * recomposes with the new cfg's project settings) until replaced. */
int bs_live_learn(struct bs_live *l, const char *org, const char *project,
    struct bs_arena *arena, const struct bs_discovered *d,
    long long fetched_ms);

/* When the mapping of org/project in force was learned (wall-clock ms),
 * 0 when it has none. */
long long bs_live_learned_at(const struct bs_live *l, const char *org,
    const char *project);

/* Frees the scanner, every config this live config loaded, and l. The
 * first config (bs_live_new's) is the caller's. NULL is a no-op. */
void bs_live_free(struct bs_live *l);

#endif
