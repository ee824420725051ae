/* article.c - turns input JSON into a valid, normalized article record, and back to JSON. */
#include "article.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "escape.h"
#include "langtag.h"
#include "media.h"
#include "mem.h"
#include "rfc3339.h"

/* ASCII for U+00C0..U+017F: Latin letters without their accents (lowercase; slugs are). */
static const char *const latin[0x180 - 0xC0] = {
    "a", "a", "a",  "a",  "a", "a", "ae", "c",  "e",  "e", "e", "e", "i",  "i",  "i", "i", "d", "n",
    "o", "o", "o",  "o",  "o", "",  "o",  "u",  "u",  "u", "u", "y", "th", "ss", "a", "a", "a", "a",
    "a", "a", "ae", "c",  "e", "e", "e",  "e",  "i",  "i", "i", "i", "d",  "n",  "o", "o", "o", "o",
    "o", "",  "o",  "u",  "u", "u", "u",  "y",  "th", "y", "a", "a", "a",  "a",  "a", "a", "c", "c",
    "c", "c", "c",  "c",  "c", "c", "d",  "d",  "d",  "d", "e", "e", "e",  "e",  "e", "e", "e", "e",
    "e", "e", "g",  "g",  "g", "g", "g",  "g",  "g",  "g", "h", "h", "h",  "h",  "i", "i", "i", "i",
    "i", "i", "i",  "i",  "i", "i", "ij", "ij", "j",  "j", "k", "k", "k",  "l",  "l", "l", "l", "l",
    "l", "l", "l",  "l",  "l", "n", "n",  "n",  "n",  "n", "n", "n", "n",  "n",  "o", "o", "o", "o",
    "o", "o", "oe", "oe", "r", "r", "r",  "r",  "r",  "r", "s", "s", "s",  "s",  "s", "s", "s", "s",
    "t", "t", "t",  "t",  "t", "t", "u",  "u",  "u",  "u", "u", "u", "u",  "u",  "u", "u", "u", "u",
    "w", "w", "y",  "y",  "y", "z", "z",  "z",  "z",  "z", "z", "s",
};

/* Decodes one code point of valid UTF-8 (jansson has validated it) and advances *p. */
static unsigned next_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	unsigned c = s[0];
	int n = 0;
	if (c < 0x80)
		n = 0;
	else if ((c & 0xe0) == 0xc0)
		c &= 0x1f, n = 1;
	else if ((c & 0xf0) == 0xe0)
		c &= 0x0f, n = 2;
	else if ((c & 0xf8) == 0xf0)
		c &= 0x07, n = 3;
	else
		n = 0; /* not reached for valid input: take the byte */
	size_t i = 1;
	for (; n > 0 && (s[i] & 0xc0) == 0x80; n--, i++)
		c = (c << 6) | (s[i] & 0x3f);
	*p += i;
	return c;
}

size_t article_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* C0 and C1 controls and DEL. U+FFFE and U+FFFF are valid UTF-8 but not XML: the feeds
 * could not carry them. */
static bool is_control(unsigned c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0xfffe || c == 0xffff;
}

/* Controls; newline and tab only where allow_newlines. */
static bool has_controls(const char *s, bool allow_newlines)
{
	const char *p = s;
	while (*p) {
		unsigned c = next_cp(&p);
		if (allow_newlines && (c == '\n' || c == '\t' || c == '\r'))
			continue;
		if (is_control(c))
			return true;
	}
	return false;
}

