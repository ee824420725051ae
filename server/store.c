/* store.c - SQLite storage: WAL, full sync, versioned schema, FTS5, one writer, many readers. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "mem.h"
#include "rfc3339.h"

#define SCHEMA_VERSION 2
#define FTS_MAX_BYTES  512
#define BUDGET_STEPS   1000 /* virtual machine steps between two looks at a read's deadline */

static const char *const migrations[SCHEMA_VERSION] = {
    /* 1: articles, tags, full-text index kept in step by triggers */
    "CREATE TABLE articles ("
    " id INTEGER PRIMARY KEY,"
    " slug TEXT NOT NULL UNIQUE,"
    " title TEXT NOT NULL,"
    " summary TEXT NOT NULL,"
    " published_at TEXT NOT NULL,"
    " published_ts INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('published', 'draft')),"
    " source TEXT NOT NULL DEFAULT '',"
    " editor TEXT NOT NULL DEFAULT '',"
    " author TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " updated_ts INTEGER NOT NULL,"
    " body TEXT NOT NULL,"
    " body_html TEXT NOT NULL);"
    "CREATE INDEX articles_order ON articles (published_ts DESC, id DESC);"
    "CREATE TABLE tags ("
    " article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,"
    " tag TEXT NOT NULL,"
    " position INTEGER NOT NULL,"
    " PRIMARY KEY (article_id, tag)) WITHOUT ROWID;"
    "CREATE INDEX tags_by_tag ON tags (tag, article_id);"
    "CREATE VIRTUAL TABLE articles_fts USING fts5 (title, summary, body,"
    " content = 'articles', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN"
    " INSERT INTO articles_fts (rowid, title, summary, body)"
    " VALUES (new.id, new.title, new.summary, new.body); END;"
    "CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN"
    " INSERT INTO articles_fts (articles_fts, rowid, title, summary, body)"
    " VALUES ('delete', old.id, old.title, old.summary, old.body); END;"
    "CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN"
    " INSERT INTO articles_fts (articles_fts, rowid, title, summary, body)"
    " VALUES ('delete', old.id, old.title, old.summary, old.body);"
    " INSERT INTO articles_fts (rowid, title, summary, body)"
    " VALUES (new.id, new.title, new.summary, new.body); END;",
    /* 2: listings from covering indexes (a deep page skips index entries, not rows), tags
     * carrying their article's visibility and order, and when the content last changed */
    "DROP INDEX articles_order;"
    "CREATE INDEX articles_listing ON articles (published_ts DESC, id DESC, status);"
    "ALTER TABLE tags ADD COLUMN published INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tags ADD COLUMN published_ts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE tags SET"
    " published = (SELECT status = 'published' FROM articles WHERE id = article_id),"
    " published_ts = (SELECT published_ts FROM articles WHERE id = article_id);"
    "DROP INDEX tags_by_tag;"
    "CREATE INDEX tags_listing ON tags (tag, published_ts DESC, article_id DESC, published);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (key, value)"
    " SELECT 'changed_at', coalesce(max(updated_ts), 0) FROM articles;",
};

/* Columns every read selects, in this order; body and body_html last so that lists, which
 * never read them, never load their overflow pages. */
#define COLS                                                                                     \
	"a.id, a.slug, a.title, a.summary, a.published_at, a.published_ts, a.status, a.source, " \
	"a.editor, a.author, a.created_at, a.updated_at, a.updated_ts, "                         \
	"(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM tags WHERE article_id = a.id "     \
	"ORDER BY position)), a.body, a.body_html"
#define VISIBLE "(?1 OR (a.status = 'published' AND a.published_ts <= ?2))"
/* A page of a listing: the ids come from an index alone (LIMIT/OFFSET over index entries),
 * and only the page's rows are read, tags and all. */
#define PAGE_OF(ids)                                                      \
	"SELECT " COLS " FROM (" ids ") p JOIN articles a ON a.id = p.id" \
	" ORDER BY a.published_ts DESC, a.id DESC"
#define PUBLIC_IDS                                                                  \
	"SELECT id FROM articles WHERE status = 'published' AND published_ts <= ?2" \
	" ORDER BY published_ts DESC, id DESC"
#define TAG_IDS                                                                      \
	"SELECT article_id AS id FROM tags WHERE tag = ?5 AND (?1 OR (published AND" \
	" published_ts <= ?2)) ORDER BY published_ts DESC, article_id DESC"
