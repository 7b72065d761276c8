/* The quick scan of detect_sqli (see waf/sqli_lexer.h): which keyword
 * rules could fire in a value, found without running the lexer. */
#include "waf/sqli_lexer.h"

#include <stdint.h>
#include <string.h>

/* ---- the quick scan
 *
 * The detector's rules that may fire anywhere in a value start at a few
 * keywords: union (with a select), select (first, or after '('), case
 * (with a when), into outfile/dumpfile, waitfor, from/join/exec before a
 * system catalogue or a command procedure, and the time and file functions
 * when called. The scan looks up the first four letters of every word in
 * a small table (TRIG_LIST): SSE2 finds where words start, 64 bytes at a
 * time; a word may also start inside a run of letters after a number
 * ("1union", "0xfunion"), so in such runs every letter is looked up. Where
 * a key matches, the word is noted (select, union, case, when, having...:
 * a cheap overestimate, "selection" counts) or classified exactly as
 * lex_word would, with the same tables (catalogues, procedures, function
 * calls). The same pass notes which kinds of bytes occur.
 *
 * Values with '%' (it joins words), MySQL executable comments, ODBC's
 * "{fn", or the decoder's UTF-8 lead bytes (overlong and fullwidth forms)
 * are left to the full read: the words the lexer sees there may differ
 * from the bytes. Plain comments only hide what they hold, which the scan
 * reads anyway. */

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SC_SQ      SQLI_SCAN_QUOTE
#define SC_DQ      (SQLI_SCAN_QUOTE << 1)
#define SC_BQ      (SQLI_SCAN_QUOTE << 2)
#define SC_MINUS   0x100 /* '-' */
#define SC_STAR    0x200 /* '*': "/ *!" */
#define SC_BRACE   0x400 /* '{': "{fn" */
#define SC_ALPHA   0x800
#define SC_AMP     0x1000 /* '&': "&&" */
#define SC_BAR     0x2000 /* '|': "||" */
#define SC_COMMENT 0x4000 /* '#' */

/* clang-format off */
#define Z  0
#define RD SQLI_SCAN_READ
#define XX (SQLI_SCAN_READ | SQLI_SCAN_ODD)
#define OL (XX | SQLI_SCAN_PAREN) /* an overlong form may spell '(' */
#define DQ (RD | SC_DQ)
#define HS (RD | SC_COMMENT)
#define PC SQLI_SCAN_ODD
#define AM (RD | SC_AMP)
#define SQ (RD | SC_SQ)
#define LP SQLI_SCAN_PAREN
#define ST SC_STAR
#define MI SC_MINUS
#define SL SQLI_SCAN_SLASH
#define SE (RD | SQLI_SCAN_SEMI)
#define BQ SC_BQ
#define BR SC_BRACE
#define BA (RD | SC_BAR)
static const unsigned short scan_bits[256] = {
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z,
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z,
	Z, Z, DQ, HS, Z, PC, AM, SQ, LP, Z, ST, Z, Z, MI, Z, SL, /* ' ' .. '/' */
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, SE, Z, Z, Z, Z, /* '0' .. '?' */
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, /* letters: from the letter mask */
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z,
	BQ, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, /* '`' .. 'o' */
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, BR, BA, Z, Z, Z, /* 'p' .. DEL */
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, /* 0x80 */
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD,
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD,
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD,
	OL, OL, XX, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, /* 0xc0: overlong, NBSP */
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD,
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, XX, /* 0xef: fullwidth */
	RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD, RD,
};
#undef Z
#undef RD
#undef XX
#undef OL
#undef DQ
#undef HS
#undef PC
#undef AM
#undef SQ
#undef LP
#undef ST
#undef MI
#undef SL
#undef SE
#undef BQ
#undef BR
#undef BA
/* clang-format on */

/* The first four letters (lowercase) of every keyword and prefix above
 * whose class is union, select, case, when, outfile, dumpfile, waitfor,
 * a time or file function, a catalogue or a command procedure, and of
 * having, where, order, group; with what the scan does when it meets one
 * and the letters all the words behind the key share after those four
 * ("update" is not "updatexml"). A word of these kinds added to the
 * tables needs its key here (test_detect checks each). The slot is a
 * multiplicative hash; two keys in one slot fail the build
 * (-Woverride-init): then pick another odd multiplier. */
