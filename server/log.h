/* log.h - the error log on stderr, filtered by level, and the access log. */
#ifndef GAZETTE_LOG_H
#define GAZETTE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above level are dropped. Set once at start, before threads run. */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Opens the access log: "-" is stdout, "off" disables it, anything else is a file opened for
 * appending. Returns 0, or -errno when the file cannot be opened. */
int log_access_open(const char *target);
void log_access_close(void);
/* Opens the access log's file again by its name, after logrotate moved it (SIGUSR1): lines
 * from then on go to the new file. Nothing to do for stdout or off. Returns 0 or -errno (the
 * old file is kept then). */
int log_access_reopen(void);
/* Writes one complete line with a single write(2), so lines from threads never interleave. */
void log_access_write(const char *line, size_t len);
/* Whether an access log is open (callers skip formatting when it is not). */
int log_access_enabled(void);

#endif
