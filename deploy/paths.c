/* paths: see paths.h. A prefix is first taken as a plain string prefix;
 * one with '*', '?' or '[' is then also tried as a glob, in one pass over
 * the path (struct nfa: shift-and over the pattern's tokens), noting a
 * match at each place where a run of parts ends: before a '/', after it,
 * and at the end. The work is O(len(path) * (len(prefix) / 64 + 1)) for a
 * path, whatever the pattern; cutting the path at each '/' in turn and
 * matching each cut again, as was done before, was O(len(path)^2) and
 * more (55 s for "*.md" over 5000 paths "a/a/a/..." of 4 KiB). */
#include "deploy/paths.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "deploy/match.h"

/* A glob as a shift-and NFA: state j (bit j of the words) is "tokens
 * [0, j) have taken the bytes so far"; a token is '*' (a run of them is
 * one), or a set of the bytes one path byte may be, decided by
 * bs_glob_match itself so both read the pattern alike. */
struct nfa {
	size_t n;           /* tokens; state n: the whole pattern matched */
	size_t words;       /* of 64 bits, for states 0..n */
	uint64_t *star;     /* [words]: the states that are a '*' */
	uint64_t *take;     /* [256][words]: the states whose token takes c */
};

static bool
is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* The byte after the bracket expression at p (p[0] == '['), scanned as
 * deploy/match.c's match_class does; NULL when it is not closed. */
static const char *
class_end(const char *p)
{
	const char *q = p + 1;
	if (*q == '!' || *q == '^')
		q++;
	bool first = true;
	while (*q && (first || *q != ']')) {
		first = false;
		if (*q == '\\' && q[1])
			q++;
		q++;
		if (q[0] == '-' && q[1] && q[1] != ']') {
			q++;
			if (*q == '\\' && q[1])
				q++;
			q++;
		}
	}
	return *q == ']' ? q + 1 : NULL;
}

static void
set_bit(uint64_t *w, size_t j)
{
	w[j / 64] |= (uint64_t)1 << (j % 64);
}

static void
nfa_build(struct nfa *a, const char *pat)
{
	size_t m = strlen(pat);
	a->words = m / 64 + 1;
	a->star = xcalloc(a->words, sizeof(*a->star));
	a->take = xcalloc(256 * a->words, sizeof(*a->take));
	size_t n = 0;
	const char *p = pat;
	while (*p) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			set_bit(a->star, n++);
			continue;
		}
		const char *end = p + 1;
		if (*p == '[' && class_end(p))
			end = class_end(p);
		else if (*p == '\\' && p[1])
			end = p + 2;
		char one[2] = { 0, 0 }, *tok = xstrndup(p, (size_t)(end - p));
		for (unsigned c = 1; c < 256; c++) {
			one[0] = (char)c;
			if (bs_glob_match(tok, one))
				set_bit(a->take + c * a->words, n);
		}
		free(tok);
		n++;
		p = end;
	}
	a->n = n;
}

/* Adds to s the states a '*' in s lets be skipped (a '*' takes nothing).
 * No two tokens in a row are '*', so one pass is enough. */
static void
skip_stars(const struct nfa *a, uint64_t *s)
{
	uint64_t carry = 0;
	for (size_t w = 0; w < a->words; w++) {
		uint64_t st = s[w] & a->star[w];
		s[w] |= (st << 1) | carry;
		carry = st >> 63;
	}
}

/* Whether the glob pat matches path or a leading run of its parts, with or
 * without the '/' after it. */
static bool
glob_under(const char *pat, const char *path)
{
	struct nfa a;
	nfa_build(&a, pat);
	size_t len = strlen(path), W = a.words;
	uint64_t *on = xcalloc(W, sizeof(*on));
	uint64_t final = (uint64_t)1 << (a.n % 64);
	bool hit = false;
	on[0] = 1;
	skip_stars(&a, on);
	for (size_t i = 0;; i++) {
		/* path[0..i) is a run of parts: the end, or next to a '/' */
		if ((on[a.n / 64] & final) && (i == len || path[i] == '/' ||
		    (i > 0 && path[i - 1] == '/'))) {
			hit = true;
			break;
		}
		if (i == len)
			break;
		const uint64_t *take = a.take + (unsigned char)path[i] * W;
		uint64_t carry = 0, any = 0;
		for (size_t w = 0; w < W; w++) {
			uint64_t t = on[w] & take[w];
			on[w] = (t << 1) | carry | (on[w] & a.star[w]);
			carry = t >> 63;
			any |= on[w];
		}
		if (!any)
			break;
		skip_stars(&a, on);
	}
	free(on);
	free(a.take);
	free(a.star);
	return hit;
}

bool
bs_path_under(const char *prefix, const char *path)
{
	if (!prefix || !path)
		return false;
	if (*prefix == '/')
		prefix++;
	if (*path == '/')
		path++;
	if (strncmp(path, prefix, strlen(prefix)) == 0)
		return true;
	return is_glob(prefix) && glob_under(prefix, path);
}

bool
bs_paths_none(const struct bs_path_prefix *pp)
{
	return !pp || (pp->n_includes == 0 && pp->n_excludes == 0);
}

static bool
under_any(char *const *prefixes, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (bs_path_under(prefixes[i], path))
			return true;
	return false;
}

bool
bs_paths_touched(const struct bs_path_prefix *pp, char *const *files,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!files[i])
			continue;
		if (pp && pp->n_includes &&
		    !under_any(pp->includes, pp->n_includes, files[i]))
			continue;
		if (pp && under_any(pp->excludes, pp->n_excludes, files[i]))
			continue;
		return true;
	}
	return false;
}
