/* http_parse.h - what clients send, parsed: framing fields, dates, ETag lists, Accept-Encoding,
 * X-Forwarded-For, query sizes. Pure functions over strings, unit-tested and fuzzed. */
#ifndef GAZETTE_HTTP_PARSE_H
#define GAZETTE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* What a request's header fields say about how its body is framed, gathered one field at a
 * time with http_framing_add and judged by http_framing_check. Zero it to start. */
struct http_framing {
	unsigned content_lengths;
	bool lengths_differ;
	const char *first_length; /* points into the caller's field value */
	unsigned transfer_encodings;
	bool chunked_only; /* every Transfer-Encoding field is exactly "chunked" */
	unsigned hosts;
	bool bad_name; /* a field name with white space in or around it */
	bool folded;   /* set by the caller: a field continued on the next line (obs-fold) */
};

/* Takes one header field (name and value as the parser delivered them). */
void http_framing_add(struct http_framing *f, const char *name, const char *value);

/* Whether a request with these fields can be read unambiguously (RFC 9112 3.2, 5.1, 6.1, 6.3).
 * Returns 0, or the status to answer before closing the connection: 400 for white space by a
 * field name, an obs-fold, two different Content-Lengths, Content-Length with
 * Transfer-Encoding, an HTTP/1.1 request without exactly one Host; 501 for a Transfer-Encoding
 * other than exactly "chunked". *message then says which, in words fit for a client. */
unsigned http_framing_check(const struct http_framing *f, bool http11, const char **message);

/* The number of query arguments in a request target (its '&'-separated parts after '?'). */
size_t http_query_args(const char *target);

/* Writes t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 characters and a NUL). */
#define HTTP_DATE_SIZE 30
void http_date_format(time_t t, char out[HTTP_DATE_SIZE]);

/* Parses any of the three HTTP-date forms of RFC 9110 5.6.7. Returns true with *out set, or
 * false for anything else. */
bool http_date_parse(const char *s, time_t *out);

/* Whether an If-None-Match value names etag (a quoted strong tag as we send it): "*", or any
 * entity-tag of the comma-separated list compared weakly (RFC 9110 13.1.2: a W/ prefix is
 * ignored). A malformed list matches nothing. */
bool http_etag_match(const char *list, const char *etag);

/* Whether an Accept-Encoding value accepts gzip: "gzip" or "x-gzip" with a q above 0, or else
 * "*" with a q above 0 (RFC 9110 12.5.3). NULL accepts nothing but identity. */
bool http_accepts_gzip(const char *accept_encoding);

/* The last hop of an X-Forwarded-For value when it is an IPv4 or IPv6 literal: written to out
 * (size bytes, INET6_ADDRSTRLEN is enough) and true; false, out untouched, otherwise. */
bool http_forwarded_for(const char *xff, char *out, size_t size);

/* The value of the cookie name in a Cookie header (RFC 6265 5.4: "a=1; b=2"), the first of that
 * name, copied into out when it fits in size bytes with its NUL; false when there is none (or
 * it does not fit). Quotes around a value are not part of it. */
bool http_cookie(const char *header, const char *name, char *out, size_t size);

#endif
