/* The certificate toolkit: upload validation (every error code), chain
 * ordering, inspection, name matching, status rules, the test CA and its
 * leaves (checked by `openssl verify`), CSRs (checked by `openssl req`) and
 * the store codec. Every certificate and key is made here with OpenSSL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"
#include "crypto/secret.h"
#include "tests/unit/tap.h"

#define DAY (24L * 3600)

static char dir[64];
static time_t now;

/* ---- building inputs ---- */

struct mk {
	const char *cn;
	const char *org;
	const char *const *sans;
	size_t n_sans;
	X509 *issuer;         /* NULL: self-signed */
	EVP_PKEY *issuer_key; /* NULL: self-signed */
	int ca;
	time_t not_before;    /* 0: now - 1 day */
	time_t not_after;     /* 0: now + 90 days */
};

static EVP_PKEY *ec_key(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static EVP_PKEY *rsa_key(size_t bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

static void add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key as m says; no key identifiers, so an issuer is
 * found by name and signature only. */
static X509 *mk_cert(EVP_PKEY *key, const struct mk *m)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	EVP_PKEY *signer = m->issuer_key ? m->issuer_key : key;
	char san[512] = "";
	size_t i;
	int id = EVP_PKEY_get_base_id(signer);

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	ASN1_TIME_set(X509_getm_notBefore(x), m->not_before ? m->not_before : now - DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), m->not_after ? m->not_after : now + 90 * DAY);
	X509_set_pubkey(x, key);
	if (m->cn)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)m->cn,
					   -1, -1, 0);
	if (m->org)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)m->org,
					   -1, -1, 0);
	X509_set_issuer_name(x, m->issuer ? X509_get_subject_name(m->issuer) : name);
	add_ext(m->issuer ? m->issuer : x, x, NID_basic_constraints,
		m->ca ? "critical,CA:TRUE" : "CA:FALSE");
	for (i = 0; i < m->n_sans; i++)
		snprintf(san + strlen(san), sizeof(san) - strlen(san), "%s%s", i ? "," : "",
			 m->sans[i]);
	if (m->n_sans)
		add_ext(x, x, NID_subject_alt_name, san);
	X509_sign(x, signer, (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL
									       : EVP_sha256());
	return x;
}

/* Growable PEM text in a static ring of buffers (freed at exit). */
static char *pem_bufs[512];
static size_t n_pem_bufs;

static char *bio_text(BIO *bio)
{
	char *data = NULL, *out;
	long len = BIO_get_mem_data(bio, &data);

	out = calloc(1, (size_t)len + 1);
	memcpy(out, data, (size_t)len);
	BIO_free(bio);
	if (n_pem_bufs < sizeof(pem_bufs) / sizeof(pem_bufs[0]))
		pem_bufs[n_pem_bufs++] = out;
	return out;
}

/* PEM of a NULL-terminated list of certificates, in that order. */
static char *certs_pem(X509 *const *list)
{
	BIO *bio = BIO_new(BIO_s_mem());

	while (*list)
		PEM_write_bio_X509(bio, *list++);
	return bio_text(bio);
}

#define PEM(...) certs_pem((X509 *[]){ __VA_ARGS__, NULL })

enum key_form {
	KEY_PKCS8,
	KEY_TRADITIONAL,
	KEY_PKCS8_ENCRYPTED,
	KEY_TRADITIONAL_ENCRYPTED,
	KEY_FORM_MAX
};

static char *key_pem(EVP_PKEY *key, enum key_form form)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char pass[] = "secret";

	switch (form) {
	case KEY_PKCS8:
		PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case KEY_TRADITIONAL:
		PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case KEY_PKCS8_ENCRYPTED:
		PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_128_cbc(), pass, 6, NULL, NULL);
		break;
	default:
		PEM_write_bio_PrivateKey_traditional(bio, key, EVP_aes_128_cbc(),
						     (unsigned char *)pass, 6, NULL, NULL);
		break;
	}
	return bio_text(bio);
}

/* Run cert_upload_parse on NUL-terminated texts (ca may be NULL). */
static int upload(const char *cert, const char *key, const char *ca, struct cert_bundle *b,
		  struct error *err)
{
	error_clear(err);
	return cert_upload_parse(cert, cert ? strlen(cert) : 0, key, key ? strlen(key) : 0, ca,
				 ca ? strlen(ca) : 0, b, err);
}

/* 1 when the upload fails with code and a message that names field. */
static int upload_fails(const char *cert, const char *key, const char *ca, const char *code,
			const char *field)
{
	struct cert_bundle b;
	struct error err;
	int rc = upload(cert, key, ca, &b, &err);
	int good = rc == -1 && strcmp(err.code, code) == 0 && b.leaf == NULL && b.key == NULL &&
		   b.chain == NULL && (field == NULL || strstr(err.message, field) != NULL);

	if (getenv("SHOWMSG") || !good)
		printf("#   rc %d code \"%s\" message \"%s\"\n", rc, err.code, err.message);
	cert_bundle_free(&b);
	return good;
}

/* 1 when the upload succeeds and its chain is exactly want (n long). */
static int upload_chain_is(const char *cert, const char *key, const char *ca, X509 *leaf,
			   X509 *const *want, int n)
{
	struct cert_bundle b;
	struct error err;
	int i, good;

	if (upload(cert, key, ca, &b, &err) < 0) {
		printf("#   code \"%s\" message \"%s\"\n", err.code, err.message);
		return 0;
	}
	good = X509_cmp(b.leaf, leaf) == 0 && b.key != NULL && sk_X509_num(b.chain) == n;
	for (i = 0; good && i < n; i++)
		good = X509_cmp(sk_X509_value(b.chain, i), want[i]) == 0;
	cert_bundle_free(&b);
	return good;
}

