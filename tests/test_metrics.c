/* test_metrics.c - the counters of /metrics: statuses and their classes, bucket edges,
 * cumulative histograms, the "none" route, sums over threads, label escapes, the gauges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

static const char *const names[] = {"/", "/articles/*", "/x\"y\\z"};
#define NROUTES (sizeof(names) / sizeof(names[0]))

/* The value of the sample line that begins with prefix (all of it up to the value), or -1. */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static char *render(struct metrics *m, int64_t backlog)
{
	struct buf out = BUF_INIT;
	metrics_render(m, backlog, &out);
	return buf_steal(&out, NULL);
}

static void test_requests(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(names, NROUTES);
	metrics_request(m, 0, 200, 1000);
	metrics_request(m, 0, 200, 2000);
	metrics_request(m, 1, 404, 1000);
	metrics_request(m, 1, 418, 1000);  /* not one of its own: its class */
	metrics_request(m, 1, 299, 1000);  /* ... */
	metrics_request(m, 99, 400, 1000); /* no such route: none */
	metrics_request(m, NROUTES, 431, 1000);
	metrics_request(m, 0, 700, 1000); /* nonsense: 5xx */
	metrics_request(NULL, 0, 200, 1); /* nothing */
	char *t = render(m, 3);
	assert_true(sample(t, "gazette_requests_total{route=\"/\",status=\"200\"}") == 2);
	assert_true(sample(t, "gazette_requests_total{route=\"/articles/*\",status=\"404\"}") == 1);
	assert_true(sample(t, "gazette_requests_total{route=\"/articles/*\",status=\"4xx\"}") == 1);
	assert_true(sample(t, "gazette_requests_total{route=\"/articles/*\",status=\"2xx\"}") == 1);
	assert_true(sample(t, "gazette_requests_total{route=\"none\",status=\"400\"}") == 1);
	assert_true(sample(t, "gazette_requests_total{route=\"none\",status=\"431\"}") == 1);
	assert_true(sample(t, "gazette_requests_total{route=\"/\",status=\"5xx\"}") == 1);
	/* a route nobody asked for has no lines; the escapes of a label value */
	assert_null(strstr(t, "route=\"/x"));
	assert_true(sample(t, "gazette_outbox_backlog") == 3);
	free(t);
	metrics_request(m, 2, 200, 1000);
	t = render(m, -1);
	assert_true(sample(t, "gazette_requests_total{route=\"/x\\\"y\\\\z\",status=\"200\"}") ==
	            1);
	assert_null(strstr(t, "gazette_outbox_backlog")); /* unknown: left out */
	free(t);
	metrics_free(m);
}

static void test_histogram(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(names, NROUTES);
	metrics_request(m, 0, 200, 50000);       /* on the first bound: in it (le) */
	metrics_request(m, 0, 200, 50001);       /* just above: the next */
	metrics_request(m, 0, 200, 1000000);     /* 1 ms */
	metrics_request(m, 0, 200, 20000000000); /* 20 s: only +Inf */
	metrics_request(m, 0, 200, -5);          /* a clock that went back: 0 */
	char *t = render(m, 0);
	const char *b = "gazette_request_duration_seconds_bucket{route=\"/\",le=";
	char key[128];
	struct {
		const char *le;
		double want;
	} cases[] = {{"5e-05", 2}, {"0.0001", 3}, {"0.001", 4}, {"10", 4}, {"+Inf", 5}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(key, sizeof(key), "%s\"%s\"}", b, cases[i].le);
		if (sample(t, key) != cases[i].want)
			fail_msg("%s: %g, want %g", key, sample(t, key), cases[i].want);
	}
	assert_true(sample(t, "gazette_request_duration_seconds_count{route=\"/\"}") == 5);
	double sum = sample(t, "gazette_request_duration_seconds_sum{route=\"/\"}");
	assert_true(sum > 20.0010 && sum < 20.0012);
	/* the store's: every op has its histogram, zero or not */
	metrics_store(m, METRICS_WRITE, 3000000);
	metrics_store(m, METRICS_WRITE, 3000000);
	metrics_store(m, METRICS_NOPS, 1); /* no such op: nothing */
	metrics_store(NULL, METRICS_GET, 1);
	free(t);
	t = render(m, 0);
	assert_true(sample(t, "gazette_store_query_seconds_count{op=\"write\"}") == 2);
	assert_true(sample(t, "gazette_store_query_seconds_bucket{op=\"write\",le=\"0.0025\"}") ==
	            0);
	assert_true(sample(t, "gazette_store_query_seconds_bucket{op=\"write\",le=\"0.005\"}") ==
	            2);
	assert_true(sample(t, "gazette_store_query_seconds_count{op=\"get\"}") == 0);
	assert_true(sample(t, "gazette_store_writes_total") == 2);
	free(t);
	metrics_free(m);
}

