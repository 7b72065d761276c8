/* WAF rules as administrators see them: the preset rules shipped in the
 * binary (which can be disabled, never deleted or edited) merged with the
 * custom rules in the database; and the dry run of a request against an
 * application's settings. Shared by the CLI, the admin API and the control
 * thread (which builds the workers' engine from waf_manager_rules). */
#ifndef POSTERN_GATEWAY_WAF_MANAGER_H
#define POSTERN_GATEWAY_WAF_MANAGER_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"
#include "gateway/instance.h"
#include "gateway/store.h"
#include "waf/rule.h"

#define WAF_FIELD_MAX 96

/* Every rule, presets (with their enabled state from the database) and
 * custom rules, sorted by id. *list is malloc'd (NULL when n is 0); free
 * it with waf_rule_list_free. Returns 0 or -1 with err. */
int waf_manager_rules(struct instance *inst, struct waf_rule **list, size_t *n,
		      struct error *err);

/* One rule (preset or custom) into *out (free with waf_rule_free).
 * Returns 0, or -1 with err (not_found). */
int waf_manager_get(struct instance *inst, long long id, struct waf_rule *out,
		    struct error *err);

/* Create a custom rule from a RULE object without "id" (which is
 * refused) and with "preset" absent or false. On success *out holds the
 * stored rule (its new id; free with waf_rule_free). Returns 0, or -1 with
 * err ("invalid_rule", "invalid_regex", "invalid_cidr", "storage") and
 * field naming the member at fault ("" when none). */
int waf_manager_create(struct instance *inst, const json_t *body, const struct store_actor *who,
		       struct waf_rule *out, struct error *err, char field[WAF_FIELD_MAX]);

/* Replace rule id. A custom rule takes a whole RULE ("id" may be given
 * when it is id, "preset" when false); a preset rule takes only
 * {"enabled": true|false}, anything else is "preset_rule". Returns 0 with
 * *out as stored now, or -1 with err (also "not_found") and field. */
int waf_manager_replace(struct instance *inst, long long id, const json_t *body,
			const struct store_actor *who, struct waf_rule *out, struct error *err,
			char field[WAF_FIELD_MAX]);

/* Delete custom rule id. Returns 0, or -1 with err: "preset_rule" for a
 * preset (disable it instead), "not_found". */
int waf_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
		       struct error *err);

/* Run the raw HTTP/1.1 request text (head, then the body framed by its
 * Content-Length or chunked coding) through application app_id's IP
 * lists and the rules, as the gateway would, sending nothing. client_ip
 * NULL means 127.0.0.1. Every matching rule is listed, also after the
 * deciding one. Returns a new reference to
 *   {"verdict":"block"|"log"|"allow"|"pass","mode":"off"|"detect"|"block",
 *    "matches":[{"rule_id","description","action","target","excerpt"}]}
 * or NULL with err ("invalid_request" naming what the gateway would
 * answer, "not_found" for an unknown application, "invalid_value" for a
 * bad client_ip, "internal") and field ("request", "application_id",
 * "client_ip" or ""). */
json_t *waf_manager_test(struct instance *inst, long long app_id, const char *request,
			 size_t len, const char *client_ip, struct error *err,
			 char field[WAF_FIELD_MAX]);

#endif
