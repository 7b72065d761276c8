/* The listeners' TLS: one server context for every worker, the
 * certificate chosen per handshake from the connection's SNI cache.
 *
 * The ClientHello callback reads the SNI itself (strictly, as OpenSSL
 * would), looks it up and hands OpenSSL every certificate of the match
 * (EC, RSA, other), so OpenSSL picks the one the client's signature
 * algorithms and ciphers allow. Nothing is set on the context, which never
 * changes after creation: new certificates arrive with new caches.
 *
 * Session tickets are stateless (no server-side cache) under keys shared
 * by every context: a current key that encrypts and a previous one that
 * still decrypts (and asks for a fresh ticket). A rotation bumps a
 * generation counter; each thread keeps its own copy of the keys and
 * refreshes it under the lock only when the generation moved, so the
 * handshake path costs one atomic load. */
#include "gateway/tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "crypto/secret.h"

/* Mozilla "intermediate" TLS 1.2 ciphers; TLS 1.3 suites stay the default. */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS        "X25519:P-256"
#define TLS_SID_CONTEXT   "postern"
#define TLS_SNI_MAX       255 /* TLSEXT_MAXLEN_host_name: OpenSSL refuses longer names */
#define TICKET_NAME_LEN   16
#define TICKET_SECRET_LEN 32
#define TICKET_IV_LEN     16

enum tls_ex {
	TLS_EX_CACHE,
	TLS_EX_ENTRY, /* TLS_EX_ENTRY + kind: the match's entry of that kind */
	TLS_EX_MAX = TLS_EX_ENTRY + SNI_KEY_MAX
};

struct tls_ticket_key {
	unsigned char name[TICKET_NAME_LEN];
	unsigned char aes[TICKET_SECRET_LEN];  /* AES-256-CBC */
	unsigned char hmac[TICKET_SECRET_LEN]; /* HMAC-SHA256 */
};

struct tls_ticket_keys {
	struct tls_ticket_key current;
	struct tls_ticket_key previous;
	int have_previous;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok;
static int ex_index[TLS_EX_MAX];
static EVP_CIPHER *ticket_cipher; /* fetched once: a fetch per ticket is slow */

static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_ticket_keys keys;  /* under keys_lock */
static atomic_ulong keys_generation; /* 0 until the first keys exist */
static _Thread_local struct tls_ticket_keys thread_keys;
static _Thread_local unsigned long thread_keys_generation;

static atomic_ullong handshakes_done;
static atomic_ullong handshake_failures;

/* ---- session tickets */

int tls_rotate_ticket_keys(void)
{
	struct tls_ticket_key fresh;

	if (RAND_bytes((unsigned char *)&fresh, sizeof(fresh)) != 1) {
		ERR_clear_error();
		return -1;
	}
	pthread_mutex_lock(&keys_lock);
	secret_wipe(&keys.previous, sizeof(keys.previous));
	if (atomic_load(&keys_generation) != 0) {
		keys.previous = keys.current;
		keys.have_previous = 1;
	}
	keys.current = fresh;
	atomic_fetch_add_explicit(&keys_generation, 1, memory_order_release);
	pthread_mutex_unlock(&keys_lock);
	secret_wipe(&fresh, sizeof(fresh));
	return 0;
}

/* The calling thread's copy of the keys, refreshed when they rotated;
 * NULL before the first rotation. */
static const struct tls_ticket_keys *thread_ticket_keys(void)
{
	unsigned long gen = atomic_load_explicit(&keys_generation, memory_order_acquire);

	if (gen == 0)
		return NULL;
	if (gen != thread_keys_generation) {
		pthread_mutex_lock(&keys_lock);
		thread_keys = keys;
		thread_keys_generation = atomic_load(&keys_generation);
		pthread_mutex_unlock(&keys_lock);
	}
	return &thread_keys;
}

static int ticket_hmac_init(EVP_MAC_CTX *hctx, const struct tls_ticket_key *k)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* OpenSSL's ticket key callback. Encrypting: 1, or -1 on failure.
 * Decrypting: 1 (current key), 2 (previous key: issue a fresh ticket), 0
 * (unknown key: a full handshake follows), -1 on failure. */
static int tls_on_ticket_key(SSL *ssl, unsigned char key_name[TICKET_NAME_LEN], unsigned char *iv,
                             EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_keys *k = thread_ticket_keys();
	const struct tls_ticket_key *use;

	(void)ssl;
	if (k == NULL)
		return enc ? -1 : 0;
	if (enc) {
		use = &k->current;
		if (RAND_bytes(iv, TICKET_IV_LEN) != 1)
			return -1;
		memcpy(key_name, use->name, TICKET_NAME_LEN);
		if (EVP_EncryptInit_ex2(cctx, ticket_cipher, use->aes, iv, NULL) != 1 ||
		    ticket_hmac_init(hctx, use) < 0)
			return -1;
		return 1;
	}
	if (memcmp(key_name, k->current.name, TICKET_NAME_LEN) == 0)
		use = &k->current;
	else if (k->have_previous && memcmp(key_name, k->previous.name, TICKET_NAME_LEN) == 0)
		use = &k->previous;
	else
		return 0;
	if (EVP_DecryptInit_ex2(cctx, ticket_cipher, use->aes, iv, NULL) != 1 ||
	    ticket_hmac_init(hctx, use) < 0)
		return -1;
	return use == &k->previous ? 2 : 1;
}

/* ---- the handshake */

/* The host name of the ClientHello's server_name extension, copied into
 * name (TLS_SNI_MAX + 1 bytes); "" when the client sent none. Returns 0;
 * -1 when the extension is malformed (decode_error); -2 when the name is
 * over 255 bytes or holds a NUL (unrecognized_name, as OpenSSL would). */
static int client_hello_sni(SSL *ssl, char *name)
{
	const unsigned char *p;
	size_t len, list_len, name_len;

	name[0] = '\0';
	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len))
		return 0;
	/* ServerNameList: u16 length, then exactly one host_name entry
	 * (u8 type 0, u16 length, the name), nothing after it. */
	if (len < 5)
		return -1;
	list_len = (size_t)p[0] << 8 | p[1];
	name_len = (size_t)p[3] << 8 | p[4];
	if (list_len != len - 2 || p[2] != TLSEXT_NAMETYPE_host_name || name_len != list_len - 3 ||
	    name_len == 0)
		return -1;
	if (name_len > TLS_SNI_MAX || memchr(p + 5, '\0', name_len) != NULL)
		return -2;
	memcpy(name, p + 5, name_len);
	name[name_len] = '\0';
	return 0;
}

