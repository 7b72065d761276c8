/* The application firewall's tables: custom rules (each kept as its RULE
 * object, so a rule reads back exactly as it was validated), the enabled
 * state of preset rules, and the event log. Rule changes are audited like
 * every other change; events are not (nobody made them), and they are
 * written in batches by the control thread and pruned by age. */
#include "gateway/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway/store_internal.h"
#include "waf/events.h"
#include "waf/rule.h"

#define PRUNE_CHUNK 5000 /* events deleted per transaction */

static int rule_missing(long long id, struct error *err)
{
	error_set(err, "not_found", "WAF rule %lld does not exist", id);
	return -1;
}

static int rule_audit(struct store *st, const struct store_actor *who, const char *action,
		      long long id, const char *description, struct error *err)
{
	char target[48], detail[320];

	snprintf(target, sizeof(target), "waf_rule/%lld", id);
	snprintf(detail, sizeof(detail), "WAF rule %lld '%.200s'", id,
		 description ? description : "");
	return store_audit_write(st, who, action, target, detail, err);
}

/* ---- custom rules: the text form */

/* r as stored: its RULE object, compact. malloc'd, NULL when out of memory. */
static char *rule_text(const struct waf_rule *r)
{
	json_t *j = waf_rule_to_json(r);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text;
}

/* Decode a stored rule; the id column is the rule's id whatever the text
 * says. */
static int rule_decode(long long id, const char *text, struct waf_rule *out, struct error *err)
{
	struct error why;
	const char *field = NULL;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int rc;

	if (j == NULL) {
		error_set(err, "storage", "stored WAF rule %lld is not valid JSON (%s); delete it "
			  "and create it again", id, jerr.text);
		return -1;
	}
	rc = waf_rule_from_json(j, out, &why, &field);
	json_decref(j);
	if (rc != 0) {
		error_set(err, "storage", "stored WAF rule %lld is no longer valid (%s: %s); "
			  "delete it and create it again", id, why.code, why.message);
		return -1;
	}
	out->id = id;
	out->preset = 0;
	return 0;
}

/* ---- custom rules: writing */

static int insert_tx(struct store *st, struct waf_rule *r, long long now,
		     const struct store_actor *who, struct error *err)
{
	long long seq = WAF_FIRST_CUSTOM_ID;
	char *text;
	int rc;

	/* The next id, as AUTOINCREMENT would give it, so the stored text can
	 * carry it; inserting it explicitly moves the sequence on. */
	rc = store_query_int(st, "choose a WAF rule id", err, &seq,
			     "SELECT max(coalesce((SELECT seq FROM sqlite_sequence"
			     " WHERE name = 'waf_rules'), 0), coalesce((SELECT max(id)"
			     " FROM waf_rules), 0))", "");
	if (rc < 0)
		return -1;
	r->id = (seq < WAF_FIRST_CUSTOM_ID ? WAF_FIRST_CUSTOM_ID : seq) + 1;
	text = rule_text(r);
	if (text == NULL)
		return store_oom(err);
	rc = store_exec(st, "insert the WAF rule", err,
			"INSERT INTO waf_rules (id, rule_json, created_at, updated_at)"
			" VALUES (?, ?, ?, ?)", "ltll", r->id, text, now, now);
	free(text);
	if (rc < 0)
		return -1;
	return rule_audit(st, who, "waf_rule.create", r->id, r->description, err);
}

int store_waf_rule_insert(struct store *st, struct waf_rule *r, const struct store_actor *who,
			  struct error *err)
{
	long long old_id = r->id;

	r->preset = 0;
	if (store_tx_begin(st, err) < 0)
		return -1;
	if (store_tx_end(st, insert_tx(st, r, store_now(), who, err), err) < 0) {
		r->id = old_id;
		return -1;
	}
	return 0;
}

static int update_tx(struct store *st, const struct waf_rule *r, const struct store_actor *who,
		     struct error *err)
{
	struct waf_rule copy = *r;
	char *text;
	int rc;