/* The length of the valid UTF-8 sequence at s with its code point in *cp, or 0. */
static size_t utf8_seq(const unsigned char *s, unsigned *cp)
{
	static const unsigned least[] = {0, 0x80, 0x800, 0x10000};
	size_t n;
	if (s[0] < 0x80)
		n = 1;
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4;
	else
		return 0;
	unsigned c = n == 1 ? s[0] : s[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < least[n - 1] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* A copy of s without controls (newlines and tabs stay) and without invalid UTF-8. cmark
 * decodes entities such as "&#1;" and writes "&#xfffe;" as a lone 0xFE byte: jansson would
 * leave such a string out of the JSON, and the feed would not be XML. */
static char *drop_controls(const char *s)
{
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c;
		size_t n = utf8_seq(p, &c);
		if (n && (!is_control(c) || c == '\n' || c == '\t' || c == '\r'))
			buf_append(&b, p, n);
		p += n ? n : 1;
	}
	return buf_steal(&b, NULL);
}

static char *trimmed(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

void article_slugify(struct buf *out, const char *text, size_t max)
{
	size_t start = out->len;
	bool dash = false;
	const char *p = text;
	while (*p) {
		unsigned c = next_cp(&p);
		const char *ascii = NULL;
		char one[2] = {0, 0};
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			one[0] = (char)c;
			ascii = one;
		} else if (c >= 'A' && c <= 'Z') {
			one[0] = (char)(c - 'A' + 'a');
			ascii = one;
		} else if (c >= 0xc0 && c < 0x180) {
			ascii = latin[c - 0xc0];
		} else if (c >= 0x218 && c <= 0x21b) {
			ascii = (c < 0x21a) ? "s" : "t"; /* Romanian comma-below letters */
		}
		if (ascii && *ascii) {
			if (dash && out->len > start)
				buf_putc(out, '-');
			dash = false;
			buf_puts(out, ascii);
		} else if (c != '\'' && c != 0x2019) {
			dash = true; /* apostrophes join: "don't" -> "dont" */
		}
		if (out->len - start > max)
			break;
	}
	if (out->len - start > max) {
		/* cut at the last '-' that keeps it within max, else hard at max */
		size_t cut = max;
		while (cut > 0 && out->data[start + cut] != '-')
			cut--;
		out->len = start + (cut ? cut : max);
		out->data[out->len] = '\0';
	}
	while (out->len > start && out->data[out->len - 1] == '-')
		out->data[--out->len] = '\0';
}

static void tag_normalize_once(struct buf *out, const char *text)
{
	size_t start = out->len, chars = 0;
	utf8proc_uint8_t *folded = NULL;
	/* NFKC with case folding; default ignorable characters (soft hyphens, joiners) go */
	utf8proc_ssize_t n =
	    utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
	                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
	                     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
	if (n < 0)
		return; /* not UTF-8: nothing of it is a tag */
	bool dash = false;
	const utf8proc_uint8_t *p = folded;
	while (*p && chars <= ARTICLE_TAG_MAX) {
		utf8proc_int32_t c;
		utf8proc_ssize_t len = utf8proc_iterate(p, -1, &c);
		if (len <= 0)
			break;
		const char *latin_letters = NULL;
		if (c >= 0xc0 && c < 0x180)
			latin_letters =
			    latin[c - 0xc0]; /* as slugs: "Zürich" and "zurich" are one tag */
		else if (c >= 0x218 && c <= 0x21b)
			latin_letters = c < 0x21a ? "s" : "t";
		utf8proc_category_t cat = utf8proc_category(c);
		bool keep =
		    (latin_letters && *latin_letters) ||
		    (!latin_letters && cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);
		if (keep) {
			if (dash && out->len > start) {
				buf_putc(out, '-');
				chars++;
			}
			dash = false;
			if (latin_letters) {
				buf_puts(out, latin_letters);
				chars += strlen(latin_letters);
			} else {
				buf_append(out, p, (size_t)len);
				chars++;
			}
		} else if (c != '\'' && c != 0x2019) {
			dash = true; /* apostrophes join: "don't" -> "dont" */
		}
		p += len;
	}
	free(folded);
	if (chars > ARTICLE_TAG_MAX) {
		/* cut to ARTICLE_TAG_MAX characters, at the last '-' within them if there is one */
		const char *s = out->data + start;
		size_t keep = 0, at_dash = 0;
		for (size_t i = 0, k = 0; k < ARTICLE_TAG_MAX; k++) {
			i += 1;
			while (((unsigned char)s[i] & 0xc0) == 0x80)
				i++;
			keep = i;
			if (s[i] == '-')
				at_dash = i;
		}
		out->len = start + (at_dash ? at_dash : keep);
		out->data[out->len] = '\0';
	}
	while (out->len > start && out->data[out->len - 1] == '-')
		out->data[--out->len] = '\0';
}

void article_tag_normalize(struct buf *out, const char *text)
{
	/* twice: a joining apostrophe can leave a letter and a mark side by side that NFKC then
	 * composes (and Latin letters lose their accents), so the first pass need not be final */
	struct buf once = BUF_INIT;
	tag_normalize_once(&once, text);
	tag_normalize_once(out, buf_str(&once));
	buf_cleanup(&once);
}

bool article_tag_valid(const char *tag)
{
	struct buf b = BUF_INIT;
	article_tag_normalize(&b, tag);
	bool same = b.len > 0 && strcmp(buf_str(&b), tag) == 0;
	buf_cleanup(&b);
	return same;
}

bool article_slug_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ARTICLE_SLUG_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-') {
			if (s[i + 1] == '-')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return false;
		}
	}
	return true;
}

bool article_handle_valid(const char *s)
{
	return strlen(s) <= ARTICLE_HANDLE_MAX && article_slug_valid(s);
}

/* cmark-gfm's default is safe: raw HTML becomes a comment, javascript: links are dropped */
#define MARKDOWN_OPTIONS (CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8)

static pthread_once_t extensions_once = PTHREAD_ONCE_INIT;

static void register_extensions(void)
{
	cmark_gfm_core_extensions_ensure_registered();
}

/* GitHub-flavoured Markdown: tables, strikethrough and autolinks. Free the parser (which owns
 * the extensions the renderer needs) after the document. */
