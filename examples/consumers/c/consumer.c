/* consumer: an example reader of bitsleuth's {p}:events (or {p}:deploys)
 * streams in C, with hiredis (synchronous) and msgpack-c only: no
 * bitsleuth code (examples/consumers/README.md; README "Reading the
 * queue").
 *
 *   consumer [--redis HOST:PORT|redis://HOST:PORT[/DB]] [--stream KEY]...
 *            [--group G] [--consumer NAME] [--count N] [--idle-exit SECONDS]
 *            [--password-env VAR]
 *
 * It reads with a consumer group of its own (created at 0 if missing),
 * first its own pending entries (those a crash left unacknowledged), then
 * new ones, and for each entry prints one line, flushes, then XACKs it:
 *
 *   <stream> <entry id> <delivery> <event|kind> <repository|target> keys=K1,K2
 *
 * So it is at least once: an entry printed but not acknowledged is printed
 * again by the next run with the same --consumer name. `data` is decoded
 * by `format`: msgpack with msgpack-c, json with a small bounded scanner
 * that checks it is one JSON object and picks out its top-level "keys".
 * Exits 0 after --count entries, after --idle-exit seconds without one, or
 * on SIGTERM/SIGINT (within BLOCK_MS); 1 on a Redis error; 2 on bad usage.
 *
 * Build: make (the Makefile beside this file, pkg-config hiredis msgpack),
 * or the example_consumer target of bitsleuth's CMake build. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#define MAX_STREAMS 64      /* --stream at most this many times (shards) */
#define BATCH 50            /* entries per stream per XREADGROUP */
#define BLOCK_MS 1000       /* longest wait of one XREADGROUP */
#define KEYS_MAX 1024       /* bytes of the keys=… list printed (cut with "…") */
#define FIELD_MAX 512       /* bytes of a plain field printed */
#define JSON_DEPTH 64       /* deepest JSON nesting the scanner accepts */
#define RECORD_MAJOR 1      /* the record `v` this reader understands */

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct opts {
	char host[256];
	int port;
	int db;
	const char *password_env;
	const char *streams[MAX_STREAMS];
	int n_streams;
	const char *group;
	char consumer[128];
	long count;             /* 0: no limit */
	double idle_exit;       /* seconds; 0: never */
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
usage(const char *msg)
{
	fprintf(stderr, "consumer: %s\nusage: consumer [--redis HOST:PORT|redis://HOST:PORT[/DB]] "
	    "[--stream KEY]... [--group G] [--consumer NAME] [--count N] [--idle-exit SECONDS] "
	    "[--password-env VAR]\n", msg);
	return 2;
}

/* HOST:PORT or redis://HOST:PORT[/DB] into o; 0 or -1. */
static int
parse_redis(const char *s, struct opts *o)
{
	if (strncmp(s, "redis://", 8) == 0)
		s += 8;
	if (strchr(s, '@'))
		return -1;      /* the password comes from --password-env */
	const char *colon = strrchr(s, ':');
	const char *slash = strchr(s, '/');
	size_t hlen = colon ? (size_t)(colon - s) : slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof o->host)
		return -1;
	memcpy(o->host, s, hlen);
	o->host[hlen] = '\0';
	char *end = NULL;
	if (colon) {
		errno = 0;
		long p = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || p < 1 || p > 65535 || (*end && *end != '/'))
			return -1;
		o->port = (int)p;
	} else {
		end = (char *)(slash ? slash : s + hlen);
	}
	if (*end == '/' && end[1]) {
		errno = 0;
		char *e2;
		long d = strtol(end + 1, &e2, 10);
		if (errno || *e2 || d < 0 || d > INT_MAX)
			return -1;
		o->db = (int)d;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	snprintf(o->host, sizeof o->host, "127.0.0.1");
	o->port = 6379;
	o->password_env = "REDIS_PASSWORD";
	o->group = "example-c";
	if (gethostname(o->consumer, sizeof o->consumer) != 0 || !o->consumer[0])
		snprintf(o->consumer, sizeof o->consumer, "example-c");
	o->consumer[sizeof o->consumer - 1] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return usage("reads bitsleuth's streams with its own consumer group");
		if (i + 1 >= argc)
			return usage("an option without its value");
		const char *v = argv[++i];
		char *end;
		if (strcmp(a, "--redis") == 0) {
			if (parse_redis(v, o) != 0)
				return usage("--redis: HOST:PORT or redis://HOST:PORT[/DB]");
		} else if (strcmp(a, "--stream") == 0) {
			if (o->n_streams == MAX_STREAMS || !*v)
				return usage("--stream: at most 64, not empty");
			o->streams[o->n_streams++] = v;
		} else if (strcmp(a, "--group") == 0) {
			o->group = v;
		} else if (strcmp(a, "--consumer") == 0) {
			if (strlen(v) >= sizeof o->consumer || !*v)
				return usage("--consumer: 1 to 127 bytes");
			snprintf(o->consumer, sizeof o->consumer, "%s", v);
		} else if (strcmp(a, "--password-env") == 0) {
			o->password_env = v;
		} else if (strcmp(a, "--count") == 0) {
			errno = 0;
			o->count = strtol(v, &end, 10);
			if (errno || *end || end == v || o->count < 0)
				return usage("--count: a number >= 0");
		} else if (strcmp(a, "--idle-exit") == 0) {
			errno = 0;
			o->idle_exit = strtod(v, &end);
			if (errno || *end || end == v || !(o->idle_exit >= 0 && o->idle_exit < 1e9))
				return usage("--idle-exit: seconds >= 0");
		} else {
			return usage("unknown option");
		}
	}
	if (o->n_streams == 0)
		o->streams[o->n_streams++] = "{bitsleuth}:events";
	return 0;
}

