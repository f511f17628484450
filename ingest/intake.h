/* intake: one Bitbucket delivery in, one queue-ready job (or a refusal) out.
 *
 * The HTTP server and `bitsleuth replay` both go through here, so a replayed
 * payload is judged exactly as a live one: content type, signature, event
 * key, strict UTF-8 + JSON parse, issue keys, job encoding and the dedupe
 * keys. No I/O: the caller does the enqueue and the reply.
 *
 * What the dedupe of the enqueue (queue/scripts.c) gets from here, and
 * why (README "Duplicates", docs/bitbucket-facts.md 1.2, 1.3, 2.3, 3.5):
 *   delivery  X-Request-UUID (Cloud) / X-Request-Id (DC). The same id again
 *             is a duplicate for queue.seen_ttl: Bitbucket's automatic
 *             retries of a request we answered late or with a 503 after
 *             Redis took it. Exception, `resend`: Cloud counts a manual
 *             "Resend request" as another attempt of the same request
 *             (X-Attempt-Number > 1, the id most likely unchanged) and its
 *             automatic retries come within minutes; so an id seen before
 *             with X-Attempt-Number > 1 more than
 *             queue.content_dedupe_window after the copy we queued is a
 *             manual Resend and is queued again. Within the window the two
 *             cannot be told apart and it stays a duplicate (`bitsleuth
 *             replay --delivery` queues it again).
 *   content_key  what happened: event, repository, refs and hashes (PR:
 *             id, state, hashes, updated). On Data Center also the event's
 *             own `date`: DC sends no hook id, so the same event sent by
 *             two webhooks (same date) is told from a repeat push A->B->A
 *             (new date) by it. Never the hook: the same event from two
 *             webhooks has one key.
 *   hook      X-Hook-UUID (Cloud's webhook id), "" when absent (DC, a
 *             hand-made request, a replay). The same content key within
 *             queue.content_dedupe_window is a duplicate unless both
 *             deliveries name the same non-empty hook: then it is a new
 *             event (a repeat push, or a Resend under a new request id). */
#ifndef BS_INTAKE_H
#define BS_INTAKE_H

#include <stddef.h>

#include "common/job.h"
#include "parsers/bitbucket.h"
#include "parsers/issue_scan.h"

struct bs_config;

/* What arrived: header values (NULL when absent) and the raw body. */
struct bs_delivery {
	const char *event_key;      /* X-Event-Key */
	const char *request_uuid;   /* X-Request-UUID (Cloud) */
	const char *request_id;     /* X-Request-Id (Data Center) */
	const char *hook_uuid;      /* X-Hook-UUID (Cloud: the webhook's id) */
	const char *attempt;        /* X-Attempt-Number (Cloud; "1" the first time) */
	const char *signature;      /* X-Hub-Signature */
	const char *content_type;
	const char *user_agent;
	const char *body;
	size_t len;
	int skip_signature;         /* replay of a kept/saved payload by an operator */
};

/* Which webhook secret verified a delivery: NONE when there was no check
 * (unsigned allowed, a replay) or it failed; PREVIOUS during a rotation
 * (bitbucket.secret_previous_env), when only the old secret matched. */
enum bs_secret_used {
	BS_SECRET_NONE = 0,
	BS_SECRET_CURRENT,
	BS_SECRET_PREVIOUS,
};

enum bs_intake_verdict {
	BS_INTAKE_QUEUE = 0,        /* job built: enqueue it, then 202 */
	BS_INTAKE_IGNORED,          /* 202 {"status":"ignored"}: an event we do not use */
	BS_INTAKE_PING,             /* 200 {"status":"ok"}: diagnostics:ping */
	BS_INTAKE_REFUSED,          /* 4xx with code and reason */
};

struct bs_intake_result {
	enum bs_intake_verdict verdict;
	int status;                 /* HTTP status for IGNORED/PING/REFUSED */
	const char *code;           /* short machine code: "bad_signature", "bad_json", ... */
	char reason[256];           /* one line for people, no payload bytes */
	struct bs_job job;          /* QUEUE: the job (release with bs_intake_result_release) */
	char *blob;                 /* QUEUE: encoded job (malloc'd) */
	size_t blob_len;
	char delivery[128];         /* delivery id used for dedupe */
	char content_key[80];       /* content dedupe key, "" when none */
	char hook[128];             /* X-Hook-UUID, "" when absent or not a
	                             * safe id (then judged as absent) */
	bool resend;                /* X-Attempt-Number > 1: a repeat of a
	                             * request Bitbucket sent before */
	bool ref_limit;             /* IGNORED: a DC mirror sync over the ref
	                             * limit (its pushes cannot be registered) */
	enum bs_secret_used secret_used; /* which secret verified the signature */
	enum bs_product product;    /* as bs_detect_product told it, for every
	                             * verdict (the metrics' label) */
};

struct bs_intake {
	const struct bs_config *cfg;
	const struct bs_scanner *scanner;
};

/* Judges d. Always fills *out (release it with bs_intake_result_release). */
void bs_intake_process(const struct bs_intake *in, const struct bs_delivery *d,
    long long now_ms, struct bs_intake_result *out);
void bs_intake_result_release(struct bs_intake_result *r);

#endif
