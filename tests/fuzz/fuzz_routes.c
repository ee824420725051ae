/* fuzz_routes.c - libFuzzer target: any bytes as one HTTP request, answered by the real route
 * table over a real store (a temporary database) and the project's own templates. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "article.h"
#include "changes.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "fuzz.h"
#include "http_parse.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "routes.h"
#include "store.h"
#include "testutil.h"

/*
 * The input is "METHOD target\nName: value\n...\n\nbody": the target is split at its first
 * '?', the path and the query are percent-decoded as libmicrohttpd does ('+' is a space only
 * in the query), and a target holding "%00" or a NUL byte before the body never reaches the
 * routes (http and libmicrohttpd answer 400); nor does a request http_parse's framing rules
 * refuse. The header values go through the same parsers http runs on them.
 */

#define TOKEN      "fuzz-token"
#define MAX_PARAMS 32

static const char *const seeds[] = {
    "{\"title\": \"Jilin and the Russian Far East\", \"slug\": \"jilin\","
    " \"body\": \"First *paragraph*.\\n\\nSecond, with [a link](/x).\","
    " \"published_at\": \"2023-01-12T14:33:00+08:00\", \"editor\": \"Ye Lijiao\","
    " \"tags\": [\"Trade\", \"Russia\"]}",
    "{\"title\": \"吉林新闻\", \"slug\": \"article-2\", \"body\": \"中文 正文\","
    " \"published_at\": \"2023-01-13T08:00:00Z\", \"tags\": [\"trade\"]}",
    "{\"title\": \"A draft\", \"slug\": \"draft\", \"body\": \"Not yet.\", \"status\": \"draft\"}",
    "{\"title\": \"Scheduled\", \"slug\": \"later\", \"body\": \"Tomorrow.\","
    " \"published_at\": \"2999-01-01T00:00:00Z\"}",
};

static struct config cfg;
static struct app app;
static char *tmp, *source_root;
static bool dirty; /* the last input wrote: put the seed articles back first */

/* The checkout: $GAZETTE_SOURCE_ROOT, else the first folder above the executable that holds
 * templates/layout.mustache and server/routes.h. */
static char *find_source_root(void)
{
	const char *env = getenv("GAZETTE_SOURCE_ROOT");
	if (env && *env)
		return realpath(env, NULL);
	char *dir = realpath("/proc/self/exe", NULL);
	while (dir) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
		char *a = xasprintf("%s/templates/layout.mustache", dir);
		char *b = xasprintf("%s/server/routes.h", dir);
		bool found = access(a, R_OK) == 0 && access(b, R_OK) == 0;
		free(a);
		free(b);
		if (found)
			return dir;
	}
	free(dir);
	return NULL;
}

static void add_seeds(void)
{
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		json_error_t jerr;
		json_t *in = json_loads(seeds[i], 0, &jerr);
		fuzz_check(in != NULL, "seed %zu: %s", i, jerr.text);
		struct article a;
		struct article_error aerr;
		article_init(&a);
		fuzz_check(article_from_json(in, ARTICLE_API, time(NULL), &a, &aerr) == 0,
		           "seed %zu: %s: %s", i, aerr.field, aerr.message);
		int rc = store_create(app.store, &a, time(NULL));
		fuzz_check(rc == 0, "seed %zu: store_create: %d", i, rc);
		article_cleanup(&a);
		json_decref(in);
	}
}

/* A new database with the seeds, so each input meets the same store: no account, token,
 * revision or old slug of an input before it (a token made would end the bootstrap token). */
static void reset_store(void)
{
	changes_free(app.changes);
	store_close(app.store);
	const char *ends[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char *f = xasprintf("%s%s", cfg.database, ends[i]);
		unlink(f);
		free(f);
	}
	struct buf err = BUF_INIT;
	app.store = store_open(cfg.database, 1, &err);
	fuzz_check(app.store != NULL, "store_open: %s", buf_str(&err));
	buf_cleanup(&err);
	app.changes = changes_new(app.store, app.render);
	add_seeds();
}

