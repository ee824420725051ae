/* test_textsearch.c - the terms of stories and queries in every script (SPEC §15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "textsearch.h"

static void expect_terms(const char *text, const char *want)
{
	struct buf b = BUF_INIT;
	textsearch_terms(&b, text, strlen(text));
	assert_string_equal(buf_str(&b), want);
	buf_cleanup(&b);
}

static void test_chinese(void **state)
{
	(void)state;
	/* the seed story's Chinese edition: every pair of neighbours is a term */
	expect_terms("吉林省经贸代表团", "吉林 林省 省经 经贸 贸代 代表 表团");
	/* punctuation ends a run; a lone character is one term */
	expect_terms("珲春，陆路口岸。省", "珲春 陆路 路口 口岸 省");
	expect_terms("吉", "吉");
	/* mixed with Latin and digits: each script its own way */
	expect_terms("2023年吉林GDP增长", "2023 年吉 吉林 gdp 增长");
	/* fullwidth forms are their ASCII letters */
	expect_terms("ＧＤＰ１２", "gdp12");
}

static void test_japanese(void **state)
{
	(void)state;
	/* kanji and kana in one run; a voiced kana stays one character; the long-vowel mark
	 * belongs to the word */
	expect_terms("東京都でがんばる", "東京 京都 都で でが がん んば ばる");
	expect_terms("コーヒー", "コー ーヒ ヒー");
	/* halfwidth katakana are the full-width ones */
	expect_terms("ｺｰﾋｰ", "コー ーヒ ヒー");
	/* the middle dot separates */
	expect_terms("ジョン・スミス", "ジョ ョン スミ ミス");
}

static void test_korean(void **state)
{
	(void)state;
	/* Hangul syllables stay whole (not jamo); spaces separate words */
	expect_terms("한국 경제가 성장했다", "한국 경제 제가 성장 장했 했다");
	expect_terms("한", "한");
}

static void test_german_and_latin(void **state)
{
	(void)state;
	expect_terms("Die Straße in Zürich", "die strasse in zurich");
	expect_terms("ZURICH zurich Zürich", "zurich zurich zurich");
	/* a decomposed ü (u + combining diaeresis) folds the same */
	expect_terms("Zu\xcc\x88rich", "zurich");
	expect_terms("Ærø, Øresund; naïve café", "ærø øresund naive cafe");
	/* a soft hyphen is ignorable: the word stays whole */
	expect_terms("news\xc2\xadpaper", "newspaper");
	expect_terms("don't stop", "don t stop");
	expect_terms("  \t\n", "");
	expect_terms("", "");
}

static void test_other_scripts(void **state)
{
	(void)state;
	/* Arabic: words by spaces, the short-vowel marks dropped, hamza forms folded */
	expect_terms("الصينُ تَستثمر في أفريقيا", "الصين تستثمر في افريقيا");
	/* Greek and Cyrillic fold case and accents */
	expect_terms("Αθήνα МОСКВА Ёлка", "αθηνα москва елка");
	/* Devanagari keeps its vowel signs: they are part of the letters */
	expect_terms("भारत सरकार", "भारत सरकार");
}

static void test_emoji(void **state)
{
	(void)state;
	/* each symbol is a term; joiners and variation selectors are ignorable */
	expect_terms("party🎉time", "party 🎉 time");
	expect_terms("❤️ love", "❤ love");
	expect_terms("👩\xe2\x80\x8d💻", "👩 💻");
}

struct collected {
	char terms[16][TEXTSEARCH_TERM_MAX + 1];
	size_t start[16], end[16];
	size_t n;
};

static int collect(void *ctx, const char *term, size_t len, size_t start, size_t end)
{
	struct collected *c = ctx;
	if (c->n == 16)
		return 7;
	memcpy(c->terms[c->n], term, len);
	c->terms[c->n][len] = '\0';
	c->start[c->n] = start;
	c->end[c->n] = end;
	c->n++;
	return 0;
}

static void test_offsets_and_stop(void **state)
{
	(void)state;
	/* each term names the bytes it came from */
	struct collected c = {0};
	const char *text = "Zürich 吉林省";
	assert_int_equal(textsearch_tokenize(text, strlen(text), collect, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.terms[0], "zurich");
	assert_int_equal(c.start[0], 0);
	assert_int_equal(c.end[0], 7); /* ü is two bytes */
	assert_string_equal(c.terms[1], "吉林");
	assert_int_equal(c.start[1], 8);
	assert_int_equal(c.end[1], 14);
	assert_string_equal(c.terms[2], "林省");
	assert_int_equal(c.start[2], 11);
	assert_int_equal(c.end[2], 17);
	/* a nonzero return stops and is returned */
	memset(&c, 0, sizeof(c));
	const char *many = "a b c d e f g h i j k l m n o p q r s";
	assert_int_equal(textsearch_tokenize(many, strlen(many), collect, &c), 7);
	assert_int_equal(c.n, 16);
	/* only len bytes are read */
	memset(&c, 0, sizeof(c));
	textsearch_tokenize("abc def", 3, collect, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.terms[0], "abc");
}

static void test_invalid_and_long(void **state)
{
	(void)state;
	/* invalid UTF-8 separates; it never reaches a term */
	expect_terms("ab\xff"
	             "cd\xc3",
	             "ab cd");
	expect_terms("\xe5\x90", "");
	/* a word longer than a term is cut between characters */
	size_t n = 300;
	char *word = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(word + 2 * i, "é", 2);
	word[2 * n] = '\0';
	struct collected c = {0};
	textsearch_tokenize(word, strlen(word), collect, &c);
	assert_int_equal(c.n, 1);
	assert_true(strlen(c.terms[0]) <= TEXTSEARCH_TERM_MAX);
	assert_int_equal(strspn(c.terms[0], "e"), strlen(c.terms[0]));
	free(word);
	/* folding that grows a word ("ß" -> "ss") stays within the bound */
	char *ss = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(ss + 2 * i, "ß", 2);
	ss[2 * n] = '\0';
	memset(&c, 0, sizeof(c));
	textsearch_tokenize(ss, strlen(ss), collect, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(strlen(c.terms[0]), TEXTSEARCH_TERM_MAX);
	free(ss);
}

static void test_lone_cjk(void **state)
{
	(void)state;
	assert_true(textsearch_lone_cjk("吉", strlen("吉")));
	assert_true(textsearch_lone_cjk("한", strlen("한")));
	assert_true(textsearch_lone_cjk("「吉」", strlen("「吉」")));
	assert_false(textsearch_lone_cjk("吉林", strlen("吉林")));
	assert_false(textsearch_lone_cjk("a", 1));
	assert_false(textsearch_lone_cjk("吉 林", strlen("吉 林")));
	assert_false(textsearch_lone_cjk("", 0));
	assert_false(textsearch_lone_cjk("🎉", strlen("🎉")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chinese),          cmocka_unit_test(test_japanese),
	    cmocka_unit_test(test_korean),           cmocka_unit_test(test_german_and_latin),
	    cmocka_unit_test(test_other_scripts),    cmocka_unit_test(test_emoji),
	    cmocka_unit_test(test_offsets_and_stop), cmocka_unit_test(test_invalid_and_long),
	    cmocka_unit_test(test_lone_cjk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
