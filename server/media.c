/* media.c - image intake with libvips, renditions, content-addressed files, their markup. */
#include "media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vips/vips.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "escape.h"
#include "log.h"
#include "mem.h"
#include "secret.h"

static const unsigned widths[MEDIA_WIDTHS_MAX] = {320, 640, 960, 1280, 1920};

const char *media_sniff(const void *data, size_t len)
{
	const unsigned char *b = data;
	if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "image/jpeg";
	if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "image/gif";
	return NULL;
}

size_t media_widths(unsigned width, unsigned out[MEDIA_WIDTHS_MAX])
{
	size_t n = 0;
	for (size_t i = 0; i < MEDIA_WIDTHS_MAX && widths[i] <= width; i++)
		out[n++] = widths[i];
	if (n == 0 && width > 0)
		out[n++] = width;
	return n;
}

void media_id_of(const void *data, size_t len, char id[MEDIA_ID_LEN + 1])
{
	char hex[SECRET_HEX_LEN + 1];
	secret_sha256_hex(data, len, hex);
	memcpy(id, hex, MEDIA_ID_LEN);
	id[MEDIA_ID_LEN] = '\0';
}

bool media_file_valid(const char *rel, const char *id, unsigned *width, bool *webp)
{
	/* "<2 hex>/<id>-<width>.webp" or ".jpg": what media_intake names, nothing else */
	char own[MEDIA_ID_LEN + 1];
	if (strlen(rel) < 3 + MEDIA_ID_LEN + 3 || rel[2] != '/')
		return false;
	memcpy(own, rel + 3, MEDIA_ID_LEN);
	own[MEDIA_ID_LEN] = '\0';
	if (!media_id_valid(own) || strncmp(rel, own, 2) != 0 || (id && strcmp(own, id) != 0))
		return false;
	const char *p = rel + 3 + MEDIA_ID_LEN;
	if (*p++ != '-' || *p < '1' || *p > '9')
		return false;
	char *end;
	unsigned long w = strtoul(p, &end, 10);
	bool is_webp = strcmp(end, ".webp") == 0;
	if ((!is_webp && strcmp(end, ".jpg") != 0) || w > 100000 || end - p > 6)
		return false;
	if (width)
		*width = (unsigned)w;
	if (webp)
		*webp = is_webp;
	return true;
}

bool media_record_valid(const json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const json_t *rs = json_object_get(rec, "renditions");
	if (!id || !media_id_valid(id) || !json_is_array(rs) || json_array_size(rs) == 0 ||
	    json_array_size(rs) > 2 * MEDIA_WIDTHS_MAX)
		return false;
	size_t i;
	json_t *r;
	json_array_foreach(rs, i, r)
	{
		const char *path = json_string_value(json_object_get(r, "path"));
		const char *type = json_string_value(json_object_get(r, "type"));
		unsigned w;
		bool webp;
		if (!path || !type || !media_file_valid(path, id, &w, &webp) ||
		    strcmp(type, webp ? "image/webp" : "image/jpeg") != 0 ||
		    json_integer_value(json_object_get(r, "width")) != (json_int_t)w ||
		    json_integer_value(json_object_get(r, "height")) < 1 ||
		    json_integer_value(json_object_get(r, "bytes")) < 1)
			return false;
	}
	return json_integer_value(json_object_get(rec, "width")) >= 1 &&
	       json_integer_value(json_object_get(rec, "height")) >= 1;
}

bool media_id_valid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == MEDIA_ID_LEN && s[n] == '\0';
}

/* --- libvips, started once, with only the four loaders that may read uploads --- */

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static bool vips_ready;

/* libvips's and its loaders' warnings (a truncated file, a bad tile) are about one client's
 * upload: the operator sees them at debug level, in the server's own log lines. */
static void vips_warning(const gchar *domain, GLogLevelFlags level, const gchar *message,
                         gpointer arg)
{
	(void)domain;
	(void)level;
	(void)arg;
	log_debug("media: %s", message);
}

/* libvips's progress notes (which loader, which shrink): not worth a log line per upload */
static void vips_quiet(const gchar *domain, GLogLevelFlags level, const gchar *message,
                       gpointer arg)
{
	(void)domain;
	(void)level;
	(void)message;
	(void)arg;
}

