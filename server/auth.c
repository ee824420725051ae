/* auth.c - tokens to principals (a cached lookup of their SHA-256), the roles' rules on
 * articles, and a bounded table of clients guessing wrong. */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "rfc3339.h"
#include "secret.h"
#include "store.h"

#define BUCKETS (AUTH_CLIENTS * 2) /* a power of two */

/* One client (an address, or an IPv6 /64) that sent a wrong token lately. */
struct client {
	char key[AUTH_KEY_SIZE];
	int64_t window_start;
	unsigned failures;
	struct client *chain;         /* next in its bucket */
	struct client *newer, *older; /* recency: the least recent is forgotten first */
};

/* A token checked once, until the content generation moves (a revocation, a disabled
 * account, any write moves it on every instance). */
struct known {
	struct principal who;
	int64_t expires; /* 0: never */
};

struct auth {
	char *token;
	size_t len;
	struct store *store;
	struct cache *known;   /* SHA-256 hex -> struct known, for one generation */
	struct cache *used;    /* SHA-256 hex -> when this instance last wrote its last_used_at */
	pthread_mutex_t lock;  /* the clients below, and accounts_* */
	uint64_t accounts_gen; /* has_accounts holds for this generation + 1 (0: unknown) */
	bool has_accounts;
	struct client *buckets[BUCKETS];
	struct client *newest, *oldest;
	size_t n;
	struct hash_key key; /* addresses are the client's to choose: a secret spreads them */
	/* the first admin's setup code (SPEC §14): its SHA-256, until when, and whether used */
	char setup_hash[SECRET_HEX_LEN + 1];
	int64_t setup_until;
	char *dummy_hash; /* what a login of no account is checked against, made once */
};

struct auth *auth_new(const char *token, struct store *store)
{
	struct auth *a = xcalloc(1, sizeof(*a));
	a->token = xstrdup(token);
	a->len = strlen(token);
	a->store = store;
	a->known = cache_new(1 << 20, free);
	a->used = cache_new(1 << 20, free);
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
	cache_free(a->known);
	cache_free(a->used);
	free(a->token);
	free(a->dummy_hash);
	free(a);
}

