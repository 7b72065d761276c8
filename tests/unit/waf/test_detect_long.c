/* Unit tests for detect_sqli's short ways on long and summarised values:
 * values over 256 bytes are scanned with a vector key search
 * (waf/sqli_keys.c, scan_marked in waf/sqli_scan.c) instead of a word
 * lookup, the engine passes each value's summary, the lead check tells
 * plain words by their length, and a single run of letters and digits is
 * settled at once; every answer must stay the full read's. Attacks that
 * may sit anywhere are placed in prose at every offset around the vector
 * block (32, 64) and span (4096) boundaries, in upper and mixed case, with
 * and without the summary; random values built from words, numbers and
 * keys are checked against the full read; and the tables the short ways
 * rely on are checked against the lexer's. The sources are included
 * (detect_sqli.c and detect_sqli_short.c with an exported name renamed)
 * to reach the full read, lead_token, the keyword tables and the key
 * lists. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"
#include "waf/transform.h"

#define waf_detect_sqli long_copy_detect_sqli
#include "waf/detect_sqli.c"
#include "waf/detect_sqli_short.c"
#undef waf_detect_sqli
#include "waf/sqli_lexer.c"
#include "waf/sqli_scan.c"
#include "waf/sqli_keys.c"

/* Attacks the detector finds wherever they stand in a value. */
static const char *const anywhere_attacks[] = {
    "union select password from users--",
    "UNION ALL SELECT NULL,NULL,NULL",
    "uNiOn/**/sElEcT 1,2,3",
    "(select count(*) from information_schema.tables)",
    "1 into outfile '/var/www/x.php'",
    "into dumpfile '/tmp/x'",
    "waitfor delay '0:0:5'",
    "exec master..xp_cmdshell 'dir'",
    "; drop table users",
    "and sleep(5)",
    "or benchmark(5000000,md5(1))",
    "union select load_file('/etc/passwd')",
    "from pg_catalog.pg_tables",
    "from sysobjects where xtype='U'",
    "order by (case when 1=1 then 1 else 0 end)",
    "1union select 1,2",
    "0xfunion select 1,2",
    "updatexml(1,concat(0x7e,version()),1)",
    "extractvalue(1,concat(0x7e,user()))",
    "union select * from mysql.user",
    "select * from sqlite_master",
    "and 1=(select 1 from dual)",
};

/* Words a long value is made of: prose, numbers, dots, words that hold a
 * key's letters, and the keys themselves. */
/* clang-format off */
static const char *const vocabulary[] = {
    "the", "order", "select", "union", "unions", "use", "user", "because", "about",
    "casual", "case", "waiting", "information", "perhaps", "system", "master", "all",
    "small", "x1", "1.5", "0x1f", "1e5", "a.b", "from", "join", "sleep", "benchmark",
    "update", "pg_", "sys.", "xp_", "sp_", "dbms_", "(", ")", "/", ",", ".", "1",
    "22union", "abc1union", "x.union", "when", "then", "into", "outfile", "dumpfile",
    "waitfor", "delay", "mysql.db", "users", "password", "extract", "load", "utl_",
    "get_lock", "random", "table", "where", "and", "or", "1=1", "-",
};

/* Now and then one of these (fragments that make a value an attack). */
static const char *const fragments[] = {
    "union select 1,2", "(select 1)", "sleep(5)", "; drop table x", "case when 1=1",
    "from information_schema.tables", "xp_cmdshell", "into outfile",
};
/* clang-format on */

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

/* Prose of exactly n bytes (no attack in it: only ordinary words). */
static void prose(char *out, size_t n)
{
	static const char *const words[] = {"the",   "plan",     "price",   "note", "hello",
	                                    "world", "shipping", "address", "is",   "ready"};
	size_t i = 0;

	while (i < n) {
		const char *w = words[next_rand() % 10];
		size_t l = strlen(w);

		for (size_t k = 0; k < l && i < n; k++)
			out[i++] = w[k];
		if (i < n)
			out[i++] = ' ';
	}
}

/* The detector as the engine runs it on a form value: with its summary
 * and the keys the form decoder hands on, found in the whole form (here
 * by the detector's own search, span by span, over the value behind
 * 0..63 bytes of another field and before a '&'). */
