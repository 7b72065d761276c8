/* When the ACME client acts: backoff (1 minute doubling to 6 hours, the
 * test hook for its base), Retry-After in both forms, the renewal time at
 * 1/3 of the lifetime, the ARI window pick and certificate identifier
 * (RFC 9773's own example), and the orders-per-hour limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "acme/policy.h"
#include "tests/unit/tap.h"

#define HOUR_MS (3600ULL * 1000)

static void test_backoff(void)
{
	unsigned long long b = ACME_POLICY_BACKOFF_BASE_MS, max = ACME_POLICY_BACKOFF_MAX_MS;

	ok(acme_policy_backoff_ms(b, 1, max) == 60000, "first retry after 1 minute");
	ok(acme_policy_backoff_ms(b, 2, max) == 120000, "second after 2 minutes");
	ok(acme_policy_backoff_ms(b, 5, max) == 960000, "fifth after 16 minutes");
	ok(acme_policy_backoff_ms(b, 9, max) == 15360000, "ninth after 256 minutes");
	ok(acme_policy_backoff_ms(b, 10, max) == 6 * HOUR_MS, "then capped at 6 hours");
	ok(acme_policy_backoff_ms(b, 4000000000u, max) == 6 * HOUR_MS,
	   "a huge failure count stays at the cap (no overflow)");
	ok(acme_policy_backoff_ms(b, 0, max) == 60000, "n = 0 is treated as the first");
	ok(acme_policy_backoff_ms(2000, 3, max) == 8000, "a 2 s test base: 2, 4, 8 s");
	unsetenv("POSTERN_TEST_ACME_BACKOFF_MS");
	ok(acme_policy_backoff_base() == 60000, "without the test hook the base is 1 minute");
	setenv("POSTERN_TEST_ACME_BACKOFF_MS", "2000", 1);
	ok(acme_policy_backoff_base() == 2000, "POSTERN_TEST_ACME_BACKOFF_MS sets the base");
	setenv("POSTERN_TEST_ACME_BACKOFF_MS", "2s", 1);
	ok(acme_policy_backoff_base() == 60000, "a malformed test hook is ignored");
	setenv("POSTERN_TEST_ACME_BACKOFF_MS", "0", 1);
	ok(acme_policy_backoff_base() == 60000, "a zero base is ignored");
	unsetenv("POSTERN_TEST_ACME_BACKOFF_MS");
}

static void test_retry_after(void)
{
	time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */

	ok(acme_policy_retry_after("120", now) == 120, "delta-seconds");
	ok(acme_policy_retry_after(" 5", now) == 5, "leading whitespace");
	ok(acme_policy_retry_after("0", now) == 0, "zero seconds");
	ok(acme_policy_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60,
	   "an HTTP-date one minute ahead");
	ok(acme_policy_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0,
	   "an HTTP-date in the past means now");
	ok(acme_policy_retry_after("99999999", now) == 86400, "capped at one day");
	ok(acme_policy_retry_after("soon", now) == -1, "garbage is -1");
	ok(acme_policy_retry_after("12abc", now) == -1, "digits then garbage is -1");
	ok(acme_policy_retry_after("Sun, 06 Nov 1994 08:50:37 UTC", now) == -1,
	   "a date not in GMT is -1");
	ok(acme_policy_retry_after(NULL, now) == -1, "absent is -1");
}

static void test_renewal_times(void)
{
	ok(acme_policy_renew_at(1000, 1090) == 1060, "90-second certificate: renew after 60 s");
	ok(acme_policy_renew_at(0, 90 * 86400) == 60 * 86400,
	   "90-day certificate: renew with 30 days left");
	ok(acme_policy_renew_at(5000, 5000) == 5000 && acme_policy_renew_at(5000, 10) == 5000,
	   "an empty or inverted lifetime renews at once");
	ok(acme_policy_ari_pick(1000, 2000, 0.0, 0) == 1000, "ARI: r = 0 is the window start");
	ok(acme_policy_ari_pick(1000, 2000, 0.5, 0) == 1500, "ARI: r = 0.5 is its middle");
	ok(acme_policy_ari_pick(1000, 2000, 0.999, 0) < 2000, "ARI: inside the window");
	ok(acme_policy_ari_pick(1000, 2000, 7.0, 0) == 1000, "ARI: an out-of-range r means start");
	ok(acme_policy_ari_pick(1000, 2000, 0.1, 5000) == 5000,
	   "ARI: a window in the past means now");
}

/* RFC 9773 section 4.1: AKI 69:88:5B:..:C8:D4, serial 0x87654321 gives
 * "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE". */
static void test_ari_cert_id(void)
{
	static const unsigned char keyid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
	                                      0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
	                                      0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	X509 *x = X509_new(), *bare = X509_new();
	BIGNUM *bn = NULL;
	char *id;

	BN_hex2bn(&bn, "87654321");
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	akid->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(akid->keyid, keyid, sizeof(keyid));
	X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	id = acme_policy_ari_cert_id(x);
	ok(id && strcmp(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE") == 0,
	   "RFC 9773 example certificate identifier (serial with its leading zero): %s",
	   id ? id : "(null)");
	free(id);
	X509_set_pubkey(bare, key);
	X509_sign(bare, key, EVP_sha256());
	ok(acme_policy_ari_cert_id(bare) == NULL, "no authority key identifier: no ARI id");
	BN_free(bn);
	AUTHORITY_KEYID_free(akid);
	X509_free(x);
	X509_free(bare);
	EVP_PKEY_free(key);
}

static void test_rate(void)
{
	struct acme_rate r;
	time_t slot = 0, t0 = 100000;
	int allowed = 0;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 25; i++)
		if (acme_policy_rate_allow(&r, t0 + i, ACME_POLICY_ORDERS_PER_HOUR, &slot)) {
			acme_policy_rate_note(&r, t0 + i);
			allowed++;
		}
	ok(allowed == 20, "20 orders in an hour, then no more (%d allowed)", allowed);
	ok(slot == t0 + 3600, "the next slot frees when the first order is an hour old");
	ok(!acme_policy_rate_allow(&r, t0 + 3599, 20, &slot), "still full just before");
	ok(acme_policy_rate_allow(&r, t0 + 3601, 20, &slot), "one slot free an hour later");
	ok(!acme_policy_rate_allow(&r, t0 + 3601, 1, &slot), "a lower limit applies");
	ok(!acme_policy_rate_allow(&r, t0, 0, &slot) && slot >= t0,
	   "a limit of zero allows nothing");
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 30; i++)
		acme_policy_rate_note(&r, t0 + i);
	ok(r.n == ACME_POLICY_ORDERS_PER_HOUR && r.started[r.n - 1] == t0 + 29,
	   "noting past the limit keeps the newest (no overflow)");
}

int main(void)
{
	test_backoff();
	test_retry_after();
	test_renewal_times();
	test_ari_cert_id();
	test_rate();
	return done_testing();
}
