/* http.c - libmicrohttpd glue: per-connection state, framing, bodies, the answer cache,
 * conditional GET, gzip, logs. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "app.h"
#include "cache.h"
#include "changes.h"
#include "config.h"
#include "form.h"
#include "handlers.h"
#include "hash.h"
#include "http_parse.h"
#include "log.h"
#include "metrics.h"
#include "media.h"
#include "mem.h"
#include "routes.h"
#include "worker.h"

#define URI_MAX  2048 /* the part of a request target kept for the access log */
#define GZIP_MIN 1024
/* Per-connection memory for the request line and headers (larger requests get 431/414).
 * libmicrohttpd clears the unused part after every request: its default of 32 KiB made that
 * memset the biggest user-space cost of serving a cached page. */
#define CONN_MEMORY (16u << 10)
#define DISCARD_MAX (1u << 20) /* body bytes read past the limit to be able to answer 413 */
/* Query arguments libmicrohttpd may parse: each takes a record from the connection's memory,
 * and past about 300 it runs out and closes the connection without a word. No route reads
 * more than five. */
#define ARGS_MAX 64
/* Files whose gzip twin is made when they are first served (read once, never kept plain). */
#define FILE_GZIP_MAX (1u << 20)
/* After an answer sent before its request's body was read, the rest of the body is read and
 * dropped for this long before the socket closes (nginx's lingering close): closing with
 * unread bytes makes the kernel reset the connection, and the client may never see the
 * answer. */
#define LINGER_MS 5000

static const char csp[] = "default-src 'self'; img-src 'self' https: data:; script-src 'none'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";
/* the editor's pages' (SPEC §14): their own script file may run, nothing else */
static const char admin_csp[] = "default-src 'self'; img-src 'self' data:; script-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'";

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
	atomic_int nconns;    /* open connections (taken by on_accept, given back at close) */
	atomic_bool stopping; /* http_stop began: on_accept refuses everything */
	atomic_int offloaded; /* requests suspended while a worker answers them */
	unsigned port;
	struct lingering *lingering; /* under conns_lock */
};

/* A closed connection's socket, kept open to drain what the client still sends. */
struct lingering {
	struct lingering *next;
	int fd; /* a dup of the connection's socket: libmicrohttpd closes its own */
	int64_t until;
};

/* Lives as long as its connection; holds the one request the connection is working on. */
struct conn_ctx {
	struct conn_ctx *prev, *next;
	MHD_socket fd;
	atomic_bool busy;           /* a complete request header arrived and is not answered yet */
	_Atomic int64_t idle_since; /* mono_ms() when it opened or last finished a request */
	atomic_bool reading_body;   /* its body is being received */
	_Atomic int64_t body_since; /* when the body began */
	atomic_size_t received;     /* body bytes seen, kept or not */
	int64_t header_from; /* http_reap only: when it saw a request begin that is not complete */
	int64_t header_idle; /* ... during the idle time that began at this idle_since */
	char client[INET6_ADDRSTRLEN];
	char uri[URI_MAX];
	bool started;
	bool too_large;
	bool answered;
	bool nul_escape;     /* the target holds %00 */
	bool too_many_args;  /* the target held more than ARGS_MAX arguments (they were cut) */
	bool linger;         /* answered before its body was read: drain it after the close */
	const char *raw_uri; /* the target as libmicrohttpd first saw it, and its C length */
	size_t raw_len;
	size_t body_limit;
	const struct route *route; /* found and permitted from the header, before a body */
	struct principal who;      /* ... and who the credentials said */
	char csrf_cookie[AUTH_COOKIE_LEN + 1]; /* ... and an editor's form's CSRF key */
	enum http_method method;
	struct buf body;
	int body_fd;         /* an offloaded route's body goes to this unnamed file, not to body */
	bool write_failed;   /* ... and could not all be written (a full disk) */
	struct offload *job; /* the request a worker is answering, until it is sent */
	struct MHD_PostProcessor *pp; /* an editor's form being read into form */
	struct form form;
	bool has_form; /* the request's body is a form, in form */
	struct http *h;
	struct metrics *metrics; /* the app's, or NULL */
	size_t metric_route;     /* routes_metric of the request's route */
	int64_t started_ns;      /* when its header was complete (with metrics) */
};

/* A request answered on a worker (an image upload): what the handler sees is copied from the
 * connection, which is suspended until the answer is ready. */
struct offload {
	struct http *h;
	struct MHD_Connection *conn;
	const struct route *route;
	struct request req;
	struct response resp;
	char *path;
	char client[INET6_ADDRSTRLEN];
	size_t nheaders, nargs;
	char **headers, **args; /* name, value, name, value, ... */
};

/* A finished answer as the cache keeps it: both variants and the 304 of each, headers made
 * once, and what all of it takes in memory. */
struct answer {
	unsigned status;
	char etag[24];      /* "<16 hex digits>" with the quotes */
	char etag_gzip[28]; /* the same with -gz inside the quotes */
	time_t last_modified;
	size_t size, size_gzip;
	struct MHD_Response *plain, *gzip; /* gzip is NULL when it would not be smaller */
	struct MHD_Response *not_modified, *not_modified_gzip;
	size_t bytes;
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
	if (strcmp(m, "PATCH") == 0)
		return HTTP_PATCH;
	return HTTP_OTHER;
}

