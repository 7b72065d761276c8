/* WAF rules in JSON: every validation error with its field and code, the
 * PCRE2 message and offset of an invalid pattern, the round trip through
 * waf_rule_to_json, copies and names. And the presets' prefilters against
 * their full conditions, on the corpus and variants of it. */
#include "waf/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tests/unit/tap.h"
#include "waf/detect.h"
#include "waf/engine.h"

/* ---- helpers */

/* Decode text (a JSON document). Returns waf_rule_from_json's result, or
 * -2 when text itself is not JSON (a broken test). */
static int decode(const char *text, struct waf_rule *out, struct error *err, const char **field)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	int rc;

	if (j == NULL) {
		printf("# test JSON does not parse: %s: %s\n", text, jerr.text);
		return -2;
	}
	rc = waf_rule_from_json(j, out, err, field);
	json_decref(j);
	return rc;
}

/* A rule with one condition around cond (a JSON object text). */
static char *rule_with(const char *cond)
{
	static char buf[20100]; /* a condition of up to 20000 bytes and the rule around it */

	snprintf(buf, sizeof(buf), "{\"conditions\":[%s],\"action\":\"block\"}", cond);
	return buf;
}

/* Decoding text fails with code at field. */
static void refused(const char *text, const char *code, const char *field, const char *what)
{
	struct waf_rule r;
	struct error err = {"", ""};
	const char *f = NULL;
	int rc;

	memset(&r, 0x5a, sizeof(r));
	rc = decode(text, &r, &err, &f);
	ok(rc == -1 && strcmp(err.code, code) == 0 && f != NULL && strcmp(f, field) == 0 &&
	       err.message[0] != '\0',
	   "refused, %s: %s at '%s' (got %d %s at '%s': %s)", what, code, field, rc, err.code,
	   f ? f : "(null)", err.message);
}

