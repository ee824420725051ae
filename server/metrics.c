/* metrics.c - per-thread counters summed on read, and the Prometheus text format. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"

/* The statuses counted one by one; any other is counted under its class (2xx ... 5xx). */
static const unsigned statuses[] = {200, 201, 204, 206, 301, 302, 303, 304, 307, 308, 400,
                                    401, 403, 404, 405, 406, 408, 409, 410, 411, 412, 413,
                                    414, 415, 416, 422, 429, 431, 500, 501, 502, 503, 504};
#define NSTATUS  (sizeof(statuses) / sizeof(statuses[0]))
#define NCLASSES 5 /* 1xx to 5xx, for the others */
#define NCOLUMNS (NSTATUS + NCLASSES)

/* Upper bounds of the latency buckets, in nanoseconds (le= in seconds); one more: +Inf. */
static const int64_t bounds_ns[] = {50000,      100000,     250000,    500000,     1000000,
                                    2500000,    5000000,    10000000,  25000000,   50000000,
                                    100000000,  250000000,  500000000, 1000000000, 2500000000,
                                    5000000000, 10000000000};
static const char *const bounds_text[] = {"5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                          "0.005", "0.01",   "0.025",   "0.05",   "0.1",   "0.25",
                                          "0.5",   "1",      "2.5",     "5",      "10"};
#define NBOUNDS  (sizeof(bounds_ns) / sizeof(bounds_ns[0]))
#define NBUCKETS (NBOUNDS + 1)

static const char *const op_names[METRICS_NOPS] = {"get", "list", "write"};

/* One histogram: a count per bucket (not cumulative: the scrape adds them up) and the sum. */
struct histogram {
	_Atomic uint64_t bucket[NBUCKETS];
	_Atomic uint64_t sum_ns;
};

/* One route's counters. */
struct route_cells {
	_Atomic uint64_t status[NCOLUMNS];
	struct histogram latency;
};

/* One thread's counters: written by that thread alone, read by a scrape. */
struct shard {
	struct shard *next;
	struct histogram store[METRICS_NOPS];
	struct route_cells routes[]; /* nroutes + 1 */
};

struct metrics {
	uint64_t id; /* which object a thread's cached shard belongs to */
	const char *const *names;
	size_t nroutes;
	pthread_mutex_t lock; /* the shard list: taken once per thread, and by a scrape */
	struct shard *shards;
	void (*scrape)(void *arg, struct metrics_gauges *g);
	void *scrape_arg;
};

static atomic_uint_fast64_t next_id = 1;

/* This thread's shard of m, made on its first count. */
static struct shard *mine(struct metrics *m)
{
	static _Thread_local uint64_t id;
	static _Thread_local struct shard *shard;
	if (id == m->id)
		return shard;
	struct shard *s = xcalloc(1, sizeof(*s) + (m->nroutes + 1) * sizeof(s->routes[0]));
	pthread_mutex_lock(&m->lock);
	s->next = m->shards;
	m->shards = s;
	pthread_mutex_unlock(&m->lock);
	id = m->id;
	shard = s;
	return s;
}

/* Adds n to a cell only this thread writes: a plain load and store (no lock prefix), which a
 * concurrent scrape reads whole. */
