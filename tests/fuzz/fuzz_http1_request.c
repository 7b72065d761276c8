/* Fuzz the request head parser: results stay inside the buffer, errors
 * carry one of the documented statuses, every proper prefix of a complete
 * head is INCOMPLETE, and a chunked body after the head decodes safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1.h"

static void inside(const char *buf, size_t len, const char *p, size_t n)
{
	if (n > 0 && (p < buf || p + n > buf + len))
		abort();
}

static void check_head(const char *buf, size_t head, const struct http1_request *req)
{
	size_t i;

	if (req->n_headers > HTTP1_MAX_HEADERS || req->version_minor < 0 ||
	    req->version_minor > 1 || req->method_len == 0 || req->target_len == 0)
		abort();
	inside(buf, head, req->method, req->method_len);
	inside(buf, head, req->target, req->target_len);
	if (req->host)
		inside(buf, head, req->host, req->host_len);
	else if (req->version_minor == 1)
		abort();
	for (i = 0; i < req->n_headers; i++) {
		inside(buf, head, req->headers[i].name, req->headers[i].name_len);
		inside(buf, head, req->headers[i].value, req->headers[i].value_len);
	}
	if (req->body >= HTTP1_BODY_UNTIL_CLOSE)
		abort();
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
	static struct http1_request req;
	const char *buf = (const char *)data;
	int status = -1, r;

	r = http1_parse_request(buf, size, &req, &status);
	if (r == HTTP1_ERROR) {
		if (status != 400 && status != 414 && status != 431 && status != 505)
			abort();
		return 0;
	}
	if (status != 0 || (r != HTTP1_INCOMPLETE && (r <= 0 || (size_t)r > size)))
		abort();
	if (r == HTTP1_INCOMPLETE)
		return 0;
	check_head(buf, (size_t)r, &req);
	if (req.body == HTTP1_BODY_CHUNKED)
		decode_body(buf + r, size - (size_t)r);
	/* A complete head was complete only at its end. */
	if (http1_parse_request(buf, (size_t)r - 1, &req, &status) != HTTP1_INCOMPLETE ||
	    http1_parse_request(buf, (size_t)r / 2, &req, &status) != HTTP1_INCOMPLETE)
		abort();
	return 0;
}
