/* What the store keeps: certificate chains as PEM text, private keys as
 * PKCS#8 DER (which keystore.c then encrypts). Buffers that hold key
 * material are wiped before they are released. */
#include "crypto/cert.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "crypto/secret.h"

/* Stored PEM is never encrypted; refuse rather than prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* A malloc'd NUL-terminated copy of what bio holds; NULL on failure. */
static char *bio_to_string(BIO *bio)
{
	char *data = NULL, *out;
	long len = BIO_get_mem_data(bio, &data);

	if (len < 0 || data == NULL)
		return NULL;
	out = malloc((size_t)len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	return out;
}

char *cert_codec_chain_pem(X509 *leaf, STACK_OF(X509) *chain)
{
	BIO *bio;
	char *out = NULL;
	int i, ok;

	if (leaf == NULL)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return NULL;
	ok = PEM_write_bio_X509(bio, leaf);
	for (i = 0; ok && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(bio, sk_X509_value(chain, i));
	if (ok)
		out = bio_to_string(bio);
	BIO_free(bio);
	return out;
}

char *cert_codec_cert_pem(X509 *x)
{
	return cert_codec_chain_pem(x, NULL);
}

int cert_codec_parse_chain(const char *pem, size_t len, X509 **leaf, STACK_OF(X509) **chain)
{
	BIO *bio;
	X509 *x;
	STACK_OF(X509) *sk;

	*leaf = NULL;
	*chain = NULL;
	if (pem == NULL || len == 0 || len > INT_MAX)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	sk = sk_X509_new_null();
	if (bio == NULL || sk == NULL)
		goto fail;
	ERR_set_mark();
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			ERR_pop_to_mark();
			goto fail;
		}
	}
	ERR_pop_to_mark();
	BIO_free(bio);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return -1;
	}
	*leaf = sk_X509_shift(sk);
	*chain = sk;
	return 0;
fail:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return -1;
}

int cert_codec_key_der(EVP_PKEY *key, unsigned char **der, size_t *der_len)
{
	OSSL_ENCODER_CTX *ctx;
	BIO *bio;
	char *data = NULL;
	long len;
	int rc = -1;

	*der = NULL;
	*der_len = 0;
	if (key == NULL)
		return -1;
	/* A secure-memory BIO: its buffer is cleansed when it grows or is freed. */
	bio = BIO_new(BIO_s_secmem());
	ctx = OSSL_ENCODER_CTX_new_for_pkey(key, OSSL_KEYMGMT_SELECT_KEYPAIR, "DER",
					    "PrivateKeyInfo", NULL);
	if (bio == NULL || ctx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ctx) == 0)
		goto out;
	if (OSSL_ENCODER_to_bio(ctx, bio) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || data == NULL)
		goto out;
	*der = malloc((size_t)len);
	if (*der == NULL)
		goto out;
	memcpy(*der, data, (size_t)len);
	*der_len = (size_t)len;
	rc = 0;
out:
	OSSL_ENCODER_CTX_free(ctx);
	BIO_free(bio);
	return rc;
}

EVP_PKEY *cert_codec_key_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *key = NULL;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	ERR_set_mark();
	/* PKCS8_PRIV_KEY_INFO_free cleanses the key octets it holds. */
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	if (p8 != NULL && p == der + len)
		key = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_pop_to_mark();
	return key;
}

/* ---- fast path for EC keys at start-up ----
 * OpenSSL 3's generic decoders cost ~0.8 ms per key (provider lookups
 * under locks); with thousands of certificates that dominates start-up.
 * An EC key is just a curve, a scalar and a point: build it with
 * EVP_PKEY_fromdata from the scalar in the PKCS#8 and the point in the
 * certificate (~25 us). */

/* Read one DER tag-length at *p (within end); returns the content length
 * or -1. Short and long (1-2 byte) lengths only: enough for EC keys. */
static long der_header(const unsigned char **p, const unsigned char *end, int tag)
{
	long len;

	if (end - *p < 2 || (*p)[0] != tag)
		return -1;
	len = (*p)[1];
	*p += 2;
	if (len & 0x80) {
		int n = (int)(len & 0x7f);
		if (n < 1 || n > 2 || end - *p < n)
			return -1;
		len = 0;
		while (n-- > 0)
			len = (len << 8) | *(*p)++;
	}
	return len <= end - *p ? len : -1;
}

/* The privateKey OCTET STRING of an ECPrivateKey (RFC 5915). */
static int ec_scalar(const unsigned char *der, long len, const unsigned char **priv,
		     long *priv_len)
{
	const unsigned char *p = der, *end = der + len;
	long n;

	if (der_header(&p, end, 0x30) < 0 || der_header(&p, end, 0x02) != 1 || *p++ != 1)
		return -1;
	n = der_header(&p, end, 0x04);
	if (n <= 0 || n > 66)
		return -1;
	*priv = p;
	*priv_len = n;
	return 0;
}

/* OpenSSL 3.0 has no OSSL_PARAM_clear_free: wipe every value, then free. */
static void wipe_params(OSSL_PARAM *params)
{
	for (OSSL_PARAM *p = params; p != NULL && p->key != NULL; p++)
		if (p->data != NULL)
			OPENSSL_cleanse(p->data, p->data_size);
	OSSL_PARAM_free(params);
}

static EVP_PKEY *ec_from_parts(const char *group, const unsigned char *priv, long priv_len,
			       const unsigned char *pub, size_t pub_len)
{
	/* fetching the EC key manager takes provider locks: once per thread */
	static _Thread_local EVP_PKEY_CTX *ctx;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *d = BN_secure_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;

	if (bld == NULL || d == NULL || BN_bin2bn(priv, (int)priv_len, d) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx == NULL && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0)
		key = NULL;
	wipe_params(params); /* it holds a copy of the scalar */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return key;
}

EVP_PKEY *cert_codec_key_for_cert(const unsigned char *der, size_t len, X509 *leaf)
{
	EVP_PKEY *pub = leaf ? X509_get0_pubkey(leaf) : NULL;
	const unsigned char *p = der, *pk = NULL, *priv = NULL;
	unsigned char point[133];
	char group[32];
	size_t point_len = 0, group_len = 0;
	long priv_len = 0;
	int pk_len = 0;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;

	if (pub == NULL || !EVP_PKEY_is_a(pub, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &group_len) ||
	    !EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
					     &point_len))
		return cert_codec_key_from_der(der, len);
	ERR_set_mark();
	p8 = len <= LONG_MAX ? d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len) : NULL;
	if (p8 != NULL && p == der + len && PKCS8_pkey_get0(NULL, &pk, &pk_len, NULL, p8) &&
	    ec_scalar(pk, pk_len, &priv, &priv_len) == 0)
		key = ec_from_parts(group, priv, priv_len, point, point_len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_pop_to_mark();
	/* anything unusual: the general (slow) decoder */
	return key != NULL ? key : cert_codec_key_from_der(der, len);
}
