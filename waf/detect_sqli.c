/* SQL injection detector (the detect_sqli operator).
 *
 * A value is read the way an SQL lexer would read it once pasted into a
 * query (waf/sqli_lexer.c), in each of the places it may land: as is (a
 * number or a column name), inside '...', inside "..." and inside `...`
 * (MySQL identifiers). In the quoted contexts the value's first matching
 * quote ends the application's string ("the break"), and what follows is
 * code. The tokens are classified (string, number, word, keyword,
 * operator, logic, function call, comment...) and a few structural rules
 * decide whether the code is injection-shaped:
 *
 * - after the break (or after a leading number in the bare context): a
 *   logic operator and a well-formed expression that compares, calls a
 *   function or is a lone literal (' or 1=1, ' or 'a'='a, 1 and sleep(5));
 *   an operator continuing the string ('='); a truncating comment
 *   (admin'--); a clause (' order by 3--, ' having 1=1); a statement;
 * - anywhere: union select with a select list, a statement after ';'
 *   (; drop table), a subquery "(select ...", time and file functions
 *   called with arguments (sleep(5), benchmark(..), load_file(..)),
 *   into outfile, from information_schema, waitfor delay, xp_cmdshell,
 *   MySQL executable comments around keywords.
 *
 * "Well-formed" is what keeps prose out: SQL never puts two operands side
 * by side ("I'd like to" is string, word, operator, word, word), so an
 * expression that does is text, not code.
 *
 * Linear time: each context lexes the value once into a sliding window of
 * tokens; every rule looks at a bounded number of tokens ahead. No
 * allocation; the stack holds the window (64 small tokens).
 *
 * The short way: most values are ordinary text, settled without reading
 * every token. sqli_scan proves in one pass over the bytes that no
 * "anywhere" rule keyed by a word can fire (it says so in sc.full when it
 * cannot). What is left are the rules at the value's start (after_lead and
 * "(5 like 5)"), after each quote's break, after each '/' (bare context)
 * and after each ';': each is evaluated exactly, on the few tokens it
 * looks at, after a cheap look at the bytes that rules most of them out.
 * The answer is always the full read's; tests/fuzz/fuzz_waf_detect.c
 * checks that. */
#include "waf/detect.h"

#include <stddef.h>
#include <string.h>

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

static void win_init(struct win *w, const char *s, size_t len, int quote, int paren)
{
	sqli_lexer_init(&w->lx, s, len, quote);
	w->filled = 0;
	w->base = 0;
	w->eof = 0;
	w->paren = paren;
}

/* A window whose token 0 is the one-character token (cls, sub) that ends
 * at pos, as the full read would have lexed it there. */
static void win_init_after(struct win *w, const char *s, size_t len, size_t pos, int cls_, int sub,
                           int paren)
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
static const struct sqli_tok *tk(struct win *w, size_t k)
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

static int cls(struct win *w, size_t k)
{
	return tk(w, k)->cls;
}

static int is_kw(struct win *w, size_t k, int sub)
{
	const struct sqli_tok *t = tk(w, k);

	return t->cls == SQLI_KW && t->sub == sub;
}

/* ---- expressions */

struct expr {
	int ok;  /* well formed up to a terminator (or EXPR_MAX) */
	int cmp; /* comparisons */
	int arith;
	int calls;    /* function calls */
	int attack;   /* calls of time and file functions */
	int subq;     /* subqueries */
	int literals; /* numbers, strings, variables, true/false/null */
	int strs;     /* strings among them */
	int spaced;   /* strings with a space inside (text) */
	int truthy;   /* strings a database reads as true */
	int nums;     /* numbers and true/false */
	int logic;    /* and, or */
	int term;     /* class of the token that ended it */
	int words;    /* plain identifiers */
	int operands;
	int strong; /* ended by a truncating comment */
	size_t end; /* the token after it */
};

static int kw_is_value(int sub)
{
	return sub == SQLI_K_NULL || sub == SQLI_K_TRUE || sub == SQLI_K_FALSE || sub == SQLI_K_END;
}

