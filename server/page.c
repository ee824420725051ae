/* page.c - the HTML pages: the front page, tag and author pages, search, the story page and
 * its preview (SPEC §5, §11). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "article.h"
#include "config.h"
#include "auth.h"
#include "handlers.h"
#include "mem.h"
#include "render.h"
#include "store.h"
#include "surrogate.h"

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
                    const char *tag, const char *q, const json_t *author)
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
	    .author = author ? json_string_value(json_object_get(author, "handle")) : NULL,
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
	} else if (author) {
		if (page > pages)
			answer_page_error(app, resp, 404, "No such page");
		else
			answer_rendered(app, req, resp,
			                render_author(app->render, author, &l, &resp->body, &err),
			                &err);
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
	struct buf keys = BUF_INIT;
	if (tag && !q)
		surrogate_tag(&keys, tag);
	else if (author)
		surrogate_author(&keys, json_string_value(json_object_get(author, "handle")));
	answer_surrogate(resp, &keys);
}

void page_front(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	listing(app, req, resp, NULL, NULL, NULL);
}

void page_tag(struct app *app, const struct request *req, const char *tag, struct response *resp)
{
	if (!text_is_utf8(tag) || !article_tag_valid(tag)) {
		answer_page_error(app, resp, 404, "No stories with this tag");
		return;
	}
	listing(app, req, resp, tag, NULL, NULL);
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
	listing(app, req, resp, NULL, q, NULL);
}

void page_author(struct app *app, const struct request *req, const char *handle,
                 struct response *resp)
{
	json_t *account = NULL;
	int rc = article_handle_valid(handle) ? store_account_get(app->store, handle, &account)
	                                      : -ENOENT;
	if (rc == -ENOENT)
		answer_page_error(app, resp, 404, "No such author");
	else if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	else
		listing(app, req, resp, NULL, NULL, account);
	json_decref(account);
}

/* A story's page: the stored record a (public, or a draft for a preview), with its byline's
 * accounts. */
static void story_page(struct app *app, const struct request *req, struct response *resp,
                       const struct article *a, bool preview, int64_t now)
{
	json_t *people = story_people(app, a);
	struct render_story st = {a, people, preview};
	struct buf err = BUF_INIT;
	resp->content_type = HTML_TYPE;
	resp->cacheable = !preview;
	resp->private_answer = preview;
	resp->last_modified =
	    (time_t)max64(content_shown_since(a, now), render_changed_at(app->render));
	answer_rendered(app, req, resp, render_article(app->render, &st, &resp->body, &err), &err);
	json_decref(people);
}

/* A renamed story's old slug answers 301 to its page (SPEC §11) when the reader may see it. */
bool answer_moved(struct app *app, const char *slug, const char *prefix, bool public_only,
                  int64_t now, struct response *resp)
{
	char *current = NULL;
	if (store_slug_moved(app->store, slug, &current) < 0)
		return false;
	struct article a;
	article_init(&a);
	bool ok = store_get(app->store, current, public_only, now, &a) == 0;
	if (ok) {
		resp->status = 301;
		resp->content_type = NULL;
		/* a token holder's ?status=all goes along, or a draft's new URL would be a 404 */
		resp->location =
		    xasprintf("%s%s%s", prefix, current, public_only ? "" : "?status=all");
	}
	article_cleanup(&a);
	free(current);
	return ok;
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
	if (rc == -ENOENT && answer_moved(app, slug, "/articles/", true, now, resp)) {
		article_cleanup(&a);
		return;
	}
	if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
		article_cleanup(&a);
		return;
	}
	story_page(app, req, resp, &a, false, now);
	struct buf keys = BUF_INIT;
	surrogate_article(&keys, a.id);
	for (size_t i = 0; i < a.nauthors; i++)
		surrogate_byline(&keys, a.authors[i]);
	answer_surrogate(resp, &keys);
	article_cleanup(&a);
}

void page_preview(struct app *app, const struct request *req, const char *slug,
                  struct response *resp)
{
	/* a link that is not a live one is not found, like a story that never was */
	int64_t now = handler_now();
	struct article a;
	article_init(&a);
	char *key = NULL;
	int rc = article_slug_valid(slug) ? store_get(app->store, slug, false, now, &a) : -ENOENT;
	if (rc == 0)
		rc = store_secret(app->store, &key);
	if (rc == 0 && !auth_preview_valid(key, a.id, a.slug, req->query(req, "expires"),
	                                   req->query(req, "sig"), now))
		rc = -ENOENT;
	if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	else
		story_page(app, req, resp, &a, true, now);
	free(key);
	article_cleanup(&a);
}
