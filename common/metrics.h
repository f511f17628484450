/* metrics: this process's registry of counters, histograms and gauges,
 * rendered in Prometheus text format 0.0.4 on GET /metrics. Every refusal,
 * drop and limit hit has a counter (memcached's rule), so tests and
 * operators can see what happened without logs. Durable, cluster-wide
 * counts live in Redis ({p}:stats, `bitsleuth stats`); these are per
 * process and reset on restart. README "Metrics" lists every family.
 *
 * The registry is one plain struct with no allocation: a zeroed
 * struct bs_metrics is ready to use (set the "-1 while unknown" gauges),
 * needs no release, and every count or observation is array arithmetic
 * on small enums. Label values are never taken from a request: products,
 * event keys and outcomes are enums; deployments are the config's slugs,
 * registered once (bs_metrics_deployment) into a capped table.
 * Loop thread only. */
#ifndef BS_METRICS_H
#define BS_METRICS_H

#include <stddef.h>

/* Counters of one series each. Each is one (family, label value) of the
 * table in metrics.c (families in metrics_defs.h), e.g. BS_M_HTTP_SHED is
 * bitsleuth_http_closed_total{reason="shed"}. */
enum bs_metric {
	BS_M_HTTP_REQUESTS = 0,    /* every request on the ingest port */
	BS_M_REFUSED_OTHER,        /* 404, 405: http_refused_total{reason="not_found"} */
	BS_M_HTTP_PER_IP_REFUSED,  /* 503: over http.max_connections_per_ip */
	BS_M_HTTP_INFLIGHT_REFUSED,/* 503: over http.max_inflight_bytes */
	BS_M_HTTP_BAD_REQUEST,     /* 400/411/431/501/505 from the HTTP layer */
	BS_M_HTTP_DEADLINE,        /* 408: request not whole within http.timeout_ms */
	BS_M_HTTP_SHED,            /* connections closed to make room at the cap */
	BS_M_HTTP_IDLE_CLOSED,     /* keep-alive connections closed idle */
	BS_M_HTTP_ACCEPT_PAUSED,   /* accepting paused: http.max_connections or fd exhaustion */
	BS_M_SIGNATURE_CURRENT,    /* signatures verified by the current secret */
	BS_M_SIGNATURE_PREVIOUS,   /* ... by the previous one (a rotation) */
	BS_M_JOBS_READ,            /* entries taken from the stream */
	BS_M_JOBS_REDELIVERED,     /* entries claimed from dead consumers */
	BS_M_JOBS_UNDECODABLE,     /* entries that failed to decode: dead-lettered */
	BS_M_LANES_RELEASED,       /* lane heads this process released past the hold */
	BS_M_LANES_WOKEN,          /* parked heads this process's sweep woke */
	BS_M_RETRIES_PROMOTED,     /* retry records moved back to the stream */
	BS_M_REDIS_ERRORS,
	BS_M_REDIS_FAILOVERS,      /* the master (or slot owner) changed address */
	BS_M_REDIS_MOVED,          /* MOVED redirects followed */
	BS_M_REDIS_ASK,            /* ASK redirects followed */
	BS_M_REDIS_TRYAGAIN,       /* TRYAGAIN/LOADING/... answers retried */
	BS_M_REDIS_WAIT_TIMEOUTS,  /* WAIT answered fewer replicas than redis.wait_replicas */
	BS_M_BACKFILL_DONE,        /* deploys whose commits came from the API */
	BS_M_BACKFILL_CACHED,      /* ... from the backfill cache in Redis */
	BS_M_BACKFILL_FAILED,      /* API lookups that failed (answer, parse) */
	BS_M_BACKFILL_FALLBACK,    /* deploys sent without commits: API failed or max_wait */
	BS_M_BACKFILL_OMITTED,     /* deploys sent without commits: no credentials */
	BS_M_MERGE_RESOLVED,       /* short merge hashes resolved to 40 characters */
	BS_M_MERGE_SHORT,          /* merges registered with the 12-character sha */
	/* issue 16 */
	BS_M_DISCOVERY_OK,         /* discovery refreshes Sleuth answered (same mapping) */
	BS_M_DISCOVERY_CHANGED,    /* ... that changed the mapping */
	BS_M_DISCOVERY_FAILED,     /* ... that failed: the mapping in force stays */
	BS_M_DISCOVERY_CACHED,     /* mappings taken from the Redis cache */
	BS_M_PATHS_MATCHED,        /* path-prefixed targets whose push touched them */
	BS_M_PATHS_SKIPPED,        /* ... not touched: not registered */
	BS_M_PATHS_UNKNOWN,        /* ... files unknown (no credentials, API failed,
	                            * a new branch): registered as if no prefix */
	BS_M__COUNT
};

