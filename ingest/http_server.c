/* http_server: HTTP/1.1 on bufferevents (see http_server.h).
 *
 * A connection is in one state at a time, with one timer:
 *   IDLE      no request byte yet             timer: http.idle_timeout_ms
 *   READING   a request is arriving           timer: its deadline
 *   HANDLING  the handler has it              no timer, reading off
 *   WRITING   the reply is going out          timer: http.timeout_ms
 *   CLOSING   lingering close after a refusal timer: 1 s
 * IDLE, READING and CLOSING connections are kept in one list per state, in
 * the order they entered it, so the one to shed at the cap is a list head.
 * The body reserved by each request counts against http.max_inflight_bytes
 * until its reply is written (or the connection closes). */
#include "ingest/http_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/cidr.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "ingest/ip_count.h"
#include "ingest/json_out.h"

#define LINGER_MS 1000
#define FD_BACKOFF_MS 1000        /* pause after EMFILE/ENFILE/ENOBUFS/ENOMEM */
#define READ_CHUNK 16384          /* most read into one connection at once */

enum cst { C_IDLE, C_READING, C_HANDLING, C_WRITING, C_CLOSING, C__N };

struct bs_http_req {              /* one connection and its current request */
	struct bs_http_server *s;
	struct bufferevent *bev;
	struct bs_http_parse *parse;
	struct event *timer;
	enum cst st;
	TAILQ_ENTRY(bs_http_req) link;  /* in s->lists[st] for IDLE, READING, CLOSING */
	TAILQ_ENTRY(bs_http_req) all;   /* in s->all */
	unsigned char peer[16];
	size_t reserved;                /* of s->inflight */
	double started;                 /* bs_metrics_now() at the request's first byte */
	struct bs_http_refusal stop;    /* set by our parse callbacks */
	unsigned close_after : 1;       /* no further request on this one */
	unsigned continue_sent : 1;
	unsigned gone : 1;              /* the client left while handling */
};

TAILQ_HEAD(conn_list, bs_http_req);

struct bs_http_server {
	struct bs_http_server_env env;
	struct evconnlistener *lev;
	struct event *resume;           /* ends an fd-exhaustion pause */
	int paused_fd, paused_full, stopping;
	int fd_episode;                 /* out of descriptors since the last accept */
	struct conn_list lists[C__N];
	struct conn_list all;           /* every open connection */
	size_t n_open;
	size_t inflight;                /* body bytes reserved */
	struct bs_ip_count *ips;
	int port;
};

static const struct bs_http_refusal too_many = { 503, "too_many_connections",
	"too many connections from this address (http.max_connections_per_ip)" };
static const struct bs_http_refusal busy = { 503, "busy",
	"too many request bodies in memory (http.max_inflight_bytes); retry" };
static const struct bs_http_refusal deadline = { 408, "request_timeout",
	"the request was not whole within http.timeout_ms" };

static const struct bs_config *
cfg_of(const struct bs_http_server *s)
{
	return s->env.cfg ? s->env.cfg : s->env.live->cfg;
}

static void
gauge(struct bs_http_server *s)
{
	s->env.metrics->http_open = (long long)s->n_open;
}

/* === States ============================================================= */

static int
listed(enum cst st)
{
	return st == C_IDLE || st == C_READING || st == C_CLOSING;
}

/* Moves c to state st (and its list), with the timer set to ms (< 0: no
 * timer). */
static void
enter(struct bs_http_req *c, enum cst st, int ms)
{
	struct bs_http_server *s = c->s;
	if (listed(c->st))
		TAILQ_REMOVE(&s->lists[c->st], c, link);
	if (st == C_READING && c->st != C_READING)
		c->started = bs_metrics_now();
	c->st = st;
	if (listed(st))
		TAILQ_INSERT_TAIL(&s->lists[st], c, link);
	if (ms < 0) {
		evtimer_del(c->timer);
	} else {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		evtimer_add(c->timer, &tv);
	}
}

static void
set_listening(struct bs_http_server *s)
{
	if (!s->lev)
		return;
	if (s->paused_fd || s->paused_full)
		evconnlistener_disable(s->lev);
	else
		evconnlistener_enable(s->lev);
}

static void
give_back(struct bs_http_req *c)
{
	c->s->inflight -= c->reserved;
	c->reserved = 0;
}

static void
conn_free(struct bs_http_req *c)
{
	struct bs_http_server *s = c->s;
	if (listed(c->st))
		TAILQ_REMOVE(&s->lists[c->st], c, link);
	TAILQ_REMOVE(&s->all, c, all);
	give_back(c);
	bs_ip_count_del(s->ips, c->peer);
	bs_http_parse_free(c->parse);
	if (c->bev)
		bufferevent_free(c->bev);
	event_free(c->timer);
	free(c);
	s->n_open--;
	gauge(s);
	if (s->paused_full) {
		s->paused_full = 0;
		set_listening(s);
	}
}

