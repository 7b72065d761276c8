/* Unit tests for the WAF value transforms: every transform on ordinary
 * and malformed input, out-of-place and in place, and the property the
 * matcher relies on: the output is never longer than the input (checked
 * on every case, on every numeric entity and on random bytes). And the
 * summaries the matcher's prefilters read: the classes of every byte
 * (against a plain definition, at every length and alignment the vector
 * code has), the transforms a summary says change nothing, and the ones
 * that can add classes. */
#include "waf/transform.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/tap.h"

#define BUF_MAX 4096
#define CANARY  0x5a

struct tcase {
	enum waf_transform t;
	const char *in;
	size_t in_len;
	const char *want;
	size_t want_len;
	const char *what;
};

/* Literals may hold NUL bytes, so lengths come from sizeof. */
#define C(t, in, want, what)                                                                       \
	{                                                                                          \
		t, in, sizeof(in) - 1, want, sizeof(want) - 1, what                                \
	}

static const struct tcase cases[] = {
    /* url_decode */
    C(WAF_T_URL_DECODE, "", "", "url: empty"),
    C(WAF_T_URL_DECODE, "plain/text", "plain/text", "url: nothing to decode"),
    C(WAF_T_URL_DECODE, "%41%42c", "ABc", "url: %XX"),
    C(WAF_T_URL_DECODE, "%3c%3C", "<<", "url: either case of hex"),
    C(WAF_T_URL_DECODE, "a+b++c", "a b  c", "url: '+' is a space"),
    C(WAF_T_URL_DECODE, "%2527", "'", "url: double encoding decoded until stable"),
    C(WAF_T_URL_DECODE, "%252527", "'", "url: triple encoding"),
    C(WAF_T_URL_DECODE, "%25252525252525252541", "%2541",
      "url: stops after 8 passes (9 levels leave one)"),
    C(WAF_T_URL_DECODE, "%2b", " ", "url: an encoded '+' becomes a space on the next pass"),
    C(WAF_T_URL_DECODE, "%00x", "\0x", "url: %00 is a NUL byte"),
    C(WAF_T_URL_DECODE, "%", "%", "url: lone '%' stays"),
    C(WAF_T_URL_DECODE, "ab%4", "ab%4", "url: truncated %X stays"),
    C(WAF_T_URL_DECODE, "%zz%4g", "%zz%4g", "url: non-hex stays"),
    C(WAF_T_URL_DECODE, "%%41", "%A", "url: '%' before a valid sequence stays"),
    C(WAF_T_URL_DECODE, "%u003c", "<", "url: %u ASCII"),
    C(WAF_T_URL_DECODE, "%U003C", "<", "url: %U upper case"),
    C(WAF_T_URL_DECODE, "%u00e9", "\xc3\xa9", "url: %u to 2-byte UTF-8"),
    C(WAF_T_URL_DECODE, "%uFF1C", "\xef\xbc\x9c", "url: %u to 3-byte UTF-8"),
    C(WAF_T_URL_DECODE, "%uD83D%uDE00", "\xf0\x9f\x98\x80", "url: %u surrogate pair"),
    C(WAF_T_URL_DECODE, "%uD83D", "%uD83D", "url: lone high surrogate stays"),
    C(WAF_T_URL_DECODE, "%uDE00", "%uDE00", "url: lone low surrogate stays"),
    C(WAF_T_URL_DECODE, "%uD83D%u0041", "%uD83DA", "url: high surrogate before non-low"),
    C(WAF_T_URL_DECODE, "%u12", "%u12", "url: truncated %u stays"),
    C(WAF_T_URL_DECODE, "%u12zz", "%u12zz", "url: %u with bad hex stays"),
    C(WAF_T_URL_DECODE, "%u", "%u", "url: bare %u stays"),
    C(WAF_T_URL_DECODE, "%u0025%u0034%u0031", "A", "url: %u producing %XX decodes again"),

    /* html_entity_decode */
    C(WAF_T_HTML_ENTITY, "&lt;script&gt;", "<script>", "html: &lt; &gt;"),
    C(WAF_T_HTML_ENTITY, "&amp;&quot;&apos;", "&\"'", "html: &amp; &quot; &apos;"),
    C(WAF_T_HTML_ENTITY, "a&nbsp;b", "a b", "html: &nbsp; is a plain space"),
    C(WAF_T_HTML_ENTITY, "&LT;&Gt;", "<>", "html: names in any case"),
    C(WAF_T_HTML_ENTITY, "&ltscript", "<script", "html: named without ';'"),
    C(WAF_T_HTML_ENTITY, "&amp;lt;", "&lt;", "html: decoded once"),
    C(WAF_T_HTML_ENTITY, "&#60;&#62;", "<>", "html: decimal"),
    C(WAF_T_HTML_ENTITY, "&#60&#62", "<>", "html: decimal without ';'"),
    C(WAF_T_HTML_ENTITY, "&#x3c;&#X3E;", "<>", "html: hex, x or X"),
    C(WAF_T_HTML_ENTITY, "&#x3C&#x3e", "<>", "html: hex without ';', either case"),
    C(WAF_T_HTML_ENTITY, "&#0000000060;", "<", "html: leading zeros"),
    C(WAF_T_HTML_ENTITY, "&#233;", "\xc3\xa9", "html: 2-byte UTF-8"),
    C(WAF_T_HTML_ENTITY, "&#x20AC;", "\xe2\x82\xac", "html: 3-byte UTF-8"),
    C(WAF_T_HTML_ENTITY, "&#x1F600;", "\xf0\x9f\x98\x80", "html: 4-byte UTF-8"),
    C(WAF_T_HTML_ENTITY, "&#1114111;", "\xf4\x8f\xbf\xbf", "html: U+10FFFF"),
    C(WAF_T_HTML_ENTITY, "&#1114112;", "&#1114112;", "html: beyond U+10FFFF stays"),
    C(WAF_T_HTML_ENTITY, "&#99999999999999999999999;", "&#99999999999999999999999;",
      "html: huge number stays (no overflow)"),
    C(WAF_T_HTML_ENTITY, "&#0;", "&#0;", "html: zero stays"),
    C(WAF_T_HTML_ENTITY, "&#xD800;", "&#xD800;", "html: surrogate stays"),
    C(WAF_T_HTML_ENTITY, "&#;", "&#;", "html: entity without digits stays"),
    C(WAF_T_HTML_ENTITY, "&#x;&#x", "&#x;&#x", "html: hex entity without digits stays"),
    C(WAF_T_HTML_ENTITY, "&#", "&#", "html: '&#' at the end stays"),
    C(WAF_T_HTML_ENTITY, "&", "&", "html: '&' at the end stays"),
    C(WAF_T_HTML_ENTITY, "&foo;&l", "&foo;&l", "html: unknown names stay"),
    C(WAF_T_HTML_ENTITY, "&&lt;", "&<", "html: '&' before an entity"),

    /* lowercase */
    C(WAF_T_LOWERCASE, "SeLeCt ABC xyz", "select abc xyz", "lowercase: ASCII"),
    C(WAF_T_LOWERCASE, "\xc3\x89@[`{", "\xc3\x89@[`{", "lowercase: non-ASCII and edges untouched"),

    /* compress_whitespace */
    C(WAF_T_COMPRESS_WS, "a  \t\n\r\f\vb", "a b", "ws: a run of every kind"),
    C(WAF_T_COMPRESS_WS, "a\xa0\xa0 b", "a b", "ws: 0xa0 bytes count as space"),
    C(WAF_T_COMPRESS_WS, "  x  ", " x ", "ws: leading and trailing runs"),
    C(WAF_T_COMPRESS_WS, "\t", " ", "ws: a lone tab"),
    C(WAF_T_COMPRESS_WS, "no_space", "no_space", "ws: nothing to do"),

    /* remove_comments */
    C(WAF_T_REMOVE_COMMENTS, "un/**/ion", "un ion", "comments: C comment is one space"),
    C(WAF_T_REMOVE_COMMENTS, "a/* x */b/*y*/c", "a b c", "comments: two C comments"),
    C(WAF_T_REMOVE_COMMENTS, "a/* never closed", "a ", "comments: unterminated C comment"),
    C(WAF_T_REMOVE_COMMENTS, "a/*", "a ", "comments: bare opener at the end"),
    C(WAF_T_REMOVE_COMMENTS, "a/*/b", "a ", "comments: '/*/' does not close"),
    C(WAF_T_REMOVE_COMMENTS, "x<!-- hi -->y", "x y", "comments: HTML comment"),
    C(WAF_T_REMOVE_COMMENTS, "x<!-- open", "x ", "comments: unterminated HTML comment"),
    C(WAF_T_REMOVE_COMMENTS, "1 OR 1=1-- x\nnext", "1 OR 1=1 \nnext",
      "comments: '--' to the end of the line"),
    C(WAF_T_REMOVE_COMMENTS, "1--", "1 ", "comments: '--' at the end"),
    C(WAF_T_REMOVE_COMMENTS, "a#b\nc#", "a \nc ", "comments: '#' to the end of the line"),
    C(WAF_T_REMOVE_COMMENTS, "/*!50000union*/", "union",
      "comments: MySQL versioned comment keeps its content"),
    C(WAF_T_REMOVE_COMMENTS, "1/*!and*/2", "1 and 2", "comments: MySQL comment separates"),
    C(WAF_T_REMOVE_COMMENTS, "select/*!50000union*/select", "select union select",
      "comments: versioned comment between words"),
    C(WAF_T_REMOVE_COMMENTS, "/*!123456x*/", "x", "comments: 6-digit MariaDB version"),
    C(WAF_T_REMOVE_COMMENTS, "/*!1234 x*/", "1234 x", "comments: fewer than 5 digits are content"),
    C(WAF_T_REMOVE_COMMENTS, "/*M!100100union*/", "union", "comments: MariaDB /*M!"),
    C(WAF_T_REMOVE_COMMENTS, "/*!union", "union", "comments: unterminated MySQL comment"),
    C(WAF_T_REMOVE_COMMENTS, "a*/b", "a*/b", "comments: stray closer stays"),
    C(WAF_T_REMOVE_COMMENTS, "a-b/c<!-x", "a-b/c<!-x", "comments: near misses stay"),
    C(WAF_T_REMOVE_COMMENTS, "#", " ", "comments: a lone '#'"),
};

