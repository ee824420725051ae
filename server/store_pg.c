/* store_pg.c - the PostgreSQL engine (SPEC §10): libpq, prepared statements, one connection
 * per reading thread, one writer, one listener for other instances' commits. All of Gazette's
 * PostgreSQL SQL is here; no rule is. */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "log.h"
#include "mem.h"
#include "store_backend.h"
#include "textsearch.h"

#define SCHEMA_VERSION 3
/* pg_advisory_xact_lock's key: migrations and writes of every instance take it in turn */
#define LOCK_KEY "7165627974657301"
#define CHANNEL  "gazette_changes"
/* PostgreSQL's last position in a tsvector (story_terms keeps within its other limits) */
#define POS_MAX     16383
#define BACKOFF_MIN 100  /* ms before the first reconnection attempt after a failure */
#define BACKOFF_MAX 5000 /* ... doubling up to this */
#define TEXT_OID    25   /* every parameter is sent as text; the SQL casts it */

static const char *const migrations[SCHEMA_VERSION] = {
    /* 1: the records, their tags, the search terms (textsearch's, made in C) */
    "CREATE TABLE articles ("
    " id bigint PRIMARY KEY,"
    " slug text NOT NULL UNIQUE,"
    " title text NOT NULL,"
    " summary text NOT NULL,"
    " published_at text NOT NULL,"
    " published_ts bigint NOT NULL,"
    " status text NOT NULL CHECK (status IN ('published', 'draft')),"
    " source text NOT NULL DEFAULT '',"
    " editor text NOT NULL DEFAULT '',"
    " author text NOT NULL DEFAULT '',"
    " created_at text NOT NULL,"
    " updated_at text NOT NULL,"
    " updated_ts bigint NOT NULL,"
    " language text NOT NULL DEFAULT '',"
    " uri text UNIQUE,"
    " body text NOT NULL,"
    " body_html text NOT NULL,"
    " terms tsvector NOT NULL);"
    "CREATE INDEX articles_listing ON articles (published_ts DESC, id DESC) INCLUDE (status);"
    "CREATE INDEX articles_terms ON articles USING gin (terms);"
    "CREATE TABLE tags ("
    " article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,"
    " tag text NOT NULL,"
    " position integer NOT NULL,"
    " status text NOT NULL,"
    " published_ts bigint NOT NULL,"
    " PRIMARY KEY (article_id, tag));"
    "CREATE INDEX tags_listing ON tags (tag, published_ts DESC, article_id DESC)"
    " INCLUDE (status);"
    "CREATE TABLE gazette_meta (key text PRIMARY KEY, value bigint NOT NULL);"
    "INSERT INTO gazette_meta (key, value) VALUES ('changed_at', 0);",
    /* 2: the newsroom (SPEC §11): a story's corrections, and the documents of accounts,
     * tokens, revisions, the audit log and old slugs */
    "ALTER TABLE articles ADD COLUMN extra text NOT NULL DEFAULT '';"
    "CREATE TABLE docs ("
    " kind text NOT NULL,"
    " key text NOT NULL,"
    " seq bigint NOT NULL,"
    " doc text NOT NULL,"
    " PRIMARY KEY (kind, key, seq));",
    /* 3: the outbox (SPEC §13): deliveries written in the transaction of the change they
     * announce, claimed by due time by any instance */
    "CREATE TABLE outbox ("
    " id bigserial PRIMARY KEY,"
    " kind text NOT NULL,"
    " target text NOT NULL,"
    " hold text NOT NULL,"
    " due_ms bigint NOT NULL,"
    " first_ms bigint NOT NULL,"
    " lease_ms bigint NOT NULL DEFAULT 0,"
    " attempts integer NOT NULL DEFAULT 0,"
    " doc text NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (due_ms, id);"
    "CREATE INDEX outbox_hold ON outbox (hold, due_ms) WHERE hold <> '';",
};

/* Columns every read selects, in this order (row_to_article reads them by position). The
 * body is sent only when the read asks for it ($8). */
#define COLS                                                                                     \
	"a.id, a.slug, a.title, a.summary, a.published_at, a.published_ts, a.status, a.source, " \
	"a.editor, a.author, a.created_at, a.updated_at, a.updated_ts, a.language, a.uri, "      \
	"(SELECT string_agg(t.tag, ' ' ORDER BY t.position) FROM tags t WHERE "                  \
	"t.article_id = a.id) AS tags, a.extra, CASE WHEN $8::boolean THEN a.body ELSE '' END"   \
	" AS body, CASE WHEN $8::boolean THEN a.body_html ELSE '' END AS body_html"
#define NCOLS 19
/* A store_filter: $1 the status (NULL: any), $2 the latest published_ts; $3 and $4 a page's
 * limit and offset, $5 a tag, $6 a tsquery, $7 a slug, $8 whether bodies are read. */
#define FILTER(t) "($1::text IS NULL OR " t "status = $1::text) AND " t "published_ts <= $2::bigint"
/* A listing and its total from one statement (one snapshot): the count, and the page's rows
 * joined to it, so that a page past the end still brings the total. */
#define COUNTED(count, ids)                                                                    \
	"SELECT r.*, c.total FROM (" count ") c LEFT JOIN LATERAL (SELECT " COLS " FROM (" ids \
	") p JOIN articles a ON a.id = p.id) r ON true ORDER BY r.published_ts DESC, r.id DESC"
#define COUNT_ALL "SELECT count(*) AS total FROM articles WHERE " FILTER("")
#define IDS                                                                                \
	"SELECT id FROM articles WHERE " FILTER("") " ORDER BY published_ts DESC, id DESC" \
	                                            " LIMIT $3::bigint OFFSET $4::bigint"
#define COUNT_TAG "SELECT count(*) AS total FROM tags WHERE tag = $5::text AND " FILTER("")
#define TAG_IDS                                                               \
	"SELECT article_id AS id FROM tags WHERE tag = $5::text AND " FILTER( \
	    "") " ORDER BY published_ts DESC, article_id DESC LIMIT $3::bigint OFFSET $4::bigint"
#define MATCHES                                                                               \
	" FROM articles a WHERE a.terms @@ $6::tsquery AND " FILTER(                          \
	    "a.") " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM tags t WHERE t.article_id" \
	          " = a.id AND t.tag = $5::text))"

enum stmt {
	S_GET,
	S_LIST,
	S_LIST_TAG,
	S_SEARCH,
	S_COUNT,
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
	S_DOC_GET,
	S_DOC_PUT,
	S_DOC_DELETE,
	S_DOC_LIST,
	S_DOC_LIST_DESC,
	S_DOC_LIST_KIND,
	S_DOC_LIST_KIND_DESC,
	S_DOC_NEXT,
	S_OUTBOX_ADD,
	S_OUTBOX_CLAIM,
	S_OUTBOX_REMOVE,
	S_OUTBOX_RETRY,
	S_OUTBOX_CANCEL,
	S_OUTBOX_BACKLOG,
	NSTMT
};

/* documents: $1 kind, $2 key, $3 seq, $4 the text; $5, $6 limit and offset; a list's rows
 * carry the count of all. A list of one key and one of a whole kind are statements of their
 * own, each a range of the primary key. */
#define DOC_KEY  " WHERE kind = $1::text AND key = $2::text"
#define DOC_KIND " WHERE kind = $1::text"
#define DOC_LIST(where, order)                                                               \
	"SELECT d.key, d.seq, d.doc, c.total FROM (SELECT count(*) AS total FROM docs" where \
	") c LEFT JOIN LATERAL (SELECT key, seq, doc FROM docs" where " ORDER BY " order     \
	" LIMIT $5::bigint OFFSET $6::bigint) d ON true ORDER BY " order

