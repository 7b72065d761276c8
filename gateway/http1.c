/* The HTTP/1.1 codec: request and response heads, chunked bodies.
 *
 * The head parsers are stateless: each call parses the buffer from its first
 * byte. Callers re-call with a growing buffer, so a head delivered in k reads
 * costs O(k * len); heads are bounded (8 KiB request line + 16 KiB block), so
 * the worst case is a few MB of scanning per connection, and a caller that
 * re-parses only when a read brought a '\n' (or crossed a limit) keeps it
 * near linear. In exchange there is no per-connection parser state and every
 * field is validated exactly once per call.
 *
 * Strictness is the point: anything that two HTTP implementations could
 * frame differently (request smuggling) is rejected with the status that
 * SPEC.md section 4 names. */
#include "gateway/http1.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SCAN_OK 0
#define SCAN_MORE 1 /* ran out of bytes; any other value is an HTTP status */

#define CHUNK_MAX_SIZE_LINE 4096 /* chunk-size line with extensions */
#define CHUNK_MAX_DIGITS 16
#define MAX_EMPTY_LINES 4 /* tolerated before a request line (RFC 9112 2.2) */
#define CL_MAX_DIGITS 18  /* < 10^18 fits in int64_t with no overflow check */

/* Character classes (RFC 9110 5.6.2 tchar, 5.5 field-value, RFC 3986). */
#define C_TCHAR 0x01
#define C_VALUE 0x02  /* HTAB, SP, VCHAR, obs-text */
#define C_TARGET 0x04 /* VCHAR */
#define C_HEX 0x08
#define C_HOST 0x10   /* reg-name: unreserved and sub-delims ('%' apart) */
#define C_SCHEME 0x20 /* ALPHA DIGIT + - . */

static const unsigned char ctab[256] = {
	0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x00,0x00,0x00,
	0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
	0x02,0x17,0x06,0x07,0x17,0x07,0x17,0x17,0x16,0x16,0x17,0x37,0x16,0x37,0x37,0x06,
	0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x06,0x16,0x06,0x16,0x06,0x06,
	0x06,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,
	0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x06,0x06,0x06,0x07,0x17,
	0x07,0x3f,0x3f,0x3f,0x3f,0x3f,0x3f,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,
	0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x37,0x06,0x07,0x06,0x17,0x00,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
	0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,0x02,
};

static int is_class(char c, unsigned char cls)
{
	return (ctab[(unsigned char)c] & cls) != 0;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* a[0..n) equals b[0..n), ignoring ASCII case. */
static int eq_nocase_n(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/* s[0..n) equals the string lit, ignoring ASCII case. */
static int eq_nocase(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || lower(s[i]) != lower(lit[i]))
			return 0;
	return lit[n] == '\0';
}

/* The value and target scans are the hot loops: 16 bytes per step with
 * SSE2 (baseline on x86-64), a table lookup per byte elsewhere and for the
 * tail. Both stop at the first byte outside their class. */
#ifdef __SSE2__
static __m128i load128(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Mask of the bytes of x that are <= lo (unsigned). */
static unsigned at_most_mask(__m128i x, char lo)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(lo)), x));
}

/* Mask of the bytes of x that are >= hi (unsigned). */
static unsigned at_least_mask(__m128i x, char hi)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(hi)), x));
}
#endif

/* Skip field-value bytes (HTAB, SP, VCHAR, obs-text). */
static const char *scan_value(const char *p, const char *end)
{
#ifdef __SSE2__
	while (end - p >= 16) {
		/* Controls and DEL stop the fast path; obs-text passes. */
		__m128i x = load128(p);
		unsigned m = at_most_mask(x, 0x1f) |
			     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));

		if (m == 0) {
			p += 16;
			continue;
		}
		p += __builtin_ctz(m);
		if (*p != '\t')
			return p;
		p++;
	}
#endif
	while (p < end && is_class(*p, C_VALUE))
		p++;
	return p;
}

/* Skip request-target bytes (VCHAR only). */
static const char *scan_target(const char *p, const char *end)
{
#ifdef __SSE2__
	while (end - p >= 16) {
		__m128i x = load128(p);
		unsigned m = at_most_mask(x, 0x20) | at_least_mask(x, 0x7f);

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && is_class(*p, C_TARGET))
		p++;
	return p;
}

static const char *scan_class(const char *p, const char *end, unsigned char cls)
{
	while (p < end && is_class(*p, cls))
		p++;
	return p;
}