static void accepted(const char *text, const char *what)
{
	struct waf_rule r;
	struct error err = {"", ""};
	const char *f = NULL;
	int rc = decode(text, &r, &err, &f);

	ok(rc == 0, "accepted: %s (%s %s)", what, err.code, err.message);
	if (rc == 0)
		waf_rule_free(&r);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- the rule object */

static void test_minimal(void)
{
	struct waf_rule r;
	struct error err;
	const char *f = NULL;

	ok(decode("{\"conditions\":[{\"target\":\"path\",\"operator\":\"contains\",\"value\":"
	          "\"/admin\"}],\"action\":\"log\"}",
	          &r, &err, &f) == 0,
	   "a minimal rule decodes");
	ok(r.id == 0 && r.preset == 0 && r.enabled == 1, "id 0, preset 0, enabled 1 by default");
	ok(r.description != NULL && r.description[0] == '\0', "description defaults to \"\"");
	ok(r.n_applications == 0 && r.applications == NULL, "applications default to every one");
	ok(r.n_conditions == 1 && r.conditions[0].target == WAF_TARGET_PATH &&
	       r.conditions[0].op == WAF_OP_CONTAINS &&
	       strcmp(r.conditions[0].value, "/admin") == 0 && r.conditions[0].n_transforms == 0,
	   "the condition is decoded");
	ok(r.action == WAF_ACTION_LOG, "the action is decoded");
	waf_rule_free(&r);
	ok(r.description == NULL && r.n_conditions == 0, "waf_rule_free clears the rule");
	waf_rule_free(&r);
	waf_rule_free(NULL);
	ok(1, "freeing twice and NULL is harmless");
}

static void test_full(void)
{
	struct waf_rule r;
	struct error err;
	const char *f = NULL;
	const struct waf_condition *c = &r.conditions[1];

	ok(decode("{\"id\":100007,\"description\":\"d\",\"preset\":true,\"enabled\":false,"
	          "\"applications\":[3,1],\"conditions\":["
	          "{\"target\":\"args\",\"operator\":\"regex\",\"value\":\"(?i)union\","
	          "\"transforms\":[]},"
	          "{\"target\":\"header:X-Api-Key\",\"operator\":\"equals\",\"value\":\"k\","
	          "\"transforms\":[\"url_decode\",\"lowercase\",\"remove_comments\"]}],"
	          "\"action\":\"allow\"}",
	          &r, &err, &f) == 0,
	   "a rule with every field decodes (%s)", err.message);
	ok(r.id == 100007 && r.preset == 1 && r.enabled == 0, "id, preset, enabled");
	ok(strcmp(r.description, "d") == 0, "description");
	ok(r.n_applications == 2 && r.applications[0] == 3 && r.applications[1] == 1,
	   "applications, in order");
	ok(r.n_conditions == 2 && c->target == WAF_TARGET_HEADER &&
	       strcmp(c->header_name, "X-Api-Key") == 0,
	   "header target keeps the name as written");
	ok(c->n_transforms == 3 && c->transforms[0] == WAF_T_URL_DECODE &&
	       c->transforms[1] == WAF_T_LOWERCASE && c->transforms[2] == WAF_T_REMOVE_COMMENTS,
	   "transforms in order");
	ok(r.action == WAF_ACTION_ALLOW, "allow");
	waf_rule_free(&r);
}

static void test_top_level_errors(void)
{
	char text[1200], *desc;
	const char *cond = "{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\"}";

	refused("[1]", "invalid_rule", "", "not an object");
	refused("\"rule\"", "invalid_rule", "", "a string");
	snprintf(text, sizeof(text), "{\"conditions\":[%s],\"action\":\"block\",\"extra\":1}",
	         cond);
	refused(text, "invalid_rule", "extra", "an unknown field");
	snprintf(text, sizeof(text), "{\"id\":\"1\",\"conditions\":[%s],\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "id", "id as a string");
	snprintf(text, sizeof(text), "{\"id\":-4,\"conditions\":[%s],\"action\":\"block\"}", cond);
	refused(text, "invalid_rule", "id", "a negative id");
	snprintf(text, sizeof(text), "{\"id\":1.5,\"conditions\":[%s],\"action\":\"block\"}", cond);
	refused(text, "invalid_rule", "id", "a fractional id");
	snprintf(text, sizeof(text), "{\"description\":7,\"conditions\":[%s],\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "description", "description as a number");
	desc = repeat('d', 513);
	snprintf(text, sizeof(text),
	         "{\"description\":\"%s\",\"conditions\":[%s],"
	         "\"action\":\"block\"}",
	         desc, cond);
	refused(text, "invalid_rule", "description", "a 513-byte description");
	desc[512] = '\0';
	snprintf(text, sizeof(text),
	         "{\"description\":\"%s\",\"conditions\":[%s],"
	         "\"action\":\"block\"}",
	         desc, cond);
	accepted(text, "a 512-byte description");
	free(desc);
	snprintf(text, sizeof(text),
	         "{\"description\":\"a\\u0000b\",\"conditions\":[%s],"
	         "\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "description", "a NUL in the description");
	snprintf(text, sizeof(text), "{\"preset\":1,\"conditions\":[%s],\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "preset", "preset as a number");
	snprintf(text, sizeof(text),
	         "{\"enabled\":\"yes\",\"conditions\":[%s],"
	         "\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "enabled", "enabled as a string");
	snprintf(text, sizeof(text), "{\"conditions\":[%s]}", cond);
	refused(text, "invalid_rule", "action", "a missing action");
	snprintf(text, sizeof(text), "{\"conditions\":[%s],\"action\":\"deny\"}", cond);
	refused(text, "invalid_rule", "action", "an unknown action");
	snprintf(text, sizeof(text), "{\"conditions\":[%s],\"action\":[\"block\"]}", cond);
	refused(text, "invalid_rule", "action", "an action that is not a string");
	snprintf(text, sizeof(text), "{\"conditions\":[%s],\"action\":\"block\\u0000x\"}", cond);
	refused(text, "invalid_rule", "action", "an action with a NUL inside");
}

static void test_application_errors(void)
{
	static char text[8000];
	const char *cond = "{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\"}";
	const char *bad[] = {"{}", "1", "[0]", "[-2]", "[\"1\"]", "[1.0]", "[1,null]"};
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char what[64];

		snprintf(text, sizeof(text),
		         "{\"applications\":%s,\"conditions\":[%s],"
		         "\"action\":\"block\"}",
		         bad[i], cond);
		snprintf(what, sizeof(what), "applications %s", bad[i]);
		refused(text, "invalid_rule", "applications", what);
	}
	n = (size_t)snprintf(text, sizeof(text), "{\"applications\":[");
	for (int i = 1; i <= WAF_MAX_RULE_APPS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i > 1 ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "],\"conditions\":[%s],\"action\":\"block\"}", cond);
	accepted(text, "256 applications");
	snprintf(text + n, sizeof(text) - n, ",257],\"conditions\":[%s],\"action\":\"block\"}",
	         cond);
	refused(text, "invalid_rule", "applications", "257 applications");
}

static void test_condition_list_errors(void)
{
	char text[2000];
	const char *cond = "{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\"}";
	size_t n;

	refused("{\"action\":\"block\"}", "invalid_rule", "conditions", "missing conditions");
	refused("{\"conditions\":[],\"action\":\"block\"}", "invalid_rule", "conditions",
	        "no conditions");
	refused("{\"conditions\":{},\"action\":\"block\"}", "invalid_rule", "conditions",
	        "conditions as an object");
	n = (size_t)snprintf(text, sizeof(text), "{\"conditions\":[");
	for (int i = 0; i < WAF_MAX_CONDITIONS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", i ? "," : "", cond);
	snprintf(text + n, sizeof(text) - n, "],\"action\":\"block\"}");
	accepted(text, "8 conditions");
	snprintf(text + n, sizeof(text) - n, ",%s],\"action\":\"block\"}", cond);
	refused(text, "invalid_rule", "conditions", "9 conditions");
	refused(rule_with("\"path\""), "invalid_rule", "conditions[0]",
	        "a condition that is not an object");
	snprintf(text, sizeof(text), "{\"conditions\":[%s,7],\"action\":\"block\"}", cond);
	refused(text, "invalid_rule", "conditions[1]", "the second condition is a number");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	                  "\"negate\":true}"),
	        "invalid_rule", "conditions[0].negate", "an unknown condition field");
}

static void test_target_errors(void)
{
	char cond[300], *name;

	refused(rule_with("{\"operator\":\"contains\",\"value\":\"x\"}"), "invalid_rule",
	        "conditions[0].target", "a missing target");
	refused(rule_with("{\"target\":3,\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "a target that is not a string");
	refused(rule_with("{\"target\":\"uri\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "an unknown target");
	refused(rule_with("{\"target\":\"header\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "header without a name");
	refused(rule_with("{\"target\":\"header:\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "header with an empty name");
	refused(rule_with("{\"target\":\"header:X Y\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "a header name with a space");
	refused(rule_with("{\"target\":\"header:X:Y\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "a header name with a colon");
	refused(rule_with("{\"target\":\"path:x\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "a name after a target other than header");
	refused(rule_with("{\"target\":\"path\\u0000\",\"operator\":\"contains\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].target", "a target with a NUL");
	name = repeat('N', 64);
	snprintf(cond, sizeof(cond),
	         "{\"target\":\"header:%s\",\"operator\":\"contains\",\"value\":\"x\"}", name);
	refused(rule_with(cond), "invalid_rule", "conditions[0].target", "a 64-byte header name");
	name[63] = '\0';
	snprintf(cond, sizeof(cond),
	         "{\"target\":\"header:%s\",\"operator\":\"contains\",\"value\":\"x\"}", name);
	accepted(rule_with(cond), "a 63-byte header name");
	free(name);
	accepted(rule_with("{\"target\":\"header:X-Odd_#1~\",\"operator\":\"contains\","
	                   "\"value\":\"x\"}"),
	         "a header name with token punctuation");
	const char *targets[] = {"method",  "path",       "query",     "args", "headers",
	                         "cookies", "user_agent", "client_ip", "body"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
		snprintf(cond, sizeof(cond),
		         "{\"target\":\"%s\",\"operator\":\"contains\",\"value\":\"x\"}",
		         targets[i]);
		accepted(rule_with(cond), targets[i]);
	}
}

static void test_operator_errors(void)
{
	char cond[20000], *big;

	refused(rule_with("{\"target\":\"path\",\"value\":\"x\"}"), "invalid_rule",
	        "conditions[0].operator", "a missing operator");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"like\",\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].operator", "an unknown operator");
	refused(rule_with("{\"target\":\"path\",\"operator\":true,\"value\":\"x\"}"),
	        "invalid_rule", "conditions[0].operator", "an operator that is not a string");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"regex\"}"), "invalid_rule",
	        "conditions[0].value", "a regex without a value");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"equals\",\"value\":5}"),
	        "invalid_rule", "conditions[0].value", "a value that is not a string");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"equals\",\"value\":\"a\\u0000\"}"),
	        "invalid_rule", "conditions[0].value", "a value with a NUL");
	big = repeat('v', WAF_MAX_PATTERN + 1);
	snprintf(cond, sizeof(cond),
	         "{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"%s\"}", big);
	refused(rule_with(cond), "invalid_rule", "conditions[0].value", "an 8193-byte value");
	big[WAF_MAX_PATTERN] = '\0';
	snprintf(cond, sizeof(cond),
	         "{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"%s\"}", big);
	accepted(rule_with(cond), "an 8192-byte pattern");
	free(big);
	accepted(rule_with("{\"target\":\"args\",\"operator\":\"detect_sqli\"}"),
	         "detect_sqli without a value");
	accepted(rule_with("{\"target\":\"args\",\"operator\":\"detect_xss\",\"value\":\"any\"}"),
	         "detect_xss with any value");
	accepted(rule_with("{\"target\":\"path\",\"operator\":\"equals\",\"value\":\"\"}"),
	         "equals an empty value");
}

static void test_value_errors(void)
{
	refused(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\"abc\"}"),
	        "invalid_rule", "conditions[0].value", "length_gt with letters");
	refused(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\"-1\"}"),
	        "invalid_rule", "conditions[0].value", "length_gt with a sign");
	refused(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\"\"}"),
	        "invalid_rule", "conditions[0].value", "length_gt empty");
	refused(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":"
	                  "\"99999999999999999999999\"}"),
	        "invalid_rule", "conditions[0].value", "length_gt overflowing");
	refused(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\" 4\"}"),
	        "invalid_rule", "conditions[0].value", "length_gt with a space");
	accepted(rule_with("{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\"4096\"}"),
	         "length_gt 4096");
	refused(rule_with("{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":"
	                  "\"10.0.0.0/33\"}"),
	        "invalid_cidr", "conditions[0].value", "ip_in with a bad prefix length");
	refused(rule_with("{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":"
	                  "\"10.0.0.1, example.com\"}"),
	        "invalid_cidr", "conditions[0].value", "ip_in with a host name");
	refused(rule_with("{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":\"\"}"),
	        "invalid_cidr", "conditions[0].value", "ip_in with an empty list");
	accepted(rule_with("{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":"
	                   "\"10.0.0.0/8, 192.0.2.1 2001:db8::/32\"}"),
	         "ip_in with IPv4 and IPv6 prefixes");
}

static void test_transform_errors(void)
{
	refused(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	                  "\"transforms\":\"lowercase\"}"),
	        "invalid_rule", "conditions[0].transforms", "transforms as a string");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	                  "\"transforms\":[\"rot13\"]}"),
	        "invalid_rule", "conditions[0].transforms", "an unknown transform");
	refused(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	                  "\"transforms\":[1]}"),
	        "invalid_rule", "conditions[0].transforms", "a transform that is not a string");
	refused(
	    rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	              "\"transforms\":[\"lowercase\",\"lowercase\",\"lowercase\",\"lowercase\","
	              "\"lowercase\",\"lowercase\",\"lowercase\",\"lowercase\",\"lowercase\"]}"),
	    "invalid_rule", "conditions[0].transforms", "9 transforms");
	accepted(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\","
	                   "\"transforms\":[\"url_decode\",\"html_entity_decode\",\"lowercase\","
	                   "\"compress_whitespace\",\"remove_comments\",\"url_decode\","
	                   "\"lowercase\",\"lowercase\"]}"),
	         "8 transforms, every name");
	refused("{\"conditions\":[{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\"},"
	        "{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"x\",\"transforms\":"
	        "[\"upper\"]}],\"action\":\"log\"}",
	        "invalid_rule", "conditions[1].transforms", "the field names the right condition");
}

static void test_invalid_regex(void)
{
	struct waf_rule r;
	struct error err;
	const char *f = NULL;

	ok(decode(rule_with("{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"(ab\"}"), &r,
	          &err, &f) == -1,
	   "an unclosed group is refused");
	ok(strcmp(err.code, "invalid_regex") == 0 && strcmp(f, "conditions[0].value") == 0,
	   "invalid_regex at conditions[0].value");
	ok(strcmp(err.message,
	          "conditions[0].value: PCRE2 error at offset 3: missing closing parenthesis") == 0,
	   "the message names PCRE2's offset and message (%s)", err.message);
	ok(decode(
	       rule_with("{\"target\":\"path\",\"operator\":\"not_regex\",\"value\":\"a{2,1}\"}"),
	       &r, &err, &f) == -1 &&
	       strcmp(err.code, "invalid_regex") == 0 && strstr(err.message, "offset 5") != NULL,
	   "not_regex patterns are checked too (%s)", err.message);
	ok(decode(rule_with("{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"(*UTF)x\"}"),
	          &r, &err, &f) == -1 &&
	       strcmp(err.code, "invalid_regex") == 0,
	   "(*UTF) is refused: values are matched as bytes (%s)", err.message);
	accepted(rule_with("{\"target\":\"path\",\"operator\":\"regex\",\"value\":"
	                   "\"(?i)^/wp-(admin|login)\\\\.php\"}"),
	         "a pattern with an inline flag");
	accepted(rule_with("{\"target\":\"path\",\"operator\":\"contains\",\"value\":\"(ab\"}"),
	         "contains does not treat its value as a pattern");
}

/* A failure leaves out untouched, and field is NULL-safe. */
static void test_out_untouched(void)
{
	struct waf_rule r;
	struct error err;
	unsigned char before[sizeof(r)];

	memset(&r, 0x33, sizeof(r));
	memcpy(before, &r, sizeof(r));
	ok(decode(rule_with("{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"[\"}"), &r,
	          &err, NULL) == -1 &&
	       memcmp(before, &r, sizeof(r)) == 0,
	   "a refused rule leaves out untouched (field may be NULL)");
}

/* ---- encoding, copies, names */

static void test_round_trip(void)
{
	const char *text =
	    "{\"id\":100042,\"description\":\"block admin probes\",\"preset\":false,"
	    "\"enabled\":true,\"applications\":[7,2],\"conditions\":["
	    "{\"target\":\"header:X-Forwarded-Host\",\"operator\":\"not_regex\","
	    "\"value\":\"^example\\\\.com$\",\"transforms\":[\"lowercase\"]},"
	    "{\"target\":\"args\",\"operator\":\"detect_sqli\",\"value\":\"\","
	    "\"transforms\":[\"url_decode\",\"remove_comments\"]},"
	    "{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":\"10.0.0.0/8\","
	    "\"transforms\":[]}],\"action\":\"log\"}";
	json_t *want = json_loads(text, 0, NULL), *got, *again;
	struct waf_rule r, r2;
	struct error err;
	const char *f;

	ok(waf_rule_from_json(want, &r, &err, &f) == 0, "the round-trip rule decodes");
	got = waf_rule_to_json(&r);
	ok(got != NULL && json_equal(got, want), "waf_rule_to_json gives the same object back");
	ok(json_is_string(
	       json_object_get(json_array_get(json_object_get(got, "conditions"), 0), "target")) &&
	       strcmp(json_string_value(json_object_get(
	                  json_array_get(json_object_get(got, "conditions"), 0), "target")),
	              "header:X-Forwarded-Host") == 0,
	   "a header target prints as header:Name");
	ok(waf_rule_from_json(got, &r2, &err, &f) == 0, "and decodes again");
	again = waf_rule_to_json(&r2);
	ok(json_equal(again, got), "to the same object");
	json_decref(want);
	json_decref(got);
	json_decref(again);
	waf_rule_free(&r2);

	ok(waf_rule_copy(&r2, &r) == 0, "a rule copies");
	ok(r2.description != r.description && strcmp(r2.description, r.description) == 0 &&
	       r2.applications != r.applications && r2.applications[1] == 2 &&
	       r2.conditions[2].value != r.conditions[2].value &&
	       strcmp(r2.conditions[2].value, "10.0.0.0/8") == 0,
	   "the copy owns its strings and applications");
	got = waf_rule_to_json(&r);
	again = waf_rule_to_json(&r2);
	ok(json_equal(got, again), "the copy encodes like the original");
	json_decref(got);
	json_decref(again);
	waf_rule_free(&r);

	struct waf_rule *list = calloc(2, sizeof(*list));
	ok(waf_rule_copy(&list[0], &r2) == 0 && waf_rule_copy(&list[1], &r2) == 0,
	   "copies into a list");
	waf_rule_list_free(list, 2);
	waf_rule_list_free(NULL, 0);
	ok(1, "waf_rule_list_free frees a list (and takes NULL)");
	waf_rule_free(&r2);
}

static void test_names(void)
{
	ok(strcmp(waf_operator_name(WAF_OP_REGEX), "regex") == 0 &&
	       strcmp(waf_operator_name(WAF_OP_NOT_REGEX), "not_regex") == 0 &&
	       strcmp(waf_operator_name(WAF_OP_LENGTH_GT), "length_gt") == 0 &&
	       strcmp(waf_operator_name(WAF_OP_IP_IN), "ip_in") == 0 &&
	       strcmp(waf_operator_name(WAF_OP_DETECT_XSS), "detect_xss") == 0,
	   "operator names");
	ok(strcmp(waf_operator_name(WAF_OP_MAX), "unknown") == 0, "an out-of-range operator");
	ok(strcmp(waf_action_name(WAF_ACTION_BLOCK), "block") == 0 &&
	       strcmp(waf_action_name(WAF_ACTION_LOG), "log") == 0 &&
	       strcmp(waf_action_name(WAF_ACTION_ALLOW), "allow") == 0 &&
	       strcmp(waf_action_name(WAF_ACTION_MAX), "unknown") == 0,
	   "action names");
}

/* ---- the presets' prefilters against their full conditions
 *
 * A prefilter (waf/preset.c) lets the engine skip a value that cannot
 * match a preset condition; a wrong one would let an attack through
 * unseen. So every one is checked on a pool of values: every string of
 * the corpus (tests/waf/corpus.jsonl), its pieces (split at & = ? / ;
 * and spaces, raw and decoded) and variants of each (upper case,
 * percent-encoded once and twice, HTML entities, inside other text).
 * Then the engine as a whole: the presets against the same rules as
 * custom rules (which have no prefilter and no memo), on every corpus
 * request and on requests that carry pool values in every target, each
 * evaluated twice (the second time with the header memo filled): the
 * hits must be the same, rule by rule, target and excerpt included. */

struct pool {
	char **v;
	size_t *len, n, cap;
};

static void pool_add(struct pool *p, const char *s, size_t len)
{
	if (len == 0 || len > 4096)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		p->len = realloc(p->len, p->cap * sizeof(*p->len));
	}
	p->v[p->n] = malloc(len + 1);
	memcpy(p->v[p->n], s, len);
	p->v[p->n][len] = '\0';
	p->len[p->n++] = len;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9'                     ? c - '0'
	       : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
	                                                : -1;
}

/* Percent-decode once ('+' too) into out; returns the length. */
static size_t pct_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && len - i >= 3 && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			out[o++] = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return o;
}

/* Percent-encode every byte but letters and digits; returns the length
 * (out has 3 * len bytes). */
static size_t pct_encode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			out[o++] = (char)c;
		else if (c >= '0' && c <= '9')
			out[o++] = (char)c;
		else
			o += (size_t)sprintf(out + o, "%%%02X", c);
	}
	return o;
}

