/* test_mustache_spec.c - runs each test of the official Mustache spec files as a cmocka test. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "mem.h"
#include "template.h"

/* The required files and the optional modules we implement; lambdas are out of scope. */
static const char *const spec_files[] = {
    "comments", "delimiters", "interpolation", "inverted",
    "partials", "sections",   "~inheritance",  "~dynamic-names",
};

/* Not a name any spec partial uses, so the template under test cannot shadow one. */
#define MAIN_NAME "\x01spec-template"

/* Prints s as a JSON string, so that whitespace and line endings are visible. */
static void print_quoted(const char *label, const char *s, size_t len)
{
	json_t *j = json_stringn_nocheck(s, len);
	char *q = json_dumps(j, JSON_ENCODE_ANY);
	print_message("%-9s %s\n", label, q ? q : "(unprintable)");
	free(q);
	json_decref(j);
}

static void run_spec_test(void **state)
{
	json_t *test = *state;
	json_t *tmpl = json_object_get(test, "template");
	json_t *expected = json_object_get(test, "expected");
	json_t *partials = json_object_get(test, "partials");
	struct tpl_set *set = tpl_set_new();
	struct buf out = BUF_INIT, err = BUF_INIT;
	const char *name;
	json_t *src;
	int rc = 0;

	assert_true(json_is_string(tmpl) && json_is_string(expected));
	json_object_foreach(partials, name, src)
	{
		if (rc == 0)
			rc = tpl_set_add(set, name, name, json_string_value(src),
			                 json_string_length(src), &err);
	}
	if (rc == 0)
		rc = tpl_set_add(set, MAIN_NAME, "template", json_string_value(tmpl),
		                 json_string_length(tmpl), &err);
	if (rc == 0)
		rc = tpl_render(set, tpl_set_get(set, MAIN_NAME), json_object_get(test, "data"),
		                &out, &err);

	bool ok = rc == 0 && out.len == json_string_length(expected) &&
	          memcmp(buf_str(&out), json_string_value(expected), out.len) == 0;
	if (!ok) {
		print_quoted("template:", json_string_value(tmpl), json_string_length(tmpl));
		print_quoted("expected:", json_string_value(expected),
		             json_string_length(expected));
		print_quoted("got:", buf_str(&out), out.len);
		if (rc)
			print_message("error:    %s\n", buf_str(&err));
	}
	buf_cleanup(&out);
	buf_cleanup(&err);
	tpl_set_free(set);
	assert_true(ok);
}

/*
 * cmocka_run_group_tests_name counts the tests with sizeof, so it is handed the heap array
 * through a pointer to an array of the run-time length.
 */
static int run_group(const struct CMUnitTest *tests, size_t n)
{
	const struct CMUnitTest(*group)[n] = (const struct CMUnitTest(*)[n])tests;
	return cmocka_run_group_tests_name("mustache spec", *group, NULL, NULL);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("MUSTACHE_SPEC_DIR");
	struct stat st;
	json_t *docs[sizeof(spec_files) / sizeof(spec_files[0])] = {NULL};
	struct CMUnitTest *tests = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 1;

	if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		printf("mustache spec folder %s not found: skipped\n", dir ? dir : "(unset)");
		return 77;
	}
	for (size_t f = 0; f < sizeof(spec_files) / sizeof(spec_files[0]); f++) {
		char *path = xasprintf("%s/%s.json", dir, spec_files[f]);
		json_error_t jerr;
		docs[f] = json_load_file(path, 0, &jerr);
		if (!docs[f]) {
			fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
			free(path);
			goto out;
		}
		free(path);
		json_t *list = json_object_get(docs[f], "tests");
		size_t i;
		json_t *test;
		json_array_foreach(list, i, test)
		{
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				tests = xrealloc(tests, cap * sizeof(*tests));
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n] = xasprintf("%s: %s", spec_files[f],
			                     json_string_value(json_object_get(test, "name")));
			tests[n] = (struct CMUnitTest){
			    .name = names[n],
			    .test_func = run_spec_test,
			    .initial_state = test,
			};
			n++;
		}
	}
	if (!n) {
		fprintf(stderr, "%s: no spec tests found\n", dir);
		goto out;
	}
	rc = run_group(tests, n);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	for (size_t f = 0; f < sizeof(docs) / sizeof(docs[0]); f++)
		json_decref(docs[f]);
	return rc;
}
