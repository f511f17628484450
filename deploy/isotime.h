/* isotime: unix milliseconds as an ISO-8601 UTC timestamp. */
#ifndef BS_ISOTIME_H
#define BS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#define BS_ISOTIME_LEN 21   /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* Writes ms (unix epoch milliseconds, UTC; the sub-second part is dropped,
 * rounding towards the past) as "YYYY-MM-DDTHH:MM:SSZ" into out. Returns 0,
 * or -1 (out set to "") when outlen < BS_ISOTIME_LEN or the year is outside
 * 0..9999. */
int bs_isotime_utc(int64_t ms, char *out, size_t outlen);

#endif