static int run(const char *cmd)
{
	char full[1024];

	snprintf(full, sizeof(full), "cd %s && %s >/dev/null 2>&1", dir, cmd);
	return system(full);
}

static void write_text(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* ---- the tests ---- */

/* A small CA hierarchy: root <- inter <- leaf, plus strangers. */
static EVP_PKEY *root_key, *inter_key, *leaf_key, *other_key;
static X509 *root, *inter, *leaf;

static void make_hierarchy(void)
{
	static const char *const sans[] = { "DNS:www.example.com", "DNS:API.Example.com" };
	struct mk m = { 0 };

	root_key = ec_key("P-256");
	inter_key = ec_key("P-256");
	leaf_key = ec_key("P-256");
	other_key = ec_key("P-256");
	m.cn = "Test Root";
	m.ca = 1;
	root = mk_cert(root_key, &m);
	m.cn = "Test Intermediate";
	m.issuer = root;
	m.issuer_key = root_key;
	inter = mk_cert(inter_key, &m);
	memset(&m, 0, sizeof(m));
	m.cn = "www.example.com";
	m.sans = sans;
	m.n_sans = 2;
	m.issuer = inter;
	m.issuer_key = inter_key;
	leaf = mk_cert(leaf_key, &m);
}

struct chain_case {
	X509 *cert[5];  /* certificate field, leaf first */
	X509 *ca[4];    /* ca_certificate field */
	X509 *want[3];  /* the chain expected, or */
	const char *field; /* the field a chain_mismatch names */
	const char *what;
};

static void check_chain_case(const struct chain_case *c, EVP_PKEY *key)
{
	const char *cert = certs_pem(c->cert), *ca = c->ca[0] ? certs_pem(c->ca) : NULL;
	int n = 0;

	while (n < 3 && c->want[n])
		n++;
	if (c->field)
		ok(upload_fails(cert, key_pem(key, KEY_PKCS8), ca, "chain_mismatch", c->field),
		   "%s", c->what);
	else
		ok(upload_chain_is(cert, key_pem(key, KEY_PKCS8), ca, c->cert[0], c->want, n), "%s",
		   c->what);
}

static void test_upload_chains(void)
{
	struct mk m = { .cn = "Second Intermediate", .ca = 1, .issuer = inter,
			.issuer_key = inter_key };
	EVP_PKEY *k2 = ec_key("P-256"), *k3 = ec_key("P-256");
	X509 *inter2 = mk_cert(k2, &m), *leaf2, *stranger, *forged;
	size_t i;

	m = (struct mk){ .cn = "two.example.com", .issuer = inter2, .issuer_key = k2 };
	leaf2 = mk_cert(k3, &m);
	m = (struct mk){ .cn = "Unrelated CA", .ca = 1 };
	stranger = mk_cert(other_key, &m);
	/* Same name as the intermediate, another key: only the signature tells. */
	m.cn = "Test Intermediate";
	forged = mk_cert(k2, &m);
	{
		const struct chain_case one[] = {
			{ { leaf }, { 0 }, { 0 }, NULL, "leaf alone: empty chain" },
			{ { leaf, inter }, { 0 }, { inter }, NULL, "leaf + intermediate" },
			{ { leaf }, { inter }, { inter }, NULL, "intermediate in the CA field" },
			{ { leaf, inter, root }, { 0 }, { inter }, NULL,
			  "self-signed root at the end of the chain is dropped" },
			{ { leaf, root, inter }, { 0 }, { inter }, NULL,
			  "root before intermediate is reordered (root dropped)" },
			{ { leaf }, { root, inter }, { inter }, NULL,
			  "reversed CA field (root, intermediate) is reordered" },
			{ { leaf, inter }, { inter, root }, { inter }, NULL,
			  "an intermediate given in both fields is kept once" },
			{ { leaf }, { leaf, inter }, { inter }, NULL,
			  "the leaf repeated in the CA field is ignored" },
			{ { leaf }, { stranger }, { 0 }, "ca_certificate",
			  "an unrelated CA certificate is chain_mismatch naming ca_certificate" },
			{ { leaf, stranger }, { 0 }, { 0 }, "certificate field",
			  "an unrelated certificate after the leaf is chain_mismatch" },
			{ { leaf }, { root }, { 0 }, "ca_certificate",
			  "a root that did not issue the leaf (no intermediate): chain_mismatch" },
			{ { leaf }, { forged }, { 0 }, "Test Intermediate",
			  "a CA with the issuer's name but another key fails the signature check" },
			{ { leaf, inter }, { stranger }, { 0 }, "Unrelated CA",
			  "a valid chain plus an unrelated CA is still chain_mismatch" },
		};
		const struct chain_case two[] = {
			{ { leaf2, root, inter, inter2 }, { 0 }, { inter2, inter }, NULL,
			  "leaf, root, inter, inter2 is ordered leaf <- inter2 <- inter" },
			{ { leaf2 }, { inter, inter2 }, { inter2, inter }, NULL,
			  "two intermediates in the CA field in reverse order are reordered" },
			{ { leaf2, inter }, { 0 }, { 0 }, "certificate",
			  "a chain with a missing middle link is chain_mismatch" },
		};

		for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
			check_chain_case(&one[i], leaf_key);
		for (i = 0; i < sizeof(two) / sizeof(two[0]); i++)
			check_chain_case(&two[i], k3);
	}
	X509_free(inter2);
	X509_free(leaf2);
	X509_free(stranger);
	X509_free(forged);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

/* a + b + c as one string, kept until exit. */
static const char *cat3(const char *a, const char *b, const char *c)
{
	BIO *bio = BIO_new(BIO_s_mem());

	BIO_printf(bio, "%s%s%s", a, b, c);
	return bio_text(bio);
}

/* s with its first len bytes only, kept until exit. */
static const char *cut(const char *s, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());

	BIO_write(bio, s, (int)len);
	return bio_text(bio);
}

/* DER in a PEM block named label, kept until exit. */
static const char *armoured(const char *label, const unsigned char *der, long len)
{
	BIO *pem = BIO_new(BIO_s_mem());

	PEM_write_bio(pem, label, "", der, len);
	return bio_text(pem);
}

/* The encrypted PKCS#8 DER of key under a plain "PRIVATE KEY" label. */
static const char *mislabelled_encrypted(EVP_PKEY *key)
{
	BIO *der = BIO_new(BIO_s_mem());
	unsigned char *data = NULL;
	long len;
	const char *out;

	i2d_PKCS8PrivateKey_bio(der, key, EVP_aes_128_cbc(), "pw", 2, NULL, NULL);
	len = BIO_get_mem_data(der, &data);
	out = armoured("PRIVATE KEY", data, len);
	BIO_free(der);
	return out;
}

/* The leaf's DER plus one stray byte, as a CERTIFICATE block. */
static const char *leaf_with_trailing_byte(void)
{
	unsigned char buf[4096], *p = buf;
	int len = i2d_X509(leaf, &p);

	buf[len] = 0;
	return armoured("CERTIFICATE", buf, len + 1);
}

#define ARMOUR(label, b64) "-----BEGIN " label "-----\n" b64 "\n-----END " label "-----\n"

static void test_upload_errors(void)
{
	const char *cert = PEM(leaf), *key = key_pem(leaf_key, KEY_PKCS8);
	const char *enc = key_pem(leaf_key, KEY_TRADITIONAL_ENCRYPTED);
	const struct {
		const char *cert, *key, *ca, *code, *field, *what;
	} cases[] = {
		{ "", key, NULL, "invalid_pem", "certificate", "empty certificate" },
		{ NULL, key, NULL, "invalid_pem", "certificate", "NULL certificate" },
		{ " \n\t\n", key, NULL, "invalid_pem", "certificate", "whitespace certificate" },
		{ cert, "", NULL, "invalid_pem", "private_key", "empty private key" },
		{ "just text\n", key, NULL, "invalid_pem", "BEGIN", "text without a PEM block" },
		{ cut(cert, strlen(cert) / 2), key, NULL, "invalid_pem", "certificate",
		  "truncated certificate" },
		{ cert, cut(key, strlen(key) - 30), NULL, "invalid_pem", "private_key",
		  "truncated key" },
		{ ARMOUR("CERTIFICATE", "MIIB!!not*base64@@"), key, NULL, "invalid_pem", "base64",
		  "bad base64 inside the armour" },
		{ ARMOUR("CERTIFICATE", "AAECAwQFBgcICQ=="), key, NULL, "invalid_pem", "X.509",
		  "garbage DER inside valid armour" },
		{ leaf_with_trailing_byte(), key, NULL, "invalid_pem", "X.509",
		  "a certificate DER with a trailing byte" },
		{ ARMOUR("CERTIFICATE", ""), key, NULL, "invalid_pem", "certificate",
		  "an empty CERTIFICATE block" },
		{ cat3(cert, ARMOUR("CERTIFICATE", "AAECAwQFBgcICQ=="), ""), key, NULL,
		  "invalid_pem", "block 2", "garbage DER in the second block names the block" },
		{ cert, ARMOUR("PRIVATE KEY", "AAECAwQFBgcICQ=="), NULL, "invalid_pem",
		  "private_key", "garbage DER in a PRIVATE KEY block" },
		{ cert, ARMOUR("EC PRIVATE KEY", "AAECAwQFBgcICQ=="), NULL, "invalid_pem",
		  "not a valid private key", "garbage DER in an EC PRIVATE KEY block" },
		{ cert, ARMOUR("PUBLIC KEY", "AAECAwQFBgcICQ=="), NULL, "invalid_pem", "PUBLIC KEY",
		  "a public key in the private_key field" },
		{ key, key, NULL, "invalid_pem", "private key", "a key in the certificate field" },
		{ cert, cert, NULL, "invalid_pem", "private_key",
		  "a certificate in the private_key field" },
		{ cert, key, key, "invalid_pem", "ca_certificate",
		  "a key in the ca_certificate field" },
		{ cert, key, "not a cert", "invalid_pem", "ca_certificate",
		  "text without a block in the ca_certificate field" },
		{ cert, key, ARMOUR("CERTIFICATE", "AAECAwQFBgcICQ=="), "invalid_pem",
		  "ca_certificate", "garbage DER in the ca_certificate field" },
		{ cert, cat3(key, key, ""), NULL, "invalid_pem", "more than one",
		  "two keys in the private_key field" },
		{ cert, key_pem(leaf_key, KEY_PKCS8_ENCRYPTED), NULL, "encrypted_key",
		  "private_key", "ENCRYPTED PRIVATE KEY is encrypted_key" },
		{ cert, enc, NULL, "encrypted_key", "passphrase",
		  "traditional PEM with Proc-Type: 4,ENCRYPTED is encrypted_key" },
		{ cert, mislabelled_encrypted(leaf_key), NULL, "encrypted_key", "passphrase",
		  "encrypted PKCS#8 under a plain PRIVATE KEY label is encrypted_key" },
		{ cert, key_pem(other_key, KEY_PKCS8), NULL, "key_mismatch", "private key",
		  "the key of another certificate is key_mismatch" },
		{ PEM(inter, leaf), key, NULL, "key_mismatch", "certificate 2",
		  "key of the 2nd certificate: message says to put the server cert first" },
	};
	size_t i;

	ok(strstr(enc, "Proc-Type: 4,ENCRYPTED") != NULL, "traditional encrypted PEM made");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(upload_fails(cases[i].cert, cases[i].key, cases[i].ca, cases[i].code,
				cases[i].field), "%s: %s", cases[i].code, cases[i].what);
	ok(upload_chain_is(cat3("Subject: www\nissuer: x\n", cert, "\ntrailing words\n"), key,
			   NULL, leaf, NULL, 0),
	   "text before and after the block is tolerated");
	ok(upload_chain_is(cert, cat3(ARMOUR("EC PARAMETERS", "BggqhkjOPQMBBw=="),
				      key_pem(leaf_key, KEY_TRADITIONAL), ""), NULL, leaf, NULL, 0),
	   "EC PARAMETERS before the key (openssl ecparam -genkey) is tolerated");
}

static EVP_PKEY *gen_key(const char *alg, size_t bits, const char *curve)
{
	if (bits)
		return EVP_PKEY_Q_keygen(NULL, NULL, alg, bits);
	if (curve)
		return EVP_PKEY_Q_keygen(NULL, NULL, alg, curve);
	return EVP_PKEY_Q_keygen(NULL, NULL, alg);
}

/* Each key type: what the upload says and what inspection calls it. */
static void test_key_types(void)
{
	static const struct {
		const char *alg;
		size_t bits;
		const char *curve;
		enum key_form form;
		const char *label, *want, *type;
	} cases[] = {
		{ "RSA", 1024, NULL, KEY_PKCS8, "PRIVATE KEY", "unsupported_key", "RSA 1024" },
		{ "RSA", 2048, NULL, KEY_PKCS8, "PRIVATE KEY", "accepted", "RSA 2048" },
		{ "RSA", 2048, NULL, KEY_TRADITIONAL, "RSA PRIVATE KEY", "accepted", "RSA 2048" },
		{ "RSA", 3072, NULL, KEY_PKCS8, "PRIVATE KEY", "accepted", "RSA 3072" },
		{ "EC", 0, "P-224", KEY_PKCS8, "PRIVATE KEY", "unsupported_key", "ECDSA P-224" },
		{ "EC", 0, "P-256", KEY_TRADITIONAL, "EC PRIVATE KEY", "accepted", "ECDSA P-256" },
		{ "EC", 0, "P-384", KEY_TRADITIONAL, "EC PRIVATE KEY", "accepted", "ECDSA P-384" },
		{ "EC", 0, "P-521", KEY_PKCS8, "PRIVATE KEY", "accepted", "ECDSA P-521" },
		{ "ED25519", 0, NULL, KEY_PKCS8, "PRIVATE KEY", "accepted", "Ed25519" },
		{ "ED448", 0, NULL, KEY_PKCS8, "PRIVATE KEY", "unsupported_key", "Ed448" },
	};
	struct mk m = { .cn = "k.example.com" };
	struct cert_bundle b;
	struct cert_info info;
	struct error err;
	char begin[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *key = gen_key(cases[i].alg, cases[i].bits, cases[i].curve);
		X509 *x = mk_cert(key, &m);
		const char *pem = key_pem(key, cases[i].form);
		int rc = upload(PEM(x), pem, NULL, &b, &err);

		snprintf(begin, sizeof(begin), "-----BEGIN %s-----", cases[i].label);
		ok(strstr(pem, begin) &&
			   strcmp(rc == 0 ? "accepted" : err.code, cases[i].want) == 0,
		   "%s key in a %s block: %s", cases[i].type, cases[i].label, cases[i].want);
		ok(cert_info_inspect(x, &info) == 0 && strcmp(info.key_type, cases[i].type) == 0,
		   "inspect names the key type \"%s\" (%s)", cases[i].type, info.key_type);
		cert_info_free(&info);
		cert_bundle_free(&b);
		X509_free(x);
		EVP_PKEY_free(key);
	}
}

/* Upload m's certificate (for leaf_key, issued by inter) and compute its
 * status for domain. Returns -1 when the upload fails. */
static int uploaded_status(struct mk *m, const char *domain)
{
	X509 *x;
	struct cert_bundle b;
	struct cert_info info;
	struct error err;
	int st = -1;

	m->issuer = inter;
	m->issuer_key = inter_key;
	x = mk_cert(leaf_key, m);
	if (upload(PEM(x, inter), key_pem(leaf_key, KEY_PKCS8), NULL, &b,
		   &err) == 0 && cert_info_inspect(b.leaf, &info) == 0) {
		st = (int)cert_status_compute(&info, domain, now);
		cert_info_free(&info);
	}
	cert_bundle_free(&b);
	X509_free(x);
	return st;
}

static void test_upload_flagged(void)
{
	static const char *const sans[] = { "DNS:*.example.com" };
	struct mk m = { .cn = "old.example.com", .not_before = now - 400 * DAY,
			.not_after = now - DAY };

	ok(uploaded_status(&m, "old.example.com") == CERT_STATUS_EXPIRED,
	   "an expired certificate is accepted and flagged expired");
	m = (struct mk){ .cn = "new.example.com", .not_before = now + DAY,
			 .not_after = now + 90 * DAY };
	ok(uploaded_status(&m, "new.example.com") == CERT_STATUS_NOT_YET_VALID,
	   "a not-yet-valid certificate is accepted and flagged not_yet_valid");
	m = (struct mk){ .cn = "a.example.com" };
	ok(uploaded_status(&m, "b.example.com") == CERT_STATUS_DOMAIN_MISMATCH,
	   "a certificate for another domain is accepted and flagged domain_mismatch");
	m = (struct mk){ .cn = "w", .sans = sans, .n_sans = 1 };
	ok(uploaded_status(&m, "shop.example.com") == CERT_STATUS_OK,
	   "a wildcard SAN covers one label: ok");
	ok(uploaded_status(&m, "a.shop.example.com") == CERT_STATUS_DOMAIN_MISMATCH,
	   "a wildcard SAN does not cover two labels: domain_mismatch");
	ok(uploaded_status(&m, "example.com") == CERT_STATUS_DOMAIN_MISMATCH,
	   "a wildcard SAN does not cover the bare domain: domain_mismatch");
}

static void test_inspect(void)
{
	static const char *const ip_san[] = { "DNS:Only.Example.COM", "IP:192.0.2.1" };
	struct cert_info info;
	unsigned char md[32];
	unsigned int md_len = 0;
	char hex[96];
	struct mk m = { .cn = "Org Only" };
	X509 *x;
	int i;

	ok(cert_info_inspect(leaf, &info) == 0, "inspect the leaf");
	ok(strcmp(info.subject_cn, "www.example.com") == 0, "subject CN");
	ok(strcmp(info.issuer_cn, "Test Intermediate") == 0, "issuer CN");
	ok(info.n_sans == 2 && strcmp(info.sans[0], "www.example.com") == 0 &&
		   strcmp(info.sans[1], "api.example.com") == 0,
	   "SANs listed and lowercased");
	ok(strcmp(info.key_type, "ECDSA P-256") == 0, "key type ECDSA P-256 (%s)", info.key_type);
	X509_digest(leaf, EVP_sha256(), md, &md_len);
	snprintf(hex, sizeof(hex), "%02X", md[0]);
	for (i = 1; i < 32; i++)
		snprintf(hex + 2 + (i - 1) * 3, sizeof(hex) - 2 - (size_t)(i - 1) * 3, ":%02X",
			 md[i]);
	ok(md_len == 32 && strcmp(info.fingerprint_sha256, hex) == 0 &&
		   strlen(info.fingerprint_sha256) == 95,
	   "fingerprint is SHA-256 upper-case hex with colons");
	ok(info.not_before == now - DAY && info.not_after == now + 90 * DAY,
	   "notBefore and notAfter as time_t");
	cert_info_free(&info);
	ok(info.sans == NULL && info.n_sans == 0, "cert_info_free clears the SAN list");

	/* Issuer with O but no CN; DNS-only SANs. */
	m.cn = NULL;
	m.org = "Example Org";
	x = mk_cert(other_key, &m);
	cert_info_inspect(x, &info);
	ok(strcmp(info.issuer_cn, "Example Org") == 0 && info.subject_cn[0] == '\0',
	   "issuer falls back to O; no CN gives an empty subject_cn");
	cert_info_free(&info);
	X509_free(x);
	m = (struct mk){ .cn = "x", .sans = ip_san, .n_sans = 2 };
	x = mk_cert(other_key, &m);
	cert_info_inspect(x, &info);
	ok(info.n_sans == 1 && strcmp(info.sans[0], "only.example.com") == 0,
	   "only DNS SANs are listed (the IP SAN is not)");
	cert_info_free(&info);
	X509_free(x);
	ok(cert_info_inspect(NULL, &info) == -1, "inspect NULL fails");
}

static void test_names(void)
{
	static const struct {
		const char *pattern, *host;
		int want;
	} cases[] = {
		{ "example.com", "example.com", 1 },
		{ "Example.COM", "example.com", 1 },
		{ "example.com", "www.example.com", 0 },
		{ "*.example.com", "a.example.com", 1 },
		{ "*.EXAMPLE.com", "A.example.COM", 1 },
		{ "*.example.com", "example.com", 0 },
		{ "*.example.com", "a.b.example.com", 0 },
		{ "*.example.com", ".example.com", 0 },
		{ "*.example.com", "*.example.com", 1 },
		{ "*.example.com", "*.b.example.com", 0 },
		{ "a.example.com", "*.example.com", 0 },
		{ "f*.example.com", "foo.example.com", 0 },
		{ "a.*.example.com", "a.b.example.com", 0 },
		{ "*.com", "example.com", 0 },
		{ "*", "example", 0 },
		{ "", "", 0 },
		{ "*.example.com", "a.example.org", 0 },
	};
	struct cert_info info = { .subject_cn = "cn.example.com" };
	char *sans[] = { "*.wild.example.com", "san.example.com" };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(cert_name_matches(cases[i].pattern, cases[i].host) == cases[i].want,
		   "\"%s\" %s \"%s\"", cases[i].pattern,
		   cases[i].want ? "covers" : "does not cover", cases[i].host);
	ok(cert_info_covers(&info, "CN.example.com"), "covers by CN when there are no SANs");
	info.sans = sans;
	info.n_sans = 2;
	ok(cert_info_covers(&info, "cn.example.com"), "covers by CN also when SANs exist");
	ok(cert_info_covers(&info, "san.example.com"), "covers by a SAN");
	ok(cert_info_covers(&info, "x.wild.example.com"), "covers by a wildcard SAN");
	ok(!cert_info_covers(&info, "other.example.com"), "does not cover an unlisted name");
	ok(cert_info_covers(&info, "*.wild.example.com"), "a wildcard domain covered by itself");
	ok(!cert_info_covers(&info, "*.example.com"), "a wildcard domain not covered by a name");
}

static void test_status(void)
{
	static const char *const names[] = { "ok", "expiring", "expired", "not_yet_valid",
					     "domain_mismatch", "pending", "awaiting_dns",
					     "failed" };
	struct cert_info info = { .subject_cn = "s.example.com" };
	enum cert_status st;
	int i;

	for (i = 0; i < CERT_STATUS_MAX; i++)
		ok(strcmp(cert_status_name((enum cert_status)i), names[i]) == 0 &&
			   cert_status_parse(names[i], &st) == 0 && st == (enum cert_status)i,
		   "status %s names and parses", names[i]);
	ok(cert_status_parse("bogus", &st) == -1 && cert_status_parse("OK", &st) == -1,
	   "unknown status names do not parse");
	ok(strcmp(cert_status_name(CERT_STATUS_MAX), "unknown") == 0, "out of range is unknown");

	info.not_before = 1000000;
	info.not_after = 1000000 + 90 * DAY; /* window: 14 days */
	ok(cert_status_compute(&info, "s.example.com", 999999) == CERT_STATUS_NOT_YET_VALID,
	   "one second before notBefore: not_yet_valid");
	ok(cert_status_compute(&info, "s.example.com", 1000000) == CERT_STATUS_OK,
	   "at notBefore: ok");
	ok(cert_status_compute(&info, "s.example.com", info.not_after) == CERT_STATUS_EXPIRED,
	   "at notAfter: expired");
	ok(cert_status_compute(&info, "s.example.com", info.not_after - 14 * DAY) ==
		   CERT_STATUS_OK,
	   "exactly 14 days left of 90: ok");
	ok(cert_status_compute(&info, "s.example.com", info.not_after - 14 * DAY + 1) ==
		   CERT_STATUS_EXPIRING,
	   "under 14 days left of 90: expiring (14-day rule)");
	ok(cert_status_compute(&info, "other.example.com", info.not_after - DAY) ==
		   CERT_STATUS_DOMAIN_MISMATCH,
	   "domain mismatch wins over expiring");
	ok(cert_status_compute(&info, "other.example.com", info.not_after) == CERT_STATUS_EXPIRED,
	   "expired wins over domain mismatch");
	ok(cert_status_compute(&info, "other.example.com", 0) == CERT_STATUS_NOT_YET_VALID,
	   "not_yet_valid wins over domain mismatch");
	ok(cert_status_compute(&info, NULL, 1000000) == CERT_STATUS_OK,
	   "a NULL domain skips the domain check");
	info.not_after = 1000000 + 6 * DAY; /* window: 2 days (a third) */
	ok(cert_status_compute(&info, "s.example.com", info.not_after - 2 * DAY) == CERT_STATUS_OK,
	   "6-day certificate with 2 days left: ok");
	ok(cert_status_compute(&info, "s.example.com", info.not_after - 2 * DAY + 1) ==
		   CERT_STATUS_EXPIRING,
	   "6-day certificate with under 2 days left: expiring (1/3-lifetime rule)");
	ok(cert_status_compute(&info, "s.example.com", info.not_after - 3 * DAY) == CERT_STATUS_OK,
	   "6-day certificate with 3 days left is ok although under 14 days");
}

/* 1 when x has the SAN DNS names want (n, in order) and nothing else. */
static int dns_sans_are(const STACK_OF(GENERAL_NAME) *gens, const char *const *want, int n)
{
	int i, good = sk_GENERAL_NAME_num(gens) == n;

	for (i = 0; good && i < n; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

		good = gn->type == GEN_DNS &&
		       strcmp((const char *)ASN1_STRING_get0_data(gn->d.dNSName), want[i]) == 0;
	}
	return good;
}

static void test_issue(void)
{
	static const char *const extra[] = { "WWW.test.example", "test.example",
					     "api.test.example" };
	static const char *const want[] = { "test.example", "www.test.example",
					    "api.test.example" };
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	struct cert_bundle b, b2;
	struct cert_info info;
	struct error err;
	GENERAL_NAMES *gens;
	char *pem;
	time_t t = time(NULL);

	ok(cert_issue_test_ca(&ca, &ca_key, &err) == 0 && ca && ca_key, "make a test CA");
	cert_info_inspect(ca, &info);
	ok(strncmp(info.subject_cn, "postern test CA ", 16) == 0 && strlen(info.subject_cn) == 24,
	   "test CA CN is \"postern test CA <8 hex>\" (%s)", info.subject_cn);
	ok(strcmp(info.key_type, "ECDSA P-256") == 0, "test CA key is P-256");
	ok(info.not_after - t > 3649 * DAY && info.not_after - t <= 3650 * DAY + 60,
	   "test CA is valid 10 years");
	cert_info_free(&info);
	ok(X509_check_ca(ca) == 1 && X509_get_pathlen(ca) == 0, "test CA is CA:TRUE, pathlen 0");
	ok((X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) != 0, "test CA has keyCertSign");
	ok(X509_self_signed(ca, 1) == 1, "test CA is self-signed");

	ok(cert_issue_selfsigned(ca, ca_key, "Test.Example", extra, 3, &b, &err) == 0,
	   "issue a self-signed leaf");
	cert_info_inspect(b.leaf, &info);
	ok(strcmp(info.subject_cn, "test.example") == 0, "leaf CN is the domain");
	ok(strcmp(info.key_type, "ECDSA P-256") == 0, "leaf key is P-256");
	ok(info.not_before <= t - 50 && info.not_before >= t - 70, "notBefore is a minute back");
	ok(info.not_after - t >= 365 * DAY - 5 && info.not_after - t <= 365 * DAY + 5,
	   "leaf is valid 365 days");
	ok(cert_status_compute(&info, "test.example", t) == CERT_STATUS_OK, "leaf status ok");
	cert_info_free(&info);
	gens = X509_get_ext_d2i(b.leaf, NID_subject_alt_name, NULL, NULL);
	ok(dns_sans_are(gens, want, 3), "SAN = domain + extra names, lowercased, deduplicated");
	GENERAL_NAMES_free(gens);
	ok(X509_check_ca(b.leaf) == 0, "leaf is CA:FALSE");
	ok(X509_get_key_usage(b.leaf) == KU_DIGITAL_SIGNATURE, "leaf KU is digitalSignature");
	ok(X509_get_extended_key_usage(b.leaf) == XKU_SSL_SERVER, "leaf EKU is serverAuth");
	ok(X509_get0_subject_key_id(b.leaf) && X509_get0_authority_key_id(b.leaf) &&
		   ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(b.leaf),
					 X509_get0_subject_key_id(ca)) == 0,
	   "leaf has SKI and an AKI naming the CA's key");
	ok(X509_check_private_key(b.leaf, b.key) == 1, "leaf key matches the leaf");
	ok(sk_X509_num(b.chain) == 1 && X509_cmp(sk_X509_value(b.chain, 0), ca) == 0,
	   "chain holds the test CA");
	ok(ASN1_INTEGER_get(X509_get0_serialNumber(b.leaf)) != 1 &&
		   ASN1_STRING_length(X509_get0_serialNumber(b.leaf)) == 16,
	   "serial is 16 random bytes");
	pem = cert_codec_cert_pem(ca);
	write_text("ca.pem", pem);
	free(pem);
	pem = cert_codec_cert_pem(b.leaf);
	write_text("leaf.pem", pem);
	free(pem);
	ok(run("openssl verify -purpose sslserver -CAfile ca.pem leaf.pem") == 0,
	   "openssl verify accepts the leaf under the test CA");
	ok(run("openssl verify -CAfile leaf.pem leaf.pem") != 0,
	   "openssl verify rejects the leaf without its CA (the check can fail)");
	ok(cert_issue_selfsigned(ca, ca_key, "two.example", NULL, 0, &b2, &err) == 0 &&
		   ASN1_INTEGER_cmp(X509_get0_serialNumber(b.leaf),
				    X509_get0_serialNumber(b2.leaf)) != 0,
	   "two leaves get different serials");
	cert_bundle_free(&b2);
	ok(cert_issue_selfsigned(ca, ca_key, "bad name!", NULL, 0, &b2, &err) == -1 &&
		   strcmp(err.code, "invalid_domain") == 0 && b2.leaf == NULL,
	   "a name with invalid characters is invalid_domain");
	ok(cert_issue_selfsigned(ca, root_key, "x.example", NULL, 0, &b2, &err) == -1 &&
		   b2.leaf == NULL,
	   "a CA key that does not match the CA is refused");
	cert_bundle_free(&b);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* openssl 3.0 `req -verify` exits 0 even on failure: read its verdict. */
#define REQ_VERIFY "openssl req -inform DER -in req.der -verify -noout 2>&1 | grep -q 'verify OK'"

static void test_csr(void)
{
	static const char *const names[] = { "a.example.com", "B.example.com", "a.example.com" };
	static const char *const want[] = { "a.example.com", "b.example.com" };
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	struct error err;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens = NULL;
	FILE *f;
	char path[128];

	ok(cert_issue_csr(names, 3, &key, &der, &len, &err) == 0 && key && der && len > 0,
	   "make a CSR");
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	ok(req != NULL && p == der + len, "CSR DER parses");
	ok(req && X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0, "CSR subject empty");
	ok(req && EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) == 1, "CSR holds the returned key");
	ok(req && X509_REQ_get_signature_nid(req) == NID_ecdsa_with_SHA256, "CSR signed SHA-256");
	exts = req ? X509_REQ_get_extensions(req) : NULL;
	if (exts)
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	ok(dns_sans_are(gens, want, 2), "CSR SAN lists every name once, lowercased");
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	snprintf(path, sizeof(path), "%s/req.der", dir);
	f = fopen(path, "wb");
	if (f) {
		fwrite(der, 1, len, f);
		fclose(f);
	}
	ok(run(REQ_VERIFY) == 0,
	   "openssl req -verify accepts the CSR");
	ok(run("openssl req -inform DER -in req.der -noout -text | "
	       "grep -q 'DNS:a.example.com, DNS:b.example.com'") == 0,
	   "openssl req shows the SANs");
	der[len - 5] ^= 0x01; /* flip a signature bit */
	f = fopen(path, "wb");
	if (f) {
		fwrite(der, 1, len, f);
		fclose(f);
	}
	ok(run(REQ_VERIFY) != 0,
	   "openssl req -verify rejects a damaged CSR (the check can fail)");
	free(der);
	EVP_PKEY_free(key);
	ok(cert_issue_csr(names, 0, &key, &der, &len, &err) == -1 && key == NULL && der == NULL,
	   "a CSR without names is refused");
	ok(cert_issue_csr((const char *const[]){ "ok.example", "" }, 2, &key, &der, &len, &err) ==
		   -1 && strcmp(err.code, "invalid_domain") == 0,
	   "a CSR with an empty name is invalid_domain");
}

