/* fuzz_fts.c - libFuzzer target: any search words quoted for FTS5. The quoting must be
 * "word" "word" ... and no input may ever be an FTS5 syntax error when it is matched; and the
 * same words as PostgreSQL's tsquery must be phrases of quoted lexemes and nothing else. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "fuzz.h"
#include "mem.h"
#include "store.h"
#include "store_backend.h"
#include "textsearch.h"

static sqlite3 *db;
static sqlite3_stmt *match;

static void cleanup(void)
{
	sqlite3_finalize(match);
	sqlite3_close(db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the same table shape and tokenizer as the store's articles_fts */
	static const char schema[] =
	    "CREATE VIRTUAL TABLE f USING fts5 (title, summary, body,"
	    " tokenize = 'gazette');"
	    "INSERT INTO f VALUES ('Jilin and the Russian Far East', 'Trade',"
	    " 'Ye Lijiao \"quoted\" words, NEAR and OR and AND and NOT');"
	    "INSERT INTO f VALUES ('吉林 新闻', 'Crème brûlée', 'title:body * ^ - + ( ) : \"\"');";
	fuzz_check(sqlite3_open(":memory:", &db) == SQLITE_OK, "open");
	fuzz_check(store_sqlite_tokenizer(db) == SQLITE_OK, "tokenizer");
	fuzz_check(sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK, "schema: %s",
	           sqlite3_errmsg(db));
	fuzz_check(sqlite3_prepare_v2(db, "SELECT rowid FROM f WHERE f MATCH ?1 ORDER BY rank", -1,
	                              &match, NULL) == SQLITE_OK,
	           "prepare: %s", sqlite3_errmsg(db));
	atexit(cleanup);
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Checks out is "w1" "w2" ... with quotes doubled inside, and that each wN is the input's
 * next whitespace-separated word, in order. */
static void check_shape(const char *q, const char *out)
{
	const char *in = q, *p = out;
	int words = 0;
	while (*p) {
		if (words++)
			fuzz_check(*p++ == ' ', "'%s': words not separated by one space", out);
		fuzz_check(*p++ == '"', "'%s': a word does not open with a quote", out);
		struct buf word = BUF_INIT;
		for (;;) {
			fuzz_check(*p, "'%s': an unclosed quote", out);
			if (*p == '"' && p[1] == '"') {
				buf_putc(&word, '"');
				p += 2;
			} else if (*p == '"') {
				p++;
				break;
			} else {
				fuzz_check(!is_space(*p), "'%s': whitespace inside a word", out);
				buf_putc(&word, *p++);
			}
		}
		fuzz_check(word.len > 0, "'%s': an empty word", out);
		/* a lone Han, Kana or Hangul character is looked up as the start of a term */
		if (*p == '*') {
			fuzz_check(textsearch_lone_cjk(word.data, word.len),
			           "'%s': '%s' is not a lone CJK character but is a prefix", out,
			           word.data);
			p++;
		} else {
			fuzz_check(!textsearch_lone_cjk(word.data, word.len),
			           "'%s': lone CJK character '%s' is no prefix", out, word.data);
		}
		fuzz_check(*p == '\0' || *p == ' ', "'%s': a quote inside a word is not doubled",
		           out);
		while (is_space(*in))
			in++;
		fuzz_check(strncmp(in, word.data, word.len) == 0 &&
		               (in[word.len] == '\0' || is_space(in[word.len])),
		           "'%s': word '%s' is not the input's next word", out, word.data);
		in += word.len;
		buf_cleanup(&word);
	}
	if (words == 0) {
		/* nothing but whitespace, or a first word over the store's length cap */
		while (is_space(*in))
			in++;
		size_t n = 0;
		while (in[n] && !is_space(in[n]))
			n++;
		fuzz_check(n == 0 || n > 256, "'%s' has words but the quoting is empty", q);
	}
}

#ifdef GAZETTE_POSTGRESQL
/* Checks that out is ('l' <-> 'l' ...) & (...) ...: each lexeme quoted, ' and \ doubled
 * inside, at most a :* after it; so no input is tsquery syntax. */
static void check_tsquery(const char *out)
{
	const char *p = out;
	int words = 0;
	while (*p) {
		if (words++) {
			fuzz_check(strncmp(p, " & ", 3) == 0, "tsquery '%s': words not joined by &",
			           out);
			p += 3;
		}
		fuzz_check(*p++ == '(', "tsquery '%s': a word does not open with (", out);
		for (int terms = 0;; terms++) {
			if (terms) {
				if (*p == ')')
					break;
				fuzz_check(strncmp(p, " <-> ", 5) == 0,
				           "tsquery '%s': terms not joined by <->", out);
				p += 5;
			}
			fuzz_check(*p++ == '\'', "tsquery '%s': a lexeme is not quoted", out);
			size_t len = 0;
			for (;; len++) {
				fuzz_check(*p, "tsquery '%s': an unclosed lexeme", out);
				if ((*p == '\'' || *p == '\\') && p[1] == *p)
					p += 2;
				else if (*p == '\'')
					break;
				else {
					fuzz_check(*p != '\\', "tsquery '%s': a lone backslash",
					           out);
					p++;
				}
			}
			p++;
			fuzz_check(len > 0, "tsquery '%s': an empty lexeme", out);
			if (strncmp(p, ":*", 2) == 0)
				p += 2;
		}
		p++;
	}
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = xstrndup((const char *)data, size);
	struct buf out = BUF_INIT;
	store_fts_query(&out, q);
	check_shape(q, buf_str(&out));
#ifdef GAZETTE_POSTGRESQL
	struct buf tsq = BUF_INIT;
	store_pg_tsquery(&tsq, buf_str(&out));
	check_tsquery(buf_str(&tsq));
	buf_cleanup(&tsq);
#endif

	/* only valid UTF-8 reaches the store: the handlers refuse the rest with 400 */
	json_t *valid = json_string(q);
	if (valid && out.len > 0) {
		sqlite3_bind_text(match, 1, buf_str(&out), (int)out.len, SQLITE_STATIC);
		int rc;
		while ((rc = sqlite3_step(match)) == SQLITE_ROW)
			;
		fuzz_check(rc == SQLITE_DONE, "MATCH '%s': %s", buf_str(&out), sqlite3_errmsg(db));
		sqlite3_reset(match);
		sqlite3_clear_bindings(match);
	}
	json_decref(valid);
	buf_cleanup(&out);
	free(q);
	return 0;
}
