/* Strict parsing of every ACME object: the shapes Pebble and Let's
 * Encrypt send, and malformed ones (wrong types, missing fields, unknown
 * statuses, plain-http URLs, bad times, bad tokens, not JSON), each of
 * which must fail with acme_malformed and a message naming the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/objects.h"
#include "tests/unit/tap.h"

#define LEN(s) strlen(s)
#define S(lit) lit, strlen(lit)

static struct error err;

/* err says acme_malformed and mentions the field. */
static int malformed(const char *field)
{
	return strcmp(err.code, "acme_malformed") == 0 && strstr(err.message, field) != NULL;
}

static void test_directory(void)
{
	const char *pebble = "{\"keyChange\":\"https://127.0.0.1:14000/rollover-account-key\","
	                     "\"meta\":{\"externalAccountRequired\":false,"
	                     "\"termsOfService\":\"data:text/plain,Do%20what%20thou%20wilt\"},"
	                     "\"newAccount\":\"https://127.0.0.1:14000/sign-me-up\","
	                     "\"newNonce\":\"https://127.0.0.1:14000/nonce-plz\","
	                     "\"newOrder\":\"https://127.0.0.1:14000/order-plz\","
	                     "\"revokeCert\":\"https://127.0.0.1:14000/revoke-cert\"}";
	const char *le =
	    "{\"Xy1\":\"https://community.letsencrypt.org/t/adding-random-entries/1\","
	    "\"keyChange\":\"https://acme.test/acme/key-change\","
	    "\"meta\":{\"caaIdentities\":[\"letsencrypt.org\"],\"profiles\":{\"classic\":\"x\"},"
	    "\"termsOfService\":\"https://letsencrypt.org/documents/LE-SA-v1.5.pdf\","
	    "\"website\":\"https://letsencrypt.org\"},"
	    "\"newAccount\":\"https://acme.test/acme/new-acct\","
	    "\"newNonce\":\"https://acme.test/acme/new-nonce\","
	    "\"newOrder\":\"https://acme.test/acme/new-order\","
	    "\"renewalInfo\":\"https://acme.test/draft-ietf-acme-ari-03/renewalInfo\","
	    "\"revokeCert\":\"https://acme.test/acme/revoke-cert\"}";
	struct acme_directory d;

	ok(acme_directory_parse(pebble, LEN(pebble), &d, &err) == 0 &&
	       strcmp(d.new_nonce, "https://127.0.0.1:14000/nonce-plz") == 0 &&
	       strcmp(d.new_account, "https://127.0.0.1:14000/sign-me-up") == 0 &&
	       strcmp(d.new_order, "https://127.0.0.1:14000/order-plz") == 0 &&
	       strcmp(d.revoke_cert, "https://127.0.0.1:14000/revoke-cert") == 0 &&
	       strcmp(d.key_change, "https://127.0.0.1:14000/rollover-account-key") == 0,
	   "Pebble's directory: every endpoint");
	ok(d.renewal_info == NULL && d.terms_of_service &&
	       strncmp(d.terms_of_service, "data:", 5) == 0 && !d.external_account_required,
	   "Pebble: no renewalInfo, a data: terms of service, no EAB");
	acme_directory_free(&d);
	ok(d.new_nonce == NULL, "free clears the struct");
	ok(acme_directory_parse(le, LEN(le), &d, &err) == 0 && d.renewal_info &&
	       strstr(d.renewal_info, "renewalInfo") != NULL,
	   "Let's Encrypt's directory: renewalInfo found, unknown members ignored");
	acme_directory_free(&d);
	ok(acme_directory_parse(S("{\"newAccount\":\"https://a/x\",\"newOrder\":\"https://a/o\"}"),
	                        &d, &err) == -1 &&
	       malformed("newNonce") && d.new_account == NULL,
	   "missing newNonce: acme_malformed naming it, nothing kept");
	ok(acme_directory_parse(S("{\"newNonce\":\"http://a/n\",\"newAccount\":\"https://a/x\","
	                          "\"newOrder\":\"https://a/o\"}"),
	                        &d, &err) == -1 &&
	       malformed("newNonce") && strstr(err.message, "https URL"),
	   "a plain-http endpoint is refused");
	ok(acme_directory_parse(S("{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/x\","
	                          "\"newOrder\":5}"),
	                        &d, &err) == -1 &&
	       malformed("newOrder"),
	   "a number where a URL belongs is refused");
	ok(acme_directory_parse(S("{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/x\","
	                          "\"newOrder\":\"https://a/o\",\"meta\":[]}"),
	                        &d, &err) == -1 &&
	       malformed("meta"),
	   "meta must be an object");
	ok(acme_directory_parse(S("{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/x\","
	                          "\"newOrder\":\"https://a/o\",\"renewalInfo\":\"https:// a\"}"),
	                        &d, &err) == -1 &&
	       malformed("renewalInfo"),
	   "a URL with a space is refused");
	ok(acme_directory_parse(S("{\"newNonce\":\"https:///n\",\"newAccount\":\"https://a/x\","
	                          "\"newOrder\":\"https://a/o\"}"),
	                        &d, &err) == -1,
	   "a URL without a host is refused");
	ok(acme_directory_parse(S("[]"), &d, &err) == -1 &&
	       strstr(err.message, "not a JSON object"),
	   "an array is not a directory");
	ok(acme_directory_parse(S("<html>"), &d, &err) == -1 && strstr(err.message, "not JSON"),
	   "HTML is not JSON");
	ok(acme_directory_parse(pebble, 40, &d, &err) == -1, "a truncated body fails");
	ok(acme_directory_parse(S("{\"newNonce\":\"https://a/n\",\"newNonce\":\"https://a/m\"}"),
	                        &d, &err) == -1,
	   "duplicate members are refused");
	ok(acme_directory_parse(
	       S("{\"newNonce\":\"https://a/\\u0000n\",\"newAccount\":\"https://a/x\","
	         "\"newOrder\":\"https://a/o\"}"),
	       &d, &err) == -1 &&
	       malformed("NUL"),
	   "an embedded NUL is refused");
}

