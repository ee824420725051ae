/* store.c - the rules of the article store, written once over any engine: who sees what,
 * slugs and their collisions, upserts, timestamps, the bounds on expensive reads. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "metrics.h"
#include "media.h"
#include "mem.h"
#include "outbox.h"
#include "rfc3339.h"
#include "secret.h"
#include "store_backend.h"
#include "surrogate.h"
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
static int no_pg_check(const char *url, struct buf *err)
{
	buf_puts(err, "database.url: this gazette was built without PostgreSQL (libpq-dev was "
	              "missing)");
	return -1;
}
#define store_pg_check no_pg_check
#endif

/* The engines, chosen by what store_open is given: a libpq URL, else a file path. */
static const struct engine {
	const char *prefix; /* "" matches anything: a file path */
	struct store_engine *(*open)(const char *where, unsigned nreaders, struct buf *err);
	int (*check)(const char *where, struct buf *err);
	/* NULL: the engine's own tool makes backups */
	int (*backup)(const char *where, const char *dest, struct store_backup_info *info,
	              struct buf *err);
} engines[] = {
    {"postgresql://", store_pg_open, store_pg_check, NULL},
    {"postgres://", store_pg_open, store_pg_check, NULL},
    {"", store_sqlite_open, store_sqlite_check, store_sqlite_backup},
};

static const struct engine *engine_for(const char *where)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (strncmp(where, engines[i].prefix, strlen(engines[i].prefix)) == 0)
			return &engines[i];
	return &engines[sizeof(engines) / sizeof(engines[0]) - 1]; /* never: "" took it */
}

int store_check(const char *where, struct buf *err)
{
	return engine_for(where)->check(where, err);
}

int store_backup(const char *where, const char *dest, struct store_backup_info *info,
                 struct buf *err)
{
	const struct engine *en = engine_for(where);
	return en->backup ? en->backup(where, dest, info, err) : -ENOTSUP;
}

struct store {
	struct store_engine *e;
	struct store_limits limits;
	void (*on_commit)(void *arg);
	void *on_commit_arg;
	struct store_outbound out;
	void (*on_outbox)(void *arg);
	void *on_outbox_arg;
	atomic_bool outbox_wrote;   /* the transaction running wrote outbox rows */
	pthread_mutex_t count_lock; /* the public count, kept for one generation */
	uint64_t count_generation;
	int64_t count;
	int64_t write_started_ns; /* of the write transaction running, for the metrics */
};

struct store *store_open(const char *where, unsigned nreaders, struct buf *err)
{
	struct store_engine *e = engine_for(where)->open(where, nreaders, err);
	if (!e)
		return NULL;
	struct store *s = xcalloc(1, sizeof(*s));
	s->e = e;
	pthread_mutex_init(&s->count_lock, NULL);
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->e->ops->close(s->e);
	free(s->out.base_url);
	free(s->out.site_language);
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

/* Authors share the tag index under '@' and their handle: a page by author is a page by
 * key, in both engines, from the same covering index as a tag's. */
#define AUTHOR_MARK '@'
#define MEDIA_MARK  '!' /* an index key of a story that shows an image: '!' and its id */

bool store_is_public(const struct article *a, int64_t now)
{
	struct store_filter f = visible(true, now);
	return strcmp(a->status, f.status) == 0 && a->published_ts <= f.published_until;
}

void store_tags_from_text(struct article *a, const char *tags)
{
	if (!tags)
		tags = "";
	a->tags = xcalloc(ARTICLE_TAGS_MAX, sizeof(char *));
	a->authors = xcalloc(ARTICLE_AUTHORS_MAX, sizeof(char *));
	a->ntags = a->nauthors = 0;
	while (*tags) {
		size_t n = strcspn(tags, " ");
		if (*tags == AUTHOR_MARK && n > 1 && a->nauthors < ARTICLE_AUTHORS_MAX)
			a->authors[a->nauthors++] = xstrndup(tags + 1, n - 1);
		else if (*tags != AUTHOR_MARK && *tags != MEDIA_MARK && a->ntags < ARTICLE_TAGS_MAX)
			a->tags[a->ntags++] = xstrndup(tags, n);
		tags += n;
		while (*tags == ' ')
			tags++;
	}
}

size_t store_index_keys(const struct article *a, char **keys)
{
	size_t n = 0;
	for (size_t i = 0; i < a->ntags && n < STORE_KEYS_MAX; i++)
		keys[n++] = xstrdup(a->tags[i]);
	for (size_t i = 0; i < a->nauthors && n < STORE_KEYS_MAX; i++)
		keys[n++] = xasprintf("%c%s", AUTHOR_MARK, a->authors[i]);
	/* the images it shows, each once: what a media delete asks (SPEC §12, 409 while used) */
	const char *image = a->image ? json_string_value(json_object_get(a->image, "media")) : NULL;
	if (image && n < STORE_KEYS_MAX)
		keys[n++] = xasprintf("%c%s", MEDIA_MARK, image);
	for (size_t i = 0; i < a->nmedia && n < STORE_KEYS_MAX; i++) {
		bool seen = image && strcmp(image, a->media[i]) == 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(a->media[j], a->media[i]) == 0;
		if (!seen)
			keys[n++] = xasprintf("%c%s", MEDIA_MARK, a->media[i]);
	}
	return n;
}

void store_docs_cleanup(struct store_docs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].key);
		free(d->items[i].doc);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
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
	int64_t t0 = s->limits.metrics ? metrics_now_ns() : 0;
	int rc = s->e->ops->get(s->e, slug, &f, a);
	if (s->limits.metrics)
		metrics_store(s->limits.metrics, METRICS_GET, metrics_now_ns() - t0);
	return rc;
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

/* The engine's page for q, its match text kept in fts (and an author's key in key). */
static struct store_page page_of(const struct store_query *q, struct buf *fts, struct buf *key)
{
	const char *tag = q->tag;
	if (q->author && !tag) {
		buf_printf(key, "%c%s", AUTHOR_MARK, q->author);
		tag = buf_str(key);
	}
	unsigned per_page = q->per_page ? q->per_page : 1;
	unsigned page = q->page ? q->page : 1;
	if (q->q)
		store_fts_query(fts, q->q);
	uint64_t offset = (uint64_t)(page - 1) * per_page;
	return (struct store_page){
	    .filter = visible(q->public_only, q->now),
	    .tag = tag,
	    .match = q->q ? buf_str(fts) : NULL,
	    .limit = per_page,
	    .offset = offset > UINT32_MAX ? UINT32_MAX : (unsigned)offset,
	    .with_body = q->with_body,
	};
}

int store_list(struct store *s, const struct store_query *q, struct article_list *out)
{
	memset(out, 0, sizeof(*out));
	struct buf fts = BUF_INIT, key = BUF_INIT;
	struct store_page p = page_of(q, &fts, &key);
	if (q->q && fts.len == 0) {
		buf_cleanup(&key);
		return 0; /* no words: nothing matches */
	}
	struct gate *gate = s->limits.gate;
	int ret = gate ? gate_enter(gate) : 0;
	if (ret < 0) {
		log_warn("store: %u expensive reads already running; one more refused",
		         gate->places);
		buf_cleanup(&fts);
		buf_cleanup(&key);
		return ret;
	}
	p.budget_ms = s->limits.budget_ms;
	int64_t t0 = s->limits.metrics ? metrics_now_ns() : 0;
	ret = s->e->ops->list(s->e, &p, out);
	if (gate)
		gate_leave(gate);
	if (s->limits.metrics)
		metrics_store(s->limits.metrics, METRICS_LIST, metrics_now_ns() - t0);
	if (ret == -ETIMEDOUT)
		log_warn("store: a %s took longer than its budget of %u ms and was stopped",
		         q->q ? "search" : "listing", s->limits.budget_ms);
	buf_cleanup(&fts);
	buf_cleanup(&key);
	if (ret < 0)
		article_list_cleanup(out);
	return ret;
}

int store_plan(struct store *s, const struct store_query *q, struct buf *out)
{
	struct buf fts = BUF_INIT, key = BUF_INIT;
	struct store_page p = page_of(q, &fts, &key);
	int ret = s->e->ops->plan ? s->e->ops->plan(s->e, &p, out) : -ENOTSUP;
	buf_cleanup(&fts);
	buf_cleanup(&key);
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

static json_t *time_json(int64_t t)
{
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, t);
	json_t *j = json_string(buf_str(&b));
	buf_cleanup(&b);
	return j;
}

/* --- documents: JSON texts under a kind and key (store_backend.h) --- */

/* The kinds of documents, and what each holds. */
#define DOC_ACCOUNT "account" /* key handle: the account */
/* key SHA-256 of the token: what a check needs in one read {"id", "account", "role",
 * "disabled", "expires_at", "revoked_at"}, kept in step with the account and the record */
