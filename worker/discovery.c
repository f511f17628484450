/* discovery: projects' code deployments learned from Sleuth, cached in
 * Redis (see discovery.h).
 *
 * One agent, one timer ticking every second; each discover project of the
 * config in force has a state (found by org/project, so a reload keeps
 * it) with its next due time and at most one step in flight: first the
 * cache (HGETALL), then, when the agent may, Sleuth (POST graphql_url),
 * then the cache write (HSET) or the failure's count (HINCRBY + HSET).
 * The agent is freed only once every Redis reply it waits for has come
 * (bs_redis_free delivers them all), so no callback sees it freed. */
#include "worker/discovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "deploy/http_client.h"

#define TICK_MS 1000
#define FIRST_RETRY_MS 10000
#define MAX_ANSWER (4u << 20)
#define STARTUP_WAIT_MS 5000        /* for Redis, before asking without the cache */

enum step { IDLE = 0, READING, ASKING, WRITING };

struct proj {
	char *org, *project;
	char key[BS_KEY_MAX + 256];
	long long due_mono;         /* next refresh, bs_mono_ms */
	long long retry_ms;         /* while nothing is learned: 10 s doubling */
	enum step step;
	bool cache_read;            /* the cache was looked at once */
	bool seen;                  /* in the config in force (this tick) */
	bool asked;                 /* bs_discovery_refresh came while a step ran */
	struct bs_discovery *d;
};

struct bs_discovery {
	struct bs_discovery_env env;
	struct event *tick;
	struct bs_http *http;       /* ours; NULL: cache only */
	struct proj **projs;
	size_t n_projs;
	int pending;                /* Redis replies and HTTP answers awaited */
	long long started_mono;     /* the cache waits for Redis this long at start */
	bool closed;
};

/* === the answer ========================================================= */

/* The Authorization header of project p: "apikey <key>" (Sleuth's GraphQL
 * docs and its Terraform provider), or "Bearer <token>" with
 * sleuth.graphql_auth: bearer. malloc'd, wipe before free. */
static char *
auth_header(const struct bs_config *cfg, const struct bs_project *p,
    size_t *len)
{
	const char *tok = p->graphql_token ? p->graphql_token :
	    cfg->sleuth.graphql_token;
	const char *pre = strcmp(cfg->sleuth.graphql_auth, "bearer") == 0 ?
	    "Authorization: Bearer " : "Authorization: apikey ";
	size_t pl = strlen(pre), tl = tok ? strlen(tok) : 0;
	char *h = xmalloc(pl + tl + 1);
	memcpy(h, pre, pl);
	if (tl)
		memcpy(h + pl, tok, tl);
	h[pl + tl] = '\0';
	*len = pl + tl;
	return h;
}

/* Posts the project query of p; cb(resp, arg) exactly once, later. */
static void
ask(struct bs_http *http, const struct bs_config *cfg,
    const struct bs_project *p, bs_http_cb *cb, void *arg)
{
	struct bs_arena a;
	bs_arena_init(&a);
	size_t blen;
	char *body = bs_graphql_project_query(&a, p->project, &blen);
	size_t alen;
	char *auth = auth_header(cfg, p, &alen);
	const char *headers[] = { auth, "Content-Type: application/json",
		"Accept: application/json" };
	struct bs_http_request req = {
		.url = cfg->sleuth.graphql_url,
		.headers = headers,
		.n_headers = 3,
		.body = body,
		.body_len = blen,
		.connect_timeout_ms = cfg->sleuth.connect_timeout_ms,
		.timeout_ms = cfg->sleuth.timeout_ms,
		.max_response = MAX_ANSWER,
		.whole_response = true,
	};
	bs_http_post(http, &req, cb, arg);
	OPENSSL_cleanse(auth, alen);
	free(auth);
	bs_arena_release(&a);
}

/* Sleuth's answer -> *out, or -1 with the reason in err. */
static int
judge(const struct bs_http_response *r, struct bs_arena *a,
    struct bs_discovered *out, char *err, size_t errlen)
{
	if (r->status == 0) {
		snprintf(err, errlen, "cannot reach Sleuth: %s",
		    r->error ? r->error : "no answer");
		return -1;
	}
	if (r->status == 401 || r->status == 403) {
		snprintf(err, errlen, "HTTP %ld: Sleuth refused the token (an "
		    "organisation API key is needed)", r->status);
		return -1;
	}
	if (r->status != 200) {
		snprintf(err, errlen, "HTTP %ld from Sleuth", r->status);
		return -1;
	}
	return bs_graphql_parse_project(r->body, r->body_len, a, out, err,
	    errlen);
}

/* === one project's steps ================================================ */

