/* Unit tests for gateway/config_file.c: the shipped conf/postern.conf gives the
 * documented defaults, every kind of bad line fails with "FILE:LINE: ..."
 * naming the key, and the value parsers handle their edge cases. */
#include "gateway/config_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/tap.h"

static struct error err;

static int parse(const char *text, struct config *cfg)
{
	return config_parse(text, strlen(text), "t.conf", cfg, &err);
}

static int is_zeroed(const struct config *cfg)
{
	static const struct config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* text must fail on line `line` with a message containing needle; cfg must
 * come back holding nothing (it is filled with garbage first). */
static void expect_fail_len(const char *text, size_t len, unsigned line, const char *needle,
			    const char *what)
{
	struct config cfg;
	char prefix[64];
	int rc, good;

	memset(&cfg, 0x5a, sizeof(cfg));
	error_clear(&err);
	rc = config_parse(text, len, "t.conf", &cfg, &err);
	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	good = rc == -1 && strcmp(err.code, "config") == 0 &&
	       strncmp(err.message, prefix, strlen(prefix)) == 0 &&
	       strstr(err.message, needle) != NULL && is_zeroed(&cfg);
	ok(good, "rejects %s (line %u, says \"%s\")", what, line, needle);
	if (!good)
		printf("#   got rc=%d code=%s message=%s\n", rc, err.code, err.message);
	config_free(&cfg);
}

static void expect_fail(const char *text, unsigned line, const char *needle, const char *what)
{
	expect_fail_len(text, strlen(text), line, needle, what);
}

/* Parse one [section] key = value and return 0 with the config in cfg. */
static int parse_one(const char *section, const char *key, const char *value, struct config *cfg)
{
	char text[8192];

	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", section, key, value);
	return parse(text, cfg);
}

static void expect_bad_value(const char *section, const char *key, const char *value,
			     const char *needle)
{
	char text[8192], head[128], what[160];

	snprintf(text, sizeof(text), "[%s]\n# a comment\n%s = %s\n", section, key, value);
	snprintf(head, sizeof(head), "bad value for '%s': ", key);
	snprintf(what, sizeof(what), "%s = '%.100s'", key, value);
	expect_fail(text, 3, head, what);
	if (needle != NULL)
		ok(strstr(err.message, needle) != NULL, "the message for %s = '%s' says \"%s\"",
		   key, value, needle);
}

static unsigned long long duration(const char *text, int *rc)
{
	unsigned long long ms = 12345;

	*rc = config_parse_duration(text, &ms);
	return ms;
}

static void test_duration(void)
{
	static const struct {
		const char *text;
		unsigned long long ms;
	} good[] = {
		{ "10s", 10000 },
		{ "500ms", 500 },
		{ "5m", 300000 },
		{ "2h", 7200000 },
		{ "30d", 2592000000ULL },
		{ "7", 7000 },
		{ "0", 0 },
		{ "0ms", 0 },
		{ "010s", 10000 },
		{ "18446744073709551615ms", 18446744073709551615ULL },
		{ "213503982334d", 213503982334ULL * 86400000ULL },
	};
	static const char *const bad[] = {
		"",
		"s",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1x",
		"1sec",
		"1S",
		"1.5s",
		"10 s",
		"1ss",
		"1msx",
		"0x10",
		"1e3",
		"18446744073709551616ms",
		"18446744073709551615",
		"213503982335d",
		"99999999999999999999999999",
	};
	unsigned long long ms;
	int rc;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = duration(good[i].text, &rc);
		ok(rc == 0 && ms == good[i].ms, "duration '%s' = %llu ms", good[i].text,
		   good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = duration(bad[i], &rc);
		ok(rc == -1 && ms == 12345, "duration '%s' is rejected, output untouched", bad[i]);
	}
	ok(config_parse_duration(NULL, &ms) == -1, "duration NULL is rejected");
}

static void test_listen(void)
{
	static const char *const bad[] = {
		"localhost:8080", ":8080",         "0.0.0.0",      "0.0.0.0:",
		"0.0.0.0:0",      "0.0.0.0:65536", "0.0.0.0:+80",  "0.0.0.0:80x",
		"0.0.0.0:123456", "::1:80",        "[::1]80",      "[::1",
		"[::1]:",         "1.2.3:80",      "256.1.1.1:80", "[fe80::1%eth0]:80",
		"[1.2.3.4]:80",   "*:80",          "0.0.0.0:-1",   " 0.0.0.0:80",
		"[::1]:9443x",    "[]:80",         "0.0.0.0 :80",
	};
	struct config_listen l, before;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;
	char long_text[200];

	ok(config_parse_listen("0.0.0.0:8080", &l) == 0 && sin->sin_family == AF_INET &&
		   ntohs(sin->sin_port) == 8080 && sin->sin_addr.s_addr == htonl(INADDR_ANY) &&
		   l.addr_len == sizeof(struct sockaddr_in) && !l.is_loopback &&
		   strcmp(l.text, "0.0.0.0:8080") == 0,
	   "listen 0.0.0.0:8080 parses to IPv4 any, port 8080, not loopback");
	ok(config_parse_listen("127.0.0.1:9443", &l) == 0 && l.is_loopback &&
		   sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(sin->sin_port) == 9443,
	   "listen 127.0.0.1:9443 is loopback");
	ok(config_parse_listen("127.200.3.4:1", &l) == 0 && l.is_loopback,
	   "listen 127.200.3.4:1 is loopback (127.0.0.0/8)");
	ok(config_parse_listen("128.0.0.1:65535", &l) == 0 && !l.is_loopback &&
		   ntohs(sin->sin_port) == 65535,
	   "listen 128.0.0.1:65535 parses and is not loopback");
	ok(config_parse_listen("10.1.2.3:80", &l) == 0 && !l.is_loopback,
	   "listen 10.1.2.3:80 is not loopback");
	ok(config_parse_listen("[::1]:9443", &l) == 0 && sin6->sin6_family == AF_INET6 &&
		   IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) && ntohs(sin6->sin6_port) == 9443 &&
		   l.addr_len == sizeof(struct sockaddr_in6) && l.is_loopback &&
		   strcmp(l.text, "[::1]:9443") == 0,
	   "listen [::1]:9443 parses to IPv6 loopback");
	ok(config_parse_listen("[::]:443", &l) == 0 && !l.is_loopback &&
		   IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr),
	   "listen [::]:443 is IPv6 any, not loopback");
	ok(config_parse_listen("[2001:db8::5]:8443", &l) == 0 && !l.is_loopback,
	   "listen [2001:db8::5]:8443 parses, not loopback");
	ok(config_parse_listen("[::ffff:127.0.0.1]:80", &l) == 0 && l.is_loopback,
	   "listen [::ffff:127.0.0.1]:80 (v4-mapped) is loopback");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&l, 0x33, sizeof(l));
		before = l;
		ok(config_parse_listen(bad[i], &l) == -1 && memcmp(&l, &before, sizeof(l)) == 0,
		   "listen '%s' is rejected, output untouched", bad[i]);
	}
	memset(long_text, '1', sizeof(long_text));
	memcpy(long_text, "[::1]:", 6);
	long_text[sizeof(long_text) - 1] = '\0';
	ok(config_parse_listen(long_text, &l) == -1, "listen text of 199 bytes is rejected");
	ok(config_parse_listen(NULL, &l) == -1, "listen NULL is rejected");
}

