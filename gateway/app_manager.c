#include "gateway/app_manager.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain.h"
#include "waf/app_policy.h"

static const char *const balance_modes[] = { "round_robin", "weighted", "ip_hash", "least_conn" };

static int bad(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct error *err, const char *fmt, ...)
{
	va_list ap;

	error_set(err, "invalid_application", "%s", "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int default_string(char **field, const char *value)
{
	if (*field != NULL)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -1;
}

static int validate_name(const char *name, struct error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return bad(err, "application name '%s' must have 1 to 64 characters", name);
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)name[i]))
			return bad(err, "%s", "application name has a control character");
	return 0;
}

static int validate_domains(struct store_app *a, struct error *err)
{
	char norm[DOMAIN_MAX + 1];

	if (a->n_domains == 0)
		return bad(err, "%s", "an application needs at least one domain");
	for (size_t i = 0; i < a->n_domains; i++) {
		if (domain_normalize(a->domains[i], norm, 1, err) != 0) {
			snprintf(err->code, sizeof(err->code), "invalid_application");
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->domains[j], norm) == 0)
				return bad(err, "domain %s is listed twice", norm);
		strcpy(a->domains[i], norm); /* the normal form is never longer */
	}
	return 0;
}

/* "http://host:port" with a host of letters, digits, dots, hyphens or a
 * bracketed IPv6 address; the port is required and 1..65535. */
static int valid_backend_url(const char *url)
{
	const char *host, *colon, *end;
	long port;
	char *stop;

	if (strncmp(url, "http://", 7) != 0)
		return 0;
	host = url + 7;
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL || end == host + 1)
			return 0;
		for (const char *p = host + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		colon = end + 1;
		if (*colon != ':')
			return 0;
	} else {
		colon = strrchr(host, ':');
		if (colon == NULL || colon == host)
			return 0;
		for (const char *p = host; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return 0;
	}
	port = strtol(colon + 1, &stop, 10);
	return colon[1] != '\0' && *stop == '\0' && port >= 1 && port <= 65535 &&
	       isdigit((unsigned char)colon[1]);
}

static int validate_backends(const struct store_app *a, struct error *err)
{
	if (a->n_backends == 0)
		return bad(err, "%s", "an application needs at least one backend");
	for (size_t i = 0; i < a->n_backends; i++) {
		const struct store_backend *b = &a->backends[i];

		if (!valid_backend_url(b->url))
			return bad(err,
				   "backend '%s' is not a URL of the form http://host:port "
				   "(e.g. http://127.0.0.1:8081)",
				   b->url);
		if (b->weight < 1 || b->weight > 1000)
			return bad(err, "backend %s: weight must be from 1 to 1000", b->url);
	}
	return 0;
}

static int validate_header_name(const char *name, struct error *err)
{
	if (name[0] == '\0')
		return bad(err, "%s", "client_ip_header must not be empty");
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return bad(err, "client_ip_header '%s' is not a valid header name", name);
	return 0;
}

static int validate_balance(const char *balance, struct error *err)
{
	for (size_t i = 0; i < sizeof(balance_modes) / sizeof(balance_modes[0]); i++)
		if (strcmp(balance, balance_modes[i]) == 0)
			return 0;
	return bad(err,
		   "balance '%s' is unknown: use round_robin, weighted, ip_hash or least_conn",
		   balance);
}

/* opts with the members of norm put over it. 0 or -1 (out of memory). */
static int options_merge(struct store_app *a, json_t *opts, json_t *norm)
{
	char *text;

	if (json_object_update(opts, norm) != 0 || (text = json_dumps(opts, JSON_COMPACT)) == NULL)
		return -1;
	free(a->options_json);
	a->options_json = text;
	return 0;
}

int app_manager_normalize_options(struct store_app *a, struct error *err, char *field,
				  size_t field_size)
{
	json_t *opts = json_loads(a->options_json ? a->options_json : "{}", 0, NULL), *norm;
	const char *at = NULL;
	int rc = -1;

	if (field != NULL && field_size > 0)
		field[0] = '\0';
	if (!json_is_object(opts)) {
		json_decref(opts);
		return bad(err, "%s", "the application's settings are not a JSON object");
	}
	norm = waf_app_options_normalize(opts, err, &at);
	if (norm == NULL) {
		if (field != NULL && field_size > 0)
			snprintf(field, field_size, "%s", at ? at : "");
	} else if ((rc = options_merge(a, opts, norm)) != 0) {
		error_set(err, "internal", "out of memory");
	}
	json_decref(norm);
	json_decref(opts);
	return rc;
}

int app_manager_validate(struct store_app *a, struct error *err)
{
	if (default_string(&a->name, "") || default_string(&a->balance, "round_robin") ||
	    default_string(&a->client_ip_header, "X-Forwarded-For") ||
	    default_string(&a->health_path, "") || default_string(&a->options_json, "{}")) {
		error_set(err, "internal", "out of memory");
		return -1;
	}
	if (a->health_interval_s == 0)
		a->health_interval_s = 10;
	if (validate_name(a->name, err) || validate_domains(a, err) || validate_backends(a, err) ||
	    validate_balance(a->balance, err) || validate_header_name(a->client_ip_header, err))
		return -1;
	if (a->health_path[0] != '\0' && a->health_path[0] != '/')
		return bad(err, "health check path '%s' must start with /", a->health_path);
	if (a->health_interval_s < 1 || a->health_interval_s > 3600)
		return bad(err, "%s", "health check interval must be from 1 to 3600 seconds");
	return app_manager_normalize_options(a, err, NULL, 0);
}

int app_manager_add(struct instance *inst, struct store_app *a, const struct store_actor *who,
		    struct error *err)
{
	error_clear(err);
	if (app_manager_validate(a, err) != 0)
		return -1;
	return store_app_insert(inst->store, a, who, err);
}

int app_manager_update(struct instance *inst, struct store_app *a,
		       const struct store_actor *who, struct error *err)
{
	error_clear(err);
	if (app_manager_validate(a, err) != 0)
		return -1;
	return store_app_update(inst->store, a, who, err);
}

int app_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
		       struct error *err)
{
	error_clear(err);
	return store_app_delete(inst->store, id, who, err);
}

/* 2 when one of the certificate's names is exactly domain, 1 when only a
 * wildcard covers it, 0 when it does not serve domain. */
static int match_rank(const struct cert_view *c, const char *domain)
{
	int rank = 0;

	if (!c->has_info)
		return 0;
	if (strcasecmp(c->info.subject_cn, domain) == 0)
		return 2;
	for (size_t i = 0; i < c->info.n_sans; i++) {
		if (strcasecmp(c->info.sans[i], domain) == 0)
			return 2;
		if (cert_name_matches(c->info.sans[i], domain))
			rank = 1;
	}
	if (rank == 0 && cert_name_matches(c->info.subject_cn, domain))
		rank = 1;
	return rank;
}

long long app_manager_certificate_for(const struct cert_view *certs, size_t n,
				      const char *domain, time_t now)
{
	const struct cert_view *best = NULL;
	int best_rank = 0, best_valid = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cert_view *c = &certs[i];
		int rank = match_rank(c, domain);
		int valid = c->has_info && c->info.not_before <= now && now < c->info.not_after;

		if (rank == 0 || rank < best_rank)
			continue;
		if (best == NULL || rank > best_rank || valid > best_valid ||
		    (valid == best_valid && c->info.not_after > best->info.not_after)) {
			best = c;
			best_rank = rank;
			best_valid = valid;
		}
	}
	return best ? best->rec.id : 0;
}
