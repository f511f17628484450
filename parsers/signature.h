/* signature: Bitbucket's X-Hub-Signature check (HMAC-SHA256 of the raw body).
 *
 * Cloud and Data Center both send "sha256=<64 lower-case hex>"; the
 * algorithm prefix is parsed (sha1/sha384/sha512 are understood too, as the
 * Jenkins plugin does) and the MAC compared in constant time. */
#ifndef BS_SIGNATURE_H
#define BS_SIGNATURE_H

#include <stddef.h>

enum bs_sig_result {
	BS_SIG_OK = 0,
	BS_SIG_MISSING,     /* no header */
	BS_SIG_MALFORMED,   /* unknown algorithm, bad hex, wrong length */
	BS_SIG_MISMATCH,
};

/* Checks header (may be NULL) against HMAC(secret, body). */
enum bs_sig_result bs_signature_check(const char *header,
    const char *secret, size_t secret_len, const char *body, size_t len);

/* Writes "sha256=<hex>" for body into out (at least 72 bytes). */
void bs_signature_sign(const char *secret, size_t secret_len,
    const char *body, size_t len, char *out, size_t outlen);

const char *bs_sig_result_name(enum bs_sig_result r);

/* The keyed HMAC contexts are kept per thread for the last secret used and
 * re-keyed when the secret differs (a reload). This frees the calling
 * thread's ones (tests, leak checks; a later check builds them again). */
void bs_signature_cache_free(void);

#endif
