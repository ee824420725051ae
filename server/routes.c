/* routes.c - the route table (method, pattern, handler, permission, cache-key rule, body limit
 * in one row), and the answers every handler shares. Handlers: page.c, api.c, feed.c, files.c. */
#include "routes.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "app.h"
#include "article.h"
#include "changes.h"
#include "auth.h"
#include "config.h"
#include "form.h"
#include "hash.h"
#include "http_parse.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
#include "handlers.h"
#include "secret.h"
#include "static.h"
#include "store.h"
#include "surrogate.h"

/* What a route's body is, and so its limit and where it goes. */
enum body_kind {
	BODY_JSON,  /* in memory, at most server.max_body_bytes */
	BODY_IMAGE, /* to a temporary file, at most media.max_bytes; the handler runs on a worker */
	BODY_FORM,  /* an HTML form (req->form), its file field in a temporary file; on a worker */
};

/* How a GET's answer is found again in the cache. */
enum key_rule {
	KEY_NONE,   /* never from the cache: always the handler */
	KEY_PARAMS, /* the path and the query parameters the route reads (its params column) */
	KEY_FILE,   /* the path and the identity of the file it names (a changed file is new) */
};

/* One row: everything decided per route. Adding a route is adding a row. */
/* Where a route may be asked from, besides its roles. */
enum reach {
	ANYWHERE,
	METRICS_ALLOW, /* a client address in metrics.allow (after trust_proxy) */
};

