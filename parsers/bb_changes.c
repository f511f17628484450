/* bb_changes: the files of a diffstat (Cloud) or changes (DC) page, over
 * json_sax (see bb_changes.h for the contract; paging in bb_paging.h).
 *
 * A value object is collected while it is open (its two paths: Cloud
 * old.path / new.path, DC srcPath.toString / path.toString, a repeated key
 * replacing the earlier one) and judged when it closes: each path that is
 * a non-empty string is kept, once when both are the same (a path that is
 * null, another scalar or a container is no path; one over the layer's
 * string cap fails the page rather than being cut). Past max_paths
 * paths are only counted, not copied, so memory stays bounded by what is
 * kept. */
#include "parsers/bb_changes.h"

#include <string.h>

#include "parsers/bb_paging.h"
#include "parsers/json_sax.h"

enum {
	K_old = BS_BB_K_FIRST_FREE, K_new, K_path, K_srcPath, K_toString, K_N
};

static const char *const keys[K_N] = {
	BS_BB_PAGING_KEY_NAMES, [K_old] = "old", [K_new] = "new",
	[K_path] = "path", [K_srcPath] = "srcPath", [K_toString] = "toString",
};

enum {
	S_TOP_C = 1, S_TOP_D,
	S_PAGE_C, S_PAGE_D, S_VALUES_C, S_VALUES_D,
	S_VALUE_C, S_VALUE_D,
	S_FILE_OLD, S_FILE_NEW,   /* Cloud old / new: {"path": ...} */
	S_PATH_SRC, S_PATH_DST,   /* DC srcPath / path: {"toString": ...} */
};

struct changes {
	struct bs_arena *a;
	size_t max;
	struct bs_bb_paging pg;
	bool root;
	char **paths;
	size_t n, cap, dropped;
	/* The open value's paths: [0] the old (source) one, [1] the new one;
	 * past_cap once max paths are kept (counted, not copied). */
	char *cur_kept[2];
};

static bool
is_page(int state)
{
	return state == S_PAGE_C || state == S_PAGE_D;
}

/* The state of a container under key in state, or BS_JSON_SKIP; *slot the
 * value's path slot it stands for (-1 when none). */
static int
child_of(int state, int key, int *slot)
{
	*slot = -1;
	switch (state) {
	case S_TOP_C:
		return S_PAGE_C;
	case S_TOP_D:
		return S_PAGE_D;
	case S_PAGE_C:
		return key == BS_BB_K_VALUES ? S_VALUES_C : BS_JSON_SKIP;
	case S_PAGE_D:
		return key == BS_BB_K_VALUES ? S_VALUES_D : BS_JSON_SKIP;
	case S_VALUES_C:
		return S_VALUE_C;
	case S_VALUES_D:
		return S_VALUE_D;
	case S_VALUE_C:
		if (key == K_old || key == K_new)
			*slot = key == K_new;
		return key == K_old ? S_FILE_OLD
		    : key == K_new ? S_FILE_NEW : BS_JSON_SKIP;
	case S_VALUE_D:
		if (key == K_srcPath || key == K_path)
			*slot = key == K_path;
		return key == K_srcPath ? S_PATH_SRC
		    : key == K_path ? S_PATH_DST : BS_JSON_SKIP;
	default:
		return BS_JSON_SKIP;
	}
}

/* Whether key in state is a path (Cloud old/new "path", DC srcPath/path
 * "toString"); *slot then the value's path slot it fills. */
static bool
path_slot(int state, int key, int *slot)
{
	if ((state == S_FILE_OLD || state == S_FILE_NEW) && key == K_path)
		*slot = state == S_FILE_NEW;
	else if ((state == S_PATH_SRC || state == S_PATH_DST) &&
	    key == K_toString)
		*slot = state == S_PATH_DST;
	else
		return false;
	return true;
}

static void
forget(struct changes *c, int slot)
{
	c->cur_kept[slot] = NULL;
}

/* A (repeated) "values" starts over. */
static void
set_values(struct changes *c, unsigned char seen)
{
	c->paths = NULL;
	c->n = c->cap = c->dropped = 0;
	c->pg.values = seen;
}