static void test_problem(void)
{
	const char *bad_nonce = "{\"type\":\"urn:ietf:params:acme:error:badNonce\","
	                        "\"detail\":\"JWS has an invalid anti-replay nonce: \\\"abc\\\"\","
	                        "\"status\":400}";
	const char *compound =
	    "{\"type\":\"urn:ietf:params:acme:error:compound\",\"detail\":\"Errors\","
	    "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"}},"
	    "{\"type\":\"urn:ietf:params:acme:error:dns\"}]}";
	struct acme_problem p;

	ok(acme_problem_parse(bad_nonce, LEN(bad_nonce), &p, &err) == 0 &&
	       strcmp(p.type, "urn:ietf:params:acme:error:badNonce") == 0 && p.status == 400 &&
	       strstr(p.detail, "\"abc\"") != NULL && p.n_subproblems == 0,
	   "badNonce problem: type, detail with quotes, status");
	ok(strcmp(acme_problem_short(p.type), "badNonce") == 0, "short name of an ACME type");
	acme_problem_free(&p);
	ok(strcmp(acme_problem_short("about:blank"), "about:blank") == 0 &&
	       strcmp(acme_problem_short(ACME_ERROR_PREFIX), ACME_ERROR_PREFIX) == 0,
	   "other types keep their full name");
	ok(acme_problem_parse(compound, LEN(compound), &p, &err) == 0 && p.n_subproblems == 2 &&
	       strcmp(p.subproblems[0].identifier, "a.test") == 0 &&
	       strcmp(p.subproblems[0].detail, "CAA") == 0 && p.subproblems[1].identifier == NULL &&
	       strcmp(p.subproblems[1].detail, "") == 0,
	   "subproblems with and without identifier and detail");
	acme_problem_free(&p);
	ok(acme_problem_parse(S("{}"), &p, &err) == 0 && strcmp(p.type, "about:blank") == 0 &&
	       strcmp(p.detail, "") == 0 && p.status == 0,
	   "an empty problem defaults to about:blank (RFC 7807)");
	acme_problem_free(&p);
	ok(acme_problem_parse(S("{\"type\":7}"), &p, &err) == -1 && malformed("type"),
	   "a numeric type is refused");
	ok(acme_problem_parse(S("{\"status\":\"400\"}"), &p, &err) == -1 && malformed("status"),
	   "a string status is refused");
	ok(acme_problem_parse(S("{\"status\":99}"), &p, &err) == -1, "status 99 is refused");
	ok(acme_problem_parse(S("{\"subproblems\":{}}"), &p, &err) == -1 &&
	       malformed("subproblems"),
	   "subproblems must be an array");
	ok(acme_problem_parse(S("{\"subproblems\":[{\"detail\":\"x\"}]}"), &p, &err) == -1 &&
	       malformed("type"),
	   "a subproblem needs a type");
	ok(acme_problem_parse(
	       S("{\"subproblems\":[{\"type\":\"t\",\"identifier\":{\"type\":\"dns\"}}]}"), &p,
	       &err) == -1 &&
	       malformed("value"),
	   "a subproblem identifier needs a value");
	ok(acme_problem_parse(S("{\"subproblems\":[1]}"), &p, &err) == -1,
	   "a subproblem must be an object");
}

