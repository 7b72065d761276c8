/* The decoders behind the "args" target: urlencoded forms, JSON and
 * multipart/form-data, each turning text into name and value entries of
 * r->args.
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

#include "waf/summary_simd.h"

#define JSON_MAX_DEPTH         64
#define MULTIPART_MAX_BOUNDARY 200 /* RFC 2046 says 70; be tolerant, stay bounded */

/* ---- arena and entries */

/* Room for len bytes in the arena. Returns NULL (counted) when full. */
static char *arena_reserve(struct waf_request *r, size_t len)
{
	char *p;

	if (r->arena == NULL || r->arena_size - r->arena_used < len) {
		r->truncated++;
		return NULL;
	}
	p = r->arena + r->arena_used;
	r->arena_used += len;
	return p;
}

/* Give back the unused end of the last reservation. */
static void arena_trim(struct waf_request *r, size_t reserved, size_t used)
{
	r->arena_used -= reserved - used;
}

/* Append an entry (name NULL: the entry is a name). Returns 0, or -1
 * (counted) when the args array is full. */
static int add_arg(struct waf_request *r, const char *data, size_t len, const char *name,
                   size_t name_len)
{
	struct waf_value *v;

	if (r->n_args >= WAF_MAX_ARGS) {
		r->truncated++;
		return -1;
	}
	v = &r->args[r->n_args++];
	v->data = data;
	v->len = len;
	v->name = name;
	v->name_len = name_len;
	v->secret = 0;
	v->has_sum = 0;
	return 0;
}

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

/* ---- application/x-www-form-urlencoded
 *
 * One scan per piece (a name or a value) finds where it ends ('&', or '='
 * after a name), whether it holds a '+' or a '%', and the classes of its
 * bytes (waf_summary's, with '+' as the space it stands for). Letters,
 * digits, spaces and '+', most of any form, pass a vector at a time with
 * a few compares; only the other bytes are looked at one by one. A piece
 * without '%' then needs at most the copy that turns '+' into spaces, and
 * hands its summary to the matcher, which need not read it again. */

enum { PIECE_PLUS = 1, PIECE_PCT = 2 };

struct form_piece {
	const char *end; /* the '&' or '=' that ends it, or the input's end */
	uint64_t sum;    /* the classes of its bytes, '+' counted as a space */
	unsigned has;    /* PIECE_PLUS, PIECE_PCT: it holds a '+', a '%' (one
			    field: a word read after two byte stores would stall) */
};

/* The bytes of p flagged in mask (neither plain nor '+'), in order, and
 * the '+' bytes in plus (bit k: p[k]). Returns 1 when one of them ends
 * the piece (fp->end set). */
static int piece_block(const char *p, uint64_t mask, uint64_t plus, int name,
                       struct form_piece *fp)
{
	for (; mask != 0; mask &= mask - 1) {
		int k = __builtin_ctzll(mask);
		char c = p[k];

		if (c == '&' || (c == '=' && name)) {
			fp->has |= (plus & ((1ull << k) - 1)) != 0 ? PIECE_PLUS : 0;
			fp->end = p + k;
			return 1;
		}
		fp->has |= c == '%' ? PIECE_PCT : 0;
		fp->sum |= waf_summary_byte((unsigned char)c);
	}
	fp->has |= plus != 0 ? PIECE_PLUS : 0;
	return 0;
}

/* The vector loops: each skips the blocks of its width that hold only
 * words, spaces and '+' (the usual ones; their '+' go into *plus_seen)
 * and returns the first block that holds another byte, with its masks
 * (bytes neither plain nor '+'; '+'), or where less than a block is left.
 * When out is not NULL, every block it reads (that last one too) is also
 * written there with '+' as a space: the decoded piece, made in the same
 * pass. All the vector work is inside them, with no call: their
 * constants stay in registers, and the AVX ones leave no dirty upper
 * state (which would slow the SSE code after them down). */
typedef const char *plain_blocks_fn(const char *p, const char *end, char *out,
                                    uint64_t *plus_seen, uint64_t *mask, uint64_t *plus_mask);

