/* test_template.c - unit tests of the Mustache engine: rendering, parse errors, checks, loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "mem.h"
#include "template.h"

/*
 * Renders tmpl over the JSON text json (NULL: no context), with partials given as name,
 * source pairs ending in NULL, and compares with expected. Everything is freed before the
 * assertion, so a failing test leaks nothing.
 */
static void expect_render(const char *expected, const char *json, const char *tmpl, ...)
{
	struct tpl_set *set = tpl_set_new();
	struct buf out = BUF_INIT, err = BUF_INIT;
	json_t *ctx = NULL;
	va_list ap;
	int rc = 0;

	if (json) {
		json_error_t jerr;
		ctx = json_loads(json, JSON_DECODE_ANY, &jerr);
		if (!ctx)
			print_error("bad test JSON: %s\n", jerr.text);
		assert_non_null(ctx);
	}
	va_start(ap, tmpl);
	for (const char *name; !rc && (name = va_arg(ap, const char *));) {
		const char *src = va_arg(ap, const char *);
		rc = tpl_set_add(set, name, name, src, strlen(src), &err);
	}
	va_end(ap);
	if (!rc)
		rc = tpl_set_add(set, "main", "main.mustache", tmpl, strlen(tmpl), &err);
	if (!rc)
		rc = tpl_render(set, tpl_set_get(set, "main"), ctx, &out, &err);

	bool same = rc == 0 && strcmp(buf_str(&out), expected) == 0;
	if (!same)
		print_error("template: %s\nexpected: [%s]\ngot:      [%s]\nerror: %s\n", tmpl,
		            expected, buf_str(&out), buf_str(&err));
	buf_cleanup(&out);
	buf_cleanup(&err);
	json_decref(ctx);
	tpl_set_free(set);
	assert_true(same);
}

/* Parses len bytes of src as "t.mustache" and expects exactly the message msg. */
static void expect_parse_error_n(const char *src, size_t len, const char *msg)
{
	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT;
	int rc = tpl_set_add(set, "t", "t.mustache", src, len, &err);
	bool same = rc == -1 && strcmp(buf_str(&err), msg) == 0 && !tpl_set_get(set, "t");
	if (!same)
		print_error("rc %d, expected: [%s]\ngot:      [%s]\n", rc, msg, buf_str(&err));
	buf_cleanup(&err);
	tpl_set_free(set);
	assert_true(same);
}

static void expect_parse_error(const char *src, const char *msg)
{
	expect_parse_error_n(src, strlen(src), msg);
}

/* Renders set's template name over json and expects failure with exactly msg. */
static void expect_render_error(struct tpl_set *set, const char *name, const char *json,
                                const char *msg)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	json_t *ctx = json_loads(json, JSON_DECODE_ANY, NULL);
	int rc = tpl_render(set, tpl_set_get(set, name), ctx, &out, &err);
	bool same = rc == -1 && strcmp(buf_str(&err), msg) == 0;
	if (!same)
		print_error("rc %d, expected: [%s]\ngot:      [%s]\n", rc, msg, buf_str(&err));
	buf_cleanup(&out);
	buf_cleanup(&err);
	json_decref(ctx);
	assert_true(same);
}

static void add_ok(struct tpl_set *set, const char *name, const char *src)
{
	struct buf err = BUF_INIT;
	char *file = xasprintf("%s.mustache", name);
	int rc = tpl_set_add(set, name, file, src, strlen(src), &err);
	if (rc)
		print_error("%s\n", buf_str(&err));
	free(file);
	buf_cleanup(&err);
	assert_int_equal(rc, 0);
}

/* ---- interpolation ---- */

static void test_escaping(void **state)
{
	(void)state;
	expect_render("&lt;a href=&quot;x&quot;&gt;&#39;Tom &amp; Jerry&#39;&lt;/a&gt;",
	              "{\"x\": \"<a href=\\\"x\\\">'Tom & Jerry'</a>\"}", "{{x}}", NULL);
	expect_render("<b>'&'</b>|<b>'&'</b>|<b>'&'</b>", "{\"x\": \"<b>'&'</b>\"}",
	              "{{{x}}}|{{&x}}|{{& x }}", NULL);
	expect_render("[x]", "{\"v\": \"x\"}", "[{{ v }}]", NULL);
	expect_render("{{no}} re-render", "{\"a\": \"{{no}}\"}", "{{{a}}} re-render", NULL);
}

