/* Event ids and the queue from the workers to the control thread.
 *
 * The queue is Dmitry Vyukov's bounded MPMC ring: each cell carries a
 * sequence number that says whose turn it is. A producer claims position
 * pos when its cell's sequence equals pos, copies the event in, then
 * publishes pos + 1; the consumer takes the cell when it reads pos + 1 and
 * hands it back to the producers of the next lap with pos + capacity. The
 * only contended writes are the two position counters, kept on separate
 * cache lines so producers and the consumer do not slow each other down.
 * When the cell a producer needs is still full, the event is dropped and
 * counted: a worker never waits for the database. */
#include "waf/events.h"

#include <sodium.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64

struct event_cell {
	atomic_size_t seq;
	struct waf_event ev;
};

struct event_queue {
	/* read-only after creation */
	struct event_cell *cells;
	size_t mask; /* capacity - 1 */
	alignas(CACHE_LINE) atomic_size_t enqueue_pos;
	alignas(CACHE_LINE) atomic_size_t dequeue_pos;
	alignas(CACHE_LINE) atomic_uint_fast64_t dropped;
};

const char *waf_event_kind_name(enum waf_event_kind k)
{
	static const char *const names[WAF_EVENT_KIND_MAX] = {
	    [WAF_EVENT_WAF] = "waf",
	    [WAF_EVENT_RATE_LIMIT] = "rate_limit",
	    [WAF_EVENT_IP_DENY] = "ip_deny",
	};

	return (unsigned)k < WAF_EVENT_KIND_MAX ? names[k] : "unknown";
}

/* ---- event ids */

/* splitmix64: a counter through a bijective mixer, so one thread never
 * repeats an id before 2^64 draws; threads start at random points. The
 * ids need to be unguessable only in the weak sense of not being
 * sequential, so a CSPRNG call per blocked request is not worth it. */
static uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void waf_event_new_ref(char out[17])
{
	static _Thread_local uint64_t state;
	static _Thread_local int seeded;
	static const char hex[] = "0123456789abcdef";
	uint64_t v;

	if (!seeded) {
		/* randombytes needs no sodium_init (main calls it anyway) */
		randombytes_buf(&state, sizeof(state));
		seeded = 1;
	}
	v = splitmix64_next(&state);
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 0xf];
	out[16] = '\0';
}

/* ---- the queue */

struct event_queue *event_queue_new(size_t capacity)
{
	struct event_queue *q;
	size_t cap = 2; /* the ring needs two cells to tell full from empty */

	while (cap < capacity && cap <= SIZE_MAX / 2 / sizeof(struct event_cell))
		cap *= 2;
	if (cap < capacity)
		return NULL;
	q = aligned_alloc(CACHE_LINE, sizeof(*q)); /* sizeof is a multiple of CACHE_LINE */
	if (q == NULL)
		return NULL;
	q->cells = calloc(cap, sizeof(*q->cells));
	if (q->cells == NULL) {
		free(q);
		return NULL;
	}
	for (size_t i = 0; i < cap; i++)
		atomic_init(&q->cells[i].seq, i);
	q->mask = cap - 1;
	atomic_init(&q->enqueue_pos, 0);
	atomic_init(&q->dequeue_pos, 0);
	atomic_init(&q->dropped, 0);
	return q;
}

void event_queue_free(struct event_queue *q)
{
	if (q == NULL)
		return;
	free(q->cells);
	free(q);
}

int event_queue_push(struct event_queue *q, const struct waf_event *ev)
{
	size_t pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
	struct event_cell *cell;

	for (;;) {
		size_t seq;
		intptr_t diff;

		cell = &q->cells[pos & q->mask];
		seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		diff = (intptr_t)seq - (intptr_t)pos;
		if (diff == 0) {
			/* our turn: claim pos (a failed CAS reloads pos) */
			if (atomic_compare_exchange_weak_explicit(&q->enqueue_pos, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (diff < 0) {
			/* the cell still holds last lap's event: full */
			atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
			return -1;
		} else {
			/* another producer took pos */
			pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
		}
	}
	cell->ev = *ev;
	atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
	return 0;
}

/* Move the oldest event to *out. Returns 1, or 0 when none is ready. */
static int queue_pop_one(struct event_queue *q, struct waf_event *out)
{
	size_t pos = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
	struct event_cell *cell;

	for (;;) {
		size_t seq;
		intptr_t diff;

		cell = &q->cells[pos & q->mask];
		seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		diff = (intptr_t)seq - (intptr_t)(pos + 1);
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&q->dequeue_pos, &pos, pos + 1,
			                                          memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (diff < 0) {
			return 0; /* empty, or the producer is still copying */
		} else {
			pos = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
		}
	}
	*out = cell->ev;
	atomic_store_explicit(&cell->seq, pos + q->mask + 1, memory_order_release);
	return 1;
}

size_t event_queue_pop(struct event_queue *q, struct waf_event *out, size_t max)
{
	size_t n = 0;

	while (n < max && queue_pop_one(q, &out[n]))
		n++;
	return n;
}

uint64_t event_queue_dropped(const struct event_queue *q)
{
	return atomic_load_explicit(&q->dropped, memory_order_relaxed);
}
