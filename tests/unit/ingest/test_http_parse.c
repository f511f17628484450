/* Unit tests of ingest/http_parse.c: the framing of HTTP/1.1 requests
 * (http_parse.h). Every case runs twice: the request fed whole, then one
 * byte at a time (a helper feeds in a given split size and collects the
 * state, the bytes taken and what the callbacks saw). */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "ingest/http_parse.h"

/* What the callbacks saw. */
struct seen {
	int heads, reserves;
	size_t reserved;             /* sum of the `more` asked */
	size_t first_more;
	int over;                    /* the sum went past max_body */
	int stop_head, stop_reserve; /* what the callbacks return */
	int stop_reserve_at;         /* >0: refuse the n-th reservation */
	char host[64];               /* Host as seen from the head callback */
	int64_t cl_at_head;
};

static struct seen S;
static struct bs_http_parse *P;
static struct bs_http_limits L;
static size_t split;                 /* 0: whole */
static char tname[160];

#define CASE(name) \
	if (snprintf(tname, sizeof(tname), "%s (%s)", (name), \
	    split ? "byte by byte" : "whole") > 0 && bs_test_begin_(tname))

static int
on_head(void *arg, const struct bs_http_msg *m)
{
	struct seen *s = arg;
	s->heads++;
	const char *h = bs_http_parse_header(P, "host");
	snprintf(s->host, sizeof(s->host), "%s", h ? h : "(none)");
	s->cl_at_head = m->content_length;
	return s->stop_head;
}

static int
on_reserve(void *arg, size_t more)
{
	struct seen *s = arg;
	if (!s->reserves++)
		s->first_more = more;
	s->reserved += more;
	if (s->reserved > L.max_body)
		s->over = 1;
	if (s->stop_reserve_at && s->reserves == s->stop_reserve_at)
		return 1;
	return s->stop_reserve;
}

/* A fresh parser with these limits. */
static void
start(size_t max_head, size_t max_body)
{
	bs_http_parse_free(P);
	memset(&S, 0, sizeof(S));
	L.max_head = max_head;
	L.max_body = max_body;
	P = bs_http_parse_new(&L, on_head, on_reserve, &S);
}

static void
start_default(void)
{
	start(8192, 1 << 20);
}

/* Feeds len bytes in pieces of `split` (0: at once) while the parser
 * takes them all and wants more; returns the state and in *used the bytes
 * taken. */
static enum bs_http_state
feed(const char *d, size_t len, size_t *used)
{
	enum bs_http_state st = BS_HTTP_MORE;
	size_t off = 0;
	while (off < len) {
		size_t k = split && split < len - off ? split : len - off;
		size_t n = bs_http_parse_feed(P, d + off, k, &st);
		CHECK(n <= k);
		off += n;
		if (st != BS_HTTP_MORE)
			break;
		CHECK_INT(n, k);         /* MORE: all bytes taken */
		if (n != k)
			break;
	}
	if (used)
		*used = off;
	return st;
}

#define LIT(s) (s), (sizeof(s) - 1)

/* Feeds a whole request on a fresh default parser; expects COMPLETE with
 * every byte taken. */
static const struct bs_http_msg *
complete(const char *d, size_t len)
{
	start_default();
	size_t used = 0;
	enum bs_http_state st = feed(d, len, &used);
	CHECK_INT(st, BS_HTTP_COMPLETE);
	CHECK_INT(used, len);
	CHECK_INT(S.heads, 1);
	return bs_http_parse_msg(P);
}

/* Feeds d on the current parser; expects a refusal with this status and
 * code. */
static void
refused_here(const char *d, size_t len, int status, const char *code)
{
	enum bs_http_state st = feed(d, len, NULL);
	CHECK_INT(st, BS_HTTP_BAD);
	const struct bs_http_refusal *r = bs_http_parse_refusal(P);
	CHECK_INT(r->status, status);
	CHECK_STR(r->code, code);
	CHECK(r->reason != NULL && r->reason[0] != '\0');
}

static void
refused(const char *d, size_t len, int status, const char *code)
{
	start_default();
	refused_here(d, len, status, code);
}

static const char get_req[] =
    "GET /hooks/x?y=1 HTTP/1.1\r\n"
    "Host: example.org\r\n"
    "X-Event-Key: repo:push\r\n"
    "Content-Type: application/json\r\n"
    "X-Request-UUID: 7b1f\r\n"
    "\r\n";

