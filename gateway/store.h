/* Storage: the only module that speaks SQL. SQLite (WAL, foreign keys,
 * busy timeout) is the embedded default; the interface below is narrow and
 * SQL-free so another backend (PostgreSQL for several nodes) can sit behind
 * it without touching the callers.
 *
 * Every mutating call is one transaction and, when who is not NULL, writes
 * its audit row inside that same transaction. Errors fill err with a code:
 * "not_found", "conflict" (unique name or domain taken), "storage" (the
 * database failed; the message says how). Strings in records are malloc'd
 * and owned by the record; free records with their _free function. */
#ifndef POSTERN_GATEWAY_STORE_H
#define POSTERN_GATEWAY_STORE_H

#include <stddef.h>

#include "common/error.h"

struct store;

/* Who made a change, for the audit log. */
struct store_actor {
	const char *who;  /* user name, "cli", "acme", "system" */
	const char *from; /* client address, or "cli" */
};

/* Open (creating when missing) the database at path and apply pending
 * schema migrations in order, all in one transaction. Returns NULL with err
 * on failure. Caller closes with store_close. */
struct store *store_open(const char *path, struct error *err);
void store_close(struct store *st);

/* Group many changes into one transaction (a bulk import): every change
 * until store_batch_end is a savepoint, so one that fails is undone alone;
 * store_batch_end commits them all when rc is 0, else rolls all back.
 * Both return 0 or -1 with err. */
int store_batch_begin(struct store *st, struct error *err);
int store_batch_end(struct store *st, int rc, struct error *err);

/* The schema version now applied (migrations are numbered from 1). */
int store_schema_version(struct store *st);

/* SQLite's PRAGMA data_version: changes whenever another connection
 * (another process: the CLI, or the console thread's connection) commits.
 * Returns 0 or -1. */
int store_data_version(struct store *st, long long *out);

/* ---- settings: small named blobs (instance check value, test CA, ...) */

/* Returns 1 and *val (malloc'd, caller frees; NUL-terminated after len
 * bytes for convenience) when found, 0 when absent, -1 on error. */
int store_setting_get(struct store *st, const char *key, unsigned char **val, size_t *len,
		      struct error *err);
/* Insert or replace. 0 or -1. */
int store_setting_set(struct store *st, const char *key, const void *val, size_t len,
		      struct error *err);

/* ---- certificates (current row plus a version history) */

struct store_cert {
	long long id;
	char *domain;
	char *source;              /* "user", "self_signed", "acme" */
	int version;               /* 1 on insert, +1 on every replace */
	char *chain_pem;           /* leaf then chain; NULL while ACME has none yet */
	unsigned char *sealed_key; /* keystore_seal output; NULL with chain_pem */
	size_t sealed_key_len;
	char *key_uid;             /* identity used as associated data for sealed_key */
	char *extra_sans;          /* JSON array text of names besides domain, "[]" */
	char *state;               /* "" or an ACME state: "pending", "awaiting_dns", "failed" */
	char *state_detail;        /* "" */
	int auto_renew;            /* 1 for ACME */
	long long next_attempt;    /* unix seconds, 0 = none */
	char *last_error;          /* NULL = none */
	long long created_at;      /* unix seconds */
	long long updated_at;
};

void store_cert_free(struct store_cert *c);
void store_cert_list_free(struct store_cert *list, size_t n);

/* Insert c (c->id, version, created_at, updated_at are set on return) and
 * its first history row. */
int store_cert_insert(struct store *st, struct store_cert *c, const struct store_actor *who,
		      struct error *err);
/* Replace the certificate c->id with c's domain, chain, key, extra_sans,
 * state fields: version + 1, a new history row. c->version and updated_at
 * are set on return. */
int store_cert_replace(struct store *st, struct store_cert *c, const struct store_actor *who,
		       struct error *err);
/* Update only the ACME state fields of certificate id (no new version). */
int store_cert_set_state(struct store *st, long long id, const char *state, const char *detail,
			 long long next_attempt, const char *last_error, struct error *err);
int store_cert_delete(struct store *st, long long id, const struct store_actor *who,
		      struct error *err);