static const struct bs_project *
project_of(const struct bs_discovery *d, const struct proj *pj)
{
	const struct bs_config *cfg = d->env.live->cfg;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		if (p->discover && strcmp(p->org, pj->org) == 0 &&
		    strcmp(p->project, pj->project) == 0)
			return p;
	}
	return NULL;
}

static void
set_gauges(struct bs_discovery *d)
{
	const struct bs_live *l = d->env.live;
	long long n = 0, oldest = -1;
	for (size_t i = 0; i < l->n_deps; i++)
		n += l->deps[i].origin == BS_ORIGIN_DISCOVERED;
	size_t n_seen = 0;
	for (size_t i = 0; i < d->n_projs; i++) {
		if (!d->projs[i]->seen)
			continue;        /* left the config: not in force */
		n_seen++;
		long long at = bs_live_learned_at(l, d->projs[i]->org,
		    d->projs[i]->project);
		if (at > 0 && (oldest < 0 || at < oldest))
			oldest = at;
	}
	d->env.metrics->discovered_targets = n_seen ? n : -1;
	d->env.metrics->discovery_oldest_ms = oldest;
}

/* The next refresh of pj: discover_every, or sooner while it has nothing. */
static void
schedule(struct bs_discovery *d, struct proj *pj, bool failed)
{
	long long every = d->env.live->cfg->sleuth.discover_every_ms;
	long long wait = every;
	bool none = bs_live_learned_at(d->env.live, pj->org, pj->project) == 0;
	if (failed && none) {
		wait = pj->retry_ms ? pj->retry_ms : FIRST_RETRY_MS;
		pj->retry_ms = wait * 2 > every ? every : wait * 2;
		if (wait > every)
			wait = every;
	} else {
		pj->retry_ms = 0;
	}
	if (!d->http)
		wait = none ? FIRST_RETRY_MS : every;   /* cache only */
	if (pj->asked)
		wait = 0;                /* a SIGHUP came during this step */
	pj->asked = false;
	pj->due_mono = bs_mono_ms() + wait;
}

/* Puts answer (body) in force for pj; returns the bs_live_learn result,
 * or -2 when the body does not parse (err). */
static int
learn(struct bs_discovery *d, struct proj *pj, const char *body, size_t len,
    long long fetched_ms, char *err, size_t errlen)
{
	struct bs_arena a;
	bs_arena_init(&a);
	struct bs_discovered out;
	if (bs_graphql_parse_project(body, len, &a, &out, err, errlen) != 0) {
		bs_arena_release(&a);
		return -2;
	}
	int rc = bs_live_learn(d->env.live, pj->org, pj->project, &a, &out,
	    fetched_ms);
	set_gauges(d);
	return rc;
}

static void step_ask(struct proj *pj);

static void
done_step(struct proj *pj)
{
	struct bs_discovery *d = pj->d;
	pj->step = IDLE;
	if (--d->pending == 0 && d->closed)
		bs_discovery_free(d);
}

static void
on_written(const redisReply *reply, const char *err, void *arg)
{
	struct proj *pj = arg;
	(void)reply;
	if (err && !pj->d->closed)
		log_warn("discover %s/%s: cannot write the cache: %s", pj->org,
		    pj->project, err);
	done_step(pj);
}

/* A failed refresh in the cache hash: failures + 1, then last_error and
 * its time (one step in flight throughout: HINCRBY, then HSET). */
struct failure {
	struct proj *pj;
	char why[300];
};

static void
on_failure_counted(const redisReply *reply, const char *err, void *arg)
{
	struct failure *f = arg;
	struct proj *pj = f->pj;
	(void)reply;
	if (err || pj->d->closed) {
		free(f);
		on_written(NULL, pj->d->closed ? NULL : err, pj);
		return;
	}
	char ms[24];
	snprintf(ms, sizeof(ms), "%lld", bs_now_ms());
	const char *argv[] = { "HSET", pj->key, "last_error", f->why,
		"last_error_ms", ms };
	size_t lens[6];
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	bs_redis_command(pj->d->env.redis, 6, argv, lens, on_written, pj);
	free(f);                     /* after: the command copied argv */
}

static void
write_failure(struct proj *pj, const char *why)
{
	struct failure *f = xcalloc(1, sizeof(*f));
	f->pj = pj;
	snprintf(f->why, sizeof(f->why), "%s", why);
	const char *argv[] = { "HINCRBY", pj->key, "failures", "1" };
	size_t lens[4];
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	pj->step = WRITING;
	bs_redis_command(pj->d->env.redis, 4, argv, lens, on_failure_counted, f);
}

