/* cloud: Bitbucket Cloud payloads -> bs_event, as tables over json_sax.
 *
 * Two tables drive everything: trans[state][key] gives the state of a
 * container found under `key` (with A() marking "must be an array"), and
 * field[state][key] names the slot a scalar goes to. Strings land in the
 * flat slot array `s` while their object is open and are moved into the
 * event when it closes (commit, change) or at the end (repository, actor,
 * pull request). Changes and commits are pushed when their object opens,
 * which is where max_changes / max_commits are enforced.
 *
 * Duplicate keys: last wins, as in a DOM parser. Whenever a key that maps
 * to a container or a slot appears again (in any JSON type), the slots of
 * that subtree are cleared first (clear_state), so an earlier value of a
 * different type never leaks through. Values of unexpected types are
 * treated as absent; only required ones (repository.full_name,
 * push.changes, pullrequest, pullrequest.id) turn into BS_PARSE_SCHEMA. */
#include "parsers/cloud.h"

#include <stdio.h>
#include <string.h>

#include "parsers/bb_values.h"
#include "parsers/json_sax.h"

enum {
	K_repository = 2, K_full_name, K_links, K_html, K_href, K_actor,
	K_display_name, K_nickname, K_username, K_push, K_changes, K_new,
	K_old, K_type, K_name, K_target, K_hash, K_created, K_closed,
	K_forced, K_truncated, K_commits, K_message, K_date, K_author, K_raw,
	K_user, K_parents, K_pullrequest, K_id, K_title, K_description,
	K_state, K_source, K_destination, K_branch, K_commit, K_merge_commit,
	K_created_on, K_updated_on, K_N
};

static const char *const keys[K_N] = {
	[K_repository] = "repository", [K_full_name] = "full_name",
	[K_links] = "links", [K_html] = "html", [K_href] = "href",
	[K_actor] = "actor", [K_display_name] = "display_name",
	[K_nickname] = "nickname", [K_username] = "username",
	[K_push] = "push", [K_changes] = "changes", [K_new] = "new",
	[K_old] = "old", [K_type] = "type", [K_name] = "name",
	[K_target] = "target", [K_hash] = "hash", [K_created] = "created",
	[K_closed] = "closed", [K_forced] = "forced",
	[K_truncated] = "truncated", [K_commits] = "commits",
	[K_message] = "message", [K_date] = "date", [K_author] = "author",
	[K_raw] = "raw", [K_user] = "user", [K_parents] = "parents",
	[K_pullrequest] = "pullrequest", [K_id] = "id", [K_title] = "title",
	[K_description] = "description", [K_state] = "state",
	[K_source] = "source", [K_destination] = "destination",
	[K_branch] = "branch", [K_commit] = "commit",
	[K_merge_commit] = "merge_commit", [K_created_on] = "created_on",
	[K_updated_on] = "updated_on",
};

enum {
	S_TOP = 1, S_ROOT, S_REPO, S_REPO_LINKS, S_REPO_HTML, S_ACTOR,
	S_PUSH, S_CHANGES, S_CHANGE, S_NEW, S_NEW_TARGET, S_OLD,
	S_OLD_TARGET, S_CH_LINKS, S_CH_HTML, S_COMMITS, S_COMMIT, S_C_LINKS,
	S_C_HTML, S_AUTHOR, S_AUTHOR_USER, S_PARENTS, S_PARENT, S_PR,
	S_PR_SRC, S_PR_SRC_BRANCH, S_PR_SRC_REPO, S_PR_SRC_COMMIT, S_PR_DST,
	S_PR_DST_BRANCH, S_PR_DST_REPO, S_PR_DST_COMMIT, S_PR_MERGE,
	S_PR_AUTHOR, S_PR_LINKS, S_PR_HTML, S_NT_AUTHOR, S_NT_AUTHOR_USER, S_N
};

#define A(s) ((s) | 0x80)   /* the container must be an array */

