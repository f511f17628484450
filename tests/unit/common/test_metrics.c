/* Unit tests of common/metrics: the registry's counters, labeled families,
 * histograms, the deployment label table and its cap, and the Prometheus
 * text they render through the caller's writer; the whole text goes
 * through `promtool check metrics` (Debian's prometheus package). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/metrics.h"
#include "tests/unit/test.h"

struct text {
	char *buf;
	size_t len, cap;
	int calls;
};

static void
collect(void *arg, const char *s, size_t n)
{
	struct text *t = arg;
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	t->calls++;
}

/* A fresh registry as the process sets it up (gauges unknown). */
static struct bs_metrics *
fresh(void)
{
	struct bs_metrics *m = calloc(1, sizeof(*m));
	m->lanes = -1;
	m->api_budget = -1;
	m->redis_replica_lag_ms = -1;
	m->discovered_targets = -1;
	m->discovery_oldest_ms = -1;
	return m;
}

static char *
render(const struct bs_metrics *m)
{
	struct text t = {0};
	bs_metrics_render(m, collect, &t);
	return t.buf;
}

/* Whether text has the line (without its newline). */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static size_t
count_prefix(const char *text, const char *prefix)
{
	size_t k = 0, n = strlen(prefix);
	for (const char *p = text; *p; ) {
		if (strncmp(p, prefix, n) == 0)
			k++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return k;
}

/* Every sample line belongs to the family whose TYPE came last (a family
 * is written whole), and no family is declared twice. */
static int
families_whole(const char *text)
{
	char fam[128] = "", seen[8192] = " ";
	for (const char *p = text; *p; ) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (strncmp(p, "# TYPE ", 7) == 0) {
			size_t k = strcspn(p + 7, " ");
			snprintf(fam, sizeof(fam), "%.*s", (int)k, p + 7);
			char key[140];
			snprintf(key, sizeof(key), " %s ", fam);
			if (strstr(seen, key))
				return 0;
			size_t sl = strlen(seen);
			snprintf(seen + sl, sizeof(seen) - sl, "%s ", fam);
		} else if (p[0] != '#') {
			size_t fl = strlen(fam);
			if (fl == 0 || strncmp(p, fam, fl) != 0)
				return 0;
			const char *rest = p + fl;
			if (*rest != ' ' && *rest != '{' && strncmp(rest, "_bucket{", 8) &&
			    strncmp(rest, "_sum", 4) && strncmp(rest, "_count", 6))
				return 0;
		}
		if (!nl)
			break;
		p = nl + 1;
		(void)n;
	}
	return 1;
}

static double
value_of(const char *text, const char *series)
{
	char key[256];
	snprintf(key, sizeof(key), "\n%s ", series);
	const char *p = strstr(text, key);
	return p ? strtod(p + strlen(key), NULL) : -1;
}

