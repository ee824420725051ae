/* fuzz_media.c - libFuzzer target: any bytes through the image intake, libvips's loaders
 * included, declared as the type they sniff as. The answer is a record whose files are all on
 * disk and never wider than the image, or a refusal that wrote nothing; never a crash. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <vips/vips.h>

#include "buf.h"
#include "fuzz.h"
#include "media.h"
#include "mem.h"
#include "testutil.h"

static char *dir, *media;

/* The files under media's folders; removes them when clear is set. */
static unsigned files(bool clear)
{
	unsigned n = 0;
	DIR *top = opendir(media);
	struct dirent *d;
	while (top && (d = readdir(top))) {
		if (d->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", media, d->d_name);
		DIR *s = opendir(sub);
		struct dirent *f;
		while (s && (f = readdir(s))) {
			if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
				continue;
			n++;
			if (clear)
				unlinkat(dirfd(s), f->d_name, 0);
		}
		if (s)
			closedir(s);
		free(sub);
	}
	if (top)
		closedir(top);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_set_alloc_funcs(xmalloc, free);
	dir = tmpdir_new();
	media = xasprintf("%s/media", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *type = media_sniff(data, size);
	json_t *rec = NULL;
	struct buf why = BUF_INIT;
	/* a small pixel limit: the loaders' every path, without decoding what a fuzzer's header
	 * can claim */
	int rc = media_intake(media, 4000000, data, size, type ? type : "image/jpeg", &rec, &why);
	if (rc == 0) {
		fuzz_check(rec, "a record");
		json_int_t w = json_integer_value(json_object_get(rec, "width"));
		size_t i;
		json_t *r;
		fuzz_check(json_array_size(json_object_get(rec, "renditions")) >= 2, "renditions");
		json_array_foreach(json_object_get(rec, "renditions"), i, r)
		{
			char *path = xasprintf("%s/%s", media,
			                       json_string_value(json_object_get(r, "path")));
			struct stat st;
			fuzz_check(stat(path, &st) == 0 &&
			               st.st_size ==
			                   json_integer_value(json_object_get(r, "bytes")),
			           "%s on disk", path);
			fuzz_check(json_integer_value(json_object_get(r, "width")) <= w,
			           "never upscaled: %s", path);
			free(path);
		}
	} else {
		fuzz_check(rc == MEDIA_TYPE || rc == MEDIA_BAD, "a refusal, not %d", rc);
		fuzz_check(!rec && why.len > 0, "a refusal says why");
		fuzz_check(!strstr(buf_str(&why), dir), "no path in %s", buf_str(&why));
		fuzz_check(files(false) == 0, "a refusal wrote nothing");
	}
	json_decref(rec);
	buf_cleanup(&why);
	files(true);
	return 0;
}
