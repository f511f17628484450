/* prs: the Redis side of remembered pull requests (see prs.h).
 *
 * A store is one Lua script (DEL, HSET of every field, EXPIRE) so a reader
 * never sees half of an overwritten PR nor a PR without its TTL. A fetch is
 * one script that returns an HGETALL per key: one round trip whatever the
 * number of PRs, and all keys share the "{prefix}" hash tag so it stays
 * legal on a cluster. Replies are checked for shape; a malformed one is an
 * error, never a crash. Each async call keeps a small heap op that the
 * reply callback frees after copying it, so the user callback runs exactly
 * once (bs_redis_eval calls ours exactly once).
 *
 * The keys codec is plain text, one "<where>:<key>\n" per line, readable
 * in redis-cli and tolerant of lines it does not understand (a newer
 * writer may add other where names). Repository names are lower-cased
 * (ASCII) in the key: matching is case-insensitive everywhere else too. */
#include "queue/prs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* KEYS[1] = the PR hash; ARGV[1] = ttl seconds, ARGV[2..] = field, value
 * pairs. Returns 1. */
static struct bs_redis_script store_script = {
	.source =
	    "redis.call('DEL', KEYS[1])\n"
	    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
	    "redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))\n"
	    "return 1\n",
};

/* KEYS = PR hashes. Returns one HGETALL array per key (empty: missing). */
static struct bs_redis_script fetch_script = {
	.source =
	    "local out = {}\n"
	    "for i = 1, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end\n"
	    "return out\n",
};

int
bs_prs_parse_id(const char *s, size_t len, int64_t *id)
{
	if (!s || len < 1 || len > 10 || s[0] == '0')
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');    /* <= 9999999999: no overflow */
	}
	*id = v;
	return 0;
}

int
bs_prs_key(const struct bs_keys *k, const char *repo, int64_t id,
    char *out, size_t outlen)
{
	if (!repo || id < 1 || outlen < BS_PRS_KEY_MAX)
		return -1;
	size_t n = strlen(repo);
	if (n == 0 || n > BS_PRS_MAX_REPO)
		return -1;
	char low[BS_PRS_MAX_REPO + 1];
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)repo[i];
		if (c <= 0x20 || c == 0x7f)
			return -1;
		low[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	low[n] = '\0';
	int w = snprintf(out, outlen, "{%s}:pr:%s:%" PRId64, k->prefix, low, id);
	return w > 0 && (size_t)w < outlen ? 0 : -1;
}

/* === store === */

struct store_op {
	bs_done_cb *cb;
	void *arg;
};

static void
store_reply(const redisReply *rep, const char *err, void *arg)
{
	struct store_op op = *(struct store_op *)arg;
	free(arg);
	if (!rep)
		op.cb(0, err ? err : "no reply", op.arg);
	else if (rep->type == REDIS_REPLY_ERROR)
		op.cb(0, rep->str, op.arg);
	else if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1)
		op.cb(0, "unexpected reply to pr store", op.arg);
	else
		op.cb(1, NULL, op.arg);
}

void
bs_prs_store(struct bs_redis *r, const struct bs_keys *k,
    const char *repo, int64_t id, const struct bs_field *fields, size_t n,
    int ttl_s, bs_done_cb *cb, void *arg)
{
	char key[BS_PRS_KEY_MAX];
	if (bs_prs_key(k, repo, id, key, sizeof(key)) < 0) {
		cb(0, "bad repository name or pr id", arg);
		return;
	}
	if (n < 1 || n > BS_PRS_MAX_FIELDS || ttl_s <= 0) {
		cb(0, "bad pr field count or ttl", arg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!fields[i].name || !fields[i].name[0]) {
			cb(0, "empty pr field name", arg);
			return;
		}
	}
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	const char *argv[2 + 2 * BS_PRS_MAX_FIELDS];
	size_t argvlen[2 + 2 * BS_PRS_MAX_FIELDS];
	argv[0] = key;
	argvlen[0] = strlen(key);
	argv[1] = ttl;
	argvlen[1] = strlen(ttl);
	for (size_t i = 0; i < n; i++) {
		argv[2 + 2 * i] = fields[i].name;
		argvlen[2 + 2 * i] = strlen(fields[i].name);
		argv[3 + 2 * i] = fields[i].val ? fields[i].val : "";
		argvlen[3 + 2 * i] = fields[i].val ? fields[i].len : 0;
	}
	struct store_op *op = xmalloc(sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &store_script, 1, (int)(2 + 2 * n), argv, argvlen,
	    store_reply, op);
}

/* === fetch === */

struct fetch_op {
	int64_t ids[BS_PRS_MAX_FETCH];
	size_t n;
	bs_prs_fetch_cb *cb;
	void *arg;
};

/* Checks the reply's shape; returns the total number of fields or -1. */
static long
fetch_shape(const redisReply *rep, size_t n)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
		return -1;
	long total = 0;
	for (size_t i = 0; i < n; i++) {
		const redisReply *h = rep->element[i];
		if (h->type != REDIS_REPLY_ARRAY || h->elements % 2 != 0)
			return -1;
		for (size_t j = 0; j < h->elements; j++)
			if (h->element[j]->type != REDIS_REPLY_STRING)
				return -1;
		total += (long)(h->elements / 2);
	}
	return total;
}

