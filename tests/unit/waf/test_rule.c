/* WAF rules in JSON: every validation error with its field and code, the
 * PCRE2 message and offset of an invalid pattern, the round trip through
 * waf_rule_to_json, copies and names. */
#include "waf/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

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
	return done_testing();
}
