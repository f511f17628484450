/* http_client: libcurl multi on the libevent loop (see http_client.h).
 *
 * curl's multi-event.c/hiperfifo.c shape with STYLE.md 4.3's rules: one
 * CURLM per bs_http; one struct sock_ctx per curl socket (curl_multi_assign,
 * re-armed with event_del + event_assign, freed on CURL_POLL_REMOVE); one
 * evtimer for CURLMOPT_TIMERFUNCTION (-1 deletes it, any other value, 0
 * included, re-arms it; the timer function itself never calls libcurl).
 * After every curl_multi_socket_action the info queue is drained: done
 * transfers are removed and cleaned up outside libcurl's callbacks into a
 * local list, and only then do the user callbacks run, so a callback may
 * post again. A request refused before reaching libcurl is completed from a
 * zero-delay event, never before bs_http_post returns. struct xfer belongs
 * to the client from bs_http_post until its callback returns; a response is
 * valid only during its callback. Single-threaded: the base's thread only. */
#include "deploy/http_client.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define HTTP_DEFAULT_CONNECT_MS 5000
#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_DEFAULT_MAX_RESPONSE 65536
#define HTTP_MAX_RETRY_AFTER_S 1000000000L  /* ~31 years: clamp, not trust */
#define HTTP_RETRY_AFTER_MAX 64              /* bytes of the header value kept */

struct sock_ctx {
	struct bs_http *h;
	curl_socket_t fd;
	struct event *ev;
	struct sock_ctx *prev, *next;
};

struct xfer {
	struct bs_http *h;
	CURL *easy;
	struct curl_slist *headers;
	bs_http_cb *cb;
	void *arg;

	char *body;                 /* NUL-terminated, at most max_response bytes */
	size_t body_len, body_cap, max_response;
	size_t received;            /* every body byte, kept or not */
	bool whole;                 /* a body over max_response fails the call */
	char retry_after[HTTP_RETRY_AFTER_MAX];
	char errbuf[CURL_ERROR_SIZE];
	const char *error;          /* failure outside libcurl: set => status 0 */
	char host[128];             /* the URL's host[:port], for the log */
	long os_errno;              /* CURLINFO_OS_ERRNO of a failed connect */
	bool get;

	CURLcode result;
	long status;
	double total_s;
	struct xfer *prev, *next;   /* h->active (doubly) or a done list (next) */
};

struct bs_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;        /* CURLMOPT_TIMERFUNCTION's one timer */
	struct event *deferred_ev;  /* completes the deferred list */
	struct xfer *active;        /* added to multi, not yet done */
	struct xfer *deferred, *deferred_tail;
	struct sock_ctx *socks;
	size_t in_flight;           /* posted, callback not yet run */
	unsigned dispatching;       /* > 0 while user callbacks run */
	bool closing;
};

/* === completion === */

