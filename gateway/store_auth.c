/* Users, admin sessions and API tokens. Only hashes reach this module
 * (password hashes, session id and CSRF token hashes, API token hashes),
 * and none of them ever goes into an audit row or an error message. */
#include "gateway/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store_internal.h"

/* ---- users */

void store_user_free(struct store_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->password_hash);
	memset(u, 0, sizeof(*u));
}

static int user_missing(const char *name, struct error *err)
{
	error_set(err, "not_found", "user '%s' does not exist", name ? name : "");
	return -1;
}

/* 1 and *id when user name exists, 0 when not, -1 on error. */
static int user_id(struct store *st, const char *name, long long *id, struct error *err)
{
	return store_query_int(st, "look up the user", err, id,
			       "SELECT id FROM users WHERE name = ?", "t", name);
}

static int user_audit(struct store *st, const struct store_actor *who, const char *action,
		      long long id, const char *detail, struct error *err)
{
	char target[48];

	snprintf(target, sizeof(target), "user/%lld", id);
	return store_audit_write(st, who, action, target, detail, err);
}

int store_user_count(struct store *st, long long *n, struct error *err)
{
	*n = 0;
	return store_query_int(st, "count the users", err, n, "SELECT count(*) FROM users", "") ==
			       1 ? 0 : -1;
}

static int user_create_tx(struct store *st, const char *name, const char *password_hash,
			  const struct store_actor *who, struct error *err)
{
	char detail[320];
	long long id;
	int rc;

	rc = user_id(st, name, &id, err);
	if (rc != 0) {
		if (rc == 1)
			error_set(err, "conflict", "a user named '%s' already exists", name);
		return -1;
	}
	if (store_exec(st, "create the user", err,
		       "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
		       "ttl", name, password_hash, store_now()) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "user '%s'", name);
	return user_audit(st, who, "user.create", sqlite3_last_insert_rowid(st->db), detail, err);
}

int store_user_create(struct store *st, const char *name, const char *password_hash,
		      const struct store_actor *who, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, user_create_tx(st, name, password_hash, who, err), err);
}

int store_user_get(struct store *st, const char *name, struct store_user *out, struct error *err)
{
	sqlite3_stmt *s;
	int rc, oom = 0;

	memset(out, 0, sizeof(*out));
	s = store_stmt(st, "read the user", err,
		       "SELECT id, name, password_hash, created_at FROM users WHERE name = ?", "t",
		       name);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the user", err);
	if (rc == 1) {
		out->id = sqlite3_column_int64(s, 0);
		out->name = store_col_text(s, 1, &oom);
		out->password_hash = store_col_text(s, 2, &oom);
		out->created_at = sqlite3_column_int64(s, 3);
		if (oom) {
			store_user_free(out);
			rc = store_oom(err);
		}
	}
	sqlite3_finalize(s);
	if (rc == 0)
		return user_missing(name, err);
	return rc < 0 ? -1 : 0;
}

static int set_password_tx(struct store *st, const char *name, const char *password_hash,
			   const struct store_actor *who, struct error *err)
{
	char detail[320];
	long long id;
	int rc;

	rc = user_id(st, name, &id, err);
	if (rc <= 0)
		return rc == 0 ? user_missing(name, err) : -1;
	if (store_exec(st, "change the password", err,
		       "UPDATE users SET password_hash = ? WHERE id = ?", "tl", password_hash,
		       id) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "password of user '%s' changed", name);
	return user_audit(st, who, "user.password", id, detail, err);
}

int store_user_set_password(struct store *st, const char *name, const char *password_hash,
			    const struct store_actor *who, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, set_password_tx(st, name, password_hash, who, err), err);
}

/* ---- sessions */

void store_session_free(struct store_session *s)
{
	if (s == NULL)
		return;
	free(s->id_hash);
	free(s->user);
	free(s->csrf_hash);
	memset(s, 0, sizeof(*s));
}

static int session_missing(struct error *err)
{
	error_set(err, "not_found", "the session does not exist (it expired or was signed out)");
	return -1;
}

static int session_create_tx(struct store *st, const struct store_session *s, struct error *err)
{
	long long id;
	int rc;

	rc = user_id(st, s->user, &id, err);
	if (rc <= 0)
		return rc == 0 ? user_missing(s->user, err) : -1;
	return store_exec(st, "create the session", err,
			  "INSERT INTO sessions (id_hash, user, csrf_hash, created_at, last_seen)"
			  " VALUES (?, ?, ?, ?, ?)",
			  "tttll", s->id_hash, s->user, s->csrf_hash, s->created_at,
			  s->last_seen) < 0 ? -1 : 0;
}

int store_session_create(struct store *st, const struct store_session *s, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, session_create_tx(st, s, err), err);
}

int store_session_get(struct store *st, const char *id_hash, struct store_session *out,
		      struct error *err)
{
	sqlite3_stmt *s;
	int rc, oom = 0;

	memset(out, 0, sizeof(*out));
	s = store_stmt(st, "read the session", err,
		       "SELECT id_hash, user, csrf_hash, created_at, last_seen FROM sessions"
		       " WHERE id_hash = ?", "t", id_hash);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the session", err);
	if (rc == 1) {
		out->id_hash = store_col_text(s, 0, &oom);
		out->user = store_col_text(s, 1, &oom);
		out->csrf_hash = store_col_text(s, 2, &oom);
		out->created_at = sqlite3_column_int64(s, 3);
		out->last_seen = sqlite3_column_int64(s, 4);
		if (oom) {
			store_session_free(out);
			rc = store_oom(err);
		}
	}
	sqlite3_finalize(s);
	if (rc == 0)
		return session_missing(err);
	return rc < 0 ? -1 : 0;
}

