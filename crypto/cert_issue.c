/* Certificates postern makes itself: the per-instance test CA, self-signed
 * test leaves issued from it, and the CSRs sent to ACME servers. */
#include "crypto/cert.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define CA_DAYS 3650
#define LEAF_DAYS 365
#define BACKDATE_SECONDS 60
#define NAME_MAX_LEN 253
#define CN_MAX_LEN 64 /* ub-common-name (RFC 5280) */

static int internal(struct error *err, const char *what)
{
	ERR_clear_error();
	error_set(err, "internal", "Could not %s (OpenSSL failed); try again, and check the "
		  "error log if it keeps failing.", what);
	return -1;
}

/* A random positive 16-byte serial number (RFC 5280 allows 20 octets). */
static int set_random_serial(X509 *x)
{
	unsigned char buf[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		return -1;
	buf[0] &= 0x7f;
	buf[0] |= 0x40; /* keep all 16 bytes significant */
	bn = BN_bin2bn(buf, sizeof(buf), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int set_validity(X509 *x, long days)
{
	if (X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECONDS) == NULL)
		return -1;
	if (X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL)
		return -1;
	return 0;
}

/* Add extension nid in OpenSSL's config syntax ("critical,CA:TRUE").
 * value is always a constant of this file, never user input. */
static int add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static const EVP_MD *digest_for(EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key);

	/* EdDSA signs the message itself; no separate digest. */
	return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL : EVP_sha256();
}

/* Letters, digits, '-', '.', '_' and '*': what a DNS name in a SAN may
 * hold. The caller (domain_normalize) checks the finer rules. */
static int dns_name_ok(const char *name)
{
	size_t i, len = name ? strlen(name) : 0;

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_' && c != '*')
			return 0;
	}
	return 1;
}

static int is_ip_literal(const char *name)
{
	ASN1_OCTET_STRING *ip = name ? a2i_IPADDRESS(name) : NULL;

	ASN1_OCTET_STRING_free(ip);
	return ip != NULL;
}

static const char *name_at(const char *first, const char *const *rest, size_t i)
{
	return i == 0 ? first : rest[i - 1];
}

