/* Shared between the admin server's files: the server, one request and
 * its response, the router, authentication, the API handlers and the
 * strict JSON body decoding. Nothing here leaves admin/. */
#ifndef POSTERN_ADMIN_ADMIN_INTERNAL_H
#define POSTERN_ADMIN_ADMIN_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include <event2/util.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "admin/admin.h"
#include "common/error.h"
#include "crypto/password.h"
#include "gateway/http1.h"
#include "gateway/store.h"

#define ADMIN_BODY_MAX (1024 * 1024) /* larger request bodies: 413 */
#define ADMIN_SESSION_COOKIE "postern_session"
#define ADMIN_SESSION_IDLE_S (30 * 60)
#define ADMIN_SESSION_MAX_S (12 * 60 * 60)

struct evbuffer;
struct sockaddr;
struct event;
struct evconnlistener;
struct admin_conn;
struct admin_throttle;

struct admin_server {
	const struct admin_context *ctx;
	struct event_base *base;
	struct evconnlistener *listener;
	SSL_CTX *ssl_ctx;               /* NULL with [admin] tls = off */
	time_t tls_not_after;           /* of the admin certificate */
	struct admin_conn *conns;       /* every open connection */
	size_t n_conns;
	struct admin_throttle *throttle;
	struct event *maintenance;      /* session purge, admin certificate renewal */
	char dummy_hash[PASSWORD_HASH_MAX]; /* verified against for unknown users */
};

enum admin_auth {
	ADMIN_AUTH_NONE,
	ADMIN_AUTH_SESSION,
	ADMIN_AUTH_TOKEN,
	ADMIN_AUTH_MAX
};

/* One request, valid while its handler runs (fields point into the
 * connection's buffers). */
struct admin_request {
	struct admin_server *srv;
	const struct admin_context *ctx;
	const struct http1_request *head;
	char method[16];     /* HEAD is routed as GET; is_head says so */
	int is_head;
	const char *path;    /* from the request-target, without the query */
	size_t path_len;
	const char *query;   /* after '?', NULL when none */
	size_t query_len;
	const char *body;    /* NUL-terminated, "" when none */
	size_t body_len;
	char peer[64];       /* client address */
	int tls;
	long long id;        /* the {id} of the matched route, 0 when none */

	/* Filled by authentication. */
	enum admin_auth auth;
	char user[128];
	unsigned char session_id[32];
	struct store_actor actor; /* {user, peer} for the audit log */
};

struct admin_response {
	int status;
	const char *content_type;
	struct evbuffer *body;
	struct evbuffer *headers; /* extra "Name: value\r\n" lines */
	int is_static;            /* a console file: cacheable with revalidation */
	int close;
	unsigned delay_ms;        /* send this long after the request was read (throttling) */
};

/* ---- conn.c */

/* Serve a new connection on fd (from sa). Returns 0; -1 when it could not
 * be set up (the caller closes fd). */
int admin_conn_new(struct admin_server *srv, evutil_socket_t fd, const struct sockaddr *sa);
/* Close every connection (the server is going away). */
void admin_conn_close_all(struct admin_server *srv);

/* ---- server_tls.c */

/* The admin listener's TLS context (TLS 1.2+), serving the certificate
 * issued by the instance test CA (made and stored on first use). Returns
 * NULL with err. */
SSL_CTX *admin_tls_ctx_new(struct admin_server *srv, struct error *err);
/* Re-issue the certificate when it nears expiry (called every minute). */
void admin_tls_refresh(struct admin_server *srv);

/* ---- router.c */

/* Route req and fill resp (status, body, headers). Never fails: every
 * problem becomes an error response. */
void admin_router_handle(struct admin_request *req, struct admin_response *resp);

