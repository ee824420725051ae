/* routes.h - the route table: method + path pattern -> handler, with each route's permission,
 * cache-key rule and body limit; and the request/response shapes handlers see. */
#ifndef GAZETTE_ROUTES_H
#define GAZETTE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"
#include "buf.h"

struct app;

enum http_method {
	HTTP_GET = 1,
	HTTP_HEAD = 2,
	HTTP_POST = 4,
	HTTP_PUT = 8,
	HTTP_DELETE = 16,
	HTTP_PATCH = 32,
	HTTP_OTHER = 64,
};

#define ROUTE_ARG_MAX 256 /* bytes of a capture within one path segment */

/* A request as http hands it over; the lookups read the live connection. */
struct request {
	enum http_method method;
	const char *path; /* percent-decoded, without the query */
	const char *body;
	size_t body_len;
	int body_fd; /* >= 0 for an offloaded route: the body_len bytes of its body, in a file */
	const char *client; /* address for logs and rate limits */
	const char *(*query)(const struct request *r, const char *name);
	const char *(*header)(const struct request *r, const char *name);
	void *conn;
	/* set by routes_find: what the route's pattern's first '*' captured (NULL: it has none),
	 * and its second */
	const char *arg, *arg2;
	char captured[2][ROUTE_ARG_MAX];
	struct principal who; /* set by routes_permit: who the credentials say (ROLE_NONE: none) */
	/* an editor's page (SPEC §14): the form its POST brought (http's), and the cookie its
	 * CSRF token is made from (the session's, or the login page's; "" for none) */
	const struct form *form;
	char csrf_cookie[AUTH_COOKIE_LEN + 1];
};

/* What a handler answers; http turns it into bytes on the wire. */
struct response {
	unsigned status;
	const char *content_type;
	struct buf body;
	int fd; /* >= 0: the body is this regular file's fd_size bytes, sent from it */
	size_t fd_size;
	uint64_t tag;   /* with fd: what identifies the file's bytes, for the ETag */
	bool cacheable; /* public: ETag, Last-Modified, Cache-Control public, kept in the cache */
	bool immutable; /* with cacheable: never changes (Cache-Control immutable, a year) */
	bool private_answer;  /* for one reader only: Cache-Control private, no-store; noindex */
	time_t last_modified; /* for cacheable answers: when what it shows last changed */
	char *location;
	char *surrogate;   /* with cacheable: its Surrogate-Key (surrogate.h), freed with resp */
	const char *allow; /* for 405 */
	bool www_authenticate;
	unsigned retry_after;
	char *cookie; /* a Set-Cookie value, freed with resp */
	bool admin;   /* an editor's page: the editor's Content-Security-Policy (SPEC §14) */
};

void response_init(struct response *resp);
void response_cleanup(struct response *resp);

/* The JSON error of SPEC §5, {"error":{"status":S,"message":"..."}}, as resp's whole answer:
 * the one writer of it (http's own refusals use it too). */
void answer_json_error(struct response *resp, unsigned status, const char *message);

struct route; /* one row of the table */

/* The route for req's method and path, with req->arg set to its capture. NULL with resp
 * filled when there is none: 404, or 405 with Allow when the path is known but the method is
 * not. */
const struct route *routes_find(const struct app *app, struct request *req, struct response *resp);

/* The metrics' names of the routes (their patterns, each once) and their number; and which
 * of them r is (NULL, no route: the number, which metrics.h counts as "none"). */
const char *const *routes_metric_names(size_t *n);
size_t routes_metric(const struct route *r);

/* The largest request body the route takes, and the key that sets it (for the 413). */
size_t routes_body_limit(const struct app *app, const struct route *r);
const char *routes_body_limit_name(const struct route *r);
/* Whether the route's body goes to a temporary file (req->body_fd) and its handler runs on a
 * worker thread, off the request threads (image uploads: a POST). */
bool routes_offloaded(const struct route *r, enum http_method method);
/* Whether the route's body is an HTML form (the editor's pages: urlencoded or multipart, read
 * by http into req->form), and so its errors are pages. */
bool routes_form(const struct route *r);

/* Decides the route's permission from req's headers and query alone, so that it can be
 * answered before a body is read. Sets req->who from the credentials a route that needs them
 * was given. Returns false with resp filled (401, 403, 429, 503) when the request may not go
 * on. */
bool routes_permit(struct app *app, const struct route *r, struct request *req,
                   struct response *resp);

/* Appends to key (any bytes) the cache key of a GET or HEAD request to r, built from the path
 * and only the query parameters r reads, each encoded so that no value reaches another key;
 * returns false (key untouched) when the answer must always come from the handler. */
bool routes_cache_key(const struct app *app, const struct route *r, const struct request *req,
                      struct buf *key);

/* The audit's view of req's principal (SPEC §11): its account, token, address and request id
 * (X-Request-Id when it is a plain one, else a random one written into id_buf), with the
 * roles' rule on articles. */
struct store_actor;
void routes_actor(const struct request *req, struct store_actor *actor, char id_buf[33]);

/* Runs r's handler. Never fails: errors become statuses. */
void routes_run(struct app *app, const struct route *r, const struct request *req,
                struct response *resp);

/* routes_find, routes_permit and routes_run in one, for callers without a body to wait for. */
void routes_handle(struct app *app, struct request *req, struct response *resp);

#endif
