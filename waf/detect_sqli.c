/* SQL injection detector (the detect_sqli operator).
 *
 * A value is read the way an SQL lexer would read it once pasted into a
 * query, in each of the places it may land: as is (a number or a column
 * name), inside '...', inside "..." and inside `...` (MySQL identifiers). In the quoted contexts
 * the value's first matching quote ends the application's string ("the break"), and what follows is
 * code. The tokens are classified (string, number, word, keyword, operator, logic, function call,
 * comment...) and a few structural rules decide whether the code is injection-shaped:
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
 * The lexer reads some encodings as a database would: control characters
 * and NBSP are spaces, overlong UTF-8 (0xc0 0xa7) is the ASCII character,
 * the fullwidth apostrophe and quotation mark are quotes, comments between
 * tokens are spaces, MySQL's executable comments are code, a '%' that
 * starts no %XX escape is dropped (IIS's "%S%E%L%E%C%T").
 *
 * Linear time: each context lexes the value once into a sliding window of
 * tokens; every rule looks at a bounded number of tokens ahead. No
 * allocation; the stack holds the window (64 small tokens). */
#include "waf/detect.h"

#include <stddef.h>
#include <string.h>

#define WIN       64 /* tokens kept: a rule looks at most LOOKAHEAD ahead */
#define LOOKAHEAD 56
#define LOOKBACK  4
#define EXPR_MAX  40 /* tokens an expression scan reads at most */
#define WORD_MAX  40 /* longer words are plain identifiers */
#define EXEC_MAX  16 /* nesting of MySQL executable comments tracked */

/* Token classes. */
enum {
	C_EOF,
	C_STR, /* '...' "..." */
	C_NUM,
	C_WORD,  /* identifier or plain word; sub says which kind */
	C_VAR,   /* @x @@x */
	C_FUNC,  /* a word followed by '(' */
	C_LOGIC, /* and or xor && || */
	C_OP,    /* comparison, arithmetic, unary */
	C_UNION,
	C_SELECT,
	C_STMT,    /* statement verb: insert update delete drop exec ... */
	C_KW,      /* other keyword; sub is the K_ */
	C_COMMENT, /* a comment that runs to the end of the value */
	C_LPAREN,
	C_RPAREN,
	C_COMMA,
	C_SEMI,
	C_OTHER,
};

/* Keywords (C_KW), operator kinds (C_OP), word kinds (C_WORD/C_FUNC),
 * statement verbs (C_STMT): the sub field. */
enum {
	K_NONE,
	/* C_KW */
	K_ALL,
	K_AS,
	K_ASC,
	K_BY,
	K_CASE,
	K_DESC,
	K_DISTINCT,
	K_DUMPFILE,
	K_ELSE,
	K_END,
	K_EXISTS,
	K_FALSE,
	K_FROM,
	K_GROUP,
	K_HAVING,
	K_INTERVAL,
	K_INTO,
	K_JOIN,
	K_LIMIT,
	K_NULL,
	K_OFFSET,
	K_ON,
	K_ORDER,
	K_OUTFILE,
	K_THEN,
	K_TRUE,
	K_VALUES,
	K_WHEN,
	K_WHERE,
	/* C_OP */
	O_CMP,   /* = < > <= >= <> != <=> like rlike regexp is in between ... */
	O_ARITH, /* + - * / % ^ | & << >> div mod :: */
	O_STAR,  /* '*' (also arithmetic) */
	O_MINUS, /* '-' and '+': binary or unary */
	O_NOT,   /* not ! ~ : unary only */
	O_IS,    /* is: only before null, true, false (or not) */
	O_SLASH, /* '/' (also arithmetic; starts a path segment) */
	/* C_WORD and C_FUNC */
	W_OBJ, /* table database schema user view index procedure function trigger */
	W_SET,
	W_DELAY,    /* delay time (waitfor) */
	W_TO,       /* to (copy ... to) */
	W_FULLTEXT, /* boolean mode (MATCH ... AGAINST) */
	W_SCHEMA,   /* information_schema.*, mysql.user, sysobjects, pg_catalog... */
	W_CMD,      /* xp_cmdshell sp_oacreate ... */
	W_PROC,     /* other sp_* xp_* procedures */
	W_TIME,     /* sleep benchmark pg_sleep ... (C_FUNC only when called) */
	W_FILE,     /* load_file extractvalue updatexml ... */
	/* C_STMT */
	S_INSERT,
	S_UPDATE,
	S_DELETE,
	S_DROP,
	S_CREATE,
	S_ALTER,
	S_TRUNCATE,
	S_EXEC,
	S_DECLARE,
	S_SHUTDOWN,
	S_WAITFOR,
	S_GRANT,
	S_RENAME,
	S_CALL,
	S_COPY,
};

/* Token flags. */
#define F_UNTERM 1  /* string without its closing quote */
#define F_STRONG 2  /* comment that looks like a deliberate truncation */
#define F_EXEC   4  /* first token inside a MySQL executable comment */
#define F_SPACE  8  /* string with a space inside: text rather than a payload */
#define F_TRUTHY 16 /* string a database reads as true: '1...', 'true', 'yes' */
#define F_EMPTY  32 /* string with nothing inside */

struct tok {
	unsigned char cls;
	unsigned char sub;
	unsigned char flags;
};

struct kw {
	const char *name;
	unsigned char cls;
	unsigned char sub;
};

