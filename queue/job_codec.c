/* job_codec: msgpack -> bs_job, the decoding half of job_codec.h (the
 * encoding half is job_encode.c).
 *
 * Decoding never trusts a length. The buffer is first walked by a small
 * validating scanner (depth <= 32, arrays and maps <= 100000 elements,
 * strings <= 16 MiB, every declared count and length must fit in the bytes
 * that remain, no trailing bytes). Only then does msgpack_unpack_next()
 * build its object tree, whose size is then bounded by a small multiple of
 * the input (msgpack-c would otherwise allocate count * 24 bytes for a
 * 5-byte "array of 4 billion" header). The tree is copied into the job's
 * arena; on any error the job is reset and nothing leaks. */
#include "queue/job_codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/xalloc.h"

#define CODEC_MAX_DEPTH 32
#define CODEC_MAX_ITEMS 100000
#define CODEC_MAX_STR (16u * 1024 * 1024)

/* === Validating scanner === */

struct scan {
	const unsigned char *p;
	size_t len, pos;
	const char *why;
};

static int
scan_need(struct scan *s, size_t n)
{
	if (s->len - s->pos < n) {
		s->why = "truncated";
		return -1;
	}
	return 0;
}

static uint64_t
scan_be(struct scan *s, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | s->p[s->pos + i];
	s->pos += n;
	return v;
}

static int scan_obj(struct scan *s, int depth);

static int
scan_items(struct scan *s, uint64_t n, int depth)
{
	if (n > CODEC_MAX_ITEMS * 2ull) {
		s->why = "array or map too large";
		return -1;
	}
	if (n > s->len - s->pos) { /* each item takes at least one byte */
		s->why = "truncated";
		return -1;
	}
	if (depth >= CODEC_MAX_DEPTH) {
		s->why = "nested too deeply";
		return -1;
	}
	for (uint64_t i = 0; i < n; i++)
		if (scan_obj(s, depth + 1) < 0)
			return -1;
	return 0;
}

static int
scan_bytes(struct scan *s, uint64_t n)
{
	if (n > CODEC_MAX_STR) {
		s->why = "string too long";
		return -1;
	}
	if (scan_need(s, (size_t)n) < 0)
		return -1;
	s->pos += (size_t)n;
	return 0;
}

static int
scan_count(struct scan *s, size_t width, int is_map, int depth)
{
	if (scan_need(s, width) < 0)
		return -1;
	uint64_t n = scan_be(s, width);
	if (n > CODEC_MAX_ITEMS) {
		s->why = "array or map too large";
		return -1;
	}
	return scan_items(s, is_map ? n * 2 : n, depth);
}

static int
scan_obj(struct scan *s, int depth)
{
	if (scan_need(s, 1) < 0)
		return -1;
	unsigned char b = s->p[s->pos++];
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if (b >= 0x80 && b <= 0x8f)
		return scan_items(s, (uint64_t)(b & 0x0f) * 2, depth);
	if (b >= 0x90 && b <= 0x9f)
		return scan_items(s, b & 0x0f, depth);
	if (b >= 0xa0 && b <= 0xbf)
		return scan_bytes(s, b & 0x1f);
	size_t w;
	switch (b) {
	case 0xc4: case 0xd9: w = 1; goto bytes;
	case 0xc5: case 0xda: w = 2; goto bytes;
	case 0xc6: case 0xdb: w = 4; goto bytes;
	case 0xc7: w = 1; goto ext;
	case 0xc8: w = 2; goto ext;
	case 0xc9: w = 4; goto ext;
	case 0xca: return scan_bytes(s, 4);
	case 0xcb: return scan_bytes(s, 8);
	case 0xcc: case 0xd0: return scan_bytes(s, 1);
	case 0xcd: case 0xd1: return scan_bytes(s, 2);
	case 0xce: case 0xd2: return scan_bytes(s, 4);
	case 0xcf: case 0xd3: return scan_bytes(s, 8);
	case 0xd4: return scan_bytes(s, 2);
	case 0xd5: return scan_bytes(s, 3);
	case 0xd6: return scan_bytes(s, 5);
	case 0xd7: return scan_bytes(s, 9);
	case 0xd8: return scan_bytes(s, 17);
	case 0xdc: return scan_count(s, 2, 0, depth);
	case 0xdd: return scan_count(s, 4, 0, depth);
	case 0xde: return scan_count(s, 2, 1, depth);
	case 0xdf: return scan_count(s, 4, 1, depth);
	default:
		s->why = "invalid msgpack type byte";
		return -1;
	}
bytes:
	if (scan_need(s, w) < 0)
		return -1;
	return scan_bytes(s, scan_be(s, w));
ext:
	if (scan_need(s, w) < 0)
		return -1;
	{
		uint64_t n = scan_be(s, w);
		if (n > CODEC_MAX_STR) {
			s->why = "string too long";
			return -1;
		}
		return scan_bytes(s, n + 1); /* type byte + data */
	}
}