/* Run one changing statement as its own transaction; not_found (from
 * missing) when it changed nothing. */
static int change_one(struct store *st, int changed, int (*missing)(struct error *),
		      struct error *err)
{
	if (changed == 0)
		changed = missing(err);
	return store_tx_end(st, changed < 0 ? -1 : 0, err);
}

int store_session_touch(struct store *st, const char *id_hash, long long now, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return change_one(st,
			  store_exec(st, "update the session", err,
				     "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", "lt",
				     now, id_hash),
			  session_missing, err);
}

int store_session_delete(struct store *st, const char *id_hash, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return change_one(st,
			  store_exec(st, "delete the session", err,
				     "DELETE FROM sessions WHERE id_hash = ?", "t", id_hash),
			  session_missing, err);
}

int store_session_purge(struct store *st, long long idle_before, long long created_before,
			struct error *err)
{
	int rc;

	if (store_tx_begin(st, err) < 0)
		return -1;
	rc = store_exec(st, "purge old sessions", err,
			"DELETE FROM sessions WHERE last_seen < ? OR created_at < ?", "ll",
			idle_before, created_before);
	return store_tx_end(st, rc < 0 ? -1 : 0, err);
}

/* ---- API tokens */

#define TOKEN_COLS "id, name, user, token_hash, created_at, last_used"

void store_token_free(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->user);
	free(t->token_hash);
	memset(t, 0, sizeof(*t));
}

void store_token_list_free(struct store_token *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		store_token_free(&list[i]);
	free(list);
}

static int token_missing(struct error *err)
{
	error_set(err, "not_found", "the API token does not exist (it may have been revoked)");
	return -1;
}

static int token_from_row(sqlite3_stmt *s, struct store_token *t, struct error *err)
{
	int oom = 0;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	t->name = store_col_text(s, 1, &oom);
	t->user = store_col_text(s, 2, &oom);
	t->token_hash = store_col_text(s, 3, &oom);
	t->created_at = sqlite3_column_int64(s, 4);
	t->last_used = sqlite3_column_int64(s, 5);
	if (oom) {
		store_token_free(t);
		return store_oom(err);
	}
	return 0;
}

static int token_audit(struct store *st, const struct store_actor *who, const char *action,
		       long long id, const char *name, const char *user, struct error *err)
{
	char target[48], detail[320];

	snprintf(target, sizeof(target), "token/%lld", id);
	snprintf(detail, sizeof(detail), "API token '%s' of user '%s'", name, user);
	return store_audit_write(st, who, action, target, detail, err);
}

static int token_create_tx(struct store *st, const struct store_token *t, long long now,
			   const struct store_actor *who, long long *id, struct error *err)
{
	long long uid;
	int rc;

	rc = user_id(st, t->user, &uid, err);
	if (rc <= 0)
		return rc == 0 ? user_missing(t->user, err) : -1;
	if (store_exec(st, "create the API token", err,
		       "INSERT INTO api_tokens (name, user, token_hash, created_at, last_used)"
		       " VALUES (?, ?, ?, ?, 0)",
		       "tttl", t->name, t->user, t->token_hash, now) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return token_audit(st, who, "token.create", *id, t->name ? t->name : "", t->user, err);
}

int store_token_create(struct store *st, struct store_token *t, const struct store_actor *who,
		       struct error *err)
{
	long long now = store_now(), id = 0;

	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, token_create_tx(st, t, now, who, &id, err), err) < 0)
		return -1;
	t->id = id;
	t->created_at = now;
	t->last_used = 0;
	return 0;
}

int store_token_find(struct store *st, const char *token_hash, struct store_token *out,
		     struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_stmt(st, "look up the API token", err,
		       "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = ?", "t",
		       token_hash);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "look up the API token", err);
	if (rc == 1)
		rc = token_from_row(s, out, err) < 0 ? -1 : 1;
	sqlite3_finalize(s);
	if (rc == 0)
		return token_missing(err);
	return rc < 0 ? -1 : 0;
}

int store_token_touch(struct store *st, long long id, long long now, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return change_one(st,
			  store_exec(st, "update the API token", err,
				     "UPDATE api_tokens SET last_used = ? WHERE id = ?", "ll", now,
				     id),
			  token_missing, err);
}

static int token_delete_tx(struct store *st, long long id, const struct store_actor *who,
			   struct error *err)
{
	struct store_token t;
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "read the API token", err,
		       "SELECT " TOKEN_COLS " FROM api_tokens WHERE id = ?", "l", id);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the API token", err);
	if (rc == 1)
		rc = token_from_row(s, &t, err) < 0 ? -1 : 1;
	sqlite3_finalize(s);
	if (rc <= 0)
		return rc == 0 ? token_missing(err) : -1;
	rc = store_exec(st, "delete the API token", err, "DELETE FROM api_tokens WHERE id = ?",
			"l", id);
	if (rc >= 0)
		rc = token_audit(st, who, "token.delete", id, t.name, t.user, err);
	store_token_free(&t);
	return rc < 0 ? -1 : 0;
}

int store_token_delete(struct store *st, long long id, const struct store_actor *who,
		       struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, token_delete_tx(st, id, who, err), err);
}

int store_token_list(struct store *st, struct store_token **list, size_t *n, struct error *err)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*list = NULL;
	*n = 0;
	s = store_stmt(st, "list the API tokens", err,
		       "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id", "");
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, "list the API tokens", err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		if (token_from_row(s, &(*list)[*n], err) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc < 0) {
		store_token_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}
