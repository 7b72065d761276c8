/* A strict, incremental HTTP/1.1 codec (RFC 9110/9112) shared by the
 * proxy, the admin listener and the ACME client. It never allocates and
 * never copies: parsed fields point into the caller's buffer.
 *
 * Heads (request or response) are parsed from a contiguous buffer that the
 * caller grows as bytes arrive (bounded by the limits below); bodies are
 * framed incrementally, so a body of any size streams through bounded
 * memory. */
#ifndef POSTERN_GATEWAY_HTTP1_H
#define POSTERN_GATEWAY_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_REQUEST_LINE 8192   /* longer: 414 */
#define HTTP1_MAX_HEAD 16384          /* header block longer: 431 */
#define HTTP1_MAX_HEADERS 100         /* more fields: 431 */

/* Return values of the head parsers (a positive value is the head length). */
#define HTTP1_INCOMPLETE (-2)
#define HTTP1_ERROR (-1)

struct http1_header {
	const char *name;
	size_t name_len;
	const char *value; /* leading and trailing whitespace removed */
	size_t value_len;
};

enum http1_body {
	HTTP1_BODY_NONE,      /* no body */
	HTTP1_BODY_LENGTH,    /* content_length bytes */
	HTTP1_BODY_CHUNKED,   /* chunked transfer coding */
	HTTP1_BODY_UNTIL_CLOSE, /* responses only: read until the connection closes */
	HTTP1_BODY_MAX
};

struct http1_request {
	const char *method;
	size_t method_len;
	const char *target; /* request-target as sent */
	size_t target_len;
	int version_minor;  /* 0 (HTTP/1.0) or 1 (HTTP/1.1) */
	struct http1_header headers[HTTP1_MAX_HEADERS];
	size_t n_headers;

	/* Derived from the headers while parsing. */
	const char *host; /* Host field value, NULL if absent (HTTP/1.0) */
	size_t host_len;
	enum http1_body body;
	uint64_t content_length;
	int keep_alive;      /* 1.1 without "close", or 1.0 with "keep-alive" */
	int upgrade;         /* Connection: upgrade and an Upgrade field */
	int expect_continue; /* Expect: 100-continue */
};

struct http1_response {
	int version_minor;
	int status;
	const char *reason;
	size_t reason_len;
	struct http1_header headers[HTTP1_MAX_HEADERS];
	size_t n_headers;

	enum http1_body body;
	uint64_t content_length;
	int keep_alive;
	int upgrade; /* 101 Switching Protocols */
};

/* Parse a request head at the start of buf (len bytes).
 * Returns the head's length in bytes (request line through the empty line)
 * once complete; HTTP1_INCOMPLETE when more bytes are needed (and the
 * limits are not yet exceeded); HTTP1_ERROR with *status set to the
 * response to send: 400 (malformed; also: both Content-Length and
 * Transfer-Encoding, repeated or invalid Content-Length, a
 * Transfer-Encoding other than "chunked", obs-fold, bare CR, NUL, space
 * before the colon, missing or repeated Host in HTTP/1.1), 414 (request
 * line over HTTP1_MAX_REQUEST_LINE), 431 (head over HTTP1_MAX_HEAD or more
 * than HTTP1_MAX_HEADERS fields), 505 (HTTP version other than 1.0/1.1),
 * 501 (Transfer-Encoding in a form we do not implement, if distinguished;
 * this parser answers 400 for every Transfer-Encoding but "chunked").
 * A line may end in CRLF or a bare LF; up to 4 empty lines before the
 * request line are skipped. The request line including its line ending may
 * be HTTP1_MAX_REQUEST_LINE bytes, the field block from its first line
 * through the empty line HTTP1_MAX_HEAD bytes; 414/431 are reported as
 * soon as that many bytes are buffered without the end in sight, and
 * other errors as soon as the offending byte is buffered.
 * The request-target must be origin-form, "*" (OPTIONS only),
 * authority-form with a port (CONNECT only) or absolute-form; Host must be
 * host[:port] (reg-name, IPv4 or [IPv6], port 1..65535); with an
 * absolute-form target whose authority differs from Host (ignoring case):
 * 400, so routing by Host is routing by the target (RFC 9112 3.2.2).
 * Content-Length has at most 18 digits.
 * Every call parses from buf[0] (no state is kept): re-call when a read
 * brought a '\n' or crossed a limit. Fields point into buf (owned by the
 * caller); after an error or INCOMPLETE the contents of req are
 * unspecified. *status is 0 unless HTTP1_ERROR is returned. */
