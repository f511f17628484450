/* test_shard: the shard of a repository (stable known values, case,
 * distribution) and the shard key prefixes. */
#include "../test.h"
#include "queue/shard.h"
#include "queue/keys.h"

int
main(void)
{
	TEST("one shard: always 0") {
		CHECK_INT(bs_shard_of("acme/shop", 1), 0);
		CHECK_INT(bs_shard_of("acme/shop", 0), 0);
		CHECK_INT(bs_shard_of("acme/shop", -3), 0);
		CHECK_INT(bs_shard_of(NULL, 3), 0);
		CHECK_INT(bs_shard_of("", 3), 0);
	}

	TEST("known values (FNV-1a 32, never to change)") {
		/* fnv1a32("acme/shop") = 781924908 */
		CHECK_INT(bs_shard_of("acme/shop", 3), 0);
		CHECK_INT(bs_shard_of("acme/shop", 64), 44);
		/* fnv1a32("proj/repo") = 4068351187 */
		CHECK_INT(bs_shard_of("PROJ/repo", 3), 1);
		CHECK_INT(bs_shard_of("PROJ/repo", 64), 19);
		/* fnv1a32("team/repo-7") = 4173330233 */
		CHECK_INT(bs_shard_of("team/repo-7", 3), 2);
		CHECK_INT(bs_shard_of("team/repo-7", 64), 57);
		CHECK_INT(bs_shard_of("a", 64), 44);
	}

	TEST("case-insensitive (ASCII), like bs_keys_repo") {
		CHECK_INT(bs_shard_of("ACME/Shop", 7), bs_shard_of("acme/shop", 7));
		CHECK_INT(bs_shard_of("Proj/REPO", 64), bs_shard_of("proj/repo", 64));
	}

	TEST("30 repositories spread roughly evenly over 3 shards") {
		int count[3] = { 0, 0, 0 };
		for (int i = 0; i < 30; i++) {
			char repo[64];
			snprintf(repo, sizeof(repo), "acme/repo-%02d", i);
			int s = bs_shard_of(repo, 3);
			CHECK(s >= 0 && s < 3);
			if (s >= 0 && s < 3)
				count[s]++;
		}
		CHECK_INT(count[0], 10);
		CHECK_INT(count[1], 11);
		CHECK_INT(count[2], 9);
	}

	TEST("shard prefixes and their keys") {
		char p[64];
		struct bs_keys k;
		CHECK_INT(bs_shard_prefix("bitsleuth", 0, 1, p, sizeof(p)), 0);
		CHECK_STR(p, "bitsleuth");
		CHECK_INT(bs_shard_prefix("bitsleuth", 2, 3, p, sizeof(p)), 0);
		CHECK_STR(p, "bitsleuth:2");
		CHECK_INT(bs_keys_init(&k, p), 0);
		CHECK_STR(k.jobs, "{bitsleuth:2}:jobs");
		CHECK_INT(bs_shard_prefix("bitsleuth", 12, 64, p, 8), -1);
	}

	TEST("shard repository of an event") {
		char shop[] = "acme/shop", up[] = "acme/upstream", none[] = "";
		struct bs_event ev;
		memset(&ev, 0, sizeof(ev));
		CHECK(bs_shard_repo(&ev) == NULL);
		CHECK(bs_shard_repo(NULL) == NULL);
		ev.type = BS_EVENT_PUSH;
		ev.repository = shop;
		CHECK_STR(bs_shard_repo(&ev), "acme/shop");
		struct bs_pr pr;
		memset(&pr, 0, sizeof(pr));
		pr.destination.repository = up;
		ev.type = BS_EVENT_PR;
		ev.pr = &pr;
		CHECK_STR(bs_shard_repo(&ev), "acme/upstream");
		pr.destination.repository = none;
		CHECK_STR(bs_shard_repo(&ev), "acme/shop");
	}

	return TEST_REPORT();
}
