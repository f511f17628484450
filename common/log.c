/* log: see log.h.
 *
 * A line is composed in one buffer (the time prefix is formatted once per
 * second) and written with write(2) as a whole, never in pieces. Without a
 * flush scheduler that is one write per line, as fprintf(stderr) was. With
 * one (bs_log_set_flusher: the server's event loop), debug and info lines
 * collect in a per-thread buffer and go out together, in one write, when
 * the scheduled flush runs at the end of the loop pass, when the buffer
 * passes BUF_FLUSH bytes, right away with any warn or error line (which
 * then also carries the lines before it, in order), when the flusher is
 * removed, and at exit. */
#include "common/log.h"
#include "common/hex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum bs_log_level bs_log_threshold = BS_LOG_INFO;
enum bs_log_format bs_log_format = BS_LOG_TEXT;
static int override_set;
static enum bs_log_level override_level;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
/* "%-5s " of each level name */
static const char level_cols[4][7] = { "debug ", "info  ", "warn  ", "error " };

#define MSG_MAX 2047               /* message bytes kept, as before */
#define LINE_MAX_ (32 + MSG_MAX + 1)
#define BUF_SIZE 16384
#define BUF_FLUSH 8192
_Static_assert(LINE_MAX_ <= BUF_SIZE, "a line fits the buffer");

struct log_buf {
	size_t len;
	void (*flusher)(void *arg);    /* asks for a bs_log_flush soon */
	void *flusher_arg;
	int scheduled;                 /* flusher asked since the last flush */
	char buf[BUF_SIZE];
};

static _Thread_local struct log_buf lb;
static _Thread_local time_t ts_sec = (time_t)-1;
static _Thread_local char ts_text[24];     /* "2026-11-25T10:00:00" */

/* Writes all of buf to stderr (a short write or EINTR goes on). */
static void
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;                        /* nowhere to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

void
bs_log_flush(void)
{
	lb.scheduled = 0;
	if (lb.len == 0)
		return;
	write_all(lb.buf, lb.len);
	lb.len = 0;
}

static void
flush_at_exit(void)
{
	bs_log_flush();
}

void
bs_log_set_flusher(void (*flusher)(void *arg), void *arg)
{
	static int registered;
	bs_log_flush();
	lb.flusher = flusher;
	lb.flusher_arg = arg;
	if (flusher && !registered) {
		registered = 1;
		atexit(flush_at_exit);
	}
}

void
bs_log_impl(enum bs_log_level lvl, const char *fmt, ...)
{
	char line[LINE_MAX_];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != ts_sec) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts_text, sizeof(ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = tv.tv_sec;
	}
	size_t o = strlen(ts_text);
	memcpy(line, ts_text, o);
	unsigned ms = (unsigned)(tv.tv_usec / 1000);
	line[o++] = '.';
	line[o++] = (char)('0' + ms / 100);
	line[o++] = (char)('0' + ms / 10 % 10);
	line[o++] = (char)('0' + ms % 10);
	line[o++] = 'Z';
	line[o++] = ' ';
	memcpy(line + o, level_cols[lvl], 6);
	o += 6;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + o, MSG_MAX + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		o += (size_t)n > MSG_MAX ? MSG_MAX : (size_t)n;
	line[o++] = '\n';

	if (!lb.flusher) {
		write_all(line, o);
		return;
	}
	/* A line (at most LINE_MAX_) always fits an empty buffer. */
	if (lb.len + o > sizeof(lb.buf))
		bs_log_flush();
	memcpy(lb.buf + lb.len, line, o);
	lb.len += o;
	if (lvl >= BS_LOG_WARN || lb.len > BUF_FLUSH) {
		bs_log_flush();
	} else if (!lb.scheduled) {
		lb.scheduled = 1;
		lb.flusher(lb.flusher_arg);
	}
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

void
bs_log_set_override(enum bs_log_level lvl)
{
	override_set = 1;
	override_level = lvl;
	bs_log_threshold = lvl;
}

int
bs_log_apply(const char *level, const char *format)
{
	enum bs_log_level lvl = bs_log_threshold;
	enum bs_log_format fmt = bs_log_format;
	if (level && bs_log_parse_level(level, &lvl) != 0)
		return -1;
	if (format) {
		if (strcmp(format, "text") == 0)
			fmt = BS_LOG_TEXT;
		else if (strcmp(format, "json") == 0)
			fmt = BS_LOG_JSON;
		else
			return -1;
	}
	bs_log_threshold = override_set ? override_level : lvl;
	bs_log_format = fmt;
	return 0;
}