/* 0 and *out filled, or -1 (code not_found when there is no such id). */
int store_cert_get(struct store *st, long long id, struct store_cert *out, struct error *err);
/* All certificates ordered by id. *list is malloc'd (may be NULL when n=0). */
int store_cert_list(struct store *st, struct store_cert **list, size_t *n, struct error *err);
/* Every stored version of certificate id, oldest first. */
int store_cert_versions(struct store *st, long long id, struct store_cert **list, size_t *n,
			struct error *err);

/* ---- applications */

struct store_backend {
	char *url;  /* "http://host:port" */
	int weight; /* >= 1 */
};

struct store_app {
	long long id;
	char *name;
	char **domains; /* lowercase, exact or "*.wildcard"; unique across applications */
	size_t n_domains;
	struct store_backend *backends;
	size_t n_backends;
	char *balance;          /* round_robin | weighted | ip_hash | least_conn */
	int https_redirect;
	int auto_certificate;
	char *client_ip_header; /* "X-Forwarded-For" */
	char *health_path;      /* "" = no active health check */
	int health_interval_s;  /* 10 */
	char *options_json;     /* further settings (WAF, rate limit, IP lists) as a JSON object, "{}" */
	long long created_at;
	long long updated_at;
};

void store_app_free(struct store_app *a);
void store_app_list_free(struct store_app *list, size_t n);

/* Insert a (a->id set on return). conflict when the name or a domain is
 * already used by another application (the message names it). */
int store_app_insert(struct store *st, struct store_app *a, const struct store_actor *who,
		     struct error *err);
/* Replace every field of application a->id. not_found or conflict. */
int store_app_update(struct store *st, struct store_app *a, const struct store_actor *who,
		     struct error *err);
int store_app_delete(struct store *st, long long id, const struct store_actor *who,
		     struct error *err);
int store_app_get(struct store *st, long long id, struct store_app *out, struct error *err);
int store_app_list(struct store *st, struct store_app **list, size_t *n, struct error *err);

/* ---- users */

struct store_user {
	long long id;
	char *name;
	char *password_hash;
	long long created_at;
};

void store_user_free(struct store_user *u);
int store_user_count(struct store *st, long long *n, struct error *err);
/* conflict when name exists. */
int store_user_create(struct store *st, const char *name, const char *password_hash,
		      const struct store_actor *who, struct error *err);
int store_user_get(struct store *st, const char *name, struct store_user *out, struct error *err);
int store_user_set_password(struct store *st, const char *name, const char *password_hash,
			    const struct store_actor *who, struct error *err);

/* ---- admin sessions (the id and CSRF token are stored as hashes) */

struct store_session {
	char *id_hash;
	char *user;
	char *csrf_hash;
	long long created_at;
	long long last_seen;
};

void store_session_free(struct store_session *s);
int store_session_create(struct store *st, const struct store_session *s, struct error *err);
int store_session_get(struct store *st, const char *id_hash, struct store_session *out,
		      struct error *err);
int store_session_touch(struct store *st, const char *id_hash, long long now, struct error *err);
int store_session_delete(struct store *st, const char *id_hash, struct error *err);
/* Delete sessions last seen before idle_before or created before
 * created_before. */
int store_session_purge(struct store *st, long long idle_before, long long created_before,
			struct error *err);

/* ---- API tokens (stored as hashes) */

struct store_token {
	long long id;
	char *name;
	char *user;
	char *token_hash;
	long long created_at;
	long long last_used; /* 0 = never */
};

void store_token_free(struct store_token *t);
void store_token_list_free(struct store_token *list, size_t n);
/* t->id and created_at set on return. */
int store_token_create(struct store *st, struct store_token *t, const struct store_actor *who,
		       struct error *err);
int store_token_find(struct store *st, const char *token_hash, struct store_token *out,
		     struct error *err);
int store_token_touch(struct store *st, long long id, long long now, struct error *err);
int store_token_delete(struct store *st, long long id, const struct store_actor *who,
		       struct error *err);
int store_token_list(struct store *st, struct store_token **list, size_t *n, struct error *err);

