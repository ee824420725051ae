/* feed.c - what machines read: the Atom feed, the sitemap, the news sitemap. */
#include <errno.h>
#include <jansson.h>
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
#include "config.h"
#include "escape.h"
#include "handlers.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
#include "static.h"
#include "store.h"

#define FEED_SIZE     20
#define SITEMAP_MAX   50000
#define NEWS_MAX      1000
#define NEWS_WINDOW_S (48 * 3600)

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
	if (!content_changed_at(app, req, resp, now, changed))
		return false;
	struct store_query sq = {
	    .page = 1, .per_page = count, .public_only = true, .now = now, .with_body = with_body};
	int rc = store_list(app->store, &sq, list);
	if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	return rc == 0;
}

void feed_atom(struct app *app, const struct request *req, const char *arg,
                        struct response *resp)
{
	(void)arg;
	int64_t now = handler_now(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, FEED_SIZE, true, now, &list, &changed))
		return;
	int64_t updated = content_listing_changed(app, changed);
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
	answer_rendered(app, req, resp, rc, &err);
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

void feed_sitemap(struct app *app, const struct request *req, const char *arg,
                           struct response *resp)
{
	(void)arg;
	int64_t now = handler_now(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, SITEMAP_MAX, false, now, &list, &changed))
		return;
	struct buf *out = &resp->body;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
	int64_t newest = 0;
	for (size_t i = 0; i < list.n; i++)
		newest = max64(newest, content_shown_since(&list.items[i], now));
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

void feed_news_sitemap(struct app *app, const struct request *req, const char *arg,
                                struct response *resp)
{
	(void)arg;
	int64_t now = handler_now(), changed;
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
