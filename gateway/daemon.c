/* The daemon: start-up in the order that never serves a half-loaded state
 * (snapshot first, then the ports), the control loop, signals, and the
 * graceful drain on SIGTERM. */
#include "autoconf.h"
#include "gateway/daemon.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin/admin.h"
#include "acme/client.h"
#include "common/log.h"
#include "gateway/access_log.h"
#include "gateway/challenge.h"
#include "gateway/control.h"
#include "gateway/instance.h"
#include "gateway/tls.h"
#include "gateway/worker.h"
#include "waf/events.h"
#include "waf/ratelimit.h"

#define MAX_WORKERS 256
#define RATE_LIMIT_KEYS (64 * 1024) /* clients tracked at once (2 MiB or so) */
#define EVENT_QUEUE_SIZE 8192       /* firewall events between two 250 ms drains */
#define TICKET_ROTATE_SECONDS 3600

struct daemon {
	const char *config_path;
	struct instance inst;
	struct event_base *base;
	struct control *ctl;
	struct gateway_shared shared;
	struct worker *workers;
	int n_workers;
	struct event *sig_term, *sig_int, *sig_hup, *tickets, *drain_check;
	uint64_t drain_deadline_ms;
	struct admin_context admin_ctx;
	struct admin_server *admin;
	struct acme_client *acme;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void settings_from_config(const struct config *cfg, struct gateway_settings *s)
{
	const struct sockaddr *sa = (const struct sockaddr *)&cfg->https_listen.addr;

	s->header_timeout_ms = cfg->header_timeout_ms;
	s->idle_timeout_ms = cfg->idle_timeout_ms;
	s->backend_connect_timeout_ms = cfg->backend_connect_timeout_ms;
	s->backend_timeout_ms = cfg->backend_timeout_ms;
	s->waf_body_limit = cfg->waf_body_limit;
	s->https_port = sa->sa_family == AF_INET6
				? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
				: ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static int worker_count(const struct config *cfg)
{
	long n = cfg->workers > 0 ? cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > MAX_WORKERS ? MAX_WORKERS : (int)n);
}

/* Test hook: POSTERN_TEST_ACME_TOKENS="tok1=answer1,tok2=answer2" puts
 * HTTP-01 answers in the table, as the ACME client would. */
static void load_test_tokens(void)
{
	const char *env = getenv("POSTERN_TEST_ACME_TOKENS");
	char *copy, *save = NULL;

	if (env == NULL || (copy = strdup(env)) == NULL)
		return;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (eq != NULL) {
			*eq = '\0';
			challenge_put(item, eq + 1);
		}
	}
	free(copy);
}

/* ---- signals */

static void daemon_on_drain_check(evutil_socket_t fd, short what, void *arg);

static void start_drain(struct daemon *d, const char *why)
{
	struct timeval tick = { 0, 50000 };

	if (atomic_exchange(&d->shared.draining, 1))
		return;
	log_info("%s: draining (up to %u ms for requests in flight)", why,
		 d->inst.cfg.drain_timeout_ms);
	d->drain_deadline_ms = mono_ms() + d->inst.cfg.drain_timeout_ms;
	for (int i = 0; i < d->n_workers; i++)
		worker_drain(&d->workers[i]);
	d->drain_check = event_new(d->base, -1, EV_PERSIST, daemon_on_drain_check, d);
	event_add(d->drain_check, &tick);
}

static int workers_done(struct daemon *d)
{
	for (int i = 0; i < d->n_workers; i++) {
		if (d->workers[i].thread == 0)
			continue;
		if (pthread_tryjoin_np(d->workers[i].thread, NULL) != 0)
			return 0;
		d->workers[i].thread = 0;
	}
	return 1;
}

static void daemon_on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (workers_done(d)) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (mono_ms() >= d->drain_deadline_ms) {
		log_warn("drain timeout: closing the connections still open");
		for (int i = 0; i < d->n_workers; i++)
			if (d->workers[i].thread != 0)
				worker_abort(&d->workers[i]);
	}
}

static void daemon_on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	start_drain(arg, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void daemon_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config cfg;
	struct error err;
	struct gateway_settings settings;

	(void)sig;
	(void)what;
	log_reopen();
	access_log_reopen();
	if (config_load(d->config_path, &cfg, &err) != 0) {
		log_error("SIGHUP: keeping the running config: %s", err.message);
		return;
	}
	if (strcmp(cfg.http_listen.text, d->inst.cfg.http_listen.text) != 0 ||
	    strcmp(cfg.https_listen.text, d->inst.cfg.https_listen.text) != 0 ||
	    strcmp(cfg.data_dir, d->inst.cfg.data_dir) != 0)
		log_warn("SIGHUP: listen addresses and data_dir change only on restart");
	d->inst.cfg.header_timeout_ms = cfg.header_timeout_ms;
	d->inst.cfg.idle_timeout_ms = cfg.idle_timeout_ms;
	d->inst.cfg.backend_connect_timeout_ms = cfg.backend_connect_timeout_ms;
	d->inst.cfg.backend_timeout_ms = cfg.backend_timeout_ms;
	d->inst.cfg.drain_timeout_ms = cfg.drain_timeout_ms;
	free(d->inst.cfg.default_certificate);
	d->inst.cfg.default_certificate = cfg.default_certificate;
	cfg.default_certificate = NULL;
	/* firewall settings: published with the next snapshot */
	config_swap_trusted_proxies(&d->inst.cfg, &cfg);
	d->inst.cfg.waf_body_limit = cfg.waf_body_limit;
	d->inst.cfg.event_retention_s = cfg.event_retention_s;
	settings_from_config(&d->inst.cfg, &settings);
	control_set_settings(d->ctl, &settings);
	config_free(&cfg);
	log_info("SIGHUP: logs reopened, config reloaded");
}