/* ---------------------------------------------------------- keys=… */

/* The keys=… list being built: bounded, cut with "..." when full. */
struct keys_out {
	char buf[KEYS_MAX];
	size_t len;
	bool cut;
};

static void
keys_add(struct keys_out *k, const char *s, size_t n)
{
	if (k->cut)
		return;
	size_t need = n + (k->len ? 1 : 0);
	if (k->len + need + 4 > sizeof k->buf) {
		memcpy(k->buf + k->len, "...", 4);
		k->len += 3;
		k->cut = true;
		return;
	}
	if (k->len)
		k->buf[k->len++] = ',';
	for (size_t i = 0; i < n; i++)  /* keep the line one line */
		k->buf[k->len++] = (s[i] == ' ' || s[i] == '\n' || s[i] == '\r') ? '_' : s[i];
	k->buf[k->len] = '\0';
}

/* ---------------------------------------------------------- msgpack */

static const msgpack_object *
mp_get(const msgpack_object *map, const char *key)
{
	if (map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t kl = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
		    memcmp(k->via.str.ptr, key, kl) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

/* 0 with the keys of the record (events: [{key,…}], deploys: [str]) in
 * *k, or -1 with a reason. */
static int
decode_msgpack(const char *data, size_t len, struct keys_out *k, const char **why)
{
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	int rc = -1;
	if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
		*why = "not one msgpack value";
		goto out;
	}
	const msgpack_object *v = mp_get(&u.data, "v");
	if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != RECORD_MAJOR) {
		*why = "not a version 1 record";
		goto out;
	}
	const msgpack_object *keys = mp_get(&u.data, "keys");
	if (keys && keys->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < keys->via.array.size; i++) {
			const msgpack_object *e = &keys->via.array.ptr[i];
			if (e->type == MSGPACK_OBJECT_MAP)
				e = mp_get(e, "key");
			if (e && e->type == MSGPACK_OBJECT_STR)
				keys_add(k, e->via.str.ptr, e->via.str.size);
		}
	}
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* ------------------------------------------------------------- json */

/* A bounded JSON scanner: enough to check that `data` is one JSON object
 * and to find its top-level "keys" (a real consumer uses a JSON library).
 * Each function takes the text [p, e) and returns the end of the value it
 * skipped, or NULL when it is not JSON. */
struct js {
	const char *e;
	struct keys_out *k;
};

static const char *js_value(struct js *j, const char *p, int depth, bool collect);

