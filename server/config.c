/* config.c - INI configuration read with inih, every key checked, paths made absolute. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "langtag.h"
#include "mem.h"

enum kind {
	K_STRING,
	K_PATH,
	K_UINT,
	K_SIZE,
	K_BOOL,
	K_LISTEN,
	K_URL,
	K_ZONE,
	K_LEVEL,
	K_LOG,
	K_LANG,
	K_DBURL,
	K_OUTURL,   /* "" or an http(s) URL kept as written */
	K_SCHEDULE, /* seconds, comma-separated */
	K_RANGES    /* addresses and prefixes, space-separated */
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset;
	unsigned long long min, max; /* for numbers */
};

#define OFF(f) offsetof(struct config, f)

static const struct key keys[] = {
    {"server", "listen", K_LISTEN, OFF(listen), 0, 0},
    {"server", "port", K_UINT, OFF(port), 0, 65535},
    {"server", "threads", K_UINT, OFF(threads), 0, 1024},
    {"server", "max_body_bytes", K_SIZE, OFF(max_body_bytes), 1, 1ULL << 30},
    {"server", "max_connections", K_UINT, OFF(max_connections), 1, 1000000},
    {"server", "timeout_s", K_UINT, OFF(timeout_s), 1, 86400},
    {"server", "header_timeout_s", K_UINT, OFF(header_timeout_s), 1, 3600},
    {"server", "min_body_rate", K_UINT, OFF(min_body_rate), 0, 1000000000},
    {"server", "query_timeout_ms", K_UINT, OFF(query_timeout_ms), 0, 600000},
    {"server", "base_url", K_URL, OFF(base_url), 0, 0},
    {"server", "trust_proxy", K_BOOL, OFF(trust_proxy), 0, 0},
    {"site", "title", K_STRING, OFF(site_title), 0, 0},
    {"site", "description", K_STRING, OFF(site_description), 0, 0},
    {"site", "language", K_LANG, OFF(site_language), 0, 0},
    {"site", "timezone", K_ZONE, OFF(site_timezone), 0, 0},
    {"site", "date_format", K_STRING, OFF(site_date_format), 1, 100},
    {"site", "per_page", K_UINT, OFF(per_page), 1, 100},
    {"paths", "database", K_PATH, OFF(database), 0, 0},
    {"database", "url", K_DBURL, OFF(database_url), 0, 0},
    {"paths", "templates", K_PATH, OFF(templates), 0, 0},
    {"paths", "static", K_PATH, OFF(static_dir), 0, 0},
    {"paths", "media", K_PATH, OFF(media_dir), 0, 0},
    {"media", "max_bytes", K_SIZE, OFF(media_max_bytes), 1024, 1ULL << 32},
    {"media", "max_pixels", K_SIZE, OFF(media_max_pixels), 1, 1000000000},
    {"auth", "token", K_STRING, OFF(token), 0, 0},
    {"auth", "token_file", K_PATH, OFF(token_file), 0, 0},
    {"cache", "max_age_s", K_UINT, OFF(cache_max_age_s), 0, 31536000},
    {"cache", "max_bytes", K_SIZE, OFF(cache_max_bytes), 65536, 1ULL << 40},
    {"webhooks", "allow_private", K_BOOL, OFF(webhooks_allow_private), 0, 0},
    {"webhooks", "retry_s", K_SCHEDULE, OFF(webhooks_retry_s), 1, 604800},
    {"webhooks", "give_up_s", K_UINT, OFF(webhooks_give_up_s), 1, 30 * 86400},
    {"feeds", "websub_hub", K_OUTURL, OFF(websub_hub), 0, 0},
    {"purge", "url", K_OUTURL, OFF(purge_url), 0, 0},
    {"metrics", "allow", K_RANGES, OFF(metrics_allow), 0, 0},
    {"log", "access_log", K_LOG, OFF(access_log), 0, 0},
    {"log", "level", K_LEVEL, OFF(log_level), 0, 0},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = xstrdup("127.0.0.1");
	cfg->port = 8080;
	cfg->threads = 0;
	cfg->max_body_bytes = 1048576;
	cfg->max_connections = 1024;
	cfg->timeout_s = 30;
	cfg->header_timeout_s = 10;
	cfg->min_body_rate = 1024;
	cfg->query_timeout_ms = 1000;
	cfg->base_url = xstrdup("http://localhost:8080");
	cfg->trust_proxy = false;
	cfg->site_title = xstrdup("Gazette");
	cfg->site_description = xstrdup("");
	cfg->site_language = xstrdup("en");
	cfg->site_timezone = xstrdup("UTC");
	cfg->site_date_format = xstrdup("%Y-%m-%d %H:%M");
	cfg->per_page = 20;
	cfg->database = xstrdup("gazette.db");
	cfg->database_url = xstrdup("");
	cfg->templates = xstrdup("templates");
	cfg->static_dir = xstrdup("static");
	cfg->media_dir = xstrdup("media");
	cfg->media_max_bytes = 20u << 20;
	cfg->media_max_pixels = 50000000;
	cfg->token = xstrdup("");
	cfg->token_file = xstrdup("");
	cfg->cache_max_age_s = 60;
	cfg->cache_max_bytes = 64u << 20;
	static const unsigned schedule[] = {10, 30, 120, 600, 3600, 10800};
	memcpy(cfg->webhooks_retry_s, schedule, sizeof(schedule));
	cfg->webhooks_nretry = sizeof(schedule) / sizeof(schedule[0]);
	cfg->webhooks_give_up_s = 86400;
	cfg->websub_hub = xstrdup("");
	cfg->purge_url = xstrdup("");
	address_range_parse("127.0.0.0/8", &cfg->metrics_allow[0]);
	address_range_parse("::1", &cfg->metrics_allow[1]);
	cfg->nmetrics_allow = 2;
	cfg->access_log = xstrdup("-");
	cfg->log_level = LOG_INFO;
}

