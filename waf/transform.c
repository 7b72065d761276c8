/* Value transforms for WAF conditions (SPEC section 6).
 *
 * Every transform writes at or before the byte it reads, so the output is
 * never longer than the input and in == out works: the matcher transforms
 * in one buffer the size of the value, with no allocation per request.
 * Encodings that would grow are left out on purpose: %uXXXX (6 bytes) is
 * at most 3 bytes of UTF-8 (a surrogate pair, 12 bytes, is 4), "&#N" (3)
 * is at most 1 byte and "&#x10FFFF" (9) is 4. */
#include "waf/transform.h"

#include <string.h>

#include "waf/summary_simd.h"

#define URL_DECODE_MAX_PASSES 8 /* "%252527" needs 3; more is an attack on the CPU */
#define CODE_POINT_MAX        0x10ffff

static const char *const transform_names[WAF_T_MAX] = {
    [WAF_T_URL_DECODE] = "url_decode",
    [WAF_T_HTML_ENTITY] = "html_entity_decode",
    [WAF_T_LOWERCASE] = "lowercase",
    [WAF_T_COMPRESS_WS] = "compress_whitespace",
    [WAF_T_REMOVE_COMMENTS] = "remove_comments",
};

enum waf_transform waf_transform_from_name(const char *name)
{
	int t;

	if (name == NULL)
		return WAF_T_MAX;
	for (t = 0; t < WAF_T_MAX; t++)
		if (strcmp(name, transform_names[t]) == 0)
			return (enum waf_transform)t;
	return WAF_T_MAX;
}

const char *waf_transform_name(enum waf_transform t)
{
	if ((unsigned)t >= WAF_T_MAX)
		return "unknown";
	return transform_names[t];
}

/* ---- helpers */

int waf_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of 4 hex digits at p (the caller checked they are there), or
 * -1 if one is not hex. */