#define K4(a, b, c, d)                                                                             \
	((uint32_t)((a) | 0x20) | (uint32_t)((b) | 0x20) << 8 | (uint32_t)((c) | 0x20) << 16 |     \
	 (uint32_t)((d) | 0x20) << 24)
#define TRIG_SLOT(k) ((uint32_t)((uint32_t)(k)*0x30ebf51bu) >> 23)

/* What the scan does where a key matches. The first kinds are only noted
 * (a bit in struct scan.seen; "selection" counts as select: a cheap
 * overestimate); the last ones look at the word. */
enum trig_kind {
	T_SELECT, /* the full read when it opens the value or a '(' */
	T_LEAD,   /* having, where, order, group: sqli_scan.lead */
	T_UNION,  /* the full read when a select follows */
	T_CASE,   /* the full read when a when follows */
	T_FULL,   /* outfile, dumpfile, waitfor (spelled out): the full read */
	T_WORD,   /* a catalogue, a procedure or a function: classify the word */
	T_KIND_MAX
};

/* clang-format off */
#define TRIG_LIST(X) \
	X('s', 'e', 'l', 'e', T_SELECT, "ct") X('u', 'n', 'i', 'o', T_UNION, "n") \
	X('c', 'a', 's', 'e', T_CASE, "") \
	X('h', 'a', 'v', 'i', T_LEAD, "ng") X('w', 'h', 'e', 'r', T_LEAD, "e") \
	X('o', 'r', 'd', 'e', T_LEAD, "r") X('g', 'r', 'o', 'u', T_LEAD, "p") \
	X('o', 'u', 't', 'f', T_FULL, "ile") X('d', 'u', 'm', 'p', T_FULL, "file") \
	X('w', 'a', 'i', 't', T_FULL, "for") X('i', 'n', 'f', 'o', T_WORD, "rmat") \
	X('m', 'y', 's', 'q', T_WORD, "l.") X('p', 'e', 'r', 'f', T_WORD, "orma") \
	X('p', 'g', '_', 'c', T_WORD, "atal") X('p', 'g', '_', 's', T_WORD, "") \
	X('p', 'g', '_', 'u', T_WORD, "ser") X('p', 'g', '_', 't', T_WORD, "able") \
	X('p', 'g', '_', 'r', T_WORD, "ead_") X('s', 'y', 's', 'o', T_WORD, "bjec") \
	X('s', 'y', 's', 'c', T_WORD, "olum") X('s', 'y', 's', 'd', T_WORD, "atab") \
	X('s', 'y', 's', '.', T_WORD, "") X('s', 'y', 's', '_', T_WORD, "e") \
	X('m', 'a', 's', 't', T_WORD, "er.") X('s', 'q', 'l', 'i', T_WORD, "te_") \
	X('a', 'l', 'l', '_', T_WORD, "") X('u', 's', 'e', 'r', T_WORD, "_tab") \
	X('d', 'b', 'a', '_', T_WORD, "user") X('m', 's', 'y', 's', T_WORD, "obje") \
	X('x', 'p', '_', 'c', T_WORD, "mdsh") X('x', 'p', '_', 'r', T_WORD, "egre") \
	X('x', 'p', '_', 'd', T_WORD, "irtr") X('x', 'p', '_', 'f', T_WORD, "ilee") \
	X('s', 'p', '_', 'o', T_WORD, "acre") X('s', 'p', '_', 'm', T_WORD, "akew") \
	X('s', 'p', '_', 'a', T_WORD, "ddex") X('s', 'p', '_', 'e', T_WORD, "xecu") \
	X('b', 'e', 'n', 'c', T_WORD, "hmar") X('d', 'b', 'm', 's', T_WORD, "_") \
	X('g', 'e', 't', '_', T_WORD, "lock") X('r', 'a', 'n', 'd', T_WORD, "ombl") \
	X('s', 'l', 'e', 'e', T_WORD, "p") X('e', 'x', 't', 'r', T_WORD, "actv") \
	X('l', 'o', '_', 'i', T_WORD, "mpor") X('l', 'o', 'a', 'd', T_WORD, "_fil") \
	X('u', 'p', 'd', 'a', T_WORD, "texm") X('u', 't', 'l', '_', T_WORD, "")
