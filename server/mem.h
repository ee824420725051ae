/* mem.h - allocation wrappers: out of memory aborts, so callers carry no NULL checks. */
#ifndef GAZETTE_MEM_H
#define GAZETTE_MEM_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); none returns NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What a block of n bytes from malloc really takes, its header and rounding included (glibc
 * on 64-bit machines): for counting the true size of what a cache holds. */
size_t mem_footprint(size_t n);

#endif
