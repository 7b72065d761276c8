/* The SQL detector's token window and the rules its short way calls
 * (waf/detect_sqli.c: the full read and the rules; waf/detect_sqli_short.c:
 * the short way for ordinary values). Internal to the two. */
#ifndef POSTERN_WAF_SQLI_WINDOW_H
#define POSTERN_WAF_SQLI_WINDOW_H

#include <stddef.h>

#include "waf/sqli_lexer.h"

#define WIN       64 /* tokens kept: a rule looks at most LOOKAHEAD ahead */
#define LOOKAHEAD 56
#define LOOKBACK  4
#define EXPR_MAX  40 /* tokens an expression scan reads at most */

struct win {
	struct sqli_lexer lx;
	struct sqli_tok buf[WIN];
	size_t filled; /* tokens lexed so far */
	size_t base;   /* the token rules are looking at */
	int eof;
	int paren; /* the value may hold '(': without, no call and no subquery */
};

/* ---- the token window */

static inline void win_init(struct win *w, const char *s, size_t len, int quote, int paren)
{
	sqli_lexer_init(&w->lx, s, len, quote);
	w->filled = 0;
	w->base = 0;
	w->eof = 0;
	w->paren = paren;
}

/* A window whose token 0 is the one-character token (cls, sub) that ends
 * at pos, as the full read would have lexed it there. */
static inline void win_init_after(struct win *w, const char *s, size_t len, size_t pos, int cls_,
                                  int sub, int paren)
{
	sqli_lexer_init_at(&w->lx, s, len, pos);
	w->buf[0].cls = (unsigned char)cls_;
	w->buf[0].sub = (unsigned char)sub;
	w->buf[0].flags = 0;
	w->filled = 1;
	w->base = 0;
	w->eof = 0;
	w->paren = paren;
}

/* Token k (absolute index). k must be within [base - LOOKBACK,
 * base + LOOKAHEAD]; outside, an EOF token is returned. */
static inline const struct sqli_tok *tk(struct win *w, size_t k)
{
	static const struct sqli_tok eof = {SQLI_EOF, 0, 0};

	if (k + LOOKBACK < w->base || k > w->base + LOOKAHEAD)
		return &eof;
	while (w->filled <= k) {
		struct sqli_tok *t = &w->buf[w->filled % WIN];

		if (w->eof)
			*t = eof;
		else
			sqli_lexer_next(&w->lx, t);
		if (t->cls == SQLI_EOF)
			w->eof = 1;
		w->filled++;
	}
	return &w->buf[k % WIN];
}

static inline int cls(struct win *w, size_t k)
{
	return tk(w, k)->cls;
}

static inline int is_kw(struct win *w, size_t k, int sub)
{
	const struct sqli_tok *t = tk(w, k);

	return t->cls == SQLI_KW && t->sub == sub;
}

/* ---- the rules (waf/detect_sqli.c) */

/* After the lead (a number or a word in the bare context, the break in a
 * quoted one) at token k: 1 for an injection. */
int sqli_after_lead(struct win *w, size_t k, int quote, int lead_num);
/* The rules that hold anywhere in the value, at token k. */
int sqli_anywhere(struct win *w, size_t k, int quote);
/* A statement starts at token k (after ';', or after the break). */
int sqli_statement(struct win *w, size_t k);
/* The rules at the value's start (bare) or right after the break (quoted):
 * 1 for an injection, 0 to read on, -1 when nothing in this context can be
 * code. */
int sqli_ctx_lead(struct win *w, int quote);
/* Every context, every token: the detector's answer, read in full. */
int sqli_detect_full(const char *s, size_t len, int paren);

#endif
