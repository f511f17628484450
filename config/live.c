/* live: the configuration in force and its scanner (see live.h). */
#include "config/live.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "config/expand.h"

/* One project's learned mapping (bs_live_learn). Its arena holds d's
 * strings, which the composed targets point into. */
struct live_learned {
	char *org, *project;        /* malloc'd */
	struct bs_arena arena;
	struct bs_discovered d;
	long long fetched_ms;
};

/* An arena kept until bs_live_free: a composed deps array, or a learned
 * mapping that was replaced (jobs in flight may point into either). */
struct live_set {
	struct bs_arena arena;
	struct live_set *next;
};

static void
keep_arena(struct bs_live *l, struct bs_arena *a)
{
	struct live_set *s = xcalloc(1, sizeof(*s));
	s->arena = *a;
	s->next = l->_sets;
	l->_sets = s;
	bs_arena_init(a);
}

static const struct live_learned *
find_learned(const struct live_learned *v, size_t n, const char *org,
    const char *project)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].org, org) == 0 && strcmp(v[i].project, project) == 0)
			return &v[i];
	return NULL;
}

static bool
same_target(const struct bs_deployment *a, const struct bs_deployment *b)
{
	return a->org && b->org && a->deployment && b->deployment &&
	    a->environment && b->environment && strcmp(a->org, b->org) == 0 &&
	    strcmp(a->deployment, b->deployment) == 0 &&
	    strcmp(a->environment, b->environment) == 0;
}

/* cfg's deployments, then the learned targets of its discover projects
 * (from learned[0..n)), into a fresh arena *into; *missing = discover
 * projects with no mapping. warn: log the discovered targets another
 * target reaches already. */
static void
compose(const struct bs_config *cfg, const struct live_learned *learned,
    size_t n, struct bs_arena *into, const struct bs_deployment **deps,
    size_t *n_deps, size_t *missing, bool warn)
{
	size_t total = cfg->n_deployments;
	*missing = 0;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		if (!p->discover)
			continue;
		const struct live_learned *ll = find_learned(learned, n, p->org,
		    p->project);
		if (!ll) {
			(*missing)++;
			continue;
		}
		for (size_t j = 0; j < ll->d.n; j++)
			total += ll->d.items[j].n_envs;
	}
	struct bs_deployment *out = bs_arena_alloc(into,
	    (total ? total : 1) * sizeof(*out));
	size_t k = 0;
	for (size_t i = 0; i < cfg->n_deployments; i++)
		out[k++] = cfg->deployments[i];
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		const struct live_learned *ll = p->discover ?
		    find_learned(learned, n, p->org, p->project) : NULL;
		for (size_t j = 0; ll && j < ll->d.n; j++) {
			const struct bs_code_deployment *cd = &ll->d.items[j];
			if (!bs_expand_keeps(p, cd))
				continue;
			size_t from = k;
			k += bs_expand_code_deployment(into, p, cd,
			    BS_ORIGIN_DISCOVERED, &out[k]);
			for (size_t t = from; warn && t < k; t++)
				for (size_t o = 0; o < from; o++)
					if (same_target(&out[t], &out[o])) {
						log_warn("discover %s/%s: target %s/%s/%s is also "
						    "reached by %s (line %d): a push may be "
						    "registered twice", p->org, p->project,
						    out[t].org, out[t].deployment,
						    out[t].environment, out[o].origin ==
						    BS_ORIGIN_DISCOVERED ? "another discovered "
						    "project" : "the config file", out[o].line);
						break;
					}
		}
	}
	*deps = out;
	*n_deps = k;
}

/* Recomposes l's targets under its config (a new set, the old one kept). */
static void
recompose(struct bs_live *l, bool warn)
{
	struct bs_arena a;
	bs_arena_init(&a);
	compose(l->cfg, l->_learned, l->_n_learned, &a, &l->deps, &l->n_deps,
	    &l->discovery_missing, warn);
	keep_arena(l, &a);
}

/* The descriptions of the targets of project org/project in deps; *cut
 * is set when one did not fit its line or there were more than max (the
 * lines then cannot prove two mappings equal). */
static size_t
describe_project(const struct bs_deployment *deps, size_t n, const char *org,
    const char *project, char (*lines)[512], size_t max, bool *cut)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (deps[i].origin == BS_ORIGIN_DISCOVERED &&
		    strcmp(deps[i].org, org) == 0 && deps[i].project &&
		    strcmp(deps[i].project, project) == 0) {
			if (k == max) {
				*cut = true;
				break;
			}
			bs_deployment_describe(&deps[i], lines[k], sizeof(lines[0]));
			*cut |= strlen(lines[k]) + 1 >= sizeof(lines[0]);
			k++;
		}
	return k;
}

static bool
has_line(char (*lines)[512], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(lines[i], s) == 0)
			return true;
	return false;
}

#define LIVE_DIFF_MAX 2048