static const char *const sql[NSTMT] = {
    [S_GET] = "SELECT " COLS " FROM articles a WHERE a.slug = $7::text AND " FILTER("a."),
    [S_LIST] = COUNTED(COUNT_ALL, IDS),
    [S_LIST_TAG] = COUNTED(COUNT_TAG, TAG_IDS),
    [S_SEARCH] = "SELECT " COLS ", p.total FROM (SELECT a.id, ts_rank(a.terms, $6::tsquery)"
                 " AS rank, a.published_ts, count(*) OVER () AS total" MATCHES
                 " ORDER BY rank DESC, a.published_ts DESC, a.id DESC LIMIT $3::bigint"
                 " OFFSET $4::bigint) p JOIN articles a ON a.id = p.id"
                 " ORDER BY p.rank DESC, a.published_ts DESC, a.id DESC",
    [S_COUNT] = COUNT_ALL,
    [S_COUNT_SEARCH] = "SELECT count(*)" MATCHES,
    [S_CHANGED_AT] =
        "SELECT greatest(coalesce((SELECT value FROM gazette_meta WHERE key ="
        " 'changed_at'), 0), coalesce((SELECT published_ts FROM articles WHERE " FILTER(
            "") " ORDER BY published_ts DESC LIMIT 1), 0))",
    [S_NEXT_AFTER] = "SELECT published_ts FROM articles WHERE status = $1::text AND"
                     " published_ts > $2::bigint ORDER BY published_ts LIMIT 1",
    [S_EXPORT] = "SELECT " COLS " FROM articles a ORDER BY a.id",
    [S_SLUG_ID] = "SELECT id, slug, created_at FROM articles WHERE slug = $1::text",
    [S_ID_EXISTS] = "SELECT 1 FROM articles WHERE id = $1::bigint",
    [S_URI_ID] = "SELECT id, slug, created_at FROM articles WHERE uri = $1::text",
    [S_NEXT_ID] = "SELECT coalesce(max(id), 0) + 1 FROM articles",
    [S_INSERT] = "INSERT INTO articles (id, slug, title, summary, published_at, published_ts,"
                 " status, source, editor, author, created_at, updated_at, updated_ts, body,"
                 " body_html, language, uri, terms, extra) VALUES ($1::bigint, $2, $3, $4,"
                 " $5, $6::bigint, $7, $8, $9, $10, $11, $12, $13::bigint, $14, $15, $16,"
                 " $17, $18::tsvector, $19)",
    [S_UPDATE] = "UPDATE articles SET slug = $2, title = $3, summary = $4, published_at = $5,"
                 " published_ts = $6::bigint, status = $7, source = $8, editor = $9,"
                 " author = $10, created_at = $11, updated_at = $12, updated_ts = $13::bigint,"
                 " body = $14, body_html = $15, language = $16, uri = $17,"
                 " terms = $18::tsvector, extra = $19 WHERE id = $1::bigint",
    [S_DELETE] = "DELETE FROM articles WHERE id = $1::bigint",
    [S_DELETE_TAGS] = "DELETE FROM tags WHERE article_id = $1::bigint",
    [S_INSERT_TAG] = "INSERT INTO tags (article_id, tag, position, status, published_ts)"
                     " VALUES ($1::bigint, $2, $3::integer, $4, $5::bigint)"
                     " ON CONFLICT DO NOTHING",
    /* the time, and every other instance told, in the write's own transaction */
    [S_TOUCH] = "WITH t AS (INSERT INTO gazette_meta (key, value) VALUES ('changed_at',"
                " $1::bigint) ON CONFLICT (key) DO UPDATE SET value ="
                " greatest(gazette_meta.value, excluded.value) RETURNING 1)"
                " SELECT pg_notify('" CHANNEL "', '') FROM t",
    [S_DOC_GET] = "SELECT doc FROM docs WHERE kind = $1::text AND key = $2::text AND"
                  " seq = $3::bigint",
    [S_DOC_PUT] = "INSERT INTO docs (kind, key, seq, doc) VALUES ($1, $2, $3::bigint, $4)"
                  " ON CONFLICT (kind, key, seq) DO UPDATE SET doc = excluded.doc",
    [S_DOC_DELETE] = "DELETE FROM docs WHERE kind = $1::text AND key = $2::text AND"
                     " seq = $3::bigint",
    [S_DOC_LIST] = DOC_LIST(DOC_KEY, "seq"),
    [S_DOC_LIST_DESC] = DOC_LIST(DOC_KEY, "seq DESC"),
    [S_DOC_LIST_KIND] = DOC_LIST(DOC_KIND, "key, seq"),
    [S_DOC_LIST_KIND_DESC] = DOC_LIST(DOC_KIND, "key DESC, seq DESC"),
    /* $4: the floor */
    [S_DOC_NEXT] = "INSERT INTO docs AS d (kind, key, seq, doc) VALUES ($1, $2, 0,"
                   " ($4::bigint + 1)::text) ON CONFLICT (kind, key, seq) DO UPDATE SET doc ="
                   " (greatest(d.doc::bigint, $4::bigint) + 1)::text RETURNING d.doc",
    /* the outbox: $1 now (ms), $2 the lease (ms), $3 how many; a row another instance is
     * claiming at this moment is skipped, not waited for */
    [S_OUTBOX_ADD] = "INSERT INTO outbox (kind, target, hold, due_ms, first_ms, doc)"
                     " VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6)",
    [S_OUTBOX_CLAIM] = "UPDATE outbox SET lease_ms = $1::bigint + $2::bigint WHERE id IN"
                       " (SELECT id FROM outbox WHERE due_ms <= $1::bigint AND lease_ms <="
                       " $1::bigint ORDER BY due_ms, id LIMIT $3::bigint FOR UPDATE SKIP"
                       " LOCKED) RETURNING id, kind, target, hold, due_ms, first_ms,"
                       " attempts, doc, lease_ms",
    /* $4 (and $2 of remove): the lease the claim set; a row claimed again since is another
     * worker's */
    [S_OUTBOX_REMOVE] = "DELETE FROM outbox WHERE id = $1::bigint AND lease_ms = $2::bigint",
    [S_OUTBOX_RETRY] = "UPDATE outbox SET due_ms = $2::bigint, attempts = $3::integer,"
                       " lease_ms = 0 WHERE id = $1::bigint AND lease_ms = $4::bigint",
    [S_OUTBOX_CANCEL] = "DELETE FROM outbox WHERE hold = $1::text AND hold <> '' AND"
                        " first_ms > $2::bigint AND lease_ms <= $3::bigint AND attempts = 0",
    [S_OUTBOX_BACKLOG] = "SELECT count(*) FROM outbox",
};

/* One connection and what is prepared on it. */
struct conn {
	pthread_mutex_t lock;
	PGconn *pg;
	bool prepared[NSTMT];
	unsigned timeout_ms; /* the statement_timeout set on it */
	int64_t retry_at;    /* broken: no new attempt before this (ms, monotonic) */
	int64_t failed_at;   /* when the last attempt failed */
	unsigned backoff;    /* ms until the attempt after the next */
};

struct pg_engine {
	struct store_engine base; /* first: store.c holds a pointer to it */
	char *url;
	struct conn writer; /* its lock is held from begin to commit or rollback */
	struct conn *readers;
	unsigned nreaders;
	atomic_uint next_reader;
	struct conn listener;  /* LISTENs; used by external_version's one thread */
	int64_t version;       /* notifications seen, reconnections of the listener */
	atomic_int writer_pid; /* the writer's backend: its own notifications are not news */
	/* when a connection last came back: the others then try at once, not at their backoff */
	atomic_int_fast64_t back_at;
};

