/* test_media.c - image intake with the real libvips: sniffing, widths, refusals, rotation,
 * stripped metadata, files on disk, the collector, the markup; and the worker pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include <vips/vips.h>

#include "buf.h"
#include "mem.h"
#include "media.h"
#include "testutil.h"
#include "worker.h"

/* An image of w x h pixels with bands bands (3: RGB, 4: RGBA, 1: grey) of a gradient, saved
 * by libvips as suffix (".jpg", ".png[bitdepth=16]", ...) with an orientation when one is
 * given. The caller g_free()s *out. */
static void make_image(int w, int h, int bands, const char *suffix, int orientation, void **out,
                       size_t *len)
{
	VipsImage *x = NULL, *img = NULL;
	assert_int_equal(vips_xyz(&x, w, h, NULL), 0);
	VipsImage **b = (VipsImage **)vips_object_local_array(VIPS_OBJECT(x), 4);
	assert_int_equal(vips_extract_band(x, &b[0], 0, NULL), 0);
	assert_int_equal(vips_linear1(b[0], &b[1], 255.0 / w, 0, "uchar", TRUE, NULL), 0);
	VipsImage *planes[4] = {b[1], b[1], b[1], b[1]};
	if (bands == 1)
		img = b[1], g_object_ref(img);
	else
		assert_int_equal(vips_bandjoin(planes, &img, bands, NULL), 0);
	if (strstr(suffix, "bitdepth=16")) { /* 16 bits a sample: the pixels widened too */
		VipsImage *wide = NULL;
		assert_int_equal(vips_colourspace(img, &wide, VIPS_INTERPRETATION_RGB16, NULL), 0);
		g_object_unref(img);
		img = wide;
	}
	if (orientation)
		vips_image_set_int(img, "orientation", orientation);
	assert_int_equal(vips_image_write_to_buffer(img, suffix, out, len, NULL), 0);
	g_object_unref(img);
	g_object_unref(x);
}

/* Each intake test's own folder, paths.media inside it. */
struct fix {
	char *dir, *media;
};

static int fix_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	f->dir = tmpdir_new();
	f->media = xasprintf("%s/media", f->dir);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f->media);
	free(f);
	return 0;
}

static void test_sniff(void **state)
{
	(void)state;
	assert_string_equal(media_sniff("\xff\xd8\xff\xe0", 4), "image/jpeg");
	assert_string_equal(media_sniff("\x89PNG\r\n\x1a\n", 8), "image/png");
	assert_string_equal(media_sniff("RIFF\1\0\0\0WEBPVP8 ", 16), "image/webp");
	assert_string_equal(media_sniff("GIF89a..", 8), "image/gif");
	assert_string_equal(media_sniff("GIF87a..", 8), "image/gif");
	assert_null(media_sniff("<svg xmlns=", 11));
	assert_null(media_sniff("<!DOCTYPE html>", 15));
	assert_null(media_sniff("\xff\xd8", 2));
	assert_null(media_sniff("RIFF\1\0\0\0WAVE", 12));
	assert_null(media_sniff("", 0));
}

