/* The admin listener: the JSON API under /api/v1, /metrics, and the
 * embedded console, served on the control thread's event loop (it reads
 * and writes the database, which workers never do). */
#ifndef POSTERN_ADMIN_ADMIN_H
#define POSTERN_ADMIN_ADMIN_H

#include <time.h>

#include "common/error.h"
#include "gateway/control.h"
#include "gateway/instance.h"
#include "gateway/worker.h"

struct event_base;
struct admin_server;

/* What the admin server needs from the running daemon. */
struct admin_context {
	struct instance *inst;         /* database, keys, config ([admin] listen, tls) */
	struct control *ctl;           /* control_request_rebuild after every change */
	struct gateway_shared *shared; /* counters for status and metrics */
	int n_workers;
	time_t started;                /* for uptime */
};

/* Start listening on [admin] listen on base. With tls = on, serve a
 * certificate issued by the instance test CA for the listen address and
 * "localhost" (kept in the database, re-issued when it nears expiry).
 * tls = off is accepted only for loopback addresses. Returns NULL with
 * err (code "admin") on failure. The context must outlive the server. */
struct admin_server *admin_server_start(const struct admin_context *ctx, struct event_base *base,
					struct error *err);

/* Close the listener and every admin connection. NULL allowed. */
void admin_server_free(struct admin_server *srv);

#endif