static cmark_node *parse_markdown(const char *markdown, size_t len, cmark_parser **parser)
{
	static const char *const extensions[] = {"table", "strikethrough", "autolink"};
	pthread_once(&extensions_once, register_extensions);
	cmark_parser *p = cmark_parser_new(MARKDOWN_OPTIONS);
	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		cmark_syntax_extension *e = cmark_find_syntax_extension(extensions[i]);
		if (e)
			cmark_parser_attach_syntax_extension(p, e);
	}
	cmark_parser_feed(p, markdown, len);
	*parser = p;
	return cmark_parser_finish(p);
}

char *article_markdown_html(const char *markdown, size_t len)
{
	cmark_parser *parser;
	cmark_node *doc = parse_markdown(markdown, len, &parser);
	char *html =
	    cmark_render_html(doc, MARKDOWN_OPTIONS, cmark_parser_get_syntax_extensions(parser));
	cmark_node_free(doc);
	cmark_parser_free(parser);
	if (!html)
		return xstrdup("");
	char *clean = drop_controls(html);
	free(html);
	return clean;
}

static void collect_text(cmark_node *para, struct buf *text)
{
	cmark_iter *it = cmark_iter_new(para);
	cmark_event_type ev;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		if (ev != CMARK_EVENT_ENTER)
			continue;
		cmark_node *n = cmark_iter_get_node(it);
		switch (cmark_node_get_type(n)) {
		case CMARK_NODE_TEXT:
		case CMARK_NODE_CODE: {
			const char *lit = cmark_node_get_literal(n);
			if (lit)
				buf_puts(text, lit);
			break;
		}
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK: buf_putc(text, ' '); break;
		default: break;
		}
	}
	cmark_iter_free(it);
}

void article_summary(struct buf *out, const char *markdown)
{
	cmark_parser *parser;
	cmark_node *doc = parse_markdown(markdown, strlen(markdown), &parser);
	struct buf text = BUF_INIT;
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		if (ev == CMARK_EVENT_ENTER && cmark_node_get_type(n) == CMARK_NODE_PARAGRAPH) {
			collect_text(n, &text);
			break;
		}
	}
	cmark_iter_free(it);
	cmark_node_free(doc);
	cmark_parser_free(parser);

	/* drop what entities brought in that a given summary may not hold, collapse whitespace,
	 * then cut at a word boundary */
	char *plain = drop_controls(buf_str(&text));
	buf_cleanup(&text);
	struct buf clean = BUF_INIT;
	bool space = false;
	for (const char *p = plain; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = clean.len > 0;
			continue;
		}
		if (space)
			buf_putc(&clean, ' ');
		space = false;
		buf_putc(&clean, *p);
	}
	free(plain);
	const char *s = buf_str(&clean);
	if (article_utf8_len(s) <= ARTICLE_SUMMARY_CUT) {
		buf_puts(out, s);
		buf_cleanup(&clean);
		return;
	}
	/* byte offset of the character at ARTICLE_SUMMARY_CUT */
	const char *p = s;
	for (size_t i = 0; i < ARTICLE_SUMMARY_CUT; i++)
		next_cp(&p);
	size_t cut = (size_t)(p - s);
	size_t word = cut, word_chars = ARTICLE_SUMMARY_CUT;
	while (word > 0 && s[word] != ' ') {
		word--;
		/* count characters, not bytes: "near" must mean the same for Chinese text */
		if (((unsigned char)s[word] & 0xc0) != 0x80)
			word_chars--;
	}
	if (word_chars > ARTICLE_SUMMARY_CUT / 2)
		cut = word; /* a word boundary near the limit; else (no spaces, e.g. Chinese) cut
		               hard */
	while (cut > 0 && strchr(" ,;:-", s[cut - 1]))
		cut--;
	buf_append(out, s, cut);
	buf_puts(out, "\xe2\x80\xa6"); /* … */
	buf_cleanup(&clean);
}

void article_init(struct article *a)
{
	memset(a, 0, sizeof(*a));
}

void article_cleanup(struct article *a)
{
	char **strs[] = {&a->slug,         &a->title,      &a->body,     &a->body_html, &a->summary,
	                 &a->published_at, &a->status,     &a->source,   &a->editor,    &a->author,
	                 &a->created_at,   &a->updated_at, &a->language, &a->uri};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (size_t i = 0; i < a->ntags; i++)
		free(a->tags[i]);
	free(a->tags);
	for (size_t i = 0; i < a->nauthors; i++)
		free(a->authors[i]);
	free(a->authors);
	json_decref(a->corrections);
	json_decref(a->image);
	for (size_t i = 0; i < a->nmedia; i++)
		free(a->media[i]);
	free(a->media);
	article_init(a);
}

