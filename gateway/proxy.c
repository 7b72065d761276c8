/* The client side of the proxy: accept, TLS, request heads, routing,
 * local responses (errors, redirects, ACME challenges), keep-alive. */
#include "gateway/proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "gateway/access_log.h"
#include "gateway/challenge.h"
#include "gateway/cio.h"
#include "gateway/firewall.h"
#include "gateway/sni_cache.h"
#include "gateway/snapshot.h"
#include "gateway/tls.h"

#define READ_CHUNK_LIMIT (HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD + 16)

static void conn_on_read(struct cio *io, void *arg);
static void conn_on_write(struct cio *io, void *arg);
static void conn_on_event(struct cio *io, enum cio_event what, void *arg);
static void conn_on_timer(evutil_socket_t fd, short what, void *arg);

#define LINGER_MS 2000 /* read and discard after the last response, then close */

uint64_t proxy_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void arm_timer(struct conn *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* The peer's address once per connection, in one spelling (an IPv4
 * client of a dual-stack listener prints as 192.0.2.1). */
static void peer_to_text(struct conn *c)
{
	if (ip_addr_from_sockaddr((const struct sockaddr *)&c->peer, &c->peer_addr) == 0)
		ip_addr_format(&c->peer_addr, c->peer_ip, sizeof(c->peer_ip));
	else
		snprintf(c->peer_ip, sizeof(c->peer_ip), "unknown");
}

static void link_conn(struct worker *w, struct conn *c)
{
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
}

static void unlink_conn(struct conn *c)
{
	struct worker *w = c->w;

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
}

void proxy_accept(struct worker *w, int fd, const struct sockaddr *sa, int salen, int tls)
{
	struct gateway_shared *g = w->shared;
	struct conn *c = calloc(1, sizeof(*c));
	struct snapshot *snap = snapshot_current();
	int one = 1;

	if (c == NULL || snap == NULL) {
		free(c);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->snap = snapshot_ref(snap);
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen : sizeof(c->peer));
	peer_to_text(c);
	c->timer = evtimer_new(w->base, conn_on_timer, c);
	if (tls) {
		c->ssl = SSL_new(g->ssl_ctx);
		if (c->ssl != NULL)
			tls_set_cache(c->ssl, snap->sni);
		c->state = CONN_HANDSHAKE;
	} else {
		c->state = CONN_IDLE;
	}
	link_conn(w, c);
	atomic_fetch_add(&g->stats.connections_open, 1);
	atomic_fetch_add(&g->stats.connections_total, 1);
	if (tls && c->ssl == NULL) {
		close(fd);
		proxy_close(c);
		return;
	}
	c->io = cio_new(w->base, fd, c->ssl); /* owns fd and ssl, even on failure */
	if (c->io == NULL || c->timer == NULL) {
		c->ssl = NULL;
		proxy_close(c);
		return;
	}
	cio_setcb(c->io, conn_on_read, conn_on_write, conn_on_event, c);
	/* bounds what a client can queue (a pipelined request while one is
	 * proxied, body bytes before the backend is connected) */
	cio_set_read_max(c->io, PROXY_CLIENT_READ_MAX);
	cio_read(c->io, 1);
	arm_timer(c, tls ? c->snap->settings.header_timeout_ms : c->snap->settings.idle_timeout_ms);
}

void proxy_close(struct conn *c)
{
	struct gateway_shared *g = c->w->shared;

	if (c->up != NULL) {
		upstream_finish(c->up, 0);
		c->up = NULL;
	}
	cio_free(c->io); /* frees the SSL and closes the socket */
	if (c->timer != NULL)
		event_free(c->timer);
	unlink_conn(c);
	snapshot_unref(c->snap);
	free(c->req); /* the head bytes live in the same block */
	free(c);
	atomic_fetch_sub(&g->stats.connections_open, 1);
}

void proxy_drain(struct conn *c)
{
	if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE) {
		proxy_close(c);
		return;
	}
	c->close_after = 1;
}

static void count_status(struct conn *c, int status)
{
	struct gateway_stats *s = &c->w->shared->stats;

	if (status >= 100 && status < 600)
		atomic_fetch_add(&s->responses_by_class[status / 100], 1);
}

static void log_request(struct conn *c)
{
	const struct http1_header *ref, *ua;
	struct access_entry e;

	if (c->req == NULL)
		return;
	ref = http1_find_header(c->req->headers, c->req->n_headers, "referer");
	ua = http1_find_header(c->req->headers, c->req->n_headers, "user-agent");
	memset(&e, 0, sizeof(e));
	e.client_ip = c->client_ip[0] ? c->client_ip : c->peer_ip;
	e.when = time(NULL);
	e.method = c->req->method;
	e.method_len = c->req->method_len;
	e.target = c->req->target;
	e.target_len = c->req->target_len;
	e.version_minor = c->req->version_minor;
	e.status = c->status;
	e.bytes_sent = c->resp_bytes;
	e.host = c->req->host ? c->req->host : "";
	e.host_len = c->req->host ? c->req->host_len : 0;
	e.referer = ref ? ref->value : "";
	e.referer_len = ref ? ref->value_len : 0;
	e.user_agent = ua ? ua->value : "";
	e.user_agent_len = ua ? ua->value_len : 0;
	e.app = c->app ? c->app->name : "";
	e.duration_us = proxy_now_us() - c->start_us;
	access_log_write(&e);
}

