/* hex: the value of one hexadecimal digit, shared by the signature check,
 * the UTF-8/escape check and the Redis URL parser; and the lower-case
 * encoder for digests (content keys, delivery ids, signatures, logs). */
#ifndef BS_HEX_H
#define BS_HEX_H

#include <stddef.h>

/* "0123456789abcdef" */
extern const char bs_hex_digits[16];

/* Writes 2*n lower-case hex digits of bytes[0..n) and a NUL to out (at
 * least 2*n+1 bytes); returns out. */
char *bs_hex_encode(char *out, const void *bytes, size_t n);

/* 0..15 for [0-9a-fA-F], -1 otherwise. */
static inline int
bs_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