int http1_parse_request(const char *buf, size_t len, struct http1_request *req, int *status);

/* Parse a response head. request_was_head: the request was HEAD (no body
 * whatever the headers say). Bodies: 1xx, 204 and 304 have none (101 sets
 * upgrade); Transfer-Encoding whose final coding is chunked: CHUNKED (other
 * codings before it stay the sender's, e.g. "gzip, chunked"); a
 * Transfer-Encoding without chunked: UNTIL_CLOSE; Content-Length: LENGTH;
 * else UNTIL_CLOSE. UNTIL_CLOSE clears keep_alive. Errors (send 502):
 * malformed syntax, both Transfer-Encoding and Content-Length,
 * Transfer-Encoding in HTTP/1.0, chunked applied twice or not last, an
 * invalid or repeated Content-Length, a version other than 1.0/1.1, a
 * status outside 100..599. A missing SP before an empty reason is
 * tolerated. Returns as http1_parse_request (the head's length,
 * HTTP1_INCOMPLETE or HTTP1_ERROR); fields point into buf. */
int http1_parse_response(const char *buf, size_t len, int request_was_head,
			 struct http1_response *resp);

/* Find a header by name (case-insensitive). Returns the first match or
 * NULL. */
const struct http1_header *http1_find_header(const struct http1_header *headers, size_t n,
					     const char *name);

/* 1 when the comma-separated list value contains token (case-insensitive,
 * optional whitespace), else 0. */
int http1_list_has_token(const char *value, size_t len, const char *token);

/* Incremental decoder for the chunked transfer coding. */
struct http1_chunked {
	int state;           /* internal; 0 = before the first chunk-size */
	uint64_t remaining;  /* data bytes left in the current chunk */
	size_t line_len;     /* bytes of the current size/trailer line seen */
	size_t trailer_len;  /* bytes of trailers seen (bounded by HTTP1_MAX_HEAD) */
};

enum http1_chunk_result {
	HTTP1_CHUNK_DATA,     /* a span of body data is reported */
	HTTP1_CHUNK_NEED_MORE,/* all of the input was consumed, give more */
	HTTP1_CHUNK_DONE,     /* the last chunk and the trailers are complete */
	HTTP1_CHUNK_ERROR,    /* invalid framing: bad or oversized size, bad CRLF */
	HTTP1_CHUNK_MAX
};

/* Prepare c for a new body (the same as zeroing it). */
void http1_chunked_init(struct http1_chunked *c);

/* Advance over in[0 .. len). *consumed is set to the bytes of in that were
 * used (framing and data). On HTTP1_CHUNK_DATA, in[*data_off ..
 * *data_off + *data_len) is body data (within the consumed bytes); call
 * again with the rest. On DONE, *consumed ends just after the final CRLF.
 * NEED_MORE consumes all of in (nothing has to be kept by the caller).
 * Feeding the input in any split yields the same data and result. Size
 * lines: 1..16 hex digits, extensions (validated, ignored), at most 4 KiB,
 * CRLF or LF; chunk data must be followed by CRLF exactly; trailer fields
 * are validated like header fields and discarded (HTTP1_MAX_HEAD bytes at
 * most). DONE and ERROR are sticky (consumed 0 on later calls). */
enum http1_chunk_result http1_chunked_step(struct http1_chunked *c, const char *in, size_t len,
					   size_t *consumed, size_t *data_off, size_t *data_len);

/* The reason phrase for a status code ("Not Found"), "" when unknown. */
const char *http1_reason(int status);

#endif
