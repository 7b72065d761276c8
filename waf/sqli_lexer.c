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

#define WORD_MAX 40 /* longer words are plain identifiers */
#define EXEC_MAX 16 /* nesting of MySQL executable comments tracked */

/* ---- characters */

#define CT_PLAIN 1 /* the byte is the character, alone (no decoding) */
#define CT_WORD  2 /* letter, digit, '_', '$', >= 0x80 */
#define CT_DIGIT 4
#define CT_ALPHA 8
#define CT_GAP   16 /* may start a gap: ' ' '{' '}' '*' '/' '-' '#' */
#define CT_SPACE 32 /* a raw byte read as a space: ' ', controls, DEL, NBSP */
#define CT_HEX   64
#define CT_UPPER 128 /* 'A'..'Z': lower() adds (CT_UPPER >> 2) */

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
static const unsigned char ctype[256] = {
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

static int is_digit(int c)
{
	return c >= 0 && c < 0x100 && (ctype[c] & CT_DIGIT);
}

static int is_alpha(int c)
{
	return c >= 0 && c < 0x100 && (ctype[c] & CT_ALPHA);
}

static int is_word_char(int c)
{
	return c >= 0 && c < 0x100 && (ctype[c] & CT_WORD);
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* lower() of a byte, without a branch. */
static inline unsigned char lower_b(unsigned char b)
{
	return (unsigned char)(b | ((ctype[b] & CT_UPPER) >> 2));
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
	       !(i + 2 < len && (ctype[s[i + 1]] & CT_HEX) && (ctype[s[i + 2]] & CT_HEX))) {
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
	if (i < len && (ctype[s[i]] & CT_PLAIN)) {
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

struct kw {
	const char *name;
	unsigned char len;
	unsigned char cls;
	unsigned char sub;
};

#define KW(name, cls, sub)                                                                         \
	{                                                                                          \
		name, sizeof(name) - 1, cls, sub                                                   \
	}

/* By first letter, then by length (the lookup stops at longer words). */
/* clang-format off */
static const struct kw kw_a[] = {
	KW("as", SQLI_KW, SQLI_K_AS), KW("all", SQLI_KW, SQLI_K_ALL), KW("and", SQLI_LOGIC, 0),
	KW("asc", SQLI_KW, SQLI_K_ASC), KW("alter", SQLI_STMT, SQLI_S_ALTER),
};
static const struct kw kw_b[] = {
	KW("by", SQLI_KW, SQLI_K_BY), KW("between", SQLI_OP, SQLI_O_CMP),
	KW("boolean", SQLI_WORD, SQLI_W_FULLTEXT), KW("benchmark", SQLI_WORD, SQLI_W_TIME),
};
static const struct kw kw_c[] = {
	KW("call", SQLI_STMT, SQLI_S_CALL), KW("case", SQLI_KW, SQLI_K_CASE),
	KW("copy", SQLI_STMT, SQLI_S_COPY), KW("create", SQLI_STMT, SQLI_S_CREATE),
};
static const struct kw kw_d[] = {
	KW("div", SQLI_OP, SQLI_O_ARITH), KW("desc", SQLI_KW, SQLI_K_DESC),
	KW("drop", SQLI_STMT, SQLI_S_DROP), KW("delay", SQLI_WORD, SQLI_W_DELAY),
	KW("delete", SQLI_STMT, SQLI_S_DELETE), KW("declare", SQLI_STMT, SQLI_S_DECLARE),
	KW("database", SQLI_WORD, SQLI_W_OBJ), KW("distinct", SQLI_KW, SQLI_K_DISTINCT),
	KW("dumpfile", SQLI_KW, SQLI_K_DUMPFILE), KW("dbms_lock.sleep", SQLI_WORD, SQLI_W_TIME),
	KW("dbms_pipe.receive_message", SQLI_WORD, SQLI_W_TIME),
};
static const struct kw kw_e[] = {
	KW("end", SQLI_KW, SQLI_K_END), KW("else", SQLI_KW, SQLI_K_ELSE),
	KW("exec", SQLI_STMT, SQLI_S_EXEC), KW("exists", SQLI_KW, SQLI_K_EXISTS),
	KW("execute", SQLI_STMT, SQLI_S_EXEC), KW("extractvalue", SQLI_WORD, SQLI_W_FILE),
};
static const struct kw kw_f[] = {
	KW("from", SQLI_KW, SQLI_K_FROM), KW("false", SQLI_KW, SQLI_K_FALSE),
	KW("function", SQLI_WORD, SQLI_W_OBJ),
};
static const struct kw kw_g[] = {
	KW("glob", SQLI_OP, SQLI_O_CMP), KW("grant", SQLI_STMT, SQLI_S_GRANT),
	KW("group", SQLI_KW, SQLI_K_GROUP), KW("get_lock", SQLI_WORD, SQLI_W_TIME),
};
static const struct kw kw_h[] = {
	KW("having", SQLI_KW, SQLI_K_HAVING),
};
static const struct kw kw_i[] = {
	KW("in", SQLI_OP, SQLI_O_CMP), KW("is", SQLI_OP, SQLI_O_IS),
	KW("into", SQLI_KW, SQLI_K_INTO),
	KW("ilike", SQLI_OP, SQLI_O_CMP), KW("index", SQLI_WORD, SQLI_W_OBJ),
	KW("insert", SQLI_STMT, SQLI_S_INSERT), KW("interval", SQLI_KW, SQLI_K_INTERVAL),
};
static const struct kw kw_j[] = {
	KW("join", SQLI_KW, SQLI_K_JOIN),
};
static const struct kw kw_l[] = {
	KW("like", SQLI_OP, SQLI_O_CMP), KW("limit", SQLI_KW, SQLI_K_LIMIT),
	KW("lo_import", SQLI_WORD, SQLI_W_FILE), KW("load_file", SQLI_WORD, SQLI_W_FILE),
};
static const struct kw kw_m[] = {
	KW("mod", SQLI_OP, SQLI_O_ARITH), KW("mode", SQLI_WORD, SQLI_W_FULLTEXT),
};
static const struct kw kw_n[] = {
	KW("not", SQLI_OP, SQLI_O_NOT), KW("null", SQLI_KW, SQLI_K_NULL),
};
static const struct kw kw_o[] = {
	KW("on", SQLI_KW, SQLI_K_ON), KW("or", SQLI_LOGIC, 0), KW("order", SQLI_KW, SQLI_K_ORDER),
	KW("offset", SQLI_KW, SQLI_K_OFFSET), KW("outfile", SQLI_KW, SQLI_K_OUTFILE),
};
static const struct kw kw_p[] = {
	KW("pg_sleep", SQLI_WORD, SQLI_W_TIME), KW("procedure", SQLI_WORD, SQLI_W_OBJ),
	KW("pg_read_file", SQLI_WORD, SQLI_W_FILE), KW("pg_sleep_for", SQLI_WORD, SQLI_W_TIME),
};
static const struct kw kw_r[] = {
	KW("rlike", SQLI_OP, SQLI_O_CMP), KW("regexp", SQLI_OP, SQLI_O_CMP),
	KW("rename", SQLI_STMT, SQLI_S_RENAME), KW("revoke", SQLI_STMT, SQLI_S_GRANT),
	KW("randomblob", SQLI_WORD, SQLI_W_TIME),
};
static const struct kw kw_s[] = {
	KW("set", SQLI_WORD, SQLI_W_SET), KW("sleep", SQLI_WORD, SQLI_W_TIME),
	KW("schema", SQLI_WORD, SQLI_W_OBJ), KW("select", SQLI_SELECT, 0),
	KW("sounds", SQLI_OP, SQLI_O_CMP), KW("shutdown", SQLI_STMT, SQLI_S_SHUTDOWN),
	KW("sys_eval", SQLI_WORD, SQLI_W_FILE), KW("sys_exec", SQLI_WORD, SQLI_W_FILE),
};
static const struct kw kw_t[] = {
	KW("to", SQLI_WORD, SQLI_W_TO), KW("then", SQLI_KW, SQLI_K_THEN),
	KW("time", SQLI_WORD, SQLI_W_DELAY), KW("true", SQLI_KW, SQLI_K_TRUE),
	KW("table", SQLI_WORD, SQLI_W_OBJ), KW("trigger", SQLI_WORD, SQLI_W_OBJ),
	KW("truncate", SQLI_STMT, SQLI_S_TRUNCATE),
};
static const struct kw kw_u[] = {
	KW("user", SQLI_WORD, SQLI_W_OBJ), KW("union", SQLI_UNION, 0),
	KW("update", SQLI_STMT, SQLI_S_UPDATE), KW("updatexml", SQLI_WORD, SQLI_W_FILE),
	KW("utl_http.request", SQLI_WORD, SQLI_W_FILE),
	KW("utl_inaddr.get_host_address", SQLI_WORD, SQLI_W_FILE),
};
static const struct kw kw_v[] = {
	KW("view", SQLI_WORD, SQLI_W_OBJ), KW("values", SQLI_KW, SQLI_K_VALUES),
};
static const struct kw kw_w[] = {
	KW("when", SQLI_KW, SQLI_K_WHEN), KW("where", SQLI_KW, SQLI_K_WHERE),
	KW("waitfor", SQLI_STMT, SQLI_S_WAITFOR),
};
static const struct kw kw_x[] = {
	KW("xor", SQLI_LOGIC, 0),
};

/* Words whose prefix marks a system catalogue or a command procedure;
 * the first match in order wins (master..xp_ before master..). */
static const struct kw pfx_a[] = {
	KW("all_tables", 0, SQLI_W_SCHEMA), KW("all_users", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_d[] = {
	KW("dba_users", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_i[] = {
	KW("information_schema", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_m[] = {
	KW("mysql.user", 0, SQLI_W_SCHEMA), KW("mysql.db", 0, SQLI_W_SCHEMA),
	KW("master..xp_", 0, SQLI_W_CMD), KW("master.dbo.xp_", 0, SQLI_W_CMD),
	KW("master..", 0, SQLI_W_SCHEMA), KW("master.dbo.", 0, SQLI_W_SCHEMA),
	KW("msysobjects", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_p[] = {
	KW("performance_schema", 0, SQLI_W_SCHEMA), KW("pg_catalog", 0, SQLI_W_SCHEMA),
	KW("pg_shadow", 0, SQLI_W_SCHEMA), KW("pg_user", 0, SQLI_W_SCHEMA),
	KW("pg_tables", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_s[] = {
	KW("sysobjects", 0, SQLI_W_SCHEMA), KW("syscolumns", 0, SQLI_W_SCHEMA),
	KW("sysdatabases", 0, SQLI_W_SCHEMA), KW("sys.", 0, SQLI_W_SCHEMA),
	KW("sqlite_master", 0, SQLI_W_SCHEMA), KW("sqlite_schema", 0, SQLI_W_SCHEMA),
	KW("sp_oacreate", 0, SQLI_W_CMD), KW("sp_makewebtask", 0, SQLI_W_CMD),
	KW("sp_addextendedproc", 0, SQLI_W_CMD), KW("sp_executesql", 0, SQLI_W_CMD),
	KW("sp_", 0, SQLI_W_PROC),
};
static const struct kw pfx_u[] = {
	KW("user_tables", 0, SQLI_W_SCHEMA),
};
static const struct kw pfx_x[] = {
	KW("xp_cmdshell", 0, SQLI_W_CMD), KW("xp_regread", 0, SQLI_W_CMD),
	KW("xp_dirtree", 0, SQLI_W_CMD), KW("xp_fileexist", 0, SQLI_W_CMD),
	KW("xp_", 0, SQLI_W_PROC),
};
/* clang-format on */

struct kw_list {
	const struct kw *kw;
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
static const struct kw *kw_find(const char *w, size_t n)
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
static int prefix_find(const char *w, size_t n)
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
		if (first && hash && (is_alpha(c) || is_digit(c)))
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
		if (c == -1 || !(ctype[c] & CT_GAP))
			return; /* most tokens: no gap at all */
		if (c == ' ' || c == '{' || c == '}') {
			/* ODBC escapes "{fn concat(...)}" read as the call */
			lx->pos += n;
			if (c == '{' && lx->pos + 3 <= lx->len && lower(lx->s[lx->pos]) == 'f' &&
			    lower(lx->s[lx->pos + 1]) == 'n' && lx->s[lx->pos + 2] == ' ')
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
	if (total == 0 || total > 4 || (lower(head[0]) != 't' && lower(head[0]) != 'y'))
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

			if (!(ctype[b] & CT_PLAIN) || b == q || b == '\\')
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
		while (i < len && (ctype[s[i]] & CT_HEX))
			i++;
		return i;
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
	const struct kw *k;

	t->cls = SQLI_WORD;
	t->sub = SQLI_K_NONE;
	if (wl > 0 && is_digit((unsigned char)w[0]) && !dotted) {
		t->cls = SQLI_NUM; /* digits read through dropped '%': %1%2%3 */
		return;
	}
	if (wl > 0 && wl < WORD_MAX) {
		k = kw_find(w, wl);
		if (k != NULL && (!dotted || k->cls == SQLI_WORD)) {
			t->cls = k->cls;
			t->sub = k->sub;
		}
		if (t->cls == SQLI_WORD && t->sub == SQLI_K_NONE)
			t->sub = (unsigned char)prefix_find(w, wl);
	}
	/* A word (or a statement verb: MySQL's insert(), replace()) right
	 * before '(' is a call. */
	if ((t->cls == SQLI_WORD || t->cls == SQLI_STMT) && next_code_char(lx, lx->pos) == '(')
		t->cls = SQLI_FUNC; /* sub kept: exec('...') is still SQLI_S_EXEC */
}

static void lex_word(struct sqli_lexer *lx, struct sqli_tok *t)
{
	char w[WORD_MAX + 1];
	size_t wl = 0, n, n2, p;
	int c, c2, dotted = 0;

	for (;;) {
		/* letters, digits, '_', '$' and UTF-8 bytes, in bulk */
		for (p = lx->pos; p < lx->len; p++)
			if ((ctype[lx->s[p]] & (CT_PLAIN | CT_WORD)) != (CT_PLAIN | CT_WORD))
				break;
		for (n = lx->pos; n < p && wl < WORD_MAX; n++)
			w[wl++] = (char)lower_b(lx->s[n]);
		wl += p - n; /* past WORD_MAX: counted, not kept */
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
		if (wl < WORD_MAX)
			w[wl] = (char)lower(c);
		wl++;
		lx->pos += n;
	}
	w[wl < WORD_MAX ? wl : WORD_MAX] = '\0';
	classify_word(lx, t, w, wl < WORD_MAX ? wl : WORD_MAX + 1, dotted);
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
	} else if (is_digit(s[lx->pos]) ||
	           (s[lx->pos] == '.' && lx->pos + 1 < lx->len && is_digit(s[lx->pos + 1]))) {
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
	unsigned bits;                     /* scan_bits of the bytes so far */
	unsigned seen;                     /* 1 << T_SELECT ... 1 << T_LEAD: noted kinds */
	int full, lead;                    /* lead: and, or, xor, && or || met */
	int logic_words;                   /* look for and, or, xor */
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
		unsigned t = ctype[p[i]];
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

/* A select (noted) may be the value's first token or follow a '(': its
 * first four letters right after the start or a '(', past spaces and
 * braces. Comments may hide either: then say yes. */
static int select_opens(const unsigned char *s, size_t len, unsigned bits)
{
	const unsigned char *p;
	size_t i = 0;

	if ((bits & SC_COMMENT) || ((bits & SC_MINUS) && has_pair(s, len, '-', '-')) ||
	    ((bits & SC_STAR) && (bits & SQLI_SCAN_SLASH) && has_pair(s, len, '/', '*')))
		return 1;
	for (;;) {
		while (i < len && ((ctype[s[i]] & CT_SPACE) || s[i] == '{' || s[i] == '}'))
			i++;
		if (i + 4 <= len && lower_b(s[i]) == 's' && lower_b(s[i + 1]) == 'e' &&
		    lower_b(s[i + 2]) == 'l' && lower_b(s[i + 3]) == 'e')
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
	char w[WORD_MAX + 1];
	size_t wl = 0, i;
	int dotted = 0, cls_ = SQLI_WORD;
	const struct kw *k;

	*sub = SQLI_K_NONE;
	for (i = p;; i++) {
		size_t j = i;

		while (i < len && (ctype[s[i]] & (CT_PLAIN | CT_WORD)) == (CT_PLAIN | CT_WORD))
			i++;
		for (; j < i && wl < WORD_MAX; j++)
			w[wl++] = (char)lower_b(s[j]);
		wl += i - j; /* past WORD_MAX: counted, not kept */
		/* a '.' joins when a word byte or another '.' follows */
		if (!(i < len && s[i] == '.' && wl > 0 && i + 1 < len &&
		      ((ctype[s[i + 1]] & (CT_PLAIN | CT_WORD)) == (CT_PLAIN | CT_WORD) ||
		       s[i + 1] == '.')))
			break;
		dotted = 1;
		if (wl < WORD_MAX)
			w[wl] = '.';
		wl++;
	}
	*end = i;
	if (wl == 0 || wl >= WORD_MAX || is_digit((unsigned char)w[0]))
		return wl > 0 && is_digit((unsigned char)w[0]) && !dotted ? SQLI_NUM : SQLI_WORD;
	k = kw_find(w, wl);
	if (k != NULL && (!dotted || k->cls == SQLI_WORD)) {
		cls_ = k->cls;
		*sub = k->sub;
	}
	if (cls_ == SQLI_WORD && *sub == SQLI_K_NONE)
		*sub = prefix_find(w, wl);
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
	while (i < sc->len && (ctype[s[i]] & CT_SPACE))
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
		if (i >= n || lower(s[i]) != w[i])
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
	while (i < len && ((ctype[s[i]] & CT_SPACE) || s[i] == '{' || s[i] == '}'))
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
	       !(i + n < len && ((ctype[s[i + n]] & CT_WORD) || s[i + n] == '.'));
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
	if (is_digit(s[i]) || (s[i] == '.' && i + 1 < len && is_digit(s[i + 1])))
		return sqli_number_end((const char *)s, len, i);
	if (s[i] == '@' || (ctype[s[i]] & CT_WORD)) {
		while (i < len && s[i] == '@')
			i++;
		while (i < len && ((ctype[s[i]] & CT_WORD) || s[i] == '.'))
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
		if (++p < end && lower(*p) == 'f')
			sc->bits |= SQLI_SCAN_ODD;
	if (((sc->bits & SC_AMP) && has_pair(s, sc->len, '&', '&')) ||
	    ((sc->bits & SC_BAR) && has_pair(s, sc->len, '|', '|')))
		sc->lead = 1;
}

void sqli_scan(const char *str, size_t len, struct sqli_scan *out)
{
	struct scan sc;
	unsigned char tail[64];
	size_t off;

	memset(&sc, 0, sizeof(sc));
	sc.s = (const unsigned char *)str;
	sc.len = len;
	/* in a long value the start is read exactly instead (see lead) */
	sc.logic_words = len <= 256;
	sc.lead = !sc.logic_words;
	for (off = 0; off + 64 <= len; off += 64)
		scan_chunk(&sc, sc.s + off, off, 64);
	if (off < len) {
		memset(tail, 0, (len - off + 15) & ~(size_t)15);
		memcpy(tail, sc.s + off, len - off);
		scan_chunk(&sc, tail, off, len - off);
	}
	pairs(&sc);
	out->bytes = sc.bits & (SQLI_SCAN_READ | SQLI_SCAN_PAREN | SQLI_SCAN_SLASH |
	                        SQLI_SCAN_SEMI | SQLI_SCAN_ODD | SC_SQ | SC_DQ | SC_BQ);
	out->full = sc.full || (sc.bits & SQLI_SCAN_ODD) ||
	            (SEEN(&sc, T_SELECT) && select_opens(sc.s, len, sc.bits));
	out->lead =
	    sc.lead || SEEN(&sc, T_LEAD) || (SEEN(&sc, T_SELECT) && (sc.bits & SQLI_SCAN_PAREN));
}
