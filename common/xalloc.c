/* xalloc: see xalloc.h. Aborts with the size and call site on OOM. */
#include "common/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n, const char *file, int line)
{
	fprintf(stderr, "bitsleuth: out of memory allocating %zu bytes at %s:%d\n",
	    n, file, line);
	abort();
}

void *
bs_xmalloc_(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n, file, line);
	return p;
}

void *
bs_xcalloc_(size_t nmemb, size_t size, const char *file, int line)
{
	if (size && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX, file, line);
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size, file, line);
	return p;
}

void *
bs_xrealloc_(void *p, size_t n, const char *file, int line)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n, file, line);
	return q;
}

char *
bs_xstrndup_(const char *s, size_t n, const char *file, int line)
{
	char *p = bs_xmalloc_(n + 1, file, line);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