#define SEARCH_IDS                                                                              \
	"SELECT a.id, f.rank AS rank, count(*) OVER () AS total FROM articles_fts f"            \
	" JOIN articles a ON a.id = f.rowid WHERE articles_fts MATCH ?6 AND " VISIBLE           \
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM tags WHERE article_id = a.id AND tag = ?5))" \
	" ORDER BY f.rank, a.published_ts DESC, a.id DESC LIMIT ?3 OFFSET ?4"

enum stmt {
	S_GET,
	S_LIST_PUBLIC,
	S_LIST_ALL,
	S_LIST_TAG,
	S_SEARCH,
	S_COUNT_PUBLIC,
	S_COUNT_ALL,
	S_COUNT_TAG,
	S_COUNT_SEARCH,
	S_CHANGED_AT,
	S_EXPORT,
	S_SLUG_ID,
	S_ID_EXISTS,
	S_INSERT,
	S_UPDATE,
	S_SET_SLUG,
	S_DELETE,
	S_DELETE_TAGS,
	S_INSERT_TAG,
	S_TOUCH,
	S_NEXT_SCHEDULED,
	S_BEGIN,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_DATA_VERSION,
	NSTMT
};

static const char *const sql[NSTMT] = {
    [S_GET] = "SELECT " COLS " FROM articles a WHERE a.slug = ?3 AND " VISIBLE,
    [S_LIST_PUBLIC] = PAGE_OF(PUBLIC_IDS " LIMIT ?3 OFFSET ?4"),
    [S_LIST_ALL] = PAGE_OF("SELECT id FROM articles ORDER BY published_ts DESC, id DESC"
                           " LIMIT ?3 OFFSET ?4"),
    [S_LIST_TAG] = PAGE_OF(TAG_IDS " LIMIT ?3 OFFSET ?4"),
    [S_SEARCH] = "SELECT " COLS ", p.total FROM (" SEARCH_IDS ") p JOIN articles a"
                 " ON a.id = p.id ORDER BY p.rank, a.published_ts DESC, a.id DESC",
    [S_COUNT_PUBLIC] = "SELECT count(*) FROM articles WHERE status = 'published'"
                       " AND published_ts <= ?2",
    [S_COUNT_ALL] = "SELECT count(*) FROM articles",
    [S_COUNT_TAG] = "SELECT count(*) FROM tags WHERE tag = ?5 AND (?1 OR (published AND"
                    " published_ts <= ?2))",
    [S_COUNT_SEARCH] = "SELECT count(*) FROM articles_fts f JOIN articles a ON a.id = f.rowid"
                       " WHERE articles_fts MATCH ?6 AND " VISIBLE
                       " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM tags WHERE"
                       " article_id = a.id AND tag = ?5))",
    [S_CHANGED_AT] = "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'changed_at'), 0),"
                     " coalesce((SELECT max(published_ts) FROM articles WHERE"
                     " status = 'published' AND published_ts <= ?1), 0))",
    [S_EXPORT] = "SELECT " COLS " FROM articles a ORDER BY a.id",
    [S_SLUG_ID] = "SELECT id, created_at FROM articles WHERE slug = ?1",
    [S_ID_EXISTS] = "SELECT 1 FROM articles WHERE id = ?1",
    [S_INSERT] = "INSERT INTO articles (id, slug, title, summary, published_at, published_ts,"
                 " status, source, editor, author, created_at, updated_at, updated_ts, body,"
                 " body_html) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                 " ?14, ?15)",
    [S_UPDATE] = "UPDATE articles SET slug = ?2, title = ?3, summary = ?4, published_at = ?5,"
                 " published_ts = ?6, status = ?7, source = ?8, editor = ?9, author = ?10,"
                 " created_at = ?11, updated_at = ?12, updated_ts = ?13, body = ?14,"
                 " body_html = ?15 WHERE id = ?1",
    [S_SET_SLUG] = "UPDATE articles SET slug = ?2 WHERE id = ?1",
    [S_DELETE] = "DELETE FROM articles WHERE id = ?1",
    [S_DELETE_TAGS] = "DELETE FROM tags WHERE article_id = ?1",
    [S_INSERT_TAG] = "INSERT OR IGNORE INTO tags (article_id, tag, position, published,"
                     " published_ts) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TOUCH] = "INSERT INTO meta (key, value) VALUES ('changed_at', ?1) ON CONFLICT (key)"
                " DO UPDATE SET value = max(value, excluded.value)",
    [S_NEXT_SCHEDULED] = "SELECT min(published_ts) FROM articles"
                         " WHERE status = 'published' AND published_ts > ?1",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_DATA_VERSION] = "PRAGMA data_version",
};

struct conn {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[NSTMT];
	int64_t deadline_ms; /* a reader's running read is interrupted past this; 0: none */
	bool interrupted;    /* the progress handler stopped it */
};

