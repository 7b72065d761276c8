/* Certificates as administrators manage them: the one path that the CLI,
 * the admin API and ACME use to create, replace, delete and inspect
 * certificate records. It validates, seals keys, stores, and computes the
 * status shown to people. */
#ifndef POSTERN_GATEWAY_CERT_MANAGER_H
#define POSTERN_GATEWAY_CERT_MANAGER_H

#include <stddef.h>
#include <time.h>

#include "common/error.h"
#include "crypto/cert.h"
#include "gateway/instance.h"
#include "gateway/store.h"

/* The setting where the running daemon records the certificate versions
 * its handshakes read: {"pid":N,"certs":{"ID":VERSION,...}}. */
#define CERT_MANAGER_DEPLOYED_SETTING "runtime.deployed"

/* A certificate record with what people see about it. */
struct cert_view {
	struct store_cert rec;
	struct cert_info info;
	int has_info;           /* 0 while an ACME order has no certificate yet */
	enum cert_status status;
	char status_detail[512];
	int deployed;           /* in the cache that handshakes read */
};

void cert_view_free(struct cert_view *v);
void cert_view_list_free(struct cert_view *list, size_t n);

/* Status and detail of a record at time now. */
void cert_manager_status(struct cert_view *v, time_t now);

/* Import a user-provided certificate (PEM texts; ca_pem may be NULL) for
 * domain. Validation errors as cert_upload_parse, plus invalid_domain.
 * Returns 0 and *id, or -1 with err; nothing is stored on failure. */
int cert_manager_import(struct instance *inst, const char *domain, const char *cert_pem,
			const char *key_pem, const char *ca_pem, const struct store_actor *who,
			long long *id, struct error *err);

/* Replace certificate id (source user) with new PEMs; hot-swapped by the
 * gateway. not_found, wrong_source, or the validation errors. */
int cert_manager_replace(struct instance *inst, long long id, const char *cert_pem,
			 const char *key_pem, const char *ca_pem, const struct store_actor *who,
			 struct error *err);

/* Issue a self-signed test certificate for domain (+ extra names) from
 * the instance test CA (created on first use). Returns 0 and *id or -1. */
int cert_manager_selfsign(struct instance *inst, const char *domain, const char *const *sans,
			  size_t n_sans, const struct store_actor *who, long long *id,
			  struct error *err);

/* Create an ACME record for domain (+ extra names; no wildcards: HTTP-01
 * cannot validate them) with no certificate yet: state "pending",
 * auto_renew on, next attempt now; the ACME client orders it. Returns 0
 * and *id, or -1 with err (invalid_domain). */
int cert_manager_create_acme(struct instance *inst, const char *domain, const char *const *sans,
			     size_t n_sans, const struct store_actor *who, long long *id,
			     struct error *err);

int cert_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
			struct error *err);

/* One record with its status (caller frees with cert_view_free). */
int cert_manager_get(struct instance *inst, long long id, struct cert_view *out,
		     struct error *err);
/* Every record with its status, by id (caller frees the list). */
int cert_manager_list(struct instance *inst, struct cert_view **list, size_t *n,
		      struct error *err);

/* The instance test CA, created and stored (key sealed) on first use.
 * Caller frees *ca and *key. */
int cert_manager_test_ca(struct instance *inst, X509 **ca, EVP_PKEY **key, struct error *err);

/* Unseal and parse a stored record into something a TLS context can serve.
 * Caller frees out with cert_bundle_free. */
int cert_manager_load_bundle(struct instance *inst, const struct store_cert *rec,
			     struct cert_bundle *out, struct error *err);

/* ---- used by the ACME client (acme/) */

/* Install a certificate obtained over ACME on record id (source acme): seal
 * the key, store the chain as a new version (the gateway hot-swaps it; the
 * old version serves until then), clear the ACME state and error, and set
 * next_attempt to when the certificate should be renewed. Returns 0, or -1
 * with err (not_found, wrong_source, storage). b stays the caller's. */
int cert_manager_install_acme(struct instance *inst, long long id, struct cert_bundle *b,
			      long long renew_at, const struct store_actor *who,
			      struct error *err);

#endif
