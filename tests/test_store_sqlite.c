/* test_store_sqlite.c - what is the SQLite engine's own: WAL and the schema version on disk,
 * migration from older schemas, the query plans of listings, durability through kill -9,
 * which constraint failure means what. */
#include "store_fixture.h"

#include <sqlite3.h>

#include "store_backend.h"
#include "textsearch.h"

/* The first column of the first row of sql, run on a connection of our own (NULL: no row). */
static char *query_text(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(store_sqlite_tokenizer(db), SQLITE_OK); /* the index's own tokenizer */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	char *out = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void expect_query(const char *path, const char *sql, const char *want)
{
	char *got = query_text(path, sql);
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s gave %s, want %s", sql, got ? got : "(no row)", want);
	free(got);
}

/* The child: create articles one by one and acknowledge each after store_create returned. */
static void durability_child(const char *path, int ack)
{
	struct buf err = BUF_INIT;
	struct store *s = store_open(path, 1, &err);
	if (!s)
		_exit(2);
	for (int i = 0; i < 100000; i++) {
		char slug[32];
		snprintf(slug, sizeof(slug), "durable-%d", i);
		json_t *in = json_pack("{s:s, s:s, s:s}", "title", "Durable", "body",
		                       "Acknowledged means stored.", "slug", slug);
		struct article a;
		struct article_error aerr;
		article_init(&a);
		if (article_from_json(in, ARTICLE_API, NOW, &a, &aerr) != 0 ||
		    store_create(s, &a, NOW) != 0)
			_exit(3);
		article_cleanup(&a);
		json_decref(in);
		char line[40];
		int n = snprintf(line, sizeof(line), "%s\n", slug);
		if (write(ack, line, (size_t)n) != n)
			_exit(4);
	}
	_exit(0);
}

/* A database as gazette 0.1.0 (schema 1) left it, with a published story, a draft and tags. */
static void write_v1_database(const char *path)
{
	static const char *const v1 =
	    "CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE,"
	    " title TEXT NOT NULL, summary TEXT NOT NULL, published_at TEXT NOT NULL,"
	    " published_ts INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN"
	    " ('published', 'draft')), source TEXT NOT NULL DEFAULT '', editor TEXT NOT NULL"
	    " DEFAULT '', author TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL, updated_ts INTEGER NOT NULL, body TEXT NOT NULL,"
	    " body_html TEXT NOT NULL);"
	    "CREATE INDEX articles_order ON articles (published_ts DESC, id DESC);"
	    "CREATE TABLE tags (article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE"
	    " CASCADE, tag TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (article_id, tag))"
	    " WITHOUT ROWID;"
	    "CREATE INDEX tags_by_tag ON tags (tag, article_id);"
	    "CREATE VIRTUAL TABLE articles_fts USING fts5 (title, summary, body, content ="
	    " 'articles', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');"
	    "INSERT INTO articles VALUES (1, 'old-story', 'Old story', 's', "
	    "'2023-01-12T14:33:00+08:00',"
	    " 1673505180, 'published', '', 'Ye Lijiao', '', '2023-01-12T06:33:00Z',"
	    " '2023-01-12T06:40:00Z', 1673505600, 'body words 吉林省经贸', '<p>body words "
	    "吉林省经贸</p>');"
	    "INSERT INTO articles VALUES (2, 'old-draft', 'Old draft', 's', '2023-01-13T00:00:00Z',"
	    " 1673568000, 'draft', '', '', '', '2023-01-12T07:00:00Z', '2023-01-12T07:00:00Z',"
	    " 1673506800, 'draft words', '<p>draft words</p>');"
	    "INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');"
	    "INSERT INTO tags VALUES (1, 'trade', 0), (2, 'trade', 0);"
	    "PRAGMA user_version = 1;";
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, v1, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("v1 schema: %s", msg);
	sqlite3_close(db);
}

/* SPEC §5: deep pages are answered from an index. SQLite's own plan says whether the rows of
 * a listing are sorted in a temporary b-tree (every row of the tag read, then ordered) or read
 * in order from an index that covers them. */
static void expect_plan(struct store *s, const struct store_query *q, const char *what)
{
	struct buf plan = BUF_INIT;
	assert_int_equal(store_plan(s, q, &plan), 0);
	/* the ids of the page (everything before the page's rows are read: "SCAN p"), and the
	 * count, each come from one covering index, in order, with no sort */
	const char *text = buf_str(&plan);
	const char *rows = strstr(text, "SCAN p\n");
	const char *count = strstr(text, "--\n");
	if (!rows || !count || rows > count)
		fail_msg("%s: unexpected plan:\n%s", what, text);
	char *ids = xstrndup(text, (size_t)(rows - text));
	const char *counting = count + 3;
	if (strstr(ids, "TEMP B-TREE") || !strstr(ids, "COVERING INDEX") ||
	    strstr(counting, "TEMP B-TREE") || !strstr(counting, "COVERING INDEX"))
		fail_msg("%s: the plan sorts, or reads rows it skips:\n%s", what, text);
	free(ids);
	buf_cleanup(&plan);
}

static void test_open_reopen(void **state)
{
	struct fixture *f = *state;
	expect_query(f->path, "PRAGMA user_version", "5");
	expect_query(f->path, "PRAGMA journal_mode", "wal");
	expect_query(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'articles_fts'",
	             "1");
	assert_int_equal(must_create(f->s, "{'title':'Kept','body':'Text'}"), 1);

	/* reopening migrates nothing and loses nothing */
	for (int i = 0; i < 2; i++) {
		store_close(f->s);
		f->s = open_store(f->path);
		expect_query(f->path, "PRAGMA user_version", "5");
		expect_query(f->path, "PRAGMA journal_mode", "wal");
		assert_int_equal(store_count(f->s, false, NOW), 1);
		struct article a;
		article_init(&a);
		assert_int_equal(store_get(f->s, "kept", true, NOW, &a), 0);
		assert_int_equal(a.id, 1);
		article_cleanup(&a);
	}
	expect_query(f->path, "PRAGMA integrity_check", "ok");
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct buf err = BUF_INIT;
	char *missing = xasprintf("%s/no/such/folder/x.db", f->dir);
	assert_null(store_open(missing, 1, &err));
	assert_true(err.len > 0);
	free(missing);
	buf_cleanup(&err);

	/* a database from a newer gazette is left alone */
	store_close(f->s);
	f->s = NULL;
	free(query_text(f->path, "PRAGMA user_version = 99"));
	assert_null(store_open(f->path, 1, &err));
	assert_non_null(strstr(buf_str(&err), "99"));
	buf_cleanup(&err);
	expect_query(f->path, "PRAGMA user_version", "99");
}

static void test_durability_kill9(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = NULL;

	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		durability_child(f->path, fds[1]);
	}
	close(fds[1]);
	FILE *acks = fdopen(fds[0], "r");
	assert_non_null(acks);
	char *line = NULL;
	size_t cap = 0;
	struct buf seen = BUF_INIT;
	int n = 0;
	while (n < 5 && getline(&line, &cap, acks) > 0) {
		buf_puts(&seen, line);
		n++;
	}
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(n, 5);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* everything acknowledged before the kill counts, also what the pipe still holds */
	while (getline(&line, &cap, acks) > 0) {
		buf_puts(&seen, line);
		n++;
	}
	free(line);
	fclose(acks);

	f->s = open_store(f->path);
	struct article a;
	article_init(&a);
	const char *p = buf_str(&seen);
	for (int i = 0; i < n; i++) {
		size_t len = strcspn(p, "\n");
		char *slug = xstrndup(p, len);
		if (store_get(f->s, slug, true, NOW, &a) != 0)
			fail_msg("acknowledged %s is gone", slug);
		article_cleanup(&a);
		free(slug);
		p += len + 1;
	}
	/* at most one create was stored but not yet acknowledged */
	int64_t count = store_count(f->s, false, NOW);
	assert_in_range(count, n, n + 1);
	buf_cleanup(&seen);
	expect_query(f->path, "PRAGMA integrity_check", "ok");
	expect_query(f->path, "PRAGMA journal_mode", "wal");
}

