/* feed.c - what machines read: the Atom feed, the sitemap, the news sitemap. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "article.h"
#include "config.h"
#include "escape.h"
#include "handlers.h"
#include "langtag.h"
#include "media.h"
#include "mem.h"
#include "render.h"
#include "rfc3339.h"
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

/* A document of its template over ctx (the reference is taken), as XML of content_type. */
static void document(struct app *app, const struct request *req, struct response *resp,
                     const char *name, json_t *ctx, const char *content_type, int64_t changed)
{
	struct buf err = BUF_INIT;
	int rc = render_document(app->render, name, ctx, &resp->body, &err);
	resp->content_type = content_type;
	resp->cacheable = true;
	resp->last_modified = (time_t)changed;
	answer_rendered(app, req, resp, rc, &err);
}

void feed_atom(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	int64_t now = handler_now(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, FEED_SIZE, true, now, &list, &changed))
		return;
	int64_t updated = content_listing_changed(app, changed);
	struct buf host = BUF_INIT;
	base_host(app->cfg->base_url, &host);
	json_t *entries = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		json_t *e = article_to_json(a, app->cfg->base_url, app->cfg->site_language, true);
		/* tag:host,date-of-creation:article-id stays the same when the slug changes */
		char *id = xasprintf("tag:%s,%.10s:article-%lld", buf_str(&host), a->created_at,
		                     (long long)a->id);
		json_object_set_new(e, "tag_uri", json_string(id));
		free(id);
		/* the byline's accounts and the free-text author; never the editor */
		json_t *people = story_people(app, a);
		size_t k;
		json_t *p;
		json_array_foreach(people, k, p)
		{
			char *uri = render_author_path(
			    json_string_value(json_object_get(p, "handle")), app->cfg->base_url);
			json_object_set_new(p, "uri", json_string(uri));
			free(uri);
		}
		if (*a->author)
			json_array_append_new(people,
			                      json_pack("{s:s, s:b}", "name", a->author, "uri", 0));
		json_object_set_new(e, "people", people);
		/* the story's picture, the 1280 JPEG the share previews name (SPEC §12) */
		const json_t *main =
		    a->image ? media_main_rendition(json_object_get(a->image, "renditions")) : NULL;
		if (main)
			json_object_set_new(
			    e, "enclosure",
			    json_pack(
			        "{s:o, s:s, s:O}", "url",
			        json_sprintf("%s/media/%s", app->cfg->base_url,
			                     json_string_value(json_object_get(main, "path"))),
			        "type", "image/jpeg", "length", json_object_get(main, "bytes")));
		/* corrections close the entry's content, and move its updated (SPEC §11) */
		struct buf fixes = BUF_INIT;
		json_t *c;
		json_array_foreach(a->corrections, k, c)
		{
			const char *text = json_string_value(json_object_get(c, "text"));
			const char *at = json_string_value(json_object_get(c, "at"));
			if (!text || !at)
				continue;
			buf_printf(&fixes,
			           "<p class=\"correction\"><strong>Correction, %s:</strong> ", at);
			escape_html(&fixes, text, strlen(text));
			buf_puts(&fixes, "</p>");
		}
		json_object_set_new(e, "corrections_html", json_string(buf_str(&fixes)));
		buf_cleanup(&fixes);
		int64_t corrected = article_corrected_ts(a);
		if (corrected > a->updated_ts) {
			struct buf when = BUF_INIT;
			rfc3339_format_utc(&when, corrected);
			json_object_set_new(e, "updated_at", json_string(buf_str(&when)));
			buf_cleanup(&when);
		}
		json_array_append_new(entries, e);
	}
	buf_cleanup(&host);
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, updated);
	char *feed_id = xasprintf("%s/", app->cfg->base_url);
	json_t *ctx = json_pack("{s:{s:s, s:s}, s:o}", "feed", "id", feed_id, "updated",
	                        buf_str(&b), "articles", entries);
	free(feed_id);
	buf_cleanup(&b);
	document(app, req, resp, "feed", ctx, "application/atom+xml; charset=utf-8", updated);
	article_list_cleanup(&list);
}