static void daemon_on_tickets(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (tls_rotate_ticket_keys() != 0)
		log_error("cannot rotate TLS session ticket keys");
}

static int add_events(struct daemon *d)
{
	struct timeval rotate = { TICKET_ROTATE_SECONDS, 0 };

	d->sig_term = evsignal_new(d->base, SIGTERM, daemon_on_term, d);
	d->sig_int = evsignal_new(d->base, SIGINT, daemon_on_term, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, daemon_on_hup, d);
	d->tickets = event_new(d->base, -1, EV_PERSIST, daemon_on_tickets, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup || !d->tickets)
		return -1;
	return event_add(d->sig_term, NULL) | event_add(d->sig_int, NULL) |
	       event_add(d->sig_hup, NULL) | event_add(d->tickets, &rotate);
}

/* ---- start and stop */

/* A connection costs a descriptor (two when proxied): take the hard limit,
 * as nginx's worker_rlimit_nofile or HAProxy would. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open-file limit to %llu",
				 (unsigned long long)rl.rlim_max);
	}
}

static int setup_logs(struct daemon *d, struct error *err)
{
	struct config *cfg = &d->inst.cfg;
	enum log_level level = LOGL_INFO;

	log_level_parse(cfg->log_level, &level);
	log_set_level(level);
	if (log_open(cfg->error_log) != 0) {
		error_set(err, "log", "cannot open error_log %s", cfg->error_log);
		return -1;
	}
	if (access_log_open(cfg->access_log, cfg->access_log_format) != 0) {
		error_set(err, "log", "cannot open access_log %s", cfg->access_log);
		return -1;
	}
	return 0;
}

static int start_workers(struct daemon *d, struct error *err)
{
	d->n_workers = worker_count(&d->inst.cfg);
	d->workers = calloc((size_t)d->n_workers, sizeof(*d->workers));
	if (d->workers == NULL)
		return -1;
	for (int i = 0; i < d->n_workers; i++)
		if (worker_init(&d->workers[i], i, &d->shared, err) != 0)
			return -1;
	for (int i = 0; i < d->n_workers; i++)
		if (worker_start(&d->workers[i]) != 0) {
			error_set(err, "internal", "cannot start worker thread %d", i);
			return -1;
		}
	return 0;
}

static int daemon_start(struct daemon *d, struct error *err)
{
	struct gateway_settings settings;

	if (instance_open(d->config_path, &d->inst, err) != 0 || setup_logs(d, err) != 0)
		return -1;
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	d->base = event_base_new();
	d->shared.cfg = &d->inst.cfg;
	d->shared.ssl_ctx = tls_server_ctx_new(err);
	if (d->base == NULL || d->shared.ssl_ctx == NULL || tls_rotate_ticket_keys() != 0)
		return -1;
	settings_from_config(&d->inst.cfg, &settings);
	d->shared.limiter = rate_limiter_new(RATE_LIMIT_KEYS);
	d->shared.events = event_queue_new(EVENT_QUEUE_SIZE);
	if (d->shared.limiter == NULL || d->shared.events == NULL) {
		error_set(err, "internal", "%s", "out of memory");
		return -1;
	}
	d->ctl = control_new(&d->inst, d->base, &settings, err);
	if (d->ctl != NULL)
		control_set_event_queue(d->ctl, d->shared.events);
	/* the first snapshot is published before any port opens */
	if (d->ctl == NULL || control_rebuild(d->ctl, err) != 0)
		return -1;
	load_test_tokens();
	if ((d->acme = acme_client_new(&d->inst, d->base, d->ctl, err)) == NULL)
		return -1;
	if (start_workers(d, err) != 0 || add_events(d) != 0)
		return -1;
	d->admin_ctx = (struct admin_context){ &d->inst, d->ctl, &d->shared, d->n_workers,
					       time(NULL) };
	if ((d->admin = admin_server_start(&d->admin_ctx, d->base, err)) == NULL)
		return -1;
	log_info("postern %s serving: http %s, https %s, %d workers, data in %s", PACKAGE_VERSION,
		 d->inst.cfg.http_listen.text, d->inst.cfg.https_listen.text, d->n_workers,
		 d->inst.cfg.data_dir);
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	struct event **events[] = { &d->sig_term, &d->sig_int, &d->sig_hup, &d->tickets,
				    &d->drain_check };

	for (int i = 0; d->workers != NULL && i < d->n_workers; i++) {
		if (d->workers[i].thread != 0)
			worker_abort(&d->workers[i]);
		worker_join(&d->workers[i]);
	}
	free(d->workers);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (*events[i] != NULL)
			event_free(*events[i]);
	snapshot_thread_release();
	snapshot_shutdown();
	admin_server_free(d->admin);
	acme_client_free(d->acme);
	control_free(d->ctl); /* writes the last firewall events */
	event_queue_free(d->shared.events);
	rate_limiter_free(d->shared.limiter);
	challenge_clear();
	if (d->shared.ssl_ctx != NULL)
		SSL_CTX_free(d->shared.ssl_ctx);
	if (d->base != NULL)
		event_base_free(d->base);
	access_log_close();
	instance_close(&d->inst);
}

int daemon_run(const char *config_path)
{
	struct daemon d;
	struct error err;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	error_clear(&err);
	if (daemon_start(&d, &err) != 0) {
		fprintf(stderr, "postern: error %s: %s\n", err.code[0] ? err.code : "start",
			err.message[0] ? err.message : "start-up failed");
		rc = 1;
	} else {
		event_base_dispatch(d.base);
		log_info("stopped");
	}
	daemon_stop(&d);
	return rc;
}
