/* fuzz_checks: invariants shared by the REST and GraphQL answer fuzz
 * targets (fuzz_bb_api, fuzz_bb_changes, fuzz_sleuth_graphql). Each check
 * aborts when it does not hold. Included by exactly one .c per target. */
#ifndef BS_FUZZ_CHECKS_H
#define BS_FUZZ_CHECKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "parsers/bb_api.h"
#include "parsers/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The string cap of bs_parse_limits_default(). */
#define MAX_STRING 65536

/* A kept string: NULL, or valid UTF-8 (no early NUL) of at most MAX_STRING. */
static inline void
check_str(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > MAX_STRING || bs_utf8_valid(s, n) != 0)
		abort();
}

/* A failure's reason: non-empty printable ASCII (never payload bytes). */
static inline void
check_fail(const char *err)
{
	size_t n = strlen(err);
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
			abort();
}

/* A parse that succeeded had a body passing the strict check. */
static inline void
check_ok(const uint8_t *data, size_t size)
{
	if (bs_utf8_check_json((const char *)data, size, NULL, 0) != 0)
		abort();
}

/* A page's paging fields (bb_paging.h): Cloud last iff no next, next an
 * http(s) printable ASCII URL of at most BS_API_MAX_URL; DC no next, and
 * next_start >= 0 unless last. */
static inline void
check_paging(enum bs_product p, bool last, const char *next,
    long long next_start)
{
	if (p == BS_PRODUCT_CLOUD) {
		if (last != (next == NULL) || next_start != -1)
			abort();
		if (next && (strlen(next) > BS_API_MAX_URL ||
		    strncmp(next, "http", 4) != 0))
			abort();
		for (const char *q = next; q && *q; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				abort();
	} else if (next || (!last && next_start < 0)) {
		abort();
	}
}

#endif
