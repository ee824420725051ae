/* routes.c - the route table and the handlers behind it: pages, the JSON API, feeds, files. */
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

#include "article.h"
#include "auth.h"
#include "config.h"
#include "escape.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
#include "static.h"
#include "store.h"

#define JSON_TYPE        "application/json; charset=utf-8"
#define HTML_TYPE        "text/html; charset=utf-8"
#define FEED_SIZE        20
#define SITEMAP_MAX      50000
#define NEWS_MAX         1000
#define NEWS_WINDOW_S    (48 * 3600)
#define STATIC_MAX_BYTES (16u << 20)

typedef void (*handler_fn)(struct app *app, const struct request *req, const char *arg,
                           struct response *resp);

struct route {
	unsigned methods;
	const char *pattern; /* an exact path, or a prefix ending in '*' that captures the rest */
	handler_fn handler;
	const char *allow;
};

void response_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	buf_init(&resp->body);
}

void response_cleanup(struct response *resp)
{
	buf_cleanup(&resp->body);
	free(resp->location);
	resp->location = NULL;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static bool is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	       strcmp(path, "/healthz") == 0;
}

/* --- errors --- */

static void json_error(struct response *resp, unsigned status, const char *message)
{
	resp->status = status;
	resp->content_type = JSON_TYPE;
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

static void json_errorf(struct response *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void json_errorf(struct response *resp, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_error(resp, status, msg);
}

static void html_error(struct app *app, struct response *resp, unsigned status, const char *message)
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

static void not_found(struct app *app, const struct request *req, struct response *resp)
{
	if (is_api(req->path))
		json_error(resp, 404, "not found");
	else
		html_error(app, resp, 404, "Page not found");
}

static void server_error(struct app *app, const struct request *req, struct response *resp, int rc)
{
	bool unavailable = rc == -EROFS || rc == -ENOSPC || rc == -EBUSY;
	unsigned status = unavailable ? 503 : 500;
	const char *msg = unavailable ? "the database is temporarily unavailable; try again later"
	                              : "internal error";
	if (unavailable)
		resp->retry_after = 5;
	if (is_api(req->path))
		json_error(resp, status, msg);
	else
		html_error(app, resp, status, msg);
}

/* A page rendered into resp, or a logged 500. */
static void page_done(struct app *app, const struct request *req, struct response *resp, int rc,
                      struct buf *err)
{
	if (rc < 0) {
		log_error("render %s: %s", req->path, buf_str(err));
		server_error(app, req, resp, -EIO);
	}
	buf_cleanup(err);
}

/* --- parameters --- */

/* A positive page number; missing is 1; anything else returns 0. */
static unsigned page_param(const struct request *req)
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

static bool valid_utf8(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

static unsigned pages_of(unsigned total, unsigned per_page)
{
	return total == 0 ? 1 : (total + per_page - 1) / per_page;
}

static int64_t newest_update(const struct article_list *l, int64_t floor)
{
	int64_t t = floor;
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].updated_ts > t)
			t = l->items[i].updated_ts;
	return t;
}

/* --- HTML pages --- */

static void placeholder(struct app *app, const struct request *req, struct response *resp,
                        unsigned status)
{
	struct buf err = BUF_INIT;
	resp->status = status;
	resp->content_type = HTML_TYPE;
	resp->cacheable = status == 200;
	resp->last_modified = app->started;
	page_done(app, req, resp, render_placeholder(app->render, &resp->body, &err), &err);
}

/* The front page, tag pages and search: one listing with pagination. */
static void listing(struct app *app, const struct request *req, struct response *resp,
                    const char *tag, const char *q)
{
	unsigned page = page_param(req);
	if (page == 0) {
		html_error(app, resp, 404, "No such page");
		return;
	}
	struct store_query sq = {
	    .page = page,
	    .per_page = app->cfg->per_page,
	    .tag = tag,
	    .q = q,
	    .public_only = true,
	    .now = now_s(),
	};
	struct article_list list;
	int rc = store_list(app->store, &sq, &list);
	if (rc < 0) {
		server_error(app, req, resp, rc);
		return;
	}
	unsigned pages = pages_of(list.total, sq.per_page);
	struct render_listing l = {.list = &list, .page = page, .pages = pages, .tag = tag, .q = q};
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = now_s();
	if (q) {
		if (page > pages) {
			html_error(app, resp, 404, "No such page");
		} else {
			rc = render_search(app->render, &l, &resp->body, &err);
			page_done(app, req, resp, rc, &err);
		}
	} else if (tag) {
		if (list.total == 0)
			html_error(app, resp, 404, "No stories with this tag");
		else if (page > pages)
			html_error(app, resp, 404, "No such page");
		else
			page_done(app, req, resp, render_tag(app->render, &l, &resp->body, &err),
			          &err);
	} else if (list.total == 0 && page == 1) {
		placeholder(app, req, resp, 200);
	} else if (page > pages) {
		html_error(app, resp, 404, "No such page");
	} else {
		page_done(app, req, resp, render_index(app->render, &l, &resp->body, &err), &err);
	}
	buf_cleanup(&err);
	article_list_cleanup(&list);
}

static void handle_front(struct app *app, const struct request *req, const char *arg,
                         struct response *resp)
{
	(void)arg;
	listing(app, req, resp, NULL, NULL);
}

static void handle_tag(struct app *app, const struct request *req, const char *tag,
                       struct response *resp)
{
	if (!article_slug_valid(tag) || strlen(tag) > ARTICLE_TAG_MAX) {
		html_error(app, resp, 404, "No stories with this tag");
		return;
	}
	listing(app, req, resp, tag, NULL);
}

static void handle_search(struct app *app, const struct request *req, const char *arg,
                          struct response *resp)
{
	(void)arg;
	const char *q = req->query(req, "q");
	if (!q)
		q = "";
	if (!valid_utf8(q)) {
		html_error(app, resp, 400, "The search words are not valid UTF-8");
		return;
	}
	listing(app, req, resp, NULL, q);
}

static void handle_article_page(struct app *app, const struct request *req, const char *slug,
                                struct response *resp)
{
	if (!article_slug_valid(slug)) {
		html_error(app, resp, 404, "Page not found");
		return;
	}
	int64_t now = now_s();
	struct article a;
	article_init(&a);
	int rc = store_get(app->store, slug, true, now, &a);
	if (rc == -ENOENT) {
		/* a scheduled story exists but is not out yet: say so, with 404 */
		rc = store_get(app->store, slug, false, now, &a);
		if (rc == 0 && strcmp(a.status, "published") == 0)
			placeholder(app, req, resp, 404);
		else if (rc == 0 || rc == -ENOENT)
			html_error(app, resp, 404, "Page not found");
		else
			server_error(app, req, resp, rc);
		article_cleanup(&a);
		return;
	}
	if (rc < 0) {
		server_error(app, req, resp, rc);
		return;
	}
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = a.updated_ts > app->started ? a.updated_ts : app->started;
	page_done(app, req, resp, render_article(app->render, &a, &resp->body, &err), &err);
	article_cleanup(&a);
}

/* --- feeds --- */

/* The host of base_url, for tag: URIs (RFC 4151). */
static void base_host(const char *base_url, struct buf *out)
{
	const char *p = strstr(base_url, "://");
	p = p ? p + 3 : base_url;
	size_t n = strcspn(p, ":/");
	buf_append(out, p, n);
}

/* The newest public articles for the feeds and sitemaps; false with resp filled on error. */
static bool public_list(struct app *app, const struct request *req, struct response *resp,
                        unsigned count, bool with_body, int64_t now, struct article_list *list)
{
	struct store_query sq = {
	    .page = 1, .per_page = count, .public_only = true, .now = now, .with_body = with_body};
	int rc = store_list(app->store, &sq, list);
	if (rc < 0)
		server_error(app, req, resp, rc);
	return rc == 0;
}

static void handle_feed(struct app *app, const struct request *req, const char *arg,
                        struct response *resp)
{
	(void)arg;
	struct article_list list;
	if (!public_list(app, req, resp, FEED_SIZE, true, now_s(), &list))
		return;
	struct buf host = BUF_INIT;
	base_host(app->cfg->base_url, &host);
	int64_t updated = newest_update(&list, 0);
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, updated ? updated : app->started);
	json_t *entries = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		json_t *e = article_to_json(a, app->cfg->base_url, true);
		/* tag:host,date-of-creation:article-id stays the same when the slug changes */
		char *id = xasprintf("tag:%s,%.10s:article-%lld", buf_str(&host), a->created_at,
		                     (long long)a->id);
		json_object_set_new(e, "tag_uri", json_string(id));
		free(id);
		json_array_append_new(entries, e);
	}
	char *feed_id = xasprintf("%s/", app->cfg->base_url);
	json_t *ctx = json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:o}", "site", "title",
	                        app->cfg->site_title, "description", app->cfg->site_description,
	                        "language", app->cfg->site_language, "base_url", app->cfg->base_url,
	                        "feed", "id", feed_id, "updated", buf_str(&b), "articles", entries);
	free(feed_id);
	buf_cleanup(&b);
	buf_cleanup(&host);
	struct buf err = BUF_INIT;
	int rc = render_feed(app->render, ctx, &resp->body, &err);
	resp->content_type = "application/atom+xml; charset=utf-8";
	resp->cacheable = true;
	resp->last_modified = updated > app->started ? updated : app->started;
	page_done(app, req, resp, rc, &err);
	article_list_cleanup(&list);
}

