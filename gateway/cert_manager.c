#include "gateway/cert_manager.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/domain.h"
#include "crypto/secret.h"

#define TEST_CA_CERT_SETTING "test_ca.certificate"
#define TEST_CA_KEY_SETTING "test_ca.sealed_key"
#define TEST_CA_KEY_AD "postern:test-ca-key"

void cert_view_free(struct cert_view *v)
{
	store_cert_free(&v->rec);
	if (v->has_info)
		cert_info_free(&v->info);
	memset(v, 0, sizeof(*v));
}

void cert_view_list_free(struct cert_view *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cert_view_free(&list[i]);
	free(list);
}

static void format_day(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

static void describe_mismatch(struct cert_view *v)
{
	size_t o = (size_t)snprintf(v->status_detail, sizeof(v->status_detail),
				    "the certificate names (CN '%s'; SANs", v->info.subject_cn);

	for (size_t i = 0; i < v->info.n_sans && o < sizeof(v->status_detail); i++)
		o += (size_t)snprintf(v->status_detail + o, sizeof(v->status_detail) - o, "%s %s",
				      i ? "," : "", v->info.sans[i]);
	if (o < sizeof(v->status_detail))
		snprintf(v->status_detail + o, sizeof(v->status_detail) - o,
			 "%s) do not cover %s", v->info.n_sans ? "" : " none", v->rec.domain);
}

void cert_manager_status(struct cert_view *v, time_t now)
{
	char day[32];

	v->status_detail[0] = '\0';
	if (!v->has_info) {
		if (cert_status_parse(v->rec.state, &v->status) != 0)
			v->status = CERT_STATUS_PENDING;
		snprintf(v->status_detail, sizeof(v->status_detail), "%s", v->rec.state_detail);
		return;
	}
	v->status = cert_status_compute(&v->info, v->rec.domain, now);
	switch (v->status) {
	case CERT_STATUS_EXPIRING:
		format_day(v->info.not_after, day);
		snprintf(v->status_detail, sizeof(v->status_detail), "expires in %lld days (%s)",
			 (long long)((v->info.not_after - now) / 86400), day);
		break;
	case CERT_STATUS_EXPIRED:
		format_day(v->info.not_after, day);
		snprintf(v->status_detail, sizeof(v->status_detail), "expired on %s", day);
		break;
	case CERT_STATUS_NOT_YET_VALID:
		format_day(v->info.not_before, day);
		snprintf(v->status_detail, sizeof(v->status_detail), "not valid before %s", day);
		break;
	case CERT_STATUS_DOMAIN_MISMATCH:
		describe_mismatch(v);
		break;
	default:
		break;
	}
}

/* The certificate versions the running daemon serves, as it recorded
 * them: {"pid":N,"certs":{"ID":VERSION}}. NULL when no daemon runs. */
static json_t *load_deployed(struct instance *inst)
{
	unsigned char *val = NULL;
	size_t len = 0;
	json_t *doc, *certs;
	json_int_t pid;

	if (store_setting_get(inst->store, CERT_MANAGER_DEPLOYED_SETTING, &val, &len, NULL) != 1)
		return NULL;
	doc = json_loadb((const char *)val, len, 0, NULL);
	free(val);
	pid = json_integer_value(json_object_get(doc, "pid"));
	certs = json_object_get(doc, "certs");
	if (pid <= 0 || !json_is_object(certs) || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) {
		json_decref(doc);
		return NULL;
	}
	json_incref(certs);
	json_decref(doc);
	return certs;
}

static void mark_deployed(struct cert_view *v, json_t *deployed)
{
	char key[32];

	snprintf(key, sizeof(key), "%lld", v->rec.id);
	v->deployed = deployed != NULL &&
		      json_integer_value(json_object_get(deployed, key)) == v->rec.version;
}

/* Fill a view from a stored record (takes ownership of rec). */
static int view_from_record(struct cert_view *v, struct store_cert *rec, struct error *err)
{
	memset(v, 0, sizeof(*v));
	v->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	if (v->rec.chain_pem != NULL) {
		X509 *leaf = NULL;
		STACK_OF(X509) *chain = NULL;

		if (cert_codec_parse_chain(v->rec.chain_pem, strlen(v->rec.chain_pem), &leaf,
					   &chain) != 0 ||
		    cert_info_inspect(leaf, &v->info) != 0) {
			X509_free(leaf);
			sk_X509_pop_free(chain, X509_free);
			error_set(err, "storage", "stored certificate %lld does not parse",
				  v->rec.id);
			return -1;
		}
		v->has_info = 1;
		X509_free(leaf);
		sk_X509_pop_free(chain, X509_free);
	}
	cert_manager_status(v, time(NULL));
	return 0;
}

/* Serialise a bundle into the record fields: chain PEM and sealed key. */
static int seal_bundle(struct instance *inst, struct cert_bundle *b, struct store_cert *rec,
		       struct error *err)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	char uid[33], ad[64];
	int rc;

	rec->chain_pem = cert_codec_chain_pem(b->leaf, b->chain);
	if (rec->chain_pem == NULL || cert_codec_key_der(b->key, &der, &der_len) != 0) {
		error_set(err, "internal", "cannot encode the certificate or its key");
		return -1;
	}
	keystore_new_uid(uid);
	snprintf(ad, sizeof(ad), "certkey:%s", uid);
	rc = keystore_seal(inst->keys, der, der_len, ad, &rec->sealed_key, &rec->sealed_key_len);
	secret_free(der, der_len);
	rec->key_uid = strdup(uid);
	if (rc != 0 || rec->key_uid == NULL) {
		error_set(err, "internal", "cannot seal the private key");
		return -1;
	}
	return 0;
}

