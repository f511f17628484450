/* metrics: this process's counters, rendered in Prometheus text format on
 * GET /metrics. Every refusal, drop and limit hit has a counter (memcached's
 * rule), so tests and operators can see what happened without logs.
 * Durable, cluster-wide counts live in Redis ({p}:stats, `bitsleuth stats`);
 * these are per process and reset on restart. Loop thread only. */
#ifndef BS_METRICS_H
#define BS_METRICS_H

#include <stddef.h>


enum bs_metric {
	BS_M_HTTP_REQUESTS = 0,    /* every request on the ingest port */
	BS_M_DELIVERIES_QUEUED,    /* 202 queued */
	BS_M_DELIVERIES_DUPLICATE, /* 200 duplicate */
	BS_M_DELIVERIES_IGNORED,   /* 202 ignored */
	BS_M_DELIVERIES_PING,
	BS_M_REFUSED_SIGNATURE,    /* 401 */
	BS_M_REFUSED_PAYLOAD,      /* 400 */
	BS_M_REFUSED_TOO_LARGE,    /* 413 */
	BS_M_REFUSED_MEDIA_TYPE,   /* 415 */
	BS_M_REFUSED_OTHER,        /* 404, 405 */
	BS_M_QUEUE_UNAVAILABLE,    /* 503 */
	BS_M_JOBS_READ,            /* entries taken from the stream */
	BS_M_JOBS_REDELIVERED,     /* entries claimed from dead consumers */
	BS_M_JOBS_UNDECODABLE,     /* entries that failed to decode: dead-lettered */
	BS_M_SLEUTH_OK,            /* register_deploy answered 2xx */
	BS_M_SLEUTH_RETRY,         /* answers/failures that schedule a retry */
	BS_M_SLEUTH_DEAD,          /* dead letters written */
	BS_M_SLEUTH_DRYRUN,        /* requests recorded instead of sent */
	BS_M_SLEUTH_SUPERSEDED,    /* dead letters "superseded": held past worker.order_hold */
	BS_M_LANES_RELEASED,       /* lane heads this process released past the hold */
	BS_M_LANES_WOKEN,          /* parked heads this process's sweep woke */
	BS_M_RETRIES_PROMOTED,     /* retry records moved back to the stream */
	BS_M_REDIS_ERRORS,
	BS_M_HTTP_ACCEPT_PAUSED,   /* accepting paused: http.max_connections or fd exhaustion */
	BS_M_DELIVERIES_REF_LIMIT, /* DC mirror syncs over the ref limit (202 ignored) */
	BS_M_SIGNATURE_CURRENT,    /* signatures verified by the current secret */
	BS_M_SIGNATURE_PREVIOUS,   /* ... by the previous one (a rotation) */
	BS_M_HTTP_SHED,            /* connections closed to make room at the cap */
	BS_M_HTTP_PER_IP_REFUSED,  /* 503: over http.max_connections_per_ip */
	BS_M_HTTP_DEADLINE,        /* 408: request not whole within http.timeout_ms */
	BS_M_HTTP_IDLE_CLOSED,     /* keep-alive connections closed idle */
	BS_M_HTTP_INFLIGHT_REFUSED,/* 503: over http.max_inflight_bytes */
	BS_M_HTTP_BAD_REQUEST,     /* 400/411/431/501/505 from the HTTP layer */
	BS_M_REFUSED_SOURCE,       /* 403: source not in bitbucket.allow_cidrs */
	BS_M_BACKFILL_DONE,        /* deploys whose commits came from the API */
	BS_M_BACKFILL_CACHED,      /* ... from the backfill cache in Redis */
	BS_M_BACKFILL_FAILED,      /* API lookups that failed (answer, parse) */
	BS_M_BACKFILL_FALLBACK,    /* deploys sent without commits: API failed or max_wait */
	BS_M_BACKFILL_OMITTED,     /* deploys sent without commits: no credentials */
	BS_M_API_REQUESTS,         /* requests made to Bitbucket's API */
	BS_M_API_THROTTLED,        /* 429 answers from Bitbucket's API */
	BS_M_MERGE_RESOLVED,       /* short merge hashes resolved to 40 characters */
	BS_M_MERGE_SHORT,          /* merges registered with the 12-character sha */
	BS_M_DEPLOY_SAME_SHA,      /* not sent: the target's last registered sha */
	BS_M_REDIS_FAILOVERS,      /* the master (or slot owner) changed address */
	BS_M_REDIS_MOVED,          /* MOVED redirects followed */
	BS_M_REDIS_ASK,            /* ASK redirects followed */
	BS_M_REDIS_TRYAGAIN,       /* TRYAGAIN/LOADING/... answers retried */
	BS_M_REDIS_WAIT_TIMEOUTS,  /* WAIT answered fewer replicas than redis.wait_replicas */
	BS_M__COUNT
};

struct bs_metrics {
	unsigned long long c[BS_M__COUNT];
	long long redis_up;        /* gauges */
	long long in_flight;
	long long http_open;       /* ingest connections open (http_server) */
	/* Lanes (queue/lanes.h), as the worker's last sweep saw them; -1
	 * while unknown (no worker in this process, or no sweep yet). */
	long long lanes;           /* lanes with pushes */
	long long lane_waiting;    /* pushes waiting behind a head */
	long long lanes_held;      /* lanes whose failing head blocks pushes */
	long long lane_oldest_head_age_ms;
	/* Whole tokens left in the API budget at the last request; -1 while
	 * unknown (no request made). */
	long long api_budget;
	/* The largest replica lag (ms) the last WAIT or INFO replication
	 * showed; -1 while unknown (no replicas asked for). */
	long long redis_replica_lag_ms;
};

void bs_metrics_inc(struct bs_metrics *m, enum bs_metric which);
/* Receives the exposition text in pieces, in order. */
typedef void bs_metrics_out(void *arg, const char *text, size_t len);
/* Writes the Prometheus text exposition of m through out. */
void bs_metrics_render(const struct bs_metrics *m, bs_metrics_out *out,
    void *arg);

#endif
