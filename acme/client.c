/* The ACME client's scheduler and bookkeeping: which certificate to work
 * on next, the account key, and what an order's outcome does to the
 * certificate record (installed and hot-swapped, or failed with the
 * problem and a retry time). */
#include "acme/client.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "acme/client_internal.h"
#include "acme/autocert.h"
#include "common/log.h"
#include "crypto/cert.h"
#include "crypto/secret.h"
#include "gateway/cert_manager.h"

static const struct store_actor acme_actor = {"acme", "system"};

static void iso_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct acme_memo *acme_client_memo(struct acme_client *c, long long id)
{
	struct acme_memo *m;

	for (size_t i = 0; i < c->n_memos; i++)
		if (c->memos[i].id == id)
			return &c->memos[i];
	m = realloc(c->memos, (c->n_memos + 1) * sizeof(*m));
	if (m == NULL)
		return NULL;
	c->memos = m;
	m = &c->memos[c->n_memos++];
	memset(m, 0, sizeof(*m));
	m->id = id;
	return m;
}

/* ---- the account key: created once, sealed, reused after restarts */

#define ACCOUNT_AD_PREFIX "acmeaccount:"

static int load_account(struct acme_client *c, const struct store_acme_account *a)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	char ad[64];

	snprintf(ad, sizeof(ad), ACCOUNT_AD_PREFIX "%s", a->key_uid);
	if (keystore_unseal(c->inst->keys, a->sealed_key, a->sealed_key_len, ad, &der, &der_len) !=
	    0)
		return -1;
	c->account_key = cert_codec_key_from_der(der, der_len);
	secret_free(der, der_len);
	if (c->account_key == NULL)
		return -1;
	free(c->kid);
	c->kid = a->kid && a->kid[0] ? strdup(a->kid) : NULL;
	return 0;
}

static int create_account(struct acme_client *c, struct error *err)
{
	struct store_acme_account a;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char uid[33], ad[64];
	int rc = -1;

	memset(&a, 0, sizeof(a));
	c->account_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keystore_new_uid(uid);
	snprintf(ad, sizeof(ad), ACCOUNT_AD_PREFIX "%s", uid);
	if (c->account_key == NULL || cert_codec_key_der(c->account_key, &der, &der_len) != 0 ||
	    keystore_seal(c->inst->keys, der, der_len, ad, &a.sealed_key, &a.sealed_key_len) != 0) {
		error_set(err, "internal", "cannot create the ACME account key");
	} else {
		a.directory_url = c->inst->cfg.acme_directory_url;
		a.kid = "";
		a.key_uid = uid;
		rc = store_acme_account_put(c->inst->store, &a, err);
	}
	if (der != NULL)
		secret_free(der, der_len);
	free(a.sealed_key);
	if (rc != 0) {
		EVP_PKEY_free(c->account_key);
		c->account_key = NULL;
	}
	return rc;
}

static int ensure_account(struct acme_client *c, struct error *err)
{
	struct store_acme_account a;
	int rc;

	if (c->account_key != NULL)
		return 0;
	if (store_acme_account_get(c->inst->store, c->inst->cfg.acme_directory_url, &a, err) != 0)
		return strcmp(err->code, "not_found") == 0 ? create_account(c, err) : -1;
	rc = load_account(c, &a);
	store_acme_account_free(&a);
	if (rc != 0)
		error_set(err, "instance_key", "the ACME account key does not decrypt");
	return rc;
}

int acme_client_save_account(struct acme_client *c)
{
	struct store_acme_account a;
	struct error err;
	int rc = -1;

	if (store_acme_account_get(c->inst->store, c->inst->cfg.acme_directory_url, &a, &err) ==
	    0) {
		free(a.kid);
		a.kid = strdup(c->kid ? c->kid : "");
		rc = a.kid ? store_acme_account_put(c->inst->store, &a, &err) : -1;
		store_acme_account_free(&a);
	}
	if (rc != 0)
		log_error("acme: cannot save the ACME account: %s", err.message);
	return rc;
}

/* ---- outcomes */

static void set_state(struct acme_client *c, long long id, const char *state, const char *detail,
                      time_t next, const char *last_error)
{
	struct error err;

	if (store_cert_set_state(c->inst->store, id, state, detail, (long long)next, last_error,
	                         &err) != 0)
		log_error("acme: certificate %lld: cannot record state %s: %s", id, state,
		          err.message);
}

