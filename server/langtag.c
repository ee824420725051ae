/* langtag.c - RFC 5646's ABNF, subtag by subtag. */
#include "langtag.h"

#include <string.h>

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all(const char *s, size_t n, bool (*test)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!test(s[i]))
			return false;
	return true;
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Where the subtags are in the tag's grammar, in order. */
enum part { LANGUAGE, EXTLANG, SCRIPT, REGION, VARIANT, EXTENSION, PRIVATE };

bool langtag_canonical(const char *s, struct buf *out)
{
	size_t total = strlen(s);
	if (total == 0 || total > LANGTAG_MAX)
		return false;
	struct buf b = BUF_INIT;
	enum part at = LANGUAGE;
	unsigned extlangs = 0;
	bool ext_open = false; /* a singleton waiting for its first subtag */
	bool ok = true;
	unsigned privates = 0; /* subtags after the "x" */
	const char *p = s;
	for (bool first = true; ok; first = false) {
		size_t n = strcspn(p, "-");
		const char *t = p;
		ok = n >= 1 && n <= 8 && all(t, n, is_alnum);
		if (!ok)
			break;
		enum { KEEP, LOWER, TITLE, UPPER } how = LOWER;
		if (first) {
			if (n == 1 && lower(*t) == 'x') {
				at = PRIVATE;
			} else {
				ok = n >= 2 && all(t, n, is_alpha); /* 2-3 letters, or 4-8 */
				if (n > 3)
					extlangs = 3; /* no extlang after a long language */
			}
		} else if (at == PRIVATE) {
			privates++; /* private use: any 1-8 alphanumerics */
		} else if (ext_open) {
			ok = n >= 2;
			ext_open = false;
		} else if (n == 1) {
			if (lower(*t) == 'x') {
				at = PRIVATE;
			} else {
				at = EXTENSION;
				ext_open = true;
			}
		} else if (at == EXTENSION) {
			ok = n >= 2;
		} else if (n == 3 && all(t, n, is_alpha) && at <= EXTLANG && extlangs < 3) {
			at = EXTLANG;
			extlangs++;
		} else if (n == 4 && all(t, n, is_alpha) && at <= EXTLANG) {
			at = SCRIPT;
			how = TITLE;
		} else if (((n == 2 && all(t, n, is_alpha)) || (n == 3 && all(t, n, is_digit))) &&
		           at <= SCRIPT) {
			at = REGION;
			how = UPPER;
		} else if ((n >= 5 || (n == 4 && is_digit(*t))) && at <= VARIANT) {
			at = VARIANT;
		} else {
			ok = false;
		}
		if (!ok)
			break;
		if (b.len)
			buf_putc(&b, '-');
		for (size_t i = 0; i < n; i++)
			buf_putc(&b, how == UPPER || (how == TITLE && i == 0) ? upper(t[i])
			                                                      : lower(t[i]));
		p += n;
		if (!*p)
			break;
		p++; /* the '-' */
		if (!*p)
			ok = false; /* a tag ends with a subtag, not a '-' */
	}
	/* a singleton, and the "x", each need a subtag after them */
	ok = ok && !ext_open && (at != PRIVATE || privates > 0);
	if (ok)
		buf_append(out, b.data, b.len);
	buf_cleanup(&b);
	return ok;
}

void langtag_news(const char *tag, struct buf *out)
{
	size_t n = strcspn(tag, "-");
	if (n == 2 && lower(tag[0]) == 'z' && lower(tag[1]) == 'h') {
		bool traditional = false;
		for (const char *p = tag + n; *p == '-';) {
			p++;
			size_t m = strcspn(p, "-");
			char sub[9] = {0};
			for (size_t i = 0; i < m && i < 8; i++)
				sub[i] = lower(p[i]);
			if (m == 1)
				break; /* extensions and private use say nothing of the script */
			if (!strcmp(sub, "hant") || !strcmp(sub, "tw") || !strcmp(sub, "hk") ||
			    !strcmp(sub, "mo"))
				traditional = true;
			if (!strcmp(sub, "hans"))
				break; /* the script decides over the region */
			p += m;
		}
		buf_puts(out, traditional ? "zh-tw" : "zh-cn");
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf_putc(out, lower(tag[i]));
}
