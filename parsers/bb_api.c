/* bb_api: Bitbucket REST API responses, as tables over json_sax (see
 * bb_api.h for the contract).
 *
 * The scheme of cloud.c and dc.c: trans[state][key] gives the state of a
 * container found under `key` (A() = must be an array), field[state][key]
 * the slot a scalar goes to, and span[state] the slots a container owns,
 * cleared when it opens (a repeated key replaces the whole subtree: last
 * wins). Each slot also remembers how it was seen (BS_JSON_SEEN_*), which
 * is all the required-field checks need. The six top-level states (page,
 * commit, branch, for each product) pick which tables apply.
 *
 * A commit is collected in `cur` while its object is open and only judged
 * when it closes: kept (pushed onto the page) when its hash and parents are
 * good, counted as skipped otherwise. Once max_commits are kept, further
 * commit objects are skipped by the SAX layer unread and counted as
 * dropped, so memory stays bounded by what is kept. */
#include "parsers/bb_api.h"

#include <string.h>

#include "common/hex.h"
#include "parsers/bb_paging.h"
#include "parsers/bb_values.h"
#include "parsers/bitbucket.h"
#include "parsers/isodate.h"
#include "parsers/json_sax.h"

enum {
	K_values = BS_BB_K_VALUES, K_hash = BS_BB_K_FIRST_FREE,
	K_message, K_date, K_author, K_raw, K_user, K_display_name,
	K_nickname, K_username, K_links, K_html, K_href, K_parents, K_id,
	K_emailAddress, K_name, K_displayName, K_slug, K_authorTimestamp,
	K_mainbranch, K_displayId, K_latestCommit, K_N
};

static const char *const keys[K_N] = {
	BS_BB_PAGING_KEY_NAMES, [K_hash] = "hash", [K_message] = "message",
	[K_date] = "date", [K_author] = "author", [K_raw] = "raw",
	[K_user] = "user", [K_display_name] = "display_name",
	[K_nickname] = "nickname", [K_username] = "username",
	[K_links] = "links", [K_html] = "html", [K_href] = "href",
	[K_parents] = "parents", [K_id] = "id",
	[K_emailAddress] = "emailAddress", [K_name] = "name",
	[K_displayName] = "displayName", [K_slug] = "slug",
	[K_authorTimestamp] = "authorTimestamp", [K_mainbranch] = "mainbranch",
	[K_displayId] = "displayId", [K_latestCommit] = "latestCommit",
};

enum {
	S_TOP_PAGE_C = 1, S_TOP_PAGE_D, S_TOP_COMMIT_C, S_TOP_COMMIT_D,
	S_TOP_BRANCH_C, S_TOP_BRANCH_D,
	S_PAGE_C, S_PAGE_D, S_VALUES_C, S_VALUES_D,
	S_CC, S_CC_LINKS, S_CC_HTML, S_CC_AUTHOR, S_CC_AUTHOR_USER,
	S_CC_PARENTS, S_CC_PARENT,
	S_DC, S_DC_AUTHOR, S_DC_PARENTS, S_DC_PARENT,
	S_REPO_C, S_MAINBRANCH, S_BRANCH_D, S_N
};

#define A(s) ((s) | 0x80)   /* the container must be an array */

