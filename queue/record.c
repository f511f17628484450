/* record: the deploy record's encoding and msgpack -> JSON (record.h).
 *
 * A deploy record is packed with msgpack-c as a map with string keys, the
 * layout docs/schema/deploy.v1.schema.json publishes; its JSON form is
 * the same bytes converted by bs_record_json, so the two encodings cannot
 * drift apart. The conversion walks the unpacked object with yajl_gen
 * (UTF-8 validated: a string that is not UTF-8 becomes null rather than
 * invalid JSON), depth-bounded, and refuses anything but one whole value. */
#include "queue/record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <yajl/yajl_gen.h>

#include "common/xalloc.h"

#define RECORD_MAX_DEPTH 64

const char *
bs_record_format_name(enum bs_record_format f)
{
	return f == BS_RECORD_JSON ? "json" : "msgpack";
}

int
bs_record_format_parse(const char *name, enum bs_record_format *f)
{
	if (name && strcmp(name, "msgpack") == 0)
		*f = BS_RECORD_MSGPACK;
	else if (name && strcmp(name, "json") == 0)
		*f = BS_RECORD_JSON;
	else
		return -1;
	return 0;
}

void
bs_record_opts_set(struct bs_record_opts *o, bool on, const char *format,
    long long ttl_ms, long long maxlen)
{
	o->on = on;
	if (bs_record_format_parse(format, &o->format) != 0)
		o->format = BS_RECORD_MSGPACK;
	o->ttl_ms = ttl_ms > 0 ? ttl_ms : 7LL * 86400 * 1000;
	o->maxlen = maxlen > 0 ? maxlen : 1000000;
}

/* === deploy record (msgpack) === */

static void
pk_check(int rc)
{
	if (rc != 0) {
		fprintf(stderr, "record: out of memory while encoding\n");
		abort();
	}
}

static void
pk_s(msgpack_packer *pk, const char *s)
{
	if (s)
		pk_check(msgpack_pack_str_with_body(pk, s, strlen(s)));
	else
		pk_check(msgpack_pack_nil(pk));
}

static void
pk_kv(msgpack_packer *pk, const char *name, const char *s)
{
	pk_s(pk, name);
	pk_s(pk, s);
}

static void
pk_ki(msgpack_packer *pk, const char *name, long long v)
{
	pk_s(pk, name);
	pk_check(msgpack_pack_int64(pk, v));
}

char *
bs_record_deploy(const struct bs_deploy_record *r, enum bs_record_format f,
    size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pk_check(msgpack_pack_map(&pk, 21));
	pk_ki(&pk, "v", BS_RECORD_VERSION);
	pk_kv(&pk, "kind", r->kind);
	pk_ki(&pk, "at_ms", r->at_ms);
	pk_kv(&pk, "delivery", r->delivery);
	pk_kv(&pk, "job", r->job);
	pk_kv(&pk, "event", r->event);
	pk_kv(&pk, "repository", r->repository);
	pk_kv(&pk, "target", r->target);
	pk_kv(&pk, "org", r->org);
	pk_kv(&pk, "deployment", r->deployment);
	pk_kv(&pk, "environment", r->environment);
	pk_kv(&pk, "sha", r->sha);
	pk_kv(&pk, "branch", r->branch);
	pk_kv(&pk, "date", r->date);
	pk_s(&pk, "commits");
	if (r->commits >= 0)
		pk_check(msgpack_pack_int64(&pk, r->commits));
	else
		pk_check(msgpack_pack_nil(&pk));
	pk_s(&pk, "keys");
	pk_check(msgpack_pack_array(&pk, r->keys ? r->n_keys : 0));
	for (size_t i = 0; r->keys && i < r->n_keys; i++)
		pk_s(&pk, r->keys[i]);
	pk_ki(&pk, "attempts", r->attempts);
	pk_ki(&pk, "status", r->status);
	pk_kv(&pk, "reason", r->reason);
	pk_kv(&pk, "superseded_by", r->superseded_by);
	pk_kv(&pk, "url", r->url);
	char *out;
	if (f == BS_RECORD_JSON) {
		out = bs_record_json(sb.data, sb.size, len);
		if (!out)
			abort();  /* we packed it: only on out-of-memory */
	} else {
		out = xmalloc(sb.size);
		memcpy(out, sb.data, sb.size);
		*len = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
	return out;
}

/* === msgpack -> JSON === */

static int
gen_str(yajl_gen g, const char *p, size_t n)
{
	yajl_gen_status st = yajl_gen_string(g, (const unsigned char *)p, n);
	if (st == yajl_gen_invalid_string)
		st = yajl_gen_null(g);
	return st == yajl_gen_status_ok ? 0 : -1;
}

static int
gen_obj(yajl_gen g, const msgpack_object *o, int depth)
{
	if (depth > RECORD_MAX_DEPTH)
		return -1;
	char num[32];
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
	case MSGPACK_OBJECT_BOOLEAN:
		return yajl_gen_bool(g, o->via.boolean) == yajl_gen_status_ok ? 0 : -1;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		/* yajl_gen_integer takes a signed long long: print it ourselves. */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)o->via.u64);
		return yajl_gen_number(g, num, strlen(num)) == yajl_gen_status_ok ?
		    0 : -1;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return yajl_gen_integer(g, o->via.i64) == yajl_gen_status_ok ? 0 : -1;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		/* NaN and infinities have no JSON form: yajl refuses them. */
		if (yajl_gen_double(g, o->via.f64) != yajl_gen_status_ok)
			return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
		return 0;
	case MSGPACK_OBJECT_STR:
		return gen_str(g, o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return gen_str(g, o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY:
		if (yajl_gen_array_open(g) != yajl_gen_status_ok)
			return -1;
		for (uint32_t i = 0; i < o->via.array.size; i++)
			if (gen_obj(g, &o->via.array.ptr[i], depth + 1) != 0)
				return -1;
		return yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -1;
	case MSGPACK_OBJECT_MAP:
		if (yajl_gen_map_open(g) != yajl_gen_status_ok)
			return -1;
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR ||
			    yajl_gen_string(g, (const unsigned char *)kv->key.via.str.ptr,
			    kv->key.via.str.size) != yajl_gen_status_ok ||
			    gen_obj(g, &kv->val, depth + 1) != 0)
				return -1;
		}
		return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
	default:
		return -1;  /* EXT: nothing of ours writes it */
	}
}

char *
bs_record_json(const char *mp, size_t len, size_t *out_len)
{
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	if (msgpack_unpack_next(&u, mp, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len) {
		msgpack_unpacked_destroy(&u);
		return NULL;
	}
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		abort();
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	char *out = NULL;
	if (gen_obj(g, &u.data, 0) == 0) {
		const unsigned char *buf;
		size_t n;
		yajl_gen_get_buf(g, &buf, &n);
		out = xmalloc(n + 1);
		memcpy(out, buf, n);
		out[n] = '\0';
		*out_len = n;
	}
	yajl_gen_free(g);
	msgpack_unpacked_destroy(&u);
	return out;
}
