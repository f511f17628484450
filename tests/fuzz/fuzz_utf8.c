/* fuzz_utf8: bs_utf8_check_json and bs_utf8_valid against a deliberately
 * simple reference written here: decode one code point at a time from the
 * definition (lead byte -> length, continuation bytes, then reject by code
 * point range: overlong, surrogates, > U+10FFFF), and apply the JSON rules
 * on top (control characters, \u0000, unpaired surrogate escapes). Both
 * the verdict and the byte offset in the reason must agree. The input is
 * checked at its exact size (libFuzzer's buffer, so ASan catches any read
 * past the end), and also as the content of a JSON string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes the code point at p[i]; returns its length, 0 if invalid. */
static size_t
ref_decode(const uint8_t *p, size_t n, size_t i, uint32_t *cp)
{
	uint8_t c = p[i];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n - i < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[i + k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i + k] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

static int
hex4(const uint8_t *p, size_t n, size_t i)
{
	if (i + 6 > n || p[i] != '\\' || p[i + 1] != 'u')
		return -1;
	int v = 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		int d;
		if (p[k] >= '0' && p[k] <= '9')
			d = p[k] - '0';
		else if (p[k] >= 'a' && p[k] <= 'f')
			d = p[k] - 'a' + 10;
		else if (p[k] >= 'A' && p[k] <= 'F')
			d = p[k] - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Returns -1 (and the offset) or 0, same contract as bs_utf8_check_json. */
static int
ref_check(const uint8_t *p, size_t n, size_t *off)
{
	bool in = false;
	size_t i = 0;
	uint32_t cp;
	while (i < n) {
		size_t len = ref_decode(p, n, i, &cp);
		if (len == 0) {
			*off = i;
			return -1;
		}
		if (cp == '"') {
			in = !in;
		} else if (cp < 0x20) {
			if (in || (cp != '\t' && cp != '\n' && cp != '\r')) {
				*off = i;
				return -1;
			}
		} else if (cp == '\\' && in && i + 1 < n) {
			if (p[i + 1] != 'u') {
				i += p[i + 1] < 0x80 ? 2 : 1;
				continue;
			}
			int v = hex4(p, n, i);
			if (v < 0) {
				i += 2;
				continue;
			}
			if (v == 0 || (v >= 0xDC00 && v <= 0xDFFF)) {
				*off = i;
				return -1;
			}
			if (v >= 0xD800 && v <= 0xDBFF) {
				int w = hex4(p, n, i + 6);
				if (w < 0xDC00 || w > 0xDFFF) {
					*off = i;
					return -1;
				}
				i += 12;
				continue;
			}
			i += 6;
			continue;
		}
		i += len;
	}
	return 0;
}

static int
ref_valid(const uint8_t *p, size_t n)
{
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		size_t len = ref_decode(p, n, i, &cp);
		if (len == 0)
			return -1;
		i += len;
	}
	return 0;
}

static void
compare(const uint8_t *p, size_t n)
{
	char err[128];
	size_t off = 0;
	int want = ref_check(p, n, &off);
	int got = bs_utf8_check_json((const char *)p, n, err, sizeof(err));
	if (got != want) {
		fprintf(stderr, "verdict: got %d want %d\n", got, want);
		abort();
	}
	if (got != 0) {
		char tail[32];
		snprintf(tail, sizeof(tail), " at byte %zu", off);
		size_t el = strlen(err), tl = strlen(tail);
		if (el < tl || strcmp(err + el - tl, tail) != 0) {
			fprintf(stderr, "offset: got \"%s\" want%s\n", err, tail);
			abort();
		}
	}
	if (bs_utf8_valid((const char *)p, n) != ref_valid(p, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	compare(data, size);
	/* The same bytes inside a JSON string, at an odd alignment. */
	uint8_t *q = malloc(size + 3);
	q[0] = ' ';
	q[1] = '"';
	if (size)
		memcpy(q + 2, data, size);
	q[size + 2] = '"';
	compare(q, size + 3);
	free(q);
	return 0;
}
