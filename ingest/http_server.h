/* http_server: the HTTP/1.1 server of the ingest port, on libevent
 * bufferevents and http_parse. Private to ingest/ (ingest.c routes the
 * requests). It owns every connection from accept to close, so that no
 * client can hold one longer than the limits below, all read live from
 * http.* of the config in force:
 *
 *   idle_timeout_ms   a connection with no request in progress is closed;
 *   timeout_ms        a request must be whole within this of its first
 *                     byte (408 otherwise), and its reply written within
 *                     it; trickling does not extend it;
 *   max_connections   at the cap a new connection is still served: the
 *                     oldest lingering-close, then the oldest idle, then
 *                     the connection whose request started longest ago is
 *                     shed; one whose request is being handled never is;
 *   max_connections_per_ip  503 too_many_connections beyond it;
 *   max_inflight_bytes      503 busy when a body would take more;
 *   max_body, max_headers   413 / 431 from the head (http_parse.h).
 *
 * Every refusal is bitsleuth's one-line JSON {"error":..,"reason":..},
 * followed by a lingering close (write shut, input discarded for up to
 * 1 s) so that the client reads the reply rather than a reset. Requests
 * on a connection are handled one at a time, in order (pipelining), and
 * the next is read only once the reply is written. Accepting pauses for
 * 1 s when accept() runs out of file descriptors. Loop thread only. */
#ifndef BS_HTTP_SERVER_H
#define BS_HTTP_SERVER_H

#include <stddef.h>

#include <event2/event.h>

#include "common/metrics.h"
#include "config/live.h"
#include "ingest/http_parse.h"

struct bs_http_server;
/* One request, from the handler's call to its reply. */
struct bs_http_req;

/* Called once per whole request. The handler (now or later, from any
 * callback) answers with exactly one bs_http_reply or bs_http_reply_error;
 * the request and everything its accessors returned live until then. */
typedef void bs_http_handler(void *arg, struct bs_http_req *req);
/* Called once per request when its head is whole, before its body is
 * read. Returns NULL to go on, or the refusal to answer with (then the
 * connection is closed). */
typedef const struct bs_http_refusal *bs_http_admit(void *arg,
    struct bs_http_req *req);

struct bs_http_server_env {
	struct event_base *base;
	const struct bs_live *live;     /* listen and http.* */
	/* NULL: live->cfg, read per use (the ingest port). Else a fixed
	 * config of the caller's, outliving the server, of which only
	 * listen_host, listen_port and the http.* numbers are read (the ops
	 * port's own address and small caps, ingest/ops.h). */
	const struct bs_config *cfg;
	/* How the address is set, named in the hint of a port in use, e.g.
	 * "--listen or listen:" (NULL: "listen:"). */
	const char *listen_how;
	struct bs_metrics *metrics;     /* outlives the server */
	bs_http_handler *handler;
	bs_http_admit *admit;           /* may be NULL */
	void *arg;
};

/* Binds listen_host:listen_port of the config (names resolved; port 0:
 * any free one) and starts accepting. NULL with the reason in err:
 * "cannot listen on HOST:PORT: <strerror>", and for a port in use a hint
 * naming listen_how. */
struct bs_http_server *bs_http_server_new(const struct bs_http_server_env *env,
    char *err, size_t errlen);
int bs_http_server_port(const struct bs_http_server *s);
/* Closes the listener; open connections go on until they are done. */
void bs_http_server_stop_accepting(struct bs_http_server *s);
/* Closes every connection and frees s. A request still unanswered must
 * not be answered afterwards. NULL is a no-op. */
void bs_http_server_free(struct bs_http_server *s);

/* The request. Strings are NUL-terminated. */
enum bs_http_method bs_http_req_method(const struct bs_http_req *req);
/* The path of the target, without the query: *len bytes. */
const char *bs_http_req_path(const struct bs_http_req *req, size_t *len);
/* The first header of that name (ASCII case-insensitive), or NULL. */
const char *bs_http_req_header(const struct bs_http_req *req,
    const char *name);
/* Every header, in the order sent (i < n_headers). */
size_t bs_http_req_n_headers(const struct bs_http_req *req);
void bs_http_req_header_at(const struct bs_http_req *req, size_t i,
    const char **name, const char **value);
/* The body (not NUL-terminated), empty ("") before the handler call. */
const char *bs_http_req_body(const struct bs_http_req *req, size_t *len);
/* The TCP peer, IPv4 as v4-mapped IPv6. */
const unsigned char *bs_http_req_peer(const struct bs_http_req *req);
/* When the request's first byte arrived, on bs_metrics_now()'s clock
 * (monotonic seconds): the start of its ingest duration. */
double bs_http_req_started(const struct bs_http_req *req);

/* Answers req with status, a body of content_type, and extra header
 * lines (each "Name: value\r\n"; NULL: none). Copies everything. */
void bs_http_reply(struct bs_http_req *req, int status,
    const char *content_type, const char *extra_headers, const char *body,
    size_t len);
/* {"error":code,"reason":reason} as application/json. */
void bs_http_reply_error(struct bs_http_req *req, int status,
    const char *code, const char *reason, const char *extra_headers);

#endif
