/* auth.h - who a request is (SPEC §11): a bearer token to a principal {account, role}, the
 * rules of the three roles on articles, and a brake on repeated wrong tokens. */
#ifndef GAZETTE_AUTH_H
#define GAZETTE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "article.h"
#include "secret.h"

#define AUTH_MAX_FAILURES 10 /* wrong tokens per client within AUTH_WINDOW_S */
#define AUTH_WINDOW_S     60
#define AUTH_CLIENTS      4096 /* clients remembered; past it the least recent is forgotten */
#define AUTH_KEY_SIZE     56   /* an address, or an IPv6 prefix with "/64" */
#define AUTH_USED_EVERY_S 60   /* a token's last_used_at is written at most this often */

/* The roles, each allowed everything the one before is. */
enum role {
	ROLE_NONE,        /* no credentials */
	ROLE_CONTRIBUTOR, /* writes drafts, edits its own drafts */
	ROLE_EDITOR,      /* everything to articles */
	ROLE_ADMIN,       /* also accounts, tokens, the audit log */
};

/* "contributor", "editor", "admin"; ROLE_NONE for anything else. */
enum role auth_role_parse(const char *name);
const char *auth_role_name(enum role r);

/* Who a request is. */
struct principal {
	enum role role;
	char account[ARTICLE_HANDLE_MAX + 1]; /* a handle, or "config" for auth.token */
	bool is_account;                      /* account is a real account's handle */
	int64_t token_id;                     /* 0 for auth.token */
};

struct auth;
struct store;

/* config_token may be "" (none): it is the admin token named "config" while no account of the
 * store has a token (SPEC §11: the first account and its token can be made through the API
 * with it). Never returns NULL; free with auth_free. */
struct auth *auth_new(const char *config_token, struct store *store);
void auth_free(struct auth *a);

enum auth_result {
	AUTH_OK,
	AUTH_DISABLED, /* no account token, no auth.token: writes are off (403) */
	AUTH_MISSING,  /* no or malformed Authorization header: 401 */
	AUTH_WRONG,    /* a token that is unknown, revoked, expired or of a disabled account: 401 */
	AUTH_LIMITED,  /* too many wrong tokens from this client: 429 */
	AUTH_UNAVAILABLE, /* the store could not be asked: 503 */
};

/* Checks an Authorization header value (may be NULL) from client at time now, with what the
 * store held at generation (a token checked once is not looked up again until the content
 * generation moves). Compares in time independent of where the tokens differ. A wrong token
 * counts against the client (its exact address; an IPv6 address by its /64); no credentials
 * at all never count. Fills who on AUTH_OK; on AUTH_LIMITED, *retry_after is the number of
 * seconds to wait. */
enum auth_result auth_check(struct auth *a, const char *header, const char *client, int64_t now,
                            uint64_t generation, struct principal *who, unsigned *retry_after);

/* Writes the key a client address is counted under: IPv4 and anything else as given, IPv6 as
 * its /64 prefix ("2001:db8:1:2::/64"). */
void auth_client_key(const char *client, char out[AUTH_KEY_SIZE]);

/* The rule of the roles on one article (SPEC §11), for store_actor.may_write: may who turn
 * old (NULL: a new story) into new_ (NULL: a delete)? A contributor's story without a status
 * of its own becomes a draft; a contributor may not publish, schedule, delete, or touch a story
 * that is not its own draft. 0, or -EACCES with why saying which. */
int auth_may_write(const struct principal *who, const struct article *old, struct article *new_,
                   char *why, size_t why_len);

/* An account's fields from an API or command's JSON (SPEC §11): on create, handle, name and role
 * are required; bio, disabled and password (at least AUTH_PASSWORD_MIN characters, stored as
 * its Argon2id hash) may come. *out is what to store (a new reference). Returns 0, or -1 with
 * why naming the field. */
#define AUTH_PASSWORD_MIN 10
#define AUTH_BIO_MAX      2000
#define AUTH_NAME_MAX     200
int auth_account_from_json(const json_t *in, bool create, json_t **out, char *why, size_t why_len);

/* A token's options ({"name", "expires_days"}) from JSON: name (default "api") at most 100
 * characters; expires_days 1 to 3650 (0: never). Returns 0, or -1 with why. */
int auth_token_options(const json_t *in, char name[401], unsigned *expires_days, char *why,
                       size_t why_len);

