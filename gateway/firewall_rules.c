/* Compiled WAF rules shared between snapshots (refcounted). */
#include <stdlib.h>
#include <string.h>

#include "gateway/firewall.h"

struct firewall_rules *firewall_rules_new(const struct waf_rule *rules, size_t n,
                                          const char *fingerprint, struct error *err)
{
	struct firewall_rules *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->fingerprint = strdup(fingerprint ? fingerprint : "")) == NULL) {
		free(r);
		error_set(err, "internal", "%s", "out of memory");
		return NULL;
	}
	if ((r->engine = waf_engine_build(rules, n, err)) == NULL) {
		free(r->fingerprint);
		free(r);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	return r;
}

struct firewall_rules *firewall_rules_ref(struct firewall_rules *r)
{
	if (r != NULL)
		atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

void firewall_rules_unref(struct firewall_rules *r)
{
	if (r == NULL || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	waf_engine_free(r->engine);
	free(r->fingerprint);
	free(r);
}
