/* textsearch.c - case and diacritic folding with utf8proc; CJK text as overlapping bigrams. */
#include "textsearch.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

/* Bumped whenever a change here gives other terms for the same text. */
#define RULES 1

long long textsearch_version(void)
{
	int major = 0, minor = 0, update = 0;
	sscanf(utf8proc_unicode_version(), "%d.%d.%d", &major, &minor, &update);
	return RULES * 1000000LL + major * 10000LL + minor * 100LL + update;
}

/* Han, Hiragana, Katakana and Hangul: scripts written without spaces between words. */
static bool cjk_range(utf8proc_int32_t c)
{
	return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3005 && c <= 0x3007) ||
	       (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3130 && c <= 0x318f) ||
	       (c >= 0x31f0 && c <= 0x31ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	       (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa960 && c <= 0xa97f) ||
	       (c >= 0xac00 && c <= 0xd7ff) || (c >= 0xf900 && c <= 0xfaff) ||
	       (c >= 0xff66 && c <= 0xff9f) || (c >= 0x20000 && c <= 0x3134f);
}

/* Marks that are diacritics a reader does not type when searching: those of Latin, Greek,
 * Cyrillic, Hebrew and Arabic, and the general combining blocks. The marks of other scripts
 * (Devanagari's vowel signs, say) are part of their letters. */
static bool diacritic(utf8proc_int32_t c)
{
	return c < 0x0700 || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
	       (c >= 0x20d0 && c <= 0x20ff) || c == 0x3099 || c == 0x309a ||
	       (c >= 0xfe20 && c <= 0xfe2f);
}

enum kind { SEPARATOR, WORD, CJK, SYMBOL, NOTHING };

static enum kind kind_of(utf8proc_int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO: return cjk_range(c) ? CJK : WORD;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME: return diacritic(c) ? NOTHING : WORD;
	case UTF8PROC_CATEGORY_SO: return SYMBOL;
	default: return SEPARATOR;
	}
}

struct state {
	textsearch_fn *fn;
	void *ctx;
	char word[TEXTSEARCH_TERM_MAX];
	size_t wlen;
	size_t wstart, wend;
	bool in_word;
	bool wfull; /* a character did not fit: the term is the word's first bytes, no more */
	/* the CJK run: its previous character and how many it has had */
	char prev[4];
	size_t plen, pstart, pend;
	size_t run;
};

static int end_word(struct state *s)
{
	if (!s->in_word)
		return 0;
	s->in_word = false;
	return s->wlen ? s->fn(s->ctx, s->word, s->wlen, s->wstart, s->wend) : 0;
}

static int end_run(struct state *s)
{
	size_t run = s->run;
	s->run = 0;
	return run == 1 ? s->fn(s->ctx, s->prev, s->plen, s->pstart, s->pend) : 0;
}

static int add_word(struct state *s, const utf8proc_uint8_t *u, size_t n, size_t start, size_t end)
{
	if (!s->in_word) {
		s->in_word = true;
		s->wfull = false;
		s->wlen = 0;
		s->wstart = start;
	}
	s->wend = end;
	if (!s->wfull && s->wlen + n <= sizeof(s->word)) {
		memcpy(s->word + s->wlen, u, n);
		s->wlen += n;
	} else {
		s->wfull = true;
	}
	return 0;
}

static int add_cjk(struct state *s, const utf8proc_uint8_t *u, size_t n, size_t start, size_t end)
{
	int rc = 0;
	if (s->run) {
		char pair[8];
		memcpy(pair, s->prev, s->plen);
		memcpy(pair + s->plen, u, n);
		rc = s->fn(s->ctx, pair, s->plen + n, s->pstart, end);
	}
	memcpy(s->prev, u, n);
	s->plen = n;
	s->pstart = start;
	s->pend = end;
	s->run++;
	return rc;
}

/* One folded character c of the text's bytes [start, end). */
static int add(struct state *s, utf8proc_int32_t c, size_t start, size_t end)
{
	enum kind k = kind_of(c);
	if (k == NOTHING)
		return 0;
	utf8proc_uint8_t u[4];
	size_t n = (size_t)utf8proc_encode_char(c, u);
	int rc = 0;
	if (k != CJK)
		rc = end_run(s);
	if (!rc && k != WORD)
		rc = end_word(s);
	if (rc)
		return rc;
	switch (k) {
	case WORD: return add_word(s, u, n, start, end);
	case CJK: return add_cjk(s, u, n, start, end);
	case SYMBOL: return s->fn(s->ctx, (const char *)u, n, start, end);
	default: return 0;
	}
}

int textsearch_tokenize(const char *text, size_t len, textsearch_fn *fn, void *ctx)
{
	struct state s = {.fn = fn, .ctx = ctx};
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
	size_t i = 0;
	int rc = 0;
	while (i < len && !rc) {
		unsigned char b = (unsigned char)text[i];
		if (b < 0x80) {
			/* ASCII, most of most text: folded here, without a table lookup */
			if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
			    (b >= 'A' && b <= 'Z')) {
				utf8proc_uint8_t ch =
				    (utf8proc_uint8_t)(b >= 'A' && b <= 'Z' ? b + 32 : b);
				rc = s.run ? end_run(&s) : 0;
				if (!rc)
					rc = add_word(&s, &ch, 1, i, i + 1);
			} else {
				rc = end_run(&s);
				if (!rc)
					rc = end_word(&s);
			}
			i++;
			continue;
		}
		utf8proc_int32_t c;
		utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
		if (n <= 0) {
			rc = add(&s, ' ', i, i + 1); /* an invalid byte separates */
			i++;
			continue;
		}
		size_t start = i, end = i + (size_t)n;
		i = end;
		if (c >= 0x1100 && cjk_range(c) && !(c >= 0xf900 && c <= 0xfaff) && c < 0xff00) {
			/* as written: decomposing would split Hangul syllables into jamo and a kana
			 * from its voicing mark */
			rc = add(&s, c, start, end);
			continue;
		}
		utf8proc_int32_t folded[18];
		int boundclass = 0;
		utf8proc_option_t opt =
		    UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE;
		utf8proc_ssize_t m = utf8proc_decompose_char(
		    c, folded, (utf8proc_ssize_t)(sizeof(folded) / sizeof(folded[0])), opt,
		    &boundclass);
		if (m < 0 || m > (utf8proc_ssize_t)(sizeof(folded) / sizeof(folded[0]))) {
			folded[0] = c;
			m = 1;
		}
		for (utf8proc_ssize_t j = 0; j < m && !rc; j++)
			rc = add(&s, folded[j], start, end);
	}
	if (!rc)
		rc = end_run(&s);
	if (!rc)
		rc = end_word(&s);
	return rc;
}

static int append_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct buf *out = ctx;
	if (out->len && out->data[out->len - 1] != ' ')
		buf_putc(out, ' ');
	buf_append(out, term, len);
	return 0;
}

void textsearch_terms(struct buf *out, const char *text, size_t len)
{
	textsearch_tokenize(text, len, append_term, out);
}

struct lone {
	unsigned terms;
	bool cjk;
};

static int count_term(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct lone *l = ctx;
	utf8proc_int32_t c;
	utf8proc_ssize_t n =
	    utf8proc_iterate((const utf8proc_uint8_t *)term, (utf8proc_ssize_t)len, &c);
	l->cjk = n == (utf8proc_ssize_t)len && kind_of(c) == CJK;
	return ++l->terms > 1;
}

bool textsearch_lone_cjk(const char *word, size_t len)
{
	struct lone l = {0, false};
	textsearch_tokenize(word, len, count_term, &l);
	return l.terms == 1 && l.cjk;
}
