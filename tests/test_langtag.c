/* test_langtag.c - BCP 47 well-formedness and canonical case, and Google's news codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "langtag.h"

static void expect_tag(const char *in, const char *want)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, ">");
	bool ok = langtag_canonical(in, &b);
	if (want && (!ok || strcmp(buf_str(&b) + 1, want) != 0))
		fail_msg("'%s' gave %s '%s', want '%s'", in, ok ? "valid" : "invalid",
		         buf_str(&b) + 1, want);
	if (!want && (ok || b.len != 1))
		fail_msg("'%s' is not well-formed, yet gave '%s'", in, buf_str(&b) + 1);
	buf_cleanup(&b);
}

static void test_well_formed(void **state)
{
	(void)state;
	expect_tag("en", "en");
	expect_tag("EN", "en");
	expect_tag("zh-Hans", "zh-Hans");
	expect_tag("zh-hans", "zh-Hans");
	expect_tag("ZH-HANT-tw", "zh-Hant-TW");
	expect_tag("zh-cn", "zh-CN");
	expect_tag("en-US", "en-US");
	expect_tag("es-419", "es-419");
	expect_tag("sr-Latn-RS", "sr-Latn-RS");
	expect_tag("zh-yue-HK", "zh-yue-HK"); /* extlang */
	expect_tag("de-CH-1901", "de-CH-1901");
	expect_tag("sl-rozaj-biske", "sl-rozaj-biske");
	expect_tag("en-US-u-ca-gregory", "en-US-u-ca-gregory");
	expect_tag("de-DE-x-newsroom", "de-DE-x-newsroom");
	expect_tag("x-whatever", "x-whatever");
	expect_tag("ast", "ast");
}

static void test_not_well_formed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "e",
	    "english-languages",
	    "en_US",
	    "en-",
	    "-en",
	    "en--US",
	    "zh-Hans-Hant",
	    "en-US-GB",
	    "123",
	    "en-a",
	    "en-a-x-y",
	    "x",
	    "en-x",
	    "中文",
	    "en US",
	    "en-US\n",
	    "toolongsubtag",
	    "en-u",
	    "a-en",
	    "de-1901-CH",
	    "en-Latn-US-" /* trailing dash */,
	    "zh-aaa-bbb-ccc-ddd" /* four extlangs */,
	    "abcdefghijklmnopqrstuvwxyz-abcdefgh-ij" /* over 35 characters */,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_tag(bad[i], NULL);
}

static void expect_news(const char *tag, const char *want)
{
	struct buf b = BUF_INIT;
	langtag_news(tag, &b);
	assert_string_equal(buf_str(&b), want);
	buf_cleanup(&b);
}

static void test_news_codes(void **state)
{
	(void)state;
	expect_news("en", "en");
	expect_news("en-GB", "en");
	expect_news("de-CH-1901", "de");
	expect_news("zh", "zh-cn");
	expect_news("zh-Hans", "zh-cn");
	expect_news("zh-Hans-CN", "zh-cn");
	expect_news("zh-CN", "zh-cn");
	expect_news("zh-SG", "zh-cn");
	expect_news("zh-Hant", "zh-tw");
	expect_news("zh-TW", "zh-tw");
	expect_news("zh-HK", "zh-tw");
	expect_news("zh-Hant-HK", "zh-tw");
	expect_news("zh-Hans-TW", "zh-cn"); /* the script decides */
	expect_news("zh-x-hk", "zh-cn");
	expect_news("ast", "ast");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_well_formed),
	    cmocka_unit_test(test_not_well_formed),
	    cmocka_unit_test(test_news_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
