/* test_store_pg.c - the PostgreSQL engine's search literals, value for value (no server: the
 * suites under tests/http/pg.py run the engine itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mem.h"
#include "store.h"
#include "store_backend.h"

static void tsquery_is(const char *q, const char *want)
{
	struct buf match = BUF_INIT, out = BUF_INIT;
	store_fts_query(&match, q);
	store_pg_tsquery(&out, buf_str(&match));
	assert_string_equal(buf_str(&out), want);
	buf_cleanup(&match);
	buf_cleanup(&out);
}

static void test_tsquery(void **state)
{
	tsquery_is("Trade delegation", "('trade') & ('delegation')");
	tsquery_is("吉林省", "('吉林' <-> '林省')");
	tsquery_is("吉", "('吉':*)");
	tsquery_is("Zürich ＧＤＰ", "('zurich') & ('gdp')");
	/* quotes and backslashes stay inside their lexeme; operators are words or nothing */
	tsquery_is("o'brien", "('o' <-> 'brien')");
	tsquery_is("\"a\"\"b\"", "('a' <-> 'b')");
	tsquery_is("& | ! <-> :* ( )", "");
	tsquery_is("e-mail !!! x", "('e' <-> 'mail') & ('x')");
	tsquery_is("", "");
	/* store.c's match text as it is, prefix and all (textsearch's terms never hold a quote
	 * or a backslash, which the literal would double: fuzz_fts checks its grammar) */
	struct buf out = BUF_INIT;
	store_pg_tsquery(&out, "\"吉\"*");
	assert_string_equal(buf_str(&out), "('吉':*)");
	buf_cleanup(&out);
}

/* What PostgreSQL's tsvector input makes of v: each lexeme padded to 2 bytes, and with
 * positions a 2-byte count and 2 bytes a position (its limit is 1 MiB - 1). */
static size_t pg_size(const char *v)
{
	size_t size = 0;
	for (const char *p = v; *p;) {
		assert_int_equal(*p++, '\'');
		size_t len = 0;
		for (; *p != '\''; p++)
			len++;
		p++;
		size += (len + 1) / 2 * 2;
		if (*p == ':') {
			size += 2;
			for (; *p != ' '; p++)
				size += *p == ':' || *p == ',' ? 2 : 0;
		}
		assert_int_equal(*p++, ' ');
	}
	return size;
}

static char *terms_of(const char *title, const char *summary, const char *body)
{
	struct article a = {
	    .title = (char *)title, .summary = (char *)summary, .body = (char *)body};
	return store_pg_tsvector(&a);
}

static void test_tsvector(void **state)
{
	/* each lexeme once, all its positions with the field's weight; a position skipped between
	 * fields so that no phrase runs from one into the next */
	char *v = terms_of("Trade trade", "The trade", "trade 吉林省");
	assert_string_equal(v, "'trade':1A,2A,5B,7 'the':4B '吉林':8 '林省':9 ");
	free(v);
	v = terms_of("", "", "");
	assert_string_equal(v, "");
	free(v);
	/* positions wrap at PostgreSQL's last, 16383 */
	struct buf body = BUF_INIT;
	for (int i = 0; i < 16384; i++)
		buf_printf(&body, "w%d ", i);
	v = terms_of("", "", buf_str(&body));
	assert_non_null(strstr(v, "'w16380':16383 "));
	assert_non_null(strstr(v, "'w16381':1 "));
	assert_non_null(strstr(v, "'w16382':2 "));
	free(v);
	buf_cleanup(&body);
	/* at most 256 positions a lexeme, and the whole within PostgreSQL's 1 MiB */
	buf_reset(&body);
	for (int i = 0; i < 300; i++)
		buf_puts(&body, "same ");
	for (int i = 0; i < 400000; i++)
		buf_printf(&body, "x%d ", i);
	v = terms_of("", "", buf_str(&body));
	const char *same = strstr(v, "'same':");
	size_t commas = 0;
	for (const char *p = same; *p != ' '; p++)
		commas += *p == ',';
	assert_int_equal(commas, 255);
	size_t size = pg_size(v);
	assert_true(size < 1048576 && size > 1000000);
	assert_non_null(strstr(v, "'x1000':"));
	assert_null(strstr(v, "'x399999'")); /* past the budget: stored, not indexed */
	free(v);
	buf_cleanup(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tsquery),
	    cmocka_unit_test(test_tsvector),
	};
	return cmocka_run_group_tests_name("store_pg", tests, NULL, NULL);
}
