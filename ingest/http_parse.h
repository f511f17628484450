/* http_parse: the framing of HTTP/1.1 requests on one connection, on
 * Node's http-parser 2.9 (Debian libhttp-parser-dev), with the checks it
 * leaves to its user. Private to ingest/ (http_server uses it). No I/O:
 * bytes go in, whole requests or a refusal come out.
 *
 * Refused, each with the status and one-line reason of a bs_http_refusal:
 *   400  malformed request line or header, control bytes, bare CR or LF,
 *        obs-fold (a header line starting with SP/HT), a header name that
 *        is not a token ("Foo :"), differing, repeated or malformed
 *        Content-Length, Content-Length with Transfer-Encoding, two
 *        Transfer-Encoding headers, a bad or overflowing chunk size,
 *        chunk data not followed by CRLF, bare CR or LF in the chunked
 *        framing, chunk extensions and trailers over max_head in all;
 *   411  a method other than GET, HEAD, DELETE, OPTIONS with neither
 *        Content-Length nor chunked;
 *   413  Content-Length over max_body (decided from the head, before any
 *        body byte is buffered), or a chunked body growing past it;
 *   417  an Expect other than 100-continue;
 *   431  a head over max_head bytes or more than BS_HTTP_MAX_HEADERS lines;
 *   501  a Transfer-Encoding other than exactly "chunked"; CONNECT;
 *   505  an HTTP version other than 1.0 and 1.1.
 * Trailers of a chunked body are parsed and dropped.
 *
 * Memory: the head is copied into one buffer of at most max_head bytes,
 * the body into one of its declared length (chunked: doubling, at most
 * max_body); every body allocation is asked of the reserve callback first.
 *
 * Pipelining: feeding stops right after a complete request; the caller
 * answers it, calls bs_http_parse_next, and feeds the rest. */
#ifndef BS_HTTP_PARSE_H
#define BS_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define BS_HTTP_MAX_HEADERS 100

enum bs_http_method { BS_HTTP_GET, BS_HTTP_HEAD, BS_HTTP_POST, BS_HTTP_OTHER };

/* The request being parsed. Strings are NUL-terminated and live in the
 * parser until bs_http_parse_next or _free. */
struct bs_http_msg {
	enum bs_http_method method;
	const char *method_name;     /* "GET", "PUT", ... */
	const char *target;          /* request-target as sent: "/hooks/x?y" */
	size_t target_len;
	int version_minor;           /* HTTP/1.<this>: 0 or 1 */
	int64_t content_length;      /* -1: none, or chunked */
	int chunked;
	int expect_continue;         /* Expect: 100-continue was sent */
	size_t n_headers;
	/* Set once the request is complete: */
	int keep_alive;              /* the connection may carry another */
	const char *body;            /* "" when empty; not NUL-terminated */
	size_t body_len;
};

struct bs_http_refusal {
	int status;                  /* 400, 411, 413, 417, 431, 501, 505 */
	const char *code;            /* "bad_request", "too_large", ... */
	const char *reason;          /* static text */
};

struct bs_http_limits {
	size_t max_head;             /* request line and headers, bytes */
	size_t max_body;
};

/* Called once per request when its head is whole and passed the checks
 * above, before any body byte is kept. Returns 0 to go on; anything else
 * stops the request (feed reports BS_HTTP_STOPPED and parses no more). */
typedef int bs_http_head_cb(void *arg, const struct bs_http_msg *m);
/* Called before the body buffer grows by `more` bytes (once with the
 * Content-Length; for chunked bodies at each doubling). 0 allows it;
 * anything else stops the request like the head callback. The bytes are
 * given back by bs_http_parse_next / _free (see _reserved). */
typedef int bs_http_reserve_cb(void *arg, size_t more);

enum bs_http_state {
	BS_HTTP_MORE,                /* all bytes taken, no whole request yet */
	BS_HTTP_COMPLETE,            /* a request is whole: see _msg */
	BS_HTTP_BAD,                 /* refused: see _refusal; feed no more */
	BS_HTTP_STOPPED,             /* a callback said stop; feed no more */
};

struct bs_http_parse;

/* A parser for one connection. lim is copied; the callbacks may be NULL
 * (always go on). Never NULL (allocation failure aborts). */
struct bs_http_parse *bs_http_parse_new(const struct bs_http_limits *lim,
    bs_http_head_cb *on_head, bs_http_reserve_cb *on_reserve, void *arg);

/* Parses up to len bytes and returns how many it took; *st says why it
 * stopped. After COMPLETE the bytes not taken belong to the next request.
 * Must not be called again after COMPLETE before _next, nor after BAD or
 * STOPPED. */
size_t bs_http_parse_feed(struct bs_http_parse *p, const char *data,
    size_t len, enum bs_http_state *st);

/* The request so far (its head fields are valid from the head callback
 * on, body and keep_alive once COMPLETE). */
const struct bs_http_msg *bs_http_parse_msg(const struct bs_http_parse *p);
/* Why the request was refused (after BS_HTTP_BAD). */
const struct bs_http_refusal *bs_http_parse_refusal(
    const struct bs_http_parse *p);
/* The value of the first header named name (ASCII case-insensitive), or
 * NULL. From the head callback on. */
const char *bs_http_parse_header(const struct bs_http_parse *p,
    const char *name);
/* The i-th header (i < n_headers), in the order sent. */
void bs_http_parse_header_at(const struct bs_http_parse *p, size_t i,
    const char **name, const char **value);
/* 1 once a byte of the current request has been taken (the deadline of a
 * request counts from then), 0 while between requests. */
int bs_http_parse_started(const struct bs_http_parse *p);
/* Body bytes reserved (allocated) for the current request. */
size_t bs_http_parse_reserved(const struct bs_http_parse *p);

/* Lets go of the complete request (its body's reservation is given back
 * by the caller, who saw _reserved) and readies for the next one. */
void bs_http_parse_next(struct bs_http_parse *p);
void bs_http_parse_free(struct bs_http_parse *p);

#endif
