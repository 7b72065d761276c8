/* The preset rule set (SPEC section 6): what postern blocks on every
 * application whose waf is not "off", before an administrator writes a
 * single rule. Ids are stable across releases and grouped by class:
 *
 *   1000s SQL injection      (tokenizer, waf/detect_sqli.c)
 *   2000s cross-site scripting (tokenizer, waf/detect_xss.c)
 *   3000s path traversal and local file inclusion
 *   4000s command injection
 *   5000s sensitive files (version control, secrets, backups, status pages)
 *   6000s scanners (user agents, out-of-band callback domains)
 *
 * A new rule takes a new id; an id is never reused for something else.
 * Every rule has one condition, so a rule names exactly one target.
 *
 * Choices, tested against tests/waf/corpus.jsonl:
 * - SQL injection and XSS are left to the tokenizers, which read encodings
 *   and comments as a database or a browser would; regular expressions
 *   are for the classes where a fixed shape is the attack (../, /.git/).
 *   Arguments are read twice: as the application sees them (decoded once
 *   by the extractor: a '+' that arrived as %2B is a plus, "'+alert(1)+'"
 *   stays JavaScript), and decoded again for payloads encoded twice.
 * - Path traversal needs a ".." segment that climbs: "../", "..\", "/.."
 *   at the end, also percent-encoded, double-encoded, overlong UTF-8
 *   (%c0%af, %c0%ae) and fullwidth (%uff0e, %u2215). "v1..v2",
 *   "range=1..5" and "report.final.v2.pdf" pass.
 * - Command injection needs a shell metacharacter (; | & $( newline)
 *   then a command with an argument-looking word or the end of the value:
 *   "; cat /etc/passwd" and "|id" are blocked, "cats; cat lovers" and
 *   "R&D; id badge" pass. Unix command names match in lower case only
 *   (the shell is case-sensitive), Windows ones in any case. A backtick
 *   is also Markdown's code span: there the command needs an argument
 *   that targets something (`cat /etc/passwd`, `nc -e ...`) or to be
 *   whoami / uname -a on its own, or `id` glued to the value
 *   ("127.0.0.1`id`"); "the `id` column" and "`python setup.py install`"
 *   pass.
 * - Code in prose: a forum post that quotes an attack (<script>, "; rm
 *   -rf /", "' or 1=1--") is blocked like the attack itself; a gateway
 *   cannot tell a quotation from a payload. Applications that take such
 *   posts add an "allow" rule for that path, or disable the preset for
 *   themselves.
 * - Plain markup without handlers (<b>, <a href="https://...">) passes;
 *   <iframe>, <svg>, <object> and friends are blocked whatever their
 *   attributes.
 * - /server-status, /server-info, Spring's /actuator/env... are treated as
 *   sensitive: behind a proxy every request looks local to the backend,
 *   which is what those pages trust. */
#include "waf/rule.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waf/engine.h"

#define T_URL   WAF_T_URL_DECODE
#define T_HTML  WAF_T_HTML_ENTITY
#define T_LOWER WAF_T_LOWERCASE

struct preset {
	long long id;
	enum waf_target target;
	const char *header; /* WAF_TARGET_HEADER */
	enum waf_operator op;
	const char *value;
	const char *transforms; /* in order: u url_decode, h html_entity_decode,
	                           l lowercase */
	const char *description;
};

/* ---- patterns (PCRE2, bytes: the engine compiles without UTF) */

/* A dot: ".", overlong %c0%ae / %e0%80%ae, fullwidth %uff0e. */
#define DOT "(?:\\.|\\xc0\\xae|\\xe0\\x80\\xae|\\xef\\xbc\\x8e)"
/* A separator: / \ and their overlong, fullwidth and look-alike (U+2215
 * division slash, U+2216 set minus, which IIS maps to '\') forms. */
