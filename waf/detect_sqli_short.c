/* The SQL detector's short way (the detect_sqli operator's entry points;
 * the full read and its rules are in waf/detect_sqli.c).
 *
 * Most values are ordinary text, settled without reading every token.
 * sqli_scan proves in one pass over the bytes that no "anywhere" rule
 * keyed by a word can fire (it says so in sc.full when it cannot). What is
 * left are the rules at the value's start (after_lead and "(5 like 5)"),
 * after each quote's break, after each '/' (bare context) and after each
 * ';': each is evaluated exactly, on the few tokens it looks at, after a
 * cheap look at the bytes that rules most of them out. The answer is
 * always the full read's; tests/fuzz/fuzz_waf_detect.c checks that. */
#include "waf/detect.h"

#include <stddef.h>
#include <string.h>

#include "waf/sqli_window.h"

/* Past the bytes the lexer skips before a token (spaces, NBSP, control
 * characters, braces; not comments). */
static size_t skip_spaces(const char *s, size_t len, size_t pos)
{
	while (pos < len) {
		unsigned char c = (unsigned char)s[pos];

		if (c != ' ' && c != '{' && c != '}' && c >= 0x20 && c != 0x7f && c != 0xa0)
			break;
		pos++;
	}
	return pos;
}

static int word_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
	       c >= 0x80;
}

/* A comment starts at s[at] ("--", "/ *", "#"). */
static int comment_at(const char *s, size_t len, size_t at)
{
	return s[at] == '#' || (at + 1 < len && ((s[at] == '-' && s[at + 1] == '-') ||
	                                         (s[at] == '/' && s[at + 1] == '*')));
}

/* Whether the token after the ';' that ends at pos can start a statement:
 * select, set, a statement verb, or a call. */
static int may_start_statement(const char *s, size_t len, size_t pos)
{
	size_t at = skip_spaces(s, len, pos), end;
	int sub, c;

	if (at >= len || !word_start((unsigned char)s[at]))
		return 0; /* a number, a string, a parenthesis... */
	c = sqli_word_at(s, len, at, &sub, &end);
	if (c == SQLI_SELECT || c == SQLI_STMT || (c == SQLI_WORD && sub == SQLI_W_SET))
		return 1;
	if (c != SQLI_WORD)
		return 0;
	end = skip_spaces(s, len, end);
	return end < len && (s[end] == '(' || comment_at(s, len, end));
}

/* sqli_anywhere() on a ';' (every context) and on a '/' (bare context only):
 * the rule reads the tokens after it, which the lexer reads the same way
 * whatever came before (no executable comment: sqli_scan checked). Where
 * the byte sits inside a string or a comment the rule is evaluated all
 * the same: that may send a clean value to the full read, never the other
 * way. So do a comment right after the byte, and rereading more than a
 * few times the value's length (spaces and comments the rules of many
 * bytes look across): both keep the time linear. */
static int punct_rules(const char *s, size_t len, int ch, int paren)
{
	const char *p = s, *end = s + len;
	size_t at, budget = 4 * len + 256;
	struct win w;
	int c;

	while ((p = memchr(p, ch, (size_t)(end - p))) != NULL) {
		at = skip_spaces(s, len, (size_t)(++p - s));
		if (at >= len)
			return 0;
		if (comment_at(s, len, at))
			return 1;
		c = (unsigned char)s[at];
		if (ch == ';') {
			if (!may_start_statement(s, len, (size_t)(p - s)))
				continue;
			win_init_after(&w, s, len, (size_t)(p - s), SQLI_SEMI, 0, paren);
			c = sqli_statement(&w, 1);
		} else {
			/* a path segment: a number or a name, then what follows it */
			if (!word_start((unsigned char)c) && !(c >= '0' && c <= '9') && c != '.' &&
			    c != '`')
				continue;
			win_init_after(&w, s, len, (size_t)(p - s), SQLI_OP, SQLI_O_SLASH, paren);
			c = cls(&w, 1);
			c = (c == SQLI_NUM || c == SQLI_WORD) &&
			    sqli_after_lead(&w, 2, 0, c == SQLI_NUM);
		}
		if (c || w.lx.pos - (size_t)(p - s) > budget)
			return 1;
		budget -= w.lx.pos - (size_t)(p - s);
	}
	return 0;
}

/* The select at at (past spaces), as the lexer reads it. */
static int select_at(const char *s, size_t len, size_t at)
{
	size_t end;
	int sub;

	return at < len && word_start((unsigned char)s[at]) &&
	       sqli_word_at(s, len, at, &sub, &end) == SQLI_SELECT;
}

