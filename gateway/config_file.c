/* The config file parser (SPEC section 2). The whole text is parsed into a
 * private struct config that starts from the defaults; only a complete,
 * valid file is handed to the caller, so a failure never leaves half a
 * config behind. Every error names the file, the line and the key. */
#include "gateway/config_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)
#define TIMEOUT_MAX_MS (24ULL * 86400 * 1000)     /* stays below INT_MAX ms */
#define RETENTION_MAX_MS (3650ULL * 86400 * 1000) /* ten years */
#define WAF_BODY_LIMIT_MAX ((size_t)64 * 1024 * 1024)
#define WORKERS_MAX 256

enum config_section {
	SECTION_NONE,
	SECTION_GATEWAY,
	SECTION_ADMIN,
	SECTION_STORAGE,
	SECTION_ACME,
	SECTION_LOG,
	SECTION_MAX
};

static const char *const section_names[SECTION_MAX] = {
	"", "gateway", "admin", "storage", "acme", "log",
};

/* How a key's value is checked and stored. */
enum value_kind {
	KIND_LISTEN,
	KIND_WORKERS,
	KIND_STRING,
	KIND_DOMAIN,    /* one name without blanks */
	KIND_TIMEOUT,   /* unsigned milliseconds, > 0 */
	KIND_RETENTION, /* unsigned seconds, > 0 */
	KIND_SIZE,
	KIND_CHOICE, /* one word from a table of words, stored as an int */
	KIND_PROXIES,
	KIND_LOG_LEVEL,
	KIND_URL,
	KIND_EMAIL,
	KIND_RESOLVER,
	KIND_MAX
};

struct key_spec {
	enum config_section section;
	const char *name;
	enum value_kind kind;
	size_t offset;    /* of the field in struct config */
	int may_be_empty; /* else an empty value is an error */
	const struct choice *choices;
};

/* The words a KIND_CHOICE key accepts (any case), ending with a NULL word. */
struct choice {
	const char *word;
	int value;
};