static inline void add(_Atomic uint64_t *cell, uint64_t n)
{
	atomic_store_explicit(cell, atomic_load_explicit(cell, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static void observe(struct histogram *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	size_t i = 0;
	while (i < NBOUNDS && ns > bounds_ns[i])
		i++;
	add(&h->bucket[i], 1);
	add(&h->sum_ns, (uint64_t)ns);
}

static size_t column(unsigned status)
{
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			return i;
	unsigned cls = status / 100;
	return NSTATUS + (cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

struct metrics *metrics_new(const char *const *names, size_t nroutes)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->id = atomic_fetch_add(&next_id, 1);
	m->names = names;
	m->nroutes = nroutes;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (struct shard *s = m->shards, *next; s; s = next) {
		next = s->next;
		free(s);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_request(struct metrics *m, size_t route, unsigned status, int64_t ns)
{
	if (!m)
		return;
	if (route > m->nroutes)
		route = m->nroutes;
	struct route_cells *r = &mine(m)->routes[route];
	add(&r->status[column(status)], 1);
	observe(&r->latency, ns);
}

void metrics_store(struct metrics *m, enum metrics_op op, int64_t ns)
{
	if (m && op < METRICS_NOPS)
		observe(&mine(m)->store[op], ns);
}

void metrics_on_scrape(struct metrics *m, void (*fn)(void *arg, struct metrics_gauges *g),
                       void *arg)
{
	m->scrape = fn;
	m->scrape_arg = arg;
}

int64_t metrics_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A histogram summed over the shards. */
struct totals {
	uint64_t bucket[NBUCKETS];
	uint64_t sum_ns;
};

static void sum(struct totals *t, const struct histogram *h)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		t->bucket[i] += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
	t->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

/* Writes a label value: the route patterns are plain, but the format's three escapes are
 * kept anyway. */
static void label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(out, '\\');
		if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *s);
	}
}

static void histogram_lines(struct buf *out, const char *name, const char *key, const char *value,
                            const struct totals *t)
{
	uint64_t cumulative = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cumulative += t->bucket[i];
		buf_printf(out, "%s_bucket{%s=\"", name, key);
		label(out, value);
		buf_printf(out, "\",le=\"%s\"} %llu\n", i < NBOUNDS ? bounds_text[i] : "+Inf",
		           (unsigned long long)cumulative);
	}
	buf_printf(out, "%s_sum{%s=\"", name, key);
	label(out, value);
	buf_printf(out, "\"} %.9f\n", (double)t->sum_ns / 1e9);
	buf_printf(out, "%s_count{%s=\"", name, key);
	label(out, value);
	buf_printf(out, "\"} %llu\n", (unsigned long long)cumulative);
}

static void status_text(size_t col, char out[8])
{
	if (col < NSTATUS) {
		snprintf(out, 8, "%u", statuses[col] % 1000);
	} else { /* a class: 1xx to 5xx */
		out[0] = (char)('1' + (col - NSTATUS) % NCLASSES);
		memcpy(out + 1, "xx", 3);
	}
}

void metrics_render(struct metrics *m, int64_t backlog, struct buf *out)
{
	size_t nr = m->nroutes + 1;
	uint64_t(*counts)[NCOLUMNS] = xcalloc(nr, sizeof(*counts));
	struct totals *latency = xcalloc(nr, sizeof(*latency));
	struct totals store[METRICS_NOPS];
	memset(store, 0, sizeof(store));
	pthread_mutex_lock(&m->lock);
	for (const struct shard *s = m->shards; s; s = s->next) {
		for (size_t r = 0; r < nr; r++) {
			for (size_t c = 0; c < NCOLUMNS; c++)
				counts[r][c] += atomic_load_explicit(&s->routes[r].status[c],
				                                     memory_order_relaxed);
			sum(&latency[r], &s->routes[r].latency);
		}
		for (size_t op = 0; op < METRICS_NOPS; op++)
			sum(&store[op], &s->store[op]);
	}
	pthread_mutex_unlock(&m->lock);

	buf_printf(out,
	           "# HELP gazette_build_info The running version.\n"
	           "# TYPE gazette_build_info gauge\n"
	           "gazette_build_info{version=\"%s\"} 1\n",
	           GAZETTE_VERSION);

	buf_puts(out, "# HELP gazette_requests_total Requests answered, by route and status.\n"
	              "# TYPE gazette_requests_total counter\n");
	for (size_t r = 0; r < nr; r++)
		for (size_t c = 0; c < NCOLUMNS; c++) {
			if (!counts[r][c])
				continue;
			char st[8];
			status_text(c, st);
			buf_puts(out, "gazette_requests_total{route=\"");
			label(out, r < m->nroutes ? m->names[r] : "none");
			buf_printf(out, "\",status=\"%s\"} %llu\n", st,
			           (unsigned long long)counts[r][c]);
		}

	buf_puts(out, "# HELP gazette_request_duration_seconds From a complete request header to "
	              "its answer, by route.\n"
	              "# TYPE gazette_request_duration_seconds histogram\n");
	for (size_t r = 0; r < nr; r++) {
		uint64_t n = 0;
		for (size_t i = 0; i < NBUCKETS; i++)
			n += latency[r].bucket[i];
		if (n)
			histogram_lines(out, "gazette_request_duration_seconds", "route",
			                r < m->nroutes ? m->names[r] : "none", &latency[r]);
	}

	buf_puts(out, "# HELP gazette_store_query_seconds Store operations: a story read, a "
	              "listing or search, a write transaction.\n"
	              "# TYPE gazette_store_query_seconds histogram\n");
	for (size_t op = 0; op < METRICS_NOPS; op++)
		histogram_lines(out, "gazette_store_query_seconds", "op", op_names[op], &store[op]);
	uint64_t writes = 0;
	for (size_t i = 0; i < NBUCKETS; i++)
		writes += store[METRICS_WRITE].bucket[i];
	buf_printf(out,
	           "# HELP gazette_store_writes_total Write transactions this process ran.\n"
	           "# TYPE gazette_store_writes_total counter\n"
	           "gazette_store_writes_total %llu\n",
	           (unsigned long long)writes);

	struct metrics_gauges g;
	memset(&g, 0, sizeof(g));
	if (m->scrape)
		m->scrape(m->scrape_arg, &g);
	buf_printf(out,
	           "# HELP gazette_cache_hits_total Answers served from the answer cache.\n"
	           "# TYPE gazette_cache_hits_total counter\n"
	           "gazette_cache_hits_total %llu\n"
	           "# HELP gazette_cache_misses_total Lookups the answer cache did not hold.\n"
	           "# TYPE gazette_cache_misses_total counter\n"
	           "gazette_cache_misses_total %llu\n"
	           "# HELP gazette_cache_evictions_total Answers dropped to stay in "
	           "cache.max_bytes.\n"
	           "# TYPE gazette_cache_evictions_total counter\n"
	           "gazette_cache_evictions_total %llu\n"
	           "# HELP gazette_cache_bytes Memory the answer cache holds, all of it counted.\n"
	           "# TYPE gazette_cache_bytes gauge\n"
	           "gazette_cache_bytes %llu\n"
	           "# HELP gazette_cache_max_bytes cache.max_bytes.\n"
	           "# TYPE gazette_cache_max_bytes gauge\n"
	           "gazette_cache_max_bytes %llu\n"
	           "# HELP gazette_cache_entries Answers in the cache.\n"
	           "# TYPE gazette_cache_entries gauge\n"
	           "gazette_cache_entries %llu\n"
	           "# HELP gazette_open_connections Client connections open now.\n"
	           "# TYPE gazette_open_connections gauge\n"
	           "gazette_open_connections %lld\n",
	           (unsigned long long)g.cache_hits, (unsigned long long)g.cache_misses,
	           (unsigned long long)g.cache_evictions, (unsigned long long)g.cache_bytes,
	           (unsigned long long)g.cache_max_bytes, (unsigned long long)g.cache_entries,
	           (long long)g.connections);
	if (backlog >= 0)
		buf_printf(out,
		           "# HELP gazette_outbox_backlog Deliveries waiting in the outbox "
		           "(webhooks, pings, purges).\n"
		           "# TYPE gazette_outbox_backlog gauge\n"
		           "gazette_outbox_backlog %lld\n",
		           (long long)backlog);
	free(counts);
	free(latency);
}
