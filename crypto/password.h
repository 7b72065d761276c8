/* Password hashing (Argon2id through libsodium) and generation. */
#ifndef POSTERN_CRYPTO_PASSWORD_H
#define POSTERN_CRYPTO_PASSWORD_H

#include <stddef.h>

/* Size of a buffer that holds any hash string made by password_hash. */
#define PASSWORD_HASH_MAX 128

/* Hash pw with Argon2id (interactive limits) into out (NUL-terminated
 * "$argon2id$..." string). Returns 0, or -1 when out of memory. */
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/* Returns 0 when pw matches hash, -1 otherwise. */
int password_verify(const char *hash, const char *pw);

/* Fill out with a random password of len-1 characters from an alphabet
 * without look-alikes (no 0/O, 1/l/I), NUL-terminated. len >= 2. */
void password_generate(char *out, size_t len);

#endif
