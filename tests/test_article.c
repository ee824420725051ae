/* test_article.c - the article record of SPEC §4: every input rule, slugs, summaries, HTML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "article.h"
#include "buf.h"
#include "mem.h"
#include "testutil.h"

#define NOW      1673505180 /* 2023-01-12T06:33:00Z */
#define ELLIPSIS "\xe2\x80\xa6"

static json_t *load(const char *text)
{
	return load_json(text);
}

/* Runs article_from_json on in (and takes the reference); returns its result. */
static int parse(json_t *in, enum article_mode mode, struct article *a, struct article_error *err)
{
	article_init(a);
	memset(err, 0, sizeof(*err));
	int rc = article_from_json(in, mode, NOW, a, err);
	json_decref(in);
	return rc;
}

/* n copies of the UTF-8 character (or string) unit. */
static char *repeat(const char *unit, size_t n)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, unit);
	return buf_steal(&b, NULL);
}

/* A valid input with one more member set; takes the reference to value. */
static json_t *with(const char *key, json_t *value)
{
	json_t *in = json_pack("{s:s, s:s}", "title", "A title", "body", "A body.");
	json_object_set_new(in, key, value);
	return in;
}

struct rule {
	const char *json;
	enum article_mode mode;
	const char *field; /* NULL: valid */
};