int
bs_live_learn(struct bs_live *l, const char *org, const char *project,
    struct bs_arena *arena, const struct bs_discovered *d,
    long long fetched_ms)
{
	const struct bs_project *p = NULL;
	for (size_t i = 0; i < l->cfg->n_projects && !p; i++)
		if (l->cfg->projects[i].discover &&
		    strcmp(l->cfg->projects[i].org, org) == 0 &&
		    strcmp(l->cfg->projects[i].project, project) == 0)
			p = &l->cfg->projects[i];
	if (!p) {
		bs_arena_release(arena);
		return -1;
	}
	/* The candidate: the learned list with this project's entry replaced. */
	size_t n = l->_n_learned;
	struct live_learned *next = xcalloc(n + 1, sizeof(*next));
	if (n)
		memcpy(next, l->_learned, n * sizeof(*next));
	struct live_learned *slot = (struct live_learned *)find_learned(next, n,
	    org, project);
	bool fresh = slot == NULL;
	struct live_learned old = { 0 };
	if (fresh)
		slot = &next[n++];
	else
		old = *slot;
	slot->org = fresh ? xstrdup(org) : old.org;
	slot->project = fresh ? xstrdup(project) : old.project;
	slot->arena = *arena;
	slot->d = *d;
	slot->fetched_ms = fetched_ms;
	bs_arena_init(arena);

	struct bs_arena set;
	bs_arena_init(&set);
	const struct bs_deployment *deps;
	size_t n_deps, missing;
	compose(l->cfg, next, n, &set, &deps, &n_deps, &missing, false);

	char (*was)[512] = xcalloc(LIVE_DIFF_MAX, sizeof(*was));
	char (*now)[512] = xcalloc(LIVE_DIFF_MAX, sizeof(*now));
	bool cut = false;
	size_t n_was = describe_project(l->deps, l->n_deps, org, project, was,
	    LIVE_DIFF_MAX, &cut);
	size_t n_now = describe_project(deps, n_deps, org, project, now,
	    LIVE_DIFF_MAX, &cut);
	int changes = 0;
	for (size_t i = 0; i < n_now; i++)
		changes += !has_line(was, n_was, now[i]);
	for (size_t i = 0; i < n_was; i++)
		changes += !has_line(now, n_now, was[i]);
	if ((cut || n_was != n_now) && changes == 0)
		changes = 1;             /* cannot tell: take the new answer */
	if (!fresh && changes == 0) {
		/* The same mapping: keep what is in force (jobs point into it). */
		bs_arena_release(&slot->arena);
		*slot = old;
		slot->fetched_ms = fetched_ms;
		bs_arena_release(&set);
		l->_learned = xrealloc(l->_learned, n * sizeof(*next));
		memcpy(l->_learned, next, n * sizeof(*next));
		free(next);
		free(was);
		free(now);
		return 0;
	}
	for (size_t i = 0; i < n_now; i++)
		if (!has_line(was, n_was, now[i]))
			log_info("discover %s/%s: + %s", org, project, now[i]);
	for (size_t i = 0; i < n_was; i++)
		if (!has_line(now, n_now, was[i]))
			log_info("discover %s/%s: - %s", org, project, was[i]);
	for (size_t j = 0; j < d->n; j++)
		if (!bs_expand_keeps(p, &d->items[j]))
			log_warn("discover %s/%s: code deployment %s has deploy tracking "
			    "type %s, not MANUAL (\"Webhook\"): Sleuth registers its "
			    "deploys itself; skipped (include_non_manual: true registers "
			    "it as well, and each push counts twice)", org, project,
			    d->items[j].deployment, d->items[j].tracking_type);
		else if (p->include_non_manual && d->items[j].tracking_type &&
		    strcasecmp(d->items[j].tracking_type, "MANUAL") != 0)
			log_warn("discover %s/%s: code deployment %s has deploy tracking "
			    "type %s, not MANUAL: Sleuth registers its deploys itself "
			    "too, so each push counts twice", org, project,
			    d->items[j].deployment, d->items[j].tracking_type);
	free(was);
	free(now);
	if (!fresh)
		keep_arena(l, &old.arena);
	free(l->_learned);
	l->_learned = next;
	l->_n_learned = n;
	keep_arena(l, &set);
	/* warn of overlaps once per change, on the composition in force */
	struct bs_arena tmp;
	bs_arena_init(&tmp);
	const struct bs_deployment *td;
	size_t tn, tm;
	compose(l->cfg, next, n, &tmp, &td, &tn, &tm, true);
	bs_arena_release(&tmp);
	l->deps = deps;
	l->n_deps = n_deps;
	l->discovery_missing = missing;
	log_info("discover %s/%s: %zu targets in force (%d appeared or "
	    "disappeared)", org, project, n_now, changes);
	return changes ? changes : 1;      /* first learned: a change too */
}

long long
bs_live_learned_at(const struct bs_live *l, const char *org,
    const char *project)
{
	const struct live_learned *ll = find_learned(l->_learned, l->_n_learned,
	    org, project);
	return ll ? ll->fetched_ms : 0;
}

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
	recompose(l, false);
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
	recompose(l, true);
	apply_log(next, old);
	log_info("reloaded %s: %zu deployments (%zu discovered)", l->_path, l->n_deps,
	    l->n_deps - next->n_deployments);
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
	for (size_t i = 0; i < l->_n_learned; i++) {
		free(l->_learned[i].org);
		free(l->_learned[i].project);
		bs_arena_release(&l->_learned[i].arena);
	}
	free(l->_learned);
	while (l->_sets) {
		struct live_set *s = l->_sets;
		l->_sets = s->next;
		bs_arena_release(&s->arena);
		free(s);
	}
	free(l->_path);
	free(l);
}