static void start_vips(void)
{
	if (VIPS_INIT("gazette") != 0) {
		log_error("media: libvips did not start: %s", vips_error_buffer());
		vips_error_clear();
		return;
	}
	/* an upload reaches no loader but these: not SVG, PDF, ImageMagick, matrix or CSV, all
	 * of which libvips would otherwise try on bytes it recognises */
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, vips_warning, NULL);
	g_log_set_handler("VIPS", G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, vips_quiet, NULL);
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
	vips_operation_block_set("VipsForeignLoadPng", FALSE);
	vips_operation_block_set("VipsForeignLoadWebp", FALSE);
	vips_operation_block_set("VipsForeignLoadNsgif", FALSE);
	/* every image is seen once: caching operations would only hold memory */
	vips_cache_set_max(0);
	vips_concurrency_set(1); /* the worker pool is the parallelism */
	vips_ready = true;
}

/* A libvips failure: logged for the operator (it never holds a path here: images are read
 * from memory), never shown to the client. */
static void vips_failed(const char *what)
{
	char *msg = vips_error_buffer_copy();
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("media: %s: %s", what, msg);
	g_free(msg);
}

static const char *type_name(const char *type)
{
	return strcmp(type, "image/jpeg") == 0   ? "a JPEG"
	       : strcmp(type, "image/png") == 0  ? "a PNG"
	       : strcmp(type, "image/webp") == 0 ? "a WebP"
	                                         : "a GIF";
}

/* Whether a Content-Type names type (parameters and case aside; image/jpg for JPEG too). */
static bool declared_is(const char *declared, const char *type)
{
	size_t n = strcspn(declared, "; \t");
	if (strncasecmp(declared, type, n) == 0 && type[n] == '\0')
		return true;
	return strcmp(type, "image/jpeg") == 0 && n == 9 &&
	       strncasecmp(declared, "image/jpg", 9) == 0;
}

/* Every metadata field of img gone: EXIF (with GPS), XMP, IPTC, the colour profile, comments.
 * libvips 8.14's webpsave writes EXIF and XMP even with strip, so they go from the image. */
static void strip_metadata(VipsImage *img)
{
	gchar **fields = vips_image_get_fields(img);
	for (size_t i = 0; fields[i]; i++)
		vips_image_remove(img, fields[i]);
	g_strfreev(fields);
}

/* The image at its largest rendition's width, rotated by its EXIF orientation, in 8-bit sRGB
 * (or grey), its metadata gone, decoded into memory (so a truncated or corrupt file fails
 * here). NULL with why filled. */
static VipsImage *decode(const void *data, size_t len, unsigned width, struct buf *why)
{
	VipsImage *thumb = NULL, *srgb = NULL, *mem = NULL;
	/* shrink-on-load: a JPEG is decoded at 1/2, 1/4 or 1/8 when that is enough */
	if (vips_thumbnail_buffer((void *)data, len, &thumb, (int)width, "height", VIPS_MAX_COORD,
	                          "size", VIPS_SIZE_DOWN, "option_string", "fail_on=truncated",
	                          NULL) != 0) {
		vips_failed("decode");
		buf_puts(why, "the image is truncated or corrupt");
		return NULL;
	}
	VipsInterpretation in = vips_image_get_interpretation(thumb);
	VipsInterpretation want = in == VIPS_INTERPRETATION_B_W || in == VIPS_INTERPRETATION_GREY16
	                              ? VIPS_INTERPRETATION_B_W
	                              : VIPS_INTERPRETATION_sRGB;
	if (vips_colourspace(thumb, &srgb, want, NULL) != 0) {
		vips_failed("colour");
		buf_puts(why, "the image's colours could not be converted to sRGB");
		g_object_unref(thumb);
		return NULL;
	}
	g_object_unref(thumb);
	if (vips_image_get_format(srgb) != VIPS_FORMAT_UCHAR) {
		VipsImage *cast = NULL;
		int rc = vips_cast(srgb, &cast, VIPS_FORMAT_UCHAR, NULL);
		g_object_unref(srgb);
		if (rc != 0) {
			vips_failed("cast");
			buf_puts(why, "the image's colours could not be converted to sRGB");
			return NULL;
		}
		srgb = cast;
	}
	mem = vips_image_copy_memory(srgb);
	g_object_unref(srgb);
	if (!mem) {
		vips_failed("decode");
		buf_puts(why, "the image is truncated or corrupt");
		return NULL;
	}
	strip_metadata(mem);
	return mem;
}