static const struct rule rules[] = {
    /* valid inputs */
    {"{'title':'Hello','body':'Text'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','slug':'hello-2023','summary':'S','status':'draft',"
     "'published_at':'2023-01-12T14:33:00+08:00','source':'','editor':'Ye Lijiao',"
     "'author':'A. Writer','tags':['World','Economy']}",
     ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','slug':'','summary':'','tags':[]}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','slug':null,'summary':null,'published_at':null,"
     "'status':null,'source':null,'editor':null,'author':null,'tags':null}",
     ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','status':'published'}", ARTICLE_API, NULL},
    {"{'title':'Caf\\u00e9 \\u4e2d\\u6587 \\ud83d\\ude00','body':'Text'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Line\\nwith\\ttab\\r\\n'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','id':7,'url':'http://x/articles/y','body_html':'<p>',"
     "'created_at':'2023-01-12T14:33:00+08:00','updated_at':'2023-01-12T06:33:00Z'}",
     ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','id':7,'created_at':'2023-01-12T14:33:00+08:00'}",
     ARTICLE_IMPORT, NULL},
    {"{'title':'Hello','body':'Text','id':9007199254740991}", ARTICLE_IMPORT, NULL},

    /* not an object */
    {"[]", ARTICLE_API, ""},
    {"'title'", ARTICLE_API, ""},
    {"null", ARTICLE_API, ""},

    /* title */
    {"{}", ARTICLE_API, "title"},
    {"{'body':'Text'}", ARTICLE_API, "title"},
    {"{'title':null,'body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'  \\t\\n ','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':5,'body':'Text'}", ARTICLE_API, "title"},
    {"{'title':true,'body':'Text'}", ARTICLE_API, "title"},
    {"{'title':['a'],'body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\u0001b','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\u0085b','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\u007fb','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\u009fb','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\nb','body':'Text'}", ARTICLE_API, "title"},
    {"{'title':'a\\tb','body':'Text'}", ARTICLE_API, "title"},

    /* body */
    {"{'title':'Hello'}", ARTICLE_API, "body"},
    {"{'title':'Hello','body':null}", ARTICLE_API, "body"},
    {"{'title':'Hello','body':''}", ARTICLE_API, "body"},
    {"{'title':'Hello','body':' \\n\\t '}", ARTICLE_API, "body"},
    {"{'title':'Hello','body':5}", ARTICLE_API, "body"},
    {"{'title':'Hello','body':'a\\u0007b'}", ARTICLE_API, "body"},

    /* slug */
    {"{'title':'Hello','body':'Text','slug':'Hello'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'-hello'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'hello-'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'hello--world'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'hello_world'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'hello world'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'hello.html'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'a/b'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'-'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':'caf\\u00e9'}", ARTICLE_API, "slug"},
    {"{'title':'Hello','body':'Text','slug':5}", ARTICLE_API, "slug"},

    /* summary */
    {"{'title':'Hello','body':'Text','summary':5}", ARTICLE_API, "summary"},
    {"{'title':'Hello','body':'Text','summary':'a\\u0001'}", ARTICLE_API, "summary"},

    /* published_at */
    {"{'title':'Hello','body':'Text','published_at':'2023-01-12 14:33'}", ARTICLE_API,
     "published_at"},
    {"{'title':'Hello','body':'Text','published_at':'2023-01-12T14:33:00'}", ARTICLE_API,
     "published_at"},
    {"{'title':'Hello','body':'Text','published_at':'2023-02-30T14:33:00Z'}", ARTICLE_API,
     "published_at"},
    {"{'title':'Hello','body':'Text','published_at':'2023-01-12'}", ARTICLE_API, "published_at"},
    {"{'title':'Hello','body':'Text','published_at':'yesterday'}", ARTICLE_API, "published_at"},
    {"{'title':'Hello','body':'Text','published_at':''}", ARTICLE_API, "published_at"},
    {"{'title':'Hello','body':'Text','published_at':1673505180}", ARTICLE_API, "published_at"},

    /* status */
    {"{'title':'Hello','body':'Text','status':'Published'}", ARTICLE_API, "status"},
    {"{'title':'Hello','body':'Text','status':'deleted'}", ARTICLE_API, "status"},
    {"{'title':'Hello','body':'Text','status':''}", ARTICLE_API, "status"},
    {"{'title':'Hello','body':'Text','status':true}", ARTICLE_API, "status"},

    /* source, editor, author */
    {"{'title':'Hello','body':'Text','source':5}", ARTICLE_API, "source"},
    {"{'title':'Hello','body':'Text','editor':['Ye']}", ARTICLE_API, "editor"},
    {"{'title':'Hello','body':'Text','author':{}}", ARTICLE_API, "author"},
    {"{'title':'Hello','body':'Text','editor':'Ye\\u0001Lijiao'}", ARTICLE_API, "editor"},
    {"{'title':'Hello','body':'Text','editor':'Ye\\u0085Lijiao'}", ARTICLE_API, "editor"},
    {"{'title':'Hello','body':'Text','source':'a\\nb'}", ARTICLE_API, "source"},
    {"{'title':'Hello','body':'Text','author':'a\\u001bb'}", ARTICLE_API, "author"},

    /* tags */
    {"{'title':'Hello','body':'Text','tags':'x'}", ARTICLE_API, "tags"},
    {"{'title':'Hello','body':'Text','tags':{'a':1}}", ARTICLE_API, "tags"},
    {"{'title':'Hello','body':'Text','tags':5}", ARTICLE_API, "tags"},
    {"{'title':'Hello','body':'Text','tags':[5]}", ARTICLE_API, "tags[0]"},
    {"{'title':'Hello','body':'Text','tags':['ok',null]}", ARTICLE_API, "tags[1]"},
    {"{'title':'Hello','body':'Text','tags':['ok',['x']]}", ARTICLE_API, "tags[1]"},
    {"{'title':'Hello','body':'Text','tags':['']}", ARTICLE_API, "tags[0]"},
    {"{'title':'Hello','body':'Text','tags':['a','   ']}", ARTICLE_API, "tags[1]"},
    {"{'title':'Hello','body':'Text','tags':['!!!']}", ARTICLE_API, "tags[0]"},
    {"{'title':'Hello','body':'Text','tags':['\\u4e2d\\u6587']}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','tags':['\\ud83c\\udf89']}", ARTICLE_API, "tags[0]"},
    {"{'title':'Hello','body':'Text','tags':['\\u00ad\\u200d']}", ARTICLE_API, "tags[0]"},

    /* language and uri */
    {"{'title':'Hello','body':'Text','language':'zh-Hans'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','language':''}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','language':'Chinese'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','language':'zh_CN'}", ARTICLE_API, "language"},
    {"{'title':'Hello','body':'Text','language':'english-languages'}", ARTICLE_API, "language"},
    {"{'title':'Hello','body':'Text','language':5}", ARTICLE_API, "language"},
    {"{'title':'Hello','body':'Text','uri':'urn:newsml:example.org:1'}", ARTICLE_API, NULL},
    {"{'title':'Hello','body':'Text','uri':'no scheme'}", ARTICLE_API, "uri"},
    {"{'title':'Hello','body':'Text','uri':'https://a.example/with space'}", ARTICLE_API, "uri"},
    {"{'title':'Hello','body':'Text','uri':'1http://x'}", ARTICLE_API, "uri"},
    {"{'title':'Hello','body':'Text','uri':'urn:'}", ARTICLE_API, "uri"},
    {"{'title':'Hello','body':'Text','uri':['x']}", ARTICLE_API, "uri"},

    /* unknown fields, named */
    {"{'title':'Hello','body':'Text','titel':'x'}", ARTICLE_API, "titel"},
    {"{'title':'Hello','body':'Text','Title':'x'}", ARTICLE_API, "Title"},
    {"{'title':'Hello','body':'Text','tag':['x']}", ARTICLE_API, "tag"},
    {"{'title':'Hello','body':'Text','published':true}", ARTICLE_IMPORT, "published"},
    /* a name too long for the error is cut between characters: the 422 is JSON */
    {"{'title':'Hello','body':'Text',"
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\u00e9':1}",
     ARTICLE_API, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},

    /* server-made fields that are present must still be what they claim */
    {"{'title':'Hello','body':'Text','id':'7'}", ARTICLE_IMPORT, "id"},
    {"{'title':'Hello','body':'Text','id':0}", ARTICLE_IMPORT, "id"},
    {"{'title':'Hello','body':'Text','id':-3}", ARTICLE_IMPORT, "id"},
    {"{'title':'Hello','body':'Text','id':1.5}", ARTICLE_IMPORT, "id"},
    /* past 2^53 - 1: JSON readers would lose digits, and the next id could overflow */
    {"{'title':'Hello','body':'Text','id':9007199254740992}", ARTICLE_IMPORT, "id"},
    {"{'title':'Hello','body':'Text','id':9223372036854775807}", ARTICLE_IMPORT, "id"},
    {"{'title':'Hello','body':'Text','created_at':'yesterday'}", ARTICLE_IMPORT, "created_at"},
    {"{'title':'Hello','body':'Text','updated_at':5}", ARTICLE_IMPORT, "updated_at"},
    {"{'title':'Hello','body':'Text','url':5}", ARTICLE_IMPORT, "url"},
    {"{'title':'Hello','body':'Text','body_html':false}", ARTICLE_IMPORT, "body_html"},
};

static void check(const char *what, json_t *in, enum article_mode mode, const char *field)
{
	struct article a;
	struct article_error err;
	int rc = parse(in, mode, &a, &err);
	if (!field && rc != 0)
		fail_msg("%s: refused on %s: %s", what, err.field, err.message);
	if (field && rc != -1)
		fail_msg("%s: accepted, expected an error on %s", what, field);
	if (field && strcmp(err.field, field) != 0)
		fail_msg("%s: error on '%s' (%s), expected '%s'", what, err.field, err.message,
		         field);
	if (field && strlen(err.message) == 0)
		fail_msg("%s: no message", what);
	if (!field) {
		/* a valid record has every string filled */
		assert_non_null(a.title);
		assert_non_null(a.body);
		assert_non_null(a.body_html);
		assert_non_null(a.slug);
		assert_non_null(a.summary);
		assert_non_null(a.published_at);
		assert_non_null(a.status);
		assert_non_null(a.source);
		assert_non_null(a.editor);
		assert_non_null(a.author);
		assert_non_null(a.created_at);
		assert_non_null(a.updated_at);
	}
	article_cleanup(&a);
}

static void test_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		check(rules[i].json, load(rules[i].json), rules[i].mode, rules[i].field);
}

