/* test_rfc3339.c - RFC 3339: strict parsing with exact seconds and offsets, canonical output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rfc3339.h"

struct valid_case {
	const char *in;
	int64_t utc;
	int offset_min;
	int zulu;
	const char *canonical; /* what rfc3339_format gives back */
};

static const struct valid_case valid[] = {
    {"2023-01-12T06:33:00Z", 1673505180, 0, 1, "2023-01-12T06:33:00Z"},
    {"2023-01-12t06:33:00z", 1673505180, 0, 1, "2023-01-12T06:33:00Z"},
    {"2023-01-12T14:33:00+08:00", 1673505180, 480, 0, "2023-01-12T14:33:00+08:00"},
    {"2023-01-12T01:03:00-05:30", 1673505180, -330, 0, "2023-01-12T01:03:00-05:30"},
    /* -00:00 is "offset unknown" (RFC 3339 4.3): it denotes UTC and prints as Z */
    {"2023-01-12T06:33:00-00:00", 1673505180, 0, 1, "2023-01-12T06:33:00Z"},
    /* +00:00 is a real offset and is kept */
    {"2023-01-12T06:33:00+00:00", 1673505180, 0, 0, "2023-01-12T06:33:00+00:00"},
    {"2023-01-12T06:33:00.5Z", 1673505180, 0, 1, "2023-01-12T06:33:00Z"},
    {"2023-01-12T14:33:00.123456789+08:00", 1673505180, 480, 0, "2023-01-12T14:33:00+08:00"},
    {"2023-01-12T06:33:00.999999999Z", 1673505180, 0, 1, "2023-01-12T06:33:00Z"},
    {"2024-02-29T12:00:00Z", 1709208000, 0, 1, "2024-02-29T12:00:00Z"},
    {"2000-02-29T00:00:00Z", 951782400, 0, 1, "2000-02-29T00:00:00Z"},
    {"1999-12-31T23:59:59Z", 946684799, 0, 1, "1999-12-31T23:59:59Z"},
    {"2000-01-01T00:00:00Z", 946684800, 0, 1, "2000-01-01T00:00:00Z"},
    /* the offset moves the moment across a year boundary */
    {"2023-12-31T23:30:00-01:00", 1704069000, -60, 0, "2023-12-31T23:30:00-01:00"},
    {"2024-01-01T08:30:00+08:00", 1704069000, 480, 0, "2024-01-01T08:30:00+08:00"},
    {"1970-01-01T00:00:00Z", 0, 0, 1, "1970-01-01T00:00:00Z"},
    {"1969-12-31T23:59:59Z", -1, 0, 1, "1969-12-31T23:59:59Z"},
    {"1970-01-01T08:00:00+08:00", 0, 480, 0, "1970-01-01T08:00:00+08:00"},
    {"0000-01-01T00:00:00Z", -62167219200, 0, 1, "0000-01-01T00:00:00Z"},
    {"9999-12-31T23:59:59Z", 253402300799, 0, 1, "9999-12-31T23:59:59Z"},
    {"2023-06-15T12:00:00+23:59", 1686744060, 1439, 0, "2023-06-15T12:00:00+23:59"},
    {"2023-06-15T12:00:00-23:59", 1686916740, -1439, 0, "2023-06-15T12:00:00-23:59"},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid_case *c = &valid[i];
		struct rfc3339 t = {0, 0, 0};
		if (rfc3339_parse(c->in, &t) != 0)
			fail_msg("%s did not parse", c->in);
		if (t.utc != c->utc || t.offset_min != c->offset_min || t.zulu != c->zulu)
			fail_msg("%s: utc %lld offset %d zulu %d; want %lld %d %d", c->in,
			         (long long)t.utc, t.offset_min, t.zulu, (long long)c->utc,
			         c->offset_min, c->zulu);
		struct buf b = BUF_INIT;
		rfc3339_format(&b, &t);
		assert_string_equal(buf_str(&b), c->canonical);
		/* the canonical form parses back to the same moment and offset */
		struct rfc3339 again = {0, 0, 0};
		assert_int_equal(rfc3339_parse(buf_str(&b), &again), 0);
		assert_int_equal(again.utc, t.utc);
		assert_int_equal(again.offset_min, t.offset_min);
		assert_int_equal(again.zulu, t.zulu);
		buf_cleanup(&b);
	}
}

