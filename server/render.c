/* render.c - builds each page's context from records and renders it with its template. */
#include "render.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "escape.h"
#include "media.h"
#include "mem.h"
#include "rfc3339.h"
#include "template.h"

/* A loaded template set; counted references let a reload swap sets under running renders. */
struct tpl_ref {
	struct tpl_set *set;
	atomic_int refs;
};

struct render {
	const struct config *cfg;
	json_t *site;
	pthread_mutex_t lock; /* guards cur, only for the moment of taking a reference */
	struct tpl_ref *cur;
	atomic_uint_fast64_t version;
	_Atomic int64_t changed_at;
};

static const char *const required[] = {"layout", "index", "article", "placeholder", "error", "tag",
                                       "search", "feed",  "sitemap", "news-sitemap"};

static struct tpl_ref *load(const struct config *cfg, struct buf *err)
{
	struct tpl_set *set = tpl_set_new();
	if (tpl_set_load_dir(set, cfg->templates, err) < 0) {
		tpl_set_free(set);
		return NULL;
	}
	/* the editor's pages (SPEC §14), when the folder has them */
	char *admin = xasprintf("%s/admin", cfg->templates);
	struct stat st;
	int rc = stat(admin, &st) == 0 && S_ISDIR(st.st_mode)
	             ? tpl_set_load_dir_as(set, admin, "admin/", err)
	             : 0;
	free(admin);
	if (rc < 0) {
		tpl_set_free(set);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!tpl_set_get(set, required[i])) {
			buf_printf(err, "%s/%s.mustache: missing (every site needs it)",
			           cfg->templates, required[i]);
			tpl_set_free(set);
			return NULL;
		}
	}
	struct tpl_ref *ref = xcalloc(1, sizeof(*ref));
	ref->set = set;
	atomic_init(&ref->refs, 1);
	return ref;
}

static int64_t mtime_of(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 ? (int64_t)st.st_mtime : 0;
}

/* The newest modification time among the template files and the configuration file. */
static int64_t sources_changed(const struct config *cfg)
{
	int64_t t = mtime_of(cfg->file);
	DIR *d = opendir(cfg->templates);
	if (!d)
		return t;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 9 || strcmp(de->d_name + n - 9, ".mustache") != 0)
			continue;
		char *path = xasprintf("%s/%s", cfg->templates, de->d_name);
		int64_t m = mtime_of(path);
		free(path);
		if (m > t)
			t = m;
	}
	closedir(d);
	return t;
}

static void ref_put(struct tpl_ref *ref)
{
	if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
		tpl_set_free(ref->set);
		free(ref);
	}
}

static struct tpl_ref *ref_get(struct render *r)
{
	pthread_mutex_lock(&r->lock);
	struct tpl_ref *ref = r->cur;
	atomic_fetch_add(&ref->refs, 1);
	pthread_mutex_unlock(&r->lock);
	return ref;
}

struct render *render_new(const struct config *cfg, struct buf *err)
{
	struct tpl_ref *ref = load(cfg, err);
	if (!ref)
		return NULL;
	struct render *r = xcalloc(1, sizeof(*r));
	r->cfg = cfg;
	r->cur = ref;
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->version, 1);
	atomic_init(&r->changed_at, sources_changed(cfg));
	/* websub_hub: the feed names its hub (SPEC §13); "" leaves the link out */
	r->site =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "title", cfg->site_title, "description",
	              cfg->site_description, "language", cfg->site_language, "base_url",
	              cfg->base_url, "websub_hub", cfg->websub_hub, "timezone", cfg->site_timezone);
	if (!r->site) {
		/* config_load refuses text that is not UTF-8; this is the last line of defence */
		buf_puts(err, "site: a value is not valid UTF-8");
		render_free(r);
		return NULL;
	}
	return r;
}

void render_free(struct render *r)
{
	if (!r)
		return;
	ref_put(r->cur);
	json_decref(r->site);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int render_reload(struct render *r, struct buf *err)
{
	struct tpl_ref *ref = load(r->cfg, err);
	if (!ref)
		return -1;
	pthread_mutex_lock(&r->lock);
	struct tpl_ref *old = r->cur;
	r->cur = ref;
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->version, 1);
	atomic_store(&r->changed_at, sources_changed(r->cfg));
	ref_put(old);
	return 0;
}

int64_t render_changed_at(struct render *r)
{
	return atomic_load(&r->changed_at);
}

