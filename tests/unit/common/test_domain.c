/* Domain names as administrators type them: accepted forms with their
 * normal form, and rejected forms with the problem the message names. */
#include <string.h>

#include "common/domain.h"
#include "tests/unit/tap.h"

struct good_case {
	const char *in;
	int wildcard;
	const char *want;
};

struct bad_case {
	const char *in;
	int wildcard;
	const char *problem; /* substring the message must contain */
};

static const struct good_case good[] = {
	{"example.com", 0, "example.com"},
	{"www.example.com", 0, "www.example.com"},
	{"WWW.Example.COM", 0, "www.example.com"},
	{"example.com.", 0, "example.com"},
	{"Example.Com.", 0, "example.com"},
	{"localhost", 0, "localhost"},
	{"a", 0, "a"},
	{"a-b.c-d.example", 0, "a-b.c-d.example"},
	{"xn--bcher-kva.example", 0, "xn--bcher-kva.example"},
	{"123.example.com", 0, "123.example.com"},
	{"127.0.0.1", 0, "127.0.0.1"},
	{"a1.b2.c3", 0, "a1.b2.c3"},
	{"*.example.com", 1, "*.example.com"},
	{"*.EXAMPLE.com", 1, "*.example.com"},
	{"*.example.com.", 1, "*.example.com"},
	{"*.a.b.c", 1, "*.a.b.c"},
	{"www.example.com", 1, "www.example.com"},
};

static const struct bad_case bad[] = {
	{"", 0, "is empty"},
	{".", 0, "is empty"},
	{"a..b", 0, "has an empty label"},
	{"example.com..", 0, "has an empty label"},
	{".example.com", 0, "starts with a dot"},
	{"..", 0, "starts with a dot"},
	{"exa mple.com", 0, "contains a space"},
	{" example.com", 0, "contains a space"},
	{"example.com ", 0, "contains a space"},
	{"exa_mple.com", 0, "character '_'"},
	{"example.com/x", 0, "character '/'"},
	{"example.com:443", 0, "character ':'"},
	{"user@example.com", 0, "character '@'"},
	{"b\xc3\xbc" "cher.example", 0, "byte 0xc3"},
	{"tab\there.com", 0, "byte 0x09"},
	{"-a.example.com", 0, "starts or ends with a hyphen"},
	{"a-.example.com", 0, "starts or ends with a hyphen"},
	{"a.example-", 0, "starts or ends with a hyphen"},
	{"-", 0, "starts or ends with a hyphen"},
	{"*.example.com", 0, "is a wildcard, which is not allowed here"},
	{"*.com", 1, "at least two labels after '*'"},
	{"*", 1, "at least two labels after '*'"},
	{"*.", 1, "at least two labels after '*'"},
	{"www.*.example.com", 1, "only allowed as the left-most label"},
	{"example.*", 1, "only allowed as the left-most label"},
	{"**.example.com", 1, "'*' inside a label"},
	{"*a.example.com", 1, "'*' inside a label"},
	{"a*.example.com", 1, "'*' inside a label"},
	{"*.*.example.com", 1, "only allowed as the left-most label"},
	{"http://example.com", 0, "character ':'"},
};

static void test_good(void)
{
	char out[DOMAIN_MAX + 1];
	struct error err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		error_clear(&err);
		memset(out, 'X', sizeof(out));
		int rc = domain_normalize(good[i].in, out, good[i].wildcard, &err);
		ok(rc == 0, "'%s' (wildcard %s) is accepted (%s)", good[i].in,
		   good[i].wildcard ? "allowed" : "not allowed", err.message);
		ok(rc == 0 && strcmp(out, good[i].want) == 0, "'%s' normalises to '%s' (got '%s')",
		   good[i].in, good[i].want, rc == 0 ? out : "");
	}
}

static void test_bad(void)
{
	char out[DOMAIN_MAX + 1];
	struct error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		memset(out, 'X', sizeof(out));
		int rc = domain_normalize(bad[i].in, out, bad[i].wildcard, &err);
		ok(rc == -1 && out[0] == '\0', "'%s' is rejected and out is cleared", bad[i].in);
		ok(strcmp(err.code, "invalid_domain") == 0, "'%s': code invalid_domain (%s)",
		   bad[i].in, err.code);
		ok(strstr(err.message, bad[i].problem) != NULL, "'%s': message says '%s' (%s)",
		   bad[i].in, bad[i].problem, err.message);
	}
}

