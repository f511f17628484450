/* arena: a bump allocator whose blocks are all freed at once.
 *
 * A normalised event (and a decoded job) owns one arena; every string and
 * array in it lives there, so releasing an event is one call and a parser
 * error half-way through leaks nothing. Allocations are 16-byte aligned.
 * Not thread-safe (nothing in bitsleuth shares an event across threads). */
#ifndef BS_ARENA_H
#define BS_ARENA_H

#include <stddef.h>

struct bs_arena_block;

struct bs_arena {
	struct bs_arena_block *_head;
	size_t _used;      /* bytes used in _head */
	size_t total;      /* bytes handed out, for limits and tests */
};

/* Zero-initialised arenas are valid: `struct bs_arena a = {0};` works. */
void bs_arena_init(struct bs_arena *a);
/* Frees every block; the arena is empty and usable again afterwards. */
void bs_arena_release(struct bs_arena *a);

void *bs_arena_alloc(struct bs_arena *a, size_t n);        /* zeroed */
char *bs_arena_strndup(struct bs_arena *a, const char *s, size_t n);
char *bs_arena_strdup(struct bs_arena *a, const char *s);  /* NULL -> NULL */
char *bs_arena_printf(struct bs_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Grows the array *arr of *n elements of `size` bytes by one zeroed element
 * and returns it. The array is copied on growth (capacity doubles), so keep
 * no pointers into it while it grows. */
void *bs_arena_push(struct bs_arena *a, void **arr, size_t *n, size_t *cap,
    size_t size);

#endif