/* s and its variants. */
static void pool_variants(struct pool *p, const char *s, size_t len)
{
	char *a = malloc(9 * len + 64), *b = malloc(9 * len + 64);
	size_t n, i, k;

	pool_add(p, s, len);
	for (i = 0; i < len; i++)
		a[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
	pool_add(p, a, len);
	n = pct_encode(s, len, a);
	pool_add(p, a, n);
	pool_add(p, b, pct_encode(a, n, b));
	for (i = 0, k = 0; i < len; i++) {
		if (strchr("<>\"'&", s[i]) != NULL && s[i] != '\0')
			k += (size_t)sprintf(a + k, "&#%d;", s[i]);
		else
			a[k++] = s[i];
	}
	pool_add(p, a, k);
	n = (size_t)snprintf(a, 64, "see %.*s", (int)(len < 40 ? len : 40), s);
	memcpy(a + n, s, len);
	memcpy(a + n + len, " ok", 3);
	pool_add(p, a, n + len + 3);
	free(a);
	free(b);
}

/* s, its pieces, and all of them decoded once; each with its variants. */
static void pool_pieces(struct pool *p, const char *s, size_t len)
{
	char *d = malloc(len + 1);
	size_t start = 0;

	pool_variants(p, s, len);
	pool_variants(p, d, pct_decode(s, len, d));
	for (size_t i = 0; i <= len; i++) {
		if (i < len && strchr("&=?/; ", s[i]) == NULL)
			continue;
		if (i > start && i - start < len) {
			pool_add(p, s + start, i - start);
			pool_add(p, d, pct_decode(s + start, i - start, d));
		}
		start = i + 1;
	}
	free(d);
}

static json_t *corpus_load(void)
{
	const char *srcdir = getenv("POSTERN_SRCDIR");
	char path[4096], line[1 << 16];
	json_t *all = json_array();
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/waf/corpus.jsonl", srcdir ? srcdir : ".");
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		json_t *j = line[0] == '{' ? json_loads(line, JSON_ALLOW_NUL, NULL) : NULL;

		if (j != NULL)
			json_array_append_new(all, j);
	}
	if (f != NULL)
		fclose(f);
	return all;
}