/* Consume a line ending (CRLF or bare LF) at *pp. A CR that is not followed
 * by LF is a bare CR: 400. */
static int eat_eol(const char **pp, const char *end)
{
	const char *p = *pp;

	if (p == end)
		return SCAN_MORE;
	if (*p == '\n') {
		*pp = p + 1;
		return SCAN_OK;
	}
	if (*p != '\r')
		return 400;
	if (p + 1 == end)
		return SCAN_MORE;
	if (p[1] != '\n')
		return 400;
	*pp = p + 2;
	return SCAN_OK;
}

/* Iterate a comma-separated list: the next non-empty element with OWS
 * trimmed. Returns 1 with *elem and *elem_len set, 0 at the end. */
static int list_next(const char **pp, const char *end, const char **elem, size_t *elem_len)
{
	const char *p = *pp;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		const char *s = p;

		p = comma ? comma + 1 : end;
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (e > s) {
			*pp = p;
			*elem = s;
			*elem_len = (size_t)(e - s);
			return 1;
		}
	}
	*pp = end;
	return 0;
}

int http1_list_has_token(const char *value, size_t len, const char *token)
{
	const char *p = value, *end = value + len, *elem;
	size_t elem_len;

	while (list_next(&p, end, &elem, &elem_len))
		if (eq_nocase(elem, elem_len, token))
			return 1;
	return 0;
}

const struct http1_header *http1_find_header(const struct http1_header *headers, size_t n,
					     const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (headers[i].name_len == len && eq_nocase_n(headers[i].name, name, len))
			return &headers[i];
	return NULL;
}

/* 1*DIGIT without sign, junk or lists; at most 18 digits (well inside
 * int64_t, and no real body is an exabyte). Returns 0 or -1. */
static int parse_content_length(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > CL_MAX_DIGITS)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* host[:port] as in a Host field or an authority-form target: reg-name
 * (with pct-encoding), IPv4 (a reg-name lexically) or [IPv6]; port 1..5
 * digits up to 65535. No userinfo, no path, no whitespace. */
static int host_valid(const char *s, size_t n, int need_port)
{
	const char *p = s, *end = s + n, *start;
	unsigned long port = 0;

	if (p < end && *p == '[') {
		start = ++p;
		while (p < end && (is_class(*p, C_HEX) || *p == ':' || *p == '.'))
			p++;
		if (p == start || p == end || *p != ']')
			return 0;
		p++;
	} else {
		while (p < end && *p != ':') {
			if (*p == '%' && end - p >= 3 && is_class(p[1], C_HEX) &&
			    is_class(p[2], C_HEX))
				p += 3;
			else if (is_class(*p, C_HOST))
				p++;
			else
				return 0;
		}
		if (p == s)
			return 0;
	}
	if (p == end)
		return !need_port;
	if (*p++ != ':' || p == end || end - p > 5)
		return 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port <= 65535;
}

/* What the framing and routing fields said, gathered while parsing. */
struct fields {
	struct http1_header *h;
	size_t n;
	int n_host, host_bad, n_cl, n_te, te_bad;
	int te_chunked;      /* "chunked" codings over all TE fields */
	int te_last_chunked; /* the final coding is chunked */
	const char *host;
	size_t host_len;
	const char *te; /* the last Transfer-Encoding value */
	size_t te_len;
	uint64_t content_length;
	int conn_close, conn_keep_alive, conn_upgrade, has_upgrade, expect_continue;
};

/* Account the codings of one Transfer-Encoding field. */
static void note_transfer_encoding(struct fields *f, const char *v, size_t n)
{
	const char *p = v, *end = v + n, *elem;
	size_t elem_len;
	int any = 0;

	f->n_te++;
	f->te = v;
	f->te_len = n;
	while (list_next(&p, end, &elem, &elem_len)) {
		any = 1;
		f->te_last_chunked = eq_nocase(elem, elem_len, "chunked");
		f->te_chunked += f->te_last_chunked;
	}
	if (!any)
		f->te_bad = 1;
}

static void note_connection(struct fields *f, const char *v, size_t n)
{
	const char *p = v, *end = v + n, *elem;
	size_t elem_len;

	while (list_next(&p, end, &elem, &elem_len)) {
		if (eq_nocase(elem, elem_len, "close"))
			f->conn_close = 1;
		else if (eq_nocase(elem, elem_len, "keep-alive"))
			f->conn_keep_alive = 1;
		else if (eq_nocase(elem, elem_len, "upgrade"))
			f->conn_upgrade = 1;
	}
}

