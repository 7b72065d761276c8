/* Fuzz the WAF request view and the transforms. The input is a real
 * request when it parses as one; otherwise a fake head is made of it:
 * byte 0 picks the Content-Type, the first line is the request-target, the
 * second the Cookie value, the rest the body. Then every target is
 * extracted and every transform run on every value. Checks: parsed values
 * point into the input or the arena (or are the path "/"); the documented arena size is
 * enough (only the args cap truncates); secret headers are flagged; a
 * summary a decoder hands on is the value's, and so are its keys (those
 * the SQL detector's own search finds); no transform output is longer
 * than its input, in place or not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/http1.h"
#include "waf/request.h"
#include "waf/sqli_lexer.h"
#include "waf/transform.h"

static const char *const content_types[] = {
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/json",
    "application/problem+json",
    "multipart/form-data; boundary=XB",
    "text/plain",
};

/* The keys a decoder hands on with v are those the detector's own search
 * finds in it (the same lookup), but for the last two places, whose
 * windows the decoder reads on into the byte after the value (it may mark
 * more there, never less). */
static void check_keys(const struct waf_value *v)
{
	const struct waf_sqli_keys *k = &v->keys;
	struct sqli_marks m;

	if (k->words == NULL || !v->has_sum)
		return;
	for (size_t from = 0; from < v->len; from += SQLI_MARKS_SPAN) {
		size_t words =
		    ((v->len - from < SQLI_MARKS_SPAN ? v->len - from : SQLI_MARKS_SPAN) + 63) / 64;

		if (!sqli_key_marks((const unsigned char *)v->data, v->len, from, 0, 0, &m))
			return;
		for (size_t w = 0; w < words; w++) {
			size_t at = from / 64 + w, left = v->len - from - 64 * w;
			uint64_t keep = left >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << left) - 1;
			uint64_t inner = left >= 66 ? ~(uint64_t)0
			                 : left > 2 ? ((uint64_t)1 << (left - 2)) - 1
			                            : 0;
			uint64_t got = k->shift == 0 ? k->words[at]
			                             : k->words[at] >> k->shift |
			                                   k->words[at + 1] << (64 - k->shift);

			if ((m.key[w] & keep & ~got) != 0 || ((m.key[w] ^ got) & inner) != 0)
				abort();
		}
	}
}

static struct http1_header fake_headers[5];

static void header(size_t i, const char *name, const char *value, size_t value_len)
{
	fake_headers[i].name = name;
	fake_headers[i].name_len = strlen(name);
	fake_headers[i].value = value;
	fake_headers[i].value_len = value_len;
}

/* The next line of buf[*off .. len) (without its '\n'). */
static const char *line(const char *buf, size_t len, size_t *off, size_t *n)
{
	const char *s = buf + *off, *nl = memchr(s, '\n', len - *off);

	*n = nl ? (size_t)(nl - s) : len - *off;
	*off += *n + (nl != NULL);
	return s;
}

static void fake_request(struct waf_request *r, const char *buf, size_t len)
{
	size_t off = 1, n;
	const char *ct = content_types[(unsigned char)buf[0] % 5];

	r->method = "POST";
	r->method_len = 4;
	r->target = line(buf, len, &off, &n);
	r->target_len = n;
	header(0, "Host", "fuzz", 4);
	header(1, "Content-Type", ct, strlen(ct));
	header(2, "cOOKIE", line(buf, len, &off, &n), n);
	header(3, "User-Agent", buf, len < 8 ? len : 8);
	header(4, "Authorization", "Basic eDp5", 10);
	r->headers = fake_headers;
	r->n_headers = 5;
	r->body = buf + off;
	r->body_len = len - off;
	r->body_total = r->body_len;
}

static void inside(const struct waf_request *r, const char *buf, size_t len,
                   const struct waf_value *v)
{
	int in_buf = v->data >= buf && v->data + v->len <= buf + len;
	int in_arena = v->data >= r->arena && v->data + v->len <= r->arena + r->arena_used;

	if (v->data == NULL || (v->len > 0 && !in_buf && !in_arena && strcmp(v->data, "/") != 0))
		abort();
}