static const unsigned char trans[S_N][K_N] = {
	[S_TOP_PAGE_C] = { [BS_JSON_KEY_ELEM] = S_PAGE_C },
	[S_TOP_PAGE_D] = { [BS_JSON_KEY_ELEM] = S_PAGE_D },
	[S_TOP_COMMIT_C] = { [BS_JSON_KEY_ELEM] = S_CC },
	[S_TOP_COMMIT_D] = { [BS_JSON_KEY_ELEM] = S_DC },
	[S_TOP_BRANCH_C] = { [BS_JSON_KEY_ELEM] = S_REPO_C },
	[S_TOP_BRANCH_D] = { [BS_JSON_KEY_ELEM] = S_BRANCH_D },
	[S_PAGE_C] = { [K_values] = A(S_VALUES_C) },
	[S_PAGE_D] = { [K_values] = A(S_VALUES_D) },
	[S_VALUES_C] = { [BS_JSON_KEY_ELEM] = S_CC },
	[S_VALUES_D] = { [BS_JSON_KEY_ELEM] = S_DC },
	[S_CC] = { [K_links] = S_CC_LINKS, [K_author] = S_CC_AUTHOR,
	    [K_parents] = A(S_CC_PARENTS) },
	[S_CC_LINKS] = { [K_html] = S_CC_HTML },
	[S_CC_AUTHOR] = { [K_user] = S_CC_AUTHOR_USER },
	[S_CC_PARENTS] = { [BS_JSON_KEY_ELEM] = S_CC_PARENT },
	[S_DC] = { [K_author] = S_DC_AUTHOR, [K_parents] = A(S_DC_PARENTS) },
	[S_DC_PARENTS] = { [BS_JSON_KEY_ELEM] = S_DC_PARENT },
	[S_REPO_C] = { [K_mainbranch] = S_MAINBRANCH },
};

/* Slots, grouped so that every object's slots are contiguous. */
enum {
	F_HASH = 1, F_MESSAGE, F_DATE, F_URL,
	F_RAW, F_A_DISPLAY, F_A_NICK, F_A_USER, F_A_NAME, F_A_EMAIL, F_A_SLUG,
	F_AU_DISPLAY, F_AU_NICK, F_AU_USER,
	F_P_HASH,
	F_BRANCH, F_HEAD,
	F_N
};

static const unsigned char field[S_N][K_N] = {
	[S_CC] = { [K_hash] = F_HASH, [K_message] = F_MESSAGE,
	    [K_date] = F_DATE },
	[S_CC_HTML] = { [K_href] = F_URL },
	[S_CC_AUTHOR] = { [K_raw] = F_RAW, [K_display_name] = F_A_DISPLAY,
	    [K_nickname] = F_A_NICK, [K_username] = F_A_USER },
	[S_CC_AUTHOR_USER] = { [K_display_name] = F_AU_DISPLAY,
	    [K_nickname] = F_AU_NICK, [K_username] = F_AU_USER },
	[S_CC_PARENT] = { [K_hash] = F_P_HASH },
	[S_DC] = { [K_id] = F_HASH, [K_message] = F_MESSAGE,
	    [K_authorTimestamp] = F_DATE },
	[S_DC_AUTHOR] = { [K_name] = F_A_NAME, [K_emailAddress] = F_A_EMAIL,
	    [K_displayName] = F_A_DISPLAY, [K_slug] = F_A_SLUG },
	[S_DC_PARENT] = { [K_id] = F_P_HASH },
	[S_MAINBRANCH] = { [K_name] = F_BRANCH },
	[S_BRANCH_D] = { [K_displayId] = F_BRANCH,
	    [K_latestCommit] = F_HEAD },
};

/* Slots [lo, hi] owned by each object state (0, 0 = none). */
static const unsigned char span[S_N][2] = {
	[S_CC] = { F_HASH, F_AU_USER },
	[S_CC_LINKS] = { F_URL, F_URL },
	[S_CC_HTML] = { F_URL, F_URL },
	[S_CC_AUTHOR] = { F_RAW, F_AU_USER },
	[S_CC_AUTHOR_USER] = { F_AU_DISPLAY, F_AU_USER },
	[S_CC_PARENT] = { F_P_HASH, F_P_HASH },
	[S_DC] = { F_HASH, F_AU_USER },
	[S_DC_AUTHOR] = { F_RAW, F_AU_USER },
	[S_DC_PARENT] = { F_P_HASH, F_P_HASH },
	[S_REPO_C] = { F_BRANCH, F_HEAD },
	[S_MAINBRANCH] = { F_BRANCH, F_BRANCH },
	[S_BRANCH_D] = { F_BRANCH, F_HEAD },
};

