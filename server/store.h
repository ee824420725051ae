/* store.h - the article store: every rule about records over any storage engine (SPEC §4, §7,
 * §9). Callers never see SQL; the engines (store_backend.h) never see a rule. */
#ifndef GAZETTE_STORE_H
#define GAZETTE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "article.h"
#include "buf.h"

struct store;

/* Error codes returned as negatives: -ENOENT no such article, -EEXIST slug taken, -EROFS the
 * database cannot be written, -ENOSPC disk full, -EBUSY locked too long, -ETIMEDOUT a read
 * stopped at its time budget, -EAGAIN too many expensive reads at once, -EIO anything else
 * (the engine's message goes to the log, never to a client). */

/* A search reads at most this many words of its query. */
#define STORE_SEARCH_WORDS 8

/* Opens (creating and migrating as needed) the database at where, with nreaders reading
 * connections, in the engine where names (a path: SQLite). Returns NULL with a message in
 * err. Free with store_close. */
struct store *store_open(const char *where, unsigned nreaders, struct buf *err);
void store_close(struct store *s);

/* Calls fn(arg) after every transaction this process commits (changes.c counts them). */
void store_on_commit(struct store *s, void (*fn)(void *arg), void *arg);

struct gate;

/* Bounds on the expensive reads (store_list): each runs for at most budget_ms (0: no bound)
 * before it stops with -ETIMEDOUT, and each takes a place of gate (NULL: no bound) while it
 * runs, or answers -EAGAIN when none comes free. */
struct store_limits {
	unsigned budget_ms;
	struct gate *gate; /* the caller's; it outlives the store */
};
/* Call before the store is shared between threads. */
void store_set_limits(struct store *s, const struct store_limits *limits);
/* Fills a (initialized) with the article at slug. public_only hides drafts and articles whose
 * published_at is after now. Returns 0, -ENOENT or -EIO. */
int store_get(struct store *s, const char *slug, bool public_only, int64_t now, struct article *a);

struct store_query {
	unsigned page;     /* 1-based */
	unsigned per_page; /* 1 or more */
	const char *tag;   /* NULL: any */
	const char *q;     /* NULL: no full-text search; else the user's words */
	bool public_only;
	int64_t now;
	bool with_body; /* false leaves body and body_html empty */
};

struct article_list {
	struct article *items;
	size_t n;
	unsigned total; /* matches over all pages */
};

/* Lists matching articles, newest published_at first (ties: higher id first), or by rank when
 * q is given. Returns 0 or a negative error; free the list with article_list_cleanup. */
int store_list(struct store *s, const struct store_query *q, struct article_list *out);
void article_list_cleanup(struct article_list *l);

/* Number of articles (public ones, or all). Returns it, or a negative error. */
int64_t store_count(struct store *s, bool public_only, int64_t now);

/* The number of public articles, counted once per content generation (for /healthz). */
int64_t store_count_public(struct store *s, int64_t now, uint64_t generation);

/* When the content last changed as readers see it: the last committed write (of any process)
 * or the last scheduled publication time passed by now, whichever is later. Returns it (Unix
 * seconds), or a negative error. Stable across restarts: it is read from the database. */
int64_t store_changed_at(struct store *s, int64_t now);

/* Appends the engine's query plan of the statements store_list runs for q (the page's rows, then
 * the count), one step a line, each statement ended by a "--" line. Returns 0 or a negative
 * error. For tests and operators. */
int store_plan(struct store *s, const struct store_query *q, struct buf *out);
/* Stores a new article. A derived slug that is taken gets -2, -3, ...; an empty derived slug
 * becomes article-<id>; a given slug that is taken is -EEXIST. Sets a->id, a->slug and the
 * dates (created_at/updated_at are kept when a came from an import and has them).
 * Returns 0 or a negative error; on error nothing is stored. */
int store_create(struct store *s, struct article *a, int64_t now);

/* Replaces the article at slug with a (keeping its id and created_at; without a slug of its own
 * a keeps the old one, with a new one the article is renamed). Returns 0, -ENOENT, -EEXIST or
 * another negative error. */
int store_replace(struct store *s, const char *slug, struct article *a, int64_t now);

/* Returns 0, -ENOENT or another negative error. */
int store_delete(struct store *s, const char *slug);

/* Stores a as the new version of the article with its uri (when it has one; a slug derived
 * from its title is then only for a new article) or at its slug, or as a new article; *created
 * says which. Returns 0 or a negative error; on error nothing is stored. */
int store_upsert(struct store *s, struct article *a, int64_t now, bool *created);
/* Inserts or updates each article as store_upsert does (keeping the ids and times an export
 * brings), all in one transaction: on any error nothing changes and *failed is the index of
 * the article that failed. */
int store_import(struct store *s, struct article *list, size_t n, int64_t now, size_t *failed);

/* Every article (drafts and scheduled too), ordered by id, with bodies. */
int store_export(struct store *s, struct article_list *out);

/* A number that changes when another process or instance commits a write. */
int64_t store_external_version(struct store *s);

/* The earliest publication time after after of a story that will then be public, INT64_MAX
 * when there is none, or a negative error. */
int64_t store_next_publication(struct store *s, int64_t after);

/* Quotes the user's words for an FTS5 MATCH: each of the first STORE_SEARCH_WORDS words
 * becomes a "string" (quotes doubled), so no input is FTS syntax; at most 512 bytes. Appends
 * to out; appends nothing when there is no word. */
void store_fts_query(struct buf *out, const char *q);

/* Where the words of q past the first max begin (a pointer into q), or NULL when q has at
 * most max words. */
const char *store_words_beyond(const char *q, unsigned max);

#endif
