/* metrics.h - what the server counts for GET /metrics (SPEC §16): requests by route and
 * status, their latency, the store's query times. Each thread counts into a shard of its own
 * with plain stores (no lock, no atomic read-modify-write on the hot path); a scrape sums the
 * shards. */
#ifndef GAZETTE_METRICS_H
#define GAZETTE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What the store times (store.c): a story read, a listing or search, a write transaction. */
enum metrics_op { METRICS_GET, METRICS_LIST, METRICS_WRITE, METRICS_NOPS };

/* What a scrape reads from the rest of the server at that moment. */
struct metrics_gauges {
	uint64_t cache_hits, cache_misses, cache_evictions;
	uint64_t cache_bytes, cache_entries, cache_max_bytes;
	int64_t connections;
	int64_t outbox_backlog; /* negative: unknown (the database did not answer) */
};

struct metrics;

/* Counters for nroutes routes, named by names[0..nroutes-1] (which must outlive it); route
 * nroutes is "none", a request answered before a route was found. Free with metrics_free
 * once no thread counts any more. */
struct metrics *metrics_new(const char *const *names, size_t nroutes);
void metrics_free(struct metrics *m);

/* A request to route answered with status, ns after its header was complete. m may be NULL
 * (nothing is counted). */
void metrics_request(struct metrics *m, size_t route, unsigned status, int64_t ns);
/* One store operation that took ns. m may be NULL. */
void metrics_store(struct metrics *m, enum metrics_op op, int64_t ns);

/* Where a scrape's gauges come from (http.c: the cache and the connections). */
void metrics_on_scrape(struct metrics *m, void (*fn)(void *arg, struct metrics_gauges *g),
                       void *arg);

/* Everything, summed over the threads, in the Prometheus text format (version 0.0.4)
 * appended to out; backlog is the outbox's (negative: unknown). */
void metrics_render(struct metrics *m, int64_t backlog, struct buf *out);

/* Nanoseconds of CLOCK_MONOTONIC, for the durations above. */
int64_t metrics_now_ns(void);

#endif
