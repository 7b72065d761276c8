/* The decoders behind the "args" target: urlencoded forms
 * (waf/request_form.c), JSON and multipart/form-data (here), each turning
 * text into name and value entries of r->args.
 *
 * They never allocate. Text that needs decoding goes into r->arena; text
 * that does not (most names, numbers, multipart field values) is borrowed
 * from the input, which lives as long as the request. A decoded value is
 * never longer than its source, so reserving the source length is always
 * enough. When the arena or the args array is full the parser stops and
 * counts it in r->truncated: a rule then sees a prefix of the args, never
 * a value that was silently cut in the middle.
 *
 * The body may be cut at the inspection limit (waf_body_limit): every
 * parser keeps what it found before the cut, including the cut string or
 * part itself, since an attack straddling the limit still reaches the
 * backend whole. */
#include "waf/request.h"
#include "waf/transform.h"

#include <string.h>

#include "waf/request_args.h"

#define JSON_MAX_DEPTH         64
#define MULTIPART_MAX_BOUNDARY 200 /* RFC 2046 says 70; be tolerant, stay bounded */

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* s[0..n) equals the lowercase literal lit, ignoring ASCII case. */
static int eq_nocase(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || ascii_lower(s[i]) != lit[i])
			return 0;
	return lit[n] == '\0';
}

/* ---- JSON */

/* The walk's state: a stack of open containers and, per level, the name
 * the values directly inside carry (an object: its last key; an array:
 * the name it was found under). */
struct json_walk {
	struct waf_request *r;
	const char *p, *end;
	int depth;
	char open[JSON_MAX_DEPTH];         /* '{' or '[' */
	const char *names[JSON_MAX_DEPTH]; /* NULL at the top level */
	size_t name_lens[JSON_MAX_DEPTH];
};

enum json_state { JSON_VALUE, JSON_KEY, JSON_AFTER, JSON_STATE_MAX };

static void json_skip_ws(struct json_walk *w)
{
	while (w->p < w->end && (*w->p == ' ' || *w->p == '\t' || *w->p == '\n' || *w->p == '\r'))
		w->p++;
}

/* The 4 hex digits of a \u escape at s[0..avail). Returns the value, -1
 * if a digit is not hex, -2 if the input ends first. */
