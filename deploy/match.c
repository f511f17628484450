/* match: which configured Sleuth code deployments a job hits.
 *
 * Pure code over the normalised event: no I/O, no allocation. A push job
 * yields one target per (change, deployment) pair: branch changes for
 * track PUSH deployments (deletions never deploy, creations do), tag
 * changes for track TAG ones. A PR job yields targets only when the PR was
 * merged, for track MERGE deployments whose branches hold the destination.
 * Repositories compare case-insensitively, branch names exactly (or by
 * glob when the configured entry holds *, ? or [).
 *
 * bs_glob_match is the classic iterative two-pointer star algorithm: on a
 * mismatch it resumes after the last '*' one byte further along the input,
 * so the work is O(len(pattern) * len(s)) at worst, never exponential.
 * Patterns work on bytes ('?' is one byte), like fnmatch in the C locale. */
#include "deploy/match.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* Matches the bracket expression at pat (pat[0] == '['), against byte c.
 * Returns the pattern position after the closing ']' with *ok set, or NULL
 * when the expression is not closed (then '[' is a literal). */
static const char *
match_class(const char *pat, unsigned char c, bool *ok)
{
	const char *p = pat + 1;
	bool negate = false, found = false;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	bool first = true;
	while (*p && (first || *p != ']')) {
		first = false;
		unsigned char lo = (unsigned char)*p;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		unsigned char hi = lo;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p;
			if (hi == '\\' && p[1])
				hi = (unsigned char)*++p;
			p++;
		}
		if (lo <= c && c <= hi)
			found = true;
	}
	if (*p != ']')
		return NULL;
	*ok = found != negate;
	return p + 1;
}

/* Matches one non-star pattern token at *pp against byte c; on success
 * advances *pp past the token. */
static bool
match_one(const char **pp, unsigned char c)
{
	const char *p = *pp;
	switch (*p) {
	case '?':
		*pp = p + 1;
		return true;
	case '[': {
		bool ok = false;
		const char *next = match_class(p, c, &ok);
		if (next) {
			if (ok)
				*pp = next;
			return ok;
		}
		break;  /* unclosed: a literal '[' */
	}
	case '\\':
		if (p[1]) {
			if ((unsigned char)p[1] != c)
				return false;
			*pp = p + 2;
			return true;
		}
		break;  /* trailing backslash: a literal */
	default:
		break;
	}
	if ((unsigned char)*p != c)
		return false;
	*pp = p + 1;
	return true;
}

bool
bs_glob_match(const char *pattern, const char *s)
{
	const char *p = pattern;
	const char *star_p = NULL, *star_s = NULL;

	if (!pattern || !s)
		return false;
	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p && match_one(&p, (unsigned char)*s)) {
			s++;
			continue;
		}
		if (!star_p)
			return false;
		/* Backtrack: the last '*' swallows one more byte. */
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Whether name matches one of the deployment's branch entries; *by_glob
 * tells whether it was through a glob (then Sleuth needs the branch). */
static bool
branch_matches(const struct bs_deployment *dep, const char *name,
    bool *by_glob)
{
	if (!name)
		return false;
	for (size_t i = 0; i < dep->n_branches; i++) {
		const char *b = dep->branches[i];
		if (!b)
			continue;
		if (is_glob(b)) {
			if (bs_glob_match(b, name)) {
				*by_glob = true;
				return true;
			}
		} else if (strcmp(b, name) == 0) {
			*by_glob = false;
			return true;
		}
	}
	return false;
}

static bool
repo_matches(const struct bs_deployment *dep, const char *repo)
{
	return dep->repository && repo && strcasecmp(dep->repository, repo) == 0;
}

static void
emit(struct bs_target *out, size_t max, size_t n,
    const struct bs_deployment *deps, size_t di, size_t change,
    const char *sha, const char *branch, bool send_branch)
{
	if (n >= max)
		return;
	struct bs_target *t = &out[n];
	t->dep = &deps[di];
	t->dep_index = di;
	t->change = change;
	t->sha = sha;
	t->branch = branch;
	t->send_branch = send_branch;
}

static size_t
match_push(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_event *ev, struct bs_target *out, size_t max)
{
	size_t n = 0;
	for (size_t ci = 0; ci < ev->n_changes; ci++) {
		const struct bs_change *c = &ev->changes[ci];
		const char *sha = c->new_commit ? c->new_commit : c->new_hash;
		if (c->closed || !sha || !c->ref_name)
			continue;
		for (size_t di = 0; di < n_deps; di++) {
			const struct bs_deployment *d = &deps[di];
			if (!repo_matches(d, ev->repository))
				continue;
			bool by_glob = false;
			if (c->ref_type == BS_REF_BRANCH && d->track == BS_TRACK_PUSH &&
			    branch_matches(d, c->ref_name, &by_glob)) {
				emit(out, max, n++, deps, di, ci, sha, c->ref_name, by_glob);
			} else if (c->ref_type == BS_REF_TAG &&
			    d->track == BS_TRACK_TAG &&
			    bs_glob_match(d->tag_pattern ? d->tag_pattern : "*",
			    c->ref_name)) {
				emit(out, max, n++, deps, di, ci, sha, c->ref_name, false);
			}
		}
	}
	return n;
}

static size_t
match_pr(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_event *ev, struct bs_target *out, size_t max)
{
	const struct bs_pr *pr = ev->pr;
	size_t n = 0;

	if (!pr || pr->action != BS_PR_MERGED || !pr->merge_hash ||
	    !pr->merge_hash[0] || !pr->destination.branch)
		return 0;
	const char *repo = pr->destination.repository ?
	    pr->destination.repository : ev->repository;
	for (size_t di = 0; di < n_deps; di++) {
		const struct bs_deployment *d = &deps[di];
		bool by_glob = false;
		if (d->track != BS_TRACK_MERGE || !repo_matches(d, repo) ||
		    !branch_matches(d, pr->destination.branch, &by_glob))
			continue;
		emit(out, max, n++, deps, di, SIZE_MAX, pr->merge_hash,
		    pr->destination.branch, by_glob);
	}
	return n;
}

size_t
bs_match_job(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_job *job, struct bs_target *out, size_t max)
{
	if (!deps || !job)
		return 0;
	switch (job->ev.type) {
	case BS_EVENT_PUSH:
		return match_push(deps, n_deps, &job->ev, out, max);
	case BS_EVENT_PR:
		return match_pr(deps, n_deps, &job->ev, out, max);
	default:
		return 0;
	}
}

void
bs_target_name(const struct bs_target *t, char *out, size_t outlen)
{
	if (!outlen)
		return;
	const struct bs_deployment *d = t ? t->dep : NULL;
	if (!d) {
		out[0] = '\0';
		return;
	}
	snprintf(out, outlen, "%s/%s/%s", d->org ? d->org : "",
	    d->deployment ? d->deployment : "",
	    d->environment ? d->environment : "");
}
