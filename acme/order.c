/* One ACME order (RFC 8555 section 7.4) as a state machine: each step is a
 * request function and a response function, driven from the control
 * thread's loop. Signed POSTs get a nonce first when none is saved and are
 * re-signed and re-sent on badNonce, up to a limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme/client_internal.h"
#include "acme/jws.h"
#include "common/log.h"
#include "crypto/cert.h"
#include "gateway/challenge.h"

#define JOSE           "application/jose+json"
#define PEM_CHAIN      "application/pem-certificate-chain"
#define MAX_ALTERNATES 4

/* ---- names of a record */

void acme_names_free(char **names, size_t n)
{
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

size_t acme_record_names(const struct store_cert *rec, char ***names)
{
	json_t *extra = json_loads(rec->extra_sans ? rec->extra_sans : "[]", 0, NULL), *v;
	size_t n = 0, i;
	char **out;

	*names = NULL;
	if (!json_is_array(extra) ||
	    (out = calloc(json_array_size(extra) + 1, sizeof(*out))) == NULL) {
		json_decref(extra);
		return 0;
	}
	if ((out[n++] = strdup(rec->domain)) == NULL)
		goto fail;
	json_array_foreach(extra, i, v)
	{
		if (!json_is_string(v) || (out[n++] = strdup(json_string_value(v))) == NULL)
			goto fail;
	}
	json_decref(extra);
	*names = out;
	return n;
fail:
	json_decref(extra);
	acme_names_free(out, n);
	return 0;
}

/* ---- driving the steps */

static void withdraw_tokens(struct acme_job *j)
{
	for (size_t i = 0; i < j->n_authz; i++)
		if (j->authz[i].published) {
			challenge_remove(j->authz[i].token);
			j->authz[i].published = 0;
		}
}

void acme_job_fail(struct acme_job *j, const char *type, long long retry_after, const char *fmt,
                   ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	withdraw_tokens(j);
	log_warn("acme: certificate %lld: %s failed: %s: %s", j->cert_id, acme_steps[j->step].name,
	         type, detail);
	acme_client_job_failed(j->c, j, type, detail, retry_after);
}

void acme_job_fail_response(struct acme_job *j, const struct https_response *resp)
{
	char *ra = https_response_header(resp, "Retry-After");
	long long retry_after = acme_policy_retry_after(ra, time(NULL));
	struct acme_problem p;

	free(ra);
	if (resp->status >= 400 && acme_problem_parse(resp->body, resp->body_len, &p, NULL) == 0 &&
	    strcmp(p.type, "about:blank") != 0) {
		acme_job_fail(j, p.type, retry_after, "%s", p.detail[0] ? p.detail : "(no detail)");
		acme_problem_free(&p);
		return;
	}
	acme_job_fail(j, "acme_response", retry_after, "the ACME server answered HTTP %d to %s",
	              resp->status, acme_steps[j->step].name);
}

void acme_job_go(struct acme_job *j, enum acme_step step)
{
	struct timeval now = {0, 0};

	if (step != j->step)
		log_debug("acme: certificate %lld: %s", j->cert_id, acme_steps[step].name);
	j->step = step;
	j->poll_ms = ACME_POLL_FIRST_MS;
	j->poll_until = time(NULL) + ACME_POLL_LIMIT_S;
	event_add(j->timer, &now);
}

void acme_job_poll_later(struct acme_job *j, const struct https_response *resp, const char *what)
{
	char *ra = https_response_header(resp, "Retry-After");
	long long secs = acme_policy_retry_after(ra, time(NULL));
	struct timeval tv;

	free(ra);
	if (time(NULL) >= j->poll_until) {
		acme_job_fail(j, "acme_timeout", -1, "%s stayed pending for %d seconds", what,
		              ACME_POLL_LIMIT_S);
		return;
	}
	if (secs >= 0) {
		tv.tv_sec = secs > ACME_RETRY_AFTER_MAX_S ? ACME_RETRY_AFTER_MAX_S : secs;
		tv.tv_usec = 0;
	} else {
		tv.tv_sec = j->poll_ms / 1000;
		tv.tv_usec = (j->poll_ms % 1000) * 1000;
		j->poll_ms = j->poll_ms * 2 > ACME_POLL_MAX_MS ? ACME_POLL_MAX_MS : j->poll_ms * 2;
	}
	event_add(j->timer, &tv);
}

static void acme_job_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct acme_job *j = arg;

	(void)fd;
	(void)what;
	acme_steps[j->step].request(j);
}

