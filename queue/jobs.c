/* jobs: the queue operations (see jobs.h), each one command or one Lua
 * script (scripts.c) so that every move of a job is atomic.
 *
 * Async operations keep a small heap `op` (callback, argument and what the
 * reply handler needs) that the reply callback frees before or after
 * calling the user, never both: every user callback runs exactly once
 * because bs_redis_command/bs_redis_eval call ours exactly once. The
 * worker's reads of the stream are in jobs_read.c.
 *
 * Caps: JOBS_MAX_FIELDS fields per successor entry, JOBS_MAX_RECS records
 * per finish, BS_QUEUE_MAX_ID bytes per delivery id or content key. The
 * synchronous operator queries are in admin.c. */
#include "queue/jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/lanes.h"
#include "queue/reply.h"
#include "queue/scripts.h"

#define JOBS_MAX_FIELDS 64
#define JOBS_MAX_RECS 64
#define JOBS_DEFAULT_SEEN_TTL 86400
#define JOBS_DEFAULT_WINDOW 600

void
bs_field_set(struct bs_field *f, const char *name, const char *val, size_t len)
{
	f->name = name;
	f->val = val ? val : "";
	f->len = val ? len : 0;
}

void
bs_field_str(struct bs_field *f, const char *name, const char *val)
{
	bs_field_set(f, name, val, val ? strlen(val) : 0);
}

const struct bs_field *
bs_entry_field(const struct bs_entry *e, const char *name)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (strcmp(e->fields[i].name, name) == 0)
			return &e->fields[i];
	return NULL;
}



/* === enqueue === */

/* How long a raw delivery waits in rawin:<delivery> for its script: far
 * beyond any command timeout, so it expires only when the script never
 * ran (its connection dropped in between). */
#define BS_JOBS_RAWIN_TTL "60"

struct enq_op {
	bs_enqueue_cb *cb;
	void *arg;
};

