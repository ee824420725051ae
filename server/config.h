/* config.h - the INI configuration (SPEC §3): defaults, parsing, validation. */
#ifndef GAZETTE_CONFIG_H
#define GAZETTE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "buf.h"
#include "log.h"

#define CONFIG_SCHEDULE_MAX 16 /* steps of webhooks.retry_s */
#define CONFIG_RANGES_MAX   32 /* ranges in metrics.allow */

struct config {
	char *file; /* the file it was read from, or NULL for built-in defaults */

	char *listen;
	unsigned port;
	unsigned threads;
	size_t max_body_bytes;
	unsigned max_connections;
	unsigned timeout_s;
	unsigned header_timeout_s; /* a request header begun must be complete within this */
	unsigned min_body_rate;    /* bytes a second a body must keep up (after its first second) */
	unsigned query_timeout_ms; /* time budget of one listing or search; 0: none */
	char *base_url;            /* without a trailing slash */
	bool trust_proxy;

	char *site_title;
	char *site_description;
	char *site_language;
	char *site_timezone;
	char *site_date_format;
	unsigned per_page;

	char *database;     /* paths, resolved against the config file's folder */
	char *database_url; /* [database] url or $GAZETTE_DATABASE_URL: PostgreSQL; "" for none */
	char *templates;
	char *static_dir;
	char *media_dir; /* uploaded images' renditions (SPEC §12) */

	size_t media_max_bytes;  /* the largest upload: POST /api/media's body limit */
	size_t media_max_pixels; /* width x height refused before decoding */

	char *token; /* empty: writes disabled */
	char *token_file;

	unsigned cache_max_age_s;
	size_t cache_max_bytes; /* what the answer cache may hold, all of it counted */

	/* outbound (SPEC §13) */
	bool webhooks_allow_private; /* webhooks may point at loopback and private addresses */
	unsigned webhooks_retry_s[CONFIG_SCHEDULE_MAX]; /* seconds before each retry */
	size_t webhooks_nretry;
	unsigned webhooks_give_up_s; /* no retry after this long */
	char *websub_hub;            /* "" for none */
	char *purge_url;             /* "" for none: where BAN requests go */

	/* who may read /metrics (SPEC §16); none: no metrics are kept at all */
	struct address_range metrics_allow[CONFIG_RANGES_MAX];
	size_t nmetrics_allow;

	char *access_log; /* "-", "off" or a resolved path */
	enum log_level log_level;
};

/* Fills cfg with the built-in defaults. Pair with config_cleanup. */
void config_init(struct config *cfg);
void config_cleanup(struct config *cfg);

/* Reads file over the defaults in cfg. Returns 0, or -1 with every problem appended to err,
 * one a line, each "file:line: message" naming the section and key; cfg then holds what did
 * parse (paths resolved), fit for config_cleanup or for checking the rest (gazette check). */
int config_load(struct config *cfg, const char *file, struct buf *err);

/* Where the store is: the PostgreSQL URL when one is set, else the SQLite file's path. */
const char *config_database(const struct config *cfg);
/* Whether url is a libpq URL (postgresql:// or postgres://) fit to be used. */
bool config_database_url_valid(const char *url);

/* Applies what comes after the file: $GAZETTE_DATABASE_URL, $GAZETTE_TOKEN, then auth.token_file
 * when no token is set yet. Returns 0 or -1 with a message in err. */
int config_finish(struct config *cfg, struct buf *err);

/* Checks one value as the config file would; for -l and -p on the command line.
 * Returns 0 or -1 with a message in err. */
int config_set(struct config *cfg, const char *section, const char *key, const char *value,
               struct buf *err);

/* server.threads, or one per CPU when it is 0. */
unsigned config_threads(const struct config *cfg);

/* Whether name is a time zone this machine knows (an IANA name with a zoneinfo file). */
bool config_timezone_valid(const char *name);

#endif