static long json_hex4(const char *s, size_t avail)
{
	long v = 0;
	size_t i;
	int d;

	for (i = 0; i < 4; i++) {
		if (i >= avail)
			return -2;
		d = waf_hex_value(s[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Decode "\uXXXX" (and a following low surrogate) at s[i] into out.
 * closed: the string's closing quote was seen (else the input ends at
 * s + len, and an escape that runs past it is cut, not invalid). Returns
 * the input bytes used, 0 when the input ends inside it, -1 when invalid.
 * A lone or reversed surrogate has no UTF-8 form: its escape text is kept
 * as is (6 bytes for 6). */
static long json_u_escape(const char *s, size_t i, size_t len, int closed, char *out, size_t *n)
{
	long hi = json_hex4(s + i + 2, len - i - 2), lo = -1;

	if (hi < 0)
		return (hi == -2 && !closed) ? 0 : -1;
	if (hi < 0xd800 || hi > 0xdfff) {
		*n = waf_put_utf8(out, (unsigned long)hi);
		return 6;
	}
	if (hi <= 0xdbff) {
		if (len - i >= 8 && s[i + 6] == '\\' && s[i + 7] == 'u')
			lo = json_hex4(s + i + 8, len - i - 8);
		else if (len - i < 8 && !closed)
			return 0; /* cut before we know whether a low half follows */
		if (lo == -2 && !closed)
			return 0;
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			*n = waf_put_utf8(out, 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
			                       ((unsigned long)lo - 0xdc00));
			return 12;
		}
	}
	memcpy(out, s + i, 6);
	*n = 6;
	return 6;
}

/* Decode the escapes of s[0..len) (a string's content; closed as above)
 * into out. Stops at an escape cut by the end of the input; sets *bad on
 * an invalid escape. Returns the bytes written (never more than len). */
static size_t json_unescape(const char *s, size_t len, int closed, char *out, int *bad)
{
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	size_t i = 0, o = 0, n;
	const char *k;
	long used;

	while (i < len) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		if (i + 1 == len)
			break;
		if (s[i + 1] == 'u') {
			used = json_u_escape(s, i, len, closed, out + o, &n);
			if (used <= 0) {
				*bad = used < 0;
				break;
			}
			i += (size_t)used;
			o += n;
			continue;
		}
		k = s[i + 1] != '\0' ? strchr(simple_in, s[i + 1]) : NULL;
		if (k == NULL) {
			*bad = 1;
			break;
		}
		out[o++] = simple_out[k - simple_in];
		i += 2;
	}
	return o;
}

/* The string at w->p (on its opening quote), decoded. A string cut by
 * the end of the input is returned as far as it goes. Returns 0, or -1
 * when the walk must stop after using it (invalid escape) or before (arena
 * full: *out is NULL). */
static int json_string(struct json_walk *w, const char **out, size_t *out_len)
{
	const char *s = w->p + 1, *q = s;
	int escaped = 0, bad = 0;
	char *buf;
	size_t len;

	while (q < w->end && *q != '"') {
		if (*q == '\\') {
			escaped = 1;
			q += (w->end - q >= 2) ? 2 : 1;
		} else {
			q++;
		}
	}
	len = (size_t)(q - s);
	w->p = q < w->end ? q + 1 : w->end;
	*out = s;
	*out_len = len;
	if (!escaped)
		return 0;
	buf = arena_reserve(w->r, len);
	if (buf == NULL) {
		*out = NULL;
		return -1;
	}
	*out_len = json_unescape(s, len, q < w->end, buf, &bad);
	arena_trim(w->r, len, *out_len);
	*out = buf;
	return bad ? -1 : 0;
}

/* The name carried by a value at the current level. */
static void json_value_name(const struct json_walk *w, const char **name, size_t *len)
{
	*name = w->depth > 0 ? w->names[w->depth - 1] : NULL;
	*len = w->depth > 0 ? w->name_lens[w->depth - 1] : 0;
}

/* A number or a literal, borrowed from the input. Returns its length, 0
 * if it is neither (or a literal cut by the end of the input). */
static size_t json_bare(const struct json_walk *w)
{
	static const char *const literals[] = {"true", "false", "null"};
	size_t avail = (size_t)(w->end - w->p), n = 0, k, l;

	if (*w->p == '-' || (*w->p >= '0' && *w->p <= '9')) {
		/* Lenient: the matcher wants the text, not the number. */
		while (n < avail && w->p[n] != '\0' && strchr("0123456789+-.eE", w->p[n]) != NULL)
			n++;
		return n;
	}
	for (k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
		l = strlen(literals[k]);
		if (avail >= l && memcmp(w->p, literals[k], l) == 0)
			return l;
	}
	return 0;
}

/* A scalar value. Returns 0, or -1 to stop the walk. */
static int json_scalar(struct json_walk *w)
{
	const char *name, *s;
	size_t name_len, len;
	int rc = 0;

	json_value_name(w, &name, &name_len);
	if (*w->p == '"') {
		rc = json_string(w, &s, &len);
		if (s == NULL)
			return -1;
	} else {
		s = w->p;
		len = json_bare(w);
		if (len == 0)
			return -1;
		w->p += len;
	}
	if (add_arg(w->r, s, len, name, name_len) < 0)
		return -1;
	return rc;
}

/* An object key and its ':'. Returns 0, or -1 to stop the walk. */
static int json_key(struct json_walk *w)
{
	const char *s;
	size_t len;
	int rc;

	if (*w->p != '"')
		return -1;
	rc = json_string(w, &s, &len);
	if (s == NULL || add_arg(w->r, s, len, NULL, 0) < 0)
		return -1;
	w->names[w->depth - 1] = s;
	w->name_lens[w->depth - 1] = len;
	if (rc < 0)
		return -1;
	json_skip_ws(w);
	if (w->p == w->end)
		return 0; /* cut after the key: the loop stops */
	if (*w->p != ':')
		return -1;
	w->p++;
	return 0;
}

/* Open a container at w->p. Returns the next state, or JSON_STATE_MAX to
 * stop (too deep). */
static enum json_state json_open(struct json_walk *w)
{
	char c = *w->p++;

	if (w->depth == JSON_MAX_DEPTH)
		return JSON_STATE_MAX;
	json_value_name(w, &w->names[w->depth], &w->name_lens[w->depth]);
	w->open[w->depth++] = c;
	json_skip_ws(w);
	if (w->p < w->end && *w->p == (c == '{' ? '}' : ']')) {
		w->p++;
		w->depth--;
		return JSON_AFTER;
	}
	return c == '{' ? JSON_KEY : JSON_VALUE;
}

/* After a value: ',' or the end of the open container. */
static enum json_state json_after(struct json_walk *w)
{
	char close;

	if (w->depth == 0)
		return JSON_STATE_MAX; /* one top-level value: the rest is not JSON */
	close = w->open[w->depth - 1] == '{' ? '}' : ']';
	if (*w->p == ',') {
		w->p++;
		return w->open[w->depth - 1] == '{' ? JSON_KEY : JSON_VALUE;
	}
	if (*w->p != close)
		return JSON_STATE_MAX;
	w->p++;
	w->depth--;
	return JSON_AFTER;
}

size_t waf_parse_json(struct waf_request *r, const char *s, size_t len)
{
	struct json_walk w;
	enum json_state st = JSON_VALUE;
	size_t start = r->n_args;

	w.r = r;
	w.p = s;
	w.end = s + len;
	w.depth = 0;
	for (;;) {
		json_skip_ws(&w);
		if (w.p >= w.end || st == JSON_STATE_MAX)
			break;
		if (st == JSON_KEY) {
			st = json_key(&w) < 0 ? JSON_STATE_MAX : JSON_VALUE;
		} else if (st == JSON_AFTER) {
			st = json_after(&w);
		} else if (*w.p == '{' || *w.p == '[') {
			st = json_open(&w);
		} else {
			st = json_scalar(&w) < 0 ? JSON_STATE_MAX : JSON_AFTER;
		}
	}
	return r->n_args - start;
}

/* ---- multipart/form-data */

/* What a part's Content-Disposition says. */
struct part {
	const char *name, *filename;
	size_t name_len, filename_len;
	int has_name, has_file;
};

/* Find the next delimiter line "--boundary" at or after p: at the start
 * of the body or just after a '\n'. Returns the byte after it (NULL if
 * none) and sets *line to where the delimiter's line break starts (the
 * end of the content before it). */
static const char *next_delimiter(const char *body, const char *p, const char *end, const char *b,
                                  size_t blen, const char **line)
{
	const char *q;

	while (p < end && (q = memmem(p, (size_t)(end - p), b, blen)) != NULL) {
		p = q + 1;
		if (q - body < 2 || q[-1] != '-' || q[-2] != '-')
			continue;
		q -= 2;
		if (q != body && q[-1] != '\n')
			continue;
		*line = q;
		if (q != body)
			*line = (q - 1 > body && q[-2] == '\r') ? q - 2 : q - 1;
		return q + 2 + blen;
	}
	return NULL;
}

/* One parameter value of a header (quoted-string, escapes kept, or a
 * token) at *pp; *pp moves past it. */
static void param_value(const char **pp, const char *end, const char **v, size_t *len)
{
	const char *p = *pp, *s;

	if (p < end && *p == '"') {
		s = ++p;
		while (p < end && *p != '"')
			p += (*p == '\\' && end - p >= 2) ? 2 : 1;
		*v = s;
		*len = (size_t)(p - s);
		*pp = p < end ? p + 1 : end;
		return;
	}
	s = p;
	while (p < end && *p != ';')
		p++;
	*v = s;
	*len = (size_t)(p - s);
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	*pp = p;
}

/* form-data; name="field"; filename="a.txt" */
static void disposition(const char *v, const char *end, struct part *part)
{
	const char *p = memchr(v, ';', (size_t)(end - v)), *n, *val;
	size_t n_len, val_len;

	while (p != NULL && p < end) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		n = p;
		while (p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		n_len = (size_t)(p - n);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p != '=')
			continue;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		param_value(&p, end, &val, &val_len);
		if (eq_nocase(n, n_len, "name")) {
			part->name = val;
			part->name_len = val_len;
			part->has_name = 1;
		} else if (eq_nocase(n, n_len, "filename") || eq_nocase(n, n_len, "filename*")) {
			part->filename = val;
			part->filename_len = val_len;
			part->has_file = 1;
		}
		p = memchr(p, ';', (size_t)(end - p));
	}
}