static void sitemap_url(struct buf *out, const char *base, const char *path, const char *lastmod)
{
	buf_puts(out, "<url><loc>");
	escape_xml(out, base, strlen(base));
	escape_xml(out, path, strlen(path));
	buf_puts(out, "</loc>");
	if (lastmod) {
		buf_puts(out, "<lastmod>");
		escape_xml(out, lastmod, strlen(lastmod));
		buf_puts(out, "</lastmod>");
	}
	buf_puts(out, "</url>\n");
}

static void handle_sitemap(struct app *app, const struct request *req, const char *arg,
                           struct response *resp)
{
	(void)arg;
	struct article_list list;
	if (!public_list(app, req, resp, SITEMAP_MAX, false, now_s(), &list))
		return;
	struct buf *out = &resp->body;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
	int64_t newest = newest_update(&list, 0);
	struct buf lm = BUF_INIT;
	if (newest)
		rfc3339_format_utc(&lm, newest);
	sitemap_url(out, app->cfg->base_url, "/", newest ? buf_str(&lm) : NULL);
	buf_cleanup(&lm);
	for (size_t i = 0; i < list.n; i++) {
		char *path = xasprintf("/articles/%s", list.items[i].slug);
		sitemap_url(out, app->cfg->base_url, path, list.items[i].updated_at);
		free(path);
	}
	buf_puts(out, "</urlset>\n");
	resp->content_type = "application/xml; charset=utf-8";
	resp->cacheable = true;
	resp->last_modified = newest > app->started ? newest : app->started;
	article_list_cleanup(&list);
}

