/* hex: see hex.h. A table of the 256 byte pairs: one 2-byte copy per
 * input byte, no printf. */
#include "common/hex.h"

#include <string.h>

const char bs_hex_digits[16] = { '0', '1', '2', '3', '4', '5', '6', '7',
	'8', '9', 'a', 'b', 'c', 'd', 'e', 'f' };

#define P4(h) #h "0" #h "1" #h "2" #h "3" #h "4" #h "5" #h "6" #h "7" \
	#h "8" #h "9" #h "a" #h "b" #h "c" #h "d" #h "e" #h "f"
static const char pairs[512 + 1] = P4(0) P4(1) P4(2) P4(3) P4(4) P4(5)
	P4(6) P4(7) P4(8) P4(9) P4(a) P4(b) P4(c) P4(d) P4(e) P4(f);
#undef P4

char *
bs_hex_encode(char *out, const void *bytes, size_t n)
{
	const unsigned char *b = bytes;
	for (size_t i = 0; i < n; i++)
		memcpy(out + 2 * i, pairs + 2 * b[i], 2);
	out[2 * n] = '\0';
	return out;
}
