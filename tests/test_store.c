/* test_store.c - the store's rules over a real engine (SQLite in a temporary folder): reads,
 * writes, visibility, order, pages, tags, search, import and export, bounds, content time.
 * Nothing here names an engine: every engine must pass it. */
#include "store_fixture.h"
#include "surrogate.h"

static void test_create_get(void **state)
{
	struct fixture *f = *state;
	struct article a;
	build(&a, ARTICLE_API,
	      "{'title':'Jilin province begins trade','body':'First *para*.\\n\\nMore.',"
	      "'published_at':'2023-01-12T14:33:00+08:00','editor':'Ye Lijiao','source':'Wire',"
	      "'author':'A. Writer','tags':['World News','Trade','Russia']}");
	assert_int_equal(store_create(f->s, &a, NOW + 60), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.slug, "jilin-province-begins-trade");
	assert_string_equal(a.created_at, "2023-01-12T06:34:00Z");
	assert_string_equal(a.updated_at, "2023-01-12T06:34:00Z");
	article_cleanup(&a);

	article_init(&a);
	assert_int_equal(store_get(f->s, "jilin-province-begins-trade", true, NOW, &a), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.slug, "jilin-province-begins-trade");
	assert_string_equal(a.title, "Jilin province begins trade");
	assert_string_equal(a.body, "First *para*.\n\nMore.");
	assert_string_equal(a.body_html, "<p>First <em>para</em>.</p>\n<p>More.</p>\n");
	assert_string_equal(a.summary, "First para.");
	assert_string_equal(a.published_at, "2023-01-12T14:33:00+08:00");
	assert_int_equal(a.published_ts, NOW);
	assert_string_equal(a.status, "published");
	assert_string_equal(a.source, "Wire");
	assert_string_equal(a.editor, "Ye Lijiao");
	assert_string_equal(a.author, "A. Writer");
	assert_string_equal(a.created_at, "2023-01-12T06:34:00Z");
	assert_string_equal(a.updated_at, "2023-01-12T06:34:00Z");
	assert_int_equal(a.updated_ts, NOW + 60);
	assert_int_equal(a.ntags, 3);
	assert_string_equal(a.tags[0], "world-news");
	assert_string_equal(a.tags[1], "trade");
	assert_string_equal(a.tags[2], "russia");
	article_cleanup(&a);

	article_init(&a);
	assert_int_equal(store_get(f->s, "nothing-here", false, NOW, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "", false, NOW, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "' OR 1=1 --", false, NOW, &a), -ENOENT);
	article_cleanup(&a);
}

static void test_slugs(void **state)
{
	struct fixture *f = *state;
	expect_slug(f->s, "{'title':'Hello World','body':'1'}", "hello-world");
	expect_slug(f->s, "{'title':'Hello, world!','body':'2'}", "hello-world-2");
	expect_slug(f->s, "{'title':'HELLO WORLD','body':'3'}", "hello-world-3");

	/* a slug given and taken is a conflict, and nothing is stored */
	uint64_t gen = f->commits;
	assert_int_equal(create(f->s, "{'title':'Other','body':'x','slug':'hello-world'}", NULL),
	                 -EEXIST);
	assert_int_equal(create(f->s, "{'title':'Other','body':'x','slug':'hello-world-2'}", NULL),
	                 -EEXIST);
	assert_int_equal(store_count(f->s, false, NOW), 3);
	assert_int_equal(f->commits, gen);

	/* nothing to derive from: article-<id> */
	expect_slug(f->s, "{'title':'\\u5409\\u6797\\u7701','body':'4'}", "article-4");
	/* ... unless that is taken too */
	expect_slug(f->s, "{'title':'Five','body':'5','slug':'article-6'}", "article-6");
	expect_slug(f->s, "{'title':'\\u5409\\u6797','body':'6'}", "article-6-2");

	/* the next free suffix, past one that was given */
	expect_slug(f->s, "{'title':'Taken','body':'7','slug':'foo-2'}", "foo-2");
	expect_slug(f->s, "{'title':'Foo','body':'8'}", "foo");
	expect_slug(f->s, "{'title':'Foo!','body':'9'}", "foo-3");

	/* a suffix keeps a 120-character slug within 120 */
	char *long_title = xcalloc(1, 200);
	memset(long_title, 'a', 120);
	char *text = xasprintf("{'title':'%s','body':'x'}", long_title);
	char *slug = NULL;
	assert_int_equal(create(f->s, text, &slug), 0);
	assert_string_equal(slug, long_title);
	free(slug);
	assert_int_equal(create(f->s, text, &slug), 0);
	assert_int_equal(strlen(slug), 120);
	assert_memory_equal(slug, long_title, 118);
	assert_string_equal(slug + 118, "-2");
	assert_true(article_slug_valid(slug));
	free(slug);
	free(text);
	free(long_title);
}

static void test_replace(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(create(f->s,
	                        "{'title':'Old title','body':'Old body','slug':'old-slug',"
	                        "'tags':['a','b']}",
	                        NULL),
	                 0);
	must_create(f->s, "{'title':'Taken','body':'x','slug':'taken'}");

	/* no slug in the input: the article keeps its own */
	struct article a;
	build(&a, ARTICLE_API, "{'title':'New title','body':'New body','tags':['c']}");
	uint64_t gen = f->commits;
	assert_int_equal(store_replace(f->s, "old-slug", &a, NOW + 100), 0);
	assert_true(f->commits > gen);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.slug, "old-slug");
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "old-slug", true, NOW + 100, &a), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.title, "New title");
	assert_string_equal(a.body, "New body");
	assert_string_equal(a.summary, "New body");
	assert_string_equal(a.created_at, "2023-01-12T06:33:00Z");
	assert_string_equal(a.updated_at, "2023-01-12T06:34:40Z");
	assert_int_equal(a.ntags, 1);
	assert_string_equal(a.tags[0], "c");
	article_cleanup(&a);
	struct store_query q = query(1, 10);
	q.tag = "a";
	expect_list(f->s, &q, 0, "");

	/* a new slug renames; the id and created_at stay */
	build(&a, ARTICLE_API, "{'title':'Renamed','body':'Text','slug':'new-slug'}");
	assert_int_equal(store_replace(f->s, "old-slug", &a, NOW + 200), 0);
	assert_string_equal(a.slug, "new-slug");
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "old-slug", false, NOW, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "new-slug", false, NOW, &a), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.title, "Renamed");
	assert_string_equal(a.created_at, "2023-01-12T06:33:00Z");
	assert_string_equal(a.updated_at, "2023-01-12T06:36:20Z");
	article_cleanup(&a);

	/* the same slug given explicitly is no conflict */
	build(&a, ARTICLE_API, "{'title':'Same','body':'Text','slug':'new-slug'}");
	assert_int_equal(store_replace(f->s, "new-slug", &a, NOW + 300), 0);
	article_cleanup(&a);

	/* a missing article, and a new slug that is taken */
	build(&a, ARTICLE_API, "{'title':'X','body':'Y'}");
	gen = f->commits;
	assert_int_equal(store_replace(f->s, "old-slug", &a, NOW), -ENOENT);
	article_cleanup(&a);
	build(&a, ARTICLE_API, "{'title':'X','body':'Y','slug':'taken'}");
	assert_int_equal(store_replace(f->s, "new-slug", &a, NOW), -EEXIST);
	article_cleanup(&a);
	assert_int_equal(f->commits, gen);
	article_init(&a);
	assert_int_equal(store_get(f->s, "new-slug", false, NOW, &a), 0);
	assert_string_equal(a.title, "Same");
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "taken", false, NOW, &a), 0);
	assert_string_equal(a.title, "Taken");
	assert_int_equal(a.id, 2);
	article_cleanup(&a);
	assert_int_equal(store_count(f->s, false, NOW), 2);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Gone soon','body':'Unique zeppelin','tags':['t']}");
	must_create(f->s, "{'title':'Stays','body':'Text','tags':['t']}");
	uint64_t gen = f->commits;
	assert_int_equal(store_delete(f->s, "gone-soon"), 0);
	assert_true(f->commits > gen);
	gen = f->commits;
	assert_int_equal(store_delete(f->s, "gone-soon"), -ENOENT);
	assert_int_equal(store_delete(f->s, ""), -ENOENT);
	assert_int_equal(f->commits, gen);

	struct article a;
	article_init(&a);
	assert_int_equal(store_get(f->s, "gone-soon", false, NOW, &a), -ENOENT);
	assert_int_equal(store_count(f->s, false, NOW), 1);
	/* its tags and its words went with it */
	struct store_query q = query(1, 10);
	q.tag = "t";
	expect_list(f->s, &q, 1, "stays");
	q.tag = NULL;
	q.q = "zeppelin";
	expect_list(f->s, &q, 0, "");
}

