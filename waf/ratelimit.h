/* Flood (CC) protection: request counters per client key, shared by all
 * worker threads (a client cannot multiply its limit by the number of
 * threads), in a fixed amount of memory.
 *
 * The table is set-associative: a key hashes (keyed SipHash, seeded at
 * start) to one set of RATE_WAYS entries guarded by a tiny spinlock; a new
 * key takes a free entry or evicts the least recently seen one of its set
 * (entries still blocking a client are evicted last). Evictions of live
 * entries are counted. Memory is capacity * sizeof(entry), fixed at
 * creation; no allocation after that.
 *
 * Counting is a sliding window of per_seconds approximated from two
 * fixed windows (the previous window's count weighted by how much of it
 * still overlaps): a key may send requests + burst requests in any window;
 * the next one is refused and the key is then refused for block_seconds. */
#ifndef POSTERN_WAF_RATELIMIT_H
#define POSTERN_WAF_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATE_WAYS 8

struct rate_limit {
	unsigned requests;    /* >= 1 */
	unsigned per_seconds; /* >= 1 */
	unsigned burst;       /* extra requests allowed in a window */
	/* refusal after the limit is passed; 0 = only while over (RATE_BLOCKED
	 * until the sliding count is back under the limit) */
	unsigned block_seconds;
};

enum rate_result {
	RATE_PASS,     /* under the limit: counted */
	RATE_EXCEEDED, /* this request passed the limit: refused; the block starts now */
	RATE_BLOCKED,  /* refused: the key is inside its block_seconds */
	RATE_RESULT_MAX
};

struct rate_limiter;

/* A table for at least capacity keys (rounded up to a power of two of
 * sets). NULL when out of memory. */
struct rate_limiter *rate_limiter_new(size_t capacity);
void rate_limiter_free(struct rate_limiter *rl); /* NULL is fine */

/* The key of a client: the application, the client address (16 bytes,
 * struct ip_addr) and, for the "ip_path" key, the request path (NULL
 * otherwise). Keyed hash: clients cannot aim at one set. */
uint64_t rate_key(const struct rate_limiter *rl, long long app_id, const uint8_t ip[16],
                  const char *path, size_t path_len);

/* Count one request of key at now_ms under limit. On RATE_EXCEEDED and
 * RATE_BLOCKED, *retry_after_s is the whole seconds until the key may send
 * again (at least 1). Any thread; never blocks for longer than a few
 * instructions of another thread on the same set. */
enum rate_result rate_limiter_hit(struct rate_limiter *rl, uint64_t key,
                                  const struct rate_limit *limit, uint64_t now_ms,
                                  unsigned *retry_after_s);

/* Counters for /metrics and tests. */
uint64_t rate_limiter_evictions(const struct rate_limiter *rl); /* live entries evicted */
size_t rate_limiter_capacity(const struct rate_limiter *rl);    /* entries */

#endif
