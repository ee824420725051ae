/* replay.c - runs a fuzz target without libFuzzer over every file of the folders given. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Weak: only some targets define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Feeds one file to the target in a buffer of exactly its size, so that the sanitizers see
 * any read past the end. Returns 0 or -1. */
static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	unsigned char *data = malloc(cap);
	size_t n;
	while (data && (n = fread(data + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len == cap)
			data = realloc(data, cap *= 2);
	}
	fclose(fp);
	if (!data)
		abort();
	unsigned char *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, data, len);
	free(data);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int skip_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Replays every regular file of dir in name order; returns the count, or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, skip_dot, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	int count = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
		char *path = malloc(len);
		struct stat st;
		if (!path)
			abort();
		snprintf(path, len, "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FOLDER|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int total = 0, status = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			status = 1;
		else
			total += n;
	}
	printf("replayed %d inputs\n", total);
	return status;
}
