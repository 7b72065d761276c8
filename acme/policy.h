/* When the ACME client acts: retry backoff, Retry-After, the renewal time
 * of a certificate (1/3 of its lifetime left, or inside the server's ARI
 * window), the ARI certificate identifier, and the orders-per-hour limit.
 * Pure functions (no I/O) so every rule is unit-tested. */
#ifndef POSTERN_ACME_POLICY_H
#define POSTERN_ACME_POLICY_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define ACME_POLICY_BACKOFF_BASE_MS    60000ULL             /* 1 minute */
#define ACME_POLICY_BACKOFF_MAX_MS     (6ULL * 3600 * 1000) /* 6 hours */
#define ACME_POLICY_DNS_RECHECK_MAX_MS (10ULL * 60 * 1000)
#define ACME_POLICY_ORDERS_PER_HOUR    20

/* The first retry delay: POSTERN_TEST_ACME_BACKOFF_MS from the environment
 * (a test hook: milliseconds, 1 or more) or ACME_POLICY_BACKOFF_BASE_MS. */
unsigned long long acme_policy_backoff_base(void);

/* The delay after the n-th consecutive failure (n >= 1): base doubled n-1
 * times, at most max_ms. */
unsigned long long acme_policy_backoff_ms(unsigned long long base_ms, unsigned n,
                                          unsigned long long max_ms);

/* Seconds to wait from a Retry-After value (delta-seconds, or an HTTP-date
 * compared with now). 0 for a date in the past; -1 when it does not parse.
 * Capped at one day. */
long long acme_policy_retry_after(const char *value, time_t now);

/* The time to renew a certificate valid from not_before to not_after: when
 * a third of its lifetime remains. */
time_t acme_policy_renew_at(time_t not_before, time_t not_after);

/* A time inside the ARI window [start, end) chosen by r in [0, 1) (RFC 9773
 * asks for a uniformly random point); not before now. */
time_t acme_policy_ari_pick(time_t start, time_t end, double r, time_t now);

/* The ARI certificate identifier (RFC 9773 section 4.1): base64url of the
 * authority key identifier, ".", base64url of the serial number's DER
 * content octets. malloc'd, caller frees; NULL when the certificate has no
 * authority key identifier. */
char *acme_policy_ari_cert_id(X509 *leaf);

/* Orders started in the last hour, to stop a misconfiguration from
 * exhausting the CA account's rate limits. */
struct acme_rate {
	time_t started[ACME_POLICY_ORDERS_PER_HOUR];
	size_t n;
};

/* 1 when another order may start at now (at most limit, itself at most
 * ACME_POLICY_ORDERS_PER_HOUR, in the last hour), else 0 with *next_slot
 * set to when one frees up. */
int acme_policy_rate_allow(struct acme_rate *r, time_t now, unsigned limit, time_t *next_slot);

/* Count an order started at now (call after rate_allow said yes). */
void acme_policy_rate_note(struct acme_rate *r, time_t now);

#endif
