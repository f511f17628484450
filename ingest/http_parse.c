/* http_parse: request framing on Node's http-parser (see http_parse.h).
 *
 * http-parser already refuses what RFC 9112 forbids in most places:
 * repeated or malformed Content-Length, Content-Length with chunked, bad
 * chunk sizes and their overflow, control bytes and bare CR. What it lets
 * through in its default (non-strict) build is checked here: a byte scan
 * of the head before the parser sees it refuses bare LF and obs-fold and
 * counts the head's size; the callbacks check header names, repeated or
 * non-chunked Transfer-Encoding, Expect, the version and the length. */
#include "ingest/http_parse.h"

#include <stdlib.h>
#include <string.h>

#include <event2/util.h>
#include <http_parser.h>

#include "common/xalloc.h"

/* The head scan: where we are in the request line and header lines. */
enum scan {
	SC_START,        /* before the request line: empty lines allowed */
	SC_START_CR,     /* CR of such an empty line */
	SC_LINE,         /* inside a line */
	SC_CR,           /* CR ending a line */
	SC_LF,           /* at the start of a header line */
	SC_CR2,          /* CR of the empty line ending the head */
	SC_DONE,         /* the head is whole: the rest is body */
};

/* The chunked-body scan: http-parser's non-strict build does not check the
 * CRLF after chunk data nor bare CR/LF after a size or in trailers, so the
 * framing is checked again here, byte by byte. */
enum chunk {
	CK_SIZE0,        /* the first hex digit of a chunk size */
	CK_SIZE,         /* more digits */
	CK_EXT,          /* blanks and extensions up to the CR */
	CK_SIZE_LF,
	CK_DATA,         /* ck_left bytes of data */
	CK_DATA_CR,
	CK_DATA_LF,
	CK_TRAILER0,     /* the start of a trailer line, or the final CRLF */
	CK_TRAILER,
	CK_TRAILER_LF,
	CK_END_LF,
	CK_DONE,
};

/* Which element the last data callback appended to. */
enum elem { EL_NONE, EL_URL, EL_FIELD, EL_VALUE };

struct hdr {
	size_t name, value;          /* offsets into head */
};

struct bs_http_parse {
	http_parser hp;
	struct bs_http_limits lim;
	bs_http_head_cb *on_head;
	bs_http_reserve_cb *on_reserve;
	void *arg;

	enum scan scan;
	size_t head_bytes;           /* bytes of this request's head seen */
	enum chunk ck;
	uint64_t ck_left;            /* CK_DATA: bytes to go; CK_SIZE: the size */
	size_t ck_meta;              /* extension and trailer bytes seen */
	int started;
	int head_done;               /* headers_complete ran */
	int complete;
	int stopped;                 /* a callback of ours said stop */

	/* The head's strings, each NUL-terminated: target, then name and
	 * value of every header. */
	char *head;
	size_t head_len, head_cap;
	enum elem last;
	struct hdr hdrs[BS_HTTP_MAX_HEADERS];
	size_t n_hdrs;
	int te_count;

	char *body;
	size_t body_len, body_cap;

	struct bs_http_msg msg;
	struct bs_http_refusal why;
};

/* === Refusals =========================================================== */

static void
refuse(struct bs_http_parse *p, int status, const char *code,
    const char *reason)
{
	if (p->why.status)
		return;                  /* the first reason stands */
	p->why.status = status;
	p->why.code = code;
	p->why.reason = reason;
}

static int
bad(struct bs_http_parse *p, const char *reason)
{
	refuse(p, 400, "bad_request", reason);
	return -1;
}

/* === The head =========================================================== */

/* Appends data to the element `el`, starting a new one (and ending the
 * previous with its NUL) when the element changes. The head never holds
 * more than the head bytes seen plus a NUL per element. */