static void test_visibility(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Public','body':'x','published_at':'2023-01-12T06:32:50Z'}");
	must_create(f->s, "{'title':'Draft','body':'x','status':'draft',"
	                  "'published_at':'2023-01-01T00:00:00Z'}");
	must_create(f->s, "{'title':'Scheduled','body':'x',"
	                  "'published_at':'2023-01-12T15:33:00+08:00'}"); /* NOW + 1 h */
	must_create(f->s, "{'title':'Right now','body':'x'}");            /* published at NOW */

	struct article a;
	article_init(&a);
	assert_int_equal(store_get(f->s, "public", true, NOW, &a), 0);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "right-now", true, NOW, &a), 0);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "draft", true, NOW, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "scheduled", true, NOW, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "scheduled", true, NOW + 3599, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "scheduled", true, NOW + 3600, &a), 0);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "draft", true, NOW + 999999, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "draft", false, NOW, &a), 0);
	assert_string_equal(a.status, "draft");
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "scheduled", false, NOW, &a), 0);
	article_cleanup(&a);

	assert_int_equal(store_count(f->s, true, NOW), 2);
	assert_int_equal(store_count(f->s, false, NOW), 4);
	assert_int_equal(store_count(f->s, true, NOW + 3600), 3);

	struct store_query q = query(1, 10);
	expect_list(f->s, &q, 2, "right-now public");
	q.now = NOW + 3600;
	expect_list(f->s, &q, 3, "scheduled right-now public");
	q.public_only = false;
	q.now = NOW;
	expect_list(f->s, &q, 4, "scheduled right-now public draft");
}

static void test_order(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'A','body':'x','published_at':'2023-01-10T00:00:00Z'}");
	must_create(f->s, "{'title':'B','body':'x','published_at':'2023-01-12T06:33:00Z'}");
	must_create(f->s, "{'title':'C','body':'x','published_at':'2023-01-11T00:00:00Z'}");
	must_create(f->s, "{'title':'D','body':'x','published_at':'2023-01-12T06:33:00Z'}");
	/* the same moment as B and D, written in another zone */
	must_create(f->s, "{'title':'E','body':'x','published_at':'2023-01-12T14:33:00+08:00'}");
	/* earlier in absolute time although its local clock reads later than A's */
	must_create(f->s, "{'title':'F','body':'x','published_at':'2023-01-10T05:00:00+08:00'}");
	struct store_query q = query(1, 10);
	expect_list(f->s, &q, 6, "e d b c a f");
}

static void test_pagination(void **state)
{
	struct fixture *f = *state;
	struct store_query q = query(1, 10);
	expect_list(f->s, &q, 0, ""); /* an empty store */

	for (int i = 1; i <= 5; i++) {
		char *text = xasprintf("{'title':'P%d','body':'Body %d',"
		                       "'published_at':'2023-01-0%dT00:00:00Z'}",
		                       i, i, i);
		must_create(f->s, text);
		free(text);
	}
	q = query(1, 2);
	expect_list(f->s, &q, 5, "p5 p4");
	q.page = 2;
	expect_list(f->s, &q, 5, "p3 p2");
	q.page = 3;
	expect_list(f->s, &q, 5, "p1");
	q.page = 4;
	expect_list(f->s, &q, 5, "");
	q.page = 1000000;
	expect_list(f->s, &q, 5, "");

	q = query(1, 1);
	expect_list(f->s, &q, 5, "p5");
	q.page = 5;
	expect_list(f->s, &q, 5, "p1");
	q.page = 6;
	expect_list(f->s, &q, 5, "");

	q = query(1, 5); /* an exact multiple */
	expect_list(f->s, &q, 5, "p5 p4 p3 p2 p1");
	q.page = 2;
	expect_list(f->s, &q, 5, "");

	q = query(1, 100);
	expect_list(f->s, &q, 5, "p5 p4 p3 p2 p1");

	/* bodies only when asked for */
	struct article_list l;
	q = query(1, 2);
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].body, "");
	assert_string_equal(l.items[0].body_html, "");
	assert_string_equal(l.items[0].summary, "Body 5");
	article_list_cleanup(&l);
	q.with_body = true;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_string_equal(l.items[0].body, "Body 5");
	assert_string_equal(l.items[0].body_html, "<p>Body 5</p>\n");
	assert_string_equal(l.items[1].body, "Body 4");
	article_list_cleanup(&l);

	/* more rows than the first allocation */
	for (int i = 0; i < 70; i++) {
		char *text = xasprintf("{'title':'Bulk %d','body':'x',"
		                       "'published_at':'2022-01-01T00:00:00Z'}",
		                       i);
		must_create(f->s, text);
		free(text);
	}
	q = query(1, 100);
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.n, 75);
	assert_int_equal(l.total, 75);
	assert_string_equal(l.items[5].slug, "bulk-69");
	assert_string_equal(l.items[74].slug, "bulk-0");
	article_list_cleanup(&l);
}

static void test_tags(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'One','body':'x','published_at':'2023-01-01T00:00:00Z',"
	                  "'tags':['World News','Trade']}");
	must_create(f->s, "{'title':'Two','body':'x','published_at':'2023-01-02T00:00:00Z',"
	                  "'tags':['world-news']}");
	must_create(f->s, "{'title':'Three','body':'x','published_at':'2023-01-03T00:00:00Z',"
	                  "'tags':['Trade']}");
	must_create(f->s, "{'title':'Hidden','body':'x','status':'draft','tags':['world news']}");

	struct store_query q = query(1, 10);
	q.tag = "world-news";
	expect_list(f->s, &q, 2, "two one");
	q.tag = "trade";
	expect_list(f->s, &q, 2, "three one");
	q.per_page = 1;
	q.page = 2;
	expect_list(f->s, &q, 2, "one");
	q = query(1, 10);
	q.tag = "nothing";
	expect_list(f->s, &q, 0, "");
	q.tag = "World News"; /* tags are matched as stored, normalized */
	expect_list(f->s, &q, 0, "");
	q.tag = "world-news";
	q.public_only = false;
	expect_list(f->s, &q, 3, "hidden two one");

	struct article_list l;
	q = query(1, 10);
	q.tag = "world-news";
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.items[1].ntags, 2);
	assert_string_equal(l.items[1].tags[0], "world-news");
	assert_string_equal(l.items[1].tags[1], "trade");
	article_list_cleanup(&l);
}