#define SEP                                                                                        \
	"(?:/"                                                                                     \
	"|\\\\|\\xc0\\xaf|\\xe0\\x80\\xaf|\\xc1\\x9c|\\xc0\\x5c|\\xe2\\x88\\x95|\\xe2\\x88\\x96|"  \
	"\\xef\\xbc\\x8f|\\xef\\xbc\\xbc)"

/* "../", "..\\", "/..", "..;/" (Tomcat) and "....//" (a filter that strips
 * "../" once); not "..." (an ellipsis: ".../lib/libfoo.so"). */
static const char traversal[] = "(?:^|" SEP ")(?:" DOT "{2}|" DOT "{4,})(?:" SEP "|;|$)";

static const char lfi_files[] =
    "(?:^|[/\\\\:=])(?:etc[/\\\\]+(?:passwd|shadow|group|hosts|issue|sudoers|crontab|hostname|"
    "os-release|master\\.passwd)\\b|proc[/\\\\]+(?:self|\\d+)[/\\\\]+(?:environ|cmdline|maps|fd|"
    "status|mem|root)\\b|windows[/\\\\]+(?:win\\.ini|system\\.ini|system32[/\\\\])|winnt[/\\\\]|"
    "(?:boot|win)\\.ini\\b|var[/\\\\]+log[/\\\\]+(?:apache2?|httpd|nginx)[/\\\\]+access[._]log)";

static const char lfi_wrappers[] =
    "(?:^|[=\\s'\"(])(?:php|phar|zip|expect|glob|ogg|ssh2|rar|compress\\.zlib|compress\\.bzip2)"
    "://|^data://|^file:(?://)?/";

/* Shell commands: Unix names are case-sensitive, Windows ones are not. */
#define CMD_UNIX                                                                                   \
	"(?:cat|tac|nl|head|tail|more|less|id|whoami|uname|hostname|ifconfig|netstat|ps|ls|pwd|"   \
	"env|"                                                                                     \
	"printenv|echo|wget|curl|nc|ncat|netcat|socat|telnet|ssh|ftp|tftp|ping|nslookup|dig|"      \
	"traceroute|bash|sh|zsh|ksh|dash|csh|python[23]?|perl|ruby|php|node|lua|chmod|chown|rm|"   \
	"mkfifo|xterm|base64|xxd|sudo|crontab|useradd|passwd|kill|killall|reboot|awk|find|grep)"
#define CMD_WIN                                                                                    \
	"(?i:whoami|ipconfig|systeminfo|tasklist|net(?:\\.exe)?\\s+(?:user|localgroup|view)|dir|"  \
	"type|powershell(?:\\.exe)?|pwsh|cmd(?:\\.exe)?|certutil(?:\\.exe)?|bitsadmin|rundll32|"   \
	"regsvr32|mshta|wmic|nslookup|ping)"
/* What separates words for a shell, including the $IFS tricks. */
#define SH_WS "(?:[ \\t]|\\$\\{IFS\\}|\\$IFS\\$\\d|\\$IFS\\b)"
/* After the command: the end, another metacharacter, or an argument that
 * looks like one (option, path, variable, quote, number, URL, file). */
#define CMD_AFTER                                                                                  \
	"(?=\\s*$|[;|&`)#<>\\n]|" SH_WS "+(?:[-/$~'\"\\\\.<]|\\d|[a-zA-Z]:|[a-z]+://|"             \
	"[\\w-]+\\.[a-z]{2,4}\\b))"

/* A backtick opens a command substitution, and a Markdown code span:
 * "see `ls -la`", "```python". After a backtick only commands with an
 * argument that targets something (a path, a variable, an address, a URL,
 * "-e" / "-c") or the reconnaissance commands on their own count. */