static void handle_news_sitemap(struct app *app, const struct request *req, const char *arg,
                                struct response *resp)
{
	(void)arg;
	int64_t now = now_s();
	struct article_list list;
	if (!public_list(app, req, resp, NEWS_MAX, false, now, &list))
		return;
	struct buf *out = &resp->body;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
	              "xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n");
	const char *site = app->cfg->site_title;
	struct buf lang = BUF_INIT;
	for (const char *p = app->cfg->site_language; *p; p++)
		buf_putc(&lang, (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p));
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		if (a->published_ts < now - NEWS_WINDOW_S)
			break; /* newest first: the rest are older still */
		buf_puts(out, "<url><loc>");
		escape_xml(out, app->cfg->base_url, strlen(app->cfg->base_url));
		buf_puts(out, "/articles/");
		escape_xml(out, a->slug, strlen(a->slug));
		buf_puts(out, "</loc><news:news><news:publication><news:name>");
		escape_xml(out, site, strlen(site));
		buf_puts(out, "</news:name><news:language>");
		escape_xml(out, lang.data, lang.len);
		buf_puts(out, "</news:language></news:publication><news:publication_date>");
		escape_xml(out, a->published_at, strlen(a->published_at));
		buf_puts(out, "</news:publication_date><news:title>");
		escape_xml(out, a->title, strlen(a->title));
		buf_puts(out, "</news:title></news:news></url>\n");
	}
	buf_puts(out, "</urlset>\n");
	buf_cleanup(&lang);
	resp->content_type = "application/xml; charset=utf-8";
	resp->cacheable = true;
	resp->last_modified = now;
	article_list_cleanup(&list);
}

