/* IP addresses, CIDR prefixes and prefix sets: parsing (with malformed
 * input), normalization, formatting, IPv4-mapped equivalence, overlaps,
 * /0, list parsing and a 10,000-prefix set checked against a linear scan. */
#include "waf/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

/* ---- helpers */

/* text with control bytes as '?', for a one-line test description. */
static const char *shown(const char *text)
{
	static char out[80];
	size_t i;

	for (i = 0; text[i] != '\0' && i < sizeof(out) - 1; i++)
		out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	out[i] = '\0';
	return out;
}

static int parse_addr(const char *text, struct ip_addr *a)
{
	return ip_addr_parse(text, strlen(text), a);
}

static struct ip_addr addr(const char *text)
{
	struct ip_addr a;

	if (parse_addr(text, &a) < 0) {
		printf("Bail out! test address %s does not parse\n", text);
		exit(1);
	}
	return a;
}

static int parse_cidr(const char *text, struct cidr *c, struct error *err)
{
	return cidr_parse(text, strlen(text), c, err);
}

/* The normalized text of a prefix, or "ERR" when it does not parse. */
static const char *norm(const char *text)
{
	static char out[64];
	struct error err;
	struct cidr c;

	if (parse_cidr(text, &c, &err) < 0)
		return "ERR";
	return cidr_format(&c, out, sizeof(out));
}

static const char *fmt(const char *text)
{
	static char out[64];
	struct ip_addr a = addr(text);

	return ip_addr_format(&a, out, sizeof(out));
}

static struct cidr_set *set_of(const char *list)
{
	struct error err;

	return cidr_set_parse_list(list, strlen(list), &err);
}

static int in(const struct cidr_set *s, const char *text)
{
	struct ip_addr a = addr(text);

	return cidr_set_contains(s, &a);
}

/* ---- addresses */

