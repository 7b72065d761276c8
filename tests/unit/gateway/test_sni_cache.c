/* The SNI cache without TLS: building, name extraction, exact / wildcard /
 * default lookups, the choice among several certificates over time, key
 * kinds, CA interning, sni_cache_has and sni_entry_covers. */
#include "gateway/sni_cache.h"

#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/unit/tap.h"

#define DAY (24L * 3600)

static X509 *ca;
static EVP_PKEY *ca_key;
static EVP_PKEY *ec_key; /* shared by most leaves: keygen is the slow part */
static EVP_PKEY *rsa_key;
static EVP_PKEY *ed_key;

/* A leaf for key signed by the test CA: CN cn (NULL = none), SAN sans
 * ("DNS:a,DNS:b" or NULL), valid [base + nb, base + na). */
static X509 *make_leaf(EVP_PKEY *key, const char *cn, const char *sans, time_t base, long nb,
                       long na)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(base & 0xffffff) + nb + na);
	ASN1_TIME_adj(X509_getm_notBefore(x), base, 0, nb);
	ASN1_TIME_adj(X509_getm_notAfter(x), base, 0, na);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
		                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, key);
	if (sans != NULL) {
		X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, sans);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, ca_key, EVP_sha256());
	return x;
}

static struct cert_bundle bundle_of(X509 *leaf, EVP_PKEY *key)
{
	struct cert_bundle b = {leaf, sk_X509_new_null(), key};

	EVP_PKEY_up_ref(key);
	X509_up_ref(ca);
	sk_X509_push(b.chain, ca);
	return b;
}

/* Add a leaf valid from a day ago for a year. */
static int add(struct sni_cache *c, long long id, const char *domain, EVP_PKEY *key, const char *cn,
               const char *sans)
{
	struct cert_bundle b =
	    bundle_of(make_leaf(key, cn, sans, time(NULL), -DAY, 365 * DAY), key);

	return sni_cache_add(c, id, 1, domain, &b);
}

static long long id_of(const struct sni_entry *e)
{
	return e ? e->cert_id : -1;
}

/* The EC entry's id for sni now, -1 when it has none, -2 when no match. */
static long long lookup_ec(const struct sni_cache *c, const char *sni)
{
	struct sni_match m;

	if (sni_cache_lookup(c, sni, time(NULL), &m) < 0)
		return -2;
	return id_of(m.ec);
}

static void test_empty(void)
{
	struct sni_cache *c = sni_cache_new();
	struct sni_match m;

	ok(c != NULL, "empty cache: created");
	ok(sni_cache_lookup(c, "a.test", time(NULL), &m) == -1, "unfinished cache: lookup fails");
	ok(sni_cache_finish(c, "") == 0, "empty cache: finish");
	ok(sni_cache_finish(c, "") == -1, "finish twice: refused");
	ok(sni_cache_count(c) == 0, "empty cache: count 0");
	ok(sni_cache_lookup(c, "a.test", time(NULL), &m) == -1, "empty cache: no match");
	ok(sni_cache_lookup(c, NULL, time(NULL), &m) == -1, "empty cache: no SNI, no match");
	ok(sni_cache_has(c, 1, 1) == 0, "empty cache: has nothing");
	ok(add(c, 1, "a.test", ec_key, "a.test", NULL) == -1, "add after finish: refused");
	sni_cache_free(c);
	sni_cache_free(NULL);
	ok(sni_cache_lookup(NULL, "a.test", time(NULL), &m) == -1, "NULL cache: no match");
	ok(sni_cache_count(NULL) == 0 && sni_cache_has(NULL, 1, 1) == 0, "NULL cache: empty");
}

/* The main fixture: exact, SAN, wildcard, EC + RSA, Ed25519, default. */
static struct sni_cache *build_main(const char *default_domain)
{
	struct sni_cache *c = sni_cache_new();

