/* Flood protection counters shared by every worker thread.
 *
 * A key picks one set of RATE_WAYS entries; only that set's spinlock is
 * taken, for a few dozen instructions, so threads counting different
 * clients rarely meet. A spinlock rather than a mutex because the critical
 * section is shorter than a futex call, and workers must never sleep.
 *
 * Each entry keeps the counts of two fixed windows of per_seconds, the
 * current one and the previous one. The count over the sliding window of
 * per_seconds ending now is estimated as cur + prev * (the share of the
 * previous window still inside the sliding one), assuming its requests
 * were spread evenly: a client cannot send twice the limit around a window
 * edge, and an entry takes 40 bytes instead of a timestamp per request.
 *
 * When the table is full, a new key takes the least recently seen entry of
 * its set. Clients being blocked are evicted last: a flood of fresh
 * addresses must not free a blocked client. */
#include "waf/ratelimit.h"

#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SPINS_BEFORE_YIELD 64

/* One client. key 0 marks a free entry. */
struct rate_entry {
	uint64_t key;
	uint64_t win_start_ms;   /* start of the current fixed window */
	uint64_t block_until_ms; /* refused until then */
	uint32_t cur, prev;      /* requests counted in the current and previous window */
	uint32_t period_s;       /* the window length last used, to tell when cur/prev are stale */
	uint32_t seen;           /* the set's clock at the last hit (least recent = evicted) */
};

/* The table's memory is capacity times this: keep it small. */
_Static_assert(sizeof(struct rate_entry) <= 40, "a rate entry should fit in 40 bytes");

struct rate_set {
	atomic_flag lock;
	uint32_t clock; /* counts hits in this set, for recency; under lock */
	struct rate_entry ways[RATE_WAYS];
};

struct rate_limiter {
	struct rate_set *sets;
	size_t mask; /* number of sets - 1 */
	atomic_uint_fast64_t evictions;
	unsigned char seed[crypto_shorthash_KEYBYTES];
};

/* ---- the table */

struct rate_limiter *rate_limiter_new(size_t capacity)
{
	struct rate_limiter *rl;
	size_t n_sets = 1;

