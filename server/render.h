/* render.h - page contexts, and which template renders each page (SPEC §6). */
#ifndef GAZETTE_RENDER_H
#define GAZETTE_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct config;
struct render;
struct render_listing;

/* Loads the templates of cfg->templates. Returns NULL with "file:line:col: message" in err.
 * cfg must outlive the result; free it with render_free. */
struct render *render_new(const struct config *cfg, struct buf *err);
void render_free(struct render *r);

/* Parses the template folder again and swaps it in; pages being rendered finish with the old
 * set. Returns 0, or -1 with a message in err and the old set still in use. */
int render_reload(struct render *r, struct buf *err);

/* Changes with every successful reload. */
uint64_t render_version(struct render *r);

/* When the loaded templates or the configuration file last changed (their newest
 * modification time): pages drawn by them are no older than that. */
int64_t render_changed_at(struct render *r);

/* Each page appends HTML (or XML) to out and returns 0, or -1 with a message in err. */

/* A story's page. authors (NULL: none) is what its accounts show: an array of {"handle",
 * "name"} in the story's order; a preview is a draft's signed page, never to be indexed. */
struct render_story {
	const struct article *a;
	const json_t *authors;
	bool preview;
};
int render_article(struct render *r, const struct render_story *st, struct buf *out,
                   struct buf *err);

/* An author's page (SPEC §11): the account ({"handle", "name", "bio"}) and a page of its
 * stories. */
int render_author(struct render *r, const json_t *account, const struct render_listing *l,
                  struct buf *out, struct buf *err);

struct render_listing {
	const struct article_list *list;
	unsigned page, pages;
	const char *tag;      /* the tag page's tag, else NULL */
	const char *q;        /* the search page's query, else NULL */
	const char *left_out; /* the words of q past the searched ones, else NULL */
};
int render_index(struct render *r, const struct render_listing *l, struct buf *out,
                 struct buf *err);
int render_tag(struct render *r, const struct render_listing *l, struct buf *out, struct buf *err);
int render_search(struct render *r, const struct render_listing *l, struct buf *out,
                  struct buf *err);
/* A document of its own (the Atom feed "feed", "sitemap", "news-sitemap") from a context the
 * caller built (the reference is taken; NULL is an error), with "site" added. */
int render_document(struct render *r, const char *name, json_t *ctx, struct buf *out,
                    struct buf *err);
/* An editor's page (SPEC §14): templates/admin/NAME.mustache over ctx (the reference is taken;
 * NULL is an error), with "site" added. */
int render_admin(struct render *r, const char *name, json_t *ctx, struct buf *out, struct buf *err);
int render_placeholder(struct render *r, struct buf *out, struct buf *err);
int render_error(struct render *r, unsigned status, const char *message, struct buf *out,
                 struct buf *err);

/* The NewsArticle JSON-LD of a story, safe inside a <script> element: '<', '>' and '&' are
 * written as \u003c, \u003e, \u0026. Its authors are the accounts (a Person with the url of
 * their page) and the free-text author, never the editor; dateModified is the later of the
 * update and the last correction. Appends to out. */
void render_jsonld(const struct config *cfg, const struct render_story *st, struct buf *out);

/* Where an author's page is: "/authors/<handle>", with base_url before it. Free the result. */
char *render_author_path(const char *handle, const char *base_url);

/* A date in site.timezone with site.date_format. Appends to out. */
void render_date(const struct config *cfg, int64_t utc, struct buf *out);

#endif
