/* isotime: unix milliseconds as an ISO-8601 UTC timestamp. */
#ifndef BS_ISOTIME_H
#define BS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#define BS_ISOTIME_LEN 25   /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Writes ms (unix epoch milliseconds, UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * into out, the same shape as the parsers give Data Center dates. Times
 * before 1970 are floored, so -1 is "1969-12-31T23:59:59.999Z". Returns 0,
 * or -1 (out set to "") when outlen < BS_ISOTIME_LEN or the year is outside
 * 0..9999. */
int bs_isotime_utc(int64_t ms, char *out, size_t outlen);

#endif