static const char *const invalid[] = {
    "",
    "2023-02-30T00:00:00Z",     /* no such day */
    "2023-02-29T00:00:00Z",     /* not a leap year */
    "1900-02-29T00:00:00Z",     /* a century that is not a leap year */
    "2023-04-31T00:00:00Z",     /* April has 30 days */
    "2023-00-10T00:00:00Z",     /* month 0 */
    "2023-13-01T00:00:00Z",     /* month 13 */
    "2023-01-00T00:00:00Z",     /* day 0 */
    "2023-01-32T00:00:00Z",     /* day 32 */
    "2023-01-12T24:00:00Z",     /* hour 24 */
    "2023-01-12T23:60:00Z",     /* minute 60 */
    "2023-01-12T23:59:60Z",     /* leap seconds are refused */
    "2023-01-12T06:33:00",      /* no offset */
    "2023-01-12T06:33:00Zjunk", /* trailing junk */
    "2023-01-12T06:33:00Z ",    /* trailing space */
    "2023-01-12T14:33:00+08:00x",
    "2023-01-12 06:33:00Z", /* space instead of T */
    "2023-01-12_06:33:00Z",
    "2023-1-12T06:33:00Z", /* short month */
    "2023-01-2T06:33:00Z", /* short day */
    "2023-01-12T6:33:00Z", /* short hour */
    "2023-01-12T06:3:00Z", /* short minute */
    "2023-01-12T06:33:0Z", /* short second */
    "23-01-12T06:33:00Z",  /* short year */
    "2023-01-12T06:33Z",   /* no seconds */
    "2023-01-12",          /* a date only */
    "2023-01-12T",
    "2023",
    "2023-01-12T14:33:00+24:00", /* offset hour 24 */
    "2023-01-12T14:33:00+08:60", /* offset minute 60 */
    "2023-01-12T14:33:00+0800",  /* offset without a colon */
    "2023-01-12T14:33:00+08",    /* offset without minutes */
    "2023-01-12T14:33:00+8:00",
    "2023-01-12T14:33:00 +08:00",
    "2023-01-12T06:33:00.Z",           /* a dot with no digits */
    "2023-01-12T06:33:00.1234567890Z", /* more than nanoseconds */
    "2023-01-12T06:33:00,5Z",          /* comma fractions are ISO 8601, not RFC 3339 */
    "+2023-01-12T06:33:00Z",
    "-2023-01-12T06:33:00Z",
    "2023/01/12T06:33:00Z",
    "2023-01-12T06-33-00Z",
    "２０２３-01-12T06:33:00Z",  /* fullwidth digits */
    "0000-01-01T00:00:00+00:01", /* in UTC before year 0000 (found by fuzz_rfc3339) */
    "9999-12-31T23:59:59-00:01", /* in UTC after year 9999 */
    "2023-01-12T06:33:00UTC",
    "2023-01-12T06:33:00GMT+8",
    "Thu, 12 Jan 2023 06:33:00 GMT",
    "1673505180",
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		/* out stays untouched on failure */
		struct rfc3339 t = {12345, 67, 1};
		if (rfc3339_parse(invalid[i], &t) != -1)
			fail_msg("\"%s\" was accepted", invalid[i]);
		assert_int_equal(t.utc, 12345);
		assert_int_equal(t.offset_min, 67);
		assert_int_equal(t.zulu, 1);
	}
}

/* Every day of a leap and a common year parses; the day after the last one does not. */
static void test_month_lengths(void **state)
{
	(void)state;
	static const int common[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const int years[] = {2023, 2024, 2000, 2100};
	for (size_t y = 0; y < sizeof(years) / sizeof(years[0]); y++) {
		bool leap = years[y] % 4 == 0 && (years[y] % 100 != 0 || years[y] % 400 == 0);
		for (int m = 1; m <= 12; m++) {
			int last = common[m - 1] + (m == 2 && leap);
			char s[32];
			struct rfc3339 t;
			snprintf(s, sizeof(s), "%04d-%02d-%02dT12:00:00Z", years[y], m, last);
			if (rfc3339_parse(s, &t) != 0)
				fail_msg("%s refused", s);
			snprintf(s, sizeof(s), "%04d-%02d-%02dT12:00:00Z", years[y], m, last + 1);
			if (rfc3339_parse(s, &t) != -1)
				fail_msg("%s accepted", s);
		}
	}
}

static void test_format_utc(void **state)
{
	(void)state;
	static const struct {
		int64_t utc;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {1673505180, "2023-01-12T06:33:00Z"},
	    {-1, "1969-12-31T23:59:59Z"},
	    {-86400, "1969-12-31T00:00:00Z"},
	    {-86401, "1969-12-30T23:59:59Z"},
	    {-31536000, "1969-01-01T00:00:00Z"},
	    {-62167219200, "0000-01-01T00:00:00Z"},
	    {951782400, "2000-02-29T00:00:00Z"},
	    {1709251199, "2024-02-29T23:59:59Z"},
	    {1709251200, "2024-03-01T00:00:00Z"},
	    {946684799, "1999-12-31T23:59:59Z"},
	    {253402300799, "9999-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		rfc3339_format_utc(&b, cases[i].utc);
		assert_string_equal(buf_str(&b), cases[i].want);
		struct rfc3339 t;
		assert_int_equal(rfc3339_parse(buf_str(&b), &t), 0);
		assert_int_equal(t.utc, cases[i].utc);
		buf_cleanup(&b);
	}
}

static void test_format_appends(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, "at ");
	rfc3339_format_utc(&b, 0);
	buf_puts(&b, ", local ");
	struct rfc3339 t = {1673505180, 480, 0};
	rfc3339_format(&b, &t);
	assert_string_equal(buf_str(&b),
	                    "at 1970-01-01T00:00:00Z, local 2023-01-12T14:33:00+08:00");
	buf_cleanup(&b);

	/* a negative offset across the epoch */
	struct rfc3339 west = {0, -330, 0};
	rfc3339_format(&b, &west);
	assert_string_equal(buf_str(&b), "1969-12-31T18:30:00-05:30");
	buf_cleanup(&b);
}

static void test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(rfc3339_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(rfc3339_days_from_civil(1970, 1, 2), 1);
	assert_int_equal(rfc3339_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(rfc3339_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(rfc3339_days_from_civil(2024, 2, 29), 1709164800 / 86400);
	assert_int_equal(rfc3339_days_from_civil(2024, 3, 1), 1709251200 / 86400);
	assert_int_equal(rfc3339_days_from_civil(0, 1, 1), -719528);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),          cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_month_lengths),  cmocka_unit_test(test_format_utc),
	    cmocka_unit_test(test_format_appends), cmocka_unit_test(test_days_from_civil),
	};
	return cmocka_run_group_tests_name("rfc3339", tests, NULL, NULL);
}