static const char *
js_ws(const struct js *j, const char *p)
{
	while (p < j->e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string at p (its opening quote); its body, still escaped, in
 * [*s, *s + *n). */
static const char *
js_string(const struct js *j, const char *p, const char **s, size_t *n)
{
	if (p >= j->e || *p != '"')
		return NULL;
	const char *b = ++p;
	while (p < j->e && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		p += (*p == '\\') ? 2 : 1;
	}
	if (p >= j->e)
		return NULL;
	*s = b;
	*n = (size_t)(p - b);
	return p + 1;
}

/* An array or object at p; with collect, the array elements that are
 * strings or objects with a string "key" go to j->k. */
static const char *
js_container(struct js *j, const char *p, int depth, bool collect, const char *want)
{
	bool obj = *p == '{';
	char close = obj ? '}' : ']';
	p = js_ws(j, p + 1);
	if (p < j->e && *p == close)
		return p + 1;
	for (;;) {
		bool take = false;
		if (obj) {
			const char *s;
			size_t n;
			if (!(p = js_string(j, p, &s, &n)))
				return NULL;
			p = js_ws(j, p);
			if (p >= j->e || *p++ != ':')
				return NULL;
			take = want && n == strlen(want) && memcmp(s, want, n) == 0;
		}
		p = js_ws(j, p);
		if (take && p < j->e && *p == '"') {   /* the "key" of an element */
			const char *s;
			size_t n;
			if (!(p = js_string(j, p, &s, &n)))
				return NULL;
			keys_add(j->k, s, n);
		} else if (!obj && collect && p < j->e && *p == '"') {
			const char *s;
			size_t n;
			if (!(p = js_string(j, p, &s, &n)))
				return NULL;
			keys_add(j->k, s, n);
		} else if (!obj && collect && p < j->e && *p == '{') {
			if (depth + 1 > JSON_DEPTH)
				return NULL;
			if (!(p = js_container(j, p, depth + 1, false, "key")))
				return NULL;
		} else if (!(p = js_value(j, p, depth, take))) {
			return NULL;
		}
		p = js_ws(j, p);
		if (p < j->e && *p == ',') {
			p = js_ws(j, p + 1);
			continue;
		}
		if (p < j->e && *p == close)
			return p + 1;
		return NULL;
	}
}

static const char *
js_value(struct js *j, const char *p, int depth, bool collect)
{
	if (p >= j->e)
		return NULL;
	if (*p == '{' || *p == '[') {
		if (depth + 1 > JSON_DEPTH)
			return NULL;
		return js_container(j, p, depth + 1, collect && *p == '[', NULL);
	}
	if (*p == '"') {
		const char *s;
		size_t n;
		return js_string(j, p, &s, &n);
	}
	const char *b = p;  /* number, true, false, null */
	while (p < j->e && ((*p && strchr("+-.eE", *p)) || (*p >= '0' && *p <= '9') ||
	    (*p >= 'a' && *p <= 'z')))
		p++;
	return p > b ? p : NULL;
}

static int
decode_json(const char *data, size_t len, struct keys_out *k, const char **why)
{
	struct js j = { data + len, k };
	const char *p = js_ws(&j, data);
	if (p >= j.e || *p != '{') {
		*why = "not a JSON object";
		return -1;
	}
	/* At the top level only "keys" is collected, and "v" must be 1. */
	bool v_ok = false;
	const char *q = js_ws(&j, p + 1);
	if (q < j.e && *q == '}') {
		q++;
	} else {
		for (;;) {
			const char *s;
			size_t n;
			if (!(q = js_string(&j, q, &s, &n)))
				break;
			q = js_ws(&j, q);
			if (q >= j.e || *q++ != ':') {
				q = NULL;
				break;
			}
			const char *v0 = js_ws(&j, q);
			q = js_value(&j, v0, 1, n == 4 && memcmp(s, "keys", 4) == 0);
			if (!q)
				break;
			if (n == 1 && s[0] == 'v')
				v_ok = q - v0 == 1 && *v0 == '0' + RECORD_MAJOR;
			q = js_ws(&j, q);
			if (q < j.e && *q == ',') {
				q = js_ws(&j, q + 1);
				continue;
			}
			q = (q < j.e && *q == '}') ? q + 1 : NULL;
			break;
		}
	}
	if (!q || js_ws(&j, q) != j.e) {
		*why = "not one JSON object";
		return -1;
	}
	if (!v_ok) {
		*why = "not a version 1 record";
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- entries */

/* The value of field name in an entry's field array, or NULL. */
static const redisReply *
field(const redisReply *fields, const char *name)
{
	if (!fields || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	}
	return NULL;
}

/* A plain field for the line: "-" when missing or empty, cut at FIELD_MAX. */
static const char *
plain(const redisReply *fields, const char *name, char *buf, size_t cap)
{
	const redisReply *v = field(fields, name);
	if (!v || !v->len)
		return "-";
	snprintf(buf, cap, "%.*s", (int)v->len, v->str);
	for (char *c = buf; *c; c++)
		if (*c == ' ' || *c == '\n' || *c == '\r')
			*c = '_';
	return buf;
}

/* What a real consumer does with an entry (idempotently: it may see one
 * twice). Here: print its line, or say on stderr why it is skipped. */
static void
handle(const char *stream, const char *id, const redisReply *fields)
{
	if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements == 0) {
		fprintf(stderr, "%s %s (trimmed)\n", stream, id);
		return;
	}
	const redisReply *data = field(fields, "data");
	const redisReply *fmt = field(fields, "format");
	const char *why = "no data field";
	struct keys_out k = { .len = 0 };
	int rc = -1;
	if (data && (!fmt || strcmp(fmt->str, "msgpack") == 0))
		rc = decode_msgpack(data->str, data->len, &k, &why);
	else if (data && strcmp(fmt->str, "json") == 0)
		rc = decode_json(data->str, data->len, &k, &why);
	else if (data)
		why = "unknown format";
	if (rc != 0) {
		fprintf(stderr, "%s %s: skipped: %s\n", stream, id, why);
		return;
	}
	/* Events: event and repository; deploy outcomes: kind and target. */
	bool deploy = field(fields, "kind") != NULL;
	char b1[FIELD_MAX], b2[FIELD_MAX], b3[FIELD_MAX];
	printf("%s %s %s %s %s keys=%s\n", stream, id, plain(fields, "delivery", b1, sizeof b1),
	    plain(fields, deploy ? "kind" : "event", b2, sizeof b2),
	    plain(fields, deploy ? "target" : "repository", b3, sizeof b3), k.len ? k.buf : "-");
	fflush(stdout);
}

/* ----------------------------------------------------------- redis */

static redisReply *
cmd_argv(redisContext *c, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	if (!r) {
		if (!(stopping && c->err == REDIS_ERR_IO && errno == EINTR))
			fprintf(stderr, "consumer: redis: %s\n", c->errstr);
	}
	return r;
}

static int
setup(redisContext *c, const struct opts *o)
{
	const char *pw = getenv(o->password_env);
	if (pw && *pw) {
		const char *av[] = { "AUTH", pw };
		redisReply *r = cmd_argv(c, 2, av);
		bool ok = r && r->type != REDIS_REPLY_ERROR;
		if (r && !ok)
			fprintf(stderr, "consumer: AUTH: %s\n", r->str);
		freeReplyObject(r);
		if (!ok)
			return -1;
	}
	if (o->db) {
		char db[16];
		snprintf(db, sizeof db, "%d", o->db);
		const char *av[] = { "SELECT", db };
		redisReply *r = cmd_argv(c, 2, av);
		bool ok = r && r->type != REDIS_REPLY_ERROR;
		freeReplyObject(r);
		if (!ok)
			return -1;
	}
	for (int i = 0; i < o->n_streams; i++) {
		const char *av[] = { "XGROUP", "CREATE", o->streams[i], o->group, "0", "MKSTREAM" };
		redisReply *r = cmd_argv(c, 6, av);
		if (!r)
			return -1;
		/* BUSYGROUP: the group exists; resume where it is. */
		bool ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
		if (!ok)
			fprintf(stderr, "consumer: XGROUP CREATE %s: %s\n", o->streams[i], r->str);
		freeReplyObject(r);
		if (!ok)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .port = 0 };
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;      /* no SA_RESTART: end a blocked read */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct timeval tv = { 10, 0 };  /* connect; and every reply (> BLOCK_MS) */
	redisContext *c = redisConnectWithTimeout(o.host, o.port, tv);
	if (!c || c->err) {
		fprintf(stderr, "consumer: connect %s:%d: %s\n", o.host, o.port,
		    c ? c->errstr : "out of memory");
		redisFree(c);
		return 1;
	}
	redisSetTimeout(c, tv);
	if (setup(c, &o) != 0) {
		redisFree(c);
		return 1;
	}

	/* The cursor of each stream: "0" reads this consumer's own pending
	 * entries from the start; once it has none left, ">" reads entries
	 * nobody in the group was given yet. */
	char cursor[MAX_STREAMS][64];
	for (int i = 0; i < o.n_streams; i++)
		snprintf(cursor[i], sizeof cursor[i], "0");
	const char *av[10 + 2 * MAX_STREAMS];
	char count_s[24], block_s[24];
	long done = 0;
	double last = now_s();
	rc = 0;
	while (!stopping && (o.count == 0 || done < o.count)) {
		long block = BLOCK_MS;
		if (o.idle_exit > 0) {
			double left = o.idle_exit - (now_s() - last);
			if (left <= 0)
				break;
			if (left * 1000 < block)
				block = (long)(left * 1000) + 1;
		}
		bool history = false;
		for (int i = 0; i < o.n_streams; i++)
			history |= strcmp(cursor[i], ">") != 0;
		long want = o.count ? (o.count - done < BATCH ? o.count - done : BATCH) : BATCH;
		snprintf(count_s, sizeof count_s, "%ld", want);
		snprintf(block_s, sizeof block_s, "%ld", block);
		int n = 0;
		av[n++] = "XREADGROUP";
		av[n++] = "GROUP";
		av[n++] = o.group;
		av[n++] = o.consumer;
		av[n++] = "COUNT";
		av[n++] = count_s;
		if (!history) {
			av[n++] = "BLOCK";
			av[n++] = block_s;
		}
		av[n++] = "STREAMS";
		for (int i = 0; i < o.n_streams; i++)
			av[n++] = o.streams[i];
		for (int i = 0; i < o.n_streams; i++)
			av[n++] = cursor[i];
		redisReply *r = cmd_argv(c, n, av);
		if (!r) {
			rc = stopping ? 0 : 1;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "consumer: XREADGROUP: %s\n", r->str);
			freeReplyObject(r);
			rc = 1;
			break;
		}
		for (int i = 0; i < o.n_streams && rc == 0; i++) {
			/* This stream's entries in the reply (nil: none came). */
			const redisReply *entries = NULL;
			for (size_t s = 0; r->type == REDIS_REPLY_ARRAY && s < r->elements; s++) {
				const redisReply *sr = r->element[s];
				if (sr->type == REDIS_REPLY_ARRAY && sr->elements == 2 &&
				    sr->element[0]->type == REDIS_REPLY_STRING &&
				    strcmp(sr->element[0]->str, o.streams[i]) == 0)
					entries = sr->element[1];
			}
			size_t ne = entries && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
			for (size_t e = 0; e < ne; e++) {
				const redisReply *en = entries->element[e];
				if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
				    en->element[0]->type != REDIS_REPLY_STRING ||
				    en->element[0]->len >= sizeof cursor[i]) {
					fprintf(stderr, "consumer: unexpected XREADGROUP reply\n");
					rc = 1;
					break;
				}
				const char *id = en->element[0]->str;
				if (strcmp(cursor[i], ">") != 0)
					snprintf(cursor[i], sizeof cursor[i], "%s", id);
				handle(o.streams[i], id, en->element[1]);
				const char *ack[] = { "XACK", o.streams[i], o.group, id };
				redisReply *a = cmd_argv(c, 4, ack);
				if (!a || a->type == REDIS_REPLY_ERROR) {
					if (a)
						fprintf(stderr, "consumer: XACK: %s\n", a->str);
					freeReplyObject(a);
					rc = 1;
					break;
				}
				freeReplyObject(a);
				done++;
				last = now_s();
				if (stopping || (o.count && done >= o.count))
					break;
			}
			if (ne == 0 && strcmp(cursor[i], ">") != 0)
				snprintf(cursor[i], sizeof cursor[i], ">");
			if (stopping || (o.count && done >= o.count))
				break;
		}
		freeReplyObject(r);
		if (rc != 0 || (o.count && done >= o.count))
			break;
	}
	redisFree(c);
	return rc;
}
