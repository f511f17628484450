/* metrics: counters and their Prometheus rendering (see metrics.h). Names
 * and help texts are one table so that adding a counter is one line. */
#include "common/metrics.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	const char *name;
	const char *help;
} defs[BS_M__COUNT] = {
	[BS_M_HTTP_REQUESTS] = { "bitsleuth_http_requests_total", "Requests received on the ingest port" },
	[BS_M_DELIVERIES_QUEUED] = { "bitsleuth_deliveries_queued_total", "Deliveries queued as jobs (202)" },
	[BS_M_DELIVERIES_DUPLICATE] = { "bitsleuth_deliveries_duplicate_total", "Deliveries recognised as repeats (200)" },
	[BS_M_DELIVERIES_IGNORED] = { "bitsleuth_deliveries_ignored_total", "Deliveries of events bitsleuth does not use (202)" },
	[BS_M_DELIVERIES_PING] = { "bitsleuth_deliveries_ping_total", "diagnostics:ping deliveries (200)" },
	[BS_M_REFUSED_SIGNATURE] = { "bitsleuth_refused_signature_total", "Deliveries refused for a missing or wrong signature (401)" },
	[BS_M_REFUSED_PAYLOAD] = { "bitsleuth_refused_payload_total", "Deliveries refused for bad UTF-8, JSON, shape or limits (400)" },
	[BS_M_REFUSED_TOO_LARGE] = { "bitsleuth_refused_too_large_total", "Deliveries over the body limit (413)" },
	[BS_M_REFUSED_MEDIA_TYPE] = { "bitsleuth_refused_media_type_total", "Deliveries with a content type other than JSON (415)" },
	[BS_M_REFUSED_OTHER] = { "bitsleuth_refused_other_total", "Requests to unknown paths or with wrong methods (404/405)" },
	[BS_M_QUEUE_UNAVAILABLE] = { "bitsleuth_queue_unavailable_total", "Deliveries answered 503 because Redis did not take them" },
	[BS_M_JOBS_READ] = { "bitsleuth_jobs_read_total", "Stream entries read by this worker" },
	[BS_M_JOBS_REDELIVERED] = { "bitsleuth_jobs_redelivered_total", "Entries claimed from consumers that stopped" },
	[BS_M_JOBS_UNDECODABLE] = { "bitsleuth_jobs_undecodable_total", "Entries that could not be decoded (dead-lettered)" },
	[BS_M_SLEUTH_OK] = { "bitsleuth_sleuth_registered_total", "Deploys Sleuth accepted" },
	[BS_M_SLEUTH_RETRY] = { "bitsleuth_sleuth_retry_total", "Registrations scheduled for a retry" },
	[BS_M_SLEUTH_DEAD] = { "bitsleuth_sleuth_dead_total", "Registrations moved to the dead letters" },
	[BS_M_SLEUTH_DRYRUN] = { "bitsleuth_sleuth_dryrun_total", "Registrations recorded instead of sent (dry_run)" },
	[BS_M_SLEUTH_SUPERSEDED] = { "bitsleuth_sleuth_superseded_total", "Pushes dead-lettered as superseded: held past worker.order_hold, then a newer push was registered" },
	[BS_M_LANES_RELEASED] = { "bitsleuth_lanes_released_total", "Lane heads released after blocking their lane for worker.order_hold" },
	[BS_M_LANES_WOKEN] = { "bitsleuth_lanes_woken_total", "Parked lane heads woken by the sweep (their lease holder died)" },
	[BS_M_RETRIES_PROMOTED] = { "bitsleuth_retries_promoted_total", "Due retries moved back into the jobs stream" },
	[BS_M_REDIS_ERRORS] = { "bitsleuth_redis_errors_total", "Redis commands that failed" },
	[BS_M_HTTP_ACCEPT_PAUSED] = { "bitsleuth_http_accept_paused_total", "Times accepting was paused: http.max_connections reached, or out of file descriptors" },
	[BS_M_DELIVERIES_REF_LIMIT] = { "bitsleuth_deliveries_ref_limit_total", "Data Center mirror syncs over the ref limit: their pushes were not listed and not registered (202 ignored)" },
	[BS_M_SIGNATURE_CURRENT] = { "bitsleuth_signature_current_total", "Deliveries whose signature the current webhook secret verified" },
	[BS_M_SIGNATURE_PREVIOUS] = { "bitsleuth_signature_previous_total", "Deliveries whose signature only the previous secret (bitbucket.secret_previous_env) verified: the rotation is not over while this grows" },
	[BS_M_HTTP_SHED] = { "bitsleuth_http_shed_total", "Connections closed at http.max_connections to make room: idle ones first, then the oldest unfinished request" },
	[BS_M_HTTP_PER_IP_REFUSED] = { "bitsleuth_http_per_ip_refused_total", "Connections refused (503) over http.max_connections_per_ip" },
	[BS_M_HTTP_DEADLINE] = { "bitsleuth_http_deadline_total", "Requests cut (408) because they were not whole within http.timeout_ms of their first byte" },
	[BS_M_HTTP_IDLE_CLOSED] = { "bitsleuth_http_idle_closed_total", "Keep-alive connections closed after http.idle_timeout_ms without a request" },
	[BS_M_HTTP_INFLIGHT_REFUSED] = { "bitsleuth_http_inflight_refused_total", "Requests refused (503) because http.max_inflight_bytes of bodies were in memory" },
	[BS_M_HTTP_BAD_REQUEST] = { "bitsleuth_http_bad_request_total", "Requests the HTTP layer refused: malformed or smuggling-prone framing (400), no length (411), headers too large (431), unsupported (501, 505)" },
	[BS_M_REFUSED_SOURCE] = { "bitsleuth_refused_source_total", "Deliveries refused (403) because their source address is not in bitbucket.allow_cidrs" },
	[BS_M_BACKFILL_DONE] = { "bitsleuth_backfill_done_total", "Deploys whose commits were fetched from Bitbucket's API" },
	[BS_M_BACKFILL_CACHED] = { "bitsleuth_backfill_cached_total", "Deploys whose commits came from the backfill cache (a retry or replay)" },
	[BS_M_BACKFILL_FAILED] = { "bitsleuth_backfill_failed_total", "Bitbucket API lookups that failed: an error answer, an unreadable body, or no answer" },
	[BS_M_BACKFILL_FALLBACK] = { "bitsleuth_backfill_fallback_total", "Deploys registered without commits because the API failed, its budget was spent or backfill.max_wait passed" },
	[BS_M_BACKFILL_OMITTED] = { "bitsleuth_backfill_omitted_total", "Deploys registered without commits because no API credentials are configured for their product" },
	[BS_M_API_REQUESTS] = { "bitsleuth_api_requests_total", "Requests made to Bitbucket's API" },
	[BS_M_API_THROTTLED] = { "bitsleuth_api_throttled_total", "429 answers from Bitbucket's API (every worker then pauses for Retry-After)" },
	[BS_M_MERGE_RESOLVED] = { "bitsleuth_merge_resolved_total", "Merge deploys whose short hash was resolved to 40 characters" },
	[BS_M_MERGE_SHORT] = { "bitsleuth_merge_short_total", "Merge deploys registered with the 12-character hash: neither the API nor the merge push gave the full one within backfill.max_wait" },
	[BS_M_DEPLOY_SAME_SHA] = { "bitsleuth_deploy_same_sha_total", "Deploys not sent because the target's last registration was the same commit (a push and a merge deployment on one target)" },
	[BS_M_REDIS_FAILOVERS] = { "bitsleuth_redis_failovers_total", "Times the Redis master (or the owner of a shard's slot) changed address" },
	[BS_M_REDIS_MOVED] = { "bitsleuth_redis_moved_total", "Redis Cluster MOVED redirects followed" },
	[BS_M_REDIS_ASK] = { "bitsleuth_redis_ask_total", "Redis Cluster ASK redirects followed" },
	[BS_M_REDIS_TRYAGAIN] = { "bitsleuth_redis_tryagain_total", "Redis answers retried after a pause (TRYAGAIN, LOADING, MASTERDOWN, CLUSTERDOWN, READONLY)" },
	[BS_M_REDIS_WAIT_TIMEOUTS] = { "bitsleuth_redis_wait_timeouts_total", "Acknowledging writes whose WAIT saw fewer than redis.wait_replicas replicas (503 or a retry)" },
};

