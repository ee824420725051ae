/* surrogate.c - Surrogate-Key names for pages and for the changes that purge them. */
#include "surrogate.h"

#include <stdbool.h>
#include <string.h>

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void start(struct buf *out, const char *prefix)
{
	if (out->len)
		buf_putc(out, ' ');
	buf_puts(out, prefix);
}

static void encoded(struct buf *out, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (plain(*p)) {
			buf_putc(out, (char)*p);
		} else {
			buf_putc(out, '%');
			buf_putc(out, hex[*p >> 4]);
			buf_putc(out, hex[*p & 15]);
		}
	}
}

void surrogate_article(struct buf *out, int64_t id)
{
	start(out, "");
	buf_printf(out, "article-%lld", (long long)id);
}

void surrogate_tag(struct buf *out, const char *tag)
{
	start(out, "tag-");
	encoded(out, tag);
}

void surrogate_author(struct buf *out, const char *handle)
{
	start(out, "author-");
	encoded(out, handle);
}

void surrogate_byline(struct buf *out, const char *handle)
{
	start(out, "byline-");
	encoded(out, handle);
}

void surrogate_account(struct buf *out, const char *handle)
{
	start(out, SURROGATE_FEED); /* its entries name their authors */
	surrogate_author(out, handle);
	surrogate_byline(out, handle);
}

static void story_keys(struct buf *out, const struct article *a, const struct article *other)
{
	surrogate_article(out, a->id);
	for (size_t i = 0; i < a->ntags; i++) {
		bool again = false;
		for (size_t j = 0; other && j < other->ntags && !again; j++)
			again = strcmp(other->tags[j], a->tags[i]) == 0;
		if (!again)
			surrogate_tag(out, a->tags[i]);
	}
	for (size_t i = 0; i < a->nauthors; i++) {
		bool again = false;
		for (size_t j = 0; other && j < other->nauthors && !again; j++)
			again = strcmp(other->authors[j], a->authors[i]) == 0;
		if (!again)
			surrogate_author(out, a->authors[i]);
	}
}

void surrogate_change(struct buf *out, const struct article *old, const struct article *new_)
{
	if (!old && !new_)
		return;
	const char *fixed[] = {SURROGATE_FRONT, SURROGATE_SEARCH, SURROGATE_FEED,
	                       SURROGATE_SITEMAP};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		start(out, fixed[i]);
	if (new_)
		story_keys(out, new_, NULL);
	if (old) {
		/* the old version's keys that the new one did not name already */
		struct buf more = BUF_INIT;
		story_keys(&more, old, new_);
		/* a story keeps its id: only its tags and authors can be new */
		const char *rest = buf_str(&more);
		if (new_) {
			rest = strchr(rest, ' ');
			rest = rest ? rest + 1 : "";
		}
		if (*rest)
			start(out, rest);
		buf_cleanup(&more);
	}
}

bool surrogate_valid(const char *text)
{
	if (!*text)
		return false;
	bool word = false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == ' ') {
			if (!word)
				return false;
			word = false;
		} else if (plain(*p) || *p == '%') {
			word = true;
		} else {
			return false;
		}
	}
	return word;
}
