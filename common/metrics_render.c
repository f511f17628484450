/* metrics_render: the Prometheus text exposition (format 0.0.4) of a
 * registry (see metrics.h). Every family is written whole, HELP and TYPE
 * first; label values are escaped (\\, \", \n); the text goes out through
 * the caller's writer in blocks of a few KiB. */
#include "common/metrics.h"
#include "common/metrics_defs.h"
#include "common/proc_stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The library versions bitsleuth was built against (CMakeLists.txt, from
 * pkg-config). */
#ifndef BS_VERSION
#define BS_VERSION "unknown"
#endif
#ifndef BS_BUILD_LIBEVENT
#define BS_BUILD_LIBEVENT "unknown"
#endif
#ifndef BS_BUILD_HIREDIS
#define BS_BUILD_HIREDIS "unknown"
#endif
#ifndef BS_BUILD_CURL
#define BS_BUILD_CURL "unknown"
#endif
#ifndef BS_BUILD_OPENSSL
#define BS_BUILD_OPENSSL "unknown"
#endif

struct w {
	bs_metrics_out *out;
	void *arg;
	size_t len;
	char buf[8192];
};

static void
w_flush(struct w *w)
{
	if (w->len)
		w->out(w->arg, w->buf, w->len);
	w->len = 0;
}

