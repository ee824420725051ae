/* routes.h - the route table: method + path pattern -> handler, and the request/response shapes. */
#ifndef GAZETTE_ROUTES_H
#define GAZETTE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct auth;
struct config;
struct store;
struct render;

enum http_method {
	HTTP_GET = 1,
	HTTP_HEAD = 2,
	HTTP_POST = 4,
	HTTP_PUT = 8,
	HTTP_DELETE = 16,
	HTTP_OTHER = 32,
};

/* What the handlers may use; wired once by main. */
struct app {
	const struct config *cfg;
	struct store *store;
	struct render *render;
	struct auth *auth;
	int64_t started; /* when the server started: pages are no older than their templates */
};

/* A request as http hands it over; the lookups read the live connection. */
struct request {
	enum http_method method;
	const char *path; /* percent-decoded, without the query */
	const char *body;
	size_t body_len;
	const char *client; /* address for logs and rate limits */
	const char *(*query)(const struct request *r, const char *name);
	const char *(*header)(const struct request *r, const char *name);
	void *conn;
};

/* What a handler answers; http turns it into bytes on the wire. */
struct response {
	unsigned status;
	const char *content_type;
	struct buf body;
	bool cacheable; /* public: ETag, Last-Modified, Cache-Control public, kept in the cache */
	time_t last_modified; /* for cacheable answers; 0 = now */
	char *location;
	const char *allow; /* for 405 */
	bool www_authenticate;
	unsigned retry_after;
};

void response_init(struct response *resp);
void response_cleanup(struct response *resp);

/* Answers req into resp (initialized by the caller). Never fails: errors become statuses. */
void routes_handle(struct app *app, const struct request *req, struct response *resp);

/* Writes into key (size bytes) the cache key of a GET or HEAD request whose answer may come
 * from the cache, and returns true; false when the request must always reach its handler. */
bool routes_cache_key(struct app *app, const struct request *req, char *key, size_t size);

/* The cache generation: changes whenever anything a cached page shows may have changed. */
uint64_t routes_generation(struct app *app);

#endif
