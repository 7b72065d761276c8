/* application/x-www-form-urlencoded: the query string and form bodies
 * split into names and values for the "args" target, decoded once as a
 * form parser does (see waf/request_body.c for what all the decoders
 * promise: no allocation, a prefix of the args when full).
 *
 * Two passes over each 4 KiB window of the input, no call per piece in
 * the vector code:
 * - the first, a vector at a time, marks each 64-byte block's '+' bytes
 *   and its "other" bytes (neither letters, digits, spaces nor '+':
 *   separators, '%', punctuation, controls, bytes from 0x80), copies the
 *   block to the arena with '+' as spaces (when the arena holds the whole
 *   input, as the gateway sizes it), and, with AVX-512 VBMI, marks where
 *   the SQL detector's keys may start (its own vector search,
 *   waf/sqli_keys_vbmi.h), which it would otherwise do in a pass of its
 *   own over every long value;
 * - the second walks the other bytes alone: '&' and '=' end the pieces,
 *   the rest go into the piece's summary (waf_summary's classes, '+'
 *   counted as the space it stands for).
 * Letters, digits, spaces and '+', most of any form, thus cost a few
 * vector operations. A piece without '%' is then decoded already (the
 * copy), and hands its summary and its keys to the matcher, which need not
 * read it again; one with '%' is decoded in place in the copy. */
#include "waf/request.h"
#include "waf/transform.h"

#include <string.h>

#include "waf/request_args.h"
#include "waf/sqli_keys_vbmi.h"
#include "waf/sqli_lexer.h"
#include "waf/summary_simd.h"

enum { PIECE_PLUS = 1, PIECE_PCT = 2 };

/* What the first pass finds in a 64-byte block, bit k for byte k. */
struct form_block {
	uint64_t plus;  /* '+' */
	uint64_t other; /* neither a letter, a digit, a space nor '+' */
};

/* The first pass over n blocks at s: their masks in b; with out, the
 * blocks copied there with '+' as spaces; with keys (and the VBMI
 * tables), a word of keys per block. s is readable for 64 n bytes, and two
 * more with keys. Each is a leaf function: its constants stay in
 * registers, and the AVX ones leave no dirty upper state behind (which
 * would slow the SSE code after them down). */
typedef void form_blocks_fn(const char *s, size_t n, char *out, struct form_block *b,
                            uint64_t *keys, const unsigned char *tables);

static uint64_t other_byte(unsigned char c)
{
	return c != '+' && waf_summary_byte(c) != 0;
}

static void form_blocks_scalar(const char *s, size_t n, char *out, struct form_block *b,
                               uint64_t *keys, const unsigned char *tables)
{
	(void)keys, (void)tables;
	for (size_t i = 0; i < n; i++) {
		uint64_t plus = 0, other = 0;

		for (unsigned k = 0; k < 64; k++) {
			unsigned char c = (unsigned char)s[64 * i + k];

			plus |= (uint64_t)(c == '+') << k;
			other |= other_byte(c) << k;
			if (out != NULL)
				out[64 * i + k] = c == '+' ? ' ' : (char)c;
		}
		b[i].plus = plus;
		b[i].other = other;
	}
}

