/* utf8: strict UTF-8 and JSON-string hygiene check, one linear pass.
 *
 * Runs before yajl sees a body, because yajl lets overlong forms and
 * UTF-8-encoded surrogates through, maps lone \uD800 escapes to '?' and
 * passes \u0000 on (json-parsers.md section 7). The scanner only tracks
 * "inside a JSON string or not" and escapes; it does not validate JSON
 * structure (yajl does). An SSE2 loop (SWAR on other targets) jumps
 * straight to the next byte that matters ('"', '\\', control, non-ASCII)
 * and toggles the string state for quotes in place, so plain ASCII, most
 * of a webhook body, costs about one step per 16 bytes. Multi-byte sequences are
 * checked against the well-formed table of Unicode 15 ch. 3 (table 3-7):
 * no C0/C1/F5-FF lead bytes, E0 A0-BF, ED 80-9F, F0 90-BF, F4 80-8F.
 * Errors name the byte offset and never echo payload bytes other than the
 * value of the offending byte in hex. No allocation, no state between
 * calls. */
#include "common/hex.h"
#include "parsers/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE2__) && !defined(BS_UTF8_NO_SIMD)
#include <emmintrin.h>
#endif

/* Value of the \uXXXX escape whose backslash is at p[i], or -1 when it is
 * not a complete escape with four hex digits. */
static long
u_escape(const unsigned char *p, size_t len, size_t i)
{
	if (i > len || len - i < 6 || p[i] != '\\' || p[i + 1] != 'u')
		return -1;
	long v = 0;
	for (size_t k = 2; k < 6; k++) {
		int h = bs_hexval((unsigned char)p[i + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

#if !defined(__SSE2__) || defined(BS_UTF8_NO_SIMD)
#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Non-zero when one of the 8 bytes of v may need a closer look inside a
 * string: >= 0x80, < 0x20, '"' or '\\'. False positives only make the
 * caller fall back to the byte loop. */
static inline uint64_t
swar_special(uint64_t v)
{
	uint64_t q = v ^ (ONES * '"');
	uint64_t b = v ^ (ONES * '\\');
	uint64_t ctl = (v - ONES * 0x20) & ~v;
	uint64_t hq = (q - ONES) & ~q;
	uint64_t hb = (b - ONES) & ~b;
	return (v | ctl | hq | hb) & HIGHS;
}
#endif

static int
fail(char *err, size_t errlen, const char *what, size_t off)
{
	if (err && errlen)
		snprintf(err, errlen, "%s at byte %zu", what, off);
	return -1;
}

static int
fail_byte(char *err, size_t errlen, const char *what, unsigned char c,
    size_t off)
{
	if (err && errlen)
		snprintf(err, errlen, "%s 0x%02x at byte %zu", what, c, off);
	return -1;
}

static inline bool
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

int
bs_utf8_check_json(const char *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;
	bool in_str = false;

	if (err && errlen)
		err[0] = '\0';
	while (i < len) {
		/* Skip to the next byte that matters in either state: '"',
		 * '\\', a control character or a non-ASCII byte. Quotes are
		 * by far the most common and only toggle the state, so the
		 * SSE2 loop handles them in place. */
#if defined(__SSE2__) && !defined(BS_UTF8_NO_SIMD)
		while (len - i >= 16) {
			__m128i v;
			memcpy(&v, p + i, 16);   /* an unaligned load */
			/* Signed compare: bytes >= 0x80 are negative, so "< 0x20"
			 * also flags every non-ASCII byte. */
			__m128i hit = _mm_or_si128(
			    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
			    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
			unsigned m = (unsigned)_mm_movemask_epi8(hit);
			while (m) {
				unsigned j = (unsigned)__builtin_ctz(m);
				if (p[i + j] != '"')
					break;
				in_str = !in_str;
				m &= m - 1;
			}
			if (m) {
				i += (size_t)__builtin_ctz(m);
				break;
			}
			i += 16;
		}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		while (len - i >= 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			uint64_t m = swar_special(v);
			if (m) {
				/* The lowest flagged byte is always a true hit. */
				i += (size_t)__builtin_ctzll(m) >> 3;
				break;
			}
			i += 8;
		}
#endif
		while (i < len && plain(p[i]))
			i++;
		if (i >= len)
			break;
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t n = bs_utf8_seq(p + i, len - i, NULL);
			if (n == 0)
				return fail(err, errlen, "invalid UTF-8", i);
			i += n;
			continue;
		}
		if (c == '"') {
			in_str = !in_str;
			i++;
			continue;
		}
		if (c < 0x20) {
			if (in_str)
				return fail_byte(err, errlen,
				    "raw control character in string", c, i);
			if (c != '\t' && c != '\n' && c != '\r')
				return fail_byte(err, errlen, "control character", c,
				    i);
			i++;
			continue;
		}
		/* c == '\\' */
		if (!in_str || i + 1 >= len) {
			i++;                /* invalid JSON: yajl reports it */
			continue;
		}
		if (p[i + 1] != 'u') {
			/* A non-ASCII byte after '\\' is invalid JSON but its
			 * UTF-8 must still be checked: leave it to the loop. */
			i += p[i + 1] < 0x80 ? 2 : 1;
			continue;
		}
		long v = u_escape(p, len, i);
		if (v < 0) {
			i += 2;             /* malformed escape: yajl reports it */
			continue;
		}
		if (v == 0)
			return fail(err, errlen, "\\u0000 escape", i);
		if (v >= 0xDC00 && v <= 0xDFFF)
			return fail(err, errlen, "unpaired surrogate escape", i);
		if (v >= 0xD800 && v <= 0xDBFF) {
			long w = u_escape(p, len, i + 6);
			if (w < 0xDC00 || w > 0xDFFF)
				return fail(err, errlen, "unpaired surrogate escape",
				    i);
			i += 12;
			continue;
		}
		i += 6;
	}
	return 0;
}

int
bs_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		while (len - i >= 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			if (v & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = bs_utf8_seq(p + i, len - i, NULL);
		if (n == 0)
			return -1;
		i += n;
	}
	return 0;
}
