/* auth.c - token comparison in constant time, and a bounded table of clients guessing wrong. */
#include "auth.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "mem.h"

#define BUCKETS (AUTH_CLIENTS * 2) /* a power of two */

/* One client (an address, or an IPv6 /64) that sent a wrong token lately. */
struct client {
	char key[AUTH_KEY_SIZE];
	int64_t window_start;
	unsigned failures;
	struct client *chain;         /* next in its bucket */
	struct client *newer, *older; /* recency: the least recent is forgotten first */
};

struct auth {
	char *token;
	size_t len;
	pthread_mutex_t lock;
	struct client *buckets[BUCKETS];
	struct client *newest, *oldest;
	size_t n;
	struct hash_key key; /* addresses are the client's to choose: a secret spreads them */
};

struct auth *auth_new(const char *token)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	a->token = xstrdup(token);
	a->len = strlen(token);
	pthread_mutex_init(&a->lock, NULL);
	hash_key_random(&a->key);
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (struct client *c = a->newest, *next; c; c = next) {
		next = c->older;
		free(c);
	}
	pthread_mutex_destroy(&a->lock);
	free(a->token);
	free(a);
}

void auth_client_key(const char *client, char out[AUTH_KEY_SIZE])
{
	struct in6_addr a6;
	if (strchr(client, ':') && inet_pton(AF_INET6, client, &a6) == 1) {
		/* one IPv6 host holds a whole /64: counting its addresses apart would let it
		 * guess 2^64 times more */
		memset(a6.s6_addr + 8, 0, 8);
		char text[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(out, AUTH_KEY_SIZE, "%s/64", text);
		return;
	}
	snprintf(out, AUTH_KEY_SIZE, "%s", client);
}

/* Compares every byte of the longer length so the time says nothing about the token. */
static bool equal_ct(const char *given, size_t glen, const char *token, size_t tlen)
{
	size_t n = glen > tlen ? glen : tlen;
	unsigned char diff = (unsigned char)(glen != tlen);
	for (size_t i = 0; i < n; i++) {
		unsigned char g = i < glen ? (unsigned char)given[i] : 0;
		unsigned char t = i < tlen ? (unsigned char)token[i] : 0;
		diff |= g ^ t;
	}
	return diff == 0;
}

static struct client **bucket(struct auth *a, const char *key)
{
	return &a->buckets[hash_keyed(&a->key, key, strlen(key)) & (BUCKETS - 1)];
}

static void unlink_recency(struct auth *a, struct client *c)
{
	if (c->newer)
		c->newer->older = c->older;
	else
		a->newest = c->older;
	if (c->older)
		c->older->newer = c->newer;
	else
		a->oldest = c->newer;
}

static void push_recency(struct auth *a, struct client *c)
{
	c->newer = NULL;
	c->older = a->newest;
	if (a->newest)
		a->newest->newer = c;
	else
		a->oldest = c;
	a->newest = c;
}

/* The client's entry, or NULL; under the lock. */
static struct client *find(struct auth *a, const char *key)
{
	for (struct client *c = *bucket(a, key); c; c = c->chain)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

/* The client's entry, made (forgetting the least recent when full) if it has none. */
static struct client *get(struct auth *a, const char *key)
{
	struct client *c = find(a, key);
	if (c) {
		unlink_recency(a, c);
		push_recency(a, c);
		return c;
	}
	if (a->n == AUTH_CLIENTS) {
		c = a->oldest;
		unlink_recency(a, c);
		struct client **pp = bucket(a, c->key);
		while (*pp != c)
			pp = &(*pp)->chain;
		*pp = c->chain;
		a->n--;
	} else {
		c = xmalloc(sizeof(*c));
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	struct client **pp = bucket(a, key);
	c->chain = *pp;
	*pp = c;
	push_recency(a, c);
	a->n++;
	return c;
}

enum auth_result auth_check(struct auth *a, const char *header, const char *client, int64_t now,
                            unsigned *retry_after)
{
	if (a->len == 0)
		return AUTH_DISABLED;
	/* no credentials at all is a 401 that is not a guess: it never counts */
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	char key[AUTH_KEY_SIZE];
	auth_client_key(client, key);

	pthread_mutex_lock(&a->lock);
	struct client *c = find(a, key);
	if (c && now - c->window_start < AUTH_WINDOW_S && c->failures >= AUTH_MAX_FAILURES) {
		/* a client that keeps trying stays remembered */
		unlink_recency(a, c);
		push_recency(a, c);
		*retry_after = (unsigned)(c->window_start + AUTH_WINDOW_S - now);
		if (*retry_after == 0)
			*retry_after = 1;
		pthread_mutex_unlock(&a->lock);
		return AUTH_LIMITED;
	}
	pthread_mutex_unlock(&a->lock);

	const char *given = header + 7;
	while (*given == ' ')
		given++;
	size_t glen = strlen(given);
	while (glen && given[glen - 1] == ' ')
		glen--;
	if (equal_ct(given, glen, a->token, a->len))
		return AUTH_OK;

	pthread_mutex_lock(&a->lock);
	c = get(a, key);
	if (now - c->window_start >= AUTH_WINDOW_S) {
		c->window_start = now;
		c->failures = 0;
	}
	c->failures++;
	pthread_mutex_unlock(&a->lock);
	return AUTH_WRONG;
}
