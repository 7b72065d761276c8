/* The transforms a WAF condition applies to a value before matching
 * (SPEC section 6). None of them makes the text longer, so out needs only
 * as many bytes as in. */
#ifndef POSTERN_WAF_TRANSFORM_H
#define POSTERN_WAF_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

enum waf_transform {
	WAF_T_URL_DECODE,      /* %XX and '+' decoded, repeated until stable (double encoding;
				  at most 8 passes); %uXXXX (IIS) decoded to UTF-8, a
				  surrogate pair as one character; invalid % sequences (and
				  lone surrogates) kept as is */
	WAF_T_HTML_ENTITY,     /* &lt; &gt; &amp; &quot; &apos; &nbsp; &#NN; &#xHH; (with or
				  without the ';', names in any case), once; &nbsp; is a
				  plain space; numeric ones to UTF-8 (0, surrogates and
				  beyond U+10FFFF stay as text) */
	WAF_T_LOWERCASE,       /* ASCII A-Z only */
	WAF_T_COMPRESS_WS,     /* runs of whitespace (space, \t \n \r \f \v, NBSP as 0xa0)
				  become one space (any 0xa0 byte, also inside UTF-8) */
	WAF_T_REMOVE_COMMENTS, /* C comments, HTML comments, SQL "--" and "#" to the end of
				  the line become one space; MySQL's executable comments
				  keep their content, so "/ *!50000union* /" reads "union";
				  their markers (with a 5- or 6-digit version) become one
				  space between two tokens, nothing at either end. An
				  unterminated comment runs to the end */
	WAF_T_MAX
};

/* "url_decode", "html_entity_decode", "lowercase", "compress_whitespace",
 * "remove_comments"; WAF_T_MAX for an unknown name. */
enum waf_transform waf_transform_from_name(const char *name);
const char *waf_transform_name(enum waf_transform t);

/* Apply t to in[0..len) into out (at least len bytes; out may equal in for
 * an in-place transform). Returns the output length (<= len). */
size_t waf_transform_one(enum waf_transform t, const char *in, size_t len, char *out);

/* Apply the list in order (n may be 0: a copy). out has at least len
 * bytes. Returns the output length. */
size_t waf_transform_apply(const unsigned char *list, size_t n, const char *in, size_t len,
			   char *out);

/* waf_transform_apply, skipping the transforms in noops (those
 * waf_transform_noops says leave in unchanged): returns in itself when
 * none is left to apply, else out, and the length in *out_len. */
const char *waf_transform_skip(const unsigned char *list, size_t n, unsigned noops, const char *in,
                               size_t len, char *out, size_t *out_len);

/* ---- summaries: which kinds of bytes a value holds
 *
 * Letters, digits and spaces carry no bit: they are most of any ordinary
 * value, and no "trigger" of an attack is made of them alone. Every other
 * byte sets the bit of its class: one per ASCII punctuation character
 * (32 of them, bits 0..31), and the classes below. The matcher keeps one
 * summary per value and skips a condition whose pattern needs bytes the
 * value does not have. */
enum waf_byte_class {
	WAF_CLASS_TAB = 32,
	WAF_CLASS_LF,
	WAF_CLASS_CR,
	WAF_CLASS_CTL,  /* any other byte below 0x20, and 0x7f */
	WAF_CLASS_HIGH, /* any byte from 0x80 */
	WAF_CLASS_MAX
};

/* The classes of the bytes of s[0..len). */
uint64_t waf_summary(const char *s, size_t len);

/* The class of each ASCII byte, WAF_CLASS_MAX for a letter, a digit or a
 * space; and the summary of one byte (0 for those). */
extern const unsigned char waf_ascii_class[128];

static inline uint64_t waf_summary_byte(unsigned char c)
{
	return c >= 0x80 ? 1ull << WAF_CLASS_HIGH
	                 : (1ull << waf_ascii_class[c]) & ~(1ull << WAF_CLASS_MAX);
}

/* The classes of the bytes of the NUL-terminated set (a "\x80" stands for
 * every byte from 0x80). For the prefilters written next to patterns. */
uint64_t waf_summary_of_set(const char *set);

/* The transforms (bit 1 << enum waf_transform) that provably leave every
 * value whose summary is sum unchanged: url_decode without '%' or '+',
 * html_entity_decode without '&', remove_comments without '/', '<', '#'
 * or '-'. lowercase and compress_whitespace are never among them. */
unsigned waf_transform_noops(uint64_t sum);

/* The classes whose presence lets t produce bytes of any class ('%' for
 * url_decode, '&' for html_entity_decode); 0 for the transforms that only
 * drop bytes or turn them into letters and spaces, whose output never
 * holds a class its input lacks. */
uint64_t waf_transform_grows(enum waf_transform t);

/* 0..15 for a hex digit (either case), else -1. */
int waf_hex_value(char c);
/* Write code point cp (not a surrogate, <= 0x10ffff) as UTF-8 into out
 * (4 bytes of room). Returns the number of bytes (1..4). */
size_t waf_put_utf8(char *out, unsigned long cp);

#endif
