/* http_client: outgoing HTTP on the libevent loop with libcurl multi.
 *
 * One CURLM driven by socket and timer callbacks (curl's multi-event.c
 * shape, with the rules of STYLE.md 4.3): one evtimer that is never used to
 * call libcurl re-entrantly, per-socket events through curl_multi_assign,
 * per-transfer state through CURLOPT_PRIVATE, and easy handles removed only
 * outside libcurl callbacks. No threads, no blocking calls.
 *
 * Contract: every request's callback runs exactly once, from the loop
 * (never before bs_http_post returns): with the status and body, or with
 * status 0 and `error` set (connect/timeout/too large/shutdown). */
#ifndef BS_HTTP_CLIENT_H
#define BS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

struct bs_http;

struct bs_http_request {
	const char *url;
	const char *const *headers;  /* "Name: value" lines */
	size_t n_headers;
	const char *body;            /* copied; may be freed after the call */
	size_t body_len;
	long connect_timeout_ms;     /* default 5000 */
	long timeout_ms;             /* whole transfer, default 30000 */
	size_t max_response;         /* bytes of body kept, default 65536 (rest discarded) */
	bool whole_response;         /* a longer body fails the call instead:
	                              * status 0, "response too large" */
	bool get;                    /* GET (body ignored) instead of POST */
};

struct bs_http_response {
	long status;                 /* 0 when no HTTP answer */
	const char *body;            /* NUL-terminated, possibly cut at max_response */
	size_t body_len;
	long retry_after_s;          /* Retry-After in seconds, -1 if absent */
	int curl_code;               /* CURLcode, 0 on success */
	const char *error;           /* NULL when status > 0 */
	double total_s;
};

typedef void bs_http_cb(const struct bs_http_response *resp, void *arg);

struct bs_http *bs_http_new(struct event_base *base);
/* Fails in-flight requests with error "shutdown" (each callback once),
 * then frees. Not from inside one of its callbacks. */
void bs_http_free(struct bs_http *h);
size_t bs_http_in_flight(const struct bs_http *h);

/* Starts the request (a POST, or a GET when req->get). Returns 0; cb runs
 * later exactly once. */
int bs_http_post(struct bs_http *h, const struct bs_http_request *req,
    bs_http_cb *cb, void *arg);

#endif
