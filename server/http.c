/* http.c - libmicrohttpd glue: per-connection state, bodies, caching, conditional GET, gzip, logs.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cache.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "routes.h"

#define URI_MAX  2048 /* the part of a request target kept for the access log */
#define GZIP_MIN 1024
/* Per-connection memory for the request line and headers (larger requests get 431/414).
 * libmicrohttpd clears the unused part after every request: its default of 32 KiB made that
 * memset the biggest user-space cost of serving a cached page. */
#define CONN_MEMORY (16u << 10)
#define DISCARD_MAX (1u << 20) /* body bytes read past the limit to be able to answer 413 */

static const char csp[] = "default-src 'self'; script-src 'none'; object-src 'none'; "
                          "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

struct conn_ctx;

struct http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t conns_lock; /* the list below; taken per connection, not per request */
	struct conn_ctx *conns;
	struct app *app;
	struct cache *cache;
	const struct config *cfg;
	char cache_control[64];
	atomic_int inflight;
	atomic_int nconns;    /* open connections, for on_accept */
	atomic_bool stopping; /* http_stop began: on_accept refuses everything */
	unsigned port;
};

/* Lives as long as its connection; holds the one request the connection is working on. */
struct conn_ctx {
	struct conn_ctx *prev, *next;
	MHD_socket fd;
	atomic_bool busy;           /* a complete request header arrived and is not answered yet */
	_Atomic int64_t idle_since; /* mono_ms() when it opened or last finished a request */
	char client[INET6_ADDRSTRLEN];
	char uri[URI_MAX];
	bool started;
	bool too_large;
	bool answered;
	bool nul_escape;     /* the target holds %00 */
	const char *raw_uri; /* the target as libmicrohttpd first saw it, and its C length */
	size_t raw_len;
	size_t received; /* body bytes seen, kept or not */
	enum http_method method;
	struct buf body;
};

static enum http_method parse_method(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_GET;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_HEAD;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	if (strcmp(m, "PUT") == 0)
		return HTTP_PUT;
	if (strcmp(m, "DELETE") == 0)
		return HTTP_DELETE;
	return HTTP_OTHER;
}

/* Milliseconds of the monotonic clock: the header deadline is counted from these. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&h->nconns, 1);
		struct conn_ctx *cx = *socket_ctx;
		if (cx) {
			pthread_mutex_lock(&h->conns_lock);
			if (cx->prev)
				cx->prev->next = cx->next;
			else
				h->conns = cx->next;
			if (cx->next)
				cx->next->prev = cx->prev;
			pthread_mutex_unlock(&h->conns_lock);
			buf_cleanup(&cx->body);
			free(cx);
		}
		*socket_ctx = NULL;
		return;
	}
	atomic_fetch_add(&h->nconns, 1);
	struct conn_ctx *cx = xcalloc(1, sizeof(*cx));
	const union MHD_ConnectionInfo *fi =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	cx->fd = fi ? fi->connect_fd : MHD_INVALID_SOCKET;
	atomic_init(&cx->busy, false);
	atomic_init(&cx->idle_since, mono_ms());
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	strcpy(cx->client, "-");
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			          &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			          cx->client, sizeof(cx->client));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			          cx->client, sizeof(cx->client));
	}
	pthread_mutex_lock(&h->conns_lock);
	cx->next = h->conns;
	if (h->conns)
		h->conns->prev = cx;
	h->conns = cx;
	pthread_mutex_unlock(&h->conns_lock);
	*socket_ctx = cx;
}

void http_reap(struct http *h)
{
	int64_t now = mono_ms();
	pthread_mutex_lock(&h->conns_lock);
	for (struct conn_ctx *cx = h->conns; cx; cx = cx->next) {
		if (atomic_load(&cx->busy) || cx->fd == MHD_INVALID_SOCKET)
			continue;
		if (now - atomic_load(&cx->idle_since) >= (int64_t)h->cfg->timeout_s * 1000) {
			/* libmicrohttpd sees the end of the stream and closes the connection */
			shutdown(cx->fd, SHUT_RDWR);
			atomic_store(&cx->idle_since, INT64_MAX / 2);
		}
	}
	pthread_mutex_unlock(&h->conns_lock);
}

