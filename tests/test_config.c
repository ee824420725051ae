/* test_config.c - configuration: defaults, every key, every error with its line number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "mem.h"
#include "testutil.h"

struct fixture {
	char *dir;
	struct config cfg;
	struct buf err;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = tmpdir_new();
	config_init(&f->cfg);
	buf_init(&f->err);
	unsetenv("GAZETTE_TOKEN");
	unsetenv("GAZETTE_DATABASE_URL");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	config_cleanup(&f->cfg);
	buf_cleanup(&f->err);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Loads text as config.ini in the fixture's folder; returns config_load's result. */
static int load(struct fixture *f, const char *text)
{
	char *path = write_file(f->dir, "config.ini", text);
	buf_reset(&f->err);
	int rc = config_load(&f->cfg, path, &f->err);
	free(path);
	return rc;
}

/* The messages in f->err, each line's file name without its folder. */
static const char *message(struct fixture *f)
{
	static char out[4096];
	const char *m = buf_str(&f->err);
	size_t n = strlen(f->dir), len = 0;
	while (*m && len + 1 < sizeof(out)) {
		if (strncmp(m, f->dir, n) == 0 && m[n] == '/')
			m += n + 1;
		while (*m && len + 1 < sizeof(out)) {
			out[len++] = *m;
			if (*m++ == '\n')
				break;
		}
	}
	out[len] = '\0';
	return out;
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config *c = &f->cfg;
	assert_string_equal(c->listen, "127.0.0.1");
	assert_int_equal(c->port, 8080);
	assert_int_equal(c->threads, 0);
	assert_int_equal(c->max_body_bytes, 1048576);
	assert_int_equal(c->max_connections, 1024);
	assert_int_equal(c->timeout_s, 30);
	assert_int_equal(c->header_timeout_s, 10);
	assert_int_equal(c->min_body_rate, 1024);
	assert_int_equal(c->query_timeout_ms, 1000);
	assert_string_equal(c->base_url, "http://localhost:8080");
	assert_false(c->trust_proxy);
	assert_string_equal(c->site_title, "Gazette");
	assert_string_equal(c->site_description, "");
	assert_string_equal(c->site_language, "en");
	assert_string_equal(c->site_timezone, "UTC");
	assert_string_equal(c->site_date_format, "%Y-%m-%d %H:%M");
	assert_int_equal(c->per_page, 20);
	assert_string_equal(c->database, "gazette.db");
	assert_string_equal(c->templates, "templates");
	assert_string_equal(c->static_dir, "static");
	assert_string_equal(c->token, "");
	assert_string_equal(c->token_file, "");
	assert_int_equal(c->cache_max_age_s, 60);
	assert_int_equal(c->cache_max_bytes, 64u << 20);
	assert_string_equal(c->access_log, "-");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_null(c->file);
}

