/* Error log: one line per event on stderr (or the file set by log_open).
 * Thread-safe: each line is written with one write(2). Untrusted strings
 * must go through log_escape first. */
#ifndef POSTERN_COMMON_LOG_H
#define POSTERN_COMMON_LOG_H

#include <stddef.h>

enum log_level {
	LOGL_DEBUG,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
	LOGL_MAX
};

void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *name, enum log_level *out);
/* Send the error log to path ("-" = stderr). Returns 0 or -1 (errno set). */
int log_open(const char *path);
/* Reopen the current file (SIGHUP, after logrotate). */
int log_reopen(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)

/* Copy src into dst (size n, always NUL-terminated) with control
 * characters, quotes, backslashes and non-ASCII bytes as \xNN, so a
 * client-chosen string cannot forge log lines. Returns dst. */
char *log_escape(char *dst, size_t n, const char *src, size_t src_len);

#endif