#define DOC_TOKEN    "token"
#define DOC_TOKEN_ID "token-id" /* seq id: the token's record, and its "hash" (never shown) */
#define DOC_REVISION "revision" /* key the story's id, seq n: the revision */
#define DOC_AUDIT    "audit"    /* seq id: the entry */
#define DOC_SLUG     "slug"     /* key a slug a story no longer has: {"id"} */
#define DOC_COUNTER  "counter"  /* key a name: the last number given */
#define DOC_SECRET   "secret"   /* key "links": the key that signs preview links */
#define DOC_MEDIA    "media"    /* key an image's id: its record (SPEC §12) */
#define DOC_WEBHOOK  "webhook"  /* key its id: the webhook, its secret included (SPEC §13) */
#define DOC_DELIVERY "delivery" /* key a webhook's id, seq n: its delivery log */
/* key SHA-256 of an editor's session cookie (SPEC §14): {"account", "created", "expires"} */
#define DOC_SESSION "session"

static int doc_get_json(struct store_engine *e, bool writer, const char *kind, const char *key,
                        int64_t seq, json_t **out)
{
	char *text = NULL;
	int rc = e->ops->doc_get(e, writer, kind, key, seq, &text);
	if (rc < 0)
		return rc;
	*out = json_loads(text, JSON_DECODE_ANY, NULL);
	free(text);
	if (!*out) {
		log_error("store: a %s document is not JSON", kind);
		return -EIO;
	}
	return 0;
}

static int doc_put_json(struct store_engine *e, const char *kind, const char *key, int64_t seq,
                        json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return -EIO;
	int rc = e->ops->doc_put(e, kind, key, seq, text);
	free(text);
	return rc;
}

/* An integer member of o, 0 when it has none. */
static int64_t int_of(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* In a transaction: the counter name moved past floor and on by one. */
static int64_t counter_next(struct store_engine *e, const char *name, int64_t floor)
{
	return e->ops->doc_next(e, DOC_COUNTER, name, floor);
}

/* The check's copy of a token: its record with its account's role and state. */
static json_t *token_check_doc(const json_t *record, const json_t *acct)
{
	return json_pack("{s:O, s:O, s:O, s:b, s:O, s:O}", "id", json_object_get(record, "id"),
	                 "account", json_object_get(record, "account"), "role",
	                 json_object_get(acct, "role"), "disabled",
	                 json_is_true(json_object_get(acct, "disabled")), "expires_at",
	                 json_object_get(record, "expires_at"), "revoked_at",
	                 json_object_get(record, "revoked_at"));
}

static const char *actor_name(const struct store_actor *who)
{
	return who && who->account ? who->account : "system";
}

/* Appends the audit entry of a write, in its transaction (SPEC §11): never a secret, only who,
 * from where, what and on which object. */
static int audit(struct store_engine *e, const struct store_actor *who, const char *action,
                 const char *object, int64_t now)
{
	int64_t id = counter_next(e, DOC_AUDIT, 0);
	if (id < 0)
		return (int)id;
	json_t *entry = json_pack("{s:I, s:o, s:s, s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)id,
	                          "at", time_json(now), "actor", actor_name(who), "token_id",
	                          (json_int_t)(who ? who->token_id : 0), "action", action, "object",
	                          object, "client", who && who->client ? who->client : "",
	                          "request_id", who && who->request_id ? who->request_id : "");
	int rc = entry ? doc_put_json(e, DOC_AUDIT, "", id, entry) : -EIO;
	json_decref(entry);
	return rc;
}

static int audit_article(struct store_engine *e, const struct store_actor *who, const char *action,
                         const char *slug, int64_t now)
{
	char *object = xasprintf("article/%s", slug);
	int rc = audit(e, who, action, object, now);
	free(object);
	return rc;
}

/* A record as a revision keeps it: every field, as the API shows it, but what is made from
 * the others (its url; body_html, which a restore renders again from body). */
static json_t *record_json(const struct article *a)
{
	json_t *o = article_to_json(a, "", "", true);
	json_object_del(o, "url");
	json_object_del(o, "body_html");
	return o;
}

/* The number of the story id's latest revision (0: none), and that revision when asked. */
static int64_t last_revision(struct store_engine *e, bool writer, int64_t id, json_t **rev)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	struct store_docs d;
	int rc = e->ops->doc_list(e, writer, DOC_REVISION, key, 1, 0, true, &d);
	if (rc < 0)
		return rc;
	int64_t n = d.n ? d.items[0].seq : 0;
	if (rev && d.n)
		*rev = json_loads(d.items[0].doc, 0, NULL);
	store_docs_cleanup(&d);
	return n;
}

/* Keeps a as the story's next revision, made by who's action. */
static int revision(struct store_engine *e, const struct store_actor *who, const char *action,
                    const struct article *a, int64_t now, int64_t restored)
{
	int64_t n = last_revision(e, true, a->id, NULL);
	if (n < 0)
		return (int)n;
	json_t *rev =
	    json_pack("{s:I, s:o, s:s, s:s, s:o}", "n", (json_int_t)(n + 1), "at", time_json(now),
	              "account", actor_name(who), "action", action, "article", record_json(a));
	if (restored)
		json_object_set_new(rev, "restored", json_integer(restored));
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)a->id);
	int rc = rev ? doc_put_json(e, DOC_REVISION, key, n + 1, rev) : -EIO;
	json_decref(rev);
	return rc;
}

/* A story written before revisions were kept gets its stored record as its first one, so that
 * the write about to replace it can be undone. */
static int base_revision(struct store_engine *e, const struct article *old, int64_t now)
{
	int64_t n = last_revision(e, true, old->id, NULL);
	if (n != 0)
		return n < 0 ? (int)n : 0;
	return revision(e, NULL, "article.original", old, old->updated_ts ? old->updated_ts : now,
	                0);
}

/* --- slugs: a story's old slugs redirect to it and stay taken (SPEC §11) --- */

/* In a transaction: the id of the story that holds slug: as its own, as an old one still
 * redirecting to it, or as a deleted story's (kept for its restore: a new story never takes
 * it, so the revisions stay found under it); 0 when it is free. */
static int64_t slug_owner(struct store_engine *e, const char *slug)
{
	int64_t id = e->ops->slug_id(e, slug, NULL);
	if (id != 0)
		return id;
	json_t *d = NULL;
	int rc = doc_get_json(e, true, DOC_SLUG, slug, 0, &d);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	int64_t owner = int_of(d, "id");
	json_decref(d);
	return owner;
}

/* Remembers that slug was the story id's. */
static int slug_keep(struct store_engine *e, const char *slug, int64_t id)
{
	json_t *d = json_pack("{s:I}", "id", (json_int_t)id);
	int rc = doc_put_json(e, DOC_SLUG, slug, 0, d);
	json_decref(d);
	return rc;
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
		int64_t id = slug_owner(e, cand);
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

/* The id a new story takes: never one a story had before, even a deleted one (its revisions
 * keep it). */
static int64_t new_id(struct store_engine *e)
{
	int64_t next = e->ops->next_id(e);
	if (next < 0)
		return next;
	return counter_next(e, "article", next - 1);
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
		int64_t id = new_id(e);
		if (id < 0)
			return (int)id;
		a->id = id;
	} else {
		int64_t c = counter_next(e, "article", a->id); /* ids past an import's stay new */
		if (c < 0)
			return (int)c;
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
		int64_t id = slug_owner(e, a->slug);
		if (id != 0)
			return id > 0 ? -EEXIST : (int)id;
	}
	return e->ops->insert(e, a);
}

/* Every field of the record id (its slug old_slug, created at created_at, which this frees)
 * from a: without a slug of its own a keeps the old one, a new one must be free (or one of its
 * own old ones), and the old one then redirects; an import (keep_stamps) keeps the times it
 * brings. */
