/* main.c - argv to a command; nothing else (SPEC §9). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mem.h"

#ifndef GAZETTE_VERSION
#define GAZETTE_VERSION "0.0.0"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"serve", cli_serve},     {"import", cli_import},     {"export", cli_export},
    {"migrate", cli_migrate}, {"render", cli_render},     {"user", cli_user},
    {"token", cli_token},     {"previews", cli_previews}, {"media", cli_media},
    {"check", cli_check},     {"backup", cli_backup},
};

int main(int argc, char **argv)
{
	/* Jansson allocates through the project's wrappers: out of memory has one rule */
	json_set_alloc_funcs(xmalloc, free);
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("gazette %s\n", GAZETTE_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage, stdout);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].run(argc - 1, argv + 1);
		return cli_usage_error("unknown command '%s'", argv[1]);
	}
	return cli_serve(argc, argv);
}