static void test_scalars(void **state)
{
	(void)state;
	expect_render("42 -7 9007199254740993", "{\"a\": 42, \"b\": -7, \"c\": 9007199254740993}",
	              "{{a}} {{b}} {{c}}", NULL);
	expect_render("1.21 0.1 3 1e+21 -2.5 ", "[1.21, 0.1, 3.0, 1e21, -2.5]",
	              "{{#.}}{{.}} {{/.}}", NULL);
	expect_render("true false", "{\"t\": true, \"f\": false}", "{{t}} {{f}}", NULL);
	expect_render("()()()()", "{\"n\": null, \"o\": {\"k\": 1}, \"a\": [1]}",
	              "({{n}})({{o}})({{a}})({{missing}})", NULL);
	expect_render("a\xc3\xa9\xff", "{\"s\": \"a\\u00e9\"}", "{{s}}\xff", NULL);
}

static void test_dotted_names(void **state)
{
	(void)state;
	const char *data = "{\"a\": {\"b\": {\"c\": \"deep\"}}, \"c\": \"top\", \"a.b\": \"key\"}";
	expect_render("deep|deep|deep|top", data,
	              "{{a.b.c}}|{{#a}}{{b.c}}{{/a}}|{{#a.b}}{{c}}{{/a.b}}|{{#a}}{{c}}{{/a}}",
	              NULL);
	/* The rest of a dotted name never falls back to the stack. */
	expect_render("[]", data, "[{{#a}}{{b.missing.c}}{{/a}}]", NULL);
	expect_render("[]", "{\"a\": {\"b\": {}}, \"c\": {\"d\": \"no\"}}", "[{{a.b.c.d}}]", NULL);
	expect_render("[]", "{\"a.b\": \"key\"}", "[{{a.b}}]", NULL);
}

static void test_implicit_iterator(void **state)
{
	(void)state;
	expect_render("hi &amp; bye", "\"hi & bye\"", "{{.}}", NULL);
	expect_render("hi & bye", "\"hi & bye\"", "{{{.}}}", NULL);
	expect_render("<a><b>", "[\"a\", \"b\"]", "{{#.}}<{{.}}>{{/.}}", NULL);
}

static void test_null_context(void **state)
{
	(void)state;
	expect_render("[][none]", NULL, "[{{x}}{{.}}][{{^x}}none{{/x}}]", NULL);
}

/* ---- sections ---- */

static void test_sections(void **state)
{
	(void)state;
	const char *data = "{\"user\": {\"name\": \"Ann\"}, \"name\": \"outer\","
	                   " \"list\": [{\"n\": 1}, {\"n\": 2}], \"empty\": [], \"s\": \"str\","
	                   " \"blank\": \"\", \"zero\": 0, \"no\": false, \"nil\": null}";
	expect_render("Ann outer", data, "{{#user}}{{name}}{{/user}} {{name}}", NULL);
	expect_render("12", data, "{{#list}}{{n}}{{/list}}", NULL);
	expect_render("[str]", data, "{{#s}}[{{.}}]{{/s}}", NULL);
	expect_render("zero", data, "{{#zero}}zero{{/zero}}", NULL);
	/* Falsey: false, null, missing, empty list, and our choice, the empty string. */
	expect_render("", data,
	              "{{#empty}}x{{/empty}}{{#blank}}x{{/blank}}{{#no}}x{{/no}}"
	              "{{#nil}}x{{/nil}}{{#missing}}x{{/missing}}",
	              NULL);
	expect_render("12345", data,
	              "{{^empty}}1{{/empty}}{{^blank}}2{{/blank}}{{^no}}3{{/no}}"
	              "{{^nil}}4{{/nil}}{{^missing}}5{{/missing}}",
	              NULL);
	expect_render("", data, "{{^user}}x{{/user}}{{^list}}x{{/list}}{{^zero}}x{{/zero}}", NULL);
	/* Inner sections still see the outer item. */
	expect_render("1a1b2a2b", "{\"i\": [{\"n\": 1}, {\"n\": 2}], \"j\": [\"a\", \"b\"]}",
	              "{{#i}}{{#j}}{{n}}{{.}}{{/j}}{{/i}}", NULL);
}

