/* langtag.h - BCP 47 language tags (RFC 5646): well-formedness, canonical case, and the codes
 * Google News wants. */
#ifndef GAZETTE_LANGTAG_H
#define GAZETTE_LANGTAG_H

#include <stdbool.h>

#include "buf.h"

/* A language tag is at most this many characters (RFC 5646 §4.4.1 asks for at least 35). */
#define LANGTAG_MAX 35

/* Whether s is a well-formed language tag (RFC 5646 §2.1: language, extlang, script, region,
 * variants, extensions, private use; not the grandfathered irregular tags), and if so appends
 * it to out in canonical case: "ZH-hans-cn" gives "zh-Hans-CN". Returns false and appends
 * nothing otherwise. */
bool langtag_canonical(const char *s, struct buf *out);

/* The code for a Google news sitemap's <news:language> (the tag's primary language, lower
 * case; Chinese is "zh-cn" or, written in Traditional script or for Taiwan, Hong Kong or Macao,
 * "zh-tw"). tag must be well-formed. Appends to out. */
void langtag_news(const char *tag, struct buf *out);

#endif
