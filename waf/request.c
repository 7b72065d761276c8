/* The WAF's view of a request: the targets of SPEC section 6, extracted
 * when a rule first asks for them.
 *
 * Single-valued targets and headers are borrowed straight from the parsed
 * head (one entry in the caller's scratch array); args and cookies are
 * parsed once into r and kept for the other rules of the same request.
 * Nothing here allocates: the decoders put decoded text into r->arena. */
#include "waf/request.h"

#include <string.h>

#define WAF_MAX_COOKIES (sizeof(((struct waf_request *)0)->cookies) / sizeof(struct waf_value))

static const char *const target_names[WAF_TARGET_MAX] = {
    [WAF_TARGET_METHOD] = "method",       [WAF_TARGET_PATH] = "path",
    [WAF_TARGET_QUERY] = "query",         [WAF_TARGET_ARGS] = "args",
    [WAF_TARGET_HEADER] = "header",       [WAF_TARGET_HEADERS] = "headers",
    [WAF_TARGET_COOKIES] = "cookies",     [WAF_TARGET_USER_AGENT] = "user_agent",
    [WAF_TARGET_CLIENT_IP] = "client_ip", [WAF_TARGET_BODY] = "body",
};

enum waf_target waf_target_from_name(const char *name, size_t len)
{
	int t;

	if (name == NULL)
		return WAF_TARGET_MAX;
	for (t = 0; t < WAF_TARGET_MAX; t++)
		if (strlen(target_names[t]) == len && memcmp(name, target_names[t], len) == 0)
			return (enum waf_target)t;
	/* The whole "header:Name" is accepted too; the name is the caller's. */
	if (len > 7 && memcmp(name, "header:", 7) == 0)
		return WAF_TARGET_HEADER;
	return WAF_TARGET_MAX;
}

const char *waf_target_name(enum waf_target t)
{
	if ((unsigned)t >= WAF_TARGET_MAX)
		return "unknown";
	return target_names[t];
}

void waf_request_init(struct waf_request *r, char *arena, size_t arena_size)
{
	/* Field by field: the arrays (about 33 KiB) are only read up to
	 * n_args, n_cookies and n_keys, so clearing them per request would be
	 * waste. */
	r->method = NULL;
	r->method_len = 0;
	r->target = NULL;
	r->target_len = 0;
	r->headers = NULL;
	r->n_headers = 0;
	r->client_ip = NULL;
	r->client_ip_len = 0;
	r->body = NULL;
	r->body_len = 0;
	r->body_total = 0;
	r->have = 0;
	r->arena = arena;
	r->arena_size = arena ? arena_size : 0;
	r->arena_used = 0;
	r->n_args = 0;
	r->n_cookies = 0;
	r->n_keys = 0;
	r->truncated = 0;
}

/* ---- helpers */

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int eq_nocase_n(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return 0;
	return 1;
}

/* s[0..n) equals the literal lit, ignoring ASCII case. */
static int eq_nocase(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && eq_nocase_n(s, lit, n);
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_ows(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_ows((*s)[*n - 1]))
		(*n)--;
}

/* Values never to be shown in an event or a log (SPEC section 6). Asked
 * for every header a rule reads: the length decides first. */
static int secret_header(const char *name, size_t len)
{
	switch (len) {
	case 6:
		return eq_nocase_n(name, "cookie", 6);
	case 13:
		return eq_nocase_n(name, "authorization", 13);
	case 19:
		return eq_nocase_n(name, "proxy-authorization", 19);
	default:
		return 0;
	}
}

static void set_value(struct waf_value *v, const char *data, size_t len, const char *name,
                      size_t name_len, int secret)
{
	v->data = data;
	v->len = len;
	v->name = name;
	v->name_len = name_len;
	v->secret = secret;
	v->has_sum = 0;
	v->keys.words = NULL;
}

/* ---- the request-target */

/* Where the path starts: after "scheme://authority" in absolute-form, at
 * the start otherwise (origin-form, "*", authority-form). */
