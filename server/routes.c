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

#include "app.h"
#include "article.h"
#include "changes.h"
#include "auth.h"
#include "config.h"
#include "escape.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
#include "static.h"
#include "store.h"

#define JSON_TYPE     "application/json; charset=utf-8"
#define HTML_TYPE     "text/html; charset=utf-8"
#define XML_TYPE      "application/xml; charset=utf-8"
#define FEED_SIZE     20
#define SITEMAP_MAX   50000
#define NEWS_MAX      1000
#define NEWS_WINDOW_S (48 * 3600)

typedef void (*handler_fn)(struct app *app, const struct request *req, const char *arg,
                           struct response *resp);

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

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static bool is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	       strcmp(path, "/healthz") == 0;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* --- errors --- */

static void json_error(struct response *resp, unsigned status, const char *message)
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

static void html_error(const struct app *app, struct response *resp, unsigned status,
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
static void error(const struct app *app, const struct request *req, struct response *resp,
                  unsigned status, const char *message)
{
	if (is_api(req->path))
		json_error(resp, status, message);
	else
		html_error(app, resp, status, message);
}

static void not_found(const struct app *app, const struct request *req, struct response *resp)
{
	error(app, req, resp, 404, is_api(req->path) ? "not found" : "Page not found");
}

/* What a negative store result means to a client. Every read and write ends here, so one
 * errno has one status everywhere. */
static void store_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc)
{
	switch (rc) {
	case -ENOENT: not_found(app, req, resp); return;
	case -ETIMEDOUT:
	case -EAGAIN:
		/* a read over its time budget, or too many expensive reads at once */
		error(app, req, resp, 503, "the server is busy; try again in a moment");
		resp->retry_after = 2;
		return;
	case -EROFS:
	case -ENOSPC:
	case -EBUSY:
	case -EIO:
		/* read-only, full or failing storage: nothing was written; the client may retry */
		error(app, req, resp, 503,
		      req->method == HTTP_GET || req->method == HTTP_HEAD
		          ? "the database is temporarily unavailable; try again later"
		          : "the article could not be stored right now; nothing was changed, try "
		            "again later");
		resp->retry_after = 5;
		return;
	default: error(app, req, resp, 500, "internal error"); return;
	}
}

/* A page rendered into resp, or a logged 500. */
static void page_done(const struct app *app, const struct request *req, struct response *resp,
                      int rc, struct buf *err)
{
	if (rc < 0) {
		log_error("render %s: %s", req->path, buf_str(err));
		error(app, req, resp, 500, "internal error");
	}
	buf_cleanup(err);
}

/* --- Last-Modified: from content, never from the clock (SPEC §5) --- */

/* When a record last changed as a reader sees it: its update, or the moment its scheduled
 * publication came, whichever is later. */
static int64_t shown_since(const struct article *a, int64_t now)
{
	return a->published_ts <= now ? max64(a->updated_ts, a->published_ts) : a->updated_ts;
}

/* A listing shows counts and pages that any write or publication can move: it changed when
 * the store's content last did, or the templates or configuration that draw it. */