static void test_account(void)
{
	const char *acct = "{\"status\":\"valid\",\"contact\":[\"mailto:ops@example.org\"],"
	                   "\"orders\":\"https://127.0.0.1:14000/list-orderz/1\","
	                   "\"key\":{\"kty\":\"EC\"}}";
	struct acme_account a;

	ok(acme_account_parse(acct, LEN(acct), &a, &err) == 0 && a.status == ACME_STATUS_VALID &&
	       a.n_contact == 1 && strcmp(a.contact[0], "mailto:ops@example.org") == 0 &&
	       a.orders != NULL,
	   "account: status, contact, orders");
	acme_account_free(&a);
	ok(acme_account_parse(S("{\"status\":\"deactivated\"}"), &a, &err) == 0 &&
	       a.status == ACME_STATUS_DEACTIVATED && a.n_contact == 0,
	   "a deactivated account without contact");
	acme_account_free(&a);
	ok(acme_account_parse(S("{\"status\":\"pending\"}"), &a, &err) == -1 && malformed("status"),
	   "pending is not an account status");
	ok(acme_account_parse(S("{\"status\":\"valid\",\"contact\":\"mailto:x\"}"), &a, &err) ==
	           -1 &&
	       malformed("contact"),
	   "contact must be an array");
	ok(acme_account_parse(S("{\"status\":\"valid\",\"contact\":[1]}"), &a, &err) == -1,
	   "contact must hold strings");
	ok(acme_account_parse(S("{\"contact\":[]}"), &a, &err) == -1 && malformed("status"),
	   "an account needs a status");
}

static const char *order_pending =
    "{\"status\":\"pending\",\"expires\":\"2025-03-02T10:11:12.123456789Z\","
    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"b.test\"},{\"type\":\"dns\","
    "\"value\":\"a.test\"}],\"finalize\":\"https://127.0.0.1:14000/finalize-order/X\","
    "\"authorizations\":[\"https://127.0.0.1:14000/authZ/2\","
    "\"https://127.0.0.1:14000/authZ/1\"]}";

static void test_order(void)
{
	const char *valid = "{\"status\":\"valid\",\"identifiers\":[{\"type\":\"dns\","
	                    "\"value\":\"a.test\"}],\"authorizations\":[],"
	                    "\"finalize\":\"https://ca/f\",\"certificate\":\"https://ca/certZ/1\"}";
	const char *invalid = "{\"status\":\"invalid\",\"identifiers\":[{\"type\":\"dns\","
	                      "\"value\":\"a.test\"}],\"authorizations\":[\"https://ca/a\"],"
	                      "\"finalize\":\"https://ca/f\",\"error\":{\"type\":"
	                      "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\"}}";
	struct acme_order o;
	char buf[1024];

	ok(acme_order_parse(order_pending, LEN(order_pending), &o, &err) == 0 &&
	       o.status == ACME_STATUS_PENDING && o.n_identifiers == 2 &&
	       strcmp(o.identifiers[1].value, "a.test") == 0 && o.n_authorizations == 2 &&
	       strcmp(o.authorizations[0], "https://127.0.0.1:14000/authZ/2") == 0 &&
	       o.certificate == NULL && o.error == NULL,
	   "a pending order with two names, authorizations in server order");
	ok(o.expires == 1740910272, "expires with nanoseconds parses to the second");
	acme_order_free(&o);
	ok(acme_order_parse(valid, LEN(valid), &o, &err) == 0 && o.status == ACME_STATUS_VALID &&
	       strcmp(o.certificate, "https://ca/certZ/1") == 0 && o.expires == 0,
	   "a valid order with its certificate URL (no expires)");
	acme_order_free(&o);
	ok(acme_order_parse(invalid, LEN(invalid), &o, &err) == 0 &&
	       o.status == ACME_STATUS_INVALID && o.error &&
	       strcmp(acme_problem_short(o.error->type), "unauthorized") == 0 &&
	       strcmp(o.error->detail, "no") == 0,
	   "an invalid order with its error");
	acme_order_free(&o);
#define ORDER_VARIANT(find, repl, field, what)                                                     \
	do {                                                                                       \
		const char *at = strstr(order_pending, find);                                      \
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - order_pending), order_pending,   \
		         repl, at + strlen(find));                                                 \
		ok(acme_order_parse(buf, strlen(buf), &o, &err) == -1 && malformed(field) &&       \
		       o.identifiers == NULL,                                                      \
		   what);                                                                          \
	} while (0)
	ORDER_VARIANT("\"pending\"", "\"deactivated\"", "status",
	              "deactivated is not an order status");
	ORDER_VARIANT("\"pending\"", "\"PENDING\"", "status", "statuses are case-sensitive");
	ORDER_VARIANT("2025-03-02T10:11:12.123456789Z", "tomorrow", "expires",
	              "expires must be a date-time");
	ORDER_VARIANT("\"identifiers\":[", "\"identifiers\":[1,", "identifier",
	              "an identifier must be an object");
	ORDER_VARIANT("\"value\":\"b.test\"", "\"value\":\"\"", "identifier.value",
	              "an empty identifier value is refused");
	ORDER_VARIANT("https://127.0.0.1:14000/finalize-order/X", "http://127.0.0.1/f", "finalize",
	              "finalize must be https");
	ORDER_VARIANT("\"finalize\"", "\"finalise\"", "finalize", "finalize is required");
	ORDER_VARIANT("\"https://127.0.0.1:14000/authZ/1\"", "null", "authorizations",
	              "authorizations must hold URLs");
	ORDER_VARIANT("\"authorizations\"", "\"authz\"", "authorizations",
	              "authorizations is required");
	ORDER_VARIANT("{\"type\":\"dns\",\"value\":\"b.test\"},{\"type\":\"dns\","
	              "\"value\":\"a.test\"}",
	              "", "identifiers", "identifiers must not be empty");
	ORDER_VARIANT("\"status\":\"pending\"", "\"status\":\"valid\"", "certificate",
	              "a valid order needs a certificate URL");
	ORDER_VARIANT("\"expires\"", "\"error\":\"oops\",\"x\"", "error",
	              "error must be a problem object");
}

