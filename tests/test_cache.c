/* test_cache.c - the answer cache: keys, generations, the byte budget, least-recently-used
 * eviction under a flood of distinct keys, references that outlive eviction, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "mem.h"

static atomic_int destroyed;

/* A value: an int on the heap, counted when the cache frees it. */
static void destroy(void *value)
{
	atomic_fetch_add(&destroyed, 1);
	free(value);
}

static void *value_of(int n)
{
	int *v = xmalloc(sizeof(*v));
	*v = n;
	return v;
}

static void put(struct cache *c, const char *key, uint64_t gen, int n, size_t size)
{
	cache_release(c, cache_insert(c, key, strlen(key), gen, value_of(n), size));
}

/* The value stored under key at gen, or -1 when it misses. */
static int get(struct cache *c, const char *key, uint64_t gen)
{
	struct cache_entry *e = cache_lookup(c, key, strlen(key), gen);
	if (!e)
		return -1;
	int n = *(int *)cache_value(e);
	cache_release(c, e);
	return n;
}

static void test_keys_and_generations(void **state)
{
	(void)state;
	atomic_store(&destroyed, 0);
	struct cache *c = cache_new(1 << 20, destroy);
	put(c, "a", 1, 1, 100);
	put(c, "b", 1, 2, 100);
	assert_int_equal(get(c, "a", 1), 1);
	assert_int_equal(get(c, "b", 1), 2);
	assert_int_equal(get(c, "c", 1), -1);
	assert_int_equal(get(c, "a", 2), -1); /* another generation is a miss */
	/* binary keys: bytes after a NUL count, a prefix is another key */
	struct cache_entry *e = cache_insert(c, "k\0x", 3, 1, value_of(3), 10);
	cache_release(c, e);
	e = cache_insert(c, "k\0y", 3, 1, value_of(4), 10);
	cache_release(c, e);
	e = cache_lookup(c, "k\0x", 3, 1);
	assert_non_null(e);
	assert_int_equal(*(int *)cache_value(e), 3);
	cache_release(c, e);
	assert_null(cache_lookup(c, "k", 1, 1));
	/* the same key replaces the old value, which is freed */
	put(c, "a", 1, 10, 100);
	assert_int_equal(get(c, "a", 1), 10);
	assert_int_equal(atomic_load(&destroyed), 1);
	/* a newer generation drops every entry of the older one */
	put(c, "new", 2, 5, 100);
	assert_int_equal(atomic_load(&destroyed), 5);
	assert_int_equal(get(c, "b", 2), -1);
	assert_int_equal(get(c, "new", 2), 5);
	/* an answer built from older content than the table holds is served, never kept */
	put(c, "old", 1, 6, 100);
	assert_int_equal(atomic_load(&destroyed), 6);
	assert_int_equal(get(c, "old", 1), -1);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	cache_free(c);
	assert_int_equal(atomic_load(&destroyed), 7);
}

static void test_budget_counts_everything(void **state)
{
	(void)state;
	struct cache *c = cache_new(100000, destroy);
	put(c, "a", 1, 1, 1000);
	struct cache_stats st;
	cache_stats(c, &st);
	/* the value's size, plus the key and the entry's own memory */
	assert_true(st.bytes > 1000 + 1);
	assert_true(st.bytes < 1000 + 200);
	size_t one = st.bytes;
	put(c, "b", 1, 2, 1000);
	cache_stats(c, &st);
	assert_int_equal(st.bytes, 2 * one);
	/* a value alone over the budget is never kept, but its holder has it */
	struct cache_entry *e = cache_insert(c, "huge", 4, 1, value_of(3), 200000);
	assert_int_equal(*(int *)cache_value(e), 3);
	cache_release(c, e);
	assert_int_equal(get(c, "huge", 1), -1);
	cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	/* a keyless value is served once and freed */
	e = cache_insert(c, NULL, 0, 1, value_of(4), 10);
	assert_int_equal(*(int *)cache_value(e), 4);
	cache_release(c, e);
	cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	cache_free(c);
}

