/* dc: Bitbucket Data Center payloads -> bs_event, as tables over json_sax.
 *
 * Same scheme as cloud.c: trans[state][key] for containers (A() = must be
 * an array, "0th element only" states for links.self[0]), field[state][key]
 * for scalars, a flat slot array cleared per subtree when a key repeats
 * (last wins). Dates (top-level date, authorTimestamp, createdDate,
 * updatedDate) come as epoch milliseconds before DC 10 and as ISO strings
 * with an offset after (+0200, -0400, .000Z): both are converted to
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, see isodate.h); what does not parse as
 * either is kept as sent.
 *
 * Newer DC sends the pushed commits once, at top level (commits[], capped
 * at 5 by Bitbucket, and toCommit), not per change. They are collected on
 * the side and attached after the parse to the change whose toHash equals
 * commits[0].id (else the first change that is not a delete); that change's
 * new_commit is toCommit.id, which differs from toHash for annotated tags,
 * and its head_author / head_date are toCommit's author and
 * authorTimestamp.
 * A non-deleted change ends up truncated when it has no commit list or 5 or
 * more commits, as the list is then not known to be complete. */
#include "parsers/dc.h"

#include <stdio.h>
#include <string.h>

#include "parsers/bb_values.h"
#include "parsers/isodate.h"
#include "parsers/json_sax.h"

enum {
	K_date = 2, K_actor, K_displayName, K_emailAddress, K_name,
	K_repository, K_project, K_key, K_slug, K_links, K_self, K_href,
	K_changes, K_ref, K_displayId, K_type, K_fromHash, K_toHash,
	K_commits, K_id, K_message, K_author, K_authorTimestamp, K_parents,
	K_toCommit, K_pullRequest, K_title, K_description, K_state,
	K_fromRef, K_toRef, K_latestCommit, K_properties, K_mergeCommit,
	K_user, K_createdDate, K_updatedDate, K_refLimitExceeded, K_N
};

static const char *const keys[K_N] = {
	[K_date] = "date", [K_actor] = "actor",
	[K_displayName] = "displayName", [K_emailAddress] = "emailAddress",
	[K_name] = "name", [K_repository] = "repository",
	[K_project] = "project", [K_key] = "key", [K_slug] = "slug",
	[K_links] = "links", [K_self] = "self", [K_href] = "href",
	[K_changes] = "changes", [K_ref] = "ref", [K_displayId] = "displayId",
	[K_type] = "type", [K_fromHash] = "fromHash", [K_toHash] = "toHash",
	[K_commits] = "commits", [K_id] = "id", [K_message] = "message",
	[K_author] = "author", [K_authorTimestamp] = "authorTimestamp",
	[K_parents] = "parents", [K_toCommit] = "toCommit",
	[K_pullRequest] = "pullRequest", [K_title] = "title",
	[K_description] = "description", [K_state] = "state",
	[K_fromRef] = "fromRef", [K_toRef] = "toRef",
	[K_latestCommit] = "latestCommit", [K_properties] = "properties",
	[K_mergeCommit] = "mergeCommit", [K_user] = "user",
	[K_createdDate] = "createdDate", [K_updatedDate] = "updatedDate",
	[K_refLimitExceeded] = "refLimitExceeded",
};

enum {
	S_TOP = 1, S_ROOT, S_ACTOR, S_REPO, S_REPO_PROJECT, S_REPO_LINKS,
	S_REPO_SELF, S_REPO_SELF0, S_CHANGES, S_CHANGE, S_REF, S_COMMITS,
	S_COMMIT, S_C_AUTHOR, S_PARENTS, S_PARENT, S_TOCOMMIT, S_PR,
	S_FROM, S_FROM_REPO, S_FROM_PROJECT, S_TO, S_TO_REPO, S_TO_PROJECT,
	S_TO_LINKS, S_TO_SELF, S_TO_SELF0, S_PROPS, S_MERGE, S_PR_AUTHOR,
	S_PR_AUTHOR_USER, S_PR_LINKS, S_PR_SELF, S_PR_SELF0, S_TC_AUTHOR, S_N
};

#define A(s) ((s) | 0x80)   /* the container must be an array */