static const char cmd_injection[] =
    "(?:[;|\\n\\r&]|\\$\\()\\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:" CMD_UNIX "|" CMD_WIN ")"
    "(?:\\.exe)?" CMD_AFTER "|(?:[;|\\n\\r`&]|\\$\\()\\s*sleep" SH_WS "+\\d+\\s*(?:$|[;|&`)])"
    "|(?<!`)`\\s*(?:/(?:usr/)?(?:local/)?s?bin/)?" CMD_UNIX SH_WS "+(?:/|\\$|\\d+\\.\\d+\\.|"
    "[a-z]+://|-[a-z]*[ec]\\b)"
    "|(?<!`)`\\s*(?:whoami|uname\\s+-a|ifconfig|(?i:ipconfig|net\\s+user|whoami))\\s*`"
    "|(?:^|(?<=[^\\s`]))`\\s*(?:id|uname|hostname|pwd|ls|env)\\s*(?:`|$)";

/* Commands spelled with quotes, backslashes or carets inside (c'a't,
 * w"h"o"am"i, w^h^o^a^m^i), which the shell drops, and brace expansion
 * ({cat,/etc/passwd}). */
#define QS "['\"\\\\^]*"
static const char cmd_obfuscated[] =
    "(?:[;|\\n\\r`&]|\\$\\()\\s*(?=" QS "[a-z]*['\"\\\\^])" QS "(?:c" QS "a" QS "t|w" QS "h" QS
    "o" QS "a" QS "m" QS "i|i" QS "d|u" QS "n" QS "a" QS "m" QS "e|w" QS "g" QS "e" QS "t|c" QS
    "u" QS "r" QS "l|b" QS "a" QS "s" QS "h|n" QS "c|l" QS "s|p" QS "i" QS "n" QS "g|s" QS "h|p" QS
    "y" QS "t" QS "h" QS "o" QS "n)" QS CMD_AFTER "|(?:[;|\\n\\r`&]|\\$\\()\\s*\\{" CMD_UNIX ",";

static const char cmd_payloads[] =
    "(?i)/dev/(?:tcp|udp)/|\\bnc(?:at)?(?:\\.exe)?\\s+(?:-\\w+\\s+)*-[a-z]*e\\s|"
    "\\b(?:wget|curl)\\b[^|;&\\n]*\\|\\s*(?:ba|z|k|da)?sh\\b|"
    "\\bpowershell(?:\\.exe)?\\s+(?:-\\w+\\s+)*-(?:e|ec|enc|encodedcommand|c|command|nop|"
    "noprofile|w|windowstyle|ep|executionpolicy)\\b|\\biex\\s*\\(|"
    "\\binvoke-(?:expression|webrequest)\\b|\\bnew-object\\s+(?:system\\.)?net\\.webclient\\b|"
    "\\bcertutil(?:\\.exe)?\\s+-urlcache\\b|\\bmkfifo\\s+/tmp/|\\b(?:ba|z|k|da)?sh\\s+-c\\s|"
    "\\bsh\\s+-i\\b";

static const char shellshock[] = "^\\s*\\(\\s*\\)\\s*\\{";

/* Log4Shell: a JNDI lookup, or lookups nested to spell one. */
static const char jndi_lookup[] =
    "\\$\\{\\s*jndi\\s*:|\\$\\{[^}]{0,40}\\$\\{[^}]{0,30}(?::-|lower:|upper:|env:|sys:|date:)";

static const char ifs_tricks[] = "\\$\\{IFS(?:%\\?\\?)?\\}|\\$IFS\\$\\d";

static const char vcs_dirs[] = "/\\.(?:git|svn|hg|bzr|ds_store|idea)(?:/|$)|/cvs/(?:root|entries)$";

static const char secret_files[] =
    "/\\.(?:env|htaccess|htpasswd|npmrc|pypirc|netrc|git-credentials|gitconfig|bash_history|"
    "zsh_history|mysql_history|psql_history|pgpass|dockercfg|s3cfg|boto|dockerenv)(?:[.~/]|$)|"
    "/\\.(?:aws|ssh|docker|kube|azure|gnupg)/";

static const char backup_files[] =
    "[^/]\\.(?:bak|backup|bkp|old|orig|save|sav|swp|swo|sql|sqlite3?|mdb|dump|tmp)"
    "(?:\\.gz|\\.zip)?$|[^/]~$|/#[^/]*#$";