/* A WebP file without its EXIF and XMP chunks: libvips 8.14's webpsave makes up an EXIF block
 * (orientation, resolution) even with strip and no metadata left, so libwebpmux takes it out.
 * Returns 0 with *bytes replaced (g_free'd by the caller), or -1. */
static int webp_without_metadata(void **bytes, size_t *len)
{
	WebPData in = {*bytes, *len}, out;
	WebPDataInit(&out);
	WebPMux *mux = WebPMuxCreate(&in, 0);
	if (!mux) {
		g_free(*bytes);
		*bytes = NULL;
		return -1;
	}
	WebPMuxDeleteChunk(mux, "EXIF");
	WebPMuxDeleteChunk(mux, "XMP ");
	WebPMuxDeleteChunk(mux, "ICCP");
	int rc = WebPMuxAssemble(mux, &out) == WEBP_MUX_OK ? 0 : -1;
	WebPMuxDelete(mux);
	if (rc < 0) {
		g_free(*bytes);
		*bytes = NULL;
		return -1;
	}
	g_free(*bytes);
	*bytes = g_memdup2(out.bytes, out.size);
	*len = out.size;
	WebPDataClear(&out);
	return 0;
}

/* One rendition's bytes in type: WebP keeps an alpha channel, JPEG is flattened on white and
 * progressive. Returns 0 or -1; *bytes is g_free'd by the caller. */