/* sqli_anywhere() on a select that opens the value (bare context) or follows
 * a '(' (any context), for a value sqli_scan found no comment in (none
 * hides a '(' or moves a select). A '(' inside a string is looked at all
 * the same: like punct_rules, a filter whose yes sends the value to the
 * full read, with the same budget. */
static int select_rules(const char *s, size_t len, int paren)
{
	const char *p = s, *end = s + len;
	size_t at = skip_spaces(s, len, 0), budget = 4 * len + 256;
	struct win w;

	if (select_at(s, len, at)) {
		win_init(&w, s, len, 0, paren);
		if (cls(&w, 0) == SQLI_SELECT && sqli_anywhere(&w, 0, 0))
			return 1;
	}
	while ((p = memchr(p, '(', (size_t)(end - p))) != NULL) {
		at = (size_t)(++p - s);
		if (!select_at(s, len, skip_spaces(s, len, at)))
			continue;
		win_init_after(&w, s, len, at, SQLI_LPAREN, 0, paren);
		w.base = 1;
		if ((cls(&w, 1) == SQLI_SELECT && sqli_anywhere(&w, 1, 0)) ||
		    w.lx.pos - at > budget)
			return 1;
		budget -= w.lx.pos - at;
	}
	return 0;
}

/* What the token at at is to after_lead. */
enum lead_kind {
	LEAD_INERT,   /* the end, ',' ';' '(' a statement verb, a clause...: no rule */
	LEAD_OPERAND, /* a word or a number (*end: after it), a string, a variable */
	LEAD_ACTIVE,  /* logic, an operator, ')', as, having, where, order, group,
	               * a comment, or a byte not looked into */
	LEAD_KIND_MAX
};

/* The lengths of the words lead_token calls active, by first letter (bit
 * n: a word of n letters): and, or, xor, as, having, where, order, group,
 * between, div, glob, in, is, ilike, like, mod, not, rlike, regexp,
 * sounds. test_detect_long checks them against the keyword tables. */
#define LN(n) (1u << (n))
static const unsigned short active_lengths[26] = {
    ['a' - 'a'] = LN(2) | LN(3), ['b' - 'a'] = LN(7), ['d' - 'a'] = LN(3),
    ['g' - 'a'] = LN(4) | LN(5), ['h' - 'a'] = LN(6), ['i' - 'a'] = LN(2) | LN(5),
    ['l' - 'a'] = LN(4),         ['m' - 'a'] = LN(3), ['n' - 'a'] = LN(3),
    ['o' - 'a'] = LN(2) | LN(5), ['r' - 'a'] = LN(5) | LN(6), ['s' - 'a'] = LN(6),
    ['w' - 'a'] = LN(5),         ['x' - 'a'] = LN(3),
};
#undef LN

/* An ASCII word of letters at at that ends at a space or the value's end
 * and cannot be an active word: an operand, told without classifying it
 * (a keyword such as select counts as one too: lead_quiet then only
 * looks further). Returns its end, or at when unsure. */
static size_t plain_operand(const char *s, size_t len, size_t at)
{
	size_t e = at;

	while (e < len && (sqli_ctype[(unsigned char)s[e]] & CT_ALPHA))
		e++;
	if (e == at || (e < len && s[e] != ' '))
		return at;
	if (e - at < 16 &&
	    (active_lengths[sqli_lower_b((unsigned char)s[at]) - 'a'] >> (e - at)) & 1u)
		return at;
	return e;
}

/* *end: after a word or a number; at for a string or a variable. */
static int lead_token(const char *s, size_t len, size_t at, size_t *end)
{
	int c, sub;

	*end = at;
	if (at >= len)
		return LEAD_INERT;
	if ((*end = plain_operand(s, len, at)) != at)
		return LEAD_OPERAND;
	c = (unsigned char)s[at];
	if ((c >= '0' && c <= '9') ||
	    (c == '.' && at + 1 < len && s[at + 1] >= '0' && s[at + 1] <= '9')) {
		*end = sqli_number_end(s, len, at);
		return LEAD_OPERAND;
	}
	if (word_start((unsigned char)c)) {
		c = sqli_word_at(s, len, at, &sub, end);
		if (c == SQLI_WORD || c == SQLI_NUM)
			return LEAD_OPERAND;
		if (c == SQLI_LOGIC || c == SQLI_OP ||
		    (c == SQLI_KW &&
		     (sub == SQLI_K_AS || sub == SQLI_K_HAVING || sub == SQLI_K_WHERE ||
		      sub == SQLI_K_ORDER || sub == SQLI_K_GROUP)))
			return LEAD_ACTIVE;
		return LEAD_INERT; /* a statement verb, select, union, another clause */
	}
	if (c == '\'' || c == '"' || c == '`' || c == '@')
		return LEAD_OPERAND;
	if (comment_at(s, len, at))
		return LEAD_ACTIVE;
	return c == '(' || c == ',' || c == ';' || c == '.' ? LEAD_INERT : LEAD_ACTIVE;
}