/* clang-format on */

#define TRIG_KEY(a, b, c, d, kind, rest)  [TRIG_SLOT(K4(a, b, c, d))] = K4(a, b, c, d),
#define TRIG_KIND(a, b, c, d, kind, rest) [TRIG_SLOT(K4(a, b, c, d))] = kind,
#define TRIG_REST(a, b, c, d, kind, rest) [TRIG_SLOT(K4(a, b, c, d))] = rest,
static const uint32_t trig_keys[512] = {TRIG_LIST(TRIG_KEY)};
static const unsigned char trig_kinds[512] = {TRIG_LIST(TRIG_KIND)};
static const char *const trig_rests[512] = {TRIG_LIST(TRIG_REST)};
#undef TRIG_KEY
#undef TRIG_KIND
#undef TRIG_REST

/* K4's byte order, from a word loaded in the machine's. */
static inline uint32_t le32(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

struct scan {
	const unsigned char *s;
	size_t len;
	size_t walk_end; /* the marked scan's word_starts: bytes before are known */
	int walk_y;      /* a number may end at walk_end - 1 */
	unsigned bits;   /* scan_bits of the bytes so far */
	unsigned seen;   /* 1 << T_SELECT ... 1 << T_LEAD: noted kinds */
	int full, lead;  /* lead: and, or, xor, && or || met */
	int logic_words; /* look for and, or, xor */
	uint64_t alnum_carry, digit_carry; /* the last byte of the previous chunk */
};

/* 64-bit masks of one chunk (bit i: byte i). */
struct chunk {
	uint64_t letter, digit;
	uint64_t alnum;  /* ASCII letters and digits */
	uint64_t number; /* alnum and '.': what a number token may hold */
	uint64_t other;  /* bytes whose scan_bits matter: not alnum and not ' ' */
};

#if defined(__SSE2__)
/* Letters, digits, '.' and spaces of 16 bytes at p, as bits at sh. */
static inline void block_masks(const unsigned char *p, unsigned sh, struct chunk *m)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	/* a letter: (v | 0x20) - 'a' < 26 as a signed compare; a digit alike */
	__m128i l = _mm_cmplt_epi8(
	    _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(0x80 - 'a'))),
	    _mm_set1_epi8(-128 + 26));
	__m128i d = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))),
	                           _mm_set1_epi8(-128 + 10));

	m->letter |= (uint64_t)(unsigned)_mm_movemask_epi8(l) << sh;
	m->digit |= (uint64_t)(unsigned)_mm_movemask_epi8(d) << sh;
	m->number |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')))
	             << sh;
	m->other |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')))
	            << sh;
}

/* Masks of the first 16 * blocks bytes at p (the rest of the chunk is
 * not read: zero). */
static void chunk_masks(const unsigned char *p, int blocks, struct chunk *m)
{
	memset(m, 0, sizeof(*m));
	if (blocks == 4) {
		block_masks(p, 0, m);
		block_masks(p + 16, 16, m);
		block_masks(p + 32, 32, m);
		block_masks(p + 48, 48, m);
	} else {
		unsigned j;

		for (j = 0; j < (unsigned)blocks; j++)
			block_masks(p + 16 * j, 16 * j, m);
	}
	/* number held the dots and other the spaces so far */
	m->alnum = m->letter | m->digit;
	m->number |= m->alnum;
	m->other = ~(m->alnum | m->other);
}
#else
static void chunk_masks(const unsigned char *p, int blocks, struct chunk *m)
{
	int i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < 16 * blocks; i++) {
		unsigned t = sqli_ctype[p[i]];
		uint64_t bit = (uint64_t)1 << i;

		m->letter |= (t & CT_ALPHA) ? bit : 0;
		m->digit |= (t & CT_DIGIT) ? bit : 0;
		m->number |= p[i] == '.' ? bit : 0;
		m->other |= p[i] == ' ' ? bit : 0;
	}
	m->alnum = m->letter | m->digit;
	m->number |= m->alnum;
	m->other = ~(m->alnum | m->other);
}
#endif

