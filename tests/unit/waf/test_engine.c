/* The compiled rule engine: each operator and target, transforms in
 * order, evaluation order and verdicts, application scoping, hits and
 * their excerpts, target masks, the match limit against a pathological
 * pattern, what is kept per request and per thread (a header value's
 * memo, a detector's answer), and one engine shared by four threads.
 * Rules are written in JSON and decoded with waf_rule_from_json, as the
 * API does. The presets' prefilters are checked in test_rule.c. */
#include "waf/engine.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

/* ---- fixtures: requests from raw HTTP/1.1 text */

struct req {
	char *raw;
	struct http1_request head;
	struct waf_request r;
	char *arena;
};

/* Parse raw (len bytes; what follows the head is the inspected body) as
 * the proxy would hand it over. Content-Length gives body_total, so a
 * test can declare more than it sends. NULL when the head does not parse. */
static struct req *req_new(const char *raw, size_t len, const char *ip)
{
	struct req *q = calloc(1, sizeof(*q));
	size_t arena_size = 2 * len + 4096;
	int status = 0, head_len;

	q->raw = malloc(len);
	memcpy(q->raw, raw, len);
	head_len = http1_parse_request(q->raw, len, &q->head, &status);
	if (head_len <= 0) {
		printf("# request does not parse (%d, status %d)\n", head_len, status);
		free(q->raw);
		free(q);
		return NULL;
	}
	q->arena = malloc(arena_size);
	waf_request_init(&q->r, q->arena, arena_size);
	q->r.method = q->head.method;
	q->r.method_len = q->head.method_len;
	q->r.target = q->head.target;
	q->r.target_len = q->head.target_len;
	q->r.headers = q->head.headers;
	q->r.n_headers = q->head.n_headers;
	q->r.client_ip = ip;
	q->r.client_ip_len = strlen(ip);
	if ((size_t)head_len < len) {
		q->r.body = q->raw + head_len;
		q->r.body_len = len - (size_t)head_len;
	}
	q->r.body_total =
	    q->head.body == HTTP1_BODY_LENGTH ? q->head.content_length : q->r.body_len;
	return q;
}

static void req_free(struct req *q)
{
	if (q == NULL)
		return;
	free(q->raw);
	free(q->arena);
	free(q);
}

/* ---- fixtures: rule sets from JSON */

struct ruleset {
	struct waf_rule rules[32];
	size_t n;
};

static void add(struct ruleset *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct ruleset *s, const char *fmt, ...)
{
	char text[4096];
	struct error err;
	const char *field = "";
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	j = json_loads(text, 0, NULL);
	if (j == NULL || waf_rule_from_json(j, &s->rules[s->n], &err, &field) != 0) {
		printf("# rule refused (%s at %s: %s): %s\n", j ? err.code : "json", field,
		       j ? err.message : "", text);
		abort();
	}
	json_decref(j);
	s->n++;
}

static struct waf_engine *build(struct ruleset *s)
{
	struct error err;
	struct waf_engine *e = waf_engine_build(s->rules, s->n, &err);

	if (e == NULL)
		printf("# build failed: %s: %s\n", err.code, err.message);
	return e;
}

static void ruleset_clear(struct ruleset *s)
{
	for (size_t i = 0; i < s->n; i++)
		waf_rule_free(&s->rules[i]);
	s->n = 0;
}

/* ---- evaluation */

struct result {
	enum waf_verdict verdict;
	struct waf_hit block;
	struct waf_hit hits[32];
	size_t n_hits;
	size_t stop_after; /* fn returns nonzero after this many hits (0: never) */
};

static int collect(const struct waf_hit *hit, void *arg)
{
	struct result *res = arg;

	if (res->n_hits < 32)
		res->hits[res->n_hits++] = *hit;
	return res->stop_after != 0 && res->n_hits >= res->stop_after;
}

static enum waf_verdict run_len(const struct waf_engine *e, long long app_id, const char *raw,
                                size_t len, const char *ip, struct result *res, int all_hits)
{
	struct req *q = req_new(raw, len, ip);
	size_t stop_after = res->stop_after;

	memset(res, 0, sizeof(*res));
	res->stop_after = stop_after;
	res->verdict = q ? waf_engine_eval(e, app_id, &q->r, collect, res, &res->block, all_hits)
	                 : WAF_VERDICT_MAX;
	req_free(q);
	return res->verdict;
}

static enum waf_verdict run(const struct waf_engine *e, long long app_id, const char *raw,
                            const char *ip, struct result *res, int all_hits)
{
	return run_len(e, app_id, raw, strlen(raw), ip, res, all_hits);
}

static struct waf_hit last_hit;

/* Does one block rule with the condition cond (a JSON object) match the
 * request raw from ip? The hit lands in last_hit. */
static int match_len(const char *cond, const char *raw, size_t len, const char *ip)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct result res = {.stop_after = 0};

	add(&s, "{\"id\":100001,\"description\":\"t\",\"conditions\":[%s],\"action\":\"block\"}",
	    cond);
	e = build(&s);
	run_len(e, 1, raw, len, ip, &res, 0);
	memset(&last_hit, 0, sizeof(last_hit));
	if (res.verdict == WAF_BLOCK)
		last_hit = res.block;
	waf_engine_free(e);
	ruleset_clear(&s);
	return res.verdict == WAF_BLOCK;
}

static int match_ip(const char *cond, const char *raw, const char *ip)
{
	return match_len(cond, raw, strlen(raw), ip);
}

static int match(const char *cond, const char *raw)
{
	return match_ip(cond, raw, "192.0.2.10");
}

#define GET(target) "GET " target " HTTP/1.1\r\nHost: example.com\r\n\r\n"

/* ---- operators */