/* Called with the raw request target before MHD decodes it; its result becomes *req_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_ctx *cx = ci ? ci->socket_context : NULL;
	if (cx) {
		/* a decoded %00 would cut the path short ("x.css%00.png" is not x.css) */
		cx->nul_escape = strcasestr(uri, "%00") != NULL;
		cx->raw_uri = uri;
		cx->raw_len = strlen(uri);
		if (log_access_enabled()) {
			size_t n = strnlen(uri, URI_MAX - 1);
			memcpy(cx->uri, uri, n);
			cx->uri[n] = '\0';
		}
		cx->started = false;
	}
	return cx;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	(void)conn;
	(void)toe;
	struct conn_ctx *cx = *req_cls;
	if (cx && cx->started) {
		cx->started = false;
		atomic_store(&cx->idle_since, mono_ms());
		atomic_store(&cx->busy, false);
		/* keep the buffer for the connection's next request unless it grew large */
		if (cx->body.cap > 65536)
			buf_cleanup(&cx->body);
		else
			buf_reset(&cx->body);
		atomic_fetch_sub(&h->inflight, 1);
	}
}

static const char *lookup_query(const struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *lookup_header(const struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The last X-Forwarded-For hop: the address nginx saw, which a client cannot forge. */
static void forwarded_client(struct MHD_Connection *conn, char *out, size_t size)
{
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!xff)
		return;
	const char *last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	while (*last == ' ' || *last == '\t')
		last++;
	char tmp[INET6_ADDRSTRLEN];
	size_t n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof(tmp))
		return;
	memcpy(tmp, last, n);
	tmp[n] = '\0';
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, tmp, addr) == 1 || inet_pton(AF_INET6, tmp, addr) == 1)
		snprintf(out, size, "%s", tmp);
}

static bool accepts_gzip(struct MHD_Connection *conn)
{
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
	if (!ae)
		return false;
	const char *p = ae;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t n = strcspn(p, ",;");
		size_t tn = n;
		while (tn && (p[tn - 1] == ' ' || p[tn - 1] == '\t'))
			tn--;
		bool gz = (tn == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		          (tn == 6 && strncasecmp(p, "x-gzip", 6) == 0);
		p += n;
		double q = 1;
		while (*p == ';') {
			p++;
			while (*p == ' ')
				p++;
			if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
				q = strtod(p + 2, NULL);
			p += strcspn(p, ",;");
		}
		if (gz)
			return q > 0;
	}
	return false;
}

static bool etag_matches(const char *list, const char *etag1, const char *etag2)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2; /* If-None-Match compares weakly (RFC 9110 13.1.2) */
		size_t n = strcspn(p, ", \t");
		if (n && ((strlen(etag1) == n && memcmp(p, etag1, n) == 0) ||
		          (strlen(etag2) == n && memcmp(p, etag2, n) == 0)))
			return true;
		p += n;
	}
	return false;
}

static void http_date(time_t t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool parse_http_date(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	*out = timegm(&tm);
	return true;
}

static bool not_modified(struct MHD_Connection *conn, const struct cache_entry *e)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
	if (inm)
		return etag_matches(inm, e->etag, e->etag_gzip);
	const char *ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Modified-Since");
	time_t t;
	return ims && parse_http_date(ims, &t) && e->last_modified <= t;
}

/* Writes one combined-log-format line. */
static void access_log(struct MHD_Connection *conn, const struct conn_ctx *cx, const char *client,
                       const char *method, const char *version, unsigned status, size_t bytes)
{
	if (!log_access_enabled())
		return;
	static _Thread_local time_t last;
	static _Thread_local char stamp[40];
	time_t now = time(NULL);
	if (now != last) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		last = now;
	}
	const char *ref = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer");
	const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
	char line[URI_MAX * 2 + 1024];
	size_t n = 0;
	/* nginx's rule: quotes, backslashes and bytes outside printable ASCII become \xHH */
#define PUT_ESCAPED(s, max)                                                                        \
	do {                                                                                       \
		const unsigned char *q_ = (const unsigned char *)(s);                              \
		size_t lim_ = n + (max);                                                           \
		for (; *q_ && n + 4 < lim_ && n + 4 < sizeof(line); q_++) {                        \
			if (*q_ < 0x20 || *q_ >= 0x7f || *q_ == '"' || *q_ == '\\')                \
				n += (size_t)snprintf(line + n, sizeof(line) - n, "\\x%02X", *q_); \
			else                                                                       \
				line[n++] = (char)*q_;                                             \
		}                                                                                  \
	} while (0)
	n += (size_t)snprintf(line, sizeof(line), "%s - - [%s] \"", client, stamp);
	PUT_ESCAPED(method, 32);
	line[n++] = ' ';
	PUT_ESCAPED(cx->uri, URI_MAX);
	line[n++] = ' ';
	PUT_ESCAPED(version, 16);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\" %u %zu \"", status, bytes);
	PUT_ESCAPED(ref ? ref : "-", 512);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\" \"");
	PUT_ESCAPED(ua ? ua : "-", 512);
	if (n + 3 > sizeof(line))
		n = sizeof(line) - 3;
	line[n++] = '"';
	line[n++] = '\n';
