/* bitbucket: the entry points of the payload parsers (see bitbucket.h).
 *
 * bs_parse_event() validates its inputs in a fixed order: event key (UTF-8,
 * no control characters), body not empty, bs_utf8_check_json() over the
 * whole body, then one streaming yajl pass through the product's extractor
 * (cloud.c or dc.c, both tables over json_sax.c), which also enforces the
 * depth, change, commit and string limits. On any error the event is
 * released and re-initialised, so callers never see half an event.
 *
 * The event-key tables below are the single place that knows which keys
 * we parse: anything not listed is BS_EVENT_OTHER (repository and actor
 * only). bs_detect_product() looks at headers first and at the body only
 * when they are ambiguous, with a depth-capped yajl pass that stops at the
 * first top-level "eventKey". */
#include "parsers/bitbucket.h"

#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "parsers/cloud.h"
#include "parsers/dc.h"
#include "parsers/utf8.h"

#define MAX_EVENT_KEY 256

void
bs_parse_limits_default(struct bs_parse_limits *lim)
{
	lim->max_depth = 64;
	lim->max_changes = 1000;
	lim->max_commits = 1000;
	lim->max_string = 65536;
}

struct key_kind {
	const char *key;
	enum bs_event_type type;
	enum bs_pr_action action;
};

static const struct key_kind cloud_keys[] = {
	{ "repo:push", BS_EVENT_PUSH, BS_PR_OTHER },
	{ "pullrequest:created", BS_EVENT_PR, BS_PR_OPENED },
	{ "pullrequest:updated", BS_EVENT_PR, BS_PR_UPDATED },
	{ "pullrequest:approved", BS_EVENT_PR, BS_PR_APPROVED },
	{ "pullrequest:unapproved", BS_EVENT_PR, BS_PR_UNAPPROVED },
	{ "pullrequest:changes_request_created", BS_EVENT_PR,
	    BS_PR_CHANGES_REQUESTED },
	{ "pullrequest:changes_request_removed", BS_EVENT_PR,
	    BS_PR_CHANGES_REQUEST_REMOVED },
	{ "pullrequest:fulfilled", BS_EVENT_PR, BS_PR_MERGED },
	{ "pullrequest:rejected", BS_EVENT_PR, BS_PR_DECLINED },
	{ "pullrequest:comment_created", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pullrequest:comment_updated", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pullrequest:comment_deleted", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pullrequest:comment_resolved", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pullrequest:comment_reopened", BS_EVENT_PR, BS_PR_COMMENT },
};