uint64_t render_version(struct render *r)
{
	return atomic_load(&r->version);
}

void render_date(const struct config *cfg, int64_t utc, struct buf *out)
{
	/* TZ was set to site.timezone once at start, so localtime_r converts to it */
	time_t t = (time_t)utc;
	struct tm tm;
	localtime_r(&t, &tm);
	char text[128];
	size_t n = strftime(text, sizeof(text), cfg->site_date_format, &tm);
	buf_append(out, text, n);
}

static json_t *date_string(const struct config *cfg, int64_t utc)
{
	struct buf b = BUF_INIT;
	render_date(cfg, utc, &b);
	json_t *s = json_stringn(buf_str(&b), b.len);
	buf_cleanup(&b);
	return s;
}

static json_t *tag_links(const struct article *a)
{
	json_t *tags = json_array();
	for (size_t i = 0; i < a->ntags; i++) {
		char *url = article_tag_path(a->tags[i], NULL);
		json_array_append_new(tags,
		                      json_pack("{s:s, s:s}", "name", a->tags[i], "url", url));
		free(url);
	}
	return tags;
}

/* The record as templates see it: the API's JSON plus display fields. */
/* A story's picture as the templates draw it: the srcsets of both types, the fallback, the
 * share previews' JPEG (absolute, with its size) and a teaser's small one. NULL: none. */
static json_t *picture_context(const struct config *cfg, const struct article *a)
{
	const json_t *rs = a->image ? json_object_get(a->image, "renditions") : NULL;
	const json_t *main = media_main_rendition(rs);
	if (!main)
		return NULL;
	struct buf webp = BUF_INIT, jpeg = BUF_INIT;
	media_srcset(&webp, rs, "image/webp", "");
	media_srcset(&jpeg, rs, "image/jpeg", "");
	const char *path = json_string_value(json_object_get(main, "path"));
	const json_t *small = media_small_rendition(rs);
	json_t *o = json_pack(
	    "{s:O, s:O, s:O, s:O, s:O, s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s}", "alt",
	    json_object_get(a->image, "alt"), "caption", json_object_get(a->image, "caption"),
	    "credit", json_object_get(a->image, "credit"), "width",
	    json_object_get(a->image, "width"), "height", json_object_get(a->image, "height"),
	    "webp_srcset", buf_str(&webp), "jpeg_srcset", buf_str(&jpeg), "sizes", MEDIA_SIZES,
	    "teaser_sizes", MEDIA_TEASER_SIZES, "share_type", "image/jpeg", "share_width",
	    json_object_get(main, "width"), "share_height", json_object_get(main, "height"),
	    "teaser_type", "image/jpeg");
	if (o) {
		json_object_set_new(o, "src", json_sprintf("/media/%s", path));
		json_object_set_new(o, "share_url",
		                    json_sprintf("%s/media/%s", cfg->base_url, path));
		json_object_set_new(
		    o, "teaser_src",
		    json_sprintf("/media/%s", json_string_value(json_object_get(small, "path"))));
		json_object_set(o, "teaser_width", json_object_get(small, "width"));
		json_object_set(o, "teaser_height", json_object_get(small, "height"));
		json_object_set_new(
		    o, "has_caption",
		    json_boolean(*json_string_value(json_object_get(o, "caption")) ||
		                 *json_string_value(json_object_get(o, "credit"))));
	}
	buf_cleanup(&webp);
	buf_cleanup(&jpeg);
	return o;
}

static json_t *article_context(const struct config *cfg, const struct article *a, bool with_body)
{
	json_t *o = article_to_json(a, cfg->base_url, cfg->site_language, with_body);
	json_t *picture = picture_context(cfg, a);
	json_object_set_new(o, "picture", picture ? picture : json_false());
	char *path = article_path(a);
	json_object_set_new(o, "path", json_string(path));
	free(path);
	json_object_set_new(o, "date", date_string(cfg, a->published_ts));
	json_object_set_new(o, "updated_date", date_string(cfg, a->updated_ts));
	json_object_set_new(o, "tag_links", tag_links(a));
	json_object_set_new(o, "has_tags", json_boolean(a->ntags > 0));
	return o;
}

static json_t *page_context(struct render *r, const char *title, const char *description,
                            const char *path)
{
	char *canonical = xasprintf("%s%s", r->cfg->base_url, path);
	json_t *ctx = json_object();
	json_object_set(ctx, "site", r->site);
	/* page.language is the page's (a story's own on its page), for <html lang> */
	json_object_set_new(ctx, "page",
	                    json_pack("{s:s, s:s, s:s, s:s}", "title", title ? title : "",
	                              "description", description ? description : "", "canonical",
	                              canonical, "language", r->cfg->site_language));
	free(canonical);
	return ctx;
}