static void show(const char *label, const char *s, size_t n)
{
	size_t i;

	printf("#   %s: \"", label);
	for (i = 0; i < n; i++)
		if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else
			printf("\\x%02x", (unsigned char)s[i]);
	printf("\"\n");
}

/* Run t out of place (checking nothing is written past len) and in
 * place; both must agree and not grow. Returns the output length, or
 * (size_t)-1 when a property fails; the output is in out. */
static size_t run(enum waf_transform t, const char *in, size_t len, char *out)
{
	char copy[BUF_MAX + 1];
	size_t n, m;

	memset(out, CANARY, BUF_MAX + 1);
	n = waf_transform_one(t, in, len, out);
	memcpy(copy, in, len);
	m = waf_transform_one(t, copy, len, copy);
	if (n > len || out[len] != CANARY || m != n || memcmp(copy, out, n) != 0)
		return (size_t)-1;
	return n;
}

static void test_cases(void)
{
	char out[BUF_MAX + 1];
	size_t i, n;
	int good;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];

		n = run(c->t, c->in, c->in_len, out);
		good = n == c->want_len && memcmp(out, c->want, n) == 0;
		ok(good, "%s", c->what);
		if (!good && n != (size_t)-1)
			show("got", out, n);
	}
}

static void test_names(void)
{
	int t, all = 1;

	for (t = 0; t < WAF_T_MAX; t++)
		if ((int)waf_transform_from_name(waf_transform_name((enum waf_transform)t)) != t)
			all = 0;
	ok(all, "every name maps back to its transform");
	ok(waf_transform_from_name("url_decode") == WAF_T_URL_DECODE, "url_decode");
	ok(waf_transform_from_name("html_entity_decode") == WAF_T_HTML_ENTITY,
	   "html_entity_decode");
	ok(waf_transform_from_name("lowercase") == WAF_T_LOWERCASE, "lowercase");
	ok(waf_transform_from_name("compress_whitespace") == WAF_T_COMPRESS_WS,
	   "compress_whitespace");
	ok(waf_transform_from_name("remove_comments") == WAF_T_REMOVE_COMMENTS, "remove_comments");
	ok(waf_transform_from_name("URL_DECODE") == WAF_T_MAX, "names are case-sensitive");
	ok(waf_transform_from_name("") == WAF_T_MAX && waf_transform_from_name(NULL) == WAF_T_MAX,
	   "empty and NULL are unknown");
	ok(strcmp(waf_transform_name(WAF_T_MAX), "unknown") == 0, "the sentinel has no name");
}