static void test_codec(void)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *back_chain = NULL;
	X509 *back = NULL;
	char *pem;
	unsigned char *der = NULL;
	size_t der_len = 0;
	EVP_PKEY *k;

	sk_X509_push(chain, inter);
	sk_X509_push(chain, root);
	pem = cert_codec_chain_pem(leaf, chain);
	ok(pem && strstr(pem, "BEGIN CERTIFICATE"), "chain PEM written");
	ok(pem && cert_codec_parse_chain(pem, strlen(pem), &back, &back_chain) == 0,
	   "chain PEM parses back");
	ok(back && X509_cmp(back, leaf) == 0, "leaf comes back first");
	ok(back_chain && sk_X509_num(back_chain) == 2 &&
		   X509_cmp(sk_X509_value(back_chain, 0), inter) == 0 &&
		   X509_cmp(sk_X509_value(back_chain, 1), root) == 0,
	   "chain comes back in order");
	X509_free(back);
	sk_X509_pop_free(back_chain, X509_free);
	free(pem);
	sk_X509_free(chain);
	ok(cert_codec_parse_chain("no pem here", 11, &back, &back_chain) == -1 && back == NULL &&
		   back_chain == NULL,
	   "text without a certificate does not parse");
	pem = cert_codec_chain_pem(leaf, NULL);
	ok(pem && cert_codec_parse_chain(pem, strlen(pem), &back, &back_chain) == 0 &&
		   sk_X509_num(back_chain) == 0,
	   "a leaf without chain comes back with an empty chain");
	X509_free(back);
	sk_X509_pop_free(back_chain, X509_free);
	free(pem);
	pem = cert_codec_cert_pem(root);
	ok(pem && strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0 &&
		   strstr(pem + 1, "-----BEGIN") == NULL,
	   "single certificate PEM");
	free(pem);

	ok(cert_codec_key_der(leaf_key, &der, &der_len) == 0 && der_len > 0, "key to PKCS#8 DER");
	k = cert_codec_key_from_der(der, der_len);
	ok(k && EVP_PKEY_eq(k, leaf_key) == 1, "PKCS#8 DER back to the same key");
	EVP_PKEY_free(k);
	ok(cert_codec_key_from_der(der, der_len - 1) == NULL, "truncated DER does not parse");
	ok(cert_codec_key_from_der((const unsigned char *)"\x30\x03\x02\x01\x00", 5) == NULL,
	   "garbage DER does not parse");
	{
		unsigned char *longer = calloc(1, der_len + 1);

		memcpy(longer, der, der_len);
		ok(cert_codec_key_from_der(longer, der_len + 1) == NULL,
		   "DER with a trailing byte does not parse");
		secret_free(longer, der_len + 1);
	}
	secret_free(der, der_len);
	k = rsa_key(2048);
	ok(cert_codec_key_der(k, &der, &der_len) == 0, "RSA key to PKCS#8 DER");
	{
		EVP_PKEY *k2 = cert_codec_key_from_der(der, der_len);

		ok(k2 && EVP_PKEY_eq(k2, k) == 1 && EVP_PKEY_get_bits(k2) == 2048,
		   "RSA key round trip");
		EVP_PKEY_free(k2);
	}
	secret_free(der, der_len);
	EVP_PKEY_free(k);
}

