/* TLS for the admin listener: a certificate for "localhost" and the
 * listen address, issued once by the instance test CA and kept in the
 * database (key sealed like every other), re-issued when it nears expiry,
 * when the listen address changed, or when the test CA is another one. */
#include "admin/admin_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "common/domain.h"
#include "common/log.h"
#include "crypto/cert.h"
#include "crypto/secret.h"
#include "gateway/cert_manager.h"

#define ADMIN_CERT_SETTING "admin_tls.certificate"
#define ADMIN_KEY_SETTING "admin_tls.sealed_key"
#define ADMIN_KEY_AD "postern:admin-tls-key"
#define RENEW_BEFORE_S (30 * 86400)

/* The names the admin certificate covers: localhost, the listen address
 * (a wildcard address: 127.0.0.1 and this host's name instead). */
struct admin_names {
	char ip[INET6_ADDRSTRLEN];
	char host[DOMAIN_MAX + 1];
	const char *extra[2];
	size_t n_extra;
};

static void admin_names_fill(const struct config_listen *l, struct admin_names *n)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
	const void *bin = sa->sa_family == AF_INET6
				  ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
				  : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	char raw[256];
	struct error err;

	memset(n, 0, sizeof(*n));
	if (inet_ntop(sa->sa_family, bin, n->ip, sizeof(n->ip)) == NULL)
		n->ip[0] = '\0';
	if (strcmp(n->ip, "0.0.0.0") == 0 || strcmp(n->ip, "::") == 0) {
		snprintf(n->ip, sizeof(n->ip), "127.0.0.1");
		if (gethostname(raw, sizeof(raw)) == 0 &&
		    domain_normalize(raw, n->host, 0, &err) == 0 && strcmp(n->host, "localhost"))
			n->extra[n->n_extra++] = n->host;
	}
	if (n->ip[0] != '\0')
		n->extra[n->n_extra++] = n->ip;
}

/* 1 when leaf still suits: issued by ca, valid beyond the renewal margin,
 * covering every name. */
static int leaf_suits(X509 *leaf, X509 *ca, const struct admin_names *n, time_t now)
{
	time_t renew_at = now + RENEW_BEFORE_S;

	if (X509_check_issued(ca, leaf) != X509_V_OK ||
	    X509_cmp_time(X509_get0_notAfter(leaf), &renew_at) <= 0 ||
	    X509_check_host(leaf, "localhost", 0, 0, NULL) != 1)
		return 0;
	for (size_t i = 0; i < n->n_extra; i++) {
		int ok = n->extra[i] == n->ip ? X509_check_ip_asc(leaf, n->ip, 0)
					      : X509_check_host(leaf, n->extra[i], 0, 0, NULL);
		if (ok != 1)
			return 0;
	}
	return 1;
}

/* The stored certificate and key, when there are any that suit. */
static int load_stored(struct instance *inst, X509 *ca, const struct admin_names *n,
		       struct cert_bundle *out)
{
	unsigned char *pem = NULL, *sealed = NULL, *der = NULL;
	size_t pem_len = 0, sealed_len = 0, der_len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (store_setting_get(inst->store, ADMIN_CERT_SETTING, &pem, &pem_len, NULL) != 1 ||
	    store_setting_get(inst->store, ADMIN_KEY_SETTING, &sealed, &sealed_len, NULL) != 1 ||
	    cert_codec_parse_chain((const char *)pem, pem_len, &out->leaf, &out->chain) != 0 ||
	    !leaf_suits(out->leaf, ca, n, time(NULL)) ||
	    keystore_unseal(inst->keys, sealed, sealed_len, ADMIN_KEY_AD, &der, &der_len) != 0 ||
	    (out->key = cert_codec_key_from_der(der, der_len)) == NULL ||
	    X509_check_private_key(out->leaf, out->key) != 1)
		goto out;
	rc = 0;
out:
	if (der != NULL)
		secret_free(der, der_len);
	free(pem);
	free(sealed);
	if (rc != 0)
		cert_bundle_free(out);
	return rc;
}

static int save(struct instance *inst, const struct cert_bundle *b, struct error *err)
{
	unsigned char *der = NULL, *sealed = NULL;
	size_t der_len = 0, sealed_len = 0;
	char *pem = cert_codec_cert_pem(b->leaf);
	int rc = -1;

	if (pem == NULL || cert_codec_key_der(b->key, &der, &der_len) != 0 ||
	    keystore_seal(inst->keys, der, der_len, ADMIN_KEY_AD, &sealed, &sealed_len) != 0)
		error_set(err, "admin", "cannot encode the admin TLS certificate");
	/* Key first: a certificate without its key would be unusable. */
	else if (store_setting_set(inst->store, ADMIN_KEY_SETTING, sealed, sealed_len, err) == 0 &&
		 store_setting_set(inst->store, ADMIN_CERT_SETTING, pem, strlen(pem), err) == 0)
		rc = 0;
	if (der != NULL)
		secret_free(der, der_len);
	free(sealed);
	free(pem);
	return rc;
}

/* The admin certificate: the stored one, or a new one (then stored). */
static int admin_cert(struct instance *inst, struct cert_bundle *out, struct error *err)
{
	struct admin_names names;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	int rc = -1;

	admin_names_fill(&inst->cfg.admin_listen, &names);
	if (cert_manager_test_ca(inst, &ca, &ca_key, err) != 0)
		return -1;
	if (load_stored(inst, ca, &names, out) == 0) {
		rc = 0;
	} else if (cert_issue_selfsigned(ca, ca_key, "localhost", names.extra, names.n_extra, out,
					 err) == 0) {
		rc = save(inst, out, err);
		if (rc == 0)
			log_info("admin console: new TLS certificate for localhost%s%s, issued by "
				 "the instance test CA (trust it once: postern cert test-ca)",
				 names.n_extra ? " and " : "", names.n_extra ? names.ip : "");
		else
			cert_bundle_free(out);
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}

static int use_cert(struct admin_server *srv, SSL_CTX *ctx, struct error *err)
{
	struct cert_bundle b;
	const ASN1_TIME *not_after;
	struct tm tm;
	int rc = -1;

	if (admin_cert(srv->ctx->inst, &b, err) != 0)
		return -1;
	not_after = X509_get0_notAfter(b.leaf);
	if (SSL_CTX_use_certificate(ctx, b.leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, b.key) != 1 ||
	    ASN1_TIME_to_tm(not_after, &tm) != 1)
		error_set(err, "admin", "cannot load the admin TLS certificate");
	else {
		srv->tls_not_after = timegm(&tm);
		rc = 0;
	}
	cert_bundle_free(&b);
	return rc;
}

SSL_CTX *admin_tls_ctx_new(struct admin_server *srv, struct error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1) {
		SSL_CTX_free(ctx);
		error_set(err, "admin", "cannot create the admin TLS context");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (use_cert(srv, ctx, err) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void admin_tls_refresh(struct admin_server *srv)
{
	struct error err;

	if (srv->ssl_ctx == NULL || srv->tls_not_after - time(NULL) > RENEW_BEFORE_S)
		return;
	/* New handshakes use the new certificate; open connections keep theirs. */
	if (use_cert(srv, srv->ssl_ctx, &err) != 0)
		log_error("admin console: cannot renew the TLS certificate: %s", err.message);
}
