/* Unit tests for the WAF request view: target names, the request-target
 * split, headers and their secret flag, cookies, and the args decoders
 * (urlencoded, JSON, multipart) on valid, cut and malformed input, with
 * the arena and the args array filled to their limits. */
#include "waf/request.h"
#include "waf/sqli_lexer.h"
#include "waf/transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

#define ARENA_MAX 65536

static struct http1_request hreq;
static struct waf_request wr;
static char arena[ARENA_MAX];
static struct waf_value scratch[WAF_MAX_ARGS];
static const struct waf_value *vals;
static size_t n_vals;
static char raw_buf[262144];
static size_t raw_len;

/* Parse raw (a head and maybe a body) into wr, like the proxy does.
 * Returns 0, or -1 if the head does not parse. */
static int load_arena(const char *raw, size_t arena_size)
{
	int st = 0, n;

	raw_len = strlen(raw);
	memcpy(raw_buf, raw, raw_len);
	n = http1_parse_request(raw_buf, raw_len, &hreq, &st);
	waf_request_init(&wr, arena, arena_size);
	if (n <= 0)
		return -1;
	wr.method = hreq.method;
	wr.method_len = hreq.method_len;
	wr.target = hreq.target;
	wr.target_len = hreq.target_len;
	wr.headers = hreq.headers;
	wr.n_headers = hreq.n_headers;
	wr.client_ip = "203.0.113.7";
	wr.client_ip_len = strlen(wr.client_ip);
	if ((size_t)n < raw_len) {
		wr.body = raw_buf + n;
		wr.body_len = raw_len - (size_t)n;
		wr.body_total = wr.body_len;
	}
	return 0;
}

static int load(const char *raw)
{
	return load_arena(raw, sizeof(arena));
}

/* A request with only a body of the given type (no query). */
static int load_body(const char *content_type, const char *body)
{
	static char raw[200000];

	snprintf(raw, sizeof(raw),
	         "POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: %s\r\n"
	         "Content-Length: %zu\r\n\r\n%s",
	         content_type, strlen(body), body);
	return load(raw);
}

static size_t get(enum waf_target t)
{
	n_vals = waf_request_values(&wr, t, NULL, 0, &vals, scratch);
	return n_vals;
}

static size_t get_header(const char *name)
{
	n_vals = waf_request_values(&wr, WAF_TARGET_HEADER, name, strlen(name), &vals, scratch);
	return n_vals;
}

static int span_is(const char *p, size_t n, const char *s)
{
	return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Value i of the last get() is s (with name, or a name entry if name is
 * NULL). */
static int val_is(size_t i, const char *name, const char *s)
{
	const struct waf_value *v = &vals[i];

	if (i >= n_vals || !span_is(v->data, v->len, s))
		return 0;
	if (name == NULL)
		return v->name == NULL;
	return span_is(v->name, v->name_len, name);
}

/* The args hold a name entry for name directly followed by value (value
 * NULL: no value entry follows). */
static int has_arg(const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < wr.n_args; i++) {
		if (wr.args[i].name != NULL || !span_is(wr.args[i].data, wr.args[i].len, name))
			continue;
		if (value == NULL)
			return i + 1 == wr.n_args || wr.args[i + 1].name == NULL;
		if (i + 1 < wr.n_args && span_is(wr.args[i + 1].data, wr.args[i + 1].len, value) &&
		    span_is(wr.args[i + 1].name, wr.args[i + 1].name_len, name))
			return 1;
	}
	return 0;
}

/* A name entry name anywhere in the args. */
static int has_name(const char *name)
{
	size_t i;

	for (i = 0; i < wr.n_args; i++)
		if (wr.args[i].name == NULL && span_is(wr.args[i].data, wr.args[i].len, name))
			return 1;
	return 0;
}

/* A value entry s under name anywhere in the args. */
static int has_value(const char *name, const char *s)
{
	size_t i;

	for (i = 0; i < wr.n_args; i++)
		if (wr.args[i].name != NULL && span_is(wr.args[i].data, wr.args[i].len, s) &&
		    span_is(wr.args[i].name, wr.args[i].name_len, name))
			return 1;
	return 0;
}

/* Every arg points into the raw request or the used part of the arena. */
static int args_inside(void)
{
	size_t i;

	for (i = 0; i < wr.n_args; i++) {
		const char *p = wr.args[i].data;
		size_t n = wr.args[i].len;
		int in_raw = p >= raw_buf && p + n <= raw_buf + raw_len;
		int in_arena = p >= arena && p + n <= arena + wr.arena_used;

		if (n > 0 && !in_raw && !in_arena)
			return 0;
	}
	return wr.arena_used <= wr.arena_size;
}

