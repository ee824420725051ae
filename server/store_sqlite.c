/* store_sqlite.c - the SQLite engine: WAL, full sync, a versioned schema, FTS5, one writer
 * and a pool of readers. All of Gazette's SQL is here; no rule is. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "store_backend.h"
#include "textsearch.h"

#define SCHEMA_VERSION 5
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
     * carrying their article's status and order, and when the content last changed */
    "DROP INDEX articles_order;"
    "CREATE INDEX articles_listing ON articles (published_ts DESC, id DESC, status);"
    "ALTER TABLE tags ADD COLUMN status TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tags ADD COLUMN published_ts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE tags SET"
    " status = (SELECT status FROM articles WHERE id = article_id),"
    " published_ts = (SELECT published_ts FROM articles WHERE id = article_id);"
    "DROP INDEX tags_by_tag;"
    "CREATE INDEX tags_listing ON tags (tag, published_ts DESC, article_id DESC, status);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (key, value)"
    " SELECT 'changed_at', coalesce(max(updated_ts), 0) FROM articles;",
    /* 3: every script searchable (textsearch's tokenizer; index_terms rebuilds the index
     * from the stories), a language per story, and the ninjs uri a story was posted under */
    "DROP TABLE articles_fts;"
    "CREATE VIRTUAL TABLE articles_fts USING fts5 (title, summary, body,"
    " content = 'articles', content_rowid = 'id', tokenize = 'gazette');"
    "ALTER TABLE articles ADD COLUMN language TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE articles ADD COLUMN uri TEXT;"
    "CREATE UNIQUE INDEX articles_uri ON articles (uri) WHERE uri IS NOT NULL;",
    /* 4: the newsroom (SPEC §11): a story's corrections, and the documents of accounts,
     * tokens, revisions, the audit log and old slugs */
    "ALTER TABLE articles ADD COLUMN extra TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE docs ("
    " kind TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " doc TEXT NOT NULL,"
    " PRIMARY KEY (kind, key, seq)) WITHOUT ROWID;",
    /* 5: the outbox (SPEC §13): deliveries written in the transaction of the change they
     * announce, claimed by due time; AUTOINCREMENT, so that no id is ever given twice */
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " hold TEXT NOT NULL,"
    " due_ms INTEGER NOT NULL,"
    " first_ms INTEGER NOT NULL,"
    " lease_ms INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (due_ms, id);"
    "CREATE INDEX outbox_hold ON outbox (hold, due_ms) WHERE hold <> '';",
};

/* Columns every read selects, in this order; body and body_html last so that lists, which
 * never read them, never load their overflow pages. */
#define COLS                                                                                     \
	"a.id, a.slug, a.title, a.summary, a.published_at, a.published_ts, a.status, a.source, " \
	"a.editor, a.author, a.created_at, a.updated_at, a.updated_ts, a.language, a.uri, "      \
	"(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM tags WHERE article_id = a.id "     \
	"ORDER BY position)), a.extra, a.body, a.body_html"
#define NCOLS 19 /* how many COLS are */
/* A store_filter: ?1 the status (NULL: any), ?2 the latest published_ts. ?3 and ?4 are a
 * page's limit and offset, ?5 a tag, ?6 a full-text query, ?7 a slug. */
#define FILTER(t) "(?1 IS NULL OR " t "status = ?1) AND " t "published_ts <= ?2"
/* A page of a listing: the ids come from an index alone (LIMIT/OFFSET over index entries),
 * and only the page's rows are read, tags and all. */
#define PAGE_OF(ids)                                                      \
	"SELECT " COLS " FROM (" ids ") p JOIN articles a ON a.id = p.id" \
	" ORDER BY a.published_ts DESC, a.id DESC"
#define IDS "SELECT id FROM articles WHERE " FILTER("") " ORDER BY published_ts DESC, id DESC"
#define TAG_IDS                                                         \
	"SELECT article_id AS id FROM tags WHERE tag = ?5 AND " FILTER( \
	    "") " ORDER BY published_ts DESC, article_id DESC"
#define MATCHES                                                                              \
	" FROM articles_fts f JOIN articles a ON a.id = f.rowid WHERE articles_fts MATCH ?6" \
	" AND " FILTER("a.") " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM tags WHERE"          \
	                     " article_id = a.id AND tag = ?5))"
#define SEARCH_IDS                                                       \
	"SELECT a.id, f.rank AS rank, count(*) OVER () AS total" MATCHES \
	" ORDER BY f.rank, a.published_ts DESC, a.id DESC LIMIT ?3 OFFSET ?4"

enum stmt {
	S_GET,
	S_LIST,
	S_LIST_TAG,
	S_SEARCH,
	S_COUNT,
	S_COUNT_TAG,
	S_COUNT_SEARCH,
	S_CHANGED_AT,
	S_NEXT_AFTER,
	S_EXPORT,
	S_SLUG_ID,
	S_ID_EXISTS,
	S_URI_ID,
	S_NEXT_ID,
	S_INSERT,
	S_UPDATE,
	S_DELETE,
	S_DELETE_TAGS,
	S_INSERT_TAG,
	S_TOUCH,
	S_BEGIN,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_DATA_VERSION,
	S_DOC_GET,
	S_DOC_PUT,
	S_DOC_DELETE,
	S_DOC_LIST,
	S_DOC_LIST_DESC,
	S_DOC_COUNT,
	S_DOC_LIST_KIND,
	S_DOC_LIST_KIND_DESC,
	S_DOC_COUNT_KIND,
	S_DOC_NEXT,
	S_OUTBOX_ADD,
	S_OUTBOX_CLAIM,
	S_OUTBOX_REMOVE,
	S_OUTBOX_RETRY,
	S_OUTBOX_CANCEL,
	S_OUTBOX_BACKLOG,
	NSTMT
};

