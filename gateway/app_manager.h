/* Applications as administrators manage them: validation and
 * normalisation of what people type (domains, backend URLs, balancing),
 * then the store. Shared by the CLI and the admin API. */
#ifndef POSTERN_GATEWAY_APP_MANAGER_H
#define POSTERN_GATEWAY_APP_MANAGER_H

#include "common/error.h"
#include "gateway/cert_manager.h"
#include "gateway/instance.h"
#include "gateway/store.h"

/* Check and normalise a in place: name (1..64 printable characters),
 * domains (domain_normalize with wildcards, at least one, no duplicates),
 * backends ("http://host:port", weight 1..1000, at least one), balance,
 * client_ip_header (a header name), health check path ("" or starting
 * with "/") and interval (1..3600 s), the firewall settings in
 * options_json (app_manager_normalize_options). Fills defaults for NULL
 * strings. Returns 0, or -1 with err code "invalid_application" and a
 * message naming the field. */
int app_manager_validate(struct store_app *a, struct error *err);

/* Normalize the firewall settings of SPEC section 6 ("waf", "rate_limit",
 * "ip_allow", "ip_deny") in a->options_json (NULL is "{}") in place:
 * defaults filled, CIDRs canonical; other members stay. Returns 0, or -1
 * with err ("invalid_application") and, when field is not NULL, the field
 * at fault copied into field ("rate_limit.requests", "ip_allow[2]"). */
int app_manager_normalize_options(struct store_app *a, struct error *err, char *field,
				  size_t field_size);

/* Validate and insert; a->id set on return. conflict when a name or
 * domain is taken. */
int app_manager_add(struct instance *inst, struct store_app *a, const struct store_actor *who,
		    struct error *err);
/* Validate and replace application a->id. */
int app_manager_update(struct instance *inst, struct store_app *a,
		       const struct store_actor *who, struct error *err);
int app_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
		       struct error *err);

/* The certificate that serves domain now among certs (exact name before
 * wildcard; among several, valid now with the latest expiry), or 0. */
long long app_manager_certificate_for(const struct cert_view *certs, size_t n,
				      const char *domain, time_t now);

#endif