int
main(void)
{
	TEST("labeled counters: each enum value is one series of its family") {
		struct bs_metrics *m = fresh();
		bs_metrics_inc(m, BS_M_HTTP_SHED);
		bs_metrics_inc(m, BS_M_HTTP_SHED);
		bs_metrics_inc(m, BS_M_REDIS_MOVED);
		bs_metrics_inc(m, BS_M_REFUSED_OTHER);
		bs_metrics_inc(m, BS_M_HTTP_REQUESTS);
		m->redis_up = 1;
		m->http_open = 7;
		char *t = render(m);
		CHECK(has_line(t, "# TYPE bitsleuth_http_closed_total counter"));
		CHECK(has_line(t, "bitsleuth_http_closed_total{reason=\"shed\"} 2"));
		CHECK(has_line(t, "bitsleuth_http_closed_total{reason=\"idle\"} 0"));
		CHECK(has_line(t, "bitsleuth_redis_redirects_total{kind=\"moved\"} 1"));
		CHECK(has_line(t, "bitsleuth_redis_redirects_total{kind=\"ask\"} 0"));
		CHECK(has_line(t, "bitsleuth_http_refused_total{reason=\"not_found\"} 1"));
		CHECK(has_line(t, "bitsleuth_http_refused_total{reason=\"deadline\"} 0"));
		CHECK(has_line(t, "bitsleuth_http_requests_total 1"));
		CHECK(has_line(t, "bitsleuth_jobs_total{outcome=\"undecodable\"} 0"));
		CHECK(has_line(t, "bitsleuth_backfill_total{outcome=\"omitted\"} 0"));
		CHECK(has_line(t, "bitsleuth_merge_hashes_total{outcome=\"short\"} 0"));
		CHECK(has_line(t, "bitsleuth_signatures_total{secret=\"previous\"} 0"));
		CHECK(has_line(t, "bitsleuth_redis_up 1"));
		CHECK(has_line(t, "bitsleuth_http_connections_open 7"));
		CHECK(strstr(t, "bitsleuth_lanes ") == NULL);   /* no worker */
		CHECK(strstr(t, "bitsleuth_api_budget_remaining") == NULL);
		CHECK(strstr(t, "(null)") == NULL);
		CHECK(t[strlen(t) - 1] == '\n');
		CHECK(families_whole(t));
		/* the old flat names are gone */
		CHECK(strstr(t, "bitsleuth_http_shed_total") == NULL);
		CHECK(strstr(t, "bitsleuth_deliveries_queued_total") == NULL);
		free(t);
		free(m);
	}
	TEST("deliveries by product, event and outcome; never a request's text") {
		struct bs_metrics *m = fresh();
		for (int i = 0; i < 3; i++)
			bs_metrics_delivery(m, 1, bs_metrics_event_of("repo:push"),
			    BS_MD_QUEUED);
		bs_metrics_delivery(m, 2, bs_metrics_event_of("pr:merged"),
		    BS_MD_DUPLICATE);
		bs_metrics_delivery(m, 1, bs_metrics_event_of("repo:push\"} 9\nx"),
		    BS_MD_PAYLOAD);
		bs_metrics_delivery(m, 7, bs_metrics_event_of(NULL), BS_MD_SIGNATURE);
		bs_metrics_delivery(m, 0, BS_MEV_OTHER, BS_MD_TOO_LARGE);
		char *t = render(m);
		CHECK(has_line(t, "bitsleuth_deliveries_total{product=\"cloud\","
		    "event=\"repo:push\",outcome=\"queued\"} 3"));
		CHECK(has_line(t, "bitsleuth_deliveries_total{product=\"dc\","
		    "event=\"pr:merged\",outcome=\"duplicate\"} 1"));
		CHECK(has_line(t, "bitsleuth_deliveries_total{product=\"cloud\","
		    "event=\"other\",outcome=\"payload\"} 1"));
		CHECK(has_line(t, "bitsleuth_deliveries_total{product=\"unknown\","
		    "event=\"other\",outcome=\"signature\"} 1"));
		CHECK(has_line(t, "bitsleuth_deliveries_total{product=\"unknown\","
		    "event=\"other\",outcome=\"too_large\"} 1"));
		CHECK(count_prefix(t, "bitsleuth_deliveries_total{") == 5);
		CHECK(families_whole(t));
		free(t);
		free(m);
	}
	TEST("every known event key is its own label; a prefix or case is not") {
		CHECK(bs_metrics_event_of("repo:refs_changed") == BS_MEV_REPO_REFS_CHANGED);
		CHECK(bs_metrics_event_of("diagnostics:ping") == BS_MEV_DIAGNOSTICS_PING);
		CHECK(bs_metrics_event_of("pullrequest:fulfilled") ==
		    BS_MEV_PULLREQUEST_FULFILLED);
		CHECK(bs_metrics_event_of("repo:pus") == BS_MEV_OTHER);
		CHECK(bs_metrics_event_of("REPO:PUSH") == BS_MEV_OTHER);
		CHECK(bs_metrics_event_of("") == BS_MEV_OTHER);
		/* each enum value finds itself: the table is sorted */
		struct bs_metrics *m = fresh();
		for (int e = 1; e < BS_MEV__COUNT; e++)
			bs_metrics_delivery(m, 2, (enum bs_m_event)e, BS_MD_IGNORED);
		char *t = render(m);
		CHECK(count_prefix(t, "bitsleuth_deliveries_total{") ==
		    BS_MEV__COUNT - 1);
		for (const char *p = t; (p = strstr(p, ",event=\"")); ) {
			p += 8;
			char key[64];
			size_t n = strcspn(p, "\"");
			snprintf(key, sizeof(key), "%.*s", (int)n, p);
			CHECK(bs_metrics_event_of(key) != BS_MEV_OTHER);
		}
		free(t);
		free(m);
	}
	TEST("histogram buckets are cumulative, with _sum and _count") {
		struct bs_metrics *m = fresh();
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, 0.001);   /* le is <= */
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, 0.003);
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, 0.3);
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, 100);
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, -1);      /* a clock step: 0 */
		bs_metrics_queue_wait_observe(m, 42);
		char *t = render(m);
		const char *n = "bitsleuth_ingest_request_duration_seconds";
		char l[200];
		static const struct { const char *le; int want; } b[] = {
			{ "0.001", 2 }, { "0.0025", 2 }, { "0.005", 3 }, { "0.01", 3 },
			{ "0.025", 3 }, { "0.05", 3 }, { "0.1", 3 }, { "0.25", 3 },
			{ "0.5", 4 }, { "1", 4 }, { "2.5", 4 }, { "5", 4 }, { "10", 4 },
			{ "30", 4 }, { "+Inf", 5 },
		};
		for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
			snprintf(l, sizeof(l), "%s_bucket{outcome=\"queued\",le=\"%s\"} %d",
			    n, b[i].le, b[i].want);
			CHECK(has_line(t, l));
		}
		snprintf(l, sizeof(l), "%s_sum{outcome=\"queued\"} 100.304000", n);
		CHECK(has_line(t, l));
		snprintf(l, sizeof(l), "%s_count{outcome=\"queued\"} 5", n);
		CHECK(has_line(t, l));
		/* only outcomes observed have series */
		CHECK(strstr(t, "duration_seconds_count{outcome=\"ping\"}") == NULL);
		CHECK(has_line(t, "# TYPE bitsleuth_ingest_request_duration_seconds "
		    "histogram"));
		/* queue wait: its own buckets, no labels */
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_bucket{le=\"30\"} 0"));
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_bucket{le=\"60\"} 1"));
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_bucket{le=\"3600\"} 1"));
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_bucket{le=\"+Inf\"} 1"));
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_count 1"));
		CHECK(has_line(t, "bitsleuth_queue_wait_seconds_sum 42.000000"));
		CHECK(families_whole(t));
		free(t);
		free(m);
	}
	TEST("API requests and their durations by outcome") {
		struct bs_metrics *m = fresh();
		bs_metrics_api_observe(m, BS_MAPI_THROTTLED, 0.02);
		bs_metrics_api_observe(m, BS_MAPI_OK, 0.2);
		bs_metrics_api_observe(m, BS_MAPI_OK, 0.2);
		char *t = render(m);
		CHECK(has_line(t, "bitsleuth_bitbucket_api_requests_total{outcome=\"ok\"} 2"));
		CHECK(has_line(t, "bitsleuth_bitbucket_api_requests_total{outcome=\"throttled\"} 1"));
		CHECK(has_line(t, "bitsleuth_bitbucket_api_requests_total{outcome=\"error\"} 0"));
		CHECK(has_line(t, "bitsleuth_bitbucket_api_request_duration_seconds_count"
		    "{outcome=\"ok\"} 2"));
		CHECK(has_line(t, "bitsleuth_bitbucket_api_request_duration_seconds_bucket"
		    "{outcome=\"throttled\",le=\"0.025\"} 1"));
		free(t);
		free(m);
	}
	TEST("deployments: registered once, escaped, capped to 'other'") {
		struct bs_metrics *m = fresh();
		int a = bs_metrics_deployment(m, "shop-web");
		CHECK(a == 1);
		CHECK(bs_metrics_deployment(m, "shop-web") == a);
		int q = bs_metrics_deployment(m, "we\"ird\\slug\nx");
		CHECK(q == 2);
		bs_metrics_deploy(m, a, BS_MDP_REGISTERED);
		bs_metrics_deploy(m, a, BS_MDP_REGISTERED);
		bs_metrics_deploy(m, q, BS_MDP_DEAD);
		bs_metrics_sleuth_observe(m, a, BS_MSL_OK, 0.04);
		char *t = render(m);
		CHECK(has_line(t, "bitsleuth_deploys_total{deployment=\"shop-web\","
		    "outcome=\"registered\"} 2"));
		CHECK(has_line(t, "bitsleuth_deploys_total{deployment=\"shop-web\","
		    "outcome=\"same_sha\"} 0"));
		CHECK(has_line(t, "bitsleuth_deploys_total{deployment="
		    "\"we\\\"ird\\\\slug\\nx\",outcome=\"dead\"} 1"));
		CHECK(has_line(t, "bitsleuth_sleuth_request_duration_seconds_bucket{"
		    "deployment=\"shop-web\",outcome=\"ok\",le=\"0.05\"} 1"));
		CHECK(has_line(t, "bitsleuth_sleuth_request_duration_seconds_count{"
		    "deployment=\"shop-web\",outcome=\"ok\"} 1"));
		CHECK(strstr(t, "deployment=\"other\"") == NULL);  /* none yet */
		CHECK(count_prefix(t, "bitsleuth_deploys_total{") == 2 * 6);
		CHECK(families_whole(t));
		free(t);

		char slug[32];
		int last = 0;
		for (int i = 0; i < BS_M_DEPLOYMENTS + 40; i++) {
			snprintf(slug, sizeof(slug), "dep-%d", i);
			int d = bs_metrics_deployment(m, slug);
			if (i < BS_M_DEPLOYMENTS - 2)
				CHECK(d == i + 3);
			else
				CHECK(d == 0);
			last = d;
		}
		CHECK(last == 0);
		CHECK(bs_metrics_deployment(m, "dep-0") == 3);   /* still found */
		char longslug[BS_M_SLUG_MAX + 10];
		memset(longslug, 'a', sizeof(longslug) - 1);
		longslug[sizeof(longslug) - 1] = '\0';
		CHECK(bs_metrics_deployment(m, longslug) == 0);
		CHECK(bs_metrics_deployment(m, NULL) == 0);
		bs_metrics_deploy(m, 0, BS_MDP_RETRY);
		bs_metrics_deploy(m, 9999, BS_MDP_RETRY);          /* out of range: other */
		t = render(m);
		CHECK(has_line(t, "bitsleuth_deploys_total{deployment=\"other\","
		    "outcome=\"retry\"} 2"));
		CHECK(count_prefix(t, "bitsleuth_deploys_total{") ==
		    (BS_M_DEPLOYMENTS + 1) * 6);
		CHECK((BS_M_DEPLOYMENTS + 1) * 6 <= 1000);
		CHECK(families_whole(t));
		free(t);
		free(m);
	}
	TEST("build_info and process_* are there") {
		struct bs_metrics *m = fresh();
		char *t = render(m);
		CHECK(strstr(t, "\nbitsleuth_build_info{version=\"" BS_VERSION
		    "\",libevent=\"") != NULL);
		const char *bi = strstr(t, "\nbitsleuth_build_info{");
		char line[512] = "";
		if (bi)
			snprintf(line, sizeof(line), "%.*s", (int)strcspn(bi + 1, "\n"),
			    bi + 1);
		CHECK(strlen(line) > 3 && strcmp(line + strlen(line) - 3, "} 1") == 0);
		/* the versions came from the build (CMakeLists.txt) */
		CHECK(strstr(line, "\"unknown\"") == NULL);
		CHECK(strstr(line, "openssl=\"3.") || strstr(line, "openssl=\"1."));
		CHECK(value_of(t, "process_cpu_seconds_total") >= 0);
		CHECK(value_of(t, "process_resident_memory_bytes") > 0);
		CHECK(value_of(t, "process_virtual_memory_bytes") >=
		    value_of(t, "process_resident_memory_bytes"));
		CHECK(value_of(t, "process_open_fds") >= 3);
		CHECK(value_of(t, "process_max_fds") >= value_of(t, "process_open_fds"));
		double start = value_of(t, "process_start_time_seconds");
		double now = (double)time(NULL);
		CHECK(start > now - 3600 && start <= now + 2);
		CHECK(has_line(t, "# TYPE process_cpu_seconds_total counter"));
		CHECK(families_whole(t));
		free(t);
		free(m);
	}
	TEST("a worker's lane gauges") {
		struct bs_metrics *m = fresh();
		m->lanes = 3;
		m->lane_waiting = 5;
		m->lanes_held = 1;
		m->lane_oldest_head_age_ms = 61500;
		char *t = render(m);
		CHECK(has_line(t, "bitsleuth_lanes 3"));
		CHECK(has_line(t, "bitsleuth_lane_waiting 5"));
		CHECK(has_line(t, "bitsleuth_lanes_held 1"));
		CHECK(has_line(t, "bitsleuth_lane_oldest_head_age_seconds 61.500"));
		free(t);
		free(m);
	}
	TEST("an out-of-range counter or label is ignored") {
		struct bs_metrics *m = fresh();
		bs_metrics_inc(m, BS_M__COUNT);
		bs_metrics_inc(m, (enum bs_metric)-1);
		bs_metrics_delivery(m, 0, BS_MEV_OTHER, BS_MD__COUNT);
		bs_metrics_ingest_observe(m, BS_MD__COUNT, 1);
		bs_metrics_api_observe(m, BS_MAPI__COUNT, 1);
		bs_metrics_sleuth_observe(m, 0, BS_MSL__COUNT, 1);
		bs_metrics_deploy(m, 0, BS_MDP__COUNT);
		for (int i = 0; i < BS_M__COUNT; i++)
			CHECK(m->c[i] == 0);
		CHECK(m->redis_up == 0 && m->in_flight == 0 && m->http_open == 0);
		char *t = render(m);
		CHECK(count_prefix(t, "bitsleuth_deliveries_total{") == 0);
		CHECK(strstr(t, "deployment=\"other\"") == NULL);
		free(t);
		free(m);
	}
	TEST("the whole exposition passes promtool check metrics") {
		/* The test command installs promtool (scripts/deps.sh test). */
		CHECK(system("command -v promtool >/dev/null 2>&1") == 0);
		struct bs_metrics *m = fresh();
		m->lanes = 2;
		m->api_budget = 40;
		m->redis_replica_lag_ms = 12;
		bs_metrics_inc(m, BS_M_SIGNATURE_CURRENT);
		bs_metrics_delivery(m, 1, BS_MEV_REPO_PUSH, BS_MD_QUEUED);
		bs_metrics_ingest_observe(m, BS_MD_QUEUED, 0.01);
		int d = bs_metrics_deployment(m, "a \"quoted\\ slug");
		bs_metrics_deploy(m, d, BS_MDP_REGISTERED);
		bs_metrics_sleuth_observe(m, d, BS_MSL_RETRY, 2);
		bs_metrics_api_observe(m, BS_MAPI_ERROR, 0.5);
		bs_metrics_queue_wait_observe(m, 3);
		char *t = render(m);
		char path[] = "/tmp/bs_test_metrics_XXXXXX";
		int fd = mkstemp(path);
		CHECK(fd >= 0);
		if (fd >= 0) {
			CHECK(write(fd, t, strlen(t)) == (ssize_t)strlen(t));
			close(fd);
			char cmd[200];
			snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
			int rc = system(cmd);
			CHECK(rc == 0);
			if (rc != 0)
				fprintf(stderr, "%s", t);
			unlink(path);
		}
		free(t);
		free(m);
	}
	return TEST_REPORT();
}