struct store {
	char *path;
	struct conn writer;
	bool writer_readonly; /* opened (or found) unable to write: reopen before the next write */
	int64_t reopened_at;  /* when reopen_all last tried */
	struct conn *readers;
	unsigned nreaders;
	atomic_uint next_reader;
	atomic_uint_fast64_t generation;
	int64_t data_version;           /* of the writer connection; under writer.lock */
	_Atomic int64_t next_scheduled; /* earliest future publication, INT64_MAX if none */
	int64_t polled_at;              /* the now of the last store_poll; under writer.lock */
	atomic_bool schedule_stale;

	struct store_limits limits;
	pthread_mutex_t count_lock; /* the public count, kept for one generation */
	uint64_t count_generation;
	int64_t count;
};

static int error_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return 0;
	case SQLITE_CONSTRAINT:
		/* only a unique key says "taken"; a CHECK or NOT NULL failure is a bug of ours */
		return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
		           ? -EEXIST
		           : -EIO;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN: return -EROFS;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_INTERRUPT: return -ETIMEDOUT;
	default: return -EIO;
	}
}

/* Logs the SQLite message (the log is for the operator; clients only see a status). */
static int db_error(struct conn *c, int rc, const char *what)
{
	if ((rc & 0xff) != SQLITE_INTERRUPT) /* a read over its budget: store_list says so */
		log_error("store: %s: %s", what, sqlite3_errmsg(c->db));
	return error_code(rc);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLite calls this every BUDGET_STEPS steps of a reader's statement: past the deadline,
 * the statement stops with SQLITE_INTERRUPT. */
static int on_progress(void *arg)
{
	struct conn *c = arg;
	if (c->deadline_ms && mono_ms() > c->deadline_ms) {
		c->interrupted = true;
		return 1;
	}
	return 0;
}

static sqlite3_stmt *stmt(struct conn *c, enum stmt which)
{
	sqlite3_stmt *st = c->stmt[which];
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	int rc = sqlite3_prepare_v3(c->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		log_error("store: prepare %d: %s", which, sqlite3_errmsg(c->db));
		return NULL;
	}
	c->stmt[which] = st;
	return st;
}

static int exec_simple(struct conn *c, enum stmt which)
{
	sqlite3_stmt *st = stmt(c, which);
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(c, rc, sql[which]);
}

/* Opens c's database handle: the writer may write, readers are read-only by SQLite's own
 * flag and query_only. Returns an SQLite result code. */
static int open_db(struct conn *c, const char *path, bool writer, bool create)
{
	int flags = SQLITE_OPEN_NOMUTEX |
	            (writer ? SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
	                    : SQLITE_OPEN_READONLY);
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_busy_timeout(c->db, 5000);
	sqlite3_extended_result_codes(c->db, 1);
	if (!writer)
		sqlite3_progress_handler(c->db, BUDGET_STEPS, on_progress, c);
	return sqlite3_exec(c->db,
	                    writer ? "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	                           : "PRAGMA query_only = 1;",
	                    NULL, NULL, NULL);
}

/* Closes c's handle and statements; the struct and its lock stay. */
static void drop_db(struct conn *c)
{
	for (int i = 0; i < NSTMT; i++) {
		sqlite3_finalize(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	sqlite3_close(c->db);
	c->db = NULL;
}

static int conn_open(struct conn *c, const char *path, bool writer, struct buf *err)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	int rc = open_db(c, path, writer, true);
	/* WAL is a property of the file, set once; readers never wait for the writer */
	if (rc == SQLITE_OK && writer)
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		buf_printf(err, "cannot open database %s: %s", path,
		           c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	drop_db(c);
	pthread_mutex_destroy(&c->lock);
}

static int migrate(struct conn *c, const char *path, struct buf *err)
{
	sqlite3_stmt *st;
	int version = 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version > SCHEMA_VERSION) {
		buf_printf(err, "database %s has schema version %d; this gazette knows up to %d",
		           path, version, SCHEMA_VERSION);
		return -1;
	}
	for (int v = version; v < SCHEMA_VERSION; v++) {
		char *msg = NULL;
		char *script = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;",
		                         migrations[v], v + 1);
		int rc = sqlite3_exec(c->db, script, NULL, NULL, &msg);
		free(script);
		if (rc != SQLITE_OK) {
			buf_printf(err, "cannot migrate database %s to version %d: %s", path, v + 1,
			           msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

static int64_t data_version(struct conn *c)
{
	sqlite3_stmt *st = stmt(c, S_DATA_VERSION);
	int64_t v = -1;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return v;
}

struct store *store_open(const char *path, unsigned nreaders, struct buf *err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	if (nreaders < 1)
		nreaders = 1;
	s->readers = xcalloc(nreaders, sizeof(*s->readers));
	atomic_init(&s->generation, 1);
	atomic_init(&s->next_scheduled, INT64_MAX);
	atomic_init(&s->schedule_stale, true);
	pthread_mutex_init(&s->count_lock, NULL);
	if (conn_open(&s->writer, path, true, err) < 0 || migrate(&s->writer, path, err) < 0)
		goto fail;
	for (unsigned i = 0; i < nreaders; i++) {
		s->nreaders = i + 1;
		if (conn_open(&s->readers[i], path, false, err) < 0)
			goto fail;
	}
	s->data_version = data_version(&s->writer);
	s->writer_readonly = sqlite3_db_readonly(s->writer.db, "main") != 0;
	if (s->writer_readonly)
		log_warn("store: %s is read-only: writes answer 503 until it is writable", path);
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nreaders; i++)
		conn_close(&s->readers[i]);
	conn_close(&s->writer);
	pthread_mutex_destroy(&s->count_lock);
	free(s->readers);
	free(s->path);
	free(s);
}

/* A reading connection: a free one if there is one, else wait for one. */
static struct conn *reader_get(struct store *s)
{
	unsigned start = atomic_fetch_add(&s->next_reader, 1);
	for (unsigned i = 0; i < s->nreaders; i++) {
		struct conn *c = &s->readers[(start + i) % s->nreaders];
		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	struct conn *c = &s->readers[start % s->nreaders];
	pthread_mutex_lock(&c->lock);
	return c;
}

static void conn_put(struct conn *c)
{
	pthread_mutex_unlock(&c->lock);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

static void row_to_article(sqlite3_stmt *st, bool with_body, struct article *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->slug = col_text(st, 1);
	a->title = col_text(st, 2);
	a->summary = col_text(st, 3);
	a->published_at = col_text(st, 4);
	a->published_ts = sqlite3_column_int64(st, 5);
	a->status = col_text(st, 6);
	a->source = col_text(st, 7);
	a->editor = col_text(st, 8);
	a->author = col_text(st, 9);
	a->created_at = col_text(st, 10);
	a->updated_at = col_text(st, 11);
	a->updated_ts = sqlite3_column_int64(st, 12);
	const char *tags = (const char *)sqlite3_column_text(st, 13);
	if (!tags)
		tags = ""; /* NULL: no tags */
	a->tags = xcalloc(ARTICLE_TAGS_MAX, sizeof(char *));
	a->ntags = 0;
	while (*tags && a->ntags < ARTICLE_TAGS_MAX) {
		size_t n = strcspn(tags, " ");
		a->tags[a->ntags++] = xstrndup(tags, n);
		tags += n;
		while (*tags == ' ')
			tags++;
	}
	a->body = with_body ? col_text(st, 14) : xstrdup("");
	a->body_html = with_body ? col_text(st, 15) : xstrdup("");
}

/* Steps st to the end, appending every row to out (its array grows from cap). Returns 0 or
 * a negative error; the statement is reset either way. */
static int read_rows(struct conn *c, sqlite3_stmt *st, bool with_body, size_t cap,
                     struct article_list *out, const char *what)
{
	int rc;
	out->items = xcalloc(cap, sizeof(struct article));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap *= 2;
			out->items = xrealloc(out->items, cap * sizeof(struct article));
		}
		/* a search row carries the count of all its matches after the columns */
		if (out->n == 0 && sqlite3_column_count(st) > 16)
			out->total = (unsigned)sqlite3_column_int64(st, 16);
		article_init(&out->items[out->n]);
		row_to_article(st, with_body, &out->items[out->n]);
		out->n++;
	}
	int ret = rc == SQLITE_DONE ? 0 : db_error(c, rc, what);
	sqlite3_reset(st);
	return ret;
}

static void bind_visibility(sqlite3_stmt *st, bool public_only, int64_t now)
{
	sqlite3_bind_int(st, 1, !public_only);
	sqlite3_bind_int64(st, 2, now);
}

int store_get(struct store *s, const char *slug, bool public_only, int64_t now, struct article *a)
{
	struct conn *c = reader_get(s);
	sqlite3_stmt *st = stmt(c, S_GET);
	int ret = -EIO;
	if (st) {
		bind_visibility(st, public_only, now);
		sqlite3_bind_text(st, 3, slug, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row_to_article(st, true, a);
			ret = 0;
		} else {
			ret = rc == SQLITE_DONE ? -ENOENT : db_error(c, rc, "get");
		}
		sqlite3_reset(st);
	}
	conn_put(c);
	return ret;
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
		if (out->len - start + n + 3 > FTS_MAX_BYTES)
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
	}
}

void article_list_cleanup(struct article_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		article_cleanup(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void store_set_limits(struct store *s, const struct store_limits *limits)
{
	s->limits = *limits;
}

static void bind_query(sqlite3_stmt *st, const struct store_query *q, const struct buf *fts)
{
	bind_visibility(st, q->public_only, q->now);
	if (q->tag)
		sqlite3_bind_text(st, 5, q->tag, -1, SQLITE_STATIC);
	if (q->q)
		sqlite3_bind_text(st, 6, fts->data, (int)fts->len, SQLITE_STATIC);
}

/* The statements store_list runs for q: the page's rows and the count of all matches. */
static void list_statements(const struct store_query *q, enum stmt *list, enum stmt *count)
{
	if (q->q) {
		*list = S_SEARCH;
		*count = S_COUNT_SEARCH;
	} else if (q->tag) {
		*list = S_LIST_TAG;
		*count = S_COUNT_TAG;
	} else {
		*list = q->public_only ? S_LIST_PUBLIC : S_LIST_ALL;
		*count = q->public_only ? S_COUNT_PUBLIC : S_COUNT_ALL;
	}
}

static int count_rows(struct conn *c, enum stmt which, const struct store_query *q,
                      const struct buf *fts, unsigned *total)
{
	sqlite3_stmt *st = stmt(c, which);
	if (!st)
		return -EIO;
	bind_query(st, q, fts);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW)
		*total = (unsigned)sqlite3_column_int64(st, 0);
	else
		ret = db_error(c, rc, "count");
	sqlite3_reset(st);
	return ret;
}

int store_list(struct store *s, const struct store_query *q, struct article_list *out)
{
	memset(out, 0, sizeof(*out));
	struct buf fts = BUF_INIT;
	if (q->q) {
		store_fts_query(&fts, q->q);
		if (fts.len == 0)
			return 0; /* no words: nothing matches */
	}
	enum stmt list, count;
	list_statements(q, &list, &count);
	unsigned per_page = q->per_page ? q->per_page : 1;
	unsigned page = q->page ? q->page : 1;
	struct gate *gate = s->limits.gate;
	int ret = gate ? gate_enter(gate) : 0;
	if (ret < 0) {
		log_warn("store: %u expensive reads already running; one more refused",
		         gate->places);
		buf_cleanup(&fts);
		return ret;
	}
	struct conn *c = reader_get(s);
	c->interrupted = false;
	c->deadline_ms = s->limits.budget_ms ? mono_ms() + s->limits.budget_ms : 0;
	/* count and rows from one snapshot, so total always agrees with the rows */
	bool in_txn = exec_simple(c, S_BEGIN_READ) == 0;

	/* a search counts its matches while it ranks them; other listings count from an index */
	if (list != S_SEARCH) {
		ret = count_rows(c, count, q, &fts, &out->total);
		if (ret < 0 || (uint64_t)(page - 1) * per_page >= out->total)
			goto done;
	}
	sqlite3_stmt *st = stmt(c, list);
	if (!st) {
		ret = -EIO;
		goto done;
	}
	bind_query(st, q, &fts);
	sqlite3_bind_int64(st, 3, per_page);
	sqlite3_bind_int64(st, 4, (int64_t)(page - 1) * per_page);
	ret = read_rows(c, st, q->with_body, per_page < 64 ? per_page : 64, out, "list");
	if (ret == 0 && list == S_SEARCH && out->n == 0 && page > 1)
		ret = count_rows(c, count, q, &fts, &out->total); /* past the last page */
done:
	if (in_txn)
		exec_simple(c, S_COMMIT);
	c->deadline_ms = 0;
	if (ret == -ETIMEDOUT || c->interrupted) {
		ret = -ETIMEDOUT;
		log_warn("store: a %s took longer than its budget of %u ms and was stopped",
		         q->q ? "search" : "listing", s->limits.budget_ms);
	}
	conn_put(c);
	if (gate)
		gate_leave(gate);
	buf_cleanup(&fts);
	if (ret < 0)
		article_list_cleanup(out);
	return ret;
}

int store_plan(struct store *s, const struct store_query *q, struct buf *out)
{
	enum stmt which[2];
	list_statements(q, &which[0], &which[1]);
	struct buf fts = BUF_INIT;
	store_fts_query(&fts, q->q ? q->q : "");
	struct conn *c = reader_get(s);
	int ret = 0;
	for (int i = 0; i < 2 && ret == 0; i++) {
		char *text = xasprintf("EXPLAIN QUERY PLAN %s", sql[which[i]]);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(c->db, text, -1, &st, NULL) != SQLITE_OK) {
			ret = db_error(c, SQLITE_ERROR, "plan");
		} else {
			bind_query(st, q, &fts);
			while (sqlite3_step(st) == SQLITE_ROW)
				buf_printf(out, "%s\n", (const char *)sqlite3_column_text(st, 3));
			sqlite3_finalize(st);
		}
		free(text);
		buf_puts(out, "--\n");
	}
	conn_put(c);
	buf_cleanup(&fts);
	return ret;
}

int64_t store_count(struct store *s, bool public_only, int64_t now)
{
	struct conn *c = reader_get(s);
	sqlite3_stmt *st = stmt(c, public_only ? S_COUNT_PUBLIC : S_COUNT_ALL);
	int64_t n = -EIO;
	if (st) {
		if (public_only)
			sqlite3_bind_int64(st, 2, now);
		int rc = sqlite3_step(st);
		n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : db_error(c, rc, "count");
		sqlite3_reset(st);
	}
	conn_put(c);
	return n;
}

int64_t store_count_public(struct store *s, int64_t now)
{
	uint64_t gen = store_generation(s);
	pthread_mutex_lock(&s->count_lock);
	bool fresh = s->count_generation == gen;
	int64_t n = s->count;
	pthread_mutex_unlock(&s->count_lock);
	if (fresh)
		return n;
	n = store_count(s, true, now);
	if (n >= 0) {
		pthread_mutex_lock(&s->count_lock);
		s->count_generation = gen;
		s->count = n;
		pthread_mutex_unlock(&s->count_lock);
	}
	return n;
}

int64_t store_changed_at(struct store *s, int64_t now)
{
	struct conn *c = reader_get(s);
	sqlite3_stmt *st = stmt(c, S_CHANGED_AT);
	int64_t t = -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, now);
		int rc = sqlite3_step(st);
		t = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : db_error(c, rc, "changed at");
		sqlite3_reset(st);
	}
	conn_put(c);
	return t;
}

int store_export(struct store *s, struct article_list *out)
{
	memset(out, 0, sizeof(*out));
	struct conn *c = reader_get(s);
	sqlite3_stmt *st = stmt(c, S_EXPORT);
	int ret = st ? read_rows(c, st, true, 64, out, "export") : -EIO;
	conn_put(c);
	out->total = (unsigned)out->n;
	if (ret < 0)
		article_list_cleanup(out);
	return ret;
}

/* --- writes: all under the writer lock, inside BEGIN IMMEDIATE ... COMMIT --- */

/* Looks a slug up on the writer: returns its id, 0 when free, or a negative error. */
static int64_t slug_id(struct conn *c, const char *slug, char **created_at)
{
	sqlite3_stmt *st = stmt(c, S_SLUG_ID);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, slug, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int64_t id = 0;
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (created_at)
			*created_at = col_text(st, 1);
	} else if (rc != SQLITE_DONE) {
		id = db_error(c, rc, "slug lookup");
	}
	sqlite3_reset(st);
	return id;
}