static const unsigned char trans[S_N][K_N] = {
	[S_TOP] = { [BS_JSON_KEY_ELEM] = S_ROOT },
	[S_ROOT] = { [K_repository] = S_REPO, [K_actor] = S_ACTOR,
	    [K_push] = S_PUSH, [K_pullrequest] = S_PR },
	[S_REPO] = { [K_links] = S_REPO_LINKS },
	[S_REPO_LINKS] = { [K_html] = S_REPO_HTML },
	[S_PUSH] = { [K_changes] = A(S_CHANGES) },
	[S_CHANGES] = { [BS_JSON_KEY_ELEM] = S_CHANGE },
	[S_CHANGE] = { [K_new] = S_NEW, [K_old] = S_OLD,
	    [K_links] = S_CH_LINKS, [K_commits] = A(S_COMMITS) },
	[S_NEW] = { [K_target] = S_NEW_TARGET },
	[S_NEW_TARGET] = { [K_author] = S_NT_AUTHOR },
	[S_NT_AUTHOR] = { [K_user] = S_NT_AUTHOR_USER },
	[S_OLD] = { [K_target] = S_OLD_TARGET },
	[S_CH_LINKS] = { [K_html] = S_CH_HTML },
	[S_COMMITS] = { [BS_JSON_KEY_ELEM] = S_COMMIT },
	[S_COMMIT] = { [K_links] = S_C_LINKS, [K_author] = S_AUTHOR,
	    [K_parents] = A(S_PARENTS) },
	[S_C_LINKS] = { [K_html] = S_C_HTML },
	[S_AUTHOR] = { [K_user] = S_AUTHOR_USER },
	[S_PARENTS] = { [BS_JSON_KEY_ELEM] = S_PARENT },
	[S_PR] = { [K_source] = S_PR_SRC, [K_destination] = S_PR_DST,
	    [K_merge_commit] = S_PR_MERGE, [K_author] = S_PR_AUTHOR,
	    [K_links] = S_PR_LINKS },
	[S_PR_SRC] = { [K_branch] = S_PR_SRC_BRANCH,
	    [K_repository] = S_PR_SRC_REPO, [K_commit] = S_PR_SRC_COMMIT },
	[S_PR_DST] = { [K_branch] = S_PR_DST_BRANCH,
	    [K_repository] = S_PR_DST_REPO, [K_commit] = S_PR_DST_COMMIT },
	[S_PR_LINKS] = { [K_html] = S_PR_HTML },
};

/* String slots, grouped so that every object's slots are contiguous. */
enum {
	F_REPO_FULL_NAME = 1, F_REPO_URL,
	F_ACTOR_NAME, F_ACTOR_NICK, F_ACTOR_USER,
	F_NEW_TYPE, F_NEW_NAME, F_NEW_HASH, F_NT_DATE,
	/* new.target.author: the same order as a commit's F_A_* .. F_AU_* */
	F_NT_RAW, F_NT_DISPLAY, F_NT_NICK, F_NT_USER,
	F_NTU_DISPLAY, F_NTU_NICK, F_NTU_USER,
	F_OLD_TYPE, F_OLD_NAME, F_OLD_HASH,
	F_CH_LINK,
	F_C_HASH, F_C_MESSAGE, F_C_DATE, F_C_URL,
	F_A_RAW, F_A_DISPLAY, F_A_NICK, F_A_USER,
	F_AU_DISPLAY, F_AU_NICK, F_AU_USER,
	F_P_HASH,
	F_PR_TITLE, F_PR_DESC, F_PR_STATE, F_PR_CREATED, F_PR_UPDATED,
	F_PR_ID,   /* the number text */
	F_PR_SRC_BRANCH, F_PR_SRC_REPO, F_PR_SRC_HASH,
	F_PR_DST_BRANCH, F_PR_DST_REPO, F_PR_DST_HASH,
	F_PR_MERGE,
	F_PR_A_DISPLAY, F_PR_A_NICK, F_PR_A_USER,
	F_PR_URL,
	F_NSTR,
	/* not strings */
	F_CREATED, F_CLOSED, F_FORCED, F_TRUNCATED,
};

_Static_assert(F_AU_USER - F_A_RAW == 6 && F_NTU_USER - F_NT_RAW == 6,
    "author_from() reads seven slots in this order");

