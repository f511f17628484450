/* live: the configuration in force and its scanner (see live.h). */
#include "config/live.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

struct bs_scanner *
bs_config_scanner(const struct bs_config *cfg, char *err, size_t errlen)
{
	struct bs_scan_options opt = {
		.patterns = (const char *const *)cfg->issues.patterns,
		.n_patterns = cfg->issues.n_patterns,
		.projects = (const char *const *)cfg->issues.projects,
		.n_projects = cfg->issues.n_projects,
		.stop_list = (const char *const *)cfg->issues.stop_list,
		.n_stop_list = cfg->issues.n_stop_list,
		.stop_list_builtin = cfg->issues.stop_list == NULL,
		.max_subject = cfg->limits.max_string,
	};
	return bs_scanner_new(&opt, err, errlen);
}

struct bs_live *
bs_live_new(struct bs_config *cfg, const char *path, unsigned uses,
    char *err, size_t errlen)
{
	struct bs_scanner *sc = bs_config_scanner(cfg, err, errlen);
	if (!sc)
		return NULL;
	struct bs_live *l = xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	l->scanner = sc;
	l->_path = xstrdup(path);
	l->_uses = uses;
	l->_owns_current = 0;
	return l;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool
same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_str(a[i], b[i]))
			return false;
	return true;
}

static char **
dup_list(struct bs_arena *a, char *const *src, size_t n)
{
	if (!src)
		return NULL;
	char **out = bs_arena_alloc(a, (n ? n : 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = bs_arena_strdup(a, src[i]);
	return out;
}

/* The Redis topology (url, sentinel, cluster, db), WAIT and the shards
 * are what the connections and the queue's keys were made with: a change
 * is logged as needing a restart and the running values stay in force
 * (copied into next). Also warns of listen and redis.prefix changes. */
static void
keep_bound(struct bs_config *next, const struct bs_config *old)
{
	const char *changed[8];
	size_t n = 0;
	if (strcmp(next->listen, old->listen) != 0)
		changed[n++] = "listen";
	if (!same_str(next->metrics_listen, old->metrics_listen))
		changed[n++] = "metrics_listen";
	if (strcmp(next->redis.prefix, old->redis.prefix) != 0)
		changed[n++] = "redis.prefix";
	bool topo = !same_str(next->redis.url, old->redis.url) ||
	    !same_str(next->redis.sentinel.master, old->redis.sentinel.master) ||
	    !same_list(next->redis.sentinel.addresses,
	    next->redis.sentinel.n_addresses, old->redis.sentinel.addresses,
	    old->redis.sentinel.n_addresses) ||
	    next->redis.db != old->redis.db ||
	    !same_list(next->redis.cluster, next->redis.n_cluster,
	    old->redis.cluster, old->redis.n_cluster);
	if (topo)
		changed[n++] = "the redis topology (url, sentinel, cluster, db)";
	if (next->redis.wait_replicas != old->redis.wait_replicas ||
	    next->redis.wait_timeout_ms != old->redis.wait_timeout_ms)
		changed[n++] = "redis.wait_replicas/wait_timeout_ms";
	if (next->queue.shards != old->queue.shards)
		changed[n++] = "queue.shards";
	if (n == 0)
		return;
	char list[256];
	size_t w = 0;
	list[0] = '\0';
	for (size_t i = 0; i < n && w < sizeof(list); i++) {
		int k = snprintf(list + w, sizeof(list) - w, "%s%s", i ? ", " : "",
		    changed[i]);
		w += k > 0 ? (size_t)k : 0;
	}
	log_warn("changes of %s need a restart; until then the running values "
	    "stay", list);
	struct bs_arena *a = &next->arena;
	if (topo) {
		next->redis.url = bs_arena_strdup(a, old->redis.url);
		next->redis.sentinel.master = bs_arena_strdup(a,
		    old->redis.sentinel.master);
		next->redis.sentinel.addresses = dup_list(a,
		    old->redis.sentinel.addresses, old->redis.sentinel.n_addresses);
		next->redis.sentinel.n_addresses = old->redis.sentinel.n_addresses;
		next->redis.db = old->redis.db;
		next->redis.cluster = dup_list(a, old->redis.cluster,
		    old->redis.n_cluster);
		next->redis.n_cluster = old->redis.n_cluster;
	}
	next->redis.wait_replicas = old->redis.wait_replicas;
	next->redis.wait_timeout_ms = old->redis.wait_timeout_ms;
	next->queue.shards = old->queue.shards;
}

/* log_level and log_format of next in force (bs_log_apply; -v/-q still
 * wins over the level), each change told in a line that is always
 * written, whatever the new level. */
static void
apply_log(const struct bs_config *next, const struct bs_config *old)
{
	enum bs_log_level lvl = bs_log_threshold;
	enum bs_log_format fmt = bs_log_format;
	if (bs_log_apply(next->log_level, next->log_format) != 0)
		return;                  /* config_check refused those already */
	if (bs_log_format != fmt)
		bs_log_impl(BS_LOG_INFO, "log: format %s -> %s",
		    bs_log_format_name(fmt), bs_log_format_name(bs_log_format));
	if (bs_log_threshold != lvl)
		bs_log_impl(BS_LOG_INFO, "log: level %s -> %s",
		    bs_log_level_name(lvl), bs_log_level_name(bs_log_threshold));
	else if (bs_log_overridden() && next->log_level && old->log_level &&
	    strcmp(next->log_level, old->log_level) != 0)
		bs_log_impl(BS_LOG_INFO, "log: log_level %s not applied: the "
		    "command line's -v/-q keeps %s", next->log_level,
		    bs_log_level_name(bs_log_threshold));
}

static void
config_free(struct bs_config *cfg)
{
	bs_config_release(cfg);
	free(cfg);
}

static void
log_refusal(const char *path, const struct bs_diags *d)
{
	log_error("reload of %s refused (%zu errors); keeping the running "
	    "config", path, d->errors);
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].severity == BS_DIAG_ERROR)
			log_error("  %s:%d:%d: %s", path, d->items[i].line,
			    d->items[i].column, d->items[i].message);
}

