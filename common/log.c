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
 * removed, and at exit.
 *
 * The message is formatted first (at most MSG_MAX bytes), then rendered as
 * a text or a JSON line. The rate limiter keys warn and error lines by
 * level and message text (a hash, and the first LIMIT_TEXT bytes kept for
 * the count line) in a table of LIMIT_SLOTS; a full table gives up its
 * oldest entry (writing its count first). */
#include "common/log.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/utf8_seq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum bs_log_level bs_log_threshold = BS_LOG_WARN;
enum bs_log_format bs_log_format = BS_LOG_TEXT;
static int override_set;
static enum bs_log_level override_level;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
/* "%-5s " of each level name */
static const char level_cols[4][7] = { "debug ", "info  ", "warn  ", "error " };

#define MSG_MAX 2047               /* message bytes kept, as before */
#define CTX_MAX 128                /* bytes of a context value shown */
#define CTX_DEPTH 8
#define N_CTX 5
/* A JSON line, the worst case: every byte of the message and of the
 * context values escaped as \uXXXX, plus the names and the time. */
#define LINE_MAX_ (160 + 6 * MSG_MAX + N_CTX * (16 + 6 * CTX_MAX) + 96)
#define BUF_SIZE 32768
#define BUF_FLUSH 8192
_Static_assert(LINE_MAX_ <= BUF_SIZE, "a line fits the buffer");

#define LIMIT_SLOTS 8
#define LIMIT_TEXT 512
#define LIMIT_WINDOW_MS 10000

struct log_buf {
	size_t len;
	void (*flusher)(void *arg);    /* asks for a bs_log_flush soon */
	void *flusher_arg;
	int scheduled;                 /* flusher asked since the last flush */
	char buf[BUF_SIZE];
};

/* One message being rate limited: written at `start`, `count` repeats
 * suppressed since. */
struct limit_slot {
	int used;
	enum bs_log_level lvl;
	uint64_t hash;
	size_t len;                    /* of the whole message */
	long long start;
	unsigned long count;
	char text[LIMIT_TEXT];         /* its first bytes, NUL-terminated */
};

static _Thread_local struct log_buf lb;
static _Thread_local time_t ts_sec = (time_t)-1;
static _Thread_local char ts_text[24];     /* "2026-11-25T10:00:00" */
static _Thread_local struct bs_log_ctx ctx_stack[CTX_DEPTH];
static _Thread_local int ctx_depth;
static _Thread_local struct limit_slot slots[LIMIT_SLOTS];
static long long limit_window_ms = LIMIT_WINDOW_MS;
static long long (*clock_fn)(void);

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

static void limit_report_all(void);
static int exit_registered;

/* At exit: the counts not yet written, then the buffered lines. */
static void
flush_at_exit(void)
{
	limit_report_all();
	bs_log_flush();
}

static void
register_exit(void)
{
	if (!exit_registered) {
		exit_registered = 1;
		atexit(flush_at_exit);
	}
}

void
bs_log_set_flusher(void (*flusher)(void *arg), void *arg)
{
	bs_log_flush();
	lb.flusher = flusher;
	lb.flusher_arg = arg;
	if (flusher)
		register_exit();
}

static long long
now_ms(void)
{
	if (clock_fn)
		return clock_fn();
	return bs_now_ms();
}

/* === Rendering ========================================================== */

