/* Domain names are checked once, where a person types them, against the
 * LDH rule (letters, digits, hyphen; RFC 1035 / RFC 5890 "preferred name
 * syntax"), so that routing and certificate matching can compare lowercase
 * strings byte by byte. */
#include "common/domain.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define LABEL_MAX 63
/* How much of a rejected name the message quotes. */
#define QUOTE_MAX 80

/* The name as it may appear in a message: escaped (it came from a person or
 * a client) and shortened when it is long. */
static void quote_name(char *dst, size_t n, const char *name)
{
	size_t len = strlen(name);

	log_escape(dst, n - 3, name, len > QUOTE_MAX ? QUOTE_MAX : len);
	if (len > QUOTE_MAX)
		strcat(dst, "...");
}

static int domain_fail(struct error *err, char *out, const char *name, const char *problem)
{
	char q[QUOTE_MAX * 4 + 4];

	quote_name(q, sizeof(q), name);
	error_set(err, "invalid_domain", "domain '%s' %s", q, problem);
	out[0] = '\0';
	return -1;
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Explain why character c (already lowercased) is not allowed. */
static void bad_char(char c, char *problem, size_t n)
{
	unsigned char u = (unsigned char)c;

	if (c == ' ')
		snprintf(problem, n, "contains a space");
	else if (c == '*')
		snprintf(problem, n, "has '*' inside a label; a wildcard is a whole left-most "
			 "'*' label, as in *.example.com");
	else if (u > 0x20 && u < 0x7f)
		snprintf(problem, n, "contains the character '%c'; only letters, digits and "
			 "hyphens are allowed", c);
	else
		snprintf(problem, n, "contains the byte 0x%02x; only letters, digits and hyphens "
			 "are allowed (write internationalised names in their xn-- form)", u);
}

/* Check one label of n bytes (index 0 = left-most). Returns 0, 1 for an
 * allowed wildcard label, or -1 with problem filled. */
static int check_label(const char *label, size_t n, int index, int allow_wildcard,
		       char *problem, size_t psize)
{
	size_t i;

	if (n == 0) {
		snprintf(problem, psize, index == 0 ? "starts with a dot" : "has an empty label");
		return -1;
	}
	if (n == 1 && label[0] == '*') {
		if (index != 0)
			snprintf(problem, psize, "has '*' after the first label; a wildcard is "
				 "only allowed as the left-most label, as in *.example.com");
		else if (!allow_wildcard)
			snprintf(problem, psize, "is a wildcard, which is not allowed here");
		else
			return 1;
		return -1;
	}
	if (n > LABEL_MAX) {
		snprintf(problem, psize, "has a label longer than %d characters", LABEL_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!is_ldh(ascii_lower(label[i]))) {
			bad_char(ascii_lower(label[i]), problem, psize);
			return -1;
		}
	}
	if (label[0] == '-' || label[n - 1] == '-') {
		snprintf(problem, psize, "has a label that starts or ends with a hyphen");
		return -1;
	}
	return 0;
}

int domain_normalize(const char *name, char out[DOMAIN_MAX + 1], int allow_wildcard,
		     struct error *err)
{
	char problem[192];
	size_t len, start, end, i;
	int labels = 0, wildcard = 0, rc;

	out[0] = '\0';
	if (name == NULL || name[0] == '\0' || strcmp(name, ".") == 0) {
		error_set(err, "invalid_domain", "domain name is empty; give a name such as "
			  "www.example.com");
		return -1;
	}
	len = strlen(name);
	if (name[len - 1] == '.')
		len--; /* one trailing dot: the fully qualified spelling of the same name */
	if (len > DOMAIN_MAX) {
		snprintf(problem, sizeof(problem), "is longer than %d characters", DOMAIN_MAX);
		return domain_fail(err, out, name, problem);
	}
	for (start = 0; start <= len; start = end + 1) {
		for (end = start; end < len && name[end] != '.'; end++)
			;
		rc = check_label(name + start, end - start, labels, allow_wildcard, problem,
				 sizeof(problem));
		if (rc < 0)
			return domain_fail(err, out, name, problem);
		wildcard |= rc;
		labels++;
	}
	if (wildcard && labels < 3)
		return domain_fail(err, out, name, "is a wildcard over a top-level domain; it "
				   "needs at least two labels after '*', as in *.example.com");
	for (i = 0; i < len; i++)
		out[i] = ascii_lower(name[i]);
	out[len] = '\0';
	return 0;
}

int domain_is_wildcard(const char *name)
{
	return name != NULL && name[0] == '*' && name[1] == '.';
}