static int render_page(struct render *r, const char *name, json_t *ctx, struct buf *out,
                       struct buf *err)
{
	if (!ctx) {
		buf_printf(err, "%s: the page's values could not be put together", name);
		return -1;
	}
	struct tpl_ref *ref = ref_get(r);
	const struct tpl *t = tpl_set_get(ref->set, name);
	int rc = t ? tpl_render(ref->set, t, ctx, out, err) : -1;
	if (!t)
		buf_printf(err, "no template '%s'", name);
	ref_put(ref);
	json_decref(ctx);
	return rc;
}

char *render_author_path(const char *handle, const char *base_url)
{
	return xasprintf("%s/authors/%s", base_url ? base_url : "", handle);
}

/* The names of a story's byline: its accounts' (with their pages), then the free-text
 * author; each with the words before it (", ", " and "). Never the editor. */
static json_t *bylines(const struct render_story *st)
{
	json_t *names = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(st->authors, i, p)
	{
		char *url =
		    render_author_path(json_string_value(json_object_get(p, "handle")), NULL);
		json_array_append_new(
		    names, json_pack("{s:O, s:s}", "name", json_object_get(p, "name"), "url", url));
		free(url);
	}
	if (*st->a->author) /* no page: false, or {{#url}} would find the story's own */
		json_array_append_new(names,
		                      json_pack("{s:s, s:b}", "name", st->a->author, "url", 0));
	size_t n = json_array_size(names);
	json_array_foreach(names, i, p)
	{
		json_object_set_new(p, "sep",
		                    json_string(i == 0       ? ""
		                                : i + 1 == n ? " and "
		                                             : ", "));
	}
	return names;
}

void render_jsonld(const struct config *cfg, const struct render_story *st, struct buf *out)
{
	const struct article *a = st->a;
	char *url = article_url(a, cfg->base_url);
	/* a correction moves dateModified (SPEC §11) */
	struct buf modified = BUF_INIT;
	int64_t corrected = article_corrected_ts(a);
	if (corrected > a->updated_ts)
		rfc3339_format_utc(&modified, corrected);
	else
		buf_puts(&modified, a->updated_at);
	json_t *ld = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "@context",
	                       "https://schema.org", "@type", "NewsArticle", "headline", a->title,
	                       "description", a->summary, "datePublished", a->published_at,
	                       "dateModified", buf_str(&modified), "url", url, "publisher", "@type",
	                       "Organization", "name", cfg->site_title);
	buf_cleanup(&modified);
	json_t *people = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(st->authors, i, p)
	{
		char *page = render_author_path(json_string_value(json_object_get(p, "handle")),
		                                cfg->base_url);
		json_array_append_new(people,
		                      json_pack("{s:s, s:O, s:s}", "@type", "Person", "name",
		                                json_object_get(p, "name"), "url", page));
		free(page);
	}
	if (*a->author)
		json_array_append_new(
		    people, json_pack("{s:s, s:s}", "@type", "Person", "name", a->author));
	if (json_array_size(people))
		json_object_set_new(ld, "author", people);
	else
		json_decref(people);
	if (a->ntags) {
		json_t *kw = json_array();
		for (size_t t = 0; t < a->ntags; t++)
			json_array_append_new(kw, json_string(a->tags[t]));
		json_object_set_new(ld, "keywords", kw);
	}
	if (json_array_size(a->corrections)) {
		json_t *fixes = json_array();
		json_array_foreach(a->corrections, i, p)
		{
			json_array_append_new(
			    fixes, json_pack("{s:s, s:O, s:O}", "@type", "CorrectionComment",
			                     "text", json_object_get(p, "text"), "datePublished",
			                     json_object_get(p, "at")));
		}
		json_object_set_new(ld, "correction", fixes);
	}
	const json_t *rs = a->image ? json_object_get(a->image, "renditions") : NULL;
	const json_t *main = media_main_rendition(rs);
	if (main) {
		json_t *img =
		    json_pack("{s:s, s:o, s:O, s:O}", "@type", "ImageObject", "url",
		              json_sprintf("%s/media/%s", cfg->base_url,
		                           json_string_value(json_object_get(main, "path"))),
		              "width", json_object_get(main, "width"), "height",
		              json_object_get(main, "height"));
		const char *caption = json_string_value(json_object_get(a->image, "caption"));
		const char *credit = json_string_value(json_object_get(a->image, "credit"));
		if (img && caption && *caption)
			json_object_set_new(img, "caption", json_string(caption));
		if (img && credit && *credit)
			json_object_set_new(img, "creditText", json_string(credit));
		if (img)
			json_object_set_new(ld, "image", json_pack("[o]", img));
	}
	json_object_set_new(ld, "inLanguage", json_string(article_language(a, cfg->site_language)));
	json_object_set_new(ld, "mainEntityOfPage", json_string(url));
	free(url);
	char *text = ld ? json_dumps(ld, JSON_COMPACT) : NULL;
	json_decref(ld);
	if (!text)
		return; /* stored records are valid UTF-8; without one, no JSON-LD rather than a
		           crash */
	/* outside strings JSON has none of these characters, so replacing them is always safe */
	for (const char *c = text; *c; c++) {
		switch (*c) {
		case '<': buf_puts(out, "\\u003c"); break;
		case '>': buf_puts(out, "\\u003e"); break;
		case '&': buf_puts(out, "\\u0026"); break;
		default: buf_putc(out, *c);
		}
	}
	free(text);
}