static void test_widths(void **state)
{
	(void)state;
	unsigned w[MEDIA_WIDTHS_MAX];
	assert_int_equal(media_widths(6000, w), 5);
	assert_int_equal(w[0], 320);
	assert_int_equal(w[4], 1920);
	assert_int_equal(media_widths(1000, w), 3);
	assert_int_equal(w[2], 960);
	assert_int_equal(media_widths(320, w), 1);
	assert_int_equal(w[0], 320);
	assert_int_equal(media_widths(200, w), 1);
	assert_int_equal(w[0], 200);
	assert_int_equal(media_widths(0, w), 0);
	assert_true(media_id_valid("0123456789abcdef"));
	assert_false(media_id_valid("0123456789ABCDEF"));
	assert_false(media_id_valid("0123456789abcde"));
	assert_false(media_id_valid("../../etc/passwd"));

	/* the names the intake gives, and nothing else */
	unsigned fw;
	bool webp;
	assert_true(media_file_valid("01/0123456789abcdef-640.webp", NULL, &fw, &webp));
	assert_true(fw == 640 && webp);
	assert_true(
	    media_file_valid("01/0123456789abcdef-1920.jpg", "0123456789abcdef", &fw, &webp));
	assert_true(fw == 1920 && !webp);
	static const char *const bad[] = {
	    "02/0123456789abcdef-640.webp", /* another folder */
	    "01/0123456789abcdef-640.png",
	    "01/0123456789abcdef-0640.jpg",
	    "01/0123456789abcdef.jpg",
	    "01/0123456789abcdef-640.jpg/x",
	    "../0123456789abcdef-640.jpg",
	    "01/../../etc/passwd",
	    "01/.tmp-0123456789abcdef-640.jpg",
	    "01/0123456789abcdef-640.jpg\"><script>",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(media_file_valid(bad[i], NULL, NULL, NULL));
	assert_false(
	    media_file_valid("01/0123456789abcdef-640.jpg", "0123456789abcdee", NULL, NULL));

	/* an import's record: every rendition named, typed and sized as the intake does */
	json_t *rec = load_json("{'id':'0123456789abcdef','width':700,'height':500,'renditions':["
	                        "{'width':320,'height':229,'type':'image/webp','bytes':9,"
	                        "'path':'01/0123456789abcdef-320.webp'}]}");
	assert_true(media_record_valid(rec));
	json_object_set_new(json_array_get(json_object_get(rec, "renditions"), 0), "path",
	                    json_string("01/fedcba9876543210-320.webp"));
	assert_false(media_record_valid(rec)); /* another image's file */
	json_object_set_new(json_array_get(json_object_get(rec, "renditions"), 0), "path",
	                    json_string("01/0123456789abcdef-320.jpg"));
	assert_false(media_record_valid(rec)); /* a JPEG's name, a WebP's type */
	json_object_set_new(json_array_get(json_object_get(rec, "renditions"), 0), "path",
	                    json_string("01/0123456789abcdef-640.webp"));
	assert_false(media_record_valid(rec)); /* another width */
	json_decref(rec);
	char id[MEDIA_ID_LEN + 1];
	media_id_of("abc", 3, id); /* SHA-256("abc") = ba7816bf8f01cfea... */
	assert_string_equal(id, "ba7816bf8f01cfea");
}

/* The number of files under dir and its folders. */
static unsigned count_files(const char *dir)
{
	char *cmd = xasprintf("find '%s' -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

static void test_intake_jpeg(void **state)
{
	const char *media = ((struct fix *)*state)->media;
	void *data;
	size_t len;
	/* 1500 x 1000 stored, orientation 6: shown 1000 wide and 1500 high */
	make_image(1500, 1000, 3, ".jpg", 6, &data, &len);
	json_t *rec = NULL;
	struct buf why = BUF_INIT;
	assert_int_equal(media_intake(media, 50000000, data, len, "image/jpeg", &rec, &why), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "width")), 1000);
	assert_int_equal(json_integer_value(json_object_get(rec, "height")), 1500);
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "image/jpeg");
	assert_int_equal(json_integer_value(json_object_get(rec, "bytes")), (json_int_t)len);
	json_t *rs = json_object_get(rec, "renditions");
	assert_int_equal(json_array_size(rs), 6); /* 320, 640, 960 in WebP and JPEG */
	size_t i;
	json_t *r;
	json_array_foreach(rs, i, r)
	{
		char *path =
		    xasprintf("%s/%s", media, json_string_value(json_object_get(r, "path")));
		VipsImage *img = vips_image_new_from_file(path, NULL);
		assert_non_null(img);
		assert_int_equal(vips_image_get_width(img),
		                 json_integer_value(json_object_get(r, "width")));
		assert_int_equal(vips_image_get_height(img),
		                 json_integer_value(json_object_get(r, "height")));
		/* rotated upright, and nothing of the original's metadata left */
		assert_int_equal(vips_image_get_height(img) * 2, vips_image_get_width(img) * 3);
		assert_false(vips_image_get_typeof(img, "exif-data"));
		assert_false(vips_image_get_typeof(img, "xmp-data"));
		assert_false(vips_image_get_typeof(img, "orientation") &&
		             vips_image_get_orientation(img) != 1);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, json_integer_value(json_object_get(r, "bytes")));
		g_object_unref(img);
		free(path);
	}
	assert_int_equal(count_files(media), 6);
	/* the same bytes again: the same id and the same files */
	json_t *again = NULL;
	assert_int_equal(media_intake(media, 50000000, data, len, "image/jpeg", &again, &why), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "id")),
	                    json_string_value(json_object_get(again, "id")));
	assert_int_equal(count_files(media), 6);

	/* the markup: WebP and JPEG srcsets, the fallback, the size */
	struct buf html = BUF_INIT;
	media_picture_html(&html, rec, "a &amp; b", "100vw");
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *want = xasprintf("/media/%.2s/%s-960.jpg\" srcset=", id, id);
	assert_non_null(strstr(buf_str(&html), want));
	assert_non_null(strstr(buf_str(&html), "-320.webp 320w, "));
	assert_non_null(strstr(buf_str(&html), "width=\"1000\" height=\"1500\" alt=\"a &amp; b\""));
	free(want);
	buf_cleanup(&html);
	json_decref(again);
	json_decref(rec);
	g_free(data);
	buf_cleanup(&why);
}

