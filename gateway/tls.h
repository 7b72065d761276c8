/* TLS for the listeners: one server SSL_CTX shared by every worker. The
 * certificate is chosen per handshake in the ClientHello callback from the
 * SNI cache the connection was given (its snapshot's), so certificates
 * change without touching the context. */
#ifndef POSTERN_GATEWAY_TLS_H
#define POSTERN_GATEWAY_TLS_H

#include <openssl/ssl.h>

#include "common/error.h"
#include "gateway/sni_cache.h"

/* A server context: TLS 1.2 and 1.3 only, Mozilla "intermediate" ciphers,
 * groups X25519 and P-256, ALPN http/1.1 (and none), no renegotiation,
 * server cipher preference off (as Mozilla intermediate), no server-side
 * session cache but stateless session tickets (one per TLS 1.3 handshake)
 * with keys from tls_rotate_ticket_keys, SSL_MODE_RELEASE_BUFFERS. The
 * ClientHello callback looks the SNI up in the cache set by tls_set_cache
 * and presents the match (sni_cache_lookup), or fails the handshake with
 * an unrecognized_name alert (decode_error for a malformed server_name
 * extension). The context's info callback counts handshakes (see
 * tls_counters): a connection that sets its own with SSL_set_info_callback
 * must call on to it. Returns NULL with err. Caller frees with
 * SSL_CTX_free. */
SSL_CTX *tls_server_ctx_new(struct error *err);

/* Before the handshake: the SNI cache this connection's handshake reads
 * (borrowed: the caller keeps it alive as long as the SSL). */
void tls_set_cache(SSL *ssl, const struct sni_cache *cache);

/* Make new session-ticket keys (shared by every context); the previous key
 * still decrypts tickets for one more period, the one before is wiped.
 * The first context makes the first keys. Call from a timer (e.g. every
 * hour), any thread. Returns 0, or -1 when no random bytes (keys kept). */
int tls_rotate_ticket_keys(void);

/* What the handshake chose, for the 421 check and the access log: the
 * entry presented (NULL before the ClientHello was processed). On a
 * resumed session, which presents no certificate, an entry of the match
 * for this handshake's SNI. Borrowed: the entry stays valid while the
 * connection holds a reference to the snapshot it came from. */
const struct sni_entry *tls_chosen_entry(SSL *ssl);

/* Totals since start, over every context: handshakes finished, and
 * handshakes failed with a fatal alert sent or received (an unknown SNI,
 * a refused version, a client that does not trust the certificate...).
 * Connections dropped without an alert are not counted. Any thread. */
void tls_counters(unsigned long long *handshakes, unsigned long long *failures);

#endif
