/* utf8: the strict check every webhook body passes before JSON parsing.
 *
 * yajl's own check lets overlong forms and UTF-8-encoded surrogates through,
 * turns lone \uD800 escapes into '?' and lets \u0000 in; json-parsers.md has
 * the measurements. This one pass refuses all of those, and raw control
 * characters, with the byte offset in the reason. */
#ifndef BS_UTF8_H
#define BS_UTF8_H

#include <stddef.h>

#include "common/utf8_seq.h"

/* Returns 0 when buf[0..len) is valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), has no control character other than
 * TAB, LF and CR outside JSON strings and none at all inside them, and has
 * no \u0000 or unpaired \uD800-\uDFFF escape inside a JSON string.
 * Otherwise returns -1 and writes "invalid UTF-8 at byte N" (or a similar
 * one-line reason) into err. Runs in one linear pass, no allocation. */
int bs_utf8_check_json(const char *buf, size_t len, char *err, size_t errlen);

/* Plain UTF-8 validity (same rules, no JSON awareness, control characters
 * allowed). Returns 0 or -1. */
int bs_utf8_valid(const char *buf, size_t len);

/* bs_utf8_seq (one sequence's length): common/utf8_seq.h. */

#endif