static int update_existing(struct store_engine *e, int64_t id, char *created_at, struct article *a,
                           const char *old_slug, int64_t now, bool keep_stamps)
{
	a->id = id;
	if (a->slug_derived) {
		set_field(&a->slug, xstrdup(old_slug));
		a->slug_derived = false;
	} else if (strcmp(a->slug, old_slug) != 0) {
		int64_t other = slug_owner(e, a->slug);
		int rc = other < 0 ? (int)other : other && other != id ? -EEXIST : 0;
		if (rc == 0)
			rc = e->ops->doc_delete(e, DOC_SLUG, a->slug, 0);
		if (rc == 0)
			rc = slug_keep(e, old_slug, id);
		if (rc < 0) {
			free(created_at);
			return rc;
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

/* Begins a write transaction, timed for the metrics until it ends (one runs at a time, so
 * one start time is enough). */
static int begin_write(struct store *s, bool bulk)
{
	int rc = s->e->ops->begin(s->e, bulk);
	if (rc == 0 && s->limits.metrics)
		s->write_started_ns = metrics_now_ns();
	return rc;
}

/* Ends the transaction begun for a write: commits when rc is 0, with the time the content
 * changed (unless quiet: nothing a reader sees moved), else rolls back. Tells whoever listens
 * after a commit. */
static int end_write_at(struct store *s, int rc, bool quiet, int64_t now)
{
	struct store_engine *e = s->e;
	int64_t started = s->write_started_ns; /* read before the commit lets the next one in */
	if (rc == 0 && !quiet)
		rc = e->ops->touch(e, now);
	if (rc == 0)
		rc = e->ops->commit(e);
	else
		e->ops->rollback(e);
	if (rc == 0 && !quiet && s->on_commit)
		s->on_commit(s->on_commit_arg);
	if (s->limits.metrics)
		metrics_store(s->limits.metrics, METRICS_WRITE, metrics_now_ns() - started);
	if (atomic_exchange(&s->outbox_wrote, false) && rc == 0 && s->on_outbox)
		s->on_outbox(s->on_outbox_arg);
	return rc;
}

static int end_write(struct store *s, int rc, bool quiet)
{
	return end_write_at(s, rc, quiet, (int64_t)time(NULL));
}

/* A write of stories ends. The content changed at now, the time its records were stamped
 * with, when that is this moment's: the clock's second may have turned between the stamp and
 * the commit, and Last-Modified must still be the newest updated_at a page shows. Another time
 * (a test's fixed one) is not the moment of the change: the clock's is. */
static int finish(struct store *s, int rc, int64_t now)
{
	int64_t clock = (int64_t)time(NULL);
	return end_write_at(s, rc, false, now <= clock && now >= clock - 5 ? now : clock);
}

static int announce(struct store *s, const struct article *old, const struct article *new_,
                    int64_t now);
struct due;
static int purge_now(struct store *s, const char *keys);
static int fire_now(struct store *s, json_t *event);

/* The images a story shows, read in its write's transaction. */
struct media_lookup {
	struct store_engine *e;
	int rc; /* a failure of the store, not a missing image */
};

static json_t *media_lookup(const char *id, void *arg)
{
	struct media_lookup *ml = arg;
	json_t *rec = NULL;
	int rc = doc_get_json(ml->e, true, DOC_MEDIA, id, 0, &rec);
	if (rc < 0 && rc != -ENOENT)
		ml->rc = rc;
	return rc == 0 ? rec : NULL;
}

/* Before a story is written by who: its rule, then the authors (a new story's default to its
 * writer's account, a replaced one keeps its own), each an account; a replaced story keeps its
 * corrections unless the input names them (a correction is never dropped by an edit that
 * left it out). */
static int authorize(struct store_engine *e, struct store_actor *who, const struct article *old,
                     struct article *a)
{
	if (who && who->may_write) {
		int rc = who->may_write(who, old, a, who->why, sizeof(who->why));
		if (rc < 0)
			return rc;
	}
	if (!a)
		return 0;
	if (!a->corrections_given && old && old->corrections) {
		json_decref(a->corrections);
		a->corrections = json_incref(old->corrections);
	}
	if (!a->authors_given && old) {
		for (size_t i = 0; i < a->nauthors; i++)
			free(a->authors[i]);
		free(a->authors);
		a->authors = xcalloc(ARTICLE_AUTHORS_MAX, sizeof(char *));
		a->nauthors = 0;
		for (size_t i = 0; i < old->nauthors && i < ARTICLE_AUTHORS_MAX; i++)
			a->authors[a->nauthors++] = xstrdup(old->authors[i]);
	} else if (!a->authors_given && who && who->is_account && a->nauthors == 0) {
		if (!a->authors)
			a->authors = xcalloc(ARTICLE_AUTHORS_MAX, sizeof(char *));
		a->authors[a->nauthors++] = xstrdup(who->account);
	}
	for (size_t i = 0; i < a->nauthors; i++) {
		char *doc = NULL;
		int rc = e->ops->doc_get(e, true, DOC_ACCOUNT, a->authors[i], 0, &doc);
		free(doc);
		if (rc == -ENOENT) {
			if (who)
				snprintf(who->why, sizeof(who->why),
				         "authors[%zu]: no account '%s'", i, a->authors[i]);
			return -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (!a->image_given && old && old->image) {
		json_decref(a->image);
		a->image = json_deep_copy(old->image);
	}
	struct media_lookup ml = {e, 0};
	struct article_error aerr;
	if (article_link_media(a, media_lookup, &ml, &aerr) < 0) {
		if (ml.rc < 0)
			return ml.rc;
		if (who)
			snprintf(who->why, sizeof(who->why), "%.60s: %.190s", aerr.field,
			         aerr.message);
		return -EINVAL;
	}
	return 0;
}

/* The stored record at slug (every status) as the transaction sees it, for the rule and the
 * revision. */
static int load(struct store_engine *e, const char *slug, struct article *old)
{
	article_init(old);
	return e->ops->load(e, slug, old);
}

int store_create_as(struct store *s, struct store_actor *who, struct article *a, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	rc = authorize(e, who, NULL, a);
	if (rc == 0)
		rc = insert_new(e, a, now, false);
	if (rc == 0)
		rc = revision(e, who, "article.create", a, now, 0);
	if (rc == 0)
		rc = announce(s, NULL, a, now);
	if (rc == 0)
		rc = audit_article(e, who, "article.create", a->slug, now);
	return finish(s, rc, now);
}

int store_create(struct store *s, struct article *a, int64_t now)
{
	return store_create_as(s, NULL, a, now);
}

int store_replace_as(struct store *s, struct store_actor *who, const char *slug, struct article *a,
                     int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	struct article old;
	rc = load(e, slug, &old);
	if (rc == 0)
		rc = authorize(e, who, &old, a);
	char *created_at = NULL;
	int64_t id = rc == 0 ? e->ops->slug_id(e, slug, &created_at) : 0;
	if (rc == 0 && id <= 0)
		rc = id == 0 ? -ENOENT : (int)id;
	if (rc == 0)
		rc = base_revision(e, &old, now);
	if (rc == 0) {
		rc = update_existing(e, id, created_at, a, slug, now, false);
		created_at = NULL;
	}
	if (rc == 0)
		rc = revision(e, who, "article.replace", a, now, 0);
	if (rc == 0)
		rc = announce(s, &old, a, now);
	if (rc == 0)
		rc = audit_article(e, who, "article.replace", a->slug, now);
	free(created_at);
	article_cleanup(&old);
	return finish(s, rc, now);
}

int store_replace(struct store *s, const char *slug, struct article *a, int64_t now)
{
	return store_replace_as(s, NULL, slug, a, now);
}

int store_delete_as(struct store *s, struct store_actor *who, const char *slug, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	struct article old;
	rc = load(e, slug, &old);
	if (rc == 0)
		rc = authorize(e, who, &old, NULL);
	if (rc == 0)
		rc = base_revision(e, &old, now);
	/* the record as it was, and its slug kept, so that it can be found and restored */
	if (rc == 0)
		rc = revision(e, who, "article.delete", &old, now, 0);
	if (rc == 0)
		rc = slug_keep(e, old.slug, old.id);
	if (rc == 0)
		rc = e->ops->remove(e, old.id);
	if (rc == 0)
		rc = announce(s, &old, NULL, now);
	if (rc == 0)
		rc = audit_article(e, who, "article.delete", slug, now);
	article_cleanup(&old);
	return finish(s, rc, now);
}

int store_delete(struct store *s, const char *slug)
{
	return store_delete_as(s, NULL, slug, (int64_t)time(NULL));
}

/* Stores a as the new version of the record it names (the one under its uri when it has one,
 * else the one at its slug), or as a new record. An import (keep) keeps the id and times it
 * brings. */
static int upsert(struct store *s, struct store_actor *who, struct article *a, int64_t now,
                  bool keep, bool quiet, bool *created)
{
	struct store_engine *e = s->e;
	char *created_at = NULL, *old_slug = NULL;
	int64_t id = 0;
	if (*a->uri) {
		id = e->ops->uri_id(e, a->uri, &old_slug, &created_at);
	} else if (*a->slug) {
		id = e->ops->slug_id(e, a->slug, &created_at);
		old_slug = id > 0 ? xstrdup(a->slug) : NULL;
		/* by its slug: the slug is the record's, taken or not */
		a->slug_derived = false;
	}
	*created = id == 0;
	int rc = id < 0 ? (int)id : 0;
	struct article old;
	article_init(&old);
	if (id > 0)
		rc = load(e, old_slug, &old);
	if (rc == 0)
		rc = authorize(e, who, id > 0 ? &old : NULL, a);
	if (rc == 0 && id > 0 && !keep)
		rc = base_revision(e, &old, now);
	if (rc == 0 && id > 0) {
		rc = update_existing(e, id, created_at, a, old_slug, now, keep);
		created_at = NULL;
	} else if (rc == 0) {
		rc = insert_new(e, a, now, keep);
	}
	if (rc == 0)
		rc = revision(e, who,
		              keep     ? "article.import"
		              : id > 0 ? "article.replace"
		                       : "article.create",
		              a, now, 0);
	/* a copy of a whole newsroom (an export, a migration) is no news */
	if (rc == 0 && !quiet)
		rc = announce(s, id > 0 ? &old : NULL, a, now);
	free(created_at);
	free(old_slug);
	article_cleanup(&old);
	return rc;
}

int store_upsert_as(struct store *s, struct store_actor *who, struct article *a, int64_t now,
                    bool *created)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	rc = upsert(s, who, a, now, false, false, created);
	if (rc == 0)
		rc = audit_article(e, who, *created ? "article.create" : "article.replace", a->slug,
		                   now);
	return finish(s, rc, now);
}

int store_upsert(struct store *s, struct article *a, int64_t now, bool *created)
{
	return store_upsert_as(s, NULL, a, now, created);
}

/* An export's accounts and revisions, into the open transaction. */
static int import_newsroom(struct store_engine *e, const json_t *newsroom)
{
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(json_object_get(newsroom, "accounts"), i, v)
	{
		const char *handle = str_of(v, "handle");
		if (!article_handle_valid(handle)) /* the import's reader checked the rest */
			return -EINVAL;
		char *doc = NULL;
		rc = e->ops->doc_get(e, true, DOC_ACCOUNT, handle, 0, &doc);
		free(doc);
		if (rc == 0)
			continue; /* the account here stays as it is */
		if (rc != -ENOENT)
			return rc;
		json_t *acct = json_deep_copy(v);
		if (!json_object_get(newsroom, "tokens"))
			json_object_del(acct, "password"); /* only a migration brings secrets */
		int64_t id = counter_next(e, DOC_ACCOUNT, 0);
		json_object_set_new(acct, "id", json_integer(id));
		rc = id < 0 ? (int)id : doc_put_json(e, DOC_ACCOUNT, handle, 0, acct);
		json_decref(acct);
		if (rc < 0)
			return rc;
	}
	json_array_foreach(json_object_get(newsroom, "revisions"), i, v)
	{
		int64_t story = int_of(v, "story_id"), n = int_of(v, "n");
		if (story < 1 || n < 1 || !json_is_object(json_object_get(v, "article")))
			return -EINVAL;
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)story);
		/* history is never rewritten: a revision the database has stays as it is */
		char *had = NULL;
		rc = e->ops->doc_get(e, true, DOC_REVISION, key, n, &had);
		free(had);
		if (rc == 0)
			continue;
		if (rc != -ENOENT)
			return rc;
		json_t *rev = json_deep_copy(v);
		json_object_del(rev, "story_id");
		rc = doc_put_json(e, DOC_REVISION, key, n, rev);
		json_decref(rev);
		if (rc < 0)
			return rc;
		int64_t c = counter_next(e, "article", story); /* a deleted story's id stays its */
		if (c < 0)
			return (int)c;
	}
	/* images by id (their files are paths.media's, which the caller checked): one the
	 * database has stays as it is */
	json_array_foreach(json_object_get(newsroom, "media"), i, v)
	{
		const char *id = str_of(v, "id");
		if (!media_record_valid(v)) /* each file named as the intake names its own */
			return -EINVAL;
		char *had = NULL;
		rc = e->ops->doc_get(e, true, DOC_MEDIA, id, 0, &had);
		free(had);
		if (rc == 0)
			continue;
		if (rc != -ENOENT)
			return rc;
		rc = doc_put_json(e, DOC_MEDIA, id, 0, v);
		if (rc < 0)
			return rc;
	}
	/* a migration's tokens, as stored (hashes), each checked against its account here */
	json_array_foreach(json_object_get(newsroom, "tokens"), i, v)
	{
		int64_t id = int_of(v, "id");
		const char *hash = str_of(v, "hash");
		json_t *acct = NULL;
		if (id < 1 || strlen(hash) != SECRET_HEX_LEN)
			return -EINVAL;
		rc = doc_get_json(e, true, DOC_ACCOUNT, str_of(v, "account"), 0, &acct);
		if (rc == 0)
			rc = doc_put_json(e, DOC_TOKEN_ID, "", id, v);
		json_t *check = rc == 0 ? token_check_doc(v, acct) : NULL;
		if (rc == 0)
			rc = doc_put_json(e, DOC_TOKEN, hash, 0, check);
		json_decref(check);
		json_decref(acct);
		int64_t c = rc == 0 ? counter_next(e, DOC_TOKEN, id) : 0;
		if (rc < 0 || c < 0)
			return rc < 0 ? (rc == -ENOENT ? -EINVAL : rc) : (int)c;
	}
	const char *key = json_string_value(json_object_get(newsroom, "links_key"));
	if (key) {
		json_t *d = json_pack("{s:s}", "key", key);
		rc = doc_put_json(e, DOC_SECRET, "links", 0, d);
		json_decref(d);
	}
	return rc;
}

int store_import(struct store *s, struct article *list, size_t n, int64_t now, size_t *failed)
{
	return store_import_all(s, list, n, NULL, now, failed, NULL, 0);
}

int store_import_all(struct store *s, struct article *list, size_t n, const json_t *newsroom,
                     int64_t now, size_t *failed, char *why, size_t why_len)
{
	*failed = 0;
	int rc = begin_write(s, true);
	if (rc < 0)
		return rc;
	struct store_actor cli = {.account = "cli", .client = ""};
	/* an export's newsroom (its accounts, its stories' histories) comes with a copy of a
	 * newsroom, which is no news: a wire's stories are */
	bool copy = json_array_size(json_object_get(newsroom, "accounts")) > 0 ||
	            json_array_size(json_object_get(newsroom, "revisions")) > 0;
	if (newsroom)
		rc = import_newsroom(s->e, newsroom);
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool created;
		rc = upsert(s, &cli, &list[i], now, true, copy, &created);
		if (rc < 0) {
			*failed = i;
			if (why)
				snprintf(why, why_len, "%s", cli.why);
		}
	}
	if (rc == 0) {
		char object[48];
		snprintf(object, sizeof(object), "articles/%zu", n);
		rc = audit(s->e, &cli, "article.import", object, now);
	}
	return finish(s, rc, now);
}

int store_export_newsroom(struct store *s, bool secrets, json_t **out)
{
	json_t *accounts = json_array(), *revisions = json_array(), *tokens = json_array();
	json_t *media = json_array();
	*out = json_pack("{s:o, s:o, s:o}", "accounts", accounts, "revisions", revisions, "media",
	                 media);
	if (secrets) {
		json_object_set_new(*out, "tokens", tokens);
		json_t *key = NULL;
		if (doc_get_json(s->e, false, DOC_SECRET, "links", 0, &key) == 0)
			json_object_set(*out, "links_key", json_object_get(key, "key"));
		json_decref(key);
	} else {
		json_decref(tokens);
	}
	const char *kinds[] = {DOC_ACCOUNT, DOC_REVISION, DOC_MEDIA, DOC_TOKEN_ID};
	json_t *into[] = {accounts, revisions, media, tokens};
	for (int k = 0; k < (secrets ? 4 : 3); k++) {
		for (unsigned offset = 0;; offset += 1000) {
			struct store_docs d;
			int rc = s->e->ops->doc_list(s->e, false, kinds[k], NULL, 1000, offset,
			                             false, &d);
			if (rc < 0) {
				json_decref(*out);
				*out = NULL;
				return rc;
			}
			for (size_t i = 0; i < d.n; i++) {
				json_t *o = json_loads(d.items[i].doc, 0, NULL);
				if (!o)
					continue;
				if (!secrets)
					json_object_del(o, "password");
				if (k == 1)
					json_object_set_new(
					    o, "story_id",
					    json_integer(strtoll(d.items[i].key, NULL, 10)));
				json_array_append_new(into[k], o);
			}
			size_t got = d.n;
			store_docs_cleanup(&d);
			if (got < 1000)
				break;
		}
	}
	return 0;
}

/* The documents of d as a JSON array, as answers show them: never a password or a token's
 * hash (accounts) and, for revisions (!records), their articles without bodies. */
static json_t *docs_array(const struct store_docs *d, bool records)
{
	json_t *list = json_array();
	for (size_t i = 0; i < d->n; i++) {
		json_t *o = json_loads(d->items[i].doc, 0, NULL);
		if (!o)
			continue;
		json_object_del(o, "password");
		json_object_del(o, "hash");
		if (!records)
			json_object_del(json_object_get(o, "article"), "body");
		if (!records)
			json_object_del(json_object_get(o, "article"), "body_html");
		json_array_append_new(list, o);
	}
	return list;
}

/* --- old slugs and revisions --- */

/* The id of the story at slug, or of the one that had it (renamed or deleted since); 0 when
 * none. Outside a transaction. */
static int64_t story_id(struct store *s, const char *slug)
{
	struct article a;
	article_init(&a);
	struct store_filter all = visible(false, 0);
	int rc = s->e->ops->get(s->e, slug, &all, &a);
	int64_t id = a.id;
	article_cleanup(&a);
	if (rc == 0)
		return id;
	if (rc != -ENOENT)
		return rc;
	json_t *d = NULL;
	rc = doc_get_json(s->e, false, DOC_SLUG, slug, 0, &d);
	id = rc == 0 ? int_of(d, "id") : rc == -ENOENT ? 0 : rc;
	json_decref(d);
	return id;
}

int store_slug_moved(struct store *s, const char *slug, char **current)
{
	json_t *d = NULL;
	int rc = doc_get_json(s->e, false, DOC_SLUG, slug, 0, &d);
	if (rc < 0)
		return rc;
	int64_t id = int_of(d, "id");
	json_decref(d);
	json_t *rev = NULL;
	int64_t n = last_revision(s->e, false, id, &rev);
	rc = n < 0 ? (int)n : -ENOENT;
	const char *now_at = str_of(json_object_get(rev, "article"), "slug");
	if (n > 0 && strcmp(str_of(rev, "action"), "article.delete") != 0 && *now_at &&
	    strcmp(now_at, slug) != 0) {
		*current = xstrdup(now_at);
		rc = 0;
	}
	json_decref(rev);
	return rc;
}

int store_revisions(struct store *s, const char *slug, int64_t n, json_t **out)
{
	int64_t id = story_id(s, slug);
	if (id <= 0)
		return id == 0 ? -ENOENT : (int)id;
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	if (n > 0)
		return doc_get_json(s->e, false, DOC_REVISION, key, n, out);
	struct store_docs d;
	int rc = s->e->ops->doc_list(s->e, false, DOC_REVISION, key, 100000, 0, true, &d);
	if (rc < 0)
		return rc;
	json_t *list = docs_array(&d, false);
	store_docs_cleanup(&d);
	*out = json_pack("{s:I, s:o}", "id", (json_int_t)id, "revisions", list);
	return 0;
}

int store_restore_as(struct store *s, struct store_actor *who, const char *slug, int64_t n,
                     int64_t now, struct article *a)
{
	int64_t id = story_id(s, slug);
	if (id <= 0)
		return id == 0 ? -ENOENT : (int)id;
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	json_t *rev = NULL, *latest = NULL;
	rc = doc_get_json(e, true, DOC_REVISION, key, n, &rev);
	int64_t last = rc == 0 ? last_revision(e, true, id, &latest) : 0;
	if (last < 0)
		rc = (int)last;
	struct article_error aerr;
	if (rc == 0 &&
	    article_from_json(json_object_get(rev, "article"), ARTICLE_IMPORT, now, a, &aerr) < 0) {
		log_error("store: revision %lld of story %lld does not read back: %s %s",
		          (long long)n, (long long)id, aerr.field, aerr.message);
		rc = -EIO;
	}
	/* where the story is now (or was, when deleted): its latest revision says */
	const char *at = str_of(json_object_get(latest, "article"), "slug");
	bool deleted = strcmp(str_of(latest, "action"), "article.delete") == 0;
	a->authors_given = true;
	if (rc == 0)
		rc = authorize(e, who, NULL, a);
	if (rc == 0) {
		free(a->created_at);
		a->created_at = xstrdup("");
		free(a->updated_at);
		a->updated_at = xstrdup("");
	}
	struct article old;
	article_init(&old);
	if (rc == 0 && !deleted)
		rc = e->ops->load(e, at, &old);
	/* corrections are the story's public record of its mistakes: a restore brings back a
	 * revision's text and keeps the corrections the story has now */
	if (rc == 0 && !deleted) {
		json_decref(a->corrections);
		a->corrections = old.corrections ? json_incref(old.corrections) : NULL;
	}
	if (rc == 0 && deleted) {
		int64_t owner = slug_owner(e, a->slug);
		rc = owner < 0 ? (int)owner : owner && owner != id ? -EEXIST : 0;
		if (rc == 0)
			rc = e->ops->doc_delete(e, DOC_SLUG, a->slug, 0);
		if (rc == 0) {
			a->id = id;
			set_field(&a->created_at, xstrdup(str_of(json_object_get(latest, "article"),
			                                         "created_at")));
			stamp(&a->updated_at, now);
			a->updated_ts = now;
			rc = e->ops->insert(e, a);
		}
	} else if (rc == 0) {
		char *created_at = NULL;
		int64_t cur = e->ops->slug_id(e, at, &created_at);
		if (cur != id) {
			free(created_at);
			rc = cur < 0 ? (int)cur : -ENOENT;
		} else {
			rc = update_existing(e, id, created_at, a, at, now, false);
		}
	}
	if (rc == 0)
		rc = revision(e, who, "article.restore", a, now, n);
	if (rc == 0)
		rc = announce(s, deleted ? NULL : &old, a, now);
	article_cleanup(&old);
	if (rc == 0)
		rc = audit_article(e, who, "article.restore", a->slug, now);
	json_decref(rev);
	json_decref(latest);
	return finish(s, rc, now);
}

/* --- the audit log --- */

/* A page of the documents of kind as one JSON array under name, with their total. */
static int doc_page(struct store *s, const char *kind, const char *key, unsigned page,
                    unsigned per_page, bool newest_first, const char *name, json_t **out)
{
	struct store_docs d;
	uint64_t offset = (uint64_t)(page ? page - 1 : 0) * per_page;
	int rc = s->e->ops->doc_list(s->e, false, kind, key, per_page,
	                             offset > UINT32_MAX ? UINT32_MAX : (unsigned)offset,
	                             newest_first, &d);
	if (rc < 0)
		return rc;
	json_t *list = docs_array(&d, true);
	*out = json_pack("{s:o, s:I}", name, list, "total", (json_int_t)d.total);
	store_docs_cleanup(&d);
	return 0;
}

int store_audit(struct store *s, unsigned page, unsigned per_page, json_t **out)
{
	return doc_page(s, DOC_AUDIT, "", page, per_page, true, "entries", out);
}

/* --- accounts and tokens --- */

int store_account_get(struct store *s, const char *handle, json_t **out)
{
	return doc_get_json(s->e, false, DOC_ACCOUNT, handle, 0, out);
}

int store_accounts(struct store *s, unsigned page, unsigned per_page, json_t **out)
{
	return doc_page(s, DOC_ACCOUNT, NULL, page, per_page, false, "users", out);
}

int store_has_tokens(struct store *s)
{
	struct store_docs d;
	int rc = s->e->ops->doc_list(s->e, false, DOC_TOKEN_ID, "", 1, 0, false, &d);
	if (rc < 0)
		return rc;
	rc = d.total > 0;
	store_docs_cleanup(&d);
	return rc;
}

static int audit_object(struct store_engine *e, const struct store_actor *who, const char *action,
                        const char *kind, const char *name, int64_t now)
{
	char *object = xasprintf("%s/%s", kind, name);
	int rc = audit(e, who, action, object, now);
	free(object);
	return rc;
}

int store_account_add(struct store *s, struct store_actor *who, json_t *account, int64_t now)
{
	struct store_engine *e = s->e;
	const char *handle = str_of(account, "handle");
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	char *doc = NULL;
	rc = e->ops->doc_get(e, true, DOC_ACCOUNT, handle, 0, &doc);
	free(doc);
	rc = rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
	int64_t id = rc == 0 ? counter_next(e, DOC_ACCOUNT, 0) : 0;
	if (id < 0)
		rc = (int)id;
	if (rc == 0) {
		json_object_set_new(account, "id", json_integer(id));
		json_object_set_new(account, "created_at", time_json(now));
		json_object_set_new(account, "updated_at", time_json(now));
		rc = doc_put_json(e, DOC_ACCOUNT, handle, 0, account);
	}
	if (rc == 0)
		rc = audit_object(e, who, "user.create", "user", handle, now);
	return finish(s, rc, now);
}

/* In a transaction: every expired session deleted, and every one of account (NULL: nobody). */
static int sessions_end(struct store_engine *e, const char *account, int64_t now)
{
	struct store_docs d;
	int rc = e->ops->doc_list(e, true, DOC_SESSION, NULL, 1000000, 0, false, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		json_t *t = json_loads(d.items[i].doc, 0, NULL);
		bool end = !t || json_integer_value(json_object_get(t, "expires")) <= now ||
		           (account && strcmp(str_of(t, "account"), account) == 0);
		json_decref(t);
		if (end)
			rc = e->ops->doc_delete(e, DOC_SESSION, d.items[i].key, 0);
	}
	store_docs_cleanup(&d);
	return rc;
}

/* In a transaction: every token of acct gets its new role and state. */
static int tokens_follow(struct store_engine *e, const json_t *acct)
{
	struct store_docs d;
	int rc = e->ops->doc_list(e, true, DOC_TOKEN_ID, "", 1000000, 0, false, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		json_t *t = json_loads(d.items[i].doc, 0, NULL);
		if (t && strcmp(str_of(t, "account"), str_of(acct, "handle")) == 0) {
			json_t *check = token_check_doc(t, acct);
			rc = doc_put_json(e, DOC_TOKEN, str_of(t, "hash"), 0, check);
			json_decref(check);
		}
		json_decref(t);
	}
	store_docs_cleanup(&d);
	return rc;
}

/* In a transaction: the document (kind, key) with changes applied and updated_at now, stored
 * again; *doc is it (the caller's reference, also on failure when it was read). */
static int doc_change(struct store_engine *e, const char *kind, const char *key,
                      const json_t *changes, int64_t now, json_t **doc)
{
	*doc = NULL;
	int rc = doc_get_json(e, true, kind, key, 0, doc);
	if (rc == 0) {
		json_object_update(*doc, (json_t *)changes);
		json_object_set_new(*doc, "updated_at", time_json(now));
		rc = doc_put_json(e, kind, key, 0, *doc);
	}
	return rc;
}

int store_account_update(struct store *s, struct store_actor *who, const char *handle,
                         const json_t *changes, int64_t now, json_t **out)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *acct = NULL;
	rc = doc_change(e, DOC_ACCOUNT, handle, changes, now, &acct);
	if (rc == 0 && (json_object_get(changes, "role") || json_object_get(changes, "disabled")))
		rc = tokens_follow(e, acct);
	/* a new password ends the account's sessions everywhere (a stolen one with them) */
	if (rc == 0 && json_object_get(changes, "password"))
		rc = sessions_end(e, handle, now);
	if (rc == 0)
		rc = audit_object(
		    e, who, json_object_get(changes, "password") ? "user.password" : "user.update",
		    "user", handle, now);
	/* its name and bio are on its page and in its stories' bylines */
	if (rc == 0 && (json_object_get(changes, "name") || json_object_get(changes, "bio"))) {
		struct buf keys = BUF_INIT;
		surrogate_account(&keys, handle);
		rc = purge_now(s, buf_str(&keys));
		buf_cleanup(&keys);
	}
	rc = finish(s, rc, now);
	if (rc == 0 && out) {
		json_object_del(acct, "password");
		*out = json_incref(acct);
	}
	json_decref(acct);
	return rc;
}