static long hex4(const char *p)
{
	long v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		d = waf_hex_value(p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

size_t waf_put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int is_surrogate(unsigned long cp)
{
	return cp >= 0xd800 && cp <= 0xdfff;
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ---- url_decode */

/* Decode an IIS %uXXXX at in[i] (in[i] == '%'), a surrogate pair taking
 * two of them. Returns the input bytes used (0: not a valid %u sequence,
 * kept as is) and sets *n to the UTF-8 bytes written. */
static size_t url_decode_u(const char *in, size_t i, size_t len, char *out, size_t *n)
{
	long hi, lo;

	if (len - i < 6 || (in[i + 1] != 'u' && in[i + 1] != 'U'))
		return 0;
	hi = hex4(in + i + 2);
	if (hi < 0)
		return 0;
	if (!is_surrogate((unsigned long)hi)) {
		*n = waf_put_utf8(out, (unsigned long)hi);
		return 6;
	}
	/* A lone or reversed surrogate has no UTF-8 form: keep the text. */
	if (hi > 0xdbff || len - i < 12 || in[i + 6] != '%' ||
	    (in[i + 7] != 'u' && in[i + 7] != 'U'))
		return 0;
	lo = hex4(in + i + 8);
	if (lo < 0xdc00 || lo > 0xdfff)
		return 0;
	*n = waf_put_utf8(out, 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
	                       ((unsigned long)lo - 0xdc00));
	return 12;
}

/* One decoding pass. Sets *changed when anything was decoded, and *again
 * when the output holds a '%' or a '+' (only then can another pass decode
 * more). */
static size_t url_decode_pass(const char *in, size_t len, char *out, int *changed, int *again)
{
	size_t i = 0, o = 0, used, n;
	int h, l;

	while (i < len) {
		if (in[i] == '+') {
			out[o++] = ' ';
			i++;
			*changed = 1;
			continue;
		}
		if (in[i] != '%') {
			out[o++] = in[i++];
			continue;
		}
		used = url_decode_u(in, i, len, out + o, &n);
		if (used > 0) {
			*again |=
			    memchr(out + o, '%', n) != NULL || memchr(out + o, '+', n) != NULL;
			i += used;
			o += n;
			*changed = 1;
			continue;
		}
		h = len - i >= 3 ? waf_hex_value(in[i + 1]) : -1;
		l = len - i >= 3 ? waf_hex_value(in[i + 2]) : -1;
		if (h < 0 || l < 0) {
			out[o++] = in[i++]; /* invalid: the '%' stays */
			*again = 1;
			continue;
		}
		out[o++] = (char)(h * 16 + l);
		*again |= out[o - 1] == '%' || out[o - 1] == '+';
		i += 3;
		*changed = 1;
	}
	return o;
}

/* Repeat until nothing changes, so double (and triple) encoding cannot
 * hide "%2527" from a rule that looks for a quote. A pass whose output
 * has no '%' or '+' left is the last: the next one would find nothing. */
static size_t url_decode(const char *in, size_t len, char *out)
{
	int pass, changed = 1, again = 1;

	for (pass = 0; pass < URL_DECODE_MAX_PASSES && changed && again; pass++) {
		changed = 0;
		again = 0;
		len = url_decode_pass(in, len, out, &changed, &again);
		in = out; /* later passes run in place */
	}
	return len;
}

/* ---- html_entity_decode */

struct named_entity {
	const char *name;
	size_t len;
	char c;
};

/* &nbsp; becomes a plain space, not the 0xa0 byte: the matcher works on
 * bytes, and a rule written with \s or ' ' should see the gap. */
static const struct named_entity named_entities[] = {
    {"lt", 2, '<'},   {"gt", 2, '>'},    {"amp", 3, '&'},
    {"quot", 4, '"'}, {"apos", 4, '\''}, {"nbsp", 4, ' '},
};

/* A named entity at in[i] (just past the '&'), with or without ';' and in
 * any case (browsers take "&LT" and "&lt" alike). Returns the input bytes
 * used after the '&' (0: none) and sets *c. */
static size_t named_entity(const char *in, size_t i, size_t len, char *c)
{
	size_t k, j;

	for (k = 0; k < sizeof(named_entities) / sizeof(named_entities[0]); k++) {
		const struct named_entity *e = &named_entities[k];

		if (len - i < e->len)
			continue;
		for (j = 0; j < e->len; j++)
			if (ascii_lower(in[i + j]) != e->name[j])
				break;
		if (j < e->len)
			continue;
		*c = e->c;
		return e->len + (i + e->len < len && in[i + e->len] == ';');
	}
	return 0;
}

/* A numeric reference at in[i] (just past "&#"): decimal digits or x/X and
 * hex digits, an optional ';'. Returns the input bytes used after "&#" (0:
 * no digits, zero, a surrogate or beyond U+10FFFF: the text stays) and sets
 * *n to the UTF-8 bytes written to out. */
static size_t numeric_entity(const char *in, size_t i, size_t len, char *out, size_t *n)
{
	size_t start = i, digits;
	unsigned long cp = 0;
	int base = 10, d;

	if (i < len && (in[i] == 'x' || in[i] == 'X')) {
		base = 16;
		i++;
	}
	for (digits = 0; i < len; i++, digits++) {
		d = base == 16 ? waf_hex_value(in[i])
		               : (in[i] >= '0' && in[i] <= '9' ? in[i] - '0' : -1);
		if (d < 0)
			break;
		/* Leading zeros are allowed, so count on but saturate. */
		if (cp <= CODE_POINT_MAX)
			cp = cp * (unsigned long)base + (unsigned long)d;
	}
	if (digits == 0 || cp == 0 || cp > CODE_POINT_MAX || is_surrogate(cp))
		return 0;
	if (i < len && in[i] == ';')
		i++;
	*n = waf_put_utf8(out, cp);
	return i - start;
}

/* One pass: "&amp;lt;" reads "&lt;", as a browser decodes it once. */
static size_t html_entity_decode(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0, used, n;
	char c;

	if (memchr(in, '&', len) == NULL) {
		if (in != out && len > 0)
			memmove(out, in, len);
		return len;
	}
	while (i < len) {
		if (in[i] != '&' || i + 1 == len) {
			out[o++] = in[i++];
			continue;
		}
		if (in[i + 1] == '#') {
			used = numeric_entity(in, i + 2, len, out + o, &n);
			if (used > 0) {
				i += 2 + used;
				o += n;
				continue;
			}
		} else {
			used = named_entity(in, i + 1, len, &c);
			if (used > 0) {
				i += 1 + used;
				out[o++] = c;
				continue;
			}
		}
		out[o++] = in[i++];
	}
	return o;
}

/* ---- lowercase, compress_whitespace */

static size_t lowercase(const char *in, size_t len, char *out)
{
	size_t i = 0;

#if defined(__SSE2__)
	/* 'A'..'Z' gain 0x20, 16 bytes at a time (see waf_summary for the
	 * range test) */
	const __m128i to_a = _mm_set1_epi8((char)(0x80 - 'A')), n_a = _mm_set1_epi8(-128 + 26);
	const __m128i bit = _mm_set1_epi8(0x20);

	for (; len - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(in + i));
		__m128i upper = _mm_cmplt_epi8(_mm_add_epi8(v, to_a), n_a);

		_mm_storeu_si128((__m128i *)(out + i), _mm_or_si128(v, _mm_and_si128(upper, bit)));
	}
#endif
	for (; i < len; i++)
		out[i] = ascii_lower(in[i]);
	return len;
}

/* 0xa0 is NBSP in Latin-1; it is also a UTF-8 continuation byte, which
 * this byte-level transform turns into a space too (documented in the
 * header: the point is that no "invisible" space separates tokens). */
static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
	       (unsigned char)c == 0xa0;
}

static size_t compress_ws(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		if (!is_ws(in[i])) {
			out[o++] = in[i++];
			continue;
		}
		while (i < len && is_ws(in[i]))
			i++;
		out[o++] = ' ';
	}
	return o;
}