static const char server_files[] =
    "/(?:web\\.config|id_(?:rsa|dsa|ecdsa|ed25519)(?:\\.pub)?|docker-compose\\.ya?ml|"
    "phpinfo\\.php|elmah\\.axd|trace\\.axd)$|/(?:server-status|server-info)(?:/|$)|"
    "/(?:web-inf|meta-inf)/|/actuator/(?:env|heapdump|configprops|mappings|httptrace|trace|"
    "logfile|threaddump|jolokia)\\b|/debug/pprof\\b";

static const char scanner_agents[] =
    "\\b(?:sqlmap|nikto|nmap|masscan|zgrab|wpscan|dirbuster|gobuster|nuclei|acunetix|nessus|w3af|"
    "havij|fimap|openvas|netsparker|arachni|skipfish|whatweb|jorgee|zmeu|commix|xsser|dirb|"
    "feroxbuster|ffuf|wfuzz|paros|webinspect|appscan|sqlninja|bsqlbf|hydra|morfeus|zollard|"
    "webshag|uniscan|joomscan|droopescan|cmsmap|wapiti|jaeles|interactsh|libwww-perl/5\\.8|"
    "fuzz faster u fool)\\b";

static const char oob_domains[] =
    "(?:burpcollaborator\\.net|oastify\\.com|interact\\.sh|oast\\.(?:fun|me|live|site|online|pro)|"
    "dnslog\\.cn|ceye\\.io|canarytokens\\.com)\\b";

/* ---- the rules */