/* ---- ACME accounts, one per directory URL */

struct store_acme_account {
	char *directory_url;
	char *kid;                 /* account URL, "" until registered */
	unsigned char *sealed_key; /* the account key, sealed */
	size_t sealed_key_len;
	char *key_uid;
	long long created_at;
};

void store_acme_account_free(struct store_acme_account *a);
/* 0 and *out, or -1 with not_found. */
int store_acme_account_get(struct store *st, const char *directory_url,
			   struct store_acme_account *out, struct error *err);
/* Insert or replace the account of a->directory_url. */
int store_acme_account_put(struct store *st, const struct store_acme_account *a,
			   struct error *err);

/* ---- audit log */

struct store_audit {
	long long id;
	long long at;  /* unix seconds */
	char *actor;
	char *source;  /* client address, or "cli" */
	char *action;  /* "certificate.create", "application.delete", ... */
	char *target;  /* "certificate/3" */
	char *detail;  /* one line for a person; never secrets */
};

void store_audit_list_free(struct store_audit *list, size_t n);
/* Add an audit row by itself (log-ins, sign-outs, ...). */
int store_audit_add(struct store *st, const struct store_actor *who, const char *action,
		    const char *target, const char *detail, struct error *err);
/* The newest limit rows, newest first. */
int store_audit_list(struct store *st, int limit, struct store_audit **list, size_t *n,
		     struct error *err);

/* ---- application firewall (gateway/store_waf.c) */

struct waf_rule;
struct waf_event;

/* Custom rules (ids from WAF_FIRST_CUSTOM_ID + 1), each stored as its
 * RULE object. All of them, decoded (waf_rule_from_json) and ordered by
 * id; *list is malloc'd (NULL when n is 0), free with waf_rule_list_free.
 * A stored rule that no longer decodes is an error naming it. */
int store_waf_rule_list(struct store *st, struct waf_rule **list, size_t *n, struct error *err);
/* 0 and *out (free with waf_rule_free), or -1 (not_found). */
int store_waf_rule_get(struct store *st, long long id, struct waf_rule *out, struct error *err);
/* Insert r with a new id (r->id is ignored, then set on return). */
int store_waf_rule_insert(struct store *st, struct waf_rule *r, const struct store_actor *who,
			  struct error *err);
/* Replace custom rule r->id. not_found. */
int store_waf_rule_update(struct store *st, const struct waf_rule *r,
			  const struct store_actor *who, struct error *err);
int store_waf_rule_delete(struct store *st, long long id, const struct store_actor *who,
			  struct error *err);

/* Enable or disable preset rule id (the caller checks that it is one). */
int store_waf_preset_set(struct store *st, long long id, int enabled,
			 const struct store_actor *who, struct error *err);
/* The ids of the disabled preset rules, ascending; *ids malloc'd (NULL
 * when n is 0), the caller frees it. */
int store_waf_preset_disabled(struct store *st, long long **ids, size_t *n, struct error *err);

/* Record events in one transaction (no audit rows: they are not changes
 * made by a person). A rule_id or app_id of 0 is stored as NULL. */
int store_waf_event_insert(struct store *st, const struct waf_event *ev, size_t n,
			   struct error *err);

#define STORE_EVENTS_DEFAULT 100
#define STORE_EVENTS_MAX 1000

/* What store_waf_event_query returns; 0 (or kind -1) means "any". */
struct store_event_filter {
	long long app_id;
	long long rule_id;
	int kind;          /* enum waf_event_kind, or -1 */
	long long since_ms; /* events at or after this time */
	int limit;         /* 0: STORE_EVENTS_DEFAULT; at most STORE_EVENTS_MAX */
};

/* Events matching f, newest first. *list malloc'd (NULL when n is 0), the
 * caller frees it. */
int store_waf_event_query(struct store *st, const struct store_event_filter *f,
			  struct waf_event **list, size_t *n, struct error *err);
/* Delete the events older than before_ms, a few thousand per transaction
 * so other writers are not held up. Returns the number deleted, or -1. */
long long store_waf_event_prune(struct store *st, long long before_ms, struct error *err);

#endif