static void test_migrate_from_1(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	unlink(f->path);
	write_v1_database(f->path);
	f->s = open_store(f->path);
	expect_query(f->path, "PRAGMA user_version", "5");
	/* the tags learnt their article's status and order */
	expect_query(f->path,
	             "SELECT group_concat(v) FROM (SELECT status || ':' || published_ts AS v"
	             " FROM tags ORDER BY article_id)",
	             "published:1673505180,draft:1673568000");
	/* the content time starts at the newest update */
	assert_int_equal(store_changed_at(f->s, NOW), 1673506800);
	struct store_query q = query(1, 10);
	q.tag = "trade";
	q.now = NOW + 86400 * 10;
	struct article_list l;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 1);
	assert_string_equal(l.items[0].slug, "old-story");
	article_list_cleanup(&l);
	q.public_only = false;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 2);
	article_list_cleanup(&l);
	/* the index was rebuilt with textsearch's terms: a Chinese word inside a clause is
	 * found, as is one character of it */
	q = query(1, 10);
	q.now = NOW + 86400 * 10;
	const char *words[] = {"吉林", "经贸", "林", "body"};
	for (size_t i = 0; i < 4; i++) {
		q.q = words[i];
		assert_int_equal(store_list(f->s, &q, &l), 0);
		assert_int_equal(l.total, 1);
		assert_string_equal(l.items[0].slug, "old-story");
		article_list_cleanup(&l);
	}
	q.q = NULL;
	q.tag = "trade";
	/* and keep up with writes from here on */
	must_create(f->s, "{'title':'New trade','body':'x','tags':['trade']}");
	q.public_only = true;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 2);
	article_list_cleanup(&l);
}

