/* The server TLS context, driven by real client handshakes over in-memory
 * BIO pairs: certificate choice by SNI (exact, wildcard, default, none),
 * by key type (RSA-only and ECDSA clients), by validity, protocol
 * versions, ALPN, session tickets across key rotations, the chosen entry,
 * the counters, snapshots, and hand-made ClientHellos with bad SNI. */
#include "gateway/tls.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "gateway/snapshot.h"
#include "tests/unit/tap.h"

#define DAY (24L * 3600)

static X509 *ca;
static EVP_PKEY *ca_key;
static EVP_PKEY *ec_key;
static EVP_PKEY *rsa_key;
static SSL_CTX *server_ctx;

enum leaf_id {
	L_EXACT,
	L_WILD,
	L_DUAL_EC,
	L_DUAL_RSA,
	L_DEFAULT,
	L_TWO_SOON,
	L_TWO_LATE,
	L_EXP_VALID,
	L_EXP_FUTURE,
	L_EXP_PAST,
	L_RSA_ONLY,
	L_WEAK_EC,
	L_MAX
};

static X509 *leaves[L_MAX];

static X509 *make_leaf(EVP_PKEY *key, const char *cn, long nb, long na, long serial)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char san[300];

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, key);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ca_key, EVP_sha256());
	return x;
}

static void add_leaf(struct sni_cache *c, enum leaf_id id, const char *domain)
{
	struct cert_bundle b = {leaves[id], sk_X509_new_null(),
	                        id == L_DUAL_RSA || id == L_RSA_ONLY ? rsa_key : ec_key};

	X509_up_ref(b.leaf);
	EVP_PKEY_up_ref(b.key);
	X509_up_ref(ca);
	sk_X509_push(b.chain, ca);
	sni_cache_add(c, id, 1, domain, &b);
}

static void make_leaves(void)
{
	static const struct {
		const char *cn;
		long nb, na;
	} spec[L_MAX] = {
	    [L_EXACT] = {"exact.test", -DAY, 365 * DAY},
	    [L_WILD] = {"*.wild.test", -DAY, 365 * DAY},
	    [L_DUAL_EC] = {"dual.test", -DAY, 365 * DAY},
	    [L_DUAL_RSA] = {"dual.test", -DAY, 365 * DAY},
	    [L_DEFAULT] = {"default.test", -DAY, 365 * DAY},
	    [L_TWO_SOON] = {"two.test", -DAY, 30 * DAY},
	    [L_TWO_LATE] = {"two.test", -DAY, 300 * DAY},
	    [L_EXP_VALID] = {"exp.test", -DAY, 100 * DAY},
	    [L_EXP_FUTURE] = {"exp.test", 10 * DAY, 400 * DAY},
	    [L_EXP_PAST] = {"exp.test", -100 * DAY, -DAY},
	    [L_RSA_ONLY] = {"rsa.test", -DAY, 365 * DAY},
	    [L_WEAK_EC] = {"weak.test", -DAY, 365 * DAY},
	};
	int i;

	for (i = 0; i < L_MAX; i++)
		leaves[i] = make_leaf(i == L_DUAL_RSA || i == L_RSA_ONLY ? rsa_key : ec_key,
		                      spec[i].cn, spec[i].nb, spec[i].na, 100 + i);
}

static struct sni_cache *make_cache(const char *default_domain)
{
	struct sni_cache *c = sni_cache_new();
	int i;

	for (i = 0; i < L_MAX; i++) {
		const char *domain = i == L_WILD      ? "*.wild.test"
		                     : i == L_DEFAULT ? "default.test"
		                                      : "other.test";

		add_leaf(c, (enum leaf_id)i, domain);
	}
	sni_cache_finish(c, default_domain);
	return c;
}

/* ---- one client handshake */

struct client_opts {
	const char *sni;
	int min_version, max_version;
	const char *sigalgs; /* client signature algorithms */
	const char *ciphers; /* TLS 1.2 cipher list (with @SECLEVEL if needed) */
	const char *groups;
	const unsigned char *alpn; /* wire format */
	unsigned int alpn_len;
	SSL_SESSION *session; /* resume this */
};

