/* auth.c - token comparison in constant time and a per-client counter of wrong tokens. */
#include "auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#define SLOTS 256

struct slot {
	char client[48];
	int64_t window_start;
	unsigned failures;
};

struct auth {
	char *token;
	size_t len;
	pthread_mutex_t lock;
	struct slot slots[SLOTS];
};

struct auth *auth_new(const char *token)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	a->token = xstrdup(token);
	a->len = strlen(token);
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->token);
	free(a);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
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

/* The client's slot (a small table: a collision only shares a counter). Under the lock. */
static struct slot *slot_for(struct auth *a, const char *client, int64_t now)
{
	struct slot *s = &a->slots[hash(client) % SLOTS];
	if (strncmp(s->client, client, sizeof(s->client)) != 0 ||
	    now - s->window_start >= AUTH_WINDOW_S) {
		strncpy(s->client, client, sizeof(s->client) - 1);
		s->client[sizeof(s->client) - 1] = '\0';
		s->window_start = now;
		s->failures = 0;
	}
	return s;
}

enum auth_result auth_check(struct auth *a, const char *header, const char *client, int64_t now,
                            unsigned *retry_after)
{
	if (a->len == 0)
		return AUTH_DISABLED;
	pthread_mutex_lock(&a->lock);
	struct slot *s = slot_for(a, client, now);
	if (s->failures >= AUTH_MAX_FAILURES) {
		*retry_after = (unsigned)(s->window_start + AUTH_WINDOW_S - now);
		if (*retry_after == 0)
			*retry_after = 1;
		pthread_mutex_unlock(&a->lock);
		return AUTH_LIMITED;
	}
	pthread_mutex_unlock(&a->lock);

	enum auth_result res = AUTH_MISSING;
	if (header && strncasecmp(header, "Bearer ", 7) == 0) {
		const char *given = header + 7;
		while (*given == ' ')
			given++;
		size_t glen = strlen(given);
		while (glen && given[glen - 1] == ' ')
			glen--;
		res = equal_ct(given, glen, a->token, a->len) ? AUTH_OK : AUTH_WRONG;
	}
	if (res != AUTH_OK) {
		pthread_mutex_lock(&a->lock);
		s = slot_for(a, client, now);
		s->failures++;
		pthread_mutex_unlock(&a->lock);
	}
	return res;
}
