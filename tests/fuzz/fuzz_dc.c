/* fuzz_dc: bs_parse_event on arbitrary bodies as Data Center
 * repo:refs_changed, pr:merged and mirror:repo_synchronized, with the default
 * limits and with tiny ones. Invariants: a successful parse implies the
 * body passes bs_utf8_check_json; every string in the event is valid UTF-8
 * (so no early NUL can hide in it) and within max_string; counts respect
 * the limits; pr is set iff type is PR; a failed parse leaves the event
 * reset with a non-empty, printable reason. */
#include "tests/fuzz/fuzz_event.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_parse_limits def, tiny = { 8, 2, 3, 7 };
	bs_parse_limits_default(&def);
	run(BS_PRODUCT_DC, "repo:refs_changed", data, size, &def);
	run(BS_PRODUCT_DC, "repo:refs_changed", data, size, &tiny);
	run(BS_PRODUCT_DC, "pr:merged", data, size, &def);
	run(BS_PRODUCT_DC, "mirror:repo_synchronized", data, size, &tiny);
	run(BS_PRODUCT_DC, "pr:merged", data, size, &tiny);
	return 0;
}
