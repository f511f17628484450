/* xalloc: allocation that aborts on out-of-memory.
 *
 * bitsleuth is an application, not a library: like Redis' zmalloc and h2o's
 * h2o_mem_alloc, running out of memory is fatal and reported with the size
 * and call site. What keeps memory bounded is not checking malloc's result
 * but capping every input-driven size before allocating (body limit, JSON
 * depth, commits per event, message length, see the config reference). */
#ifndef BS_XALLOC_H
#define BS_XALLOC_H

#include <stddef.h>

void *bs_xmalloc_(size_t n, const char *file, int line);
void *bs_xcalloc_(size_t nmemb, size_t size, const char *file, int line);
void *bs_xrealloc_(void *p, size_t n, const char *file, int line);
char *bs_xstrndup_(const char *s, size_t n, const char *file, int line);

#define xmalloc(n)        bs_xmalloc_((n), __FILE__, __LINE__)
#define xcalloc(m, n)     bs_xcalloc_((m), (n), __FILE__, __LINE__)
#define xrealloc(p, n)    bs_xrealloc_((p), (n), __FILE__, __LINE__)
#define xstrndup(s, n)    bs_xstrndup_((s), (n), __FILE__, __LINE__)
#define xstrdup(s)        bs_xstrndup_((s), strlen(s), __FILE__, __LINE__)

#endif
