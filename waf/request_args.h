/* What the decoders of the "args" target share (waf/request_body.c,
 * waf/request_form.c): room in the request's arena and new entries of
 * r->args, both counted in r->truncated when full. */
#ifndef POSTERN_WAF_REQUEST_ARGS_H
#define POSTERN_WAF_REQUEST_ARGS_H

#include "waf/request.h"

/* Room for len bytes in the arena. Returns NULL (counted) when full. */
static inline char *arena_reserve(struct waf_request *r, size_t len)
{
	char *p;

	if (r->arena == NULL || r->arena_size - r->arena_used < len) {
		r->truncated++;
		return NULL;
	}
	p = r->arena + r->arena_used;
	r->arena_used += len;
	return p;
}

/* Give back the unused end of the last reservation. */
static inline void arena_trim(struct waf_request *r, size_t reserved, size_t used)
{
	r->arena_used -= reserved - used;
}

/* Append an entry (name NULL: the entry is a name). Returns 0, or -1
 * (counted) when the args array is full. */
static inline int add_arg(struct waf_request *r, const char *data, size_t len,
                          const char *name, size_t name_len)
{
	struct waf_value *v;

	if (r->n_args >= WAF_MAX_ARGS) {
		r->truncated++;
		return -1;
	}
	v = &r->args[r->n_args++];
	v->data = data;
	v->len = len;
	v->name = name;
	v->name_len = name_len;
	v->secret = 0;
	v->has_sum = 0;
	v->keys.words = NULL;
	return 0;
}

#endif
