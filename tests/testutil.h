/* testutil.h - small helpers shared by the cmocka tests: temporary folders and files. */
#ifndef GAZETTE_TESTUTIL_H
#define GAZETTE_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh folder under $TMPDIR (or /tmp); returns its path, free()d by the caller. */
char *tmpdir_new(void);
/* Removes the folder and everything in it. */
void tmpdir_remove(const char *dir);
/* Writes text to dir/name and returns the full path (free()d by the caller). */
char *write_file(const char *dir, const char *name, const char *text);

#endif
