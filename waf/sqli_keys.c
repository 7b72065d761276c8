/* Where sqli_scan's keys may start in a long value, 32 bytes at a time.
 *
 * Prose is mostly words, and looking each word up (sqli_scan's chunk
 * scan) costs a few instructions per byte. Here a vector test finds the
 * few places where the first three letters of a key may sit, whatever
 * the word density: each byte position is tested against eight buckets
 * of keys at once, with a table lookup per nibble of each of the three
 * bytes (the technique Hyperscan calls Teddy). A bucket matches when
 * every nibble of the three bytes belongs to one of its keys, so some
 * places are found that hold no key (the caller looks at the bytes: the
 * search only has to miss nothing). Keys are found in either case.
 *
 * The same pass may mark the bytes that are neither ASCII letters, digits
 * nor spaces, for a caller that reads those one by one (one that has the
 * value's summary already does not ask).
 *
 * With AVX-512BW the search runs 64 bytes at a time (when the other bytes
 * are not asked for), with VBMI a table lookup per byte. On processors
 * without AVX2 sqli_key_marks says no and the caller scans the old way. */
#include "waf/sqli_lexer.h"

#include <pthread.h>
#include <string.h>

#include "waf/sqli_keys_vbmi.h"

/* Whether the VBMI search may run (sqli_key_marks_vbmi: tests turn it
 * off to check the nibble search on the same processor). */
static int vbmi_allowed = 1;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The first three letters of the keys of sqli_scan's TRIG_LIST that
 * matter in a long value (and, or, having...: the detector reads a long
 * value's start exactly anyway), with a bucket each. Keys with similar
 * nibbles share a bucket: the buckets below were chosen by measuring how
 * often English text matches (about 0.5% of the bytes without the call
 * keys, 1.2% with them). The call keys name functions, which matter only
 * when called: only in values with '(' or '/'. */
struct key3 {
	char text[4];
	unsigned char bucket;
};

static const struct key3 base_keys[] = {
    {"uni", 5}, {"cas", 7}, {"out", 1}, {"dum", 1}, {"wai", 5}, {"inf", 6}, {"mys", 0},
    {"per", 6}, {"pg_", 6}, {"sys", 0}, {"mas", 7}, {"sql", 0}, {"all", 4}, {"use", 2},
    {"dba", 7}, {"msy", 3}, {"xp_", 5}, {"sp_", 3}, {"sel", 4},
};

static const struct key3 call_keys[] = {
    {"uni", 2}, {"cas", 5}, {"out", 4}, {"dum", 2}, {"wai", 1}, {"inf", 0}, {"mys", 5}, {"per", 7},
    {"pg_", 2}, {"sys", 5}, {"mas", 5}, {"sql", 1}, {"all", 7}, {"use", 6}, {"dba", 3}, {"msy", 5},
    {"xp_", 4}, {"sp_", 5}, {"sel", 3}, {"ben", 7}, {"dbm", 3}, {"ext", 4}, {"get", 4}, {"lo_", 5},
    {"loa", 6}, {"ran", 1}, {"sle", 3}, {"upd", 6}, {"utl", 0},
};

/* Per key set: for byte j of a key, the buckets each low nibble and each
 * high nibble belongs to (16 bytes, twice: one copy per AVX2 lane). */
struct key_tables {
	unsigned char lo[3][32], hi[3][32];
};

/* The same sets as whole-byte tables for AVX-512 VBMI: for byte j of a
 * key, the buckets of each byte from 0x40 (waf/sqli_keys_vbmi.h). */
struct key_bytes {
	unsigned char t[3][64];
};

static struct key_tables tables[2];
static struct key_bytes byte_tables[2];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void add_byte(struct key_tables *t, int j, unsigned char c, unsigned bucket)
{
	for (int lane = 0; lane < 32; lane += 16) {
		t->lo[j][lane + (c & 15)] |= (unsigned char)(1u << bucket);
		t->hi[j][lane + (c >> 4)] |= (unsigned char)(1u << bucket);
	}
}

static void build(struct key_tables *t, struct key_bytes *b, const struct key3 *keys, size_t n)
{
	memset(t, 0, sizeof(*t));
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 3; j++) {
			unsigned char c = (unsigned char)keys[i].text[j];
			unsigned char bit = (unsigned char)(1u << keys[i].bucket);

			add_byte(t, j, c, keys[i].bucket);
			b->t[j][c & 63] |= bit; /* every key byte is in 0x40..0x7f */
			if (c >= 'a' && c <= 'z') {
				add_byte(t, j, (unsigned char)(c - 0x20), keys[i].bucket);
				b->t[j][(c - 0x20) & 63] |= bit;
			}
		}
}

static void build_tables(void)
{
	build(&tables[0], &byte_tables[0], base_keys, sizeof(base_keys) / sizeof(base_keys[0]));
	build(&tables[1], &byte_tables[1], call_keys, sizeof(call_keys) / sizeof(call_keys[0]));
}