static int kw_is_prefix(int sub)
{
	return sub == SQLI_K_CASE || sub == SQLI_K_WHEN || sub == SQLI_K_THEN ||
	       sub == SQLI_K_ELSE || sub == SQLI_K_EXISTS || sub == SQLI_K_INTERVAL ||
	       sub == SQLI_K_DISTINCT || sub == SQLI_K_ALL;
}

/* Read an expression from token k. want: 1 when an operand comes first,
 * 0 when k is an operator continuing an operand before it. close: stop
 * after the parenthesis that closes the first one (function arguments). */
static void expr_scan(struct win *w, size_t k, int want, int close, struct expr *e)
{
	size_t start = k;
	int depth = 0, prev = SQLI_EOF, prev_not = 0, after_is = 0;

	memset(e, 0, sizeof(*e));
	e->ok = 1;
	for (; k < start + EXPR_MAX; k++) {
		const struct sqli_tok *t = tk(w, k);
		int c = t->cls, term = 0;

		switch (c) {
		case SQLI_EOF:
		case SQLI_SEMI:
		case SQLI_UNION:
		case SQLI_STMT:
			term = 1;
			break;
		case SQLI_COMMENT:
			e->strong = (t->flags & SQLI_F_STRONG) != 0;
			term = 1;
			break;
		case SQLI_SELECT:
			if (depth == 0) {
				term = 1;
				break;
			}
			e->subq++;
			want = 1;
			break;
		case SQLI_KW:
			if (kw_is_value(t->sub)) {
				if (!want && t->sub != SQLI_K_END)
					goto bad;
				after_is = 0;
				e->literals += t->sub != SQLI_K_END;
				e->nums += t->sub == SQLI_K_TRUE || t->sub == SQLI_K_FALSE;
				e->operands++;
				want = 0;
			} else if (kw_is_prefix(t->sub) || depth > 0) {
				want = 1; /* case when ... / inside a subquery */
			} else {
				term = 1; /* a clause: order by, limit, from, into ... */
			}
			break;
		case SQLI_STR:
		case SQLI_NUM:
		case SQLI_VAR:
		case SQLI_WORD:
			if (after_is)
				goto bad; /* "time_t is 64-bit": is takes null/true/false */
			if (!want) {
				/* "(select ...)alias" is the only juxtaposition */
				if (!(c == SQLI_WORD && prev == SQLI_RPAREN))
					goto bad;
				break;
			}
			if (c == SQLI_WORD)
				e->words++;
			else
				e->literals++;
			e->strs += c == SQLI_STR;
			e->nums += c == SQLI_NUM;
			e->spaced += c == SQLI_STR && (t->flags & SQLI_F_SPACE);
			e->truthy += c == SQLI_STR && (t->flags & SQLI_F_TRUTHY);
			e->operands++;
			want = 0;
			break;
		case SQLI_FUNC:
			if (!want)
				goto bad;
			e->calls++;
			if (t->sub == SQLI_W_TIME || t->sub == SQLI_W_FILE)
				e->attack++;
			e->operands++;
			want = 1; /* its '(' follows */
			break;
		case SQLI_LPAREN:
			if (!want)
				goto bad;
			if (depth < 1000)
				depth++;
			break;
		case SQLI_RPAREN:
			if (want && prev != SQLI_LPAREN && prev != SQLI_FUNC)
				goto bad;
			if (depth == 0) {
				term = 1; /* closes what the value is inside of */
				break;
			}
			want = 0;
			depth--;
			if (close && depth == 0) {
				e->end = k + 1;
				return;
			}
			break;
		case SQLI_COMMA:
			if (depth == 0) {
				term = 1;
				break;
			}
			if (want)
				goto bad;
			want = 1;
			break;
		case SQLI_OP:
			if (want) {
				if (t->sub != SQLI_O_MINUS && t->sub != SQLI_O_NOT && !prev_not)
					goto bad;
			} else if (t->sub == SQLI_O_NOT) {
				/* "x not like y", "x not in (...)" */
			} else if (t->sub == SQLI_O_CMP || t->sub == SQLI_O_IS) {
				after_is = t->sub == SQLI_O_IS;
				e->cmp++;
			} else {
				e->arith++;
			}
			if (want || t->sub != SQLI_O_NOT)
				want = 1; /* "x not like": not waits for its operator */
			break;
		case SQLI_LOGIC:
			if (want)
				goto bad;
			e->logic++;
			want = 1;
			break;
		default:
			goto bad;
		}
		if (term) {
			e->end = k;
			e->term = c;
			if (want)
				goto bad;
			return;
		}
		prev_not = c == SQLI_OP && t->sub == SQLI_O_NOT;
		prev = c;
	}
	e->end = k;
	return;
bad:
	e->ok = 0;
	e->end = k;
}