static long
parse_retry_after(const char *v)
{
	if (!v[0])
		return -1;
	bool digits = true;
	for (const char *p = v; *p; p++)
		if (!isdigit((unsigned char)*p))
			digits = false;
	if (digits) {
		long s = 0;
		for (const char *p = v; *p; p++) {
			s = s * 10 + (*p - '0');
			if (s > HTTP_MAX_RETRY_AFTER_S)
				return HTTP_MAX_RETRY_AFTER_S;
		}
		return s;
	}
	time_t when = curl_getdate(v, NULL);  /* HTTP-date */
	if (when == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	if (when <= now)
		return 0;
	if ((long long)(when - now) > HTTP_MAX_RETRY_AFTER_S)
		return HTTP_MAX_RETRY_AFTER_S;
	return (long)(when - now);
}

static void
xfer_release_curl(struct xfer *x)
{
	if (x->easy) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	/* The headers hold the Bearer token: wiped before libcurl frees
	 * them, so it does not outlive the request in freed memory. */
	for (struct curl_slist *h = x->headers; h; h = h->next)
		OPENSSL_cleanse(h->data, strlen(h->data));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

static void
active_unlink(struct bs_http *h, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		h->active = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void
list_append(struct xfer **head, struct xfer **tail, struct xfer *x)
{
	x->next = NULL;
	x->prev = NULL;
	if (*tail)
		(*tail)->next = x;
	else
		*head = x;
	*tail = x;
}

/* Failures of the connection itself (rather than of an answer). */
static bool
connection_failed(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return true;
	default:
		return false;
	}
}

/* The host[:port] of url (no scheme, user info, path or query: nothing
 * that could carry a credential) into out. */
static void
url_host(const char *url, char *out, size_t outlen)
{
	const char *a = strstr(url, "://");
	a = a ? a + 3 : url;
	size_t n = strcspn(a, "/?#");
	const char *at = memchr(a, '@', n);
	while (at) {                  /* the last '@' of the authority */
		n -= (size_t)(at + 1 - a);
		a = at + 1;
		at = memchr(a, '@', n);
	}
	snprintf(out, outlen, "%.*s", (int)n, a);
}

/* Runs the callback of every transfer on the list, then frees it. The list
 * is private to the caller, so callbacks may post (and so touch h). */
static void
dispatch(struct bs_http *h, struct xfer *list)
{
	h->dispatching++;
	while (list) {
		struct xfer *x = list;
		list = x->next;
		struct bs_http_response r = { 0 };
		bool failed = x->error != NULL || x->result != CURLE_OK ||
		    x->status <= 0;
		r.status = failed ? 0 : x->status;
		r.body = x->body ? x->body : "";
		r.body_len = x->body_len;
		r.retry_after_s = parse_retry_after(x->retry_after);
		r.curl_code = (int)x->result;
		r.total_s = x->total_s;
		if (x->error)
			r.error = x->error;
		else if (x->whole && x->result == CURLE_WRITE_ERROR)
			r.error = "response too large";
		else if (x->result != CURLE_OK)
			r.error = x->errbuf[0] ? x->errbuf :
			    curl_easy_strerror(x->result);
		else if (failed)
			r.error = "no http status";
		/* One line per failed connection, the same text for the same
		 * cause (no timings): the log's repeat limiter counts them. */
		if (!x->error && connection_failed(x->result))
			log_warn("http: %s %s failed: %s%s%s%s", x->get ? "GET" : "POST",
			    x->host, curl_easy_strerror(x->result),
			    x->os_errno ? " (" : "",
			    x->os_errno ? strerror((int)x->os_errno) : "",
			    x->os_errno ? ")" : "");
		h->in_flight--;
		x->cb(&r, x->arg);
		free(x->body);
		free(x);
	}
	h->dispatching--;
}

/* Drains curl's info queue: every done transfer is taken off the multi
 * handle and cleaned up here, outside libcurl's callbacks; the callbacks
 * run only after the queue is empty. */
static void
process_done(struct bs_http *h)
{
	struct xfer *head = NULL, *tail = NULL;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		void *priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		struct xfer *x = priv;
		if (!x) {
			curl_multi_remove_handle(h->multi, easy);
			curl_easy_cleanup(easy);
			continue;
		}
		x->result = result;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
		curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &x->total_s);
		if (result != CURLE_OK)
			curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &x->os_errno);
		/* msg points into the handle: not used after this. */
		curl_multi_remove_handle(h->multi, easy);
		xfer_release_curl(x);
		active_unlink(h, x);
		list_append(&head, &tail, x);
	}
	dispatch(h, head);
}

static void
on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct bs_http *h = arg;
	(void)fd;
	(void)what;
	struct xfer *list = h->deferred;
	h->deferred = h->deferred_tail = NULL;
	dispatch(h, list);
}

/* === libcurl <-> libevent glue === */

