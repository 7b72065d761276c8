/* IP addresses and CIDR sets (IPv4 and IPv6) for IP lists, trusted
 * proxies and the ip_in operator. A set is a binary prefix trie: a lookup
 * walks at most 128 bits, whatever the number of prefixes. Sets are built
 * on the control thread and read by workers without locks (immutable once
 * built). */
#ifndef POSTERN_WAF_CIDR_H
#define POSTERN_WAF_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"

/* An address in one form for both families: IPv4 is kept as the
 * IPv4-mapped IPv6 address ::ffff:a.b.c.d (so "::ffff:10.0.0.1" and
 * "10.0.0.1" are the same client). */
struct ip_addr {
	uint8_t b[16];
};

/* Parse an address ("192.0.2.1", "2001:db8::1", "[2001:db8::1]" and an
 * IPv6 zone are refused; surrounding spaces are not allowed). Returns 0 or
 * -1. len bytes of text, no NUL needed. */
int ip_addr_parse(const char *text, size_t len, struct ip_addr *out);
/* From a socket address (AF_INET or AF_INET6); -1 for other families. */
int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out);
/* Text form: dotted quad for IPv4 (mapped), RFC 5952 for IPv6. out has at
 * least 46 bytes. Returns out. */
char *ip_addr_format(const struct ip_addr *a, char *out, size_t size);
/* 1 when a is IPv4 (mapped). */
int ip_addr_is_v4(const struct ip_addr *a);

/* A CIDR prefix, normalized: "10.1.2.3/8" -> 10.0.0.0/8 (host bits
 * cleared), a bare address is /32 or /128. bits counts in the mapped form
 * (an IPv4 /8 is stored as 96 + 8). */
struct cidr {
	struct ip_addr addr;
	unsigned bits; /* 0..128 */
};

/* Parse "a.b.c.d[/n]" (n 0..32) or "ipv6[/n]" (n 0..128). Returns 0, or -1
 * with err code "invalid_cidr" and a message quoting the text. */
int cidr_parse(const char *text, size_t len, struct cidr *out, struct error *err);
/* Normalized text ("10.0.0.0/8", "2001:db8::/32"; a full-length prefix
 * prints without "/32" or "/128"). out has at least 50 bytes. */
char *cidr_format(const struct cidr *c, char *out, size_t size);

struct cidr_set;

/* An empty set; NULL when out of memory. */
struct cidr_set *cidr_set_new(void);
void cidr_set_free(struct cidr_set *s); /* NULL is fine */
/* Add a prefix (duplicates and overlaps are fine). Returns 0 or -1 (out
 * of memory). */
int cidr_set_add(struct cidr_set *s, const struct cidr *c);
/* Parse a text list: entries separated by commas and/or whitespace.
 * Returns a new set, or NULL with err ("invalid_cidr", naming the bad
 * entry; "internal" when out of memory). An empty list gives an empty
 * set. */
struct cidr_set *cidr_set_parse_list(const char *text, size_t len, struct error *err);
/* 1 when a is inside any prefix of s (s NULL or empty: 0). Lock-free,
 * at most 128 steps. */
int cidr_set_contains(const struct cidr_set *s, const struct ip_addr *a);
/* Number of prefixes added. */
size_t cidr_set_count(const struct cidr_set *s);

#endif
