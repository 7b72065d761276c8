/* The SQL lexer behind detect_sqli, and its quick scan.
 *
 * The lexer reads some encodings as a database would: control characters
 * and NBSP are spaces, overlong UTF-8 (0xc0 0xa7) is the ASCII character,
 * the fullwidth apostrophe and quotation mark are quotes, comments between
 * tokens are spaces, MySQL's executable comments are code, a '%' that
 * starts no %XX escape is dropped (IIS's "%S%E%L%E%C%T").
 *
 * Speed: a byte that stands for itself (most of them) takes a table
 * lookup; only '%', control characters and a few UTF-8 lead bytes go
 * through the slow decoder. Keywords are found by first letter and
 * length, not by string comparisons over the whole list. */
#include "waf/sqli_lexer.h"

#include <stdint.h>
#include <string.h>

#define EXEC_MAX 16 /* nesting of MySQL executable comments tracked */

/* ---- characters */

/* clang-format off */
#define SP (CT_SPACE)
#define PU (CT_PLAIN)
#define GP (CT_PLAIN | CT_GAP)
#define DI (CT_PLAIN | CT_WORD | CT_DIGIT | CT_HEX)
#define HX (CT_PLAIN | CT_WORD | CT_ALPHA | CT_HEX)
#define AL (CT_PLAIN | CT_WORD | CT_ALPHA)
#define HU (HX | CT_UPPER)
#define AU (AL | CT_UPPER)
#define WD (CT_PLAIN | CT_WORD)
#define HI (CT_WORD) /* >= 0x80 that the decoder looks at */
const unsigned char sqli_ctype[256] = {
	SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, /* 0x00 */
	SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP, SP,
	GP | SP, PU, PU, GP, WD, 0, PU, PU, PU, PU, GP, PU, PU, GP, PU, GP, /* ' ' .. '/' */
	DI, DI, DI, DI, DI, DI, DI, DI, DI, DI, PU, PU, PU, PU, PU, PU,   /* '0' .. '?' */
	PU, HU, HU, HU, HU, HU, HU, AU, AU, AU, AU, AU, AU, AU, AU, AU,   /* '@' .. 'O' */
	AU, AU, AU, AU, AU, AU, AU, AU, AU, AU, AU, PU, PU, PU, PU, WD,   /* 'P' .. '_' */
	PU, HX, HX, HX, HX, HX, HX, AL, AL, AL, AL, AL, AL, AL, AL, AL,   /* '`' .. 'o' */
	AL, AL, AL, AL, AL, AL, AL, AL, AL, AL, AL, GP, PU, GP, PU, SP,   /* 'p' .. DEL */
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,   /* 0x80 */
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,
	SP | HI, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, /* 0xa0: NBSP */
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,
	HI, HI, HI, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,   /* 0xc0: overlong, NBSP */
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, HI,   /* 0xef: fullwidth */
	WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD, WD,
};
#undef SP
#undef PU
#undef GP
#undef DI
#undef HX
#undef AL
#undef HU
#undef AU
#undef WD
#undef HI
/* clang-format on */

static int is_alpha(int c)
{
	return c >= 0 && c < 0x100 && (sqli_ctype[c] & CT_ALPHA);
}

static int is_word_char(int c)
{
	return c >= 0 && c < 0x100 && (sqli_ctype[c] & CT_WORD);
}

/* The character at i as a database would see it, and its size in bytes
 * (*n, 0 at the end). Returns -1 at the end. A '%' that starts no %XX
 * escape is dropped, as IIS does (sqlmap's "percentage": %S%E%L%E%C%T);
 * one at the very end reads as a space. */
