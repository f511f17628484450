/* ingest: evhttp server for Bitbucket deliveries (see ingest.h).
 *
 * Limits: body (http.max_body), headers (http.max_headers), read/write
 * timeout (http.timeout_ms), methods GET/POST only, concurrent connections
 * (http.max_connections, through conn_limit, which also keeps the listener
 * from spinning when accept() runs out of file descriptors). The request
 * callback pulls the body up once (HMAC, parse and the kept raw copy all
 * need the contiguous bytes), judges it with intake, and hands the job to
 * bs_jobs_enqueue; the evhttp request is owned by the pending enqueue until
 * its callback, which always replies exactly once. evhttp keeps the request
 * alive if the client hangs up meanwhile, and frees it on our reply. */
#include "ingest/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <yajl/yajl_gen.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "queue/jobs.h"
#include "ingest/conn_limit.h"
#include "ingest/intake.h"
#include "ingest/lanes_of.h"

struct bs_ingest {
	struct bs_ingest_env env;       /* what the process shares with us */
	int stopping;                   /* /readyz says so while draining */
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct bs_conn_limit *limit;    /* tracks every accepted connection */
	int port;
	size_t pending;
};

/* One delivery waiting for Redis. */
struct pending {
	struct bs_ingest *in;
	struct evhttp_request *req;
	char delivery[128];
	char **keys;                /* distinct issue keys */
	size_t n_keys;
};


/* === Replies ============================================================ */

static void
gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void
reply_json(struct evhttp_request *req, int status, yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, buf, len);
	evbuffer_add(out, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	const char *phrase = status == 200 ? "OK" : status == 202 ? "Accepted" :
	    status == 400 ? "Bad Request" : status == 401 ? "Unauthorized" :
	    status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" :
	    status == 413 ? "Payload Too Large" : status == 415 ?
	    "Unsupported Media Type" : status == 503 ? "Service Unavailable" : "";
	evhttp_send_reply(req, status, phrase, out);
	evbuffer_free(out);
	yajl_gen_free(g);
}

static yajl_gen
gen_open(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_map_open(g);
	return g;
}

/* {"error": code, "reason": reason} */
static void
reply_error(struct evhttp_request *req, int status, const char *code,
    const char *reason)
{
	yajl_gen g = gen_open();
	gen_str(g, "error");
	gen_str(g, code);
	gen_str(g, "reason");
	gen_str(g, reason);
	yajl_gen_map_close(g);
	reply_json(req, status, g);
}

/* {"status": st, k1: v1, k2: v2, "issues": [...]}; k1/k2 may be NULL,
 * keys NULL means no "issues" member. */
static void
reply_status(struct evhttp_request *req, int status, const char *st,
    const char *k1, const char *v1, const char *k2, const char *v2,
    char *const *keys, size_t n_keys)
{
	yajl_gen g = gen_open();
	gen_str(g, "status");
	gen_str(g, st);
	if (k1) {
		gen_str(g, k1);
		gen_str(g, v1);
	}
	if (k2) {
		gen_str(g, k2);
		gen_str(g, v2);
	}
	if (keys) {
		gen_str(g, "issues");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < n_keys; i++)
			gen_str(g, keys[i]);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	reply_json(req, status, g);
}