static void test_addr_valid(void)
{
	struct ip_addr a, b;

	ok(parse_addr("192.0.2.1", &a) == 0 && ip_addr_is_v4(&a), "IPv4 parses, is v4");
	ok(a.b[10] == 0xff && a.b[11] == 0xff && a.b[12] == 192 && a.b[15] == 1,
	   "IPv4 is stored IPv4-mapped");
	ok(parse_addr("2001:db8::1", &a) == 0 && !ip_addr_is_v4(&a), "IPv6 parses, not v4");
	ok(parse_addr("::ffff:10.0.0.1", &a) == 0 && parse_addr("10.0.0.1", &b) == 0 &&
	       memcmp(&a, &b, sizeof(a)) == 0,
	   "::ffff:10.0.0.1 and 10.0.0.1 are the same address");
	ok(parse_addr("::FFFF:A00:1", &a) == 0 && memcmp(&a, &b, sizeof(a)) == 0,
	   "hex-only mapped form, upper case, is the same address");
	ok(ip_addr_parse("10.0.0.1xyz", 8, &a) == 0 && memcmp(&a, &b, sizeof(a)) == 0,
	   "len bounds the text (no NUL needed)");
	ok(parse_addr("::", &a) == 0 && parse_addr("0.0.0.0", &a) == 0, ":: and 0.0.0.0 parse");
	ok(parse_addr("255.255.255.255", &a) == 0, "255.255.255.255 parses");
	ok(parse_addr("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a) == 0,
	   "longest IPv6 text (45 bytes) parses");
}

static void test_addr_malformed(void)
{
	static const char *const bad[] = {
	    "",
	    "1.2.3",
	    "1.2.3.4.5",
	    "256.1.1.1",
	    "01.2.3.4",
	    "1.2.3.04",
	    "a.b.c.d",
	    " 1.2.3.4",
	    "1.2.3.4 ",
	    "1.2.3.4\n",
	    "[2001:db8::1]",
	    "fe80::1%eth0",
	    "fe80::1%1",
	    "2001:db8:::1",
	    "1::2::3",
	    "12345::1",
	    "g::1",
	    ":",
	    "1.2.3.4/32",
	    "::ffff:01.2.3.4",
	    "-1.2.3.4",
	    "0x1.2.3.4",
	    "1..2.3",
	    "1.2.3.",
	    ".1.2.3.4",
	};
	struct ip_addr a;
	char nul[] = "1.2.3.4\0.5";
	char longest[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse_addr(bad[i], &a) < 0, "address '%s' refused", shown(bad[i]));
	ok(ip_addr_parse(nul, sizeof(nul) - 1, &a) < 0, "embedded NUL refused");
	ok(ip_addr_parse(NULL, 0, &a) < 0, "NULL refused");
	memset(longest, '0', sizeof(longest));
	ok(ip_addr_parse(longest, sizeof(longest), &a) < 0, "64 bytes of text refused");
}

static void test_addr_format(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr sa = {.sa_family = AF_UNIX};
	struct ip_addr a;
	char out[46];

	ok(strcmp(fmt("10.1.2.3"), "10.1.2.3") == 0, "IPv4 prints as a dotted quad");
	ok(strcmp(fmt("::ffff:10.1.2.3"), "10.1.2.3") == 0, "IPv4-mapped prints as a dotted quad");
	ok(strcmp(fmt("2001:DB8:0:0:0:0:0:1"), "2001:db8::1") == 0, "IPv6: lower case, ::");
	ok(strcmp(fmt("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1") == 0,
	   "the longest zero run is compressed");
	ok(strcmp(fmt("2001:0:0:1:0:0:1:1"), "2001::1:0:0:1:1") == 0,
	   "the first of two equal zero runs is compressed");
	ok(strcmp(fmt("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1") == 0,
	   "a single zero group is not compressed");
	ok(strcmp(fmt("::"), "::") == 0 && strcmp(fmt("::1"), "::1") == 0 &&
	       strcmp(fmt("1::"), "1::") == 0,
	   ":: ::1 1::");
	ok(strcmp(fmt("::1.2.3.4"), "::102:304") == 0, "IPv4-compatible prints as hex");

	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	ok(ip_addr_from_sockaddr((struct sockaddr *)&sin, &a) == 0 && ip_addr_is_v4(&a) &&
	       strcmp(ip_addr_format(&a, out, sizeof(out)), "198.51.100.7") == 0,
	   "from sockaddr_in");
	inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr);
	ok(ip_addr_from_sockaddr((struct sockaddr *)&sin6, &a) == 0 &&
	       strcmp(ip_addr_format(&a, out, sizeof(out)), "2001:db8::7") == 0,
	   "from sockaddr_in6");
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr);
	ok(ip_addr_from_sockaddr((struct sockaddr *)&sin6, &a) == 0 && ip_addr_is_v4(&a),
	   "a mapped sockaddr_in6 is v4");
	ok(ip_addr_from_sockaddr(&sa, &a) < 0, "AF_UNIX refused");
}

/* ---- prefixes */

static void test_cidr_valid(void)
{
	struct error err;
	struct cidr c;

	ok(strcmp(norm("10.1.2.3/8"), "10.0.0.0/8") == 0, "host bits cleared (v4)");
	ok(strcmp(norm("10.1.2.3"), "10.1.2.3") == 0, "bare IPv4 is /32, printed bare");
	ok(strcmp(norm("10.1.2.3/32"), "10.1.2.3") == 0, "/32 printed bare");
	ok(strcmp(norm("2001:db8:ffff::1/32"), "2001:db8::/32") == 0, "host bits cleared (v6)");
	ok(strcmp(norm("2001:db8::1/128"), "2001:db8::1") == 0, "/128 printed bare");
	ok(strcmp(norm("0.0.0.0/0"), "0.0.0.0/0") == 0, "IPv4 /0");
	ok(strcmp(norm("1.2.3.4/0"), "0.0.0.0/0") == 0, "IPv4 /0 masks everything");
	ok(strcmp(norm("::/0"), "::/0") == 0, "IPv6 /0");
	ok(strcmp(norm("10.0.0.0/08"), "10.0.0.0/8") == 0, "leading zero in a prefix length");
	ok(strcmp(norm("192.168.1.255/23"), "192.168.0.0/23") == 0, "/23 masks inside a byte");
	ok(strcmp(norm("::ffff:10.9.8.7/104"), "10.0.0.0/8") == 0,
	   "mapped IPv6 text /104 is the IPv4 /8");
	ok(strcmp(norm("::ffff:0:0/96"), "0.0.0.0/0") == 0, "::ffff:0:0/96 is all IPv4");
	ok(strcmp(norm("::ffff:0:0/95"), "::fffe:0:0/95") == 0,
	   "a mapped prefix shorter than /96 prints as IPv6");
	ok(strcmp(norm("::ffff:0:0/94"), "::fffc:0:0/94") == 0, "and is masked as IPv6");
	ok(parse_cidr("10.0.0.0/8", &c, &err) == 0 && c.bits == 96 + 8, "IPv4 /8 stored as 104");
	ok(parse_cidr("0.0.0.0/0", &c, &err) == 0 && c.bits == 96 && ip_addr_is_v4(&c.addr),
	   "IPv4 /0 is ::ffff:0:0/96");
	ok(parse_cidr("2001:db8::/32", &c, &err) == 0 && c.bits == 32, "IPv6 /32 stored as 32");
	ok(cidr_parse("10.0.0.0/8,junk", 10, &c, &err) == 0 && c.bits == 104,
	   "len bounds the prefix text");
}

static void test_cidr_malformed(void)
{
	static const char *const bad[] = {
	    "10.0.0.0/33", "1.2.3",        "::1/129",         "1.2.3.4/",
	    "/8",          "a.b.c.d",      "1.2.3.4 /8",      "1.2.3.4/ 8",
	    "01.2.3.4",    "1.2.3.4/8/8",  "1.2.3.4/-1",      "1.2.3.4/+8",
	    "1.2.3.4/0x8", "1.2.3.4/1000", "::/1280",         "",
	    "/",           "[::1]/128",    "fe80::1%eth0/64", "1.2.3.4/8 ",
	    " 1.2.3.4/8",  "10.0.0.0/8,",  "2001:db8::/a",    "::ffff:1.2.3.4/129",
	};
	struct error err;
	struct cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		ok(parse_cidr(bad[i], &c, &err) < 0 && strcmp(err.code, "invalid_cidr") == 0,
		   "'%s' refused with invalid_cidr", shown(bad[i]));
	}
	ok(parse_cidr("1.2.3/8", &c, &err) < 0 && strstr(err.message, "'1.2.3/8'") != NULL,
	   "the message quotes the text: %s", err.message);
	ok(parse_cidr("10.0.0.0/33", &c, &err) < 0 && strstr(err.message, "/0 to /32") != NULL,
	   "the message gives the IPv4 range: %s", err.message);
	ok(parse_cidr("::/129", &c, &err) < 0 && strstr(err.message, "/0 to /128") != NULL,
	   "the message gives the IPv6 range");
	ok(parse_cidr("1.2.3.4\n\x1b[31m", &c, &err) < 0 && strchr(err.message, '\x1b') == NULL &&
	       strchr(err.message, '\n') == NULL,
	   "control bytes are not echoed into the message");
}