/* Append a header line to resp (no CR or LF may appear in the value). */
void admin_header_add(struct admin_response *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* resp = status with the JSON object o (reference stolen). */
void admin_respond_json(struct admin_response *resp, int status, json_t *o);
/* resp = status with text of len bytes and content_type. */
void admin_respond_data(struct admin_response *resp, int status, const char *content_type,
			const void *data, size_t len);
/* resp = status with {"error":{"code","message"[,"field"]}}. field may be
 * NULL. */
void admin_respond_error(struct admin_response *resp, int status, const char *code,
			 const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* resp = the error err, with the status its code implies (not_found 404,
 * conflict 409, internal 500, else 400) and field when not NULL. */
void admin_respond_fail(struct admin_response *resp, const struct error *err,
			const char *field);
/* The gateway serves a change now: rebuild and publish its snapshot. */
void admin_apply_changes(struct admin_request *req);
/* Copy the value of query parameter name into out. 1 when present, else 0. */
int admin_query_get(const struct admin_request *req, const char *name, char *out, size_t n);

/* ---- auth.c */

struct admin_throttle *admin_throttle_new(void);
void admin_throttle_free(struct admin_throttle *t);
/* The test hook POSTERN_TEST_LOCKOUT_SECONDS, else 15 minutes. */
int admin_throttle_lockout_seconds(void);

/* Authenticate req (session cookie, or Authorization: Bearer) and check
 * the CSRF token of a mutating request made with a session. Returns 0
 * with req->auth, user and actor filled, or -1 with resp set to 401/403. */
int admin_auth_check(struct admin_request *req, struct admin_response *resp);
/* Lowercase hex SHA-256 of data into out. */
void admin_auth_hash_hex(const void *data, size_t len, char out[65]);
/* Delete expired sessions. */
void admin_auth_purge(struct admin_server *srv);

/* POST/DELETE/GET /api/v1/session, PUT /api/v1/account/password. */
void admin_api_login(struct admin_request *req, struct admin_response *resp);
void admin_api_logout(struct admin_request *req, struct admin_response *resp);
void admin_api_session(struct admin_request *req, struct admin_response *resp);
void admin_api_password(struct admin_request *req, struct admin_response *resp);

/* ---- the handlers: each fills resp from req (both borrowed; the
 * response's buffers belong to the connection). */

/* ---- api_certs.c */

void admin_api_cert_list(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_create(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_get(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_replace(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_delete(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_chain(struct admin_request *req, struct admin_response *resp);
void admin_api_cert_renew(struct admin_request *req, struct admin_response *resp);
void admin_api_test_ca(struct admin_request *req, struct admin_response *resp);

/* ---- api_apps.c */

void admin_api_app_list(struct admin_request *req, struct admin_response *resp);
void admin_api_app_create(struct admin_request *req, struct admin_response *resp);
void admin_api_app_get(struct admin_request *req, struct admin_response *resp);
void admin_api_app_replace(struct admin_request *req, struct admin_response *resp);
void admin_api_app_delete(struct admin_request *req, struct admin_response *resp);

/* ---- api_waf.c */

void admin_api_waf_rule_list(struct admin_request *req, struct admin_response *resp);
void admin_api_waf_rule_create(struct admin_request *req, struct admin_response *resp);
void admin_api_waf_rule_get(struct admin_request *req, struct admin_response *resp);
void admin_api_waf_rule_replace(struct admin_request *req, struct admin_response *resp);
void admin_api_waf_rule_delete(struct admin_request *req, struct admin_response *resp);
void admin_api_waf_test(struct admin_request *req, struct admin_response *resp);
void admin_api_events(struct admin_request *req, struct admin_response *resp);

/* ---- api_misc.c */

void admin_api_status(struct admin_request *req, struct admin_response *resp);
void admin_api_metrics(struct admin_request *req, struct admin_response *resp);
void admin_api_audit(struct admin_request *req, struct admin_response *resp);
void admin_api_token_list(struct admin_request *req, struct admin_response *resp);
void admin_api_token_create(struct admin_request *req, struct admin_response *resp);
void admin_api_token_delete(struct admin_request *req, struct admin_response *resp);

/* ---- json_body.c: strict decoding of request bodies */

/* A decoding failure: code invalid_json, unknown_field, invalid_type,
 * missing_field or invalid_value, and the field concerned ("" for the
 * whole body; "backends[1].url" for a nested one). */
struct json_body_error {
	struct error err;
	char field[96];
};

enum json_body_type {
	JSON_BODY_STRING,
	JSON_BODY_STRING_OR_NULL,
	JSON_BODY_BOOL,
	JSON_BODY_INT,
	JSON_BODY_INT_OR_NULL,
	JSON_BODY_STRING_ARRAY,
	JSON_BODY_OBJECT_ARRAY,
	JSON_BODY_OBJECT_OR_NULL,
	JSON_BODY_STRING_LIST, /* an array of strings of any length (IP lists) */
	JSON_BODY_TYPE_MAX
};

struct json_body_field {
	const char *name;
	enum json_body_type type;
	int required;
};

/* Make jansson wipe what it frees (bodies carry private keys). Call once
 * before the first decode; idempotent. */
void json_body_init(void);

/* Parse body (len bytes) as one JSON object whose members are exactly of
 * the given fields (types checked, required ones present). prefix names
 * the object in errors ("" at the top). Returns a new reference, or NULL
 * with e filled. */
json_t *json_body_object(const char *body, size_t len, const struct json_body_field *fields,
			 size_t n_fields, struct json_body_error *e);
/* Parse body as one JSON object, whatever its members (the caller
 * validates them). Returns a new reference, or NULL with e (invalid_json,
 * invalid_type). */
json_t *json_body_parse(const char *body, size_t len, struct json_body_error *e);
/* Check an already parsed object the same way. 0 or -1 with e. */
int json_body_check(json_t *obj, const char *prefix, const struct json_body_field *fields,
		    size_t n_fields, struct json_body_error *e);
/* The string member name of obj, NULL when absent or null. Borrowed. */
const char *json_body_string(json_t *obj, const char *name);
/* Drop a decoded body, wiping every string in it first. NULL allowed. */
void json_body_free(json_t *root);

#define JSON_BODY_MAX_NAMES 100 /* sans, domains, backends */

/* POST /api/v1/certificates (replace = 0) or PUT (replace = 1). */
struct json_body_cert {
	json_t *root;          /* owns every string below */
	const char *domain;
	const char *source;    /* "user", "self_signed", "acme"; NULL on PUT unless given */
	const char *certificate;
	const char *private_key;
	const char *ca_certificate; /* NULL when absent, null or "" */
	const char *sans[JSON_BODY_MAX_NAMES];
	size_t n_sans;
};

/* Decode a certificate body: the fields allowed depend on the source
 * (user: certificate, private_key, ca_certificate; self_signed and acme:
 * sans). Returns 0, or -1 with e. Release with json_body_cert_free. */
int json_body_cert_decode(const char *body, size_t len, int replace, struct json_body_cert *out,
			  struct json_body_error *e);
void json_body_cert_free(struct json_body_cert *c);

/* Decode an application body into out (malloc'd strings, released with
 * store_app_free). id and certificate_id are read-only: accepted and
 * ignored. The firewall settings ("waf", "rate_limit", "ip_allow",
 * "ip_deny") the body carries go into out->options_json, a JSON object
 * holding only them (app_manager validates them). Returns 0, or -1 with
 * e. */
int json_body_app_decode(const char *body, size_t len, struct store_app *out,
			 struct json_body_error *e);

#endif
