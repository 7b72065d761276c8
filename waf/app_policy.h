/* An application's firewall settings (SPEC section 6), kept in the
 * application's options_json:
 *   "waf":"off" | "detect" | "block",
 *   "rate_limit": null | {"requests":100,"per_seconds":10,"burst":20,
 *                         "key":"ip"|"ip_path","block_seconds":60,
 *                         "action":"block"|"log"},
 *   "ip_allow":["10.0.0.0/8",...], "ip_deny":[...]
 * Validation normalizes (CIDRs masked and printed canonically, defaults
 * filled) so the stored text is always complete. */
#ifndef POSTERN_WAF_APP_POLICY_H
#define POSTERN_WAF_APP_POLICY_H

#include <jansson.h>

#include "common/error.h"
#include "waf/cidr.h"
#include "waf/ratelimit.h"

#define WAF_MAX_IP_LIST 10000

enum waf_mode { WAF_MODE_OFF, WAF_MODE_DETECT, WAF_MODE_BLOCK, WAF_MODE_MAX };

struct waf_app_policy {
	enum waf_mode mode;
	int has_rate_limit;
	struct rate_limit limit;
	int rate_key_path;        /* key "ip_path" */
	int rate_log_only;        /* action "log" */
	struct cidr_set *allow;   /* NULL when the list is empty */
	struct cidr_set *deny;
};

const char *waf_mode_name(enum waf_mode m);

/* Read the four fields from the JSON object obj (other members are
 * ignored; absent fields take their defaults) into a normalized JSON
 * object holding exactly them. Returns a new reference, or NULL with err
 * code "invalid_application" and *field naming the field ("waf",
 * "rate_limit.requests", "ip_allow[2]", ...). */
json_t *waf_app_options_normalize(const json_t *obj, struct error *err, const char **field);

/* Build the policy from normalized options text (options_json). Returns 0
 * or -1 with err (as above; "internal" when out of memory). */
int waf_app_policy_parse(const char *options_json, struct waf_app_policy *out,
			 struct error *err);
void waf_app_policy_clear(struct waf_app_policy *p);

#endif