static void test_cidr_round_trip(void)
{
	static const char *const texts[] = {
	    "10.0.0.0/8",      "0.0.0.0/0",          "::/0",          "2001:db8::/32",
	    "fe80::/10",       "::ffff:0:0/95",      "::1",           "192.0.2.128/25",
	    "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4/127", "::102:304/126",
	};
	int same = 1;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct cidr a, b;
		char out[64];
		struct error err;

		if (parse_cidr(texts[i], &a, &err) < 0) {
			same = 0;
			continue;
		}
		cidr_format(&a, out, sizeof(out));
		if (parse_cidr(out, &b, &err) < 0 || a.bits != b.bits ||
		    memcmp(&a.addr, &b.addr, 16) != 0) {
			printf("# %s -> %s does not round-trip\n", texts[i], out);
			same = 0;
		}
	}
	ok(same, "formatted prefixes parse back to the same value");
}

/* ---- sets */

static void test_set_basic(void)
{
	struct cidr_set *s = cidr_set_new();
	struct error err;
	struct cidr c;

	ok(s != NULL && cidr_set_count(s) == 0, "new set is empty");
	ok(!in(s, "10.0.0.1") && !in(s, "::"), "empty set contains nothing");
	ok(!cidr_set_contains(NULL, &(struct ip_addr){{0}}), "NULL set contains nothing");
	parse_cidr("10.0.0.0/8", &c, &err);
	ok(cidr_set_add(s, &c) == 0 && cidr_set_count(s) == 1, "add 10.0.0.0/8");
	ok(in(s, "10.0.0.0") && in(s, "10.255.255.255") && in(s, "10.1.2.3"), "inside /8");
	ok(!in(s, "11.0.0.0") && !in(s, "9.255.255.255"), "outside /8");
	ok(in(s, "::ffff:10.9.9.9"), "mapped client inside the IPv4 prefix");
	ok(!in(s, "::a00:1") && !in(s, "a00::1"), "IPv6 addresses with the same bits are not IPv4");
	parse_cidr("2001:db8::/32", &c, &err);
	cidr_set_add(s, &c);
	ok(in(s, "2001:db8:1::1") && !in(s, "2001:db9::1"), "IPv6 prefix");
	parse_cidr("10.0.0.0/8", &c, &err);
	ok(cidr_set_add(s, &c) == 0 && cidr_set_count(s) == 3, "duplicate counted as added");
	ok(in(s, "10.0.0.1"), "duplicate changes nothing");
	cidr_set_free(s);
	cidr_set_free(NULL);
	ok(1, "cidr_set_free(NULL) is fine");
}

