/* api.c - the JSON API: the article records, listings, writes, /healthz. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "article.h"
#include "changes.h"
#include "config.h"
#include "handlers.h"
#include "mem.h"
#include "ninjs.h"
#include "store.h"

void api_healthz(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	int64_t n = store_count_public(app->store, handler_now(), changes_generation(app->changes));
	if (n < 0) {
		answer_store_failed(app, req, resp, (int)n);
		return;
	}
	answer_json(resp, 200, json_pack("{s:s, s:I}", "status", "ok", "articles", (json_int_t)n));
}

/* ?status: 1 for all (the token was checked by routes_permit), 0 for public only, -1 with
 * resp filled when the value is neither. */
static int status_param(const struct request *req, struct response *resp)
{
	const char *status = req->query(req, "status");
	if (!status || strcmp(status, "published") == 0)
		return 0;
	if (strcmp(status, "all") != 0 || !req->editor) {
		answer_json_error(resp, 400, "status: must be \"published\" or \"all\"");
		return -1;
	}
	return 1;
}

static void list_articles(struct app *app, const struct request *req, struct response *resp)
{
	int all = status_param(req, resp);
	if (all < 0)
		return;
	unsigned page = request_page(req);
	if (page == 0) {
		answer_json_error(resp, 400, "page: must be a whole number from 1");
		return;
	}
	unsigned per_page = app->cfg->per_page;
	const char *pp = req->query(req, "per_page");
	if (pp) {
		char *end;
		unsigned long v = strtoul(pp, &end, 10);
		if (*pp < '0' || *pp > '9' || *end || v < 1 || v > 100) {
			answer_json_error(resp, 400,
			                  "per_page: must be a whole number from 1 to 100");
			return;
		}
		per_page = (unsigned)v;
	}
	const char *tag = req->query(req, "tag");
	const char *q = req->query(req, "q");
	if ((tag && !text_is_utf8(tag)) || (q && !text_is_utf8(q))) {
		answer_json_error(resp, 400, "tag and q must be valid UTF-8");
		return;
	}
	if (q && store_words_beyond(q, STORE_SEARCH_WORDS)) {
		answer_json_errorf(resp, 400, "q: at most %d words are searched",
		                   STORE_SEARCH_WORDS);
		return;
	}
	int64_t now = handler_now(), changed;
	if (!content_changed_at(app, req, resp, now, &changed))
		return;
	struct buf norm = BUF_INIT;
	if (tag && !*tag)
		tag = NULL; /* "?tag=" filters nothing, as "?q=" searches nothing */
	if (tag) {
		article_tag_normalize(&norm, tag);
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
		answer_store_failed(app, req, resp, rc);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < list.n; i++)
		json_array_append_new(items, article_to_json(&list.items[i], app->cfg->base_url,
		                                             app->cfg->site_language, false));
	answer_json(resp, 200,
	            json_pack("{s:o, s:i, s:i, s:i, s:i}", "articles", items, "page", (int)page,
	                      "per_page", (int)per_page, "total", (int)list.total, "pages",
	                      (int)count_pages(list.total, per_page)));
	resp->cacheable = !all && resp->status == 200;
	resp->last_modified = (time_t)changed;
	article_list_cleanup(&list);
}

/* Reads and validates a write's body into a, a story or (ninjs) a ninjs document whose left-out
 * fields go to ignored; on failure fills resp and returns -1. */
static int read_body(struct app *app, const struct request *req, struct response *resp, bool ninjs,
                     struct article *a, json_t *ignored)
{
	const char *ct = req->header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		answer_json_error(resp, 415, "Content-Type must be application/json");
		return -1;
	}
	json_error_t jerr;
	json_t *in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!in) {
		answer_json_errorf(resp, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
		                   jerr.column, jerr.text);
		return -1;
	}
	struct article_error aerr;
	int rc = ninjs ? ninjs_to_article(in, ARTICLE_API, handler_now(), app->cfg->base_url, a,
	                                  &aerr, ignored)
	               : article_from_json(in, ARTICLE_API, handler_now(), a, &aerr);
	json_decref(in);
	if (rc < 0) {
		if (*aerr.field)
			answer_json_errorf(resp, 422, "%s: %s", aerr.field, aerr.message);
		else
			answer_json_error(resp, 422, aerr.message);
		return -1;
	}
	return 0;
}