/* Positions reached from a digit through number bytes only: where a
 * number token may end inside a run of letters ("1union", "0xfunion",
 * "1.eunion"). */
static uint64_t digit_runs(uint64_t digit, uint64_t number)
{
	uint64_t y = digit, a = number;
	unsigned sh;

	for (sh = 1; sh < 64; sh <<= 1) {
		y |= (y << sh) & a;
		a &= a << sh;
	}
	return y;
}

/* s holds a followed by b. */
static int has_pair(const unsigned char *s, size_t len, int a, int b)
{
	const unsigned char *p = s, *end = s + len;

	while ((p = memchr(p, a, (size_t)(end - p))) != NULL)
		if (++p < end && *p == b)
			return 1;
	return 0;
}

/* A comment may open in s: then the tokens around a select (noted) are
 * not where its bytes are. */
static int may_comment(const unsigned char *s, size_t len, unsigned bits)
{
	return (bits & SC_COMMENT) || ((bits & SC_MINUS) && has_pair(s, len, '-', '-')) ||
	       ((bits & SC_STAR) && (bits & SQLI_SCAN_SLASH) && has_pair(s, len, '/', '*'));
}

/* A select (noted) may be the value's first token or follow a '(': its
 * first four letters right after the start or a '(', past spaces and
 * braces (a value without comments). */
static int select_opens(const unsigned char *s, size_t len, unsigned bits)
{
	const unsigned char *p;
	size_t i = 0;

	for (;;) {
		while (i < len && ((sqli_ctype[s[i]] & CT_SPACE) || s[i] == '{' || s[i] == '}'))
			i++;
		if (i + 4 <= len && sqli_lower_b(s[i]) == 's' && sqli_lower_b(s[i + 1]) == 'e' &&
		    sqli_lower_b(s[i + 2]) == 'l' && sqli_lower_b(s[i + 3]) == 'e')
			return 1;
		if (!(bits & SQLI_SCAN_PAREN) || i >= len ||
		    (p = memchr(s + i, '(', len - i)) == NULL)
			return 0;
		i = (size_t)(p - s) + 1;
	}
}

int sqli_word_at(const char *str, size_t len, size_t p, int *sub, size_t *end)
{
	const unsigned char *s = (const unsigned char *)str;
	char w[SQLI_WORD_MAX + 1];
	size_t wl = 0, i;
	int dotted = 0, cls_ = SQLI_WORD;
	const struct sqli_kw *k;

	*sub = SQLI_K_NONE;
	for (i = p;; i++) {
		size_t j = i;

		while (i < len && (sqli_ctype[s[i]] & (CT_PLAIN | CT_WORD)) == (CT_PLAIN | CT_WORD))
			i++;
		for (; j < i && wl < SQLI_WORD_MAX; j++)
			w[wl++] = (char)sqli_lower_b(s[j]);
		wl += i - j; /* past SQLI_WORD_MAX: counted, not kept */
		/* a '.' joins when a word byte or another '.' follows */
		if (!(i < len && s[i] == '.' && wl > 0 && i + 1 < len &&
		      ((sqli_ctype[s[i + 1]] & (CT_PLAIN | CT_WORD)) == (CT_PLAIN | CT_WORD) ||
		       s[i + 1] == '.')))
			break;
		dotted = 1;
		if (wl < SQLI_WORD_MAX)
			w[wl] = '.';
		wl++;
	}
	*end = i;
	if (wl == 0 || wl >= SQLI_WORD_MAX || sqli_is_digit((unsigned char)w[0]))
		return wl > 0 && sqli_is_digit((unsigned char)w[0]) && !dotted ? SQLI_NUM : SQLI_WORD;
	k = sqli_kw_find(w, wl);
	if (k != NULL && (!dotted || k->cls == SQLI_WORD)) {
		cls_ = k->cls;
		*sub = k->sub;
	}
	if (cls_ == SQLI_WORD && *sub == SQLI_K_NONE)
		*sub = sqli_prefix_find(w, wl);
	return cls_;
}