static void
on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock_ctx *sc = arg;
	struct bs_http *h = sc->h;  /* sc may be freed by socket_action */
	int flags = 0, running = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	CURLMcode mc = curl_multi_socket_action(h->multi, fd, flags, &running);
	if (mc != CURLM_OK)
		log_error("http: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	process_done(h);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bs_http *h = arg;
	int running = 0;
	(void)fd;
	(void)what;
	CURLMcode mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	if (mc != CURLM_OK)
		log_error("http: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	process_done(h);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms or deletes the evtimer; never
 * calls libcurl (curl#3836: recursion on 7.88 when it does). */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct bs_http *h = userp;
	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
	    .tv_usec = (timeout_ms % 1000) * 1000 };
	evtimer_add(h->timer, &tv);  /* replaces any earlier timeout */
	return 0;
}

static void
sock_free(struct bs_http *h, struct sock_ctx *sc)
{
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		h->socks = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	event_free(sc->ev);  /* also deletes it */
	free(sc);
}

/* CURLMOPT_SOCKETFUNCTION: keeps one persistent event per curl socket. */
static int
on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct bs_http *h = userp;
	struct sock_ctx *sc = socketp;
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		if (sc) {
			sock_free(h, sc);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	if (!sc) {
		sc = xcalloc(1, sizeof(*sc));
		sc->h = h;
		sc->fd = s;
		sc->ev = event_new(h->base, s, 0, on_sock_event, sc);
		if (!sc->ev) {
			/* Only out of memory (or a bad fd from curl): fatal, like
			 * every other allocation failure. */
			log_error("http: event_new failed for socket %d", (int)s);
			abort();
		}
		sc->next = h->socks;
		if (h->socks)
			h->socks->prev = sc;
		h->socks = sc;
		curl_multi_assign(h->multi, s, sc);
	}
	short events = EV_PERSIST;
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	event_del(sc->ev);
	event_assign(sc->ev, h->base, s, events, on_sock_event, sc);
	event_add(sc->ev, NULL);
	return 0;
}

/* === per-transfer callbacks === */

static size_t
on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	x->received += n;
	if (x->whole && x->received > x->max_response)
		return 0;  /* CURLE_WRITE_ERROR: reported as "response too large" */
	if (x->body_len < x->max_response) {
		size_t take = x->max_response - x->body_len;
		if (take > n)
			take = n;
		if (x->body_cap < x->body_len + take + 1) {
			size_t cap = x->body_cap ? x->body_cap : 1024;
			while (cap < x->body_len + take + 1)
				cap *= 2;
			if (cap > x->max_response + 1)
				cap = x->max_response + 1;
			x->body = xrealloc(x->body, cap);
			x->body_cap = cap;
		}
		memcpy(x->body + x->body_len, ptr, take);
		x->body_len += take;
		x->body[x->body_len] = '\0';
	}
	return n;  /* the rest is discarded, the transfer still succeeds */
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";

	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		x->retry_after[0] = '\0';  /* a new response (after a 1xx) */
	} else if (n > sizeof(name) - 1 &&
	    strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		const char *v = buf + sizeof(name) - 1, *end = buf + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
		    end[-1] == ' ' || end[-1] == '\t'))
			end--;
		size_t len = (size_t)(end - v);
		if (len >= sizeof(x->retry_after))
			len = 0;  /* too long to be a valid value: ignore it */
		memcpy(x->retry_after, v, len);
		x->retry_after[len] = '\0';
	}
	return n;
}

/* === public === */