/* deliveries_total{product}: the order of common/event.h's bs_product. */
#define BS_M_PRODUCTS 3

/* deliveries_total{event}: the X-Event-Keys bitsleuth knows (the
 * parsers' tables), "other" for any other key or none. */
enum bs_m_event {
	BS_MEV_OTHER = 0,
	BS_MEV_DIAGNOSTICS_PING,
	BS_MEV_MIRROR_REPO_SYNCHRONIZED,
	BS_MEV_PR_COMMENT_ADDED,
	BS_MEV_PR_COMMENT_DELETED,
	BS_MEV_PR_COMMENT_EDITED,
	BS_MEV_PR_DECLINED,
	BS_MEV_PR_DELETED,
	BS_MEV_PR_FROM_REF_UPDATED,
	BS_MEV_PR_MERGED,
	BS_MEV_PR_MODIFIED,
	BS_MEV_PR_OPENED,
	BS_MEV_PR_REVIEWER_APPROVED,
	BS_MEV_PR_REVIEWER_CHANGES_REQUESTED,
	BS_MEV_PR_REVIEWER_NEEDS_WORK,
	BS_MEV_PR_REVIEWER_UNAPPROVED,
	BS_MEV_PR_REVIEWER_UPDATED,
	BS_MEV_PULLREQUEST_APPROVED,
	BS_MEV_PULLREQUEST_CHANGES_REQUEST_CREATED,
	BS_MEV_PULLREQUEST_CHANGES_REQUEST_REMOVED,
	BS_MEV_PULLREQUEST_COMMENT_CREATED,
	BS_MEV_PULLREQUEST_COMMENT_DELETED,
	BS_MEV_PULLREQUEST_COMMENT_REOPENED,
	BS_MEV_PULLREQUEST_COMMENT_RESOLVED,
	BS_MEV_PULLREQUEST_COMMENT_UPDATED,
	BS_MEV_PULLREQUEST_CREATED,
	BS_MEV_PULLREQUEST_FULFILLED,
	BS_MEV_PULLREQUEST_REJECTED,
	BS_MEV_PULLREQUEST_UNAPPROVED,
	BS_MEV_PULLREQUEST_UPDATED,
	BS_MEV_REPO_PUSH,
	BS_MEV_REPO_REFS_CHANGED,
	BS_MEV__COUNT
};

/* What became of a delivery: deliveries_total{outcome} and
 * ingest_request_duration_seconds{outcome}. */
enum bs_m_delivery {
	BS_MD_QUEUED = 0,          /* 202 queued */
	BS_MD_DUPLICATE,           /* 200 duplicate */
	BS_MD_IGNORED,             /* 202 ignored: an event bitsleuth does not use */
	BS_MD_PING,                /* 200 diagnostics:ping */
	BS_MD_REF_LIMIT,           /* 202 ignored: a DC mirror sync over the ref limit */
	BS_MD_SIGNATURE,           /* 401 */
	BS_MD_PAYLOAD,             /* 400 */
	BS_MD_TOO_LARGE,           /* 413 */
	BS_MD_MEDIA_TYPE,          /* 415 */
	BS_MD_SOURCE,              /* 403 bitbucket.allow_cidrs */
	BS_MD_UNAVAILABLE,         /* 503: Redis did not take it */
	BS_MD__COUNT
};

/* deploys_total{outcome}: what became of one deploy (a push for a target). */
enum bs_m_deploy {
	BS_MDP_REGISTERED = 0,     /* Sleuth answered 2xx */
	BS_MDP_RETRY,              /* a retry was scheduled */
	BS_MDP_DEAD,               /* a dead letter: refused, or attempts exhausted */
	BS_MDP_DRY_RUN,            /* recorded instead of sent */
	BS_MDP_SUPERSEDED,         /* dead letter: held past worker.order_hold */
	BS_MDP_SAME_SHA,           /* not sent: the target's last registered sha */
	BS_MDP__COUNT
};

/* sleuth_request_duration_seconds{outcome}: how the answer was classified. */
enum bs_m_sleuth {
	BS_MSL_OK = 0,
	BS_MSL_RETRY,              /* 5xx, 429, no answer, 400 sha not found */
	BS_MSL_DEAD,               /* other 4xx */
	BS_MSL__COUNT
};