/* Lengths count characters, not bytes, at each limit and one past it. */
static void test_lengths(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		size_t max;
	} limits[] = {
	    {"title", ARTICLE_TITLE_MAX},   {"summary", ARTICLE_SUMMARY_MAX},
	    {"source", ARTICLE_PERSON_MAX}, {"editor", ARTICLE_PERSON_MAX},
	    {"author", ARTICLE_PERSON_MAX},
	};
	/* one, two, three and four bytes per character */
	static const char *const units[] = {"a", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80"};
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			char what[64];
			char *ok = repeat(units[u], limits[l].max);
			char *over = repeat(units[u], limits[l].max + 1);
			snprintf(what, sizeof(what), "%s of %zu x %zu bytes", limits[l].key,
			         limits[l].max, strlen(units[u]));
			check(what, with(limits[l].key, json_string(ok)), ARTICLE_API, NULL);
			snprintf(what, sizeof(what), "%s of %zu x %zu bytes", limits[l].key,
			         limits[l].max + 1, strlen(units[u]));
			check(what, with(limits[l].key, json_string(over)), ARTICLE_API,
			      limits[l].key);
			free(ok);
			free(over);
		}
	}

	/* spaces around the title do not count */
	char *title = repeat("a", ARTICLE_TITLE_MAX);
	char *padded = xasprintf("  \t%s\n ", title);
	check("padded title", with("title", json_string(padded)), ARTICLE_API, NULL);
	free(padded);
	free(title);

	/* slug: 120 valid characters, then 121 */
	char *slug = repeat("a", ARTICLE_SLUG_MAX);
	check("slug of 120", with("slug", json_string(slug)), ARTICLE_API, NULL);
	free(slug);
	slug = repeat("a", ARTICLE_SLUG_MAX + 1);
	check("slug of 121", with("slug", json_string(slug)), ARTICLE_API, "slug");
	free(slug);
	slug = repeat("ab-", 40); /* 119 characters once the last '-' is dropped */
	slug[119] = 'c';
	check("slug of 120 with dashes", with("slug", json_string(slug)), ARTICLE_API, NULL);
	free(slug);

	/* tags: 20, then 21; each 50 characters, then 51 */
	json_t *tags = json_array();
	for (int i = 0; i < ARTICLE_TAGS_MAX; i++)
		json_array_append_new(tags, json_sprintf("tag %d", i));
	check("20 tags", with("tags", json_deep_copy(tags)), ARTICLE_API, NULL);
	json_array_append_new(tags, json_string("one more"));
	check("21 tags", with("tags", tags), ARTICLE_API, "tags");
	for (size_t u = 0; u < 2; u++) {
		char *tag = repeat(units[u], ARTICLE_TAG_MAX);
		check("tag of 50", with("tags", json_pack("[s]", tag)), ARTICLE_API, NULL);
		free(tag);
		tag = repeat(units[u], ARTICLE_TAG_MAX + 1);
		check("tag of 51", with("tags", json_pack("[s, s]", "ok", tag)), ARTICLE_API,
		      "tags[1]");
		free(tag);
	}
}

static void test_normalized(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	assert_int_equal(parse(load("{'title':'  Jilin province begins trade \\n','body':'Text',"
	                            "'editor':'  Ye Lijiao ','summary':'  A summary. ',"
	                            "'tags':['World News','world-news','  WORLD  news! ',"
	                            "'\\u00c9conomie','Economie','2023']}"),
	                       ARTICLE_API, &a, &err),
	                 0);
	assert_string_equal(a.title, "Jilin province begins trade");
	assert_string_equal(a.editor, "Ye Lijiao");
	assert_string_equal(a.summary, "A summary.");
	assert_string_equal(a.slug, "jilin-province-begins-trade");
	assert_true(a.slug_derived);
	assert_int_equal(a.ntags, 3);
	assert_string_equal(a.tags[0], "world-news");
	assert_string_equal(a.tags[1], "economie");
	assert_string_equal(a.tags[2], "2023");
	article_cleanup(&a);
}

static void test_defaults(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	assert_int_equal(parse(load("{'title':'Hello, World','body':'First *para*.\\n\\nSecond.'}"),
	                       ARTICLE_API, &a, &err),
	                 0);
	assert_int_equal(a.id, 0);
	assert_string_equal(a.slug, "hello-world");
	assert_true(a.slug_derived);
	assert_string_equal(a.body, "First *para*.\n\nSecond.");
	assert_string_equal(a.body_html, "<p>First <em>para</em>.</p>\n<p>Second.</p>\n");
	assert_string_equal(a.summary, "First para.");
	assert_string_equal(a.published_at, "2023-01-12T06:33:00Z");
	assert_int_equal(a.published_ts, NOW);
	assert_string_equal(a.status, "published");
	assert_string_equal(a.source, "");
	assert_string_equal(a.editor, "");
	assert_string_equal(a.author, "");
	assert_int_equal(a.ntags, 0);
	assert_string_equal(a.created_at, "");
	assert_string_equal(a.updated_at, "");
	article_cleanup(&a);

	/* a given slug is not derived; published_at keeps its offset, without the fraction */
	assert_int_equal(
	    parse(load("{'title':'Hello','body':'Text','slug':'my-slug',"
	               "'status':'draft','published_at':'2023-01-12T14:33:00.250+08:00'}"),
	          ARTICLE_API, &a, &err),
	    0);
	assert_string_equal(a.slug, "my-slug");
	assert_false(a.slug_derived);
	assert_string_equal(a.status, "draft");
	assert_string_equal(a.published_at, "2023-01-12T14:33:00+08:00");
	assert_int_equal(a.published_ts, 1673505180);
	article_cleanup(&a);

	/* -00:00 is UTC */
	assert_int_equal(parse(load("{'title':'Hello','body':'Text',"
	                            "'published_at':'2023-01-12T06:33:00-00:00'}"),
	                       ARTICLE_API, &a, &err),
	                 0);
	assert_string_equal(a.published_at, "2023-01-12T06:33:00Z");
	article_cleanup(&a);

	/* a Chinese title derives nothing: the store names it article-<id> */
	assert_int_equal(
	    parse(load("{'title':'\\u5409\\u6797\\u7701','body':'Text'}"), ARTICLE_API, &a, &err),
	    0);
	assert_string_equal(a.slug, "");
	assert_true(a.slug_derived);
	article_cleanup(&a);
}

