/* cli.c - the commands: serve's options, import, export, render (SPEC §2). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "article.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "ninjs.h"
#include "store.h"
#include "template.h"

const char cli_usage[] =
    "usage: gazette [serve] [-c FILE] [-l ADDR] [-p PORT]   run the server (the default)\n"
    "       gazette import [-c FILE] [--format F] FILE...  insert or update articles from JSON\n"
    "                                                      files ('-' reads stdin)\n"
    "       gazette export [-c FILE] [--format F]          print every article as\n"
    "                                                      {\"articles\":[...]} on stdout\n"
    "       gazette migrate [-c FILE] --to URL|PATH        copy every article into another,\n"
    "                                                      empty database (PostgreSQL's\n"
    "                                                      postgresql://... or an SQLite file)\n"
    "       gazette render [-t DIR] TEMPLATE DATA.json     render a template with a JSON\n"
    "                                                      context (partials from DIR)\n"
    "       gazette --help | --version\n"
    "\n"
    "  -c, --config FILE   configuration file (else $GAZETTE_CONFIG, else ./config.ini)\n"
    "  -l, --listen ADDR   address to bind, overriding server.listen\n"
    "  -p, --port PORT     port to bind (0 picks a free one), overriding server.port\n"
    "  -f, --format F      json (Gazette's records, the default) or ninjs (IPTC ninjs 3.1\n"
    "                      documents, an array of them or one; Superdesk's guid dialect too)\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

int cli_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gazette: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", cli_usage);
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

int cli_serve(int argc, char **argv)
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
		case 'h': fputs(cli_usage, stdout); return 0;
		default:
			return cli_usage_error("unknown or incomplete option '%s'",
			                       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);

	struct config cfg;
	config_init(&cfg);
	int rc = load_config(&cfg, file);
	struct buf err = BUF_INIT;
	if (rc == 0 && listen && config_set(&cfg, "server", "listen", listen, &err) < 0)
		rc = cli_usage_error("-l: %s", buf_str(&err));
	if (rc == 0 && port && config_set(&cfg, "server", "port", port, &err) < 0)
		rc = cli_usage_error("-p: %s", buf_str(&err));
	if (rc == 0)
		rc = finish_config(&cfg);
	if (rc) {
		buf_cleanup(&err);
		config_cleanup(&cfg);
		return rc;
	}

	buf_cleanup(&err);
	rc = app_run(&cfg);
	config_cleanup(&cfg);
	return rc;
}

/* Options shared by the commands on a configured database: -c FILE, --format json|ninjs and
 * --to WHERE (ninjs or to NULL where the command has no such choice). Returns the index of
 * the first operand, or -1 after printing usage. */