/* === Decoding === */

struct dec {
	struct bs_arena *a;
	char *err;
	size_t errlen;
};

static int dec_fail(struct dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
dec_fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
key_is(const msgpack_object_kv *kv, const char *name)
{
	size_t n = strlen(name);
	return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
	    memcmp(kv->key.via.str.ptr, name, n) == 0;
}

static int
dec_str(struct dec *d, const msgpack_object *o, const char *name, char **out)
{
	if (o->type == MSGPACK_OBJECT_NIL) {
		*out = NULL;
		return 0;
	}
	/* bin is accepted too: some msgpack writers use it for strings. */
	if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN)
		return dec_fail(d, "job field '%s' is not a string", name);
	if (o->via.str.size && memchr(o->via.str.ptr, '\0', o->via.str.size))
		return dec_fail(d, "job field '%s' holds a nul byte", name);
	*out = bs_arena_strndup(d->a, o->via.str.ptr, o->via.str.size);
	return 0;
}

static int
dec_int(struct dec *d, const msgpack_object *o, const char *name, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return dec_fail(d, "job field '%s' is out of range", name);
		*out = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return 0;
	}
	return dec_fail(d, "job field '%s' is not an integer", name);
}

static int
dec_u32(struct dec *d, const msgpack_object *o, const char *name, uint32_t *out)
{
	int64_t v = 0;
	if (dec_int(d, o, name, &v) < 0)
		return -1;
	if (v < 0 || v > (int64_t)UINT32_MAX)
		return dec_fail(d, "job field '%s' is out of range", name);
	*out = (uint32_t)v;
	return 0;
}

static int
dec_bool(struct dec *d, const msgpack_object *o, const char *name, bool *out)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return dec_fail(d, "job field '%s' is not a boolean", name);
	*out = o->via.boolean;
	return 0;
}

static int
dec_map(struct dec *d, const msgpack_object *o, const char *name)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_fail(d, "job field '%s' is not a map", name);
	return 0;
}

static int
dec_array(struct dec *d, const msgpack_object *o, const char *name)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return dec_fail(d, "job field '%s' is not an array", name);
	return 0;
}

/* Maps a name back to its enum value through the enum's name function;
 * unknown names (from a newer writer) give `dflt`. */
static int
dec_enum(struct dec *d, const msgpack_object *o, const char *name, int lo,
    int hi, const char *(*namefn)(int), int dflt, int *out)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return dec_fail(d, "job field '%s' is not a string", name);
	*out = dflt;
	for (int v = lo; v <= hi; v++) {
		const char *n = namefn(v);
		if (strlen(n) == o->via.str.size &&
		    memcmp(n, o->via.str.ptr, o->via.str.size) == 0) {
			*out = v;
			break;
		}
	}
	return 0;
}

static const char *
product_name_i(int v)
{
	return bs_product_name((enum bs_product)v);
}

static const char *
event_type_name_i(int v)
{
	return bs_event_type_name((enum bs_event_type)v);
}

static const char *
ref_type_name_i(int v)
{
	return bs_ref_type_name((enum bs_ref_type)v);
}

static const char *
pr_action_name_i(int v)
{
	return bs_pr_action_name((enum bs_pr_action)v);
}

static const char *
where_name_i(int v)
{
	return bs_key_where_name((enum bs_key_where)v);
}

/* A map (or nil) whose members of interest are all strings: decodes the
 * members named in keys[] into dst[], ignoring others. */