/* A T_WORD key matched at p: classify the word there. */
static void trigger_at(struct scan *sc, size_t p)
{
	const unsigned char *s = sc->s;
	size_t i;
	int sub, c = sqli_word_at((const char *)s, sc->len, p, &sub, &i);

	if (c != SQLI_WORD)
		return;
	sc->full |= sub == SQLI_W_SCHEMA || sub == SQLI_W_CMD;
	if (sub != SQLI_W_TIME && sub != SQLI_W_FILE)
		return;
	/* called: '(' next, or a comment that may hide one */
	while (i < sc->len && (sqli_ctype[s[i]] & CT_SPACE))
		i++;
	sc->full |= i < sc->len && (s[i] == '(' || s[i] == '/');
}

static int is_key_letter(uint32_t c)
{
	return c - 'a' < 26u;
}

/* s[0..n) starts with the lowercase letters w. */
static int spelled(const unsigned char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if (i >= n || sqli_lower(s[i]) != w[i])
			return 0;
	return 1;
}

/* and, or, xor (lowercased k at a word start) followed by no letter: the
 * logic words of after_lead. */
static int logic_word(uint32_t k)
{
	uint32_t k3 = k & 0xffffffu;

	return ((k3 == (K4('a', 'n', 'd', 0) & 0xffffffu) ||
	         k3 == (K4('x', 'o', 'r', 0) & 0xffffffu)) &&
	        !is_key_letter(k >> 24)) ||
	       ((k & 0xffffu) == (K4('o', 'r', 0, 0) & 0xffffu) &&
	        !is_key_letter((k >> 16) & 0xffu));
}

/* The key at p, lowercased (letters; other bytes are changed too, but
 * never into a letter). */
static inline uint32_t key_at(const unsigned char *s, size_t len, size_t p)
{
	unsigned char b[4] = {0, 0, 0, 0};
	uint32_t k;

	if (p + 4 <= len)
		memcpy(&k, s + p, 4);
	else
		memcpy(&k, memcpy(b, s + p, len - p), 4);
	return le32(k) | 0x20202020u;
}

#define SEEN(sc, kind) (((sc)->seen >> (kind)) & 1u)

/* Past spaces and braces from i; *comment: a comment starts there. */
static size_t skip_gap(const unsigned char *s, size_t len, size_t i, int *comment)
{
	while (i < len && ((sqli_ctype[s[i]] & CT_SPACE) || s[i] == '{' || s[i] == '}'))
		i++;
	*comment = i < len && (s[i] == '#' || (i + 1 < len && ((s[i] == '-' && s[i + 1] == '-') ||
	                                                       (s[i] == '/' && s[i + 1] == '*'))));
	return i;
}

/* The word w (lowercase letters) at i, ending there. */
static int word_is(const unsigned char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);

	return spelled(s + i, len - i, w) &&
	       !(i + n < len && ((sqli_ctype[s[i + n]] & CT_WORD) || s[i + n] == '.'));
}

/* After a union ending at i: a select, past all, distinct and '('. */
static int union_selects(const unsigned char *s, size_t len, size_t i)
{
	int comment;

	for (;;) {
		i = skip_gap(s, len, i, &comment);
		if (comment)
			return 1; /* unsure */
		if (i < len && s[i] == '(')
			i++;
		else if (word_is(s, len, i, "all"))
			i += 3;
		else if (word_is(s, len, i, "distinct"))
			i += 8;
		else
			return spelled(s + i, len - i, "sele");
	}
}

/* Past one token at i, or at least as far as the lexer's (a run of
 * operator bytes may be several); *unsure for a string. */
static size_t skip_token(const unsigned char *s, size_t len, size_t i, int *unsure)
{
	if (s[i] == '\'' || s[i] == '"' || s[i] == '`') {
		*unsure = 1;
		return i;
	}
	if (sqli_is_digit(s[i]) || (s[i] == '.' && i + 1 < len && sqli_is_digit(s[i + 1])))
		return sqli_number_end((const char *)s, len, i);
	if (s[i] == '@' || (sqli_ctype[s[i]] & CT_WORD)) {
		while (i < len && s[i] == '@')
			i++;
		while (i < len && ((sqli_ctype[s[i]] & CT_WORD) || s[i] == '.'))
			i++;
		return i;
	}
	if (s[i] != '\0' && strchr("=<>!~|&:*-+/%^", s[i]) != NULL) {
		while (i < len && s[i] != '\0' && strchr("=<>!~|&:*-+/%^", s[i]) != NULL)
			i++;
		return i;
	}
	return i + 1;
}

