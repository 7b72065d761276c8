/* libFuzzer target for WAF rules: the input is a RULE in JSON, as the API
 * receives it. Checks what callers rely on: a refused rule names its
 * code and field; an accepted one encodes, decodes again to the same
 * object, builds into an engine (what the API accepts always compiles)
 * and evaluates a fixed request without crashing or stalling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waf/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char request[] =
    "POST /admin/login.php?id=1%27%20or%201=1--&q=%3Cscript%3E HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: Mozilla/5.0 sqlmap\r\n"
    "Cookie: session=abc; theme=dark\r\n"
    "Authorization: Bearer xyz\r\n"
    "X-Forwarded-For: 10.1.2.3\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 38\r\n"
    "\r\n"
    "user=admin&pass=%27%20union%20select+1";

static int count_hit(const struct waf_hit *hit, void *arg)
{
	/* a hit is always printable text the events store can take */
	if (strlen(hit->excerpt) > WAF_EXCERPT_MAX || hit->target[0] == '\0')
		abort();
	(*(int *)arg)++;
	return 0;
}

static void evaluate(const struct waf_engine *e, long long app_id)
{
	static struct http1_request head;
	static struct waf_request r;
	static char arena[2 * sizeof(request) + 4096];
	struct waf_hit hit;
	int status, hits = 0;
	int len = http1_parse_request(request, sizeof(request) - 1, &head, &status);

	if (len <= 0)
		abort(); /* the fixed request is valid */
	waf_request_init(&r, arena, sizeof(arena));
	r.method = head.method;
	r.method_len = head.method_len;
	r.target = head.target;
	r.target_len = head.target_len;
	r.headers = head.headers;
	r.n_headers = head.n_headers;
	r.client_ip = "192.0.2.7";
	r.client_ip_len = strlen(r.client_ip);
	r.body = request + len;
	r.body_len = sizeof(request) - 1 - (size_t)len;
	r.body_total = head.content_length;
	(void)waf_engine_eval(e, app_id, &r, count_hit, &hits, &hit, 1);
	(void)waf_engine_eval(e, app_id, &r, NULL, NULL, &hit, 0);
	(void)waf_engine_targets(e, app_id);
}

static void round_trip(const struct waf_rule *rule)
{
	struct waf_rule again, copy;
	struct error err;
	const char *field;
	json_t *j = waf_rule_to_json(rule), *j2;

	if (j == NULL)
		abort();
	if (waf_rule_from_json(j, &again, &err, &field) != 0)
		abort(); /* what we print we must accept */
	j2 = waf_rule_to_json(&again);
	if (j2 == NULL || !json_equal(j, j2))
		abort();
	if (waf_rule_copy(&copy, &again) != 0)
		abort();
	waf_rule_free(&copy);
	waf_rule_free(&again);
	json_decref(j2);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	struct waf_rule rule;
	struct waf_engine *e;
	struct error err;
	const char *field = NULL;

	if (j == NULL)
		return 0;
	if (waf_rule_from_json(j, &rule, &err, &field) != 0) {
		if (err.code[0] == '\0' || field == NULL)
			abort(); /* every refusal names a code and a field */
		json_decref(j);
		return 0;
	}
	json_decref(j);
	round_trip(&rule);
	rule.enabled = 1;
	e = waf_engine_build(&rule, 1, &err);
	if (e == NULL)
		abort(); /* an accepted rule always compiles */
	evaluate(e, rule.n_applications > 0 ? rule.applications[0] : 1);
	waf_engine_free(e);
	waf_thread_release(); /* so the leak checker sees every input free all it took */
	waf_rule_free(&rule);
	return 0;
}
