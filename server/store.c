/* store.c - the rules of the article store, written once over any engine: who sees what,
 * slugs and their collisions, upserts, timestamps, the bounds on expensive reads. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "mem.h"
#include "rfc3339.h"
#include "store_backend.h"
#include "textsearch.h"

#define FTS_MAX_BYTES 512
/* The status a story must have to be seen by readers (SPEC §4): with a published_at that
 * has come. */
#define PUBLIC_STATUS "published"

#ifndef GAZETTE_POSTGRESQL
static struct store_engine *no_pg_open(const char *url, unsigned nreaders, struct buf *err)
{
	buf_puts(err, "this gazette was built without PostgreSQL (libpq-dev was missing)");
	return NULL;
}
#define store_pg_open no_pg_open
#endif

/* The engines, chosen by what store_open is given: a libpq URL, else a file path. */
static const struct {
	const char *prefix; /* "" matches anything: a file path */
	struct store_engine *(*open)(const char *where, unsigned nreaders, struct buf *err);
} engines[] = {
    {"postgresql://", store_pg_open},
    {"postgres://", store_pg_open},
    {"", store_sqlite_open},
};

struct store {
	struct store_engine *e;
	struct store_limits limits;
	void (*on_commit)(void *arg);
	void *on_commit_arg;
	pthread_mutex_t count_lock; /* the public count, kept for one generation */
	uint64_t count_generation;
	int64_t count;
};

struct store *store_open(const char *where, unsigned nreaders, struct buf *err)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		if (strncmp(where, engines[i].prefix, strlen(engines[i].prefix)) != 0)
			continue;
		struct store_engine *e = engines[i].open(where, nreaders, err);
		if (!e)
			return NULL;
		struct store *s = xcalloc(1, sizeof(*s));
		s->e = e;
		pthread_mutex_init(&s->count_lock, NULL);
		return s;
	}
	buf_printf(err, "no storage engine for %s", where);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->e->ops->close(s->e);
	pthread_mutex_destroy(&s->count_lock);
	free(s);
}

void store_on_commit(struct store *s, void (*fn)(void *arg), void *arg)
{
	s->on_commit = fn;
	s->on_commit_arg = arg;
}

void store_set_limits(struct store *s, const struct store_limits *limits)
{
	s->limits = *limits;
}

/* SPEC §4: a reader sees a story when it is published and its published_at has come; a
 * token holder asking for everything sees every record. */
static struct store_filter visible(bool public_only, int64_t now)
{
	if (public_only)
		return (struct store_filter){PUBLIC_STATUS, now};
	return (struct store_filter){NULL, INT64_MAX};
}

void store_tags_from_text(struct article *a, const char *tags)
{
	if (!tags)
		tags = "";
	a->tags = xcalloc(ARTICLE_TAGS_MAX, sizeof(char *));
	a->ntags = 0;
	while (*tags && a->ntags < ARTICLE_TAGS_MAX) {
		size_t n = strcspn(tags, " ");
		a->tags[a->ntags++] = xstrndup(tags, n);
		tags += n;
		while (*tags == ' ')
			tags++;
	}
}

