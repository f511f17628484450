/* Unit tests of common/cidr: parsing ranges (accepted and refused forms),
 * matching IPv4, IPv6 and v4-mapped addresses at the range boundaries,
 * and the X-Forwarded-For walk that picks the client address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cidr.h"
#include "tests/unit/test.h"

/* The 16-byte form of a well-formed address (the test's own input). */
static const unsigned char *
A(const char *text)
{
	static unsigned char ring[8][16];
	static unsigned k;
	unsigned char *a = ring[k++ % 8];
	if (bs_cidr_addr16(text, strlen(text), a) != 0) {
		fprintf(stderr, "test input %s is not an address\n", text);
		memset(a, 0xee, 16);
	}
	return a;
}

/* Parses the ranges texts[0..n) into list (each must parse). */
static size_t
ranges(struct bs_cidr *list, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (bs_cidr_parse(texts[i], &list[i], &why) != 0)
			fprintf(stderr, "range %s refused: %s\n", texts[i], why);
	}
	return n;
}

static int
in(const char *range, const char *addr)
{
	struct bs_cidr c;
	if (bs_cidr_parse(range, &c, NULL) != 0)
		return -1;
	return bs_cidr_match16(&c, 1, A(addr));
}

/* The reason bs_cidr_parse gives for text, or "ok". */
static const char *
refusal(const char *text)
{
	struct bs_cidr c;
	const char *why = "unset";
	return bs_cidr_parse(text, &c, &why) == 0 ? "ok" : why;
}

/* bs_cidr_client's choice as text ("-1 via <last hop>" on -1). */
static const char *
client(const char *peer, const char *xff, const struct bs_cidr *t, size_t nt)
{
	static char buf[128];
	unsigned char out[16];
	char a[BS_CIDR_ADDRSTRLEN];
	int rc = bs_cidr_client(A(peer), xff, t, nt, out);
	snprintf(buf, sizeof(buf), "%s%s", rc == 0 ? "" : "-1 via ",
	    bs_cidr_format(out, a, sizeof(a)));
	return buf;
}