/* Closes the write side and discards what the client still sends for up
 * to LINGER_MS, so that a client still sending reads our reply instead of
 * a reset. */
static void
linger(struct bs_http_req *c)
{
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	enter(c, C_CLOSING, LINGER_MS);
	bufferevent_enable(c->bev, EV_READ);
}

/* === Replies ============================================================ */

static const char *
phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 500 ? "Bad Request" :
	    "Internal Server Error";
	}
}

void
bs_http_reply(struct bs_http_req *c, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	if (c->gone) {
		conn_free(c);
		return;
	}
	struct bs_http_server *s = c->s;
	const struct bs_http_msg *m = bs_http_parse_msg(c->parse);
	int complete = m->body != NULL;
	if (!complete || !m->keep_alive || s->stopping)
		c->close_after = 1;
	const char *conn = c->close_after ? "Connection: close\r\n" :
	    m->version_minor == 0 ? "Connection: keep-alive\r\n" : "";
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%s%s\r\n", status, phrase(status),
	    content_type, len, conn, extra_headers ? extra_headers : "");
	if (m->method != BS_HTTP_HEAD || !m->method_name)
		evbuffer_add(out, body, len);
	bufferevent_disable(c->bev, EV_READ);
	enter(c, C_WRITING, cfg_of(s)->http.timeout_ms);
	bufferevent_enable(c->bev, EV_WRITE);
}

void
bs_http_reply_error(struct bs_http_req *c, int status, const char *code,
    const char *reason, const char *extra_headers)
{
	struct bs_json_out o;
	bs_json_out_init(&o);
	bs_json_out_raw(&o, "{\"error\":", 9);
	bs_json_out_str(&o, code);
	bs_json_out_raw(&o, ",\"reason\":", 10);
	bs_json_out_str(&o, reason);
	bs_json_out_raw(&o, "}\n", 2);
	bs_http_reply(c, status, "application/json", extra_headers, o.buf, o.len);
	bs_json_out_free(&o);
}

/* Answers with r from the HTTP layer itself and closes afterwards. */
static void
refuse(struct bs_http_req *c, const struct bs_http_refusal *r)
{
	c->close_after = 1;
	bs_http_reply_error(c, r->status, r->code, r->reason, NULL);
}

/* === Reading ============================================================ */

static void process(struct bs_http_req *c);