struct api {
	struct bs_arena *a;
	size_t max;                  /* commits kept at most */
	char *s[F_N];
	unsigned char seen[F_N];     /* BS_JSON_SEEN_* per slot */
	struct bs_bb_paging pg;      /* the page's paging fields */
	bool root;                   /* the top-level value is an object */
	struct bs_commit *commits;
	size_t n, cap, dropped, skipped;
	const char *skip_why;        /* why the first skipped value was */
	struct bs_commit cur;        /* the open commit */
	size_t parents_cap;
	const char *cur_bad;         /* why cur cannot be kept, or NULL (set
	                              * early only by its parents) */
};

static bool
is_commit(int state)
{
	return state == S_CC || state == S_DC;
}

static bool
is_parent(int state)
{
	return state == S_CC_PARENT || state == S_DC_PARENT;
}

static bool
is_page(int state)
{
	return state == S_PAGE_C || state == S_PAGE_D;
}

static bool
is_root(int state)
{
	return state == S_PAGE_C || state == S_PAGE_D || state == S_REPO_C ||
	    state == S_BRANCH_D;
}

bool
bs_api_is_hash40(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < 40; i++)
		if (bs_hexval((unsigned char)s[i]) < 0)
			return false;   /* also stops at the NUL of a short one */
	return s[40] == '\0';
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Forgets what is known about the subtree of `state`, which is opening or
 * being replaced by a repeated key. */
static void
clear_state(struct api *c, int state)
{
	if (span[state][0]) {
		size_t lo = span[state][0], n = span[state][1] - lo + 1u;
		memset(&c->s[lo], 0, n * sizeof(c->s[0]));
		memset(&c->seen[lo], 0, n);
	}
	switch (state) {
	case S_PAGE_C:
	case S_PAGE_D:
		memset(&c->pg, 0, sizeof(c->pg));
		break;
	case S_VALUES_C:
	case S_VALUES_D:
		c->pg.values = BS_JSON_SEEN_NONE;
		c->commits = NULL;
		c->n = c->cap = c->dropped = c->skipped = 0;
		c->skip_why = NULL;
		break;
	case S_CC:
	case S_DC:
		memset(&c->cur, 0, sizeof(c->cur));
		c->parents_cap = 0;
		c->cur_bad = NULL;
		break;
	case S_CC_PARENTS:
	case S_DC_PARENTS:
		c->cur.parents = NULL;
		c->cur.n_parents = 0;
		c->parents_cap = 0;
		c->cur_bad = NULL;   /* only parents make a commit bad early */
		break;
	default:
		break;
	}
}

/* A value that is not a container of the expected kind stands where the
 * container of `child` should be. */
static void
wrong_container(struct api *c, int child)
{
	switch (child) {
	case S_VALUES_C:
	case S_VALUES_D:
		c->pg.values = BS_JSON_SEEN_WRONG;
		break;
	case S_CC:
	case S_DC:
		/* an element of values that is not an object */
		if (c->n >= c->max) {
			c->dropped++;
		} else {
			c->skipped++;
			if (!c->skip_why)
				c->skip_why = "commit is not an object";
		}
		break;
	case S_CC_PARENTS:
	case S_DC_PARENTS:
		c->cur_bad = "parents is not an array";
		break;
	case S_CC_PARENT:
	case S_DC_PARENT:
		c->cur_bad = "a parent is not an object";
		break;
	default:
		break;
	}
}

static int
cb_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct api *c = sax->ctx;
	(void)idx;

	int f = field[state][key];
	if (f) {
		c->s[f] = NULL;
		c->seen[f] = BS_JSON_SEEN_WRONG;
	}
	if (is_page(state) && bs_bb_paging_open(&c->pg, key))
		return BS_JSON_SKIP;
	int t = trans[state][key];
	if (!t)
		return BS_JSON_SKIP;
	int child = t & 0x7F;
	if (is_commit(child) && c->n >= c->max) {
		c->dropped++;
		return BS_JSON_SKIP;
	}
	clear_state(c, child);
	if (((t & 0x80) != 0) != is_array) {
		wrong_container(c, child);
		return BS_JSON_SKIP;
	}
	if (is_root(child) || state == S_TOP_COMMIT_C || state == S_TOP_COMMIT_D)
		c->root = true;
	if (child == S_VALUES_C || child == S_VALUES_D)
		c->pg.values = BS_JSON_SEEN_OK;
	return child;
}

