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
 * The short way (waf/detect_sqli_short.c) settles most values, ordinary
 * text, without reading every token; its answer is always this full
 * read's (tests/fuzz/fuzz_waf_detect.c checks that). */
#include "waf/detect.h"

#include <stddef.h>
#include <string.h>

#include "waf/sqli_window.h"

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
int sqli_statement(struct win *w, size_t k)
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
int sqli_after_lead(struct win *w, size_t k, int quote, int lead_num)
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
		return quote && sqli_statement(w, k);
	default:
		return 0;
	}
}

/* Rules that hold anywhere in the value, at token k. */
int sqli_anywhere(struct win *w, size_t k, int quote)
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
		return sqli_after_lead(w, k + 2, 0, i == SQLI_NUM);
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
		return sqli_statement(w, k + 1);
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
			return sqli_statement(w, k);
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
int sqli_ctx_lead(struct win *w, int quote)
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
		return sqli_after_lead(w, 1, 1, 0);
	}
	if (t->cls == SQLI_OP && t->sub == SQLI_O_MINUS && cls(w, 1) == SQLI_NUM)
		k = 2;
	else if (t->cls == SQLI_NUM || t->cls == SQLI_WORD || t->cls == SQLI_VAR ||
	         t->cls == SQLI_STR)
		k = 1;
	if (sqli_after_lead(w, k, 0, k > 0 && cls(w, k - 1) == SQLI_NUM))
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
		if (sqli_anywhere(w, k, quote))
			return 1;
	}
}

static int detect_ctx(const char *s, size_t len, int quote, int paren)
{
	struct win w;
	int r;

	win_init(&w, s, len, quote, paren);
	r = sqli_ctx_lead(&w, quote);
	if (r != 0)
		return r > 0;
	return ctx_scan(&w, quote);
}

/* Every context, every token. */
int sqli_detect_full(const char *s, size_t len, int paren)
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
