/* fuzz_config.c - libFuzzer target: any bytes as the INI configuration file. Errors are fine;
 * a crash, a leak or a loaded configuration that breaks its own rules is not. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "fuzz.h"
#include "mem.h"
#include "testutil.h"

static char *dir, *file;

static void cleanup(void)
{
	tmpdir_remove(dir);
	free(dir);
	free(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dir = tmpdir_new();
	file = xasprintf("%s/config.ini", dir);
	atexit(cleanup);
	return 0;
}

static void check_loaded(const struct config *cfg)
{
	/* the file's path is absolute, so every path resolved against it is too */
	const char *paths[] = {cfg->database, cfg->templates, cfg->static_dir};
	for (size_t i = 0; i < 3; i++)
		fuzz_check(paths[i][0] == '/', "path '%s' is not absolute", paths[i]);
	fuzz_check(!*cfg->token_file || cfg->token_file[0] == '/', "token_file '%s'",
	           cfg->token_file);
	size_t n = strlen(cfg->base_url);
	fuzz_check(strncmp(cfg->base_url, "http", 4) == 0 &&
	               (n == 0 || cfg->base_url[n - 1] != '/'),
	           "base_url '%s'", cfg->base_url);
	fuzz_check(cfg->port <= 65535 && cfg->per_page >= 1 && cfg->per_page <= 100, "numbers");
	fuzz_check(cfg->max_body_bytes >= 1 && cfg->timeout_s >= 1, "limits");
	fuzz_check(*cfg->site_language && *cfg->site_date_format && *cfg->access_log, "empty");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *fp = fopen(file, "wb");
	fuzz_check(fp != NULL, "cannot write %s", file);
	fuzz_check(fwrite(data, 1, size, fp) == size, "short write");
	fclose(fp);

	struct config cfg;
	struct buf err = BUF_INIT;
	config_init(&cfg);
	if (config_load(&cfg, file, &err) == 0) {
		fuzz_check(err.len == 0, "success with a message: %s", buf_str(&err));
		check_loaded(&cfg);
	} else {
		/* "file:line: message", naming the file it read */
		fuzz_check(strncmp(buf_str(&err), file, strlen(file)) == 0 &&
		               buf_str(&err)[strlen(file)] == ':',
		           "message: %s", buf_str(&err));
	}
	config_cleanup(&cfg);
	buf_cleanup(&err);
	return 0;
}
