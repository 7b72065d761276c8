#include "gateway/cio.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>

#define READ_CHUNK 16384  /* one TLS record */
#define WRITE_CHUNK 16384 /* at most one record per SSL_write */

struct cio {
	int fd;
	SSL *ssl;
	int handshaking;
	int connecting;      /* cio_connect: waiting for the TCP handshake */
	int connect_error;   /* errno of a connect that failed at once */
	int reading;         /* cio_read(io, 1) */
	int read_registered; /* ev_read is added */
	int write_blocked;   /* waiting for EV_WRITE */
	int flush_scheduled;
	int corked;          /* cio_cork: hold output */
	int closed;          /* EOF or error seen */
	size_t read_max;
	size_t write_low;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_flush; /* activated when output is queued */
	struct evbuffer *in;
	struct evbuffer *out;
	cio_data_cb on_read;
	cio_data_cb on_write;
	cio_event_cb on_event;
	void *arg;
};

static void update_read(struct cio *io)
{
	int want = io->reading && !io->closed &&
		   (io->read_max == 0 || evbuffer_get_length(io->in) < io->read_max);

	if (want && !io->read_registered) {
		event_add(io->ev_read, NULL);
		io->read_registered = 1;
		/* OpenSSL may hold decrypted bytes the socket will not signal */
		if (io->ssl != NULL && SSL_pending(io->ssl) > 0)
			event_active(io->ev_read, EV_READ, 0);
	} else if (!want && io->read_registered) {
		event_del(io->ev_read);
		io->read_registered = 0;
	}
}

static void fail(struct cio *io, enum cio_event what)
{
	io->closed = 1;
	update_read(io);
	ERR_clear_error();
	if (io->on_event != NULL)
		io->on_event(io, what, io->arg);
}

/* Returns 1 when the handshake is done, 0 when it needs more, -1 failed. */
static int handshake(struct cio *io)
{
	int rc = SSL_do_handshake(io->ssl);

	if (rc == 1) {
		io->handshaking = 0;
		return 1;
	}
	switch (SSL_get_error(io->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		io->write_blocked = 1;
		event_add(io->ev_write, NULL);
		return 0;
	default:
		return -1;
	}
}

/* Read until the socket (and OpenSSL) has nothing more or the input is
 * full. Returns bytes read, or -1 after reporting EOF or an error. */
static ssize_t read_some(struct cio *io)
{
	ssize_t total = 0;

	/* Read into one buffer per thread and copy what came: reserving 16 KiB
	 * in the evbuffer for every read of a 100-byte request leaves the heap
	 * fragmented under thousands of idle connections. */
	static _Thread_local char buf[READ_CHUNK];

	while (io->read_max == 0 || evbuffer_get_length(io->in) < io->read_max) {
		ssize_t n;

		if (io->ssl != NULL) {
			int rc = SSL_read(io->ssl, buf, (int)READ_CHUNK);
			int e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(io->ssl, rc);

			n = rc > 0 ? rc : 0;
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (e == SSL_ERROR_WANT_WRITE && !io->write_blocked) {
					io->write_blocked = 1;
					event_add(io->ev_write, NULL);
				}
				break;
			}
			if (e != SSL_ERROR_NONE) {
				if (total > 0)
					break; /* deliver the data; the end shows up next time */
				fail(io, e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? CIO_EOF
											      : CIO_ERROR);
				return -1;
			}
		} else {
			n = read(io->fd, buf, READ_CHUNK);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				if (total > 0)
					break; /* deliver the data; the end shows up next time */
				fail(io, n == 0 ? CIO_EOF : CIO_ERROR);
				return -1;
			}
		}
		evbuffer_add(io->in, buf, (size_t)n);
		total += n;
		/* nothing left in OpenSSL's buffer (TLS), or a short read
		 * (plain): the socket is most likely empty, so save the
		 * read(2) that would only say EAGAIN; level-triggered epoll
		 * calls again if more arrived */
		if (io->ssl != NULL ? !SSL_has_pending(io->ssl) : (size_t)n < READ_CHUNK)
			break;
	}
	return total;
}

