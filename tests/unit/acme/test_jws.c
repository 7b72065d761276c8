/* JWS for ACME: base64url (edge cases and strict decoding), the RFC 7638
 * thumbprint (the RFC's own RSA vector, and an EC key checked against a
 * thumbprint computed independently by the openssl command and python3's
 * hashlib), key authorizations, DER -> r||s, and ES256 JWS objects whose
 * signatures are verified with OpenSSL (EVP_DigestVerify and `openssl
 * dgst -verify`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "acme/jws.h"
#include "tests/unit/tap.h"

static char dir[64];

static int b64_is(const char *in, size_t len, const char *want)
{
	char *got = jws_b64url_encode((const unsigned char *)in, len);
	int same = got != NULL && strcmp(got, want) == 0;

	free(got);
	return same;
}

static int decodes_to(const char *in, const char *want, size_t want_len)
{
	unsigned char *out = NULL;
	size_t n = 0;
	int same;

	if (jws_b64url_decode(in, strlen(in), &out, &n) != 0)
		return 0;
	same = n == want_len && memcmp(out, want, n) == 0 && out[n] == '\0';
	free(out);
	return same;
}

static int rejects(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t n = 7;
	int rc = jws_b64url_decode(in, strlen(in), &out, &n);

	return rc == -1 && out == NULL && n == 0;
}

static void test_base64url(void)
{
	unsigned char all[256], *back = NULL;
	size_t back_len = 0;
	char *enc;
	int round_trips = 1;

	ok(b64_is("", 0, ""), "base64url of nothing is empty");
	ok(b64_is("f", 1, "Zg"), "one byte: two characters, no padding");
	ok(b64_is("fo", 2, "Zm8"), "two bytes: three characters, no padding");
	ok(b64_is("foo", 3, "Zm9v"), "three bytes: four characters");
	ok(b64_is("foobar", 6, "Zm9vYmFy"), "RFC 4648 vector foobar");
	ok(b64_is("\xfb\xff", 2, "-_8"), "62 and 63 are '-' and '_' (not '+' and '/')");
	ok(b64_is("\0\0\0", 3, "AAAA"), "zero bytes are encoded");
	ok(decodes_to("Zm9vYmE", "fooba", 5), "decodes foobar prefix without padding");
	ok(decodes_to("", "", 0), "decodes the empty string");
	ok(decodes_to("-_8", "\xfb\xff", 2), "decodes '-' and '_'");
	ok(rejects("Zg=="), "padding is refused");
	ok(rejects("Zg="), "a single '=' is refused");
	ok(rejects("Z"), "a length of 4k+1 is refused");
	ok(rejects("Zh"), "non-zero leftover bits are refused (non-canonical)");
	ok(rejects("Zm9+"), "the standard alphabet '+' is refused");
	ok(rejects("Zm9/"), "the standard alphabet '/' is refused");
	ok(rejects("Zm 9v"), "whitespace is refused");
	ok(rejects("Zm9v\n"), "a trailing newline is refused");
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t len = 0; len <= 256 && round_trips; len++) {
		enc = jws_b64url_encode(all + (256 - len), len);
		round_trips = enc != NULL && strlen(enc) == (len * 4 + 2) / 3 &&
		              strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                          "0123456789-_") == strlen(enc) &&
		              jws_b64url_decode(enc, strlen(enc), &back, &back_len) == 0 &&
		              back_len == len && memcmp(back, all + (256 - len), len) == 0;
		free(enc);
		free(back);
		back = NULL;
	}
	ok(round_trips, "every length 0..256 round-trips with the unpadded length");
}

/* The RSA key of RFC 7638 section 3.1. */
static EVP_PKEY *rfc7638_key(void)
{
	static const char n64[] =
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuh"
	    "DR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6"
	    "Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
	    "n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
	    "jF44-csFCur-kEgU8awapJzKnqDKgw";
	unsigned char *n = NULL;
	size_t n_len = 0;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *bn_n, *bn_e = BN_new();

	if (jws_b64url_decode(n64, strlen(n64), &n, &n_len) != 0)
		return NULL;
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	BN_set_word(bn_e, 65537);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	return key;
}