static void
enqueue_reply(const redisReply *rep, const char *err, void *arg)
{
	struct enq_op op = *(struct enq_op *)arg;
	free(arg);
	if (!rep) {
		op.cb(BS_ENQ_FAILED, NULL, err, op.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		op.cb(BS_ENQ_FAILED, NULL, rep->str, op.arg);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		op.cb(BS_ENQ_FAILED, NULL, "unexpected reply to enqueue", op.arg);
		return;
	}
	enum bs_enqueue_status st = strcmp(rep->element[0]->str, "dup") == 0 ?
	    BS_ENQ_DUPLICATE : BS_ENQ_QUEUED;
	op.cb(st, rep->element[1]->str, NULL, op.arg);
}

void
bs_jobs_enqueue(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_enqueue *e, bs_enqueue_cb *cb, void *arg)
{
	size_t dlen = e->delivery ? strlen(e->delivery) : 0;
	size_t clen = e->content_key ? strlen(e->content_key) : 0;
	const char *hook = e->hook ? e->hook : "";
	if (dlen == 0 || dlen > BS_QUEUE_MAX_ID) {
		cb(BS_ENQ_FAILED, NULL, "delivery id is empty or too long", arg);
		return;
	}
	if (clen > BS_QUEUE_MAX_ID) {
		cb(BS_ENQ_FAILED, NULL, "content key too long", arg);
		return;
	}
	/* Stored after a space in the content key's value: no spaces in it. */
	if (strlen(hook) > BS_QUEUE_MAX_ID || strpbrk(hook, " \r\n")) {
		cb(BS_ENQ_FAILED, NULL, "hook id too long or with spaces", arg);
		return;
	}
	if (!e->job || e->job_len == 0) {
		cb(BS_ENQ_FAILED, NULL, "empty job", arg);
		return;
	}
	char seen[BS_KEY_MAX + BS_QUEUE_MAX_ID], seenc[BS_KEY_MAX + BS_QUEUE_MAX_ID];
	char raw[BS_KEY_MAX + BS_QUEUE_MAX_ID], rawin[BS_KEY_MAX + BS_QUEUE_MAX_ID];
	char ttl[24], rawttl[24], maxlen[24], recv[24], win[24];
	snprintf(seen, sizeof(seen), "%s%s", k->seen, e->delivery);
	snprintf(seenc, sizeof(seenc), "%s%s", k->seenc,
	    clen ? e->content_key : "");
	snprintf(raw, sizeof(raw), "%s%s", k->raw, e->delivery);
	snprintf(rawin, sizeof(rawin), "%s%s", k->rawin, e->delivery);
	snprintf(ttl, sizeof(ttl), "%d",
	    e->seen_ttl_s > 0 ? e->seen_ttl_s : JOBS_DEFAULT_SEEN_TTL);
	snprintf(rawttl, sizeof(rawttl), "%d", e->raw_ttl_s > 0 ? e->raw_ttl_s : 0);
	snprintf(maxlen, sizeof(maxlen), "%lld", e->maxlen > 0 ? e->maxlen : 0);
	snprintf(recv, sizeof(recv), "%lld",
	    e->received_ms > 0 ? e->received_ms : bs_now_ms());
	snprintf(win, sizeof(win), "%d",
	    e->window_s > 0 ? e->window_s : JOBS_DEFAULT_WINDOW);
	const char *ev = e->event_key ? e->event_key : "";
	size_t nl = e->lanes ? e->n_lanes : 0;
	if (nl > BS_JOBS_MAX_LANES) {
		cb(BS_ENQ_FAILED, NULL, "too many lanes", arg);
		return;
	}
	/* {p}:events: the job bytes themselves, or their JSON form. */
	const struct bs_record_opts *pub = e->events && e->events->on ?
	    e->events : NULL;
	char *json = NULL, pubttl[24], pubmax[24];
	size_t json_len = 0;
	if (pub && pub->format == BS_RECORD_JSON &&
	    !(json = bs_record_json(e->job, e->job_len, &json_len))) {
		cb(BS_ENQ_FAILED, NULL, "the job is not one msgpack value", arg);
		return;
	}
	snprintf(pubttl, sizeof(pubttl), "%lld", pub ? pub->ttl_ms : 0);
	snprintf(pubmax, sizeof(pubmax), "%lld", pub ? pub->maxlen : 0);
	struct bs_lane_keys *lk = xcalloc(nl ? nl : 1, sizeof(*lk));
	for (size_t i = 0; i < nl; i++) {
		if (bs_lane_keys(k, e->lanes[i], &lk[i]) != 0) {
			free(lk);
			free(json);
			cb(BS_ENQ_FAILED, NULL, "bad lane name", arg);
			return;
		}
	}
	size_t argc = 24 + 3 * nl, a = 0;
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *argvlen = xcalloc(argc, sizeof(*argvlen));
#define ARG(s, l) do { argv[a] = (s); argvlen[a] = (l); a++; } while (0)
#define ARGS(s) do { const char *s_ = (s); ARG(s_, strlen(s_)); } while (0)
	ARGS(k->jobs);
	ARGS(seen);
	ARGS(seenc);
	ARGS(raw);
	ARGS(k->stats);
	ARGS(k->lanes);
	ARGS(rawin);
	ARGS(k->events);
	for (size_t i = 0; i < nl; i++) {
		ARGS(lk[i].list);
		ARGS(lk[i].meta);
	}
	size_t nkeys = a;
	/* The job is a binary-safe (ptr, len) pair that need not be
	 * NUL-terminated: never strlen it. */
	ARG(e->job, e->job_len);
	ARGS(e->delivery);
	ARGS(ev);
	ARGS(ttl);
	ARGS(rawttl);
	ARGS(maxlen);
	ARGS(clen ? "1" : "0");
	ARGS(win);
	ARGS(hook);
	ARGS(e->resend ? "1" : "0");
	ARGS(pub ? bs_record_format_name(pub->format) : "");
	ARGS(pubttl);
	ARGS(pubmax);
	ARG(json ? json : "", json_len);
	ARGS(e->repository ? e->repository : "");
	ARGS(recv);
	/* The lane names come last (scripts.c). */
	for (size_t i = 0; i < nl; i++)
		ARGS(e->lanes[i]);
#undef ARG
#undef ARGS
	/* The raw delivery goes to rawin:<delivery> just before the script,
	 * which moves it to raw:<delivery> (scripts.c): HSET and EXPIRE are
	 * cheap for Redis where a Lua argument of the same size is not.
	 * Nothing is kept without a raw TTL: do not ship the body for
	 * nothing. Headers and body are (ptr, len) pairs, never strlen'd. */
	const char *hv[] = { "HSET", rawin, "headers",
	    e->raw_headers ? e->raw_headers : "", "body",
	    e->raw_body ? e->raw_body : "", "event", ev, "received_ms", recv };
	size_t hl[] = { 4, strlen(rawin), 7,
	    e->raw_headers ? e->raw_headers_len : 0, 4,
	    e->raw_body ? e->raw_body_len : 0, 5, strlen(ev), 11, strlen(recv) };
	const char *xv[] = { "EXPIRE", rawin, BS_JOBS_RAWIN_TTL };
	size_t xl[] = { 6, strlen(rawin), strlen(BS_JOBS_RAWIN_TTL) };
	struct bs_redis_argv pre[] = {
		{ 10, hv, hl },
		{ 3, xv, xl },
	};
	struct enq_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval_after(r, pre, e->raw_ttl_s > 0 ? 2 : 0, &bs_script_enqueue,
	    (int)nkeys, (int)a, argv, argvlen, enqueue_reply, op);
	free(json);
	free(argvlen);
	free(argv);
	free(lk);
}

/* === finish / promote / dryrun / count === */

struct done_op {
	bs_done_cb *cb;
	void *arg;
};

static void
done_reply(const redisReply *rep, const char *err, void *arg)
{
	struct done_op op = *(struct done_op *)arg;
	free(arg);
	if (!rep)
		op.cb(0, err, op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(0, rep->str, op.arg);
	else
		op.cb(1, NULL, op.arg);
}

static struct done_op *
done_op_new(bs_done_cb *cb, void *arg)
{
	struct done_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	return op;
}

static void
pk_ok(int rc)
{
	if (rc != 0) {
		fprintf(stderr, "jobs: out of memory while packing\n");
		abort();
	}
}

/* Packs fields as the msgpack array [f1, v1, f2, v2 ...] of a retry or
 * parked record (the Lua side XADDs it back with unpack). */
static void
pack_fields(msgpack_sbuffer *sb, const struct bs_field *fields, size_t n)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	pk_ok(msgpack_pack_array(&pk, n * 2));
	for (size_t j = 0; j < n; j++) {
		pk_ok(msgpack_pack_str_with_body(&pk, fields[j].name,
		    strlen(fields[j].name)));
		pk_ok(msgpack_pack_str_with_body(&pk, fields[j].val, fields[j].len));
	}
}

static const char *
lane_action_arg(enum bs_lane_action act)
{
	switch (act) {
	case BS_LANE_REGISTERED: return "reg";
	case BS_LANE_LEAVE: return "pop";
	case BS_LANE_LEAVE_SUPERSEDED: return "sup";
	case BS_LANE_KEEP: return "keep";
	case BS_LANE_STAY: return "stay";
	case BS_LANE_PARK: return "park";
	}
	return NULL;
}

void
bs_jobs_finish_lanes(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_finish *f, bs_done_cb *cb, void *arg)
{
	size_t n = f->recs ? f->n_recs : 0, nops = f->ops ? f->n_ops : 0;
	if (n > JOBS_MAX_RECS || nops > JOBS_MAX_RECS) {
		cb(0, "too many finish records", arg);
		return;
	}
	const struct bs_record_opts *pub = f->events && f->events->on ?
	    f->events : NULL;
	size_t npub = pub && f->outcomes ? f->n_outcomes : 0;
	if (npub > JOBS_MAX_RECS) {
		cb(0, "too many finish outcomes", arg);
		return;
	}
	size_t argc = 21 + 7 * nops + 7 * npub;
	for (size_t i = 0; i < n; i++) {
		if (f->recs[i].n_fields == 0 || f->recs[i].n_fields > JOBS_MAX_FIELDS ||
		    (f->recs[i].kind != BS_FINISH_RETRY &&
		    f->recs[i].kind != BS_FINISH_DEAD)) {
			cb(0, "bad finish record", arg);
			return;
		}
		argc += f->recs[i].kind == BS_FINISH_RETRY ? 3 :
		    2 + 2 * f->recs[i].n_fields;
	}
	struct bs_lane_keys *lk = xcalloc(nops ? nops : 1, sizeof(*lk));
	for (size_t i = 0; i < nops; i++) {
		const struct bs_lane_op *op = &f->ops[i];
		if (bs_lane_keys(k, op->target, &lk[i]) != 0 ||
		    bs_stream_id_parse(op->origin, NULL, NULL) != 0 ||
		    !lane_action_arg(op->action) ||
		    (op->action == BS_LANE_PARK && (op->n_fields == 0 ||
		    op->n_fields > JOBS_MAX_FIELDS))) {
			free(lk);
			cb(0, "bad lane op", arg);
			return;
		}
	}
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *argvlen = xcalloc(argc, sizeof(*argvlen));
	char (*nums)[24] = xcalloc(n + npub + 8, sizeof(*nums));
	msgpack_sbuffer *sbs = xcalloc(n + nops + 1, sizeof(*sbs));
	size_t a = 0;
#define ARG(s, l) do { argv[a] = (s); argvlen[a] = (l); a++; } while (0)
#define ARGS(s) do { const char *s_ = (s); ARG(s_, strlen(s_)); } while (0)
	ARGS(k->jobs);
	ARGS(k->retry);
	ARGS(k->dead);
	ARGS(k->stats);
	ARGS(k->order);
	ARGS(k->lanes);
	ARGS(k->deployed);
	ARGS(k->deploys);
	for (size_t i = 0; i < nops; i++) {
		ARGS(lk[i].list);
		ARGS(lk[i].meta);
		ARGS(lk[i].parked);
	}
	size_t nkeys = a;
	ARGS(k->group);
	ARGS(f->id);
	snprintf(nums[0], 24, "%lld", f->registered > 0 ? f->registered : 0);
	snprintf(nums[1], 24, "%lld", f->dead_maxlen > 0 ? f->dead_maxlen : 0);
	snprintf(nums[2], 24, "%zu", n);
	snprintf(nums[3], 24, "%zu", nops);
	snprintf(nums[4], 24, "%lld", f->hold_ms > 0 ? f->hold_ms : 600000LL);
	ARGS(nums[0]);
	ARGS(nums[1]);
	ARGS(nums[2]);
	ARGS(f->consumer ? f->consumer : "");
	for (size_t i = 0; i < n; i++) {
		const struct bs_finish_rec *rec = &f->recs[i];
		if (rec->kind == BS_FINISH_RETRY) {
			pack_fields(&sbs[i], rec->fields, rec->n_fields);
			snprintf(nums[5 + i], 24, "%lld", rec->due_ms);
			ARGS("retry");
			ARGS(nums[5 + i]);
			ARG(sbs[i].data, sbs[i].size);
		} else {
			snprintf(nums[5 + i], 24, "%zu", rec->n_fields * 2);
			ARGS("dead");
			ARGS(nums[5 + i]);
			for (size_t j = 0; j < rec->n_fields; j++) {
				ARGS(rec->fields[j].name);
				ARG(rec->fields[j].val, rec->fields[j].len);
			}
		}
	}
	ARGS(f->owner ? f->owner : "");
	ARGS(nums[4]);
	ARGS(nums[3]);
	for (size_t i = 0; i < nops; i++) {
		const struct bs_lane_op *op = &f->ops[i];
		ARGS(op->target);
		ARGS(op->origin);
		ARGS(lane_action_arg(op->action));
		if (op->action == BS_LANE_PARK) {
			pack_fields(&sbs[n + i], op->fields, op->n_fields);
			ARG(sbs[n + i].data, sbs[n + i].size);
		} else if (op->action == BS_LANE_REGISTERED && op->sha) {
			ARGS(op->sha);
		} else {
			ARGS("");
		}
	}
	snprintf(nums[n + 5], 24, "%lld", pub ? pub->ttl_ms : 0);
	snprintf(nums[n + 6], 24, "%lld", pub ? pub->maxlen : 0);
	snprintf(nums[n + 7], 24, "%zu", npub);
	ARGS(pub ? bs_record_format_name(pub->format) : "");
	ARGS(nums[n + 5]);
	ARGS(nums[n + 6]);
	ARGS(nums[n + 7]);
	for (size_t i = 0; i < npub; i++) {
		const struct bs_outcome_rec *o = &f->outcomes[i];
		char *at = nums[n + 8 + i];
		snprintf(at, 24, "%lld", o->at_ms);
		ARGS(o->kind ? o->kind : "");
		ARGS(o->target ? o->target : "");
		ARGS(o->delivery ? o->delivery : "");
		ARGS(o->repository ? o->repository : "");
		ARGS(o->job ? o->job : "");
		ARGS(at);
		ARG(o->data ? o->data : "", o->data ? o->data_len : 0);
	}
#undef ARG
#undef ARGS
	bs_redis_eval(r, &bs_script_finish, (int)nkeys, (int)a, argv, argvlen,
	    done_reply, done_op_new(cb, arg));
	for (size_t i = 0; i < n; i++)
		if (f->recs[i].kind == BS_FINISH_RETRY)
			msgpack_sbuffer_destroy(&sbs[i]);
	for (size_t i = 0; i < nops; i++)
		if (f->ops[i].action == BS_LANE_PARK)
			msgpack_sbuffer_destroy(&sbs[n + i]);
	free(sbs);
	free(nums);
	free(argvlen);
	free(argv);
	free(lk);
}

void
bs_jobs_finish(struct bs_redis *r, const struct bs_keys *k, const char *id,
    const char *consumer, const struct bs_finish_rec *recs, size_t n,
    long long registered, long long dead_maxlen, bs_done_cb *cb, void *arg)
{
	struct bs_finish f = { .id = id, .consumer = consumer, .recs = recs,
		.n_recs = n, .registered = registered, .dead_maxlen = dead_maxlen };
	bs_jobs_finish_lanes(r, k, &f, cb, arg);
}

struct count_op {
	bs_count_cb *cb;
	void *arg;
};

static void
promote_reply(const redisReply *rep, const char *err, void *arg)
{
	struct count_op op = *(struct count_op *)arg;
	free(arg);
	if (!rep)
		op.cb(-1, err, op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(-1, rep->str, op.arg);
	else if (rep->type != REDIS_REPLY_INTEGER)
		op.cb(-1, "unexpected reply to promote", op.arg);
	else
		op.cb(rep->integer, NULL, op.arg);
}

void
bs_jobs_promote(struct bs_redis *r, const struct bs_keys *k, long long now,
    int max, bs_count_cb *cb, void *arg)
{
	char nows[24], maxs[24];
	snprintf(nows, sizeof(nows), "%lld", now);
	snprintf(maxs, sizeof(maxs), "%d", max > 0 ? max : 100);
	const char *argv[] = { k->retry, k->jobs, k->dead, nows, maxs };
	size_t argvlen[5];
	for (int i = 0; i < 5; i++)
		argvlen[i] = strlen(argv[i]);
	struct count_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &bs_script_promote, 3, 5, argv, argvlen, promote_reply,
	    op);
}

void
bs_jobs_record_dryrun(struct bs_redis *r, const struct bs_keys *k,
    const struct bs_field *fields, size_t n, long long maxlen, bs_done_cb *cb,
    void *arg)
{
	if (n == 0 || n > JOBS_MAX_FIELDS) {
		cb(0, "bad number of dry-run fields", arg);
		return;
	}
	size_t cap = 6 + 2 * n, a = 0;
	const char **argv = xcalloc(cap, sizeof(*argv));
	size_t *argvlen = xcalloc(cap, sizeof(*argvlen));
	char ml[24];
	snprintf(ml, sizeof(ml), "%lld", maxlen);
	argv[a++] = "XADD";
	argv[a++] = k->dryrun;
	if (maxlen > 0) {
		argv[a++] = "MAXLEN";
		argv[a++] = "~";
		argv[a++] = ml;
	}
	argv[a++] = "*";
	for (size_t i = 0; i < a; i++)
		argvlen[i] = strlen(argv[i]);
	for (size_t i = 0; i < n; i++) {
		argv[a] = fields[i].name;
		argvlen[a++] = strlen(fields[i].name);
		argv[a] = fields[i].val;
		argvlen[a++] = fields[i].len;
	}
	bs_redis_command(r, (int)a, argv, argvlen, done_reply,
	    done_op_new(cb, arg));
	free(argvlen);
	free(argv);
}

void
bs_jobs_count(struct bs_redis *r, const struct bs_keys *k, const char *name,
    long long by, bs_done_cb *cb, void *arg)
{
	char bys[24];
	snprintf(bys, sizeof(bys), "%lld", by);
	const char *argv[] = { "HINCRBY", k->stats, name, bys };
	size_t argvlen[4];
	for (int i = 0; i < 4; i++)
		argvlen[i] = strlen(argv[i]);
	bs_redis_command(r, 4, argv, argvlen, done_reply, done_op_new(cb, arg));
}