/* An operator at at that after_lead's bare context passes by: without a
 * '(' in the value no subquery and no call can follow it, and no MATCH
 * clause ("+ boolean mode") does. Not '|' '&' (logic) nor a comment. */
static int op_passes(const char *s, size_t len, size_t at, int paren)
{
	size_t end;
	int sub;

	if (paren || s[at] == '|' || s[at] == '&')
		return 0;
	while (at < len && strchr("=<>!~:*-+/%^", s[at]) != NULL && s[at] != '\0') {
		if (comment_at(s, len, at))
			return 0;
		at++;
	}
	at = skip_spaces(s, len, at);
	if (at < len && comment_at(s, len, at))
		return 0;
	return !(at < len && word_start((unsigned char)s[at]) &&
	         sqli_word_at(s, len, at, &sub, &end) == SQLI_WORD && sub == SQLI_W_FULLTEXT);
}

/* after_lead at the bare context's start cannot fire (nor "(5 like 5)"):
 * a cheap look at the first two tokens. Unsure is no. */
static int lead_quiet(const char *s, size_t len, int paren)
{
	size_t at = skip_spaces(s, len, 0), end;

	switch (lead_token(s, len, at, &end)) {
	case LEAD_INERT:
		return at >= len || s[at] != '('; /* ( opens "(5 like 5)*7" */
	case LEAD_OPERAND:
		if (end == at)
			return 0; /* a string or a variable first: not looked into */
		/* then the next token decides: none, another operand, or one
		 * no rule acts on (a call's '(' too) */
		at = skip_spaces(s, len, end);
		if (lead_token(s, len, at, &end) != LEAD_ACTIVE)
			return 1;
		return s[at] != '\0' && strchr("=<>!~:*-+/%^", s[at]) != NULL &&
		       op_passes(s, len, at, paren);
	default:
		return 0;
	}
}

/* The rules at the start of each context. Without sc->lead the bare
 * context's after_lead cannot fire; only "(5 like 5)*7" is left, and it
 * needs a '(' first. */
static int detect_leads(const char *s, size_t len, const struct sqli_scan *sc)
{
	static const char quotes[3] = {'\'', '"', '`'};
	int paren = (sc->bytes & SQLI_SCAN_PAREN) != 0;
	size_t at = skip_spaces(s, len, 0);
	struct win w;
	int i;

	if (sc->lead ? !lead_quiet(s, len, paren)
	             : at < len && (s[at] == '(' || comment_at(s, len, at))) {
		win_init(&w, s, len, 0, paren);
		if (sqli_ctx_lead(&w, 0) > 0)
			return 1;
	}
	for (i = 0; i < 3; i++) {
		if (!(sc->bytes & (SQLI_SCAN_QUOTE << i)))
			continue;
		win_init(&w, s, len, quotes[i], paren);
		if (sqli_ctx_lead(&w, quotes[i]) > 0)
			return 1;
	}
	return 0;
}

int waf_detect_sqli_keyed(const char *s, size_t len, uint64_t sum,
                          const struct waf_sqli_keys *keys)
{
	struct sqli_scan sc;
	int paren;

	if (s == NULL || len == 0)
		return 0;
	/* one run of ASCII letters and digits (the summary shows no other
	 * byte but spaces, and there is none): the lexer reads at most a
	 * number and a word, which no rule fires on (test_detect_long checks
	 * every keyword behind every kind of number, the fuzzer the rest) */
	if (sum == 0 && memchr(s, ' ', len) == NULL)
		return 0;
	sqli_scan(s, len, sum, keys, &sc);
	/* without letters, quotes or ';' there is nothing to say to a
	 * database beyond arithmetic */
	if (!(sc.bytes & SQLI_SCAN_READ))
		return 0;
	paren = (sc.bytes & SQLI_SCAN_PAREN) != 0;
	/* the '/' rule is after_lead's: it needs sc.lead */
	if (sc.full || (sc.select && select_rules(s, len, paren)) ||
	    (sc.lead && (sc.bytes & SQLI_SCAN_SLASH) && punct_rules(s, len, '/', paren)) ||
	    ((sc.bytes & SQLI_SCAN_SEMI) && punct_rules(s, len, ';', paren)))
		return sqli_detect_full(s, len, paren);
	return detect_leads(s, len, &sc);
}

int waf_detect_sqli_summed(const char *s, size_t len, uint64_t sum)
{
	return waf_detect_sqli_keyed(s, len, sum, NULL);
}

int waf_detect_sqli(const char *s, size_t len)
{
	return waf_detect_sqli_summed(s, len, SQLI_NO_SUM);
}