/* A bounded output: appends that do not fit are cut (never overrun). */
struct out {
	char *p;
	size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* "2026-11-25T10:00:00.123Z" */
static void
put_time(struct out *o, long long ms)
{
	time_t sec = (time_t)(ms / 1000);
	if (sec != ts_sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(ts_text, sizeof(ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = sec;
	}
	unsigned m = (unsigned)(ms % 1000);
	char frac[6] = { '.', (char)('0' + m / 100), (char)('0' + m / 10 % 10),
		(char)('0' + m % 10), 'Z', '\0' };
	puts_(o, ts_text);
	put(o, frac, 5);
}

/* s[0..n) as a JSON string, quotes included. Control bytes are escaped,
 * invalid UTF-8 bytes become \ufffd, each on its own. */
static void
put_json_str(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	put(o, "\"", 1);
	size_t i = 0;
	while (i < n) {
		unsigned c = u[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			size_t j = i;
			while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' &&
			    u[j] != '\\')
				j++;
			put(o, s + i, j - i);
			i = j;
			continue;
		}
		if (c >= 0x80) {
			size_t k = bs_utf8_seq(u + i, n - i, NULL);
			if (k) {
				put(o, s + i, k);
				i += k;
			} else {
				put(o, "\\ufffd", 6);
				i++;
			}
			continue;
		}
		char esc[7] = { '\\', 'u', '0', '0', bs_hex_digits[c >> 4],
			bs_hex_digits[c & 15], '\0' };
		switch (c) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		default: put(o, esc, 6); break;
		}
		i++;
	}
	put(o, "\"", 1);
}

/* The length of the "component: " prefix of msg (a lower-case word, at
 * most 16 bytes, then ": "), or 0. */
static size_t
component_len(const char *msg, size_t n)
{
	size_t i = 0;
	if (n == 0 || msg[0] < 'a' || msg[0] > 'z')
		return 0;
	while (i < n && i <= 16 && ((msg[i] >= 'a' && msg[i] <= 'z') ||
	    (msg[i] >= '0' && msg[i] <= '9') || msg[i] == '-' || msg[i] == '_'))
		i++;
	if (i > 16 || i + 1 >= n || msg[i] != ':' || msg[i + 1] != ' ')
		return 0;
	return i;
}

static const char *const ctx_names[N_CTX] = {
	"delivery", "event", "repository", "job", "target"
};

static const struct bs_log_ctx *
current_ctx(void)
{
	return ctx_depth > 0 && ctx_depth <= CTX_DEPTH ?
	    &ctx_stack[ctx_depth - 1] : NULL;
}

static void
ctx_values(const struct bs_log_ctx *c, const char *v[N_CTX])
{
	v[0] = c ? c->delivery : NULL;
	v[1] = c ? c->event : NULL;
	v[2] = c ? c->repository : NULL;
	v[3] = c ? c->job : NULL;
	v[4] = c ? c->target : NULL;
}

static size_t
cut(const char *s)
{
	size_t n = strnlen(s, CTX_MAX + 1);
	return n > CTX_MAX ? CTX_MAX : n;
}

/* " (N more like this suppressed in the last Ts)" */
static size_t
suffix(char *buf, size_t len, unsigned long n, long long span_ms)
{
	long long s = (span_ms + 500) / 1000;
	if (s < 1)
		s = 1;
	int k = snprintf(buf, len, " (%lu more like this suppressed in the "
	    "last %llds)", n, s);
	return k > 0 ? (size_t)k : 0;
}

/* One line into o: msg[0..mlen) (+ sfx) in the current format, with the
 * context c (NULL: none). */
static void
render(struct out *o, enum bs_log_level lvl, long long ms, const char *msg,
    size_t mlen, const char *sfx, size_t slen, unsigned long suppressed,
    const struct bs_log_ctx *c)
{
	const char *v[N_CTX];
	ctx_values(c, v);
	if (bs_log_format == BS_LOG_TEXT) {
		put_time(o, ms);
		put(o, " ", 1);
		put(o, level_cols[lvl], 6);
		put(o, msg, mlen);
		put(o, sfx, slen);
		for (int i = 0; i < N_CTX; i++) {
			if (!v[i] || !v[i][0])
				continue;
			/* msg is NUL-terminated at mlen by the caller */
			if (strstr(msg, v[i]))
				continue;             /* the message shows it already */
			char esc[4 * CTX_MAX + 4];
			bs_log_escape(esc, sizeof(esc), v[i], strlen(v[i]), CTX_MAX);
			int quote = strpbrk(esc, " \"=") != NULL;
			put(o, " ", 1);
			puts_(o, ctx_names[i]);
			put(o, quote ? "=\"" : "=", quote ? 2 : 1);
			puts_(o, esc);
			if (quote)
				put(o, "\"", 1);
		}
		put(o, "\n", 1);
		return;
	}
	puts_(o, "{\"time\":\"");
	put_time(o, ms);
	puts_(o, "\",\"level\":\"");
	puts_(o, level_names[lvl]);
	put(o, "\"", 1);
	size_t cl = component_len(msg, mlen);
	if (cl) {
		puts_(o, ",\"component\":");
		put_json_str(o, msg, cl);
		msg += cl + 2;
		mlen -= cl + 2;
	}
	puts_(o, ",\"msg\":");
	if (slen) {
		/* one string: the message and the count */
		size_t at = o->len;
		put_json_str(o, msg, mlen);
		if (o->len > at && o->p[o->len - 1] == '"')
			o->len--;
		put(o, sfx, slen);
		put(o, "\"", 1);
	} else {
		put_json_str(o, msg, mlen);
	}
	for (int i = 0; i < N_CTX; i++) {
		if (!v[i] || !v[i][0])
			continue;
		put(o, ",\"", 2);
		puts_(o, ctx_names[i]);
		put(o, "\":", 2);
		put_json_str(o, v[i], cut(v[i]));
	}
	if (suppressed) {
		char n[32];
		int k = snprintf(n, sizeof(n), ",\"suppressed\":%lu", suppressed);
		put(o, n, k > 0 ? (size_t)k : 0);
	}
	put(o, "}\n", 2);
}

/* Queues or writes the finished line. */
static void
emit(enum bs_log_level lvl, const char *line, size_t n)
{
	if (!lb.flusher) {
		write_all(line, n);
		return;
	}
	/* A line (at most LINE_MAX_) always fits an empty buffer. */
	if (lb.len + n > sizeof(lb.buf))
		bs_log_flush();
	memcpy(lb.buf + lb.len, line, n);
	lb.len += n;
	if (lvl >= BS_LOG_WARN || lb.len > BUF_FLUSH) {
		bs_log_flush();
	} else if (!lb.scheduled) {
		lb.scheduled = 1;
		lb.flusher(lb.flusher_arg);
	}
}

static void
write_line(enum bs_log_level lvl, long long ms, const char *msg, size_t mlen,
    const char *sfx, size_t slen, unsigned long suppressed,
    const struct bs_log_ctx *c)
{
	char line[LINE_MAX_];
	struct out o = { line, 0, sizeof(line) - 1 };
	render(&o, lvl, ms, msg, mlen, sfx, slen, suppressed, c);
	if (o.len == 0 || line[o.len - 1] != '\n')
		line[o.len++] = '\n';      /* the one byte kept back for it */
	emit(lvl, line, o.len);
}

/* === Repeats ============================================================ */

static uint64_t
hash_msg(enum bs_log_level lvl, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)lvl;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Writes slot s's count line (if it counted any) and empties it. */
static void
slot_report(struct limit_slot *s, long long now, int keep)
{
	if (s->count) {
		char sfx[96];
		size_t sl = suffix(sfx, sizeof(sfx), s->count, now - s->start);
		size_t tl = strlen(s->text);
		write_line(s->lvl, now, s->text, tl, sfx, sl, s->count, NULL);
	}
	s->count = 0;
	if (!keep)
		s->used = 0;
}

/* Whether the message in slot s has the component msg[0..cl) has. */
static int
same_component(const struct limit_slot *s, const char *msg, size_t cl)
{
	return cl && strncmp(s->text, msg, cl + 2) == 0;
}

/* Before a line that is not a suppressed repeat: a window that is over
 * is closed, and when it counted repeats, their count is written and a
 * new window opens (so a message repeated for an hour comes out once per
 * window). With a component (msg[0..cl), cl > 0), the counts of the open
 * windows of that component's messages are written too, so that its
 * news comes in order ("connect failed ... (N more ...)" before
 * "connected"); those windows go on. `except` is left alone. */
static void
limit_sweep(long long now, const char *msg, size_t cl,
    const struct limit_slot *except)
{
	for (int i = 0; i < LIMIT_SLOTS; i++) {
		struct limit_slot *s = &slots[i];
		if (!s->used || s == except)
			continue;
		long long age = now - s->start;
		if (age >= limit_window_ms || age < 0) {
			int counted = s->count > 0;
			slot_report(s, now, counted);
			s->start = now;
		} else if (s->count && same_component(s, msg, cl)) {
			slot_report(s, now, 1);
		}
	}
}

/* Whether this warn/error line is a repeat to suppress. Otherwise it is
 * written, with *count (the repeats of its last window, if it closes
 * one) in its suffix; *span is that window's age. */
static int
limit_check(enum bs_log_level lvl, const char *msg, size_t n, long long now,
    unsigned long *count, long long *span)
{
	*count = 0;
	*span = 0;
	uint64_t h = hash_msg(lvl, msg, n);
	size_t keep = n < LIMIT_TEXT - 1 ? n : LIMIT_TEXT - 1;
	struct limit_slot *s = NULL, *oldest = NULL, *free_slot = NULL;
	for (int i = 0; i < LIMIT_SLOTS; i++) {
		struct limit_slot *t = &slots[i];
		if (!t->used) {
			if (!free_slot)
				free_slot = t;
			continue;
		}
		if (t->hash == h && t->lvl == lvl && t->len == n &&
		    memcmp(t->text, msg, keep) == 0) {
			s = t;
			break;
		}
		if (!oldest || t->start < oldest->start)
			oldest = t;
	}
	if (s) {
		long long age = now - s->start;
		if (age >= 0 && age < limit_window_ms) {
			s->count++;
			return 1;
		}
		/* The window is over: this line carries its count and opens
		 * the next one. */
		*count = s->count;
		*span = age;
		s->count = 0;
		s->start = now;
		limit_sweep(now, msg, component_len(msg, n), s);
		return 0;
	}
	limit_sweep(now, msg, component_len(msg, n), NULL);
	if (!free_slot) {
		free_slot = oldest;
		slot_report(oldest, now, 0);
	}
	s = free_slot;
	s->used = 1;
	s->lvl = lvl;
	s->hash = h;
	s->len = n;
	s->start = now;
	s->count = 0;
	memcpy(s->text, msg, keep);
	s->text[keep] = '\0';
	return 0;
}

static void
limit_report_all(void)
{
	long long now = now_ms();
	for (int i = 0; i < LIMIT_SLOTS; i++)
		if (slots[i].used)
			slot_report(&slots[i], now, 0);
}

void
bs_log_set_limit_window_ms(long long ms)
{
	limit_window_ms = ms;
	memset(slots, 0, sizeof(slots));
}

void
bs_log_set_clock(long long (*fn)(void))
{
	clock_fn = fn;
	ts_sec = (time_t)-1;
	memset(slots, 0, sizeof(slots));
}

/* === The entry point ==================================================== */

void
bs_log_impl(enum bs_log_level lvl, const char *fmt, ...)
{
	char msg[MSG_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t mlen = n > 0 ? ((size_t)n > MSG_MAX ? MSG_MAX : (size_t)n) : 0;
	msg[mlen] = '\0';
	long long now = now_ms();

	char sfx[96];
	size_t slen = 0;
	unsigned long count = 0;
	if (limit_window_ms > 0) {
		if (lvl >= BS_LOG_WARN) {
			long long span;
			if (limit_check(lvl, msg, mlen, now, &count, &span))
				return;
			if (count)
				slen = suffix(sfx, sizeof(sfx), count, span);
		} else {
			limit_sweep(now, msg, lvl >= BS_LOG_INFO ?
			    component_len(msg, mlen) : 0, NULL);
		}
	}
	write_line(lvl, now, msg, mlen, sfx, slen, count, current_ctx());
}

/* === Context ============================================================ */

void
bs_log_ctx_push(const struct bs_log_ctx *ctx)
{
	if (ctx_depth < CTX_DEPTH) {
		static const struct bs_log_ctx none;
		ctx_stack[ctx_depth] = ctx ? *ctx : none;
	}
	ctx_depth++;
}

void
bs_log_ctx_pop(void)
{
	if (ctx_depth > 0)
		ctx_depth--;
}

void
bs_log_ctx_forget(void)
{
	memset(ctx_stack, 0, sizeof(ctx_stack));
}

/* === Levels and formats ================================================= */

static const char *const format_names[] = { "text", "json" };

int
bs_log_parse_format(const char *name, enum bs_log_format *out)
{
	for (int i = 0; i < 2; i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum bs_log_format)i;
			return 0;
		}
	}
	return -1;
}

const char *
bs_log_format_name(enum bs_log_format fmt)
{
	return format_names[fmt == BS_LOG_JSON];
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

const char *
bs_log_level_name(enum bs_log_level lvl)
{
	return (unsigned)lvl < 4 ? level_names[lvl] : "?";
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
bs_log_overridden(void)
{
	return override_set;
}

int
bs_log_apply(const char *level, const char *format)
{
	enum bs_log_level lvl = bs_log_threshold;
	enum bs_log_format fmt = bs_log_format;
	if (level && bs_log_parse_level(level, &lvl) != 0)
		return -1;
	if (format && bs_log_parse_format(format, &fmt) != 0)
		return -1;
	bs_log_threshold = override_set ? override_level : lvl;
	bs_log_format = fmt;
	register_exit();              /* a daemon: its last counts at exit */
	return 0;
}