/* After a case ending at i: a when, as the next token or the one after. */
static int case_whens(const unsigned char *s, size_t len, size_t i)
{
	int unsure = 0, k;

	for (k = 0; k < 2; k++) {
		i = skip_gap(s, len, i, &unsure);
		if (unsure)
			return 1; /* a comment: the tokens are elsewhere */
		if (i >= len)
			return 0;
		if (spelled(s + i, len - i, "when"))
			return 1;
		i = skip_token(s, len, i, &unsure);
		if (unsure)
			return 1;
	}
	return 0;
}

/* A T_UNION, T_CASE, T_FULL or T_WORD key matched at p. */
static void key_met(struct scan *sc, size_t p, uint32_t slot)
{
	if (!spelled(sc->s + p + 4, sc->len - p - 4, trig_rests[slot]))
		return;
	switch (trig_kinds[slot]) {
	case T_UNION:
		sc->full |= union_selects(sc->s, sc->len, p + 5);
		return;
	case T_CASE:
		sc->full |= case_whens(sc->s, sc->len, p + 4);
		return;
	case T_FULL:
		sc->full = 1;
		return;
	default:
		trigger_at(sc, p);
		return;
	}
}

/* Where a word may start (c: a bit per letter of the chunk at off); with
 * logic, also and, or, xor. */
static inline void scan_words(struct scan *sc, size_t off, uint64_t c, int logic)
{
	const unsigned char *s = sc->s;
	size_t len = sc->len;
	int lead = 0;

	for (; c != 0; c &= c - 1) {
		size_t p = off + (size_t)__builtin_ctzll(c);
		uint32_t k, slot;

		if (off + 64 + 3 <= len) /* the same for the whole chunk */
			memcpy(&k, s + p, 4), k = le32(k) | 0x20202020u;
		else
			k = key_at(s, len, p);
		slot = TRIG_SLOT(k);
		if (trig_keys[slot] == k) {
			if (trig_kinds[slot] < T_UNION) {
				sc->seen |= 1u << trig_kinds[slot];
				continue;
			}
			key_met(sc, p, slot);
			if (sc->full)
				return;
		}
		if (logic)
			lead |= logic_word(k);
	}
	sc->lead |= lead;
}

static void scan_chunk(struct scan *sc, const unsigned char *p, size_t off, size_t n)
{
	struct chunk m;
	uint64_t valid = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1, y, c;

	chunk_masks(p, (int)((n + 15) / 16), &m);
	m.letter &= valid;
	m.other &= valid;
	if (m.letter)
		sc->bits |= SQLI_SCAN_READ | SC_ALPHA;
	for (c = m.other; c; c &= c - 1)
		sc->bits |= scan_bits[p[__builtin_ctzll(c)]];
	if (sc->full || (sc->bits & SQLI_SCAN_ODD))
		return; /* the bytes are still needed: which kinds occur */
	if (m.letter == 0) {
		/* no word starts here; a number may run on into the next chunk
		 * (an overestimate: more letters looked up there) */
		sc->alnum_carry = m.alnum >> 63;
		sc->digit_carry = m.number >> 63;
		return;
	}
	y = m.digit | (sc->digit_carry & m.number & 1);
	if (y)
		y = digit_runs(y, m.number);
	/* letters after no letter or digit, and letters a number may end before */
	c = m.letter & (~((m.alnum << 1) | sc->alnum_carry) | (y << 1) | sc->digit_carry);
	sc->alnum_carry = m.alnum >> 63;
	sc->digit_carry = y >> 63;
	if (sc->logic_words)
		scan_words(sc, off, c, 1);
	else
		scan_words(sc, off, c, 0);
}

/* ---- the marked scan of a long value
 *
 * The same findings as the chunk scan (without the logic words, which a
 * long value does not need: its start is read exactly), from the places
 * sqli_key_marks says a key may start: each is looked up as scan_words
 * would, if a word starts there. */