static int run(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t got;

	if (p == NULL)
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
		out[--got] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

/* An EC key made by the openssl command, its thumbprint computed by
 * python3 from the SubjectPublicKeyInfo DER (04 || x || y at the end). */
static EVP_PKEY *openssl_ec_key(char *thumb, size_t n)
{
	char cmd[1024], path[128];
	FILE *f;
	EVP_PKEY *key;

	snprintf(path, sizeof(path), "%s/ec.pem", dir);
	snprintf(
	    cmd, sizeof(cmd),
	    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null"
	    " && openssl pkey -in %s -pubout -outform DER | python3 -c 'import sys,hashlib,"
	    "base64; d=sys.stdin.buffer.read()[-64:]; b=lambda v: base64.urlsafe_b64encode(v)"
	    ".rstrip(b\"=\").decode(); j=\"{\\\"crv\\\":\\\"P-256\\\",\\\"kty\\\":\\\"EC\\\","
	    "\\\"x\\\":\\\"%%s\\\",\\\"y\\\":\\\"%%s\\\"}\" %% (b(d[:32]), b(d[32:])); "
	    "print(b(hashlib.sha256(j.encode()).digest()))'",
	    path, path);
	if (run(cmd, thumb, n) != 0 || (f = fopen(path, "r")) == NULL)
		return NULL;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return key;
}

static void test_thumbprint(void)
{
	char thumb[JWS_THUMBPRINT_LEN + 1], want[128];
	EVP_PKEY *rsa = rfc7638_key(), *ec, *ed, *p384;
	json_t *jwk;
	char *ka;

	ok(rsa != NULL, "the RFC 7638 RSA key is built from its n and e");
	ok(jws_thumbprint(rsa, thumb) == 0 &&
	       strcmp(thumb, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == 0,
	   "RFC 7638 section 3.1 test vector");
	jwk = jws_jwk(rsa);
	ok(jwk && json_object_size(jwk) == 3 &&
	       strcmp(json_string_value(json_object_get(jwk, "e")), "AQAB") == 0,
	   "RSA JWK has exactly e, kty, n (e = AQAB)");
	json_decref(jwk);
	EVP_PKEY_free(rsa);

	ec = openssl_ec_key(want, sizeof(want));
	ok(ec != NULL && strlen(want) == JWS_THUMBPRINT_LEN,
	   "EC key and independent thumbprint from openssl + python3");
	ok(jws_thumbprint(ec, thumb) == 0 && strcmp(thumb, want) == 0,
	   "EC P-256 thumbprint matches the independent computation (%s)", want);
	jwk = jws_jwk(ec);
	ok(jwk && json_object_size(jwk) == 4 &&
	       strcmp(json_string_value(json_object_get(jwk, "crv")), "P-256") == 0 &&
	       strcmp(json_string_value(json_object_get(jwk, "kty")), "EC") == 0 &&
	       strlen(json_string_value(json_object_get(jwk, "x"))) == 43 &&
	       strlen(json_string_value(json_object_get(jwk, "y"))) == 43,
	   "EC JWK has crv, kty and 32-byte x and y (43 characters each)");
	json_decref(jwk);
	ka = jws_key_authorization("tok-EN_123", ec);
	snprintf(want + 64, 64, "tok-EN_123.%s", thumb);
	ok(ka != NULL && strcmp(ka, want + 64) == 0, "key authorization is token.thumbprint");
	free(ka);
	EVP_PKEY_free(ec);

	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ok(jws_jwk(ed) == NULL && jws_thumbprint(ed, thumb) == -1, "Ed25519 is not supported");
	ok(jws_jwk(p384) == NULL && jws_key_authorization("t", p384) == NULL,
	   "P-384 is not supported (the account key is P-256)");
	ok(jws_jwk(NULL) == NULL, "no key, no JWK");
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
}

/* DER of an ECDSA-Sig-Value with the given r and s. */
static size_t make_der(const unsigned char *r, size_t rn, const unsigned char *s, size_t sn,
                       unsigned char *out)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *p = out;
	int len;

	ECDSA_SIG_set0(sig, BN_bin2bn(r, (int)rn, NULL), BN_bin2bn(s, (int)sn, NULL));
	len = i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
	return len > 0 ? (size_t)len : 0;
}

static void test_der_to_raw(void)
{
	unsigned char r[33], s[32], der[160], raw[64];
	size_t n;

	memset(r, 0xab, sizeof(r));
	memset(s, 0xcd, sizeof(s));
	n = make_der(r, 32, s, 32, der);
	ok(jws_ecdsa_der_to_raw(der, n, raw, 32) == 0 && memcmp(raw, r, 32) == 0 &&
	       memcmp(raw + 32, s, 32) == 0,
	   "full-width r and s (DER adds a sign byte) become r || s");
	n = make_der(r, 1, s, 2, der);
	ok(jws_ecdsa_der_to_raw(der, n, raw, 32) == 0 && raw[31] == 0xab && raw[0] == 0 &&
	       raw[30] == 0 && raw[62] == 0xcd && raw[63] == 0xcd && raw[61] == 0,
	   "short r and s are left-padded with zeros to 32 bytes");
	n = make_der(r, 33, s, 32, der);
	ok(jws_ecdsa_der_to_raw(der, n, raw, 32) == -1, "an r longer than 32 bytes is refused");
	n = make_der(r, 32, s, 32, der);
	der[n] = 0;
	ok(jws_ecdsa_der_to_raw(der, n + 1, raw, 32) == -1, "bytes after the DER are refused");
	ok(jws_ecdsa_der_to_raw(der, n - 1, raw, 32) == -1, "truncated DER is refused");
	ok(jws_ecdsa_der_to_raw((const unsigned char *)"\x30\x00", 2, raw, 32) == -1,
	   "an empty SEQUENCE is refused");
}

static json_t *decode_json_b64(const char *b64)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	json_t *j;

	if (b64 == NULL || jws_b64url_decode(b64, strlen(b64), &raw, &n) != 0)
		return NULL;
	j = json_loadb((const char *)raw, n, 0, NULL);
	free(raw);
	return j;
}