static void
on_answer(const struct bs_http_response *r, void *arg)
{
	struct proj *pj = arg;
	struct bs_discovery *d = pj->d;
	if (d->closed) {
		done_step(pj);
		return;
	}
	char err[300];
	struct bs_arena a;
	bs_arena_init(&a);
	struct bs_discovered out;
	int ok = judge(r, &a, &out, err, sizeof(err)) == 0;
	bs_arena_release(&a);
	if (!ok) {
		bs_metrics_inc(d->env.metrics, BS_M_DISCOVERY_FAILED);
		bool none = bs_live_learned_at(d->env.live, pj->org, pj->project) == 0;
		log_warn("discover %s/%s: refresh failed: %s; %s", pj->org,
		    pj->project, err, none ? "nothing learned yet: its pushes "
		    "wait in the queue" : "the mapping in force stays");
		schedule(d, pj, true);
		write_failure(pj, err);
		return;
	}
	long long now = bs_now_ms();
	int rc = learn(d, pj, r->body, r->body_len, now, err, sizeof(err));
	if (rc < 0) {                /* parsed above: not a parse failure */
		log_warn("discover %s/%s: answer not taken (%s)", pj->org,
		    pj->project, rc == -1 ? "the project left the config" : err);
		schedule(d, pj, false);
		done_step(pj);
		return;
	}
	bs_metrics_inc(d->env.metrics, rc > 0 ? BS_M_DISCOVERY_CHANGED :
	    BS_M_DISCOVERY_OK);
	schedule(d, pj, false);
	char ms[24];
	snprintf(ms, sizeof(ms), "%lld", now);
	const char *argv[] = { "HSET", pj->key, "answer", r->body, "fetched_ms",
		ms, "failures", "0", "last_error", "" };
	size_t lens[10];
	for (int i = 0; i < 10; i++)
		lens[i] = i == 3 ? r->body_len : strlen(argv[i]);
	pj->step = WRITING;
	bs_redis_command(d->env.redis, 10, argv, lens, on_written, pj);
}

static void
step_ask(struct proj *pj)
{
	struct bs_discovery *d = pj->d;
	const struct bs_project *p = project_of(d, pj);
	if (!d->http || !p) {
		schedule(d, pj, false);
		done_step(pj);
		return;
	}
	pj->step = ASKING;
	ask(d->http, d->env.live->cfg, p, on_answer, pj);
}

/* The field named name of an HGETALL reply, or NULL. */
static const redisReply *
field(const redisReply *r, const char *name)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1];
	return NULL;
}

static void
on_cache(const redisReply *reply, const char *err, void *arg)
{
	struct proj *pj = arg;
	struct bs_discovery *d = pj->d;
	if (d->closed) {
		done_step(pj);
		return;
	}
	const redisReply *ans = err ? NULL : field(reply, "answer");
	const redisReply *at = err ? NULL : field(reply, "fetched_ms");
	long long fetched = at ? strtoll(at->str, NULL, 10) : 0;
	if (err)
		log_warn("discover %s/%s: cannot read the cache: %s", pj->org,
		    pj->project, err);
	pj->cache_read = !err;
	if (ans && fetched > bs_live_learned_at(d->env.live, pj->org,
	    pj->project)) {
		char why[300];
		int rc = learn(d, pj, ans->str, ans->len, fetched, why, sizeof(why));
		if (rc == -2)
			log_warn("discover %s/%s: the cached answer does not parse "
			    "(%s); ignored", pj->org, pj->project, why);
		else if (rc >= 0) {
			bs_metrics_inc(d->env.metrics, BS_M_DISCOVERY_CACHED);
			log_info("discover %s/%s: mapping of %lld s ago taken from "
			    "the cache", pj->org, pj->project,
			    (bs_now_ms() - fetched) / 1000);
		}
	}
	if (d->http) {
		step_ask(pj);
		return;
	}
	schedule(d, pj, ans == NULL);
	done_step(pj);
}

/* A refresh of pj: the cache first when it was never read or the agent
 * cannot ask Sleuth (or nothing is learned yet), then Sleuth. */
static void
start(struct proj *pj)
{
	struct bs_discovery *d = pj->d;
	d->pending++;
	bool none = bs_live_learned_at(d->env.live, pj->org, pj->project) == 0;
	if (!pj->cache_read || !d->http || none) {
		pj->step = READING;
		const char *argv[] = { "HGETALL", pj->key };
		size_t lens[] = { 7, strlen(pj->key) };
		bs_redis_command(d->env.redis, 2, argv, lens, on_cache, pj);
		return;
	}
	step_ask(pj);
}

/* === the agent ========================================================== */

static struct proj *
find_proj(struct bs_discovery *d, const char *org, const char *project)
{
	for (size_t i = 0; i < d->n_projs; i++)
		if (strcmp(d->projs[i]->org, org) == 0 &&
		    strcmp(d->projs[i]->project, project) == 0)
			return d->projs[i];
	return NULL;
}

