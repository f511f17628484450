/* json_out: see json_out.h. */
#include "ingest/json_out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void
bs_json_out_init(struct bs_json_out *o)
{
	o->buf = o->_stack;
	o->len = 0;
	o->cap = sizeof(o->_stack);
}

void
bs_json_out_free(struct bs_json_out *o)
{
	if (o->buf != o->_stack)
		free(o->buf);
	bs_json_out_init(o);
}

static char *
room(struct bs_json_out *o, size_t n)
{
	if (o->cap - o->len < n) {
		size_t cap = o->cap;
		while (cap - o->len < n) {
			if (cap > SIZE_MAX / 2)
				abort();       /* cannot happen: replies are small */
			cap *= 2;
		}
		if (o->buf == o->_stack) {
			char *b = xmalloc(cap);
			memcpy(b, o->buf, o->len);
			o->buf = b;
		} else {
			o->buf = xrealloc(o->buf, cap);
		}
		o->cap = cap;
	}
	return o->buf + o->len;
}

void
bs_json_out_raw(struct bs_json_out *o, const char *s, size_t n)
{
	memcpy(room(o, n), s, n);
	o->len += n;
}

/* Length of the valid UTF-8 sequence at s[0..n) (s[0] >= 0x80), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;     /* range of the 2nd byte */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;                      /* no overlong */
		else if (c == 0xed)
			hi = 0x9f;                      /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;                      /* <= U+10FFFF */
	} else
		return 0;
	if (n < 2 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (i >= n || (s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* How many bytes one invalid sequence at s spans: the lead byte and the
 * continuation bytes that could still have completed it (a maximal
 * subpart, Unicode 3.9 / W3C), at least 1. */
static size_t
utf8_bad_span(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t want = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
	    c >= 0xf0 && c <= 0xf4 ? 4 : 1;
	if (want == 1 || n < 2)
		return 1;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 1;
	size_t i = 2;
	while (i < want && i < n && (s[i] & 0xc0) == 0x80)
		i++;
	return i;
}

void
bs_json_out_strn(struct bs_json_out *o, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";   /* as yajl writes it */
	const unsigned char *s = (const unsigned char *)str;
	/* Worst case 6 output bytes per input byte, plus the quotes. */
	if (n > (SIZE_MAX - 2) / 6)
		abort();
	char *w = room(o, 6 * n + 2), *start = w;
	*w++ = '"';
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*w++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(s + i, n - i);
			if (k) {
				memcpy(w, s + i, k);
				w += k;
				i += k;
			} else {
				memcpy(w, "\\ufffd", 6);
				w += 6;
				i += utf8_bad_span(s + i, n - i);
			}
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			memcpy(w, "u00", 3);
			w[3] = hex[c >> 4];
			w[4] = hex[c & 15];
			w += 5;
			break;
		}
		i++;
	}
	*w++ = '"';
	o->len += (size_t)(w - start);
}

void
bs_json_out_str(struct bs_json_out *o, const char *s)
{
	bs_json_out_strn(o, s, strlen(s));
}