static const unsigned char field[S_N][K_N] = {
	[S_REPO] = { [K_full_name] = F_REPO_FULL_NAME },
	[S_REPO_HTML] = { [K_href] = F_REPO_URL },
	[S_ACTOR] = { [K_display_name] = F_ACTOR_NAME,
	    [K_nickname] = F_ACTOR_NICK, [K_username] = F_ACTOR_USER },
	[S_CHANGE] = { [K_created] = F_CREATED, [K_closed] = F_CLOSED,
	    [K_forced] = F_FORCED, [K_truncated] = F_TRUNCATED },
	[S_NEW] = { [K_type] = F_NEW_TYPE, [K_name] = F_NEW_NAME },
	[S_NEW_TARGET] = { [K_hash] = F_NEW_HASH, [K_date] = F_NT_DATE },
	[S_NT_AUTHOR] = { [K_raw] = F_NT_RAW, [K_display_name] = F_NT_DISPLAY,
	    [K_nickname] = F_NT_NICK, [K_username] = F_NT_USER },
	[S_NT_AUTHOR_USER] = { [K_display_name] = F_NTU_DISPLAY,
	    [K_nickname] = F_NTU_NICK, [K_username] = F_NTU_USER },
	[S_OLD] = { [K_type] = F_OLD_TYPE, [K_name] = F_OLD_NAME },
	[S_OLD_TARGET] = { [K_hash] = F_OLD_HASH },
	[S_CH_HTML] = { [K_href] = F_CH_LINK },
	[S_COMMIT] = { [K_hash] = F_C_HASH, [K_message] = F_C_MESSAGE,
	    [K_date] = F_C_DATE },
	[S_C_HTML] = { [K_href] = F_C_URL },
	[S_AUTHOR] = { [K_raw] = F_A_RAW, [K_display_name] = F_A_DISPLAY,
	    [K_nickname] = F_A_NICK, [K_username] = F_A_USER },
	[S_AUTHOR_USER] = { [K_display_name] = F_AU_DISPLAY,
	    [K_nickname] = F_AU_NICK, [K_username] = F_AU_USER },
	[S_PARENT] = { [K_hash] = F_P_HASH },
	[S_PR] = { [K_id] = F_PR_ID, [K_title] = F_PR_TITLE,
	    [K_description] = F_PR_DESC, [K_state] = F_PR_STATE,
	    [K_created_on] = F_PR_CREATED, [K_updated_on] = F_PR_UPDATED },
	[S_PR_SRC_BRANCH] = { [K_name] = F_PR_SRC_BRANCH },
	[S_PR_SRC_REPO] = { [K_full_name] = F_PR_SRC_REPO },
	[S_PR_SRC_COMMIT] = { [K_hash] = F_PR_SRC_HASH },
	[S_PR_DST_BRANCH] = { [K_name] = F_PR_DST_BRANCH },
	[S_PR_DST_REPO] = { [K_full_name] = F_PR_DST_REPO },
	[S_PR_DST_COMMIT] = { [K_hash] = F_PR_DST_HASH },
	[S_PR_MERGE] = { [K_hash] = F_PR_MERGE },
	[S_PR_AUTHOR] = { [K_display_name] = F_PR_A_DISPLAY,
	    [K_nickname] = F_PR_A_NICK, [K_username] = F_PR_A_USER },
	[S_PR_HTML] = { [K_href] = F_PR_URL },
};

/* Slots [lo, hi] owned by each object state (0, 0 = none). */
static const unsigned char span[S_N][2] = {
	[S_ROOT] = { 1, F_NSTR - 1 },
	[S_REPO] = { F_REPO_FULL_NAME, F_REPO_URL },
	[S_REPO_LINKS] = { F_REPO_URL, F_REPO_URL },
	[S_REPO_HTML] = { F_REPO_URL, F_REPO_URL },
	[S_ACTOR] = { F_ACTOR_NAME, F_ACTOR_USER },
	[S_CHANGE] = { F_NEW_TYPE, F_CH_LINK },
	[S_NEW] = { F_NEW_TYPE, F_NTU_USER },
	[S_NEW_TARGET] = { F_NEW_HASH, F_NTU_USER },
	[S_NT_AUTHOR] = { F_NT_RAW, F_NTU_USER },
	[S_NT_AUTHOR_USER] = { F_NTU_DISPLAY, F_NTU_USER },
	[S_OLD] = { F_OLD_TYPE, F_OLD_HASH },
	[S_OLD_TARGET] = { F_OLD_HASH, F_OLD_HASH },
	[S_CH_LINKS] = { F_CH_LINK, F_CH_LINK },
	[S_CH_HTML] = { F_CH_LINK, F_CH_LINK },
	[S_COMMIT] = { F_C_HASH, F_AU_USER },
	[S_C_LINKS] = { F_C_URL, F_C_URL },
	[S_C_HTML] = { F_C_URL, F_C_URL },
	[S_AUTHOR] = { F_A_RAW, F_AU_USER },
	[S_AUTHOR_USER] = { F_AU_DISPLAY, F_AU_USER },
	[S_PARENT] = { F_P_HASH, F_P_HASH },
	[S_PR] = { F_PR_TITLE, F_PR_URL },
	[S_PR_SRC] = { F_PR_SRC_BRANCH, F_PR_SRC_HASH },
	[S_PR_SRC_BRANCH] = { F_PR_SRC_BRANCH, F_PR_SRC_BRANCH },
	[S_PR_SRC_REPO] = { F_PR_SRC_REPO, F_PR_SRC_REPO },
	[S_PR_SRC_COMMIT] = { F_PR_SRC_HASH, F_PR_SRC_HASH },
	[S_PR_DST] = { F_PR_DST_BRANCH, F_PR_DST_HASH },
	[S_PR_DST_BRANCH] = { F_PR_DST_BRANCH, F_PR_DST_BRANCH },
	[S_PR_DST_REPO] = { F_PR_DST_REPO, F_PR_DST_REPO },
	[S_PR_DST_COMMIT] = { F_PR_DST_HASH, F_PR_DST_HASH },
	[S_PR_MERGE] = { F_PR_MERGE, F_PR_MERGE },
	[S_PR_AUTHOR] = { F_PR_A_DISPLAY, F_PR_A_USER },
	[S_PR_LINKS] = { F_PR_URL, F_PR_URL },
	[S_PR_HTML] = { F_PR_URL, F_PR_URL },
};

