/* A small non-blocking HTTP/1.1 client on a libevent loop, for the ACME
 * client and its pre-flight probes. One connection per request
 * ("Connection: close"); names resolved through evdns (the configured
 * resolver or the system's); https with SNI and the peer verified against
 * the system store plus an optional CA bundle, host name or IP address
 * checked; responses read with the gateway's HTTP/1.1 codec (heads by
 * http1_parse_response, chunked bodies by http1_chunked_step), bodies
 * bounded, every request bounded in time. Nothing here blocks. */
#ifndef POSTERN_ACME_HTTPS_CLIENT_H
#define POSTERN_ACME_HTTPS_CLIENT_H

#include <stddef.h>

#include "common/error.h"
#include "gateway/http1.h"

struct event_base;
struct https_client;
struct https_request;

#define HTTPS_CLIENT_MAX_BODY   (1u << 20) /* a certificate chain is a few KiB */
#define HTTPS_CLIENT_TIMEOUT_MS 30000

/* A response, valid only during the completion callback. */
struct https_response {
	int status;
	struct http1_response head; /* headers point into the client's copy of the head */
	char *body;                 /* NUL-terminated after body_len bytes */
	size_t body_len;
	char peer[64]; /* the address connected to, "1.2.3.4:443" */
};

/* Called exactly once per request that was not cancelled, never from
 * inside https_client_request. resp is NULL on failure, with err filled
 * (code "acme_connection", "acme_dns", "acme_tls", "acme_timeout" or
 * "acme_response" and a sentence naming the URL). The request is freed
 * after the callback returns. */
typedef void (*https_client_cb)(void *arg, const struct https_response *resp,
                                const struct error *err);

/* A client on base. ca_bundle ("" or NULL: none) adds trusted roots to
 * the system store; resolver ("" or NULL: the system's resolv.conf and
 * hosts file) is a "host:port" DNS server. Returns NULL with err (code
 * "acme_config") when the bundle cannot be read or the resolver is not an
 * address. The caller frees it with https_client_free, which cancels
 * every request still running (their callbacks are not called; libevent
 * releases a cancelled name lookup on its next loop turn). */
struct https_client *https_client_new(struct event_base *base, const char *ca_bundle,
                                      const char *resolver, struct error *err);
void https_client_free(struct https_client *c);

/* Per-request time limit in milliseconds (connect, TLS, whole response);
 * default HTTPS_CLIENT_TIMEOUT_MS. */
void https_client_set_timeout(struct https_client *c, unsigned ms);

/* Start a request. url is "https://host[:port]/path" (or "http://" for
 * probes). content_type and body may be NULL (no body). accept may be
 * NULL ("*\/\*"). The Host header is the URL's authority as written. Returns
 * a handle that stays valid until the callback has returned, or NULL
 * (with err) when the URL is malformed or memory runs out; the callback is
 * then not called. */
struct https_request *https_client_request(struct https_client *c, const char *method,
                                           const char *url, const char *accept,
                                           const char *content_type, const char *body,
                                           size_t body_len, https_client_cb cb, void *arg,
                                           struct error *err);

/* Abandon a request before its callback ran (the callback is not called). */
void https_request_cancel(struct https_request *r);

/* The value of header name in resp as a malloc'd string the caller frees,
 * NULL when absent. */
char *https_response_header(const struct https_response *resp, const char *name);

/* Split url into scheme-default port, host (brackets removed from IPv6
 * literals), port and the authority and path as written. Returns 0 or -1
 * (not http/https, userinfo, bad port, control characters). Exposed for
 * tests. */
struct https_url {
	int tls;
	char host[256];
	char authority[300];
	unsigned port;
	char *path; /* malloc'd, "/" at least; freed by the caller */
};
int https_url_parse(const char *url, struct https_url *out);

#endif
