/* An application's firewall settings: normalization, every refusal with
 * its field, and the parsed policy. */
#include <string.h>

#include "tests/unit/tap.h"
#include "waf/app_policy.h"

static json_t *norm(const char *text, struct error *err, const char **field)
{
	json_t *in = json_loads(text, 0, NULL), *out;

	*field = NULL;
	error_clear(err);
	out = waf_app_options_normalize(in, err, field);
	json_decref(in);
	return out;
}

static char *norm_text(const char *text)
{
	struct error err;
	const char *field;
	json_t *out = norm(text, &err, &field);
	char *s = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(out);
	return s;
}

static void check_text(const char *in, const char *want)
{
	char *got = norm_text(in);

	ok(got != NULL && strcmp(got, want) == 0, "normalize %s -> %s (got %s)", in, want,
	   got ? got : "NULL");
	free(got);
}

static void check_refused(const char *in, const char *want_field)
{
	struct error err;
	const char *field;
	json_t *out = norm(in, &err, &field);

	ok(out == NULL && strcmp(err.code, "invalid_application") == 0 && field != NULL &&
		   strcmp(field, want_field) == 0,
	   "refused %s at %s (%s: %s)", in, want_field, field ? field : "-", err.message);
	json_decref(out);
}

static void test_normalize(void)
{
	check_text("{}", "{\"ip_allow\":[],\"ip_deny\":[],\"rate_limit\":null,\"waf\":\"off\"}");
	check_text("{\"waf\":\"block\",\"other\":1}",
		   "{\"ip_allow\":[],\"ip_deny\":[],\"rate_limit\":null,\"waf\":\"block\"}");
	check_text("{\"rate_limit\":{\"requests\":5}}",
		   "{\"ip_allow\":[],\"ip_deny\":[],\"rate_limit\":{\"action\":\"block\","
		   "\"block_seconds\":60,\"burst\":0,\"key\":\"ip\",\"per_seconds\":1,\"requests\":5},"
		   "\"waf\":\"off\"}");
	check_text("{\"ip_allow\":[\"10.1.2.3/8\",\"10.0.0.0/8\",\"2001:db8::1/32\"],"
		   "\"ip_deny\":[\"192.0.2.7\"]}",
		   "{\"ip_allow\":[\"10.0.0.0/8\",\"2001:db8::/32\"],\"ip_deny\":[\"192.0.2.7\"],"
		   "\"rate_limit\":null,\"waf\":\"off\"}");
	check_text("{\"rate_limit\":null,\"waf\":\"detect\"}",
		   "{\"ip_allow\":[],\"ip_deny\":[],\"rate_limit\":null,\"waf\":\"detect\"}");

	check_refused("{\"waf\":\"on\"}", "waf");
	check_refused("{\"waf\":1}", "waf");
	check_refused("{\"rate_limit\":5}", "rate_limit");
	check_refused("{\"rate_limit\":{}}", "rate_limit.requests");
	check_refused("{\"rate_limit\":{\"requests\":0}}", "rate_limit.requests");
	check_refused("{\"rate_limit\":{\"requests\":\"5\"}}", "rate_limit.requests");
	check_refused("{\"rate_limit\":{\"requests\":5,\"per_seconds\":0}}", "rate_limit.per_seconds");
	check_refused("{\"rate_limit\":{\"requests\":5,\"burst\":-1}}", "rate_limit.burst");
	check_refused("{\"rate_limit\":{\"requests\":5,\"block_seconds\":86401}}",
		      "rate_limit.block_seconds");
	check_refused("{\"rate_limit\":{\"requests\":5,\"key\":\"path\"}}", "rate_limit.key");
	check_refused("{\"rate_limit\":{\"requests\":5,\"action\":\"drop\"}}", "rate_limit.action");
	check_refused("{\"rate_limit\":{\"requests\":5,\"per_second\":1}}", "rate_limit");
	check_refused("{\"ip_allow\":\"10.0.0.0/8\"}", "ip_allow");
	check_refused("{\"ip_allow\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}", "ip_allow[1]");
	check_refused("{\"ip_deny\":[5]}", "ip_deny[0]");
	check_refused("{\"ip_deny\":[\"example.com\"]}", "ip_deny[0]");
}

static void test_parse(void)
{
	struct waf_app_policy p;
	struct error err;
	struct ip_addr a;

	ok(waf_app_policy_parse("{}", &p, &err) == 0 && p.mode == WAF_MODE_OFF &&
		   !p.has_rate_limit && p.allow == NULL && p.deny == NULL,
	   "empty options: waf off, no limit, no lists");
	waf_app_policy_clear(&p);
	ok(waf_app_policy_parse(NULL, &p, &err) == 0 && p.mode == WAF_MODE_OFF, "NULL options");
	waf_app_policy_clear(&p);
	ok(waf_app_policy_parse("{\"waf\":\"block\",\"rate_limit\":{\"requests\":3,\"per_seconds\":2,"
				"\"burst\":1,\"key\":\"ip_path\",\"block_seconds\":9,\"action\":\"log\"},"
				"\"ip_deny\":[\"192.0.2.0/24\",\"2001:db8::/32\"]}",
				&p, &err) == 0,
	   "full options parse");
	ok(p.mode == WAF_MODE_BLOCK && p.has_rate_limit && p.limit.requests == 3 &&
		   p.limit.per_seconds == 2 && p.limit.burst == 1 && p.limit.block_seconds == 9 &&
		   p.rate_key_path && p.rate_log_only,
	   "rate limit fields");
	ok(p.allow == NULL && p.deny != NULL && cidr_set_count(p.deny) == 2, "deny set of two");
	ok(ip_addr_parse("192.0.2.200", 11, &a) == 0 && cidr_set_contains(p.deny, &a),
	   "192.0.2.200 is denied");
	ok(ip_addr_parse("2001:db8:1::5", 13, &a) == 0 && cidr_set_contains(p.deny, &a),
	   "2001:db8:1::5 is denied");
	ok(ip_addr_parse("198.51.100.1", 12, &a) == 0 && !cidr_set_contains(p.deny, &a),
	   "198.51.100.1 is not");
	waf_app_policy_clear(&p);
	ok(p.deny == NULL, "clear resets");
	ok(waf_app_policy_parse("[1]", &p, &err) != 0 && strcmp(err.code, "invalid_application") == 0,
	   "not an object: refused");
	ok(waf_app_policy_parse("{\"waf\":\"maybe\"}", &p, &err) != 0, "bad mode: refused");
	ok(strcmp(waf_mode_name(WAF_MODE_DETECT), "detect") == 0 &&
		   strcmp(waf_mode_name(WAF_MODE_MAX), "off") == 0,
	   "mode names");
}

int main(void)
{
	test_normalize();
	test_parse();
	return done_testing();
}