static void cleanup(void)
{
	changes_free(app.changes);
	render_free(app.render);
	store_close(app.store);
	config_cleanup(&cfg);
	tmpdir_remove(tmp);
	free(tmp);
	free(source_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct buf err = BUF_INIT;
	log_set_level(LOG_ERROR);
	source_root = find_source_root();
	fuzz_check(source_root != NULL, "set GAZETTE_SOURCE_ROOT to the source folder");
	tmp = tmpdir_new();
	config_init(&cfg);
	free(cfg.database);
	free(cfg.templates);
	free(cfg.static_dir);
	free(cfg.token);
	cfg.database = xasprintf("%s/gazette.db", tmp);
	cfg.templates = xasprintf("%s/templates", source_root);
	cfg.static_dir = xasprintf("%s/static", source_root);
	cfg.token = xstrdup(TOKEN);
	cfg.per_page = 2; /* so that a few articles already make pages */
	app.cfg = &cfg;
	app.store = store_open(cfg.database, 1, &err);
	fuzz_check(app.store != NULL, "store_open: %s", buf_str(&err));
	app.render = render_new(&cfg, &err);
	fuzz_check(app.render != NULL, "render_new: %s", buf_str(&err));
	app.changes = changes_new(app.store, app.render);
	buf_cleanup(&err);
	add_seeds();
	atexit(cleanup);
	return 0;
}

/* --- the request --- */

struct param {
	char *name, *value; /* value NULL: the name came without '=' */
};

struct fuzz_request {
	struct request req; /* first: the callbacks get this pointer back */
	struct param query[MAX_PARAMS], headers[MAX_PARAMS];
	size_t nquery, nheaders;
};

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX decoding of n bytes (invalid escapes stay as they are), '+' as space when plus. */
static char *decode(const char *s, size_t n, bool plus)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			*o++ = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			*o++ = plus && s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

static const char *lookup(const struct param *p, size_t n, const char *name, bool icase)
{
	for (size_t i = 0; i < n; i++)
		if ((icase ? strcasecmp(p[i].name, name) : strcmp(p[i].name, name)) == 0)
			return p[i].value;
	return NULL;
}

static const char *query_cb(const struct request *r, const char *name)
{
	const struct fuzz_request *f = (const struct fuzz_request *)r;
	return lookup(f->query, f->nquery, name, false);
}

static const char *header_cb(const struct request *r, const char *name)
{
	const struct fuzz_request *f = (const struct fuzz_request *)r;
	return lookup(f->headers, f->nheaders, name, true);
}

static void parse_query(struct fuzz_request *f, const char *q, size_t n)
{
	while (n > 0 && f->nquery < MAX_PARAMS) {
		const char *amp = memchr(q, '&', n);
		size_t len = amp ? (size_t)(amp - q) : n;
		if (len > 0) {
			const char *eq = memchr(q, '=', len);
			struct param *p = &f->query[f->nquery++];
			p->name = decode(q, eq ? (size_t)(eq - q) : len, true);
			p->value = eq ? decode(eq + 1, len - (size_t)(eq - q) - 1, true) : NULL;
		}
		if (!amp)
			break;
		n -= len + 1;
		q = amp + 1;
	}
}

/* Fills f from the input; false when the request would never reach the routes. */
static bool parse_request(struct fuzz_request *f, const char *data, size_t size, char **path,
                          char **body)
{
	const char *end = data + size, *p = data;
	/* libmicrohttpd refuses a NUL byte before the body */
	const char *head_end = NULL;
	for (const char *q = data; q < end && !head_end; q++)
		if (*q == '\n' && ((q + 1 < end && q[1] == '\n') ||
		                   (q + 2 < end && q[1] == '\r' && q[2] == '\n')))
			head_end = q;
	if (memchr(data, '\0', head_end ? (size_t)(head_end - data) : size))
		return false;
	const char *nl = memchr(p, '\n', size);
	const char *line_end = nl ? nl : end;
	size_t line = (size_t)(line_end - p);
	if (line && p[line - 1] == '\r')
		line--;
	const char *sp = memchr(p, ' ', line);
	size_t mlen = sp ? (size_t)(sp - p) : line;
	static const struct {
		const char *name;
		enum http_method method;
	} methods[] = {{"GET", HTTP_GET}, {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
	               {"PUT", HTTP_PUT}, {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}};
	f->req.method = HTTP_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == mlen && memcmp(methods[i].name, p, mlen) == 0)
			f->req.method = methods[i].method;
	const char *target = sp ? sp + 1 : p + line;
	size_t tlen = (size_t)(p + line - target);
	for (size_t i = 0; i + 2 < tlen; i++)
		if (target[i] == '%' && target[i + 1] == '0' && target[i + 2] == '0')
			return false;
	const char *qm = memchr(target, '?', tlen);
	size_t plen = qm ? (size_t)(qm - target) : tlen;
	*path = decode(target, plen, false);
	if (qm)
		parse_query(f, qm + 1, tlen - plen - 1);

	/* headers until an empty line; the rest is the body */
	p = nl ? nl + 1 : end;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		line_end = nl ? nl : end;
		line = (size_t)(line_end - p);
		if (line && p[line - 1] == '\r')
			line--;
		const char *next = nl ? nl + 1 : end;
		if (line == 0) {
			p = next;
			break;
		}
		const char *colon = memchr(p, ':', line);
		if (colon && f->nheaders < MAX_PARAMS) {
			const char *v = colon + 1;
			while (v < p + line && (*v == ' ' || *v == '\t'))
				v++;
			struct param *h = &f->headers[f->nheaders++];
			h->name = xstrndup(p, (size_t)(colon - p));
			h->value = xstrndup(v, (size_t)(p + line - v));
		}
		p = next;
	}
	/* what http refuses before any route sees it, decided by the same parsers */
	struct http_framing fr;
	memset(&fr, 0, sizeof(fr));
	for (size_t i = 0; i < f->nheaders; i++)
		http_framing_add(&fr, f->headers[i].name, f->headers[i].value);
	const char *why;
	if (http_framing_check(&fr, false, &why) != 0 ||
	    f->nquery > 64) /* no version: no Host rule */
		return false;
	/* and the conditional-request parsers http runs on every cached answer */
	const char *inm = lookup(f->headers, f->nheaders, "If-None-Match", true);
	const char *ims = lookup(f->headers, f->nheaders, "If-Modified-Since", true);
	const char *ae = lookup(f->headers, f->nheaders, "Accept-Encoding", true);
	time_t t;
	if (inm)
		(void)http_etag_match(inm, "\"0123456789abcdef\"");
	if (ims)
		(void)http_date_parse(ims, &t);
	(void)http_accepts_gzip(ae);
	/* exactly the body's bytes, so a read past its end is caught */
	size_t blen = (size_t)(end - p);
	*body = xmalloc(blen ? blen : 1);
	memcpy(*body, p, blen);
	f->req.path = *path;
	f->req.body = *body;
	f->req.body_len = blen;
	f->req.client = "192.0.2.1";
	f->req.query = query_cb;
	f->req.header = header_cb;
	f->req.conn = NULL;
	return true;
}