static struct pg_engine *engine(struct store_engine *e)
{
	return (struct pg_engine *)e;
}

static int64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- connections --- */

/* PostgreSQL's notices ("relation ... already exists, skipping") are for a debugging
 * operator, not for stderr, where libpq would print them. */
static void on_notice(void *arg, const char *message)
{
	log_debug("store: PostgreSQL: %.*s", (int)strcspn(message, "\n"), message);
}

/* Cuts the newline libpq ends its messages with (and spaces before it). */
static void trim_message(struct buf *b)
{
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
}

/* Opens c->pg on url (checked by store_pg_open: libpq parses it): UTF-8 always; bounds on
 * connecting, on a server that stops answering over TCP (10 s of unanswered sends, 30 s of
 * silence) and on a transaction left idle, which the URL may change; Gazette's name in
 * pg_stat_activity. Returns 0, or -EIO with libpq's message in err (it names the host and
 * database, never the password). */
static int connect_to(struct conn *c, const char *url, struct buf *err)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout",
	                                   "keepalives_idle",  "keepalives_interval",
	                                   "keepalives_count", "options",
	                                   "application_name", "dbname",
	                                   "client_encoding",  NULL};
	const char *values[] = {
	    "5",       "10000", "10",   "5", "4", "-c idle_in_transaction_session_timeout=60000",
	    "gazette", url,     "UTF8", NULL};
	c->pg = PQconnectdbParams(keys, values, 1);
	memset(c->prepared, 0, sizeof(c->prepared));
	c->timeout_ms = 0;
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
		PQsetNoticeProcessor(c->pg, on_notice, NULL);
		c->backoff = BACKOFF_MIN;
		c->retry_at = 0;
		return 0;
	}
	if (err) {
		buf_printf(err, "%s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
		trim_message(err);
	}
	PQfinish(c->pg);
	c->pg = NULL;
	return -EIO;
}

static void conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->backoff = BACKOFF_MIN;
}

static void conn_close(struct conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	pthread_mutex_destroy(&c->lock);
}

/* Makes c usable: a broken connection is opened again, at most once per backoff (100 ms,
 * doubling to 5 s) until one of the engine's connections came back, so a request never waits
 * on a database that is down and all recover together. Returns 0 or -EIO. */
static int conn_ready(struct pg_engine *e, struct conn *c)
{
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	int64_t now = clock_ms();
	if (now < c->retry_at && atomic_load(&e->back_at) <= c->failed_at)
		return -EIO;
	PQfinish(c->pg);
	c->pg = NULL;
	struct buf err = BUF_INIT;
	int rc = connect_to(c, e->url, &err);
	if (rc < 0) {
		log_warn("store: PostgreSQL unreachable (next try in %u ms): %s", c->backoff,
		         buf_str(&err));
		c->failed_at = now;
		c->retry_at = now + c->backoff;
		c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
	} else {
		atomic_store(&e->back_at, now);
		log_info("store: connected to PostgreSQL again");
	}
	buf_cleanup(&err);
	return rc;
}

/* What a failed result means (SQLSTATE classes of PostgreSQL's appendix A). Logs the message
 * for the operator; clients only ever see a status. */
static int result_error(struct conn *c, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (!state)
		state = "";
	int rc = -EIO;
	if (strcmp(state, "23505") == 0)
		rc = -EEXIST; /* unique_violation */
	else if (strcmp(state, "57014") == 0)
		rc = -ETIMEDOUT; /* query_canceled: the statement_timeout of a read's budget */
	else if (strcmp(state, "53100") == 0)
		rc = -ENOSPC; /* disk_full */
	else if (strcmp(state, "25006") == 0 || strncmp(state, "42501", 5) == 0)
		rc = -EROFS; /* read-only transaction (a standby), or no privilege to write */
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	         strcmp(state, "55P03") == 0)
		rc = -EBUSY; /* serialization failure, deadlock, lock not available */
	if (rc != -ETIMEDOUT) {
		const char *msg = r ? PQresultErrorMessage(r) : "";
		if (!*msg)
			msg = PQerrorMessage(c->pg);
		log_error("store: PostgreSQL %s: %s%s%.*s", what, state, *state ? " " : "",
		          (int)strcspn(msg, "\n"), msg);
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		/* the connection is gone: the next use opens another (after a short wait) */
		c->failed_at = clock_ms();
		c->retry_at = c->failed_at + BACKOFF_MIN;
		rc = -EIO;
	}
	return rc;
}

/* Runs statement which on c with n text parameters (NULL: SQL NULL), preparing it first on a
 * fresh connection. Returns the result (the caller clears it) when its status is want, else
 * NULL with *rc set. */
static PGresult *run(struct conn *c, enum stmt which, int n, const char *const *params,
                     ExecStatusType want, int *rc)
{
	char name[8];
	snprintf(name, sizeof(name), "s%d", (int)which);
	if (!c->prepared[which]) {
		/* typed, so that a statement may leave some of its parameters unused */
		Oid types[24];
		for (int i = 0; i < n; i++)
			types[i] = TEXT_OID;
		PGresult *p = PQprepare(c->pg, name, sql[which], n, types);
		if (PQresultStatus(p) != PGRES_COMMAND_OK) {
			*rc = result_error(c, p, "prepare");
			PQclear(p);
			return NULL;
		}
		PQclear(p);
		c->prepared[which] = true;
	}
	PGresult *r = PQexecPrepared(c->pg, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(r) == want) {
		*rc = 0;
		return r;
	}
	*rc = result_error(c, r, name);
	PQclear(r);
	return NULL;
}

/* A simple command (BEGIN, COMMIT, SET) on c. */
static int command(struct conn *c, const char *text)
{
	PGresult *r = PQexec(c->pg, text);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
	             ? 0
	             : result_error(c, r, text);
	PQclear(r);
	return rc;
}

/* A reading connection: a free one if there is one, else wait for one; usable, or NULL with
 * *rc set. */
static struct conn *reader_get(struct pg_engine *e, int *rc)
{
	unsigned start = atomic_fetch_add(&e->next_reader, 1);
	struct conn *c = NULL;
	for (unsigned i = 0; i < e->nreaders && !c; i++) {
		struct conn *t = &e->readers[(start + i) % e->nreaders];
		if (pthread_mutex_trylock(&t->lock) == 0)
			c = t;
	}
	if (!c) {
		c = &e->readers[start % e->nreaders];
		pthread_mutex_lock(&c->lock);
	}
	*rc = conn_ready(e, c);
	if (*rc < 0) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	return c;
}

static void conn_put(struct conn *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* Sets how long c's statements may run (0: no bound), when it is not already so. */
static int set_timeout(struct conn *c, unsigned ms)
{
	if (c->timeout_ms == ms)
		return 0;
	char text[64];
	snprintf(text, sizeof(text), "SET statement_timeout = %u", ms);
	int rc = command(c, text);
	if (rc == 0)
		c->timeout_ms = ms;
	return rc;
}

/* A read on a reader: statement which with params, retried once on a new connection when the
 * one it had was found broken (the database restarted since its last use). */
static PGresult *read_stmt(struct pg_engine *e, enum stmt which, int n, const char *const *params,
                           unsigned budget_ms, int *rc)
{
	struct conn *c = reader_get(e, rc);
	if (!c)
		return NULL;
	PGresult *r = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		*rc = set_timeout(c, budget_ms);
		if (*rc == 0)
			r = run(c, which, n, params, PGRES_TUPLES_OK, rc);
		if (r || PQstatus(c->pg) == CONNECTION_OK || attempt == 1)
			break;
		c->retry_at = 0; /* at once: the server may be back, and only this one was stale */
		if (conn_ready(e, c) < 0)
			break;
	}
	conn_put(c);
	return r;
}