static const struct choice bool_words[] = {
	{ "on", 1 }, { "off", 0 }, { "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 }, { 0 },
};
static const struct choice format_words[] = {
	{ "combined", CONFIG_LOG_COMBINED },
	{ "json", CONFIG_LOG_JSON },
	{ 0 },
};

/* One key per line reads best as a table. */
/* clang-format off */
#define KEY(s, n, k, f) { s, n, k, offsetof(struct config, f), 0, NULL }
#define KEY_EMPTY(s, n, k, f) { s, n, k, offsetof(struct config, f), 1, NULL }
#define KEY_CHOICE(s, n, f, words) { s, n, KIND_CHOICE, offsetof(struct config, f), 0, words }

static const struct key_spec key_specs[] = {
	KEY(SECTION_GATEWAY, "http_listen", KIND_LISTEN, http_listen),
	KEY(SECTION_GATEWAY, "https_listen", KIND_LISTEN, https_listen),
	KEY(SECTION_GATEWAY, "workers", KIND_WORKERS, workers),
	KEY_EMPTY(SECTION_GATEWAY, "default_certificate", KIND_DOMAIN, default_certificate),
	KEY(SECTION_GATEWAY, "header_timeout", KIND_TIMEOUT, header_timeout_ms),
	KEY(SECTION_GATEWAY, "idle_timeout", KIND_TIMEOUT, idle_timeout_ms),
	KEY(SECTION_GATEWAY, "backend_connect_timeout", KIND_TIMEOUT, backend_connect_timeout_ms),
	KEY(SECTION_GATEWAY, "backend_timeout", KIND_TIMEOUT, backend_timeout_ms),
	KEY(SECTION_GATEWAY, "drain_timeout", KIND_TIMEOUT, drain_timeout_ms),
	KEY_EMPTY(SECTION_GATEWAY, "trusted_proxies", KIND_PROXIES, trusted_proxies),
	KEY(SECTION_GATEWAY, "waf_body_limit", KIND_SIZE, waf_body_limit),
	KEY(SECTION_ADMIN, "listen", KIND_LISTEN, admin_listen),
	KEY_CHOICE(SECTION_ADMIN, "tls", admin_tls, bool_words),
	KEY(SECTION_STORAGE, "data_dir", KIND_STRING, data_dir),
	KEY(SECTION_STORAGE, "event_retention", KIND_RETENTION, event_retention_s),
	KEY(SECTION_ACME, "directory_url", KIND_URL, acme_directory_url),
	KEY_EMPTY(SECTION_ACME, "email", KIND_EMAIL, acme_email),
	KEY_EMPTY(SECTION_ACME, "ca_bundle", KIND_STRING, acme_ca_bundle),
	KEY_EMPTY(SECTION_ACME, "resolver", KIND_RESOLVER, acme_resolver),
	KEY_EMPTY(SECTION_LOG, "access_log", KIND_STRING, access_log),
	KEY_CHOICE(SECTION_LOG, "access_log_format", access_log_format, format_words),
	KEY(SECTION_LOG, "error_log", KIND_STRING, error_log),
	KEY(SECTION_LOG, "level", KIND_LOG_LEVEL, log_level),
};

/* clang-format on */

#define N_KEYS (sizeof(key_specs) / sizeof(key_specs[0]))

static const char *const log_levels[] = { "debug", "info", "warn", "error" };

struct parser {
	const char *name;
	unsigned line;
	enum config_section section;
	unsigned seen_line[N_KEYS]; /* 0 = not set yet */
	unsigned tls_line;
	struct config *cfg;
	struct error *err;
};

/* Fill err with "NAME:LINE: " and the formatted text; returns -1. */
static int parser_fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parser_fail(struct parser *p, const char *fmt, ...)
{
	char text[sizeof(p->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	error_set(p->err, "config", "%s:%u: %s", p->name, p->line, text);
	return -1;
}

static int bad_value(struct parser *p, const struct key_spec *spec, const char *why)
{
	return parser_fail(p, "bad value for '%s': %s", spec->name, why);
}

static void *field(struct config *cfg, const struct key_spec *spec)
{
	return (char *)cfg + spec->offset;
}

static char *trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* ---- value parsers shared with callers ---- */

struct unit {
	const char *suffix;
	unsigned long long factor;
};

/* Digits then one of the units' suffixes (compared with cmp). Returns 0 with
 * the product in out, or -1 on anything else, including overflow. */
static int parse_scaled(const char *s, const struct unit *units, size_t n_units,
			int (*cmp)(const char *, const char *), unsigned long long *out)
{
	unsigned long long n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (unsigned)(*s - '0');
	}
	for (size_t i = 0; i < n_units; i++) {
		if (cmp(s, units[i].suffix) != 0)
			continue;
		if (n > ULLONG_MAX / units[i].factor)
			return -1;
		*out = n * units[i].factor;
		return 0;
	}
	return -1;
}

int config_parse_duration(const char *text, unsigned long long *ms)
{
	static const struct unit units[] = {
		{ "", 1000 },       { "ms", 1 },          { "s", 1000 },
		{ "m", 60 * 1000 }, { "h", 3600 * 1000 }, { "d", 86400 * 1000 },
	};

	if (text == NULL || ms == NULL)
		return -1;
	return parse_scaled(text, units, sizeof(units) / sizeof(units[0]), strcmp, ms);
}

/* Parse a decimal port of at most five digits; 1..65535. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= 5)
			return -1;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0' || n < 1 || n > 65535)
		return -1;
	*port = (uint16_t)n;
	return 0;
}

/* A host that is made of name characters and has a letter is a host name
 * (said so in the error), not a mistyped address. */
static int looks_like_hostname(const char *s)
{
	int letter = 0;

	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			letter = 1;
		else if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	}
	return letter;
}

static int v6_is_loopback(const struct in6_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	return memcmp(a->s6_addr, mapped, sizeof(mapped)) == 0 && a->s6_addr[12] == 127;
}

/* Split "[v6]:port" / "v4:port" into a host copy and the port text.
 * Returns 1 for IPv6, 0 for IPv4, -1 with why filled. */
static int listen_split(const char *text, char *host, size_t host_size, const char **port,
			char *why, size_t why_size)
{
	const char *colon, *close;

	if (text[0] == '[') {
		close = strchr(text, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= host_size) {
			snprintf(why, why_size, "expected [IPv6]:PORT such as [::1]:9443");
			return -1;
		}
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		*port = close + 2;
		return 1;
	}
	colon = strrchr(text, ':');
	if (colon == NULL || colon == text || (size_t)(colon - text) >= host_size) {
		snprintf(why, why_size, "expected IP:PORT such as 0.0.0.0:8080 or [::1]:9443");
		return -1;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (strchr(host, ':') != NULL) {
		snprintf(why, why_size, "an IPv6 address needs brackets, e.g. [::1]:9443");
		return -1;
	}
	*port = colon + 1;
	return 0;
}

/* config_parse_listen with a reason for the person on failure. */
static int listen_parse(const char *text, struct config_listen *out, char *why, size_t why_size)
{
	struct config_listen l;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_text;
	uint16_t port;
	int v6;

	memset(&l, 0, sizeof(l));
	if (strlen(text) >= sizeof(l.text)) {
		snprintf(why, why_size, "address longer than %zu bytes", sizeof(l.text) - 1);
		return -1;
	}
	v6 = listen_split(text, host, sizeof(host), &port_text, why, why_size);
	if (v6 < 0)
		return -1;
	if (parse_port(port_text, &port) < 0) {
		snprintf(why, why_size, "port must be a number from 1 to 65535");
		return -1;
	}
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(why, why_size, "'%s' is not an IPv6 address", host);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		l.addr_len = sizeof(*sin6);
		l.is_loopback = v6_is_loopback(&sin6->sin6_addr);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			if (looks_like_hostname(host))
				snprintf(why, why_size,
					 "'%s' is a host name: use an IP address such as 127.0.0.1 "
					 "or 0.0.0.0",
					 host);
			else
				snprintf(why, why_size, "'%s' is not an IPv4 address", host);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		l.addr_len = sizeof(*sin);
		l.is_loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	memcpy(l.text, text, strlen(text) + 1);
	*out = l;
	return 0;
}

int config_parse_listen(const char *text, struct config_listen *out)
{
	char why[160];

	if (text == NULL || out == NULL)
		return -1;
	return listen_parse(text, out, why, sizeof(why));
}

/* "64k", "64KiB", "1m", "1MiB" or bare bytes (binary multiples, any case). */
static int parse_size(const char *text, unsigned long long *bytes)
{
	static const struct unit units[] = {
		{ "", 1 },
		{ "k", 1024 },
		{ "kib", 1024 },
		{ "m", 1024 * 1024 },
		{ "mib", 1024 * 1024 },
	};

	return parse_scaled(text, units, sizeof(units) / sizeof(units[0]), strcasecmp, bytes);
}

/* ---- trusted_proxies ---- */

/* Check one CIDR entry and write its canonical "addr/prefix" form to out.
 * Returns 0, or -1 with why filled. */
static int cidr_normalize(const char *entry, char *out, size_t out_size, char *why, size_t why_size)
{
	char addr_text[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
	const char *slash = strchr(entry, '/');
	size_t addr_len = slash ? (size_t)(slash - entry) : strlen(entry);
	uint8_t addr[16];
	unsigned prefix = 0, max;
	int family;

	if (addr_len == 0 || addr_len >= sizeof(addr_text))
		goto bad_address;
	memcpy(addr_text, entry, addr_len);
	addr_text[addr_len] = '\0';
	family = strchr(addr_text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr_text, addr) != 1)
		goto bad_address;
	max = family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		prefix = max;
	} else {
		const char *s = slash + 1;

		if (*s == '\0' || strlen(s) > 3 || strspn(s, "0123456789") != strlen(s) ||
		    (prefix = (unsigned)atoi(s)) > max) {
			snprintf(why, why_size,
				 "entry '%.64s' has a bad prefix length: expected /0 to /%u", entry,
				 max);
			return -1;
		}
	}
	for (unsigned bit = prefix; bit < max; bit++) {
		if (addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(why, why_size,
				 "entry '%.64s' has bits set after the /%u prefix: write the "
				 "network address",
				 entry, prefix);
			return -1;
		}
	}
	inet_ntop(family, addr, canon, sizeof(canon));
	snprintf(out, out_size, "%s/%u", canon, prefix);
	return 0;

bad_address:
	snprintf(why, why_size,
		 "entry '%.64s' is not an IP address or CIDR such as 10.0.0.0/8 or fd00::/8",
		 entry);
	return -1;
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int set_proxies(struct parser *p, const struct key_spec *spec, char *value)
{
	char why[256], canon[INET6_ADDRSTRLEN + 8];
	char **list = NULL, **grown, *entry, *next;
	size_t n = 0;

	for (entry = *value ? value : NULL; entry != NULL; entry = next) {
		next = strchr(entry, ',');
		if (next != NULL)
			*next++ = '\0';
		entry = trim(entry);
		if (*entry == '\0') {
			snprintf(why, sizeof(why), "empty entry in the comma-separated list");
			goto fail;
		}
		if (cidr_normalize(entry, canon, sizeof(canon), why, sizeof(why)) < 0)
			goto fail;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL || (grown[n] = strdup(canon)) == NULL) {
			free_strings(grown ? grown : list, n);
			return parser_fail(p, "out of memory");
		}
		list = grown;
		n++;
	}
	free_strings(p->cfg->trusted_proxies, p->cfg->n_trusted_proxies);
	p->cfg->trusted_proxies = list;
	p->cfg->n_trusted_proxies = n;
	return 0;

fail:
	free_strings(list, n);
	return bad_value(p, spec, why);
}

/* ---- one setter per kind ---- */

static int set_string(struct parser *p, const struct key_spec *spec, const char *value)
{
	char **slot = field(p->cfg, spec);
	char *copy = strdup(value);

	if (copy == NULL)
		return parser_fail(p, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static int set_listen(struct parser *p, const struct key_spec *spec, const char *value)
{
	char why[160];

	if (listen_parse(value, field(p->cfg, spec), why, sizeof(why)) < 0)
		return bad_value(p, spec, why);
	return 0;
}

static int set_workers(struct parser *p, const struct key_spec *spec, const char *value)
{
	size_t digits = strspn(value, "0123456789");
	int n;

	if (strcmp(value, "auto") == 0) {
		p->cfg->workers = 0;
		return 0;
	}
	if (digits == 0 || digits > 3 || value[digits] != '\0' || (n = atoi(value)) < 1 ||
	    n > WORKERS_MAX)
		return bad_value(p, spec, "expected 'auto' or a number from 1 to 256");
	p->cfg->workers = n;
	return 0;
}

static int set_duration(struct parser *p, const struct key_spec *spec, const char *value)
{
	unsigned long long ms;

	if (spec->kind == KIND_TIMEOUT) {
		if (config_parse_duration(value, &ms) < 0 || ms == 0 || ms > TIMEOUT_MAX_MS)
			return bad_value(p, spec,
					 "expected a duration such as 10s, 500ms, 5m or 2h, "
					 "from 1ms to 24d");
		*(unsigned *)field(p->cfg, spec) = (unsigned)ms;
		return 0;
	}
	if (config_parse_duration(value, &ms) < 0 || ms == 0 || ms % 1000 != 0 ||
	    ms > RETENTION_MAX_MS)
		return bad_value(
			p, spec,
			"expected a whole number of seconds, minutes, hours or days such as "
			"30d, from 1s to 3650d");
	*(unsigned *)field(p->cfg, spec) = (unsigned)(ms / 1000);
	return 0;
}

static int set_size(struct parser *p, const struct key_spec *spec, const char *value)
{
	unsigned long long bytes;

	if (parse_size(value, &bytes) < 0 || bytes > WAF_BODY_LIMIT_MAX)
		return bad_value(
			p, spec,
			"expected a size such as 64k, 64KiB, 1m, 1MiB or a number of bytes, "
			"at most 64MiB");
	p->cfg->waf_body_limit = (size_t)bytes;
	return 0;
}

/* Store the value of the matching word; the message lists the words once
 * each (on/off rather than all six spellings). */
static int set_choice(struct parser *p, const struct key_spec *spec, const char *value)
{
	char why[128] = "expected";
	const struct choice *c;

	for (c = spec->choices; c->word != NULL; c++) {
		if (strcasecmp(value, c->word) == 0) {
			*(int *)field(p->cfg, spec) = c->value;
			return 0;
		}
	}
	for (c = spec->choices; c->word != NULL && c - spec->choices < 2; c++)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s",
			 c == spec->choices ? " " : " or ", c->word);
	return bad_value(p, spec, why);
}

static int set_log_level(struct parser *p, const struct key_spec *spec, const char *value)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcasecmp(value, log_levels[i]) == 0)
			return set_string(p, spec, log_levels[i]); /* stored lower-case */
	}
	return bad_value(p, spec, "expected debug, info, warn or error");
}

