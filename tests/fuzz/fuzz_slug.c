/* fuzz_slug.c - libFuzzer target: any valid UTF-8 text slugified with any limit; the result
 * is a valid slug (or empty) within the limit, and slugifying a slug changes nothing. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "article.h"
#include "buf.h"
#include "fuzz.h"
#include "mem.h"

/* [a-z0-9]+(-[a-z0-9]+)* of any length (article_slug_valid stops at 120). */
static bool slug_shape(const char *s)
{
	bool word = false;
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
			word = true;
		else if (*s == '-' && word)
			word = false;
		else
			return false;
	}
	return word;
}

static void check(const char *text, size_t max)
{
	static const char prefix[] = "kept-";
	struct buf out = BUF_INIT;
	buf_puts(&out, prefix);
	article_slugify(&out, text, max);
	fuzz_check(strncmp(buf_str(&out), prefix, strlen(prefix)) == 0, "the prefix was changed");
	const char *slug = buf_str(&out) + strlen(prefix);
	size_t n = strlen(slug);
	fuzz_check(n == out.len - strlen(prefix), "len %zu but strlen %zu", out.len, n);
	fuzz_check(n <= max, "'%s' is longer than %zu", slug, max);
	fuzz_check(n == 0 || slug_shape(slug), "'%s' is not a slug", slug);
	if (max <= ARTICLE_SLUG_MAX)
		fuzz_check(n == 0 || article_slug_valid(slug), "article_slug_valid('%s')", slug);

	struct buf again = BUF_INIT;
	article_slugify(&again, slug, max);
	fuzz_check(strcmp(buf_str(&again), slug) == 0, "'%s' slugifies to '%s'", slug,
	           buf_str(&again));
	buf_cleanup(&again);
	buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* the first byte picks the limit; the rest is the text */
	size_t max = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	json_t *valid = json_stringn(text, len); /* NULL unless valid UTF-8 */
	if (!valid)
		return 0;
	json_decref(valid);
	char *s = xstrndup(text, len);
	check(s, max);
	check(s, ARTICLE_SLUG_MAX);
	check(s, ARTICLE_TAG_MAX);
	free(s);
	return 0;
}
