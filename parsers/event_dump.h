/* event_dump: a canonical, line-oriented text rendering of a bs_event.
 *
 * One "name: value" line per field, in struct order, every field present
 * (absent strings print as null). Strings are double-quoted with JSON
 * escapes for '"', '\\' and control characters (\n \r \t \b \f, others as
 * \u00xx, lower-case hex); other UTF-8 is written as is. Used by the golden
 * tests (tests/golden/<fixture>.txt) and by `bitsleuth check
 * --explain-event`. */
#ifndef BS_EVENT_DUMP_H
#define BS_EVENT_DUMP_H

#include <stdio.h>

#include "common/event.h"

/* Writes the rendering of ev to f. No allocation; stdio errors are left in
 * ferror(f). */
void bs_event_dump(const struct bs_event *ev, FILE *f);

#endif