static const char *authz_pending =
    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
    "\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/chalZ/1\","
    "\"token\":\"dns-tok\",\"status\":\"pending\"},{\"type\":\"http-01\","
    "\"url\":\"https://ca/chalZ/2\",\"token\":\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\","
    "\"status\":\"pending\"},{\"type\":\"tls-alpn-01\",\"url\":\"https://ca/chalZ/3\","
    "\"token\":\"alpn\",\"status\":\"pending\"}],\"expires\":\"2025-03-02T11:11:12+01:00\"}";

static void test_authz(void)
{
	const char *invalid =
	    "{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":\"c.test\"},"
	    "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/ch\",\"token\":\"t\","
	    "\"status\":\"invalid\",\"validated\":\"2025-01-01T00:00:00Z\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"Non-200 status code "
	    "from HTTP: http://c.test:5002/.well-known/acme-challenge/t returned 404\","
	    "\"status\":403}}],\"wildcard\":false}";
	const char *wild = "{\"status\":\"valid\",\"identifier\":{\"type\":\"dns\",\"value\":"
	                   "\"w.test\"},\"challenges\":[],\"wildcard\":true}";
	struct acme_authz a;
	const struct acme_challenge *ch;
	char buf[1024];

	ok(acme_authz_parse(authz_pending, LEN(authz_pending), &a, &err) == 0 &&
	       a.status == ACME_STATUS_PENDING && strcmp(a.identifier.value, "a.test") == 0 &&
	       a.n_challenges == 3 && !a.wildcard,
	   "a pending authorization with three challenges in any order");
	ch = acme_authz_challenge(&a, "http-01");
	ok(ch && strcmp(ch->url, "https://ca/chalZ/2") == 0 && strlen(ch->token) == 43 &&
	       ch->status == ACME_STATUS_PENDING,
	   "the http-01 challenge is found by type, not position");
	ok(acme_authz_challenge(&a, "http-02") == NULL, "an absent type is NULL");
	ok(a.expires == 1740910272, "expires with a +01:00 offset converts to UTC");
	acme_authz_free(&a);
	ok(acme_authz_parse(invalid, LEN(invalid), &a, &err) == 0 &&
	       a.status == ACME_STATUS_INVALID && a.challenges[0].error &&
	       strstr(a.challenges[0].error->detail, "returned 404") &&
	       a.challenges[0].error->status == 403,
	   "an invalid authorization carries the challenge's problem");
	acme_authz_free(&a);
	ok(acme_authz_parse(wild, LEN(wild), &a, &err) == 0 && a.wildcard && a.n_challenges == 0,
	   "a valid wildcard authorization with no challenges left");
	acme_authz_free(&a);
#define AUTHZ_VARIANT(find, repl, field, what)                                                     \
	do {                                                                                       \
		const char *at = strstr(authz_pending, find);                                      \
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - authz_pending), authz_pending,   \
		         repl, at + strlen(find));                                                 \
		ok(acme_authz_parse(buf, strlen(buf), &a, &err) == -1 && malformed(field) &&       \
		       a.challenges == NULL,                                                       \
		   what);                                                                          \
	} while (0)
	AUTHZ_VARIANT("\"status\":\"pending\",\"identifier\"",
	              "\"status\":\"ready\",\"identifier\"", "status",
	              "ready is not an authorization status");
	AUTHZ_VARIANT("\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"}",
	              "\"identifier\":\"a\"", "identifier", "identifier must be an object");
	AUTHZ_VARIANT("\"challenges\":[", "\"challenges\":\"none\",\"c\":[", "challenges",
	              "challenges must be an array");
	AUTHZ_VARIANT("\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"", "\"../../etc/passwd\"",
	              "token", "a token with path characters is refused");
	AUTHZ_VARIANT("\"token\":\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\",", "", "token",
	              "an http-01 challenge needs a token");
	AUTHZ_VARIANT("\"url\":\"https://ca/chalZ/2\"", "\"url\":\"ftp://ca/x\"", "url",
	              "a challenge URL must be https");
	AUTHZ_VARIANT("\"status\":\"pending\"},{\"type\":\"tls",
	              "\"status\":\"ready\"},{\"type\":\"tls", "status",
	              "ready is not a challenge status");
	AUTHZ_VARIANT("\"type\":\"dns-01\"", "\"type\":[]", "type", "a challenge type is a string");
	AUTHZ_VARIANT("\"expires\":\"2025-03-02T11:11:12+01:00\"", "\"wildcard\":\"yes\"",
	              "wildcard", "wildcard must be a boolean");
	AUTHZ_VARIANT("{\"type\":\"dns-01\"", "7,{\"type\":\"dns-01\"", "challenges",
	              "a challenge must be an object");
}