static int set_url(struct parser *p, const struct key_spec *spec, const char *value)
{
	size_t scheme = strncmp(value, "https://", 8) == 0  ? 8
			: strncmp(value, "http://", 7) == 0 ? 7
							    : 0;

	if (scheme == 0 || value[scheme] == '\0' || value[scheme] == '/' ||
	    strpbrk(value, " \t") != NULL)
		return bad_value(
			p, spec,
			"expected an https:// URL such as "
			"https://acme-v02.api.letsencrypt.org/directory (http:// only for tests)");
	return set_string(p, spec, value);
}

static int set_email(struct parser *p, const struct key_spec *spec, const char *value)
{
	const char *at = strrchr(value, '@');

	if (*value != '\0' &&
	    (at == NULL || at == value || at[1] == '\0' || strpbrk(value, " \t") != NULL))
		return bad_value(p, spec,
				 "expected an e-mail address such as admin@example.com, or empty");
	return set_string(p, spec, value);
}

static int set_domain(struct parser *p, const struct key_spec *spec, const char *value)
{
	if (strpbrk(value, " \t,") != NULL)
		return bad_value(p, spec, "expected one domain name such as example.com, or empty");
	return set_string(p, spec, value);
}

/* Empty, or HOST:PORT where HOST is an IP ([v6] bracketed) or a host name. */
static int set_resolver(struct parser *p, const struct key_spec *spec, const char *value)
{
	const char *colon = strrchr(value, ':');
	struct config_listen l;
	char why[160], host[256];
	uint16_t port;

	if (*value == '\0' || listen_parse(value, &l, why, sizeof(why)) == 0)
		return set_string(p, spec, value);
	if (colon != NULL && (size_t)(colon - value) < sizeof(host) && colon != value &&
	    value[0] != '[') {
		memcpy(host, value, (size_t)(colon - value));
		host[colon - value] = '\0';
		if (looks_like_hostname(host) && parse_port(colon + 1, &port) == 0)
			return set_string(p, spec, value);
	}
	return bad_value(p, spec,
			 "expected HOST:PORT of a DNS server such as 127.0.0.1:53, or empty");
}