int store_token_add(struct store *s, struct store_actor *who, const char *handle,
                    const char *sha256_hex, const char *name, const char *prefix,
                    int64_t expires_at, int64_t now, json_t **out)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *acct = NULL;
	rc = doc_get_json(e, true, DOC_ACCOUNT, handle, 0, &acct);
	int64_t id = rc == 0 ? counter_next(e, DOC_TOKEN, 0) : 0;
	if (id < 0)
		rc = (int)id;
	json_t *t = NULL;
	if (rc == 0) {
		t = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:n, s:n}", "id", (json_int_t)id,
		              "account", handle, "name", name, "prefix", prefix, "created_at",
		              time_json(now), "expires_at",
		              expires_at ? time_json(expires_at) : json_null(), "last_used_at",
		              "revoked_at");
		json_t *check = token_check_doc(t, acct);
		rc = doc_put_json(e, DOC_TOKEN, sha256_hex, 0, check);
		json_decref(check);
	}
	json_decref(acct);
	if (rc == 0) {
		json_object_set_new(t, "hash", json_string(sha256_hex));
		rc = doc_put_json(e, DOC_TOKEN_ID, "", id, t);
		json_object_del(t, "hash");
	}
	if (rc == 0) {
		char n[24];
		snprintf(n, sizeof(n), "%lld", (long long)id);
		rc = audit_object(e, who, "token.create", "token", n, now);
	}
	rc = finish(s, rc, now);
	if (rc == 0)
		*out = json_incref(t);
	json_decref(t);
	return rc;
}