static void
cb_value(struct bs_json_sax *sax, int state, int key, size_t idx,
    enum bs_json_type t, const char *s, size_t len)
{
	struct api *c = sax->ctx;
	(void)idx;

	int tr = trans[state][key];
	if (tr) {
		int child = tr & 0x7F;
		if (is_commit(child) && c->n >= c->max) {
			c->dropped++;
			return;
		}
		clear_state(c, child);
		/* null stands for "none" except where an element is expected */
		if (t != BS_JSON_NULL || key == BS_JSON_KEY_ELEM ||
		    child == S_VALUES_C || child == S_VALUES_D)
			wrong_container(c, child);
		return;
	}
	if (is_page(state) &&
	    bs_bb_paging_value(sax, c->a, &c->pg, key, t, s, len))
		return;
	int f = field[state][key];
	if (!f)
		return;
	c->s[f] = NULL;
	c->seen[f] = BS_JSON_SEEN_WRONG;
	if (t == BS_JSON_NULL) {
		c->seen[f] = BS_JSON_SEEN_NONE;
		return;
	}
	if (t != BS_JSON_STRING &&
	    !(f == F_DATE && state == S_DC && t == BS_JSON_NUMBER))
		return;
	if (f == F_DATE && state == S_DC) {
		c->s[f] = bs_bb_date_value(sax, c->a, t, s, len);
		c->seen[f] = BS_JSON_SEEN_OK;
		return;
	}
	c->s[f] = bs_json_sax_keep(sax, c->a, s, len);
	c->seen[f] = BS_JSON_SEEN_OK;
}

static char *
first(char *a, char *b)
{
	return a ? a : b;
}

static void
close_commit(struct api *c, int state)
{
	struct bs_commit *m = &c->cur;
	char **s = c->s;

	if (!c->cur_bad && c->seen[F_HASH] != BS_JSON_SEEN_OK)
		c->cur_bad = c->seen[F_HASH] == BS_JSON_SEEN_NONE
		    ? "commit without a hash" : "commit hash is not a string";
	if (!c->cur_bad && !bs_api_is_hash40(s[F_HASH]))
		c->cur_bad = "commit hash is not 40 hex digits";
	if (c->cur_bad) {
		c->skipped++;
		if (!c->skip_why)
			c->skip_why = c->cur_bad;
		return;
	}
	m->hash = s[F_HASH];
	lower(m->hash);
	m->message = s[F_MESSAGE];
	m->date = s[F_DATE];
	if (state == S_CC) {
		m->url = s[F_URL];
		if (s[F_RAW])
			bs_bb_split_raw(c->a, s[F_RAW], &m->author);
		m->author.name = first(m->author.name,
		    first(s[F_AU_DISPLAY], s[F_A_DISPLAY]));
		m->author.username = first(s[F_AU_NICK],
		    first(s[F_AU_USER], first(s[F_A_NICK], s[F_A_USER])));
	} else {
		/* A Bitbucket user (name = user name, slug, displayName), or
		 * only the git name and email. The user name, as dc.c takes it
		 * (the slug is its lower-cased, URL-safe form). */
		if (s[F_A_DISPLAY]) {
			m->author.name = s[F_A_DISPLAY];
			m->author.username = first(s[F_A_NAME], s[F_A_SLUG]);
		} else {
			m->author.name = s[F_A_NAME];
			m->author.username = s[F_A_SLUG];
		}
		m->author.email = s[F_A_EMAIL];
	}
	struct bs_commit *slot = bs_arena_push(c->a, (void **)&c->commits,
	    &c->n, &c->cap, sizeof(*c->commits));
	*slot = *m;
}

