/* Argon2id through libsodium. The hash string carries its own salt and
 * limits, so raising the limits later only affects new hashes and old ones
 * still verify. */
#include "crypto/password.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES,
	       "PASSWORD_HASH_MAX must hold a libsodium hash string");

/* No 0/O/o, 1/l/I: a generated password is read off a terminal and typed. */
static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
			       "abcdefghijkmnpqrstuvwxyz"
			       "23456789";

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	out[0] = '\0';
	if (pw == NULL || sodium_init() < 0)
		return -1;
	if (crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int password_verify(const char *hash, const char *pw)
{
	if (hash == NULL || pw == NULL || sodium_init() < 0)
		return -1;
	/* A string that does not fit the libsodium buffer is not one of ours;
	 * the length check also keeps the verifier inside the array it expects. */
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : -1;
}

void password_generate(char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	/* Without a random source there is no safe password to hand out, and an
	 * empty or predictable one must never reach a caller. */
	if (sodium_init() < 0)
		abort();
	for (i = 0; i + 1 < len; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[len - 1] = '\0';
}