static const struct preset presets[] = {
    /* SQL injection */
    {1001, WAF_TARGET_ARGS, NULL, WAF_OP_DETECT_SQLI, "", "",
     "SQL injection in a query, form or JSON argument"},
    {1002, WAF_TARGET_COOKIES, NULL, WAF_OP_DETECT_SQLI, "", "u", "SQL injection in a cookie"},
    {1003, WAF_TARGET_HEADER, "User-Agent", WAF_OP_DETECT_SQLI, "", "",
     "SQL injection in the User-Agent header"},
    {1004, WAF_TARGET_HEADER, "Referer", WAF_OP_DETECT_SQLI, "", "u",
     "SQL injection in the Referer header"},
    {1005, WAF_TARGET_PATH, NULL, WAF_OP_DETECT_SQLI, "", "u", "SQL injection in the URL path"},
    {1006, WAF_TARGET_ARGS, NULL, WAF_OP_DETECT_SQLI, "", "u",
     "SQL injection in an argument encoded twice (%2527...)"},
    /* cross-site scripting */
    {2001, WAF_TARGET_ARGS, NULL, WAF_OP_DETECT_XSS, "", "h",
     "Cross-site scripting in a query, form or JSON argument"},
    {2002, WAF_TARGET_COOKIES, NULL, WAF_OP_DETECT_XSS, "", "u",
     "Cross-site scripting in a cookie"},
    {2003, WAF_TARGET_HEADER, "User-Agent", WAF_OP_DETECT_XSS, "", "",
     "Cross-site scripting in the User-Agent header"},
    {2004, WAF_TARGET_HEADER, "Referer", WAF_OP_DETECT_XSS, "", "u",
     "Cross-site scripting in the Referer header"},
    {2005, WAF_TARGET_PATH, NULL, WAF_OP_DETECT_XSS, "", "u",
     "Cross-site scripting in the URL path"},
    {2006, WAF_TARGET_ARGS, NULL, WAF_OP_DETECT_XSS, "", "uh",
     "Cross-site scripting in an argument encoded twice (%253Cscript...)"},
    /* path traversal and file inclusion */
    {3001, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, traversal, "u",
     "Path traversal (../, also encoded, double-encoded or overlong) in the URL path"},
    {3002, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, traversal, "u",
     "Path traversal (../, also encoded, double-encoded or overlong) in an argument"},
    {3003, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, lfi_files, "ul",
     "System file (/etc/passwd, win.ini, /proc/self/...) named in an argument"},
    {3004, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, lfi_files, "ul",
     "System file (/etc/passwd, win.ini, /proc/self/...) named in the URL path"},
    {3005, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, lfi_wrappers, "ul",
     "File inclusion through a stream wrapper (php://, phar://, file:///...)"},
    /* command injection */
    {4001, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, cmd_injection, "u",
     "Command injection: a shell metacharacter followed by a command"},
    {4002, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, cmd_payloads, "u",
     "Command injection: reverse shell, download-and-run or encoded PowerShell"},
    {4003, WAF_TARGET_HEADERS, NULL, WAF_OP_REGEX, shellshock, "",
     "Shellshock function definition in a header"},
    {4004, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, shellshock, "u",
     "Shellshock function definition in an argument"},
    {4005, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, ifs_tricks, "u",
     "Command injection: $IFS used as a space"},
    {4006, WAF_TARGET_COOKIES, NULL, WAF_OP_REGEX, cmd_injection, "u",
     "Command injection in a cookie"},
    {4007, WAF_TARGET_HEADERS, NULL, WAF_OP_REGEX, jndi_lookup, "ul",
     "Remote code execution: Log4Shell JNDI lookup in a header"},
    {4008, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, jndi_lookup, "ul",
     "Remote code execution: Log4Shell JNDI lookup in an argument"},
    {4009, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, cmd_obfuscated, "u",
     "Command injection: a command spelled with quotes, carets or braces"},
    /* sensitive files */
    {5001, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, vcs_dirs, "ul",
     "Version control or IDE metadata (/.git/, /.svn/, /.DS_Store...)"},
    {5002, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, secret_files, "ul",
     "Secrets and credentials files (/.env, /.htpasswd, /.aws/, /.ssh/...)"},
    {5003, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, backup_files, "ul",
     "Backup, swap or database dump files (.bak, .old, .swp, .sql, ~)"},
    {5004, WAF_TARGET_PATH, NULL, WAF_OP_REGEX, server_files, "ul",
     "Server internals (web.config, id_rsa, /server-status, /actuator/env...)"},
    /* scanners */
    {6001, WAF_TARGET_USER_AGENT, NULL, WAF_OP_REGEX, scanner_agents, "l",
     "Known vulnerability scanner user agent (sqlmap, nikto, nmap, nuclei...)"},
    {6002, WAF_TARGET_ARGS, NULL, WAF_OP_REGEX, oob_domains, "ul",
     "Out-of-band callback domain of a scanner in an argument"},
    {6003, WAF_TARGET_HEADERS, NULL, WAF_OP_REGEX, oob_domains, "ul",
     "Out-of-band callback domain of a scanner in a header"},
};

/* ---- prefilters
 *
 * What a value must hold for a pattern (or a detector) to have any chance:
 * every byte of "all" and at least one of "any" (as summary classes: a
 * "\x80" stands for any byte from 0x80). Each is read off the pattern
 * above it, alternative by alternative; tests/unit/waf/test_rule.c
 * checks them against the full conditions on the corpus and variants of
 * it. A pattern not listed here is always run. */
struct prefilter {
	enum waf_operator op;
	const char *pattern; /* NULL for a detector */
	const char *all, *any;
	int (*words)(const char *s, size_t len); /* see struct waf_prefilter */
};

/* Every alternative of scanner_agents starts, after its \b, with one of
 * these words, which ends where the value's word ends (at a non-word
 * character of the alternative, or at its closing \b): a value with no
 * such whole word cannot match. Sorted. */
static const char *const scanner_words[] = {
    "acunetix",  "appscan",    "arachni",     "bsqlbf",     "cmsmap",   "commix",  "dirb",
    "dirbuster", "droopescan", "feroxbuster", "ffuf",       "fimap",    "fuzz",    "gobuster",
    "havij",     "hydra",      "interactsh",  "jaeles",     "joomscan", "jorgee",  "libwww",
    "masscan",   "morfeus",    "nessus",      "netsparker", "nikto",    "nmap",    "nuclei",
    "openvas",   "paros",      "skipfish",    "sqlmap",     "sqlninja", "uniscan", "w3af",
    "wapiti",    "webinspect", "webshag",     "wfuzz",      "whatweb",  "wpscan",  "xsser",
    "zgrab",     "zmeu",       "zollard",
};