/* Verify the JWS signature with OpenSSL: r || s back to DER, then
 * EVP_DigestVerify over "protected.payload". Returns 1 when valid. */
static int verify_jws(EVP_PKEY *key, const char *prot, const char *payload, const char *sig64,
                      unsigned char *der_out, size_t *der_len_out)
{
	unsigned char *raw = NULL, der[128], *p = der;
	size_t raw_len = 0;
	char input[8192];
	EVP_MD_CTX *ctx;
	ECDSA_SIG *sig;
	int len, rc;

	if (jws_b64url_decode(sig64, strlen(sig64), &raw, &raw_len) != 0 || raw_len != 64) {
		free(raw);
		return 0;
	}
	sig = ECDSA_SIG_new();
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	len = i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
	free(raw);
	snprintf(input, sizeof(input), "%s.%s", prot, payload);
	ctx = EVP_MD_CTX_new();
	rc = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, der, (size_t)len, (const unsigned char *)input, strlen(input)) ==
	         1;
	EVP_MD_CTX_free(ctx);
	if (der_out != NULL) {
		memcpy(der_out, der, (size_t)len);
		*der_len_out = (size_t)len;
	}
	return rc;
}

static void write_file(const char *name, const void *data, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fwrite(data, 1, n, f);
	fclose(f);
}

/* The same signature checked by `openssl dgst -verify` on files. */
static int openssl_verifies(EVP_PKEY *key, const char *prot, const char *payload,
                            const unsigned char *der, size_t der_len)
{
	char cmd[512], input[8192], path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	f = fopen(path, "w");
	PEM_write_PUBKEY(f, key);
	fclose(f);
	snprintf(input, sizeof(input), "%s.%s", prot, payload);
	write_file("input", input, strlen(input));
	write_file("sig.der", der, der_len);
	snprintf(cmd, sizeof(cmd),
	         "openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig.der %s/input "
	         ">/dev/null 2>&1",
	         dir, dir, dir);
	return system(cmd) == 0;
}

static void test_sign_jwk(EVP_PKEY *key)
{
	struct error err;
	char *text = jws_sign(key, "https://ca.test/new-acct", "nonce-1", NULL,
	                      "{\"termsOfServiceAgreed\":true}", &err);
	json_t *jws = text ? json_loads(text, 0, NULL) : NULL, *prot, *payload, *jwk;
	const char *p64 = json_string_value(json_object_get(jws, "protected"));
	const char *pl64 = json_string_value(json_object_get(jws, "payload"));
	const char *s64 = json_string_value(json_object_get(jws, "signature"));
	unsigned char der[128];
	size_t der_len = 0;
	char tampered[256];

	ok(jws != NULL && json_object_size(jws) == 3 && p64 && pl64 && s64,
	   "flattened JWS has protected, payload and signature");
	prot = decode_json_b64(p64);
	payload = decode_json_b64(pl64);
	jwk = jws_jwk(key);
	ok(prot && strcmp(json_string_value(json_object_get(prot, "alg")), "ES256") == 0 &&
	       strcmp(json_string_value(json_object_get(prot, "nonce")), "nonce-1") == 0 &&
	       strcmp(json_string_value(json_object_get(prot, "url")),
	              "https://ca.test/new-acct") == 0,
	   "protected header: alg ES256, the nonce and the url");
	ok(prot && json_equal(json_object_get(prot, "jwk"), jwk) &&
	       json_object_get(prot, "kid") == NULL && json_object_size(prot) == 4,
	   "without a kid the header carries the jwk (and no kid)");
	ok(payload && json_is_true(json_object_get(payload, "termsOfServiceAgreed")),
	   "payload is the base64url of the JSON body");
	ok(s64 && strlen(s64) == 86, "signature is 64 bytes (86 base64url characters)");
	ok(p64 && verify_jws(key, p64, pl64, s64, der, &der_len),
	   "signature verifies with EVP_DigestVerify (r || s converted back to DER)");
	ok(p64 && openssl_verifies(key, p64, pl64, der, der_len),
	   "signature verifies with openssl dgst -verify");
	snprintf(tampered, sizeof(tampered), "%sx", pl64 ? pl64 : "");
	ok(p64 && !verify_jws(key, p64, tampered, s64, NULL, NULL),
	   "a changed payload does not verify (the check can fail)");
	json_decref(prot);
	json_decref(payload);
	json_decref(jwk);
	json_decref(jws);
	free(text);
}

