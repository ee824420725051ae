/* escape.h - the escapes for HTML (text and quoted attributes alike) and for URLs. */
#ifndef GAZETTE_ESCAPE_H
#define GAZETTE_ESCAPE_H

#include <stddef.h>

#include "buf.h"

/* HTML text and the Mustache default: & < > " ' become entities. */
void escape_html(struct buf *out, const char *s, size_t len);
/* One URL path segment or query value: everything but RFC 3986 unreserved is %XX. */
void escape_url(struct buf *out, const char *s, size_t len);

#endif
