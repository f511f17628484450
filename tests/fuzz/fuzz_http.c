/* fuzz_http: the request framing of ingest/http_parse.c. The input is two
 * control bytes and then raw bytes from a client:
 *   byte 0: bits 0-1 max_head (64, 256, 1024, 8192), bits 2-3 max_body
 *           (0, 16, 100, 5000), bits 4-6 the request whose head callback
 *           says stop (0: none);
 *   byte 1: bits 0-2 the split size (1, 2, 3, 7, 16, 64, 1000, all),
 *           bits 3-5 the reservation the reserve callback refuses (0:
 *           none).
 * The rest is fed in pieces of the split size. Every COMPLETE request is
 * checked (body_len <= max_body, n_headers <= 100, NUL-terminated target
 * and header strings without control bytes, the reservations summing to
 * _reserved <= max_body, the body length the framing says), then
 * bs_http_parse_next and the remaining bytes go on; BAD must carry one of
 * the documented statuses with a code and a reason, STOPPED must follow a
 * callback that said stop. Seeds: tests/fuzz/corpus/fuzz_http/ (two
 * control bytes 0x0f 0x07: the largest limits, fed whole). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct bs_http_parse *p;
	struct bs_http_limits lim;
	int heads, head_stop_at;
	int reserves, reserve_stop_at;
	size_t reserved;             /* sum of the `more` of this request */
	int said_stop;
};

static void
check_str(const char *s, int is_name)
{
	if (!s)
		abort();
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (is_name && (*c <= ' ' || *c == ':' || *c >= 0x7f))
			abort();
		if (!is_name && ((*c < ' ' && *c != '\t') || *c == 0x7f))
			abort();
	}
	size_t n = strlen(s);
	if (is_name && n == 0)
		abort();
	/* Blanks after a value are not part of it. */
	if (!is_name && n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		abort();
}

static void
check_head(struct fz *f, const struct bs_http_msg *m)
{
	if (!m->target || !m->method_name || strlen(m->target) != m->target_len)
		abort();
	for (const unsigned char *c = (const unsigned char *)m->target; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			abort();
	if (m->version_minor != 0 && m->version_minor != 1)
		abort();
	if (m->n_headers > BS_HTTP_MAX_HEADERS)
		abort();
	if (m->chunked && m->content_length != -1)
		abort();
	if (m->content_length > 0 &&
	    (uint64_t)m->content_length > f->lim.max_body)
		abort();
	for (size_t i = 0; i < m->n_headers; i++) {
		const char *name = NULL, *value = NULL;
		bs_http_parse_header_at(f->p, i, &name, &value);
		check_str(name, 1);
		check_str(value, 0);
		if (!bs_http_parse_header(f->p, name))
			abort();
	}
}

static int
on_head(void *arg, const struct bs_http_msg *m)
{
	struct fz *f = arg;
	f->heads++;
	if (bs_http_parse_msg(f->p) != m)
		abort();
	check_head(f, m);
	if (bs_http_parse_reserved(f->p) != 0)
		abort();
	if (f->heads == f->head_stop_at) {
		f->said_stop = 1;
		return 1;
	}
	return 0;
}

static int
on_reserve(void *arg, size_t more)
{
	struct fz *f = arg;
	if (more == 0)
		abort();
	f->reserves++;
	f->reserved += more;
	if (f->reserved > f->lim.max_body)
		abort();
	if (f->reserves == f->reserve_stop_at) {
		f->said_stop = 1;
		return 1;
	}
	return 0;
}

static void
check_complete(struct fz *f, int requests)
{
	const struct bs_http_msg *m = bs_http_parse_msg(f->p);
	if (f->heads != requests + 1)
		abort();                 /* one head callback per request */
	check_head(f, m);
	if (!m->body || m->body_len > f->lim.max_body)
		abort();
	size_t r = bs_http_parse_reserved(f->p);
	if (r != f->reserved || r > f->lim.max_body || r < m->body_len)
		abort();
	/* http-parser ends a CONNECT at its head (the rest is a tunnel): the
	 * body is not read and the connection must not carry another. */
	int tunnel = strcmp(m->method_name, "CONNECT") == 0;
	if (tunnel && (m->keep_alive || m->body_len))
		abort();
	if (!tunnel && m->content_length >= 0 &&
	    (uint64_t)m->content_length != m->body_len)
		abort();
	if (m->content_length < 0 && !m->chunked && m->body_len != 0)
		abort();
	if (m->keep_alive != 0 && m->keep_alive != 1)
		abort();
	if (!bs_http_parse_started(f->p))
		abort();
	/* The body is readable in full. */
	volatile unsigned char sum = 0;
	for (size_t i = 0; i < m->body_len; i++)
		sum = (unsigned char)(sum + (unsigned char)m->body[i]);
	(void)sum;
}

static void
check_refusal(const struct bs_http_refusal *r)
{
	switch (r->status) {
	case 400: case 411: case 413: case 417: case 431: case 501: case 505:
		break;
	default:
		abort();
	}
	if (!r->code || !r->reason || !*r->code || !*r->reason)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t heads[] = { 64, 256, 1024, 8192 };
	static const size_t bodies[] = { 0, 16, 100, 5000 };
	static const size_t splits[] = { 1, 2, 3, 7, 16, 64, 1000, SIZE_MAX };
	if (size < 2)
		return 0;
	struct fz f;
	memset(&f, 0, sizeof(f));
	f.lim.max_head = heads[data[0] & 3];
	f.lim.max_body = bodies[(data[0] >> 2) & 3];
	f.head_stop_at = (data[0] >> 4) & 7;
	size_t split = splits[data[1] & 7];
	f.reserve_stop_at = (data[1] >> 3) & 7;
	const char *in = (const char *)data + 2;
	size_t len = size - 2, pos = 0;

	f.p = bs_http_parse_new(&f.lim, on_head, on_reserve, &f);
	if (bs_http_parse_started(f.p))
		abort();
	int requests = 0;
	while (pos < len) {
		size_t k = len - pos < split ? len - pos : split;
		enum bs_http_state st;
		size_t n = bs_http_parse_feed(f.p, in + pos, k, &st);
		if (n > k)
			abort();
		if (st == BS_HTTP_MORE) {
			if (n != k || !bs_http_parse_started(f.p))
				abort();
			pos += n;
			continue;
		}
		if (st == BS_HTTP_COMPLETE) {
			if (n == 0)
				abort();         /* the last byte completes it */
			check_complete(&f, requests);
			requests++;
			pos += n;
			bs_http_parse_next(f.p);
			if (bs_http_parse_started(f.p) ||
			    bs_http_parse_reserved(f.p) != 0)
				abort();
			f.reserved = 0;
			continue;
		}
		if (st == BS_HTTP_BAD) {
			if (f.said_stop)
				abort();         /* a stop is STOPPED, not BAD */
			check_refusal(bs_http_parse_refusal(f.p));
			if (bs_http_parse_reserved(f.p) > f.lim.max_body ||
			    bs_http_parse_reserved(f.p) != f.reserved)
				abort();
		} else if (st == BS_HTTP_STOPPED) {
			if (!f.said_stop)
				abort();
		} else {
			abort();
		}
		break;
	}
	bs_http_parse_free(f.p);
	return 0;
}
