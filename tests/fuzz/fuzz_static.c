/* fuzz_static.c - libFuzzer target: any bytes as a path under the static folder; whatever
 * static_open hands out must be a regular file that really lies inside the folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "mem.h"
#include "static.h"
#include "testutil.h"

/*
 * base/root/            the static folder
 *   file.txt, style.css, sub/inner.js, sub/deeper/x.png, .hidden
 *   in-link -> sub/inner.js           a symlink that stays inside: served
 *   out-link -> ../secret.txt          one that leaves: never served
 *   out-dir -> ..                      a folder link that leaves
 *   sub/up -> ../file.txt              inside, through ".."
 *   twin-link -> ../rootx/twin.txt     a sibling whose name starts like the root's
 * base/secret.txt, base/rootx/twin.txt
 * base/alias -> root                   the same folder named through a symlink
 */
static char *base, *root, *alias, *real_root;

static void make_file(const char *dir, const char *name, const char *text)
{
	free(write_file(dir, name, text));
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		fuzz_check(0, "mkdir %s: %s", path, strerror(errno));
}

static void make_link(const char *target, const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	fuzz_check(symlink(target, path) == 0, "symlink %s: %s", path, strerror(errno));
	free(path);
}

static void cleanup(void)
{
	tmpdir_remove(base);
	free(base);
	free(root);
	free(alias);
	free(real_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	base = tmpdir_new();
	root = xasprintf("%s/root", base);
	alias = xasprintf("%s/alias", base);
	char *sub = xasprintf("%s/sub", root), *deeper = xasprintf("%s/sub/deeper", root);
	char *rootx = xasprintf("%s/rootx", base);
	make_dir(root);
	make_dir(sub);
	make_dir(deeper);
	make_dir(rootx);
	make_file(root, "file.txt", "file\n");
	make_file(root, "style.css", "body{}\n");
	make_file(root, ".hidden", "hidden\n");
	make_file(sub, "inner.js", "1;\n");
	make_file(deeper, "x.png", "png");
	make_file(base, "secret.txt", "secret\n");
	make_file(rootx, "twin.txt", "twin\n");
	make_link("sub/inner.js", root, "in-link");
	make_link("../secret.txt", root, "out-link");
	make_link("..", root, "out-dir");
	make_link("../file.txt", sub, "up");
	make_link("../rootx/twin.txt", root, "twin-link");
	make_link("root", base, "alias");
	real_root = realpath(root, NULL);
	fuzz_check(real_root != NULL, "realpath %s", root);
	free(sub);
	free(deeper);
	free(rootx);
	atexit(cleanup);
	return 0;
}

static void check_fd(int fd, const struct stat *st, const char *rel)
{
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	fuzz_check(realpath(link, real) != NULL, "realpath of fd %d", fd);
	size_t n = strlen(real_root);
	fuzz_check(strncmp(real, real_root, n) == 0 && real[n] == '/', "'%s' opened %s", rel, real);
	fuzz_check(S_ISREG(st->st_mode), "'%s' is not a regular file", rel);
	/* hidden files are never served, even inside the folder */
	fuzz_check(!strstr(real + n, "/."), "'%s' opened hidden %s", rel, real);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *rel = xstrndup((const char *)data, size);
	const char *roots[] = {root, alias};
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		int fd = static_open(roots[i], rel, &st);
		if (fd >= 0)
			check_fd(fd, &st, rel);
		else
			fuzz_check(fd == -ENOENT, "'%s' gave %d", rel, fd);
	}
	const char *type = static_content_type(rel);
	fuzz_check(type && strchr(type, '/'), "'%s' has no type", rel);
	free(rel);
	return 0;
}
