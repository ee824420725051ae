/* store_backend.h - what a storage engine implements for store.c: primitives, never rules.
 * Which records are public, how slugs are derived and made unique, what an upsert keeps,
 * which times are stamped: all of that is store.c's, written once above these operations. */
#ifndef GAZETTE_STORE_BACKEND_H
#define GAZETTE_STORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "article.h"
#include "buf.h"
#include "store.h"

/* The records a read may see; store.c decides what the two conditions are. */
struct store_filter {
	const char *status;      /* only this status; NULL: any */
	int64_t published_until; /* only published_ts <= this; INT64_MAX: any */
};

/* One page of a listing. */
struct store_page {
	struct store_filter filter;
	const char *tag;   /* only articles with this tag; NULL: any */
	const char *match; /* the engine's full-text query, words quoted; NULL: no search */
	unsigned limit, offset;
	bool with_body;
	/* how long the read may run once it has a connection (past it: -ETIMEDOUT); 0: no bound */
	unsigned budget_ms;
};

struct store_engine;

/* One document (SPEC §11's accounts, tokens, revisions, audit entries, old slugs): a JSON
 * text under a kind, a key and a sequence number. What they hold is store.c's. */
struct store_doc {
	char *key;
	int64_t seq;
	char *doc;
};

struct store_docs {
	struct store_doc *items;
	size_t n;
	int64_t total; /* documents of the kind (and key) over all pages */
};

void store_docs_cleanup(struct store_docs *d);

/* Every operation returns 0 (or the value it names) or a negative errno: -ENOENT none such,
 * -EEXIST a unique key taken, -EROFS not writable, -ENOSPC full, -EBUSY locked too long,
 * -ETIMEDOUT past the deadline, -EIO anything else (the engine logs the details). Reads may
 * run on any thread at once; writes run between begin and commit or rollback, one
 * transaction at a time (begin waits for the one before). */
struct store_ops {
	const char *name;
	void (*close)(struct store_engine *e);

	int (*get)(struct store_engine *e, const char *slug, const struct store_filter *f,
	           struct article *a);
	/* The page's rows, newest published_ts first (ties: higher id first), or by rank when
	 * matching, and in out->total the number of all matches: both from one snapshot. */
	int (*list)(struct store_engine *e, const struct store_page *p, struct article_list *out);
	/* How list would run p, one step a line, each statement ended by "--". */
	int (*plan)(struct store_engine *e, const struct store_page *p, struct buf *out);
	int64_t (*count)(struct store_engine *e, const struct store_filter *f);
	/* Every record, by id, with bodies. */
	int (*export)(struct store_engine *e, struct article_list *out);
	/* From one snapshot, the later of the time the last transaction gave touch and the
	 * latest published_ts within f (0 when neither is). */
	int64_t (*changed_at)(struct store_engine *e, const struct store_filter *f);
	/* The earliest published_ts after after among records of status, INT64_MAX when none. */
	int64_t (*next_after)(struct store_engine *e, const char *status, int64_t after);
	/* A number that changes when another process or instance commits. */
	int64_t (*external_version)(struct store_engine *e);

	/* bulk: one large transaction follows (an import); the engine may prepare for it */
	int (*begin)(struct store_engine *e, bool bulk);
	int (*commit)(struct store_engine *e);
	void (*rollback)(struct store_engine *e);
	/* In a transaction: the record at slug as the transaction sees it (any status). */
	int (*load)(struct store_engine *e, const char *slug, struct article *a);
	/* In a transaction: the id of the record with slug (and its created_at, which the
	 * caller frees, when asked), 0 when the slug is free. */
	int64_t (*slug_id)(struct store_engine *e, const char *slug, char **created_at);
	/* In a transaction: the id of the record stored under uri (with its slug and created_at,
	 * which the caller frees), 0 when there is none. */
	int64_t (*uri_id)(struct store_engine *e, const char *uri, char **slug, char **created_at);
	/* 1 when a record has id, else 0. */
	int (*id_exists)(struct store_engine *e, int64_t id);
	/* The id the next new record may take. */
	int64_t (*next_id)(struct store_engine *e);
	/* Stores a new record under a->id (set), or every field of an existing one. */
	int (*insert)(struct store_engine *e, const struct article *a);
	int (*update)(struct store_engine *e, const struct article *a);
	int (*remove)(struct store_engine *e, int64_t id);
	/* Records, in the transaction, that the content changed at t (kept if later). */
	int (*touch)(struct store_engine *e, int64_t t);

	/* Documents. Reads outside a transaction (writer false) run on a reader; inside one
	 * (writer true) on the transaction's connection, seeing its writes. */
	int (*doc_get)(struct store_engine *e, bool writer, const char *kind, const char *key,
	               int64_t seq, char **doc);
	/* In a transaction: stores doc under (kind, key, seq), replacing what was there. */
	int (*doc_put)(struct store_engine *e, const char *kind, const char *key, int64_t seq,
	               const char *doc);
	int (*doc_delete)(struct store_engine *e, const char *kind, const char *key, int64_t seq);
	/* In a transaction: the number kept as the document (kind, key, 0) moved past floor and on
	 * by one, in one statement; returns it. */
	int64_t (*doc_next)(struct store_engine *e, const char *kind, const char *key,
	                    int64_t floor);
	/* A page of the documents of kind (with key; NULL: any), by key then seq, or the
	 * other way round when descending, and their total. */
	int (*doc_list)(struct store_engine *e, bool writer, const char *kind, const char *key,
	                unsigned limit, unsigned offset, bool descending, struct store_docs *out);