/* ---- remove_comments */

/* Where the comment that starts at in[i] ends (one past it; len when it
 * is not terminated), or 0 if no comment starts there. A MySQL executable
 * comment "/ *!" is not one (the caller handles it). */
static size_t comment_end(const char *in, size_t i, size_t len)
{
	const char *p;

	if (in[i] == '/' && i + 1 < len && in[i + 1] == '*') {
		for (p = in + i + 2; p + 1 < in + len; p++)
			if (p[0] == '*' && p[1] == '/')
				return (size_t)(p - in) + 2;
		return len;
	}
	if (in[i] == '<' && len - i >= 4 && memcmp(in + i, "<!--", 4) == 0) {
		for (p = in + i + 4; p + 2 < in + len; p++)
			if (memcmp(p, "-->", 3) == 0)
				return (size_t)(p - in) + 3;
		return len;
	}
	if (in[i] == '#' || (in[i] == '-' && i + 1 < len && in[i + 1] == '-')) {
		p = memchr(in + i, '\n', len - i);
		return p ? (size_t)(p - in) : len; /* the newline stays */
	}
	return 0;
}

/* The length of a MySQL executable comment opener at in[i]: "/ *!" or
 * MariaDB's "/ *M!", then a 5-digit version (6 when exactly six digits
 * follow: MariaDB 10.x). 0 if there is none. */
static size_t exec_open_len(const char *in, size_t i, size_t len)
{
	size_t n, digits = 0;

	if (len - i >= 3 && memcmp(in + i, "/*!", 3) == 0)
		n = 3;
	else if (len - i >= 4 && memcmp(in + i, "/*M!", 4) == 0)
		n = 4;
	else
		return 0;
	while (i + n + digits < len && digits < 7 && in[i + n + digits] >= '0' &&
	       in[i + n + digits] <= '9')
		digits++;
	if (digits == 6)
		return n + 6;
	return digits >= 5 ? n + 5 : n;
}

/* MySQL runs what is inside "/ *!...* /", and its markers separate tokens
 * like a space does: a marker becomes one space between two tokens and
 * nothing at either end of the value, so "/ *!50000union* /" reads "union"
 * and "1/ *!and* /2" reads "1 and 2". */
static size_t put_separator(char *out, size_t o, int at_end)
{
	if (o > 0 && out[o - 1] != ' ' && !at_end)
		out[o++] = ' ';
	return o;
}

static size_t remove_comments(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0, n;
	int in_exec = 0;

	while (i < len) {
		if (in_exec && in[i] == '*' && i + 1 < len && in[i + 1] == '/') {
			in_exec = 0;
			i += 2;
			o = put_separator(out, o, i == len);
			continue;
		}
		n = in_exec ? 0 : exec_open_len(in, i, len);
		if (n > 0) {
			in_exec = 1;
			i += n;
			o = put_separator(out, o, i == len);
			continue;
		}
		n = comment_end(in, i, len);
		if (n > 0) {
			i = n;
			out[o++] = ' ';
			continue;
		}
		out[o++] = in[i++];
	}
	return o;
}

/* ---- entry points */

size_t waf_transform_one(enum waf_transform t, const char *in, size_t len, char *out)
{
	switch (t) {
	case WAF_T_URL_DECODE:
		return url_decode(in, len, out);
	case WAF_T_HTML_ENTITY:
		return html_entity_decode(in, len, out);
	case WAF_T_LOWERCASE:
		return lowercase(in, len, out);
	case WAF_T_COMPRESS_WS:
		return compress_ws(in, len, out);
	case WAF_T_REMOVE_COMMENTS:
		return remove_comments(in, len, out);
	default:
		/* A value the rule parser never produces: copy, change nothing. */
		if (in != out && len > 0)
			memmove(out, in, len);
		return len;
	}
}

size_t waf_transform_apply(const unsigned char *list, size_t n, const char *in, size_t len,
                           char *out)
{
	size_t k;

	if (n == 0) {
		if (in != out && len > 0)
			memmove(out, in, len);
		return len;
	}
	len = waf_transform_one((enum waf_transform)list[0], in, len, out);
	for (k = 1; k < n; k++)
		len = waf_transform_one((enum waf_transform)list[k], out, len, out);
	return len;
}

const char *waf_transform_skip(const unsigned char *list, size_t n, unsigned noops, const char *in,
                               size_t len, char *out, size_t *out_len)
{
	size_t k = 0;

	while (k < n && (noops & (1u << list[k])))
		k++;
	*out_len = len;
	if (k == n)
		return in;
	*out_len = waf_transform_apply(list + k, n - k, in, len, out);
	return out;
}

