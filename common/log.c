/* log: see log.h. One fprintf per line so concurrent processes sharing a
 * terminal or a file do not interleave inside a line. */
#include "common/log.h"
#include "common/hex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

enum bs_log_level bs_log_threshold = BS_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
bs_log_impl(enum bs_log_level lvl, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", ts, (long)(tv.tv_usec / 1000),
	    level_names[lvl], msg);
}

int
bs_log_parse_level(const char *name, enum bs_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum bs_log_level)i;
			return 0;
		}
	}
	return -1;
}

char *
bs_log_escape(char *out, size_t outlen, const char *buf, size_t len, size_t max)
{
	size_t o = 0;
	if (outlen == 0)
		return out;
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)buf[i];
		char tmp[5];
		size_t n;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[0] = (char)c;
			n = 1;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = bs_hex_digits[c >> 4];
			tmp[3] = bs_hex_digits[c & 15];
			n = 4;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (len > max && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
