/* The HTTP/1.1 reverse proxy: client connections (plain or TLS) on the
 * workers, routing by Host, and the backend side (upstream.c) with a
 * keep-alive pool per backend per worker. Bodies stream both ways with
 * watermark backpressure, so memory per connection stays bounded. */
#ifndef POSTERN_GATEWAY_PROXY_H
#define POSTERN_GATEWAY_PROXY_H

#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "gateway/http1.h"
#include "gateway/routes.h"
#include "gateway/worker.h"
#include "waf/cidr.h"

struct cio;
struct event;
struct snapshot;

/* What a client may have buffered beyond the request being served (a
 * pipelined request, body bytes before the backend is connected). */
#define PROXY_CLIENT_READ_MAX (64 * 1024)

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake in progress */
	CONN_IDLE,      /* keep-alive, waiting for the next request */
	CONN_HEAD,      /* reading a request head */
	CONN_INSPECT,   /* waiting for the body part the WAF inspects */
	CONN_PROXY,     /* request sent or being sent, response being relayed */
	CONN_TUNNEL,    /* after 101 Switching Protocols */
	CONN_CLOSING,   /* flushing the last bytes, then close */
	CONN_STATE_MAX
};

struct conn {
	struct worker *w;
	struct cio *io;           /* the client socket (TLS or plain) */
	SSL *ssl;                 /* NULL on the HTTP listener; owned by io */
	struct snapshot *snap;    /* held for the connection's life */
	struct sockaddr_storage peer;
	char peer_ip[64];
	struct ip_addr peer_addr;   /* zero when the family is neither IPv4 nor IPv6 */
	struct ip_addr client_addr; /* the current request's client (trusted_proxies) */
	char client_ip[64];       /* its text: logs, events, X-Forwarded-For */
	struct event *timer;      /* handshake, header and idle timeouts */
	enum conn_state state;
	int close_after;          /* close once the current response is written */
	int lingering;            /* write side shut, discarding input until close */
	int read_paused;          /* backpressure: the backend's queue is full */
	struct conn *prev, *next; /* worker's list */

	/* the current request (NULL between requests) */
	struct http1_request *req; /* parsed; one block with the head bytes */
	char *head;               /* the request head's bytes (inside req's block) */
	size_t head_len;
	const struct route_app *app;
	uint64_t req_remaining;   /* Content-Length bytes left to forward */
	struct http1_chunked req_chunked;
	int req_done;             /* the whole request body was forwarded */
	int req_body_started;     /* a body byte left for the backend (no retry) */
	int continue_sent;        /* "100 Continue" already sent (body inspection) */
	int retries;
	uint64_t start_us;

	/* the response */
	struct upstream *up;
	int status;
	uint64_t resp_bytes;
	int resp_started;         /* response head sent to the client */
};

struct upstream {
	struct worker *w;
	struct conn *c;           /* the client it serves; NULL while pooled */
	struct cio *io;           /* the backend socket */
	struct event *timer;      /* connect, backend, tunnel or pool-idle timeout */
	struct backend *backend;
	int connected;
	int reused;               /* came from the pool */
	int head_done;
	struct http1_response resp;
	uint64_t remaining;
	struct http1_chunked chunked;
	int dechunk;              /* HTTP/1.0 client: strip chunked framing */
	int keep_alive;
	int got_bytes;            /* any response byte arrived */
	struct upstream *pool_next;
};

/* A new client connection on fd (accepted by worker w; tls = HTTPS). */
void proxy_accept(struct worker *w, int fd, const struct sockaddr *sa, int salen, int tls);

/* Close c: frees everything, logs nothing more. */
void proxy_close(struct conn *c);

/* Stop reading new requests: idle connections close now, busy ones after
 * their response. */
void proxy_drain(struct conn *c);

/* Send a locally generated response (error page, redirect) and end the
 * request; close the connection afterwards when close is set. */
void proxy_respond(struct conn *c, int status, const char *extra_headers, const char *body,
		   int close);

/* The request is in c->req: route it and start proxying. */
void proxy_dispatch(struct conn *c);

/* The response is complete: log it, recycle the backend connection, and
 * read the next request (or close). */
void proxy_request_done(struct conn *c);

/* ---- upstream.c: the backend side */

/* Start forwarding c's request to a backend chosen for c->app. */
void upstream_start(struct conn *c);
/* Release up: back to the worker's pool when reusable, else free. */
void upstream_finish(struct upstream *up, int reusable);
/* Free every pooled connection of w. */
void upstream_pool_clear(struct worker *w);
/* Continue forwarding the client's request body (client readable). */
void upstream_pump_request(struct conn *c);

uint64_t proxy_now_us(void);

#endif
