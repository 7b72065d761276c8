#include "acme/jws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>

#define P256_COORD    32
#define MAX_RSA_BYTES 1024 /* 8192-bit modulus */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *jws_b64url_encode(const unsigned char *in, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i = 0;

	if (out == NULL)
		return NULL;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*o++ = b64url_alphabet[v >> 18];
		*o++ = b64url_alphabet[(v >> 12) & 63];
		*o++ = b64url_alphabet[(v >> 6) & 63];
		*o++ = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		*o++ = b64url_alphabet[in[i] >> 2];
		*o++ = b64url_alphabet[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 8 | in[i + 1];
		*o++ = b64url_alphabet[v >> 10];
		*o++ = b64url_alphabet[(v >> 4) & 63];
		*o++ = b64url_alphabet[(v & 15) << 2];
	}
	*o = '\0';
	return out;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int jws_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf;
	unsigned acc = 0;
	size_t n = 0;
	int bits = 0;

	*out = NULL;
	*out_len = 0;
	if (len % 4 == 1 || (buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);

		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* the bits that do not make a whole byte must be zero (canonical form) */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

/* base64url of a big number, left-padded with zeros to pad bytes (0 = the
 * minimal big-endian form). */
static char *bn_b64url(const BIGNUM *bn, int pad)
{
	unsigned char buf[MAX_RSA_BYTES];
	int n = pad > 0 ? pad : BN_num_bytes(bn);

	if (n <= 0 || n > (int)sizeof(buf) || BN_bn2binpad(bn, buf, n) != n)
		return NULL;
	return jws_b64url_encode(buf, (size_t)n);
}

static int is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t len = 0;

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                    &len))
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Two big-number parameters of key as base64url strings. */
static int key_params(EVP_PKEY *key, const char *p1, const char *p2, int pad, char **v1, char **v2)
{
	BIGNUM *a = NULL, *b = NULL;
	int rc = -1;

	*v1 = NULL;
	*v2 = NULL;
	if (EVP_PKEY_get_bn_param(key, p1, &a) && EVP_PKEY_get_bn_param(key, p2, &b)) {
		*v1 = bn_b64url(a, pad);
		*v2 = bn_b64url(b, pad);
		rc = *v1 != NULL && *v2 != NULL ? 0 : -1;
	}
	BN_free(a);
	BN_free(b);
	if (rc != 0) {
		free(*v1);
		free(*v2);
		*v1 = *v2 = NULL;
	}
	return rc;
}

json_t *jws_jwk(EVP_PKEY *key)
{
	char *a = NULL, *b = NULL;
	json_t *jwk = NULL;

	if (key == NULL)
		return NULL;
	if (is_p256(key)) {
		if (key_params(key, OSSL_PKEY_PARAM_EC_PUB_X, OSSL_PKEY_PARAM_EC_PUB_Y, P256_COORD,
		               &a, &b) == 0)
			jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", a,
			                "y", b);
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		if (key_params(key, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_N, 0, &a, &b) == 0)
			jwk = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
	}
	free(a);
	free(b);
	return jwk;
}

int jws_thumbprint(EVP_PKEY *key, char out[JWS_THUMBPRINT_LEN + 1])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	json_t *jwk = jws_jwk(key);
	char *text, *b64;

	if (jwk == NULL)
		return -1;
	/* RFC 7638: required members only, sorted, no whitespace. The
	 * values are base64url, so no escaping can differ between encoders. */
	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(jwk);
	if (text == NULL)
		return -1;
	SHA256((const unsigned char *)text, strlen(text), digest);
	free(text);
	b64 = jws_b64url_encode(digest, sizeof(digest));
	if (b64 == NULL)
		return -1;
	memcpy(out, b64, JWS_THUMBPRINT_LEN + 1);
	free(b64);
	return 0;
}

char *jws_key_authorization(const char *token, EVP_PKEY *key)
{
	char thumb[JWS_THUMBPRINT_LEN + 1];
	size_t n;
	char *out;

	if (jws_thumbprint(key, thumb) != 0)
		return NULL;
	n = strlen(token) + 1 + JWS_THUMBPRINT_LEN + 1;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s.%s", token, thumb);
	return out;
}

int jws_ecdsa_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, size_t n)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	/* the whole input must be the signature, nothing after it */
	if (p == der + der_len && BN_bn2binpad(r, raw, (int)n) == (int)n &&
	    BN_bn2binpad(s, raw + n, (int)n) == (int)n)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/* ES256 over data: the raw 64-byte r || s signature. */
static int es256(EVP_PKEY *key, const char *data, unsigned char raw[2 * P256_COORD])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t der_len = sizeof(der);
	int rc = -1;

	if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)data, strlen(data)) == 1)
		rc = jws_ecdsa_der_to_raw(der, der_len, raw, P256_COORD);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static char *protected_header(EVP_PKEY *key, const char *url, const char *nonce, const char *kid)
{
	json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce, "url", url);
	char *text = NULL, *b64 = NULL;

	if (hdr == NULL)
		return NULL;
	if (kid != NULL)
		json_object_set_new(hdr, "kid", json_string(kid));
	else
		json_object_set_new(hdr, "jwk", jws_jwk(key));
	if (json_object_get(hdr, kid ? "kid" : "jwk") != NULL)
		text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(hdr);
	if (text != NULL)
		b64 = jws_b64url_encode((const unsigned char *)text, strlen(text));
	free(text);
	return b64;
}

char *jws_sign(EVP_PKEY *key, const char *url, const char *nonce, const char *kid,
               const char *payload, struct error *err)
{
	unsigned char sig[2 * P256_COORD];
	char *prot = NULL, *body = NULL, *input = NULL, *sig64 = NULL, *out = NULL;
	size_t n;
	json_t *jws;

	if (key == NULL || !is_p256(key) || url == NULL || nonce == NULL) {
		error_set(err, "acme_jws", "the ACME account key must be an ECDSA P-256 key");
		return NULL;
	}
	prot = protected_header(key, url, nonce, kid);
	body = payload ? jws_b64url_encode((const unsigned char *)payload, strlen(payload))
	               : strdup("");
	if (prot == NULL || body == NULL)
		goto out;
	n = strlen(prot) + strlen(body) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", prot, body);
	if (es256(key, input, sig) != 0 || (sig64 = jws_b64url_encode(sig, sizeof(sig))) == NULL)
		goto out;
	jws = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", body, "signature", sig64);
	out = jws ? json_dumps(jws, JSON_COMPACT) : NULL;
	json_decref(jws);
out:
	if (out == NULL)
		error_set(err, "acme_jws",
		          "cannot sign the ACME request (out of memory or a "
		          "broken key)");
	free(prot);
	free(body);
	free(input);
	free(sig64);
	return out;
}