/* --- static files --- */

static void serve_file(struct app *app, const struct request *req, const char *rel,
                       struct response *resp)
{
	struct stat st;
	int fd = static_open(app->cfg->static_dir, rel, &st);
	if (fd < 0 || (size_t)st.st_size > STATIC_MAX_BYTES) {
		if (fd >= 0)
			close(fd);
		not_found(app, req, resp);
		return;
	}
	buf_reserve(&resp->body, (size_t)st.st_size);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, resp->body.data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	resp->body.len = got;
	resp->body.data[got] = '\0';
	resp->content_type = static_content_type(rel);
	resp->cacheable = true;
	resp->last_modified = st.st_mtime;
}

static void handle_static(struct app *app, const struct request *req, const char *rel,
                          struct response *resp)
{
	serve_file(app, req, rel, resp);
}

static void handle_root_file(struct app *app, const struct request *req, const char *arg,
                             struct response *resp)
{
	(void)arg;
	serve_file(app, req, req->path + 1, resp);
}

/* --- JSON API --- */

static void json_body(struct response *resp, unsigned status, json_t *value)
{
	resp->status = status;
	resp->content_type = JSON_TYPE;
	char *text = json_dumps(value, JSON_COMPACT);
	buf_puts(&resp->body, text);
	free(text);
	json_decref(value);
}

static void handle_healthz(struct app *app, const struct request *req, const char *arg,
                           struct response *resp)
{
	(void)arg;
	int64_t n = store_count(app->store, false, now_s());
	if (n < 0) {
		server_error(app, req, resp, (int)n);
		return;
	}
	json_body(resp, 200, json_pack("{s:s, s:I}", "status", "ok", "articles", (json_int_t)n));
}

/* Checks the bearer token; on failure fills resp and returns false. */
static bool authorized(struct app *app, const struct request *req, struct response *resp)
{
	unsigned retry = 0;
	switch (auth_check(app->auth, req->header(req, "Authorization"), req->client, now_s(),
	                   &retry)) {
	case AUTH_OK: return true;
	case AUTH_DISABLED:
		json_error(resp, 403, "writes are disabled: no auth.token is configured");
		return false;
	case AUTH_MISSING:
		json_error(resp, 401, "an Authorization: Bearer token is required");
		resp->www_authenticate = true;
		return false;
	case AUTH_WRONG:
		json_error(resp, 401, "the bearer token is not valid");
		resp->www_authenticate = true;
		return false;
	case AUTH_LIMITED:
		json_error(resp, 429, "too many attempts with a wrong token; wait and retry");
		resp->retry_after = retry;
		return false;
	}
	return false;
}

