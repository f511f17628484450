/* signature: see signature.h.
 *
 * The header is "<alg>=<hex>". The algorithm prefix must be sha256, in
 * any case (anything else, sha1 and sha512 included, is ALGORITHM: we
 * never take another MAC than the one Bitbucket sends); the hex must be
 * exactly 64 digits, either case. The MAC is computed with EVP_MAC HMAC
 * from a context kept keyed per secret (keyed_ctx) and
 * compared with CRYPTO_memcmp so the
 * comparison time does not depend on where the first wrong byte is.
 * Surrounding spaces/tabs of the header value are tolerated (proxies add
 * them); nothing else is. An empty secret is a configuration the caller
 * rejects earlier (allow_unsigned instead); here it is simply the key "",
 * as HMAC defines it, so signing and checking stay symmetric. */
#include "common/hex.h"
#include "parsers/signature.h"

#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define SHA256_SIZE 32

/* A keyed HMAC-SHA256 context, for the secret it was keyed
 * with. Keying hashes the key's padded blocks; with the context kept,
 * each request only re-initialises it from the saved inner/outer states
 * (EVP_MAC_init with no key). A different secret (a SIGHUP reload, a
 * caller with another one) drops them all and keys anew. Per thread, so
 * threads never share a context. */
struct mac_cache {
	EVP_MAC *mac;
	unsigned char *secret;      /* the bytes the contexts were keyed with
	                             * (NULL: none yet; 1 byte for an empty one) */
	size_t secret_len;
	EVP_MAC_CTX *ctx;
};

static _Thread_local struct mac_cache cache;

static void
cache_drop_keys(void)
{
	EVP_MAC_CTX_free(cache.ctx);
	cache.ctx = NULL;
	if (cache.secret) {
		OPENSSL_cleanse(cache.secret, cache.secret_len);
		OPENSSL_free(cache.secret);
	}
	cache.secret = NULL;
	cache.secret_len = 0;
}

void
bs_signature_cache_free(void)
{
	cache_drop_keys();
	EVP_MAC_free(cache.mac);
	cache.mac = NULL;
}

/* A context keyed with secret, ready for EVP_MAC_update; NULL on an
 * OpenSSL failure. */
static EVP_MAC_CTX *
keyed_ctx(const char *secret, size_t secret_len)
{
	static const unsigned char empty[1] = { 0 };
	if (!cache.secret || cache.secret_len != secret_len ||
	    (secret_len && memcmp(cache.secret, secret, secret_len) != 0)) {
		cache_drop_keys();
		cache.secret = OPENSSL_malloc(secret_len ? secret_len : 1);
		if (!cache.secret)
			return NULL;
		if (secret_len)
			memcpy(cache.secret, secret, secret_len);
		cache.secret_len = secret_len;
	}
	EVP_MAC_CTX *c = cache.ctx;
	if (c)
		return EVP_MAC_init(c, NULL, 0, NULL) ? c : NULL;
	if (!cache.mac && !(cache.mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return NULL;
	if (!(c = EVP_MAC_CTX_new(cache.mac)))
		return NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	/* Always a valid key pointer, also for the empty key. */
	if (!EVP_MAC_init(c, secret_len ? (const unsigned char *)secret : empty,
	    secret_len, params)) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	cache.ctx = c;
	return c;
}

static int
hmac(const char *secret, size_t secret_len,
    const char *body, size_t len, unsigned char *out, unsigned *outlen)
{
	if (secret_len > (size_t)0x7fffffff)
		return -1;
	EVP_MAC_CTX *c = keyed_ctx(secret, secret_len);
	size_t olen = 0;
	if (!c || (len && !EVP_MAC_update(c, (const unsigned char *)body, len)) ||
	    !EVP_MAC_final(c, out, &olen, EVP_MAX_MD_SIZE))
		return -1;
	*outlen = (unsigned)olen;
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
	if (nlen != 6 || strncasecmp(header, "sha256", 6) != 0)
		return BS_SIG_ALGORITHM;

	const char *hex = eq + 1;
	size_t hlen = strlen(hex);
	while (hlen > 0 && (hex[hlen - 1] == ' ' || hex[hlen - 1] == '\t'))
		hlen--;
	if (hlen != SHA256_SIZE * 2)
		return BS_SIG_MALFORMED;
	unsigned char want[EVP_MAX_MD_SIZE];
	for (size_t i = 0; i < SHA256_SIZE; i++) {
		int hi = bs_hexval((unsigned char)hex[2 * i]);
		int lo = bs_hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BS_SIG_MALFORMED;
		want[i] = (unsigned char)(hi << 4 | lo);
	}

	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned glen = 0;
	if (hmac(secret, secret_len, body, len, got, &glen) != 0 ||
	    glen != SHA256_SIZE)
		return BS_SIG_MISMATCH;
	return CRYPTO_memcmp(got, want, SHA256_SIZE) == 0 ? BS_SIG_OK :
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
	    hmac(secret, secret_len, body, len, mac, &mlen) != 0)
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
	case BS_SIG_ALGORITHM:
		return "not sha256";
	case BS_SIG_MISMATCH:
		return "mismatch";
	}
	return "unknown";
}