/* Milliseconds of the monotonic clock: the deadlines are counted from these. */
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
			/* libmicrohttpd closes the socket after this callback: a duplicate keeps
			 * it open for http_reap to drain */
			int fd = cx->linger ? dup(cx->fd) : -1;
			pthread_mutex_lock(&h->conns_lock);
			if (fd >= 0) {
				struct lingering *l = xmalloc(sizeof(*l));
				l->fd = fd;
				l->until = mono_ms() + LINGER_MS;
				l->next = h->lingering;
				h->lingering = l;
			}
			if (cx->prev)
				cx->prev->next = cx->next;
			else
				h->conns = cx->next;
			if (cx->next)
				cx->next->prev = cx->prev;
			pthread_mutex_unlock(&h->conns_lock);
			buf_cleanup(&cx->body);
			if (cx->body_fd >= 0)
				close(cx->body_fd);
			if (cx->pp)
				MHD_destroy_post_processor(cx->pp);
			form_cleanup(&cx->form);
			free(cx);
		}
		*socket_ctx = NULL;
		return;
	}
	struct conn_ctx *cx = xcalloc(1, sizeof(*cx));
	cx->body_fd = -1;
	cx->h = h;
	form_init(&cx->form, 0, 0);
	cx->metrics = h->app->metrics;
	const union MHD_ConnectionInfo *fi =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	cx->fd = fi ? fi->connect_fd : MHD_INVALID_SOCKET;
	atomic_init(&cx->busy, false);
	atomic_init(&cx->idle_since, mono_ms());
	atomic_init(&cx->reading_body, false);
	atomic_init(&cx->body_since, 0);
	atomic_init(&cx->received, 0);
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

/* Whether bytes arrived on an idle connection after its idle time began at age ms ago: the
 * next request is on its way (the kernel knows when data last came; libmicrohttpd has
 * already taken it into its buffer). */
static bool request_begun(MHD_socket fd, int64_t age)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return false;
	return (int64_t)ti.tcpi_last_data_recv + 50 < age;
}

static void cut(struct conn_ctx *cx)
{
	/* libmicrohttpd sees the end of the stream and closes the connection */
	shutdown(cx->fd, SHUT_RDWR);
	atomic_store(&cx->idle_since, INT64_MAX / 2);
}

/* Reads and drops what a lingering socket has; true when it is done (closed by the client,
 * an error, or its time is up). */
static bool drain(struct lingering *l, int64_t now)
{
	char scratch[65536];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(l->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return true;
		if (n < 0)
			break;
	}
	return now >= l->until;
}