static const char *const server_fields =
    "{'title':'Hello','body':'*Text*','id':42,'url':'http://old/articles/hello',"
    "'body_html':'<script>alert(1)</script>','created_at':'2020-01-01T08:00:00+08:00',"
    "'updated_at':'2021-01-01T00:00:00Z'}";

static void test_modes(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;

	/* the API ignores what the server makes itself */
	assert_int_equal(parse(load(server_fields), ARTICLE_API, &a, &err), 0);
	assert_int_equal(a.id, 0);
	assert_string_equal(a.created_at, "");
	assert_string_equal(a.updated_at, "");
	assert_string_equal(a.body_html, "<p><em>Text</em></p>\n");
	article_cleanup(&a);

	/* an import keeps id and dates (in UTC), but body_html is always rendered here */
	assert_int_equal(parse(load(server_fields), ARTICLE_IMPORT, &a, &err), 0);
	assert_int_equal(a.id, 42);
	assert_string_equal(a.created_at, "2020-01-01T00:00:00Z");
	assert_string_equal(a.updated_at, "2021-01-01T00:00:00Z");
	assert_int_equal(a.updated_ts, 1609459200);
	assert_string_equal(a.body_html, "<p><em>Text</em></p>\n");
	article_cleanup(&a);
}

static void test_tags(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    /* SPEC §15: letters of every script kept, NFKC case folded */
	    {"经济", "经济"},
	    {"World News", "world-news"},
	    {"Économie", "economie"}, /* Latin letters lose accents, as in slugs */
	    {"Zürich", "zurich"},
	    {"STRASSE", "strasse"},
	    {"Straße", "strasse"},
	    {"東京 オリンピック", "東京-オリンピック"},
	    {"ｶﾀｶﾅ", "カタカナ"},      /* halfwidth forms are the full-width ones */
	    {"ＧＤＰ増加", "gdp増加"}, /* fullwidth Latin is Latin */
	    {"한국 경제", "한국-경제"},
	    {"Αθήνα", "αθήνα"}, /* Greek keeps its accents: its words need them */
	    {"МОСКВА", "москва"},
	    {"الاقتصاد العالمي", "الاقتصاد-العالمي"},
	    {"हिन्दी समाचार", "हिन्दी-समाचार"},
	    {"中美·贸易", "中美-贸易"},
	    {"news\xc2\xadpaper", "newspaper"}, /* a soft hyphen is ignorable */
	    {"Don't stop", "dont-stop"},
	    {"🎉 party", "party"},
	    {"🎉", ""},
	    {"!!!", ""},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		article_tag_normalize(&b, cases[i].in);
		if (strcmp(buf_str(&b), cases[i].want) != 0)
			fail_msg("tag '%s' = '%s', want '%s'", cases[i].in, buf_str(&b),
			         cases[i].want);
		assert_int_equal(article_tag_valid(cases[i].in),
		                 *cases[i].want && strcmp(cases[i].in, cases[i].want) == 0);
		if (*cases[i].want)
			assert_true(article_tag_valid(cases[i].want));
		buf_cleanup(&b);
	}
	/* at most 50 characters (not bytes), cut at a '-' */
	struct buf b = BUF_INIT;
	article_tag_normalize(&b, "经济经济经济经济经济 经济经济经济经济经济 经济经济经济经济经济 "
	                          "经济经济经济经济经济 经济经济经济经济经济 经济");
	assert_int_equal(article_utf8_len(buf_str(&b)),
	                 4 * 10 + 3); /* four words and their dashes */
	assert_true(article_tag_valid(buf_str(&b)));
	buf_cleanup(&b);
	article_tag_normalize(
	    &b, "经济经济经济经济经济经济经济经济经济经济经济经济经济经济经济经济经济经济经济"
	        "经济经济经济经济经济经济经济经济经济");
	assert_int_equal(article_utf8_len(buf_str(&b)), 50);
	buf_cleanup(&b);
	/* invalid UTF-8 is no tag */
	article_tag_normalize(&b, "ab\xff");
	assert_int_equal(b.len, 0);
	assert_false(article_tag_valid("ab\xff"));
	assert_false(article_tag_valid("World"));
	assert_false(article_tag_valid("a--b"));
	buf_cleanup(&b);
}

static void test_slugify(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"Hello, World!", "hello-world"},
	    {"  --Hello   World--  ", "hello-world"},
	    {"a_b.c/d\\e", "a-b-c-d-e"},
	    {"Café Crème à Zürich", "cafe-creme-a-zurich"},
	    {"Straße", "strasse"},
	    {"Łódź", "lodz"},
	    {"Ærø Øresund", "aero-oresund"},
	    {"Œuvre Þing", "oeuvre-thing"},
	    {"Și Țara", "si-tara"},
	    {"Ça ne coûte que 5 €", "ca-ne-coute-que-5"},
	    {"吉林省", ""},
	    {"吉林省 Jilin 2023", "jilin-2023"},
	    {"Editor: Ye Lijiao 叶丽娇", "editor-ye-lijiao"},
	    {"Don't stop", "dont-stop"},
	    {"Don’t stop", "dont-stop"},
	    {"COVID-19 cases rise 3.5%", "covid-19-cases-rise-3-5"},
	    {"2023: the year in review", "2023-the-year-in-review"},
	    {"10th anniversary", "10th-anniversary"},
	    {"I ❤ C", "i-c"},
	    {"A × B ÷ C", "a-b-c"},
	    {"", ""},
	    {"!!! ???", ""},
	    {"---", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		article_slugify(&b, cases[i].in, ARTICLE_SLUG_MAX);
		if (strcmp(buf_str(&b), cases[i].want) != 0)
			fail_msg("slugify(%s) = '%s', want '%s'", cases[i].in, buf_str(&b),
			         cases[i].want);
		assert_true(!*cases[i].want || article_slug_valid(buf_str(&b)));
		buf_cleanup(&b);
	}
}

