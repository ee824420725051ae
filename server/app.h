/* app.h - the running server's modules, built and torn down in order (SPEC §9). */
#ifndef GAZETTE_APP_H
#define GAZETTE_APP_H

#include "buf.h"
#include "gate.h"

struct auth;
struct changes;
struct config;
struct http;
struct metrics;
struct outbox;
struct render;
struct store;
struct worker_pool;

/* What the handlers may use; read-only for them once built. */
struct app {
	const struct config *cfg;
	struct render *render;
	struct store *store;
	struct changes *changes;
	struct auth *auth;
	struct gate expensive;       /* listings and searches running at once */
	struct worker_pool *workers; /* image renditions, off the request threads */
	struct outbox *outbox;       /* webhooks, WebSub pings, purges (SPEC §13) */
	struct metrics *metrics;     /* for /metrics; NULL when metrics.allow is empty */
};

/* Tells s what the events and outbox rows its writes make need from cfg (the site's address
 * and language, whether a hub and a cache are to be told): for the server and the command
 * line alike. */
void app_outbound(struct store *s, const struct config *cfg);

/* Builds app for cfg (which must outlive it): the templates, the store with its bounds, the
 * content generation, authentication. Returns 0, or the exit status (2 for a template error,
 * 1 for anything else) with a message in err and app left for app_close. */
int app_open(struct app *app, const struct config *cfg, struct buf *err);

/* Tears down what app_open built, in the reverse order. */
void app_close(struct app *app);

/* Serves cfg until SIGTERM or SIGINT (SIGHUP reloads the templates, SIGUSR1 reopens the
 * access log): builds the app, listens,
 * then finishes the requests in flight. Returns the exit status. */
int app_run(const struct config *cfg);

#endif
