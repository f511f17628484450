/* bb_client: see bb_client.h.
 *
 * A request is a small state machine on one timer: take a token (Redis),
 * GET (the worker's curl multi), and on a 429, a 5xx, no answer or an
 * empty bucket wait on the timer and take a token again, until the
 * deadline. The first step runs from the timer too, so the callback never
 * runs before bs_bb_get returns. The credential header is built for each
 * try and wiped once curl has copied it. */
#include "worker/bb_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/timer.h"
#include "common/xalloc.h"
#include "queue/api_budget.h"
#include "worker/context.h"

#define BB_PAUSE_DEFAULT_MS 60000LL     /* a 429 without Retry-After */
#define BB_PAUSE_MAX_MS (10 * 60000LL)
#define BB_BACKOFF_FIRST_MS 500LL
#define BB_BACKOFF_MAX_MS 5000LL
#define BB_REDIS_WAIT_MS 500LL          /* Redis did not answer the bucket */

struct bb_req {
	struct bs_wctx *ctx;
	enum bs_product product;
	char *url;
	long long deadline;
	size_t max_response;
	bs_bb_cb *cb;
	void *arg;
	struct event *timer;
	int failures;               /* 5xx / no answer so far */
	double sent_at;             /* bs_metrics_now() at the current GET */
	long last_status;
	char why[300];              /* the last failure, for the final error */
	char bucket[40];            /* its API budget (api_budget.h) */
	struct bb_req *prev, *next; /* ctx->bb_reqs */
};

const char *
bs_bb_base(const struct bs_wctx *ctx, enum bs_product p)
{
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	const char *b = p == BS_PRODUCT_CLOUD ? api->cloud_url :
	    p == BS_PRODUCT_DC ? api->server_url : NULL;
	return b && *b ? b : NULL;
}

bool
bs_bb_available(const struct bs_wctx *ctx, enum bs_product p)
{
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	return (api->token || (api->username && api->app_password)) &&
	    bs_bb_base(ctx, p) != NULL;
}

/* Length of "scheme://authority" of u, 0 when u has no "://". */
static size_t
origin_len(const char *u)
{
	const char *s = strstr(u, "://");
	if (!s)
		return 0;
	s += 3;
	return (size_t)(s - u) + strcspn(s, "/?#");
}

bool
bs_bb_same_origin(const char *base, const char *url)
{
	size_t a = origin_len(base), b = origin_len(url);
	return a > 0 && a == b && strncasecmp(base, url, a) == 0;
}

/* "Authorization: ..." for the configured credential (malloc'd), and the
 * bucket name for it and the host in bucket (hash of both: the secret is
 * never a key name). NULL without credentials. */
static char *
auth_header(const struct bs_wctx *ctx, const char *base, char *bucket,
    size_t bucketlen)
{
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	char *cred;
	if (api->token) {
		size_t n = strlen(api->token) + 30;
		cred = xmalloc(n);
		snprintf(cred, n, "Authorization: Bearer %s", api->token);
	} else if (api->username && api->app_password) {
		size_t ul = strlen(api->username), pl = strlen(api->app_password);
		unsigned char *plain = xmalloc(ul + pl + 2);
		memcpy(plain, api->username, ul);
		plain[ul] = ':';
		memcpy(plain + ul + 1, api->app_password, pl);
		size_t b64 = 4 * ((ul + pl + 1 + 2) / 3) + 1;
		cred = xmalloc(b64 + 30);
		int n = snprintf(cred, b64 + 30, "Authorization: Basic ");
		EVP_EncodeBlock((unsigned char *)cred + n, plain, (int)(ul + pl + 1));
		OPENSSL_cleanse(plain, ul + pl + 1);
		free(plain);
	} else {
		return NULL;
	}
	unsigned char md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(h, base, origin_len(base)) != 1 ||
	    EVP_DigestUpdate(h, "\n", 1) != 1 ||
	    EVP_DigestUpdate(h, cred, strlen(cred)) != 1 ||
	    EVP_DigestFinal_ex(h, md, NULL) != 1)
		memset(md, 0, sizeof(md));
	EVP_MD_CTX_free(h);
	char hex[2 * 8 + 1];
	snprintf(bucket, bucketlen, "bb.%s", bs_hex_encode(hex, md, 8));
	return cred;
}