static void test_slugify_truncates(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;

	/* 30 words of 4 letters: 24 fit in 119 characters, the 25th would pass 120 */
	char *words = repeat("abcd ", 30);
	article_slugify(&b, words, ARTICLE_SLUG_MAX);
	char *want = repeat("abcd-", 24);
	want[strlen(want) - 1] = '\0';
	assert_string_equal(buf_str(&b), want);
	assert_int_equal(b.len, 119);
	free(words);
	free(want);
	buf_cleanup(&b);

	/* exactly 120 is kept whole; one more cuts back to the '-' */
	char *a60 = repeat("a", 60), *b59 = repeat("b", 59);
	char *text = xasprintf("%s %s", a60, b59);
	article_slugify(&b, text, ARTICLE_SLUG_MAX);
	assert_int_equal(b.len, 120);
	want = xasprintf("%s-%s", a60, b59);
	assert_string_equal(buf_str(&b), want);
	free(want);
	free(text);
	buf_cleanup(&b);
	text = xasprintf("%s %sbb", a60, b59);
	article_slugify(&b, text, ARTICLE_SLUG_MAX);
	assert_string_equal(buf_str(&b), a60);
	free(text);
	buf_cleanup(&b);

	/* a word that ends exactly at 120, then more words */
	text = xasprintf("%s %s and more", a60, b59);
	article_slugify(&b, text, ARTICLE_SLUG_MAX);
	assert_int_equal(b.len, 120);
	assert_int_equal(b.data[119], 'b');
	free(text);
	buf_cleanup(&b);

	/* no '-' to cut at: a hard cut */
	text = repeat("x", 200);
	article_slugify(&b, text, ARTICLE_SLUG_MAX);
	assert_int_equal(b.len, 120);
	assert_true(article_slug_valid(buf_str(&b)));
	free(text);
	buf_cleanup(&b);

	/* accented letters count once they are ASCII */
	text = repeat("é", 130);
	article_slugify(&b, text, ARTICLE_SLUG_MAX);
	char *e120 = repeat("e", 120);
	assert_string_equal(buf_str(&b), e120);
	free(e120);
	free(text);
	buf_cleanup(&b);

	/* a smaller max, and appending after what the buffer holds */
	buf_puts(&b, "tag:");
	article_slugify(&b, "Hello World", 7);
	assert_string_equal(buf_str(&b), "tag:hello");
	buf_cleanup(&b);
	buf_puts(&b, "x-");
	article_slugify(&b, "--Hello--", 50);
	assert_string_equal(buf_str(&b), "x-hello");
	buf_cleanup(&b);

	free(a60);
	free(b59);
}

static void test_slug_valid(void **state)
{
	(void)state;
	assert_true(article_slug_valid("a"));
	assert_true(article_slug_valid("2023"));
	assert_true(article_slug_valid("a-b"));
	assert_true(article_slug_valid("a1-b2-c3"));
	assert_false(article_slug_valid(""));
	assert_false(article_slug_valid("-"));
	assert_false(article_slug_valid("A"));
	assert_false(article_slug_valid("-a"));
	assert_false(article_slug_valid("a-"));
	assert_false(article_slug_valid("a--b"));
	assert_false(article_slug_valid("a_b"));
	assert_false(article_slug_valid("a b"));
	assert_false(article_slug_valid("a.b"));
	assert_false(article_slug_valid("caf\xc3\xa9"));
	char *s = repeat("a", ARTICLE_SLUG_MAX);
	assert_true(article_slug_valid(s));
	free(s);
	s = repeat("a", ARTICLE_SLUG_MAX + 1);
	assert_false(article_slug_valid(s));
	free(s);
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(article_utf8_len(""), 0);
	assert_int_equal(article_utf8_len("abc"), 3);
	assert_int_equal(article_utf8_len("caf\xc3\xa9"), 4);
	assert_int_equal(article_utf8_len("\xe4\xb8\xad\xe6\x96\x87"), 2);
	assert_int_equal(article_utf8_len("\xf0\x9f\x98\x80!"), 2);
}

static char *summary_of(const char *markdown)
{
	struct buf b = BUF_INIT;
	article_summary(&b, markdown);
	return buf_steal(&b, NULL);
}

static void expect_summary(const char *markdown, const char *want)
{
	char *got = summary_of(markdown);
	if (strcmp(got, want) != 0)
		fail_msg("summary of '%s' = '%s', want '%s'", markdown, got, want);
	free(got);
}