/* ---- rules */

static int interesting(const struct expr *e, int quote);

/* A WHERE condition at k that compares literals: 1=1, 5 like 5. */
static int where_clause(struct win *w, size_t k)
{
	struct expr e;

	expr_scan(w, k, 1, 0, &e);
	return interesting(&e, 0);
}

/* After SELECT at k: a select list, not prose ("select a plan"). */
static int select_list(struct win *w, size_t k)
{
	const struct sqli_tok *t = tk(w, k);
	int c1;

	switch (t->cls) {
	case SQLI_VAR:
	case SQLI_FUNC:
	case SQLI_LPAREN:
		return 1;
	case SQLI_OP:
		/* select *, select like(...), select not(...) */
		return t->sub == SQLI_O_STAR || cls(w, k + 1) == SQLI_LPAREN;
	case SQLI_KW:
		return t->sub == SQLI_K_NULL || t->sub == SQLI_K_DISTINCT;
	case SQLI_NUM:
	case SQLI_STR:
		c1 = cls(w, k + 1);
		if (is_kw(w, k + 1, SQLI_K_WHERE))
			return where_clause(w, k + 2);
		if (c1 == SQLI_EOF) /* "select 1"; not "select 'a" (quoted text) */
			return t->cls == SQLI_NUM;
		return c1 == SQLI_COMMA || c1 == SQLI_UNION || c1 == SQLI_SEMI ||
		       c1 == SQLI_COMMENT || c1 == SQLI_RPAREN || c1 == SQLI_OP ||
		       c1 == SQLI_LOGIC || is_kw(w, k + 1, SQLI_K_FROM) ||
		       is_kw(w, k + 1, SQLI_K_INTO);
	case SQLI_WORD:
		c1 = cls(w, k + 1);
		if (c1 == SQLI_COMMA) /* select name, pass ... from */
			return 1;
		if (is_kw(w, k + 1, SQLI_K_WHERE)) /* (select x where 1=1 and ...) */
			return where_clause(w, k + 2);
		if (is_kw(w, k + 1, SQLI_K_FROM)) {
			int c3 = cls(w, k + 3);

			/* "select name from users" alone stays text; with a
			 * condition, a comment or a statement end it is SQL */
			if (cls(w, k + 2) != SQLI_WORD)
				return cls(w, k + 2) == SQLI_LPAREN;
			return c3 == SQLI_COMMENT || c3 == SQLI_SEMI || c3 == SQLI_RPAREN ||
			       c3 == SQLI_UNION || is_kw(w, k + 3, SQLI_K_WHERE) ||
			       is_kw(w, k + 3, SQLI_K_LIMIT) || is_kw(w, k + 3, SQLI_K_ORDER) ||
			       is_kw(w, k + 3, SQLI_K_GROUP) || is_kw(w, k + 3, SQLI_K_HAVING) ||
			       is_kw(w, k + 3, SQLI_K_JOIN) || tk(w, k + 2)->sub == SQLI_W_SCHEMA;
		}
		return 0;
	default:
		return 0;
	}
}

