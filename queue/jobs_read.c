/* jobs_read: the worker's reads of the jobs stream (see jobs.h): new
 * entries, its own pending ones again, a dead consumer's claimed, and the
 * consumer group made. Replies are parsed strictly (types and shapes
 * checked; a malformed reply is an error, never a crash) into bs_entry
 * arrays that point into the hiredis reply, so they live only during the
 * user callback. At most JOBS_MAX_COUNT entries per read or claim. Each
 * async operation keeps a heap `op` that its reply callback frees, and
 * the user's callback runs exactly once (as bs_redis_command's does). */
#include "queue/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "queue/reply.h"
#include "queue/scripts.h"

#define JOBS_MAX_COUNT 1000

/* === Stream replies -> bs_entry === */

/* Parses an array of entries. *out and its fields are one allocation
 * (free(*out)); strings point into the reply. */
static int
parse_entries(const redisReply *arr, int with_delivered, struct bs_entry **out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (arr->type != REDIS_REPLY_ARRAY)
		return -1;
	size_t total = 0, count = 0;
	for (size_t i = 0; i < arr->elements; i++) {
		long nf = bs_reply_entry_shape(arr->element[i], with_delivered);
		if (nf < 0)
			return -1;
		if (nf > 0) {
			total += (size_t)nf;
			count++;
		}
	}
	if (count == 0)
		return 0;
	size_t head = count * sizeof(struct bs_entry);
	char *blk = xcalloc(1, head + total * sizeof(struct bs_field));
	struct bs_entry *ents = (struct bs_entry *)(void *)blk;
	struct bs_field *fields = (struct bs_field *)(void *)(blk + head);
	size_t k = 0;
	for (size_t i = 0; i < arr->elements; i++) {
		const redisReply *e = arr->element[i];
		const redisReply *f = e->element[1];
		if (f->type != REDIS_REPLY_ARRAY)
			continue;
		struct bs_entry *en = &ents[k++];
		en->id = e->element[0]->str;
		en->fields = fields;
		en->n_fields = f->elements / 2;
		en->delivered = with_delivered ? e->element[2]->integer : 1;
		for (size_t j = 0; j < en->n_fields; j++) {
			fields[j].name = f->element[2 * j]->str;
			fields[j].val = f->element[2 * j + 1]->str;
			fields[j].len = f->element[2 * j + 1]->len;
		}
		fields += en->n_fields;
	}
	*out = ents;
	*n = count;
	return 0;
}

/* === read / claim / ensure_group === */

struct read_op {
	struct bs_redis *r;
	char jobs[BS_KEY_MAX];
	char group[64];
	bs_entries_cb *cb;
	void *arg;
};

static void
deliver(const redisReply *arr, int with_delivered, bs_entries_cb *cb,
    void *arg)
{
	struct bs_entry *ents;
	size_t n;
	if (parse_entries(arr, with_delivered, &ents, &n) < 0) {
		cb(NULL, 0, "unexpected stream reply from redis", arg);
		return;
	}
	cb(ents, n, NULL, arg);
	free(ents);
}

static void
group_created(const redisReply *rep, const char *err, void *arg)
{
	struct read_op op = *(struct read_op *)arg;
	free(arg);
	if (!rep)
		op.cb(NULL, 0, err, op.arg);
	else if (rep->type == REDIS_REPLY_ERROR && !bs_reply_is_err(rep, "BUSYGROUP"))
		op.cb(NULL, 0, rep->str, op.arg);
	else
		op.cb(NULL, 0, NULL, op.arg);
}

static void
create_group(struct bs_redis *r, const char *jobs, const char *group,
    bs_redis_reply_cb *cb, void *arg)
{
	const char *argv[] = { "XGROUP", "CREATE", jobs, group, "0", "MKSTREAM" };
	size_t argvlen[6];
	for (int i = 0; i < 6; i++)
		argvlen[i] = strlen(argv[i]);
	bs_redis_command(r, 6, argv, argvlen, cb, arg);
}