/* The corrections as the page shows them: each with its date in the site's format. */
static json_t *correction_notes(const struct config *cfg, const struct article *a)
{
	json_t *notes = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(a->corrections, i, c)
	{
		struct rfc3339 t;
		const char *at = json_string_value(json_object_get(c, "at"));
		json_t *note =
		    json_pack("{s:s, s:O}", "at", at ? at : "", "text", json_object_get(c, "text"));
		if (at && rfc3339_parse(at, &t) == 0)
			json_object_set_new(note, "date", date_string(cfg, t.utc));
		json_array_append_new(notes, note);
	}
	return notes;
}

int render_article(struct render *r, const struct render_story *st, struct buf *out,
                   struct buf *err)
{
	const struct article *a = st->a;
	char *path = article_path(a);
	json_t *ctx = page_context(r, a->title, a->summary, path);
	free(path);
	json_object_set_new(json_object_get(ctx, "page"), "language",
	                    json_string(article_language(a, r->cfg->site_language)));
	json_t *o = article_context(r->cfg, a, true);
	json_t *names = bylines(st);
	json_object_set_new(o, "has_byline", json_boolean(json_array_size(names) > 0));
	json_object_set_new(o, "bylines", names);
	json_object_set_new(o, "correction_notes", correction_notes(r->cfg, a));
	json_object_set_new(o, "has_corrections",
	                    json_boolean(json_array_size(a->corrections) > 0));
	json_object_set_new(ctx, "article", o);
	json_object_set_new(ctx, "preview", json_boolean(st->preview));
	struct buf ld = BUF_INIT;
	render_jsonld(r->cfg, st, &ld);
	json_object_set_new(ctx, "jsonld", json_stringn(buf_str(&ld), ld.len));
	buf_cleanup(&ld);
	return render_page(r, "article", ctx, out, err);
}

/* Adds articles and pagination links to a listing page's context. */
static void add_listing(struct render *r, json_t *ctx, const struct render_listing *l,
                        const char *base)
{
	json_t *items = json_array();
	for (size_t i = 0; i < l->list->n; i++)
		json_array_append_new(items, article_context(r->cfg, &l->list->items[i], false));
	json_object_set_new(ctx, "articles", items);
	json_object_set_new(ctx, "total", json_integer(l->list->total));
	json_t *pg = json_pack("{s:i, s:i, s:b}", "page", (int)l->page, "pages", (int)l->pages,
	                       "more", l->pages > 1);
	const char *sep = strchr(base, '?') ? "&" : "?";
	if (l->page > 1) {
		char *prev =
		    l->page == 2 ? xstrdup(base) : xasprintf("%s%spage=%u", base, sep, l->page - 1);
		json_object_set_new(pg, "prev", json_string(prev));
		free(prev);
	}
	if (l->page < l->pages) {
		char *next = xasprintf("%s%spage=%u", base, sep, l->page + 1);
		json_object_set_new(pg, "next", json_string(next));
		free(next);
	}
	json_object_set_new(ctx, "pagination", pg);
}