/* A statement starts at k (after ';', or after the break). */
static int statement(struct win *w, size_t k)
{
	const struct sqli_tok *t = tk(w, k), *t1 = tk(w, k + 1);

	switch (t->cls) {
	case SQLI_SELECT:
		return select_list(w, k + 1);
	case SQLI_WORD:
		/* ;set @x = ... */
		return t->sub == SQLI_W_SET && t1->cls == SQLI_VAR;
	case SQLI_FUNC: {
		/* ;exec('sel'+'ect ...'), ;if(1=1,1,1/0) */
		struct expr e;

		if (t->sub == SQLI_S_EXEC)
			return 1;
		expr_scan(w, k, 1, 1, &e);
		return e.ok && e.cmp && e.literals;
	}
	case SQLI_STMT:
		break;
	default:
		return 0;
	}
	switch (t->sub) {
	case SQLI_S_INSERT:
		return is_kw(w, k + 1, SQLI_K_INTO);
	case SQLI_S_DELETE:
		return is_kw(w, k + 1, SQLI_K_FROM);
	case SQLI_S_UPDATE:
		return t1->cls == SQLI_WORD && tk(w, k + 2)->cls == SQLI_WORD &&
		       tk(w, k + 2)->sub == SQLI_W_SET;
	case SQLI_S_DROP:
	case SQLI_S_CREATE:
	case SQLI_S_ALTER:
	case SQLI_S_TRUNCATE:
	case SQLI_S_RENAME:
		return t1->cls == SQLI_WORD && (t1->sub == SQLI_W_OBJ || t->sub == SQLI_S_TRUNCATE);
	case SQLI_S_EXEC:
		return (t1->cls == SQLI_WORD &&
		        (t1->sub == SQLI_W_CMD || t1->sub == SQLI_W_PROC)) ||
		       t1->cls == SQLI_VAR;
	case SQLI_S_DECLARE:
		return t1->cls == SQLI_VAR;
	case SQLI_S_SHUTDOWN:
		return t1->cls == SQLI_EOF || t1->cls == SQLI_COMMENT || t1->cls == SQLI_SEMI;
	case SQLI_S_WAITFOR:
		return t1->cls == SQLI_WORD && t1->sub == SQLI_W_DELAY;
	case SQLI_S_GRANT:
		/* grant all [privileges] on ..., grant select on ... */
		if (!(is_kw(w, k + 1, SQLI_K_ALL) || t1->cls == SQLI_SELECT ||
		      t1->cls == SQLI_STMT))
			return 0;
		return is_kw(w, k + 2, SQLI_K_ON) || is_kw(w, k + 3, SQLI_K_ON);
	case SQLI_S_CALL:
		return t1->cls == SQLI_FUNC;
	case SQLI_S_COPY:
		/* PostgreSQL: copy t from/to ..., copy (select ...) to program '...' */
		return (t1->cls == SQLI_WORD &&
		        (is_kw(w, k + 2, SQLI_K_FROM) ||
		         (tk(w, k + 2)->cls == SQLI_WORD && tk(w, k + 2)->sub == SQLI_W_TO))) ||
		       (t1->cls == SQLI_LPAREN && cls(w, k + 2) == SQLI_SELECT);
	default:
		return 0;
	}
}

/* An expression after a logic operator that makes a tautology or a
 * probe. quote: the context has a break. */
static int interesting(const struct expr *e, int quote)
{
	if (!e->ok)
		return 0;
	if (e->subq || e->attack)
		return 1;
	if (e->calls && quote)
		return 1; /* bare: "Tom and Jerry(1940)" is a title */
	if (e->cmp)
		return e->literals > 0 || e->strong;
	if (e->arith && e->strs && !e->spaced && quote)
		return 1; /* ' or ''-' : MySQL compares the user name with 0 */
	if (e->operands == 1 && e->literals == 1) {
		/* ' or 1--, ' or '1, ' or true#: a lone value that is true, and
		 * where the application's own text would follow */
		if (e->term != SQLI_EOF && e->term != SQLI_COMMENT && e->term != SQLI_SEMI)
			return 0;
		if (e->nums)
			return quote || e->strong;
		return quote && e->truthy;
	}
	return 0;
}

