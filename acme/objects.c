#include "acme/objects.h"

#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define MAX_TOKEN 128 /* what the HTTP-01 table accepts */

static const char *const status_names[ACME_STATUS_MAX] = {
    "pending", "ready", "processing", "valid", "invalid", "deactivated", "expired", "revoked",
};

#define BIT(s) (1u << (s))
#define ACCOUNT_STATUSES                                                                           \
	(BIT(ACME_STATUS_VALID) | BIT(ACME_STATUS_DEACTIVATED) | BIT(ACME_STATUS_REVOKED))
#define ORDER_STATUSES                                                                             \
	(BIT(ACME_STATUS_PENDING) | BIT(ACME_STATUS_READY) | BIT(ACME_STATUS_PROCESSING) |         \
	 BIT(ACME_STATUS_VALID) | BIT(ACME_STATUS_INVALID))
#define AUTHZ_STATUSES                                                                             \
	(BIT(ACME_STATUS_PENDING) | BIT(ACME_STATUS_VALID) | BIT(ACME_STATUS_INVALID) |            \
	 BIT(ACME_STATUS_DEACTIVATED) | BIT(ACME_STATUS_EXPIRED) | BIT(ACME_STATUS_REVOKED))
#define CHALLENGE_STATUSES                                                                         \
	(BIT(ACME_STATUS_PENDING) | BIT(ACME_STATUS_PROCESSING) | BIT(ACME_STATUS_VALID) |         \
	 BIT(ACME_STATUS_INVALID))

/* What is being parsed, for error messages. */
struct ctx {
	const char *what;
	struct error *err;
};

const char *acme_status_name(enum acme_status s)
{
	return s < ACME_STATUS_MAX ? status_names[s] : "unknown";
}

static int bad(const struct ctx *c, const char *field, const char *problem)
{
	error_set(c->err, "acme_malformed", "the ACME server sent a malformed %s: '%s' %s", c->what,
	          field, problem);
	return -1;
}

static json_t *load(const char *body, size_t len, const struct ctx *c)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL) {
		error_set(c->err, "acme_malformed",
		          "the ACME server sent a malformed %s: not JSON (%s at byte %d)", c->what,
		          jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		error_set(c->err, "acme_malformed",
		          "the ACME server sent a malformed %s: not a JSON object", c->what);
		return NULL;
	}
	return root;
}

/* A string member: 1 and *out (malloc'd) when present, 0 when absent and
 * optional, -1 (error set) when malformed or missing and required. */
static int get_str(json_t *o, const char *key, int required, char **out, const struct ctx *c)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required))
		return required ? bad(c, key, "is missing") : 0;
	if (!json_is_string(v))
		return bad(c, key, "must be a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(c, key, "must not contain NUL characters");
	if ((*out = strdup(json_string_value(v))) == NULL)
		return bad(c, key, "does not fit in memory");
	return 1;
}

/* An https URL with a host and only printable ASCII (no spaces). */
static int valid_url(const char *u)
{
	const char *host = u + 8;

	if (strncasecmp(u, "https://", 8) != 0 || *host == '\0' || *host == '/' || *host == '?')
		return 0;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

static int get_url(json_t *o, const char *key, int required, char **out, const struct ctx *c)
{
	int rc = get_str(o, key, required, out, c);

	if (rc == 1 && !valid_url(*out)) {
		free(*out);
		*out = NULL;
		return bad(c, key, "must be an https URL");
	}
	return rc;
}

static int get_status(json_t *o, unsigned allowed, enum acme_status *out, const struct ctx *c)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	if (json_object_get(o, "status") == NULL)
		return bad(c, "status", "is missing");
	if (s == NULL)
		return bad(c, "status", "must be a string");
	for (int i = 0; i < ACME_STATUS_MAX; i++)
		if (strcmp(s, status_names[i]) == 0 && (allowed & BIT(i))) {
			*out = (enum acme_status)i;
			return 0;
		}
	return bad(c, "status", "is not a status this object can have");
}

static int get_time(json_t *o, const char *key, int required, time_t *out, const struct ctx *c)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL)
		return required ? bad(c, key, "is missing") : 0;
	if (!json_is_string(v) || acme_time_parse(json_string_value(v), out) != 0)
		return bad(c, key, "must be an RFC 3339 date-time");
	return 0;
}

/* An array of https URLs (may be empty). */
static int get_url_array(json_t *o, const char *key, char ***out, size_t *n, const struct ctx *c)
{
	json_t *arr = json_object_get(o, key), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return bad(c, key, arr ? "must be an array" : "is missing");
	if ((*out = calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL)
		return bad(c, key, "does not fit in memory");
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) != json_string_length(v) || !valid_url(s))
			return bad(c, key, "must hold only https URLs");
		if (((*out)[i] = strdup(s)) == NULL)
			return bad(c, key, "does not fit in memory");
		*n = i + 1;
	}
	return 0;
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- directory */

