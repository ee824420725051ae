/* cache.h - a bounded LRU of opaque values by key, each built from one content generation. */
#ifndef GAZETTE_CACHE_H
#define GAZETTE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;       /* opaque; every function may be called from any thread */
struct cache_entry; /* opaque: one value and the reference a caller holds on it */

/* Frees a value the cache owned, once nobody holds it any more. */
typedef void (*cache_destroy_fn)(void *value);

/* max_bytes bounds what the entries hold: each entry counts the size its inserter gave plus
 * its key and the cache's own bookkeeping. Past it, the least recently used entries go, one
 * at a time. Never returns NULL; free with cache_free. */
struct cache *cache_new(size_t max_bytes, cache_destroy_fn destroy);
/* Drops every entry; values still held are destroyed when their holders release them. */
void cache_free(struct cache *c);

/* The entry for key (len bytes, any bytes) built at generation, made the most recently used,
 * with a reference for the caller; NULL when there is none or it is of another generation. */
struct cache_entry *cache_lookup(struct cache *c, const void *key, size_t len, uint64_t generation);

/* Stores value (size bytes, all it holds) under key and returns a reference for the caller.
 * The cache owns value from here on, whatever happens: it replaces an entry with the same key,
 * drops every entry of an older generation first, and keeps nothing (the value lives only as
 * long as the returned reference) when value is of an older generation than the table's, or
 * alone larger than max_bytes. key may be NULL: a value never stored, served once. */
struct cache_entry *cache_insert(struct cache *c, const void *key, size_t len, uint64_t generation,
                                 void *value, size_t size);

/* The value an entry holds; valid until the reference is released. */
void *cache_value(const struct cache_entry *e);

/* Gives back a reference from cache_lookup or cache_insert. NULL does nothing. */
void cache_release(struct cache *c, struct cache_entry *e);

/* Drops every entry (for example when the content moved under a generation number). */
void cache_clear(struct cache *c);

struct cache_stats {
	size_t entries, bytes, max_bytes;
	uint64_t hits, misses, inserts, evictions;
};
void cache_stats(struct cache *c, struct cache_stats *out);

#endif
