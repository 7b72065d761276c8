/* application/x-www-form-urlencoded: the query string and form bodies
 * split into names and values for the "args" target, decoded once as a
 * form parser does (see waf/request_body.c for what all the decoders
 * promise: no allocation, a prefix of the args when full). */
#include "waf/request.h"
#include "waf/transform.h"

#include <string.h>

#include "waf/request_args.h"
#include "waf/sqli_keys_vbmi.h"
#include "waf/sqli_lexer.h"
#include "waf/summary_simd.h"

/* One scan per piece (a name or a value) finds where it ends ('&', or '='
 * after a name), whether it holds a '+' or a '%', and the classes of its
 * bytes (waf_summary's, with '+' as the space it stands for). Letters,
 * digits, spaces and '+', most of any form, pass a vector at a time with
 * a few compares; only the other bytes are looked at one by one. The same
 * pass writes the piece to the arena with '+' as spaces (when the arena
 * holds the whole input, as the gateway sizes it), which is all the
 * decoding a piece without '%' needs; such a piece hands its summary to
 * the matcher, which need not read it again. With AVX-512 VBMI, the scan
 * of a value also finds where the SQL detector's keys may start (its
 * vector search, waf/sqli_keys_vbmi.h), which the detector would
 * otherwise do in a pass of its own. */

enum { PIECE_PLUS = 1, PIECE_PCT = 2 };

struct form_piece {
	const char *end; /* the '&' or '=' that ends it, or the input's end */
	uint64_t sum;    /* the classes of its bytes, '+' counted as a space */
	unsigned has;    /* PIECE_PLUS, PIECE_PCT: it holds a '+', a '%' (one
			    field: a word read after two byte stores would stall) */
	int keyed;       /* the key search covered the whole piece */
};

/* Where the scan writes the key marks of a value (a word per 64 bytes),
 * up to stop; tables: sqli_key_tables_vbmi's. */
struct key_out {
	uint64_t *next, *stop;
	const unsigned char *tables;
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
                                    uint64_t *plus_seen, uint64_t *mask, uint64_t *plus_mask,
                                    struct key_out *keys);

#if defined(__SSE2__)
static const char *plain_blocks_sse2(const char *p, const char *end, char *out,
                                     uint64_t *plus_seen, uint64_t *mask, uint64_t *plus_mask,
                                     struct key_out *keys)
{
	(void)keys;
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
                  uint64_t *plus_mask, struct key_out *keys)
{
	(void)keys;
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

__attribute__((target("avx512bw"), noinline)) static const char *
plain_blocks_avx512(const char *p, const char *end, char *out, uint64_t *plus_seen,
                    uint64_t *mask, uint64_t *plus_mask, struct key_out *keys)
{
	(void)keys;
	const __m512i space = _mm512_set1_epi8(' '), plus = _mm512_set1_epi8('+');
	__mmask64 seen = 0;

	for (; end - p >= 64; p += 64) {
		__m512i v = _mm512_loadu_si512((const void *)p);
		__mmask64 is_plus = _mm512_cmpeq_epi8_mask(v, plus);
		__mmask64 ok = waf_plain_64(v) | is_plus;

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

/* The same with the key search: a word of keys->next per block read,
 * while the search's loads (two bytes past the block) stay in the input. */
__attribute__((target("avx512bw,avx512vbmi"), noinline)) static const char *
plain_blocks_keys(const char *p, const char *end, char *out, uint64_t *plus_seen, uint64_t *mask,
                  uint64_t *plus_mask, struct key_out *keys)
{
	const __m512i space = _mm512_set1_epi8(' '), plus = _mm512_set1_epi8('+');
	const struct sqli_key_vbmi t = sqli_key_vbmi_load(keys->tables);
	uint64_t *k = keys->next;
	__mmask64 seen = 0;

	for (; end - p >= 64 + 2 && k < keys->stop; p += 64) {
		__m512i v = _mm512_loadu_si512((const void *)p);
		__mmask64 is_plus = _mm512_cmpeq_epi8_mask(v, plus);
		__mmask64 ok = waf_plain_64(v) | is_plus;

		/* '+' and ' ' are no key's bytes: the input's are as good */
		*k++ = sqli_key_vbmi_block(&t, v, _mm512_loadu_si512((const void *)(p + 1)),
		                           _mm512_loadu_si512((const void *)(p + 2)));
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
	keys->next = k;
	*plus_seen |= seen;
	return p;
}
#endif

/* A piece's scan with one of the loops (blocks of width bytes). Returns
 * where the scan goes on, or NULL when the piece ended. */
static const char *piece_scan_blocks(plain_blocks_fn *fn, long width, const char *p,
                                     const char *end, char **out, int name,
                                     struct form_piece *fp, struct key_out *keys)
{
	uint64_t plus_seen = 0, mask, plus_mask = 0;
	const char *q;

	/* a block with other bytes comes back with its mask; none: the loop
	 * ran out of input (or of room for keys) */
	while ((mask = 0, q = fn(p, end, *out, &plus_seen, &mask, &plus_mask, keys), mask != 0)) {
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
 * it: out must have room for end - p bytes). With keys (and its tables),
 * find the piece's keys too: fp->keyed says whether the search covered
 * it all (it stops two bytes short of a block from the input's end). */
static void piece_scan(const char *p, const char *end, int name, char *out,
                       struct key_out *keys, struct form_piece *fp)
{
	fp->sum = 0;
	fp->has = 0;
	fp->keyed = 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (keys != NULL && keys->tables != NULL && form_vector_bits >= 512) {
		if ((p = piece_scan_blocks(plain_blocks_keys, 64, p, end, &out, name, fp, keys)) ==
		    NULL) {
			fp->keyed = 1;
			return;
		}
	}
	if (end - p >= 64 && form_vector_bits >= 512 && __builtin_cpu_supports("avx512bw") &&
	    (p = piece_scan_blocks(plain_blocks_avx512, 64, p, end, &out, name, fp, NULL)) == NULL)
		return;
	if (end - p >= 32 && form_vector_bits >= 256 && __builtin_cpu_supports("avx2") &&
	    (p = piece_scan_blocks(plain_blocks_avx2, 32, p, end, &out, name, fp, NULL)) == NULL)
		return;
#endif
#if defined(__SSE2__)
	if (end - p >= 16 && form_vector_bits >= 128 &&
	    (p = piece_scan_blocks(plain_blocks_sse2, 16, p, end, &out, name, fp, NULL)) == NULL)
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

/* Copy n bytes with every '+' as a space (for pieces with a '%', which
 * the scan does not decode, and arenas too small for it to write to). */
static void plus_to_space(char *out, const char *in, size_t n)
{
	size_t i = 0;

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
 * Its summary and its keys (found from r->keys + r->n_keys on) go with it
 * unless '%' made bytes the scan did not see. */
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
	if (fp->keyed && v->has_sum) {
		v->keys = r->keys + r->n_keys;
		r->n_keys += (*text_len + 63) / 64;
	}
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
	struct key_out keys = {NULL, r->keys + WAF_KEY_WORDS, sqli_key_tables_vbmi()};
#define CURSOR (scan_out ? r->arena + r->arena_used : NULL)

	while (p < end) {
		piece_scan(p, end, 1, CURSOR, NULL, &fp);
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
		keys.next = r->keys + r->n_keys;
		piece_scan(p, end, 0, CURSOR, &keys, &fp);
		if (form_add(r, p, &fp, scan_out, name, name_len, &value, &value_len) < 0 ||
		    fp.end == end)
			break;
		p = fp.end + 1;
	}
#undef CURSOR
	return r->n_args - start;
}