static int config_options(int argc, char **argv, const char **file, bool *ninjs, const char **to)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"format", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:f:t:h", longopts, NULL)) != -1) {
		if (c == 'c') {
			*file = optarg;
		} else if (c == 't' && to) {
			*to = optarg;
		} else if (c == 't') {
			cli_usage_error("this command takes no %s", "--to");
			return -1;
		} else if (c == 'f' && ninjs &&
		           (strcmp(optarg, "json") == 0 || strcmp(optarg, "ninjs") == 0)) {
			*ninjs = strcmp(optarg, "ninjs") == 0;
		} else if (c == 'f') {
			cli_usage_error("--format is json or ninjs, not '%s'", optarg);
			return -1;
		} else if (c == 'h') {
			fputs(cli_usage, stdout);
			exit(0);
		} else {
			cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* The database of a loaded configuration; NULL with *rc set after printing why. */
static struct store *open_database(const struct config *cfg, int *rc)
{
	struct buf err = BUF_INIT;
	struct store *s = store_open(config_database(cfg), 1, &err);
	if (!s) {
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
		*rc = 1;
	}
	buf_cleanup(&err);
	return s;
}

static struct store *open_store(struct config *cfg, const char *file, int *rc)
{
	*rc = load_config(cfg, file);
	if (*rc == 0)
		*rc = finish_config(cfg);
	return *rc ? NULL : open_database(cfg, rc);
}

static char *read_all(const char *path, size_t *len, struct buf *err)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	bool failed = ferror(fp);
	fclose(fp);
	if (failed) {
		buf_printf(err, "%s: read error", path);
		buf_cleanup(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

/* How records are read: Gazette's JSON, or ninjs documents for this site. */
struct reading {
	bool ninjs;
	const char *base_url;
	int64_t now;
};

/* One record into a; reports a bad one as file[i]: field: message, and what a ninjs document
 * had that a story has no place for. */
static int read_record(const struct reading *how, const char *name, size_t i, const json_t *rec,
                       struct article *a)
{
	struct article_error e;
	json_t *ignored = how->ninjs ? json_array() : NULL;
	int rc = how->ninjs ? ninjs_to_article(rec, ARTICLE_IMPORT, how->now, how->base_url, a, &e,
	                                       ignored)
	                    : article_from_json(rec, ARTICLE_IMPORT, how->now, a, &e);
	if (rc < 0)
		fprintf(stderr, "%s[%zu]: %s%s%s\n", name, i, e.field, *e.field ? ": " : "",
		        e.message);
	if (rc == 0 && json_array_size(ignored)) {
		fprintf(stderr, "%s[%zu]: left out (no place in a story):", name, i);
		size_t k;
		json_t *v;
		json_array_foreach(ignored, k, v)
		{
			fprintf(stderr, "%s %s", k ? "," : "", json_string_value(v));
		}
		fputc('\n', stderr);
	}
	json_decref(ignored);
	return rc;
}

/* Adds the records of one parsed file to list; reports each bad one as file[i]: field: msg. */
static int collect(const char *name, json_t *doc, struct article **list, size_t *n, size_t *cap,
                   const struct reading *how)
{
	json_t *items = doc;
	if (json_is_object(doc) && json_object_size(doc) == 1 &&
	    json_is_array(json_object_get(doc, "articles")))
		items = json_object_get(doc, "articles");
	int bad = 0;
	size_t count = json_is_array(items) ? json_array_size(items) : 1;
	for (size_t i = 0; i < count; i++) {
		json_t *rec = json_is_array(items) ? json_array_get(items, i) : items;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*list = xrealloc(*list, *cap * sizeof(**list));
		}
		struct article *a = &(*list)[*n];
		article_init(a);
		if (read_record(how, name, i, rec, a) < 0) {
			article_cleanup(a);
			bad++;
			continue;
		}
		(*n)++;
	}
	return bad;
}

int cli_import(int argc, char **argv)
{
	const char *file = NULL;
	bool ninjs = false;
	int first = config_options(argc, argv, &file, &ninjs, NULL);
	if (first < 0)
		return 2;
	if (first >= argc)
		return cli_usage_error("import needs at least one FILE%s", "");
	struct config cfg;
	config_init(&cfg);
	int rc = load_config(&cfg, file);
	if (rc == 0)
		rc = finish_config(&cfg);
	if (rc) {
		config_cleanup(&cfg);
		return rc;
	}

	/* Everything is read and checked before the database is opened: a bad file changes
	 * nothing, not even the database's bytes. */
	int64_t now = (int64_t)time(NULL);
	struct reading how = {ninjs, cfg.base_url, now};
	struct article *list = NULL;
	size_t n = 0, cap = 0;
	int bad = 0;
	for (int i = first; i < argc; i++) {
		json_error_t jerr;
		bool std_in = strcmp(argv[i], "-") == 0;
		const char *name = std_in ? "-" : argv[i];
		json_t *doc = NULL;
		if (std_in) {
			doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
		} else {
			/* read whole: jansson's own file reading takes a byte at a time */
			struct buf err = BUF_INIT;
			size_t len;
			char *text = read_all(argv[i], &len, &err);
			if (!text) {
				fprintf(stderr, "%s\n", buf_str(&err));
				buf_cleanup(&err);
				bad++;
				continue;
			}
			doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
			free(text);
		}
		if (!doc) {
			fprintf(stderr, "%s:%d:%d: %s\n", name, jerr.line, jerr.column, jerr.text);
			bad++;
			continue;
		}
		bad += collect(name, doc, &list, &n, &cap, &how);
		json_decref(doc);
	}
	rc = bad ? 1 : 0;
	if (bad)
		fprintf(stderr, "gazette: %d invalid record%s: nothing imported\n", bad,
		        bad == 1 ? "" : "s");

	struct store *s = NULL;
	if (!bad) {
		s = open_database(&cfg, &rc);
		if (s) {
			size_t failed = 0;
			int r = store_import(s, list, n, now, &failed);
			if (r < 0) {
				fprintf(stderr,
				        "gazette: record %zu (slug '%s'): %s: nothing imported\n",
				        failed, list[failed].slug,
				        r == -EEXIST ? "slug taken" : strerror(-r));
				rc = 1;
			} else {
				fprintf(stderr, "imported %zu article%s\n", n, n == 1 ? "" : "s");
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		article_cleanup(&list[i]);
	free(list);
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

int cli_export(int argc, char **argv)
{
	const char *file = NULL;
	bool ninjs = false;
	int first = config_options(argc, argv, &file, &ninjs, NULL);
	if (first < 0)
		return 2;
	if (first < argc)
		return cli_usage_error("unexpected argument '%s'", argv[first]);
	struct config cfg;
	config_init(&cfg);
	int rc;
	struct store *s = open_store(&cfg, file, &rc);
	if (s) {
		struct article_list list;
		int r = store_export(s, &list);
		if (r < 0) {
			fprintf(stderr, "gazette: export failed: %s\n", strerror(-r));
			rc = 1;
		} else {
			json_t *items = json_array();
			for (size_t i = 0; i < list.n; i++)
				json_array_append_new(
				    items, ninjs ? ninjs_from_article(&list.items[i], cfg.base_url,
				                                      cfg.site_language)
				                 : article_to_json(&list.items[i], cfg.base_url,
				                                   cfg.site_language, true));
			/* ninjs: an array of documents, as import --format ninjs reads it */
			json_t *doc = ninjs ? items : json_pack("{s:o}", "articles", items);
			json_dumpf(doc, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(doc);
			article_list_cleanup(&list);
			rc = fflush(stdout) == 0 ? 0 : 1;
		}
	}
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

/* Where a store is, for messages: a PostgreSQL URL is named by its engine only (it may hold
 * a password). */
static const char *store_name(const char *where)
{
	return config_database_url_valid(where) ? "the PostgreSQL database" : where;
}

int cli_migrate(int argc, char **argv)
{
	const char *file = NULL, *to = NULL;
	int first = config_options(argc, argv, &file, NULL, &to);
	if (first < 0)
		return 2;
	if (first < argc)
		return cli_usage_error("unexpected argument '%s'", argv[first]);
	if (!to || !*to)
		return cli_usage_error("migrate needs --to URL or PATH%s", "");
	if (strncmp(to, "postgres", 8) == 0 && !config_database_url_valid(to))
		return cli_usage_error("--to: not a postgresql:// URL%s", "");
	struct config cfg;
	config_init(&cfg);
	int rc;
	struct store *from = open_store(&cfg, file, &rc), *dest = NULL;
	struct article_list list = {0};
	if (!from)
		goto out;
	if (strcmp(config_database(&cfg), to) == 0) {
		fprintf(stderr, "gazette: --to names the configured database itself\n");
		rc = 2;
		goto out;
	}
	struct buf err = BUF_INIT;
	dest = store_open(to, 1, &err);
	if (!dest) {
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
		buf_cleanup(&err);
		rc = 1;
		goto out;
	}
	buf_cleanup(&err);
	int64_t there = store_count(dest, false, 0);
	if (there != 0) {
		if (there > 0)
			fprintf(stderr,
			        "gazette: %s already holds %lld article%s: nothing copied\n",
			        store_name(to), (long long)there, there == 1 ? "" : "s");
		else
			fprintf(stderr, "gazette: cannot read %s: %s\n", store_name(to),
			        strerror((int)-there));
		rc = 1;
		goto out;
	}
	int r = store_export(from, &list);
	size_t failed = 0;
	if (r == 0)
		r = store_import(dest, list.items, list.n, (int64_t)time(NULL), &failed);
	if (r < 0) {
		fprintf(stderr, "gazette: migration failed (record %zu): %s: nothing copied\n",
		        failed, strerror(-r));
		rc = 1;
	} else {
		fprintf(stderr, "migrated %zu article%s to %s\n", list.n, list.n == 1 ? "" : "s",
		        store_name(to));
	}
out:
	article_list_cleanup(&list);
	store_close(dest);
	store_close(from);
	config_cleanup(&cfg);
	return rc;
}

int cli_render(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"templates", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:h", longopts, NULL)) != -1) {
		if (c == 't') {
			dir = optarg;
		} else if (c == 'h') {
			fputs(cli_usage, stdout);
			return 0;
		} else {
			return cli_usage_error("unknown or incomplete option '%s'",
			                       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("render needs TEMPLATE and DATA.json%s", "");
	const char *tpl_path = argv[optind], *data_path = argv[optind + 1];

	struct buf err = BUF_INIT, out = BUF_INIT;
	struct tpl_set *set = tpl_set_new();
	json_t *data = NULL;
	size_t len = 0;
	char *src = NULL;
	int rc = 1;
	if (dir && tpl_set_load_dir(set, dir, &err) < 0)
		goto done;
	src = read_all(tpl_path, &len, &err);
	if (!src)
		goto done;
	/* the template's own name, so that {{<layout}} in DIR can find it by name too */
	const char *base = strrchr(tpl_path, '/');
	base = base ? base + 1 : tpl_path;
	char *name = xstrdup(base);
	char *dot = strstr(name, ".mustache");
	if (dot)
		*dot = '\0';
	int added = tpl_set_add(set, name, tpl_path, src, len, &err);
	const struct tpl *t = added == 0 ? tpl_set_get(set, name) : NULL;
	free(name);
	if (!t || tpl_set_check(set, &err) < 0)
		goto done;
	json_error_t jerr;
	data = json_load_file(data_path, JSON_DECODE_ANY, &jerr);
	if (!data) {
		buf_printf(&err, "%s:%d:%d: %s", data_path, jerr.line, jerr.column, jerr.text);
		goto done;
	}
	if (tpl_render(set, t, data, &out, &err) < 0)
		goto done;
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	if (rc)
		fprintf(stderr, "gazette: %s\n", buf_str(&err));
	json_decref(data);
	free(src);
	tpl_set_free(set);
	buf_cleanup(&out);
	buf_cleanup(&err);
	return rc;
}