static void check_defaults(const struct config *c, const char *what)
{
	ok(strcmp(c->http_listen.text, "0.0.0.0:8080") == 0 && !c->http_listen.is_loopback &&
		   c->http_listen.addr.ss_family == AF_INET,
	   "%s: http_listen 0.0.0.0:8080", what);
	ok(strcmp(c->https_listen.text, "0.0.0.0:8443") == 0, "%s: https_listen 0.0.0.0:8443",
	   what);
	ok(c->workers == 0, "%s: workers auto (0)", what);
	ok(c->default_certificate && strcmp(c->default_certificate, "") == 0,
	   "%s: default_certificate empty", what);
	ok(c->header_timeout_ms == 10000, "%s: header_timeout 10s", what);
	ok(c->idle_timeout_ms == 60000, "%s: idle_timeout 60s", what);
	ok(c->backend_connect_timeout_ms == 5000, "%s: backend_connect_timeout 5s", what);
	ok(c->backend_timeout_ms == 60000, "%s: backend_timeout 60s", what);
	ok(c->drain_timeout_ms == 30000, "%s: drain_timeout 30s", what);
	ok(c->trusted_proxies == NULL && c->n_trusted_proxies == 0, "%s: no trusted_proxies", what);
	ok(c->waf_body_limit == 65536, "%s: waf_body_limit 64 KiB", what);
	ok(strcmp(c->admin_listen.text, "127.0.0.1:9443") == 0 && c->admin_listen.is_loopback,
	   "%s: admin listen 127.0.0.1:9443, loopback", what);
	ok(c->admin_tls == 1, "%s: admin tls on", what);
	ok(c->data_dir && strcmp(c->data_dir, "var") == 0, "%s: data_dir var", what);
	ok(c->event_retention_s == 30 * 86400, "%s: event_retention 30d", what);
	ok(c->acme_directory_url && strcmp(c->acme_directory_url,
					   "https://acme-v02.api.letsencrypt.org/directory") == 0,
	   "%s: acme directory_url is Let's Encrypt production", what);
	ok(c->acme_email && c->acme_ca_bundle && c->acme_resolver && !*c->acme_email &&
		   !*c->acme_ca_bundle && !*c->acme_resolver,
	   "%s: acme email, ca_bundle, resolver empty", what);
	ok(c->access_log && strcmp(c->access_log, "-") == 0, "%s: access_log -", what);
	ok(c->access_log_format == CONFIG_LOG_COMBINED, "%s: access_log_format combined", what);
	ok(c->error_log && strcmp(c->error_log, "-") == 0, "%s: error_log -", what);
	ok(c->log_level && strcmp(c->log_level, "info") == 0, "%s: level info", what);
}