static void test_every_key(void **state)
{
	struct fixture *f = *state;
	int rc = load(f, "; comment\n"
	                 "# another comment\n"
	                 "[server]\n"
	                 "listen = ::1\n"
	                 "port = 9090\n"
	                 "threads = 3\n"
	                 "max_body_bytes = 2048\n"
	                 "max_connections = 10\n"
	                 "timeout_s = 5\n"
	                 "header_timeout_s = 4\n"
	                 "min_body_rate = 0\n"
	                 "query_timeout_ms = 250\n"
	                 "base_url = https://news.example.org/\n"
	                 "trust_proxy = yes\n"
	                 "[site]\n"
	                 "title = The Daily\n"
	                 "description = News from the valley ; inline comment\n"
	                 "language = zh-CN\n"
	                 "timezone = Asia/Shanghai\n"
	                 "date_format = %d.%m.%Y\n"
	                 "per_page = 7\n"
	                 "[paths]\n"
	                 "database = data/news.db\n"
	                 "templates = /srv/tpl\n"
	                 "static = pub\n"
	                 "[auth]\n"
	                 "token = s3cret\n"
	                 "token_file = token.txt\n"
	                 "[cache]\n"
	                 "max_age_s = 0\n"
	                 "max_bytes = 1048576\n"
	                 "[log]\n"
	                 "access_log = access.log\n"
	                 "level = debug\n");
	assert_int_equal(rc, 0);
	struct config *c = &f->cfg;
	assert_string_equal(c->listen, "::1");
	assert_int_equal(c->port, 9090);
	assert_int_equal(c->threads, 3);
	assert_int_equal(c->max_body_bytes, 2048);
	assert_int_equal(c->max_connections, 10);
	assert_int_equal(c->timeout_s, 5);
	assert_int_equal(c->header_timeout_s, 4);
	assert_int_equal(c->min_body_rate, 0);
	assert_int_equal(c->query_timeout_ms, 250);
	assert_string_equal(c->base_url, "https://news.example.org");
	assert_true(c->trust_proxy);
	assert_string_equal(c->site_title, "The Daily");
	assert_string_equal(c->site_description, "News from the valley");
	assert_string_equal(c->site_language, "zh-CN");
	assert_string_equal(c->site_timezone, "Asia/Shanghai");
	assert_string_equal(c->site_date_format, "%d.%m.%Y");
	assert_int_equal(c->per_page, 7);
	char *expect = xasprintf("%s/data/news.db", f->dir);
	assert_string_equal(c->database, expect);
	free(expect);
	assert_string_equal(c->templates, "/srv/tpl"); /* absolute paths stay */
	expect = xasprintf("%s/pub", f->dir);
	assert_string_equal(c->static_dir, expect);
	free(expect);
	assert_string_equal(c->token, "s3cret");
	expect = xasprintf("%s/token.txt", f->dir);
	assert_string_equal(c->token_file, expect);
	free(expect);
	assert_int_equal(c->cache_max_age_s, 0);
	assert_int_equal(c->cache_max_bytes, 1048576);
	expect = xasprintf("%s/access.log", f->dir);
	assert_string_equal(c->access_log, expect);
	free(expect);
	assert_int_equal(c->log_level, LOG_DEBUG);
}

static void test_access_log_special_values(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, "[log]\naccess_log = off\n"), 0);
	assert_string_equal(f->cfg.access_log, "off");
	assert_int_equal(load(f, "[log]\naccess_log = -\n"), 0);
	assert_string_equal(f->cfg.access_log, "-");
}

static void test_booleans(void **state)
{
	struct fixture *f = *state;
	const char *yes[] = {"true", "TRUE", "yes", "on", "1"};
	const char *no[] = {"false", "no", "Off", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		char *text = xasprintf("[server]\ntrust_proxy = %s\n", yes[i]);
		assert_int_equal(load(f, text), 0);
		assert_true(f->cfg.trust_proxy);
		free(text);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		char *text = xasprintf("[server]\ntrust_proxy = %s\n", no[i]);
		assert_int_equal(load(f, text), 0);
		assert_false(f->cfg.trust_proxy);
		free(text);
	}
}

struct bad_case {
	const char *text;
	const char *message;
};

