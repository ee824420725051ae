/* store_fixture.h - what the store tests share: a fresh database per test, records from
 * JSON, checks on listings. Included by test_store.c, test_store_sqlite.c, test_changes.c. */
#ifndef GAZETTE_STORE_FIXTURE_H
#define GAZETTE_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "article.h"
#include "gate.h"
#include "mem.h"
#include "rfc3339.h"
#include "store.h"
#include "testutil.h"

#define NOW 1673505180 /* 2023-01-12T06:33:00Z */

struct fixture {
	char *dir;
	char *path;
	struct store *s;
	uint64_t commits; /* transactions the store committed, counted by its commit hook */
};

static inline void count_commit(void *arg)
{
	((struct fixture *)arg)->commits++;
}

static inline struct store *open_store(const char *path)
{
	struct buf err = BUF_INIT;
	struct store *s = store_open(path, 2, &err);
	if (!s)
		fail_msg("store_open: %s", buf_str(&err));
	buf_cleanup(&err);
	return s;
}

#ifdef GAZETTE_POSTGRESQL
#include <libpq-fe.h>

/* Under tests/http/pg.py ($GAZETTE_TEST_PG is its socket folder and port): the URL of a new,
 * empty database in that cluster; else NULL (the test runs on an SQLite file). */
static inline char *pg_database(void)
{
	const char *where = getenv("GAZETTE_TEST_PG");
	if (!where || !*where)
		return NULL;
	static unsigned serial;
	const char *colon = strrchr(where, ':');
	assert_non_null(colon);
	char *host = xstrndup(where, (size_t)(colon - where));
	char *admin = xasprintf("postgresql://gazette@/postgres?host=%s&port=%s", host, colon + 1);
	PGconn *c = PQconnectdb(admin);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("PostgreSQL: %s", PQerrorMessage(c));
	char *name = xasprintf("c%d_%u", (int)getpid(), ++serial);
	char *create = xasprintf("CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", name);
	PGresult *r = PQexec(c, create);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("CREATE DATABASE: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	char *url = xasprintf("postgresql://gazette@/%s?host=%s&port=%s", name, host, colon + 1);
	free(create);
	free(name);
	free(admin);
	free(host);
	return url;
}
#else
static inline char *pg_database(void)
{
	return NULL;
}
#endif

static inline int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = tmpdir_new();
	f->path = pg_database();
	if (!f->path)
		f->path = xasprintf("%s/gazette.db", f->dir);
	f->s = open_store(f->path);
	store_on_commit(f->s, count_commit, f);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Fills a from JSON written with ' for " (a real ' is \u0027); the input must be valid. */
static inline void build(struct article *a, enum article_mode mode, const char *text)
{
	char *s = xstrdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t jerr;
	json_t *in = json_loads(s, 0, &jerr);
	if (!in)
		fail_msg("bad test JSON %s: %s", s, jerr.text);
	struct article_error err;
	article_init(a);
	if (article_from_json(in, mode, NOW, a, &err) != 0)
		fail_msg("%s: %s %s", s, err.field, err.message);
	json_decref(in);
	free(s);
}

/* Creates an article at time now; returns store_create's result and, when asked, a copy of
 * the slug it got (free()d by the caller). */
static inline int create_at(struct store *s, const char *text, int64_t now, char **slug)
{
	struct article a;
	build(&a, ARTICLE_API, text);
	int rc = store_create(s, &a, now);
	if (slug)
		*slug = xstrdup(a.slug);
	article_cleanup(&a);
	return rc;
}

static inline int create(struct store *s, const char *text, char **slug)
{
	return create_at(s, text, NOW, slug);
}

/* Creates an article that must be stored and returns its id. */
static inline int64_t must_create(struct store *s, const char *text)
{
	struct article a;
	build(&a, ARTICLE_API, text);
	int rc = store_create(s, &a, NOW);
	if (rc != 0)
		fail_msg("store_create(%s) = %d", text, rc);
	int64_t id = a.id;
	article_cleanup(&a);
	return id;
}

static inline void expect_slug(struct store *s, const char *text, const char *want)
{
	char *slug = NULL;
	int rc = create(s, text, &slug);
	if (rc != 0)
		fail_msg("store_create(%s) = %d", text, rc);
	if (strcmp(slug, want) != 0)
		fail_msg("%s got slug %s, want %s", text, slug, want);
	free(slug);
}

static inline struct store_query query(unsigned page, unsigned per_page)
{
	struct store_query q = {
	    .page = page,
	    .per_page = per_page,
	    .tag = NULL,
	    .q = NULL,
	    .public_only = true,
	    .now = NOW,
	    .with_body = false,
	};
	return q;
}

/* Lists with q and checks the total and the slugs in order ("a b c"; "" for none). */
static inline void expect_list(struct store *s, const struct store_query *q, unsigned total,
                               const char *slugs)
{
	struct article_list l;
	int rc = store_list(s, q, &l);
	if (rc != 0)
		fail_msg("store_list = %d", rc);
	struct buf got = BUF_INIT;
	for (size_t i = 0; i < l.n; i++)
		buf_printf(&got, "%s%s", i ? " " : "", l.items[i].slug);
	if (l.total != total || strcmp(buf_str(&got), slugs) != 0)
		fail_msg("page %u of %u (tag %s, q %s): total %u [%s], want %u [%s]", q->page,
		         q->per_page, q->tag ? q->tag : "-", q->q ? q->q : "-", l.total,
		         buf_str(&got), total, slugs);
	buf_cleanup(&got);
	article_list_cleanup(&l);
}

#endif
