/* intake: judge one delivery (see intake.h).
 *
 * Order matters and is cheapest-first for refusals: content type, event
 * key, signature over the raw bytes (before anything looks inside them),
 * then the strict UTF-8 + JSON parse, issue-key scan and encoding. Every
 * refusal gets a status, a machine code and a one-line reason that never
 * quotes payload bytes. */
#include "ingest/intake.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/hex.h"
#include "parsers/signature.h"
#include "queue/job_codec.h"
#include "config/config.h"

static void refuse(struct bs_intake_result *out, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct bs_intake_result *out, int status, const char *code,
    const char *fmt, ...)
{
	out->verdict = BS_INTAKE_REFUSED;
	out->status = status;
	out->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static int
is_json_content_type(const char *ct)
{
	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Delivery ids become part of Redis key names and JSON answers: keep them
 * to a safe alphabet and length. */
static int
delivery_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 100)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '{' ||
		    c == '}' || c == ':'))
			return 0;
	}
	return 1;
}

/* X-Attempt-Number as a number: 1 when absent (Data Center never sends
 * it) or not a plain decimal. */
static long
attempt_of(const char *s)
{
	if (!s)
		return 1;
	while (*s == ' ')
		s++;
	char *end;
	long n = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (end == s || *end || n < 1 || s[0] == '-' || s[0] == '+')
		return 1;
	return n;
}

/* SHA-256, fetched once (EVP_sha256() looks the implementation up on
 * every init), and a digest context kept for reuse; per thread. */
static _Thread_local EVP_MD *sha256_md;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static EVP_MD_CTX *
sha256_begin(void)
{
	if (!sha256_md && !(sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		return NULL;
	if (!sha256_ctx && !(sha256_ctx = EVP_MD_CTX_new()))
		return NULL;
	if (!EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL))
		return NULL;
	return sha256_ctx;
}

static void
sha256_hex(const void *data, size_t len, char *out /* >= 65 */)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = sha256_begin();
	if (!c || !EVP_DigestUpdate(c, data, len) ||
	    !EVP_DigestFinal_ex(c, md, &mdlen))
		mdlen = 0;
	bs_hex_encode(out, md, mdlen);
}

/* One line of the content identity; NULL counts as "-". */
static void
digest_line(EVP_MD_CTX *md, const char *s)
{
	if (!s)
		s = "-";
	EVP_DigestUpdate(md, s, strlen(s));
	EVP_DigestUpdate(md, "\n", 1);
}

/* Content identity of an event: two deliveries with the same one report the
 * same change (two webhooks on one repository), or a change that happened
 * again (A->B, B->A, A->B); the hook id tells them apart on Cloud (see
 * intake.h). Data Center sends no hook id, but dates its events: the date
 * is part of its identity, so a repeat push is a new event there too. */
static void
content_key(const struct bs_event *ev, char *out, size_t outlen)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char line[160];
	EVP_MD_CTX *md = sha256_begin();
	if (!md) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	digest_line(md, ev->event_key);
	digest_line(md, ev->repository);
	if (ev->product == BS_PRODUCT_DC)
		digest_line(md, ev->date);
	if (ev->type == BS_EVENT_PUSH) {
		for (size_t i = 0; i < ev->n_changes; i++) {
			const struct bs_change *c = &ev->changes[i];
			digest_line(md, bs_ref_type_name(c->ref_type));
			digest_line(md, c->ref_name);
			digest_line(md, c->old_hash);
			digest_line(md, c->new_hash);
		}
	} else if (ev->pr) {
		snprintf(line, sizeof(line), "%lld", (long long)ev->pr->id);
		digest_line(md, line);
		digest_line(md, ev->pr->state);
		digest_line(md, ev->pr->source.hash);
		digest_line(md, ev->pr->destination.hash);
		digest_line(md, ev->pr->merge_hash);
		digest_line(md, ev->pr->updated);
	}
	if (!EVP_DigestFinal_ex(md, digest, &dlen))
		dlen = 0;
	/* The first 20 bytes (40 digits) name the content. */
	size_t n = outlen ? (outlen - 1) / 2 : 0;
	if (n > 20)
		n = 20;
	if (n > dlen)
		n = dlen;
	if (outlen)
		bs_hex_encode(out, digest, n);
}

static const char *
parse_code(enum bs_parse_status st)
{
	switch (st) {
	case BS_PARSE_BAD_UTF8: return "bad_utf8";
	case BS_PARSE_BAD_JSON: return "bad_json";
	case BS_PARSE_LIMIT: return "over_limit";
	case BS_PARSE_SCHEMA: return "bad_payload";
	default: return "bad_payload";
	}
}