static void test_apply(void)
{
	static const unsigned char chain[] = {WAF_T_URL_DECODE, WAF_T_HTML_ENTITY, WAF_T_LOWERCASE,
	                                      WAF_T_REMOVE_COMMENTS, WAF_T_COMPRESS_WS};
	static const unsigned char bogus[] = {200};
	const char *in = "SeLeCt%2F%2A%2A%2F%26lt%3B%20%20X";
	char out[128], buf[128];
	size_t n;

	n = waf_transform_apply(NULL, 0, "abc", 3, out);
	ok(n == 3 && memcmp(out, "abc", 3) == 0, "apply: an empty list copies");
	n = waf_transform_apply(chain, sizeof(chain), in, strlen(in), out);
	ok(n == strlen("select < x") && memcmp(out, "select < x", n) == 0,
	   "apply: the list runs in order");
	strcpy(buf, in);
	n = waf_transform_apply(chain, sizeof(chain), buf, strlen(buf), buf);
	ok(n == strlen("select < x") && memcmp(buf, "select < x", n) == 0, "apply: in place");
	n = waf_transform_apply(bogus, 1, "AbC", 3, out);
	ok(n == 3 && memcmp(out, "AbC", 3) == 0, "apply: an unknown transform copies");
	n = waf_transform_one(WAF_T_MAX, "xy", 2, out);
	ok(n == 2 && memcmp(out, "xy", 2) == 0, "one: WAF_T_MAX copies");
	n = waf_transform_apply(chain, sizeof(chain), "", 0, out);
	ok(n == 0, "apply: empty input");
}