/* Each refusal has its status, a message, and writes nothing. */
static void test_refusals(void **state)
{
	const char *media = ((struct fix *)*state)->media;
	void *jpeg, *png;
	size_t jlen, plen;
	make_image(400, 300, 3, ".jpg", 0, &jpeg, &jlen);
	make_image(400, 300, 3, ".png", 0, &png, &plen);
	json_t *rec = NULL;
	struct buf why = BUF_INIT;
	assert_int_equal(media_intake(media, 50000000, png, plen, "image/jpeg", &rec, &why),
	                 MEDIA_TYPE);
	assert_string_equal(buf_str(&why),
	                    "Content-Type says image/jpeg but the bytes are a PNG image");
	buf_reset(&why);
	const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg'/>";
	assert_int_equal(
	    media_intake(media, 50000000, svg, sizeof(svg) - 1, "image/svg+xml", &rec, &why),
	    MEDIA_TYPE);
	buf_reset(&why);
	assert_int_equal(media_intake(media, 50000000, "", 0, "image/png", &rec, &why), MEDIA_BAD);
	buf_reset(&why);
	/* a truncated JPEG: its first half */
	assert_int_equal(media_intake(media, 50000000, jpeg, jlen / 2, "image/jpeg", &rec, &why),
	                 MEDIA_BAD);
	assert_non_null(strstr(buf_str(&why), "truncated or corrupt"));
	buf_reset(&why);
	/* more pixels than allowed */
	assert_int_equal(media_intake(media, 100000, png, plen, "image/png", &rec, &why),
	                 MEDIA_BAD);
	assert_string_equal(buf_str(&why),
	                    "the image is 400 x 300 pixels, more than media.max_pixels (100000)");
	buf_reset(&why);
	/* a long screenshot: at 320 pixels wide more than WebP's 16383 high */
	void *tall;
	size_t tlen;
	make_image(400, 25000, 1, ".png", 0, &tall, &tlen);
	assert_int_equal(media_intake(media, 50000000, tall, tlen, "image/png", &rec, &why),
	                 MEDIA_BAD);
	assert_non_null(strstr(buf_str(&why), "too tall for its renditions"));
	buf_reset(&why);
	g_free(tall);
	/* garbage after a JPEG's signature */
	char junk[64];
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "\xff\xd8\xff\xe0", 4);
	assert_int_equal(
	    media_intake(media, 50000000, junk, sizeof(junk), "image/jpeg", &rec, &why), MEDIA_BAD);
	assert_null(rec);
	assert_int_equal(count_files(media), 0);
	g_free(jpeg);
	g_free(png);
	buf_cleanup(&why);
}

/* A 16-bit PNG with alpha, a grey one and a small one: 8-bit sRGB renditions, alpha kept in
 * WebP only, one rendition at its own width below 320. */
