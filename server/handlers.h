/* handlers.h - between the route table (routes.c) and the handlers behind it (page.c, api.c,
 * feed.c, files.c): the handlers, and the answers and readings they all share. */
#ifndef GAZETTE_HANDLERS_H
#define GAZETTE_HANDLERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "article.h"
#include "routes.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define HTML_TYPE "text/html; charset=utf-8"
#define XML_TYPE  "application/xml; charset=utf-8"

/* A handler answers req into resp; arg is what its pattern's '*' captured (else NULL). */
typedef void (*handler_fn)(struct app *app, const struct request *req, const char *arg,
                           struct response *resp);

/* page.c */
void page_front(struct app *app, const struct request *req, const char *arg, struct response *resp);
void page_tag(struct app *app, const struct request *req, const char *tag, struct response *resp);
void page_search(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
void page_article(struct app *app, const struct request *req, const char *slug,
                  struct response *resp);
void page_author(struct app *app, const struct request *req, const char *handle,
                 struct response *resp);
/* GET /preview/{slug}?expires=T&sig=S: a draft as it will look, for whoever has the link. */
void page_preview(struct app *app, const struct request *req, const char *slug,
                  struct response *resp);
/* feed.c */
void feed_atom(struct app *app, const struct request *req, const char *arg, struct response *resp);
void feed_sitemap(struct app *app, const struct request *req, const char *arg,
                  struct response *resp);
void feed_news_sitemap(struct app *app, const struct request *req, const char *arg,
                       struct response *resp);
/* files.c */
void files_static(struct app *app, const struct request *req, const char *rel,
                  struct response *resp);
void files_root(struct app *app, const struct request *req, const char *arg, struct response *resp);
/* GET /media/{path}: a rendition from paths.media, cached by anyone for a year. */
void files_media(struct app *app, const struct request *req, const char *rel,
                 struct response *resp);
/* What identifies a file's bytes without reading them (for its ETag and its cache key). */
uint64_t files_tag(const struct stat *st);
/* api.c */
void api_healthz(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
/* GET /metrics: the Prometheus text format (SPEC §16); routes_permit checked the address. */
void api_metrics(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
void api_articles(struct app *app, const struct request *req, const char *arg,
                  struct response *resp);
/* GET /api/ninjs/{slug}: a story as ninjs 3.1; POST /api/ninjs: a ninjs document upserted. */
void api_ninjs(struct app *app, const struct request *req, const char *arg, struct response *resp);
void api_article(struct app *app, const struct request *req, const char *slug,
                 struct response *resp);
/* the newsroom (SPEC §11): revisions, restore, preview links, accounts, tokens, the audit */
void api_revisions(struct app *app, const struct request *req, const char *slug,
                   struct response *resp);
void api_restore(struct app *app, const struct request *req, const char *slug,
                 struct response *resp);
void api_preview(struct app *app, const struct request *req, const char *slug,
                 struct response *resp);
void api_me(struct app *app, const struct request *req, const char *arg, struct response *resp);
void api_users(struct app *app, const struct request *req, const char *arg, struct response *resp);
void api_user(struct app *app, const struct request *req, const char *handle,
              struct response *resp);
void api_user_tokens(struct app *app, const struct request *req, const char *handle,
                     struct response *resp);
void api_tokens(struct app *app, const struct request *req, const char *id, struct response *resp);
void api_audit(struct app *app, const struct request *req, const char *arg, struct response *resp);
/* images (SPEC §12): GET a page of them, POST one (on a worker: the body is in req->body_fd);
 * GET, PATCH (alt, caption, credit), DELETE one */
void api_media(struct app *app, const struct request *req, const char *arg, struct response *resp);
void api_webhooks(struct app *app, const struct request *req, const char *arg,
                  struct response *resp);
void api_webhook(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
void api_deliveries(struct app *app, const struct request *req, const char *arg,
                    struct response *resp);
void api_media_item(struct app *app, const struct request *req, const char *id,
                    struct response *resp);

/* The one way an image is taken in (api.c; on a worker): the len bytes in fd, of the declared
 * Content-Type, with texts ({"alt", "caption", "credit"}, checked), through media_intake to a
 * stored record in *stored (a new reference): 201, or 200 when the same bytes were stored
 * before. A refusal is its status (413, 415, 422, 503) with why filled and *stored NULL; a
 * store error is negative. */
int image_upload(struct app *app, const struct request *req, int fd, size_t len,
                 const char *declared, const json_t *texts, json_t **stored, struct buf *why);

/* A story's signed preview link (SPEC §11), good until expires, after base ("" for a path);
 * *out the caller's. 0 or the store's error. */
int preview_link(const struct app *app, const struct article *a, int64_t expires, const char *base,
                 char **out);

/* admin.c: the editor's pages (SPEC §14) */
void admin_home(struct app *app, const struct request *req, const char *arg, struct response *resp);
void admin_setup(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
void admin_login(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);
void admin_logout(struct app *app, const struct request *req, const char *arg,
                  struct response *resp);
void admin_password(struct app *app, const struct request *req, const char *arg,
                    struct response *resp);
void admin_stories(struct app *app, const struct request *req, const char *arg,
                   struct response *resp);
void admin_editor(struct app *app, const struct request *req, const char *slug,
                  struct response *resp);
void admin_preview(struct app *app, const struct request *req, const char *slug,
                   struct response *resp);
void admin_revisions(struct app *app, const struct request *req, const char *slug,
                     struct response *resp);
void admin_restore(struct app *app, const struct request *req, const char *slug,
                   struct response *resp);
void admin_accounts(struct app *app, const struct request *req, const char *arg,
                    struct response *resp);
void admin_account(struct app *app, const struct request *req, const char *handle,
                   struct response *resp);
void admin_tokens(struct app *app, const struct request *req, const char *arg,
                  struct response *resp);
void admin_token_revoke(struct app *app, const struct request *req, const char *id,
                        struct response *resp);
void admin_webhooks(struct app *app, const struct request *req, const char *arg,
                    struct response *resp);
void admin_webhook_delete(struct app *app, const struct request *req, const char *id,
                          struct response *resp);
void admin_audit(struct app *app, const struct request *req, const char *arg,
                 struct response *resp);

/* --- answers (routes.c): one writer per format --- */

/* value as the JSON body (the reference is taken); a value that cannot be written is a 500. */
/* keys (surrogate.h's, emptied) become resp's Surrogate-Key when resp is cacheable. */
void answer_surrogate(struct response *resp, struct buf *keys);
void answer_json(struct response *resp, unsigned status, json_t *value);
void answer_json_errorf(struct response *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error page of the templates (a bare one if they fail), never cached. */
void answer_page_error(const struct app *app, struct response *resp, unsigned status,
                       const char *message);
/* An editor's page's error (templates/admin/error), never kept, never indexed. */
void answer_admin_error(const struct app *app, struct response *resp, unsigned status,
                        const char *message);
/* An error in the request's own format: JSON under /api/ and /healthz, the page elsewhere. */
void answer_error(const struct app *app, const struct request *req, struct response *resp,
                  unsigned status, const char *message);
void answer_not_found(const struct app *app, const struct request *req, struct response *resp);
/* What a negative store result means to a client: one errno, one status, everywhere. */
void answer_store_failed(const struct app *app, const struct request *req, struct response *resp,
                         int rc);
/* When slug is a renamed story's old one and the story is one the reader may see (public_only),
 * a 301 to prefix and its slug now, and true (page.c). */
bool answer_moved(struct app *app, const char *slug, const char *prefix, bool public_only,
                  int64_t now, struct response *resp);
/* A page rendered into resp (rc 0), or a logged 500 (err says why); frees err. */
void answer_rendered(const struct app *app, const struct request *req, struct response *resp,
                     int rc, struct buf *err);

/* --- readings --- */

/* The accounts of a's byline as render_story wants them ([{"handle", "name"}]; a handle whose
 * account is gone shows as itself). A new reference. */
json_t *story_people(const struct app *app, const struct article *a);

int64_t handler_now(void);
/* ?page: a positive number; missing is 1; anything else 0. */
unsigned request_page(const struct request *req);
bool text_is_utf8(const char *s);
/* The number of pages of total items, at least 1. */
unsigned count_pages(unsigned total, unsigned per_page);

/* --- Last-Modified: from content, never from the clock (SPEC §5) --- */

/* When a record last changed as a reader sees it. */
int64_t content_shown_since(const struct article *a, int64_t now);
/* When a listing last changed: the store's content, or the templates that draw it. */
int64_t content_listing_changed(const struct app *app, int64_t store_changed);
/* store_changed_at, or false with resp filled. */
bool content_changed_at(const struct app *app, const struct request *req, struct response *resp,
                        int64_t now, int64_t *out);

static inline int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

#endif
