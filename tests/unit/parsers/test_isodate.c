/* test_isodate: the DC date normalisation against libc's gmtime_r as an
 * independent oracle. For pseudo-random instants from 1970 to 9999:
 * epoch ms -> text equals gmtime_r's fields; the same instant written as
 * local time with a random offset (+HHMM, -HH:MM, +HH, Z, with 0-9
 * fraction digits) converts back to exactly that text. Then edge cases:
 * leap days, month ends, day/year rollover by the offset, the range ends. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parsers/isodate.h"
#include "tests/unit/test.h"

static uint64_t rng = 88172645463325252u;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *
conv(const char *s)
{
	static char out[BS_ISODATE_LEN];
	return bs_isodate_to_utc(s, strlen(s), out) ? out : "REFUSED";
}

int
main(void)
{
	TEST("epoch ms -> text agrees with gmtime_r") {
		int bad = 0;
		for (int i = 0; i < 200000 && bad < 5; i++) {
			uint64_t ms = next() % (BS_ISODATE_MAX_MS + 1);
			char got[BS_ISODATE_LEN], want[64];
			CHECK(bs_isodate_from_ms(ms, got));
			time_t t = (time_t)(ms / 1000);
			struct tm tm;
			gmtime_r(&t, &tm);
			snprintf(want, sizeof(want),
			    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			    tm.tm_sec, (int)(ms % 1000));
			if (strcmp(got, want) != 0) {
				bad++;
				fprintf(stderr, "  %llu: got %s want %s\n",
				    (unsigned long long)ms, got, want);
			}
		}
		CHECK_INT(bad, 0);
	}

	TEST("local time with an offset -> the same UTC text") {
		int bad = 0;
		for (int i = 0; i < 200000 && bad < 5; i++) {
			/* Keep clear of the range ends so local time stays in it. */
			uint64_t ms = 86400000u + next() % (BS_ISODATE_MAX_MS -
			    2 * 86400000u);
			int off_min = (int)(next() % (2 * 24 * 60 - 1)) - (24 * 60 - 1);
			int form = (int)(next() % 4);
			if (form == 2)
				off_min -= off_min % 60;   /* "+HH" has whole hours */
			if (form == 3)
				off_min = 0;               /* "Z" */
			unsigned frac_digits = (unsigned)(next() % 10);
			time_t local = (time_t)(ms / 1000) + off_min * 60;
			struct tm tm;
			gmtime_r(&local, &tm);
			char frac[16] = "";
			if (frac_digits) {
				char d[16];
				snprintf(d, sizeof(d), "%03u%06u", (unsigned)(ms % 1000),
				    (unsigned)(next() % 1000000));
				snprintf(frac, sizeof(frac), ".%.*s", (int)frac_digits, d);
			}
			unsigned a = (unsigned)(off_min < 0 ? -off_min : off_min);
			char sign = off_min < 0 ? '-' : '+';
			char zone[16];
			if (form == 0)
				snprintf(zone, sizeof(zone), "%c%02u%02u", sign, a / 60,
				    a % 60);
			else if (form == 1)
				snprintf(zone, sizeof(zone), "%c%02u:%02u", sign, a / 60,
				    a % 60);
			else if (form == 2)
				snprintf(zone, sizeof(zone), "%c%02u", sign, a / 60);
			else
				snprintf(zone, sizeof(zone), "Z");
			char in[80], want[BS_ISODATE_LEN];
			snprintf(in, sizeof(in), "%04d-%02d-%02dT%02d:%02d:%02d%s%s",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			    tm.tm_min, tm.tm_sec, frac, zone);
			/* The fraction is cut to ms: the expected instant too. */
			uint64_t want_ms = ms / 1000 * 1000 + (frac_digits >= 3 ?
			    ms % 1000 : frac_digits == 0 ? 0 : frac_digits == 1 ?
			    ms % 1000 / 100 * 100 : ms % 1000 / 10 * 10);
			CHECK(bs_isodate_from_ms(want_ms, want));
			const char *got = conv(in);
			if (strcmp(got, want) != 0) {
				bad++;
				fprintf(stderr, "  %s: got %s want %s\n", in, got, want);
			}
		}
		CHECK_INT(bad, 0);
	}

	TEST("edge cases") {
		CHECK_STR(conv("2024-02-29T12:00:00Z"), "2024-02-29T12:00:00.000Z");
		CHECK_STR(conv("2000-02-29T12:00:00Z"), "2000-02-29T12:00:00.000Z");
		CHECK_STR(conv("2100-02-29T12:00:00Z"), "REFUSED");
		CHECK_STR(conv("2023-04-31T00:00:00Z"), "REFUSED");
		CHECK_STR(conv("2023-13-01T00:00:00Z"), "REFUSED");
		CHECK_STR(conv("2023-00-01T00:00:00Z"), "REFUSED");
		CHECK_STR(conv("2023-01-00T00:00:00Z"), "REFUSED");
		CHECK_STR(conv("2023-12-31T23:30:00-0100"), "2024-01-01T00:30:00.000Z");
		CHECK_STR(conv("2024-01-01T00:30:00+0100"), "2023-12-31T23:30:00.000Z");
		CHECK_STR(conv("2024-03-01T00:00:00+0000"), "2024-03-01T00:00:00.000Z");
		CHECK_STR(conv("2024-03-01T00:00:00+0001"), "2024-02-29T23:59:00.000Z");
		CHECK_STR(conv("1970-01-01T00:00:00Z"), "1970-01-01T00:00:00.000Z");
		CHECK_STR(conv("1970-01-01T00:59:59+0100"), "REFUSED");
		CHECK_STR(conv("1969-12-31T23:00:00-0100"), "REFUSED");
		CHECK_STR(conv("9999-12-31T23:59:59.999Z"), "9999-12-31T23:59:59.999Z");
		CHECK_STR(conv("9999-12-31T23:59:59-0001"), "REFUSED");
		CHECK_STR(conv("2024-01-02 03:04:05z"), "2024-01-02T03:04:05.000Z");
		CHECK_STR(conv("2024-01-02T03:04:05,5Z"), "2024-01-02T03:04:05.500Z");
		CHECK_STR(conv("2024-01-02T03:04:60Z"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04Z"), "REFUSED");
		CHECK_STR(conv("+2024-01-02T03:04:05Z"), "REFUSED");
		CHECK_STR(conv("2024-1-02T03:04:05Z"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04:05+"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04:05+1"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04:05+01:"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04:05+01:60"), "REFUSED");
		CHECK_STR(conv("2024-01-02T03:04:05+0100x"), "REFUSED");
		char out[BS_ISODATE_LEN];
		CHECK(!bs_isodate_to_utc(NULL, 0, out));
		CHECK(!bs_isodate_from_ms(BS_ISODATE_MAX_MS + 1, out));
		CHECK(!bs_isodate_from_ms_text("", 0, out));
		CHECK(!bs_isodate_from_ms_text("-1", 2, out));
		CHECK(!bs_isodate_from_ms_text("1e3", 3, out));
		CHECK(!bs_isodate_from_ms_text("9999999999999999", 16, out));
		CHECK(bs_isodate_from_ms_text("1000", 4, out));
		CHECK_STR(out, "1970-01-01T00:00:01.000Z");
	}

	return TEST_REPORT();
}