#undef PUT_ESCAPED
	log_access_write(line, n);
}

static int gzip_body(const char *data, size_t len, struct buf *out)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	uLong bound = deflateBound(&zs, (uLong)len);
	buf_reserve(out, bound);
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)bound;
	int rc = deflate(&zs, Z_FINISH);
	if (rc == Z_STREAM_END)
		out->len += zs.total_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -1;
}

static uint64_t fnv64(const char *data, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
	return h;
}

static bool is_html(const char *content_type)
{
	return content_type && strncmp(content_type, "text/html", 9) == 0;
}

static struct MHD_Response *body_response(char *data, size_t len)
{
	return MHD_create_response_from_buffer_with_free_callback(len, data, free);
}

static void add_common(struct MHD_Response *r, const char *content_type)
{
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (is_html(content_type)) {
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(r, "Content-Security-Policy", csp);
	}
}

static void add_validators(struct http *h, struct MHD_Response *r, const char *etag, time_t lm)
{
	char date[40];
	http_date(lm, date, sizeof(date));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, h->cache_control);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
}

/* A 304: the validators and no body. libmicrohttpd 0.9.75 always frames it, with the size of
 * the response object: the representation's real length would be the RFC 9110 8.6 choice, but
 * clients built on http-parser (wrk among them) then wait for a body that never comes, and an
 * unknown size turns into "Transfer-Encoding: chunked". An empty object ("Content-Length: 0")
 * is what every client reads correctly, and caches never take Content-Length from a 304
 * (RFC 9111 3.2). */
static struct MHD_Response *not_modified_response(struct http *h, const char *etag, time_t lm)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	add_validators(h, r, etag, lm);
	return r;
}

/* Turns a cacheable answer into a cache entry: both variants and their 304s, headers once. */
static struct cache_entry *make_entry(struct http *h, const char *key, uint64_t gen,
                                      struct response *resp)
{
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->generation = gen;
	e->refs = 1; /* the caller's */
	e->status = resp->status;
	e->last_modified = resp->last_modified ? resp->last_modified : time(NULL);
	uint64_t tag = fnv64(buf_str(&resp->body), resp->body.len);
	snprintf(e->etag, sizeof(e->etag), "\"%016llx\"", (unsigned long long)tag);
	snprintf(e->etag_gzip, sizeof(e->etag_gzip), "\"%016llx-gz\"", (unsigned long long)tag);

	struct buf gz = BUF_INIT;
	if (resp->body.len >= GZIP_MIN && gzip_body(resp->body.data, resp->body.len, &gz) == 0 &&
	    gz.len < resp->body.len) {
		e->size_gzip = gz.len;
		char *data = buf_steal(&gz, NULL);
		e->gzip = body_response(data, e->size_gzip);
		add_common(e->gzip, resp->content_type);
		add_validators(h, e->gzip, e->etag_gzip, e->last_modified);
		MHD_add_response_header(e->gzip, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
		e->not_modified_gzip = not_modified_response(h, e->etag_gzip, e->last_modified);
	}
	buf_cleanup(&gz);

	e->size = resp->body.len;
	char *data = buf_steal(&resp->body, NULL);
	e->plain = body_response(data, e->size);
	add_common(e->plain, resp->content_type);
	add_validators(h, e->plain, e->etag, e->last_modified);
	e->not_modified = not_modified_response(h, e->etag, e->last_modified);
	return e;
}

static enum MHD_Result serve_entry(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                                   const char *client, const char *method, const char *version,
                                   struct cache_entry *e)
{
	(void)h;
	bool gz = e->gzip && accepts_gzip(conn);
	enum MHD_Result rc;
	if (not_modified(conn, e)) {
		rc = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED,
		                        gz ? e->not_modified_gzip : e->not_modified);
		access_log(conn, cx, client, method, version, 304, 0);
	} else {
		rc = MHD_queue_response(conn, e->status, gz ? e->gzip : e->plain);
		access_log(conn, cx, client, method, version, e->status,
		           cx->method == HTTP_HEAD ? 0 : (gz ? e->size_gzip : e->size));
	}
	return rc;
}

