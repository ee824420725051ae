/* http.h - the libmicrohttpd daemon: connections, framing, bodies, the answer cache,
 * conditional GET, gzip, access log. */
#ifndef GAZETTE_HTTP_H
#define GAZETTE_HTTP_H

#include "buf.h"

struct app;
struct http;

/* Binds and starts serving app with cfg's listen address, port, threads, limits and timeouts,
 * with an answer cache of cache.max_bytes. Returns the daemon, or NULL with a message in err.
 * Free with http_stop. */
struct http *http_start(struct app *app, struct buf *err);

/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http *h);

/* Closes connections that broke a time rule: idle past server.timeout_s; a request header
 * begun but not complete within server.header_timeout_s; a body arriving slower than
 * server.min_body_rate bytes a second (after its first second). Call it every few hundred
 * ms; libmicrohttpd's own idle timeout never trips for a client that sends a byte now and
 * then. */
void http_reap(struct http *h);

/* Stops accepting, lets requests in flight finish (waiting at most timeout_ms), then closes
 * every connection, logs what the answer cache did, and frees h. NULL does nothing. */
void http_stop(struct http *h, unsigned timeout_ms);

#endif
