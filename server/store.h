/* store.h - the article store: every rule about records over any storage engine (SPEC §4, §7,
 * §9). Callers never see SQL; the engines (store_backend.h) never see a rule. */
#ifndef GAZETTE_STORE_H
#define GAZETTE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "article.h"
#include "buf.h"
#include <jansson.h>

struct store;

/* Error codes returned as negatives: -ENOENT no such article, -EEXIST slug taken, -EROFS the
 * database cannot be written, -ENOSPC disk full, -EBUSY locked too long, -ETIMEDOUT a read
 * stopped at its time budget, -EAGAIN too many expensive reads at once, -EIO anything else
 * (the engine's message goes to the log, never to a client). */

/* A search reads at most this many words of its query. */
#define STORE_SEARCH_WORDS 8

/* Who makes a write (SPEC §11), for its audit entry and its revision, and the rule auth.c
 * sets on what it may write. NULL where a function takes one: the system itself. */
struct store_actor {
	const char *account; /* a handle, or "config" (the bootstrap token), "cli", "system" */
	bool is_account;     /* account names a real account (the default author) */
	int64_t token_id;    /* 0: none */
	const char *client;  /* the address it came from; "" for the command line */
	const char *request_id;
	/* May the actor turn old (NULL: none yet) into new (NULL: a delete)? 0, or -EACCES with
	 * why filled. It may settle what the input left open (a contributor's status). NULL:
	 * anything goes. */
	int (*may_write)(const struct store_actor *who, const struct article *old,
	                 struct article *new_, char *why, size_t why_len);
	void *role;    /* for may_write */
	char why[256]; /* set by a write refused with -EACCES or -EINVAL */
};

/* Opens (creating and migrating as needed) the database at where, with nreaders reading
 * connections, in the engine where names (a path: SQLite). Returns NULL with a message in
 * err. Free with store_close. */
struct store *store_open(const char *where, unsigned nreaders, struct buf *err);
void store_close(struct store *s);

/* Whether the database at where can be used by this gazette, opened read-only and changing
 * nothing (gazette check): 0, or -1 with a message naming the problem. */
int store_check(const char *where, struct buf *err);

struct store_backup_info {
	int64_t pages, bytes, articles; /* of the copy */
};

/* A consistent copy of the database at where in the file dest while the server runs and
 * writes (gazette backup): 0 with info filled, -ENOTSUP for an engine that has its own tool
 * (PostgreSQL: pg_dump), -EINVAL (with a message) when dest is the database or a file
 * beside it, or -1 with a message in err. */
int store_backup(const char *where, const char *dest, struct store_backup_info *info,
                 struct buf *err);

/* Calls fn(arg) after every transaction this process commits (changes.c counts them). */
void store_on_commit(struct store *s, void (*fn)(void *arg), void *arg);

struct gate;

/* Bounds on the expensive reads (store_list): each runs for at most budget_ms (0: no bound)
 * before it stops with -ETIMEDOUT, and each takes a place of gate (NULL: no bound) while it
 * runs, or answers -EAGAIN when none comes free. */
struct metrics;
struct store_limits {
	unsigned budget_ms;
	struct gate *gate;       /* the caller's; it outlives the store */
	struct metrics *metrics; /* times reads and writes into it; NULL: none. Outlives it */
};
/* Call before the store is shared between threads. */
void store_set_limits(struct store *s, const struct store_limits *limits);
/* Whether readers see a (SPEC §4): published, and its published_at come by now. */
bool store_is_public(const struct article *a, int64_t now);

/* Fills a (initialized) with the article at slug. public_only hides drafts and articles whose
 * published_at is after now. Returns 0, -ENOENT or -EIO. */
int store_get(struct store *s, const char *slug, bool public_only, int64_t now, struct article *a);