/* The last response is written: stop sending and read what the client
 * still sends for a moment before closing, so unread request bytes do
 * not turn the close into a reset that destroys the response (as nginx's
 * lingering close). */
static void linger(struct conn *c)
{
	if (c->state == CONN_CLOSING && c->lingering)
		return;
	c->state = CONN_CLOSING;
	c->lingering = 1;
	cio_shutdown_write(c->io);
	cio_read(c->io, 1);
	arm_timer(c, LINGER_MS);
}

/* Close once the output is flushed (lingering first). */
static void close_when_flushed(struct conn *c)
{
	c->state = CONN_CLOSING;
	if (evbuffer_get_length(cio_output(c->io)) == 0)
		linger(c);
}

/* After a response: back to waiting for the next request, or close. */
void proxy_request_done(struct conn *c)
{
	struct gateway_shared *g = c->w->shared;

	cio_cork(c->io, 0);
	count_status(c, c->status);
	log_request(c);
	free(c->req);
	c->req = NULL;
	c->head = NULL;
	c->app = NULL;
	if (c->close_after || atomic_load(&g->draining) || !c->req_done) {
		close_when_flushed(c);
		return;
	}
	c->state = CONN_IDLE;
	cio_idle(c->io);
	c->status = 0;
	c->resp_bytes = 0;
	c->resp_started = 0;
	c->retries = 0;
	c->req_body_started = 0;
	c->continue_sent = 0;
	cio_set_write_low(c->io, 0);
	if (c->read_paused) {
		c->read_paused = 0;
		cio_read(c->io, 1);
	}
	arm_timer(c, c->snap->settings.idle_timeout_ms);
	/* a pipelined request may already be buffered */
	if (evbuffer_get_length(cio_input(c->io)) > 0)
		conn_on_read(c->io, c);
}

void proxy_respond(struct conn *c, int status, const char *extra_headers, const char *body,
		   int close)
{
	struct evbuffer *out = cio_output(c->io);
	size_t body_len = strlen(body);
	int head_only = c->req != NULL && c->req->method_len == 4 &&
			memcmp(c->req->method, "HEAD", 4) == 0;

	if (c->req == NULL || !c->req_done)
		close = 1;
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nServer: postern\r\nContent-Type: text/plain; "
			    "charset=utf-8\r\nContent-Length: %zu\r\n%s%s\r\n",
			    status, http1_reason(status), body_len, extra_headers ? extra_headers : "",
			    close ? "Connection: close\r\n" : "");
	if (!head_only)
		evbuffer_add(out, body, body_len);
	c->status = status;
	c->resp_bytes = head_only ? 0 : body_len;
	c->resp_started = 1;
	if (close)
		c->close_after = 1;
	if (c->req == NULL) {
		/* no parsed request to log: close after the flush */
		count_status(c, status);
		close_when_flushed(c);
		return;
	}
	proxy_request_done(c);
}

static void respond_error(struct conn *c, int status, int close)
{
	char body[96];

	snprintf(body, sizeof(body), "%d %s\n", status, http1_reason(status));
	proxy_respond(c, status, NULL, body, close);
}

/* ACME HTTP-01: answered for any Host, never redirected, never proxied. */
static int serve_challenge(struct conn *c)
{
	static const size_t plen = sizeof(CHALLENGE_PREFIX) - 1;
	const char *target = c->req->target;
	size_t len = c->req->target_len, tok_len;
	char answer[1024];
	const char *q;

	if (len <= plen || memcmp(target, CHALLENGE_PREFIX, plen) != 0)
		return 0;
	q = memchr(target, '?', len);
	tok_len = (size_t)((q ? q : target + len) - (target + plen));
	if (challenge_get(target + plen, tok_len, answer, sizeof(answer)) < 0)
		respond_error(c, 404, 0);
	else
		proxy_respond(c, 200, NULL, answer, 0);
	return 1;
}

static size_t host_without_port(const char *host, size_t len)
{
	if (len > 0 && host[0] == '[') {
		const char *end = memchr(host, ']', len);
		return end ? (size_t)(end - host) + 1 : len;
	}
	for (size_t i = len; i > 0; i--)
		if (host[i - 1] == ':')
			return i - 1;
	return len;
}

static void redirect_https(struct conn *c)
{
	char headers[HTTP1_MAX_REQUEST_LINE + 512];
	size_t hlen = host_without_port(c->req->host, c->req->host_len);
	int port = c->snap->settings.https_port;
	char portbuf[16] = "";

	if (port != 443)
		snprintf(portbuf, sizeof(portbuf), ":%d", port);
	snprintf(headers, sizeof(headers), "Location: https://%.*s%s%.*s\r\n", (int)hlen,
		 c->req->host, portbuf, (int)c->req->target_len, c->req->target);
	proxy_respond(c, 301, headers, "Moved Permanently\n", 0);
}

