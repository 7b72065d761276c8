#include "gateway/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "gateway/cert_manager.h"
#include "gateway/firewall.h"
#include "gateway/routes.h"
#include "gateway/sni_cache.h"
#include "gateway/waf_manager.h"
#include "waf/cidr.h"
#include "waf/events.h"

#define WATCH_INTERVAL_MS 250
#define EVENT_BATCH 256
#define PRUNE_INTERVAL_MS (3600 * 1000LL)

/* A certificate parsed and unsealed by an earlier build: reused while its
 * version is unchanged, so a rebuild only decrypts what changed. */
struct loaded_cert {
	long long id;
	int version;
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

struct control {
	struct instance *inst;
	struct event_base *base;
	struct event *watch;
	struct backend_registry *registry;
	struct gateway_settings settings;
	long long data_version;
	int rebuild_requested;
	struct loaded_cert *loaded; /* sorted by id */
	size_t n_loaded;
	char *deployed_json;        /* last written deployed set */
	struct firewall_rules *rules; /* the latest compiled WAF rules (a reference) */
	struct event_queue *events; /* firewall events from the workers */
	uint64_t events_dropped;    /* last dropped count reported */
	long long next_prune_ms;    /* event retention */
};

static void loaded_free(struct loaded_cert *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		X509_free(list[i].leaf);
		sk_X509_pop_free(list[i].chain, X509_free);
		EVP_PKEY_free(list[i].key);
	}
	free(list);
}

