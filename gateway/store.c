/* Storage core: opening the database, schema migrations, transactions,
 * the helpers the table modules share, and settings. SQL text lives only
 * in gateway/store*.c, and every value reaches SQLite as a bound parameter. */
#include "gateway/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/store_internal.h"

#define BUSY_TIMEOUT_MS 5000

/* Migration n is migrations[n - 1]. Append new ones; never edit an old one:
 * a database records only the number it has reached. */
static const char *const migrations[] = {
	/* 1: the initial schema. AUTOINCREMENT keeps ids unique forever, so
	 * an audit target like "certificate/3" never names two objects. */
	"CREATE TABLE certificates ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" domain TEXT NOT NULL,"
	" source TEXT NOT NULL CHECK (source IN ('user', 'self_signed', 'acme')),"
	" version INTEGER NOT NULL CHECK (version >= 1),"
	" chain_pem TEXT,"
	" sealed_key BLOB,"
	" key_uid TEXT NOT NULL DEFAULT '',"
	" extra_sans TEXT NOT NULL DEFAULT '[]',"
	" state TEXT NOT NULL DEFAULT '',"
	" state_detail TEXT NOT NULL DEFAULT '',"
	" auto_renew INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),"
	" next_attempt INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE INDEX certificates_domain ON certificates (domain);"
	"CREATE TABLE certificate_versions ("
	" id INTEGER PRIMARY KEY,"
	" certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,"
	" version INTEGER NOT NULL,"
	" domain TEXT NOT NULL,"
	" chain_pem TEXT,"
	" sealed_key BLOB,"
	" key_uid TEXT NOT NULL DEFAULT '',"
	" extra_sans TEXT NOT NULL DEFAULT '[]',"
	" created_at INTEGER NOT NULL,"
	" UNIQUE (certificate_id, version));"
	"CREATE TABLE applications ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	" balance TEXT NOT NULL DEFAULT 'round_robin'"
	"  CHECK (balance IN ('round_robin', 'weighted', 'ip_hash', 'least_conn')),"
	" https_redirect INTEGER NOT NULL DEFAULT 0 CHECK (https_redirect IN (0, 1)),"
	" auto_certificate INTEGER NOT NULL DEFAULT 0 CHECK (auto_certificate IN (0, 1)),"
	" client_ip_header TEXT NOT NULL DEFAULT 'X-Forwarded-For',"
	" health_path TEXT NOT NULL DEFAULT '',"
	" health_interval_s INTEGER NOT NULL DEFAULT 10,"
	" options_json TEXT NOT NULL DEFAULT '{}',"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE TABLE application_domains ("
	" application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,"
	" position INTEGER NOT NULL,"
	" domain TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	" PRIMARY KEY (application_id, position));"
	"CREATE TABLE application_backends ("
	" application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,"
	" position INTEGER NOT NULL,"
	" url TEXT NOT NULL,"
	" weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),"
	" PRIMARY KEY (application_id, position));"
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" password_hash TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	" id_hash TEXT PRIMARY KEY,"
	" user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
	" csrf_hash TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL);"
	"CREATE TABLE api_tokens ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL,"
	" user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
	" token_hash TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL,"
	" last_used INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE acme_accounts ("
	" id INTEGER PRIMARY KEY,"
	" directory_url TEXT NOT NULL UNIQUE,"
	" kid TEXT NOT NULL DEFAULT '',"
	" sealed_key BLOB NOT NULL,"
	" key_uid TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE settings ("
	" key TEXT PRIMARY KEY,"
	" value BLOB NOT NULL);"
	"CREATE TABLE audit_log ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '');",
	/* 2: the application firewall. Custom rule ids start above the
	 * preset range (WAF_FIRST_CUSTOM_ID = 100000) and, like every other
	 * id, are never reused. Events are written by the control thread in
	 * batches and pruned by age; they are looked up newest first by time,
	 * by application, by rule and by the reference on a 403 page. */
	"CREATE TABLE waf_rules ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" rule_json TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"INSERT INTO sqlite_sequence (name, seq) VALUES ('waf_rules', 100000);"
	"CREATE TABLE waf_preset_state ("
	" rule_id INTEGER PRIMARY KEY,"
	" enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)));"
	"CREATE TABLE waf_events ("
	" id INTEGER PRIMARY KEY,"
	" ref TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" application_id INTEGER,"
	" rule_id INTEGER,"
	" kind TEXT,"
	" blocked INTEGER,"
	" client_ip TEXT,"
	" target TEXT,"
	" method TEXT,"
	" path TEXT,"
	" excerpt TEXT);"
	"CREATE INDEX waf_events_time ON waf_events (time_ms);"
	"CREATE INDEX waf_events_app_time ON waf_events (application_id, time_ms);"
	"CREATE INDEX waf_events_rule_time ON waf_events (rule_id, time_ms);"
	"CREATE INDEX waf_events_ref ON waf_events (ref);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

long long store_now(void)
{
	return (long long)time(NULL);
}

int store_oom(struct error *err)
{
	error_set(err, "storage", "out of memory while using the database");
	return -1;
}

/* What a person can do about a failure, by SQLite's primary result code. */
static const char *hint_for(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "; another process is writing to it, try again";
	case SQLITE_FULL:
		return "; free some disk space and try again";
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return "; check the permissions of the data directory and the database file";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "; restore the database from a backup";
	case SQLITE_IOERR:
		return "; check the disk";
	default:
		return "";
	}
}