int store_token_find(struct store *s, const char *sha256_hex, json_t **token, json_t **account)
{
	/* one read: the check's copy holds what the account says too */
	int rc = doc_get_json(s->e, false, DOC_TOKEN, sha256_hex, 0, token);
	if (rc < 0)
		return rc;
	*account = json_pack("{s:O, s:O, s:O}", "handle", json_object_get(*token, "account"),
	                     "role", json_object_get(*token, "role"), "disabled",
	                     json_object_get(*token, "disabled"));
	return 0;
}

int store_tokens(struct store *s, json_t **out)
{
	int rc = doc_page(s, DOC_TOKEN_ID, "", 1, 100000, false, "tokens", out);
	if (rc == 0)
		json_object_del(*out, "total");
	return rc;
}

/* Sets a time member of token id to now: revoked_at (audited) or last_used_at (quiet). */
static int token_mark(struct store *s, struct store_actor *who, int64_t id, const char *member,
                      int64_t now, bool quiet)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *t = NULL, *check = NULL;
	rc = doc_get_json(e, true, DOC_TOKEN_ID, "", id, &t);
	if (rc == 0 && !quiet && !json_is_null(json_object_get(t, member)))
		rc = -EALREADY;
	if (rc == 0) {
		json_object_set_new(t, member, time_json(now));
		rc = doc_put_json(e, DOC_TOKEN_ID, "", id, t);
	}
	/* a revocation reaches the check's copy in the same transaction */
	if (rc == 0 && !quiet)
		rc = doc_get_json(e, true, DOC_TOKEN, str_of(t, "hash"), 0, &check);
	if (rc == 0 && !quiet) {
		json_object_set_new(check, member, time_json(now));
		rc = doc_put_json(e, DOC_TOKEN, str_of(t, "hash"), 0, check);
	}
	json_decref(check);
	if (rc == 0 && !quiet) {
		char n[24];
		snprintf(n, sizeof(n), "%lld", (long long)id);
		rc = audit_object(e, who, "token.revoke", "token", n, now);
	}
	json_decref(t);
	return end_write(s, rc, quiet);
}

