/* WAF, rate-limit and IP-list events: workers hand them to the control
 * thread through a bounded lock-free queue (Vyukov's bounded MPMC ring):
 * a push never blocks and never allocates; when the ring is full the event
 * is dropped and counted. The control thread drains the queue and writes
 * batches to the database. */
#ifndef POSTERN_WAF_EVENTS_H
#define POSTERN_WAF_EVENTS_H

#include <stddef.h>
#include <stdint.h>

enum waf_event_kind { WAF_EVENT_WAF, WAF_EVENT_RATE_LIMIT, WAF_EVENT_IP_DENY, WAF_EVENT_KIND_MAX };

struct waf_event {
	char ref[17];      /* 16 hex digits: the id shown on the 403 page */
	long long time_ms; /* wall clock, ms since the epoch */
	long long app_id;
	long long rule_id;     /* WAF rule; 0 for rate limit and IP list events */
	unsigned char kind;    /* enum waf_event_kind */
	unsigned char blocked; /* 1: the request was refused; 0: only logged */
	char client_ip[46];
	char target[80];
	char method[16];
	char path[256];    /* cut to fit */
	char excerpt[129]; /* at most 128 bytes; never a secret */
};

/* "waf", "rate_limit", "ip_deny" (static strings); "unknown" out of range. */
const char *waf_event_kind_name(enum waf_event_kind k);

/* A fresh event id (16 hex digits, random, per-thread generator seeded
 * from the system's randomness). out has at least 17 bytes. */
void waf_event_new_ref(char out[17]);

struct event_queue;

/* A queue of capacity events (rounded up to a power of two, at least 2),
 * owned by the caller. NULL when out of memory. */
struct event_queue *event_queue_new(size_t capacity);
void event_queue_free(struct event_queue *q); /* NULL is fine */
/* Copy ev in. Returns 0, or -1 when full (the event is dropped and
 * counted). Any thread; lock-free. */
int event_queue_push(struct event_queue *q, const struct waf_event *ev);
/* Move up to max events out, oldest first. Returns how many (0 when
 * empty). Any thread; lock-free. */
size_t event_queue_pop(struct event_queue *q, struct waf_event *out, size_t max);
uint64_t event_queue_dropped(const struct event_queue *q);

#endif
