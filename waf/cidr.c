/* IP addresses and CIDR sets.
 *
 * Every address is kept as 16 bytes, IPv4 as the IPv4-mapped IPv6 address
 * ::ffff:a.b.c.d, so one comparison serves both families and a client seen
 * as "::ffff:10.0.0.1" on a dual-stack socket is the same client as
 * "10.0.0.1". An IPv4 prefix /n is therefore the mapped prefix /(96 + n).
 *
 * A set is a binary trie over the 128 address bits. Its nodes live in one
 * growable array and refer to each other by index, so building a set of
 * ten thousand prefixes costs a few reallocations, not a million mallocs.
 * A node is terminal when a prefix ends there: a lookup stops at the first
 * terminal node on its path, so it walks at most 128 nodes whatever the
 * number of prefixes, and an overlapping longer prefix changes nothing.
 * The control thread builds a set; afterwards nobody writes it, so workers
 * read it without locks. */
#include "waf/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_TEXT_MAX  45 /* longest address text (INET6_ADDRSTRLEN - 1) */
#define QUOTE_MAX      64 /* bytes of a bad entry quoted in an error message */
#define V4_MAPPED_BITS 96 /* the ::ffff:0:0/96 prefix in front of an IPv4 address */

/* A trie node: child indexes (0 = none; the root is node 0 and nobody's
 * child) and whether a prefix ends here. */
struct cidr_node {
	uint32_t child[2];
	uint32_t terminal;
};

struct cidr_set {
	struct cidr_node *nodes;
	size_t n_nodes, cap_nodes;
	size_t count;
};

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ---- addresses */

/* 1 when every byte of text[0..len) can appear in an address: hex digits,
 * ':' and '.'. This refuses brackets, zones ("%eth0"), spaces and NUL
 * bytes before inet_pton sees a truncated copy. */
static int addr_chars_ok(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
			return 0;
	}
	return 1;
}

static void addr_from_v4(const uint8_t v4[4], struct ip_addr *out)
{
	memcpy(out->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(out->b + 12, v4, 4);
}

int ip_addr_parse(const char *text, size_t len, struct ip_addr *out)
{
	char copy[ADDR_TEXT_MAX + 1];
	uint8_t v4[4];

	if (text == NULL || len == 0 || len > ADDR_TEXT_MAX || !addr_chars_ok(text, len))
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(copy, ':', len) != NULL)
		return inet_pton(AF_INET6, copy, out->b) == 1 ? 0 : -1;
	/* glibc's inet_pton refuses "01.2.3.4" and "1.2.3": no octal or
	 * shorthand surprises from inet_aton's legacy forms. */
	if (inet_pton(AF_INET, copy, v4) != 1)
		return -1;
	addr_from_v4(v4, out);
	return 0;
}

int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		addr_from_v4((const uint8_t *)&in->sin_addr, out);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(out->b, &in6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int ip_addr_is_v4(const struct ip_addr *a)
{
	return memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

/* The longest run of two or more zero groups of the eight 16-bit groups
 * (the first one on a tie): RFC 5952 section 4.2. *start is -1 when none. */
static void longest_zero_run(const uint16_t g[8], int *start, int *len)
{
	*start = -1;
	*len = 1; /* a single zero group is never compressed */
	for (int i = 0; i < 8;) {
		int j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > *len) {
			*start = i;
			*len = j - i;
		}
		i = j > i ? j : i + 1;
	}
}

/* RFC 5952 text of any 16 bytes (no mixed IPv4 notation, so the text always
 * parses back as IPv6). out holds at least 40 bytes. */
static void format_v6(const uint8_t b[16], char *out, size_t size)
{
	uint16_t g[8];
	int start, len, i;
	size_t n = 0;

	for (i = 0; i < 8; i++)
		g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
	longest_zero_run(g, &start, &len);
	out[0] = '\0';
	for (i = 0; i < 8 && n < size; i++) {
		if (i == start) {
			n += (size_t)snprintf(out + n, size - n, "::");
			i += len - 1;
			continue;
		}
		n += (size_t)snprintf(out + n, size - n, "%s%x",
		                      (i == 0 || i == start + len) ? "" : ":", g[i]);
	}
}

char *ip_addr_format(const struct ip_addr *a, char *out, size_t size)
{
	if (size == 0)
		return out;
	if (ip_addr_is_v4(a))
		snprintf(out, size, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
	else
		format_v6(a->b, out, size);
	return out;
}

/* ---- prefixes */

static int addr_bit(const struct ip_addr *a, unsigned i)
{
	return (a->b[i / 8] >> (7 - i % 8)) & 1;
}

/* Clear every bit of a after the first bits. */
static void addr_mask(struct ip_addr *a, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		if (bits >= 8 * (i + 1))
			continue;
		if (bits <= 8 * i)
			a->b[i] = 0;
		else
			a->b[i] &= (uint8_t)(0xff << (8 - bits % 8));
	}
}

/* Copy at most QUOTE_MAX bytes of untrusted text into out (QUOTE_MAX + 4
 * bytes), non-printable bytes as '?', so an error message is safe to log
 * and show. */
static char *quote(const char *text, size_t len, char out[QUOTE_MAX + 4])
{
	size_t n = len > QUOTE_MAX ? QUOTE_MAX : len, i;

	for (i = 0; i < n; i++)
		out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	strcpy(out + i, len > QUOTE_MAX ? "..." : "");
	return out;
}

/* The prefix length in text[0..len): 1 to 3 decimal digits, at most max.
 * Returns it, or -1. */
static int parse_bits(const char *text, size_t len, unsigned max)
{
	unsigned n = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(text[i] - '0');
	}
	return n <= max ? (int)n : -1;
}