static void test_nested_lists(void **state)
{
	(void)state;
	expect_render("1:ab;2:c;",
	              "{\"rows\": [{\"id\": 1, \"cells\": [\"a\", \"b\"]},"
	              " {\"id\": 2, \"cells\": [\"c\"]}]}",
	              "{{#rows}}{{id}}:{{#cells}}{{.}}{{/cells}};{{/rows}}", NULL);
	expect_render("(12)(ab)", "[[1, 2], [\"a\", \"b\"]]", "{{#.}}({{#.}}{{.}}{{/.}}){{/.}}",
	              NULL);
}

static void test_standalone_lines(void **state)
{
	(void)state;
	const char *data = "{\"items\": [\"a\", \"b\"]}";
	expect_render("<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n", data,
	              "<ul>\n  {{#items}}\n  <li>{{.}}</li>\n  {{/items}}\n</ul>\n", NULL);
	expect_render("<ul>\r\n<li>a</li>\r\n<li>b</li>\r\n</ul>", data,
	              "<ul>\r\n{{#items}}\r\n<li>{{.}}</li>\r\n{{/items}}\r\n</ul>", NULL);
	/* A variable is never standalone; text beside a tag keeps the line. */
	expect_render("  a\n", "{\"x\": \"a\"}", "  {{x}}\n", NULL);
	expect_render(" a \n", "{\"x\": true}", " {{#x}}a{{/x}} \n", NULL);
	/* Several tags that render nothing in place still make a standalone line. */
	expect_render("in\n", "{\"x\": true}", "  {{#x}}{{! note }}\nin\n  {{/x}}{{=<% %>=}}\n",
	              NULL);
}

/* ---- comments and delimiters ---- */

static void test_comments(void **state)
{
	(void)state;
	expect_render("ab", NULL, "a{{! a comment with {{braces} }}b", NULL);
	expect_render("a\nb\n", NULL, "a\n  {{!\n  spans\n  lines\n  }}\nb\n", NULL);
	expect_render("[]", "{\"! x\": 1, \"x\": 2}", "[{{! x}}]", NULL);
}

static void test_set_delimiters(void **state)
{
	(void)state;
	expect_render("(yes) {{v}}", "{\"v\": \"yes\"}", "{{=<% %>=}}(<%v%>) {{v}}", NULL);
	expect_render("yes (yes) yes", "{\"v\": \"yes\"}", "{{v}} {{=[ ]=}}([v]) [={{ }}=]{{v}}",
	              NULL);
	expect_render("<b>", "{\"v\": \"<b>\"}", "{{= | | =}}|{v}|", NULL);
	expect_render("a\nb\n", NULL, "a\n  {{= <% %> =}}\nb\n", NULL);
	/* A partial is parsed with the default delimiters whatever its caller set. */
	expect_render("<yes>", "{\"v\": \"yes\"}", "{{=<% %>=}}<%>p%>", "p", "<{{v}}>", NULL);
}

/* ---- partials ---- */

static void test_partials(void **state)
{
	(void)state;
	expect_render("Hi Ann!", "{\"name\": \"Ann\"}", "Hi {{>who}}!", "who", "{{name}}", NULL);
	expect_render("[]", NULL, "[{{>missing}}]", NULL);
	expect_render("[x]", "{\"u\": {\"n\": \"x\"}}", "[{{#u}}{{> p }}{{/u}}]", "p", "{{n}}",
	              NULL);
}

static void test_partial_indentation(void **state)
{
	(void)state;
	/* Every line of a standalone partial gets the indentation, nested ones accumulate. */
	expect_render("<div>\n  <p>\n    a\n    b\n  </p>\n</div>\n", NULL,
	              "<div>\n  {{>outer}}\n</div>\n", "outer", "<p>\n  {{>inner}}\n</p>\n",
	              "inner", "a\nb\n", NULL);
	/* Interpolated data is not indented. */
	expect_render("  >\n  one\ntwo\n  <\n", "{\"v\": \"one\\ntwo\"}", "  {{>p}}\n", "p",
	              ">\n{{{v}}}\n<\n", NULL);
	/* A standalone partial that renders nothing does not indent the rest of its line. */
	expect_render("  abxycd\n", NULL, "  {{>m}}\n", "m", "ab{{>q}}cd\n", "q",
	              "  {{>empty}}\nxy", "empty", "", NULL);
	/* An inline partial is not indented. */
	expect_render("  x: a\nb\n\n", NULL, "  x: {{>p}}\n", "p", "a\nb\n", NULL);
}

