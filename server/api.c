/* api.c - the JSON API: the article records, listings, writes, revisions, accounts, tokens,
 * the audit log, /healthz. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "app.h"
#include "article.h"
#include "auth.h"
#include "log.h"
#include "media.h"
#include "rfc3339.h"
#include "changes.h"
#include "config.h"
#include "handlers.h"
#include "mem.h"
#include "metrics.h"
#include "ninjs.h"
#include "outbox.h"
#include "store.h"
#include "surrogate.h"

void api_healthz(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	int64_t n = store_count_public(app->store, handler_now(), changes_generation(app->changes));
	if (n < 0) {
		answer_store_failed(app, req, resp, (int)n);
		return;
	}
	/* GAZETTE_VERSION is meson's project version, defined for every file */
	answer_json(resp, 200,
	            json_pack("{s:s, s:s, s:I}", "status", "ok", "version", GAZETTE_VERSION,
	                      "articles", (json_int_t)n));
}

void api_metrics(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)req;
	(void)arg;
	metrics_render(app->metrics, store_outbox_backlog(app->store), &resp->body);
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ?status: 1 for all (the token was checked by routes_permit), 0 for public only, -1 with
 * resp filled when the value is neither. */
static int status_param(const struct request *req, struct response *resp)
{
	const char *status = req->query(req, "status");
	if (!status || strcmp(status, "published") == 0)
		return 0;
	if (strcmp(status, "all") != 0 || req->who.role == ROLE_NONE) {
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
	/* a contributor's ?status=all is their own stories, of every status (auth.c says whose) */
	const char *own = all ? auth_drafts_of(&req->who) : NULL;
	if (own && tag) {
		buf_cleanup(&norm);
		answer_json_error(resp, 400,
		                  "tag: a contributor's status=all lists their own stories; a tag "
		                  "lists published ones");
		return;
	}
	struct store_query sq = {.page = page,
	                         .per_page = per_page,
	                         .tag = tag,
	                         .author = own,
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

/* The body of a write as JSON (NULL with resp filled: 415 or 400). An empty body is {} when
 * empty_ok. */
static json_t *read_json(const struct request *req, struct response *resp, bool empty_ok)
{
	if (empty_ok && req->body_len == 0)
		return json_object();
	const char *ct = req->header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		answer_json_error(resp, 415, "Content-Type must be application/json");
		return NULL;
	}
	json_error_t jerr;
	json_t *in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!in)
		answer_json_errorf(resp, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
		                   jerr.column, jerr.text);
	return in;
}

/* Reads and validates a write's body into a, a story or (ninjs) a ninjs document whose left-out
 * fields go to ignored; on failure fills resp and returns -1. */
static int read_body(struct app *app, const struct request *req, struct response *resp, bool ninjs,
                     struct article *a, json_t *ignored)
{
	json_t *in = read_json(req, resp, false);
	if (!in)
		return -1;
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

/* A refused write: the actor's rule (403), an unknown author (422), a taken slug (409), or
 * what the store said. */
static void write_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc, const char *slug, const struct store_actor *who)
{
	if (rc == -EACCES)
		answer_json_error(resp, 403, who->why);
	else if (rc == -EINVAL)
		answer_json_error(resp, 422, who->why);
	else if (rc == -EEXIST)
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
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	if (read_body(app, req, resp, false, &a, NULL) == 0) {
		int rc = store_create_as(app->store, &who, &a, handler_now());
		if (rc < 0) {
			write_failed(app, req, resp, rc, a.slug, &who);
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
	/* another's unpublished story is not found for a contributor, like one that never was */
	if (rc == 0 && all && !store_is_public(&a, now) && !auth_may_preview(&req->who, &a))
		rc = -ENOENT;
	bool own_only = all && auth_drafts_of(&req->who);
	if (rc == -ENOENT && answer_moved(app, slug, ninjs ? "/api/ninjs/" : "/api/articles/",
	                                  !all || own_only, now, resp)) {
		article_cleanup(&a);
		return;
	}
	if (rc == 0) {
		if (ninjs)
			answer_json(
			    resp, 200,
			    ninjs_from_article(&a, app->cfg->base_url, app->cfg->site_language));
		else
			answer_article(app, resp, 200, &a);
		resp->cacheable = !all && resp->status == 200;
		resp->last_modified = (time_t)content_shown_since(&a, now);
		struct buf keys = BUF_INIT;
		surrogate_article(&keys, a.id);
		answer_surrogate(resp, &keys);
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
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	if (req->method == HTTP_DELETE) {
		int rc = store_delete_as(app->store, &who, slug, handler_now());
		if (rc < 0) {
			write_failed(app, req, resp, rc, slug, &who);
		} else {
			resp->status = 204;
			resp->content_type = NULL;
		}
		return;
	}
	struct article a;
	article_init(&a);
	if (read_body(app, req, resp, false, &a, NULL) == 0) {
		int rc = store_replace_as(app->store, &who, slug, &a, handler_now());
		if (rc < 0)
			write_failed(app, req, resp, rc, a.slug, &who);
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
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	/* wire copy's byline is its own ("by", the free-text author): the editor who ingests it
	 * is never made its author */
	who.is_account = false;
	if (read_body(app, req, resp, true, &a, ignored) == 0) {
		bool created = false;
		int rc = store_upsert_as(app->store, &who, &a, handler_now(), &created);
		if (rc < 0) {
			write_failed(app, req, resp, rc, a.slug, &who);
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

/* --- the newsroom (SPEC §11) --- */

/* What a read of the store gave: its JSON (a new reference), or the status of its error. */
static void answer_read(struct app *app, const struct request *req, struct response *resp, int rc,
                        json_t *out)
{
	if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	else
		answer_json(resp, 200, out);
}

/* A revision or token number from a path: 1 to 2^53 - 1; 0 for anything else. */
static int64_t path_number(const char *s)
{
	if (!s || *s < '1' || *s > '9' || strlen(s) > 16)
		return 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	return *end || v > ARTICLE_ID_MAX ? 0 : v;
}

/* GET /api/articles/{slug}/revisions and .../revisions/{n}: also of a deleted story. */
void api_revisions(struct app *app, const struct request *req, const char *slug,
                   struct response *resp)
{
	int64_t n = req->arg2 ? path_number(req->arg2) : 0;
	json_t *out = NULL;
	int rc = article_slug_valid(slug) && (n || !req->arg2)
	             ? store_revisions(app->store, slug, n, &out)
	             : -ENOENT;
	answer_read(app, req, resp, rc, out);
}

void api_restore(struct app *app, const struct request *req, const char *slug,
                 struct response *resp)
{
	int64_t n = path_number(req->arg2);
	if (!article_slug_valid(slug) || !n) {
		answer_not_found(app, req, resp);
		return;
	}
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	struct article a;
	article_init(&a);
	int rc = store_restore_as(app->store, &who, slug, n, handler_now(), &a);
	if (rc < 0)
		write_failed(app, req, resp, rc, a.slug ? a.slug : slug, &who);
	else
		answer_article(app, resp, 200, &a);
	article_cleanup(&a);
}

int preview_link(const struct app *app, const struct article *a, int64_t expires, const char *base,
                 char **out)
{
	char *key = NULL;
	int rc = store_secret(app->store, &key);
	if (rc < 0)
		return rc;
	char sig[65];
	auth_preview_sign(key, a->id, a->slug, expires, sig);
	*out =
	    xasprintf("%s/preview/%s?expires=%lld&sig=%s", base, a->slug, (long long)expires, sig);
	free(key);
	return 0;
}

/* POST /api/articles/{slug}/preview ({"expires_days": N} may come): a signed link to the
 * story as it will look, for whoever is sent it, until it expires or the key rotates. */
void api_preview(struct app *app, const struct request *req, const char *slug,
                 struct response *resp)
{
	json_t *in = read_json(req, resp, true);
	if (!in)
		return;
	json_t *days_v = json_object_get(in, "expires_days");
	int64_t days = AUTH_PREVIEW_DAYS;
	if (json_object_size(in) > (days_v ? 1u : 0u)) {
		answer_json_error(resp, 422, "a preview takes only expires_days");
		json_decref(in);
		return;
	}
	if (days_v) {
		days = json_is_integer(days_v) ? json_integer_value(days_v) : 0;
		if (days < 1 || days > AUTH_PREVIEW_DAYS_MAX) {
			answer_json_errorf(resp, 422,
			                   "expires_days: must be a whole number from 1 to %d",
			                   AUTH_PREVIEW_DAYS_MAX);
			json_decref(in);
			return;
		}
	}
	json_decref(in);
	int64_t now = handler_now();
	struct article a;
	article_init(&a);
	char *url = NULL;
	int rc = article_slug_valid(slug) ? store_get(app->store, slug, false, now, &a) : -ENOENT;
	if (rc == 0 && !auth_may_preview(&req->who, &a)) {
		answer_json_error(resp, 403, "a contributor may preview only their own stories");
	} else if (rc == 0 && (rc = preview_link(app, &a, now + days * 86400, app->cfg->base_url,
	                                         &url)) == 0) {
		int64_t expires = now + days * 86400;
		struct buf at = BUF_INIT;
		rfc3339_format_utc(&at, expires);
		answer_json(resp, 201,
		            json_pack("{s:s, s:s}", "url", url, "expires_at", buf_str(&at)));
		buf_cleanup(&at);
		resp->location = url; /* the link itself: the resource made */
	}
	if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	article_cleanup(&a);
}

void api_me(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	if (!req->who.is_account) {
		answer_json(resp, 200,
		            json_pack("{s:s, s:s, s:s, s:n, s:b}", "handle", req->who.account,
		                      "name", "auth.token (no account has a token yet)", "role",
		                      auth_role_name(req->who.role), "token_id", "account", 0));
		return;
	}
	json_t *acct = NULL;
	int rc = store_account_get(app->store, req->who.account, &acct);
	if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
		return;
	}
	json_object_del(acct, "password");
	json_object_set_new(acct, "token_id", json_integer(req->who.token_id));
	json_object_set_new(acct, "account", json_true());
	answer_json(resp, 200, acct);
}

/* ?page and ?per_page (1 to 100, default dflt) of an admin listing; false with resp filled. */
static bool paging(const struct request *req, struct response *resp, unsigned dflt, unsigned *page,
                   unsigned *per_page)
{
	*page = request_page(req);
	const char *pp = req->query(req, "per_page");
	*per_page = dflt;
	if (pp) {
		char *end;
		unsigned long v = strtoul(pp, &end, 10);
		if (*pp < '0' || *pp > '9' || *end || v < 1 || v > 100) {
			answer_json_error(resp, 400,
			                  "per_page: must be a whole number from 1 to 100");
			return false;
		}
		*per_page = (unsigned)v;
	}
	if (*page == 0) {
		answer_json_error(resp, 400, "page: must be a whole number from 1");
		return false;
	}
	return true;
}

static void answer_account(struct response *resp, unsigned status, json_t *acct)
{
	json_object_del(acct, "password");
	answer_json(resp, status, acct);
}

void api_users(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	if (req->method != HTTP_POST) {
		unsigned page, per_page;
		json_t *out = NULL;
		if (!paging(req, resp, 50, &page, &per_page))
			return;
		int rc = store_accounts(app->store, page, per_page, &out);
		answer_read(app, req, resp, rc, out);
		return;
	}
	json_t *in = read_json(req, resp, false), *acct = NULL;
	if (!in)
		return;
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	if (auth_account_from_json(in, true, &acct, who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
	} else {
		const char *handle = json_string_value(json_object_get(acct, "handle"));
		int rc = store_account_add(app->store, &who, acct, handler_now());
		if (rc == -EEXIST) {
			answer_json_errorf(resp, 409, "handle: '%s' is taken by another account",
			                   handle);
		} else if (rc < 0) {
			answer_store_failed(app, req, resp, rc);
		} else {
			resp->location = xasprintf("/api/users/%s", handle);
			answer_account(resp, 201, json_incref(acct));
		}
	}
	json_decref(acct);
	json_decref(in);
}

void api_user(struct app *app, const struct request *req, const char *handle, struct response *resp)
{
	if (!article_handle_valid(handle)) {
		answer_not_found(app, req, resp);
		return;
	}
	json_t *acct = NULL;
	if (req->method != HTTP_PATCH) {
		int rc = store_account_get(app->store, handle, &acct);
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			answer_account(resp, 200, acct);
		return;
	}
	json_t *in = read_json(req, resp, false), *changes = NULL;
	if (!in)
		return;
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	if (auth_account_from_json(in, false, &changes, who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
	} else {
		int rc =
		    store_account_update(app->store, &who, handle, changes, handler_now(), &acct);
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			answer_account(resp, 200, acct);
	}
	json_decref(changes);
	json_decref(in);
}

/* POST /api/users/{handle}/tokens: a new token, shown this once. */
void api_user_tokens(struct app *app, const struct request *req, const char *handle,
                     struct response *resp)
{
	json_t *in = read_json(req, resp, true);
	if (!in)
		return;
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	char name[401];
	unsigned days;
	if (auth_token_options(in, name, &days, who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
		json_decref(in);
		return;
	}
	json_decref(in);
	char token[SECRET_TOKEN_LEN + 1];
	json_t *t = NULL;
	int rc = auth_token_issue(app->store, &who, handle, name, days, handler_now(), token, &t);
	if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
	} else {
		resp->location = xasprintf("/api/tokens/%lld",
		                           (long long)json_integer_value(json_object_get(t, "id")));
		json_object_set_new(t, "token", json_string(token));
		answer_json(resp, 201, t);
	}
	memset(token, 0, sizeof(token));
}

/* GET /api/tokens, DELETE /api/tokens/{id} (a revocation: 204). */
void api_tokens(struct app *app, const struct request *req, const char *id_text,
                struct response *resp)
{
	if (req->method != HTTP_DELETE) {
		json_t *out = NULL;
		int rc = store_tokens(app->store, &out);
		answer_read(app, req, resp, rc, out);
		return;
	}
	int64_t tid = path_number(id_text);
	struct store_actor who;
	char id[33];
	routes_actor(req, &who, id);
	int rc = tid ? store_token_revoke(app->store, &who, tid, handler_now()) : -ENOENT;
	if (rc == -EALREADY) {
		answer_json_errorf(resp, 409, "token %lld is already revoked", (long long)tid);
	} else if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
	} else {
		resp->status = 204;
		resp->content_type = NULL;
	}
}

void api_audit(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	unsigned page, per_page;
	json_t *out = NULL;
	if (!paging(req, resp, 50, &page, &per_page))
		return;
	int rc = store_audit(app->store, page, per_page, &out);
	answer_read(app, req, resp, rc, out);
}

/* --- images (SPEC §12) --- */

/* A stored image as the API shows it: the record with each rendition's url. */
static json_t *media_json(const struct app *app, json_t *rec)
{
	json_t *o = json_deep_copy(rec);
	json_object_del(o, "account");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(o, "renditions"), i, r)
	{
		json_object_set_new(r, "url",
		                    json_sprintf("%s/media/%s", app->cfg->base_url,
		                                 json_string_value(json_object_get(r, "path"))));
		json_object_del(r, "path");
	}
	return o;
}

/* alt, caption and credit from in (an upload's query, or a PATCH's body) into out, by
 * article.c's one rule for them; -1 with why filled. */
static int media_texts(const json_t *in, json_t *out, char *why, size_t why_len)
{
	struct article_error err;
	if (article_image_texts(in, "", false, out, &err) == 0)
		return 0;
	snprintf(why, why_len, "%.60s: %.180s", err.field, err.message);
	return -1;
}

int image_upload(struct app *app, const struct request *req, int fd, size_t len,
                 const char *declared, const json_t *texts, json_t **stored, struct buf *why)
{
	void *data = NULL;
	if (len > 0) {
		data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			log_error("media: the upload's file cannot be read: %s", strerror(errno));
			buf_puts(why, "the upload cannot be read right now; try again");
			return 503;
		}
	}
	/* the same bytes again are the same image: answered as stored, nothing made or written
	 * (a rendition's file never changes under its name) */
	char id[MEDIA_ID_LEN + 1];
	media_id_of(data ? data : "", len, id);
	int known = len ? store_media_get(app->store, id, stored) : -ENOENT;
	if (known == 0) {
		if (data)
			munmap(data, len);
		return 200;
	}
	json_t *rec = NULL;
	int refused = media_intake(app->cfg->media_dir, app->cfg->media_max_pixels, data, len,
	                           declared, &rec, why);
	if (data)
		munmap(data, len);
	if (refused)
		return refused;
	json_object_update(rec, (json_t *)(uintptr_t)texts);
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	int rc = store_media_add(app->store, &who, rec, handler_now(), stored);
	json_decref(rec);
	if (rc < 0)
		return rc;
	return rc == 1 ? 200 : 201;
}

/* POST /api/media: the body (in req->body_fd) is the image; runs on a worker thread. */
static void media_upload(struct app *app, const struct request *req, struct response *resp)
{
	json_t *texts = json_pack("{s:s, s:s, s:s}", "alt", "", "caption", "", "credit", "");
	json_t *given = json_object();
	static const char *const names[] = {"alt", "caption", "credit"};
	for (size_t i = 0; i < 3; i++) {
		const char *v = req->query(req, names[i]);
		json_t *text = v ? json_string(v) : NULL;
		if (v) /* not UTF-8: a number, which media_texts refuses by name */
			json_object_set_new(given, names[i], text ? text : json_integer(0));
	}
	char why[256];
	if (media_texts(given, texts, why, sizeof(why)) < 0) {
		answer_json_error(resp, 422, why);
	} else {
		json_t *stored = NULL;
		struct buf msg = BUF_INIT;
		int status = image_upload(app, req, req->body_fd, req->body_len,
		                          req->header(req, "Content-Type"), texts, &stored, &msg);
		if (status < 0) {
			answer_store_failed(app, req, resp, status);
		} else if (!stored) {
			answer_json_error(resp, (unsigned)status, buf_str(&msg));
			if (status == MEDIA_STORE || status == 503)
				resp->retry_after = 5;
		} else {
			json_t *o = media_json(app, stored);
			const json_t *frames = json_object_get(stored, "frames");
			if (frames && status == 201)
				json_object_set_new(
				    o, "notice",
				    json_sprintf(
				        "an animated GIF of %lld frames: only the first is "
				        "kept",
				        (long long)json_integer_value(frames)));
			resp->location = xasprintf(
			    "/api/media/%s", json_string_value(json_object_get(stored, "id")));
			answer_json(resp, (unsigned)status, o);
		}
		buf_cleanup(&msg);
		json_decref(stored);
	}
	json_decref(given);
	json_decref(texts);
}

void api_media(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	if (req->method == HTTP_POST) {
		media_upload(app, req, resp);
		return;
	}
	unsigned page, per_page;
	json_t *out = NULL;
	if (!paging(req, resp, 50, &page, &per_page))
		return;
	int rc = store_media_list(app->store, page, per_page, &out);
	if (rc == 0) {
		json_t *list = json_object_get(out, "media");
		for (size_t i = 0; i < json_array_size(list); i++)
			json_array_set_new(list, i, media_json(app, json_array_get(list, i)));
	}
	answer_read(app, req, resp, rc, out);
}

void api_media_item(struct app *app, const struct request *req, const char *id,
                    struct response *resp)
{
	if (!media_id_valid(id)) {
		answer_not_found(app, req, resp);
		return;
	}
	json_t *rec = NULL;
	int rc;
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		rc = store_media_get(app->store, id, &rec);
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			answer_json(resp, 200, media_json(app, rec));
		json_decref(rec);
		return;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	if (req->method == HTTP_DELETE) {
		/* the record goes; its files stay until media_gc, for pages cached elsewhere */
		rc = store_media_delete(app->store, &who, id, handler_now());
		if (rc == -ENOTEMPTY)
			answer_json_error(
			    resp, 409,
			    "the image is shown by a story (its image or its body); take "
			    "it out of the story first");
		else if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			resp->status = 204;
		return;
	}
	json_t *in = read_json(req, resp, false), *changes = json_object();
	if (!in)
		goto out;
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v)
	{
		if (strcmp(k, "alt") != 0 && strcmp(k, "caption") != 0 &&
		    strcmp(k, "credit") != 0) {
			answer_json_errorf(resp, 422,
			                   "%.60s: not a field of an image (alt, caption, "
			                   "credit)",
			                   k);
			goto out;
		}
	}
	if (media_texts(in, changes, who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
		goto out;
	}
	rc = store_media_update(app->store, &who, id, changes, handler_now(), &rec);
	if (rc < 0)
		answer_store_failed(app, req, resp, rc);
	else
		answer_json(resp, 200, media_json(app, rec));
	json_decref(rec);
out:
	json_decref(changes);
	json_decref(in);
}

/* --- webhooks (SPEC §13): an admin's --- */

/* A webhook as the API shows it: never its secret (only the answer that made it does). */
static json_t *webhook_json(const json_t *hook)
{
	json_t *o = json_deep_copy(hook);
	json_object_del(o, "secret");
	if (!json_object_get(o, "disabled_reason"))
		json_object_set_new(o, "disabled_reason", json_null());
	return o;
}

void api_webhooks(struct app *app, const struct request *req, const char *arg,
                  struct response *resp)
{
	(void)arg;
	int rc;
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		json_t *all = NULL;
		rc = store_webhooks(app->store, &all);
		if (rc < 0) {
			answer_store_failed(app, req, resp, rc);
			return;
		}
		json_t *list = json_array(), *hook;
		size_t i;
		json_array_foreach(json_object_get(all, "webhooks"), i, hook)
		    json_array_append_new(list, webhook_json(hook));
		json_decref(all);
		answer_json(resp, 200, json_pack("{s:o}", "webhooks", list));
		return;
	}
	json_t *in = read_json(req, resp, false), *hook = NULL;
	if (!in)
		return;
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	if (outbox_webhook_fields(app->outbox, in, false, app->cfg->webhooks_allow_private, &hook,
	                          who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
		json_decref(in);
		return;
	}
	rc = store_webhook_add(app->store, &who, hook, handler_now());
	if (rc == -ENOSPC) {
		answer_json_errorf(resp, 409, "a newsroom has at most %d webhooks",
		                   STORE_WEBHOOKS_MAX);
	} else if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
	} else {
		/* the one answer that shows the secret: the receiver needs it to check signatures
		 */
		json_t *out = webhook_json(hook);
		json_object_set(out, "secret", json_object_get(hook, "secret"));
		char *loc = xasprintf("/api/webhooks/%lld",
		                      (long long)json_integer_value(json_object_get(hook, "id")));
		resp->location = loc;
		answer_json(resp, 201, out);
	}
	json_decref(hook);
	json_decref(in);
}

void api_webhook(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	int64_t id = path_number(arg);
	if (!id) {
		answer_not_found(app, req, resp);
		return;
	}
	json_t *hook = NULL;
	int rc;
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		rc = store_webhook_get(app->store, id, &hook);
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			answer_json(resp, 200, webhook_json(hook));
		json_decref(hook);
		return;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	if (req->method == HTTP_DELETE) {
		rc = store_webhook_delete(app->store, &who, id, handler_now());
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			resp->status = 204;
		return;
	}
	json_t *in = read_json(req, resp, false), *changes = NULL;
	if (!in)
		return;
	if (outbox_webhook_fields(app->outbox, in, true, app->cfg->webhooks_allow_private, &changes,
	                          who.why, sizeof(who.why)) < 0) {
		answer_json_error(resp, 422, who.why);
	} else {
		rc = store_webhook_update(app->store, &who, id, changes, handler_now(), &hook);
		if (rc < 0)
			answer_store_failed(app, req, resp, rc);
		else
			answer_json(resp, 200, webhook_json(hook));
		json_decref(hook);
	}
	json_decref(changes);
	json_decref(in);
}

void api_deliveries(struct app *app, const struct request *req, const char *arg,
                    struct response *resp)
{
	int64_t id = path_number(arg);
	json_t *hook = NULL;
	int rc = id ? store_webhook_get(app->store, id, &hook) : -ENOENT;
	json_decref(hook);
	if (rc < 0) {
		answer_store_failed(app, req, resp, rc);
		return;
	}
	unsigned page, per_page;
	json_t *out = NULL;
	if (!paging(req, resp, 50, &page, &per_page))
		return;
	rc = store_deliveries(app->store, id, page, per_page, &out);
	answer_read(app, req, resp, rc, out);
}