static const struct key_kind dc_keys[] = {
	{ "repo:refs_changed", BS_EVENT_PUSH, BS_PR_OTHER },
	{ "mirror:repo_synchronized", BS_EVENT_PUSH, BS_PR_OTHER },
	{ "diagnostics:ping", BS_EVENT_PING, BS_PR_OTHER },
	{ "pr:opened", BS_EVENT_PR, BS_PR_OPENED },
	{ "pr:from_ref_updated", BS_EVENT_PR, BS_PR_UPDATED },
	{ "pr:modified", BS_EVENT_PR, BS_PR_UPDATED },
	{ "pr:merged", BS_EVENT_PR, BS_PR_MERGED },
	{ "pr:declined", BS_EVENT_PR, BS_PR_DECLINED },
	{ "pr:deleted", BS_EVENT_PR, BS_PR_DELETED },
	{ "pr:reviewer:updated", BS_EVENT_PR, BS_PR_REVIEWER },
	{ "pr:reviewer:approved", BS_EVENT_PR, BS_PR_APPROVED },
	{ "pr:reviewer:unapproved", BS_EVENT_PR, BS_PR_UNAPPROVED },
	{ "pr:reviewer:needs_work", BS_EVENT_PR, BS_PR_CHANGES_REQUESTED },
	{ "pr:reviewer:changes_requested", BS_EVENT_PR,
	    BS_PR_CHANGES_REQUESTED },
	{ "pr:comment:added", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pr:comment:edited", BS_EVENT_PR, BS_PR_COMMENT },
	{ "pr:comment:deleted", BS_EVENT_PR, BS_PR_COMMENT },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct key_kind *
lookup(enum bs_product product, const char *key)
{
	const struct key_kind *t = NULL;
	size_t n = 0;

	if (!key)
		return NULL;
	if (product == BS_PRODUCT_CLOUD) {
		t = cloud_keys;
		n = NELEM(cloud_keys);
	} else if (product == BS_PRODUCT_DC) {
		t = dc_keys;
		n = NELEM(dc_keys);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return &t[i];
	return NULL;
}

enum bs_event_type
bs_event_type_of(enum bs_product product, const char *event_key)
{
	const struct key_kind *k = lookup(product, event_key);
	return k ? k->type : BS_EVENT_OTHER;
}

enum bs_pr_action
bs_pr_action_of(enum bs_product product, const char *event_key)
{
	const struct key_kind *k = lookup(product, event_key);
	return k ? k->action : BS_PR_OTHER;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --- top-level "eventKey" probe --- */

struct probe {
	size_t depth;
	bool found;
};

static int
pr_open(void *c)
{
	struct probe *p = c;
	return ++p->depth <= 64;
}

static int
pr_close(void *c)
{
	struct probe *p = c;
	p->depth--;
	return 1;
}

static int
pr_key(void *c, const unsigned char *s, size_t len)
{
	struct probe *p = c;
	if (p->depth == 1 && len == 8 && memcmp(s, "eventKey", 8) == 0) {
		p->found = true;
		return 0;   /* stop: nothing else is needed */
	}
	return 1;
}

static const yajl_callbacks probe_callbacks = {
	.yajl_start_map = pr_open,
	.yajl_map_key = pr_key,
	.yajl_end_map = pr_close,
	.yajl_start_array = pr_open,
	.yajl_end_array = pr_close,
};

static bool
body_has_event_key(const char *body, size_t len)
{
	struct probe p = { 0, false };
	if (!body || len == 0)
		return false;
	yajl_handle h = yajl_alloc(&probe_callbacks, NULL, &p);
	if (!h)
		return false;
	yajl_parse(h, (const unsigned char *)body, len);
	yajl_free(h);
	return p.found;
}

enum bs_product
bs_detect_product(const char *event_key, const char *request_uuid,
    const char *request_id, const char *user_agent, const char *body,
    size_t len)
{
	(void)user_agent;   /* both send their own; not needed so far */
	if (request_id && !request_uuid)
		return BS_PRODUCT_DC;
	if (event_key && (strcmp(event_key, "repo:refs_changed") == 0 ||
	    has_prefix(event_key, "pr:") || has_prefix(event_key, "mirror:") ||
	    strcmp(event_key, "diagnostics:ping") == 0))
		return BS_PRODUCT_DC;
	/* Keys only Cloud sends decide before the body probe, which would
	 * otherwise walk every Cloud push to its end looking for "eventKey". */
	if (event_key && (strcmp(event_key, "repo:push") == 0 ||
	    has_prefix(event_key, "pullrequest:")))
		return BS_PRODUCT_CLOUD;
	if (body_has_event_key(body, len))
		return BS_PRODUCT_DC;
	if (request_uuid)
		return BS_PRODUCT_CLOUD;
	return BS_PRODUCT_UNKNOWN;
}

static bool
valid_key(const char *key)
{
	size_t n = strlen(key);
	if (n > MAX_EVENT_KEY || bs_utf8_valid(key, n) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20)
			return false;
	return true;
}

enum bs_parse_status
bs_parse_event(enum bs_product product, const char *event_key,
    const char *body, size_t len, const struct bs_parse_limits *lim,
    struct bs_event *out, char *err, size_t errlen)
{
	struct bs_parse_limits def;
	char why[200];
	enum bs_parse_status st = BS_PARSE_OK;

	why[0] = '\0';
	if (!lim) {
		bs_parse_limits_default(&def);
		lim = &def;
	}
	bs_event_release(out);
	bs_event_init(out);

	if (event_key && !valid_key(event_key)) {
		st = BS_PARSE_BAD_UTF8;
		snprintf(why, sizeof(why), "invalid event key");
		goto fail;
	}
	if (!body || len == 0) {
		st = BS_PARSE_BAD_JSON;
		snprintf(why, sizeof(why), "empty body");
		goto fail;
	}
	if (bs_utf8_check_json(body, len, why, sizeof(why)) != 0) {
		st = BS_PARSE_BAD_UTF8;
		goto fail;
	}
	if (product != BS_PRODUCT_CLOUD && product != BS_PRODUCT_DC)
		product = bs_detect_product(event_key, NULL, NULL, NULL, body,
		    len);
	out->product = product;
	out->type = bs_event_type_of(product, event_key);
	if (event_key)
		out->event_key = bs_arena_strdup(&out->arena, event_key);
	if (out->type == BS_EVENT_PR) {
		out->pr = bs_arena_alloc(&out->arena, sizeof(*out->pr));
		out->pr->action = bs_pr_action_of(product, event_key);
	}
	if (product == BS_PRODUCT_DC)
		st = bs_dc_parse(body, len, lim, out, why, sizeof(why));
	else   /* Cloud, or unknown: checks the JSON, keeps Cloud-style fields */
		st = bs_cloud_parse(body, len, lim, out, why, sizeof(why));
	if (st == BS_PARSE_OK)
		return BS_PARSE_OK;
fail:
	bs_event_release(out);
	bs_event_init(out);
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return st;
}