static char *sans_json(const char *const *sans, size_t n)
{
	json_t *arr = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(sans[i]));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

static int store_new(struct instance *inst, const char *domain, const char *source,
		     struct cert_bundle *b, const char *const *sans, size_t n_sans,
		     const struct store_actor *who, long long *id, struct error *err)
{
	struct store_cert rec;
	int rc = -1;

	memset(&rec, 0, sizeof(rec));
	rec.domain = strdup(domain);
	rec.source = strdup(source);
	rec.extra_sans = sans_json(sans, n_sans);
	rec.state = strdup("");
	rec.state_detail = strdup("");
	if (rec.domain && rec.source && rec.extra_sans && rec.state && rec.state_detail &&
	    seal_bundle(inst, b, &rec, err) == 0 &&
	    store_cert_insert(inst->store, &rec, who, err) == 0) {
		*id = rec.id;
		rc = 0;
	} else if (err != NULL && err->code[0] == '\0') {
		error_set(err, "internal", "out of memory");
	}
	store_cert_free(&rec);
	return rc;
}

int cert_manager_import(struct instance *inst, const char *domain, const char *cert_pem,
			const char *key_pem, const char *ca_pem, const struct store_actor *who,
			long long *id, struct error *err)
{
	char name[DOMAIN_MAX + 1];
	struct cert_bundle b;
	int rc;

	error_clear(err);
	if (domain_normalize(domain, name, 1, err) != 0)
		return -1;
	if (cert_upload_parse(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem), ca_pem,
			      ca_pem ? strlen(ca_pem) : 0, &b, err) != 0)
		return -1;
	rc = store_new(inst, name, "user", &b, NULL, 0, who, id, err);
	cert_bundle_free(&b);
	return rc;
}

int cert_manager_replace(struct instance *inst, long long id, const char *cert_pem,
			 const char *key_pem, const char *ca_pem, const struct store_actor *who,
			 struct error *err)
{
	struct store_cert rec;
	struct cert_bundle b;
	int rc = -1;