	add(c, 1, "www.example.com", ec_key, "www.example.com", "DNS:www.example.com");
	add(c, 2, "b.test", ec_key, "b.test", "DNS:b.test,DNS:Alt.Test,DNS:B.TEST");
	add(c, 3, "*.wild.test", ec_key, "*.wild.test", "DNS:*.wild.test");
	add(c, 4, "x.wild.test", ec_key, "x.wild.test", NULL);
	add(c, 5, "dual.test", ec_key, "dual.test", NULL);
	add(c, 6, "dual.test", rsa_key, "dual.test", NULL);
	add(c, 7, "ed.test", ed_key, NULL, "DNS:ed.test");
	add(c, 8, "default.test", ec_key, "default.test", NULL);
	add(c, 9, "star.test", ec_key, "*.com", "DNS:*.com,DNS:f*.star.test,DNS:*.*.star.test");
	add(c, 10, "bad.test", ec_key, "My Server", "DNS:ok.bad.test,DNS:bad name.test");
	if (sni_cache_finish(c, default_domain) < 0) {
		sni_cache_free(c);
		return NULL;
	}
	return c;
}

static void test_exact_and_wildcard(void)
{
	struct sni_cache *c = build_main("");

	ok(c != NULL && sni_cache_count(c) == 10, "main cache: 10 entries");
	ok(lookup_ec(c, "www.example.com") == 1, "exact name");
	ok(lookup_ec(c, "WWW.Example.COM") == 1, "exact name, any case");
	ok(lookup_ec(c, "www.example.com.") == 1, "exact name, trailing dot");
	ok(lookup_ec(c, "www.example.com..") == -2, "two trailing dots: no match");
	ok(lookup_ec(c, "example.com") == -2, "parent of a name: no match");
	ok(lookup_ec(c, "alt.test") == 2, "a SAN (upper-case in the certificate)");
	ok(lookup_ec(c, "b.test") == 2, "CN and SAN");
	ok(lookup_ec(c, "a.wild.test") == 3, "wildcard covers one label");
	ok(lookup_ec(c, "A-1.WILD.test") == 3, "wildcard, any case");
	ok(lookup_ec(c, "a.b.wild.test") == -2, "wildcard does not cover two labels");
	ok(lookup_ec(c, "wild.test") == -2, "wildcard does not cover its parent");
	ok(lookup_ec(c, "*.wild.test") == -2, "an SNI with '*' matches nothing");
	ok(lookup_ec(c, "x.wild.test") == 4, "exact name beats the wildcard");
	ok(lookup_ec(c, "a.com") == -2, "\"*.com\" is no wildcard");
	ok(lookup_ec(c, "fa.star.test") == -2, "a partial-label wildcard matches nothing");
	ok(lookup_ec(c, "a.b.star.test") == -2, "\"*.*.\" matches nothing");
	ok(lookup_ec(c, "ok.bad.test") == 10, "a valid SAN next to invalid names");
	ok(lookup_ec(c, "my server") == -2, "a CN that is no host name is not indexed");
	ok(lookup_ec(c, "bad name.test") == -2, "a SAN that is no host name is not indexed");
	ok(lookup_ec(c, "") == -2, "empty SNI, no default: no match");
	ok(lookup_ec(c, NULL) == -2, "no SNI, no default: no match");
	ok(lookup_ec(c, "default.test") == 8, "the default's own name, exact");
	sni_cache_free(c);
}

static void test_kinds(void)
{
	struct sni_cache *c = build_main("");
	struct sni_match m;

	ok(sni_cache_lookup(c, "dual.test", time(NULL), &m) == 0, "EC + RSA name: found");
	ok(id_of(m.ec) == 5 && m.ec->kind == SNI_KEY_EC, "EC + RSA name: EC entry");
	ok(id_of(m.rsa) == 6 && m.rsa->kind == SNI_KEY_RSA, "EC + RSA name: RSA entry");
	ok(m.other == NULL && m.is_default == 0, "EC + RSA name: no other, not default");
	ok(sni_cache_lookup(c, "ed.test", time(NULL), &m) == 0, "Ed25519 name: found");
	ok(m.ec == NULL && m.rsa == NULL && id_of(m.other) == 7, "Ed25519 goes in 'other'");
	ok(m.other && m.other->kind == SNI_KEY_OTHER, "Ed25519 kind is OTHER");
	ok(sni_cache_lookup(c, "www.example.com", time(NULL), &m) == 0 && m.rsa == NULL &&
	       m.other == NULL,
	   "EC-only name: only ec set");
	ok(m.ec && m.ec->leaf && m.ec->key && m.ec->chain && sk_X509_num(m.ec->chain) == 1,
	   "entry holds leaf, key and chain");
	sni_cache_free(c);
}

