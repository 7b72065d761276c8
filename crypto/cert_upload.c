/* Validation of a user-provided certificate, key and CA certificates
 * (SPEC section 3). Each PEM block is read on its own so every failure can
 * name the field and say what is wrong with it; key blocks are read into
 * OpenSSL secure memory and wiped before they are released. */
#include "crypto/cert.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/secret.h"

/* Far more than any real chain; bounds the quadratic chain search. */
#define UPLOAD_MAX_CERTS 32

enum upload_field {
	FIELD_CERT,
	FIELD_KEY,
	FIELD_CA,
	FIELD_MAX
};

static const char *const field_names[FIELD_MAX] = {
	[FIELD_CERT] = "certificate",
	[FIELD_KEY] = "private_key",
	[FIELD_CA] = "ca_certificate",
};

struct pem_block {
	char *name;
	char *header;
	unsigned char *data;
	long len;
	int secure;
};

/* The certificates of an upload: [0] is the leaf, then the rest of the
 * certificate field (n_cert_field in all), then the CA field. */
struct upload_certs {
	X509 *certs[UPLOAD_MAX_CERTS];
	size_t n;
	size_t n_cert_field;
	int used[UPLOAD_MAX_CERTS];
};

static int is_blank(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return 1;
	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A user-chosen block name, made safe to put in a message. */
static void safe_text(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < n; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"') ? in[i] : '?';
	out[i] = '\0';
}

static void block_free(struct pem_block *b)
{
	if (b->secure) {
		if (b->data != NULL)
			secret_wipe(b->data, (size_t)b->len);
		OPENSSL_secure_clear_free(b->data, (size_t)b->len);
		OPENSSL_secure_free(b->name);
		OPENSSL_secure_free(b->header);
	} else {
		OPENSSL_free(b->data);
		OPENSSL_free(b->name);
		OPENSSL_free(b->header);
	}
	memset(b, 0, sizeof(*b));
}

static void report_pem_error(enum upload_field f, int index, unsigned long e, struct error *err)
{
	const char *fn = field_names[f];

	switch (ERR_GET_REASON(e)) {
	case PEM_R_BAD_BASE64_DECODE:
		error_set(err, "invalid_pem",
			  "The %s field: PEM block %d is not valid base64; copy the whole block "
			  "again, from its BEGIN line to its END line, without changes.",
			  fn, index);
		break;
	case PEM_R_BAD_END_LINE:
	case PEM_R_SHORT_HEADER:
		error_set(err, "invalid_pem",
			  "The %s field: PEM block %d has no matching -----END ...----- line "
			  "(the text looks cut off); paste the complete block.",
			  fn, index);
		break;
	default:
		error_set(err, "invalid_pem",
			  "The %s field: PEM block %d is malformed (BEGIN/END lines or "
			  "headers); paste the block exactly as the file has it.",
			  fn, index);
		break;
	}
}

/* Read the next PEM block of field f from bio. Returns 1 with *b filled
 * (release with block_free), 0 when no block is left, -1 with err. */
static int next_block(BIO *bio, enum upload_field f, int index, struct pem_block *b,
		      struct error *err)
{
	unsigned int flags = PEM_FLAG_EAY_COMPATIBLE;
	unsigned long e;
	int rc;

	memset(b, 0, sizeof(*b));
	b->secure = (f == FIELD_KEY);
	if (b->secure)
		flags |= PEM_FLAG_SECURE;
	ERR_set_mark();
	rc = PEM_read_bio_ex(bio, &b->name, &b->header, &b->data, &b->len, flags);
	e = ERR_peek_last_error();
	ERR_pop_to_mark();
	if (rc == 1 && b->len > 0)
		return 1;
	if (rc == 1) {
		block_free(b);
		error_set(err, "invalid_pem", "The %s field: PEM block %d is empty; paste the "
			  "complete block.", field_names[f], index);
		return -1;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		if (index > 1)
			return 0;
		error_set(err, "invalid_pem",
			  "The %s field holds no PEM block; paste the text including the "
			  "-----BEGIN ...----- and -----END ...----- lines.",
			  field_names[f]);
		return -1;
	}
	report_pem_error(f, index, e, err);
	return -1;
}

static void wrong_block(enum upload_field f, int index, const char *name, const char *expected,
			struct error *err)
{
	char safe[48];

	safe_text(name, safe, sizeof(safe));
	if (strstr(name, "PRIVATE KEY") != NULL && f != FIELD_KEY)
		error_set(err, "invalid_pem",
			  "The %s field holds a private key (PEM block %d); paste the "
			  "private key in the private_key field and only %s blocks here.",
			  field_names[f], index, expected);
	else if (strcmp(name, "CERTIFICATE") == 0)
		error_set(err, "invalid_pem",
			  "The %s field holds a certificate (PEM block %d); paste certificates "
			  "in the certificate or ca_certificate field and the %s here.",
			  field_names[f], index, expected);
	else if (strstr(name, "PRIVATE KEY") != NULL)
		error_set(err, "unsupported_key",
			  "The %s field: PEM block %d is a kind of private key postern does not "
			  "take; use ECDSA (P-256, P-384, P-521), RSA (2048 bits or more) or Ed25519.",
			  field_names[f], index);
	else
		error_set(err, "invalid_pem",
			  "The %s field: PEM block %d is a \"%s\" block, but a %s block is "
			  "expected here.",
			  field_names[f], index, safe, expected);
}

/* DER of one certificate; NULL unless all of it parses. */
static X509 *decode_cert(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	X509 *x;

	ERR_set_mark();
	x = d2i_X509(NULL, &p, len);
	ERR_pop_to_mark();
	if (x != NULL && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int add_cert_block(struct upload_certs *uc, enum upload_field f, int index,
			  const struct pem_block *b, struct error *err)
{
	X509 *x;

	if (strcmp(b->name, PEM_STRING_X509) != 0 && strcmp(b->name, PEM_STRING_X509_OLD) != 0) {
		wrong_block(f, index, b->name, "CERTIFICATE", err);
		return -1;
	}
	if (uc->n == UPLOAD_MAX_CERTS) {
		error_set(err, "invalid_pem",
			  "The %s field: too many certificates (at most %d in all); paste only "
			  "the certificate and its chain.", field_names[f], UPLOAD_MAX_CERTS);
		return -1;
	}
	x = decode_cert(b->data, b->len);
	if (x == NULL) {
		error_set(err, "invalid_pem",
			  "The %s field: PEM block %d is not a valid X.509 certificate (its "
			  "content does not parse); paste the certificate file unchanged.",
			  field_names[f], index);
		return -1;
	}
	uc->certs[uc->n++] = x;
	return 0;
}

/* Read every certificate of the certificate or CA field into uc. */
static int read_certs(enum upload_field f, const char *pem, size_t len, struct upload_certs *uc,
		      struct error *err)
{
	struct pem_block b;
	BIO *bio;
	int index, rc = 0;

	if (is_blank(pem, len)) {
		if (f == FIELD_CA)
			return 0;
		error_set(err, "invalid_pem", "The certificate field is empty; paste the server "
			  "certificate in PEM form (-----BEGIN CERTIFICATE-----).");
		return -1;
	}
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		error_set(err, "invalid_pem", "The %s field is too large.", field_names[f]);
		return -1;
	}
	for (index = 1; rc == 0; index++) {
		rc = next_block(bio, f, index, &b, err);
		if (rc <= 0)
			break;
		rc = add_cert_block(uc, f, index, &b, err);
		block_free(&b);
	}
	BIO_free(bio);
	return rc;
}

/* A PKCS#8 block that holds EncryptedPrivateKeyInfo under a plain label. */
static int is_encrypted_pkcs8(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	X509_SIG *sig;
	int yes;

	ERR_set_mark();
	sig = d2i_X509_SIG(NULL, &p, len);
	ERR_pop_to_mark();
	yes = sig != NULL && p == der + len;
	X509_SIG_free(sig);
	return yes;
}

/* Decode a PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block. */
static EVP_PKEY *decode_key(const struct pem_block *b)
{
	const unsigned char *p = b->data;
	EVP_PKEY *key;
	int type;

	if (strcmp(b->name, PEM_STRING_PKCS8INF) == 0)
		return cert_codec_key_from_der(b->data, (size_t)b->len);
	type = strcmp(b->name, PEM_STRING_ECPRIVATEKEY) == 0 ? EVP_PKEY_EC : EVP_PKEY_RSA;
	ERR_set_mark();
	key = d2i_PrivateKey(type, NULL, &p, b->len);
	ERR_pop_to_mark();
	if (key != NULL && (p != b->data + b->len || EVP_PKEY_get_base_id(key) != type)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

static int encrypted_key(struct error *err)
{
	error_set(err, "encrypted_key",
		  "The private_key field holds a passphrase-protected key; decrypt it first "
		  "(openssl pkey -in key.pem -out key-plain.pem) and paste the result.");
	return -1;
}

/* Handle one block of the key field: a key goes to *key, EC PARAMETERS
 * (as `openssl ecparam -genkey` writes them) are skipped. */
static int key_block(const struct pem_block *b, int index, EVP_PKEY **key, struct error *err)
{
	const char *n = b->name;

	if (strcmp(n, PEM_STRING_PKCS8) == 0 ||
	    (b->header != NULL && strstr(b->header, "Proc-Type:") != NULL &&
	     strstr(b->header, "ENCRYPTED") != NULL))
		return encrypted_key(err);
	if (strcmp(n, PEM_STRING_ECPARAMETERS) == 0)
		return 0;
	if (strcmp(n, PEM_STRING_PKCS8INF) != 0 && strcmp(n, PEM_STRING_ECPRIVATEKEY) != 0 &&
	    strcmp(n, PEM_STRING_RSA) != 0) {
		/* never echo key labels: responses must not carry the words */
		wrong_block(FIELD_KEY, index, n, "private key (PKCS#8, EC or RSA)", err);
		return -1;
	}
	if (*key != NULL) {
		error_set(err, "invalid_pem", "The private_key field holds more than one private "
			  "key; paste only the key of the certificate.");
		return -1;
	}
	/* Encrypted PKCS#8 under a plain label: refuse it before any decoder
	 * could look for a passphrase. */
	if (is_encrypted_pkcs8(b->data, b->len))
		return encrypted_key(err);
	*key = decode_key(b);
	if (*key != NULL)
		return 0;
	error_set(err, "invalid_pem",
		  "The private_key field: PEM block %d is not a valid private key (its content "
		  "does not parse); paste the key file unchanged.", index);
	return -1;
}

static int read_key(const char *pem, size_t len, EVP_PKEY **key, struct error *err)
{
	struct pem_block b;
	BIO *bio;
	int index, rc = 0;

	if (is_blank(pem, len)) {
		error_set(err, "invalid_pem", "The private_key field is empty; paste the private "
			  "key in PEM form, as openssl writes it.");
		return -1;
	}
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		error_set(err, "invalid_pem", "The private_key field is too large.");
		return -1;
	}
	for (index = 1; rc == 0; index++) {
		rc = next_block(bio, FIELD_KEY, index, &b, err);
		if (rc <= 0)
			break;
		rc = key_block(&b, index, key, err);
		block_free(&b);
	}
	BIO_free(bio);
	if (rc == 0 && *key == NULL) {
		error_set(err, "invalid_pem", "The private_key field holds no private key PEM "
			  "block; paste the key of the certificate.");
		rc = -1;
	}
	return rc;
}

/* RSA >= 2048, ECDSA P-256/P-384/P-521 and Ed25519 are served. */
static int check_key_type(EVP_PKEY *key, struct error *err)
{
	char group[64];
	int nid;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(key) >= 2048)
			return 0;
		error_set(err, "unsupported_key",
			  "The private key is RSA %d bits; use at least RSA 2048 bits or "
			  "ECDSA P-256.", EVP_PKEY_get_bits(key));
		return -1;
	case EVP_PKEY_EC:
		nid = NID_undef;
		if (EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1)
			nid = OBJ_txt2nid(group);
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1)
			return 0;
		error_set(err, "unsupported_key",
			  "The private key uses an elliptic curve other than P-256, P-384 or "
			  "P-521; make a new key on P-256.");
		return -1;
	case EVP_PKEY_ED25519:
		return 0;
	default:
		error_set(err, "unsupported_key",
			  "The private key type (%s) is not supported; use ECDSA P-256, P-384 or "
			  "P-521, RSA 2048 bits or more, or Ed25519.",
			  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown");
		return -1;
	}
}

static int check_key_matches(const struct upload_certs *uc, EVP_PKEY *key, struct error *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(uc->certs[0]);
	size_t i;

	if (pub == NULL) {
		error_set(err, "unsupported_key", "The certificate's public key type is not "
			  "supported; use an ECDSA, RSA or Ed25519 certificate.");
		return -1;
	}
	if (EVP_PKEY_eq(pub, key) == 1)
		return 0;
	for (i = 1; i < uc->n_cert_field; i++) {
		pub = X509_get0_pubkey(uc->certs[i]);
		if (pub != NULL && EVP_PKEY_eq(pub, key) == 1) {
			error_set(err, "key_mismatch",
				  "The private key belongs to certificate %zu of the certificate "
				  "field, not to the first one; put the server certificate first "
				  "and its chain after it.", i + 1);
			return -1;
		}
	}
	error_set(err, "key_mismatch", "The private key does not belong to the certificate; "
		  "paste the key that was made together with this certificate.");
	return -1;
}

/* 1 when issuer signed subject (names, key identifiers, signature). */
static int issued_by(X509 *subject, X509 *issuer)
{
	EVP_PKEY *pub;
	int yes;

	if (X509_check_issued(issuer, subject) != X509_V_OK)
		return 0;
	pub = X509_get0_pubkey(issuer);
	if (pub == NULL)
		return 0;
	ERR_set_mark();
	yes = X509_verify(subject, pub) == 1;
	ERR_pop_to_mark();
	return yes;
}

static int self_signed(X509 *x)
{
	int yes;

	ERR_set_mark();
	yes = X509_self_signed(x, 1) == 1;
	ERR_pop_to_mark();
	return yes;
}

/* The unused certificate that issued cur, preferring an intermediate over
 * a self-signed root (a cross-signed and a self-signed root may both
 * verify). Returns its index or -1. */
static int find_issuer(const struct upload_certs *uc, X509 *cur)
{
	int pass;
	size_t i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 1; i < uc->n; i++) {
			if (uc->used[i] || self_signed(uc->certs[i]) != pass)
				continue;
			if (issued_by(cur, uc->certs[i]))
				return (int)i;
		}
	}
	return -1;
}

