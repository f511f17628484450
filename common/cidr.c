/* cidr: address ranges and the X-Forwarded-For walk (see cidr.h). Text is
 * turned into addresses by inet_pton only: it refuses octets with leading
 * zeros, fewer than four parts and every other legacy inet_aton form. */
#include "common/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* === the 16-byte form ==================================================== */

static const unsigned char v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
is_v4_mapped(const unsigned char addr[16])
{
	return memcmp(addr, v4_mapped_prefix, 12) == 0;
}

static void
from_v4(const void *a4, unsigned char out[16])
{
	memcpy(out, v4_mapped_prefix, 12);
	memcpy(out + 12, a4, 4);
}

/* s (NUL-terminated, no spaces) as an address; *v4 says which family was
 * written. 0 or -1. */
static int
text16(const char *s, unsigned char out[16], int *v4)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strchr(s, ':') == NULL) {
		if (inet_pton(AF_INET, s, &a4) != 1)
			return -1;
		from_v4(&a4, out);
		*v4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return -1;
	memcpy(out, &a6, 16);
	*v4 = 0;
	return 0;
}

/* Whether addr's first `bits` bits equal net's. */
static int
prefix_equal(const unsigned char *addr, const unsigned char *net,
    unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(addr, net, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return ((addr[whole] ^ net[whole]) & mask) == 0;
}

/* === ranges ============================================================== */

int
bs_cidr_parse(const char *text, struct bs_cidr *out, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!text || !*text) {
		*why = "empty";
		return -1;
	}
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	char abuf[BS_CIDR_ADDRSTRLEN];
	if (alen == 0 || alen >= sizeof(abuf)) {
		*why = "bad address";
		return -1;
	}
	memcpy(abuf, text, alen);
	abuf[alen] = '\0';
	unsigned char a[16];
	int v4;
	if (text16(abuf, a, &v4) != 0) {
		*why = "bad address";
		return -1;
	}
	unsigned max = v4 ? 32 : 128, bits = max;
	if (slash) {
		const char *p = slash + 1;
		size_t nd = 0;
		unsigned v = 0;
		while (p[nd] >= '0' && p[nd] <= '9' && nd < 4)
			v = v * 10 + (unsigned)(p[nd++] - '0');
		if (nd == 0 || (nd > 1 && p[0] == '0')) {
			*why = "bad prefix length (a decimal number after '/')";
			return -1;
		}
		if (p[nd] != '\0') {
			*why = p[nd] >= '0' && p[nd] <= '9' ?
			    (v4 ? "prefix length out of range (0..32 for IPv4)" :
			    "prefix length out of range (0..128 for IPv6)") :
			    "stray text after the prefix length";
			return -1;
		}
		if (v > max) {
			*why = v4 ? "prefix length out of range (0..32 for IPv4)" :
			    "prefix length out of range (0..128 for IPv6)";
			return -1;
		}
		bits = v;
	}
	if (v4)
		bits += 96;

	/* The network: every bit past the prefix cleared. */
	unsigned char net[16];
	memcpy(net, a, 16);
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (lo >= bits)
			net[i] = 0;
		else if (bits - lo < 8)
			net[i] &= (unsigned char)(0xff << (8 - (bits - lo)));
	}
	if (memcmp(net, a, 16) != 0) {
		memcpy(out->addr, net, 16);
		out->bits = bits;
		*why = "host bits set beyond the prefix";
		return -1;
	}
	memcpy(out->addr, net, 16);
	out->bits = bits;
	return 0;
}

int
bs_cidr_match16(const struct bs_cidr *list, size_t n,
    const unsigned char addr[16])
{
	for (size_t i = 0; i < n; i++)
		if (prefix_equal(addr, list[i].addr, list[i].bits))
			return 1;
	return 0;
}

/* === addresses =========================================================== */

int
bs_cidr_addr16(const char *text, size_t len, unsigned char out[16])
{
	if (!text)
		return -1;
	while (len > 0 && (text[0] == ' ' || text[0] == '\t')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	char buf[BS_CIDR_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	int v4;
	return text16(buf, out, &v4);
}

int
bs_cidr_sockaddr16(const struct sockaddr *sa, unsigned char out[16])
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		from_v4(&in.sin_addr, out);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof(in6));
		memcpy(out, &in6.sin6_addr, 16);
		return 0;
	}
	return -1;
}

const char *
bs_cidr_format(const unsigned char addr[16], char *buf, size_t len)
{
	if (!buf || len == 0)
		return "?";
	const char *r = len >= BS_CIDR_ADDRSTRLEN ? (is_v4_mapped(addr) ?
	    inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len) :
	    inet_ntop(AF_INET6, addr, buf, (socklen_t)len)) : NULL;
	if (!r) {
		buf[0] = len > 1 ? '?' : '\0';
		if (len > 1)
			buf[1] = '\0';
	}
	return buf;
}

/* === the client of a request ============================================ */

int
bs_cidr_client(const unsigned char peer[16], const char *xff,
    const struct bs_cidr *trusted, size_t nt, unsigned char out[16])
{
	memcpy(out, peer, 16);
	if (nt == 0 || !xff)
		return 0;
	/* [xff, end) holds the entries not yet used; blank: none. */
	const char *end = xff + strlen(xff);
	while (end > xff && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	const char *start = xff;
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	int left = start < end;
	size_t used = 0;
	while (left && bs_cidr_match16(trusted, nt, out)) {
		if (used == BS_CIDR_MAX_HOPS)
			return -1;      /* a longer chain than we walk: unknown */
		const char *p = end;
		while (p > start && p[-1] != ',')
			p--;
		unsigned char hop[16];
		used++;
		if (bs_cidr_addr16(p, (size_t)(end - p), hop) != 0)
			return -1;
		memcpy(out, hop, 16);
		left = p > start;
		end = p > start ? p - 1 : p;
	}
	return 0;
}