static void test_search(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Jilin delegation visits Russia','body':'Trade talks.',"
	                  "'published_at':'2023-01-01T00:00:00Z','tags':['world']}");
	must_create(f->s, "{'title':'Weather','summary':'Snow on zebra crossings',"
	                  "'body':'Cold.','published_at':'2023-01-02T00:00:00Z'}");
	must_create(f->s, "{'title':'Sports','body':'The Hunchun team won the caf\\u00e9 final.',"
	                  "'published_at':'2023-01-03T00:00:00Z','tags':['sport']}");
	must_create(f->s, "{'title':'Secret Jilin plans','body':'x','status':'draft'}");

	struct store_query q = query(1, 10);
	q.q = "jilin";
	expect_list(f->s, &q, 1, "jilin-delegation-visits-russia");
	q.public_only = false;
	struct article_list l;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 2);
	assert_int_equal(l.n, 2);
	assert_true(strcmp(l.items[0].slug, "secret-jilin-plans") == 0 ||
	            strcmp(l.items[1].slug, "secret-jilin-plans") == 0);
	article_list_cleanup(&l);
	q.public_only = true;
	q.q = "zebra"; /* a word of the summary only */
	expect_list(f->s, &q, 1, "weather");
	q.q = "hunchun"; /* a word of the body only */
	expect_list(f->s, &q, 1, "sports");
	q.q = "cafe"; /* diacritics do not matter */
	expect_list(f->s, &q, 1, "sports");
	q.q = "CAFÉ";
	expect_list(f->s, &q, 1, "sports");
	q.q = "  JILIN   russia "; /* every word, in any field */
	expect_list(f->s, &q, 1, "jilin-delegation-visits-russia");
	q.q = "jilin trade";
	expect_list(f->s, &q, 1, "jilin-delegation-visits-russia");
	q.q = "jilin weather";
	expect_list(f->s, &q, 0, "");
	q.q = "the";
	expect_list(f->s, &q, 1, "sports");
	q.q = "";
	expect_list(f->s, &q, 0, "");
	q.q = " \t ";
	expect_list(f->s, &q, 0, "");

	/* with a tag */
	q.q = "jilin";
	q.tag = "world";
	expect_list(f->s, &q, 1, "jilin-delegation-visits-russia");
	q.tag = "sport";
	expect_list(f->s, &q, 0, "");
	q.tag = NULL;

	/* pages of results */
	q.public_only = false;
	q.per_page = 1;
	q.page = 3;
	expect_list(f->s, &q, 2, "");
	q.page = 2;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.total, 2);
	article_list_cleanup(&l);
}

/* Search results come by relevance, not by date. */
static void test_search_rank(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Hunchun port reopens','summary':'Hunchun, again.',"
	                  "'body':'Hunchun Hunchun.','published_at':'2023-01-01T00:00:00Z'}");
	must_create(f->s, "{'title':'Regional roundup','published_at':'2023-01-10T00:00:00Z',"
	                  "'body':'Many towns had news this week; among them, in passing, Hunchun, "
	                  "where little happened, and a long list of other places that made the "
	                  "paper for reasons of their own.'}");
	must_create(f->s, "{'title':'Newest','body':'Nothing here.'}");
	struct store_query q = query(1, 10);
	q.q = "hunchun";
	expect_list(f->s, &q, 2, "hunchun-port-reopens regional-roundup");
	q.per_page = 1;
	expect_list(f->s, &q, 2, "hunchun-port-reopens");
	q.page = 2;
	expect_list(f->s, &q, 2, "regional-roundup");
}

static void test_search_hostile(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Jilin and Russia','body':'a b near or not and'}");
	const char *queries[] = {
	    "\"",
	    "\"\"",
	    "\"jilin",
	    "AND",
	    "OR",
	    "NOT",
	    "a OR b",
	    "jilin AND",
	    "NOT jilin",
	    "*",
	    "jilin*",
	    "NEAR(",
	    "NEAR(jilin russia, 2)",
	    "(",
	    ")",
	    "()",
	    "{title}: jilin",
	    "title:jilin",
	    "-jilin",
	    "^jilin",
	    "+",
	    "'",
	    "\\",
	    "%_",
	    "''; DROP TABLE articles; --",
	    "\x01\x02",
	    "\xe5\x90\x89\xe6\x9e\x97",
	    "\xf0\x9f\x98\x80",
	    "a\"b\"c",
	    "jilin \" russia",
	};
	struct store_query q = query(1, 10);
	struct article_list l;
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		q.q = queries[i];
		int rc = store_list(f->s, &q, &l);
		if (rc != 0)
			fail_msg("q=%s: %d", queries[i], rc);
		assert_true(l.n <= l.total);
		article_list_cleanup(&l);
	}
	/* quoted, the words match as words */
	q.q = "jilin AND russia";
	expect_list(f->s, &q, 1, "jilin-and-russia");
	q.q = "NEAR(jilin";
	expect_list(f->s, &q, 0, "");

	/* 10 KB: one word, many words, punctuation, quotes */
	const char *fill[] = {"x", "jilin ", "(*\"^:-) ", "\"", "\xe5\x90\x89"};
	for (size_t i = 0; i < sizeof(fill) / sizeof(fill[0]); i++) {
		struct buf big = BUF_INIT;
		while (big.len < 10240)
			buf_puts(&big, fill[i]);
		q.q = buf_str(&big);
		int rc = store_list(f->s, &q, &l);
		if (rc != 0)
			fail_msg("10 KB of '%s': %d", fill[i], rc);
		article_list_cleanup(&l);
		buf_cleanup(&big);
	}
	/* the database is unharmed */
	assert_int_equal(store_count(f->s, false, NOW), 1);
}

static void expect_fts(const char *q, const char *want)
{
	struct buf b = BUF_INIT;
	store_fts_query(&b, q);
	if (strcmp(buf_str(&b), want) != 0)
		fail_msg("store_fts_query(%s) = [%s], want [%s]", q, buf_str(&b), want);
	buf_cleanup(&b);
}

static void test_fts_query(void **state)
{
	(void)state;
	expect_fts("hello", "\"hello\"");
	expect_fts("hello world", "\"hello\" \"world\"");
	expect_fts("  hello \t\n world\r\n", "\"hello\" \"world\"");
	expect_fts("", "");
	expect_fts(" \t\n\r\f\v", "");
	expect_fts("\"", "\"\"\"\"");
	expect_fts("\"\"", "\"\"\"\"\"\"");
	expect_fts("say \"hi\"", "\"say\" \"\"\"hi\"\"\"");
	expect_fts("a OR b", "\"a\" \"OR\" \"b\"");
	expect_fts("AND", "\"AND\"");
	expect_fts("*", "\"*\"");
	expect_fts("NEAR(a b)", "\"NEAR(a\" \"b)\"");
	expect_fts("title:x -y ^z", "\"title:x\" \"-y\" \"^z\"");
	expect_fts("caf\xc3\xa9 \xe5\x90\x89\xe6\x9e\x97",
	           "\"caf\xc3\xa9\" \"\xe5\x90\x89\xe6\x9e\x97\"");

	/* appends to what is there */
	struct buf b = BUF_INIT;
	buf_puts(&b, "q=");
	store_fts_query(&b, "x y");
	assert_string_equal(buf_str(&b), "q=\"x\" \"y\"");
	buf_cleanup(&b);

	/* at most STORE_SEARCH_WORDS (8) words */
	struct buf in = BUF_INIT, want = BUF_INIT;
	for (int i = 0; i < 40; i++)
		buf_printf(&in, "w%d ", i);
	for (int i = 0; i < STORE_SEARCH_WORDS; i++)
		buf_printf(&want, "%s\"w%d\"", i ? " " : "", i);
	expect_fts(buf_str(&in), buf_str(&want));
	buf_cleanup(&in);
	buf_cleanup(&want);

	/* at most 512 bytes: four quoted words of 100 fit, a fifth does not */
	char word[101];
	memset(word, 'a', 100);
	word[100] = '\0';
	for (int i = 0; i < 5; i++)
		buf_printf(&in, "%s ", word);
	for (int i = 0; i < 4; i++)
		buf_printf(&want, "%s\"%s\"", i ? " " : "", word);
	store_fts_query(&b, buf_str(&in));
	assert_string_equal(buf_str(&b), buf_str(&want));
	assert_true(b.len <= 512);
	buf_cleanup(&b);
	buf_cleanup(&in);
	buf_cleanup(&want);

	/* one word longer than the limit: nothing, so nothing matches */
	char *huge = xcalloc(1, 10241);
	memset(huge, 'x', 10240);
	expect_fts(huge, "");
	free(huge);
}

static void test_export(void **state)
{
	struct fixture *f = *state;
	struct article_list l;
	assert_int_equal(store_export(f->s, &l), 0);
	assert_int_equal(l.n, 0);
	article_list_cleanup(&l);

	must_create(f->s, "{'title':'First','body':'B1','published_at':'2023-01-05T00:00:00Z'}");
	must_create(f->s, "{'title':'Second','body':'B2','status':'draft'}");
	must_create(f->s, "{'title':'Third','body':'B3','published_at':'2030-01-01T00:00:00Z'}");
	must_create(f->s, "{'title':'Fourth','body':'B4','published_at':'2020-01-01T00:00:00Z',"
	                  "'tags':['x']}");
	assert_int_equal(store_delete(f->s, "second"), 0);
	must_create(f->s, "{'title':'Fifth','body':'B5','status':'draft'}");

	assert_int_equal(store_export(f->s, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.total, 4);
	const char *slugs[] = {"first", "third", "fourth", "fifth"};
	const int64_t ids[] = {1, 3, 4, 5};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(l.items[i].id, ids[i]);
		assert_string_equal(l.items[i].slug, slugs[i]);
		assert_true(*l.items[i].body);
		assert_true(*l.items[i].body_html);
	}
	assert_string_equal(l.items[3].status, "draft");
	assert_int_equal(l.items[2].ntags, 1);
	article_list_cleanup(&l);
}

