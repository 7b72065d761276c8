#include "acme/autocert.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/log.h"
#include "crypto/cert.h"
#include "gateway/cert_manager.h"

static int acme_record_has(const struct store_cert *rec, const char *name)
{
	json_t *extra, *v;
	size_t i;
	int found = 0;

	if (strcmp(rec->source, "acme") != 0)
		return 0;
	if (strcasecmp(rec->domain, name) == 0)
		return 1;
	extra = json_loads(rec->extra_sans ? rec->extra_sans : "[]", 0, NULL);
	json_array_foreach(extra, i, v)
	{
		if (json_is_string(v) && strcasecmp(json_string_value(v), name) == 0)
			found = 1;
	}
	json_decref(extra);
	return found;
}

/* The record's certificate is valid at now and covers name. */
static int cert_covers(const struct store_cert *rec, const char *name, time_t now)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	struct cert_info info;
	int covers = 0;

	if (rec->chain_pem == NULL ||
	    cert_codec_parse_chain(rec->chain_pem, strlen(rec->chain_pem), &leaf, &chain) != 0)
		return 0;
	if (cert_info_inspect(leaf, &info) == 0) {
		covers =
		    info.not_before <= now && now < info.not_after && cert_info_covers(&info, name);
		cert_info_free(&info);
	}
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return covers;
}

int acme_autocert_covered(const char *name, const struct store_cert *recs, size_t n, time_t now)
{
	for (size_t i = 0; i < n; i++)
		if (acme_record_has(&recs[i], name))
			return 1;
	/* parsing certificates costs more: only when no ACME record matched */
	for (size_t i = 0; i < n; i++)
		if (cert_covers(&recs[i], name, now))
			return 1;
	return 0;
}

static int create_for(struct instance *inst, const struct store_app *app, const char *name)
{
	static const struct store_actor who = {"acme", "system"};
	struct error err;
	long long id = 0;

	if (cert_manager_create_acme(inst, name, NULL, 0, &who, &id, &err) != 0) {
		log_error("acme: application %s: cannot create a certificate for %s: %s", app->name,
		          name, err.message);
		return 0;
	}
	log_info("acme: application %s: certificate %lld created for %s (automatic certificate)",
	         app->name, id, name);
	return 1;
}

int acme_autocert_scan(struct instance *inst, const struct store_cert *recs, size_t n)
{
	struct store_app *apps = NULL;
	size_t n_apps = 0;
	struct error err;
	time_t now = time(NULL);
	int created = 0;

	if (store_app_list(inst->store, &apps, &n_apps, &err) != 0) {
		log_error("acme: cannot list applications: %s", err.message);
		return 0;
	}
	for (size_t a = 0; a < n_apps; a++) {
		if (!apps[a].auto_certificate)
			continue;
		for (size_t d = 0; d < apps[a].n_domains; d++) {
			const char *name = apps[a].domains[d];

			if (name[0] == '*' || acme_autocert_covered(name, recs, n, now))
				continue;
			created += create_for(inst, &apps[a], name);
		}
	}
	store_app_list_free(apps, n_apps);
	return created;
}