struct store_query {
	unsigned page;      /* 1-based */
	unsigned per_page;  /* 1 or more */
	const char *tag;    /* NULL: any */
	const char *author; /* an account's handle: only its stories; NULL: any (not with tag) */
	const char *q;      /* NULL: no full-text search; else the user's words */
	bool public_only;
	int64_t now;
	bool with_body; /* false leaves body and body_html empty */
};

struct article_list {
	struct article *items;
	size_t n;
	unsigned total; /* matches over all pages */
};

/* Lists matching articles, newest published_at first (ties: higher id first), or by rank when
 * q is given. Returns 0 or a negative error; free the list with article_list_cleanup. */
int store_list(struct store *s, const struct store_query *q, struct article_list *out);
void article_list_cleanup(struct article_list *l);

/* Number of articles (public ones, or all). Returns it, or a negative error. */
int64_t store_count(struct store *s, bool public_only, int64_t now);

/* The number of public articles, counted once per content generation (for /healthz). */
int64_t store_count_public(struct store *s, int64_t now, uint64_t generation);

/* When the content last changed as readers see it: the last committed write (of any process)
 * or the last scheduled publication time passed by now, whichever is later. Returns it (Unix
 * seconds), or a negative error. Stable across restarts: it is read from the database. */
int64_t store_changed_at(struct store *s, int64_t now);

/* Appends the engine's query plan of the statements store_list runs for q (the page's rows, then
 * the count), one step a line, each statement ended by a "--" line. Returns 0 or a negative
 * error. For tests and operators. */
int store_plan(struct store *s, const struct store_query *q, struct buf *out);
/* Stores a new article. A derived slug that is taken gets -2, -3, ...; an empty derived slug
 * becomes article-<id>; a given slug that is taken is -EEXIST. Sets a->id, a->slug and the
 * dates (created_at/updated_at are kept when a came from an import and has them).
 * Returns 0 or a negative error; on error nothing is stored. */
int store_create(struct store *s, struct article *a, int64_t now);

/* Replaces the article at slug with a (keeping its id and created_at; without a slug of its own
 * a keeps the old one, with a new one the article is renamed). Returns 0, -ENOENT, -EEXIST or
 * another negative error. */
int store_replace(struct store *s, const char *slug, struct article *a, int64_t now);

/* Returns 0, -ENOENT or another negative error. */
int store_delete(struct store *s, const char *slug);

/* The same, made by who: its rule is applied (-EACCES with who->why), the authors are checked
 * (-EINVAL with who->why naming the unknown handle), and the revision and the audit entry are
 * written in the write's own transaction. */
int store_create_as(struct store *s, struct store_actor *who, struct article *a, int64_t now);
int store_replace_as(struct store *s, struct store_actor *who, const char *slug, struct article *a,
                     int64_t now);
int store_delete_as(struct store *s, struct store_actor *who, const char *slug, int64_t now);
int store_upsert_as(struct store *s, struct store_actor *who, struct article *a, int64_t now,
                    bool *created);

/* The current slug of the story that once had slug (renamed since), caller frees; -ENOENT
 * when slug is no story's old slug or its story is gone. */
int store_slug_moved(struct store *s, const char *slug, char **current);

/* --- revisions (SPEC §11): every create, replace, delete and restore keeps the record as it
 * then was, numbered from 1 per story; they outlive a delete --- */

/* The JSON of revision n ({"n", "at", "account", "action", "article"}) of the story at slug
 * (or whose slug it was when deleted), caller frees; n 0: every revision, newest first, as
 * {"revisions": [...]} without their articles' bodies. Returns 0, -ENOENT or an error. */
int store_revisions(struct store *s, const char *slug, int64_t n, json_t **out);

/* Makes revision n of the story at slug (or deleted under it) the story again, as a new
 * revision; a is filled with it. */
int store_restore_as(struct store *s, struct store_actor *who, const char *slug, int64_t n,
                     int64_t now, struct article *a);

/* --- the audit log: {id, at, actor, token_id, action, object, client, request_id} --- */