/* The tables of one key set in registers. */
struct key_vectors {
	__m256i lo[3], hi[3];
};

/* Buckets of the byte j of a key each byte of v may be. */
__attribute__((target("avx2"))) static inline __m256i nibbles(const struct key_vectors *t, int j,
                                                              __m256i v)
{
	const __m256i low = _mm256_set1_epi8(0x0f);

	return _mm256_and_si256(
	    _mm256_shuffle_epi8(t->lo[j], _mm256_and_si256(v, low)),
	    _mm256_shuffle_epi8(t->hi[j], _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
}

/* Letters, digits and spaces of v, a bit per byte. */
__attribute__((target("avx2"))) static inline uint32_t plain(__m256i v)
{
	__m256i alpha = _mm256_cmpgt_epi8(
	    _mm256_set1_epi8(-128 + 26), _mm256_add_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)),
	                                                 _mm256_set1_epi8((char)(0x80 - 'a'))));
	__m256i digit = _mm256_cmpgt_epi8(_mm256_set1_epi8(-128 + 10),
	                                  _mm256_add_epi8(v, _mm256_set1_epi8((char)(0x80 - '0'))));

	return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
	    _mm256_or_si256(alpha, digit), _mm256_cmpeq_epi8(v, _mm256_set1_epi8(' '))));
}

/* The 32 positions at p (p[0..34) readable): where a key may start (the
 * result) and, with others, the other bytes (*other). */
__attribute__((target("avx2"), always_inline)) static inline uint32_t
block(const struct key_vectors *t, const unsigned char *p, int others, uint32_t *other)
{
	__m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i m = _mm256_and_si256(
	    _mm256_and_si256(
	        nibbles(t, 0, v0),
	        nibbles(t, 1, _mm256_loadu_si256((const __m256i *)(const void *)(p + 1)))),
	    nibbles(t, 2, _mm256_loadu_si256((const __m256i *)(const void *)(p + 2))));

	*other = others ? ~plain(v0) : 0;
	return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256()));
}

/* others is a constant where this is inlined: the other bytes cost
 * nothing when the caller knows them already. */
__attribute__((target("avx2"), always_inline)) static inline void
marks(const struct key_tables *kt, const unsigned char *s, size_t len, size_t from, size_t to,
      int others, struct sqli_marks *m)
{
	struct key_vectors t;
	size_t i = from, w = 0;

	for (int j = 0; j < 3; j++) {
		t.lo[j] = _mm256_loadu_si256((const __m256i *)(const void *)kt->lo[j]);
		t.hi[j] = _mm256_loadu_si256((const __m256i *)(const void *)kt->hi[j]);
	}
	/* 64 bytes a turn while the loads stay inside the value */
	for (; i + 64 + 2 <= len && i < to; i += 64, w++) {
		uint32_t o0, o1, k0 = block(&t, s + i, others, &o0),
		                 k1 = block(&t, s + i + 32, others, &o1);

		m->key[w] = k0 | (uint64_t)k1 << 32;
		m->other[w] = o0 | (uint64_t)o1 << 32;
	}
	for (; i < to; i += 64, w++) {
		/* the last bytes (fewer than 66 are left), copied where the
		 * loads may run on: zero bytes are no key's; what lies past to
		 * is cut off */
		unsigned char tail[64 + 2];
		size_t n = to - i;
		uint32_t o0, o1, k0, k1;
		uint64_t keep = n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;

		memset(tail, 0, sizeof(tail));
		memcpy(tail, s + i, len - i < sizeof(tail) ? len - i : sizeof(tail));
		k0 = block(&t, tail, others, &o0);
		k1 = block(&t, tail + 32, others, &o1);
		m->key[w] = (k0 | (uint64_t)k1 << 32) & keep;
		m->other[w] = (o0 | (uint64_t)o1 << 32) & keep;
	}
}

__attribute__((target("avx2"))) static void marks_avx2(const struct key_tables *kt,
                                                       const unsigned char *s, size_t len,
                                                       size_t from, size_t to, int others,
                                                       struct sqli_marks *m)
{
	if (others)
		marks(kt, s, len, from, to, 1, m);
	else
		marks(kt, s, len, from, to, 0, m);
}

/* The same search 64 bytes at a time, on processors with AVX-512BW, for
 * callers that do not ask for the other bytes. Only the bytes of p[0..n)
 * are read (masked loads: the others read as zero, no key's byte). */
struct key_vectors512 {
	__m512i lo0, hi0, lo1, hi1, lo2, hi2;
};

__attribute__((target("avx512bw"))) static inline __m512i nibbles64(__m512i lo, __m512i hi,
                                                                    __m512i v)
{
	const __m512i low = _mm512_set1_epi8(0x0f);

	return _mm512_and_si512(
	    _mm512_shuffle_epi8(lo, _mm512_and_si512(v, low)),
	    _mm512_shuffle_epi8(hi, _mm512_and_si512(_mm512_srli_epi16(v, 4), low)));
}