static void test_errors_name_line_and_key(void **state)
{
	struct fixture *f = *state;
	static const struct bad_case cases[] = {
	    {"[server]\nport = eighty\n",
	     "config.ini:2: server.port: 'eighty' is not a whole number from 0 to 65535"},
	    {"[server]\nport = 65536\n",
	     "config.ini:2: server.port: '65536' is not a whole number from 0 to 65535"},
	    {"[server]\nport = 80x\n",
	     "config.ini:2: server.port: '80x' is not a whole number from 0 to 65535"},
	    {"\n\n[server]\nthreads = -1\n",
	     "config.ini:4: server.threads: '-1' is not a whole number from 0 to 1024"},
	    {"[server]\nlisten = localhost\n",
	     "config.ini:2: server.listen: 'localhost' is not an IPv4 or IPv6 address"},
	    {"[server]\nmax_body_bytes = 0\n",
	     "config.ini:2: server.max_body_bytes: '0' is not a whole number from 1 to 1073741824"},
	    {"[server]\nmax_connections = many\n", "config.ini:2: server.max_connections: 'many' "
	                                           "is not a whole number from 1 to 1000000"},
	    {"[server]\ntimeout_s = 0\n",
	     "config.ini:2: server.timeout_s: '0' is not a whole number from 1 to 86400"},
	    {"[server]\nbase_url = news.example.org\n",
	     "config.ini:2: server.base_url: 'news.example.org' is not an absolute http:// or "
	     "https:// URL"},
	    {"[server]\ntrust_proxy = maybe\n",
	     "config.ini:2: server.trust_proxy: 'maybe' is not true or false"},
	    {"[site]\ntimezone = Mars/Olympus\n",
	     "config.ini:2: site.timezone: 'Mars/Olympus' is not a known IANA time zone"},
	    {"[site]\ntimezone = ../../etc/passwd\n",
	     "config.ini:2: site.timezone: '../../etc/passwd' is not a known IANA time zone"},
	    {"[site]\nper_page = 0\n",
	     "config.ini:2: site.per_page: '0' is not a whole number from 1 to 100"},
	    {"[site]\nper_page = 101\n",
	     "config.ini:2: site.per_page: '101' is not a whole number from 1 to 100"},
	    {"[site]\ndate_format =\n",
	     "config.ini:2: site.date_format: must be 1 to 100 characters"},
	    {"[site]\nlanguage =\n",
	     "config.ini:2: site.language: '' is not a BCP 47 language tag (like en or zh-Hans)"},
	    {"[site]\nlanguage = en_US\n",
	     "config.ini:2: site.language: 'en_US' is not a BCP 47 language tag (like en or "
	     "zh-Hans)"},
	    {"[paths]\ndatabase =\n", "config.ini:2: paths.database: a path is required"},
	    {"[cache]\nmax_age_s = soon\n",
	     "config.ini:2: cache.max_age_s: 'soon' is not a whole number from 0 to 31536000"},
	    {"[log]\nlevel = verbose\n",
	     "config.ini:2: log.level: 'verbose' is not one of error, warn, info, debug"},
	    {"[log]\naccess_log =\n", "config.ini:2: log.access_log: use '-' for stdout or 'off'"},
	    {"[server]\nport = 8080\nprot = 8081\n",
	     "config.ini:3: unknown key 'prot' in section [server]"},
	    {"[server]\n\n[sever]\nport = 1\n", "config.ini:3: unknown section [sever]"},
	    {"[databse]\n", "config.ini:1: unknown section [databse]"},
	    /* never echoed: a database URL may hold a password */
	    {"[database]\nurl = mysql://root:hunter2@db/x\n",
	     "config.ini:2: database.url: not a postgresql:// URL (libpq's form: "
	     "postgresql://user@host:port/database)"},
	    {"[database]\nurl = postgresql://u:pw@db/x y\n",
	     "config.ini:2: database.url: not a postgresql:// URL (libpq's form: "
	     "postgresql://user@host:port/database)"},
	    {"port = 8080\n", "config.ini:1: key 'port' outside a section"},
	    {"[server]\nport 8080\n", "config.ini:2: syntax error (expected key = value)"},
	    /* the keys after a broken header are not reported again, each as outside a section */
	    {"[server\nport = 1\nthreads = 2\n", "config.ini:1: section header without ']'"},
	    {"[server]\n  port = 1\n   threads = x\n",
	     "config.ini:3: server.threads: 'x' is not a whole number from 0 to 1024"},
	    /* text that is not UTF-8 (Latin-1 "Zürich", a lone continuation byte, an overlong
	     * '/') never gets in: it would break pages, JSON and the feed later */
	    {"[site]\ntitle = Z\xfcrich\n", "config.ini:2: site.title: not valid UTF-8"},
	    {"\n[site]\ndescription = a\x80"
	     "b\n",
	     "config.ini:3: site.description: not valid UTF-8"},
	    {"[paths]\ntemplates = \xc0\xaf\n", "config.ini:2: paths.templates: not valid UTF-8"},
	    {"[auth]\ntoken = \xff\xfe\n", "config.ini:2: auth.token: not valid UTF-8"},
	    {"[server]\nheader_timeout_s = 0\n",
	     "config.ini:2: server.header_timeout_s: '0' is not a whole number from 1 to 3600"},
	    {"[server]\nmin_body_rate = fast\n", "config.ini:2: server.min_body_rate: 'fast' is "
	                                         "not a whole number from 0 to 1000000000"},
	    {"[cache]\nmax_bytes = 100\n", "config.ini:2: cache.max_bytes: '100' is not a whole "
	                                   "number from 65536 to 1099511627776"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_cleanup(&f->cfg);
		config_init(&f->cfg);
		int rc = load(f, cases[i].text);
		if (rc != -1 || strcmp(message(f), cases[i].message) != 0)
			print_error("case %zu: %s\n", i, cases[i].text);
		assert_int_equal(rc, -1);
		assert_string_equal(message(f), cases[i].message);
	}
}

static void test_every_error_named(void **state)
{
	struct fixture *f = *state;
	/* every problem, each on its line, not only the first (gazette check lists them all) */
	assert_int_equal(load(f, "[server]\nport = 1\nthreads = x\nport = y\n[nope]\nx = 1\n"
	                         "no equals sign here\n[site]\ncolour = red\n"),
	                 -1);
	assert_string_equal(
	    message(f), "config.ini:3: server.threads: 'x' is not a whole number from 0 to 1024\n"
	                "config.ini:4: server.port: 'y' is not a whole number from 0 to 65535\n"
	                "config.ini:5: unknown section [nope]\n"
	                "config.ini:7: syntax error (expected key = value)\n"
	                "config.ini:9: unknown key 'colour' in section [site]");
	/* a header after a broken one is a section again */
	assert_int_equal(load(f, "[server\nport = 1\n[site]\ncolour = red\n"), -1);
	assert_string_equal(message(f), "config.ini:1: section header without ']'\n"
	                                "config.ini:4: unknown key 'colour' in section [site]");
	/* what did parse is kept, and the paths resolved, for the checks after the file */
	assert_int_equal(f->cfg.port, 1);
	assert_int_equal(f->cfg.database[0], '/');
}

static void test_byte_order_mark(void **state)
{
	struct fixture *f = *state;
	/* some editors begin a UTF-8 file with one */
	assert_int_equal(load(f, "\xEF\xBB\xBF[server]\nport = 81\n"), 0);
	assert_int_equal(f->cfg.port, 81);
	/* anywhere else it is text, and not a key */
	assert_int_equal(load(f, "[server]\n\xEF\xBB\xBFport = 82\n"), -1);
}

static void test_metrics_allow(void **state)
{
	struct fixture *f = *state;
	/* the default: loopback only */
	assert_int_equal(f->cfg.nmetrics_allow, 2);
	assert_true(address_in_ranges("127.0.0.1", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	assert_true(address_in_ranges("::1", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	assert_false(address_in_ranges("10.0.0.1", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	/* a list, separated by spaces or tabs */
	assert_int_equal(load(f, "[metrics]\nallow = 10.0.0.0/8  \t fd00::/8 192.0.2.1\n"), 0);
	assert_int_equal(f->cfg.nmetrics_allow, 3);
	assert_true(address_in_ranges("10.1.1.1", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	assert_true(address_in_ranges("fd00::5", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	assert_false(address_in_ranges("127.0.0.1", f->cfg.metrics_allow, f->cfg.nmetrics_allow));
	/* empty: none (no metrics are kept) */
	assert_int_equal(load(f, "[metrics]\nallow =\n"), 0);
	assert_int_equal(f->cfg.nmetrics_allow, 0);
	/* what is not a range, and too many of them, each named */
	assert_int_equal(load(f, "[metrics]\nallow = 127.0.0.1 localhost\n"), -1);
	assert_string_equal(message(f), "config.ini:2: metrics.allow: 'localhost' is not an "
	                                "address or a prefix (like 127.0.0.0/8 or ::1)");
	buf_reset(&f->err);
	char text[1024] = "[metrics]\nallow =";
	for (int i = 0; i < 33; i++) /* short ones: a line holds at most 198 characters */
		strcat(text, " ::1");
	strcat(text, "\n");
	assert_int_equal(load(f, text), -1);
	assert_string_equal(message(f),
	                    "config.ini:2: metrics.allow: at most 32 addresses or prefixes");
	buf_reset(&f->err);
	memset(text, 0, sizeof(text));
	strcpy(text, "[metrics]\nallow = ");
	memset(text + strlen(text), '1', 80);
	strcat(text, "\n");
	assert_int_equal(load(f, text), -1);
	assert_string_equal(message(f), "config.ini:2: metrics.allow: '11111111111111111111...' is "
	                                "not an address or a prefix");
}

static void test_long_line(void **state)
{
	struct fixture *f = *state;
	char text[600];
	int n = snprintf(text, sizeof(text), "[site]\ntitle = ");
	memset(text + n, 'a', 400);
	strcpy(text + n + 400, "\nport = 1\n");
	assert_int_equal(load(f, text), -1);
	assert_string_equal(message(f), "config.ini:2: line longer than 198 characters\n"
	                                "config.ini:3: unknown key 'port' in section [site]");
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/nope.ini", f->dir);
	assert_int_equal(config_load(&f->cfg, path, &f->err), -1);
	assert_non_null(strstr(buf_str(&f->err), "nope.ini: No such file or directory"));
	free(path);
}

static void test_token_sources(void **state)
{
	struct fixture *f = *state;
	char *tok = write_file(f->dir, "token.txt", "from-file\nsecond line\n");
	free(tok);
	assert_int_equal(load(f, "[auth]\ntoken_file = token.txt\n"), 0);
	assert_int_equal(config_finish(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.token, "from-file");

	/* the environment wins over both */
	setenv("GAZETTE_TOKEN", "from-env", 1);
	assert_int_equal(load(f, "[auth]\ntoken = in-file\n"), 0);
	assert_int_equal(config_finish(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.token, "from-env");
	unsetenv("GAZETTE_TOKEN");

	config_cleanup(&f->cfg);
	config_init(&f->cfg);
	assert_int_equal(load(f, "[auth]\ntoken_file = missing.txt\n"), 0);
	buf_reset(&f->err);
	assert_int_equal(config_finish(&f->cfg, &f->err), -1);
	assert_non_null(strstr(buf_str(&f->err), "auth.token_file: cannot read"));
}

/* SPEC §10: the store is the SQLite file unless a PostgreSQL URL is set, in the file or (with
 * the password out of it) in $GAZETTE_DATABASE_URL, which wins. */
static void test_database_url(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, "[paths]\ndatabase = site.db\n"), 0);
	assert_int_equal(config_finish(&f->cfg, &f->err), 0);
	assert_non_null(strstr(config_database(&f->cfg), "/site.db"));
	assert_int_equal(load(f, "[database]\nurl = postgres://gazette@db.example.org/news\n"), 0);
	assert_int_equal(config_finish(&f->cfg, &f->err), 0);
	assert_string_equal(config_database(&f->cfg), "postgres://gazette@db.example.org/news");
	setenv("GAZETTE_DATABASE_URL", "postgresql://gazette:pw@db2/news?sslmode=require", 1);
	assert_int_equal(config_finish(&f->cfg, &f->err), 0);
	assert_string_equal(config_database(&f->cfg),
	                    "postgresql://gazette:pw@db2/news?sslmode=require");
	setenv("GAZETTE_DATABASE_URL", "/var/lib/secret-pw.db", 1);
	buf_reset(&f->err);
	assert_int_equal(config_finish(&f->cfg, &f->err), -1);
	assert_string_equal(buf_str(&f->err), "$GAZETTE_DATABASE_URL: not a postgresql:// URL");
	unsetenv("GAZETTE_DATABASE_URL");
	assert_true(config_database_url_valid("postgresql://"));
	assert_false(config_database_url_valid("postgresql://a b"));
	assert_false(config_database_url_valid("postgresql://a\tb"));
	assert_false(config_database_url_valid("mysql://x"));
}

static void test_command_line_overrides(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, "[server]\nport = 9000\nlisten = 127.0.0.1\n"), 0);
	assert_int_equal(config_set(&f->cfg, "server", "port", "9001", &f->err), 0);
	assert_int_equal(config_set(&f->cfg, "server", "listen", "0.0.0.0", &f->err), 0);
	assert_int_equal(f->cfg.port, 9001);
	assert_string_equal(f->cfg.listen, "0.0.0.0");
	buf_reset(&f->err);
	assert_int_equal(config_set(&f->cfg, "server", "port", "http", &f->err), -1);
	assert_string_equal(buf_str(&f->err),
	                    "server.port: 'http' is not a whole number from 0 to 65535");
}

static void test_timezones(void **state)
{
	(void)state;
	assert_true(config_timezone_valid("UTC"));
	assert_true(config_timezone_valid("Asia/Shanghai"));
	assert_true(config_timezone_valid("America/New_York"));
	assert_false(config_timezone_valid("Asia/Atlantis"));
	assert_false(config_timezone_valid(""));
	assert_false(config_timezone_valid("/etc/localtime"));
	assert_false(config_timezone_valid("Asia/../Asia/Shanghai"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_log_special_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_name_line_and_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_error_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_byte_order_mark, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_allow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_sources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_database_url, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command_line_overrides, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timezones, setup, teardown),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
