/* The certificate toolkit: parse and validate uploads, inspect, compute a
 * certificate's status, issue self-signed test certificates from the
 * instance test CA, make CSRs for ACME, and (de)serialise what the store
 * keeps. Pure functions over OpenSSL objects: no database, no disk. */
#ifndef POSTERN_CRYPTO_CERT_H
#define POSTERN_CRYPTO_CERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/error.h"

/* ---- cert_info.c: what a certificate says ---- */

struct cert_info {
	char subject_cn[256];      /* "" when the subject has no CN */
	char issuer_cn[256];       /* issuer CN, or the issuer's O when no CN */
	char **sans;               /* DNS names (lowercase), malloc'd */
	size_t n_sans;
	char key_type[32];         /* "ECDSA P-256", "ECDSA P-384", "RSA 2048", "Ed25519" */
	char fingerprint_sha256[96]; /* "AB:CD:..." (32 bytes, upper-case hex) */
	time_t not_before;
	time_t not_after;
};

/* Fill out from x. Returns 0, or -1 when x is unusable (no validity
 * dates). The caller releases out with cert_info_free. */
int cert_info_inspect(X509 *x, struct cert_info *out);
void cert_info_free(struct cert_info *info);

/* 1 when pattern (a certificate name, maybe "*.example.com") covers host,
 * else 0. Case-insensitive; a wildcard covers exactly one label and only as
 * the whole left-most label. */
int cert_name_matches(const char *pattern, const char *host);

/* 1 when the certificate's CN or any SAN covers domain (domain itself may
 * be a wildcard name: "*.a.com" is covered only by "*.a.com"). */
int cert_info_covers(const struct cert_info *info, const char *domain);

enum cert_status {
	CERT_STATUS_OK,
	CERT_STATUS_EXPIRING,
	CERT_STATUS_EXPIRED,
	CERT_STATUS_NOT_YET_VALID,
	CERT_STATUS_DOMAIN_MISMATCH,
	CERT_STATUS_PENDING,
	CERT_STATUS_AWAITING_DNS,
	CERT_STATUS_FAILED,
	CERT_STATUS_MAX
};

/* "ok", "expiring", ... as in SPEC section 3. */
const char *cert_status_name(enum cert_status status);
/* Parse a status name; -1 when unknown. */
int cert_status_parse(const char *name, enum cert_status *out);

/* The status of a certificate for domain at time now, from the validity
 * rules of SPEC section 3: not_yet_valid, expired, domain_mismatch,
 * expiring (within 14 days or the last third of the lifetime, whichever is
 * shorter), else ok. Validity problems win over domain mismatch. A NULL
 * domain skips the domain check. */
enum cert_status cert_status_compute(const struct cert_info *info, const char *domain, time_t now);

/* ---- cert_upload.c: user-provided PEM ---- */

/* A certificate with its chain and key, ready to store or serve. */
struct cert_bundle {
	X509 *leaf;
	STACK_OF(X509) *chain; /* issuers, leaf-first order, self-signed roots removed; never NULL once filled */
	EVP_PKEY *key;
};

/* Free everything in b (OpenSSL wipes key material) and zero b. */
void cert_bundle_free(struct cert_bundle *b);

/* Validate an upload as SPEC section 3 says. cert_pem may hold the leaf
 * followed by its chain; ca_pem (NULL or empty allowed) holds more CA
 * certificates. Keys: PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY.
 * The chain is reordered leaf-first and a self-signed root is dropped.
 * Returns 0 and fills out (caller frees with cert_bundle_free), or -1 with
 * err->code one of invalid_pem, encrypted_key, key_mismatch,
 * chain_mismatch, unsupported_key and a message naming the field
 * (certificate, private_key, ca_certificate). */
int cert_upload_parse(const char *cert_pem, size_t cert_len,
		      const char *key_pem, size_t key_len,
		      const char *ca_pem, size_t ca_len,
		      struct cert_bundle *out, struct error *err);

/* ---- cert_issue.c: the test CA, self-signed leaves, CSRs ---- */

/* Make a new instance test CA: ECDSA P-256, CN "postern test CA <8 hex>",
 * CA:TRUE pathlen 0, keyCertSign, valid 10 years. Returns 0 and sets *ca
 * and *ca_key (caller frees), or -1. */
int cert_issue_test_ca(X509 **ca, EVP_PKEY **ca_key, struct error *err);

/* Issue a leaf for domain (plus extra SANs) from the test CA: fresh ECDSA
 * P-256 key, CN = domain, SAN = domain + extra names, serverAuth EKU,
 * digitalSignature KU, valid 365 days from now (notBefore 1 minute in the
 * past). out->chain holds the CA certificate. Returns 0 or -1 with err. */
int cert_issue_selfsigned(X509 *ca, EVP_PKEY *ca_key, const char *domain,
			  const char *const *extra_sans, size_t n_extra,
			  struct cert_bundle *out, struct error *err);

/* Make a CSR for names (SAN extension only, no CN) with a fresh P-256 key.
 * Returns 0, *key (caller frees) and *der (malloc'd DER, caller frees),
 * or -1 with err. */
int cert_issue_csr(const char *const *names, size_t n_names, EVP_PKEY **key,
		   unsigned char **der, size_t *der_len, struct error *err);

/* ---- cert_codec.c: what the store keeps ---- */

/* PEM text of leaf followed by chain. malloc'd, NUL-terminated, caller
 * frees; NULL on failure. */
char *cert_codec_chain_pem(X509 *leaf, STACK_OF(X509) *chain);

/* Parse stored PEM (leaf first, then chain) into *leaf and *chain (caller
 * frees both). Returns 0, or -1 when there is no certificate. */
int cert_codec_parse_chain(const char *pem, size_t len, X509 **leaf, STACK_OF(X509) **chain);

/* PKCS#8 DER of key in *der (caller releases with secret_free). 0 or -1. */
int cert_codec_key_der(EVP_PKEY *key, unsigned char **der, size_t *der_len);

/* A key from PKCS#8 DER; NULL when it does not parse. Caller frees. */
EVP_PKEY *cert_codec_key_from_der(const unsigned char *der, size_t len);

/* The key for leaf from PKCS#8 DER: for EC keys built directly from the
 * scalar and the certificate's public point (about 30 times faster than
 * the generic decoder, which matters when thousands load at start-up);
 * other keys as cert_codec_key_from_der. The caller vouches that the key
 * belongs to leaf (it was checked when stored and is sealed with the
 * record). NULL when it does not parse. Caller frees. */
EVP_PKEY *cert_codec_key_for_cert(const unsigned char *der, size_t len, X509 *leaf);

/* PEM of one certificate (for test-ca.pem). malloc'd, caller frees. */
char *cert_codec_cert_pem(X509 *x);

#endif
