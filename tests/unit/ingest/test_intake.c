/* Unit tests of ingest/intake.c: the judgement of one delivery, without
 * HTTP or Redis, and what it hands the dedupe (intake.h): the content key
 * (the hashes, on Data Center the event date, never the hook), the hook id
 * and the resend flag (X-Attempt-Number > 1). */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "parsers/signature.h"
#include "tests/unit/test.h"
#include "config/config.h"
#include "ingest/intake.h"

static const char yaml[] =
    "bitbucket:\n  secret_env: BS_UNIT_SECRET\n"
    "sleuth:\n  dry_run: true\n"
    "deployments:\n"
    "  - {org: acme, deployment: web, repository: brydzewski/foo, branch: master, environment: production}\n";

static struct bs_config cfg;
static struct bs_scanner *scanner;

static void
judge(const char *key, const char *body, size_t len, const char *sig,
    const char *ct, const char *uuid, struct bs_intake_result *r)
{
	struct bs_intake in = { .cfg = &cfg, .scanner = scanner };
	struct bs_delivery d = {
		.event_key = key, .request_uuid = uuid, .signature = sig,
		.content_type = ct, .body = body, .len = len,
	};
	bs_intake_process(&in, &d, 1700000000000LL, r);
}

/* A signed delivery with every dedupe header (NULL: absent). */
static void
judge_h(const char *key, const char *body, const char *uuid, const char *rid,
    const char *hook, const char *attempt, struct bs_intake_result *r)
{
	char s[80];
	size_t n = strlen(body);
	bs_signature_sign("s3cret", 6, body, n, s, sizeof(s));
	struct bs_intake in = { .cfg = &cfg, .scanner = scanner };
	struct bs_delivery d = {
		.event_key = key, .request_uuid = uuid, .request_id = rid,
		.hook_uuid = hook, .attempt = attempt, .signature = s,
		.content_type = "application/json", .body = body, .len = n,
	};
	bs_intake_process(&in, &d, 1700000000000LL, r);
}

/* body with every `from` replaced by `to` (malloc'd). */
static char *
subst(const char *body, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = body; (p = strstr(p, from)); p += fl)
		n++;
	char *out = malloc(strlen(body) + n * tl + 1), *o = out;
	for (const char *p = body, *q; ; p = q + fl) {
		q = strstr(p, from);
		size_t k = q ? (size_t)(q - p) : strlen(p);
		memcpy(o, p, k);
		o += k;
		if (!q)
			break;
		memcpy(o, to, tl);
		o += tl;
	}
	*o = '\0';
	return out;
}

/* The content key of a judged delivery, copied (r released). */
static void
key_of(struct bs_intake_result *r, char out[80])
{
	CHECK_INT(r->verdict, BS_INTAKE_QUEUE);
	snprintf(out, 80, "%s", r->content_key);
	bs_intake_result_release(r);
}