/* The bytes of p[j .. j + 64) that lie in p[0..n), as a load mask. */
static inline uint64_t load_mask(size_t n, size_t j)
{
	return n >= 64 + j ? ~(uint64_t)0 : n > j ? ((uint64_t)1 << (n - j)) - 1 : 0;
}

/* Written out for the three bytes (not a loop) so that the six tables stay
 * in registers. */
__attribute__((target("avx512bw"))) static inline uint64_t block64(const struct key_vectors512 *t,
                                                                   const unsigned char *p, size_t n)
{
	__m512i v0 = _mm512_maskz_loadu_epi8(load_mask(n, 0), (const void *)p);
	__m512i v1 = _mm512_maskz_loadu_epi8(load_mask(n, 1), (const void *)(p + 1));
	__m512i v2 = _mm512_maskz_loadu_epi8(load_mask(n, 2), (const void *)(p + 2));
	__m512i m = _mm512_and_si512(
	    _mm512_and_si512(nibbles64(t->lo0, t->hi0, v0), nibbles64(t->lo1, t->hi1, v1)),
	    nibbles64(t->lo2, t->hi2, v2));

	return _mm512_test_epi8_mask(m, m);
}

__attribute__((target("avx512bw"))) static inline __m512i table64(const unsigned char *t)
{
	return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

__attribute__((target("avx512bw"))) static void marks_avx512(const struct key_tables *kt,
                                                             const unsigned char *s, size_t len,
                                                             size_t from, size_t to,
                                                             struct sqli_marks *m)
{
	const struct key_vectors512 t = {table64(kt->lo[0]), table64(kt->hi[0]),
	                                 table64(kt->lo[1]), table64(kt->hi[1]),
	                                 table64(kt->lo[2]), table64(kt->hi[2])};
	size_t i = from, w = 0;

	for (; i < to; i += 64, w++) {
		/* what lies past to is cut off */
		m->key[w] = block64(&t, s + i, len - i) & load_mask(to - i, 0);
		m->other[w] = 0;
	}
}

/* With AVX-512 VBMI, a lookup per byte (waf/sqli_keys_vbmi.h), with plain
 * loads while 66 bytes are left: less work than the nibble tables. */
__attribute__((target("avx512bw,avx512vbmi"))) static void
marks_vbmi(const struct key_bytes *kb, const unsigned char *s, size_t len, size_t from, size_t to,
           struct sqli_marks *m)
{
	const struct sqli_key_vbmi t = sqli_key_vbmi_load(kb->t[0]);
	size_t i = from, w = 0;

	for (; i + 64 <= to && len - i >= 64 + 2; i += 64, w++) {
		m->key[w] = sqli_key_vbmi_block(&t, _mm512_loadu_si512(s + i),
		                                _mm512_loadu_si512(s + i + 1),
		                                _mm512_loadu_si512(s + i + 2));
		m->other[w] = 0;
	}
	for (; i < to; i += 64, w++) {
		/* the last bytes: masked loads (the others read as zero, no
		 * key's byte); what lies past to is cut off */
		size_t n = len - i;
		__m512i v0 = _mm512_maskz_loadu_epi8(load_mask(n, 0), s + i);
		__m512i v1 = _mm512_maskz_loadu_epi8(load_mask(n, 1), s + i + 1);
		__m512i v2 = _mm512_maskz_loadu_epi8(load_mask(n, 2), s + i + 2);

		m->key[w] = sqli_key_vbmi_block(&t, v0, v1, v2) & load_mask(to - i, 0);
		m->other[w] = 0;
	}
}
#endif

void sqli_key_marks_vbmi(int allowed)
{
	vbmi_allowed = allowed;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The VBMI search may run: allowed, and the processor has it. */
static int vbmi_usable(void)
{
	return vbmi_allowed && __builtin_cpu_supports("avx512vbmi") &&
	       __builtin_cpu_supports("avx512bw");
}
#endif

const unsigned char *sqli_key_tables_vbmi(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (vbmi_usable()) {
		pthread_once(&tables_once, build_tables);
		return byte_tables[0].t[0];
	}
#endif
	return NULL;
}

int sqli_key_marks(const unsigned char *s, size_t len, size_t from, int call, int others,
                   struct sqli_marks *m)
{
#if defined(__x86_64__) && defined(__GNUC__)
	size_t to = len - from > SQLI_MARKS_SPAN ? from + SQLI_MARKS_SPAN : len;

	if (!__builtin_cpu_supports("avx2"))
		return 0;
	pthread_once(&tables_once, build_tables);
	if (!others && vbmi_usable())
		marks_vbmi(&byte_tables[call != 0], s, len, from, to, m);
	else if (!others && __builtin_cpu_supports("avx512bw"))
		marks_avx512(&tables[call != 0], s, len, from, to, m);
	else
		marks_avx2(&tables[call != 0], s, len, from, to, others, m);
	return 1;
#else
	(void)s, (void)len, (void)from, (void)call, (void)others, (void)m;
	return 0;
#endif
}