/* Answers that are not kept: errors, writes, private reads. */
static enum MHD_Result serve_plain(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                                   const char *client, const char *method, const char *version,
                                   struct response *resp)
{
	struct buf gz = BUF_INIT;
	bool zipped = false;
	if (resp->body.len >= GZIP_MIN && accepts_gzip(conn) &&
	    gzip_body(resp->body.data, resp->body.len, &gz) == 0 && gz.len < resp->body.len)
		zipped = true;
	size_t len;
	char *data = zipped ? buf_steal(&gz, &len) : buf_steal(&resp->body, &len);
	buf_cleanup(&gz);
	struct MHD_Response *r = body_response(data, len);
	add_common(r, resp->content_type);
	if (resp->body.len >= GZIP_MIN || zipped)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (zipped)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (resp->status == 404)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, h->cache_control);
	else
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (resp->location)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
	if (resp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->www_authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (resp->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", resp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result rc = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	access_log(conn, cx, client, method, version, resp->status,
	           cx->method == HTTP_HEAD ? 0 : len);
	return rc;
}

static void json_error(struct response *resp, unsigned status, const char *message)
{
	/* a fixed message: no user data reaches this text */
	resp->status = status;
	resp->content_type = "application/json; charset=utf-8";
	buf_printf(&resp->body, "{\"error\":{\"status\":%u,\"message\":\"%s\"}}", status, message);
}

struct framing {
	unsigned content_length;
	const char *first;
	bool differ;
	bool transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct framing *f = cls;
	(void)kind;
	if (strcasecmp(key, "Content-Length") == 0) {
		if (f->content_length++ && strcmp(f->first, value) != 0)
			f->differ = true;
		else
			f->first = value;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->transfer_encoding = true;
	}
	return MHD_YES;
}

/* A 400 for a request that cannot be read safely; the connection is closed after it. */
static enum MHD_Result refuse(struct MHD_Connection *conn, const struct conn_ctx *cx,
                              const char *method, const char *version, const char *message)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":{\"status\":400,\"message\":\"%s\"}}",
	                 message);
	struct MHD_Response *r =
	    MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(conn, 400, r);
	MHD_destroy_response(r);
	access_log(conn, cx, cx->client, method, version, 400, (size_t)n);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
	struct http *h = cls;
	struct conn_ctx *cx = *req_cls;
	if (!cx)
		return MHD_NO;

	if (!cx->started) {
		cx->started = true;
		cx->too_large = false;
		cx->answered = false;
		cx->received = 0;
		atomic_store(&cx->busy, true);
		cx->method = parse_method(method);
		atomic_fetch_add(&h->inflight, 1);
		/* libmicrohttpd takes the first of two Content-Lengths and prefers chunked over a
		 * Content-Length, then keeps the connection: a proxy reading the message the other
		 * way would let a second request hide in the body (RFC 9112 6.1, 6.3: refuse,
		 * close) */
		struct framing f = {0};
		if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length"))
			MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
		if (f.differ || (f.content_length && f.transfer_encoding)) {
			cx->answered = true;
			return refuse(conn, cx, method, version, "ambiguous message framing");
		}
		/* libmicrohttpd parses the request line in place and ends the target at a raw NUL,
		 * so the version no longer follows right after the target's end: "/x.css\0.png"
		 * must not be served as /x.css (checked against libmicrohttpd 0.9.75) */
		if (cx->raw_uri && version != cx->raw_uri + cx->raw_len + 1) {
			cx->answered = true;
			return refuse(conn, cx, method, version,
			              "the request target contains a NUL byte");
		}
		if (cx->method == HTTP_POST || cx->method == HTTP_PUT) {
			const char *cl =
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
			if (cl && strtoull(cl, NULL, 10) > h->cfg->max_body_bytes)
				cx->too_large = true;
		}
		if (!cx->too_large)
			return MHD_YES; /* answer on the next call: keeps keep-alive working */
	}

	char client[INET6_ADDRSTRLEN];
	memcpy(client, cx->client, sizeof(client));
	if (h->cfg->trust_proxy)
		forwarded_client(conn, client, sizeof(client));

	if (*upload_size) {
		cx->received += *upload_size;
		if (!cx->too_large && cx->received > h->cfg->max_body_bytes) {
			/* decided now; the bytes already read are dropped, not kept */
			cx->too_large = true;
			buf_cleanup(&cx->body);
		}
		if (!cx->too_large)
			buf_append(&cx->body, upload_data, *upload_size);
		*upload_size = 0;
		/* libmicrohttpd cannot answer in the middle of a body: a little more is read and
		 * dropped so that the 413 can be sent when it ends; a flood is cut off instead */
		if (cx->too_large && cx->received > h->cfg->max_body_bytes + DISCARD_MAX)
			return MHD_NO;
		return MHD_YES;
	}
	if (cx->answered)
		return MHD_YES;
	cx->answered = true;

	struct response resp;
	response_init(&resp);
	if (cx->too_large || cx->nul_escape) {
		if (cx->too_large)
			json_error(&resp, 413, "request body is larger than server.max_body_bytes");
		else
			json_error(&resp, 400, "the request target contains an encoded NUL byte");
		enum MHD_Result rc = serve_plain(h, conn, cx, client, method, version, &resp);
		response_cleanup(&resp);
		return rc;
	}

	struct request req = {
	    .method = cx->method,
	    .path = url,
	    .body = cx->body.data ? cx->body.data : "",
	    .body_len = cx->body.len,
	    .client = client,
	    .query = lookup_query,
	    .header = lookup_header,
	    .conn = conn,
	};

	char key[1024];
	uint64_t gen = 0;
	bool cacheable = false;
	if (cx->method == HTTP_GET || cx->method == HTTP_HEAD) {
		cacheable = routes_cache_key(h->app, &req, key, sizeof(key));
		if (cacheable) {
			gen = routes_generation(h->app);
			struct cache_entry *e = cache_lookup(h->cache, key, gen);
			if (e) {
				enum MHD_Result rc =
				    serve_entry(h, conn, cx, client, method, version, e);
				cache_release(e);
				response_cleanup(&resp);
				return rc;
			}
		}
	}

	routes_handle(h->app, &req, &resp);
	enum MHD_Result rc;
	if (resp.cacheable && cacheable) {
		struct cache_entry *e = make_entry(h, key, gen, &resp);
		cache_insert(h->cache, e);
		rc = serve_entry(h, conn, cx, client, method, version, e);
		cache_release(e);
	} else if (resp.cacheable) {
		struct cache_entry *e = make_entry(h, url, gen, &resp);
		rc = serve_entry(h, conn, cx, client, method, version, e);
		cache_release(e);
	} else {
		rc = serve_plain(h, conn, cx, client, method, version, &resp);
	}
	response_cleanup(&resp);
	return rc;
}