static const unsigned char trans[S_N][K_N] = {
	[S_TOP] = { [BS_JSON_KEY_ELEM] = S_ROOT },
	[S_ROOT] = { [K_actor] = S_ACTOR, [K_repository] = S_REPO,
	    [K_changes] = A(S_CHANGES), [K_commits] = A(S_COMMITS),
	    [K_toCommit] = S_TOCOMMIT, [K_pullRequest] = S_PR },
	[S_REPO] = { [K_project] = S_REPO_PROJECT, [K_links] = S_REPO_LINKS },
	[S_REPO_LINKS] = { [K_self] = A(S_REPO_SELF) },
	[S_REPO_SELF] = { [BS_JSON_KEY_ELEM] = S_REPO_SELF0 },
	[S_CHANGES] = { [BS_JSON_KEY_ELEM] = S_CHANGE },
	[S_CHANGE] = { [K_ref] = S_REF },
	[S_COMMITS] = { [BS_JSON_KEY_ELEM] = S_COMMIT },
	[S_COMMIT] = { [K_author] = S_C_AUTHOR, [K_parents] = A(S_PARENTS) },
	[S_PARENTS] = { [BS_JSON_KEY_ELEM] = S_PARENT },
	[S_TOCOMMIT] = { [K_author] = S_TC_AUTHOR },
	[S_PR] = { [K_fromRef] = S_FROM, [K_toRef] = S_TO,
	    [K_properties] = S_PROPS, [K_author] = S_PR_AUTHOR,
	    [K_links] = S_PR_LINKS },
	[S_FROM] = { [K_repository] = S_FROM_REPO },
	[S_FROM_REPO] = { [K_project] = S_FROM_PROJECT },
	[S_TO] = { [K_repository] = S_TO_REPO },
	[S_TO_REPO] = { [K_project] = S_TO_PROJECT, [K_links] = S_TO_LINKS },
	[S_TO_LINKS] = { [K_self] = A(S_TO_SELF) },
	[S_TO_SELF] = { [BS_JSON_KEY_ELEM] = S_TO_SELF0 },
	[S_PROPS] = { [K_mergeCommit] = S_MERGE },
	[S_PR_AUTHOR] = { [K_user] = S_PR_AUTHOR_USER },
	[S_PR_LINKS] = { [K_self] = A(S_PR_SELF) },
	[S_PR_SELF] = { [BS_JSON_KEY_ELEM] = S_PR_SELF0 },
};

/* String slots, grouped so that every object's slots are contiguous. */
enum {
	F_DATE = 1,
	F_ACTOR_NAME, F_ACTOR_EMAIL, F_ACTOR_USER,
	F_REPO_KEY, F_REPO_SLUG, F_REPO_URL,
	F_REF_NAME, F_REF_TYPE, F_FROM_HASH, F_TO_HASH, F_CH_TYPE,
	F_C_HASH, F_C_MESSAGE, F_C_DATE, F_A_NAME, F_A_EMAIL, F_A_DISPLAY,
	F_P_HASH,
	F_TOCOMMIT, F_TC_DATE,
	F_TC_A_NAME, F_TC_A_EMAIL, F_TC_A_DISPLAY,   /* as F_A_NAME.. */
	F_PR_ID, F_PR_TITLE, F_PR_DESC, F_PR_STATE, F_PR_CREATED,
	F_PR_UPDATED,
	F_SRC_BRANCH, F_SRC_HASH, F_SRC_KEY, F_SRC_SLUG,
	F_DST_BRANCH, F_DST_HASH, F_DST_KEY, F_DST_SLUG, F_DST_URL,
	F_MERGE,
	F_PR_A_NAME, F_PR_A_EMAIL, F_PR_A_USER,
	F_PR_URL,
	F_NSTR
};

_Static_assert(F_A_DISPLAY - F_A_NAME == 2 && F_TC_A_DISPLAY - F_TC_A_NAME == 2,
    "author_from() reads three slots in this order");