static int ch_slow(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	size_t skipped = 0;
	unsigned c;

	if (i >= len) {
		*n = 0;
		return -1;
	}
	while (s[i] == '%' &&
	       !(i + 2 < len && (sqli_ctype[s[i + 1]] & CT_HEX) && (sqli_ctype[s[i + 2]] & CT_HEX))) {
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

static inline int ch_at(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	if (i < len && (sqli_ctype[s[i]] & CT_PLAIN)) {
		*n = 1;
		return s[i];
	}
	return ch_slow(s, len, i, n);
}

static inline int lx_ch(const struct sqli_lexer *lx, size_t i, size_t *n)
{
	return ch_at(lx->s, lx->len, i, n);
}

/* ---- keywords */


#define KW(name, cls, sub)                                                                         \
	{                                                                                          \
		name, sizeof(name) - 1, cls, sub                                                   \
	}

/* By first letter, then by length (the lookup stops at longer words). */
/* clang-format off */
static const struct sqli_kw kw_a[] = {
	KW("as", SQLI_KW, SQLI_K_AS), KW("all", SQLI_KW, SQLI_K_ALL), KW("and", SQLI_LOGIC, 0),
	KW("asc", SQLI_KW, SQLI_K_ASC), KW("alter", SQLI_STMT, SQLI_S_ALTER),
};
static const struct sqli_kw kw_b[] = {
	KW("by", SQLI_KW, SQLI_K_BY), KW("between", SQLI_OP, SQLI_O_CMP),
	KW("boolean", SQLI_WORD, SQLI_W_FULLTEXT), KW("benchmark", SQLI_WORD, SQLI_W_TIME),
};
static const struct sqli_kw kw_c[] = {
	KW("call", SQLI_STMT, SQLI_S_CALL), KW("case", SQLI_KW, SQLI_K_CASE),
	KW("copy", SQLI_STMT, SQLI_S_COPY), KW("create", SQLI_STMT, SQLI_S_CREATE),
};
static const struct sqli_kw kw_d[] = {
	KW("div", SQLI_OP, SQLI_O_ARITH), KW("desc", SQLI_KW, SQLI_K_DESC),
	KW("drop", SQLI_STMT, SQLI_S_DROP), KW("delay", SQLI_WORD, SQLI_W_DELAY),
	KW("delete", SQLI_STMT, SQLI_S_DELETE), KW("declare", SQLI_STMT, SQLI_S_DECLARE),
	KW("database", SQLI_WORD, SQLI_W_OBJ), KW("distinct", SQLI_KW, SQLI_K_DISTINCT),
	KW("dumpfile", SQLI_KW, SQLI_K_DUMPFILE), KW("dbms_lock.sleep", SQLI_WORD, SQLI_W_TIME),
	KW("dbms_pipe.receive_message", SQLI_WORD, SQLI_W_TIME),
};
static const struct sqli_kw kw_e[] = {
	KW("end", SQLI_KW, SQLI_K_END), KW("else", SQLI_KW, SQLI_K_ELSE),
	KW("exec", SQLI_STMT, SQLI_S_EXEC), KW("exists", SQLI_KW, SQLI_K_EXISTS),
	KW("execute", SQLI_STMT, SQLI_S_EXEC), KW("extractvalue", SQLI_WORD, SQLI_W_FILE),
};
static const struct sqli_kw kw_f[] = {
	KW("from", SQLI_KW, SQLI_K_FROM), KW("false", SQLI_KW, SQLI_K_FALSE),
	KW("function", SQLI_WORD, SQLI_W_OBJ),
};
static const struct sqli_kw kw_g[] = {
	KW("glob", SQLI_OP, SQLI_O_CMP), KW("grant", SQLI_STMT, SQLI_S_GRANT),
	KW("group", SQLI_KW, SQLI_K_GROUP), KW("get_lock", SQLI_WORD, SQLI_W_TIME),
};
static const struct sqli_kw kw_h[] = {
	KW("having", SQLI_KW, SQLI_K_HAVING),
};
static const struct sqli_kw kw_i[] = {
	KW("in", SQLI_OP, SQLI_O_CMP), KW("is", SQLI_OP, SQLI_O_IS),
	KW("into", SQLI_KW, SQLI_K_INTO),
	KW("ilike", SQLI_OP, SQLI_O_CMP), KW("index", SQLI_WORD, SQLI_W_OBJ),
	KW("insert", SQLI_STMT, SQLI_S_INSERT), KW("interval", SQLI_KW, SQLI_K_INTERVAL),
};
static const struct sqli_kw kw_j[] = {
	KW("join", SQLI_KW, SQLI_K_JOIN),
};
static const struct sqli_kw kw_l[] = {
	KW("like", SQLI_OP, SQLI_O_CMP), KW("limit", SQLI_KW, SQLI_K_LIMIT),
	KW("lo_import", SQLI_WORD, SQLI_W_FILE), KW("load_file", SQLI_WORD, SQLI_W_FILE),
};
static const struct sqli_kw kw_m[] = {
	KW("mod", SQLI_OP, SQLI_O_ARITH), KW("mode", SQLI_WORD, SQLI_W_FULLTEXT),
};
static const struct sqli_kw kw_n[] = {
	KW("not", SQLI_OP, SQLI_O_NOT), KW("null", SQLI_KW, SQLI_K_NULL),
};
static const struct sqli_kw kw_o[] = {
	KW("on", SQLI_KW, SQLI_K_ON), KW("or", SQLI_LOGIC, 0), KW("order", SQLI_KW, SQLI_K_ORDER),
	KW("offset", SQLI_KW, SQLI_K_OFFSET), KW("outfile", SQLI_KW, SQLI_K_OUTFILE),
};
static const struct sqli_kw kw_p[] = {
	KW("pg_sleep", SQLI_WORD, SQLI_W_TIME), KW("procedure", SQLI_WORD, SQLI_W_OBJ),
	KW("pg_read_file", SQLI_WORD, SQLI_W_FILE), KW("pg_sleep_for", SQLI_WORD, SQLI_W_TIME),
};
static const struct sqli_kw kw_r[] = {
	KW("rlike", SQLI_OP, SQLI_O_CMP), KW("regexp", SQLI_OP, SQLI_O_CMP),
	KW("rename", SQLI_STMT, SQLI_S_RENAME), KW("revoke", SQLI_STMT, SQLI_S_GRANT),
	KW("randomblob", SQLI_WORD, SQLI_W_TIME),
};
static const struct sqli_kw kw_s[] = {
	KW("set", SQLI_WORD, SQLI_W_SET), KW("sleep", SQLI_WORD, SQLI_W_TIME),
	KW("schema", SQLI_WORD, SQLI_W_OBJ), KW("select", SQLI_SELECT, 0),
	KW("sounds", SQLI_OP, SQLI_O_CMP), KW("shutdown", SQLI_STMT, SQLI_S_SHUTDOWN),
	KW("sys_eval", SQLI_WORD, SQLI_W_FILE), KW("sys_exec", SQLI_WORD, SQLI_W_FILE),
};
static const struct sqli_kw kw_t[] = {
	KW("to", SQLI_WORD, SQLI_W_TO), KW("then", SQLI_KW, SQLI_K_THEN),
	KW("time", SQLI_WORD, SQLI_W_DELAY), KW("true", SQLI_KW, SQLI_K_TRUE),
	KW("table", SQLI_WORD, SQLI_W_OBJ), KW("trigger", SQLI_WORD, SQLI_W_OBJ),
	KW("truncate", SQLI_STMT, SQLI_S_TRUNCATE),
};
static const struct sqli_kw kw_u[] = {
	KW("user", SQLI_WORD, SQLI_W_OBJ), KW("union", SQLI_UNION, 0),
	KW("update", SQLI_STMT, SQLI_S_UPDATE), KW("updatexml", SQLI_WORD, SQLI_W_FILE),
	KW("utl_http.request", SQLI_WORD, SQLI_W_FILE),
	KW("utl_inaddr.get_host_address", SQLI_WORD, SQLI_W_FILE),
};
static const struct sqli_kw kw_v[] = {
	KW("view", SQLI_WORD, SQLI_W_OBJ), KW("values", SQLI_KW, SQLI_K_VALUES),
};
static const struct sqli_kw kw_w[] = {
	KW("when", SQLI_KW, SQLI_K_WHEN), KW("where", SQLI_KW, SQLI_K_WHERE),
	KW("waitfor", SQLI_STMT, SQLI_S_WAITFOR),
};
static const struct sqli_kw kw_x[] = {
	KW("xor", SQLI_LOGIC, 0),
};

/* Words whose prefix marks a system catalogue or a command procedure;
 * the first match in order wins (master..xp_ before master..). */
static const struct sqli_kw pfx_a[] = {
	KW("all_tables", 0, SQLI_W_SCHEMA), KW("all_users", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_d[] = {
	KW("dba_users", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_i[] = {
	KW("information_schema", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_m[] = {
	KW("mysql.user", 0, SQLI_W_SCHEMA), KW("mysql.db", 0, SQLI_W_SCHEMA),
	KW("master..xp_", 0, SQLI_W_CMD), KW("master.dbo.xp_", 0, SQLI_W_CMD),
	KW("master..", 0, SQLI_W_SCHEMA), KW("master.dbo.", 0, SQLI_W_SCHEMA),
	KW("msysobjects", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_p[] = {
	KW("performance_schema", 0, SQLI_W_SCHEMA), KW("pg_catalog", 0, SQLI_W_SCHEMA),
	KW("pg_shadow", 0, SQLI_W_SCHEMA), KW("pg_user", 0, SQLI_W_SCHEMA),
	KW("pg_tables", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_s[] = {
	KW("sysobjects", 0, SQLI_W_SCHEMA), KW("syscolumns", 0, SQLI_W_SCHEMA),
	KW("sysdatabases", 0, SQLI_W_SCHEMA), KW("sys.", 0, SQLI_W_SCHEMA),
	KW("sqlite_master", 0, SQLI_W_SCHEMA), KW("sqlite_schema", 0, SQLI_W_SCHEMA),
	KW("sp_oacreate", 0, SQLI_W_CMD), KW("sp_makewebtask", 0, SQLI_W_CMD),
	KW("sp_addextendedproc", 0, SQLI_W_CMD), KW("sp_executesql", 0, SQLI_W_CMD),
	KW("sp_", 0, SQLI_W_PROC),
};
static const struct sqli_kw pfx_u[] = {
	KW("user_tables", 0, SQLI_W_SCHEMA),
};
static const struct sqli_kw pfx_x[] = {
	KW("xp_cmdshell", 0, SQLI_W_CMD), KW("xp_regread", 0, SQLI_W_CMD),
	KW("xp_dirtree", 0, SQLI_W_CMD), KW("xp_fileexist", 0, SQLI_W_CMD),
	KW("xp_", 0, SQLI_W_PROC),
};
/* clang-format on */

struct kw_list {
	const struct sqli_kw *kw;
	size_t n;
};

#define LIST(a)                                                                                    \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0])                                                        \
	}
static const struct kw_list kw_by_letter[26] = {
    ['a' - 'a'] = LIST(kw_a), ['b' - 'a'] = LIST(kw_b), ['c' - 'a'] = LIST(kw_c),
    ['d' - 'a'] = LIST(kw_d), ['e' - 'a'] = LIST(kw_e), ['f' - 'a'] = LIST(kw_f),
    ['g' - 'a'] = LIST(kw_g), ['h' - 'a'] = LIST(kw_h), ['i' - 'a'] = LIST(kw_i),
    ['j' - 'a'] = LIST(kw_j), ['l' - 'a'] = LIST(kw_l), ['m' - 'a'] = LIST(kw_m),
    ['n' - 'a'] = LIST(kw_n), ['o' - 'a'] = LIST(kw_o), ['p' - 'a'] = LIST(kw_p),
    ['r' - 'a'] = LIST(kw_r), ['s' - 'a'] = LIST(kw_s), ['t' - 'a'] = LIST(kw_t),
    ['u' - 'a'] = LIST(kw_u), ['v' - 'a'] = LIST(kw_v), ['w' - 'a'] = LIST(kw_w),
    ['x' - 'a'] = LIST(kw_x),
};
static const struct kw_list pfx_by_letter[26] = {
    ['a' - 'a'] = LIST(pfx_a), ['d' - 'a'] = LIST(pfx_d), ['i' - 'a'] = LIST(pfx_i),
    ['m' - 'a'] = LIST(pfx_m), ['p' - 'a'] = LIST(pfx_p), ['s' - 'a'] = LIST(pfx_s),
    ['u' - 'a'] = LIST(pfx_u), ['x' - 'a'] = LIST(pfx_x),
};
#undef LIST

/* memcmp for the few bytes of a keyword, without a call. */
static int same(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The keyword spelled by the lowercase word w (n bytes), or NULL. */
const struct sqli_kw *sqli_kw_find(const char *w, size_t n)
{
	const struct kw_list *l;
	size_t i;

	if (n < 2 || w[0] < 'a' || w[0] > 'z')
		return NULL;
	l = &kw_by_letter[w[0] - 'a'];
	for (i = 0; i < l->n && l->kw[i].len <= n; i++)
		if (l->kw[i].len == n && same(l->kw[i].name + 1, w + 1, n - 1))
			return &l->kw[i];
	return NULL;
}

/* The sub of the first prefix the lowercase word w (n bytes) starts with,
 * else SQLI_K_NONE. */
int sqli_prefix_find(const char *w, size_t n)
{
	const struct kw_list *l;
	size_t i;

	if (w[0] < 'a' || w[0] > 'z')
		return SQLI_K_NONE;
	l = &pfx_by_letter[w[0] - 'a'];
	for (i = 0; i < l->n; i++)
		if (l->kw[i].len <= n && same(l->kw[i].name + 1, w + 1, l->kw[i].len - 1u))
			return l->kw[i].sub;
	return SQLI_K_NONE;
}

/* ---- comments and gaps */

/* Skip a line comment whose marker (mlen bytes) starts at pos; returns 2
 * when it looks like a deliberate truncation ("--", "-- -", "-- abcd",
 * "#"), else 1. */
static int skip_line_comment(struct sqli_lexer *lx, size_t mlen, int hash)
{
	size_t i = lx->pos + mlen, n, words = 0, wlen = 0, maxw = 0;
	int c, inword = 0, first = 1, strong;

	strong = 1;
	while ((c = lx_ch(lx, i, &n)) != -1 && lx->s[i] != '\n') {
		if (first && hash && (is_alpha(c) || sqli_is_digit(c)))
			strong = 0; /* "#1", "#tag": a hash in text */
		first = 0;
		if (c == ' ') {
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
static size_t comment_end(const struct sqli_lexer *lx, size_t i)
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
static void skip_gaps(struct sqli_lexer *lx)
{
	size_t n, n2, n3;
	int c, c2;

	for (;;) {
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1 || !(sqli_ctype[c] & CT_GAP))
			return; /* most tokens: no gap at all */
		if (c == ' ' || c == '{' || c == '}') {
			/* ODBC escapes "{fn concat(...)}" read as the call */
			lx->pos += n;
			if (c == '{' && lx->pos + 3 <= lx->len && sqli_lower(lx->s[lx->pos]) == 'f' &&
			    sqli_lower(lx->s[lx->pos + 1]) == 'n' && lx->s[lx->pos + 2] == ' ')
				lx->pos += 3;
			continue;
		}
		c2 = lx_ch(lx, lx->pos + n, &n2);
		if (lx->exec > 0 && c == '*' && c2 == '/') {
			lx->pos += n + n2;
			lx->exec--;
			continue;
		}
		if (c == '/' && c2 == '*') {
			if (lx_ch(lx, lx->pos + n + n2, &n3) == '!') {
				lx->pos += n + n2 + n3;
				while (sqli_is_digit(lx_ch(lx, lx->pos, &n)))
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

/* The next character after pos that is not a space or a comment. */
static int next_code_char(const struct sqli_lexer *lx, size_t pos)
{
	size_t n, n2, n3;
	int c;

	for (;;) {
		c = lx_ch(lx, pos, &n);
		if (c == ' ') {
			pos += n;
			continue;
		}
		if (c == '/' && lx_ch(lx, pos + n, &n2) == '*' &&
		    lx_ch(lx, pos + n + n2, &n3) != '!') {
			pos = comment_end(lx, pos + n + n2);
			continue;
		}
		return c;
	}
}

/* ---- tokens */

/* Flags for a string's content: its first characters (up to 5) and
 * whether a space was seen. */
static unsigned char string_flags(const char *head, size_t n, size_t total, int space)
{
	unsigned char f = (space ? SQLI_F_SPACE : 0) | (total == 0 ? SQLI_F_EMPTY : 0);
	size_t i;

	if (total > 0 && head[0] >= '1' && head[0] <= '9')
		return f | SQLI_F_TRUTHY;
	if (total == 0 || total > 4 || (sqli_lower(head[0]) != 't' && sqli_lower(head[0]) != 'y'))
		return f;
	for (i = 0; i < n; i++)
		if (!is_alpha(head[i]))
			return f;
	return f | SQLI_F_TRUTHY; /* t, true, y, yes */
}

static void lex_string(struct sqli_lexer *lx, struct sqli_tok *t, int q, int first_in_ctx)
{
	char head[5];
	size_t n, n2 = 0, total = 0, p;
	int c, space = 0;

	t->cls = SQLI_STR;
	if (!first_in_ctx) {
		lx_ch(lx, lx->pos, &n);
		lx->pos += n;
	}
	for (;;) {
		/* bytes that stand for themselves and end nothing, in bulk */
		for (p = lx->pos; p < lx->len; p++) {
			unsigned char b = lx->s[p];

			if (!(sqli_ctype[b] & CT_PLAIN) || b == q || b == '\\')
				break;
			if (total < sizeof(head))
				head[total] = (char)b;
			total++;
			space |= b == ' ';
		}
		lx->pos = p;
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1) {
			t->flags |=
			    SQLI_F_UNTERM | string_flags(head, total < 5 ? total : 5, total, space);
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
		space |= c == ' ';
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

size_t sqli_number_end(const char *str, size_t len, size_t i)
{
	const unsigned char *s = (const unsigned char *)str;

	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X' || s[i + 1] == 'b')) {
		i += 2;
		while (i < len && (sqli_ctype[s[i]] & CT_HEX))
			i++;
		return i;
	}
	while (i < len && sqli_is_digit(s[i]))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && sqli_is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;

		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < len && sqli_is_digit(s[j])) {
			i = j;
			while (i < len && sqli_is_digit(s[i]))
				i++;
		} else if (j < len && (s[j] == '(' || (s[i - 1] == '.'))) {
			i = j; /* MySQL "1.e(" and "1.eunion" */
		}
	}
	/* Oracle's 1d / 1f literals before a keyword ("1dunion") */
	if (i + 6 <= len && (sqli_lower(s[i]) == 'd' || sqli_lower(s[i]) == 'f') && sqli_lower(s[i + 1]) == 'u' &&
	    sqli_lower(s[i + 2]) == 'n' && sqli_lower(s[i + 3]) == 'i' && sqli_lower(s[i + 4]) == 'o' &&
	    sqli_lower(s[i + 5]) == 'n')
		i++;
	return i;
}

static void lex_number(struct sqli_lexer *lx, struct sqli_tok *t)
{
	t->cls = SQLI_NUM;
	lx->pos = sqli_number_end((const char *)lx->s, lx->len, lx->pos);
}

static void classify_word(struct sqli_lexer *lx, struct sqli_tok *t, const char *w, size_t wl,
                          int dotted)
{
	const struct sqli_kw *k;

	t->cls = SQLI_WORD;
	t->sub = SQLI_K_NONE;
	if (wl > 0 && sqli_is_digit((unsigned char)w[0]) && !dotted) {
		t->cls = SQLI_NUM; /* digits read through dropped '%': %1%2%3 */
		return;
	}
	if (wl > 0 && wl < SQLI_WORD_MAX) {
		k = sqli_kw_find(w, wl);
		if (k != NULL && (!dotted || k->cls == SQLI_WORD)) {
			t->cls = k->cls;
			t->sub = k->sub;
		}
		if (t->cls == SQLI_WORD && t->sub == SQLI_K_NONE)
			t->sub = (unsigned char)sqli_prefix_find(w, wl);
	}
	/* A word (or a statement verb: MySQL's insert(), replace()) right
	 * before '(' is a call. */
	if ((t->cls == SQLI_WORD || t->cls == SQLI_STMT) && next_code_char(lx, lx->pos) == '(')
		t->cls = SQLI_FUNC; /* sub kept: exec('...') is still SQLI_S_EXEC */
}

static void lex_word(struct sqli_lexer *lx, struct sqli_tok *t)
{
	char w[SQLI_WORD_MAX + 1];
	size_t wl = 0, n, n2, p;
	int c, c2, dotted = 0;

	for (;;) {
		/* letters, digits, '_', '$' and UTF-8 bytes, in bulk */
		for (p = lx->pos; p < lx->len; p++)
			if ((sqli_ctype[lx->s[p]] & (CT_PLAIN | CT_WORD)) != (CT_PLAIN | CT_WORD))
				break;
		for (n = lx->pos; n < p && wl < SQLI_WORD_MAX; n++)
			w[wl++] = (char)sqli_lower_b(lx->s[n]);
		wl += p - n; /* past SQLI_WORD_MAX: counted, not kept */
		lx->pos = p;
		c = lx_ch(lx, lx->pos, &n);
		if (c == -1)
			break;
		if (c == '.') {
			c2 = lx_ch(lx, lx->pos + n, &n2);
			if (wl == 0 || !(is_word_char(c2) || c2 == '.'))
				break;
			dotted = 1;
		} else if (!is_word_char(c)) {
			break;
		}
		if (wl < SQLI_WORD_MAX)
			w[wl] = (char)sqli_lower(c);
		wl++;
		lx->pos += n;
	}
	w[wl < SQLI_WORD_MAX ? wl : SQLI_WORD_MAX] = '\0';
	classify_word(lx, t, w, wl < SQLI_WORD_MAX ? wl : SQLI_WORD_MAX + 1, dotted);
}

static void lex_operator(struct sqli_lexer *lx, struct sqli_tok *t, int c)
{
	size_t n, n2, n3;
	int c2, c3;

	lx_ch(lx, lx->pos, &n);
	c2 = lx_ch(lx, lx->pos + n, &n2);
	c3 = lx_ch(lx, lx->pos + n + n2, &n3);
	t->cls = SQLI_OP;
	t->sub = SQLI_O_ARITH;
	lx->pos += n;
	switch (c) {
	case '=':
		t->sub = SQLI_O_CMP;
		if (c2 == '=')
			lx->pos += n2;
		return;
	case '<':
		t->sub = SQLI_O_CMP;
		if (c2 == '=' && c3 == '>') {
			lx->pos += n2 + n3;
		} else if (c2 == '=' || c2 == '>') {
			lx->pos += n2;
		} else if (c2 == '<') {
			lx->pos += n2;
			t->sub = SQLI_O_ARITH;
		}
		return;
	case '>':
		t->sub = SQLI_O_CMP;
		if (c2 == '=') {
			lx->pos += n2;
		} else if (c2 == '>') {
			lx->pos += n2;
			t->sub = SQLI_O_ARITH;
		}
		return;
	case '!':
		if (c2 == '=') {
			lx->pos += n2;
			t->sub = SQLI_O_CMP;
		} else {
			t->sub = SQLI_O_NOT;
		}
		return;
	case '~':
		t->sub = SQLI_O_NOT;
		return;
	case '|':
	case '&':
		if (c2 == c) {
			lx->pos += n2;
			t->cls = SQLI_LOGIC;
			t->sub = 0;
		}
		return;
	case ':':
		if (c2 == ':' || c2 == '=') {
			lx->pos += n2;
			t->sub = c2 == '=' ? SQLI_O_CMP : SQLI_O_ARITH;
			return;
		}
		t->cls = SQLI_OTHER;
		return;
	case '*':
		t->sub = SQLI_O_STAR;
		return;
	case '-':
	case '+':
		t->sub = SQLI_O_MINUS;
		return;
	case '/':
		t->sub = SQLI_O_SLASH;
		return;
	default:
		return; /* % ^ */
	}
}

/* A one-character token: ( ) , ; or anything the lexer has no use for. */
static void lex_punct(struct sqli_lexer *lx, struct sqli_tok *t, int c, size_t n)
{
	switch (c) {
	case '(':
		t->cls = SQLI_LPAREN;
		break;
	case ')':
		t->cls = SQLI_RPAREN;
		break;
	case ',':
		t->cls = SQLI_COMMA;
		break;
	case ';':
		t->cls = SQLI_SEMI;
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
		t->cls = SQLI_OTHER;
		break;
	}
	lx->pos += n;
}

/* Produce the next token into t. */
static void lex_token(struct sqli_lexer *lx, struct sqli_tok *t)
{
	const unsigned char *s = lx->s;
	size_t n;
	int c, first = !lx->started;

	t->cls = SQLI_EOF;
	t->sub = 0;
	t->flags = 0;
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
			t->cls = SQLI_COMMENT;
			t->flags = lx->pending == 2 ? SQLI_F_STRONG : 0;
			lx->pending = 0;
		}
		return;
	}
	if (lx->exec_new) {
		t->flags |= SQLI_F_EXEC;
		lx->exec_new = 0;
	}
	if (c == '\'' || c == '"') {
		lex_string(lx, t, c, 0);
	} else if (c == '`') {
		lex_string(lx, t, c, 0);
		t->cls = SQLI_WORD; /* quoted identifier */
		t->flags = 0;
	} else if (sqli_is_digit(s[lx->pos]) ||
	           (s[lx->pos] == '.' && lx->pos + 1 < lx->len && sqli_is_digit(s[lx->pos + 1]))) {
		lex_number(lx, t); /* reads raw bytes: an overlong digit is a word */
	} else if (c == '@') {
		lx->pos += n;
		if (lx_ch(lx, lx->pos, &n) == '@')
			lx->pos += n;
		while (lx->pos < lx->len && is_word_char(s[lx->pos]))
			lx->pos++;
		t->cls = SQLI_VAR;
	} else if (is_word_char(c)) {
		lex_word(lx, t);
	} else {
		lex_punct(lx, t, c, n);
	}
}

void sqli_lexer_init(struct sqli_lexer *lx, const char *s, size_t len, int quote)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = (const unsigned char *)s;
	lx->len = len;
	lx->quote = quote;
}

void sqli_lexer_init_at(struct sqli_lexer *lx, const char *s, size_t len, size_t pos)
{
	sqli_lexer_init(lx, s, len, 0);
	lx->pos = pos;
	lx->started = 1;
}

void sqli_lexer_next(struct sqli_lexer *lx, struct sqli_tok *t)
{
	size_t before = lx->pos;

	lex_token(lx, t);
	if (t->cls != SQLI_EOF && t->cls != SQLI_COMMENT && lx->pos == before && lx->pos < lx->len)
		lx->pos++; /* a token always consumes input */
}

int sqli_has_quote(const char *str, size_t len, int q)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, n;

	if (memchr(s, q, len) != NULL)
		return 1;
	/* else only an overlong (0xc0 0xa7) or fullwidth (0xef 0xbc 0x87) form */
	if (memchr(s, 0xc0, len) == NULL && memchr(s, 0xc1, len) == NULL &&
	    memchr(s, 0xef, len) == NULL)
		return 0;
	for (i = 0; i < len; i += n)
		if (ch_at(s, len, i, &n) == q)
			return 1;
	return 0;
}
