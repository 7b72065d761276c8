/* The transforms a WAF condition applies to a value before matching
 * (SPEC section 6). None of them makes the text longer, so out needs only
 * as many bytes as in. */
#ifndef POSTERN_WAF_TRANSFORM_H
#define POSTERN_WAF_TRANSFORM_H

#include <stddef.h>

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

#endif