/* 1 when the unused certificate x is redundant: a copy of a certificate
 * on the path, or another issuer of one of them (an alternative root). */
static int redundant(const struct upload_certs *uc, X509 *x, STACK_OF(X509) *path)
{
	int i;

	for (i = -1; i < sk_X509_num(path); i++) {
		X509 *p = i < 0 ? uc->certs[0] : sk_X509_value(path, i);

		if (X509_cmp(x, p) == 0 || issued_by(p, x))
			return 1;
	}
	return 0;
}

static void chain_mismatch(const struct upload_certs *uc, size_t i, struct error *err)
{
	char cn[128] = "", safe[128];
	int from_ca = i >= uc->n_cert_field;

	X509_NAME_get_text_by_NID(X509_get_subject_name(uc->certs[i]), NID_commonName, cn,
				  sizeof(cn));
	safe_text(cn, safe, sizeof(safe));
	error_set(err, "chain_mismatch",
		  "The %s field holds a certificate (CN \"%s\") that did not issue the "
		  "certificate or any certificate of its chain; %s.",
		  field_names[from_ca ? FIELD_CA : FIELD_CERT], safe,
		  from_ca ? "paste the CA certificate that issued the certificate (or add "
				    "the missing intermediate)"
			  : "paste the server certificate followed only by its own chain");
}