static void test_regex(void)
{
	const char *c = "{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"^/admin\"}";

	ok(match(c, GET("/admin/users")), "regex matches the path");
	ok(!match(c, GET("/user/admin")), "regex anchors hold");
	ok(!match(c, GET("/Admin")), "regex is case-sensitive by default");
	ok(match("{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"(?i)^/admin\"}",
	         GET("/ADMIN")),
	   "an inline (?i) makes it case-insensitive");
	ok(match("{\"target\":\"args\",\"operator\":\"regex\",\"value\":\"^b$\"}",
	         GET("/?a=x&q=b")),
	   "regex: any value of the target matches");
	ok(!match("{\"target\":\"query\",\"operator\":\"regex\",\"value\":\"x\"}", GET("/path")),
	   "regex on an absent target does not match");
}

/* Values are bytes: no UTF-8 check, NUL and 0xff match like any byte. */
static void test_binary(void)
{
	static const char raw[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\na\xff"
	                          "\0b";
	const char *c =
	    "{\"target\":\"body\",\"operator\":\"regex\",\"value\":\"\\\\xff\\\\x00b$\"}";

	ok(match_len(c, raw, sizeof(raw) - 1, "10.0.0.1") && strcmp(last_hit.excerpt, "a..b") == 0,
	   "a pattern matches bytes across 0xff and NUL (%s)", last_hit.excerpt);
	ok(match_len("{\"target\":\"body\",\"operator\":\"regex\",\"value\":\"^a.{2}b$\"}", raw,
	             sizeof(raw) - 1, "10.0.0.1"),
	   "'.' matches 0xff and NUL (single bytes, not UTF-8 characters)");
}

static void test_not_regex(void)
{
	const char *c =
	    "{\"target\":\"header:X-Token\",\"operator\":\"not_regex\",\"value\":\"^ok$\"}";

	ok(match(c, GET("/")), "not_regex matches an absent header");
	ok(!match(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Token: ok\r\n\r\n"),
	   "not_regex does not match when the value matches");
	ok(match(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Token: bad\r\n\r\n"),
	   "not_regex matches another value");
	ok(!match(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Token: bad\r\nX-Token: ok\r\n\r\n"),
	   "not_regex: one matching occurrence is enough to fail");
	ok(match(c, "GET / HTTP/1.1\r\nHost: a\r\nx-token: nope\r\n\r\n") &&
	       strcmp(last_hit.target, "header:X-Token") == 0 &&
	       strcmp(last_hit.excerpt, "nope") == 0,
	   "a not_regex hit shows the header and its value (%s %s)", last_hit.target,
	   last_hit.excerpt);
	ok(match(c, GET("/")) && strcmp(last_hit.target, "header:X-Token") == 0 &&
	       last_hit.excerpt[0] == '\0',
	   "an absent header gives an empty excerpt");
}

static void test_equals_contains(void)
{
	const char *post = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";

	ok(match("{\"target\":\"method\",\"operator\":\"equals\",\"value\":\"POST\"}", post),
	   "equals matches the method");
	ok(!match("{\"target\":\"method\",\"operator\":\"equals\",\"value\":\"post\"}", post),
	   "equals is byte-exact");
	ok(match("{\"target\":\"method\",\"operator\":\"equals\",\"value\":\"post\","
	         "\"transforms\":[\"lowercase\"]}",
	         post),
	   "equals after lowercase");
	ok(!match("{\"target\":\"method\",\"operator\":\"equals\",\"value\":\"POS\"}", post),
	   "equals is not a prefix match");
	ok(match("{\"target\":\"query\",\"operator\":\"contains\",\"value\":\"debug=1\"}",
	         GET("/x?a=2&debug=1&b=3")),
	   "contains finds a substring of the query");
	ok(!match("{\"target\":\"query\",\"operator\":\"contains\",\"value\":\"debug=1\"}",
	          GET("/x?debug=0")),
	   "contains needs the whole needle");
	ok(match(
	       "{\"target\":\"query\",\"operator\":\"contains\",\"value\":\"debug\"}",
	       GET("/x?"
	           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=debug"
	           "&bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	           "b"
	           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	           "b")) &&
	       strncmp(last_hit.excerpt, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=debug&bbb", 41) == 0,
	   "a contains excerpt is placed around the needle (%s)", last_hit.excerpt);
}

static void test_length_gt(void)
{
	const char *c = "{\"target\":\"args\",\"operator\":\"length_gt\",\"value\":\"10\"}";
	const char *body_c = "{\"target\":\"body\",\"operator\":\"length_gt\",\"value\":\"100\"}";

	ok(!match(c, GET("/?q=0123456789")), "length_gt: 10 bytes are not more than 10");
	ok(match(c, GET("/?q=0123456789a")) && strcmp(last_hit.target, "args:q") == 0,
	   "length_gt: 11 bytes are");
	ok(match(c, GET("/?q=%41%41%41%41%41%41%41%41%41%41")) == 0,
	   "length_gt counts the arg as decoded (30 bytes sent, 10 decoded)");
	ok(match("{\"target\":\"args\",\"operator\":\"length_gt\",\"value\":\"3\","
	         "\"transforms\":[\"url_decode\"]}",
	         GET("/?q=%2541%2541%2541%2541")) == 1 &&
	       match("{\"target\":\"args\",\"operator\":\"length_gt\",\"value\":\"4\","
	             "\"transforms\":[\"url_decode\"]}",
	             GET("/?q=%2541%2541%2541%2541")) == 0,
	   "length_gt counts after the transforms");
	ok(match(body_c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n\r\nonly-a-bit"),
	   "length_gt on the body uses the declared length, not the inspected part");
	ok(!match(body_c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"),
	   "a short body is not too long");
	ok(!match(body_c, GET("/")), "no body is not too long");
}

static void test_ip_in(void)
{
	const char *c = "{\"target\":\"client_ip\",\"operator\":\"ip_in\",\"value\":"
	                "\"10.0.0.0/8, 2001:db8::/32\"}";
	const char *h = "{\"target\":\"header:X-Real-IP\",\"operator\":\"ip_in\",\"value\":"
	                "\"203.0.113.0/24\"}";

	ok(match_ip(c, GET("/"), "10.20.30.40") && strcmp(last_hit.target, "client_ip") == 0 &&
	       strcmp(last_hit.excerpt, "10.20.30.40") == 0,
	   "ip_in matches the client address");
	ok(!match_ip(c, GET("/"), "11.0.0.1"), "ip_in: outside the prefixes");
	ok(match_ip(c, GET("/"), "2001:db8:1::5"), "ip_in: IPv6");
	ok(match_ip(c, GET("/"), "::ffff:10.0.0.1"), "ip_in: an IPv4-mapped address");
	ok(match(h, "GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 203.0.113.9\r\n\r\n"),
	   "ip_in on an IP-valued header");
	ok(!match(h, "GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 203.0.113.9, 1.1.1.1\r\n\r\n"),
	   "ip_in: a value that is not one address does not match");
	ok(!match(h, GET("/")), "ip_in: an absent header does not match");
}

static void test_detectors(void)
{
	const char *sqli = "{\"target\":\"args\",\"operator\":\"detect_sqli\"}";
	const char *xss = "{\"target\":\"args\",\"operator\":\"detect_xss\",\"value\":\"\"}";

	ok(match(sqli, GET("/item?id=1%27%20or%201=1%20--")) &&
	       strcmp(last_hit.target, "args:id") == 0,
	   "detect_sqli finds an injection in an arg (%s)", last_hit.excerpt);
	ok(!match(sqli, GET("/search?q=select%20a%20plan")), "detect_sqli lets prose through");
	ok(match(xss, GET("/?c=%3Cscript%3Ealert(1)%3C/script%3E")),
	   "detect_xss finds a script tag");
	ok(!match(xss, GET("/?c=1%20%3C%202")), "detect_xss lets a comparison through");
}

/* ---- targets and the hit's target text */

static void test_targets(void)
{
	const char *form = "POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: "
	                   "application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\n"
	                   "user=bob&evil=x%20y";
	const char *json = "POST /j HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
	                   "Content-Length: 27\r\n\r\n{\"name\":\"O'Brien\",\"n\":[1]}";
	const char *ua = "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: sqlmap/1.7\r\n\r\n";

	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"x y\"}", form) &&
	       strcmp(last_hit.target, "args:evil") == 0,
	   "args from a form body, the hit names the arg (%s)", last_hit.target);
	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"evil\"}", form) &&
	       strcmp(last_hit.target, "args") == 0,
	   "an arg name matches as \"args\"");
	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"O'Brien\"}", json) &&
	       strcmp(last_hit.target, "args:name") == 0,
	   "args from a JSON body (%s)", last_hit.target);
	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"a b\"}", GET("/?q=a+b")),
	   "args from the query are decoded once");
	ok(match("{\"target\":\"query\",\"operator\":\"equals\",\"value\":\"q=a+b\"}",
	         GET("/?q=a+b")) &&
	       strcmp(last_hit.target, "query") == 0,
	   "the query as sent");
	ok(match("{\"target\":\"path\",\"operator\":\"equals\",\"value\":\"/p%20q\"}",
	         GET("/p%20q?x=1")) &&
	       strcmp(last_hit.target, "path") == 0,
	   "the path as sent, without the query");
	ok(match("{\"target\":\"method\",\"operator\":\"equals\",\"value\":\"GET\"}", GET("/")) &&
	       strcmp(last_hit.target, "method") == 0,
	   "the method");
	ok(match("{\"target\":\"user_agent\",\"operator\":\"regex\",\"value\":\"^sqlmap\"}", ua) &&
	       strcmp(last_hit.target, "user_agent") == 0,
	   "user_agent");
	ok(match("{\"target\":\"header:User-Agent\",\"operator\":\"contains\",\"value\":\"map\"}",
	         ua) &&
	       strcmp(last_hit.target, "header:User-Agent") == 0 &&
	       strcmp(last_hit.excerpt, "sqlmap/1.7") == 0,
	   "header:User-Agent");
	ok(match("{\"target\":\"header:user-agent\",\"operator\":\"contains\",\"value\":\"map\"}",
	         ua),
	   "header names are case-insensitive");
	ok(match("{\"target\":\"headers\",\"operator\":\"contains\",\"value\":\"evil\"}",
	         "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: very evil\r\n\r\n") &&
	       strcmp(last_hit.target, "header:X-Foo") == 0,
	   "headers: every header, the hit names which (%s)", last_hit.target);
	ok(match("{\"target\":\"cookies\",\"operator\":\"equals\",\"value\":\"theme\"}",
	         "GET / HTTP/1.1\r\nHost: a\r\nCookie: session=s3cr3t; theme=dark\r\n\r\n") &&
	       strcmp(last_hit.target, "cookies") == 0 && strcmp(last_hit.excerpt, "theme") == 0,
	   "a cookie name matches as \"cookies\" and is shown");
	ok(match("{\"target\":\"body\",\"operator\":\"contains\",\"value\":\"Brien\"}", json) &&
	       strcmp(last_hit.target, "body") == 0,
	   "the body");
	ok(match_ip("{\"target\":\"client_ip\",\"operator\":\"equals\",\"value\":\"10.9.8.7\"}",
	            GET("/"), "10.9.8.7"),
	   "client_ip as text");
}