static int set_value(struct parser *p, const struct key_spec *spec, char *value)
{
	if (*value == '\0' && !spec->may_be_empty)
		return bad_value(
			p, spec,
			"the value is empty: write one, or delete the line to keep the default");
	switch (spec->kind) {
	case KIND_LISTEN: return set_listen(p, spec, value);
	case KIND_WORKERS: return set_workers(p, spec, value);
	case KIND_STRING: return set_string(p, spec, value);
	case KIND_DOMAIN: return set_domain(p, spec, value);
	case KIND_TIMEOUT:
	case KIND_RETENTION: return set_duration(p, spec, value);
	case KIND_SIZE: return set_size(p, spec, value);
	case KIND_CHOICE: return set_choice(p, spec, value);
	case KIND_PROXIES: return set_proxies(p, spec, value);
	case KIND_LOG_LEVEL: return set_log_level(p, spec, value);
	case KIND_URL: return set_url(p, spec, value);
	case KIND_EMAIL: return set_email(p, spec, value);
	case KIND_RESOLVER: return set_resolver(p, spec, value);
	case KIND_MAX: break;
	}
	return parser_fail(p, "internal error: key '%s' has no parser", spec->name);
}

/* ---- lines ---- */

static int parse_section(struct parser *p, char *s)
{
	char *close = strchr(s, ']'), *name;

	if (close == NULL)
		return parser_fail(p, "unterminated section header '%.64s': add the closing ']'",
				   s);
	if (close[1] != '\0')
		return parser_fail(p, "unexpected text after the section header '%.64s'", s);
	*close = '\0';
	name = trim(s + 1);
	for (int i = SECTION_NONE + 1; i < SECTION_MAX; i++) {
		if (strcmp(name, section_names[i]) == 0) {
			p->section = (enum config_section)i;
			return 0;
		}
	}
	return parser_fail(
		p,
		"unknown section [%.64s]: expected [gateway], [admin], [storage], [acme] "
		"or [log]",
		name);
}

