/* article.h - the article record (SPEC §4): validation, slugs, summaries, Markdown to HTML. */
#ifndef GAZETTE_ARTICLE_H
#define GAZETTE_ARTICLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ARTICLE_TITLE_MAX       300
#define ARTICLE_SLUG_MAX        120
#define ARTICLE_SUMMARY_MAX     500
#define ARTICLE_SUMMARY_CUT     300
#define ARTICLE_PERSON_MAX      200
#define ARTICLE_TAGS_MAX        20
#define ARTICLE_TAG_MAX         50
#define ARTICLE_ID_MAX          9007199254740991LL /* 2^53 - 1 */
#define ARTICLE_URI_MAX         500
#define ARTICLE_AUTHORS_MAX     10 /* handles in authors */
#define ARTICLE_HANDLE_MAX      60 /* an account's handle: a slug of at most this many characters */
#define ARTICLE_CORRECTIONS_MAX 50
#define ARTICLE_CORRECTION_MAX  2000 /* characters of one correction's text */
#define ARTICLE_IMAGES_MAX      20   /* media:ID images in one body */

/* One record. Strings are owned by the record and never NULL once filled. */
struct article {
	int64_t id;        /* 0 until stored */
	char *slug;        /* "" when it is to be derived */
	bool slug_derived; /* derived from the title: a taken slug gets -2, -3, ... */
	char *title;
	char *body;
	char *body_html;
	char *summary;
	char *published_at; /* RFC 3339 with the offset it was given */
	int64_t published_ts;
	char *status;      /* "published" or "draft" */
	bool status_given; /* the input named it (else a contributor's story is a draft) */
	char *source;
	char *editor;
	char *author;
	char *language; /* BCP 47 in canonical case; "" for the site's */
	char *uri;      /* the ninjs uri it came in under (absolute, with a scheme); "" for none */
	char **tags;    /* normalized, unique, in the order given */
	size_t ntags;
	char **authors; /* account handles (SPEC §11), unique, in the order given */
	size_t nauthors;
	bool authors_given;     /* the input named them (else a new story's are its writer's) */
	json_t *corrections;    /* [{"at": RFC 3339, "text": ...}], oldest first; NULL for none */
	bool corrections_given; /* the input named them (else a replaced story keeps its own) */
	/* the story's picture (SPEC §12): {"media", "alt", "caption", "credit"} as given, and
	 * once linked (article_link_media) its "width", "height" and "renditions"; NULL: none */
	json_t *image;
	bool image_given; /* the input named it (null included: no picture) */
	char **media;     /* the media ids body's images name, once linked */
	size_t nmedia;
	char *created_at; /* RFC 3339 UTC; "" until stored */
	char *updated_at;
	int64_t updated_ts;
};

/* Where an input went wrong: the field and what is wrong with it. */
struct article_error {
	char field[64];
	char message[192];
};

enum article_mode {
	ARTICLE_API,    /* POST/PUT: server-made fields (id, url, body_html, dates) are ignored */
	ARTICLE_IMPORT, /* import: also keeps id, created_at and updated_at from an export */
};

void article_init(struct article *a);
void article_cleanup(struct article *a);

/* Validates a JSON object and fills a (initialized, empty) with a normalized record:
 * body_html rendered, summary derived when absent, published_at defaulting to now.
 * Returns 0, or -1 with err filled and a left for article_cleanup. */
int article_from_json(const json_t *in, enum article_mode mode, int64_t now, struct article *a,
                      struct article_error *err);

/* The record as the API shows it (SPEC §4 output): adds id and url, and language (the site's,
 * site_language, when the record has none of its own); uri only when it has one. with_body
 * false leaves out body and body_html (for lists). Returns a new reference. */
json_t *article_to_json(const struct article *a, const char *base_url, const char *site_language,
                        bool with_body);

/* The record's language: its own, or site_language. */
const char *article_language(const struct article *a, const char *site_language);

/* Where a story's page is: "/articles/<slug>", and with base_url before it. Free the result. */
char *article_path(const struct article *a);
char *article_url(const struct article *a, const char *base_url);

/* The slug a story's URL names (a pointer into url), or NULL when url is no story URL under
 * base_url. */
const char *article_url_slug(const char *url, const char *base_url);

/* Where a tag's page is: "/tags/" and the tag percent-encoded ("/tags/%E7%BB%8F%E6%B5%8E"), with
 * base_url before it (NULL: none). Free the result. */
char *article_tag_path(const char *tag, const char *base_url);

/* A tag as stored and shown (SPEC §15): NFKC case folded, Latin letters without their accents
 * as in slugs, letters, marks and digits of every script kept, every other run one '-', at most
 * ARTICLE_TAG_MAX characters cut at a '-'. "Économie" gives "economie", "经济" stays "经济",
 * "🎉" gives nothing. Appends to out (nothing for invalid UTF-8). */
void article_tag_normalize(struct buf *out, const char *text);

/* Whether tag is a tag as article_tag_normalize writes it (and not empty). */
bool article_tag_valid(const char *tag);

/* Whether s is a valid slug: [a-z0-9]+(-[a-z0-9]+)*, at most 120 characters. */
bool article_slug_valid(const char *s);

/* Whether s is a valid account handle: a slug of at most ARTICLE_HANDLE_MAX characters. */
bool article_handle_valid(const char *s);

/* The time of the record's latest correction (0 for none): dateModified moves with it. */
int64_t article_corrected_ts(const struct article *a);

/* a's picture as the API shows it: {"media", "alt", "caption", "credit", "width", "height",
 * "url" (its main JPEG), "renditions": [{"width", "height", "type", "url"}]}, or JSON null.
 * A new reference. */
json_t *article_image_json(const struct article *a, const char *base_url);

/* An image's alt, caption and credit from in into out, trimmed: text of at most
 * MEDIA_TEXT_MAX characters without control characters, fields named prefix + key. whole: all
 * three, an absent one empty and alt required (a story's picture); else only those in in (an
 * edit). Returns 0, or -1 with err filled. */
int article_image_texts(const json_t *in, const char *prefix, bool whole, json_t *out,
                        struct article_error *err);

/* What article_link_media asks for each media id: its record as stored (a new reference), or
 * NULL when there is none. */
typedef json_t *(*article_media_fn)(const char *id, void *arg);

/* Ties a's picture and the media:ID images of its body to their records: the picture gets
 * its size and renditions, and each image of body_html becomes a responsive <picture>.
 * Returns 0, or -1 with err naming the field and the id that is no image's. */
int article_link_media(struct article *a, article_media_fn lookup, void *arg,
                       struct article_error *err);

/* The record's fields an engine keeps in one text (corrections, image), as JSON ("" for none), and
 * back: a text that is not what article_extra_text wrote leaves a without them. */
char *article_extra_text(const struct article *a);
void article_extra_from_text(struct article *a, const char *text);

/* Derives a slug from text: Latin letters lose their accents, ASCII letters and digits are
 * lowercased, every other run becomes one '-', at most max characters cut at a '-'.
 * The result may be empty (a Chinese title, say). Appends to out. */
void article_slugify(struct buf *out, const char *text, size_t max);

/* The plain text of the first paragraph of Markdown, cut at a word boundary near 300
 * characters with an ellipsis. Appends to out. */
void article_summary(struct buf *out, const char *markdown);

/* GitHub-flavoured Markdown (tables, strikethrough, autolinks) to HTML with raw HTML and unsafe
 * links suppressed. Returns a malloc'd string. */
char *article_markdown_html(const char *markdown, size_t len);

/* Number of Unicode characters in valid UTF-8. */
size_t article_utf8_len(const char *s);

#endif