static void test_secrets(void)
{
	const char *cookie = "GET / HTTP/1.1\r\nHost: a\r\nCookie: session=topsecret\r\n\r\n";
	const char *auth = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer topsecret\r\n\r\n";

	ok(match("{\"target\":\"cookies\",\"operator\":\"contains\",\"value\":\"topsecret\"}",
	         cookie) &&
	       strcmp(last_hit.target, "cookies:session") == 0 &&
	       strcmp(last_hit.excerpt, "[redacted]") == 0,
	   "a cookie value is redacted (%s %s)", last_hit.target, last_hit.excerpt);
	ok(match("{\"target\":\"headers\",\"operator\":\"contains\",\"value\":\"topsecret\"}",
	         cookie) &&
	       strcmp(last_hit.excerpt, "[redacted]") == 0,
	   "the Cookie header is redacted");
	ok(match("{\"target\":\"header:Authorization\",\"operator\":\"regex\",\"value\":"
	         "\"^Bearer\"}",
	         auth) &&
	       strcmp(last_hit.excerpt, "[redacted]") == 0,
	   "Authorization is redacted");
	ok(match("{\"target\":\"header:Authorization\",\"operator\":\"not_regex\",\"value\":"
	         "\"^Basic\"}",
	         auth) &&
	       strcmp(last_hit.excerpt, "[redacted]") == 0,
	   "redacted in a not_regex hit too");
}