static void test_challenge(void)
{
	const char *ch =
	    "{\"type\":\"http-01\",\"url\":\"https://ca/chalZ/2\",\"token\":\"abc_-1\","
	    "\"status\":\"processing\"}";
	const char *other =
	    "{\"type\":\"example-01\",\"url\":\"https://ca/c\",\"status\":\"valid\"}";
	char long_token[400];
	struct acme_challenge c;

	ok(acme_challenge_parse(ch, LEN(ch), &c, &err) == 0 && c.status == ACME_STATUS_PROCESSING &&
	       strcmp(c.token, "abc_-1") == 0 && c.error == NULL,
	   "a processing http-01 challenge");
	acme_challenge_free(&c);
	ok(acme_challenge_parse(other, LEN(other), &c, &err) == 0 && c.token == NULL,
	   "an unknown challenge type needs no token");
	acme_challenge_free(&c);
	snprintf(long_token, sizeof(long_token),
	         "{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"status\":\"pending\","
	         "\"token\":\"%0129d\"}",
	         0);
	ok(acme_challenge_parse(long_token, strlen(long_token), &c, &err) == -1 &&
	       malformed("token"),
	   "a 129-character token is refused");
	ok(acme_challenge_parse(S("{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"token\":\"\","
	                          "\"status\":\"pending\"}"),
	                        &c, &err) == -1 &&
	       malformed("token"),
	   "an empty token is refused");
	ok(acme_challenge_parse(
	       S("{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"token\":\"t\"}"), &c, &err) ==
	           -1 &&
	       malformed("status"),
	   "a challenge needs a status");
	ok(acme_challenge_parse(S("{\"type\":\"x\",\"url\":\"https://ca/c\",\"status\":\"valid\","
	                          "\"error\":{\"status\":\"no\"}}"),
	                        &c, &err) == -1 &&
	       malformed("status"),
	   "a malformed embedded error is refused");
}

