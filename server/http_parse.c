/* http_parse.c - request field parsers, written to the RFCs' grammar and nothing looser. */
#include "http_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

void http_framing_add(struct http_framing *f, const char *name, const char *value)
{
	size_t n = strlen(name);
	if (n == 0 || strpbrk(name, " \t\r\n"))
		f->bad_name = true;
	if (strcasecmp(name, "Content-Length") == 0) {
		if (f->content_lengths++ == 0)
			f->first_length = value;
		else if (strcmp(f->first_length, value) != 0)
			f->lengths_differ = true;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		if (f->transfer_encodings++ == 0)
			f->chunked_only = true;
		if (strcasecmp(value, "chunked") != 0)
			f->chunked_only = false;
	} else if (strcasecmp(name, "Host") == 0) {
		f->hosts++;
	}
}

unsigned http_framing_check(const struct http_framing *f, bool http11, const char **message)
{
	if (f->bad_name) {
		*message = "white space is not allowed in or around a header field name";
		return 400;
	}
	if (f->folded) {
		*message = "a header field continued on the next line (obs-fold) is not accepted";
		return 400;
	}
	if (f->lengths_differ) {
		*message = "ambiguous message framing: two different Content-Length fields";
		return 400;
	}
	if (f->content_lengths && f->transfer_encodings) {
		*message = "ambiguous message framing: Content-Length with Transfer-Encoding";
		return 400;
	}
	/* libmicrohttpd knows no coding but chunked: anything else would leave the body's end
	 * unknown (RFC 9112 6.1 says 501), and "chunked" twice is a coding applied twice */
	if (f->transfer_encodings && (f->transfer_encodings > 1 || !f->chunked_only)) {
		*message = "the only Transfer-Encoding accepted is chunked";
		return 501;
	}
	if (http11 && f->hosts != 1) {
		*message = f->hosts ? "more than one Host header field"
		                    : "an HTTP/1.1 request needs a Host header field";
		return 400;
	}
	return 0;
}

size_t http_query_args(const char *target)
{
	const char *q = strchr(target, '?');
	if (!q)
		return 0;
	size_t n = 1;
	for (q++; *q; q++)
		n += *q == '&';
	return n;
}

static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void http_date_format(time_t t, char out[HTTP_DATE_SIZE])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	/* unsigned and bounded, so the compiler sees that 29 characters always suffice */
	snprintf(out, HTTP_DATE_SIZE, "%s, %02u %s %04u %02u:%02u:%02u GMT",
	         days[(unsigned)tm.tm_wday % 7u], (unsigned)tm.tm_mday % 100u,
	         months[(unsigned)tm.tm_mon % 12u], (unsigned)(tm.tm_year + 1900) % 10000u,
	         (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	         (unsigned)tm.tm_sec % 100u);
}

bool http_date_parse(const char *s, time_t *out)
{
	/* IMF-fixdate, then the obsolete RFC 850 and asctime forms; strptime is locale-bound,
	 * and Gazette never leaves the C locale */
	static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT",
	                                    "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(s, forms[i], &tm);
		if (end && !*end) {
			*out = timegm(&tm);
			return true;
		}
	}
	return false;
}

bool http_etag_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list;
	for (;;) {
		while (ows(*p) || *p == ',')
			p++;
		if (!*p)
			return false;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false;
		const char *close = strchr(p + 1, '"');
		if (!close)
			return false;
		size_t n = (size_t)(close - p) + 1;
		if (n == elen && memcmp(p, etag, n) == 0)
			return true;
		p = close + 1;
		while (ows(*p))
			p++;
		if (*p && *p != ',')
			return false;
	}
}

/* Reads one "name;q=x" element at p; returns where the next begins. q is 1 when absent. */
static const char *coding(const char *p, const char **name, size_t *len, double *q)
{
	while (ows(*p) || *p == ',')
		p++;
	*name = p;
	size_t n = strcspn(p, ",;");
	*len = n;
	while (*len && ows((*name)[*len - 1]))
		(*len)--;
	p += n;
	*q = 1;
	while (*p == ';') {
		p++;
		while (ows(*p))
			p++;
		if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char *end;
			double v = strtod(p + 2, &end);
			*q = end == p + 2 ? 0 : v; /* a q that is not a number counts as 0 */
		}
		p += strcspn(p, ",;");
	}
	return p;
}

bool http_accepts_gzip(const char *ae)
{
	if (!ae)
		return false;
	double gzip = -1, star = -1;
	const char *p = ae;
	while (*p) {
		const char *name;
		size_t n;
		double q;
		p = coding(p, &name, &n, &q);
		if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(name, "x-gzip", 6) == 0))
			gzip = q;
		else if (n == 1 && *name == '*')
			star = q;
	}
	return gzip >= 0 ? gzip > 0 : star > 0;
}

bool http_forwarded_for(const char *xff, char *out, size_t size)
{
	if (!xff)
		return false;
	const char *last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	while (ows(*last))
		last++;
	char tmp[INET6_ADDRSTRLEN];
	size_t n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof(tmp) || n >= size || last[n + strspn(last + n, " \t")])
		return false;
	memcpy(tmp, last, n);
	tmp[n] = '\0';
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, tmp, addr) != 1 && inet_pton(AF_INET6, tmp, addr) != 1)
		return false;
	memcpy(out, tmp, n + 1);
	return true;
}

bool http_cookie(const char *header, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = p + strcspn(p, ";");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			const char *v = eq + 1, *vend = end;
			while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
				vend--;
			if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
				v++;
				vend--;
			}
			size_t n = (size_t)(vend - v);
			if (n >= size)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}
