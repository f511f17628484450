/* arena: see arena.h. Blocks of at least 4 KiB, larger requests get a block
 * of their own; the list is freed in one walk. */
#include "common/arena.h"
#include "common/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096
#define ARENA_ALIGN 16

struct bs_arena_block {
	struct bs_arena_block *next;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

void
bs_arena_init(struct bs_arena *a)
{
	memset(a, 0, sizeof(*a));
}

void
bs_arena_release(struct bs_arena *a)
{
	struct bs_arena_block *b = a->_head;
	while (b) {
		struct bs_arena_block *next = b->next;
		free(b);
		b = next;
	}
	bs_arena_init(a);
}

void *
bs_arena_alloc(struct bs_arena *a, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n)
		need = SIZE_MAX; /* overflow: let xmalloc report it */
	if (!a->_head || a->_head->cap - a->_used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		struct bs_arena_block *b = xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		if (a->_head && need > ARENA_BLOCK && a->_head->cap - a->_used > 256) {
			/* Keep filling the current block: put the big one behind it. */
			b->next = a->_head->next;
			a->_head->next = b;
			a->total += n;
			memset(b->data, 0, need);
			return b->data;
		}
		b->next = a->_head;
		a->_head = b;
		a->_used = 0;
	}
	void *p = a->_head->data + a->_used;
	a->_used += need;
	a->total += n;
	memset(p, 0, need);
	return p;
}

char *
bs_arena_strndup(struct bs_arena *a, const char *s, size_t n)
{
	char *p = bs_arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
bs_arena_strdup(struct bs_arena *a, const char *s)
{
	return s ? bs_arena_strndup(a, s, strlen(s)) : NULL;
}

char *
bs_arena_printf(struct bs_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return bs_arena_strndup(a, "", 0);
	char *p = bs_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void *
bs_arena_push(struct bs_arena *a, void **arr, size_t *n, size_t *cap,
    size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		void *na = bs_arena_alloc(a, ncap * size);
		if (*n)
			memcpy(na, *arr, *n * size);
		*arr = na;
		*cap = ncap;
	}
	void *el = (unsigned char *)*arr + (*n)++ * size;
	memset(el, 0, size);
	return el;
}