static const unsigned char field[S_N][K_N] = {
	[S_ROOT] = { [K_date] = F_DATE },
	[S_ACTOR] = { [K_displayName] = F_ACTOR_NAME,
	    [K_emailAddress] = F_ACTOR_EMAIL, [K_name] = F_ACTOR_USER },
	[S_REPO] = { [K_slug] = F_REPO_SLUG },
	[S_REPO_PROJECT] = { [K_key] = F_REPO_KEY },
	[S_REPO_SELF0] = { [K_href] = F_REPO_URL },
	[S_CHANGE] = { [K_fromHash] = F_FROM_HASH, [K_toHash] = F_TO_HASH,
	    [K_type] = F_CH_TYPE },
	[S_REF] = { [K_displayId] = F_REF_NAME, [K_type] = F_REF_TYPE },
	[S_COMMIT] = { [K_id] = F_C_HASH, [K_message] = F_C_MESSAGE,
	    [K_authorTimestamp] = F_C_DATE },
	[S_C_AUTHOR] = { [K_name] = F_A_NAME, [K_emailAddress] = F_A_EMAIL,
	    [K_displayName] = F_A_DISPLAY },
	[S_PARENT] = { [K_id] = F_P_HASH },
	[S_TOCOMMIT] = { [K_id] = F_TOCOMMIT, [K_authorTimestamp] = F_TC_DATE },
	[S_TC_AUTHOR] = { [K_name] = F_TC_A_NAME,
	    [K_emailAddress] = F_TC_A_EMAIL, [K_displayName] = F_TC_A_DISPLAY },
	[S_PR] = { [K_id] = F_PR_ID, [K_title] = F_PR_TITLE,
	    [K_description] = F_PR_DESC, [K_state] = F_PR_STATE,
	    [K_createdDate] = F_PR_CREATED, [K_updatedDate] = F_PR_UPDATED },
	[S_FROM] = { [K_displayId] = F_SRC_BRANCH,
	    [K_latestCommit] = F_SRC_HASH },
	[S_FROM_REPO] = { [K_slug] = F_SRC_SLUG },
	[S_FROM_PROJECT] = { [K_key] = F_SRC_KEY },
	[S_TO] = { [K_displayId] = F_DST_BRANCH,
	    [K_latestCommit] = F_DST_HASH },
	[S_TO_REPO] = { [K_slug] = F_DST_SLUG },
	[S_TO_PROJECT] = { [K_key] = F_DST_KEY },
	[S_TO_SELF0] = { [K_href] = F_DST_URL },
	[S_MERGE] = { [K_id] = F_MERGE },
	[S_PR_AUTHOR_USER] = { [K_displayName] = F_PR_A_NAME,
	    [K_emailAddress] = F_PR_A_EMAIL, [K_name] = F_PR_A_USER },
	[S_PR_SELF0] = { [K_href] = F_PR_URL },
};

/* Slots [lo, hi] owned by each state (0, 0 = none). */
static const unsigned char span[S_N][2] = {
	[S_ROOT] = { 1, F_NSTR - 1 },
	[S_ACTOR] = { F_ACTOR_NAME, F_ACTOR_USER },
	[S_REPO] = { F_REPO_KEY, F_REPO_URL },
	[S_REPO_PROJECT] = { F_REPO_KEY, F_REPO_KEY },
	[S_REPO_LINKS] = { F_REPO_URL, F_REPO_URL },
	[S_REPO_SELF] = { F_REPO_URL, F_REPO_URL },
	[S_REPO_SELF0] = { F_REPO_URL, F_REPO_URL },
	[S_CHANGE] = { F_REF_NAME, F_CH_TYPE },
	[S_REF] = { F_REF_NAME, F_REF_TYPE },
	[S_COMMIT] = { F_C_HASH, F_A_DISPLAY },
	[S_C_AUTHOR] = { F_A_NAME, F_A_DISPLAY },
	[S_PARENT] = { F_P_HASH, F_P_HASH },
	[S_TOCOMMIT] = { F_TOCOMMIT, F_TC_A_DISPLAY },
	[S_TC_AUTHOR] = { F_TC_A_NAME, F_TC_A_DISPLAY },
	[S_PR] = { F_PR_ID, F_PR_URL },
	[S_FROM] = { F_SRC_BRANCH, F_SRC_SLUG },
	[S_FROM_REPO] = { F_SRC_KEY, F_SRC_SLUG },
	[S_FROM_PROJECT] = { F_SRC_KEY, F_SRC_KEY },
	[S_TO] = { F_DST_BRANCH, F_DST_URL },
	[S_TO_REPO] = { F_DST_KEY, F_DST_URL },
	[S_TO_PROJECT] = { F_DST_KEY, F_DST_KEY },
	[S_TO_LINKS] = { F_DST_URL, F_DST_URL },
	[S_TO_SELF] = { F_DST_URL, F_DST_URL },
	[S_TO_SELF0] = { F_DST_URL, F_DST_URL },
	[S_PROPS] = { F_MERGE, F_MERGE },
	[S_MERGE] = { F_MERGE, F_MERGE },
	[S_PR_AUTHOR] = { F_PR_A_NAME, F_PR_A_USER },
	[S_PR_AUTHOR_USER] = { F_PR_A_NAME, F_PR_A_USER },
	[S_PR_LINKS] = { F_PR_URL, F_PR_URL },
	[S_PR_SELF] = { F_PR_URL, F_PR_URL },
	[S_PR_SELF0] = { F_PR_URL, F_PR_URL },
};