static bool id_exists(struct conn *c, int64_t id)
{
	sqlite3_stmt *st = stmt(c, S_ID_EXISTS);
	if (!st)
		return true;
	sqlite3_bind_int64(st, 1, id);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

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

/* Picks the first free slug of base, base-2, base-3, ... (kept within the length limit). */
static int free_slug(struct conn *c, const char *base, char **out)
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
		int64_t id = slug_id(c, cand, NULL);
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

static int write_tags(struct conn *c, const struct article *a)
{
	sqlite3_stmt *st = stmt(c, S_DELETE_TAGS);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, a->id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(c, rc, "delete tags");
	for (size_t i = 0; i < a->ntags; i++) {
		st = stmt(c, S_INSERT_TAG);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, a->id);
		sqlite3_bind_text(st, 2, a->tags[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		/* the article's visibility and order ride along, so a tag's listing is one index */
		sqlite3_bind_int(st, 4, strcmp(a->status, "published") == 0);
		sqlite3_bind_int64(st, 5, a->published_ts);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_error(c, rc, "insert tag");
	}
	return 0;
}

/* INSERT (id 0 = a new id) or UPDATE of every column. */
static int write_row(struct conn *c, enum stmt which, struct article *a)
{
	sqlite3_stmt *st = stmt(c, which);
	if (!st)
		return -EIO;
	if (a->id)
		sqlite3_bind_int64(st, 1, a->id);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_text(st, 2, a->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->published_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, a->published_ts);
	sqlite3_bind_text(st, 7, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->editor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, a->author, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, a->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, a->updated_at, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, a->updated_ts);
	sqlite3_bind_text(st, 14, a->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, a->body_html, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(c, rc, which == S_INSERT ? "insert" : "update");
	if (which == S_INSERT && !a->id)
		a->id = sqlite3_last_insert_rowid(c->db);
	return write_tags(c, a);
}

static int insert_new(struct conn *c, struct article *a, int64_t now, bool keep_id)
{
	if (!keep_id || (a->id && id_exists(c, a->id)))
		a->id = 0;
	if (!*a->created_at)
		stamp(&a->created_at, now);
	if (!*a->updated_at) {
		stamp(&a->updated_at, now);
		a->updated_ts = now;
	}
	bool placeholder = false;
	if (a->slug_derived) {
		if (!*a->slug) {
			/* derived to nothing (a Chinese title): article-<id> once the id is known
			 */
			placeholder = true;
			char *tmp = xasprintf("tmp-%lld-%p", (long long)now, (void *)a);
			set_field(&a->slug, tmp);
		} else {
			char *slug;
			int rc = free_slug(c, a->slug, &slug);
			if (rc < 0)
				return rc;
			set_field(&a->slug, slug);
		}
	} else {
		int64_t id = slug_id(c, a->slug, NULL);
		if (id != 0)
			return id > 0 ? -EEXIST : (int)id;
	}
	int rc = write_row(c, S_INSERT, a);
	if (rc < 0 || !placeholder)
		return rc;
	char *base = xasprintf("article-%lld", (long long)a->id);
	char *slug;
	rc = free_slug(c, base, &slug);
	free(base);
	if (rc < 0)
		return rc;
	set_field(&a->slug, slug);
	sqlite3_stmt *st = stmt(c, S_SET_SLUG);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, a->slug, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(c, rc, "set slug");
}

/* SQLite keeps a connection read-only once it opened that way (the file or folder was not
 * writable), and every connection of the process shares one wal-index, which stays read-only
 * while any of them is open. So when writes failed for that reason, all connections are
 * closed and opened again, at most once a second, until a write transaction can begin.
 * Under the writer lock; takes every reader's lock (readers never take the writer's). */
static int reopen_all(struct store *s)
{
	int64_t now = (int64_t)time(NULL);
	if (now == s->reopened_at)
		return -EROFS;
	s->reopened_at = now;
	for (unsigned i = 0; i < s->nreaders; i++)
		pthread_mutex_lock(&s->readers[i].lock);
	for (unsigned i = 0; i < s->nreaders; i++)
		drop_db(&s->readers[i]);
	drop_db(&s->writer);
	int rc = open_db(&s->writer, s->path, true, false);
	if (rc == SQLITE_OK) /* the file is opened lazily: only a write transaction tells */
		rc = sqlite3_exec(s->writer.db, "BEGIN IMMEDIATE; ROLLBACK;", NULL, NULL, NULL);
	for (unsigned i = 0; i < s->nreaders; i++) {
		if (open_db(&s->readers[i], s->path, false, false) != SQLITE_OK)
			log_error("store: cannot reopen a reader: %s",
			          sqlite3_errmsg(s->readers[i].db));
		pthread_mutex_unlock(&s->readers[i].lock);
	}
	s->writer_readonly = rc != SQLITE_OK;
	if (s->writer_readonly)
		log_warn("store: the database is still not writable");
	else
		log_info("store: the database is writable again");
	return s->writer_readonly ? -EROFS : 0;
}

static int begin(struct store *s)
{
	pthread_mutex_lock(&s->writer.lock);
	int rc = s->writer_readonly ? reopen_all(s) : 0;
	if (rc == 0)
		rc = exec_simple(&s->writer, S_BEGIN);
	if (rc == -EROFS)
		s->writer_readonly = true;
	if (rc < 0)
		pthread_mutex_unlock(&s->writer.lock);
	return rc;
}

/* Commits when rc is 0, else rolls back; bumps the generation after a commit. */
static int finish(struct store *s, int rc)
{
	if (rc == 0) {
		/* when the content last changed, for Last-Modified: kept in the same transaction */
		sqlite3_stmt *st = stmt(&s->writer, S_TOUCH);
		if (!st) {
			rc = -EIO;
		} else {
			sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
			int r = sqlite3_step(st);
			sqlite3_reset(st);
			if (r != SQLITE_DONE)
				rc = db_error(&s->writer, r, "touch");
		}
	}
	if (rc == 0)
		rc = exec_simple(&s->writer, S_COMMIT);
	if (rc < 0 && !sqlite3_get_autocommit(s->writer.db))
		exec_simple(&s->writer, S_ROLLBACK);
	if (rc == -EROFS)
		s->writer_readonly = true;
	pthread_mutex_unlock(&s->writer.lock);
	if (rc == 0) {
		atomic_fetch_add(&s->generation, 1);
		atomic_store(&s->schedule_stale, true);
	}
	return rc;
}

int store_create(struct store *s, struct article *a, int64_t now)
{
	int rc = begin(s);
	if (rc < 0)
		return rc;
	rc = insert_new(&s->writer, a, now, false);
	return finish(s, rc);
}

static int update_existing(struct conn *c, int64_t id, char *created_at, struct article *a,
                           const char *old_slug, int64_t now, bool keep_stamps)
{
	a->id = id;
	if (a->slug_derived) {
		set_field(&a->slug, xstrdup(old_slug));
		a->slug_derived = false;
	} else if (strcmp(a->slug, old_slug) != 0) {
		int64_t other = slug_id(c, a->slug, NULL);
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
	return write_row(c, S_UPDATE, a);
}

int store_replace(struct store *s, const char *slug, struct article *a, int64_t now)
{
	int rc = begin(s);
	if (rc < 0)
		return rc;
	char *created_at = NULL;
	int64_t id = slug_id(&s->writer, slug, &created_at);
	if (id <= 0)
		rc = id == 0 ? -ENOENT : (int)id;
	else
		rc = update_existing(&s->writer, id, created_at, a, slug, now, false);
	return finish(s, rc);
}

int store_delete(struct store *s, const char *slug)
{
	int rc = begin(s);
	if (rc < 0)
		return rc;
	int64_t id = slug_id(&s->writer, slug, NULL);
	if (id <= 0) {
		rc = id == 0 ? -ENOENT : (int)id;
	} else {
		sqlite3_stmt *st = stmt(&s->writer, S_DELETE);
		if (!st) {
			rc = -EIO;
		} else {
			sqlite3_bind_int64(st, 1, id);
			int r = sqlite3_step(st);
			sqlite3_reset(st);
			rc = r == SQLITE_DONE ? 0 : db_error(&s->writer, r, "delete");
		}
	}
	return finish(s, rc);
}

int store_import(struct store *s, struct article *list, size_t n, int64_t now, size_t *failed)
{
	/* one large transaction: a page cache that holds it saves re-reading spilled pages */
	sqlite3_exec(s->writer.db, "PRAGMA cache_size = -262144", NULL, NULL, NULL);
	int rc = begin(s);
	if (rc < 0) {
		*failed = 0;
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct article *a = &list[i];
		int64_t id = *a->slug ? slug_id(&s->writer, a->slug, NULL) : 0;
		char *created_at = NULL;
		if (id > 0) {
			/* upsert by slug: the stored article keeps its id */
			id = slug_id(&s->writer, a->slug, &created_at);
			char *old = xstrdup(a->slug);
			a->slug_derived = false;
			rc = update_existing(&s->writer, id, created_at, a, old, now, true);
			free(old);
		} else if (id == 0) {
			a->slug_derived = a->slug_derived && !*a->slug;
			rc = insert_new(&s->writer, a, now, true);
		} else {
			rc = (int)id;
		}
		if (rc < 0)
			*failed = i;
	}
	rc = finish(s, rc);
	sqlite3_exec(s->writer.db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
	return rc;
}

uint64_t store_generation(struct store *s)
{
	return atomic_load(&s->generation);
}

void store_poll(struct store *s, int64_t now)
{
	pthread_mutex_lock(&s->writer.lock);
	int64_t v = data_version(&s->writer);
	bool changed = v != s->data_version;
	s->data_version = v;
	if (changed)
		atomic_store(&s->schedule_stale, true);
	/* the next publication after the last poll, not after now: one due in this very second
	 * may be missing from a page built in the second before, and must still be announced */
	int64_t since = s->polled_at;
	s->polled_at = now;
	if (atomic_exchange(&s->schedule_stale, false)) {
		sqlite3_stmt *st = stmt(&s->writer, S_NEXT_SCHEDULED);
		int64_t next = INT64_MAX;
		if (st) {
			sqlite3_bind_int64(st, 1, since);
			if (sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_type(st, 0) != SQLITE_NULL)
				next = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
		}
		atomic_store(&s->next_scheduled, next);
	}
	pthread_mutex_unlock(&s->writer.lock);
	if (now >= atomic_load(&s->next_scheduled)) {
		/* a scheduled article is public now: pages that list it must be rebuilt */
		changed = true;
		atomic_store(&s->schedule_stale, true);
		atomic_store(&s->next_scheduled, INT64_MAX);
	}
	if (changed)
		atomic_fetch_add(&s->generation, 1);
}