static void test_sign_kid(EVP_PKEY *key)
{
	struct error err;
	char *text =
	    jws_sign(key, "https://ca.test/order/1", "n2", "https://ca.test/acct/7", NULL, &err);
	json_t *jws = text ? json_loads(text, 0, NULL) : NULL, *prot;
	const char *p64 = json_string_value(json_object_get(jws, "protected"));
	const char *pl64 = json_string_value(json_object_get(jws, "payload"));
	const char *s64 = json_string_value(json_object_get(jws, "signature"));
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	prot = decode_json_b64(p64);
	ok(prot &&
	       strcmp(json_string_value(json_object_get(prot, "kid")), "https://ca.test/acct/7") ==
	           0 &&
	       json_object_get(prot, "jwk") == NULL,
	   "with a kid the header carries the kid and no jwk");
	ok(pl64 && pl64[0] == '\0', "POST-as-GET has an empty payload");
	ok(p64 && verify_jws(key, p64, pl64, s64, NULL, NULL), "POST-as-GET signature verifies");
	ok(p64 && !verify_jws(other, p64, pl64, s64, NULL, NULL), "another key does not verify it");
	json_decref(prot);
	json_decref(jws);
	free(text);
	EVP_PKEY_free(other);
}

/* 500 signatures: about 1 in 128 has an r or s with a leading zero byte,
 * which must still be padded to 32 bytes and verify. */
static void test_sign_many(EVP_PKEY *key)
{
	int good = 0, padded = 0;
	struct error err;
	char nonce[32];

	for (int i = 0; i < 500; i++) {
		char *text;
		json_t *jws;
		unsigned char *raw = NULL;
		size_t raw_len = 0;
		const char *s64;

		snprintf(nonce, sizeof(nonce), "n%d", i);
		text = jws_sign(key, "https://ca.test/x", nonce, "k", "{}", &err);
		jws = text ? json_loads(text, 0, NULL) : NULL;
		s64 = json_string_value(json_object_get(jws, "signature"));
		if (s64 &&
		    verify_jws(key, json_string_value(json_object_get(jws, "protected")),
		               json_string_value(json_object_get(jws, "payload")), s64, NULL, NULL))
			good++;
		if (s64 && jws_b64url_decode(s64, strlen(s64), &raw, &raw_len) == 0 &&
		    raw_len == 64 && (raw[0] == 0 || raw[32] == 0))
			padded++;
		free(raw);
		json_decref(jws);
		free(text);
	}
	ok(good == 500,
	   "500 signatures with different nonces all verify (%d did, %d had a "
	   "zero-padded coordinate)",
	   good, padded);
}

static void test_sign_errors(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct error err;

	error_clear(&err);
	ok(jws_sign(rsa, "https://x/", "n", NULL, "{}", &err) == NULL &&
	       strcmp(err.code, "acme_jws") == 0,
	   "an RSA key is refused with acme_jws");
	ok(jws_sign(NULL, "https://x/", "n", NULL, "{}", &err) == NULL, "no key is refused");
	ok(jws_sign(ec, "https://x/", NULL, NULL, "{}", &err) == NULL, "no nonce is refused");
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

int main(void)
{
	EVP_PKEY *key;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test-jws-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_base64url();
	test_thumbprint();
	test_der_to_raw();
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	test_sign_jwk(key);
	test_sign_many(key);
	test_sign_kid(key);
	test_sign_errors();
	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		perror("rm");
	return done_testing();
}