struct result {
	int ok;
	X509 *peer;              /* what the client received (owned) */
	int alert_received;      /* the alert description the client read, or -1 */
	int unrecognized_reason; /* the client's error said "tlsv1 unrecognized name" */
	int reused;
	int version;
	char alpn[32];
	const struct sni_entry *chosen;
	const struct sni_entry *chosen_before; /* tls_chosen_entry before the handshake */
	SSL_SESSION *session; /* the client's session after reading tickets (owned) */
};

static void client_on_info(const SSL *ssl, int where, int ret)
{
	struct result *r = SSL_get_app_data(ssl);

	if (where & SSL_CB_READ_ALERT)
		r->alert_received = ret & 0xff;
}

static SSL *client_new(const struct client_opts *o, struct result *r)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c;

	SSL_CTX_set_min_proto_version(cctx, o->min_version);
	SSL_CTX_set_max_proto_version(cctx, o->max_version);
	if (o->ciphers)
		SSL_CTX_set_cipher_list(cctx, o->ciphers);
	if (o->sigalgs)
		SSL_CTX_set1_sigalgs_list(cctx, o->sigalgs);
	if (o->groups)
		SSL_CTX_set1_groups_list(cctx, o->groups);
	/* no client cache: freeing it would mark our sessions not resumable */
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
	c = SSL_new(cctx);
	SSL_CTX_free(cctx);
	SSL_set_app_data(c, r);
	SSL_set_info_callback(c, client_on_info);
	if (o->sni)
		SSL_set_tlsext_host_name(c, o->sni);
	if (o->alpn)
		SSL_set_alpn_protos(c, o->alpn, o->alpn_len);
	if (o->session)
		SSL_set_session(c, o->session);
	SSL_set_connect_state(c);
	return c;
}

static int progressing(SSL *s, int rc)
{
	int e = SSL_get_error(s, rc);

	return rc == 1 || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Run the handshake of a client with options o against server_ctx using
 * cache; fill r. Returns r->ok. */
static int handshake(const struct sni_cache *cache, const struct client_opts *o, struct result *r)
{
	SSL *c, *s = SSL_new(server_ctx);
	BIO *cb, *sb;
	int i, crc = 0, src = 0;
	unsigned long e;
	const unsigned char *proto;
	unsigned int proto_len;
	char buf[1];

	memset(r, 0, sizeof(*r));
	r->alert_received = -1;
	ERR_clear_error();
	c = client_new(o, r);
	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_accept_state(s);
	if (cache)
		tls_set_cache(s, cache);
	r->chosen_before = tls_chosen_entry(s);
	for (i = 0; i < 20 && (crc != 1 || src != 1); i++) {
		if (crc != 1)
			crc = SSL_do_handshake(c);
		if (src != 1)
			src = SSL_do_handshake(s);
		if (!progressing(s, src)) {
			SSL_do_handshake(c); /* read the server's alert */
			break;
		}
		if (!progressing(c, crc))
			break;
	}
	r->ok = crc == 1 && src == 1;
	if (r->ok) {
		SSL_read(c, buf, sizeof(buf)); /* take in TLS 1.3 tickets */
		/* as after a close_notify: keep the session resumable */
		SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		r->peer = SSL_get1_peer_certificate(c);
		r->reused = SSL_session_reused(c);
		r->version = SSL_version(c);
		SSL_get0_alpn_selected(c, &proto, &proto_len);
		snprintf(r->alpn, sizeof(r->alpn), "%.*s", (int)proto_len, (const char *)proto);
		r->chosen = tls_chosen_entry(s);
		r->session = SSL_get1_session(c);
	}
	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_REASON(e) == SSL_R_TLSV1_UNRECOGNIZED_NAME)
			r->unrecognized_reason = 1;
	}
	SSL_free(c);
	SSL_free(s);
	return r->ok;
}

static void result_free(struct result *r)
{
	X509_free(r->peer);
	SSL_SESSION_free(r->session);
	memset(r, 0, sizeof(*r));
}