void http_reap(struct http *h)
{
	int64_t now = mono_ms();
	const struct config *cfg = h->cfg;
	pthread_mutex_lock(&h->conns_lock);
	for (struct lingering **pp = &h->lingering; *pp;) {
		struct lingering *l = *pp;
		if (drain(l, now)) {
			*pp = l->next;
			close(l->fd);
			free(l);
		} else {
			pp = &l->next;
		}
	}
	for (struct conn_ctx *cx = h->conns; cx; cx = cx->next) {
		if (cx->fd == MHD_INVALID_SOCKET)
			continue;
		if (atomic_load(&cx->busy)) {
			cx->header_from = 0;
			if (!atomic_load(&cx->reading_body))
				continue;
			/* the body must keep coming at min_body_rate, counted after its first
			 * second */
			int64_t t = now - atomic_load(&cx->body_since) - 1000;
			if (t > 0 && cfg->min_body_rate &&
			    (uint64_t)atomic_load(&cx->received) * 1000 <
			        (uint64_t)cfg->min_body_rate * (uint64_t)t) {
				log_debug("http: %s sends its body too slowly; closed", cx->client);
				atomic_store(&cx->reading_body, false);
				cut(cx);
			}
			continue;
		}
		int64_t idle = atomic_load(&cx->idle_since);
		int64_t age = now - idle;
		if (age >= (int64_t)cfg->timeout_s * 1000) {
			cut(cx);
			continue;
		}
		/* a header begun must be complete within header_timeout_s */
		if (cx->header_idle != idle) {
			cx->header_idle = idle;
			cx->header_from = 0;
		}
		if (!cx->header_from && age >= 500 && request_begun(cx->fd, age))
			cx->header_from = now;
		if (cx->header_from &&
		    now - cx->header_from >= (int64_t)cfg->header_timeout_s * 1000) {
			log_debug("http: %s sends its request header too slowly; closed",
			          cx->client);
			cut(cx);
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
		cx->too_many_args = http_query_args(uri) > ARGS_MAX;
		if (cx->too_many_args) {
			/* libmicrohttpd parses the arguments in place, from this very buffer, once
			 * this callback returns: ending them here leaves it none to run out of
			 * memory on, and the handler answers 414 (checked against 0.9.75) */
			char *q = strchr((char *)(uintptr_t)uri, '?');
			q[1] = '\0';
		}
		if (log_access_enabled()) {
			size_t n = strnlen(uri, URI_MAX - 1);
			memcpy(cx->uri, uri, n);
			cx->uri[n] = '\0';
		}
		cx->started = false;
	}
	return cx;
}

static void offload_free(struct offload *o);

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	(void)conn;
	(void)toe;
	struct conn_ctx *cx = *req_cls;
	if (cx && cx->started) {
		cx->started = false;
		atomic_store(&cx->reading_body, false);
		atomic_store(&cx->idle_since, mono_ms());
		atomic_store(&cx->busy, false);
		/* keep the buffer for the connection's next request unless it grew large */
		if (cx->body.cap > 65536)
			buf_cleanup(&cx->body);
		else
			buf_reset(&cx->body);
		if (cx->body_fd >= 0)
			close(cx->body_fd);
		cx->body_fd = -1;
		if (cx->pp)
			MHD_destroy_post_processor(cx->pp);
		cx->pp = NULL;
		form_cleanup(&cx->form);
		cx->has_form = false;
		/* a resumed connection that ended before its answer went out (never one that is
		 * suspended: libmicrohttpd does not end those) */
		if (cx->job) {
			offload_free(cx->job);
			cx->job = NULL;
			atomic_fetch_sub(&h->offloaded, 1);
		}
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

static bool accepts_gzip(struct MHD_Connection *conn)
{
	return http_accepts_gzip(
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"));
}

/* A request is answered: it is counted, and logged in one combined-log-format line. */
static void access_log(struct MHD_Connection *conn, const struct conn_ctx *cx, const char *client,
                       const char *method, const char *version, unsigned status, size_t bytes)
{
	if (cx->metrics)
		metrics_request(cx->metrics, cx->metric_route, status,
		                metrics_now_ns() - cx->started_ns);
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

/* Whether a body of this type is worth compressing (images and fonts already are). */
static bool compressible(const char *content_type)
{
	static const char *const types[] = {
	    "text/",         "application/json", "application/xml",          "application/atom+xml",
	    "image/svg+xml", "image/x-icon",     "application/manifest+json"};
	if (!content_type)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncmp(content_type, types[i], strlen(types[i])) == 0)
			return true;
	return false;
}

static bool is_html(const char *content_type)
{
	return content_type && strncmp(content_type, "text/html", 9) == 0;
}

/* Adds a header and counts what libmicrohttpd allocates for it (a record and two copies). */
static void add_header(struct MHD_Response *r, size_t *bytes, const char *name, const char *value)
{
	MHD_add_response_header(r, name, value);
	if (bytes)
		*bytes += mem_footprint(56) + mem_footprint(strlen(name) + 1) +
		          mem_footprint(strlen(value) + 1);
}

/* What libmicrohttpd's response object itself takes (measured on 0.9.75: 192 bytes). */
#define RESPONSE_BYTES 192
/* What an open file descriptor held by a cached file answer counts for: descriptors are
 * scarcer than bytes (the unit allows 4,096), so the default budget holds at most 1,024. */
#define FD_BYTES (64u << 10)

static void add_common(struct MHD_Response *r, size_t *bytes, const char *content_type, bool admin)
{
	if (content_type)
		add_header(r, bytes, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	add_header(r, bytes, "X-Content-Type-Options", "nosniff");
	if (is_html(content_type))
		add_header(r, bytes, "Content-Security-Policy", admin ? admin_csp : csp);
}

/* Cache-Control of the renditions under /media/: their names are their content's hash */
static const char immutable[] = "public, max-age=31536000, immutable";

static void add_validators(struct http *h, struct MHD_Response *r, size_t *bytes, const char *etag,
                           time_t lm, bool forever)
{
	char date[HTTP_DATE_SIZE];
	http_date_format(lm, date);
	add_header(r, bytes, MHD_HTTP_HEADER_ETAG, etag);
	add_header(r, bytes, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	add_header(r, bytes, MHD_HTTP_HEADER_CACHE_CONTROL, forever ? immutable : h->cache_control);
	add_header(r, bytes, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
}

static struct MHD_Response *buffer_response(char *data, size_t len, size_t *bytes)
{
	*bytes += RESPONSE_BYTES + mem_footprint(len);
	return MHD_create_response_from_buffer_with_free_callback(len, data, free);
}

/* A 304: the validators and no body. libmicrohttpd 0.9.75 always frames it, with the size of
 * the response object: the representation's real length would be the RFC 9110 8.6 choice, but
 * clients built on http-parser (wrk among them) then wait for a body that never comes, and an
 * unknown size turns into "Transfer-Encoding: chunked". An empty object ("Content-Length: 0")
 * is what every client reads correctly, and caches never take Content-Length from a 304
 * (RFC 9111 3.2). */
static struct MHD_Response *not_modified_response(struct http *h, size_t *bytes, const char *etag,
                                                  time_t lm, bool forever)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	*bytes += RESPONSE_BYTES;
	add_header(r, bytes, "X-Content-Type-Options", "nosniff");
	add_validators(h, r, bytes, etag, lm, forever);
	return r;
}

static void answer_free(void *value)
{
	struct answer *a = value;
	if (a->plain)
		MHD_destroy_response(a->plain);
	if (a->gzip)
		MHD_destroy_response(a->gzip);
	if (a->not_modified)
		MHD_destroy_response(a->not_modified);
	if (a->not_modified_gzip)
		MHD_destroy_response(a->not_modified_gzip);
	free(a);
}

/* The gzip variant of a file, read once from its descriptor; false when it is not worth it. */
static bool gzip_file(int fd, size_t size, struct buf *gz)
{
	char *data = xmalloc(size);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, data + got, size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	bool ok = got == size && gzip_body(data, size, gz) == 0 && gz->len < size;
	free(data);
	return ok;
}

/* Turns a cacheable answer into both variants and their 304s, headers made once; takes the
 * body (or the file descriptor) from resp. */
static struct answer *make_answer(struct http *h, struct response *resp)
{
	struct answer *a = xcalloc(1, sizeof(*a));
	a->bytes = mem_footprint(sizeof(*a));
	a->status = resp->status;
	a->last_modified = resp->last_modified;
	bool file = resp->fd >= 0;
	uint64_t tag =
	    file ? resp->tag : hash_bytes(HASH_SEED, buf_str(&resp->body), resp->body.len);
	snprintf(a->etag, sizeof(a->etag), "\"%016llx\"", (unsigned long long)tag);
	snprintf(a->etag_gzip, sizeof(a->etag_gzip), "\"%016llx-gz\"", (unsigned long long)tag);
	size_t len = file ? resp->fd_size : resp->body.len;

	struct buf gz = BUF_INIT;
	bool zipped = false;
	if (len >= GZIP_MIN && compressible(resp->content_type)) {
		if (file)
			zipped = len <= FILE_GZIP_MAX && gzip_file(resp->fd, len, &gz);
		else
			zipped = gzip_body(resp->body.data, len, &gz) == 0 && gz.len < len;
	}
	if (zipped) {
		a->size_gzip = gz.len;
		a->gzip = buffer_response(buf_steal(&gz, NULL), a->size_gzip, &a->bytes);
		add_common(a->gzip, &a->bytes, resp->content_type, false);
		add_validators(h, a->gzip, &a->bytes, a->etag_gzip, a->last_modified,
		               resp->immutable);
		add_header(a->gzip, &a->bytes, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
		if (resp->surrogate)
			add_header(a->gzip, &a->bytes, "Surrogate-Key", resp->surrogate);
		a->not_modified_gzip = not_modified_response(h, &a->bytes, a->etag_gzip,
		                                             a->last_modified, resp->immutable);
	}
	buf_cleanup(&gz);

	a->size = len;
	if (file) {
		/* sent with sendfile from the descriptor, which the response now owns */
		a->plain = MHD_create_response_from_fd((uint64_t)len, resp->fd);
		resp->fd = -1;
		a->bytes += RESPONSE_BYTES + FD_BYTES;
	} else {
		a->plain = buffer_response(buf_steal(&resp->body, NULL), len, &a->bytes);
	}
	add_common(a->plain, &a->bytes, resp->content_type, false);
	add_validators(h, a->plain, &a->bytes, a->etag, a->last_modified, resp->immutable);
	/* what a cache in front (deploy/varnish.vcl) bans it by when what it shows changes */
	if (resp->surrogate)
		add_header(a->plain, &a->bytes, "Surrogate-Key", resp->surrogate);
	a->not_modified =
	    not_modified_response(h, &a->bytes, a->etag, a->last_modified, resp->immutable);
	return a;
}

static enum MHD_Result serve_answer(struct MHD_Connection *conn, struct conn_ctx *cx,
                                    const char *client, const char *method, const char *version,
                                    const struct answer *a)
{
	bool gz = a->gzip && accepts_gzip(conn);
	enum MHD_Result rc;
	/* If-None-Match decides when present; the 304 names the variant the client holds */
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
	const char *ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Modified-Since");
	struct MHD_Response *nm = NULL;
	time_t t;
	if (inm) {
		if (a->gzip && http_etag_match(inm, a->etag_gzip))
			nm = a->not_modified_gzip;
		else if (http_etag_match(inm, a->etag))
			nm = a->not_modified;
	} else if (ims && http_date_parse(ims, &t) && a->last_modified <= t) {
		nm = gz ? a->not_modified_gzip : a->not_modified;
	}
	if (nm) {
		rc = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, nm);
		access_log(conn, cx, client, method, version, 304, 0);
	} else {
		rc = MHD_queue_response(conn, a->status, gz ? a->gzip : a->plain);
		access_log(conn, cx, client, method, version, a->status,
		           cx->method == HTTP_HEAD ? 0 : (gz ? a->size_gzip : a->size));
	}
	return rc;
}

/* Answers that are not kept: errors, writes, private reads. Never stored by any cache. */
static enum MHD_Result serve_plain(struct MHD_Connection *conn, struct conn_ctx *cx,
                                   const char *client, const char *method, const char *version,
                                   struct response *resp, bool close)
{
	/* the same Vary on both variants: it depends on the body, not on the request */
	bool may_zip = resp->body.len >= GZIP_MIN && compressible(resp->content_type);
	struct buf gz = BUF_INIT;
	bool zipped = may_zip && accepts_gzip(conn) &&
	              gzip_body(resp->body.data, resp->body.len, &gz) == 0 &&
	              gz.len < resp->body.len;
	size_t len, ignored = 0;
	char *data = zipped ? buf_steal(&gz, &len) : buf_steal(&resp->body, &len);
	buf_cleanup(&gz);
	struct MHD_Response *r = buffer_response(data, len, &ignored);
	add_common(r, NULL, resp->content_type, resp->admin);
	if (resp->cookie)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, resp->cookie);
	if (resp->admin && is_html(resp->content_type))
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (may_zip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (zipped)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	/* a preview is one reader's: no shared cache may keep it, no engine index it */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        resp->private_answer ? "private, no-store" : "no-store");
	if (resp->private_answer) {
		MHD_add_response_header(r, "X-Robots-Tag", "noindex, nofollow");
		/* a preview's URL is the key to it: never sent on to a page it links to. An
		 * editor's page tells only its own site where a link came from: under no-referrer a
		 * browser sends its forms with "Origin: null", which same_site refuses */
		MHD_add_response_header(r, "Referrer-Policy",
		                        resp->admin ? "same-origin" : "no-referrer");
	}
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
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	access_log(conn, cx, client, method, version, resp->status,
	           cx->method == HTTP_HEAD ? 0 : len);
	return rc;
}

/* An answer decided by http itself, as JSON; close ends the connection after it. */
static enum MHD_Result refuse(struct MHD_Connection *conn, struct conn_ctx *cx, const char *client,
                              const char *method, const char *version, unsigned status,
                              const char *message, bool close)
{
	struct response resp;
	response_init(&resp);
	answer_json_error(&resp, status, message);
	cx->answered = true;
	enum MHD_Result rc = serve_plain(conn, cx, client, method, version, &resp, close);
	response_cleanup(&resp);
	return rc;
}

static int body_file(const char *dir);
static int write_all(int fd, const char *data, size_t n);

/* http's own refusal of an editor's form (SPEC §14): a page, as the editor's answers are. */
static enum MHD_Result refuse_page(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                                   const char *client, const char *method, const char *version,
                                   unsigned status, const char *message, bool close)
{
	struct response resp;
	response_init(&resp);
	answer_admin_error(h->app, &resp, status, message);
	cx->answered = true;
	enum MHD_Result rc = serve_plain(conn, cx, client, method, version, &resp, close);
	response_cleanup(&resp);
	return rc;
}

/* The post processor's pieces of a form: text into cx->form; the file field "image" into an
 * unnamed file under paths.media, up to its limit (past it the bytes are dropped, the text
 * kept: the page that says so keeps what was written). */
static enum MHD_Result form_piece(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *transfer_encoding, const char *data, uint64_t off,
                                  size_t size)
{
	struct conn_ctx *cx = cls;
	struct form *f = &cx->form;
	(void)kind;
	(void)transfer_encoding;
	if (!filename) {
		form_add(f, key, data, size, off);
		return MHD_YES;
	}
	if (strcmp(key, "image") != 0 || (!*filename && f->file_fd < 0 && size == 0))
		return MHD_YES; /* no file chosen, or a field no form of ours has */
	if (f->file_fd < 0 && !f->file_failed && !f->file_over) {
		int fd = body_file(cx->h->cfg->media_dir);
		if (fd < 0) {
			f->file_failed = true;
			return MHD_YES;
		}
		f->file_fd = fd;
		snprintf(f->file_type, sizeof(f->file_type), "%s",
		         content_type ? content_type : "");
	}
	if (f->file_over || f->file_failed)
		return MHD_YES;
	if (size > f->file_max - f->file_bytes) {
		f->file_over = true;
		return MHD_YES;
	}
	if (write_all(f->file_fd, data, size) < 0)
		f->file_failed = true;
	f->file_bytes += size;
	return MHD_YES;
}

struct field_check {
	struct http_framing framing;
	const char *from, *to; /* where libmicrohttpd parsed the request line and header */
};

static enum MHD_Result check_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct field_check *fc = cls;
	(void)kind;
	/* libmicrohttpd parses fields in place; a line continued by white space (obs-fold) it
	 * glues on in memory of its own, so the name no longer lies in the request's bytes
	 * (checked against 0.9.75) */
	if (key < fc->from || key >= fc->to)
		fc->framing.folded = true;
	http_framing_add(&fc->framing, key, value ? value : "");
	return MHD_YES;
}

/* Whether the request's header says a body follows. */
static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	return (cl && strcmp(cl, "0") != 0) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
}

static void request_init(struct request *req, struct conn_ctx *cx, struct MHD_Connection *conn,
                         const char *url, const char *client)
{
	memset(req, 0, sizeof(*req));
	req->method = cx->method;
	req->path = url;
	req->body = cx->body.data ? cx->body.data : "";
	req->body_len = cx->body_fd >= 0 ? atomic_load(&cx->received) : cx->body.len;
	req->body_fd = cx->body_fd;
	req->client = client;
	req->query = lookup_query;
	req->header = lookup_header;
	req->conn = conn;
	req->form = cx->has_form ? &cx->form : NULL;
}

/* An unnamed file under dir for an upload's body: it vanishes with its descriptor, so a
 * crash leaves nothing behind. Returns the descriptor or a negative error. */
static int body_file(const char *dir)
{
	int rc = media_folder(dir);
	if (rc < 0)
		return rc;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : -errno;
	/* a file system without O_TMPFILE: a named file, unlinked at once */
	char *name = xasprintf("%s/.tmp-upload-XXXXXX", dir);
	fd = mkostemp(name, O_CLOEXEC);
	rc = fd >= 0 ? fd : -errno;
	if (fd >= 0)
		unlink(name);
	free(name);
	return rc;
}

static int write_all(int fd, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

static enum MHD_Result copy_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	struct offload *o = cls;
	bool header = kind == MHD_HEADER_KIND;
	size_t *n = header ? &o->nheaders : &o->nargs;
	char ***list = header ? &o->headers : &o->args;
	if (*n >= 2 * (ARGS_MAX + 100))
		return MHD_NO;
	*list = xrealloc(*list, (*n + 2) * sizeof(char *));
	(*list)[(*n)++] = xstrdup(key);
	(*list)[(*n)++] = xstrdup(value ? value : "");
	return MHD_YES;
}

static const char *find_value(char **list, size_t n, const char *name, bool fold)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		if (fold ? strcasecmp(list[i], name) == 0 : strcmp(list[i], name) == 0)
			return list[i + 1];
	return NULL;
}

static const char *offload_query(const struct request *r, const char *name)
{
	const struct offload *o = (const void *)((const char *)r - offsetof(struct offload, req));
	return find_value(o->args, o->nargs, name, false);
}

static const char *offload_header(const struct request *r, const char *name)
{
	const struct offload *o = (const void *)((const char *)r - offsetof(struct offload, req));
	return find_value(o->headers, o->nheaders, name, true);
}

static void offload_free(struct offload *o)
{
	for (size_t i = 0; i < o->nheaders; i++)
		free(o->headers[i]);
	for (size_t i = 0; i < o->nargs; i++)
		free(o->args[i]);
	free(o->headers);
	free(o->args);
	response_cleanup(&o->resp);
	free(o->path);
	free(o);
}

/* On a worker: the handler, then the connection is resumed to send its answer. */
static void offload_run(void *arg)
{
	struct offload *o = arg;
	struct response scratch;
	response_init(&scratch);
	routes_find(o->h->app, &o->req, &scratch); /* the same row again, for its captures */
	response_cleanup(&scratch);
	routes_run(o->h->app, o->route, &o->req, &o->resp);
	MHD_resume_connection(o->conn);
}

static enum MHD_Result offload_answer(struct conn_ctx *cx, const char *client, const char *method,
                                      const char *version);

/* Hands the complete request to a worker and suspends its connection; a full queue is a 503
 * at once. */
static enum MHD_Result offload(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                               const struct route *r, const char *url, const char *client,
                               const char *method, const char *version)
{
	struct offload *o = xcalloc(1, sizeof(*o));
	o->h = h;
	o->conn = conn;
	o->route = r;
	o->path = xstrdup(url);
	snprintf(o->client, sizeof(o->client), "%s", client);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, copy_value, o);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, copy_value, o);
	request_init(&o->req, cx, conn, o->path, o->client);
	o->req.query = offload_query;
	o->req.header = offload_header;
	o->req.conn = NULL;
	o->req.who = cx->who;
	memcpy(o->req.csrf_cookie, cx->csrf_cookie, sizeof(cx->csrf_cookie));
	response_init(&o->resp);
	cx->job = o;
	/* counted before stopping is read: http_stop sets stopping before it waits for the count
	 * to fall to 0, so either it waits for this one or this one sees it stopping and is not
	 * suspended (libmicrohttpd aborts when it is stopped with a suspended connection) */
	atomic_fetch_add(&h->offloaded, 1);
	if (atomic_load(&h->stopping)) {
		answer_json_error(&o->resp, 503, "the server is stopping; try again in a moment");
		o->resp.retry_after = 10;
		return offload_answer(cx, client, method, version);
	}
	MHD_suspend_connection(conn);
	int rc = worker_submit(h->app->workers, offload_run, o);
	if (rc < 0) {
		answer_json_error(&o->resp, 503,
		                  rc == -EAGAIN
		                      ? "too many images are being processed; try again in a moment"
		                      : "the server is stopping; try again in a moment");
		o->resp.retry_after = rc == -EAGAIN ? 5 : 10;
		MHD_resume_connection(conn);
	}
	return MHD_YES;
}