static void test_names(void)
{
	struct sni_cache *c = build_main("");
	struct sni_match m;
	const struct sni_entry *e;

	sni_cache_lookup(c, "b.test", time(NULL), &m);
	e = m.ec;
	ok(e && e->n_names == 2, "names deduplicated across CN and SANs (any case)");
	ok(e && strcmp(e->names[0], "b.test") == 0 && strcmp(e->names[1], "alt.test") == 0,
	   "names lowercase, CN first");
	ok(e && strcmp(e->domain, "b.test") == 0 && e->version == 1, "domain and version kept");
	sni_cache_lookup(c, "a.wild.test", time(NULL), &m);
	ok(m.ec && m.ec->n_names == 1 && strcmp(m.ec->names[0], "*.wild.test") == 0,
	   "wildcard name kept as \"*.wild.test\"");
	sni_cache_lookup(c, "ok.bad.test", time(NULL), &m);
	ok(m.ec && m.ec->n_names == 1, "invalid CN and SAN left out of names");
	sni_cache_lookup(c, "ed.test", time(NULL), &m);
	ok(m.other && m.other->n_names == 1, "no CN: SANs only");
	ok(m.other && m.other->not_before < time(NULL) && m.other->not_after > time(NULL),
	   "validity dates read");
	sni_cache_free(c);
}

static void test_default(void)
{
	struct sni_cache *c = build_main("Default.Test");
	char longname[301];
	struct sni_match m;

	memset(longname, 'a', 300);
	longname[300] = '\0';
	ok(sni_cache_lookup(c, "unknown.test", time(NULL), &m) == 0, "unknown name: default");
	ok(id_of(m.ec) == 8 && m.is_default == 1, "unknown name: the default entry, flagged");
	ok(sni_cache_lookup(c, NULL, time(NULL), &m) == 0 && id_of(m.ec) == 8 && m.is_default,
	   "no SNI: default");
	ok(lookup_ec(c, "") == 8, "empty SNI: default");
	ok(lookup_ec(c, longname) == 8, "300-byte SNI: default");
	ok(lookup_ec(c, "bad name.test") == 8, "SNI with a space: default");
	ok(lookup_ec(c, "a..wild.test") == 8, "SNI with an empty label: default");
	ok(lookup_ec(c, ".wild.test") == 8, "SNI with an empty first label: default");
	ok(lookup_ec(c, "a.b.wild.test") == 8, "two labels under a wildcard: default");
	ok(sni_cache_lookup(c, "a.wild.test", time(NULL), &m) == 0 && id_of(m.ec) == 3 &&
	       !m.is_default,
	   "wildcard beats default, not flagged");
	ok(sni_cache_lookup(c, "www.example.com", time(NULL), &m) == 0 && !m.is_default,
	   "exact match not flagged default");
	sni_cache_free(c);
	c = build_main("nowhere.test");
	ok(lookup_ec(c, "unknown.test") == -2, "default domain with no certificate: no default");
	sni_cache_free(c);
	c = build_main(NULL);
	ok(lookup_ec(c, NULL) == -2, "NULL default domain: no default");
	sni_cache_free(c);
	c = build_main("dual.test");
	ok(sni_cache_lookup(c, "zzz.test", time(NULL), &m) == 0 && id_of(m.ec) == 5 &&
	       id_of(m.rsa) == 6,
	   "default with EC and RSA: both presented");
	sni_cache_free(c);
}