/* ORDER BY / GROUP BY with a list of numbers or names at k. */
static int order_by(struct win *w, size_t k, int quote)
{
	size_t i;
	struct expr e;

	if (!(is_kw(w, k, SQLI_K_ORDER) || is_kw(w, k, SQLI_K_GROUP)) ||
	    !is_kw(w, k + 1, SQLI_K_BY))
		return 0;
	for (i = k + 2; i < k + 2 + 2 * 16; i += 2) {
		int c = cls(w, i), c1;

		if (c != SQLI_NUM && !(quote && c == SQLI_WORD))
			return 0;
		c1 = cls(w, i + 1);
		if (c1 == SQLI_COMMA)
			continue;
		if (c1 == SQLI_COMMENT)
			return (tk(w, i + 1)->flags & SQLI_F_STRONG) != 0;
		if (c1 == SQLI_EOF || c1 == SQLI_SEMI)
			return !quote && c == SQLI_NUM;
		if (is_kw(w, i + 1, SQLI_K_HAVING)) {
			expr_scan(w, i + 2, 1, 0, &e);
			return interesting(&e, quote);
		}
		return 0;
	}
	return 0;
}

/* What follows the break (quote) or the leading operand (bare), from k. */
static int after_lead(struct win *w, size_t k, int quote, int lead_num)
{
	const struct sqli_tok *t;
	struct expr e;

	while (cls(w, k) == SQLI_RPAREN)
		k++;
	/* MATCH (...) AGAINST ('x' IN BOOLEAN MODE): the value's own clause */
	if (cls(w, k) == SQLI_OP && cls(w, k + 1) == SQLI_WORD &&
	    tk(w, k + 1)->sub == SQLI_W_FULLTEXT && cls(w, k + 2) == SQLI_WORD &&
	    tk(w, k + 2)->sub == SQLI_W_FULLTEXT) {
		k += 3;
		while (cls(w, k) == SQLI_RPAREN)
			k++;
	}
	/* (... 'x') AS alias: the value closed a derived table */
	if (is_kw(w, k, SQLI_K_AS) && cls(w, k + 1) == SQLI_WORD)
		k += 2;
	t = tk(w, k);
	switch (t->cls) {
	case SQLI_LOGIC:
		expr_scan(w, k + 1, 1, 0, &e);
		return interesting(&e, quote);
	case SQLI_OP:
		/* bare, only a subquery or a time/file call counts: both need '(' */
		if (t->sub == SQLI_O_NOT || (!quote && !w->paren))
			return 0;
		expr_scan(w, k, 0, 0, &e);
		if (!e.ok)
			return 0;
		if (e.subq || e.attack)
			return 1;
		/* '=' '-' '*' ... and 'a'||sleep(5)||' ; not "the '=' key" */
		if (!quote)
			return 0;
		if (e.calls)
			return 1;
		if (e.spaced || (tk(w, 0)->flags & SQLI_F_SPACE))
			return 0;
		return e.cmp || (e.arith && (e.strong || e.strs));
	case SQLI_COMMENT:
		/* admin'-- ; not 'comment character ("#")' */
		return quote && (t->flags & SQLI_F_STRONG) && !(tk(w, 0)->flags & SQLI_F_SPACE);
	case SQLI_COMMA:
		/* ',if(1=1,1,1/0)-- : a value inside an argument list */
		if (!quote)
			return 0;
		expr_scan(w, k + 1, 1, 0, &e);
		return e.ok && (e.subq || e.attack || (e.calls && e.cmp));
	case SQLI_SEMI:
		return quote && (cls(w, k + 1) == SQLI_EOF || cls(w, k + 1) == SQLI_COMMENT);
	case SQLI_KW:
		if (t->sub == SQLI_K_HAVING || t->sub == SQLI_K_WHERE) {
			expr_scan(w, k + 1, 1, 0, &e);
			return interesting(&e, quote);
		}
		/* after a number: "1 order by 3"; else a truncating comment
		 * must follow ("alice order by 1-- x") */
		return order_by(w, k, quote || !lead_num);
	case SQLI_STMT:
	case SQLI_SELECT:
		return quote && statement(w, k);
	default:
		return 0;
	}
}

