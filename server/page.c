/* page.c - the HTML pages: the front page, tag pages, search, the story page (SPEC §5). */
#include <string.h>

#include "app.h"
#include "article.h"
#include "config.h"
#include "handlers.h"
#include "render.h"
#include "store.h"

static void placeholder(struct app *app, const struct request *req, struct response *resp,
                        int64_t changed)
{
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)changed;
	answer_rendered(app, req, resp, render_placeholder(app->render, &resp->body, &err), &err);
}

/* The front page, tag pages and search: one listing with pagination. */
static void listing(struct app *app, const struct request *req, struct response *resp,
                    const char *tag, const char *q)
{
	unsigned page = request_page(req);
	if (page == 0) {
		answer_page_error(app, resp, 404, "No such page");
		return;
	}
	int64_t now = handler_now(), changed;
	if (!content_changed_at(app, req, resp, now, &changed))
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
		answer_store_failed(app, req, resp, rc);
		return;
	}
	unsigned pages = count_pages(list.total, sq.per_page);
	struct render_listing l = {.list = &list, .page = page, .pages = pages, .tag = tag, .q = q};
	if (q)
		l.left_out = store_words_beyond(q, STORE_SEARCH_WORDS);
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified = (time_t)content_listing_changed(app, changed);
	if (q) {
		if (page > pages) {
			answer_page_error(app, resp, 404, "No such page");
		} else {
			rc = render_search(app->render, &l, &resp->body, &err);
			answer_rendered(app, req, resp, rc, &err);
		}
	} else if (tag) {
		if (list.total == 0)
			answer_page_error(app, resp, 404, "No stories with this tag");
		else if (page > pages)
			answer_page_error(app, resp, 404, "No such page");
		else
			answer_rendered(app, req, resp,
			                render_tag(app->render, &l, &resp->body, &err), &err);
	} else if (list.total == 0 && page == 1) {
		placeholder(app, req, resp, content_listing_changed(app, changed));
	} else if (page > pages) {
		answer_page_error(app, resp, 404, "No such page");
	} else {
		answer_rendered(app, req, resp, render_index(app->render, &l, &resp->body, &err),
		                &err);
	}
	buf_cleanup(&err);
	article_list_cleanup(&list);
}

void page_front(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	listing(app, req, resp, NULL, NULL);
}

void page_tag(struct app *app, const struct request *req, const char *tag, struct response *resp)
{
	if (!text_is_utf8(tag) || !article_tag_valid(tag)) {
		answer_page_error(app, resp, 404, "No stories with this tag");
		return;
	}
	listing(app, req, resp, tag, NULL);
}

void page_search(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	const char *q = req->query(req, "q");
	if (!q)
		q = "";
	if (!text_is_utf8(q)) {
		answer_page_error(app, resp, 400, "The search words are not valid UTF-8");
		return;
	}
	listing(app, req, resp, NULL, q);
}

void page_article(struct app *app, const struct request *req, const char *slug,
                  struct response *resp)
{
	if (!article_slug_valid(slug)) {
		answer_not_found(app, req, resp);
		return;
	}
	/* a draft or a scheduled story is not found like a slug that never was: the same page,
	 * the same headers, so that nobody learns of an embargo from its URL */
	int64_t now = handler_now();
	struct article a;
	article_init(&a);
	int rc = store_get(app->store, slug, true, now, &a);
	if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
		article_cleanup(&a);
		return;
	}
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = true;
	resp->last_modified =
	    (time_t)max64(content_shown_since(&a, now), render_changed_at(app->render));
	answer_rendered(app, req, resp, render_article(app->render, &a, &resp->body, &err), &err);
	article_cleanup(&a);
}