/* --- values to and from text --- */

static char *col(const PGresult *r, int row, int i)
{
	return xstrdup(PQgetisnull(r, row, i) ? "" : PQgetvalue(r, row, i));
}

static int64_t col_int(const PGresult *r, int row, int i)
{
	return PQgetisnull(r, row, i) ? 0 : strtoll(PQgetvalue(r, row, i), NULL, 10);
}

static void row_to_article(const PGresult *r, int row, struct article *a)
{
	a->id = col_int(r, row, 0);
	a->slug = col(r, row, 1);
	a->title = col(r, row, 2);
	a->summary = col(r, row, 3);
	a->published_at = col(r, row, 4);
	a->published_ts = col_int(r, row, 5);
	a->status = col(r, row, 6);
	a->source = col(r, row, 7);
	a->editor = col(r, row, 8);
	a->author = col(r, row, 9);
	a->created_at = col(r, row, 10);
	a->updated_at = col(r, row, 11);
	a->updated_ts = col_int(r, row, 12);
	a->language = col(r, row, 13);
	a->uri = col(r, row, 14); /* NULL: none */
	store_tags_from_text(a, PQgetisnull(r, row, 15) ? NULL : PQgetvalue(r, row, 15));
	article_extra_from_text(a, PQgetisnull(r, row, 16) ? NULL : PQgetvalue(r, row, 16));
	a->body = col(r, row, 17);
	a->body_html = col(r, row, 18);
}

/* Appends the rows of r to out; a row without an id (a page past the end, which still
 * carries the total) adds nothing. */
static void read_rows(const PGresult *r, struct article_list *out)
{
	int n = PQntuples(r);
	out->items = xcalloc(n > 0 ? (size_t)n : 1, sizeof(struct article));
	for (int i = 0; i < n; i++) {
		if (PQnfields(r) > NCOLS)
			out->total = (unsigned)col_int(r, i, NCOLS);
		if (PQgetisnull(r, i, 0))
			continue;
		article_init(&out->items[out->n]);
		row_to_article(r, i, &out->items[out->n]);
		out->n++;
	}
}

struct text_int {
	char s[24];
};

static struct text_int int_text(int64_t v)
{
	struct text_int t;
	snprintf(t.s, sizeof(t.s), "%lld", (long long)v);
	return t;
}

/* --- search terms: textsearch's, written as tsvector and tsquery literals --- */

/* Appends term as a quoted lexeme: ' and \ doubled. */
static void put_lexeme(struct buf *out, const char *term, size_t len)
{
	buf_putc(out, '\'');
	for (size_t i = 0; i < len; i++) {
		if (term[i] == '\'' || term[i] == '\\')
			buf_putc(out, term[i]);
		buf_putc(out, term[i]);
	}
	buf_putc(out, '\'');
}

/* A story's distinct terms with their positions, in the order they first came: PostgreSQL
 * reads every lexeme of a tsvector literal into one buffer of at most 1 MiB before it merges
 * repeats, so each is written once, with all its positions; and the merged vector (each
 * lexeme padded to 2 bytes, a 2-byte count and 2 bytes a position) must stay under 1 MiB too,
 * so terms and positions past TSVECTOR_MAX of it are left out. */
struct lexeme {
	uint64_t hash;
	size_t at; /* in terms.text */
	size_t len;
	unsigned npos, cap;
	uint16_t *pos; /* position << 2 | weight (3 A, 2 B, 0 D), at most POS_PER_TERM */
};

#define POS_PER_TERM 256     /* PostgreSQL keeps no more for one lexeme */
#define TSVECTOR_MAX 1040000 /* what a vector may take of PostgreSQL's 1 MiB, with room */

struct terms {
	struct buf text;     /* the distinct terms, one after another */
	struct lexeme *list; /* by first appearance */
	size_t n, cap;
	size_t *slots; /* open addressing on SipHash (the text is a client's): index + 1, 0 empty */
	size_t nslots;
	size_t bytes;    /* of the vector PostgreSQL will build */
	unsigned pos;    /* the last position given */
	unsigned weight; /* of the field being read */
};

static struct hash_key terms_key;
static pthread_once_t terms_key_once = PTHREAD_ONCE_INIT;

static void terms_key_init(void)
{
	hash_key_random(&terms_key);
}

static struct lexeme *terms_find(struct terms *t, const char *term, size_t len)
{
	uint64_t h = hash_keyed(&terms_key, term, len);
	if (t->n * 2 >= t->nslots) {
		size_t nslots = t->nslots ? t->nslots * 2 : 1024;
		size_t *slots = xcalloc(nslots, sizeof(*slots));
		for (size_t i = 0; i < t->n; i++) {
			size_t j = t->list[i].hash & (nslots - 1);
			while (slots[j])
				j = (j + 1) & (nslots - 1);
			slots[j] = i + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->nslots = nslots;
	}
	size_t j = h & (t->nslots - 1);
	for (; t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
		struct lexeme *x = &t->list[t->slots[j] - 1];
		if (x->hash == h && x->len == len && memcmp(t->text.data + x->at, term, len) == 0)
			return x;
	}
	size_t cost = (len + 1) / 2 * 2 + 2 + 2; /* padded, its count, its first position */
	if (t->bytes + cost > TSVECTOR_MAX)
		return NULL; /* past the index's size: the text is stored, its tail not indexed */
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->list = xrealloc(t->list, t->cap * sizeof(*t->list));
	}
	struct lexeme *x = &t->list[t->n];
	*x = (struct lexeme){h, t->text.len, len, 0, 0, NULL};
	buf_append(&t->text, term, len);
	t->bytes += cost - 2; /* the position is counted when it is added */
	t->slots[j] = ++t->n;
	return x;
}

static int on_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct terms *t = ctx;
	/* positions wrap past PostgreSQL's last, so neighbours stay neighbours */
	t->pos = t->pos >= POS_MAX ? 1 : t->pos + 1;
	struct lexeme *x = terms_find(t, term, len);
	if (!x || x->npos == POS_PER_TERM || t->bytes + 2 > TSVECTOR_MAX)
		return 0;
	if (x->npos == x->cap) {
		x->cap = x->cap ? x->cap * 4 : 4;
		x->pos = xrealloc(x->pos, x->cap * sizeof(*x->pos));
	}
	x->pos[x->npos++] = (uint16_t)(t->pos << 2 | t->weight);
	t->bytes += 2;
	return 0;
}

/* The tsvector of a story: the terms of its title (weight A), summary (B) and body (D) with
 * their positions; a position is skipped between two fields, so that a phrase (a quoted word,
 * a run of CJK pairs) is never found across them, as in FTS5's columns. */
