/* testutil.c - temporary folders and files, and readable JSON, for the cmocka tests. */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

char *tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/gazette-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tmpdir_remove(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	if (!fp) {
		perror(path);
		abort();
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

json_t *load_json(const char *text)
{
	char *s = xstrdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t jerr;
	json_t *in = json_loads(s, JSON_DECODE_ANY, &jerr);
	if (!in) {
		fprintf(stderr, "bad test JSON %s: %s\n", s, jerr.text);
		abort(); /* the test's own mistake */
	}
	free(s);
	return in;
}