/* Record a field that matters for framing or routing. Returns SCAN_OK or
 * 400 for an invalid or repeated Content-Length. */
static int note_field(struct fields *f, const struct http1_header *h)
{
	const char *n = h->name, *v = h->value;
	size_t vl = h->value_len;
	char first = lower(n[0]);

	/* Most fields matter to nobody: one length and one byte decide. */
	if (first != 'h' && first != 'e' && first != 'u' && first != 'c' && first != 't')
		return SCAN_OK;
	switch (h->name_len) {
	case 4:
		if (!eq_nocase(n, 4, "host"))
			break;
		if (f->n_host++ == 0) {
			f->host = v;
			f->host_len = vl;
		}
		if (!host_valid(v, vl, 0))
			f->host_bad = 1;
		break;
	case 6:
		if (eq_nocase(n, 6, "expect") && eq_nocase(v, vl, "100-continue"))
			f->expect_continue = 1;
		break;
	case 7:
		if (eq_nocase(n, 7, "upgrade"))
			f->has_upgrade = 1;
		break;
	case 10:
		if (eq_nocase(n, 10, "connection"))
			note_connection(f, v, vl);
		break;
	case 14:
		if (!eq_nocase(n, 14, "content-length"))
			break;
		if (f->n_cl++ > 0 || parse_content_length(v, vl, &f->content_length) < 0)
			return 400;
		break;
	case 17:
		if (eq_nocase(n, 17, "transfer-encoding"))
			note_transfer_encoding(f, v, vl);
		break;
	default:
		break;
	}
	return SCAN_OK;
}

/* One field line: token ':' OWS value OWS EOL. A line that starts with
 * whitespace (obs-fold), space before the colon, a bare CR, NUL or another
 * control byte in the value: 400. */
static int parse_field_line(const char **pp, const char *end, struct http1_header *h)
{
	const char *p = *pp, *name = *pp, *value, *vend;
	int r;

	p = scan_class(p, end, C_TCHAR);
	if (p == end)
		return SCAN_MORE;
	if (p == name || *p != ':')
		return 400;
	h->name = name;
	h->name_len = (size_t)(p - name);
	for (p++; p < end && is_ows(*p); p++)
		;
	value = p;
	vend = p = scan_value(p, end);
	r = eat_eol(&p, end);
	if (r != SCAN_OK)
		return r;
	while (vend > value && is_ows(vend[-1]))
		vend--;
	h->value = value;
	h->value_len = (size_t)(vend - value);
	*pp = p;
	return SCAN_OK;
}

/* Field lines up to and including the empty line. */
static int parse_fields(const char **pp, const char *end, struct fields *f)
{
	for (;;) {
		const char *p = *pp;
		int r;

		if (p < end && (*p == '\r' || *p == '\n'))
			return eat_eol(pp, end);
		if (p == end)
			return SCAN_MORE;
		if (f->n == HTTP1_MAX_HEADERS)
			return 431;
		r = parse_field_line(&p, end, &f->h[f->n]);
		if (r == SCAN_OK)
			r = note_field(f, &f->h[f->n]);
		if (r != SCAN_OK)
			return r;
		f->n++;
		*pp = p;
	}
}

/* Parse the field block starting at *pp, bounded by HTTP1_MAX_HEAD. */
static int parse_head_fields(const char **pp, const char *end, struct fields *f)
{
	size_t avail = (size_t)(end - *pp);
	int r;

	r = parse_fields(pp, *pp + (avail < HTTP1_MAX_HEAD ? avail : HTTP1_MAX_HEAD), f);
	if (r == SCAN_MORE && avail >= HTTP1_MAX_HEAD)
		return 431;
	return r;
}

/* "HTTP/" DIGIT "." DIGIT: 1.0 and 1.1 accepted, other digits 505, other
 * bytes 400. A prefix that may still become valid is SCAN_MORE. */