/* ?status=all asks for drafts and scheduled articles too, and needs the token. Returns
 * 1 for all, 0 for public only, -1 with resp filled on error. */
static int status_param(struct app *app, const struct request *req, struct response *resp)
{
	const char *status = req->query(req, "status");
	if (!status || strcmp(status, "published") == 0)
		return 0;
	if (strcmp(status, "all") != 0) {
		json_error(resp, 400, "status: must be \"published\" or \"all\"");
		return -1;
	}
	return authorized(app, req, resp) ? 1 : -1;
}

static void api_list(struct app *app, const struct request *req, struct response *resp)
{
	int all = status_param(app, req, resp);
	if (all < 0)
		return;
	unsigned page = page_param(req);
	if (page == 0) {
		json_error(resp, 400, "page: must be a whole number from 1");
		return;
	}
	unsigned per_page = app->cfg->per_page;
	const char *pp = req->query(req, "per_page");
	if (pp) {
		char *end;
		unsigned long v = strtoul(pp, &end, 10);
		if (*pp < '0' || *pp > '9' || *end || v < 1 || v > 100) {
			json_error(resp, 400, "per_page: must be a whole number from 1 to 100");
			return;
		}
		per_page = (unsigned)v;
	}
	const char *tag = req->query(req, "tag");
	const char *q = req->query(req, "q");
	if ((tag && !valid_utf8(tag)) || (q && !valid_utf8(q))) {
		json_error(resp, 400, "tag and q must be valid UTF-8");
		return;
	}
	struct buf norm = BUF_INIT;
	if (tag && !*tag)
		tag = NULL; /* "?tag=" filters nothing, as "?q=" searches nothing */
	if (tag) {
		article_slugify(&norm, tag, ARTICLE_TAG_MAX);
		tag = buf_str(&norm);
	}
	struct store_query sq = {.page = page,
	                         .per_page = per_page,
	                         .tag = tag,
	                         .q = q && *q ? q : NULL,
	                         .public_only = !all,
	                         .now = now_s()};
	struct article_list list;
	int rc = store_list(app->store, &sq, &list);
	buf_cleanup(&norm);
	if (rc < 0) {
		server_error(app, req, resp, rc);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < list.n; i++)
		json_array_append_new(items,
		                      article_to_json(&list.items[i], app->cfg->base_url, false));
	json_body(resp, 200,
	          json_pack("{s:o, s:i, s:i, s:i, s:i}", "articles", items, "page", (int)page,
	                    "per_page", (int)per_page, "total", (int)list.total, "pages",
	                    (int)pages_of(list.total, per_page)));
	resp->cacheable = !all;
	resp->last_modified = now_s();
	article_list_cleanup(&list);
}

/* Reads and validates a write's body into a; on failure fills resp and returns -1. */
static int read_article(struct app *app, const struct request *req, struct response *resp,
                        struct article *a)
{
	(void)app;
	const char *ct = req->header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		json_error(resp, 415, "Content-Type must be application/json");
		return -1;
	}
	json_error_t jerr;
	json_t *in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!in) {
		json_errorf(resp, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
		            jerr.column, jerr.text);
		return -1;
	}
	struct article_error aerr;
	int rc = article_from_json(in, ARTICLE_API, now_s(), a, &aerr);
	json_decref(in);
	if (rc < 0) {
		if (*aerr.field)
			json_errorf(resp, 422, "%s: %s", aerr.field, aerr.message);
		else
			json_error(resp, 422, aerr.message);
		return -1;
	}
	return 0;
}

static void write_failed(struct response *resp, int rc, const char *slug)
{
	if (rc == -ENOENT) {
		json_error(resp, 404, "not found");
	} else if (rc == -EEXIST) {
		json_errorf(resp, 409, "slug: '%s' is taken by another article", slug);
	} else {
		/* read-only, full or failing storage: nothing was written; the client may retry */
		json_error(resp, 503,
		           "the article could not be stored right now; nothing was "
		           "changed, try again later");
		resp->retry_after = 5;
	}
}