static void
finish(struct bb_req *q, long status, const char *body, size_t len,
    const char *error)
{
	struct bs_bb_answer a = { .status = status, .body = body ? body : "",
		.body_len = body ? len : 0, .error = error };
	if (q->prev)
		q->prev->next = q->next;
	else
		q->ctx->bb_reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->cb(&a, q->arg);
	event_free(q->timer);
	free(q->url);
	free(q);
}

/* Waits ms, then tries again; ends the request now when that is past its
 * deadline. */
static void
again_in(struct bb_req *q, long long ms, const char *why)
{
	long long now = bs_now_ms();
	if (now + ms >= q->deadline) {
		char e[400];
		snprintf(e, sizeof(e), "backfill.max_wait would pass: %s", why);
		finish(q, q->last_status, NULL, 0, e);
		return;
	}
	bs_timer_arm_ms(q->timer, ms);
}

static bool
shutting_down(const struct bb_req *q)
{
	return !q->ctx->http || !q->ctx->redis || !bs_wctx_shard0(q->ctx)->redis;
}

static void
on_paused(int granted, long long wait_ms, long long remaining,
    const char *err, void *arg)
{
	(void)granted;
	(void)remaining;
	struct bb_req *q = arg;
	if (shutting_down(q)) {
		finish(q, q->last_status, NULL, 0, "shutting down");
		return;
	}
	again_in(q, err ? BB_PAUSE_DEFAULT_MS : wait_ms, q->why);
}

static void
on_answer(const struct bs_http_response *resp, void *arg)
{
	struct bb_req *q = arg;
	struct bs_wctx *ctx = q->ctx;
	long st = resp->status;
	bs_metrics_api_observe(ctx->metrics, st >= 200 && st < 300 ? BS_MAPI_OK :
	    st == 429 ? BS_MAPI_THROTTLED : BS_MAPI_ERROR,
	    bs_metrics_now() - q->sent_at);
	q->last_status = resp->status;
	if (shutting_down(q)) {
		finish(q, resp->status, NULL, 0, "shutting down");
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		finish(q, resp->status, resp->body, resp->body_len, NULL);
		return;
	}
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	if (resp->status == 429) {
		long long pause = resp->retry_after_s > 0 ?
		    resp->retry_after_s * 1000LL : BB_PAUSE_DEFAULT_MS;
		if (pause > BB_PAUSE_MAX_MS)
			pause = BB_PAUSE_MAX_MS;
		snprintf(q->why, sizeof(q->why), "Bitbucket answered 429 (rate "
		    "limited, Retry-After %ld s)", resp->retry_after_s);
		log_info("bitbucket api: 429 for %s; every worker pauses %lld ms",
		    q->url, pause);
		bs_api_budget_pause(bs_wctx_shard0(ctx)->redis,
		    bs_wctx_shard0(ctx)->keys, q->bucket,
		    api->requests_per_hour, api->burst, pause, on_paused, q);
		return;
	}
	if (resp->status == 0 || resp->status >= 500) {
		if (resp->status == 0)
			snprintf(q->why, sizeof(q->why), "no answer from Bitbucket: %s",
			    resp->error ? resp->error : "?");
		else
			snprintf(q->why, sizeof(q->why), "Bitbucket answered %ld",
			    resp->status);
		long long ms = BB_BACKOFF_FIRST_MS << (q->failures < 4 ?
		    q->failures : 4);
		q->failures++;
		again_in(q, ms < BB_BACKOFF_MAX_MS ? ms : BB_BACKOFF_MAX_MS, q->why);
		return;
	}
	snprintf(q->why, sizeof(q->why), "Bitbucket answered %ld", resp->status);
	finish(q, resp->status, resp->body, resp->body_len, q->why);
}