/* ---- transforms */

static void test_transforms(void)
{
	/* the query parser decodes once: the arg is "%4A" */
	const char *req = GET("/?q=%254A");

	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"j\","
	         "\"transforms\":[\"url_decode\",\"lowercase\"]}",
	         req),
	   "url_decode then lowercase: %%4A -> J -> j");
	ok(!match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"j\","
	          "\"transforms\":[\"lowercase\",\"url_decode\"]}",
	          req),
	   "lowercase then url_decode does not give j");
	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"J\","
	         "\"transforms\":[\"lowercase\",\"url_decode\"]}",
	         req),
	   "lowercase then url_decode gives J: transforms run in the order written");
	ok(match("{\"target\":\"args\",\"operator\":\"equals\",\"value\":\"%4A\"}", req),
	   "without transforms the value is matched as extracted");
	ok(match("{\"target\":\"args\",\"operator\":\"regex\",\"value\":\"union select\","
	         "\"transforms\":[\"url_decode\",\"remove_comments\",\"compress_whitespace\","
	         "\"lowercase\"]}",
	         GET("/?q=1%20UNION/**/%20SELECT")) &&
	       strcmp(last_hit.excerpt, "1 union select") == 0,
	   "the excerpt shows the transformed value (%s)", last_hit.excerpt);
	ok(match("{\"target\":\"args\",\"operator\":\"contains\",\"value\":\"<b>\","
	         "\"transforms\":[\"html_entity_decode\"]}",
	         GET("/?q=%26lt;b%26gt;")),
	   "html_entity_decode");
}

/* ---- excerpts */

static void test_excerpts(void)
{
	char raw[2000], value[400];
	const char *c = "{\"target\":\"body\",\"operator\":\"regex\",\"value\":\"ATTACK\"}";

	memset(value, 'x', 200);
	memcpy(value + 200, "ATTACK", 6);
	memset(value + 206, 'y', 94);
	value[300] = '\0';
	snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n%s",
	         value);
	ok(match(c, raw), "a match in the middle of a 300-byte body");
	ok(strlen(last_hit.excerpt) == WAF_EXCERPT_MAX, "the excerpt is cut at 128 bytes");
	ok(strncmp(last_hit.excerpt, value + 168, 128) == 0, "it starts 32 bytes before the match");
	memset(value, 'x', 290);
	memcpy(value + 290, "ATTACK", 6);
	value[296] = '\0';
	snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 296\r\n\r\n%s",
	         value);
	ok(match(c, raw) && strlen(last_hit.excerpt) == 128 &&
	       strcmp(last_hit.excerpt + 122, "ATTACK") == 0,
	   "near the end it keeps 128 bytes, ending with the match");
	ok(match("{\"target\":\"args\",\"operator\":\"contains\",\"value\":\"A\"}",
	         GET("/?q=%01A%ff%0a")) &&
	       strcmp(last_hit.excerpt, ".A..") == 0,
	   "non-printable bytes show as '.' (%s)", last_hit.excerpt);
	ok(match("{\"target\":\"args\",\"operator\":\"contains\",\"value\":\"A\"}",
	         GET("/?%01%0a%7f=A")) &&
	       strcmp(last_hit.target, "args:...") == 0,
	   "and in arg names (%s)", last_hit.target);
}

/* ---- order, verdicts, scoping */

/* Rules given out of order on purpose: evaluation sorts them. */
static void order_rules(struct ruleset *s)
{
	add(s, "{\"id\":20,\"preset\":true,\"conditions\":[{\"target\":\"path\",\"operator\":"
	       "\"contains\",\"value\":\"admin\"}],\"action\":\"log\"}");
	add(s, "{\"id\":100004,\"conditions\":[{\"target\":\"path\",\"operator\":\"contains\","
	       "\"value\":\"admin\"}],\"action\":\"block\"}");
	add(s, "{\"id\":10,\"preset\":true,\"conditions\":[{\"target\":\"path\",\"operator\":"
	       "\"contains\",\"value\":\"/admin\"}],\"action\":\"block\"}");
	add(s, "{\"id\":100001,\"conditions\":[{\"target\":\"header:X-Internal\",\"operator\":"
	       "\"equals\",\"value\":\"yes\"}],\"action\":\"allow\"}");
	add(s, "{\"id\":100002,\"conditions\":[{\"target\":\"path\",\"operator\":\"contains\","
	       "\"value\":\"admin\"}],\"action\":\"log\"}");
	add(s, "{\"id\":100003,\"conditions\":[{\"target\":\"query\",\"operator\":\"contains\","
	       "\"value\":\"x=1\"}],\"action\":\"block\"}");
	add(s, "{\"id\":100005,\"enabled\":false,\"conditions\":[{\"target\":\"path\","
	       "\"operator\":\"contains\",\"value\":\"/\"}],\"action\":\"block\"}");
}