static void free_request(struct fuzz_request *f)
{
	for (size_t i = 0; i < f->nquery; i++) {
		free(f->query[i].name);
		free(f->query[i].value);
	}
	for (size_t i = 0; i < f->nheaders; i++) {
		free(f->headers[i].name);
		free(f->headers[i].value);
	}
}

/* --- the checks --- */

static bool contains(const char *hay, size_t n, const char *needle, bool icase)
{
	size_t m = strlen(needle);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if ((icase ? strncasecmp(hay + i, needle, m) : strncmp(hay + i, needle, m)) == 0)
			return true;
	return false;
}

/* Whether the client itself sent needle (through any escape we decode): then an answer that
 * repeats it is no leak. libFuzzer finds the very strings these checks compare with. */
static bool client_said(const struct fuzz_request *f, const char *data, size_t size,
                        const char *needle, bool icase)
{
	if (contains(data, size, needle, icase) ||
	    contains(f->req.path, strlen(f->req.path), needle, icase))
		return true;
	for (size_t i = 0; i < f->nquery; i++) {
		const char *v = f->query[i].value ? f->query[i].value : "";
		if (contains(f->query[i].name, strlen(f->query[i].name), needle, icase) ||
		    contains(v, strlen(v), needle, icase))
			return true;
	}
	json_t *j = json_loadb(f->req.body, f->req.body_len, 0, NULL);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	bool said = text && contains(text, strlen(text), needle, icase);
	free(text);
	json_decref(j);
	return said;
}

/* A write answered with the record it stored, or refused naming its slug, may show what the
 * client wrote in disguise ("sqlite" as a slug transliterated from "śqlite", an entity in
 * Markdown). The store is reset before the next input, so no later answer shows it. */
static bool write_echoes(const struct fuzz_request *f, const struct response *resp,
                         const char *needle, bool icase)
{
	bool write = f->req.method == HTTP_POST || f->req.method == HTTP_PUT;
	const char *body = resp->body.data ? resp->body.data : "";
	return write && resp->status < 500 && contains(body, resp->body.len, needle, icase);
}

/* The body holds needle and the client did not put it there. */
static bool leaks(const struct fuzz_request *f, const char *data, size_t size,
                  const struct response *resp, const char *needle)
{
	const char *body = resp->body.data ? resp->body.data : "";
	if (!contains(body, resp->body.len, needle, false))
		return false;
	return !client_said(f, data, size, needle, true) && !write_echoes(f, resp, needle, true);
}