static int keyed_detect(const char *v, size_t n)
{
	static unsigned char text[64 + 9000 + 1];
	static uint64_t words[sizeof(text) / 64 + 2];
	size_t o = (n * 7 + 13) % 64, tl = o + n + 1;
	struct waf_sqli_keys k;
	struct sqli_marks m;

	if (tl > sizeof(text))
		return -1;
	memset(text, 'a', o);
	memcpy(text + o, v, n);
	text[o + n] = '&';
	memset(words, 0, sizeof(words));
	for (size_t from = 0; from < tl; from += SQLI_MARKS_SPAN) {
		if (!sqli_key_marks(text, tl, from, 0, 0, &m))
			return waf_detect_sqli_summed(v, n, waf_summary(v, n));
		memcpy(
		    words + from / 64, m.key,
		    (tl - from < SQLI_MARKS_SPAN ? (tl - from + 63) / 64 : SQLI_MARKS_SPAN / 64) *
		        sizeof(uint64_t));
	}
	k.words = words + o / 64;
	k.shift = (unsigned)(o % 64);
	return waf_detect_sqli_keyed(v, n, waf_summary(v, n), &k);
}

/* The attack at offset at of a value of prose of n bytes: found, and the
 * answer is the full read's. */
static int found_at(const char *attack, size_t at, size_t n)
{
	static char v[9000];
	size_t al = strlen(attack);
	int r, paren;

	if (at + al > n || n > sizeof(v))
		return 0;
	prose(v, n);
	if (at > 0)
		v[at - 1] = ' ';
	memcpy(v + at, attack, al);
	if (at + al < n)
		v[at + al] = ' ';
	paren = memchr(v, '(', n) != NULL;
	r = long_copy_detect_sqli(v, n);
	return r == 1 && waf_detect_sqli_summed(v, n, waf_summary(v, n)) == 1 &&
	       keyed_detect(v, n) == 1 && sqli_detect_full(v, n, paren) == 1;
}

static void attacks_at_boundaries(void)
{
	static const size_t sizes[] = {300, 4400};
	size_t a, i, at;

	for (a = 0; a < sizeof(anywhere_attacks) / sizeof(anywhere_attacks[0]); a++)
		for (i = 0; i < 2; i++) {
			size_t bad = 0, tried = 0, n = sizes[i];
			size_t al = strlen(anywhere_attacks[a]);

			for (at = 1; at + al < n; at++) {
				/* around each 32-byte block edge and the span edge */
				if (at % 32 > 3 && at % 32 < 29 && (at < 4090 || at > 4100))
					continue;
				tried++;
				bad += !found_at(anywhere_attacks[a], at, n);
			}
			ok(bad == 0 && tried > 20,
			   "%zu-byte values: \"%s\" found at %zu offsets (%zu missed)", n,
			   anywhere_attacks[a], tried, bad);
		}
}

/* Random long values of the vocabulary, with random separators: the
 * detector agrees with the full read on every one. */
static void random_values(void)
{
	static char v[6000];
	static const char seps[] = "  +,.-\t1";
	size_t disagree = 0, positive = 0, count = 3000, k;

	for (k = 0; k < count; k++) {
		size_t n = 257 + next_rand() % (k % 10 == 0 ? 5000 : 700), i = 0;
		int r, full, paren;

		while (i < n) {
			const char *w = next_rand() % 300 == 0
			                    ? fragments[next_rand() %
			                                (sizeof(fragments) / sizeof(fragments[0]))]
			                    : vocabulary[next_rand() % (sizeof(vocabulary) /
			                                                sizeof(vocabulary[0]))];
			size_t l = strlen(w);
			int upper = next_rand() % 4 == 0;

			for (size_t j = 0; j < l && i < n; j++)
				v[i++] = upper ? (char)(w[j] & ~0x20 & 0xff) : w[j];
			if (i < n && next_rand() % 3)
				v[i++] = seps[next_rand() % (sizeof(seps) - 1)];
		}
		paren = memchr(v, '(', n) != NULL;
		r = long_copy_detect_sqli(v, n);
		full = sqli_detect_full(v, n, paren);
		positive += full;
		/* the engine's way: with the value's summary */
		if (waf_detect_sqli_summed(v, n, waf_summary(v, n)) != full && disagree++ < 5)
			printf("# summed: disagree with the full read on %zu bytes: %.120s\n", n,
			       v);
		/* and with the keys of a form value */
		if (keyed_detect(v, n) != full && disagree++ < 5)
			printf("# keyed: disagree with the full read on %zu bytes: %.120s\n", n, v);
		if (r != full && disagree++ < 5)
			printf("# disagree (detector %d, full read %d) on %zu bytes: %.120s\n", r,
			       full, n, v);
	}
	ok(disagree == 0, "%zu random long values: the detector agrees with the full read", count);
	ok(positive > 100 && positive < count - 100,
	   "the random values hold attacks and clean ones (%zu of %zu attacks)", positive, count);
}