/* bitbucket_api_requests_total{outcome}, ..._duration_seconds{outcome}. */
enum bs_m_api {
	BS_MAPI_OK = 0,            /* 2xx */
	BS_MAPI_THROTTLED,         /* 429 */
	BS_MAPI_ERROR,             /* no answer, 5xx, other 4xx */
	BS_MAPI__COUNT
};

/* A histogram's counts per bucket (not cumulative; the last is +Inf),
 * their sum and count. Bounds are per family (metrics.c). */
#define BS_HIST_SLOTS 15
struct bs_hist {
	unsigned long long b[BS_HIST_SLOTS];
	unsigned long long count;
	double sum;
};

/* Deployment label values: index 0 is "other" (past the cap, or a slug
 * longer than BS_M_SLUG_MAX - 1); 1..n the registered slugs. The cap
 * keeps deploys_total within (1 + BS_M_DEPLOYMENTS) * 6 <= 1000 series. */
#define BS_M_DEPLOYMENTS 160
#define BS_M_SLUG_MAX 96
#define BS_M_DEP_SLOTS 512         /* hash slots, a power of two > 2 * cap */

struct bs_m_dep {
	char slug[BS_M_SLUG_MAX];
	unsigned long long deploys[BS_MDP__COUNT];
	struct bs_hist sleuth[BS_MSL__COUNT];
};

struct bs_metrics {
	unsigned long long c[BS_M__COUNT];
	unsigned long long deliveries[BS_M_PRODUCTS][BS_MEV__COUNT][BS_MD__COUNT];
	struct bs_hist ingest[BS_MD__COUNT];
	struct bs_hist api_duration[BS_MAPI__COUNT];
	struct bs_hist queue_wait;
	struct bs_m_dep deps[1 + BS_M_DEPLOYMENTS];
	int n_deps;                /* registered, in deps[1..n_deps] */
	unsigned short dep_slot[BS_M_DEP_SLOTS]; /* hash of slug -> index, 0 empty */
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
	/* Discovery (issue 16): targets learned from Sleuth in force, and the
	 * wall-clock ms of the oldest project mapping in force; -1 while
	 * unknown (no project discovers, or none learned yet). */
	long long discovered_targets;
	long long discovery_oldest_ms;
};

void bs_metrics_inc(struct bs_metrics *m, enum bs_metric which);

/* The event label of an X-Event-Key (NULL: none): a binary search of the
 * known keys, BS_MEV_OTHER for anything else. */
enum bs_m_event bs_metrics_event_of(const char *event_key);
/* deliveries_total{product,event,outcome} += 1. product is a bs_product
 * (out of range counts as unknown). */
void bs_metrics_delivery(struct bs_metrics *m, int product,
    enum bs_m_event event, enum bs_m_delivery outcome);
/* ingest_request_duration_seconds{outcome}: seconds from the request to
 * its answer. */
void bs_metrics_ingest_observe(struct bs_metrics *m,
    enum bs_m_delivery outcome, double seconds);

/* The label index of a deployment slug, registering it the first time
 * (the worker does so for every deployment of the config at start, and
 * for one a reload added at its first deploy). Expected O(1) (a hash);
 * 0 ("other") past the cap, for NULL, or for a slug too long. Keep the
 * index: it stays valid for the registry's life. */
int bs_metrics_deployment(struct bs_metrics *m, const char *slug);
/* deploys_total{deployment,outcome} += 1 (dep from bs_metrics_deployment). */
void bs_metrics_deploy(struct bs_metrics *m, int dep, enum bs_m_deploy outcome);
/* sleuth_request_duration_seconds{deployment,outcome}. */
void bs_metrics_sleuth_observe(struct bs_metrics *m, int dep,
    enum bs_m_sleuth outcome, double seconds);
/* bitbucket_api_requests_total{outcome} += 1 and its duration. */
void bs_metrics_api_observe(struct bs_metrics *m, enum bs_m_api outcome,
    double seconds);
/* queue_wait_seconds: receipt (the 202) to a deploy's outcome. */
void bs_metrics_queue_wait_observe(struct bs_metrics *m, double seconds);

/* Seconds on a monotonic clock, for durations. */
double bs_metrics_now(void);

/* Receives the exposition text in pieces, in order. */
typedef void bs_metrics_out(void *arg, const char *text, size_t len);
/* Writes the Prometheus text exposition of m through out: every family
 * above, the gauges, bitsleuth_build_info and process_* (read from /proc
 * now). Labeled counters with fixed label sets show every series from the
 * start; deliveries_total and the labeled histograms show a series from
 * its first count. */
void bs_metrics_render(const struct bs_metrics *m, bs_metrics_out *out,
    void *arg);

#endif
