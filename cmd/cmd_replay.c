/* cmd_replay: `replay`: a saved payload (or a delivery Redis kept) goes
 * through the same intake as HTTP and is enqueued, and --log reads the
 * record of every replay.
 *
 * Time is the push's time: the job's received_ms, the deploy's date where
 * the payload has none of its own (deploy/sleuth.c), is the original's
 * receive time for --delivery (kept with the raw delivery), and for
 * --event the --date given, else now, which stderr then says. A payload
 * with its own date (Data Center) is dated by it either way. */
#include "cmd/commands.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <yajl/yajl_gen.h>

#include "cmd/cmd_common.h"
#include "common/xalloc.h"
#include "cmd/cmd_shards.h"
#include "config/live.h"
#include "deploy/isotime.h"
#include "ingest/intake.h"
#include "ingest/lanes_of.h"
#include "queue/admin.h"
#include "queue/jobs.h"
#include "queue/lanes.h"
#include "queue/shard.h"

/* === replay ============================================================= */

struct replay_state {
	struct event_base *base;
	struct bs_redis *redis;
	int done;
	int up;
	enum bs_enqueue_status st;
	char id[64];
	char err[256];
};

static void
on_replay_state(int up, void *arg)
{
	struct replay_state *rs = arg;
	rs->up = up;
	event_base_loopbreak(rs->base);
}

static void
on_replay_enqueued(enum bs_enqueue_status st, const char *id, const char *err,
    void *arg)
{
	struct replay_state *rs = arg;
	rs->done = 1;
	rs->st = st;
	snprintf(rs->id, sizeof(rs->id), "%s", id ? id : "");
	snprintf(rs->err, sizeof(rs->err), "%s", err ? err : "");
	event_base_loopbreak(rs->base);
}

static void
on_replay_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct replay_state *rs = arg;
	event_base_loopbreak(rs->base);
}

/* Enqueues r through the same script as live deliveries and records it in
 * {p}:replays as a replay of `kind` ("payload" or "delivery"). */