/* Where conf/postern.conf is: $POSTERN_SRCDIR (make check), else derived
 * from this file's path. Returns 0 with path filled, -1 if not found. */
static int default_conf_path(char *path, size_t size)
{
	const char *srcdir = getenv("POSTERN_SRCDIR");
	const char *suffix = "tests/unit/gateway/test_config.c";
	size_t flen = strlen(__FILE__), slen = strlen(suffix);

	if (srcdir != NULL && *srcdir != '\0')
		snprintf(path, size, "%s/conf/postern.conf", srcdir);
	else if (flen >= slen && strcmp(__FILE__ + flen - slen, suffix) == 0)
		snprintf(path, size, "%.*sconf/postern.conf", (int)(flen - slen), __FILE__);
	else
		return -1;
	return access(path, R_OK);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(1 << 16) : NULL;

	*len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void test_default_file(void)
{
	struct config cfg, def, crlf_cfg;
	char path[4096], *text, *crlf;
	size_t len, n = 0;

	if (default_conf_path(path, sizeof(path)) < 0) {
		ok(1, "default conf checks # SKIP conf/postern.conf not found: set POSTERN_SRCDIR");
		return;
	}
	ok(config_load(path, &cfg, &err) == 0, "the shipped %s parses", path);
	if (cfg.path == NULL) {
		printf("#   %s\n", err.message);
		return;
	}
	ok(strcmp(cfg.path, path) == 0, "cfg.path is the file read");
	check_defaults(&cfg, "shipped conf");
	ok(config_defaults(&def) == 0, "config_defaults succeeds");
	check_defaults(&def, "config_defaults");
	ok(def.path == NULL, "config_defaults sets no path");
	config_free(&def);

	/* The same file with CRLF line ends gives the same config. */
	text = slurp(path, &len);
	crlf = malloc(len * 2 + 1);
	for (size_t i = 0; text && crlf && i < len; i++) {
		if (text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[i];
	}
	ok(text && crlf && config_parse(crlf, n, "crlf.conf", &crlf_cfg, &err) == 0,
	   "the shipped conf with CRLF line ends parses");
	if (crlf_cfg.path != NULL)
		check_defaults(&crlf_cfg, "CRLF conf");
	config_free(&crlf_cfg);
	free(crlf);
	free(text);
	config_free(&cfg);
	ok(is_zeroed(&cfg), "config_free zeroes the struct");
}

static void test_structure_errors(void)
{
	char line[4200];

	expect_fail("foo = 1\n", 1, "key outside any section: put 'foo'",
		    "a key before any section");
	expect_fail("# top\n\n[gateway]\nfoo = 1\n", 4, "unknown key 'foo' in section [gateway]",
		    "an unknown key");
	expect_fail("[gateway]\nworkers = 2\n[admin]\nworkers = 2\n", 4,
		    "unknown key 'workers' in section [admin]", "a key in the wrong section");
	expect_fail("[gateway]\nWorkers = 2\n", 2, "unknown key 'Workers'", "a key in upper case");
	expect_fail("[gateway]\n[foo]\n", 2, "unknown section [foo]", "an unknown section");
	expect_fail("[Gateway]\n", 1, "unknown section [Gateway]", "a section in upper case");
	expect_fail("[]\n", 1, "unknown section []", "an empty section name");
	expect_fail("\n[gateway\n", 2, "unterminated section header '[gateway'",
		    "an unterminated section header");
	expect_fail("[gateway] workers = 2\n", 1, "unexpected text after the section header",
		    "text after a section header");
	expect_fail("[gateway]\nworkers\n", 2, "line has no '='", "a line without '='");
	expect_fail("[gateway]\n = 2\n", 2, "line has no key before '='", "a line without a key");
	expect_fail("[admin]\nlisten = 127.0.0.1:1\n\nlisten = 127.0.0.1:2\n", 4,
		    "key 'listen' appears twice in [admin] (first on line 2)", "a repeated key");
	expect_fail("[admin]\ntls = on\n[log]\n[admin]\ntls = on\n", 5, "key 'tls' appears twice",
		    "a repeated key across repeated sections");
	expect_fail("[gateway]\nworkers = 3\nworkers = 3\n", 3, "appears twice in [gateway]",
		    "a repeated key with the same value");
	expect_fail_len("[gateway]\nworkers = 4\0\n", 22, 2, "NUL byte", "a NUL byte");
	expect_fail_len("[gateway]\n#\0\n", 13, 2, "NUL byte", "a NUL byte in a comment");
	expect_fail("[gateway]\nworkers = \x01\n", 2, "control character 0x01", "a control byte");
	expect_fail("[gateway]\nworkers = 4\rdata_dir = x\n", 2, "control character 0x0d",
		    "a bare CR in the middle of a line");

	memset(line, 'x', sizeof(line));
	line[0] = '#';
	memcpy(line + 4097, "\n[x]\n", 6);
	expect_fail(line, 1, "line longer than 4096 bytes", "a 4097-byte comment line");
	memset(line, 'x', sizeof(line));
	memcpy(line, "[gateway]\n#", 11);
	memcpy(line + 10 + 4097, "\n", 2);
	expect_fail(line, 2, "line longer than 4096 bytes", "a 4097-byte line on line 2");

	struct config cfg;

	memset(line, ' ', 4096);
	line[0] = '#';
	memcpy(line + 4096, "\r\n[bogus]\n", 11);
	ok(parse(line, &cfg) == -1 && strncmp(err.message, "t.conf:2: unknown section", 25) == 0,
	   "a 4096-byte line plus CRLF is accepted (the next line is line 2)");
	config_free(&cfg);
}

static void test_comments_and_line_ends(void)
{
	struct config cfg;

	ok(parse("", &cfg) == 0 && cfg.path && strcmp(cfg.path, "t.conf") == 0 &&
		   cfg.header_timeout_ms == 10000,
	   "an empty text gives the defaults and records the name");
	config_free(&cfg);
	ok(config_parse(NULL, 0, "none", &cfg, &err) == 0 && cfg.workers == 0,
	   "a NULL text of length 0 gives the defaults");
	config_free(&cfg);
	ok(parse("[gateway]\nworkers = 4 # four threads\n", &cfg) == 0 && cfg.workers == 4,
	   "a comment after a value is dropped");
	config_free(&cfg);
	ok(parse("[gateway]\nworkers=5#five\n", &cfg) == 0 && cfg.workers == 5,
	   "a '#' right after a value starts a comment; blanks around '=' are optional");
	config_free(&cfg);
	ok(parse("  # indented comment\n# [nope]\n[gateway] # the gateway\n\t workers \t=\t 6 \t\n",
		 &cfg) == 0 &&
		   cfg.workers == 6,
	   "comments, a commented header, tabs and blanks are ignored");
	config_free(&cfg);
	ok(parse("[ gateway ]\nworkers = 7", &cfg) == 0 && cfg.workers == 7,
	   "blanks inside the brackets and a last line without newline are fine");
	config_free(&cfg);
	ok(parse("[gateway]\r\nworkers = 8\r\n\r\n[log]\nlevel = debug\r\n", &cfg) == 0 &&
		   cfg.workers == 8 && strcmp(cfg.log_level, "debug") == 0,
	   "CRLF and LF line ends may be mixed");
	config_free(&cfg);
	ok(parse("[gateway]\r\nworkers = 9\r", &cfg) == 0 && cfg.workers == 9,
	   "a CR at the very end is a line end");
	config_free(&cfg);
	ok(parse("\xef\xbb\xbf[gateway]\nworkers = 10\n", &cfg) == 0 && cfg.workers == 10,
	   "a UTF-8 byte order mark is skipped");
	config_free(&cfg);
	ok(parse("[gateway]\n[gateway]\nworkers = 11\n", &cfg) == 0 && cfg.workers == 11,
	   "a section may be opened twice");
	config_free(&cfg);
	expect_fail("[gateway]\r\nworkers = 2\r\nworkers = 2\r\n", 3, "appears twice",
		    "a repeated key in a CRLF file, with the right line number");
	expect_fail("[gateway]\nworkers = # none\n", 2, "bad value for 'workers'",
		    "a value that is only a comment");
}

static void test_workers_and_bool(void)
{
	struct config cfg;

	ok(parse_one("gateway", "workers", "auto", &cfg) == 0 && cfg.workers == 0,
	   "workers auto = 0");
	config_free(&cfg);
	ok(parse_one("gateway", "workers", "1", &cfg) == 0 && cfg.workers == 1, "workers 1");
	config_free(&cfg);
	ok(parse_one("gateway", "workers", "256", &cfg) == 0 && cfg.workers == 256, "workers 256");
	config_free(&cfg);
	expect_fail("[gateway]\n\n\nworkers = 0\n", 4,
		    "bad value for 'workers': expected 'auto' or a number from 1 to 256",
		    "workers 0");
	expect_bad_value("gateway", "workers", "257", "1 to 256");
	expect_bad_value("gateway", "workers", "-1", NULL);
	expect_bad_value("gateway", "workers", "+4", NULL);
	expect_bad_value("gateway", "workers", "4x", NULL);
	expect_bad_value("gateway", "workers", "AUTO", NULL);
	expect_bad_value("gateway", "workers", "99999999999", NULL);
	expect_bad_value("gateway", "workers", "", "empty");

	static const struct {
		const char *text;
		int value;
	} bools[] = {
		{ "on", 1 },   { "off", 0 },   { "yes", 1 }, { "no", 0 },
		{ "true", 1 }, { "false", 0 }, { "ON", 1 },  { "Off", 0 },
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		ok(parse_one("admin", "tls", bools[i].text, &cfg) == 0 &&
			   cfg.admin_tls == bools[i].value,
		   "tls = %s gives %d", bools[i].text, bools[i].value);
		config_free(&cfg);
	}
	expect_bad_value("admin", "tls", "maybe", "on or off");
	expect_bad_value("admin", "tls", "1", NULL);
	expect_bad_value("admin", "tls", "", "empty");
	expect_fail("[admin]\nlisten = 0.0.0.0:9443\ntls = off\n", 3,
		    "tls = off is allowed only on a loopback", "tls off on a public admin address");
	expect_fail("[admin]\ntls = off\nlisten = [::]:9443\n", 2, "listen is [::]:9443",
		    "tls off with a later public IPv6 listen");
	ok(parse("[admin]\ntls = off\nlisten = 127.0.0.2:9999\n", &cfg) == 0 &&
		   cfg.admin_tls == 0 && cfg.admin_listen.is_loopback,
	   "tls off with a later 127.0.0.2 listen is fine");
	config_free(&cfg);
	ok(parse("[admin]\nlisten = [::1]:9443\ntls = no\n", &cfg) == 0 && cfg.admin_tls == 0,
	   "tls off on [::1] is fine");
	config_free(&cfg);
	ok(parse("[admin]\nlisten = 0.0.0.0:9443\n", &cfg) == 0 && cfg.admin_tls == 1 &&
		   !cfg.admin_listen.is_loopback,
	   "a public admin address with tls on is fine");
	config_free(&cfg);
}

static void test_durations_in_file(void)
{
	static const struct {
		const char *key, *value;
		size_t offset;
		unsigned expect;
	} good[] = {
		{ "header_timeout", "500ms", offsetof(struct config, header_timeout_ms), 500 },
		{ "idle_timeout", "5m", offsetof(struct config, idle_timeout_ms), 300000 },
		{ "backend_connect_timeout", "15",
		  offsetof(struct config, backend_connect_timeout_ms), 15000 },
		{ "backend_timeout", "2h", offsetof(struct config, backend_timeout_ms), 7200000 },
		{ "drain_timeout", "1ms", offsetof(struct config, drain_timeout_ms), 1 },
		{ "drain_timeout", "24d", offsetof(struct config, drain_timeout_ms), 2073600000 },
	};
	static const char *const bad[] = { "0",    "0s",   "0ms", "25d", "-5s",
					   "1.5s", "10 s", "10S", "s",   "99999999999999999999",
					   "" };
	struct config cfg;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ok(parse_one("gateway", good[i].key, good[i].value, &cfg) == 0 &&
			   *(unsigned *)((char *)&cfg + good[i].offset) == good[i].expect,
		   "%s = %s gives %u ms", good[i].key, good[i].value, good[i].expect);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_value("gateway", "header_timeout", bad[i], NULL);
	expect_bad_value("gateway", "idle_timeout", "forever", "such as 10s");

	ok(parse_one("storage", "event_retention", "1s", &cfg) == 0 && cfg.event_retention_s == 1,
	   "event_retention 1s");
	config_free(&cfg);
	ok(parse_one("storage", "event_retention", "90m", &cfg) == 0 &&
		   cfg.event_retention_s == 5400,
	   "event_retention 90m = 5400 s");
	config_free(&cfg);
	ok(parse_one("storage", "event_retention", "3650d", &cfg) == 0 &&
		   cfg.event_retention_s == 3650u * 86400u,
	   "event_retention 3650d");
	config_free(&cfg);
	expect_bad_value("storage", "event_retention", "0", "30d");
	expect_bad_value("storage", "event_retention", "500ms", NULL);
	expect_bad_value("storage", "event_retention", "1500ms", NULL);
	expect_bad_value("storage", "event_retention", "3651d", NULL);
}

static void test_sizes(void)
{
	static const struct {
		const char *text;
		size_t bytes;
	} good[] = {
		{ "64k", 65536 },         { "64K", 65536 },
		{ "64KiB", 65536 },       { "64kib", 65536 },
		{ "1m", 1048576 },        { "1MiB", 1048576 },
		{ "100", 100 },           { "0", 0 },
		{ "64m", 67108864 },      { "64MiB", 67108864 },
		{ "67108864", 67108864 },
	};
	static const char *const bad[] = { "67108865", "65m",  "1g",
					   "1.5k",     "k",    "-1",
					   "64 k",     "64kb", "99999999999999999999999",
					   "64KiBx",   "" };
	struct config cfg;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ok(parse_one("gateway", "waf_body_limit", good[i].text, &cfg) == 0 &&
			   cfg.waf_body_limit == good[i].bytes,
		   "waf_body_limit %s = %zu bytes", good[i].text, good[i].bytes);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_value("gateway", "waf_body_limit", bad[i], NULL);
	expect_bad_value("gateway", "waf_body_limit", "1g", "at most 64MiB");
}

static void test_listen_in_file(void)
{
	struct config cfg;

	ok(parse("[gateway]\nhttp_listen = [::]:80\nhttps_listen = 10.0.0.1:443\n", &cfg) == 0 &&
		   cfg.http_listen.addr.ss_family == AF_INET6 &&
		   strcmp(cfg.https_listen.text, "10.0.0.1:443") == 0,
	   "http_listen and https_listen take IPv6 and IPv4");
	config_free(&cfg);
	expect_bad_value("gateway", "http_listen", "localhost:8080", "use an IP address");
	expect_bad_value("gateway", "https_listen", "::1:443", "brackets");
	expect_bad_value("gateway", "https_listen", "0.0.0.0:70000", "from 1 to 65535");
	expect_bad_value("gateway", "https_listen", "0.0.0.0", "IP:PORT");
	expect_bad_value("admin", "listen", "[::zz]:1", "not an IPv6 address");
	expect_bad_value("admin", "listen", "1.2.3.999:1", "not an IPv4 address");
	expect_bad_value("admin", "listen", "", "empty");
}

static void test_trusted_proxies(void)
{
	struct config cfg;

	ok(parse_one("gateway", "trusted_proxies", "10.0.0.0/8, 192.168.1.1,fd00::/8 ,2001:DB8::1",
		     &cfg) == 0 &&
		   cfg.n_trusted_proxies == 4,
	   "trusted_proxies with four v4/v6 entries parses");
	ok(cfg.n_trusted_proxies == 4 && strcmp(cfg.trusted_proxies[0], "10.0.0.0/8") == 0 &&
		   strcmp(cfg.trusted_proxies[1], "192.168.1.1/32") == 0 &&
		   strcmp(cfg.trusted_proxies[2], "fd00::/8") == 0 &&
		   strcmp(cfg.trusted_proxies[3], "2001:db8::1/128") == 0,
	   "entries are stored as canonical CIDRs (plain address = /32 or /128)");
	config_free(&cfg);
	ok(parse_one("gateway", "trusted_proxies", "0.0.0.0/0,::/0", &cfg) == 0 &&
		   cfg.n_trusted_proxies == 2 && strcmp(cfg.trusted_proxies[1], "::/0") == 0,
	   "trusted_proxies /0 for both families");
	config_free(&cfg);
	ok(parse_one("gateway", "trusted_proxies", "::ffff:10.0.0.1", &cfg) == 0 &&
		   strcmp(cfg.trusted_proxies[0], "::ffff:10.0.0.1/128") == 0,
	   "a v4-mapped IPv6 entry");
	config_free(&cfg);
	ok(parse_one("gateway", "trusted_proxies", "", &cfg) == 0 && cfg.n_trusted_proxies == 0 &&
		   cfg.trusted_proxies == NULL,
	   "an empty trusted_proxies is no proxies");
	config_free(&cfg);
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/33", "entry '10.0.0.0/33'");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/8, fd00::/129",
			 "entry 'fd00::/129' has a bad prefix length");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.1/8", "bits set after the /8");
	expect_bad_value("gateway", "trusted_proxies", "fd00::1/64", "bits set");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/", "bad prefix length");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/abc", "bad prefix length");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/-1", "bad prefix length");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/0008", "bad prefix length");
	expect_bad_value("gateway", "trusted_proxies", "proxy.example.com",
			 "entry 'proxy.example.com'");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.256", "not an IP address");
	expect_bad_value("gateway", "trusted_proxies", "/8", "not an IP address");
	expect_bad_value("gateway", "trusted_proxies", "fe80::1%eth0", "not an IP address");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/8,,10.1.0.0/16", "empty entry");
	expect_bad_value("gateway", "trusted_proxies", "10.0.0.0/8,", "empty entry");
	expect_bad_value("gateway", "trusted_proxies", "1.2.3.4 5.6.7.8", "'1.2.3.4 5.6.7.8'");
	expect_fail("[gateway]\ntrusted_proxies = 10.0.0.0/8\ntrusted_proxies = 10.0.0.0/8\n", 3,
		    "appears twice", "a repeated trusted_proxies (no leak of the first list)");
	expect_fail("[gateway]\ntrusted_proxies = 10.0.0.0/8\nworkers = x\n", 3, "'workers'",
		    "a bad line after trusted_proxies (no leak of the list)");
}

