/* bb_changes: the files a push changed, from one page of Bitbucket's
 * REST API (issue 16, for code deployments with path prefixes):
 *
 *   Cloud GET /2.0/repositories/{ws}/{repo}/diffstat/{new}..{old}
 *         {"values":[{"status":..,"old":{"path":..}|null,
 *                     "new":{"path":..}|null},...],"next":"https://..."}
 *   DC    GET /rest/api/1.0/projects/{P}/repos/{r}/changes?since={old}&until={new}
 *         {"values":[{"path":{"toString":..},"srcPath":{"toString":..}},..],
 *          "isLastPage":bool,"nextPageStart":n,"start":n}
 *
 * Pure code, no I/O, the same UTF-8 check, SAX parser and limits as
 * parsers/bb_api.h, whose paging rules (Cloud `next`, DC isLastPage /
 * nextPageStart) it shares. */
#ifndef BS_BB_CHANGES_H
#define BS_BB_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/event.h"

struct bs_changes_page {
	char **paths;           /* every path named, arena-owned: both the old
	                         * and the new path of a rename or move */
	size_t n_paths;
	char *next;             /* Cloud: the `next` URL, NULL on the last page */
	bool last;              /* no further page */
	long long next_start;   /* DC nextPageStart, -1 when absent */
	size_t dropped;         /* paths not kept: past max_paths */
};

/* Parses one page into *out (zeroed first), keeping at most max_paths
 * paths (the rest counted in dropped). Values that are not objects, or
 * name no path, are skipped; a path longer than the string cap (65536
 * bytes) is an error (a cut path could fall under an exclude), not cut.
 * Required as in bs_api_parse_commits: a top-level object with a
 * "values" array; DC isLastPage and, when false, a nextPageStart beyond
 * start; a Cloud `next` an absolute http(s) URL of at most BS_API_MAX_URL
 * printable characters. Returns 0, or -1 with a reason in err. */
int bs_api_parse_changes(enum bs_product p, const char *body, size_t len,
    size_t max_paths, struct bs_arena *a, struct bs_changes_page *out,
    char *err, size_t errlen);

#endif
