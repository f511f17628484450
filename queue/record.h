/* record: the entries of the two streams bitsleuth writes for other
 * programs and never reads itself (issue 15; docs/schema/ is the
 * published contract, README "Reading the queue" the guide):
 *
 *   {p}:events   one entry per accepted delivery, XADDed by the enqueue
 *                script in the step that queues its job;
 *   {p}:deploys  one entry per deploy outcome (registered, dead,
 *                superseded, dry_run), XADDed by the finish script in the
 *                step that records it.
 *
 * Every entry has plain fields to filter on, then `format` ("msgpack" or
 * "json") and `data`, the record itself: a map with string keys and a
 * `v` field (BS_RECORD_VERSION). Readers ignore keys they do not know;
 * within a major version fields are only ever added. Both streams are
 * trimmed when an entry is added (MINID now - queue.events_ttl, exact;
 * MAXLEN ~ queue.events_maxlen) and once a minute by the workers.
 *
 * The event record is the job itself (job_codec.h: {v, delivery,
 * received_ms, event, keys}), so msgpack costs nothing but the XADD; the
 * JSON form is the same map converted (bs_record_json). */
#ifndef BS_RECORD_H
#define BS_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define BS_RECORD_VERSION 1

enum bs_record_format { BS_RECORD_MSGPACK = 0, BS_RECORD_JSON = 1 };

/* What the two streams are, from config queue.events*. */
struct bs_record_opts {
	bool on;                    /* false: neither stream is written */
	enum bs_record_format format;
	long long ttl_ms;           /* > 0 */
	long long maxlen;           /* > 0 */
};

/* Fills o from config queue.events, events_format (an unknown name is
 * msgpack: the config check refuses one), events_ttl and events_maxlen. */
void bs_record_opts_set(struct bs_record_opts *o, bool on, const char *format,
    long long ttl_ms, long long maxlen);

/* "msgpack" or "json". */
const char *bs_record_format_name(enum bs_record_format f);
/* 0 with *f set, or -1 for a name that is neither. */
int bs_record_format_parse(const char *name, enum bs_record_format *f);

/* Kinds of deploy outcome on {p}:deploys. */
#define BS_REC_REGISTERED "registered" /* Sleuth answered 200 */
#define BS_REC_DEAD "dead" /* a dead letter: needs a human */
#define BS_REC_SUPERSEDED "superseded" /* held past order_hold, a newer push won */
#define BS_REC_DRY_RUN "dry_run" /* sleuth.dry_run: recorded, not sent */

/* One deploy outcome. Strings may be NULL (written as nil / null). */
struct bs_deploy_record {
	const char *kind;           /* BS_REC_* */
	long long at_ms;            /* when the outcome was decided */
	const char *delivery;       /* the delivery's id */
	const char *job;            /* the {p}:jobs entry whose outcome it is */
	const char *event;          /* X-Event-Key */
	const char *repository;
	const char *target;         /* "org/deployment/environment"; NULL for a
	                             * job that could not be decoded */
	const char *org, *deployment, *environment;
	const char *sha;            /* the commit registered (or meant to be) */
	const char *branch;         /* the branch or tag that matched */
	const char *date;           /* the deploy date sent (ISO-8601 UTC) */
	long long commits;          /* commits sent with it; -1: none sent
	                             * (Sleuth computes them) */
	const char *const *keys;    /* issue keys sent with it */
	size_t n_keys;
	long attempts;              /* Sleuth calls made for it, this one included */
	long status;                /* Sleuth's last HTTP status, 0 if none */
	const char *reason;         /* dead, superseded: why */
	const char *superseded_by;  /* superseded: the newer push's job id */
	const char *url;            /* dry_run: where it would have been sent */
};

/* The record's `data` in format f: a map {"v": 1, "kind", "at_ms",
 * "delivery", "job", "event", "repository", "target", "org",
 * "deployment", "environment", "sha", "branch", "date", "commits" (int or
 * nil), "keys" [str], "attempts", "status", "reason", "superseded_by",
 * "url"}. malloc'd, length in *len. */
char *bs_record_deploy(const struct bs_deploy_record *r,
    enum bs_record_format f, size_t *len);

/* The msgpack value mp[0..len) as JSON text (maps with string keys,
 * arrays, strings, integers, floats, booleans, nil; binary as a string
 * when it is UTF-8, else null). malloc'd, length in *out_len; NULL when
 * mp is not one well-formed msgpack value, nests deeper than 64, or a map
 * key is not a string. */
char *bs_record_json(const char *mp, size_t len, size_t *out_len);

#endif