static void check_response(const struct fuzz_request *f, const char *data, size_t size,
                           const struct response *resp)
{
	const char *body = resp->body.data ? resp->body.data : "";
	size_t n = resp->body.len;
	fuzz_check(resp->status >= 100 && resp->status <= 599, "status %u", resp->status);
	fuzz_check(resp->status != 405 || resp->allow, "405 without Allow");
	fuzz_check(resp->status != 201 || resp->location, "201 without Location");
	fuzz_check(resp->status == 204 || resp->content_type, "status %u without a Content-Type",
	           resp->status);
	fuzz_check(resp->status != 204 || n == 0, "204 with a body");
	const char *secrets[] = {tmp, source_root, "SQLITE", "sqlite3"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		fuzz_check(!leaks(f, data, size, resp, secrets[i]), "status %u shows '%s': %.*s",
		           resp->status, secrets[i], (int)n, body);
	if (resp->content_type && strncmp(resp->content_type, "application/json", 16) == 0) {
		json_error_t jerr;
		json_t *j = json_loadb(body, n, 0, &jerr);
		fuzz_check(j != NULL, "status %u: a JSON answer that is not JSON: %s", resp->status,
		           jerr.text);
		if (resp->status >= 400)
			fuzz_check(
			    json_is_integer(json_object_get(json_object_get(j, "error"), "status")),
			    "status %u: an error without error.status", resp->status);
		json_decref(j);
	}
}

/* The cache key http would look up for f, as it finds it: route, permission, key. */
static bool cache_key(struct fuzz_request *f, struct buf *key)
{
	struct response r;
	response_init(&r);
	const struct route *rt = routes_find(&app, &f->req, &r);
	bool keyed =
	    rt && routes_permit(&app, rt, &f->req, &r) && routes_cache_key(&app, rt, &f->req, key);
	response_cleanup(&r);
	return keyed;
}

static bool same_key(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool same_answer(const struct response *a, const struct response *b)
{
	const char *ta = a->content_type ? a->content_type : "";
	const char *tb = b->content_type ? b->content_type : "";
	return a->status == b->status && strcmp(ta, tb) == 0 && a->body.len == b->body.len &&
	       (a->body.len == 0 || memcmp(a->body.data, b->body.data, a->body.len) == 0);
}

/* HEAD is answered as GET is (http drops the body). And a cached answer is served to every
 * request with its key: the same request without one of its query parameters, if it gets
 * the same key, must get the same answer whenever either answer may be cached. */
static void check_variants(const struct fuzz_request *f, bool keyed, const struct buf *key,
                           const struct response *resp)
{
	if (f->req.method == HTTP_GET) {
		struct fuzz_request v = *f;
		struct response r;
		v.req.method = HTTP_HEAD;
		response_init(&r);
		routes_handle(&app, &v.req, &r);
		fuzz_check(same_answer(resp, &r), "GET %s: %u, HEAD: %u", f->req.path, resp->status,
		           r.status);
		response_cleanup(&r);
	}
	for (size_t i = 0; keyed && i < f->nquery && i < 4; i++) {
		struct fuzz_request v = *f;
		struct buf vkey = BUF_INIT;
		memmove(&v.query[i], &v.query[i + 1], (v.nquery - i - 1) * sizeof(v.query[0]));
		v.nquery--;
		bool same = cache_key(&v, &vkey) && same_key(&vkey, key);
		buf_cleanup(&vkey);
		if (!same)
			continue;
		struct response r;
		response_init(&r);
		routes_handle(&app, &v.req, &r);
		fuzz_check(
		    !(resp->cacheable || r.cacheable) || same_answer(resp, &r),
		    "%s without '%s': the same cache key, but %u (%zu bytes) and %u (%zu bytes)",
		    f->req.path, f->query[i].name, resp->status, resp->body.len, r.status,
		    r.body.len);
		response_cleanup(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dirty) {
		reset_store();
		dirty = false;
	}
	struct fuzz_request f;
	char *path = NULL, *body = NULL;
	memset(&f, 0, sizeof(f));
	if (!parse_request(&f, (const char *)data, size, &path, &body))
		goto done;
	app.auth = auth_new(TOKEN, app.store);

	struct buf key = BUF_INIT;
	bool keyed = cache_key(&f, &key);

	struct response resp;
	response_init(&resp);
	routes_handle(&app, &f.req, &resp);
	bool write = f.req.method == HTTP_POST || f.req.method == HTTP_PUT ||
	             f.req.method == HTTP_PATCH || f.req.method == HTTP_DELETE;
	if (write && resp.status < 300)
		dirty = true;
	if (getenv("GAZETTE_FUZZ_VERBOSE"))
		fprintf(stderr, "%u %s (%zu bytes)\n", resp.status, f.req.path, resp.body.len);
	check_response(&f, (const char *)data, size, &resp);
	if (!write)
		check_variants(&f, keyed, &key, &resp);
	response_cleanup(&resp);
	buf_cleanup(&key);
	auth_free(app.auth);
	app.auth = NULL;
done:
	free_request(&f);
	free(path);
	free(body);
	return 0;
}
