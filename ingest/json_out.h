/* json_out: the tiny JSON writer behind the server's one-line replies.
 *
 * Replies are flat objects of short strings (ids, codes, reasons, issue
 * keys), so instead of a generator with a state machine this appends
 * ready-made pieces and escaped strings to one buffer, which then goes to
 * evbuffer_add in one call. Strings are escaped as yajl_gen escapes them
 * (", \\, \b \f \n \r \t, other control bytes as \u00XX, '/' kept), so the
 * bytes are the ones the yajl_gen replies had; bytes that are not valid
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) become \ufffd, one per maximal invalid subsequence, so a reply
 * is always valid UTF-8 JSON. */
#ifndef BS_JSON_OUT_H
#define BS_JSON_OUT_H

#include <stddef.h>

struct bs_json_out {
	char *buf;                  /* _stack or malloc'd */
	size_t len, cap;
	char _stack[512];
};

void bs_json_out_init(struct bs_json_out *o);
void bs_json_out_free(struct bs_json_out *o);
/* Appends n bytes as they are (JSON punctuation, ready-made pieces). */
void bs_json_out_raw(struct bs_json_out *o, const char *s, size_t n);
/* Appends s[0..n) as a quoted, escaped JSON string. */
void bs_json_out_strn(struct bs_json_out *o, const char *s, size_t n);
void bs_json_out_str(struct bs_json_out *o, const char *s);

#endif
