/* utf8_seq: one UTF-8 sequence checked against the well-formed table of
 * Unicode 15 ch. 3 (table 3-7): no C0/C1/F5-FF lead bytes, E0 A0-BF,
 * ED 80-9F, F0 90-BF, F4 80-8F (see utf8_seq.h). Shared by the body check
 * (parsers/utf8), the JSON log lines and the Sleuth request bodies. */
#include "common/utf8_seq.h"

size_t
bs_utf8_seq(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong */
		else if (c == 0xED)
			hi = 0x9F;      /* surrogates D800-DFFF */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;      /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	} else {
		need = 1;           /* stray continuation, C0/C1, F5-FF */
	}
	/* k: the lead byte and the continuation bytes that fit so far. */
	size_t k = 1;
	if (need > 1 && n > 1 && p[1] >= lo && p[1] <= hi) {
		k = 2;
		while (k < need && k < n && p[k] >= 0x80 && p[k] <= 0xBF)
			k++;
	}
	if (need > 1 && k == need)
		return need;
	if (bad)
		*bad = k;
	return 0;
}