/* One SAN entry: an iPAddress for an IP literal, else a lowercase dNSName. */
static GENERAL_NAME *make_general_name(const char *name)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
	ASN1_IA5STRING *dns;
	char lower[NAME_MAX_LEN + 1];
	size_t i, len = strlen(name);

	if (gn == NULL) {
		ASN1_OCTET_STRING_free(ip);
		return NULL;
	}
	if (ip != NULL) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		return gn;
	}
	for (i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	dns = ASN1_IA5STRING_new();
	if (dns == NULL || ASN1_STRING_set(dns, lower, (int)len) != 1) {
		ASN1_IA5STRING_free(dns);
		GENERAL_NAME_free(gn);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	return gn;
}

/* The SAN list for first + rest (n in all), duplicates (any case)
 * removed. Returns NULL with err when a name is invalid. */
static GENERAL_NAMES *make_sans(const char *first, const char *const *rest, size_t n,
				struct error *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t i, j;

	if (gens == NULL) {
		internal(err, "allocate the name list");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *name = name_at(first, rest, i);
		GENERAL_NAME *gn;

		if (!dns_name_ok(name) && !is_ip_literal(name)) {
			error_set(err, "invalid_domain", "A name given for the certificate is "
				  "empty or holds characters a domain name cannot have (name %zu); "
				  "use names such as www.example.com.", i + 1);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcasecmp(name_at(first, rest, j), name) == 0)
				break;
		if (j < i)
			continue;
		gn = make_general_name(name);
		if (gn == NULL || sk_GENERAL_NAME_push(gens, gn) <= 0) {
			GENERAL_NAME_free(gn);
			internal(err, "build the subjectAltName");
			goto fail;
		}
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

static int set_cn(X509_NAME *name, const char *cn)
{
	return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					  (const unsigned char *)cn, -1, -1, 0) == 1 ? 0 : -1;
}

/* Version, serial, validity and key shared by the CA and the leaves. */
static X509 *new_cert(EVP_PKEY *key, long days)
{
	X509 *x = X509_new();

	if (x == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) < 0 ||
	    set_validity(x, days) < 0 || X509_set_pubkey(x, key) != 1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int ca_fill(X509 *x)
{
	unsigned char tag[4];
	char cn[64];

	if (RAND_bytes(tag, sizeof(tag)) != 1)
		return -1;
	snprintf(cn, sizeof(cn), "postern test CA %02x%02x%02x%02x", tag[0], tag[1], tag[2],
		 tag[3]);
	if (set_cn(X509_get_subject_name(x), cn) < 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1)
		return -1;
	if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, x, NID_authority_key_identifier, "keyid:always") < 0)
		return -1;
	return 0;
}

int cert_issue_test_ca(X509 **ca, EVP_PKEY **ca_key, struct error *err)
{
	EVP_PKEY *key;
	X509 *x = NULL;

	*ca = NULL;
	*ca_key = NULL;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		return internal(err, "generate the test CA key");
	x = new_cert(key, CA_DAYS);
	if (x == NULL || ca_fill(x) < 0 || X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		EVP_PKEY_free(key);
		return internal(err, "make the test CA certificate");
	}
	*ca = x;
	*ca_key = key;
	return 0;
}

static int leaf_fill(X509 *ca, X509 *x, const char *domain, GENERAL_NAMES *sans)
{
	char cn[CN_MAX_LEN + 1];
	size_t i, len = strlen(domain);

	/* A CN longer than 64 characters is not allowed; the SAN carries it. */
	if (len <= CN_MAX_LEN) {
		for (i = 0; i <= len; i++)
			cn[i] = (char)tolower((unsigned char)domain[i]);
		if (set_cn(X509_get_subject_name(x), cn) < 0)
			return -1;
	}
	if (X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1)
		return -1;
	if (add_ext(ca, x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(ca, x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(ca, x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(ca, x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(ca, x, NID_authority_key_identifier, "keyid:always") < 0)
		return -1;
	return X509_add1_ext_i2d(x, NID_subject_alt_name, sans, len > CN_MAX_LEN,
				 X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
}

int cert_issue_selfsigned(X509 *ca, EVP_PKEY *ca_key, const char *domain,
			  const char *const *extra_sans, size_t n_extra,
			  struct cert_bundle *out, struct error *err)
{
	GENERAL_NAMES *sans;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;

	memset(out, 0, sizeof(*out));
	if (ca == NULL || ca_key == NULL || X509_check_private_key(ca, ca_key) != 1)
		return internal(err, "use the test CA (its key does not match)");
	if (n_extra > 0 && extra_sans == NULL)
		n_extra = 0;
	sans = make_sans(domain, extra_sans, n_extra + 1, err);
	if (sans == NULL)
		return -1;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key != NULL)
		x = new_cert(key, LEAF_DAYS);
	out->chain = sk_X509_new_null();
	if (x == NULL || out->chain == NULL || leaf_fill(ca, x, domain, sans) < 0 ||
	    X509_sign(x, ca_key, digest_for(ca_key)) <= 0 || X509_up_ref(ca) != 1)
		goto fail;
	if (sk_X509_push(out->chain, ca) <= 0) {
		X509_free(ca);
		goto fail;
	}
	GENERAL_NAMES_free(sans);
	out->leaf = x;
	out->key = key;
	return 0;
fail:
	GENERAL_NAMES_free(sans);
	X509_free(x);
	EVP_PKEY_free(key);
	cert_bundle_free(out);
	return internal(err, "issue the self-signed certificate");
}

/* The CSR's extension request: the SAN (critical, as the subject is empty). */
static int csr_add_sans(X509_REQ *req, GENERAL_NAMES *sans)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 1, sans);
	int ok;

	ok = exts != NULL && ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0;
	if (!ok)
		X509_EXTENSION_free(ext);
	ok = ok && X509_REQ_add_extensions(req, exts) == 1;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok ? 0 : -1;
}

static int csr_der(X509_REQ *req, unsigned char **der, size_t *der_len)
{
	unsigned char *p;
	int len = i2d_X509_REQ(req, NULL);

	if (len <= 0)
		return -1;
	*der = malloc((size_t)len);
	if (*der == NULL)
		return -1;
	p = *der;
	if (i2d_X509_REQ(req, &p) != len) {
		free(*der);
		*der = NULL;
		return -1;
	}
	*der_len = (size_t)len;
	return 0;
}

int cert_issue_csr(const char *const *names, size_t n_names, EVP_PKEY **key,
		   unsigned char **der, size_t *der_len, struct error *err)
{
	GENERAL_NAMES *sans;
	X509_REQ *req = NULL;
	EVP_PKEY *k = NULL;

	*key = NULL;
	*der = NULL;
	*der_len = 0;
	if (names == NULL || n_names == 0) {
		error_set(err, "invalid_domain", "A certificate request needs at least one "
			  "domain name.");
		return -1;
	}
	sans = make_sans(names[0], names + 1, n_names, err);
	if (sans == NULL)
		return -1;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	req = X509_REQ_new();
	if (k == NULL || req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_pubkey(req, k) != 1 || csr_add_sans(req, sans) < 0 ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0 || csr_der(req, der, der_len) < 0) {
		GENERAL_NAMES_free(sans);
		X509_REQ_free(req);
		EVP_PKEY_free(k);
		return internal(err, "make the certificate request");
	}
	GENERAL_NAMES_free(sans);
	X509_REQ_free(req);
	*key = k;
	return 0;
}