static void
w_printf(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
w_printf(struct w *w, const char *fmt, ...)
{
	for (int pass = 0; pass < 2; pass++) {
		size_t room = sizeof(w->buf) - w->len;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(w->buf + w->len, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			w->len += (size_t)n;
			return;
		}
		/* Did not fit: send what is there and format again. A single
		 * piece over the whole buffer (none is: labels are capped)
		 * goes out cut. */
		if (pass == 0 && w->len) {
			w_flush(w);
			continue;
		}
		w->len = sizeof(w->buf) - 1;
		w_flush(w);
		return;
	}
}

/* v with \, " and newline escaped, into out (cut to fit). */
static const char *
esc(char *out, size_t cap, const char *v)
{
	size_t o = 0;
	for (; *v && o + 3 < cap; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	return out;
}

static void
head(struct w *w, const char *name, const char *type, const char *help)
{
	w_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The _bucket, _sum and _count series of h under labels ('k="v",...' or
 * ""), the buckets cumulative. */
static void
hist(struct w *w, const char *name, const char *labels, const double *bounds,
    size_t nb, const struct bs_hist *h)
{
	const char *sep = labels[0] ? "," : "";
	unsigned long long cum = 0;
	for (size_t i = 0; i < nb; i++) {
		cum += h->b[i];
		w_printf(w, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
		    bounds[i], cum);
	}
	cum += h->b[nb];
	w_printf(w, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
	const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
	w_printf(w, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels,
	    close, h->sum, name, open, labels, close, h->count);
}

static void
counters(struct w *w, const struct bs_metrics *m, int fam)
{
	const struct bs_m_family *f = &bs_m_families[fam];
	head(w, f->name, "counter", f->help);
	for (int i = 0; i < BS_M__COUNT; i++) {
		if (bs_m_defs[i].fam != fam)
			continue;
		if (f->label)
			w_printf(w, "%s{%s=\"%s\"} %llu\n", f->name, f->label,
			    bs_m_defs[i].value, m->c[i]);
		else
			w_printf(w, "%s %llu\n", f->name, m->c[i]);
	}
}

static void
deliveries(struct w *w, const struct bs_metrics *m)
{
	static const char name[] = "bitsleuth_deliveries_total";
	head(w, name, "counter", "Deliveries on POST /hooks/bitbucket by product "
	    "(cloud, dc, unknown), X-Event-Key ('other' when not one bitsleuth "
	    "knows) and outcome (queued, duplicate, ignored, ping, ref_limit, "
	    "signature, payload, too_large, media_type, source, unavailable); a "
	    "series appears with its first delivery");
	for (int p = 0; p < BS_M_PRODUCTS; p++)
		for (int e = 0; e < BS_MEV__COUNT; e++)
			for (int o = 0; o < BS_MD__COUNT; o++) {
				unsigned long long v = m->deliveries[p][e][o];
				if (v)
					w_printf(w, "%s{product=\"%s\",event=\"%s\","
					    "outcome=\"%s\"} %llu\n", name, bs_m_product_names[p],
					    bs_m_event_names[e], bs_m_delivery_names[o], v);
			}
}

static void
deployments(struct w *w, const struct bs_metrics *m)
{
	char slug[2 * BS_M_SLUG_MAX + 8], labels[3 * BS_M_SLUG_MAX];
	static const char dn[] = "bitsleuth_deploys_total";
	head(w, dn, "counter", "Deploys (a push for a Sleuth code deployment) by "
	    "outcome: registered, retry (scheduled), dead, dry_run, superseded "
	    "(dead: held past worker.order_hold), same_sha (not sent: the target's "
	    "last registered commit); at most 160 deployments, then 'other'");
	for (int d = 1; d <= m->n_deps + 1; d++) {
		int i = d <= m->n_deps ? d : 0;     /* "other" last */
		const struct bs_m_dep *dep = &m->deps[i];
		unsigned long long any = 0;
		for (int o = 0; o < BS_MDP__COUNT; o++)
			any |= dep->deploys[o];
		if (i == 0 && !any)
			continue;
		esc(slug, sizeof(slug), i ? dep->slug : "other");
		for (int o = 0; o < BS_MDP__COUNT; o++)
			w_printf(w, "%s{deployment=\"%s\",outcome=\"%s\"} %llu\n", dn,
			    slug, bs_m_deploy_names[o], dep->deploys[o]);
	}
	static const char sn[] = "bitsleuth_sleuth_request_duration_seconds";
	head(w, sn, "histogram", "register_deploy calls to Sleuth, from the "
	    "request to its answer, by deployment and outcome (ok, retry, dead: how "
	    "the answer was classified)");
	for (int d = 1; d <= m->n_deps + 1; d++) {
		int i = d <= m->n_deps ? d : 0;
		const struct bs_m_dep *dep = &m->deps[i];
		esc(slug, sizeof(slug), i ? dep->slug : "other");
		for (int o = 0; o < BS_MSL__COUNT; o++) {
			if (!dep->sleuth[o].count)
				continue;
			snprintf(labels, sizeof(labels), "deployment=\"%s\",outcome=\"%s\"",
			    slug, bs_m_sleuth_names[o]);
			hist(w, sn, labels, bs_m_bounds, BS_M_BOUNDS, &dep->sleuth[o]);
		}
	}
}

static void
histograms(struct w *w, const struct bs_metrics *m)
{
	char labels[64];
	static const char in[] = "bitsleuth_ingest_request_duration_seconds";
	head(w, in, "histogram", "Deliveries from their first byte to their answer "
	    "(the enqueue in Redis included), by outcome as in deliveries_total");
	for (int o = 0; o < BS_MD__COUNT; o++) {
		if (!m->ingest[o].count)
			continue;
		snprintf(labels, sizeof(labels), "outcome=\"%s\"",
		    bs_m_delivery_names[o]);
		hist(w, in, labels, bs_m_bounds, BS_M_BOUNDS, &m->ingest[o]);
	}
	static const char an[] = "bitsleuth_bitbucket_api_requests_total";
	head(w, an, "counter", "Requests to Bitbucket's API by outcome: ok (2xx), "
	    "throttled (429: every worker then pauses for Retry-After), error (no "
	    "answer, 5xx, other 4xx)");
	for (int o = 0; o < BS_MAPI__COUNT; o++)
		w_printf(w, "%s{outcome=\"%s\"} %llu\n", an, bs_m_api_names[o],
		    m->api_duration[o].count);
	static const char ad[] = "bitsleuth_bitbucket_api_request_duration_seconds";
	head(w, ad, "histogram", "Requests to Bitbucket's API, from the request to "
	    "its answer, by outcome");
	for (int o = 0; o < BS_MAPI__COUNT; o++) {
		if (!m->api_duration[o].count)
			continue;
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", bs_m_api_names[o]);
		hist(w, ad, labels, bs_m_bounds, BS_M_BOUNDS, &m->api_duration[o]);
	}
	static const char qn[] = "bitsleuth_queue_wait_seconds";
	head(w, qn, "histogram", "Deploys from the delivery's receipt (its 202) "
	    "to the deploy's outcome: registered, dry_run, dead, superseded or "
	    "same_sha (retries wait inside it)");
	hist(w, qn, "", bs_m_wait_bounds, BS_M_WAIT_BOUNDS, &m->queue_wait);
}

/* A gauge of one series, printed with prec decimals. */
static void
gauge(struct w *w, const char *name, const char *help, int prec, double v)
{
	head(w, name, "gauge", help);
	w_printf(w, "%s %.*f\n", name, prec, v);
}

static void
gauges(struct w *w, const struct bs_metrics *m)
{
	gauge(w, "bitsleuth_redis_up", "Whether the Redis connection is up "
	    "(every shard's pool)", 0, (double)m->redis_up);
	gauge(w, "bitsleuth_sleuth_in_flight", "Sleuth requests in flight", 0,
	    (double)m->in_flight);
	gauge(w, "bitsleuth_http_connections_open", "Ingest connections open "
	    "(capped by http.max_connections)", 0, (double)m->http_open);
	if (m->api_budget >= 0)
		gauge(w, "bitsleuth_api_budget_remaining", "Requests left in the "
		    "Bitbucket API token bucket at the last request", 0,
		    (double)m->api_budget);
	if (m->discovered_targets >= 0)
		gauge(w, "bitsleuth_discovered_targets", "Targets learned from "
		    "Sleuth (projects with discover: true) in force", 0,
		    (double)m->discovered_targets);
	if (m->discovery_oldest_ms >= 0)
		gauge(w, "bitsleuth_discovery_learned_timestamp_seconds", "When the "
		    "oldest project mapping in force was learned from Sleuth (unix "
		    "time)", 3, (double)m->discovery_oldest_ms / 1000.0);
	if (m->redis_replica_lag_ms >= 0)
		gauge(w, "bitsleuth_redis_replica_lag_seconds", "The largest replica "
		    "lag the last INFO replication showed", 3,
		    (double)m->redis_replica_lag_ms / 1000.0);
	if (m->lanes >= 0) {
		gauge(w, "bitsleuth_lanes", "Targets with pushes that have no outcome "
		    "yet", 0, (double)m->lanes);
		gauge(w, "bitsleuth_lane_waiting", "Pushes waiting behind their lane's "
		    "head (the oldest lanes' sum)", 0, (double)m->lane_waiting);
		gauge(w, "bitsleuth_lanes_held", "Lanes whose failing head blocks "
		    "younger pushes", 0, (double)m->lanes_held);
		gauge(w, "bitsleuth_lane_oldest_head_age_seconds", "Age of the oldest "
		    "lane head", 3, (double)m->lane_oldest_head_age_ms / 1000.0);
	}
	char v[5][96];
	head(w, "bitsleuth_build_info", "gauge", "Always 1: the bitsleuth version "
	    "and the library versions it was built against");
	w_printf(w, "bitsleuth_build_info{version=\"%s\",libevent=\"%s\",hiredis="
	    "\"%s\",curl=\"%s\",openssl=\"%s\"} 1\n",
	    esc(v[0], sizeof(v[0]), BS_VERSION),
	    esc(v[1], sizeof(v[1]), BS_BUILD_LIBEVENT),
	    esc(v[2], sizeof(v[2]), BS_BUILD_HIREDIS),
	    esc(v[3], sizeof(v[3]), BS_BUILD_CURL),
	    esc(v[4], sizeof(v[4]), BS_BUILD_OPENSSL));
}

static void
process(struct w *w)
{
	struct bs_proc_stats st;
	bs_proc_stats_read(&st);
	if (st.have_stat) {
		head(w, "process_cpu_seconds_total", "counter", "Total user and "
		    "system CPU time spent in seconds.");
		w_printf(w, "process_cpu_seconds_total %.2f\n", st.cpu_seconds);
		gauge(w, "process_resident_memory_bytes", "Resident memory size in "
		    "bytes.", 0, st.resident_bytes);
		gauge(w, "process_virtual_memory_bytes", "Virtual memory size in "
		    "bytes.", 0, st.virtual_bytes);
		gauge(w, "process_start_time_seconds", "Start time of the process "
		    "since unix epoch in seconds.", 2, st.start_time);
	}
	if (st.have_fds)
		gauge(w, "process_open_fds", "Number of open file descriptors.",
		    0, st.open_fds);
	if (st.have_max_fds)
		gauge(w, "process_max_fds", "Maximum number of open file "
		    "descriptors.", 0, st.max_fds);
}

void
bs_metrics_render(const struct bs_metrics *m, bs_metrics_out *out, void *arg)
{
	struct w w;
	w.out = out;
	w.arg = arg;
	w.len = 0;
	counters(&w, m, BS_MF_HTTP_REQUESTS);
	deliveries(&w, m);
	for (int f = BS_MF_HTTP_REFUSED; f < BS_MF__COUNT; f++)
		counters(&w, m, f);
	deployments(&w, m);
	histograms(&w, m);
	gauges(&w, m);
	process(&w);
	w_flush(&w);
}