static void test_kinds(void **state)
{
	const char *media = ((struct fix *)*state)->media;
	void *data;
	size_t len;
	json_t *rec = NULL;
	struct buf why = BUF_INIT;
	make_image(700, 400, 4, ".png[bitdepth=16]", 0, &data, &len);
	assert_int_equal(media_intake(media, 50000000, data, len, "image/png", &rec, &why), 0);
	json_t *rs = json_object_get(rec, "renditions");
	assert_int_equal(json_array_size(rs), 4);
	char *webp = xasprintf("%s/%s", media,
	                       json_string_value(json_object_get(json_array_get(rs, 0), "path")));
	char *jpg = xasprintf("%s/%s", media,
	                      json_string_value(json_object_get(json_array_get(rs, 1), "path")));
	VipsImage *w = vips_image_new_from_file(webp, NULL),
	          *j = vips_image_new_from_file(jpg, NULL);
	assert_int_equal(vips_image_get_bands(w), 4);
	assert_int_equal(vips_image_get_bands(j), 3);
	assert_int_equal(vips_image_get_format(j), VIPS_FORMAT_UCHAR);
	g_object_unref(w);
	g_object_unref(j);
	free(webp);
	free(jpg);
	json_decref(rec);
	g_free(data);

	make_image(200, 100, 1, ".gif", 0, &data, &len);
	assert_int_equal(media_intake(media, 50000000, data, len, "image/gif", &rec, &why), 0);
	assert_int_equal(json_array_size(json_object_get(rec, "renditions")), 2);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(rec, "renditions"), 0), "width")),
	                 200);
	assert_null(json_object_get(rec, "frames"));
	json_decref(rec);
	g_free(data);
	buf_cleanup(&why);
}

static int known_none(const char *id, void *arg)
{
	(void)id;
	(void)arg;
	return 0;
}

static int known_all(const char *id, void *arg)
{
	(void)id;
	(void)arg;
	return 1;
}

/* Files no record names go once they are older than the grace; younger ones and known ones
 * stay; other names are never touched. */
static void test_gc(void **state)
{
	const char *media = ((struct fix *)*state)->media;
	void *data;
	size_t len;
	make_image(400, 300, 3, ".jpg", 0, &data, &len);
	json_t *rec = NULL;
	struct buf why = BUF_INIT;
	assert_int_equal(media_intake(media, 50000000, data, len, "image/jpeg", &rec, &why), 0);
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *sub = xasprintf("%s/%.2s", media, id);
	free(write_file(sub, ".tmp-left-behind", "x"));
	free(write_file(sub, "README", "not ours"));
	assert_int_equal(count_files(media), 4);
	assert_int_equal(media_gc(media, known_none, NULL, 600), 0); /* all too young */
	char *cmd = xasprintf("touch -d '-1 hour' '%s'/*/* '%s'/*/.tmp-*", media, media);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(media_gc(media, known_all, NULL, 600), 1); /* the temporary file */
	assert_int_equal(media_gc(media, known_none, NULL, 600), 2);
	assert_int_equal(count_files(media), 1); /* README */
	free(cmd);
	free(sub);
	json_decref(rec);
	g_free(data);
	buf_cleanup(&why);
}

/* --- the worker pool --- */

struct slow {
	atomic_int ran;
	pthread_mutex_t lock;
};

static void slow_job(void *arg)
{
	struct slow *s = arg;
	pthread_mutex_lock(&s->lock); /* held by the test until it has filled the queue */
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->ran, 1);
}

static void test_pool(void **state)
{
	(void)state;
	struct slow s;
	atomic_init(&s.ran, 0);
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_lock(&s.lock);
	struct worker_pool *p = worker_pool_new("test", 1, 2);
	assert_int_equal(worker_submit(p, slow_job, &s), 0);
	/* the one thread takes the first job; two more wait; the next is refused */
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_int_equal(worker_submit(p, slow_job, &s), 0);
	assert_int_equal(worker_submit(p, slow_job, &s), 0);
	assert_int_equal(worker_submit(p, slow_job, &s), -EAGAIN);
	pthread_mutex_unlock(&s.lock);
	worker_pool_free(p); /* runs what it took */
	assert_int_equal(atomic_load(&s.ran), 3);
	pthread_mutex_destroy(&s.lock);
	worker_pool_free(NULL);
}

int main(void)
{
	if (VIPS_INIT("test_media") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_widths),
	    cmocka_unit_test_setup_teardown(test_intake_jpeg, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_kinds, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_gc, fix_setup, fix_teardown),
	    cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
