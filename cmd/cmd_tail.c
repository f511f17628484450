/* cmd_tail: `bitsleuth tail`, a follower of the streams bitsleuth writes
 * for other programs (issue 15, queue/record.h): {p}:events (default, one
 * entry per accepted delivery) or {p}:deploys (--deploys, one per deploy
 * outcome), like `tail -f`.
 *
 * Contract:
 *   - It reads every shard's stream (queue.shards), each over its own
 *     synchronous CLI connection (bs_cmd_redis_open: plain Redis,
 *     Sentinel, Cluster, TLS), in turns: a non-blocking read of every
 *     shard, and when none had anything, short blocking reads of each in
 *     turn (BLOCK below half of redis.command_timeout_ms, at most a second
 *     in all; a slice too short to block in reliably polls every
 *     TAIL_POLL_MS instead), at most TAIL_BATCH entries a read. Order is by stream id
 *     within a shard; shards interleave as they are read.
 *   - Without --group it starts after the newest entry (only new ones),
 *     or with --since D at now - D, and follows with XREAD. It writes
 *     nothing to Redis.
 *   - With --group G it reads in consumer group G of each shard's stream
 *     (created with MKSTREAM at the end, or at now - D with --since; a
 *     group that exists resumes where it was, --since then ignored, said
 *     on stderr) as consumer --consumer NAME (default tail-HOSTNAME: a
 *     restart under another name leaves the old one's pending entries to
 *     XAUTOCLAIM by hand, so containers set it):
 *     first its own pending entries, then new ones; each entry is XACKed
 *     after its line is written and flushed, so a tail killed in between
 *     prints it again on restart (at least once). `workers`, bitsleuth's
 *     own group on {p}:jobs, is refused (usage error).
 *   - One line per entry on stdout. Human: TIME (received_ms / at_ms, UTC)
 *     and the plain fields, with what `data` holds decoded (issue keys;
 *     sha, commits, reason), values and lists cut to fit a line; a record
 *     that does not decode (or is over TAIL_DECODE_MAX) shows `data=?`.
 *     --json: {"stream","shard","id", the plain fields as stored (strings),
 *     "data": the record as JSON or null when it does not decode}.
 *   - A connection lost while following is opened again (said on
 *     stderr), retried with backoff for up to TAIL_RECONNECT_MS; in a
 *     group reading then starts again with the consumer's pending entries
 *     (what it read and had not acknowledged comes again). Without a group
 *     it goes on after the last id it printed.
 *   - --count N: exit 0 after N entries. SIGINT/SIGTERM: exit 0 after the
 *     read in progress (within about a second). Exit 1: config errors,
 *     Redis unreachable at the start or for longer than the retries, an
 *     error reply, queue.events: false (the streams are not written),
 *     stdout failing. Exit 2: usage errors, one line. */
#include "cmd/commands.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/xalloc.h"
#include "deploy/isotime.h"
#include "queue/record.h"
#include "queue/stream_read.h"
#include "cmd/cmd_common.h"

#define TAIL_BATCH 100              /* entries per read */
#define TAIL_BLOCK_MS 1000          /* blocking reads of one round, in all */
#define TAIL_SLICE_MIN_MS 50        /* shortest blocking read of a shard */
#define TAIL_BLOCK_MIN_MS 150       /* shorter slices poll instead of blocking */
#define TAIL_POLL_MS 100            /* the poll's pause when nothing came */
#define TAIL_DECODE_MAX (8u << 20)  /* larger records: data=? (human) */
#define TAIL_LINE_MAX 4096          /* a human line is cut here */
#define TAIL_VAL_MAX 160            /* one value in a human line */
#define TAIL_KEYS_MAX 20            /* issue keys shown, then +N */
#define TAIL_NAME_MAX 200           /* --group, --consumer */
#define TAIL_RECONNECT_MS 60000     /* a lost connection: retried this long */
#define TAIL_RECONNECT_WAIT_MAX 2000

static volatile sig_atomic_t tail_stop;

static void
on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

struct tail_opts {
	const char *path;
	int deploys;                /* 0: {p}:events, 1: {p}:deploys */
	const char *group;          /* NULL: plain XREAD */
	char consumer[TAIL_NAME_MAX + 8];
	int json;
	long long since_ms;         /* -1: from the end */
	size_t count;               /* 0: until stopped */
};

