/* The access log: one line per request, combined or JSON lines. Workers
 * format into a buffer of their own; a writer thread does the write(2), so
 * a slow disk never stalls a request (lines are dropped and counted when
 * the writer falls behind). */
#ifndef POSTERN_GATEWAY_ACCESS_LOG_H
#define POSTERN_GATEWAY_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gateway/config_file.h"

struct access_entry {
	const char *client_ip;
	time_t when;
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int version_minor;
	int status;
	uint64_t bytes_sent; /* response body bytes */
	const char *host;
	size_t host_len;
	const char *referer;
	size_t referer_len;
	const char *user_agent;
	size_t user_agent_len;
	const char *app;     /* application name, "" when none */
	uint64_t duration_us;
};

/* Open the log at path ("-" = stderr, "" = off) in format fmt and start
 * the writer thread. Returns 0 or -1 (errno set). */
int access_log_open(const char *path, enum config_log_format fmt);
/* Reopen the file (SIGHUP). */
int access_log_reopen(void);
/* Flush everything and stop the writer thread. */
void access_log_close(void);

/* Append one line (any worker thread). No-op when the log is off. */
void access_log_write(const struct access_entry *e);
/* Hand this thread's buffered lines to the writer (a worker's timer). */
void access_log_flush_thread(void);
/* Lines dropped because the writer fell behind. */
unsigned long long access_log_dropped(void);

#endif
