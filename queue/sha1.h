/* sha1: the hex SHA1 that names a Lua script for EVALSHA, as Redis' SCRIPT
 * LOAD prints it. A local copy keeps bs_queue free of libcrypto. */
#ifndef BS_SHA1_H
#define BS_SHA1_H

#include <stddef.h>

/* Writes the 40 hex digits of SHA1(s[0..len)) and a NUL to out. */
void bs_sha1_hex(const char *s, size_t len, char out[41]);

#endif