/* "known keys: a, b, c" for the current section, so a typo is easy to fix. */
static void known_keys(enum config_section section, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_KEYS && used < size; i++) {
		if (key_specs[i].section != section)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
					 key_specs[i].name);
	}
}

static int parse_key(struct parser *p, char *s)
{
	char *eq = strchr(s, '='), *key, *value, keys[320];

	if (eq == NULL)
		return parser_fail(p,
				   "line has no '=': expected 'key = value', a [section] header or "
				   "a # comment");
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (*key == '\0')
		return parser_fail(p, "line has no key before '='");
	if (p->section == SECTION_NONE)
		return parser_fail(p,
				   "key outside any section: put '%.64s' under a header such as "
				   "[gateway]",
				   key);
	for (size_t i = 0; i < N_KEYS; i++) {
		if (key_specs[i].section != p->section || strcmp(key_specs[i].name, key) != 0)
			continue;
		if (p->seen_line[i] != 0)
			return parser_fail(p, "key '%s' appears twice in [%s] (first on line %u)",
					   key_specs[i].name, section_names[p->section],
					   p->seen_line[i]);
		p->seen_line[i] = p->line;
		if (key_specs[i].offset == offsetof(struct config, admin_tls))
			p->tls_line = p->line;
		return set_value(p, &key_specs[i], value);
	}
	known_keys(p->section, keys, sizeof(keys));
	return parser_fail(p, "unknown key '%.64s' in section [%s]; known keys: %s", key,
			   section_names[p->section], keys);
}