static void
handle(struct bs_http_req *c)
{
	bufferevent_disable(c->bev, EV_READ);
	enter(c, C_HANDLING, -1);
	c->s->env.handler(c->s->env.arg, c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct bs_http_req *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	switch (c->st) {
	case C_CLOSING:
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case C_IDLE:
		enter(c, C_READING, cfg_of(c->s)->http.timeout_ms);
		/* fall through */
	case C_READING:
		process(c);
		return;
	default:
		return;                  /* kept for after the reply */
	}
}

/* Feeds what has arrived to the parser until it wants more, a request is
 * whole (handled) or refused. */
static void
process(struct bs_http_req *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (c->st == C_READING && evbuffer_get_length(in)) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		enum bs_http_state st;
		size_t n = bs_http_parse_feed(c->parse, v.iov_base, v.iov_len, &st);
		evbuffer_drain(in, n);
		switch (st) {
		case BS_HTTP_MORE:
			break;
		case BS_HTTP_COMPLETE:
			handle(c);
			return;
		case BS_HTTP_BAD:
			/* A 413 is refused from the head, before ingest sees it:
			 * a delivery of unknown product and event. */
			if (bs_http_parse_refusal(c->parse)->status == 413)
				bs_metrics_delivery(c->s->env.metrics, 0, BS_MEV_OTHER,
				    BS_MD_TOO_LARGE);
			else
				bs_metrics_inc(c->s->env.metrics, BS_M_HTTP_BAD_REQUEST);
			refuse(c, bs_http_parse_refusal(c->parse));
			return;
		case BS_HTTP_STOPPED:
			refuse(c, &c->stop);
			return;
		}
	}
	const struct bs_http_msg *m = bs_http_parse_msg(c->parse);
	if (c->st == C_READING && m->method_name && m->expect_continue &&
	    !c->continue_sent) {
		c->continue_sent = 1;
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
}

/* http_parse callbacks: the admission check and the body reservation. */
static int
on_head(void *arg, const struct bs_http_msg *m)
{
	(void)m;
	struct bs_http_req *c = arg;
	const struct bs_http_refusal *r = c->s->env.admit ?
	    c->s->env.admit(c->s->env.arg, c) : NULL;
	if (!r)
		return 0;
	c->stop = *r;
	return 1;
}

static int
on_reserve(void *arg, size_t more)
{
	struct bs_http_req *c = arg;
	struct bs_http_server *s = c->s;
	if (s->inflight + more > cfg_of(s)->http.max_inflight_bytes) {
		bs_metrics_inc(s->env.metrics, BS_M_HTTP_INFLIGHT_REFUSED);
		c->stop = busy;
		return 1;
	}
	s->inflight += more;
	c->reserved += more;
	return 0;
}

/* === Connection events ================================================== */

static void
on_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct bs_http_req *c = arg;
	if (c->st != C_WRITING)
		return;                  /* a 100 Continue went out */
	if (c->close_after) {
		/* Lingering matters only when the client may still be sending:
		 * a refused or unfinished request, or bytes after it. */
		if (bs_http_parse_msg(c->parse)->body &&
		    !evbuffer_get_length(bufferevent_get_input(c->bev)))
			conn_free(c);
		else
			linger(c);
		return;
	}
	give_back(c);
	bs_http_parse_next(c->parse);
	c->continue_sent = 0;
	enter(c, C_IDLE, cfg_of(c->s)->http.idle_timeout_ms);
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->bev))) {
		enter(c, C_READING, cfg_of(c->s)->http.timeout_ms);
		process(c);              /* a pipelined request */
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;                  /* EOF, error or timeout: the same */
	struct bs_http_req *c = arg;
	if (c->st == C_HANDLING) {
		/* The reply frees it. */
		c->gone = 1;
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	conn_free(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_http_req *c = arg;
	struct bs_metrics *m = c->s->env.metrics;
	switch (c->st) {
	case C_READING:
		bs_metrics_inc(m, BS_M_HTTP_DEADLINE);
		refuse(c, &deadline);
		return;
	case C_IDLE:
		bs_metrics_inc(m, BS_M_HTTP_IDLE_CLOSED);
		conn_free(c);
		return;
	default:
		conn_free(c);
		return;
	}
}

/* === Accepting ========================================================== */

/* At the cap: closes the connection that matters least, or returns 0 when
 * every one is busy with a request already read. */
static int
shed_one(struct bs_http_server *s)
{
	static const enum cst order[] = { C_CLOSING, C_IDLE, C_READING };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct bs_http_req *c = TAILQ_FIRST(&s->lists[order[i]]);
		if (c) {
			bs_metrics_inc(s->env.metrics, BS_M_HTTP_SHED);
			conn_free(c);
			return 1;
		}
	}
	return 0;
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	(void)lev;
	(void)socklen;
	struct bs_http_server *s = arg;
	const struct bs_config *cfg = cfg_of(s);
	if (s->fd_episode) {
		s->fd_episode = 0;
		log_info("accepting connections again after running out of file "
		    "descriptors (%zu open)", s->n_open);
	}
	if (s->n_open >= (size_t)cfg->http.max_connections && !shed_one(s)) {
		/* Every connection has a request in hand: take no more until one
		 * closes (the kernel's backlog holds them meanwhile). */
		evutil_closesocket(fd);
		bs_metrics_inc(s->env.metrics, BS_M_HTTP_ACCEPT_PAUSED);
		s->paused_full = 1;
		set_listening(s);
		return;
	}
	struct bs_http_req *c = xcalloc(1, sizeof(*c));
	c->s = s;
	if (bs_cidr_sockaddr16(sa, c->peer) != 0)
		memset(c->peer, 0, sizeof(c->peer));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bufferevent_socket_new(s->env.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(s->env.base, on_timer, c);
	if (!c->timer)
		abort();
	struct bs_http_limits lim = { cfg->http.max_headers, cfg->http.max_body };
	c->parse = bs_http_parse_new(&lim, on_head, on_reserve, c);
	bufferevent_setcb(c->bev, on_read, on_written, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_CHUNK);
	s->n_open++;
	gauge(s);
	TAILQ_INSERT_TAIL(&s->all, c, all);
	c->st = C_HANDLING;          /* in no state list yet */
	size_t same = bs_ip_count_add(s->ips, c->peer);
	if (cfg->http.max_connections_per_ip > 0 &&
	    same > (size_t)cfg->http.max_connections_per_ip) {
		bs_metrics_inc(s->env.metrics, BS_M_HTTP_PER_IP_REFUSED);
		refuse(c, &too_many);
		return;
	}
	enter(c, C_IDLE, cfg->http.idle_timeout_ms);
	bufferevent_enable(c->bev, EV_READ);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_http_server *s = arg;
	s->paused_fd = 0;
	set_listening(s);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	struct bs_http_server *s = arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* One warning per episode; each pause is counted. */
		if (!s->fd_episode)
			log_warn("cannot accept connections: %s (%zu open); pausing "
			    "accepting for %d ms at a time until it works again",
			    strerror(err), s->n_open, FD_BACKOFF_MS);
		s->fd_episode = 1;
		bs_metrics_inc(s->env.metrics, BS_M_HTTP_ACCEPT_PAUSED);
		s->paused_fd = 1;
		set_listening(s);
		struct timeval tv = { FD_BACKOFF_MS / 1000, 0 };
		evtimer_add(s->resume, &tv);
		return;
	}
	log_warn("accept() failed: %s", strerror(err));
}

/* Binds the first address host:port resolves to that accepts us. */
static struct evconnlistener *
bind_listener(struct bs_http_server *s, const char *host, int port, char *err,
    size_t errlen)
{
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
		    gai_strerror(rc));
		return NULL;
	}
	struct evconnlistener *lev = NULL;
	int e = 0;
	for (struct addrinfo *ai = res; ai && !lev; ai = ai->ai_next) {
		lev = evconnlistener_new_bind(s->env.base, on_accept, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		    1024, ai->ai_addr, (int)ai->ai_addrlen);
		if (!lev)
			e = errno;
	}
	freeaddrinfo(res);
	if (!lev)
		snprintf(err, errlen, "cannot listen on %s:%d: %s%s%s%s", host, port,
		    strerror(e), e == EADDRINUSE ? " (another process holds the "
		    "port: pick another with " : "", e == EADDRINUSE ?
		    (s->env.listen_how ? s->env.listen_how : "listen:") : "",
		    e == EADDRINUSE ? ", or stop it)" : "");
	return lev;
}