static void pool_from_corpus(struct pool *p, json_t *corpus)
{
	size_t i;
	json_t *j, *v;
	const char *key;

	json_array_foreach(corpus, i, j)
	{
		json_t *path = json_object_get(j, "path"), *body = json_object_get(j, "body");

		if (json_is_string(path))
			pool_pieces(p, json_string_value(path), json_string_length(path));
		if (json_is_string(body))
			pool_pieces(p, json_string_value(body), json_string_length(body));
		json_object_foreach(json_object_get(j, "headers"), key, v)
		{
			if (json_is_string(v))
				pool_pieces(p, json_string_value(v), json_string_length(v));
		}
	}
}

/* Does the preset condition c match the (transformed) value s? */
static int full_match(const struct waf_condition *c, pcre2_code *code, pcre2_match_data *md,
                      const char *s, size_t len)
{
	if (c->op == WAF_OP_DETECT_XSS)
		return waf_detect_xss(s, len);
	if (c->op == WAF_OP_DETECT_SQLI)
		return waf_detect_sqli(s, len);
	return pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0;
}

static int prefilter_passes(const struct waf_prefilter *pf, const char *s, size_t len)
{
	uint64_t sum = waf_summary(s, len);

	return (sum & pf->all) == pf->all && (pf->any == 0 || (sum & pf->any) != 0) &&
	       (pf->words == NULL || pf->words(s, len));
}

