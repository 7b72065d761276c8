/* The vector test behind waf_summary, shared with the decoders that
 * summarise a value while they scan it (waf/request_form.c): which bytes
 * of a vector are "plain" (a letter, a digit or a space: no class bit).
 * A range [lo, lo + n) is one signed compare once lo is shifted to -128. */
#ifndef POSTERN_WAF_SUMMARY_SIMD_H
#define POSTERN_WAF_SUMMARY_SIMD_H

#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit k set when byte k of v is a letter, a digit or a space. */
static inline uint32_t waf_plain_16(__m128i v)
{
	__m128i alpha = _mm_cmplt_epi8(
	    _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(0x80 - 'a'))),
	    _mm_set1_epi8(-128 + 26));
	__m128i digit =
	    _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8(-128 + 10));
	__m128i space = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));

	return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), space));
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same, 32 bytes at a time, on processors with AVX2 (nearly every
 * x86-64 server): callers choose it at run time, the build targets plain
 * x86-64. 0xff in each plain byte. */
__attribute__((target("avx2"))) static inline __m256i waf_plain_32(__m256i v)
{
	__m256i alpha = _mm256_cmpgt_epi8(_mm256_set1_epi8(-128 + 26),
	                                  _mm256_add_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)),
	                                                  _mm256_set1_epi8((char)(0x80 - 'a'))));
	__m256i digit = _mm256_cmpgt_epi8(_mm256_set1_epi8(-128 + 10),
	                                  _mm256_add_epi8(v, _mm256_set1_epi8((char)(0x80 - '0'))));

	return _mm256_or_si256(_mm256_or_si256(alpha, digit),
	                       _mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')));
}

/* The same, 64 bytes at a time with AVX-512BW, as unsigned ranges into a
 * mask register (bit k: byte k is plain). */
__attribute__((target("avx512bw"))) static inline __mmask64 waf_plain_64(__m512i v)
{
	__m512i alpha = _mm512_sub_epi8(_mm512_or_si512(v, _mm512_set1_epi8(0x20)),
	                                _mm512_set1_epi8('a'));
	__m512i digit = _mm512_sub_epi8(v, _mm512_set1_epi8('0'));

	return _mm512_cmple_epu8_mask(alpha, _mm512_set1_epi8(25)) |
	       _mm512_cmple_epu8_mask(digit, _mm512_set1_epi8(9)) |
	       _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' '));
}
#endif

#endif