static void test_least_recently_used_goes(void **state)
{
	(void)state;
	struct cache *c = cache_new(10000, destroy);
	put(c, "probe", 1, 0, 1000);
	struct cache_stats st;
	cache_stats(c, &st);
	size_t one = st.bytes; /* every key below has the same length as "probe" */
	cache_clear(c);
	size_t fit = 10000 / one;
	char key[16];
	for (size_t i = 0; i < fit; i++) {
		snprintf(key, sizeof(key), "k%04zu", i);
		put(c, key, 1, (int)i, 1000);
	}
	cache_stats(c, &st);
	assert_int_equal(st.entries, fit);
	/* k0000 is read, so k0001 is now the least recent and goes first */
	assert_int_equal(get(c, "k0000", 1), 0);
	put(c, "extra", 1, 99, 1000);
	assert_int_equal(get(c, "k0000", 1), 0);
	assert_int_equal(get(c, "k0001", 1), -1);
	assert_int_equal(get(c, "k0002", 1), 2);
	cache_stats(c, &st);
	assert_int_equal(st.entries, fit);
	assert_int_equal(st.evictions, 1);
	assert_true(st.bytes <= 10000);
	cache_free(c);
}

/* SPEC §5: a flood of distinct URLs can neither push the hot pages out nor grow memory past
 * the budget. 200,000 distinct keys, a hot key read after every ten. */
static void test_flood_keeps_hot_entries(void **state)
{
	(void)state;
	const size_t budget = 4u << 20;
	struct cache *c = cache_new(budget, destroy);
	put(c, "/articles/hot", 1, 7, 20000);
	unsigned hot_hits = 0, hot_reads = 0;
	char key[32];
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "/api/articles?q=%d", i);
		put(c, key, 1, i, 3000);
		if (i % 10 == 0) {
			hot_reads++;
			hot_hits += get(c, "/articles/hot", 1) == 7;
		}
		if (i % 1000 == 0) {
			struct cache_stats st;
			cache_stats(c, &st);
			assert_true(st.bytes <= budget);
		}
	}
	assert_int_equal(hot_hits, hot_reads);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_true(st.bytes <= budget);
	assert_true(st.evictions > 190000);
	/* eviction went one entry at a time: the table is still nearly full */
	assert_true(st.bytes > budget - 8000);
	cache_free(c);
}

static void test_reference_outlives_eviction(void **state)
{
	(void)state;
	atomic_store(&destroyed, 0);
	struct cache *c = cache_new(2000, destroy);
	put(c, "a", 1, 1, 1500);
	struct cache_entry *held = cache_lookup(c, "a", 1, 1);
	put(c, "b", 1, 2, 1500); /* evicts a, which is still held */
	assert_int_equal(get(c, "a", 1), -1);
	assert_int_equal(atomic_load(&destroyed), 0);
	assert_int_equal(*(int *)cache_value(held), 1);
	cache_release(c, held);
	assert_int_equal(atomic_load(&destroyed), 1);
	/* and past cache_free */
	held = cache_lookup(c, "b", 1, 1);
	cache_free(c);
	assert_int_equal(atomic_load(&destroyed), 1);
	assert_int_equal(*(int *)cache_value(held), 2);
	cache_release(NULL, held);
	assert_int_equal(atomic_load(&destroyed), 2);
}

struct worker {
	struct cache *c;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char key[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "%d", (i * 7 + w->id) % 500);
		struct cache_entry *e =
		    cache_lookup(w->c, key, strlen(key), 1 + (uint64_t)(i / 5000));
		if (e) {
			if (*(int *)cache_value(e) < 0)
				abort();
			cache_release(w->c, e);
		} else {
			put(w->c, key, 1 + (uint64_t)(i / 5000), i, 500);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	atomic_store(&destroyed, 0);
	struct cache *c = cache_new(64000, destroy);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){c, i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_true(st.bytes <= 64000);
	uint64_t inserted = st.inserts;
	cache_free(c);
	/* every value made was freed exactly once (some were never stored at all) */
	assert_true((uint64_t)atomic_load(&destroyed) >= inserted);
	assert_int_equal(st.hits + st.misses, 80000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_and_generations),
	    cmocka_unit_test(test_budget_counts_everything),
	    cmocka_unit_test(test_least_recently_used_goes),
	    cmocka_unit_test(test_flood_keeps_hot_entries),
	    cmocka_unit_test(test_reference_outlives_eviction),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
