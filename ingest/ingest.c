/* ingest: the routes of the ingest port (see ingest.h).
 *
 * The HTTP layer (http_server.h) owns connections, framing and every
 * limit; this file routes whole requests. A delivery's body arrives in one
 * buffer (HMAC, parse and the kept raw copy all need the contiguous
 * bytes); intake judges it and the job goes to bs_jobs_enqueue. The
 * request is owned by the pending enqueue until its callback, which always
 * replies exactly once; http_server keeps the request alive if the client
 * hangs up meanwhile, and frees it on our reply. */
#include "ingest/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/cidr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "parsers/bitbucket.h"
#include "queue/jobs.h"
#include "ingest/http_server.h"
#include "ingest/intake.h"
#include "ingest/json_out.h"
#include "ingest/lanes_of.h"
#include "ingest/ops.h"

struct bs_ingest {
	struct bs_ingest_env env;       /* what the process shares with us */
	struct bs_http_server *srv;
	size_t pending;
	struct event *log_flush;        /* made active when a log line waits */
};

/* The shard a job is queued in: its repository's (queue/shard.h). */
static const struct bs_shard *
shard_of_job(const struct bs_ingest *in, const struct bs_job *job)
{
	return &in->env.shards[bs_shard_of(bs_shard_repo(&job->ev),
	    in->env.n_shards)];
}

/* One delivery waiting for Redis. The reply's issue list is rendered
 * before the job's arena goes away, into `issues` behind the struct (one
 * allocation for both). */
struct pending {
	struct bs_ingest *in;
	struct bs_http_req *req;
	double t0;                  /* the request's first byte (bs_http_req_started) */
	int product;                /* the delivery's labels (metrics.h) */
	enum bs_m_event m_event;
	char delivery[128];
	char event[64], repository[200];   /* the log context */
	size_t issues_len;
	char issues[];              /* ',"issues":[...]' */
};


/* === Replies ============================================================ */

/* Sends the JSON text of o (plus a newline) as the reply, and frees o. */
static void
reply_json(struct bs_http_req *req, int status, struct bs_json_out *o)
{
	bs_json_out_raw(o, "\n", 1);
	bs_http_reply(req, status, "application/json", NULL, o->buf, o->len);
	bs_json_out_free(o);
}

/* Appends ',"k":' with k escaped. */
static void
out_member(struct bs_json_out *o, const char *k)
{
	bs_json_out_raw(o, ",", 1);
	bs_json_out_str(o, k);
	bs_json_out_raw(o, ":", 1);
}

static void
reply_error(struct bs_http_req *req, int status, const char *code,
    const char *reason)
{
	bs_http_reply_error(req, status, code, reason, NULL);
}

/* {"status": st, k1: v1, k2: v2, "issues": [...]}; k1/k2 may be NULL;
 * issues is the ready ',"issues":[...]' member (NULL: none). */
static void
reply_status(struct bs_http_req *req, int status, const char *st,
    const char *k1, const char *v1, const char *k2, const char *v2,
    const char *issues, size_t issues_len)
{
	struct bs_json_out o;
	bs_json_out_init(&o);
	bs_json_out_raw(&o, "{\"status\":", 10);
	bs_json_out_str(&o, st);
	if (k1) {
		out_member(&o, k1);
		bs_json_out_str(&o, v1);
	}
	if (k2) {
		out_member(&o, k2);
		bs_json_out_str(&o, v2);
	}
	if (issues)
		bs_json_out_raw(&o, issues, issues_len);
	bs_json_out_raw(&o, "}", 1);
	reply_json(req, status, &o);
}

/* A pending delivery with the reply's ',"issues":[...]' member rendered
 * from the distinct issue keys of job (first-seen order). */