static int encode(VipsImage *img, bool webp, void **bytes, size_t *len)
{
	if (webp) {
		/* libwebp's own default quality: on tests/bench/media's photographs it keeps more
		 * of the picture (PSNR) than the Q82 JPEG, in fewer bytes */
		if (vips_webpsave_buffer(img, bytes, len, "Q", 75, "strip", TRUE, NULL) != 0)
			return -1;
		return webp_without_metadata(bytes, len);
	}
	VipsImage *flat = NULL;
	if (vips_image_hasalpha(img)) {
		VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
		int rc = vips_flatten(img, &flat, "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (rc != 0)
			return -1;
		strip_metadata(flat);
	}
	int rc = vips_jpegsave_buffer(flat ? flat : img, bytes, len, "Q", 82, "interlace", TRUE,
	                              "optimize_coding", TRUE, "strip", TRUE, NULL);
	if (flat)
		g_object_unref(flat);
	return rc;
}

int media_folder(const char *path)
{
	if (mkdir(path, 0755) == 0)
		return chmod(path, 0755) == 0 ? 0 : -errno;
	return errno == EEXIST ? 0 : -errno;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/* bytes as folder/name: written to a temporary name in folder, fsynced, renamed. The same
 * name again is the same bytes (names are content hashes): it is replaced by itself. */
static int write_file(const char *folder, const char *name, const void *bytes, size_t len)
{
	char *tmp = xasprintf("%s/.tmp-%s-XXXXXX", folder, name);
	int fd = mkostemp(tmp, O_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t w = write(fd, (const char *)bytes + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			off += (size_t)w;
	}
	if (rc == 0 && fchmod(fd, 0644) != 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -errno;
	char *final = xasprintf("%s/%s", folder, name);
	if (rc == 0 && rename(tmp, final) != 0)
		rc = -errno;
	if (rc < 0 && fd >= 0)
		unlink(tmp);
	free(final);
	free(tmp);
	return rc;
}

int media_intake(const char *dir, size_t max_pixels, const void *data, size_t len,
                 const char *declared, json_t **out, struct buf *why)
{
	*out = NULL;
	if (len == 0) {
		buf_puts(why, "the body is empty: send the image's bytes");
		return MEDIA_BAD;
	}
	const char *type = media_sniff(data, len);
	if (!type) {
		buf_puts(why, "not a JPEG, PNG, WebP or GIF image (SVG and other formats are not "
		              "accepted)");
		return MEDIA_TYPE;
	}
	if (!declared || !declared_is(declared, type)) {
		buf_printf(why, "Content-Type says %.40s but the bytes are %s image",
		           declared ? declared : "nothing", type_name(type));
		return MEDIA_TYPE;
	}
	pthread_once(&vips_once, start_vips);
	if (!vips_ready) {
		buf_puts(why, "images cannot be processed on this server now");
		return MEDIA_STORE;
	}

	/* the header alone: a decompression bomb is refused before a pixel is decoded */
	VipsImage *head =
	    vips_image_new_from_buffer(data, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!head) {
		vips_failed("header");
		buf_printf(why,
		           "the bytes are not a readable image (they begin like %s image): "
		           "truncated or corrupt",
		           type_name(type));
		return MEDIA_BAD;
	}
	uint64_t w = (uint64_t)vips_image_get_width(head);
	uint64_t h = (uint64_t)vips_image_get_page_height(head);
	int frames = vips_image_get_n_pages(head);
	int orientation = vips_image_get_orientation(head);
	g_object_unref(head);
	if (w == 0 || h == 0 || w * h > max_pixels) {
		buf_printf(why, "the image is %llu x %llu pixels, more than media.max_pixels (%zu)",
		           (unsigned long long)w, (unsigned long long)h, max_pixels);
		return MEDIA_BAD;
	}
	if (orientation >= 5 && orientation <= 8) { /* turned a quarter: width and height swap */
		uint64_t t = w;
		w = h;
		h = t;
	}

	unsigned ws[MEDIA_WIDTHS_MAX];
	size_t nw = media_widths((unsigned)w, ws);
	/* WebP holds at most 16383 pixels a side: a rendition as tall as that is left out, and
	 * an image whose smallest one is taller is refused (a long screenshot) */
	unsigned smallest = ws[0];
	while (nw > 0 && (h * ws[nw - 1] + w / 2) / w > WEBP_MAX_DIMENSION)
		nw--;
	if (nw == 0) {
		buf_printf(why,
		           "the image is %llu x %llu pixels: too tall for its renditions (at "
		           "%u pixels wide it would be more than %d high)",
		           (unsigned long long)w, (unsigned long long)h, smallest,
		           WEBP_MAX_DIMENSION);
		return MEDIA_BAD;
	}
	VipsImage *big = decode(data, len, ws[nw - 1], why);
	if (!big)
		return MEDIA_BAD;

	char id[MEDIA_ID_LEN + 1];
	media_id_of(data, len, id);
	char *folder = xasprintf("%s/%.2s", dir, id);
	int rc = media_folder(dir);
	if (rc == 0)
		rc = media_folder(folder);

	json_t *renditions = json_array();
	for (size_t i = 0; rc == 0 && i < nw; i++) {
		VipsImage *img = NULL;
		if ((unsigned)vips_image_get_width(big) <= ws[i]) {
			img = big;
			g_object_ref(img);
		} else if (vips_thumbnail_image(big, &img, (int)ws[i], "height", VIPS_MAX_COORD,
		                                "no_rotate", TRUE, NULL) != 0) {
			vips_failed("resize");
			rc = -EIO;
			break;
		}
		for (int webp = 1; rc == 0 && webp >= 0; webp--) {
			void *bytes = NULL;
			size_t blen = 0;
			if (encode(img, webp, &bytes, &blen) != 0) {
				vips_failed("encode");
				rc = -EIO;
				break;
			}
			char *name = xasprintf("%s-%u.%s", id, ws[i], webp ? "webp" : "jpg");
			rc = write_file(folder, name, bytes, blen);
			g_free(bytes);
			char *path = xasprintf("%.2s/%s", id, name);
			if (rc == 0)
				json_array_append_new(
				    renditions, json_pack("{s:i, s:i, s:s, s:s, s:I}", "width",
				                          vips_image_get_width(img), "height",
				                          vips_image_get_height(img), "type",
				                          webp ? "image/webp" : "image/jpeg",
				                          "path", path, "bytes", (json_int_t)blen));
			free(path);
			free(name);
		}
		g_object_unref(img);
	}
	g_object_unref(big);
	if (rc == 0)
		rc = fsync_dir(folder);
	if (rc == 0)
		rc = fsync_dir(dir);
	free(folder);
	if (rc < 0) {
		/* files already renamed stay until media_gc: another upload of the same bytes may
		 * have committed them */
		log_error("media: renditions of %s not written: %s", id, strerror(-rc));
		json_decref(renditions);
		buf_puts(why, "the image could not be stored right now; nothing was changed, try "
		              "again later");
		return MEDIA_STORE;
	}
	*out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "id", id, "type", type, "width",
	                 (json_int_t)w, "height", (json_int_t)h, "bytes", (json_int_t)len,
	                 "renditions", renditions);
	if (frames > 1)
		json_object_set_new(*out, "frames", json_integer(frames));
	return 0;
}

/* --- collecting what no record uses --- */

/* The id a file's name begins with ("<id>-<width>.<ext>"), or false. */
static bool file_id(const char *name, char id[MEDIA_ID_LEN + 1])
{
	if (strlen(name) <= MEDIA_ID_LEN || name[MEDIA_ID_LEN] != '-')
		return false;
	memcpy(id, name, MEDIA_ID_LEN);
	id[MEDIA_ID_LEN] = '\0';
	return media_id_valid(id);
}

long media_gc(const char *dir, int (*known)(const char *id, void *arg), void *arg, int64_t grace_s)
{
	DIR *top = opendir(dir);
	if (!top)
		return errno == ENOENT ? 0 : -errno;
	long removed = 0;
	int64_t before = (int64_t)time(NULL) - grace_s;
	struct dirent *d;
	while ((d = readdir(top))) {
		if (strlen(d->d_name) != 2 || strspn(d->d_name, "0123456789abcdef") != 2)
			continue;
		/* never a folder a symbolic link names: nothing outside dir is collected */
		int fd =
		    openat(dirfd(top), d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (fd >= 0 && !sub)
			close(fd);
		struct dirent *f;
		while (sub && (f = readdir(sub))) {
			char id[MEDIA_ID_LEN + 1];
			bool tmp = strncmp(f->d_name, ".tmp-", 5) == 0;
			if (!tmp && !file_id(f->d_name, id))
				continue;
			struct stat st;
			if (fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode) || st.st_mtime > before)
				continue;
			if (!tmp && known(id, arg) != 0)
				continue;
			if (unlinkat(dirfd(sub), f->d_name, 0) == 0)
				removed++;
		}
		if (sub)
			closedir(sub);
	}
	closedir(top);
	return removed;
}

/* --- what pages show --- */

static const char *str_at(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

void media_srcset(struct buf *out, const json_t *renditions, const char *type, const char *prefix)
{
	size_t i, n = 0;
	json_t *r;
	json_array_foreach(renditions, i, r)
	{
		if (strcmp(str_at(r, "type"), type) != 0)
			continue;
		buf_printf(out, "%s%s/media/", n++ ? ", " : "", prefix);
		escape_html(out, str_at(r, "path"), strlen(str_at(r, "path")));
		buf_printf(out, " %lldw",
		           (long long)json_integer_value(json_object_get(r, "width")));
	}
}

const json_t *media_small_rendition(const json_t *renditions)
{
	const json_t *small = NULL;
	size_t i;
	json_t *r;
	json_array_foreach(renditions, i, r)
	{
		if (strcmp(str_at(r, "type"), "image/jpeg") == 0 &&
		    (!small || json_integer_value(json_object_get(r, "width")) <
		                   json_integer_value(json_object_get(small, "width"))))
			small = r;
	}
	return small;
}

const json_t *media_main_rendition(const json_t *renditions)
{
	const json_t *best = NULL;
	size_t i;
	json_t *r;
	json_array_foreach(renditions, i, r)
	{
		if (strcmp(str_at(r, "type"), "image/jpeg") != 0)
			continue;
		json_int_t w = json_integer_value(json_object_get(r, "width"));
		if (w == 1280)
			return r;
		if (!best || w > json_integer_value(json_object_get(best, "width")))
			best = r;
	}
	return best;
}

void media_picture_html(struct buf *out, const json_t *image, const char *alt_html,
                        const char *sizes)
{
	const json_t *rs = json_object_get(image, "renditions");
	const json_t *main = media_main_rendition(rs);
	if (!main)
		return;
	buf_puts(out, "<picture><source type=\"image/webp\" srcset=\"");
	media_srcset(out, rs, "image/webp", "");
	buf_printf(out, "\" sizes=\"%s\"><img src=\"/media/", sizes);
	escape_html(out, str_at(main, "path"), strlen(str_at(main, "path")));
	buf_puts(out, "\" srcset=\"");
	media_srcset(out, rs, "image/jpeg", "");
	buf_printf(out,
	           "\" sizes=\"%s\" width=\"%lld\" height=\"%lld\" alt=\"%s\" loading=\"lazy\" "
	           "decoding=\"async\"></picture>",
	           sizes, (long long)json_integer_value(json_object_get(image, "width")),
	           (long long)json_integer_value(json_object_get(image, "height")), alt_html);
}