int store_token_revoke(struct store *s, struct store_actor *who, int64_t id, int64_t now)
{
	return token_mark(s, who, id, "revoked_at", now, false);
}

int store_token_used(struct store *s, int64_t id, int64_t now)
{
	return token_mark(s, NULL, id, "last_used_at", now, true);
}

/* --- editors' sessions (SPEC §14) --- */

int store_session_add(struct store *s, struct store_actor *who, const char *sha256_hex,
                      const char *account, int64_t expires, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *d = json_pack("{s:s, s:I, s:I}", "account", account, "created", (json_int_t)now,
	                      "expires", (json_int_t)expires);
	/* the expired ones go as new ones come: the table holds about a day of sign-ins */
	rc = d ? sessions_end(e, NULL, now) : -EIO;
	if (rc == 0)
		rc = doc_put_json(e, DOC_SESSION, sha256_hex, 0, d);
	json_decref(d);
	if (rc == 0)
		rc = audit_object(e, who, "session.login", "user", account, now);
	return end_write(s, rc, true);
}

int store_session_get(struct store *s, const char *sha256_hex, json_t **out)
{
	return doc_get_json(s->e, false, DOC_SESSION, sha256_hex, 0, out);
}

int store_session_end(struct store *s, struct store_actor *who, const char *sha256_hex, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *d = NULL;
	rc = doc_get_json(e, true, DOC_SESSION, sha256_hex, 0, &d);
	if (rc == 0)
		rc = e->ops->doc_delete(e, DOC_SESSION, sha256_hex, 0);
	if (rc == 0)
		rc = audit_object(e, who, "session.logout", "user", str_of(d, "account"), now);
	json_decref(d);
	return end_write(s, rc, true);
}

/* --- the key of signed links --- */

static int secret_put(struct store *s, struct store_actor *who, bool rotate, char **out)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *d = NULL;
	rc = rotate ? -ENOENT : doc_get_json(e, true, DOC_SECRET, "links", 0, &d);
	if (rc == -ENOENT) {
		char hex[65];
		rc = secret_random_hex(32, hex) < 0 ? -EIO : 0;
		if (rc == 0) {
			d = json_pack("{s:s}", "key", hex);
			rc = doc_put_json(e, DOC_SECRET, "links", 0, d);
		}
		if (rc == 0 && rotate)
			rc = audit(e, who, "secret.rotate", "secret/links", (int64_t)time(NULL));
	}
	if (rc == 0 && out)
		*out = xstrdup(str_of(d, "key"));
	json_decref(d);
	return end_write(s, rc, !rotate);
}

int store_secret(struct store *s, char **out)
{
	json_t *d = NULL;
	int rc = doc_get_json(s->e, false, DOC_SECRET, "links", 0, &d);
	if (rc == 0)
		*out = xstrdup(str_of(d, "key"));
	json_decref(d);
	return rc == -ENOENT ? secret_put(s, NULL, false, out) : rc;
}

int store_secret_rotate(struct store *s, struct store_actor *who)
{
	return secret_put(s, who, true, NULL);
}

/* --- media (SPEC §12) --- */

int store_media_get(struct store *s, const char *id, json_t **out)
{
	return doc_get_json(s->e, false, DOC_MEDIA, id, 0, out);
}

int store_media_list(struct store *s, unsigned page, unsigned per_page, json_t **out)
{
	return doc_page(s, DOC_MEDIA, NULL, page, per_page, false, "media", out);
}

int store_media_add(struct store *s, struct store_actor *who, json_t *rec, int64_t now,
                    json_t **out)
{
	struct store_engine *e = s->e;
	const char *id = str_of(rec, "id");
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *had = NULL;
	rc = doc_get_json(e, true, DOC_MEDIA, id, 0, &had);
	if (rc == 0) {
		/* the same bytes again: the same image, as it was described first */
		e->ops->rollback(e);
		*out = had;
		return 1;
	}
	if (rc == -ENOENT) {
		json_object_set_new(rec, "created_at", time_json(now));
		json_object_set_new(rec, "updated_at", time_json(now));
		json_object_set_new(rec, "account", json_string(who ? who->account : "system"));
		rc = doc_put_json(e, DOC_MEDIA, id, 0, rec);
	}
	if (rc == 0)
		rc = audit_object(e, who, "media.create", "media", id, now);
	if (rc == 0) {
		json_t *ev = json_pack("{s:s, s:o, s:O}", "event", STORE_EVENT_MEDIA, "created_at",
		                       time_json(now), "media", rec);
		rc = ev ? fire_now(s, ev) : -EIO;
		json_decref(ev);
	}
	rc = end_write(s, rc, true);
	if (rc == 0)
		*out = json_incref(rec);
	return rc;
}

