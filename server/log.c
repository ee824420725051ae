/* log.c - stderr logging with levels, and the access log file. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

static enum log_level max_level = LOG_INFO;
static int access_fd = -1;
static int access_owned;
static char *access_path; /* the file, for log_access_reopen; NULL for stdout or off */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	max_level = level;
}

int log_level_parse(const char *s, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char line[1024];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "[%s] ", level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

int log_access_open(const char *target)
{
	log_access_close();
	if (strcmp(target, "off") == 0)
		return 0;
	if (strcmp(target, "-") == 0) {
		access_fd = STDOUT_FILENO;
		access_owned = 0;
		return 0;
	}
	int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	access_fd = fd;
	access_owned = 1;
	access_path = xstrdup(target);
	return 0;
}

int log_access_reopen(void)
{
	if (!access_path)
		return 0;
	int fd = open(access_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* dup2 swaps the file under access_fd in one step: a line being written goes whole to
	 * the old file or to the new one, and no writer ever sees a closed descriptor */
	int rc = dup3(fd, access_fd, O_CLOEXEC) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

void log_access_close(void)
{
	if (access_fd >= 0 && access_owned)
		close(access_fd);
	access_fd = -1;
	access_owned = 0;
	free(access_path);
	access_path = NULL;
}

int log_access_enabled(void)
{
	return access_fd >= 0;
}

void log_access_write(const char *line, size_t len)
{
	if (access_fd < 0)
		return;
	ssize_t w = write(access_fd, line, len);
	(void)w;
}