/* Certificates P [t0, t0+100d) and Q [t0+50d, t0+200d) for one name. */
static void test_choice_over_time(void)
{
	struct sni_cache *c = sni_cache_new();
	time_t t0 = 1800000000;
	struct cert_bundle p =
	    bundle_of(make_leaf(ec_key, "t.test", NULL, t0, 0, 100 * DAY), ec_key);
	struct cert_bundle q =
	    bundle_of(make_leaf(ec_key, "t.test", NULL, t0, 50 * DAY, 200 * DAY), ec_key);
	struct cert_bundle r =
	    bundle_of(make_leaf(ec_key, "t.test", NULL, t0, 0, 100 * DAY), ec_key);
	struct sni_match m;

	ok(sni_cache_add(c, 20, 1, "t.test", &p) == 0 && p.leaf == NULL && p.key == NULL &&
	       p.chain == NULL,
	   "add: bundle taken and zeroed");
	ok(sni_cache_add(c, 21, 3, "t.test", &q) == 0, "add a second certificate for the name");
	ok(sni_cache_add(c, 22, 1, "t.test", &r) == 0, "add a third, same dates as the first");
	ok(sni_cache_finish(c, "") == 0, "finish");
	sni_cache_lookup(c, "t.test", t0 + 10 * DAY, &m);
	ok(id_of(m.ec) == 20, "one valid, later expiry not yet valid: the valid one");
	sni_cache_lookup(c, "t.test", t0 + 60 * DAY, &m);
	ok(id_of(m.ec) == 21, "both valid: the later expiry");
	sni_cache_lookup(c, "t.test", t0 + 150 * DAY, &m);
	ok(id_of(m.ec) == 21, "first expired: the valid one");
	sni_cache_lookup(c, "t.test", t0 + 300 * DAY, &m);
	ok(id_of(m.ec) == 21, "all expired: the latest expiry");
	sni_cache_lookup(c, "t.test", t0 - 10 * DAY, &m);
	ok(id_of(m.ec) == 21, "none valid yet: the latest expiry");
	sni_cache_lookup(c, "t.test", t0 + 100 * DAY, &m);
	ok(id_of(m.ec) == 21, "not_after itself is expired");
	sni_cache_lookup(c, "t.test", t0 + 50 * DAY, &m);
	ok(id_of(m.ec) == 21, "not_before itself is valid");
	ok(sni_cache_has(c, 21, 3) == 1, "has: id and version present");
	ok(sni_cache_has(c, 21, 2) == 0, "has: other version absent");
	ok(sni_cache_has(c, 20, 1) == 1 && sni_cache_has(c, 22, 1) == 1, "has: every entry");
	ok(sni_cache_has(c, 23, 1) == 0 && sni_cache_has(c, -1, 1) == 0, "has: unknown id absent");
	sni_cache_free(c);
}

static void test_covers(void)
{
	struct sni_cache *c = build_main("");
	struct sni_match m, w;
	const char *host = "www.example.com:443";

	sni_cache_lookup(c, "b.test", time(NULL), &m);
	sni_cache_lookup(c, "a.wild.test", time(NULL), &w);
	ok(sni_entry_covers(m.ec, "alt.test", 8) == 1, "covers: a SAN");
	ok(sni_entry_covers(m.ec, "ALT.Test.", 9) == 1, "covers: any case, trailing dot");
	ok(sni_entry_covers(m.ec, "other.test", 10) == 0, "covers: another name, no");
	ok(sni_entry_covers(m.ec, "alt.testx", 8) == 1, "covers: only host_len bytes read");
	ok(sni_entry_covers(w.ec, "q.wild.test", 11) == 1, "covers: wildcard, one label");
	ok(sni_entry_covers(w.ec, "p.q.wild.test", 13) == 0, "covers: wildcard, two labels no");
	ok(sni_entry_covers(w.ec, "wild.test", 9) == 0, "covers: wildcard parent no");
	ok(sni_entry_covers(w.ec, "*.wild.test", 11) == 0, "covers: '*' host no");
	sni_cache_lookup(c, "www.example.com", time(NULL), &m);
	ok(sni_entry_covers(m.ec, host, 15) == 1, "covers: Host without its port");
	ok(sni_entry_covers(m.ec, host, strlen(host)) == 0, "covers: Host with a port, no");
	ok(sni_entry_covers(m.ec, "", 0) == 0 && sni_entry_covers(NULL, "a", 1) == 0,
	   "covers: empty host or NULL entry, no");
	ok(sni_entry_covers(m.ec, "www.example.com\0x", 17) == 0, "covers: NUL inside, no");
	sni_cache_free(c);
}

static void test_bad_bundles(void)
{
	struct sni_cache *c = sni_cache_new();
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct cert_bundle b =
	    bundle_of(make_leaf(ec_key, "k.test", NULL, time(NULL), 0, DAY), other);
	struct cert_bundle nochain = {make_leaf(ec_key, "n.test", NULL, time(NULL), -DAY, DAY),
	                              NULL, ec_key};
	struct cert_bundle empty = {NULL, NULL, NULL};
	struct sni_match m;

	EVP_PKEY_up_ref(ec_key);
	ok(sni_cache_add(c, 1, 1, "k.test", &b) == -1, "key that does not match: refused");
	ok(b.leaf == NULL && b.key == NULL && b.chain == NULL, "refused bundle freed and zeroed");
	ok(sni_cache_add(c, 2, 1, "n.test", &nochain) == 0, "NULL chain accepted");
	ok(sni_cache_add(c, 3, 1, "e.test", &empty) == -1, "empty bundle refused");
	ok(sni_cache_add(NULL, 3, 1, "e.test", &empty) == -1, "NULL cache refused");
	ok(sni_cache_finish(c, "") == 0 && sni_cache_count(c) == 1, "only the good one kept");
	ok(sni_cache_lookup(c, "n.test", time(NULL), &m) == 0 && m.ec && m.ec->chain &&
	       sk_X509_num(m.ec->chain) == 0,
	   "NULL chain becomes an empty chain");
	ok(sni_cache_lookup(c, "k.test", time(NULL), &m) == -1, "refused one not indexed");
	EVP_PKEY_free(other);
	sni_cache_free(c);
}