/* Reset the args for a direct call of one decoder. */
static void fresh(size_t arena_size)
{
	waf_request_init(&wr, arena, arena_size);
	raw_len = 0;
}

/* s copied to where args_inside() looks for borrowed text. */
static const char *as_raw(const char *s)
{
	raw_len = strlen(s);
	memcpy(raw_buf, s, raw_len);
	return raw_buf;
}

static void test_names(void)
{
	int t, all = 1;

	for (t = 0; t < WAF_TARGET_MAX; t++) {
		const char *n = waf_target_name((enum waf_target)t);

		if ((int)waf_target_from_name(n, strlen(n)) != t)
			all = 0;
	}
	ok(all, "every target name maps back");
	ok(waf_target_from_name("user_agent", 10) == WAF_TARGET_USER_AGENT, "user_agent");
	ok(waf_target_from_name("header", 6) == WAF_TARGET_HEADER, "header");
	ok(waf_target_from_name("header:X-Api", 12) == WAF_TARGET_HEADER, "header:Name too");
	ok(waf_target_from_name("header:", 7) == WAF_TARGET_MAX, "header: without a name");
	ok(waf_target_from_name("pathx", 4) == WAF_TARGET_PATH, "only len bytes are read");
	ok(waf_target_from_name("Path", 4) == WAF_TARGET_MAX, "names are case-sensitive");
	ok(waf_target_from_name("", 0) == WAF_TARGET_MAX &&
	       waf_target_from_name(NULL, 0) == WAF_TARGET_MAX,
	   "empty and NULL are unknown");
	ok(strcmp(waf_target_name(WAF_TARGET_MAX), "unknown") == 0, "the sentinel has no name");
}

