/* Client connection I/O: a socket, optionally TLS, with an input and an
 * output evbuffer, driven by the worker's event loop. It replaces
 * libevent's bufferevent_openssl on the hot path: output is written in the
 * same loop turn it was queued (one SSL_write per record-sized piece, a
 * write event only when the socket is full), and TLS input is read with
 * read-ahead until OpenSSL wants more, so one request costs about one
 * read(2) and one write(2). */
#ifndef POSTERN_GATEWAY_CIO_H
#define POSTERN_GATEWAY_CIO_H

#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct event_base;
struct evbuffer;
struct cio;

enum cio_event {
	CIO_CONNECTED, /* the TLS handshake completed */
	CIO_EOF,       /* the peer closed */
	CIO_ERROR,     /* a socket or TLS error */
	CIO_EVENT_MAX
};

typedef void (*cio_data_cb)(struct cio *io, void *arg);
typedef void (*cio_event_cb)(struct cio *io, enum cio_event what, void *arg);

/* Wrap fd (non-blocking; owned from now on) and ssl (NULL for plain TCP;
 * owned; in accept state). Returns NULL when out of memory (fd and ssl are
 * then closed and freed). */
struct cio *cio_new(struct event_base *base, int fd, SSL *ssl);
/* A new plain TCP connection to addr (non-blocking, TCP_NODELAY): on_event
 * reports CIO_CONNECTED or CIO_ERROR; output queued before that is sent
 * once connected. NULL when no socket can be made. */
struct cio *cio_connect(struct event_base *base, const struct sockaddr *addr, socklen_t len);

/* Close the socket, free the SSL and both buffers. */
void cio_free(struct cio *io);

/* on_read: new input arrived; on_write: the output drained to the low
 * watermark; on_event: handshake done, EOF or error. */
void cio_setcb(struct cio *io, cio_data_cb on_read, cio_data_cb on_write, cio_event_cb on_event,
	       void *arg);

struct evbuffer *cio_input(struct cio *io);
/* Bytes added here are written at the end of the current loop turn. */
struct evbuffer *cio_output(struct cio *io);

/* Start (on) or stop (off) reading from the socket. */
void cio_read(struct cio *io, int on);
/* Stop reading while the input holds max bytes or more (0 = no limit);
 * reading resumes by itself when the input is drained below it. */
void cio_set_read_max(struct cio *io, size_t max);
/* on_write is called when a write leaves at most low bytes queued. */
void cio_set_write_low(struct cio *io, size_t low);
/* Corked (on), queued output waits; uncorking writes it. A small
 * response that arrives from the backend in pieces then leaves in one
 * write instead of one per piece. */
void cio_cork(struct cio *io, int on);

/* The connection goes idle (keep-alive between requests): give back
 * OpenSSL's record buffers (~34 KiB) until the next bytes arrive. */
void cio_idle(struct cio *io);

/* Send TLS close_notify (when TLS) and shut the socket's write side. */
void cio_shutdown_write(struct cio *io);

#endif
