/* test_ninjs.c - HTML bodies to Markdown, ninjs documents to stories and stories to ninjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ninjs.h"
#include "testutil.h"

#define BASE "https://news.example.org"

static void expect_md(const char *html, const char *want)
{
	struct buf b = BUF_INIT;
	assert_int_equal(ninjs_html_markdown(&b, html, strlen(html)), 0);
	if (strcmp(buf_str(&b), want) != 0)
		fail_msg("markdown of '%s' =\n'%s'\nwant\n'%s'", html, buf_str(&b), want);
	buf_cleanup(&b);
}

static void test_html_markdown(void **state)
{
	(void)state;
	expect_md("<p>One</p><p>Two</p>", "One\n\nTwo");
	expect_md("<h2>Head</h2><p>Text <em>it</em> <strong>b</strong> <del>x</del></p>",
	          "## Head\n\nText *it* **b** ~~x~~");
	expect_md("<ul><li>a</li><li>b</li></ul><ol><li>one</li></ol>", "- a\n- b\n\n1. one");
	expect_md("<blockquote><p>q1</p><p>q2</p></blockquote>", "> q1\n>\n> q2");
	expect_md("<pre><code>a &lt; b\n``x``</code></pre>", "```\na < b\n``x``\n```");
	expect_md("<p>say <code>x`y</code></p>", "say `` x`y ``");
	expect_md("<table><tr><th>k</th><th>v</th></tr><tr><td>1</td></tr></table>",
	          "| k | v |\n| --- | --- |\n| 1 |  |");
	expect_md("<p>a<br>b</p>", "a\\\nb");
	expect_md("<a href=\"https://example.org/a b\">x</a>", "[x](<https://example.org/a%20b>)");
	/* text stays text: Markdown's own characters are escaped */
	expect_md("<p>*a* _b_ [c](d) &lt;e&gt; `f` &amp;g; 1. h</p>",
	          "\\*a\\* \\_b\\_ \\[c\\](d) \\<e\\> \\`f\\` \\&g; 1. h");
	expect_md("<p># not a heading</p><p>1. not a list</p><p>- nor this</p>",
	          "\\# not a heading\n\n1\\. not a list\n\n\\- nor this");
	/* what may not come through gives nothing, or its text */
	expect_md("<script>alert(1)</script><style>p{}</style><p>kept</p>", "kept");
	expect_md("<a href=\"javascript:alert(1)\">click</a>", "click");
	expect_md("<a href=\"  JavaScript:alert(1)\">x</a> <a href=\"data:text/html,x\">y</a>",
	          "x y");
	expect_md("<p onclick=\"alert(1)\">p</p><img src=x onerror=alert(1) alt=\"the alt\">",
	          "p\n\nthe alt");
	expect_md("<iframe src=\"https://evil\"></iframe><form><input value=x></form>ok", "ok");
	expect_md("<span style=\"x\">in</span><font>line</font>", "inline");
	/* entities, Chinese, controls */
	expect_md("<p>吉林&nbsp;省 &#1;x &#x85;y</p>", "吉林&nbsp;省 x y");
	expect_md("", "");
	expect_md("plain", "plain");
	/* deep markup keeps its text */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 100; i++)
		buf_puts(&deep, "<div><span>");
	buf_puts(&deep, "deep");
	for (int i = 0; i < 100; i++)
		buf_puts(&deep, "</span></div>");
	expect_md(buf_str(&deep), "deep");
	buf_cleanup(&deep);
}

/* The HTML cmark-gfm makes of html's Markdown; NULL when the conversion refused it. */
static char *through(const char *html, size_t len)
{
	struct buf b = BUF_INIT;
	if (ninjs_html_markdown(&b, html, len) < 0) {
		buf_cleanup(&b);
		return NULL;
	}
	char *out = article_markdown_html(buf_str(&b), b.len);
	buf_cleanup(&b);
	return out;
}

static void expect_html_has(const char *html, const char *want, const char *never)
{
	char *got = through(html, strlen(html));
	assert_non_null(got);
	if ((want && !strstr(got, want)) || (never && strstr(got, never)))
		fail_msg("'%s' gave '%s' (want '%s', never '%s')", html, got, want ? want : "",
		         never ? never : "");
	free(got);
}