static int
replay_enqueue(const struct bs_config *cfg, struct bs_intake_result *r,
    const char *kind, const char *event_key, const char *raw_headers,
    const char *body, size_t len, int content_dedupe)
{
	struct replay_state rs;
	memset(&rs, 0, sizeof(rs));
	rs.base = event_base_new();
	/* The shard of the job's repository (queue/shard.h), as ingest. */
	int n_shards = bs_cmd_n_shards(cfg);
	struct bs_keys keys;
	if (bs_shard_keys(cfg->redis.prefix, bs_shard_of(bs_shard_repo(&r->job.ev),
	    n_shards), n_shards, &keys) != 0) {
		fprintf(stderr, "bitsleuth replay: bad redis.prefix '%s'\n",
		    cfg->redis.prefix);
		return 1;
	}
	struct bs_redis_config rc;
	bs_cmd_redis_config(cfg, &rc);
	rc.hash_tag = keys.prefix;
	char err[256];
	rs.redis = bs_redis_new(rs.base, &rc, on_replay_state, &rs, err, sizeof(err));
	if (!rs.redis) {
		fprintf(stderr, "bitsleuth replay: %s\n", err);
		event_base_free(rs.base);
		return 1;
	}
	struct event *timer = evtimer_new(rs.base, on_replay_timeout, &rs);
	struct timeval tv = { (cfg->redis.connect_timeout_ms +
	    cfg->redis.command_timeout_ms) / 1000 + 1, 0 };
	evtimer_add(timer, &tv);
	event_base_dispatch(rs.base);           /* until up or timeout */
	int rcode = 1;
	if (!rs.up) {
		const char *at = bs_redis_address(rs.redis);
		fprintf(stderr, "bitsleuth replay: redis %s%s is not reachable\n",
		    *at ? "at " : "", *at ? at : cfg->redis.sentinel.master ?
		    "(no master known to the sentinels)" : "(no owner of the slot known)");
		goto out;
	}
	/* A replayed payload is a delivery: {p}:events gets it too. */
	struct bs_record_opts pub;
	bs_record_opts_set(&pub, cfg->queue.events, cfg->queue.events_format,
	    cfg->queue.events_ttl_ms, cfg->queue.events_maxlen);
	struct bs_enqueue e = {
		.delivery = r->delivery,
		.content_key = content_dedupe && r->content_key[0] ? r->content_key : NULL,
		.event_key = event_key,
		.job = r->blob, .job_len = r->blob_len,
		.raw_headers = raw_headers, .raw_headers_len = strlen(raw_headers),
		.raw_body = body, .raw_body_len = len,
		.seen_ttl_s = cfg->queue.seen_ttl_s, .raw_ttl_s = cfg->queue.raw_ttl_s,
		.maxlen = cfg->queue.max_stream,
		.received_ms = r->job.received_ms,
		.window_s = cfg->queue.content_dedupe_window_s,
		.repository = r->job.ev.repository,
		.events = &pub,
	};
	/* A replay is a new push in its targets' lanes: it joins their tails. */
	struct bs_lanes_of lanes;
	bs_lanes_of(cfg->deployments, cfg->n_deployments, &r->job, &lanes);
	e.lanes = lanes.ptrs;
	e.n_lanes = lanes.n;
	bs_jobs_enqueue(rs.redis, &keys, &e, on_replay_enqueued, &rs);
	if (!rs.done)
		event_base_dispatch(rs.base);
	if (!rs.done || rs.st == BS_ENQ_FAILED) {
		fprintf(stderr, "bitsleuth replay: not queued: %s\n",
		    rs.done ? rs.err : "timeout");
		goto out;
	}
	if (rs.st == BS_ENQ_DUPLICATE) {
		printf("duplicate: delivery %s is already job %s (use --delivery-id "
		    "to queue it again)\n", r->delivery, rs.id);
		rcode = 0;
		goto out;
	}
	const char **ks;
	size_t nk = bs_job_distinct_keys(&r->job, &ks);
	printf("queued: delivery %s as job %s, issues:", r->delivery, rs.id);
	for (size_t i = 0; i < nk; i++)
		printf(" %s", ks[i]);
	printf("\n");
	rcode = 0;

	/* Who replayed what, for the operators who come after. The job is
	 * queued either way, so a failed record is a warning, not a failure. */
	redisContext *sync = bs_redis_connect_sync(&rc, err, sizeof(err));
	if (!sync || bs_admin_replay_record(sync, &keys, kind, bs_cmd_actor(),
	    bs_now_ms(), r->delivery, rs.id, err, sizeof(err)) != 0) {
		fprintf(stderr, "bitsleuth replay: warning: queued but not recorded "
		    "in %s: %s\n", keys.replays, err);
	} else if (bs_redis_sync_wait(sync, &rc, err, sizeof(err)) != 0) {
		/* WAIT covers this connection's last write, the record, and so
		 * everything the master wrote before it: the job too. */
		fprintf(stderr, "bitsleuth replay: queued, but not yet confirmed on "
		    "replicas: %s\n", err);
		rcode = 1;
	}
	if (sync)
		redisFree(sync);
out:
	event_free(timer);
	bs_redis_free(rs.redis);
	event_base_free(rs.base);
	return rcode;
}

/* The value of header `name` in a kept "Name: value\n" block, copied into
 * out; NULL when absent. */
static const char *
kept_header(const char *headers, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - p)), v);
			return out;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* Re-ingests a delivery kept in {p}:raw:<id> through today's parser and
 * mapping, as a new delivery "<id>.replay.<ms>" (so the dedupe of the
 * original does not swallow it) without content dedupe. */
