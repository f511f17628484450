/* json_sax: see json_sax.h. The yajl callbacks below translate tokens into
 * open/value/close calls on the extractor, with the container stack kept
 * here rather than in yajl (whose own byte stack is unbounded): every
 * container start checks depth against max_depth before anything else, so
 * a 100000-deep body stops at the first level past the cap.
 *
 * Keys are interned through a 512-slot open-addressing table built at init
 * from the extractor's key list (a hash of length and three bytes, then one
 * memcmp), so a key costs O(1) whatever the number of known keys; keys seen
 * inside skipped containers are not even hashed. Failures are sticky: the
 * first one is kept and every later callback returns 0, which makes yajl
 * stop with yajl_status_client_canceled. yajl's own error text can embed
 * raw input bytes, so only its short non-verbose message is used, filtered
 * to printable ASCII, next to our byte offset. */
#include "parsers/json_sax.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/xalloc.h"

static unsigned
key_hash(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned h = (unsigned)len;
	h = h * 31 + p[0];
	h = h * 31 + p[len - 1];
	h = h * 31 + p[len / 2];
	return h & 511;
}

void
bs_json_sax_init(struct bs_json_sax *sax, const struct bs_json_sax_ops *ops,
    void *ctx, const char *const *keys, size_t n_keys, int top_state,
    size_t max_depth, size_t max_string)
{
	memset(sax, 0, sizeof(*sax));
	sax->ctx = ctx;
	sax->ops = ops;
	sax->keys = keys;
	sax->n_keys = n_keys > BS_JSON_MAX_KEYS ? BS_JSON_MAX_KEYS : n_keys;
	for (size_t id = 2; id < sax->n_keys; id++) {
		size_t len = strlen(keys[id]);
		if (len == 0)
			continue;
		if (len > 255)
			continue;   /* no such keys; ids fit a byte, lengths too */
		sax->key_len[id] = (uint8_t)len;
		unsigned h = key_hash(keys[id], len);
		while (sax->slots[h])
			h = (h + 1) & 511;
		sax->slots[h] = (uint8_t)id;
	}
	sax->max_depth = max_depth ? max_depth : 1;
	sax->max_string = max_string;
	if (sax->max_depth + 1 <= BS_JSON_INLINE_FRAMES)
		sax->frames = sax->inline_frames;
	else
		sax->frames = xcalloc(sax->max_depth + 1, sizeof(*sax->frames));
	sax->frames[0].state = (uint16_t)top_state;
	sax->frames[0].is_array = 1;   /* the top value is element 0 */
	sax->status = BS_PARSE_OK;
}

void
bs_json_sax_release(struct bs_json_sax *sax)
{
	if (sax->frames && sax->frames != sax->inline_frames)
		free(sax->frames);
	sax->frames = NULL;
}

int
bs_json_sax_intern(const struct bs_json_sax *sax, const char *name,
    size_t len)
{
	if (len == 0)
		return BS_JSON_KEY_OTHER;
	unsigned h = key_hash(name, len);
	uint8_t id;
	while ((id = sax->slots[h]) != 0) {
		if (sax->key_len[id] == len &&
		    memcmp(sax->keys[id], name, len) == 0)
			return id;
		h = (h + 1) & 511;
	}
	return BS_JSON_KEY_OTHER;
}

void
bs_json_sax_fail(struct bs_json_sax *sax, enum bs_parse_status st,
    const char *fmt, ...)
{
	if (sax->status != BS_PARSE_OK)
		return;
	sax->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sax->reason, sizeof(sax->reason), fmt, ap);
	va_end(ap);
}

size_t
bs_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	/* Back off over continuation bytes to the start of a character. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *
bs_json_sax_keep(const struct bs_json_sax *sax, struct bs_arena *a,
    const char *s, size_t len)
{
	return bs_arena_strndup(a, s, bs_utf8_cut(s, len, sax->max_string));
}

/* === yajl callbacks === */

static inline struct bs_json_frame *
top(struct bs_json_sax *sax)
{
	return &sax->frames[sax->depth];
}

/* Key and index of the value about to be reported in the current frame. */
static inline int
next_key(struct bs_json_sax *sax, size_t *idx)
{
	struct bs_json_frame *f = top(sax);
	if (f->is_array) {
		*idx = f->idx++;
		return BS_JSON_KEY_ELEM;
	}
	*idx = 0;
	return sax->pending_key;
}

static int
scalar(struct bs_json_sax *sax, enum bs_json_type t, const char *s,
    size_t len)
{
	if (sax->status != BS_PARSE_OK)
		return 0;
	size_t idx;
	int key = next_key(sax, &idx);
	int state = top(sax)->state;
	if (state != BS_JSON_SKIP)
		sax->ops->value(sax, state, key, idx, t, s, len);
	return sax->status == BS_PARSE_OK;
}

static int
cb_null(void *c)
{
	return scalar(c, BS_JSON_NULL, NULL, 0);
}

static int
cb_boolean(void *c, int v)
{
	return scalar(c, BS_JSON_BOOL, NULL, v ? 1 : 0);
}

static int
cb_number(void *c, const char *s, size_t len)
{
	return scalar(c, BS_JSON_NUMBER, s, len);
}

static int
cb_string(void *c, const unsigned char *s, size_t len)
{
	return scalar(c, BS_JSON_STRING, (const char *)s, len);
}