static void answer_article(struct app *app, struct response *resp, unsigned status,
                           const struct article *a)
{
	json_body(resp, status, article_to_json(a, app->cfg->base_url, true));
}

static void api_create(struct app *app, const struct request *req, struct response *resp)
{
	if (!authorized(app, req, resp))
		return;
	struct article a;
	article_init(&a);
	if (read_article(app, req, resp, &a) == 0) {
		int rc = store_create(app->store, &a, now_s());
		if (rc < 0) {
			write_failed(resp, rc, a.slug);
		} else {
			answer_article(app, resp, 201, &a);
			resp->location = xasprintf("/api/articles/%s", a.slug);
		}
	}
	article_cleanup(&a);
}

static void handle_api_articles(struct app *app, const struct request *req, const char *arg,
                                struct response *resp)
{
	(void)arg;
	if (req->method == HTTP_POST)
		api_create(app, req, resp);
	else
		api_list(app, req, resp);
}

static void handle_api_article(struct app *app, const struct request *req, const char *slug,
                               struct response *resp)
{
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		int all = status_param(app, req, resp);
		if (all < 0)
			return;
		struct article a;
		article_init(&a);
		int rc = article_slug_valid(slug) ? store_get(app->store, slug, !all, now_s(), &a)
		                                  : -ENOENT;
		if (rc == 0) {
			answer_article(app, resp, 200, &a);
			resp->cacheable = !all;
			resp->last_modified = a.updated_ts;
		} else if (rc == -ENOENT) {
			json_error(resp, 404, "not found");
		} else {
			server_error(app, req, resp, rc);
		}
		article_cleanup(&a);
		return;
	}
	if (!authorized(app, req, resp))
		return;
	if (!article_slug_valid(slug)) {
		json_error(resp, 404, "not found");
		return;
	}
	if (req->method == HTTP_DELETE) {
		int rc = store_delete(app->store, slug);
		if (rc < 0) {
			write_failed(resp, rc, slug);
		} else {
			resp->status = 204;
			resp->content_type = NULL;
		}
		return;
	}
	struct article a;
	article_init(&a);
	if (read_article(app, req, resp, &a) == 0) {
		int rc = store_replace(app->store, slug, &a, now_s());
		if (rc < 0)
			write_failed(resp, rc, a.slug);
		else
			answer_article(app, resp, 200, &a);
	}
	article_cleanup(&a);
}

#define GET_HEAD (HTTP_GET | HTTP_HEAD)

static const struct route table[] = {
    {GET_HEAD, "/", handle_front, "GET, HEAD"},
    {GET_HEAD, "/articles/*", handle_article_page, "GET, HEAD"},
    {GET_HEAD, "/tags/*", handle_tag, "GET, HEAD"},
    {GET_HEAD, "/search", handle_search, "GET, HEAD"},
    {GET_HEAD, "/feed.xml", handle_feed, "GET, HEAD"},
    {GET_HEAD, "/sitemap.xml", handle_sitemap, "GET, HEAD"},
    {GET_HEAD, "/news-sitemap.xml", handle_news_sitemap, "GET, HEAD"},
    {GET_HEAD, "/static/*", handle_static, "GET, HEAD"},
    {GET_HEAD, "/robots.txt", handle_root_file, "GET, HEAD"},
    {GET_HEAD, "/favicon.ico", handle_root_file, "GET, HEAD"},
    {GET_HEAD, "/healthz", handle_healthz, "GET, HEAD"},
    {GET_HEAD | HTTP_POST, "/api/articles", handle_api_articles, "GET, HEAD, POST"},
    {GET_HEAD | HTTP_PUT | HTTP_DELETE, "/api/articles/*", handle_api_article,
     "GET, HEAD, PUT, DELETE"},
};

