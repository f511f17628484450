/* Unit tests of common/metrics: counters and the Prometheus text they
 * render, in pieces, through the caller's writer. */
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "tests/unit/test.h"

struct text {
	char buf[16384];
	size_t len;
	int calls;
};

static void
collect(void *arg, const char *s, size_t n)
{
	struct text *t = arg;
	if (t->len + n < sizeof(t->buf)) {
		memcpy(t->buf + t->len, s, n);
		t->len += n;
		t->buf[t->len] = '\0';
	}
	t->calls++;
}

int
main(void)
{
	TEST("metrics render in Prometheus text format") {
		struct bs_metrics m = {0};
		bs_metrics_inc(&m, BS_M_DELIVERIES_QUEUED);
		bs_metrics_inc(&m, BS_M_DELIVERIES_QUEUED);
		m.redis_up = 1;
		m.http_open = 7;
		m.lanes = -1;              /* no worker: no lane gauges */
		m.api_budget = -1;         /* nor an API budget */
		m.redis_replica_lag_ms = -1;
		struct text t = {0};
		bs_metrics_render(&m, collect, &t);
		CHECK(t.calls == BS_M__COUNT + 1);
		CHECK(strstr(t.buf, "bitsleuth_lanes ") == NULL);
		CHECK(strstr(t.buf, "# TYPE bitsleuth_deliveries_queued_total counter\n"
		    "bitsleuth_deliveries_queued_total 2\n") != NULL);
		CHECK(strstr(t.buf, "bitsleuth_redis_up 1\n") != NULL);
		CHECK(strstr(t.buf, "bitsleuth_http_connections_open 7\n") != NULL);
		CHECK(strstr(t.buf, "bitsleuth_http_requests_total 0\n") != NULL);
		CHECK(t.buf[t.len - 1] == '\n');
	}
	TEST("every counter has a name and help: one HELP and TYPE line each") {
		struct bs_metrics m = {0};
		struct text t = {0};
		bs_metrics_render(&m, collect, &t);
		size_t help = 0, type = 0;
		for (const char *p = t.buf; (p = strstr(p, "# HELP ")); p++)
			help++;
		for (const char *p = t.buf; (p = strstr(p, "# TYPE ")); p++)
			type++;
		/* 3 gauges of every process, 4 of a worker's lanes, the API
		 * budget once a request was made, the replica lag once seen. */
		CHECK(help == BS_M__COUNT + 3 + 4 + 1 + 1);
		CHECK(type == BS_M__COUNT + 3 + 4 + 1 + 1);
		CHECK(strstr(t.buf, "(null)") == NULL);
	}
	TEST("a worker's lane gauges") {
		struct bs_metrics m = {0};
		m.lanes = 3;
		m.lane_waiting = 5;
		m.lanes_held = 1;
		m.lane_oldest_head_age_ms = 61500;
		struct text t = {0};
		bs_metrics_render(&m, collect, &t);
		CHECK(strstr(t.buf, "\nbitsleuth_lanes 3\n") != NULL);
		CHECK(strstr(t.buf, "\nbitsleuth_lane_waiting 5\n") != NULL);
		CHECK(strstr(t.buf, "\nbitsleuth_lanes_held 1\n") != NULL);
		CHECK(strstr(t.buf, "\nbitsleuth_lane_oldest_head_age_seconds 61.500\n") != NULL);
	}
	TEST("an out-of-range counter is ignored") {
		struct bs_metrics m = {0};
		bs_metrics_inc(&m, BS_M__COUNT);
		bs_metrics_inc(&m, (enum bs_metric)-1);
		for (int i = 0; i < BS_M__COUNT; i++)
			CHECK(m.c[i] == 0);
		/* nor written to the gauges that follow the counters */
		CHECK(m.redis_up == 0 && m.in_flight == 0 && m.http_open == 0);
	}
	return TEST_REPORT();
}
