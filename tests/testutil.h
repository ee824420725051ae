/* testutil.h - small helpers shared by the cmocka tests: temporary folders and files, JSON. */
#ifndef GAZETTE_TESTUTIL_H
#define GAZETTE_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>

/* Creates a fresh folder under $TMPDIR (or /tmp); returns its path, free()d by the caller. */
char *tmpdir_new(void);
/* Removes the folder and everything in it. */
void tmpdir_remove(const char *dir);
/* Writes text to dir/name and returns the full path (free()d by the caller). */
char *write_file(const char *dir, const char *name, const char *text);

/* JSON written with ' for " so test tables stay readable (a real ' is \u0027); aborts when it
 * does not parse. Returns a new reference. */
json_t *load_json(const char *text);

#endif