static struct pending *
pending_new(struct bs_job *job)
{
	const char **keys;
	size_t n = bs_job_distinct_keys(job, &keys);
	struct bs_json_out o;
	bs_json_out_init(&o);
	bs_json_out_raw(&o, ",\"issues\":[", 11);
	for (size_t i = 0; i < n; i++) {
		if (i)
			bs_json_out_raw(&o, ",", 1);
		bs_json_out_str(&o, keys[i]);
	}
	bs_json_out_raw(&o, "]", 1);
	struct pending *p = xmalloc(sizeof(*p) + o.len + 1);
	memset(p, 0, sizeof(*p));
	memcpy(p->issues, o.buf, o.len);
	p->issues[o.len] = '\0';
	p->issues_len = o.len;
	bs_json_out_free(&o);
	return p;
}

/* === Deliveries ========================================================= */

/* deliveries_total and ingest_request_duration_seconds for a delivery
 * answered now, t0 (bs_metrics_now's clock) being its first byte. */
static void
delivered(const struct bs_ingest_env *env, int product, enum bs_m_event ev,
    enum bs_m_delivery outcome, double t0)
{
	bs_metrics_delivery(env->metrics, product, ev, outcome);
	bs_metrics_ingest_observe(env->metrics, outcome, bs_metrics_now() - t0);
}

/* The product as the headers tell it, for a delivery refused from its head
 * (admit: the body is not there yet; intake tells it for the rest). */
static int
product_of_headers(const struct bs_http_req *req)
{
	return (int)bs_detect_product(bs_http_req_header(req, "X-Event-Key"),
	    bs_http_req_header(req, "X-Request-UUID"),
	    bs_http_req_header(req, "X-Request-Id"), NULL, NULL, 0);
}

static void
on_enqueued(enum bs_enqueue_status st, const char *id, const char *err,
    void *arg)
{
	struct pending *p = arg;
	bs_log_ctx_push(&(struct bs_log_ctx){ .delivery = p->delivery,
		.event = p->event, .repository = p->repository, .job = id });
	const struct bs_ingest_env *env = &p->in->env;
	switch (st) {
	case BS_ENQ_QUEUED:
		log_info("delivery %s queued as %s", p->delivery, id);
		reply_status(p->req, 202, "queued", "delivery", p->delivery, "job", id,
		    p->issues, p->issues_len);
		delivered(env, p->product, p->m_event, BS_MD_QUEUED, p->t0);
		break;
	case BS_ENQ_DUPLICATE:
		log_info("delivery %s is a duplicate of job %s", p->delivery, id);
		reply_status(p->req, 200, "duplicate", "delivery", p->delivery, "job",
		    id ? id : "", NULL, 0);
		delivered(env, p->product, p->m_event, BS_MD_DUPLICATE, p->t0);
		break;
	default:
		log_warn("delivery %s not queued: %s", p->delivery, err ? err : "?");
		reply_error(p->req, 503, "queue_unavailable",
		    "the queue did not take the delivery; retry later");
		delivered(env, p->product, p->m_event, BS_MD_UNAVAILABLE, p->t0);
		break;
	}
	bs_log_ctx_pop();
	p->in->pending--;
	free(p);
}

/* The request headers the delivery uses (the first one of a name wins). */
enum {
	H_EVENT_KEY, H_REQUEST_UUID, H_REQUEST_ID, H_HOOK_UUID, H_ATTEMPT,
	H_SIGNATURE, H_USER_AGENT, H_CONTENT_TYPE, H_N
};

static const struct {
	const char *name;
	size_t len;
} wanted[H_N] = {
#define H(s) { s, sizeof(s) - 1 }
	[H_EVENT_KEY] = H("X-Event-Key"),
	[H_REQUEST_UUID] = H("X-Request-UUID"),
	[H_REQUEST_ID] = H("X-Request-Id"),
	[H_HOOK_UUID] = H("X-Hook-UUID"),
	[H_ATTEMPT] = H("X-Attempt-Number"),
	[H_SIGNATURE] = H("X-Hub-Signature"),
	[H_USER_AGENT] = H("User-Agent"),
	[H_CONTENT_TYPE] = H("Content-Type"),
#undef H
};

static void
find_headers(const struct bs_http_req *req, const char *v[H_N])
{
	for (int i = 0; i < H_N; i++)
		v[i] = bs_http_req_header(req, wanted[i].name);
}