static void test_recursion_bounded_by_data(void **state)
{
	(void)state;
	const char *data = "{\"name\": \"root\", \"kids\": [{\"name\": \"a\", \"kids\": "
	                   "[{\"name\": \"a1\", \"kids\": []}]}, {\"name\": \"b\", \"kids\": []}]}";
	expect_render("root(a(a1())b())", data, "{{>node}}", "node",
	              "{{name}}({{#kids}}{{>node}}{{/kids}})", NULL);
	expect_render(
	    "<ul>\n  <li>root\n    <ul>\n      <li>a\n      </li>\n    </ul>\n  </li>\n"
	    "</ul>\n",
	    "{\"name\": \"root\", \"sub\": {\"kids\": [{\"name\": \"a\", \"sub\": false}]}}",
	    "<ul>\n  {{>li}}\n</ul>\n", "li",
	    "<li>{{name}}\n  {{#sub}}\n  <ul>\n    {{#kids}}\n    {{>li}}\n    {{/kids}}\n"
	    "  </ul>\n  {{/sub}}\n</li>\n",
	    NULL);
}

/* ---- inheritance ---- */

static const char layout[] = "<title>{{$title}}Gazette{{/title}}</title>\n"
                             "<main>\n"
                             "  {{$body}}\n"
                             "  <p>nothing</p>\n"
                             "  {{/body}}\n"
                             "</main>\n";

static void test_inheritance(void **state)
{
	(void)state;
	expect_render("<title>Gazette</title>\n<main>\n  <p>nothing</p>\n</main>\n", NULL,
	              "{{<layout}}{{/layout}}", "layout", layout, NULL);
	/* Overrides are reindented to the block's place; other text in the parent is ignored. */
	expect_render("<title>News</title>\n<main>\n  <h1>Hi</h1>\n  <p>Ann</p>\n</main>\n",
	              "{\"who\": \"Ann\"}",
	              "{{<layout}}\nignored\n{{$title}}News{{/title}}\n{{$body}}\n<h1>Hi</h1>\n"
	              "<p>{{who}}</p>\n{{/body}}\n{{/layout}}\n",
	              "layout", layout, NULL);
}

static void test_multi_level_inheritance(void **state)
{
	(void)state;
	const char *base = "[{{$a}}base-a{{/a}}|{{$b}}base-b{{/b}}|{{$c}}base-c{{/c}}]";
	const char *mid = "{{<base}}{{$a}}mid-a{{/a}}{{$b}}mid-b{{/b}}{{/base}}";
	/* The most derived override wins, at any depth. */
	expect_render("[page-a|mid-b|base-c]", NULL, "{{<mid}}{{$a}}page-a{{/a}}{{/mid}}", "base",
	              base, "mid", mid, NULL);
	expect_render("[mid-a|mid-b|base-c]", NULL, "{{<mid}}{{/mid}}", "base", base, "mid", mid,
	              NULL);
	/* A block's override sees the context at the block's place in the parent. */
	expect_render("<in>", "{\"v\": \"out\", \"s\": {\"v\": \"in\"}}",
	              "{{<p}}{{$x}}<{{v}}>{{/x}}{{/p}}", "p", "{{#s}}{{$x}}{{/x}}{{/s}}", NULL);
	/* A partial is a parent without overrides: blocks reach through it. */
	expect_render("(over)", NULL, "{{<p}}{{$x}}over{{/x}}{{/p}}", "p", "({{>q}})", "q",
	              "{{$x}}default{{/x}}", NULL);
}

