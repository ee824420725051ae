/* app.c - builds the modules in order, runs the signal loop, tears them down in reverse. */
#include "app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "changes.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "media.h"
#include "metrics.h"
#include "outbox.h"
#include "render.h"
#include "routes.h"
#include "store.h"
#include "worker.h"

#ifndef GAZETTE_VERSION
#define GAZETTE_VERSION "0.0.0"
#endif

static void collect_media(void *arg)
{
	struct app *app = arg;
	long n = media_gc(app->cfg->media_dir, store_media_known, app->store, MEDIA_GC_GRACE_S);
	if (n > 0)
		log_info("media: %ld files no image record uses were removed", n);
	else if (n < 0)
		log_warn("media: paths.media could not be read: %s", strerror((int)-n));
}

void app_outbound(struct store *s, const struct config *cfg)
{
	struct store_outbound out = {cfg->base_url, cfg->site_language, *cfg->websub_hub != '\0',
	                             *cfg->purge_url != '\0'};
	store_set_outbound(s, &out);
}

int app_open(struct app *app, const struct config *cfg, struct buf *err)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	/* Expensive reads (listings, searches) each run within their budget, and take at most
	 * all threads but one: libmicrohttpd never runs more handlers than it has threads, so a
	 * bound of server.threads could never refuse. One more waits 25 ms, then gets 503. */
	unsigned threads = config_threads(cfg);
	gate_init(&app->expensive, threads > 1 ? threads - 1 : 1, 25);
	app->render = render_new(cfg, err);
	if (!app->render)
		return 2; /* a template error is a configuration error */
	app->store = store_open(config_database(cfg), threads + 1, err);
	if (!app->store)
		return 1;
	if (cfg->nmetrics_allow) {
		size_t n;
		const char *const *names = routes_metric_names(&n);
		app->metrics = metrics_new(names, n);
	}
	struct store_limits limits = {cfg->query_timeout_ms, &app->expensive, app->metrics};
	store_set_limits(app->store, &limits);
	app_outbound(app->store, cfg);
	struct outbox_options out = {
	    .base_url = cfg->base_url,
	    .purge_url = cfg->purge_url,
	    .websub_hub = cfg->websub_hub,
	    .allow_private = cfg->webhooks_allow_private,
	    .retry_s = cfg->webhooks_retry_s,
	    .nretry = cfg->webhooks_nretry,
	    .give_up_s = cfg->webhooks_give_up_s,
	};
	app->outbox = outbox_start(app->store, &out, err);
	if (!app->outbox)
		return 1;
	store_on_outbox(app->store, outbox_kick, app->outbox);
	app->changes = changes_new(app->store, app->render);
	changes_poll(app->changes, (int64_t)time(NULL));
	app->auth = auth_new(cfg->token, app->store);
	/* images: one at a time per core (libvips runs each on one thread), a few more waiting;
	 * beyond that an upload gets 503 with Retry-After */
	unsigned workers = threads < 4 ? threads : 4;
	app->workers = worker_pool_new("media", workers, 2 * workers);
	/* what a crash left under paths.media (a rendition whose record never committed, a
	 * temporary file) goes, off the start-up path */
	worker_submit(app->workers, collect_media, app);
	return 0;
}

void app_close(struct app *app)
{
	/* the deliveries in flight end (or are given back) while the store is still open */
	if (app->store)
		store_on_outbox(app->store, NULL, NULL);
	outbox_stop(app->outbox);
	worker_pool_free(app->workers);
	auth_free(app->auth);
	changes_free(app->changes);
	store_close(app->store);
	render_free(app->render);
	gate_cleanup(&app->expensive);
	metrics_free(app->metrics); /* every thread that counted is gone */
	memset(app, 0, sizeof(*app));
}

int app_run(const struct config *cfg)
{
	int arc = log_access_open(cfg->access_log);
	if (arc < 0) {
		fprintf(stderr, "gazette: log.access_log: cannot open %s: %s\n", cfg->access_log,
		        strerror(-arc));
		return 1;
	}
	/* Signals are taken by sigtimedwait below, never by a handler on some worker thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* past a file size limit, writes fail (and the store answers 503) instead of killing us */
	signal(SIGXFSZ, SIG_IGN);

	struct app app;
	struct buf err = BUF_INIT;
	struct http *http = NULL;
	int rc = app_open(&app, cfg, &err);
	/* no account yet: the first admin is made at a link only the log shows (SPEC §14) */
	char code[AUTH_SETUP_CODE_LEN + 1] = "";
	json_t *users = NULL;
	if (rc == 0 && store_accounts(app.store, 1, 1, &users) == 0 &&
	    json_integer_value(json_object_get(users, "total")) == 0 &&
	    auth_setup_begin(app.auth, (int64_t)time(NULL), code) < 0)
		code[0] = '\0';
	json_decref(users);
	if (rc == 0 && !(http = http_start(&app, &err)))
		rc = 1;
	if (rc) {
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
		goto out;
	}
	/* before "listening on": whoever waits for that line finds the link above it */
	if (*code)
		log_info(
		    "create the first admin at %s/admin/setup?code=%s (good for an hour, once)",
		    cfg->base_url, code);
	memset(code, 0, sizeof(code));
	if (strchr(cfg->listen, ':'))
		fprintf(stderr, "listening on [%s]:%u\n", cfg->listen, http_port(http));
	else
		fprintf(stderr, "listening on %s:%u\n", cfg->listen, http_port(http));
	log_info("gazette %s serving", GAZETTE_VERSION);

	for (;;) {
		struct timespec tick = {0, 250 * 1000 * 1000};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: finishing requests in flight", sig);
			break;
		}
		if (sig == SIGHUP) {
			buf_reset(&err);
			if (render_reload(app.render, &err) < 0)
				log_error("SIGHUP: templates not reloaded, the old ones stay: %s",
				          buf_str(&err));
			else
				log_info("SIGHUP: templates reloaded");
		}
		if (sig == SIGUSR1) {
			int lrc = log_access_reopen();
			if (lrc < 0)
				log_error(
				    "SIGUSR1: %s not reopened, lines go on to the old file: %s",
				    cfg->access_log, strerror(-lrc));
			else
				log_info("SIGUSR1: access log reopened");
		}
		/* writes by other processes and scheduled stories going public */
		changes_poll(app.changes, (int64_t)time(NULL));
		http_reap(http);
	}
out:
	http_stop(http, 10000);
	app_close(&app);
	buf_cleanup(&err);
	if (rc == 0)
		log_info("stopped");
	log_access_close();
	return rc;
}