static void test_hostile_html(void **state)
{
	(void)state;
	/* code may not leave its span or its cell, nor blocks their link or emphasis */
	expect_html_has("<table><tr><th>h</th></tr><tr><td><code>![](http://t.example/p.gif)|"
	                "</code></td></tr></table>",
	                "<code>![](http://t.example/p.gif)|</code>", "<img");
	expect_html_has("<table><tr><th>h</th></tr><tr><td><a href=\"http://x/a|b\">l</a> "
	                "<pre>|x|</pre></td></tr></table>",
	                "href=\"http://x/a%7Cb\"", "<img");
	expect_html_has("<a href=\"http://x\"><pre>a\n\n![](http://t/p.gif)</pre></a>",
	                "<code>a  ![](http://t/p.gif)</code>", "<img");
	expect_html_has("<b><p>a</p><p>![](http://t/p.gif)</p></b>", "<p>a</p>", "<img");
	expect_html_has("<h2>one<br>two <code>x</code></h2>", "<h2>one two <code>x</code></h2>",
	                "<br");
	/* text stays text across elements */
	expect_html_has("<p>1<!-- -->. x</p>", "<p>1. x</p>", "<ol");
	expect_html_has("<p>2<b></b>) y</p>", "<p>2) y</p>", "<ol");
	expect_html_has("<h2>foo #</h2>", "<h2>foo #</h2>", NULL);
	/* an ordered list past 99 keeps its items' paragraphs */
	struct buf many = BUF_INIT;
	buf_puts(&many, "<ol>");
	for (int i = 0; i < 120; i++)
		buf_printf(&many, "<li><p>p%d</p><p>second</p></li>", i);
	buf_puts(&many, "</ol>");
	char *got = through(many.data, many.len);
	assert_non_null(strstr(got, "<li>\n<p>p119</p>\n<p>second</p>\n</li>"));
	assert_null(strstr(got, "<pre"));
	free(got);
	buf_cleanup(&many);
	/* controls in code are left out rather than refusing the story */
	expect_html_has("<pre>a\x7f\xc2\x85"
	                "b</pre>",
	                "<code>ab\n</code>", NULL);

	/* the output is bounded: deep lists and quotes run inline past 8 levels */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 63; i++)
		buf_puts(&deep, "<ul><li>");
	for (int i = 0; i < 50000; i++)
		buf_puts(&deep, "x<br>");
	struct buf md = BUF_INIT;
	int rc = ninjs_html_markdown(&md, deep.data, deep.len);
	assert_true(rc == 0 || rc == -E2BIG);
	assert_true(md.len <= 8 * deep.len + 65536);
	buf_cleanup(&md);
	buf_cleanup(&deep);
	/* and libxml2 never sees a tag with thousands of attributes */
	struct buf attrs = BUF_INIT;
	buf_puts(&attrs, "<p");
	for (int i = 0; i < 150000; i++)
		buf_printf(&attrs, " a%d=1", i);
	buf_puts(&attrs, ">x</p>");
	assert_int_equal(ninjs_html_markdown(&md, attrs.data, attrs.len), -EINVAL);
	assert_int_equal(md.len, 0);
	buf_cleanup(&attrs);
	/* a hundred is fine, quoted values with spaces count once */
	expect_html_has(
	    "<p a=\"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25"
	    " 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50"
	    " 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75"
	    " 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 "
	    "100 101 102\">kept</p>",
	    "kept", NULL);
}

static void test_text_markdown(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	ninjs_text_markdown(&b, "GROSSETO, Italy (AP) -- The trial\n\n# 1. *x*\nnext line\n\n\n");
	assert_string_equal(buf_str(&b),
	                    "GROSSETO, Italy (AP) -- The trial\n\n\\# 1. \\*x\\*\n\nnext line");
	buf_cleanup(&b);
}

static int to_article(const char *text, enum article_mode mode, struct article *a,
                      struct article_error *err, json_t *ignored)
{
	json_t *in = load_json(text);
	article_init(a);
	int rc = ninjs_to_article(in, mode, 1700000000, BASE, a, err, ignored);
	json_decref(in);
	return rc;
}

static void expect_refused(const char *text, const char *field)
{
	struct article a;
	struct article_error err;
	if (to_article(text, ARTICLE_API, &a, &err, NULL) == 0)
		fail_msg("%s: accepted, expected an error on %s", text, field);
	if (strcmp(err.field, field) != 0)
		fail_msg("%s: error on '%s' (%s), expected %s", text, err.field, err.message,
		         field);
	article_cleanup(&a);
}

