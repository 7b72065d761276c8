/* The key search's lookup with AVX-512 VBMI (see waf/sqli_keys.c), shared
 * with the form scan (waf/request_form.c), which finds where the keys of a
 * value may start in the same pass that decodes it.
 *
 * Every key's letters (and '_') lie in the 64 bytes from 0x40: a table of
 * those per byte of a key gives the buckets each byte may be in, one
 * vpermb per byte. vpermb reads only the low six bits, so another byte
 * reads as the one of 0x40..0x7f that shares them ('0' as 'p', '!' as
 * 'a', 0xe1 as 'a'): such places are found too, and the caller, which
 * looks at the bytes, passes them by. Cutting them off here took five
 * more vector operations per block, which cost more than they saved.
 * In ASCII letters, '_' and spaces, the search is exact per bucket. */
#ifndef POSTERN_WAF_SQLI_KEYS_VBMI_H
#define POSTERN_WAF_SQLI_KEYS_VBMI_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

struct sqli_key_vbmi {
	__m512i t0, t1, t2;
};

/* tables: sqli_key_tables_vbmi's (3 x 64 bytes). */
__attribute__((target("avx512bw,avx512vbmi"))) static inline struct sqli_key_vbmi
sqli_key_vbmi_load(const unsigned char *tables)
{
	struct sqli_key_vbmi t = {_mm512_loadu_si512(tables), _mm512_loadu_si512(tables + 64),
	                          _mm512_loadu_si512(tables + 128)};
	return t;
}

/* Where a key may start among the 64 positions of v0, given the same
 * bytes one (v1) and two (v2) further on (a superset, see above). */
__attribute__((target("avx512bw,avx512vbmi"))) static inline uint64_t
sqli_key_vbmi_block(const struct sqli_key_vbmi *t, __m512i v0, __m512i v1, __m512i v2)
{
	__m512i m = _mm512_ternarylogic_epi32(_mm512_permutexvar_epi8(v0, t->t0),
	                                      _mm512_permutexvar_epi8(v1, t->t1),
	                                      _mm512_permutexvar_epi8(v2, t->t2), 0x80);
	return _mm512_test_epi8_mask(m, m);
}
#endif

#endif