static void test_summary(void **state)
{
	(void)state;
	expect_summary("First paragraph.\n\nSecond paragraph.", "First paragraph.");
	expect_summary("Some *emphasis*, **strong**, _under_, [a link](http://x.example/) and "
	               "`code`.",
	               "Some emphasis, strong, under, a link and code.");
	expect_summary("# A heading\n\nThe text.\n\nMore.", "The text.");
	expect_summary("Line one\nline two  \nline three", "Line one line two line three");
	expect_summary("  Spaces   inside    are   collapsed.  ", "Spaces inside are collapsed.");
	expect_summary("Raw <b>html</b> is <script>x</script>dropped.", "Raw html is xdropped.");
	expect_summary("![alt text](/i.png) caption", "alt text caption");
	expect_summary("# Only a heading", "");
	expect_summary("", "");
	/* entities may not bring in what a given summary may not hold (found by fuzz_article) */
	expect_summary("a&#1;b &#x7f;c &#x85;d &#xfffe;e &#xffff;f &#9;g", "ab c d e f g");

	/* exactly 300 characters: whole; 301: cut */
	char *p300 = repeat("abcd ", 60);
	p300[299] = 'e';
	expect_summary(p300, p300);
	free(p300);

	/* 100 words of 4 letters: cut after the 60th word, at char 299, with an ellipsis */
	char *words = repeat("word ", 100);
	char *want = repeat("word ", 60);
	want[strlen(want) - 1] = '\0';
	char *with_dots = xasprintf("%s" ELLIPSIS, want);
	expect_summary(words, with_dots);
	free(words);
	free(want);
	free(with_dots);

	/* punctuation before the cut goes too */
	words = repeat("abcd, ", 80);
	char *got = summary_of(words);
	size_t n = strlen(got);
	assert_true(n > strlen(ELLIPSIS));
	assert_string_equal(got + n - strlen(ELLIPSIS), ELLIPSIS);
	assert_int_equal(got[n - strlen(ELLIPSIS) - 1], 'd');
	free(got);
	free(words);

	/* only the first paragraph, even when the second is long */
	words = repeat("word ", 100);
	char *two = xasprintf("Short first.\n\n%s", words);
	expect_summary(two, "Short first.");
	free(two);
	free(words);
}

/* Properties of a cut summary of a real paragraph: a prefix ending at a word, near 300. */
static void test_summary_word_boundary(void **state)
{
	(void)state;
	const char *para =
	    "An economic and trade delegation from Northeast China's Jilin province on Monday set "
	    "off from Hunchun Land Port to carry out a five-day economic and trade exchange "
	    "activity in the Russian Far East, according to the provincial commerce department. "
	    "It marks an important step from the province in promoting opening-up and "
	    "cooperation on the occasion of the 10th anniversary of the Belt and Road "
	    "Initiative, the department said.";
	char *got = summary_of(para);
	size_t n = strlen(got), e = strlen(ELLIPSIS);
	assert_true(n > e);
	assert_string_equal(got + n - e, ELLIPSIS);
	size_t kept = n - e;
	assert_memory_equal(got, para, kept);
	assert_true(para[kept] == ' ' || strchr(",;:-", para[kept]));
	assert_true(got[kept - 1] != ' ');
	got[kept] = '\0';
	assert_in_range(article_utf8_len(got), 250, ARTICLE_SUMMARY_CUT);
	assert_string_equal(got + kept - strlen("the province in"), "the province in");
	free(got);
}

static void test_summary_without_spaces(void **state)
{
	(void)state;
	/* Chinese has no spaces: a hard cut at 300 characters */
	char *text = repeat("\xe4\xb8\xad", 400);
	char *want = repeat("\xe4\xb8\xad", ARTICLE_SUMMARY_CUT);
	char *with_dots = xasprintf("%s" ELLIPSIS, want);
	expect_summary(text, with_dots);
	free(text);
	free(want);
	free(with_dots);

	/* a long word at the end of short words is cut hard too */
	char *x = repeat("x", 400);
	text = xasprintf("a b %s", x);
	char *got = summary_of(text);
	assert_int_equal(article_utf8_len(got), ARTICLE_SUMMARY_CUT + 1);
	assert_memory_equal(got, text, ARTICLE_SUMMARY_CUT);
	free(got);
	free(text);
	free(x);

	/* a space early in a Chinese paragraph is no word boundary near 300 characters */
	char *zh100 = repeat("\xe4\xb8\xad", 100), *zh400 = repeat("\xe4\xb8\xad", 400);
	text = xasprintf("%s %s", zh100, zh400);
	got = summary_of(text);
	assert_int_equal(article_utf8_len(got), ARTICLE_SUMMARY_CUT + 1);
	assert_memory_equal(got, text, strlen(got) - strlen(ELLIPSIS));
	free(got);
	free(text);
	free(zh100);
	free(zh400);

	/* 300 multibyte characters are kept whole */
	text = repeat("\xc3\xa9", ARTICLE_SUMMARY_CUT);
	expect_summary(text, text);
	free(text);
}

static char *html_of(const char *markdown)
{
	return article_markdown_html(markdown, strlen(markdown));
}

static void expect_html(const char *markdown, const char *want)
{
	char *got = html_of(markdown);
	if (strcmp(got, want) != 0)
		fail_msg("html of '%s' = '%s', want '%s'", markdown, got, want);
	free(got);
}