struct route {
	unsigned methods;
	const char *pattern; /* an exact path, or a prefix ending in '*' that captures the rest */
	bool deep;           /* the capture may hold '/' (files under /static/) */
	handler_fn handler;
	const char *allow;
	/* who may use it (SPEC §11): the least role for its reads (GET, HEAD) and for its other
	 * methods; ROLE_NONE is anyone */
	enum role read, write;
	bool drafts; /* it reads ?status=all: drafts, for a contributor and up */
	enum key_rule key;
	const char *const *params; /* the query parameters the handler reads, NULL-terminated */
	enum body_kind body;
	/* the Surrogate-Key of its cacheable answers (SPEC §13), when it is one fixed name */
	const char *surrogate;
	enum reach from; /* the client addresses it answers */
	/* an editor's page (SPEC §14): the credential is the session cookie, not a bearer token;
	 * its POSTs come from this site with the form's CSRF token; its answers are pages */
	bool session;
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
	free(resp->surrogate);
	resp->surrogate = NULL;
	free(resp->cookie);
	resp->cookie = NULL;
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

void answer_surrogate(struct response *resp, struct buf *keys)
{
	if (resp->cacheable && keys->len) {
		free(resp->surrogate);
		resp->surrogate = buf_steal(keys, NULL);
	}
	buf_cleanup(keys);
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

json_t *story_people(const struct app *app, const struct article *a)
{
	json_t *people = json_array();
	for (size_t i = 0; i < a->nauthors; i++) {
		json_t *acct = NULL;
		const char *name = a->authors[i];
		if (store_account_get(app->store, a->authors[i], &acct) == 0 &&
		    json_string_value(json_object_get(acct, "name")))
			name = json_string_value(json_object_get(acct, "name"));
		json_array_append_new(
		    people, json_pack("{s:s, s:s}", "handle", a->authors[i], "name", name));
		json_decref(acct);
	}
	return people;
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

static const char *const audit_params[] = {"page", "per_page", NULL};

#define NONE        ROLE_NONE
#define CONTRIBUTOR ROLE_CONTRIBUTOR
#define EDITOR      ROLE_EDITOR
#define ADMIN       ROLE_ADMIN

static const struct route table[] = {
    /* methods, pattern, deep, handler, Allow, read, write, drafts, cache key, params, body,
     * Surrogate-Key (NULL: the handler names it, or the answer is never cached), from where */
    {GET_HEAD, "/", false, page_front, GH, NONE, NONE, false, KEY_PARAMS, page_only, BODY_JSON,
     SURROGATE_FRONT, ANYWHERE, false},
    {GET_HEAD, "/articles/*", false, page_article, GH, NONE, NONE, false, KEY_PARAMS, none,
     BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/tags/*", false, page_tag, GH, NONE, NONE, false, KEY_PARAMS, page_only, BODY_JSON,
     NULL, ANYWHERE, false},
    {GET_HEAD, "/authors/*", false, page_author, GH, NONE, NONE, false, KEY_PARAMS, page_only,
     BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/search", false, page_search, GH, NONE, NONE, false, KEY_PARAMS, search_params,
     BODY_JSON, SURROGATE_SEARCH, ANYWHERE, false},
    /* a draft's signed preview: checked on every request, never kept */
    {GET_HEAD, "/preview/*", false, page_preview, GH, NONE, NONE, false, KEY_NONE, none, BODY_JSON,
     NULL, ANYWHERE, false},
    {GET_HEAD, "/feed.xml", false, feed_atom, GH, NONE, NONE, false, KEY_PARAMS, none, BODY_JSON,
     SURROGATE_FEED, ANYWHERE, false},
    {GET_HEAD, "/sitemap.xml", false, feed_sitemap, GH, NONE, NONE, false, KEY_PARAMS, none,
     BODY_JSON, SURROGATE_SITEMAP, ANYWHERE, false},
    /* its 48-hour window moves with the clock, not with writes: never kept */
    {GET_HEAD, "/news-sitemap.xml", false, feed_news_sitemap, GH, NONE, NONE, false, KEY_NONE, none,
     BODY_JSON, SURROGATE_SITEMAP, ANYWHERE, false},
    {GET_HEAD, "/static/*", true, files_static, GH, NONE, NONE, false, KEY_FILE, none, BODY_JSON,
     SURROGATE_STATIC, ANYWHERE, false},
    {GET_HEAD, "/robots.txt", false, files_root, GH, NONE, NONE, false, KEY_FILE, none, BODY_JSON,
     SURROGATE_STATIC, ANYWHERE, false},
    {GET_HEAD, "/favicon.ico", false, files_root, GH, NONE, NONE, false, KEY_FILE, none, BODY_JSON,
     SURROGATE_STATIC, ANYWHERE, false},
    {GET_HEAD, "/healthz", false, api_healthz, GH, NONE, NONE, false, KEY_NONE, none, BODY_JSON,
     NULL, ANYWHERE, false},
    /* Prometheus's scrape (SPEC §16): only from metrics.allow, never kept */
    {GET_HEAD, "/metrics", false, api_metrics, GH, NONE, NONE, false, KEY_NONE, none, BODY_JSON,
     NULL, METRICS_ALLOW, false},
    /* articles: anyone reads what is public; a contributor writes drafts (auth_may_write
     * decides which), an editor everything */
    {GET_HEAD | HTTP_POST, "/api/articles", false, api_articles, "GET, HEAD, POST", NONE,
     CONTRIBUTOR, true, KEY_PARAMS, list_params, BODY_JSON, SURROGATE_FRONT, ANYWHERE, false},
    {GET_HEAD | HTTP_PUT | HTTP_DELETE, "/api/articles/*", false, api_article,
     "GET, HEAD, PUT, DELETE", NONE, CONTRIBUTOR, true, KEY_PARAMS, status_only, BODY_JSON, NULL,
     ANYWHERE, false},
    /* the history holds deleted and embargoed stories: an editor's */
    {GET_HEAD, "/api/articles/*/revisions", false, api_revisions, GH, EDITOR, NONE, false, KEY_NONE,
     none, BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/api/articles/*/revisions/*", false, api_revisions, GH, EDITOR, NONE, false,
     KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    {HTTP_POST, "/api/articles/*/revisions/*/restore", false, api_restore, "POST", NONE, EDITOR,
     false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    {HTTP_POST, "/api/articles/*/preview", false, api_preview, "POST", NONE, CONTRIBUTOR, false,
     KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    /* the wire's documents replace stories whatever their state: an editor's */
    {HTTP_POST, "/api/ninjs", false, api_ninjs, "POST", NONE, EDITOR, false, KEY_NONE, none,
     BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/api/ninjs/*", false, api_ninjs, GH, NONE, NONE, true, KEY_PARAMS, status_only,
     BODY_JSON, NULL, ANYWHERE, false},
    /* accounts and tokens (an admin's), and who the caller is (anyone with a token) */
    {GET_HEAD, "/api/me", false, api_me, GH, CONTRIBUTOR, NONE, false, KEY_NONE, none, BODY_JSON,
     NULL, ANYWHERE, false},
    {GET_HEAD | HTTP_POST, "/api/users", false, api_users, "GET, HEAD, POST", ADMIN, ADMIN, false,
     KEY_NONE, audit_params, BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD | HTTP_PATCH, "/api/users/*", false, api_user, "GET, HEAD, PATCH", ADMIN, ADMIN,
     false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    {HTTP_POST, "/api/users/*/tokens", false, api_user_tokens, "POST", NONE, ADMIN, false, KEY_NONE,
     none, BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/api/tokens", false, api_tokens, GH, ADMIN, NONE, false, KEY_NONE, none, BODY_JSON,
     NULL, ANYWHERE, false},
    {HTTP_DELETE, "/api/tokens/*", false, api_tokens, "DELETE", NONE, ADMIN, false, KEY_NONE, none,
     BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD, "/api/audit", false, api_audit, GH, ADMIN, NONE, false, KEY_NONE, audit_params,
     BODY_JSON, NULL, ANYWHERE, false},
    /* images (SPEC §12): a contributor uploads and describes them, an editor deletes */
    {GET_HEAD | HTTP_POST, "/api/media", false, api_media, "GET, HEAD, POST", CONTRIBUTOR,
     CONTRIBUTOR, false, KEY_NONE, audit_params, BODY_IMAGE, NULL, ANYWHERE, false},
    {GET_HEAD | HTTP_PATCH, "/api/media/*", false, api_media_item, "GET, HEAD, PATCH, DELETE",
     CONTRIBUTOR, CONTRIBUTOR, false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    {HTTP_DELETE, "/api/media/*", false, api_media_item, "GET, HEAD, PATCH, DELETE", NONE, EDITOR,
     false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    /* webhooks (SPEC §13): an admin's, with their delivery logs */
    {GET_HEAD | HTTP_POST, "/api/webhooks", false, api_webhooks, "GET, HEAD, POST", ADMIN, ADMIN,
     false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE, false},
    {GET_HEAD | HTTP_PATCH | HTTP_DELETE, "/api/webhooks/*", false, api_webhook,
     "GET, HEAD, PATCH, DELETE", ADMIN, ADMIN, false, KEY_NONE, none, BODY_JSON, NULL, ANYWHERE,
     false},
    {GET_HEAD, "/api/webhooks/*/deliveries", false, api_deliveries, GH, ADMIN, NONE, false,
     KEY_NONE, audit_params, BODY_JSON, NULL, ANYWHERE, false},
    /* the renditions, by content hash: they never change */
    {GET_HEAD, "/media/*", true, files_media, GH, NONE, NONE, false, KEY_NONE, none, BODY_JSON,
     SURROGATE_MEDIA, ANYWHERE, false},
    /* the editor's pages (SPEC §14): the same roles as the API's rows for the same acts */
    {GET_HEAD, "/admin", false, admin_home, GH, NONE, NONE, false, KEY_NONE, none, BODY_FORM, NULL,
     ANYWHERE, true},
    {GET_HEAD, "/admin/", false, admin_home, GH, CONTRIBUTOR, NONE, false, KEY_NONE, none,
     BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/setup", false, admin_setup, "GET, HEAD, POST", NONE, NONE, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/login", false, admin_login, "GET, HEAD, POST", NONE, NONE, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/logout", false, admin_logout, "POST", NONE, CONTRIBUTOR, false, KEY_NONE,
     none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/password", false, admin_password, "GET, HEAD, POST", CONTRIBUTOR,
     CONTRIBUTOR, false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD, "/admin/stories", false, admin_stories, GH, CONTRIBUTOR, NONE, false, KEY_NONE, none,
     BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/new", false, admin_editor, "GET, HEAD, POST", CONTRIBUTOR,
     CONTRIBUTOR, false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/stories/*", false, admin_editor, "GET, HEAD, POST", CONTRIBUTOR,
     CONTRIBUTOR, false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/stories/*/preview", false, admin_preview, "POST", NONE, CONTRIBUTOR, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD, "/admin/stories/*/revisions", false, admin_revisions, GH, EDITOR, NONE, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/stories/*/revisions/*/restore", false, admin_restore, "POST", NONE, EDITOR,
     false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/accounts", false, admin_accounts, "GET, HEAD, POST", ADMIN,
     ADMIN, false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/accounts/*", false, admin_account, "POST", NONE, ADMIN, false, KEY_NONE,
     none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/tokens", false, admin_tokens, "GET, HEAD, POST", ADMIN, ADMIN,
     false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/tokens/*/revoke", false, admin_token_revoke, "POST", NONE, ADMIN, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD | HTTP_POST, "/admin/webhooks", false, admin_webhooks, "GET, HEAD, POST", ADMIN,
     ADMIN, false, KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {HTTP_POST, "/admin/webhooks/*/delete", false, admin_webhook_delete, "POST", NONE, ADMIN, false,
     KEY_NONE, none, BODY_FORM, NULL, ANYWHERE, true},
    {GET_HEAD, "/admin/audit", false, admin_audit, GH, ADMIN, NONE, false, KEY_NONE, audit_params,
     BODY_FORM, NULL, ANYWHERE, true},
};

#define NROWS (sizeof(table) / sizeof(table[0]))

/* The metrics' routes: one per pattern (a pattern's rows for other methods share it). */
static const char *metric_names[NROWS];
static size_t metric_of_row[NROWS], nmetric_names;
static pthread_once_t metric_once = PTHREAD_ONCE_INIT;

static void number_patterns(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		size_t j = 0;
		while (j < nmetric_names && strcmp(metric_names[j], table[i].pattern) != 0)
			j++;
		if (j == nmetric_names)
			metric_names[nmetric_names++] = table[i].pattern;
		metric_of_row[i] = j;
	}
}

const char *const *routes_metric_names(size_t *n)
{
	pthread_once(&metric_once, number_patterns);
	*n = nmetric_names;
	return metric_names;
}

size_t routes_metric(const struct route *r)
{
	pthread_once(&metric_once, number_patterns);
	return r ? metric_of_row[r - table] : nmetric_names;
}

/* Whether path fits pattern, each '*' capturing one segment (one or more bytes without '/';
 * the last of a deep pattern the whole rest): the first two captures go to req. */
static bool fits(const struct route *r, const char *path, struct request *req)
{
	const char *p = r->pattern, *s = path;
	unsigned n = 0;
	req->arg = req->arg2 = NULL;
	while (*p) {
		if (*p != '*') {
			if (*p++ != *s++)
				return false;
			continue;
		}
		p++;
		size_t len = !*p && r->deep ? strlen(s) : strcspn(s, "/");
		if (len == 0)
			return false;
		if (!*p && r->deep) {
			req->arg = s; /* the rest of the path, which outlives the request */
			return true;
		}
		if (n == 2 || len >= ROUTE_ARG_MAX)
			return false;
		memcpy(req->captured[n], s, len);
		req->captured[n][len] = '\0';
		if (n == 0)
			req->arg = req->captured[0];
		else
			req->arg2 = req->captured[1];
		n++;
		s += len;
	}
	return *s == '\0';
}

/* The row for req's path with its captures set; NULL when no pattern matches. */
static const struct route *match(struct request *req)
{
	/* a path may have a row per method (their permissions differ): the one that takes the
	 * method, else the first, for its 405 */
	const struct route *first = NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!fits(&table[i], req->path, req))
			continue;
		if (table[i].methods & req->method)
			return &table[i];
		if (!first)
			first = &table[i];
	}
	if (first)
		fits(first, req->path, req);
	else
		req->arg = req->arg2 = NULL;
	return first;
}

const struct route *routes_find(const struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = match(req);
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

/* What a form may bring besides its image: its text, and the multipart framing around. */
#define FORM_SLACK (1u << 20)

size_t routes_body_limit(const struct app *app, const struct route *r)
{
	switch (r->body) {
	case BODY_IMAGE: return app->cfg->media_max_bytes;
	case BODY_FORM: return app->cfg->media_max_bytes + app->cfg->max_body_bytes + FORM_SLACK;
	case BODY_JSON: break;
	}
	return app->cfg->max_body_bytes;
}

const char *routes_body_limit_name(const struct route *r)
{
	if (r && r->body == BODY_FORM)
		return "media.max_bytes with server.max_body_bytes";
	return r && r->body == BODY_IMAGE ? "media.max_bytes" : "server.max_body_bytes";
}

bool routes_offloaded(const struct route *r, enum http_method method)
{
	return (r->body == BODY_IMAGE || r->body == BODY_FORM) && method == HTTP_POST;
}

bool routes_form(const struct route *r)
{
	return r && r->session;
}

/* The least role req needs on r. */
static enum role needed(const struct route *r, const struct request *req)
{
	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return r->write;
	const char *status = r->drafts ? req->query(req, "status") : NULL;
	if (status && strcmp(status, "all") == 0 && r->read < ROLE_CONTRIBUTOR)
		return ROLE_CONTRIBUTOR;
	return r->read;
}

/* Whether origin (an Origin header) is the scheme, host and port that url begins with. */
static bool origin_of(const char *origin, const char *url)
{
	size_t n = strlen(origin);
	return strncmp(url, origin, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

/* Whether an editor's POST comes from a page of this site: the browser's Sec-Fetch-Site and
 * Origin say so when they are there (a cross-site form post names its own site in them);
 * without them (an older browser, a script) the form's CSRF token decides alone. */
static bool same_site(const struct app *app, const struct request *req)
{
	const char *site = req->header(req, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return false;
	const char *origin = req->header(req, "Origin");
	if (!origin)
		return true;
	if (origin_of(origin, app->cfg->base_url))
		return true;
	/* the address it was asked at: a site reached by another name than base_url's */
	const char *host = req->header(req, "Host");
	if (!host || strncmp(origin, "http", 4) != 0)
		return false;
	const char *rest = origin + 4 + (origin[4] == 's');
	return strncmp(rest, "://", 3) == 0 && strcmp(rest + 3, host) == 0;
}

void answer_admin_error(const struct app *app, struct response *resp, unsigned status,
                        const char *message)
{
	resp->status = status;
	resp->content_type = HTML_TYPE;
	resp->cacheable = false;
	resp->private_answer = true;
	resp->admin = true;
	buf_reset(&resp->body);
	struct buf err = BUF_INIT;
	json_t *ctx = json_pack("{s:{s:s}, s:i, s:s}", "page", "title", message, "status",
	                        (int)status, "message", message);
	if (render_admin(app->render, "error", ctx, &resp->body, &err) < 0)
		answer_page_error(app, resp, status, message); /* no admin templates */
	buf_cleanup(&err);
	resp->private_answer = true;
	resp->admin = true;
}

/* The editor's pages (SPEC §14): the session cookie is the credential; without a live one, the
 * login page, which sends the reader back here once signed in. */
static bool permit_session(struct app *app, struct request *req, struct response *resp,
                           enum role need)
{
	bool write = req->method != HTTP_GET && req->method != HTTP_HEAD;
	if (write && !same_site(app, req)) {
		answer_admin_error(app, resp, 403,
		                   "This form was sent from another site; nothing was changed.");
		return false;
	}
	const char *cookies = req->header(req, "Cookie");
	char cookie[256] = "";
	enum auth_result res = AUTH_MISSING;
	if (cookies && http_cookie(cookies, AUTH_SESSION_COOKIE, cookie, sizeof(cookie)))
		res = auth_session(app->auth, cookie, handler_now(), &req->who);
	else if (cookies && strstr(cookies, AUTH_SESSION_COOKIE "="))
		res = AUTH_WRONG; /* one too long to be any */
	size_t clen = res == AUTH_OK ? strlen(cookie) : 0;
	if (res == AUTH_OK && clen < sizeof(req->csrf_cookie))
		memcpy(req->csrf_cookie, cookie, clen + 1);
	else if (!cookies || !http_cookie(cookies, AUTH_FORM_COOKIE, req->csrf_cookie,
	                                  sizeof(req->csrf_cookie)))
		req->csrf_cookie[0] = '\0';
	if (res == AUTH_UNAVAILABLE) {
		answer_admin_error(app, resp, 503,
		                   "The database is temporarily unavailable; try again later.");
		resp->retry_after = 5;
		return false;
	}
	if (need == ROLE_NONE)
		return true;
	if (res != AUTH_OK) {
		/* ended, expired or never there: sign in again, then back to the page */
		answer_admin_error(app, resp, 303, "Please sign in.");
		struct buf to = BUF_INIT;
		buf_puts(&to, "/admin/login");
		if (!write && strcmp(req->path, "/admin/") != 0) {
			buf_puts(&to, "?next=");
			for (const unsigned char *p = (const unsigned char *)req->path; *p; p++) {
				if (strchr("abcdefghijklmnopqrstuvwxyz0123456789/-_.", *p))
					buf_putc(&to, (char)*p);
				else
					buf_printf(&to, "%%%02X", *p);
			}
		}
		resp->location = buf_steal(&to, NULL);
		if (res == AUTH_WRONG)
			resp->cookie = auth_cookie(AUTH_SESSION_COOKIE, "", 0, app->cfg->base_url);
		return false;
	}
	if (req->who.role < need) {
		char msg[160];
		snprintf(msg, sizeof(msg), "This page needs the %s role; %s is a%s %s.",
		         auth_role_name(need), req->who.account,
		         req->who.role == ROLE_EDITOR ? "n" : "", auth_role_name(req->who.role));
		answer_admin_error(app, resp, 403, msg);
		return false;
	}
	return true;
}

bool routes_permit(struct app *app, const struct route *r, struct request *req,
                   struct response *resp)
{
	memset(&req->who, 0, sizeof(req->who));
	if (r->from == METRICS_ALLOW && !app->metrics) {
		answer_not_found(app, req, resp); /* no metrics.allow: none are kept */
		return false;
	}
	if (r->from == METRICS_ALLOW &&
	    !address_in_ranges(req->client, app->cfg->metrics_allow, app->cfg->nmetrics_allow)) {
		answer_json_error(resp, 403, "not from this address (metrics.allow)");
		return false;
	}
	enum role need = needed(r, req);
	if (r->session)
		return permit_session(app, req, resp, need);
	if (need == ROLE_NONE)
		return true;
	unsigned retry = 0;
	switch (auth_check(app->auth, req->header(req, "Authorization"), req->client, handler_now(),
	                   changes_generation(app->changes), &req->who, &retry)) {
	case AUTH_OK:
		if (req->who.role >= need)
			return true;
		answer_json_errorf(resp, 403, "this needs the %s role; '%s' is a%s %s",
		                   auth_role_name(need), req->who.account,
		                   req->who.role == ROLE_EDITOR || req->who.role == ROLE_ADMIN ? "n"
		                                                                               : "",
		                   auth_role_name(req->who.role));
		return false;
	case AUTH_DISABLED:
		answer_json_error(resp, 403,
		                  "writes are disabled: no account has a token and no auth.token "
		                  "is configured");
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
	case AUTH_UNAVAILABLE:
		answer_json_error(resp, 503,
		                  "the database is temporarily unavailable; try again later");
		resp->retry_after = 5;
		return false;
	}
	return false;
}

static int actor_may_write(const struct store_actor *actor, const struct article *old,
                           struct article *new_, char *why, size_t why_len)
{
	return auth_may_write(actor->role, old, new_, why, why_len);
}

void routes_actor(const struct request *req, struct store_actor *actor, char id_buf[33])
{
	memset(actor, 0, sizeof(*actor));
	actor->account = req->who.account;
	actor->is_account = req->who.is_account;
	actor->token_id = req->who.token_id;
	actor->client = req->client;
	actor->may_write = actor_may_write;
	actor->role = (void *)&req->who;
	/* a proxy's request id (nginx's $request_id) ties the entry to its log line */
	const char *given = req->header(req, "X-Request-Id");
	size_t n = given ? strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "0123456789-_.")
	                 : 0;
	if (given && n == strlen(given) && n >= 1 && n <= 32) {
		memcpy(id_buf, given, n + 1);
	} else if (secret_random_hex(16, id_buf) < 0) {
		id_buf[0] = '\0';
	}
	actor->request_id = id_buf;
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
	if (r->key == KEY_NONE || req->who.role != ROLE_NONE)
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
	if (r->session && req->method == HTTP_POST) {
		/* every form carries the token of the cookie it was drawn for (SPEC §14) */
		const struct form *f = req->form;
		if (f && f->malformed) {
			answer_admin_error(app, resp, 400, "The form could not be read.");
			return;
		}
		if (f && f->text_over) {
			answer_admin_error(app, resp, 413, "The form's text is too large.");
			return;
		}
		if (!auth_csrf_valid(req->csrf_cookie, form_get(f, "csrf"))) {
			answer_admin_error(
			    app, resp, 403,
			    "This form's security token is missing or is not this "
			    "session's; nothing was changed. Reload the page and try again.");
			return;
		}
	}
	r->handler(app, req, req->arg, resp);
	if (r->session) {
		/* one reader's pages: never kept by anyone, never indexed */
		resp->cacheable = false;
		resp->private_answer = true;
		resp->admin = true;
	}
	if (resp->cacheable && !resp->surrogate && r->surrogate)
		resp->surrogate = xstrdup(r->surrogate);
}

void routes_handle(struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = routes_find(app, req, resp);
	if (r && routes_permit(app, r, req, resp))
		routes_run(app, r, req, resp);
}