/* One preset condition over the pool: no value it matches is refused by
 * its prefilter. */
static void check_prefilter(const struct waf_rule *r, const struct pool *p, char *buf)
{
	const struct waf_condition *c = &r->conditions[0];
	pcre2_match_data *md;
	pcre2_code *code = NULL;
	struct waf_prefilter pf;
	size_t matched = 0, refused = 0, wrong = 0;
	PCRE2_SIZE off;
	int e;

	if (!waf_preset_prefilter(c, &pf))
		return;
	md = pcre2_match_data_create(1, NULL);
	if (c->op == WAF_OP_REGEX)
		code = pcre2_compile((PCRE2_SPTR)c->value, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF,
		                     &e, &off, NULL);
	for (size_t i = 0; i < p->n; i++) {
		size_t n =
		    waf_transform_apply(c->transforms, c->n_transforms, p->v[i], p->len[i], buf);
		int full = full_match(c, code, md, buf, n), pre = prefilter_passes(&pf, buf, n);

		matched += full;
		refused += !pre;
		if (full && !pre && wrong++ < 3)
			printf("# rule %lld: refused a value it matches: %.*s\n", r->id,
			       (int)(n < 200 ? n : 200), buf);
	}
	ok(wrong == 0 && (code != NULL || c->op != WAF_OP_REGEX),
	   "preset %lld: its prefilter refuses no value the condition matches (%zu values, %zu "
	   "matched, %zu refused)",
	   r->id, p->n, matched, refused);
	pcre2_code_free(code);
	pcre2_match_data_free(md);
}