static int fail(struct article_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct article_error *err, const char *field, const char *fmt, ...)
{
	/* an unknown key is the client's, and goes into JSON: cut it between characters */
	size_t n = strlen(field);
	if (n >= sizeof(err->field)) {
		n = sizeof(err->field) - 1;
		while (n > 0 && ((unsigned char)field[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(err->field, field, n);
	err->field[n] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* An optional string field: NULL when absent or null; -1 when present with another type. */
static int opt_string(const json_t *in, const char *key, const char **out,
                      struct article_error *err)
{
	json_t *v = json_object_get(in, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, key, "must be a string");
	*out = json_string_value(v);
	return 0;
}

static int person(const json_t *in, const char *key, char **out, struct article_error *err)
{
	const char *v;
	if (opt_string(in, key, &v, err) < 0)
		return -1;
	char *t = trimmed(v ? v : "");
	if (article_utf8_len(t) > ARTICLE_PERSON_MAX) {
		free(t);
		return fail(err, key, "must be at most %d characters", ARTICLE_PERSON_MAX);
	}
	if (has_controls(t, false)) {
		free(t);
		return fail(err, key, "must not contain control characters");
	}
	*out = t;
	return 0;
}

static int read_tags(const json_t *in, struct article *a, struct article_error *err)
{
	json_t *tags = json_object_get(in, "tags");
	a->tags = xcalloc(ARTICLE_TAGS_MAX, sizeof(char *));
	if (!tags || json_is_null(tags))
		return 0;
	if (!json_is_array(tags))
		return fail(err, "tags", "must be an array of strings");
	if (json_array_size(tags) > ARTICLE_TAGS_MAX)
		return fail(err, "tags", "must have at most %d tags", ARTICLE_TAGS_MAX);
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		char field[32];
		snprintf(field, sizeof(field), "tags[%zu]", i);
		if (!json_is_string(t))
			return fail(err, field, "must be a string");
		char *raw = trimmed(json_string_value(t));
		size_t len = article_utf8_len(raw);
		if (len < 1 || len > ARTICLE_TAG_MAX) {
			free(raw);
			return fail(err, field, "must be 1 to %d characters", ARTICLE_TAG_MAX);
		}
		struct buf norm = BUF_INIT;
		article_tag_normalize(&norm, raw);
		free(raw);
		if (norm.len == 0) {
			buf_cleanup(&norm);
			return fail(err, field, "must contain a letter or a digit");
		}
		bool dup = false;
		for (size_t j = 0; j < a->ntags; j++)
			dup = dup || strcmp(a->tags[j], norm.data) == 0;
		if (dup)
			buf_cleanup(&norm);
		else
			a->tags[a->ntags++] = buf_steal(&norm, NULL);
	}
	return 0;
}

/* authors: account handles (their existence is the store's to check, in the write's
 * transaction); absent, a new story's are its writer's and a replaced one keeps its own. */
static int read_authors(const json_t *in, struct article *a, struct article_error *err)
{
	json_t *list = json_object_get(in, "authors");
	a->authors = xcalloc(ARTICLE_AUTHORS_MAX, sizeof(char *));
	if (!list || json_is_null(list))
		return 0;
	a->authors_given = true;
	if (!json_is_array(list))
		return fail(err, "authors", "must be an array of account handles");
	if (json_array_size(list) > ARTICLE_AUTHORS_MAX)
		return fail(err, "authors", "must have at most %d handles", ARTICLE_AUTHORS_MAX);
	size_t i;
	json_t *h;
	json_array_foreach(list, i, h)
	{
		char field[32];
		snprintf(field, sizeof(field), "authors[%zu]", i);
		if (!json_is_string(h) || !article_handle_valid(json_string_value(h)))
			return fail(err, field,
			            "must be an account handle (lowercase letters and digits in "
			            "words joined by '-', at most %d characters)",
			            ARTICLE_HANDLE_MAX);
		bool dup = false;
		for (size_t j = 0; j < a->nauthors; j++)
			dup = dup || strcmp(a->authors[j], json_string_value(h)) == 0;
		if (!dup)
			a->authors[a->nauthors++] = xstrdup(json_string_value(h));
	}
	return 0;
}

/* corrections: [{"at": RFC 3339, "text": ...}], kept oldest first, at in UTC. */
static int read_corrections(const json_t *in, struct article *a, struct article_error *err)
{
	json_t *list = json_object_get(in, "corrections");
	if (!list || json_is_null(list))
		return 0;
	a->corrections_given = true;
	if (!json_is_array(list))
		return fail(err, "corrections", "must be an array of {\"at\", \"text\"} objects");
	if (json_array_size(list) > ARTICLE_CORRECTIONS_MAX)
		return fail(err, "corrections", "must have at most %d corrections",
		            ARTICLE_CORRECTIONS_MAX);
	json_t *out = json_array();
	a->corrections = out;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		char field[80];
		snprintf(field, sizeof(field), "corrections[%zu]", i);
		if (!json_is_object(c))
			return fail(err, field, "must be an object with \"at\" and \"text\"");
		const char *key;
		json_t *v;
		json_object_foreach(c, key, v)
		{
			if (strcmp(key, "at") != 0 && strcmp(key, "text") != 0) {
				snprintf(field, sizeof(field), "corrections[%zu].%.20s", i, key);
				return fail(err, field, "is not a field of a correction");
			}
		}
		json_t *at = json_object_get(c, "at"), *text = json_object_get(c, "text");
		struct rfc3339 t;
		if (!json_is_string(at) || rfc3339_parse(json_string_value(at), &t) < 0) {
			snprintf(field, sizeof(field), "corrections[%zu].at", i);
			return fail(err, field,
			            "must be an RFC 3339 time with an offset, like "
			            "2023-01-12T14:33:00+08:00");
		}
		snprintf(field, sizeof(field), "corrections[%zu].text", i);
		if (!json_is_string(text))
			return fail(err, field, "is required: a string");
		char *body = trimmed(json_string_value(text));
		size_t len = article_utf8_len(body);
		if (len < 1 || len > ARTICLE_CORRECTION_MAX || has_controls(body, true)) {
			free(body);
			return fail(err, field,
			            "must be 1 to %d characters without control characters",
			            ARTICLE_CORRECTION_MAX);
		}
		struct buf when = BUF_INIT;
		rfc3339_format_utc(&when, t.utc);
		json_array_append_new(out,
		                      json_pack("{s:s, s:s}", "at", buf_str(&when), "text", body));
		buf_cleanup(&when);
		free(body);
	}
	return 0;
}

int64_t article_corrected_ts(const struct article *a)
{
	int64_t latest = 0;
	size_t i;
	json_t *c;
	json_array_foreach(a->corrections, i, c)
	{
		struct rfc3339 t;
		const char *at = json_string_value(json_object_get(c, "at"));
		if (at && rfc3339_parse(at, &t) == 0 && t.utc > latest)
			latest = t.utc;
	}
	return latest;
}

char *article_extra_text(const struct article *a)
{
	bool corrections = a->corrections && json_array_size(a->corrections) > 0;
	if (!corrections && !a->image)
		return xstrdup("");
	json_t *o = json_object();
	if (corrections)
		json_object_set(o, "corrections", a->corrections);
	if (a->image)
		json_object_set(o, "image", a->image);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text ? text : xstrdup("");
}

void article_extra_from_text(struct article *a, const char *text)
{
	json_decref(a->corrections);
	a->corrections = NULL;
	json_decref(a->image);
	a->image = NULL;
	if (!text || !*text)
		return;
	/* only what read_corrections lets in: each {"at", "text"} with strings */
	json_t *o = json_loads(text, 0, NULL);
	json_t *image = json_object_get(o, "image");
	if (json_is_object(image) && json_is_string(json_object_get(image, "media")) &&
	    json_is_string(json_object_get(image, "alt")))
		a->image = json_incref(image);
	json_t *c = json_object_get(o, "corrections"), *v;
	a->corrections = json_array();
	size_t i;
	json_array_foreach(c, i, v)
	{
		if (json_is_string(json_object_get(v, "at")) &&
		    json_is_string(json_object_get(v, "text")))
			json_array_append(a->corrections, v);
	}
	json_decref(o);
}

static int read_language(const json_t *in, struct article *a, struct article_error *err)
{
	const char *s;
	if (opt_string(in, "language", &s, err) < 0)
		return -1;
	struct buf b = BUF_INIT;
	if (s && *s && !langtag_canonical(s, &b))
		return fail(err, "language",
		            "must be a BCP 47 language tag, like en, zh-Hans or pt-BR");
	a->language = buf_steal(&b, NULL);
	return 0;
}

/* An absolute URI or IRI: a scheme, then no spaces or controls. */
static bool uri_valid(const char *s)
{
	size_t scheme = 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while (
	    s[scheme] &&
	    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", s[scheme]))
		scheme++;
	if (s[scheme] != ':' || !s[scheme + 1])
		return false;
	const char *p = s;
	while (*p) {
		unsigned c = next_cp(&p);
		if (c == ' ' || is_control(c) || c == 0xa0 || (c >= 0x2000 && c <= 0x200b) ||
		    c == 0x3000)
			return false;
	}
	return true;
}

static int read_uri(const json_t *in, struct article *a, struct article_error *err)
{
	const char *s;
	if (opt_string(in, "uri", &s, err) < 0)
		return -1;
	if (s && *s && (article_utf8_len(s) > ARTICLE_URI_MAX || !uri_valid(s)))
		return fail(err, "uri",
		            "must be an absolute URI (a scheme such as https: or urn:, no spaces), "
		            "at most %d characters",
		            ARTICLE_URI_MAX);
	a->uri = xstrdup(s ? s : "");
	return 0;
}

int article_image_texts(const json_t *in, const char *prefix, bool whole, json_t *out,
                        struct article_error *err)
{
	static const char *const texts[] = {"alt", "caption", "credit"};
	for (size_t i = 0; i < 3; i++) {
		char field[32];
		snprintf(field, sizeof(field), "%s%s", prefix, texts[i]);
		json_t *v = json_object_get(in, texts[i]);
		const char *t = json_string_value(v);
		if (!whole && !v)
			continue;
		if (v && !json_is_null(v) && !t)
			return fail(err, field, "must be a string");
		char *trim = trimmed(t ? t : "");
		bool bad = article_utf8_len(trim) > MEDIA_TEXT_MAX || has_controls(trim, false);
		if (bad || (whole && i == 0 && !*trim)) {
			free(trim);
			return !bad ? fail(err, field,
			                   "is required: say what the image shows, for readers who "
			                   "cannot see it")
			            : fail(err, field,
			                   "must be at most %d characters, without control "
			                   "characters",
			                   MEDIA_TEXT_MAX);
		}
		json_object_set_new(out, texts[i], json_string(trim));
		free(trim);
	}
	return 0;
}

/* image: {"media": id, "alt": required, "caption", "credit"}; what the server adds to it
 * (size, renditions, urls) may come back in a PUT of a GET and is made again; null: none. */
static int read_image(const json_t *in, struct article *a, struct article_error *err)
{
	json_t *image = json_object_get(in, "image");
	if (!image)
		return 0;
	a->image_given = true;
	if (json_is_null(image))
		return 0;
	if (!json_is_object(image))
		return fail(
		    err, "image",
		    "must be {\"media\": ID, \"alt\": ..., \"caption\": ..., \"credit\": ...} "
		    "or null");
	const char *media = json_string_value(json_object_get(image, "media"));
	if (!media || !media_id_valid(media))
		return fail(
		    err, "image.media",
		    "must be the id of an uploaded image (%d hex digits, from POST /api/media)",
		    MEDIA_ID_LEN);
	json_t *out = json_pack("{s:s}", "media", media);
	if (article_image_texts(image, "image.", true, out, err) < 0) {
		json_decref(out);
		return -1;
	}
	a->image = out;
	return 0;
}

static const char *const known_fields[] = {
    "title",      "body",     "slug", "summary", "published_at", "status",    "source",
    "editor",     "author",   "tags", "id",      "url",          "body_html", "created_at",
    "updated_at", "language", "uri",  "authors", "corrections",  "image",
};

static int read_only_fields(const json_t *in, enum article_mode mode, struct article *a,
                            struct article_error *err)
{
	json_t *id = json_object_get(in, "id");
	if (id && !json_is_null(id)) {
		/* at most 2^53 - 1: every JSON reader holds it exactly, and a new id (the
		 * largest plus one) can never overflow */
		if (!json_is_integer(id) || json_integer_value(id) < 1 ||
		    json_integer_value(id) > ARTICLE_ID_MAX)
			return fail(err, "id", "must be a whole number from 1 to 9007199254740991");
		if (mode == ARTICLE_IMPORT)
			a->id = json_integer_value(id);
	}
	const char *s;
	if (opt_string(in, "url", &s, err) < 0 || opt_string(in, "body_html", &s, err) < 0)
		return -1;
	const char *stamps[] = {"created_at", "updated_at"};
	for (size_t i = 0; i < 2; i++) {
		struct rfc3339 t;
		if (opt_string(in, stamps[i], &s, err) < 0)
			return -1;
		if (s && rfc3339_parse(s, &t) < 0)
			return fail(err, stamps[i], "must be an RFC 3339 time with an offset");
		if (s && mode == ARTICLE_IMPORT) {
			struct buf b = BUF_INIT;
			rfc3339_format_utc(&b, t.utc);
			char **field = i == 0 ? &a->created_at : &a->updated_at;
			free(*field);
			*field = buf_steal(&b, NULL);
			if (i == 1)
				a->updated_ts = t.utc;
		}
	}
	return 0;
}

int article_from_json(const json_t *in, enum article_mode mode, int64_t now, struct article *a,
                      struct article_error *err)
{
	if (!json_is_object(in))
		return fail(err, "", "an article must be a JSON object");

	const char *key;
	json_t *value;
	json_object_foreach((json_t *)in, key, value)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
			known = known || strcmp(key, known_fields[i]) == 0;
		if (!known)
			return fail(err, key, "is not a field of an article");
	}
	a->created_at = xstrdup("");
	a->updated_at = xstrdup("");
	if (read_only_fields(in, mode, a, err) < 0)
		return -1;

	/* title */
	const char *s;
	if (opt_string(in, "title", &s, err) < 0)
		return -1;
	if (!s)
		return fail(err, "title", "is required");
	a->title = trimmed(s);
	size_t len = article_utf8_len(a->title);
	if (len < 1 || len > ARTICLE_TITLE_MAX)
		return fail(err, "title", "must be 1 to %d characters", ARTICLE_TITLE_MAX);
	if (has_controls(a->title, false))
		return fail(err, "title", "must not contain control characters");

	/* body */
	if (opt_string(in, "body", &s, err) < 0)
		return -1;
	if (!s)
		return fail(err, "body", "is required");
	char *body_trim = trimmed(s);
	bool empty = *body_trim == '\0';
	free(body_trim);
	if (empty)
		return fail(err, "body", "must not be empty");
	if (has_controls(s, true))
		return fail(err, "body", "must not contain control characters");
	a->body = xstrdup(s);
	a->body_html = article_markdown_html(a->body, strlen(a->body));

	/* slug */
	if (opt_string(in, "slug", &s, err) < 0)
		return -1;
	if (s && *s) {
		if (!article_slug_valid(s))
			return fail(
			    err, "slug",
			    "must be lowercase letters and digits in words joined by single "
			    "'-', at most %d characters",
			    ARTICLE_SLUG_MAX);
		a->slug = xstrdup(s);
	} else {
		struct buf b = BUF_INIT;
		article_slugify(&b, a->title, ARTICLE_SLUG_MAX);
		a->slug = buf_steal(&b, NULL);
		a->slug_derived = true;
	}

	/* summary */
	if (opt_string(in, "summary", &s, err) < 0)
		return -1;
	char *summary = trimmed(s ? s : "");
	if (article_utf8_len(summary) > ARTICLE_SUMMARY_MAX) {
		free(summary);
		return fail(err, "summary", "must be at most %d characters", ARTICLE_SUMMARY_MAX);
	}
	if (has_controls(summary, true)) {
		free(summary);
		return fail(err, "summary", "must not contain control characters");
	}
	if (*summary) {
		a->summary = summary;
	} else {
		free(summary);
		struct buf b = BUF_INIT;
		article_summary(&b, a->body);
		a->summary = buf_steal(&b, NULL);
	}

	/* published_at */
	if (opt_string(in, "published_at", &s, err) < 0)
		return -1;
	struct rfc3339 t = {.utc = now, .offset_min = 0, .zulu = 1};
	if (s && rfc3339_parse(s, &t) < 0)
		return fail(
		    err, "published_at",
		    "must be an RFC 3339 time with an offset, like 2023-01-12T14:33:00+08:00");
	struct buf b = BUF_INIT;
	rfc3339_format(&b, &t);
	a->published_at = buf_steal(&b, NULL);
	a->published_ts = t.utc;

	/* status */
	if (opt_string(in, "status", &s, err) < 0)
		return -1;
	if (s && strcmp(s, "published") != 0 && strcmp(s, "draft") != 0)
		return fail(err, "status", "must be \"published\" or \"draft\"");
	a->status = xstrdup(s ? s : "published");
	a->status_given = s != NULL;

	if (person(in, "source", &a->source, err) < 0 ||
	    person(in, "editor", &a->editor, err) < 0 || person(in, "author", &a->author, err) < 0)
		return -1;
	if (read_language(in, a, err) < 0 || read_uri(in, a, err) < 0 ||
	    read_authors(in, a, err) < 0 || read_corrections(in, a, err) < 0 ||
	    read_image(in, a, err) < 0)
		return -1;
	return read_tags(in, a, err);
}

char *article_path(const struct article *a)
{
	return xasprintf("/articles/%s", a->slug);
}

char *article_url(const struct article *a, const char *base_url)
{
	return xasprintf("%s/articles/%s", base_url, a->slug);
}

const char *article_url_slug(const char *url, const char *base_url)
{
	size_t n = strlen(base_url);
	if (strncmp(url, base_url, n) != 0 || strncmp(url + n, "/articles/", 10) != 0)
		return NULL;
	return article_slug_valid(url + n + 10) ? url + n + 10 : NULL;
}

char *article_tag_path(const char *tag, const char *base_url)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/tags/", base_url ? base_url : "");
	escape_url(&b, tag, strlen(tag));
	return buf_steal(&b, NULL);
}

const char *article_language(const struct article *a, const char *site_language)
{
	return a->language && *a->language ? a->language : site_language;
}

json_t *article_image_json(const struct article *a, const char *base_url)
{
	if (!a->image)
		return json_null();
	json_t *o = json_pack("{s:O, s:O, s:O, s:O}", "media", json_object_get(a->image, "media"),
	                      "alt", json_object_get(a->image, "alt"), "caption",
	                      json_object_get(a->image, "caption"), "credit",
	                      json_object_get(a->image, "credit"));
	if (!o)
		return json_null();
	const json_t *rs = json_object_get(a->image, "renditions");
	const json_t *main = media_main_rendition(rs);
	if (!main)
		return o;
	json_object_set(o, "width", json_object_get(a->image, "width"));
	json_object_set(o, "height", json_object_get(a->image, "height"));
	json_object_set_new(o, "url",
	                    json_sprintf("%s/media/%s", base_url,
	                                 json_string_value(json_object_get(main, "path"))));
	json_t *list = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(rs, i, r)
	{
		json_array_append_new(
		    list, json_pack("{s:O, s:O, s:O, s:o}", "width", json_object_get(r, "width"),
		                    "height", json_object_get(r, "height"), "type",
		                    json_object_get(r, "type"), "url",
		                    json_sprintf("%s/media/%s", base_url,
		                                 json_string_value(json_object_get(r, "path")))));
	}
	json_object_set_new(o, "renditions", list);
	return o;
}

/* The picture of a body's image: what cmark made of ![alt](media:ID) is
 * <img src="media:ID" alt="ALT" /> (or with a title), its alt already escaped. */
static int link_body(struct article *a, article_media_fn lookup, void *arg,
                     struct article_error *err)
{
	static const char open[] = "<img src=\"media:";
	if (!strstr(a->body_html, open))
		return 0;
	struct buf out = BUF_INIT;
	const char *p = a->body_html, *hit;
	a->media = xcalloc(ARTICLE_IMAGES_MAX, sizeof(char *));
	while ((hit = strstr(p, open))) {
		buf_append(&out, p, (size_t)(hit - p));
		const char *id = hit + sizeof(open) - 1;
		const char *end = strstr(id, " />");
		const char *alt = strstr(id, "\" alt=\"");
		char mid[MEDIA_ID_LEN + 1];
		size_t idlen = strcspn(id, "\"");
		snprintf(mid, sizeof(mid), "%.*s",
		         (int)(idlen < MEDIA_ID_LEN ? idlen : MEDIA_ID_LEN), id);
		if (!end || !alt || alt > end || idlen != MEDIA_ID_LEN || !media_id_valid(mid)) {
			buf_cleanup(&out);
			return fail(err, "body", "media:%.*s is not an uploaded image's id",
			            (int)(idlen > 32 ? 32 : idlen), id);
		}
		json_t *rec = lookup(mid, arg);
		if (!rec) {
			buf_cleanup(&out);
			return fail(err, "body", "no uploaded image media:%s", mid);
		}
		if (a->nmedia == ARTICLE_IMAGES_MAX) {
			json_decref(rec);
			buf_cleanup(&out);
			return fail(err, "body", "must have at most %d media: images",
			            ARTICLE_IMAGES_MAX);
		}
		a->media[a->nmedia++] = xstrdup(mid);
		alt += 7;
		char *alt_html = xstrndup(alt, strcspn(alt, "\""));
		media_picture_html(&out, rec, alt_html, MEDIA_SIZES);
		free(alt_html);
		json_decref(rec);
		p = end + 3;
	}
	buf_puts(&out, p);
	free(a->body_html);
	a->body_html = buf_steal(&out, NULL);
	return 0;
}

int article_link_media(struct article *a, article_media_fn lookup, void *arg,
                       struct article_error *err)
{
	for (size_t i = 0; i < a->nmedia; i++)
		free(a->media[i]);
	free(a->media);
	a->media = NULL;
	a->nmedia = 0;
	if (a->image) {
		const char *id = json_string_value(json_object_get(a->image, "media"));
		json_t *rec = lookup(id, arg);
		if (!rec)
			return fail(err, "image.media", "no uploaded image '%s'", id);
		json_object_set(a->image, "width", json_object_get(rec, "width"));
		json_object_set(a->image, "height", json_object_get(rec, "height"));
		json_object_set(a->image, "renditions", json_object_get(rec, "renditions"));
		json_decref(rec);
	}
	return link_body(a, lookup, arg, err);
}

json_t *article_to_json(const struct article *a, const char *base_url, const char *site_language,
                        bool with_body)
{
	json_t *tags = json_array();
	for (size_t i = 0; i < a->ntags; i++)
		json_array_append_new(tags, json_string(a->tags[i]));
	char *url = article_url(a, base_url);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "slug", json_string(a->slug));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "title", json_string(a->title));
	json_object_set_new(o, "summary", json_string(a->summary));
	if (with_body) {
		json_object_set_new(o, "body", json_string(a->body));
		json_object_set_new(o, "body_html", json_string(a->body_html));
	}
	json_object_set_new(o, "published_at", json_string(a->published_at));
	json_object_set_new(o, "status", json_string(a->status));
	json_object_set_new(o, "source", json_string(a->source));
	json_object_set_new(o, "editor", json_string(a->editor));
	json_object_set_new(o, "author", json_string(a->author));
	json_object_set_new(o, "tags", tags);
	json_t *authors = json_array();
	for (size_t i = 0; i < a->nauthors; i++)
		json_array_append_new(authors, json_string(a->authors[i]));
	json_object_set_new(o, "authors", authors);
	json_object_set_new(o, "corrections",
	                    a->corrections ? json_copy(a->corrections) : json_array());
	json_object_set_new(o, "image", article_image_json(a, base_url));
	json_object_set_new(o, "language", json_string(article_language(a, site_language)));
	if (a->uri && *a->uri)
		json_object_set_new(o, "uri", json_string(a->uri));
	json_object_set_new(o, "created_at", json_string(a->created_at));
	json_object_set_new(o, "updated_at", json_string(a->updated_at));
	free(url);
	return o;
}
