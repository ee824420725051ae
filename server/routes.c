/* routes.c - the route table (method, pattern, handler, permission, cache-key rule, body limit
 * in one row), and the answers every handler shares. Handlers: page.c, api.c, feed.c, files.c. */
#include "routes.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "article.h"
#include "changes.h"
#include "auth.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
#include "handlers.h"
#include "static.h"
#include "store.h"

/* Who may use a route. */
enum perm {
	PERM_PUBLIC, /* anyone */
	PERM_EDITOR, /* reads are public; writes, and reads with ?status=all, need the token */
};

/* How a GET's answer is found again in the cache. */
enum key_rule {
	KEY_NONE,   /* never from the cache: always the handler */
	KEY_PARAMS, /* the path and the query parameters the route reads (its params column) */
	KEY_FILE,   /* the path and the identity of the file it names (a changed file is new) */
};

/* One row: everything decided per route. Adding a route is adding a row. */
struct route {
	unsigned methods;
	const char *pattern; /* an exact path, or a prefix ending in '*' that captures the rest */
	bool deep;           /* the capture may hold '/' (files under /static/) */
	handler_fn handler;
	const char *allow;
	enum perm perm;
	enum key_rule key;
	const char *const *params; /* the query parameters the handler reads, NULL-terminated */
	size_t body_max;           /* 0: server.max_body_bytes */
};

void response_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->fd = -1;
	buf_init(&resp->body);
}

void response_cleanup(struct response *resp)
{
	buf_cleanup(&resp->body);
	if (resp->fd >= 0)
		close(resp->fd);
	resp->fd = -1;
	free(resp->location);
	resp->location = NULL;
}

int64_t handler_now(void)
{
	return (int64_t)time(NULL);
}

static bool is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	       strcmp(path, "/healthz") == 0;
}

void answer_json_error(struct response *resp, unsigned status, const char *message)
{
	resp->status = status;
	resp->content_type = JSON_TYPE;
	resp->cacheable = false;
	buf_reset(&resp->body);
	json_t *e = json_pack("{s:{s:i, s:s}}", "error", "status", (int)status, "message", message);
	char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	if (text)
		buf_puts(&resp->body, text);
	else /* a message that is not UTF-8: say what the status says */
		buf_printf(&resp->body, "{\"error\":{\"status\":%u,\"message\":\"%s\"}}", status,
		           status == 404 ? "not found" : "request refused");
	free(text);
	json_decref(e);
}

void answer_json_errorf(struct response *resp, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer_json_error(resp, status, msg);
}

void answer_page_error(const struct app *app, struct response *resp, unsigned status,
                       const char *message)
{
	resp->status = status;
	resp->content_type = HTML_TYPE;
	resp->cacheable = false;
	buf_reset(&resp->body);
	struct buf err = BUF_INIT;
	if (render_error(app->render, status, message, &resp->body, &err) < 0) {
		log_error("error page: %s", buf_str(&err));
		buf_reset(&resp->body);
		buf_printf(&resp->body, "<!DOCTYPE html>\n<title>%u</title>\n<h1>%u</h1>\n", status,
		           status);
	}
	buf_cleanup(&err);
}

/* An error in the request's own format: JSON under /api/ and /healthz, the error page
 * elsewhere. */
void answer_error(const struct app *app, const struct request *req, struct response *resp,
                  unsigned status, const char *message)
{
	if (is_api(req->path))
		answer_json_error(resp, status, message);
	else
		answer_page_error(app, resp, status, message);
}

void answer_not_found(const struct app *app, const struct request *req, struct response *resp)
{
	answer_error(app, req, resp, 404, is_api(req->path) ? "not found" : "Page not found");
}

/* What a negative store result means to a client. Every read and write ends here, so one
 * errno has one status everywhere. */
void answer_store_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc)
{
	switch (rc) {
	case -ENOENT: answer_not_found(app, req, resp); return;
	case -ETIMEDOUT:
	case -EAGAIN:
		/* a read over its time budget, or too many expensive reads at once */
		answer_error(app, req, resp, 503, "the server is busy; try again in a moment");
		resp->retry_after = 2;
		return;
	case -EROFS:
	case -ENOSPC:
	case -EBUSY:
	case -EIO:
		/* read-only, full or failing storage: nothing was written; the client may retry */
		answer_error(
		    app, req, resp, 503,
		    req->method == HTTP_GET || req->method == HTTP_HEAD
		        ? "the database is temporarily unavailable; try again later"
		        : "the article could not be stored right now; nothing was changed, try "
		          "again later");
		resp->retry_after = 5;
		return;
	default: answer_error(app, req, resp, 500, "internal error"); return;
	}
}

