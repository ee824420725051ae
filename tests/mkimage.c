/* mkimage.c - makes the images the media tests upload, with libvips: a photograph-like JPEG
 * (smooth light and detail, not noise), a 16-bit PNG with alpha, a CMYK JPEG, an animated GIF,
 * a WebP, and a JPEG with an EXIF orientation; and the PSNR of a rendition. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static void die(const char *what)
{
	fprintf(stderr, "mkimage: %s: %s\n", what, vips_error_buffer());
	exit(1);
}

/* w x h, 3 bands of 8 bits: large soft shapes (sky, light), finer texture (leaves, fabric)
 * and a little grain, each band its own, seeded by seed so every image is different. */
static VipsImage *scene(int w, int h, int seed)
{
	VipsImage *out = NULL;
	VipsImage *bands[3];
	for (int b = 0; b < 3; b++) {
		VipsImage *t[8] = {0};
		/* a coarse random field blown up: the soft shapes */
		if (vips_gaussnoise(&t[0], w / 64 + 2, h / 64 + 2, "mean", 128.0, "sigma", 60.0,
		                    "seed", seed * 7 + b, NULL) ||
		    vips_resize(t[0], &t[1], (double)w / (w / 64 + 2), "vscale",
		                (double)h / (h / 64 + 2), "kernel", VIPS_KERNEL_CUBIC, NULL) ||
		    vips_gaussnoise(&t[2], w / 4 + 2, h / 4 + 2, "mean", 0.0, "sigma", 25.0, "seed",
		                    seed * 13 + b, NULL) ||
		    vips_resize(t[2], &t[3], (double)w / (w / 4 + 2), "vscale",
		                (double)h / (h / 4 + 2), NULL) ||
		    vips_gaussnoise(&t[4], w, h, "mean", 0.0, "sigma", 4.0, "seed", seed * 17 + b,
		                    NULL) ||
		    vips_add(t[1], t[3], &t[5], NULL) || vips_add(t[5], t[4], &t[6], NULL) ||
		    vips_crop(t[6], &t[7], 0, 0, w, h, NULL))
			die("scene");
		if (vips_cast(t[7], &bands[b], VIPS_FORMAT_UCHAR, NULL))
			die("cast");
		for (int i = 0; i < 8; i++)
			if (t[i])
				g_object_unref(t[i]);
	}
	if (vips_bandjoin(bands, &out, 3, NULL))
		die("bandjoin");
	for (int b = 0; b < 3; b++)
		g_object_unref(bands[b]);
	VipsImage *srgb = NULL;
	if (vips_copy(out, &srgb, "interpretation", VIPS_INTERPRETATION_sRGB, NULL))
		die("copy");
	g_object_unref(out);
	return srgb;
}

/* The PSNR (dB) of a rendition against the original resized to its width by libvips, in
 * 8-bit sRGB: how much of the picture an encoding kept, for the benchmark's byte counts. */
static int psnr(const char *original, const char *rendition)
{
	VipsImage *r = vips_image_new_from_file(rendition, NULL), *ref = NULL, *d = NULL,
	          *sq = NULL;
	if (!r ||
	    vips_thumbnail(original, &ref, vips_image_get_width(r), "height", VIPS_MAX_COORD,
	                   NULL) ||
	    vips_subtract(ref, r, &d, NULL) || vips_multiply(d, d, &sq, NULL))
		die("psnr");
	double mse;
	if (vips_avg(sq, &mse, NULL))
		die("avg");
	printf("%.2f\n", 10 * log10(255.0 * 255.0 / (mse > 0 ? mse : 1e-9)));
	g_object_unref(sq);
	g_object_unref(d);
	g_object_unref(ref);
	g_object_unref(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (VIPS_INIT(argv[0]))
		die("init");
	if (argc == 4 && strcmp(argv[1], "psnr") == 0)
		return psnr(argv[2], argv[3]);
	if (argc < 5) {
		fprintf(stderr,
		        "usage: mkimage photo|png16a|cmyk|gif|webp|orient W H OUT [SEED]\n");
		return 2;
	}
	const char *kind = argv[1], *out = argv[4];
	int w = atoi(argv[2]), h = atoi(argv[3]), seed = argc > 5 ? atoi(argv[5]) : 1;
	VipsImage *img = scene(w, h, seed), *t = NULL;
	int rc = 0;
	if (strcmp(kind, "photo") == 0) {
		rc = vips_jpegsave(img, out, "Q", 92, NULL);
	} else if (strcmp(kind, "orient") == 0) {
		vips_image_set_int(img, "orientation", 6); /* stored on its side, shown upright */
		rc = vips_jpegsave(img, out, "Q", 90, NULL);
	} else if (strcmp(kind, "webp") == 0) {
		rc = vips_webpsave(img, out, "Q", 90, NULL);
	} else if (strcmp(kind, "png16a") == 0) {
		VipsImage *alpha = NULL, *rgba = NULL, *wide = NULL;
		rc = vips_extract_band(img, &alpha, 1, NULL) ||
		     vips_bandjoin2(img, alpha, &rgba, NULL) ||
		     vips_colourspace(rgba, &wide, VIPS_INTERPRETATION_RGB16, NULL) ||
		     vips_pngsave(wide, out, "bitdepth", 16, NULL);
		if (alpha)
			g_object_unref(alpha);
		if (rgba)
			g_object_unref(rgba);
		if (wide)
			g_object_unref(wide);
	} else if (strcmp(kind, "cmyk") == 0) {
		/* four bands marked CMYK: libjpeg writes them as a CMYK JPEG (Adobe marker) */
		VipsImage *k = NULL, *four = NULL;
		rc = vips_extract_band(img, &k, 2, NULL) || vips_bandjoin2(img, k, &four, NULL) ||
		     vips_copy(four, &t, "interpretation", VIPS_INTERPRETATION_CMYK, NULL) ||
		     vips_jpegsave(t, out, "Q", 90, NULL);
		if (k)
			g_object_unref(k);
		if (four)
			g_object_unref(four);
	} else if (strcmp(kind, "gif") == 0) {
		/* three frames stacked, one page-height each: an animation */
		VipsImage *frames[3] = {img, NULL, NULL};
		rc = vips_flip(img, &frames[1], VIPS_DIRECTION_HORIZONTAL, NULL) ||
		     vips_flip(img, &frames[2], VIPS_DIRECTION_VERTICAL, NULL) ||
		     vips_arrayjoin(frames, &t, 3, "across", 1, NULL);
		if (!rc) {
			vips_image_set_int(t, "page-height", h);
			rc = vips_gifsave(t, out, NULL);
		}
		for (int i = 1; i < 3; i++)
			if (frames[i])
				g_object_unref(frames[i]);
	} else {
		fprintf(stderr, "mkimage: no kind '%s'\n", kind);
		return 2;
	}
	if (rc)
		die(kind);
	if (t)
		g_object_unref(t);
	g_object_unref(img);
	vips_shutdown();
	return 0;
}
