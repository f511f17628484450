/* bb_client: one GET from Bitbucket's REST API for the worker (issue 12),
 * private to worker/.
 *
 * A request carries the configured credential (bitbucket.api.token_env:
 * Bearer; username + app_password_env: Basic), takes a token from the
 * bucket every worker shares for that host and credential
 * (queue/api_budget.h: bitbucket.api.requests_per_hour, burst), and is
 * tried again, within its deadline: after a 429 (every worker pauses for
 * its Retry-After, at most 10 minutes; 60 s when absent), after a 5xx or no
 * answer (backoff 0.5 s doubling to 5 s), and while the bucket is empty.
 * Each try is bounded by bitbucket.api.timeout_ms and by what is left of
 * the deadline; a body over max_response fails the try. Other answers
 * (2xx, 4xx) end the request. */
#ifndef BS_BB_CLIENT_H
#define BS_BB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/event.h"

struct bs_wctx;

struct bs_bb_answer {
	long status;            /* the last HTTP status, 0 when none */
	const char *body;       /* status > 0: the body (NUL-terminated) */
	size_t body_len;
	const char *error;      /* NULL on a 2xx; else why it ended */
};

/* Runs exactly once, from the loop, never before bs_bb_get returns. */
typedef void bs_bb_cb(const struct bs_bb_answer *a, void *arg);

/* Whether product p can be asked at all: credentials are configured and,
 * for Data Center, bitbucket.api.server_url. */
bool bs_bb_available(const struct bs_wctx *ctx, enum bs_product p);

/* The API base URL of product p (no trailing '/'), NULL when none. */
const char *bs_bb_base(const struct bs_wctx *ctx, enum bs_product p);

/* Whether url is on the same scheme, host and port as base (credentials
 * never travel to another server, e.g. in a Cloud `next` link). */
bool bs_bb_same_origin(const char *base, const char *url);

/* GETs url (absolute, on bs_bb_base of p), giving up at deadline_ms
 * (bs_now_ms clock). */
void bs_bb_get(struct bs_wctx *ctx, enum bs_product p, const char *url,
    long long deadline_ms, size_t max_response, bs_bb_cb *cb, void *arg);

/* Exit, after the worker's HTTP client and Redis connections are gone:
 * every request waiting on its timer ends now with "shutting down". */
void bs_bb_cancel_waiting(struct bs_wctx *ctx);

#endif