/* The route for path; *known tells whether any route has this path (for 405 vs 404). */
static const struct route *match(const char *path, const char **arg, bool *known)
{
	*known = false;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct route *r = &table[i];
		size_t n = strlen(r->pattern);
		if (r->pattern[n - 1] == '*') {
			/* a capture is one or more bytes; only /static/ captures several segments
			 */
			if (strncmp(path, r->pattern, n - 1) != 0 || !path[n - 1])
				continue;
			if (r->handler != handle_static && strchr(path + n - 1, '/'))
				continue;
			*arg = path + n - 1;
		} else {
			if (strcmp(path, r->pattern) != 0)
				continue;
			*arg = NULL;
		}
		*known = true;
		return r;
	}
	return NULL;
}

void routes_handle(struct app *app, const struct request *req, struct response *resp)
{
	const char *arg = NULL;
	bool known;
	const struct route *r = match(req->path, &arg, &known);
	if (!r) {
		not_found(app, req, resp);
		return;
	}
	if (!(r->methods & req->method)) {
		resp->allow = r->allow;
		if (is_api(req->path))
			json_error(resp, 405, "method not allowed");
		else
			html_error(app, resp, 405, "Method not allowed");
		resp->status = 405;
		return;
	}
	r->handler(app, req, arg, resp);
}

#define ABSENT "\x1e" /* in a cache key: the parameter was not given (not even empty) */

/* Joins parts with \x1f into key; a NULL part ends the list. False when it does not fit.
 * On the cached path, so no printf. */
static bool join_key(char *key, size_t size, const char *const *parts)
{
	size_t n = 0;
	for (size_t i = 0; parts[i]; i++) {
		size_t len = strlen(parts[i]);
		if (n + len + 2 > size)
			return false;
		if (i)
			key[n++] = '\x1f';
		memcpy(key + n, parts[i], len);
		n += len;
	}
	key[n] = '\0';
	return true;
}

bool routes_cache_key(struct app *app, const struct request *req, char *key, size_t size)
{
	if (req->header(req, "Authorization"))
		return false; /* answers to a token holder are never shared */
	const char *arg;
	bool known;
	const struct route *r = match(req->path, &arg, &known);
	if (!r || !(r->methods & req->method))
		return false;
	/* "?page=" and no page are different requests (400 or 404 against a page), so an
	 * absent parameter has a key of its own */
	const char *page = req->query(req, "page");
	if (!page)
		page = ABSENT;
	if (r->handler == handle_front || r->handler == handle_tag)
		return join_key(key, size, (const char *[]){req->path, page, NULL});
	if (r->handler == handle_article_page || r->handler == handle_feed ||
	    r->handler == handle_sitemap)
		return join_key(key, size, (const char *[]){req->path, NULL});
	if (r->handler == handle_api_articles || r->handler == handle_api_article) {
		if (req->query(req, "status"))
			return false;
		const char *pp = req->query(req, "per_page"), *tag = req->query(req, "tag");
		const char *q = req->query(req, "q");
		return join_key(key, size,
		                (const char *[]){req->path, page, pp ? pp : ABSENT,
		                                 tag ? tag : ABSENT, q ? q : ABSENT, NULL});
	}
	if (r->handler == handle_static || r->handler == handle_root_file) {
		/* the file's identity is part of the key, so an edited file is served fresh */
		struct stat st;
		const char *rel = r->handler == handle_static ? arg : req->path + 1;
		int fd = static_open(app->cfg->static_dir, rel, &st);
		if (fd < 0)
			return false;
		close(fd);
		int n = snprintf(key, size, "%s\x1f%lld.%ld\x1f%lld", req->path,
		                 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		                 (long long)st.st_size);
		return n > 0 && (size_t)n < size;
	}
	return false;
}

uint64_t routes_generation(struct app *app)
{
	return store_generation(app->store) + render_version(app->render);
}