static int
open_container(struct bs_json_sax *sax, bool is_array)
{
	if (sax->status != BS_PARSE_OK)
		return 0;
	if (sax->depth >= sax->max_depth) {
		bs_json_sax_fail(sax, BS_PARSE_LIMIT,
		    "JSON nested deeper than %zu levels", sax->max_depth);
		return 0;
	}
	size_t idx;
	int key = next_key(sax, &idx);
	int parent = top(sax)->state;
	int state = BS_JSON_SKIP;
	if (parent != BS_JSON_SKIP)
		state = sax->ops->open(sax, parent, key, idx, is_array);
	sax->depth++;
	struct bs_json_frame *f = top(sax);
	f->state = (uint16_t)state;
	f->is_array = is_array;
	f->idx = 0;
	sax->pending_key = BS_JSON_KEY_OTHER;
	return sax->status == BS_PARSE_OK;
}

static int
close_container(struct bs_json_sax *sax)
{
	if (sax->status != BS_PARSE_OK)
		return 0;
	struct bs_json_frame *f = top(sax);
	if (f->state != BS_JSON_SKIP)
		sax->ops->close(sax, f->state, f->is_array);
	sax->depth--;
	return sax->status == BS_PARSE_OK;
}

static int
cb_start_map(void *c)
{
	return open_container(c, false);
}

static int
cb_map_key(void *c, const unsigned char *s, size_t len)
{
	struct bs_json_sax *sax = c;
	if (sax->status != BS_PARSE_OK)
		return 0;
	if (top(sax)->state != BS_JSON_SKIP)
		sax->pending_key = bs_json_sax_intern(sax, (const char *)s, len);
	return 1;
}

static int
cb_end_map(void *c)
{
	return close_container(c);
}

static int
cb_start_array(void *c)
{
	return open_container(c, true);
}

static int
cb_end_array(void *c)
{
	return close_container(c);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

/* yajl's non-verbose message ("parse error: trailing garbage\n") without
 * its prefix, reduced to printable ASCII as a belt-and-braces measure. */
static void
yajl_reason(yajl_handle h, char *out, size_t outlen)
{
	unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
	size_t n = 0;
	out[0] = '\0';
	if (!msg)
		return;
	const char *s = (const char *)msg;
	const char *colon = strstr(s, ": ");
	if (colon)
		s = colon + 2;
	for (; *s && n + 1 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			break;
		out[n++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
	}
	while (n > 0 && (out[n - 1] == '.' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	yajl_free_error(h, msg);
}

enum bs_parse_status
bs_json_sax_run(struct bs_json_sax *sax, const char *body, size_t len,
    char *err, size_t errlen)
{
	char why[80];
	enum bs_parse_status st = BS_PARSE_OK;
	yajl_handle h = yajl_alloc(&callbacks, NULL, sax);

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return BS_PARSE_LIMIT;
	}
	yajl_status ys = yajl_parse(h, (const unsigned char *)body, len);
	if (ys == yajl_status_ok) {
		ys = yajl_complete_parse(h);
		if (ys == yajl_status_error) {
			yajl_reason(h, why, sizeof(why));
			snprintf(err, errlen, "invalid JSON at byte %zu: %s", len,
			    why[0] ? why : "premature end");
			st = BS_PARSE_BAD_JSON;
		}
	} else if (ys == yajl_status_error) {
		yajl_reason(h, why, sizeof(why));
		snprintf(err, errlen, "invalid JSON at byte %zu: %s",
		    yajl_get_bytes_consumed(h), why[0] ? why : "syntax error");
		st = BS_PARSE_BAD_JSON;
	}
	if (sax->status != BS_PARSE_OK) {
		/* An extractor or limit failure cancelled the parse. */
		st = sax->status;
		snprintf(err, errlen, "%s at byte %zu", sax->reason,
		    yajl_get_bytes_consumed(h));
	}
	yajl_free(h);
	return st;
}

bool
bs_json_int64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	const char *p = s + neg;
	uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

void *
bs_json_sax_push(struct bs_json_sax *sax, struct bs_arena *a, void **arr,
    size_t *n, size_t *cap, size_t size, size_t max, const char *what)
{
	if (*n >= max) {
		bs_json_sax_fail(sax, BS_PARSE_LIMIT, "more than %zu %s", max, what);
		return NULL;
	}
	return bs_arena_push(a, arr, n, cap, size);
}

void
bs_json_sax_add_parent(struct bs_json_sax *sax, struct bs_event *ev,
    struct bs_commit *m, size_t *cap, char *hash, size_t max)
{
	if (!hash)
		return;
	char **p = bs_json_sax_push(sax, &ev->arena, (void **)&m->parents,
	    &m->n_parents, cap, sizeof(char *), max, "parents in one commit");
	if (p)
		*p = hash;
}

enum bs_parse_status
bs_json_sax_parse(const struct bs_json_sax_ops *ops, void *ctx,
    const char *const *keys, size_t n_keys, int top_state,
    const struct bs_parse_limits *lim, const char *body, size_t len,
    char *err, size_t errlen)
{
	struct bs_json_sax sax;
	bs_json_sax_init(&sax, ops, ctx, keys, n_keys, top_state,
	    lim->max_depth, lim->max_string);
	enum bs_parse_status st = bs_json_sax_run(&sax, body, len, err, errlen);
	bs_json_sax_release(&sax);
	return st;
}

bool
bs_json_pr_id(int seen, bool id_wrong, const char *id_text,
    const char *name, int64_t *id, char *err, size_t errlen)
{
	if (seen == BS_JSON_SEEN_NONE)
		snprintf(err, errlen, "missing %s object", name);
	else if (seen == BS_JSON_SEEN_WRONG)
		snprintf(err, errlen, "%s is not an object", name);
	else if (!id_wrong && !id_text)
		snprintf(err, errlen, "missing %s.id", name);
	else if (id_wrong || !bs_json_int64(id_text, id))
		snprintf(err, errlen, "%s.id is not an integer", name);
	else
		return true;
	return false;
}