/* Long values of words, numbers and spaces alone (a summary of 0: the
 * detector settles those without keys marked from the keys alone), some
 * with "union select" or "case when" in them: with their keys, the
 * detector agrees with the full read. */
static void plain_values(void)
{
	static const char *const words[] = {
	    "the",      "union", "select", "case", "when", "1",   "1union", "from", "users",
	    "password", "lorem", "ipsum",  "x1",   "0x1f", "all", "order",  "by"};
	static char v[3000];
	size_t disagree = 0, positive = 0, count = 2000;

	for (size_t k = 0; k < count; k++) {
		size_t n = 257 + next_rand() % 2000, i = 0;
		int full;

		while (i < n) {
			/* mostly prose, now and then a key word */
			const char *w = next_rand() % 400 == 0 ? "union all select 1 from dual"
			                : next_rand() % 8 == 0 ? words[next_rand() % 17]
			                                       : words[10 + next_rand() % 2];
			size_t l = strlen(w);

			for (size_t j = 0; j < l && i < n; j++)
				v[i++] = w[j];
			if (i < n)
				v[i++] = ' ';
		}
		full = sqli_detect_full(v, n, 0);
		positive += full;
		if ((waf_summary(v, n) != 0 || keyed_detect(v, n) != full) && disagree++ < 5)
			printf("# keyed: disagree with the full read on %zu bytes: %.120s\n", n, v);
	}
	ok(disagree == 0 && positive > 50 && positive < count - 50,
	   "%zu long values of words and spaces (%zu attacks): the detector with keys agrees "
	   "with the full read",
	   count, positive);
}

/* sqli_scan reads waf_summary's bits by their number. */
static void summary_numbering(void)
{
	static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	size_t bad = 0;

	for (size_t k = 0; k < 32; k++)
		bad += waf_summary(&punct[k], 1) != (uint64_t)1 << k;
	ok(bad == 0 && waf_summary("\xe9", 1) == (uint64_t)1 << 36,
	   "waf_summary numbers the punctuation as sqli_scan reads it");
}

/* sqli_kw_find stops at the first longer word: the tables are sorted by length. */
static void keyword_tables(void)
{
	size_t bad = 0, n = 0;

	for (size_t l = 0; l < 26; l++)
		for (size_t i = 0; i < kw_by_letter[l].n; i++, n++) {
			const struct sqli_kw *k = &kw_by_letter[l].kw[i];

			bad += (i > 0 && kw_by_letter[l].kw[i - 1].len > k->len) ||
			       sqli_kw_find(k->name, k->len) != k;
		}
	ok(bad == 0 && n > 80, "each of the %zu keywords is found (tables sorted by length)", n);
}

/* Whether the first three letters of k are among keys[0..n). */
static int has_key3(const struct key3 *keys, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(keys[i].text, k, 3) == 0)
			return 1;
	return 0;
}

/* sqli_keys.c's key lists cover sqli_scan's keys: every one is searched
 * for in values with '(' or '/', and every one but those of functions
 * (which matter only when called) in every value. */
