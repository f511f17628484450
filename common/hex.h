/* hex: the value of one hexadecimal digit, shared by the signature check,
 * the UTF-8/escape check and the Redis URL parser. */
#ifndef BS_HEX_H
#define BS_HEX_H

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
