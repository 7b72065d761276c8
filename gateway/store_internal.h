/* Private to the store_*.c files (and the store unit test): the SQLite
 * handle and the small helpers every table module shares. Nothing outside
 * gateway/store*.c includes this. */
#ifndef POSTERN_GATEWAY_STORE_INTERNAL_H
#define POSTERN_GATEWAY_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/error.h"
#include "gateway/store.h"

/* One connection. Not shared between threads: each thread that needs the
 * database opens its own struct store. */
struct store {
	sqlite3 *db;
	char *path;
	int schema_version;
	int in_batch; /* inside store_batch_begin .. store_batch_end */
};

/* Fill err with code "storage" naming what we were doing and SQLite's
 * message for the last failure on st. Returns -1. */
int store_db_error(struct store *st, const char *doing, struct error *err);
/* Fill err with code "storage", "out of memory". Returns -1. */
int store_oom(struct error *err);

/* Prepare sql and bind parameters 1..n from fmt, one letter each:
 *   t  const char *       text; NULL binds ""
 *   n  const char *       text; NULL binds SQL NULL
 *   b  const void *, size_t   blob; NULL pointer binds SQL NULL
 *   i  int
 *   l  long long
 * Returns the statement (caller finalizes) or NULL with err. */
sqlite3_stmt *store_stmt(struct store *st, const char *doing, struct error *err, const char *sql,
			 const char *fmt, ...);
/* Step s once: 1 for a row, 0 when done, -1 with err (a UNIQUE failure is
 * reported as "conflict"). Does not finalize. */
int store_step(struct store *st, sqlite3_stmt *s, const char *doing, struct error *err);
/* Prepare, bind (as store_stmt), run to completion and finalize a
 * statement that returns no rows. Returns the number of rows changed, or
 * -1 with err. */
int store_exec(struct store *st, const char *doing, struct error *err, const char *sql,
	       const char *fmt, ...);
/* Run a query that yields at most one integer: 1 and *out when a row
 * came back, 0 when none, -1 with err. */
int store_query_int(struct store *st, const char *doing, struct error *err, long long *out,
		    const char *sql, const char *fmt, ...);

/* Write transactions: BEGIN IMMEDIATE takes the write lock up front so a
 * transaction never fails half way on a lock upgrade. store_tx_end commits
 * when rc is 0 and rolls back otherwise; it returns 0 only when the
 * transaction committed. */
int store_tx_begin(struct store *st, struct error *err);
int store_tx_end(struct store *st, int rc, struct error *err);
/* Read transactions: several SELECTs that must see one snapshot. */
int store_read_begin(struct store *st, struct error *err);
void store_read_end(struct store *st);

/* Column copies. Text: malloc'd, "" for SQL NULL; blob: malloc'd or NULL
 * for SQL NULL. A failed allocation sets *oom and returns NULL. */
char *store_col_text(sqlite3_stmt *s, int col, int *oom);
char *store_col_text_null(sqlite3_stmt *s, int col, int *oom);
unsigned char *store_col_blob(sqlite3_stmt *s, int col, size_t *len, int *oom);

/* Make room for one more element in a growing array. Returns 0 or -1. */
int store_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* Insert an audit row inside the caller's transaction; nothing when who
 * is NULL. Returns 0 or -1 with err. */
int store_audit_write(struct store *st, const struct store_actor *who, const char *action,
		      const char *target, const char *detail, struct error *err);

/* The current time in unix seconds. */
long long store_now(void);

#endif