/* Rules that hold anywhere in the value, at token k. */
static int anywhere(struct win *w, size_t k, int quote)
{
	const struct sqli_tok *t = tk(w, k);
	struct expr e;
	size_t i;

	if (t->flags & SQLI_F_EXEC) {
		/* "/ *!50000union* /": keywords hidden in executable comments */
		if (t->cls == SQLI_UNION || t->cls == SQLI_SELECT || t->cls == SQLI_LOGIC ||
		    t->cls == SQLI_STMT || t->cls == SQLI_KW || t->cls == SQLI_OP)
			return 1;
	}
	switch (t->cls) {
	case SQLI_OP:
		/* a path segment starts a value of its own: /users/1 or 1=1 */
		if (quote || t->sub != SQLI_O_SLASH)
			return 0;
		i = cls(w, k + 1);
		if (i != SQLI_NUM && i != SQLI_WORD)
			return 0;
		return after_lead(w, k + 2, 0, i == SQLI_NUM);
	case SQLI_UNION:
		i = k + 1;
		while (i < k + 8 && (is_kw(w, i, SQLI_K_ALL) || is_kw(w, i, SQLI_K_DISTINCT) ||
		                     cls(w, i) == SQLI_LPAREN))
			i++;
		if (cls(w, i) != SQLI_SELECT)
			return 0;
		if (select_list(w, i + 1))
			return 1;
		/* "1 union select name from users": behind what a query's value
		 * ends with (a number, a string, ')'), or first, even a bare
		 * "name from table" is the query's; behind a word it is prose
		 * ("the union select committee from ...") */
		return (k == 0 || cls(w, k - 1) == SQLI_NUM || cls(w, k - 1) == SQLI_STR ||
		        cls(w, k - 1) == SQLI_RPAREN) &&
		       cls(w, i + 1) == SQLI_WORD && is_kw(w, i + 2, SQLI_K_FROM) &&
		       cls(w, i + 3) == SQLI_WORD;
	case SQLI_SEMI:
		return statement(w, k + 1);
	case SQLI_SELECT:
		if (k == 0 || cls(w, k - 1) == SQLI_LPAREN) {
			/* "(select 1)" at the end is a parenthesis in text */
			if (cls(w, k + 1) == SQLI_NUM && cls(w, k + 2) == SQLI_RPAREN) {
				int c = cls(w, k + 3);

				return c == SQLI_OP || c == SQLI_LOGIC || c == SQLI_UNION ||
				       c == SQLI_RPAREN || c == SQLI_COMMENT;
			}
			return select_list(w, k + 1);
		}
		return 0;
	case SQLI_FUNC:
		if (t->sub != SQLI_W_TIME && t->sub != SQLI_W_FILE)
			return 0;
		expr_scan(w, k, 1, 1, &e);
		return e.ok && e.operands > 1;
	case SQLI_KW:
		if (t->sub == SQLI_K_CASE) {
			/* (case when 1=1 then a else b end): ORDER BY and column
			 * injection without a select */
			expr_scan(w, k, 1, 0, &e);
			return e.ok && e.cmp &&
			       (is_kw(w, k + 1, SQLI_K_WHEN) || is_kw(w, k + 2, SQLI_K_WHEN));
		}
		if (t->sub == SQLI_K_INTO)
			return is_kw(w, k + 1, SQLI_K_OUTFILE) || is_kw(w, k + 1, SQLI_K_DUMPFILE);
		if (t->sub == SQLI_K_FROM || t->sub == SQLI_K_JOIN)
			return tk(w, k + 1)->cls == SQLI_WORD && tk(w, k + 1)->sub == SQLI_W_SCHEMA;
		return 0;
	case SQLI_STMT:
		if (t->sub == SQLI_S_WAITFOR)
			return statement(w, k);
		if (t->sub == SQLI_S_EXEC)
			return tk(w, k + 1)->sub == SQLI_W_CMD;
		return 0;
	case SQLI_WORD:
		return t->sub == SQLI_W_CMD;
	default:
		return 0;
	}
}

/* ---- contexts */

/* The rules at the value's start (bare) or right after the break
 * (quoted). Returns 1 for an injection, 0 to read on, -1 when nothing
 * in this context can be code (the string never ends). */
