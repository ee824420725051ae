/* static.c - resolves URL paths to files under the static folder without ever leaving it. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool segments_ok(const char *rel)
{
	if (!*rel || strlen(rel) >= PATH_MAX / 2)
		return false;
	const char *p = rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		/* empty, ".", ".." and hidden names are refused; so is a backslash anywhere */
		if (n == 0 || p[0] == '.' || memchr(p, '\\', n))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

int static_open(const char *root, const char *rel, struct stat *st)
{
	while (*rel == '/')
		rel++;
	if (!segments_ok(rel))
		return -ENOENT;
	char real_root[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	if (!realpath(root, real_root))
		return -ENOENT;
	int n = snprintf(path, sizeof(path), "%s/%s", real_root, rel);
	if (n < 0 || (size_t)n >= sizeof(path) || !realpath(path, real))
		return -ENOENT;
	size_t rl = strlen(real_root);
	/* a symlink may point anywhere; only what resolves inside the root is served */
	if (strncmp(real, real_root, rl) != 0 || real[rl] != '/')
		return -ENOENT;
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, forever; a device is
	 * never opened at all. Only a regular file is served, and read as one. */
	struct stat pre;
	if (stat(real, &pre) < 0 || !S_ISREG(pre.st_mode))
		return -ENOENT;
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

const char *static_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"css", "text/css; charset=utf-8"},
	    {"js", "text/javascript; charset=utf-8"},
	    {"html", "text/html; charset=utf-8"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"json", "application/json; charset=utf-8"},
	    {"xml", "application/xml"},
	    {"svg", "image/svg+xml"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"webp", "image/webp"},
	    {"avif", "image/avif"},
	    {"ico", "image/x-icon"},
	    {"woff", "font/woff"},
	    {"woff2", "font/woff2"},
	    {"pdf", "application/pdf"},
	    {"webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(name, '.');
	const char *slash = strrchr(name, '/');
	if (dot && (!slash || dot > slash)) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	}
	return "application/octet-stream";
}