/* Parses each JSON text (' for ") in import mode into list. */
static void build_list(struct article *list, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		build(&list[i], ARTICLE_IMPORT, texts[i]);
}

static void cleanup_list(struct article *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		article_cleanup(&list[i]);
}

static void test_import(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(
	    create_at(f->s, "{'title':'Old x','body':'x','slug':'x'}", NOW - 1000, NULL), 0);
	must_create(f->s, "{'title':'Unrelated','body':'u'}");

	const char *texts[] = {
	    "{'slug':'x','title':'New x','body':'new','tags':['t']}",
	    "{'slug':'y','title':'Y','body':'y'}",
	    "{'title':'Derived Title','body':'d'}",
	    "{'slug':'z','id':50,'title':'Z','body':'z','created_at':'2020-01-01T08:00:00+08:00',"
	    "'updated_at':'2021-01-01T00:00:00Z'}",
	    "{'slug':'w','id':1,'title':'W','body':'w'}", /* id 1 is x's: w gets a new one */
	};
	const size_t n = sizeof(texts) / sizeof(texts[0]);
	struct article list[5];
	size_t failed = 99;
	build_list(list, texts, n);
	uint64_t gen = f->commits;
	assert_int_equal(store_import(f->s, list, n, NOW, &failed), 0);
	assert_true(f->commits > gen);
	cleanup_list(list, n);
	assert_int_equal(store_count(f->s, false, NOW), 6);

	struct article a;
	article_init(&a);
	assert_int_equal(store_get(f->s, "x", false, NOW, &a), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.title, "New x");
	assert_string_equal(a.created_at, "2023-01-12T06:16:20Z"); /* kept from the create */
	assert_string_equal(a.updated_at, "2023-01-12T06:33:00Z");
	assert_int_equal(a.ntags, 1);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "z", false, NOW, &a), 0);
	assert_int_equal(a.id, 50);
	assert_string_equal(a.created_at, "2020-01-01T00:00:00Z");
	assert_string_equal(a.updated_at, "2021-01-01T00:00:00Z");
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "w", false, NOW, &a), 0);
	assert_true(a.id != 1);
	int64_t w_id = a.id;
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "derived-title", false, NOW, &a), 0);
	int64_t derived_id = a.id;
	article_cleanup(&a);

	/* the same records again: updated in place, nothing added */
	build_list(list, texts, n);
	assert_int_equal(store_import(f->s, list, n, NOW + 10, &failed), 0);
	cleanup_list(list, n);
	assert_int_equal(store_count(f->s, false, NOW), 6);
	assert_int_equal(store_get(f->s, "w", false, NOW, &a), 0);
	assert_int_equal(a.id, w_id);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "derived-title", false, NOW, &a), 0);
	assert_int_equal(a.id, derived_id);
	article_cleanup(&a);
	assert_int_equal(store_get(f->s, "x", false, NOW, &a), 0);
	assert_int_equal(a.id, 1);
	assert_string_equal(a.updated_at, "2023-01-12T06:33:10Z");
	article_cleanup(&a);

	/* an empty import is fine */
	assert_int_equal(store_import(f->s, NULL, 0, NOW, &failed), 0);
}

/* ninjs: a story posted again under its uri is the same story, whatever its title says. */
static void test_upsert_by_uri(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Same','body':'x'}");
	struct article a;
	bool created;
	build(&a, ARTICLE_API, "{'title':'Same','body':'first','uri':'urn:x:1'}");
	assert_int_equal(store_upsert(f->s, &a, NOW, &created), 0);
	assert_true(created);
	int64_t id = a.id;
	assert_string_equal(a.slug, "same-2"); /* a derived slug moves on, as for any story */
	article_cleanup(&a);
	uint64_t gen = f->commits;
	build(&a, ARTICLE_API, "{'title':'Changed','body':'second','uri':'urn:x:1'}");
	assert_int_equal(store_upsert(f->s, &a, NOW + 60, &created), 0);
	assert_false(created);
	assert_int_equal(a.id, id);
	assert_string_equal(a.slug, "same-2"); /* its page stays where it was */
	article_cleanup(&a);
	assert_true(f->commits > gen);
	article_init(&a);
	assert_int_equal(store_get(f->s, "same-2", false, NOW + 60, &a), 0);
	assert_string_equal(a.title, "Changed");
	assert_string_equal(a.uri, "urn:x:1");
	article_cleanup(&a);
	assert_int_equal(store_count(f->s, false, NOW + 60), 2);
	/* a new uri is a new story; one with a slug of its own that is taken is refused */
	build(&a, ARTICLE_API, "{'title':'Other','body':'x','uri':'urn:x:2','slug':'same'}");
	assert_int_equal(store_upsert(f->s, &a, NOW, &created), -EEXIST);
	article_cleanup(&a);
	/* without a uri it is the story at its slug */
	build(&a, ARTICLE_API, "{'title':'Same','body':'third','slug':'same'}");
	assert_int_equal(store_upsert(f->s, &a, NOW, &created), 0);
	assert_false(created);
	article_cleanup(&a);
	assert_int_equal(store_count(f->s, false, NOW + 60), 2);
	/* the uri is one story's: another may not take it */
	build(&a, ARTICLE_API, "{'title':'Thief','body':'x','uri':'urn:x:1'}");
	free(a.uri);
	a.uri = xstrdup("urn:x:1");
	assert_int_equal(store_create(f->s, &a, NOW), -EEXIST);
	article_cleanup(&a);
}

static void test_import_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'Original','body':'x','slug':'x'}");
	const char *texts[] = {
	    "{'slug':'new-one','title':'New','body':'n'}",
	    "{'slug':'x','title':'Changed','body':'c'}",
	    "{'slug':'another','title':'Another','body':'a'}",
	};
	struct article list[3];
	for (size_t bad = 0; bad < 3; bad++) {
		build_list(list, texts, 3);
		/* a record the database refuses (article_from_json never makes one: the schema's
		 * CHECK is the last line of defence, and a reliable way to fail mid-import) */
		free(list[bad].status);
		list[bad].status = xstrdup("bogus");
		size_t failed = 99;
		uint64_t gen = f->commits;
		assert_true(store_import(f->s, list, 3, NOW, &failed) < 0);
		assert_int_equal(failed, bad);
		assert_int_equal(f->commits, gen);
		cleanup_list(list, 3);

		assert_int_equal(store_count(f->s, false, NOW), 1);
		struct article a;
		article_init(&a);
		assert_int_equal(store_get(f->s, "new-one", false, NOW, &a), -ENOENT);
		assert_int_equal(store_get(f->s, "another", false, NOW, &a), -ENOENT);
		assert_int_equal(store_get(f->s, "x", false, NOW, &a), 0);
		assert_string_equal(a.title, "Original");
		article_cleanup(&a);
	}
	/* none of the refused records left a word in the index */
	struct store_query q = query(1, 10);
	q.public_only = false;
	q.q = "new";
	expect_list(f->s, &q, 0, "");

	/* and the store still writes afterwards */
	build_list(list, texts, 3);
	size_t failed = 99;
	assert_int_equal(store_import(f->s, list, 3, NOW, &failed), 0);
	cleanup_list(list, 3);
	assert_int_equal(store_count(f->s, false, NOW), 3);
}

