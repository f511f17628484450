/* metrics: the registry's counts and observations (see metrics.h). The
 * names, help texts and label values are tables here, so that adding a
 * counter is one line; metrics_render.c writes them out. */
#include "common/metrics.h"
#include "common/metrics_defs.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sorted (strcmp) like enum bs_m_event after BS_MEV_OTHER: checked by
 * tests/unit/common/test_metrics.c. */
const char *const bs_m_event_names[BS_MEV__COUNT] = {
	[BS_MEV_OTHER] = "other",
	[BS_MEV_DIAGNOSTICS_PING] = "diagnostics:ping",
	[BS_MEV_MIRROR_REPO_SYNCHRONIZED] = "mirror:repo_synchronized",
	[BS_MEV_PR_COMMENT_ADDED] = "pr:comment:added",
	[BS_MEV_PR_COMMENT_DELETED] = "pr:comment:deleted",
	[BS_MEV_PR_COMMENT_EDITED] = "pr:comment:edited",
	[BS_MEV_PR_DECLINED] = "pr:declined",
	[BS_MEV_PR_DELETED] = "pr:deleted",
	[BS_MEV_PR_FROM_REF_UPDATED] = "pr:from_ref_updated",
	[BS_MEV_PR_MERGED] = "pr:merged",
	[BS_MEV_PR_MODIFIED] = "pr:modified",
	[BS_MEV_PR_OPENED] = "pr:opened",
	[BS_MEV_PR_REVIEWER_APPROVED] = "pr:reviewer:approved",
	[BS_MEV_PR_REVIEWER_CHANGES_REQUESTED] = "pr:reviewer:changes_requested",
	[BS_MEV_PR_REVIEWER_NEEDS_WORK] = "pr:reviewer:needs_work",
	[BS_MEV_PR_REVIEWER_UNAPPROVED] = "pr:reviewer:unapproved",
	[BS_MEV_PR_REVIEWER_UPDATED] = "pr:reviewer:updated",
	[BS_MEV_PULLREQUEST_APPROVED] = "pullrequest:approved",
	[BS_MEV_PULLREQUEST_CHANGES_REQUEST_CREATED] = "pullrequest:changes_request_created",
	[BS_MEV_PULLREQUEST_CHANGES_REQUEST_REMOVED] = "pullrequest:changes_request_removed",
	[BS_MEV_PULLREQUEST_COMMENT_CREATED] = "pullrequest:comment_created",
	[BS_MEV_PULLREQUEST_COMMENT_DELETED] = "pullrequest:comment_deleted",
	[BS_MEV_PULLREQUEST_COMMENT_REOPENED] = "pullrequest:comment_reopened",
	[BS_MEV_PULLREQUEST_COMMENT_RESOLVED] = "pullrequest:comment_resolved",
	[BS_MEV_PULLREQUEST_COMMENT_UPDATED] = "pullrequest:comment_updated",
	[BS_MEV_PULLREQUEST_CREATED] = "pullrequest:created",
	[BS_MEV_PULLREQUEST_FULFILLED] = "pullrequest:fulfilled",
	[BS_MEV_PULLREQUEST_REJECTED] = "pullrequest:rejected",
	[BS_MEV_PULLREQUEST_UNAPPROVED] = "pullrequest:unapproved",
	[BS_MEV_PULLREQUEST_UPDATED] = "pullrequest:updated",
	[BS_MEV_REPO_PUSH] = "repo:push",
	[BS_MEV_REPO_REFS_CHANGED] = "repo:refs_changed",
};

const char *const bs_m_product_names[BS_M_PRODUCTS] = { "unknown", "cloud", "dc" };

const char *const bs_m_delivery_names[BS_MD__COUNT] = {
	[BS_MD_QUEUED] = "queued", [BS_MD_DUPLICATE] = "duplicate",
	[BS_MD_IGNORED] = "ignored", [BS_MD_PING] = "ping",
	[BS_MD_REF_LIMIT] = "ref_limit", [BS_MD_SIGNATURE] = "signature",
	[BS_MD_PAYLOAD] = "payload", [BS_MD_TOO_LARGE] = "too_large",
	[BS_MD_MEDIA_TYPE] = "media_type", [BS_MD_SOURCE] = "source",
	[BS_MD_UNAVAILABLE] = "unavailable",
};

