/* Fuzz the tokenizer detectors (waf/detect_sqli.c, waf/sqli_lexer.c,
 * waf/detect_xss.c): the input is copied into an allocation of exactly its
 * size, so ASan catches any read past the length; each detector must
 * return 0 or 1, give the same answer twice (no hidden state) and leave the
 * input alone.
 *
 * Both detectors take short ways for ordinary values, and those must never
 * change an answer, so each is also checked against the long way:
 * - detect_sqli against the full read (every quoting context, every token,
 *   no quick scan), which the detector falls back to, with and without the
 *   value's summary (the engine passes one), and with keys found in a longer
 *   text (the form decoder hands them on);
 * - detect_xss's text pass, which looks only at the bytes each rule needs
 *   ('<', '=', quotes, '.', '{', ':' or '&'), against a reading of every
 *   byte with every rule.
 * The sources are included (with their exported names renamed) to reach
 * those static functions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waf/detect.h"
#include "waf/transform.h"

#define waf_detect_sqli        fuzz_copy_detect_sqli
#define waf_detect_sqli_summed fuzz_copy_detect_sqli_summed
#define waf_detect_sqli_keyed  fuzz_copy_detect_sqli_keyed
#define sqli_after_lead        fuzz_copy_after_lead
#define sqli_anywhere          fuzz_copy_anywhere
#define sqli_statement         fuzz_copy_statement
#define sqli_ctx_lead          fuzz_copy_ctx_lead
#define sqli_detect_full       fuzz_copy_detect_full
#include "waf/detect_sqli.c"
#include "waf/detect_sqli_short.c"
#undef waf_detect_sqli
#undef waf_detect_sqli_summed
#undef waf_detect_sqli_keyed
#define waf_detect_xss fuzz_copy_detect_xss
#include "waf/detect_xss.c"
#undef waf_detect_xss

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The detector without its quick scan: a value without letters, quotes,
 * ';', '|', '&', '#' or bytes >= 0x80 is skipped, the rest read in full. */
static int sqli_long_way(const char *s, size_t len)
{
	size_t i;
	int read = 0, paren = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		read |= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' || c == '"' ||
		        c == ';' || c >= 0x80 || c == '|' || c == '&' || c == '#';
		paren |= c == '(' || c == 0xc0 || c == 0xc1;
	}
	return len > 0 && read && sqli_detect_full(s, len, paren);
}

/* document.cookie and the like starting at i (any byte). */
static int xss_keyword_at(const char *s, size_t len, size_t i)
{
	static const char *const words[] = {
	    "document.cookie",         "document.domain", "document.write", "string.fromcharcode",
	    "constructor.constructor", ".innerhtml=",     ".outerhtml=",
	};
	size_t k;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (starts_with(s, len, i, words[k]))
			return 1;
	return 0;
}

/* Every rule of the text pass at every byte. */
static int xss_text_long_way(const char *s, size_t len)
{
	size_t i, adv, n, css_done = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i], prev = i ? (unsigned char)s[i - 1] : ' ';
		int word = i == 0 || is_html_space(prev) || is_quote(prev);

		if ((n = lt_at(s, len, i)) != 0 && script_tag_at(s, len, i + n, &css_done))
			return 1;
		if ((c == 'o' || c == 'O') && i + 1 < len &&
		    lower((unsigned char)s[i + 1]) == 'n' && (word || prev == '/' || prev == ';') &&
		    handler_at(s, len, i))
			return 1;
		if ((word || prev == '=' || prev == '(') &&
		    ((c != 0 && strchr("jJvVdDlL&", c) != NULL) || (c < 0x20 && i == 0))) {
			enum scheme k = url_scheme(s, len, i, &adv);

			if (k == SCHEME_DATA_HTML && (i == 0 || prev == '=' || is_quote(prev)))
				return 1;
			if (k == SCHEME_SCRIPT && looks_like_code(s, len, adv))
				return 1;
		}
		if ((c == '\'' || c == '"') && js_breakout_at(s, len, i))
			return 1;
		if (xss_keyword_at(s, len, i))
			return 1;
		if ((c == '{' || c == '$' || c == '&') && i + 1 < len && s[i + 1] == '{' &&
		    template_at(s, len, i))
			return 1;
	}
	return 0;
}

/* The SQL detector with keys found in a longer text, as the form decoder
 * hands them on: the value behind size % 64 bytes of another field and
 * before a '&'. -1 when out of memory. */
static int sqli_keyed(const char *s, size_t size)
{
	size_t o = size % 64, tl = o + size + 1, words = tl / 64 + 2;
	unsigned char *text = malloc(tl);
	uint64_t *w = calloc(words, sizeof(uint64_t));
	struct waf_sqli_keys k = {NULL, 0};
	struct sqli_marks m;
	int r = -1;

	if (text == NULL || w == NULL)
		goto out;
	memset(text, 'a', o);
	memcpy(text + o, s, size);
	text[o + size] = '&';
	for (size_t from = 0; from < tl; from += SQLI_MARKS_SPAN) {
		size_t n =
		    tl - from < SQLI_MARKS_SPAN ? (tl - from + 63) / 64 : SQLI_MARKS_SPAN / 64;

		if (!sqli_key_marks(text, tl, from, 0, 0, &m))
			break;
		memcpy(w + from / 64, m.key, n * sizeof(uint64_t));
		k.words = w + o / 64;
	}
	k.shift = (unsigned)o;
	r = fuzz_copy_detect_sqli_keyed(s, size, waf_summary(s, size), &k);
out:
	free(text);
	free(w);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	int a, b;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	a = waf_detect_sqli(buf, size);
	b = waf_detect_xss(buf, size);
	if ((a != 0 && a != 1) || (b != 0 && b != 1))
		abort();
	if (waf_detect_sqli(buf, size) != a || waf_detect_xss(buf, size) != b)
		abort();
	if (a != sqli_long_way(buf, size))
		abort(); /* the quick scan or the short way changed the answer */
	if (fuzz_copy_detect_sqli_summed(buf, size, waf_summary(buf, size)) != a)
		abort(); /* the engine's way, with the value's summary */
	if (sqli_keyed(buf, size) == !a)
		abort(); /* and with the keys of a form value */
	if (b != (size > 0 && (pass_tags(buf, size) || xss_text_long_way(buf, size))))
		abort(); /* the anchored text pass changed the answer */
	if (memcmp(buf, data, size) != 0)
		abort(); /* the detectors read, never write */
	free(buf);
	return 0;
}
