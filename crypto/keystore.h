/* The instance key and the sealing of private keys at rest.
 *
 * The instance key is 32 random bytes in a file of its own (mode 0600),
 * kept in locked memory while the process runs. Private keys are sealed
 * with XChaCha20-Poly1305 (libsodium) under it, with the record's identity
 * as associated data, so a sealed key copied to another record does not
 * open. */
#ifndef POSTERN_CRYPTO_KEYSTORE_H
#define POSTERN_CRYPTO_KEYSTORE_H

#include <stddef.h>

#include "common/error.h"

#define KEYSTORE_KEY_BYTES 32

struct keystore;

/* Open the instance key file at path. When the file does not exist and
 * create is non-zero, create it exclusively (O_EXCL, mode 0600) with 32
 * random bytes. Refuses (NULL, err filled, code "instance_key") a file that
 * group or others can read, a file of the wrong size, or a missing file when
 * create is zero. The caller owns the result; free it with keystore_free. */
struct keystore *keystore_open(const char *path, int create, struct error *err);

/* Build a keystore from 32 raw bytes (tests, fuzzers). Caller owns it. */
struct keystore *keystore_from_bytes(const unsigned char key[KEYSTORE_KEY_BYTES]);

/* Wipe the key and free. NULL is allowed. */
void keystore_free(struct keystore *ks);

/* Seal pt (pt_len bytes) with ad as associated data (a NUL-terminated
 * record identity such as "certkey:3f2a..."; NULL is refused). On success
 * *out is a malloc'd buffer 0x01 (format version) || nonce (24) ||
 * ciphertext || tag (16) that the caller frees, and 0 is returned; -1 on
 * failure. The associated data covers the version byte and ad. */
int keystore_seal(const struct keystore *ks, const unsigned char *pt, size_t pt_len,
		  const char *ad, unsigned char **out, size_t *out_len);

/* Open a sealed buffer made by keystore_seal with the same ad. On success
 * *pt is a malloc'd plaintext the caller must release with
 * secret_free(*pt, *pt_len), and 0 is returned. -1 when the buffer is
 * malformed, was sealed under another key, or ad differs. */
int keystore_unseal(const struct keystore *ks, const unsigned char *sealed, size_t sealed_len,
		    const char *ad, unsigned char **pt, size_t *pt_len);

/* Make a fresh random record identity (32 hex characters + NUL) for use in
 * associated data. */
void keystore_new_uid(char out[33]);

#endif