static int64_t listing_changed(const struct app *app, int64_t store_changed)
{
	return max64(store_changed, render_changed_at(app->render));
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

/* store_changed_at, or false with resp filled. */
static bool changed_at(const struct app *app, const struct request *req, struct response *resp,
                       int64_t now, int64_t *out)
{
	int64_t t = store_changed_at(app->store, now);
	if (t < 0) {
		store_failed(app, req, resp, (int)t);
		return false;
	}
	*out = t;
	return true;
}

/* --- HTML pages --- */

static void placeholder(struct app *app, const struct request *req, struct response *resp,
                        int64_t changed)
{
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)changed;
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
	int64_t now = now_s(), changed;
	if (!changed_at(app, req, resp, now, &changed))
		return;
	struct store_query sq = {
	    .page = page,
	    .per_page = app->cfg->per_page,
	    .tag = tag,
	    .q = q,
	    .public_only = true,
	    .now = now,
	};
	struct article_list list;
	int rc = store_list(app->store, &sq, &list);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	unsigned pages = pages_of(list.total, sq.per_page);
	struct render_listing l = {.list = &list, .page = page, .pages = pages, .tag = tag, .q = q};
	if (q)
		l.left_out = store_words_beyond(q, STORE_SEARCH_WORDS);
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)listing_changed(app, changed);
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
		placeholder(app, req, resp, listing_changed(app, changed));
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
		not_found(app, req, resp);
		return;
	}
	/* a draft or a scheduled story is not found like a slug that never was: the same page,
	 * the same headers, so that nobody learns of an embargo from its URL */
	int64_t now = now_s();
	struct article a;
	article_init(&a);
	int rc = store_get(app->store, slug, true, now, &a);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		article_cleanup(&a);
		return;
	}
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)max64(shown_since(&a, now), render_changed_at(app->render));
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

/* The newest public articles for the feeds and sitemaps, and when the store last changed;
 * false with resp filled on error. */
static bool public_list(struct app *app, const struct request *req, struct response *resp,
                        unsigned count, bool with_body, int64_t now, struct article_list *list,
                        int64_t *changed)
{
	if (!changed_at(app, req, resp, now, changed))
		return false;
	struct store_query sq = {
	    .page = 1, .per_page = count, .public_only = true, .now = now, .with_body = with_body};
	int rc = store_list(app->store, &sq, list);
	if (rc < 0)
		store_failed(app, req, resp, rc);
	return rc == 0;
}

static void handle_feed(struct app *app, const struct request *req, const char *arg,
                        struct response *resp)
{
	(void)arg;
	int64_t now = now_s(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, FEED_SIZE, true, now, &list, &changed))
		return;
	int64_t updated = listing_changed(app, changed);
	struct buf host = BUF_INIT;
	base_host(app->cfg->base_url, &host);
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, updated);
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
	int rc = ctx ? render_feed(app->render, ctx, &resp->body, &err) : -1;
	if (!ctx)
		buf_puts(&err, "feed context: a value is not valid UTF-8");
	resp->content_type = "application/atom+xml; charset=utf-8";
	resp->cacheable = true;
	resp->last_modified = (time_t)updated;
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
	int64_t now = now_s(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, SITEMAP_MAX, false, now, &list, &changed))
		return;
	struct buf *out = &resp->body;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
	int64_t newest = 0;
	for (size_t i = 0; i < list.n; i++)
		newest = max64(newest, shown_since(&list.items[i], now));
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
	resp->content_type = XML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)changed;
	article_list_cleanup(&list);
}

static void handle_news_sitemap(struct app *app, const struct request *req, const char *arg,
                                struct response *resp)
{
	(void)arg;
	int64_t now = now_s(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, NEWS_MAX, false, now, &list, &changed))
		return;
	struct buf *out = &resp->body;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
	              "xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n");
	const char *site = app->cfg->site_title;
	struct buf lang = BUF_INIT;
	for (const char *p = app->cfg->site_language; *p; p++)
		buf_putc(&lang, (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p));
	size_t shown = 0;
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		if (a->published_ts < now - NEWS_WINDOW_S) {
			/* newest first: the rest are older still. This one left the window at
			 * published + 48 h, which changed the document without any write */
			changed = max64(changed, a->published_ts + NEWS_WINDOW_S);
			break;
		}
		shown++;
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
	/* the sitemaps.org schema wants at least one url in a urlset: with no news from the last
	 * two days, the front page stands alone (news: elements are optional per url) */
	if (!shown)
		sitemap_url(out, app->cfg->base_url, "/", NULL);
	buf_puts(out, "</urlset>\n");
	buf_cleanup(&lang);
	resp->content_type = XML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)changed;
	article_list_cleanup(&list);
}

/* --- static files --- */