static void key_lists(void)
{
	static const char *const call_only[] = {"benc", "dbms", "extr", "get_", "lo_i",
	                                        "load", "rand", "slee", "upda", "utl_"};
	size_t missing = 0, keys = 0, words = 0;

	for (size_t slot = 0; slot < 512; slot++) {
		char k[5], prefix[16];
		size_t pl;
		int only = 0;

		if (trig_keys[slot] == 0 || trig_kinds[slot] == T_LEAD)
			continue;
		keys++;
		for (int b = 0; b < 4; b++)
			k[b] = (char)((trig_keys[slot] >> (8 * b)) & 0x7f);
		k[4] = '\0';
		if (k[2] == 0x7f)
			k[2] = '_'; /* K4 ORs 0x20: '_' reads as DEL */
		if (k[3] == 0x7f)
			k[3] = '_';
		for (size_t i = 0; i < sizeof(call_only) / sizeof(call_only[0]); i++)
			only |= memcmp(call_only[i], k, 4) == 0;
		missing += !has_key3(call_keys, sizeof(call_keys) / sizeof(call_keys[0]), k);
		missing +=
		    !only && !has_key3(base_keys, sizeof(base_keys) / sizeof(base_keys[0]), k);
		if (!only)
			continue;
		/* a function key: every keyword it stands for is a function */
		pl = (size_t)snprintf(prefix, sizeof(prefix), "%s%s", k, trig_rests[slot]);

		for (size_t l = 0; l < 26; l++)
			for (size_t i = 0; i < kw_by_letter[l].n; i++) {
				const struct sqli_kw *w = &kw_by_letter[l].kw[i];

				if (w->len < pl || memcmp(w->name, prefix, pl) != 0)
					continue;
				words++;
				missing += w->cls != SQLI_WORD ||
				           (w->sub != SQLI_W_TIME && w->sub != SQLI_W_FILE);
			}
	}
	ok(missing == 0 && keys > 30 && words >= 10,
	   "the vector search looks for each of sqli_scan's %zu keys (%zu function names)", keys,
	   words);
}

/* lead_token's shortcut knows the lengths of the words it calls active. */
static void active_words(void)
{
	size_t bad = 0, n = 0, end;

	for (size_t l = 0; l < 26; l++)
		for (size_t i = 0; i < kw_by_letter[l].n; i++) {
			const struct sqli_kw *k = &kw_by_letter[l].kw[i];
			char v[64];

			if (!(k->cls == SQLI_LOGIC || k->cls == SQLI_OP ||
			      (k->cls == SQLI_KW &&
			       (k->sub == SQLI_K_AS || k->sub == SQLI_K_HAVING ||
			        k->sub == SQLI_K_WHERE || k->sub == SQLI_K_ORDER ||
			        k->sub == SQLI_K_GROUP))))
				continue;
			n++;
			snprintf(v, sizeof(v), "%s x", k->name);
			bad += lead_token(v, strlen(v), 0, &end) != LEAD_ACTIVE;
			v[0] = (char)(v[0] & ~0x20);
			bad += lead_token(v, strlen(v), 0, &end) != LEAD_ACTIVE;
		}
	ok(bad == 0 && n >= 20, "lead_token calls each of the %zu active keywords active", n);
	ok(lead_token("lorem ipsum", 11, 0, &end) == LEAD_OPERAND && end == 5 &&
	       lead_token("Shipping x", 10, 0, &end) == LEAD_OPERAND && end == 8 &&
	       lead_token("select x", 8, 0, &end) == LEAD_INERT,
	   "lead_token: other words are operands, told at once or classified");
}

/* A value of one run of letters and digits is no injection: the
 * detector says so from the summary alone; the full read agrees for every
 * keyword, alone and behind every kind of number, and for random runs. */
