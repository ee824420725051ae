/* cache.c - a read-mostly hash table of prebuilt responses, dropped whole when content changes. */
#include "cache.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define NBUCKETS 4096

struct cache {
	pthread_rwlock_t lock;
	struct cache_entry *buckets[NBUCKETS];
	uint64_t generation;
	size_t entries, bytes, max_bytes;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct cache *cache_new(size_t max_bytes)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	pthread_rwlock_init(&c->lock, NULL);
	c->max_bytes = max_bytes;
	return c;
}

static void entry_free(struct cache_entry *e)
{
	if (e->plain)
		MHD_destroy_response(e->plain);
	if (e->gzip)
		MHD_destroy_response(e->gzip);
	if (e->not_modified)
		MHD_destroy_response(e->not_modified);
	if (e->not_modified_gzip)
		MHD_destroy_response(e->not_modified_gzip);
	free(e->key);
	free(e);
}

void cache_release(struct cache_entry *e)
{
	if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		entry_free(e);
}

/* Caller holds the write lock. */
static void drop_all(struct cache *c)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct cache_entry *e = c->buckets[i];
		while (e) {
			struct cache_entry *next = e->next;
			cache_release(e);
			e = next;
		}
		c->buckets[i] = NULL;
	}
	c->entries = 0;
	c->bytes = 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	drop_all(c);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

struct cache_entry *cache_lookup(struct cache *c, const char *key, uint64_t generation)
{
	struct cache_entry *found = NULL;
	uint32_t h = hash(key) & (NBUCKETS - 1);
	pthread_rwlock_rdlock(&c->lock);
	if (c->generation == generation) {
		for (struct cache_entry *e = c->buckets[h]; e; e = e->next) {
			if (strcmp(e->key, key) == 0) {
				__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
				found = e;
				break;
			}
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return found;
}

void cache_insert(struct cache *c, struct cache_entry *e)
{
	uint32_t h = hash(e->key) & (NBUCKETS - 1);
	size_t size = e->size + e->size_gzip + strlen(e->key) + sizeof(*e);
	pthread_rwlock_wrlock(&c->lock);
	if (c->generation != e->generation) {
		if (e->generation < c->generation) {
			/* built from older content than the table holds: not worth keeping */
			pthread_rwlock_unlock(&c->lock);
			return;
		}
		drop_all(c);
		c->generation = e->generation;
	}
	if (c->bytes + size > c->max_bytes)
		drop_all(c);
	struct cache_entry **pp = &c->buckets[h];
	while (*pp) {
		if (strcmp((*pp)->key, e->key) == 0) {
			struct cache_entry *old = *pp;
			*pp = old->next;
			c->entries--;
			c->bytes -= old->size + old->size_gzip + strlen(old->key) + sizeof(*old);
			cache_release(old);
			break;
		}
		pp = &(*pp)->next;
	}
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* the table's reference */
	e->next = c->buckets[h];
	c->buckets[h] = e;
	c->entries++;
	c->bytes += size;
	pthread_rwlock_unlock(&c->lock);
}

void cache_clear(struct cache *c)
{
	pthread_rwlock_wrlock(&c->lock);
	drop_all(c);
	pthread_rwlock_unlock(&c->lock);
}

void cache_stats(struct cache *c, size_t *entries, size_t *bytes)
{
	pthread_rwlock_rdlock(&c->lock);
	*entries = c->entries;
	*bytes = c->bytes;
	pthread_rwlock_unlock(&c->lock);
}