	error_clear(err);
	if (store_cert_get(inst->store, id, &rec, err) != 0)
		return -1;
	if (strcmp(rec.source, "user") != 0) {
		error_set(err, "wrong_source",
			  "certificate %lld is not user provided; only user provided certificates "
			  "can be replaced with new PEM files",
			  id);
		store_cert_free(&rec);
		return -1;
	}
	if (cert_upload_parse(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem), ca_pem,
			      ca_pem ? strlen(ca_pem) : 0, &b, err) != 0) {
		store_cert_free(&rec);
		return -1;
	}
	free(rec.chain_pem);
	free(rec.sealed_key);
	free(rec.key_uid);
	rec.chain_pem = NULL;
	rec.sealed_key = NULL;
	rec.key_uid = NULL;
	if (seal_bundle(inst, &b, &rec, err) == 0 && store_cert_replace(inst->store, &rec, who, err) == 0)
		rc = 0;
	cert_bundle_free(&b);
	store_cert_free(&rec);
	return rc;
}

static int load_test_ca(struct instance *inst, X509 **ca, EVP_PKEY **key, struct error *err)
{
	unsigned char *pem = NULL, *sealed = NULL, *der = NULL;
	size_t pem_len = 0, sealed_len = 0, der_len = 0;
	STACK_OF(X509) *rest = NULL;
	int rc = -1;

	if (store_setting_get(inst->store, TEST_CA_CERT_SETTING, &pem, &pem_len, err) != 1 ||
	    store_setting_get(inst->store, TEST_CA_KEY_SETTING, &sealed, &sealed_len, err) != 1)
		goto out;
	if (cert_codec_parse_chain((const char *)pem, pem_len, ca, &rest) != 0 ||
	    keystore_unseal(inst->keys, sealed, sealed_len, TEST_CA_KEY_AD, &der, &der_len) != 0 ||
	    (*key = cert_codec_key_from_der(der, der_len)) == NULL) {
		error_set(err, "storage", "the stored test CA cannot be read");
		X509_free(*ca);
		*ca = NULL;
		goto out;
	}
	rc = 0;
out:
	sk_X509_pop_free(rest, X509_free);
	if (der != NULL)
		secret_free(der, der_len);
	free(pem);
	free(sealed);
	return rc;
}

static int create_test_ca(struct instance *inst, X509 **ca, EVP_PKEY **key, struct error *err)
{
	unsigned char *der = NULL, *sealed = NULL;
	size_t der_len = 0, sealed_len = 0;
	char *pem = NULL;
	int rc = -1;

	if (cert_issue_test_ca(ca, key, err) != 0)
		return -1;
	pem = cert_codec_cert_pem(*ca);
	if (pem == NULL || cert_codec_key_der(*key, &der, &der_len) != 0 ||
	    keystore_seal(inst->keys, der, der_len, TEST_CA_KEY_AD, &sealed, &sealed_len) != 0) {
		error_set(err, "internal", "cannot encode the test CA");
		goto out;
	}
	/* Key first: a certificate without its key would be unusable. */
	if (store_setting_set(inst->store, TEST_CA_KEY_SETTING, sealed, sealed_len, err) != 0 ||
	    store_setting_set(inst->store, TEST_CA_CERT_SETTING, pem, strlen(pem), err) != 0)
		goto out;
	rc = 0;
out:
	if (der != NULL)
		secret_free(der, der_len);
	free(sealed);
	free(pem);
	if (rc != 0) {
		X509_free(*ca);
		EVP_PKEY_free(*key);
		*ca = NULL;
		*key = NULL;
	}
	return rc;
}

int cert_manager_test_ca(struct instance *inst, X509 **ca, EVP_PKEY **key, struct error *err)
{
	unsigned char *probe = NULL;
	size_t len = 0;
	int found;

	*ca = NULL;
	*key = NULL;
	found = store_setting_get(inst->store, TEST_CA_CERT_SETTING, &probe, &len, err);
	free(probe);
	if (found < 0)
		return -1;
	return found ? load_test_ca(inst, ca, key, err) : create_test_ca(inst, ca, key, err);
}