static void test_to_article(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	json_t *ignored = json_array();
	assert_int_equal(
	    to_article("{'uri':'urn:x:1','type':'text','language':'zh-hans','pubStatus':'withheld',"
	               "'firstCreated':'2023-01-12T14:33:00+08:00','versionCreated':"
	               "'2023-01-12T07:00:00Z','headlines':[{'role':'sub','value':'Sub'},"
	               "{'role':'main','value':'吉林'}],'descriptions':[{'value':'摘要'}],"
	               "'bodies':[{'role':'main','contentType':'text/plain','value':'plain'},"
	               "{'role':'main','contentType':'text/html','value':'<p><b>html</b></p>'}],"
	               "'by':'记者','infoSources':[{'name':'新华社','role':'source'},"
	               "{'name':'叶丽娇','role':'editor'},{'name':'x','role':'distributor'}],"
	               "'subjects':[{'uri':'http://cv.iptc.org/x'},{'name':'经济'}],"
	               "'people':[{'name':'P'}],'located':'Jilin'}",
	               ARTICLE_IMPORT, &a, &err, ignored),
	    0);
	assert_string_equal(a.uri, "urn:x:1");
	assert_string_equal(a.title, "吉林");
	assert_string_equal(a.language, "zh-Hans");
	assert_string_equal(a.status, "draft");
	assert_string_equal(a.published_at, "2023-01-12T14:33:00+08:00");
	assert_string_equal(a.updated_at, "2023-01-12T07:00:00Z"); /* an import keeps it */
	assert_string_equal(a.summary, "摘要");
	assert_string_equal(a.body, "**html**"); /* the HTML body says more */
	assert_string_equal(a.author, "记者");
	assert_string_equal(a.source, "新华社");
	assert_string_equal(a.editor, "叶丽娇");
	assert_int_equal(a.ntags, 1);
	assert_string_equal(a.tags[0], "经济");
	assert_true(a.slug_derived);
	char *names = json_dumps(ignored, JSON_COMPACT);
	assert_string_equal(names, "[\"people\",\"located\"]");
	free(names);
	article_cleanup(&a);
	json_decref(ignored);

	/* a story's own URL names its slug, and is not kept as a foreign uri */
	assert_int_equal(to_article("{'uri':'" BASE "/articles/jilin-trade','headlines':[{'value':"
	                            "'T'}],'bodies':[{'value':'B'}]}",
	                            ARTICLE_API, &a, &err, NULL),
	                 0);
	assert_string_equal(a.slug, "jilin-trade");
	assert_string_equal(a.uri, "");
	assert_string_equal(a.updated_at, ""); /* the server's to say */
	article_cleanup(&a);

	/* Superdesk's dialect */
	assert_int_equal(to_article("{'guid':'urn:newsml:1','headline':'H','body_html':'<p>B</p>',"
	                            "'byline':'By','subject':[{'name':'Trade','code':'1'}],"
	                            "'urgency':3,'anything':{}}",
	                            ARTICLE_API, &a, &err, NULL),
	                 0);
	assert_string_equal(a.uri, "urn:newsml:1");
	assert_string_equal(a.body, "B");
	assert_string_equal(a.author, "By");
	assert_string_equal(a.tags[0], "trade");
	article_cleanup(&a);

	expect_refused("{'headlines':[{'value':'T'}],'bodies':[{'value':'B'}]}", "uri");
	expect_refused("{'uri':'x y','headlines':[{'value':'T'}],'bodies':[{'value':'B'}]}", "uri");
	expect_refused("{'uri':'urn:1','bodies':[{'value':'B'}]}", "headlines");
	expect_refused("{'uri':'urn:1','headlines':[{'value':'T'}]}", "bodies");
	expect_refused("{'uri':'urn:1','headlines':[{}],'bodies':[{'value':'B'}]}",
	               "headlines[0].value");
	expect_refused("{'uri':'urn:1','headlines':[{'value':'T'}],'bodies':[{'value':'B'}],"
	               "'subjects':[{'name':'a'},{'name':'!!!'}]}",
	               "subjects[1]");
	expect_refused("{'uri':'urn:1','headlines':[{'value':'T'}],'bodies':[{'value':'B'}],"
	               "'headline':'T'}",
	               "headline");
	expect_refused("{'uri':'urn:1','headlines':[{'value':'T'}],'bodies':[{'value':'B'}],"
	               "'language':'zh_CN'}",
	               "language");
	expect_refused("{'guid':'urn:1','headline':'T'}", "body_html");
	expect_refused("{'guid':'urn:1','headline':'T','body_html':'x','firstcreated':'now'}",
	               "firstcreated");
	expect_refused("[]", "");
}

static void test_from_article(void **state)
{
	(void)state;
	struct article a;
	struct article_error err;
	assert_int_equal(to_article("{'uri':'urn:x:9','headlines':[{'value':'T'}],'bodies':"
	                            "[{'value':'B'}],'subjects':[{'name':'经济'}]}",
	                            ARTICLE_API, &a, &err, NULL),
	                 0);
	free(a.slug);
	a.slug = xstrdup("t");
	free(a.updated_at);
	a.updated_at = xstrdup("2023-01-12T07:00:00Z");
	json_t *o = ninjs_from_article(&a, BASE, "en");
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	    text, "{\"altIds\":[{\"role\":\"slug\",\"value\":\"t\"}],\"bodies\":[{\"contentType\":"
	          "\"text/html\",\"role\":\"main\",\"value\":\"<p>B</p>\\n\"}],\"descriptions\":"
	          "[{\"role\":\"summary\",\"value\":\"B\"}],\"firstCreated\":"
	          "\"2023-11-14T22:13:20Z\",\"headlines\":[{\"role\":\"main\",\"value\":\"T\"}],"
	          "\"language\":\"en\",\"pubStatus\":\"usable\",\"subjects\":[{\"name\":\"经济\","
	          "\"uri\":\"https://news.example.org/tags/%E7%BB%8F%E6%B5%8E\"}],\"type\":"
	          "\"text\",\"uri\":\"urn:x:9\",\"versionCreated\":\"2023-01-12T07:00:00Z\"}");
	free(text);
	json_decref(o);
	article_cleanup(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_markdown), cmocka_unit_test(test_hostile_html),
	    cmocka_unit_test(test_text_markdown), cmocka_unit_test(test_to_article),
	    cmocka_unit_test(test_from_article),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
