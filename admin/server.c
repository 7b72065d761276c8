/* The admin listener on the control thread's event loop (it shares the
 * database connection with the snapshot builder, which workers never
 * touch): accept, the optional TLS context, periodic maintenance. The
 * connections themselves are conn.c's. */
#include "admin/admin_internal.h"

#include <stdlib.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "crypto/secret.h"

#define ADMIN_MAX_CONNS 256
#define ADMIN_MAINTENANCE_S 60

static void admin_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	struct admin_server *srv = arg;

	(void)l;
	(void)salen;
	if (srv->n_conns >= ADMIN_MAX_CONNS || admin_conn_new(srv, fd, sa) != 0)
		evutil_closesocket(fd);
}

static void admin_on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("admin console: accept failed (too many open files?)");
}

static void admin_on_maintenance(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	admin_auth_purge(arg);
	admin_tls_refresh(arg);
}

static int admin_listen(struct admin_server *srv, struct error *err)
{
	const struct config_listen *l = &srv->ctx->inst->cfg.admin_listen;
	struct timeval every = { ADMIN_MAINTENANCE_S, 0 };

	srv->listener = evconnlistener_new_bind(
		srv->base, admin_on_accept, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
		(const struct sockaddr *)&l->addr, (int)l->addr_len);
	if (srv->listener == NULL) {
		error_set(err, "admin", "cannot listen on [admin] listen = %s: %s", l->text,
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, admin_on_accept_error);
	srv->maintenance = event_new(srv->base, -1, EV_PERSIST, admin_on_maintenance, srv);
	if (srv->maintenance == NULL || event_add(srv->maintenance, &every) != 0) {
		error_set(err, "admin", "cannot start the admin maintenance timer");
		return -1;
	}
	return 0;
}

struct admin_server *admin_server_start(const struct admin_context *ctx, struct event_base *base,
					struct error *err)
{
	const struct config *cfg = &ctx->inst->cfg;
	struct admin_server *srv;

	if (!cfg->admin_tls && !cfg->admin_listen.is_loopback) {
		error_set(err, "admin",
			  "[admin] tls = off is allowed only on a loopback listen address (such as "
			  "127.0.0.1:9443), not on %s; turn tls on",
			  cfg->admin_listen.text);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		error_set(err, "admin", "out of memory");
		return NULL;
	}
	srv->ctx = ctx;
	srv->base = base;
	json_body_init();
	srv->throttle = admin_throttle_new();
	if (srv->throttle == NULL) {
		error_set(err, "admin", "out of memory");
		admin_server_free(srv);
		return NULL;
	}
	if ((cfg->admin_tls && (srv->ssl_ctx = admin_tls_ctx_new(srv, err)) == NULL) ||
	    admin_listen(srv, err) != 0) {
		admin_server_free(srv);
		return NULL;
	}
	log_info("admin console on %s://%s", cfg->admin_tls ? "https" : "http",
		 cfg->admin_listen.text);
	return srv;
}

void admin_server_free(struct admin_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	admin_conn_close_all(srv);
	if (srv->maintenance != NULL)
		event_free(srv->maintenance);
	admin_throttle_free(srv->throttle);
	if (srv->ssl_ctx != NULL)
		SSL_CTX_free(srv->ssl_ctx);
	secret_wipe(srv->dummy_hash, sizeof(srv->dummy_hash));
	free(srv);
}