/* Export from one database, import into another: the same records, ids and dates. */
static void test_export_import_round_trip(void **state)
{
	struct fixture *f = *state;
	must_create(f->s, "{'title':'One','body':'1','published_at':'2023-01-12T14:33:00+08:00',"
	                  "'editor':'Ye Lijiao','tags':['a','b']}");
	must_create(f->s, "{'title':'\\u5409\\u6797','body':'2','status':'draft'}");
	must_create(f->s, "{'title':'Three','body':'3'}");
	assert_int_equal(store_delete(f->s, "one"), 0);

	struct article_list out;
	assert_int_equal(store_export(f->s, &out), 0);
	struct article *list = xcalloc(out.n, sizeof(*list));
	for (size_t i = 0; i < out.n; i++) {
		json_t *j = article_to_json(&out.items[i], "http://x", "en", true);
		struct article_error err;
		article_init(&list[i]);
		assert_int_equal(article_from_json(j, ARTICLE_IMPORT, NOW + 500, &list[i], &err),
		                 0);
		json_decref(j);
	}
	char *path2 = xasprintf("%s/second.db", f->dir);
	struct store *s2 = open_store(path2);
	size_t failed;
	assert_int_equal(store_import(s2, list, out.n, NOW + 500, &failed), 0);
	cleanup_list(list, out.n);
	free(list);

	struct article_list again;
	assert_int_equal(store_export(s2, &again), 0);
	assert_int_equal(again.n, out.n);
	for (size_t i = 0; i < out.n; i++) {
		struct article *a = &out.items[i], *b = &again.items[i];
		assert_int_equal(b->id, a->id);
		assert_string_equal(b->slug, a->slug);
		assert_string_equal(b->title, a->title);
		assert_string_equal(b->body, a->body);
		assert_string_equal(b->body_html, a->body_html);
		assert_string_equal(b->summary, a->summary);
		assert_string_equal(b->published_at, a->published_at);
		assert_int_equal(b->published_ts, a->published_ts);
		assert_string_equal(b->status, a->status);
		assert_string_equal(b->created_at, a->created_at);
		assert_string_equal(b->updated_at, a->updated_at);
		assert_int_equal(b->ntags, a->ntags);
	}
	assert_string_equal(again.items[0].slug, "article-2");
	article_list_cleanup(&again);
	article_list_cleanup(&out);
	store_close(s2);
	free(path2);
}

static void fill(struct store *s, int n, const char *words)
{
	struct article *list = xcalloc((size_t)n, sizeof(*list));
	for (int i = 0; i < n; i++) {
		char *text = xasprintf("{'title':'Story %d %s','body':'%s %d, and more %s.',"
		                       "'tags':['world'],'published_at':'2022-01-01T00:00:00Z'}",
		                       i, words, words, i, words);
		build(&list[i], ARTICLE_IMPORT, text);
		free(text);
	}
	size_t failed;
	assert_int_equal(store_import(s, list, (size_t)n, NOW, &failed), 0);
	for (int i = 0; i < n; i++)
		article_cleanup(&list[i]);
	free(list);
}

/* SPEC §5: every listing and search runs under a time budget, then stops with -ETIMEDOUT. */
static void test_time_budget(void **state)
{
	struct fixture *f = *state;
	fill(f->s, 1500, "trade delegation border port");
	struct store_query q = query(1, 20);
	q.q = "trade delegation border port";
	struct article_list l;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 1500);
	article_list_cleanup(&l);
	/* a budget far below what ranking 1,500 matches takes */
	struct store_limits limits = {.budget_ms = 1};
	store_set_limits(f->s, &limits);
	assert_int_equal(store_list(f->s, &q, &l), -ETIMEDOUT);
	assert_int_equal(l.n, 0);
	/* the connection works again at once, and cheap reads never had a budget */
	limits.budget_ms = 0;
	store_set_limits(f->s, &limits);
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 1500);
	article_list_cleanup(&l);
	assert_int_equal(store_count(f->s, true, NOW), 1500);
}

/* SPEC §5: every expensive read takes a place of the gate; with none free, -EAGAIN. */
static void test_expensive_reads_gate(void **state)
{
	struct fixture *f = *state;
	fill(f->s, 50, "trade delegation");
	struct gate gate;
	gate_init(&gate, 1, 0);
	struct store_limits limits = {.gate = &gate};
	store_set_limits(f->s, &limits);
	struct store_query q = query(1, 20);
	q.q = "trade";
	struct article_list l;
	assert_int_equal(store_list(f->s, &q, &l), 0);
	assert_int_equal(l.total, 50);
	article_list_cleanup(&l);
	assert_int_equal(gate.taken, 0); /* given back */
	/* another read holds the only place */
	assert_int_equal(gate_enter(&gate), 0);
	assert_int_equal(store_list(f->s, &q, &l), -EAGAIN);
	assert_int_equal(l.n, 0);
	q.q = NULL;
	assert_int_equal(store_list(f->s, &q, &l), -EAGAIN);
	/* a single-article read is not expensive and never waits */
	struct article a;
	article_init(&a);
	assert_int_equal(store_get(f->s, "story-0-trade-delegation", true, NOW, &a), 0);
	article_cleanup(&a);
	gate_leave(&gate);
	assert_int_equal(store_list(f->s, &q, &l), 0);
	article_list_cleanup(&l);
	limits.gate = NULL;
	store_set_limits(f->s, &limits);
	gate_cleanup(&gate);
}

static void test_changed_at_and_counts(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = (int64_t)time(NULL);
	assert_int_equal(store_changed_at(f->s, t0), 0);
	assert_int_equal(store_count_public(f->s, t0, 7), 0);
	must_create(f->s, "{'title':'Now','body':'x','published_at':'2022-01-01T00:00:00Z'}");
	int64_t written = store_changed_at(f->s, t0);
	assert_true(written >= t0 && written <= (int64_t)time(NULL));
	/* counted once for a generation, again for the next */
	assert_int_equal(store_count_public(f->s, t0, 7), 0);
	assert_int_equal(store_count_public(f->s, t0, 8), 1);
	/* a scheduled story moves the content time when its moment comes, with no write */
	char *text =
	    xasprintf("{'title':'Later','body':'x','published_at':'%s'}", "2099-01-01T00:00:00Z");
	must_create(f->s, text);
	free(text);
	int64_t later = 4070908800; /* 2099-01-01T00:00:00Z */
	assert_true(store_changed_at(f->s, later - 1) < later);
	assert_int_equal(store_changed_at(f->s, later + 5), later);
	/* a new process reads the same time from the file */
	store_close(f->s);
	f->s = open_store(f->path);
	assert_int_equal(store_changed_at(f->s, later + 5), later);
	assert_int_equal(store_count_public(f->s, t0, 1), 1);
}

static void test_words_beyond(void **state)
{
	(void)state;
	assert_null(store_words_beyond("", 8));
	assert_null(store_words_beyond("one two", 8));
	assert_null(store_words_beyond(" a b c d e f g h ", 8));
	assert_string_equal(store_words_beyond("a b c d e f g h i j", 8), "i j");
	assert_string_equal(store_words_beyond("a\tb\nc  d", 2), "c  d");
	assert_string_equal(store_words_beyond("x", 0), "x");
}

/* --- the newsroom (SPEC §11), on whichever engine the fixture opened --- */

static json_t *account_json(const char *handle, const char *role)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "handle", handle, "name", handle, "role",
	                 role, "bio", "", "disabled", 0);
}

static void add(struct store *s, const char *handle, const char *role)
{
	json_t *a = account_json(handle, role);
	assert_int_equal(store_account_add(s, NULL, a, NOW), 0);
	json_decref(a);
}

static json_t *revisions_of(struct store *s, const char *slug)
{
	json_t *out = NULL;
	assert_int_equal(store_revisions(s, slug, 0, &out), 0);
	return json_object_get(out, "revisions") ? out : NULL;
}

