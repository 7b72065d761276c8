/* Fuzz the response head parser (the first byte says whether the request
 * was HEAD): results stay inside the buffer, the body kind follows the
 * status, proper prefixes of a complete head are INCOMPLETE, and a chunked
 * body after the head decodes safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1.h"

static void inside(const char *buf, size_t len, const char *p, size_t n)
{
	if (n > 0 && (p < buf || p + n > buf + len))
		abort();
}

static void check_head(const char *buf, size_t head, int was_head,
		       const struct http1_response *resp)
{
	size_t i;
	int s = resp->status;

	if (resp->n_headers > HTTP1_MAX_HEADERS || s < 100 || s > 599 || resp->body < 0 ||
	    resp->body >= HTTP1_BODY_MAX)
		abort();
	if ((was_head || s < 200 || s == 204 || s == 304) && resp->body != HTTP1_BODY_NONE)
		abort();
	if (resp->body == HTTP1_BODY_UNTIL_CLOSE && resp->keep_alive)
		abort();
	inside(buf, head, resp->reason, resp->reason_len);
	for (i = 0; i < resp->n_headers; i++) {
		inside(buf, head, resp->headers[i].name, resp->headers[i].name_len);
		inside(buf, head, resp->headers[i].value, resp->headers[i].value_len);
	}
}

static void decode_body(const char *in, size_t len)
{
	struct http1_chunked c;
	size_t off = 0, consumed, doff, dlen;
	enum http1_chunk_result r;

	http1_chunked_init(&c);
	while (off < len) {
		r = http1_chunked_step(&c, in + off, len - off, &consumed, &doff, &dlen);
		if (consumed > len - off || (r == HTTP1_CHUNK_DATA && doff + dlen > consumed))
			abort();
		off += consumed;
		if (r != HTTP1_CHUNK_DATA)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_response resp;
	const char *buf = (const char *)data + 1;
	size_t len;
	int head, r;

	if (size < 1)
		return 0;
	head = data[0] & 1;
	len = size - 1;
	r = http1_parse_response(buf, len, head, &resp);
	if (r == HTTP1_ERROR || r == HTTP1_INCOMPLETE)
		return 0;
	if (r <= 0 || (size_t)r > len)
		abort();
	check_head(buf, (size_t)r, head, &resp);
	if (resp.body == HTTP1_BODY_CHUNKED)
		decode_body(buf + r, len - (size_t)r);
	if (http1_parse_response(buf, (size_t)r - 1, head, &resp) != HTTP1_INCOMPLETE)
		abort();
	return 0;
}
