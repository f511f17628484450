/* bb_paging: see bb_paging.h. */
#include "parsers/bb_paging.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parsers/bb_api.h"
#include "parsers/bitbucket.h"
#include "parsers/utf8.h"

int
bs_bb_fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -1;
}

bool
bs_bb_paging_value(struct bs_json_sax *sax, struct bs_arena *a,
    struct bs_bb_paging *pg, int key, enum bs_json_type t, const char *s,
    size_t len)
{
	unsigned char *seen;
	char **text;
	enum bs_json_type want;

	switch (key) {
	case BS_BB_K_NEXT:
		seen = &pg->next_seen, text = &pg->next, want = BS_JSON_STRING;
		break;
	case BS_BB_K_IS_LAST_PAGE:
		seen = &pg->last_seen, text = NULL, want = BS_JSON_BOOL;
		break;
	case BS_BB_K_NEXT_PAGE_START:
		seen = &pg->next_start_seen, text = &pg->next_start,
		    want = BS_JSON_NUMBER;
		break;
	case BS_BB_K_START:
		seen = &pg->start_seen, text = &pg->start, want = BS_JSON_NUMBER;
		break;
	default:
		return false;
	}
	/* A repeated key replaces what came before (last wins). */
	if (text)
		*text = NULL;
	if (key == BS_BB_K_IS_LAST_PAGE)
		pg->last = false;
	if (t == BS_JSON_NULL) {
		*seen = BS_JSON_SEEN_NONE;
		return true;
	}
	*seen = BS_JSON_SEEN_WRONG;
	if (t != want)
		return true;
	if (key == BS_BB_K_NEXT && len > BS_API_MAX_URL) {
		bs_json_sax_fail(sax, BS_PARSE_LIMIT,
		    "next URL longer than %d bytes", BS_API_MAX_URL);
		return true;
	}
	if (text)
		*text = bs_arena_strndup(a, s, len);
	else
		pg->last = len == 1;
	*seen = BS_JSON_SEEN_OK;
	return true;
}

bool
bs_bb_paging_open(struct bs_bb_paging *pg, int key)
{
	switch (key) {
	case BS_BB_K_NEXT:
		pg->next = NULL;
		pg->next_seen = BS_JSON_SEEN_WRONG;
		return true;
	case BS_BB_K_IS_LAST_PAGE:
		pg->last = false;
		pg->last_seen = BS_JSON_SEEN_WRONG;
		return true;
	case BS_BB_K_NEXT_PAGE_START:
		pg->next_start = NULL;
		pg->next_start_seen = BS_JSON_SEEN_WRONG;
		return true;
	case BS_BB_K_START:
		pg->start = NULL;
		pg->start_seen = BS_JSON_SEEN_WRONG;
		return true;
	default:
		return false;
	}
}

/* A Cloud next link worth following: absolute http(s), printable ASCII,
 * no spaces. */
static bool
url_ok(const char *u)
{
	size_t skip;
	if (strncmp(u, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(u, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	if (u[skip] == '\0' || u[skip] == '/')
		return false;   /* no host */
	for (const char *q = u; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7F)
			return false;
	return true;
}

/* DC page fields; NULL or the reason they are unusable. */
static const char *
dc_paging(const struct bs_bb_paging *pg, bool *last, long long *next_start)
{
	int64_t next = -1, start = -1;
	if (pg->last_seen == BS_JSON_SEEN_NONE)
		return "missing isLastPage";
	if (pg->last_seen == BS_JSON_SEEN_WRONG)
		return "isLastPage is not a boolean";
	*last = pg->last;
	bool next_ok = pg->next_start_seen == BS_JSON_SEEN_OK &&
	    bs_json_int64(pg->next_start, &next) && next >= 0;
	if (pg->last) {
		*next_start = next_ok ? next : -1;
		return NULL;
	}
	if (pg->next_start_seen == BS_JSON_SEEN_NONE)
		return "missing nextPageStart on a page that is not the last";
	if (!next_ok)
		return "nextPageStart is not an integer >= 0";
	if (pg->start_seen == BS_JSON_SEEN_OK &&
	    bs_json_int64(pg->start, &start) && next <= start)
		return "nextPageStart does not advance past start";
	*next_start = next;
	return NULL;
}

const char *
bs_bb_paging_check(enum bs_product p, const struct bs_bb_paging *pg,
    bool *last, long long *next_start, char **next)
{
	*last = false;
	*next_start = -1;
	*next = NULL;
	if (pg->values == BS_JSON_SEEN_NONE)
		return "missing values";
	if (pg->values == BS_JSON_SEEN_WRONG)
		return "values is not an array";
	if (p == BS_PRODUCT_DC)
		return dc_paging(pg, last, next_start);
	if (pg->next_seen == BS_JSON_SEEN_WRONG)
		return "next is not a string";
	if (pg->next && !url_ok(pg->next))
		return "next is not an absolute http(s) URL";
	*next = pg->next;
	*last = pg->next == NULL;
	return NULL;
}

int
bs_json_body_parse(const struct bs_json_sax_ops *ops, void *ctx,
    const char *const *keys, size_t n_keys, int top, const char *body,
    size_t len, char *err, size_t errlen)
{
	struct bs_parse_limits lim;
	char why[200];

	if (!body || len == 0)
		return bs_bb_fail(err, errlen, "empty body");
	if (bs_utf8_check_json(body, len, why, sizeof(why)) != 0)
		return bs_bb_fail(err, errlen, why);
	bs_parse_limits_default(&lim);
	if (bs_json_sax_parse(ops, ctx, keys, n_keys, top, &lim, body, len,
	    why, sizeof(why)) != BS_PARSE_OK)
		return bs_bb_fail(err, errlen, why);
	return 0;
}

int
bs_bb_api_run(enum bs_product p, const struct bs_json_sax_ops *ops,
    void *ctx, const char *const *keys, size_t n_keys, int cloud_top,
    int dc_top, const char *body, size_t len, char *err, size_t errlen)
{
	if (p != BS_PRODUCT_CLOUD && p != BS_PRODUCT_DC)
		return bs_bb_fail(err, errlen, "unknown product");
	return bs_json_body_parse(ops, ctx, keys, n_keys,
	    p == BS_PRODUCT_CLOUD ? cloud_top : dc_top, body, len, err, errlen);
}