void
bs_metrics_inc(struct bs_metrics *m, enum bs_metric which)
{
	if (which < BS_M__COUNT)
		m->c[which]++;
}

/* Formats into a stack buffer and hands it to out (one call per block). */
static void
emit(bs_metrics_out *out, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
emit(bs_metrics_out *out, void *arg, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out(arg, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void
bs_metrics_render(const struct bs_metrics *m, bs_metrics_out *out, void *arg)
{
	for (int i = 0; i < BS_M__COUNT; i++) {
		emit(out, arg, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    defs[i].name, defs[i].help, defs[i].name, defs[i].name, m->c[i]);
	}
	emit(out, arg,
	    "# HELP bitsleuth_redis_up Whether the Redis connection is up\n"
	    "# TYPE bitsleuth_redis_up gauge\nbitsleuth_redis_up %lld\n"
	    "# HELP bitsleuth_sleuth_in_flight Sleuth requests in flight\n"
	    "# TYPE bitsleuth_sleuth_in_flight gauge\nbitsleuth_sleuth_in_flight %lld\n"
	    "# HELP bitsleuth_http_connections_open Ingest connections open "
	    "(capped by http.max_connections)\n"
	    "# TYPE bitsleuth_http_connections_open gauge\n"
	    "bitsleuth_http_connections_open %lld\n",
	    m->redis_up, m->in_flight, m->http_open);
	if (m->api_budget >= 0)
		emit(out, arg, "# HELP bitsleuth_api_budget_remaining Requests left "
		    "in the Bitbucket API token bucket at the last request\n"
		    "# TYPE bitsleuth_api_budget_remaining gauge\n"
		    "bitsleuth_api_budget_remaining %lld\n", m->api_budget);
	if (m->redis_replica_lag_ms >= 0)
		emit(out, arg, "# HELP bitsleuth_redis_replica_lag_seconds The largest "
		    "replica lag the last INFO replication showed\n"
		    "# TYPE bitsleuth_redis_replica_lag_seconds gauge\n"
		    "bitsleuth_redis_replica_lag_seconds %.3f\n",
		    (double)m->redis_replica_lag_ms / 1000.0);
	if (m->lanes < 0)
		return;
	emit(out, arg,
	    "# HELP bitsleuth_lanes Targets with pushes that have no outcome yet\n"
	    "# TYPE bitsleuth_lanes gauge\nbitsleuth_lanes %lld\n"
	    "# HELP bitsleuth_lane_waiting Pushes waiting behind their lane's head "
	    "(the oldest lanes' sum)\n"
	    "# TYPE bitsleuth_lane_waiting gauge\nbitsleuth_lane_waiting %lld\n"
	    "# HELP bitsleuth_lanes_held Lanes whose failing head blocks younger pushes\n"
	    "# TYPE bitsleuth_lanes_held gauge\nbitsleuth_lanes_held %lld\n"
	    "# HELP bitsleuth_lane_oldest_head_age_seconds Age of the oldest lane head\n"
	    "# TYPE bitsleuth_lane_oldest_head_age_seconds gauge\n"
	    "bitsleuth_lane_oldest_head_age_seconds %.3f\n",
	    m->lanes, m->lane_waiting, m->lanes_held,
	    (double)m->lane_oldest_head_age_ms / 1000.0);
}