char *store_pg_tsvector(const struct article *a)
{
	pthread_once(&terms_key_once, terms_key_init);
	struct terms t = {.text = BUF_INIT};
	const char *fields[] = {a->title, a->summary, a->body};
	const unsigned weights[] = {3, 2, 0};
	for (int i = 0; i < 3; i++) {
		t.weight = weights[i];
		if (i)
			t.pos = t.pos >= POS_MAX ? 1 : t.pos + 1;
		textsearch_tokenize(fields[i], strlen(fields[i]), on_term, &t);
	}
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < t.n; i++) {
		struct lexeme *x = &t.list[i];
		put_lexeme(&out, t.text.data + x->at, x->len);
		for (unsigned k = 0; k < x->npos; k++)
			buf_printf(&out, "%c%u%s", k ? ',' : ':', x->pos[k] >> 2,
			           (x->pos[k] & 3) == 3   ? "A"
			           : (x->pos[k] & 3) == 2 ? "B"
			                                  : "");
		buf_putc(&out, ' ');
		free(x->pos);
	}
	free(t.list);
	free(t.slots);
	buf_cleanup(&t.text);
	return buf_steal(&out, NULL);
}

struct query_word {
	struct buf *out;
	unsigned terms;
	bool prefix;
};

static int on_query_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct query_word *w = ctx;
	if (w->terms++)
		buf_puts(w->out, " <-> ");
	put_lexeme(w->out, term, len);
	if (w->prefix)
		buf_puts(w->out, ":*");
	return 0;
}

/* The tsquery of store.c's match text ("word" "wo""rd" "吉"*: quoted words, doubled quotes,
 * a '*' after one to be found as a prefix): each word's terms a phrase, all words required.
 * Empty when no word has a term. */
void store_pg_tsquery(struct buf *out, const char *match)
{
	struct buf word = BUF_INIT;
	const char *p = match;
	unsigned words = 0;
	while (*p) {
		if (*p != '"') {
			p++;
			continue;
		}
		buf_reset(&word);
		for (p++; *p; p++) {
			if (*p == '"' && p[1] != '"')
				break;
			if (*p == '"')
				p++;
			buf_putc(&word, *p);
		}
		if (*p == '"')
			p++;
		bool prefix = *p == '*';
		size_t before = out->len;
		if (words)
			buf_puts(out, " & ");
		buf_putc(out, '(');
		struct query_word w = {out, 0, prefix};
		textsearch_tokenize(word.data ? word.data : "", word.len, on_query_term, &w);
		buf_putc(out, ')');
		if (w.terms == 0) {
			out->len = before; /* no term: the word asks for nothing */
			if (out->data)
				out->data[before] = '\0';
		} else {
			words++;
		}
	}
	buf_cleanup(&word);
}

/* --- reads --- */

/* The one record of r (which this clears) into a: 0, -ENOENT for none, or rc when r is NULL. */
static int one_article(PGresult *r, int rc, struct article *a)
{
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : -ENOENT;
	if (rc == 0)
		row_to_article(r, 0, a);
	PQclear(r);
	return rc;
}

/* The filter's parameters $1 and $2 into params (the text of $2 kept in *until). */
static void filter_params(const char **params, struct text_int *until, const struct store_filter *f)
{
	*until = int_text(f->published_until);
	params[0] = f->status;
	params[1] = until->s;
}

static int pg_get(struct store_engine *base, const char *slug, const struct store_filter *f,
                  struct article *a)
{
	struct text_int until;
	const char *params[8] = {0};
	filter_params(params, &until, f);
	params[6] = slug;
	params[7] = "true";
	int rc;
	PGresult *r = read_stmt(engine(base), S_GET, 8, params, 0, &rc);
	return one_article(r, rc, a);
}

static int pg_list(struct store_engine *base, const struct store_page *p, struct article_list *out)
{
	struct text_int until, limit = int_text(p->limit), offset = int_text(p->offset);
	const char *params[8] = {0};
	filter_params(params, &until, &p->filter);
	params[2] = limit.s;
	params[3] = offset.s;
	params[4] = p->tag;
	params[7] = p->with_body ? "true" : "false";
	struct buf query = BUF_INIT;
	enum stmt which = p->tag ? S_LIST_TAG : S_LIST;
	if (p->match) {
		store_pg_tsquery(&query, p->match);
		if (query.len == 0) {
			buf_cleanup(&query);
			return 0; /* no word with a term: nothing matches */
		}
		params[5] = buf_str(&query);
		which = S_SEARCH;
	}
	int rc;
	PGresult *r = read_stmt(engine(base), which, 8, params, p->budget_ms, &rc);
	if (r) {
		read_rows(r, out);
		PQclear(r);
		if (which == S_SEARCH && out->n == 0 && p->offset > 0) {
			/* past the last page: the rows could not carry the count */
			r = read_stmt(engine(base), S_COUNT_SEARCH, 8, params, p->budget_ms, &rc);
			if (r) {
				out->total = (unsigned)col_int(r, 0, 0);
				PQclear(r);
			}
		}
	}
	buf_cleanup(&query);
	return rc;
}

/* The one integer of a reader's statement which for filter f (dflt for no row or NULL). */
static int64_t filtered_int(struct store_engine *base, enum stmt which,
                            const struct store_filter *f, int64_t dflt)
{
	struct text_int until;
	const char *params[2];
	filter_params(params, &until, f);
	int rc;
	PGresult *r = read_stmt(engine(base), which, 2, params, 0, &rc);
	if (!r)
		return rc;
	int64_t v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? col_int(r, 0, 0) : dflt;
	PQclear(r);
	return v;
}

static int64_t pg_count(struct store_engine *base, const struct store_filter *f)
{
	return filtered_int(base, S_COUNT, f, 0);
}

static int64_t pg_changed_at(struct store_engine *base, const struct store_filter *f)
{
	return filtered_int(base, S_CHANGED_AT, f, 0);
}

static int64_t pg_next_after(struct store_engine *base, const char *status, int64_t after)
{
	struct store_filter f = {status, after};
	return filtered_int(base, S_NEXT_AFTER, &f, INT64_MAX);
}

static int pg_export(struct store_engine *base, struct article_list *out)
{
	const char *params[8] = {0};
	params[7] = "true";
	int rc;
	PGresult *r = read_stmt(engine(base), S_EXPORT, 8, params, 0, &rc);
	if (!r)
		return rc;
	read_rows(r, out);
	out->total = (unsigned)out->n;
	PQclear(r);
	return 0;
}

/* Other instances' commits: the notifications on the listener's connection, counted. After
 * the connection was lost, the count moves once it is back (what was sent meanwhile is not
 * replayed, so everything cached must go). */
static int64_t pg_external_version(struct store_engine *base)
{
	struct pg_engine *e = engine(base);
	struct conn *c = &e->listener;
	pthread_mutex_lock(&c->lock);
	bool was_down = !c->pg || PQstatus(c->pg) != CONNECTION_OK;
	if (was_down && conn_ready(e, c) == 0) {
		if (command(c, "LISTEN " CHANNEL) == 0) {
			e->version++;
		} else {
			PQfinish(c->pg);
			c->pg = NULL;
		}
	} else if (!was_down) {
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
			log_warn("store: lost the PostgreSQL notifications: %.*s",
			         (int)strcspn(PQerrorMessage(c->pg), "\n"), PQerrorMessage(c->pg));
			PQfinish(c->pg);
			c->pg = NULL;
			c->failed_at = clock_ms();
			c->retry_at = c->failed_at + BACKOFF_MIN;
		}
		PGnotify *n;
		int own = atomic_load(&e->writer_pid);
		while (c->pg && (n = PQnotifies(c->pg)) != NULL) {
			if (n->be_pid != own)
				e->version++;
			PQfreemem(n);
		}
	}
	int64_t v = e->version;
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* --- the writer: begin takes its lock and the database's write lock; commit or rollback
 * gives both back --- */

/* Leaves no transaction open on c: a failed BEGIN, lock wait or COMMIT must not leave the
 * writer in an aborted transaction that refuses every later statement. */