void article_list_cleanup(struct article_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		article_cleanup(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* --- reads --- */

int store_get(struct store *s, const char *slug, bool public_only, int64_t now, struct article *a)
{
	struct store_filter f = visible(public_only, now);
	return s->e->ops->get(s->e, slug, &f, a);
}

/* Where the next word of q begins (after white space), and its length in *len; NULL at the
 * end. The one place that says what a search word is. */
static const char *next_word(const char *p, size_t *len)
{
	static const char space[] = " \t\n\r\f\v";
	p += strspn(p, space);
	if (!*p)
		return NULL;
	*len = strcspn(p, space);
	return p;
}

const char *store_words_beyond(const char *q, unsigned max)
{
	size_t n;
	const char *w = next_word(q, &n);
	for (unsigned i = 0; w && i < max; i++)
		w = next_word(w + n, &n);
	return w;
}

void store_fts_query(struct buf *out, const char *q)
{
	size_t start = out->len, n;
	unsigned words = 0;
	for (const char *w = next_word(q, &n); w && words < STORE_SEARCH_WORDS;
	     w = next_word(w + n, &n)) {
		if (out->len - start + n + 4 > FTS_MAX_BYTES)
			break;
		if (words++)
			buf_putc(out, ' ');
		buf_putc(out, '"');
		for (size_t i = 0; i < n; i++) {
			if (w[i] == '"')
				buf_putc(out, '"');
			buf_putc(out, w[i]);
		}
		buf_putc(out, '"');
		if (textsearch_lone_cjk(w, n))
			buf_putc(out, '*'); /* stories hold it in bigrams: the terms it begins */
	}
}

/* The engine's page for q, its match text kept in fts. */
static struct store_page page_of(const struct store_query *q, struct buf *fts)
{
	unsigned per_page = q->per_page ? q->per_page : 1;
	unsigned page = q->page ? q->page : 1;
	if (q->q)
		store_fts_query(fts, q->q);
	uint64_t offset = (uint64_t)(page - 1) * per_page;
	return (struct store_page){
	    .filter = visible(q->public_only, q->now),
	    .tag = q->tag,
	    .match = q->q ? buf_str(fts) : NULL,
	    .limit = per_page,
	    .offset = offset > UINT32_MAX ? UINT32_MAX : (unsigned)offset,
	    .with_body = q->with_body,
	};
}

int store_list(struct store *s, const struct store_query *q, struct article_list *out)
{
	memset(out, 0, sizeof(*out));
	struct buf fts = BUF_INIT;
	struct store_page p = page_of(q, &fts);
	if (q->q && fts.len == 0)
		return 0; /* no words: nothing matches */
	struct gate *gate = s->limits.gate;
	int ret = gate ? gate_enter(gate) : 0;
	if (ret < 0) {
		log_warn("store: %u expensive reads already running; one more refused",
		         gate->places);
		buf_cleanup(&fts);
		return ret;
	}
	p.budget_ms = s->limits.budget_ms;
	ret = s->e->ops->list(s->e, &p, out);
	if (gate)
		gate_leave(gate);
	if (ret == -ETIMEDOUT)
		log_warn("store: a %s took longer than its budget of %u ms and was stopped",
		         q->q ? "search" : "listing", s->limits.budget_ms);
	buf_cleanup(&fts);
	if (ret < 0)
		article_list_cleanup(out);
	return ret;
}

int store_plan(struct store *s, const struct store_query *q, struct buf *out)
{
	struct buf fts = BUF_INIT;
	struct store_page p = page_of(q, &fts);
	int ret = s->e->ops->plan ? s->e->ops->plan(s->e, &p, out) : -ENOTSUP;
	buf_cleanup(&fts);
	return ret;
}

int64_t store_count(struct store *s, bool public_only, int64_t now)
{
	struct store_filter f = visible(public_only, now);
	return s->e->ops->count(s->e, &f);
}

int64_t store_count_public(struct store *s, int64_t now, uint64_t generation)
{
	pthread_mutex_lock(&s->count_lock);
	bool fresh = s->count_generation == generation;
	int64_t n = s->count;
	pthread_mutex_unlock(&s->count_lock);
	if (fresh)
		return n;
	n = store_count(s, true, now);
	if (n >= 0) {
		pthread_mutex_lock(&s->count_lock);
		s->count_generation = generation;
		s->count = n;
		pthread_mutex_unlock(&s->count_lock);
	}
	return n;
}

int64_t store_changed_at(struct store *s, int64_t now)
{
	/* the last write, or the last moment a scheduled story became public */
	struct store_filter f = visible(true, now);
	return s->e->ops->changed_at(s->e, &f);
}

int store_export(struct store *s, struct article_list *out)
{
	memset(out, 0, sizeof(*out));
	int ret = s->e->ops->export(s->e, out);
	if (ret < 0)
		article_list_cleanup(out);
	return ret;
}

int64_t store_external_version(struct store *s)
{
	return s->e->ops->external_version(s->e);
}

int64_t store_next_publication(struct store *s, int64_t after)
{
	return s->e->ops->next_after(s->e, PUBLIC_STATUS, after);
}

/* --- writes: one transaction each, begun and ended here --- */

static void set_field(char **field, char *value)
{
	free(*field);
	*field = value;
}

static void stamp(char **field, int64_t t)
{
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, t);
	set_field(field, buf_steal(&b, NULL));
}

/* SPEC §4: the first free slug of base, base-2, base-3, ... (kept within the length limit).
 * Returns 0 with *out set, or a negative error. */
static int free_slug(struct store_engine *e, const char *base, char **out)
{
	for (unsigned n = 1; n < 100000; n++) {
		char *cand;
		if (n == 1) {
			cand = xstrdup(base);
		} else {
			char suffix[16];
			int sl = snprintf(suffix, sizeof(suffix), "-%u", n);
			size_t keep = strlen(base);
			if (keep + (size_t)sl > ARTICLE_SLUG_MAX)
				keep = ARTICLE_SLUG_MAX - (size_t)sl;
			while (keep > 0 && base[keep - 1] == '-')
				keep--;
			cand = xasprintf("%.*s%s", (int)keep, base, suffix);
		}
		int64_t id = e->ops->slug_id(e, cand, NULL);
		if (id == 0) {
			*out = cand;
			return 0;
		}
		free(cand);
		if (id < 0)
			return (int)id;
	}
	return -EEXIST;
}

/* A new record: its id (kept from an import when still free), its slug (a given one must be
 * free; a derived one moves on to -2, ...; one derived to nothing is article-<id>) and its
 * times (an import's kept, else now). */
static int insert_new(struct store_engine *e, struct article *a, int64_t now, bool keep_id)
{
	int taken = keep_id && a->id ? e->ops->id_exists(e, a->id) : 1;
	if (taken < 0)
		return taken;
	if (taken) {
		int64_t id = e->ops->next_id(e);
		if (id < 0)
			return (int)id;
		a->id = id;
	}
	if (!*a->created_at)
		stamp(&a->created_at, now);
	if (!*a->updated_at) {
		stamp(&a->updated_at, now);
		a->updated_ts = now;
	}
	if (a->slug_derived) {
		/* derived to nothing (a Chinese title): article-<id> */
		char *base =
		    *a->slug ? xstrdup(a->slug) : xasprintf("article-%lld", (long long)a->id);
		char *slug = NULL;
		int rc = free_slug(e, base, &slug);
		free(base);
		if (rc < 0)
			return rc;
		set_field(&a->slug, slug);
	} else {
		int64_t id = e->ops->slug_id(e, a->slug, NULL);
		if (id != 0)
			return id > 0 ? -EEXIST : (int)id;
	}
	return e->ops->insert(e, a);
}

/* Every field of the record id (its slug old_slug, created at created_at, which this frees)
 * from a: without a slug of its own a keeps the old one, a new one must be free; an import
 * (keep_stamps) keeps the times it brings. */
static int update_existing(struct store_engine *e, int64_t id, char *created_at, struct article *a,
                           const char *old_slug, int64_t now, bool keep_stamps)
{
	a->id = id;
	if (a->slug_derived) {
		set_field(&a->slug, xstrdup(old_slug));
		a->slug_derived = false;
	} else if (strcmp(a->slug, old_slug) != 0) {
		int64_t other = e->ops->slug_id(e, a->slug, NULL);
		if (other != 0) {
			free(created_at);
			return other > 0 ? -EEXIST : (int)other;
		}
	}
	if (!keep_stamps || !*a->created_at)
		set_field(&a->created_at, created_at);
	else
		free(created_at);
	if (!keep_stamps || !*a->updated_at) {
		stamp(&a->updated_at, now);
		a->updated_ts = now;
	}
	return e->ops->update(e, a);
}

/* Ends the transaction begun for a write: commits when rc is 0, with the time the content
 * changed, else rolls back. Tells whoever listens after a commit. */
static int finish(struct store *s, int rc)
{
	struct store_engine *e = s->e;
	if (rc == 0)
		rc = e->ops->touch(e, (int64_t)time(NULL));
	if (rc == 0)
		rc = e->ops->commit(e);
	else
		e->ops->rollback(e);
	if (rc == 0 && s->on_commit)
		s->on_commit(s->on_commit_arg);
	return rc;
}

int store_create(struct store *s, struct article *a, int64_t now)
{
	int rc = s->e->ops->begin(s->e, false);
	if (rc < 0)
		return rc;
	return finish(s, insert_new(s->e, a, now, false));
}

int store_replace(struct store *s, const char *slug, struct article *a, int64_t now)
{
	int rc = s->e->ops->begin(s->e, false);
	if (rc < 0)
		return rc;
	char *created_at = NULL;
	int64_t id = s->e->ops->slug_id(s->e, slug, &created_at);
	if (id <= 0)
		rc = id == 0 ? -ENOENT : (int)id;
	else
		rc = update_existing(s->e, id, created_at, a, slug, now, false);
	return finish(s, rc);
}

int store_delete(struct store *s, const char *slug)
{
	int rc = s->e->ops->begin(s->e, false);
	if (rc < 0)
		return rc;
	int64_t id = s->e->ops->slug_id(s->e, slug, NULL);
	if (id <= 0)
		rc = id == 0 ? -ENOENT : (int)id;
	else
		rc = s->e->ops->remove(s->e, id);
	return finish(s, rc);
}

/* Stores a as the new version of the record it names (the one under its uri when it has one,
 * else the one at its slug), or as a new record. An import (keep) keeps the id and times it
 * brings. */
static int upsert(struct store_engine *e, struct article *a, int64_t now, bool keep, bool *created)
{
	char *created_at = NULL, *old = NULL;
	int64_t id = 0;
	if (*a->uri) {
		id = e->ops->uri_id(e, a->uri, &old, &created_at);
	} else if (*a->slug) {
		id = e->ops->slug_id(e, a->slug, &created_at);
		old = id > 0 ? xstrdup(a->slug) : NULL;
		/* by its slug: the slug is the record's, taken or not */
		a->slug_derived = false;
	}
	*created = id == 0;
	int rc;
	if (id > 0)
		rc = update_existing(e, id, created_at, a, old, now, keep); /* frees created_at */
	else if (id == 0)
		rc = insert_new(e, a, now, keep);
	else
		rc = (int)id;
	free(old);
	return rc;
}

int store_upsert(struct store *s, struct article *a, int64_t now, bool *created)
{
	int rc = s->e->ops->begin(s->e, false);
	if (rc < 0)
		return rc;
	return finish(s, upsert(s->e, a, now, false, created));
}

int store_import(struct store *s, struct article *list, size_t n, int64_t now, size_t *failed)
{
	*failed = 0;
	int rc = s->e->ops->begin(s->e, true);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool created;
		rc = upsert(s->e, &list[i], now, true, &created);
		if (rc < 0)
			*failed = i;
	}
	return finish(s, rc);
}
