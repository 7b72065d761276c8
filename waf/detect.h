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
/* The same with keys: NULL, or where the keys of the detector's vector
 * search (sqli_key_marks without call, waf/sqli_lexer.h) may start in s,
 * bit k of word w for byte 64 w + k (a superset; bits past len mean
 * nothing), which the form scan finds as it reads a value. */
int waf_detect_sqli_keyed(const char *s, size_t len, uint64_t sum, const uint64_t *keys);
/* 1 when s contains markup or script that would run in an HTML page
 * (tags with event handlers, script/iframe/object/svg..., javascript: URLs
 * in attributes), else 0. */
int waf_detect_xss(const char *s, size_t len);

#endif