struct dc {
	struct bs_event *ev;
	const struct bs_parse_limits *lim;
	char *s[F_NSTR];
	bool root;
	unsigned char repo, changes, pr;   /* BS_JSON_SEEN_* of required values */
	bool id_wrong;                     /* pullRequest.id not a number */
	size_t changes_cap, parents_cap;
	struct bs_commit *commits;         /* top-level commits[] */
	size_t n_commits, commits_cap;
	struct bs_change *change;          /* open change, or NULL */
	struct bs_commit *commit;          /* open commit, or NULL */
};

/* States that stand for element 0 of a links.self array only. */
static bool
first_only(int state)
{
	return state == S_REPO_SELF0 || state == S_TO_SELF0 ||
	    state == S_PR_SELF0;
}

static bool
is_date(int f)
{
	return f == F_DATE || f == F_C_DATE || f == F_TC_DATE ||
	    f == F_PR_CREATED || f == F_PR_UPDATED;
}

static void
clear_state(struct dc *d, int state)
{
	if (span[state][0])
		memset(&d->s[span[state][0]], 0,
		    (size_t)(span[state][1] - span[state][0] + 1) * sizeof(char *));
	switch (state) {
	case S_REPO: d->repo = BS_JSON_SEEN_NONE; break;
	case S_CHANGES:
		d->changes = BS_JSON_SEEN_NONE;
		d->ev->n_changes = 0;
		break;
	case S_COMMITS: d->n_commits = 0; break;
	case S_PARENTS:
		if (d->commit)
			d->commit->n_parents = 0;
		break;
	case S_PR:
		d->pr = BS_JSON_SEEN_NONE;
		d->id_wrong = false;
		break;
	default: break;
	}
}

static void
mark_wrong(struct dc *d, int state)
{
	switch (state) {
	case S_REPO: d->repo = BS_JSON_SEEN_WRONG; break;
	case S_CHANGES: d->changes = BS_JSON_SEEN_WRONG; break;
	case S_PR: d->pr = BS_JSON_SEEN_WRONG; break;
	default: break;
	}
}

static int
cb_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct dc *d = sax->ctx;
	struct bs_event *ev = d->ev;

	if (field[state][key]) {
		d->s[field[state][key]] = NULL;
		if (field[state][key] == F_PR_ID)
			d->id_wrong = true;
	}
	int t = trans[state][key];
	if (!t)
		return BS_JSON_SKIP;
	int child = t & 0x7F;
	if (first_only(child) && idx != 0)
		return BS_JSON_SKIP;
	clear_state(d, child);
	if (((t & 0x80) != 0) != is_array) {
		mark_wrong(d, child);
		return BS_JSON_SKIP;
	}
	switch (child) {
	case S_ROOT:
		d->root = true;
		break;
	case S_REPO:
		d->repo = BS_JSON_SEEN_OK;
		break;
	case S_CHANGES:
	case S_COMMITS:
	case S_TOCOMMIT:
		if (ev->type != BS_EVENT_PUSH)
			return BS_JSON_SKIP;
		if (child == S_CHANGES)
			d->changes = BS_JSON_SEEN_OK;
		if (child == S_COMMITS) {
			d->commits = NULL;
			d->commits_cap = 0;
		}
		break;
	case S_CHANGE:
		d->change = bs_json_sax_push(sax, &ev->arena, (void **)&ev->changes,
		    &ev->n_changes, &d->changes_cap, sizeof(*ev->changes),
		    d->lim->max_changes, "changes in one push");
		if (!d->change)
			return BS_JSON_SKIP;
		break;
	case S_COMMIT:
		d->commit = bs_json_sax_push(sax, &ev->arena, (void **)&d->commits,
		    &d->n_commits, &d->commits_cap, sizeof(*d->commits),
		    d->lim->max_commits, "commits in one change");
		if (!d->commit)
			return BS_JSON_SKIP;
		d->parents_cap = 0;
		break;
	case S_PARENTS:
		d->commit->parents = NULL;
		d->parents_cap = 0;
		break;
	case S_PR:
		if (ev->type != BS_EVENT_PR)
			return BS_JSON_SKIP;
		d->pr = BS_JSON_SEEN_OK;
		break;
	default:
		break;
	}
	return child;
}

static void
cb_value(struct bs_json_sax *sax, int state, int key, size_t idx,
    enum bs_json_type t, const char *s, size_t len)
{
	struct dc *d = sax->ctx;