int
bs_live_reload(struct bs_live *l)
{
	struct bs_config *next = xcalloc(1, sizeof(*next));
	struct bs_diags d;
	bs_diags_init(&d);
	int rc = bs_config_load_for(l->_path, l->_uses, next, &d);
	if (rc != 0)
		log_refusal(l->_path, &d);
	bs_diags_release(&d);
	if (rc != 0) {
		config_free(next);
		return -1;
	}
	char err[256];
	struct bs_scanner *sc = bs_config_scanner(next, err, sizeof(err));
	if (!sc) {
		log_error("reload refused: %s", err);
		config_free(next);
		return -1;
	}
	struct bs_config *old = l->cfg;
	keep_bound(next, old);
	next->listen_port = old->listen_port;
	next->metrics_listen_port = old->metrics_listen_port;
	bs_scanner_free(l->scanner);
	/* The first config is the caller's; later ones are retired, not
	 * freed: jobs in flight may point into their deployments. */
	if (l->_owns_current) {
		l->_retired = xrealloc(l->_retired,
		    (l->_n_retired + 1) * sizeof(*l->_retired));
		l->_retired[l->_n_retired++] = old;
	}
	l->_owns_current = 1;
	l->cfg = next;
	l->scanner = sc;
	apply_log(next, old);
	log_info("reloaded %s: %zu deployments", l->_path, next->n_deployments);
	return 0;
}

void
bs_live_free(struct bs_live *l)
{
	if (!l)
		return;
	bs_scanner_free(l->scanner);
	if (l->_owns_current)
		config_free(l->cfg);
	for (size_t i = 0; i < l->_n_retired; i++)
		config_free(l->_retired[i]);
	free(l->_retired);
	free(l->_path);
	free(l);
}