int store_media_update(struct store *s, struct store_actor *who, const char *id,
                       const json_t *changes, int64_t now, json_t **out)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *rec = NULL;
	rc = doc_change(e, DOC_MEDIA, id, changes, now, &rec);
	if (rc == 0)
		rc = audit_object(e, who, "media.update", "media", id, now);
	rc = end_write(s, rc, true);
	if (rc == 0 && out)
		*out = json_incref(rec);
	json_decref(rec);
	return rc;
}

/* Whether a story of any status shows the image: 1, 0 or a negative error. */
static int media_used(struct store_engine *e, const char *id)
{
	char key[MEDIA_ID_LEN + 2];
	snprintf(key, sizeof(key), "%c%s", MEDIA_MARK, id);
	struct store_page p = {.filter = visible(false, 0), .tag = key, .limit = 1};
	struct article_list l;
	memset(&l, 0, sizeof(l));
	int rc = e->ops->list(e, &p, &l);
	if (rc == 0)
		rc = l.total > 0;
	article_list_cleanup(&l);
	return rc;
}

int store_media_delete(struct store *s, struct store_actor *who, const char *id, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	json_t *rec = NULL;
	rc = doc_get_json(e, true, DOC_MEDIA, id, 0, &rec);
	json_decref(rec);
	int used = rc == 0 ? media_used(e, id) : 0;
	rc = used < 0 ? used : used ? -ENOTEMPTY : rc;
	if (rc == 0)
		rc = e->ops->doc_delete(e, DOC_MEDIA, id, 0);
	if (rc == 0)
		rc = audit_object(e, who, "media.delete", "media", id, now);
	return end_write(s, rc, true);
}

int store_media_known(const char *id, void *arg)
{
	struct store *s = arg;
	char *doc = NULL;
	int rc = s->e->ops->doc_get(s->e, false, DOC_MEDIA, id, 0, &doc);
	free(doc);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* --- outbound (SPEC §13): the outbox rows a change writes, webhooks, the delivery log --- */

void store_outbox_rows_cleanup(struct store_outbox_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].kind);
		free(r->items[i].target);
		free(r->items[i].hold);
		free(r->items[i].doc);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

void store_set_outbound(struct store *s, const struct store_outbound *o)
{
	free(s->out.base_url);
	free(s->out.site_language);
	s->out.base_url = xstrdup(o->base_url ? o->base_url : "");
	s->out.site_language = xstrdup(o->site_language ? o->site_language : "");
	s->out.websub = o->websub;
	s->out.purge = o->purge;
}

void store_on_outbox(struct store *s, void (*fn)(void *arg), void *arg)
{
	s->on_outbox = fn;
	s->on_outbox_arg = arg;
}

int64_t store_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In a transaction: one delivery of kind (to the webhook target) due at due_ms. */
/* When a row is due and which publication it belongs to: first_ms is when it was first due,
 * or, for a row held for a scheduled story (hold its id), that story's publication time, which
 * a later write of the story compares with its own moment. */
struct due {
	int64_t due_ms, first_ms;
	const char *hold;
};

static struct due due_at(int64_t ms)
{
	return (struct due){ms, ms, ""};
}

static int outbox_put(struct store *s, const char *kind, const char *target, struct due when,
                      json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return -EIO;
	struct store_outbox_row r = {.kind = (char *)kind,
	                             .target = (char *)target,
	                             .hold = (char *)when.hold,
	                             .due_ms = when.due_ms,
	                             .first_ms = when.first_ms,
	                             .doc = text};
	int rc = s->e->ops->outbox_add(s->e, &r);
	free(text);
	if (rc == 0)
		atomic_store(&s->outbox_wrote, true);
	return rc;
}

/* The webhooks, in a transaction. */
static int webhooks_in_txn(struct store_engine *e, struct store_docs *d)
{
	return e->ops->doc_list(e, true, DOC_WEBHOOK, NULL, STORE_WEBHOOKS_MAX, 0, false, d);
}

/* In a transaction: event (its "event", "created_at" and subject set; its id is set here)
 * to every active webhook that takes it, due at due_ms, cancelled by a later write of hold. */
static int fire(struct store *s, json_t *event, struct due when)
{
	struct store_engine *e = s->e;
	char id[33], delivery[33];
	if (secret_random_hex(16, id) < 0)
		return -EIO;
	/* the id first, for whoever reads the payload */
	json_t *first = json_pack("{s:s}", "id", id);
	json_object_update(first, event);
	json_object_clear(event);
	json_object_update(event, first);
	json_decref(first);
	struct store_docs d;
	int rc = webhooks_in_txn(e, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		json_t *hook = json_loads(d.items[i].doc, 0, NULL);
		if (hook && outbox_webhook_takes(hook, str_of(event, "event"))) {
			/* one delivery per webhook: its id is what a receiver sees again on a retry
			 */
			rc = secret_random_hex(16, delivery) < 0 ? -EIO : 0;
			json_t *doc = json_pack("{s:s, s:O}", "delivery", delivery, "event", event);
			if (rc == 0)
				rc = doc ? outbox_put(s, STORE_OUTBOX_WEBHOOK, d.items[i].key, when,
				                      doc)
				         : -EIO;
			json_decref(doc);
		}
		json_decref(hook);
	}
	store_docs_cleanup(&d);
	return rc;
}

/* In a transaction: the purge of keys at due_ms, and again a moment later: an instance (or a
 * process) that had not yet seen the change when the cache asked it again would have given
 * the old page, which the second purge sends away. */
static int purge(struct store *s, const char *keys, struct due when)
{
	if (!s->out.purge)
		return 0;
	struct due again = when;
	again.due_ms += STORE_PURGE_AGAIN_MS;
	if (!*when.hold)
		again.first_ms = again.due_ms;
	int rc = 0;
	/* a request header of at most STORE_PURGE_HEADER_MAX bytes (Varnish refuses one over
	 * 8 KiB): a story with many long tags purges in several */
	while (rc == 0 && *keys) {
		size_t len = strlen(keys);
		if (len > STORE_PURGE_HEADER_MAX) {
			len = STORE_PURGE_HEADER_MAX;
			while (len > 0 && keys[len] != ' ')
				len--;
			if (len == 0) /* one key longer than that: it goes alone */
				len = strcspn(keys, " ");
		}
		char *part = xstrndup(keys, len);
		json_t *doc = json_pack("{s:s}", "keys", part);
		free(part);
		rc = doc ? outbox_put(s, STORE_OUTBOX_PURGE, "", when, doc) : -EIO;
		if (rc == 0)
			rc = outbox_put(s, STORE_OUTBOX_PURGE, "", again, doc);
		json_decref(doc);
		keys += len;
		while (*keys == ' ')
			keys++;
	}
	return rc;
}

static int websub(struct store *s, struct due when)
{
	if (!s->out.websub)
		return 0;
	json_t *doc = json_object();
	int rc = outbox_put(s, STORE_OUTBOX_WEBSUB, "", when, doc);
	json_decref(doc);
	return rc;
}

/* The story as an event carries it: the API's object. */
static json_t *event_article(struct store *s, const struct article *a)
{
	return article_to_json(a, s->out.base_url, s->out.site_language, true);
}

/* The members of the old version that the new one changed, with their old values (its
 * updated_at aside: every write moves it). */
static json_t *changed_fields(struct store *s, const struct article *old,
                              const struct article *new_)
{
	json_t *prev = json_object();
	if (!old || !new_)
		return prev;
	json_t *o = event_article(s, old), *n = event_article(s, new_);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "updated_at") != 0 && !json_equal(v, json_object_get(n, k)))
			json_object_set(prev, k, v);
	}
	json_object_foreach(n, k, v)
	{
		if (!json_object_get(o, k))
			json_object_set_new(prev, k, json_null());
	}
	json_decref(o);
	json_decref(n);
	return prev;
}

static json_t *article_event(struct store *s, const char *name, const struct article *a,
                             json_t *previous, int64_t at)
{
	return json_pack("{s:s, s:o, s:o, s:o}", "event", name, "created_at", time_json(at),
	                 "article", event_article(s, a), "previous", previous);
}

/* In a write's transaction: what the change from old to new_ (either NULL) tells the world
 * (SPEC §13: one action, one event). What readers see at now decides: a story that becomes
 * public fires article.published, one that stays public and changed article.updated, one
 * that stops being public article.unpublished (or article.deleted when it is gone). A story
 * scheduled for later fires article.published at its time, from a row due then, which the
 * next write of the story cancels; drafts fire nothing. Caches are purged and the hub pinged
 * whenever readers saw either version. */