static void test_strings_and_enums(void)
{
	struct config cfg;

	ok(parse("[gateway]\ndefault_certificate = example.com\n[storage]\ndata_dir = /srv/my "
		 "data\n"
		 "[acme]\ndirectory_url = http://127.0.0.1:14000/dir\nemail = ops@example.com\n"
		 "ca_bundle = /etc/pebble.pem\nresolver = 127.0.0.1:8053\n"
		 "[log]\naccess_log =\naccess_log_format = json\nerror_log = /tmp/e.log\n"
		 "level = WARN\n",
		 &cfg) == 0,
	   "a file setting every string key parses");
	ok(cfg.default_certificate && strcmp(cfg.default_certificate, "example.com") == 0,
	   "default_certificate stored");
	ok(cfg.data_dir && strcmp(cfg.data_dir, "/srv/my data") == 0,
	   "data_dir keeps inner blanks");
	ok(cfg.acme_directory_url &&
		   strcmp(cfg.acme_directory_url, "http://127.0.0.1:14000/dir") == 0,
	   "an http:// directory_url is allowed (tests)");
	ok(cfg.acme_email && strcmp(cfg.acme_email, "ops@example.com") == 0, "email stored");
	ok(cfg.acme_ca_bundle && strcmp(cfg.acme_ca_bundle, "/etc/pebble.pem") == 0,
	   "ca_bundle stored");
	ok(cfg.acme_resolver && strcmp(cfg.acme_resolver, "127.0.0.1:8053") == 0,
	   "resolver stored");
	ok(cfg.access_log && strcmp(cfg.access_log, "") == 0, "an empty access_log means off");
	ok(cfg.access_log_format == CONFIG_LOG_JSON, "access_log_format json");
	ok(cfg.error_log && strcmp(cfg.error_log, "/tmp/e.log") == 0, "error_log stored");
	ok(cfg.log_level && strcmp(cfg.log_level, "warn") == 0, "level WARN is stored as warn");
	config_free(&cfg);

	static const char *const resolvers[] = { "[::1]:53", "dns.example:53", "8.8.8.8:53" };
	for (size_t i = 0; i < 3; i++) {
		ok(parse_one("acme", "resolver", resolvers[i], &cfg) == 0 &&
			   strcmp(cfg.acme_resolver, resolvers[i]) == 0,
		   "resolver %s", resolvers[i]);
		config_free(&cfg);
	}
	expect_bad_value("acme", "resolver", "127.0.0.1", "HOST:PORT");
	expect_bad_value("acme", "resolver", "127.0.0.1:0", NULL);
	expect_bad_value("acme", "resolver", "dns.example:99999", NULL);
	expect_bad_value("acme", "resolver", "[::1]", NULL);
	expect_bad_value("acme", "resolver", "dns_server:53", NULL);
	expect_bad_value("acme", "directory_url", "ftp://x/dir", "https://");
	expect_bad_value("acme", "directory_url", "https://", NULL);
	expect_bad_value("acme", "directory_url", "acme.example/dir", NULL);
	expect_bad_value("acme", "directory_url", "https://a b/dir", NULL);
	expect_bad_value("acme", "directory_url", "", "empty");
	expect_bad_value("acme", "email", "nobody", "e-mail");
	expect_bad_value("acme", "email", "@example.com", NULL);
	expect_bad_value("acme", "email", "ops@", NULL);
	expect_bad_value("gateway", "default_certificate", "a.example b.example", "one domain");
	expect_bad_value("log", "access_log_format", "xml", "combined or json");
	expect_bad_value("log", "level", "verbose", "debug, info, warn or error");
	expect_bad_value("log", "level", "warning", NULL);
	expect_bad_value("log", "level", "", "empty");
	expect_bad_value("log", "error_log", "", "empty");
	expect_bad_value("storage", "data_dir", "", "empty");

	static const char *const empty_ok[][2] = {
		{ "gateway", "default_certificate" },
		{ "acme", "email" },
		{ "acme", "ca_bundle" },
		{ "acme", "resolver" },
		{ "log", "access_log" },
	};
	for (size_t i = 0; i < sizeof(empty_ok) / sizeof(empty_ok[0]); i++) {
		ok(parse_one(empty_ok[i][0], empty_ok[i][1], "", &cfg) == 0,
		   "an empty %s is allowed", empty_ok[i][1]);
		config_free(&cfg);
	}
}