static struct metrics *shared;

static void *count(void *arg)
{
	size_t route = (size_t)(uintptr_t)arg;
	for (int i = 0; i < 100000; i++) {
		metrics_request(shared, route, 200, i);
		metrics_store(shared, METRICS_GET, i);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	shared = metrics_new(names, NROUTES);
	pthread_t th[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, count, (void *)(i % 2));
	/* a scrape while they count sees whole numbers, never more than were counted */
	char *t = render(shared, 0);
	double mid = sample(t, "gazette_requests_total{route=\"/\",status=\"200\"}");
	assert_true(mid <= 200000);
	free(t);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	t = render(shared, 0);
	assert_true(sample(t, "gazette_requests_total{route=\"/\",status=\"200\"}") == 200000);
	assert_true(sample(t, "gazette_requests_total{route=\"/articles/*\",status=\"200\"}") ==
	            200000);
	assert_true(sample(t, "gazette_store_query_seconds_count{op=\"get\"}") == 400000);
	free(t);
	metrics_free(shared);
	/* a new object is counted afresh on the same thread */
	struct metrics *m = metrics_new(names, NROUTES);
	metrics_request(m, 0, 200, 1);
	t = render(m, 0);
	assert_true(sample(t, "gazette_requests_total{route=\"/\",status=\"200\"}") == 1);
	free(t);
	metrics_free(m);
}

static void gauges(void *arg, struct metrics_gauges *g)
{
	(void)arg;
	g->cache_hits = 7;
	g->cache_misses = 8;
	g->cache_evictions = 9;
	g->cache_bytes = 1000;
	g->cache_max_bytes = 2000;
	g->cache_entries = 3;
	g->connections = 4;
}

static void test_gauges(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(names, NROUTES);
	char *t = render(m, 0);
	assert_true(sample(t, "gazette_cache_hits_total") == 0); /* no source yet */
	free(t);
	metrics_on_scrape(m, gauges, NULL);
	t = render(m, 0);
	assert_true(sample(t, "gazette_cache_hits_total") == 7);
	assert_true(sample(t, "gazette_cache_misses_total") == 8);
	assert_true(sample(t, "gazette_cache_evictions_total") == 9);
	assert_true(sample(t, "gazette_cache_bytes") == 1000);
	assert_true(sample(t, "gazette_cache_max_bytes") == 2000);
	assert_true(sample(t, "gazette_cache_entries") == 3);
	assert_true(sample(t, "gazette_open_connections") == 4);
	assert_non_null(strstr(t, "gazette_build_info{version=\"" GAZETTE_VERSION "\"} 1\n"));
	/* every family has its HELP and TYPE before its samples */
	assert_non_null(strstr(t, "# TYPE gazette_request_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "# TYPE gazette_requests_total counter\n"));
	assert_non_null(strstr(t, "# TYPE gazette_cache_bytes gauge\n"));
	free(t);
	metrics_free(m);
	metrics_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_gauges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
