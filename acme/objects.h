/* Strict parsers for the JSON objects an ACME server sends (RFC 8555
 * section 7.1, RFC 7807 problems, RFC 9773 renewal information). Each
 * parser takes the response body as bytes, checks every field the client
 * relies on (presence, type, known status names, https URLs, RFC 3339
 * times) and either fills a struct whose strings it owns or fails with an
 * error (code "acme_malformed") naming the object and the field. Unknown
 * fields are ignored, as the RFC asks. Parsers never crash on any input. */
#ifndef POSTERN_ACME_OBJECTS_H
#define POSTERN_ACME_OBJECTS_H

#include <stddef.h>
#include <time.h>

#include "common/error.h"

#define ACME_ERROR_PREFIX "urn:ietf:params:acme:error:"

enum acme_status {
	ACME_STATUS_PENDING,
	ACME_STATUS_READY,
	ACME_STATUS_PROCESSING,
	ACME_STATUS_VALID,
	ACME_STATUS_INVALID,
	ACME_STATUS_DEACTIVATED,
	ACME_STATUS_EXPIRED,
	ACME_STATUS_REVOKED,
	ACME_STATUS_MAX
};

/* "pending", "ready", ... */
const char *acme_status_name(enum acme_status s);

struct acme_directory {
	char *new_nonce;
	char *new_account;
	char *new_order;
	char *revoke_cert;
	char *key_change;
	char *renewal_info;     /* NULL when the server has no ARI */
	char *terms_of_service; /* meta.termsOfService, NULL when absent */
	int external_account_required;
};

struct acme_problem_sub {
	char *type;
	char *detail;     /* "" when absent */
	char *identifier; /* identifier value, NULL when absent */
};

struct acme_problem {
	char *type;   /* "about:blank" when absent (RFC 7807) */
	char *detail; /* "" when absent */
	int status;   /* 0 when absent */
	struct acme_problem_sub *subproblems;
	size_t n_subproblems;
};

struct acme_account {
	enum acme_status status; /* valid, deactivated or revoked */
	char **contact;
	size_t n_contact;
	char *orders; /* NULL when absent */
};

struct acme_identifier {
	char *type; /* "dns" (others are kept, not used) */
	char *value;
};

struct acme_order {
	enum acme_status status;
	time_t expires; /* 0 when absent */
	struct acme_identifier *identifiers;
	size_t n_identifiers;
	char **authorizations; /* URLs */
	size_t n_authorizations;
	char *finalize;
	char *certificate;          /* NULL until valid */
	struct acme_problem *error; /* NULL when absent */
};

struct acme_challenge {
	char *type; /* "http-01", "dns-01", ... */
	char *url;
	char *token;                /* NULL for types without one */
	enum acme_status status;    /* pending, processing, valid or invalid */
	struct acme_problem *error; /* NULL when absent */
};

struct acme_authz {
	struct acme_identifier identifier;
	enum acme_status status;
	time_t expires; /* 0 when absent */
	struct acme_challenge *challenges;
	size_t n_challenges;
	int wildcard;
};

struct acme_renewal_info {
	time_t start; /* suggestedWindow, start < end */
	time_t end;
	char *explanation_url; /* NULL when absent */
};

/* Each parser: 0 and *out filled (release with the matching _free, which
 * also accepts a zeroed struct), or -1 with err and *out zeroed. */
int acme_directory_parse(const char *body, size_t len, struct acme_directory *out,
                         struct error *err);
void acme_directory_free(struct acme_directory *d);

int acme_problem_parse(const char *body, size_t len, struct acme_problem *out, struct error *err);
void acme_problem_free(struct acme_problem *p);

int acme_account_parse(const char *body, size_t len, struct acme_account *out, struct error *err);
void acme_account_free(struct acme_account *a);

int acme_order_parse(const char *body, size_t len, struct acme_order *out, struct error *err);
void acme_order_free(struct acme_order *o);

int acme_authz_parse(const char *body, size_t len, struct acme_authz *out, struct error *err);
void acme_authz_free(struct acme_authz *a);

int acme_challenge_parse(const char *body, size_t len, struct acme_challenge *out,
                         struct error *err);
void acme_challenge_free(struct acme_challenge *c);

int acme_renewal_info_parse(const char *body, size_t len, struct acme_renewal_info *out,
                            struct error *err);
void acme_renewal_info_free(struct acme_renewal_info *r);

/* The challenge of type in a, or NULL. */
const struct acme_challenge *acme_authz_challenge(const struct acme_authz *a, const char *type);

/* RFC 3339 date-time ("2025-01-02T03:04:05Z", fractions and offsets
 * allowed) to unix seconds. Returns 0 or -1. */
int acme_time_parse(const char *text, time_t *out);

/* The short name of a problem type: "badNonce" for
 * "urn:ietf:params:acme:error:badNonce", else the type as is. */
const char *acme_problem_short(const char *type);

/* The URLs of every Link header value with rel="alternate" in value
 * (len bytes, one header field, possibly a comma-separated list). Returns
 * the number found (at most max), each malloc'd in urls[] for the caller
 * to free. */
size_t acme_link_alternates(const char *value, size_t len, char **urls, size_t max);

#endif