static void test_load(void)
{
	char dir[] = "/tmp/postern-test-config-XXXXXX", path[128], msg[256];
	struct config cfg;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(ENOENT));
	memset(&cfg, 0x5a, sizeof(cfg));
	ok(config_load(path, &cfg, &err) == -1 && strcmp(err.code, "config") == 0 &&
		   strcmp(err.message, msg) == 0 && is_zeroed(&cfg),
	   "a missing file: \"FILE: cannot read: <strerror>\"");
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", dir, strerror(EISDIR));
	ok(config_load(dir, &cfg, &err) == -1 && strcmp(err.message, msg) == 0,
	   "a directory cannot be read");

	snprintf(path, sizeof(path), "%s/x.conf", dir);
	f = fopen(path, "w");
	fputs("[gateway]\r\nworkers = 12\r\n[log]\r\nlevel = error\r\n", f);
	fclose(f);
	ok(config_load(path, &cfg, &err) == 0 && cfg.workers == 12 &&
		   strcmp(cfg.log_level, "error") == 0 && strcmp(cfg.path, path) == 0,
	   "config_load reads a file and records its path");
	config_free(&cfg);

	f = fopen(path, "w");
	fputs("[gateway]\n\nfoo = 1\n", f);
	fclose(f);
	snprintf(msg, sizeof(msg), "%s:3: unknown key 'foo' in section [gateway]", path);
	ok(config_load(path, &cfg, &err) == -1 && strncmp(err.message, msg, strlen(msg)) == 0 &&
		   is_zeroed(&cfg),
	   "config_load errors name the path and the line");

	f = fopen(path, "w");
	for (int i = 0; i < 50000; i++)
		fputs("# padding padding padding\n", f);
	fclose(f);
	ok(config_load(path, &cfg, &err) == -1 && strstr(err.message, "larger than 1 MiB") != NULL,
	   "a file over 1 MiB is refused");
	unlink(path);
	rmdir(dir);
}

static void test_free(void)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	ok(is_zeroed(&cfg), "config_free on a zeroed struct is safe");
	ok(config_defaults(&cfg) == 0, "config_defaults again");
	config_free(&cfg);
	config_free(&cfg);
	ok(is_zeroed(&cfg), "config_free on a defaulted struct, twice, is safe");
	config_free(NULL);
	ok(parse("[gateway]\nworkers = 2\n", &cfg) == 0, "parse with an error pointer");
	config_free(&cfg);
	ok(config_parse("[x]\n", 4, "t.conf", &cfg, NULL) == -1 && is_zeroed(&cfg),
	   "a failure with a NULL error pointer is still -1");
}

int main(void)
{
	test_duration();
	test_listen();
	test_default_file();
	test_structure_errors();
	test_comments_and_line_ends();
	test_workers_and_bool();
	test_durations_in_file();
	test_sizes();
	test_listen_in_file();
	test_trusted_proxies();
	test_strings_and_enums();
	test_load();
	test_free();
	return done_testing();
}