/* "Name: value\n" for each header present, in wanted[] order, into buf
 * (or a malloc'd buffer when it does not fit: *heap then, to be freed). */
static size_t
raw_headers(const char *const v[H_N], char *buf, size_t buflen, char **out,
    char **heap)
{
	size_t vlen[H_N], total = 0;
	for (int i = 0; i < H_N; i++) {
		vlen[i] = v[i] ? strlen(v[i]) : 0;
		if (v[i])
			total += wanted[i].len + 2 + vlen[i] + 1;
	}
	*heap = NULL;
	char *w = buf;
	if (total > buflen)
		w = *heap = xmalloc(total);
	*out = w;
	for (int i = 0; i < H_N; i++) {
		if (!v[i])
			continue;
		memcpy(w, wanted[i].name, wanted[i].len);
		w += wanted[i].len;
		*w++ = ':';
		*w++ = ' ';
		memcpy(w, v[i], vlen[i]);
		w += vlen[i];
		*w++ = '\n';
	}
	return total;
}

static void
handle_hook(struct bs_ingest *in, struct bs_http_req *req)
{
	const struct bs_ingest_env *env = &in->env;
	const struct bs_config *cfg = env->live->cfg;
	double t0 = bs_http_req_started(req);
	if (bs_http_req_method(req) != BS_HTTP_POST) {
		bs_metrics_inc(env->metrics, BS_M_REFUSED_OTHER);
		bs_http_reply_error(req, 405, "method_not_allowed", "use POST",
		    "Allow: POST\r\n");
		return;
	}
	size_t len;
	const char *bytes = bs_http_req_body(req, &len);

	const char *hv[H_N];
	find_headers(req, hv);
	struct bs_delivery d = {
		.event_key = hv[H_EVENT_KEY],
		.request_uuid = hv[H_REQUEST_UUID],
		.request_id = hv[H_REQUEST_ID],
		.hook_uuid = hv[H_HOOK_UUID],
		.attempt = hv[H_ATTEMPT],
		.signature = hv[H_SIGNATURE],
		.content_type = hv[H_CONTENT_TYPE],
		.user_agent = hv[H_USER_AGENT],
		.body = bytes,
		.len = len,
	};
	struct bs_intake intake = { .cfg = env->live->cfg,
		.scanner = env->live->scanner };
	struct bs_intake_result r;
	bs_intake_process(&intake, &d, bs_now_ms(), &r);
	bs_log_ctx_push(&(struct bs_log_ctx){ .delivery = r.delivery[0] ?
		r.delivery : d.request_uuid, .event = d.event_key,
		.repository = r.verdict == BS_INTAKE_QUEUE ? r.job.ev.repository :
		NULL });
	if (r.secret_used == BS_SECRET_CURRENT)
		bs_metrics_inc(env->metrics, BS_M_SIGNATURE_CURRENT);
	else if (r.secret_used == BS_SECRET_PREVIOUS)
		bs_metrics_inc(env->metrics, BS_M_SIGNATURE_PREVIOUS);

	/* The labels: the event key from a fixed list, the product as intake
	 * detected it. */
	enum bs_m_event mev = bs_metrics_event_of(d.event_key);
	int product = (int)r.product;
	switch (r.verdict) {
	case BS_INTAKE_REFUSED:
		log_info("delivery refused (%d %s): %s", r.status, r.code, r.reason);
		reply_error(req, r.status, r.code, r.reason);
		delivered(env, product, mev, r.status == 401 ? BS_MD_SIGNATURE :
		    r.status == 415 ? BS_MD_MEDIA_TYPE : BS_MD_PAYLOAD, t0);
		break;
	case BS_INTAKE_IGNORED:
		if (r.ref_limit)
			log_warn("delivery %s: %s", r.delivery, r.reason);
		reply_status(req, 202, "ignored", "reason", r.reason, NULL, NULL,
		    NULL, 0);
		delivered(env, product, mev, r.ref_limit ? BS_MD_REF_LIMIT :
		    BS_MD_IGNORED, t0);
		break;
	case BS_INTAKE_PING:
		reply_status(req, 200, "ok", NULL, NULL, NULL, NULL, NULL, 0);
		delivered(env, product, mev, BS_MD_PING, t0);
		break;
	case BS_INTAKE_QUEUE: {
		struct pending *p = pending_new(&r.job);
		p->in = in;
		p->req = req;
		p->t0 = t0;
		p->product = product;
		p->m_event = mev;
		size_t dl = strlen(r.delivery);
		if (dl >= sizeof(p->delivery))
			dl = sizeof(p->delivery) - 1;
		memcpy(p->delivery, r.delivery, dl);
		p->delivery[dl] = '\0';
		snprintf(p->event, sizeof(p->event), "%s", d.event_key ? d.event_key : "");
		snprintf(p->repository, sizeof(p->repository), "%s",
		    r.job.ev.repository ? r.job.ev.repository : "");
		char rawbuf[2048], *rawp, *rawheap;
		size_t rawlen = raw_headers(hv, rawbuf, sizeof(rawbuf), &rawp,
		    &rawheap);
		struct bs_record_opts pub;
		bs_record_opts_set(&pub, cfg->queue.events, cfg->queue.events_format,
		    cfg->queue.events_ttl_ms, cfg->queue.events_maxlen);
		struct bs_enqueue e = {
			.delivery = r.delivery,
			.content_key = cfg->queue.content_dedupe && r.content_key[0] ?
			    r.content_key : NULL,
			.event_key = d.event_key,
			.job = r.blob,
			.job_len = r.blob_len,
			.raw_headers = rawlen ? rawp : "",
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
			.repository = r.job.ev.repository,
			.events = &pub,
		};
		struct bs_lanes_of lanes;
		bs_lanes_of(env->live->deps, env->live->n_deps, &r.job, &lanes);
		e.lanes = lanes.ptrs;
		e.n_lanes = lanes.n;
		in->pending++;
		const struct bs_shard *sh = shard_of_job(in, &r.job);
		/* hiredis copies the arguments when formatting the command, so the
		 * buffers may go away right after this call. */
		bs_jobs_enqueue(sh->redis, sh->keys, &e, on_enqueued, p);
		free(rawheap);
		break;
	}
	}
	bs_log_ctx_pop();
	bs_intake_result_release(&r);
}