#if defined(__SSE2__)
static void form_blocks_sse2(const char *s, size_t n, char *out, struct form_block *b,
                             uint64_t *keys, const unsigned char *tables)
{
	const __m128i plus = _mm_set1_epi8('+'), flip = _mm_set1_epi8('+' ^ ' ');

	(void)keys, (void)tables;
	for (size_t i = 0; i < n; i++) {
		uint64_t pl = 0, plain = 0;

		for (unsigned j = 0; j < 4; j++) {
			const char *p = s + 64 * i + 16 * j;
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i eq = _mm_cmpeq_epi8(v, plus);

			pl |= (uint64_t)(uint32_t)_mm_movemask_epi8(eq) << (16 * j);
			plain |= (uint64_t)waf_plain_16(v) << (16 * j);
			if (out != NULL) /* ' ' is '+' ^ 0x0b */
				_mm_storeu_si128((__m128i *)(void *)(out + 64 * i + 16 * j),
				                 _mm_xor_si128(v, _mm_and_si128(eq, flip)));
		}
		b[i].plus = pl;
		b[i].other = ~(plain | pl);
	}
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* Processors with AVX2 or AVX-512BW (chosen at run time: the build
 * targets plain x86-64). */
__attribute__((target("avx2"), noinline)) static void
form_blocks_avx2(const char *s, size_t n, char *out, struct form_block *b, uint64_t *keys,
                 const unsigned char *tables)
{
	const __m256i plus = _mm256_set1_epi8('+'), flip = _mm256_set1_epi8('+' ^ ' ');

	(void)keys, (void)tables;
	for (size_t i = 0; i < n; i++) {
		uint64_t pl = 0, plain = 0;

		for (unsigned j = 0; j < 2; j++) {
			const char *p = s + 64 * i + 32 * j;
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
			__m256i eq = _mm256_cmpeq_epi8(v, plus);

			pl |= (uint64_t)(uint32_t)_mm256_movemask_epi8(eq) << (32 * j);
			plain |= (uint64_t)(uint32_t)_mm256_movemask_epi8(waf_plain_32(v))
			         << (32 * j);
			if (out != NULL)
				_mm256_storeu_si256(
				    (__m256i *)(void *)(out + 64 * i + 32 * j),
				    _mm256_xor_si256(v, _mm256_and_si256(eq, flip)));
		}
		b[i].plus = pl;
		b[i].other = ~(plain | pl);
	}
}

__attribute__((target("avx512bw"), noinline)) static void
form_blocks_avx512(const char *s, size_t n, char *out, struct form_block *b, uint64_t *keys,
                   const unsigned char *tables)
{
	const __m512i space = _mm512_set1_epi8(' '), plus = _mm512_set1_epi8('+');

	(void)keys, (void)tables;
	for (size_t i = 0; i < n; i++) {
		__m512i v = _mm512_loadu_si512((const void *)(s + 64 * i));
		__mmask64 pl = _mm512_cmpeq_epi8_mask(v, plus);

		if (out != NULL)
			_mm512_storeu_si512((void *)(out + 64 * i),
			                    _mm512_mask_mov_epi8(v, pl, space));
		b[i].plus = pl;
		b[i].other = ~(waf_plain_64(v) | pl);
	}
}

/* The same with the keys: '+' and ' ' are no key's bytes, so the input's
 * are as good as the copy's. */
__attribute__((target("avx512bw,avx512vbmi"), noinline)) static void
form_blocks_keys(const char *s, size_t n, char *out, struct form_block *b, uint64_t *keys,
                 const unsigned char *tables)
{
	const __m512i space = _mm512_set1_epi8(' '), plus = _mm512_set1_epi8('+');
	const struct sqli_key_vbmi t = sqli_key_vbmi_load(tables);

	for (size_t i = 0; i < n; i++) {
		const char *p = s + 64 * i;
		__m512i v = _mm512_loadu_si512((const void *)p);
		__mmask64 pl = _mm512_cmpeq_epi8_mask(v, plus);

		keys[i] = sqli_key_vbmi_block(&t, v, _mm512_loadu_si512((const void *)(p + 1)),
		                              _mm512_loadu_si512((const void *)(p + 2)));
		if (out != NULL)
			_mm512_storeu_si512((void *)(out + 64 * i),
			                    _mm512_mask_mov_epi8(v, pl, space));
		b[i].plus = pl;
		b[i].other = ~(waf_plain_64(v) | pl);
	}
}
#endif

/* The widest vector the form scan may use (waf_form_vector_limit). */
static int form_vector_bits = 512;

void waf_form_vector_limit(int bits)
{
	form_vector_bits = bits;
}

/* The first pass for this processor: with keys when it can find them
 * (*tables stays set), else without (*tables cleared). */
static form_blocks_fn *first_pass(const unsigned char **tables)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (form_vector_bits >= 512 && *tables != NULL)
		return form_blocks_keys; /* sqli_key_tables_vbmi checked the processor */
	*tables = NULL;
	if (form_vector_bits >= 512 && __builtin_cpu_supports("avx512bw"))
		return form_blocks_avx512;
	if (form_vector_bits >= 256 && __builtin_cpu_supports("avx2"))
		return form_blocks_avx2;
#endif
	*tables = NULL;
#if defined(__SSE2__)
	if (form_vector_bits >= 128)
		return form_blocks_sse2;
#endif
	return form_blocks_scalar;
}

/* Copy n bytes with every '+' as a space (for arenas too small for the
 * copy of the whole input). */
static void plus_to_space(char *out, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] == '+' ? ' ' : in[i];
}