	while (n_sets * RATE_WAYS < capacity && n_sets < SIZE_MAX / 2 / sizeof(struct rate_set))
		n_sets *= 2;
	if (sodium_init() < 0 || (rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->sets = calloc(n_sets, sizeof(*rl->sets));
	if (rl->sets == NULL) {
		free(rl);
		return NULL;
	}
	for (size_t i = 0; i < n_sets; i++)
		atomic_flag_clear(&rl->sets[i].lock);
	rl->mask = n_sets - 1;
	atomic_init(&rl->evictions, 0);
	randombytes_buf(rl->seed, sizeof(rl->seed));
	return rl;
}

void rate_limiter_free(struct rate_limiter *rl)
{
	if (rl == NULL)
		return;
	sodium_memzero(rl->seed, sizeof(rl->seed));
	free(rl->sets);
	free(rl);
}

uint64_t rate_limiter_evictions(const struct rate_limiter *rl)
{
	return atomic_load_explicit(&rl->evictions, memory_order_relaxed);
}

size_t rate_limiter_capacity(const struct rate_limiter *rl)
{
	return (rl->mask + 1) * RATE_WAYS;
}

static uint64_t hash(const struct rate_limiter *rl, const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, data, len, rl->seed);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* SipHash has no streaming interface in libsodium, and a path has no bound:
 * the path is hashed first and its hash goes into the fixed-size key. The
 * flag byte keeps "ip" and "ip_path" keys apart. */
uint64_t rate_key(const struct rate_limiter *rl, long long app_id, const uint8_t ip[16],
                  const char *path, size_t path_len)
{
	unsigned char buf[8 + 16 + 1 + 8];
	uint64_t path_hash = path ? hash(rl, path, path_len) : 0;

	memcpy(buf, &app_id, 8);
	memcpy(buf + 8, ip, 16);
	buf[24] = path != NULL;
	memcpy(buf + 25, &path_hash, 8);
	return hash(rl, buf, sizeof(buf));
}

static void set_lock(struct rate_set *s)
{
	unsigned spins = 0;

	while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire)) {
		/* The holder may have been preempted: after a short spin, give
		 * it the CPU instead of burning the rest of our time slice. */
		if (++spins % SPINS_BEFORE_YIELD == 0)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
}

static void set_unlock(struct rate_set *s)
{
	atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

/* The set of a key: the multiplier spreads keys that are not hashes (tests,
 * or a caller's own counter) as well as hashed ones. */
static struct rate_set *set_of(struct rate_limiter *rl, uint64_t key)
{
	return &rl->sets[(key * 0x9e3779b97f4a7c15ull >> 32) & rl->mask];
}

/* ---- entries */

/* 1 when evicting e loses something: a running block, or counts that
 * still weigh on the estimate (the current or the next window). */
static int entry_live(const struct rate_entry *e, uint64_t now_ms)
{
	if (e->key == 0)
		return 0;
	if (e->block_until_ms > now_ms)
		return 1;
	return (e->cur | e->prev) != 0 && e->win_start_ms + 2000ull * e->period_s > now_ms;
}

/* Eviction order: free or stale entries first, then live ones, then those
 * still blocking. */
static int entry_rank(const struct rate_entry *e, uint64_t now_ms)
{
	if (!entry_live(e, now_ms))
		return 0;
	return e->block_until_ms > now_ms ? 2 : 1;
}

/* The entry of key in s, taking one (and counting a live eviction) when
 * the key is new. Under s's lock. */
static struct rate_entry *entry_find(struct rate_limiter *rl, struct rate_set *s, uint64_t key,
                                     uint64_t now_ms)
{
	struct rate_entry *victim = NULL;
	int victim_rank = 3;

	for (int i = 0; i < RATE_WAYS; i++) {
		struct rate_entry *e = &s->ways[i];
		int rank;

		if (e->key == key)
			return e;
		rank = entry_rank(e, now_ms);
		/* unsigned age: the set's clock may wrap */
		if (rank < victim_rank ||
		    (rank == victim_rank && s->clock - e->seen > s->clock - victim->seen)) {
			victim = e;
			victim_rank = rank;
		}
	}
	if (victim_rank > 0)
		atomic_fetch_add_explicit(&rl->evictions, 1, memory_order_relaxed);
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	return victim;
}

/* Move e's windows forward to the one holding now_ms. A thread whose clock
 * reading is a little older than the last one's counts in the newer
 * window instead of resetting it. */
static void entry_roll(struct rate_entry *e, uint64_t period_ms, uint64_t now_ms)
{
	uint64_t start = now_ms - now_ms % period_ms;

	if (e->period_s != period_ms / 1000) {
		e->cur = e->prev = 0; /* the limit changed: old counts mean nothing */
		e->period_s = (uint32_t)(period_ms / 1000);
	} else if (start <= e->win_start_ms) {
		return;
	} else if (start == e->win_start_ms + period_ms) {
		e->prev = e->cur;
		e->cur = 0;
	} else {
		e->cur = e->prev = 0;
	}
	e->win_start_ms = start;
}

/* The sliding-window count at now_ms (>= e->win_start_ms after a roll,
 * except for a slightly late clock reading, counted as the window start). */
static double entry_estimate(const struct rate_entry *e, uint64_t period_ms, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > e->win_start_ms ? now_ms - e->win_start_ms : 0;
	uint64_t left = elapsed < period_ms ? period_ms - elapsed : 0;

	/* rounded up: just after a window ends, its requests still count in
	 * full, so a burst at the end of one window and the start of the next
	 * cannot slip one request past the limit */
	return e->cur + (double)(((uint64_t)e->prev * left + period_ms - 1) / period_ms);
}

/* Milliseconds from now_ms until the estimate falls under allowed, with no
 * more requests counted: within this window once the previous one's share
 * has shrunk enough, otherwise in the next window as this one's share
 * shrinks. At least 1. */
static uint64_t entry_ms_until_under(const struct rate_entry *e, uint64_t period_ms,
                                     uint64_t now_ms, uint32_t allowed)
{
	uint64_t end = e->win_start_ms + period_ms, at;

	/* cur + ceil(prev * left / P) < allowed  <=>  left <= (allowed - cur - 1) * P / prev */
	if (e->cur < allowed && e->prev > 0)
		at = end - (uint64_t)((double)(allowed - e->cur - 1) * (double)period_ms / e->prev);
	else if (e->cur < allowed)
		at = now_ms + 1;
	else /* in the next window this one is the previous: ceil(cur * left / P) < allowed */
		at = end + period_ms - (uint64_t)((double)(allowed - 1) * (double)period_ms / e->cur);
	return at > now_ms ? at - now_ms : 1;
}

static unsigned ms_to_retry_s(uint64_t ms)
{
	uint64_t s = (ms + 999) / 1000;

	return s < 1 ? 1 : s > UINT32_MAX ? UINT32_MAX : (unsigned)s;
}

/* Count one request in e. Under the set's lock. */
static enum rate_result entry_hit(struct rate_entry *e, const struct rate_limit *limit,
                                  uint64_t now_ms, unsigned *retry_after_s)
{
	uint64_t period_ms = 1000ull * (limit->per_seconds ? limit->per_seconds : 1);
	uint64_t allowed = (uint64_t)(limit->requests ? limit->requests : 1) + limit->burst;
	uint32_t cap = allowed > UINT32_MAX ? UINT32_MAX : (uint32_t)allowed;
	uint64_t wait_ms;

	if (e->block_until_ms > now_ms) {
		*retry_after_s = ms_to_retry_s(e->block_until_ms - now_ms);
		return RATE_BLOCKED;
	}
	entry_roll(e, period_ms, now_ms);
	if (entry_estimate(e, period_ms, now_ms) < (double)cap) {
		e->cur++;
		return RATE_PASS;
	}
	/* Without block_seconds the key is refused only while it is over:
	 * until the estimate falls under the limit. */
	wait_ms = limit->block_seconds ? 1000ull * limit->block_seconds
	                               : entry_ms_until_under(e, period_ms, now_ms, cap);
	e->block_until_ms = now_ms + wait_ms;
	*retry_after_s = ms_to_retry_s(wait_ms);
	return RATE_EXCEEDED;
}

enum rate_result rate_limiter_hit(struct rate_limiter *rl, uint64_t key,
                                  const struct rate_limit *limit, uint64_t now_ms,
                                  unsigned *retry_after_s)
{
	struct rate_set *s;
	struct rate_entry *e;
	enum rate_result r;
	unsigned retry = 0;

	if (key == 0)
		key = 1; /* 0 marks a free entry */
	s = set_of(rl, key);
	set_lock(s);
	e = entry_find(rl, s, key, now_ms);
	e->seen = ++s->clock;
	r = entry_hit(e, limit, now_ms, &retry);
	set_unlock(s);
	if (retry_after_s != NULL)
		*retry_after_s = retry;
	return r;
}