static char *page_path(const char *base, unsigned page)
{
	if (page <= 1)
		return xstrdup(base);
	return xasprintf("%s%spage=%u", base, strchr(base, '?') ? "&" : "?", page);
}

int render_index(struct render *r, const struct render_listing *l, struct buf *out, struct buf *err)
{
	char *path = page_path("/", l->page);
	json_t *ctx = page_context(r, NULL, r->cfg->site_description, path);
	free(path);
	add_listing(r, ctx, l, "/");
	return render_page(r, "index", ctx, out, err);
}

int render_author(struct render *r, const json_t *account, const struct render_listing *l,
                  struct buf *out, struct buf *err)
{
	const char *handle = json_string_value(json_object_get(account, "handle"));
	const char *name = json_string_value(json_object_get(account, "name"));
	char *base = render_author_path(handle ? handle : "", NULL);
	char *path = page_path(base, l->page);
	const char *bio = json_string_value(json_object_get(account, "bio"));
	char *description =
	    bio && *bio ? xstrdup(bio)
	                : xasprintf("Stories by %s on %s", name ? name : "", r->cfg->site_title);
	json_t *ctx = page_context(r, name, description, path);
	free(description);
	json_object_set_new(ctx, "author",
	                    json_pack("{s:s, s:s, s:s}", "handle", handle ? handle : "", "name",
	                              name ? name : "", "bio", bio ? bio : ""));
	json_object_set_new(ctx, "tag", json_string(name ? name : ""));
	add_listing(r, ctx, l, base);
	free(path);
	free(base);
	/* a template folder from before author pages draws them as a tag's */
	struct tpl_ref *ref = ref_get(r);
	bool own = tpl_set_get(ref->set, "author") != NULL;
	ref_put(ref);
	return render_page(r, own ? "author" : "tag", ctx, out, err);
}

int render_tag(struct render *r, const struct render_listing *l, struct buf *out, struct buf *err)
{
	char *base = article_tag_path(l->tag, NULL);
	char *path = page_path(base, l->page);
	char *description = xasprintf("Stories tagged “%s” on %s", l->tag, r->cfg->site_title);
	json_t *ctx = page_context(r, l->tag, description, path);
	free(description);
	json_object_set_new(ctx, "tag", json_string(l->tag));
	add_listing(r, ctx, l, base);
	free(path);
	free(base);
	return render_page(r, "tag", ctx, out, err);
}

int render_search(struct render *r, const struct render_listing *l, struct buf *out,
                  struct buf *err)
{
	struct buf base = BUF_INIT;
	buf_puts(&base, "/search?q=");
	escape_url(&base, l->q, strlen(l->q));
	char *path = page_path(buf_str(&base), l->page);
	char *description = *l->q
	                        ? xasprintf("Stories on %s matching “%s”", r->cfg->site_title, l->q)
	                        : xasprintf("Search the stories of %s", r->cfg->site_title);
	json_t *ctx = page_context(r, "Search", description, path);
	free(description);
	json_object_set_new(ctx, "q", json_string(l->q));
	if (l->left_out) {
		json_object_set_new(ctx, "left_out", json_string(l->left_out));
		json_object_set_new(ctx, "max_words", json_integer(STORE_SEARCH_WORDS));
	}
	add_listing(r, ctx, l, buf_str(&base));
	free(path);
	buf_cleanup(&base);
	return render_page(r, "search", ctx, out, err);
}

int render_document(struct render *r, const char *name, json_t *ctx, struct buf *out,
                    struct buf *err)
{
	if (ctx)
		json_object_set(ctx, "site", r->site);
	return render_page(r, name, ctx, out, err);
}

int render_admin(struct render *r, const char *name, json_t *ctx, struct buf *out, struct buf *err)
{
	if (ctx)
		json_object_set(ctx, "site", r->site);
	char *full = xasprintf("admin/%s", name);
	int rc = render_page(r, full, ctx, out, err);
	free(full);
	return rc;
}

int render_placeholder(struct render *r, struct buf *out, struct buf *err)
{
	json_t *ctx = page_context(r, "Coming soon!", r->cfg->site_description, "/");
	return render_page(r, "placeholder", ctx, out, err);
}

int render_error(struct render *r, unsigned status, const char *message, struct buf *out,
                 struct buf *err)
{
	json_t *ctx = page_context(r, message, NULL, "/");
	json_object_set_new(ctx, "status", json_integer(status));
	json_object_set_new(ctx, "message", json_string(message));
	return render_page(r, "error", ctx, out, err);
}
