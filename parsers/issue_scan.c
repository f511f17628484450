/* issue_scan: see issue_scan.h.
 *
 * Every pattern (built-in or custom) is one pcre2 code compiled with
 * PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, so a subject with broken UTF-8 is
 * matched safely instead of being refused, and JIT-compiled when the
 * platform allows it (the interpreter is the fallback). One match context
 * carries the match/depth limits and a bounded JIT stack. A scan runs each
 * pattern over the (capped) subject, collects the hits, sorts them by
 * offset (then pattern index) and reports them, so keys come out in
 * subject order. Empty matches advance by one character, never loop.
 *
 * Boundaries of the built-in jira pattern (documented choice):
 *   - before the key: not a letter, digit, '_' or '-' ("xABC-1", "-ABC-1")
 *   - after the key: not a letter, digit or '_'; a '-' IS allowed, so the
 *     branch "feature/SHOP-12-login" and "ABC-12-x" yield SHOP-12 / ABC-12
 *   - '/' is a boundary: https://x.atlassian.net/browse/ABC-12 yields ABC-12
 *   - "UTF-8" has the jira shape and matches: the projects allow-list, or
 *     without one the stop-list (stop_list.h), is what keeps such words
 *     out.
 * When a subject is longer than max_subject it is cut at a UTF-8 boundary
 * and a key touching the cut is dropped (it may be a truncated number).
 *
 * The match limit bounds one pcre2_match call, not a scan: a custom
 * pattern can stay just under it at every offset ("(?:(a|a)+b)?" over
 * runs of 15 'a's costs ~2^15 steps per offset, a second per 64 KiB under
 * ASan), and a job holds up to max_changes * max_commits messages. So a
 * scan also has a monotonic-clock budget, checked between pcre2_match
 * calls (each bounded by the match limit, so the overshoot is one call):
 * time_limit_ms per text, job_time_limit_ms for all texts of one job.
 * Running out is reported like a match limit (-1), keeping the keys found
 * so far. */
#include "parsers/issue_scan.h"
#include "parsers/stop_list.h"
#include "common/xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SCAN_DEFAULT_SUBJECT 65536
#define SCAN_DEFAULT_MATCH 100000
#define SCAN_DEFAULT_DEPTH 1000
#define SCAN_MAX_PATTERNS 64
#define SCAN_MAX_PROJECTS 4096
#define SCAN_MAX_STOPS 4096
#define SCAN_JIT_STACK_MAX (512 * 1024)
#define SCAN_DEFAULT_TIME_MS 250
#define SCAN_DEFAULT_JOB_TIME_MS 2000

static const char jira_re[] =
    "(?<![A-Za-z0-9_\\-])(?<key>[A-Z][A-Z0-9_]+-[1-9][0-9]*)(?![A-Za-z0-9_])";
static const char bitbucket_re[] =
    "(?<![A-Za-z0-9_&])(?<key>#[1-9][0-9]*)(?![A-Za-z0-9_])";

struct scan_pattern {
	char *name;             /* "jira", "bitbucket" or the regex */
	pcre2_code *code;
	uint32_t group;         /* capture group of the key, 0 = whole match */
};

struct bs_scanner {
	struct scan_pattern *pats;
	size_t n_pats;
	char **projects;
	size_t n_projects;
	const char *const *stops;       /* the built-in table or owned_stops */
	size_t n_stops;
	char **owned_stops;             /* copies of a configured list */
	size_t max_subject;
	uint64_t time_ns, job_time_ns;   /* budgets, see the top comment */
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	pcre2_match_data *md;   /* shared: the scanner is used from one thread */
};

struct hit {
	size_t start, len;
	size_t pattern;
};

struct hits {
	struct hit *v;
	size_t n, cap;
};

void
bs_scanner_free(struct bs_scanner *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_pats; i++) {
		pcre2_code_free(s->pats[i].code);
		free(s->pats[i].name);
	}
	free(s->pats);
	for (size_t i = 0; i < s->n_projects; i++)
		free(s->projects[i]);
	free(s->projects);
	for (size_t i = 0; s->owned_stops && i < s->n_stops; i++)
		free(s->owned_stops[i]);
	free(s->owned_stops);
	pcre2_match_data_free(s->md);
	pcre2_jit_stack_free(s->jstack);
	pcre2_match_context_free(s->mctx);
	free(s);
}