/* Whether a word may start at the letter at p, as the chunk masks say:
 * no letter or digit before it, or a number may end right before it
 * (a digit, then only letters, digits and dots: "1union", "0xfunion").
 * The walk back stops where the last one began, so the scan stays
 * linear: what lies before is in walk_y. */
static int word_starts(struct scan *sc, size_t p)
{
	const unsigned char *s = sc->s;
	size_t q = p;
	int y = sc->walk_y;

	if (p == 0 || !(sqli_ctype[s[p - 1]] & (CT_ALPHA | CT_DIGIT)))
		return 1;
	while (q > sc->walk_end) {
		unsigned char c = s[--q];

		if (sqli_ctype[c] & CT_DIGIT) {
			y = 1;
			break;
		}
		if (!(sqli_ctype[c] & CT_ALPHA) && c != '.') {
			y = 0;
			break;
		}
	}
	sc->walk_end = p;
	sc->walk_y = y;
	return y;
}

/* waf_summary's classes (waf/transform.h): ASCII punctuation in byte
 * order, bits 0..31, then tab, LF, CR, other controls, and bytes from
 * 0x80 (bit 36). */
static const char summary_punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
#define SUM_PAREN ((uint64_t)1 << 7)  /* '(' */
#define SUM_SLASH ((uint64_t)1 << 14) /* '/' */
#define SUM_HIGH  ((uint64_t)1 << 36)

/* The scan bits of the bytes of a summary without high bytes. */
static unsigned summary_bits(uint64_t sum)
{
	unsigned bits = 0;

	for (sum &= 0xffffffffu; sum; sum &= sum - 1)
		bits |= scan_bits[(unsigned char)summary_punct[__builtin_ctzll(sum)]];
	return bits;
}

/* Word w of the caller's keys, from the value's first byte. */
static inline uint64_t keys_word(const struct waf_sqli_keys *k, size_t w)
{
	return k->shift == 0 ? k->words[w]
	                     : k->words[w] >> k->shift | k->words[w + 1] << (64 - k->shift);
}