static void test_target(void)
{
	load("GET /a/b.php?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_METHOD) == 1 && val_is(0, NULL, "GET"), "method");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "/a/b.php"), "path without the query");
	ok(get(WAF_TARGET_QUERY) == 1 && val_is(0, NULL, "x=1&y=2"), "query without '?'");
	ok(get(WAF_TARGET_CLIENT_IP) == 1 && val_is(0, NULL, "203.0.113.7"), "client_ip");
	ok(get(WAF_TARGET_BODY) == 0, "no body: body target absent");

	load("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_QUERY) == 0, "no '?': query absent");
	load("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_QUERY) == 1 && val_is(0, NULL, ""), "'?' alone: one empty query");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "/p"), "path before an empty query");

	load("GET http://h:8080/abs/p?q=1 HTTP/1.1\r\nHost: h:8080\r\n\r\n");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "/abs/p"), "absolute-form: path");
	ok(get(WAF_TARGET_QUERY) == 1 && val_is(0, NULL, "q=1"), "absolute-form: query");
	load("GET HTTPS://h?q=2 HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "/"), "absolute-form without a path: /");
	ok(get(WAF_TARGET_QUERY) == 1 && val_is(0, NULL, "q=2"), "absolute-form, query only");
	load("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "*"), "asterisk-form path");
	load("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
	ok(get(WAF_TARGET_PATH) == 1 && val_is(0, NULL, "h:443"), "authority-form: the target");

	waf_request_init(&wr, arena, sizeof(arena));
	ok(get(WAF_TARGET_METHOD) == 0 && get(WAF_TARGET_PATH) == 0 && get(WAF_TARGET_QUERY) == 0 &&
	       get(WAF_TARGET_HEADERS) == 0 && get(WAF_TARGET_ARGS) == 0 &&
	       get(WAF_TARGET_COOKIES) == 0 && get(WAF_TARGET_CLIENT_IP) == 0,
	   "an empty request has no values");
	ok(get(WAF_TARGET_MAX) == 0, "an unknown target has no values");
}

static void test_headers(void)
{
	load("GET / HTTP/1.1\r\nHost: h\r\nX-Test: one\r\nUser-Agent: curl/8\r\n"
	     "x-test:  two \r\nAuthorization: Bearer s3cret\r\n"
	     "Proxy-Authorization: Basic eA==\r\nCookie: sid=abc\r\n\r\n");
	ok(get_header("X-TEST") == 2, "header: every occurrence, any case");
	ok(val_is(0, "X-Test", "one") && val_is(1, "x-test", "two"),
	   "header: values trimmed, name as sent");
	ok(!vals[0].secret, "header: X-Test is not secret");
	ok(get_header("Authorization") == 1 && vals[0].secret, "header:Authorization is secret");
	ok(get_header("proxy-authorization") == 1 && vals[0].secret,
	   "header:Proxy-Authorization is secret");
	ok(get_header("cookie") == 1 && vals[0].secret, "header:Cookie is secret");
	ok(get_header("X-Missing") == 0, "header: absent");
	ok(waf_request_values(&wr, WAF_TARGET_HEADER, NULL, 0, &vals, scratch) == 0,
	   "header: no name, no values");
	ok(get(WAF_TARGET_HEADERS) == 7, "headers: every field");
	ok(val_is(0, "Host", "h") && val_is(2, "User-Agent", "curl/8"), "headers carry names");
	ok(!vals[0].secret && !vals[1].secret && !vals[2].secret && !vals[3].secret,
	   "headers: ordinary fields are not secret");
	ok(vals[4].secret && vals[5].secret && vals[6].secret,
	   "headers: Authorization, Proxy-Authorization and Cookie are secret");
	ok(get(WAF_TARGET_USER_AGENT) == 1 && val_is(0, NULL, "curl/8"), "user_agent");

	load("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: nice\r\nUser-Agent: sqlmap\r\n\r\n");
	ok(get(WAF_TARGET_USER_AGENT) == 2 && val_is(1, NULL, "sqlmap"),
	   "user_agent: a second User-Agent is seen too");
	load("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_USER_AGENT) == 0, "user_agent: absent");
}

static void test_cookies(void)
{
	char raw[8192];
	size_t i, off;
	int all = 1;

	load("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b = two ;c=\r\n"
	     "Cookie: ;;flag; d=x=y\r\n\r\n");
	ok(get(WAF_TARGET_COOKIES) == 9, "cookies: names and values of every Cookie field");
	ok(val_is(0, NULL, "a") && val_is(1, "a", "1"), "cookies: a=1");
	ok(val_is(2, NULL, "b") && val_is(3, "b", "two"), "cookies: spaces trimmed");
	ok(val_is(4, NULL, "c") && val_is(5, "c", ""), "cookies: empty value");
	ok(val_is(6, "", "flag"), "cookies: a piece without '=' is a nameless value");
	ok(val_is(7, NULL, "d") && val_is(8, "d", "x=y"), "cookies: value split at the first '='");
	ok(!vals[0].secret && !vals[2].secret && !vals[7].secret, "cookies: names are not secret");
	ok(vals[1].secret && vals[3].secret && vals[5].secret && vals[6].secret && vals[8].secret,
	   "cookies: values are secret");
	ok(vals == wr.cookies && (wr.have & (1u << WAF_TARGET_COOKIES)),
	   "cookies: kept in the request");
	ok(get(WAF_TARGET_COOKIES) == 9, "cookies: a second call does not parse again");

	off = (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: h\r\nCookie: ");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(raw + off, sizeof(raw) - off, "c%zu=%zu; ", i, i);
	snprintf(raw + off, sizeof(raw) - off, "\r\n\r\n");
	ok(load(raw) == 0 && get(WAF_TARGET_COOKIES) == 128, "cookies: at most 128 entries");
	ok(wr.truncated > 0, "cookies: the rest counted as truncated");
	for (i = 0; i < 64; i++) {
		char name[16], value[16];

		snprintf(name, sizeof(name), "c%zu", i);
		snprintf(value, sizeof(value), "%zu", i);
		if (!val_is(2 * i, NULL, name) || !val_is(2 * i + 1, name, value))
			all = 0;
	}
	ok(all, "cookies: the first 64 pairs kept in order");

	load("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_COOKIES) == 0, "cookies: none");
}

static void test_args_sources(void)
{
	load("GET /s?q=select+a+plan&n=%41%2f HTTP/1.1\r\nHost: h\r\n\r\n");
	ok(get(WAF_TARGET_ARGS) == 4, "args: query names and values");
	ok(has_arg("q", "select a plan") && has_arg("n", "A/"), "args: decoded once");
	ok(vals == wr.args && (wr.have & (1u << WAF_TARGET_ARGS)), "args: kept in the request");
	ok(get(WAF_TARGET_ARGS) == 4, "args: extracted once");
	ok(!wr.args[0].secret && !wr.args[1].secret, "args are not secret");
	ok(args_inside(), "args: inside the request or the arena");

	load("POST /f?a=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded; "
	     "charset=UTF-8\r\nContent-Length: 15\r\n\r\nuser=bob&pw=%27");
	ok(get(WAF_TARGET_ARGS) == 6, "args: query then form body (charset ignored)");
	ok(has_arg("a", "1") && has_arg("user", "bob") && has_arg("pw", "'"), "args: form body");
	ok(get(WAF_TARGET_BODY) == 1 && val_is(0, NULL, "user=bob&pw=%27"),
	   "body: the raw inspected body");

	load_body("Application/JSON", "{\"name\":\"O'Brien\"}");
	ok(get(WAF_TARGET_ARGS) == 2 && has_arg("name", "O'Brien"), "args: JSON body, any case");
	load_body("application/vnd.api+json; charset=utf-8", "{\"k\":[1,\"v\"]}");
	ok(get(WAF_TARGET_ARGS) == 3 && has_value("k", "1") && has_value("k", "v"),
	   "args: a +json type is JSON");
	load_body("application/json ; charset=utf-8", "[\"x\"]");
	ok(get(WAF_TARGET_ARGS) == 1, "args: spaces before parameters");
	load_body("text/plain", "a=1&b=2");
	ok(get(WAF_TARGET_ARGS) == 0, "args: text/plain body is not parsed");
	load_body("+json", "[1]");
	ok(get(WAF_TARGET_ARGS) == 0, "args: '+json' is not a media type");
	load_body("multipart/form-data; boundary=\"XyZ\"",
	          "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nval\r\n--XyZ--\r\n");
	ok(get(WAF_TARGET_ARGS) == 2 && has_arg("f", "val"), "args: multipart, quoted boundary");
	load_body("multipart/form-data", "--XyZ\r\n\r\nx\r\n--XyZ--");
	ok(get(WAF_TARGET_ARGS) == 0, "args: multipart without a boundary is not parsed");
	load_body("multipart/form-data; boundary=", "--\r\n\r\nx");
	ok(get(WAF_TARGET_ARGS) == 0, "args: empty boundary");
	load("POST /f?z=9 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na=1");
	ok(get(WAF_TARGET_ARGS) == 2 && has_arg("z", "9"), "args: no Content-Type: query only");
}

static void test_urlencoded(void)
{
	const char *s;

	fresh(sizeof(arena));
	s = "a=%zz&b=%4&c=%&d=%41%4a%4A";
	ok(waf_parse_urlencoded(&wr, s, strlen(s)) == 8, "form: four pairs");
	ok(has_arg("a", "%zz") && has_arg("b", "%4") && has_arg("c", "%"),
	   "form: invalid and truncated %% stay");
	ok(has_arg("d", "AJJ"), "form: hex in either case");
	fresh(sizeof(arena));
	s = "&&flag&=v&e=&%41+b=%2541";
	ok(waf_parse_urlencoded(&wr, s, strlen(s)) == 7, "form: empty pieces skipped");
	ok(has_arg("flag", NULL), "form: bare name has no value entry");
	ok(has_arg("", "v"), "form: empty name");
	ok(has_arg("e", ""), "form: empty value is an entry");
	ok(has_arg("A b", "%41"), "form: names decoded too, once only");
	fresh(sizeof(arena));
	ok(waf_parse_urlencoded(&wr, "", 0) == 0 && wr.n_args == 0, "form: empty string");
	s = "x=1";
	ok(waf_parse_urlencoded(&wr, s, 3) == 2 && wr.args[0].data == s && wr.arena_used == 0,
	   "form: nothing to decode is borrowed, no arena used");
}

static int ref_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* A form value decoded a byte at a time, as waf_parse_urlencoded must. */
static size_t ref_form_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && ref_hex(s[i + 1]) >= 0 &&
		    ref_hex(s[i + 2]) >= 0) {
			out[o++] = (char)(ref_hex(s[i + 1]) * 16 + ref_hex(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return o;
}

/* Long values (the vector code's lengths) with '+', escapes, invalid
 * escapes and random bytes, against the byte-at-a-time decoding. */
static void test_urlencoded_long(void)
{
	static const char alphabet[] = "++++%%41aB zZ09%2b%zz\xff";
	static char value[1024], want[1024];
	unsigned long seed = 7;
	int good = 1;

	for (int i = 0; i < 3000 && good; i++) {
		size_t len, n;

		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		len = (seed >> 33) % sizeof(value);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			value[k] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
			if (value[k] == '&' || value[k] == '=')
				value[k] = 'x';
		}
		fresh(sizeof(arena));
		n = ref_form_decode(value, len, want);
		waf_parse_urlencoded(&wr, value, len);
		good = len == 0 ? wr.n_args <= 1
		                : wr.n_args == 1 && wr.args[0].len == n &&
		                      memcmp(wr.args[0].data, want, n) == 0;
	}
	ok(good, "form: 3000 long values decode as a byte at a time would");
}

/* Random forms (separators, escapes, '+', punctuation, high bytes) at the
 * vector code's lengths, against a split and decode a byte at a time; and
 * every summary the decoder hands on is waf_summary of the decoded text.
 * Once per vector width the scan may use (as far as this processor has
 * it). */
static void test_urlencoded_random(int bits)
{
	/* with the bytes just outside each plain range: / : @ [ ` { */
	static const char alphabet[] =
	    "aaaaaaaaaaBBBBzz0099      +++++&&==%%%41%2b%zz<>'\";(),.\xff\x01\t/:@[`{";
	static char form[2048], want[2048];
	unsigned long seed = 11;
	int split = 1, summed = 1, with_sum = 0;

	waf_form_vector_limit(bits);
	for (int i = 0; i < 4000 && split && summed; i++) {
		size_t len, k, p = 0, n_want = 0;

		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		len = (seed >> 33) % sizeof(form);
		for (k = 0; k < len; k++) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			/* long runs without separators now and then */
			form[k] = alphabet[(seed >> 33) % ((i & 3) ? sizeof(alphabet) - 1 : 20)];
		}
		fresh(sizeof(arena));
		waf_parse_urlencoded(&wr, form, len);
		/* the reference: pairs between '&', the name up to the first '=' */
		while (p < len && split) {
			const char *amp = memchr(form + p, '&', len - p);
			size_t e = amp ? (size_t)(amp - form) : len;
			const char *eq = memchr(form + p, '=', e - p);
			size_t ne = eq ? (size_t)(eq - form) : e, n;

			if (e > p) {
				n = ref_form_decode(form + p, ne - p, want);
				split = n_want < wr.n_args && wr.args[n_want].len == n &&
				        memcmp(wr.args[n_want].data, want, n) == 0 &&
				        wr.args[n_want].name == NULL;
				n_want++;
				if (eq != NULL && split) {
					n = ref_form_decode(eq + 1, e - ne - 1, want);
					split = n_want < wr.n_args && wr.args[n_want].len == n &&
					        memcmp(wr.args[n_want].data, want, n) == 0 &&
					        wr.args[n_want].name == wr.args[n_want - 1].data;
					n_want++;
				}
			}
			p = e + 1;
		}
		split = split && n_want == wr.n_args;
		for (k = 0; k < wr.n_args && summed; k++) {
			const struct waf_value *v = &wr.args[k];

			summed = !v->has_sum || v->sum == waf_summary(v->data, v->len);
			with_sum += v->has_sum;
		}
	}
	ok(split,
	   "form (%d-bit scan): 4000 random forms split and decode as a byte at a time would",
	   bits);
	ok(summed && with_sum > 10000,
	   "form (%d-bit scan): the summaries handed on are the decoded text's", bits);
	waf_form_vector_limit(512);
}

/* The keys the form decoder hands on with a value (waf_value.keys) are
 * those the SQL detector's own search would find in it (but for the last
 * two places, where the decoder may mark more): random forms of
 * words with the keys' letters in any case, separators, escapes and other
 * bytes, whose values start anywhere in the scan's 64-byte blocks and end
 * at the input's end too. Where the processor lacks AVX-512 VBMI, no value
 * may carry keys. */
static void test_urlencoded_keys(void)
{
	static const char *const words[] = {
	    "union",    "SELECT",  "sysobjects", "xp_cmdshell", "pg_sleep", "CaSe", "all", "use",
	    "dumpfile", "waitfor", "lorem",      "ipsum",       "dolor",    "+",    "++",  "%41",
	    "%2b",      "=",       "&",          "\xff",        ",",        ".",    "(",   "_",
	    "@",        "`",       "{",          "un",          "sel",      "1",    "0x1f"};
	static char form[3000];
	int has_vbmi = sqli_key_tables_vbmi() != NULL;
	unsigned long seed = 5;
	size_t keyed = 0, marks = 0, bad = 0, last = 0, shifts = 0;

	for (int i = 0; i < 3000; i++) {
		size_t len = 0, cap;

		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		cap = 1 + (seed >> 33) % (sizeof(form) - 16);
		while (len < cap) {
			const char *w;
			size_t l;

			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			w = words[(seed >> 33) % (sizeof(words) / sizeof(words[0]))];
			l = strlen(w);
			/* long values mostly: a pair now and then */
			if (w[0] == '&' && (seed >> 20) % 4 != 0)
				w = " ", l = 1;
			memcpy(form + len, w, l);
			len += l;
		}
		fresh(sizeof(arena));
		waf_parse_urlencoded(&wr, form, len);
		last = len;
		for (size_t k = 0; k < wr.n_args; k++) {
			const struct waf_value *v = &wr.args[k];
			const struct waf_sqli_keys *ks = &v->keys;
			struct sqli_marks m;

			if (ks->words == NULL)
				continue;
			keyed++;
			shifts |= (size_t)1 << (ks->shift % 64 / 8);
			if (!has_vbmi || !v->has_sum || v->len > SQLI_MARKS_SPAN ||
			    !sqli_key_marks((const unsigned char *)v->data, v->len, 0, 0, 0, &m)) {
				bad++;
				continue;
			}
			for (size_t w = 0; w < (v->len + 63) / 64; w++) {
				uint64_t keep = v->len - 64 * w >= 64
				                    ? ~(uint64_t)0
				                    : ((uint64_t)1 << (v->len - 64 * w)) - 1;
				uint64_t got = ks->shift == 0
				                   ? ks->words[w]
				                   : ks->words[w] >> ks->shift |
				                         ks->words[w + 1] << (64 - ks->shift);

				/* the last two places' windows read on into the byte
				 * after the value: more marks there, never fewer */
				uint64_t inner = v->len - 64 * w >= 66 ? ~(uint64_t)0
				                 : v->len - 64 * w > 2
				                     ? ((uint64_t)1 << (v->len - 64 * w - 2)) - 1
				                     : 0;

				bad += (m.key[w] & keep & ~got) != 0 ||
				       ((m.key[w] ^ got) & inner) != 0;
				marks += (size_t)__builtin_popcountll(m.key[w] & keep);
			}
		}
	}
	if (has_vbmi)
		ok(bad == 0 && keyed > 1000 && marks > 3000 && shifts == 0xff,
		   "form: the keys of %zu values are the detector's own (%zu marks, %zu wrong)",
		   keyed, marks, bad);
	else
		ok(keyed == 0, "form: no keys handed on without AVX-512 VBMI");
	waf_form_vector_limit(256);
	fresh(sizeof(arena));
	waf_parse_urlencoded(&wr, form, last);
	keyed = 0;
	for (size_t k = 0; k < wr.n_args; k++)
		keyed += wr.args[k].keys.words != NULL;
	ok(keyed == 0, "form: no keys from a scan without AVX-512");
	waf_form_vector_limit(512);
}

static void test_json(void)
{
	const char *s;
	char deep[300];
	size_t i;

	fresh(sizeof(arena));
	s = "{\"a\":{\"b\":[1,-2.5e3,true,false,null,\"s\"]},\"c\":\"d\"}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 10, "json: keys and every scalar");
	ok(has_name("a") && has_name("b") && has_arg("c", "d"), "json: keys are names");
	ok(has_value("b", "1") && has_value("b", "-2.5e3") && has_value("b", "true") &&
	       has_value("b", "false") && has_value("b", "null") && has_value("b", "s"),
	   "json: array values carry the key they are under");

	fresh(sizeof(arena));
	s = " [ \"top\" , {} , [] , { \"k\" : \"v\" } ] ";
	ok(waf_parse_json(&wr, s, strlen(s)) == 3 && wr.args[0].name == NULL,
	   "json: whitespace, empty containers; a top-level array value has no name");
	ok(span_is(wr.args[0].data, wr.args[0].len, "top") && has_arg("k", "v"),
	   "json: values found");

	fresh(sizeof(arena));
	s = "{\"q\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}";
	waf_parse_json(&wr, s, strlen(s));
	ok(has_arg("q", "a\"b\\c/d\b\f\n\r\t"), "json: simple escapes");
	fresh(sizeof(arena));
	s = "{\"\\u0071\":\"\\u00e9\\u20ac\\ud83d\\ude00\\u0027\"}";
	waf_parse_json(&wr, s, strlen(s));
	ok(has_arg("q", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'"),
	   "json: \\u escapes and a surrogate pair to UTF-8, in keys too");
	fresh(sizeof(arena));
	s = "[\"\\ud800x\",\"\\udc00\",\"\\ud800\\u0041\",\"\\ud800\"]";
	ok(waf_parse_json(&wr, s, strlen(s)) == 4, "json: bad surrogates do not stop the walk");
	ok(span_is(wr.args[0].data, wr.args[0].len, "\\ud800x") &&
	       span_is(wr.args[1].data, wr.args[1].len, "\\udc00") &&
	       span_is(wr.args[2].data, wr.args[2].len, "\\ud800A") &&
	       span_is(wr.args[3].data, wr.args[3].len, "\\ud800"),
	   "json: a lone or reversed surrogate stays as its escape");

	fresh(sizeof(arena));
	s = "{\"a\":\"1\",\"b\":\"unterminat";
	ok(waf_parse_json(&wr, s, strlen(s)) == 4 && has_arg("b", "unterminat"),
	   "json: cut mid-string keeps what came before and the cut string");
	fresh(sizeof(arena));
	s = "{\"a\":\"xy\\u00";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2 && has_arg("a", "xy"),
	   "json: cut mid-\\u escape");
	fresh(sizeof(arena));
	s = "{\"a\":\"xy\\";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2 && has_arg("a", "xy"),
	   "json: cut right after a backslash");
	fresh(sizeof(arena));
	s = "[\"\\ud83d";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1 && wr.args[0].len == 0,
	   "json: cut after a high surrogate");
	fresh(sizeof(arena));
	s = "[\"\\ud83d\\ude";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1 && wr.args[0].len == 0,
	   "json: cut inside the low surrogate");
	fresh(sizeof(arena));
	s = "{\"a\":12";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2 && has_arg("a", "12"), "json: cut number kept");
	fresh(sizeof(arena));
	s = "{\"a\":tr";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1, "json: cut literal dropped");
	fresh(sizeof(arena));
	s = "{\"key";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1 && has_arg("key", NULL), "json: cut key kept");
	fresh(sizeof(arena));
	s = "{\"key\"";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1, "json: cut before ':'");

	fresh(sizeof(arena));
	s = "{\"a\":\"ok\",\"b\":\"x\\qy\",\"c\":\"never\"}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 4 && has_arg("b", "x"),
	   "json: invalid escape: the string so far, then stop");
	ok(!has_arg("c", "never"), "json: nothing after an invalid escape");
	fresh(sizeof(arena));
	s = "{\"a\":\"\\u12\"}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2 && has_arg("a", ""),
	   "json: short \\u is invalid");
	fresh(sizeof(arena));
	s = "{\"a\":\"\\uzzzz\"}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2, "json: \\u with bad hex stops");
	fresh(sizeof(arena));
	s = "{\"a\":1,\"b\" 2,\"c\":3}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 3 && !has_arg("c", "3"),
	   "json: missing ':' stops the walk");
	fresh(sizeof(arena));
	s = "[1,2,]";
	ok(waf_parse_json(&wr, s, strlen(s)) == 2, "json: trailing comma stops");
	fresh(sizeof(arena));
	s = "{1:2}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 0, "json: non-string key stops");
	fresh(sizeof(arena));
	s = "[1}";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1, "json: mismatched close stops");
	fresh(sizeof(arena));
	s = "\"alone\" trailing";
	ok(waf_parse_json(&wr, s, strlen(s)) == 1, "json: top-level scalar, trailing text ignored");
	fresh(sizeof(arena));
	s = "nope";
	ok(waf_parse_json(&wr, s, strlen(s)) == 0, "json: not JSON");
	fresh(sizeof(arena));
	ok(waf_parse_json(&wr, "", 0) == 0 && waf_parse_json(&wr, "   ", 3) == 0, "json: empty");

	for (i = 0; i < 64; i++)
		deep[i] = '[';
	strcpy(deep + 64, "\"in\"]");
	fresh(sizeof(arena));
	ok(waf_parse_json(&wr, deep, strlen(deep)) == 1, "json: 64 levels are walked");
	for (i = 0; i < 65; i++)
		deep[i] = '[';
	strcpy(deep + 65, "\"in\"]");
	fresh(sizeof(arena));
	ok(waf_parse_json(&wr, deep, strlen(deep)) == 0, "json: a 65th level stops the walk");
	fresh(sizeof(arena));
	strcpy(deep, "{\"a\":1,\"b\":");
	for (i = 0; i < 200; i++)
		deep[11 + i] = '{';
	deep[211] = '\0';
	ok(waf_parse_json(&wr, deep, strlen(deep)) == 3 && has_arg("a", "1"),
	   "json: deep nesting keeps what came before");
}

