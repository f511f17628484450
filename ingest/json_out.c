/* json_out: see json_out.h. */
#include "ingest/json_out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "parsers/utf8.h"

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
			size_t bad = 1, k = bs_utf8_seq(s + i, n - i, &bad);
			if (k) {
				memcpy(w, s + i, k);
				w += k;
				i += k;
			} else {
				memcpy(w, "\\ufffd", 6);
				w += 6;
				i += bad;
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
