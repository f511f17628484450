/* ip_count: open connections per source address, for
 * http.max_connections_per_ip. Private to ingest/ (http_server uses it).
 *
 * A chained hash of 16-byte addresses (IPv4 as v4-mapped IPv6) to counts;
 * an address whose count drops to 0 is removed, so the table holds at most
 * one entry per open connection. Loop thread only. */
#ifndef BS_IP_COUNT_H
#define BS_IP_COUNT_H

#include <stddef.h>

struct bs_ip_count;

/* Never NULL (allocation failure aborts). */
struct bs_ip_count *bs_ip_count_new(void);
/* Adds one connection of addr; returns the address' count with it. */
size_t bs_ip_count_add(struct bs_ip_count *t, const unsigned char addr[16]);
/* Removes one connection of addr (which must have been added). */
void bs_ip_count_del(struct bs_ip_count *t, const unsigned char addr[16]);
/* NULL is a no-op. */
void bs_ip_count_free(struct bs_ip_count *t);

#endif