static void test_markdown_html(void **state)
{
	(void)state;
	expect_html("Hello *world*", "<p>Hello <em>world</em></p>\n");
	expect_html("**bold** and `x < y`",
	            "<p><strong>bold</strong> and <code>x &lt; y</code></p>\n");
	expect_html("# Title\n\nText", "<h1>Title</h1>\n<p>Text</p>\n");
	expect_html("a & b < c", "<p>a &amp; b &lt; c</p>\n");
	expect_html("[site](https://example.org/a?b=1&c=2)",
	            "<p><a href=\"https://example.org/a?b=1&amp;c=2\">site</a></p>\n");
	expect_html("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n");

	static const char *const hostile[] = {
	    "<script>alert(1)</script>",
	    "Hello <script>alert(1)</script> there",
	    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
	    "<img src=x onerror=alert(1)>",
	    "Text <img src=x onerror=alert(1)> inline",
	    "<a href=\"#\" onclick=\"alert(1)\">x</a>",
	    "<div><script>alert(1)</script></div>",
	    "<iframe src=javascript:alert(1)></iframe>",
	    "[click](javascript:alert(1))",
	    "[click](JavaScript:alert(1))",
	    "[click]( javascript:alert(1) )",
	    "[click](vbscript:msgbox(1))",
	    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
	    "![img](javascript:alert(1))",
	    "<javascript:alert(1)>",
	    "[ref]\n\n[ref]: javascript:alert(1)",
	    /* GitHub-flavoured: the extensions add no way in */
	    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
	    "| [x](javascript:alert(1)) |\n|---|",
	    "~~<script>alert(1)</script>~~",
	    "www.example.org/<script>alert(1)</script>",
	    "javascript:alert(1) www.javascript:alert(1)",
	    "https://example.org/\"onclick=\"alert(1)",
	};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *got = html_of(hostile[i]);
		if (strstr(got, "<script") || strstr(got, "<SCRIPT") || strstr(got, " onerror=") ||
		    strstr(got, " onclick=") || strstr(got, "<iframe") ||
		    strcasestr(got, "href=\"javascript:") || strcasestr(got, "src=\"javascript:") ||
		    strstr(got, "vbscript:") || strstr(got, "data:text/html"))
			fail_msg("'%s' came through as '%s'", hostile[i], got);
		free(got);
	}

	/* GitHub-flavoured Markdown: tables, strikethrough, autolinks */
	expect_html("| City | People |\n|:-----|-------:|\n| 珲春 | 230,000 |",
	            "<table>\n<thead>\n<tr>\n<th align=\"left\">City</th>\n"
	            "<th align=\"right\">People</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
	            "<td align=\"left\">珲春</td>\n<td align=\"right\">230,000</td>\n</tr>\n"
	            "</tbody>\n</table>\n");
	expect_html("~~old~~ new", "<p><del>old</del> new</p>\n");
	expect_html("See www.example.org and https://example.org/a?b=1.",
	            "<p>See <a href=\"http://www.example.org\">www.example.org</a> and "
	            "<a href=\"https://example.org/a?b=1\">https://example.org/a?b=1</a>.</p>\n");
	expect_html("Mail desk@example.org", "<p>Mail <a href=\"mailto:desk@example.org\">"
	                                     "desk@example.org</a></p>\n");
	/* raw HTML is still left out, in a table cell too */
	expect_html("| a |\n|---|\n| <b>x</b> |",
	            "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
	            "<td><!-- raw HTML omitted -->x<!-- raw HTML omitted --></td>\n</tr>\n"
	            "</tbody>\n</table>\n");

	/* cmark decodes &#1; and writes &#xfffe; as a lone 0xFE byte: neither may come out */
	expect_html("a&#1;b &#xfffe;c &#xffff;d &#x85;e &#9;f", "<p>ab c d e \tf</p>\n");

	/* only len bytes are read */
	char *got = article_markdown_html("*a* and more", 3);
	assert_string_equal(got, "<p><em>a</em></p>\n");
	free(got);
	got = article_markdown_html("", 0);
	assert_string_equal(got, "");
	free(got);
}

static void test_to_json(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	assert_int_equal(parse(load("{'title':'Jilin trade','body':'*Text*','editor':'Ye Lijiao',"
	                            "'published_at':'2023-01-12T14:33:00+08:00',"
	                            "'tags':['World News','Trade']}"),
	                       ARTICLE_API, &a, &err),
	                 0);
	a.id = 7;
	free(a.created_at);
	free(a.updated_at);
	a.created_at = xstrdup("2023-01-12T06:33:00Z");
	a.updated_at = xstrdup("2023-01-12T07:00:00Z");

	json_t *o = article_to_json(&a, "https://news.example.org", "en", true);
	/* with authors and corrections (SPEC §11) and image (SPEC §12, null: none) */
	assert_int_equal(json_object_size(o), 19);
	assert_true(json_is_null(json_object_get(o, "image")));
	/* the site's language when the story has none of its own; uri only when it has one */
	assert_string_equal(json_string_value(json_object_get(o, "language")), "en");
	assert_null(json_object_get(o, "uri"));
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 7);
	assert_string_equal(json_string_value(json_object_get(o, "slug")), "jilin-trade");
	assert_string_equal(json_string_value(json_object_get(o, "url")),
	                    "https://news.example.org/articles/jilin-trade");
	assert_string_equal(json_string_value(json_object_get(o, "title")), "Jilin trade");
	assert_string_equal(json_string_value(json_object_get(o, "summary")), "Text");
	assert_string_equal(json_string_value(json_object_get(o, "body")), "*Text*");
	assert_string_equal(json_string_value(json_object_get(o, "body_html")),
	                    "<p><em>Text</em></p>\n");
	assert_string_equal(json_string_value(json_object_get(o, "published_at")),
	                    "2023-01-12T14:33:00+08:00");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "published");
	assert_string_equal(json_string_value(json_object_get(o, "source")), "");
	assert_string_equal(json_string_value(json_object_get(o, "editor")), "Ye Lijiao");
	assert_string_equal(json_string_value(json_object_get(o, "author")), "");
	json_t *tags = json_object_get(o, "tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "world-news");
	assert_string_equal(json_string_value(json_array_get(tags, 1)), "trade");
	assert_string_equal(json_string_value(json_object_get(o, "created_at")),
	                    "2023-01-12T06:33:00Z");
	assert_string_equal(json_string_value(json_object_get(o, "updated_at")),
	                    "2023-01-12T07:00:00Z");

	/* what the API serves can be imported again as it is */
	struct article back;
	assert_int_equal(parse(json_incref(o), ARTICLE_IMPORT, &back, &err), 0);
	assert_int_equal(back.id, 7);
	assert_string_equal(back.slug, "jilin-trade");
	assert_false(back.slug_derived);
	assert_string_equal(back.title, a.title);
	assert_string_equal(back.body, a.body);
	assert_string_equal(back.summary, a.summary);
	assert_string_equal(back.published_at, a.published_at);
	assert_string_equal(back.created_at, a.created_at);
	assert_string_equal(back.updated_at, a.updated_at);
	assert_int_equal(back.ntags, 2);
	article_cleanup(&back);
	json_decref(o);

	/* lists leave the body out */
	o = article_to_json(&a, "http://localhost:8080", "en", false);
	assert_int_equal(json_object_size(o), 17);
	assert_null(json_object_get(o, "body"));
	assert_null(json_object_get(o, "body_html"));
	assert_non_null(json_object_get(o, "summary"));
	assert_string_equal(json_string_value(json_object_get(o, "url")),
	                    "http://localhost:8080/articles/jilin-trade");
	json_decref(o);
	article_cleanup(&a);
}