/* A page of the log, newest first: {"entries": [...], "total": N}. */
int store_audit(struct store *s, unsigned page, unsigned per_page, json_t **out);

/* --- accounts and tokens (SPEC §11) --- */

/* An account as stored: {"id", "handle", "name", "role", "bio", "disabled", "created_at",
 * "updated_at"} and, never shown, "password" (an Argon2id hash). */
int store_account_get(struct store *s, const char *handle, json_t **out);
/* Every account by handle, a page of them: {"users": [...], "total": N} (no passwords). */
int store_accounts(struct store *s, unsigned page, unsigned per_page, json_t **out);
/* Whether any account was ever given a token (revoked ones count): 1, 0 or a negative error. */
int store_has_tokens(struct store *s);
/* Stores a new account (fields as above, id and times set here): -EEXIST when its handle is
 * taken. */
int store_account_add(struct store *s, struct store_actor *who, json_t *account, int64_t now);
/* Applies changes (name, role, bio, disabled, password) to the account at handle; fills
 * *out with the account as stored when out is not NULL. */
int store_account_update(struct store *s, struct store_actor *who, const char *handle,
                         const json_t *changes, int64_t now, json_t **out);

/* A token for the account at handle: its SHA-256 (hex) is what is stored, with
 * {"id", "account", "name", "prefix", "created_at", "expires_at", "last_used_at",
 * "revoked_at"}, returned in *out. expires_at 0: never. */
int store_token_add(struct store *s, struct store_actor *who, const char *handle,
                    const char *sha256_hex, const char *name, const char *prefix,
                    int64_t expires_at, int64_t now, json_t **out);
/* The token whose SHA-256 is sha256_hex, and its account: -ENOENT when none. */
int store_token_find(struct store *s, const char *sha256_hex, json_t **token, json_t **account);
/* Every token, by id: {"tokens": [...]}. */
int store_tokens(struct store *s, json_t **out);
int store_token_revoke(struct store *s, struct store_actor *who, int64_t id, int64_t now);
/* Notes that the token was used at now; no content changes (no audit entry). */
int store_token_used(struct store *s, int64_t id, int64_t now);

/* Editors' sessions (SPEC §14), by the SHA-256 (hex) of their cookie: a new one for account
 * until expires (audited as a login); the one stored ({"account", "created", "expires"};
 * -ENOENT when none); and its end (audited as a logout; -ENOENT when there is none). */
int store_session_add(struct store *s, struct store_actor *who, const char *sha256_hex,
                      const char *account, int64_t expires, int64_t now);
int store_session_get(struct store *s, const char *sha256_hex, json_t **out);
int store_session_end(struct store *s, struct store_actor *who, const char *sha256_hex,
                      int64_t now);

/* The server's secret for signed links, made once and kept in the database (every instance
 * signs alike); rotating makes a new one, and every link signed before is dead. Caller frees. */
int store_secret(struct store *s, char **out);
int store_secret_rotate(struct store *s, struct store_actor *who);

/* Stores a as the new version of the article with its uri (when it has one; a slug derived
 * from its title is then only for a new article) or at its slug, or as a new article; *created
 * says which. Returns 0 or a negative error; on error nothing is stored. */
int store_upsert(struct store *s, struct article *a, int64_t now, bool *created);
/* Inserts or updates each article as store_upsert does (keeping the ids and times an export
 * brings), all in one transaction: on any error nothing changes and *failed is the index of
 * the article that failed. */
int store_import(struct store *s, struct article *list, size_t n, int64_t now, size_t *failed);

/* The newsroom's records an export carries (SPEC §11), never a secret: every account (without
 * its password) and every revision (each with its story's "story_id") and every image's record, as
 * {"accounts": [...], "revisions": [...], "media": [...]}. With secrets (gazette migrate: the same
 * newsroom in another database), also the tokens as stored (their SHA-256, never a token), the
 * accounts' password hashes and the key of preview links, so that nobody is locked out by a move.
 */
