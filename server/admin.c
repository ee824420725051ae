/* admin.c - the editor's pages (SPEC §14): server-rendered forms under /admin/, each POST then
 * a redirect to a GET. Who may do what is the route table's (routes.c) and auth.c's, the same
 * rows and rules as the API's; the CSRF token and the same-site check are routes_run's. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "article.h"
#include "auth.h"
#include "config.h"
#include "form.h"
#include "handlers.h"
#include "log.h"
#include "media.h"
#include "mem.h"
#include "outbox.h"
#include "render.h"
#include "rfc3339.h"
#include "secret.h"
#include "store.h"

#define PER_PAGE 30

/* The values every editor's page has: its title, who is signed in, the forms' CSRF token. */
static json_t *context(const struct request *req, const char *title)
{
	char csrf[SECRET_HEX_LEN + 1] = "";
	if (*req->csrf_cookie)
		auth_csrf(req->csrf_cookie, csrf);
	json_t *ctx = json_pack("{s:{s:s}, s:s}", "page", "title", title, "csrf", csrf);
	if (ctx && req->who.role != ROLE_NONE)
		json_object_set_new(ctx, "who",
		                    json_pack("{s:s, s:s, s:b, s:b}", "handle", req->who.account,
		                              "role", auth_role_name(req->who.role), "editor",
		                              req->who.role >= ROLE_EDITOR, "admin",
		                              req->who.role >= ROLE_ADMIN));
	return ctx;
}

/* The page name over ctx (taken) as resp, with status. */
static void page(struct app *app, const struct request *req, struct response *resp, unsigned status,
                 const char *name, json_t *ctx)
{
	resp->status = status;
	resp->content_type = HTML_TYPE;
	struct buf err = BUF_INIT;
	int rc = render_admin(app->render, name, ctx, &resp->body, &err);
	answer_rendered(app, req, resp, rc, &err);
}

/* POST, then a redirect to a GET (303): location is taken. */
static void see_other(struct response *resp, char *location)
{
	resp->status = 303;
	resp->content_type = HTML_TYPE;
	free(resp->location);
	resp->location = location;
}

/* An error page of the editor's. */
static void fail(struct app *app, const struct request *req, struct response *resp, unsigned status,
                 const char *message)
{
	json_t *ctx = context(req, message);
	json_object_set_new(ctx, "status", json_integer(status));
	json_object_set_new(ctx, "message", json_string(message));
	page(app, req, resp, status, "error", ctx);
}

static void store_failed(struct app *app, const struct request *req, struct response *resp, int rc)
{
	if (rc == -ENOENT)
		fail(app, req, resp, 404, "There is no such page.");
	else if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EROFS || rc == -ENOSPC ||
	         rc == -EBUSY || rc == -EIO)
		fail(app, req, resp, 503,
		     "The database is temporarily unavailable; nothing was changed. Try again "
		     "in a moment.");
	else
		fail(app, req, resp, 500, "Internal error.");
	if (resp->status == 503)
		resp->retry_after = 5;
}

/* The login and setup forms are drawn before any session: their CSRF token is made from a
 * cookie of their own, set here when the reader has none. The token, in csrf. */
static void form_token(const struct app *app, const struct request *req, struct response *resp,
                       char csrf[SECRET_HEX_LEN + 1])
{
	char key[AUTH_COOKIE_LEN + 1];
	csrf[0] = '\0';
	if (*req->csrf_cookie) {
		auth_csrf(req->csrf_cookie, csrf);
		return;
	}
	if (secret_random_hex(AUTH_COOKIE_LEN / 2, key) < 0)
		return;
	resp->cookie = auth_cookie(AUTH_FORM_COOKIE, key, 3600, app->cfg->base_url);
	auth_csrf(key, csrf);
}

/* A form's field, "" when it is not there. */
static const char *field(const struct request *req, const char *name)
{
	const char *v = form_get(req->form, name);
	return v ? v : "";
}

/* Where to go after signing in: a page of the editor's, never another site. */
static const char *next_page(const char *next)
{
	if (!next || strncmp(next, "/admin/", 7) != 0 || strstr(next, "//") || strchr(next, '\\') ||
	    strpbrk(next, "\r\n"))
		return "/admin/stories";
	return next;
}

static int accounts_total(struct app *app)
{
	json_t *all = NULL;
	int rc = store_accounts(app->store, 1, 1, &all);
	int total = rc < 0 ? rc : (int)json_integer_value(json_object_get(all, "total"));
	json_decref(all);
	return total;
}

void admin_home(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)app;
	(void)arg;
	see_other(resp, xstrdup(strcmp(req->path, "/admin") == 0 ? "/admin/" : "/admin/stories"));
}

/* --- the first admin, signing in and out, the password --- */

/* Signs who in: a new session, its cookie, and the page to go on to. */
static void sign_in(struct app *app, const struct request *req, struct response *resp,
                    const char *handle, const char *next)
{
	struct store_actor actor;
	char rid[33];
	routes_actor(req, &actor, rid);
	actor.account = handle;
	actor.is_account = true;
	char cookie[AUTH_COOKIE_LEN + 1];
	int rc = auth_session_start(app->auth, &actor, handle, handler_now(), cookie);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	free(resp->cookie);
	resp->cookie = auth_cookie(AUTH_SESSION_COOKIE, cookie, AUTH_SESSION_S, app->cfg->base_url);
	memset(cookie, 0, sizeof(cookie));
	see_other(resp, xstrdup(next_page(next)));
}