static int
head_add(struct bs_http_parse *p, enum elem el, const char *at, size_t n)
{
	if (p->head_len + n + 3 > p->head_cap) {
		size_t cap = p->head_cap ? p->head_cap : 512;
		while (cap < p->head_len + n + 3)
			cap *= 2;
		p->head = xrealloc(p->head, cap);
		p->head_cap = cap;
	}
	if (el != p->last) {
		if (p->last != EL_NONE)
			p->head[p->head_len++] = '\0';
		if (p->last == EL_FIELD && el != EL_VALUE) {
			/* A name without a value callback: an empty value. */
			p->hdrs[p->n_hdrs - 1].value = p->head_len;
			p->head[p->head_len++] = '\0';
		}
		if (el == EL_FIELD) {
			if (p->n_hdrs == BS_HTTP_MAX_HEADERS) {
				refuse(p, 431, "headers_too_large",
				    "more than 100 header lines");
				return -1;
			}
			p->hdrs[p->n_hdrs++].name = p->head_len;
		} else if (el == EL_VALUE) {
			p->hdrs[p->n_hdrs - 1].value = p->head_len;
		}
		p->last = el;
	}
	memcpy(p->head + p->head_len, at, n);
	p->head_len += n;
	return 0;
}

static int
on_url(http_parser *hp, const char *at, size_t n)
{
	return head_add(hp->data, EL_URL, at, n);
}

static int
on_header_field(http_parser *hp, const char *at, size_t n)
{
	struct bs_http_parse *p = hp->data;
	if (p->head_done)
		return 0;                /* a trailer: dropped */
	return head_add(p, EL_FIELD, at, n);
}