static const char *const sql[NSTMT] = {
    [S_GET] = "SELECT " COLS " FROM articles a WHERE a.slug = ?7 AND " FILTER("a."),
    [S_LIST] = PAGE_OF(IDS " LIMIT ?3 OFFSET ?4"),
    [S_LIST_TAG] = PAGE_OF(TAG_IDS " LIMIT ?3 OFFSET ?4"),
    [S_SEARCH] = "SELECT " COLS ", p.total FROM (" SEARCH_IDS ") p JOIN articles a"
                 " ON a.id = p.id ORDER BY p.rank, a.published_ts DESC, a.id DESC",
    [S_COUNT] = "SELECT count(*) FROM articles WHERE " FILTER(""),
    [S_COUNT_TAG] = "SELECT count(*) FROM tags WHERE tag = ?5 AND " FILTER(""),
    [S_COUNT_SEARCH] = "SELECT count(*)" MATCHES,
    [S_CHANGED_AT] = "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'changed_at'), 0),"
                     " coalesce((SELECT published_ts FROM articles WHERE " FILTER(
                         "") " ORDER BY published_ts DESC LIMIT 1), 0))",
    [S_NEXT_AFTER] = "SELECT published_ts FROM articles WHERE status = ?1 AND published_ts > ?2"
                     " ORDER BY published_ts LIMIT 1",
    [S_EXPORT] = "SELECT " COLS " FROM articles a ORDER BY a.id",
    [S_SLUG_ID] = "SELECT id, slug, created_at FROM articles WHERE slug = ?1",
    [S_ID_EXISTS] = "SELECT 1 FROM articles WHERE id = ?1",
    [S_NEXT_ID] = "SELECT coalesce(max(id), 0) + 1 FROM articles",
    [S_INSERT] = "INSERT INTO articles (id, slug, title, summary, published_at, published_ts,"
                 " status, source, editor, author, created_at, updated_at, updated_ts, body,"
                 " body_html, language, uri, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                 " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [S_UPDATE] = "UPDATE articles SET slug = ?2, title = ?3, summary = ?4, published_at = ?5,"
                 " published_ts = ?6, status = ?7, source = ?8, editor = ?9, author = ?10,"
                 " created_at = ?11, updated_at = ?12, updated_ts = ?13, body = ?14,"
                 " body_html = ?15, language = ?16, uri = ?17, extra = ?18 WHERE id = ?1",
    [S_URI_ID] = "SELECT id, slug, created_at FROM articles WHERE uri = ?1",
    [S_DELETE] = "DELETE FROM articles WHERE id = ?1",
    [S_DELETE_TAGS] = "DELETE FROM tags WHERE article_id = ?1",
    [S_INSERT_TAG] = "INSERT OR IGNORE INTO tags (article_id, tag, position, status,"
                     " published_ts) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TOUCH] = "INSERT INTO meta (key, value) VALUES ('changed_at', ?1) ON CONFLICT (key)"
                " DO UPDATE SET value = max(value, excluded.value)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_DATA_VERSION] = "PRAGMA data_version",
    /* documents: ?1 kind, ?2 key, ?3 seq, ?4 the text; ?5, ?6 limit and offset. A list of
     * one key and one of a whole kind are statements of their own, so that each is a range of
     * the primary key (an "?2 IS NULL OR" would read every document of the kind). */
    [S_DOC_GET] = "SELECT doc FROM docs WHERE kind = ?1 AND key = ?2 AND seq = ?3",
    [S_DOC_PUT] = "INSERT INTO docs (kind, key, seq, doc) VALUES (?1, ?2, ?3, ?4)"
                  " ON CONFLICT (kind, key, seq) DO UPDATE SET doc = excluded.doc",
    [S_DOC_DELETE] = "DELETE FROM docs WHERE kind = ?1 AND key = ?2 AND seq = ?3",
    [S_DOC_LIST] = "SELECT key, seq, doc FROM docs WHERE kind = ?1 AND key = ?2"
                   " ORDER BY seq LIMIT ?5 OFFSET ?6",
    [S_DOC_LIST_DESC] = "SELECT key, seq, doc FROM docs WHERE kind = ?1 AND key = ?2"
                        " ORDER BY seq DESC LIMIT ?5 OFFSET ?6",
    [S_DOC_COUNT] = "SELECT count(*) FROM docs WHERE kind = ?1 AND key = ?2",
    [S_DOC_LIST_KIND] = "SELECT key, seq, doc FROM docs WHERE kind = ?1"
                        " ORDER BY key, seq LIMIT ?5 OFFSET ?6",
    [S_DOC_LIST_KIND_DESC] = "SELECT key, seq, doc FROM docs WHERE kind = ?1"
                             " ORDER BY key DESC, seq DESC LIMIT ?5 OFFSET ?6",
    [S_DOC_COUNT_KIND] = "SELECT count(*) FROM docs WHERE kind = ?1",
    /* ?4: the floor */
    [S_DOC_NEXT] = "INSERT INTO docs (kind, key, seq, doc) VALUES (?1, ?2, 0, ?4 + 1)"
                   " ON CONFLICT (kind, key, seq) DO UPDATE SET doc ="
                   " max(CAST(doc AS INTEGER), ?4) + 1 RETURNING CAST(doc AS INTEGER)",
    /* the outbox: ?1 now (ms), ?2 the lease (ms), ?3 how many */
    [S_OUTBOX_ADD] = "INSERT INTO outbox (kind, target, hold, due_ms, first_ms, doc)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_OUTBOX_CLAIM] = "UPDATE outbox SET lease_ms = ?1 + ?2 WHERE id IN (SELECT id FROM outbox"
                       " WHERE due_ms <= ?1 AND lease_ms <= ?1 ORDER BY due_ms, id LIMIT ?3)"
                       " RETURNING id, kind, target, hold, due_ms, first_ms, attempts, doc,"
                       " lease_ms",
    /* ?4: the lease the claim set; a row claimed again since is another worker's */
    [S_OUTBOX_REMOVE] = "DELETE FROM outbox WHERE id = ?1 AND lease_ms = ?4",
    [S_OUTBOX_RETRY] = "UPDATE outbox SET due_ms = ?2, attempts = ?3, lease_ms = 0"
                       " WHERE id = ?1 AND lease_ms = ?4",
    [S_OUTBOX_CANCEL] = "DELETE FROM outbox WHERE hold = ?1 AND hold <> '' AND first_ms > ?2"
                        " AND lease_ms <= ?3 AND attempts = 0",
    [S_OUTBOX_BACKLOG] = "SELECT count(*) FROM outbox",
};

struct conn {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[NSTMT];
	int64_t deadline_ms; /* a reader's running read is interrupted past this; 0: none */
	bool interrupted;    /* the progress handler stopped it */
};

struct sqlite_engine {
	struct store_engine base; /* first: store.c holds a pointer to it */
	char *path;
	struct conn writer;   /* its lock is held from begin to commit or rollback */
	bool writer_readonly; /* opened (or found) unable to write: reopen before the next write */
	int64_t reopened_at;  /* when reopen_all last tried */
	bool bulk;            /* the transaction running was begun for a bulk write */
	struct conn *readers;
	unsigned nreaders;
	atomic_uint next_reader;
};

static struct sqlite_engine *engine(struct store_engine *e)
{
	return (struct sqlite_engine *)e;
}

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
	if ((rc & 0xff) != SQLITE_INTERRUPT) /* a read over its budget: store.c says so */
		log_error("store: %s: %s", what, sqlite3_errmsg(c->db));
	return error_code(rc);
}