static void test_renewal_info(void)
{
	const char *ari = "{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	                  "\"end\":\"2025-01-03T04:00:00Z\"},"
	                  "\"explanationURL\":\"https://acme.example.com/docs/ari\"}";
	struct acme_renewal_info r;

	ok(acme_renewal_info_parse(ari, LEN(ari), &r, &err) == 0 && r.start == 1735790400 &&
	       r.end == 1735876800 &&
	       strcmp(r.explanation_url, "https://acme.example.com/docs/ari") == 0,
	   "renewalInfo: window start and end, explanationURL");
	acme_renewal_info_free(&r);
	ok(acme_renewal_info_parse(S("{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	                             "\"end\":\"2025-01-02T04:00:00Z\"}}"),
	                           &r, &err) == -1 &&
	       malformed("suggestedWindow"),
	   "an empty window is refused");
	ok(acme_renewal_info_parse(S("{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\"}}"),
	                           &r, &err) == -1 &&
	       malformed("end"),
	   "a window needs an end");
	ok(acme_renewal_info_parse(S("{\"explanationURL\":\"https://x\"}"), &r, &err) == -1 &&
	       malformed("suggestedWindow"),
	   "suggestedWindow is required");
	ok(acme_renewal_info_parse(S("{\"suggestedWindow\":{\"start\":1,\"end\":2}}"), &r, &err) ==
	           -1 &&
	       malformed("start"),
	   "numeric times are refused");
}

static void test_time(void)
{
	time_t t;

	ok(acme_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "the epoch");
	ok(acme_time_parse("2024-02-29t23:59:59z", &t) == 0 && t == 1709251199,
	   "a leap day, lower-case t and z");
	ok(acme_time_parse("2025-01-01T00:00:00-05:30", &t) == 0 && t == 1735709400,
	   "a negative offset");
	ok(acme_time_parse("2025-01-01T00:00:00.5+00:00", &t) == 0 && t == 1735689600,
	   "a fraction with an offset");
	ok(acme_time_parse("2025-01-01T00:00:00", &t) == -1, "no offset is refused");
	ok(acme_time_parse("2025-13-01T00:00:00Z", &t) == -1, "month 13 is refused");
	ok(acme_time_parse("2025-04-31T00:00:00Z", &t) == -1, "April 31 is refused");
	ok(acme_time_parse("2025-01-01T24:00:00Z", &t) == -1, "hour 24 is refused");
	ok(acme_time_parse("2025-01-01T00:00:00.Z", &t) == -1, "an empty fraction is refused");
	ok(acme_time_parse("2025-01-01 00:00:00Z", &t) == -1, "a space separator is refused");
	ok(acme_time_parse("2025-01-01T00:00:00Zjunk", &t) == -1, "trailing bytes are refused");
	ok(acme_time_parse("2025-01-01T00:00:00+0100", &t) == -1, "an offset without colon");
	ok(acme_time_parse("", &t) == -1 && acme_time_parse("2025", &t) == -1, "short input");
}

static void test_links(void)
{
	const char *one = "<https://ca/certZ/1/alternate/1>;rel=\"alternate\"";
	const char *many = "<https://ca/dir>;rel=\"index\", <https://ca/a,1>; rel=\"alternate\","
	                   "<https://ca/a2>;title=\"x, y\";rel=alternate , <http://ca/a3>;"
	                   "rel=\"alternate\", <https://ca/a4>;rel=\"up alternate\"";
	char *urls[8];
	size_t n;

	n = acme_link_alternates(one, strlen(one), urls, 8);
	ok(n == 1 && strcmp(urls[0], "https://ca/certZ/1/alternate/1") == 0,
	   "Pebble's alternate link");
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	n = acme_link_alternates(many, strlen(many), urls, 8);
	ok(n == 3 && strcmp(urls[0], "https://ca/a,1") == 0 &&
	       strcmp(urls[1], "https://ca/a2") == 0 && strcmp(urls[2], "https://ca/a4") == 0,
	   "a list: commas in URLs and quotes, unquoted rel, rel lists; index and http skipped");
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	n = acme_link_alternates(many, strlen(many), urls, 1);
	ok(n == 1, "at most max URLs");
	free(urls[0]);
	ok(acme_link_alternates("<https://ca/x", 13, urls, 8) == 0 &&
	       acme_link_alternates("garbage", 7, urls, 8) == 0,
	   "unterminated or missing links give nothing");
}

int main(void)
{
	test_directory();
	test_problem();
	test_account();
	test_order();
	test_authz();
	test_challenge();
	test_renewal_info();
	test_time();
	test_links();
	ok(strcmp(acme_status_name(ACME_STATUS_PROCESSING), "processing") == 0 &&
	       strcmp(acme_status_name(ACME_STATUS_MAX), "unknown") == 0,
	   "status names");
	return done_testing();
}
