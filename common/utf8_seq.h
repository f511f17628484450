/* utf8_seq: the length of one well-formed UTF-8 sequence (no overlong
 * forms, no surrogates, nothing above U+10FFFF). Pure, no state. */
#ifndef BS_UTF8_SEQ_H
#define BS_UTF8_SEQ_H

#include <stddef.h>

/* Length of the well-formed sequence at p[0..n) (n >= 1, p[0] >= 0x80),
 * or 0 when it is invalid or truncated; then *bad (unless NULL) is how
 * many bytes the invalid sequence spans, at least 1: the lead byte and the
 * continuation bytes that could still have completed it (its maximal
 * subpart, as Unicode 3.9 and the W3C replace them, one U+FFFD each). */
size_t bs_utf8_seq(const unsigned char *p, size_t n, size_t *bad);

#endif
