/* The steps of an ACME order (RFC 8555 section 7), one request/response
 * function pair each, as HAProxy's acme.c does it. A response function
 * either moves on (acme_job_go), polls (acme_job_poll_later), ends the
 * order (acme_job_fail*, acme_client_job_done) or re-sends; after ending
 * the order it touches nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acme/client_internal.h"
#include "acme/jws.h"
#include "common/log.h"
#include "crypto/cert.h"
#include "crypto/secret.h"
#include "gateway/challenge.h"

#define PEM_CHAIN      "application/pem-certificate-chain"
#define MAX_ALTERNATES 4

/* ---- directory */

static void req_directory(struct acme_job *j)
{
	acme_job_get(j, "GET", j->c->inst->cfg.acme_directory_url);
}

static void res_directory(struct acme_job *j, const struct https_response *resp)
{
	struct acme_directory dir;
	struct error err;

	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_directory_parse(resp->body, resp->body_len, &dir, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	acme_directory_free(&j->c->dir);
	j->c->dir = dir;
	j->c->dir_fetched = time(NULL);
	acme_job_go(j, j->c->nonce ? ACME_STEP_ACCOUNT : ACME_STEP_NONCE);
}

/* ---- newNonce */

static void req_nonce(struct acme_job *j)
{
	acme_job_get(j, "HEAD", j->c->dir.new_nonce);
}

static void res_nonce(struct acme_job *j, const struct https_response *resp)
{
	if (j->c->nonce == NULL) { /* taken from the reply before this runs */
		acme_job_fail(j, "acme_response", -1, "newNonce gave no Replay-Nonce (HTTP %d)",
		              resp->status);
		return;
	}
	acme_job_go(j, ACME_STEP_ACCOUNT);
}

/* ---- newAccount (RFC 8555 section 7.3) */

static void req_account(struct acme_job *j)
{
	const char *email = j->c->inst->cfg.acme_email;
	json_t *payload;
	char contact[320];

	if (j->c->kid != NULL) { /* registered before: reuse the account */
		acme_job_go(j, ACME_STEP_ORDER);
		return;
	}
	payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (payload != NULL && email != NULL && email[0] != '\0') {
		snprintf(contact, sizeof(contact), "mailto:%s", email);
		json_object_set_new(payload, "contact", json_pack("[s]", contact));
	}
	acme_job_post_json(j, j->c->dir.new_account, payload, 1);
}

static void res_account(struct acme_job *j, const struct https_response *resp)
{
	struct acme_account acct;
	struct error err;
	char *location;

	if (resp->status != 200 && resp->status != 201) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_account_parse(resp->body, resp->body_len, &acct, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	location = https_response_header(resp, "Location");
	if (acct.status != ACME_STATUS_VALID || location == NULL) {
		acme_job_fail(j, "acme_response", -1, "the new account is %s%s",
		              acme_status_name(acct.status),
		              location ? "" : " and has no Location");
		acme_account_free(&acct);
		free(location);
		return;
	}
	acme_account_free(&acct);
	free(j->c->kid);
	j->c->kid = location;
	log_info("acme: account %s %s", location, resp->status == 201 ? "registered" : "found");
	acme_client_save_account(j->c);
	acme_job_go(j, ACME_STEP_ORDER);
}

/* ---- newOrder (section 7.4) */

static void req_order(struct acme_job *j)
{
	json_t *ids = json_array(), *payload;

	acme_job_forget_order(j); /* an account registered again restarts here */
	for (size_t i = 0; i < j->n_names; i++)
		json_array_append_new(ids,
		                      json_pack("{s:s, s:s}", "type", "dns", "value", j->names[i]));
	payload = json_pack("{s:o}", "identifiers", ids);
	/* a renewal names the certificate it replaces when the server has ARI */
	j->replaces_sent = j->replaces != NULL && j->c->dir.renewal_info != NULL;
	if (payload != NULL && j->replaces_sent)
		json_object_set_new(payload, "replaces", json_string(j->replaces));
	acme_job_post_json(j, j->c->dir.new_order, payload, 0);
}

/* Every name ordered is in the order, and nothing else. */
static int same_names(const struct acme_job *j, const struct acme_order *o)
{
	if (o->n_identifiers != j->n_names)
		return 0;
	for (size_t i = 0; i < j->n_names; i++) {
		size_t k = 0;

		while (k < o->n_identifiers &&
		       strcasecmp(o->identifiers[k].value, j->names[i]) != 0)
			k++;
		if (k == o->n_identifiers)
			return 0;
	}
	return 1;
}

static int keep_authzs(struct acme_job *j)
{
	j->authz = calloc(j->order.n_authorizations + 1, sizeof(*j->authz));
	if (j->authz == NULL)
		return -1;
	for (size_t i = 0; i < j->order.n_authorizations; i++) {
		if ((j->authz[i].url = strdup(j->order.authorizations[i])) == NULL)
			return -1;
		j->n_authz = i + 1;
	}
	return 0;
}

/* Go on from an order object: its status says where. */
static void follow_order(struct acme_job *j, const char *what)
{
	const struct acme_problem *e = j->order.error;

	switch (j->order.status) {
	case ACME_STATUS_READY:
		acme_job_go(j, ACME_STEP_FINALIZE);
		break;
	case ACME_STATUS_VALID:
		acme_job_go(j, ACME_STEP_CERTIFICATE);
		break;
	case ACME_STATUS_INVALID:
		acme_job_fail(j, e ? e->type : "acme_order_invalid", -1, "%s",
		              e ? e->detail : "the order became invalid");
		break;
	default:
		acme_job_fail(j, "acme_response", -1, "unexpected order status %s after %s",
		              acme_status_name(j->order.status), what);
		break;
	}
}

static void res_order(struct acme_job *j, const struct https_response *resp)
{
	struct error err;

	if (resp->status != 201 && j->replaces_sent) {
		/* e.g. alreadyReplaced: the renewal must not depend on ARI */
		log_warn("acme: certificate %lld: newOrder with \"replaces\" refused (HTTP %d); "
		         "ordering without it",
		         j->cert_id, resp->status);
		free(j->replaces);
		j->replaces = NULL;
		acme_job_go(j, ACME_STEP_ORDER);
		return;
	}
	if (resp->status != 201) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_order_parse(resp->body, resp->body_len, &j->order, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	if ((j->order_url = https_response_header(resp, "Location")) == NULL ||
	    !same_names(j, &j->order) || keep_authzs(j) != 0) {
		acme_job_fail(j, "acme_response", -1,
		              "the new order has no Location or not the names asked for");
		return;
	}
	log_info("acme: certificate %lld: order %s (%s)", j->cert_id, j->order_url,
	         acme_status_name(j->order.status));
	j->cursor = 0;
	if (j->order.status == ACME_STATUS_PENDING)
		acme_job_go(j, j->n_authz ? ACME_STEP_AUTHZ : ACME_STEP_POLL_ORDER);
	else
		follow_order(j, "newOrder");
}

/* ---- authorizations (section 7.5): publish each HTTP-01 answer */

static void req_authz(struct acme_job *j)
{
	acme_job_post(j, j->authz[j->cursor].url, NULL, NULL, 0);
}

static int ordered_name(const struct acme_job *j, const char *name)
{
	for (size_t i = 0; i < j->n_names; i++)
		if (strcasecmp(j->names[i], name) == 0)
			return 1;
	return 0;
}

/* Put the key authorization of authz a's http-01 challenge in the table
 * every worker answers from, before the server is told to validate. */
static int publish(struct acme_job *j, struct acme_job_authz *a, const struct acme_challenge *ch)
{
	char *answer = jws_key_authorization(ch->token, j->c->account_key);
	int rc = -1;

	if (answer != NULL && (a->token = strdup(ch->token)) != NULL &&
	    (a->challenge_url = strdup(ch->url)) != NULL && challenge_put(a->token, answer) == 0) {
		a->published = 1;
		rc = 0;
		log_debug("acme: certificate %lld: answer for %s published", j->cert_id, a->name);
	}
	free(answer);
	return rc;
}

/* Record what authorization az says: valid already, or pending with an
 * http-01 challenge whose answer is published now. -1 when the order
 * failed (j is freed). */
static int take_authz(struct acme_job *j, struct acme_job_authz *a, const struct acme_authz *az)
{
	const struct acme_challenge *ch = acme_authz_challenge(az, "http-01");
	const char *name = az->identifier.value;

	if (!ordered_name(j, name) || (a->name = strdup(name)) == NULL) {
		acme_job_fail(j, "acme_response", -1, "an authorization is for %s, not ordered",
		              name);
		return -1;
	}
	if (az->status == ACME_STATUS_VALID) {
		a->done = 1; /* validated earlier (authorization reuse) */
		return 0;
	}
	if (az->status != ACME_STATUS_PENDING)
		acme_job_fail(j, "acme_authorization", -1, "the authorization for %s is %s", name,
		              acme_status_name(az->status));
	else if (ch == NULL)
		acme_job_fail(j, ACME_ERROR_PREFIX "unsupportedIdentifier", -1,
		              "the ACME server offers no http-01 challenge for %s (wildcard names "
		              "need DNS-01, which postern does not do)",
		              name);
	else if (publish(j, a, ch) != 0)
		acme_job_fail(j, "internal", -1, "cannot publish the HTTP-01 answer for %s", name);
	else
		return 0;
	return -1;
}

static void res_authz(struct acme_job *j, const struct https_response *resp)
{
	struct acme_authz az;
	struct error err;
	int rc;

	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_authz_parse(resp->body, resp->body_len, &az, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	rc = take_authz(j, &j->authz[j->cursor], &az);
	acme_authz_free(&az);
	if (rc != 0)
		return;
	if (++j->cursor < j->n_authz) {
		acme_job_go(j, ACME_STEP_AUTHZ);
	} else {
		j->cursor = 0;
		acme_job_go(j, ACME_STEP_CHALLENGE);
	}
}

/* ---- challenges (section 7.5.1): tell the server to validate */

/* The next authorization from the cursor still pending, or n_authz. */
static size_t next_pending(struct acme_job *j)
{
	while (j->cursor < j->n_authz && j->authz[j->cursor].done)
		j->cursor++;
	return j->cursor;
}

static void req_challenge(struct acme_job *j)
{
	if (next_pending(j) == j->n_authz) {
		j->cursor = 0;
		acme_job_go(j, ACME_STEP_POLL_AUTHZ);
		return;
	}
	acme_job_post(j, j->authz[j->cursor].challenge_url, "{}", NULL, 0);
}

static void res_challenge(struct acme_job *j, const struct https_response *resp)
{
	struct acme_challenge ch;
	struct error err;

	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_challenge_parse(resp->body, resp->body_len, &ch, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	acme_challenge_free(&ch);
	j->cursor++;
	acme_job_go(j, ACME_STEP_CHALLENGE);
}

/* ---- polling the authorizations */

static void req_poll_authz(struct acme_job *j)
{
	if (next_pending(j) == j->n_authz) {
		acme_job_go(j, ACME_STEP_FINALIZE);
		return;
	}
	acme_job_post(j, j->authz[j->cursor].url, NULL, NULL, 0);
}

/* The authorization failed: report its http-01 challenge's problem. */
static void authz_failed(struct acme_job *j, const struct acme_authz *az)
{
	const struct acme_challenge *ch = acme_authz_challenge(az, "http-01");
	const struct acme_problem *e = ch ? ch->error : NULL;

	if (e != NULL)
		acme_job_fail(j, e->type, -1, "%s", e->detail);
	else
		acme_job_fail(j, "acme_authorization", -1, "the authorization for %s is %s",
		              az->identifier.value, acme_status_name(az->status));
}

static void res_poll_authz(struct acme_job *j, const struct https_response *resp)
{
	struct acme_job_authz *a = &j->authz[j->cursor];
	struct acme_authz az;
	struct error err;

	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return;
	}
	if (acme_authz_parse(resp->body, resp->body_len, &az, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	if (az.status == ACME_STATUS_PENDING) {
		acme_authz_free(&az);
		acme_job_poll_later(j, resp, "the authorization");
		return;
	}
	if (a->published) { /* it left pending: the answer is not needed any more */
		challenge_remove(a->token);
		a->published = 0;
	}
	if (az.status != ACME_STATUS_VALID) {
		authz_failed(j, &az);
		acme_authz_free(&az);
		return;
	}
	acme_authz_free(&az);
	a->done = 1;
	log_debug("acme: certificate %lld: %s validated", j->cert_id, a->name);
	acme_job_go(j, ACME_STEP_POLL_AUTHZ);
}

/* ---- finalize (section 7.4) with a CSR for a fresh P-256 key */

static void req_finalize(struct acme_job *j)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct error err;
	char *csr;

	EVP_PKEY_free(j->cert_key);
	j->cert_key = NULL;
	if (cert_issue_csr((const char *const *)j->names, j->n_names, &j->cert_key, &der, &der_len,
	                   &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	csr = jws_b64url_encode(der, der_len);
	free(der);
	if (csr == NULL) {
		acme_job_fail(j, "internal", -1, "out of memory");
		return;
	}
	acme_job_post_json(j, j->order.finalize, json_pack("{s:s}", "csr", csr), 0);
	free(csr);
}

/* Replace the order kept in j with the one in resp. */
static int refresh_order(struct acme_job *j, const struct https_response *resp)
{
	struct acme_order o;
	struct error err;

	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return -1;
	}
	if (acme_order_parse(resp->body, resp->body_len, &o, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return -1;
	}
	acme_order_free(&j->order);
	j->order = o;
	return 0;
}

static void res_finalize(struct acme_job *j, const struct https_response *resp)
{
	if (refresh_order(j, resp) != 0)
		return;
	if (j->order.status == ACME_STATUS_PROCESSING || j->order.status == ACME_STATUS_READY)
		acme_job_go(j, ACME_STEP_POLL_ORDER);
	else
		follow_order(j, "finalize");
}

/* ---- polling the order */

static void req_poll_order(struct acme_job *j)
{
	acme_job_post(j, j->order_url, NULL, NULL, 0);
}

static void res_poll_order(struct acme_job *j, const struct https_response *resp)
{
	if (refresh_order(j, resp) != 0)
		return;
	if (j->order.status == ACME_STATUS_PROCESSING || j->order.status == ACME_STATUS_PENDING)
		acme_job_poll_later(j, resp, "the order");
	else if (j->order.status == ACME_STATUS_READY && j->cert_key == NULL)
		acme_job_go(j, ACME_STEP_FINALIZE); /* every authorization was reused */
	else if (j->order.status == ACME_STATUS_READY)
		acme_job_poll_later(j, resp, "the order");
	else
		follow_order(j, "polling");
}

/* ---- the certificate (section 7.4.2) */

static void req_certificate(struct acme_job *j)
{
	acme_job_post(j, j->order.certificate, NULL, PEM_CHAIN, 0);
}

static void log_alternates(struct acme_job *j, const struct https_response *resp)
{
	char *urls[MAX_ALTERNATES];
	size_t n = 0;

	for (size_t i = 0; i < resp->head.n_headers && n < MAX_ALTERNATES; i++) {
		const struct http1_header *h = &resp->head.headers[i];

		if (h->name_len == 4 && strncasecmp(h->name, "Link", 4) == 0)
			n += acme_link_alternates(h->value, h->value_len, urls + n,
			                          MAX_ALTERNATES - n);
	}
	for (size_t i = 0; i < n; i++) {
		log_debug("acme: certificate %lld: alternate chain offered at %s (the default "
		          "chain is used)",
		          j->cert_id, urls[i]);
		free(urls[i]);
	}
}

static void res_certificate(struct acme_job *j, const struct https_response *resp)
{
	if (resp->status != 200) {
		acme_job_fail_response(j, resp);
		return;
	}
	log_alternates(j, resp);
	acme_client_job_done(j->c, j, resp->body, resp->body_len);
}

const struct acme_step_ops acme_steps[ACME_STEP_MAX] = {
    [ACME_STEP_DIRECTORY] = {"directory", req_directory, res_directory},
    [ACME_STEP_NONCE] = {"newNonce", req_nonce, res_nonce},
    [ACME_STEP_ACCOUNT] = {"newAccount", req_account, res_account},
    [ACME_STEP_ORDER] = {"newOrder", req_order, res_order},
    [ACME_STEP_AUTHZ] = {"authorization", req_authz, res_authz},
    [ACME_STEP_CHALLENGE] = {"challenge", req_challenge, res_challenge},
    [ACME_STEP_POLL_AUTHZ] = {"validation", req_poll_authz, res_poll_authz},
    [ACME_STEP_FINALIZE] = {"finalize", req_finalize, res_finalize},
    [ACME_STEP_POLL_ORDER] = {"order", req_poll_order, res_poll_order},
    [ACME_STEP_CERTIFICATE] = {"certificate", req_certificate, res_certificate},
};