/* The distinct issue keys of job, copied out of its arena. */
static char **
copy_keys(struct bs_job *job, size_t *n)
{
	const char **keys;
	*n = bs_job_distinct_keys(job, &keys);
	char **out = xcalloc(*n + 1, sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = xstrdup(keys[i]);
	return out;
}

static void
free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* === Deliveries ========================================================= */

static void
on_enqueued(enum bs_enqueue_status st, const char *id, const char *err,
    void *arg)
{
	struct pending *p = arg;
	const struct bs_ingest_env *env = &p->in->env;
	switch (st) {
	case BS_ENQ_QUEUED:
		bs_metrics_inc(env->metrics, BS_M_DELIVERIES_QUEUED);
		log_info("delivery %s queued as %s", p->delivery, id);
		reply_status(p->req, 202, "queued", "delivery", p->delivery, "job", id,
		    p->keys, p->n_keys);
		break;
	case BS_ENQ_DUPLICATE:
		bs_metrics_inc(env->metrics, BS_M_DELIVERIES_DUPLICATE);
		log_info("delivery %s is a duplicate of job %s", p->delivery, id);
		reply_status(p->req, 200, "duplicate", "delivery", p->delivery, "job",
		    id ? id : "", NULL, 0);
		break;
	default:
		bs_metrics_inc(env->metrics, BS_M_QUEUE_UNAVAILABLE);
		log_warn("delivery %s not queued: %s", p->delivery, err ? err : "?");
		reply_error(p->req, 503, "queue_unavailable",
		    "the queue did not take the delivery; retry later");
		break;
	}
	p->in->pending--;
	free_keys(p->keys, p->n_keys);
	free(p);
}

static void
append_header(struct evbuffer *raw, struct evkeyvalq *h, const char *name)
{
	const char *v = evhttp_find_header(h, name);
	if (v)
		evbuffer_add_printf(raw, "%s: %s\n", name, v);
}

static void
handle_hook(struct bs_ingest *in, struct evhttp_request *req)
{
	const struct bs_ingest_env *env = &in->env;
	const struct bs_config *cfg = env->live->cfg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		bs_metrics_inc(env->metrics, BS_M_REFUSED_OTHER);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		reply_error(req, 405, "method_not_allowed", "use POST");
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	if (len > cfg->http.max_body) {
		bs_metrics_inc(env->metrics, BS_M_REFUSED_TOO_LARGE);
		reply_error(req, 413, "too_large", "body is over http.max_body");
		return;
	}
	const char *bytes = len ? (const char *)evbuffer_pullup(body, -1) : "";

	struct bs_delivery d = {
		.event_key = evhttp_find_header(h, "X-Event-Key"),
		.request_uuid = evhttp_find_header(h, "X-Request-UUID"),
		.request_id = evhttp_find_header(h, "X-Request-Id"),
		.hook_uuid = evhttp_find_header(h, "X-Hook-UUID"),
		.attempt = evhttp_find_header(h, "X-Attempt-Number"),
		.signature = evhttp_find_header(h, "X-Hub-Signature"),
		.content_type = evhttp_find_header(h, "Content-Type"),
		.user_agent = evhttp_find_header(h, "User-Agent"),
		.body = bytes,
		.len = len,
	};
	struct bs_intake intake = { .cfg = env->live->cfg,
		.scanner = env->live->scanner };
	struct bs_intake_result r;
	bs_intake_process(&intake, &d, bs_now_ms(), &r);

	switch (r.verdict) {
	case BS_INTAKE_REFUSED:
		bs_metrics_inc(env->metrics, r.status == 401 ? BS_M_REFUSED_SIGNATURE :
		    r.status == 415 ? BS_M_REFUSED_MEDIA_TYPE : BS_M_REFUSED_PAYLOAD);
		log_info("delivery refused (%d %s): %s", r.status, r.code, r.reason);
		reply_error(req, r.status, r.code, r.reason);
		break;
	case BS_INTAKE_IGNORED:
		bs_metrics_inc(env->metrics, BS_M_DELIVERIES_IGNORED);
		if (r.ref_limit) {
			bs_metrics_inc(env->metrics, BS_M_DELIVERIES_REF_LIMIT);
			log_warn("delivery %s: %s", r.delivery, r.reason);
		}
		reply_status(req, 202, "ignored", "reason", r.reason, NULL, NULL, NULL, 0);
		break;
	case BS_INTAKE_PING:
		bs_metrics_inc(env->metrics, BS_M_DELIVERIES_PING);
		reply_status(req, 200, "ok", NULL, NULL, NULL, NULL, NULL, 0);
		break;
	case BS_INTAKE_QUEUE: {
		struct pending *p = xcalloc(1, sizeof(*p));
		p->in = in;
		p->req = req;
		snprintf(p->delivery, sizeof(p->delivery), "%s", r.delivery);
		p->keys = copy_keys(&r.job, &p->n_keys);
		struct evbuffer *raw = evbuffer_new();
		append_header(raw, h, "X-Event-Key");
		append_header(raw, h, "X-Request-UUID");
		append_header(raw, h, "X-Request-Id");
		append_header(raw, h, "X-Hook-UUID");
		append_header(raw, h, "X-Attempt-Number");
		append_header(raw, h, "X-Hub-Signature");
		append_header(raw, h, "User-Agent");
		append_header(raw, h, "Content-Type");
		size_t rawlen = evbuffer_get_length(raw);
		struct bs_enqueue e = {
			.delivery = r.delivery,
			.content_key = cfg->queue.content_dedupe && r.content_key[0] ?
			    r.content_key : NULL,
			.event_key = d.event_key,
			.job = r.blob,
			.job_len = r.blob_len,
			.raw_headers = rawlen ? (const char *)evbuffer_pullup(raw, -1) : "",
			.raw_headers_len = rawlen,
			.raw_body = bytes,
			.raw_body_len = len,
			.seen_ttl_s = cfg->queue.seen_ttl_s,
			.raw_ttl_s = cfg->queue.raw_ttl_s,
			.maxlen = cfg->queue.max_stream,
			.received_ms = r.job.received_ms,
			.window_s = cfg->queue.content_dedupe_window_s,
			.hook = r.hook,
			.resend = r.resend,
		};
		struct bs_lanes_of lanes;
		bs_lanes_of(cfg, &r.job, &lanes);
		e.lanes = lanes.ptrs;
		e.n_lanes = lanes.n;
		in->pending++;
		/* hiredis copies the arguments when formatting the command, so the
		 * buffers may go away right after this call. */
		bs_jobs_enqueue(env->redis, env->keys, &e, on_enqueued, p);
		evbuffer_free(raw);
		break;
	}
	}
	bs_intake_result_release(&r);
}

static void
add_to_evbuffer(void *arg, const char *text, size_t len)
{
	evbuffer_add(arg, text, len);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct bs_ingest *in = arg;
	const struct bs_ingest_env *env = &in->env;
	bs_metrics_inc(env->metrics, BS_M_HTTP_REQUESTS);
	const char *uri = evhttp_request_get_uri(req);
	const char *path_end = strchr(uri, '?');
	size_t plen = path_end ? (size_t)(path_end - uri) : strlen(uri);

#define PATH_IS(p) (plen == strlen(p) && memcmp(uri, (p), plen) == 0)
	if (PATH_IS("/hooks/bitbucket")) {
		handle_hook(in, req);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		bs_metrics_inc(env->metrics, BS_M_REFUSED_OTHER);
		reply_error(req, PATH_IS("/healthz") || PATH_IS("/readyz") ||
		    PATH_IS("/metrics") ? 405 : 404, "not_found", "no such endpoint");
		return;
	}
	if (PATH_IS("/healthz")) {
		reply_status(req, 200, "ok", NULL, NULL, NULL, NULL, NULL, 0);
	} else if (PATH_IS("/readyz")) {
		if (bs_redis_is_up(env->redis) && !in->stopping)
			reply_status(req, 200, "ready", NULL, NULL, NULL, NULL, NULL, 0);
		else
			reply_error(req, 503, "not_ready", in->stopping ?
			    "shutting down" : "redis is not reachable");
	} else if (PATH_IS("/metrics")) {
		env->metrics->redis_up = bs_redis_is_up(env->redis);
		bs_conn_limit_reap(in->limit);  /* a fresh connections gauge */
		struct evbuffer *out = evbuffer_new();
		bs_metrics_render(env->metrics, add_to_evbuffer, out);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain; version=0.0.4");
		evhttp_send_reply(req, 200, "OK", out);
		evbuffer_free(out);
	} else {
		bs_metrics_inc(env->metrics, BS_M_REFUSED_OTHER);
		reply_error(req, 404, "not_found", "no such endpoint");
	}
#undef PATH_IS
}

struct bs_ingest *
bs_ingest_new(const struct bs_ingest_env *env, char *err, size_t errlen)
{
	const struct bs_config *cfg = env->live->cfg;
	struct bs_ingest *in = xcalloc(1, sizeof(*in));
	in->env = *env;
	in->http = evhttp_new(env->base);
	if (!in->http) {
		snprintf(err, errlen, "cannot create the http server");
		free(in);
		return NULL;
	}
	/* libevent's defaults are unlimited sizes and 50 s timeouts. evhttp
	 * itself cuts off bodies over twice the limit (with its own HTML 413
	 * and a closed connection); up to that we read them and answer 413 in
	 * our one-line JSON, so a real but oversized push gets a clear reason. */
	evhttp_set_max_body_size(in->http, (ev_ssize_t)(2 * cfg->http.max_body));
	evhttp_set_max_headers_size(in->http, (ev_ssize_t)cfg->http.max_headers);
	struct timeval tv = { cfg->http.timeout_ms / 1000,
		(cfg->http.timeout_ms % 1000) * 1000 };
	evhttp_set_timeout_tv(in->http, &tv);
	evhttp_set_allowed_methods(in->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_default_content_type(in->http, "application/json");
	evhttp_set_gencb(in->http, on_request, in);

	in->sock = evhttp_bind_socket_with_handle(in->http, cfg->listen_host,
	    (ev_uint16_t)cfg->listen_port);
	if (!in->sock) {
		snprintf(err, errlen, "cannot listen on %s:%d", cfg->listen_host,
		    cfg->listen_port);
		evhttp_free(in->http);
		free(in);
		return NULL;
	}
	/* Before the loop runs, so no connection is accepted untracked. */
	in->limit = bs_conn_limit_new(env->base, cfg->http.max_connections,
	    env->metrics);
	bs_conn_limit_attach(in->limit, in->http,
	    evhttp_bound_socket_get_listener(in->sock));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(evhttp_bound_socket_get_fd(in->sock),
	    (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			in->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			in->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	log_info("listening on http://%s:%d/hooks/bitbucket", cfg->listen_host,
	    in->port);
	return in;
}

int
bs_ingest_port(const struct bs_ingest *in)
{
	return in->port;
}

void
bs_ingest_stop_accepting(struct bs_ingest *in)
{
	in->stopping = 1;
	if (in->sock) {
		/* The listener is freed with the bound socket. */
		bs_conn_limit_detach(in->limit);
		evhttp_del_accept_socket(in->http, in->sock);
		in->sock = NULL;
	}
}

size_t
bs_ingest_pending(const struct bs_ingest *in)
{
	return in->pending;
}

void
bs_ingest_free(struct bs_ingest *in)
{
	if (!in)
		return;
	/* evhttp first: it lets go of every connection, then we drop the
	 * references we kept (conn_limit.h). */
	evhttp_free(in->http);
	bs_conn_limit_free(in->limit);
	free(in);
}