static void test_block_indentation(void **state)
{
	(void)state;
	/* Definition indentation is removed, the place's indentation added. */
	expect_render("<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n", NULL,
	              "{{<list}}\n{{$items}}\n        <li>1</li>\n        <li>2</li>\n{{/items}}\n"
	              "{{/list}}\n",
	              "list", "<ul>\n  {{$items}}\n  {{/items}}\n</ul>\n", NULL);
	/* A block opened and closed on its line stays inline: later lines line up with it. */
	expect_render("<p>\n  one\n  two\n</p>\n", NULL, "{{<p}}\n{{$b}}\none\ntwo{{/b}}\n{{/p}}\n",
	              "p", "<p>\n  {{$b}}{{/b}}\n</p>\n", NULL);
	/* A parent's argument block on the parent's line does not stop it being standalone. */
	expect_render("a\n  x\nb\n", NULL, "a\n  {{<p}}{{$b}}{{/b}}{{/p}}\nb\n", "p",
	              "x\n{{$b}}{{/b}}", NULL);
	/* Nested blocks are reindented relative to the enclosing block. */
	expect_render("one\n  three\n", NULL,
	              "{{<parent}}{{$nested}}\nthree\n{{/nested}}{{/parent}}\n", "parent",
	              "{{<grandparent}}{{$block}}\n  one\n  {{$nested}}\n    two\n  {{/nested}}\n"
	              "{{/block}}{{/grandparent}}\n",
	              "grandparent", "{{$block}}default{{/block}}", NULL);
}

/* ---- dynamic names ---- */

static void test_dynamic_names(void **state)
{
	(void)state;
	const char *data =
	    "{\"kind\": \"image\", \"url\": \"/a.png\", \"item\": {\"kind\": \"text\"},"
	    " \"n\": 3, \"bad\": \"nope\"}";
	expect_render("<img src=\"/a.png\">", data, "{{>*kind}}", "image", "<img src=\"{{url}}\">",
	              "text", "T", NULL);
	expect_render("T", data, "{{>* item.kind }}", "image", "I", "text", "T", NULL);
	/* Not a string, or not a template: nothing. */
	expect_render("[][][]", data, "[{{>*n}}][{{>*bad}}][{{>*missing}}]", "3", "three", NULL);
	/* Dynamic names are not resolved twice. */
	expect_render("[][]", "{\"a\": \"b\", \"b\": \"p\", \"*a\": \"p\"}",
	              "[{{>**a}}][{{>*a.*b}}]", "p", "P", "b", "B", NULL);
	/* A dynamic parent, closed by its name as written. */
	expect_render("<over>", "{\"which\": \"frame\"}", "{{<*which}}{{$x}}over{{/x}}{{/*which}}",
	              "frame", "<{{$x}}default{{/x}}>", NULL);
	expect_render("  a\n  b\n", "{\"p\": \"ab\"}", "  {{>*p}}\n", "ab", "a\nb\n", NULL);
}

/* ---- parse errors ---- */

static void test_error_unclosed_tag(void **state)
{
	(void)state;
	expect_parse_error("a\n  {{x", "t.mustache:2:3: unclosed tag");
	expect_parse_error("{{{x}}", "t.mustache:1:1: unclosed tag");
	expect_parse_error("{{=<% %>=}}<%x", "t.mustache:1:12: unclosed tag");
	/* Columns count bytes: the e-acute is two. */
	expect_parse_error("\xc3\xa9{{x", "t.mustache:1:3: unclosed tag");
}

static void test_error_unclosed_section(void **state)
{
	(void)state;
	expect_parse_error("x\n {{#a}}y", "t.mustache:2:2: unclosed section 'a'");
	expect_parse_error("{{#a}}{{^b}}{{/b}}", "t.mustache:1:1: unclosed section 'a'");
	expect_parse_error("{{<p}}", "t.mustache:1:1: unclosed parent 'p'");
	expect_parse_error("{{$b}}\n", "t.mustache:1:1: unclosed block 'b'");
}

static void test_error_mismatched_close(void **state)
{
	(void)state;
	expect_parse_error(
	    "{{#a}}{{/b}}",
	    "t.mustache:1:7: mismatched close tag 'b', expected 'a' (opened at 1:1)");
	expect_parse_error(
	    "{{#a}}\n{{#b}}\n{{/a}}",
	    "t.mustache:3:1: mismatched close tag 'a', expected 'b' (opened at 2:1)");
}

static void test_error_close_without_open(void **state)
{
	(void)state;
	expect_parse_error("ab{{/b}}", "t.mustache:1:3: close tag 'b' without open section");
	expect_parse_error("{{#a}}{{/a}}{{/a}}",
	                   "t.mustache:1:13: close tag 'a' without open section");
}

static void expect_bad_delimiters(const char *src, int line, int col)
{
	char *msg = xasprintf("t.mustache:%d:%d: bad set-delimiter tag: need two delimiters "
	                      "without whitespace or '=', as in {{=<%% %%>=}}",
	                      line, col);
	expect_parse_error(src, msg);
	free(msg);
}