static int64_t clock_ms(void)
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
	if (c->deadline_ms && clock_ms() > c->deadline_ms) {
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

/* Runs st (bound by the caller) to its one integer; none is dflt. */
static int64_t one_int(struct conn *c, sqlite3_stmt *st, int64_t dflt, const char *what)
{
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	int64_t v = dflt;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		v = db_error(c, rc, what);
	sqlite3_reset(st);
	return v;
}

/* --- the full-text tokenizer: textsearch's terms, for stories and queries alike --- */

struct fts_call {
	void *ctx;
	int (*token)(void *ctx, int flags, const char *term, int len, int start, int end);
};

static int fts_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct fts_call *c = ctx;
	return c->token(c->ctx, 0, term, (int)len, (int)start, (int)end);
}

static int fts_create(void *unused, const char **args, int nargs, Fts5Tokenizer **out)
{
	static int one;
	*out = (Fts5Tokenizer *)&one; /* no state: every call is self-contained */
	return nargs == 0 ? SQLITE_OK : SQLITE_ERROR;
}

static void fts_delete(Fts5Tokenizer *t)
{
}

static int fts_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int len,
                        int (*token)(void *, int, const char *, int, int, int))
{
	struct fts_call c = {ctx, token};
	return textsearch_tokenize(text, len > 0 ? (size_t)len : 0, fts_term, &c);
}