#if defined(__SSE2__)
static const char *plain_blocks_sse2(const char *p, const char *end, char *out,
                                     uint64_t *plus_seen, uint64_t *mask, uint64_t *plus_mask)
{
	const __m128i plus = _mm_set1_epi8('+'), flip = _mm_set1_epi8('+' ^ ' ');
	uint32_t seen = 0;

	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i eq = _mm_cmpeq_epi8(v, plus);
		uint32_t is_plus = (uint32_t)_mm_movemask_epi8(eq);
		uint32_t m = (waf_plain_16(v) | is_plus) ^ 0xffffu;

		if (out != NULL) { /* ' ' is '+' ^ 0x0b */
			_mm_storeu_si128((__m128i *)(void *)out, _mm_xor_si128(v, _mm_and_si128(eq, flip)));
			out += 16;
		}
		if (m != 0) {
			*mask = m;
			*plus_mask = is_plus;
			break;
		}
		seen |= is_plus;
	}
	*plus_seen |= seen;
	return p;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* Processors with AVX2 or AVX-512BW (chosen at run time: the build
 * targets plain x86-64). */
__attribute__((target("avx2"), noinline)) static const char *
plain_blocks_avx2(const char *p, const char *end, char *out, uint64_t *plus_seen, uint64_t *mask,
                  uint64_t *plus_mask)
{
	const __m256i plus = _mm256_set1_epi8('+'), flip = _mm256_set1_epi8('+' ^ ' ');
	__m256i seen = _mm256_setzero_si256();

	for (; end - p >= 32; p += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
		__m256i is_plus = _mm256_cmpeq_epi8(v, plus);
		uint32_t m =
		    ~(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(waf_plain_32(v), is_plus));

		if (out != NULL) {
			_mm256_storeu_si256((__m256i *)(void *)out,
			                    _mm256_xor_si256(v, _mm256_and_si256(is_plus, flip)));
			out += 32;
		}
		if (m != 0) {
			*mask = m;
			*plus_mask = (uint32_t)_mm256_movemask_epi8(is_plus);
			break;
		}
		seen = _mm256_or_si256(seen, is_plus);
	}
	*plus_seen |= (uint32_t)_mm256_movemask_epi8(seen);
	return p;
}

/* The same test as waf_plain_32, as unsigned ranges into mask registers. */
__attribute__((target("avx512bw"), noinline)) static const char *
plain_blocks_avx512(const char *p, const char *end, char *out, uint64_t *plus_seen,
                    uint64_t *mask, uint64_t *plus_mask)
{
	const __m512i bit5 = _mm512_set1_epi8(0x20), a = _mm512_set1_epi8('a');
	const __m512i zero = _mm512_set1_epi8('0'), space = _mm512_set1_epi8(' ');
	const __m512i plus = _mm512_set1_epi8('+');
	const __m512i n_alpha = _mm512_set1_epi8(25), n_digit = _mm512_set1_epi8(9);
	__mmask64 seen = 0;

	for (; end - p >= 64; p += 64) {
		__m512i v = _mm512_loadu_si512((const void *)p);
		__mmask64 is_plus = _mm512_cmpeq_epi8_mask(v, plus);
		__mmask64 ok =
		    _mm512_cmple_epu8_mask(_mm512_sub_epi8(_mm512_or_si512(v, bit5), a), n_alpha) |
		    _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, zero), n_digit) |
		    _mm512_cmpeq_epi8_mask(v, space) | is_plus;

		if (out != NULL) {
			_mm512_storeu_si512((void *)out, _mm512_mask_mov_epi8(v, is_plus, space));
			out += 64;
		}
		if (~ok != 0) {
			*mask = ~ok;
			*plus_mask = is_plus;
			break;
		}
		seen |= is_plus;
	}
	*plus_seen |= seen;
	return p;
}
#endif

/* A piece's scan with one of the loops (blocks of width bytes). Returns
 * where the scan goes on, or NULL when the piece ended. */
