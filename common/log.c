#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOGL_INFO;
static int log_fd = 2;
static char *log_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[LOGL_MAX] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < LOGL_MAX; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static int open_path(const char *path)
{
	if (strcmp(path, "-") == 0)
		return 2;
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int log_open(const char *path)
{
	int fd = open_path(path);
	char *copy;

	if (fd < 0)
		return -1;
	copy = strdup(path);
	if (copy == NULL) {
		if (fd != 2)
			close(fd);
		return -1;
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = copy;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (log_path == NULL || strcmp(log_path, "-") == 0)
		return 0;
	fd = open_path(log_path);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (level < min_level || level >= LOGL_MAX)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "[%s] ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	(void)!write(log_fd, line, n);
	pthread_mutex_unlock(&log_lock);
}

char *log_escape(char *dst, size_t n, const char *src, size_t src_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (n == 0)
		return dst;
	for (size_t i = 0; i < src_len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= n)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= n)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
