/* fuzz_textsearch.c - libFuzzer target: the tokenizer on any bytes. Every term is non-empty,
 * at most TEXTSEARCH_TERM_MAX bytes of valid UTF-8 without spaces or controls, comes from bytes
 * of the input in order, and is its own only term when tokenized again (folding is stable). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "fuzz.h"
#include "textsearch.h"

struct seen {
	size_t len;
	size_t last_start;
	unsigned terms;
};

struct again {
	const char *term;
	size_t len;
	unsigned terms;
	bool same;
};

static int check_again(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct again *a = ctx;
	a->terms++;
	a->same = len == a->len && memcmp(term, a->term, len) == 0;
	return 0;
}

static int check_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct seen *s = ctx;
	fuzz_check(len > 0 && len <= TEXTSEARCH_TERM_MAX, "term of %zu bytes", len);
	fuzz_check(start < end && end <= s->len, "term from [%zu, %zu) of %zu bytes", start, end,
	           s->len);
	fuzz_check(s->terms == 0 || start >= s->last_start, "term at %zu after one at %zu", start,
	           s->last_start);
	s->last_start = start;
	s->terms++;
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)term;
	for (size_t i = 0; i < len;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
		fuzz_check(n > 0, "invalid UTF-8 in a term at byte %zu", i);
		fuzz_check(c > 0x20 && c != 0x7f, "control or space U+%04X in a term", (unsigned)c);
		i += (size_t)n;
	}
	struct again a = {term, len, 0, false};
	textsearch_tokenize(term, len, check_again, &a);
	fuzz_check(a.terms == 1 && a.same, "term '%.*s' tokenizes to %u other terms", (int)len,
	           term, a.terms);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {size, 0, 0};
	fuzz_check(textsearch_tokenize((const char *)data, size, check_term, &s) == 0, "stopped");
	return 0;
}