static void test_set_overlap(void)
{
	struct cidr_set *narrow_first = set_of("10.1.2.0/24 10.0.0.0/8 192.168.1.1");
	struct cidr_set *wide_first = set_of("10.0.0.0/8 10.1.2.0/24 192.168.1.1");
	struct cidr_set *host = set_of("192.168.1.1 192.168.1.0/31");

	ok(in(narrow_first, "10.200.0.1") && in(narrow_first, "10.1.2.3"),
	   "narrow then wide: the wide prefix covers both");
	ok(in(wide_first, "10.200.0.1") && in(wide_first, "10.1.2.3"),
	   "wide then narrow: same answers");
	ok(!in(wide_first, "11.1.2.3") && !in(narrow_first, "11.1.2.3"), "outside both");
	ok(in(host, "192.168.1.0") && in(host, "192.168.1.1") && !in(host, "192.168.1.2"),
	   "a host and its /31");
	ok(in(narrow_first, "192.168.1.1") && !in(narrow_first, "192.168.1.0"), "a /32 alone");
	cidr_set_free(narrow_first);
	cidr_set_free(wide_first);
	cidr_set_free(host);
}

static void test_set_zero(void)
{
	struct cidr_set *v4 = set_of("0.0.0.0/0");
	struct cidr_set *v6 = set_of("::/0");
	struct cidr_set *v6_half = set_of("8000::/1");

	ok(in(v4, "1.2.3.4") && in(v4, "255.255.255.255") && in(v4, "0.0.0.0"),
	   "IPv4 /0 holds every IPv4 address");
	ok(!in(v4, "2001:db8::1") && !in(v4, "::1") && !in(v4, "::"),
	   "IPv4 /0 holds no IPv6 address");
	ok(in(v6, "2001:db8::1") && in(v6, "1.2.3.4") && in(v6, "::"),
	   "::/0 holds everything (IPv4 is mapped into it)");
	ok(in(v6_half, "ffff::1") && !in(v6_half, "7fff::1") && !in(v6_half, "1.2.3.4"), "/1");
	cidr_set_free(v4);
	cidr_set_free(v6);
	cidr_set_free(v6_half);
}

static void test_set_list(void)
{
	struct error err;
	struct cidr_set *s;
	const char *bad = "10.0.0.0/8, 192.168.0.0/16 1.2.3/8,::1";

	s = set_of("10.0.0.0/8, 192.168.0.0/16 ,2001:db8::/32,\t\n::1,,");
	ok(s != NULL && cidr_set_count(s) == 4, "commas, spaces, tabs, newlines: 4 entries");
	ok(in(s, "10.1.1.1") && in(s, "192.168.3.4") && in(s, "2001:db8::5") && in(s, "::1") &&
	       !in(s, "::2"),
	   "every list entry is in the set");
	cidr_set_free(s);

	s = set_of("");
	ok(s != NULL && cidr_set_count(s) == 0, "empty list: empty set");
	cidr_set_free(s);
	s = set_of(" ,\t, ");
	ok(s != NULL && cidr_set_count(s) == 0, "only separators: empty set");
	cidr_set_free(s);
	s = cidr_set_parse_list(NULL, 0, &err);
	ok(s != NULL && cidr_set_count(s) == 0, "NULL text: empty set");
	cidr_set_free(s);
	s = cidr_set_parse_list("10.0.0.0/8,1.2.3.4/33", 10, &err);
	ok(s != NULL && cidr_set_count(s) == 1, "len bounds the list");
	cidr_set_free(s);

	error_clear(&err);
	s = cidr_set_parse_list(bad, strlen(bad), &err);
	ok(s == NULL, "a bad entry fails the list");
	ok(strcmp(err.code, "invalid_cidr") == 0, "code invalid_cidr");
	ok(strstr(err.message, "'1.2.3/8'") != NULL && strstr(err.message, "entry 3") != NULL,
	   "the message names the bad entry and its position: %s", err.message);
	error_clear(&err);
	s = set_of("10.0.0.0/8;192.168.0.0/16");
	ok(s == NULL, "';' is not a separator");
}