static const struct client_opts tls13 = {.min_version = TLS1_2_VERSION,
                                         .max_version = TLS1_3_VERSION};

/* The client saw leaf id (and the server's chosen entry says so too). */
static int got(const struct result *r, enum leaf_id id)
{
	return r->ok && r->peer && X509_cmp(r->peer, leaves[id]) == 0 && r->chosen &&
	       r->chosen->cert_id == id;
}

static void test_by_name(const struct sni_cache *with_default, const struct sni_cache *no_default)
{
	struct client_opts o = tls13;
	struct result r;

	o.sni = "exact.test";
	handshake(no_default, &o, &r);
	ok(got(&r, L_EXACT), "exact name: its certificate");
	ok(r.version == TLS1_3_VERSION, "TLS 1.3 by default");
	ok(r.chosen_before == NULL, "chosen entry NULL before the handshake");
	result_free(&r);
	o.sni = "EXACT.Test";
	ok(handshake(no_default, &o, &r) && got(&r, L_EXACT), "SNI in another case: same");
	result_free(&r);
	o.sni = "a.wild.test";
	ok(handshake(no_default, &o, &r) && got(&r, L_WILD), "wildcard covers one label");
	result_free(&r);
	o.sni = "a.b.wild.test";
	ok(!handshake(no_default, &o, &r), "two labels under a wildcard, no default: fails");
	ok(r.alert_received == SSL_AD_UNRECOGNIZED_NAME, "... with alert unrecognized_name");
	ok(r.unrecognized_reason, "... the client's error says tlsv1 unrecognized name");
	result_free(&r);
	ok(handshake(with_default, &o, &r) && got(&r, L_DEFAULT), "two labels: the default");
	result_free(&r);
	o.sni = NULL;
	ok(handshake(with_default, &o, &r) && got(&r, L_DEFAULT), "no SNI: the default");
	result_free(&r);
	ok(!handshake(no_default, &o, &r) && r.alert_received == SSL_AD_UNRECOGNIZED_NAME,
	   "no SNI, no default: unrecognized_name");
	result_free(&r);
	o.sni = "nowhere.test";
	ok(!handshake(no_default, &o, &r) && r.unrecognized_reason,
	   "unknown name, no default: tlsv1 unrecognized name");
	result_free(&r);
	ok(handshake(with_default, &o, &r) && got(&r, L_DEFAULT), "unknown name: the default");
	ok(r.chosen && r.chosen->cert_id == L_DEFAULT, "chosen entry: the default");
	result_free(&r);
	o.sni = "exact.test";
	ok(!handshake(NULL, &o, &r) && r.alert_received == SSL_AD_UNRECOGNIZED_NAME,
	   "no cache set on the connection: unrecognized_name");
	result_free(&r);
}

static void test_by_validity(const struct sni_cache *cache)
{
	struct client_opts o = tls13;
	struct result r;

	o.sni = "two.test";
	ok(handshake(cache, &o, &r) && got(&r, L_TWO_LATE), "two valid: the later expiry");
	result_free(&r);
	o.sni = "exp.test";
	ok(handshake(cache, &o, &r) && got(&r, L_EXP_VALID),
	   "valid beats expired and not-yet-valid with later expiry");
	result_free(&r);
}