/* Decode the %XX of src[0..len) into dst (src itself, or another buffer),
 * once, as a form parser does (no %u: servers do not); with plus, '+' as
 * spaces too. The text between two '%' is moved in one go: most values
 * have few. Returns the decoded length. */
static size_t pct_decode(char *dst, const char *src, size_t len, int plus)
{
	const char *p = src, *end = src + len, *pct = memchr(src, '%', len);
	size_t o = 0;

	for (;;) {
		size_t n = (size_t)((pct ? pct : end) - p);
		int h, l;

		if (plus)
			plus_to_space(dst + o, p, n);
		else if (dst + o != p)
			memmove(dst + o, p, n);
		o += n;
		if (pct == NULL)
			return o;
		h = end - pct >= 3 ? waf_hex_value(pct[1]) : -1;
		l = h >= 0 ? waf_hex_value(pct[2]) : -1;
		dst[o++] = l >= 0 ? (char)(h * 16 + l) : '%'; /* an invalid '%' stays */
		p = pct + (l >= 0 ? 3 : 1);
		pct = memchr(p, '%', (size_t)(end - p));
	}
}

/* The second pass's state: the piece in progress and the input's. */
struct form_walk {
	struct waf_request *r;
	const char *s;         /* the input */
	char *copy;            /* its copy with '+' as spaces, or NULL */
	size_t copy_used;      /* the part of it the args point into */
	const uint64_t *keys;  /* the keys of the whole input, or NULL */
	size_t start;          /* where the piece starts */
	uint64_t sum;          /* its summary */
	unsigned has;          /* PIECE_PLUS, PIECE_PCT */
	int name;              /* it is a name */
	const char *name_text; /* the last name, for its value */
	size_t name_len;
};

/* Decode the piece s[start..end) and add it (name: NULL for a name); its
 * summary and keys go with it unless '%' made bytes the scan did not see.
 * Returns 0, or -1 when the arena or the args are full. */
static int form_add(struct form_walk *fw, size_t end, const char *name, size_t name_len,
                    const char **text, size_t *text_len)
{
	struct waf_request *r = fw->r;
	const char *data = fw->s + fw->start;
	size_t len = end - fw->start;
	struct waf_value *v;

	if (fw->has != 0 && fw->copy != NULL) {
		data = fw->copy + fw->start; /* the '+' are spaces there */
		if (fw->has & PIECE_PCT)
			len = pct_decode(fw->copy + fw->start, data, len, 0);
		fw->copy_used = end;
	} else if (fw->has != 0) {
		char *buf = arena_reserve(r, len);
		size_t o = len;

		if (buf == NULL)
			return -1;
		if (fw->has & PIECE_PCT)
			o = pct_decode(buf, data, len, 1);
		else
			plus_to_space(buf, data, len);
		arena_trim(r, len, o);
		data = buf;
		len = o;
	}
	if (add_arg(r, data, len, name, name_len) < 0)
		return -1;
	v = &r->args[r->n_args - 1];
	v->has_sum = !(fw->has & PIECE_PCT);
	v->sum = fw->sum;
	if (v->has_sum && fw->keys != NULL) {
		v->keys.words = fw->keys + fw->start / 64;
		v->keys.shift = (unsigned)(fw->start % 64);
	}
	*text = data;
	*text_len = len;
	return 0;
}

/* The piece ends at end, at the byte term ('&', '=', or 0 for the input's
 * end): add what it makes. A name without '=' is a bare name (no value
 * entry; an empty one is no arg: "a=1&&b=2"); a value is added even when
 * empty ("e="). Returns 0, or -1 when full. */
static int piece_end(struct form_walk *fw, size_t end, char term)
{
	const char *text;
	size_t text_len;
	int rc = 0;

	if (!fw->name)
		rc = form_add(fw, end, fw->name_text, fw->name_len, &text, &text_len);
	else if (end > fw->start || term == '=')
		rc = form_add(fw, end, NULL, 0, &fw->name_text, &fw->name_len);
	fw->name = term != '=' || !fw->name;
	fw->start = end + 1;
	fw->sum = 0;
	fw->has = 0;
	return rc;
}

/* The bits of a block from byte lo (bits below it belong to an earlier
 * piece) up to byte hi. */
static uint64_t bits_between(size_t lo, unsigned hi)
{
	uint64_t below_hi = hi >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1;

	return lo >= 64 ? 0 : below_hi & ~(((uint64_t)1 << lo) - 1);
}