/* The start-up fast path builds EC keys from the scalar and the
 * certificate's point; it must give the very key, and fall back for the
 * rest. */
static void test_key_for_cert(void)
{
	static const char *const curves[] = { "P-256", "P-384", "P-521" };
	struct mk m = { .cn = "fast.example.com" };
	unsigned char *der = NULL;
	size_t der_len = 0;

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		EVP_PKEY *k = ec_key(curves[i]), *back;
		X509 *x = mk_cert(k, &m);

		cert_codec_key_der(k, &der, &der_len);
		back = cert_codec_key_for_cert(der, der_len, x);
		ok(back && EVP_PKEY_eq(back, k) == 1 && X509_check_private_key(x, back) == 1,
		   "fast EC key load (%s) gives the same key pair", curves[i]);
		EVP_PKEY_free(back);
		ok(cert_codec_key_for_cert(der, der_len - 1, x) == NULL,
		   "fast EC key load (%s): truncated DER does not parse", curves[i]);
		secret_free(der, der_len);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	{
		EVP_PKEY *k = rsa_key(2048), *back;
		X509 *x = mk_cert(k, &m);

		cert_codec_key_der(k, &der, &der_len);
		back = cert_codec_key_for_cert(der, der_len, x);
		ok(back && EVP_PKEY_eq(back, k) == 1, "an RSA key falls back to the decoder");
		EVP_PKEY_free(back);
		secret_free(der, der_len);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

int main(void)
{
	size_t i;

	now = time(NULL);
	snprintf(dir, sizeof(dir), "/tmp/test_cert.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	make_hierarchy();
	test_upload_chains();
	test_upload_errors();
	test_key_types();
	test_upload_flagged();
	test_inspect();
	test_names();
	test_status();
	test_issue();
	test_csr();
	test_codec();
	test_key_for_cert();
	run("rm -f ca.pem leaf.pem req.der");
	rmdir(dir);
	for (i = 0; i < n_pem_bufs; i++)
		free(pem_bufs[i]);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	return done_testing();
}
