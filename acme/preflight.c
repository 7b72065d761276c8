/* The pre-flight check before an order: does every name reach this very
 * gateway? A random probe token is put in the HTTP-01 table, then
 * http://NAME:PORT/.well-known/acme-challenge/<probe> is fetched by name
 * (resolved through [acme] resolver). Only when each name answers with the
 * probe's secret is the CA asked to validate: a name whose DNS points
 * elsewhere waits as awaiting_dns instead of failing validations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "acme/client_internal.h"
#include "acme/jws.h"
#include "common/log.h"
#include "gateway/challenge.h"

#define PROBE_PREFIX "postern-probe-"

struct acme_preflight {
	struct acme_client *c;
	long long cert_id;
	char **names;
	size_t n_names;
	size_t cursor;
	char *token;
	char *answer;
	int published;
	struct https_request *req;
};

static char *random_b64(size_t bytes, const char *prefix)
{
	unsigned char raw[32];
	char *b64, *out;
	size_t n;

	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1 ||
	    (b64 = jws_b64url_encode(raw, bytes)) == NULL)
		return NULL;
	n = strlen(prefix) + strlen(b64) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s%s", prefix, b64);
	free(b64);
	return out;
}

static void probe_next(struct acme_preflight *p);

/* The probe for the current name failed: say why, and what to do. */
static void not_here(struct acme_preflight *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void not_here(struct acme_preflight *p, const char *fmt, ...)
{
	char why[400], detail[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(detail, sizeof(detail),
	         "%s does not reach this gateway yet: %s. Point its CNAME or A record at this "
	         "gateway (HTTP port %u)",
	         p->names[p->cursor], why, p->c->http_port);
	acme_client_preflight_done(p->c, p, 0, detail);
}

/* The body with trailing CR, LF, tabs and spaces ignored equals answer. */
static int is_answer(const struct https_response *resp, const char *answer)
{
	size_t n = resp->body_len;

	while (n > 0 && strchr("\r\n\t ", resp->body[n - 1]) != NULL)
		n--;
	return n == strlen(answer) && memcmp(resp->body, answer, n) == 0;
}

static void acme_preflight_on_probe(void *arg, const struct https_response *resp,
                                    const struct error *err)
{
	struct acme_preflight *p = arg;

	p->req = NULL;
	if (resp == NULL && strcmp(err->code, "acme_dns") == 0)
		not_here(p, "the name does not resolve (%s)", err->message);
	else if (resp == NULL)
		not_here(p, "%s", err->message);
	else if (resp->status != 200 || !is_answer(resp, p->answer))
		not_here(p, "%s answered HTTP %d to a probe, not with this gateway's answer",
		         resp->peer, resp->status);
	else {
		log_debug("acme: certificate %lld: %s reaches this gateway (%s)", p->cert_id,
		          p->names[p->cursor], resp->peer);
		p->cursor++;
		probe_next(p);
	}
}

static void probe_next(struct acme_preflight *p)
{
	char url[512];
	struct error err;

	if (p->cursor == p->n_names) {
		acme_client_preflight_done(p->c, p, 1, NULL);
		return;
	}
	snprintf(url, sizeof(url), "http://%s:%u%s%s", p->names[p->cursor], p->c->http_port,
	         CHALLENGE_PREFIX, p->token);
	p->req = https_client_request(p->c->probe, "GET", url, NULL, NULL, NULL, 0,
	                              acme_preflight_on_probe, p, &err);
	if (p->req == NULL)
		not_here(p, "%s", err.message);
}

struct acme_preflight *acme_preflight_start(struct acme_client *c, long long cert_id, char **names,
                                            size_t n_names)
{
	struct acme_preflight *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->names = calloc(n_names, sizeof(char *))) == NULL)
		goto fail;
	p->c = c;
	p->cert_id = cert_id;
	for (; p->n_names < n_names; p->n_names++)
		if ((p->names[p->n_names] = strdup(names[p->n_names])) == NULL)
			goto fail;
	p->token = random_b64(24, PROBE_PREFIX);
	p->answer = random_b64(24, "");
	if (p->token == NULL || p->answer == NULL || challenge_put(p->token, p->answer) != 0)
		goto fail;
	p->published = 1;
	return p;
fail:
	acme_preflight_free(p);
	return NULL;
}

void acme_preflight_run(struct acme_preflight *p)
{
	log_debug("acme: certificate %lld: checking that its names reach this gateway", p->cert_id);
	probe_next(p);
}

long long acme_preflight_cert_id(const struct acme_preflight *p)
{
	return p->cert_id;
}

void acme_preflight_free(struct acme_preflight *p)
{
	if (p == NULL)
		return;
	https_request_cancel(p->req);
	if (p->published)
		challenge_remove(p->token);
	for (size_t i = 0; p->names != NULL && i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->token);
	free(p->answer);
	free(p);
}
