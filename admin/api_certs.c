/* /api/v1/certificates and /api/v1/test-ca.pem: the certificate records
 * through cert_manager (the same path as the CLI), printed as SPEC's CERT
 * objects. Every change is published to the gateway before answering. */
#include "admin/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/cert.h"
#include "gateway/cert_manager.h"
#include "gateway/model_json.h"

static void respond_cert(struct admin_request *req, struct admin_response *resp, long long id,
			 int status)
{
	struct cert_view v;
	struct error err;

	if (cert_manager_get(req->ctx->inst, id, &v, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_respond_json(resp, status, model_cert_json(&v));
	cert_view_free(&v);
}

/* The request field an upload error concerns: the validation messages
 * name it ("The private_key field ..."); key errors concern the key. */
static const char *upload_field(const struct error *err)
{
	const char *m = err->message;

	if (strcmp(err->code, "invalid_domain") == 0)
		return "domain";
	if (strcmp(err->code, "key_mismatch") == 0 || strcmp(err->code, "encrypted_key") == 0)
		return "private_key";
	if (strstr(m, "ca_certificate field") != NULL)
		return "ca_certificate";
	if (strstr(m, "private_key field") != NULL)
		return "private_key";
	if (strstr(m, "certificate field") != NULL || strstr(m, "certificate's") != NULL)
		return "certificate";
	if (strcmp(err->code, "unsupported_key") == 0)
		return "private_key";
	if (strcmp(err->code, "chain_mismatch") == 0)
		return "ca_certificate";
	return NULL;
}

static void respond_body_error(struct admin_response *resp, const struct json_body_error *e)
{
	admin_respond_fail(resp, &e->err, e->field);
}

void admin_api_cert_list(struct admin_request *req, struct admin_response *resp)
{
	struct cert_view *list = NULL;
	size_t n = 0;
	struct error err;
	json_t *arr;

	if (cert_manager_list(req->ctx->inst, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, model_cert_json(&list[i]));
	cert_view_list_free(list, n);
	admin_respond_json(resp, 200, json_pack("{s:o}", "certificates", arr));
}

void admin_api_cert_create(struct admin_request *req, struct admin_response *resp)
{
	struct instance *inst = req->ctx->inst;
	struct json_body_cert b;
	struct json_body_error e;
	struct error err;
	long long id = 0;
	int rc, acme;

	if (json_body_cert_decode(req->body, req->body_len, 0, &b, &e) != 0) {
		respond_body_error(resp, &e);
		return;
	}
	acme = strcmp(b.source, "acme") == 0;
	if (strcmp(b.source, "user") == 0)
		rc = cert_manager_import(inst, b.domain, b.certificate, b.private_key,
					 b.ca_certificate, &req->actor, &id, &err);
	else if (acme)
		rc = cert_manager_create_acme(inst, b.domain, b.sans, b.n_sans, &req->actor, &id,
					      &err);
	else
		rc = cert_manager_selfsign(inst, b.domain, b.sans, b.n_sans, &req->actor, &id,
					   &err);
	json_body_cert_free(&b);
	if (rc != 0) {
		admin_respond_fail(resp, &err, upload_field(&err));
		return;
	}
	admin_apply_changes(req);
	respond_cert(req, resp, id, acme ? 202 : 201);
}

void admin_api_cert_get(struct admin_request *req, struct admin_response *resp)
{
	respond_cert(req, resp, req->id, 200);
}

/* A PUT may repeat the record's domain and source, not change them. */
static int check_unchanged(struct admin_request *req, struct admin_response *resp,
			   const struct json_body_cert *b)
{
	struct store_cert rec;
	struct error err;
	int rc = 0;

	if (store_cert_get(req->ctx->inst->store, req->id, &rec, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return -1;
	}
	if (b->source != NULL && strcmp(b->source, rec.source) != 0) {
		admin_respond_error(resp, 400, "invalid_value", "source",
				    "The source of a certificate cannot change; delete it and "
				    "create a new one.");
		rc = -1;
	} else if (b->domain != NULL && strcasecmp(b->domain, rec.domain) != 0) {
		admin_respond_error(resp, 400, "invalid_value", "domain",
				    "The domain of a certificate cannot change; create a new "
				    "certificate for %s.", rec.domain);
		rc = -1;
	}
	store_cert_free(&rec);
	return rc;
}

void admin_api_cert_replace(struct admin_request *req, struct admin_response *resp)
{
	struct json_body_cert b;
	struct json_body_error e;
	struct error err;
	int rc;

	if (json_body_cert_decode(req->body, req->body_len, 1, &b, &e) != 0) {
		respond_body_error(resp, &e);
		return;
	}
	if (check_unchanged(req, resp, &b) != 0) {
		json_body_cert_free(&b);
		return;
	}
	rc = cert_manager_replace(req->ctx->inst, req->id, b.certificate, b.private_key,
				  b.ca_certificate, &req->actor, &err);
	json_body_cert_free(&b);
	if (rc != 0) {
		admin_respond_fail(resp, &err, upload_field(&err));
		return;
	}
	admin_apply_changes(req);
	respond_cert(req, resp, req->id, 200);
}

void admin_api_cert_delete(struct admin_request *req, struct admin_response *resp)
{
	struct error err;

	if (cert_manager_delete(req->ctx->inst, req->id, &req->actor, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_apply_changes(req);
	admin_respond_data(resp, 204, NULL, NULL, 0);
}

/* A PEM download named after the domain ("*" is not for file names). */
static void respond_pem(struct admin_response *resp, const char *name, const char *pem)
{
	char file[300];

	snprintf(file, sizeof(file), "%s", name);
	for (char *p = file; *p; p++)
		if (*p == '*')
			*p = '_';
	admin_header_add(resp, "Content-Disposition: attachment; filename=\"%s\"", file);
	admin_respond_data(resp, 200, "application/x-pem-file", pem, strlen(pem));
}

void admin_api_cert_chain(struct admin_request *req, struct admin_response *resp)
{
	struct store_cert rec;
	struct error err;
	char name[300];

	if (store_cert_get(req->ctx->inst->store, req->id, &rec, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	if (rec.chain_pem == NULL) {
		admin_respond_error(resp, 409, "not_ready", NULL,
				    "Certificate %lld has no certificate yet (its ACME order is "
				    "not complete).",
				    rec.id);
	} else {
		snprintf(name, sizeof(name), "%s.chain.pem", rec.domain);
		respond_pem(resp, name, rec.chain_pem);
	}
	store_cert_free(&rec);
}

void admin_api_cert_renew(struct admin_request *req, struct admin_response *resp)
{
	struct store *st = req->ctx->inst->store;
	struct store_cert rec;
	struct error err;
	char detail[320], target[48];

	if (store_cert_get(st, req->id, &rec, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	if (strcmp(rec.source, "acme") != 0) {
		admin_respond_error(resp, 409, "not_acme", NULL,
				    "Certificate %lld is %s; only Let's Encrypt (ACME) "
				    "certificates are renewed by postern. Replace it instead.",
				    rec.id, model_source_label(rec.source));
	} else if (store_cert_set_state(st, rec.id, "pending", "renewal requested",
					(long long)time(NULL), rec.last_error, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
	} else {
		snprintf(target, sizeof(target), "certificate/%lld", rec.id);
		snprintf(detail, sizeof(detail), "renewal of the certificate for %s requested",
			 rec.domain);
		store_audit_add(st, &req->actor, "certificate.renew", target, detail, NULL);
		admin_apply_changes(req);
		respond_cert(req, resp, rec.id, 202);
	}
	store_cert_free(&rec);
}

void admin_api_test_ca(struct admin_request *req, struct admin_response *resp)
{
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;
	struct error err;
	char *pem;

	if (cert_manager_test_ca(req->ctx->inst, &ca, &key, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	pem = cert_codec_cert_pem(ca);
	X509_free(ca);
	EVP_PKEY_free(key);
	if (pem == NULL) {
		admin_respond_error(resp, 500, "internal", NULL, "Cannot encode the test CA.");
		return;
	}
	respond_pem(resp, "postern-test-ca.pem", pem);
	free(pem);
}
