/* A request as the WAF sees it: borrowed pieces of the parsed head and
 * the inspected part of the body, and the targets of SPEC section 6
 * extracted from them lazily (a rule set that never looks at args or the
 * body does not pay for parsing them).
 *
 * Extraction never allocates: decoded names and values go into a
 * caller-provided arena, and a target that does not fit is cut (counted in
 * `truncated`). Nothing here blocks. */
#ifndef POSTERN_WAF_REQUEST_H
#define POSTERN_WAF_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http1.h"
#include "waf/detect.h"

enum waf_target {
	WAF_TARGET_METHOD,
	WAF_TARGET_PATH,       /* the path as sent, without the query */
	WAF_TARGET_QUERY,      /* the query string as sent, without the '?' */
	WAF_TARGET_ARGS,       /* names and values (each decoded once, like a form parser
				  does) of the query and of urlencoded or JSON bodies;
				  multipart/form-data field values too */
	WAF_TARGET_HEADER,     /* one named header (every occurrence) */
	WAF_TARGET_HEADERS,    /* every header value */
	WAF_TARGET_COOKIES,    /* names and values of the Cookie header(s) */
	WAF_TARGET_USER_AGENT,
	WAF_TARGET_CLIENT_IP,
	WAF_TARGET_BODY,       /* the inspected part of the body, decoded from chunked */
	WAF_TARGET_MAX
};

/* "method", "path", "query", "args", "header" (the part before ':' in
 * "header:Name"; the whole "header:Name" is accepted too, the name is not
 * checked here), "headers", "cookies", "user_agent", "client_ip", "body";
 * WAF_TARGET_MAX for an unknown name. */
enum waf_target waf_target_from_name(const char *name, size_t len);
const char *waf_target_name(enum waf_target t);

/* One value of a target, for the matcher. */
struct waf_value {
	const char *data;
	size_t len;
	const char *name;  /* the arg, cookie or header name it came from (NULL for
			      single-valued targets and for names themselves) */
	size_t name_len;
	int secret;        /* a Cookie, Authorization or Proxy-Authorization value:
			      never put in an event or a log */
	int has_sum;       /* sum is waf_summary(data, len) (waf/transform.h): the
			      form decoder gets it while it scans the value */
	uint64_t sum;
	struct waf_sqli_keys keys; /* where the SQL detector's keys may start in
				      data (words NULL: not known): the form
				      decoder finds them as it reads */
};

#define WAF_MAX_ARGS 512 /* more args: the rest are not extracted (truncated) */
#define WAF_KEY_WORDS 1024 /* room for the keys of 64 KiB of values (more: the
			      detector finds them itself) */

struct waf_request {
	/* inputs, set by the caller (waf_request_init), borrowed */
	const char *method;
	size_t method_len;
	const char *target;   /* request-target as sent */
	size_t target_len;
	const struct http1_header *headers;
	size_t n_headers;
	const char *client_ip; /* text */
	size_t client_ip_len;
	const char *body;     /* inspected part of the body, dechunked (NULL: none) */
	size_t body_len;
	unsigned long long body_total; /* declared length (Content-Length), or body_len */

	/* lazily extracted (internal) */
	unsigned have;        /* bit per target already extracted */
	char *arena;
	size_t arena_size, arena_used;
	struct waf_value args[WAF_MAX_ARGS];
	size_t n_args;
	struct waf_value cookies[128];
	size_t n_cookies;
	uint64_t keys[WAF_KEY_WORDS]; /* the args' keys (waf_value.keys) */
	size_t n_keys;
	size_t truncated;     /* values dropped or cut because a limit was reached */
};

/* Prepare r for one request: clears the inputs and the extracted state
 * (call it first, then set the inputs). arena (arena_size bytes) receives
 * decoded args; 2 * body_len + target_len + 4096 bytes are always enough
 * (body_len + target_len in fact: nothing decodes longer than its source).
 * NULL arena: an empty one. */
void waf_request_init(struct waf_request *r, char *arena, size_t arena_size);

/* The values of target t (header_name for WAF_TARGET_HEADER, else
 * ignored): *out points to an array inside r or to scratch (which must
 * hold at least WAF_MAX_ARGS entries for HEADER, HEADERS and USER_AGENT,
 * one entry for the other single-valued targets). Extracts on first use;
 * values are valid while r, its inputs and the arena are. Returns the
 * number of values (0 when the target is absent, e.g. no body; a query
 * that is only "?" is one empty value). For ARGS and COOKIES, each name
 * and each value is its own entry (a name entry has name NULL). HEADER
 * and HEADERS entries carry the header name as sent; USER_AGENT gives
 * every User-Agent field. PATH of "http://host?q" is "/". */
size_t waf_request_values(struct waf_request *r, enum waf_target t, const char *header_name,
			  size_t header_name_len, const struct waf_value **out,
			  struct waf_value *scratch);

/* ---- decoders, exposed for tests and the fuzz target */

/* Split an application/x-www-form-urlencoded string (query or body) into
 * names and values, each '+'/%XX-decoded once, appended to r->args ("a"
 * without '=' has no value entry; "a=" has an empty one). Returns the
 * number of entries added. When the arena or r->args is full, the parse
 * stops (counted in r->truncated); a value is never cut in the middle. */
size_t waf_parse_urlencoded(struct waf_request *r, const char *s, size_t len);
/* For tests: the widest vector the form scan may use (512, 256, 128 or 0
 * bits; it also never uses more than the processor has). Not thread-safe:
 * call it before any parse. */
void waf_form_vector_limit(int bits);
/* Walk a JSON text (possibly cut at the inspection limit: what was read
 * before the cut counts) and append every object key and every string,
 * number and literal value (strings with their escapes decoded to UTF-8)
 * to r->args; nesting up to 64 levels. Returns the number added. Invalid
 * JSON stops the walk (what was found before stays; a string cut by the
 * end of the input or by an invalid escape is added as far as it was
 * decoded). A lone or reversed surrogate escape stays as its text. */
size_t waf_parse_json(struct waf_request *r, const char *s, size_t len);
/* multipart/form-data with boundary: each part's name and field value
 * (parts with a filename: the file name only; a part without a name: its
 * value under the name ""). Values are borrowed from s. A body without
 * the closing delimiter ends its last part at the end of s. Returns the
 * number added. */
size_t waf_parse_multipart(struct waf_request *r, const char *s, size_t len,
			   const char *boundary, size_t boundary_len);

#endif