struct cloud {
	struct bs_event *ev;
	const struct bs_parse_limits *lim;
	char *s[F_NSTR];
	bool root;                   /* top-level value is an object */
	unsigned char full_name;     /* BS_JSON_SEEN_* of repository.full_name */
	unsigned char push;          /* BS_JSON_SEEN_* of push (object) */
	unsigned char changes;       /* BS_JSON_SEEN_* of push.changes (array) */
	unsigned char pr;            /* BS_JSON_SEEN_* of pullrequest (object) */
	bool id_wrong;               /* pullrequest.id is not a number */
	bool new_obj, old_obj;       /* change.new / change.old are objects */
	bool created, closed, forced, truncated;
	size_t changes_cap, commits_cap, parents_cap;
	struct bs_change *change;    /* open change, or NULL */
	struct bs_commit *commit;    /* open commit, or NULL */
};

/* Forgets what is known about the subtree of `state` (a duplicate key is
 * about to replace it). */
static void
clear_state(struct cloud *c, int state)
{
	if (span[state][0])
		memset(&c->s[span[state][0]], 0,
		    (size_t)(span[state][1] - span[state][0] + 1) * sizeof(char *));
	switch (state) {
	case S_REPO:
		c->full_name = BS_JSON_SEEN_NONE;
		break;
	case S_PUSH:
		c->push = BS_JSON_SEEN_NONE;
		c->changes = BS_JSON_SEEN_NONE;
		c->ev->n_changes = 0;
		break;
	case S_CHANGES:
		c->changes = BS_JSON_SEEN_NONE;
		c->ev->n_changes = 0;
		break;
	case S_CHANGE:
		c->new_obj = c->old_obj = false;
		c->created = c->closed = c->forced = c->truncated = false;
		break;
	case S_NEW:
		c->new_obj = false;
		break;
	case S_OLD:
		c->old_obj = false;
		break;
	case S_COMMITS:
		if (c->change)
			c->change->n_commits = 0;
		break;
	case S_PARENTS:
		if (c->commit)
			c->commit->n_parents = 0;
		break;
	case S_PR:
		c->pr = BS_JSON_SEEN_NONE;
		c->id_wrong = false;
		break;
	default:
		break;
	}
}

/* A value that is not an object/array of the expected kind replaced the
 * container of `state`: note it for the required ones. */
static void
mark_wrong(struct cloud *c, int state)
{
	switch (state) {
	case S_PUSH: c->push = BS_JSON_SEEN_WRONG; break;
	case S_CHANGES: c->changes = BS_JSON_SEEN_WRONG; break;
	case S_PR: c->pr = BS_JSON_SEEN_WRONG; break;
	default: break;
	}
}

/* A slot's key got a container instead of a scalar. */
static void
slot_container(struct cloud *c, int f)
{
	if (f < F_NSTR)
		c->s[f] = NULL;
	if (f == F_REPO_FULL_NAME)
		c->full_name = BS_JSON_SEEN_WRONG;
	if (f == F_PR_ID)
		c->id_wrong = true;
	if (f == F_CREATED)
		c->created = false;
	else if (f == F_CLOSED)
		c->closed = false;
	else if (f == F_FORCED)
		c->forced = false;
	else if (f == F_TRUNCATED)
		c->truncated = false;
}

