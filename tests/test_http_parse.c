/* test_http_parse.c - request field parsers: framing decisions, query sizes, HTTP dates,
 * If-None-Match lists, Accept-Encoding, X-Forwarded-For. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http_parse.h"

/* The status http_framing_check gives fields (name, value pairs, NULL-ended). */
static unsigned framing(bool http11, const char *const *fields)
{
	struct http_framing f;
	memset(&f, 0, sizeof(f));
	for (size_t i = 0; fields[i]; i += 2)
		http_framing_add(&f, fields[i], fields[i + 1]);
	const char *msg = NULL;
	unsigned status = http_framing_check(&f, http11, &msg);
	if (status)
		assert_non_null(msg);
	return status;
}

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_framing(void **state)
{
	(void)state;
	assert_int_equal(framing(true, FIELDS("Host", "x")), 0);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Content-Length", "5")), 0);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Transfer-Encoding", "chunked")), 0);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Transfer-Encoding", "Chunked")), 0);
	/* the same length twice may be folded into one (RFC 9110 8.6) */
	assert_int_equal(
	    framing(true, FIELDS("Host", "x", "Content-Length", "5", "Content-Length", "5")), 0);
	/* smuggling shapes */
	assert_int_equal(
	    framing(true, FIELDS("Host", "x", "Content-Length", "5", "Content-Length", "7")), 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Content-Length", "5",
	                                      "Transfer-Encoding", "chunked")),
	                 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Transfer-Encoding", "identity")), 501);
	assert_int_equal(
	    framing(true, FIELDS("Host", "x", "Transfer-Encoding", "chunked, identity")), 501);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Transfer-Encoding", "gzip, chunked")),
	                 501);
	assert_int_equal(framing(true, FIELDS("Host", "x", "Transfer-Encoding", "chunked",
	                                      "Transfer-Encoding", "chunked")),
	                 501);
	/* white space by a field name */
	assert_int_equal(framing(true, FIELDS("Host", "x", "Content-Length ", "2")), 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", " Host", "y")), 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", "X\tY", "1")), 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", "", "1")), 400);
	/* Host: exactly one in HTTP/1.1, none needed in 1.0 */
	assert_int_equal(framing(true, FIELDS("Accept", "*/*")), 400);
	assert_int_equal(framing(true, FIELDS("Host", "x", "host", "y")), 400);
	assert_int_equal(framing(false, FIELDS("Accept", "*/*")), 0);
	/* obs-fold, as http.c notices it */
	struct http_framing f;
	memset(&f, 0, sizeof(f));
	http_framing_add(&f, "Host", "x");
	f.folded = true;
	const char *msg;
	assert_int_equal(http_framing_check(&f, true, &msg), 400);
	assert_non_null(strstr(msg, "obs-fold"));
}

static void test_query_args(void **state)
{
	(void)state;
	assert_int_equal(http_query_args("/"), 0);
	assert_int_equal(http_query_args("/?"), 1);
	assert_int_equal(http_query_args("/?a=1"), 1);
	assert_int_equal(http_query_args("/search?q=x&page=2"), 2);
	assert_int_equal(http_query_args("/?a&b&c&&"), 5);
}

static void expect_date(const char *text, long long want)
{
	time_t t = 0;
	if (want < 0) {
		assert_false(http_date_parse(text, &t));
		return;
	}
	assert_true(http_date_parse(text, &t));
	assert_int_equal((long long)t, want);
}

static void test_dates(void **state)
{
	(void)state;
	char out[HTTP_DATE_SIZE];
	http_date_format(784111777, out);
	assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date_format(0, out);
	assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	/* the three forms of RFC 9110 5.6.7 */
	expect_date("Sun, 06 Nov 1994 08:49:37 GMT", 784111777);
	expect_date("Sunday, 06-Nov-94 08:49:37 GMT", 784111777);
	expect_date("Sun Nov  6 08:49:37 1994", 784111777);
	/* and nothing else */
	expect_date("", -1);
	expect_date("yesterday", -1);
	expect_date("Sun, 06 Nov 1994 08:49:37", -1);
	expect_date("Sun, 06 Nov 1994 08:49:37 GMT junk", -1);
	expect_date("Sun, 32 Nov 1994 08:49:37 GMT", -1);
	expect_date("1994-11-06T08:49:37Z", -1);
	/* round trip */
	for (long long t = 0; t < 4000000000LL; t += 123456789) {
		http_date_format((time_t)t, out);
		expect_date(out, t);
	}
}