static int parse_version(const char **pp, const char *end, int *minor)
{
	static const char pattern[] = "HTTP/d.d";
	const char *p = *pp;
	size_t i;

	for (i = 0; i < 8; i++) {
		if (p + i == end)
			return SCAN_MORE;
		if (pattern[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != pattern[i])
			return 400;
	}
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return 505;
	*minor = p[7] - '0';
	*pp = p + 8;
	return SCAN_OK;
}

/* The request-target forms of RFC 9112 3.2: origin-form, "*" for OPTIONS,
 * authority-form for CONNECT, otherwise absolute-form (scheme ":" ...). */
static int target_valid(const struct http1_request *req)
{
	const char *t = req->target, *p;
	int options = req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0;
	int connect = req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0;

	if (connect)
		return host_valid(t, req->target_len, 1);
	if (t[0] == '/')
		return 1;
	if (req->target_len == 1 && t[0] == '*')
		return options;
	if (!((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
		return 0;
	p = scan_class(t, t + req->target_len, C_SCHEME);
	return p < t + req->target_len && *p == ':';
}

/* method SP request-target SP HTTP-version EOL, validated as far as the
 * bytes go so that garbage is refused before the line completes. */
static int parse_request_line(const char **pp, const char *end, struct http1_request *req)
{
	const char *p = *pp;
	int r;

	req->method = p;
	p = scan_class(p, end, C_TCHAR);
	if (p == end)
		return SCAN_MORE;
	if (p == req->method || *p != ' ')
		return 400;
	req->method_len = (size_t)(p - req->method);
	req->target = ++p;
	p = scan_target(p, end);
	if (p == end)
		return SCAN_MORE;
	if (p == req->target || *p != ' ')
		return 400;
	req->target_len = (size_t)(p - req->target);
	p++;
	r = parse_version(&p, end, &req->version_minor);
	if (r == SCAN_OK)
		r = eat_eol(&p, end);
	if (r != SCAN_OK)
		return r;
	if (!target_valid(req))
		return 400;
	*pp = p;
	return SCAN_OK;
}

/* Empty lines a client may send after a previous body (RFC 9112 2.2). */
static int skip_empty_lines(const char **pp, const char *end)
{
	int i, r;

	for (i = 0; i < MAX_EMPTY_LINES && *pp < end && (**pp == '\r' || **pp == '\n'); i++) {
		r = eat_eol(pp, end);
		if (r != SCAN_OK)
			return r;
	}
	return SCAN_OK;
}

/* With an absolute-form target ("http://authority/..."), the authority
 * must equal Host: a server routes by the target (RFC 9112 3.2.2), the
 * router by Host, and the two must not disagree. */
static int authority_matches_host(const struct http1_request *req, const struct fields *f)
{
	const char *t = req->target, *end = t + req->target_len, *colon, *a, *e;

	if (t[0] == '/' || f->n_host == 0 || !is_class(t[0], C_SCHEME))
		return 1; /* origin-form, "*", or nothing to compare with */
	if (req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0)
		return 1;
	colon = memchr(t, ':', req->target_len);
	if (colon == NULL || end - colon < 3 || colon[1] != '/' || colon[2] != '/')
		return 1; /* no authority component */
	for (a = e = colon + 3; e < end && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	return (size_t)(e - a) == f->host_len && eq_nocase_n(a, f->host, f->host_len);
}

/* Body framing and connection semantics of a complete request head. */
static int request_semantics(struct http1_request *req, const struct fields *f)
{
	if (f->n_te > 0) {
		/* Exactly one field whose whole value is "chunked": anything else
		 * may be framed differently by the next hop. */
		if (req->version_minor == 0 || f->n_te > 1 || f->n_cl > 0 ||
		    !eq_nocase(f->te, f->te_len, "chunked"))
			return 400;
		req->body = HTTP1_BODY_CHUNKED;
	} else if (f->n_cl > 0) {
		req->body = HTTP1_BODY_LENGTH;
		req->content_length = f->content_length;
	}
	if (f->n_host > 1 || f->host_bad || (req->version_minor == 1 && f->n_host == 0) ||
	    !authority_matches_host(req, f))
		return 400;
	req->host = f->host;
	req->host_len = f->host_len;
	req->keep_alive = req->version_minor == 1 ? !f->conn_close
						  : f->conn_keep_alive && !f->conn_close;
	req->upgrade = f->conn_upgrade && f->has_upgrade;
	/* A 1.0 client does not wait for 100 (RFC 9110 10.1.1). */
	req->expect_continue = f->expect_continue && req->version_minor == 1;
	return SCAN_OK;
}

static int finish(int r, int *status)
{
	if (r == SCAN_MORE)
		return HTTP1_INCOMPLETE;
	if (status)
		*status = r;
	return HTTP1_ERROR;
}

int http1_parse_request(const char *buf, size_t len, struct http1_request *req, int *status)
{
	const char *p = buf, *end = buf + len;
	struct fields f;
	size_t avail;
	int r;

	if (status)
		*status = 0;
	req->n_headers = 0;
	req->host = NULL;
	req->host_len = 0;
	req->body = HTTP1_BODY_NONE;
	req->content_length = 0;
	r = skip_empty_lines(&p, end);
	if (r != SCAN_OK)
		return finish(r, status);
	avail = (size_t)(end - p);
	r = parse_request_line(&p, p + (avail < HTTP1_MAX_REQUEST_LINE ? avail
								   : HTTP1_MAX_REQUEST_LINE),
			       req);
	if (r == SCAN_MORE && avail >= HTTP1_MAX_REQUEST_LINE)
		r = 414;
	if (r != SCAN_OK)
		return finish(r, status);
	memset(&f, 0, sizeof(f));
	f.h = req->headers;
	r = parse_head_fields(&p, end, &f);
	if (r == SCAN_OK)
		r = request_semantics(req, &f);
	if (r != SCAN_OK)
		return finish(r, status);
	req->n_headers = f.n;
	return (int)(p - buf);
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] EOL. The SP before an empty
 * reason is optional here (many servers omit it); nothing else is. */
static int parse_status_line(const char **pp, const char *end, struct http1_response *resp)
{
	const char *p = *pp;
	int r, i;

	r = parse_version(&p, end, &resp->version_minor);
	if (r != SCAN_OK)
		return r == 505 ? 400 : r;
	if (p == end)
		return SCAN_MORE;
	if (*p++ != ' ')
		return 400;
	resp->status = 0;
	for (i = 0; i < 3; i++, p++) {
		if (p == end)
			return SCAN_MORE;
		if (*p < '0' || *p > '9')
			return 400;
		resp->status = resp->status * 10 + (*p - '0');
	}
	if (resp->status < 100 || resp->status > 599)
		return 400;
	if (p < end && *p == ' ')
		p++;
	else if (p < end && *p != '\r' && *p != '\n')
		return 400;
	resp->reason = p;
	p = scan_value(p, end);
	resp->reason_len = (size_t)(p - resp->reason);
	r = eat_eol(&p, end);
	if (r != SCAN_OK)
		return r;
	*pp = p;
	return SCAN_OK;
}

/* Body framing of a complete response head (RFC 9112 6.3). A message that
 * could be framed two ways (TE with CL, TE in HTTP/1.0, chunked twice or
 * not last) is refused rather than guessed at. */
static int response_semantics(struct http1_response *resp, const struct fields *f, int was_head)
{
	int s = resp->status;

	if (f->n_te > 0 && (f->n_cl > 0 || resp->version_minor == 0 || f->te_bad))
		return 502;
	if (f->te_chunked > 1 || (f->te_chunked == 1 && !f->te_last_chunked))
		return 502;
	resp->keep_alive = resp->version_minor == 1 ? !f->conn_close
						    : f->conn_keep_alive && !f->conn_close;
	resp->upgrade = s == 101;
	resp->content_length = f->content_length;
	if (was_head || s < 200 || s == 204 || s == 304) {
		resp->body = HTTP1_BODY_NONE;
	} else if (f->n_te > 0 && f->te_chunked == 1) {
		resp->body = HTTP1_BODY_CHUNKED;
	} else if (f->n_te == 0 && f->n_cl > 0) {
		resp->body = HTTP1_BODY_LENGTH;
	} else {
		resp->body = HTTP1_BODY_UNTIL_CLOSE;
		resp->keep_alive = 0;
	}
	return SCAN_OK;
}

int http1_parse_response(const char *buf, size_t len, int request_was_head,
			 struct http1_response *resp)
{
	const char *p = buf, *end = buf + len;
	struct fields f;
	int r;

	resp->n_headers = 0;
	resp->body = HTTP1_BODY_NONE;
	resp->content_length = 0;
	r = parse_status_line(&p, buf + (len < HTTP1_MAX_REQUEST_LINE ? len
								 : HTTP1_MAX_REQUEST_LINE),
			      resp);
	if (r == SCAN_MORE && len >= HTTP1_MAX_REQUEST_LINE)
		r = 502;
	if (r != SCAN_OK)
		return finish(r, NULL);
	memset(&f, 0, sizeof(f));
	f.h = resp->headers;
	r = parse_head_fields(&p, end, &f);
	if (r == SCAN_OK)
		r = response_semantics(resp, &f, request_was_head);
	if (r != SCAN_OK)
		return finish(r, NULL);
	resp->n_headers = f.n;
	return (int)(p - buf);
}

/* ---- chunked transfer coding (RFC 9112 7.1) ---- */

enum chunk_state {
	CH_SIZE,           /* chunk-size digits (line_len counts them) */
	CH_SIZE_BWS,       /* whitespace after the size: ';' must follow */
	CH_EXT_PRE_NAME,   /* after ';' */
	CH_EXT_NAME,
	CH_EXT_POST_NAME,  /* whitespace after a name: '=' or ';' must follow */
	CH_EXT_PRE_VALUE,  /* after '=' */
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QUOTED_ESC,
	CH_EXT_QUOTE_END,  /* just after the closing quote */
	CH_EXT_POST_VALUE, /* whitespace after a value: ';' must follow */
	CH_SIZE_LF,        /* CR seen at the end of the size line */
	CH_DATA,
	CH_DATA_CR,        /* the CRLF that must follow chunk data */
	CH_DATA_LF,
	CH_TRAILER_START,  /* a trailer field or the final empty line */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,     /* CR seen at the end of a trailer line */
	CH_FINAL_LF,       /* CR seen on the final empty line */
	CH_DONE,
	CH_ERROR,
	CH_STATE_MAX
};

void http1_chunked_init(struct http1_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

/* The size line ended: data follows, or the trailers after "0". */
static int size_line_end(struct http1_chunked *c)
{
	c->state = c->remaining > 0 ? CH_DATA : CH_TRAILER_START;
	c->line_len = 0;
	return 0;
}

/* Where a token or quoted-string may continue or end: ';' starts the next
 * extension, whitespace is BWS, CR/LF ends the line. */
static int ext_delim(struct http1_chunked *c, char b, int ws_state)
{
	if (b == ';')
		c->state = CH_EXT_PRE_NAME;
	else if (is_ows(b))
		c->state = ws_state;
	else if (b == '\r')
		c->state = CH_SIZE_LF;
	else if (b == '\n')
		return size_line_end(c);
	else
		return -1;
	return 0;
}

/* One byte of the chunk-size line: 1*HEXDIG *( BWS ";" BWS name [ BWS "="
 * BWS ( token / quoted-string ) ] ) EOL. Returns 0 or -1. */
static int size_line_byte(struct http1_chunked *c, char b)
{
	if (++c->line_len > CHUNK_MAX_SIZE_LINE)
		return -1;
	switch (c->state) {
	case CH_SIZE:
		if (is_class(b, C_HEX)) {
			if (c->line_len > CHUNK_MAX_DIGITS)
				return -1;
			c->remaining = c->remaining << 4 | (uint64_t)hex_value(b);
			return 0;
		}
		if (c->line_len == 1)
			return -1;
		return ext_delim(c, b, CH_SIZE_BWS);
	case CH_SIZE_BWS:
	case CH_EXT_POST_VALUE:
		if (is_ows(b))
			return 0;
		c->state = CH_EXT_PRE_NAME;
		return b == ';' ? 0 : -1;
	case CH_EXT_PRE_NAME:
		if (is_class(b, C_TCHAR))
			c->state = CH_EXT_NAME;
		return is_ows(b) || is_class(b, C_TCHAR) ? 0 : -1;
	case CH_EXT_NAME:
		if (is_class(b, C_TCHAR))
			return 0;
		if (b != '=')
			return ext_delim(c, b, CH_EXT_POST_NAME);
		c->state = CH_EXT_PRE_VALUE;
		return 0;
	case CH_EXT_POST_NAME:
		if (is_ows(b))
			return 0;
		c->state = b == '=' ? CH_EXT_PRE_VALUE : CH_EXT_PRE_NAME;
		return b == '=' || b == ';' ? 0 : -1;
	case CH_EXT_PRE_VALUE:
		if (b == '"')
			c->state = CH_EXT_QUOTED;
		else if (is_class(b, C_TCHAR))
			c->state = CH_EXT_TOKEN;
		return b == '"' || is_ows(b) || is_class(b, C_TCHAR) ? 0 : -1;
	case CH_EXT_TOKEN:
		return is_class(b, C_TCHAR) ? 0 : ext_delim(c, b, CH_EXT_POST_VALUE);
	case CH_EXT_QUOTE_END:
		return ext_delim(c, b, CH_EXT_POST_VALUE);
	case CH_EXT_QUOTED:
		if (b == '"')
			c->state = CH_EXT_QUOTE_END;
		else if (b == '\\')
			c->state = CH_EXT_QUOTED_ESC;
		return is_class(b, C_VALUE) ? 0 : -1;
	case CH_EXT_QUOTED_ESC:
		c->state = CH_EXT_QUOTED;
		return is_class(b, C_VALUE) ? 0 : -1;
	case CH_SIZE_LF:
		return b == '\n' ? size_line_end(c) : -1;
	default:
		return -1;
	}
}

/* One byte of the trailer section: field lines checked like header fields
 * (and discarded), then the empty line. Returns 0 or -1. */
static int trailer_byte(struct http1_chunked *c, char b)
{
	if (++c->trailer_len > HTTP1_MAX_HEAD)
		return -1;
	switch (c->state) {
	case CH_TRAILER_START:
		if (b == '\r')
			c->state = CH_FINAL_LF;
		else if (b == '\n')
			c->state = CH_DONE;
		else if (is_class(b, C_TCHAR))
			c->state = CH_TRAILER_NAME;
		else
			return -1; /* obs-fold, empty name, control bytes */
		return 0;
	case CH_TRAILER_NAME:
		if (b == ':')
			c->state = CH_TRAILER_VALUE;
		return b == ':' || is_class(b, C_TCHAR) ? 0 : -1;
	case CH_TRAILER_VALUE:
		if (b == '\r')
			c->state = CH_TRAILER_LF;
		else if (b == '\n')
			c->state = CH_TRAILER_START;
		return b == '\r' || b == '\n' || is_class(b, C_VALUE) ? 0 : -1;
	case CH_TRAILER_LF:
	case CH_FINAL_LF:
		if (b != '\n')
			return -1;
		c->state = c->state == CH_FINAL_LF ? CH_DONE : CH_TRAILER_START;
		return 0;
	default:
		return -1;
	}
}

/* One framing byte in any state but CH_DATA, CH_DONE and CH_ERROR. */
static int chunk_byte(struct http1_chunked *c, char b)
{
	if (c->state == CH_DATA_CR || c->state == CH_DATA_LF) {
		/* Only CRLF may follow chunk data: a lenient peer would
		 * resynchronise elsewhere and the rest would be smuggled. */
		if (b != (c->state == CH_DATA_CR ? '\r' : '\n'))
			return -1;
		c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
		c->remaining = 0;
		c->line_len = 0;
		return 0;
	}
	if (c->state >= CH_TRAILER_START)
		return trailer_byte(c, b);
	return size_line_byte(c, b);
}

enum http1_chunk_result http1_chunked_step(struct http1_chunked *c, const char *in, size_t len,
					   size_t *consumed, size_t *data_off, size_t *data_len)
{
	size_t i = 0, n;

	*data_off = 0;
	*data_len = 0;
	while (i < len && c->state != CH_DONE && c->state != CH_ERROR) {
		if (c->state == CH_DATA) {
			n = len - i < c->remaining ? len - i : (size_t)c->remaining;
			*data_off = i;
			*data_len = n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			*consumed = i + n;
			return HTTP1_CHUNK_DATA;
		}
		if (chunk_byte(c, in[i]) < 0) {
			c->state = CH_ERROR;
			break;
		}
		i++;
	}
	*consumed = i;
	if (c->state == CH_DONE)
		return HTTP1_CHUNK_DONE;
	return c->state == CH_ERROR ? HTTP1_CHUNK_ERROR : HTTP1_CHUNK_NEED_MORE;
}

const char *http1_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
		{202, "Accepted"}, {204, "No Content"}, {206, "Partial Content"},
		{301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
		{304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
		{400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"},
		{404, "Not Found"}, {405, "Method Not Allowed"}, {408, "Request Timeout"},
		{409, "Conflict"}, {411, "Length Required"}, {413, "Content Too Large"},
		{414, "URI Too Long"}, {415, "Unsupported Media Type"},
		{421, "Misdirected Request"}, {422, "Unprocessable Content"},
		{429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
		{503, "Service Unavailable"}, {504, "Gateway Timeout"},
		{505, "HTTP Version Not Supported"},
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}