static int
replay_kept(const char *path, const char *delivery)
{
	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, path, "replay") != 0)
		return 1;
	struct bs_config *cfg = &a.cfg;
	char err[256];
	int code = 1;
	struct bs_admin_raw raw;
	int found = 0;   /* kept in its repository's shard: look in each */
	for (int i = 0; i < a.n_shards && !found; i++)
		found = bs_admin_raw_get(a.shards[i].rc, &a.shards[i].keys, delivery,
		    &raw, err, sizeof(err)) == 0;
	if (!found) {
		fprintf(stderr, "bitsleuth replay: %s\n", err);
		bs_cmd_redis_close(&a);
		return 1;
	}
	char ev[80], ct[128], ua[128], uuid[128], rid[128];
	const char *event_key = kept_header(raw.headers, "X-Event-Key", ev, sizeof(ev));
	if (!event_key)
		event_key = raw.event;
	char new_id[128];
	snprintf(new_id, sizeof(new_id), "%.80s.replay.%lld", delivery, bs_now_ms());
	struct bs_scanner *sc = bs_config_scanner(cfg, err, sizeof(err));
	struct bs_intake in = { .cfg = cfg, .scanner = sc };
	struct bs_delivery d = {
		.event_key = event_key,
		.content_type = kept_header(raw.headers, "Content-Type", ct, sizeof(ct)),
		.user_agent = kept_header(raw.headers, "User-Agent", ua, sizeof(ua)),
		.body = raw.body, .len = raw.body_len, .skip_signature = 1,
	};
	/* Keep the product hint of the original headers. */
	if (kept_header(raw.headers, "X-Request-UUID", uuid, sizeof(uuid)))
		d.request_uuid = new_id;
	else if (kept_header(raw.headers, "X-Request-Id", rid, sizeof(rid)))
		d.request_id = new_id;
	else
		d.request_uuid = new_id;
	if (!d.content_type)
		d.content_type = "application/json";
	/* The original's receive time, so that the deploy is dated by the push
	 * (and a replay of this replay too: it is kept with it). */
	long long received_ms = raw.received_ms;
	if (received_ms <= 0) {
		received_ms = bs_now_ms();
		fprintf(stderr, "bitsleuth replay: the kept delivery has no receive "
		    "time: a deploy without a date of its own is dated now\n");
	}
	struct bs_intake_result r;
	bs_intake_process(&in, &d, received_ms, &r);
	if (r.verdict == BS_INTAKE_QUEUE) {
		code = replay_enqueue(cfg, &r, "delivery", event_key, raw.headers,
		    raw.body, raw.body_len, 0);
	} else {
		printf("%s: %s\n", r.code, r.reason);
		code = r.verdict == BS_INTAKE_REFUSED ? 1 : 0;
	}
	bs_intake_result_release(&r);
	bs_scanner_free(sc);
	bs_admin_raw_release(&raw);
	bs_cmd_redis_close(&a);
	return code;
}

/* --- replay --log ------------------------------------------------------ */



/* The first of the names that the record has (records written before the
 * one format used other names), else NULL. */
static const char *
log_first(const struct bs_admin_entry *e, const char *a, const char *b)
{
	const char *v = bs_admin_entry_field(e, a, NULL);
	return v ? v : b ? bs_admin_entry_field(e, b, NULL) : NULL;
}

/* Prints s with control characters (a delivery id comes from a webhook
 * header) shown as '?', so that a record cannot drive the terminal. */
static void
print_clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
		putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}