/* Order the candidates into leaf <- intermediate <- ... and refuse any
 * that does not fit. The self-signed root ends the path and is dropped. */
static int build_chain(struct upload_certs *uc, STACK_OF(X509) *chain, struct error *err)
{
	X509 *cur = uc->certs[0];
	size_t i;
	int next;

	while ((next = find_issuer(uc, cur)) >= 0) {
		uc->used[next] = 1;
		if (self_signed(uc->certs[next]))
			break;
		if (X509_up_ref(uc->certs[next]) != 1)
			goto nomem;
		if (sk_X509_push(chain, uc->certs[next]) <= 0) {
			X509_free(uc->certs[next]);
			goto nomem;
		}
		cur = uc->certs[next];
	}
	for (i = 1; i < uc->n; i++) {
		if (!uc->used[i] && !redundant(uc, uc->certs[i], chain)) {
			chain_mismatch(uc, i, err);
			return -1;
		}
	}
	return 0;
nomem:
	error_set(err, "internal", "Out of memory while ordering the chain.");
	return -1;
}

void cert_bundle_free(struct cert_bundle *b)
{
	if (b == NULL)
		return;
	X509_free(b->leaf);
	sk_X509_pop_free(b->chain, X509_free);
	EVP_PKEY_free(b->key);
	memset(b, 0, sizeof(*b));
}

