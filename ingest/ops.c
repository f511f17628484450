/* ops: /metrics, /healthz, /readyz (see ops.h).
 *
 * A scrape is a `struct scrape` from the request to its reply: it waits
 * for the queue depth (queue/depth.h calls back exactly once, also from
 * bs_queue_depth_free), then renders the registry and the gauges into one
 * buffer and replies. http_server keeps the request alive until that reply
 * even if the client leaves, so the scrape never outlives its request. */
#include "ingest/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "ingest/http_server.h"
#include "ingest/json_out.h"
#include "queue/depth.h"
#include "queue/redis_client.h"

#define DEPTH_WAIT_CAP_MS 2000

struct bs_ops {
	struct bs_ops_env env;
	int draining;
	struct bs_queue_depth *depth;
	/* The own listener, with its fixed config and its own counters. */
	struct bs_http_server *srv;
	struct bs_config srv_cfg;
	char srv_host[256];             /* srv_cfg.listen_host: ours, as a
	                                 * reload frees the config's */
	struct bs_metrics *srv_metrics;
};

struct scrape {
	struct bs_ops *o;
	struct bs_http_req *req;
};

int
bs_ops_path(const char *path, size_t len)
{
	static const char *const paths[] = { "/metrics", "/healthz", "/readyz" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (len == strlen(paths[i]) && memcmp(path, paths[i], len) == 0)
			return 1;
	return 0;
}

static int
redis_up(const struct bs_ops_env *env)
{
	for (int i = 0; i < env->n_shards; i++)
		if (!bs_redis_is_up(env->shards[i].redis))
			return 0;
	return 1;
}

/* Why /readyz is not 200, or NULL. */
static const char *
not_ready_reason(const struct bs_ops *o)
{
	if (o->draining)
		return "shutting down";
	if (!redis_up(&o->env))
		return "redis is not reachable";
	return o->env.not_ready ? o->env.not_ready(o->env.not_ready_arg) : NULL;
}

static void
reply_status(struct bs_http_req *req, const char *status)
{
	struct bs_json_out j;
	bs_json_out_init(&j);
	bs_json_out_raw(&j, "{\"status\":", 10);
	bs_json_out_str(&j, status);
	bs_json_out_raw(&j, "}\n", 2);
	bs_http_reply(req, 200, "application/json", NULL, j.buf, j.len);
	bs_json_out_free(&j);
}

static void
add_to_evbuffer(void *arg, const char *text, size_t len)
{
	evbuffer_add(arg, text, len);
}

static void
on_depth(void *arg)
{
	struct scrape *sc = arg;
	struct bs_ops *o = sc->o;
	o->env.metrics->redis_up = redis_up(&o->env);
	struct evbuffer *out = evbuffer_new();
	if (!out)
		abort();
	bs_metrics_render(o->env.metrics, add_to_evbuffer, out);
	bs_queue_depth_render(o->depth, add_to_evbuffer, out);
	size_t n = evbuffer_get_length(out);
	bs_http_reply(sc->req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    NULL, (const char *)evbuffer_pullup(out, -1), n);
	evbuffer_free(out);
	free(sc);
}

void
bs_ops_serve(struct bs_ops *o, struct bs_http_req *req)
{
	size_t len;
	const char *path = bs_http_req_path(req, &len);
	if (len == strlen("/healthz") && memcmp(path, "/healthz", len) == 0) {
		reply_status(req, "ok");
	} else if (len == strlen("/readyz") && memcmp(path, "/readyz", len) == 0) {
		const char *why = not_ready_reason(o);
		if (why)
			bs_http_reply_error(req, 503, "not_ready", why, NULL);
		else
			reply_status(req, "ready");
	} else {
		struct scrape *sc = xmalloc(sizeof(*sc));
		sc->o = o;
		sc->req = req;
		bs_queue_depth_fresh(o->depth, on_depth, sc);
	}
}

/* The own listener's routes: only the three paths, only GET and HEAD. */
static void
on_request(void *arg, struct bs_http_req *req)
{
	struct bs_ops *o = arg;
	size_t len;
	const char *path = bs_http_req_path(req, &len);
	enum bs_http_method m = bs_http_req_method(req);
	if (!bs_ops_path(path, len))
		bs_http_reply_error(req, 404, "not_found", "no such endpoint", NULL);
	else if (m != BS_HTTP_GET && m != BS_HTTP_HEAD)
		bs_http_reply_error(req, 405, "method_not_allowed", "use GET",
		    "Allow: GET, HEAD\r\n");
	else
		bs_ops_serve(o, req);
}

/* The own listener's config: metrics_listen and small caps; only
 * numbers and host (copied there) in it. */
static void
listener_config(struct bs_config *out, char *host, size_t hostlen,
    const struct bs_config *cfg)
{
	memset(out, 0, sizeof(*out));
	snprintf(host, hostlen, "%s", cfg->metrics_listen_host);
	out->listen_host = host;
	out->listen_port = cfg->metrics_listen_port;
	out->http.max_body = BS_OPS_MAX_BODY;
	out->http.max_headers = cfg->http.max_headers;
	out->http.timeout_ms = cfg->http.timeout_ms;
	out->http.idle_timeout_ms = cfg->http.idle_timeout_ms;
	out->http.max_connections = BS_OPS_MAX_CONNECTIONS;
	out->http.max_connections_per_ip = 0;
	out->http.max_inflight_bytes = (size_t)BS_OPS_MAX_CONNECTIONS *
	    BS_OPS_MAX_BODY;
}

struct bs_ops *
bs_ops_new(const struct bs_ops_env *env, char *err, size_t errlen)
{
	const struct bs_config *cfg = env->live->cfg;
	struct bs_ops *o = xcalloc(1, sizeof(*o));
	o->env = *env;
	int wait = cfg->redis.command_timeout_ms;
	if (wait <= 0 || wait > DEPTH_WAIT_CAP_MS)
		wait = DEPTH_WAIT_CAP_MS;
	o->depth = bs_queue_depth_new(env->base, env->shards, env->n_shards, wait);
	if (!env->listen)
		return o;
	if (!cfg->metrics_listen_host) {
		snprintf(err, errlen, "metrics_listen is not set");
		bs_ops_free(o);
		return NULL;
	}
	listener_config(&o->srv_cfg, o->srv_host, sizeof(o->srv_host), cfg);
	o->srv_metrics = xcalloc(1, sizeof(*o->srv_metrics));
	struct bs_http_server_env senv = {
		.base = env->base,
		.live = env->live,
		.cfg = &o->srv_cfg,
		.listen_how = "metrics_listen:",
		.metrics = o->srv_metrics,
		.handler = on_request,
		.arg = o,
	};
	o->srv = bs_http_server_new(&senv, err, errlen);
	if (!o->srv) {
		bs_ops_free(o);
		return NULL;
	}
	const char *h = o->srv_host;
	int v6 = strchr(h, ':') != NULL;
	log_info("metrics on http://%s%s%s:%d (/metrics, /healthz, /readyz)",
	    v6 ? "[" : "", h, v6 ? "]" : "", bs_http_server_port(o->srv));
	return o;
}

void
bs_ops_drain(struct bs_ops *o)
{
	o->draining = 1;
}

void
bs_ops_stop_accepting(struct bs_ops *o)
{
	if (o->srv)
		bs_http_server_stop_accepting(o->srv);
}

void
bs_ops_free(struct bs_ops *o)
{
	if (!o)
		return;
	bs_queue_depth_free(o->depth);    /* answers the scrapes waiting */
	bs_http_server_free(o->srv);
	free(o->srv_metrics);
	free(o);
}