/* ---- a large set against a linear scan */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int prefix_match(const struct cidr *c, const struct ip_addr *a)
{
	for (unsigned i = 0; i < c->bits; i++)
		if (((c->addr.b[i / 8] ^ a->b[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* A random prefix: half IPv4 (/8../32), half IPv6 (/16../128) under a few
 * top-level blocks, so that prefixes overlap. */
static void random_prefix(struct cidr *c)
{
	char text[64];
	struct error err;
	uint64_t r = rng(), r2 = rng();

	if (r & 1)
		snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", (unsigned)(r >> 8) % 4 + 10,
		         (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 24) & 0xff,
		         (unsigned)(r >> 32) & 0xff, (unsigned)(r >> 40) % 25 + 8);
	else
		snprintf(text, sizeof(text), "2001:db8:%x:%x:%x:%x::%x/%u",
		         (unsigned)(r >> 8) & 0x3, (unsigned)(r >> 16) & 0xffff,
		         (unsigned)(r2 >> 8) & 0xffff, (unsigned)(r2 >> 24) & 0xffff,
		         (unsigned)(r2 >> 40) & 0xffff, (unsigned)(r >> 40) % 113 + 16);
	if (parse_cidr(text, c, &err) < 0) {
		printf("Bail out! generated prefix %s does not parse\n", text);
		exit(1);
	}
}

/* An address near c: inside it with random host bits, or with one random
 * bit flipped (maybe inside the prefix, so maybe outside). */
static struct ip_addr near(const struct cidr *c)
{
	struct ip_addr a = c->addr;
	uint64_t r = rng();

	for (unsigned i = c->bits; i < 128; i++)
		if ((rng() >> 33) & 1)
			a.b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	if (r & 1) {
		unsigned bit = 96 + (unsigned)(r >> 8) % 32;

		if (!ip_addr_is_v4(&c->addr))
			bit = (unsigned)(r >> 8) % 128;
		a.b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
	return a;
}

static void test_set_large(void)
{
	enum { N = 10000, PROBES = 20000 };
	struct cidr *all = malloc(N * sizeof(*all));
	struct cidr_set *s = cidr_set_new();
	size_t own = 0, wrong = 0, hits = 0;

	for (size_t i = 0; i < N; i++) {
		random_prefix(&all[i]);
		cidr_set_add(s, &all[i]);
	}
	ok(cidr_set_count(s) == N, "10,000 prefixes added");
	for (size_t i = 0; i < N; i++)
		own += cidr_set_contains(s, &all[i].addr) == 1;
	ok(own == N, "every prefix's own address is in the set (%zu)", own);
	for (size_t p = 0; p < PROBES; p++) {
		struct ip_addr a = near(&all[rng() % N]);
		int expect = 0;

		for (size_t i = 0; i < N && !expect; i++)
			expect = prefix_match(&all[i], &a);
		hits += expect;
		wrong += cidr_set_contains(s, &a) != expect;
	}
	ok(wrong == 0, "20,000 probes agree with a linear scan (%zu inside, %zu wrong)", hits,
	   wrong);
	ok(hits > PROBES / 4 && hits < PROBES, "the probes test both answers");
	ok(!in(s, "1.2.3.4") && !in(s, "3001:db8::1") && !in(s, "::1"), "far addresses are out");
	free(all);
	cidr_set_free(s);
}

int main(void)
{
	test_addr_valid();
	test_addr_malformed();
	test_addr_format();
	test_cidr_valid();
	test_cidr_malformed();
	test_cidr_round_trip();
	test_set_basic();
	test_set_overlap();
	test_set_zero();
	test_set_list();
	test_set_large();
	return done_testing();
}