struct bs_http_server *
bs_http_server_new(const struct bs_http_server_env *env, char *err,
    size_t errlen)
{
	struct bs_http_server *s = xcalloc(1, sizeof(*s));
	s->env = *env;
	const struct bs_config *cfg = cfg_of(s);
	for (int i = 0; i < C__N; i++)
		TAILQ_INIT(&s->lists[i]);
	TAILQ_INIT(&s->all);
	s->lev = bind_listener(s, cfg->listen_host, cfg->listen_port, err,
	    errlen);
	if (!s->lev) {
		free(s);
		return NULL;
	}
	evconnlistener_set_error_cb(s->lev, on_accept_error);
	s->resume = evtimer_new(env->base, on_resume, s);
	s->ips = bs_ip_count_new();
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&ss,
	    &sl) == 0) {
		if (ss.ss_family == AF_INET)
			s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return s;
}

int
bs_http_server_port(const struct bs_http_server *s)
{
	return s->port;
}

void
bs_http_server_stop_accepting(struct bs_http_server *s)
{
	s->stopping = 1;
	if (s->lev) {
		evconnlistener_free(s->lev);
		s->lev = NULL;
	}
	/* Idle keep-alive connections would only wait for their timeout. */
	struct bs_http_req *c;
	while ((c = TAILQ_FIRST(&s->lists[C_IDLE])))
		conn_free(c);
}

void
bs_http_server_free(struct bs_http_server *s)
{
	if (!s)
		return;
	if (s->lev)
		evconnlistener_free(s->lev);
	s->lev = NULL;
	struct bs_http_req *c;
	while ((c = TAILQ_FIRST(&s->all)))
		conn_free(c);
	event_free(s->resume);
	bs_ip_count_free(s->ips);
	free(s);
}

/* === Request accessors ================================================== */

enum bs_http_method
bs_http_req_method(const struct bs_http_req *c)
{
	return bs_http_parse_msg(c->parse)->method;
}

const char *
bs_http_req_path(const struct bs_http_req *c, size_t *len)
{
	const struct bs_http_msg *m = bs_http_parse_msg(c->parse);
	const char *q = memchr(m->target, '?', m->target_len);
	*len = q ? (size_t)(q - m->target) : m->target_len;
	return m->target;
}

const char *
bs_http_req_header(const struct bs_http_req *c, const char *name)
{
	return bs_http_parse_header(c->parse, name);
}

const char *
bs_http_req_body(const struct bs_http_req *c, size_t *len)
{
	const struct bs_http_msg *m = bs_http_parse_msg(c->parse);
	*len = m->body ? m->body_len : 0;
	return m->body ? m->body : "";
}

size_t
bs_http_req_n_headers(const struct bs_http_req *c)
{
	return bs_http_parse_msg(c->parse)->n_headers;
}

void
bs_http_req_header_at(const struct bs_http_req *c, size_t i,
    const char **name, const char **value)
{
	bs_http_parse_header_at(c->parse, i, name, value);
}

const unsigned char *
bs_http_req_peer(const struct bs_http_req *c)
{
	return c->peer;
}

double
bs_http_req_started(const struct bs_http_req *req)
{
	return req->started;
}