/* ---- presets against the same rules as custom rules */

struct hits {
	struct waf_hit h[64];
	size_t n;
};

static int collect_hit(const struct waf_hit *hit, void *arg)
{
	struct hits *hs = arg;

	if (hs->n < 64)
		hs->h[hs->n++] = *hit;
	return 0;
}

struct synth {
	const char *method, *target;
	struct http1_header headers[8];
	size_t n_headers;
	const char *body;
	size_t body_len;
};

static void synth_eval(const struct waf_engine *e, const struct synth *q, struct hits *hs)
{
	static struct waf_request r;
	size_t size = 2 * q->body_len + strlen(q->target) + 4096;
	char *arena = malloc(size);
	struct waf_hit block;

	waf_request_init(&r, arena, size);
	r.method = q->method;
	r.method_len = strlen(q->method);
	r.target = q->target;
	r.target_len = strlen(q->target);
	r.headers = q->headers;
	r.n_headers = q->n_headers;
	r.client_ip = "192.0.2.10";
	r.client_ip_len = 10;
	r.body = q->body;
	r.body_len = r.body_total = q->body_len;
	hs->n = 0;
	waf_engine_eval(e, 1, &r, collect_hit, hs, &block, 1);
	free(arena);
}

static void set_hdr(struct synth *q, const char *name, const char *value, size_t len)
{
	struct http1_header *h = &q->headers[q->n_headers++];

	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = len;
}