void
bs_intake_process(const struct bs_intake *in, const struct bs_delivery *d,
    long long now_ms, struct bs_intake_result *out)
{
	const struct bs_config *cfg = in->cfg;
	memset(out, 0, sizeof(*out));
	bs_job_init(&out->job);
	enum bs_product product = bs_detect_product(d->event_key,
	    d->request_uuid, d->request_id, d->user_agent, d->body, d->len);
	out->product = product;

	if (!is_json_content_type(d->content_type)) {
		refuse(out, 415, "unsupported_media_type",
		    "content type must be application/json");
		return;
	}
	if (!d->event_key || !*d->event_key) {
		refuse(out, 400, "missing_event_key", "missing X-Event-Key header");
		return;
	}
	if (strlen(d->event_key) > 64) {
		refuse(out, 400, "bad_event_key", "X-Event-Key is too long");
		return;
	}
	enum bs_event_type type = bs_event_type_of(product, d->event_key);

	/* The Data Center "Test connection" button: answer, queue nothing. */
	if (type == BS_EVENT_PING) {
		out->verdict = BS_INTAKE_PING;
		out->status = 200;
		out->code = "ok";
		snprintf(out->reason, sizeof(out->reason), "ping");
		return;
	}

	if (!d->skip_signature) {
		const char *secret = cfg->bitbucket.secret;
		if (secret && *secret) {
			enum bs_sig_result sr = bs_signature_check(d->signature, secret,
			    strlen(secret), d->body, d->len);
			const char *prev = cfg->bitbucket.secret_previous;
			out->secret_used = BS_SECRET_CURRENT;
			if (sr == BS_SIG_MISMATCH && prev && *prev) {
				/* A rotation: the old secret may still sign. */
				sr = bs_signature_check(d->signature, prev, strlen(prev),
				    d->body, d->len);
				out->secret_used = BS_SECRET_PREVIOUS;
			}
			if (sr != BS_SIG_OK)
				out->secret_used = BS_SECRET_NONE;
			if (sr == BS_SIG_ALGORITHM) {
				refuse(out, 401, "unsupported_signature",
				    "only sha256= HMAC signatures are accepted");
				return;
			}
			if (sr != BS_SIG_OK) {
				refuse(out, 401, "bad_signature",
				    "X-Hub-Signature check failed: %s", bs_sig_result_name(sr));
				return;
			}
		} else if (!cfg->bitbucket.allow_unsigned) {
			refuse(out, 401, "bad_signature",
			    "no webhook secret configured and allow_unsigned is off");
			return;
		}
	}

	const char *id = d->request_uuid ? d->request_uuid : d->request_id;
	if (id) {
		if (!delivery_id_ok(id)) {
			refuse(out, 400, "bad_delivery_id",
			    "delivery id header has characters outside [A-Za-z0-9._:{}-] "
			    "or is longer than 100 bytes");
			return;
		}
		snprintf(out->delivery, sizeof(out->delivery), "%s", id);
	} else {
		/* No id header (a hand-made request): the body names the delivery. */
		char hex[65];
		sha256_hex(d->body, d->len, hex);
		snprintf(out->delivery, sizeof(out->delivery), "body-%.40s", hex);
	}

	char err[256];
	enum bs_parse_status st = bs_parse_event(product, d->event_key, d->body,
	    d->len, &cfg->limits, &out->job.ev, err, sizeof(err));
	if (st != BS_PARSE_OK) {
		refuse(out, 400, parse_code(st), "%s", err);
		return;
	}
	struct bs_event *ev = &out->job.ev;
	if (ev->type == BS_EVENT_OTHER) {
		out->verdict = BS_INTAKE_IGNORED;
		out->status = 202;
		out->code = "ignored";
		snprintf(out->reason, sizeof(out->reason),
		    "event '%.64s' is not used by bitsleuth", d->event_key);
		return;
	}
	if (ev->type == BS_EVENT_PUSH && ev->n_changes == 0) {
		out->verdict = BS_INTAKE_IGNORED;
		out->status = 202;
		out->code = "ignored";
		if (ev->ref_limit_exceeded) {
			/* Pushes happened that Bitbucket did not list: nothing can
			 * be registered for them, and the operator should know. */
			out->ref_limit = true;
			snprintf(out->reason, sizeof(out->reason), "mirror sync over "
			    "Bitbucket's ref limit (refLimitExceeded): no changes "
			    "listed, nothing registered");
		} else {
			snprintf(out->reason, sizeof(out->reason),
			    "push without changes");
		}
		return;
	}

	if (d->hook_uuid && delivery_id_ok(d->hook_uuid))
		snprintf(out->hook, sizeof(out->hook), "%s", d->hook_uuid);
	out->resend = attempt_of(d->attempt) > 1;
	out->job.delivery = bs_arena_strdup(&ev->arena, out->delivery);
	out->job.received_ms = now_ms;
	bs_scanner_scan_job(in->scanner, &out->job);
	content_key(ev, out->content_key, sizeof(out->content_key));
	out->blob = bs_job_encode(&out->job, &out->blob_len);
	out->verdict = BS_INTAKE_QUEUE;
	out->status = 202;
	out->code = "queued";
}

void
bs_intake_result_release(struct bs_intake_result *r)
{
	bs_job_release(&r->job);
	free(r->blob);
	r->blob = NULL;
}