/* The connection is back from its worker: send what the handler answered. */
static enum MHD_Result offload_answer(struct conn_ctx *cx, const char *client, const char *method,
                                      const char *version)
{
	struct offload *o = cx->job;
	cx->job = NULL;
	enum MHD_Result rc = serve_plain(o->conn, cx, client, method, version, &o->resp, false);
	atomic_fetch_sub(&o->h->offloaded, 1);
	offload_free(o);
	return rc;
}

/* The first call, with the whole header and none of the body: framing, the target, and for
 * a request with a body everything that can be decided before reading it (the route, its
 * permission, its body limit), so that a refused body is never read. */
static enum MHD_Result on_header(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                                 const char *url, const char *method, const char *version,
                                 const char *client)
{
	cx->started = true;
	cx->too_large = false;
	cx->answered = false;
	cx->linger = false;
	cx->body_limit = 0; /* until the route says; what arrives before is dropped */
	cx->route = NULL;
	cx->metric_route = routes_metric(NULL);
	if (cx->metrics)
		cx->started_ns = metrics_now_ns();
	atomic_store(&cx->received, 0);
	atomic_store(&cx->busy, true);
	cx->method = parse_method(method);
	atomic_fetch_add(&h->inflight, 1);

	const union MHD_ConnectionInfo *hi =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	struct field_check fc = {.from = method, .to = method + (hi ? hi->header_size : 0)};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, check_field, &fc);
	const char *why;
	unsigned status = http_framing_check(&fc.framing, strcmp(version, "HTTP/1.1") == 0, &why);
	/* a request whose framing two parsers could read two ways is refused and its
	 * connection closed (RFC 9112 6.1, 6.3: no request may hide in another's body) */
	if (status)
		return refuse(conn, cx, client, method, version, status, why, true);
	/* libmicrohttpd parses the request line in place and ends the target at a raw NUL,
	 * so the version no longer follows right after the target's end: "/x.css\0.png"
	 * must not be served as /x.css (checked against libmicrohttpd 0.9.75) */
	if (cx->raw_uri && version != cx->raw_uri + cx->raw_len + 1)
		return refuse(conn, cx, client, method, version, 400,
		              "the request target contains a NUL byte", true);
	if (!has_body(conn))
		return MHD_YES; /* answer on the next call: keeps keep-alive working */

	struct request req;
	request_init(&req, cx, conn, url, client);
	struct response resp;
	response_init(&resp);
	const struct route *r = NULL;
	enum MHD_Result rc = MHD_YES;
	cx->linger = true; /* whatever is answered here is answered before the body */
	if (cx->too_many_args || cx->nul_escape) {
		rc = refuse(conn, cx, client, method, version, cx->too_many_args ? 414 : 400,
		            cx->too_many_args ? "too many query arguments"
		                              : "the request target contains an encoded NUL byte",
		            true);
	} else if (!(r = routes_find(h->app, &req, &resp)) ||
	           !routes_permit(h->app, r, &req, &resp)) {
		/* 404, 405, 401, 403, 429 from the header alone: the body is never read */
		cx->metric_route = routes_metric(r);
		cx->answered = true;
		rc = serve_plain(conn, cx, client, method, version, &resp, true);
	} else {
		cx->metric_route = routes_metric(r);
		cx->body_limit = routes_body_limit(h->app, r);
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		char limit[96];
		snprintf(limit, sizeof(limit), "request body is larger than %s (%zu bytes)",
		         routes_body_limit_name(r), cx->body_limit);
		if (cl && strtoull(cl, NULL, 10) > cx->body_limit) {
			cx->too_large = true;
			rc = routes_form(r)
			         ? refuse_page(h, conn, cx, client, method, version, 413,
			                       "The form is too large to be sent.", true)
			         : refuse(conn, cx, client, method, version, 413, limit, true);
		} else if (routes_form(r) && cx->method == HTTP_POST &&
		           !(cx->pp = MHD_create_post_processor(conn, 32 * 1024, form_piece, cx))) {
			rc = refuse_page(h, conn, cx, client, method, version, 415,
			                 "A form is sent as application/x-www-form-urlencoded or "
			                 "multipart/form-data.",
			                 true);
		} else if (!routes_form(r) && routes_offloaded(r, cx->method) &&
		           (cx->body_fd = body_file(h->cfg->media_dir)) < 0) {
			log_error("http: no temporary file for an upload under paths.media: %s",
			          strerror(-cx->body_fd));
			rc = refuse(conn, cx, client, method, version, 503,
			            "the upload cannot be stored right now; try again later", true);
		} else {
			if (cx->pp) {
				form_init(&cx->form, h->cfg->max_body_bytes,
				          h->cfg->media_max_bytes);
				cx->has_form = true;
			}
			cx->linger = false;
			cx->route = r; /* decided once: answer() does not ask again */
			cx->who = req.who;
			memcpy(cx->csrf_cookie, req.csrf_cookie, sizeof(cx->csrf_cookie));
			atomic_store(&cx->body_since, mono_ms());
			atomic_store(&cx->reading_body, true);
		}
	}
	response_cleanup(&resp);
	return rc;
}