const char *const bs_m_deploy_names[BS_MDP__COUNT] = {
	[BS_MDP_REGISTERED] = "registered", [BS_MDP_RETRY] = "retry",
	[BS_MDP_DEAD] = "dead", [BS_MDP_DRY_RUN] = "dry_run",
	[BS_MDP_SUPERSEDED] = "superseded", [BS_MDP_SAME_SHA] = "same_sha",
};

const char *const bs_m_sleuth_names[BS_MSL__COUNT] = { "ok", "retry", "dead" };
const char *const bs_m_api_names[BS_MAPI__COUNT] = { "ok", "throttled", "error" };

const double bs_m_bounds[BS_M_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
const double bs_m_wait_bounds[BS_M_WAIT_BOUNDS] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600,
};

const struct bs_m_family bs_m_families[BS_MF__COUNT] = {
	[BS_MF_HTTP_REQUESTS] = { "bitsleuth_http_requests_total", NULL,
	    "Requests received on the ingest port" },
	[BS_MF_HTTP_REFUSED] = { "bitsleuth_http_refused_total", "reason",
	    "Requests refused by the HTTP layer or the router: not_found (404, 405), "
	    "per_ip (503 over http.max_connections_per_ip), inflight (503 over "
	    "http.max_inflight_bytes), bad_request (400, 411, 431, 501, 505: "
	    "malformed or smuggling-prone framing), deadline (408: not whole "
	    "within http.timeout_ms of its first byte)" },
	[BS_MF_HTTP_CLOSED] = { "bitsleuth_http_closed_total", "reason",
	    "Connections closed by bitsleuth: shed (at http.max_connections, to "
	    "make room: idle ones first, then the oldest unfinished request), "
	    "idle (keep-alive past http.idle_timeout_ms)" },
	[BS_MF_HTTP_ACCEPT_PAUSED] = { "bitsleuth_http_accept_paused_total", NULL,
	    "Times accepting was paused: http.max_connections reached, or out of "
	    "file descriptors" },
	[BS_MF_SIGNATURES] = { "bitsleuth_signatures_total", "secret",
	    "Deliveries whose signature a webhook secret verified: previous "
	    "(bitbucket.secret_previous_env) means the rotation is not over" },
	[BS_MF_JOBS] = { "bitsleuth_jobs_total", "outcome",
	    "Stream entries: read by this worker, redelivered (claimed from "
	    "consumers that stopped), undecodable (dead-lettered)" },
	[BS_MF_LANES_RELEASED] = { "bitsleuth_lanes_released_total", NULL,
	    "Lane heads released after blocking their lane for worker.order_hold" },
	[BS_MF_LANES_WOKEN] = { "bitsleuth_lanes_woken_total", NULL,
	    "Parked lane heads woken by the sweep (their lease holder died)" },
	[BS_MF_RETRIES_PROMOTED] = { "bitsleuth_retries_promoted_total", NULL,
	    "Due retries moved back into the jobs stream" },
	[BS_MF_REDIS_ERRORS] = { "bitsleuth_redis_errors_total", NULL,
	    "Redis commands that failed" },
	[BS_MF_REDIS_FAILOVERS] = { "bitsleuth_redis_failovers_total", NULL,
	    "Times the Redis master (or the owner of a shard's slot) changed address" },
	[BS_MF_REDIS_REDIRECTS] = { "bitsleuth_redis_redirects_total", "kind",
	    "Redis Cluster MOVED and ASK redirects followed" },
	[BS_MF_REDIS_TRYAGAIN] = { "bitsleuth_redis_tryagain_total", NULL,
	    "Redis answers retried after a pause (TRYAGAIN, LOADING, MASTERDOWN, "
	    "CLUSTERDOWN, READONLY)" },
	[BS_MF_REDIS_WAIT_TIMEOUTS] = { "bitsleuth_redis_wait_timeouts_total", NULL,
	    "Acknowledging writes whose WAIT saw fewer than redis.wait_replicas "
	    "replicas (503 or a retry)" },
	[BS_MF_BACKFILL] = { "bitsleuth_backfill_total", "outcome",
	    "Deploy commits from Bitbucket's API: done (fetched), cached (from the "
	    "backfill cache), failed (a lookup failed), fallback (sent without "
	    "commits: API failed, budget spent or backfill.max_wait), omitted "
	    "(sent without commits: no credentials for the product)" },
	[BS_MF_MERGE_HASHES] = { "bitsleuth_merge_hashes_total", "outcome",
	    "Merge deploys: resolved (the short hash resolved to 40 characters), "
	    "short (registered with the 12-character hash)" },
	[BS_MF_DISCOVERY] = { "bitsleuth_discovery_refreshes_total", "outcome",
	    "Discovery of projects' code deployments from Sleuth: ok (same "
	    "mapping), changed, failed (the mapping in force stays), cached "
	    "(taken from the Redis cache)" },
	[BS_MF_PATHS] = { "bitsleuth_path_filter_total", "outcome",
	    "Targets with source path prefixes: matched (the push touched them), "
	    "skipped (not registered), unknown (files unknown: registered as if "
	    "there were no prefix)" },
};

