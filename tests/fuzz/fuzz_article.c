/* fuzz_article.c - libFuzzer target: any bytes as an article's JSON, validated both ways and
 * written back out; a stored record read back by import must come out the same. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "article.h"
#include "fuzz.h"
#include "mem.h"

#define NOW      1673505180 /* 2023-01-12T06:33:00Z: fixed, so a run replays exactly */
#define BASE_URL "http://localhost:8080"

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "(null)", b ? b : "(null)") == 0;
}

/* What export writes and import reads must describe the same record. */
static void check_same(const struct article *a, const struct article *b)
{
	const char *fa[] = {a->slug,         a->title,  a->body,   a->body_html, a->summary,
	                    a->published_at, a->status, a->source, a->editor,    a->author};
	const char *fb[] = {b->slug,         b->title,  b->body,   b->body_html, b->summary,
	                    b->published_at, b->status, b->source, b->editor,    b->author};
	for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++)
		fuzz_check(same(fa[i], fb[i]), "field %zu: '%s' came back as '%s'", i, fa[i],
		           fb[i]);
	fuzz_check(a->published_ts == b->published_ts, "published_ts");
	fuzz_check(a->ntags == b->ntags, "%zu tags came back as %zu", a->ntags, b->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		fuzz_check(same(a->tags[i], b->tags[i]), "tag '%s' came back as '%s'", a->tags[i],
		           b->tags[i]);
}

/* A valid record as the store would hold it: every field a validated string. */
static void check_record(const struct article *a)
{
	const char *f[] = {a->slug,    a->title,        a->body,       a->body_html,
	                   a->summary, a->published_at, a->status,     a->source,
	                   a->editor,  a->author,       a->created_at, a->updated_at};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		fuzz_check(f[i] != NULL, "field %zu is NULL", i);
	fuzz_check(!*a->slug || article_slug_valid(a->slug), "slug '%s'", a->slug);
	fuzz_check(a->ntags <= ARTICLE_TAGS_MAX, "%zu tags", a->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		fuzz_check(article_tag_valid(a->tags[i]) &&
		               article_utf8_len(a->tags[i]) <= ARTICLE_TAG_MAX &&
		               !strpbrk(a->tags[i], " /?#%"),
		           "tag '%s'", a->tags[i]);
	fuzz_check(article_utf8_len(a->summary) <= ARTICLE_SUMMARY_MAX, "summary too long");
	/* entities in the Markdown must not bring in what XML (the feed) cannot hold */
	for (const char *p = a->body_html; *p; p++)
		fuzz_check((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t' || *p == '\r',
		           "body_html holds byte 0x%02x", (unsigned char)*p);
}

static void one_mode(const json_t *in, enum article_mode mode)
{
	struct article a, b;
	struct article_error err;
	article_init(&a);
	article_init(&b);
	memset(&err, 0, sizeof(err));
	if (article_from_json(in, mode, NOW, &a, &err) < 0) {
		fuzz_check(*err.message, "an error without a message");
		/* the API puts both into its JSON error */
		json_t *field = json_string(err.field), *message = json_string(err.message);
		fuzz_check(field && message, "an error that is not UTF-8: '%s: %s'", err.field,
		           err.message);
		json_decref(field);
		json_decref(message);
		goto done;
	}
	check_record(&a);
	json_t *out = article_to_json(&a, BASE_URL, "en", true);
	fuzz_check(out != NULL, "article_to_json gave NULL");
	/* jansson refuses invalid UTF-8 by leaving the key out: every field must be there */
	static const char *const keys[] = {
	    "slug",   "url",    "title",  "summary", "body",       "body_html", "published_at",
	    "status", "source", "editor", "author",  "created_at", "updated_at"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fuzz_check(json_is_string(json_object_get(out, keys[i])), "no '%s' in the JSON",
		           keys[i]);
	fuzz_check(json_array_size(json_object_get(out, "tags")) == a.ntags, "tags in the JSON");
	char *text = json_dumps(out, JSON_COMPACT);
	fuzz_check(text != NULL, "the article's JSON does not serialize");
	free(text);
	json_decref(out);

	/* As the store holds it: an id, dates, and a slug (derived ones may be empty until then).
	 */
	a.id = 7;
	if (!*a.slug) {
		free(a.slug);
		a.slug = xstrdup("article-7");
	}
	if (!*a.created_at) {
		free(a.created_at);
		a.created_at = xstrdup("2023-01-12T06:33:00Z");
	}
	if (!*a.updated_at) {
		free(a.updated_at);
		a.updated_at = xstrdup("2023-01-12T06:33:00Z");
	}
	out = article_to_json(&a, BASE_URL, "en", true);
	if (article_from_json(out, ARTICLE_IMPORT, NOW, &b, &err) < 0)
		fuzz_check(0, "export then import fails: %s: %s", err.field, err.message);
	check_same(&a, &b);
	fuzz_check(b.id == a.id, "id");
	fuzz_check(same(a.created_at, b.created_at) && same(a.updated_at, b.updated_at),
	           "created_at '%s' -> '%s', updated_at '%s' -> '%s'", a.created_at, b.created_at,
	           a.updated_at, b.updated_at);
	json_decref(out);
done:
	article_cleanup(&a);
	article_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!in)
		return 0;
	one_mode(in, ARTICLE_API);
	one_mode(in, ARTICLE_IMPORT);
	json_decref(in);
	return 0;
}
