/* Applications with their domains and backends. An application and its
 * child rows are always written together in one transaction: an update
 * deletes the old domains and backends and inserts the new ones, so a
 * reader sees either the whole old set or the whole new one. */
#include "gateway/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/store_internal.h"

#define APP_COLS                                                                    \
	"id, name, balance, https_redirect, auto_certificate, client_ip_header, "     \
	"health_path, health_interval_s, options_json, created_at, updated_at"

void store_app_free(struct store_app *a)
{
	if (a == NULL)
		return;
	free(a->name);
	for (size_t i = 0; a->domains != NULL && i < a->n_domains; i++)
		free(a->domains[i]);
	free(a->domains);
	for (size_t i = 0; a->backends != NULL && i < a->n_backends; i++)
		free(a->backends[i].url);
	free(a->backends);
	free(a->balance);
	free(a->client_ip_header);
	free(a->health_path);
	free(a->options_json);
	memset(a, 0, sizeof(*a));
}

void store_app_list_free(struct store_app *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		store_app_free(&list[i]);
	free(list);
}

static int app_missing(long long id, struct error *err)
{
	error_set(err, "not_found", "application %lld does not exist", id);
	return -1;
}

/* ---- writing */

/* conflict when another application (not self) already has this name
 * (names compare without case). */
static int check_name(struct store *st, const char *name, long long self, struct error *err)
{
	const char *doing = "check the application name";
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, doing, err,
		       "SELECT id, name FROM applications WHERE name = ? AND id != ?", "tl", name,
		       self);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	if (rc == 1)
		error_set(err, "conflict", "an application named '%s' already exists (id %lld); "
			  "choose another name", (const char *)sqlite3_column_text(s, 1),
			  (long long)sqlite3_column_int64(s, 0));
	sqlite3_finalize(s);
	return rc == 0 ? 0 : -1;
}

/* conflict when domain belongs to another application (not self). */
static int check_domain(struct store *st, const char *domain, long long self,
			struct error *err)
{
	const char *doing = "check the application domains";
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, doing, err,
		       "SELECT a.id, a.name FROM application_domains d"
		       " JOIN applications a ON a.id = d.application_id"
		       " WHERE d.domain = ? AND d.application_id != ?",
		       "tl", domain, self);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	if (rc == 1)
		error_set(err, "conflict",
			  "domain %s already belongs to application '%s' (id %lld)", domain,
			  (const char *)sqlite3_column_text(s, 1),
			  (long long)sqlite3_column_int64(s, 0));
	sqlite3_finalize(s);
	return rc == 0 ? 0 : -1;
}

static int check_unique(struct store *st, const struct store_app *a, long long self,
			struct error *err)
{
	if (check_name(st, a->name, self, err) < 0)
		return -1;
	for (size_t i = 0; i < a->n_domains; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(a->domains[i], a->domains[j]) == 0) {
				error_set(err, "conflict", "domain %s is listed twice; list each "
					  "domain once", a->domains[i]);
				return -1;
			}
		}
		if (check_domain(st, a->domains[i], self, err) < 0)
			return -1;
	}
	return 0;
}

