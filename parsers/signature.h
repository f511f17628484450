/* signature: Bitbucket's X-Hub-Signature check (HMAC-SHA256 of the raw body).
 *
 * Cloud and Data Center both send "sha256=<64 lower-case hex>", and only
 * that is accepted: another algorithm prefix (sha1=, sha512=, ...) is its
 * own result, so that a downgrade is refused with a clear reason. The MAC
 * is compared in constant time. */
#ifndef BS_SIGNATURE_H
#define BS_SIGNATURE_H

#include <stddef.h>

enum bs_sig_result {
	BS_SIG_OK = 0,
	BS_SIG_MISSING,     /* no header */
	BS_SIG_MALFORMED,   /* no "alg=", bad hex, wrong length */
	BS_SIG_ALGORITHM,   /* an algorithm other than sha256 */
	BS_SIG_MISMATCH,
};

/* Checks header (may be NULL) against HMAC(secret, body). */
enum bs_sig_result bs_signature_check(const char *header,
    const char *secret, size_t secret_len, const char *body, size_t len);

/* Writes "sha256=<hex>" for body into out (at least 72 bytes). */
void bs_signature_sign(const char *secret, size_t secret_len,
    const char *body, size_t len, char *out, size_t outlen);

const char *bs_sig_result_name(enum bs_sig_result r);

/* The keyed HMAC contexts are kept per thread for the last two secrets
 * used (current and previous, during a rotation); a third replaces the one
 * used least recently. This frees the calling
 * thread's ones (tests, leak checks; a later check builds them again). */
void bs_signature_cache_free(void);

#endif