static void write_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc, const char *slug)
{
	if (rc == -EEXIST)
		answer_json_errorf(resp, 409, "slug: '%s' is taken by another article", slug);
	else
		answer_store_failed(app, req, resp, rc);
}

static void answer_article(struct app *app, struct response *resp, unsigned status,
                           const struct article *a)
{
	answer_json(resp, status,
	            article_to_json(a, app->cfg->base_url, app->cfg->site_language, true));
}

static void create_article(struct app *app, const struct request *req, struct response *resp)
{
	struct article a;
	article_init(&a);
	if (read_body(app, req, resp, false, &a, NULL) == 0) {
		int rc = store_create(app->store, &a, handler_now());
		if (rc < 0) {
			write_failed(app, req, resp, rc, a.slug);
		} else {
			answer_article(app, resp, 201, &a);
			resp->location = xasprintf("/api/articles/%s", a.slug);
		}
	}
	article_cleanup(&a);
}

void api_articles(struct app *app, const struct request *req, const char *arg,
                  struct response *resp)
{
	(void)arg;
	if (req->method == HTTP_POST)
		create_article(app, req, resp);
	else
		list_articles(app, req, resp);
}

/* The story at slug as the request may see it (drafts with ?status=all and the token), as
 * its record or (ninjs) its ninjs document. */
static void get_article(struct app *app, const struct request *req, const char *slug,
                        struct response *resp, bool ninjs)
{
	int all = status_param(req, resp);
	if (all < 0)
		return;
	int64_t now = handler_now();
	struct article a;
	article_init(&a);
	int rc = article_slug_valid(slug) ? store_get(app->store, slug, !all, now, &a) : -ENOENT;
	if (rc == 0) {
		if (ninjs)
			answer_json(
			    resp, 200,
			    ninjs_from_article(&a, app->cfg->base_url, app->cfg->site_language));
		else
			answer_article(app, resp, 200, &a);
		resp->cacheable = !all && resp->status == 200;
		resp->last_modified = (time_t)content_shown_since(&a, now);
	} else {
		answer_store_failed(app, req, resp, rc);
	}
	article_cleanup(&a);
}

void api_article(struct app *app, const struct request *req, const char *slug,
                 struct response *resp)
{
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		get_article(app, req, slug, resp, false);
		return;
	}
	if (!article_slug_valid(slug)) {
		answer_not_found(app, req, resp);
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
	if (read_body(app, req, resp, false, &a, NULL) == 0) {
		int rc = store_replace(app->store, slug, &a, handler_now());
		if (rc < 0)
			write_failed(app, req, resp, rc, a.slug);
		else
			answer_article(app, resp, 200, &a);
	}
	article_cleanup(&a);
}

/* --- ninjs (SPEC §15) --- */

/* Upserts by uri: 201 with a new story, 200 with the one it replaced; the answer is the story
 * as stored, with the document's fields a story has no place for named in "ignored". */
static void post_ninjs(struct app *app, const struct request *req, struct response *resp)
{
	struct article a;
	article_init(&a);
	json_t *ignored = json_array();
	if (read_body(app, req, resp, true, &a, ignored) == 0) {
		bool created = false;
		int rc = store_upsert(app->store, &a, handler_now(), &created);
		if (rc < 0) {
			write_failed(app, req, resp, rc, a.slug);
		} else {
			json_t *o =
			    article_to_json(&a, app->cfg->base_url, app->cfg->site_language, true);
			json_object_set(o, "ignored", ignored);
			answer_json(resp, created ? 201 : 200, o);
			resp->location = xasprintf("/api/ninjs/%s", a.slug);
		}
	}
	json_decref(ignored);
	article_cleanup(&a);
}

void api_ninjs(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	if (req->method == HTTP_POST)
		post_ninjs(app, req, resp);
	else
		get_article(app, req, arg, resp, true);
}
