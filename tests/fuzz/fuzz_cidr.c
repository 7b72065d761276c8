/* libFuzzer target for the address and CIDR parsers. Besides not crashing,
 * every accepted input must round-trip: its formatted text parses back to
 * the same value, and a prefix's set contains exactly what the prefix
 * covers at its edges. Failures must use the documented error codes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waf/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_addr(const char *text, size_t len)
{
	struct ip_addr a, b;
	char out[46];

	if (ip_addr_parse(text, len, &a) < 0)
		return;
	ip_addr_format(&a, out, sizeof(out));
	if (ip_addr_parse(out, strlen(out), &b) < 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort(); /* formatted address does not parse back */
}

/* The set of c holds c's first and last address, and not the address
 * with the last prefix bit flipped (c is not /0). */
static void check_set(const struct cidr *c)
{
	struct cidr_set *s = cidr_set_new();
	struct ip_addr last = c->addr, outside = c->addr;

	if (s == NULL || cidr_set_add(s, c) < 0) {
		cidr_set_free(s);
		return;
	}
	for (unsigned i = c->bits; i < 128; i++)
		last.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (!cidr_set_contains(s, &c->addr) || !cidr_set_contains(s, &last))
		abort();
	if (c->bits > 0) {
		unsigned i = c->bits - 1;

		outside.b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
		if (cidr_set_contains(s, &outside))
			abort();
	}
	cidr_set_free(s);
}

static void check_cidr(const char *text, size_t len)
{
	struct cidr a, b;
	struct error err;
	char out[50];

	if (cidr_parse(text, len, &a, &err) < 0) {
		if (strcmp(err.code, "invalid_cidr") != 0)
			abort();
		return;
	}
	if (a.bits > 128)
		abort();
	cidr_format(&a, out, sizeof(out));
	if (cidr_parse(out, strlen(out), &b, &err) < 0 || a.bits != b.bits ||
	    memcmp(&a.addr, &b.addr, sizeof(a.addr)) != 0)
		abort(); /* normalized text does not parse back to the same prefix */
	check_set(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cidr_set *s;
	struct error err;

	check_addr(text, size);
	check_cidr(text, size);
	error_clear(&err);
	s = cidr_set_parse_list(text, size, &err);
	if (s == NULL && strcmp(err.code, "invalid_cidr") != 0 && strcmp(err.code, "internal") != 0)
		abort();
	cidr_set_free(s);
	return 0;
}
