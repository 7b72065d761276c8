/* A person-facing error: a stable machine code plus one sentence that says
 * what went wrong and what to do. Every path that faces a person (config,
 * CLI, API, uploads) fills one of these instead of printing. */
#ifndef POSTERN_COMMON_ERROR_H
#define POSTERN_COMMON_ERROR_H

#include <stddef.h>

struct error {
	char code[48];     /* e.g. "invalid_pem", "not_found", "config" */
	char message[512]; /* full sentence for a person */
};

/* Fill err (ignored when err is NULL). The message is printf-formatted. */
void error_set(struct error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reset err to "no error" (empty code and message). */
void error_clear(struct error *err);

#endif