static int parse_line(struct parser *p, const char *raw, size_t len)
{
	char buf[CONFIG_LINE_MAX + 1], *s;

	if (len > 0 && raw[len - 1] == '\r')
		len--;
	if (memchr(raw, '\0', len) != NULL)
		return parser_fail(p, "NUL byte: the config file must be plain text");
	if (len > CONFIG_LINE_MAX)
		return parser_fail(p, "line longer than %d bytes", CONFIG_LINE_MAX);
	memcpy(buf, raw, len);
	buf[len] = '\0';
	buf[strcspn(buf, "#")] = '\0';
	for (s = buf; *s; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return parser_fail(
				p, "control character 0x%02x: the config file must be plain text",
				(unsigned char)*s);
	}
	s = trim(buf);
	if (*s == '\0')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	return parse_key(p, s);
}

/* Rules that join two keys, checked once the whole file is read. */
static int check_whole(struct parser *p)
{
	if (p->tls_line == 0 || p->cfg->admin_tls || p->cfg->admin_listen.is_loopback)
		return 0;
	p->line = p->tls_line;
	return parser_fail(p,
			   "tls = off is allowed only on a loopback [admin] listen address such as "
			   "127.0.0.1:9443 (listen is %s)",
			   p->cfg->admin_listen.text);
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* a UTF-8 byte order mark some editors add */
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		p->line++;
		if (parse_line(p, text + pos, end - pos) < 0)
			return -1;
		pos = end + 1;
	}
	return check_whole(p);
}