static void
print_log_json(const struct bs_admin_entries *es)
{
	yajl_gen g = bs_cmd_json_new();
	yajl_gen_array_open(g);
	for (size_t i = 0; i < es->n; i++) {
		const struct bs_admin_entry *e = &es->v[i];
		yajl_gen_map_open(g);
		bs_cmd_json_str(g, "id", 2);
		bs_cmd_json_str(g, e->id, strlen(e->id));
		for (size_t j = 0; j < e->n_fields; j++) {
			if (strcmp(e->fields[j].name, "id") == 0)
				continue;   /* the stream id above */
			bs_cmd_json_str(g, e->fields[j].name, strlen(e->fields[j].name));
			bs_cmd_json_str(g, e->fields[j].val, e->fields[j].len);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	bs_cmd_json_print(g);
}

/* TIME WHO KIND WHAT -> job ID [TARGET], one line per record. */
static void
print_log_line(const struct bs_admin_entry *e)
{
	const char *ms = log_first(e, "when_ms", "when");
	char when[BS_ISOTIME_LEN];
	if (bs_isotime_utc(ms ? strtoll(ms, NULL, 10) : strtoll(e->id, NULL, 10),
	    when, sizeof(when)) != 0)
		snprintf(when, sizeof(when), "-");
	const char *kind = bs_admin_entry_field(e, "kind", NULL);
	if (!kind)
		kind = bs_admin_entry_field(e, "new_id", NULL) ? "dead" : "-";
	const char *target = bs_admin_entry_field(e, "target", NULL);
	printf("%s ", when);
	print_clean(bs_admin_entry_field(e, "who", NULL));
	putchar(' ');
	print_clean(kind);
	putchar(' ');
	print_clean(log_first(e, "what", "delivery"));
	fputs(" -> job ", stdout);
	print_clean(log_first(e, "job", "new_id"));
	if (target) {
		putchar(' ');
		print_clean(target);
	}
	putchar('\n');
}

/* Newest stream id first. */
static int
newest_first(const void *x, const void *y)
{
	const struct bs_admin_entry *a = x, *b = y;
	return bs_stream_id_cmp(b->id, a->id);
}

/* The replay log of every shard (each records the replays into it),
 * newest first, at most limit records (as bs_admin_replays). */
static int
replays_all(const struct bs_cmd_redis *a, long long since_ms, size_t limit,
    struct bs_admin_entries *out, char *err, size_t errlen)
{
	if (a->n_shards <= 1)
		return bs_admin_replays(a->rc, &a->keys, since_ms, limit, out, err,
		    errlen);
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < a->n_shards; i++) {
		struct bs_admin_entries es;
		if (bs_admin_replays(a->shards[i].rc, &a->shards[i].keys, since_ms,
		    limit, &es, err, errlen) != 0) {
			bs_admin_entries_release(out);
			return -1;
		}
		out->v = xrealloc(out->v, (out->n + es.n + 1) * sizeof(*out->v));
		if (es.n)
			memcpy(out->v + out->n, es.v, es.n * sizeof(*es.v));
		out->n += es.n;
		free(es.v);   /* the entries moved to out */
	}
	qsort(out->v, out->n, sizeof(*out->v), newest_first);
	size_t cap = limit ? limit : BS_REPLAYS_LOG_DEFAULT;
	if (cap > BS_REPLAYS_LOG_MAX)
		cap = BS_REPLAYS_LOG_MAX;
	while (out->n > cap)
		bs_admin_entry_release(&out->v[--out->n]);
	return 0;
}

/* bitsleuth replay --log: the replay records, newest first. */
static int
replay_log(const char *path, long long since_ms, size_t limit, int json)
{
	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, path, "replay") != 0)
		return 1;
	char err[256];
	struct bs_admin_entries es;
	int code = 0;
	if (replays_all(&a, since_ms, limit, &es, err, sizeof(err)) != 0) {
		fprintf(stderr, "bitsleuth replay --log: %s\n", err);
		code = 1;
	} else {
		if (json)
			print_log_json(&es);
		else
			for (size_t i = 0; i < es.n; i++)
				print_log_line(&es.v[i]);
		bs_admin_entries_release(&es);
	}
	bs_cmd_redis_close(&a);
	return code;
}

/* Whether the event carries a date the deploy is sent with, the UTC form
 * the parsers give Data Center's event dates (deploy/sleuth.c uses it then
 * instead of the job's received_ms). */
static bool
has_own_date(const struct bs_event *ev)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (!ev->date || strlen(ev->date) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (ev->date[i] < '0' || ev->date[i] > '9') :
		    ev->date[i] != shape[i])
			return false;
	return true;
}

/* Tells on stderr which time the deploys of a replayed payload carry when
 * the operator may not expect it: now (no --date, date_ms < 0, and no date
 * in the payload), or the payload's own date despite --date. */
static void
say_date(const struct bs_event *ev, long long date_ms)
{
	char when[BS_ISOTIME_LEN];
	if (has_own_date(ev)) {
		if (date_ms >= 0)
			fprintf(stderr, "bitsleuth replay: the payload has its own date "
			    "(%s): the deploy is dated by it, not by --date\n", ev->date);
		return;
	}
	if (date_ms >= 0)
		return;
	if (bs_isotime_utc(bs_now_ms(), when, sizeof(when)) != 0)
		snprintf(when, sizeof(when), "-");
	fprintf(stderr, "bitsleuth replay: the payload has no date of its own "
	    "(Bitbucket Cloud sends none): the deploy is dated now, %s; give "
	    "the push time with --date\n", when);
}

static int
replay_usage(void)
{
	fprintf(stderr, "usage: bitsleuth replay -c FILE --event KEY PAYLOAD.json "
	    "[--delivery-id ID] [--date TIME]\n"
	    "       bitsleuth replay -c FILE --delivery ID\n"
	    "       bitsleuth replay -c FILE --log [--since DURATION] [--limit N] "
	    "[--json]\n");
	return 2;
}