static void test_revisions_and_renames(void **state)
{
	struct fixture *f = *state;
	int64_t id = must_create(f->s, "{'title':'Versions','body':'First.','tags':['t']}");
	struct article a;
	build(&a, ARTICLE_API, "{'title':'Versions','body':'Second.','slug':'renamed'}");
	assert_int_equal(store_replace(f->s, "versions", &a, NOW + 1), 0);
	article_cleanup(&a);
	/* the old slug is taken, and moved */
	char *current = NULL;
	assert_int_equal(store_slug_moved(f->s, "versions", &current), 0);
	assert_string_equal(current, "renamed");
	free(current);
	assert_int_equal(store_slug_moved(f->s, "renamed", &current), -ENOENT);
	assert_int_equal(create(f->s, "{'title':'x','body':'y','slug':'versions'}", NULL), -EEXIST);
	char *slug = NULL;
	assert_int_equal(create(f->s, "{'title':'Versions','body':'y'}", &slug), 0);
	assert_string_equal(slug, "versions-2");
	free(slug);
	assert_int_equal(store_delete(f->s, "renamed"), 0);
	/* gone: no redirect; its slugs stay taken (its revisions are found under them) */
	assert_int_equal(store_slug_moved(f->s, "versions", &current), -ENOENT);
	assert_int_equal(create(f->s, "{'title':'x','body':'y','slug':'renamed'}", NULL), -EEXIST);
	assert_int_equal(create(f->s, "{'title':'Renamed','body':'y'}", &slug), 0);
	assert_string_equal(slug, "renamed-2");
	free(slug);
	json_t *revs = revisions_of(f->s, "renamed");
	assert_non_null(revs);
	json_t *list = json_object_get(revs, "revisions");
	assert_int_equal(json_array_size(list), 3);
	const char *actions[] = {"article.delete", "article.replace", "article.create"};
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(list, i);
		assert_int_equal(json_integer_value(json_object_get(r, "n")), 3 - (int)i);
		assert_string_equal(json_string_value(json_object_get(r, "action")), actions[i]);
		assert_string_equal(json_string_value(json_object_get(r, "account")), "system");
	}
	assert_int_equal(json_integer_value(json_object_get(revs, "id")), id);
	json_decref(revs);
	json_t *one = NULL;
	assert_int_equal(store_revisions(f->s, "renamed", 1, &one), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(one, "article"), "body")), "First.");
	json_decref(one);
	assert_int_equal(store_revisions(f->s, "renamed", 9, &one), -ENOENT);
	assert_int_equal(store_revisions(f->s, "never", 0, &one), -ENOENT);
	/* restore brings it back under its id, slug of the revision and all */
	article_init(&a);
	assert_int_equal(store_restore_as(f->s, NULL, "renamed", 1, NOW + 5, &a), 0);
	assert_int_equal(a.id, id);
	assert_string_equal(a.slug, "versions");
	assert_string_equal(a.body, "First.");
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "versions", true, NOW + 10, &a), 0);
	assert_int_equal(a.ntags, 1);
	article_cleanup(&a);
	revs = revisions_of(f->s, "versions");
	list = json_object_get(revs, "revisions");
	assert_int_equal(json_array_size(list), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "restored")),
	                 1);
	json_decref(revs);
	/* ids are never given again, even a deleted story's */
	assert_int_equal(store_delete(f->s, "versions-2"), 0);
	int64_t next = must_create(f->s, "{'title':'Next','body':'x'}");
	assert_true(next > id + 1);
}

/* A contributor rule for the tests: nothing but drafts. */
static int drafts_only(const struct store_actor *who, const struct article *old,
                       struct article *new_, char *why, size_t why_len)
{
	if (!new_ || strcmp(new_->status, "draft") != 0) {
		snprintf(why, why_len, "drafts only");
		return -EACCES;
	}
	return 0;
}

static void test_authors_and_audit(void **state)
{
	struct fixture *f = *state;
	add(f->s, "alice", "contributor");
	add(f->s, "bob", "editor");
	json_t *dup = account_json("alice", "editor");
	assert_int_equal(store_account_add(f->s, NULL, dup, NOW), -EEXIST);
	json_decref(dup);
	struct store_actor alice = {.account = "alice",
	                            .is_account = true,
	                            .token_id = 7,
	                            .client = "192.0.2.1",
	                            .request_id = "r1",
	                            .may_write = drafts_only};
	/* refused by the rule: nothing is stored, no entry written */
	struct article a;
	build(&a, ARTICLE_API, "{'title':'Out','body':'x'}");
	assert_int_equal(store_create_as(f->s, &alice, &a, NOW), -EACCES);
	assert_string_equal(alice.why, "drafts only");
	article_cleanup(&a);
	/* the writer is the default author */
	build(&a, ARTICLE_API, "{'title':'Hers','body':'x','status':'draft','tags':['trade']}");
	assert_int_equal(store_create_as(f->s, &alice, &a, NOW), 0);
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "hers", false, NOW, &a), 0);
	assert_int_equal(a.nauthors, 1);
	assert_string_equal(a.authors[0], "alice");
	assert_int_equal(a.ntags, 1); /* authors never show as tags */
	assert_string_equal(a.tags[0], "trade");
	article_cleanup(&a);
	/* an unknown handle names itself */
	build(&a, ARTICLE_API, "{'title':'Theirs','body':'x','authors':['bob','nobody']}");
	struct store_actor sys = {.account = "cli"};
	assert_int_equal(store_create_as(f->s, &sys, &a, NOW), -EINVAL);
	assert_string_equal(sys.why, "authors[1]: no account 'nobody'");
	article_cleanup(&a);
	build(&a, ARTICLE_API,
	      "{'title':'Theirs','body':'x','authors':['bob','alice'],'corrections':[{'at':"
	      "'2023-01-12T14:33:00+08:00','text':'Fixed.'}]}");
	assert_int_equal(store_create_as(f->s, &sys, &a, NOW), 0);
	article_cleanup(&a);
	/* listed by author, from the same index as tags */
	struct store_query q = query(1, 10);
	q.author = "alice";
	expect_list(f->s, &q, 1, "theirs"); /* public only: her draft is not listed */
	q.public_only = false;
	expect_list(f->s, &q, 2, "theirs hers");
	q.author = "bob";
	expect_list(f->s, &q, 1, "theirs");
	/* corrections read back, and a replace without them keeps them */
	build(&a, ARTICLE_API, "{'title':'Theirs','body':'y'}");
	assert_int_equal(store_replace_as(f->s, &sys, "theirs", &a, NOW + 1), 0);
	article_cleanup(&a);
	article_init(&a);
	assert_int_equal(store_get(f->s, "theirs", true, NOW + 2, &a), 0);
	assert_int_equal(json_array_size(a.corrections), 1);
	assert_int_equal(a.nauthors, 2);
	assert_int_equal(article_corrected_ts(&a), NOW);
	article_cleanup(&a);
	/* the audit: newest first, who, how and from where */
	json_t *log = NULL;
	assert_int_equal(store_audit(f->s, 1, 2, &log), 0);
	assert_int_equal(json_integer_value(json_object_get(log, "total")), 5);
	json_t *entries = json_object_get(log, "entries");
	assert_int_equal(json_array_size(entries), 2);
	json_t *last = json_array_get(entries, 0);
	assert_string_equal(json_string_value(json_object_get(last, "action")), "article.replace");
	assert_string_equal(json_string_value(json_object_get(last, "object")), "article/theirs");
	json_t *hers = NULL;
	json_decref(log);
	assert_int_equal(store_audit(f->s, 3, 1, &log), 0);
	hers = json_array_get(json_object_get(log, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(hers, "actor")), "alice");
	assert_int_equal(json_integer_value(json_object_get(hers, "token_id")), 7);
	assert_string_equal(json_string_value(json_object_get(hers, "client")), "192.0.2.1");
	assert_string_equal(json_string_value(json_object_get(hers, "request_id")), "r1");
	json_decref(log);
	/* accounts by handle, paged */
	json_t *users = NULL;
	assert_int_equal(store_accounts(f->s, 2, 1, &users), 0);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(users, "users"), 0), "handle")),
	                    "bob");
	json_decref(users);
}