static void test_order(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct result res = {.stop_after = 0};

	order_rules(&s);
	e = build(&s);
	ok(e != NULL, "the rule set builds");
	ok(run(e, 1, "GET /admin HTTP/1.1\r\nHost: a\r\nX-Internal: yes\r\n\r\n", "10.0.0.1", &res,
	       0) == WAF_ALLOW &&
	       res.n_hits == 0,
	   "a custom allow runs before the presets and reports nothing");
	ok(run(e, 1, GET("/admin"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       res.block.rule_id == 100004 && res.block.action == WAF_ACTION_BLOCK,
	   "the first block decides: custom 100004 before preset 10 (got %lld)", res.block.rule_id);
	ok(res.n_hits == 1 && res.hits[0].rule_id == 100002 && res.hits[0].action == WAF_ACTION_LOG,
	   "a log rule before it was reported, and evaluation went on");
	ok(strcmp(res.block.target, "path") == 0 && strcmp(res.block.excerpt, "/admin") == 0,
	   "the block hit names the target and excerpt");
	ok(res.block.description != NULL && res.block.description[0] == '\0',
	   "the description is borrowed from the engine");
	ok(run(e, 1, GET("/admin?x=1"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       res.block.rule_id == 100003 && res.n_hits == 1 && res.hits[0].rule_id == 100002,
	   "block stops evaluation: the preset log rule 20 after it is not reported");
	ok(run(e, 1, GET("/public"), "10.0.0.1", &res, 0) == WAF_PASS && res.n_hits == 0,
	   "the disabled rule (matching every path) is skipped");
	ok(run(e, 1, GET("/x/admin"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       res.block.rule_id == 100004,
	   "still blocked without the preset");

	ok(run(e, 1, GET("/admin?x=1"), "10.0.0.1", &res, 1) == WAF_BLOCK &&
	       res.block.rule_id == 100002 + 1,
	   "all_hits: the verdict is the first decision");
	ok(res.n_hits == 5 && res.hits[0].rule_id == 100002 && res.hits[1].rule_id == 100003 &&
	       res.hits[2].rule_id == 100004 && res.hits[3].rule_id == 10 &&
	       res.hits[4].rule_id == 20,
	   "all_hits reports every matching rule in evaluation order (%zu hits)", res.n_hits);
	ok(run(e, 1, "GET /admin HTTP/1.1\r\nHost: a\r\nX-Internal: yes\r\n\r\n", "10.0.0.1", &res,
	       1) == WAF_ALLOW &&
	       res.n_hits == 5 && res.hits[0].rule_id == 100001 &&
	       res.hits[0].action == WAF_ACTION_ALLOW,
	   "all_hits after an allow: the allow and the rest are reported");
	res.stop_after = 1;
	ok(run(e, 1, GET("/admin?x=1"), "10.0.0.1", &res, 1) == WAF_PASS && res.n_hits == 1,
	   "fn returning nonzero stops evaluation");
	res.stop_after = 0;
	waf_engine_free(e);
	ruleset_clear(&s);
}

static void test_no_callback(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct req *q = req_new(GET("/admin"), strlen(GET("/admin")), "10.0.0.1");

	order_rules(&s);
	e = build(&s);
	ok(waf_engine_eval(e, 1, &q->r, NULL, NULL, NULL, 0) == WAF_BLOCK,
	   "fn and block_hit may be NULL");
	ok(waf_engine_eval(NULL, 1, &q->r, NULL, NULL, NULL, 0) == WAF_PASS,
	   "a NULL engine passes everything");
	waf_engine_free(e);
	ruleset_clear(&s);
	e = build(&s);
	ok(e != NULL && waf_engine_eval(e, 1, &q->r, NULL, NULL, NULL, 0) == WAF_PASS,
	   "an empty engine passes everything");
	waf_engine_free(e);
	waf_engine_free(NULL);
	req_free(q);
}

static void test_applications(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct result res = {.stop_after = 0};

	add(&s, "{\"id\":100001,\"applications\":[5,2],\"conditions\":[{\"target\":\"path\","
	        "\"operator\":\"contains\",\"value\":\"x\"}],\"action\":\"block\"}");
	add(&s, "{\"id\":100002,\"applications\":[],\"conditions\":[{\"target\":\"path\","
	        "\"operator\":\"contains\",\"value\":\"y\"}],\"action\":\"block\"}");
	e = build(&s);
	ok(run(e, 1, GET("/x"), "10.0.0.1", &res, 0) == WAF_PASS,
	   "a rule for applications 5 and 2 does not apply to 1");
	ok(run(e, 2, GET("/x"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       run(e, 5, GET("/x"), "10.0.0.1", &res, 0) == WAF_BLOCK,
	   "it applies to 2 and 5");
	ok(run(e, 1, GET("/y"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       run(e, 77, GET("/y"), "10.0.0.1", &res, 0) == WAF_BLOCK,
	   "a rule with no applications applies to every one");
	waf_engine_free(e);
	ruleset_clear(&s);
}

static void test_targets_mask(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	unsigned path = 1u << WAF_TARGET_PATH, body = 1u << WAF_TARGET_BODY;
	unsigned header = 1u << WAF_TARGET_HEADER, args = 1u << WAF_TARGET_ARGS;

	add(&s, "{\"id\":1,\"conditions\":[{\"target\":\"path\",\"operator\":\"contains\","
	        "\"value\":\"x\"}],\"action\":\"block\"}");
	add(&s, "{\"id\":2,\"applications\":[2],\"conditions\":[{\"target\":\"body\","
	        "\"operator\":\"contains\",\"value\":\"x\"}],\"action\":\"block\"}");
	add(&s, "{\"id\":3,\"applications\":[2,3],\"conditions\":[{\"target\":\"header:X\","
	        "\"operator\":\"contains\",\"value\":\"x\"},{\"target\":\"args\","
	        "\"operator\":\"contains\",\"value\":\"x\"}],\"action\":\"log\"}");
	add(&s, "{\"id\":4,\"enabled\":false,\"conditions\":[{\"target\":\"cookies\","
	        "\"operator\":\"contains\",\"value\":\"x\"}],\"action\":\"log\"}");
	e = build(&s);
	ok(waf_engine_targets(e, 1) == path, "application 1 reads the path only");
	ok(waf_engine_targets(e, 2) == (path | body | header | args),
	   "application 2 reads the path, the body, a header and args");
	ok(waf_engine_targets(e, 3) == (path | header | args),
	   "application 3 does not read the body");
	ok((waf_engine_targets(e, 1) & (1u << WAF_TARGET_COOKIES)) == 0,
	   "a disabled rule's targets do not count");
	ok(waf_engine_targets(NULL, 1) == 0, "a NULL engine reads nothing");
	waf_engine_free(e);
	ruleset_clear(&s);
}

static void test_build_errors(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct error err;

	add(&s, "{\"id\":100009,\"conditions\":[{\"target\":\"path\",\"operator\":\"regex\","
	        "\"value\":\"a\"}],\"action\":\"block\"}");
	free(s.rules[0].conditions[0].value);
	s.rules[0].conditions[0].value = strdup("a(b");
	ok(waf_engine_build(s.rules, s.n, &err) == NULL && strcmp(err.code, "invalid_regex") == 0 &&
	       strstr(err.message, "100009") != NULL && strstr(err.message, "offset 3") != NULL,
	   "a bad pattern fails the build, naming the rule and offset (%s)", err.message);
	s.rules[0].enabled = 0;
	e = waf_engine_build(s.rules, s.n, &err);
	ok(e != NULL && waf_engine_targets(e, 1) == 0, "a disabled rule is not compiled");
	waf_engine_free(e);
	ruleset_clear(&s);
	add(&s, "{\"id\":100010,\"conditions\":[{\"target\":\"client_ip\",\"operator\":\"ip_in\","
	        "\"value\":\"10.0.0.0/8\"}],\"action\":\"block\"}");
	free(s.rules[0].conditions[0].value);
	s.rules[0].conditions[0].value = strdup("10.0.0.0/99");
	ok(waf_engine_build(s.rules, s.n, &err) == NULL && strcmp(err.code, "invalid_cidr") == 0,
	   "a bad CIDR list fails the build (%s)", err.message);
	ruleset_clear(&s);
}

/* The shipped presets pass the same validation as an administrator's
 * rules (the API shows them as JSON) and compile. */
static void test_presets(void)
{
	struct waf_rule *list = NULL, again;
	struct waf_engine *e;
	struct error err;
	const char *field = NULL;
	size_t n = 0, valid = 0;
	int ids_ok = 1;

	ok(waf_preset_rules(&list, &n) == 0 && n > 0, "the preset rules load (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		json_t *j = waf_rule_to_json(&list[i]), *j2 = NULL;

		if (j != NULL && waf_rule_from_json(j, &again, &err, &field) == 0) {
			j2 = waf_rule_to_json(&again);
			valid += j2 != NULL && json_equal(j, j2);
			waf_rule_free(&again);
		} else {
			printf("# preset %lld refused: %s\n", list[i].id, err.message);
		}
		ids_ok &= list[i].preset && list[i].id > 0 && list[i].id < WAF_FIRST_CUSTOM_ID;
		json_decref(j);
		json_decref(j2);
	}
	ok(valid == n, "every preset survives the JSON round trip and validation");
	ok(ids_ok, "presets are marked preset, with ids below %d", WAF_FIRST_CUSTOM_ID);
	e = waf_engine_build(list, n, &err);
	ok(e != NULL, "the preset set compiles (%s)", e ? "" : err.message);
	waf_engine_free(e);
	waf_rule_list_free(list, n);
}

/* ---- limits */

static char *big_body_request(size_t n, char fill, const char *tail)
{
	size_t t = strlen(tail);
	char *raw = malloc(n + t + 200);
	int h =
	    snprintf(raw, 200, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n", n + t);

	memset(raw + h, fill, n);
	memcpy(raw + h + n, tail, t + 1);
	return raw;
}

static void test_match_limit(void)
{
	char *raw = big_body_request(50000, 'a', "b");
	unsigned long long before = waf_match_limit_hits();

	ok(!match("{\"target\":\"body\",\"operator\":\"regex\",\"value\":\"(a+)+$\"}", raw),
	   "(a+)+$ against 50,000 a's and a b does not match");
	ok(waf_match_limit_hits() == before + 1, "the match limit was hit once (%llu)",
	   waf_match_limit_hits() - before);
	ok(match("{\"target\":\"body\",\"operator\":\"regex\",\"value\":\"a{100}b$\"}", raw),
	   "an ordinary pattern on the same 50 KB body matches");
	ok(waf_match_limit_hits() == before + 1, "without touching the limit");
	before = waf_match_limit_hits();
	ok(match("{\"target\":\"body\",\"operator\":\"not_regex\",\"value\":\"(a+)+$\"}", raw),
	   "not_regex: a value that gave up counts as not matching the pattern");
	ok(waf_match_limit_hits() == before + 1, "and is counted");
	free(raw);
}

static void test_long_values(void)
{
	char *raw = big_body_request(300000, 'a', "NEEDLE");
	const char *c = "{\"target\":\"body\",\"operator\":\"contains\",\"value\":\"needle\","
	                "\"transforms\":[\"lowercase\"]}";

	ok(match(c, raw) && strcmp(last_hit.excerpt + 122, "needle") == 0,
	   "a 300 KB value is transformed whole (the buffer grows)");
	free(raw);
	raw = big_body_request(1024 * 1024 + 10, 'a', "NEEDLE");
	ok(!match(c, raw), "a value over 1 MiB is matched on its first 1 MiB");
	ok(!match("{\"target\":\"body\",\"operator\":\"contains\",\"value\":\"NEEDLE\"}", raw),
	   "with or without transforms");
	free(raw);
	raw = big_body_request(1024 * 1024 - 10, 'a', "NEEDLE");
	ok(match(c, raw), "a needle just inside the first 1 MiB is found");
	free(raw);
	waf_thread_release();
	waf_thread_release();
	ok(match("{\"target\":\"path\",\"operator\":\"regex\",\"value\":\"^/$\"}", GET("/")),
	   "after waf_thread_release the state is created again");
}

/* ---- values several rules read in one request: extracted once,
 * transformed per rule, nothing kept from one request to the next */

static void test_transform_cache(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	struct result res = {.stop_after = 0};
	char *raw;

	add(&s, "{\"id\":100001,\"conditions\":[{\"target\":\"args\",\"operator\":\"contains\","
	        "\"value\":\"zzz\",\"transforms\":[\"url_decode\",\"lowercase\"]}],\"action\":"
	        "\"log\"}");
	add(&s, "{\"id\":100002,\"conditions\":[{\"target\":\"args\",\"operator\":\"equals\","
	        "\"value\":\"j\",\"transforms\":[\"url_decode\",\"lowercase\"]}],\"action\":"
	        "\"block\"}");
	add(&s,
	    "{\"id\":100003,\"conditions\":[{\"target\":\"header:X-A\",\"operator\":"
	    "\"contains\",\"value\":\"aaa\",\"transforms\":[\"lowercase\"]}],\"action\":\"log\"}");
	add(&s, "{\"id\":100004,\"conditions\":[{\"target\":\"header:X-B\",\"operator\":"
	        "\"contains\",\"value\":\"bbb\",\"transforms\":[\"lowercase\"]}],\"action\":"
	        "\"block\"}");
	e = build(&s);
	ok(run(e, 1, GET("/?q=%254A"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       res.block.rule_id == 100002 && strcmp(res.block.target, "args:q") == 0 &&
	       strcmp(res.block.excerpt, "j") == 0,
	   "a rule reusing another's transformed args matches, target and excerpt right");
	ok(run(e, 1, GET("/?q=k"), "10.0.0.1", &res, 0) == WAF_PASS &&
	       run(e, 1, GET("/?q=J"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       run(e, 1, GET("/?q=k"), "10.0.0.1", &res, 0) == WAF_PASS,
	   "nothing cached leaks from one request into the next");
	ok(run(e, 1, GET("/?a=1&q=%254A"), "10.0.0.1", &res, 0) == WAF_BLOCK &&
	       res.block.rule_id == 100002 && strcmp(res.block.excerpt, "j") == 0,
	   "nor between requests with different numbers of args");
	ok(run(e, 1, "GET / HTTP/1.1\r\nHost: a\r\nX-A: AAA\r\nX-B: BBB\r\n\r\n", "10.0.0.1", &res,
	       0) == WAF_BLOCK &&
	       res.block.rule_id == 100004 && res.n_hits == 1 && res.hits[0].rule_id == 100003,
	   "two headers with the same transforms are not confused");
	ok(run(e, 1, "GET / HTTP/1.1\r\nHost: a\r\nx-b: BBB\r\n\r\n", "10.0.0.1", &res, 0) ==
	       WAF_BLOCK,
	   "header names are matched ignoring case");
	waf_engine_free(e);
	ruleset_clear(&s);

	/* two 700 KB transforms of the same body, one after the other in the
	 * thread's buffer */
	add(&s, "{\"id\":100001,\"conditions\":[{\"target\":\"body\",\"operator\":\"contains\","
	        "\"value\":\"needle\",\"transforms\":[\"lowercase\"]}],\"action\":\"log\"}");
	add(&s, "{\"id\":100002,\"conditions\":[{\"target\":\"body\",\"operator\":\"contains\","
	        "\"value\":\"needle\",\"transforms\":[\"compress_whitespace\",\"lowercase\"]}],"
	        "\"action\":\"block\"}");
	e = build(&s);
	raw = big_body_request(700000, 'a', "NEEDLE");
	ok(run(e, 1, raw, "10.0.0.1", &res, 0) == WAF_BLOCK && res.n_hits == 1 &&
	       res.hits[0].rule_id == 100001 && res.block.rule_id == 100002,
	   "values that overflow the cache are still matched");
	free(raw);
	waf_engine_free(e);
	ruleset_clear(&s);
}

/* ---- what a preset condition said about a header value is remembered */

static enum waf_verdict preset_run(const struct waf_engine *e, const char *ua, struct result *res)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "GET /?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: %s\r\n\r\n", ua);
	return run(e, 1, raw, "10.0.0.1", res, 0);
}

static void test_header_memo(void)
{
	struct waf_rule *list = NULL;
	struct waf_engine *e, *all;
	struct result res = {.stop_after = 0};
	struct waf_prefilter pf;
	struct error err;
	size_t n = 0, i, wrong = 0;
	const char *scanner = "sqlmap/1.4.7#stable (http://sqlmap.org)";

	waf_preset_rules(&list, &n);
	all = waf_engine_build(list, n, &err);
	for (i = 0; i < 200; i++) {
		int bad = i % 3 == 2;
		enum waf_verdict v = preset_run(all, bad ? scanner : "Mozilla/5.0 (X11)", &res);

		wrong += bad ? v != WAF_BLOCK || res.block.rule_id != 6001 : v != WAF_PASS;
	}
	ok(wrong == 0, "a remembered User-Agent: 200 requests, the scanner blocked each time");
	for (i = 0; i < n; i++)
		list[i].enabled = list[i].id != 6001;
	e = waf_engine_build(list, n, &err);
	ok(preset_run(e, scanner, &res) == WAF_PASS && preset_run(e, scanner, &res) == WAF_PASS,
	   "without rule 6001 the same User-Agent passes, twice");
	ok(preset_run(all, scanner, &res) == WAF_BLOCK && res.block.rule_id == 6001,
	   "and what that engine remembered does not mislead another");
	waf_engine_free(e);
	waf_engine_free(all);
	for (i = 0; i < n; i++)
		if (list[i].id == 3001) {
			ok(waf_preset_prefilter(&list[i].conditions[0], &pf) && pf.any != 0,
			   "a preset's pattern has its prefilter");
			free(list[i].conditions[0].value);
			list[i].conditions[0].value = strdup("\\.\\.");
			ok(!waf_preset_prefilter(&list[i].conditions[0], &pf),
			   "a pattern that is not the shipped one has none");
		}
	waf_rule_list_free(list, n);
}

/* The detector's answer on a value is shared by the rule that reads it
 * decoded twice, when decoding changes nothing; when it does, the
 * decoded value is read. */
static void test_detector_reuse(void)
{
	struct waf_rule *list = NULL;
	struct waf_engine *e;
	struct result res = {.stop_after = 0};
	struct error err;
	size_t n = 0;

	waf_preset_rules(&list, &n);
	e = waf_engine_build(list, n, &err);
	ok(run(e, 1, GET("/?id=1%27+or+%271%27%3D%271"), "10.0.0.1", &res, 1) == WAF_BLOCK &&
	       res.n_hits >= 2 && res.hits[0].rule_id == 1001 && res.hits[1].rule_id == 1006 &&
	       strcmp(res.hits[1].target, "args:id") == 0 &&
	       strcmp(res.hits[0].excerpt, res.hits[1].excerpt) == 0,
	   "both SQL rules on args report the value (all hits)");
	ok(run(e, 1, GET("/?id=1%2527%2520or%2520%25271%2527%253D%25271"), "10.0.0.1", &res, 1) ==
	           WAF_BLOCK &&
	       res.hits[0].rule_id == 1006 && strcmp(res.hits[0].excerpt, "1' or '1'='1") == 0,
	   "a value encoded twice is read decoded by 1006 (%s)", res.hits[0].excerpt);
	waf_engine_free(e);
	waf_rule_list_free(list, n);
}

/* ---- threads */

struct thread_arg {
	const struct waf_engine *e;
	int errors;
	unsigned long long rounds;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct result res = {.stop_after = 0};
	static const struct {
		const char *raw;
		enum waf_verdict verdict;
		long long rule;
	} cases[] = {
	    {GET("/admin?q=1"), WAF_BLOCK, 100004},
	    {GET("/public?x=1"), WAF_BLOCK, 100003},
	    {GET("/public"), WAF_PASS, 0},
	    {"GET /admin HTTP/1.1\r\nHost: a\r\nX-Internal: yes\r\n\r\n", WAF_ALLOW, 0},
	};

	for (unsigned i = 0; i < 2000; i++) {
		size_t k = i % 4;

		if (run(a->e, 1, cases[k].raw, "10.0.0.1", &res, 0) != cases[k].verdict ||
		    (cases[k].verdict == WAF_BLOCK && res.block.rule_id != cases[k].rule))
			a->errors++;
		a->rounds++;
	}
	waf_thread_release();
	return NULL;
}

static void test_threads(void)
{
	struct ruleset s = {.n = 0};
	struct waf_engine *e;
	pthread_t th[4];
	struct thread_arg args[4];
	int errors = 0, started = 0;
	unsigned long long rounds = 0;

	order_rules(&s);
	add(&s, "{\"id\":100100,\"conditions\":[{\"target\":\"args\",\"operator\":\"regex\","
	        "\"value\":\"(?i)^[a-z0-9]+$\",\"transforms\":[\"url_decode\"]}],"
	        "\"action\":\"log\"}");
	e = build(&s);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){e, 0, 0};
		started += pthread_create(&th[i], NULL, thread_main, &args[i]) == 0;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		errors += args[i].errors;
		rounds += args[i].rounds;
	}
	ok(started == 4 && rounds == 8000, "four threads evaluated 2,000 requests each");
	ok(errors == 0, "every verdict was right under concurrency (%d wrong)", errors);
	waf_engine_free(e);
	ruleset_clear(&s);
}

int main(void)
{
	test_regex();
	test_binary();
	test_not_regex();
	test_equals_contains();
	test_length_gt();
	test_ip_in();
	test_detectors();
	test_targets();
	test_secrets();
	test_transforms();
	test_excerpts();
	test_order();
	test_no_callback();
	test_applications();
	test_targets_mask();
	test_build_errors();
	test_presets();
	test_match_limit();
	test_long_values();
	test_transform_cache();
	test_header_memo();
	test_detector_reuse();
	test_threads();
	waf_thread_release();
	return done_testing();
}
