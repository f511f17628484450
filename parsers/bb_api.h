/* bb_api: Bitbucket REST API responses -> bs_commit / page fields (issue 12).
 *
 * Pure code, no I/O: the worker fetches, these functions only read the body.
 * Every body first passes bs_utf8_check_json() (strict UTF-8, no control
 * characters, no \u0000, no lone surrogate escapes), then yajl's SAX parser
 * through json_sax.h with the default depth (64) and string (65536 bytes,
 * cut at a character boundary) caps of bs_parse_limits_default().
 *
 * Commits come out exactly as the webhook parsers normalise them:
 *   Cloud  hash, message, date as sent, links.html.href -> url,
 *          author.raw "Name <email>" -> name/email, author.user.nickname
 *          (else username) -> username, author.user.display_name when raw
 *          has no name (2015-style authors without raw: author.display_name
 *          / author.username), parents[].hash;
 *   DC     id, message, authorTimestamp (epoch ms or ISO with offset) as UTC
 *          "YYYY-MM-DDTHH:MM:SS.mmmZ" (else as sent), author.displayName ->
 *          name and author.name (else author.slug) -> username when the
 *          author is a Bitbucket user (displayName present), else author.name -> name;
 *          author.emailAddress -> email; parents[].id; url is NULL.
 * Hashes (the commit's and its parents') must be 40 hex digits and are
 * returned in lower case. Values of unexpected JSON types count as absent.
 * Duplicate keys: the last one wins. Reasons written into err are one line
 * and never echo payload bytes. On failure the out parameters are reset;
 * what was allocated stays in the arena until the caller releases it. */
#ifndef BS_BB_API_H
#define BS_BB_API_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/event.h"

/* Most parents one commit may list (git allows octopus merges). */
#define BS_API_MAX_PARENTS 256
/* Longest Cloud `next` URL accepted. */
#define BS_API_MAX_URL 4096

/* One page of a commit listing. */
struct bs_api_page {
	struct bs_commit *commits;  /* in the order sent (newest first), arena-owned */
	size_t n_commits;
	char *next;                 /* Cloud: the `next` URL, NULL on the last page */
	bool last;                  /* no further page (Cloud: no next; DC: isLastPage) */
	long long next_start;       /* DC nextPageStart, -1 when absent */
	size_t dropped;             /* values not looked at: past max_commits */
	size_t skipped;             /* values left out: not an object, hash or a
	                             * parent hash missing / not 40 hex, parents
	                             * not an array or more than BS_API_MAX_PARENTS */
};

/* Parses one page of a commit listing:
 *   Cloud GET /2.0/repositories/{ws}/{repo}/commits?include=&exclude=
 *         {"values":[commit...],"pagelen":n,"next":"https://..."}
 *   DC    GET /rest/api/1.0/projects/{P}/repos/{r}/commits?since=&until=
 *         {"values":[...],"size":n,"isLastPage":bool,"nextPageStart":n,
 *          "start":n,"limit":n}
 * into *out (zeroed first). The first max_commits well-formed values are
 * kept in order; once that many are kept, later values are not examined and
 * only counted in out->dropped. Malformed values (see skipped) are left out
 * and counted, so n_commits + skipped + dropped == values sent.
 * Required: a top-level object with a "values" array; on DC a boolean
 * "isLastPage" and, when it is false, a "nextPageStart" integer >= 0 that
 * is greater than "start" when start is sent (a page that does not advance
 * would loop). Cloud: a "next" that is a string must be an absolute http://
 * or https:// URL of at most BS_API_MAX_URL printable ASCII characters
 * without spaces; null or absent means the last page. The caller must still
 * check that next points at the server it asked (same scheme, host, port)
 * before sending credentials there. Any other product is refused.
 * Returns 0, or -1 with a reason in err (errlen may be 0). */
int bs_api_parse_commits(enum bs_product p, const char *body, size_t len,
    size_t max_commits, struct bs_arena *a, struct bs_api_page *out,
    char *err, size_t errlen);

/* Parses one commit object:
 *   Cloud GET /2.0/repositories/{ws}/{repo}/commit/{rev}
 *   DC    GET /rest/api/1.0/projects/{P}/repos/{r}/commits/{id}
 * into *out (zeroed first). A commit whose hash or a parent hash is missing
 * or not 40 hex is an error here. Returns 0, or -1 with a reason in err. */
int bs_api_parse_commit(enum bs_product p, const char *body, size_t len,
    struct bs_arena *a, struct bs_commit *out, char *err, size_t errlen);

/* Parses the default branch:
 *   Cloud GET /2.0/repositories/{ws}/{repo}: mainbranch.name -> *name,
 *         *head = NULL;
 *   DC    GET /rest/api/1.0/projects/{P}/repos/{r}/branches/default:
 *         displayId -> *name, latestCommit -> *head (40 hex, lower-cased;
 *         NULL when absent).
 * The name must be a non-empty string (a repository without commits has
 * mainbranch null on Cloud: that is an error too). A latestCommit that is
 * present but not 40 hex is an error. Both outputs are NULL on failure.
 * Returns 0, or -1 with a reason in err. */
int bs_api_parse_main_branch(enum bs_product p, const char *body, size_t len,
    struct bs_arena *a, char **name, char **head, char *err, size_t errlen);

/* True when s is exactly 40 hex digits (either case). NULL -> false. */
bool bs_api_is_hash40(const char *s);

#endif
