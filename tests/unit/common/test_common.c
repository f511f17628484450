/* Unit tests of common/: arena, job key bookkeeping, log escaping. */
#include <string.h>

#include "common/arena.h"
#include "common/job.h"
#include "common/log.h"
#include "tests/unit/test.h"

int
main(void)
{
	TEST("arena: strings, alignment, big blocks, release") {
		struct bs_arena a = {0};
		char *s = bs_arena_strndup(&a, "hello world", 5);
		CHECK_STR(s, "hello");
		for (int i = 0; i < 1000; i++) {
			void *p = bs_arena_alloc(&a, (size_t)i % 37 + 1);
			CHECK(((uintptr_t)p & 15) == 0);
		}
		char *big = bs_arena_alloc(&a, 100000);
		CHECK(big[99999] == 0);
		memset(big, 'x', 100000);
		CHECK_STR(s, "hello");                     /* not overwritten */
		CHECK_STR(bs_arena_printf(&a, "%d-%s", 42, "x"), "42-x");
		CHECK(bs_arena_strdup(&a, NULL) == NULL);
		bs_arena_release(&a);
		CHECK(a.total == 0);
	}
	TEST("arena: push grows and keeps elements") {
		struct bs_arena a = {0};
		int *arr = NULL;
		size_t n = 0, cap = 0;
		for (int i = 0; i < 100; i++)
			*(int *)bs_arena_push(&a, (void **)&arr, &n, &cap, sizeof(int)) = i;
		CHECK_INT(n, 100);
		int ok = 1;
		for (int i = 0; i < 100; i++)
			ok &= arr[i] == i;
		CHECK(ok);
		bs_arena_release(&a);
	}
	TEST("job: keys deduplicated by place, distinct list in order") {
		struct bs_job job;
		bs_job_init(&job);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_COMMIT, 0, 0);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_COMMIT, 0, 0);
		bs_job_add_key(&job, "SHOP-1", 6, BS_KEY_COMMIT, 0, 1);
		bs_job_add_key(&job, "OPS-2xx", 5, BS_KEY_BRANCH, 0, 0);
		CHECK_INT(job.n_keys, 3);
		const char **keys;
		size_t n = bs_job_distinct_keys(&job, &keys);
		CHECK_INT(n, 2);
		CHECK_STR(keys[0], "SHOP-1");
		CHECK_STR(keys[1], "OPS-2");
		CHECK_STR(bs_key_where_name(BS_KEY_PR_TITLE), "pr_title");
		bs_job_release(&job);
	}
	TEST("log: escape and truncate payload bytes") {
		char out[64];
		CHECK_STR(bs_log_escape(out, sizeof(out), "a\nb\xff", 4, 64), "a\\x0ab\\xff");
		CHECK_STR(bs_log_escape(out, sizeof(out), "abcdef", 6, 3), "abc...");
		CHECK_STR(bs_log_escape(out, 4, "abcdef", 6, 64), "abc");
		enum bs_log_level l;
		CHECK(bs_log_parse_level("warn", &l) == 0 && l == BS_LOG_WARN);
		CHECK(bs_log_parse_level("loud", &l) == -1);
	}
	return TEST_REPORT();
}