/* The second pass over n blocks from the input's byte base. Returns 0, or
 * -1 when full (the parse stops). A block of letters, digits, spaces and
 * '+' alone costs a test: its '+' are noted in a register, not in *fw. */
static int walk_blocks(struct form_walk *fw, size_t base, const struct form_block *b, size_t n)
{
	uint64_t plus_seen = 0; /* '+' of the piece in progress, in these blocks */

	for (size_t i = 0; i < n; i++, base += 64) {
		uint64_t other = b[i].other, plus = b[i].plus;
		size_t from;

		if (other == 0) {
			plus_seen |= plus;
			continue;
		}
		/* bits below from belong to the piece before */
		from = fw->start > base ? fw->start - base : 0;
		for (; other != 0; other &= other - 1) {
			unsigned k = (unsigned)__builtin_ctzll(other);
			char c = fw->s[base + k];

			if (c == '&' || (c == '=' && fw->name)) {
				if (plus_seen != 0 || (plus & bits_between(from, k)) != 0)
					fw->has |= PIECE_PLUS;
				plus_seen = 0;
				if (piece_end(fw, base + k, c) < 0)
					return -1;
				from = k + 1;
				continue;
			}
			fw->has |= c == '%' ? PIECE_PCT : 0;
			fw->sum |= waf_summary_byte((unsigned char)c);
		}
		plus_seen |= plus & bits_between(from, 64);
	}
	if (plus_seen != 0) /* the piece goes on into the next window */
		fw->has |= PIECE_PLUS;
	return 0;
}

#define FORM_WINDOW 64 /* blocks per window: 4 KiB of input */

size_t waf_parse_urlencoded(struct waf_request *r, const char *s, size_t len)
{
	struct form_walk fw = {.r = r, .s = s, .name = 1};
	struct form_block b[FORM_WINDOW];
	const unsigned char *tables = sqli_key_tables_vbmi();
	form_blocks_fn *pass = first_pass(&tables);
	size_t start = r->n_args, words = len / 64 + 2, i = 0, whole;
	uint64_t *keys = NULL;

	/* The copy goes at the arena's cursor when the arena has room for
	 * the whole input (it has when sized as documented), reserved at the
	 * end as far as the args point into it. Else the pieces with
	 * something to decode are decoded one by one into the arena. */
	if (r->arena != NULL && r->arena_size - r->arena_used >= len)
		fw.copy = r->arena + r->arena_used;
	if (tables != NULL && WAF_KEY_WORDS - r->n_keys >= words) {
		keys = r->keys + r->n_keys;
		keys[words - 1] = keys[words - 2] = 0; /* past the last block */
		fw.keys = keys;
	} else if (tables != NULL) {
		tables = NULL; /* no room for them: the detector finds them */
		pass = first_pass(&tables);
	}
	/* the blocks the vector loads may read whole (two bytes more for
	 * the keys), window by window; the rest from a padded copy */
	whole = keys != NULL ? (len >= 2 ? (len - 2) / 64 : 0) : len / 64;
	while (i < whole) {
		size_t n = whole - i < FORM_WINDOW ? whole - i : FORM_WINDOW;

		pass(s + 64 * i, n, fw.copy ? fw.copy + 64 * i : NULL, b, keys ? keys + i : NULL,
		     tables);
		if (walk_blocks(&fw, 64 * i, b, n) < 0)
			goto full;
		i += n;
	}
	if (64 * i < len) {
		char tail[2 * 64 + 2], tail_out[2 * 64];
		size_t rest = len - 64 * i, n = (rest + 63) / 64;

		memset(tail, 0, sizeof(tail));
		memcpy(tail, s + 64 * i, rest);
		pass(tail, n, tail_out, b, keys ? keys + i : NULL, tables);
		if (fw.copy != NULL)
			memcpy(fw.copy + 64 * i, tail_out, rest);
		b[n - 1].other &= bits_between(0, (unsigned)(rest - 64 * (n - 1)));
		if (walk_blocks(&fw, 64 * i, b, n) < 0)
			goto full;
	}
	if (len > 0)
		piece_end(&fw, len, 0);
full:
	if (fw.copy != NULL)
		r->arena_used += fw.copy_used;
	if (keys != NULL)
		r->n_keys += words;
	return r->n_args - start;
}