int
main(void)
{
	TEST("cidr: accepted forms and what they hold") {
		struct bs_cidr c;
		const char *why = NULL;
		CHECK_INT(bs_cidr_parse("10.0.0.0/8", &c, &why), 0);
		CHECK_INT(c.bits, 104);
		CHECK(memcmp(c.addr, A("::ffff:10.0.0.0"), 16) == 0);
		CHECK_INT(bs_cidr_parse("192.168.1.7", &c, &why), 0);
		CHECK_INT(c.bits, 128);
		CHECK_INT(bs_cidr_parse("2001:db8::/32", &c, &why), 0);
		CHECK_INT(c.bits, 32);
		CHECK_INT(bs_cidr_parse("::1", &c, &why), 0);
		CHECK_INT(c.bits, 128);
		CHECK_INT(bs_cidr_parse("0.0.0.0/0", &c, &why), 0);
		CHECK_INT(c.bits, 96);
		CHECK_INT(bs_cidr_parse("::/0", &c, &why), 0);
		CHECK_INT(c.bits, 0);
		CHECK_INT(bs_cidr_parse("::ffff:10.1.0.0/112", &c, &why), 0);
		CHECK_INT(c.bits, 112);
		CHECK_STR(refusal("1.2.3.4/32"), "ok");
		CHECK_STR(refusal("2001:db8::1/128"), "ok");
		CHECK_STR(refusal("128.0.0.0/1"), "ok");
		CHECK_STR(refusal("fe80::/10"), "ok");
	}
	TEST("cidr: refused forms and their reasons") {
		CHECK_STR(refusal(""), "empty");
		CHECK_STR(refusal("10.0.0.1/8"), "host bits set beyond the prefix");
		CHECK_STR(refusal("2001:db8::1/32"), "host bits set beyond the prefix");
		CHECK_STR(refusal("10.0.0.0/33"), "prefix length out of range "
		    "(0..32 for IPv4)");
		CHECK_STR(refusal("::/129"), "prefix length out of range (0..128 "
		    "for IPv6)");
		CHECK_STR(refusal("::/12345"), "prefix length out of range (0..128 "
		    "for IPv6)");
		CHECK_STR(refusal("10.0.0.0/8x"), "stray text after the prefix "
		    "length");
		CHECK_STR(refusal("10.0.0.0/8 "), "stray text after the prefix "
		    "length");
		CHECK_STR(refusal("10.0.0.0/8/8"), "stray text after the prefix "
		    "length");
		const char *bad_prefix = "bad prefix length (a decimal number "
		    "after '/')";
		CHECK_STR(refusal("10.0.0.0/"), bad_prefix);
		CHECK_STR(refusal("10.0.0.0/-1"), bad_prefix);
		CHECK_STR(refusal("10.0.0.0/+8"), bad_prefix);
		CHECK_STR(refusal("10.0.0.0/08"), bad_prefix);
		CHECK_STR(refusal("10.0.0.0/ 8"), bad_prefix);
		const char *bad[] = { "/8", "10.0.0/8", "10.0.0.256", "010.0.0.0/8",
			"10.0.0.0 /8", " 10.0.0.0/8", "1.2.3.4.5", "example.com",
			"fe80::1%eth0", "[::1]", "1.2.3.4:80", "2001:db8:::/32",
			"::ffff:1.2.3", "0x0a000000", "10" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_STR(refusal(bad[i]), "bad address");
		/* The network, for a "did you mean". */
		struct bs_cidr c;
		CHECK_INT(bs_cidr_parse("10.1.2.3/8", &c, NULL), -1);
		CHECK(memcmp(c.addr, A("10.0.0.0"), 16) == 0 && c.bits == 104);
	}
	TEST("cidr: IPv4 boundaries, /0 and /32") {
		CHECK_INT(in("10.0.0.0/8", "10.0.0.0"), 1);
		CHECK_INT(in("10.0.0.0/8", "10.255.255.255"), 1);
		CHECK_INT(in("10.0.0.0/8", "11.0.0.0"), 0);
		CHECK_INT(in("10.0.0.0/8", "9.255.255.255"), 0);
		CHECK_INT(in("192.168.0.0/23", "192.168.1.255"), 1);
		CHECK_INT(in("192.168.0.0/23", "192.168.2.0"), 0);
		CHECK_INT(in("1.2.3.4", "1.2.3.4"), 1);
		CHECK_INT(in("1.2.3.4/32", "1.2.3.5"), 0);
		CHECK_INT(in("0.0.0.0/0", "255.255.255.255"), 1);
		CHECK_INT(in("0.0.0.0/0", "1.2.3.4"), 1);
		CHECK_INT(in("0.0.0.0/0", "::1"), 0);
		CHECK_INT(in("0.0.0.0/0", "2001:db8::1"), 0);
	}
	TEST("cidr: IPv6, /128 and v4-mapped") {
		CHECK_INT(in("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
		CHECK_INT(in("2001:db8::/32", "2001:db9::"), 0);
		CHECK_INT(in("2001:db8::/33", "2001:db8:8000::"), 0);
		CHECK_INT(in("2001:db8::/33", "2001:db8:7fff::1"), 1);
		CHECK_INT(in("::1", "::1"), 1);
		CHECK_INT(in("::1/128", "::2"), 0);
		CHECK_INT(in("::/0", "2001:db8::1"), 1);
		CHECK_INT(in("::/0", "1.2.3.4"), 1);
		/* "1.2.3.4" and "::ffff:1.2.3.4" are one address. */
		CHECK(memcmp(A("1.2.3.4"), A("::ffff:1.2.3.4"), 16) == 0);
		CHECK_INT(in("1.2.3.0/24", "::ffff:1.2.3.77"), 1);
		CHECK_INT(in("::ffff:1.2.3.0/120", "1.2.3.77"), 1);
		CHECK_INT(in("::ffff:0:0/96", "8.8.8.8"), 1);
		/* IPv4-compatible (deprecated) is not v4-mapped. */
		CHECK_INT(in("1.2.3.4", "::1.2.3.4"), 0);
		struct bs_cidr none;
		CHECK_INT(bs_cidr_match16(&none, 0, A("1.2.3.4")), 0);
		struct bs_cidr two[2];
		ranges(two, (const char *[]){ "10.0.0.0/8", "2001:db8::/32" }, 2);
		CHECK_INT(bs_cidr_match16(two, 2, A("2001:db8::5")), 1);
		CHECK_INT(bs_cidr_match16(two, 2, A("10.9.9.9")), 1);
		CHECK_INT(bs_cidr_match16(two, 2, A("172.16.0.1")), 0);
	}
	TEST("cidr: address text, sockaddr and format") {
		unsigned char a[16];
		CHECK_INT(bs_cidr_addr16(" \t1.2.3.4\t ", 11, a), 0);
		CHECK(memcmp(a, A("1.2.3.4"), 16) == 0);
		CHECK_INT(bs_cidr_addr16("1.2.3.4,5", 7, a), 0);   /* len bounds it */
		CHECK_INT(bs_cidr_addr16("", 0, a), -1);
		CHECK_INT(bs_cidr_addr16("   ", 3, a), -1);
		CHECK_INT(bs_cidr_addr16("1.2.3.4\0x", 9, a), -1);
		CHECK_INT(bs_cidr_addr16("10.0.0.0/8", 10, a), -1);
		CHECK_INT(bs_cidr_addr16("1.2.3.4:443", 11, a), -1);
		CHECK_INT(bs_cidr_addr16("[2001:db8::1]", 13, a), -1);
		CHECK_INT(bs_cidr_addr16("unknown", 7, a), -1);
		char long_text[200];
		memset(long_text, '1', sizeof(long_text));
		CHECK_INT(bs_cidr_addr16(long_text, sizeof(long_text), a), -1);

		struct sockaddr_in s4;
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(443);
		inet_pton(AF_INET, "203.0.113.9", &s4.sin_addr);
		CHECK_INT(bs_cidr_sockaddr16((struct sockaddr *)&s4, a), 0);
		CHECK(memcmp(a, A("203.0.113.9"), 16) == 0);
		struct sockaddr_in6 s6;
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:203.0.113.9", &s6.sin6_addr);
		CHECK_INT(bs_cidr_sockaddr16((struct sockaddr *)&s6, a), 0);
		CHECK(memcmp(a, A("203.0.113.9"), 16) == 0);
		struct sockaddr su;
		memset(&su, 0, sizeof(su));
		su.sa_family = AF_UNIX;
		CHECK_INT(bs_cidr_sockaddr16(&su, a), -1);

		char buf[BS_CIDR_ADDRSTRLEN];
		CHECK_STR(bs_cidr_format(A("::ffff:10.0.0.1"), buf, sizeof(buf)),
		    "10.0.0.1");
		CHECK_STR(bs_cidr_format(A("2001:DB8:0:0::1"), buf, sizeof(buf)),
		    "2001:db8::1");
		CHECK_STR(bs_cidr_format(A("::"), buf, sizeof(buf)), "::");
		CHECK_STR(bs_cidr_format(A("ffff:ffff:ffff:ffff:ffff:ffff:255.255."
		    "255.255"), buf, sizeof(buf)),
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
		char small[8];
		CHECK_STR(bs_cidr_format(A("1.2.3.4"), small, sizeof(small)), "?");
	}
	TEST("cidr: the X-Forwarded-For walk") {
		struct bs_cidr t[3];
		size_t nt = ranges(t, (const char *[]){ "10.0.0.0/8", "192.0.2.1",
			"2001:db8::/32" }, 3);
		/* No trusted proxies: the peer, whatever the header says. */
		CHECK_STR(client("10.0.0.5", "198.51.100.7", t, 0), "10.0.0.5");
		CHECK_STR(client("203.0.113.1", "198.51.100.7", NULL, 0),
		    "203.0.113.1");
		/* An untrusted peer: its header is not read. */
		CHECK_STR(client("203.0.113.1", "198.51.100.7", t, nt),
		    "203.0.113.1");
		CHECK_STR(client("203.0.113.1", "garbage", t, nt), "203.0.113.1");
		/* A trusted peer: the rightmost untrusted entry. */
		CHECK_STR(client("10.0.0.5", "198.51.100.7", t, nt),
		    "198.51.100.7");
		CHECK_STR(client("10.0.0.5", "198.51.100.7, 203.0.113.4", t, nt),
		    "203.0.113.4");
		/* A chain of trusted proxies, v4 and v6. */
		CHECK_STR(client("10.0.0.5", "198.51.100.7, 2001:db8::9, 192.0.2.1,"
		    "10.1.1.1", t, nt), "198.51.100.7");
		CHECK_STR(client("2001:db8::1", "::ffff:10.2.2.2,198.51.100.8", t,
		    nt), "198.51.100.8");
		CHECK_STR(client("::ffff:10.0.0.5", "198.51.100.8, ::ffff:10.2.2.2",
		    t, nt), "198.51.100.8");
		/* Spoofed entries left of the client are never read, even
		 * malformed or trusted-looking ones. */
		CHECK_STR(client("10.0.0.5", "10.9.9.9, 192.0.2.1, 198.51.100.7", t,
		    nt), "198.51.100.7");
		CHECK_STR(client("10.0.0.5", "not-an-ip, , 198.51.100.7", t, nt),
		    "198.51.100.7");
		/* Every hop trusted: the leftmost is the client. */
		CHECK_STR(client("10.0.0.5", "10.1.1.1, 10.2.2.2", t, nt),
		    "10.1.1.1");
		/* A malformed entry reached by the walk: -1. */
		CHECK_STR(client("10.0.0.5", "198.51.100.7, bogus", t, nt),
		    "-1 via 10.0.0.5");
		CHECK_STR(client("10.0.0.5", "198.51.100.7, 10.3.3.3, bogus", t,
		    nt), "-1 via 10.0.0.5");
		CHECK_STR(client("10.0.0.5", "bogus, 10.3.3.3", t, nt),
		    "-1 via 10.3.3.3");
		CHECK_STR(client("10.0.0.5", "198.51.100.7,", t, nt),
		    "-1 via 10.0.0.5");
		CHECK_STR(client("10.0.0.5", "198.51.100.7,,10.3.3.3", t, nt),
		    "-1 via 10.3.3.3");
		CHECK_STR(client("10.0.0.5", "198.51.100.7:5555", t, nt),
		    "-1 via 10.0.0.5");
		CHECK_STR(client("10.0.0.5", "[2001:db8:1::1]", t, nt),
		    "-1 via 10.0.0.5");
		/* Spaces and tabs around commas and at the ends. */
		CHECK_STR(client("10.0.0.5", "  198.51.100.7 ,\t10.3.3.3\t,  "
		    "10.4.4.4  ", t, nt), "198.51.100.7");
		/* No header, or an empty one, with a trusted peer: the peer. */
		CHECK_STR(client("10.0.0.5", NULL, t, nt), "10.0.0.5");
		CHECK_STR(client("10.0.0.5", "", t, nt), "10.0.0.5");
		CHECK_STR(client("10.0.0.5", " \t ", t, nt), "10.0.0.5");
	}
	TEST("cidr: the walk stops after 32 entries") {
		struct bs_cidr t[1];
		size_t nt = ranges(t, (const char *[]){ "10.0.0.0/8" }, 1);
		char xff[2048];
		size_t w = 0;
		/* 198.51.100.7 then 40 trusted hops 10.0.0.1 .. 10.0.0.40. */
		w += (size_t)snprintf(xff + w, sizeof(xff) - w, "198.51.100.7");
		for (int i = 1; i <= 40; i++)
			w += (size_t)snprintf(xff + w, sizeof(xff) - w, ", 10.0.0.%d",
			    41 - i);
		/* More trusted hops than examined: the client is unknown. */
		CHECK_STR(client("10.0.0.100", xff, t, nt), "-1 via 10.0.0.32");
		/* Exactly 32 entries, all trusted: the leftmost. */
		w = 0;
		for (int i = 1; i <= 32; i++)
			w += (size_t)snprintf(xff + w, sizeof(xff) - w, "%s10.0.1.%d",
			    i > 1 ? "," : "", i);
		CHECK_STR(client("10.0.0.100", xff, t, nt), "10.0.1.1");
		/* An untrusted 32nd entry from the right is still reached. */
		w = 0;
		w += (size_t)snprintf(xff + w, sizeof(xff) - w, "1.1.1.1, 198.51."
		    "100.9");
		for (int i = 1; i <= 31; i++)
			w += (size_t)snprintf(xff + w, sizeof(xff) - w, ",10.0.2.%d", i);
		CHECK_STR(client("10.0.0.100", xff, t, nt), "198.51.100.9");
		/* A spoofed flood left of the real client changes nothing. */
		w = 0;
		for (int i = 1; i <= 100; i++)
			w += (size_t)snprintf(xff + w, sizeof(xff) - w, "10.0.3.%d,", i);
		w += (size_t)snprintf(xff + w, sizeof(xff) - w, "203.0.113.50");
		CHECK_STR(client("10.0.0.100", xff, t, nt), "203.0.113.50");
	}
	return TEST_REPORT();
}