/* 421 unless the certificate presented on this connection covers host. */
static int host_matches_certificate(struct conn *c)
{
	const struct sni_entry *e;
	size_t hlen;

	if (c->ssl == NULL)
		return 1;
	e = tls_chosen_entry(c->ssl);
	hlen = host_without_port(c->req->host, c->req->host_len);
	if (hlen > 0 && c->req->host[hlen - 1] == '.')
		hlen--;
	return e != NULL && sni_entry_covers(e, c->req->host, hlen);
}

void proxy_dispatch(struct conn *c)
{
	struct snapshot *snap = c->snap;

	atomic_fetch_add(&c->w->shared->stats.requests_total, 1);
	if (c->ssl == NULL && serve_challenge(c))
		return;
	if (c->req->host == NULL || snap->routes == NULL ||
	    (c->app = route_table_lookup(snap->routes, c->req->host, c->req->host_len)) == NULL) {
		respond_error(c, 404, 0);
		return;
	}
	if (!host_matches_certificate(c)) {
		respond_error(c, 421, 0);
		return;
	}
	if (c->ssl == NULL && c->app->https_redirect) {
		redirect_https(c);
		return;
	}
	if (!firewall_check(c))
		return; /* answered, or waiting for the body part to inspect */
	c->state = CONN_PROXY;
	upstream_start(c);
}

/* A complete head is at the start of the input buffer: copy it, parse the
 * copy (fields point into it) and dispatch. */
static void take_head(struct conn *c, size_t head_len)
{
	struct evbuffer *in = cio_input(c->io);
	int status = 400;

	/* the parsed request and the bytes it points into: one allocation,
	 * freed when the request ends, so an idle connection stays small */
	c->req = malloc(sizeof(*c->req) + head_len);
	if (c->req == NULL) {
		proxy_close(c);
		return;
	}
	c->head = (char *)(c->req + 1);
	evbuffer_remove(in, c->head, head_len);
	c->head_len = head_len;
	http1_parse_request(c->head, head_len, c->req, &status);
	c->start_us = proxy_now_us();
	c->req_done = c->req->body == HTTP1_BODY_NONE;
	c->req_remaining = c->req->body == HTTP1_BODY_LENGTH ? c->req->content_length : 0;
	memset(&c->req_chunked, 0, sizeof(c->req_chunked));
	if (!c->req->keep_alive)
		c->close_after = 1;
	evtimer_del(c->timer);
	firewall_client_ip(c);
	proxy_dispatch(c);
}

static void read_head(struct conn *c)
{
	static _Thread_local struct http1_request scratch;
	struct evbuffer *in = cio_input(c->io);
	size_t avail = evbuffer_get_length(in);
	size_t want = avail < READ_CHUNK_LIMIT ? avail : READ_CHUNK_LIMIT;
	const char *buf;
	int status = 400, rc;

	if (want == 0)
		return;
	if (c->state == CONN_IDLE) {
		c->state = CONN_HEAD;
		arm_timer(c, c->snap->settings.header_timeout_ms);
	}
	/* is the head complete? (parsed into scratch: the request keeps its
	 * own copy once it is) */
	buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
	rc = http1_parse_request(buf, want, &scratch, &status);
	if (rc == HTTP1_INCOMPLETE)
		return;
	if (rc == HTTP1_ERROR) {
		respond_error(c, status, 1);
		return;
	}
	take_head(c, (size_t)rc);
}

static void conn_on_read(struct cio *io, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_HANDSHAKE:
		c->state = CONN_IDLE;
		/* fall through */
	case CONN_IDLE:
	case CONN_HEAD:
		read_head(c);
		break;
	case CONN_INSPECT:
		firewall_on_body(c);
		break;
	case CONN_PROXY:
	case CONN_TUNNEL:
		upstream_pump_request(c);
		break;
	default:
		/* closing: discard what the client still sends */
		evbuffer_drain(cio_input(io), evbuffer_get_length(cio_input(io)));
		break;
	}
}

static void conn_on_write(struct cio *io, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		if (evbuffer_get_length(cio_output(io)) == 0)
			linger(c);
		return;
	}
	/* below the low watermark: let the backend send more */
	if (c->up != NULL)
		cio_read(c->up->io, 1);
}

static void conn_on_event(struct cio *io, enum cio_event what, void *arg)
{
	struct conn *c = arg;

	(void)io;
	if (what == CIO_CONNECTED) {
		if (c->state == CONN_HANDSHAKE) {
			c->state = CONN_IDLE;
			arm_timer(c, c->snap->settings.idle_timeout_ms);
			cio_idle(io);
		}
		return;
	}
	if (c->state == CONN_HANDSHAKE)
		log_debug("TLS handshake from %s failed", c->peer_ip);
	proxy_close(c);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_HEAD || c->state == CONN_INSPECT) {
		respond_error(c, 408, 1);
		return;
	}
	proxy_close(c); /* idle, handshake or lingering too long */
}