static void test_error_bad_delimiters(void **state)
{
	(void)state;
	const char *bad[] = {"{{=<% =}}",  "{{= a b c =}}", "{{=<% %>}}",
	                     "{{=a= b=}}", "{{==}}",        "{{=}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_delimiters(bad[i], 1, 1);
	expect_bad_delimiters("ab{{=[ ]=}}[=x=]", 1, 12);
	expect_bad_delimiters("\n\nab{{= x y z =}}", 3, 3);
}

static void test_error_empty_name(void **state)
{
	(void)state;
	const char *bad[] = {"{{}}",   "{{ }}", "{{#}}",  "{{/ }}",
	                     "{{{}}}", "{{&}}", "{{>*}}", "{{< * }}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_parse_error(bad[i], "t.mustache:1:1: empty tag name");
}

static void test_error_whitespace_in_name(void **state)
{
	(void)state;
	expect_parse_error("{{a b}}", "t.mustache:1:1: whitespace inside tag name 'a b'");
	expect_parse_error("x {{# a\tb }}", "t.mustache:1:3: whitespace inside tag name 'a\tb'");
	expect_parse_error("{{> my partial}}",
	                   "t.mustache:1:1: whitespace inside tag name 'my partial'");
}

static void test_error_nesting_depth(void **state)
{
	(void)state;
	struct buf src = BUF_INIT;
	for (int i = 0; i < 1000; i++)
		buf_puts(&src, "{{#a}}");
	for (int i = 0; i < 1000; i++)
		buf_puts(&src, "{{/a}}");
	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT, out = BUF_INIT;
	assert_int_equal(tpl_set_add(set, "deep", "deep", src.data, src.len, &err), 0);
	json_t *ctx = json_pack("{s:b}", "a", 1);
	assert_int_equal(tpl_render(set, tpl_set_get(set, "deep"), ctx, &out, &err), 0);
	json_decref(ctx);
	buf_cleanup(&out);
	buf_cleanup(&err);
	tpl_set_free(set);

	buf_reset(&src);
	for (int i = 0; i < 1001; i++)
		buf_puts(&src, "{{#a}}");
	expect_parse_error(src.data, "t.mustache:1:6001: sections nested deeper than 1000 levels");
	buf_cleanup(&src);
}

static void test_error_first_wins(void **state)
{
	(void)state;
	/* A structural error before a lexical one is the one reported. */
	expect_parse_error("{{/a}} {{x", "t.mustache:1:1: close tag 'a' without open section");
	expect_parse_error("{{#a}} {{x", "t.mustache:1:8: unclosed tag");
}

static void test_any_bytes(void **state)
{
	(void)state;
	static const char src[] = "a\0b{{x}}\xff\xfe{{#\0}}\x80{{/\0}}{{! \0 }}";
	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT, out = BUF_INIT;
	assert_int_equal(tpl_set_add(set, "t", "t", src, sizeof(src) - 1, &err), 0);
	json_t *ctx = json_pack("{s:s}", "x", "<");
	assert_int_equal(tpl_render(set, tpl_set_get(set, "t"), ctx, &out, &err), 0);
	assert_int_equal(out.len, 9);
	assert_memory_equal(out.data, "a\0b&lt;\xff\xfe", 9);
	json_decref(ctx);
	buf_cleanup(&out);
	buf_cleanup(&err);
	tpl_set_free(set);
	expect_parse_error_n("{{\0", 3, "t.mustache:1:1: unclosed tag");
	/* Messages stop at a NUL in a name. */
	expect_parse_error_n("{{#a\0b}}", 8, "t.mustache:1:1: unclosed section 'a'");
}

/* ---- set: check, depth, load ---- */

static void test_check_unknown_partial(void **state)
{
	(void)state;
	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT;
	add_ok(set, "page", "{{>*dynamic}}\n{{#x}}\n  {{>header}}{{/x}}");
	assert_int_equal(tpl_set_check(set, &err), -1);
	assert_string_equal(buf_str(&err), "page.mustache:3:3: unknown partial 'header'");
	buf_reset(&err);
	add_ok(set, "header", "{{<layout}}{{/layout}}");
	assert_int_equal(tpl_set_check(set, &err), -1);
	assert_string_equal(buf_str(&err), "header.mustache:1:1: unknown partial 'layout'");
	buf_reset(&err);
	add_ok(set, "layout", "L");
	assert_int_equal(tpl_set_check(set, &err), 0);
	assert_string_equal(buf_str(&err), "");
	buf_cleanup(&err);
	tpl_set_free(set);
}

static void test_depth_bound(void **state)
{
	(void)state;
	struct tpl_set *set = tpl_set_new();
	add_ok(set, "x", "{{>x}}");
	add_ok(set, "y", "a\n  {{#t}}{{>y}}{{/t}}");
	add_ok(set, "z", "{{<z}}{{/z}}");
	add_ok(set, "b", "{{<p}}{{$a}}more {{$a}}{{/a}}{{/a}}{{/p}}");
	add_ok(set, "p", "{{$a}}{{/a}}");
	expect_render_error(set, "x", "{}",
	                    "partials nested deeper than 64 levels (at x.mustache:1:1)");
	expect_render_error(set, "y", "{\"t\": [1]}",
	                    "partials nested deeper than 64 levels (at y.mustache:2:9)");
	expect_render_error(set, "z", "null",
	                    "partials nested deeper than 64 levels (at z.mustache:1:1)");
	/* An override that uses its own block name would expand itself forever. */
	expect_render_error(set, "b", "{}",
	                    "blocks nested deeper than 64 levels (at b.mustache:1:18)");

	/* 40 sections in each of 64 partials is more than a thread stack should hold. */
	struct buf src = BUF_INIT;
	for (int i = 0; i < 40; i++)
		buf_puts(&src, "{{#t}}");
	buf_puts(&src, "{{>deep}}");
	for (int i = 0; i < 40; i++)
		buf_puts(&src, "{{/t}}");
	add_ok(set, "deep", src.data);
	buf_cleanup(&src);
	expect_render_error(set, "deep", "{\"t\": true}",
	                    "templates nested deeper than 2048 levels (at deep.mustache:1:235)");
	tpl_set_free(set);
}

static void test_set_replace_and_get(void **state)
{
	(void)state;
	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT, out = BUF_INIT;
	add_ok(set, "a", "one");
	add_ok(set, "a", "two");
	assert_null(tpl_set_get(set, "b"));
	/* A failed add leaves the old template in place. */
	assert_int_equal(tpl_set_add(set, "a", "a", "{{#x}}", 6, &err), -1);
	assert_int_equal(tpl_render(set, tpl_set_get(set, "a"), NULL, &out, &err), 0);
	assert_string_equal(buf_str(&out), "two");
	buf_reset(&out);
	/* Not NUL-terminated: only len bytes count. */
	add_ok(set, "c", "");
	assert_int_equal(tpl_set_add(set, "c", "c", "{{x}}yz", 5, &err), 0);
	assert_int_equal(tpl_render(set, tpl_set_get(set, "c"), NULL, &out, &err), 0);
	assert_string_equal(buf_str(&out), "");
	buf_cleanup(&out);
	buf_cleanup(&err);
	tpl_set_free(set);
	tpl_set_free(NULL);
}

static void write_file(const char *dir, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(path);
}

static void remove_file(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	unlink(path);
	free(path);
}

static void test_load_dir(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_template.XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "page.mustache",
	           "{{<layout}}\n{{$body}}Hello {{name}}{{/body}}\n{{/layout}}\n");
	write_file(dir, "layout.mustache", "<body>{{$body}}{{/body}}</body>\n");
	write_file(dir, "notes.txt", "{{#broken");
	write_file(dir, ".hidden.mustache", "{{#broken");

	struct tpl_set *set = tpl_set_new();
	struct buf err = BUF_INIT, out = BUF_INIT;
	int rc = tpl_set_load_dir(set, dir, &err);
	if (rc)
		print_error("%s\n", buf_str(&err));
	assert_int_equal(rc, 0);
	assert_null(tpl_set_get(set, "notes"));
	assert_null(tpl_set_get(set, ".hidden"));
	json_t *ctx = json_pack("{s:s}", "name", "Ann");
	assert_int_equal(tpl_render(set, tpl_set_get(set, "page"), ctx, &out, &err), 0);
	assert_string_equal(buf_str(&out), "<body>Hello Ann</body>\n");
	json_decref(ctx);
	tpl_set_free(set);

	/* A missing partial fails the load; so does a parse error, with the file's path. */
	write_file(dir, "side.mustache", "x\n{{>nav}}");
	set = tpl_set_new();
	buf_reset(&err);
	assert_int_equal(tpl_set_load_dir(set, dir, &err), -1);
	char *want = xasprintf("%s/side.mustache:2:1: unknown partial 'nav'", dir);
	assert_string_equal(buf_str(&err), want);
	free(want);
	tpl_set_free(set);

	write_file(dir, "nav.mustache", "{{#x}}");
	set = tpl_set_new();
	buf_reset(&err);
	assert_int_equal(tpl_set_load_dir(set, dir, &err), -1);
	want = xasprintf("%s/nav.mustache:1:1: unclosed section 'x'", dir);
	assert_string_equal(buf_str(&err), want);
	free(want);
	tpl_set_free(set);

	remove_file(dir, "page.mustache");
	remove_file(dir, "layout.mustache");
	remove_file(dir, "notes.txt");
	remove_file(dir, ".hidden.mustache");
	remove_file(dir, "side.mustache");
	remove_file(dir, "nav.mustache");
	assert_int_equal(rmdir(dir), 0);

	/* The folder is gone now. */
	set = tpl_set_new();
	buf_reset(&err);
	assert_int_equal(tpl_set_load_dir(set, dir, &err), -1);
	want = xasprintf("%s: No such file or directory", dir);
	assert_string_equal(buf_str(&err), want);
	free(want);
	tpl_set_free(set);
	buf_cleanup(&out);
	buf_cleanup(&err);
}

/* ---- threads ---- */

struct job {
	const struct tpl_set *set;
	json_t *ctx;
	int failures;
};

static void *render_many(void *arg)
{
	struct job *job = arg;
	for (int i = 0; i < 200; i++) {
		struct buf out = BUF_INIT, err = BUF_INIT;
		if (tpl_render(job->set, tpl_set_get(job->set, "page"), job->ctx, &out, &err) ||
		    strcmp(buf_str(&out), "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n"))
			job->failures++;
		buf_cleanup(&out);
		buf_cleanup(&err);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct tpl_set *set = tpl_set_new();
	add_ok(set, "page",
	       "{{<list}}{{$items}}\n{{#items}}\n{{>item}}\n{{/items}}\n{{/items}}{{/list}}");
	add_ok(set, "list", "<ul>\n  {{$items}}{{/items}}</ul>\n");
	add_ok(set, "item", "<li>{{.}}</li>\n");
	json_t *ctx = json_pack("{s:[s,s]}", "items", "a", "b");
	struct job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){set, ctx, 0};
		assert_int_equal(pthread_create(&th[i], NULL, render_many, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].failures, 0);
	}
	json_decref(ctx);
	tpl_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_dotted_names),
	    cmocka_unit_test(test_implicit_iterator),
	    cmocka_unit_test(test_null_context),
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_nested_lists),
	    cmocka_unit_test(test_standalone_lines),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_set_delimiters),
	    cmocka_unit_test(test_partials),
	    cmocka_unit_test(test_partial_indentation),
	    cmocka_unit_test(test_recursion_bounded_by_data),
	    cmocka_unit_test(test_inheritance),
	    cmocka_unit_test(test_multi_level_inheritance),
	    cmocka_unit_test(test_block_indentation),
	    cmocka_unit_test(test_dynamic_names),
	    cmocka_unit_test(test_error_unclosed_tag),
	    cmocka_unit_test(test_error_unclosed_section),
	    cmocka_unit_test(test_error_mismatched_close),
	    cmocka_unit_test(test_error_close_without_open),
	    cmocka_unit_test(test_error_bad_delimiters),
	    cmocka_unit_test(test_error_empty_name),
	    cmocka_unit_test(test_error_whitespace_in_name),
	    cmocka_unit_test(test_error_nesting_depth),
	    cmocka_unit_test(test_error_first_wins),
	    cmocka_unit_test(test_any_bytes),
	    cmocka_unit_test(test_check_unknown_partial),
	    cmocka_unit_test(test_depth_bound),
	    cmocka_unit_test(test_set_replace_and_get),
	    cmocka_unit_test(test_load_dir),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