/* One shard's stream as followed. */
struct follower {
	int shard;
	struct bs_cmd_shard *sh;      /* its keys and connection (replaced on a
	                               * reconnect) */
	const char *key;
	char after[BS_STREAM_ID_LEN]; /* XREAD: the last id read; group: the
	                               * last pending id while pending */
	int pending;                  /* group: still reading its history */
};

struct tail {
	const struct tail_opts *o;
	const struct bs_redis_config *rcfg;
	int n_shards;
	size_t printed;
};

/* === a human line ==================================================== */

struct line {
	char buf[TAIL_LINE_MAX];
	size_t n;
	int cut;
};

static void
put_n(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (l->n + 4 >= sizeof(l->buf)) {   /* room for "..." and NUL */
			l->cut = 1;
			return;
		}
		unsigned char ch = (unsigned char)s[i];
		l->buf[l->n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
}

static void
put(struct line *l, const char *s)
{
	put_n(l, s, strlen(s));
}

/* A value, at most TAIL_VAL_MAX bytes ("..." when cut), "-" when empty. */
static void
put_val(struct line *l, const char *s)
{
	if (!s || !*s) {
		put(l, "-");
		return;
	}
	size_t n = strlen(s);
	put_n(l, s, n > TAIL_VAL_MAX ? TAIL_VAL_MAX : n);
	if (n > TAIL_VAL_MAX)
		put(l, "...");
}

static void
put_field(struct line *l, const char *name, const char *v)
{
	put(l, "  ");
	put(l, name);
	put(l, "=");
	put_val(l, v);
}

static void
line_end(struct line *l)
{
	if (l->cut) {
		memcpy(l->buf + l->n, "...", 3);
		l->n += 3;
	}
	l->buf[l->n++] = '\n';
}

/* === the record =================================================== */

static const char *
field(const struct bs_admin_entry *e, const char *name, size_t *len)
{
	return bs_admin_entry_field(e, name, len);
}

/* The record `data` of e as JSON text (malloc'd, *len), or NULL when it
 * does not decode: msgpack converted, JSON checked to parse (and its
 * whitespace made one line). */
static char *
record_json(const struct bs_admin_entry *e, size_t *len)
{
	size_t dlen = 0;
	const char *data = field(e, "data", &dlen);
	const char *fmt = field(e, "format", NULL);
	if (!data || dlen == 0 || !fmt)
		return NULL;
	if (strcmp(fmt, "msgpack") == 0)
		return bs_record_json(data, dlen, len);
	if (strcmp(fmt, "json") != 0 || strlen(data) != dlen)
		return NULL;
	char err[128];
	yajl_val v = yajl_tree_parse(data, err, sizeof(err));
	if (!v)
		return NULL;
	yajl_tree_free(v);
	char *out = xstrndup(data, dlen);
	for (size_t i = 0; i < dlen; i++)
		if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t')
			out[i] = ' ';   /* JSON whitespace: only outside strings */
	*len = dlen;
	return out;
}

/* The record as a tree, or NULL (undecodable or over TAIL_DECODE_MAX). */
static yajl_val
record_tree(const struct bs_admin_entry *e)
{
	size_t dlen = 0, jlen = 0;
	if (!field(e, "data", &dlen) || dlen > TAIL_DECODE_MAX)
		return NULL;
	char *js = record_json(e, &jlen);
	if (!js)
		return NULL;
	char err[128];
	yajl_val v = yajl_tree_parse(js, err, sizeof(err));
	free(js);
	if (v && !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		v = NULL;
	}
	return v;
}

static yajl_val
get(yajl_val obj, const char *name)
{
	const char *path[] = { name, NULL };
	return yajl_tree_get(obj, path, yajl_t_any);
}

static const char *
get_str(yajl_val obj, const char *name)
{
	yajl_val v = get(obj, name);
	return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

/* Appends "  keys=K1,K2" from the array v: strings (deploy records) or
 * objects with "key" (the job's keys), each once, at most TAIL_KEYS_MAX. */
static void
put_keys(struct line *l, yajl_val v)
{
	put(l, "  keys=");
	size_t shown = 0, more = 0;
	const char *seen[TAIL_KEYS_MAX];
	for (size_t i = 0; YAJL_IS_ARRAY(v) && i < v->u.array.len; i++) {
		yajl_val k = v->u.array.values[i];
		const char *s = YAJL_IS_STRING(k) ? k->u.string : get_str(k, "key");
		if (!s || !*s)
			continue;
		int dup = 0;
		for (size_t j = 0; j < shown && !dup; j++)
			dup = strcmp(seen[j], s) == 0;
		if (dup)
			continue;
		if (shown == TAIL_KEYS_MAX) {
			more++;
			continue;
		}
		if (shown)
			put(l, ",");
		put_val(l, s);
		seen[shown++] = s;
	}
	if (shown == 0)
		put(l, "-");
	if (more) {
		char m[32];
		snprintf(m, sizeof(m), ",+%zu more", more);
		put(l, m);
	}
}

/* The entry's time: the plain field (received_ms, at_ms), else its id. */
static void
put_time(struct line *l, const struct bs_admin_entry *e, const char *name)
{
	const char *v = field(e, name, NULL);
	char *end = NULL;
	long long ms = v ? strtoll(v, &end, 10) : 0;
	if (!v || end == v || *end || ms <= 0)
		ms = strtoll(e->id, NULL, 10);
	char t[BS_ISOTIME_LEN];
	put(l, bs_isotime_utc(ms, t, sizeof(t)) == 0 ? t : "-");
}

static void
human_event(struct line *l, const struct bs_admin_entry *e, yajl_val rec)
{
	put_time(l, e, "received_ms");
	put(l, "  ");
	put_val(l, field(e, "event", NULL));
	put(l, "  ");
	put_val(l, field(e, "repository", NULL));
	put_field(l, "delivery", field(e, "delivery", NULL));
	put_field(l, "job", field(e, "job", NULL));
	if (rec)
		put_keys(l, get(rec, "keys"));
}

static void
human_deploy(struct line *l, const struct bs_admin_entry *e, yajl_val rec)
{
	put_time(l, e, "at_ms");
	put(l, "  ");
	put_val(l, field(e, "kind", NULL));
	put(l, "  ");
	put_val(l, field(e, "target", NULL));
	if (rec) {
		const char *sha = get_str(rec, "sha");
		char s12[13] = "";
		if (sha)
			snprintf(s12, sizeof(s12), "%s", sha);
		put_field(l, "sha", s12);
		yajl_val c = get(rec, "commits");
		char n[32] = "";
		if (YAJL_IS_INTEGER(c))
			snprintf(n, sizeof(n), "%lld", YAJL_GET_INTEGER(c));
		put_field(l, "commits", n);
		put_keys(l, get(rec, "keys"));
		const char *reason = get_str(rec, "reason");
		if (reason && *reason) {
			put(l, "  reason=\"");
			put_val(l, reason);
			put(l, "\"");
		}
		const char *by = get_str(rec, "superseded_by");
		if (by && *by)
			put_field(l, "superseded_by", by);
	}
	put_field(l, "delivery", field(e, "delivery", NULL));
	put_field(l, "job", field(e, "job", NULL));
}

static int
print_human(const struct tail *t, int shard, const struct bs_admin_entry *e)
{
	struct line l = { .n = 0 };
	yajl_val rec = record_tree(e);
	if (t->o->deploys)
		human_deploy(&l, e, rec);
	else
		human_event(&l, e, rec);
	if (!rec)
		put(&l, "  data=?");
	if (t->n_shards > 1) {
		char s[24];
		snprintf(s, sizeof(s), "  shard=%d", shard);
		put(&l, s);
	}
	if (rec)
		yajl_tree_free(rec);
	line_end(&l);
	return fwrite(l.buf, 1, l.n, stdout) == l.n ? 0 : -1;
}

static int
print_json(const struct tail *t, int shard, const struct bs_admin_entry *e)
{
	yajl_gen g = bs_cmd_json_new();
	yajl_gen_map_open(g);
	bs_cmd_json_str(g, "stream", 6);
	const char *s = t->o->deploys ? "deploys" : "events";
	bs_cmd_json_str(g, s, strlen(s));
	bs_cmd_json_str(g, "shard", 5);
	yajl_gen_integer(g, shard);
	bs_cmd_json_str(g, "id", 2);
	bs_cmd_json_str(g, e->id, strlen(e->id));
	for (size_t i = 0; i < e->n_fields; i++) {
		const char *nm = e->fields[i].name;
		if (strcmp(nm, "data") == 0 || strcmp(nm, "stream") == 0 ||
		    strcmp(nm, "shard") == 0 || strcmp(nm, "id") == 0)
			continue;
		bs_cmd_json_str(g, nm, strlen(nm));
		bs_cmd_json_str(g, e->fields[i].val, e->fields[i].len);
	}
	/* The record goes in as the JSON text it is (yajl_gen has no way to
	 * embed a document), after the fields and before the closing brace. */
	const unsigned char *buf;
	size_t len, jlen = 0;
	yajl_gen_get_buf(g, &buf, &len);
	char *js = record_json(e, &jlen);
	int ok = fwrite(buf, 1, len, stdout) == len;
	ok = ok && fputs(",\"data\":", stdout) >= 0;
	ok = ok && (js ? fwrite(js, 1, jlen, stdout) == jlen :
	    fputs("null", stdout) >= 0);
	ok = ok && fputs("}\n", stdout) >= 0;
	free(js);
	yajl_gen_free(g);
	return ok ? 0 : -1;
}

/* Prints e and flushes; then, in a group, acknowledges it. An entry
 * deleted while pending (no fields) is only acknowledged. 0; -1 when
 * stdout failed (said on stderr); -2 when XACK failed (reason in err). */
static int
deliver(struct tail *t, struct follower *f, const struct bs_admin_entry *e,
    char *err, size_t errlen)
{
	if (e->n_fields > 0) {
		int rc = t->o->json ? print_json(t, f->shard, e) :
		    print_human(t, f->shard, e);
		if (rc != 0 || fflush(stdout) != 0) {
			fprintf(stderr, "bitsleuth tail: cannot write to stdout: %s\n",
			    strerror(errno));
			return -1;
		}
		t->printed++;
	}
	if (t->o->group && bs_stream_ack(f->sh->rc, f->key, t->o->group, e->id,
	    err, errlen) != 0)
		return -2;
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);       /* a signal cuts it short: checked after */
}

/* A Redis call of f failed with err. An error reply ends the tail (-1,
 * said on stderr); a lost connection is opened again, retried with
 * backoff for up to TAIL_RECONNECT_MS (0 once it is back or a signal
 * stops the tail, -1 when it gave up). In a group, reading starts again
 * with the consumer's pending entries: what it had read, and not yet
 * acknowledged, comes again. */
static int
lost(struct tail *t, struct follower *f, const char *err)
{
	if (f->sh->rc && f->sh->rc->err == 0) {
		fprintf(stderr, "bitsleuth tail: shard %d: %s\n", f->shard, err);
		return -1;
	}
	fprintf(stderr, "bitsleuth tail: shard %d: %s; reconnecting\n", f->shard,
	    err);
	long long give_up = bs_mono_ms() + TAIL_RECONNECT_MS;
	long wait = 100;
	char why[256];
	snprintf(why, sizeof(why), "%s", err);
	while (!tail_stop) {
		if (f->sh->rc)
			redisFree(f->sh->rc);
		struct bs_redis_config rc = *t->rcfg;
		rc.hash_tag = f->sh->keys.prefix;
		f->sh->rc = bs_redis_connect_sync(&rc, why, sizeof(why));
		if (f->sh->rc) {
			fprintf(stderr, "bitsleuth tail: shard %d: reconnected\n",
			    f->shard);
			if (t->o->group) {
				f->pending = 1;
				snprintf(f->after, sizeof(f->after), "0");
			}
			return 0;
		}
		if (bs_mono_ms() >= give_up) {
			fprintf(stderr, "bitsleuth tail: shard %d: %s; giving up after "
			    "%d s\n", f->shard, why, TAIL_RECONNECT_MS / 1000);
			return -1;
		}
		sleep_ms(wait);
		wait = wait * 2 > TAIL_RECONNECT_WAIT_MAX ? TAIL_RECONNECT_WAIT_MAX :
		    wait * 2;
	}
	return 0;
}

/* One read of f's stream (block_ms < 0: without waiting). The number of
 * entries read, or -1 after a message on stderr. */
static int
read_once(struct tail *t, struct follower *f, long block_ms)
{
	size_t want = TAIL_BATCH;
	if (t->o->count && t->o->count - t->printed < want)
		want = t->o->count - t->printed;
	if (want == 0)
		return 0;
	struct bs_admin_entries es;
	char err[256];
	int rc;
	if (!t->o->group)
		rc = bs_stream_read(f->sh->rc, f->key, f->after, want, block_ms, &es,
		    err, sizeof(err));
	else
		rc = bs_stream_read_group(f->sh->rc, f->key, t->o->group,
		    t->o->consumer, f->pending ? f->after : ">", want, block_ms, &es,
		    err, sizeof(err));
	if (rc != 0)
		return lost(t, f, err);
	if (es.n == 0 && f->pending)
		f->pending = 0;     /* history done: new entries from now on */
	int n = 0;
	for (size_t i = 0; i < es.n && rc == 0; i++) {
		snprintf(f->after, sizeof(f->after), "%s", es.v[i].id);
		rc = deliver(t, f, &es.v[i], err, sizeof(err));
		n++;
		if (t->o->count && t->printed >= t->o->count)
			break;      /* the rest stay pending for the next run */
	}
	bs_admin_entries_release(&es);
	if (rc == -2)
		return lost(t, f, err);
	return rc == 0 ? n : -1;
}

/* Where each follower starts: after the newest entry or at --since
 * (XREAD), or in its group (created if needed). */
static int
start(struct tail *t, struct follower *fs, int n)
{
	char err[256], since[BS_STREAM_ID_LEN];
	int noted = 0;
	if (t->o->since_ms >= 0)
		bs_stream_id_before_ms(bs_now_ms() - t->o->since_ms, since,
		    sizeof(since));
	for (int i = 0; i < n; i++) {
		struct follower *f = &fs[i];
		int created = 0, rc;
		if (!t->o->group && t->o->since_ms >= 0) {
			snprintf(f->after, sizeof(f->after), "%s", since);
			continue;
		}
		if (!t->o->group) {
			rc = bs_stream_last_id(f->sh->rc, f->key, f->after,
			    sizeof(f->after), err, sizeof(err));
		} else {
			rc = bs_stream_group_create(f->sh->rc, f->key, t->o->group,
			    t->o->since_ms >= 0 ? since : "$", &created, err, sizeof(err));
			snprintf(f->after, sizeof(f->after), "0");
			f->pending = 1;
		}
		if (rc != 0) {
			fprintf(stderr, "bitsleuth tail: shard %d: %s\n", i, err);
			return -1;
		}
		if (t->o->group && !created && t->o->since_ms >= 0 && !noted) {
			fprintf(stderr, "bitsleuth tail: group '%s' exists: it resumes "
			    "where it was (--since ignored)\n", t->o->group);
			noted = 1;
		}
	}
	return 0;
}

/* Follows until --count entries were printed, a signal, or an error. */
static int
follow(struct tail *t, struct follower *fs, int n, long slice_ms)
{
	while (!tail_stop && (!t->o->count || t->printed < t->o->count)) {
		int got = 0;
		for (int i = 0; i < n && !tail_stop; i++) {
			int r = read_once(t, &fs[i], -1);
			if (r < 0)
				return 1;
			got += r;
			/* A group's history is read to its end before anything
			 * blocks. */
			while (r > 0 && fs[i].pending && !tail_stop &&
			    (!t->o->count || t->printed < t->o->count)) {
				if ((r = read_once(t, &fs[i], -1)) < 0)
					return 1;
			}
		}
		if (!got && slice_ms < TAIL_BLOCK_MIN_MS) {
			/* Too short to block in: Redis ends a BLOCK on its own
			 * clock tick, up to 100 ms late, past a short command
			 * timeout. Poll instead. */
			sleep_ms(TAIL_POLL_MS);
			continue;
		}
		for (int i = 0; i < n && !got && !tail_stop; i++) {
			int r = read_once(t, &fs[i], fs[i].pending ? -1 : slice_ms);
			if (r < 0)
				return 1;
			got += r;
		}
	}
	return 0;
}

static int usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* One line "bitsleuth tail: ... (see bitsleuth help tail)"; returns 2. */
static int
usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bitsleuth tail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see bitsleuth help tail)\n", stderr);
	va_end(ap);
	return 2;
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TAIL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The options into o; 0, or 2 after one line on stderr (or the help's
 * status for -h, returned as 3 + its status). */
