/* Argon2id hashing and verification, and generated passwords. */
#include <stdio.h>
#include <string.h>

#include "crypto/password.h"
#include "tests/unit/tap.h"

static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

static void test_hash(void)
{
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX], h3[PASSWORD_HASH_MAX];

	ok(password_hash("correct horse", h1) == 0, "hash succeeds");
	ok(strncmp(h1, "$argon2id$", 10) == 0, "hash starts with $argon2id$ (%s)", h1);
	ok(strstr(h1, "$v=19$") != NULL, "hash is Argon2 version 1.3 (v=19)");
	ok(strlen(h1) < PASSWORD_HASH_MAX, "hash fits PASSWORD_HASH_MAX");
	ok(strstr(h1, "correct horse") == NULL, "hash does not contain the password");
	ok(password_verify(h1, "correct horse") == 0, "verify accepts the right password");
	ok(password_verify(h1, "correct horsf") == -1, "verify refuses a one-letter change");
	ok(password_verify(h1, "Correct horse") == -1, "verify is case-sensitive");
	ok(password_verify(h1, "correct horse ") == -1, "verify refuses a trailing space");
	ok(password_verify(h1, "") == -1, "verify refuses the empty password");
	ok(password_hash("correct horse", h2) == 0, "second hash of the same password succeeds");
	ok(strcmp(h1, h2) != 0, "two hashes of the same password differ (random salt)");
	ok(password_verify(h2, "correct horse") == 0, "second hash verifies too");

	ok(password_hash("", h3) == 0, "the empty password hashes");
	ok(password_verify(h3, "") == 0, "the empty password verifies against its hash");
	ok(password_verify(h3, "x") == -1, "another password does not verify against it");
}

static void test_verify_malformed(void)
{
	char h[PASSWORD_HASH_MAX], bad[PASSWORD_HASH_MAX];
	char longstr[300];

	password_hash("pw", h);
	ok(password_verify("", "pw") == -1, "empty hash string refused");
	ok(password_verify("not a hash", "pw") == -1, "garbage hash string refused");
	ok(password_verify(NULL, "pw") == -1, "NULL hash refused");
	ok(password_verify(h, NULL) == -1, "NULL password refused");
	snprintf(bad, sizeof(bad), "%s", h);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	ok(password_verify(bad, "pw") == -1, "hash with a changed last character refused");
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(h) / 2, h);
	ok(password_verify(bad, "pw") == -1, "truncated hash refused");
	memset(longstr, 'a', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	memcpy(longstr, h, strlen(h));
	ok(password_verify(longstr, "pw") == -1, "over-long hash string refused");
}

static int only_alphabet(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr(alphabet, *s) == NULL)
			return 0;
	return 1;
}

static void test_generate(void)
{
	char a[25], b[25], one[2], big[4097], hash[PASSWORD_HASH_MAX];
	size_t i;
	int seen[256] = {0}, missing = 0, lookalike = 0;

	memset(a, '!', sizeof(a));
	password_generate(a, sizeof(a));
	ok(strlen(a) == 24, "generate(25) gives 24 characters (%s)", a);
	ok(only_alphabet(a), "generated password uses only the alphabet");
	password_generate(b, sizeof(b));
	ok(strcmp(a, b) != 0, "two generated passwords differ");

	password_generate(one, sizeof(one));
	ok(strlen(one) == 1 && only_alphabet(one), "generate(2) gives one alphabet character");

	password_generate(big, sizeof(big));
	ok(strlen(big) == 4096, "generate(4097) gives 4096 characters");
	ok(only_alphabet(big), "a long generated password uses only the alphabet");
	for (i = 0; big[i] != '\0'; i++)
		seen[(unsigned char)big[i]] = 1;
	for (i = 0; alphabet[i] != '\0'; i++)
		missing += !seen[(unsigned char)alphabet[i]];
	ok(missing == 0, "4096 characters cover the whole alphabet (%d missing)", missing);
	lookalike = seen['0'] + seen['O'] + seen['o'] + seen['1'] + seen['l'] + seen['I'];
	ok(lookalike == 0, "no look-alike characters (0 O o 1 l I)");

	ok(password_hash(a, hash) == 0 && password_verify(hash, a) == 0,
	   "a generated password hashes and verifies");
}

int main(void)
{
	test_hash();
	test_verify_malformed();
	test_generate();
	return done_testing();
}
