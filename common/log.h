/* log: level-gated, printf-checked logging to stderr.
 *
 * The level test happens before the arguments are evaluated (Redis'
 * serverLog). Lines are "2026-11-25T10:00:00.123Z level component: message".
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

enum bs_log_format { BS_LOG_TEXT = 0, BS_LOG_JSON };
extern enum bs_log_format bs_log_format;

/* -v/-q (issue 14): lvl wins over the config's log_level from now on,
 * also after a SIGHUP reload; applied at once. */
void bs_log_set_override(enum bs_log_level lvl);
/* Applies the config's log_level ("debug".."error") and log_format
 * ("text"|"json"), the override winning over the level. Called at start
 * and on every reload. Returns 0, or -1 for an unknown name (then nothing
 * changes). */
int bs_log_apply(const char *level, const char *format);

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