static int
compile_one(struct scan_pattern *p, size_t idx, const char *src, char *err,
    size_t errlen)
{
	const char *re = src;
	if (strcmp(src, "jira") == 0)
		re = jira_re;
	else if (strcmp(src, "bitbucket") == 0)
		re = bitbucket_re;
	p->name = xstrdup(src);

	int ec = 0;
	PCRE2_SIZE eoff = 0;
	p->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eoff, NULL);
	if (!p->code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", ec);
		snprintf(err, errlen, "pattern %zu: %s at offset %zu", idx,
		    (const char *)msg, (size_t)eoff);
		return -1;
	}
	uint32_t namecount = 0;
	pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &namecount);
	if (namecount > 0) {
		int g = pcre2_substring_number_from_name(p->code,
		    (PCRE2_SPTR)"key");
		if (g <= 0) {
			snprintf(err, errlen, "pattern %zu: has named groups but "
			    "none named 'key' at offset 0", idx);
			return -1;
		}
		p->group = (uint32_t)g;
	}
	/* JIT is an optimisation: on failure (no JIT support, exec memory
	 * refused) pcre2_match falls back to the interpreter by itself. */
	(void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
	return 0;
}

struct bs_scanner *
bs_scanner_new(const struct bs_scan_options *opt, char *err, size_t errlen)
{
	static const char *const def[] = { "jira" };
	const char *const *pats = def;
	size_t npats = 1;
	if (errlen)
		err[0] = '\0';
	if (opt && opt->n_patterns > 0) {
		pats = opt->patterns;
		npats = opt->n_patterns;
	}
	if (npats > SCAN_MAX_PATTERNS) {
		snprintf(err, errlen, "too many patterns (%zu, at most %d)", npats,
		    SCAN_MAX_PATTERNS);
		return NULL;
	}
	if (opt && opt->n_projects > SCAN_MAX_PROJECTS) {
		snprintf(err, errlen, "too many projects (%zu, at most %d)",
		    opt->n_projects, SCAN_MAX_PROJECTS);
		return NULL;
	}
	if (opt && !opt->stop_list_builtin && opt->n_stop_list > SCAN_MAX_STOPS) {
		snprintf(err, errlen, "too many stop-list entries (%zu, at most %d)",
		    opt->n_stop_list, SCAN_MAX_STOPS);
		return NULL;
	}

	struct bs_scanner *s = xcalloc(1, sizeof(*s));
	s->max_subject = opt && opt->max_subject ? opt->max_subject :
	    SCAN_DEFAULT_SUBJECT;
	s->time_ns = (uint64_t)(opt && opt->time_limit_ms ? opt->time_limit_ms :
	    SCAN_DEFAULT_TIME_MS) * 1000000u;
	s->job_time_ns = (uint64_t)(opt && opt->job_time_limit_ms ?
	    opt->job_time_limit_ms : SCAN_DEFAULT_JOB_TIME_MS) * 1000000u;
	s->pats = xcalloc(npats, sizeof(*s->pats));
	for (size_t i = 0; i < npats; i++) {
		s->n_pats = i + 1;
		if (!pats[i]) {
			snprintf(err, errlen, "pattern %zu: missing at offset 0", i);
			bs_scanner_free(s);
			return NULL;
		}
		if (compile_one(&s->pats[i], i, pats[i], err, errlen) != 0) {
			bs_scanner_free(s);
			return NULL;
		}
	}
	if (opt && opt->n_projects > 0 && opt->projects) {
		s->projects = xcalloc(opt->n_projects, sizeof(*s->projects));
		for (size_t i = 0; i < opt->n_projects; i++)
			if (opt->projects[i])
				s->projects[s->n_projects++] = xstrdup(opt->projects[i]);
	}
	if (opt && opt->stop_list_builtin) {
		s->stops = bs_stop_list_builtin(&s->n_stops);
	} else if (opt && opt->n_stop_list > 0 && opt->stop_list) {
		s->owned_stops = xcalloc(opt->n_stop_list, sizeof(char *));
		for (size_t i = 0; i < opt->n_stop_list; i++)
			if (opt->stop_list[i])
				s->owned_stops[s->n_stops++] =
				    xstrdup(opt->stop_list[i]);
		s->stops = (const char *const *)s->owned_stops;
	}

	s->mctx = pcre2_match_context_create(NULL);
	s->md = pcre2_match_data_create(32, NULL);
	if (!s->mctx || !s->md) {
		snprintf(err, errlen, "out of memory for pcre2 match data");
		bs_scanner_free(s);
		return NULL;
	}
	pcre2_set_match_limit(s->mctx, opt && opt->match_limit ?
	    opt->match_limit : SCAN_DEFAULT_MATCH);
	pcre2_set_depth_limit(s->mctx, opt && opt->depth_limit ?
	    opt->depth_limit : SCAN_DEFAULT_DEPTH);
	s->jstack = pcre2_jit_stack_create(32 * 1024, SCAN_JIT_STACK_MAX, NULL);
	if (s->jstack)
		pcre2_jit_stack_assign(s->mctx, NULL, s->jstack);
	return s;
}