struct bs_http *
bs_http_new(struct event_base *base)
{
	if (!base || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	struct bs_http *h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->multi = curl_multi_init();
	h->timer = evtimer_new(base, on_timer, h);
	h->deferred_ev = event_new(base, -1, 0, on_deferred, h);
	if (!h->multi || !h->timer || !h->deferred_ev) {
		if (h->multi)
			curl_multi_cleanup(h->multi);
		if (h->timer)
			event_free(h->timer);
		if (h->deferred_ev)
			event_free(h->deferred_ev);
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	if (vi && !(vi->features & CURL_VERSION_ASYNCHDNS))
		log_warn("http: this libcurl resolves names synchronously: a slow DNS "
		    "answer for sleuth.base_url blocks the event loop (use an IP, or "
		    "a libcurl built with the threaded resolver or c-ares)");
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void
bs_http_free(struct bs_http *h)
{
	if (!h)
		return;
	if (h->dispatching) {
		log_error("http: bs_http_free called from a request callback");
		abort();
	}
	h->closing = true;
	/* Deferred failures keep their own error; live transfers get
	 * "shutdown". Removing handles here is outside any curl callback. */
	struct xfer *head = h->deferred, *tail = h->deferred_tail;
	h->deferred = h->deferred_tail = NULL;
	while (h->active) {
		struct xfer *x = h->active;
		active_unlink(h, x);
		curl_multi_remove_handle(h->multi, x->easy);
		xfer_release_curl(x);
		x->error = "shutdown";
		list_append(&head, &tail, x);
	}
	curl_multi_cleanup(h->multi);  /* may still call on_curl_socket */
	h->multi = NULL;
	while (h->socks)
		sock_free(h, h->socks);
	event_free(h->timer);
	event_free(h->deferred_ev);
	h->timer = h->deferred_ev = NULL;
	dispatch(h, head);
	free(h);
	curl_global_cleanup();
}

size_t
bs_http_in_flight(const struct bs_http *h)
{
	return h ? h->in_flight : 0;
}

static bool
valid_header(const char *line)
{
	return line && strchr(line, ':') && !strpbrk(line, "\r\n");
}

static bool
has_header(const struct bs_http_request *req, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i] && strncasecmp(req->headers[i], name, n) == 0 &&
		    req->headers[i][n] == ':')
			return true;
	return false;
}

static struct curl_slist *
slist_add(struct curl_slist *l, const char *s, bool *ok)
{
	struct curl_slist *n = curl_slist_append(l, s);
	if (!n) {
		*ok = false;
		return l;
	}
	return n;
}

/* Configures x->easy for req; returns NULL or an error message. */
static const char *
setup_easy(struct xfer *x, const struct bs_http_request *req)
{
	CURL *e = x->easy;
	bool ok = true;
	CURLcode rc = CURLE_OK;
	long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    HTTP_DEFAULT_CONNECT_MS;
	long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms :
	    HTTP_DEFAULT_TIMEOUT_MS;

	for (size_t i = 0; i < req->n_headers; i++) {
		if (!valid_header(req->headers[i]))
			return "invalid request header";
		x->headers = slist_add(x->headers, req->headers[i], &ok);
	}
	if (!req->get && !has_header(req, "Content-Type"))
		x->headers = slist_add(x->headers, "Content-Type: application/json",
		    &ok);
	x->headers = slist_add(x->headers, "Expect:", &ok);
	if (!ok)
		return "out of memory";

#define SET(opt, val) do { \
	if (rc == CURLE_OK) \
		rc = curl_easy_setopt(e, (opt), (val)); \
} while (0)
	SET(CURLOPT_PRIVATE, (void *)x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_USERAGENT, "bitsleuth/" BS_VERSION);
	SET(CURLOPT_HTTPHEADER, x->headers);
	if (req->get) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_POST, 1L);
		/* POSTFIELDSIZE first: COPYPOSTFIELDS copies that many bytes. */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ?
		    req->body_len : 0));
		SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, (void *)x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)x);
#undef SET
	return rc == CURLE_OK ? NULL : curl_easy_strerror(rc);
}

int
bs_http_post(struct bs_http *h, const struct bs_http_request *req,
    bs_http_cb *cb, void *arg)
{
	if (!h || h->closing || !cb)
		return -1;
	struct xfer *x = xcalloc(1, sizeof(*x));
	const char *err = NULL;

	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->max_response = req && req->max_response ? req->max_response :
	    HTTP_DEFAULT_MAX_RESPONSE;
	x->whole = req && req->whole_response;
	x->get = req && req->get;
	if (req && req->url)
		url_host(req->url, x->host, sizeof(x->host));
	h->in_flight++;
	if (!req || !req->url || !req->url[0])
		err = "no url";
	if (!err && !(x->easy = curl_easy_init()))
		err = "cannot create transfer";
	if (!err)
		err = setup_easy(x, req);
	if (!err) {
		CURLMcode mc = curl_multi_add_handle(h->multi, x->easy);
		if (mc != CURLM_OK)
			err = curl_multi_strerror(mc);
	}
	if (err) {
		/* Complete from the loop, never before we return. */
		xfer_release_curl(x);
		snprintf(x->errbuf, sizeof(x->errbuf), "%s", err);
		x->error = x->errbuf;
		list_append(&h->deferred, &h->deferred_tail, x);
		event_active(h->deferred_ev, EV_TIMEOUT, 1);
		return 0;
	}
	x->next = h->active;
	if (h->active)
		h->active->prev = x;
	h->active = x;
	return 0;
}