static void end_transaction(struct conn *c)
{
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		command(c, "ROLLBACK");
}

static int pg_begin(struct store_engine *base, bool bulk)
{
	struct pg_engine *e = engine(base);
	struct conn *c = &e->writer;
	pthread_mutex_lock(&c->lock);
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = conn_ready(e, c);
		if (rc < 0)
			break;
		atomic_store(&e->writer_pid, PQbackendPID(c->pg));
		/* one writer at a time across every instance, as SQLite's BEGIN IMMEDIATE: slugs,
		 * ids and upserts are decided on what the transaction sees */
		/* and a write waits for the others at most 5 s, as SQLite's busy timeout (then
		 * 503); an import (bulk) waits as long as the one before takes */
		rc = command(c, bulk ? "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_KEY ")"
		                     : "BEGIN; SET LOCAL lock_timeout = 5000;"
		                       " SELECT pg_advisory_xact_lock(" LOCK_KEY ")");
		if (rc == 0 || PQstatus(c->pg) == CONNECTION_OK)
			break;
		c->retry_at = 0; /* stale since the server restarted: one new connection at once */
	}
	if (rc < 0) {
		end_transaction(c);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

static int pg_commit(struct store_engine *base)
{
	struct pg_engine *e = engine(base);
	struct conn *c = &e->writer;
	PGresult *r = PQexec(c->pg, "COMMIT");
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_error(c, r, "COMMIT");
	else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = -EIO; /* a transaction that had failed: PostgreSQL rolled it back */
	PQclear(r);
	end_transaction(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void pg_rollback(struct store_engine *base)
{
	struct pg_engine *e = engine(base);
	end_transaction(&e->writer);
	pthread_mutex_unlock(&e->writer.lock);
}

/* The id of the record found by which (bound to key), with its slug and created_at when
 * asked (the caller frees them); 0 when there is none. */
static int64_t lookup(struct pg_engine *e, enum stmt which, const char *key, char **slug,
                      char **created_at)
{
	int rc;
	PGresult *r = run(&e->writer, which, 1, &key, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	int64_t id = 0;
	if (PQntuples(r) == 1) {
		id = col_int(r, 0, 0);
		if (slug)
			*slug = col(r, 0, 1);
		if (created_at)
			*created_at = col(r, 0, 2);
	}
	PQclear(r);
	return id;
}

static int pg_load(struct store_engine *base, const char *slug, struct article *a)
{
	const char *params[8] = {NULL, "9223372036854775807", NULL, NULL, NULL, NULL, slug, "true"};
	int rc;
	PGresult *r = run(&engine(base)->writer, S_GET, 8, params, PGRES_TUPLES_OK, &rc);
	return one_article(r, rc, a);
}

static int64_t pg_slug_id(struct store_engine *base, const char *slug, char **created_at)
{
	return lookup(engine(base), S_SLUG_ID, slug, NULL, created_at);
}

static int64_t pg_uri_id(struct store_engine *base, const char *uri, char **slug, char **created_at)
{
	return lookup(engine(base), S_URI_ID, uri, slug, created_at);
}

static int pg_id_exists(struct store_engine *base, int64_t id)
{
	struct text_int t = int_text(id);
	const char *p = t.s;
	int rc;
	PGresult *r = run(&engine(base)->writer, S_ID_EXISTS, 1, &p, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

static int64_t pg_next_id(struct store_engine *base)
{
	int rc;
	PGresult *r = run(&engine(base)->writer, S_NEXT_ID, 0, NULL, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	int64_t id = col_int(r, 0, 0);
	PQclear(r);
	return id;
}

/* A writing statement whose one parameter is v. */
static int write_int(struct pg_engine *e, enum stmt which, int64_t v, ExecStatusType want)
{
	struct text_int t = int_text(v);
	const char *p = t.s;
	int rc;
	PGresult *r = run(&e->writer, which, 1, &p, want, &rc);
	PQclear(r);
	return rc;
}

static int write_tags(struct pg_engine *e, const struct article *a)
{
	int rc = write_int(e, S_DELETE_TAGS, a->id, PGRES_COMMAND_OK);
	struct text_int id = int_text(a->id), ts = int_text(a->published_ts);
	char *keys[STORE_KEYS_MAX];
	size_t n = store_index_keys(a, keys);
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* the article's status and order ride along, so a tag's listing is one index */
		struct text_int pos = int_text((int64_t)i);
		const char *params[] = {id.s, keys[i], pos.s, a->status, ts.s};
		PQclear(run(&e->writer, S_INSERT_TAG, 5, params, PGRES_COMMAND_OK, &rc));
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	return rc;
}

static int write_row(struct pg_engine *e, enum stmt which, const struct article *a)
{
	struct text_int id = int_text(a->id), pts = int_text(a->published_ts),
	                uts = int_text(a->updated_ts);
	char *terms = store_pg_tsvector(a), *extra = article_extra_text(a);
	const char *params[] = {
	    id.s,      a->slug,   a->title,     a->summary,  a->published_at,         pts.s,
	    a->status, a->source, a->editor,    a->author,   a->created_at,           a->updated_at,
	    uts.s,     a->body,   a->body_html, a->language, *a->uri ? a->uri : NULL, /* NULL: not
	                                                                                 unique */
	    terms,     extra,
	};
	int rc;
	PQclear(run(&e->writer, which, 19, params, PGRES_COMMAND_OK, &rc));
	free(terms);
	free(extra);
	return rc < 0 ? rc : write_tags(e, a);
}

static int pg_insert(struct store_engine *base, const struct article *a)
{
	return write_row(engine(base), S_INSERT, a);
}

static int pg_update(struct store_engine *base, const struct article *a)
{
	return write_row(engine(base), S_UPDATE, a);
}

static int pg_remove(struct store_engine *base, int64_t id)
{
	return write_int(engine(base), S_DELETE, id, PGRES_COMMAND_OK);
}

static int pg_touch(struct store_engine *base, int64_t t)
{
	return write_int(engine(base), S_TOUCH, t, PGRES_TUPLES_OK);
}

/* --- documents --- */

/* A document statement on the writer (in the transaction) or on a reader. */
static PGresult *doc_stmt(struct pg_engine *e, bool writer, enum stmt which, int n,
                          const char *const *params, ExecStatusType want, int *rc)
{
	if (writer)
		return run(&e->writer, which, n, params, want, rc);
	return read_stmt(e, which, n, params, 0, rc);
}

static int pg_doc_get(struct store_engine *base, bool writer, const char *kind, const char *key,
                      int64_t seq, char **doc)
{
	struct text_int s = int_text(seq);
	const char *params[] = {kind, key, s.s};
	int rc;
	PGresult *r = doc_stmt(engine(base), writer, S_DOC_GET, 3, params, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	if (PQntuples(r) == 1)
		*doc = col(r, 0, 0);
	else
		rc = -ENOENT;
	PQclear(r);
	return rc;
}

static int pg_doc_put(struct store_engine *base, const char *kind, const char *key, int64_t seq,
                      const char *doc)
{
	struct text_int s = int_text(seq);
	const char *params[] = {kind, key, s.s, doc};
	int rc;
	PQclear(run(&engine(base)->writer, S_DOC_PUT, 4, params, PGRES_COMMAND_OK, &rc));
	return rc;
}

static int pg_doc_delete(struct store_engine *base, const char *kind, const char *key, int64_t seq)
{
	struct text_int s = int_text(seq);
	const char *params[] = {kind, key, s.s};
	int rc;
	PQclear(run(&engine(base)->writer, S_DOC_DELETE, 3, params, PGRES_COMMAND_OK, &rc));
	return rc;
}

static int64_t pg_doc_next(struct store_engine *base, const char *kind, const char *key,
                           int64_t floor)
{
	struct text_int f = int_text(floor);
	const char *params[] = {kind, key, NULL, f.s};
	int rc;
	PGresult *r = run(&engine(base)->writer, S_DOC_NEXT, 4, params, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	int64_t v = PQntuples(r) == 1 ? col_int(r, 0, 0) : -EIO;
	PQclear(r);
	return v;
}

static int pg_doc_list(struct store_engine *base, bool writer, const char *kind, const char *key,
                       unsigned limit, unsigned offset, bool descending, struct store_docs *out)
{
	struct text_int l = int_text(limit), o = int_text(offset);
	const char *params[] = {kind, key, NULL, NULL, l.s, o.s};
	memset(out, 0, sizeof(*out));
	int rc;
	enum stmt which = key ? (descending ? S_DOC_LIST_DESC : S_DOC_LIST)
	                      : (descending ? S_DOC_LIST_KIND_DESC : S_DOC_LIST_KIND);
	PGresult *r = doc_stmt(engine(base), writer, which, 6, params, PGRES_TUPLES_OK, &rc);
	if (!r)
		return rc;
	int n = PQntuples(r);
	out->items = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*out->items));
	for (int i = 0; i < n; i++) {
		out->total = col_int(r, i, 3);
		if (PQgetisnull(r, i, 0))
			continue; /* a page past the end: the count alone */
		struct store_doc *d = &out->items[out->n++];
		d->key = col(r, i, 0);
		d->seq = col_int(r, i, 1);
		d->doc = col(r, i, 2);
	}
	PQclear(r);
	return 0;
}

/* --- the outbox --- */

static int pg_outbox_add(struct store_engine *base, const struct store_outbox_row *row)
{
	struct text_int d = int_text(row->due_ms), f = int_text(row->first_ms);
	const char *params[] = {row->kind, row->target, row->hold, d.s, f.s, row->doc};
	int rc;
	PQclear(run(&engine(base)->writer, S_OUTBOX_ADD, 6, params, PGRES_COMMAND_OK, &rc));
	return rc;
}

static int pg_outbox_claim(struct store_engine *base, int64_t now_ms, int64_t lease_ms,
                           unsigned limit, struct store_outbox_rows *out)
{
	struct pg_engine *e = engine(base);
	struct conn *c = &e->writer;
	memset(out, 0, sizeof(*out));
	struct text_int n = int_text(now_ms), l = int_text(lease_ms), k = int_text(limit);
	const char *params[] = {n.s, l.s, k.s};
	pthread_mutex_lock(&c->lock);
	int rc = conn_ready(e, c);
	PGresult *r = rc == 0 ? run(c, S_OUTBOX_CLAIM, 3, params, PGRES_TUPLES_OK, &rc) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (!r)
		return rc;
	int rows = PQntuples(r);
	out->items = xcalloc(rows > 0 ? (size_t)rows : 1, sizeof(*out->items));
	for (int i = 0; i < rows; i++) {
		struct store_outbox_row *o = &out->items[out->n++];
		o->id = col_int(r, i, 0);
		o->kind = col(r, i, 1);
		o->target = col(r, i, 2);
		o->hold = col(r, i, 3);
		o->due_ms = col_int(r, i, 4);
		o->first_ms = col_int(r, i, 5);
		o->attempts = (int)col_int(r, i, 6);
		o->doc = col(r, i, 7);
		o->lease_ms = col_int(r, i, 8);
	}
	PQclear(r);
	return 0;
}

/* 1 when the statement of r changed a row, 0 when none, or rc (r NULL). */
static int affected(PGresult *r, int rc)
{
	if (!r)
		return rc;
	rc = strcmp(PQcmdTuples(r), "0") != 0 && *PQcmdTuples(r);
	PQclear(r);
	return rc;
}

static int pg_outbox_remove(struct store_engine *base, int64_t id, int64_t lease_ms)
{
	struct text_int t = int_text(id), l = int_text(lease_ms);
	const char *params[] = {t.s, l.s};
	int rc;
	PGresult *r = run(&engine(base)->writer, S_OUTBOX_REMOVE, 2, params, PGRES_COMMAND_OK, &rc);
	return affected(r, rc);
}

static int pg_outbox_retry(struct store_engine *base, int64_t id, int64_t lease_ms, int64_t due_ms,
                           int attempts)
{
	struct text_int t = int_text(id), d = int_text(due_ms), a = int_text(attempts),
	                l = int_text(lease_ms);
	const char *params[] = {t.s, d.s, a.s, l.s};
	int rc;
	PGresult *r = run(&engine(base)->writer, S_OUTBOX_RETRY, 4, params, PGRES_COMMAND_OK, &rc);
	return affected(r, rc);
}

static int pg_outbox_cancel(struct store_engine *base, const char *hold, int64_t after_ms,
                            int64_t now_ms)
{
	struct text_int a = int_text(after_ms), n = int_text(now_ms);
	const char *params[] = {hold, a.s, n.s};
	int rc;
	PQclear(run(&engine(base)->writer, S_OUTBOX_CANCEL, 3, params, PGRES_COMMAND_OK, &rc));
	return rc;
}

static int64_t pg_outbox_backlog(struct store_engine *base)
{
	int rc;
	PGresult *r = read_stmt(engine(base), S_OUTBOX_BACKLOG, 0, NULL, 0, &rc);
	if (!r)
		return rc;
	int64_t n = PQntuples(r) == 1 ? col_int(r, 0, 0) : -EIO;
	PQclear(r);
	return n;
}

static void pg_close(struct store_engine *base)
{
	struct pg_engine *e = engine(base);
	if (!e)
		return;
	for (unsigned i = 0; i < e->nreaders; i++)
		conn_close(&e->readers[i]);
	conn_close(&e->writer);
	conn_close(&e->listener);
	free(e->readers);
	free(e->url);
	free(e);
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .get = pg_get,
    .list = pg_list,
    .plan = NULL,
    .count = pg_count,
    .export = pg_export,
    .changed_at = pg_changed_at,
    .next_after = pg_next_after,
    .external_version = pg_external_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .load = pg_load,
    .slug_id = pg_slug_id,
    .uri_id = pg_uri_id,
    .id_exists = pg_id_exists,
    .next_id = pg_next_id,
    .insert = pg_insert,
    .update = pg_update,
    .remove = pg_remove,
    .touch = pg_touch,
    .doc_get = pg_doc_get,
    .doc_put = pg_doc_put,
    .doc_delete = pg_doc_delete,
    .doc_next = pg_doc_next,
    .doc_list = pg_doc_list,
    .outbox_add = pg_outbox_add,
    .outbox_claim = pg_outbox_claim,
    .outbox_remove = pg_outbox_remove,
    .outbox_retry = pg_outbox_retry,
    .outbox_cancel = pg_outbox_cancel,
    .outbox_backlog = pg_outbox_backlog,
};

/* The first integer of the first row of a simple query, dflt when there is none. */
static int64_t query_int(struct conn *c, const char *text, int64_t dflt)
{
	PGresult *r = PQexec(c->pg, text);
	int64_t v = dflt;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = col_int(r, 0, 0);
	PQclear(r);
	return v;
}

/* Writes every story's terms again: the index holds another tokenizer version's. */
static int reindex(struct conn *c, struct buf *err)
{
	/* a few hundred stories at a time: the whole archive would not fit in memory */
	int64_t last = 0;
	for (;;) {
		struct text_int after = int_text(last);
		const char *p = after.s;
		PGresult *r = PQexecParams(c->pg,
		                           "SELECT id, title, summary, body FROM articles"
		                           " WHERE id > $1::bigint ORDER BY id LIMIT 500",
		                           1, NULL, &p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			buf_printf(err, "cannot read the stories to index them: %s",
			           PQerrorMessage(c->pg));
			PQclear(r);
			return -1;
		}
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			struct article a = {.title = PQgetvalue(r, i, 1),
			                    .summary = PQgetvalue(r, i, 2),
			                    .body = PQgetvalue(r, i, 3)};
			char *terms = store_pg_tsvector(&a);
			const char *params[] = {terms, PQgetvalue(r, i, 0)};
			PGresult *u = PQexecParams(
			    c->pg, "UPDATE articles SET terms = $1::tsvector WHERE id = $2::bigint",
			    2, NULL, params, NULL, NULL, 0);
			int ok = PQresultStatus(u) == PGRES_COMMAND_OK;
			if (!ok)
				buf_printf(err, "cannot index story %s: %s", PQgetvalue(r, i, 0),
				           PQerrorMessage(c->pg));
			PQclear(u);
			free(terms);
			if (!ok) {
				PQclear(r);
				return -1;
			}
			last = col_int(r, i, 0);
		}
		PQclear(r);
		if (n == 0)
			return 0;
	}
}

/* Creates or upgrades the schema, and the terms when the tokenizer changed, in one
 * transaction under the advisory lock: instances that start together take turns, and the
 * second finds the work done. */
static int migrate(struct conn *c, struct buf *err)
{
	if (command(c,
	            "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_KEY ");"
	            " CREATE TABLE IF NOT EXISTS gazette_schema (version integer NOT NULL);") < 0) {
		buf_printf(err, "cannot take the migration lock: %s", PQerrorMessage(c->pg));
		command(c, "ROLLBACK");
		return -1;
	}
	int64_t version = query_int(c, "SELECT max(version) FROM gazette_schema", 0);
	int rc = 0;
	if (version > SCHEMA_VERSION) {
		buf_printf(err, "the database has schema version %lld; this gazette knows up to %d",
		           (long long)version, SCHEMA_VERSION);
		rc = -1;
	}
	for (int64_t v = version; v < SCHEMA_VERSION && rc == 0; v++) {
		char *script = xasprintf("%s DELETE FROM gazette_schema;"
		                         " INSERT INTO gazette_schema (version) VALUES (%lld);",
		                         migrations[v], (long long)v + 1);
		PGresult *r = PQexec(c->pg, script);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			buf_printf(err, "cannot migrate the database to version %lld: %s",
			           (long long)v + 1, PQerrorMessage(c->pg));
			rc = -1;
		}
		PQclear(r);
		free(script);
	}
	long long want = textsearch_version();
	if (rc == 0 &&
	    query_int(c, "SELECT value FROM gazette_meta WHERE key = 'textsearch'", -1) != want) {
		rc = reindex(c, err);
		char *text =
		    xasprintf("INSERT INTO gazette_meta (key, value) VALUES ('textsearch',"
		              " %lld) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		              want);
		if (rc == 0 && command(c, text) < 0) {
			buf_printf(err, "cannot record the search index's version");
			rc = -1;
		}
		free(text);
	}
	if (rc == 0 && command(c, "COMMIT") < 0) {
		buf_printf(err, "cannot commit the migration: %s", PQerrorMessage(c->pg));
		rc = -1;
	}
	if (rc < 0)
		command(c, "ROLLBACK");
	trim_message(err);
	return rc;
}

/* Whether libpq can parse url; false with a message in err that does not quote it (libpq's
 * own messages about a URL it cannot parse quote it, password and all). */
static bool url_parses(const char *url, struct buf *err)
{
	char *parse_error = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &parse_error);
	bool parsed = opts != NULL;
	PQconninfoFree(opts);
	PQfreemem(parse_error);
	if (!parsed)
		buf_puts(err, "the PostgreSQL URL cannot be parsed (libpq's form: "
		              "postgresql://user:password@host:port/database?param=value)");
	return parsed;
}

struct store_engine *store_pg_open(const char *url, unsigned nreaders, struct buf *err)
{
	struct pg_engine *e = xcalloc(1, sizeof(*e));
	e->base.ops = &pg_ops;
	e->url = xstrdup(url);
	e->nreaders = nreaders < 1 ? 1 : nreaders;
	e->readers = xcalloc(e->nreaders, sizeof(*e->readers));
	conn_init(&e->writer);
	conn_init(&e->listener);
	for (unsigned i = 0; i < e->nreaders; i++)
		conn_init(&e->readers[i]);
	struct buf why = BUF_INIT;
	if (!url_parses(url, err))
		goto fail;
	if (connect_to(&e->writer, url, &why) < 0) {
		buf_printf(err, "cannot connect to PostgreSQL: %s", buf_str(&why));
		goto fail;
	}
	const char *enc = PQparameterStatus(e->writer.pg, "server_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0) {
		buf_printf(
		    err,
		    "PostgreSQL database %s has encoding %s; Gazette needs UTF8 (createdb -E UTF8)",
		    PQdb(e->writer.pg), enc ? enc : "?");
		goto fail;
	}
	if (migrate(&e->writer, err) < 0)
		goto fail;
	for (unsigned i = 0; i < e->nreaders; i++) {
		buf_reset(&why);
		if (connect_to(&e->readers[i], url, &why) < 0) {
			buf_printf(err, "cannot connect to PostgreSQL: %s", buf_str(&why));
			goto fail;
		}
	}
	buf_reset(&why);
	if (connect_to(&e->listener, url, &why) < 0 ||
	    command(&e->listener, "LISTEN " CHANNEL) < 0) {
		buf_printf(err, "cannot listen for PostgreSQL notifications: %s", buf_str(&why));
		goto fail;
	}
	buf_cleanup(&why);
	return &e->base;
fail:
	buf_cleanup(&why);
	pg_close(&e->base);
	return NULL;
}

int store_pg_check(const char *url, struct buf *err)
{
	struct conn c;
	conn_init(&c);
	struct buf why = BUF_INIT;
	int rc = 0;
	if (!url_parses(url, &why)) {
		buf_printf(err, "database.url: %s", buf_str(&why));
		rc = -1;
	} else if (connect_to(&c, url, &why) < 0) {
		buf_printf(err, "database.url: cannot connect: %s", buf_str(&why));
		rc = -1;
	} else if (command(&c, "SET default_transaction_read_only = on") < 0) {
		buf_printf(err, "database.url: %s", PQerrorMessage(c.pg));
		trim_message(err);
		rc = -1;
	} else {
		/* no schema table yet: an empty database, set up on first start (a query naming
		 * the table would fail on one: names are resolved before any branch runs) */
		int64_t exists =
		    query_int(&c, "SELECT (to_regclass('gazette_schema') IS NOT NULL)::int", -1);
		int64_t version =
		    exists == 1
		        ? query_int(&c, "SELECT coalesce(max(version), 0) FROM gazette_schema", -1)
		        : exists;
		if (version < 0) {
			buf_printf(err, "database.url: cannot read the schema version: %s",
			           PQerrorMessage(c.pg));
			trim_message(err);
			rc = -1;
		} else if (version > SCHEMA_VERSION) {
			buf_printf(err,
			           "database.url: the database has schema version %lld; this "
			           "gazette knows up to %d",
			           (long long)version, SCHEMA_VERSION);
			rc = -1;
		}
	}
	buf_cleanup(&why);
	conn_close(&c);
	return rc;
}
