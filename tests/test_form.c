/* test_form.c - a form's fields as the post processor's pieces fill them (form.h): pieces of one
 * field joined, the first of a name found, the limits of text and fields, NUL refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

static void test_fields(void **state)
{
	(void)state;
	struct form f;
	form_init(&f, 1000, 10);
	form_add(&f, "title", "Har", 3, 0);
	form_add(&f, "title", "bour", 4, 3); /* the same field, its next piece */
	form_add(&f, "tags", "a, b", 4, 0);
	form_add(&f, "title", "second", 6, 0); /* a second field of the name */
	assert_string_equal(form_get(&f, "title"), "Harbour");
	assert_string_equal(form_get(&f, "tags"), "a, b");
	assert_null(form_get(&f, "body"));
	assert_null(form_get(NULL, "title"));
	form_add(&f, "empty", "", 0, 0);
	assert_string_equal(form_get(&f, "empty"), "");
	assert_false(f.text_over);
	assert_false(f.malformed);
	assert_int_equal(f.file_fd, -1);
	form_cleanup(&f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.text_max, 1000); /* ready for the next request */
}

static void test_limits(void **state)
{
	(void)state;
	struct form f;
	form_init(&f, 20, 0);
	form_add(&f, "a", "0123456789", 10, 0);
	assert_false(f.text_over);
	form_add(&f, "b", "0123456789", 10, 0); /* 1 + 10 + 1 + 10 > 20 */
	assert_true(f.text_over);
	assert_null(form_get(&f, "b"));
	form_cleanup(&f);

	form_init(&f, 100000, 0);
	char name[16];
	for (int i = 0; i < FORM_FIELDS_MAX + 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		form_add(&f, name, "x", 1, 0);
	}
	assert_int_equal(f.n, FORM_FIELDS_MAX);
	assert_true(f.text_over);
	form_cleanup(&f);

	form_init(&f, 100, 0);
	form_add(&f, "title", "a\0b", 3, 0);
	assert_true(f.malformed);
	assert_null(form_get(&f, "title"));
	form_cleanup(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