/* ---- the no-growth property */

static size_t ref_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One entity for cp: "&#N", "&#xH" or "&#XH", with or without ';'. */
static size_t entity(char *in, size_t size, unsigned long cp, char x, int semi)
{
	int n;

	if (x == 0)
		n = snprintf(in, size, "&#%lu%s", cp, semi ? ";" : "");
	else if (x == 'x')
		n = snprintf(in, size, "&#x%lx%s", cp, semi ? ";" : "");
	else
		n = snprintf(in, size, "&#X%lX%s", cp, semi ? ";" : "");
	return (size_t)n;
}

/* Every code point in one entity form: decoded right (or kept when
 * invalid) and never longer than the entity. */
static int all_entities(char x, int semi)
{
	char in[32], out[32], want[8];
	unsigned long cp;
	size_t len, n, w;

	for (cp = 0; cp <= 0x110000; cp++) {
		len = entity(in, sizeof(in), cp, x, semi);
		n = waf_transform_one(WAF_T_HTML_ENTITY, in, len, out);
		if (n > len)
			return 0;
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			if (n != len || memcmp(in, out, len) != 0)
				return 0;
			continue;
		}
		w = ref_utf8(want, cp);
		if (n != w || memcmp(out, want, w) != 0)
			return 0;
	}
	return 1;
}