int
bs_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "event", required_argument, NULL, 'e' },
		{ "delivery", required_argument, NULL, 'd' },
		{ "delivery-id", required_argument, NULL, 'i' },
		{ "date", required_argument, NULL, 'D' },
		{ "log", no_argument, NULL, 'L' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = bs_default_config_path();
	const char *event_key = NULL, *delivery_id = NULL, *delivery = NULL;
	int show_log = 0, log_opts = 0, json = 0, o;
	long long since_ms = 0, date_ms = -1;   /* -1: no --date */
	size_t limit = BS_REPLAYS_LOG_DEFAULT;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'e': event_key = optarg; break;
		case 'i': delivery_id = optarg; break;
		case 'd': delivery = optarg; break;
		case 'D':
			date_ms = bs_parse_utc_time(optarg);
			if (date_ms < 0) {
				fprintf(stderr, "bitsleuth replay: bad --date '%s' (use an "
				    "ISO-8601 UTC time like 2026-11-30T12:00:00Z, or unix "
				    "milliseconds)\n", optarg);
				return 2;
			}
			break;
		case 'L': show_log = 1; break;
		case 's': {
			long long d = bs_parse_duration(optarg);
			if (d < 0) {
				fprintf(stderr, "bitsleuth replay: bad --since '%s' (use e.g. "
				    "90s, 15m, 2h, 7d)\n", optarg);
				return 2;
			}
			since_ms = bs_now_ms() - d;
			if (since_ms < 1)
				since_ms = 1;    /* 0 would mean "no filter": same set */
			log_opts = 1;
			break;
		}
		case 'n':
			if (bs_cmd_parse_limit("replay", optarg, BS_REPLAYS_LOG_MAX,
			    &limit) != 0)
				return 2;
			log_opts = 1;
			break;
		case 'j': json = 1; log_opts = 1; break;
		case 'h': return bs_cmd_help("replay");
		default: return 2;
		}
	}
	if (date_ms >= 0 && (show_log || delivery)) {
		fprintf(stderr, "bitsleuth replay: --date goes with --event (a kept "
		    "delivery keeps its own time)\n");
		return replay_usage();
	}
	if (show_log) {
		if (event_key || delivery || delivery_id || optind != argc) {
			fprintf(stderr, "bitsleuth replay: --log does not go with "
			    "--event, --delivery or a payload\n");
			return replay_usage();
		}
		return replay_log(path, since_ms, limit, json);
	}
	if (log_opts) {
		fprintf(stderr, "bitsleuth replay: --since, --limit and --json go "
		    "with --log\n");
		return replay_usage();
	}
	if (delivery) {
		if (event_key || optind != argc) {
			fprintf(stderr, "usage: bitsleuth replay -c FILE --delivery ID\n");
			return 2;
		}
		return replay_kept(path, delivery);
	}
	if (!event_key || optind != argc - 1)
		return replay_usage();
	struct bs_config cfg;
	if (bs_load_config_or_report(path, BS_USES_REDIS, &cfg, 0) != 0)
		return 1;
	size_t len;
	char *body = bs_read_file(argv[optind], cfg.http.max_body, &len);
	if (!body) {
		bs_config_release(&cfg);
		return 1;
	}
	char err[256];
	struct bs_scanner *sc = bs_config_scanner(&cfg, err, sizeof(err));
	int rc = 1;
	struct bs_intake in = { .cfg = &cfg, .scanner = sc };
	struct bs_delivery d = {
		.event_key = event_key, .content_type = "application/json",
		.request_uuid = delivery_id, .body = body, .len = len,
		.skip_signature = 1, .user_agent = "bitsleuth-replay",
	};
	struct bs_intake_result r;
	bs_intake_process(&in, &d, date_ms >= 0 ? date_ms : bs_now_ms(), &r);
	if (r.verdict == BS_INTAKE_QUEUE) {
		say_date(&r.job.ev, date_ms);
		char headers[256];
		snprintf(headers, sizeof(headers), "X-Event-Key: %s\nUser-Agent: "
		    "bitsleuth-replay\n", event_key);
		rc = replay_enqueue(&cfg, &r, "payload", event_key, headers, body,
		    len, 0);
	} else {
		printf("%s: %s\n", r.code, r.reason);
		rc = r.verdict == BS_INTAKE_REFUSED ? 1 : 0;
	}
	bs_intake_result_release(&r);
	bs_scanner_free(sc);
	free(body);
	bs_config_release(&cfg);
	return rc;
}