static void
fetch_reply(const redisReply *rep, const char *err, void *arg)
{
	struct fetch_op op = *(struct fetch_op *)arg;
	free(arg);
	if (!rep) {
		op.cb(NULL, 0, err ? err : "no reply", op.arg);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		op.cb(NULL, 0, rep->str, op.arg);
		return;
	}
	long total = fetch_shape(rep, op.n);
	if (total < 0) {
		op.cb(NULL, 0, "unexpected reply to pr fetch", op.arg);
		return;
	}
	struct bs_pr_record recs[BS_PRS_MAX_FETCH];
	struct bs_field *fields = xcalloc((size_t)total + 1, sizeof(*fields));
	struct bs_field *f = fields;
	for (size_t i = 0; i < op.n; i++) {
		const redisReply *h = rep->element[i];
		recs[i].id = op.ids[i];
		recs[i].found = h->elements > 0;
		recs[i].fields = f;
		recs[i].n_fields = h->elements / 2;
		for (size_t j = 0; j < recs[i].n_fields; j++, f++) {
			f->name = h->element[2 * j]->str;
			f->val = h->element[2 * j + 1]->str;
			f->len = h->element[2 * j + 1]->len;
		}
	}
	op.cb(recs, op.n, NULL, op.arg);
	free(fields);
}

void
bs_prs_fetch(struct bs_redis *r, const struct bs_keys *k,
    const char *repo, const int64_t *ids, size_t n, bs_prs_fetch_cb *cb,
    void *arg)
{
	if (n < 1 || n > BS_PRS_MAX_FETCH) {
		cb(NULL, 0, "bad pr count", arg);
		return;
	}
	char keys[BS_PRS_MAX_FETCH][BS_PRS_KEY_MAX];
	const char *argv[BS_PRS_MAX_FETCH];
	size_t argvlen[BS_PRS_MAX_FETCH];
	for (size_t i = 0; i < n; i++) {
		if (bs_prs_key(k, repo, ids[i], keys[i], sizeof(keys[i])) < 0) {
			cb(NULL, 0, "bad repository name or pr id", arg);
			return;
		}
		argv[i] = keys[i];
		argvlen[i] = strlen(keys[i]);
	}
	struct fetch_op *op = xmalloc(sizeof(*op));
	memcpy(op->ids, ids, n * sizeof(*ids));
	op->n = n;
	op->cb = cb;
	op->arg = arg;
	bs_redis_eval(r, &fetch_script, (int)n, (int)n, argv, argvlen,
	    fetch_reply, op);
}

const struct bs_field *
bs_pr_record_field(const struct bs_pr_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->n_fields; i++)
		if (strcmp(rec->fields[i].name, name) == 0)
			return &rec->fields[i];
	return NULL;
}

/* === keys codec === */

static int
pr_where(enum bs_key_where w)
{
	return w == BS_KEY_PR_TITLE || w == BS_KEY_PR_DESCRIPTION ||
	    w == BS_KEY_PR_BRANCH;
}

char *
bs_prs_keys_encode(const struct bs_issue_ref *keys, size_t n, size_t *len)
{
	size_t cap = 1, count = 0;
	for (size_t i = 0; i < n; i++)
		if (pr_where(keys[i].where) && keys[i].key)
			cap += strlen(bs_key_where_name(keys[i].where)) +
			    strlen(keys[i].key) + 2;
	char *out = xmalloc(cap);
	size_t o = 0;
	for (size_t i = 0; i < n && count < BS_PRS_MAX_KEYS; i++) {
		const struct bs_issue_ref *r = &keys[i];
		if (!pr_where(r->where) || !r->key)
			continue;
		size_t kl = strlen(r->key);
		if (kl == 0 || kl > BS_PRS_MAX_KEY_LEN || memchr(r->key, '\n', kl))
			continue;
		size_t j;
		for (j = 0; j < i; j++)
			if (keys[j].where == r->where && keys[j].key &&
			    strcmp(keys[j].key, r->key) == 0)
				break;
		if (j < i)
			continue;
		const char *wn = bs_key_where_name(r->where);
		size_t wl = strlen(wn);
		memcpy(out + o, wn, wl);
		o += wl;
		out[o++] = ':';
		memcpy(out + o, r->key, kl);
		o += kl;
		out[o++] = '\n';
		count++;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static int
where_of(const char *s, size_t n, enum bs_key_where *w)
{
	static const enum bs_key_where all[] = { BS_KEY_PR_TITLE,
		BS_KEY_PR_DESCRIPTION, BS_KEY_PR_BRANCH };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = bs_key_where_name(all[i]);
		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*w = all[i];
			return 0;
		}
	}
	return -1;
}

size_t
bs_prs_keys_decode(const char *s, size_t len, bs_prs_key_fn *fn, void *arg)
{
	size_t calls = 0, i = 0;
	while (s && i < len && calls < BS_PRS_MAX_KEYS) {
		const char *line = s + i;
		const char *nl = memchr(line, '\n', len - i);
		if (!nl)
			break;                  /* an unterminated last line */
		size_t ll = (size_t)(nl - line);
		i += ll + 1;
		const char *colon = memchr(line, ':', ll);
		enum bs_key_where w;
		if (!colon || where_of(line, (size_t)(colon - line), &w) < 0)
			continue;
		size_t kl = ll - (size_t)(colon - line) - 1;
		if (kl == 0 || kl > BS_PRS_MAX_KEY_LEN || memchr(colon + 1, '\0', kl))
			continue;
		fn(w, colon + 1, kl, arg);
		calls++;
	}
	return calls;
}