/* An index of another tokenizer version (an older Gazette, newer Unicode tables) is rebuilt on
 * the next start, and only then. */
static void test_tokenizer_version(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Kept','body':'吉林省经贸代表团'}");
	char want[32];
	snprintf(want, sizeof(want), "%lld", textsearch_version());
	expect_query(f->path, "SELECT value FROM meta WHERE key = 'textsearch'", want);
	store_close(f->s);
	/* emptied and marked as another version's */
	free(query_text(f->path, "INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')"));
	free(query_text(f->path, "UPDATE meta SET value = 1 WHERE key = 'textsearch'"));
	expect_query(f->path, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '吉林'",
	             "0");
	f->s = open_store(f->path);
	expect_query(f->path, "SELECT value FROM meta WHERE key = 'textsearch'", want);
	struct store_query q = query(1, 10);
	q.q = "经贸";
	struct article_list l;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 1);
	article_list_cleanup(&l);
	/* the same version: nothing is rebuilt (an emptied index stays empty) */
	store_close(f->s);
	free(query_text(f->path, "INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')"));
	f->s = open_store(f->path);
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 0);
	article_list_cleanup(&l);
}

static void test_listings_use_indexes(void **state)
{
	struct fixture *f = *state;
	struct store_query q = query(999, 20);
	expect_plan(f->s, &q, "front page");
	q.public_only = false;
	expect_plan(f->s, &q, "every article");
	q.public_only = true;
	q.tag = "world";
	expect_plan(f->s, &q, "tag page");
	q.public_only = false;
	expect_plan(f->s, &q, "tag, every article");
}

/* Distinct causes, distinct errors: a CHECK failure is not "slug taken". */
static void test_constraint_errors(void **state)
{
	struct fixture *f = *state;
	struct article a;
	build(&a, ARTICLE_API, "{'title':'Odd','body':'x','slug':'odd'}");
	free(a.status);
	a.status = xstrdup("live"); /* past validation: only the schema's CHECK stops it */
	assert_int_equal(store_create(f->s, &a, NOW), -EIO);
	article_cleanup(&a);
	assert_int_equal(create(f->s, "{'title':'Odd','body':'x','slug':'odd'}", NULL), 0);
	assert_int_equal(create(f->s, "{'title':'Odd','body':'x','slug':'odd'}", NULL), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_from_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokenizer_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listings_use_indexes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_constraint_errors, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_sqlite", tests, NULL, NULL);
}
