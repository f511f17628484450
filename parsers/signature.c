/* signature: see signature.h.
 *
 * The header is "<alg>=<hex>". The algorithm prefix is matched
 * case-insensitively against sha1/sha256/sha384/sha512 (anything else,
 * md5 included, is MALFORMED: we never downgrade to a weak MAC); the hex
 * must be exactly twice the digest size, either case. The MAC is computed
 * with OpenSSL's one-shot HMAC() and compared with CRYPTO_memcmp so the
 * comparison time does not depend on where the first wrong byte is.
 * Surrounding spaces/tabs of the header value are tolerated (proxies add
 * them); nothing else is. An empty secret is a configuration the caller
 * rejects earlier (allow_unsigned instead); here it is simply the key "",
 * as HMAC defines it, so signing and checking stay symmetric. */
#include "common/hex.h"
#include "parsers/signature.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct sig_alg {
	const char *name;
	const EVP_MD *(*md)(void);
	size_t size;
};

static const struct sig_alg sig_algs[] = {
	{ "sha256", EVP_sha256, 32 },
	{ "sha1", EVP_sha1, 20 },
	{ "sha384", EVP_sha384, 48 },
	{ "sha512", EVP_sha512, 64 },
};


static int
hmac(const EVP_MD *md, const char *secret, size_t secret_len,
    const char *body, size_t len, unsigned char *out, unsigned *outlen)
{
	static const unsigned char empty[1] = { 0 };
	if (secret_len > (size_t)0x7fffffff)
		return -1;
	/* HMAC() treats a NULL key as "no key" in some OpenSSL versions:
	 * always pass a valid pointer. */
	if (!HMAC(md, secret_len ? (const void *)secret : (const void *)empty,
	    (int)secret_len, body ? (const unsigned char *)body : empty, len,
	    out, outlen))
		return -1;
	return 0;
}

enum bs_sig_result
bs_signature_check(const char *header, const char *secret, size_t secret_len,
    const char *body, size_t len)
{
	if (!header)
		return BS_SIG_MISSING;
	while (*header == ' ' || *header == '\t')
		header++;
	if (!*header)
		return BS_SIG_MISSING;

	const char *eq = strchr(header, '=');
	if (!eq)
		return BS_SIG_MALFORMED;
	size_t nlen = (size_t)(eq - header);
	const struct sig_alg *alg = NULL;
	for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++) {
		if (strlen(sig_algs[i].name) == nlen &&
		    strncasecmp(sig_algs[i].name, header, nlen) == 0) {
			alg = &sig_algs[i];
			break;
		}
	}
	if (!alg)
		return BS_SIG_MALFORMED;

	const char *hex = eq + 1;
	size_t hlen = strlen(hex);
	while (hlen > 0 && (hex[hlen - 1] == ' ' || hex[hlen - 1] == '\t'))
		hlen--;
	if (hlen != alg->size * 2)
		return BS_SIG_MALFORMED;
	unsigned char want[EVP_MAX_MD_SIZE];
	for (size_t i = 0; i < alg->size; i++) {
		int hi = bs_hexval((unsigned char)hex[2 * i]);
		int lo = bs_hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BS_SIG_MALFORMED;
		want[i] = (unsigned char)(hi << 4 | lo);
	}

	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned glen = 0;
	if (hmac(alg->md(), secret, secret_len, body, len, got, &glen) != 0 ||
	    glen != alg->size)
		return BS_SIG_MISMATCH;
	return CRYPTO_memcmp(got, want, alg->size) == 0 ? BS_SIG_OK :
	    BS_SIG_MISMATCH;
}

void
bs_signature_sign(const char *secret, size_t secret_len, const char *body,
    size_t len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (outlen < 7 + 64 + 1 ||
	    hmac(EVP_sha256(), secret, secret_len, body, len, mac, &mlen) != 0)
		return;
	memcpy(out, "sha256=", 7);
	bs_hex_encode(out + 7, mac, mlen);
}

const char *
bs_sig_result_name(enum bs_sig_result r)
{
	switch (r) {
	case BS_SIG_OK:
		return "ok";
	case BS_SIG_MISSING:
		return "missing";
	case BS_SIG_MALFORMED:
		return "malformed";
	case BS_SIG_MISMATCH:
		return "mismatch";
	}
	return "unknown";
}