/* The first letters of scanner_words, by length: most words of an
 * ordinary value are let go without a search. */
#define L(c) (1u << ((c) - 'a'))
static const uint32_t scanner_initials[12] = {
    [4] = L('d') | L('f') | L('n') | L('w') | L('z'),
    [5] = L('f') | L('h') | L('n') | L('p') | L('w') | L('x') | L('z'),
    [6] = L('b') | L('c') | L('j') | L('l') | L('n') | L('s') | L('w'),
    [7] = L('a') | L('m') | L('o') | L('u') | L('w') | L('z'),
    [8] = L('a') | L('g') | L('j') | L('s'),
    [9] = L('d'),
    [10] = L('d') | L('i') | L('n') | L('w'),
    [11] = L('f'),
};
#undef L

/* \w (PCRE2 without UTF): digits, ASCII letters, '_' */
static int is_word_byte(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10 || c == '_';
}

static int scanner_word(const char *w, size_t len)
{
	size_t lo = 0, hi = sizeof(scanner_words) / sizeof(scanner_words[0]);

	if (len < 4 || len > 11 || w[0] < 'a' || w[0] > 'z' ||
	    !(scanner_initials[len] & (1u << (w[0] - 'a'))))
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(w, scanner_words[mid], len);

		if (r == 0 && scanner_words[mid][len] == '\0')
			return 1;
		if (r <= 0) /* r == 0: the listed word is longer */
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* 1 when s has a whole word (a run of \w bytes) listed in scanner_words. */
static int scanner_words_in(const char *s, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && !is_word_byte((unsigned char)s[i]))
			i++;
		for (start = i; i < len && is_word_byte((unsigned char)s[i]); i++)
			;
		if (scanner_word(s + start, i - start))
			return 1;
	}
	return 0;
}

/* oob_domains, read as a list of "name.tld" followed by \b: looked for
 * at each dot of the value (its alternation is tried at most positions
 * by the regex engine). Exactly the values the pattern matches. */
static const struct {
	const char *name, *tld;
} oob_names[] = {
    {"burpcollaborator", "net"},
    {"oastify", "com"},
    {"interact", "sh"},
    {"oast", "fun"},
    {"oast", "me"},
    {"oast", "live"},
    {"oast", "site"},
    {"oast", "online"},
    {"oast", "pro"},
    {"dnslog", "cn"},
    {"ceye", "io"},
    {"canarytokens", "com"},
};

/* Does the name and the tld of oob_names[k] surround the dot at s[d]? */
static int oob_name_at(const char *s, size_t len, size_t d, size_t k)
{
	size_t n = strlen(oob_names[k].name), t = strlen(oob_names[k].tld);

	return d >= n && memcmp(s + d - n, oob_names[k].name, n) == 0 && len - d - 1 >= t &&
	       memcmp(s + d + 1, oob_names[k].tld, t) == 0 &&
	       (d + 1 + t == len || !is_word_byte((unsigned char)s[d + 1 + t]));
}

static int oob_names_in(const char *s, size_t len)
{
	const char *dot = s;

	while ((dot = memchr(dot, '.', len - (size_t)(dot - s))) != NULL) {
		size_t d = (size_t)(dot - s);

		/* most dots sit between digits or ordinary words */
		if (d > 0 && d + 1 < len && memchr("rytges", s[d - 1], 6) != NULL &&
		    memchr("ncsfmlpio", s[d + 1], 9) != NULL)
			for (size_t k = 0; k < sizeof(oob_names) / sizeof(oob_names[0]); k++)
				if (oob_name_at(s, len, d, k))
					return 1;
		dot++;
	}
	return 0;
}

