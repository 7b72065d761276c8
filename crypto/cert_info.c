/* What a certificate says (names, key, fingerprint, validity) and the
 * status rules of SPEC section 3 computed from it. */
#include "crypto/cert.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#define EXPIRING_WINDOW_MAX (14 * 24 * 3600)

static const char *const status_names[CERT_STATUS_MAX] = {
	[CERT_STATUS_OK] = "ok",
	[CERT_STATUS_EXPIRING] = "expiring",
	[CERT_STATUS_EXPIRED] = "expired",
	[CERT_STATUS_NOT_YET_VALID] = "not_yet_valid",
	[CERT_STATUS_DOMAIN_MISMATCH] = "domain_mismatch",
	[CERT_STATUS_PENDING] = "pending",
	[CERT_STATUS_AWAITING_DNS] = "awaiting_dns",
	[CERT_STATUS_FAILED] = "failed",
};

/* Copy the first entry nid of name into out as UTF-8; "" when there is
 * none. Returns 1 when an entry was found. */
static int name_entry(const X509_NAME *name, int nid, char *out, size_t n)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int idx, len;

	out[0] = '\0';
	idx = name ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
	if (idx < 0)
		return 0;
	e = X509_NAME_get_entry(name, idx);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (len < 0)
		return 0;
	/* A NUL inside a name would make it compare as something it is not. */
	if (memchr(utf8, '\0', (size_t)len) == NULL)
		snprintf(out, n, "%.*s", len, (const char *)utf8);
	OPENSSL_free(utf8);
	return out[0] != '\0';
}

/* Append the DNS names of x's subjectAltName, lowercased, to info. */
static int collect_sans(X509 *x, struct cert_info *info)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, count = gens ? sk_GENERAL_NAME_num(gens) : 0;

	if (count > 0) {
		info->sans = calloc((size_t)count, sizeof(*info->sans));
		if (info->sans == NULL) {
			GENERAL_NAMES_free(gens);
			return -1;
		}
	}
	for (i = 0; i < count; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		char *dns;
		int j, len;

		if (gn->type != GEN_DNS)
			continue;
		s = gn->d.dNSName;
		len = ASN1_STRING_length(s);
		if (len <= 0 || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
			continue;
		dns = strndup((const char *)ASN1_STRING_get0_data(s), (size_t)len);
		if (dns == NULL)
			break;
		for (j = 0; j < len; j++)
			dns[j] = (char)tolower((unsigned char)dns[j]);
		info->sans[info->n_sans++] = dns;
	}
	GENERAL_NAMES_free(gens);
	return i == count ? 0 : -1;
}

/* "ECDSA P-256", "RSA 2048", "Ed25519", ... for the key of x. */
static void key_type(X509 *x, char *out, size_t n)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64];
	const char *nist;

	snprintf(out, n, "unknown");
	if (pk == NULL)
		return;
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		snprintf(out, n, "RSA %d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(out, n, "RSA-PSS %d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1)
			break;
		nist = EC_curve_nid2nist(OBJ_txt2nid(group));
		snprintf(out, n, "ECDSA %.24s", nist ? nist : group);
		break;
	case EVP_PKEY_ED25519:
		snprintf(out, n, "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(out, n, "Ed448");
		break;
	case EVP_PKEY_DSA:
		snprintf(out, n, "DSA %d", EVP_PKEY_get_bits(pk));
		break;
	default:
		break;
	}
}

static void fingerprint(X509 *x, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	size_t pos = 0;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &len) != 1)
		return;
	for (i = 0; i < len && pos + 4 <= n; i++)
		pos += (size_t)snprintf(out + pos, n - pos, i ? ":%02X" : "%02X", md[i]);
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int cert_info_inspect(X509 *x, struct cert_info *out)
{
	memset(out, 0, sizeof(*out));
	if (x == NULL)
		return -1;
	if (asn1_time_to_time_t(X509_get0_notBefore(x), &out->not_before) < 0 ||
	    asn1_time_to_time_t(X509_get0_notAfter(x), &out->not_after) < 0)
		return -1;
	name_entry(X509_get_subject_name(x), NID_commonName, out->subject_cn,
		   sizeof(out->subject_cn));
	if (!name_entry(X509_get_issuer_name(x), NID_commonName, out->issuer_cn,
			sizeof(out->issuer_cn)))
		name_entry(X509_get_issuer_name(x), NID_organizationName, out->issuer_cn,
			   sizeof(out->issuer_cn));
	key_type(x, out->key_type, sizeof(out->key_type));
	fingerprint(x, out->fingerprint_sha256, sizeof(out->fingerprint_sha256));
	if (collect_sans(x, out) < 0) {
		cert_info_free(out);
		return -1;
	}
	return 0;
}

void cert_info_free(struct cert_info *info)
{
	size_t i;

	if (info == NULL)
		return;
	for (i = 0; i < info->n_sans; i++)
		free(info->sans[i]);
	free(info->sans);
	info->sans = NULL;
	info->n_sans = 0;
}

int cert_name_matches(const char *pattern, const char *host)
{
	const char *dot;

	if (pattern == NULL || host == NULL || pattern[0] == '\0' || host[0] == '\0')
		return 0;
	if (strcasecmp(pattern, host) == 0)
		return 1;
	/* Only "*.<at least two labels>" is a wildcard; "f*.a.com" or
	 * "a.*.com" match only literally (done above). */
	if (strncmp(pattern, "*.", 2) != 0 || strchr(pattern + 2, '.') == NULL)
		return 0;
	dot = strchr(host, '.');
	if (dot == NULL || dot == host)
		return 0;
	/* A wildcard host ("*.a.com") is covered only by the same wildcard,
	 * which the literal comparison above handled. */
	if (memchr(host, '*', (size_t)(dot - host)) != NULL)
		return 0;
	return strcasecmp(dot + 1, pattern + 2) == 0;
}

int cert_info_covers(const struct cert_info *info, const char *domain)
{
	size_t i;

	if (info == NULL || domain == NULL)
		return 0;
	if (cert_name_matches(info->subject_cn, domain))
		return 1;
	for (i = 0; i < info->n_sans; i++)
		if (cert_name_matches(info->sans[i], domain))
			return 1;
	return 0;
}

const char *cert_status_name(enum cert_status status)
{
	if ((int)status < 0 || status >= CERT_STATUS_MAX)
		return "unknown";
	return status_names[status];
}

int cert_status_parse(const char *name, enum cert_status *out)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < CERT_STATUS_MAX; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum cert_status)i;
			return 0;
		}
	}
	return -1;
}

enum cert_status cert_status_compute(const struct cert_info *info, const char *domain, time_t now)
{
	time_t lifetime, window;

	if (now < info->not_before)
		return CERT_STATUS_NOT_YET_VALID;
	if (now >= info->not_after)
		return CERT_STATUS_EXPIRED;
	if (domain != NULL && !cert_info_covers(info, domain))
		return CERT_STATUS_DOMAIN_MISMATCH;
	lifetime = info->not_after - info->not_before;
	window = lifetime / 3;
	if (window > EXPIRING_WINDOW_MAX)
		window = EXPIRING_WINDOW_MAX;
	if (info->not_after - now < window)
		return CERT_STATUS_EXPIRING;
	return CERT_STATUS_OK;
}
