/* redis_url: redis://[user:password@]host[:port][/db] and
 * unix:///path[?db=N], percent-decoded userinfo (see redis_url.h). */
#include "common/redis_url.h"

#include <stdio.h>
#include <string.h>

#include "common/hex.h"

/* The error quotes the URL with any userinfo masked: it holds a password
 * and error messages end up in logs. */
static int
url_fail(char *err, size_t errlen, const char *url, const char *why)
{
	const char *scheme = strstr(url, "://");
	const char *at = strrchr(url, '@');
	if (scheme && at && at > scheme)
		snprintf(err, errlen, "bad redis url '%.*s***%s': %s",
		    (int)(scheme + 3 - url), url, at, why);
	else
		snprintf(err, errlen, "bad redis url '%s': %s", url, why);
	return -1;
}


/* Copies s[0..n) percent-decoded into out; -1 when it does not fit or a
 * %XX is malformed. */
static int
pct_copy(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = bs_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = bs_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int
parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
	if (n == 0 || n > 10)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int
bs_redis_parse_url(const char *url, struct bs_redis_addr *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (!url)
		return url_fail(err, errlen, "", "empty");
	if (strncmp(url, "unix://", 7) == 0) {
		const char *p = url + 7;
		size_t n = strcspn(p, "?");
		if (n == 0 || p[0] != '/')
			return url_fail(err, errlen, url, "unix socket path must be absolute");
		if (n >= sizeof(out->unix_path))
			return url_fail(err, errlen, url, "unix socket path too long");
		memcpy(out->unix_path, p, n);
		if (p[n] == '?') {
			const char *q = p + n + 1;
			if (strncmp(q, "db=", 3) != 0 ||
			    parse_int(q + 3, strlen(q + 3), 0, 100000, &out->db) < 0)
				return url_fail(err, errlen, url, "bad query, only ?db=N");
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return url_fail(err, errlen, url, "scheme must be redis:// or unix://");
	const char *p = url + 8;
	const char *end = p + strcspn(p, "/?#");
	const char *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon)
			return url_fail(err, errlen, url, "userinfo needs ':password'");
		if (pct_copy(out->user, sizeof(out->user), p, (size_t)(colon - p)) < 0 ||
		    pct_copy(out->password, sizeof(out->password), colon + 1,
		    (size_t)(at - colon - 1)) < 0)
			return url_fail(err, errlen, url, "bad user or password");
		p = at + 1;
	}
	const char *hend;
	const char *portp = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return url_fail(err, errlen, url, "unclosed '['");
		if ((size_t)(rb - p - 1) >= sizeof(out->host) || rb == p + 1)
			return url_fail(err, errlen, url, "bad host");
		memcpy(out->host, p + 1, (size_t)(rb - p - 1));
		hend = rb + 1;
		if (hend < end && *hend != ':')
			return url_fail(err, errlen, url, "junk after ']'");
		if (hend < end)
			portp = hend + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		hend = colon ? colon : end;
		if (hend == p)
			return url_fail(err, errlen, url, "missing host");
		if ((size_t)(hend - p) >= sizeof(out->host))
			return url_fail(err, errlen, url, "host too long");
		memcpy(out->host, p, (size_t)(hend - p));
		if (colon)
			portp = colon + 1;
	}
	if (portp && parse_int(portp, (size_t)(end - portp), 1, 65535,
	    &out->port) < 0)
		return url_fail(err, errlen, url, "bad port");
	if (*end == '/') {
		const char *db = end + 1;
		size_t n = strcspn(db, "?#");
		if (n > 0 && parse_int(db, n, 0, 100000, &out->db) < 0)
			return url_fail(err, errlen, url, "bad database number");
		end = db + n;
	}
	if (*end != '\0')
		return url_fail(err, errlen, url, "query and fragment not supported");
	return 0;
}

