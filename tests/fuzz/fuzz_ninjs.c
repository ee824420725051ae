/* fuzz_ninjs.c - libFuzzer target: any bytes as a ninjs document (and as an HTML body). A
 * document is a story or a named error, never a crash; a story's HTML has no script, no event
 * handler and no javascript: link, and comes back as a ninjs document with its uri. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "article.h"
#include "fuzz.h"
#include "mem.h"
#include "ninjs.h"

#define BASE_URL "https://news.example.org"

/* Checks every tag of html (text is escaped, so only tags can hold markup): no script, style
 * or frame element, no event handler, no javascript: or data: link. */
static void check_html(const char *html, const char *what)
{
	for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
		const char *end = strchr(p, '>');
		fuzz_check(end, "%s: an unclosed tag in %s", what, html);
		char *tag = xstrndup(p, (size_t)(end - p + 1));
		fuzz_check(
		    strncasecmp(tag, "<script", 7) != 0 && strncasecmp(tag, "<style", 6) != 0 &&
		        strncasecmp(tag, "<iframe", 7) != 0 && strncasecmp(tag, "<img", 4) != 0,
		    "%s: tag %s in %s", what, tag, html);
		fuzz_check(!strcasestr(tag, " on"), "%s: tag %s in %s", what, tag, html);
		const char *href = strstr(tag, " href=\"");
		if (href) {
			href += 7;
			fuzz_check(strncasecmp(href, "http://", 7) == 0 ||
			               strncasecmp(href, "https://", 8) == 0 ||
			               strncasecmp(href, "mailto:", 7) == 0 ||
			               strncasecmp(href, "ftp://", 6) ==
			                   0, /* GFM autolinks ftp:// */
			           "%s: link %s in %s", what, tag, html);
		}
		free(tag);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the bytes as an HTML body: its Markdown renders to safe HTML */
	struct buf md = BUF_INIT;
	ninjs_html_markdown(&md, (const char *)data, size);
	char *html = article_markdown_html(buf_str(&md), md.len);
	check_html(html, "HTML body");
	free(html);
	buf_cleanup(&md);

	/* the bytes as a document, and as the body of one */
	json_t *docs[2] = {json_loadb((const char *)data, size, 0, NULL), NULL};
	char *text = xstrndup((const char *)data, size);
	json_t *body = json_string(text);
	free(text);
	if (body)
		docs[1] =
		    json_pack("{s:s, s:[{s:s}], s:[{s:s, s:o}]}", "uri", "urn:fuzz:1", "headlines",
		              "value", "H", "bodies", "contentType", "text/html", "value", body);
	for (int i = 0; i < 2; i++) {
		if (!docs[i])
			continue;
		struct article a;
		article_init(&a);
		struct article_error err;
		json_t *ignored = json_array();
		int rc =
		    ninjs_to_article(docs[i], ARTICLE_API, 1700000000, BASE_URL, &a, &err, ignored);
		if (rc == 0) {
			check_html(a.body_html, "story");
			a.id = 1;
			free(a.created_at);
			free(a.updated_at);
			a.created_at = xstrdup("2023-01-12T06:33:00Z");
			a.updated_at = xstrdup("2023-01-12T06:33:00Z");
			if (!*a.slug) {
				free(a.slug);
				a.slug = xstrdup("article-1");
			}
			json_t *out = ninjs_from_article(&a, BASE_URL, "en");
			fuzz_check(out != NULL, "ninjs_from_article gave NULL");
			fuzz_check(json_is_string(json_object_get(out, "uri")), "no uri");
			json_decref(out);
		} else {
			fuzz_check(*err.message, "an error without a message");
		}
		json_decref(ignored);
		article_cleanup(&a);
		json_decref(docs[i]);
	}
	return 0;
}