void admin_setup(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	int64_t now = handler_now();
	int total = accounts_total(app);
	if (total < 0) {
		store_failed(app, req, resp, total);
		return;
	}
	if (total > 0) {
		fail(app, req, resp, 404,
		     "There is nothing to set up: the first account exists. Sign in instead.");
		return;
	}
	bool post = req->method == HTTP_POST;
	const char *code = post ? field(req, "code") : req->query(req, "code");
	if (!auth_setup_valid(app->auth, code, now, false)) {
		fail(app, req, resp, 403,
		     "This setup link is not valid: it works once, for an hour after the server "
		     "started. Restart the server for a new one; its log shows it.");
		return;
	}
	json_t *ctx = context(req, "Set up Gazette");
	json_object_set_new(ctx, "code", json_string(code));
	if (!post) {
		char csrf[SECRET_HEX_LEN + 1];
		form_token(app, req, resp, csrf);
		json_object_set_new(ctx, "csrf", json_string(csrf));
		page(app, req, resp, 200, "setup", ctx);
		return;
	}
	const char *handle = field(req, "handle");
	json_object_set_new(ctx, "handle", json_string(handle));
	json_object_set_new(ctx, "name", json_string(field(req, "name")));
	char why[256] = "";
	json_t *acct = NULL;
	if (strcmp(field(req, "password"), field(req, "password2")) != 0) {
		snprintf(why, sizeof(why), "password2: the two passwords differ");
	} else {
		json_t *in =
		    json_pack("{s:s, s:s, s:s, s:s}", "handle", handle, "name", field(req, "name"),
		              "role", "admin", "password", field(req, "password"));
		if (!in || auth_account_from_json(in, true, &acct, why, sizeof(why)) < 0) {
			if (!*why)
				snprintf(why, sizeof(why), "a field is not valid UTF-8");
		}
		json_decref(in);
	}
	/* the code is spent here, once: two forms sent at once make one account */
	if (!*why && !auth_setup_valid(app->auth, code, now, true))
		snprintf(why, sizeof(why), "code: this setup link was used meanwhile");
	if (*why) {
		json_decref(acct);
		json_object_set_new(ctx, "error", json_string(why));
		page(app, req, resp, 422, "setup", ctx);
		return;
	}
	struct store_actor actor;
	char rid[33];
	routes_actor(req, &actor, rid);
	actor.account = "setup";
	int rc = store_account_add(app->store, &actor, acct, now);
	json_decref(acct);
	if (rc < 0) {
		auth_setup_restore(app->auth, code, now + AUTH_SETUP_S);
		json_decref(ctx);
		store_failed(app, req, resp, rc);
		return;
	}
	json_decref(ctx);
	log_info("admin: the first admin, '%s', was set up", handle);
	sign_in(app, req, resp, handle, "/admin/stories");
}

void admin_login(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	bool post = req->method == HTTP_POST;
	const char *next = post ? field(req, "next") : req->query(req, "next");
	if (!post && req->who.role != ROLE_NONE) {
		see_other(resp, xstrdup(next_page(next)));
		return;
	}
	json_t *ctx = context(req, "Sign in");
	json_object_set_new(ctx, "next", json_string(next_page(next)));
	int total = accounts_total(app);
	json_object_set_new(ctx, "first", json_boolean(total == 0));
	if (!post) {
		char csrf[SECRET_HEX_LEN + 1];
		form_token(app, req, resp, csrf);
		json_object_set_new(ctx, "csrf", json_string(csrf));
		page(app, req, resp, 200, "login", ctx);
		return;
	}
	const char *handle = field(req, "handle");
	json_object_set_new(ctx, "handle", json_string(handle));
	struct principal who;
	unsigned retry = 0;
	switch (auth_login(app->auth, handle, field(req, "password"), req->client, handler_now(),
	                   &who, &retry)) {
	case AUTH_OK:
		json_decref(ctx);
		sign_in(app, req, resp, who.account, next);
		return;
	case AUTH_LIMITED:
		json_object_set_new(ctx, "error",
		                    json_sprintf("Too many wrong passwords from your address; wait "
		                                 "%u seconds and try again.",
		                                 retry));
		page(app, req, resp, 429, "login", ctx);
		resp->retry_after = retry;
		return;
	case AUTH_UNAVAILABLE:
		json_decref(ctx);
		store_failed(app, req, resp, -EIO);
		return;
	default:
		json_object_set_new(ctx, "error",
		                    json_string("The handle or the password is wrong."));
		page(app, req, resp, 403, "login", ctx);
		return;
	}
}

void admin_logout(struct app *app, const struct request *req, const char *arg,
                  struct response *resp)
{
	(void)arg;
	struct store_actor actor;
	char rid[33];
	routes_actor(req, &actor, rid);
	int rc = auth_session_end(app->auth, &actor, req->csrf_cookie, handler_now());
	if (rc < 0 && rc != -ENOENT) {
		store_failed(app, req, resp, rc);
		return;
	}
	resp->cookie = auth_cookie(AUTH_SESSION_COOKIE, "", 0, app->cfg->base_url);
	see_other(resp, xstrdup("/admin/login"));
}

