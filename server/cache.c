/* cache.c - a hash table and a recency list under one mutex; values are freed outside it. */
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "mem.h"

#define MIN_BUCKETS 1024

struct cache_entry {
	struct cache_entry *chain;         /* next in its bucket */
	struct cache_entry *newer, *older; /* the recency list */
	cache_destroy_fn destroy;
	void *value;
	uint64_t hash, generation;
	size_t charge;    /* what the entry counts against the budget */
	atomic_uint refs; /* the holders', plus one of the table's while it is stored */
	size_t len;
	char key[];
};

struct cache {
	pthread_mutex_t lock;
	struct cache_entry **buckets;
	size_t nbuckets; /* a power of two */
	struct cache_entry *newest, *oldest;
	cache_destroy_fn destroy;
	struct hash_key key; /* keys are URLs: nobody may choose them to share a bucket */
	uint64_t generation;
	size_t entries, bytes, max_bytes;
	uint64_t hits, misses, inserts, evictions;
};

struct cache *cache_new(size_t max_bytes, cache_destroy_fn destroy)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->nbuckets = MIN_BUCKETS;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->max_bytes = max_bytes;
	c->destroy = destroy;
	hash_key_random(&c->key);
	return c;
}

static void put(struct cache_entry *e)
{
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
		e->destroy(e->value);
		free(e);
	}
}

void cache_release(struct cache *c, struct cache_entry *e)
{
	(void)c;
	if (e)
		put(e);
}

void *cache_value(const struct cache_entry *e)
{
	return e->value;
}

static struct cache_entry **slot(struct cache *c, uint64_t hash)
{
	return &c->buckets[hash & (c->nbuckets - 1)];
}

static void list_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void list_push(struct cache *c, struct cache_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* Takes e out of the table and the list; its table reference goes onto *dead, to be given
 * back once the lock is released (a value's destroy callback may take its time). */
static void unlink_entry(struct cache *c, struct cache_entry *e, struct cache_entry **dead)
{
	struct cache_entry **pp = slot(c, e->hash);
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	list_unlink(c, e);
	c->entries--;
	c->bytes -= e->charge;
	e->chain = *dead;
	*dead = e;
}

static void put_all(struct cache_entry *dead)
{
	while (dead) {
		struct cache_entry *next = dead->chain;
		put(dead);
		dead = next;
	}
}

/* Moves every entry onto *dead and empties the table. */
static void drop_all(struct cache *c, struct cache_entry **dead)
{
	for (struct cache_entry *e = c->newest, *next; e; e = next) {
		next = e->older;
		e->chain = *dead;
		*dead = e;
	}
	memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
	c->newest = c->oldest = NULL;
	c->entries = 0;
	c->bytes = 0;
}

static void grow(struct cache *c)
{
	size_t n = c->nbuckets * 2;
	struct cache_entry **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct cache_entry *e = c->buckets[i], *next; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static struct cache_entry *find(struct cache *c, uint64_t hash, const void *key, size_t len)
{
	for (struct cache_entry *e = *slot(c, hash); e; e = e->chain)
		if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

struct cache_entry *cache_lookup(struct cache *c, const void *key, size_t len, uint64_t generation)
{
	uint64_t h = hash_keyed(&c->key, key, len);
	pthread_mutex_lock(&c->lock);
	struct cache_entry *e = c->generation == generation ? find(c, h, key, len) : NULL;
	if (e) {
		atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
		if (c->newest != e) {
			list_unlink(c, e);
			list_push(c, e);
		}
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

struct cache_entry *cache_insert(struct cache *c, const void *key, size_t len, uint64_t generation,
                                 void *value, size_t size)
{
	struct cache_entry *e = xmalloc(sizeof(*e) + len);
	memset(e, 0, sizeof(*e));
	e->destroy = c->destroy;
	e->value = value;
	e->generation = generation;
	e->len = len;
	if (key)
		memcpy(e->key, key, len);
	e->hash = hash_keyed(&c->key, e->key, len);
	/* the entry itself and its share of the bucket array (at most two pointers an entry) */
	e->charge = size + mem_footprint(sizeof(*e) + len) + 2 * sizeof(void *);
	atomic_init(&e->refs, 1); /* the caller's */
	if (!key)
		return e;

	struct cache_entry *dead = NULL;
	pthread_mutex_lock(&c->lock);
	if (generation > c->generation) {
		drop_all(c, &dead);
		c->generation = generation;
	}
	if (generation == c->generation && e->charge <= c->max_bytes) {
		struct cache_entry *old = find(c, e->hash, e->key, len);
		if (old)
			unlink_entry(c, old, &dead);
		while (c->oldest && c->bytes + e->charge > c->max_bytes) {
			unlink_entry(c, c->oldest, &dead);
			c->evictions++;
		}
		if (c->entries >= c->nbuckets)
			grow(c);
		atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed); /* the table's */
		struct cache_entry **pp = slot(c, e->hash);
		e->chain = *pp;
		*pp = e;
		list_push(c, e);
		c->entries++;
		c->bytes += e->charge;
		c->inserts++;
	}
	pthread_mutex_unlock(&c->lock);
	put_all(dead);
	return e;
}

void cache_clear(struct cache *c)
{
	struct cache_entry *dead = NULL;
	pthread_mutex_lock(&c->lock);
	drop_all(c, &dead);
	pthread_mutex_unlock(&c->lock);
	put_all(dead);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	out->entries = c->entries;
	out->bytes = c->bytes;
	out->max_bytes = c->max_bytes;
	out->hits = c->hits;
	out->misses = c->misses;
	out->inserts = c->inserts;
	out->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}
