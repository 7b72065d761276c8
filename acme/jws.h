/* JSON Web Signatures for ACME (RFC 7515, 7517, 7638, 8555 section 6.2):
 * base64url, the account key's JWK and its thumbprint, ES256 signing in
 * the flattened JSON serialization, and HTTP-01 key authorizations.
 * Pure functions over OpenSSL keys: no I/O. */
#ifndef POSTERN_ACME_JWS_H
#define POSTERN_ACME_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/error.h"

/* base64url of 32 bytes without padding: 43 characters. */
#define JWS_THUMBPRINT_LEN 43

/* base64url (RFC 4648 section 5) of in, without '=' padding. Returns a
 * malloc'd NUL-terminated string the caller frees, NULL when out of
 * memory. */
char *jws_b64url_encode(const unsigned char *in, size_t len);

/* Decode base64url text (len bytes, no padding, no whitespace). Strict:
 * any character outside the alphabet, a length of 4k+1, or non-zero bits
 * left over in the last character fail. Returns 0 and *out (malloc'd,
 * caller frees; *out_len bytes, plus a NUL not counted) or -1. */
int jws_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

/* The public JWK of key (EC P-256: crv, kty, x, y; RSA: e, kty, n) as a
 * new JSON object the caller releases with json_decref. NULL for other
 * key types. */
json_t *jws_jwk(EVP_PKEY *key);

/* RFC 7638 thumbprint of key's JWK (SHA-256, base64url) into out.
 * Returns 0, or -1 for an unsupported key. */
int jws_thumbprint(EVP_PKEY *key, char out[JWS_THUMBPRINT_LEN + 1]);

/* The HTTP-01 key authorization token "." thumbprint(key). malloc'd,
 * caller frees; NULL for an unsupported key or out of memory. */
char *jws_key_authorization(const char *token, EVP_PKEY *key);

/* Convert a DER ECDSA-Sig-Value into the JWS form r || s, each coordinate
 * left-padded to n bytes (32 for P-256). Returns 0 or -1 (malformed, or a
 * coordinate longer than n). */
int jws_ecdsa_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, size_t n);

/* Sign an ACME request with the P-256 key key (ES256). The protected
 * header holds alg, nonce and url, plus kid when kid is not NULL, else the
 * key's jwk (newAccount). payload is the JSON text of the request body, or
 * NULL for POST-as-GET (an empty payload). Returns the flattened JWS JSON
 * ({"protected","payload","signature"}) malloc'd for the caller to free,
 * or NULL with err (code "acme_jws"). */
char *jws_sign(EVP_PKEY *key, const char *url, const char *nonce, const char *kid,
               const char *payload, struct error *err);

#endif