static int write_children(struct store *st, long long id, const struct store_app *a,
			  struct error *err)
{
	for (size_t i = 0; i < a->n_domains; i++) {
		if (store_exec(st, "save the application domains", err,
			       "INSERT INTO application_domains (application_id, position, domain)"
			       " VALUES (?, ?, ?)",
			       "lit", id, (int)i, a->domains[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < a->n_backends; i++) {
		if (store_exec(st, "save the application backends", err,
			       "INSERT INTO application_backends (application_id, position, url,"
			       " weight) VALUES (?, ?, ?, ?)",
			       "liti", id, (int)i, a->backends[i].url, a->backends[i].weight) < 0)
			return -1;
	}
	return 0;
}

/* "application 'shop' (shop.example.com, www.shop.example.com)", cut short
 * when there are many domains. */
static void app_detail(const struct store_app *a, char *buf, size_t n)
{
	size_t len;

	snprintf(buf, n, "application '%s' (", a->name ? a->name : "");
	for (size_t i = 0; i < a->n_domains; i++) {
		len = strlen(buf);
		if (len + strlen(a->domains[i]) + 8 >= n) {
			snprintf(buf + len, n - len, "...");
			break;
		}
		snprintf(buf + len, n - len, "%s%s", i ? ", " : "", a->domains[i]);
	}
	len = strlen(buf);
	snprintf(buf + len, n - len, ")");
}

static int app_audit(struct store *st, const struct store_actor *who, const char *action,
		     long long id, const char *detail, struct error *err)
{
	char target[48];

	snprintf(target, sizeof(target), "application/%lld", id);
	return store_audit_write(st, who, action, target, detail, err);
}

static int insert_tx(struct store *st, const struct store_app *a, long long now,
		     const struct store_actor *who, long long *id, struct error *err)
{
	char detail[320];

	if (check_unique(st, a, 0, err) < 0)
		return -1;
	if (store_exec(st, "insert the application", err,
		       "INSERT INTO applications (name, balance, https_redirect, auto_certificate,"
		       " client_ip_header, health_path, health_interval_s, options_json,"
		       " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       "ttiittitll", a->name, a->balance ? a->balance : "round_robin",
		       a->https_redirect ? 1 : 0, a->auto_certificate ? 1 : 0,
		       a->client_ip_header ? a->client_ip_header : "X-Forwarded-For",
		       a->health_path, a->health_interval_s,
		       a->options_json ? a->options_json : "{}", now, now) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	if (write_children(st, *id, a, err) < 0)
		return -1;
	app_detail(a, detail, sizeof(detail));
	return app_audit(st, who, "application.create", *id, detail, err);
}

int store_app_insert(struct store *st, struct store_app *a, const struct store_actor *who,
		     struct error *err)
{
	long long now = store_now(), id = 0;

	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, insert_tx(st, a, now, who, &id, err), err) < 0)
		return -1;
	a->id = id;
	a->created_at = now;
	a->updated_at = now;
	return 0;
}

static int update_tx(struct store *st, const struct store_app *a, long long now,
		     const struct store_actor *who, long long *created, struct error *err)
{
	char detail[320];
	int rc;

	rc = store_query_int(st, "read the application", err, created,
			     "SELECT created_at FROM applications WHERE id = ?", "l", a->id);
	if (rc <= 0)
		return rc == 0 ? app_missing(a->id, err) : -1;
	if (check_unique(st, a, a->id, err) < 0)
		return -1;
	if (store_exec(st, "update the application", err,
		       "UPDATE applications SET name = ?, balance = ?, https_redirect = ?,"
		       " auto_certificate = ?, client_ip_header = ?, health_path = ?,"
		       " health_interval_s = ?, options_json = ?, updated_at = ? WHERE id = ?",
		       "ttiittitll", a->name, a->balance ? a->balance : "round_robin",
		       a->https_redirect ? 1 : 0, a->auto_certificate ? 1 : 0,
		       a->client_ip_header ? a->client_ip_header : "X-Forwarded-For",
		       a->health_path, a->health_interval_s,
		       a->options_json ? a->options_json : "{}", now, a->id) < 0 ||
	    store_exec(st, "update the application domains", err,
		       "DELETE FROM application_domains WHERE application_id = ?", "l",
		       a->id) < 0 ||
	    store_exec(st, "update the application backends", err,
		       "DELETE FROM application_backends WHERE application_id = ?", "l",
		       a->id) < 0 ||
	    write_children(st, a->id, a, err) < 0)
		return -1;
	app_detail(a, detail, sizeof(detail));
	return app_audit(st, who, "application.update", a->id, detail, err);
}

int store_app_update(struct store *st, struct store_app *a, const struct store_actor *who,
		     struct error *err)
{
	long long now = store_now(), created = 0;

	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, update_tx(st, a, now, who, &created, err), err) < 0)
		return -1;
	a->created_at = created;
	a->updated_at = now;
	return 0;
}

static int delete_tx(struct store *st, long long id, const struct store_actor *who,
		     struct error *err)
{
	char detail[320];
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "read the application", err,
		       "SELECT name FROM applications WHERE id = ?", "l", id);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, "read the application", err);
	if (rc == 1)
		snprintf(detail, sizeof(detail), "application '%s'",
			 (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc <= 0)
		return rc == 0 ? app_missing(id, err) : -1;
	/* Domains and backends go with it (ON DELETE CASCADE). */
	if (store_exec(st, "delete the application", err, "DELETE FROM applications WHERE id = ?",
		       "l", id) < 0)
		return -1;
	return app_audit(st, who, "application.delete", id, detail, err);
}