static void test_tokens_and_secret(void **state)
{
	struct fixture *f = *state;
	add(f->s, "alice", "editor");
	assert_int_equal(store_has_tokens(f->s), 0);
	json_t *t = NULL, *acct = NULL;
	assert_int_equal(store_token_add(f->s, NULL, "nobody", "ab", "n", "gz_x", 0, NOW, &t),
	                 -ENOENT);
	assert_int_equal(
	    store_token_add(f->s, NULL, "alice", "ab12", "laptop", "gz_abcde", NOW + 60, NOW, &t),
	    0);
	int64_t id = json_integer_value(json_object_get(t, "id"));
	json_decref(t);
	assert_int_equal(store_has_tokens(f->s), 1);
	assert_int_equal(store_token_find(f->s, "ab12", &t, &acct), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "id")), id);
	assert_string_equal(json_string_value(json_object_get(acct, "handle")), "alice");
	assert_true(json_is_null(json_object_get(t, "revoked_at")));
	json_decref(t);
	json_decref(acct);
	assert_int_equal(store_token_find(f->s, "ffff", &t, &acct), -ENOENT);
	uint64_t commits = f->commits;
	assert_int_equal(store_token_used(f->s, id, NOW + 5), 0);
	assert_int_equal(f->commits, commits); /* bookkeeping: the content did not move */
	assert_int_equal(store_token_revoke(f->s, NULL, id, NOW + 6), 0);
	assert_int_equal(store_token_revoke(f->s, NULL, id, NOW + 7), -EALREADY);
	assert_int_equal(store_token_revoke(f->s, NULL, 999, NOW + 7), -ENOENT);
	json_t *list = NULL;
	assert_int_equal(store_tokens(f->s, &list), 0);
	json_t *only = json_array_get(json_object_get(list, "tokens"), 0);
	assert_non_null(json_string_value(json_object_get(only, "revoked_at")));
	assert_non_null(json_string_value(json_object_get(only, "last_used_at")));
	json_decref(list);
	/* the links' key: made once, the same until rotated */
	char *k1 = NULL, *k2 = NULL, *k3 = NULL;
	assert_int_equal(store_secret(f->s, &k1), 0);
	assert_int_equal(store_secret(f->s, &k2), 0);
	assert_string_equal(k1, k2);
	assert_int_equal(strlen(k1), 64);
	assert_int_equal(store_secret_rotate(f->s, NULL), 0);
	assert_int_equal(store_secret(f->s, &k3), 0);
	assert_string_not_equal(k1, k3);
	free(k1);
	free(k2);
	free(k3);
}

static void test_newsroom_export_import(void **state)
{
	struct fixture *f = *state;
	add(f->s, "alice", "editor");
	json_t *pw = json_pack("{s:s}", "password", "$argon2id$fake");
	assert_int_equal(store_account_update(f->s, NULL, "alice", pw, NOW, NULL), 0);
	json_decref(pw);
	struct article a;
	build(&a, ARTICLE_API, "{'title':'Carried','body':'x','authors':['alice']}");
	assert_int_equal(store_create(f->s, &a, NOW), 0);
	article_cleanup(&a);
	build(&a, ARTICLE_API, "{'title':'Carried','body':'y'}");
	assert_int_equal(store_replace(f->s, "carried", &a, NOW + 1), 0);
	article_cleanup(&a);
	json_t *newsroom = NULL;
	assert_int_equal(store_export_newsroom(f->s, false, &newsroom), 0);
	char *text = json_dumps(newsroom, 0);
	assert_null(strstr(text, "argon2")); /* never a password */
	free(text);
	assert_int_equal(json_array_size(json_object_get(newsroom, "accounts")), 1);
	assert_int_equal(json_array_size(json_object_get(newsroom, "revisions")), 2);
	struct article_list all;
	assert_int_equal(store_export(f->s, &all), 0);
	/* into a second store of the same engine */
	struct fixture g = {0};
	void *gs = &g;
	setup(&gs);
	struct fixture *h = gs;
	size_t failed = 0;
	assert_int_equal(
	    store_import_all(h->s, all.items, all.n, newsroom, NOW + 2, &failed, NULL, 0), 0);
	json_t *revs = NULL;
	assert_int_equal(store_revisions(h->s, "carried", 0, &revs), 0);
	assert_int_equal(json_array_size(json_object_get(revs, "revisions")), 3);
	json_decref(revs);
	json_t *acct = NULL;
	assert_int_equal(store_account_get(h->s, "alice", &acct), 0);
	assert_null(json_object_get(acct, "password"));
	json_decref(acct);
	article_list_cleanup(&all);
	json_decref(newsroom);
	teardown(&gs);
}

/* The rows of due events, claimed: their kinds and events, in order. */
static size_t claim_events(struct store *s, int64_t at_ms, char out[][40], size_t max)
{
	struct store_outbox_rows rows;
	assert_int_equal(store_outbox_claim(s, at_ms, 60000, 100, &rows), 0);
	size_t n = 0;
	for (size_t i = 0; i < rows.n && n < max; i++) {
		json_t *doc = json_loads(rows.items[i].doc, 0, NULL);
		const char *ev =
		    json_string_value(json_object_get(json_object_get(doc, "event"), "event"));
		snprintf(out[n++], 40, "%s:%s", rows.items[i].kind, ev ? ev : "-");
		json_decref(doc);
		/* settled away at once, as a delivery would */
		struct store_settle x = {.row = rows.items[i].id,
		                         .lease_ms = rows.items[i].lease_ms};
		assert_int_equal(store_outbox_settle(s, &x, 1, NOW), 0);
	}
	store_outbox_rows_cleanup(&rows);
	return n;
}