/* The bits of a word of marks for the n bytes left of a value. */
static inline uint64_t keep(size_t n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* 0 when sqli_key_marks cannot run here (or the build says not to:
 * SQLI_SCAN_NO_MARKS tests the chunk scan of processors without AVX2).
 * With a summary (sum, see sqli_scan), the kinds of bytes come from it;
 * with keys (see sqli_scan) too, the marks of the keys. */
static int scan_marked(struct scan *sc, uint64_t sum, const struct waf_sqli_keys *keys)
{
#ifdef SQLI_SCAN_NO_MARKS
	(void)sc, (void)sum, (void)keys;
	return 0;
#endif
	const unsigned char *s = sc->s;
	size_t len = sc->len, from, w;
	int others = sum == SQLI_NO_SUM || (sum & SUM_HIGH), call;
	struct sqli_marks m;
	const uint64_t *key;
	uint64_t c;

	if (others)
		call = memchr(s, '(', len) != NULL || memchr(s, '/', len) != NULL;
	else
		call = (sum & (SUM_PAREN | SUM_SLASH)) != 0;
	for (from = 0; from < len; from += SQLI_MARKS_SPAN) {
		size_t words =
		    ((len - from < SQLI_MARKS_SPAN ? len - from : SQLI_MARKS_SPAN) + 63) / 64;

		if (keys != NULL && keys->words != NULL && !call && !others)
			key = NULL; /* the caller's */
		else if (sqli_key_marks(s, len, from, call, others, &m))
			key = m.key;
		else
			return 0;
		if (!others && from == 0)
			sc->bits |= summary_bits(sum);
		for (w = 0; others && w < words; w++)
			for (c = m.other[w]; c; c &= c - 1)
				sc->bits |=
				    scan_bits[s[from + 64 * w + (size_t)__builtin_ctzll(c)]];
		if (sc->full || (sc->bits & SQLI_SCAN_ODD))
			continue; /* the bytes are still needed: which kinds occur */
		for (w = 0; w < words && !sc->full; w++)
			for (c = (key != NULL ? key[w] : keys_word(keys, from / 64 + w)) &
			         keep(len - from - 64 * w);
			     c && !sc->full; c &= c - 1) {
				size_t p = from + 64 * w + (size_t)__builtin_ctzll(c);
				uint32_t k = key_at(s, len, p), slot = TRIG_SLOT(k);

				if (trig_keys[slot] != k || !word_starts(sc, p))
					continue;
				if (trig_kinds[slot] < T_UNION)
					sc->seen |= 1u << trig_kinds[slot];
				else
					key_met(sc, p, slot);
			}
	}
	/* letters are taken to be there (no bit for them here) */
	sc->bits |= SQLI_SCAN_READ | SC_ALPHA;
	return 1;
}

/* Two-byte forms: MySQL's executable comments and ODBC's "{fn ", which
 * change how the lexer reads what follows; "&&" and "||". */
static void pairs(struct scan *sc)
{
	const unsigned char *s = sc->s, *p = s, *end = s + sc->len;

	while ((sc->bits & SC_STAR) && (sc->bits & SQLI_SCAN_SLASH) &&
	       (p = memchr(p, '/', (size_t)(end - p))) != NULL)
		if (++p + 1 < end && p[0] == '*' && p[1] == '!')
			sc->bits |= SQLI_SCAN_ODD;
	p = s;
	while ((sc->bits & SC_BRACE) && (p = memchr(p, '{', (size_t)(end - p))) != NULL)
		if (++p < end && sqli_lower(*p) == 'f')
			sc->bits |= SQLI_SCAN_ODD;
	if (((sc->bits & SC_AMP) && has_pair(s, sc->len, '&', '&')) ||
	    ((sc->bits & SC_BAR) && has_pair(s, sc->len, '|', '|')))
		sc->lead = 1;
}

/* Up to this length a value's logic words are looked for; a longer one's
 * start is read exactly instead (see lead). */
#define SHORT_VALUE 256

/* A value of letters, digits and spaces alone (sum 0) in which the
 * caller's keys mark no place: the marked scan finds nothing in it. */
static int plain_unkeyed(size_t len, uint64_t sum, const struct waf_sqli_keys *keys)
{
	if (sum != 0 || keys == NULL || keys->words == NULL)
		return 0;
	for (size_t w = 0; w < (len + 63) / 64; w++)
		if (keys_word(keys, w) & keep(len - 64 * w))
			return 0;
	return 1;
}

void sqli_scan(const char *str, size_t len, uint64_t sum, const struct waf_sqli_keys *keys,
               struct sqli_scan *out)
{
	struct scan sc;
	unsigned char tail[64];
	size_t off;

	/* what the marked scan of a long value then says, without its setup
	 * (letters are taken to be there; the start is read exactly) */
	if (len > SHORT_VALUE && plain_unkeyed(len, sum, keys)) {
		out->bytes = SQLI_SCAN_READ;
		out->full = out->select = 0;
		out->lead = 1;
		return;
	}
	memset(&sc, 0, sizeof(sc));
	sc.s = (const unsigned char *)str;
	sc.len = len;
	/* in a long value the start is read exactly instead (see lead) */
	sc.logic_words = len <= SHORT_VALUE;
	sc.lead = !sc.logic_words;
	if (sc.logic_words || !scan_marked(&sc, sum, keys)) {
		for (off = 0; off + 64 <= len; off += 64)
			scan_chunk(&sc, sc.s + off, off, 64);
		if (off < len) {
			memset(tail, 0, (len - off + 15) & ~(size_t)15);
			memcpy(tail, sc.s + off, len - off);
			scan_chunk(&sc, tail, off, len - off);
		}
	}
	pairs(&sc);
	out->bytes = sc.bits & (SQLI_SCAN_READ | SQLI_SCAN_PAREN | SQLI_SCAN_SLASH |
	                        SQLI_SCAN_SEMI | SQLI_SCAN_ODD | SC_SQ | SC_DQ | SC_BQ);
	out->full = sc.full || (sc.bits & SQLI_SCAN_ODD) ||
	            (SEEN(&sc, T_SELECT) && may_comment(sc.s, len, sc.bits));
	out->select = !out->full && SEEN(&sc, T_SELECT) && select_opens(sc.s, len, sc.bits);
	out->lead =
	    sc.lead || SEEN(&sc, T_LEAD) || (SEEN(&sc, T_SELECT) && (sc.bits & SQLI_SCAN_PAREN));
}
