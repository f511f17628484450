/* fuzz_signature: the X-Hub-Signature header parser and check. The input is
 * "<header>\n<body>" (no newline: all of it is the header, the body is
 * empty). Invariants: bs_signature_check never crashes and returns one of
 * the four results; the header bs_signature_sign writes for the body is
 * accepted (also in upper-case hex, with an upper-case algorithm and
 * surrounding blanks); the same header with one hex digit changed is
 * refused; a fuzzed header is OK only if it spells the right MAC. The
 * seeds are the two verified vectors of fixtures/bitbucket/signatures.tsv
 * in this "<header>\n<body>" form plus the fixtures themselves. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parsers/signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The secrets of the two vectors, so the seeds exercise the OK path. */
static const char *const secrets[] = {
	"71295b197fa25f4356d2fb9965df3f2379d903d7",
	"Gkvl$k$wyNpQAF42",
	"",
};

static void
check_one(const char *header, const char *secret, const char *body,
    size_t blen)
{
	size_t slen = strlen(secret);
	enum bs_sig_result r = bs_signature_check(header, secret, slen, body,
	    blen);
	if (r != BS_SIG_OK && r != BS_SIG_MISSING && r != BS_SIG_MALFORMED &&
	    r != BS_SIG_ALGORITHM &&
	    r != BS_SIG_MISMATCH)
		abort();
	if (!bs_sig_result_name(r))
		abort();

	char good[160];
	bs_signature_sign(secret, slen, body, blen, good, sizeof(good));
	if (strlen(good) != 7 + 64 || strncmp(good, "sha256=", 7) != 0)
		abort();
	if (bs_signature_check(good, secret, slen, body, blen) != BS_SIG_OK)
		abort();
	/* A fuzzed header that is accepted must be the right MAC: compare
	 * case-insensitively after the blanks the parser tolerates. */
	if (r == BS_SIG_OK) {
		const char *h = header;
		while (*h == ' ' || *h == '\t')
			h++;
		size_t n = strlen(h);
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == strlen(good) && strncasecmp(h, good, n) != 0)
			abort();   /* sha256 header that is not our MAC */
	}
	char up[200];
	snprintf(up, sizeof(up), " \t%s\t ", good);
	for (char *p = up; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (bs_signature_check(up, secret, slen, body, blen) != BS_SIG_OK)
		abort();
	char bad[160];
	memcpy(bad, good, sizeof(good));
	size_t at = 7 + (blen ? (unsigned char)body[0] % 64 : 0);
	bad[at] = bad[at] == '0' ? '1' : '0';
	if (bs_signature_check(bad, secret, slen, body, blen) !=
	    BS_SIG_MISMATCH)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	if (hlen > 4096)
		hlen = 4096;
	char *header = malloc(hlen + 1);
	memcpy(header, data, hlen);
	header[hlen] = '\0';   /* a NUL inside ends it, as in a C header */
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - (size_t)(nl + 1 - data) : 0;
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		check_one(header, secrets[i], body, blen);
	if (bs_signature_check(NULL, "k", 1, body, blen) != BS_SIG_MISSING)
		abort();
	free(header);
	return 0;
}
