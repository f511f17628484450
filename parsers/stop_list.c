/* stop_list: see stop_list.h.
 *
 * The built-in table: what the jira pattern ([A-Z][A-Z0-9_]+-[1-9][0-9]*,
 * so at least two characters before the '-', uppercase first, and a
 * number without a leading 0) can match among encodings, hashes, ciphers,
 * protocols and standards' numbers. Single-letter prefixes ("X-Forwarded",
 * "H-2") and lowercase spellings ("Windows-1252", "IPv4") never match, so
 * they are not listed. A whole project is listed only where no issue
 * tracker plausibly uses the name (ISO, RFC, CVE, ...); short names a Jira
 * project might have (CP, MD, WIN, HTTP, TLS) are listed as whole keys.
 * Measured on tests/corpora/commons-io-commits.jsonl (bench/key_precision.sh). */
#include "parsers/stop_list.h"

#include <string.h>
#include <strings.h>

static const char *const builtin[] = {
	/* Whole projects: standards bodies, advisories, specifications. */
	"ISO",          /* ISO-8601, ISO-8859 (of ISO-8859-1), ISO-639 */
	"RFC",          /* RFC-7231 */
	"CVE",          /* CVE-2024 (of CVE-2024-47554) */
	"CWE",          /* CWE-79 */
	"IEEE",         /* IEEE-754 */
	"ECMA",         /* ECMA-262 */
	"PKCS",         /* PKCS-12 */
	"FIPS",         /* FIPS-140 */
	"JSR",          /* JSR-310 (Java specification requests) */
	"PEP",          /* PEP-8 */
	"SHA3",         /* SHA3-256 */
	"X86",          /* X86-64 */
	/* Character encodings. */
	"UTF-7", "UTF-8", "UTF-16", "UTF-32",
	"UCS-2", "UCS-4",
	"CP-437", "CP-850", "CP-852", "CP-866", "CP-932", "CP-936", "CP-949",
	"CP-950", "CP-1250", "CP-1251", "CP-1252", "CP-1253", "CP-1254",
	"CP-1255", "CP-1256", "CP-1257", "CP-1258",
	"WIN-32", "WIN-64",
	/* Hashes and checksums. */
	"SHA-1", "SHA-2", "SHA-3", "SHA-224", "SHA-256", "SHA-384", "SHA-512",
	"MD-2", "MD-4", "MD-5",
	"CRC-16", "CRC-32", "CRC-64",
	/* Ciphers and key sizes. */
	"AES-128", "AES-192", "AES-256",
	"RSA-1024", "RSA-2048", "RSA-3072", "RSA-4096",
	/* Protocol versions. */
	"TLS-1", "TLS-2", "TLS-3", "SSL-2", "SSL-3",
	"HTTP-1", "HTTP-2", "HTTP-3",
};

const char *const *
bs_stop_list_builtin(size_t *n)
{
	if (n)
		*n = sizeof(builtin) / sizeof(builtin[0]);
	return builtin;
}

bool
bs_stop_list_is_key(const char *entry)
{
	const char *dash = strrchr(entry, '-');
	if (!dash || dash == entry || !dash[1])
		return false;
	for (const char *p = dash + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

bool
bs_stop_list_match(const char *const *list, size_t n, const char *key,
    size_t len)
{
	const char *dash = memchr(key, '-', len);
	size_t plen = dash ? (size_t)(dash - key) : len;
	for (size_t i = 0; i < n; i++) {
		const char *e = list[i];
		if (!e)
			continue;
		size_t elen = strlen(e);
		size_t want = bs_stop_list_is_key(e) ? len : plen;
		if (elen == want && strncasecmp(e, key, want) == 0)
			return true;
	}
	return false;
}