static int directory_meta(json_t *root, struct acme_directory *d, const struct ctx *c)
{
	json_t *meta = json_object_get(root, "meta"), *ear;

	if (meta == NULL)
		return 0;
	if (!json_is_object(meta))
		return bad(c, "meta", "must be an object");
	if (get_str(meta, "termsOfService", 0, &d->terms_of_service, c) < 0)
		return -1;
	ear = json_object_get(meta, "externalAccountRequired");
	if (ear != NULL && !json_is_boolean(ear))
		return bad(c, "meta.externalAccountRequired", "must be true or false");
	d->external_account_required = json_is_true(ear);
	return 0;
}

int acme_directory_parse(const char *body, size_t len, struct acme_directory *out,
                         struct error *err)
{
	struct ctx c = {"directory", err};
	json_t *root = load(body, len, &c);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	/* revokeCert and keyChange are not used here, so a server without
	 * them still works; renewalInfo is optional (RFC 9773). */
	if (get_url(root, "newNonce", 1, &out->new_nonce, &c) < 0 ||
	    get_url(root, "newAccount", 1, &out->new_account, &c) < 0 ||
	    get_url(root, "newOrder", 1, &out->new_order, &c) < 0 ||
	    get_url(root, "revokeCert", 0, &out->revoke_cert, &c) < 0 ||
	    get_url(root, "keyChange", 0, &out->key_change, &c) < 0 ||
	    get_url(root, "renewalInfo", 0, &out->renewal_info, &c) < 0 ||
	    directory_meta(root, out, &c) < 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		acme_directory_free(out);
	return rc;
}

void acme_directory_free(struct acme_directory *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	memset(d, 0, sizeof(*d));
}

/* ---- problems */

static int identifier_from(json_t *v, struct acme_identifier *id, const struct ctx *c)
{
	memset(id, 0, sizeof(*id));
	if (!json_is_object(v))
		return bad(c, "identifier", v ? "must be an object" : "is missing");
	if (get_str(v, "type", 1, &id->type, c) < 0 || get_str(v, "value", 1, &id->value, c) < 0)
		return -1;
	if (id->value[0] == '\0')
		return bad(c, "identifier.value", "must not be empty");
	return 0;
}

static void identifier_free(struct acme_identifier *id)
{
	free(id->type);
	free(id->value);
	memset(id, 0, sizeof(*id));
}

static int subproblem_from(json_t *v, struct acme_problem_sub *s, const struct ctx *c)
{
	struct acme_identifier id;
	json_t *idv;

	if (!json_is_object(v))
		return bad(c, "subproblems", "must hold objects");
	if (get_str(v, "type", 1, &s->type, c) < 0 || get_str(v, "detail", 0, &s->detail, c) < 0)
		return -1;
	if (s->detail == NULL && (s->detail = strdup("")) == NULL)
		return bad(c, "detail", "does not fit in memory");
	if ((idv = json_object_get(v, "identifier")) == NULL)
		return 0;
	if (identifier_from(idv, &id, c) < 0) {
		identifier_free(&id);
		return -1;
	}
	s->identifier = id.value;
	free(id.type);
	return 0;
}

static int problem_from(json_t *root, struct acme_problem *p, const struct ctx *c)
{
	json_t *status = json_object_get(root, "status"), *subs, *v;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (get_str(root, "type", 0, &p->type, c) < 0 ||
	    get_str(root, "detail", 0, &p->detail, c) < 0)
		return -1;
	if ((p->type == NULL && (p->type = strdup("about:blank")) == NULL) ||
	    (p->detail == NULL && (p->detail = strdup("")) == NULL))
		return bad(c, "type", "does not fit in memory");
	if (status != NULL && (!json_is_integer(status) || json_integer_value(status) < 100 ||
	                       json_integer_value(status) > 599))
		return bad(c, "status", "must be an HTTP status code");
	p->status = status ? (int)json_integer_value(status) : 0;
	subs = json_object_get(root, "subproblems");
	if (subs == NULL)
		return 0;
	if (!json_is_array(subs))
		return bad(c, "subproblems", "must be an array");
	p->subproblems = calloc(json_array_size(subs) + 1, sizeof(*p->subproblems));
	if (p->subproblems == NULL)
		return bad(c, "subproblems", "does not fit in memory");
	json_array_foreach(subs, i, v)
	{
		p->n_subproblems = i + 1;
		if (subproblem_from(v, &p->subproblems[i], c) < 0)
			return -1;
	}
	return 0;
}

int acme_problem_parse(const char *body, size_t len, struct acme_problem *out, struct error *err)
{
	struct ctx c = {"problem document", err};
	json_t *root = load(body, len, &c);
	int rc;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	rc = problem_from(root, out, &c);
	json_decref(root);
	if (rc != 0)
		acme_problem_free(out);
	return rc;
}

void acme_problem_free(struct acme_problem *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_subproblems; i++) {
		free(p->subproblems[i].type);
		free(p->subproblems[i].detail);
		free(p->subproblems[i].identifier);
	}
	free(p->subproblems);
	free(p->type);
	free(p->detail);
	memset(p, 0, sizeof(*p));
}

