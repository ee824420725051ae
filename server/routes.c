/* routes.c - the route table and the handlers behind it. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mem.h"

typedef void (*handler_fn)(struct app *app, const struct request *req, const char *arg,
			   struct response *resp);

struct route {
	unsigned methods;
	const char *pattern; /* exact path, or a prefix ending in '*' that captures the rest */
	handler_fn handler;
	const char *allow;
};

void response_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	buf_init(&resp->body);
}

void response_cleanup(struct response *resp)
{
	buf_cleanup(&resp->body);
	free(resp->location);
	resp->location = NULL;
}

static void handle_healthz(struct app *app, const struct request *req, const char *arg,
			   struct response *resp)
{
	(void)app;
	(void)req;
	(void)arg;
	resp->content_type = "application/json; charset=utf-8";
	buf_puts(&resp->body, "{\"status\":\"ok\"}");
}

static void handle_front(struct app *app, const struct request *req, const char *arg,
			 struct response *resp)
{
	(void)req;
	(void)arg;
	(void)app;
	resp->content_type = "text/html; charset=utf-8";
	resp->cacheable = true;
	buf_puts(&resp->body, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			      "<title>Coming soon!</title>\n</head>\n<body>\n<h1>Coming soon!</h1>\n"
			      "</body>\n</html>\n");
}

#define GET_HEAD (HTTP_GET | HTTP_HEAD)

static const struct route table[] = {
	{GET_HEAD, "/", handle_front, "GET, HEAD"},
	{GET_HEAD, "/healthz", handle_healthz, "GET, HEAD"},
};

static const struct route *match(const char *path, const char **arg, bool *path_known,
				 unsigned method)
{
	*path_known = false;
	const struct route *found = NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct route *r = &table[i];
		size_t n = strlen(r->pattern);
		bool hit;
		if (r->pattern[n - 1] == '*') {
			hit = strncmp(path, r->pattern, n - 1) == 0 && path[n - 1] != '\0';
			if (hit)
				*arg = path + n - 1;
		} else {
			hit = strcmp(path, r->pattern) == 0;
			if (hit)
				*arg = NULL;
		}
		if (!hit)
			continue;
		*path_known = true;
		if (r->methods & method)
			return r;
		if (!found)
			found = r;
	}
	return *path_known ? found : NULL;
}

void routes_handle(struct app *app, const struct request *req, struct response *resp)
{
	const char *arg = NULL;
	bool known;
	const struct route *r = match(req->path, &arg, &known, req->method);
	if (!r) {
		resp->status = 404;
		resp->content_type = "text/html; charset=utf-8";
		buf_puts(&resp->body, "<!DOCTYPE html>\n<title>Not found</title>\n<h1>Not found</h1>\n");
		return;
	}
	if (!(r->methods & req->method)) {
		resp->status = 405;
		resp->allow = r->allow;
		resp->content_type = "application/json; charset=utf-8";
		buf_puts(&resp->body,
			 "{\"error\":{\"status\":405,\"message\":\"method not allowed\"}}");
		return;
	}
	r->handler(app, req, arg, resp);
}

bool routes_cache_key(struct app *app, const struct request *req, char *key, size_t size)
{
	(void)app;
	int n = snprintf(key, size, "%s", req->path);
	return n > 0 && (size_t)n < size && strcmp(req->path, "/") == 0;
}

uint64_t routes_generation(struct app *app)
{
	(void)app;
	return 1;
}