int config_parse(const char *text, size_t len, const char *name, struct config *cfg,
		 struct error *err)
{
	struct config tmp;
	struct parser p;

	memset(cfg, 0, sizeof(*cfg));
	if (name == NULL)
		name = "config";
	if (config_defaults(&tmp) < 0 || (tmp.path = strdup(name)) == NULL) {
		config_free(&tmp);
		error_set(err, "config", "%s: out of memory while reading the config", name);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.cfg = &tmp;
	p.err = err;
	if (parse_text(&p, text ? text : "", text ? len : 0) < 0) {
		config_free(&tmp);
		return -1;
	}
	*cfg = tmp;
	return 0;
}

/* Read at most CONFIG_FILE_MAX + 1 bytes, so a huge file (or a device that
 * never ends) is refused instead of eating memory. Returns the buffer
 * (caller frees) or NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = f ? malloc(CONFIG_FILE_MAX + 1) : NULL;
	int saved = errno;

	if (buf != NULL) {
		*len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
		saved = errno;
		if (ferror(f)) {
			free(buf);
			buf = NULL;
		}
	}
	if (f != NULL)
		fclose(f);
	errno = saved;
	return buf;
}

int config_load(const char *path, struct config *cfg, struct error *err)
{
	size_t len = 0;
	char *text;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	text = read_file(path, &len);
	if (text == NULL) {
		error_set(err, "config", "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (len > CONFIG_FILE_MAX) {
		free(text);
		error_set(err, "config",
			  "%s: cannot read: larger than 1 MiB; is it the right file?", path);
		return -1;
	}
	rc = config_parse(text, len, path, cfg, err);
	free(text);
	return rc;
}

int config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (config_parse_listen("0.0.0.0:8080", &cfg->http_listen) < 0 ||
	    config_parse_listen("0.0.0.0:8443", &cfg->https_listen) < 0 ||
	    config_parse_listen("127.0.0.1:9443", &cfg->admin_listen) < 0)
		return -1;
	cfg->workers = 0;
	cfg->header_timeout_ms = 10 * 1000;
	cfg->idle_timeout_ms = 60 * 1000;
	cfg->backend_connect_timeout_ms = 5 * 1000;
	cfg->backend_timeout_ms = 60 * 1000;
	cfg->drain_timeout_ms = 30 * 1000;
	cfg->waf_body_limit = 64 * 1024;
	cfg->admin_tls = 1;
	cfg->event_retention_s = 30 * 86400;
	cfg->access_log_format = CONFIG_LOG_COMBINED;
	if ((cfg->default_certificate = strdup("")) == NULL ||
	    (cfg->data_dir = strdup("var")) == NULL ||
	    (cfg->acme_directory_url = strdup("https://acme-v02.api.letsencrypt.org/directory")) ==
		    NULL ||
	    (cfg->acme_email = strdup("")) == NULL || (cfg->acme_ca_bundle = strdup("")) == NULL ||
	    (cfg->acme_resolver = strdup("")) == NULL || (cfg->access_log = strdup("-")) == NULL ||
	    (cfg->error_log = strdup("-")) == NULL || (cfg->log_level = strdup("info")) == NULL) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->default_certificate);
	free_strings(cfg->trusted_proxies, cfg->n_trusted_proxies);
	free(cfg->data_dir);
	free(cfg->acme_directory_url);
	free(cfg->acme_email);
	free(cfg->acme_ca_bundle);
	free(cfg->acme_resolver);
	free(cfg->access_log);
	free(cfg->error_log);
	free(cfg->log_level);
	memset(cfg, 0, sizeof(*cfg));
}

void config_swap_trusted_proxies(struct config *a, struct config *b)
{
	char **list = a->trusted_proxies;
	size_t n = a->n_trusted_proxies;

	a->trusted_proxies = b->trusted_proxies;
	a->n_trusted_proxies = b->n_trusted_proxies;
	b->trusted_proxies = list;
	b->n_trusted_proxies = n;
}
