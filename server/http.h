/* http.h - the libmicrohttpd daemon: connections, bodies, conditional GET, gzip, access log. */
#ifndef GAZETTE_HTTP_H
#define GAZETTE_HTTP_H

#include "buf.h"

struct app;
struct cache;
struct http;

/* Binds and starts serving app with cfg's listen address, port, threads, limits and timeout.
 * Returns the daemon, or NULL with a message in err. Free with http_stop. */
struct http *http_start(struct app *app, struct cache *cache, struct buf *err);

/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http *h);

/* Closes connections that have not delivered a complete request header within
 * server.timeout_s of opening or of finishing their last request: a client that sends a
 * byte now and then never trips libmicrohttpd's idle timeout. Call it every few hundred ms. */
void http_reap(struct http *h);

/* Stops accepting, lets requests in flight finish (waiting at most timeout_ms), then closes
 * every connection and frees h. NULL does nothing. */
void http_stop(struct http *h, unsigned timeout_ms);

#endif
