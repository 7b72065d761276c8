/* The SNI cache: every deployed certificate, indexed by name for the TLS
 * handshake. Exact names in a hash table, wildcards ("*.example.com") by
 * parent domain (exactly one label), then the default certificate. Built
 * once by the control thread, then immutable and read by every worker
 * without locks. Lookup cost does not depend on the number of
 * certificates. */
#ifndef POSTERN_GATEWAY_SNI_CACHE_H
#define POSTERN_GATEWAY_SNI_CACHE_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/cert.h"

enum sni_key_kind { SNI_KEY_EC, SNI_KEY_RSA, SNI_KEY_OTHER, SNI_KEY_MAX };

struct sni_entry {
	long long cert_id;
	int version;
	char *domain; /* the record's domain */
	X509 *leaf;
	STACK_OF(X509) * chain; /* never NULL; its certificates are shared by the
	                         * entries of one cache (identical CAs interned) */
	EVP_PKEY *key;          /* matches leaf (checked when added) */
	enum sni_key_kind kind; /* from key: EC, RSA, else OTHER (RSA-PSS, EdDSA) */
	char **names;           /* CN and DNS SANs, lowercase, deduplicated, wildcards
	                         * as "*.example.com"; names that cannot be host
	                         * names are left out; one allocation */
	size_t n_names;
	time_t not_before;
	time_t not_after;
};

/* The certificates to present for one handshake: the best certificate of
 * each key kind for the name (any may be NULL, not all); OpenSSL then
 * picks the one the client's signature algorithms allow. */
struct sni_match {
	const struct sni_entry *ec;
	const struct sni_entry *rsa;
	const struct sni_entry *other; /* Ed25519, RSA-PSS etc. */
	int is_default;                /* found through default_certificate */
};

struct sni_cache;

/* An empty cache; add entries, then freeze with sni_cache_finish. NULL
 * when out of memory. */
struct sni_cache *sni_cache_new(void);

/* Add a certificate (takes ownership of the bundle's objects: the bundle
 * is zeroed). The key must match the leaf; chain may be NULL. Returns 0,
 * or -1 (the bundle is then freed) when out of memory, the key does not
 * match, the leaf has no validity dates, or the cache is finished. */
int sni_cache_add(struct sni_cache *c, long long cert_id, int version, const char *domain,
                  struct cert_bundle *bundle);

/* Add a copy of entry from (of another, older cache: the one being
 * replaced), sharing its leaf, key and CA certificates (references taken)
 * and copying its names, with no parsing: rebuilding a cache of 10,000
 * certificates after one change costs milliseconds. from's cache may be
 * read by workers meanwhile. Returns 0, or -1 when out of memory or the
 * cache is finished. */
int sni_cache_add_entry(struct sni_cache *c, const struct sni_entry *from);

/* Freeze: build the indexes. default_domain (NULL or "" = none) names the
 * record domain whose certificates serve unknown or missing SNI (compared
 * case-insensitively; a domain no entry has means no default). Returns 0,
 * or -1 when out of memory (then only sni_cache_free is allowed). */
int sni_cache_finish(struct sni_cache *c, const char *default_domain);

/* Free the cache and everything in it. NULL allowed. */
void sni_cache_free(struct sni_cache *c);

/* Find what to present for server name sni (NULL or "" = no SNI) at time
 * now: exact name, then wildcard, then the default certificate. Among
 * several certificates for a name, one valid now with the latest expiry
 * wins (when none is valid, the latest expiry). Case-insensitive; one
 * trailing dot is ignored; an SNI that cannot be a host name (over 255
 * bytes, characters other than letters, digits, '-', '_', empty labels)
 * matches only the default. Returns 0 with *out filled (pointers into the
 * cache), or -1 when nothing matches (the handshake must fail with
 * unrecognized_name). Safe from any number of threads at once. */
int sni_cache_lookup(const struct sni_cache *c, const char *sni, time_t now, struct sni_match *out);

/* 1 when the certificate id at this version is in the cache, else 0
 * (binary search: cheap enough to call for every record of a listing). */
int sni_cache_has(const struct sni_cache *c, long long cert_id, int version);

/* The entry for certificate id at this version (borrowed from c), or
 * NULL; e.g. to carry it into the next cache with sni_cache_add_entry. */
const struct sni_entry *sni_cache_get(const struct sni_cache *c, long long cert_id, int version);

/* Number of certificates in the cache. */
size_t sni_cache_count(const struct sni_cache *c);

/* 1 when entry e's names cover host[0..host_len) (exact or one-label
 * wildcard; case-insensitive, one trailing dot ignored; no port), else 0. */
int sni_entry_covers(const struct sni_entry *e, const char *host, size_t host_len);

#endif