int cert_manager_selfsign(struct instance *inst, const char *domain, const char *const *sans,
			  size_t n_sans, const struct store_actor *who, long long *id,
			  struct error *err)
{
	char name[DOMAIN_MAX + 1];
	char (*extra)[DOMAIN_MAX + 1] = NULL;
	const char **extra_ptrs = NULL;
	struct cert_bundle b;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	int rc = -1;

	error_clear(err);
	if (domain_normalize(domain, name, 1, err) != 0)
		return -1;
	extra = calloc(n_sans + 1, sizeof(*extra));
	extra_ptrs = calloc(n_sans + 1, sizeof(*extra_ptrs));
	if (extra == NULL || extra_ptrs == NULL) {
		error_set(err, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_sans; i++) {
		if (domain_normalize(sans[i], extra[i], 1, err) != 0)
			goto out;
		extra_ptrs[i] = extra[i];
	}
	if (cert_manager_test_ca(inst, &ca, &ca_key, err) != 0 ||
	    cert_issue_selfsigned(ca, ca_key, name, extra_ptrs, n_sans, &b, err) != 0)
		goto out;
	/* The test CA is trusted once in the browser; it is not served. */
	sk_X509_pop_free(b.chain, X509_free);
	b.chain = sk_X509_new_null();
	rc = store_new(inst, name, "self_signed", &b, extra_ptrs, n_sans, who, id, err);
	cert_bundle_free(&b);
out:
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	free(extra);
	free(extra_ptrs);
	return rc;
}

/* Normalise names (no wildcards) into out[i]; ptrs[i] points at them. */
static int acme_names(const char *const *names, size_t n, char (*out)[DOMAIN_MAX + 1],
		      const char **ptrs, struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (domain_normalize(names[i], out[i], 0, err) != 0)
			return -1;
		ptrs[i] = out[i];
	}
	return 0;
}

int cert_manager_create_acme(struct instance *inst, const char *domain, const char *const *sans,
			     size_t n_sans, const struct store_actor *who, long long *id,
			     struct error *err)
{
	char (*names)[DOMAIN_MAX + 1] = calloc(n_sans + 1, sizeof(*names));
	const char **ptrs = calloc(n_sans + 1, sizeof(*ptrs));
	struct store_cert rec;
	int rc = -1;

	error_clear(err);
	memset(&rec, 0, sizeof(rec));
	if (names == NULL || ptrs == NULL) {
		error_set(err, "internal", "out of memory");
		goto out;
	}
	if (acme_names(&domain, 1, names, ptrs, err) != 0 ||
	    acme_names(sans, n_sans, names + 1, ptrs + 1, err) != 0)
		goto out;
	rec.domain = strdup(names[0]);
	rec.source = strdup("acme");
	rec.extra_sans = sans_json(ptrs + 1, n_sans);
	rec.state = strdup("pending");
	rec.state_detail = strdup("waiting for the ACME client to order the certificate");
	rec.auto_renew = 1;
	rec.next_attempt = (long long)time(NULL);
	if (!rec.domain || !rec.source || !rec.extra_sans || !rec.state || !rec.state_detail)
		error_set(err, "internal", "out of memory");
	else if (store_cert_insert(inst->store, &rec, who, err) == 0) {
		*id = rec.id;
		rc = 0;
	}
out:
	store_cert_free(&rec);
	free(names);
	free(ptrs);
	return rc;
}

int cert_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
			struct error *err)
{
	error_clear(err);
	return store_cert_delete(inst->store, id, who, err);
}

int cert_manager_get(struct instance *inst, long long id, struct cert_view *out,
		     struct error *err)
{
	struct store_cert rec;
	json_t *deployed;