/* An optional embedded "error" member: *out malloc'd or NULL. */
static int embedded_problem(json_t *root, struct acme_problem **out, const struct ctx *c)
{
	json_t *v = json_object_get(root, "error");
	struct ctx sub = {c->what, c->err};

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(c, "error", "must be a problem object");
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return bad(c, "error", "does not fit in memory");
	return problem_from(v, *out, &sub);
}

const char *acme_problem_short(const char *type)
{
	size_t n = strlen(ACME_ERROR_PREFIX);

	return strncmp(type, ACME_ERROR_PREFIX, n) == 0 && type[n] != '\0' ? type + n : type;
}

/* ---- account */

int acme_account_parse(const char *body, size_t len, struct acme_account *out, struct error *err)
{
	struct ctx c = {"account", err};
	json_t *root = load(body, len, &c), *contact, *v;
	int rc = -1;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	if (get_status(root, ACCOUNT_STATUSES, &out->status, &c) < 0 ||
	    get_str(root, "orders", 0, &out->orders, &c) < 0)
		goto out;
	contact = json_object_get(root, "contact");
	if (contact != NULL && !json_is_array(contact)) {
		bad(&c, "contact", "must be an array");
		goto out;
	}
	out->contact = calloc(json_array_size(contact) + 1, sizeof(char *));
	if (out->contact == NULL)
		goto out;
	json_array_foreach(contact, i, v)
	{
		if (!json_is_string(v) ||
		    (out->contact[i] = strdup(json_string_value(v))) == NULL) {
			bad(&c, "contact", "must hold strings");
			goto out;
		}
		out->n_contact = i + 1;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		acme_account_free(out);
	return rc;
}

void acme_account_free(struct acme_account *a)
{
	free_strings(a->contact, a->n_contact);
	free(a->orders);
	memset(a, 0, sizeof(*a));
}

/* ---- order */

static int order_identifiers(json_t *root, struct acme_order *o, const struct ctx *c)
{
	json_t *arr = json_object_get(root, "identifiers"), *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return bad(c, "identifiers", arr ? "must be a non-empty array" : "is missing");
	o->identifiers = calloc(json_array_size(arr), sizeof(*o->identifiers));
	if (o->identifiers == NULL)
		return bad(c, "identifiers", "does not fit in memory");
	json_array_foreach(arr, i, v)
	{
		o->n_identifiers = i + 1;
		if (identifier_from(v, &o->identifiers[i], c) < 0)
			return -1;
	}
	return 0;
}

int acme_order_parse(const char *body, size_t len, struct acme_order *out, struct error *err)
{
	struct ctx c = {"order", err};
	json_t *root = load(body, len, &c);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	if (get_status(root, ORDER_STATUSES, &out->status, &c) < 0 ||
	    get_time(root, "expires", 0, &out->expires, &c) < 0 ||
	    order_identifiers(root, out, &c) < 0 ||
	    get_url_array(root, "authorizations", &out->authorizations, &out->n_authorizations,
	                  &c) < 0 ||
	    get_url(root, "finalize", 1, &out->finalize, &c) < 0 ||
	    get_url(root, "certificate", 0, &out->certificate, &c) < 0 ||
	    embedded_problem(root, &out->error, &c) < 0)
		goto out;
	if (out->status == ACME_STATUS_VALID && out->certificate == NULL) {
		bad(&c, "certificate", "is missing from a valid order");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		acme_order_free(out);
	return rc;
}

void acme_order_free(struct acme_order *o)
{
	for (size_t i = 0; i < o->n_identifiers; i++)
		identifier_free(&o->identifiers[i]);
	free(o->identifiers);
	free_strings(o->authorizations, o->n_authorizations);
	free(o->finalize);
	free(o->certificate);
	acme_problem_free(o->error);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

/* ---- challenges and authorizations */

static int valid_token(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n <= MAX_TOKEN &&
	       strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static int challenge_from(json_t *v, struct acme_challenge *ch, const struct ctx *c)
{
	int needs_token;

	memset(ch, 0, sizeof(*ch));
	if (!json_is_object(v))
		return bad(c, "challenges", "must hold objects");
	if (get_str(v, "type", 1, &ch->type, c) < 0 || get_url(v, "url", 1, &ch->url, c) < 0 ||
	    get_status(v, CHALLENGE_STATUSES, &ch->status, c) < 0)
		return -1;
	needs_token = strcmp(ch->type, "http-01") == 0 || strcmp(ch->type, "dns-01") == 0 ||
	              strcmp(ch->type, "tls-alpn-01") == 0;
	if (get_str(v, "token", needs_token, &ch->token, c) < 0)
		return -1;
	if (ch->token != NULL && !valid_token(ch->token))
		return bad(c, "token", "must be 1 to 128 base64url characters");
	return embedded_problem(v, &ch->error, c);
}

static void challenge_clear(struct acme_challenge *ch)
{
	free(ch->type);
	free(ch->url);
	free(ch->token);
	acme_problem_free(ch->error);
	free(ch->error);
	memset(ch, 0, sizeof(*ch));
}

int acme_challenge_parse(const char *body, size_t len, struct acme_challenge *out,
                         struct error *err)
{
	struct ctx c = {"challenge", err};
	json_t *root = load(body, len, &c);
	int rc;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	rc = challenge_from(root, out, &c);
	json_decref(root);
	if (rc != 0)
		challenge_clear(out);
	return rc;
}

void acme_challenge_free(struct acme_challenge *c)
{
	challenge_clear(c);
}

static int authz_challenges(json_t *root, struct acme_authz *a, const struct ctx *c)
{
	json_t *arr = json_object_get(root, "challenges"), *v;
	size_t i;

	if (!json_is_array(arr))
		return bad(c, "challenges", arr ? "must be an array" : "is missing");
	a->challenges = calloc(json_array_size(arr) + 1, sizeof(*a->challenges));
	if (a->challenges == NULL)
		return bad(c, "challenges", "does not fit in memory");
	json_array_foreach(arr, i, v)
	{
		a->n_challenges = i + 1;
		if (challenge_from(v, &a->challenges[i], c) < 0)
			return -1;
	}
	return 0;
}

int acme_authz_parse(const char *body, size_t len, struct acme_authz *out, struct error *err)
{
	struct ctx c = {"authorization", err};
	json_t *root = load(body, len, &c), *wild;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	if (identifier_from(json_object_get(root, "identifier"), &out->identifier, &c) < 0 ||
	    get_status(root, AUTHZ_STATUSES, &out->status, &c) < 0 ||
	    get_time(root, "expires", 0, &out->expires, &c) < 0 ||
	    authz_challenges(root, out, &c) < 0)
		goto out;
	wild = json_object_get(root, "wildcard");
	if (wild != NULL && !json_is_boolean(wild)) {
		bad(&c, "wildcard", "must be true or false");
		goto out;
	}
	out->wildcard = json_is_true(wild);
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		acme_authz_free(out);
	return rc;
}

void acme_authz_free(struct acme_authz *a)
{
	identifier_free(&a->identifier);
	for (size_t i = 0; i < a->n_challenges; i++)
		challenge_clear(&a->challenges[i]);
	free(a->challenges);
	memset(a, 0, sizeof(*a));
}

const struct acme_challenge *acme_authz_challenge(const struct acme_authz *a, const char *type)
{
	for (size_t i = 0; i < a->n_challenges; i++)
		if (strcmp(a->challenges[i].type, type) == 0)
			return &a->challenges[i];
	return NULL;
}

/* ---- renewal information (RFC 9773) */

int acme_renewal_info_parse(const char *body, size_t len, struct acme_renewal_info *out,
                            struct error *err)
{
	struct ctx c = {"renewal information", err};
	json_t *root = load(body, len, &c), *win;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	win = json_object_get(root, "suggestedWindow");
	if (!json_is_object(win)) {
		bad(&c, "suggestedWindow", win ? "must be an object" : "is missing");
		goto out;
	}
	if (get_time(win, "start", 1, &out->start, &c) < 0 ||
	    get_time(win, "end", 1, &out->end, &c) < 0 ||
	    get_str(root, "explanationURL", 0, &out->explanation_url, &c) < 0)
		goto out;
	if (out->end <= out->start) {
		bad(&c, "suggestedWindow", "must end after it starts");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		acme_renewal_info_free(out);
	return rc;
}

void acme_renewal_info_free(struct acme_renewal_info *r)
{
	free(r->explanation_url);
	memset(r, 0, sizeof(*r));
}