void admin_password(struct app *app, const struct request *req, const char *arg,
                    struct response *resp)
{
	(void)arg;
	json_t *ctx = context(req, "Change your password");
	if (req->method != HTTP_POST) {
		json_object_set_new(ctx, "done", json_boolean(req->query(req, "done") != NULL));
		page(app, req, resp, 200, "password", ctx);
		return;
	}
	char why[256] = "";
	unsigned status = 422, retry = 0;
	struct principal who;
	switch (auth_login(app->auth, req->who.account, field(req, "current"), req->client,
	                   handler_now(), &who, &retry)) {
	case AUTH_OK: break;
	case AUTH_LIMITED:
		snprintf(why, sizeof(why), "current: too many wrong passwords; wait %u seconds",
		         retry);
		status = 429;
		break;
	case AUTH_UNAVAILABLE:
		json_decref(ctx);
		store_failed(app, req, resp, -EIO);
		return;
	default: snprintf(why, sizeof(why), "current: this is not your password"); status = 403;
	}
	json_t *changes = NULL;
	if (!*why && strcmp(field(req, "password"), field(req, "password2")) != 0)
		snprintf(why, sizeof(why), "password2: the two new passwords differ");
	if (!*why) {
		json_t *in = json_pack("{s:s}", "password", field(req, "password"));
		if (!in || auth_account_from_json(in, false, &changes, why, sizeof(why)) < 0)
			if (!*why)
				snprintf(why, sizeof(why), "password: not valid UTF-8");
		json_decref(in);
	}
	if (*why) {
		json_decref(changes);
		json_object_set_new(ctx, "error", json_string(why));
		page(app, req, resp, status, "password", ctx);
		if (status == 429)
			resp->retry_after = retry;
		return;
	}
	json_decref(ctx);
	struct store_actor actor;
	char rid[33];
	routes_actor(req, &actor, rid);
	int rc = store_account_update(app->store, &actor, req->who.account, changes, handler_now(),
	                              NULL);
	json_decref(changes);
	if (rc < 0)
		store_failed(app, req, resp, rc);
	else /* the change ended every session of the account, this one too: a new one here */
		sign_in(app, req, resp, req->who.account, "/admin/password?done=1");
}

/* --- stories --- */

/* What a story is now: a draft, scheduled, or published. */
static const char *state_of(const struct article *a, int64_t now)
{
	if (strcmp(a->status, "draft") == 0)
		return "draft";
	return a->published_ts > now ? "scheduled" : "published";
}

/* A stored RFC 3339 time as a revision or an audit entry shows it: in site.timezone, to the
 * second (several revisions can come within a minute); text that does not parse as it is. */
static json_t *shown_time(const json_t *at)
{
	struct rfc3339 t;
	const char *s = json_string_value(at);
	if (!s || rfc3339_parse(s, &t) != 0)
		return json_string(s ? s : "");
	time_t utc = (time_t)t.utc;
	struct tm tm;
	char text[32];
	localtime_r(&utc, &tm);
	strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
	return json_string(text);
}

/* shown_time over the named fields (NULL-terminated) of every row that has them. */
static void show_times(json_t *rows, const char *const keys[])
{
	json_t *row;
	size_t i;
	json_array_foreach(rows, i, row)
	{
		for (const char *const *k = keys; *k; k++)
			if (json_is_string(json_object_get(row, *k)))
				json_object_set_new(row, *k, shown_time(json_object_get(row, *k)));
	}
}

/* A time as the editor's datetime-local field shows it: in site.timezone (the process's TZ,
 * set at start), to the second (a save leaves the time as it was). */
static json_t *local_time(int64_t utc)
{
	time_t t = (time_t)utc;
	struct tm tm;
	char text[32];
	localtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_string(text);
}

/* A datetime-local value ("2026-12-02T14:30", seconds optional) in site.timezone as RFC 3339
 * UTC into out; false when it is not one. */
static bool from_local_time(const char *s, struct buf *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &n) != 5)
		return false;
	if (s[n] == ':' && sscanf(s + n + 1, "%2d", &tm.tm_sec) == 1)
		n += 3;
	if (s[n] || tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return false;
	int mon = tm.tm_mon, mday = tm.tm_mday;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mon != mon - 1 || tm.tm_mday != mday)
		return false; /* 31 February */
	rfc3339_format_utc(out, (int64_t)t);
	return true;
}

/* A comma-separated list ("a, b ,c") as a JSON array of its non-empty items. */
static json_t *split_list(const char *s)
{
	json_t *list = json_array();
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *b = s, *e = s + n;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b)
			json_array_append_new(list, json_stringn(b, (size_t)(e - b)));
		s += n + (s[n] == ',');
	}
	return list;
}

static json_t *joined(char **items, size_t n)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", items[i]);
	json_t *s = json_string(buf_str(&b));
	buf_cleanup(&b);
	return s;
}

