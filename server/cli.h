/* cli.h - the commands of SPEC §2, each from its own argv (argv[0] is the command's name). */
#ifndef GAZETTE_CLI_H
#define GAZETTE_CLI_H

/* The --help text. */
extern const char cli_usage[];

/* Prints "gazette: " fmt (with arg) and the usage on stderr; returns 2. */
int cli_usage_error(const char *fmt, const char *arg);

/* Each returns the process's exit status: 0, 1 runtime failure, 2 usage or configuration. */
int cli_serve(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_previews(int argc, char **argv);
/* media gc: removes what no image record uses under paths.media (SPEC §12). */
int cli_media(int argc, char **argv);
/* check: the configuration, templates, folders and database, like nginx -t (SPEC §16). */
int cli_check(int argc, char **argv);
/* backup DEST: a consistent copy of the SQLite database while the server runs (SPEC §16). */
int cli_backup(int argc, char **argv);

#endif