static int
parse(int argc, char **argv, struct tail_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "events", no_argument, NULL, 'e' },
		{ "deploys", no_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ "consumer", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *consumer = NULL;
	int events = 0, o_;
	optind = 1;
	opterr = 0;
	while ((o_ = getopt_long(argc, argv, ":c:n:jh", opts, NULL)) != -1) {
		switch (o_) {
		case 'c': o->path = optarg; break;
		case 'e': events = 1; break;
		case 'd': o->deploys = 1; break;
		case 'g': o->group = optarg; break;
		case 'C': consumer = optarg; break;
		case 'j': o->json = 1; break;
		case 's':
			if ((o->since_ms = bs_parse_duration(optarg)) < 0)
				return usage_err("bad --since '%s' (use e.g. 90s, 15m, 2h, 7d)",
				    optarg);
			break;
		case 'n': {
			char *end;
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (end == optarg || *end || errno || v <= 0)
				return usage_err("bad --count '%s' (a number, 1 or more)",
				    optarg);
			o->count = (size_t)v;
			break;
		}
		case 'h': return 3 + bs_cmd_help("tail");
		case ':':
			return usage_err("%s needs a value", argv[optind - 1]);
		default:
			return usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err("unexpected argument '%s'", argv[optind]);
	if (events && o->deploys)
		return usage_err("--events and --deploys exclude each other");
	if (consumer && !o->group)
		return usage_err("--consumer needs --group");
	if (o->group && !name_ok(o->group))
		return usage_err("bad --group '%s' (1 to 200 bytes, no spaces)",
		    o->group);
	if (o->group && strcmp(o->group, "workers") == 0)
		return usage_err("--group '%s' is bitsleuth's own (its workers' "
		    "group on the jobs stream): choose another name", o->group);
	if (consumer && !name_ok(consumer))
		return usage_err("bad --consumer '%s' (1 to 200 bytes, no spaces)",
		    consumer);
	if (consumer) {
		snprintf(o->consumer, sizeof(o->consumer), "%s", consumer);
	} else {
		char host[TAIL_NAME_MAX] = "";
		if (gethostname(host, sizeof(host) - 1) != 0 || !name_ok(host))
			snprintf(host, sizeof(host), "localhost");
		snprintf(o->consumer, sizeof(o->consumer), "tail-%s", host);
	}
	return 0;
}

int
bs_cmd_tail(int argc, char **argv)
{
	/* From the start: a signal while connecting stops it before the
	 * first read, with exit 0. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed pipe (`| head`) or a reset Redis socket is a write error
	 * we report (exit 1, or a reconnect), not a death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	struct tail_opts o = { .path = bs_default_config_path(), .since_ms = -1 };
	int rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc >= 3 ? rc - 3 : rc;
	/* queue.events: false first, whether Redis answers or not. */
	struct bs_config cfg;
	if (bs_load_config_or_report(o.path, BS_USES_REDIS, &cfg, 0) != 0)
		return 1;
	int on = cfg.queue.events;
	bs_config_release(&cfg);
	if (!on) {
		fprintf(stderr, "bitsleuth tail: queue.events is false in %s: "
		    "bitsleuth writes no %s stream to follow\n", o.path,
		    o.deploys ? "deploys" : "events");
		return 1;
	}
	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, o.path, "tail") != 0)
		return 1;
	struct tail t = { .o = &o, .rcfg = &a.rcfg, .n_shards = a.n_shards };
	struct follower *fs = xcalloc((size_t)a.n_shards, sizeof(*fs));
	for (int i = 0; i < a.n_shards; i++) {
		fs[i].shard = i;
		fs[i].sh = &a.shards[i];
		fs[i].key = o.deploys ? a.shards[i].keys.deploys :
		    a.shards[i].keys.events;
	}
	/* Each blocking read stays well below the command timeout that the
	 * connection enforces. */
	long total = TAIL_BLOCK_MS;
	if (a.rcfg.command_timeout_ms > 0 && a.rcfg.command_timeout_ms / 2 < total)
		total = a.rcfg.command_timeout_ms / 2;
	long slice = total / a.n_shards;
	if (slice < TAIL_SLICE_MIN_MS)
		slice = TAIL_SLICE_MIN_MS;
	/* Never at or above the connection's timeout, however short it is
	 * (or however many shards share the second). */
	if (a.rcfg.command_timeout_ms > 0 && slice > a.rcfg.command_timeout_ms / 2)
		slice = a.rcfg.command_timeout_ms / 2;
	if (slice < 1)
		slice = 1;
	rc = start(&t, fs, a.n_shards) != 0 ? 1 : follow(&t, fs, a.n_shards,
	    slice);
	free(fs);
	bs_cmd_redis_close(&a);
	return rc;
}
