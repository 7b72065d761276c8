/* The SQL lexer behind detect_sqli (waf/detect_sqli.c): it reads a value
 * the way a database would once the value is pasted into a query, and
 * hands out small classified tokens (string, number, word, keyword,
 * operator, comment...). Also a quick scan (sqli_scan) that proves, for
 * most ordinary values, that no keyword-driven rule can fire, so that the
 * detector can skip the full read. No allocation; the only global state is
 * the key search's tables, built once (waf/sqli_keys.c). */
#ifndef POSTERN_WAF_SQLI_LEXER_H
#define POSTERN_WAF_SQLI_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "waf/detect.h"

/* Token classes. */
enum sqli_cls {
	SQLI_EOF,
	SQLI_STR, /* '...' "..." */
	SQLI_NUM,
	SQLI_WORD,  /* identifier or plain word; sub says which kind */
	SQLI_VAR,   /* @x @@x */
	SQLI_FUNC,  /* a word followed by '(' */
	SQLI_LOGIC, /* and or xor && || */
	SQLI_OP,    /* comparison, arithmetic, unary */
	SQLI_UNION,
	SQLI_SELECT,
	SQLI_STMT,    /* statement verb: insert update delete drop exec ... */
	SQLI_KW,      /* other keyword; sub is the SQLI_K_ */
	SQLI_COMMENT, /* a comment that runs to the end of the value */
	SQLI_LPAREN,
	SQLI_RPAREN,
	SQLI_COMMA,
	SQLI_SEMI,
	SQLI_OTHER,
	SQLI_CLS_MAX
};

/* Keywords (SQLI_KW), operator kinds (SQLI_OP), word kinds (SQLI_WORD and
 * SQLI_FUNC), statement verbs (SQLI_STMT): the sub field. */
enum sqli_sub {
	SQLI_K_NONE,
	/* SQLI_KW */
	SQLI_K_ALL,
	SQLI_K_AS,
	SQLI_K_ASC,
	SQLI_K_BY,
	SQLI_K_CASE,
	SQLI_K_DESC,
	SQLI_K_DISTINCT,
	SQLI_K_DUMPFILE,
	SQLI_K_ELSE,
	SQLI_K_END,
	SQLI_K_EXISTS,
	SQLI_K_FALSE,
	SQLI_K_FROM,
	SQLI_K_GROUP,
	SQLI_K_HAVING,
	SQLI_K_INTERVAL,
	SQLI_K_INTO,
	SQLI_K_JOIN,
	SQLI_K_LIMIT,
	SQLI_K_NULL,
	SQLI_K_OFFSET,
	SQLI_K_ON,
	SQLI_K_ORDER,
	SQLI_K_OUTFILE,
	SQLI_K_THEN,
	SQLI_K_TRUE,
	SQLI_K_VALUES,
	SQLI_K_WHEN,
	SQLI_K_WHERE,
	/* SQLI_OP */
	SQLI_O_CMP,   /* = < > <= >= <> != <=> like rlike regexp is in between ... */
	SQLI_O_ARITH, /* + - * / % ^ | & << >> div mod :: */
	SQLI_O_STAR,  /* '*' (also arithmetic) */
	SQLI_O_MINUS, /* '-' and '+': binary or unary */
	SQLI_O_NOT,   /* not ! ~ : unary only */
	SQLI_O_IS,    /* is: only before null, true, false (or not) */
	SQLI_O_SLASH, /* '/' (also arithmetic; starts a path segment) */
	/* SQLI_WORD and SQLI_FUNC */
	SQLI_W_OBJ, /* table database schema user view index procedure function trigger */
	SQLI_W_SET,
	SQLI_W_DELAY,    /* delay time (waitfor) */
	SQLI_W_TO,       /* to (copy ... to) */
	SQLI_W_FULLTEXT, /* boolean mode (MATCH ... AGAINST) */
	SQLI_W_SCHEMA,   /* information_schema.*, mysql.user, sysobjects, pg_catalog... */
	SQLI_W_CMD,      /* xp_cmdshell sp_oacreate ... */
	SQLI_W_PROC,     /* other sp_* xp_* procedures */
	SQLI_W_TIME,     /* sleep benchmark pg_sleep ... (SQLI_FUNC only when called) */
	SQLI_W_FILE,     /* load_file extractvalue updatexml ... */
	/* SQLI_STMT */
	SQLI_S_INSERT,
	SQLI_S_UPDATE,
	SQLI_S_DELETE,
	SQLI_S_DROP,
	SQLI_S_CREATE,
	SQLI_S_ALTER,
	SQLI_S_TRUNCATE,
	SQLI_S_EXEC,
	SQLI_S_DECLARE,
	SQLI_S_SHUTDOWN,
	SQLI_S_WAITFOR,
	SQLI_S_GRANT,
	SQLI_S_RENAME,
	SQLI_S_CALL,
	SQLI_S_COPY,
	SQLI_SUB_MAX
};