int store_sqlite_tokenizer(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_pointer(st, 1, &api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	rc = sqlite3_finalize(st);
	if (rc != SQLITE_OK || !api)
		return rc != SQLITE_OK ? rc : SQLITE_ERROR;
	static fts5_tokenizer tokenizer = {fts_create, fts_delete, fts_tokenize};
	return api->xCreateTokenizer(api, "gazette", NULL, &tokenizer, NULL);
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
	rc = store_sqlite_tokenizer(c->db);
	if (rc != SQLITE_OK)
		return rc;
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

/* Rebuilds the full-text index when it holds another tokenizer version's terms (a database
 * from before textsearch, or a utf8proc with newer Unicode tables): deleting a story must
 * remove exactly the terms its insertion added. */
static int index_terms(struct conn *c, const char *path, struct buf *err)
{
	long long want = textsearch_version(), have = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'textsearch'", -1, &st,
	                       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			have = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (have == want)
		return 0;
	if (sqlite3_db_readonly(c->db, "main") == 1) {
		log_warn("store: %s: the search index is of tokenizer version %lld, not %lld; a "
		         "writable start rebuilds it",
		         path, have, want);
		return 0;
	}
	char *script = xasprintf("BEGIN IMMEDIATE;"
	                         " INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');"
	                         " INSERT INTO meta (key, value) VALUES ('textsearch', %lld)"
	                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value; COMMIT;",
	                         want);
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, script, NULL, NULL, &msg);
	free(script);
	if (rc != SQLITE_OK) {
		buf_printf(err, "cannot rebuild the search index of %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (have >= 0)
		log_info("store: %s: search index rebuilt for tokenizer version %lld", path, want);
	return 0;
}

static void sq_close(struct store_engine *base)
{
	struct sqlite_engine *e = engine(base);
	if (!e)
		return;
	for (unsigned i = 0; i < e->nreaders; i++)
		conn_close(&e->readers[i]);
	conn_close(&e->writer);
	free(e->readers);
	free(e->path);
	free(e);
}

/* A reading connection: a free one if there is one, else wait for one. */
static struct conn *reader_get(struct sqlite_engine *e)
{
	unsigned start = atomic_fetch_add(&e->next_reader, 1);
	for (unsigned i = 0; i < e->nreaders; i++) {
		struct conn *c = &e->readers[(start + i) % e->nreaders];
		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	struct conn *c = &e->readers[start % e->nreaders];
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
	a->language = col_text(st, 13);
	a->uri = col_text(st, 14);                                          /* NULL: none */
	store_tags_from_text(a, (const char *)sqlite3_column_text(st, 15)); /* NULL: none */
	article_extra_from_text(a, (const char *)sqlite3_column_text(st, 16));
	a->body = with_body ? col_text(st, 17) : xstrdup("");
	a->body_html = with_body ? col_text(st, 18) : xstrdup("");
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
		if (out->n == 0 && sqlite3_column_count(st) > NCOLS)
			out->total = (unsigned)sqlite3_column_int64(st, NCOLS);
		article_init(&out->items[out->n]);
		row_to_article(st, with_body, &out->items[out->n]);
		out->n++;
	}
	int ret = rc == SQLITE_DONE ? 0 : db_error(c, rc, what);
	sqlite3_reset(st);
	return ret;
}

static void bind_filter(sqlite3_stmt *st, const struct store_filter *f)
{
	if (f->status)
		sqlite3_bind_text(st, 1, f->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, f->published_until);
}

/* The record at slug within f, on c (a reader's or the writer's). */
static int get_on(struct conn *c, const char *slug, const struct store_filter *f, struct article *a)
{
	sqlite3_stmt *st = stmt(c, S_GET);
	int ret = -EIO;
	if (st) {
		bind_filter(st, f);
		sqlite3_bind_text(st, 7, slug, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row_to_article(st, true, a);
			ret = 0;
		} else {
			ret = rc == SQLITE_DONE ? -ENOENT : db_error(c, rc, "get");
		}
		sqlite3_reset(st);
	}
	return ret;
}

static int sq_get(struct store_engine *base, const char *slug, const struct store_filter *f,
                  struct article *a)
{
	struct conn *c = reader_get(engine(base));
	int ret = get_on(c, slug, f, a);
	conn_put(c);
	return ret;
}

static void bind_page(sqlite3_stmt *st, const struct store_page *p)
{
	bind_filter(st, &p->filter);
	if (p->tag)
		sqlite3_bind_text(st, 5, p->tag, -1, SQLITE_STATIC);
	if (p->match)
		sqlite3_bind_text(st, 6, p->match, -1, SQLITE_STATIC);
}

/* The statements a page needs: its rows and the count of all matches. */
static void page_statements(const struct store_page *p, enum stmt *list, enum stmt *count)
{
	*list = p->match ? S_SEARCH : p->tag ? S_LIST_TAG : S_LIST;
	*count = p->match ? S_COUNT_SEARCH : p->tag ? S_COUNT_TAG : S_COUNT;
}

static int count_rows(struct conn *c, enum stmt which, const struct store_page *p, unsigned *total)
{
	sqlite3_stmt *st = stmt(c, which);
	if (!st)
		return -EIO;
	bind_page(st, p);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW)
		*total = (unsigned)sqlite3_column_int64(st, 0);
	else
		ret = db_error(c, rc, "count");
	sqlite3_reset(st);
	return ret;
}

static int sq_list(struct store_engine *base, const struct store_page *p, struct article_list *out)
{
	enum stmt list, count;
	page_statements(p, &list, &count);
	struct conn *c = reader_get(engine(base));
	c->interrupted = false;
	/* the budget counts from here: a read waiting for a connection has not begun */
	c->deadline_ms = p->budget_ms ? clock_ms() + p->budget_ms : 0;
	/* count and rows from one snapshot, so total always agrees with the rows */
	bool in_txn = exec_simple(c, S_BEGIN_READ) == 0;
	int ret = 0;
	/* a search counts its matches while it ranks them; other listings count from an index */
	if (list != S_SEARCH) {
		ret = count_rows(c, count, p, &out->total);
		if (ret < 0 || p->offset >= out->total)
			goto done;
	}
	sqlite3_stmt *st = stmt(c, list);
	if (!st) {
		ret = -EIO;
		goto done;
	}
	bind_page(st, p);
	sqlite3_bind_int64(st, 3, p->limit);
	sqlite3_bind_int64(st, 4, p->offset);
	ret = read_rows(c, st, p->with_body, p->limit < 64 ? p->limit : 64, out, "list");
	if (ret == 0 && list == S_SEARCH && out->n == 0 && p->offset > 0)
		ret = count_rows(c, count, p, &out->total); /* past the last page */
done:
	if (in_txn)
		exec_simple(c, S_COMMIT);
	c->deadline_ms = 0;
	if (c->interrupted)
		ret = -ETIMEDOUT;
	conn_put(c);
	return ret;
}

static int sq_plan(struct store_engine *base, const struct store_page *p, struct buf *out)
{
	enum stmt which[2];
	page_statements(p, &which[0], &which[1]);
	struct conn *c = reader_get(engine(base));
	int ret = 0;
	for (int i = 0; i < 2 && ret == 0; i++) {
		char *text = xasprintf("EXPLAIN QUERY PLAN %s", sql[which[i]]);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(c->db, text, -1, &st, NULL) != SQLITE_OK) {
			ret = db_error(c, SQLITE_ERROR, "plan");
		} else {
			bind_page(st, p);
			while (sqlite3_step(st) == SQLITE_ROW)
				buf_printf(out, "%s\n", (const char *)sqlite3_column_text(st, 3));
			sqlite3_finalize(st);
		}
		free(text);
		buf_puts(out, "--\n");
	}
	conn_put(c);
	return ret;
}

/* The one integer a reader's statement which gives for filter f (0 for no row). */
static int64_t filtered_int(struct store_engine *base, enum stmt which,
                            const struct store_filter *f)
{
	struct conn *c = reader_get(engine(base));
	sqlite3_stmt *st = stmt(c, which);
	if (st)
		bind_filter(st, f);
	int64_t v = one_int(c, st, 0, sql[which]);
	conn_put(c);
	return v;
}

static int64_t sq_count(struct store_engine *base, const struct store_filter *f)
{
	return filtered_int(base, S_COUNT, f);
}

static int64_t sq_changed_at(struct store_engine *base, const struct store_filter *f)
{
	return filtered_int(base, S_CHANGED_AT, f);
}

static int sq_export(struct store_engine *base, struct article_list *out)
{
	struct conn *c = reader_get(engine(base));
	sqlite3_stmt *st = stmt(c, S_EXPORT);
	int ret = st ? read_rows(c, st, true, 64, out, "export") : -EIO;
	conn_put(c);
	out->total = (unsigned)out->n;
	return ret;
}

/* --- the writer: what follows runs under its lock, taken by begin, given back by commit or
 * rollback; poll-like reads use it too, briefly --- */

static int64_t sq_next_after(struct store_engine *base, const char *status, int64_t after)
{
	struct sqlite_engine *e = engine(base);
	pthread_mutex_lock(&e->writer.lock);
	sqlite3_stmt *st = stmt(&e->writer, S_NEXT_AFTER);
	if (st) {
		sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, after);
	}
	int64_t t = one_int(&e->writer, st, INT64_MAX, "next publication");
	pthread_mutex_unlock(&e->writer.lock);
	return t;
}

static int64_t sq_external_version(struct store_engine *base)
{
	/* PRAGMA data_version of a connection changes when another connection commits */
	struct sqlite_engine *e = engine(base);
	pthread_mutex_lock(&e->writer.lock);
	int64_t v = one_int(&e->writer, stmt(&e->writer, S_DATA_VERSION), -1, "data version");
	pthread_mutex_unlock(&e->writer.lock);
	return v;
}