int store_export_newsroom(struct store *s, bool secrets, json_t **out);
/* store_import with an export's newsroom records (NULL: none) first, in the same transaction:
 * accounts (an existing handle is kept as it is), then revisions (by story id and number),
 * then images (by id). When a record fails, why (why_len bytes; may be NULL) says why when
 * a rule refused it (an author or an image that is not there). */
int store_import_all(struct store *s, struct article *list, size_t n, const json_t *newsroom,
                     int64_t now, size_t *failed, char *why, size_t why_len);

/* Every article (drafts and scheduled too), ordered by id, with bodies. */
int store_export(struct store *s, struct article_list *out);

/* A number that changes when another process or instance commits a write. */
int64_t store_external_version(struct store *s);

/* The earliest publication time after after of a story that will then be public, INT64_MAX
 * when there is none, or a negative error. */
int64_t store_next_publication(struct store *s, int64_t after);

/* Quotes the user's words for an FTS5 MATCH: each of the first STORE_SEARCH_WORDS words
 * becomes a "string" (quotes doubled), so no input is FTS syntax; at most 512 bytes. Appends
 * to out; appends nothing when there is no word. */
void store_fts_query(struct buf *out, const char *q);

/* Where the words of q past the first max begin (a pointer into q), or NULL when q has at
 * most max words. */
const char *store_words_beyond(const char *q, unsigned max);

/* --- media (SPEC §12) --- */

/* An image's record: {"id", "type", "width", "height", "bytes", "frames", "renditions",
 * "alt", "caption", "credit", "account", "created_at", "updated_at"}. */
int store_media_get(struct store *s, const char *id, json_t **out);
/* A page of them by id: {"media": [...], "total": N}. */
int store_media_list(struct store *s, unsigned page, unsigned per_page, json_t **out);
/* Stores rec (media_intake's, with alt, caption and credit set) with its audit entry, once
 * its files are on disk. Returns 0 (*out: rec as stored), 1 when the same image was stored
 * before (*out: that record; nothing written) or a negative error. */
int store_media_add(struct store *s, struct store_actor *who, json_t *rec, int64_t now,
                    json_t **out);
/* Applies changes (alt, caption, credit) to the image id: 0, -ENOENT or an error. */
int store_media_update(struct store *s, struct store_actor *who, const char *id,
                       const json_t *changes, int64_t now, json_t **out);
/* Removes the image's record (its files go with media_gc): 0, -ENOENT, -ENOTEMPTY while a
 * story of any status shows it, or an error. */
int store_media_delete(struct store *s, struct store_actor *who, const char *id, int64_t now);
/* For media_gc: 1 when an image id has a record, 0 when not, or a negative error (arg: the
 * store). */
int store_media_known(const char *id, void *arg);

/* --- outbound (SPEC §13): events, webhooks, the outbox --- */

/* The events a webhook may take. */
#define STORE_EVENT_PUBLISHED   "article.published"
#define STORE_EVENT_UPDATED     "article.updated"
#define STORE_EVENT_UNPUBLISHED "article.unpublished"
#define STORE_EVENT_DELETED     "article.deleted"
#define STORE_EVENT_MEDIA       "media.created"
/* The kinds of outbox rows. */
#define STORE_OUTBOX_WEBHOOK   "webhook"
#define STORE_OUTBOX_WEBSUB    "websub"
#define STORE_OUTBOX_PURGE     "purge"
#define STORE_WEBHOOKS_MAX     100  /* webhooks a newsroom may have */
#define STORE_DELIVERIES_KEPT  1000 /* lines of each webhook's delivery log */
#define STORE_PURGE_AGAIN_MS   2000 /* a purge is sent again this long after the first */
#define STORE_PURGE_HEADER_MAX 4000 /* bytes of keys in one purge request */

