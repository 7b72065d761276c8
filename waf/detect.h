/* Tokenizer-based detectors for the detect_sqli and detect_xss operators:
 * they read a value the way an SQL parser or a browser would, so that
 * encodings, comments and spacing tricks that defeat regular expressions
 * do not hide an injection. Pure functions, no allocation. */
#ifndef POSTERN_WAF_DETECT_H
#define POSTERN_WAF_DETECT_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s looks like an SQL injection fragment in any of the quoting
 * contexts a value is pasted into (none, inside '...', inside "..."),
 * else 0. */
int waf_detect_sqli(const char *s, size_t len);
/* The same, for a caller that has waf_summary(s, len) (waf/transform.h),
 * or the summary of a longer value s begins: the same answer, reached
 * with less reading (a long value's kinds of bytes come from the summary;
 * a value of letters and digits alone is settled by it). */
int waf_detect_sqli_summed(const char *s, size_t len, uint64_t sum);
/* Where the keys of the detector's vector search (sqli_key_marks without
 * call, waf/sqli_lexer.h) may start in a value, found by a scan of a text
 * that holds it (the form decoder's, waf/request_form.c): bit
 * (shift + i) % 64 of words[(shift + i) / 64] for byte i of the value. A
 * superset (the detector looks at the bytes); bits past the value mean
 * nothing, and words holds one word more than the value reaches. */
struct waf_sqli_keys {
	const uint64_t *words; /* NULL: not found */
	unsigned shift;        /* 0..63 */
};
/* waf_detect_sqli_summed with the keys of s (keys NULL, or words NULL: the
 * detector finds them). */
int waf_detect_sqli_keyed(const char *s, size_t len, uint64_t sum,
                          const struct waf_sqli_keys *keys);
/* 1 when s contains markup or script that would run in an HTML page
 * (tags with event handlers, script/iframe/object/svg..., javascript: URLs
 * in attributes), else 0. */
int waf_detect_xss(const char *s, size_t len);

#endif