/* The writer's error: a read-only database makes the next begin reopen everything. */
static int w_error(struct sqlite_engine *e, int rc)
{
	if (rc == -EROFS)
		e->writer_readonly = true;
	return rc;
}

/* SQLite keeps a connection read-only once it opened that way (the file or folder was not
 * writable), and every connection of the process shares one wal-index, which stays read-only
 * while any of them is open. So when writes failed for that reason, all connections are
 * closed and opened again, at most once a second, until a write transaction can begin.
 * Under the writer lock; takes every reader's lock (readers never take the writer's). */
static int reopen_all(struct sqlite_engine *e)
{
	int64_t now = (int64_t)time(NULL);
	if (now == e->reopened_at)
		return -EROFS;
	e->reopened_at = now;
	for (unsigned i = 0; i < e->nreaders; i++)
		pthread_mutex_lock(&e->readers[i].lock);
	for (unsigned i = 0; i < e->nreaders; i++)
		drop_db(&e->readers[i]);
	drop_db(&e->writer);
	int rc = open_db(&e->writer, e->path, true, false);
	if (rc == SQLITE_OK) /* the file is opened lazily: only a write transaction tells */
		rc = sqlite3_exec(e->writer.db, "BEGIN IMMEDIATE; ROLLBACK;", NULL, NULL, NULL);
	for (unsigned i = 0; i < e->nreaders; i++) {
		if (open_db(&e->readers[i], e->path, false, false) != SQLITE_OK)
			log_error("store: cannot reopen a reader: %s",
			          sqlite3_errmsg(e->readers[i].db));
		pthread_mutex_unlock(&e->readers[i].lock);
	}
	e->writer_readonly = rc != SQLITE_OK;
	if (e->writer_readonly)
		log_warn("store: the database is still not writable");
	else
		log_info("store: the database is writable again");
	return e->writer_readonly ? -EROFS : 0;
}

static int sq_begin(struct store_engine *base, bool bulk)
{
	struct sqlite_engine *e = engine(base);
	pthread_mutex_lock(&e->writer.lock);
	int rc = e->writer_readonly ? reopen_all(e) : 0;
	/* one large transaction: a page cache that holds it saves re-reading spilled pages */
	e->bulk = bulk;
	if (rc == 0 && bulk)
		sqlite3_exec(e->writer.db, "PRAGMA cache_size = -262144", NULL, NULL, NULL);
	if (rc == 0)
		rc = w_error(e, exec_simple(&e->writer, S_BEGIN));
	if (rc < 0) {
		if (bulk)
			sqlite3_exec(e->writer.db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
		pthread_mutex_unlock(&e->writer.lock);
	}
	return rc;
}

static void end(struct sqlite_engine *e)
{
	if (e->bulk)
		sqlite3_exec(e->writer.db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
	e->bulk = false;
	pthread_mutex_unlock(&e->writer.lock);
}

static void sq_rollback(struct store_engine *base)
{
	struct sqlite_engine *e = engine(base);
	if (!sqlite3_get_autocommit(e->writer.db))
		exec_simple(&e->writer, S_ROLLBACK);
	end(e);
}

static int sq_commit(struct store_engine *base)
{
	struct sqlite_engine *e = engine(base);
	int rc = w_error(e, exec_simple(&e->writer, S_COMMIT));
	if (rc < 0 && !sqlite3_get_autocommit(e->writer.db))
		exec_simple(&e->writer, S_ROLLBACK);
	end(e);
	return rc;
}

/* The id of the record found by which (bound to key) with its slug and created_at when asked
 * (the caller frees them), 0 when there is none. */
static int64_t lookup(struct sqlite_engine *e, enum stmt which, const char *key, char **slug,
                      char **created_at, const char *what)
{
	sqlite3_stmt *st = stmt(&e->writer, which);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int64_t id = 0;
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (slug)
			*slug = col_text(st, 1);
		if (created_at)
			*created_at = col_text(st, 2);
	} else if (rc != SQLITE_DONE) {
		id = w_error(e, db_error(&e->writer, rc, what));
	}
	sqlite3_reset(st);
	return id;
}

static int sq_load(struct store_engine *base, const char *slug, struct article *a)
{
	struct sqlite_engine *e = engine(base);
	struct store_filter all = {NULL, INT64_MAX};
	return w_error(e, get_on(&e->writer, slug, &all, a));
}

static int64_t sq_slug_id(struct store_engine *base, const char *slug, char **created_at)
{
	return lookup(engine(base), S_SLUG_ID, slug, NULL, created_at, "slug lookup");
}

static int64_t sq_uri_id(struct store_engine *base, const char *uri, char **slug, char **created_at)
{
	return lookup(engine(base), S_URI_ID, uri, slug, created_at, "uri lookup");
}

static int sq_id_exists(struct store_engine *base, int64_t id)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_ID_EXISTS);
	if (st)
		sqlite3_bind_int64(st, 1, id);
	return (int)w_error(e, (int)one_int(&e->writer, st, 0, "id lookup"));
}

static int64_t sq_next_id(struct store_engine *base)
{
	struct sqlite_engine *e = engine(base);
	int64_t id = one_int(&e->writer, stmt(&e->writer, S_NEXT_ID), 1, "next id");
	if (id < 0)
		w_error(e, (int)id);
	return id;
}

/* Runs a writing statement whose one parameter ?1 is v. */
static int write_int(struct sqlite_engine *e, enum stmt which, int64_t v)
{
	sqlite3_stmt *st = stmt(&e->writer, which);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, v);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : w_error(e, db_error(&e->writer, rc, sql[which]));
}

static int write_tags(struct sqlite_engine *e, const struct article *a)
{
	struct conn *c = &e->writer;
	int rc = write_int(e, S_DELETE_TAGS, a->id);
	if (rc < 0)
		return rc;
	char *keys[STORE_KEYS_MAX];
	size_t n = store_index_keys(a, keys);
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_stmt *st = stmt(c, S_INSERT_TAG);
		if (!st) {
			rc = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, a->id);
		sqlite3_bind_text(st, 2, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		/* the article's status and order ride along, so a tag's listing is one index */
		sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, a->published_ts);
		int step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			rc = w_error(e, db_error(c, step, "insert tag"));
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	return rc;
}

