/* ninjs.h - IPTC ninjs 3.1 (SPEC §15): a story as a ninjs document, and a ninjs document (or
 * Superdesk's ninjs 1.x dialect) as a story. */
#ifndef GAZETTE_NINJS_H
#define GAZETTE_NINJS_H

#include <jansson.h>
#include <stdint.h>

#include "article.h"
#include "buf.h"

/* The ninjs 3.1 document of a story: uri (the one it came under, else its URL), type, language
 * (its own or site_language), pubStatus, firstCreated (published_at), versionCreated
 * (updated_at), headlines, descriptions (the summary), bodies (body_html as text/html), by
 * (the author), infoSources (source and editor), subjects (tags, with their pages' URLs).
 * Returns a new reference. */
json_t *ninjs_from_article(const struct article *a, const char *base_url,
                           const char *site_language);

/* Validates a ninjs 3.1 document (or, when it has "guid" and no "uri", Superdesk's dialect) and
 * fills a (initialized, empty) as article_from_json does in mode. Its uri is kept, unless it is
 * a story's URL on this site (base_url + "/articles/" + slug): then it names that slug. An HTML
 * body becomes Markdown (scripts and everything else the Markdown cannot say left out), a plain
 * one its text. Fields of ninjs that a story has no place for are left out, and named in
 * ignored (an array of strings the caller frees; NULL when not wanted). Returns 0, or -1 with
 * err naming the ninjs field (e.g. "headlines", "subjects[2]") and a left for cleanup. */
int ninjs_to_article(const json_t *in, enum article_mode mode, int64_t now, const char *base_url,
                     struct article *a, struct article_error *err, json_t *ignored);

/* Markdown that says what the HTML says (paragraphs, headings, lists, quotes, code, tables,
 * emphasis, strikethrough, http/https/mailto links), with its text escaped so that none of it
 * is Markdown syntax; scripts, styles, frames, forms and unknown markup leave only their text
 * (scripts and styles not even that). Lists and quotes nested more than 8 deep run inline.
 * Appends to out and returns 0; -EINVAL (a tag with more than 100 attributes, which libxml2
 * would take quadratic time over) or -E2BIG (more than 8 times len + 64 KiB of Markdown)
 * appends nothing. */
int ninjs_html_markdown(struct buf *out, const char *html, size_t len);

/* Markdown whose paragraphs are the lines of plain text, every character literal. Appends. */
void ninjs_text_markdown(struct buf *out, const char *text);

#endif
