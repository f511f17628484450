/* Unit tests of common/hex: the table encoder against printf, and the
 * digit values. */
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "tests/unit/test.h"

int
main(void)
{
	TEST("hex: every byte value encodes as printf %02x does") {
		unsigned char all[256];
		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		char got[513], want[513];
		for (int i = 0; i < 256; i++)
			snprintf(want + 2 * i, 3, "%02x", all[i]);
		CHECK(bs_hex_encode(got, all, 256) == got);
		CHECK_STR(got, want);
		int back = 1;
		for (int i = 0; i < 256; i++)
			back &= (bs_hexval((unsigned char)got[2 * i]) << 4 |
			    bs_hexval((unsigned char)got[2 * i + 1])) == i;
		CHECK(back);
	}
	TEST("hex: empty input and a short digest") {
		char out[8] = "xxxxxxx";
		bs_hex_encode(out, "", 0);
		CHECK_STR(out, "");
		bs_hex_encode(out, "\x01\xab\xff", 3);
		CHECK_STR(out, "01abff");
		CHECK(bs_hexval('F') == 15 && bs_hexval('g') == -1);
	}
	return TEST_REPORT();
}