static void test_message_quotes_name(void)
{
	char out[DOMAIN_MAX + 1];
	struct error err;

	domain_normalize("a..b", out, 0, &err);
	ok(strcmp(err.message, "domain 'a..b' has an empty label") == 0,
	   "message for a..b is exactly \"domain 'a..b' has an empty label\" (%s)", err.message);
	domain_normalize("bad\nname.com", out, 0, &err);
	ok(strchr(err.message, '\n') == NULL && strstr(err.message, "bad\\x0aname") != NULL,
	   "a control character in the name is escaped in the message (%s)", err.message);
	ok(domain_normalize(NULL, out, 0, &err) == -1 && strstr(err.message, "is empty"),
	   "NULL name is rejected as empty");
	ok(domain_normalize("a.b", out, 0, NULL) == 0, "a NULL err is allowed on success");
	ok(domain_normalize("a..b", out, 0, NULL) == -1, "a NULL err is allowed on failure");
}

/* Build a name of labels of the given length joined by dots, total length
 * exactly total (the last label is shortened to fit). */
static void make_name(char *buf, size_t total, size_t label)
{
	size_t i = 0, run = 0;

	for (i = 0; i < total; i++) {
		if (run == label && i + 1 < total) {
			buf[i] = '.';
			run = 0;
		} else {
			buf[i] = 'a';
			run++;
		}
	}
	buf[total] = '\0';
}

static void test_lengths(void)
{
	char name[400], out[DOMAIN_MAX + 1];
	struct error err;

	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	ok(domain_normalize(name, out, 0, &err) == 0, "a 63-character label is accepted");
	memset(name, 'a', 64);
	strcpy(name + 64, ".example.com.example.com");
	ok(domain_normalize(name, out, 0, &err) == -1 &&
	   strstr(err.message, "label longer than 63") != NULL,
	   "a 64-character label is rejected (%s)", err.message);
	ok(strstr(err.message, "com.exa...' ") != NULL,
	   "an 88-character name is shortened to 80 in the message");

	make_name(name, 253, 63);
	ok(strlen(name) == 253, "built a 253-character name");
	ok(domain_normalize(name, out, 0, &err) == 0 && strcmp(out, name) == 0,
	   "a 253-character name is accepted unchanged (%s)", err.message);
	strcat(name, ".");
	ok(domain_normalize(name, out, 0, &err) == 0 && strlen(out) == 253,
	   "253 characters plus a trailing dot is accepted, dot removed");
	make_name(name, 254, 63);
	ok(domain_normalize(name, out, 0, &err) == -1 &&
	   strstr(err.message, "longer than 253") != NULL,
	   "a 254-character name is rejected (%s)", err.message);
	make_name(name, 390, 10);
	ok(domain_normalize(name, out, 0, &err) == -1 &&
	   strstr(err.message, "longer than 253") != NULL, "a 390-character name is rejected");
}

static void test_is_wildcard(void)
{
	ok(domain_is_wildcard("*.example.com") == 1, "*.example.com is a wildcard");
	ok(domain_is_wildcard("*.") == 1, "\"*.\" starts with *. so counts as wildcard");
	ok(domain_is_wildcard("example.com") == 0, "example.com is not a wildcard");
	ok(domain_is_wildcard("*example.com") == 0, "*example.com is not a wildcard");
	ok(domain_is_wildcard("*") == 0, "a bare * is not a wildcard name");
	ok(domain_is_wildcard("") == 0, "the empty string is not a wildcard");
	ok(domain_is_wildcard("www.*.com") == 0, "www.*.com is not a wildcard");
	ok(domain_is_wildcard(NULL) == 0, "NULL is not a wildcard");
}

int main(void)
{
	test_good();
	test_bad();
	test_message_quotes_name();
	test_lengths();
	test_is_wildcard();
	return done_testing();
}
