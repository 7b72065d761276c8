/* The firewall on the request path (SPEC section 6), run by workers after
 * routing: the client address (trusted_proxies), ip_deny, ip_allow, the
 * rate limit, then the WAF rules, with the body part the rules read
 * buffered first (up to waf_body_limit) so the verdict comes before any
 * body byte reaches the backend. Hits become events on the shared queue;
 * nothing here blocks, touches the disk or allocates per request. */
#ifndef POSTERN_GATEWAY_FIREWALL_H
#define POSTERN_GATEWAY_FIREWALL_H

#include <stdatomic.h>

#include "common/error.h"
#include "waf/engine.h"
#include "waf/rule.h"

struct conn;

/* Compiled rules shared by snapshots: a new snapshot whose rules did not
 * change takes another reference instead of compiling again. */
struct firewall_rules {
	atomic_int refs;
	struct waf_engine *engine;
	char *fingerprint; /* the rules' JSON, to notice a change */
};

/* Compile rules (control thread). NULL with err ("invalid_regex", ...). */
struct firewall_rules *firewall_rules_new(const struct waf_rule *rules, size_t n,
					  const char *fingerprint, struct error *err);
struct firewall_rules *firewall_rules_ref(struct firewall_rules *r);
void firewall_rules_unref(struct firewall_rules *r); /* NULL is fine; any thread */

/* Set c->client_addr and c->client_ip for the request in c->req: the TCP
 * peer, unless the peer is a trusted proxy; then the right-most
 * X-Forwarded-For address that is not itself trusted. */
void firewall_client_ip(struct conn *c);

/* Run the checks for c's routed request (c->app set). Returns 1 when the
 * request may be proxied now; 0 when the firewall answered (403, 429) or
 * is waiting for body bytes (it then calls upstream_start itself). */
int firewall_check(struct conn *c);

/* Body bytes arrived while waiting (state CONN_INSPECT). */
void firewall_on_body(struct conn *c);

/* Free the calling worker thread's inspection buffers (at thread exit). */
void firewall_thread_release(void);

#endif
