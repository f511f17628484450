/* test_signature: the two verified vectors of fixtures/signatures.tsv, and
 * every way a header can be wrong. */
#include "parsers/signature.h"
#include "tests/unit/test.h"

struct vec {
	char file[512];
	char secret[128];
	char sig[160];
};

static size_t
read_vectors(struct vec *v, size_t max)
{
	char path[1024];
	size_t len, n = 0;
	char *tsv = bs_test_read_file(bs_test_fixture(path, sizeof(path),
	    "signatures.tsv"), &len);
	if (!tsv)
		return 0;
	char *save = NULL;
	char *line = strtok_r(tsv, "\n", &save);
	line = strtok_r(NULL, "\n", &save); /* skip the header row */
	for (; line && n < max; line = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			continue;
		*t1 = *t2 = '\0';
		snprintf(v[n].file, sizeof(v[n].file), "%s", line);
		snprintf(v[n].secret, sizeof(v[n].secret), "%s", t1 + 1);
		snprintf(v[n].sig, sizeof(v[n].sig), "%s", t2 + 1);
		char *cr = strchr(v[n].sig, '\r');
		if (cr)
			*cr = '\0';
		n++;
	}
	free(tsv);
	return n;
}

int
main(void)
{
	struct vec v[4];
	size_t nv = read_vectors(v, 4);

	TEST("fixture vectors verify") {
		CHECK_INT(nv, 2);
		for (size_t i = 0; i < nv; i++) {
			char path[4096];
			size_t len = 0;
			char *body = bs_test_read_file(bs_test_fixture(path,
			    sizeof(path), v[i].file), &len);
			CHECK(body != NULL);
			if (!body)
				continue;
			size_t sl = strlen(v[i].secret);
			CHECK_INT(bs_signature_check(v[i].sig, v[i].secret, sl, body,
			    len), BS_SIG_OK);

			/* Signing reproduces the header exactly. */
			char out[80];
			bs_signature_sign(v[i].secret, sl, body, len, out,
			    sizeof(out));
			CHECK_STR(out, v[i].sig);

			/* Upper-case hex is accepted too. */
			char up[160];
			snprintf(up, sizeof(up), "%s", v[i].sig);
			for (char *p = up + 7; *p; p++)
				if (*p >= 'a' && *p <= 'f')
					*p = (char)(*p - 'a' + 'A');
			CHECK_INT(bs_signature_check(up, v[i].secret, sl, body, len),
			    BS_SIG_OK);

			/* Last digit changed. */
			char bad[160];
			snprintf(bad, sizeof(bad), "%s", v[i].sig);
			size_t bl = strlen(bad);
			bad[bl - 1] = bad[bl - 1] == '0' ? '1' : '0';
			CHECK_INT(bs_signature_check(bad, v[i].secret, sl, body,
			    len), BS_SIG_MISMATCH);

			/* Body changed by one byte, wrong secret, empty secret. */
			body[len / 2] ^= 1;
			CHECK_INT(bs_signature_check(v[i].sig, v[i].secret, sl, body,
			    len), BS_SIG_MISMATCH);
			body[len / 2] ^= 1;
			CHECK_INT(bs_signature_check(v[i].sig, "x", 1, body, len),
			    BS_SIG_MISMATCH);
			CHECK_INT(bs_signature_check(v[i].sig, "", 0, body, len),
			    BS_SIG_MISMATCH);
			CHECK_INT(bs_signature_check(v[i].sig, NULL, 0, body, len),
			    BS_SIG_MISMATCH);

			/* Truncated body. */
			CHECK_INT(bs_signature_check(v[i].sig, v[i].secret, sl, body,
			    len - 1), BS_SIG_MISMATCH);
			free(body);
		}
	}

	TEST("known HMAC-SHA256 value (RFC 4231 case 2)") {
		const char *body = "what do ya want for nothing?";
		char out[80];
		bs_signature_sign("Jefe", 4, body, strlen(body), out, sizeof(out));
		CHECK_STR(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d27"
		    "39839dec58b964ec3843");
		CHECK_INT(bs_signature_check(out, "Jefe", 4, body, strlen(body)),
		    BS_SIG_OK);
		/* Correct sha1, sha384 and sha512 HMACs (RFC 4231 / RFC 2202)
		 * are refused: Bitbucket sends only sha256, so another
		 * algorithm is a downgrade, whatever its MAC. */
		CHECK_INT(bs_signature_check(
		    "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "Jefe", 4,
		    body, strlen(body)), BS_SIG_ALGORITHM);
		CHECK_INT(bs_signature_check(
		    "SHA384=af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec37"
		    "36322445e8e2240ca5e69e2c78b3239ecfab21649", "Jefe", 4,
		    body, strlen(body)), BS_SIG_ALGORITHM);
		CHECK_INT(bs_signature_check(
		    "sha512=164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd"
		    "7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e"
		    "070a38bce737", "Jefe", 4, body, strlen(body)), BS_SIG_ALGORITHM);
		/* The prefix is case-insensitive; sha2566= is not sha256. */
		CHECK_INT(bs_signature_check("SHA256=5bdcc146bf60754e6a042426089575"
		    "c75a003f089d27""39839dec58b964ec3843", "Jefe", 4, body,
		    strlen(body)), BS_SIG_OK);
		CHECK_INT(bs_signature_check("sha2566=5bdcc146bf60754e6a04242608957"
		    "5c75a003f089d2739839dec58b964ec3843", "Jefe", 4, body,
		    strlen(body)), BS_SIG_ALGORITHM);
		CHECK_STR(bs_sig_result_name(BS_SIG_ALGORITHM), "not sha256");
	}

	TEST("missing and malformed headers") {
		const char *b = "{}";
		CHECK_INT(bs_signature_check(NULL, "s", 1, b, 2), BS_SIG_MISSING);
		CHECK_INT(bs_signature_check("", "s", 1, b, 2), BS_SIG_MISSING);
		CHECK_INT(bs_signature_check("  ", "s", 1, b, 2), BS_SIG_MISSING);
		CHECK_INT(bs_signature_check("sha256=zz", "s", 1, b, 2),
		    BS_SIG_MALFORMED);
		CHECK_INT(bs_signature_check("md5=9e107d9d372bb6826bd81d3542a419d6",
		    "s", 1, b, 2), BS_SIG_ALGORITHM);
		CHECK_INT(bs_signature_check("sha256", "s", 1, b, 2),
		    BS_SIG_MALFORMED);
		CHECK_INT(bs_signature_check("sha256=", "s", 1, b, 2),
		    BS_SIG_MALFORMED);
		/* 63 and 65 hex digits. */
		CHECK_INT(bs_signature_check("sha256=5bdcc146bf60754e6a042426089575"
		    "c75a003f089d2739839dec58b964ec384", "Jefe", 4, b, 2),
		    BS_SIG_MALFORMED);
		CHECK_INT(bs_signature_check("sha256=5bdcc146bf60754e6a042426089575"
		    "c75a003f089d2739839dec58b964ec38433", "Jefe", 4, b, 2),
		    BS_SIG_MALFORMED);
		/* A non-hex character at the end. */
		CHECK_INT(bs_signature_check("sha256=5bdcc146bf60754e6a042426089575"
		    "c75a003f089d2739839dec58b964ec384g", "Jefe", 4, b, 2),
		    BS_SIG_MALFORMED);
		/* sha1 length with the sha256 prefix. */
		CHECK_INT(bs_signature_check(
		    "sha256=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "Jefe", 4,
		    b, 2), BS_SIG_MALFORMED);
		CHECK_INT(bs_signature_check("=abcd", "s", 1, b, 2),
		    BS_SIG_ALGORITHM);
	}

	TEST("empty secret signs and checks symmetrically") {
		char out[80];
		bs_signature_sign("", 0, "abc", 3, out, sizeof(out));
		CHECK_INT(strlen(out), 71);
		CHECK_INT(bs_signature_check(out, "", 0, "abc", 3), BS_SIG_OK);
		CHECK_INT(bs_signature_check(out, "a", 1, "abc", 3),
		    BS_SIG_MISMATCH);
		/* Too small an output buffer gives an empty string. */
		char small[10];
		bs_signature_sign("k", 1, "abc", 3, small, sizeof(small));
		CHECK_STR(small, "");
	}

	TEST("result names") {
		CHECK_STR(bs_sig_result_name(BS_SIG_OK), "ok");
		CHECK_STR(bs_sig_result_name(BS_SIG_MISSING), "missing");
		CHECK_STR(bs_sig_result_name(BS_SIG_MALFORMED), "malformed");
		CHECK_STR(bs_sig_result_name(BS_SIG_MISMATCH), "mismatch");
	}
	return TEST_REPORT();
}