	copy.preset = 0;
	text = rule_text(&copy);
	if (text == NULL)
		return store_oom(err);
	rc = store_exec(st, "update the WAF rule", err,
			"UPDATE waf_rules SET rule_json = ?, updated_at = ? WHERE id = ?", "tll",
			text, store_now(), r->id);
	free(text);
	if (rc <= 0)
		return rc == 0 ? rule_missing(r->id, err) : -1;
	return rule_audit(st, who, "waf_rule.update", r->id, r->description, err);
}

int store_waf_rule_update(struct store *st, const struct waf_rule *r,
			  const struct store_actor *who, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, update_tx(st, r, who, err), err);
}

static int delete_tx(struct store *st, long long id, const struct store_actor *who,
		     struct error *err)
{
	const char *doing = "read the WAF rule";
	char description[256] = "";
	sqlite3_stmt *s;
	json_t *j;
	int rc;

	s = store_stmt(st, doing, err, "SELECT rule_json FROM waf_rules WHERE id = ?", "l", id);
	if (s == NULL)
		return -1;
	rc = store_step(st, s, doing, err);
	if (rc == 1) {
		/* for the audit row only: a rule that no longer decodes can go too */
		const char *d;

		j = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
		d = json_string_value(json_object_get(j, "description"));
		snprintf(description, sizeof(description), "%s", d ? d : "");
		json_decref(j);
	}
	sqlite3_finalize(s);
	if (rc <= 0)
		return rc == 0 ? rule_missing(id, err) : -1;
	if (store_exec(st, "delete the WAF rule", err, "DELETE FROM waf_rules WHERE id = ?", "l",
		       id) < 0)
		return -1;
	return rule_audit(st, who, "waf_rule.delete", id, description, err);
}

int store_waf_rule_delete(struct store *st, long long id, const struct store_actor *who,
			  struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, delete_tx(st, id, who, err), err);
}

/* ---- custom rules: reading */

