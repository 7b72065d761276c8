/* Status, Prometheus metrics, the audit log and API tokens. */
#include "autoconf.h"
#include "admin/admin_internal.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "crypto/secret.h"
#include "gateway/cert_manager.h"
#include "gateway/model_json.h"
#include "gateway/tls.h"
#include "waf/engine.h"
#include "waf/events.h"
#include "waf/ratelimit.h"

#define AUDIT_DEFAULT 100
#define AUDIT_MAX 1000
#define TOKEN_NAME_MAX 64
#define TOKEN_PREFIX "pst_"

static const char *const class_names[6] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };

/* ---- status */

static json_t *certs_by_status(const struct cert_view *list, size_t n)
{
	json_t *o = json_object();
	json_int_t counts[CERT_STATUS_MAX] = { 0 };

	for (size_t i = 0; i < n; i++)
		counts[list[i].status]++;
	for (int s = 0; s < CERT_STATUS_MAX; s++)
		json_object_set_new(o, cert_status_name((enum cert_status)s),
				    json_integer(counts[s]));
	return o;
}

void admin_api_status(struct admin_request *req, struct admin_response *resp)
{
	const struct gateway_stats *st = &req->ctx->shared->stats;
	struct cert_view *list = NULL;
	struct store_app *apps = NULL;
	size_t n = 0, n_apps = 0;
	unsigned long long hs = 0, hs_fail = 0;
	struct error err;
	json_t *classes = json_object();

	if (cert_manager_list(req->ctx->inst, &list, &n, &err) != 0 ||
	    store_app_list(req->ctx->inst->store, &apps, &n_apps, &err) != 0) {
		json_decref(classes);
		cert_view_list_free(list, n);
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	store_app_list_free(apps, n_apps);
	tls_counters(&hs, &hs_fail);
	for (int c = 1; c <= 5; c++) {
		json_int_t v = (json_int_t)atomic_load(&st->responses_by_class[c]);

		json_object_set_new(classes, class_names[c], json_integer(v));
	}
	admin_respond_json(
		resp, 200,
		json_pack("{s:s, s:I, s:i, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:o}", "version",
			  PACKAGE_VERSION, "uptime_s", (json_int_t)(time(NULL) - req->ctx->started),
			  "workers", req->ctx->n_workers, "connections",
			  (json_int_t)atomic_load(&st->connections_open), "connections_total",
			  (json_int_t)atomic_load(&st->connections_total), "requests",
			  (json_int_t)atomic_load(&st->requests_total), "responses_by_class",
			  classes,
			  "tls_handshakes", (json_int_t)hs, "tls_handshake_failures",
			  (json_int_t)hs_fail, "applications", (json_int_t)n_apps, "certificates",
			  (json_int_t)n, "certificates_by_status", certs_by_status(list, n)));
	cert_view_list_free(list, n);
}

/* ---- metrics */

/* A label value with \, " and newline escaped (Prometheus text format). */
static void label_value(struct evbuffer *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

static void metric_head(struct evbuffer *out, const char *name, const char *type,
			const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void cert_labels(struct evbuffer *out, const char *name, const struct cert_view *v)
{
	evbuffer_add_printf(out, "%s{id=\"%lld\",domain=\"", name, v->rec.id);
	label_value(out, v->rec.domain);
	evbuffer_add(out, "\"", 1);
}

static void cert_metrics(struct evbuffer *out, const struct cert_view *list, size_t n)
{
	metric_head(out, "postern_certificate_expiry_timestamp_seconds", "gauge",
		    "When each certificate expires (Unix time); absent while ACME has none yet.");
	for (size_t i = 0; i < n; i++) {
		if (!list[i].has_info)
			continue;
		cert_labels(out, "postern_certificate_expiry_timestamp_seconds", &list[i]);
		evbuffer_add_printf(out, "} %lld\n", (long long)list[i].info.not_after);
	}
	metric_head(out, "postern_certificate_status", "gauge",
		    "1 for the status each certificate has now, 0 for the others.");
	for (size_t i = 0; i < n; i++) {
		for (int s = 0; s < CERT_STATUS_MAX; s++) {
			cert_labels(out, "postern_certificate_status", &list[i]);
			evbuffer_add_printf(out, ",status=\"%s\"} %d\n",
					    cert_status_name((enum cert_status)s),
					    list[i].status == (enum cert_status)s);
		}
	}
	metric_head(out, "postern_certificate_deployed", "gauge",
		    "1 when the certificate is in the cache that handshakes read.");
	for (size_t i = 0; i < n; i++) {
		cert_labels(out, "postern_certificate_deployed", &list[i]);
		evbuffer_add_printf(out, "} %d\n", list[i].deployed);
	}
}

/* The firewall's counters (SPEC section 6). */
static void firewall_metrics(struct evbuffer *out, struct gateway_shared *g)
{
	metric_head(out, "postern_waf_blocked_total", "counter",
		    "Requests refused by a WAF rule or an IP list (403).");
	evbuffer_add_printf(out, "postern_waf_blocked_total %llu\n",
			    (unsigned long long)atomic_load(&g->waf_blocked));
	metric_head(out, "postern_rate_limited_total", "counter",
		    "Requests refused by a rate limit (429).");
	evbuffer_add_printf(out, "postern_rate_limited_total %llu\n",
			    (unsigned long long)atomic_load(&g->rate_limited));
	metric_head(out, "postern_rate_limit_evictions_total", "counter",
		    "Clients dropped from the full rate-limit table while still counted.");
	evbuffer_add_printf(out, "postern_rate_limit_evictions_total %llu\n",
			    (unsigned long long)rate_limiter_evictions(g->limiter));
	metric_head(out, "postern_waf_events_dropped_total", "counter",
		    "Firewall events dropped because the queue to the database was full.");
	evbuffer_add_printf(out, "postern_waf_events_dropped_total %llu\n",
			    (unsigned long long)event_queue_dropped(g->events));
	metric_head(out, "postern_waf_match_limit_total", "counter",
		    "Values a WAF pattern gave up on (PCRE2 match limit).");
	evbuffer_add_printf(out, "postern_waf_match_limit_total %llu\n",
			    waf_match_limit_hits());
}

static void gateway_metrics(struct evbuffer *out, const struct admin_context *ctx)
{
	const struct gateway_stats *st = &ctx->shared->stats;
	unsigned long long hs = 0, hs_fail = 0;

	tls_counters(&hs, &hs_fail);
	metric_head(out, "postern_build_info", "gauge", "The running version of postern.");
	evbuffer_add_printf(out, "postern_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	metric_head(out, "postern_start_time_seconds", "gauge",
		    "When postern started (Unix time).");
	evbuffer_add_printf(out, "postern_start_time_seconds %lld\n", (long long)ctx->started);
	metric_head(out, "postern_workers", "gauge", "Worker threads serving traffic.");
	evbuffer_add_printf(out, "postern_workers %d\n", ctx->n_workers);
	metric_head(out, "postern_connections_open", "gauge", "Client connections open now.");
	evbuffer_add_printf(out, "postern_connections_open %lld\n",
			    (long long)atomic_load(&st->connections_open));
	metric_head(out, "postern_connections_total", "counter", "Client connections accepted.");
	evbuffer_add_printf(out, "postern_connections_total %llu\n",
			    (unsigned long long)atomic_load(&st->connections_total));
	metric_head(out, "postern_requests_total", "counter",
		    "Requests answered by the gateway, by status class.");
	for (int c = 1; c <= 5; c++)
		evbuffer_add_printf(out, "postern_requests_total{class=\"%s\"} %llu\n",
				    class_names[c],
				    (unsigned long long)atomic_load(&st->responses_by_class[c]));
	metric_head(out, "postern_tls_handshakes_total", "counter", "TLS handshakes completed.");
	evbuffer_add_printf(out, "postern_tls_handshakes_total %llu\n", hs);
	metric_head(out, "postern_tls_handshake_failures_total", "counter",
		    "TLS handshakes that failed with an alert.");
	evbuffer_add_printf(out, "postern_tls_handshake_failures_total %llu\n", hs_fail);
	firewall_metrics(out, ctx->shared);
}

void admin_api_metrics(struct admin_request *req, struct admin_response *resp)
{
	struct cert_view *list = NULL;
	size_t n = 0;
	struct error err;

	if (cert_manager_list(req->ctx->inst, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	gateway_metrics(resp->body, req->ctx);
	cert_metrics(resp->body, list, n);
	cert_view_list_free(list, n);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- audit */

static json_t *time_json(long long t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	model_time_iso((time_t)t, buf);
	return json_string(buf);
}

void admin_api_audit(struct admin_request *req, struct admin_response *resp)
{
	struct store_audit *list = NULL;
	size_t n = 0;
	struct error err;
	char text[16];
	long limit = AUDIT_DEFAULT;
	char *end;
	json_t *arr;

	if (admin_query_get(req, "limit", text, sizeof(text))) {
		limit = strtol(text, &end, 10);
		if (*end != '\0' || end == text || limit < 1 || limit > AUDIT_MAX) {
			admin_respond_error(resp, 400, "invalid_value", "limit",
					    "limit must be a number from 1 to %d.", AUDIT_MAX);
			return;
		}
	}
	if (store_audit_list(req->ctx->inst->store, (int)limit, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s}", "id",
				       (json_int_t)list[i].id, "at", time_json(list[i].at), "actor",
				       list[i].actor, "source", list[i].source, "action",
				       list[i].action, "target", list[i].target, "detail",
				       list[i].detail));
	store_audit_list_free(list, n);
	admin_respond_json(resp, 200, json_pack("{s:o}", "audit", arr));
}

/* ---- API tokens */

static json_t *token_json(const struct store_token *t)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)t->id, "name", t->name,
			 "user", t->user, "created_at", time_json(t->created_at), "last_used",
			 time_json(t->last_used));
}

void admin_api_token_list(struct admin_request *req, struct admin_response *resp)
{
	struct store_token *list = NULL;
	size_t n = 0;
	struct error err;
	json_t *arr;

	if (store_token_list(req->ctx->inst->store, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, token_json(&list[i]));
	store_token_list_free(list, n);
	admin_respond_json(resp, 200, json_pack("{s:o}", "tokens", arr));
}

static int valid_token_name(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (iscntrl((unsigned char)name[i]))
			return 0;
	return n >= 1 && n <= TOKEN_NAME_MAX;
}

static void create_token(struct admin_request *req, struct admin_response *resp,
			 const char *name)
{
	unsigned char raw[32];
	char token[sizeof(TOKEN_PREFIX) + 64], hash[65];
	struct store_token t = { 0, (char *)name, req->user, hash, 0, 0 };
	struct error err;
	json_t *o;

	randombytes_buf(raw, sizeof(raw));
	memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	sodium_bin2hex(token + sizeof(TOKEN_PREFIX) - 1, 65, raw, sizeof(raw));
	admin_auth_hash_hex(token, strlen(token), hash);
	if (store_token_create(req->ctx->inst->store, &t, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
	} else {
		/* the only time the token itself is shown */
		o = token_json(&t);
		json_object_set_new(o, "token", json_string(token));
		admin_respond_json(resp, 201, o);
	}
	secret_wipe(raw, sizeof(raw));
	secret_wipe(token, sizeof(token));
}

void admin_api_token_create(struct admin_request *req, struct admin_response *resp)
{
	static const struct json_body_field fields[] = { { "name", JSON_BODY_STRING, 1 } };
	struct json_body_error e;
	json_t *root = json_body_object(req->body, req->body_len, fields, 1, &e);

	if (root == NULL) {
		admin_respond_fail(resp, &e.err, e.field);
		return;
	}
	if (!valid_token_name(json_body_string(root, "name")))
		admin_respond_error(resp, 400, "invalid_value", "name",
				    "A token name has 1 to %d characters and no control "
				    "characters.", TOKEN_NAME_MAX);
	else
		create_token(req, resp, json_body_string(root, "name"));
	json_body_free(root);
}

void admin_api_token_delete(struct admin_request *req, struct admin_response *resp)
{
	struct error err;

	if (store_token_delete(req->ctx->inst->store, req->id, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_respond_data(resp, 204, NULL, NULL, 0);
}