static void take_nonce(struct acme_client *c, const struct https_response *resp)
{
	char *n = https_response_header(resp, "Replay-Nonce");

	if (n != NULL && n[0] != '\0') {
		free(c->nonce);
		c->nonce = n;
	} else {
		free(n);
	}
}

static int is_problem(const struct https_response *resp, const char *short_type,
                      struct acme_problem *p)
{
	if (resp->status < 400 || acme_problem_parse(resp->body, resp->body_len, p, NULL) != 0)
		return 0;
	if (strcmp(acme_problem_short(p->type), short_type) == 0)
		return 1;
	acme_problem_free(p);
	return 0;
}

static void send_post(struct acme_job *j);

/* Handle what every response shares (nonce, badNonce, a forgotten
 * account), then hand it to the step. */
static void acme_job_on_response(void *arg, const struct https_response *resp,
                                 const struct error *err)
{
	struct acme_job *j = arg;
	struct acme_problem p;

	j->req = NULL;
	if (resp == NULL) {
		acme_job_fail(j, err->code, -1, "%s", err->message);
		return;
	}
	take_nonce(j->c, resp);
	if (j->posting && is_problem(resp, "badNonce", &p)) {
		acme_problem_free(&p);
		if (j->bad_nonces++ < ACME_BAD_NONCE_RETRIES) {
			log_debug("acme: certificate %lld: badNonce, retrying", j->cert_id);
			send_post(j);
			return;
		}
		acme_job_fail(
		    j, ACME_ERROR_PREFIX "badNonce", -1,
		    "the ACME server refused %u fresh nonces in a row; giving up this attempt",
		    j->bad_nonces);
		return;
	}
	if (j->posting && !j->post_jwk && !j->reregistered &&
	    is_problem(resp, "accountDoesNotExist", &p)) {
		acme_problem_free(&p);
		log_warn("acme: the ACME server no longer knows account %s; registering again",
		         j->c->kid);
		free(j->c->kid);
		j->c->kid = NULL;
		j->reregistered = 1;
		acme_job_go(j, ACME_STEP_ACCOUNT);
		return;
	}
	acme_steps[j->step].response(j, resp);
}

static void request(struct acme_job *j, const char *method, const char *url, const char *accept,
                    const char *body, https_client_cb cb)
{
	struct error err;

	j->req = https_client_request(j->c->http, method, url, accept, body ? JOSE : NULL, body,
	                              body ? strlen(body) : 0, cb, j, &err);
	if (j->req == NULL)
		acme_job_fail(j, err.code, -1, "%s", err.message);
}

static void acme_job_on_nonce(void *arg, const struct https_response *resp, const struct error *err)
{
	struct acme_job *j = arg;

	j->req = NULL;
	if (resp == NULL) {
		acme_job_fail(j, err->code, -1, "%s", err->message);
		return;
	}
	take_nonce(j->c, resp);
	if (j->c->nonce == NULL)
		acme_job_fail(j, "acme_response", -1, "newNonce gave no Replay-Nonce (HTTP %d)",
		              resp->status);
	else
		send_post(j);
}

