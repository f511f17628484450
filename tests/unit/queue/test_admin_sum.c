/* test_admin_sum: the stats of several shards added up (bs_admin_stats_add),
 * without Redis. */
#include "../test.h"
#include "queue/admin.h"

int
main(void)
{
	TEST("totals, earliest retry, oldest ages, merged names") {
		char w1[] = "w1", w2[] = "w2", q[] = "queued", r[] = "registered",
		    bx[] = "bb.x";
		struct bs_admin_consumer c0[] = { { w1, 2 } }, c1[] = { { w1, 3 }, { w2, 1 } };
		struct bs_admin_counter k0[] = { { q, 10 } },
		    k1[] = { { r, 4 }, { q, 5 } };
		struct bs_admin_budget b0[] = { { bx, 3.0, 100, 0 } };
		struct bs_admin_stats s0 = {
			.jobs_len = 3, .pending = 2, .consumers = c0, .n_consumers = 1,
			.retry_len = 1, .next_retry_ms = 500, .dead_len = 0,
			.oldest_age_ms = 40, .lanes = 2, .lane_waiting = 1, .lanes_held = 0,
			.oldest_head_age_ms = -1, .counters = k0, .n_counters = 1,
			.budgets = b0, .n_budgets = 1,
		};
		struct bs_admin_stats s1 = {
			.jobs_len = 4, .pending = 4, .consumers = c1, .n_consumers = 2,
			.retry_len = 2, .next_retry_ms = 300, .dead_len = 5,
			.oldest_age_ms = 70, .lanes = 1, .lane_waiting = 0, .lanes_held = 1,
			.oldest_head_age_ms = 9, .counters = k1, .n_counters = 2,
		};
		struct bs_admin_stats e;
		memset(&e, 0, sizeof(e));
		e.next_retry_ms = e.oldest_age_ms = e.oldest_head_age_ms = -1;
		struct bs_admin_stats sum;
		bs_admin_stats_zero(&sum);
		bs_admin_stats_add(&sum, &s0);
		bs_admin_stats_add(&sum, &e);
		bs_admin_stats_add(&sum, &s1);
		CHECK_INT(sum.jobs_len, 7);
		CHECK_INT(sum.pending, 6);
		CHECK_INT(sum.retry_len, 3);
		CHECK_INT(sum.next_retry_ms, 300);
		CHECK_INT(sum.dead_len, 5);
		CHECK_INT(sum.oldest_age_ms, 70);
		CHECK_INT(sum.lanes, 3);
		CHECK_INT(sum.lane_waiting, 1);
		CHECK_INT(sum.lanes_held, 1);
		CHECK_INT(sum.oldest_head_age_ms, 9);
		CHECK_INT(sum.n_consumers, 2);
		CHECK_STR(sum.consumers[0].name, "w1");
		CHECK_INT(sum.consumers[0].pending, 5);
		CHECK_INT(sum.consumers[1].pending, 1);
		CHECK_INT(sum.n_counters, 2);
		CHECK_STR(sum.counters[0].name, "queued");
		CHECK_INT(sum.counters[0].value, 15);
		CHECK_INT(sum.counters[1].value, 4);
		CHECK_INT(sum.n_budgets, 1);
		CHECK_STR(sum.budgets[0].bucket, "bb.x");
		bs_admin_stats_release(&sum);
	}

	TEST("an empty sum stays empty") {
		struct bs_admin_stats sum;
		bs_admin_stats_zero(&sum);
		CHECK_INT(sum.next_retry_ms, -1);
		CHECK_INT(sum.oldest_age_ms, -1);
		CHECK_INT(sum.n_consumers, 0);
		bs_admin_stats_release(&sum);
	}
	return TEST_REPORT();
}