/* INSERT or UPDATE of every column, then the tags. */
static int write_row(struct sqlite_engine *e, enum stmt which, const struct article *a)
{
	struct conn *c = &e->writer;
	sqlite3_stmt *st = stmt(c, which);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, a->id);
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
	sqlite3_bind_text(st, 16, a->language, -1, SQLITE_STATIC);
	if (*a->uri)
		sqlite3_bind_text(st, 17, a->uri, -1, SQLITE_STATIC); /* else NULL: not unique */
	char *extra = article_extra_text(a);
	sqlite3_bind_text(st, 18, extra, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(extra);
	if (rc != SQLITE_DONE)
		return w_error(e, db_error(c, rc, which == S_INSERT ? "insert" : "update"));
	return write_tags(e, a);
}

static int sq_insert(struct store_engine *base, const struct article *a)
{
	return write_row(engine(base), S_INSERT, a);
}

static int sq_update(struct store_engine *base, const struct article *a)
{
	return write_row(engine(base), S_UPDATE, a);
}

static int sq_remove(struct store_engine *base, int64_t id)
{
	return write_int(engine(base), S_DELETE, id);
}

static int sq_touch(struct store_engine *base, int64_t t)
{
	return write_int(engine(base), S_TOUCH, t);
}

/* --- documents --- */

static void bind_doc(sqlite3_stmt *st, const char *kind, const char *key, int64_t seq)
{
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
}

/* The writer (its lock held by the transaction) or a reader taken for the call. */
static struct conn *doc_conn(struct sqlite_engine *e, bool writer)
{
	return writer ? &e->writer : reader_get(e);
}

static void doc_conn_put(struct sqlite_engine *e, struct conn *c)
{
	if (c != &e->writer)
		conn_put(c);
}

static int sq_doc_get(struct store_engine *base, bool writer, const char *kind, const char *key,
                      int64_t seq, char **doc)
{
	struct sqlite_engine *e = engine(base);
	struct conn *c = doc_conn(e, writer);
	sqlite3_stmt *st = stmt(c, S_DOC_GET);
	int ret = -EIO;
	if (st) {
		bind_doc(st, kind, key, seq);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*doc = col_text(st, 0);
			ret = 0;
		} else {
			ret = rc == SQLITE_DONE ? -ENOENT : db_error(c, rc, "document");
		}
		sqlite3_reset(st);
	}
	doc_conn_put(e, c);
	return writer ? w_error(e, ret) : ret;
}

static int doc_write(struct sqlite_engine *e, enum stmt which, const char *kind, const char *key,
                     int64_t seq, const char *doc)
{
	sqlite3_stmt *st = stmt(&e->writer, which);
	if (!st)
		return -EIO;
	bind_doc(st, kind, key, seq);
	if (doc)
		sqlite3_bind_text(st, 4, doc, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : w_error(e, db_error(&e->writer, rc, "document write"));
}

static int sq_doc_put(struct store_engine *base, const char *kind, const char *key, int64_t seq,
                      const char *doc)
{
	return doc_write(engine(base), S_DOC_PUT, kind, key, seq, doc);
}

static int sq_doc_delete(struct store_engine *base, const char *kind, const char *key, int64_t seq)
{
	return doc_write(engine(base), S_DOC_DELETE, kind, key, seq, NULL);
}

static int64_t sq_doc_next(struct store_engine *base, const char *kind, const char *key,
                           int64_t floor)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_DOC_NEXT);
	if (st) {
		bind_doc(st, kind, key, 0);
		sqlite3_bind_int64(st, 4, floor);
	}
	int64_t v = one_int(&e->writer, st, -EIO, "counter");
	return v < 0 ? w_error(e, (int)v) : v;
}

static int sq_doc_list(struct store_engine *base, bool writer, const char *kind, const char *key,
                       unsigned limit, unsigned offset, bool descending, struct store_docs *out)
{
	struct sqlite_engine *e = engine(base);
	struct conn *c = doc_conn(e, writer);
	memset(out, 0, sizeof(*out));
	int ret = 0;
	bool in_txn = !writer && exec_simple(c, S_BEGIN_READ) == 0;
	sqlite3_stmt *st = stmt(c, key ? S_DOC_COUNT : S_DOC_COUNT_KIND);
	if (st)
		bind_doc(st, kind, key, 0);
	out->total = one_int(c, st, 0, "document count");
	if (out->total < 0)
		ret = (int)out->total;
	enum stmt list = key ? (descending ? S_DOC_LIST_DESC : S_DOC_LIST)
	                     : (descending ? S_DOC_LIST_KIND_DESC : S_DOC_LIST_KIND);
	st = ret == 0 ? stmt(c, list) : NULL;
	if (ret == 0 && !st)
		ret = -EIO;
	if (st) {
		bind_doc(st, kind, key, 0);
		sqlite3_bind_int64(st, 5, limit);
		sqlite3_bind_int64(st, 6, offset);
		size_t cap = 0;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 16;
				out->items = xrealloc(out->items, cap * sizeof(*out->items));
			}
			struct store_doc *d = &out->items[out->n++];
			d->key = col_text(st, 0);
			d->seq = sqlite3_column_int64(st, 1);
			d->doc = col_text(st, 2);
		}
		if (rc != SQLITE_DONE)
			ret = db_error(c, rc, "documents");
		sqlite3_reset(st);
	}
	if (in_txn)
		exec_simple(c, S_COMMIT);
	doc_conn_put(e, c);
	if (ret < 0)
		store_docs_cleanup(out);
	return writer ? w_error(e, ret) : ret;
}

/* --- the outbox --- */

static int sq_outbox_add(struct store_engine *base, const struct store_outbox_row *r)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_OUTBOX_ADD);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->hold, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->due_ms);
	sqlite3_bind_int64(st, 5, r->first_ms);
	sqlite3_bind_text(st, 6, r->doc, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : w_error(e, db_error(&e->writer, rc, "outbox write"));
}

