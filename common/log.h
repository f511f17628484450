/* log: level-gated, printf-checked logging to stderr.
 *
 * The level test happens before the arguments are evaluated (Redis'
 * serverLog). Text lines are "2026-11-25T10:00:00.123Z level component:
 * message", followed by " key=value" for each context field (below) whose
 * value the message does not already show. JSON lines (log_format: json)
 * are one object per line: "time", "level", "component" (the leading
 * "word: " of the message, when it has one), "msg", then the context
 * fields that are set ("delivery", "event", "repository", "job",
 * "target") and "suppressed" on a rate limiter's count line. Every byte is
 * escaped so that any line is valid JSON (invalid UTF-8 as U+FFFD).
 *
 * Repeats: a warn or error line with the same level and text as one
 * written less than 10 s ago is not written but counted. The first
 * occurrence is always written; the count comes out as "<message> (N more
 * like this suppressed in the last Ts)" with the first line after the
 * window (a repeat then, or the count line itself, opens the next window:
 * one line per window however long it goes on), or before a line of the
 * same component at info or above (the "redis: connected" after the
 * "redis: connect ... failed"), and at exit after bs_log_apply or with a
 * flusher. Debug and info lines are never suppressed.
 *
 * The threshold is warn until bs_log_apply: the CLI tools print only
 * their results and real problems; the daemons apply the config's
 * log_level (default info) at start and on every reload.
 *
 * Never log secrets or signatures; pass payload bytes through
 * bs_log_escape() first, which escapes and truncates them. */
#ifndef BS_LOG_H
#define BS_LOG_H

#include <stddef.h>

enum bs_log_level { BS_LOG_DEBUG = 0, BS_LOG_INFO, BS_LOG_WARN, BS_LOG_ERROR };

extern enum bs_log_level bs_log_threshold;

void bs_log_impl(enum bs_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Buffered lines: with a flusher set, debug and info lines of this thread
 * collect in a buffer and flusher(arg) is called once when it goes
 * non-empty; it must arrange a bs_log_flush() soon (the server: an event
 * made active, so the flush runs at the end of the loop pass). Warn and
 * error lines flush at once (with the lines before them), so does a
 * buffer over 8 KB, and so does exit. NULL goes back to one write per
 * line (flushing first). Lines are always written whole. */
void bs_log_set_flusher(void (*flusher)(void *arg), void *arg);
/* Writes the buffered lines, if any, in one write. */
void bs_log_flush(void);

/* Parses "debug|info|warn|error"; returns -1 on an unknown name. */
int bs_log_parse_level(const char *name, enum bs_log_level *out);
/* "debug", "info", "warn", "error". */
const char *bs_log_level_name(enum bs_log_level lvl);

enum bs_log_format { BS_LOG_TEXT = 0, BS_LOG_JSON };
extern enum bs_log_format bs_log_format;
/* Parses "text|json"; returns -1 on an unknown name. */
int bs_log_parse_format(const char *name, enum bs_log_format *out);
/* "text" or "json". */
const char *bs_log_format_name(enum bs_log_format fmt);

/* -v/-q (issue 14): lvl wins over the config's log_level from now on,
 * also after a SIGHUP reload; applied at once. */
void bs_log_set_override(enum bs_log_level lvl);
/* Applies the config's log_level ("debug".."error") and log_format
 * ("text"|"json"), the override winning over the level. Called at start
 * and on every reload. Returns 0, or -1 for an unknown name (then nothing
 * changes). */
int bs_log_apply(const char *level, const char *format);

/* Whether -v/-q (bs_log_set_override) is in force. */
int bs_log_overridden(void);

/* The context of the lines being logged: what delivery, job and target
 * they are about. Each field is a NUL-terminated string or NULL (not
 * shown); the strings are the caller's and are only read while a line is
 * written. Per thread: a small stack, so that a callback can set its own
 * around its work and restore the one it interrupted:
 *
 *     bs_log_ctx_push(&(struct bs_log_ctx){ .job = run->id });
 *     ...                       (lines logged here carry job=...)
 *     bs_log_ctx_pop();
 *
 * Push copies the five pointers (no allocation); a push replaces the
 * context, it does not merge with the one below. Code about to free the
 * strings a context may point to calls bs_log_ctx_forget(): every level of
 * the stack is emptied (the pops still match). Deeper than 8 pushes, the
 * lines carry no context until the stack is back within 8. */
struct bs_log_ctx {
	const char *delivery;       /* X-Request-UUID (Cloud) / X-Request-Id (DC) */
	const char *event;          /* X-Event-Key */
	const char *repository;     /* "ws/repo" or "PROJECT/slug" */
	const char *job;            /* the job's stream id */
	const char *target;         /* "org/deployment/environment" */
};
void bs_log_ctx_push(const struct bs_log_ctx *ctx);
void bs_log_ctx_pop(void);
void bs_log_ctx_forget(void);

/* For tests: the repeat window in ms (0: no rate limiting; default
 * 10000), and the clock of the lines and of the window (NULL: the real
 * one; fn returns unix ms). Both forget the repeats counted so far. */
void bs_log_set_limit_window_ms(long long ms);
void bs_log_set_clock(long long (*fn)(void));

/* Writes at most outlen-1 bytes of a printable, escaped rendering of
 * buf[0..len) into out (non-ASCII and control bytes as \xNN, cut with "..."
 * after `max` input bytes). Returns out. */
char *bs_log_escape(char *out, size_t outlen, const char *buf, size_t len,
    size_t max);

#define BS_LOG(lvl, ...) do { \
	if ((lvl) < bs_log_threshold) break; \
	bs_log_impl((lvl), __VA_ARGS__); \
} while (0)
#define log_debug(...) BS_LOG(BS_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  BS_LOG(BS_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  BS_LOG(BS_LOG_WARN, __VA_ARGS__)
#define log_error(...) BS_LOG(BS_LOG_ERROR, __VA_ARGS__)

#endif