/* Sorted by name for bsearch-like lookup. */
/* clang-format off */
static const struct kw kw_table[] = {
	{"all", C_KW, K_ALL}, {"alter", C_STMT, S_ALTER}, {"and", C_LOGIC, 0}, {"as", C_KW, K_AS},
	{"asc", C_KW, K_ASC}, {"benchmark", C_WORD, W_TIME}, {"between", C_OP, O_CMP},
	{"boolean", C_WORD, W_FULLTEXT}, {"by", C_KW, K_BY}, {"call", C_STMT, S_CALL},
	{"case", C_KW, K_CASE}, {"copy", C_STMT, S_COPY}, {"create", C_STMT, S_CREATE},
	{"database", C_WORD, W_OBJ}, {"dbms_lock.sleep", C_WORD, W_TIME},
	{"dbms_pipe.receive_message", C_WORD, W_TIME}, {"declare", C_STMT, S_DECLARE},
	{"delay", C_WORD, W_DELAY}, {"delete", C_STMT, S_DELETE}, {"desc", C_KW, K_DESC},
	{"distinct", C_KW, K_DISTINCT}, {"div", C_OP, O_ARITH}, {"drop", C_STMT, S_DROP},
	{"dumpfile", C_KW, K_DUMPFILE}, {"else", C_KW, K_ELSE}, {"end", C_KW, K_END},
	{"exec", C_STMT, S_EXEC}, {"execute", C_STMT, S_EXEC}, {"exists", C_KW, K_EXISTS},
	{"extractvalue", C_WORD, W_FILE}, {"false", C_KW, K_FALSE}, {"from", C_KW, K_FROM},
	{"function", C_WORD, W_OBJ}, {"get_lock", C_WORD, W_TIME}, {"glob", C_OP, O_CMP},
	{"grant", C_STMT, S_GRANT}, {"group", C_KW, K_GROUP}, {"having", C_KW, K_HAVING},
	{"ilike", C_OP, O_CMP}, {"in", C_OP, O_CMP}, {"index", C_WORD, W_OBJ},
	{"insert", C_STMT, S_INSERT}, {"interval", C_KW, K_INTERVAL}, {"into", C_KW, K_INTO},
	{"is", C_OP, O_IS}, {"join", C_KW, K_JOIN}, {"like", C_OP, O_CMP}, {"limit", C_KW, K_LIMIT},
	{"lo_import", C_WORD, W_FILE}, {"load_file", C_WORD, W_FILE}, {"mod", C_OP, O_ARITH},
	{"mode", C_WORD, W_FULLTEXT}, {"not", C_OP, O_NOT}, {"null", C_KW, K_NULL},
	{"offset", C_KW, K_OFFSET}, {"on", C_KW, K_ON}, {"or", C_LOGIC, 0},
	{"order", C_KW, K_ORDER}, {"outfile", C_KW, K_OUTFILE}, {"pg_read_file", C_WORD, W_FILE},
	{"pg_sleep", C_WORD, W_TIME}, {"pg_sleep_for", C_WORD, W_TIME},
	{"procedure", C_WORD, W_OBJ}, {"randomblob", C_WORD, W_TIME}, {"regexp", C_OP, O_CMP},
	{"rename", C_STMT, S_RENAME}, {"revoke", C_STMT, S_GRANT}, {"rlike", C_OP, O_CMP},
	{"schema", C_WORD, W_OBJ}, {"select", C_SELECT, 0}, {"set", C_WORD, W_SET},
	{"shutdown", C_STMT, S_SHUTDOWN}, {"sleep", C_WORD, W_TIME}, {"sounds", C_OP, O_CMP},
	{"sys_eval", C_WORD, W_FILE}, {"sys_exec", C_WORD, W_FILE}, {"table", C_WORD, W_OBJ},
	{"then", C_KW, K_THEN}, {"time", C_WORD, W_DELAY}, {"to", C_WORD, W_TO},
	{"trigger", C_WORD, W_OBJ}, {"true", C_KW, K_TRUE}, {"truncate", C_STMT, S_TRUNCATE},
	{"union", C_UNION, 0}, {"update", C_STMT, S_UPDATE}, {"updatexml", C_WORD, W_FILE},
	{"user", C_WORD, W_OBJ}, {"utl_http.request", C_WORD, W_FILE},
	{"utl_inaddr.get_host_address", C_WORD, W_FILE}, {"values", C_KW, K_VALUES},
	{"view", C_WORD, W_OBJ}, {"waitfor", C_STMT, S_WAITFOR}, {"when", C_KW, K_WHEN},
	{"where", C_KW, K_WHERE}, {"xor", C_LOGIC, 0},
};
/* clang-format on */

/* Words whose prefix marks a system catalogue or a command procedure. */
/* clang-format off */
static const struct {
	const char *prefix;
	unsigned char sub;
} word_prefixes[] = {
	{"information_schema", W_SCHEMA}, {"mysql.user", W_SCHEMA}, {"mysql.db", W_SCHEMA},
	{"performance_schema", W_SCHEMA}, {"pg_catalog", W_SCHEMA}, {"pg_shadow", W_SCHEMA},
	{"pg_user", W_SCHEMA}, {"pg_tables", W_SCHEMA}, {"sysobjects", W_SCHEMA},
	{"syscolumns", W_SCHEMA}, {"sysdatabases", W_SCHEMA}, {"sys.", W_SCHEMA},
	{"master..xp_", W_CMD}, {"master.dbo.xp_", W_CMD}, {"master..", W_SCHEMA},
	{"master.dbo.", W_SCHEMA}, {"sqlite_master", W_SCHEMA}, {"sqlite_schema", W_SCHEMA},
	{"all_tables", W_SCHEMA}, {"all_users", W_SCHEMA}, {"user_tables", W_SCHEMA},
	{"dba_users", W_SCHEMA}, {"msysobjects", W_SCHEMA}, {"xp_cmdshell", W_CMD},
	{"sp_oacreate", W_CMD}, {"sp_makewebtask", W_CMD}, {"sp_addextendedproc", W_CMD},
	{"sp_executesql", W_CMD}, {"xp_regread", W_CMD}, {"xp_dirtree", W_CMD},
	{"xp_fileexist", W_CMD}, {"sp_", W_PROC}, {"xp_", W_PROC},
};
/* clang-format on */

