/* ACME Renewal Information (RFC 9773): for a certificate in service, ask
 * the server when to renew it (GET renewalInfo/<certID>, unauthenticated)
 * and pick a random time inside the suggested window. Only when the
 * directory offers renewalInfo; otherwise the 1/3-of-lifetime rule stands.
 * Two steps: the directory (when not fetched in the last day), then the
 * renewal information. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "acme/client_internal.h"
#include "common/log.h"
#include "crypto/cert.h"

#define DIRECTORY_MAX_AGE 86400

struct acme_ari {
	struct acme_client *c;
	long long cert_id;
	char *ari_id;
	struct https_request *req;
};

static void acme_ari_on_info(void *arg, const struct https_response *resp, const struct error *err)
{
	struct acme_ari *a = arg;
	struct acme_renewal_info info;
	char *ra;
	long long retry_after;
	unsigned int rnd = 0;
	time_t now = time(NULL), pick;

	a->req = NULL;
	if (resp == NULL || resp->status != 200 ||
	    acme_renewal_info_parse(resp->body, resp->body_len, &info, NULL) != 0) {
		log_warn("acme: certificate %lld: no renewal information: %s", a->cert_id,
		         resp ? "the server's answer is not usable" : err->message);
		acme_client_ari_done(a->c, a, 0, -1);
		return;
	}
	ra = https_response_header(resp, "Retry-After");
	retry_after = acme_policy_retry_after(ra, now);
	free(ra);
	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	pick = acme_policy_ari_pick(info.start, info.end, (double)rnd / 4294967296.0, now);
	acme_renewal_info_free(&info);
	acme_client_ari_done(a->c, a, pick, retry_after);
}

static void fetch_info(struct acme_ari *a)
{
	char url[1024];
	struct error err;

	if (a->c->dir.renewal_info == NULL) { /* the server has no ARI */
		acme_client_ari_done(a->c, a, 0, -1);
		return;
	}
	snprintf(url, sizeof(url), "%s%s%s", a->c->dir.renewal_info,
	         a->c->dir.renewal_info[strlen(a->c->dir.renewal_info) - 1] == '/' ? "" : "/",
	         a->ari_id);
	a->req = https_client_request(a->c->http, "GET", url, "application/json", NULL, NULL, 0,
	                              acme_ari_on_info, a, &err);
	if (a->req == NULL)
		acme_client_ari_done(a->c, a, 0, -1);
}

static void acme_ari_on_directory(void *arg, const struct https_response *resp,
                                  const struct error *err)
{
	struct acme_ari *a = arg;
	struct acme_directory dir;
	struct error perr;

	a->req = NULL;
	if (resp == NULL || resp->status != 200 ||
	    acme_directory_parse(resp->body, resp->body_len, &dir, &perr) != 0) {
		log_warn("acme: cannot read the ACME directory for renewal information: %s",
		         resp ? (resp->status != 200 ? "unexpected HTTP status" : perr.message)
		              : err->message);
		acme_client_ari_done(a->c, a, 0, -1);
		return;
	}
	acme_directory_free(&a->c->dir);
	a->c->dir = dir;
	a->c->dir_fetched = time(NULL);
	fetch_info(a);
}

struct acme_ari *acme_ari_start(struct acme_client *c, const struct store_cert *rec)
{
	struct acme_ari *a = calloc(1, sizeof(*a));
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;

	if (a == NULL)
		return NULL;
	a->c = c;
	a->cert_id = rec->id;
	if (rec->chain_pem != NULL &&
	    cert_codec_parse_chain(rec->chain_pem, strlen(rec->chain_pem), &leaf, &chain) == 0)
		a->ari_id = acme_policy_ari_cert_id(leaf);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	if (a->ari_id == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void acme_ari_run(struct acme_ari *a)
{
	struct error err;

	if (a->c->dir.new_nonce != NULL && time(NULL) - a->c->dir_fetched < DIRECTORY_MAX_AGE) {
		fetch_info(a);
		return;
	}
	a->req =
	    https_client_request(a->c->http, "GET", a->c->inst->cfg.acme_directory_url,
	                         "application/json", NULL, NULL, 0, acme_ari_on_directory, a, &err);
	if (a->req == NULL)
		acme_client_ari_done(a->c, a, 0, -1);
}

long long acme_ari_cert_id(const struct acme_ari *a)
{
	return a->cert_id;
}

void acme_ari_free(struct acme_ari *a)
{
	if (a == NULL)
		return;
	https_request_cancel(a->req);
	free(a->ari_id);
	free(a);
}
