/* Fuzz the ACME object parsers (acme/objects.c) with one input fed to
 * every parser: a success must leave every required field set and every
 * status in range; a failure must leave the struct zeroed with an
 * acme_malformed error. Also the RFC 3339 time and Link header parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/objects.h"

static void check_error(int rc, const struct error *err, const void *obj, size_t size)
{
	static const unsigned char zero[512];

	if (rc == 0)
		return;
	if (strcmp(err->code, "acme_malformed") != 0 || size > sizeof(zero) ||
	    memcmp(obj, zero, size) != 0)
		abort();
}

static void check_problem(const struct acme_problem *p)
{
	if (p == NULL)
		return;
	if (p->type == NULL || p->detail == NULL || (p->n_subproblems && !p->subproblems))
		abort();
	for (size_t i = 0; i < p->n_subproblems; i++)
		if (p->subproblems[i].type == NULL || p->subproblems[i].detail == NULL)
			abort();
}

static void fuzz_directory(const char *data, size_t size)
{
	struct acme_directory d;
	struct error err;
	int rc = acme_directory_parse(data, size, &d, &err);

	check_error(rc, &err, &d, sizeof(d));
	if (rc == 0 && (!d.new_nonce || !d.new_account || !d.new_order ||
	                strncasecmp(d.new_nonce, "https://", 8) != 0))
		abort();
	acme_directory_free(&d);
}

static void fuzz_order(const char *data, size_t size)
{
	struct acme_order o;
	struct error err;
	int rc = acme_order_parse(data, size, &o, &err);

	check_error(rc, &err, &o, sizeof(o));
	if (rc == 0) {
		if (o.status >= ACME_STATUS_MAX || o.n_identifiers == 0 || !o.finalize ||
		    (o.status == ACME_STATUS_VALID && !o.certificate))
			abort();
		for (size_t i = 0; i < o.n_identifiers; i++)
			if (!o.identifiers[i].value || !o.identifiers[i].value[0])
				abort();
		for (size_t i = 0; i < o.n_authorizations; i++)
			if (!o.authorizations[i])
				abort();
		check_problem(o.error);
	}
	acme_order_free(&o);
}

static void fuzz_authz(const char *data, size_t size)
{
	struct acme_authz a;
	struct acme_challenge c;
	struct error err;
	int rc = acme_authz_parse(data, size, &a, &err);

	check_error(rc, &err, &a, sizeof(a));
	if (rc == 0) {
		for (size_t i = 0; i < a.n_challenges; i++) {
			const struct acme_challenge *ch = &a.challenges[i];

			if (!ch->type || !ch->url || ch->status >= ACME_STATUS_MAX ||
			    (strcmp(ch->type, "http-01") == 0 && !ch->token))
				abort();
			check_problem(ch->error);
		}
		if (a.n_challenges && !acme_authz_challenge(&a, a.challenges[0].type))
			abort();
	}
	acme_authz_free(&a);
	rc = acme_challenge_parse(data, size, &c, &err);
	check_error(rc, &err, &c, sizeof(c));
	acme_challenge_free(&c);
}

static void fuzz_others(const char *data, size_t size)
{
	struct acme_problem p;
	struct acme_account acct;
	struct acme_renewal_info r;
	struct error err;
	int rc;

	rc = acme_problem_parse(data, size, &p, &err);
	check_error(rc, &err, &p, sizeof(p));
	if (rc == 0) {
		check_problem(&p);
		if (acme_problem_short(p.type) == NULL)
			abort();
	}
	acme_problem_free(&p);
	rc = acme_account_parse(data, size, &acct, &err);
	check_error(rc, &err, &acct, sizeof(acct));
	acme_account_free(&acct);
	rc = acme_renewal_info_parse(data, size, &r, &err);
	check_error(rc, &err, &r, sizeof(r));
	if (rc == 0 && r.end <= r.start)
		abort();
	acme_renewal_info_free(&r);
}

static void fuzz_text(const char *data, size_t size)
{
	char *copy = malloc(size + 1), *urls[4];
	time_t t;
	size_t n;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	(void)acme_time_parse(copy, &t);
	free(copy);
	n = acme_link_alternates(data, size, urls, 4);
	if (n > 4)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(urls[i], "https://", 8) != 0)
			abort();
		free(urls[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	fuzz_directory(text, size);
	fuzz_order(text, size);
	fuzz_authz(text, size);
	fuzz_others(text, size);
	fuzz_text(text, size);
	return 0;
}