static size_t path_start(const char *t, size_t len)
{
	size_t i = 0;

	if (len == 0 || !((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
		return 0;
	while (i < len && t[i] != ':' && t[i] != '/' && t[i] != '?')
		i++;
	if (len - i < 3 || memcmp(t + i, "://", 3) != 0)
		return 0;
	for (i += 3; i < len && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
		;
	return i;
}

/* The path (without the query) and the query (NULL without a '?'). */
static void split_target(const struct waf_request *r, const char **path, size_t *path_len,
                         const char **query, size_t *query_len)
{
	size_t start = path_start(r->target, r->target_len);
	const char *p = r->target + start;
	const char *q = memchr(p, '?', r->target_len - start);

	*path = p;
	*path_len = q ? (size_t)(q - p) : r->target_len - start;
	*query = q ? q + 1 : NULL;
	*query_len = q ? r->target_len - start - *path_len - 1 : 0;
	/* "http://host?x" asks for "/" (RFC 9112 3.2.2). */
	if (start > 0 && *path_len == 0) {
		*path = "/";
		*path_len = 1;
	}
}

/* ---- headers and cookies */

/* Every field named name (NULL: every field) into scratch. */
static size_t header_values(struct waf_request *r, const char *name, size_t name_len, int with_name,
                            struct waf_value *scratch)
{
	const struct http1_header *h;
	size_t i, n = 0;

	for (i = 0; i < r->n_headers; i++) {
		h = &r->headers[i];
		if (name != NULL &&
		    (h->name_len != name_len || !eq_nocase_n(h->name, name, name_len)))
			continue;
		if (n == WAF_MAX_ARGS) {
			r->truncated++;
			break;
		}
		set_value(&scratch[n++], h->value, h->value_len, with_name ? h->name : NULL,
		          with_name ? h->name_len : 0, secret_header(h->name, h->name_len));
	}
	return n;
}

static int add_cookie(struct waf_request *r, const char *data, size_t len, const char *name,
                      size_t name_len, int secret)
{
	if (r->n_cookies >= WAF_MAX_COOKIES) {
		r->truncated++;
		return -1;
	}
	set_value(&r->cookies[r->n_cookies++], data, len, name, name_len, secret);
	return 0;
}

/* One "name=value" of a Cookie field. A piece without '=' is a nameless
 * value (RFC 6265bis 5.6), so it stays secret. */
static int cookie_pair(struct waf_request *r, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len), *v;
	size_t name_len, v_len;

	if (eq == NULL)
		return add_cookie(r, s, len, s, 0, 1);
	name_len = (size_t)(eq - s);
	v = eq + 1;
	v_len = len - name_len - 1;
	trim(&s, &name_len);
	trim(&v, &v_len);
	if (add_cookie(r, s, name_len, NULL, 0, 0) < 0)
		return -1;
	return add_cookie(r, v, v_len, s, name_len, 1);
}

/* "a=b; c=d" of every Cookie field into r->cookies. */
static void extract_cookies(struct waf_request *r)
{
	const struct http1_header *h;
	const char *p, *end, *semi, *s;
	size_t i, n;

	for (i = 0; i < r->n_headers; i++) {
		h = &r->headers[i];
		if (!eq_nocase(h->name, h->name_len, "cookie"))
			continue;
		for (p = h->value, end = p + h->value_len; p < end; p = semi ? semi + 1 : end) {
			semi = memchr(p, ';', (size_t)(end - p));
			s = p;
			n = (size_t)((semi ? semi : end) - p);
			trim(&s, &n);
			if (n > 0 && cookie_pair(r, s, n) < 0)
				return;
		}
	}
}

/* ---- args */

enum body_kind { BODY_OTHER, BODY_FORM, BODY_JSON, BODY_MULTIPART, BODY_KIND_MAX };

/* The boundary parameter of a multipart Content-Type (params after the
 * media type, at p). Returns 0 or -1 if there is none. */
static int boundary_param(const char *p, const char *end, const char **b, size_t *b_len)
{
	const char *semi, *eq, *s;
	size_t n;

	for (; p < end; p = semi ? semi + 1 : end) {
		semi = memchr(p, ';', (size_t)(end - p));
		s = p;
		n = (size_t)((semi ? semi : end) - p);
		trim(&s, &n);
		eq = memchr(s, '=', n);
		if (eq == NULL || !eq_nocase(s, (size_t)(eq - s), "boundary"))
			continue;
		n -= (size_t)(eq + 1 - s);
		s = eq + 1;
		if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
			s++;
			n -= 2;
		}
		*b = s;
		*b_len = n;
		return n > 0 ? 0 : -1;
	}
	return -1;
}

/* What the Content-Type says the body is; charset and other parameters
 * do not change how it is parsed. */
static enum body_kind body_kind(const struct waf_request *r, const char **b, size_t *b_len)
{
	const struct http1_header *ct = http1_find_header(r->headers, r->n_headers, "Content-Type");
	const char *semi, *t;
	size_t n;

	if (ct == NULL)
		return BODY_OTHER;
	semi = memchr(ct->value, ';', ct->value_len);
	t = ct->value;
	n = semi ? (size_t)(semi - t) : ct->value_len;
	trim(&t, &n);
	if (eq_nocase(t, n, "application/x-www-form-urlencoded"))
		return BODY_FORM;
	if (eq_nocase(t, n, "application/json") ||
	    (n > 5 && memchr(t, '/', n) != NULL && eq_nocase(t + n - 5, 5, "+json")))
		return BODY_JSON;
	if (eq_nocase(t, n, "multipart/form-data") && semi != NULL &&
	    boundary_param(semi + 1, ct->value + ct->value_len, b, b_len) == 0)
		return BODY_MULTIPART;
	return BODY_OTHER;
}

static void extract_args(struct waf_request *r)
{
	const char *path, *query = NULL, *b = NULL;
	size_t path_len, query_len, b_len = 0;

	if (r->target != NULL)
		split_target(r, &path, &path_len, &query, &query_len);
	if (query != NULL)
		waf_parse_urlencoded(r, query, query_len);
	if (r->body == NULL)
		return;
	switch (body_kind(r, &b, &b_len)) {
	case BODY_FORM:
		waf_parse_urlencoded(r, r->body, r->body_len);
		break;
	case BODY_JSON:
		waf_parse_json(r, r->body, r->body_len);
		break;
	case BODY_MULTIPART:
		waf_parse_multipart(r, r->body, r->body_len, b, b_len);
		break;
	default:
		break;
	}
}

/* ---- values */

/* One value in scratch[0]; data NULL: the target is absent. */
static size_t one_value(const char *data, size_t len, const struct waf_value **out,
                        struct waf_value *scratch)
{
	if (data == NULL)
		return 0;
	set_value(scratch, data, len, NULL, 0, 0);
	*out = scratch;
	return 1;
}

size_t waf_request_values(struct waf_request *r, enum waf_target t, const char *header_name,
                          size_t header_name_len, const struct waf_value **out,
                          struct waf_value *scratch)
{
	const char *path = NULL, *query = NULL;
	size_t path_len = 0, query_len = 0;

	*out = scratch;
	if (t == WAF_TARGET_PATH || t == WAF_TARGET_QUERY) {
		if (r->target == NULL)
			return 0;
		split_target(r, &path, &path_len, &query, &query_len);
	}
	switch (t) {
	case WAF_TARGET_METHOD:
		return one_value(r->method, r->method_len, out, scratch);
	case WAF_TARGET_PATH:
		return one_value(path, path_len, out, scratch);
	case WAF_TARGET_QUERY:
		return one_value(query, query_len, out, scratch);
	case WAF_TARGET_HEADER:
		return header_name ? header_values(r, header_name, header_name_len, 1, scratch) : 0;
	case WAF_TARGET_HEADERS:
		return header_values(r, NULL, 0, 1, scratch);
	case WAF_TARGET_USER_AGENT:
		return header_values(r, "User-Agent", 10, 0, scratch);
	case WAF_TARGET_CLIENT_IP:
		return one_value(r->client_ip, r->client_ip_len, out, scratch);
	case WAF_TARGET_BODY:
		return one_value(r->body, r->body_len, out, scratch);
	case WAF_TARGET_COOKIES:
		if (!(r->have & (1u << t)))
			extract_cookies(r);
		r->have |= 1u << t;
		*out = r->cookies;
		return r->n_cookies;
	case WAF_TARGET_ARGS:
		if (!(r->have & (1u << t)))
			extract_args(r);
		r->have |= 1u << t;
		*out = r->args;
		return r->n_args;
	default:
		return 0;
	}
}