/* Issues a new token for the account at handle (SPEC §11): 32 bytes of getrandom, of which
 * only the SHA-256 and the first SECRET_PREFIX_LEN characters are stored; valid for days
 * (0: until revoked). The token is in out_token, to be shown this once; its record in *record.
 * Returns 0, -ENOENT for no such account, -EIO without random bytes, or the store's error. */
struct store_actor;
int auth_token_issue(struct store *s, struct store_actor *who, const char *handle, const char *name,
                     unsigned days, int64_t now, char out_token[SECRET_TOKEN_LEN + 1],
                     json_t **record);

/* Preview links (SPEC §11): the HMAC-SHA256, under the server's key, of a story's id and slug
 * and the moment the link dies; hex in out. */
#define AUTH_PREVIEW_DAYS     7
#define AUTH_PREVIEW_DAYS_MAX 90
void auth_preview_sign(const char *key, int64_t id, const char *slug, int64_t expires,
                       char out[65]);
/* Whether sig (hex) and expires (decimal Unix seconds, from the link) are a live link's for
 * the story id at slug at time now. */
bool auth_preview_valid(const char *key, int64_t id, const char *slug, const char *expires,
                        const char *sig, int64_t now);
/* May who see a unpublished (a draft or scheduled), and have a preview link of it? An editor
 * any story, a contributor their own. */
bool auth_may_preview(const struct principal *who, const struct article *a);
/* Whose unpublished stories who may list: NULL for everyone's (an editor and up), else the
 * handle of the contributor's own. */
const char *auth_drafts_of(const struct principal *who);

/* --- editors' sessions (SPEC §14) --- */

#define AUTH_COOKIE_LEN     64          /* hex digits of a session cookie's 256 random bits */
#define AUTH_SESSION_S      (12 * 3600) /* a session lasts this long from its login */
#define AUTH_SETUP_CODE_LEN 32          /* hex digits of the first admin's 128-bit code */
#define AUTH_SETUP_S        3600        /* the code is good for an hour */
#define AUTH_SESSION_COOKIE "gz_session"
#define AUTH_FORM_COOKIE    "gz_form" /* the login and setup forms' CSRF key, before a session */

/* A Set-Cookie value for name (value "" and max_age 0: removed): HttpOnly, SameSite=Strict,
 * Path=/admin, and Secure when base_url is https. Caller frees. */
char *auth_cookie(const char *name, const char *value, unsigned max_age, const char *base_url);

/* A login with a handle and its password from client at now: AUTH_OK with who filled, or
 * AUTH_WRONG (counted against the client as a wrong token is: a wrong password, no such
 * account, one without a password or disabled, all alike), AUTH_LIMITED with *retry_after,
 * AUTH_UNAVAILABLE. */
enum auth_result auth_login(struct auth *a, const char *handle, const char *password,
                            const char *client, int64_t now, struct principal *who,
                            unsigned *retry_after);
/* A new session for account, stored as the SHA-256 of its cookie (audited as actor's login),
 * lasting AUTH_SESSION_S; the cookie, to be sent this once, in cookie. 0 or the store's
 * error. */
struct store_actor;
int auth_session_start(struct auth *a, struct store_actor *actor, const char *account, int64_t now,
                       char cookie[AUTH_COOKIE_LEN + 1]);
/* Who the session cookie (NULL: none) is at now: AUTH_OK, AUTH_MISSING (no cookie),
 * AUTH_WRONG (unknown, ended, expired, or its account disabled or gone), AUTH_UNAVAILABLE. */
enum auth_result auth_session(struct auth *a, const char *cookie, int64_t now,
                              struct principal *who);
/* Ends the session of cookie wherever it is stored (audited as actor's logout). 0, -ENOENT
 * when there is none, or the store's error. */
int auth_session_end(struct auth *a, struct store_actor *actor, const char *cookie, int64_t now);
/* The CSRF token of every form under a cookie (a session's, or the login page's): the
 * HMAC-SHA256 of it, hex; and whether given is it. */
void auth_csrf(const char *cookie, char out[SECRET_HEX_LEN + 1]);
bool auth_csrf_valid(const char *cookie, const char *given);

/* The first admin's setup code (SPEC §14), made when the server starts with no account: good
 * until now + AUTH_SETUP_S, once. auth_setup_valid says whether code is it (take: and uses it
 * up); auth_setup_restore gives a taken code back until until (the account could not be
 * made). */
int auth_setup_begin(struct auth *a, int64_t now, char code[AUTH_SETUP_CODE_LEN + 1]);
bool auth_setup_valid(struct auth *a, const char *code, int64_t now, bool take);
void auth_setup_restore(struct auth *a, const char *code, int64_t until);

#endif