	/* The outbox. In a transaction: a new row (its id and attempts ignored). */
	int (*outbox_add)(struct store_engine *e, const struct store_outbox_row *r);
	/* A statement of its own (no write lock of the store's): up to limit rows due by now_ms
	 * that nobody holds, each then held until now_ms + lease_ms. Two claims, from two
	 * instances at once, never get one row (PostgreSQL: FOR UPDATE SKIP LOCKED). */
	int (*outbox_claim)(struct store_engine *e, int64_t now_ms, int64_t lease_ms,
	                    unsigned limit, struct store_outbox_rows *out);
	/* In a transaction: row id, still under the lease_ms its claim set, is gone (delivered,
	 * given up), or due again at due_ms after attempts tries and held by nobody. 1 when so,
	 * 0 when the row was claimed again since (or is gone): nothing happened. */
	int (*outbox_remove)(struct store_engine *e, int64_t id, int64_t lease_ms);
	int (*outbox_retry)(struct store_engine *e, int64_t id, int64_t lease_ms, int64_t due_ms,
	                    int attempts);
	/* In a transaction: removes the rows of hold (not "") first due after after_ms that no
	 * worker holds at now_ms: what was waiting for a time, never tried. */
	int (*outbox_cancel)(struct store_engine *e, const char *hold, int64_t after_ms,
	                     int64_t now_ms);
	/* The rows waiting, or a negative error. */
	int64_t (*outbox_backlog)(struct store_engine *e);
};

/* The keys of a record an engine keeps in its tag index (for listings by tag or author), in
 * order: its tags, then '@' and each author's handle (a tag never holds an '@'), then '!' and
 * each image it shows. Fills keys
 * (at least STORE_KEYS_MAX places; the caller frees each) and returns how many. */
#define STORE_KEYS_MAX (ARTICLE_TAGS_MAX + ARTICLE_AUTHORS_MAX + 1 + ARTICLE_IMAGES_MAX)
size_t store_index_keys(const struct article *a, char **keys);

/* An engine stores a record's index keys as one text, separated by spaces (a key never holds
 * one), in their order: this gives them back to a->tags and a->authors (NULL or "" for
 * none). */
void store_tags_from_text(struct article *a, const char *joined);

/* The first member of every engine's own struct (lwan's database.c): store.c holds this. */
struct store_engine {
	const struct store_ops *ops;
};

/* The SQLite engine (store_sqlite.c): the file at path, created and migrated as needed, with
 * nreaders reading connections. NULL with a message in err. */
struct store_engine *store_sqlite_open(const char *path, unsigned nreaders, struct buf *err);

/* Whether the SQLite database at path can be opened by this gazette, read-only: a file of a
 * schema it knows, or no file yet in a folder that can hold one. 0, or -1 with a message. */
int store_sqlite_check(const char *path, struct buf *err);
/* A consistent copy of the database at path in dest, as one commit left it, while other
 * processes write: SQLite's online backup in one read transaction, fsynced, checked with
 * integrity_check, then renamed over dest. 0 with info filled, -EINVAL when dest is the
 * database or a file beside it, or -1 with a message (and dest as it was, unless the rename
 * was done and only its folder's fsync failed, which the message says). */
int store_sqlite_backup(const char *path, const char *dest, struct store_backup_info *info,
                        struct buf *err);

/* The PostgreSQL engine (store_pg.c, built when libpq is): the database at the libpq URL
 * url, migrated as needed, with nreaders reading connections, a writer and a listener. NULL
 * with a message in err (never the URL: it may hold a password). */
struct store_engine *store_pg_open(const char *url, unsigned nreaders, struct buf *err);
/* Whether the database at url answers, in a read-only session, with a schema this gazette
 * knows (or none yet). 0, or -1 with a message (never the URL). */
int store_pg_check(const char *url, struct buf *err);

/* The PostgreSQL engine's search literals (for its tests and fuzzing): the tsvector of a
 * story's title, summary and body (textsearch's terms, each once with its positions and
 * weights, within PostgreSQL's size limits), caller frees; and the tsquery of store.c's match
 * text appended to out (each word's terms a phrase, all words required; nothing when no word
 * has a term). */
char *store_pg_tsvector(const struct article *a);
void store_pg_tsquery(struct buf *out, const char *match);

/* Registers textsearch as the FTS5 tokenizer "gazette" on an SQLite handle (the engine does on
 * each of its own; tests and tools that open the file themselves call it). Returns an SQLite
 * result code. */
struct sqlite3;
int store_sqlite_tokenizer(struct sqlite3 *db);

#endif
