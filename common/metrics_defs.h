/* metrics_defs: the tables metrics.c counts by and metrics_render.c writes
 * out (names, help texts, label values, histogram bounds). Private to
 * common/. */
#ifndef BS_METRICS_DEFS_H
#define BS_METRICS_DEFS_H

/* Counter families of the enum bs_metric series, in render order. */
enum bs_m_fam {
	BS_MF_HTTP_REQUESTS = 0,
	BS_MF_HTTP_REFUSED,
	BS_MF_HTTP_CLOSED,
	BS_MF_HTTP_ACCEPT_PAUSED,
	BS_MF_SIGNATURES,
	BS_MF_JOBS,
	BS_MF_LANES_RELEASED,
	BS_MF_LANES_WOKEN,
	BS_MF_RETRIES_PROMOTED,
	BS_MF_REDIS_ERRORS,
	BS_MF_REDIS_FAILOVERS,
	BS_MF_REDIS_REDIRECTS,
	BS_MF_REDIS_TRYAGAIN,
	BS_MF_REDIS_WAIT_TIMEOUTS,
	BS_MF_BACKFILL,
	BS_MF_MERGE_HASHES,
	BS_MF_DISCOVERY,
	BS_MF_PATHS,
	BS_MF__COUNT
};

struct bs_m_family {
	const char *name;
	const char *label;          /* its one label's name, NULL: none */
	const char *help;
};

/* One enum bs_metric: its family and label value (NULL: none). */
struct bs_m_def {
	unsigned char fam;
	const char *value;
};

#define BS_M_BOUNDS 14
#define BS_M_WAIT_BOUNDS 12

extern const struct bs_m_family bs_m_families[BS_MF__COUNT];
extern const struct bs_m_def bs_m_defs[];
extern const char *const bs_m_event_names[];
extern const char *const bs_m_product_names[];
extern const char *const bs_m_delivery_names[];
extern const char *const bs_m_deploy_names[];
extern const char *const bs_m_sleuth_names[];
extern const char *const bs_m_api_names[];
extern const double bs_m_bounds[BS_M_BOUNDS];
extern const double bs_m_wait_bounds[BS_M_WAIT_BOUNDS];

#endif