/* What identifies a file's bytes without reading them: device, inode, size, modification. */
static uint64_t file_tag(const struct stat *st)
{
	uint64_t id[5] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
	                  (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec};
	return hash_bytes(HASH_SEED, id, sizeof(id));
}

/* The file a files route names, relative to paths.static. */
static const char *file_of(const struct route *r, const struct request *req, const char *arg)
{
	return r->deep ? arg : req->path + 1;
}

static void serve_file(struct app *app, const struct request *req, const char *rel,
                       struct response *resp)
{
	struct stat st;
	int fd = static_open(app->cfg->static_dir, rel, &st);
	if (fd < 0) {
		not_found(app, req, resp);
		return;
	}
	/* http sends the bytes from the descriptor (sendfile): nothing is copied, and a file
	 * cut short while it is sent ends the connection instead of passing as complete */
	resp->fd = fd;
	resp->fd_size = (size_t)st.st_size;
	resp->tag = file_tag(&st);
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
	char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
	if (text) {
		buf_puts(&resp->body, text);
	} else {
		log_error("api: an answer could not be serialized");
		json_error(resp, 500, "internal error");
	}
	free(text);
	json_decref(value);
}

static void handle_healthz(struct app *app, const struct request *req, const char *arg,
                           struct response *resp)
{
	(void)arg;
	int64_t n = store_count_public(app->store, now_s(), changes_generation(app->changes));
	if (n < 0) {
		store_failed(app, req, resp, (int)n);
		return;
	}
	json_body(resp, 200, json_pack("{s:s, s:I}", "status", "ok", "articles", (json_int_t)n));
}

/* ?status: 1 for all (the token was checked by routes_permit), 0 for public only, -1 with
 * resp filled when the value is neither. */
static int status_param(const struct request *req, struct response *resp)
{
	const char *status = req->query(req, "status");
	if (!status || strcmp(status, "published") == 0)
		return 0;
	if (strcmp(status, "all") != 0 || !req->editor) {
		json_error(resp, 400, "status: must be \"published\" or \"all\"");
		return -1;
	}
	return 1;
}

static void api_list(struct app *app, const struct request *req, struct response *resp)
{
	int all = status_param(req, resp);
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
	if (q && store_words_beyond(q, STORE_SEARCH_WORDS)) {
		json_errorf(resp, 400, "q: at most %d words are searched", STORE_SEARCH_WORDS);
		return;
	}
	int64_t now = now_s(), changed;
	if (!changed_at(app, req, resp, now, &changed))
		return;
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
	                         .now = now};
	struct article_list list;
	int rc = store_list(app->store, &sq, &list);
	buf_cleanup(&norm);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
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
	resp->cacheable = !all && resp->status == 200;
	resp->last_modified = (time_t)changed;
	article_list_cleanup(&list);
}

/* Reads and validates a write's body into a; on failure fills resp and returns -1. */
static int read_article(const struct request *req, struct response *resp, struct article *a)
{
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

static void write_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc, const char *slug)
{
	if (rc == -EEXIST)
		json_errorf(resp, 409, "slug: '%s' is taken by another article", slug);
	else
		store_failed(app, req, resp, rc);
}

static void answer_article(struct app *app, struct response *resp, unsigned status,
                           const struct article *a)
{
	json_body(resp, status, article_to_json(a, app->cfg->base_url, true));
}

