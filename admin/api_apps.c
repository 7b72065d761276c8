/* /api/v1/applications: validation through app_manager (the CLI's path),
 * objects as SPEC section 5 prints them, with the certificate that serves
 * each application's first domain now. */
#include "admin/admin_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/app_manager.h"
#include "gateway/cert_manager.h"
#include "gateway/model_json.h"

/* Every certificate with its status, for certificate_id. */
struct cert_set {
	struct cert_view *list;
	size_t n;
};

static int certs_load(struct admin_request *req, struct cert_set *cs, struct error *err)
{
	return cert_manager_list(req->ctx->inst, &cs->list, &cs->n, err);
}

static json_t *app_json(const struct store_app *a, const struct cert_set *cs)
{
	long long cert = a->n_domains ? app_manager_certificate_for(cs->list, cs->n,
								   a->domains[0], time(NULL))
				      : 0;

	return model_app_json(a, cert);
}

/* The request field an application error concerns, from its message. */
static const char *app_field(const struct error *err)
{
	static const struct {
		const char *word, *field;
	} words[] = {
		{ "backend", "backends" },     { "domain", "domains" },
		{ "balance", "balance" },      { "client_ip_header", "client_ip_header" },
		{ "health check", "health_check" }, { "name", "name" },
	};

	if (strcmp(err->code, "invalid_application") != 0 && strcmp(err->code, "conflict") != 0 &&
	    strcmp(err->code, "invalid_domain") != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(err->message, words[i].word) != NULL)
			return words[i].field;
	return NULL;
}

/* Answer with application a as stored now. */
static void respond_app(struct admin_request *req, struct admin_response *resp,
			const struct store_app *a, int status)
{
	struct cert_set cs = { NULL, 0 };
	struct error err;

	if (certs_load(req, &cs, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_respond_json(resp, status, app_json(a, &cs));
	cert_view_list_free(cs.list, cs.n);
}

void admin_api_app_list(struct admin_request *req, struct admin_response *resp)
{
	struct store_app *apps = NULL;
	struct cert_set cs = { NULL, 0 };
	size_t n = 0;
	struct error err;
	json_t *arr;

	if (store_app_list(req->ctx->inst->store, &apps, &n, &err) != 0 ||
	    certs_load(req, &cs, &err) != 0) {
		store_app_list_free(apps, n);
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, app_json(&apps[i], &cs));
	store_app_list_free(apps, n);
	cert_view_list_free(cs.list, cs.n);
	admin_respond_json(resp, 200, json_pack("{s:o}", "applications", arr));
}

void admin_api_app_get(struct admin_request *req, struct admin_response *resp)
{
	struct store_app a;
	struct error err;

	if (store_app_get(req->ctx->inst->store, req->id, &a, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	respond_app(req, resp, &a, 200);
	store_app_free(&a);
}

static int decode(struct admin_request *req, struct admin_response *resp, struct store_app *a)
{
	struct json_body_error e;

	if (json_body_app_decode(req->body, req->body_len, a, &e) != 0) {
		admin_respond_fail(resp, &e.err, e.field);
		return -1;
	}
	return 0;
}

/* The firewall settings first: their errors name nested fields
 * ("rate_limit.requests", "ip_deny[3]") that the message cannot carry. */
static int check_options(struct admin_response *resp, struct store_app *a)
{
	struct error err;
	char field[96];

	if (app_manager_normalize_options(a, &err, field, sizeof(field)) != 0) {
		admin_respond_fail(resp, &err, field);
		return -1;
	}
	return 0;
}

void admin_api_app_create(struct admin_request *req, struct admin_response *resp)
{
	struct store_app a;
	struct error err;

	if (decode(req, resp, &a) != 0)
		return;
	if (check_options(resp, &a) != 0) {
		/* answered */
	} else if (app_manager_add(req->ctx->inst, &a, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, app_field(&err));
	} else {
		admin_apply_changes(req);
		respond_app(req, resp, &a, 201);
	}
	store_app_free(&a);
}

/* The stored settings with those the body carries put over them: a
 * setting the body leaves out keeps its value. */
static int options_keep(struct store_app *a, const char *stored)
{
	json_t *old = json_loads(stored ? stored : "{}", 0, NULL);
	json_t *given = json_loads(a->options_json ? a->options_json : "{}", 0, NULL);
	char *text = NULL;

	if (!json_is_object(old)) {
		json_decref(old);
		old = json_object();
	}
	if (old != NULL && given != NULL && json_object_update(old, given) == 0)
		text = json_dumps(old, JSON_COMPACT);
	json_decref(old);
	json_decref(given);
	if (text == NULL)
		return -1;
	free(a->options_json);
	a->options_json = text;
	return 0;
}

void admin_api_app_replace(struct admin_request *req, struct admin_response *resp)
{
	struct store_app a, old;
	struct error err;
	int rc;

	if (store_app_get(req->ctx->inst->store, req->id, &old, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	if (decode(req, resp, &a) != 0) {
		store_app_free(&old);
		return;
	}
	a.id = req->id;
	rc = options_keep(&a, old.options_json);
	store_app_free(&old);
	if (rc != 0) {
		admin_respond_error(resp, 500, "internal", NULL, "Out of memory.");
	} else if (check_options(resp, &a) != 0) {
		/* answered */
	} else if (app_manager_update(req->ctx->inst, &a, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, app_field(&err));
	} else {
		admin_apply_changes(req);
		respond_app(req, resp, &a, 200);
	}
	store_app_free(&a);
}

void admin_api_app_delete(struct admin_request *req, struct admin_response *resp)
{
	struct error err;

	if (app_manager_delete(req->ctx->inst, req->id, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_apply_changes(req);
	admin_respond_data(resp, 204, NULL, NULL, 0);
}