void auth_client_key(const char *client, char out[AUTH_KEY_SIZE])
{
	struct in6_addr a6;
	if (strchr(client, ':') && inet_pton(AF_INET6, client, &a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* ::ffff:192.0.2.1 is an IPv4 client (a dual-stack proxy's way of saying it) */
		inet_ntop(AF_INET, a6.s6_addr + 12, out, AUTH_KEY_SIZE);
		return;
	}
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

static const char *const role_names[] = {"", "contributor", "editor", "admin"};

enum role auth_role_parse(const char *name)
{
	for (int r = ROLE_CONTRIBUTOR; r <= ROLE_ADMIN; r++)
		if (name && strcmp(name, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

const char *auth_role_name(enum role r)
{
	return r >= ROLE_CONTRIBUTOR && r <= ROLE_ADMIN ? role_names[r] : "none";
}

/* Whether any account has a token (then auth.token is no longer one): asked once per
 * generation until it is so, and then never again (a token is never deleted, only revoked). */
static int accounts_exist(struct auth *a, uint64_t generation)
{
	pthread_mutex_lock(&a->lock);
	bool known = a->has_accounts || a->accounts_gen == generation + 1;
	bool has = a->has_accounts;
	pthread_mutex_unlock(&a->lock);
	if (known)
		return has;
	int rc = store_has_tokens(a->store);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&a->lock);
	a->accounts_gen = generation + 1;
	a->has_accounts = rc > 0;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int64_t time_of(const json_t *o, const char *key)
{
	struct rfc3339 t;
	const char *s = json_string_value(json_object_get(o, key));
	return s && rfc3339_parse(s, &t) == 0 ? t.utc : 0;
}

/* The token whose SHA-256 is hash as the store holds it: 0 with k filled, -ENOENT when it
 * is no live token (unknown, revoked, of a disabled account), another error when the store
 * could not say. */
static int look_up(struct auth *a, const char *hash, struct known *k)
{
	json_t *token = NULL, *account = NULL;
	int rc = store_token_find(a->store, hash, &token, &account);
	if (rc < 0)
		return rc;
	memset(k, 0, sizeof(*k));
	k->who.role = auth_role_parse(json_string_value(json_object_get(account, "role")));
	snprintf(k->who.account, sizeof(k->who.account), "%s",
	         json_string_value(json_object_get(account, "handle")));
	k->who.is_account = true;
	k->who.token_id = json_integer_value(json_object_get(token, "id"));
	k->expires = time_of(token, "expires_at");
	if (!json_is_null(json_object_get(token, "revoked_at")) ||
	    json_is_true(json_object_get(account, "disabled")) || k->who.role == ROLE_NONE)
		rc = -ENOENT;
	json_decref(token);
	json_decref(account);
	return rc;
}

/* A token of an account: the principal it is, from the cache or the store. */
static int token_principal(struct auth *a, const char *given, size_t len, int64_t now,
                           uint64_t generation, struct principal *who)
{
	if (!secret_token_shaped(given, len))
		return -ENOENT;
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(given, len, hash);
	struct known k;
	struct cache_entry *e = cache_lookup(a->known, hash, SECRET_HEX_LEN, generation);
	if (e) {
		k = *(struct known *)cache_value(e);
		cache_release(a->known, e);
	} else {
		int rc = look_up(a, hash, &k);
		if (rc < 0)
			return rc;
		struct known *copy = xmalloc(sizeof(*copy));
		*copy = k;
		cache_release(a->known, cache_insert(a->known, hash, SECRET_HEX_LEN, generation,
		                                     copy, sizeof(*copy)));
	}
	if (k.expires && now >= k.expires)
		return -ENOENT;
	/* last_used_at: written at most once a minute per token by this instance, whatever the
	 * content's generation does (the table of when is the instance's own) */
	int64_t used = 0;
	e = cache_lookup(a->used, hash, SECRET_HEX_LEN, 0);
	if (e) {
		used = *(int64_t *)cache_value(e);
		cache_release(a->used, e);
	}
	if (now - used >= AUTH_USED_EVERY_S) {
		/* the attempt counts, written or not: a database that cannot take the write (locked
		 * by an import, read-only) costs one token one wait a minute, not every request */
		int64_t *t = xmalloc(sizeof(*t));
		*t = now;
		cache_release(a->used,
		              cache_insert(a->used, hash, SECRET_HEX_LEN, 0, t, sizeof(*t)));
		if (store_token_used(a->store, k.who.token_id, now) < 0)
			log_warn("auth: last_used_at of token %lld not written",
			         (long long)k.who.token_id);
	}
	*who = k.who;
	return 0;
}

/* Counts a wrong guess of client's. */
static void count_failure(struct auth *a, const char *key, int64_t now)
{
	pthread_mutex_lock(&a->lock);
	struct client *c = get(a, key);
	if (now - c->window_start >= AUTH_WINDOW_S) {
		c->window_start = now;
		c->failures = 0;
	}
	c->failures++;
	pthread_mutex_unlock(&a->lock);
}

/* Whether the client under key guessed wrong too often lately, with how long it must wait. */
static bool limited(struct auth *a, const char *key, int64_t now, unsigned *retry_after)
{
	pthread_mutex_lock(&a->lock);
	struct client *c = find(a, key);
	bool over = c && now - c->window_start < AUTH_WINDOW_S && c->failures >= AUTH_MAX_FAILURES;
	if (over) {
		/* a client that keeps trying stays remembered */
		unlink_recency(a, c);
		push_recency(a, c);
		*retry_after = (unsigned)(c->window_start + AUTH_WINDOW_S - now);
		if (*retry_after == 0)
			*retry_after = 1;
	}
	pthread_mutex_unlock(&a->lock);
	return over;
}

enum auth_result auth_check(struct auth *a, const char *header, const char *client, int64_t now,
                            uint64_t generation, struct principal *who, unsigned *retry_after)
{
	memset(who, 0, sizeof(*who));
	int accounts = accounts_exist(a, generation);
	if (accounts < 0)
		return AUTH_UNAVAILABLE;
	if (!accounts && a->len == 0)
		return AUTH_DISABLED;
	/* no credentials at all is a 401 that is not a guess: it never counts */
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	char key[AUTH_KEY_SIZE];
	auth_client_key(client, key);

	if (limited(a, key, now, retry_after))
		return AUTH_LIMITED;

	/* spaces (and tabs) around the token are not part of it */
	const char *given = header + 7;
	while (*given == ' ' || *given == '\t')
		given++;
	size_t glen = strlen(given);
	while (glen && (given[glen - 1] == ' ' || given[glen - 1] == '\t'))
		glen--;
	if (!accounts) {
		/* the bootstrap: auth.token is the admin "config" until an account has a token (so
		 * that it can make the first account and its token through the API) */
		if (secret_equal(given, glen, a->token, a->len)) {
			who->role = ROLE_ADMIN;
			snprintf(who->account, sizeof(who->account), "config");
			return AUTH_OK;
		}
	} else {
		int rc = token_principal(a, given, glen, now, generation, who);
		if (rc == 0)
			return AUTH_OK;
		if (rc != -ENOENT) {
			memset(who, 0, sizeof(*who));
			return AUTH_UNAVAILABLE;
		}
	}
	count_failure(a, key, now);
	return AUTH_WRONG;
}

int auth_may_write(const struct principal *who, const struct article *old, struct article *new_,
                   char *why, size_t why_len)
{
	if (who->role >= ROLE_EDITOR)
		return 0;
	if (who->role != ROLE_CONTRIBUTOR) {
		snprintf(why, why_len, "writing articles needs a contributor, editor or admin");
		return -EACCES;
	}
	if (!new_) {
		snprintf(why, why_len,
		         "a contributor cannot delete articles; that needs an editor");
		return -EACCES;
	}
	if (old) {
		bool own = false;
		for (size_t i = 0; i < old->nauthors; i++)
			own = own || strcmp(old->authors[i], who->account) == 0;
		if (strcmp(old->status, "draft") != 0 || !own) {
			snprintf(why, why_len,
			         "a contributor may edit only their own drafts; this article %s",
			         strcmp(old->status, "draft") != 0 ? "is published"
			                                           : "is another's draft");
			return -EACCES;
		}
	}
	if (!new_->status_given) {
		free(new_->status);
		new_->status = xstrdup("draft");
	}
	if (strcmp(new_->status, "draft") != 0) {
		snprintf(why, why_len,
		         "a contributor cannot publish or schedule; save it as a draft and ask an "
		         "editor");
		return -EACCES;
	}
	/* a contributor's draft is the contributor's: it cannot be handed to someone else */
	bool self = new_->nauthors == 0 && !new_->authors_given;
	for (size_t i = 0; i < new_->nauthors; i++)
		self = self || strcmp(new_->authors[i], who->account) == 0;
	if (!self) {
		snprintf(why, why_len, "a contributor's draft must list them among its authors");
		return -EACCES;
	}
	return 0;
}

void auth_preview_sign(const char *key, int64_t id, const char *slug, int64_t expires, char out[65])
{
	char *msg =
	    xasprintf("gazette-preview\n%lld\n%s\n%lld", (long long)id, slug, (long long)expires);
	secret_hmac_hex(key, strlen(key), msg, strlen(msg), out);
	free(msg);
}

bool auth_preview_valid(const char *key, int64_t id, const char *slug, const char *expires,
                        const char *sig, int64_t now)
{
	if (!expires || !sig || *expires < '1' || *expires > '9' || strlen(expires) > 12)
		return false;
	char *end;
	long long t = strtoll(expires, &end, 10);
	if (*end || t <= now)
		return false;
	char want[65];
	auth_preview_sign(key, id, slug, t, want);
	return secret_equal(sig, strlen(sig), want, SECRET_HEX_LEN);
}

int auth_token_issue(struct store *s, struct store_actor *who, const char *handle, const char *name,
                     unsigned days, int64_t now, char out_token[SECRET_TOKEN_LEN + 1],
                     json_t **record)
{
	if (!article_handle_valid(handle))
		return -ENOENT;
	char hash[SECRET_HEX_LEN + 1], prefix[SECRET_PREFIX_LEN + 1];
	if (secret_token_new(out_token) < 0)
		return -EIO;
	secret_sha256_hex(out_token, SECRET_TOKEN_LEN, hash);
	snprintf(prefix, sizeof(prefix), "%.*s", SECRET_PREFIX_LEN, out_token);
	int rc = store_token_add(s, who, handle, hash, name, prefix,
	                         days ? now + (int64_t)days * 86400 : 0, now, record);
	if (rc < 0)
		memset(out_token, 0, SECRET_TOKEN_LEN + 1);
	return rc;
}

const char *auth_drafts_of(const struct principal *who)
{
	return who->role >= ROLE_EDITOR ? NULL : who->account;
}

bool auth_may_preview(const struct principal *who, const struct article *a)
{
	if (who->role >= ROLE_EDITOR)
		return true;
	for (size_t i = 0; who->role == ROLE_CONTRIBUTOR && i < a->nauthors; i++)
		if (strcmp(a->authors[i], who->account) == 0)
			return true;
	return false;
}

/* A string of 0 to max characters without control characters; NULL when it is not one. */
static const char *plain_text(const json_t *v, size_t max, bool lines)
{
	const char *s = json_string_value(v);
	if (!s || article_utf8_len(s) > max)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && !(lines && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			return NULL;
	return s;
}

int auth_account_from_json(const json_t *in, bool create, json_t **out, char *why, size_t why_len)
{
	static const char *const fields[] = {"handle", "name",     "role",
	                                     "bio",    "disabled", "password"};
	*out = NULL;
	if (!json_is_object(in)) {
		snprintf(why, why_len, "an account must be a JSON object");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			known = known || strcmp(key, fields[i]) == 0;
		if (!known || (!create && strcmp(key, "handle") == 0)) {
			snprintf(why, why_len, "%.60s: %s", key,
			         known ? "cannot be changed (it is in every byline's link)"
			               : "is not a field of an account");
			return -1;
		}
	}
	json_t *acct = json_object();
	const char *fail = NULL, *field = NULL;
	v = json_object_get(in, "handle");
	if (create && (!json_is_string(v) || !article_handle_valid(json_string_value(v))))
		field = "handle", fail = "must be lowercase letters and digits in words joined by "
		                         "'-', at most 60 characters";
	else if (create)
		json_object_set(acct, "handle", v);
	v = json_object_get(in, "name");
	if (!fail && (v || create)) {
		const char *name = plain_text(v, AUTH_NAME_MAX, false);
		if (!name || !*name)
			field = "name",
			fail = "must be 1 to 200 characters without control characters";
		else
			json_object_set_new(acct, "name", json_string(name));
	}
	v = json_object_get(in, "role");
	if (!fail && (v || create)) {
		if (auth_role_parse(json_string_value(v)) == ROLE_NONE)
			field = "role", fail = "must be \"contributor\", \"editor\" or \"admin\"";
		else
			json_object_set(acct, "role", v);
	}
	v = json_object_get(in, "bio");
	if (!fail && v) {
		if (!plain_text(v, AUTH_BIO_MAX, true))
			field = "bio",
			fail = "must be at most 2000 characters without control characters";
		else
			json_object_set(acct, "bio", v);
	} else if (!fail && create) {
		json_object_set_new(acct, "bio", json_string(""));
	}
	v = json_object_get(in, "disabled");
	if (!fail && v) {
		if (!json_is_boolean(v))
			field = "disabled", fail = "must be true or false";
		else
			json_object_set(acct, "disabled", v);
	} else if (!fail && create) {
		json_object_set_new(acct, "disabled", json_false());
	}
	v = json_object_get(in, "password");
	if (!fail && v) {
		const char *pw = json_string_value(v);
		char *hash = NULL;
		if (!pw || article_utf8_len(pw) < AUTH_PASSWORD_MIN || strlen(pw) > 1024)
			field = "password", fail = "must be 10 to 1024 characters";
		else if (!(hash = secret_password_hash(pw)))
			field = "password", fail = "could not be hashed";
		else
			json_object_set_new(acct, "password", json_string(hash));
		free(hash);
	}
	if (fail) {
		snprintf(why, why_len, "%s: %s", field, fail);
		json_decref(acct);
		return -1;
	}
	*out = acct;
	return 0;
}

int auth_token_options(const json_t *in, char name[401], unsigned *expires_days, char *why,
                       size_t why_len)
{
	snprintf(name, 401, "api");
	*expires_days = 0;
	if (!json_is_object(in)) {
		snprintf(why, why_len, "the token's options must be a JSON object");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "name") != 0 && strcmp(key, "expires_days") != 0) {
			snprintf(why, why_len, "%.60s: is not an option of a token", key);
			return -1;
		}
	}
	v = json_object_get(in, "name");
	if (v) {
		const char *s = plain_text(v, 100, false);
		if (!s || !*s) {
			snprintf(why, why_len, "name: must be 1 to 100 characters");
			return -1;
		}
		snprintf(name, 401, "%s", s);
	}
	v = json_object_get(in, "expires_days");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 3650) {
			snprintf(why, why_len,
			         "expires_days: must be a whole number from 1 to 3650");
			return -1;
		}
		*expires_days = (unsigned)json_integer_value(v);
	}
	return 0;
}

/* --- editors' sessions and the first admin (SPEC §14) --- */

/* The principal an account's record makes, or -ENOENT when it may not sign in. */
static int account_principal(const json_t *acct, struct principal *who)
{
	const char *handle = json_string_value(json_object_get(acct, "handle"));
	enum role role = auth_role_parse(json_string_value(json_object_get(acct, "role")));
	if (!handle || role == ROLE_NONE || json_is_true(json_object_get(acct, "disabled")) ||
	    strlen(handle) > ARTICLE_HANDLE_MAX)
		return -ENOENT;
	memset(who, 0, sizeof(*who));
	who->role = role;
	who->is_account = true;
	snprintf(who->account, sizeof(who->account), "%s", handle);
	return 0;
}

enum auth_result auth_login(struct auth *a, const char *handle, const char *password,
                            const char *client, int64_t now, struct principal *who,
                            unsigned *retry_after)
{
	memset(who, 0, sizeof(*who));
	char key[AUTH_KEY_SIZE];
	auth_client_key(client, key);
	if (limited(a, key, now, retry_after))
		return AUTH_LIMITED;
	json_t *acct = NULL;
	int rc = handle && *handle && strlen(handle) <= ARTICLE_HANDLE_MAX
	             ? store_account_get(a->store, handle, &acct)
	             : -ENOENT;
	if (rc < 0 && rc != -ENOENT)
		return AUTH_UNAVAILABLE;
	const char *hash = json_string_value(json_object_get(acct, "password"));
	if (!hash) {
		/* no such account, or one without a password: the same work as a wrong one, so
		 * that the time taken does not say which handles exist */
		pthread_mutex_lock(&a->lock);
		if (!a->dummy_hash)
			a->dummy_hash = secret_password_hash("not anyone's password");
		pthread_mutex_unlock(&a->lock);
	}
	bool right = secret_password_check(hash ? hash : a->dummy_hash, password ? password : "");
	rc = right && hash ? account_principal(acct, who) : -ENOENT;
	json_decref(acct);
	if (rc == 0)
		return AUTH_OK;
	count_failure(a, key, now);
	return AUTH_WRONG;
}

int auth_session_start(struct auth *a, struct store_actor *actor, const char *account, int64_t now,
                       char cookie[AUTH_COOKIE_LEN + 1])
{
	if (secret_random_hex(AUTH_COOKIE_LEN / 2, cookie) < 0)
		return -EIO;
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(cookie, AUTH_COOKIE_LEN, hash);
	return store_session_add(a->store, actor, hash, account, now + AUTH_SESSION_S, now);
}

/* Whether s is a cookie's shape: AUTH_COOKIE_LEN lowercase hex digits. */
static bool cookie_shaped(const char *s)
{
	return s && strlen(s) == AUTH_COOKIE_LEN &&
	       strspn(s, "0123456789abcdef") == AUTH_COOKIE_LEN;
}

enum auth_result auth_session(struct auth *a, const char *cookie, int64_t now,
                              struct principal *who)
{
	memset(who, 0, sizeof(*who));
	if (!cookie)
		return AUTH_MISSING;
	if (!cookie_shaped(cookie))
		return AUTH_WRONG;
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(cookie, AUTH_COOKIE_LEN, hash);
	json_t *sess = NULL, *acct = NULL;
	int rc = store_session_get(a->store, hash, &sess);
	if (rc == 0 && json_integer_value(json_object_get(sess, "expires")) <= now)
		rc = -ENOENT;
	/* the account as it is now: a disabled one, or one with another role, is so at once */
	if (rc == 0)
		rc = store_account_get(a->store,
		                       json_string_value(json_object_get(sess, "account")), &acct);
	if (rc == 0)
		rc = account_principal(acct, who);
	json_decref(sess);
	json_decref(acct);
	if (rc == 0)
		return AUTH_OK;
	return rc == -ENOENT ? AUTH_WRONG : AUTH_UNAVAILABLE;
}

int auth_session_end(struct auth *a, struct store_actor *actor, const char *cookie, int64_t now)
{
	if (!cookie_shaped(cookie))
		return -ENOENT;
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(cookie, AUTH_COOKIE_LEN, hash);
	return store_session_end(a->store, actor, hash, now);
}

void auth_csrf(const char *cookie, char out[SECRET_HEX_LEN + 1])
{
	secret_hmac_hex(cookie, strlen(cookie), "gazette csrf", 12, out);
}

bool auth_csrf_valid(const char *cookie, const char *given)
{
	if (!cookie || !*cookie || !given)
		return false;
	char want[SECRET_HEX_LEN + 1];
	auth_csrf(cookie, want);
	return secret_equal(want, strlen(want), given, strlen(given));
}

int auth_setup_begin(struct auth *a, int64_t now, char code[AUTH_SETUP_CODE_LEN + 1])
{
	if (secret_random_hex(AUTH_SETUP_CODE_LEN / 2, code) < 0)
		return -EIO;
	pthread_mutex_lock(&a->lock);
	secret_sha256_hex(code, AUTH_SETUP_CODE_LEN, a->setup_hash);
	a->setup_until = now + AUTH_SETUP_S;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

bool auth_setup_valid(struct auth *a, const char *code, int64_t now, bool take)
{
	if (!code || strlen(code) != AUTH_SETUP_CODE_LEN)
		return false;
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(code, AUTH_SETUP_CODE_LEN, hash);
	pthread_mutex_lock(&a->lock);
	bool ok = now < a->setup_until &&
	          secret_equal(hash, SECRET_HEX_LEN, a->setup_hash, strlen(a->setup_hash));
	if (ok && take)
		a->setup_until = 0; /* single use */
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void auth_setup_restore(struct auth *a, const char *code, int64_t until)
{
	char hash[SECRET_HEX_LEN + 1];
	secret_sha256_hex(code, strlen(code), hash);
	pthread_mutex_lock(&a->lock);
	if (strcmp(hash, a->setup_hash) == 0)
		a->setup_until = until;
	pthread_mutex_unlock(&a->lock);
}

char *auth_cookie(const char *name, const char *value, unsigned max_age, const char *base_url)
{
	bool secure = strncmp(base_url, "https://", 8) == 0;
	return xasprintf("%s=%s; Max-Age=%u; Path=/admin; HttpOnly; SameSite=Strict%s", name, value,
	                 max_age, secure ? "; Secure" : "");
}
