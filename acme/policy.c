#include "acme/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "acme/jws.h"

#define DAY 86400LL

unsigned long long acme_policy_backoff_base(void)
{
	const char *env = getenv("POSTERN_TEST_ACME_BACKOFF_MS");
	unsigned long long v;
	char *end;

	if (env == NULL || *env == '\0')
		return ACME_POLICY_BACKOFF_BASE_MS;
	errno = 0;
	v = strtoull(env, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return ACME_POLICY_BACKOFF_BASE_MS;
	return v;
}

unsigned long long acme_policy_backoff_ms(unsigned long long base_ms, unsigned n,
                                          unsigned long long max_ms)
{
	unsigned long long d = base_ms;

	for (unsigned i = 1; i < n && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

long long acme_policy_retry_after(const char *value, time_t now)
{
	struct tm tm;
	const char *end;
	long long secs;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		char *e;

		errno = 0;
		secs = strtoll(value, &e, 10);
		if (errno != 0 || (*e != '\0' && *e != ' '))
			return -1;
		return secs > DAY ? DAY : secs;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	secs = (long long)(timegm(&tm) - now);
	return secs < 0 ? 0 : (secs > DAY ? DAY : secs);
}

time_t acme_policy_renew_at(time_t not_before, time_t not_after)
{
	time_t life = not_after - not_before;

	if (life <= 0)
		return not_before;
	return not_after - life / 3;
}

time_t acme_policy_ari_pick(time_t start, time_t end, double r, time_t now)
{
	time_t t;

	if (r < 0 || r >= 1)
		r = 0;
	t = start + (time_t)((double)(end - start) * r);
	return t < now ? now : t;
}

/* base64url of the serial number's DER content octets (with the leading
 * 0x00 a positive number with its high bit set carries). */
static char *serial_b64(const ASN1_INTEGER *serial)
{
	unsigned char der[64], *p = der;
	int len = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, NULL);

	/* tag, a short-form length, content: serials are at most 20 octets */
	if (len <= 2 || len > (int)sizeof(der) ||
	    i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &p) != len || (der[1] & 0x80) ||
	    der[1] + 2 != len)
		return NULL;
	return jws_b64url_encode(der + 2, der[1]);
}

char *acme_policy_ari_cert_id(X509 *leaf)
{
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(leaf);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);
	char *a, *s, *out = NULL;
	size_t n;

	if (akid == NULL || serial == NULL)
		return NULL;
	a = jws_b64url_encode(ASN1_STRING_get0_data(akid), (size_t)ASN1_STRING_length(akid));
	s = serial_b64(serial);
	if (a != NULL && s != NULL) {
		n = strlen(a) + strlen(s) + 2;
		if ((out = malloc(n)) != NULL)
			snprintf(out, n, "%s.%s", a, s);
	}
	free(a);
	free(s);
	return out;
}

int acme_policy_rate_allow(struct acme_rate *r, time_t now, unsigned limit, time_t *next_slot)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->n; i++) /* forget orders older than an hour */
		if (r->started[i] > now - 3600)
			r->started[kept++] = r->started[i];
	r->n = kept;
	if (limit > ACME_POLICY_ORDERS_PER_HOUR)
		limit = ACME_POLICY_ORDERS_PER_HOUR;
	if (r->n < limit)
		return 1;
	/* kept in start order: the oldest frees the next slot */
	*next_slot = r->n > 0 ? r->started[0] + 3600 : now + 3600;
	return 0;
}

void acme_policy_rate_note(struct acme_rate *r, time_t now)
{
	if (r->n == ACME_POLICY_ORDERS_PER_HOUR) { /* full: drop the oldest */
		memmove(r->started, r->started + 1, (r->n - 1) * sizeof(r->started[0]));
		r->n--;
	}
	r->started[r->n++] = now;
}