/* What the events and rows a write makes say beyond the record: the site's address and
 * language (for the story's url), and whether the feed's hub and a cache are told. */
struct store_outbound {
	char *base_url, *site_language;
	bool websub, purge;
};
/* Copies o; call before the store is shared between threads. Without it, events carry
 * urls without a host and no hub or cache is told. */
void store_set_outbound(struct store *s, const struct store_outbound *o);
/* Calls fn(arg) after every commit of this process that wrote outbox rows. */
void store_on_outbox(struct store *s, void (*fn)(void *arg), void *arg);
/* The wall clock in Unix milliseconds, as outbox rows are timed (every instance alike). */
int64_t store_clock_ms(void);

/* Every webhook by id, secrets included (the caller shows none): {"webhooks": [...]}. A
 * webhook: {"id", "url", "events", "secret", "active", "disabled_reason", "created_at",
 * "updated_at"}. */
int store_webhooks(struct store *s, json_t **out);
int store_webhook_get(struct store *s, int64_t id, json_t **out);
/* Stores hook ({"url", "events", "secret"}, checked by the caller) as a new webhook: its id,
 * active and times are set in it. -ENOSPC past STORE_WEBHOOKS_MAX. */
int store_webhook_add(struct store *s, struct store_actor *who, json_t *hook, int64_t now);
/* Applies changes (url, events, secret, active) to webhook id; *out (when not NULL) is it as
 * stored. 0, -ENOENT or an error. */
int store_webhook_update(struct store *s, struct store_actor *who, int64_t id,
                         const json_t *changes, int64_t now, json_t **out);
int store_webhook_delete(struct store *s, struct store_actor *who, int64_t id, int64_t now);
/* A page of webhook id's delivery log, newest first: {"deliveries": [...], "total": N}. */
int store_deliveries(struct store *s, int64_t id, unsigned page, unsigned per_page, json_t **out);

/* One delivery waiting in the outbox (SPEC §13): what it is is store.c's and outbox.c's, the
 * engine keeps the columns. Times are Unix milliseconds. */
struct store_outbox_row {
	int64_t id;       /* the engine's, never reused */
	char *kind;       /* "webhook", "websub", "purge" */
	char *target;     /* the webhook's id; "" for the others */
	char *hold;       /* what a later write may cancel (a scheduled story's id); "" */
	int64_t due_ms;   /* not claimed before this */
	int64_t first_ms; /* when it was first due (its retries end a while after) */
	int attempts;     /* tries made */
	char *doc;        /* the delivery's JSON */
	int64_t lease_ms; /* set by the claim: held until then, and what its settle names */
};

struct store_outbox_rows {
	struct store_outbox_row *items;
	size_t n;
};

void store_outbox_rows_cleanup(struct store_outbox_rows *r);

/* Up to limit outbox rows due by now_ms that no worker holds, each held until now_ms +
 * lease_ms (free with store_outbox_rows_cleanup). */
int store_outbox_claim(struct store *s, int64_t now_ms, int64_t lease_ms, unsigned limit,
                       struct store_outbox_rows *out);
/* The rows waiting in the outbox, or a negative error. */
int64_t store_outbox_backlog(struct store *s);

/* What became of one claimed row. */
struct store_settle {
	int64_t row;
	int64_t lease_ms; /* the claim's (store_outbox_row's): a row claimed again is left alone */
	bool retry;       /* due again at due_ms after attempts tries; else removed */
	int64_t due_ms;
	int attempts;
	const char *webhook; /* its webhook's id; NULL: not a webhook's */
	json_t *entry;       /* the line for the webhook's delivery log; NULL: none */
	const char *disable; /* not NULL: the webhook is turned off, for this reason */
};
/* Applies list (n of them) in one transaction, which changes nothing readers see. */
int store_outbox_settle(struct store *s, const struct store_settle *list, size_t n, int64_t now);

#endif