struct lex {
	const unsigned char *s;
	size_t len, pos;
	int quote;    /* context quote: the first token is the rest of a string */
	int started;  /* a token was produced */
	int exec;     /* depth of MySQL executable comments */
	int exec_new; /* an executable comment just opened */
	int pending;  /* a comment was skipped: 0, 1 weak, 2 strong */
};

struct win {
	struct lex lx;
	struct tok buf[WIN];
	size_t filled; /* tokens lexed so far */
	size_t base;   /* the token rules are looking at */
	int eof;
};

/* ---- characters */

static int hex_byte(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The character at i as a database would see it, and its size in bytes
 * (*n, 0 at the end). Returns -1 at the end. A '%' that starts no %XX
 * escape is dropped, as IIS does (sqlmap's "percentage": %S%E%L%E%C%T);
 * one at the very end reads as a space. */
static int ch_at(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	size_t skipped = 0;
	unsigned c;

	if (i >= len) {
		*n = 0;
		return -1;
	}
	while (s[i] == '%' && !(i + 2 < len && hex_byte(s[i + 1]) && hex_byte(s[i + 2]))) {
		if (i + 1 >= len) {
			*n = skipped + 1;
			return ' ';
		}
		i++;
		skipped++;
	}
	*n = skipped + 1;
	c = s[i];
	if (c < 0x20 || c == 0x7f || c == 0xa0)
		return ' ';
	if ((c == 0xc0 || c == 0xc1) && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
		*n = skipped + 2;
		c = ((c & 1u) << 6) | (s[i + 1] & 0x3fu);
		return (c < 0x20 || c == 0x7f) ? ' ' : (int)c;
	}
	if (c == 0xc2 && i + 1 < len && s[i + 1] == 0xa0) {
		*n = skipped + 2;
		return ' ';
	}
	if (c == 0xef && i + 2 < len && s[i + 1] == 0xbc &&
	    (s[i + 2] == 0x87 || s[i + 2] == 0x82)) {
		*n = skipped + 3;
		return s[i + 2] == 0x87 ? '\'' : '"';
	}
	return (int)c;
}

static int lx_ch(const struct lex *lx, size_t i, size_t *n)
{
	return ch_at(lx->s, lx->len, i, n);
}

static int is_space(int c)
{
	return c == ' ';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_word_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '$' || c >= 0x80;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* ---- comments */

/* Skip a line comment whose marker (mlen bytes) starts at pos; returns 2
 * when it looks like a deliberate truncation ("--", "-- -", "-- abcd",
 * "#"), else 1. */
static int skip_line_comment(struct lex *lx, size_t mlen, int hash)
{
	size_t i = lx->pos + mlen, n, words = 0, wlen = 0, maxw = 0;
	int c, inword = 0, first = 1, strong;

	strong = 1;
	while ((c = lx_ch(lx, i, &n)) != -1 && lx->s[i] != '\n') {
		if (first && hash && (is_alpha(c) || is_digit(c)))
			strong = 0; /* "#1", "#tag": a hash in text */
		first = 0;
		if (is_space(c)) {
			inword = 0;
		} else {
			if (!inword) {
				words++;
				wlen = 0;
			}
			inword = 1;
			if (++wlen > maxw)
				maxw = wlen;
		}
		i += n;
	}
	if (words > 1 || maxw > 12)
		strong = 0;
	lx->pos = c == -1 ? i : i + 1;
	return strong ? 2 : 1;
}

/* Where a block comment whose text starts at i ends: after its closing
 * star-slash, or the end of the value. */
static size_t comment_end(const struct lex *lx, size_t i)
{
	size_t n, n2;
	int c;

	while ((c = lx_ch(lx, i, &n)) != -1) {
		if (c == '*' && lx_ch(lx, i + n, &n2) == '/')
			return i + n + n2;
		i += n;
	}
	return lx->len;
}

/* Skip spaces and comments before the next token, noting comments and
 * entering/leaving executable comments. */
static void skip_gaps(struct lex *lx)
{
	size_t n, n2, n3;
	int c, c2, c3;

	for (;;) {
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1)
			return;
		c2 = lx_ch(lx, lx->pos + n, &n2);
		c3 = lx_ch(lx, lx->pos + n + n2, &n3);
		if (is_space(c) || c == '{' || c == '}') {
			/* ODBC escapes "{fn concat(...)}" read as the call */
			lx->pos += n;
			if (c == '{' && lx->pos + 3 <= lx->len && lower(lx->s[lx->pos]) == 'f' &&
			    lower(lx->s[lx->pos + 1]) == 'n' && lx->s[lx->pos + 2] == ' ')
				lx->pos += 3;
			continue;
		}
		if (lx->exec > 0 && c == '*' && c2 == '/') {
			lx->pos += n + n2;
			lx->exec--;
			continue;
		}
		if (c == '/' && c2 == '*') {
			if (c3 == '!') {
				lx->pos += n + n2 + n3;
				while (is_digit(lx_ch(lx, lx->pos, &n)))
					lx->pos += n; /* the version: / *!50000 */
				if (lx->exec < EXEC_MAX)
					lx->exec++;
				lx->exec_new = 1;
				continue;
			}
			lx->pos = comment_end(lx, lx->pos + n + n2);
			lx->pending = 2;
			continue;
		}
		if (c == '-' && c2 == '-') {
			lx->pending = skip_line_comment(lx, n + n2, 0);
			continue;
		}
		if (c == '#') {
			lx->pending = skip_line_comment(lx, n, 1);
			continue;
		}
		return;
	}
}

/* ---- tokens */

static const struct kw *kw_find(const char *w)
{
	size_t lo = 0, hi = sizeof(kw_table) / sizeof(kw_table[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(w, kw_table[mid].name);

		if (r == 0)
			return &kw_table[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The next character after pos that is not a space or a comment. */
static int next_code_char(const struct lex *lx, size_t pos)
{
	size_t n, n2, n3;
	int c, c2;

	for (;;) {
		c = lx_ch(lx, pos, &n);
		if (c == -1)
			return -1;
		if (is_space(c)) {
			pos += n;
			continue;
		}
		c2 = lx_ch(lx, pos + n, &n2);
		if (c == '/' && c2 == '*' && lx_ch(lx, pos + n + n2, &n3) != '!') {
			pos = comment_end(lx, pos + n + n2);
			continue;
		}
		return c;
	}
}

/* Flags for a string's content: its first characters (up to 5) and
 * whether a space was seen. */
static unsigned char string_flags(const char *head, size_t n, size_t total, int space)
{
	unsigned char f = (space ? F_SPACE : 0) | (total == 0 ? F_EMPTY : 0);
	size_t i;

	if (total > 0 && head[0] >= '1' && head[0] <= '9')
		return f | F_TRUTHY;
	if (total == 0 || total > 4 || (lower(head[0]) != 't' && lower(head[0]) != 'y'))
		return f;
	for (i = 0; i < n; i++)
		if (!is_alpha(head[i]))
			return f;
	return f | F_TRUTHY; /* t, true, y, yes */
}

static void lex_string(struct lex *lx, struct tok *t, int q, int first_in_ctx)
{
	char head[5];
	size_t n, n2 = 0, total = 0;
	int c, space = 0;

	t->cls = C_STR;
	if (!first_in_ctx) {
		lx_ch(lx, lx->pos, &n);
		lx->pos += n;
	}
	for (;;) {
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1) {
			t->flags |=
			    F_UNTERM | string_flags(head, total < 5 ? total : 5, total, space);
			return;
		}
		lx->pos += n;
		if (c == q && lx_ch(lx, lx->pos, &n2) != q) {
			t->flags |= string_flags(head, total < 5 ? total : 5, total, space);
			return;
		}
		if (total < sizeof(head))
			head[total] = (char)c;
		total++;
		space |= is_space(c);
		if (c == '\\' && !first_in_ctx) {
			/* MySQL escapes; the break string ignores them so that
			 * "\' or 1=1" is still read as a break (PostgreSQL). */
			lx_ch(lx, lx->pos, &n);
			lx->pos += n;
			continue;
		}
		if (c == q)
			lx->pos += n2; /* '' inside a string */
	}
}

static void lex_number(struct lex *lx, struct tok *t)
{
	const unsigned char *s = lx->s;
	size_t i = lx->pos, len = lx->len;

	t->cls = C_NUM;
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X' || s[i + 1] == 'b')) {
		i += 2;
		while (i < len && (is_digit(s[i]) || (lower(s[i]) >= 'a' && lower(s[i]) <= 'f')))
			i++;
		lx->pos = i;
		return;
	}
	while (i < len && is_digit(s[i]))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;

		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < len && is_digit(s[j])) {
			i = j;
			while (i < len && is_digit(s[i]))
				i++;
		} else if (j < len && (s[j] == '(' || (s[i - 1] == '.'))) {
			i = j; /* MySQL "1.e(" and "1.eunion" */
		}
	}
	/* Oracle's 1d / 1f literals before a keyword ("1dunion") */
	if (i + 6 <= len && (lower(s[i]) == 'd' || lower(s[i]) == 'f') && lower(s[i + 1]) == 'u' &&
	    lower(s[i + 2]) == 'n' && lower(s[i + 3]) == 'i' && lower(s[i + 4]) == 'o' &&
	    lower(s[i + 5]) == 'n')
		i++;
	lx->pos = i;
}

static void classify_word(struct lex *lx, struct tok *t, const char *w, size_t wl, int dotted)
{
	const struct kw *k = NULL;
	size_t i;

	t->cls = C_WORD;
	t->sub = K_NONE;
	if (wl > 0 && is_digit((unsigned char)w[0]) && !dotted) {
		t->cls = C_NUM; /* digits read through dropped '%': %1%2%3 */
		return;
	}
	if (wl > 0 && wl < WORD_MAX) {
		k = kw_find(w);
		if (k != NULL && (!dotted || k->cls == C_WORD)) {
			t->cls = k->cls;
			t->sub = k->sub;
		}
		if (t->cls == C_WORD && t->sub == K_NONE)
			for (i = 0; i < sizeof(word_prefixes) / sizeof(word_prefixes[0]); i++)
				if (strncmp(w, word_prefixes[i].prefix,
				            strlen(word_prefixes[i].prefix)) == 0) {
					t->sub = word_prefixes[i].sub;
					break;
				}
	}
	/* A word (or a statement verb: MySQL's insert(), replace()) right
	 * before '(' is a call. */
	if ((t->cls == C_WORD || t->cls == C_STMT) && next_code_char(lx, lx->pos) == '(')
		t->cls = C_FUNC; /* sub kept: exec('...') is still S_EXEC */
}

static void lex_word(struct lex *lx, struct tok *t)
{
	char w[WORD_MAX + 1];
	size_t wl = 0, n, n2;
	int c, c2, dotted = 0;

	for (;;) {
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1)
			break;
		c2 = lx_ch(lx, lx->pos + n, &n2);
		if (c == '.' && wl > 0 && (is_word_char(c2) || c2 == '.')) {
			dotted = 1;
		} else if (!is_word_char(c)) {
			break;
		}
		if (wl < WORD_MAX)
			w[wl] = (char)lower(c);
		wl++;
		lx->pos += n;
	}
	w[wl < WORD_MAX ? wl : WORD_MAX] = '\0';
	classify_word(lx, t, w, wl < WORD_MAX ? wl : WORD_MAX + 1, dotted);
}

static void lex_operator(struct lex *lx, struct tok *t, int c)
{
	size_t n, n2, n3;
	int c2, c3;

	lx_ch(lx, lx->pos, &n);
	c2 = lx_ch(lx, lx->pos + n, &n2);
	c3 = lx_ch(lx, lx->pos + n + (n2 ? n2 : 0), &n3);
	t->cls = C_OP;
	t->sub = O_ARITH;
	lx->pos += n;
	switch (c) {
	case '=':
		t->sub = O_CMP;
		if (c2 == '=')
			lx->pos += n2;
		return;
	case '<':
		t->sub = O_CMP;
		if (c2 == '=' && c3 == '>') {
			lx->pos += n2 + n3;
		} else if (c2 == '=' || c2 == '>') {
			lx->pos += n2;
		} else if (c2 == '<') {
			lx->pos += n2;
			t->sub = O_ARITH;
		}
		return;
	case '>':
		t->sub = O_CMP;
		if (c2 == '=') {
			lx->pos += n2;
		} else if (c2 == '>') {
			lx->pos += n2;
			t->sub = O_ARITH;
		}
		return;
	case '!':
		if (c2 == '=') {
			lx->pos += n2;
			t->sub = O_CMP;
		} else {
			t->sub = O_NOT;
		}
		return;
	case '~':
		t->sub = O_NOT;
		return;
	case '|':
	case '&':
		if (c2 == c) {
			lx->pos += n2;
			t->cls = C_LOGIC;
			t->sub = 0;
		}
		return;
	case ':':
		if (c2 == ':' || c2 == '=') {
			lx->pos += n2;
			t->sub = c2 == '=' ? O_CMP : O_ARITH;
			return;
		}
		t->cls = C_OTHER;
		return;
	case '*':
		t->sub = O_STAR;
		return;
	case '-':
	case '+':
		t->sub = O_MINUS;
		return;
	case '/':
		t->sub = O_SLASH;
		return;
	default:
		return; /* % ^ */
	}
}

/* Produce the next token into t. */
static void lex_token(struct lex *lx, struct tok *t)
{
	size_t n;
	int c, first = !lx->started;

	memset(t, 0, sizeof(*t));
	if (first && lx->quote) {
		lx->started = 1;
		lex_string(lx, t, lx->quote, 1);
		return;
	}
	lx->started = 1;
	lx->pending = 0;
	skip_gaps(lx);
	c = lx_ch(lx, lx->pos, &n);
	if (c == -1) {
		if (lx->pending) {
			t->cls = C_COMMENT;
			t->flags = lx->pending == 2 ? F_STRONG : 0;
			lx->pending = 0;
			return;
		}
		t->cls = C_EOF;
		return;
	}
	if (lx->exec_new) {
		t->flags |= F_EXEC;
		lx->exec_new = 0;
	}
	if (c == '\'' || c == '"') {
		lex_string(lx, t, c, 0);
	} else if (c == '`') {
		lex_string(lx, t, c, 0);
		t->cls = C_WORD; /* quoted identifier */
		t->flags = 0;
	} else if (is_digit(lx->s[lx->pos]) || (lx->s[lx->pos] == '.' && lx->pos + 1 < lx->len &&
	                                        is_digit(lx->s[lx->pos + 1]))) {
		lex_number(lx, t); /* reads raw bytes: an overlong digit is a word */
	} else if (c == '@') {
		lx->pos += n;
		if (lx_ch(lx, lx->pos, &n) == '@')
			lx->pos += n;
		while (lx->pos < lx->len && is_word_char(lx->s[lx->pos]))
			lx->pos++;
		t->cls = C_VAR;
	} else if (is_word_char(c)) {
		lex_word(lx, t);
	} else {
		switch (c) {
		case '(':
			t->cls = C_LPAREN;
			break;
		case ')':
			t->cls = C_RPAREN;
			break;
		case ',':
			t->cls = C_COMMA;
			break;
		case ';':
			t->cls = C_SEMI;
			break;
		case '=':
		case '<':
		case '>':
		case '!':
		case '~':
		case '|':
		case '&':
		case ':':
		case '*':
		case '-':
		case '+':
		case '/':
		case '%':
		case '^':
			lex_operator(lx, t, c);
			return;
		default:
			t->cls = C_OTHER;
			break;
		}
		lx->pos += n;
	}
}

/* lex_token, and a guarantee of progress: a token always consumes input. */
static void lex_next(struct lex *lx, struct tok *t)
{
	size_t before = lx->pos;

	lex_token(lx, t);
	if (t->cls != C_EOF && t->cls != C_COMMENT && lx->pos == before && lx->pos < lx->len)
		lx->pos++;
}

/* ---- the token window */

static void win_init(struct win *w, const char *s, size_t len, int quote)
{
	memset(&w->lx, 0, sizeof(w->lx));
	w->lx.s = (const unsigned char *)s;
	w->lx.len = len;
	w->lx.quote = quote;
	w->filled = 0;
	w->base = 0;
	w->eof = 0;
}

/* Token k (absolute index). k must be within [base - LOOKBACK,
 * base + LOOKAHEAD]; outside, an EOF token is returned. */
static const struct tok *tk(struct win *w, size_t k)
{
	static const struct tok eof = {C_EOF, 0, 0};

	if (k + LOOKBACK < w->base || k > w->base + LOOKAHEAD)
		return &eof;
	while (w->filled <= k) {
		struct tok *t = &w->buf[w->filled % WIN];

		if (w->eof)
			*t = eof;
		else
			lex_next(&w->lx, t);
		if (t->cls == C_EOF)
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
	const struct tok *t = tk(w, k);

	return t->cls == C_KW && t->sub == sub;
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
	return sub == K_NULL || sub == K_TRUE || sub == K_FALSE || sub == K_END;
}

static int kw_is_prefix(int sub)
{
	return sub == K_CASE || sub == K_WHEN || sub == K_THEN || sub == K_ELSE ||
	       sub == K_EXISTS || sub == K_INTERVAL || sub == K_DISTINCT || sub == K_ALL;
}

/* Read an expression from token k. want: 1 when an operand comes first,
 * 0 when k is an operator continuing an operand before it. close: stop
 * after the parenthesis that closes the first one (function arguments). */
static void expr_scan(struct win *w, size_t k, int want, int close, struct expr *e)
{
	size_t start = k;
	int depth = 0, prev = C_EOF, prev_not = 0, after_is = 0;

	memset(e, 0, sizeof(*e));
	e->ok = 1;
	for (; k < start + EXPR_MAX; k++) {
		const struct tok *t = tk(w, k);
		int c = t->cls, term = 0;

		switch (c) {
		case C_EOF:
		case C_SEMI:
		case C_UNION:
		case C_STMT:
			term = 1;
			break;
		case C_COMMENT:
			e->strong = (t->flags & F_STRONG) != 0;
			term = 1;
			break;
		case C_SELECT:
			if (depth == 0) {
				term = 1;
				break;
			}
			e->subq++;
			want = 1;
			break;
		case C_KW:
			if (kw_is_value(t->sub)) {
				if (!want && t->sub != K_END)
					goto bad;
				after_is = 0;
				e->literals += t->sub != K_END;
				e->nums += t->sub == K_TRUE || t->sub == K_FALSE;
				e->operands++;
				want = 0;
			} else if (kw_is_prefix(t->sub) || depth > 0) {
				want = 1; /* case when ... / inside a subquery */
			} else {
				term = 1; /* a clause: order by, limit, from, into ... */
			}
			break;
		case C_STR:
		case C_NUM:
		case C_VAR:
		case C_WORD:
			if (after_is)
				goto bad; /* "time_t is 64-bit": is takes null/true/false */
			if (!want) {
				/* "(select ...)alias" is the only juxtaposition */
				if (!(c == C_WORD && prev == C_RPAREN))
					goto bad;
				break;
			}
			if (c == C_WORD)
				e->words++;
			else
				e->literals++;
			e->strs += c == C_STR;
			e->nums += c == C_NUM;
			e->spaced += c == C_STR && (t->flags & F_SPACE);
			e->truthy += c == C_STR && (t->flags & F_TRUTHY);
			e->operands++;
			want = 0;
			break;
		case C_FUNC:
			if (!want)
				goto bad;
			e->calls++;
			if (t->sub == W_TIME || t->sub == W_FILE)
				e->attack++;
			e->operands++;
			want = 1; /* its '(' follows */
			break;
		case C_LPAREN:
			if (!want)
				goto bad;
			if (depth < 1000)
				depth++;
			break;
		case C_RPAREN:
			if (want && prev != C_LPAREN && prev != C_FUNC)
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
		case C_COMMA:
			if (depth == 0) {
				term = 1;
				break;
			}
			if (want)
				goto bad;
			want = 1;
			break;
		case C_OP:
			if (want) {
				if (t->sub != O_MINUS && t->sub != O_NOT && !prev_not)
					goto bad;
			} else if (t->sub == O_NOT) {
				/* "x not like y", "x not in (...)" */
			} else if (t->sub == O_CMP || t->sub == O_IS) {
				after_is = t->sub == O_IS;
				e->cmp++;
			} else {
				e->arith++;
			}
			if (want || t->sub != O_NOT)
				want = 1; /* "x not like": not waits for its operator */
			break;
		case C_LOGIC:
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
		prev_not = c == C_OP && t->sub == O_NOT;
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
	const struct tok *t = tk(w, k);
	int c1;

	switch (t->cls) {
	case C_VAR:
	case C_FUNC:
	case C_LPAREN:
		return 1;
	case C_OP:
		/* select *, select like(...), select not(...) */
		return t->sub == O_STAR || cls(w, k + 1) == C_LPAREN;
	case C_KW:
		return t->sub == K_NULL || t->sub == K_DISTINCT;
	case C_NUM:
	case C_STR:
		c1 = cls(w, k + 1);
		if (is_kw(w, k + 1, K_WHERE))
			return where_clause(w, k + 2);
		if (c1 == C_EOF) /* "select 1"; not "select 'a" (quoted text) */
			return t->cls == C_NUM;
		return c1 == C_COMMA || c1 == C_UNION || c1 == C_SEMI || c1 == C_COMMENT ||
		       c1 == C_RPAREN || c1 == C_OP || c1 == C_LOGIC || is_kw(w, k + 1, K_FROM) ||
		       is_kw(w, k + 1, K_INTO);
	case C_WORD:
		c1 = cls(w, k + 1);
		if (c1 == C_COMMA) /* select name, pass ... from */
			return 1;
		if (is_kw(w, k + 1, K_WHERE)) /* (select x where 1=1 and ...) */
			return where_clause(w, k + 2);
		if (is_kw(w, k + 1, K_FROM)) {
			int c3 = cls(w, k + 3);

			/* "select name from users" alone stays text; with a
			 * condition, a comment or a statement end it is SQL */
			if (cls(w, k + 2) != C_WORD)
				return cls(w, k + 2) == C_LPAREN;
			return c3 == C_COMMENT || c3 == C_SEMI || c3 == C_RPAREN || c3 == C_UNION ||
			       is_kw(w, k + 3, K_WHERE) || is_kw(w, k + 3, K_LIMIT) ||
			       is_kw(w, k + 3, K_ORDER) || is_kw(w, k + 3, K_GROUP) ||
			       is_kw(w, k + 3, K_HAVING) || is_kw(w, k + 3, K_JOIN) ||
			       tk(w, k + 2)->sub == W_SCHEMA;
		}
		return 0;
	default:
		return 0;
	}
}

/* A statement starts at k (after ';', or after the break). */
static int statement(struct win *w, size_t k)
{
	const struct tok *t = tk(w, k), *t1 = tk(w, k + 1);

	switch (t->cls) {
	case C_SELECT:
		return select_list(w, k + 1);
	case C_WORD:
		/* ;set @x = ... */
		return t->sub == W_SET && t1->cls == C_VAR;
	case C_FUNC: {
		/* ;exec('sel'+'ect ...'), ;if(1=1,1,1/0) */
		struct expr e;

		if (t->sub == S_EXEC)
			return 1;
		expr_scan(w, k, 1, 1, &e);
		return e.ok && e.cmp && e.literals;
	}
	case C_STMT:
		break;
	default:
		return 0;
	}
	switch (t->sub) {
	case S_INSERT:
		return is_kw(w, k + 1, K_INTO);
	case S_DELETE:
		return is_kw(w, k + 1, K_FROM);
	case S_UPDATE:
		return t1->cls == C_WORD && tk(w, k + 2)->cls == C_WORD &&
		       tk(w, k + 2)->sub == W_SET;
	case S_DROP:
	case S_CREATE:
	case S_ALTER:
	case S_TRUNCATE:
	case S_RENAME:
		return t1->cls == C_WORD && (t1->sub == W_OBJ || t->sub == S_TRUNCATE);
	case S_EXEC:
		return (t1->cls == C_WORD && (t1->sub == W_CMD || t1->sub == W_PROC)) ||
		       t1->cls == C_VAR;
	case S_DECLARE:
		return t1->cls == C_VAR;
	case S_SHUTDOWN:
		return t1->cls == C_EOF || t1->cls == C_COMMENT || t1->cls == C_SEMI;
	case S_WAITFOR:
		return t1->cls == C_WORD && t1->sub == W_DELAY;
	case S_GRANT:
		/* grant all [privileges] on ..., grant select on ... */
		if (!(is_kw(w, k + 1, K_ALL) || t1->cls == C_SELECT || t1->cls == C_STMT))
			return 0;
		return is_kw(w, k + 2, K_ON) || is_kw(w, k + 3, K_ON);
	case S_CALL:
		return t1->cls == C_FUNC;
	case S_COPY:
		/* PostgreSQL: copy t from/to ..., copy (select ...) to program '...' */
		return (t1->cls == C_WORD &&
		        (is_kw(w, k + 2, K_FROM) ||
		         (tk(w, k + 2)->cls == C_WORD && tk(w, k + 2)->sub == W_TO))) ||
		       (t1->cls == C_LPAREN && cls(w, k + 2) == C_SELECT);
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
		if (e->term != C_EOF && e->term != C_COMMENT && e->term != C_SEMI)
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

	if (!(is_kw(w, k, K_ORDER) || is_kw(w, k, K_GROUP)) || !is_kw(w, k + 1, K_BY))
		return 0;
	for (i = k + 2; i < k + 2 + 2 * 16; i += 2) {
		int c = cls(w, i), c1;

		if (c != C_NUM && !(quote && c == C_WORD))
			return 0;
		c1 = cls(w, i + 1);
		if (c1 == C_COMMA)
			continue;
		if (c1 == C_COMMENT)
			return (tk(w, i + 1)->flags & F_STRONG) != 0;
		if (c1 == C_EOF || c1 == C_SEMI)
			return !quote && c == C_NUM;
		if (is_kw(w, i + 1, K_HAVING)) {
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
	const struct tok *t;
	struct expr e;

	while (cls(w, k) == C_RPAREN)
		k++;
	/* MATCH (...) AGAINST ('x' IN BOOLEAN MODE): the value's own clause */
	if (cls(w, k) == C_OP && cls(w, k + 1) == C_WORD && tk(w, k + 1)->sub == W_FULLTEXT &&
	    cls(w, k + 2) == C_WORD && tk(w, k + 2)->sub == W_FULLTEXT) {
		k += 3;
		while (cls(w, k) == C_RPAREN)
			k++;
	}
	/* (... 'x') AS alias: the value closed a derived table */
	if (is_kw(w, k, K_AS) && cls(w, k + 1) == C_WORD)
		k += 2;
	t = tk(w, k);
	switch (t->cls) {
	case C_LOGIC:
		expr_scan(w, k + 1, 1, 0, &e);
		return interesting(&e, quote);
	case C_OP:
		if (t->sub == O_NOT)
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
		if (e.spaced || (tk(w, 0)->flags & F_SPACE))
			return 0;
		return e.cmp || (e.arith && (e.strong || e.strs));
	case C_COMMENT:
		/* admin'-- ; not 'comment character ("#")' */
		return quote && (t->flags & F_STRONG) && !(tk(w, 0)->flags & F_SPACE);
	case C_COMMA:
		/* ',if(1=1,1,1/0)-- : a value inside an argument list */
		if (!quote)
			return 0;
		expr_scan(w, k + 1, 1, 0, &e);
		return e.ok && (e.subq || e.attack || (e.calls && e.cmp));
	case C_SEMI:
		return quote && (cls(w, k + 1) == C_EOF || cls(w, k + 1) == C_COMMENT);
	case C_KW:
		if (t->sub == K_HAVING || t->sub == K_WHERE) {
			expr_scan(w, k + 1, 1, 0, &e);
			return interesting(&e, quote);
		}
		/* after a number: "1 order by 3"; else a truncating comment
		 * must follow ("alice order by 1-- x") */
		return order_by(w, k, quote || !lead_num);
	case C_STMT:
	case C_SELECT:
		return quote && statement(w, k);
	default:
		return 0;
	}
}

/* Rules that hold anywhere in the value, at token k. */
static int anywhere(struct win *w, size_t k, int quote)
{
	const struct tok *t = tk(w, k);
	struct expr e;
	size_t i;

	if (t->flags & F_EXEC) {
		/* "/ *!50000union* /": keywords hidden in executable comments */
		if (t->cls == C_UNION || t->cls == C_SELECT || t->cls == C_LOGIC ||
		    t->cls == C_STMT || t->cls == C_KW || t->cls == C_OP)
			return 1;
	}
	switch (t->cls) {
	case C_OP:
		/* a path segment starts a value of its own: /users/1 or 1=1 */
		if (quote || t->sub != O_SLASH)
			return 0;
		i = cls(w, k + 1);
		if (i != C_NUM && i != C_WORD)
			return 0;
		return after_lead(w, k + 2, 0, i == C_NUM);
	case C_UNION:
		i = k + 1;
		while (i < k + 8 &&
		       (is_kw(w, i, K_ALL) || is_kw(w, i, K_DISTINCT) || cls(w, i) == C_LPAREN))
			i++;
		return cls(w, i) == C_SELECT && select_list(w, i + 1);
	case C_SEMI:
		return statement(w, k + 1);
	case C_SELECT:
		if (k == 0 || cls(w, k - 1) == C_LPAREN) {
			/* "(select 1)" at the end is a parenthesis in text */
			if (cls(w, k + 1) == C_NUM && cls(w, k + 2) == C_RPAREN) {
				int c = cls(w, k + 3);

				return c == C_OP || c == C_LOGIC || c == C_UNION || c == C_RPAREN ||
				       c == C_COMMENT;
			}
			return select_list(w, k + 1);
		}
		return 0;
	case C_FUNC:
		if (t->sub != W_TIME && t->sub != W_FILE)
			return 0;
		expr_scan(w, k, 1, 1, &e);
		return e.ok && e.operands > 1;
	case C_KW:
		if (t->sub == K_CASE) {
			/* (case when 1=1 then a else b end): ORDER BY and column
			 * injection without a select */
			expr_scan(w, k, 1, 0, &e);
			return e.ok && e.cmp &&
			       (is_kw(w, k + 1, K_WHEN) || is_kw(w, k + 2, K_WHEN));
		}
		if (t->sub == K_INTO)
			return is_kw(w, k + 1, K_OUTFILE) || is_kw(w, k + 1, K_DUMPFILE);
		if (t->sub == K_FROM || t->sub == K_JOIN)
			return tk(w, k + 1)->cls == C_WORD && tk(w, k + 1)->sub == W_SCHEMA;
		return 0;
	case C_STMT:
		if (t->sub == S_WAITFOR)
			return statement(w, k);
		if (t->sub == S_EXEC)
			return tk(w, k + 1)->sub == W_CMD;
		return 0;
	case C_WORD:
		return t->sub == W_CMD;
	default:
		return 0;
	}
}

static int detect_ctx(const char *s, size_t len, int quote)
{
	struct win w;
	size_t k = 0;
	const struct tok *t;
	int lead_num = 0;

	win_init(&w, s, len, quote);
	if (quote) {
		t = tk(&w, 0);
		if (t->flags & F_UNTERM)
			return 0; /* never leaves the string */
		/* `...` is a column name after a value such as 1 or alice;
		 * "see `ls -la`" and "`code`" are Markdown */
		if (quote == '`' && (t->flags & (F_SPACE | F_EMPTY)))
			return 0;
		if (after_lead(&w, 1, 1, 0))
			return 1;
	} else {
		t = tk(&w, 0);
		if (t->cls == C_OP && t->sub == O_MINUS && cls(&w, 1) == C_NUM)
			k = 2;
		else if (t->cls == C_NUM || t->cls == C_WORD || t->cls == C_VAR || t->cls == C_STR)
			k = 1;
		lead_num = k > 0 && cls(&w, k - 1) == C_NUM;
		if (after_lead(&w, k, 0, lead_num))
			return 1;
		if (t->cls == C_LPAREN) {
			/* (5 like 5)*7 : a boolean probe in a number's place */
			struct expr e;

			expr_scan(&w, 0, 1, 0, &e);
			if (e.ok && e.cmp && e.literals >= 2 && !e.strs && !e.words &&
			    (e.arith || e.logic))
				return 1;
		}
	}
	for (k = 0;; k++) {
		w.base = k;
		if (cls(&w, k) == C_EOF)
			return 0;
		if (anywhere(&w, k, quote))
			return 1;
	}
}

/* Quick filter: a value without letters or quote-like bytes has nothing
 * to say to a database beyond arithmetic. */
static int worth_reading(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_alpha(c) || c == '\'' || c == '"' || c == ';' || c >= 0x80 || c == '|' ||
		    c == '&' || c == '#')
			return 1;
	}
	return 0;
}

static int has_quote(const char *s, size_t len, int q)
{
	size_t i, n;

	for (i = 0; i < len; i += n)
		if (ch_at((const unsigned char *)s, len, i, &n) == q)
			return 1;
	return 0;
}

int waf_detect_sqli(const char *s, size_t len)
{
	if (s == NULL || len == 0 || !worth_reading(s, len))
		return 0;
	if (detect_ctx(s, len, 0))
		return 1;
	if (has_quote(s, len, '\'') && detect_ctx(s, len, '\''))
		return 1;
	if (has_quote(s, len, '"') && detect_ctx(s, len, '"'))
		return 1;
	if (has_quote(s, len, '`') && detect_ctx(s, len, '`'))
		return 1; /* a column name: order by `<value>` */
	return 0;
}