enum bs_scan_verdict
bs_scanner_verdict(const struct bs_scanner *s, const char *key, size_t len)
{
	if (!s)
		return BS_SCAN_KEPT;
	const char *dash = memchr(key, '-', len);
	if (s->n_projects > 0 && dash) {
		size_t plen = (size_t)(dash - key);
		for (size_t i = 0; i < s->n_projects; i++)
			if (strlen(s->projects[i]) == plen &&
			    strncasecmp(s->projects[i], key, plen) == 0)
				return BS_SCAN_KEPT;   /* explicit beats the stop-list */
		return BS_SCAN_NOT_IN_PROJECTS;
	}
	if (bs_stop_list_match(s->stops, s->n_stops, key, len))
		return BS_SCAN_STOPPED;
	return BS_SCAN_KEPT;
}

const char *const *
bs_scanner_stop_list(const struct bs_scanner *s, size_t *n)
{
	if (n)
		*n = s ? s->n_stops : 0;
	return s ? s->stops : NULL;
}

/* Length of text cut to at most max bytes without splitting a UTF-8
 * sequence (continuation bytes are 10xxxxxx). */
static size_t
utf8_cut(const char *text, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	for (int back = 0; back < 4 && n > 0 &&
	    ((unsigned char)text[n] & 0xC0) == 0x80; back++)
		n--;
	return n;
}

static void
hits_push(struct hits *h, size_t start, size_t len, size_t pattern)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	h->v[h->n].start = start;
	h->v[h->n].len = len;
	h->v[h->n].pattern = pattern;
	h->n++;
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->pattern != y->pattern)
		return x->pattern < y->pattern ? -1 : 1;
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs pattern p over subject[0..n) and appends its hits. Returns 0, or -1
 * when pcre2 gave up (limit), failed, or the clock passed `deadline`. */
static int
run_pattern(const struct bs_scanner *s, size_t pi, const char *subject,
    size_t n, bool cut, struct hits *h, uint64_t deadline)
{
	const struct scan_pattern *p = &s->pats[pi];
	size_t off = 0;
	while (off <= n) {
		if (now_ns() > deadline)
			return -1;
		int rc = pcre2_match(p->code, (PCRE2_SPTR)subject, n, off, 0,
		    s->md, s->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc < 0)
			return -1;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
		size_t mstart = ov[0], mend = ov[1];
		uint32_t g = p->group;
		if (g < (uint32_t)rc && ov[2 * g] != PCRE2_UNSET &&
		    ov[2 * g + 1] > ov[2 * g]) {
			size_t ks = ov[2 * g], ke = ov[2 * g + 1];
			if (!(cut && ke == n))
				hits_push(h, ks, ke - ks, pi);
		}
		if (mend > mstart && mend > off) {
			off = mend;
			continue;
		}
		/* Empty match (or one ending before off via \K): move on by one
		 * character. */
		off = (mend > off ? mend : off) + 1;
		while (off < n && ((unsigned char)subject[off] & 0xC0) == 0x80)
			off++;
	}
	return 0;
}

/* The shared scan: every hit in subject order; dropped keys (projects,
 * stop-list) are reported only with explain set (allowed = false then). */
typedef void scan_sink(const struct hit *hit, bool allowed, void *arg);

static int
scan_core(const struct bs_scanner *s, const char *text, size_t len,
    bool all, scan_sink *sink, void *arg, uint64_t job_deadline)
{
	if (!s || (!text && len))
		return 0;
	if (!text)
		text = "";
	size_t n = utf8_cut(text, len, s->max_subject);
	bool cut = n < len;
	struct hits h = { 0 };
	int limited = 0;
	uint64_t deadline = now_ns() + s->time_ns;
	if (deadline > job_deadline)
		deadline = job_deadline;
	for (size_t i = 0; i < s->n_pats; i++)
		if (run_pattern(s, i, text, n, cut, &h, deadline) != 0)
			limited = 1;
	if (h.n > 1)
		qsort(h.v, h.n, sizeof(*h.v), hit_cmp);
	int count = 0;
	for (size_t i = 0; i < h.n; i++) {
		bool ok = bs_scanner_verdict(s, text + h.v[i].start,
		    h.v[i].len) == BS_SCAN_KEPT;
		if (!ok && !all)
			continue;
		sink(&h.v[i], ok, arg);
		if (ok && count < INT32_MAX)
			count++;
	}
	free(h.v);
	return limited ? -1 : count;
}