	error_clear(err);
	memset(out, 0, sizeof(*out));
	if (store_cert_get(inst->store, id, &rec, err) != 0)
		return -1;
	if (view_from_record(out, &rec, err) != 0) {
		cert_view_free(out);
		return -1;
	}
	deployed = load_deployed(inst);
	mark_deployed(out, deployed);
	json_decref(deployed);
	return 0;
}

int cert_manager_list(struct instance *inst, struct cert_view **list, size_t *n,
		      struct error *err)
{
	struct store_cert *recs = NULL;
	struct cert_view *views;
	size_t count = 0;
	json_t *deployed;

	error_clear(err);
	*list = NULL;
	*n = 0;
	if (store_cert_list(inst->store, &recs, &count, err) != 0)
		return -1;
	views = calloc(count ? count : 1, sizeof(*views));
	if (views == NULL) {
		store_cert_list_free(recs, count);
		error_set(err, "internal", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (view_from_record(&views[i], &recs[i], err) != 0) {
			store_cert_list_free(recs, count);
			cert_view_list_free(views, count);
			return -1;
		}
	}
	free(recs);
	deployed = load_deployed(inst);
	for (size_t i = 0; i < count; i++)
		mark_deployed(&views[i], deployed);
	json_decref(deployed);
	*list = views;
	*n = count;
	return 0;
}

int cert_manager_load_bundle(struct instance *inst, const struct store_cert *rec,
			     struct cert_bundle *out, struct error *err)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	char ad[64];

	memset(out, 0, sizeof(*out));
	if (rec->chain_pem == NULL || rec->sealed_key == NULL) {
		error_set(err, "not_ready", "certificate %lld has no certificate yet", rec->id);
		return -1;
	}
	snprintf(ad, sizeof(ad), "certkey:%s", rec->key_uid);
	if (keystore_unseal(inst->keys, rec->sealed_key, rec->sealed_key_len, ad, &der,
			    &der_len) != 0) {
		error_set(err, "instance_key", "the key of certificate %lld does not decrypt",
			  rec->id);
		return -1;
	}
	if (cert_codec_parse_chain(rec->chain_pem, strlen(rec->chain_pem), &out->leaf,
				   &out->chain) == 0)
		out->key = cert_codec_key_for_cert(der, der_len, out->leaf);
	secret_free(der, der_len);
	if (out->key == NULL) {
		cert_bundle_free(out);
		error_set(err, "storage", "certificate %lld does not parse", rec->id);
		return -1;
	}
	return 0;
}

/* ---- used by the ACME client */

static int replace_strings(struct store_cert *rec)
{
	free(rec->chain_pem);
	free(rec->sealed_key);
	free(rec->key_uid);
	free(rec->state);
	free(rec->state_detail);
	free(rec->last_error);
	rec->chain_pem = NULL;
	rec->sealed_key = NULL;
	rec->key_uid = NULL;
	rec->last_error = NULL;
	rec->state = strdup("");
	rec->state_detail = strdup("");
	return rec->state && rec->state_detail ? 0 : -1;
}

int cert_manager_install_acme(struct instance *inst, long long id, struct cert_bundle *b,
			      long long renew_at, const struct store_actor *who,
			      struct error *err)
{
	struct store_cert rec;
	int rc = -1;

	error_clear(err);
	if (store_cert_get(inst->store, id, &rec, err) != 0)
		return -1;
	if (strcmp(rec.source, "acme") != 0) {
		error_set(err, "wrong_source", "certificate %lld is not an ACME certificate", id);
	} else if (replace_strings(&rec) != 0) {
		error_set(err, "internal", "out of memory");
	} else {
		rec.next_attempt = renew_at;
		if (seal_bundle(inst, b, &rec, err) == 0 &&
		    store_cert_replace(inst->store, &rec, who, err) == 0)
			rc = 0;
	}
	store_cert_free(&rec);
	return rc;
}
