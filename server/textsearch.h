/* textsearch.h - one tokenizer for stories and queries in every script (SPEC §15): the terms a
 * full-text index stores and a search looks up, for any storage engine. */
#ifndef GAZETTE_TEXTSEARCH_H
#define GAZETTE_TEXTSEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* A term is at most this many bytes; a longer word is cut between characters. */
#define TEXTSEARCH_TERM_MAX 128

/* Called for each term in order: the folded term (UTF-8, len bytes, not NUL-terminated) and
 * the bytes [start, end) of the text it came from. A nonzero return stops the tokenizing. */
typedef int textsearch_fn(void *ctx, const char *term, size_t len, size_t start, size_t end);

/* Splits text (len bytes of UTF-8; invalid bytes separate terms) into terms: case folded
 * (Unicode full folding: "Straße" gives "strasse"), compatibility forms unified, the marks of
 * Latin, Greek, Cyrillic, Hebrew and Arabic letters dropped ("Zürich" gives "zurich"), default
 * ignorable characters dropped. Han, Hiragana, Katakana and Hangul give overlapping bigrams
 * ("吉林省" gives "吉林", "林省"; a lone character is one term); other letters, marks and
 * digits give words; each other symbol (an emoji) is a term of its own; the rest separates.
 * Returns 0, or the first nonzero value fn returned. */
int textsearch_tokenize(const char *text, size_t len, textsearch_fn *fn, void *ctx);

/* Which terms this tokenizer makes: its own rules and utf8proc's Unicode version, as one number
 * (rules * 10^6 + major * 10^4 + minor * 10^2 + update). An index built under another number
 * holds other terms for the same text and must be rebuilt. */
long long textsearch_version(void);

/* Appends the terms of text separated by single spaces (for an engine that is given terms,
 * and for tests). */
void textsearch_terms(struct buf *out, const char *text, size_t len);

/* Whether the word (len bytes) is one term made of a single Han, Kana or Hangul character:
 * stories hold such a character inside bigrams, so a search for it looks for terms that begin
 * with it. */
bool textsearch_lone_cjk(const char *word, size_t len);

#endif