static void finish_job(struct acme_client *c, struct acme_job *j)
{
	acme_job_free(j);
	if (c->job == j)
		c->job = NULL;
	acme_client_kick(c); /* look for more work */
}

void acme_client_job_failed(struct acme_client *c, struct acme_job *j, const char *type,
                            const char *detail, long long retry_after)
{
	long long id = acme_job_cert_id(j);
	struct acme_memo *m = acme_client_memo(c, id);
	unsigned long long delay;
	char when[32], last[600], state_detail[700];
	time_t next;

	/* type and detail may point into j: use them before freeing it */
	delay = acme_policy_backoff_ms(acme_policy_backoff_base(), m ? ++m->failures : 1,
	                               ACME_POLICY_BACKOFF_MAX_MS);
	if (retry_after >= 0 && (unsigned long long)retry_after * 1000 > delay)
		delay = (unsigned long long)retry_after * 1000;
	next = time(NULL) + (time_t)((delay + 999) / 1000);
	iso_time(next, when);
	snprintf(last, sizeof(last), "%s: %s", type, detail);
	snprintf(state_detail, sizeof(state_detail), "%s (retrying at %s)", last, when);
	set_state(c, id, "failed", state_detail, next, last);
	log_warn("acme: certificate %lld failed: %s", id, state_detail);
	if (m != NULL)
		m->preflight_ok = 0;
	finish_job(c, j);
}

static int chain_bundle(const char *pem, size_t len, EVP_PKEY *key, struct cert_bundle *b)
{
	memset(b, 0, sizeof(*b));
	if (cert_codec_parse_chain(pem, len, &b->leaf, &b->chain) != 0)
		return -1;
	if (X509_check_private_key(b->leaf, key) != 1) {
		cert_bundle_free(b);
		return -1;
	}
	EVP_PKEY_up_ref(key);
	b->key = key;
	return 0;
}

/* When a certificate is due for renewal (1/3 of its lifetime left); 0
 * when it cannot be read. */
static time_t leaf_renew_at(X509 *leaf)
{
	struct cert_info info;
	time_t t;

	if (cert_info_inspect(leaf, &info) != 0)
		return 0;
	t = acme_policy_renew_at(info.not_before, info.not_after);
	cert_info_free(&info);
	return t;
}

void acme_client_job_done(struct acme_client *c, struct acme_job *j, const char *chain_pem,
                          size_t len)
{
	long long id = acme_job_cert_id(j);
	struct acme_memo *m = acme_client_memo(c, id);
	struct cert_bundle b;
	struct error err;
	time_t renew_at;
	char when[32];

	if (chain_bundle(chain_pem, len, j->cert_key, &b) != 0) {
		acme_job_fail(j, "acme_response", -1,
		              "the certificate downloaded is not PEM or not for the key sent");
		return;
	}
	renew_at = leaf_renew_at(b.leaf);
	if (cert_manager_install_acme(c->inst, id, &b, (long long)renew_at, &acme_actor, &err) !=
	    0) {
		cert_bundle_free(&b);
		acme_job_fail(j, err.code, -1, "cannot store the new certificate: %s", err.message);
		return;
	}
	cert_bundle_free(&b);
	control_request_rebuild(c->ctl);
	if (m != NULL) {
		m->failures = 0;
		m->dns_checks = 0;
		m->preflight_ok = 0;
		m->ari_next = 0; /* ask about the new certificate soon */
	}
	iso_time(renew_at, when);
	log_info("acme: certificate %lld issued and installed; renewal due at %s", id, when);
	finish_job(c, j);
}

/* ---- starting work */

static void start_order(struct acme_client *c, const struct store_cert *rec)
{
	struct acme_job *j = acme_job_new(c, rec);
	char detail[600];
	struct error err;
	time_t now = time(NULL);

	if (j == NULL) {
		log_error("acme: certificate %lld: cannot start an order (bad names or no memory)",
		          rec->id);
		return;
	}
	c->job = j;
	acme_policy_rate_note(&c->rate, now);
	snprintf(detail, sizeof(detail), "ordering the certificate from %s",
	         c->inst->cfg.acme_directory_url);
	/* next_attempt now: an order cut short by a restart starts again */
	set_state(c, rec->id, "pending", detail, now, rec->last_error);
	if (ensure_account(c, &err) != 0) {
		acme_job_fail(j, err.code, -1, "%s", err.message);
		return;
	}
	acme_job_start(j);
}