void config_cleanup(struct config *cfg)
{
	char **strs[] = {&cfg->file,
	                 &cfg->listen,
	                 &cfg->base_url,
	                 &cfg->site_title,
	                 &cfg->site_description,
	                 &cfg->site_language,
	                 &cfg->site_timezone,
	                 &cfg->site_date_format,
	                 &cfg->database,
	                 &cfg->database_url,
	                 &cfg->templates,
	                 &cfg->static_dir,
	                 &cfg->media_dir,
	                 &cfg->token,
	                 &cfg->token_file,
	                 &cfg->websub_hub,
	                 &cfg->purge_url,
	                 &cfg->access_log};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

unsigned config_threads(const struct config *cfg)
{
	if (cfg->threads)
		return cfg->threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

bool config_timezone_valid(const char *name)
{
	if (strcmp(name, "UTC") == 0)
		return true;
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char magic[4];
	ssize_t r = read(fd, magic, sizeof(magic));
	close(fd);
	return r == 4 && memcmp(magic, "TZif", 4) == 0;
}

/* The folder of the config file, for relative paths; "" when there is no file. */
static char *base_dir(const char *file)
{
	if (!file)
		return xstrdup("");
	const char *slash = strrchr(file, '/');
	if (!slash)
		return xstrdup("");
	return xstrndup(file, (size_t)(slash - file) + 1);
}

static int parse_uint(const char *value, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(value, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool utf8_valid(const char *s)
{
	json_t *j = json_string(s); /* Jansson checks UTF-8 strictly: no overlong forms */
	json_decref(j);
	return j != NULL;
}

/* Sets one key; the message in err has no location (the caller adds it). */
static int apply(struct config *cfg, const struct key *k, const char *value, struct buf *err)
{
	void *field = (char *)cfg + k->offset;
	unsigned long long n;
	struct in6_addr a6;
	struct in_addr a4;

	/* every value ends up in pages, JSON or file names: text that is not UTF-8 (a Latin-1
	 * "Zürich") would break each of them later, so it never gets in */
	if (!utf8_valid(value)) {
		buf_printf(err, "%s.%s: not valid UTF-8", k->section, k->name);
		return -1;
	}

	switch (k->kind) {
	case K_STRING:
		if (has_control(value)) {
			buf_printf(err, "%s.%s: control characters are not allowed", k->section,
			           k->name);
			return -1;
		}
		if (k->max && (strlen(value) < k->min || strlen(value) > k->max)) {
			buf_printf(err, "%s.%s: must be %llu to %llu characters", k->section,
			           k->name, k->min, k->max);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_PATH:
		if (!*value && k->offset != OFF(token_file)) {
			buf_printf(err, "%s.%s: a path is required", k->section, k->name);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_UINT:
	case K_SIZE:
		if (parse_uint(value, k->min, k->max, &n) < 0) {
			buf_printf(err, "%s.%s: '%s' is not a whole number from %llu to %llu",
			           k->section, k->name, value, k->min, k->max);
			return -1;
		}
		if (k->kind == K_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(size_t *)field = (size_t)n;
		return 0;
	case K_BOOL:
		if (parse_bool(value, field) < 0) {
			buf_printf(err, "%s.%s: '%s' is not true or false", k->section, k->name,
			           value);
			return -1;
		}
		return 0;
	case K_LISTEN:
		if (inet_pton(AF_INET, value, &a4) != 1 && inet_pton(AF_INET6, value, &a6) != 1) {
			buf_printf(err, "%s.%s: '%s' is not an IPv4 or IPv6 address", k->section,
			           k->name, value);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_URL: {
		size_t len = strlen(value);
		if ((strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) ||
		    has_control(value) || strchr(value, ' ') || strchr(value, '"') ||
		    strchr(value, '<') || strchr(value, '>') || len > 200) {
			buf_printf(err, "%s.%s: '%s' is not an absolute http:// or https:// URL",
			           k->section, k->name, value);
			return -1;
		}
		while (len > 0 && value[len - 1] == '/')
			len--;
		free(*(char **)field);
		*(char **)field = xstrndup(value, len);
		return 0;
	}
	case K_ZONE:
		if (!config_timezone_valid(value)) {
			buf_printf(err, "%s.%s: '%s' is not a known IANA time zone", k->section,
			           k->name, value);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_LEVEL:
		if (log_level_parse(value, field) < 0) {
			buf_printf(err, "%s.%s: '%s' is not one of error, warn, info, debug",
			           k->section, k->name, value);
			return -1;
		}
		return 0;
	case K_LANG: {
		struct buf tag = BUF_INIT;
		if (!langtag_canonical(value, &tag)) {
			buf_printf(err,
			           "%s.%s: '%s' is not a BCP 47 language tag (like en or zh-Hans)",
			           k->section, k->name, value);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = buf_steal(&tag, NULL);
		return 0;
	}
	case K_OUTURL:
		if (*value &&
		    ((strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) ||
		     has_control(value) || strchr(value, ' ') || strlen(value) > 2000)) {
			buf_printf(err, "%s.%s: '%s' is not an absolute http:// or https:// URL",
			           k->section, k->name, value);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_SCHEDULE: {
		unsigned got[CONFIG_SCHEDULE_MAX];
		size_t steps = 0;
		const char *p = value;
		for (;;) {
			char item[24];
			size_t len = strcspn(p, ",");
			while (len && *p == ' ') {
				p++;
				len--;
			}
			size_t end = len;
			while (end && p[end - 1] == ' ')
				end--;
			if (steps == CONFIG_SCHEDULE_MAX || end == 0 || end >= sizeof(item)) {
				steps = 0;
				break;
			}
			memcpy(item, p, end);
			item[end] = '\0';
			unsigned long long secs;
			if (parse_uint(item, k->min, k->max, &secs) < 0) {
				steps = 0;
				break;
			}
			got[steps++] = (unsigned)secs;
			p += len;
			if (*p != ',')
				break;
			p++;
		}
		if (steps == 0) {
			buf_printf(
			    err,
			    "%s.%s: '%s' is not a list of 1 to %d whole numbers of seconds from "
			    "%llu to %llu, separated by commas",
			    k->section, k->name, value, CONFIG_SCHEDULE_MAX, k->min, k->max);
			return -1;
		}
		memcpy(field, got, steps * sizeof(unsigned));
		cfg->webhooks_nretry = steps;
		return 0;
	}
	case K_RANGES: {
		struct address_range got[CONFIG_RANGES_MAX];
		memset(got, 0, sizeof(got));
		size_t nr = 0;
		for (const char *p = value; *p;) {
			size_t len = strcspn(p, " \t");
			if (len == 0) {
				p++;
				continue;
			}
			char item[64];
			if (nr == CONFIG_RANGES_MAX) {
				buf_printf(err, "%s.%s: at most %d addresses or prefixes",
				           k->section, k->name, CONFIG_RANGES_MAX);
				return -1;
			}
			if (len >= sizeof(item)) {
				buf_printf(err, "%s.%s: '%.20s...' is not an address or a prefix",
				           k->section, k->name, p);
				return -1;
			}
			memcpy(item, p, len);
			item[len] = '\0';
			if (address_range_parse(item, &got[nr]) < 0) {
				buf_printf(
				    err,
				    "%s.%s: '%s' is not an address or a prefix (like 127.0.0.0/8 "
				    "or ::1)",
				    k->section, k->name, item);
				return -1;
			}
			nr++;
			p += len;
		}
		memcpy(field, got, nr * sizeof(got[0]));
		cfg->nmetrics_allow = nr;
		return 0;
	}
	case K_DBURL:
		/* never echoed: it may hold a password */
		if (*value && !config_database_url_valid(value)) {
			buf_printf(err,
			           "%s.%s: not a postgresql:// URL (libpq's form: "
			           "postgresql://user@host:port/database)",
			           k->section, k->name);
			return -1;
		}
		set_str(field, value);
		return 0;
	case K_LOG:
		if (!*value) {
			buf_printf(err, "%s.%s: use '-' for stdout or 'off'", k->section, k->name);
			return -1;
		}
		set_str(field, value);
		return 0;
	}
	return -1;
}

bool config_database_url_valid(const char *url)
{
	return (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) &&
	       !has_control(url) && !strchr(url, ' ') && strlen(url) <= 2000;
}

const char *config_database(const struct config *cfg)
{
	return *cfg->database_url ? cfg->database_url : cfg->database;
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

int config_set(struct config *cfg, const char *section, const char *key, const char *value,
               struct buf *err)
{
	const struct key *k = find_key(section, key);
	if (!k) {
		buf_printf(err, "unknown key %s.%s", section, key);
		return -1;
	}
	return apply(cfg, k, value, err);
}

struct parse_state {
	struct config *cfg;
	const char *file;
	FILE *fp;
	int line;
	int errors;
	bool lost_section; /* a header was broken: its keys belong to no known section */
	struct buf *msg;   /* every problem, "file:line: message", one a line */
};

static void fail_at(struct parse_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a problem at the current line: every one is reported (gazette check lists them all,
 * and a start that fails names each), not only the first. */
static void fail_at(struct parse_state *st, const char *fmt, ...)
{
	if (st->errors++)
		buf_putc(st->msg, '\n');
	buf_printf(st->msg, "%s:%d: ", st->file, st->line);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(st->msg, fmt, ap);
	va_end(ap);
}

/* Reads one line for inih; counting lines here gives every message its line number, and
 * section headers and lines that are no key = value are checked here, because inih reports
 * only keys (and the line of its first syntax error). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	if (!fgets(str, num, st->fp))
		return NULL;
	st->line++;
	size_t len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(st->fp)) {
		int c;
		while ((c = fgetc(st->fp)) != EOF && c != '\n')
			;
		fail_at(st, "line longer than %d characters", num - 2);
		str[0] = '\0';
		return str;
	}
	const char *p = str;
	/* a UTF-8 byte order mark, which some editors write (inih skips it too) */
	if (st->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		const char *end = strchr(p, ']');
		st->lost_section = !end;
		if (!end) {
			fail_at(st, "section header without ']'");
			str[0] = '\0';
		} else {
			char *name = xstrndup(p + 1, (size_t)(end - p - 1));
			if (!known_section(name))
				fail_at(st, "unknown section [%s]", name);
			free(name);
		}
	} else if (*p && !strchr(";#\r\n", *p) && !strpbrk(p, "=:")) {
		fail_at(st, "syntax error (expected key = value)");
		str[0] = '\0'; /* reported here, with the others */
	}
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	if (st->lost_section)
		return 1; /* reported at the header; what follows would only repeat it */
	if (!*section) {
		fail_at(st, "key '%s' outside a section", name);
		return 0;
	}
	if (!known_section(section))
		return 0; /* already reported at the header */
	const struct key *k = find_key(section, name);
	if (!k) {
		fail_at(st, "unknown key '%s' in section [%s]", name, section);
		return 0;
	}
	struct buf m = BUF_INIT;
	if (apply(st->cfg, k, value, &m) < 0) {
		fail_at(st, "%s", buf_str(&m));
		buf_cleanup(&m);
		return 0;
	}
	buf_cleanup(&m);
	return 1;
}

static void resolve(char **path, const char *dir)
{
	if (!**path || (*path)[0] == '/' || !*dir)
		return;
	char *full = xasprintf("%s%s", dir, *path);
	free(*path);
	*path = full;
}

int config_load(struct config *cfg, const char *file, struct buf *err)
{
	free(cfg->file);
	cfg->file = xstrdup(file);
	struct parse_state st = {.cfg = cfg, .file = file, .fp = fopen(file, "r"), .msg = err};
	if (!st.fp) {
		buf_printf(err, "%s: %s", file, strerror(errno));
		return -1;
	}
	/* A continuation line would silently glue a mistyped key onto the one before it. */
	ini_allow_multiline = false;
	int rc = ini_parse_stream(read_line, &st, on_key, &st);
	fclose(st.fp);
	if (rc > 0 && st.errors == 0) {
		st.line = rc;
		fail_at(&st, "syntax error (expected key = value)");
	} else if (rc < 0 && st.errors == 0) {
		buf_printf(err, "%s: cannot be read", file);
		st.errors++;
	}

	/* resolved even when something was wrong: gazette check goes on to the paths */
	char *dir = base_dir(file);
	resolve(&cfg->database, dir);
	resolve(&cfg->templates, dir);
	resolve(&cfg->static_dir, dir);
	resolve(&cfg->media_dir, dir);
	resolve(&cfg->token_file, dir);
	if (strcmp(cfg->access_log, "-") != 0 && strcmp(cfg->access_log, "off") != 0)
		resolve(&cfg->access_log, dir);
	free(dir);
	return st.errors ? -1 : 0;
}

int config_finish(struct config *cfg, struct buf *err)
{
	const char *url = getenv("GAZETTE_DATABASE_URL");
	if (url && *url) {
		if (!config_database_url_valid(url)) {
			buf_puts(err, "$GAZETTE_DATABASE_URL: not a postgresql:// URL");
			return -1;
		}
		set_str(&cfg->database_url, url);
	}
	const char *env = getenv("GAZETTE_TOKEN");
	if (env && *env) {
		set_str(&cfg->token, env);
		return 0;
	}
	if (*cfg->token || !*cfg->token_file)
		return 0;
	FILE *fp = fopen(cfg->token_file, "r");
	if (!fp) {
		buf_printf(err, "auth.token_file: cannot read %s: %s", cfg->token_file,
		           strerror(errno));
		return -1;
	}
	char line[512];
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	if (!*line) {
		buf_printf(err, "auth.token_file: %s has an empty first line", cfg->token_file);
		return -1;
	}
	set_str(&cfg->token, line);
	return 0;
}
