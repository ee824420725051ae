/* surrogate.h - the names of what a cacheable answer shows (SPEC §13): the Surrogate-Key a
 * page carries and the keys a change purges, both from here, so that a purge always names
 * what the pages carry. */
#ifndef GAZETTE_SURROGATE_H
#define GAZETTE_SURROGATE_H

#include <stdint.h>

#include "article.h"
#include "buf.h"

/* The fixed keys: every listing of stories, the search pages, the feed, the sitemaps, the
 * files of paths.static, the images' renditions. */
#define SURROGATE_FRONT   "front"
#define SURROGATE_SEARCH  "search"
#define SURROGATE_FEED    "feed"
#define SURROGATE_SITEMAP "sitemap"
#define SURROGATE_STATIC  "static"
#define SURROGATE_MEDIA   "media"

/* A key names only [A-Za-z0-9_-] and '%' (every other byte of a tag or handle is written
 * %XX), so that keys split on spaces and match as plain words in a ban expression. Each
 * appends one key to out, a space first when out is not empty. */
void surrogate_article(struct buf *out, int64_t id);
void surrogate_tag(struct buf *out, const char *tag);
void surrogate_author(struct buf *out, const char *handle);
/* What a story's page carries for each of its authors, whose name and link it shows: an edit
 * of the account purges it (and the author's page), never a story's own edit. */
void surrogate_byline(struct buf *out, const char *handle);

/* The keys an edit of the account handle (its name, its bio) moves: the feed (its entries
 * name their authors), the author's page, the story pages that show its byline. */
void surrogate_account(struct buf *out, const char *handle);

/* The keys whose answers a change from old to new (either may be NULL: a story created or
 * deleted) may have moved, appended to out: the listings, search, feed and sitemaps, the
 * story's own, and each tag and author of either version. Whether readers saw either version
 * (a draft's edit shows nowhere) is the caller's question. */
void surrogate_change(struct buf *out, const struct article *old, const struct article *new_);

/* Whether text is a list of keys as above, separated by single spaces. */
bool surrogate_valid(const char *text);

#endif
