/* ip_count: connections per source address (see ip_count.h). The bucket
 * count doubles when entries outnumber buckets, so chains stay short;
 * the hash is keyed per process so that an attacker choosing addresses
 * cannot aim at one chain. */
#include "ingest/ip_count.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/xalloc.h"

struct entry {
	struct entry *next;
	unsigned char addr[16];
	size_t n;
};

struct bs_ip_count {
	struct entry **b;
	size_t nb, n;
	uint64_t key;
};

/* FNV-1a over the address, seeded with the table's key. */
static size_t
hash(const struct bs_ip_count *t, const unsigned char a[16])
{
	uint64_t h = 1469598103934665603ULL ^ t->key;
	for (int i = 0; i < 16; i++) {
		h ^= a[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return (size_t)(h & (t->nb - 1));
}

struct bs_ip_count *
bs_ip_count_new(void)
{
	struct bs_ip_count *t = xcalloc(1, sizeof(*t));
	t->nb = 256;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	t->key = (uint64_t)bs_now_ms() * 0x9E3779B97F4A7C15ULL ^
	    (uint64_t)(uintptr_t)t;
	return t;
}

static void
grow(struct bs_ip_count *t)
{
	struct entry **old = t->b;
	size_t onb = t->nb;
	t->nb *= 2;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	for (size_t i = 0; i < onb; i++) {
		for (struct entry *e = old[i], *nx; e; e = nx) {
			nx = e->next;
			size_t h = hash(t, e->addr);
			e->next = t->b[h];
			t->b[h] = e;
		}
	}
	free(old);
}

size_t
bs_ip_count_add(struct bs_ip_count *t, const unsigned char addr[16])
{
	size_t h = hash(t, addr);
	for (struct entry *e = t->b[h]; e; e = e->next)
		if (memcmp(e->addr, addr, 16) == 0)
			return ++e->n;
	struct entry *e = xmalloc(sizeof(*e));
	memcpy(e->addr, addr, 16);
	e->n = 1;
	e->next = t->b[h];
	t->b[h] = e;
	if (++t->n > t->nb)
		grow(t);
	return 1;
}

void
bs_ip_count_del(struct bs_ip_count *t, const unsigned char addr[16])
{
	for (struct entry **pe = &t->b[hash(t, addr)]; *pe; pe = &(*pe)->next) {
		struct entry *e = *pe;
		if (memcmp(e->addr, addr, 16) != 0)
			continue;
		if (--e->n == 0) {
			*pe = e->next;
			free(e);
			t->n--;
		}
		return;
	}
}

void
bs_ip_count_free(struct bs_ip_count *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nb; i++) {
		for (struct entry *e = t->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(t->b);
	free(t);
}