static void
on_budget(int granted, long long wait_ms, long long remaining,
    const char *err, void *arg)
{
	struct bb_req *q = arg;
	struct bs_wctx *ctx = q->ctx;
	if (shutting_down(q)) {
		finish(q, q->last_status, NULL, 0, "shutting down");
		return;
	}
	if (err) {
		snprintf(q->why, sizeof(q->why), "the API budget in Redis did not "
		    "answer: %s", err);
		again_in(q, BB_REDIS_WAIT_MS, q->why);
		return;
	}
	ctx->metrics->api_budget = remaining;
	if (!granted) {
		if (q->why[0] == '\0' || strstr(q->why, "budget"))
			snprintf(q->why, sizeof(q->why), "the API budget "
			    "(bitbucket.api.requests_per_hour) is spent");
		again_in(q, wait_ms > 0 ? wait_ms : 1, q->why);
		return;
	}
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	char bucket[40];
	char *cred = auth_header(ctx, bs_bb_base(ctx, q->product), bucket,
	    sizeof(bucket));
	if (!cred) {
		finish(q, 0, NULL, 0, "no Bitbucket API credentials");
		return;
	}
	long long left = q->deadline - bs_now_ms();
	long timeout = api->timeout_ms;
	if (left < timeout)
		timeout = left > 1 ? (long)left : 1;
	const char *headers[] = { cred, "Accept: application/json" };
	struct bs_http_request req = {
		.url = q->url,
		.headers = headers,
		.n_headers = 2,
		.connect_timeout_ms = api->connect_timeout_ms < timeout ?
		    api->connect_timeout_ms : timeout,
		.timeout_ms = timeout,
		.max_response = q->max_response,
		.whole_response = true,
		.get = true,
	};
	q->sent_at = bs_metrics_now();
	int rc = bs_http_post(ctx->http, &req, on_answer, q);
	OPENSSL_cleanse(cred, strlen(cred));
	free(cred);
	if (rc != 0)
		finish(q, 0, NULL, 0, "shutting down");
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bb_req *q = arg;
	struct bs_wctx *ctx = q->ctx;
	if (shutting_down(q)) {
		finish(q, q->last_status, NULL, 0, "shutting down");
		return;
	}
	if (bs_now_ms() >= q->deadline) {
		char e[400];
		snprintf(e, sizeof(e), "backfill.max_wait passed%s%s",
		    q->why[0] ? ": " : "", q->why);
		finish(q, q->last_status, NULL, 0, e);
		return;
	}
	const struct bs_bitbucket_api *api = &ctx->live->cfg->bitbucket.api;
	if (!q->bucket[0]) {
		finish(q, 0, NULL, 0, "no Bitbucket API credentials");
		return;
	}
	bs_api_budget_take(bs_wctx_shard0(ctx)->redis,
	    bs_wctx_shard0(ctx)->keys, q->bucket,
	    api->requests_per_hour, api->burst, on_budget, q);
}

void
bs_bb_get(struct bs_wctx *ctx, enum bs_product p, const char *url,
    long long deadline_ms, size_t max_response, bs_bb_cb *cb, void *arg)
{
	struct bb_req *q = xcalloc(1, sizeof(*q));
	q->ctx = ctx;
	q->product = p;
	q->url = xstrdup(url);
	q->deadline = deadline_ms;
	q->max_response = max_response;
	q->cb = cb;
	q->arg = arg;
	char *cred = auth_header(ctx, bs_bb_base(ctx, p), q->bucket,
	    sizeof(q->bucket));
	if (cred) {
		OPENSSL_cleanse(cred, strlen(cred));
		free(cred);
	} else {
		q->bucket[0] = '\0';
	}
	q->timer = evtimer_new(ctx->base, on_timer, q);
	if (!q->timer) {
		log_error("cannot create a timer");
		abort();
	}
	q->next = ctx->bb_reqs;
	if (q->next)
		q->next->prev = q;
	ctx->bb_reqs = q;
	event_active(q->timer, EV_TIMEOUT, 0);
}

void
bs_bb_cancel_waiting(struct bs_wctx *ctx)
{
	for (struct bb_req *q = ctx->bb_reqs, *next; q; q = next) {
		next = q->next;
		if (event_pending(q->timer, EV_TIMEOUT, NULL)) {
			event_del(q->timer);
			finish(q, q->last_status, NULL, 0, "shutting down");
		}
	}
}
