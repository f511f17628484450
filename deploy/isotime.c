/* isotime: unix ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (see isotime.h).
 *
 * Uses the proleptic Gregorian days-from-civil inverse (Howard Hinnant's
 * civil_from_days) instead of gmtime_r: no locale, no TZ, no libc state,
 * and every int64 input is handled (out-of-range years are refused rather
 * than printed with more than four digits). Seconds are floored and the
 * millisecond part is what remains (0..999), so negative times (before
 * 1970) count towards the past too: -1 ms is 23:59:59.999 of the day
 * before. */
#include "deploy/isotime.h"

#include <stdio.h>

int
bs_isotime_utc(int64_t ms, char *out, size_t outlen)
{
	if (!out || outlen < BS_ISOTIME_LEN) {
		if (out && outlen)
			out[0] = '\0';
		return -1;
	}
	out[0] = '\0';
	/* 0..9999 is about +-3.2e14 ms around 1970: refuse before dividing. */
	const int64_t lim = INT64_C(400000000000000);
	if (ms < -lim || ms > lim)
		return -1;
	int64_t secs = ms / 1000;
	int64_t frac = ms % 1000;
	if (frac < 0) {
		secs--;
		frac += 1000;
	}
	int64_t days = secs / 86400;
	int64_t rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* civil_from_days */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	if (y < 0 || y > 9999)
		return -1;
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y,
	    (int)m, (int)d, (int)(rem / 3600), (int)(rem / 60 % 60),
	    (int)(rem % 60), (int)frac);
	return 0;
}