/* Refuses (closes at once) a connection once the server is stopping, or past
 * server.max_connections: libmicrohttpd's own limit would leave it waiting in the listen
 * queue instead. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http *h = cls;
	(void)addr;
	(void)len;
	if (atomic_load(&h->stopping))
		return MHD_NO;
	return atomic_load(&h->nconns) < (int)h->cfg->max_connections ? MHD_YES : MHD_NO;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

struct http *http_start(struct app *app, struct cache *cache, struct buf *err)
{
	const struct config *cfg = app->cfg;
	struct http *h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->conns_lock, NULL);
	h->app = app;
	h->cache = cache;
	h->cfg = cfg;
	snprintf(h->cache_control, sizeof(h->cache_control), "public, max-age=%u",
	         cfg->cache_max_age_s);

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, cfg->listen, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)cfg->port);
	} else if (inet_pton(AF_INET6, cfg->listen, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		buf_printf(err, "server.listen: '%s' is not an address", cfg->listen);
		pthread_mutex_destroy(&h->conns_lock);
		free(h);
		return NULL;
	}
	unsigned threads = cfg->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}

	h->daemon = MHD_start_daemon(
	    flags, (uint16_t)cfg->port, on_accept, h, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_error, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONN_MEMORY,
	    /* on_accept enforces server.max_connections by closing the excess at once; at
	     * libmicrohttpd's own limit, clients would wait unanswered in the listen queue */
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections * 2 + 16 * threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, MHD_OPTION_NOTIFY_CONNECTION,
	    on_connection, h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, h, MHD_OPTION_END);
	if (!h->daemon) {
		buf_printf(err, "cannot listen on %s port %u: %s", cfg->listen, cfg->port,
		           errno ? strerror(errno) : "libmicrohttpd refused to start");
		pthread_mutex_destroy(&h->conns_lock);
		free(h);
		return NULL;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : cfg->port;
	return h;
}

unsigned http_port(const struct http *h)
{
	return h->port;
}

void http_stop(struct http *h, unsigned timeout_ms)
{
	if (!h)
		return;
	/* New connections are closed by on_accept from here on. Not MHD_quiesce_daemon: in
	 * libmicrohttpd 0.9.75 it races its own worker threads for the listen socket's epoll
	 * entry and can abort the process ("Failed to remove listen FD from epoll set"; seen
	 * about once in a dozen stops under strace). */
	atomic_store(&h->stopping, true);
	for (unsigned waited = 0; atomic_load(&h->inflight) > 0 && waited < timeout_ms;
	     waited += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->conns_lock);
	free(h);
}