/* The states of the config's discover projects (new ones due now). Old
 * states stay (a step may be in flight) but are not started. */
static void
sync_projects(struct bs_discovery *d)
{
	const struct bs_config *cfg = d->env.live->cfg;
	for (size_t i = 0; i < d->n_projs; i++)
		d->projs[i]->seen = false;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		if (!p->discover)
			continue;
		struct proj *pj = find_proj(d, p->org, p->project);
		if (!pj) {
			pj = xcalloc(1, sizeof(*pj));
			pj->org = xstrdup(p->org);
			pj->project = xstrdup(p->project);
			pj->d = d;
			snprintf(pj->key, sizeof(pj->key), "%s%s/%s",
			    d->env.keys->discover, p->org, p->project);
			d->projs = xrealloc(d->projs, (d->n_projs + 1) *
			    sizeof(*d->projs));
			d->projs[d->n_projs++] = pj;
		}
		pj->seen = true;
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bs_discovery *d = arg;
	(void)fd;
	(void)what;
	sync_projects(d);
	set_gauges(d);
	long long now = bs_mono_ms();
	if (!bs_redis_is_up(d->env.redis) && now - d->started_mono <
	    STARTUP_WAIT_MS) {
		/* Just started: the pool is connecting; the cache comes first. */
		struct timeval tv = { 0, 50 * 1000 };
		evtimer_add(d->tick, &tv);
		return;
	}
	for (size_t i = 0; i < d->n_projs; i++) {
		struct proj *pj = d->projs[i];
		if (pj->seen && pj->step == IDLE && pj->due_mono <= now)
			start(pj);
	}
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };
	evtimer_add(d->tick, &tv);
}

struct bs_discovery *
bs_discovery_new(const struct bs_discovery_env *env)
{
	struct bs_discovery *d = xcalloc(1, sizeof(*d));
	d->env = *env;
	if (env->ask_sleuth)
		d->http = bs_http_new(env->base);
	d->tick = evtimer_new(env->base, on_tick, d);
	d->started_mono = bs_mono_ms();
	sync_projects(d);
	set_gauges(d);
	if (d->n_projs)
		log_info("discover: %zu projects learned from %s", d->n_projs,
		    d->http ? "Sleuth every sleuth.discover_every, cached in Redis" :
		    "the Redis cache (this process does not ask Sleuth)");
	struct timeval now = { 0, 0 };
	evtimer_add(d->tick, &now);
	return d;
}

void
bs_discovery_refresh(struct bs_discovery *d)
{
	if (!d || d->closed)
		return;
	sync_projects(d);
	for (size_t i = 0; i < d->n_projs; i++) {
		d->projs[i]->due_mono = 0;
		d->projs[i]->asked = d->projs[i]->step != IDLE;
	}
	log_info("discover: refreshing %zu projects now", d->n_projs);
	event_active(d->tick, EV_TIMEOUT, 0);
}

void
bs_discovery_free(struct bs_discovery *d)
{
	if (!d)
		return;
	if (!d->closed) {
		d->closed = true;
		if (d->tick)
			event_free(d->tick);
		d->tick = NULL;
		if (d->http) {
			struct bs_http *h = d->http;
			d->http = NULL;
			d->pending++;        /* not freed from inside this free */
			bs_http_free(h);     /* answers in flight come now, closed */
			d->pending--;
		}
	}
	if (d->pending > 0)
		return;                  /* the last Redis reply frees it */
	for (size_t i = 0; i < d->n_projs; i++) {
		free(d->projs[i]->org);
		free(d->projs[i]->project);
		free(d->projs[i]);
	}
	free(d->projs);
	free(d);
}

/* === check --discover =================================================== */

struct once {
	struct event_base *base;
	struct bs_arena *a;
	struct bs_discovered *out;
	char *err;
	size_t errlen;
	int rc;
};

static void
on_once(const struct bs_http_response *r, void *arg)
{
	struct once *o = arg;
	o->rc = judge(r, o->a, o->out, o->err, o->errlen);
	event_base_loopbreak(o->base);
}

int
bs_discovery_ask_once(const struct bs_config *cfg,
    const struct bs_project *p, struct bs_arena *a, struct bs_discovered *out,
    char *err, size_t errlen)
{
	struct event_base *base = event_base_new();
	if (!base) {
		snprintf(err, errlen, "cannot create an event loop");
		return -1;
	}
	struct bs_http *http = bs_http_new(base);
	struct once o = { base, a, out, err, errlen, -2 };
	ask(http, cfg, p, on_once, &o);
	event_base_dispatch(base);
	if (o.rc == -2)
		snprintf(err, errlen, "no answer from Sleuth");
	bs_http_free(http);
	event_base_free(base);
	return o.rc == 0 ? 0 : -1;
}