void admin_stories(struct app *app, const struct request *req, const char *arg,
                   struct response *resp)
{
	(void)arg;
	unsigned pg = request_page(req);
	const char *q = req->query(req, "q");
	const char *author = req->query(req, "author");
	if (!pg || (q && !text_is_utf8(q)) || (author && !article_handle_valid(author))) {
		if (!author || *author || !pg || (q && !text_is_utf8(q))) {
			fail(app, req, resp, 400,
			     "The page, search or author asked for is not valid.");
			return;
		}
		author = NULL;
	}
	if (q && store_words_beyond(q, STORE_SEARCH_WORDS)) {
		fail(app, req, resp, 400, "A search takes at most 8 words.");
		return;
	}
	/* a contributor's list is their own stories, as the API's status=all is (auth.c) */
	const char *own = auth_drafts_of(&req->who);
	int64_t now = handler_now();
	struct store_query sq = {.page = pg,
	                         .per_page = PER_PAGE,
	                         .author = own ? own : author,
	                         .q = q && *q ? q : NULL,
	                         .public_only = false,
	                         .now = now};
	struct article_list list;
	int rc = store_list(app->store, &sq, &list);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct article *a = &list.items[i];
		struct buf when = BUF_INIT;
		render_date(app->cfg, a->published_ts, &when);
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:o}", "slug", a->slug,
		                                       "title", a->title, "state", state_of(a, now),
		                                       "when", buf_str(&when), "authors",
		                                       joined(a->authors, a->nauthors)));
		buf_cleanup(&when);
	}
	unsigned pages = count_pages(list.total, PER_PAGE);
	json_t *ctx = context(req, "Stories");
	json_object_set_new(ctx, "stories", items);
	json_object_set_new(ctx, "total", json_integer(list.total));
	json_object_set_new(ctx, "q", json_string(q && text_is_utf8(q) ? q : ""));
	json_object_set_new(ctx, "author", json_string(author ? author : ""));
	if (pg > 1)
		json_object_set_new(ctx, "prev", json_integer(pg - 1));
	if (pg < pages)
		json_object_set_new(ctx, "next", json_integer(pg + 1));
	article_list_cleanup(&list);
	page(app, req, resp, 200, "stories", ctx);
}

/* A JSON object's string field, or "" when it has none. */
static const char *text_of(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* A picture's fields for the editor: media id, the texts, and the small rendition (from
 * renditions, NULL: none known) as its thumbnail. */
static json_t *image_fields(const char *media, const char *alt, const char *caption,
                            const char *credit, const json_t *renditions)
{
	json_t *img = json_pack("{s:s, s:s, s:s, s:s}", "media", media, "alt", alt, "caption",
	                        caption, "credit", credit);
	const json_t *small = media_small_rendition(renditions);
	if (img && small)
		json_object_set_new(
		    img, "thumb",
		    json_sprintf("/media/%s", json_string_value(json_object_get(small, "path"))));
	return img;
}

/* The editor's values of a story (or of what a form brought, when it could not be saved). */
static json_t *story_fields(const struct app *app, const struct article *a, int64_t now)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:b}", "slug", a->slug,
	                      "title", a->title, "summary", a->summary, "body", a->body, "tags",
	                      joined(a->tags, a->ntags), "authors", joined(a->authors, a->nauthors),
	                      "published_at", local_time(a->published_ts), "state",
	                      state_of(a, now), "draft", strcmp(a->status, "draft") == 0);
	if (a->image) {
		const json_t *im = a->image;
		json_t *img =
		    image_fields(text_of(im, "media"), text_of(im, "alt"), text_of(im, "caption"),
		                 text_of(im, "credit"), json_object_get(im, "renditions"));
		if (img)
			json_object_set_new(o, "image", img);
	}
	json_t *corr = json_array(), *c;
	size_t i;
	json_array_foreach(a->corrections, i, c)
	{
		struct rfc3339 t;
		const char *at = json_string_value(json_object_get(c, "at"));
		struct buf when = BUF_INIT;
		if (at && rfc3339_parse(at, &t) == 0)
			render_date(app->cfg, t.utc, &when);
		json_array_append_new(corr, json_pack("{s:s, s:O}", "when", buf_str(&when), "text",
		                                      json_object_get(c, "text")));
		buf_cleanup(&when);
	}
	json_object_set_new(o, "corrections", corr);
	return o;
}

/* What the form says of a story, as the API's JSON: the same fields, the same rules
 * (article_from_json) after this. old is the story edited (NULL: a new one), image the
 * picture uploaded with it (NULL: none); refused, that one came but was not taken (too large),
 * so the texts sent, written for it, do not go to the picture the story keeps. */