static int
cb_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct cloud *c = sax->ctx;
	struct bs_event *ev = c->ev;
	(void)idx;

	if (field[state][key])
		slot_container(c, field[state][key]);
	int t = trans[state][key];
	if (!t)
		return BS_JSON_SKIP;
	int child = t & 0x7F;
	clear_state(c, child);
	if (((t & 0x80) != 0) != is_array) {
		mark_wrong(c, child);
		return BS_JSON_SKIP;
	}
	switch (child) {
	case S_ROOT:
		c->root = true;
		break;
	case S_PUSH:
		if (ev->type != BS_EVENT_PUSH)
			return BS_JSON_SKIP;
		c->push = BS_JSON_SEEN_OK;
		break;
	case S_CHANGES:
		c->changes = BS_JSON_SEEN_OK;
		break;
	case S_CHANGE:
		c->change = bs_json_sax_push(sax, &ev->arena, (void **)&ev->changes,
		    &ev->n_changes, &c->changes_cap, sizeof(*ev->changes),
		    c->lim->max_changes, "changes in one push");
		if (!c->change)
			return BS_JSON_SKIP;
		c->commits_cap = 0;
		break;
	case S_NEW:
		c->new_obj = true;
		break;
	case S_OLD:
		c->old_obj = true;
		break;
	case S_COMMITS:
		/* A fresh array: the old storage (if any) is abandoned. */
		c->change->commits = NULL;
		c->commits_cap = 0;
		break;
	case S_COMMIT:
		c->commit = bs_json_sax_push(sax, &ev->arena,
		    (void **)&c->change->commits, &c->change->n_commits,
		    &c->commits_cap, sizeof(*c->change->commits),
		    c->lim->max_commits, "commits in one change");
		if (!c->commit)
			return BS_JSON_SKIP;
		c->parents_cap = 0;
		break;
	case S_PARENTS:
		c->commit->parents = NULL;
		c->parents_cap = 0;
		break;
	case S_PR:
		if (ev->type != BS_EVENT_PR)
			return BS_JSON_SKIP;
		c->pr = BS_JSON_SEEN_OK;
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
	struct cloud *c = sax->ctx;
	(void)idx;

	int tr = trans[state][key];
	if (tr) {
		clear_state(c, tr & 0x7F);
		mark_wrong(c, tr & 0x7F);
		return;
	}
	int f = field[state][key];
	if (!f)
		return;
	if (f < F_NSTR) {
		/* Only a JSON number is an id; "7" is not. */
		bool keep = f == F_PR_ID ? t == BS_JSON_NUMBER
		    : t == BS_JSON_STRING;
		if (f == F_PR_ID)
			c->id_wrong = !keep;
		c->s[f] = keep ? bs_json_sax_keep(sax, &c->ev->arena, s, len) : NULL;
		if (f == F_REPO_FULL_NAME)
			c->full_name = keep ? BS_JSON_SEEN_OK : BS_JSON_SEEN_WRONG;
		return;
	}
	bool yes = t == BS_JSON_BOOL && len == 1;
	switch (f) {
	case F_CREATED: c->created = yes; break;
	case F_CLOSED: c->closed = yes; break;
	case F_FORCED: c->forced = yes; break;
	case F_TRUNCATED: c->truncated = yes; break;
	default: break;
	}
}

static char *
first(char *a, char *b)
{
	return a ? a : b;
}

/* An author object (a commit's, or new.target's) from its seven slots,
 * starting at raw (F_A_RAW or F_NT_RAW; see the slot enum): the name and
 * email from raw, else the display names; the username from the user's
 * nickname or username, else the author's own. */
static void
author_from(struct cloud *c, int raw, struct bs_person *p)
{
	char **s = &c->s[raw];   /* raw, display, nick, user, u.display, u.nick, u.user */
	if (s[0])
		bs_bb_split_raw(&c->ev->arena, s[0], p);
	p->name = first(p->name, first(s[4], s[1]));
	p->username = first(s[5], first(s[6], first(s[2], s[3])));
}

