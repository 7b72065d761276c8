/* Certificates: the current row per certificate plus its version history.
 * Every insert and replace writes the history row by copying the current
 * row inside the same transaction, so both always hold the same bytes. */
#include "gateway/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store_internal.h"

/* The column order cert_from_row reads. */
#define CERT_COLS                                                                        \
	"id, domain, source, version, chain_pem, sealed_key, key_uid, extra_sans, state, " \
	"state_detail, auto_renew, next_attempt, last_error, created_at, updated_at"

void store_cert_free(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->domain);
	free(c->source);
	free(c->chain_pem);
	free(c->sealed_key);
	free(c->key_uid);
	free(c->extra_sans);
	free(c->state);
	free(c->state_detail);
	free(c->last_error);
	memset(c, 0, sizeof(*c));
}

void store_cert_list_free(struct store_cert *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		store_cert_free(&list[i]);
	free(list);
}

static int cert_from_row(sqlite3_stmt *s, struct store_cert *c, struct error *err)
{
	int oom = 0;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	c->domain = store_col_text(s, 1, &oom);
	c->source = store_col_text(s, 2, &oom);
	c->version = sqlite3_column_int(s, 3);
	c->chain_pem = store_col_text_null(s, 4, &oom);
	c->sealed_key = store_col_blob(s, 5, &c->sealed_key_len, &oom);
	c->key_uid = store_col_text(s, 6, &oom);
	c->extra_sans = store_col_text(s, 7, &oom);
	c->state = store_col_text(s, 8, &oom);
	c->state_detail = store_col_text(s, 9, &oom);
	c->auto_renew = sqlite3_column_int(s, 10);
	c->next_attempt = sqlite3_column_int64(s, 11);
	c->last_error = store_col_text_null(s, 12, &oom);
	c->created_at = sqlite3_column_int64(s, 13);
	c->updated_at = sqlite3_column_int64(s, 14);
	if (oom) {
		store_cert_free(c);
		return store_oom(err);
	}
	return 0;
}

/* Run a prepared query and collect every row as a certificate. */
static int cert_rows(struct store *st, sqlite3_stmt *s, const char *doing,
		     struct store_cert **list, size_t *n, struct error *err)
{
	size_t cap = 0;
	int rc;

	*list = NULL;
	*n = 0;
	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		if (cert_from_row(s, &(*list)[*n], err) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc < 0) {
		store_cert_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

static int cert_missing(long long id, struct error *err)
{
	error_set(err, "not_found", "certificate %lld does not exist", id);
	return -1;
}

/* Copy the current row of certificate id into its history. */
static int history_add(struct store *st, long long id, struct error *err)
{
	int rc = store_exec(st, "record the certificate version", err,
			    "INSERT INTO certificate_versions (certificate_id, version, domain,"
			    " chain_pem, sealed_key, key_uid, extra_sans, created_at)"
			    " SELECT id, version, domain, chain_pem, sealed_key, key_uid,"
			    " extra_sans, updated_at FROM certificates WHERE id = ?",
			    "l", id);

	if (rc == 0)
		return cert_missing(id, err);
	return rc < 0 ? -1 : 0;
}

static int cert_audit(struct store *st, const struct store_actor *who, const char *action,
		      long long id, const char *detail, struct error *err)
{
	char target[48];

	snprintf(target, sizeof(target), "certificate/%lld", id);
	return store_audit_write(st, who, action, target, detail, err);
}

static int insert_tx(struct store *st, const struct store_cert *c, long long now,
		     const struct store_actor *who, long long *id, struct error *err)
{
	char detail[320];

	if (store_exec(st, "insert the certificate", err,
		       "INSERT INTO certificates (domain, source, version, chain_pem, sealed_key,"
		       " key_uid, extra_sans, state, state_detail, auto_renew, next_attempt,"
		       " last_error, created_at, updated_at)"
		       " VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       "ttnbttttilnll", c->domain, c->source, c->chain_pem, c->sealed_key,
		       c->sealed_key_len, c->key_uid, c->extra_sans ? c->extra_sans : "[]",
		       c->state, c->state_detail, c->auto_renew ? 1 : 0, c->next_attempt,
		       c->last_error, now, now) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	if (history_add(st, *id, err) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "certificate for %s (%s)", c->domain ? c->domain : "",
		 c->source ? c->source : "");
	return cert_audit(st, who, "certificate.create", *id, detail, err);
}

int store_cert_insert(struct store *st, struct store_cert *c, const struct store_actor *who,
		      struct error *err)
{
	long long now = store_now(), id = 0;

	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, insert_tx(st, c, now, who, &id, err), err) < 0)
		return -1;
	c->id = id;
	c->version = 1;
	c->created_at = now;
	c->updated_at = now;
	return 0;
}

static int replace_tx(struct store *st, const struct store_cert *c, long long now,
		      const struct store_actor *who, long long *version, struct error *err)
{
	char detail[320];
	int changed;

	changed = store_exec(st, "replace the certificate", err,
			     "UPDATE certificates SET domain = ?, chain_pem = ?, sealed_key = ?,"
			     " key_uid = ?, extra_sans = ?, state = ?, state_detail = ?,"
			     " auto_renew = ?, next_attempt = ?, last_error = ?,"
			     " version = version + 1, updated_at = ? WHERE id = ?",
			     "tnbttttilnll", c->domain, c->chain_pem, c->sealed_key,
			     c->sealed_key_len, c->key_uid, c->extra_sans ? c->extra_sans : "[]",
			     c->state, c->state_detail, c->auto_renew ? 1 : 0, c->next_attempt,
			     c->last_error, now, c->id);
	if (changed < 0)
		return -1;
	if (changed == 0)
		return cert_missing(c->id, err);
	if (history_add(st, c->id, err) < 0 ||
	    store_query_int(st, "read the certificate version", err, version,
			    "SELECT version FROM certificates WHERE id = ?", "l", c->id) != 1)
		return -1;
	snprintf(detail, sizeof(detail), "certificate for %s, now version %lld",
		 c->domain ? c->domain : "", *version);
	return cert_audit(st, who, "certificate.replace", c->id, detail, err);
}

int store_cert_replace(struct store *st, struct store_cert *c, const struct store_actor *who,
		       struct error *err)
{
	long long now = store_now(), version = 0;

	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, replace_tx(st, c, now, who, &version, err), err) < 0)
		return -1;
	c->version = (int)version;
	c->updated_at = now;
	return 0;
}