const struct bs_m_def bs_m_defs[BS_M__COUNT] = {
	[BS_M_HTTP_REQUESTS] = { BS_MF_HTTP_REQUESTS, NULL },
	[BS_M_REFUSED_OTHER] = { BS_MF_HTTP_REFUSED, "not_found" },
	[BS_M_HTTP_PER_IP_REFUSED] = { BS_MF_HTTP_REFUSED, "per_ip" },
	[BS_M_HTTP_INFLIGHT_REFUSED] = { BS_MF_HTTP_REFUSED, "inflight" },
	[BS_M_HTTP_BAD_REQUEST] = { BS_MF_HTTP_REFUSED, "bad_request" },
	[BS_M_HTTP_DEADLINE] = { BS_MF_HTTP_REFUSED, "deadline" },
	[BS_M_HTTP_SHED] = { BS_MF_HTTP_CLOSED, "shed" },
	[BS_M_HTTP_IDLE_CLOSED] = { BS_MF_HTTP_CLOSED, "idle" },
	[BS_M_HTTP_ACCEPT_PAUSED] = { BS_MF_HTTP_ACCEPT_PAUSED, NULL },
	[BS_M_SIGNATURE_CURRENT] = { BS_MF_SIGNATURES, "current" },
	[BS_M_SIGNATURE_PREVIOUS] = { BS_MF_SIGNATURES, "previous" },
	[BS_M_JOBS_READ] = { BS_MF_JOBS, "read" },
	[BS_M_JOBS_REDELIVERED] = { BS_MF_JOBS, "redelivered" },
	[BS_M_JOBS_UNDECODABLE] = { BS_MF_JOBS, "undecodable" },
	[BS_M_LANES_RELEASED] = { BS_MF_LANES_RELEASED, NULL },
	[BS_M_LANES_WOKEN] = { BS_MF_LANES_WOKEN, NULL },
	[BS_M_RETRIES_PROMOTED] = { BS_MF_RETRIES_PROMOTED, NULL },
	[BS_M_REDIS_ERRORS] = { BS_MF_REDIS_ERRORS, NULL },
	[BS_M_REDIS_FAILOVERS] = { BS_MF_REDIS_FAILOVERS, NULL },
	[BS_M_REDIS_MOVED] = { BS_MF_REDIS_REDIRECTS, "moved" },
	[BS_M_REDIS_ASK] = { BS_MF_REDIS_REDIRECTS, "ask" },
	[BS_M_REDIS_TRYAGAIN] = { BS_MF_REDIS_TRYAGAIN, NULL },
	[BS_M_REDIS_WAIT_TIMEOUTS] = { BS_MF_REDIS_WAIT_TIMEOUTS, NULL },
	[BS_M_BACKFILL_DONE] = { BS_MF_BACKFILL, "done" },
	[BS_M_BACKFILL_CACHED] = { BS_MF_BACKFILL, "cached" },
	[BS_M_BACKFILL_FAILED] = { BS_MF_BACKFILL, "failed" },
	[BS_M_BACKFILL_FALLBACK] = { BS_MF_BACKFILL, "fallback" },
	[BS_M_BACKFILL_OMITTED] = { BS_MF_BACKFILL, "omitted" },
	[BS_M_MERGE_RESOLVED] = { BS_MF_MERGE_HASHES, "resolved" },
	[BS_M_MERGE_SHORT] = { BS_MF_MERGE_HASHES, "short" },
	[BS_M_DISCOVERY_OK] = { BS_MF_DISCOVERY, "ok" },
	[BS_M_DISCOVERY_CHANGED] = { BS_MF_DISCOVERY, "changed" },
	[BS_M_DISCOVERY_FAILED] = { BS_MF_DISCOVERY, "failed" },
	[BS_M_DISCOVERY_CACHED] = { BS_MF_DISCOVERY, "cached" },
	[BS_M_PATHS_MATCHED] = { BS_MF_PATHS, "matched" },
	[BS_M_PATHS_SKIPPED] = { BS_MF_PATHS, "skipped" },
	[BS_M_PATHS_UNKNOWN] = { BS_MF_PATHS, "unknown" },
};

