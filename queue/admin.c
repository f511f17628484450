/* admin: the synchronous queue queries and moves behind the operator
 * commands (`bitsleuth stats`, `dlq list|show|replay|purge`, `replay
 * --delivery`, `replay --log`), over a redisContext from
 * bs_redis_connect_sync. Moves that touch several keys (dead-letter
 * replay) are one Lua script, like the worker's (see jobs.c and
 * scripts.c). */
#include "queue/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/lanes.h"
#include "queue/reply.h"
#include "queue/scripts.h"

/* === Operators (synchronous) === */

/* Runs one command; returns the reply, or NULL with err (connection error
 * or error reply, the reply then freed). */
static redisReply *
sync_cmd(redisContext *c, int argc, const char **argv, const size_t *argvlen,
    char *err, size_t errlen)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, argvlen);
	if (!rep) {
		snprintf(err, errlen, "redis %s failed: %s", argv[0],
		    c->errstr[0] ? c->errstr : "connection error");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* Redis 7 prefixes a script's error_reply with "ERR ". */
		const char *m = rep->str;
		if (strncmp(m, "ERR ", 4) == 0 && strcmp(argv[0], "EVAL") == 0)
			m += 4;
		snprintf(err, errlen, "%s", m);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static redisReply *
sync_cmd_s(redisContext *c, int argc, const char **argv, char *err,
    size_t errlen)
{
	size_t argvlen[16];
	for (int i = 0; i < argc && i < 16; i++)
		argvlen[i] = strlen(argv[i]);
	return sync_cmd(c, argc, argv, argvlen, err, errlen);
}

static int
sync_int(redisContext *c, int argc, const char **argv, long long *out,
    char *err, size_t errlen)
{
	redisReply *rep = sync_cmd_s(c, argc, argv, err, errlen);
	if (!rep)
		return -1;
	int ok = rep->type == REDIS_REPLY_INTEGER;
	if (ok)
		*out = rep->integer;
	else
		snprintf(err, errlen, "unexpected reply to %s", argv[0]);
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

void
bs_admin_stats_release(struct bs_admin_stats *s)
{
	for (size_t i = 0; i < s->n_consumers; i++)
		free(s->consumers[i].name);
	free(s->consumers);
	for (size_t i = 0; i < s->n_counters; i++)
		free(s->counters[i].name);
	free(s->counters);
	for (size_t i = 0; i < s->n_budgets; i++)
		free(s->budgets[i].bucket);
	free(s->budgets);
	memset(s, 0, sizeof(*s));
}

void
bs_admin_stats_zero(struct bs_admin_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->next_retry_ms = -1;
	sum->oldest_age_ms = -1;
	sum->oldest_head_age_ms = -1;
}

static long long
max_ll(long long a, long long b)
{
	return a > b ? a : b;
}

void
bs_admin_stats_add(struct bs_admin_stats *sum, const struct bs_admin_stats *s)
{
	sum->jobs_len += s->jobs_len;
	sum->pending += s->pending;
	sum->retry_len += s->retry_len;
	sum->dead_len += s->dead_len;
	sum->dryrun_len += s->dryrun_len;
	sum->lanes += s->lanes;
	sum->lane_waiting += s->lane_waiting;
	sum->lanes_held += s->lanes_held;
	if (s->next_retry_ms >= 0 && (sum->next_retry_ms < 0 ||
	    s->next_retry_ms < sum->next_retry_ms))
		sum->next_retry_ms = s->next_retry_ms;
	sum->oldest_age_ms = max_ll(sum->oldest_age_ms, s->oldest_age_ms);
	sum->oldest_head_age_ms = max_ll(sum->oldest_head_age_ms,
	    s->oldest_head_age_ms);
	for (size_t i = 0; i < s->n_consumers; i++) {
		size_t j = 0;
		while (j < sum->n_consumers &&
		    strcmp(sum->consumers[j].name, s->consumers[i].name) != 0)
			j++;
		if (j == sum->n_consumers) {
			sum->consumers = xrealloc(sum->consumers, (j + 1) *
			    sizeof(*sum->consumers));
			sum->consumers[j].name = xstrdup(s->consumers[i].name);
			sum->consumers[j].pending = 0;
			sum->consumers[j].idle_ms = -1;
			sum->n_consumers++;
		}
		struct bs_admin_consumer *co = &sum->consumers[j];
		co->pending += s->consumers[i].pending;
		/* the most recent read of it in any shard */
		long long idle = s->consumers[i].idle_ms;
		if (idle >= 0 && (co->idle_ms < 0 || idle < co->idle_ms))
			co->idle_ms = idle;
	}
	for (size_t i = 0; i < s->n_counters; i++) {
		size_t j = 0;
		while (j < sum->n_counters &&
		    strcmp(sum->counters[j].name, s->counters[i].name) != 0)
			j++;
		if (j == sum->n_counters) {
			sum->counters = xrealloc(sum->counters, (j + 1) *
			    sizeof(*sum->counters));
			sum->counters[j].name = xstrdup(s->counters[i].name);
			sum->counters[j].value = 0;
			sum->n_counters++;
		}
		sum->counters[j].value += s->counters[i].value;
	}
	for (size_t i = 0; i < s->n_budgets; i++) {
		sum->budgets = xrealloc(sum->budgets, (sum->n_budgets + 1) *
		    sizeof(*sum->budgets));
		sum->budgets[sum->n_budgets] = s->budgets[i];
		sum->budgets[sum->n_budgets].bucket = xstrdup(s->budgets[i].bucket);
		sum->n_budgets++;
	}
}

/* The lane figures of out: the index, then LLEN and the failing flag of
 * each lane in it (pipelined). */
static int
lane_stats(redisContext *c, const struct bs_keys *k, long long now,
    struct bs_admin_stats *out, char *err, size_t errlen)
{
	out->oldest_head_age_ms = -1;
	const char *zc[] = { "ZCARD", k->lanes };
	if (sync_int(c, 2, zc, &out->lanes, err, errlen) < 0)
		return -1;
	char last[24];
	snprintf(last, sizeof(last), "%d", BS_ADMIN_MAX_LANES - 1);
	const char *zr[] = { "ZRANGE", k->lanes, "0", last, "WITHSCORES" };
	redisReply *rep = sync_cmd_s(c, 5, zr, err, errlen);
	if (!rep)
		return -1;
	size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0;
	if (n > 0 && rep->element[1]->type == REDIS_REPLY_STRING) {
		long long age = now - (long long)strtod(rep->element[1]->str, NULL);
		out->oldest_head_age_ms = age > 0 ? age : 0;
	}
	size_t sent = 0;
	for (size_t i = 0; i < n; i++) {
		const redisReply *t = rep->element[2 * i];
		struct bs_lane_keys lk;
		if (t->type != REDIS_REPLY_STRING || bs_lane_keys(k, t->str, &lk) != 0)
			continue;
		const char *ll[] = { "LLEN", lk.list };
		const char *hx[] = { "HEXISTS", lk.meta, "failing" };
		redisAppendCommandArgv(c, 2, ll, NULL);
		redisAppendCommandArgv(c, 3, hx, NULL);
		sent++;
	}
	freeReplyObject(rep);
	for (size_t i = 0; i < sent; i++) {
		redisReply *ln = NULL, *fl = NULL;
		if (redisGetReply(c, (void **)&ln) != REDIS_OK ||
		    redisGetReply(c, (void **)&fl) != REDIS_OK) {
			snprintf(err, errlen, "redis lane figures failed: %s", c->errstr);
			freeReplyObject(ln);
			return -1;
		}
		if (ln->type == REDIS_REPLY_INTEGER && ln->integer > 1) {
			out->lane_waiting += ln->integer - 1;
			if (fl->type == REDIS_REPLY_INTEGER && fl->integer == 1)
				out->lanes_held++;
		}
		freeReplyObject(ln);
		freeReplyObject(fl);
	}
	return 0;
}

/* The API token buckets: SCAN for {p}:apibudget:*, then HMGET each. */
static int
budget_stats(redisContext *c, const struct bs_keys *k,
    struct bs_admin_stats *out, char *err, size_t errlen)
{
	char match[BS_KEY_MAX + 16], cursor[32] = "0";
	snprintf(match, sizeof(match), "{%s}:apibudget:*", k->prefix);
	size_t plen = strlen(match) - 1;
	int rounds = 0;
	do {
		const char *sc[] = { "SCAN", cursor, "MATCH", match, "COUNT", "1000" };
		redisReply *rep = sync_cmd_s(c, 6, sc, err, errlen);
		if (!rep)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			snprintf(err, errlen, "unexpected reply to SCAN");
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		const redisReply *keys = rep->element[1];
		for (size_t i = 0; i < keys->elements && out->n_budgets < 64; i++) {
			const redisReply *kr = keys->element[i];
			if (kr->type != REDIS_REPLY_STRING || kr->len <= plen)
				continue;
			const char *hm[] = { "HMGET", kr->str, "tokens", "ts", "until" };
			redisReply *h = sync_cmd_s(c, 5, hm, err, errlen);
			if (!h) {
				freeReplyObject(rep);
				return -1;
			}
			if (h->type == REDIS_REPLY_ARRAY && h->elements == 3 &&
			    h->element[0]->type == REDIS_REPLY_STRING) {
				if (!out->budgets)
					out->budgets = xcalloc(64, sizeof(*out->budgets));
				struct bs_admin_budget *b = &out->budgets[out->n_budgets++];
				b->bucket = xstrdup(kr->str + plen);
				b->tokens = strtod(h->element[0]->str, NULL);
				b->ts_ms = h->element[1]->type == REDIS_REPLY_STRING ?
				    strtoll(h->element[1]->str, NULL, 10) : 0;
				b->until_ms = h->element[2]->type == REDIS_REPLY_STRING ?
				    strtoll(h->element[2]->str, NULL, 10) : 0;
			}
			freeReplyObject(h);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 1000);
	return 0;
}

/* The group's consumers (XINFO CONSUMERS: per consumer a flat list of
 * name, pending, idle, ... in RESP2), at most BS_ADMIN_MAX_CONSUMERS. */
static int
consumer_stats(redisContext *c, const struct bs_keys *k,
    struct bs_admin_stats *out, char *err, size_t errlen)
{
	const char *xi[] = { "XINFO", "CONSUMERS", k->jobs, k->group };
	redisReply *rep = redisCommandArgv(c, 4, xi, NULL);
	if (!rep) {
		snprintf(err, errlen, "redis XINFO failed: %s", c->errstr);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR && bs_reply_is_err(rep, "NOGROUP")) {
		freeReplyObject(rep);
		return 0;
	}
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "unexpected reply to XINFO CONSUMERS: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
		freeReplyObject(rep);
		return -1;
	}
	size_t n = rep->elements < BS_ADMIN_MAX_CONSUMERS ? rep->elements :
	    BS_ADMIN_MAX_CONSUMERS;
	if (n)
		out->consumers = xcalloc(n, sizeof(*out->consumers));
	for (size_t i = 0; i < n; i++) {
		const redisReply *m = rep->element[i];
		const char *name = NULL;
		size_t name_len = 0;
		long long pending = 0, idle = -1;
		for (size_t j = 0; m->type == REDIS_REPLY_ARRAY &&
		    j + 1 < m->elements; j += 2) {
			const redisReply *f = m->element[j], *v = m->element[j + 1];
			if (f->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(f->str, "name") == 0 && v->type == REDIS_REPLY_STRING) {
				name = v->str;
				name_len = v->len;
			} else if (strcmp(f->str, "pending") == 0 &&
			    v->type == REDIS_REPLY_INTEGER) {
				pending = v->integer;
			} else if (strcmp(f->str, "idle") == 0 &&
			    v->type == REDIS_REPLY_INTEGER) {
				idle = v->integer;
			}
		}
		if (!name)
			continue;
		struct bs_admin_consumer *co = &out->consumers[out->n_consumers++];
		co->name = xstrndup(name, name_len);
		co->pending = pending;
		co->idle_ms = idle;
	}
	freeReplyObject(rep);
	return 0;
}

int
bs_admin_stats(redisContext *c, const struct bs_keys *k, long long now,
    int with_budgets, struct bs_admin_stats *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->next_retry_ms = -1;
	out->oldest_age_ms = -1;
	const char *xlen[] = { "XLEN", k->jobs };
	const char *dlen[] = { "XLEN", k->dead };
	const char *zcard[] = { "ZCARD", k->retry };
	const char *drlen[] = { "XLEN", k->dryrun };
	if (sync_int(c, 2, xlen, &out->jobs_len, err, errlen) < 0 ||
	    sync_int(c, 2, drlen, &out->dryrun_len, err, errlen) < 0 ||
	    sync_int(c, 2, dlen, &out->dead_len, err, errlen) < 0 ||
	    sync_int(c, 2, zcard, &out->retry_len, err, errlen) < 0)
		goto fail;

	/* XPENDING summary: [count, min, max, [[consumer, "n"], ...]] gives
	 * the total; it names only consumers that hold entries, so an idle
	 * worker would be missing: the consumers come from XINFO CONSUMERS. */
	const char *xp[] = { "XPENDING", k->jobs, k->group };
	redisReply *rep = redisCommandArgv(c, 3, xp, NULL);
	if (!rep) {
		snprintf(err, errlen, "redis XPENDING failed: %s", c->errstr);
		goto fail;
	}
	int nogroup = rep->type == REDIS_REPLY_ERROR &&
	    bs_reply_is_err(rep, "NOGROUP");
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER) {
		out->pending = rep->element[0]->integer;
	} else if (!nogroup) {
		snprintf(err, errlen, "unexpected reply to XPENDING: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
		freeReplyObject(rep);
		goto fail;
	}
	freeReplyObject(rep);
	if (!nogroup && consumer_stats(c, k, out, err, errlen) != 0)
		goto fail;

	const char *zr[] = { "ZRANGE", k->retry, "0", "0", "WITHSCORES" };
	if (!(rep = sync_cmd_s(c, 5, zr, err, errlen)))
		goto fail;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		out->next_retry_ms = (long long)strtod(rep->element[1]->str, NULL);
	freeReplyObject(rep);

	const char *xr[] = { "XRANGE", k->jobs, "-", "+", "COUNT", "1" };
	if (!(rep = sync_cmd_s(c, 6, xr, err, errlen)))
		goto fail;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements >= 1 &&
	    rep->element[0]->element[0]->type == REDIS_REPLY_STRING) {
		long long age = now - bs_stream_id_ms(rep->element[0]->element[0]->str);
		out->oldest_age_ms = age > 0 ? age : 0;
	}
	freeReplyObject(rep);

	if (lane_stats(c, k, now, out, err, errlen) != 0)
		goto fail;

	const char *hg[] = { "HGETALL", k->stats };
	if (!(rep = sync_cmd_s(c, 2, hg, err, errlen)))
		goto fail;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
		out->counters = xcalloc(rep->elements / 2, sizeof(*out->counters));
		for (size_t i = 0; i + 1 < rep->elements; i += 2) {
			if (rep->element[i]->type != REDIS_REPLY_STRING ||
			    rep->element[i + 1]->type != REDIS_REPLY_STRING)
				continue;
			struct bs_admin_counter *ct = &out->counters[out->n_counters++];
			ct->name = xstrndup(rep->element[i]->str, rep->element[i]->len);
			ct->value = strtoll(rep->element[i + 1]->str, NULL, 10);
		}
	}
	freeReplyObject(rep);
	if (with_budgets && budget_stats(c, k, out, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	bs_admin_stats_release(out);
	return -1;
}

void
bs_admin_entry_release(struct bs_admin_entry *e)
{
	for (size_t i = 0; i < e->n_fields; i++) {
		free((char *)e->fields[i].name);
		free((char *)e->fields[i].val);
	}
	free(e->fields);
	free(e->id);
	memset(e, 0, sizeof(*e));
}

void
bs_admin_entries_release(struct bs_admin_entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		bs_admin_entry_release(&e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Copies a checked (entry_shape) reply entry. */
void
bs_admin_entry_copy(const redisReply *e, struct bs_admin_entry *out)
{
	const redisReply *f = e->element[1];
	memset(out, 0, sizeof(*out));
	out->id = xstrndup(e->element[0]->str, e->element[0]->len);
	if (f->type != REDIS_REPLY_ARRAY)
		return;
	out->n_fields = f->elements / 2;
	out->fields = xcalloc(out->n_fields ? out->n_fields : 1,
	    sizeof(*out->fields));
	for (size_t i = 0; i < out->n_fields; i++) {
		const redisReply *nm = f->element[2 * i], *v = f->element[2 * i + 1];
		out->fields[i].name = xstrndup(nm->str, nm->len);
		out->fields[i].val = xstrndup(v->str, v->len);
		out->fields[i].len = v->len;
	}
}

const char *
bs_admin_entry_field(const struct bs_admin_entry *e, const char *name,
    size_t *len)
{
	for (size_t i = 0; i < e->n_fields; i++) {
		if (strcmp(e->fields[i].name, name) == 0) {
			if (len)
				*len = e->fields[i].len;
			return e->fields[i].val;
		}
	}
	return NULL;
}

static int
dead_matches(const struct bs_admin_entry *e, const struct bs_dead_filter *f)
{
	if (f->deployment && *f->deployment) {
		const char *t = bs_admin_entry_field(e, "target", NULL);
		if (!t || strncmp(t, f->deployment, strlen(f->deployment)) != 0)
			return 0;
	}
	if (f->reason && *f->reason) {
		const char *r = bs_admin_entry_field(e, "reason", NULL);
		if (!r || !strstr(r, f->reason))
			return 0;
	}
	if (f->repo && *f->repo) {
		const char *repo = bs_admin_entry_field(e, "repository", NULL);
		int hit = repo && strstr(repo, f->repo);
		if (!repo) {
			for (size_t i = 0; i < e->n_fields; i++) {
				if (strcmp(e->fields[i].name, "job") != 0)
					continue;
				struct bs_job job;
				char derr[128];
				bs_job_init(&job);
				if (bs_job_decode(e->fields[i].val, e->fields[i].len, &job,
				    derr, sizeof(derr)) == 0 && job.ev.repository)
					hit = strstr(job.ev.repository, f->repo) != NULL;
				bs_job_release(&job);
			}
		}
		if (!hit)
			return 0;
	}
	return 1;
}

int
bs_admin_dead_list(redisContext *c, const struct bs_keys *k,
    const struct bs_dead_filter *f, struct bs_admin_entries *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t limit = f->limit ? f->limit : 1000, cap = 0;
	char start[64];
	if (f->since_ms > 0)
		snprintf(start, sizeof(start), "%lld-0", f->since_ms);
	else
		snprintf(start, sizeof(start), "-");
	for (;;) {
		const char *argv[] = { "XRANGE", k->dead, start, "+", "COUNT", "200" };
		redisReply *rep = sync_cmd_s(c, 6, argv, err, errlen);
		if (!rep)
			goto fail;
		if (rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			snprintf(err, errlen, "unexpected reply to XRANGE");
			goto fail;
		}
		size_t got = rep->elements;
		for (size_t i = 0; i < got && out->n < limit; i++) {
			const redisReply *e = rep->element[i];
			if (bs_reply_entry_shape(e, 0) < 0)
				continue;
			struct bs_admin_entry tmp;
			bs_admin_entry_copy(e, &tmp);
			if (!dead_matches(&tmp, f)) {
				bs_admin_entry_release(&tmp);
				continue;
			}
			if (out->n == cap) {
				cap = cap ? cap * 2 : 16;
				out->v = xrealloc(out->v, cap * sizeof(*out->v));
			}
			out->v[out->n++] = tmp;
		}
		if (got > 0) {
			const redisReply *last = rep->element[got - 1];
			if (last->type == REDIS_REPLY_ARRAY && last->elements >= 1 &&
			    last->element[0]->type == REDIS_REPLY_STRING)
				snprintf(start, sizeof(start), "(%s", last->element[0]->str);
			else
				got = 0;
		}
		freeReplyObject(rep);
		if (got < 200 || out->n >= limit)
			break;
	}
	return 0;
fail:
	bs_admin_entries_release(out);
	return -1;
}

int
bs_admin_dead_get(redisContext *c, const struct bs_keys *k, const char *id,
    struct bs_admin_entry *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *argv[] = { "XRANGE", k->dead, id, id };
	redisReply *rep = sync_cmd_s(c, 4, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    bs_reply_entry_shape(rep->element[0], 0) >= 0) {
		bs_admin_entry_copy(rep->element[0], out);
		rc = 0;
	} else {
		snprintf(err, errlen, "no dead letter '%s'", id);
	}
	freeReplyObject(rep);
	return rc;
}

int
bs_admin_dead_replay(redisContext *c, const struct bs_keys *k, const char *id,
    const char *actor, long long now, char *new_id, size_t new_id_len,
    char *err, size_t errlen)
{
	char nows[24], maxlen[24];
	snprintf(nows, sizeof(nows), "%lld", now);
	snprintf(maxlen, sizeof(maxlen), "%d", BS_REPLAYS_MAXLEN);
	const char *argv[] = { "EVAL", bs_redis_script_text(&bs_script_dead_replay), "4", k->dead,
		k->jobs, k->replays, k->stats, id,
		actor && *actor ? actor : "unknown", nows, maxlen };
	redisReply *rep = sync_cmd_s(c, 11, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = -1;
	if (rep->type == REDIS_REPLY_STRING) {
		snprintf(new_id, new_id_len, "%s", rep->str);
		rc = 0;
	} else {
		snprintf(err, errlen, "unexpected reply to dead letter replay");
	}
	freeReplyObject(rep);
	return rc;
}

int
bs_admin_replay_record(redisContext *c, const struct bs_keys *k,
    const char *kind, const char *actor, long long when_ms, const char *what,
    const char *job, char *err, size_t errlen)
{
	char whens[24], maxlen[24];
	snprintf(whens, sizeof(whens), "%lld", when_ms);
	snprintf(maxlen, sizeof(maxlen), "%d", BS_REPLAYS_MAXLEN);
	const char *argv[] = { "XADD", k->replays, "MAXLEN", "~", maxlen, "*",
		"kind", kind, "who", actor && *actor ? actor : "unknown",
		"when_ms", whens, "what", what ? what : "", "job", job ? job : "" };
	redisReply *rep = sync_cmd_s(c, 16, argv, err, errlen);
	if (!rep)
		return -1;
	int rc = rep->type == REDIS_REPLY_STRING ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "unexpected reply to XADD %s", k->replays);
	freeReplyObject(rep);
	return rc;
}

int
bs_admin_stream_newest(redisContext *c, const char *key, long long since_ms,
    size_t limit, struct bs_admin_entries *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char start[32], count[24];
	if (since_ms > 0)
		snprintf(start, sizeof(start), "%lld-0", since_ms);
	else
		snprintf(start, sizeof(start), "-");
	snprintf(count, sizeof(count), "%zu", limit);
	/* XREVRANGE of a missing key is an empty array. */
	const char *argv[] = { "XREVRANGE", key, "+", start, "COUNT", count };
	redisReply *rep = sync_cmd_s(c, 6, argv, err, errlen);
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		snprintf(err, errlen, "unexpected reply to XREVRANGE");
		return -1;
	}
	if (rep->elements)
		out->v = xcalloc(rep->elements, sizeof(*out->v));
	for (size_t i = 0; i < rep->elements && out->n < limit; i++) {
		const redisReply *e = rep->element[i];
		if (bs_reply_entry_shape(e, 0) < 0)
			continue;
		bs_admin_entry_copy(e, &out->v[out->n++]);
	}
	freeReplyObject(rep);
	return 0;
}

int
bs_admin_replays(redisContext *c, const struct bs_keys *k, long long since_ms,
    size_t limit, struct bs_admin_entries *out, char *err, size_t errlen)
{
	if (limit == 0)
		limit = BS_REPLAYS_LOG_DEFAULT;
	if (limit > BS_REPLAYS_LOG_MAX)
		limit = BS_REPLAYS_LOG_MAX;
	return bs_admin_stream_newest(c, k->replays, since_ms, limit, out, err,
	    errlen);
}

int
bs_admin_dead_purge(redisContext *c, const struct bs_keys *k,
    const char *const *ids, size_t n, long long *deleted, char *err,
    size_t errlen)
{
	*deleted = 0;
	for (size_t off = 0; off < n; off += 100) {
		size_t m = n - off < 100 ? n - off : 100;
		const char *argv[102];
		size_t argvlen[102];
		argv[0] = "XDEL";
		argv[1] = k->dead;
		for (size_t i = 0; i < m; i++)
			argv[2 + i] = ids[off + i];
		for (size_t i = 0; i < m + 2; i++)
			argvlen[i] = strlen(argv[i]);
		redisReply *rep = sync_cmd(c, (int)(m + 2), argv, argvlen, err, errlen);
		if (!rep)
			return -1;
		if (rep->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(rep);
			snprintf(err, errlen, "unexpected reply to XDEL");
			return -1;
		}
		*deleted += rep->integer;
		freeReplyObject(rep);
	}
	return 0;
}

void
bs_admin_raw_release(struct bs_admin_raw *raw)
{
	free(raw->headers);
	free(raw->body);
	free(raw->event);
	free(raw->job_id);
	memset(raw, 0, sizeof(*raw));
}

int
bs_admin_raw_get(redisContext *c, const struct bs_keys *k,
    const char *delivery, struct bs_admin_raw *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!delivery || !*delivery || strlen(delivery) > BS_QUEUE_MAX_ID) {
		snprintf(err, errlen, "bad delivery id");
		return -1;
	}
	char key[BS_KEY_MAX + BS_QUEUE_MAX_ID];
	snprintf(key, sizeof(key), "%s%s", k->raw, delivery);
	const char *argv[] = { "HGETALL", key };
	redisReply *rep = sync_cmd_s(c, 2, argv, err, errlen);
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
		freeReplyObject(rep);
		snprintf(err, errlen, "no raw delivery '%s'", delivery);
		return -1;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *nm = rep->element[i], *v = rep->element[i + 1];
		if (nm->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(nm->str, "headers") == 0 && !out->headers) {
			out->headers = xstrndup(v->str, v->len);
			out->headers_len = v->len;
		} else if (strcmp(nm->str, "body") == 0 && !out->body) {
			out->body = xstrndup(v->str, v->len);
			out->body_len = v->len;
		} else if (strcmp(nm->str, "event") == 0 && !out->event) {
			out->event = xstrndup(v->str, v->len);
		} else if (strcmp(nm->str, "job") == 0 && !out->job_id) {
			out->job_id = xstrndup(v->str, v->len);
		} else if (strcmp(nm->str, "received_ms") == 0) {
			out->received_ms = strtoll(v->str, NULL, 10);
		}
	}
	freeReplyObject(rep);
	if (!out->headers)
		out->headers = xstrndup("", 0);
	if (!out->body)
		out->body = xstrndup("", 0);
	return 0;
}