static void
cb_close(struct bs_json_sax *sax, int state, bool is_array)
{
	struct cloud *c = sax->ctx;
	struct bs_event *ev = c->ev;
	(void)is_array;

	switch (state) {
	case S_PARENT:
		bs_json_sax_add_parent(sax, ev, c->commit, &c->parents_cap,
		    c->s[F_P_HASH], c->lim->max_commits);
		break;
	case S_COMMIT: {
		struct bs_commit *m = c->commit;
		m->hash = c->s[F_C_HASH];
		m->message = c->s[F_C_MESSAGE];
		m->date = c->s[F_C_DATE];
		m->url = c->s[F_C_URL];
		author_from(c, F_A_RAW, &m->author);
		c->commit = NULL;
		break;
	}
	case S_CHANGE: {
		struct bs_change *ch = c->change;
		char *type = NULL;
		if (c->new_obj) {
			type = c->s[F_NEW_TYPE];
			ch->ref_name = c->s[F_NEW_NAME];
		} else if (c->old_obj) {
			type = c->s[F_OLD_TYPE];
			ch->ref_name = c->s[F_OLD_NAME];
		}
		if (type && strcmp(type, "branch") == 0)
			ch->ref_type = BS_REF_BRANCH;
		else if (type && strcmp(type, "tag") == 0)
			ch->ref_type = BS_REF_TAG;
		else
			ch->ref_type_raw = type;
		ch->old_hash = c->s[F_OLD_HASH];
		ch->new_hash = c->s[F_NEW_HASH];
		ch->new_commit = c->s[F_NEW_HASH];
		author_from(c, F_NT_RAW, &ch->head_author);
		ch->head_date = c->s[F_NT_DATE];
		ch->created = c->created;
		ch->closed = c->closed;
		ch->forced = c->forced;
		ch->truncated = c->truncated;
		ch->link = c->s[F_CH_LINK];
		c->change = NULL;
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

enum bs_parse_status
bs_cloud_parse(const char *body, size_t len, const struct bs_parse_limits *lim,
    struct bs_event *ev, char *err, size_t errlen)
{
	struct cloud c;

	memset(&c, 0, sizeof(c));
	c.ev = ev;
	c.lim = lim;
	enum bs_parse_status st = bs_json_sax_parse(&ops, &c, keys, K_N, S_TOP,
	    lim, body, len, err, errlen);
	if (st != BS_PARSE_OK)
		return st;

	const char *why = NULL;
	if (!c.root) {
		why = "top-level JSON value is not an object";
	} else if (ev->type == BS_EVENT_PUSH) {
		if (c.full_name == BS_JSON_SEEN_WRONG)
			why = "repository.full_name is not a string";
		else if (c.full_name == BS_JSON_SEEN_NONE)
			why = "missing repository.full_name";
		else if (c.push == BS_JSON_SEEN_NONE)
			why = "missing push";
		else if (c.push == BS_JSON_SEEN_WRONG)
			why = "push is not an object";
		else if (c.changes == BS_JSON_SEEN_NONE)
			why = "missing push.changes";
		else if (c.changes == BS_JSON_SEEN_WRONG)
			why = "push.changes is not an array";
	} else if (ev->type == BS_EVENT_PR &&
	    !bs_json_pr_id(c.pr, c.id_wrong, c.s[F_PR_ID], "pullrequest",
	    &ev->pr->id, err, errlen)) {
		return BS_PARSE_SCHEMA;
	}
	if (why) {
		snprintf(err, errlen, "%s", why);
		return BS_PARSE_SCHEMA;
	}

	ev->repository = c.full_name == BS_JSON_SEEN_OK ? c.s[F_REPO_FULL_NAME] : NULL;
	ev->repository_url = c.s[F_REPO_URL];
	ev->actor.name = c.s[F_ACTOR_NAME];
	ev->actor.username = first(c.s[F_ACTOR_NICK], c.s[F_ACTOR_USER]);
	if (ev->type == BS_EVENT_PR) {
		struct bs_pr *pr = ev->pr;
		pr->title = c.s[F_PR_TITLE];
		pr->description = c.s[F_PR_DESC];
		pr->state = c.s[F_PR_STATE];
		pr->source.branch = c.s[F_PR_SRC_BRANCH];
		pr->source.repository = c.s[F_PR_SRC_REPO];
		pr->source.hash = c.s[F_PR_SRC_HASH];
		pr->destination.branch = c.s[F_PR_DST_BRANCH];
		pr->destination.repository = c.s[F_PR_DST_REPO];
		pr->destination.hash = c.s[F_PR_DST_HASH];
		pr->merge_hash = c.s[F_PR_MERGE];
		pr->author.name = c.s[F_PR_A_DISPLAY];
		pr->author.username = first(c.s[F_PR_A_NICK], c.s[F_PR_A_USER]);
		pr->url = c.s[F_PR_URL];
		pr->created = c.s[F_PR_CREATED];
		pr->updated = c.s[F_PR_UPDATED];
	}
	return BS_PARSE_OK;
}