static int announce(struct store *s, const struct article *old, const struct article *new_,
                    int64_t now)
{
	struct store_engine *e = s->e;
	const struct article *any = new_ ? new_ : old;
	if (!any)
		return 0; /* no story on either side: nothing to tell */
	char hold[24];
	snprintf(hold, sizeof(hold), "%lld", (long long)any->id);
	/* one moment decides what readers see and what this write replaces: the clock's (the
	 * request's own second may be seconds old after waiting for the write lock), unless the
	 * write names another time (a test's) */
	int64_t now_ms = store_clock_ms(), clock = now_ms / 1000;
	if (now <= clock && now >= clock - 5)
		now = clock;
	/* what was waiting for a publication after this moment, never tried and held by no
	 * worker, is replaced by what this write says; a publication that came stays */
	int rc = e->ops->outbox_cancel(e, hold, now * 1000 + 999, now_ms);
	bool was = old && store_is_public(old, now), is = new_ && store_is_public(new_, now);
	bool later = new_ && !is && strcmp(new_->status, PUBLIC_STATUS) == 0;
	json_t *prev = changed_fields(s, old, new_);
	bool changed = json_object_size(prev) > 0 || !old || !new_;
	const char *name = NULL;
	if (!was && is)
		name = STORE_EVENT_PUBLISHED;
	else if (was && is && changed)
		name = STORE_EVENT_UPDATED;
	else if (was && !new_)
		name = STORE_EVENT_DELETED;
	else if (was && !is)
		name = STORE_EVENT_UNPUBLISHED;
	if (rc == 0 && name) {
		json_t *ev = article_event(s, name, new_ ? new_ : old, json_incref(prev), now);
		rc = ev ? fire(s, ev, due_at(now_ms)) : -EIO;
		json_decref(ev);
	}
	if (rc == 0 && (was || is) && changed) {
		struct buf keys = BUF_INIT;
		surrogate_change(&keys, old, new_);
		rc = purge(s, buf_str(&keys), due_at(now_ms));
		buf_cleanup(&keys);
		if (rc == 0)
			rc = websub(s, due_at(now_ms));
	}
	if (rc == 0 && later) {
		/* its time: pages are purged a second after it, once every instance's generation
		 * has moved past the publication (they look every 250 ms); every row of it counts
		 * from the publication time, which the next write of the story compares */
		int64_t at_ms = new_->published_ts * 1000;
		json_t *ev =
		    article_event(s, STORE_EVENT_PUBLISHED, new_,
		                  was ? json_object() : json_incref(prev), new_->published_ts);
		rc = ev ? fire(s, ev, (struct due){at_ms, at_ms, hold}) : -EIO;
		json_decref(ev);
		struct buf keys = BUF_INIT;
		surrogate_change(&keys, NULL, new_);
		if (rc == 0)
			rc = purge(s, buf_str(&keys), (struct due){at_ms + 1000, at_ms, hold});
		buf_cleanup(&keys);
		if (rc == 0)
			rc = websub(s, (struct due){at_ms + 1000, at_ms, hold});
	}
	json_decref(prev);
	return rc;
}

static int purge_now(struct store *s, const char *keys)
{
	return purge(s, keys, due_at(store_clock_ms()));
}

static int fire_now(struct store *s, json_t *event)
{
	return fire(s, event, due_at(store_clock_ms()));
}

/* --- webhooks --- */

static int cmp_webhook(const void *a, const void *b)
{
	int64_t x = int_of(*(json_t *const *)a, "id"), y = int_of(*(json_t *const *)b, "id");
	return (x > y) - (x < y);
}

int store_webhooks(struct store *s, json_t **out)
{
	struct store_docs d;
	int rc =
	    s->e->ops->doc_list(s->e, false, DOC_WEBHOOK, NULL, STORE_WEBHOOKS_MAX, 0, false, &d);
	if (rc < 0)
		return rc;
	json_t **hooks = xcalloc(d.n ? d.n : 1, sizeof(*hooks));
	size_t n = 0;
	for (size_t i = 0; i < d.n; i++)
		if ((hooks[n] = json_loads(d.items[i].doc, 0, NULL)) != NULL)
			n++;
	qsort(hooks, n, sizeof(*hooks), cmp_webhook);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, hooks[i]);
	free(hooks);
	store_docs_cleanup(&d);
	*out = json_pack("{s:o}", "webhooks", list);
	return 0;
}

int store_webhook_get(struct store *s, int64_t id, json_t **out)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return doc_get_json(s->e, false, DOC_WEBHOOK, key, 0, out);
}

int store_webhook_add(struct store *s, struct store_actor *who, json_t *hook, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	struct store_docs d;
	rc = webhooks_in_txn(e, &d);
	if (rc == 0 && d.total >= STORE_WEBHOOKS_MAX)
		rc = -ENOSPC;
	store_docs_cleanup(&d);
	int64_t id = rc == 0 ? counter_next(e, DOC_WEBHOOK, 0) : 0;
	if (id < 0)
		rc = (int)id;
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	if (rc == 0) {
		json_object_set_new(hook, "id", json_integer(id));
		if (!json_object_get(hook, "active"))
			json_object_set_new(hook, "active", json_true());
		json_object_set_new(hook, "created_at", time_json(now));
		json_object_set_new(hook, "updated_at", time_json(now));
		rc = doc_put_json(e, DOC_WEBHOOK, key, 0, hook);
	}
	if (rc == 0)
		rc = audit_object(e, who, "webhook.create", "webhook", key, now);
	return end_write(s, rc, true);
}

int store_webhook_update(struct store *s, struct store_actor *who, int64_t id,
                         const json_t *changes, int64_t now, json_t **out)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	json_t *hook = NULL;
	rc = doc_change(e, DOC_WEBHOOK, key, changes, now, &hook);
	/* turned on again: the reason it was turned off is history (in the delivery log) */
	if (rc == 0 && json_is_true(json_object_get(changes, "active"))) {
		json_object_set_new(hook, "disabled_reason", json_null());
		rc = doc_put_json(e, DOC_WEBHOOK, key, 0, hook);
	}
	if (rc == 0)
		rc = audit_object(e, who, "webhook.update", "webhook", key, now);
	rc = end_write(s, rc, true);
	if (rc == 0 && out)
		*out = json_incref(hook);
	json_decref(hook);
	return rc;
}

int store_webhook_delete(struct store *s, struct store_actor *who, int64_t id, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	json_t *hook = NULL;
	rc = doc_get_json(e, true, DOC_WEBHOOK, key, 0, &hook);
	json_decref(hook);
	if (rc == 0)
		rc = e->ops->doc_delete(e, DOC_WEBHOOK, key, 0);
	if (rc == 0)
		rc = audit_object(e, who, "webhook.delete", "webhook", key, now);
	return end_write(s, rc, true);
}

int store_deliveries(struct store *s, int64_t id, unsigned page, unsigned per_page, json_t **out)
{
	char key[24];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return doc_page(s, DOC_DELIVERY, key, page, per_page, true, "deliveries", out);
}

/* --- the outbox's workers --- */

int store_outbox_claim(struct store *s, int64_t now_ms, int64_t lease_ms, unsigned limit,
                       struct store_outbox_rows *out)
{
	return s->e->ops->outbox_claim(s->e, now_ms, lease_ms, limit, out);
}

int64_t store_outbox_backlog(struct store *s)
{
	return s->e->ops->outbox_backlog(s->e);
}

/* In a transaction: entry as the next line of the webhook's delivery log, the oldest beyond
 * STORE_DELIVERIES_KEPT dropped. */
static int log_delivery(struct store_engine *e, const char *webhook, json_t *entry)
{
	char counter[40];
	snprintf(counter, sizeof(counter), "%s/%s", DOC_DELIVERY, webhook);
	int64_t n = counter_next(e, counter, 0);
	if (n < 0)
		return (int)n;
	json_object_set_new(entry, "n", json_integer(n));
	int rc = doc_put_json(e, DOC_DELIVERY, webhook, n, entry);
	if (rc == 0 && n > STORE_DELIVERIES_KEPT)
		rc = e->ops->doc_delete(e, DOC_DELIVERY, webhook, n - STORE_DELIVERIES_KEPT);
	return rc;
}

/* In a transaction: the webhook turned off, with why; its audit entry is the system's. */
static int webhook_disable(struct store_engine *e, const char *webhook, const char *why,
                           int64_t now)
{
	json_t *changes = json_pack("{s:b, s:s}", "active", 0, "disabled_reason", why);
	json_t *hook = NULL;
	int rc = doc_change(e, DOC_WEBHOOK, webhook, changes, now, &hook);
	json_decref(changes);
	json_decref(hook);
	if (rc == -ENOENT)
		return 0; /* deleted meanwhile */
	if (rc == 0)
		rc = audit_object(e, NULL, "webhook.disable", "webhook", webhook, now);
	return rc;
}

int store_outbox_settle(struct store *s, const struct store_settle *list, size_t n, int64_t now)
{
	struct store_engine *e = s->e;
	int rc = begin_write(s, false);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct store_settle *x = &list[i];
		int mine =
		    x->retry ? e->ops->outbox_retry(e, x->row, x->lease_ms, x->due_ms, x->attempts)
		             : e->ops->outbox_remove(e, x->row, x->lease_ms);
		/* a row claimed again since is its new holder's to log and to judge */
		rc = mine < 0 ? mine : 0;
		if (mine == 1 && x->entry && x->webhook)
			rc = log_delivery(e, x->webhook, x->entry);
		if (rc == 0 && (mine == 1 || !x->row) && x->disable && x->webhook)
			rc = webhook_disable(e, x->webhook, x->disable, now);
	}
	return end_write(s, rc, true);
}
