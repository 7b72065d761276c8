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
