/* isodate: see isodate.h. Civil-date arithmetic after H. Hinnant's
 * days_from_civil / civil_from_days, restricted to 1970..9999 so that
 * everything stays unsigned; fields are range-checked (day against the
 * month's length, leap years included) before any arithmetic. */
#include "parsers/isodate.h"

#include <stdio.h>

static uint64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	y -= m <= 2;
	uint64_t era = y / 400;
	uint64_t yoe = y - era * 400;
	uint64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil(uint64_t days, unsigned *y, unsigned *m, unsigned *dd)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	uint64_t doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	*dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

bool
bs_isodate_from_ms(uint64_t ms, char out[BS_ISODATE_LEN])
{
	if (ms > BS_ISODATE_MAX_MS)
		return false;
	uint64_t secs = ms / 1000, day_secs = secs % 86400;
	unsigned y, m, d;
	civil(secs / 86400, &y, &m, &d);
	snprintf(out, BS_ISODATE_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    y % 10000, m % 100, d % 100, (unsigned)(day_secs / 3600),
	    (unsigned)(day_secs / 60 % 60), (unsigned)(day_secs % 60),
	    (unsigned)(ms % 1000));
	return true;
}

bool
bs_isodate_from_ms_text(const char *s, size_t len, char out[BS_ISODATE_LEN])
{
	uint64_t v = 0;
	if (len == 0 || len > 15)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return bs_isodate_from_ms(v, out);
}

/* n decimal digits at s[*i..] -> *v; false if they are not all digits. */
static bool
digits(const char *s, size_t len, size_t *i, unsigned n, unsigned *v)
{
	unsigned x = 0;
	if (*i + n > len)
		return false;
	for (unsigned k = 0; k < n; k++) {
		char ch = s[*i + k];
		if (ch < '0' || ch > '9')
			return false;
		x = x * 10 + (unsigned)(ch - '0');
	}
	*i += n;
	*v = x;
	return true;
}

static bool
lit(const char *s, size_t len, size_t *i, char a, char b)
{
	if (*i >= len || (s[*i] != a && s[*i] != b))
		return false;
	(*i)++;
	return true;
}

static unsigned
month_days(unsigned y, unsigned m)
{
	static const unsigned char n[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

bool
bs_isodate_to_utc(const char *s, size_t len, char out[BS_ISODATE_LEN])
{
	size_t i = 0;
	unsigned y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0;

	if (!s || !digits(s, len, &i, 4, &y) || !lit(s, len, &i, '-', '-') ||
	    !digits(s, len, &i, 2, &mo) || !lit(s, len, &i, '-', '-') ||
	    !digits(s, len, &i, 2, &d) ||
	    !(lit(s, len, &i, 'T', 't') || lit(s, len, &i, ' ', ' ')) ||
	    !digits(s, len, &i, 2, &h) || !lit(s, len, &i, ':', ':') ||
	    !digits(s, len, &i, 2, &mi) || !lit(s, len, &i, ':', ':') ||
	    !digits(s, len, &i, 2, &sec))
		return false;
	if (i < len && (s[i] == '.' || s[i] == ',')) {
		size_t n = 0;
		i++;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
			if (n < 3)
				ms = ms * 10 + (unsigned)(s[i] - '0');
		if (n == 0)
			return false;
		for (; n < 3; n++)
			ms *= 10;
	}
	int sign = 0;
	if (lit(s, len, &i, 'Z', 'z')) {
		sign = 0;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '-' ? -1 : 1;
		i++;
		if (!digits(s, len, &i, 2, &oh))
			return false;
		if (i < len) {
			lit(s, len, &i, ':', ':');
			if (!digits(s, len, &i, 2, &om))
				return false;
		}
	} else {
		return false;   /* no offset: local time of an unknown zone */
	}
	if (i != len)
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59)
		return false;
	uint64_t local = (days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec) * 1000 + ms;
	uint64_t off = ((uint64_t)oh * 3600 + om * 60) * 1000;
	/* UTC = local - offset: +0200 is two hours ahead of UTC. */
	if (sign > 0) {
		if (local < off)
			return false;
		local -= off;
	} else if (sign < 0) {
		local += off;
	}
	return bs_isodate_from_ms(local, out);
}