/* A leaf from a second test CA (same CN and key type as ours). */
static void other_ca_bundle(struct sni_cache *c)
{
	X509 *ca2;
	EVP_PKEY *ca2_key;
	struct cert_bundle b;
	struct error err;

	if (cert_issue_test_ca(&ca2, &ca2_key, &err) < 0)
		return;
	if (cert_issue_selfsigned(ca2, ca2_key, "i3.test", NULL, 0, &b, &err) == 0)
		sni_cache_add(c, 3, 1, "i.test", &b);
	X509_free(ca2);
	EVP_PKEY_free(ca2_key);
}

/* Chains parsed separately from the same PEM share one X509 in the cache. */
static void test_ca_interning(void)
{
	struct sni_cache *c = sni_cache_new();
	BIO *mem = BIO_new(BIO_s_mem());
	struct sni_match m1, m2;
	char *pem;
	long len;
	int i;

	PEM_write_bio_X509(mem, ca);
	len = BIO_get_mem_data(mem, &pem);
	for (i = 0; i < 2; i++) {
		BIO *in = BIO_new_mem_buf(pem, (int)len);
		struct cert_bundle b = {
		    make_leaf(ec_key, i ? "i2.test" : "i1.test", NULL, time(NULL), -DAY, DAY),
		    sk_X509_new_null(), ec_key};

		EVP_PKEY_up_ref(ec_key);
		sk_X509_push(b.chain, PEM_read_bio_X509(in, NULL, NULL, NULL));
		BIO_free(in);
		sni_cache_add(c, i + 1, 1, "i.test", &b);
	}
	BIO_free(mem);
	other_ca_bundle(c);
	sni_cache_finish(c, "");
	sni_cache_lookup(c, "i3.test", time(NULL), &m1);
	ok(m1.ec && X509_cmp(sk_X509_value(m1.ec->chain, 0), ca) != 0 &&
	       sk_X509_num(m1.ec->chain) == 1,
	   "interning: another CA is kept apart");
	sni_cache_lookup(c, "i1.test", time(NULL), &m1);
	sni_cache_lookup(c, "i2.test", time(NULL), &m2);
	ok(m1.ec && m2.ec && m1.ec != m2.ec, "interning: two entries");
	ok(m1.ec && m2.ec && sk_X509_value(m1.ec->chain, 0) == sk_X509_value(m2.ec->chain, 0),
	   "interning: identical CA parsed twice is one X509");
	ok(m1.ec && X509_cmp(sk_X509_value(m1.ec->chain, 0), ca) == 0,
	   "interning: the CA is the right certificate");
	sni_cache_free(c);
}

/* Many names: every one found, whatever the table's probing does. */
static void test_many(void)
{
	struct sni_cache *c = sni_cache_new();
	char name[64], wild[160];
	int i, found = 0, wild_found = 0, n = 1500;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "host%d.many.test", i);
		snprintf(wild, sizeof(wild), "DNS:%s,DNS:*.w%d.many.test", name, i);
		add(c, i + 1, name, ec_key, name, wild);
	}
	ok(sni_cache_finish(c, "") == 0 && sni_cache_count(c) == (size_t)n, "1500 entries");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "HOST%d.many.test", i);
		found += lookup_ec(c, name) == i + 1;
		snprintf(wild, sizeof(wild), "x.w%d.many.test", i);
		wild_found += lookup_ec(c, wild) == i + 1;
	}
	ok(found == n, "every exact name found (%d of %d)", found, n);
	ok(wild_found == n, "every wildcard found (%d of %d)", wild_found, n);
	ok(lookup_ec(c, "host1500.many.test") == -2, "a name never added: no match");
	ok(sni_cache_has(c, 750, 1) && !sni_cache_has(c, 1501, 1), "has over many entries");
	sni_cache_free(c);
}