int store_db_error(struct store *st, const char *doing, struct error *err)
{
	int code = sqlite3_extended_errcode(st->db);

	error_set(err, "storage", "database %s: could not %s: %s%s", st->path, doing,
		  sqlite3_errmsg(st->db), hint_for(code));
	return -1;
}

static int bind_va(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 1; fmt[i - 1] != '\0' && rc == SQLITE_OK; i++) {
		const char *t;
		const void *p;
		size_t len;

		switch (fmt[i - 1]) {
		case 't':
			t = va_arg(ap, const char *);
			rc = sqlite3_bind_text(s, i, t ? t : "", -1, SQLITE_TRANSIENT);
			break;
		case 'n':
			t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i);
			break;
		case 'b':
			p = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			/* A non-NULL pointer keeps a zero-length blob from becoming NULL. */
			rc = p ? sqlite3_bind_blob64(s, i, len ? p : "", len, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i);
			break;
		case 'i':
			rc = sqlite3_bind_int(s, i, va_arg(ap, int));
			break;
		case 'l':
			rc = sqlite3_bind_int64(s, i, va_arg(ap, long long));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	return rc;
}

static sqlite3_stmt *stmt_va(struct store *st, const char *doing, struct error *err,
			     const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_db_error(st, doing, err);
		sqlite3_finalize(s);
		return NULL;
	}
	if (bind_va(s, fmt, ap) != SQLITE_OK) {
		store_db_error(st, doing, err);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

sqlite3_stmt *store_stmt(struct store *st, const char *doing, struct error *err, const char *sql,
			 const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = stmt_va(st, doing, err, sql, fmt, ap);
	va_end(ap);
	return s;
}

int store_step(struct store *st, sqlite3_stmt *s, const char *doing, struct error *err)
{
	int rc = sqlite3_step(s);
	int ext;

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	ext = sqlite3_extended_errcode(st->db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		error_set(err, "conflict", "could not %s: a record with the same unique value "
			  "already exists (%s)", doing, sqlite3_errmsg(st->db));
		return -1;
	}
	return store_db_error(st, doing, err);
}

int store_exec(struct store *st, const char *doing, struct error *err, const char *sql,
	       const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = stmt_va(st, doing, err, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	sqlite3_finalize(s);
	if (rc < 0)
		return -1;
	return sqlite3_changes(st->db);
}

int store_query_int(struct store *st, const char *doing, struct error *err, long long *out,
		    const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = stmt_va(st, doing, err, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	if (rc == 1)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc;
}

/* Inside a batch (store_batch_begin) every change is a savepoint of the
 * batch's one transaction, so a change that fails leaves the others. */
int store_tx_begin(struct store *st, struct error *err)
{
	const char *sql = st->in_batch ? "SAVEPOINT change" : "BEGIN IMMEDIATE";

	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(st, "start a write transaction", err);
	return 0;
}

int store_tx_end(struct store *st, int rc, struct error *err)
{
	if (st->in_batch) {
		if (rc != 0)
			sqlite3_exec(st->db, "ROLLBACK TO change", NULL, NULL, NULL);
		sqlite3_exec(st->db, "RELEASE change", NULL, NULL, NULL);
		return rc == 0 ? 0 : -1;
	}
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_error(st, "commit", err);
		rc = -1;
	}
	/* A failed statement may already have ended the transaction. */
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc == 0 ? 0 : -1;
}

int store_read_begin(struct store *st, struct error *err)
{
	if (st->in_batch)
		return 0; /* the batch's transaction is the snapshot */
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(st, "start a read transaction", err);
	return 0;
}

void store_read_end(struct store *st)
{
	/* Nothing was written, so ending the snapshot cannot lose anything. */
	if (!st->in_batch && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

int store_batch_begin(struct store *st, struct error *err)
{
	if (st->in_batch || store_tx_begin(st, err) != 0)
		return st->in_batch ? 0 : -1;
	st->in_batch = 1;
	return 0;
}

int store_batch_end(struct store *st, int rc, struct error *err)
{
	if (!st->in_batch)
		return rc == 0 ? 0 : -1;
	st->in_batch = 0;
	return store_tx_end(st, rc, err);
}

char *store_col_text(sqlite3_stmt *s, int col, int *oom)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);
	char *copy = malloc(len + 1);

	if (copy == NULL) {
		*oom = 1;
		return NULL;
	}
	if (t != NULL)
		memcpy(copy, t, len);
	copy[t != NULL ? len : 0] = '\0';
	return copy;
}

char *store_col_text_null(sqlite3_stmt *s, int col, int *oom)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return NULL;
	return store_col_text(s, col, oom);
}

unsigned char *store_col_blob(sqlite3_stmt *s, int col, size_t *len, int *oom)
{
	const void *p;
	unsigned char *copy;
	size_t n;

	*len = 0;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(s, col);
	n = (size_t)sqlite3_column_bytes(s, col);
	copy = malloc(n + 1);
	if (copy == NULL) {
		*oom = 1;
		return NULL;
	}
	if (n > 0)
		memcpy(copy, p, n);
	copy[n] = '\0';
	*len = n;
	return copy;
}

int store_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return -1;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

int store_audit_write(struct store *st, const struct store_actor *who, const char *action,
		      const char *target, const char *detail, struct error *err)
{
	if (who == NULL)
		return 0;
	return store_exec(st, "write the audit log", err,
			  "INSERT INTO audit_log (at, actor, source, action, target, detail)"
			  " VALUES (?, ?, ?, ?, ?, ?)",
			  "lttttt", store_now(), who->who ? who->who : "system", who->from,
			  action, target, detail) < 0 ? -1 : 0;
}

/* The database holds sealed keys and password hashes: create it private
 * before SQLite sees it (SQLite gives its -wal and -shm files the same
 * mode), and tighten a file that is readable by others. */
static int create_private(const char *path, struct error *err)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		error_set(err, "storage", "cannot open database %s: %s; check that the data "
			  "directory exists and is writable", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)) {
		error_set(err, "storage", "cannot make database %s private (mode 0600): %s",
			  path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int set_pragmas(struct store *st, struct error *err)
{
	sqlite3_stmt *s;
	int wal;

	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	s = store_stmt(st, "switch to WAL journaling", err, "PRAGMA journal_mode = WAL", "");
	if (s == NULL || store_step(st, s, "switch to WAL journaling", err) != 1) {
		sqlite3_finalize(s);
		return -1;
	}
	wal = sqlite3_column_text(s, 0) != NULL &&
	      strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (!wal) {
		error_set(err, "storage", "database %s: WAL journaling is not available on this "
			  "file system; put the data directory on a local disk", st->path);
		return -1;
	}
	if (sqlite3_exec(st->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", NULL,
			 NULL, NULL) != SQLITE_OK)
		return store_db_error(st, "set the connection options", err);
	return 0;
}

static int user_version(struct store *st, int *out, struct error *err)
{
	long long v = 0;

	if (store_query_int(st, "read the schema version", err, &v, "PRAGMA user_version", "") <
	    0)
		return -1;
	*out = (int)v;
	return 0;
}

static int refuse_newer(struct store *st, int found, struct error *err)
{
	error_set(err, "storage", "database %s has schema version %d but this postern only "
		  "knows versions up to %d; run a newer postern (or restore a backup made "
		  "by this version)", st->path, found, N_MIGRATIONS);
	return -1;
}

/* Apply the migrations after the version read inside the transaction, so
 * two processes starting together cannot both apply the same one. */
static int apply_pending(struct store *st, struct error *err)
{
	char pragma[64];
	int v;

	if (user_version(st, &v, err) < 0)
		return -1;
	if (v > N_MIGRATIONS)
		return refuse_newer(st, v, err);
	for (; v < N_MIGRATIONS; v++) {
		if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			char doing[64];

			snprintf(doing, sizeof(doing), "apply schema migration %d", v + 1);
			return store_db_error(st, doing, err);
		}
	}
	/* PRAGMA takes no bound parameters; the value is our own constant. */
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", N_MIGRATIONS);
	if (sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(st, "record the schema version", err);
	return 0;
}

static int migrate(struct store *st, struct error *err)
{
	int v;

	if (user_version(st, &v, err) < 0)
		return -1;
	if (v > N_MIGRATIONS)
		return refuse_newer(st, v, err);
	if (v < N_MIGRATIONS) {
		if (store_tx_begin(st, err) < 0)
			return -1;
		if (store_tx_end(st, apply_pending(st, err), err) < 0)
			return -1;
	}
	st->schema_version = N_MIGRATIONS;
	return 0;
}

struct store *store_open(const char *path, struct error *err)
{
	struct store *st;

	if (create_private(path, err) < 0)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		store_oom(err);
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		if (st->db == NULL)
			store_oom(err);
		else
			store_db_error(st, "open", err);
		store_close(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (set_pragmas(st, err) < 0 || migrate(st, err) < 0) {
		store_close(st);
		return NULL;
	}
	return st;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int store_schema_version(struct store *st)
{
	return st->schema_version;
}

int store_data_version(struct store *st, long long *out)
{
	return store_query_int(st, "read the data version", NULL, out, "PRAGMA data_version",
			       "") == 1 ? 0 : -1;
}

int store_setting_get(struct store *st, const char *key, unsigned char **val, size_t *len,
		      struct error *err)
{
	sqlite3_stmt *s;
	int rc, oom = 0;

	*val = NULL;
	*len = 0;
	s = store_stmt(st, "read a setting", err, "SELECT value FROM settings WHERE key = ?", "t",
		       key);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read a setting", err);
	if (rc == 1) {
		*val = store_col_blob(s, 0, len, &oom);
		if (oom)
			rc = store_oom(err);
	}
	sqlite3_finalize(s);
	return rc;
}

int store_setting_set(struct store *st, const char *key, const void *val, size_t len,
		      struct error *err)
{
	int rc;

	if (val == NULL)
		len = 0;
	if (store_tx_begin(st, err) < 0)
		return -1;
	rc = store_exec(st, "save a setting", err,
			"INSERT INTO settings (key, value) VALUES (?, ?)"
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			"tb", key, val ? val : "", len);
	return store_tx_end(st, rc < 0 ? -1 : 0, err);
}