static int
dec_str_map(struct dec *d, const msgpack_object *o, const char *name,
    const char *const *keys, char **const *dst, size_t n)
{
	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (dec_map(d, o, name) < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		for (size_t k = 0; k < n; k++) {
			if (key_is(kv, keys[k])) {
				if (dec_str(d, &kv->val, keys[k], dst[k]) < 0)
					return -1;
				break;
			}
		}
	}
	return 0;
}

static int
dec_person(struct dec *d, const msgpack_object *o, const char *name,
    struct bs_person *p)
{
	static const char *const keys[] = { "name", "email", "username" };
	char **const dst[] = { &p->name, &p->email, &p->username };
	return dec_str_map(d, o, name, keys, dst, 3);
}

static int
dec_commit(struct dec *d, const msgpack_object *o, struct bs_commit *c)
{
	if (dec_map(d, o, "commits[]") < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		const msgpack_object *v = &kv->val;
		int rc = 0;
		if (key_is(kv, "hash"))
			rc = dec_str(d, v, "hash", &c->hash);
		else if (key_is(kv, "message"))
			rc = dec_str(d, v, "message", &c->message);
		else if (key_is(kv, "author"))
			rc = dec_person(d, v, "author", &c->author);
		else if (key_is(kv, "date"))
			rc = dec_str(d, v, "date", &c->date);
		else if (key_is(kv, "url"))
			rc = dec_str(d, v, "url", &c->url);
		else if (key_is(kv, "parents")) {
			if (dec_array(d, v, "parents") < 0)
				return -1;
			c->n_parents = v->via.array.size;
			c->parents = bs_arena_alloc(d->a,
			    (c->n_parents ? c->n_parents : 1) * sizeof(char *));
			for (size_t j = 0; j < c->n_parents && rc == 0; j++)
				rc = dec_str(d, &v->via.array.ptr[j], "parents[]",
				    &c->parents[j]);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
dec_change(struct dec *d, const msgpack_object *o, struct bs_change *c)
{
	if (dec_map(d, o, "changes[]") < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		const msgpack_object *v = &kv->val;
		int rc = 0, e = 0;
		if (key_is(kv, "ref_type")) {
			rc = dec_enum(d, v, "ref_type", 0, 2, ref_type_name_i, 0, &e);
			c->ref_type = (enum bs_ref_type)e;
		} else if (key_is(kv, "ref_name"))
			rc = dec_str(d, v, "ref_name", &c->ref_name);
		else if (key_is(kv, "ref_type_raw"))
			rc = dec_str(d, v, "ref_type_raw", &c->ref_type_raw);
		else if (key_is(kv, "old_hash"))
			rc = dec_str(d, v, "old_hash", &c->old_hash);
		else if (key_is(kv, "new_hash"))
			rc = dec_str(d, v, "new_hash", &c->new_hash);
		else if (key_is(kv, "new_commit"))
			rc = dec_str(d, v, "new_commit", &c->new_commit);
		else if (key_is(kv, "head_author"))   /* absent before issue 12 */
			rc = dec_person(d, v, "head_author", &c->head_author);
		else if (key_is(kv, "head_date"))
			rc = dec_str(d, v, "head_date", &c->head_date);
		else if (key_is(kv, "created"))
			rc = dec_bool(d, v, "created", &c->created);
		else if (key_is(kv, "closed"))
			rc = dec_bool(d, v, "closed", &c->closed);
		else if (key_is(kv, "forced"))
			rc = dec_bool(d, v, "forced", &c->forced);
		else if (key_is(kv, "truncated"))
			rc = dec_bool(d, v, "truncated", &c->truncated);
		else if (key_is(kv, "link"))
			rc = dec_str(d, v, "link", &c->link);
		else if (key_is(kv, "commits")) {
			if (dec_array(d, v, "commits") < 0)
				return -1;
			c->n_commits = v->via.array.size;
			c->commits = bs_arena_alloc(d->a,
			    (c->n_commits ? c->n_commits : 1) * sizeof(*c->commits));
			for (size_t j = 0; j < c->n_commits && rc == 0; j++)
				rc = dec_commit(d, &v->via.array.ptr[j], &c->commits[j]);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
dec_pr_ref(struct dec *d, const msgpack_object *o, const char *name,
    struct bs_pr_ref *r)
{
	static const char *const keys[] = { "branch", "repository", "hash" };
	char **const dst[] = { &r->branch, &r->repository, &r->hash };
	return dec_str_map(d, o, name, keys, dst, 3);
}

static int
dec_pr(struct dec *d, const msgpack_object *o, struct bs_pr *pr)
{
	if (dec_map(d, o, "pr") < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		const msgpack_object *v = &kv->val;
		int rc = 0, e = 0;
		if (key_is(kv, "id"))
			rc = dec_int(d, v, "id", &pr->id);
		else if (key_is(kv, "title"))
			rc = dec_str(d, v, "title", &pr->title);
		else if (key_is(kv, "description"))
			rc = dec_str(d, v, "description", &pr->description);
		else if (key_is(kv, "state"))
			rc = dec_str(d, v, "state", &pr->state);
		else if (key_is(kv, "action")) {
			rc = dec_enum(d, v, "action", 0, 11, pr_action_name_i, 0, &e);
			pr->action = (enum bs_pr_action)e;
		} else if (key_is(kv, "source"))
			rc = dec_pr_ref(d, v, "source", &pr->source);
		else if (key_is(kv, "destination"))
			rc = dec_pr_ref(d, v, "destination", &pr->destination);
		else if (key_is(kv, "merge_hash"))
			rc = dec_str(d, v, "merge_hash", &pr->merge_hash);
		else if (key_is(kv, "author"))
			rc = dec_person(d, v, "author", &pr->author);
		else if (key_is(kv, "url"))
			rc = dec_str(d, v, "url", &pr->url);
		else if (key_is(kv, "created"))
			rc = dec_str(d, v, "created", &pr->created);
		else if (key_is(kv, "updated"))
			rc = dec_str(d, v, "updated", &pr->updated);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
dec_event(struct dec *d, const msgpack_object *o, struct bs_event *ev)
{
	if (dec_map(d, o, "event") < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		const msgpack_object *v = &kv->val;
		int rc = 0, e = 0;
		if (key_is(kv, "product")) {
			rc = dec_enum(d, v, "product", 0, 2, product_name_i, 0, &e);
			ev->product = (enum bs_product)e;
		} else if (key_is(kv, "type")) {
			rc = dec_enum(d, v, "type", 0, 3, event_type_name_i, 0, &e);
			ev->type = (enum bs_event_type)e;
		} else if (key_is(kv, "event_key"))
			rc = dec_str(d, v, "event_key", &ev->event_key);
		else if (key_is(kv, "repository"))
			rc = dec_str(d, v, "repository", &ev->repository);
		else if (key_is(kv, "repository_url"))
			rc = dec_str(d, v, "repository_url", &ev->repository_url);
		else if (key_is(kv, "actor"))
			rc = dec_person(d, v, "actor", &ev->actor);
		else if (key_is(kv, "date"))
			rc = dec_str(d, v, "date", &ev->date);
		else if (key_is(kv, "changes")) {
			if (dec_array(d, v, "changes") < 0)
				return -1;
			ev->n_changes = v->via.array.size;
			ev->changes = bs_arena_alloc(d->a,
			    (ev->n_changes ? ev->n_changes : 1) * sizeof(*ev->changes));
			for (size_t j = 0; j < ev->n_changes && rc == 0; j++)
				rc = dec_change(d, &v->via.array.ptr[j], &ev->changes[j]);
		} else if (key_is(kv, "pr")) {
			if (v->type != MSGPACK_OBJECT_NIL) {
				ev->pr = bs_arena_alloc(d->a, sizeof(*ev->pr));
				rc = dec_pr(d, v, ev->pr);
			}
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
dec_keys(struct dec *d, const msgpack_object *o, struct bs_job *job)
{
	if (dec_array(d, o, "keys") < 0)
		return -1;
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *m = &o->via.array.ptr[i];
		char *key = NULL;
		int where = 0;
		uint32_t change = 0, commit = 0;
		if (dec_map(d, m, "keys[]") < 0)
			return -1;
		for (uint32_t j = 0; j < m->via.map.size; j++) {
			const msgpack_object_kv *kv = &m->via.map.ptr[j];
			int rc = 0;
			if (key_is(kv, "key"))
				rc = dec_str(d, &kv->val, "key", &key);
			else if (key_is(kv, "where"))
				rc = dec_enum(d, &kv->val, "where", 1, 5, where_name_i, 0,
				    &where);
			else if (key_is(kv, "change"))
				rc = dec_u32(d, &kv->val, "change", &change);
			else if (key_is(kv, "commit"))
				rc = dec_u32(d, &kv->val, "commit", &commit);
			if (rc < 0)
				return -1;
		}
		if (!key || !*key)
			return dec_fail(d, "job field '%s' is missing", "keys[].key");
		if (where == 0)
			return dec_fail(d, "job field '%s' is unknown", "keys[].where");
		/* Indices must point into the event: deploy/ follows them. */
		if ((where == BS_KEY_COMMIT || where == BS_KEY_BRANCH) &&
		    change >= job->ev.n_changes)
			return dec_fail(d, "job field '%s' is out of range",
			    "keys[].change");
		if (where == BS_KEY_COMMIT &&
		    commit >= job->ev.changes[change].n_commits)
			return dec_fail(d, "job field '%s' is out of range",
			    "keys[].commit");
		struct bs_issue_ref *r = bs_arena_push(d->a, (void **)&job->keys,
		    &job->n_keys, &job->_keys_cap, sizeof(*r));
		r->key = key;
		r->where = (enum bs_key_where)where;
		r->change = change;
		r->commit = commit;
	}
	return 0;
}

static int
dec_job(struct dec *d, const msgpack_object *o, struct bs_job *job)
{
	const msgpack_object *event = NULL, *keys = NULL;
	int have_v = 0;
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_fail(d, "%s", "job is not a msgpack map");
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		int rc = 0;
		if (key_is(kv, "v")) {
			int64_t v = 0;
			if (dec_int(d, &kv->val, "v", &v) < 0)
				return -1;
			if (v < 1 || v > BS_JOB_VERSION) {
				snprintf(d->err, d->errlen,
				    "job version %" PRId64 " not supported (max %d)", v,
				    BS_JOB_VERSION);
				return -1;
			}
			job->version = (uint32_t)v;
			have_v = 1;
		} else if (key_is(kv, "delivery"))
			rc = dec_str(d, &kv->val, "delivery", &job->delivery);
		else if (key_is(kv, "received_ms"))
			rc = dec_int(d, &kv->val, "received_ms", &job->received_ms);
		else if (key_is(kv, "event"))
			event = &kv->val;
		else if (key_is(kv, "keys"))
			keys = &kv->val;
		if (rc < 0)
			return -1;
	}
	if (!have_v)
		return dec_fail(d, "job field '%s' is missing", "v");
	if (!event)
		return dec_fail(d, "job field '%s' is missing", "event");
	if (dec_event(d, event, &job->ev) < 0)
		return -1;
	if (keys && dec_keys(d, keys, job) < 0)
		return -1;
	return 0;
}

int
bs_job_decode(const char *buf, size_t len, struct bs_job *job, char *err,
    size_t errlen)
{
	struct scan s = { (const unsigned char *)buf, len, 0, NULL };
	if (len == 0 || !buf) {
		snprintf(err, errlen, "job is empty");
		goto fail;
	}
	if (scan_obj(&s, 0) < 0) {
		snprintf(err, errlen, "job is not valid msgpack: %s", s.why);
		goto fail;
	}
	if (s.pos != len) {
		snprintf(err, errlen, "job has %zu trailing bytes", len - s.pos);
		goto fail;
	}

	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	msgpack_unpack_return ur = msgpack_unpack_next(&up, buf, len, &off);
	if (ur != MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(&up);
		snprintf(err, errlen, "job is not valid msgpack (%d)", (int)ur);
		goto fail;
	}
	struct dec d = { &job->ev.arena, err, errlen };
	int rc = dec_job(&d, &up.data, job);
	msgpack_unpacked_destroy(&up);
	if (rc == 0)
		return 0;
fail:
	bs_job_release(job);
	bs_job_init(job);
	return -1;
}