/* A page rendered into resp, or a logged 500. */
void answer_rendered(const struct app *app, const struct request *req, struct response *resp,
                     int rc, struct buf *err)
{
	if (rc < 0) {
		log_error("render %s: %s", req->path, buf_str(err));
		answer_error(app, req, resp, 500, "internal error");
	}
	buf_cleanup(err);
}

void answer_json(struct response *resp, unsigned status, json_t *value)
{
	resp->status = status;
	resp->content_type = JSON_TYPE;
	char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
	if (text) {
		buf_puts(&resp->body, text);
	} else {
		log_error("api: an answer could not be serialized");
		answer_json_error(resp, 500, "internal error");
	}
	free(text);
	json_decref(value);
}

/* When a record last changed as a reader sees it: its update, or the moment its scheduled
 * publication came, whichever is later. */
int64_t content_shown_since(const struct article *a, int64_t now)
{
	return a->published_ts <= now ? max64(a->updated_ts, a->published_ts) : a->updated_ts;
}

/* A listing shows counts and pages that any write or publication can move: it changed when
 * the store's content last did, or the templates or configuration that draw it. */
int64_t content_listing_changed(const struct app *app, int64_t store_changed)
{
	return max64(store_changed, render_changed_at(app->render));
}

/* A positive page number; missing is 1; anything else returns 0. */
unsigned request_page(const struct request *req)
{
	const char *p = req->query(req, "page");
	if (!p)
		return 1;
	if (*p < '1' || *p > '9' || strlen(p) > 6)
		return 0;
	char *end;
	unsigned long v = strtoul(p, &end, 10);
	return *end ? 0 : (unsigned)v;
}

