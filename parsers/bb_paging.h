/* bb_paging: the paging fields of Bitbucket's REST API listings (Cloud
 * `next`, DC isLastPage / nextPageStart / start) and the checks made on
 * them, shared by bb_api.c (commit pages) and bb_changes.c (changed files)
 * so that both follow pages by the same rules. Private to parsers/.
 *
 * An extractor using it starts its key list with the five keys below, at
 * ids 2..6 (BS_BB_K_*), and hands every scalar and container found in its
 * page object to bs_bb_paging_value() / bs_bb_paging_open(). */
#ifndef BS_BB_PAGING_H
#define BS_BB_PAGING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/event.h"
#include "parsers/json_sax.h"

enum {
	BS_BB_K_VALUES = 2, BS_BB_K_NEXT, BS_BB_K_IS_LAST_PAGE,
	BS_BB_K_NEXT_PAGE_START, BS_BB_K_START,
	BS_BB_K_FIRST_FREE   /* the extractor's own keys start here */
};

#define BS_BB_PAGING_KEY_NAMES \
	[BS_BB_K_VALUES] = "values", [BS_BB_K_NEXT] = "next", \
	[BS_BB_K_IS_LAST_PAGE] = "isLastPage", \
	[BS_BB_K_NEXT_PAGE_START] = "nextPageStart", [BS_BB_K_START] = "start"

/* What one page object said about paging; zero it when the page opens. */
struct bs_bb_paging {
	unsigned char values;        /* BS_JSON_SEEN_* of "values" (an array);
	                              * set by the extractor */
	unsigned char next_seen;     /* BS_JSON_SEEN_* of Cloud "next" */
	char *next;
	unsigned char last_seen;     /* DC "isLastPage" */
	bool last;
	unsigned char next_start_seen;   /* DC "nextPageStart", number text */
	char *next_start;
	unsigned char start_seen;    /* DC "start", number text */
	char *start;
};

/* A scalar of the page object under key. Returns false when key is not a
 * paging key (BS_BB_K_VALUES included: the extractor judges values). A
 * `next` longer than BS_API_MAX_URL fails sax with BS_PARSE_LIMIT. */
bool bs_bb_paging_value(struct bs_json_sax *sax, struct bs_arena *a,
    struct bs_bb_paging *pg, int key, enum bs_json_type t, const char *s,
    size_t len);

/* A container of the page object under key: a paging field of the wrong
 * type. Returns false when key is not a paging key. */
bool bs_bb_paging_open(struct bs_bb_paging *pg, int key);

/* The checks of bb_api.h on a parsed page: values an array; DC a boolean
 * isLastPage and, when false, a nextPageStart integer >= 0 beyond start;
 * Cloud a next that is absent, null or an absolute http(s) URL of
 * printable ASCII. Sets *last, *next_start (-1 when absent) and *next
 * (Cloud only) and returns NULL, or returns the reason. */
const char *bs_bb_paging_check(enum bs_product p,
    const struct bs_bb_paging *pg, bool *last, long long *next_start,
    char **next);

/* What every answer of a remote API (Bitbucket's REST API here, Sleuth's
 * GraphQL API in sleuth_graphql.c) goes through: a non-empty body,
 * bs_utf8_check_json(), then json_sax with the default limits from state
 * top. Returns 0, or -1 with the reason in err (err may be NULL or errlen
 * 0). */
int bs_json_body_parse(const struct bs_json_sax_ops *ops, void *ctx,
    const char *const *keys, size_t n_keys, int top, const char *body,
    size_t len, char *err, size_t errlen);

/* What every REST body goes through first: a known product, a non-empty
 * body, bs_utf8_check_json(), then json_sax with the default limits from
 * top state cloud_top or dc_top. Returns 0, or -1 with the reason in err
 * (err may be NULL or errlen 0). */
int bs_bb_api_run(enum bs_product p, const struct bs_json_sax_ops *ops,
    void *ctx, const char *const *keys, size_t n_keys, int cloud_top,
    int dc_top, const char *body, size_t len, char *err, size_t errlen);

/* Writes why into err (when there is room) and returns -1. */
int bs_bb_fail(char *err, size_t errlen, const char *why);

#endif
