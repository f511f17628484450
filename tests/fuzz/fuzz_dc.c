/* fuzz_dc: bs_parse_event on arbitrary bodies as Data Center
 * repo:refs_changed, pr:merged and mirror:repo_synchronized, with the default
 * limits and with tiny ones. Invariants: a successful parse implies the
 * body passes bs_utf8_check_json; every string in the event is valid UTF-8
 * (so no early NUL can hide in it) and within max_string; counts respect
 * the limits; pr is set iff type is PR; a failed parse leaves the event
 * reset with a non-empty, printable reason. The input (up to 64 bytes) is
 * also read as a date: what bs_isodate_to_utc accepts comes out as
 * 24-character canonical UTC that converts to itself again. */
#include "parsers/isodate.h"
#include "tests/fuzz/fuzz_event.h"

static void
check_date(const uint8_t *data, size_t size)
{
	char out[BS_ISODATE_LEN], again[BS_ISODATE_LEN];
	if (size > 64)
		size = 64;
	if (!bs_isodate_to_utc((const char *)data, size, out))
		return;
	if (strlen(out) != 24 || out[10] != 'T' || out[23] != 'Z' ||
	    out[19] != '.')
		abort();
	if (!bs_isodate_to_utc(out, 24, again) || strcmp(out, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_parse_limits def, tiny = { 8, 2, 3, 7 };
	bs_parse_limits_default(&def);
	check_date(data, size);
	run(BS_PRODUCT_DC, "repo:refs_changed", data, size, &def);
	run(BS_PRODUCT_DC, "repo:refs_changed", data, size, &tiny);
	run(BS_PRODUCT_DC, "pr:merged", data, size, &def);
	run(BS_PRODUCT_DC, "mirror:repo_synchronized", data, size, &tiny);
	run(BS_PRODUCT_DC, "pr:merged", data, size, &tiny);
	return 0;
}