static void test_outbox(void **state)
{
	struct fixture *f = *state;
	struct store_outbound ob = {"https://news.example.org", "en", false, true};
	store_set_outbound(f->s, &ob);
	json_t *hook =
	    json_pack("{s:s, s:[s, s, s, s], s:s}", "url", "https://hooks.example.org/", "events",
	              "article.published", "article.updated", "article.unpublished",
	              "article.deleted", "secret", "0123456789abcdef");
	assert_int_equal(store_webhook_add(f->s, NULL, hook, NOW), 0);
	json_decref(hook);
	char got[8][40];
	int64_t ms = store_clock_ms();
	/* a draft: nothing anywhere */
	assert_int_equal(create(f->s, "{'title': 'Quiet', 'body': 'x', 'status': 'draft'}", NULL),
	                 0);
	assert_int_equal(store_outbox_backlog(f->s), 0);
	/* published: the event and the purge, and the purge again two seconds later */
	assert_int_equal(create(f->s, "{'title': 'Loud', 'body': 'x', 'tags': ['port']}", NULL), 0);
	assert_int_equal(store_outbox_backlog(f->s), 3);
	assert_int_equal(claim_events(f->s, ms + 1000, got, 8), 2);
	assert_string_equal(got[0], "webhook:article.published");
	assert_string_equal(got[1], "purge:-");
	assert_int_equal(claim_events(f->s, ms + 1000, got, 8), 0); /* the second purge waits */
	assert_int_equal(claim_events(f->s, ms + 1000 + STORE_PURGE_AGAIN_MS, got, 8), 1);
	/* a claimed row is nobody else's until its lease ends, then it is due again */
	struct article a;
	build(&a, ARTICLE_API, "{'title': 'Loud, edited', 'body': 'x', 'tags': ['port']}");
	assert_int_equal(store_replace(f->s, "loud", &a, NOW), 0);
	article_cleanup(&a);
	struct store_outbox_rows rows, again;
	assert_int_equal(store_outbox_claim(f->s, ms + 5000, 60000, 1, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_int_equal(store_outbox_claim(f->s, ms + 5000, 60000, 100, &again), 0);
	/* the other rows (its two purges), not the one held */
	assert_int_equal(again.n, 2);
	assert_true(again.items[0].id != rows.items[0].id && again.items[1].id != rows.items[0].id);
	struct store_settle back[3] = {
	    {.row = rows.items[0].id,
	     .lease_ms = rows.items[0].lease_ms,
	     .retry = true,
	     .due_ms = ms + 7000,
	     .attempts = 1},
	    {.row = again.items[0].id, .lease_ms = again.items[0].lease_ms},
	    {.row = again.items[1].id, .lease_ms = again.items[1].lease_ms}};
	assert_int_equal(store_outbox_settle(f->s, back, 3, NOW), 0);
	store_outbox_rows_cleanup(&again);
	assert_int_equal(store_outbox_claim(f->s, ms + 6000, 60000, 100, &again), 0);
	assert_int_equal(again.n, 0); /* not yet due again */
	store_outbox_rows_cleanup(&again);
	assert_int_equal(store_outbox_claim(f->s, ms + 7000, 60000, 100, &again), 0);
	assert_int_equal(again.n, 1);
	assert_int_equal(again.items[0].id, rows.items[0].id);
	assert_int_equal(again.items[0].attempts, 1);
	assert_string_equal(again.items[0].kind, "webhook");
	/* a settle under an old claim changes nothing: the row was claimed again since */
	struct store_settle stale = {.row = again.items[0].id, .lease_ms = rows.items[0].lease_ms};
	assert_int_equal(store_outbox_settle(f->s, &stale, 1, NOW), 0);
	assert_int_equal(store_outbox_backlog(f->s), 1);
	struct store_settle done = {.row = again.items[0].id, .lease_ms = again.items[0].lease_ms};
	assert_int_equal(store_outbox_settle(f->s, &done, 1, NOW), 0);
	store_outbox_rows_cleanup(&rows);
	store_outbox_rows_cleanup(&again);
	assert_int_equal(store_outbox_backlog(f->s), 0);
	/* unpublished, then deleted while a draft: one event */
	build(&a, ARTICLE_API, "{'title': 'Loud, edited', 'body': 'x', 'status': 'draft'}");
	assert_int_equal(store_replace(f->s, "loud", &a, NOW), 0);
	article_cleanup(&a);
	assert_int_equal(store_delete_as(f->s, NULL, "loud", NOW), 0);
	assert_int_equal(claim_events(f->s, ms + 60000, got, 8), 3);
	assert_string_equal(got[0], "webhook:article.unpublished");
	assert_int_equal(store_outbox_backlog(f->s), 0);
	/* scheduled: due at its time, moved with it, cancelled by a draft */
	int64_t at = ms / 1000 + 3600;
	struct buf when = BUF_INIT, text = BUF_INIT;
	rfc3339_format_utc(&when, at);
	buf_printf(&text, "{'title': 'Later', 'body': 'x', 'published_at': '%s'}", buf_str(&when));
	assert_int_equal(create(f->s, buf_str(&text), NULL), 0);
	assert_int_equal(claim_events(f->s, ms + 60000, got, 8), 0);
	buf_reset(&when);
	buf_reset(&text);
	rfc3339_format_utc(&when, at + 60);
	buf_printf(&text, "{'title': 'Later', 'body': 'x', 'published_at': '%s'}", buf_str(&when));
	build(&a, ARTICLE_API, buf_str(&text));
	assert_int_equal(store_replace(f->s, "later", &a, NOW), 0);
	article_cleanup(&a);
	assert_int_equal(claim_events(f->s, at * 1000 + 30000, got, 8), 0); /* its old time */
	assert_int_equal(claim_events(f->s, (at + 60) * 1000, got, 8), 1);
	assert_string_equal(got[0], "webhook:article.published");
	assert_int_equal(claim_events(f->s, (at + 64) * 1000, got, 8), 2); /* its purges */
	assert_int_equal(store_outbox_backlog(f->s), 0);
	/* a disabled webhook: the settle turns it off, and it gets nothing more */
	struct store_settle off = {.row = 0, .webhook = "1", .disable = "answered 410"};
	assert_int_equal(store_outbox_settle(f->s, &off, 1, NOW), 0);
	json_t *w = NULL;
	assert_int_equal(store_webhook_get(f->s, 1, &w), 0);
	assert_true(json_is_false(json_object_get(w, "active")));
	assert_string_equal(json_string_value(json_object_get(w, "disabled_reason")),
	                    "answered 410");
	json_decref(w);
	assert_int_equal(create(f->s, "{'title': 'Unheard', 'body': 'x'}", NULL), 0);
	assert_int_equal(claim_events(f->s, ms + 60000, got, 8), 2);
	assert_string_equal(got[0], "purge:-");
	assert_string_equal(got[1], "purge:-");

	/* 20 tags of 50 Chinese characters: their keys (9 bytes a character) in several purges,
	 * each a header Varnish takes */
	struct buf tags = BUF_INIT;
	buf_puts(&tags, "{'title': 'Many tags', 'body': 'x', 'tags': [");
	for (int i = 0; i < 20; i++) {
		buf_printf(&tags, "%s'%c", i ? ", " : "", 'a' + i);
		for (int j = 0; j < 49; j++)
			buf_puts(&tags, "经");
		buf_putc(&tags, '\'');
	}
	buf_puts(&tags, "]}");
	assert_int_equal(create(f->s, buf_str(&tags), NULL), 0);
	buf_cleanup(&tags);
	struct store_outbox_rows parts;
	assert_int_equal(store_outbox_claim(f->s, ms + 60000, 60000, 100, &parts), 0);
	assert_true(parts.n >= 6 && parts.n % 2 == 0);
	size_t tag_keys = 0;
	for (size_t i = 0; i < parts.n; i++) {
		json_t *doc = json_loads(parts.items[i].doc, 0, NULL);
		const char *keys = json_string_value(json_object_get(doc, "keys"));
		assert_non_null(keys);
		assert_true(strlen(keys) <= STORE_PURGE_HEADER_MAX);
		assert_true(surrogate_valid(keys));
		for (const char *k = strstr(keys, "tag-"); k; k = strstr(k + 1, "tag-"))
			tag_keys++;
		json_decref(doc);
	}
	assert_int_equal(tag_keys, 40); /* every tag in the purge and in its second */
	for (size_t i = 0; i < parts.n; i++) {
		struct store_settle x = {.row = parts.items[i].id,
		                         .lease_ms = parts.items[i].lease_ms};
		assert_int_equal(store_outbox_settle(f->s, &x, 1, NOW), 0);
	}
	store_outbox_rows_cleanup(&parts);

	/* on the clock: a scheduled story's publication came and is being retried; an edit after
	 * its time keeps that retry and its purges, and fires its own one event */
	json_t *on = json_pack("{s:b}", "active", 1);
	assert_int_equal(store_webhook_update(f->s, NULL, 1, on, NOW, NULL), 0);
	json_decref(on);
	int64_t t = time(NULL) + 1;
	buf_reset(&when);
	buf_reset(&text);
	rfc3339_format_utc(&when, t);
	buf_printf(&text, "{'title': 'On time', 'body': 'x', 'published_at': '%s'}",
	           buf_str(&when));
	assert_int_equal(create_at(f->s, buf_str(&text), time(NULL), NULL), 0);
	assert_int_equal(store_outbox_claim(f->s, t * 1000, 60000, 1, &parts), 0);
	assert_int_equal(parts.n, 1);
	assert_string_equal(parts.items[0].kind, "webhook");
	struct store_settle retry = {.row = parts.items[0].id,
	                             .lease_ms = parts.items[0].lease_ms,
	                             .retry = true,
	                             .due_ms = t * 1000 + 10000,
	                             .attempts = 1};
	assert_int_equal(store_outbox_settle(f->s, &retry, 1, NOW), 0);
	store_outbox_rows_cleanup(&parts);
	while (time(NULL) <= t)
		usleep(50000);
	buf_reset(&text);
	buf_printf(&text, "{'title': 'On time', 'body': 'y', 'published_at': '%s'}",
	           buf_str(&when));
	build(&a, ARTICLE_API, buf_str(&text));
	assert_int_equal(store_replace(f->s, "on-time", &a, time(NULL)), 0);
	article_cleanup(&a);
	size_t n = claim_events(f->s, (t + 3600) * 1000, got, 8);
	size_t published = 0, updated = 0, purges = 0;
	for (size_t i = 0; i < n; i++) {
		published += strcmp(got[i], "webhook:article.published") == 0;
		updated += strcmp(got[i], "webhook:article.updated") == 0;
		purges += strcmp(got[i], "purge:-") == 0;
	}
	assert_int_equal(published, 1); /* the retry, never a second one */
	assert_int_equal(updated, 1);
	assert_int_equal(purges, 4); /* the publication's two, the edit's two */
	buf_cleanup(&when);
	buf_cleanup(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slugs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_visibility, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_rank, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_hostile, setup, teardown),
	    cmocka_unit_test(test_fts_query),
	    cmocka_unit_test_setup_teardown(test_export, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upsert_by_uri, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_import_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expensive_reads_gate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changed_at_and_counts, setup, teardown),
	    cmocka_unit_test(test_words_beyond),
	    cmocka_unit_test_setup_teardown(test_revisions_and_renames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authors_and_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens_and_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newsroom_export_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
