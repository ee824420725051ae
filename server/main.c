/* main.c - the command line, signals, and the wiring of the modules. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "routes.h"

#ifndef GAZETTE_VERSION
#define GAZETTE_VERSION "0.0.0"
#endif

static const char usage_text[] =
	"usage: gazette [serve] [-c FILE] [-l ADDR] [-p PORT]   run the server (the default)\n"
	"       gazette --help | --version\n"
	"\n"
	"  -c, --config FILE   configuration file (else $GAZETTE_CONFIG, else ./config.ini)\n"
	"  -l, --listen ADDR   address to bind, overriding server.listen\n"
	"  -p, --port PORT     port to bind (0 picks a free one), overriding server.port\n"
	"\n"
	"Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gazette: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

/* Finds and reads the configuration as SPEC §2 orders it. Returns 0 or 2 (message printed). */
static int load_config(struct config *cfg, const char *file)
{
	if (!file) {
		const char *env = getenv("GAZETTE_CONFIG");
		if (env && *env)
			file = env;
		else if (access("config.ini", F_OK) == 0)
			file = "config.ini";
	}
	struct buf err = BUF_INIT;
	if (file && config_load(cfg, file, &err) < 0) {
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
		buf_cleanup(&err);
		return 2;
	}
	buf_cleanup(&err);
	return 0;
}

static int finish_config(struct config *cfg)
{
	struct buf err = BUF_INIT;
	int rc = 0;
	if (config_finish(cfg, &err) < 0) {
		fprintf(stderr, "gazette: %s%s%s\n", cfg->file ? cfg->file : "",
			cfg->file ? ": " : "", buf_str(&err));
		rc = 2;
	}
	buf_cleanup(&err);
	/* Dates are shown in site.timezone; setting TZ once, before any thread starts, lets
	 * localtime_r convert without touching the environment again. */
	setenv("TZ", cfg->site_timezone, 1);
	tzset();
	log_set_level(cfg->log_level);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *listen = NULL, *port = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:l:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'l': listen = optarg; break;
		case 'p': port = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	struct config cfg;
	config_init(&cfg);
	int rc = load_config(&cfg, file);
	struct buf err = BUF_INIT;
	if (rc == 0 && listen && config_set(&cfg, "server", "listen", listen, &err) < 0)
		rc = usage_error("-l: %s", buf_str(&err));
	if (rc == 0 && port && config_set(&cfg, "server", "port", port, &err) < 0)
		rc = usage_error("-p: %s", buf_str(&err));
	if (rc == 0)
		rc = finish_config(&cfg);
	if (rc) {
		buf_cleanup(&err);
		config_cleanup(&cfg);
		return rc;
	}

	int arc = log_access_open(cfg.access_log);
	if (arc < 0) {
		fprintf(stderr, "gazette: log.access_log: cannot open %s: %s\n", cfg.access_log,
			strerror(-arc));
		config_cleanup(&cfg);
		return 1;
	}

	/* Signals are taken by sigwait below, never by a handler on some worker thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct app app = {.cfg = &cfg};
	struct cache *cache = cache_new(64u << 20);
	struct http *http = http_start(&app, cache, &err);
	if (!http) {
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
		buf_cleanup(&err);
		cache_free(cache);
		log_access_close();
		config_cleanup(&cfg);
		return 1;
	}
	buf_cleanup(&err);
	const char *host = cfg.listen;
	if (strchr(host, ':'))
		fprintf(stderr, "listening on [%s]:%u\n", host, http_port(http));
	else
		fprintf(stderr, "listening on %s:%u\n", host, http_port(http));
	log_info("gazette %s serving", GAZETTE_VERSION);

	for (;;) {
		struct timespec tick = {0, 250 * 1000 * 1000};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: finishing requests in flight", sig);
			break;
		}
		if (sig == SIGHUP)
			log_info("SIGHUP: nothing to reload yet");
	}
	http_stop(http, 10000);
	cache_free(cache);
	log_info("stopped");
	log_access_close();
	config_cleanup(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("gazette %s\n", GAZETTE_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '-') {
		if (strcmp(argv[1], "serve") == 0)
			return cmd_serve(argc - 1, argv + 1);
		return usage_error("unknown command '%s'", argv[1]);
	}
	return cmd_serve(argc, argv);
}
