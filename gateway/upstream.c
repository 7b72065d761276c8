/* The backend side of the proxy: connect (or reuse a pooled keep-alive
 * connection), send the rewritten request head, stream the request body,
 * parse the response head, stream the response body back, then recycle
 * the connection. Both sides are gateway/cio.c connections; watermarks
 * on both bound the memory. */
#include "gateway/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "gateway/cio.h"

#define HIGH_WATER (256 * 1024) /* bytes queued towards one side before we stop reading */
#define POOL_MAX_IDLE 64         /* pooled connections per worker */
#define POOL_IDLE_SECONDS 30
#define CORK_MAX (64 * 1024)     /* bodies up to this size are sent whole */

static void up_on_read(struct cio *io, void *arg);
static void up_on_write(struct cio *io, void *arg);
static void up_on_event(struct cio *io, enum cio_event what, void *arg);
static void up_on_timer(evutil_socket_t fd, short what, void *arg);

/* What ended a backend connection. */
enum up_end {
	UP_EOF,
	UP_ERROR,
	UP_TIMEOUT,
	UP_END_MAX
};
static void up_ended(struct upstream *up, enum up_end why);

static uint64_t now_ms(void)
{
	return proxy_now_us() / 1000u;
}

static int eq_name(const struct http1_header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* Hop-by-hop fields (RFC 9110 7.6.1) and those named in Connection. */
static int is_hop_by_hop(const struct http1_header *h, const struct http1_header *connection)
{
	static const char *const hop[] = { "connection", "keep-alive", "proxy-connection", "te",
					   "trailer", "transfer-encoding", "upgrade" };
	char name[128];

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (eq_name(h, hop[i]))
			return 1;
	if (connection == NULL || h->name_len >= sizeof(name))
		return 0;
	memcpy(name, h->name, h->name_len);
	name[h->name_len] = '\0';
	return http1_list_has_token(connection->value, connection->value_len, name);
}

/* A head being written: built in a local buffer and handed to the
 * evbuffer in one piece (an evbuffer_add per name, colon and value cost
 * ~0.7 us per proxied request, a tenth of its user time). */
struct head {
	struct evbuffer *out;
	size_t len;
	char buf[4096];
};

static void head_flush(struct head *h)
{
	if (h->len > 0)
		evbuffer_add(h->out, h->buf, h->len);
	h->len = 0;
}

static void add_bytes(struct head *h, const char *s, size_t n)
{
	if (n > sizeof(h->buf) - h->len) {
		head_flush(h);
		if (n > sizeof(h->buf)) {
			evbuffer_add(h->out, s, n);
			return;
		}
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
}

static void add_str(struct head *h, const char *s)
{
	add_bytes(h, s, strlen(s));
}

/* "Name: value\r\n" without printf (this is the per-request path). */
static void add_field(struct head *h, const char *name, size_t name_len, const char *value,
                      size_t len)
{
	add_bytes(h, name, name_len);
	add_bytes(h, ": ", 2);
	add_bytes(h, value, len);
	add_bytes(h, "\r\n", 2);
}

static void add_header(struct head *h, const struct http1_header *hd)
{
	add_field(h, hd->name, hd->name_len, hd->value, hd->value_len);
}

static void write_request_head(struct upstream *up, struct evbuffer *evb)
{
	struct head head = {.out = evb}, *out = &head;
	struct conn *c = up->c;
	const struct http1_request *r = c->req;
	const struct http1_header *conn_h = http1_find_header(r->headers, r->n_headers, "connection");
	const struct http1_header *upg = http1_find_header(r->headers, r->n_headers, "upgrade");
	const char *ip_header = c->app->client_ip_header;

	add_bytes(out, r->method, r->method_len);
	add_bytes(out, " ", 1);
	add_bytes(out, r->target, r->target_len);
	add_bytes(out, " HTTP/1.1\r\n", 11);
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct http1_header *h = &r->headers[i];

		if (is_hop_by_hop(h, conn_h) || eq_name(h, "x-forwarded-for") ||
		    eq_name(h, "x-forwarded-proto") || eq_name(h, "x-forwarded-host") ||
		    eq_name(h, "expect") || eq_name(h, ip_header))
			continue;
		add_header(out, h);
	}
	if (r->body == HTTP1_BODY_CHUNKED)
		add_str(out, "Transfer-Encoding: chunked\r\n");
	if (r->upgrade && upg != NULL) {
		add_str(out, "Connection: upgrade\r\n");
		add_field(out, "Upgrade", 7, upg->value, upg->value_len);
	}
	/* The client address is the TCP peer, or what a trusted proxy says
	 * (SPEC 6): what a client claims in its own X-Forwarded-For is not
	 * passed on. */
	add_field(out, "X-Forwarded-For", 15, c->client_ip, strlen(c->client_ip));
	add_str(out, c->ssl ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
	if (r->host != NULL)
		add_field(out, "X-Forwarded-Host", 16, r->host, r->host_len);
	if (strcasecmp(ip_header, "X-Forwarded-For") != 0)
		add_field(out, ip_header, strlen(ip_header), c->client_ip, strlen(c->client_ip));
	add_bytes(out, "\r\n", 2);
	head_flush(out);
}

/* Length of a Transfer-Encoding value without its final ", chunked". */
static size_t codings_before_chunked(const char *v, size_t n)
{
	size_t end = n - 7; /* strlen("chunked") */

	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t' || v[end - 1] == ','))
		end--;
	return end;
}

static void write_response_head(struct upstream *up)
{
	struct conn *c = up->c;
	const struct http1_response *r = &up->resp;
	struct head head = {.out = cio_output(c->io)}, *out = &head;
	const struct http1_header *conn_h = http1_find_header(r->headers, r->n_headers, "connection");
	const struct http1_header *upg = http1_find_header(r->headers, r->n_headers, "upgrade");
	int interim = r->status < 200;

	char code[4] = { (char)('0' + r->status / 100 % 10), (char)('0' + r->status / 10 % 10),
			 (char)('0' + r->status % 10), ' ' };

	add_bytes(out, "HTTP/1.1 ", 9);
	add_bytes(out, code, 4);
	add_bytes(out, r->reason, r->reason_len);
	add_bytes(out, "\r\n", 2);
	for (size_t i = 0; i < r->n_headers; i++)
		if (!is_hop_by_hop(&r->headers[i], conn_h))
			add_header(out, &r->headers[i]);
	if (r->status == 101) {
		add_str(out, "Connection: upgrade\r\n");
		if (upg != NULL)
			add_field(out, "Upgrade", 7, upg->value, upg->value_len);
	} else if (!interim) {
		const struct http1_header *te =
			http1_find_header(r->headers, r->n_headers, "transfer-encoding");

		/* keep codings before chunked (e.g. "gzip, chunked"): they are
		 * end-to-end; chunked itself is passed through or removed */
		if (r->body == HTTP1_BODY_CHUNKED && !up->dechunk)
			add_header(out, te);
		else if (r->body == HTTP1_BODY_CHUNKED && te->value_len > 7)
			add_field(out, "Transfer-Encoding", 17, te->value,
				  codings_before_chunked(te->value, te->value_len));
		if (c->close_after || atomic_load(&c->w->shared->draining))
			add_str(out, "Connection: close\r\n");
		else if (c->req->version_minor == 0)
			add_str(out, "Connection: keep-alive\r\n");
	}
	add_bytes(out, "\r\n", 2);
	head_flush(out);
}

/* (Re)start the backend inactivity timer: connect timeout, backend
 * timeout, pool idle time or tunnel idle time, whichever applies now. */
static void up_arm(struct upstream *up, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(up->timer, &tv);
}

/* ---- the pool */

static struct upstream *pool_take(struct worker *w, struct backend *b)
{
	for (struct upstream **p = &w->idle; *p != NULL; p = &(*p)->pool_next) {
		if ((*p)->backend == b) {
			struct upstream *up = *p;
			*p = up->pool_next;
			up->pool_next = NULL;
			w->n_idle--;
			return up;
		}
	}
	return NULL;
}

static void pool_remove(struct upstream *up)
{
	struct worker *w = up->w;

	for (struct upstream **p = &w->idle; *p != NULL; p = &(*p)->pool_next) {
		if (*p == up) {
			*p = up->pool_next;
			w->n_idle--;
			return;
		}
	}
}

static void upstream_free(struct upstream *up)
{
	cio_free(up->io);
	if (up->timer != NULL)
		event_free(up->timer);
	free(up);
}

static void pool_on_read(struct cio *io, void *arg)
{
	(void)io;
	pool_remove(arg); /* an idle backend must not talk: drop it */
	upstream_free(arg);
}

static void pool_on_event(struct cio *io, enum cio_event what, void *arg)
{
	(void)io;
	(void)what;
	pool_remove(arg);
	upstream_free(arg);
}

void upstream_finish(struct upstream *up, int reusable)
{
	struct worker *w = up->w;

	if (up->backend != NULL && up->c != NULL)
		balancer_release(up->backend);
	up->c = NULL;
	if (!reusable || w->stopping || w->n_idle >= POOL_MAX_IDLE ||
	    evbuffer_get_length(cio_input(up->io)) > 0) {
		upstream_free(up);
		return;
	}
	up->head_done = 0;
	up->got_bytes = 0;
	up->dechunk = 0;
	cio_setcb(up->io, pool_on_read, NULL, pool_on_event, up);
	cio_set_write_low(up->io, 0);
	cio_read(up->io, 1);
	up_arm(up, POOL_IDLE_SECONDS * 1000);
	up->pool_next = w->idle;
	w->idle = up;
	w->n_idle++;
}

void upstream_pool_clear(struct worker *w)
{
	while (w->idle != NULL) {
		struct upstream *up = w->idle;
		w->idle = up->pool_next;
		upstream_free(up);
	}
	w->n_idle = 0;
}

/* ---- request body: client -> backend */

/* Bytes moved: the backend is alive for another backend_timeout (or
 * idle_timeout in a tunnel). */
static void up_active(struct upstream *up)
{
	struct conn *c = up->c;

	up_arm(up, c->state == CONN_TUNNEL ? c->snap->settings.idle_timeout_ms
					   : c->snap->settings.backend_timeout_ms);
}

/* Move up to max bytes of chunked framing from in to out while the
 * decoder finds the end; data_only: copy only data bytes (de-chunk).
 * Returns the decoder's last result. */
static enum http1_chunk_result move_chunked(struct http1_chunked *dec, struct evbuffer *in,
					    struct evbuffer *out, int data_only, uint64_t *data_bytes)
{
	enum http1_chunk_result r = HTTP1_CHUNK_NEED_MORE;

	while (evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		size_t consumed = 0, off = 0, dlen = 0;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		r = http1_chunked_step(dec, v.iov_base, v.iov_len, &consumed, &off, &dlen);
		if (r == HTTP1_CHUNK_ERROR)
			return r;
		if (data_only) {
			if (r == HTTP1_CHUNK_DATA)
				evbuffer_add(out, (char *)v.iov_base + off, dlen);
			evbuffer_drain(in, consumed);
		} else {
			evbuffer_remove_buffer(in, out, consumed);
		}
		if (r == HTTP1_CHUNK_DATA && data_bytes != NULL)
			*data_bytes += dlen;
		if (r == HTTP1_CHUNK_DONE)
			return r;
		if (consumed == 0)
			break;
	}
	return r;
}

static void response_complete(struct upstream *up);
static void fail_request(struct upstream *up, int status);

/* Pause reading the client while the backend's queue is full; resume
 * from up_on_write once it drained (watermark). */
static void backpressure(struct conn *c, struct upstream *up)
{
	struct evbuffer *out = cio_output(up->io);

	if (evbuffer_get_length(out) >= HIGH_WATER) {
		cio_read(c->io, 0);
		cio_set_write_low(up->io, HIGH_WATER / 2);
		c->read_paused = 1;
	} else if (c->read_paused) {
		c->read_paused = 0;
		cio_read(c->io, 1);
	}
}

/* Forward what the client sent: body bytes of the current request, or
 * anything in a tunnel. Bytes of a pipelined next request stay in the
 * client's input (bounded by its read watermark) until this one ends. */
void upstream_pump_request(struct conn *c)
{
	struct upstream *up = c->up;
	struct evbuffer *in = cio_input(c->io);
	struct evbuffer *out;

	if (up == NULL || !up->connected)
		return; /* the backend is not there yet */
	out = cio_output(up->io);
	if (c->state == CONN_TUNNEL) {
		evbuffer_add_buffer(out, in);
	} else if (c->req_done) {
		return;
	} else if (c->req->body == HTTP1_BODY_LENGTH) {
		size_t n = evbuffer_get_length(in);
		if (n > c->req_remaining)
			n = (size_t)c->req_remaining;
		if (n > 0)
			c->req_body_started = 1;
		evbuffer_remove_buffer(in, out, n);
		c->req_remaining -= n;
		c->req_done = c->req_remaining == 0;
	} else {
		enum http1_chunk_result r;

		if (evbuffer_get_length(in) > 0)
			c->req_body_started = 1;
		r = move_chunked(&c->req_chunked, in, out, 0, NULL);
		if (r == HTTP1_CHUNK_ERROR) {
			if (c->resp_started) {
				proxy_close(c);
			} else {
				c->close_after = 1;
				fail_request(up, 400);
			}
			return;
		}
		c->req_done = r == HTTP1_CHUNK_DONE;
	}
	backpressure(c, up);
}

static void up_on_write(struct cio *io, void *arg)
{
	struct upstream *up = arg;

	(void)io;
	if (up->c != NULL)
		up_active(up);
	if (up->c != NULL && up->c->read_paused) {
		up->c->read_paused = 0;
		cio_read(up->c->io, 1);
	}
}

/* ---- starting a request */

static void attach(struct upstream *up, struct conn *c)
{
	up->c = c;
	c->up = up;
	cio_setcb(up->io, up_on_read, up_on_write, up_on_event, up);
	cio_read(up->io, 1);
}

static void on_connected(struct upstream *up)
{
	struct conn *c = up->c;

	up->connected = 1;
	up_active(up);
	if (c->req->expect_continue && !c->req_done && !c->req_body_started && !c->continue_sent)
		evbuffer_add_printf(cio_output(c->io), "HTTP/1.1 100 Continue\r\n\r\n");
	upstream_pump_request(c);
}

void upstream_start(struct conn *c)
{
	struct worker *w = c->w;
	struct backend *b = balancer_pick(c->app, (const struct sockaddr *)&c->peer, now_ms());
	struct upstream *up;

	if (b == NULL) {
		proxy_respond(c, 502, NULL, "502 Bad Gateway: no backend is available\n", 1);
		return;
	}
	up = pool_take(w, b);
	if (up != NULL) {
		up->reused = 1;
		attach(up, c);
		write_request_head(up, cio_output(up->io));
		on_connected(up);
		return;
	}
	up = calloc(1, sizeof(*up));
	if (up == NULL || (up->timer = evtimer_new(w->base, up_on_timer, up)) == NULL ||
	    (up->io = cio_connect(w->base, (struct sockaddr *)&b->addr, b->addr_len)) == NULL) {
		if (up != NULL && up->timer != NULL)
			event_free(up->timer);
		free(up);
		balancer_release(b);
		proxy_respond(c, 502, NULL, "502 Bad Gateway\n", 1);
		return;
	}
	up->w = w;
	up->backend = b;
	/* one read event moves at most this much towards the client, where
	 * the watermark then pauses the backend */
	cio_set_read_max(up->io, HIGH_WATER);
	attach(up, c);
	up_arm(up, c->snap->settings.backend_connect_timeout_ms);
	write_request_head(up, cio_output(up->io)); /* sent once connected */
}

/* ---- response: backend -> client */

static void fail_request(struct upstream *up, int status)
{
	struct conn *c = up->c;
	char body[96];

	c->up = NULL;
	upstream_finish(up, 0);
	if (c->resp_started) {
		proxy_close(c);
		return;
	}
	snprintf(body, sizeof(body), "%d %s\n", status, http1_reason(status));
	proxy_respond(c, status, NULL, body, 1);
}

static void response_complete(struct upstream *up)
{
	struct conn *c = up->c;
	int reusable = up->keep_alive && c->req_done && up->resp.body != HTTP1_BODY_UNTIL_CLOSE;

	balancer_report(up->backend, 1, now_ms());
	c->up = NULL;
	upstream_finish(up, reusable);
	proxy_request_done(c);
}

static void start_tunnel(struct upstream *up)
{
	struct conn *c = up->c;

	c->state = CONN_TUNNEL;
	c->close_after = 1;
	c->req_done = 1;
	up_active(up);
	cio_read(c->io, 1);
	upstream_pump_request(c);
}

/* Parse the response head when complete; returns 1 to go on relaying the
 * body, 0 when waiting for more bytes or when the request ended. */
static int take_response_head(struct upstream *up)
{
	struct conn *c = up->c;
	struct evbuffer *in = cio_input(up->io);
	size_t avail = evbuffer_get_length(in), want;
	int head_req = c->req->method_len == 4 && memcmp(c->req->method, "HEAD", 4) == 0;
	int rc;

	want = avail < HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD ? avail
							       : HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD;
	rc = http1_parse_response((const char *)evbuffer_pullup(in, (ev_ssize_t)want), want,
				  head_req, &up->resp);
	if (rc == HTTP1_INCOMPLETE)
		return 0;
	if (rc == HTTP1_ERROR) {
		log_warn("backend %s sent a malformed response head", up->backend->url);
		balancer_report(up->backend, 0, now_ms());
		fail_request(up, 502);
		return 0;
	}
	if (up->resp.status < 200 && up->resp.status != 101) {
		write_response_head(up); /* 1xx: forward and wait for the final head */
		evbuffer_drain(in, (size_t)rc);
		return evbuffer_get_length(in) > 0 ? take_response_head(up) : 0;
	}
	up->head_done = 1;
	up->keep_alive = up->resp.keep_alive;
	up->remaining = up->resp.body == HTTP1_BODY_LENGTH ? up->resp.content_length : 0;
	memset(&up->chunked, 0, sizeof(up->chunked));
	if (up->resp.body == HTTP1_BODY_CHUNKED && c->req->version_minor == 0)
		up->dechunk = 1;
	if (up->resp.body == HTTP1_BODY_UNTIL_CLOSE || up->dechunk)
		c->close_after = 1;
	c->status = up->resp.status;
	c->resp_started = 1;
	/* a small body that comes in pieces leaves in one write */
	if (up->resp.body == HTTP1_BODY_LENGTH && up->resp.content_length <= CORK_MAX)
		cio_cork(c->io, 1);
	write_response_head(up);
	evbuffer_drain(in, (size_t)rc);
	if (up->resp.status == 101) {
		start_tunnel(up);
		return 1;
	}
	if (up->resp.body == HTTP1_BODY_NONE) {
		response_complete(up);
		return 0;
	}
	return 1;
}

static void relay_response(struct upstream *up)
{
	struct conn *c = up->c;
	struct evbuffer *in = cio_input(up->io);
	struct evbuffer *out = cio_output(c->io);

	if (c->state == CONN_TUNNEL) {
		c->resp_bytes += evbuffer_get_length(in);
		evbuffer_add_buffer(out, in);
	} else if (up->resp.body == HTTP1_BODY_LENGTH) {
		size_t n = evbuffer_get_length(in);
		if (n > up->remaining)
			n = (size_t)up->remaining;
		evbuffer_remove_buffer(in, out, n);
		up->remaining -= n;
		c->resp_bytes += n;
		if (up->remaining == 0) {
			response_complete(up);
			return;
		}
	} else if (up->resp.body == HTTP1_BODY_CHUNKED) {
		enum http1_chunk_result r = move_chunked(&up->chunked, in, out, up->dechunk,
							 &c->resp_bytes);
		if (r == HTTP1_CHUNK_ERROR) {
			log_warn("backend %s sent bad chunked framing", up->backend->url);
			proxy_close(c);
			return;
		}
		if (r == HTTP1_CHUNK_DONE) {
			response_complete(up);
			return;
		}
	} else {
		c->resp_bytes += evbuffer_get_length(in);
		evbuffer_add_buffer(out, in);
	}
	if (evbuffer_get_length(out) >= HIGH_WATER) {
		cio_read(up->io, 0);
		cio_set_write_low(c->io, HIGH_WATER / 2);
	}
}

static void up_on_read(struct cio *io, void *arg)
{
	struct upstream *up = arg;

	(void)io;
	up->got_bytes = 1;
	up_active(up);
	if (!up->head_done && !take_response_head(up))
		return;
	relay_response(up);
}

/* A pooled connection the backend had closed, or a refused connect:
 * try again once when no request body byte has left yet. */
static int retry(struct upstream *up)
{
	struct conn *c = up->c;

	if (c->req_body_started || c->retries >= 2 || up->got_bytes)
		return 0;
	c->retries++;
	c->up = NULL;
	upstream_finish(up, 0);
	upstream_start(c);
	return 1;
}

static void up_on_event(struct cio *io, enum cio_event what, void *arg)
{
	(void)io;
	if (what == CIO_CONNECTED)
		on_connected(arg);
	else
		up_ended(arg, what == CIO_EOF ? UP_EOF : UP_ERROR);
}

static void up_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	(void)fd;
	(void)what;
	if (up->c == NULL) { /* idle in the pool long enough */
		pool_remove(up);
		upstream_free(up);
		return;
	}
	up_ended(up, UP_TIMEOUT);
}

static void up_ended(struct upstream *up, enum up_end why)
{
	struct conn *c = up->c;

	if (!up->connected) {
		log_warn("backend %s: %s", up->backend->url,
			 why == UP_TIMEOUT ? "connect timed out" : "connect failed");
		balancer_report(up->backend, 0, now_ms());
		if (!retry(up))
			fail_request(up, 502);
		return;
	}
	if (c->state == CONN_TUNNEL) {
		c->up = NULL;
		upstream_finish(up, 0);
		proxy_request_done(c);
		return;
	}
	if (why == UP_EOF && up->head_done && up->resp.body == HTTP1_BODY_UNTIL_CLOSE) {
		relay_response(up);
		up->keep_alive = 0;
		response_complete(up);
		return;
	}
	if (!up->head_done && up->reused && why != UP_TIMEOUT && retry(up))
		return;
	if (why == UP_TIMEOUT) {
		log_warn("backend %s timed out", up->backend->url);
		balancer_report(up->backend, 0, now_ms());
		fail_request(up, 504);
		return;
	}
	balancer_report(up->backend, 0, now_ms());
	fail_request(up, 502);
}