static void single_runs(void)
{
	static const char *const numbers[] = {"",   "1",   "0x1", "0x", "1e1", "9e",
	                                      "12", "0b1", "1d",  "0",  "1f",  "0xf"};
	size_t fired = 0, tried = 0;

	for (size_t l = 0; l < 26; l++)
		for (size_t i = 0; i < kw_by_letter[l].n; i++)
			for (size_t p = 0; p < sizeof(numbers) / sizeof(numbers[0]); p++)
				for (int up = 0; up < 2; up++) {
					char v[128];
					size_t n, j;

					n = (size_t)snprintf(v, sizeof(v), "%s%s%s", numbers[p],
					                     kw_by_letter[l].kw[i].name,
					                     up ? "X1" : "");
					for (j = 0; j < n && isalnum((unsigned char)v[j]); j++)
						if (up)
							v[j] = (char)toupper((unsigned char)v[j]);
					if (j < n)
						continue; /* "mysql.user", "pg_sleep": not one run
						           */
					tried++;
					fired +=
					    sqli_detect_full(v, n, 0) || waf_detect_sqli_summed(v, n, 0);
				}
	for (size_t k = 0; k < 20000; k++) {
		char v[600];
		size_t n = 1 + next_rand() % (k % 50 == 0 ? 590 : 24);

		for (size_t j = 0; j < n; j++) {
			unsigned r = next_rand() % 40;

			v[j] = "0123456789abcdefghijklmnopqrstuvwxyzxXeE"[r];
		}
		tried++;
		fired += sqli_detect_full(v, n, 0);
	}
	ok(fired == 0 && tried > 20000,
	   "no single run of letters and digits is an injection (%zu tried)", tried);
}

/* Whether one of keys[0..n) starts at s[p] (any case). */
static int key_starts(const struct key3 *keys, size_t n, const unsigned char *s, size_t len,
                      size_t p)
{
	for (size_t i = 0; i < n && p + 3 <= len; i++)
		if (tolower(s[p]) == keys[i].text[0] && tolower(s[p + 1]) == keys[i].text[1] &&
		    tolower(s[p + 2]) == keys[i].text[2])
			return 1;
	return 0;
}

/* The vector searches against a byte-at-a-time one: every key is marked
 * by both (VBMI where the processor has it, and the nibble tables). The
 * values hold keys in any case among bytes that share a key's low six
 * bits ('0' and 'p', '!' and 'a', 0xe1 and 'a') or its nibbles. In values
 * of letters, '_' and spaces alone (one in three), where VBMI's
 * whole-byte tables are exact, it marks no place the nibble tables do not. */
static void vector_searches(void)
{
	/* the first ten: letters, '_' and spaces */
	static const char *const bits[] = {
	    "uni",  "SEL",  "Xp_", "pG_", "wai", "ben", "Lo_", "utl",  "_",    " ",   "0",  "!",
	    "\xe1", "\xc1", "@",   "`",   "5n1", "u.i", "q",   "\x15", "\x7f", "sQl", "dba"};
	static unsigned char v[700];
	struct sqli_marks vb, nb;
	size_t missed = 0, extra = 0, marked = 0;

	for (int i = 0; i < 3000; i++) {
		size_t len = 0, cap = 1 + next_rand() % (sizeof(v) - 8);
		int call = i & 1, exact = i % 3 == 0;
		const struct key3 *keys = call ? call_keys : base_keys;
		size_t n_keys = call ? sizeof(call_keys) / sizeof(call_keys[0])
		                     : sizeof(base_keys) / sizeof(base_keys[0]);

		while (len < cap) {
			const char *b =
			    bits[next_rand() % (exact ? 10 : sizeof(bits) / sizeof(bits[0]))];

			memcpy(v + len, b, strlen(b));
			len += strlen(b);
		}
		sqli_key_marks_vbmi(1);
		if (!sqli_key_marks(v, len, 0, call, 0, &vb))
			break;
		sqli_key_marks_vbmi(0);
		sqli_key_marks(v, len, 0, call, 0, &nb);
		for (size_t p = 0; p < len; p++) {
			int want = key_starts(keys, n_keys, v, len, p);
			int got_v = (vb.key[p / 64] >> (p % 64)) & 1,
			    got_n = (nb.key[p / 64] >> (p % 64)) & 1;

			missed += want && (!got_v || !got_n);
			extra += exact && got_v && !got_n;
			marked += got_v;
		}
	}
	sqli_key_marks_vbmi(1);
	ok(missed == 0 && extra == 0 && marked > 5000,
	   "the vector key searches mark every key (%zu marks, %zu missed, %zu beyond the nibble "
	   "tables')",
	   marked, missed, extra);
}

int main(void)
{
	summary_numbering();
	keyword_tables();
	active_words();
	single_runs();
	key_lists();
	vector_searches();
	attacks_at_boundaries();
	random_values();
	plain_values();
	return done_testing();
}