/* Write what is queued. Returns 0, or -1 after reporting an error. */
static int flush(struct cio *io)
{
	while (evbuffer_get_length(io->out) > 0 && !io->closed) {
		size_t len = evbuffer_get_length(io->out);
		ssize_t n;

		if (io->ssl != NULL) {
			size_t chunk = len < WRITE_CHUNK ? len : WRITE_CHUNK;
			void *p = evbuffer_pullup(io->out, (ev_ssize_t)chunk);
			int rc = SSL_write(io->ssl, p, (int)chunk);

			if (rc <= 0) {
				int e = SSL_get_error(io->ssl, rc);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					goto blocked;
				fail(io, CIO_ERROR);
				return -1;
			}
			n = rc;
			evbuffer_drain(io->out, (size_t)n);
		} else {
			n = evbuffer_write(io->out, io->fd);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				goto blocked;
			if (n <= 0) {
				fail(io, CIO_ERROR);
				return -1;
			}
		}
	}
	if (io->write_blocked) {
		io->write_blocked = 0;
		event_del(io->ev_write);
	}
	return 0;
blocked:
	if (!io->write_blocked) {
		io->write_blocked = 1;
		event_add(io->ev_write, NULL);
	}
	return 0;
}

static void after_flush(struct cio *io, size_t before)
{
	size_t now = evbuffer_get_length(io->out);

	if (!io->closed && now <= io->write_low && before > now && io->on_write != NULL)
		io->on_write(io, io->arg);
}

static void cio_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct cio *io = arg;
	size_t before = evbuffer_get_length(io->out);

	(void)fd;
	(void)what;
	io->flush_scheduled = 0;
	if (io->handshaking || io->connecting || io->write_blocked)
		return;
	if (flush(io) == 0)
		after_flush(io, before);
}

static void cio_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct cio *io = arg;
	ssize_t n;

	(void)fd;
	(void)what;
	if (io->handshaking) {
		int rc = handshake(io);
		if (rc < 0) {
			fail(io, CIO_ERROR);
			return;
		}
		if (rc == 0)
			return;
		if (io->on_event != NULL)
			io->on_event(io, CIO_CONNECTED, io->arg);
		if (io->closed)
			return;
		if (evbuffer_get_length(io->out) > 0)
			cio_on_flush(-1, 0, io);
	}
	n = read_some(io);
	if (n < 0)
		return;
	update_read(io);
	if (n > 0 && io->on_read != NULL)
		io->on_read(io, io->arg);
}

/* The TCP handshake of cio_connect ended: report it, then send what was
 * queued meanwhile. */
static void connected(struct cio *io)
{
	int err = io->connect_error;
	socklen_t len = sizeof(err);

	if (err == 0 && getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	io->connecting = 0;
	io->write_blocked = 0;
	event_del(io->ev_write);
	if (err != 0) {
		errno = err;
		fail(io, CIO_ERROR);
		return;
	}
	if (flush(io) != 0)
		return;
	if (io->on_event != NULL)
		io->on_event(io, CIO_CONNECTED, io->arg); /* last: it may free io */
}

static void cio_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct cio *io = arg;
	size_t before = evbuffer_get_length(io->out);

	(void)fd;
	(void)what;
	if (io->connecting) {
		connected(io);
		return;
	}
	io->write_blocked = 0;
	if (io->handshaking) {
		cio_on_read(-1, EV_READ, io); /* the handshake wanted to write */
		return;
	}
	if (flush(io) != 0)
		return; /* io may be gone: the owner closed it */
	/* a read that wanted to write (TLS key update) can go on now */
	if (io->ssl != NULL && io->reading && !io->closed)
		event_active(io->ev_read, EV_READ, 0);
	after_flush(io, before); /* last: the callback may free io */
}

/* Output was queued: write at the end of this loop turn, so what one
 * callback adds (a head and a body) goes out together. */
static void cio_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct cio *io = arg;

	(void)buf;
	if (info->n_added > 0 && !io->flush_scheduled && !io->write_blocked && !io->corked &&
	    !io->connecting) {
		io->flush_scheduled = 1;
		event_active(io->ev_flush, EV_WRITE, 0);
	}
}

