/* The JSON objects of SPEC section 5 (CERT, application, error), built in
 * one place so the CLI's --json and the admin API print the same thing. */
#ifndef POSTERN_GATEWAY_MODEL_JSON_H
#define POSTERN_GATEWAY_MODEL_JSON_H

#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "gateway/cert_manager.h"
#include "gateway/store.h"

/* "Let's Encrypt", "User Provided", "Self-Signed" for a source name. */
const char *model_source_label(const char *source);

/* "2026-11-01T00:00:00Z" into out. */
void model_time_iso(time_t t, char out[32]);

/* A CERT object (new reference; never contains key material). */
json_t *model_cert_json(const struct cert_view *v);

/* A JSON string of s; bytes that are not UTF-8 (a request can carry
 * anything) become U+FFFD. New reference. */
json_t *model_text_json(const char *s);

/* An application object, with the firewall settings of SPEC section 6
 * from its options_json (defaults for those not stored); certificate_id 0
 * prints null. New reference. */
json_t *model_app_json(const struct store_app *a, long long certificate_id);

struct waf_event;

/* An EVENT object (GET /api/v1/events):
 * {"id":"<ref>","time":"2026-11-30T10:00:00.123Z","application_id":1,
 *  "kind":"waf"|"rate_limit"|"ip_deny","rule_id":1001|null,
 *  "action":"block"|"log","client_ip","target","method","path","excerpt"}.
 * New reference. */
json_t *model_event_json(const struct waf_event *e);

/* {"error":{"code":...,"message":...}} (new reference). */
json_t *model_error_json(const struct error *err);

#endif
