/* test_signature_cache: the keyed HMAC contexts kept per secret give the
 * one-shot HMAC's answer, across repeated checks, interleaved algorithms
 * and a secret that changes (a reload), also to one of the same length. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hex.h"
#include "parsers/signature.h"
#include "tests/unit/test.h"

static void
header_for(const char *alg, const EVP_MD *md, const char *secret,
    const char *body, size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	HMAC(md, secret, (int)strlen(secret), (const unsigned char *)body, len,
	    mac, &mlen);
	size_t n = strlen(alg);
	memcpy(out, alg, n);
	out[n] = '=';
	bs_hex_encode(out + n + 1, mac, mlen);
}

int
main(void)
{
	TEST("cached contexts agree with one-shot HMAC across secret changes") {
		const char *secrets[] = { "alpha", "bravo", "alpha", "", "a-much-"
			"longer-secret-than-one-sha256-block-of-sixty-four-bytes-xxxxxx"
			"xxxxxxxxxx", "alpha" };
		const char *body = "{\"push\":{\"changes\":[]}}";
		size_t len = strlen(body);
		int ok = 1;
		for (int round = 0; round < 3; round++) {
			for (size_t s = 0; s < sizeof(secrets) / sizeof(*secrets); s++) {
				const char *sec = secrets[s];
				size_t sl = strlen(sec);
				char h256[200], h1[200], h512[200];
				header_for("sha256", EVP_sha256(), sec, body, len, h256);
				header_for("sha1", EVP_sha1(), sec, body, len, h1);
				header_for("sha512", EVP_sha512(), sec, body, len, h512);
				for (int rep = 0; rep < 3; rep++) {
					ok &= bs_signature_check(h256, sec, sl, body, len) ==
					    BS_SIG_OK;
					/* other algorithms are refused, never computed */
					ok &= bs_signature_check(h1, sec, sl, body, len) ==
					    BS_SIG_ALGORITHM;
					ok &= bs_signature_check(h512, sec, sl, body, len) ==
					    BS_SIG_ALGORITHM;
					/* the same length, other bytes: a reload */
					char other[128];
					memcpy(other, sec, sl + 1);
					if (sl)
						other[sl - 1] ^= 1;
					ok &= sl == 0 || bs_signature_check(h256, other, sl,
					    body, len) == BS_SIG_MISMATCH;
					ok &= bs_signature_check(h256, sec, sl, body,
					    len - 1) == BS_SIG_MISMATCH;
				}
				char out[80];
				bs_signature_sign(sec, sl, body, len, out, sizeof(out));
				ok &= strcmp(out, h256) == 0;
			}
		}
		CHECK(ok);
	}
	TEST("empty body, and the cache freed and rebuilt") {
		char h[200];
		header_for("sha256", EVP_sha256(), "k", "", 0, h);
		CHECK_INT(bs_signature_check(h, "k", 1, "", 0), BS_SIG_OK);
		CHECK_INT(bs_signature_check(h, "k", 1, NULL, 0), BS_SIG_OK);
		bs_signature_cache_free();
		CHECK_INT(bs_signature_check(h, "k", 1, "", 0), BS_SIG_OK);
		CHECK_INT(bs_signature_check(h, "j", 1, "", 0), BS_SIG_MISMATCH);
		bs_signature_cache_free();
		bs_signature_cache_free();
	}
	return TEST_REPORT();
}