static int
cb_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct changes *c = sax->ctx;
	(void)idx;
	int slot;

	if (is_page(state) && bs_bb_paging_open(&c->pg, key))
		return BS_JSON_SKIP;
	if (path_slot(state, key, &slot)) {
		forget(c, slot);   /* a container: no such path (last wins) */
		return BS_JSON_SKIP;
	}
	int child = child_of(state, key, &slot);
	if (slot >= 0)
		forget(c, slot);   /* a repeated key replaces the earlier one */
	if (child == BS_JSON_SKIP)
		return BS_JSON_SKIP;
	bool want_array = child == S_VALUES_C || child == S_VALUES_D;
	if (want_array)
		set_values(c, is_array ? BS_JSON_SEEN_OK : BS_JSON_SEEN_WRONG);
	if (want_array != is_array)
		return BS_JSON_SKIP;
	if (is_page(child)) {
		memset(&c->pg, 0, sizeof(c->pg));
		set_values(c, BS_JSON_SEEN_NONE);
		c->root = true;
	}
	if (child == S_VALUE_C || child == S_VALUE_D)
		c->cur_kept[0] = c->cur_kept[1] = NULL;
	return child;
}

/* Stands for a path past the cap: counted, not copied (so a rename past
 * the cap counts once). */
static char past_cap[] = "";

static void
cb_value(struct bs_json_sax *sax, int state, int key, size_t idx,
    enum bs_json_type t, const char *s, size_t len)
{
	struct changes *c = sax->ctx;
	(void)idx;
	int slot;

	if (is_page(state)) {
		if (bs_bb_paging_value(sax, c->a, &c->pg, key, t, s, len))
			return;
		if (key == BS_BB_K_VALUES)
			set_values(c, BS_JSON_SEEN_WRONG);
		return;
	}
	if (state == S_VALUE_C || state == S_VALUE_D) {
		child_of(state, key, &slot);
		if (slot >= 0)
			forget(c, slot);   /* null or a scalar: no such path */
		return;
	}
	if (t != BS_JSON_STRING)
		t = BS_JSON_NULL;
	if (!path_slot(state, key, &slot))
		return;
	if (t == BS_JSON_STRING && len > sax->max_string) {
		/* cut, it could newly fall under an exclude: the page fails,
		 * so the push's files are unknown */
		bs_json_sax_fail(sax, BS_PARSE_LIMIT, "a path longer than %zu "
		    "bytes", sax->max_string);
		return;
	}
	if (t == BS_JSON_NULL || len == 0)
		c->cur_kept[slot] = NULL;
	else if (c->n >= c->max)
		c->cur_kept[slot] = past_cap;
	else
		c->cur_kept[slot] = bs_json_sax_keep(sax, c->a, s, len);
}

static void
add(struct changes *c, char *p)
{
	if (c->n >= c->max) {
		c->dropped++;
		return;
	}
	char **slot = bs_arena_push(c->a, (void **)&c->paths, &c->n, &c->cap,
	    sizeof(char *));
	*slot = p;
}

static void
cb_close(struct bs_json_sax *sax, int state, bool is_array)
{
	struct changes *c = sax->ctx;
	(void)is_array;

	if (state != S_VALUE_C && state != S_VALUE_D)
		return;
	char *o = c->cur_kept[0], *n = c->cur_kept[1];
	if (o)
		add(c, o);
	if (n && !(o && strcmp(o, n) == 0))
		add(c, n);
	c->cur_kept[0] = c->cur_kept[1] = NULL;
}

static const struct bs_json_sax_ops ops = {
	.open = cb_open,
	.value = cb_value,
	.close = cb_close,
};

static void
reset(struct bs_changes_page *out)
{
	memset(out, 0, sizeof(*out));
	out->next_start = -1;
}

int
bs_api_parse_changes(enum bs_product p, const char *body, size_t len,
    size_t max_paths, struct bs_arena *a, struct bs_changes_page *out,
    char *err, size_t errlen)
{
	struct changes c;

	reset(out);
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.max = max_paths;
	if (bs_bb_api_run(p, &ops, &c, keys, K_N, S_TOP_C, S_TOP_D, body, len,
	    err, errlen) != 0)
		return -1;
	if (!c.root)
		return bs_bb_fail(err, errlen,
		    "top-level JSON value is not an object");
	const char *why = bs_bb_paging_check(p, &c.pg, &out->last,
	    &out->next_start, &out->next);
	if (why) {
		reset(out);
		return bs_bb_fail(err, errlen, why);
	}
	out->paths = c.paths;
	out->n_paths = c.n;
	out->dropped = c.dropped;
	return 0;
}