static const char *piece_scan_blocks(plain_blocks_fn *fn, long width, const char *p,
                                     const char *end, char **out, int name,
                                     struct form_piece *fp)
{
	uint64_t plus_seen = 0, mask = 0, plus_mask = 0;
	const char *q;

	while (end - (q = fn(p, end, *out, &plus_seen, &mask, &plus_mask)) >= width) {
		if (*out != NULL)
			*out += q - p + width;
		p = q;
		fp->has |= plus_seen != 0 ? PIECE_PLUS : 0;
		plus_seen = 0;
		if (piece_block(p, mask, plus_mask, name, fp))
			return NULL;
		p += width;
	}
	if (*out != NULL)
		*out += q - p;
	fp->has |= plus_seen != 0 ? PIECE_PLUS : 0;
	return q;
}

/* The widest vector the form scan may use (waf_form_vector_limit). */
static int form_vector_bits = 512;

void waf_form_vector_limit(int bits)
{
	form_vector_bits = bits;
}

/* Scan the piece that starts at p (a name when name is set): the widest
 * loop the processor has, then narrower ones for what is left. With out,
 * write the piece there with '+' as spaces (and maybe some bytes after
 * it: out must have room for end - p bytes). */
static void piece_scan(const char *p, const char *end, int name, char *out,
                       struct form_piece *fp)
{
	fp->sum = 0;
	fp->has = 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (end - p >= 64 && form_vector_bits >= 512 && __builtin_cpu_supports("avx512bw") &&
	    (p = piece_scan_blocks(plain_blocks_avx512, 64, p, end, &out, name, fp)) == NULL)
		return;
	if (end - p >= 32 && form_vector_bits >= 256 && __builtin_cpu_supports("avx2") &&
	    (p = piece_scan_blocks(plain_blocks_avx2, 32, p, end, &out, name, fp)) == NULL)
		return;
#endif
#if defined(__SSE2__)
	if (end - p >= 16 && form_vector_bits >= 128 &&
	    (p = piece_scan_blocks(plain_blocks_sse2, 16, p, end, &out, name, fp)) == NULL)
		return;
#endif
	for (; p < end; p++) {
		char c = *p;

		if (c == '&' || (c == '=' && name)) {
			fp->end = p;
			return;
		}
		if (out != NULL)
			*out++ = c == '+' ? ' ' : c;
		if (c == '+') {
			fp->has |= PIECE_PLUS;
		} else {
			fp->has |= c == '%' ? PIECE_PCT : 0;
			fp->sum |= waf_summary_byte((unsigned char)c);
		}
	}
	fp->end = end;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* plus_to_space 32 bytes at a time where the processor has AVX2. Returns
 * the bytes done. */
__attribute__((target("avx2"))) static size_t plus_to_space_avx2(char *out, const char *in,
                                                                 size_t n)
{
	const __m256i plus = _mm256_set1_epi8('+'), flip = _mm256_set1_epi8('+' ^ ' ');
	size_t i = 0;

	for (; n - i >= 32; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(in + i));

		v = _mm256_xor_si256(v, _mm256_and_si256(_mm256_cmpeq_epi8(v, plus), flip));
		_mm256_storeu_si256((__m256i *)(out + i), v);
	}
	return i;
}
#endif

/* Copy n bytes with every '+' as a space. */
static void plus_to_space(char *out, const char *in, size_t n)
{
	size_t i = 0;

#if defined(__x86_64__) && defined(__GNUC__)
	if (n >= 64 && __builtin_cpu_supports("avx2"))
		i = plus_to_space_avx2(out, in, n);
#endif
#if defined(__SSE2__)
	/* ' ' is '+' ^ 0x0b: flip those bits where a byte is '+' */
	const __m128i plus = _mm_set1_epi8('+'), flip = _mm_set1_epi8('+' ^ ' ');

	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(in + i));

		v = _mm_xor_si128(v, _mm_and_si128(_mm_cmpeq_epi8(v, plus), flip));
		_mm_storeu_si128((__m128i *)(out + i), v);
	}
