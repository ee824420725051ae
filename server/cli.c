/* cli.c - the commands: serve's options, import, export, render (SPEC §2). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "article.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "media.h"
#include "mem.h"
#include "ninjs.h"
#include "render.h"
#include "static.h"
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
    "       gazette user add [-c FILE] HANDLE --name N --role R [--bio B]\n"
    "                                                      an account: contributor, editor\n"
    "                                                      or admin\n"
    "       gazette user list [-c FILE]                    every account\n"
    "       gazette user passwd [-c FILE] HANDLE           set a password (read from stdin)\n"
    "       gazette token create [-c FILE] HANDLE [--name N] [--expires-days D]\n"
    "                                                      a token for the account, printed\n"
    "                                                      once on stdout\n"
    "       gazette token list [-c FILE]                   every token (never the secret)\n"
    "       gazette token revoke [-c FILE] ID              a token stops working at once\n"
    "       gazette previews revoke [-c FILE]              every preview link stops working\n"
    "       gazette media gc [-c FILE]                     remove files under paths.media that\n"
    "                                                      no image record uses (older than\n"
    "                                                      10 minutes)\n"
    "       gazette check [-c FILE]                        validate the configuration, the\n"
    "                                                      templates, the folders and the\n"
    "                                                      database (changing nothing): ok,\n"
    "                                                      or every problem and exit 2\n"
    "       gazette backup [-c FILE] DEST                  a consistent, checked copy of the\n"
    "                                                      SQLite database while it is in use\n"
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

/* Each line of problems on stderr, "gazette: " before it. */
static void print_problems(const struct buf *problems)
{
	const char *p = buf_str(problems);
	while (*p) {
		size_t n = strcspn(p, "\n");
		fprintf(stderr, "gazette: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* Finds and reads the configuration as SPEC §2 orders it. Returns 0 or 2 (message printed). */
static const char *config_file(const char *file)
{
	if (!file) {
		const char *env = getenv("GAZETTE_CONFIG");
		if (env && *env)
			file = env;
		else if (access("config.ini", F_OK) == 0)
			file = "config.ini";
	}
	return file;
}

static int load_config(struct config *cfg, const char *file)
{
	file = config_file(file);
	struct buf err = BUF_INIT;
	int rc = file && config_load(cfg, file, &err) < 0 ? 2 : 0;
	print_problems(&err);
	buf_cleanup(&err);
	return rc;
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
	} else {
		app_outbound(s, cfg); /* an import's stories are news too: the server delivers it */
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

/* Whether an export's accounts hold one that the API could not have made (its handle, name
 * and role as auth.c reads them); each is named on stderr. */
static bool bad_accounts(const char *name, const json_t *accounts)
{
	bool bad = false;
	size_t i;
	json_t *v;
	json_array_foreach(accounts, i, v)
	{
		json_t *in =
		    json_pack("{s:O?, s:O?, s:O?}", "handle", json_object_get(v, "handle"), "name",
		              json_object_get(v, "name"), "role", json_object_get(v, "role"));
		json_t *acct = NULL;
		char why[256];
		if (!in || auth_account_from_json(in, true, &acct, why, sizeof(why)) < 0) {
			fprintf(stderr, "%s: accounts[%zu]: %s\n", name, i,
			        in ? why : "must be an object");
			bad = true;
		}
		json_decref(acct);
		json_decref(in);
	}
	return bad;
}

/* Adds the records of one parsed file to list; reports each bad one as file[i]: field: msg. */
static int collect(const char *name, json_t *doc, struct article **list, size_t *n, size_t *cap,
                   const struct reading *how, json_t *newsroom)
{
	json_t *items = doc;
	/* an export: {"articles": [...]} and (SPEC §11) its accounts and revisions */
	if (json_is_object(doc) && json_is_array(json_object_get(doc, "articles"))) {
		const char *key;
		json_t *v;
		json_object_foreach(doc, key, v)
		{
			if (strcmp(key, "accounts") == 0 || strcmp(key, "revisions") == 0 ||
			    strcmp(key, "media") == 0) {
				if (!json_is_array(v)) {
					fprintf(stderr, "%s: %s: must be an array\n", name, key);
					return 1;
				}
				if (strcmp(key, "accounts") == 0 && bad_accounts(name, v))
					return 1;
				json_array_extend(json_object_get(newsroom, key), v);
			} else if (strcmp(key, "articles") != 0) {
				fprintf(stderr, "%s: %s: is not part of an export\n", name, key);
				return 1;
			}
		}
		items = json_object_get(doc, "articles");
	}
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

/* An export names its images by id; their files are what paths.media holds, copied by the
 * operator. An image whose files are not all there is left out (and said so), so a story that
 * shows it is refused by name rather than imported with a broken picture. */
static void keep_present_media(const struct config *cfg, json_t *newsroom)
{
	json_t *media = json_object_get(newsroom, "media"), *kept = json_array();
	size_t i, j;
	json_t *m, *r;
	json_array_foreach(media, i, m)
	{
		bool all = json_is_array(json_object_get(m, "renditions"));
		json_array_foreach(json_object_get(m, "renditions"), j, r)
		{
			const char *path = json_string_value(json_object_get(r, "path"));
			struct stat st;
			int fd = path ? static_open(cfg->media_dir, path, &st) : -1;
			if (fd >= 0)
				close(fd);
			all = all && fd >= 0;
		}
		if (all)
			json_array_append(kept, m);
		else
			fprintf(stderr,
			        "media %s: its files are not all under paths.media: not "
			        "imported\n",
			        json_is_string(json_object_get(m, "id"))
			            ? json_string_value(json_object_get(m, "id"))
			            : "?");
	}
	json_object_set_new(newsroom, "media", kept);
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
	json_t *newsroom = json_pack("{s:[], s:[], s:[]}", "accounts", "revisions", "media");
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
		bad += collect(name, doc, &list, &n, &cap, &how, newsroom);
		json_decref(doc);
	}
	rc = bad ? 1 : 0;
	if (bad)
		fprintf(stderr, "gazette: %d invalid record%s: nothing imported\n", bad,
		        bad == 1 ? "" : "s");

	struct store *s = NULL;
	if (!bad)
		keep_present_media(&cfg, newsroom);
	if (!bad) {
		s = open_database(&cfg, &rc);
		if (s) {
			size_t failed = 0;
			char why[256] = "";
			int r =
			    store_import_all(s, list, n, newsroom, now, &failed, why, sizeof(why));
			if (r < 0 && n == 0) {
				fprintf(stderr, "gazette: %s: nothing imported\n",
				        r == -EINVAL ? "an account or revision is not valid"
				                     : strerror(-r));
				rc = 1;
			} else if (r < 0) {
				fprintf(stderr,
				        "gazette: record %zu (slug '%s'): %s: nothing imported\n",
				        failed, list[failed].slug,
				        r == -EEXIST ? "slug taken"
				        : r == -EINVAL
				            ? (*why ? why
				                    : "an author, account or revision is not valid")
				            : strerror(-r));
				rc = 1;
			} else {
				fprintf(stderr, "imported %zu article%s\n", n, n == 1 ? "" : "s");
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		article_cleanup(&list[i]);
	free(list);
	json_decref(newsroom);
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
		json_t *newsroom = NULL;
		int r = store_export(s, &list);
		if (r == 0 && !ninjs)
			r = store_export_newsroom(s, false, &newsroom);
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
			if (newsroom)
				json_object_update(doc, newsroom); /* accounts and revisions */
			json_dumpf(doc, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(doc);
			article_list_cleanup(&list);
			rc = fflush(stdout) == 0 ? 0 : 1;
		}
		json_decref(newsroom);
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
	json_t *newsroom = NULL;
	if (r == 0)
		r = store_export_newsroom(from, true, &newsroom);
	if (r == 0)
		r = store_import_all(dest, list.items, list.n, newsroom, (int64_t)time(NULL),
		                     &failed, NULL, 0);
	json_decref(newsroom);
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

/* --- the newsroom's accounts and tokens (SPEC §11) --- */

struct account_options {
	const char *file, *name, *role, *bio, *expires;
	int first; /* the first operand */
};

/* -c FILE, --name, --role, --bio, --expires-days, anywhere among the operands. Returns 0, or 2
 * after printing usage. */
static int account_options(int argc, char **argv, struct account_options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {"bio", required_argument, NULL, 'b'},
	    {"expires-days", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:n:r:b:e:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->file = optarg; break;
		case 'n': o->name = optarg; break;
		case 'r': o->role = optarg; break;
		case 'b': o->bio = optarg; break;
		case 'e': o->expires = optarg; break;
		case 'h': fputs(cli_usage, stdout); exit(0);
		default:
			return cli_usage_error("unknown or incomplete option '%s'",
			                       argv[optind - 1]);
		}
	}
	o->first = optind;
	return 0;
}

/* What the command line did, for the audit: the account "cli" from no address. */
static struct store_actor cli_actor(void)
{
	return (struct store_actor){.account = "cli", .client = "", .request_id = ""};
}

static int store_failed(const char *what, int r)
{
	fprintf(stderr, "gazette: %s: %s\n", what,
	        r == -ENOENT   ? "no such account"
	        : r == -EEXIST ? "that handle is taken"
	                       : strerror(-r));
	return 1;
}

static int user_add(struct store *s, const struct account_options *o, const char *handle)
{
	json_t *in = json_pack("{s:s}", "handle", handle);
	if (o->name)
		json_object_set_new(in, "name", json_string(o->name));
	if (o->role)
		json_object_set_new(in, "role", json_string(o->role));
	if (o->bio)
		json_object_set_new(in, "bio", json_string(o->bio));
	json_t *acct = NULL;
	char why[256];
	int rc = 0;
	if (auth_account_from_json(in, true, &acct, why, sizeof(why)) < 0) {
		fprintf(stderr, "gazette: %s\n", why);
		rc = 2;
	} else {
		struct store_actor who = cli_actor();
		int r = store_account_add(s, &who, acct, (int64_t)time(NULL));
		if (r < 0)
			rc = store_failed(handle, r);
		else
			fprintf(stderr, "added %s (%s)\n", handle, o->role);
	}
	json_decref(acct);
	json_decref(in);
	return rc;
}

static int user_list(struct store *s)
{
	for (unsigned page = 1;; page++) {
		json_t *out = NULL;
		int r = store_accounts(s, page, 100, &out);
		if (r < 0)
			return store_failed("accounts", r);
		json_t *users = json_object_get(out, "users");
		size_t i;
		json_t *u;
		json_array_foreach(users, i, u)
		{
			printf("%-24s %-12s %s%s\n",
			       json_string_value(json_object_get(u, "handle")),
			       json_string_value(json_object_get(u, "role")),
			       json_string_value(json_object_get(u, "name")),
			       json_is_true(json_object_get(u, "disabled")) ? " (disabled)" : "");
		}
		size_t n = json_array_size(users);
		json_decref(out);
		if (n < 100)
			return fflush(stdout) == 0 ? 0 : 1;
	}
}

/* A password from stdin's first line (a terminal does not echo it). */
static int user_passwd(struct store *s, const char *handle)
{
	struct termios before, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &before) == 0;
	if (tty) {
		fprintf(stderr, "new password for %s: ", handle);
		quiet = before;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
		fputc('\n', stderr);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	int rc = 0;
	json_t *in = json_pack("{s:s}", "password", n > 0 ? line : "");
	json_t *changes = NULL;
	char why[256];
	if (!in || auth_account_from_json(in, false, &changes, why, sizeof(why)) < 0) {
		fprintf(stderr, "gazette: %s\n", in ? why : "the password is not valid UTF-8");
		rc = 2;
	} else {
		struct store_actor who = cli_actor();
		int r = store_account_update(s, &who, handle, changes, (int64_t)time(NULL), NULL);
		if (r < 0)
			rc = store_failed(handle, r);
		else
			fprintf(stderr, "password of %s set\n", handle);
	}
	if (line)
		memset(line, 0, cap);
	free(line);
	json_decref(in);
	json_decref(changes);
	return rc;
}

/* Opens the configured store for a newsroom command; NULL with *rc set. */
static struct store *newsroom_store(struct config *cfg, const char *file, int *rc)
{
	config_init(cfg);
	return open_store(cfg, file, rc);
}

int cli_user(int argc, char **argv)
{
	struct account_options o;
	if (account_options(argc, argv, &o))
		return 2;
	const char *verb = o.first < argc ? argv[o.first] : "";
	int operands = argc - o.first - 1;
	if (strcmp(verb, "add") == 0 && operands != 1)
		return cli_usage_error("user add needs one HANDLE%s", "");
	if (strcmp(verb, "add") == 0 && (!o.name || !o.role))
		return cli_usage_error("user add needs --name and --role%s", "");
	if (strcmp(verb, "passwd") == 0 && operands != 1)
		return cli_usage_error("user passwd needs one HANDLE%s", "");
	if (strcmp(verb, "list") == 0 && operands != 0)
		return cli_usage_error("user list takes no operand%s", "");
	if (strcmp(verb, "add") != 0 && strcmp(verb, "passwd") != 0 && strcmp(verb, "list") != 0)
		return cli_usage_error("user: add, list or passwd, not '%s'", verb);
	struct config cfg;
	int rc;
	struct store *s = newsroom_store(&cfg, o.file, &rc);
	if (s) {
		if (strcmp(verb, "add") == 0)
			rc = user_add(s, &o, argv[o.first + 1]);
		else if (strcmp(verb, "passwd") == 0)
			rc = user_passwd(s, argv[o.first + 1]);
		else
			rc = user_list(s);
	}
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

static int token_create(struct store *s, const struct account_options *o, const char *handle)
{
	json_t *in = json_object();
	if (o->name)
		json_object_set_new(in, "name", json_string(o->name));
	if (o->expires) {
		char *end;
		long long d = strtoll(o->expires, &end, 10);
		json_object_set_new(in, "expires_days",
		                    *end || !*o->expires ? json_string(o->expires)
		                                         : json_integer(d));
	}
	char name[401], why[256];
	unsigned days;
	int rc = auth_token_options(in, name, &days, why, sizeof(why));
	json_decref(in);
	if (rc < 0) {
		fprintf(stderr, "gazette: %s\n", why);
		return 2;
	}
	char token[SECRET_TOKEN_LEN + 1];
	json_t *t = NULL;
	struct store_actor who = cli_actor();
	int r = auth_token_issue(s, &who, handle, name, days, (int64_t)time(NULL), token, &t);
	if (r < 0)
		return store_failed(handle, r);
	/* the one time it is shown: stdout holds the token alone, for $(...) and files */
	printf("%s\n", token);
	fprintf(stderr, "token %lld for %s (%s); it is not shown again\n",
	        (long long)json_integer_value(json_object_get(t, "id")), handle, name);
	memset(token, 0, sizeof(token));
	json_decref(t);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int token_list(struct store *s)
{
	json_t *out = NULL;
	int r = store_tokens(s, &out);
	if (r < 0)
		return store_failed("tokens", r);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(out, "tokens"), i, t)
	{
		const char *revoked = json_string_value(json_object_get(t, "revoked_at"));
		const char *expires = json_string_value(json_object_get(t, "expires_at"));
		const char *used = json_string_value(json_object_get(t, "last_used_at"));
		printf("%-6lld %-10s %-20s %-24s used %s%s%s%s%s\n",
		       (long long)json_integer_value(json_object_get(t, "id")),
		       json_string_value(json_object_get(t, "prefix")),
		       json_string_value(json_object_get(t, "account")),
		       json_string_value(json_object_get(t, "name")), used ? used : "never",
		       expires ? ", expires " : "", expires ? expires : "",
		       revoked ? ", revoked " : "", revoked ? revoked : "");
	}
	json_decref(out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cli_token(int argc, char **argv)
{
	struct account_options o;
	if (account_options(argc, argv, &o))
		return 2;
	const char *verb = o.first < argc ? argv[o.first] : "";
	int operands = argc - o.first - 1;
	char *end = NULL;
	long long id = 0;
	if (strcmp(verb, "create") == 0 && operands != 1)
		return cli_usage_error("token create needs one HANDLE%s", "");
	if (strcmp(verb, "list") == 0 && operands != 0)
		return cli_usage_error("token list takes no operand%s", "");
	if (strcmp(verb, "revoke") == 0) {
		if (operands != 1)
			return cli_usage_error("token revoke needs one ID%s", "");
		id = strtoll(argv[o.first + 1], &end, 10);
		if (*end || id < 1)
			return cli_usage_error("token revoke: '%s' is not a token id",
			                       argv[o.first + 1]);
	}
	if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0)
		return cli_usage_error("token: create, list or revoke, not '%s'", verb);
	struct config cfg;
	int rc;
	struct store *s = newsroom_store(&cfg, o.file, &rc);
	if (s) {
		if (strcmp(verb, "create") == 0) {
			rc = token_create(s, &o, argv[o.first + 1]);
		} else if (strcmp(verb, "list") == 0) {
			rc = token_list(s);
		} else {
			struct store_actor who = cli_actor();
			int r = store_token_revoke(s, &who, id, (int64_t)time(NULL));
			rc = r == 0 ? 0 : 1;
			if (r == -EALREADY)
				fprintf(stderr, "gazette: token %lld is already revoked\n", id);
			else if (r == -ENOENT)
				fprintf(stderr, "gazette: no token %lld\n", id);
			else if (r < 0)
				store_failed("token", r);
			else
				fprintf(stderr, "token %lld revoked\n", id);
		}
	}
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

int cli_previews(int argc, char **argv)
{
	struct account_options o;
	if (account_options(argc, argv, &o))
		return 2;
	if (argc - o.first != 1 || strcmp(argv[o.first], "revoke") != 0)
		return cli_usage_error("previews: the command is 'previews revoke'%s", "");
	struct config cfg;
	int rc;
	struct store *s = newsroom_store(&cfg, o.file, &rc);
	if (s) {
		struct store_actor who = cli_actor();
		int r = store_secret_rotate(s, &who);
		rc = r == 0 ? 0 : store_failed("previews", r);
		if (r == 0)
			fprintf(stderr,
			        "the key of preview links is new: every link made before is "
			        "dead\n");
	}
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

int cli_media(int argc, char **argv)
{
	struct account_options o;
	if (account_options(argc, argv, &o))
		return 2;
	if (argc - o.first != 1 || strcmp(argv[o.first], "gc") != 0)
		return cli_usage_error("media: the command is 'media gc'%s", "");
	struct config cfg;
	int rc;
	struct store *s = newsroom_store(&cfg, o.file, &rc);
	if (s) {
		long n = media_gc(cfg.media_dir, store_media_known, s, MEDIA_GC_GRACE_S);
		if (n < 0) {
			fprintf(stderr, "gazette: media gc: %s: %s\n", cfg.media_dir,
			        strerror((int)-n));
			rc = 1;
		} else {
			fprintf(stderr, "removed %ld file%s no image record uses\n", n,
			        n == 1 ? "" : "s");
		}
	}
	store_close(s);
	config_cleanup(&cfg);
	return rc;
}

/* The folder path is in ("." for a bare name, "/" for one at the root). */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
}

/* A folder the server needs: one that must exist, or (create) one whose parent must, since
 * the server makes it; writable when the server writes there (checked as the user who runs
 * check: run it as the service's user). Adds "key: ..." to problems. */
static void check_folder(struct buf *problems, const char *key, const char *path, bool create,
                         bool writable)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			buf_printf(problems, "%s: %s is not a folder\n", key, path);
		else if (writable && access(path, W_OK | X_OK) < 0)
			buf_printf(problems, "%s: the folder %s is not writable: %s\n", key, path,
			           strerror(errno));
		return;
	}
	if (create) {
		char *parent = parent_of(path);
		bool ok = stat(parent, &st) == 0 && S_ISDIR(st.st_mode);
		if (!ok)
			buf_printf(problems,
			           "%s: neither %s nor the folder %s to make it in exists\n", key,
			           path, parent);
		free(parent);
		return;
	}
	buf_printf(problems, "%s: the folder %s does not exist\n", key, path);
}

/* Like nginx -t: the configuration, the templates, the folders and the database, every
 * problem found and exit 2, or "ok". Changes nothing. */
int cli_check(int argc, char **argv)
{
	const char *file = NULL;
	int first = config_options(argc, argv, &file, NULL, NULL);
	if (first < 0)
		return 2;
	if (first != argc)
		return cli_usage_error("check takes no argument but -c FILE, not '%s'",
		                       argv[first]);
	file = config_file(file);
	struct config cfg;
	config_init(&cfg);
	struct buf problems = BUF_INIT, err = BUF_INIT;
	if (file && config_load(&cfg, file, &problems) < 0)
		buf_putc(&problems, '\n');
	if (config_finish(&cfg, &err) < 0)
		buf_printf(&problems, "%s%s%s\n", file ? file : "", file ? ": " : "",
		           buf_str(&err));
	buf_reset(&err);
	setenv("TZ", cfg.site_timezone, 1);
	tzset();
	struct render *r = render_new(&cfg, &err);
	if (!r)
		buf_printf(&problems, "paths.templates: %s\n", buf_str(&err));
	render_free(r);
	check_folder(&problems, "paths.static", cfg.static_dir, false, false);
	check_folder(&problems, "paths.media", cfg.media_dir, true, true);
	if (strcmp(cfg.access_log, "-") != 0 && strcmp(cfg.access_log, "off") != 0) {
		char *folder = parent_of(cfg.access_log);
		check_folder(&problems, "log.access_log", folder, false, true);
		free(folder);
	}
	buf_reset(&err);
	if (store_check(config_database(&cfg), &err) < 0)
		buf_printf(&problems, "%s\n", buf_str(&err));
	int rc = 0;
	if (problems.len) {
		print_problems(&problems);
		rc = 2;
	} else {
		printf("ok\n");
	}
	buf_cleanup(&problems);
	buf_cleanup(&err);
	config_cleanup(&cfg);
	return rc;
}

/* A consistent copy of the live SQLite database in DEST, checked, while the server runs. */
int cli_backup(int argc, char **argv)
{
	const char *file = NULL;
	int first = config_options(argc, argv, &file, NULL, NULL);
	if (first < 0)
		return 2;
	if (argc - first != 1)
		return cli_usage_error("backup needs DEST, the file to write%s", "");
	const char *dest = argv[first];
	struct config cfg;
	config_init(&cfg);
	int rc = load_config(&cfg, file);
	if (rc == 0)
		rc = finish_config(&cfg);
	struct stat st;
	if (rc == 0 && stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "gazette: backup: %s is a folder; name the file to write\n", dest);
		rc = 2;
	}
	if (rc) {
		config_cleanup(&cfg);
		return rc;
	}
	struct buf err = BUF_INIT;
	struct store_backup_info info;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = store_backup(config_database(&cfg), dest, &info, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r == -ENOTSUP) {
		fprintf(stderr, "gazette: backup: the database is PostgreSQL's: use its own tool, "
		                "pg_dump (README, \"Backups\")\n");
		rc = 2;
	} else if (r < 0) {
		fprintf(stderr, "gazette: backup: %s\n", buf_str(&err));
		rc = r == -EINVAL ? 2 : 1;
	} else {
		double secs =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		fprintf(stderr,
		        "backup: %s: %lld stories, %lld bytes, integrity_check ok, in %.2f s\n",
		        dest, (long long)info.articles, (long long)info.bytes, secs);
	}
	buf_cleanup(&err);
	config_cleanup(&cfg);
	return rc;
}