/* Every BMP code point as %uXXXX: the UTF-8 is never longer. */
static int all_percent_u(void)
{
	char in[16], out[16], want[8];
	unsigned long cp;
	size_t n, w;

	for (cp = 0; cp <= 0xffff; cp++) {
		snprintf(in, sizeof(in), "%%u%04lx", cp);
		n = waf_transform_one(WAF_T_URL_DECODE, in, 6, out);
		if (n > 6)
			return 0;
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		w = ref_utf8(want, cp);
		/* A decoded '%' or '+' may decode again; those are tested above. */
		if (cp != '%' && cp != '+' && (n != w || memcmp(out, want, w) != 0))
			return 0;
	}
	return 1;
}

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Random input drawn mostly from the characters the transforms care
 * about, so escapes and comments are frequent. */
static size_t random_input(char *buf, size_t max)
{
	static const char alphabet[] = "%%%uUdD8A0f9+&&#;;xX/*!-<>\n \t\xa0"
	                               "azAZ5";
	size_t len = rng() % max, i;

	for (i = 0; i < len; i++)
		buf[i] = (rng() % 8 == 0) ? (char)rng() : alphabet[rng() % (sizeof(alphabet) - 1)];
	return len;
}

static void test_no_growth(void)
{
	char in[256], out[BUF_MAX + 1];
	unsigned char list[8];
	size_t len, n, k, i;
	int t, good = 1, chain_good = 1;

	ok(all_entities(0, 1), "no growth: every &#N; decoded right or kept");
	ok(all_entities(0, 0), "no growth: every &#N decoded right or kept");
	ok(all_entities('x', 1), "no growth: every &#xH; decoded right or kept");
	ok(all_entities('X', 0), "no growth: every &#XH decoded right or kept");
	ok(all_percent_u(), "no growth: every %%uXXXX decoded right or kept");
	for (i = 0; i < 20000; i++) {
		len = random_input(in, sizeof(in));
		for (t = 0; t < WAF_T_MAX; t++)
			if (run((enum waf_transform)t, in, len, out) == (size_t)-1)
				good = 0;
		k = rng() % 8;
		for (n = 0; n < k; n++)
			list[n] = (unsigned char)(rng() % WAF_T_MAX);
		memset(out, CANARY, sizeof(out));
		n = waf_transform_apply(list, k, in, len, out);
		if (n > len || out[len] != CANARY)
			chain_good = 0;
	}
	ok(good, "no growth: 20000 random inputs, every transform, in place and not");
	ok(chain_good, "no growth: random transform lists");
}

/* ---- summaries */