static json_t *story_json(const struct request *req, const struct article *old, const json_t *image,
                          bool refused, int64_t now, char *why, size_t why_len)
{
	json_t *in = json_object();
	static const char *const texts[] = {"title", "body"};
	for (size_t i = 0; i < 2; i++)
		json_object_set_new(in, texts[i], json_string(field(req, texts[i])));
	static const char *const optional[] = {"slug", "summary"};
	for (size_t i = 0; i < 2; i++)
		if (*field(req, optional[i]))
			json_object_set_new(in, optional[i], json_string(field(req, optional[i])));
	json_object_set_new(in, "tags", split_list(field(req, "tags")));
	if (*field(req, "authors"))
		json_object_set_new(in, "authors", split_list(field(req, "authors")));
	if (*field(req, "status"))
		json_object_set_new(in, "status", json_string(field(req, "status")));
	if (*field(req, "published_at")) {
		struct buf at = BUF_INIT;
		if (!from_local_time(field(req, "published_at"), &at)) {
			snprintf(why, why_len,
			         "published_at: must be a date and time, as 2026-12-02T14:30");
			buf_cleanup(&at);
			json_decref(in);
			return NULL;
		}
		json_object_set_new(in, "published_at", json_string(buf_str(&at)));
		buf_cleanup(&at);
	}
	/* what the form does not show is kept as it is */
	if (old) {
		json_object_set_new(in, "source", json_string(old->source));
		json_object_set_new(in, "editor", json_string(old->editor));
		json_object_set_new(in, "author", json_string(old->author));
		if (*old->language)
			json_object_set_new(in, "language", json_string(old->language));
	}
	const char *media =
	    image ? json_string_value(json_object_get(image, "id")) : field(req, "image_media");
	if (*field(req, "image_remove")) {
		json_object_set_new(in, "image", json_null());
	} else if (media && *media) {
		const json_t *kept =
		    refused && old && old->image && strcmp(media, text_of(old->image, "media")) == 0
		        ? old->image
		        : NULL;
		json_object_set_new(
		    in, "image",
		    json_pack("{s:s, s:s, s:s, s:s}", "media", media, "alt",
		              kept ? text_of(kept, "alt") : field(req, "alt"), "caption",
		              kept ? text_of(kept, "caption") : field(req, "caption"), "credit",
		              kept ? text_of(kept, "credit") : field(req, "credit")));
	}
	if (old && *field(req, "correction")) {
		json_t *list = old->corrections ? json_deep_copy(old->corrections) : json_array();
		struct buf at = BUF_INIT;
		rfc3339_format_utc(&at, now);
		json_array_append_new(list, json_pack("{s:s, s:s}", "at", buf_str(&at), "text",
		                                      field(req, "correction")));
		buf_cleanup(&at);
		json_object_set_new(in, "corrections", list);
	}
	/* a field that is not UTF-8 made no string: named, never stored */
	static const char *const all[] = {"title",   "body",    "slug",      "summary",
	                                  "tags",    "authors", "status",    "alt",
	                                  "caption", "credit",  "correction"};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!text_is_utf8(field(req, all[i]))) {
			snprintf(why, why_len, "%s: is not valid UTF-8", all[i]);
			json_decref(in);
			return NULL;
		}
	}
	return in;
}

/* The editor over a story's fields (or NULL: a new one), with an error or notice. */
static void editor_page(struct app *app, const struct request *req, struct response *resp,
                        unsigned status, const struct article *a, json_t *fields, const char *error,
                        const char *notice)
{
	json_t *ctx = context(req, a ? a->title : "New story");
	if (!fields)
		fields = a ? story_fields(app, a, handler_now()) : json_pack("{s:b}", "draft", 1);
	json_object_set_new(ctx, "story", fields);
	json_object_set_new(ctx, "existing", json_boolean(a != NULL));
	if (a)
		json_object_set_new(ctx, "slug", json_string(a->slug));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	json_object_set_new(ctx, "max_mib",
	                    json_integer((json_int_t)(app->cfg->media_max_bytes >> 20)));
	page(app, req, resp, status, "editor", ctx);
}

/* The form's values as they were sent, for the editor shown again after a refusal: old is the
 * story edited (NULL: a new one), image a picture the form brought and the intake took (kept,
 * so it need not be sent again). */
static json_t *sent_fields(const struct request *req, const struct article *old,
                           const json_t *image, int64_t now)
{
	json_t *o = json_object();
	static const char *const names[] = {
	    "title",        "slug", "summary", "body",   "tags",       "authors",    "status",
	    "published_at", "alt",  "caption", "credit", "correction", "image_media"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = field(req, names[i]);
		json_t *s = json_string(v);
		json_object_set_new(o, names[i], s ? s : json_string(""));
	}
	json_object_set_new(o, "draft",
	                    json_boolean(strcmp(field(req, "status"), "published") != 0));
	if (old)
		json_object_set_new(o, "state", json_string(state_of(old, now)));
	const char *media =
	    image ? json_string_value(json_object_get(image, "id")) : field(req, "image_media");
	if (media && *media && !*field(req, "image_remove")) {
		const json_t *renditions = NULL;
		if (image)
			renditions = json_object_get(image, "renditions");
		else if (old && old->image && strcmp(media, text_of(old->image, "media")) == 0)
			renditions = json_object_get(old->image, "renditions");
		json_t *img = image_fields(media, field(req, "alt"), field(req, "caption"),
		                           field(req, "credit"), renditions);
		if (img)
			json_object_set_new(o, "image", img);
	}
	return o;
}

/* The picture the form brought, taken in as POST /api/media takes one. 0 with *stored (NULL
 * when none came), or a status with why filled. */
static int form_image(struct app *app, const struct request *req, json_t **stored, struct buf *why)
{
	const struct form *f = req->form;
	*stored = NULL;
	if (!f || f->file_fd < 0)
		return 0;
	if (f->file_over) {
		buf_printf(why,
		           "The picture is larger than %zu MiB; it was not taken. The story's "
		           "text was saved; choose a smaller picture.",
		           app->cfg->media_max_bytes >> 20);
		return 413;
	}
	if (f->file_failed) {
		buf_puts(why, "The picture could not be stored right now; try again.");
		return 503;
	}
	json_t *texts = json_object(), *given = json_object();
	static const char *const names[] = {"alt", "caption", "credit"};
	for (size_t i = 0; i < 3; i++) {
		json_t *s = json_string(field(req, names[i]));
		json_object_set_new(texts, names[i], json_string(""));
		json_object_set_new(given, names[i], s ? s : json_integer(0));
	}
	struct article_error aerr;
	int status = 0;
	if (article_image_texts(given, "", false, texts, &aerr) < 0) {
		buf_printf(why, "%s: %s", aerr.field, aerr.message);
		status = 422;
	} else {
		status = image_upload(app, req, f->file_fd, f->file_bytes, f->file_type, texts,
		                      stored, why);
		if (status < 0) {
			buf_puts(why, "The picture could not be stored right now; try again.");
			status = 503;
		} else if (*stored) {
			status = 0;
		}
	}
	json_decref(texts);
	json_decref(given);
	return status;
}