/* Give OpenSSL every certificate of the match and remember the entries.
 * One OpenSSL refuses (a key or CA signature under its security level) is
 * skipped, so it cannot break the others. Returns how many it took. */
static int present(SSL *ssl, const struct sni_match *m)
{
	const struct sni_entry *by_kind[SNI_KEY_MAX] = {
	    [SNI_KEY_EC] = m->ec,
	    [SNI_KEY_RSA] = m->rsa,
	    [SNI_KEY_OTHER] = m->other,
	};
	int kind, taken = 0;

	/* EC last: the key OpenSSL considers current when it picks none. */
	for (kind = SNI_KEY_MAX - 1; kind >= 0; kind--) {
		const struct sni_entry *e = by_kind[kind];

		/* A refusal must leave no error behind: SSL_get_error would
		 * then report this handshake as failed. */
		ERR_set_mark();
		if (e != NULL && SSL_use_cert_and_key(ssl, e->leaf, e->key, e->chain, 1) != 1)
			e = NULL;
		ERR_pop_to_mark();
		if (SSL_set_ex_data(ssl, ex_index[TLS_EX_ENTRY + kind], (void *)e) != 1)
			return 0;
		taken += e != NULL;
	}
	return taken;
}

static int tls_on_client_hello(SSL *ssl, int *al, void *arg)
{
	const struct sni_cache *cache = SSL_get_ex_data(ssl, ex_index[TLS_EX_CACHE]);
	char name[TLS_SNI_MAX + 1];
	struct sni_match m;
	int rc;

	(void)arg;
	rc = client_hello_sni(ssl, name);
	if (rc < 0) {
		*al = rc == -1 ? SSL_AD_DECODE_ERROR : SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (sni_cache_lookup(cache, name, time(NULL), &m) < 0) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (present(ssl, &m) == 0) {
		ERR_clear_error();
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* Acknowledge the SNI (the ClientHello callback already acted on it), so
 * the server_name extension is echoed and the name kept in the session. */
static int tls_on_servername(SSL *ssl, int *al, void *arg)
{
	(void)ssl;
	(void)al;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

/* Choose "http/1.1" when the client offers it; otherwise go on without
 * ALPN rather than fail (an h2-only client then falls back or gives up). */
static int tls_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const char http11[] = "http/1.1";
	unsigned int i = 0;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		unsigned int n = in[i];

		if (n == 0 || n > inlen - i - 1)
			break;
		if (n == sizeof(http11) - 1 && memcmp(in + i + 1, http11, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Count finished handshakes, and failed ones: a fatal alert sent or
 * received before the handshake finished (our unrecognized_name, a
 * refused version, a client that distrusts the certificate, ...). */
static void tls_on_info(const SSL *ssl, int where, int ret)
{
	if (where & SSL_CB_HANDSHAKE_DONE)
		atomic_fetch_add_explicit(&handshakes_done, 1, memory_order_relaxed);
	else if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL && SSL_in_init(ssl))
		atomic_fetch_add_explicit(&handshake_failures, 1, memory_order_relaxed);
}

void tls_counters(unsigned long long *handshakes, unsigned long long *failures)
{
	*handshakes = atomic_load_explicit(&handshakes_done, memory_order_relaxed);
	*failures = atomic_load_explicit(&handshake_failures, memory_order_relaxed);
}

/* ---- contexts and connections */

static void tls_init(void)
{
	int i;

	for (i = 0; i < TLS_EX_MAX; i++) {
		ex_index[i] = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (ex_index[i] < 0)
			return;
	}
	ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (ticket_cipher == NULL || tls_rotate_ticket_keys() < 0)
		return;
	init_ok = 1;
}

static int ctx_configure(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CONTEXT,
	                                   sizeof(TLS_SID_CONTEXT) - 1) != 1)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* read whole socket buffers, not a record header then its body: one
	 * read(2) per request. gateway/cio.c reads until OpenSSL wants more
	 * and checks SSL_pending, so nothing waits in OpenSSL's buffer
	 * (libevent's bufferevent_openssl does not, and stalls with it). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* One TLS 1.3 ticket per handshake, not OpenSSL's two: each costs a
	 * session copy, a key derivation and an encryption (about a tenth of
	 * a full handshake), and a resumed connection gets a fresh one. */
	if (SSL_CTX_set_num_tickets(ctx, 1) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_on_ticket_key) != 1)
		return -1;
	SSL_CTX_set_alpn_select_cb(ctx, tls_on_alpn, NULL);
	SSL_CTX_set_client_hello_cb(ctx, tls_on_client_hello, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_on_servername);
	SSL_CTX_set_info_callback(ctx, tls_on_info);
	return 0;
}

SSL_CTX *tls_server_ctx_new(struct error *err)
{
	SSL_CTX *ctx = NULL;
	unsigned long e;

	if (pthread_once(&init_once, tls_init) == 0 && init_ok) {
		ctx = SSL_CTX_new(TLS_server_method());
		if (ctx != NULL && ctx_configure(ctx) == 0)
			return ctx;
	}
	e = ERR_peek_last_error();
	error_set(err, "tls",
	          "Could not set up TLS (%s); check that OpenSSL 3 is installed "
	          "with its default provider.",
	          e ? ERR_reason_error_string(e) : "out of memory");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_set_cache(SSL *ssl, const struct sni_cache *cache)
{
	if (pthread_once(&init_once, tls_init) == 0 && init_ok)
		SSL_set_ex_data(ssl, ex_index[TLS_EX_CACHE], (void *)cache);
}

const struct sni_entry *tls_chosen_entry(SSL *ssl)
{
	const struct sni_entry *first = NULL;
	X509 *presented;
	int kind;

	if (ssl == NULL || pthread_once(&init_once, tls_init) != 0 || !init_ok)
		return NULL;
	presented = SSL_get_certificate(ssl);
	for (kind = 0; kind < SNI_KEY_MAX; kind++) {
		const struct sni_entry *e = SSL_get_ex_data(ssl, ex_index[TLS_EX_ENTRY + kind]);

		if (e != NULL && e->leaf == presented)
			return e;
		if (first == NULL)
			first = e;
	}
	/* A resumed session presents no certificate: any entry of the match
	 * covers the SNI just as well. */
	return first;
}