struct scan_fwd {
	const char *text;
	bs_scan_cb *cb;
	bs_scan_explain_cb *ecb;
	const struct bs_scanner *s;
	void *arg;
};

static void
sink_plain(const struct hit *hit, bool allowed, void *arg)
{
	struct scan_fwd *f = arg;
	(void)allowed;
	if (f->cb)
		f->cb(f->text + hit->start, hit->len, hit->pattern, hit->start,
		    f->arg);
}

int
bs_scanner_scan(const struct bs_scanner *s, const char *text, size_t len,
    bs_scan_cb *cb, void *arg)
{
	struct scan_fwd f = { .text = text, .cb = cb, .s = s, .arg = arg };
	return scan_core(s, text, len, false, sink_plain, &f, UINT64_MAX);
}

static void
sink_explain(const struct hit *hit, bool allowed, void *arg)
{
	struct scan_fwd *f = arg;
	if (f->ecb)
		f->ecb(f->s->pats[hit->pattern].name, f->text + hit->start,
		    hit->len, hit->start, allowed ? 1 : 0, f->arg);
}

int
bs_scanner_explain(const struct bs_scanner *s, const char *text, size_t len,
    bs_scan_explain_cb *cb, void *arg)
{
	struct scan_fwd f = { .text = text, .ecb = cb, .s = s, .arg = arg };
	return scan_core(s, text, len, true, sink_explain, &f, UINT64_MAX);
}

size_t
bs_scanner_n_patterns(const struct bs_scanner *s)
{
	return s ? s->n_pats : 0;
}

const char *
bs_scanner_pattern_name(const struct bs_scanner *s, size_t i)
{
	return s && i < s->n_pats ? s->pats[i].name : NULL;
}

struct job_fwd {
	struct bs_job *job;
	uint64_t deadline;   /* of the whole job */
	enum bs_key_where where;
	uint32_t change, commit;
};

static void
job_add(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	struct job_fwd *f = arg;
	(void)pattern;
	(void)start;
	if (f->job->n_keys >= BS_SCAN_MAX_JOB_KEYS)
		return;
	bs_job_add_key(f->job, key, len, f->where, f->change, f->commit);
}

static void
scan_str(const struct bs_scanner *s, const char *str, struct job_fwd *f)
{
	if (str && f->job->n_keys < BS_SCAN_MAX_JOB_KEYS) {
		struct scan_fwd w = { .text = str, .cb = job_add, .s = s,
		    .arg = f };
		(void)scan_core(s, str, strlen(str), false, sink_plain, &w,
		    f->deadline);
	}
}

size_t
bs_scanner_scan_job(const struct bs_scanner *s, struct bs_job *job)
{
	struct job_fwd f = { .job = job };
	f.deadline = now_ns() + (s ? s->job_time_ns : 0);
	const struct bs_event *ev = &job->ev;
	for (size_t i = 0; i < ev->n_changes && i < UINT32_MAX; i++) {
		const struct bs_change *c = &ev->changes[i];
		f.change = (uint32_t)i;
		f.where = BS_KEY_COMMIT;
		for (size_t j = 0; j < c->n_commits && j < UINT32_MAX; j++) {
			f.commit = (uint32_t)j;
			scan_str(s, c->commits[j].message, &f);
		}
		if (c->ref_type == BS_REF_BRANCH) {
			f.where = BS_KEY_BRANCH;
			f.commit = 0;
			scan_str(s, c->ref_name, &f);
		}
	}
	if (ev->pr) {
		f.change = 0;
		f.commit = 0;
		f.where = BS_KEY_PR_TITLE;
		scan_str(s, ev->pr->title, &f);
		f.where = BS_KEY_PR_DESCRIPTION;
		scan_str(s, ev->pr->description, &f);
		f.where = BS_KEY_PR_BRANCH;
		scan_str(s, ev->pr->source.branch, &f);
	}
	/* Distinct key strings (the job's hash set, common/job.h). */
	const char **distinct;
	return bs_job_distinct_keys(job, &distinct);
}
