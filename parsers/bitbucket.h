/* bitbucket: Bitbucket Cloud and Data Center webhook payloads -> bs_event.
 *
 * Pure code, no I/O. The body is checked by bs_utf8_check_json() (strict
 * UTF-8, no raw control characters, no \u0000, no lone surrogate escapes),
 * then streamed through yajl's SAX parser with our own depth cap; only the
 * fields bitsleuth uses are copied into the event's arena, so memory stays
 * proportional to what is kept, never to the body's shape. */
#ifndef BS_BITBUCKET_H
#define BS_BITBUCKET_H

#include <stddef.h>

#include "common/event.h"

struct bs_parse_limits {
	size_t max_depth;    /* JSON nesting (default 64; Bitbucket uses ~10) */
	size_t max_changes;  /* changes per push (default 1000) */
	size_t max_commits;  /* commits per change (default 1000) */
	size_t max_string;   /* bytes of one kept string, e.g. a message (default 65536) */
};

/* Defaults as documented in the config reference. */
void bs_parse_limits_default(struct bs_parse_limits *lim);

enum bs_parse_status {
	BS_PARSE_OK = 0,       /* *out holds the event (type may be BS_EVENT_OTHER) */
	BS_PARSE_BAD_UTF8,     /* 400: invalid UTF-8 or forbidden character/escape */
	BS_PARSE_BAD_JSON,     /* 400: not well-formed JSON, or trailing bytes */
	BS_PARSE_LIMIT,        /* 400: a limit of bs_parse_limits was exceeded */
	BS_PARSE_SCHEMA,       /* 400: well-formed but not a payload of that event */
};

/* Which product sent a delivery. In order: X-Request-Id without
 * X-Request-UUID, or a key only DC sends (repo:refs_changed, pr:*,
 * mirror:*, diagnostics:ping): DC; a key only Cloud sends (repo:push,
 * pullrequest:*): Cloud; else a top-level "eventKey" in the body: DC; else
 * X-Request-UUID: Cloud; else unknown. The body is only walked when the
 * headers cannot tell. Header values may be NULL. */
enum bs_product bs_detect_product(const char *event_key,
    const char *request_uuid /* X-Request-UUID */,
    const char *request_id /* X-Request-Id */,
    const char *user_agent, const char *body, size_t len);

/* Classifies an X-Event-Key: BS_EVENT_PUSH/PR/PING for what we parse,
 * BS_EVENT_OTHER for anything else (including unknown keys). */
enum bs_event_type bs_event_type_of(enum bs_product product,
    const char *event_key);

/* The pull-request action of an X-Event-Key (BS_PR_OTHER when the key is
 * not a PR event of that product). */
enum bs_pr_action bs_pr_action_of(enum bs_product product,
    const char *event_key);

/* Parses body[0..len) (no NUL needed) sent with `event_key` by `product`
 * into *out, which must be bs_event_init()ed and is filled even for
 * BS_EVENT_OTHER keys (repository and actor only). On error returns the
 * status, writes a one-line reason (no raw payload bytes) into err, and
 * leaves *out reset (bs_event_release()d and re-initialised). */
enum bs_parse_status bs_parse_event(enum bs_product product,
    const char *event_key, const char *body, size_t len,
    const struct bs_parse_limits *lim, struct bs_event *out,
    char *err, size_t errlen);

#endif