static void test_by_key(const struct sni_cache *cache)
{
	struct client_opts o = tls13;
	struct result r;

	o.sni = "dual.test";
	ok(handshake(cache, &o, &r) && got(&r, L_DUAL_EC), "EC + RSA, default client: ECDSA");
	result_free(&r);
	o.sigalgs = "ECDSA+SHA256";
	ok(handshake(cache, &o, &r) && got(&r, L_DUAL_EC), "ECDSA-only client: ECDSA");
	result_free(&r);
	o.sigalgs = "RSA-PSS+SHA256:RSA+SHA256";
	ok(handshake(cache, &o, &r) && got(&r, L_DUAL_RSA), "RSA-only client, TLS 1.3: RSA");
	ok(r.chosen && r.chosen->kind == SNI_KEY_RSA, "chosen entry is the RSA one");
	result_free(&r);
	o.max_version = TLS1_2_VERSION;
	o.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
	ok(handshake(cache, &o, &r) && got(&r, L_DUAL_RSA), "RSA-only client, TLS 1.2: RSA");
	ok(r.version == TLS1_2_VERSION, "... over TLS 1.2");
	result_free(&r);
	o.sigalgs = NULL;
	o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
	ok(handshake(cache, &o, &r) && got(&r, L_DUAL_EC), "ECDSA cipher, TLS 1.2: ECDSA");
	result_free(&r);
	o.sni = "rsa.test";
	ok(!handshake(cache, &o, &r), "ECDSA-only TLS 1.2 client, RSA-only name: fails");
	result_free(&r);
	o.ciphers = NULL;
	ok(handshake(cache, &o, &r) && got(&r, L_RSA_ONLY), "any client, RSA-only name: RSA");
	result_free(&r);
}

static void test_versions_and_alpn(const struct sni_cache *cache)
{
	struct client_opts o = tls13;
	struct result r;
	static const unsigned char both[] = "\x02h2\x08http/1.1";
	static const unsigned char h2[] = "\x02h2";

	o.sni = "exact.test";
	o.min_version = o.max_version = TLS1_1_VERSION;
	o.ciphers = "DEFAULT@SECLEVEL=0";
	ok(!handshake(cache, &o, &r), "TLS 1.1 client refused");
	ok(r.alert_received == SSL_AD_PROTOCOL_VERSION, "... with alert protocol_version");
	result_free(&r);
	o.min_version = o.max_version = TLS1_2_VERSION;
	o.ciphers = NULL;
	ok(handshake(cache, &o, &r) && r.version == TLS1_2_VERSION, "TLS 1.2 client accepted");
	result_free(&r);
	o.ciphers = "ECDHE-ECDSA-AES128-SHA";
	ok(!handshake(cache, &o, &r), "TLS 1.2 CBC-SHA1 cipher (not intermediate) refused");
	result_free(&r);
	o = tls13;
	o.sni = "exact.test";
	o.alpn = both;
	o.alpn_len = sizeof(both) - 1;
	ok(handshake(cache, &o, &r) && strcmp(r.alpn, "http/1.1") == 0,
	   "ALPN h2,http/1.1: http/1.1 chosen");
	result_free(&r);
	o.alpn = h2;
	o.alpn_len = sizeof(h2) - 1;
	ok(handshake(cache, &o, &r) && r.alpn[0] == '\0', "ALPN h2 only: no ALPN, no failure");
	result_free(&r);
	o.alpn = NULL;
	ok(handshake(cache, &o, &r) && r.alpn[0] == '\0', "no ALPN offered: none chosen");
	result_free(&r);
	o.alpn = NULL;
	o.groups = "P-384:P-256";
	ok(handshake(cache, &o, &r) && got(&r, L_EXACT),
	   "HelloRetryRequest (client key share P-384): same certificate");
	result_free(&r);
}

/* Resume sessions across ticket-key rotations at one protocol version. */
static void test_tickets(const struct sni_cache *cache, int version, const char *v)
{
	struct client_opts o = tls13;
	struct result first, r, again;

	o.sni = "exact.test";
	o.max_version = version;
	ok(handshake(cache, &o, &first) && first.session && !first.reused,
	   "%s: full handshake gives a session", v);
	ok(first.session && SSL_SESSION_is_resumable(first.session),
	   "%s: the session carries a ticket", v);
	o.session = first.session;
	ok(handshake(cache, &o, &r) && r.reused, "%s: resumed with the ticket", v);
	ok(r.chosen && r.chosen->cert_id == L_EXACT, "%s: resumed: chosen entry still right", v);
	result_free(&r);
	ok(tls_rotate_ticket_keys() == 0, "%s: rotate once", v);
	ok(handshake(cache, &o, &r) && r.reused, "%s: resumed after one rotation", v);
	o.session = r.session;
	ok(handshake(cache, &o, &again) && again.reused,
	   "%s: the ticket renewed after a rotation resumes too", v);
	result_free(&again);
	result_free(&r);
	o.session = first.session;
	ok(tls_rotate_ticket_keys() == 0, "%s: rotate twice", v);
	ok(handshake(cache, &o, &r) && !r.reused, "%s: after two rotations: full handshake", v);
	ok(got(&r, L_EXACT), "%s: ... which still works", v);
	result_free(&r);
	result_free(&first);
}