/* article_cleanup leaves an empty record that can be cleaned again or refilled. */
static void test_cleanup_twice(void **state)
{
	(void)state;
	struct article a;
	article_init(&a);
	article_cleanup(&a);
	struct article_error err;
	assert_int_equal(
	    parse(load("{'title':'x','body':'y','tags':['a']}"), ARTICLE_API, &a, &err), 0);
	article_cleanup(&a);
	article_cleanup(&a);
	assert_null(a.title);
	assert_int_equal(a.ntags, 0);
}

/* The media records a test knows: one image, 1000 x 500, in 320 and 640. */
static json_t *one_image(const char *id, void *arg)
{
	(void)arg;
	if (strcmp(id, "00112233445566aa") != 0)
		return NULL;
	return load_json("{'id':'00112233445566aa','width':1000,'height':500,'renditions':["
	                 "{'width':320,'height':160,'type':'image/webp','path':'00/a-320.webp'},"
	                 "{'width':320,'height':160,'type':'image/jpeg','path':'00/a-320.jpg'},"
	                 "{'width':640,'height':320,'type':'image/webp','path':'00/a-640.webp'},"
	                 "{'width':640,'height':320,'type':'image/jpeg','path':'00/a-640.jpg'}]}");
}

/* image: the field's rules, and linking it and the body's media:ID images to their records */
static void test_image(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	static const struct {
		const char *image, *field, *message;
	} bad[] = {
	    {"'x'", "image", "must be"},
	    {"{'alt':'x'}", "image.media", "must be the id"},
	    {"{'media':'../x','alt':'x'}", "image.media", "must be the id"},
	    {"{'media':'00112233445566aa'}", "image.alt", "is required"},
	    {"{'media':'00112233445566aa','alt':'   '}", "image.alt", "is required"},
	    {"{'media':'00112233445566aa','alt':'x','caption':5}", "image.caption",
	     "must be a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = xasprintf("{'title':'T','body':'B','image':%s}", bad[i].image);
		article_init(&a);
		assert_int_equal(parse(load_json(text), ARTICLE_API, &a, &err), -1);
		assert_string_equal(err.field, bad[i].field);
		assert_non_null(strstr(err.message, bad[i].message));
		article_cleanup(&a);
		free(text);
	}
	article_init(&a);
	assert_int_equal(
	    parse(load_json("{'title':'T','body':'Hi\\n\\n![A <b> & c](media:00112233445566aa)"
	                    "\\n\\n![x](media:ffffffffffffffff)',"
	                    "'image':{'media':'00112233445566aa','alt':' Alt ','credit':'C'}}"),
	          ARTICLE_API, &a, &err),
	    0);
	assert_string_equal(json_string_value(json_object_get(a.image, "alt")), "Alt");
	/* the second image is no record's: the body is refused by its id */
	assert_int_equal(article_link_media(&a, one_image, NULL, &err), -1);
	assert_string_equal(err.field, "body");
	assert_string_equal(err.message, "no uploaded image media:ffffffffffffffff");
	article_cleanup(&a);

	article_init(&a);
	assert_int_equal(
	    parse(load_json("{'title':'T','body':'![A <b> & c](media:00112233445566aa)',"
	                    "'image':{'media':'00112233445566aa','alt':'Alt'}}"),
	          ARTICLE_API, &a, &err),
	    0);
	assert_int_equal(article_link_media(&a, one_image, NULL, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(a.image, "width")), 1000);
	assert_int_equal(a.nmedia, 1);
	assert_non_null(strstr(a.body_html, "<picture><source type=\"image/webp\" srcset=\"/media/"
	                                    "00/a-320.webp 320w, /media/00/a-640.webp 640w\""));
	assert_non_null(strstr(a.body_html, "alt=\"A &lt;b&gt; &amp; c\" loading=\"lazy\""));
	assert_non_null(strstr(a.body_html, "width=\"1000\" height=\"500\""));
	assert_null(strstr(a.body_html, "media:"));
	json_t *o = article_to_json(&a, "https://n.example", "en", true);
	json_t *img = json_object_get(o, "image");
	assert_string_equal(json_string_value(json_object_get(img, "url")),
	                    "https://n.example/media/00/a-640.jpg");
	assert_int_equal(json_array_size(json_object_get(img, "renditions")), 4);
	json_decref(o);
	/* kept in the engines' extra text, and read back */
	char *extra = article_extra_text(&a);
	struct article back;
	article_init(&back);
	article_extra_from_text(&back, extra);
	assert_true(json_equal(back.image, a.image));
	article_cleanup(&back);
	free(extra);
	article_cleanup(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_normalized),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_slugify),
	    cmocka_unit_test(test_slugify_truncates),
	    cmocka_unit_test(test_slug_valid),
	    cmocka_unit_test(test_utf8_len),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_summary_word_boundary),
	    cmocka_unit_test(test_summary_without_spaces),
	    cmocka_unit_test(test_markdown_html),
	    cmocka_unit_test(test_to_json),
	    cmocka_unit_test(test_image),
	    cmocka_unit_test(test_cleanup_twice),
	};
	return cmocka_run_group_tests_name("article", tests, NULL, NULL);
}
