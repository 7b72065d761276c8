/* Method and path dispatch for the admin listener: the JSON API under
 * /api/v1 and /metrics (authenticated), the console's embedded files for
 * every other GET; plus the response helpers every handler uses. */
#include "admin/admin_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "admin/assets.h"
#include "common/log.h"
#include "gateway/control.h"
#include "gateway/model_json.h"

#define ROUTE_PUBLIC 1 /* no authentication (signing in) */

struct admin_route {
	const char *method;
	const char *pattern; /* "{id}" matches a positive decimal number */
	void (*handler)(struct admin_request *req, struct admin_response *resp);
	int flags;
};

static const struct admin_route routes[] = {
	{ "POST", "/api/v1/session", admin_api_login, ROUTE_PUBLIC },
	{ "GET", "/api/v1/session", admin_api_session, 0 },
	{ "DELETE", "/api/v1/session", admin_api_logout, 0 },
	{ "PUT", "/api/v1/account/password", admin_api_password, 0 },
	{ "GET", "/api/v1/certificates", admin_api_cert_list, 0 },
	{ "POST", "/api/v1/certificates", admin_api_cert_create, 0 },
	{ "GET", "/api/v1/certificates/{id}", admin_api_cert_get, 0 },
	{ "PUT", "/api/v1/certificates/{id}", admin_api_cert_replace, 0 },
	{ "DELETE", "/api/v1/certificates/{id}", admin_api_cert_delete, 0 },
	{ "GET", "/api/v1/certificates/{id}/chain.pem", admin_api_cert_chain, 0 },
	{ "POST", "/api/v1/certificates/{id}/renew", admin_api_cert_renew, 0 },
	{ "GET", "/api/v1/test-ca.pem", admin_api_test_ca, 0 },
	{ "GET", "/api/v1/applications", admin_api_app_list, 0 },
	{ "POST", "/api/v1/applications", admin_api_app_create, 0 },
	{ "GET", "/api/v1/applications/{id}", admin_api_app_get, 0 },
	{ "PUT", "/api/v1/applications/{id}", admin_api_app_replace, 0 },
	{ "DELETE", "/api/v1/applications/{id}", admin_api_app_delete, 0 },
	{ "GET", "/api/v1/waf/rules", admin_api_waf_rule_list, 0 },
	{ "POST", "/api/v1/waf/rules", admin_api_waf_rule_create, 0 },
	{ "GET", "/api/v1/waf/rules/{id}", admin_api_waf_rule_get, 0 },
	{ "PUT", "/api/v1/waf/rules/{id}", admin_api_waf_rule_replace, 0 },
	{ "DELETE", "/api/v1/waf/rules/{id}", admin_api_waf_rule_delete, 0 },
	{ "POST", "/api/v1/waf/test", admin_api_waf_test, 0 },
	{ "GET", "/api/v1/events", admin_api_events, 0 },
	{ "GET", "/api/v1/status", admin_api_status, 0 },
	{ "GET", "/metrics", admin_api_metrics, 0 },
	{ "GET", "/api/v1/audit", admin_api_audit, 0 },
	{ "GET", "/api/v1/tokens", admin_api_token_list, 0 },
	{ "POST", "/api/v1/tokens", admin_api_token_create, 0 },
	{ "DELETE", "/api/v1/tokens/{id}", admin_api_token_delete, 0 },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- responses */

void admin_header_add(struct admin_response *resp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(resp->headers, fmt, ap);
	va_end(ap);
	evbuffer_add(resp->headers, "\r\n", 2);
}

void admin_respond_data(struct admin_response *resp, int status, const char *content_type,
			const void *data, size_t len)
{
	resp->status = status;
	resp->content_type = content_type;
	evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
	if (len > 0)
		evbuffer_add(resp->body, data, len);
}

void admin_respond_json(struct admin_response *resp, int status, json_t *o)
{
	static const char oom[] =
		"{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL) {
		admin_respond_data(resp, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	admin_respond_data(resp, status, "application/json", text, strlen(text));
	free(text);
}

static void respond_error_obj(struct admin_response *resp, int status, const struct error *err,
			      const char *field)
{
	json_t *o = model_error_json(err);

	if (o != NULL && field != NULL && field[0] != '\0')
		json_object_set_new(json_object_get(o, "error"), "field", json_string(field));
	if (status == 401)
		admin_header_add(resp, "WWW-Authenticate: Bearer realm=\"postern\"");
	admin_respond_json(resp, status, o);
}

void admin_respond_error(struct admin_response *resp, int status, const char *code,
			 const char *field, const char *fmt, ...)
{
	struct error err;
	va_list ap;

	snprintf(err.code, sizeof(err.code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	respond_error_obj(resp, status, &err, field);
}

static int status_for(const char *code)
{
	static const struct {
		const char *code;
		int status;
	} map[] = {
		{ "not_found", 404 },   { "conflict", 409 },     { "wrong_source", 409 },
		{ "not_acme", 409 },    { "internal", 500 },     { "storage", 500 },
		{ "instance_key", 500 }, { "not_ready", 409 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].status;
	return 400;
}

void admin_respond_fail(struct admin_response *resp, const struct error *err, const char *field)
{
	int status = status_for(err->code);

	if (status >= 500)
		log_error("admin API: %s: %s", err->code, err->message);
	respond_error_obj(resp, status, err, field);
}

void admin_apply_changes(struct admin_request *req)
{
	struct error err;

	/* Publish now, on this (the control) thread, so the response already
	 * reports the certificate as deployed; the watch retries on failure. */
	if (control_rebuild(req->ctx->ctl, &err) != 0) {
		log_error("admin API: cannot publish the change yet (will retry): %s",
			  err.message);
		control_request_rebuild(req->ctx->ctl);
	}
}

int admin_query_get(const struct admin_request *req, const char *name, char *out, size_t n)
{
	const char *p = req->query, *end = req->query + req->query_len;
	size_t name_len = strlen(name);

	while (p != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > name_len && p[name_len] == '=' &&
		    memcmp(p, name, name_len) == 0) {
			size_t len = (size_t)(stop - p) - name_len - 1;

			if (len >= n)
				len = n - 1;
			memcpy(out, p + name_len + 1, len);
			out[len] = '\0';
			return 1;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}

/* ---- matching */

/* 1 when path matches pattern; *id gets the {id} segment. */
static int path_matches(const char *pattern, const char *path, size_t len, long long *id)
{
	const char *p = path, *end = path + len;

	*id = 0;
	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			long long v = 0;
			const char *start = p;

			while (p < end && *p >= '0' && *p <= '9' && p - start < 18)
				v = v * 10 + (*p++ - '0');
			if (p == start || *start == '0' || (p < end && *p != '/'))
				return 0;
			*id = v;
			pattern += 4;
			continue;
		}
		if (p == end || *p != *pattern)
			return 0;
		p++;
		pattern++;
	}
	return p == end;
}

static void method_not_allowed(struct admin_response *resp, const char *allow)
{
	admin_header_add(resp, "Allow: %s", allow);
	admin_respond_error(resp, 405, "method_not_allowed", NULL,
			    "This method is not allowed here; allowed: %s.", allow);
}

/* The console's files; "/" is index.html, and a path without a file
 * extension (a console page) is the console itself. */
static void serve_asset(struct admin_request *req, struct admin_response *resp)
{
	const struct admin_asset *a;
	const char *slash;

	if (strcmp(req->method, "GET") != 0) {
		method_not_allowed(resp, "GET, HEAD");
		return;
	}
	a = admin_asset_find(req->path, req->path_len);
	slash = memrchr(req->path, '/', req->path_len);
	if (a == NULL && slash != NULL &&
	    memchr(slash, '.', req->path_len - (size_t)(slash - req->path)) == NULL)
		a = admin_asset_find("/index.html", 11);
	if (a == NULL) {
		admin_respond_error(resp, 404, "not_found", NULL, "There is no page here.");
		return;
	}
	admin_respond_data(resp, 200, a->content_type, a->data, a->len);
	resp->is_static = 1;
}

static int is_api_path(const struct admin_request *req)
{
	return (req->path_len >= 5 && memcmp(req->path, "/api/", 5) == 0) ||
	       (req->path_len == 4 && memcmp(req->path, "/api", 4) == 0) ||
	       (req->path_len == 8 && memcmp(req->path, "/metrics", 8) == 0);
}

/* Add a method to an Allow list (GET brings HEAD). */
static void allow_add(char *allow, size_t n, const char *method)
{
	size_t o = strlen(allow);

	snprintf(allow + o, n - o, "%s%s%s", o ? ", " : "", method,
		 strcmp(method, "GET") == 0 ? ", HEAD" : "");
}

void admin_router_handle(struct admin_request *req, struct admin_response *resp)
{
	const struct admin_route *found = NULL;
	char allow[128] = "";
	long long id;

	if (strcmp(req->method, "HEAD") == 0) {
		snprintf(req->method, sizeof(req->method), "GET");
		req->is_head = 1;
	}
	if (!is_api_path(req)) {
		serve_asset(req, resp);
		return;
	}
	for (size_t i = 0; i < N_ROUTES; i++) {
		if (!path_matches(routes[i].pattern, req->path, req->path_len, &id))
			continue;
		allow_add(allow, sizeof(allow), routes[i].method);
		if (strcmp(routes[i].method, req->method) == 0) {
			found = &routes[i];
			req->id = id;
		}
	}
	if (found == NULL && allow[0] != '\0') {
		method_not_allowed(resp, allow);
	} else if (found == NULL) {
		admin_respond_error(resp, 404, "not_found", NULL, "There is no API endpoint %.*s.",
				    (int)(req->path_len > 200 ? 200 : req->path_len), req->path);
	} else if ((found->flags & ROUTE_PUBLIC) || admin_auth_check(req, resp) == 0) {
		found->handler(req, resp);
	}
}