/* Token flags. */
#define SQLI_F_UNTERM 1  /* string without its closing quote */
#define SQLI_F_STRONG 2  /* comment that looks like a deliberate truncation */
#define SQLI_F_EXEC   4  /* first token inside a MySQL executable comment */
#define SQLI_F_SPACE  8  /* string with a space inside: text rather than a payload */
#define SQLI_F_TRUTHY 16 /* string a database reads as true: '1...', 'true', 'yes' */
#define SQLI_F_EMPTY  32 /* string with nothing inside */

struct sqli_tok {
	unsigned char cls;
	unsigned char sub;
	unsigned char flags;
};

struct sqli_lexer {
	const unsigned char *s;
	size_t len, pos;
	int quote;    /* context quote: the first token is the rest of a string */
	int started;  /* a token was produced */
	int exec;     /* depth of MySQL executable comments */
	int exec_new; /* an executable comment just opened */
	int pending;  /* a comment was skipped: 0, 1 weak, 2 strong */
};

/* What sqli_scan found in a value. */
struct sqli_scan {
	unsigned bytes; /* SQLI_SCAN_* bits: which kinds of bytes occur */
	int full;       /* a rule keyed by a word may fire: read the whole value */
	int select;     /* a select may open the value or follow a '(' (and no
	                 * comment may hide one): look there */
	int lead;       /* and, or, xor, &&, ||, having, where, order, group, or
	                 * select with '(': what starts an injection after a value */
};

#define SQLI_SCAN_READ  1  /* letters, quotes, ';', '|', '&', '#' or bytes >= 0x80 */
#define SQLI_SCAN_PAREN 2  /* '(' (or an overlong UTF-8 byte that may spell one) */
#define SQLI_SCAN_SLASH 4  /* '/' */
#define SQLI_SCAN_SEMI  8  /* ';' */
#define SQLI_SCAN_ODD   16 /* '%', "/ *!", "{fn", overlong or fullwidth forms */
#define SQLI_SCAN_QUOTE 32 /* '\'' (then '"' is << 1, '`' is << 2) */

/* Read s[0..len) as code in the quoting context quote (0, '\'', '"' or
 * '`'): with a quote, the first token is the rest of the application's
 * string, up to the first such quote. */
void sqli_lexer_init(struct sqli_lexer *lx, const char *s, size_t len, int quote);
/* Read s from pos on as code that follows a token ending at pos. */
void sqli_lexer_init_at(struct sqli_lexer *lx, const char *s, size_t len, size_t pos);
/* The next token into *t (SQLI_EOF, again and again, at the end). Every
 * other token consumes input, so a value of n bytes gives at most n + 1. */
void sqli_lexer_next(struct sqli_lexer *lx, struct sqli_tok *t);
/* Where the number token that starts at i ends (raw bytes, as the lexer
 * reads them: 0x1f, 1.5e3, 1d before "union"...). */
size_t sqli_number_end(const char *s, size_t len, size_t i);
/* 1 when the value holds the quote q as the lexer reads characters
 * (also fullwidth and overlong forms), else 0. */
int sqli_has_quote(const char *s, size_t len, int q);
/* One pass over s: which bytes occur, and which words. sc->full == 0
 * proves that, in every quoting context, no token of the value is a
 * union with a select, a case with a when, into outfile, a system
 * catalogue, a command procedure, waitfor, or a time or file function
 * called, and that the lexer reads the words as they are spelled (no '%',
 * executable comment, overlong or fullwidth form); sc->select == 0 with
 * it, that no select is first or after '('. sc->lead == 0 proves that no
 * token is a logic operator, having, where, order or group, and no select
 * can sit inside parentheses. sum is waf_summary's of s (waf/transform.h:
 * bit k for the k-th ASCII punctuation character, 36 for bytes >= 0x80),
 * or of more bytes than s, or SQLI_NO_SUM: a long value with one is not
 * read byte by byte for its kinds of bytes. keys: NULL, or where the keys
 * sqli_key_marks finds without call may start in s (waf/detect.h). */