static void
on_request(void *arg, struct bs_http_req *req)
{
	struct bs_ingest *in = arg;
	const struct bs_ingest_env *env = &in->env;
	bs_metrics_inc(env->metrics, BS_M_HTTP_REQUESTS);
	size_t plen;
	const char *uri = bs_http_req_path(req, &plen);

	if (plen == strlen("/hooks/bitbucket") &&
	    memcmp(uri, "/hooks/bitbucket", plen) == 0) {
		handle_hook(in, req);
		return;
	}
	/* /metrics, /healthz and /readyz: ingest/ops.c, here only when
	 * metrics_listen is unset (env->ops), else 404 like any other path. */
	int ops = env->ops && bs_ops_path(uri, plen);
	enum bs_http_method method = bs_http_req_method(req);
	if (ops && (method == BS_HTTP_GET || method == BS_HTTP_HEAD)) {
		bs_ops_serve(env->ops, req);
		return;
	}
	bs_metrics_inc(env->metrics, BS_M_REFUSED_OTHER);
	if (ops)
		bs_http_reply_error(req, 405, "method_not_allowed", "use GET",
		    "Allow: GET, HEAD\r\n");
	else
		reply_error(req, 404, "not_found", "no such endpoint");
}

/* The source allow-list (bitbucket.allow_cidrs), from the head of
 * POST /hooks/bitbucket, before its body is read. The client is the TCP
 * peer, or, when the peer is one of http.trusted_proxies, the rightmost
 * X-Forwarded-For entry that is not (every X-Forwarded-For header, joined
 * in order, as RFC 7230 §3.2.2 says). */
static const struct bs_http_refusal forbidden = { 403, "forbidden_source",
	"the source address is not in bitbucket.allow_cidrs" };

