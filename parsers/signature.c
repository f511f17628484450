/* signature: see signature.h.
 *
 * The header is "<alg>=<hex>". The algorithm prefix must be sha256, in
 * any case (anything else, sha1 and sha512 included, is ALGORITHM: we
 * never take another MAC than the one Bitbucket sends); the hex must be
 * exactly 64 digits, either case. The MAC is computed with EVP_MAC HMAC
 * from a context kept keyed per secret (keyed_ctx, two secrets) and
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

/* Keyed HMAC-SHA256 contexts for the last two secrets used (the current
 * and, during a rotation, the previous webhook secret). Keying hashes the
 * key's padded blocks; with a context kept, each request only
 * re-initialises it from the saved inner/outer states (EVP_MAC_init with
 * no key). A third secret (a SIGHUP reload, a caller with another one)
 * replaces the slot used least recently. Per thread, so threads never
 * share a context. */
#define N_SLOTS 2

struct mac_slot {
	unsigned char *secret;      /* the bytes the context was keyed with
	                             * (NULL: free; 1 byte for an empty one) */
	size_t secret_len;
	EVP_MAC_CTX *ctx;
	unsigned long long used;    /* the use count at its last use */
};

struct mac_cache {
	EVP_MAC *mac;
	struct mac_slot slot[N_SLOTS];
	unsigned long long uses;
};

static _Thread_local struct mac_cache cache;

static void
slot_drop(struct mac_slot *s)
{
	EVP_MAC_CTX_free(s->ctx);
	if (s->secret) {
		OPENSSL_cleanse(s->secret, s->secret_len);
		OPENSSL_free(s->secret);
	}
	memset(s, 0, sizeof(*s));
}

void
bs_signature_cache_free(void)
{
	for (size_t i = 0; i < N_SLOTS; i++)
		slot_drop(&cache.slot[i]);
	EVP_MAC_free(cache.mac);
	cache.mac = NULL;
}

/* The slot keyed with secret, or the least recently used one emptied. */
static struct mac_slot *
slot_for(const char *secret, size_t secret_len)
{
	struct mac_slot *lru = &cache.slot[0];
	for (size_t i = 0; i < N_SLOTS; i++) {
		struct mac_slot *s = &cache.slot[i];
		if (s->secret && s->secret_len == secret_len &&
		    (!secret_len || memcmp(s->secret, secret, secret_len) == 0))
			return s;
		if (s->used < lru->used)
			lru = s;
	}
	slot_drop(lru);
	return lru;
}

/* A context keyed with secret, ready for EVP_MAC_update; NULL on an
 * OpenSSL failure. */
static EVP_MAC_CTX *
keyed_ctx(const char *secret, size_t secret_len)
{
	static const unsigned char empty[1] = { 0 };
	struct mac_slot *s = slot_for(secret, secret_len);
	s->used = ++cache.uses;
	if (s->ctx)
		return EVP_MAC_init(s->ctx, NULL, 0, NULL) ? s->ctx : NULL;
	if (!cache.mac && !(cache.mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return NULL;
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(cache.mac);
	if (!c)
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
	s->secret = OPENSSL_malloc(secret_len ? secret_len : 1);
	if (!s->secret) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	if (secret_len)
		memcpy(s->secret, secret, secret_len);
	s->secret_len = secret_len;
	s->ctx = c;
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