int store_app_delete(struct store *st, long long id, const struct store_actor *who,
		     struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, delete_tx(st, id, who, err), err);
}

/* ---- reading */

static int app_from_row(sqlite3_stmt *s, struct store_app *a, struct error *err)
{
	int oom = 0;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->name = store_col_text(s, 1, &oom);
	a->balance = store_col_text(s, 2, &oom);
	a->https_redirect = sqlite3_column_int(s, 3);
	a->auto_certificate = sqlite3_column_int(s, 4);
	a->client_ip_header = store_col_text(s, 5, &oom);
	a->health_path = store_col_text(s, 6, &oom);
	a->health_interval_s = sqlite3_column_int(s, 7);
	a->options_json = store_col_text(s, 8, &oom);
	a->created_at = sqlite3_column_int64(s, 9);
	a->updated_at = sqlite3_column_int64(s, 10);
	if (oom) {
		store_app_free(a);
		return store_oom(err);
	}
	return 0;
}

static int load_domains(struct store *st, struct store_app *a, struct error *err)
{
	const char *doing = "read the application domains";
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc, oom = 0;

	s = store_stmt(st, doing, err,
		       "SELECT domain FROM application_domains WHERE application_id = ?"
		       " ORDER BY position", "l", a->id);
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)&a->domains, &cap, a->n_domains, sizeof(char *)) < 0 ||
		    (a->domains[a->n_domains] = store_col_text(s, 0, &oom)) == NULL) {
			rc = store_oom(err);
			break;
		}
		a->n_domains++;
	}
	sqlite3_finalize(s);
	return rc;
}

static int load_backends(struct store *st, struct store_app *a, struct error *err)
{
	const char *doing = "read the application backends";
	struct store_backend *b;
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc, oom = 0;

	s = store_stmt(st, doing, err,
		       "SELECT url, weight FROM application_backends WHERE application_id = ?"
		       " ORDER BY position", "l", a->id);
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)&a->backends, &cap, a->n_backends, sizeof(*b)) < 0) {
			rc = store_oom(err);
			break;
		}
		b = &a->backends[a->n_backends];
		if ((b->url = store_col_text(s, 0, &oom)) == NULL) {
			rc = store_oom(err);
			break;
		}
		b->weight = sqlite3_column_int(s, 1);
		a->n_backends++;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Collect the applications a prepared query returns, with their children.
 * The caller holds a read transaction so all rows come from one snapshot. */
static int app_rows(struct store *st, sqlite3_stmt *s, struct store_app **list, size_t *n,
		    struct error *err)
{
	const char *doing = "read the applications";
	size_t cap = 0;
	int rc;

	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		if (app_from_row(s, &(*list)[*n], err) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
		if (load_domains(st, &(*list)[*n - 1], err) < 0 ||
		    load_backends(st, &(*list)[*n - 1], err) < 0) {
			rc = -1;
			break;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

/* Run sql, bound to *id when id is not NULL. */
static int app_query(struct store *st, const char *sql, const long long *id,
		     struct store_app **list, size_t *n, struct error *err)
{
	sqlite3_stmt *s;
	int rc = -1;

	*list = NULL;
	*n = 0;
	if (store_read_begin(st, err) < 0)
		return -1;
	s = id ? store_stmt(st, "read the application", err, sql, "l", *id)
	       : store_stmt(st, "list the applications", err, sql, "");
	if (s != NULL)
		rc = app_rows(st, s, list, n, err);
	store_read_end(st);
	if (rc != 0) {
		store_app_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int store_app_get(struct store *st, long long id, struct store_app *out, struct error *err)
{
	struct store_app *list;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (app_query(st, "SELECT " APP_COLS " FROM applications WHERE id = ?", &id, &list, &n,
		      err) < 0)
		return -1;
	if (n == 0)
		return app_missing(id, err);
	*out = list[0];
	free(list);
	return 0;
}

int store_app_list(struct store *st, struct store_app **list, size_t *n, struct error *err)
{
	return app_query(st, "SELECT " APP_COLS " FROM applications ORDER BY id", NULL, list, n,
			 err);
}