static int ctx_lead(struct win *w, int quote)
{
	const struct sqli_tok *t = tk(w, 0);
	size_t k = 0;
	struct expr e;

	if (quote) {
		if (t->flags & SQLI_F_UNTERM)
			return -1; /* never leaves the string */
		/* `...` is a column name after a value such as 1 or alice;
		 * "see `ls -la`" and "`code`" are Markdown */
		if (quote == '`' && (t->flags & (SQLI_F_SPACE | SQLI_F_EMPTY)))
			return -1;
		return after_lead(w, 1, 1, 0);
	}
	if (t->cls == SQLI_OP && t->sub == SQLI_O_MINUS && cls(w, 1) == SQLI_NUM)
		k = 2;
	else if (t->cls == SQLI_NUM || t->cls == SQLI_WORD || t->cls == SQLI_VAR ||
	         t->cls == SQLI_STR)
		k = 1;
	if (after_lead(w, k, 0, k > 0 && cls(w, k - 1) == SQLI_NUM))
		return 1;
	if (t->cls != SQLI_LPAREN)
		return 0;
	/* (5 like 5)*7 : a boolean probe in a number's place */
	expr_scan(w, 0, 1, 0, &e);
	return e.ok && e.cmp && e.literals >= 2 && !e.strs && !e.words && (e.arith || e.logic);
}

/* The rules that hold anywhere, at every token. */
static int ctx_scan(struct win *w, int quote)
{
	size_t k;

	for (k = 0;; k++) {
		w->base = k;
		if (cls(w, k) == SQLI_EOF)
			return 0;
		if (anywhere(w, k, quote))
			return 1;
	}
}

static int detect_ctx(const char *s, size_t len, int quote, int paren)
{
	struct win w;
	int r;

	win_init(&w, s, len, quote, paren);
	r = ctx_lead(&w, quote);
	if (r != 0)
		return r > 0;
	return ctx_scan(&w, quote);
}

/* Every context, every token. */
static int detect_full(const char *s, size_t len, int paren)
{
	if (detect_ctx(s, len, 0, paren))
		return 1;
	if (sqli_has_quote(s, len, '\'') && detect_ctx(s, len, '\'', paren))
		return 1;
	if (sqli_has_quote(s, len, '"') && detect_ctx(s, len, '"', paren))
		return 1;
	if (sqli_has_quote(s, len, '`') && detect_ctx(s, len, '`', paren))
		return 1; /* a column name: order by `<value>` */
	return 0;
}

/* ---- the short way, for values sqli_scan cleared */

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

/* anywhere() on a ';' (every context) and on a '/' (bare context only):
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
			c = statement(&w, 1);
		} else {
			/* a path segment: a number or a name, then what follows it */
			if (!word_start((unsigned char)c) && !(c >= '0' && c <= '9') && c != '.' &&
			    c != '`')
				continue;
			win_init_after(&w, s, len, (size_t)(p - s), SQLI_OP, SQLI_O_SLASH, paren);
			c = cls(&w, 1);
			c = (c == SQLI_NUM || c == SQLI_WORD) &&
			    after_lead(&w, 2, 0, c == SQLI_NUM);
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

/* anywhere() on a select that opens the value (bare context) or follows
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
		if (cls(&w, 0) == SQLI_SELECT && anywhere(&w, 0, 0))
			return 1;
	}
	while ((p = memchr(p, '(', (size_t)(end - p))) != NULL) {
		at = (size_t)(++p - s);
		if (!select_at(s, len, skip_spaces(s, len, at)))
			continue;
		win_init_after(&w, s, len, at, SQLI_LPAREN, 0, paren);
		w.base = 1;
		if ((cls(&w, 1) == SQLI_SELECT && anywhere(&w, 1, 0)) || w.lx.pos - at > budget)
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
		if (ctx_lead(&w, 0) > 0)
			return 1;
	}
	for (i = 0; i < 3; i++) {
		if (!(sc->bytes & (SQLI_SCAN_QUOTE << i)))
			continue;
		win_init(&w, s, len, quotes[i], paren);
		if (ctx_lead(&w, quotes[i]) > 0)
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
		return detect_full(s, len, paren);
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
