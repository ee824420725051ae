/* cache.h - finished responses kept in memory by request key until the content changes. */
#ifndef GAZETTE_CACHE_H
#define GAZETTE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct MHD_Response;

/* One cached answer: the plain and gzip variants and the 304 answer for each, with headers
 * attached once. Shared by threads; counted references keep it alive while in use. */
struct cache_entry {
	char *key;
	uint64_t generation;
	unsigned status;
	char etag[24];      /* "<16 hex digits>" with the quotes */
	char etag_gzip[28]; /* the same with -gz inside the quotes */
	time_t last_modified;
	size_t size, size_gzip;
	struct MHD_Response *plain, *gzip; /* gzip is NULL when the body is too small */
	struct MHD_Response *not_modified, *not_modified_gzip;
	/* private */
	struct cache_entry *next;
	int refs;
};

struct cache;

/* max_bytes bounds the bodies held; when an insert would pass it, everything is dropped.
 * Never returns NULL; free with cache_free. */
struct cache *cache_new(size_t max_bytes);
void cache_free(struct cache *c);

/* Returns the entry for key built at generation, with a reference the caller gives back with
 * cache_release; NULL when there is none (or it belongs to an older generation). */
struct cache_entry *cache_lookup(struct cache *c, const char *key, uint64_t generation);
void cache_release(struct cache_entry *e);

/* Stores e (key and responses filled in; the caller's reference in refs) under its key, taking
 * a reference of the table's own, and replaces an entry with the same key. Entries of an older
 * generation are dropped first; an entry older than the table is not stored. The caller still
 * gives back its own reference with cache_release. */
void cache_insert(struct cache *c, struct cache_entry *e);

/* Drops every entry (for example after the templates were reloaded). */
void cache_clear(struct cache *c);

/* Number of entries and bytes held, for tests and benchmarks. */
void cache_stats(struct cache *c, size_t *entries, size_t *bytes);

#endif
