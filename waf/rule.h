/* WAF rules as administrators write them (SPEC section 6): the JSON form
 * used by the API, the CLI and the database, validated strictly, and the
 * preset rule set shipped in the binary.
 *
 * RULE:
 * {"id":100001,"description":"...","preset":false,"enabled":true,
 *  "applications":[],            empty = every application
 *  "conditions":[{"target":"args","operator":"regex","value":"...",
 *                 "transforms":["url_decode","lowercase"]}],
 *  "action":"block"}             block | log | allow
 * A condition target is "method", "path", "query", "args", "header:<Name>",
 * "headers", "cookies", "user_agent", "client_ip" or "body"; operators are
 * "regex", "not_regex", "equals", "contains", "length_gt" (value: a
 * decimal count of bytes), "ip_in" (value: CIDR list, comma separated),
 * "detect_sqli" and "detect_xss" (value ignored, ""). */
#ifndef POSTERN_WAF_RULE_H
#define POSTERN_WAF_RULE_H

#include <stddef.h>

#include <jansson.h>
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "common/error.h"
#include "waf/request.h"
#include "waf/transform.h"

#define WAF_MAX_CONDITIONS 8
#define WAF_MAX_TRANSFORMS 8
#define WAF_MAX_RULE_APPS 256
#define WAF_MAX_PATTERN 8192
#define WAF_FIRST_CUSTOM_ID 100000 /* preset ids are below */

enum waf_operator {
	WAF_OP_REGEX,
	WAF_OP_NOT_REGEX,
	WAF_OP_EQUALS,
	WAF_OP_CONTAINS,
	WAF_OP_LENGTH_GT,
	WAF_OP_IP_IN,
	WAF_OP_DETECT_SQLI,
	WAF_OP_DETECT_XSS,
	WAF_OP_MAX
};

enum waf_action { WAF_ACTION_BLOCK, WAF_ACTION_LOG, WAF_ACTION_ALLOW, WAF_ACTION_MAX };

struct waf_condition {
	enum waf_target target;
	char header_name[64];      /* target header: the name as written */
	enum waf_operator op;
	char *value;               /* owned; "" allowed */
	unsigned char transforms[WAF_MAX_TRANSFORMS]; /* enum waf_transform, in order */
	size_t n_transforms;
};

struct waf_rule {
	long long id;
	char *description;         /* owned */
	int preset;
	int enabled;
	long long *applications;   /* owned; NULL when n_applications is 0 */
	size_t n_applications;
	struct waf_condition conditions[WAF_MAX_CONDITIONS];
	size_t n_conditions;
	enum waf_action action;
};

/* "regex", ..., "detect_xss" / "block", "log", "allow": static strings,
 * "unknown" for a value out of range. */
const char *waf_operator_name(enum waf_operator op);
const char *waf_action_name(enum waf_action a);

/* Decode and validate a RULE object. id, preset and enabled are optional
 * in j (id 0, preset 0, enabled 1 when absent); the caller decides what an
 * id in a request means. description ("" when absent), applications ([]),
 * a condition's transforms ([]) and the value of detect_sqli/detect_xss
 * ("") are optional too. Every pattern is compiled once to check it, as
 * bytes (PCRE2_NEVER_UTF: a "(*UTF)" pattern is refused).
 * Returns 0, or -1 with err and *field (the JSON field at fault, e.g.
 * "conditions[0].value"; "" for the rule itself; it points to a
 * per-thread buffer valid until this thread's next call): "invalid_rule"
 * (missing, unknown or mistyped field, unknown target/operator/transform/
 * action, too many conditions), "invalid_regex" (message names PCRE2's
 * message and the offset), "invalid_cidr" (ip_in), "internal" (out of
 * memory). Messages start with the field: "conditions[0].value: PCRE2
 * error at offset 3: missing closing parenthesis". field may be NULL. out
 * is only filled on success (free it with waf_rule_free). */
int waf_rule_from_json(const json_t *j, struct waf_rule *out, struct error *err,
		       const char **field);
/* The RULE object (every field, "header:Name" targets). New reference,
 * NULL when out of memory. */
json_t *waf_rule_to_json(const struct waf_rule *r);
/* Free what r owns and zero it (NULL is fine). */
void waf_rule_free(struct waf_rule *r);
/* Free n rules and the array itself (NULL is fine). */
void waf_rule_list_free(struct waf_rule *list, size_t n);
/* Deep copy into dst (which owns its strings); 0 or -1 (out of memory,
 * dst untouched). */
int waf_rule_copy(struct waf_rule *dst, const struct waf_rule *src);

/* Compile a pattern (len bytes) with the options of every WAF pattern
 * (bytes, never UTF). Returns the code (caller frees it), or NULL with
 * "PCRE2 error at offset N: ..." in msg (size bytes). */
pcre2_code *waf_regex_compile(const char *pattern, size_t len, char *msg, size_t size);
/* A length_gt value: decimal digits only, no sign, no overflow. 0 or -1. */
int waf_length_value(const char *s, unsigned long long *out);

/* ---- the preset rule set (waf/preset.c) */

/* The preset rules, built fresh (enabled, preset = 1, ids below
 * WAF_FIRST_CUSTOM_ID, stable across releases). Returns 0 and a list the
 * caller frees, or -1 (out of memory). */
int waf_preset_rules(struct waf_rule **list, size_t *n);

#endif
