/* cidr: address ranges ("10.0.0.0/8", "2001:db8::/32") for the source
 * allow-list of webhook deliveries (bitbucket.allow_cidrs) and the proxies
 * whose X-Forwarded-For is believed (http.trusted_proxies); and the walk
 * that picks a request's client address from its TCP peer and that header.
 *
 * Pure (libc only, inet_pton/inet_ntop). Every address is held in one
 * 16-byte form: IPv6 as is, IPv4 as its v4-mapped IPv6 address
 * (::ffff:a.b.c.d), so "1.2.3.4" and "::ffff:1.2.3.4" are the same address
 * and an IPv4 range a.b.c.d/n is the IPv6 range ::ffff:a.b.c.d/(96+n).
 * An IPv6 range that covers ::ffff:0:0/96 (such as ::/0) therefore also
 * matches every IPv4 address. */
#ifndef BS_CIDR_H
#define BS_CIDR_H

#include <stddef.h>

struct sockaddr;

/* One range: the network address (no bit set past `bits`) and its prefix
 * length in the 16-byte form, 0..128 (an IPv4 /n is 96+n). */
struct bs_cidr {
	unsigned char addr[16];
	unsigned bits;
};

/* Room bs_cidr_format needs: an IPv6 address in text and its NUL. */
#define BS_CIDR_ADDRSTRLEN 46

/* Parses "10.0.0.0/8", "192.168.1.7" (= /32), "2001:db8::/32" or "::1"
 * (= /128) into *out. Returns 0, or -1 with a static reason in *why (when
 * why is not NULL): empty, a bad address, a prefix length that is not a
 * decimal number or out of range (0..32 for IPv4, 0..128 for IPv6), text
 * after it, or host bits set beyond the prefix ("10.0.0.1/8": refused, the
 * range is not what it reads like). In that last case only, *out holds the
 * network with the host bits cleared (10.0.0.0/8), for a "did you mean";
 * otherwise *out is written on success only. No spaces, zone ids ("%eth0")
 * or brackets. */
int bs_cidr_parse(const char *text, struct bs_cidr *out, const char **why);

/* 1 when addr (16-byte form) is inside any of list[0..n), else 0. */
int bs_cidr_match16(const struct bs_cidr *list, size_t n,
    const unsigned char addr[16]);

/* The address text[0..len) (IPv4 dotted, IPv6, or v4-mapped IPv6 like
 * ::ffff:1.2.3.4), spaces and tabs around it ignored, into its 16-byte
 * form. Returns 0, or -1 when it is anything else (empty, a NUL inside,
 * a port, brackets, a zone id, a prefix). */
int bs_cidr_addr16(const char *text, size_t len, unsigned char out[16]);

/* The address of sa (AF_INET or AF_INET6) into its 16-byte form. Returns
 * 0, or -1 for any other family (a unix socket). */
int bs_cidr_sockaddr16(const struct sockaddr *sa, unsigned char out[16]);

/* Most X-Forwarded-For entries bs_cidr_client examines. */
#define BS_CIDR_MAX_HOPS 32

/* The client address of a request, written to out.
 *
 * Starts from the TCP peer `peer`; while the current hop is in
 * trusted[0..nt), steps left to the rightmost entry of `xff` not yet used
 * (xff: the comma-separated value of the X-Forwarded-For fields, several
 * fields joined with ',' in order; NULL or blank for none). The hop where
 * the walk stops is the client: the first untrusted one, or the leftmost
 * entry when every one is trusted. Entries left of the client, which
 * anybody can write, are never read. With nt == 0 the client is the peer,
 * whatever xff says.
 *
 * Returns 0, or -1 when no address can be trusted as the client (the
 * caller refuses the request): the entry the walk reached is malformed
 * (not an address as bs_cidr_addr16 reads it; an empty one between commas
 * included), or BS_CIDR_MAX_HOPS entries were all trusted and more remain.
 * On -1, out holds the last well-formed hop reached (the peer or a trusted
 * proxy), for the log. */
int bs_cidr_client(const unsigned char peer[16], const char *xff,
    const struct bs_cidr *trusted, size_t nt, unsigned char out[16]);

/* addr as text into buf (len >= BS_CIDR_ADDRSTRLEN): dotted IPv4 when it
 * is v4-mapped, else IPv6. Returns buf ("?" when len is too small). */
const char *bs_cidr_format(const unsigned char addr[16], char *buf,
    size_t len);

#endif