/* ---- summaries */

/* The class of each ASCII byte (enum waf_byte_class; the punctuation
 * characters are numbered 0..31 in byte order), WAF_CLASS_MAX for a
 * letter, a digit or a space. */
/* clang-format off */
const unsigned char waf_ascii_class[128] = {
	35, 35, 35, 35, 35, 35, 35, 35, 35, 32, 33, 35, 35, 34, 35, 35,
	35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35,
	37,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 15, 16, 17, 18, 19, 20,
	21, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37,
	37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 22, 23, 24, 25, 26,
	27, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37,
	37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 28, 29, 30, 31, 35,
};
/* clang-format on */

static unsigned byte_class(unsigned char c)
{
	return c >= 0x80 ? WAF_CLASS_HIGH : waf_ascii_class[c];
}

static uint64_t summary_scalar(const unsigned char *s, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum |= 1ull << byte_class(s[i]);
	return sum;
}

/* Add the classes of the bytes of p flagged in mask (bit k: p[k]). */
static uint64_t flagged(const unsigned char *p, uint32_t mask, uint64_t sum)
{
	while (mask != 0) {
		sum |= 1ull << byte_class(p[__builtin_ctz(mask)]);
		mask &= mask - 1;
	}
	return sum;
}

/* Letters, digits and spaces (most of any value) are recognised a vector
 * at a time with a few compares (waf/summary_simd.h); only the other
 * bytes are looked at one by one. The last vector overlaps the one before
 * rather than leave a tail: a byte seen twice changes nothing. */
#if defined(__SSE2__)
/* len >= 16 */
static uint64_t summary_sse2(const unsigned char *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i += 16) {
		if (len - i < 16)
			i = len - 16;
		sum = flagged(p + i, waf_plain_16(_mm_loadu_si128((const __m128i *)(p + i))) ^ 0xffffu,
		              sum);
	}
	return sum;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* len >= 32 */
__attribute__((target("avx2"))) static uint64_t summary_avx2(const unsigned char *p, size_t len)
{
	uint64_t sum = 0;
	size_t i = 0;

	/* two vectors a turn: ordinary text passes both with one test */
	for (; len - i >= 64; i += 64) {
		__m256i a = waf_plain_32(_mm256_loadu_si256((const __m256i *)(p + i)));
		__m256i b = waf_plain_32(_mm256_loadu_si256((const __m256i *)(p + i + 32)));

		if ((uint32_t)_mm256_movemask_epi8(_mm256_and_si256(a, b)) == 0xffffffffu)
			continue;
		sum = flagged(p + i, ~(uint32_t)_mm256_movemask_epi8(a), sum);
		sum = flagged(p + i + 32, ~(uint32_t)_mm256_movemask_epi8(b), sum);
	}
	for (; i < len; i += 32) {
		if (len - i < 32)
			i = len - 32;
		sum = flagged(p + i,
		              ~(uint32_t)_mm256_movemask_epi8(
		                  waf_plain_32(_mm256_loadu_si256((const __m256i *)(p + i)))),
		              sum);
	}
	return sum;
}
#endif

uint64_t waf_summary(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t sum;

	if (len < 16)
		sum = summary_scalar(p, len);
#if defined(__x86_64__) && defined(__GNUC__)
	else if (len >= 32 && __builtin_cpu_supports("avx2"))
		sum = summary_avx2(p, len);
#endif
#if defined(__SSE2__)
	else
		sum = summary_sse2(p, len);
#else
	else
		sum = summary_scalar(p, len);
#endif
	return sum & ~(1ull << WAF_CLASS_MAX);
}

uint64_t waf_summary_of_set(const char *set)
{
	return waf_summary(set, strlen(set));
}

#define CLASS_OF(c) (1ull << byte_class(c))

unsigned waf_transform_noops(uint64_t sum)
{
	unsigned noops = 0;

	if ((sum & (CLASS_OF('%') | CLASS_OF('+'))) == 0)
		noops |= 1u << WAF_T_URL_DECODE;
	if ((sum & CLASS_OF('&')) == 0)
		noops |= 1u << WAF_T_HTML_ENTITY;
	/* what opens a comment: / * and / *!, <!--, #, -- */
	if ((sum & (CLASS_OF('/') | CLASS_OF('<') | CLASS_OF('#') | CLASS_OF('-'))) == 0)
		noops |= 1u << WAF_T_REMOVE_COMMENTS;
	return noops;
}

uint64_t waf_transform_grows(enum waf_transform t)
{
	if (t == WAF_T_URL_DECODE)
		return CLASS_OF('%');
	if (t == WAF_T_HTML_ENTITY)
		return CLASS_OF('&');
	return 0;
}
