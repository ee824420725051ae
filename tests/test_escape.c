/* test_escape.c - the HTML escape (the templates' default) and the URL escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "escape.h"

static void expect(void (*fn)(struct buf *, const char *, size_t), const char *in, size_t len,
                   const char *want)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, ">"); /* appends to what is there */
	fn(&b, in, len);
	assert_string_equal(buf_str(&b) + 1, want);
	assert_int_equal(b.len, strlen(want) + 1);
	buf_cleanup(&b);
}

static void test_html(void **state)
{
	(void)state;
	expect(escape_html, "", 0, "");
	expect(escape_html, "plain text", 10, "plain text");
	expect(escape_html, "<script>alert('x')</script>", 27,
	       "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	expect(escape_html, "a & b \"quoted\"", 14, "a &amp; b &quot;quoted&quot;");
	expect(escape_html, "&amp;", 5, "&amp;amp;"); /* escaped again: no double meaning */
	expect(escape_html, "吉林 Zürich", strlen("吉林 Zürich"), "吉林 Zürich");
	/* only len bytes, a NUL among them included */
	expect(escape_html, "ab<cd", 3, "ab&lt;");
	/* a NUL byte inside is a byte like any other */
	struct buf b = BUF_INIT;
	escape_html(&b, "a\0<", 3);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "a\0&lt;", 6);
	buf_cleanup(&b);
}

static void test_url(void **state)
{
	(void)state;
	expect(escape_url, "", 0, "");
	expect(escape_url, "AZaz09-._~", 10, "AZaz09-._~");
	expect(escape_url, "a b&c=d/e?f#g", 13, "a%20b%26c%3Dd%2Fe%3Ff%23g");
	expect(escape_url, "\"<>'", 4, "%22%3C%3E%27");
	expect(escape_url, "经济", strlen("经济"), "%E7%BB%8F%E6%B5%8E");
	expect(escape_url, "%", 1, "%25");
	expect(escape_url, "x\0y", 3, "x%00y"); /* a NUL never passes unescaped */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
