/* buf.h - a growable byte buffer, always NUL-terminated, for building responses. */
#ifndef GAZETTE_BUF_H
#define GAZETTE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated once anything was appended; NULL when empty */
	size_t len;
	size_t cap;
};

#define BUF_INIT           \
	{                  \
		NULL, 0, 0 \
	}

void buf_init(struct buf *b);
/* Frees the contents; the struct itself belongs to the caller. */
void buf_cleanup(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hands the contents to the caller (free() them; never NULL) and empties the buffer. */
char *buf_steal(struct buf *b, size_t *len);
/* The contents as a C string ("" when empty); owned by the buffer. */
const char *buf_str(const struct buf *b);

#endif