/* The class of c as transform.h defines it, written plainly. */
static int ref_class(unsigned char c)
{
	static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

	if (c >= 0x80)
		return WAF_CLASS_HIGH;
	if (c == '\t')
		return WAF_CLASS_TAB;
	if (c == '\n')
		return WAF_CLASS_LF;
	if (c == '\r')
		return WAF_CLASS_CR;
	if (c < 0x20 || c == 0x7f)
		return WAF_CLASS_CTL;
	if (c == ' ' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return -1;
	return (int)(strchr(punct, c) - punct);
}

static uint64_t ref_summary(const char *s, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (ref_class((unsigned char)s[i]) >= 0)
			sum |= 1ull << ref_class((unsigned char)s[i]);
	return sum;
}

static void test_summary(void)
{
	static char buf[600];
	int bytes = 1, randoms = 1;
	char c;

	for (int b = 0; b < 256; b++) {
		c = (char)b;
		bytes &= waf_summary(&c, 1) == ref_summary(&c, 1);
	}
	ok(bytes, "summary: the class of every byte");
	ok(ref_class('!') == 0 && ref_class('~') == 31 && waf_summary("", 0) == 0 &&
	       waf_summary("Hello World 42", 14) == 0,
	   "summary: letters, digits and spaces have no class");
	ok(waf_summary_of_set(".\x80") == ((1ull << ref_class('.')) | (1ull << WAF_CLASS_HIGH)),
	   "summary: of a set");
	/* mostly letters, so the vector code's fast path runs, at every
	 * length up to 300 and every alignment */
	for (int i = 0; i < 20000; i++) {
		size_t off = rng() % 64, len = rng() % 300;

		for (size_t k = 0; k < len; k++)
			buf[off + k] = rng() % 16 == 0 ? (char)rng() : (char)('a' + rng() % 26);
		if (waf_summary(buf + off, len) != ref_summary(buf + off, len)) {
			randoms = 0;
			printf("# length %zu at %zu differs\n", len, off);
			break;
		}
	}
	ok(randoms, "summary: 20000 random values of every length and alignment");
}

/* The transforms a summary calls no-ops change nothing; the others never
 * add a class, unless the input holds one of the classes that let them. */
static void test_noops(void)
{
	char in[256], out[BUF_MAX + 1];
	int noop_good = 1, grow_good = 1;

	ok(waf_transform_noops(0) == ((1u << WAF_T_URL_DECODE) | (1u << WAF_T_HTML_ENTITY) |
	                              (1u << WAF_T_REMOVE_COMMENTS)),
	   "noops: url_decode, html_entity_decode and remove_comments can be skipped");
	ok(waf_transform_noops(~0ull) == 0, "noops: none for a value with every class");
	for (int i = 0; i < 50000; i++) {
		size_t len = random_input(in, sizeof(in)), n;
		uint64_t sum = waf_summary(in, len);
		unsigned noops = waf_transform_noops(sum);

		for (int t = 0; t < WAF_T_MAX; t++) {
			n = waf_transform_one((enum waf_transform)t, in, len, out);
			if ((noops & (1u << t)) && (n != len || memcmp(in, out, len) != 0))
				noop_good = 0;
			if (!(sum & waf_transform_grows((enum waf_transform)t)) &&
			    (waf_summary(out, n) & ~sum) != 0)
				grow_good = 0;
		}
	}
	ok(noop_good, "noops: 50000 random values, what a summary calls a no-op is one");
	ok(grow_good, "noops: a transform adds a class only from '%%' (url) or '&' (html)");
}

/* Long values through the vector code: lowercase and url_decode against
 * a byte at a time, and url_decode is stable (its last pass found
 * nothing more). */
static void test_long_values(void)
{
	static char in[2048], out[2048], again[2048];
	int lower_good = 1, stable = 1;

	for (int i = 0; i < 2000; i++) {
		size_t len = rng() % sizeof(in), n, m;

		for (size_t k = 0; k < len; k++)
			in[k] = (char)rng();
		waf_transform_one(WAF_T_LOWERCASE, in, len, out);
		for (size_t k = 0; k < len; k++)
			lower_good &= out[k] == (in[k] >= 'A' && in[k] <= 'Z' ? in[k] + 32 : in[k]);
		len = random_input(in, 256);
		n = waf_transform_one(WAF_T_URL_DECODE, in, len, out);
		m = waf_transform_one(WAF_T_URL_DECODE, out, n, again);
		/* 8 passes may leave an encoding; 9 levels need more than 256 bytes here */
		stable &= m == n && memcmp(out, again, n) == 0;
	}
	ok(lower_good, "lowercase: 2000 random values up to 2 KB, A-Z only");
	ok(stable, "url_decode: decoding the result again changes nothing");
}

int main(void)
{
	test_cases();
	test_names();
	test_apply();
	test_no_growth();
	test_summary();
	test_noops();
	test_long_values();
	return done_testing();
}