bool text_is_utf8(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

unsigned count_pages(unsigned total, unsigned per_page)
{
	return total == 0 ? 1 : (total + per_page - 1) / per_page;
}

/* store_changed_at, or false with resp filled. */
bool content_changed_at(const struct app *app, const struct request *req, struct response *resp,
                        int64_t now, int64_t *out)
{
	int64_t t = store_changed_at(app->store, now);
	if (t < 0) {
		answer_store_failed(app, req, resp, (int)t);
		return false;
	}
	*out = t;
	return true;
}

/* --- the table --- */

#define GET_HEAD (HTTP_GET | HTTP_HEAD)
#define GH       "GET, HEAD"

static const char *const page_only[] = {"page", NULL};
static const char *const search_params[] = {"q", "page", NULL};
static const char *const list_params[] = {"page", "per_page", "tag", "q", "status", NULL};
static const char *const status_only[] = {"status", NULL};
static const char *const none[] = {NULL};

static const struct route table[] = {
    /* methods, pattern, deep, handler, Allow, permission, cache key, its params, body */
    {GET_HEAD, "/", false, page_front, GH, PERM_PUBLIC, KEY_PARAMS, page_only, 0},
    {GET_HEAD, "/articles/*", false, page_article, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    {GET_HEAD, "/tags/*", false, page_tag, GH, PERM_PUBLIC, KEY_PARAMS, page_only, 0},
    {GET_HEAD, "/search", false, page_search, GH, PERM_PUBLIC, KEY_PARAMS, search_params, 0},
    {GET_HEAD, "/feed.xml", false, feed_atom, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    {GET_HEAD, "/sitemap.xml", false, feed_sitemap, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    /* its 48-hour window moves with the clock, not with writes: never kept */
    {GET_HEAD, "/news-sitemap.xml", false, feed_news_sitemap, GH, PERM_PUBLIC, KEY_NONE, none, 0},
    {GET_HEAD, "/static/*", true, files_static, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/robots.txt", false, files_root, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/favicon.ico", false, files_root, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/healthz", false, api_healthz, GH, PERM_PUBLIC, KEY_NONE, none, 0},
    {GET_HEAD | HTTP_POST, "/api/articles", false, api_articles, "GET, HEAD, POST", PERM_EDITOR,
     KEY_PARAMS, list_params, 0},
    {GET_HEAD | HTTP_PUT | HTTP_DELETE, "/api/articles/*", false, api_article,
     "GET, HEAD, PUT, DELETE", PERM_EDITOR, KEY_PARAMS, status_only, 0},
    {HTTP_POST, "/api/ninjs", false, api_ninjs, "POST", PERM_EDITOR, KEY_NONE, none, 0},
    {GET_HEAD, "/api/ninjs/*", false, api_ninjs, GH, PERM_EDITOR, KEY_PARAMS, status_only, 0},
};

/* The row for path and where its capture starts; NULL when no pattern matches. */
static const struct route *match(const char *path, const char **arg)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct route *r = &table[i];
		size_t n = strlen(r->pattern);
		if (r->pattern[n - 1] == '*') {
			/* a capture is one or more bytes, within one segment unless deep */
			if (strncmp(path, r->pattern, n - 1) != 0 || !path[n - 1])
				continue;
			if (!r->deep && strchr(path + n - 1, '/'))
				continue;
			*arg = path + n - 1;
		} else {
			if (strcmp(path, r->pattern) != 0)
				continue;
			*arg = NULL;
		}
		return r;
	}
	return NULL;
}

const struct route *routes_find(const struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = match(req->path, &req->arg);
	if (!r) {
		answer_not_found(app, req, resp);
		return NULL;
	}
	if (!(r->methods & req->method)) {
		answer_error(app, req, resp, 405,
		             is_api(req->path) ? "method not allowed" : "Method not allowed");
		resp->allow = r->allow;
		return NULL;
	}
	return r;
}

size_t routes_body_limit(const struct app *app, const struct route *r)
{
	return r->body_max ? r->body_max : app->cfg->max_body_bytes;
}

static bool wants_token(const struct route *r, const struct request *req)
{
	if (r->perm == PERM_PUBLIC)
		return false;
	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return true;
	const char *status = req->query(req, "status");
	return status && strcmp(status, "all") == 0;
}

bool routes_permit(struct app *app, const struct route *r, struct request *req,
                   struct response *resp)
{
	req->editor = false;
	if (!wants_token(r, req))
		return true;
	unsigned retry = 0;
	switch (auth_check(app->auth, req->header(req, "Authorization"), req->client, handler_now(),
	                   &retry)) {
	case AUTH_OK: req->editor = true; return true;
	case AUTH_DISABLED:
		answer_json_error(resp, 403, "writes are disabled: no auth.token is configured");
		return false;
	case AUTH_MISSING:
		answer_json_error(resp, 401, "an Authorization: Bearer token is required");
		resp->www_authenticate = true;
		return false;
	case AUTH_WRONG:
		answer_json_error(resp, 401, "the bearer token is not valid");
		resp->www_authenticate = true;
		return false;
	case AUTH_LIMITED:
		answer_json_error(resp, 429,
		                  "too many attempts with a wrong token; wait and retry");
		resp->retry_after = retry;
		return false;
	}
	return false;
}

/* The file a files route names, relative to paths.static. */
static const char *file_of(const struct route *r, const struct request *req, const char *arg)
{
	return r->deep ? arg : req->path + 1;
}

/* One part of a key: "-" when absent, else its length, ':' and its bytes, so that no value,
 * whatever it holds, can end early or reach into the next part. No printf: this runs on
 * every cached request. */
static void key_part(struct buf *key, const char *s, size_t len)
{
	if (!s) {
		buf_putc(key, '-');
		return;
	}
	char digits[24];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + len % 10);
		len /= 10;
	} while (len);
	while (n)
		buf_putc(key, digits[--n]);
	buf_putc(key, ':');
	buf_append(key, s, strlen(s));
}

bool routes_cache_key(const struct app *app, const struct route *r, const struct request *req,
                      struct buf *key)
{
	/* answers to a token holder (drafts, ?status=all) are never shared; a public answer is
	 * the same for everyone, whatever Authorization header came with it */
	if (r->key == KEY_NONE || req->editor)
		return false;
	buf_putc(key, (char)('A' + (r - table)));
	key_part(key, req->path, strlen(req->path));
	if (r->key == KEY_FILE) {
		/* the file's identity is part of the key, so an edited file is served fresh */
		struct stat st;
		int fd = static_open(app->cfg->static_dir, file_of(r, req, req->arg), &st);
		if (fd < 0)
			return false;
		close(fd);
		uint64_t tag = files_tag(&st);
		buf_append(key, &tag, sizeof(tag));
		return true;
	}
	for (const char *const *p = r->params; *p; p++) {
		const char *v = req->query(req, *p);
		key_part(key, v, v ? strlen(v) : 0);
	}
	return true;
}

void routes_run(struct app *app, const struct route *r, const struct request *req,
                struct response *resp)
{
	r->handler(app, req, req->arg, resp);
}

void routes_handle(struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = routes_find(app, req, resp);
	if (r && routes_permit(app, r, req, resp))
		routes_run(app, r, req, resp);
}
