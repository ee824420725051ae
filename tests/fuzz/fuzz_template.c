/* fuzz_template.c - libFuzzer target: any bytes as a template, parsed, checked and rendered. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "fuzz.h"
#include "template.h"

/*
 * Arrays hold one item each: nested sections over longer lists grow output exponentially,
 * which is a property of Mustache and not a bug worth a timeout.
 */
static const char context_json[] =
    "{\"a\": \"x<&>'\\\"\", \"b\": {\"c\": [1], \"d\": 1.5, \"e\": true, \"a\": \"in b\"},"
    " \"n\": null, \"l\": [{\"a\": \"y\", \"p\": \"part2\"}], \"p\": \"part1\", \"s\": \"\","
    " \"i\": 42, \"f\": false, \"t\": \"input\", \"nl\": \"1\\n2\"}";

static const char *const partials[][2] = {
    {"part1", "P1{{a}}\n  {{>part2}}\n{{$blk}}d{{/blk}}\n"},
    {"part2", "{{#b}}{{d}}{{/b}}\n{{<layout}}{{$blk}}o{{/blk}}{{/layout}}"},
    {"layout", "<{{$blk}}\n  x {{nl}}\n{{/blk}}>\n  {{$other}}{{/other}}\n"},
    /* Wraps the input as a parent and as an indented partial. */
    {"wrap", "  {{<input}}{{$blk}}\n    W\n{{/blk}}{{/input}}\n\t{{>*t}}\n"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpl_set *set = tpl_set_new();
	struct buf out = BUF_INIT, err = BUF_INIT;
	json_t *ctx = json_loads(context_json, 0, NULL);

	if (!ctx)
		abort();
	for (size_t i = 0; i < sizeof(partials) / sizeof(partials[0]); i++) {
		int rc = tpl_set_add(set, partials[i][0], partials[i][0], partials[i][1],
		                     strlen(partials[i][1]), &err);
		fuzz_check(rc == 0, "fixed partial: %s", buf_str(&err));
	}
	/* The input may include itself: the depth bound must stop it. */
	if (tpl_set_add(set, "input", "input", (const char *)data, size, &err) == 0) {
		tpl_set_check(set, &err);
		tpl_render(set, tpl_set_get(set, "input"), ctx, &out, &err);
		buf_reset(&out);
		tpl_render(set, tpl_set_get(set, "wrap"), ctx, &out, &err);
		buf_reset(&out);
		tpl_render(set, tpl_set_get(set, "input"), NULL, &out, &err);
	} else {
		/* a parse error says where, and leaves the set as it was */
		fuzz_check(strncmp(buf_str(&err), "input:", 6) == 0, "message: %s", buf_str(&err));
		fuzz_check(tpl_set_get(set, "input") == NULL, "a failed add changed the set");
	}
	buf_cleanup(&out);
	buf_cleanup(&err);
	json_decref(ctx);
	tpl_set_free(set);
	return 0;
}