/* The same hits from the presets (evaluated twice) as from their custom
 * twins (ids + WAF_FIRST_CUSTOM_ID)? */
static int same_hits(const struct waf_engine *presets, const struct waf_engine *twins,
                     const struct synth *q, const char *what)
{
	struct hits a, b, c;

	synth_eval(twins, q, &a);
	synth_eval(presets, q, &b);
	synth_eval(presets, q, &c);
	for (int pass = 0; pass < 2; pass++) {
		const struct hits *x = pass ? &c : &b;
		int same = x->n == a.n;

		for (size_t i = 0; same && i < a.n; i++)
			same = x->h[i].rule_id + WAF_FIRST_CUSTOM_ID == a.h[i].rule_id &&
			       strcmp(x->h[i].target, a.h[i].target) == 0 &&
			       strcmp(x->h[i].excerpt, a.h[i].excerpt) == 0;
		if (!same) {
			printf(
			    "# %s: %zu hits from the presets (pass %d), %zu from the twins (first "
			    "%lld / %lld)\n",
			    what, x->n, pass + 1, a.n, x->n ? x->h[0].rule_id : 0,
			    a.n ? a.h[0].rule_id : 0);
			return 0;
		}
	}
	return 1;
}

/* A corpus line as the proxy hands it to the WAF. */
static void synth_corpus(struct synth *q, json_t *j)
{
	json_t *v, *body = json_object_get(j, "body");
	const char *key, *ctype = json_string_value(json_object_get(j, "content_type"));

	memset(q, 0, sizeof(*q));
	q->method = json_string_value(json_object_get(j, "method"));
	q->target = json_string_value(json_object_get(j, "path"));
	set_hdr(q, "Host", "example.com", 11);
	json_object_foreach(json_object_get(j, "headers"), key, v)
	{
		if (json_is_string(v) && q->n_headers < 7)
			set_hdr(q, key, json_string_value(v), json_string_length(v));
	}
	if (ctype != NULL && q->n_headers < 8)
		set_hdr(q, "Content-Type", ctype, strlen(ctype));
	q->body = json_string_value(body);
	q->body_len = body != NULL ? json_string_length(body) : 0;
}

/* Value v in the path, a query arg, User-Agent, Referer, another header
 * and a cookie (get), or in a form and a JSON body (post). */
static int same_hits_for(const struct waf_engine *presets, const struct waf_engine *twins,
                         const char *v, size_t len)
{
	static char target[16384], form[16384], json[32768], cookie[8192];
	struct synth q = {.method = "GET", .target = target};
	size_t path = 0, n;
	json_t *s;
	char *text;
	int same;

	while (path < len && path < 50 && v[path] != '?' && v[path] != '#' && v[path] != '\0')
		path++;
	n = (size_t)snprintf(target, 64, "/a/%.*s?q=", (int)path, v);
	s = json_stringn(v, len);
	text = json_dumps(s, JSON_ENCODE_ANY);
	target[n + pct_encode(v, len, target + n)] = '\0';
	snprintf(cookie, sizeof(cookie), "c=%.*s", (int)len, v);
	set_hdr(&q, "Host", "example.com", 11);
	set_hdr(&q, "User-Agent", v, len);
	set_hdr(&q, "Referer", v, len);
	set_hdr(&q, "X-Forwarded-Host", v, len);
	set_hdr(&q, "Cookie", cookie, strlen(cookie));
	same = same_hits(presets, twins, &q, "get");
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.target = "/form";
	set_hdr(&q, "Content-Type", "application/x-www-form-urlencoded", 33);
	q.body = form;
	q.body_len = 2 + pct_encode(v, len, form + 2);
	memcpy(form, "a=", 2);
	same = same && same_hits(presets, twins, &q, "form");
	q.headers[0].value = "application/json";
	q.headers[0].value_len = 16;
	q.body_len = (size_t)snprintf(json, sizeof(json), "{\"a\":%s}", text ? text : "1");
	if (q.body_len >= sizeof(json))
		q.body_len = sizeof(json) - 1;
	q.body = json;
	same = same && same_hits(presets, twins, &q, "json");
	free(text);
	json_decref(s);
	return same;
}

/* Short forms of what each preset looks for, and random strings of
 * attack tokens: the corpus holds whole attacks, these the least that a
 * condition can match. */
