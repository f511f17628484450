/* live: the configuration in force and its scanner (see live.h). */
#include "config/live.h"

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
	if (strcmp(next->listen, old->listen) != 0 ||
	    strcmp(next->redis.url, old->redis.url) != 0 ||
	    strcmp(next->redis.prefix, old->redis.prefix) != 0)
		log_warn("listen, redis.url and redis.prefix changes need a restart");
	next->listen_port = old->listen_port;
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
