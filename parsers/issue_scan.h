/* issue_scan: finds issue keys (JIRA-12, #45, custom) in text with pcre2.
 *
 * Patterns are compiled once (JIT when available) with match and depth
 * limits, every subject is capped in length and every scan has a clock
 * budget (per text and per job), so a hostile commit message, or a custom
 * pattern that stays just under the match limit at every offset, costs
 * bounded time. Built-in patterns:
 *   jira       [A-Z][A-Z0-9_]+-[1-9][0-9]*, not inside a longer word
 *              (so "xABC-1", "ABC-12x", "UTF-8a" do not match; "ABC-0" never)
 *   bitbucket  #[1-9][0-9]* (off by default: merge commits use #N for PRs)
 * A custom pattern is any pcre2 regex with a named group `key` (or, without
 * it, the whole match).
 *
 * Which keys are kept (bs_scanner_verdict):
 *   - with a projects allow-list, a key whose part before '-' is listed is
 *     kept, always: explicit beats the stop-list; any other key with a '-'
 *     is dropped (not in projects);
 *   - otherwise (no allow-list, or a key without '-' such as "#12") a key
 *     on the stop-list (stop_list.h: a whole key like "UTF-8" or a project
 *     like "RFC", ASCII case-insensitive) is dropped (stopped);
 *   - every other key is kept.
 * The stop-list is the built-in one (bs_stop_list_builtin) when
 * stop_list_builtin is set, else stop_list[0..n_stop_list), possibly
 * empty: none. The config maps issues.stop_list absent -> built-in,
 * issues.stop_list: [] -> none, a list -> that list (config/live.c). */
#ifndef BS_ISSUE_SCAN_H
#define BS_ISSUE_SCAN_H

#include <stddef.h>

#include "common/job.h"

struct bs_scanner;

struct bs_scan_options {
	const char *const *patterns;  /* "jira", "bitbucket" or a regex */
	size_t n_patterns;            /* 0 means {"jira"} */
	const char *const *projects;  /* allow-list, or NULL/0 for all */
	size_t n_projects;
	const char *const *stop_list; /* used when !stop_list_builtin */
	size_t n_stop_list;
	int stop_list_builtin;        /* nonzero: the built-in stop-list */
	size_t max_subject;           /* bytes scanned per text (default 65536) */
	unsigned match_limit;         /* pcre2 match limit (default 100000) */
	unsigned depth_limit;         /* pcre2 depth limit (default 1000) */
	unsigned time_limit_ms;       /* work per text (default 250) */
	unsigned job_time_limit_ms;   /* work per bs_scanner_scan_job (default 2000) */
};

/* Compiles the patterns. Returns NULL and writes "pattern N: <pcre2
 * message> at offset K" into err on a bad pattern. */
struct bs_scanner *bs_scanner_new(const struct bs_scan_options *opt,
    char *err, size_t errlen);
void bs_scanner_free(struct bs_scanner *s);

/* Called once per key found, in subject order. `pattern` indexes the
 * options' patterns; [start, start+len) is the key's place in the subject. */
typedef void bs_scan_cb(const char *key, size_t len, size_t pattern,
    size_t start, void *arg);

/* Scans text[0..len) and returns the number of keys reported, or -1 when a
 * pcre2 limit or the time budget was hit (keys found before that were
 * still reported). */
int bs_scanner_scan(const struct bs_scanner *s, const char *text, size_t len,
    bs_scan_cb *cb, void *arg);

/* Scans everything of job->ev that can name an issue: commit messages,
 * pushed branch names, PR title, description and source branch; adds each
 * key with where it was found (bs_job_add_key). Returns the number of
 * distinct keys in the job afterwards. All texts of the job share
 * job_time_limit_ms; once it is spent the remaining texts are skipped. */
size_t bs_scanner_scan_job(const struct bs_scanner *s, struct bs_job *job);

/* At most this many (key, where) entries are added to one job by
 * bs_scanner_scan_job; later ones are dropped (a cap on input-driven size:
 * the job's memory). */
#define BS_SCAN_MAX_JOB_KEYS 4096

/* For `bitsleuth scan --explain`: like bs_scanner_scan, but every hit is
 * reported, also those the projects allow-list or the stop-list drops
 * (allowed = 0 then; bs_scanner_verdict says which), with the name of the
 * pattern that found it ("jira", "bitbucket" or the regex as configured)
 * and its byte offset. Returns the number of allowed keys, or -1 when a
 * pcre2 limit was hit. */
typedef void bs_scan_explain_cb(const char *pattern_name, const char *key,
    size_t len, size_t start, int allowed, void *arg);
int bs_scanner_explain(const struct bs_scanner *s, const char *text,
    size_t len, bs_scan_explain_cb *cb, void *arg);

/* What the scanner does with key[0..len) (see the top comment): kept,
 * dropped as not in the projects allow-list, or dropped by the stop-list. */
enum bs_scan_verdict {
	BS_SCAN_KEPT = 0,
	BS_SCAN_NOT_IN_PROJECTS,
	BS_SCAN_STOPPED,
};
enum bs_scan_verdict bs_scanner_verdict(const struct bs_scanner *s,
    const char *key, size_t len);

/* The stop-list in force (owned by the scanner; the built-in table when
 * so configured) and its length in *n. */
const char *const *bs_scanner_stop_list(const struct bs_scanner *s,
    size_t *n);

/* Number of compiled patterns and the name of pattern i (NULL when out of
 * range); the name is owned by the scanner. */
size_t bs_scanner_n_patterns(const struct bs_scanner *s);
const char *bs_scanner_pattern_name(const struct bs_scanner *s, size_t i);

#endif
