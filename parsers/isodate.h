/* isodate: the timestamps of Bitbucket payloads as one UTC form (private to
 * parsers/).
 *
 * Data Center sends dates as epoch milliseconds before 10.x and as ISO-8601
 * strings from 10.x on, in two spellings: "2026-05-21T14:56:36+0200" and
 * "2026-05-24T14:11:04.000Z" (also -0400, +02:00). Both are turned into
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, milliseconds, 24 characters), so the
 * same instant reads the same whatever the server version. Anything else
 * (no offset, out-of-range fields, before 1970, after 9999) is refused and
 * the caller keeps the value as sent. */
#ifndef BS_ISODATE_H
#define BS_ISODATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BS_ISODATE_LEN 25   /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* 9999-12-31T23:59:59.999Z */
#define BS_ISODATE_MAX_MS UINT64_C(253402300799999)

/* ms since 1970-01-01T00:00:00Z (at most BS_ISODATE_MAX_MS) -> out. */
bool bs_isodate_from_ms(uint64_t ms, char out[BS_ISODATE_LEN]);

/* The JSON number text s[0..len) as epoch milliseconds (digits only, no
 * sign, fraction or exponent) -> out. */
bool bs_isodate_from_ms_text(const char *s, size_t len,
    char out[BS_ISODATE_LEN]);

/* ISO-8601 date-time s[0..len) with seconds and an explicit offset:
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HHMM|-HHMM|+HH:MM|-HH:MM|+HH|-HH)
 * ('t'/'z' and a space for 'T' accepted) -> out, converted to UTC; the
 * fraction is cut (not rounded) to milliseconds. */
bool bs_isodate_to_utc(const char *s, size_t len, char out[BS_ISODATE_LEN]);

#endif
