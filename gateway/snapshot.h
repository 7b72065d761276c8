/* What workers read: an immutable, refcounted snapshot of certificates
 * (the SNI cache) and applications (the route table), built by the control
 * thread and published with one atomic swap. A worker thread sees a new
 * snapshot at its next snapshot_current() call; a connection that keeps
 * pointers into a snapshot holds its own reference. */
#ifndef POSTERN_GATEWAY_SNAPSHOT_H
#define POSTERN_GATEWAY_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>

struct sni_cache;
struct route_table;
struct firewall_rules;
struct cidr_set;

/* Settings from the config file that workers use per connection; a SIGHUP
 * reload publishes new ones with the next snapshot (new connections see
 * them). */
struct gateway_settings {
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned backend_connect_timeout_ms;
	unsigned backend_timeout_ms;
	int https_port; /* for redirects to HTTPS */
	size_t waf_body_limit; /* request body bytes the WAF inspects */
};

struct snapshot {
	atomic_int refs;
	unsigned long generation;  /* set by snapshot_publish */
	struct sni_cache *sni;     /* owned */
	struct route_table *routes; /* owned */
	struct firewall_rules *rules; /* compiled WAF rules: a reference (NULL: none) */
	struct cidr_set *trusted_proxies; /* owned; NULL when empty */
	struct gateway_settings settings;
};

/* A new snapshot holding sni and routes (ownership passes to it), with
 * one reference for the caller. NULL when out of memory. */
struct snapshot *snapshot_new(struct sni_cache *sni, struct route_table *routes);
struct snapshot *snapshot_ref(struct snapshot *s);
/* Drop a reference; the last one frees the snapshot and its contents. */
void snapshot_unref(struct snapshot *s);

/* Make s the current snapshot (takes the caller's reference). Any thread. */
void snapshot_publish(struct snapshot *s);

/* The calling thread's view of the current snapshot: borrowed, valid until
 * this thread calls snapshot_current() again or snapshot_thread_release().
 * Cost when nothing changed: one atomic load. NULL before the first
 * publish. */
struct snapshot *snapshot_current(void);

/* Drop the calling thread's cached reference (before the thread exits). */
void snapshot_thread_release(void);

/* Drop the published snapshot (at shutdown, after workers stopped). */
void snapshot_shutdown(void);

#endif