/* Decode the rows of s (id, rule_json) into *list. */
static int rule_rows(struct store *st, sqlite3_stmt *s, struct waf_rule **list, size_t *n,
		     struct error *err)
{
	const char *doing = "read the WAF rules";
	size_t cap = 0;
	int rc;

	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		if (rule_decode(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
				&(*list)[*n], err) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	return rc;
}

/* Run sql (bound to *id when id is not NULL) and decode the rules. */
static int rule_query(struct store *st, const char *sql, const long long *id,
		      struct waf_rule **list, size_t *n, struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	*list = NULL;
	*n = 0;
	s = id ? store_stmt(st, "read the WAF rule", err, sql, "l", *id)
	       : store_stmt(st, "list the WAF rules", err, sql, "");
	if (s == NULL)
		return -1;
	rc = rule_rows(st, s, list, n, err);
	sqlite3_finalize(s);
	if (rc != 0) {
		waf_rule_list_free(*list, *n);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int store_waf_rule_list(struct store *st, struct waf_rule **list, size_t *n, struct error *err)
{
	return rule_query(st, "SELECT id, rule_json FROM waf_rules ORDER BY id", NULL, list, n,
			  err);
}

int store_waf_rule_get(struct store *st, long long id, struct waf_rule *out, struct error *err)
{
	struct waf_rule *list;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (rule_query(st, "SELECT id, rule_json FROM waf_rules WHERE id = ?", &id, &list, &n,
		       err) < 0)
		return -1;
	if (n == 0)
		return rule_missing(id, err);
	*out = list[0];
	free(list);
	return 0;
}

/* ---- preset rules: enabled or not */

static int preset_tx(struct store *st, long long id, int enabled,
		     const struct store_actor *who, struct error *err)
{
	char target[48];

	if (store_exec(st, "save the WAF preset state", err,
		       "INSERT INTO waf_preset_state (rule_id, enabled) VALUES (?, ?)"
		       " ON CONFLICT (rule_id) DO UPDATE SET enabled = excluded.enabled",
		       "li", id, enabled ? 1 : 0) < 0)
		return -1;
	snprintf(target, sizeof(target), "waf_rule/%lld", id);
	return store_audit_write(st, who, enabled ? "waf_rule.enable" : "waf_rule.disable",
				 target, enabled ? "preset rule enabled" : "preset rule disabled",
				 err);
}

int store_waf_preset_set(struct store *st, long long id, int enabled,
			 const struct store_actor *who, struct error *err)
{
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, preset_tx(st, id, enabled, who, err), err);
}

int store_waf_preset_disabled(struct store *st, long long **ids, size_t *n, struct error *err)
{
	const char *doing = "read the WAF preset states";
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	s = store_stmt(st, doing, err,
		       "SELECT rule_id FROM waf_preset_state WHERE enabled = 0 ORDER BY rule_id",
		       "");
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, doing, err)) == 1) {
		if (store_grow((void **)ids, &cap, *n, sizeof(**ids)) < 0) {
			rc = store_oom(err);
			break;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* ---- events */

static const char *kind_text(unsigned char kind)
{
	return kind < WAF_EVENT_KIND_MAX ? waf_event_kind_name((enum waf_event_kind)kind) : "waf";
}

static int kind_from_text(const char *text)
{
	for (int k = 0; k < WAF_EVENT_KIND_MAX; k++)
		if (text != NULL && strcmp(text, waf_event_kind_name((enum waf_event_kind)k)) == 0)
			return k;
	return WAF_EVENT_WAF;
}

/* Bind "NULL when 0" integers. */
static int bind_id(sqlite3_stmt *s, int i, long long v)
{
	return v != 0 ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

static int bind_event(sqlite3_stmt *s, const struct waf_event *e)
{
	int rc = sqlite3_bind_text(s, 1, e->ref, -1, SQLITE_TRANSIENT);

	rc = rc ? rc : sqlite3_bind_int64(s, 2, e->time_ms);
	rc = rc ? rc : bind_id(s, 3, e->app_id);
	rc = rc ? rc : bind_id(s, 4, e->rule_id);
	rc = rc ? rc : sqlite3_bind_text(s, 5, kind_text(e->kind), -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_int(s, 6, e->blocked ? 1 : 0);
	rc = rc ? rc : sqlite3_bind_text(s, 7, e->client_ip, -1, SQLITE_TRANSIENT);
	rc = rc ? rc : sqlite3_bind_text(s, 8, e->target, -1, SQLITE_TRANSIENT);
	rc = rc ? rc : sqlite3_bind_text(s, 9, e->method, -1, SQLITE_TRANSIENT);
	rc = rc ? rc : sqlite3_bind_text(s, 10, e->path, -1, SQLITE_TRANSIENT);
	return rc ? rc : sqlite3_bind_text(s, 11, e->excerpt, -1, SQLITE_TRANSIENT);
}

static int insert_events_tx(struct store *st, const struct waf_event *ev, size_t n,
			    struct error *err)
{
	const char *doing = "record the WAF events";
	sqlite3_stmt *s;
	int rc = 0;

	s = store_stmt(st, doing, err,
		       "INSERT INTO waf_events (ref, time_ms, application_id, rule_id, kind,"
		       " blocked, client_ip, target, method, path, excerpt)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "");
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(s);
		if (bind_event(s, &ev[i]) != SQLITE_OK)
			rc = store_db_error(st, doing, err);
		else if (store_step(st, s, doing, err) < 0)
			rc = -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int store_waf_event_insert(struct store *st, const struct waf_event *ev, size_t n,
			   struct error *err)
{
	if (n == 0)
		return 0;
	if (store_tx_begin(st, err) < 0)
		return -1;
	return store_tx_end(st, insert_events_tx(st, ev, n, err), err);
}

/* A text column copied into a fixed field, cut to fit. */
static void col_copy(sqlite3_stmt *s, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void event_from_row(sqlite3_stmt *s, struct waf_event *e)
{
	memset(e, 0, sizeof(*e));
	col_copy(s, 0, e->ref, sizeof(e->ref));
	e->time_ms = sqlite3_column_int64(s, 1);
	e->app_id = sqlite3_column_int64(s, 2);
	e->rule_id = sqlite3_column_int64(s, 3);
	e->kind = (unsigned char)kind_from_text((const char *)sqlite3_column_text(s, 4));
	e->blocked = sqlite3_column_int(s, 5) != 0;
	col_copy(s, 6, e->client_ip, sizeof(e->client_ip));
	col_copy(s, 7, e->target, sizeof(e->target));
	col_copy(s, 8, e->method, sizeof(e->method));
	col_copy(s, 9, e->path, sizeof(e->path));
	col_copy(s, 10, e->excerpt, sizeof(e->excerpt));
}

/* The query for f: only the conditions f asks for, so SQLite can pick
 * the matching index. The SQL is built from constant pieces; every value
 * is a bound, named parameter. */
static sqlite3_stmt *event_stmt(struct store *st, const struct store_event_filter *f,
				struct error *err)
{
	const char *doing = "read the WAF events";
	char sql[512];
	sqlite3_stmt *s = NULL;
	int limit = f->limit <= 0 ? STORE_EVENTS_DEFAULT : f->limit;

	snprintf(sql, sizeof(sql),
		 "SELECT ref, time_ms, application_id, rule_id, kind, blocked, client_ip,"
		 " target, method, path, excerpt FROM waf_events WHERE 1%s%s%s%s"
		 " ORDER BY time_ms DESC, id DESC LIMIT :limit",
		 f->app_id ? " AND application_id = :app" : "",
		 f->rule_id ? " AND rule_id = :rule" : "",
		 f->kind >= 0 ? " AND kind = :kind" : "",
		 f->since_ms ? " AND time_ms >= :since" : "");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_db_error(st, doing, err);
		sqlite3_finalize(s);
		return NULL;
	}
	if (limit > STORE_EVENTS_MAX)
		limit = STORE_EVENTS_MAX;
	/* a parameter the text does not hold has index 0: binding it is a no-op error */
	sqlite3_bind_int(s, sqlite3_bind_parameter_index(s, ":limit"), limit);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":app"), f->app_id);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":rule"), f->rule_id);
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":since"), f->since_ms);
	if (f->kind >= 0)
		sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, ":kind"),
				  kind_text((unsigned char)f->kind), -1, SQLITE_STATIC);
	return s;
}

int store_waf_event_query(struct store *st, const struct store_event_filter *f,
			  struct waf_event **list, size_t *n, struct error *err)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*list = NULL;
	*n = 0;
	s = event_stmt(st, f, err);
	if (s == NULL)
		return -1;
	while ((rc = store_step(st, s, "read the WAF events", err)) == 1) {
		if (store_grow((void **)list, &cap, *n, sizeof(**list)) < 0) {
			rc = store_oom(err);
			break;
		}
		event_from_row(s, &(*list)[(*n)++]);
	}
	sqlite3_finalize(s);
	if (rc < 0) {
		free(*list);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

long long store_waf_event_prune(struct store *st, long long before_ms, struct error *err)
{
	long long total = 0;
	int rc;

	do {
		if (store_tx_begin(st, err) < 0)
			return -1;
		rc = store_exec(st, "delete old WAF events", err,
				"DELETE FROM waf_events WHERE id IN (SELECT id FROM waf_events"
				" WHERE time_ms < ? LIMIT ?)", "li", before_ms, PRUNE_CHUNK);
		if (store_tx_end(st, rc < 0 ? -1 : 0, err) < 0)
			return -1;
		total += rc;
	} while (rc == PRUNE_CHUNK);
	return total;
}