static void
read_reply(const redisReply *rep, const char *err, void *arg)
{
	struct read_op *op = arg;
	if (bs_reply_is_err(rep, "NOGROUP")) {
		/* Redis lost its data (or never had the group): re-create it
		 * from the start of the stream and report an empty read. */
		create_group(op->r, op->jobs, op->group, group_created, op);
		return;
	}
	struct read_op o = *op;
	free(op);
	if (!rep) {
		o.cb(NULL, 0, err, o.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		o.cb(NULL, 0, rep->str, o.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL ||
	    (rep->type == REDIS_REPLY_ARRAY && rep->elements == 0)) {
		o.cb(NULL, 0, NULL, o.arg);
		return;
	}
	/* [[stream, [entries]]] */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2) {
		o.cb(NULL, 0, "unexpected XREADGROUP reply from redis", o.arg);
		return;
	}
	deliver(rep->element[0]->element[1], 0, o.cb, o.arg);
}

void
bs_jobs_read(struct bs_redis *r, const struct bs_keys *k,
    const char *consumer, const char *from, int count, int block_ms,
    bs_entries_cb *cb, void *arg)
{
	char cnt[24], blk[24];
	if (count < 1)
		count = 1;
	if (count > JOBS_MAX_COUNT)
		count = JOBS_MAX_COUNT;
	/* BLOCK must end before the command timeout would drop the
	 * connection; BLOCK 0 would mean forever, so <= 0 means no BLOCK. */
	int limit = bs_redis_command_timeout_ms(r) * 3 / 4;
	if (block_ms > limit)
		block_ms = limit;
	snprintf(cnt, sizeof(cnt), "%d", count);
	snprintf(blk, sizeof(blk), "%d", block_ms);
	const char *argv[11];
	int argc = 0;
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = k->group;
	argv[argc++] = consumer;
	argv[argc++] = "COUNT";
	argv[argc++] = cnt;
	if (block_ms > 0 && !from) {
		argv[argc++] = "BLOCK";
		argv[argc++] = blk;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = k->jobs;
	argv[argc++] = from ? from : ">";
	size_t argvlen[11];
	for (int i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	struct read_op *op = xcalloc(1, sizeof(*op));
	op->r = r;
	snprintf(op->jobs, sizeof(op->jobs), "%s", k->jobs);
	snprintf(op->group, sizeof(op->group), "%s", k->group);
	op->cb = cb;
	op->arg = arg;
	bs_redis_command(r, argc, argv, argvlen, read_reply, op);
}

static void
claim_reply(const redisReply *rep, const char *err, void *arg)
{
	struct read_op op = *(struct read_op *)arg;
	free(arg);
	if (!rep)
		op.cb(NULL, 0, err, op.arg);
	else if (bs_reply_is_err(rep, "NOGROUP"))
		op.cb(NULL, 0, NULL, op.arg); /* nothing can be pending */
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(NULL, 0, rep->str, op.arg);
	else
		deliver(rep, 1, op.cb, op.arg);
}

void
bs_jobs_claim(struct bs_redis *r, const struct bs_keys *k,
    const char *consumer, long long min_idle_ms, int count, bs_entries_cb *cb,
    void *arg)
{
	char idle[24], cnt[24];
	if (count < 1)
		count = 1;
	if (count > JOBS_MAX_COUNT)
		count = JOBS_MAX_COUNT;
	snprintf(idle, sizeof(idle), "%lld", min_idle_ms > 0 ? min_idle_ms : 0);
	snprintf(cnt, sizeof(cnt), "%d", count);
	const char *argv[] = { k->jobs, k->stats, k->group, consumer, idle, cnt };
	size_t argvlen[6];
	for (int i = 0; i < 6; i++)
		argvlen[i] = strlen(argv[i]);
	struct read_op *op = xcalloc(1, sizeof(*op));
	op->r = r;
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &bs_script_claim, 2, 6, argv, argvlen, claim_reply, op);
}

struct reply_op {
	bs_redis_reply_cb *cb;
	void *arg;
};

static void
ensure_reply(const redisReply *rep, const char *err, void *arg)
{
	struct reply_op op = *(struct reply_op *)arg;
	free(arg);
	if (bs_reply_is_err(rep, "BUSYGROUP")) {
		/* The group exists: that is success. */
		static char ok[] = "OK";
		redisReply st;
		memset(&st, 0, sizeof(st));
		st.type = REDIS_REPLY_STATUS;
		st.str = ok;
		st.len = 2;
		op.cb(&st, NULL, op.arg);
		return;
	}
	op.cb(rep, err, op.arg);
}

void
bs_jobs_ensure_group(struct bs_redis *r, const struct bs_keys *k,
    bs_redis_reply_cb *cb, void *arg)
{
	struct reply_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	create_group(r, k->jobs, k->group, ensure_reply, op);
}