static const char post_req[] =
    "POST /hooks/bitbucket HTTP/1.1\r\n"
    "Host: h\r\n"
    "Content-Length: 17\r\n"
    "\r\n"
    "{\"push\": {\"x\":1}}";

static void
cases(void)
{
	CASE("GET with headers: names, values, target, version, keep-alive") {
		const struct bs_http_msg *m = complete(LIT(get_req));
		CHECK_INT(m->method, BS_HTTP_GET);
		CHECK_STR(m->method_name, "GET");
		CHECK_STR(m->target, "/hooks/x?y=1");
		CHECK_INT(m->target_len, 12);
		CHECK_INT(m->version_minor, 1);
		CHECK_INT(m->content_length, -1);
		CHECK_INT(m->chunked, 0);
		CHECK_INT(m->expect_continue, 0);
		CHECK_INT(m->n_headers, 4);
		CHECK_INT(m->keep_alive, 1);
		CHECK(m->body != NULL);
		CHECK_INT(m->body_len, 0);
		CHECK_STR(bs_http_parse_header(P, "host"), "example.org");
		CHECK_STR(bs_http_parse_header(P, "HOST"), "example.org");
		CHECK_STR(bs_http_parse_header(P, "x-event-key"), "repo:push");
		CHECK_STR(bs_http_parse_header(P, "X-REQUEST-uuid"), "7b1f");
		CHECK(bs_http_parse_header(P, "X-Missing") == NULL);
		CHECK(bs_http_parse_header(P, "Hos") == NULL);
		CHECK(bs_http_parse_header(P, "Hostt") == NULL);
		static const char *const want[][2] = {
			{ "Host", "example.org" }, { "X-Event-Key", "repo:push" },
			{ "Content-Type", "application/json" },
			{ "X-Request-UUID", "7b1f" },
		};
		for (size_t i = 0; i < 4 && i < m->n_headers; i++) {
			const char *n = NULL, *v = NULL;
			bs_http_parse_header_at(P, i, &n, &v);
			CHECK_STR(n, want[i][0]);
			CHECK_STR(v, want[i][1]);
		}
		CHECK_STR(S.host, "example.org");   /* from the head callback */
		CHECK_INT(S.reserves, 0);
		CHECK_INT(bs_http_parse_reserved(P), 0);
	}

	CASE("HTTP/1.0: no keep-alive") {
		const struct bs_http_msg *m =
		    complete(LIT("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
		CHECK_INT(m->version_minor, 0);
		CHECK_INT(m->keep_alive, 0);
	}

	CASE("HTTP/1.0 + Connection: keep-alive: keep-alive") {
		const struct bs_http_msg *m = complete(LIT(
		    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
		CHECK_INT(m->version_minor, 0);
		CHECK_INT(m->keep_alive, 1);
	}

	CASE("HTTP/1.1 + Connection: close: no keep-alive") {
		const struct bs_http_msg *m = complete(LIT(
		    "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
		CHECK_INT(m->version_minor, 1);
		CHECK_INT(m->keep_alive, 0);
	}

	CASE("POST with a Content-Length body") {
		const struct bs_http_msg *m = complete(post_req,
		    sizeof(post_req) - 1);
		CHECK_INT(m->method, BS_HTTP_POST);
		CHECK_STR(m->method_name, "POST");
		CHECK_INT(m->content_length, 17);
		CHECK_INT(S.cl_at_head, 17);
		CHECK_INT(m->chunked, 0);
		CHECK_INT(m->body_len, 17);
		CHECK(m->body && memcmp(m->body, "{\"push\": {\"x\":1}}", 17) == 0);
		CHECK_INT(m->keep_alive, 1);
		CHECK_INT(S.reserves, 1);
		CHECK_INT(S.first_more, 17);
		CHECK_INT(bs_http_parse_reserved(P), 17);
	}

	CASE("POST with Content-Length: 0") {
		const struct bs_http_msg *m = complete(LIT(
		    "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
		CHECK_INT(m->content_length, 0);
		CHECK_INT(m->body_len, 0);
		CHECK(m->body != NULL);
		CHECK_INT(S.reserves, 0);
	}

	CASE("chunked body: several chunks, extensions, trailers dropped") {
		static const char req[] =
		    "POST /c HTTP/1.1\r\n"
		    "Host: h\r\n"
		    "Transfer-Encoding: chunked\r\n"
		    "\r\n"
		    "5;ext=1\r\nhello\r\n"
		    "1;a;b=\"c d\"\r\n \r\n"
		    "A\r\n0123456789\r\n"
		    "0\r\n"
		    "X-Trailer: t\r\n"
		    "Host: evil\r\n"
		    "\r\n";
		const struct bs_http_msg *m = complete(LIT(req));
		CHECK_INT(m->chunked, 1);
		CHECK_INT(m->content_length, -1);
		CHECK_INT(m->body_len, 16);
		CHECK(m->body && memcmp(m->body, "hello 0123456789", 16) == 0);
		CHECK_INT(m->n_headers, 2);
		CHECK(bs_http_parse_header(P, "X-Trailer") == NULL);
		CHECK_STR(bs_http_parse_header(P, "Host"), "h");
		CHECK_INT(m->keep_alive, 1);
		CHECK(S.reserves >= 1);
		CHECK_INT(S.reserved, bs_http_parse_reserved(P));
		CHECK(S.reserved <= L.max_body);
		CHECK(!S.over);
	}

	CASE("chunked body: reservations sum to _reserved, never over max_body") {
		start(8192, 10000);
		static const char head[] =
		    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
		enum bs_http_state st = feed(LIT(head), NULL);
		CHECK_INT(st, BS_HTTP_MORE);
		char chunk[3000 + 16];
		memcpy(chunk, "BB8\r\n", 5);           /* 3000 */
		memset(chunk + 5, 'x', 3000);
		memcpy(chunk + 3005, "\r\n", 2);
		for (int i = 0; i < 3; i++) {
			st = feed(chunk, 3007, NULL);
			CHECK_INT(st, BS_HTTP_MORE);
			CHECK_INT(S.reserved, bs_http_parse_reserved(P));
			CHECK(S.reserved <= 10000);
		}
		st = feed(LIT("0\r\n\r\n"), NULL);
		CHECK_INT(st, BS_HTTP_COMPLETE);
		CHECK_INT(bs_http_parse_msg(P)->body_len, 9000);
		CHECK_INT(S.reserved, bs_http_parse_reserved(P));
		CHECK(S.reserved >= 9000 && S.reserved <= 10000);
		CHECK(!S.over);
	}

	CASE("empty header value in the middle") {
		const struct bs_http_msg *m = complete(LIT(
		    "GET / HTTP/1.1\r\nX-A:\r\nX-B: 1\r\nX-C: \r\nX-D:2\r\n\r\n"));
		CHECK_INT(m->n_headers, 4);
		static const char *const want[][2] = {
			{ "X-A", "" }, { "X-B", "1" }, { "X-C", "" }, { "X-D", "2" },
		};
		for (size_t i = 0; i < 4 && i < m->n_headers; i++) {
			const char *n = NULL, *v = NULL;
			bs_http_parse_header_at(P, i, &n, &v);
			CHECK_STR(n, want[i][0]);
			CHECK_STR(v, want[i][1]);
		}
		CHECK_STR(bs_http_parse_header(P, "x-a"), "");
		CHECK_STR(bs_http_parse_header(P, "x-b"), "1");
	}

	CASE("empty header value last") {
		const struct bs_http_msg *m = complete(LIT(
		    "GET / HTTP/1.1\r\nX-B: 1\r\nX-A:\r\n\r\n"));
		CHECK_INT(m->n_headers, 2);
		CHECK_STR(bs_http_parse_header(P, "x-a"), "");
		CHECK_STR(bs_http_parse_header(P, "x-b"), "1");
	}

	CASE("trailing blanks are not part of a value") {
		const struct bs_http_msg *m = complete(LIT(
		    "POST / HTTP/1.1\r\nX-A: v \t \r\nX-B:\t w\r\n"
		    "Transfer-Encoding: chunked \r\nExpect: 100-continue\t\r\n"
		    "\r\n2\r\nhi\r\n0\r\n\r\n"));
		CHECK_STR(bs_http_parse_header(P, "x-a"), "v");
		CHECK_STR(bs_http_parse_header(P, "x-b"), "w");
		CHECK_STR(bs_http_parse_header(P, "transfer-encoding"), "chunked");
		CHECK_INT(m->chunked, 1);
		CHECK_INT(m->expect_continue, 1);
		CHECK_INT(m->body_len, 2);
		m = complete(LIT("POST / HTTP/1.1\r\nContent-Length: 2 \r\n"
		    "\r\nhi"));
		CHECK_STR(bs_http_parse_header(P, "content-length"), "2");
		CHECK_INT(m->body_len, 2);
	}

	CASE("pipelining: two requests in one buffer") {
		start_default();
		static const char two[] =
		    "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
		    "GET /two HTTP/1.1\r\nHost: b\r\n\r\n";
		size_t len1 = strlen("POST /one HTTP/1.1\r\nContent-Length: 3"
		    "\r\n\r\nabc");
		CHECK_INT(bs_http_parse_started(P), 0);
		size_t used = 0;
		enum bs_http_state st = feed(LIT(two), &used);
		CHECK_INT(st, BS_HTTP_COMPLETE);
		CHECK_INT(used, len1);
		CHECK_INT(bs_http_parse_started(P), 1);
		const struct bs_http_msg *m = bs_http_parse_msg(P);
		CHECK_STR(m->target, "/one");
		CHECK_INT(m->body_len, 3);
		CHECK(m->body && memcmp(m->body, "abc", 3) == 0);
		CHECK_INT(m->keep_alive, 1);
		CHECK_INT(S.heads, 1);
		bs_http_parse_next(P);
		CHECK_INT(bs_http_parse_started(P), 0);
		CHECK_INT(bs_http_parse_reserved(P), 0);
		size_t used2 = 0;
		st = feed(two + used, sizeof(two) - 1 - used, &used2);
		CHECK_INT(st, BS_HTTP_COMPLETE);
		CHECK_INT(used2, sizeof(two) - 1 - len1);
		m = bs_http_parse_msg(P);
		CHECK_STR(m->target, "/two");
		CHECK_INT(m->method, BS_HTTP_GET);
		CHECK_INT(m->n_headers, 1);
		CHECK_STR(bs_http_parse_header(P, "host"), "b");
		CHECK(bs_http_parse_header(P, "content-length") == NULL);
		CHECK_INT(m->content_length, -1);
		CHECK_INT(m->body_len, 0);
		CHECK_INT(S.heads, 2);
	}

	CASE("pipelining: a GET then a POST, then a third after _next") {
		start_default();
		static const char three[] =
		    "GET /a HTTP/1.1\r\n\r\n"
		    "POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
		    "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
		const char *d = three;
		size_t left = sizeof(three) - 1;
		static const char *const targets[] = { "/a", "/b", "/c" };
		static const int ka[] = { 1, 1, 0 };
		for (int i = 0; i < 3; i++) {
			size_t used = 0;
			enum bs_http_state st = feed(d, left, &used);
			CHECK_INT(st, BS_HTTP_COMPLETE);
			if (st != BS_HTTP_COMPLETE)
				break;
			CHECK_STR(bs_http_parse_msg(P)->target, targets[i]);
			CHECK_INT(bs_http_parse_msg(P)->keep_alive, ka[i]);
			d += used;
			left -= used;
			bs_http_parse_next(P);
		}
		CHECK_INT(left, 0);
		CHECK_INT(S.heads, 3);
	}

	CASE("started: 0 before any byte, 1 after the first, 0 after _next") {
		start_default();
		CHECK_INT(bs_http_parse_started(P), 0);
		enum bs_http_state st;
		CHECK_INT(bs_http_parse_feed(P, "", 0, &st), 0);
		CHECK_INT(st, BS_HTTP_MORE);
		CHECK_INT(bs_http_parse_started(P), 0);
		CHECK_INT(bs_http_parse_feed(P, "G", 1, &st), 1);
		CHECK_INT(st, BS_HTTP_MORE);
		CHECK_INT(bs_http_parse_started(P), 1);
		st = feed(LIT("ET / HTTP/1.1\r\n\r\n"), NULL);
		CHECK_INT(st, BS_HTTP_COMPLETE);
		CHECK_INT(bs_http_parse_started(P), 1);
		bs_http_parse_next(P);
		CHECK_INT(bs_http_parse_started(P), 0);
	}

	CASE("Expect: 100-continue sets expect_continue") {
		const struct bs_http_msg *m = complete(LIT(
		    "POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
		    "Content-Length: 2\r\n\r\nok"));
		CHECK_INT(m->expect_continue, 1);
		CHECK_INT(m->body_len, 2);
		start_default();
		enum bs_http_state st = feed(LIT(
		    "POST / HTTP/1.1\r\nExpect: 100-Continue\r\n"
		    "Content-Length: 2\r\n\r\n"), NULL);
		CHECK_INT(st, BS_HTTP_MORE);
		CHECK_INT(S.heads, 1);
		CHECK_INT(bs_http_parse_msg(P)->expect_continue, 1);
	}

	CASE("head callback: once per request; nonzero -> STOPPED") {
		start_default();
		S.stop_head = 1;
		enum bs_http_state st = feed(post_req, sizeof(post_req) - 1, NULL);
		CHECK_INT(st, BS_HTTP_STOPPED);
		CHECK_INT(S.heads, 1);
		CHECK_INT(S.reserves, 0);
		CHECK_INT(bs_http_parse_reserved(P), 0);
	}

	CASE("reserve callback: called with the Content-Length; nonzero -> STOPPED") {
		start_default();
		S.stop_reserve = 1;
		enum bs_http_state st = feed(post_req, sizeof(post_req) - 1, NULL);
		CHECK_INT(st, BS_HTTP_STOPPED);
		CHECK_INT(S.heads, 1);
		CHECK_INT(S.reserves, 1);
		CHECK_INT(S.first_more, 17);
	}

	CASE("reserve callback refusing a chunked body's growth -> STOPPED") {
		start(8192, 100000);
		S.stop_reserve_at = 2;
		enum bs_http_state st = feed(LIT(
		    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), NULL);
		CHECK_INT(st, BS_HTTP_MORE);
		/* 3000 bytes fit the first 4096; 5000 more need a doubling. */
		static char big[5000 + 16];
		memcpy(big, "BB8\r\n", 5);             /* 3000 */
		memset(big + 5, 'y', 3000);
		memcpy(big + 3005, "\r\n", 2);
		st = feed(big, 3007, NULL);
		CHECK_INT(st, BS_HTTP_MORE);
		CHECK_INT(S.reserves, 1);
		memcpy(big, "1388\r\n", 6);            /* 5000 */
		memset(big + 6, 'y', 5000);
		memcpy(big + 5006, "\r\n", 2);
		st = feed(big, 5008, NULL);
		CHECK_INT(st, BS_HTTP_STOPPED);
		CHECK_INT(S.reserves, 2);
		CHECK(bs_http_parse_reserved(P) <= 100000);
	}

	CASE("100 headers accepted") {
		static char req[8192];
		size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(req + n, sizeof(req) - n,
			    "X-H%d: %d\r\n", i, i);
		n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
		const struct bs_http_msg *m = complete(req, n);
		CHECK_INT(m->n_headers, 100);
		const char *nm = NULL, *v = NULL;
		bs_http_parse_header_at(P, 99, &nm, &v);
		CHECK_STR(nm, "X-H99");
		CHECK_STR(v, "99");
	}

	CASE("101 headers: 431") {
		static char req[8192];
		size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
		for (int i = 0; i < 101; i++)
			n += (size_t)snprintf(req + n, sizeof(req) - n,
			    "X-H%d: %d\r\n", i, i);
		n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
		refused(req, n, 431, "headers_too_large");
		CHECK_INT(S.heads, 0);
	}

	CASE("head over max_head: 431") {
		start(64, 1 << 20);
		refused_here(LIT("GET / HTTP/1.1\r\nX-Long: "
		    "0123456789012345678901234567890123456789012345678901234567890"
		    "\r\n\r\n"), 431, "headers_too_large");
		CHECK_INT(S.heads, 0);
		start(64, 1 << 20);           /* exactly max_head: accepted */
		static const char ok[] = "GET / HTTP/1.1\r\nX: "
		    "01234567890123456789012345678901234567890\r\n\r\n";
		CHECK_INT(sizeof(ok) - 1, 64);
		CHECK_INT(feed(LIT(ok), NULL), BS_HTTP_COMPLETE);
	}

	CASE("Content-Length over max_body: 413 at the end of the head") {
		start(8192, 10);
		refused_here(LIT("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"),
		    413, "too_large");
		CHECK_INT(S.reserves, 0);
		CHECK_INT(S.heads, 0);
		CHECK_INT(bs_http_parse_reserved(P), 0);
		start(8192, 10);              /* the same with the body */
		refused_here(LIT("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
		    "01234567890"), 413, "too_large");
		CHECK_INT(S.reserves, 0);
		start(8192, 10);              /* exactly max_body: accepted */
		CHECK_INT(feed(LIT("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
		    "0123456789"), NULL), BS_HTTP_COMPLETE);
		CHECK_INT(S.first_more, 10);
	}

	CASE("chunked body growing over max_body: 413") {
		start(8192, 10);
		refused_here(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"), 413,
		    "too_large");
		CHECK(S.reserved <= 10);
		CHECK(!S.over);
		CHECK_INT(S.reserved, bs_http_parse_reserved(P));
	}

	CASE("Content-Length refusals: 400") {
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Content-Length: 3\r\n\r\nabc"), 400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Content-Length: 4\r\n\r\nabcd"), 400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n"),
		    400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
		    400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: "
		    "99999999999999999999\r\n\r\n"), 400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		    400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		    400, "bad_request");
		CHECK_INT(S.heads, 0);
	}

	CASE("chunk size overflow: 400") {
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\nzz\r\nabc\r\n0\r\n\r\n"), 400, "bad_request");
	}

	CASE("chunked framing the non-strict http-parser lets through: 400") {
		/* data not followed by CRLF */
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\r\nhelloXY0\r\n\r\n"), 400, "bad_request");
		/* bare CR after the size, bare LF after the size */
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\rxhello\r\n0\r\n\r\n"), 400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\nhello\r\n0\r\n\r\n"), 400, "bad_request");
		/* bare LF in the last chunk and in a trailer */
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\r\nhello\r\n0\n\r\n"), 400, "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5\r\nhello\r\n0\r\nX-T: 1\n\r\n"), 400,
		    "bad_request");
		/* a control byte in an extension */
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n"), 400,
		    "bad_request");
	}

	CASE("chunk extensions and trailers count against max_head") {
		static char req[12288];
		size_t n = (size_t)snprintf(req, sizeof(req),
		    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;");
		while (n < 9000)        /* max_head is 8192 */
			req[n++] = 'e';
		n += (size_t)snprintf(req + n, sizeof(req) - n,
		    "\r\nhello\r\n0\r\n\r\n");
		refused(req, n, 400, "bad_request");
	}

	CASE("CONNECT: 501") {
		refused(LIT("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com"
		    "\r\n\r\n"), 501, "not_implemented");
	}

	CASE("bare LF, obs-fold, bad names, control bytes, bare CR: 400") {
		refused(LIT("GET / HTTP/1.1\nHost: a\n\n"), 400, "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n"),
		    400, "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n"),
		    400, "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nFoo : bar\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nFo(o: bar\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\n: bar\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: a\001b\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: a\r\r\n\r\n"), 400,
		    "bad_request");
		/* The first byte of a value too (http-parser skips it). */
		refused(LIT("GET / HTTP/1.1\r\nX-A: \0evil\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A:\0evil\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: \001v\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: \177v\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET / HTTP/1.1\r\nX-A: a\177\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("GET /a\tb HTTP/1.1\r\n\r\n"), 400, "bad_request");
		refused(LIT("GET /a\fb HTTP/1.1\r\n\r\n"), 400, "bad_request");
		refused(LIT("GET /a\001b HTTP/1.1\r\n\r\n"), 400, "bad_request");
		refused(LIT("GET /a\177b HTTP/1.1\r\n\r\n"), 400, "bad_request");
		CHECK_INT(S.heads, 0);
	}

	CASE("Transfer-Encoding refusals: two headers 400, not chunked 501") {
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400,
		    "bad_request");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
		    501, "not_implemented");
		refused(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked"
		    "\r\n\r\n0\r\n\r\n"), 501, "not_implemented");
		CHECK_INT(S.heads, 0);
	}

	CASE("Expect other than 100-continue: 417") {
		refused(LIT("POST / HTTP/1.1\r\nExpect: foo\r\n"
		    "Content-Length: 1\r\n\r\nx"), 417, "expectation_failed");
		CHECK_INT(S.heads, 0);
	}

	CASE("HTTP/2.0 and others: 505") {
		refused(LIT("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505,
		    "http_version_not_supported");
		refused(LIT("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505,
		    "http_version_not_supported");
		refused(LIT("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505,
		    "http_version_not_supported");
		CHECK_INT(S.heads, 0);
	}

	CASE("POST without a length: 411") {
		refused(LIT("POST / HTTP/1.1\r\nHost: a\r\n\r\n"), 411,
		    "length_required");
		refused(LIT("PUT / HTTP/1.1\r\nHost: a\r\n\r\n"), 411,
		    "length_required");
		CHECK_INT(S.heads, 0);
	}

	CASE("malformed request line: 400") {
		refused(LIT("GET\r\n\r\n"), 400, "bad_request");
		refused(LIT("FOO / HTTP/1.1\r\n\r\n"), 400, "bad_request");
		refused(LIT("GET / XTTP/1.1\r\n\r\n"), 400, "bad_request");
	}
}

int
main(void)
{
	static const size_t splits[] = { 0, 1 };
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		split = splits[i];
		cases();
	}
	bs_http_parse_free(P);
	return TEST_REPORT();
}