static void api_create(struct app *app, const struct request *req, struct response *resp)
{
	struct article a;
	article_init(&a);
	if (read_article(req, resp, &a) == 0) {
		int rc = store_create(app->store, &a, now_s());
		if (rc < 0) {
			write_failed(app, req, resp, rc, a.slug);
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

static void api_get(struct app *app, const struct request *req, const char *slug,
                    struct response *resp)
{
	int all = status_param(req, resp);
	if (all < 0)
		return;
	int64_t now = now_s();
	struct article a;
	article_init(&a);
	int rc = article_slug_valid(slug) ? store_get(app->store, slug, !all, now, &a) : -ENOENT;
	if (rc == 0) {
		answer_article(app, resp, 200, &a);
		resp->cacheable = !all && resp->status == 200;
		resp->last_modified = (time_t)shown_since(&a, now);
	} else {
		store_failed(app, req, resp, rc);
	}
	article_cleanup(&a);
}

static void handle_api_article(struct app *app, const struct request *req, const char *slug,
                               struct response *resp)
{
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		api_get(app, req, slug, resp);
		return;
	}
	if (!article_slug_valid(slug)) {
		not_found(app, req, resp);
		return;
	}
	if (req->method == HTTP_DELETE) {
		int rc = store_delete(app->store, slug);
		if (rc < 0) {
			write_failed(app, req, resp, rc, slug);
		} else {
			resp->status = 204;
			resp->content_type = NULL;
		}
		return;
	}
	struct article a;
	article_init(&a);
	if (read_article(req, resp, &a) == 0) {
		int rc = store_replace(app->store, slug, &a, now_s());
		if (rc < 0)
			write_failed(app, req, resp, rc, a.slug);
		else
			answer_article(app, resp, 200, &a);
	}
	article_cleanup(&a);
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
    {GET_HEAD, "/", false, handle_front, GH, PERM_PUBLIC, KEY_PARAMS, page_only, 0},
    {GET_HEAD, "/articles/*", false, handle_article_page, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    {GET_HEAD, "/tags/*", false, handle_tag, GH, PERM_PUBLIC, KEY_PARAMS, page_only, 0},
    {GET_HEAD, "/search", false, handle_search, GH, PERM_PUBLIC, KEY_PARAMS, search_params, 0},
    {GET_HEAD, "/feed.xml", false, handle_feed, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    {GET_HEAD, "/sitemap.xml", false, handle_sitemap, GH, PERM_PUBLIC, KEY_PARAMS, none, 0},
    /* its 48-hour window moves with the clock, not with writes: never kept */
    {GET_HEAD, "/news-sitemap.xml", false, handle_news_sitemap, GH, PERM_PUBLIC, KEY_NONE, none, 0},
    {GET_HEAD, "/static/*", true, handle_static, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/robots.txt", false, handle_root_file, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/favicon.ico", false, handle_root_file, GH, PERM_PUBLIC, KEY_FILE, none, 0},
    {GET_HEAD, "/healthz", false, handle_healthz, GH, PERM_PUBLIC, KEY_NONE, none, 0},
    {GET_HEAD | HTTP_POST, "/api/articles", false, handle_api_articles, "GET, HEAD, POST",
     PERM_EDITOR, KEY_PARAMS, list_params, 0},
    {GET_HEAD | HTTP_PUT | HTTP_DELETE, "/api/articles/*", false, handle_api_article,
     "GET, HEAD, PUT, DELETE", PERM_EDITOR, KEY_PARAMS, status_only, 0},
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

const struct route *routes_find(const struct app *app, const struct request *req,
                                struct response *resp)
{
	const char *arg;
	const struct route *r = match(req->path, &arg);
	if (!r) {
		not_found(app, req, resp);
		return NULL;
	}
	if (!(r->methods & req->method)) {
		error(app, req, resp, 405,
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
	switch (auth_check(app->auth, req->header(req, "Authorization"), req->client, now_s(),
	                   &retry)) {
	case AUTH_OK: req->editor = true; return true;
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
		const char *arg;
		match(req->path, &arg);
		struct stat st;
		int fd = static_open(app->cfg->static_dir, file_of(r, req, arg), &st);
		if (fd < 0)
			return false;
		close(fd);
		uint64_t tag = file_tag(&st);
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
	const char *arg;
	match(req->path, &arg);
	r->handler(app, req, arg, resp);
}

void routes_handle(struct app *app, struct request *req, struct response *resp)
{
	const struct route *r = routes_find(app, req, resp);
	if (r && routes_permit(app, r, req, resp))
		routes_run(app, r, req, resp);
}