static void pool_probes(struct pool *p)
{
	static const char *const probes[] = {
	    "onerror=alert(1)",
	    "x onmouseover=x",
	    "\" onfocus=x",
	    "onload=a`1`",
	    "javascript:alert(1)",
	    "&#106;avascript&colon;alert(1)",
	    "'-alert(1)-'",
	    "\";alert(1)//",
	    "document.cookie",
	    "{{constructor.constructor('alert(1)')()}}",
	    "\xef\xbc\x9cscript\xef\xbc\x9e",
	    "<svg onload=x>",
	    "${alert(1)}",
	    "data:text/html,x",
	    "</script",
	    "<iframe src=x>",
	    "a.innerHTML=1",
	    "../",
	    "..\\",
	    "/..",
	    "..;/",
	    "....//",
	    "\xc0\xae\xc0\xae/",
	    "%c0%ae%c0%ae/",
	    "/etc/passwd",
	    "c:\\boot.ini",
	    "php://filter",
	    "file:///etc",
	    "; id",
	    "|id",
	    "`id`",
	    "$(id)",
	    "\nid",
	    "&& whoami",
	    "{cat,/etc/passwd}",
	    "c'a't /etc/passwd",
	    "nc -e /bin/sh",
	    "/dev/tcp/1.2.3.4/80",
	    "iex(x)",
	    "() { :; }",
	    "${jndi:ldap://x}",
	    "${${lower:j}ndi:x}",
	    "${IFS}",
	    "$IFS$9",
	    "/.git/",
	    "/.env",
	    "/x.bak",
	    "/x~",
	    "/#x#",
	    "/web.config",
	    "/server-status",
	    "/actuator/env",
	    "sqlmap/1.0",
	    "Nikto",
	    "x.oastify.com",
	    "a.oast.fun",
	    "x.burpcollaborator.net/",
	};
	static const char *const tokens[] = {
	    "on",         "error",   "load",        "=",    "alert",  "(",        "1",      ")",
	    "javascript", ":",       "<",           ">",    "script", "'",        "\"",     ";",
	    "|",          "cat",     "/etc/passwd", "..",   "/",      "\\",       "$",      "{",
	    "}",          "IFS",     "jndi",        "ldap", "`",      "id",       "whoami", " ",
	    "-",          "sqlmap",  ".",           "git",  "env",    "%2e",      "%2f",    "%25",
	    "&",          "#",       "x",           "&lt;", "&#",     "nc",       "e",      "sh",
	    "c",          "win.ini", "oast",        "fun",  "com",    "document", "cookie", "\n",
	    "\t",         "~",       "bak",         "svg",  "data",
	};
	unsigned long seed = 12345;
	char buf[256];

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		pool_variants(p, probes[i], strlen(probes[i]));
	for (int i = 0; i < 20000; i++) {
		size_t n = 0, k;

		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		for (k = 1 + (seed >> 60) % 8; k > 0; k--) {
			const char *t;

			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			t = tokens[(seed >> 33) % (sizeof(tokens) / sizeof(tokens[0]))];
			memcpy(buf + n, t, strlen(t));
			n += strlen(t);
		}
		pool_add(p, buf, n);
	}
}

static void test_preset_prefilters(void)
{
	struct waf_rule *list = NULL, *twins;
	struct waf_engine *presets, *twin_engine;
	struct pool p = {0};
	json_t *corpus = corpus_load(), *j;
	struct error err;
	size_t n = 0, i, wrong = 0, checked = 0;
	char *buf = malloc(64 * 1024);
	struct synth q;

	ok(json_array_size(corpus) > 500, "the corpus loads (%zu lines)", json_array_size(corpus));
	pool_from_corpus(&p, corpus);
	pool_probes(&p);
	waf_preset_rules(&list, &n);
	for (i = 0; i < n; i++)
		check_prefilter(&list[i], &p, buf);
	twins = calloc(n, sizeof(*twins));
	for (i = 0; i < n; i++) {
		waf_rule_copy(&twins[i], &list[i]);
		twins[i].preset = 0;
		twins[i].id += WAF_FIRST_CUSTOM_ID;
	}
	presets = waf_engine_build(list, n, &err);
	twin_engine = waf_engine_build(twins, n, &err);
	json_array_foreach(corpus, i, j)
	{
		synth_corpus(&q, j);
		if (q.method != NULL && q.target != NULL)
			wrong += !same_hits(presets, twin_engine, &q,
			                    json_string_value(json_object_get(j, "id")));
	}
	ok(wrong == 0,
	   "every corpus request: the presets hit as their custom twins do (%zu differ)", wrong);
	wrong = 0;
	for (i = 0; i < p.n; i += 3, checked++)
		wrong += !same_hits_for(presets, twin_engine, p.v[i], p.len[i]);
	ok(wrong == 0, "%zu pool values in every target: the same hits (%zu differ)", checked,
	   wrong);
	waf_engine_free(presets);
	waf_engine_free(twin_engine);
	waf_rule_list_free(twins, n);
	waf_rule_list_free(list, n);
	for (i = 0; i < p.n; i++)
		free(p.v[i]);
	free(p.v);
	free(p.len);
	free(buf);
	json_decref(corpus);
	waf_thread_release();
}

int main(void)
{
	test_minimal();
	test_full();
	test_top_level_errors();
	test_application_errors();
	test_condition_list_errors();
	test_target_errors();
	test_operator_errors();
	test_value_errors();
	test_transform_errors();
	test_invalid_regex();
	test_out_untouched();
	test_round_trip();
	test_names();
	test_preset_prefilters();
	return done_testing();
}