/* The records of list as the sitemaps show them (url, dates, title). */
static json_t *sitemap_entries(const struct app *app, const struct article_list *list, size_t n)
{
	/* only what the sitemaps show: one holds up to 50,000 records */
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct article *a = &list->items[i];
		char *url = article_url(a, app->cfg->base_url);
		struct buf lang = BUF_INIT;
		langtag_news(article_language(a, app->cfg->site_language), &lang);
		json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s}", "url", url, "updated_at",
		                         a->updated_at, "published_at", a->published_at, "title",
		                         a->title, "news_language", buf_str(&lang));
		const json_t *main =
		    a->image ? media_main_rendition(json_object_get(a->image, "renditions")) : NULL;
		if (item && main)
			json_object_set_new(
			    item, "image_url",
			    json_sprintf("%s/media/%s", app->cfg->base_url,
			                 json_string_value(json_object_get(main, "path"))));
		json_array_append_new(items, item);
		buf_cleanup(&lang);
		free(url);
	}
	return items;
}

void feed_sitemap(struct app *app, const struct request *req, const char *arg,
                  struct response *resp)
{
	(void)arg;
	int64_t now = handler_now(), changed;
	struct article_list list;
	if (!public_list(app, req, resp, SITEMAP_MAX, false, now, &list, &changed))
		return;
	int64_t newest = 0;
	for (size_t i = 0; i < list.n; i++)
		newest = max64(newest, content_shown_since(&list.items[i], now));
	json_t *ctx = json_pack("{s:o}", "articles", sitemap_entries(app, &list, list.n));
	/* the author pages of the stories listed (SPEC §11), each as new as its newest story */
	json_t *seen = json_object(), *authors = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		for (size_t k = 0; k < a->nauthors; k++) {
			int64_t t = content_shown_since(a, now);
			json_t *had = json_object_get(seen, a->authors[k]);
			if (!had || json_integer_value(had) < t)
				json_object_set_new(seen, a->authors[k], json_integer(t));
		}
	}
	const char *handle;
	json_t *t;
	json_object_foreach(seen, handle, t)
	{
		char *url = render_author_path(handle, app->cfg->base_url);
		struct buf lm = BUF_INIT;
		rfc3339_format_utc(&lm, json_integer_value(t));
		json_array_append_new(
		    authors, json_pack("{s:s, s:s}", "url", url, "updated_at", buf_str(&lm)));
		buf_cleanup(&lm);
		free(url);
	}
	json_decref(seen);
	json_object_set_new(ctx, "authors", authors);
	if (newest) {
		/* the front page changed when its newest story did */
		struct buf lm = BUF_INIT;
		rfc3339_format_utc(&lm, newest);
		json_object_set_new(ctx, "lastmod", json_string(buf_str(&lm)));
		buf_cleanup(&lm);
	}
	document(app, req, resp, "sitemap", ctx, XML_TYPE, content_listing_changed(app, changed));
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
	size_t shown = 0;
	while (shown < list.n && list.items[shown].published_ts >= now - NEWS_WINDOW_S)
		shown++;
	/* newest first: the rest are older still. The first of them left the window at
	 * published + 48 h, which changed the document without any write */
	if (shown < list.n)
		changed = max64(changed, list.items[shown].published_ts + NEWS_WINDOW_S);
	/* Google's language codes (zh-cn), the site's for whatever template still asks */
	struct buf lang = BUF_INIT;
	langtag_news(app->cfg->site_language, &lang);
	json_t *ctx = json_pack("{s:o, s:s}", "articles", sitemap_entries(app, &list, shown),
	                        "news_language", buf_str(&lang));
	buf_cleanup(&lang);
	document(app, req, resp, "news-sitemap", ctx, XML_TYPE,
	         content_listing_changed(app, changed));
	article_list_cleanup(&list);
}