int store_cert_set_state(struct store *st, long long id, const char *state, const char *detail,
			 long long next_attempt, const char *last_error, struct error *err)
{
	int changed;

	if (store_tx_begin(st, err) < 0)
		return -1;
	changed = store_exec(st, "update the certificate state", err,
			     "UPDATE certificates SET state = ?, state_detail = ?,"
			     " next_attempt = ?, last_error = ?, updated_at = ? WHERE id = ?",
			     "ttlnll", state, detail, next_attempt, last_error, store_now(), id);
	if (changed == 0)
		changed = cert_missing(id, err);
	return store_tx_end(st, changed < 0 ? -1 : 0, err);
}

/* Read the domain of certificate id for messages: 0, or -1 (not_found). */
static int cert_domain(struct store *st, long long id, char *buf, size_t n, struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "read the certificate", err,
		       "SELECT domain FROM certificates WHERE id = ?", "l", id);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the certificate", err);
	if (rc == 1)
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc == 0)
		return cert_missing(id, err);
	return rc < 0 ? -1 : 0;
}

static int delete_tx(struct store *st, long long id, const struct store_actor *who,
		     struct error *err)
{
	char domain[256], detail[320];

	if (cert_domain(st, id, domain, sizeof(domain), err) < 0)
		return -1;
	/* The history rows go with it (ON DELETE CASCADE). */
	if (store_exec(st, "delete the certificate", err, "DELETE FROM certificates WHERE id = ?",
		       "l", id) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "certificate for %s", domain);
	return cert_audit(st, who, "certificate.delete", id, detail, err);
}

int store_cert_delete(struct store *st, long long id, const struct store_actor *who,
		      struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, delete_tx(st, id, who, err), err);
}

int store_cert_get(struct store *st, long long id, struct store_cert *out, struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_stmt(st, "read the certificate", err,
		       "SELECT " CERT_COLS " FROM certificates WHERE id = ?", "l", id);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the certificate", err);
	if (rc == 1)
		rc = cert_from_row(s, out, err) < 0 ? -1 : 1;
	sqlite3_finalize(s);
	if (rc == 0)
		return cert_missing(id, err);
	return rc < 0 ? -1 : 0;
}

int store_cert_list(struct store *st, struct store_cert **list, size_t *n, struct error *err)
{
	sqlite3_stmt *s;

	*list = NULL;
	*n = 0;
	s = store_stmt(st, "list the certificates", err,
		       "SELECT " CERT_COLS " FROM certificates ORDER BY id", "");
	if (s == NULL)
		return -1;
	return cert_rows(st, s, "list the certificates", list, n, err);
}

int store_cert_versions(struct store *st, long long id, struct store_cert **list, size_t *n,
			struct error *err)
{
	sqlite3_stmt *s;

	*list = NULL;
	*n = 0;
	/* Same columns as CERT_COLS; state fields belong to the current row. */
	s = store_stmt(st, "list the certificate versions", err,
		       "SELECT v.certificate_id, v.domain, c.source, v.version, v.chain_pem,"
		       " v.sealed_key, v.key_uid, v.extra_sans, '', '', c.auto_renew, 0, NULL,"
		       " v.created_at, v.created_at"
		       " FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id"
		       " WHERE v.certificate_id = ? ORDER BY v.version",
		       "l", id);
	if (s == NULL || cert_rows(st, s, "list the certificate versions", list, n, err) < 0)
		return -1;
	/* Every certificate has at least its first version. */
	if (*n == 0)
		return cert_missing(id, err);
	return 0;
}
