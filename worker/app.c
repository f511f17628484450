/* app: process set-up, signals and the draining shutdown (see app.h).
 *
 * SIGTERM/SIGINT: stop accepting connections and taking jobs, let the
 * deliveries waiting for Redis get their answer and the Sleuth calls in
 * flight finish and be recorded, then leave the loop. Jobs that did not get
 * that far stay pending in the stream for the next worker. A second signal,
 * or the drain deadline, leaves at once (still safe: nothing acknowledged
 * lives only in memory). SIGHUP reloads the configuration file: see
 * reload() for what changes live. */
#include "worker/app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "worker/consumer.h"
#include "worker/ingest.h"
#include "worker/ordering.h"

#define DRAIN_POLL_MS 50

void
bs_app_redis_config(const struct bs_config *cfg, struct bs_redis_config *out)
{
	memset(out, 0, sizeof(*out));
	out->url = cfg->redis.url;
	out->password = cfg->redis.password;
	out->connect_timeout_ms = cfg->redis.connect_timeout_ms;
	out->command_timeout_ms = cfg->redis.command_timeout_ms;
}

struct bs_scanner *
bs_app_scanner(const struct bs_config *cfg, char *err, size_t errlen)
{
	struct bs_scan_options opt = {
		.patterns = (const char *const *)cfg->issues.patterns,
		.n_patterns = cfg->issues.n_patterns,
		.projects = (const char *const *)cfg->issues.projects,
		.n_projects = cfg->issues.n_projects,
		.max_subject = cfg->limits.max_string,
	};
	return bs_scanner_new(&opt, err, errlen);
}

static long long drain_deadline_ms;


static void
on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_app *app = arg;
	size_t waiting = 0;
	if (app->ingest)
		waiting += bs_ingest_pending(app->ingest);
	if (app->consumer)
		waiting += (size_t)bs_consumer_busy(app->consumer);
	if (waiting == 0 || bs_now_ms() >= drain_deadline_ms) {
		if (waiting)
			log_warn("drain deadline reached with %zu operations unfinished; "
			    "unacknowledged jobs stay pending for the next worker", waiting);
		event_base_loopbreak(app->base);
		return;
	}
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	event_add(app->_drain_timer, &tv);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct bs_app *app = arg;
	if (app->stopping) {
		log_warn("second signal: leaving now");
		event_base_loopbreak(app->base);
		return;
	}
	log_info("signal %d: draining (no new deliveries or jobs)", (int)sig);
	app->stopping = 1;
	if (app->ingest)
		bs_ingest_stop_accepting(app->ingest);
	if (app->consumer)
		bs_consumer_stop(app->consumer);
	drain_deadline_ms = bs_now_ms() + app->cfg->sleuth.timeout_ms +
	    app->cfg->redis.command_timeout_ms + 1000;
	on_drain_check(-1, 0, app);
}

/* SIGHUP: load the file again. A config with errors is refused and the old
 * one stays. What applies without a restart: deployments, issue patterns,
 * dry-run switches, retry policy, limits and the webhook secret. The listen
 * address, Redis URL and prefix need a restart (logged when they differ).
 * The old config is kept alive until the process ends so that jobs in
 * flight finish with the deployments they started with. */
unsigned
bs_app_config_uses(enum bs_app_mode mode)
{
	switch (mode) {
	case BS_MODE_SERVE: return BS_USES_INGEST | BS_USES_REDIS;
	case BS_MODE_WORK:  return BS_USES_WORKER | BS_USES_REDIS;
	case BS_MODE_RUN:   break;
	}
	return BS_USES_ALL;
}

static void
reload(struct bs_app *app)
{
	struct bs_config *next = xcalloc(1, sizeof(*next));
	struct bs_diags d;
	bs_diags_init(&d);
	if (bs_config_load_for(app->config_path, bs_app_config_uses(app->mode),
	    next, &d) != 0) {
		log_error("reload of %s refused (%zu errors); keeping the running "
		    "config", app->config_path, d.errors);
		for (size_t i = 0; i < d.n; i++)
			if (d.items[i].severity == BS_DIAG_ERROR)
				log_error("  %s:%d:%d: %s", app->config_path, d.items[i].line,
				    d.items[i].column, d.items[i].message);
		bs_diags_release(&d);
		bs_config_release(next);
		free(next);
		return;
	}
	bs_diags_release(&d);
	char err[256];
	struct bs_scanner *sc = bs_app_scanner(next, err, sizeof(err));
	if (!sc) {
		log_error("reload refused: %s", err);
		bs_config_release(next);
		free(next);
		return;
	}
	if (strcmp(next->listen, app->cfg->listen) != 0 ||
	    strcmp(next->redis.url, app->cfg->redis.url) != 0 ||
	    strcmp(next->redis.prefix, app->cfg->redis.prefix) != 0)
		log_warn("listen, redis.url and redis.prefix changes need a restart");
	/* Keep the parts that are bound to live connections. */
	struct bs_config *old = app->cfg;
	next->listen_port = old->listen_port;
	bs_scanner_free(app->scanner);
	app->scanner = sc;
	app->cfg = next;
	/* `old` is not freed before exit: tasks in flight point into its
	 * deployments. Reloads are rare, a config is a few KB. The first one
	 * belongs to the caller of bs_app_main. */
	if (old != app->_retired_first) {
		app->_retired = xrealloc(app->_retired,
		    (app->_n_retired + 1) * sizeof(*app->_retired));
		app->_retired[app->_n_retired++] = old;
	}
	log_info("reloaded %s: %zu deployments", app->config_path,
	    next->n_deployments);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg);
}