static int sq_outbox_claim(struct store_engine *base, int64_t now_ms, int64_t lease_ms,
                           unsigned limit, struct store_outbox_rows *out)
{
	struct sqlite_engine *e = engine(base);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->writer.lock);
	if (e->writer_readonly) {
		pthread_mutex_unlock(&e->writer.lock);
		return -EROFS;
	}
	sqlite3_stmt *st = stmt(&e->writer, S_OUTBOX_CLAIM);
	int ret = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, now_ms);
		sqlite3_bind_int64(st, 2, lease_ms);
		sqlite3_bind_int64(st, 3, limit);
		size_t cap = 0;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 16;
				out->items = xrealloc(out->items, cap * sizeof(*out->items));
			}
			struct store_outbox_row *r = &out->items[out->n++];
			r->id = sqlite3_column_int64(st, 0);
			r->kind = col_text(st, 1);
			r->target = col_text(st, 2);
			r->hold = col_text(st, 3);
			r->due_ms = sqlite3_column_int64(st, 4);
			r->first_ms = sqlite3_column_int64(st, 5);
			r->attempts = sqlite3_column_int(st, 6);
			r->doc = col_text(st, 7);
			r->lease_ms = sqlite3_column_int64(st, 8);
		}
		if (rc != SQLITE_DONE)
			ret = w_error(e, db_error(&e->writer, rc, "outbox claim"));
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&e->writer.lock);
	if (ret < 0)
		store_outbox_rows_cleanup(out);
	return ret;
}

static int sq_outbox_remove(struct store_engine *base, int64_t id, int64_t lease_ms)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_OUTBOX_REMOVE);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 4, lease_ms);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_changes(e->writer.db) > 0
	                         : w_error(e, db_error(&e->writer, rc, "outbox remove"));
}

static int sq_outbox_retry(struct store_engine *base, int64_t id, int64_t lease_ms, int64_t due_ms,
                           int attempts)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_OUTBOX_RETRY);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due_ms);
	sqlite3_bind_int(st, 3, attempts);
	sqlite3_bind_int64(st, 4, lease_ms);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_changes(e->writer.db) > 0
	                         : w_error(e, db_error(&e->writer, rc, "outbox retry"));
}

static int sq_outbox_cancel(struct store_engine *base, const char *hold, int64_t after_ms,
                            int64_t now_ms)
{
	struct sqlite_engine *e = engine(base);
	sqlite3_stmt *st = stmt(&e->writer, S_OUTBOX_CANCEL);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, hold, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after_ms);
	sqlite3_bind_int64(st, 3, now_ms);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : w_error(e, db_error(&e->writer, rc, "outbox cancel"));
}

static int64_t sq_outbox_backlog(struct store_engine *base)
{
	struct sqlite_engine *e = engine(base);
	struct conn *c = reader_get(e);
	int64_t n = one_int(c, stmt(c, S_OUTBOX_BACKLOG), 0, "outbox backlog");
	conn_put(c);
	return n;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .get = sq_get,
    .list = sq_list,
    .plan = sq_plan,
    .count = sq_count,
    .export = sq_export,
    .changed_at = sq_changed_at,
    .next_after = sq_next_after,
    .external_version = sq_external_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .load = sq_load,
    .slug_id = sq_slug_id,
    .uri_id = sq_uri_id,
    .id_exists = sq_id_exists,
    .next_id = sq_next_id,
    .insert = sq_insert,
    .update = sq_update,
    .remove = sq_remove,
    .touch = sq_touch,
    .doc_get = sq_doc_get,
    .doc_put = sq_doc_put,
    .doc_delete = sq_doc_delete,
    .doc_next = sq_doc_next,
    .doc_list = sq_doc_list,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_remove = sq_outbox_remove,
    .outbox_retry = sq_outbox_retry,
    .outbox_cancel = sq_outbox_cancel,
    .outbox_backlog = sq_outbox_backlog,
};

struct store_engine *store_sqlite_open(const char *path, unsigned nreaders, struct buf *err)
{
	struct sqlite_engine *e = xcalloc(1, sizeof(*e));
	e->base.ops = &sqlite_ops;
	e->path = xstrdup(path);
	if (nreaders < 1)
		nreaders = 1;
	e->readers = xcalloc(nreaders, sizeof(*e->readers));
	if (conn_open(&e->writer, path, true, err) < 0 || migrate(&e->writer, path, err) < 0 ||
	    index_terms(&e->writer, path, err) < 0)
		goto fail;
	for (unsigned i = 0; i < nreaders; i++) {
		e->nreaders = i + 1;
		if (conn_open(&e->readers[i], path, false, err) < 0)
			goto fail;
	}
	e->writer_readonly = sqlite3_db_readonly(e->writer.db, "main") != 0;
	if (e->writer_readonly)
		log_warn("store: %s is read-only: writes answer 503 until it is writable", path);
	return &e->base;
fail:
	sq_close(&e->base);
	return NULL;
}

/* The folder a database file is in, for the messages of check and backup. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int store_sqlite_check(const char *path, struct buf *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		char *dir = folder_of(path);
		struct stat ds;
		int rc = 0;
		if (e != ENOENT) {
			buf_printf(err, "paths.database: %s: %s", path, strerror(e));
			rc = -1;
		} else if (stat(dir, &ds) < 0 || !S_ISDIR(ds.st_mode)) {
			buf_printf(err,
			           "paths.database: the folder %s does not exist (the database is "
			           "created on first start, its folder is not)",
			           dir);
			rc = -1;
		} else if (access(dir, W_OK | X_OK) < 0) {
			buf_printf(err, "paths.database: the folder %s is not writable: %s", dir,
			           strerror(errno));
			rc = -1;
		}
		free(dir);
		return rc; /* no file yet in a folder that can hold it: created on first start */
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(err, "paths.database: %s is not a file", path);
		return -1;
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *q = NULL;
	int version = -1;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	else if (rc == SQLITE_OK)
		rc = sqlite3_errcode(db);
	sqlite3_finalize(q);
	int out = 0;
	if (rc != SQLITE_OK) {
		buf_printf(err, "paths.database: cannot open %s: %s", path,
		           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		out = -1;
	} else if (version > SCHEMA_VERSION) {
		buf_printf(err,
		           "paths.database: %s has schema version %d; this gazette knows up to %d",
		           path, version, SCHEMA_VERSION);
		out = -1;
	}
	sqlite3_close(db);
	return out;
}

