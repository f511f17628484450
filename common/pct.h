/* pct: RFC 3986 percent-encoding of one URL component (a path segment or
 * a query value), shared by the Sleuth URL and body (deploy/) and the
 * Bitbucket API URLs (worker/). */
#ifndef BS_PCT_H
#define BS_PCT_H

#include <stddef.h>

/* Writes s with every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~)
 * as %XX, and a NUL, into out, which must hold 3 * strlen(s) + 1 bytes.
 * Returns the length written (without the NUL). */
size_t bs_pct_encode(char *out, const char *s);

#endif