static void test_counters(const struct sni_cache *cache)
{
	struct client_opts o = tls13;
	struct result r;
	unsigned long long h0, f0, h1, f1;

	tls_counters(&h0, &f0);
	o.sni = "exact.test";
	handshake(cache, &o, &r);
	result_free(&r);
	tls_counters(&h1, &f1);
	ok(h1 == h0 + 1 && f1 == f0, "counters: a handshake counts once, no failure");
	o.sni = "nowhere.test";
	handshake(cache, &o, &r);
	result_free(&r);
	tls_counters(&h0, &f0);
	ok(h0 == h1 && f0 == f1 + 1, "counters: a refused SNI counts one failure");
	o.sni = "exact.test";
	o.min_version = o.max_version = TLS1_1_VERSION;
	o.ciphers = "DEFAULT@SECLEVEL=0";
	handshake(cache, &o, &r);
	result_free(&r);
	tls_counters(&h1, &f1);
	ok(h1 == h0 && f1 == f0 + 1, "counters: a refused version counts one failure");
	o = tls13;
	o.sni = "exact.test";
	o.groups = "P-384:P-256";
	handshake(cache, &o, &r);
	result_free(&r);
	tls_counters(&h0, &f0);
	ok(h0 == h1 + 1 && f0 == f1, "counters: a HelloRetryRequest handshake counts once");
}

/* A certificate OpenSSL refuses to serve (RSA-512: under any security
 * level) does not stop the others; alone, the handshake fails cleanly. */
static void test_refused_key(void)
{
	struct sni_cache *c = sni_cache_new();
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	X509 *weak_leaf = make_leaf(weak, "weak.test", -DAY, DAY, 7);
	X509 *solo_leaf = make_leaf(weak, "solo.test", -DAY, DAY, 8);
	struct cert_bundle wb = {weak_leaf, NULL, weak}, sb = {solo_leaf, NULL, weak};
	struct client_opts o = tls13;
	struct result r;

	EVP_PKEY_up_ref(weak);
	sni_cache_add(c, 50, 1, "weak.test", &wb);
	sni_cache_add(c, 51, 1, "solo.test", &sb);
	add_leaf(c, L_WEAK_EC, "weak.test");
	sni_cache_finish(c, "");
	o.sni = "weak.test";
	ok(handshake(c, &o, &r) && got(&r, L_WEAK_EC), "weak RSA next to EC: EC served");
	result_free(&r);
	o.sni = "solo.test";
	ok(!handshake(c, &o, &r) && r.alert_received == SSL_AD_INTERNAL_ERROR,
	   "only a refused certificate: internal_error alert");
	result_free(&r);
	sni_cache_free(c);
}

/* Workers handshaking (and resuming) while the keys rotate. */
struct worker {
	const struct sni_cache *cache;
	int full_ok, resumed;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct client_opts o = tls13;
	struct result r;
	SSL_SESSION *sess = NULL;
	int i;

	o.sni = "exact.test";
	for (i = 0; i < 40; i++) {
		o.session = sess;
		if (handshake(w->cache, &o, &r) && got(&r, L_EXACT))
			w->full_ok++;
		w->resumed += r.reused;
		SSL_SESSION_free(sess);
		sess = r.session;
		r.session = NULL;
		result_free(&r);
	}
	SSL_SESSION_free(sess);
	return NULL;
}