	int tr = trans[state][key];
	if (tr) {
		if (first_only(tr & 0x7F) && idx != 0)
			return;
		clear_state(d, tr & 0x7F);
		mark_wrong(d, tr & 0x7F);
		return;
	}
	if (state == S_ROOT && key == K_refLimitExceeded) {
		/* mirror:repo_synchronized: Bitbucket left the changes out */
		d->ev->ref_limit_exceeded = t == BS_JSON_BOOL && len == 1;
		return;
	}
	int f = field[state][key];
	if (!f)
		return;
	char *v = NULL;
	if ((t == BS_JSON_STRING || t == BS_JSON_NUMBER) && is_date(f))
		v = bs_bb_date_value(sax, &d->ev->arena, t, s, len);
	else if (t == BS_JSON_STRING)
		v = bs_json_sax_keep(sax, &d->ev->arena, s, len);
	if (f == F_PR_ID) {
		/* Only a JSON number is an id; "7" is not. */
		d->id_wrong = t != BS_JSON_NUMBER;
		v = d->id_wrong ? NULL : bs_json_sax_keep(sax, &d->ev->arena, s,
		    len);
	}
	d->s[f] = v;
}

static bool
is_zero_hash(const char *h)
{
	if (!h || strlen(h) != 40)
		return false;
	for (size_t i = 0; i < 40; i++)
		if (h[i] != '0')
			return false;
	return true;
}

/* An author object (a commit's or toCommit's) from its three slots name,
 * emailAddress, displayName starting at `name` (F_A_NAME, F_TC_A_NAME).
 * DC 10 sends a user object (name = user slug, displayName); older
 * servers only the git author name and email. */
static void
author_from(const struct dc *d, int name, struct bs_person *p)
{
	char *const *s = &d->s[name];
	if (s[2]) {
		p->name = s[2];
		p->username = s[0];
	} else {
		p->name = s[0];
	}
	p->email = s[1];
}

static void
cb_close(struct bs_json_sax *sax, int state, bool is_array)
{
	struct dc *d = sax->ctx;
	struct bs_event *ev = d->ev;
	(void)is_array;

	switch (state) {
	case S_PARENT:
		bs_json_sax_add_parent(sax, ev, d->commit, &d->parents_cap,
		    d->s[F_P_HASH], d->lim->max_commits);
		break;
	case S_COMMIT: {
		struct bs_commit *m = d->commit;
		m->hash = d->s[F_C_HASH];
		m->message = d->s[F_C_MESSAGE];
		m->date = d->s[F_C_DATE];
		author_from(d, F_A_NAME, &m->author);
		d->commit = NULL;
		break;
	}
	case S_CHANGE: {
		struct bs_change *ch = d->change;
		const char *rt = d->s[F_REF_TYPE];
		const char *ct = d->s[F_CH_TYPE];
		ch->ref_name = d->s[F_REF_NAME];
		if (rt && strcmp(rt, "BRANCH") == 0)
			ch->ref_type = BS_REF_BRANCH;
		else if (rt && strcmp(rt, "TAG") == 0)
			ch->ref_type = BS_REF_TAG;
		else
			ch->ref_type_raw = d->s[F_REF_TYPE];
		ch->old_hash = is_zero_hash(d->s[F_FROM_HASH]) ? NULL
		    : d->s[F_FROM_HASH];
		ch->new_hash = is_zero_hash(d->s[F_TO_HASH]) ? NULL
		    : d->s[F_TO_HASH];
		ch->new_commit = ch->new_hash;
		ch->created = ct && strcmp(ct, "ADD") == 0;
		ch->closed = ct && strcmp(ct, "DELETE") == 0;
		d->change = NULL;
		break;
	}
	default:
		break;
	}
}

static const struct bs_json_sax_ops ops = {
	.open = cb_open,
	.value = cb_value,
	.close = cb_close,
};

/* Attaches the top-level commits / toCommit to their change, then sets
 * truncated on every change (see the design comment). */
