/* test_backoff: full-jitter bounds, growth, cap, Retry-After, determinism. */
#include "deploy/backoff.h"
#include "tests/unit/test.h"

int
main(void)
{
	TEST("delays stay within [0, min(cap, base*2^(n-1))]") {
		struct bs_backoff b;
		bs_backoff_init(&b, 1000, 60000, 42);
		for (unsigned attempt = 1; attempt <= 40; attempt++) {
			int64_t ceiling = 1000;
			for (unsigned i = 1; i < attempt && ceiling < 60000; i++)
				ceiling *= 2;
			if (ceiling > 60000)
				ceiling = 60000;
			int64_t lo = INT64_MAX, hi = -1;
			for (int k = 0; k < 2000; k++) {
				int64_t d = bs_backoff_delay_ms(&b, attempt, -1);
				if (d < lo)
					lo = d;
				if (d > hi)
					hi = d;
			}
			CHECK(lo >= 0);
			CHECK(hi <= ceiling);
			/* full jitter really spreads: both ends of the range seen */
			CHECK(lo < ceiling / 10);
			CHECK(hi > ceiling - ceiling / 10);
		}
	}

	TEST("mean grows with attempts until the cap") {
		struct bs_backoff b;
		bs_backoff_init(&b, 100, 100000, 7);
		double prev = 0;
		for (unsigned attempt = 1; attempt <= 10; attempt++) {
			double sum = 0;
			for (int k = 0; k < 4000; k++)
				sum += (double)bs_backoff_delay_ms(&b, attempt, -1);
			double mean = sum / 4000;
			/* expected mean is ceiling/2 = 50 * 2^(n-1) */
			double want = 50.0 * (double)(1u << (attempt - 1));
			CHECK(mean > want * 0.9 && mean < want * 1.1);
			CHECK(mean > prev);
			prev = mean;
		}
		/* far past the cap: the mean is cap/2 and nothing overflows */
		double sum = 0;
		for (int k = 0; k < 4000; k++) {
			int64_t d = bs_backoff_delay_ms(&b, 4000000000u, -1);
			CHECK(d >= 0 && d <= 100000);
			sum += (double)d;
		}
		CHECK(sum / 4000 > 45000 && sum / 4000 < 55000);
	}

	TEST("retry-after raises the delay, bounded by 4*cap") {
		struct bs_backoff b;
		bs_backoff_init(&b, 1000, 60000, 1);
		for (int k = 0; k < 200; k++) {
			int64_t d = bs_backoff_delay_ms(&b, 1, 7);
			CHECK(d == 7000);  /* attempt 1 ceiling 1000 < 7000 */
		}
		int64_t d = bs_backoff_delay_ms(&b, 1, 100000000L);
		CHECK_INT(d, 240000);
		d = bs_backoff_delay_ms(&b, 1, 2147483647L);
		CHECK_INT(d, 240000);
		/* a Retry-After below the jittered delay does not lower it */
		int above = 0;
		for (int k = 0; k < 500; k++) {
			d = bs_backoff_delay_ms(&b, 10, 1);
			CHECK(d >= 1000 && d <= 60000);
			if (d > 1000)
				above++;
		}
		CHECK(above > 400);
		/* 0 and negative mean "none" */
		int zeros_ok = 1;
		for (int k = 0; k < 100; k++)
			if (bs_backoff_delay_ms(&b, 1, 0) > 1000 ||
			    bs_backoff_delay_ms(&b, 1, -1) > 1000)
				zeros_ok = 0;
		CHECK(zeros_ok);
	}

	TEST("defaults, seeds and determinism") {
		struct bs_backoff a, b, c;
		bs_backoff_init(&a, 0, 0, 0);
		CHECK_INT(a.base_ms, 1000);
		CHECK_INT(a.cap_ms, 3600000);
		CHECK(a._rng != 0);
		bs_backoff_init(&b, 500, 100, 9);  /* cap below base: raised */
		CHECK_INT(b.cap_ms, 500);
		bs_backoff_init(&a, 1000, 3600000, 123);
		bs_backoff_init(&b, 1000, 3600000, 123);
		bs_backoff_init(&c, 1000, 3600000, 124);
		int same = 1, differ = 0;
		for (int k = 0; k < 100; k++) {
			int64_t x = bs_backoff_delay_ms(&a, 12, -1);
			int64_t y = bs_backoff_delay_ms(&b, 12, -1);
			int64_t z = bs_backoff_delay_ms(&c, 12, -1);
			if (x != y)
				same = 0;
			if (x != z)
				differ++;
		}
		CHECK(same);
		CHECK(differ > 90);
		/* a zeroed struct still works (defaults applied) */
		struct bs_backoff zero = { 0 };
		int64_t d = bs_backoff_delay_ms(&zero, 1, -1);
		CHECK(d >= 0 && d <= 1000);
		/* attempt 0 is treated like attempt 1 */
		bs_backoff_init(&a, 1000, 60000, 5);
		for (int k = 0; k < 100; k++)
			CHECK(bs_backoff_delay_ms(&a, 0, -1) <= 1000);
	}

	return TEST_REPORT();
}