static int read_all(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
		    const char *ca_pem, size_t ca_len, struct upload_certs *uc, EVP_PKEY **key,
		    struct error *err)
{
	if (read_certs(FIELD_CERT, cert_pem, cert_len, uc, err) < 0)
		return -1;
	uc->n_cert_field = uc->n;
	if (read_key(key_pem, key_len, key, err) < 0)
		return -1;
	if (read_certs(FIELD_CA, ca_pem, ca_len, uc, err) < 0)
		return -1;
	if (check_key_type(*key, err) < 0 || check_key_matches(uc, *key, err) < 0)
		return -1;
	return 0;
}

int cert_upload_parse(const char *cert_pem, size_t cert_len,
		      const char *key_pem, size_t key_len,
		      const char *ca_pem, size_t ca_len,
		      struct cert_bundle *out, struct error *err)
{
	struct upload_certs uc;
	EVP_PKEY *key = NULL;
	STACK_OF(X509) *chain = NULL;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&uc, 0, sizeof(uc));
	/* Rejected input leaves nothing on the caller's OpenSSL error queue. */
	ERR_set_mark();
	if (read_all(cert_pem, cert_len, key_pem, key_len, ca_pem, ca_len, &uc, &key, err) < 0)
		goto out;
	chain = sk_X509_new_null();
	if (chain == NULL) {
		error_set(err, "internal", "Out of memory while reading the upload.");
		goto out;
	}
	if (build_chain(&uc, chain, err) < 0)
		goto out;
	out->leaf = uc.certs[0];
	uc.certs[0] = NULL;
	out->chain = chain;
	chain = NULL;
	out->key = key;
	key = NULL;
	rc = 0;
out:
	for (i = 0; i < uc.n; i++)
		X509_free(uc.certs[i]);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	ERR_pop_to_mark();
	return rc;
}