static void
cb_close(struct bs_json_sax *sax, int state, bool is_array)
{
	struct api *c = sax->ctx;
	(void)is_array;

	if (is_parent(state)) {
		char *h = c->s[F_P_HASH];
		if (c->cur_bad)
			return;
		if (!bs_api_is_hash40(h)) {
			c->cur_bad = "a parent hash is not 40 hex digits";
			return;
		}
		if (c->cur.n_parents >= BS_API_MAX_PARENTS) {
			c->cur_bad = "more parents than BS_API_MAX_PARENTS";
			return;
		}
		lower(h);
		char **p = bs_arena_push(c->a, (void **)&c->cur.parents,
		    &c->cur.n_parents, &c->parents_cap, sizeof(char *));
		*p = h;
	} else if (is_commit(state)) {
		close_commit(c, state);
	}
}

static const struct bs_json_sax_ops ops = {
	.open = cb_open,
	.value = cb_value,
	.close = cb_close,
};

/* Parses body as top-level state cloud_top or dc_top into c. */
static int
run(enum bs_product p, int cloud_top, int dc_top, const char *body,
    size_t len, struct api *c, char *err, size_t errlen)
{
	if (bs_bb_api_run(p, &ops, c, keys, K_N, cloud_top, dc_top, body, len,
	    err, errlen) != 0)
		return -1;
	if (!c->root)
		return bs_bb_fail(err, errlen,
		    "top-level JSON value is not an object");
	return 0;
}

int
bs_api_parse_commits(enum bs_product p, const char *body, size_t len,
    size_t max_commits, struct bs_arena *a, struct bs_api_page *out,
    char *err, size_t errlen)
{
	struct api c;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	out->next_start = -1;
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.max = max_commits;
	if (run(p, S_TOP_PAGE_C, S_TOP_PAGE_D, body, len, &c, err, errlen) != 0)
		return -1;
	why = bs_bb_paging_check(p, &c.pg, &out->last, &out->next_start,
	    &out->next);
	if (why) {
		memset(out, 0, sizeof(*out));
		out->next_start = -1;
		return bs_bb_fail(err, errlen, why);
	}
	out->commits = c.commits;
	out->n_commits = c.n;
	out->dropped = c.dropped;
	out->skipped = c.skipped;
	return 0;
}

int
bs_api_parse_commit(enum bs_product p, const char *body, size_t len,
    struct bs_arena *a, struct bs_commit *out, char *err, size_t errlen)
{
	struct api c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.max = 1;
	if (run(p, S_TOP_COMMIT_C, S_TOP_COMMIT_D, body, len, &c, err,
	    errlen) != 0)
		return -1;
	if (c.n != 1)
		return bs_bb_fail(err, errlen, c.skip_why ? c.skip_why : "no commit");
	*out = c.commits[0];
	return 0;
}

int
bs_api_parse_main_branch(enum bs_product p, const char *body, size_t len,
    struct bs_arena *a, char **name, char **head, char *err, size_t errlen)
{
	struct api c;
	const char *why = NULL;
	bool cloud = p == BS_PRODUCT_CLOUD;

	*name = NULL;
	*head = NULL;
	memset(&c, 0, sizeof(c));
	c.a = a;
	if (run(p, S_TOP_BRANCH_C, S_TOP_BRANCH_D, body, len, &c, err,
	    errlen) != 0)
		return -1;
	if (c.seen[F_BRANCH] == BS_JSON_SEEN_NONE)
		why = cloud ? "missing mainbranch.name" : "missing displayId";
	else if (c.seen[F_BRANCH] == BS_JSON_SEEN_WRONG)
		why = cloud ? "mainbranch.name is not a string"
		    : "displayId is not a string";
	else if (c.s[F_BRANCH][0] == '\0')
		why = "empty branch name";
	else if (!cloud && c.seen[F_HEAD] == BS_JSON_SEEN_WRONG)
		why = "latestCommit is not a string";
	else if (!cloud && c.s[F_HEAD] && !bs_api_is_hash40(c.s[F_HEAD]))
		why = "latestCommit is not 40 hex digits";
	if (why)
		return bs_bb_fail(err, errlen, why);
	*name = c.s[F_BRANCH];
	if (!cloud && c.s[F_HEAD]) {
		*head = c.s[F_HEAD];
		lower(*head);
	}
	return 0;
}
