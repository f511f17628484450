/* fuzz_scanner: scans arbitrary bytes with jira + bitbucket + a custom
 * pattern (and once more with an allow-list and a tiny subject cap).
 * Invariants: every reported key lies inside the subject, is non-empty,
 * is what the subject holds at that offset, comes in subject order, and
 * the return value counts the callbacks (or is -1 on a pcre2 limit). */
#include "parsers/issue_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	const char *text;
	size_t len;
	size_t last;
	size_t n;
	size_t n_patterns;
};

static void
on_key(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	struct state *s = arg;
	if (len == 0 || start > s->len || len > s->len - start)
		abort();
	if (key != s->text + start)
		abort();
	if (pattern >= s->n_patterns)
		abort();
	if (start < s->last)
		abort();
	s->last = start;
	s->n++;
}

static void
on_explain(const char *name, const char *key, size_t len, size_t start,
    int allowed, void *arg)
{
	struct state *s = arg;
	(void)allowed;
	if (!name || len == 0 || start > s->len || len > s->len - start ||
	    key != s->text + start)
		abort();
	s->n++;
}

static void
run(const struct bs_scanner *sc, size_t npat, const char *text, size_t len)
{
	struct state st = { .text = text, .len = len, .n_patterns = npat };
	int rc = bs_scanner_scan(sc, text, len, on_key, &st);
	if (rc != -1 && (rc < 0 || (size_t)rc != st.n))
		abort();
	struct state ex = { .text = text, .len = len, .n_patterns = npat };
	int rc2 = bs_scanner_explain(sc, text, len, on_explain, &ex);
	/* -1 is a limit: a pcre2 one (deterministic) or the clock budget,
	 * which one pass may hit and the other not on a loaded machine; only
	 * two complete passes must agree. */
	if (rc2 != rc && rc != -1 && rc2 != -1)
		abort();
	if (rc2 != rc)
		return;
	if (rc >= 0 && ex.n < st.n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bs_scanner *all, *small;
	static const char *const pats[] = { "jira", "bitbucket",
		"(?i)\\b(?:gh|issue)[- ]?(?<key>[0-9]{1,6})\\b" };
	if (!all) {
		char err[256];
		struct bs_scan_options o = { .patterns = pats, .n_patterns = 3 };
		all = bs_scanner_new(&o, err, sizeof(err));
		static const char *const proj[] = { "SHOP", "OPS" };
		o.projects = proj;
		o.n_projects = 2;
		o.max_subject = 64;
		o.match_limit = 1000;
		small = bs_scanner_new(&o, err, sizeof(err));
		if (!all || !small)
			abort();
	}
	/* A copy without a NUL after it, so reads past len are caught. */
	char *text = malloc(size ? size : 1);
	if (size)
		memcpy(text, data, size);
	run(all, 3, text, size);
	run(small, 3, text, size);
	free(text);
	return 0;
}