static const struct loaded_cert *loaded_find(const struct control *ctl, long long id)
{
	size_t lo = 0, hi = ctl->n_loaded;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ctl->loaded[mid].id == id)
			return &ctl->loaded[mid];
		if (ctl->loaded[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A bundle holding new references to a loaded certificate's objects. */
static int bundle_from_loaded(const struct loaded_cert *l, struct cert_bundle *b)
{
	memset(b, 0, sizeof(*b));
	b->chain = X509_chain_up_ref(l->chain);
	if (b->chain == NULL || !X509_up_ref(l->leaf) || !EVP_PKEY_up_ref(l->key)) {
		sk_X509_pop_free(b->chain, X509_free);
		return -1;
	}
	b->leaf = l->leaf;
	b->key = l->key;
	return 0;
}

static int remember(struct loaded_cert *l, const struct store_cert *rec,
		    const struct cert_bundle *b)
{
	l->id = rec->id;
	l->version = rec->version;
	l->chain = X509_chain_up_ref(b->chain);
	if (l->chain == NULL || !X509_up_ref(b->leaf) || !EVP_PKEY_up_ref(b->key))
		return -1;
	l->leaf = b->leaf;
	l->key = b->key;
	return 0;
}

/* Load one record into the cache: reuse it when unchanged, else unseal. */
static int add_record(struct control *ctl, struct sni_cache *cache, const struct store_cert *rec,
		      struct loaded_cert *keep)
{
	const struct loaded_cert *old = loaded_find(ctl, rec->id);
	struct cert_bundle b;
	struct error err;

	if (old != NULL && old->version == rec->version) {
		if (bundle_from_loaded(old, &b) != 0)
			return -1;
	} else if (cert_manager_load_bundle(ctl->inst, rec, &b, &err) != 0) {
		log_error("certificate %lld (%s) is not deployed: %s", rec->id, rec->domain,
			  err.message);
		return -1;
	}
	if (remember(keep, rec, &b) != 0) {
		cert_bundle_free(&b);
		return -1;
	}
	return sni_cache_add(cache, rec->id, rec->version, rec->domain, &b);
}

static struct sni_cache *build_sni(struct control *ctl, struct error *err)
{
	struct store_cert *recs = NULL;
	size_t n = 0, kept = 0;
	struct loaded_cert *keep;
	struct sni_cache *cache;

	if (store_cert_list(ctl->inst->store, &recs, &n, err) != 0)
		return NULL;
	cache = sni_cache_new();
	keep = calloc(n ? n : 1, sizeof(*keep));
	if (cache == NULL || keep == NULL) {
		error_set(err, "internal", "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].chain_pem == NULL || recs[i].sealed_key == NULL)
			continue; /* an ACME order without a certificate yet */
		if (add_record(ctl, cache, &recs[i], &keep[kept]) == 0)
			kept++;
	}
	if (sni_cache_finish(cache, ctl->inst->cfg.default_certificate) != 0) {
		error_set(err, "internal", "cannot index the certificates");
		goto fail;
	}
	store_cert_list_free(recs, n);
	loaded_free(ctl->loaded, ctl->n_loaded);
	ctl->loaded = keep; /* ids ascend: the store lists by id */
	ctl->n_loaded = kept;
	return cache;
fail:
	store_cert_list_free(recs, n);
	loaded_free(keep, kept);
	sni_cache_free(cache);
	return NULL;
}

static struct route_table *build_routes(struct control *ctl, struct error *err)
{
	struct store_app *apps = NULL;
	size_t n = 0;
	struct route_table *t;

	if (store_app_list(ctl->inst->store, &apps, &n, err) != 0)
		return NULL;
	t = route_table_build(apps, n, ctl->registry, err);
	store_app_list_free(apps, n);
	if (t != NULL)
		backend_registry_start_checks(ctl->registry, ctl->base);
	return t;
}

/* Tell the CLI and the console which certificate versions handshakes now
 * read: {"pid":N,"certs":{"ID":VERSION,...}}. Written only on change. */
static void write_deployed(struct control *ctl)
{
	json_t *certs = json_object(), *obj;
	char key[32], *text;
	struct error err;

	for (size_t i = 0; i < ctl->n_loaded; i++) {
		snprintf(key, sizeof(key), "%lld", ctl->loaded[i].id);
		json_object_set_new(certs, key, json_integer(ctl->loaded[i].version));
	}
	obj = json_pack("{s:i, s:o}", "pid", (int)getpid(), "certs", certs);
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (text == NULL)
		return;
	if (ctl->deployed_json != NULL && strcmp(text, ctl->deployed_json) == 0) {
		free(text);
		return;
	}
	if (store_setting_set(ctl->inst->store, CERT_MANAGER_DEPLOYED_SETTING, text, strlen(text),
			      &err) != 0)
		log_warn("cannot record deployed certificates: %s", err.message);
	free(ctl->deployed_json);
	ctl->deployed_json = text;
}

/* The WAF rules for the next snapshot: compiled again only when they
 * changed. A failure keeps the previous rules (logged): rules are
 * validated when written, and a certificate change must not wait on them.
 * Returns a new reference, or NULL when there never were rules. */
static struct firewall_rules *build_rules(struct control *ctl)
{
	struct waf_rule *list = NULL;
	size_t n = 0;
	json_t *arr;
	char *fp = NULL;
	struct firewall_rules *r;
	struct error err;

	if (waf_manager_rules(ctl->inst, &list, &n, &err) != 0) {
		log_error("cannot load the firewall rules (keeping the previous ones): %s",
			  err.message);
		return firewall_rules_ref(ctl->rules);
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, waf_rule_to_json(&list[i]));
	if (arr != NULL)
		fp = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (fp != NULL && ctl->rules != NULL && strcmp(fp, ctl->rules->fingerprint) == 0) {
		r = firewall_rules_ref(ctl->rules);
	} else if (fp != NULL && (r = firewall_rules_new(list, n, fp, &err)) != NULL) {
		firewall_rules_unref(ctl->rules);
		ctl->rules = firewall_rules_ref(r);
		log_debug("firewall: %zu rules compiled", n);
	} else {
		log_error("cannot compile the firewall rules (keeping the previous ones): %s",
			  fp ? err.message : "out of memory");
		r = firewall_rules_ref(ctl->rules);
	}
	free(fp);
	waf_rule_list_free(list, n);
	return r;
}

/* trusted_proxies from the config (validated when it was read). */
static struct cidr_set *build_trusted(const struct config *cfg)
{
	struct cidr_set *set;
	struct error err;

	if (cfg->n_trusted_proxies == 0 || (set = cidr_set_new()) == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_trusted_proxies; i++) {
		const char *t = cfg->trusted_proxies[i];
		struct cidr c;

		if (cidr_parse(t, strlen(t), &c, &err) != 0 || cidr_set_add(set, &c) != 0)
			log_error("trusted_proxies: %s is ignored", t);
	}
	return set;
}

int control_rebuild(struct control *ctl, struct error *err)
{
	struct sni_cache *sni = build_sni(ctl, err);
	struct route_table *routes;
	struct snapshot *snap;

	if (sni == NULL)
		return -1;
	routes = build_routes(ctl, err);
	if (routes == NULL) {
		sni_cache_free(sni);
		return -1;
	}
	snap = snapshot_new(sni, routes);
	if (snap == NULL) {
		sni_cache_free(sni);
		route_table_free(routes);
		error_set(err, "internal", "out of memory");
		return -1;
	}
	snap->settings = ctl->settings;
	snap->rules = build_rules(ctl);
	snap->trusted_proxies = build_trusted(&ctl->inst->cfg);
	snapshot_publish(snap);
	write_deployed(ctl);
	store_data_version(ctl->inst->store, &ctl->data_version);
	log_debug("published snapshot %lu: %zu certificates", snap->generation,
		  sni_cache_count(sni));
	return 0;
}

/* Write the workers' firewall events in batches; drop expired ones. */
static void save_events(struct control *ctl)
{
	struct waf_event batch[EVENT_BATCH];
	size_t n;
	uint64_t dropped;
	long long now = (long long)time(NULL) * 1000;
	struct error err;

	if (ctl->events == NULL)
		return;
	while ((n = event_queue_pop(ctl->events, batch, EVENT_BATCH)) > 0)
		if (store_waf_event_insert(ctl->inst->store, batch, n, &err) != 0) {
			log_error("%zu firewall events lost: %s", n, err.message);
			break;
		}
	dropped = event_queue_dropped(ctl->events);
	if (dropped != ctl->events_dropped) {
		log_warn("firewall: %llu events dropped so far (queue full)",
			 (unsigned long long)dropped);
		ctl->events_dropped = dropped;
	}
	if (now >= ctl->next_prune_ms) {
		long long gone = store_waf_event_prune(
			ctl->inst->store, now - (long long)ctl->inst->cfg.event_retention_s * 1000, &err);

		if (gone > 0)
			log_info("firewall: %lld events older than the retention removed", gone);
		ctl->next_prune_ms = now + PRUNE_INTERVAL_MS;
	}
}

static void control_on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;
	long long version = 0;
	struct error err;

	(void)fd;
	(void)what;
	save_events(ctl);
	if (store_data_version(ctl->inst->store, &version) != 0)
		return;
	if (version == ctl->data_version && !ctl->rebuild_requested)
		return;
	ctl->rebuild_requested = 0;
	if (control_rebuild(ctl, &err) != 0) {
		log_error("cannot apply the latest changes (will retry): %s", err.message);
		ctl->rebuild_requested = 1;
	}
}

struct control *control_new(struct instance *inst, struct event_base *base,
			    const struct gateway_settings *settings, struct error *err)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	struct timeval tv = { 0, WATCH_INTERVAL_MS * 1000 };

	if (ctl == NULL)
		goto oom;
	ctl->inst = inst;
	ctl->base = base;
	ctl->settings = *settings;
	ctl->registry = backend_registry_new();
	ctl->watch = event_new(base, -1, EV_PERSIST, control_on_watch, ctl);
	if (ctl->registry == NULL || ctl->watch == NULL || event_add(ctl->watch, &tv) != 0)
		goto oom;
	return ctl;
oom:
	control_free(ctl);
	error_set(err, "internal", "out of memory");
	return NULL;
}

void control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	if (ctl->watch != NULL)
		event_free(ctl->watch);
	if (ctl->registry != NULL)
		backend_registry_free(ctl->registry);
	loaded_free(ctl->loaded, ctl->n_loaded);
	free(ctl->deployed_json);
	save_events(ctl);
	firewall_rules_unref(ctl->rules);
	free(ctl);
}

void control_request_rebuild(struct control *ctl)
{
	ctl->rebuild_requested = 1;
}

void control_set_settings(struct control *ctl, const struct gateway_settings *settings)
{
	ctl->settings = *settings;
	ctl->rebuild_requested = 1;
}

void control_set_event_queue(struct control *ctl, struct event_queue *q)
{
	ctl->events = q;
}