/* Every transform on v, out of place (nothing written past the end) and
 * in place: same result, never longer. */
static void transform_all(const struct waf_value *v)
{
	char *out = malloc(v->len + 1), *copy = malloc(v->len + 1);
	size_t n, m;
	int t;

	if (out == NULL || copy == NULL)
		abort();
	for (t = 0; t < WAF_T_MAX; t++) {
		out[v->len] = 0x5a;
		n = waf_transform_one((enum waf_transform)t, v->data, v->len, out);
		memcpy(copy, v->data, v->len);
		m = waf_transform_one((enum waf_transform)t, copy, v->len, copy);
		if (n > v->len || m != n || out[v->len] != 0x5a || memcmp(out, copy, n) != 0)
			abort();
	}
	free(out);
	free(copy);
}

static void check_secret(const struct waf_value *v)
{
	static const char *const secret[] = {"cookie", "authorization", "proxy-authorization"};
	size_t k;

	for (k = 0; k < 3 && v->name != NULL; k++)
		if (v->name_len == strlen(secret[k]) &&
		    strncasecmp(v->name, secret[k], v->name_len) == 0 && !v->secret)
			abort();
}

static void extract_all(struct waf_request *r, const char *buf, size_t len,
                        struct waf_value *scratch)
{
	const struct waf_value *vals;
	size_t n, i;
	int t;

	n = waf_request_values(r, WAF_TARGET_ARGS, NULL, 0, &vals, scratch);
	/* The documented arena size is enough: only the args cap cuts. */
	if (n > WAF_MAX_ARGS || (r->truncated > 0 && n != WAF_MAX_ARGS))
		abort();
	for (t = 0; t < WAF_TARGET_MAX; t++) {
		n = waf_request_values(r, (enum waf_target)t, "cookie", 6, &vals, scratch);
		if (n > WAF_MAX_ARGS)
			abort();
		for (i = 0; i < n; i++) {
			/* the other targets are the caller's (fake) fields, as given */
			if (t == WAF_TARGET_ARGS || t == WAF_TARGET_COOKIES ||
			    t == WAF_TARGET_PATH || t == WAF_TARGET_QUERY || t == WAF_TARGET_BODY)
				inside(r, buf, len, &vals[i]);
			if (t == WAF_TARGET_HEADERS || t == WAF_TARGET_HEADER)
				check_secret(&vals[i]);
			/* a summary a decoder hands on is the value's */
			if (vals[i].has_sum &&
			    vals[i].sum != waf_summary(vals[i].data, vals[i].len))
				abort();
			check_keys(&vals[i]);
			transform_all(&vals[i]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_request req;
	static struct waf_request r;
	static struct waf_value scratch[WAF_MAX_ARGS];
	const char *buf = (const char *)data;
	size_t arena_size = 2 * size + 4096;
	char *arena = malloc(arena_size);
	int st = 0, head;

	if (arena == NULL || size == 0) {
		free(arena);
		return 0;
	}
	waf_request_init(&r, arena, arena_size);
	head = http1_parse_request(buf, size, &req, &st);
	if (head > 0) {
		r.method = req.method;
		r.method_len = req.method_len;
		r.target = req.target;
		r.target_len = req.target_len;
		r.headers = req.headers;
		r.n_headers = req.n_headers;
		r.body = buf + head;
		r.body_len = size - (size_t)head;
		r.body_total = r.body_len;
	} else {
		fake_request(&r, buf, size);
	}
	/* exactly the size request.h promises is enough */
	r.arena_size = 2 * r.body_len + r.target_len + 4096;
	r.client_ip = "192.0.2.1";
	r.client_ip_len = 9;
	extract_all(&r, buf, size, scratch);

	/* The decoders on the whole input, whatever the head said. */
	waf_request_init(&r, arena, arena_size);
	waf_parse_json(&r, buf, size);
	waf_request_init(&r, arena, arena_size);
	waf_parse_multipart(&r, buf, size, "XB", 2);
	free(arena);
	return 0;
}
