/* test_keys: key names from a prefix, hash tags and prefix validation. */
#include "../test.h"
#include "queue/keys.h"

int
main(void)
{
	struct bs_keys k;

	TEST("names share the hash tag") {
		CHECK_INT(bs_keys_init(&k, "bitsleuth"), 0);
		CHECK_STR(k.prefix, "bitsleuth");
		CHECK_STR(k.jobs, "{bitsleuth}:jobs");
		CHECK_STR(k.retry, "{bitsleuth}:retry");
		CHECK_STR(k.dead, "{bitsleuth}:dead");
		CHECK_STR(k.dryrun, "{bitsleuth}:dryrun");
		CHECK_STR(k.replays, "{bitsleuth}:replays");
		CHECK_STR(k.stats, "{bitsleuth}:stats");
		CHECK_STR(k.seen, "{bitsleuth}:seen:");
		CHECK_STR(k.seenc, "{bitsleuth}:seenc:");
		CHECK_STR(k.raw, "{bitsleuth}:raw:");
		CHECK_STR(k.rawin, "{bitsleuth}:rawin:");
		CHECK_STR(k.order, "{bitsleuth}:order");
		CHECK_STR(k.group, "workers");
	}

	TEST("allowed characters") {
		CHECK_INT(bs_keys_init(&k, "a-b_c.d:e9Z"), 0);
		CHECK_STR(k.jobs, "{a-b_c.d:e9Z}:jobs");
		CHECK_INT(bs_keys_init(&k, "x"), 0);
	}

	TEST("bad prefixes") {
		CHECK_INT(bs_keys_init(&k, ""), -1);
		CHECK_INT(bs_keys_init(&k, NULL), -1);
		CHECK_INT(bs_keys_init(&k, "a{b"), -1);
		CHECK_INT(bs_keys_init(&k, "a}b"), -1);
		CHECK_INT(bs_keys_init(&k, "a b"), -1);
		CHECK_INT(bs_keys_init(&k, "a\nb"), -1);
		CHECK_INT(bs_keys_init(&k, "caf\xc3\xa9"), -1);
		CHECK_STR(k.jobs, ""); /* nothing left behind on failure */
	}

	TEST("length limit 190") {
		char p[200];
		memset(p, 'a', sizeof(p));
		p[190] = '\0';
		CHECK_INT(bs_keys_init(&k, p), 0);
		CHECK_INT(strlen(k.jobs), 190 + 7);
		p[190] = 'a';
		p[191] = '\0';
		CHECK_INT(bs_keys_init(&k, p), -1);
	}
	return TEST_REPORT();
}