/* The answer of a complete request: from the cache when it has it, else from the route. */
static enum MHD_Result answer(struct http *h, struct MHD_Connection *conn, struct conn_ctx *cx,
                              const char *url, const char *method, const char *version,
                              const char *client)
{
	if (cx->pp) {
		/* the end of the body: what the post processor still holds goes to the form */
		if (MHD_destroy_post_processor(cx->pp) != MHD_YES && !cx->too_large)
			cx->form.malformed = true;
		cx->pp = NULL;
	}
	if (cx->too_large && routes_form(cx->route))
		return refuse_page(h, conn, cx, client, method, version, 413,
		                   "The form is too large to be sent.", true);
	if (cx->too_large) {
		char why[96];
		snprintf(why, sizeof(why), "request body is larger than %s (%zu bytes)",
		         routes_body_limit_name(cx->route), cx->body_limit);
		return refuse(conn, cx, client, method, version, 413, why, true);
	}
	if (cx->write_failed)
		return refuse(
		    conn, cx, client, method, version, 503,
		    "the upload could not be stored; nothing was changed, try again later", true);
	if (cx->too_many_args)
		return refuse(conn, cx, client, method, version, 414, "too many query arguments",
		              false);
	if (cx->nul_escape)
		return refuse(conn, cx, client, method, version, 400,
		              "the request target contains an encoded NUL byte", false);

	struct request req;
	request_init(&req, cx, conn, url, client);
	struct response resp;
	response_init(&resp);
	enum MHD_Result rc;
	const struct route *r = cx->route;
	if (r && routes_offloaded(r, cx->method)) {
		response_cleanup(&resp);
		return offload(h, conn, cx, r, url, client, method, version);
	}
	if (r) {
		routes_find(h->app, &req, &resp); /* the same row again, for its captures */
		req.who = cx->who;
		memcpy(req.csrf_cookie, cx->csrf_cookie, sizeof(cx->csrf_cookie));
	} else {
		r = routes_find(h->app, &req, &resp);
		cx->metric_route = routes_metric(r);
		if (!r || !routes_permit(h->app, r, &req, &resp)) {
			rc = serve_plain(conn, cx, client, method, version, &resp, false);
			response_cleanup(&resp);
			return rc;
		}
	}

	struct buf key = BUF_INIT;
	uint64_t gen = 0;
	bool keyed = (cx->method == HTTP_GET || cx->method == HTTP_HEAD) &&
	             routes_cache_key(h->app, r, &req, &key);
	if (keyed) {
		gen = changes_generation(h->app->changes);
		struct cache_entry *e = cache_lookup(h->cache, key.data, key.len, gen);
		if (e) {
			rc = serve_answer(conn, cx, client, method, version, cache_value(e));
			cache_release(h->cache, e);
			buf_cleanup(&key);
			response_cleanup(&resp);
			return rc;
		}
	}

	routes_run(h->app, r, &req, &resp);
	if (resp.cacheable && resp.status == 200) {
		struct answer *a = make_answer(h, &resp);
		struct cache_entry *e =
		    cache_insert(h->cache, keyed ? key.data : NULL, key.len, gen, a, a->bytes);
		rc = serve_answer(conn, cx, client, method, version, a);
		cache_release(h->cache, e);
	} else {
		rc = serve_plain(conn, cx, client, method, version, &resp, false);
	}
	buf_cleanup(&key);
	response_cleanup(&resp);
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

	char client[INET6_ADDRSTRLEN];
	memcpy(client, cx->client, sizeof(client));
	if (h->cfg->trust_proxy)
		http_forwarded_for(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"), client,
		    sizeof(client));

	if (!cx->started)
		return on_header(h, conn, cx, url, method, version, client);

	if (*upload_size) {
		size_t n = *upload_size;
		size_t received = atomic_fetch_add(&cx->received, n) + n;
		*upload_size = 0;
		/* libmicrohttpd 0.9.75 sends an answer only once a body has ended: past the
		 * limit (a chunked body has no length to decide by before), a little more is read
		 * and dropped so that the 413 can go out then; a flood is cut off instead */
		if ((cx->answered || cx->too_large) && received > cx->body_limit + DISCARD_MAX)
			return MHD_NO;
		if (cx->answered || cx->too_large)
			return MHD_YES;
		if (received > cx->body_limit) {
			cx->too_large = true; /* the bytes already read are dropped, not kept */
			buf_cleanup(&cx->body);
			atomic_store(&cx->reading_body, false);
			return MHD_YES;
		}
		if (cx->pp) {
			if (!cx->form.malformed &&
			    MHD_post_process(cx->pp, upload_data, n) != MHD_YES)
				cx->form.malformed = true;
		} else if (cx->body_fd >= 0) {
			if (!cx->write_failed && write_all(cx->body_fd, upload_data, n) < 0)
				cx->write_failed = true;
		} else {
			buf_append(&cx->body, upload_data, n);
		}
		return MHD_YES;
	}
	if (cx->job)
		return offload_answer(cx, client, method, version);
	atomic_store(&cx->reading_body, false);
	if (cx->answered)
		return MHD_YES;
	cx->answered = true;
	return answer(h, conn, cx, url, method, version, client);
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
	/* the slot is taken here, where the decision is made: counted when the connection
	 * starts, two threads accepting at once could both pass the last free one */
	if (atomic_fetch_add(&h->nconns, 1) >= (int)h->cfg->max_connections) {
		atomic_fetch_sub(&h->nconns, 1);
		return MHD_NO;
	}
	return MHD_YES;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

/* A scrape's view of the cache and the connections (metrics.h). */
static void scrape(void *arg, struct metrics_gauges *g)
{
	struct http *h = arg;
	struct cache_stats st;
	cache_stats(h->cache, &st);
	g->cache_hits = st.hits;
	g->cache_misses = st.misses;
	g->cache_evictions = st.evictions;
	g->cache_bytes = st.bytes;
	g->cache_entries = st.entries;
	g->cache_max_bytes = st.max_bytes;
	g->connections = atomic_load(&h->nconns);
}

struct http *http_start(struct app *app, struct buf *err)
{
	const struct config *cfg = app->cfg;
	struct http *h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->conns_lock, NULL);
	h->app = app;
	h->cfg = cfg;
	snprintf(h->cache_control, sizeof(h->cache_control), "public, max-age=%u",
	         cfg->cache_max_age_s);

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
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
	unsigned threads = config_threads(cfg);
	h->cache = cache_new(cfg->cache_max_bytes, answer_free);
	/* before the daemon answers its first scrape */
	if (app->metrics)
		metrics_on_scrape(app->metrics, scrape, h);

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
		if (app->metrics)
			metrics_on_scrape(app->metrics, NULL, NULL);
		cache_free(h->cache);
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
	/* a suspended connection's worker still holds it: its answer goes out first, however
	 * long the timeout (an image's renditions take seconds, not minutes), and is sent */
	while (atomic_load(&h->offloaded) > 0) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (unsigned waited = 0; atomic_load(&h->inflight) > 0 && waited < 2000; waited += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->daemon);
	if (h->app->metrics)
		metrics_on_scrape(h->app->metrics, NULL, NULL);
	while (h->lingering) {
		struct lingering *l = h->lingering;
		h->lingering = l->next;
		close(l->fd);
		free(l);
	}
	struct cache_stats st;
	cache_stats(h->cache, &st);
	log_info("cache: %llu hits, %llu misses, %llu stored, %llu evicted; %zu entries, %zu of "
	         "%zu bytes",
	         (unsigned long long)st.hits, (unsigned long long)st.misses,
	         (unsigned long long)st.inserts, (unsigned long long)st.evictions, st.entries,
	         st.bytes, st.max_bytes);
	cache_free(h->cache);
	pthread_mutex_destroy(&h->conns_lock);
	free(h);
}