static void start_preflight(struct acme_client *c, const struct store_cert *rec)
{
	char **names = NULL;
	size_t n = acme_record_names(rec, &names);

	if (n == 0) {
		log_error("acme: certificate %lld: its names cannot be read", rec->id);
		return;
	}
	c->preflight = acme_preflight_start(c, rec->id, names, n);
	acme_names_free(names, n);
	if (c->preflight != NULL)
		acme_preflight_run(c->preflight);
}

void acme_client_preflight_done(struct acme_client *c, struct acme_preflight *p, int ok,
                                const char *detail)
{
	long long id = acme_preflight_cert_id(p);
	struct acme_memo *m = acme_client_memo(c, id);
	char why[600], when[32], state_detail[700];
	unsigned long long delay;
	struct store_cert rec;
	struct error err;
	time_t next;

	snprintf(why, sizeof(why), "%s", detail ? detail : ""); /* detail may live in p */
	acme_preflight_free(p);
	c->preflight = NULL;
	if (ok && m != NULL) {
		m->dns_checks = 0;
		m->preflight_ok = 1;
		if (store_cert_get(c->inst->store, id, &rec, &err) == 0) {
			start_order(c, &rec);
			store_cert_free(&rec);
		}
		return;
	}
	delay = acme_policy_backoff_ms(acme_policy_backoff_base(), m ? ++m->dns_checks : 1,
	                               ACME_POLICY_DNS_RECHECK_MAX_MS);
	next = time(NULL) + (time_t)((delay + 999) / 1000);
	iso_time(next, when);
	snprintf(state_detail, sizeof(state_detail), "%s (checking again at %s)", why, when);
	set_state(c, id, "awaiting_dns", state_detail, next, why);
	log_info("acme: certificate %lld awaits DNS: %s", id, state_detail);
	acme_client_kick(c);
}

static void begin(struct acme_client *c, const struct store_cert *rec)
{
	struct acme_memo *m = acme_client_memo(c, rec->id);
	time_t now = time(NULL), slot = 0;
	char when[32];

	if (!acme_policy_rate_allow(&c->rate, now, ACME_POLICY_ORDERS_PER_HOUR, &slot)) {
		if (now - c->rate_logged >= 60) {
			iso_time(slot, when);
			log_warn("acme: %d orders in the last hour, the most allowed; the next one "
			         "starts at %s",
			         ACME_POLICY_ORDERS_PER_HOUR, when);
			c->rate_logged = now;
		}
		return;
	}
	if (m != NULL && m->preflight_ok)
		start_order(c, rec);
	else
		start_preflight(c, rec);
}

/* ---- the scheduler */

/* When rec needs work: next_attempt holds it for every ACME state and,
 * once installed, the renewal time; a certificate without one is renewed
 * when a third of its lifetime is left. */
static time_t due_at(const struct store_cert *rec)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	time_t t;

	if (rec->next_attempt > 0 || rec->chain_pem == NULL || rec->state[0] != '\0')
		return (time_t)rec->next_attempt;
	if (cert_codec_parse_chain(rec->chain_pem, strlen(rec->chain_pem), &leaf, &chain) != 0)
		return 0;
	t = leaf_renew_at(leaf);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return t;
}

/* Ask for the renewal information of one certificate in service whose
 * check is due (RFC 9773; a no-op when the server has none). */
static void maybe_ari(struct acme_client *c, const struct store_cert *recs, size_t n, time_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_cert *rec = &recs[i];
		struct acme_memo *m;

		if (strcmp(rec->source, "acme") != 0 || !rec->auto_renew ||
		    rec->chain_pem == NULL || rec->state[0] != '\0' ||
		    (m = acme_client_memo(c, rec->id)) == NULL || m->ari_next > now)
			continue;
		m->ari_next = now + ACME_ARI_RECHECK_S;
		if ((c->ari = acme_ari_start(c, rec)) != NULL)
			acme_ari_run(c->ari);
		return;
	}
}

