/* static.h - files under paths.static: safe resolution and content types. */
#ifndef GAZETTE_STATIC_H
#define GAZETTE_STATIC_H

#include <sys/stat.h>

/* Opens root/rel for reading when it is a regular file that really lies under root: no "." or
 * ".." segment, no hidden (dot) file, no empty segment, no symlink leading outside root.
 * Returns an fd (close it) with st filled, or -ENOENT for anything else (folders included). */
int static_open(const char *root, const char *rel, struct stat *st);

/* The Content-Type for a file name, by extension; application/octet-stream when unknown. */
const char *static_content_type(const char *name);

#endif