void sqli_scan(const char *s, size_t len, uint64_t sum, const struct waf_sqli_keys *keys,
               struct sqli_scan *sc);
/* sqli_scan's sum when the caller has no summary of the value. */
#define SQLI_NO_SUM (~(uint64_t)0)
/* What sqli_key_marks found in SQLI_MARKS_SPAN bytes from a value's
 * byte from: bit i % 64 of key[i / 64], one of sqli_scan's keys (its first
 * three letters, any case) may start at byte from + i; of other[i / 64],
 * that byte is not an ASCII letter, digit or space. */
#define SQLI_MARKS_SPAN 4096
struct sqli_marks {
	uint64_t key[SQLI_MARKS_SPAN / 64], other[SQLI_MARKS_SPAN / 64];
};
/* Marks for s[from .. from + SQLI_MARKS_SPAN) (or to len; the words of
 * m past it are left as they were), with the keys of function names too
 * when call, and the other bytes only when others (else other[] is 0)
 * (waf/sqli_keys.c). 0 on a processor without AVX2: then *m is untouched. */
int sqli_key_marks(const unsigned char *s, size_t len, size_t from, int call, int others,
                   struct sqli_marks *m);
/* Let sqli_key_marks use AVX-512 VBMI where the processor has it (the
 * default), or not (tests: the other searches on the same processor). */
void sqli_key_marks_vbmi(int allowed);
/* The VBMI lookup tables of the keys sqli_key_marks looks for without
 * call (3 x 64 bytes, waf/sqli_keys_vbmi.h), for a scan that finds them
 * itself; NULL where that search does not run. */
const unsigned char *sqli_key_tables_vbmi(void);
/* The word at pos of a value sqli_scan cleared (bytes that stand for
 * themselves), read and classified as the lexer would, without the check
 * for a call: its class (SQLI_WORD, a keyword's class, SQLI_NUM), *sub
 * its kind, *end the byte after it. */
int sqli_word_at(const char *s, size_t len, size_t pos, int *sub, size_t *end);

/* ---- shared by the lexer and the quick scan (waf/sqli_scan.c) */

/* Character classes of a raw byte (sqli_ctype). */
#define CT_PLAIN 1 /* the byte is the character, alone (no decoding) */
#define CT_WORD  2 /* letter, digit, '_', '$', >= 0x80 */
#define CT_DIGIT 4
#define CT_ALPHA 8
#define CT_GAP   16 /* may start a gap: ' ' '{' '}' '*' '/' '-' '#' */
#define CT_SPACE 32 /* a raw byte read as a space: ' ', controls, DEL, NBSP */
#define CT_HEX   64
#define CT_UPPER 128 /* 'A'..'Z': lower() adds (CT_UPPER >> 2) */
extern const unsigned char sqli_ctype[256];

/* A keyword: its spelling, class (enum above) and sub kind. */
struct sqli_kw {
	const char *name;
	unsigned char len;
	unsigned char cls;
	unsigned char sub;
};

/* The keyword spelled by the lowercase word w (n bytes), or NULL. */
const struct sqli_kw *sqli_kw_find(const char *w, size_t n);
/* The sub of the first prefix the lowercase word w (n bytes) starts with,
 * else SQLI_K_NONE. */
int sqli_prefix_find(const char *w, size_t n);

#define SQLI_WORD_MAX 40 /* longer words are plain identifiers */

static inline int sqli_is_digit(int c)
{
	return c >= 0 && c < 0x100 && (sqli_ctype[c] & CT_DIGIT);
}

static inline int sqli_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* sqli_lower() of a byte, without a branch. */
static inline unsigned char sqli_lower_b(unsigned char b)
{
	return (unsigned char)(b | ((sqli_ctype[b] & CT_UPPER) >> 2));
}

#endif