static int
on_header_value(http_parser *hp, const char *at, size_t n)
{
	struct bs_http_parse *p = hp->data;
	if (p->head_done)
		return 0;
	/* http-parser checks every byte of a value but its first. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return bad(p, "control byte in a header value");
	}
	return head_add(p, EL_VALUE, at, n);
}

/* RFC 9110 §5.6.2 token characters. */
static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Ends the last element and checks every header name; notes
 * Transfer-Encoding and Expect. Returns 0 or -1 (refused). */
static int
check_headers(struct bs_http_parse *p)
{
	if (head_add(p, EL_NONE, "", 0) != 0)   /* ends the last element */
		return -1;
	for (size_t i = 0; i < p->n_hdrs; i++) {
		const char *name = p->head + p->hdrs[i].name;
		char *value = p->head + p->hdrs[i].value;
		/* http-parser drops the blanks before a value but keeps those
		 * after it; neither is part of it (RFC 9110 §5.5). */
		size_t vlen = strlen(value);
		while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
			value[--vlen] = '\0';
		if (!*name)
			return bad(p, "empty header name");
		for (const char *c = name; *c; c++)
			if (!is_tchar((unsigned char)*c))
				return bad(p, "header name is not a token");
		if (evutil_ascii_strcasecmp(name, "Transfer-Encoding") == 0) {
			if (++p->te_count > 1)
				return bad(p, "more than one Transfer-Encoding header");
			if (evutil_ascii_strcasecmp(value, "chunked") != 0) {
				refuse(p, 501, "not_implemented",
				    "only Transfer-Encoding: chunked is supported");
				return -1;
			}
		} else if (evutil_ascii_strcasecmp(name, "Expect") == 0) {
			if (evutil_ascii_strcasecmp(value, "100-continue") != 0) {
				refuse(p, 417, "expectation_failed",
				    "only Expect: 100-continue is supported");
				return -1;
			}
			p->msg.expect_continue = 1;
		}
	}
	return 0;
}

static enum bs_http_method
method_of(unsigned m)
{
	switch (m) {
	case HTTP_GET: return BS_HTTP_GET;
	case HTTP_HEAD: return BS_HTTP_HEAD;
	case HTTP_POST: return BS_HTTP_POST;
	default: return BS_HTTP_OTHER;
	}
}

/* Reserves `more` body bytes with the caller and grows the buffer. */
static int
body_grow(struct bs_http_parse *p, size_t cap)
{
	if (p->on_reserve && p->on_reserve(p->arg, cap - p->body_cap) != 0) {
		p->stopped = 1;
		return -1;
	}
	p->body = xrealloc(p->body, cap);
	p->body_cap = cap;
	return 0;
}

static int
on_headers_complete(http_parser *hp)
{
	struct bs_http_parse *p = hp->data;
	if (p->head_done)
		return 0;                /* the end of a chunked body's trailers */
	p->head_done = 1;
	if (check_headers(p) != 0)
		return -1;
	/* The non-strict http-parser lets HT and FF into the target. */
	for (const char *c = p->head; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return bad(p, "control byte in the request target");
	if (hp->method == HTTP_CONNECT) {
		refuse(p, 501, "not_implemented", "CONNECT is not served");
		return -1;
	}
	if (hp->http_major != 1 || hp->http_minor > 1) {
		refuse(p, 505, "http_version_not_supported",
		    "only HTTP/1.0 and HTTP/1.1 are served");
		return -1;
	}
	struct bs_http_msg *m = &p->msg;
	m->method = method_of(hp->method);
	m->method_name = http_method_str((enum http_method)hp->method);
	m->target = p->head;
	m->target_len = strlen(p->head);
	m->version_minor = hp->http_minor;
	m->chunked = (hp->flags & F_CHUNKED) != 0;
	m->content_length = (hp->flags & F_CONTENTLENGTH) ?
	    (int64_t)hp->content_length : -1;
	m->n_headers = p->n_hdrs;
	if (m->content_length > 0 &&
	    (uint64_t)m->content_length > p->lim.max_body) {
		refuse(p, 413, "too_large", "Content-Length is over http.max_body");
		return -1;
	}
	if (m->content_length < 0 && !m->chunked && hp->method != HTTP_GET &&
	    hp->method != HTTP_HEAD && hp->method != HTTP_DELETE &&
	    hp->method != HTTP_OPTIONS) {
		refuse(p, 411, "length_required",
		    "send Content-Length or Transfer-Encoding: chunked");
		return -1;
	}
	if (p->on_head && p->on_head(p->arg, m) != 0) {
		p->stopped = 1;
		return -1;
	}
	if (m->content_length > 0 && body_grow(p, (size_t)m->content_length))
		return -1;
	return 0;
}

static int
on_body(http_parser *hp, const char *at, size_t n)
{
	struct bs_http_parse *p = hp->data;
	if (p->body_len + n > p->body_cap) {
		/* Chunked (a declared length was reserved whole). */
		if (p->body_len + n > p->lim.max_body) {
			refuse(p, 413, "too_large", "body is over http.max_body");
			return -1;
		}
		size_t cap = p->body_cap ? p->body_cap : 4096;
		while (cap < p->body_len + n)
			cap *= 2;
		if (cap > p->lim.max_body)
			cap = p->lim.max_body;
		if (body_grow(p, cap) != 0)
			return -1;
	}
	memcpy(p->body + p->body_len, at, n);
	p->body_len += n;
	return 0;
}

static int
on_message_complete(http_parser *hp)
{
	struct bs_http_parse *p = hp->data;
	p->complete = 1;
	p->msg.body = p->body ? p->body : "";
	p->msg.body_len = p->body_len;
	p->msg.keep_alive = http_should_keep_alive(hp) && !hp->upgrade;
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* === The head scan ====================================================== */

/* Scans data for the end of the head, refusing bare LF and obs-fold.
 * Returns the bytes that belong to the head (all of them while it is not
 * whole), or (size_t)-1 when refused. */
static size_t
scan_head(struct bs_http_parse *p, const char *data, size_t len)
{
	const char *why = NULL;
	size_t i = 0;
	for (; i < len && p->scan != SC_DONE && !why; i++) {
		unsigned char c = (unsigned char)data[i];
		int lf = c == '\n', cr = c == '\r';
		switch (p->scan) {
		case SC_START:           /* empty lines before the request line */
			if (lf)
				why = "bare LF line ending";
			p->scan = cr ? SC_START_CR : SC_LINE;
			break;
		case SC_LINE:
			if (lf)
				why = "bare LF line ending";
			p->scan = cr ? SC_CR : SC_LINE;
			break;
		case SC_LF:              /* the first byte of a header line */
			if (c == ' ' || c == '\t')
				why = "obsolete line folding";
			else if (lf)
				why = "bare LF line ending";
			p->scan = cr ? SC_CR2 : SC_LINE;
			break;
		case SC_START_CR:
		case SC_CR:
		case SC_CR2:
			if (!lf)
				why = "bare CR";
			p->scan = p->scan == SC_START_CR ? SC_START :
			    p->scan == SC_CR ? SC_LF : SC_DONE;
			break;
		case SC_DONE:
			break;
		}
	}
	if (why) {
		bad(p, why);
		return (size_t)-1;
	}
	return i;
}

/* Scans len bytes of a chunked body; returns 0, or -1 (refused) when the
 * framing is malformed or the message ends before the bytes do. */
static int
scan_chunked(struct bs_http_parse *p, const char *data, size_t len)
{
	const char *why = NULL;
	for (size_t i = 0; i < len && !why; i++) {
		unsigned char c = (unsigned char)data[i];
		int hex = (c >= '0' && c <= '9') ? c - '0' :
		    (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
		    (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		switch (p->ck) {
		case CK_SIZE0:
		case CK_SIZE:
			if (hex >= 0) {
				if (p->ck_left > (UINT64_MAX >> 4))
					why = "chunk size overflows";
				p->ck_left = p->ck_left << 4 | (uint64_t)hex;
				p->ck = CK_SIZE;
			} else if (p->ck == CK_SIZE && c == '\r') {
				p->ck = CK_SIZE_LF;
			} else if (p->ck == CK_SIZE && (c == ';' || c == ' ' ||
			    c == '\t')) {
				p->ck = CK_EXT;
			} else {
				why = "malformed chunk size";
			}
			break;
		case CK_EXT:
		case CK_TRAILER:
			if (c == '\r')
				p->ck = p->ck == CK_EXT ? CK_SIZE_LF : CK_TRAILER_LF;
			else if ((c < ' ' && c != '\t') || c == 0x7f)
				why = "control byte in a chunk extension or trailer";
			else if (++p->ck_meta > p->lim.max_head)
				why = "chunk extensions or trailers too large";
			break;
		case CK_SIZE_LF:
			if (c != '\n') {
				why = "bare CR in chunked framing";
			} else if (p->ck_left == 0) {
				p->ck = CK_TRAILER0;
			} else {
				p->ck = CK_DATA;
			}
			break;
		case CK_DATA: {
			size_t take = len - i;
			if ((uint64_t)take > p->ck_left)
				take = (size_t)p->ck_left;
			p->ck_left -= take;
			i += take - 1;
			if (p->ck_left == 0)
				p->ck = CK_DATA_CR;
			break;
		}
		case CK_DATA_CR:
			if (c != '\r')
				why = "chunk data not followed by CRLF";
			p->ck = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (c != '\n')
				why = "chunk data not followed by CRLF";
			p->ck = CK_SIZE0;
			break;
		case CK_TRAILER0:
			if (c == '\r')
				p->ck = CK_END_LF;
			else if (c == '\n' || c == ' ' || c == '\t')
				why = "malformed trailer";
			else
				p->ck = CK_TRAILER;
			break;
		case CK_TRAILER_LF:
		case CK_END_LF:
			if (c != '\n')
				why = "bare CR in chunked framing";
			p->ck = p->ck == CK_END_LF ? CK_DONE : CK_TRAILER0;
			break;
		case CK_DONE:
			why = "chunked framing disagrees on the end of the body";
			break;
		}
	}
	if (why) {
		bad(p, why);
		return -1;
	}
	return 0;
}

/* === API ================================================================ */

struct bs_http_parse *
bs_http_parse_new(const struct bs_http_limits *lim, bs_http_head_cb *on_head,
    bs_http_reserve_cb *on_reserve, void *arg)
{
	struct bs_http_parse *p = xcalloc(1, sizeof(*p));
	p->lim = *lim;
	p->on_head = on_head;
	p->on_reserve = on_reserve;
	p->arg = arg;
	http_parser_init(&p->hp, HTTP_REQUEST);
	p->hp.data = p;
	return p;
}

/* Turns the parser's error into a refusal (ours, when a callback of ours
 * set one). */
static enum bs_http_state
failed(struct bs_http_parse *p)
{
	if (p->stopped)
		return BS_HTTP_STOPPED;
	enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
	if (e == HPE_HEADER_OVERFLOW)
		refuse(p, 431, "headers_too_large", "the request head is too large");
	else
		refuse(p, 400, "bad_request", http_errno_description(e));
	return BS_HTTP_BAD;
}

size_t
bs_http_parse_feed(struct bs_http_parse *p, const char *data, size_t len,
    enum bs_http_state *st)
{
	if (!len) {
		*st = BS_HTTP_MORE;
		return 0;
	}
	p->started = 1;
	size_t body_at = 0;          /* where this request's body starts in data */
	if (p->scan != SC_DONE) {
		size_t h = scan_head(p, data, len);
		body_at = h;
		if (h == (size_t)-1) {
			*st = BS_HTTP_BAD;
			return 0;
		}
		p->head_bytes += h;
		if (p->head_bytes > p->lim.max_head) {
			refuse(p, 431, "headers_too_large",
			    "the request head is over http.max_headers");
			*st = BS_HTTP_BAD;
			return 0;
		}
	}
	size_t n = http_parser_execute(&p->hp, &settings, data, len);
	if (p->msg.chunked && !p->why.status && !p->stopped && n > body_at &&
	    (scan_chunked(p, data + body_at, n - body_at) != 0 ||
	    (p->complete && p->ck != CK_DONE))) {
		bad(p, "chunked framing disagrees on the end of the body");
		*st = BS_HTTP_BAD;
		return n;
	}
	if (p->complete) {
		*st = BS_HTTP_COMPLETE;
		return n;
	}
	if (HTTP_PARSER_ERRNO(&p->hp) != HPE_OK) {
		*st = failed(p);
		return n;
	}
	*st = BS_HTTP_MORE;
	return n;
}

const struct bs_http_msg *
bs_http_parse_msg(const struct bs_http_parse *p)
{
	return &p->msg;
}

const struct bs_http_refusal *
bs_http_parse_refusal(const struct bs_http_parse *p)
{
	return &p->why;
}

void
bs_http_parse_header_at(const struct bs_http_parse *p, size_t i,
    const char **name, const char **value)
{
	*name = p->head + p->hdrs[i].name;
	*value = p->head + p->hdrs[i].value;
}

const char *
bs_http_parse_header(const struct bs_http_parse *p, const char *name)
{
	if (!p->head_done)
		return NULL;
	for (size_t i = 0; i < p->n_hdrs; i++)
		if (evutil_ascii_strcasecmp(p->head + p->hdrs[i].name, name) == 0)
			return p->head + p->hdrs[i].value;
	return NULL;
}

int
bs_http_parse_started(const struct bs_http_parse *p)
{
	return p->started;
}

size_t
bs_http_parse_reserved(const struct bs_http_parse *p)
{
	return p->body_cap;
}

void
bs_http_parse_next(struct bs_http_parse *p)
{
	free(p->body);
	p->body = NULL;
	p->body_len = p->body_cap = 0;
	p->head_len = 0;
	p->last = EL_NONE;
	p->n_hdrs = 0;
	p->te_count = 0;
	p->scan = SC_START;
	p->head_bytes = 0;
	p->ck = CK_SIZE0;
	p->ck_left = 0;
	p->ck_meta = 0;
	p->started = p->head_done = p->complete = 0;
	memset(&p->msg, 0, sizeof(p->msg));
	/* A head buffer grown by a large request is not kept. */
	if (p->head_cap > 4096) {
		free(p->head);
		p->head = NULL;
		p->head_cap = 0;
	}
	http_parser_pause(&p->hp, 0);
}

void
bs_http_parse_free(struct bs_http_parse *p)
{
	if (!p)
		return;
	free(p->body);
	free(p->head);
	free(p);
}