/* A rebuild carries unchanged entries over from the old cache. */
static void test_carry_over(void)
{
	struct sni_cache *old = build_main("default.test");
	struct sni_cache *next = sni_cache_new();
	const struct sni_entry *e, *dual_rsa = sni_cache_get(old, 6, 1);
	X509 *leaf = dual_rsa ? dual_rsa->leaf : NULL;
	struct sni_match m;
	long long id;
	int copied = 0;

	ok(sni_cache_get(old, 3, 1) && sni_cache_get(old, 3, 1)->cert_id == 3, "get: by id");
	ok(sni_cache_get(old, 3, 2) == NULL && sni_cache_get(old, 99, 1) == NULL,
	   "get: wrong version or unknown id: NULL");
	ok(sni_cache_get(NULL, 3, 1) == NULL, "get: NULL cache");
	for (id = 1; id <= 10; id++)
		if (id != 4 && (e = sni_cache_get(old, id, 1)) != NULL)
			copied += sni_cache_add_entry(next, e) == 0;
	ok(copied == 9, "carry over 9 of 10 entries");
	ok(sni_cache_add_entry(next, NULL) == -1, "carry over NULL: refused");
	ok(add(next, 11, "new.test", ec_key, "new.test", NULL) == 0, "add a new certificate");
	ok(sni_cache_finish(next, "default.test") == 0, "rebuilt cache finished");
	ok(sni_cache_add_entry(next, dual_rsa) == -1, "carry over after finish: refused");
	sni_cache_free(old);
	ok(sni_cache_count(next) == 10, "rebuilt cache: 10 entries");
	ok(lookup_ec(next, "x.wild.test") == 3, "entry left out: its name falls to the wildcard");
	ok(lookup_ec(next, "new.test") == 11, "new entry served");
	ok(sni_cache_lookup(next, "dual.test", time(NULL), &m) == 0 && id_of(m.rsa) == 6 &&
	       m.rsa->kind == SNI_KEY_RSA && m.rsa->leaf == leaf,
	   "carried entry: same leaf, kind");
	ok(m.rsa && m.rsa->not_after > time(NULL) && strcmp(m.rsa->domain, "dual.test") == 0,
	   "carried entry: dates and domain");
	ok(lookup_ec(next, "alt.test") == 2, "carried entry: names");
	ok(lookup_ec(next, "nothing.test") == 8, "carried default");
	ok(sni_cache_has(next, 6, 1) && !sni_cache_has(next, 4, 1), "has after the rebuild");
	ok(m.rsa && sk_X509_num(m.rsa->chain) == 1 &&
	       X509_cmp(sk_X509_value(m.rsa->chain, 0), ca) == 0,
	   "carried entry: chain");
	sni_cache_free(next);
}

/* The toolkit's self-signed certificates go in as they are. */
static void test_toolkit_bundle(void)
{
	struct sni_cache *c = sni_cache_new();
	const char *extra[] = {"Extra.Toolkit.test"};
	struct cert_bundle b;
	struct error err;
	struct sni_match m;

	ok(cert_issue_selfsigned(ca, ca_key, "toolkit.test", extra, 1, &b, &err) == 0,
	   "toolkit: issue a self-signed leaf");
	ok(sni_cache_add(c, 42, 2, "toolkit.test", &b) == 0, "toolkit: added");
	ok(sni_cache_finish(c, "toolkit.test") == 0, "toolkit: finish");
	ok(lookup_ec(c, "extra.toolkit.test") == 42, "toolkit: extra SAN found");
	ok(sni_cache_lookup(c, "toolkit.test", time(NULL), &m) == 0 && m.ec && !m.is_default &&
	       m.ec->n_names == 2,
	   "toolkit: CN and SANs, deduplicated");
	ok(sni_cache_has(c, 42, 2) == 1, "toolkit: has");
	sni_cache_free(c);
}

int main(void)
{
	struct error err;

	if (cert_issue_test_ca(&ca, &ca_key, &err) < 0) {
		printf("Bail out! no test CA: %s\n", err.message);
		return 1;
	}
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	test_empty();
	test_exact_and_wildcard();
	test_kinds();
	test_names();
	test_default();
	test_choice_over_time();
	test_covers();
	test_bad_bundles();
	test_ca_interning();
	test_many();
	test_carry_over();
	test_toolkit_bundle();
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	return done_testing();
}