void admin_editor(struct app *app, const struct request *req, const char *slug,
                  struct response *resp)
{
	int64_t now = handler_now();
	struct article old;
	article_init(&old);
	bool existing = slug != NULL;
	if (existing) {
		int rc = article_slug_valid(slug) ? store_get(app->store, slug, false, now, &old)
		                                  : -ENOENT;
		if (rc == 0 && !auth_may_preview(&req->who, &old))
			rc = -EACCES;
		if (rc < 0) {
			if (rc == -EACCES)
				fail(app, req, resp, 403,
				     "A contributor may open only their own stories.");
			else
				store_failed(app, req, resp, rc);
			article_cleanup(&old);
			return;
		}
	}
	const struct article *had = existing ? &old : NULL;
	if (req->method != HTTP_POST) {
		editor_page(app, req, resp, 200, had, NULL, NULL,
		            req->query(req, "saved") ? "Saved." : NULL);
		article_cleanup(&old);
		return;
	}
	json_t *image = NULL;
	struct buf why = BUF_INIT;
	int img_status = form_image(app, req, &image, &why);
	if (img_status && img_status != 413) {
		editor_page(app, req, resp, (unsigned)img_status, had,
		            sent_fields(req, had, image, now), buf_str(&why), NULL);
		goto out;
	}
	char msg[300] = "";
	json_t *in = story_json(req, had, image, img_status == 413, now, msg, sizeof(msg));
	struct article a;
	article_init(&a);
	struct article_error aerr;
	if (in && article_from_json(in, ARTICLE_API, now, &a, &aerr) < 0)
		snprintf(msg, sizeof(msg), "%s%s%s", aerr.field, *aerr.field ? ": " : "",
		         aerr.message);
	json_decref(in);
	if (*msg) {
		editor_page(app, req, resp, 422, had, sent_fields(req, had, image, now), msg, NULL);
		article_cleanup(&a);
		goto out;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	int rc = existing ? store_replace_as(app->store, &who, old.slug, &a, now)
	                  : store_create_as(app->store, &who, &a, now);
	if (rc == -EACCES || rc == -EINVAL || rc == -EEXIST) {
		if (rc == -EEXIST)
			snprintf(who.why, sizeof(who.why), "slug: '%s' is taken by another story",
			         a.slug);
		editor_page(app, req, resp,
		            rc == -EACCES   ? 403
		            : rc == -EEXIST ? 409
		                            : 422,
		            had, sent_fields(req, had, image, now), who.why, NULL);
	} else if (rc < 0) {
		store_failed(app, req, resp, rc);
	} else if (img_status == 413) {
		/* the text is kept; the picture that was too large is said to be */
		editor_page(app, req, resp, 413, &a, NULL, buf_str(&why), NULL);
	} else {
		see_other(resp, xasprintf("/admin/stories/%s?saved=1", a.slug));
	}
	article_cleanup(&a);
out:
	buf_cleanup(&why);
	json_decref(image);
	article_cleanup(&old);
}

void admin_preview(struct app *app, const struct request *req, const char *slug,
                   struct response *resp)
{
	int64_t now = handler_now();
	struct article a;
	article_init(&a);
	char *link = NULL;
	int rc = article_slug_valid(slug) ? store_get(app->store, slug, false, now, &a) : -ENOENT;
	if (rc == 0 && !auth_may_preview(&req->who, &a)) {
		fail(app, req, resp, 403, "A contributor may preview only their own stories.");
	} else if (rc == 0 && (rc = preview_link(app, &a, now + 86400, "", &link)) == 0) {
		see_other(resp, link);
	}
	if (rc < 0)
		store_failed(app, req, resp, rc);
	article_cleanup(&a);
}

void admin_revisions(struct app *app, const struct request *req, const char *slug,
                     struct response *resp)
{
	json_t *out = NULL;
	int rc = article_slug_valid(slug) ? store_revisions(app->store, slug, 0, &out) : -ENOENT;
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *list = json_array(), *r;
	size_t i;
	json_array_foreach(json_object_get(out, "revisions"), i, r)
	{
		json_t *art = json_object_get(r, "article");
		json_array_append_new(
		    list,
		    json_pack("{s:O, s:o, s:O, s:O, s:O}", "n", json_object_get(r, "n"), "at",
		              shown_time(json_object_get(r, "at")), "account",
		              json_object_get(r, "account"), "action", json_object_get(r, "action"),
		              "title", art ? json_object_get(art, "title") : json_null()));
	}
	json_decref(out);
	json_t *ctx = context(req, "Revisions");
	json_object_set_new(ctx, "slug", json_string(slug));
	json_object_set_new(ctx, "revisions", list);
	page(app, req, resp, 200, "revisions", ctx);
}

void admin_restore(struct app *app, const struct request *req, const char *slug,
                   struct response *resp)
{
	char *end = NULL;
	long long n = req->arg2 ? strtoll(req->arg2, &end, 10) : 0;
	if (!article_slug_valid(slug) || n < 1 || !end || *end) {
		fail(app, req, resp, 404, "There is no such revision.");
		return;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	struct article a;
	article_init(&a);
	int rc = store_restore_as(app->store, &who, slug, n, handler_now(), &a);
	if (rc == -EACCES || rc == -EINVAL || rc == -EEXIST)
		fail(app, req, resp, rc == -EACCES ? 403 : 409, who.why);
	else if (rc < 0)
		store_failed(app, req, resp, rc);
	else
		see_other(resp, xasprintf("/admin/stories/%s?saved=1", a.slug));
	article_cleanup(&a);
}

/* --- the newsroom: accounts, tokens, webhooks, the audit (an admin's) --- */

static void accounts_page(struct app *app, const struct request *req, struct response *resp,
                          unsigned status, const char *error, const char *notice)
{
	json_t *all = NULL;
	int rc = store_accounts(app->store, 1, 1000, &all);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *ctx = context(req, "Accounts");
	json_t *users = json_object_get(all, "users"), *u;
	size_t i;
	json_array_foreach(users, i, u)
	{
		const char *role = json_string_value(json_object_get(u, "role"));
		json_object_set_new(u, "is_contributor",
		                    json_boolean(role && !strcmp(role, "contributor")));
		json_object_set_new(u, "is_editor", json_boolean(role && !strcmp(role, "editor")));
		json_object_set_new(u, "is_admin", json_boolean(role && !strcmp(role, "admin")));
	}
	json_object_set(ctx, "users", users);
	json_decref(all);
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	page(app, req, resp, status, "accounts", ctx);
}

void admin_accounts(struct app *app, const struct request *req, const char *arg,
                    struct response *resp)
{
	(void)arg;
	if (req->method != HTTP_POST) {
		accounts_page(app, req, resp, 200, NULL, req->query(req, "done") ? "Saved." : NULL);
		return;
	}
	char why[256] = "";
	json_t *acct = NULL;
	json_t *in = json_pack("{s:s, s:s, s:s}", "handle", field(req, "handle"), "name",
	                       field(req, "name"), "role", field(req, "role"));
	if (in && *field(req, "password"))
		json_object_set_new(in, "password", json_string(field(req, "password")));
	if (!in || auth_account_from_json(in, true, &acct, why, sizeof(why)) < 0)
		if (!*why)
			snprintf(why, sizeof(why), "a field is not valid UTF-8");
	json_decref(in);
	int rc = 0;
	if (!*why) {
		struct store_actor who;
		char rid[33];
		routes_actor(req, &who, rid);
		rc = store_account_add(app->store, &who, acct, handler_now());
		if (rc == -EEXIST)
			snprintf(why, sizeof(why), "handle: '%s' is taken", field(req, "handle"));
	}
	json_decref(acct);
	if (*why)
		accounts_page(app, req, resp, rc == -EEXIST ? 409 : 422, why, NULL);
	else if (rc < 0)
		store_failed(app, req, resp, rc);
	else
		see_other(resp, xstrdup("/admin/accounts?done=1"));
}

void admin_account(struct app *app, const struct request *req, const char *handle,
                   struct response *resp)
{
	char why[256] = "";
	json_t *changes = NULL;
	json_t *in = json_object();
	if (*field(req, "role"))
		json_object_set_new(in, "role", json_string(field(req, "role")));
	if (*field(req, "name"))
		json_object_set_new(in, "name", json_string(field(req, "name")));
	if (*field(req, "disabled"))
		json_object_set_new(in, "disabled",
		                    json_boolean(!strcmp(field(req, "disabled"), "1")));
	if (*field(req, "password"))
		json_object_set_new(in, "password", json_string(field(req, "password")));
	if (auth_account_from_json(in, false, &changes, why, sizeof(why)) < 0 && !*why)
		snprintf(why, sizeof(why), "a field is not valid");
	json_decref(in);
	int rc = 0;
	if (!*why) {
		struct store_actor who;
		char rid[33];
		routes_actor(req, &who, rid);
		rc = store_account_update(app->store, &who, handle, changes, handler_now(), NULL);
	}
	json_decref(changes);
	if (*why)
		accounts_page(app, req, resp, 422, why, NULL);
	else if (rc < 0)
		store_failed(app, req, resp, rc);
	else
		see_other(resp, xstrdup("/admin/accounts?done=1"));
}

static void tokens_page(struct app *app, const struct request *req, struct response *resp,
                        unsigned status, const char *error, const char *token)
{
	json_t *all = NULL;
	int rc = store_tokens(app->store, &all);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *ctx = context(req, "Tokens");
	show_times(json_object_get(all, "tokens"),
	           (const char *const[]){"last_used_at", "expires_at", "revoked_at", NULL});
	json_object_set(ctx, "tokens", json_object_get(all, "tokens"));
	json_decref(all);
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (token)
		json_object_set_new(ctx, "token", json_string(token));
	page(app, req, resp, status, "tokens", ctx);
}

void admin_tokens(struct app *app, const struct request *req, const char *arg,
                  struct response *resp)
{
	(void)arg;
	if (req->method != HTTP_POST) {
		tokens_page(app, req, resp, 200, NULL, NULL);
		return;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	json_t *in = json_pack("{s:s}", "name", *field(req, "name") ? field(req, "name") : "api");
	if (in && *field(req, "expires_days"))
		json_object_set_new(in, "expires_days",
		                    json_integer(strtol(field(req, "expires_days"), NULL, 10)));
	char name[401];
	unsigned days = 0;
	int ok = in ? auth_token_options(in, name, &days, who.why, sizeof(who.why)) : -1;
	json_decref(in);
	if (ok < 0) {
		tokens_page(app, req, resp, 422, *who.why ? who.why : "name: not valid UTF-8",
		            NULL);
		return;
	}
	char token[SECRET_TOKEN_LEN + 1];
	json_t *t = NULL;
	int rc = auth_token_issue(app->store, &who, field(req, "handle"), name, days, handler_now(),
	                          token, &t);
	json_decref(t);
	if (rc == -ENOENT)
		tokens_page(app, req, resp, 422, "handle: there is no such account", NULL);
	else if (rc < 0)
		store_failed(app, req, resp, rc);
	else /* shown this once, on this page: never in a redirect's URL */
		tokens_page(app, req, resp, 201, NULL, token);
	memset(token, 0, sizeof(token));
}

void admin_token_revoke(struct app *app, const struct request *req, const char *id,
                        struct response *resp)
{
	char *end = NULL;
	long long n = strtoll(id, &end, 10);
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	int rc = n > 0 && end && !*end ? store_token_revoke(app->store, &who, n, handler_now())
	                               : -ENOENT;
	if (rc < 0 && rc != -EALREADY)
		store_failed(app, req, resp, rc);
	else
		see_other(resp, xstrdup("/admin/tokens"));
}

static void webhooks_page(struct app *app, const struct request *req, struct response *resp,
                          unsigned status, const char *error, const json_t *made)
{
	json_t *all = NULL;
	int rc = store_webhooks(app->store, &all);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *ctx = context(req, "Webhooks");
	json_t *list = json_array(), *h;
	size_t i;
	json_array_foreach(json_object_get(all, "webhooks"), i, h)
	{
		json_t *events = json_object_get(h, "events");
		struct buf ev = BUF_INIT;
		size_t j;
		json_t *e;
		json_array_foreach(events, j, e)
		    buf_printf(&ev, "%s%s", j ? ", " : "", json_string_value(e));
		json_array_append_new(
		    list, json_pack("{s:O, s:O, s:O, s:s}", "id", json_object_get(h, "id"), "url",
		                    json_object_get(h, "url"), "active",
		                    json_object_get(h, "active"), "events", buf_str(&ev)));
		buf_cleanup(&ev);
	}
	json_decref(all);
	json_object_set_new(ctx, "webhooks", list);
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (made)
		json_object_set_new(ctx, "secret", json_incref(json_object_get(made, "secret")));
	page(app, req, resp, status, "webhooks", ctx);
}

void admin_webhooks(struct app *app, const struct request *req, const char *arg,
                    struct response *resp)
{
	(void)arg;
	if (req->method != HTTP_POST) {
		webhooks_page(app, req, resp, 200, NULL, NULL);
		return;
	}
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	json_t *in = json_pack("{s:s}", "url", field(req, "url")), *hook = NULL;
	if (in && *field(req, "events"))
		json_object_set_new(in, "events", split_list(field(req, "events")));
	if (!in || outbox_webhook_fields(app->outbox, in, false, app->cfg->webhooks_allow_private,
	                                 &hook, who.why, sizeof(who.why)) < 0) {
		webhooks_page(app, req, resp, 422, *who.why ? who.why : "url: not valid UTF-8",
		              NULL);
		json_decref(in);
		return;
	}
	json_decref(in);
	int rc = store_webhook_add(app->store, &who, hook, handler_now());
	if (rc == -ENOSPC)
		webhooks_page(app, req, resp, 409, "A newsroom has at most 100 webhooks.", NULL);
	else if (rc < 0)
		store_failed(app, req, resp, rc);
	else /* its secret, this once: the receiver checks signatures with it */
		webhooks_page(app, req, resp, 201, NULL, hook);
	json_decref(hook);
}

void admin_webhook_delete(struct app *app, const struct request *req, const char *id,
                          struct response *resp)
{
	char *end = NULL;
	long long n = strtoll(id, &end, 10);
	struct store_actor who;
	char rid[33];
	routes_actor(req, &who, rid);
	int rc = n > 0 && end && !*end ? store_webhook_delete(app->store, &who, n, handler_now())
	                               : -ENOENT;
	if (rc < 0)
		store_failed(app, req, resp, rc);
	else
		see_other(resp, xstrdup("/admin/webhooks"));
}

void admin_audit(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	unsigned pg = request_page(req);
	if (!pg) {
		fail(app, req, resp, 400, "The page asked for is not valid.");
		return;
	}
	json_t *out = NULL;
	int rc = store_audit(app->store, pg, 50, &out);
	if (rc < 0) {
		store_failed(app, req, resp, rc);
		return;
	}
	json_t *ctx = context(req, "Audit log");
	show_times(json_object_get(out, "entries"), (const char *const[]){"at", NULL});
	json_object_set(ctx, "entries", json_object_get(out, "entries"));
	unsigned pages =
	    count_pages((unsigned)json_integer_value(json_object_get(out, "total")), 50);
	if (pg > 1)
		json_object_set_new(ctx, "prev", json_integer(pg - 1));
	if (pg < pages)
		json_object_set_new(ctx, "next", json_integer(pg + 1));
	json_decref(out);
	page(app, req, resp, 200, "audit", ctx);
}