#endif
	for (; i < n; i++)
		out[i] = in[i] == '+' ? ' ' : in[i];
}

/* Decode the piece s..fp->end: '+' and %XX once, as a form parser does
 * (no %u: servers do not). Borrows s when there is nothing to decode;
 * scanned: the scan already wrote it at the arena's cursor with '+' as
 * spaces, which is all there is to do without a '%'. The text between two
 * '%' is copied in one go: most values have few or none. Returns 0 or -1
 * (arena full). */
static int form_decode(struct waf_request *r, const char *s, const struct form_piece *fp,
                       int scanned, const char **out, size_t *out_len)
{
	size_t len = (size_t)(fp->end - s);
	const char *p = s, *end = fp->end, *pct;
	size_t o = 0;
	char *buf;
	int h, l;

	if (fp->has == 0) {
		*out = s;
		*out_len = len;
		return 0;
	}
	buf = arena_reserve(r, len);
	if (buf == NULL)
		return -1;
	if (scanned && fp->has == PIECE_PLUS) {
		*out = buf;
		*out_len = len;
		return 0;
	}
	pct = (fp->has & PIECE_PCT) ? memchr(s, '%', len) : NULL;
	for (;;) {
		plus_to_space(buf + o, p, (size_t)((pct ? pct : end) - p));
		o += (size_t)((pct ? pct : end) - p);
		if (pct == NULL)
			break;
		h = end - pct >= 3 ? waf_hex_value(pct[1]) : -1;
		l = h >= 0 ? waf_hex_value(pct[2]) : -1;
		buf[o++] = l >= 0 ? (char)(h * 16 + l) : '%'; /* an invalid '%' stays */
		p = pct + (l >= 0 ? 3 : 1);
		pct = memchr(p, '%', (size_t)(end - p));
	}
	arena_trim(r, len, o);
	*out = buf;
	*out_len = o;
	return 0;
}

/* Decode the piece that starts at s and add it (name: NULL for a name).
 * Its summary goes with it unless '%' made bytes the scan did not see. */
static int form_add(struct waf_request *r, const char *s, const struct form_piece *fp,
                    int scanned, const char *name, size_t name_len, const char **text,
                    size_t *text_len)
{
	struct waf_value *v;

	if (form_decode(r, s, fp, scanned, text, text_len) < 0 ||
	    add_arg(r, *text, *text_len, name, name_len) < 0)
		return -1;
	v = &r->args[r->n_args - 1];
	v->has_sum = !(fp->has & PIECE_PCT);
	v->sum = fp->sum;
	return 0;
}

size_t waf_parse_urlencoded(struct waf_request *r, const char *s, size_t len)
{
	const char *p = s, *end = s + len, *name, *value;
	size_t start = r->n_args, name_len, value_len;
	struct form_piece fp;
	/* Each piece is decoded as it is scanned, at the arena's cursor, when
	 * the arena has room for the whole input (it has when sized as
	 * documented): no piece then outgrows it, since none grows when
	 * decoded. Else the pieces are copied after their scan. */
	int scan_out = r->arena != NULL && r->arena_size - r->arena_used >= len;
#define CURSOR (scan_out ? r->arena + r->arena_used : NULL)

	while (p < end) {
		piece_scan(p, end, 1, CURSOR, &fp);
		/* "a=1&&b=2": the empty piece is no arg */
		if (fp.end == p && (fp.end == end || *fp.end == '&')) {
			p++;
			continue;
		}
		if (form_add(r, p, &fp, scan_out, NULL, 0, &name, &name_len) < 0 || fp.end == end)
			break;
		p = fp.end + 1;
		if (fp.end[0] == '&')
			continue; /* a bare name: no value entry */
		piece_scan(p, end, 0, CURSOR, &fp);
		if (form_add(r, p, &fp, scan_out, name, name_len, &value, &value_len) < 0 ||
		    fp.end == end)
			break;
		p = fp.end + 1;
	}
#undef CURSOR
	return r->n_args - start;
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