/* The part's header lines, up to the empty line. Returns the start of the
 * content, or NULL when the headers are cut by the end of the body. */
static const char *part_headers(const char *p, const char *end, struct part *part)
{
	const char *nl, *e, *colon;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		e = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
		if (e == p)
			return nl + 1;
		colon = memchr(p, ':', (size_t)(e - p));
		if (colon != NULL && eq_nocase(p, (size_t)(colon - p), "content-disposition"))
			disposition(colon + 1, e, part);
		p = nl + 1;
	}
	return NULL;
}

/* Add a part's entries. Returns 0 or -1 (full). */
static int add_part(struct waf_request *r, const struct part *part, const char *content,
                    size_t content_len)
{
	/* A part without a name is no form field, but its content still
	 * reaches the backend: inspect it under the empty name. */
	const char *name = part->has_name ? part->name : "";
	size_t name_len = part->has_name ? part->name_len : 0;

	if (part->has_name && add_arg(r, part->name, part->name_len, NULL, 0) < 0)
		return -1;
	if (part->has_file)
		return add_arg(r, part->filename, part->filename_len, name, name_len);
	return add_arg(r, content, content_len, name, name_len);
}

size_t waf_parse_multipart(struct waf_request *r, const char *s, size_t len, const char *boundary,
                           size_t boundary_len)
{
	const char *end = s + len, *p, *nl, *content, *next, *line;
	size_t start = r->n_args;
	struct part part;

	if (boundary_len == 0 || boundary_len > MULTIPART_MAX_BOUNDARY)
		return 0;
	p = next_delimiter(s, s, end, boundary, boundary_len, &line);
	while (p != NULL) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;                           /* the close delimiter */
		nl = memchr(p, '\n', (size_t)(end - p)); /* transport padding */
		if (nl == NULL)
			break;
		memset(&part, 0, sizeof(part));
		content = part_headers(nl + 1, end, &part);
		if (content == NULL)
			break;
		next = next_delimiter(s, content, end, boundary, boundary_len, &line);
		if (next != NULL && line < content)
			line = content; /* "--b" right after the blank line: empty */
		if (add_part(r, &part, content, (size_t)((next ? line : end) - content)) < 0)
			break;
		p = next;
	}
	return r->n_args - start;
}