/* Sign and send the saved POST; fetch a nonce first when none is saved. */
static void send_post(struct acme_job *j)
{
	struct acme_client *c = j->c;
	struct error err;
	char *jws;

	if (c->nonce == NULL) {
		request(j, "HEAD", c->dir.new_nonce, NULL, NULL, acme_job_on_nonce);
		return;
	}
	jws = jws_sign(c->account_key, j->post_url, c->nonce, j->post_jwk ? NULL : c->kid,
	               j->post_payload, &err);
	free(c->nonce); /* a nonce is good for one request */
	c->nonce = NULL;
	if (jws == NULL) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	request(j, "POST", j->post_url, j->post_accept, jws, acme_job_on_response);
	free(jws);
}

void acme_job_post(struct acme_job *j, const char *url, const char *payload, const char *accept,
                   int use_jwk)
{
	free(j->post_url);
	free(j->post_payload);
	j->post_url = strdup(url);
	j->post_payload = payload ? strdup(payload) : NULL;
	j->post_accept = accept;
	j->post_jwk = use_jwk;
	j->posting = 1;
	j->bad_nonces = 0;
	if (j->post_url == NULL || (payload != NULL && j->post_payload == NULL)) {
		acme_job_fail(j, "internal", -1, "out of memory");
		return;
	}
	send_post(j);
}

void acme_job_post_json(struct acme_job *j, const char *url, json_t *payload, int use_jwk)
{
	char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;

	json_decref(payload);
	if (text == NULL) {
		acme_job_fail(j, "internal", -1, "out of memory");
		return;
	}
	acme_job_post(j, url, text, NULL, use_jwk);
	free(text);
}

void acme_job_get(struct acme_job *j, const char *method, const char *url)
{
	j->posting = 0;
	request(j, method, url, "application/json", NULL, acme_job_on_response);
}

/* ---- the job */

/* The ARI identifier of the certificate rec holds (RFC 9773 "replaces"),
 * NULL when it holds none. */
static char *renewed_id(const struct store_cert *rec)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	char *id = NULL;

	if (rec->chain_pem != NULL &&
	    cert_codec_parse_chain(rec->chain_pem, strlen(rec->chain_pem), &leaf, &chain) == 0)
		id = acme_policy_ari_cert_id(leaf);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return id;
}

struct acme_job *acme_job_new(struct acme_client *c, const struct store_cert *rec)
{
	struct acme_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->c = c;
	j->cert_id = rec->id;
	j->n_names = acme_record_names(rec, &j->names);
	j->timer = evtimer_new(c->base, acme_job_on_timer, j);
	j->replaces = renewed_id(rec);
	if (j->n_names == 0 || j->timer == NULL) {
		acme_job_free(j);
		return NULL;
	}
	return j;
}

void acme_job_start(struct acme_job *j)
{
	log_info("acme: certificate %lld: ordering %s%s from %s", j->cert_id, j->names[0],
	         j->n_names > 1 ? " and more names" : "", j->c->inst->cfg.acme_directory_url);
	j->step = ACME_STEP_MAX; /* so the first step is logged */
	acme_job_go(j, ACME_STEP_DIRECTORY);
}

long long acme_job_cert_id(const struct acme_job *j)
{
	return j->cert_id;
}

void acme_job_forget_order(struct acme_job *j)
{
	withdraw_tokens(j);
	for (size_t i = 0; i < j->n_authz; i++) {
		free(j->authz[i].url);
		free(j->authz[i].name);
		free(j->authz[i].challenge_url);
		free(j->authz[i].token);
	}
	free(j->authz);
	j->authz = NULL;
	j->n_authz = 0;
	j->cursor = 0;
	acme_order_free(&j->order);
	free(j->order_url);
	j->order_url = NULL;
	EVP_PKEY_free(j->cert_key);
	j->cert_key = NULL;
}

void acme_job_free(struct acme_job *j)
{
	if (j == NULL)
		return;
	acme_job_forget_order(j);
	https_request_cancel(j->req);
	if (j->timer != NULL)
		event_free(j->timer);
	free(j->post_url);
	free(j->post_payload);
	free(j->replaces);
	acme_names_free(j->names, j->n_names);
	free(j);
}
