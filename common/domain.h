/* Domain names as administrators type them: checked and normalised once at
 * the edge (CLI, API), so everything behind compares plain lowercase
 * strings. */
#ifndef POSTERN_COMMON_DOMAIN_H
#define POSTERN_COMMON_DOMAIN_H

#include <stddef.h>

#include "common/error.h"

#define DOMAIN_MAX 253

/* Check name and write its normal form into out (size DOMAIN_MAX + 1):
 * lowercase, one trailing dot removed. Accepts LDH labels of 1..63
 * characters (no leading or trailing hyphen), 253 characters at most, and,
 * when allow_wildcard is non-zero, a left-most "*" label followed by at
 * least two labels ("*.example.com"). Returns 0, or -1 with err code
 * "invalid_domain" and a message naming the problem. */
int domain_normalize(const char *name, char out[DOMAIN_MAX + 1], int allow_wildcard,
		     struct error *err);

/* 1 when name starts with "*." (a wildcard name), else 0. */
int domain_is_wildcard(const char *name);

#endif
