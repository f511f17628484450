/* commit_plan: see commit_plan.h. */
#include "deploy/commit_plan.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

bool
bs_same_commit(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	size_t la = strlen(a), lb = strlen(b);
	if (la == lb)
		return strcasecmp(a, b) == 0;
	size_t n = la < lb ? la : lb;
	return n >= 7 && strncasecmp(a, b, n) == 0;
}

static bool
listed(const struct bs_change *ch, const char *hash)
{
	for (size_t i = 0; i < ch->n_commits; i++)
		if (ch->commits[i].hash && strcasecmp(ch->commits[i].hash, hash) == 0)
			return true;
	return false;
}

/* The list is exactly old..new: first commit the head, old not listed,
 * every parent listed or old, and at least one commit has old as parent. */
static bool
exact_list(const struct bs_change *ch, const char *sha)
{
	if (ch->n_commits == 0 || !ch->commits[0].hash ||
	    strcasecmp(ch->commits[0].hash, sha) != 0 || listed(ch, ch->old_hash))
		return false;
	bool reaches_old = false;
	for (size_t i = 0; i < ch->n_commits; i++) {
		const struct bs_commit *c = &ch->commits[i];
		if (!c->hash || c->n_parents == 0)
			return false;   /* a root commit: not above old */
		for (size_t j = 0; j < c->n_parents; j++) {
			const char *p = c->parents[j];
			if (!p)
				return false;
			if (strcasecmp(p, ch->old_hash) == 0)
				reaches_old = true;
			else if (!listed(ch, p))
				return false;
		}
	}
	return reaches_old;
}

void
bs_commit_plan(const struct bs_change *ch, const char *sha, const char *last,
    struct bs_commit_plan *out)
{
	memset(out, 0, sizeof(*out));
	if (last && !*last)
		last = NULL;
	if (!sha || !*sha) {
		out->why = "nothing to register";
		return;
	}
	if (last && bs_same_commit(sha, last)) {
		out->source = BS_COMMITS_SAME;
		out->why = "this sha is the target's last registered one";
		return;
	}
	out->include = sha;
	bool branch = ch && ch->ref_type == BS_REF_BRANCH;
	if (last) {
		if (branch && ch->old_hash && !ch->created && !ch->forced &&
		    !ch->truncated && strcasecmp(ch->old_hash, last) == 0 &&
		    exact_list(ch, sha)) {
			out->source = BS_COMMITS_PAYLOAD;
			out->include = NULL;
			out->why = "the payload lists exactly the new commits";
			return;
		}
		out->source = BS_COMMITS_FETCH;
		out->exclude = last;
		out->why = "commits since the target's last registered sha";
		return;
	}
	if (branch && ch->old_hash && !ch->created) {
		out->source = BS_COMMITS_FETCH;
		out->exclude = ch->old_hash;
		out->why = "first deploy of the target: the commits of this push";
		return;
	}
	if (branch && ch->created) {
		out->source = BS_COMMITS_FETCH;
		out->exclude_main = true;
		out->why = "first deploy of the target, a new branch: commits not "
		    "on the main branch";
		return;
	}
	out->source = BS_COMMITS_OMIT;
	out->include = NULL;
	out->why = "first deploy of the target: Sleuth computes its own diff";
}