/* fsync of a file or folder by its name; 0 or -errno. */
static int sync_path(const char *path, bool folder)
{
	int fd = open(path, (folder ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* PRAGMA integrity_check of db: 0 when it says "ok", else -1 with its first findings. */
static int integrity(sqlite3 *db, struct buf *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(10)", -1, &q, NULL) != SQLITE_OK) {
		buf_printf(err, "integrity_check: %s", sqlite3_errmsg(db));
		return -1;
	}
	int rc = 0, rows = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(q, 0);
		if (rows++ == 0 && line && strcmp(line, "ok") == 0)
			continue;
		buf_printf(err, "%sintegrity_check: %s", rc ? "; " : "", line ? line : "?");
		rc = -1;
	}
	if (rows == 0) {
		buf_printf(err, "integrity_check: %s", sqlite3_errmsg(db));
		rc = -1;
	}
	sqlite3_finalize(q);
	return rc;
}

/* path with its folder made absolute and its links resolved; NULL when the folder is not. */
static char *canonical(const char *path)
{
	char *dir = folder_of(path);
	char *real = realpath(dir, NULL);
	free(dir);
	if (!real)
		return NULL;
	const char *slash = strrchr(path, '/');
	char *out =
	    xasprintf("%s/%s", strcmp(real, "/") == 0 ? "" : real, slash ? slash + 1 : path);
	free(real);
	return out;
}

/* Whether dest is the database at path (by name, or the same file by another) or one of the
 * files SQLite keeps beside it: a copy renamed there would replace them under the server. */
static bool is_database_file(const char *path, const char *dest)
{
	struct stat a, b;
	if (stat(path, &a) == 0 && stat(dest, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return true;
	char *p = canonical(path), *d = canonical(dest);
	bool same = false;
	if (p && d) {
		size_t n = strlen(p);
		same = strncmp(d, p, n) == 0 &&
		       (d[n] == '\0' || strcmp(d + n, "-wal") == 0 || strcmp(d + n, "-shm") == 0 ||
		        strcmp(d + n, "-journal") == 0);
	}
	free(p);
	free(d);
	return same;
}

int store_sqlite_backup(const char *path, const char *dest, struct store_backup_info *info,
                        struct buf *err)
{
	memset(info, 0, sizeof(*info));
	if (access(path, F_OK) < 0) {
		buf_printf(err, "no database at %s: %s", path, strerror(errno));
		return -1;
	}
	if (is_database_file(path, dest)) {
		buf_printf(err,
		           "%s is the database itself (paths.database) or a file beside it; "
		           "name another file",
		           dest);
		return -EINVAL;
	}
	/* the copy is made beside dest and renamed over it only once it is whole, synced and
	 * checked: a failed backup never replaces a good one */
	char *tmp = xasprintf("%s.tmp-%ld", dest, (long)getpid());
	sqlite3 *src = NULL, *dst = NULL;
	int rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		buf_printf(err, "cannot open %s: %s", path,
		           src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		sqlite3_close(src);
		free(tmp);
		return -1;
	}
	sqlite3_busy_timeout(src, 5000);
	/* the copy holds password hashes and token digests: its owner's alone, whatever the
	 * umask, and never a file someone put there first */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_printf(err, "cannot create %s: %s", tmp, strerror(errno));
		sqlite3_close(src);
		free(tmp);
		return -1;
	}
	close(fd);
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = store_sqlite_tokenizer(dst); /* the search tables name it */
	if (rc != SQLITE_OK) {
		buf_printf(err, "cannot create %s: %s", tmp,
		           dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		buf_printf(err, "cannot back up %s: %s", path, sqlite3_errmsg(dst));
		goto fail;
	}
	/* every page in one step: one read transaction, so the copy is the database as one
	 * commit left it (WAL: the server's writes go on meanwhile, and are not in it). A step
	 * in pieces would start again after each write the server makes. */
	int tries = 0;
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < 200);
	info->pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		buf_printf(err, "cannot back up %s: %s", path, sqlite3_errstr(rc));
		goto fail;
	}
	/* a copy is one file: no -wal or -shm beside it to forget when it is moved */
	sqlite3_stmt *jm = NULL;
	const unsigned char *mode = NULL;
	if (sqlite3_prepare_v2(dst, "PRAGMA journal_mode = DELETE", -1, &jm, NULL) == SQLITE_OK &&
	    sqlite3_step(jm) == SQLITE_ROW)
		mode = sqlite3_column_text(jm, 0);
	bool one_file = mode && strcmp((const char *)mode, "delete") == 0;
	sqlite3_finalize(jm);
	if (!one_file) {
		buf_printf(err, "cannot finish %s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	if (integrity(dst, err) < 0)
		goto fail;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(dst, "SELECT count(*) FROM articles", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		info->articles = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		buf_printf(err, "cannot close %s: %s", tmp, sqlite3_errstr(rc));
		goto fail;
	}
	int e = sync_path(tmp, false);
	struct stat st;
	if (e == 0 && stat(tmp, &st) == 0)
		info->bytes = (int64_t)st.st_size;
	if (e == 0 && rename(tmp, dest) < 0)
		e = -errno;
	if (e < 0) {
		buf_printf(err, "cannot write %s: %s", dest, strerror(-e));
		goto fail;
	}
	char *dir = folder_of(dest);
	e = sync_path(dir, true);
	if (e < 0)
		buf_printf(err, "%s was written, but its folder %s could not be synced: %s", dest,
		           dir, strerror(-e));
	free(dir);
	if (e < 0) {
		sqlite3_close(src);
		free(tmp);
		return -1;
	}
	sqlite3_close(src);
	free(tmp);
	return 0;
fail:
	sqlite3_close(dst);
	sqlite3_close(src);
	unlink(tmp);
	char *journal = xasprintf("%s-journal", tmp);
	unlink(journal);
	free(journal);
	free(tmp);
	return -1;
}
