/* media.h - images (SPEC §12): intake with libvips (sniffing, limits, EXIF rotation, metadata
 * stripped, sRGB), renditions in WebP and JPEG, files by content hash, and the markup and
 * names the pages use. */
#ifndef GAZETTE_MEDIA_H
#define GAZETTE_MEDIA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MEDIA_ID_LEN     16 /* hex digits of the SHA-256 of the uploaded bytes */
#define MEDIA_WIDTHS_MAX 5
#define MEDIA_TEXT_MAX   1000 /* characters of alt, caption, credit */
/* How wide a story's pictures are shown (static/style.css: the 42rem column less its padding),
 * for the browser's choice among the renditions before it has laid out the page. */
#define MEDIA_SIZES "(max-width: 42rem) calc(100vw - 2.5rem), 39.5rem"
/* ... and a teaser's small one */
#define MEDIA_TEASER_SIZES "8rem"

/* The type an image's first bytes say ("image/jpeg", "image/png", "image/webp", "image/gif"),
 * or NULL for anything else (SVG, HTML, ...). */
const char *media_sniff(const void *data, size_t len);

/* The widths of the renditions of an image width pixels wide, smallest first: 320, 640, 960,
 * 1280, 1920 up to width, or width alone below 320. Fills out and returns how many. */
size_t media_widths(unsigned width, unsigned out[MEDIA_WIDTHS_MAX]);

/* Whether s is a media id (MEDIA_ID_LEN lowercase hex digits). */
bool media_id_valid(const char *s);
/* The id of an image of these bytes: the first MEDIA_ID_LEN hex digits of their SHA-256. */
void media_id_of(const void *data, size_t len, char id[MEDIA_ID_LEN + 1]);
/* Whether rel (under paths.media) is a name media_intake gives: "<2 hex>/<id>-<width>.webp"
 * or ".jpg", of id when id is not NULL; with its width and type when asked. */
bool media_file_valid(const char *rel, const char *id, unsigned *width, bool *webp);
/* Whether a record (an import's) is one media_intake could have made: its id, and renditions
 * each named, typed and sized as the intake names them. */
bool media_record_valid(const json_t *rec);

/* The intake's refusals: each a status and a message for the client. */
enum media_refusal {
	MEDIA_TYPE = 415,  /* not one of the four types, or not the type its Content-Type says */
	MEDIA_BAD = 422,   /* empty, truncated, corrupt, or more pixels than allowed */
	MEDIA_STORE = 503, /* the files could not be written */
};

/* Makes the renditions of the image in data (len bytes; declared is the request's
 * Content-Type) under dir, each written to a temporary name, fsynced and renamed, the folder
 * fsynced: when this returns 0 every file of *out is on disk. *out (a new reference) is the
 * record {"id", "type", "width", "height", "bytes", "renditions": [{"width", "height",
 * "type", "path", "bytes"}], "frames" (an animation's, of which the first is kept)}. Returns
 * 0, or a refusal with why filled (never a path or a library's message) and nothing
 * written. Thread-safe; runs libvips, so call it off the request threads. */
int media_intake(const char *dir, size_t max_pixels, const void *data, size_t len,
                 const char *declared, json_t **out, struct buf *why);

/* Removes under dir the temporary files and the renditions whose id known(id, arg) says is
 * no record's (0), left older than grace_s seconds (younger ones may be an upload that has not
 * committed yet, on this instance or another). known < 0 (the store failed) keeps the file.
 * Returns how many files were removed, or a negative error. */
#define MEDIA_GC_GRACE_S 600 /* what an upload may take between its files and its record */
long media_gc(const char *dir, int (*known)(const char *id, void *arg), void *arg, int64_t grace_s);

/* The srcset of an image's renditions of type ("image/webp" or "image/jpeg"): "PREFIX/PATH
 * 320w, ..." appended to out. renditions is a record's array. */
void media_srcset(struct buf *out, const json_t *renditions, const char *type, const char *prefix);
/* The JPEG rendition an image is named by when one is (share previews, feeds): the 1280 one,
 * else the widest. NULL when there is none. Borrowed from renditions. */
const json_t *media_main_rendition(const json_t *renditions);

/* The smallest JPEG rendition (a teaser's), or NULL. Borrowed from renditions. */
const json_t *media_small_rendition(const json_t *renditions);

/* Makes the folder path (paths.media, or one of its own) once, readable by nginx whatever the
 * service's umask (0755). Returns 0 or a negative errno. */
int media_folder(const char *path);

/* The responsive picture of an image for a story's body: <picture> with the WebP srcset, the
 * JPEG fallback, sizes, width, height and lazy loading. alt_html is already escaped. */
void media_picture_html(struct buf *out, const json_t *image, const char *alt_html,
                        const char *sizes);

#endif