static void test_multipart(void)
{
	const char *b = "----WebKitFormBoundary7MA4";
	const char *s;

	fresh(sizeof(arena));
	s = "preamble\r\n------WebKitFormBoundary7MA4\r\n"
	    "Content-Disposition: form-data; name=\"user\"\r\n\r\n"
	    "alice\r\n------WebKitFormBoundary7MA4\r\n"
	    "content-disposition: form-data; name=\"up\"; filename=\"../../x.php\"\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n"
	    "<?php system($_GET[c]); ?>\r\n------WebKitFormBoundary7MA4\r\n"
	    "Content-Disposition: form-data; name=empty\r\n\r\n"
	    "\r\n------WebKitFormBoundary7MA4--\r\nepilogue";
	s = as_raw(s);
	ok(waf_parse_multipart(&wr, s, strlen(s), b, strlen(b)) == 6, "multipart: three parts");
	ok(has_arg("user", "alice"), "multipart: field value");
	ok(has_arg("up", "../../x.php"), "multipart: a file part gives its file name");
	ok(!has_value("up", "<?php system($_GET[c]); ?>"), "multipart: not the file content");
	ok(has_arg("empty", ""), "multipart: unquoted name, empty value");
	ok(args_inside(), "multipart: values borrowed from the body");

	fresh(sizeof(arena));
	s = "--b\nContent-Disposition: form-data; name=\"a\"\n\nline1\nline2\n--b\n"
	    "Content-Disposition: form-data; name=\"x\"\n\n--b--";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 4, "multipart: bare LF lines");
	ok(has_arg("a", "line1\nline2"), "multipart: content keeps its inner line breaks");
	ok(has_arg("x", ""), "multipart: delimiter right after the blank line: empty value");

	fresh(sizeof(arena));
	s = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnot--b the end\r\n"
	    "x--b\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nlast part, cut";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 4,
	   "multipart: without a closing boundary");
	ok(has_arg("a", "not--b the end\r\nx--b"), "multipart: boundary text inside a line");
	ok(has_arg("c", "last part, cut"), "multipart: cut part runs to the end");

	fresh(sizeof(arena));
	s = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\n"
	    "Content-Disposition: form-da";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 2 && has_arg("a", "1"),
	   "multipart: cut in the part headers keeps earlier parts");
	fresh(sizeof(arena));
	s = "--b\r\nContent-Type: text/plain\r\n\r\nanon\r\n--b--";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 1 && has_value("", "anon"),
	   "multipart: a part without a name is inspected under \"\"");
	fresh(sizeof(arena));
	s = "--b\r\nContent-Disposition: form-data; filename=\"a;b.txt\"; "
	    "name=\"f\"\r\n\r\nx\r\n--b--";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 2 && has_arg("f", "a;b.txt"),
	   "multipart: ';' inside a quoted file name");
	fresh(sizeof(arena));
	s = "no delimiter at all";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 0, "multipart: no delimiter");
	ok(waf_parse_multipart(&wr, s, strlen(s), "", 0) == 0, "multipart: empty boundary");
	fresh(sizeof(arena));
	s = "--b";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 0, "multipart: delimiter only");
	fresh(sizeof(arena));
	s = "--b--\r\n--b\r\nContent-Disposition: form-data; name=\"z\"\r\n\r\nz\r\n";
	ok(waf_parse_multipart(&wr, s, strlen(s), "b", 1) == 0, "multipart: close delimiter ends");
}