static void test_etags(void **state)
{
	(void)state;
	const char *tag = "\"0123456789abcdef\"";
	assert_true(http_etag_match("\"0123456789abcdef\"", tag));
	assert_true(http_etag_match("W/\"0123456789abcdef\"", tag));
	assert_true(http_etag_match("\"other\", \"0123456789abcdef\"", tag));
	assert_true(http_etag_match("\"a\",\"b\" ,  W/\"0123456789abcdef\"", tag));
	assert_true(http_etag_match("*", tag));
	assert_true(http_etag_match(" , *", tag));
	assert_false(http_etag_match("", tag));
	assert_false(http_etag_match("\"other\"", tag));
	assert_false(http_etag_match("\"0123456789abcdef", tag));      /* unterminated */
	assert_false(http_etag_match("0123456789abcdef", tag));        /* unquoted */
	assert_false(http_etag_match("\"0123456789abcdef-gz\"", tag)); /* the other variant */
	assert_false(http_etag_match("\"x\" junk, \"0123456789abcdef\"", tag));
	assert_false(http_etag_match("\"0123456789abcde\"", tag));
}

static void test_accept_encoding(void **state)
{
	(void)state;
	assert_false(http_accepts_gzip(NULL));
	assert_false(http_accepts_gzip(""));
	assert_true(http_accepts_gzip("gzip"));
	assert_true(http_accepts_gzip("GZIP"));
	assert_true(http_accepts_gzip("x-gzip"));
	assert_true(http_accepts_gzip("gzip, deflate, br"));
	assert_true(http_accepts_gzip("br;q=1.0, gzip;q=0.8"));
	assert_true(http_accepts_gzip("*"));
	assert_true(http_accepts_gzip("deflate, *;q=0.5"));
	assert_false(http_accepts_gzip("gzip;q=0"));
	assert_false(http_accepts_gzip("gzip;q=0.000"));
	assert_false(http_accepts_gzip("gzip; q=0, identity"));
	assert_false(http_accepts_gzip("*;q=0"));
	assert_false(http_accepts_gzip("gzip;q=0, *")); /* named beats the wildcard */
	assert_false(http_accepts_gzip("gzip;q=abc"));  /* a q that is no number is 0 */
	assert_false(http_accepts_gzip("deflate, br"));
	assert_false(http_accepts_gzip("gzipx, xgzip"));
	assert_true(http_accepts_gzip("  gzip  ;  q=1  "));
}

static void expect_xff(const char *xff, const char *want)
{
	char out[64] = "unchanged";
	bool ok = http_forwarded_for(xff, out, sizeof(out));
	if (!want) {
		assert_false(ok);
		assert_string_equal(out, "unchanged");
	} else {
		assert_true(ok);
		assert_string_equal(out, want);
	}
}

static void test_forwarded_for(void **state)
{
	(void)state;
	expect_xff("203.0.113.7", "203.0.113.7");
	expect_xff("198.51.100.1, 203.0.113.7", "203.0.113.7");
	expect_xff("x, 2001:db8::1", "2001:db8::1");
	expect_xff("  203.0.113.7  ", "203.0.113.7");
	expect_xff(NULL, NULL);
	expect_xff("", NULL);
	expect_xff("203.0.113.7, ", NULL);
	expect_xff("example.org", NULL);
	expect_xff("203.0.113.7 junk", NULL);
	expect_xff("999.1.1.1", NULL);
	expect_xff("[2001:db8::1]", NULL);
}

static void test_cookie(void **state)
{
	(void)state;
	char out[16];
	assert_true(http_cookie("gz_session=abc", "gz_session", out, sizeof(out)));
	assert_string_equal(out, "abc");
	assert_true(http_cookie("a=1; gz_session=abc; b=2", "gz_session", out, sizeof(out)));
	assert_string_equal(out, "abc");
	assert_true(http_cookie("a=1;gz_session=\"q\" ", "gz_session", out, sizeof(out)));
	assert_string_equal(out, "q");
	assert_true(http_cookie("x=1; x=2", "x", out, sizeof(out)));
	assert_string_equal(out, "1"); /* the first of a name */
	assert_true(http_cookie("x=", "x", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(http_cookie("my_gz_session=abc", "gz_session", out, sizeof(out)));
	assert_false(http_cookie("gz_sessionx=abc", "gz_session", out, sizeof(out)));
	assert_false(http_cookie("gz_session", "gz_session", out, sizeof(out)));
	assert_false(http_cookie("", "gz_session", out, sizeof(out)));
	assert_false(http_cookie("gz_session=0123456789abcdef", "gz_session", out, sizeof(out)));
	assert_false(http_cookie(";;;", "a", out, sizeof(out)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_framing),         cmocka_unit_test(test_query_args),
	    cmocka_unit_test(test_dates),           cmocka_unit_test(test_etags),
	    cmocka_unit_test(test_accept_encoding), cmocka_unit_test(test_forwarded_for),
	    cmocka_unit_test(test_cookie),
	};
	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