static const struct prefilter prefilters[] = {
    /* every dot is '.' or an overlong / fullwidth (high) form */
    {WAF_OP_REGEX, traversal, "", ".\x80", NULL},
    /* etc/, proc/, windows\, winnt\, var/log/ or boot.ini, win.ini */
    {WAF_OP_REGEX, lfi_files, "", "/\\.", NULL},
    {WAF_OP_REGEX, lfi_wrappers, ":/", "", NULL},
    /* a metacharacter or "$(" before the command, or a backtick */
    {WAF_OP_REGEX, cmd_injection, "", ";|\n\r&`$", NULL},
    {WAF_OP_REGEX, cmd_obfuscated, "", ";|\n\r&`$", NULL},
    /* /dev/tcp/, "| sh", "iex(", and the rest have an option ("-e") */
    {WAF_OP_REGEX, cmd_payloads, "", "/-|(", NULL},
    {WAF_OP_REGEX, shellshock, "(){", "", NULL},
    {WAF_OP_REGEX, jndi_lookup, "${:", "", NULL},
    {WAF_OP_REGEX, ifs_tricks, "$", "", NULL},
    {WAF_OP_REGEX, vcs_dirs, "/", "", NULL},
    {WAF_OP_REGEX, secret_files, "/.", "", NULL},
    {WAF_OP_REGEX, backup_files, "", ".~#", NULL},
    {WAF_OP_REGEX, server_files, "/", "", NULL},
    {WAF_OP_REGEX, oob_domains, ".", "", oob_names_in},
    {WAF_OP_REGEX, scanner_agents, "", "", scanner_words_in},
    /* Markup needs '<' (or the fullwidth one), a handler '=', a script
     * URL ':' (or an entity that spells it, '&'), a string break a quote,
     * document.cookie and friends a '.', a template '{'. */
    {WAF_OP_DETECT_XSS, NULL, "", "<=:&'\".{\x80", NULL},
};

int waf_preset_prefilter(const struct waf_condition *c, struct waf_prefilter *out)
{
	for (size_t i = 0; i < sizeof(prefilters) / sizeof(prefilters[0]); i++) {
		const struct prefilter *p = &prefilters[i];

		if (p->op != c->op || (p->pattern != NULL && strcmp(p->pattern, c->value) != 0))
			continue;
		out->all = waf_summary_of_set(p->all);
		out->any = waf_summary_of_set(p->any);
		out->words = p->words;
		return 1;
	}
	return 0;
}

static unsigned char transform_of(char c)
{
	switch (c) {
	case 'u':
		return WAF_T_URL_DECODE;
	case 'h':
		return WAF_T_HTML_ENTITY;
	default:
		return WAF_T_LOWERCASE;
	}
}

static int preset_build(const struct preset *p, struct waf_rule *r)
{
	struct waf_condition *c = &r->conditions[0];
	size_t i;

	memset(r, 0, sizeof(*r));
	r->id = p->id;
	r->preset = 1;
	r->enabled = 1;
	r->action = WAF_ACTION_BLOCK;
	r->description = strdup(p->description);
	r->n_conditions = 1;
	c->target = p->target;
	if (p->header != NULL)
		snprintf(c->header_name, sizeof(c->header_name), "%s", p->header);
	c->op = p->op;
	c->value = strdup(p->value);
	for (i = 0; p->transforms[i] != '\0' && i < WAF_MAX_TRANSFORMS; i++)
		c->transforms[i] = transform_of(p->transforms[i]);
	c->n_transforms = i;
	return r->description != NULL && c->value != NULL ? 0 : -1;
}

int waf_preset_rules(struct waf_rule **list, size_t *n)
{
	size_t count = sizeof(presets) / sizeof(presets[0]), i;
	struct waf_rule *rules = calloc(count, sizeof(*rules));

	*list = NULL;
	*n = 0;
	if (rules == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		if (preset_build(&presets[i], &rules[i]) < 0) {
			waf_rule_list_free(rules, i + 1);
			return -1;
		}
	}
	*list = rules;
	*n = count;
	return 0;
}