/* Input was consumed: resume reading when it fell below the limit. */
static void cio_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct cio *io = arg;

	(void)buf;
	if (info->n_deleted > 0 && !io->read_registered)
		update_read(io);
}

struct cio *cio_new(struct event_base *base, int fd, SSL *ssl)
{
	struct cio *io = calloc(1, sizeof(*io));

	if (io == NULL)
		goto fail;
	io->fd = fd;
	io->ssl = ssl;
	io->in = evbuffer_new();
	io->out = evbuffer_new();
	io->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, cio_on_read, io);
	io->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, cio_on_write, io);
	io->ev_flush = event_new(base, -1, 0, cio_on_flush, io);
	if (!io->in || !io->out || !io->ev_read || !io->ev_write || !io->ev_flush) {
		io->ssl = NULL;
		io->fd = -1;
		cio_free(io);
		goto fail;
	}
	if (ssl != NULL) {
		SSL_set_fd(ssl, fd);
		SSL_set_accept_state(ssl);
		SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		io->handshaking = 1;
	}
	evbuffer_add_cb(io->out, cio_on_output, io);
	evbuffer_add_cb(io->in, cio_on_input, io);
	return io;
fail:
	if (ssl != NULL)
		SSL_free(ssl);
	close(fd);
	return NULL;
}

struct cio *cio_connect(struct event_base *base, const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct cio *io;

	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	io = cio_new(base, fd, NULL);
	if (io == NULL)
		return NULL;
	io->connecting = 1;
	if (connect(fd, addr, len) != 0 && errno != EINPROGRESS)
		io->connect_error = errno ? errno : ECONNREFUSED;
	/* success or failure is reported from the loop, after cio_setcb */
	io->write_blocked = 1;
	event_add(io->ev_write, NULL);
	if (io->connect_error != 0)
		event_active(io->ev_write, EV_WRITE, 0);
	return io;
}

void cio_free(struct cio *io)
{
	if (io == NULL)
		return;
	if (io->ev_read)
		event_free(io->ev_read);
	if (io->ev_write)
		event_free(io->ev_write);
	if (io->ev_flush)
		event_free(io->ev_flush);
	if (io->in)
		evbuffer_free(io->in);
	if (io->out)
		evbuffer_free(io->out);
	if (io->ssl)
		SSL_free(io->ssl);
	if (io->fd >= 0)
		close(io->fd);
	free(io);
}

void cio_setcb(struct cio *io, cio_data_cb on_read, cio_data_cb on_write, cio_event_cb on_event,
	       void *arg)
{
	io->on_read = on_read;
	io->on_write = on_write;
	io->on_event = on_event;
	io->arg = arg;
}

struct evbuffer *cio_input(struct cio *io)
{
	return io->in;
}

struct evbuffer *cio_output(struct cio *io)
{
	return io->out;
}

void cio_read(struct cio *io, int on)
{
	io->reading = on;
	update_read(io);
}

void cio_set_read_max(struct cio *io, size_t max)
{
	io->read_max = max;
	update_read(io);
}

void cio_set_write_low(struct cio *io, size_t low)
{
	io->write_low = low;
}

void cio_cork(struct cio *io, int on)
{
	io->corked = on;
	if (!on && evbuffer_get_length(io->out) > 0 && !io->flush_scheduled &&
	    !io->write_blocked) {
		io->flush_scheduled = 1;
		event_active(io->ev_flush, EV_WRITE, 0);
	}
}

void cio_idle(struct cio *io)
{
	/* refused (harmlessly) while OpenSSL still holds unread bytes */
	if (io->ssl != NULL && !io->handshaking && SSL_pending(io->ssl) == 0 &&
	    !SSL_has_pending(io->ssl))
		SSL_free_buffers(io->ssl);
}

void cio_shutdown_write(struct cio *io)
{
	if (io->ssl != NULL && !io->handshaking && !io->closed) {
		SSL_shutdown(io->ssl); /* close_notify; we do not wait for the peer's */
		ERR_clear_error();
	}
	shutdown(io->fd, SHUT_WR);
}