static void test_limits(void)
{
	static char big[32768];
	size_t off = 0, i;

	/* 600 args: the first 512 entries are kept */
	off = (size_t)snprintf(big, sizeof(big),
	                       "POST /f HTTP/1.1\r\nHost: h\r\n"
	                       "Content-Type: application/x-www-form-urlencoded\r\n"
	                       "Content-Length: 99999\r\n\r\n");
	for (i = 0; i < 600; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%sk%zu=%zu", i ? "&" : "", i,
		                        i);
	load(big);
	ok(get(WAF_TARGET_ARGS) == WAF_MAX_ARGS, "limits: 600 args give WAF_MAX_ARGS entries");
	ok(wr.truncated > 0, "limits: the rest is counted");
	ok(has_arg("k0", "0") && has_arg("k255", "255") && !has_arg("k256", NULL),
	   "limits: the first 256 pairs, in order");

	/* a small arena: values that need decoding stop the parse */
	fresh(14);
	ok(waf_parse_urlencoded(&wr, "a=%41%41%41%41&b=%42%42%42%42&c=1", 33) == 3,
	   "limits: the arena fills, the parse stops");
	ok(wr.truncated == 1 && wr.arena_used == 4 && has_arg("a", "AAAA"),
	   "limits: what fit is kept, the rest counted");
	fresh(0);
	ok(waf_parse_json(&wr, "[\"a\\n\",\"b\"]", 11) == 0 && wr.truncated == 1,
	   "limits: no arena for an escaped string");
	fresh(0);
	ok(waf_parse_json(&wr, "[\"plain\",2]", 11) == 2, "limits: no arena needed when borrowed");
	waf_request_init(&wr, NULL, 100);
	ok(waf_parse_urlencoded(&wr, "x=%41", 5) == 1 && wr.truncated == 1 && wr.arena_size == 0,
	   "limits: a NULL arena is an empty one");

	/* the documented bound: 2 * body_len + target_len + 4096 */
	off = (size_t)snprintf(big, sizeof(big),
	                       "POST /f?%s HTTP/1.1\r\nHost: h\r\n"
	                       "Content-Type: application/json\r\n"
	                       "Content-Length: 99999\r\n\r\n[",
	                       "q=%41%41%41%41%41%41%41%41%41%41");
	for (i = 0; i < 250; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%s\"\\u00e9\\n\\t\"",
		                        i ? "," : "");
	snprintf(big + off, sizeof(big) - off, "]");
	load(big);
	get(WAF_TARGET_ARGS);
	ok(wr.truncated == 0 && wr.arena_used <= 2 * wr.body_len + wr.target_len + 4096,
	   "limits: escaped JSON fits the documented arena bound");
	ok(args_inside(), "limits: every arg inside the request or the arena");
}

int main(void)
{
	test_names();
	test_target();
	test_headers();
	test_cookies();
	test_args_sources();
	test_urlencoded();
	test_urlencoded_long();
	test_urlencoded_random(512);
	test_urlencoded_random(256);
	test_urlencoded_random(128);
	test_urlencoded_random(0);
	test_urlencoded_keys();
	test_json();
	test_multipart();
	test_limits();
	return done_testing();
}
