/* bb_values: how a Bitbucket value becomes a field of the normalised event
 * (common/event.h), shared by the webhook extractors (cloud.c, dc.c) and
 * the REST API's (bb_api.c) so that a commit reads the same from either.
 * Private to parsers/. */
#ifndef BS_BB_VALUES_H
#define BS_BB_VALUES_H

#include <stddef.h>

#include "common/arena.h"
#include "common/event.h"
#include "parsers/json_sax.h"

/* Git's "Name <email>" (Cloud's author.raw) -> p->name, p->email, in a.
 * The name is what precedes the first '<'; the email is the first closed
 * <...> group that still holds something once spaces and stray brackets
 * are trimmed ("Name <<a@b>>", "Name <> <a@b>"). Without a closed group
 * ("Name", "Bad <open") all of raw is the name; "<a@b>" has no name.
 * Fields left empty stay as they were. */
void bs_bb_split_raw(struct bs_arena *a, const char *raw, struct bs_person *p);

/* A Data Center date: epoch milliseconds (a JSON number, before DC 10) or
 * an ISO-8601 string with an offset (DC 10) -> UTC
 * "YYYY-MM-DDTHH:MM:SS.mmmZ"; anything else (fractions, exponents,
 * negative numbers, strings without an offset or out of range) is kept as
 * sent. */
char *bs_bb_date_value(const struct bs_json_sax *sax, struct bs_arena *a,
    enum bs_json_type t, const char *s, size_t len);

#endif
