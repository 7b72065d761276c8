/* ACME accounts (one per directory URL) and the audit log. */
#include "gateway/store.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/store_internal.h"

/* ---- ACME accounts */

void store_acme_account_free(struct store_acme_account *a)
{
	if (a == NULL)
		return;
	free(a->directory_url);
	free(a->kid);
	free(a->sealed_key);
	free(a->key_uid);
	memset(a, 0, sizeof(*a));
}

int store_acme_account_get(struct store *st, const char *directory_url,
			   struct store_acme_account *out, struct error *err)
{
	const char *doing = "read the ACME account";
	sqlite3_stmt *s;
	int rc, oom = 0;

	memset(out, 0, sizeof(*out));
	s = store_stmt(st, doing, err,
		       "SELECT directory_url, kid, sealed_key, key_uid, created_at"
		       " FROM acme_accounts WHERE directory_url = ?", "t", directory_url);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	if (rc == 1) {
		out->directory_url = store_col_text(s, 0, &oom);
		out->kid = store_col_text(s, 1, &oom);
		out->sealed_key = store_col_blob(s, 2, &out->sealed_key_len, &oom);
		out->key_uid = store_col_text(s, 3, &oom);
		out->created_at = sqlite3_column_int64(s, 4);
		if (oom) {
			store_acme_account_free(out);
			rc = store_oom(err);
		}
	}
	sqlite3_finalize(s);
	if (rc == 0) {
		error_set(err, "not_found", "no ACME account is stored for %s",
			  directory_url ? directory_url : "");
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

int store_acme_account_put(struct store *st, const struct store_acme_account *a,
			   struct error *err)
{
	int rc;

	if (store_tx_begin(st, err) < 0)
		return -1;
	/* A replaced account keeps the time it was first created. */
	rc = store_exec(st, "save the ACME account", err,
			"INSERT INTO acme_accounts (directory_url, kid, sealed_key, key_uid,"
			" created_at) VALUES (?, ?, ?, ?, ?)"
			" ON CONFLICT (directory_url) DO UPDATE SET kid = excluded.kid,"
			" sealed_key = excluded.sealed_key, key_uid = excluded.key_uid",
			"ttbtl", a->directory_url, a->kid,
			a->sealed_key ? (const void *)a->sealed_key : "", a->sealed_key_len,
			a->key_uid, a->created_at ? a->created_at : store_now());
	return store_tx_end(st, rc < 0 ? -1 : 0, err);
}

/* ---- audit log */

static void audit_clear(struct store_audit *a)
{
	free(a->actor);
	free(a->source);
	free(a->action);
	free(a->target);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

void store_audit_list_free(struct store_audit *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		audit_clear(&list[i]);
	free(list);
}

int store_audit_add(struct store *st, const struct store_actor *who, const char *action,
		    const char *target, const char *detail, struct error *err)
{
	static const struct store_actor system_actor = {"system", ""};

	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st,
			    store_audit_write(st, who ? who : &system_actor, action, target,
					      detail, err),
			    err);
}

static int audit_from_row(sqlite3_stmt *s, struct store_audit *a, struct error *err)
{
	int oom = 0;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->at = sqlite3_column_int64(s, 1);
	a->actor = store_col_text(s, 2, &oom);
	a->source = store_col_text(s, 3, &oom);
	a->action = store_col_text(s, 4, &oom);
	a->target = store_col_text(s, 5, &oom);
	a->detail = store_col_text(s, 6, &oom);
	if (oom) {
		audit_clear(a);
		return store_oom(err);
	}
	return 0;
}

int store_audit_list(struct store *st, int limit, struct store_audit **list, size_t *n,
		     struct error *err)
{
	const char *doing = "read the audit log";
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*list = NULL;
	*n = 0;
	/* LIMIT -1 means no limit; ids grow with time, so id orders newest first. */
	s = store_stmt(st, doing, err,
		       "SELECT id, at, actor, source, action, target, detail FROM audit_log"
		       " ORDER BY id DESC LIMIT ?", "i", limit > 0 ? limit : -1);
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		if (audit_from_row(s, &(*list)[*n], err) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc < 0) {
		store_audit_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}