static void test_threads(const struct sni_cache *cache)
{
	struct worker w[2] = {{cache, 0, 0}, {cache, 0, 0}};
	pthread_t t[2];
	int i, rotations = 0;

	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	for (i = 0; i < 20; i++) {
		struct timespec pause = {0, 2000000};

		rotations += tls_rotate_ticket_keys() == 0;
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ok(rotations == 20, "threads: 20 key rotations meanwhile");
	ok(w[0].full_ok == 40 && w[1].full_ok == 40,
	   "threads: every handshake got its certificate");
	ok(w[0].resumed + w[1].resumed > 0, "threads: some sessions resumed (%d)",
	   w[0].resumed + w[1].resumed);
}

/* A new snapshot serves new handshakes; a connection keeps its own. */
static void test_snapshots(void)
{
	struct sni_cache *first = sni_cache_new(), *second = sni_cache_new();
	struct client_opts o = tls13;
	struct snapshot *held;
	struct result r;

	add_leaf(first, L_EXACT, "exact.test");
	sni_cache_finish(first, "");
	add_leaf(second, L_TWO_LATE, "two.test");
	sni_cache_finish(second, "");
	snapshot_publish(snapshot_new(first, NULL));
	held = snapshot_ref(snapshot_current());
	o.sni = "exact.test";
	ok(handshake(held->sni, &o, &r) && got(&r, L_EXACT), "snapshot 1 serves exact.test");
	result_free(&r);
	snapshot_publish(snapshot_new(second, NULL));
	o.sni = "two.test";
	ok(handshake(snapshot_current()->sni, &o, &r) && got(&r, L_TWO_LATE),
	   "snapshot 2 serves two.test");
	result_free(&r);
	o.sni = "exact.test";
	ok(!handshake(snapshot_current()->sni, &o, &r), "snapshot 2 no longer serves exact.test");
	result_free(&r);
	ok(handshake(held->sni, &o, &r) && got(&r, L_EXACT),
	   "a held reference to snapshot 1 still serves it");
	result_free(&r);
	snapshot_unref(held);
	snapshot_thread_release();
	snapshot_shutdown();
}

/* ---- hand-made ClientHellos */

static size_t put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/* A TLS 1.2 ClientHello whose server_name extension body is sni_ext. */
static size_t make_hello(unsigned char *out, const unsigned char *sni_ext, size_t sni_len)
{
	static const unsigned char fixed_ext[] = {
	    0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, /* groups: P-256 */
	    0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,             /* point formats */
	    0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* ecdsa_p256_sha256 */
	};
	unsigned char *p = out + 9;
	size_t body;

	*p++ = 0x03;
	*p++ = 0x03;
	memset(p, 0x42, 32);
	p += 32;
	*p++ = 0; /* no session id */
	p += put16(p, 2);
	p += put16(p, 0xc02b); /* ECDHE-ECDSA-AES128-GCM-SHA256 */
	*p++ = 1;
	*p++ = 0; /* null compression */
	p += put16(p, sizeof(fixed_ext) + 4 + sni_len);
	memcpy(p, fixed_ext, sizeof(fixed_ext));
	p += sizeof(fixed_ext);
	p += put16(p, 0x0000);
	p += put16(p, sni_len);
	memcpy(p, sni_ext, sni_len);
	p += sni_len;
	body = (size_t)(p - out) - 9;
	out[0] = 0x16; /* handshake record */
	out[1] = 0x03;
	out[2] = 0x01;
	put16(out + 3, body + 4);
	out[5] = 0x01; /* ClientHello */
	out[6] = 0;
	put16(out + 7, body);
	return (size_t)(p - out);
}

/* The server_name extension body for name[0..len) (list length fudged
 * by list_delta, name type type). */
static size_t make_sni(unsigned char *out, const char *name, size_t len, int list_delta, int type)
{
	put16(out, len + 3 + (size_t)list_delta);
	out[2] = (unsigned char)type;
	put16(out + 3, len);
	memcpy(out + 5, name, len);
	return len + 5;
}

/* Feed a raw ClientHello to a server; the first record it answers with:
 * its type, and for an alert its description. Returns the server's
 * SSL_do_handshake result. */
static int raw_hello(const struct sni_cache *cache, const unsigned char *hello, size_t len,
                     int *rec_type, int *alert)
{
	SSL *s = SSL_new(server_ctx);
	BIO *cb, *sb;
	unsigned char reply[4096];
	int rc, n;

	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(s, sb, sb);
	SSL_set_accept_state(s);
	tls_set_cache(s, cache);
	BIO_write(cb, hello, (int)len);
	rc = SSL_do_handshake(s);
	n = BIO_read(cb, reply, sizeof(reply));
	*rec_type = n > 0 ? reply[0] : -1;
	*alert = n >= 7 && reply[0] == 0x15 ? reply[6] : -1;
	ERR_clear_error();
	SSL_free(s);
	BIO_free(cb);
	return rc;
}

static void test_raw_hellos(const struct sni_cache *with_default,
                            const struct sni_cache *no_default)
{
	unsigned char hello[1024], sni[512];
	char name[301];
	int type, alert, rc;
	size_t n;

	n = make_hello(hello, sni, make_sni(sni, "exact.test", 10, 0, 0));
	rc = raw_hello(no_default, hello, n, &type, &alert);
	ok(rc != 0 && type == 0x16, "hand-made ClientHello with a good SNI: ServerHello");
	memset(name, 'a', 300);
	n = make_hello(hello, sni, make_sni(sni, name, 300, 0, 0));
	rc = raw_hello(no_default, hello, n, &type, &alert);
	ok(rc <= 0 && type == 0x15 && alert == SSL_AD_UNRECOGNIZED_NAME,
	   "300-byte SNI: alert unrecognized_name");
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_UNRECOGNIZED_NAME, "300-byte SNI, with a default: refused");
	n = make_hello(hello, sni, make_sni(sni, name, 255, 0, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc != 0 && type == 0x16, "255-byte unknown SNI with a default: served");
	n = make_hello(hello, sni, make_sni(sni, "exact\0test", 10, 0, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_UNRECOGNIZED_NAME, "SNI with a NUL: unrecognized_name");
	n = make_hello(hello, sni, make_sni(sni, "exact.test", 10, 1, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_DECODE_ERROR, "SNI list length too long: decode_error");
	n = make_hello(hello, sni, make_sni(sni, "exact.test", 10, -1, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_DECODE_ERROR, "SNI list length too short: decode_error");
	n = make_hello(hello, sni, make_sni(sni, "exact.test", 10, 0, 1));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_DECODE_ERROR, "SNI name type not host_name: decode_error");
	n = make_hello(hello, sni, make_sni(sni, "", 0, 0, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_DECODE_ERROR, "empty host name: decode_error");
	n = make_hello(hello, sni, 3);
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc <= 0 && alert == SSL_AD_DECODE_ERROR, "truncated server_name: decode_error");
	n = make_hello(hello, sni, make_sni(sni, "bad name!", 9, 0, 0));
	rc = raw_hello(with_default, hello, n, &type, &alert);
	ok(rc != 0 && type == 0x16, "SNI with bad characters, with a default: served");
}

int main(void)
{
	struct sni_cache *with_default, *no_default;
	struct error err;
	int i;

	if (cert_issue_test_ca(&ca, &ca_key, &err) < 0) {
		printf("Bail out! no test CA: %s\n", err.message);
		return 1;
	}
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	make_leaves();
	server_ctx = tls_server_ctx_new(&err);
	ok(server_ctx != NULL, "server context created");
	ok(server_ctx && SSL_CTX_get0_certificate(server_ctx) == NULL,
	   "no certificate on the context itself");
	with_default = make_cache("default.test");
	no_default = make_cache("");
	test_by_name(with_default, no_default);
	test_by_validity(no_default);
	test_by_key(no_default);
	test_versions_and_alpn(no_default);
	test_tickets(no_default, TLS1_3_VERSION, "TLS 1.3");
	test_tickets(no_default, TLS1_2_VERSION, "TLS 1.2");
	test_counters(no_default);
	test_refused_key();
	test_threads(no_default);
	test_snapshots();
	test_raw_hellos(with_default, no_default);
	sni_cache_free(with_default);
	sni_cache_free(no_default);
	SSL_CTX_free(server_ctx);
	for (i = 0; i < L_MAX; i++)
		X509_free(leaves[i]);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return done_testing();
}
