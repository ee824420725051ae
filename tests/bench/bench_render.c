/* bench_render.c - cache-miss render time of story pages: store_get + render_article, timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "mem.h"
#include "render.h"
#include "store.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_render CONFIG PAGES\n");
		return 2;
	}
	struct config cfg;
	config_init(&cfg);
	struct buf err = BUF_INIT;
	if (config_load(&cfg, argv[1], &err) < 0) {
		fprintf(stderr, "%s\n", buf_str(&err));
		return 2;
	}
	setenv("TZ", cfg.site_timezone, 1);
	tzset();
	struct render *r = render_new(&cfg, &err);
	struct store *s = store_open(config_database(&cfg), 1, &err);
	if (!r || !s) {
		fprintf(stderr, "%s\n", buf_str(&err));
		return 1;
	}
	unsigned pages = (unsigned)atoi(argv[2]);
	struct store_query q = {.page = 1, .per_page = pages, .public_only = false, .now = 0};
	struct article_list list;
	if (store_list(s, &q, &list) < 0 || list.n == 0) {
		fprintf(stderr, "no articles\n");
		return 1;
	}
	double *t = xcalloc(list.n, sizeof(double));
	struct buf out = BUF_INIT;
	size_t bytes = 0;
	for (size_t i = 0; i < list.n; i++) {
		double start = now_us();
		struct article a;
		article_init(&a);
		if (store_get(s, list.items[i].slug, false, 0, &a) < 0)
			return 1;
		buf_reset(&out);
		struct render_story st = {&a, NULL, false};
		if (render_article(r, &st, &out, &err) < 0)
			return 1;
		article_cleanup(&a);
		t[i] = now_us() - start;
		bytes += out.len;
	}
	qsort(t, list.n, sizeof(double), cmp);
	printf("{\"pages\": %zu, \"median_us\": %.1f, \"p99_us\": %.1f, \"mean_bytes\": %zu}\n",
	       list.n, t[list.n / 2], t[list.n * 99 / 100], bytes / list.n);
	free(t);
	buf_cleanup(&out);
	article_list_cleanup(&list);
	store_close(s);
	render_free(r);
	config_cleanup(&cfg);
	buf_cleanup(&err);
	return 0;
}