static void
on_redis_state(int up, void *arg)
{
	struct bs_app *app = arg;
	app->metrics.redis_up = up;
	if (up)
		log_info("redis is up");
	else
		log_warn("redis is down; deliveries are answered 503 until it is back");
}

int
bs_app_main(enum bs_app_mode mode, struct bs_config *cfg,
    const char *config_path)
{
	struct bs_app app;
	memset(&app, 0, sizeof(app));
	app.mode = mode;
	app.cfg = cfg;
	app._retired_first = cfg;
	app.config_path = xstrdup(config_path);
	int status = 1;
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	app.base = event_base_new();
	if (!app.base) {
		log_error("cannot create the event loop");
		goto out;
	}
	if (bs_keys_init(&app.keys, cfg->redis.prefix) != 0) {
		log_error("bad redis.prefix '%s'", cfg->redis.prefix);
		goto out;
	}
	app.scanner = bs_app_scanner(cfg, err, sizeof(err));
	if (!app.scanner) {
		log_error("issues.patterns: %s", err);
		goto out;
	}
	struct bs_redis_config rc;
	bs_app_redis_config(cfg, &rc);
	app.redis = bs_redis_new(app.base, &rc, on_redis_state, &app, err,
	    sizeof(err));
	if (!app.redis) {
		log_error("%s", err);
		goto out;
	}
	if (mode != BS_MODE_SERVE) {
		app.redis_block = bs_redis_new(app.base, &rc, NULL, NULL, err,
		    sizeof(err));
		app.http_out = bs_http_new(app.base);
		if (!app.redis_block || !app.http_out) {
			log_error("cannot set up the worker: %s", err);
			goto out;
		}
	}
	if (mode != BS_MODE_WORK) {
		app.ingest = bs_ingest_new(&app, err, sizeof(err));
		if (!app.ingest) {
			log_error("%s", err);
			goto out;
		}
	}
	if (mode != BS_MODE_SERVE) {
		char name[128], host[64] = "host";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		const char *env = getenv("BITSLEUTH_CONSUMER");
		if (env && *env)
			snprintf(name, sizeof(name), "%s", env);
		else
			snprintf(name, sizeof(name), "%s-%ld", host, (long)getpid());
		app.ordering = bs_ordering_new(&app);
		app.consumer = bs_consumer_new(&app, name);
	}

	app._sigterm = evsignal_new(app.base, SIGTERM, on_stop_signal, &app);
	app._sigint = evsignal_new(app.base, SIGINT, on_stop_signal, &app);
	app._sighup = evsignal_new(app.base, SIGHUP, on_hup, &app);
	app._drain_timer = evtimer_new(app.base, on_drain_check, &app);
	if (!app._sigterm || !app._sigint || !app._sighup || !app._drain_timer) {
		log_error("cannot install signal handlers");
		goto out;
	}
	event_add(app._sigterm, NULL);
	event_add(app._sigint, NULL);
	event_add(app._sighup, NULL);
	log_info("bitsleuth %s running (%s)%s", BS_VERSION,
	    mode == BS_MODE_RUN ? "ingest + worker" : mode == BS_MODE_SERVE ?
	    "ingest only" : "worker only",
	    cfg->sleuth.dry_run ? ", sleuth dry_run: nothing is sent" : "");

	event_base_dispatch(app.base);
	log_info("stopped");
	status = 0;

out:
	/* Order: the clients first, while the consumer and ingest that their
	 * callbacks report to still exist; a failed Sleuth call's callback
	 * still records its outcome through `redis`, so that goes after
	 * http_out, and each callback runs exactly once with "shutdown". */
	if (app.consumer)
		bs_consumer_stop(app.consumer);
	/* Each pointer is cleared before its free, so callbacks that run
	 * during the free see the client gone and do not call back into it. */
	if (app.http_out) {
		struct bs_http *h = app.http_out;
		app.http_out = NULL;
		/* Verdicts still waiting for the stopped loop (or for another
		 * process's turn) are delivered now: their tasks end without a
		 * call and their runs finish, instead of being left behind (and
		 * tripping bs_ordering_free's assertion). */
		bs_ordering_shutdown(app.ordering);
		bs_http_free(h);
	}
	if (app.redis_block) {
		struct bs_redis *r = app.redis_block;
		app.redis_block = NULL;
		bs_redis_free(r);
	}
	if (app.redis) {
		struct bs_redis *r = app.redis;
		app.redis = NULL;
		bs_redis_free(r);
	}
	if (app.consumer)
		bs_consumer_free(app.consumer);
	if (app.ordering)
		bs_ordering_free(app.ordering);
	if (app.ingest)
		bs_ingest_free(app.ingest);
	if (app.scanner)
		bs_scanner_free(app.scanner);
	if (app._sigterm)
		event_free(app._sigterm);
	if (app._sigint)
		event_free(app._sigint);
	if (app._sighup)
		event_free(app._sighup);
	if (app._drain_timer)
		event_free(app._drain_timer);
	if (app.base)
		event_base_free(app.base);
	if (app.cfg != cfg) {
		bs_config_release(app.cfg);
		free(app.cfg);
	}
	for (size_t i = 0; i < app._n_retired; i++) {
		bs_config_release(app._retired[i]);
		free(app._retired[i]);
	}
	free(app._retired);
	free(app.config_path);
	return status;
}