void acme_client_ari_done(struct acme_client *c, struct acme_ari *a, time_t pick,
                          long long retry_after)
{
	long long id = acme_ari_cert_id(a);
	struct acme_memo *m = acme_client_memo(c, id);
	struct store_cert rec;
	struct error err;
	char when[32];

	acme_ari_free(a);
	c->ari = NULL;
	if (m != NULL && retry_after >= 0)
		m->ari_next = time(NULL) + (retry_after < 60 ? 60 : retry_after);
	if (pick == 0 || store_cert_get(c->inst->store, id, &rec, &err) != 0)
		return;
	/* only a certificate still in service, and only to renew earlier */
	if (rec.state[0] == '\0' && rec.chain_pem != NULL &&
	    (rec.next_attempt == 0 || pick < rec.next_attempt)) {
		iso_time(pick, when);
		log_info("acme: certificate %lld: the ACME server suggests renewing it at %s (ARI)",
		         id, when);
		set_state(c, id, "", "", pick, rec.last_error);
		acme_client_kick(c);
	}
	store_cert_free(&rec);
}

static void acme_client_on_scan(evutil_socket_t fd, short what, void *arg)
{
	struct acme_client *c = arg;
	struct store_cert *recs = NULL;
	size_t n = 0, best = 0;
	time_t now = time(NULL), best_t = 0;
	struct error err;
	int found = 0;

	(void)fd;
	(void)what;
	if (c->job != NULL || c->preflight != NULL || c->ari != NULL)
		return;
	if (store_cert_list(c->inst->store, &recs, &n, &err) != 0) {
		log_error("acme: cannot list certificates: %s", err.message);
		return;
	}
	/* applications change rarely and the check parses certificates */
	if (c->scans++ % ACME_AUTOCERT_EVERY == 0 && acme_autocert_scan(c->inst, recs, n) > 0) {
		store_cert_list_free(recs, n);
		acme_client_kick(c); /* new records: scan them */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		time_t t;

		if (strcmp(recs[i].source, "acme") != 0 || !recs[i].auto_renew ||
		    (t = due_at(&recs[i])) > now || (found && t >= best_t))
			continue;
		best = i;
		best_t = t;
		found = 1;
	}
	if (found)
		begin(c, &recs[best]);
	else
		maybe_ari(c, recs, n, now);
	store_cert_list_free(recs, n);
}

void acme_client_kick(struct acme_client *c)
{
	if (c != NULL && c->kick != NULL)
		event_active(c->kick, 0, 0);
}

static unsigned listen_port(const struct config_listen *l)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;

	return sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
	                                 : ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

struct acme_client *acme_client_new(struct instance *inst, struct event_base *base,
                                    struct control *ctl, struct error *err)
{
	struct acme_client *c = calloc(1, sizeof(*c));
	struct timeval tick = {ACME_SCAN_MS / 1000, (ACME_SCAN_MS % 1000) * 1000};
	const struct config *cfg = &inst->cfg;

	if (c == NULL) {
		error_set(err, "internal", "out of memory");
		return NULL;
	}
	c->inst = inst;
	c->base = base;
	c->ctl = ctl;
	c->http_port = listen_port(&cfg->http_listen);
	if ((c->http = https_client_new(base, cfg->acme_ca_bundle, NULL, err)) == NULL ||
	    (c->probe = https_client_new(base, NULL, cfg->acme_resolver, err)) == NULL)
		goto fail;
	https_client_set_timeout(c->probe, 10000);
	c->scan = event_new(base, -1, EV_PERSIST, acme_client_on_scan, c);
	c->kick = event_new(base, -1, 0, acme_client_on_scan, c);
	if (c->scan == NULL || c->kick == NULL || event_add(c->scan, &tick) != 0) {
		error_set(err, "internal", "out of memory");
		goto fail;
	}
	acme_client_kick(c);
	return c;
fail:
	acme_client_free(c);
	return NULL;
}

void acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	acme_job_free(c->job);
	acme_preflight_free(c->preflight);
	acme_ari_free(c->ari);
	if (c->scan != NULL)
		event_free(c->scan);
	if (c->kick != NULL)
		event_free(c->kick);
	https_client_free(c->http);
	https_client_free(c->probe);
	EVP_PKEY_free(c->account_key);
	acme_directory_free(&c->dir);
	free(c->kid);
	free(c->nonce);
	free(c->memos);
	free(c);
}