static void
attach_commits(struct dc *d)
{
	struct bs_event *ev = d->ev;
	const char *to_commit = d->s[F_TOCOMMIT];
	struct bs_change *target = NULL;

	if (d->n_commits || to_commit) {
		const char *anchor = d->n_commits ? d->commits[0].hash : to_commit;
		for (size_t i = 0; anchor && i < ev->n_changes && !target; i++)
			if (ev->changes[i].new_hash &&
			    strcmp(ev->changes[i].new_hash, anchor) == 0)
				target = &ev->changes[i];
		for (size_t i = 0; i < ev->n_changes && !target; i++)
			if (!ev->changes[i].closed)
				target = &ev->changes[i];
	}
	if (target) {
		target->commits = d->commits;
		target->n_commits = d->n_commits;
		if (to_commit) {
			/* toCommit is the commit the ref now points to: its
			 * author and date are the head's. */
			target->new_commit = (char *)to_commit;
			author_from(d, F_TC_A_NAME, &target->head_author);
			target->head_date = d->s[F_TC_DATE];
		}
	}
	for (size_t i = 0; i < ev->n_changes; i++) {
		struct bs_change *ch = &ev->changes[i];
		ch->truncated = !ch->closed &&
		    (ch->n_commits == 0 || ch->n_commits >= 5);
	}
}

static char *
repo_name(struct bs_arena *a, const char *key, const char *slug)
{
	return key && slug ? bs_arena_printf(a, "%s/%s", key, slug) : NULL;
}

enum bs_parse_status
bs_dc_parse(const char *body, size_t len, const struct bs_parse_limits *lim,
    struct bs_event *ev, char *err, size_t errlen)
{
	struct dc d;

	memset(&d, 0, sizeof(d));
	d.ev = ev;
	d.lim = lim;
	enum bs_parse_status st = bs_json_sax_parse(&ops, &d, keys, K_N, S_TOP,
	    lim, body, len, err, errlen);
	if (st != BS_PARSE_OK)
		return st;

	const char *why = NULL;
	if (!d.root) {
		why = "top-level JSON value is not an object";
	} else if (ev->type == BS_EVENT_PUSH) {
		if (d.repo == BS_JSON_SEEN_NONE)
			why = "missing repository";
		else if (d.repo == BS_JSON_SEEN_WRONG)
			why = "repository is not an object";
		else if (!d.s[F_REPO_KEY])
			why = "missing repository.project.key";
		else if (!d.s[F_REPO_SLUG])
			why = "missing repository.slug";
		else if (d.changes == BS_JSON_SEEN_NONE)
			why = "missing changes";
		else if (d.changes == BS_JSON_SEEN_WRONG)
			why = "changes is not an array";
	} else if (ev->type == BS_EVENT_PR &&
	    !bs_json_pr_id(d.pr, d.id_wrong, d.s[F_PR_ID], "pullRequest",
	    &ev->pr->id, err, errlen)) {
		return BS_PARSE_SCHEMA;
	}
	if (why) {
		snprintf(err, errlen, "%s", why);
		return BS_PARSE_SCHEMA;
	}

	ev->date = d.s[F_DATE];
	ev->actor.name = d.s[F_ACTOR_NAME];
	ev->actor.email = d.s[F_ACTOR_EMAIL];
	ev->actor.username = d.s[F_ACTOR_USER];
	if (ev->type == BS_EVENT_PR) {
		struct bs_pr *pr = ev->pr;
		ev->repository = repo_name(&ev->arena, d.s[F_DST_KEY],
		    d.s[F_DST_SLUG]);
		ev->repository_url = d.s[F_DST_URL];
		pr->title = d.s[F_PR_TITLE];
		pr->description = d.s[F_PR_DESC];
		pr->state = d.s[F_PR_STATE];
		pr->source.branch = d.s[F_SRC_BRANCH];
		pr->source.hash = d.s[F_SRC_HASH];
		pr->source.repository = repo_name(&ev->arena, d.s[F_SRC_KEY],
		    d.s[F_SRC_SLUG]);
		pr->destination.branch = d.s[F_DST_BRANCH];
		pr->destination.hash = d.s[F_DST_HASH];
		pr->destination.repository = ev->repository;
		pr->merge_hash = d.s[F_MERGE];
		pr->author.name = d.s[F_PR_A_NAME];
		pr->author.email = d.s[F_PR_A_EMAIL];
		pr->author.username = d.s[F_PR_A_USER];
		pr->url = d.s[F_PR_URL];
		pr->created = d.s[F_PR_CREATED];
		pr->updated = d.s[F_PR_UPDATED];
	} else {
		ev->repository = repo_name(&ev->arena, d.s[F_REPO_KEY],
		    d.s[F_REPO_SLUG]);
		ev->repository_url = d.s[F_REPO_URL];
	}
	if (ev->type == BS_EVENT_PUSH)
		attach_commits(&d);
	return BS_PARSE_OK;
}