int
main(void)
{
	setenv("BS_UNIT_SECRET", "s3cret", 1);
	struct bs_diags d;
	bs_diags_init(&d);
	if (bs_config_parse("unit.yaml", yaml, strlen(yaml), &cfg, &d) != 0) {
		bs_diags_print(&d, "unit.yaml", stderr);
		return 1;
	}
	bs_diags_release(&d);
	struct bs_scan_options so = {0};
	char err[256];
	scanner = bs_scanner_new(&so, err, sizeof(err));

	char path[512];
	size_t len = 0;
	char *body = bs_test_read_file(bs_test_fixture(path, sizeof(path),
	    "drone-go-scm/cloud_repo-push_branch.json"), &len);
	if (!body) {
		fprintf(stderr, "cannot read the fixture (BS_FIXTURES?)\n");
		return 1;
	}
	char sig[80];
	bs_signature_sign("s3cret", 6, body, len, sig, sizeof(sig));
	struct bs_intake_result r;

	TEST("a signed push is queued with a job, delivery id and content key") {
		judge("repo:push", body, len, sig, "application/json; charset=utf-8",
		    "{abc-1}", &r);
		CHECK_INT(r.verdict, BS_INTAKE_QUEUE);
		CHECK_INT(r.status, 202);
		CHECK_STR(r.delivery, "{abc-1}");
		CHECK(r.blob && r.blob_len > 100);
		CHECK_INT(strlen(r.content_key), 40);
		CHECK_INT(r.job.received_ms, 1700000000000LL);
		CHECK_STR(r.job.ev.repository, "brydzewski/foo");
		char first[80];
		snprintf(first, sizeof(first), "%s", r.content_key);
		bs_intake_result_release(&r);
		/* Same content, other delivery: same content key. */
		judge("repo:push", body, len, sig, "application/json", "{abc-2}", &r);
		CHECK_STR(r.content_key, first);
		bs_intake_result_release(&r);
	}
	TEST("refusals: content type, signature, event key, delivery id") {
		judge("repo:push", body, len, sig, "text/plain", "{a}", &r);
		CHECK_INT(r.status, 415);
		bs_intake_result_release(&r);
		judge("repo:push", body, len, NULL, "application/json", "{a}", &r);
		CHECK_INT(r.status, 401);
		CHECK_STR(r.code, "bad_signature");
		CHECK(strstr(r.reason, "missing") != NULL);
		bs_intake_result_release(&r);
		/* A correct HMAC-SHA1 of the body is still refused, with its
		 * own code: only sha256 is taken. */
		char sha1[80] = "sha1=";
		unsigned char mac[20];
		unsigned mlen = 0;
		HMAC(EVP_sha1(), "s3cret", 6,
		    (const unsigned char *)body, len, mac, &mlen);
		for (unsigned i = 0; i < mlen; i++)
			snprintf(sha1 + 5 + 2 * i, 3, "%02x", mac[i]);
		judge("repo:push", body, len, sha1, "application/json", "{a}", &r);
		CHECK_INT(r.status, 401);
		CHECK_STR(r.code, "unsupported_signature");
		CHECK(strstr(r.reason, "sha256") != NULL);
		bs_intake_result_release(&r);
		char bad[80];
		snprintf(bad, sizeof(bad), "%s", sig);
		bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
		judge("repo:push", body, len, bad, "application/json", "{a}", &r);
		CHECK_INT(r.status, 401);
		bs_intake_result_release(&r);
		judge(NULL, body, len, sig, "application/json", "{a}", &r);
		CHECK_INT(r.status, 400);
		CHECK_STR(r.code, "missing_event_key");
		bs_intake_result_release(&r);
		judge("repo:push", body, len, sig, "application/json", "a b", &r);
		CHECK_INT(r.status, 400);
		CHECK_STR(r.code, "bad_delivery_id");
		bs_intake_result_release(&r);
	}
	TEST("bad bodies are 400 with a reason that quotes no payload bytes") {
		const char junk[] = "{\"push\": \xff\xfe}";
		char s2[80];
		bs_signature_sign("s3cret", 6, junk, sizeof(junk) - 1, s2, sizeof(s2));
		judge("repo:push", junk, sizeof(junk) - 1, s2, "application/json", "{j}", &r);
		CHECK_INT(r.status, 400);
		CHECK_STR(r.code, "bad_utf8");
		CHECK(strchr(r.reason, '\xff') == NULL);
		bs_intake_result_release(&r);
	}
	TEST("ping is 200 without a signature, other events are ignored") {
		judge("diagnostics:ping", "{\"test\": true}", 14, NULL,
		    "application/json", NULL, &r);
		CHECK_INT(r.verdict, BS_INTAKE_PING);
		CHECK_INT(r.status, 200);
		bs_intake_result_release(&r);
		judge("repo:fork", body, len, sig, "application/json", "{f}", &r);
		CHECK_INT(r.verdict, BS_INTAKE_IGNORED);
		CHECK_INT(r.status, 202);
		CHECK(!r.ref_limit);
		bs_intake_result_release(&r);
		/* A mirror sync over the ref limit is ignored, and says why. */
		const char *m = "{\"eventKey\":\"mirror:repo_synchronized\","
		    "\"repository\":{\"slug\":\"r\",\"project\":{\"key\":\"P\"}},"
		    "\"changes\":[],\"refLimitExceeded\":true}";
		char msig[80];
		bs_signature_sign("s3cret", 6, m, strlen(m), msig, sizeof(msig));
		judge("mirror:repo_synchronized", m, strlen(m), msig,
		    "application/json", "{m}", &r);
		CHECK_INT(r.verdict, BS_INTAKE_IGNORED);
		CHECK_INT(r.status, 202);
		CHECK(r.ref_limit);
		CHECK(strstr(r.reason, "refLimitExceeded") != NULL);
		bs_intake_result_release(&r);
	}
	TEST("no delivery id: derived from the body, stable") {
		judge("repo:push", body, len, sig, "application/json", NULL, &r);
		CHECK(strncmp(r.delivery, "body-", 5) == 0);
		char first[128];
		snprintf(first, sizeof(first), "%s", r.delivery);
		bs_intake_result_release(&r);
		judge("repo:push", body, len, sig, "application/json", NULL, &r);
		CHECK_STR(r.delivery, first);
		bs_intake_result_release(&r);
	}
	TEST("hook id and resend flag from the headers; the key ignores the hook") {
		char *nul = strndup(body, len);
		char k1[80], k2[80];
		judge_h("repo:push", nul, "{r-1}", NULL, "{hook-1}", "1", &r);
		CHECK_STR(r.hook, "{hook-1}");
		CHECK(!r.resend);
		key_of(&r, k1);
		judge_h("repo:push", nul, "{r-2}", NULL, "{hook-2}", "2", &r);
		CHECK_STR(r.hook, "{hook-2}");
		CHECK(r.resend);
		key_of(&r, k2);
		CHECK_STR(k2, k1);          /* two webhooks, one event */
		static const char *const not_resend[] = { NULL, "", "1", "0", "-2",
			"+2", "2x", "x", " 1 " };
		for (size_t i = 0; i < sizeof(not_resend) / sizeof(*not_resend); i++) {
			judge_h("repo:push", nul, "{r-3}", NULL, NULL, not_resend[i], &r);
			CHECK(!r.resend);
			CHECK_STR(r.hook, "");
			bs_intake_result_release(&r);
		}
		judge_h("repo:push", nul, "{r-4}", NULL, NULL, " 3", &r);
		CHECK(r.resend);
		bs_intake_result_release(&r);
		/* Not a safe id: judged as no hook (never refused). */
		judge_h("repo:push", nul, "{r-5}", NULL, "{a b}", "1", &r);
		CHECK_INT(r.verdict, BS_INTAKE_QUEUE);
		CHECK_STR(r.hook, "");
		bs_intake_result_release(&r);
		free(nul);
	}
	TEST("Cloud: the key follows the hashes (A->B, B->A, A->B)") {
		static const char A[] = "40e7580cf11311d84a6e5e97e2cbba6df1675750";
		static const char B[] = "141977fedf5cf35aa290ac87d4b5177ac4cd9de1";
		char *ab = strndup(body, len);
		char *t = subst(ab, A, "@");
		char *u = subst(t, B, A);
		char *ba = subst(u, "@", B);
		char k1[80], k2[80], k3[80];
		judge_h("repo:push", ab, "{p-1}", NULL, "{h}", NULL, &r);
		key_of(&r, k1);
		judge_h("repo:push", ba, "{p-2}", NULL, "{h}", NULL, &r);
		key_of(&r, k2);
		judge_h("repo:push", ab, "{p-3}", NULL, "{h}", NULL, &r);
		key_of(&r, k3);
		CHECK(strcmp(k1, k2) != 0);
		CHECK_STR(k3, k1);      /* the same content: the hook decides */
		free(ab);
		free(t);
		free(u);
		free(ba);
	}
	TEST("Data Center: the event date is part of the key") {
		char *dc = bs_test_read_file(bs_test_fixture(path, sizeof(path),
		    "drone-go-scm/dc_repo-refs_changed_branch-add.json"), &len);
		CHECK(dc != NULL);
		if (dc) {
			char k1[80], k2[80], k3[80], k4[80];
			judge_h("repo:refs_changed", dc, NULL, "rid-1", NULL, NULL, &r);
			CHECK_STR(r.job.ev.date, "2018-07-05T18:24:15.000Z");
			key_of(&r, k1);
			/* The same event from a second webhook: same date, same key. */
			judge_h("repo:refs_changed", dc, NULL, "rid-2", NULL, NULL, &r);
			key_of(&r, k2);
			CHECK_STR(k2, k1);
			/* The same instant as epoch ms (before DC 10): same key. */
			char *ep = subst(dc, "\"2018-07-05T18:24:15+0000\"",
			    "1530815055000");
			judge_h("repo:refs_changed", ep, NULL, "rid-3", NULL, NULL, &r);
			key_of(&r, k3);
			CHECK_STR(k3, k1);
			/* A repeat push a second later: a new event. */
			char *later = subst(dc, "2018-07-05T18:24:15+0000",
			    "2018-07-05T18:24:16+0000");
			judge_h("repo:refs_changed", later, NULL, "rid-4", NULL, NULL, &r);
			key_of(&r, k4);
			CHECK(strcmp(k4, k1) != 0);
			free(ep);
			free(later);
			free(dc);
		}
	}
	TEST("rotation: the previous secret verifies too, and says so") {
		size_t blen = strlen(body);   /* the fixture, NUL-terminated */
		char cur[80], old[80], third[80];
		bs_signature_sign("s3cret", 6, body, blen, cur, sizeof(cur));
		bs_signature_sign("old-s3cret", 10, body, blen, old, sizeof(old));
		bs_signature_sign("other", 5, body, blen, third, sizeof(third));
		/* Without a previous secret the old signature is refused. */
		judge("repo:push", body, blen, old, "application/json", "{r0}", &r);
		CHECK_INT(r.status, 401);
		CHECK_INT(r.secret_used, BS_SECRET_NONE);
		bs_intake_result_release(&r);
		cfg.bitbucket.secret_previous = (char *)"old-s3cret";
		/* Alternating, so the two keyed contexts are both reused. */
		for (int i = 0; i < 3; i++) {
			judge("repo:push", body, blen, cur, "application/json", "{r1}", &r);
			CHECK_INT(r.secret_used, BS_SECRET_CURRENT);
			CHECK_INT(r.verdict, BS_INTAKE_QUEUE);
			bs_intake_result_release(&r);
			judge("repo:push", body, blen, old, "application/json", "{r2}", &r);
			CHECK_INT(r.verdict, BS_INTAKE_QUEUE);
			CHECK_INT(r.secret_used, BS_SECRET_PREVIOUS);
			bs_intake_result_release(&r);
			judge("repo:push", body, blen, third, "application/json", "{r3}",
			    &r);
			CHECK_INT(r.status, 401);
			CHECK_STR(r.code, "bad_signature");
			CHECK_INT(r.secret_used, BS_SECRET_NONE);
			bs_intake_result_release(&r);
		}
		cfg.bitbucket.secret_previous = NULL;
	}
	free(body);
	bs_scanner_free(scanner);
	bs_config_release(&cfg);
	return TEST_REPORT();
}