int cidr_parse(const char *text, size_t len, struct cidr *out, struct error *err)
{
	const char *slash = text ? memchr(text, '/', len) : NULL;
	size_t addr_len = slash ? (size_t)(slash - text) : len;
	char q[QUOTE_MAX + 4];
	unsigned max;
	int bits;

	if (text == NULL || ip_addr_parse(text, addr_len, &out->addr) < 0) {
		error_set(
		    err, "invalid_cidr",
		    "'%s' is not an IP address or CIDR prefix: write one such as 192.0.2.0/24 "
		    "or 2001:db8::/32",
		    text ? quote(text, len, q) : "");
		return -1;
	}
	max = memchr(text, ':', addr_len) == NULL ? 32 : 128; /* "::ffff:a.b.c.d" is IPv6 text */
	bits = slash ? parse_bits(slash + 1, len - addr_len - 1, max) : (int)max;
	if (bits < 0) {
		error_set(err, "invalid_cidr",
		          "'%s' has a bad prefix length: write /0 to /%u after the %s address",
		          quote(text, len, q), max, max == 32 ? "IPv4" : "IPv6");
		return -1;
	}
	out->bits = max == 32 ? V4_MAPPED_BITS + (unsigned)bits : (unsigned)bits;
	addr_mask(&out->addr, out->bits);
	return 0;
}

char *cidr_format(const struct cidr *c, char *out, size_t size)
{
	char addr[48];
	int v4 = ip_addr_is_v4(&c->addr) && c->bits >= V4_MAPPED_BITS;
	unsigned shown = v4 ? c->bits - V4_MAPPED_BITS : c->bits;

	if (size == 0)
		return out;
	/* A mapped prefix shorter than /96 is not an IPv4 prefix: it prints as
	 * IPv6 so that it parses back to the same bits. */
	if (v4)
		ip_addr_format(&c->addr, addr, sizeof(addr));
	else
		format_v6(c->addr.b, addr, sizeof(addr));
	if (c->bits >= 128)
		snprintf(out, size, "%s", addr);
	else
		snprintf(out, size, "%s/%u", addr, shown);
	return out;
}

/* ---- sets */

struct cidr_set *cidr_set_new(void)
{
	struct cidr_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->nodes = calloc(16, sizeof(*s->nodes));
	if (s->nodes == NULL) {
		free(s);
		return NULL;
	}
	s->cap_nodes = 16;
	s->n_nodes = 1; /* the root */
	return s;
}

void cidr_set_free(struct cidr_set *s)
{
	if (s == NULL)
		return;
	free(s->nodes);
	free(s);
}

/* A new empty node's index, or 0 when out of memory (or past 2^32 nodes). */
static uint32_t node_new(struct cidr_set *s)
{
	if (s->n_nodes == s->cap_nodes) {
		size_t cap = 2 * s->cap_nodes;
		struct cidr_node *grown;

		if (cap > UINT32_MAX)
			return 0;
		grown = realloc(s->nodes, cap * sizeof(*grown));
		if (grown == NULL)
			return 0;
		s->nodes = grown;
		s->cap_nodes = cap;
	}
	memset(&s->nodes[s->n_nodes], 0, sizeof(s->nodes[0]));
	return (uint32_t)s->n_nodes++;
}

int cidr_set_add(struct cidr_set *s, const struct cidr *c)
{
	uint32_t node = 0;
	unsigned bits = c->bits > 128 ? 128 : c->bits;

	/* A shorter prefix already covering c makes the rest of the walk
	 * useless: lookups stop at its terminal node. */
	for (unsigned i = 0; i < bits && !s->nodes[node].terminal; i++) {
		int bit = addr_bit(&c->addr, i);
		uint32_t next = s->nodes[node].child[bit];

		if (next == 0) {
			next = node_new(s); /* may move s->nodes */
			if (next == 0)
				return -1;
			s->nodes[node].child[bit] = next;
		}
		node = next;
	}
	s->nodes[node].terminal = 1;
	s->count++;
	return 0;
}

int cidr_set_contains(const struct cidr_set *s, const struct ip_addr *a)
{
	uint32_t node = 0;

	if (s == NULL)
		return 0;
	for (unsigned i = 0; i < 128; i++) {
		if (s->nodes[node].terminal)
			return 1;
		node = s->nodes[node].child[addr_bit(a, i)];
		if (node == 0)
			return 0;
	}
	return s->nodes[node].terminal != 0;
}

size_t cidr_set_count(const struct cidr_set *s)
{
	return s ? s->count : 0;
}

static int is_separator(char ch)
{
	return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Add the entries of text[0..len) to s. Runs of separators count as one,
 * so "a, b" and a trailing comma are fine. Returns 0 or -1 with err. */
static int parse_entries(struct cidr_set *s, const char *text, size_t len, struct error *err)
{
	struct error inner;
	struct cidr c;
	size_t i = 0, n = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_separator(text[i]))
			i++;
		if (i == len)
			break;
		for (start = i; i < len && !is_separator(text[i]); i++)
			;
		n++;
		if (cidr_parse(text + start, i - start, &c, &inner) < 0) {
			error_set(err, inner.code, "entry %zu of the list: %s", n, inner.message);
			return -1;
		}
		if (cidr_set_add(s, &c) < 0) {
			error_set(err, "internal", "out of memory while building an IP list");
			return -1;
		}
	}
	return 0;
}

struct cidr_set *cidr_set_parse_list(const char *text, size_t len, struct error *err)
{
	struct cidr_set *s = cidr_set_new();

	if (s == NULL) {
		error_set(err, "internal", "out of memory while building an IP list");
		return NULL;
	}
	if (text != NULL && parse_entries(s, text, len, err) < 0) {
		cidr_set_free(s);
		return NULL;
	}
	return s;
}