void
bs_metrics_inc(struct bs_metrics *m, enum bs_metric which)
{
	if ((unsigned)which < BS_M__COUNT)
		m->c[which]++;
}

static int
cmp_event(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

enum bs_m_event
bs_metrics_event_of(const char *event_key)
{
	if (!event_key)
		return BS_MEV_OTHER;
	const char *const *hit = bsearch(event_key, bs_m_event_names + 1,
	    BS_MEV__COUNT - 1, sizeof(bs_m_event_names[0]), cmp_event);
	return hit ? (enum bs_m_event)(hit - bs_m_event_names) : BS_MEV_OTHER;
}

void
bs_metrics_delivery(struct bs_metrics *m, int product, enum bs_m_event event,
    enum bs_m_delivery outcome)
{
	if ((unsigned)product >= BS_M_PRODUCTS)
		product = 0;
	if ((unsigned)event >= BS_MEV__COUNT)
		event = BS_MEV_OTHER;
	if ((unsigned)outcome < BS_MD__COUNT)
		m->deliveries[product][event][outcome]++;
}

static void
observe(struct bs_hist *h, const double *bounds, size_t n, double v)
{
	if (!(v >= 0))      /* negative or NaN: a clock step; counts as 0 */
		v = 0;
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	h->b[i]++;
	h->count++;
	h->sum += v;
}

void
bs_metrics_ingest_observe(struct bs_metrics *m, enum bs_m_delivery outcome,
    double seconds)
{
	if ((unsigned)outcome < BS_MD__COUNT)
		observe(&m->ingest[outcome], bs_m_bounds, BS_M_BOUNDS, seconds);
}

/* FNV-1a */
static unsigned
slug_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int
bs_metrics_deployment(struct bs_metrics *m, const char *slug)
{
	if (!slug)
		return 0;
	size_t len = strlen(slug);
	if (len >= BS_M_SLUG_MAX)
		return 0;
	unsigned i = slug_hash(slug) & (BS_M_DEP_SLOTS - 1);
	for (;;) {
		int d = m->dep_slot[i];
		if (d == 0)
			break;
		if (strcmp(m->deps[d].slug, slug) == 0)
			return d;
		i = (i + 1) & (BS_M_DEP_SLOTS - 1);
	}
	if (m->n_deps >= BS_M_DEPLOYMENTS)
		return 0;
	int d = ++m->n_deps;
	memcpy(m->deps[d].slug, slug, len + 1);
	m->dep_slot[i] = (unsigned short)d;
	return d;
}

void
bs_metrics_deploy(struct bs_metrics *m, int dep, enum bs_m_deploy outcome)
{
	if (dep < 0 || dep > m->n_deps)
		dep = 0;
	if ((unsigned)outcome < BS_MDP__COUNT)
		m->deps[dep].deploys[outcome]++;
}

void
bs_metrics_sleuth_observe(struct bs_metrics *m, int dep,
    enum bs_m_sleuth outcome, double seconds)
{
	if (dep < 0 || dep > m->n_deps)
		dep = 0;
	if ((unsigned)outcome < BS_MSL__COUNT)
		observe(&m->deps[dep].sleuth[outcome], bs_m_bounds, BS_M_BOUNDS,
		    seconds);
}

void
bs_metrics_api_observe(struct bs_metrics *m, enum bs_m_api outcome,
    double seconds)
{
	if ((unsigned)outcome >= BS_MAPI__COUNT)
		return;
	observe(&m->api_duration[outcome], bs_m_bounds, BS_M_BOUNDS, seconds);
}

void
bs_metrics_queue_wait_observe(struct bs_metrics *m, double seconds)
{
	observe(&m->queue_wait, bs_m_wait_bounds, BS_M_WAIT_BOUNDS, seconds);
}

double
bs_metrics_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