static const struct bs_http_refusal *
admit(void *arg, struct bs_http_req *req)
{
	struct bs_ingest *in = arg;
	const struct bs_config *cfg = in->env.live->cfg;
	size_t plen;
	const char *path = bs_http_req_path(req, &plen);
	if (!cfg->bitbucket.n_allow_cidrs || bs_http_req_method(req) != BS_HTTP_POST ||
	    plen != strlen("/hooks/bitbucket") ||
	    memcmp(path, "/hooks/bitbucket", plen) != 0)
		return NULL;
	const unsigned char *peer = bs_http_req_peer(req);
	unsigned char client[16];
	int ok;
	if (cfg->http.n_trusted_proxies &&
	    bs_cidr_match16(cfg->http.trusted_proxies, cfg->http.n_trusted_proxies,
	    peer)) {
		struct bs_json_out xff;  /* a growing buffer, not JSON here */
		bs_json_out_init(&xff);
		for (size_t i = 0, n = bs_http_req_n_headers(req); i < n; i++) {
			const char *name, *value;
			bs_http_req_header_at(req, i, &name, &value);
			if (evutil_ascii_strcasecmp(name, "X-Forwarded-For") != 0)
				continue;
			if (xff.len)
				bs_json_out_raw(&xff, ",", 1);
			bs_json_out_raw(&xff, value, strlen(value));
		}
		bs_json_out_raw(&xff, "", 1);   /* the NUL */
		ok = bs_cidr_client(peer, xff.buf, cfg->http.trusted_proxies,
		    cfg->http.n_trusted_proxies, client) == 0;
		bs_json_out_free(&xff);
	} else {
		memcpy(client, peer, sizeof(client));
		ok = 1;
	}
	if (ok && bs_cidr_match16(cfg->bitbucket.allow_cidrs,
	    cfg->bitbucket.n_allow_cidrs, client))
		return NULL;
	char a[BS_CIDR_ADDRSTRLEN];
	/* Refused from the head: answered as soon as this returns. */
	delivered(&in->env, product_of_headers(req),
	    bs_metrics_event_of(bs_http_req_header(req, "X-Event-Key")),
	    BS_MD_SOURCE, bs_http_req_started(req));
	log_info("delivery refused (403 forbidden_source): %s%s",
	    bs_cidr_format(client, a, sizeof(a)),
	    ok ? " is not in bitbucket.allow_cidrs" :
	    ": malformed or too long X-Forwarded-For");
	return &forbidden;
}

/* Buffered log lines (common/log.h) go out at the end of the loop pass
 * that logged them: the first line of a pass makes this event active. */
static void
on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bs_log_flush();
}

static void
schedule_log_flush(void *arg)
{
	event_active(arg, EV_TIMEOUT, 0);
}

struct bs_ingest *
bs_ingest_new(const struct bs_ingest_env *env, char *err, size_t errlen)
{
	const struct bs_config *cfg = env->live->cfg;
	struct bs_ingest *in = xcalloc(1, sizeof(*in));
	in->env = *env;
	struct bs_http_server_env senv = {
		.base = env->base,
		.live = env->live,
		.listen_how = "--listen or listen:",
		.metrics = env->metrics,
		.handler = on_request,
		.admit = admit,
		.arg = in,
	};
	in->srv = bs_http_server_new(&senv, err, errlen);
	if (!in->srv) {
		free(in);
		return NULL;
	}
	log_info("listening on http://%s:%d/hooks/bitbucket", cfg->listen_host,
	    bs_http_server_port(in->srv));
	in->log_flush = event_new(env->base, -1, 0, on_log_flush, NULL);
	if (in->log_flush)
		bs_log_set_flusher(schedule_log_flush, in->log_flush);
	return in;
}

int
bs_ingest_port(const struct bs_ingest *in)
{
	return bs_http_server_port(in->srv);
}

void
bs_ingest_stop_accepting(struct bs_ingest *in)
{
	bs_http_server_stop_accepting(in->srv);
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
	bs_http_server_free(in->srv);
	if (in->log_flush) {
		bs_log_set_flusher(NULL, NULL);    /* writes what waits */
		event_free(in->log_flush);
	}
	free(in);
}
