/* Unit tests for the HTTP/1.1 codec: valid heads, every malformed-input
 * path with its status, request-smuggling vectors, incremental feeding,
 * response body kinds and the chunked decoder fed whole and byte by byte. */
#include "gateway/http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

static struct http1_request req;
static struct http1_response resp;

/* Parse s as a request: the head length, or -status on error, or
 * HTTP1_INCOMPLETE (-2, no HTTP status collides with it). */
static int parse_req_len(const char *s, size_t len)
{
	int st = -7, r;

	r = http1_parse_request(s, len, &req, &st);
	if (r == HTTP1_ERROR)
		return -st;
	if (st != 0)
		return -999; /* status must be 0 unless an error is returned */
	return r;
}

static int parse_req(const char *s)
{
	return parse_req_len(s, strlen(s));
}

static int parse_resp(const char *s, int head)
{
	return http1_parse_response(s, strlen(s), head, &resp);
}

static int value_is(const struct http1_header *h, const char *v)
{
	return h != NULL && h->value_len == strlen(v) && memcmp(h->value, v, h->value_len) == 0;
}

static int span_is(const char *p, size_t n, const char *v)
{
	return n == strlen(v) && memcmp(p, v, n) == 0;
}

/* Every proper prefix of a valid head is INCOMPLETE; the whole (with body
 * bytes after it) gives the head length. */
static int prefixes_incomplete(const char *s, size_t head_len)
{
	size_t i;

	for (i = 0; i < head_len; i++)
		if (parse_req_len(s, i) != HTTP1_INCOMPLETE)
			return 0;
	return parse_req_len(s, strlen(s)) == (int)head_len;
}

static int resp_prefixes_incomplete(const char *s, size_t head_len)
{
	size_t i;

	for (i = 0; i < head_len; i++)
		if (http1_parse_response(s, i, 0, &resp) != HTTP1_INCOMPLETE)
			return 0;
	return http1_parse_response(s, strlen(s), 0, &resp) == (int)head_len;
}

static void test_valid_requests(void)
{
	const char *get = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
			  "User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n";
	const char *s;

	ok(parse_req(get) == (int)strlen(get), "simple GET parses to its full length");
	ok(span_is(req.method, req.method_len, "GET"), "method is GET");
	ok(span_is(req.target, req.target_len, "/index.html?q=1"), "target as sent");
	ok(req.version_minor == 1, "HTTP/1.1");
	ok(req.n_headers == 3, "three header fields");
	ok(span_is(req.headers[1].name, req.headers[1].name_len, "User-Agent"), "name kept");
	ok(value_is(&req.headers[1], "curl/8.0"), "value kept");
	ok(span_is(req.host, req.host_len, "example.com"), "host derived");
	ok(req.body == HTTP1_BODY_NONE && req.keep_alive == 1, "no body, keep-alive by default");
	ok(req.upgrade == 0 && req.expect_continue == 0, "no upgrade, no expect");

	s = "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
	ok(parse_req(s) == (int)strlen(s) - 11, "POST head length excludes the body");
	ok(req.body == HTTP1_BODY_LENGTH && req.content_length == 11, "Content-Length body");
	s = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
	ok(parse_req(s) > 0 && req.body == HTTP1_BODY_LENGTH && req.content_length == 0,
	   "Content-Length: 0 is a LENGTH body of 0");
	s = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n";
	ok(parse_req(s) > 0 && req.content_length == 999999999999999999ULL, "18-digit length");
	s = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n";
	ok(parse_req(s) > 0 && req.content_length == 7, "leading zeros are digits");
	s = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	ok(parse_req(s) == (int)strlen(s) && req.body == HTTP1_BODY_CHUNKED, "chunked POST");
	s = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n";
	ok(parse_req(s) > 0 && req.body == HTTP1_BODY_CHUNKED, "TE with a tab before the value");
	s = "POST /up HTTP/1.1\r\nHost: a\r\ntransfer-encoding: ChUnKeD  \r\n\r\n";
	ok(parse_req(s) > 0 && req.body == HTTP1_BODY_CHUNKED, "TE name and value any case");

	s = "GET / HTTP/1.0\r\n\r\n";
	ok(parse_req(s) == (int)strlen(s), "HTTP/1.0 without Host");
	ok(req.version_minor == 0 && req.host == NULL && req.keep_alive == 0,
	   "1.0: no host, no keep-alive by default");
	s = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
	ok(parse_req(s) > 0 && req.keep_alive == 1, "1.0 with keep-alive");
	s = "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n";
	ok(parse_req(s) > 0 && req.keep_alive == 0, "1.0: close wins over keep-alive");
	s = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	ok(parse_req(s) > 0 && req.keep_alive == 0, "1.1 with Connection: close");
	s = "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: , CLOSE ,\r\n\r\n";
	ok(parse_req(s) > 0 && req.keep_alive == 0, "close in a second Connection field");
	s = "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n";
	ok(parse_req(s) > 0 && req.keep_alive == 1, "'closed' is not 'close'");

	s = "GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";
	ok(parse_req(s) > 0 && span_is(req.target, req.target_len, "http://example.com:8080/x?y"),
	   "absolute-form target");
	s = "GET HTTPS://Example.COM:8080?x HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";
	ok(parse_req(s) > 0, "absolute-form authority equals Host ignoring case");
	s = "GET http://example.com HTTP/1.0\r\n\r\n";
	ok(parse_req(s) > 0 && req.host == NULL, "absolute-form in 1.0 without Host");
	s = "GET urn:isbn:123 HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(parse_req(s) > 0, "absolute-form without an authority");
	s = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(parse_req(s) > 0 && span_is(req.target, req.target_len, "*"), "OPTIONS *");
	s = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
	ok(parse_req(s) > 0, "CONNECT authority-form");
	s = "PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(parse_req(s) > 0 && span_is(req.method, req.method_len, "PROPFIND"), "extension method");

	s = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n";
	ok(parse_req(s) > 0 && req.upgrade == 1, "WebSocket upgrade");
	s = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
	ok(parse_req(s) > 0 && req.upgrade == 0, "Upgrade without Connection: upgrade");
	s = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n";
	ok(parse_req(s) > 0 && req.upgrade == 0, "Connection: upgrade without Upgrade");
	s = "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
	ok(parse_req(s) > 0 && req.expect_continue == 1, "Expect: 100-continue");
	s = "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
	ok(parse_req(s) > 0 && req.expect_continue == 0, "Expect ignored in HTTP/1.0");
	s = "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-x\r\n\r\n";
	ok(parse_req(s) > 0 && req.expect_continue == 0, "other expectations are not 100-continue");

	s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(parse_req(s) == (int)strlen(s) && span_is(req.method, 3, "GET"),
	   "leading empty lines skipped, counted in the length");
	s = "\n\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(parse_req(s) == (int)strlen(s), "four leading empty lines");
	ok(parse_req("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == -400,
	   "five leading empty lines: 400");
	s = "GET / HTTP/1.1\nHost: a\nX: y\n\n";
	ok(parse_req(s) == (int)strlen(s) && req.n_headers == 2, "bare LF line endings");
	s = "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n";
	ok(parse_req(s) == (int)strlen(s), "mixed CRLF and LF");

	s = "GET / HTTP/1.1\r\nHost: a\r\nX-A:   a b \t \r\nX-B:\r\nX-C:\t\r\n\r\n";
	ok(parse_req(s) > 0 && value_is(&req.headers[1], "a b"), "OWS trimmed, inner SP kept");
	ok(value_is(&req.headers[2], "") && value_is(&req.headers[3], ""), "empty values");
	s = "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \x80\xff\r\n\r\n";
	ok(parse_req(s) > 0 && value_is(&req.headers[1], "caf\xc3\xa9 \x80\xff"),
	   "obs-text in a value");
	s = "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\tc\td\te\tf\tg\th\ti\tj\r\n\r\n";
	ok(parse_req(s) > 0 && value_is(&req.headers[1], "a\tb\tc\td\te\tf\tg\th\ti\tj"),
	   "tabs inside a long value");
	s = "GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n";
	ok(parse_req(s) > 0, "every tchar in a field name");
}

static void test_incremental(void)
{
	const char *get = "GET /a/b HTTP/1.1\r\nHost: www.example.org\r\nAccept: text/html\r\n"
			  "Cookie: a=b; c=d\r\n\r\n";
	const char *post = "\r\nPOST /f HTTP/1.1\nHost: h:81\nTransfer-Encoding: chunked\n\n"
			   "5\r\nhello\r\n0\r\n\r\n";
	const char *old = "GET / HTTP/1.0\r\n\r\nextra";

	ok(prefixes_incomplete(get, strlen(get)), "every prefix of a GET is INCOMPLETE");
	ok(prefixes_incomplete(post, strlen(post) - 15), "every prefix of a chunked POST head");
	ok(prefixes_incomplete(old, strlen(old) - 5), "every prefix of a 1.0 head");
	ok(parse_req_len("\x16\x03\x01\x02\x00\x01", 6) == -400,
	   "TLS ClientHello refused before any line end");
	ok(parse_req_len("GET / HTTP/1.1\r\nX\x01", 18) == -400,
	   "bad field name byte refused before the line ends");
	ok(parse_req_len("GET / HTTP/1.1\r\nX: \x00", 20) == -400,
	   "NUL refused before the line ends");
	ok(parse_req_len("GET / HTTP/1.1\r\nHost: a\r\nX: y\r", 30) == HTTP1_INCOMPLETE,
	   "CR at the buffer end waits for its LF");
}

static void test_bad_request_line(void)
{
	ok(parse_req("GE T / HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "space inside the method");
	ok(parse_req("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "non-tchar method");
	ok(parse_req(" GET / HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "leading space");
	ok(parse_req("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "double space");
	ok(parse_req("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == -400, "trailing space");
	ok(parse_req("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "tab as separator");
	ok(parse_req("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "tab in the target");
	ok(parse_req("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "DEL in the target");
	ok(parse_req("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == -400,
	   "raw UTF-8 in the target");
	ok(parse_req("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "control byte in target");
	ok(parse_req("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "CR in the target");
	ok(parse_req_len("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29) == -400, "NUL in target");
	ok(parse_req("GET /\r\n\r\n") == -400, "HTTP/0.9 request line");
	ok(parse_req("GET / http/1.1\r\nHost: a\r\n\r\n") == -400, "lowercase version");
	ok(parse_req("GET / HTTP/1.1x\r\nHost: a\r\n\r\n") == -400, "junk after version");
	ok(parse_req("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == -400, "HTTP/1.10");
	ok(parse_req("GET / HTTP/11\r\nHost: a\r\n\r\n") == -400, "HTTP/11");
	ok(parse_req("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == -505, "HTTP/2.0: 505");
	ok(parse_req("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == -505, "HTTP/1.2: 505");
	ok(parse_req("GET / HTTP/0.9\r\n\r\n") == -505, "HTTP/0.9 version: 505");
	ok(parse_req("GET / HTTP/1.1\rHost: a\r\n\r\n") == -400, "bare CR ends the request line");
	ok(parse_req("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "asterisk-form for GET");
	ok(parse_req("GET foo HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "relative target");
	ok(parse_req("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "bad scheme");
	ok(parse_req("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "CONNECT no port");
	ok(parse_req("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "CONNECT origin-form");
	ok(parse_req("GET http://evil.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n") == -400,
	   "absolute-form authority differs from Host");
	ok(parse_req("GET http://good.example:81/ HTTP/1.1\r\nHost: good.example\r\n\r\n") ==
	   -400, "absolute-form port differs from Host");
	ok(parse_req("GET http://u@good.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n") ==
	   -400, "userinfo in the authority");
	ok(parse_req("GET http:///x HTTP/1.1\r\nHost: good.example\r\n\r\n") == -400,
	   "empty authority with a Host");
	ok(parse_req("\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == -400, "bare CR before the line");
}

static void test_bad_fields(void)
{
	ok(parse_req("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == -400, "space before the colon");
	ok(parse_req("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n") == -400, "tab before the colon");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n") == -400, "obs-fold (SP)");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n") == -400,
	   "obs-fold (HTAB)");
	ok(parse_req("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == -400, "first field line indented");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n") == -400, "line without colon");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n") == -400, "empty field name");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n") == -400, "non-tchar name");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: v\r\n\r\n") == -400,
	   "obs-text in a name");
	ok(parse_req_len("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35) == -400,
	   "NUL in a value");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == -400, "bare CR in value");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n") == -400, "CR CR LF");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n") == -400, "bare CR as line end");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n") == -400, "bare CR on the empty line");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x0b\r\n\r\n") == -400, "vertical tab");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x0c\r\n\r\n") == -400, "form feed");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n") == -400, "DEL in value");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef\x1b\r\n\r\n") == -400,
	   "ESC after 16 clean bytes (word scan)");
}

/* One byte b at every position of a 40-byte value or target: the 16-byte
 * scans and the byte-wise tails must agree on where it is. */
static int value_byte_result(unsigned char b, int want)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	char buf[128];
	size_t i, n = strlen(pre), vlen, skip;
	int r;

	for (i = 0; i < 40; i++) {
		memcpy(buf, pre, n);
		memset(buf + n, 'a', 40);
		buf[n + i] = (char)b;
		memcpy(buf + n + 40, "\r\n\r\n", 4);
		r = parse_req_len(buf, n + 44);
		/* OWS at either end is trimmed. */
		skip = i == 0 && (b == ' ' || b == '\t');
		vlen = ((i == 0 || i == 39) && (b == ' ' || b == '\t')) ? 39 : 40;
		if (want < 0 && r != want)
			return 0;
		if (want > 0 && (r != (int)(n + 44) || req.headers[1].value_len != vlen ||
				 memcmp(req.headers[1].value, buf + n + skip, vlen) != 0))
			return 0;
	}
	return 1;
}

static int target_byte_result(unsigned char b)
{
	char buf[128];
	size_t i, n;

	for (i = 1; i < 40; i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n",
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		buf[4 + i] = (char)b;
		if (parse_req_len(buf, n) != -400)
			return 0;
	}
	return 1;
}

static void test_scan_positions(void)
{
	static const unsigned char bad_value[] = {0x00, 0x01, 0x0b, 0x0c, 0x1f, 0x7f, '\r'};
	static const unsigned char good_value[] = {'\t', ' ', 0x80, 0xff, '~', '!'};
	static const unsigned char bad_target[] = {0x00, 0x09, 0x1f, 0x7f, 0x80, 0xc3, 0xff, '\r'};
	size_t i;

	for (i = 0; i < sizeof(bad_value); i++)
		ok(value_byte_result(bad_value[i], -400),
		   "value byte 0x%02x refused at every position", bad_value[i]);
	for (i = 0; i < sizeof(good_value); i++)
		ok(value_byte_result(good_value[i], 1), "value byte 0x%02x kept at every position",
		   good_value[i]);
	for (i = 0; i < sizeof(bad_target); i++)
		ok(target_byte_result(bad_target[i]),
		   "target byte 0x%02x refused at every position", bad_target[i]);
}

static void test_host(void)
{
	static const char *good[] = {"example.com", "EXAMPLE.com:80", "127.0.0.1:8080",
				     "[::1]", "[2001:db8::1]:443", "xn--bcher-kva.example",
				     "my_host.local", "a%41b", "h:65535"};
	static const char *bad[] = {"", "a b", "user@host", "host/path", "host:", "host:0x50",
				    "host:99999", "host:123456", "[::1", "[]", "[::1]x",
				    "a%zz", "a%4", "ex\xc3\xa4mple.com", "host:80:81", "[::g]"};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
		ok(parse_req(buf) > 0 && span_is(req.host, req.host_len, good[i]),
		   "Host '%s' accepted", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
		ok(parse_req(buf) == -400, "Host '%s' refused with 400", bad[i]);
	}
	ok(parse_req("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") == -400, "1.1 without Host");
	ok(parse_req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == -400, "Host twice");
	ok(parse_req("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n") == -400, "1.0 Host twice");
	ok(parse_req("GET / HTTP/1.0\r\nHost: a@b\r\n\r\n") == -400, "1.0 invalid Host");
}

/* Request smuggling: every way two parsers could disagree on framing. */
static void test_smuggling(void)
{
	const char *p = "POST / HTTP/1.1\r\nHost: a\r\n";
	static const char *bad[] = {
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
		"Transfer-Encoding: chunked, identity\r\n",
		"Transfer-Encoding: identity\r\n",
		"Transfer-Encoding: gzip, chunked\r\n",
		"Transfer-Encoding: chunked, chunked\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked,\r\n",
		"Transfer-Encoding: xchunked\r\n",
		"Transfer-Encoding: chunked;q=1\r\n",
		"Transfer-Encoding:\r\n",
		"Transfer-Encoding : chunked\r\n",
		"Transfer-Encoding: \x0b" "chunked\r\n",
		"Transfer-Encoding: \x0c" "chunked\r\n",
		"Transfer-Encoding: chunked\x0b\r\n",
		"Transfer-Encoding:\r\n chunked\r\n",
		"Content-Length: 5\r\nContent-Length: 5\r\n",
		"Content-Length: +5\r\n",
		"Content-Length: -5\r\n",
		"Content-Length: 5, 5\r\n",
		"Content-Length: 5,5\r\n",
		"Content-Length: 5 5\r\n",
		"Content-Length: 0x5\r\n",
		"Content-Length: 5a\r\n",
		"Content-Length: \r\n",
		"Content-Length: 1e3\r\n",
		"Content-Length: 9223372036854775808\r\n",
		"Content-Length: 99999999999999999999999\r\n",
		"Content-Length : 5\r\n",
		"Content-Length: 5\rX: y\r\n",
	};
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s\r\n", p, bad[i]);
		ok(parse_req(buf) == -400, "smuggling vector %zu refused with 400", i);
	}
	ok(parse_req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == -400,
	   "Transfer-Encoding in HTTP/1.0");
	ok(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") > 0,
	   "plain chunked still accepted (control)");
}

static void test_limits(void)
{
	static char buf[HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD + 256];
	const char *rl = "GET /", *tail = " HTTP/1.1\r\n";
	size_t n, i;
	int r;

	/* A request line of exactly the limit, CRLF included. */
	n = HTTP1_MAX_REQUEST_LINE - strlen(rl) - strlen(tail);
	memcpy(buf, rl, 5);
	memset(buf + 5, 'a', n);
	strcpy(buf + 5 + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	ok(parse_req(buf) == (int)strlen(buf), "request line of exactly 8192 bytes");
	memset(buf + 5, 'a', n + 1);
	strcpy(buf + 6 + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	ok(parse_req(buf) == -414, "request line of 8193 bytes: 414");
	ok(parse_req_len(buf, HTTP1_MAX_REQUEST_LINE) == -414, "8 KiB without a line end: 414");
	ok(parse_req_len(buf, HTTP1_MAX_REQUEST_LINE - 1) == HTTP1_INCOMPLETE,
	   "one byte less: still INCOMPLETE");

	/* A field block of exactly the limit, empty line included. */
	strcpy(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	n = strlen(buf);
	memset(buf + n, 'v', HTTP1_MAX_HEAD - (n - 16) - 4);
	strcpy(buf + n + HTTP1_MAX_HEAD - (n - 16) - 4, "\r\n\r\n");
	ok(parse_req(buf) == (int)strlen(buf) && strlen(buf) - 16 == HTTP1_MAX_HEAD,
	   "field block of exactly 16384 bytes");
	memset(buf + n, 'v', HTTP1_MAX_HEAD - (n - 16) - 3);
	strcpy(buf + n + HTTP1_MAX_HEAD - (n - 16) - 3, "\r\n\r\n");
	ok(parse_req(buf) == -431, "field block of 16385 bytes: 431");
	ok(parse_req_len(buf, 16 + HTTP1_MAX_HEAD) == -431, "16 KiB of fields without an end: 431");
	ok(parse_req_len(buf, 16 + HTTP1_MAX_HEAD - 1) == HTTP1_INCOMPLETE,
	   "one byte less: INCOMPLETE");

	strcpy(buf, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP1_MAX_HEADERS; i++)
		sprintf(buf + strlen(buf), "X-%zu: %zu\r\n", i, i);
	strcat(buf, "\r\n");
	r = parse_req(buf);
	ok(r == (int)strlen(buf) && req.n_headers == HTTP1_MAX_HEADERS, "100 fields accepted");
	strcpy(buf + strlen(buf) - 2, "X-100: x\r\n\r\n");
	ok(parse_req(buf) == -431, "101 fields: 431");
}

static void test_responses(void)
{
	const char *s;

	s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
	ok(parse_resp(s, 0) == (int)strlen(s) - 5, "200 with Content-Length");
	ok(resp.status == 200 && span_is(resp.reason, resp.reason_len, "OK"), "status and reason");
	ok(resp.body == HTTP1_BODY_LENGTH && resp.content_length == 5 && resp.keep_alive,
	   "LENGTH body, keep-alive");
	ok(resp.n_headers == 2 && value_is(&resp.headers[1], "x"), "response fields");
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_CHUNKED, "chunked response");
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_CHUNKED, "gzip, chunked: CHUNKED");
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_CHUNKED, "chunked last over two fields");
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_UNTIL_CLOSE && !resp.keep_alive,
	   "TE without chunked: until close");
	s = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_UNTIL_CLOSE && !resp.keep_alive,
	   "no length: until close, no keep-alive");
	s = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_NONE && resp.keep_alive, "204: none");
	s = "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.body == HTTP1_BODY_NONE, "304: none");
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
	ok(parse_resp(s, 1) > 0 && resp.body == HTTP1_BODY_NONE && resp.content_length == 1234,
	   "response to HEAD: none, length reported");
	s = "HTTP/1.1 100 Continue\r\n\r\n";
	ok(parse_resp(s, 0) == (int)strlen(s) && resp.body == HTTP1_BODY_NONE, "100: none");
	s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.upgrade == 1 && resp.body == HTTP1_BODY_NONE, "101");
	s = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.status == 200 && resp.reason_len == 0, "no SP, no reason");
	s = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.reason_len == 0, "SP and empty reason");
	s = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.version_minor == 0 && !resp.keep_alive, "1.0: close");
	s = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && resp.keep_alive, "1.0 with keep-alive");
	s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n";
	ok(parse_resp(s, 0) > 0 && !resp.keep_alive, "1.1 with close");
	s = "HTTP/1.1 502 Bad \xe9 Gateway\nContent-Length: 0\n\n";
	ok(parse_resp(s, 0) == (int)strlen(s) && resp.reason_len == 13, "LF ends, obs-text reason");
	s = "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 3\r\n\r\n";
	ok(resp_prefixes_incomplete(s, strlen(s)), "every prefix of a response is INCOMPLETE");

	ok(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		      0) == HTTP1_ERROR, "response with TE and CL");
	ok(parse_resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0) == HTTP1_ERROR,
	   "TE in a 1.0 response");
	ok(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0) ==
	   HTTP1_ERROR, "chunked not last");
	ok(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0) ==
	   HTTP1_ERROR, "chunked twice");
	ok(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", 0) == HTTP1_ERROR,
	   "empty TE list");
	ok(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", 0) == HTTP1_ERROR,
	   "CL list in a response");
	ok(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0) ==
	   HTTP1_ERROR, "conflicting CL");
	ok(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 0) == HTTP1_ERROR,
	   "invalid CL");
	ok(parse_resp("HTTP/2.0 200 OK\r\n\r\n", 0) == HTTP1_ERROR, "HTTP/2.0 status line");
	ok(parse_resp("HTTP/1.1 600 X\r\n\r\n", 0) == HTTP1_ERROR, "status 600");
	ok(parse_resp("HTTP/1.1 099 X\r\n\r\n", 0) == HTTP1_ERROR, "status 099");
	ok(parse_resp("HTTP/1.1 20 OK\r\n\r\n", 0) == HTTP1_ERROR, "two-digit status");
	ok(parse_resp("HTTP/1.1 2000 OK\r\n\r\n", 0) == HTTP1_ERROR, "four-digit status");
	ok(parse_resp("HTTP/1.1  200 OK\r\n\r\n", 0) == HTTP1_ERROR, "double space");
	ok(parse_resp("HTTP/1.1 200 O\rK\r\n\r\n", 0) == HTTP1_ERROR, "bare CR in the reason");
	ok(parse_resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0) == HTTP1_ERROR, "obs-fold");
	ok(parse_resp("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", 0) == HTTP1_ERROR, "space before colon");
	ok(parse_resp("ICY 200 OK\r\n\r\n", 0) == HTTP1_ERROR, "not HTTP");
	ok(parse_resp("HTTP/1.1 200 OK\r\nHost: not a host\r\n\r\n", 0) > 0,
	   "a Host field in a response is not checked");
}

/* Decode in[0..len) feeding at most step bytes per call; collects the data.
 * Returns the final result (DATA at the end of input is NEED_MORE). */
static enum http1_chunk_result decode(const char *in, size_t len, size_t step, char *out,
				      size_t *out_len, size_t *used)
{
	struct http1_chunked c;
	enum http1_chunk_result r = HTTP1_CHUNK_NEED_MORE;
	size_t pos = 0, n, off, consumed, doff, dlen;

	http1_chunked_init(&c);
	*out_len = 0;
	while (pos < len) {
		n = step < len - pos ? step : len - pos;
		for (off = 0; off < n;) {
			r = http1_chunked_step(&c, in + pos + off, n - off, &consumed, &doff,
					       &dlen);
			if (r == HTTP1_CHUNK_DATA) {
				memcpy(out + *out_len, in + pos + off + doff, dlen);
				*out_len += dlen;
			}
			off += consumed;
			if (r == HTTP1_CHUNK_DONE || r == HTTP1_CHUNK_ERROR) {
				*used = pos + off;
				return r;
			}
		}
		pos += n;
	}
	*used = pos;
	return HTTP1_CHUNK_NEED_MORE;
}

struct chunk_vector {
	const char *in;
	enum http1_chunk_result result;
	const char *data;
};

static void check_chunk_vector(const struct chunk_vector *v, size_t idx)
{
	static char out[64 * 1024];
	size_t len = strlen(v->in), out_len, used, steps[] = {len ? len : 1, 1, 2, 3, 7};
	size_t i;
	enum http1_chunk_result r;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		r = decode(v->in, len, steps[i], out, &out_len, &used);
		ok(r == v->result && out_len == strlen(v->data) && !memcmp(out, v->data, out_len),
		   "chunked vector %zu fed %zu bytes at a time: result %d (want %d), data", idx,
		   steps[i], (int)r, (int)v->result);
	}
}

static void test_chunked(void)
{
	static const struct chunk_vector vec[] = {
		{"5\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_DONE, "hello"},
		{"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", HTTP1_CHUNK_DONE, "hello world"},
		{"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", HTTP1_CHUNK_DONE,
		 "0123456789abcdefghij"},
		{"0000000000000003\r\nabc\r\n0\r\n\r\n", HTTP1_CHUNK_DONE, "abc"},
		{"5;name=value\r\nhello\r\n0;last\r\n\r\n", HTTP1_CHUNK_DONE, "hello"},
		{"5 ; a = b ; c=\"q\\\"x;\" ;d\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_DONE, "hello"},
		{"5;a=\"\"\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_DONE, "hello"},
		{"3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: \r\n\r\n", HTTP1_CHUNK_DONE, "abc"},
		{"3\nabc\r\n0\nX: y\n\n", HTTP1_CHUNK_DONE, "abc"},
		{"0\r\n\r\n", HTTP1_CHUNK_DONE, ""},
		{"00\r\n\r\n", HTTP1_CHUNK_DONE, ""},
		{"5\r\nhel", HTTP1_CHUNK_NEED_MORE, "hel"},
		{"5\r\nhello\r\n0\r\n", HTTP1_CHUNK_NEED_MORE, "hello"},
		{"ffffffffffffffff\r\nab", HTTP1_CHUNK_NEED_MORE, "ab"},
		{"5x\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"-5\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"+5\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"0x5\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{" 5\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5 \r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5;\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5;a=\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5;a=\"b\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5;a b\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5\rhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"10000000000000000\r\n", HTTP1_CHUNK_ERROR, ""},
		{"00000000000000005\r\nhello\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, ""},
		{"5\r\nhelloX\r\n0\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\n0\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r0\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello0\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\n X: y\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nX : y\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nX: a\x01" "b\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nX: a\x7f\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\n\rX", HTTP1_CHUNK_ERROR, "hello"},
		{"5\r\nhello\r\n0\r\nnocolon\r\n\r\n", HTTP1_CHUNK_ERROR, "hello"},
	};
	static char big[HTTP1_MAX_HEAD + 64];
	struct http1_chunked c;
	size_t i, consumed, doff, dlen, out_len, used;
	const char *s;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		check_chunk_vector(&vec[i], i);

	s = "0\r\n\r\nGET / HTTP/1.1\r\n";
	http1_chunked_init(&c);
	ok(http1_chunked_step(&c, s, strlen(s), &consumed, &doff, &dlen) == HTTP1_CHUNK_DONE &&
	   consumed == 5, "DONE stops right after the final CRLF");
	ok(http1_chunked_step(&c, s + 5, 3, &consumed, &doff, &dlen) == HTTP1_CHUNK_DONE &&
	   consumed == 0, "DONE is sticky and consumes nothing");
	s = "3\r\nabcdef";
	http1_chunked_init(&c);
	ok(http1_chunked_step(&c, s, strlen(s), &consumed, &doff, &dlen) == HTTP1_CHUNK_DATA &&
	   doff == 3 && dlen == 3 && consumed == 6, "DATA span within the consumed bytes");
	ok(http1_chunked_step(&c, s + 6, 3, &consumed, &doff, &dlen) == HTTP1_CHUNK_ERROR,
	   "junk after the data");
	ok(http1_chunked_step(&c, "\r\n", 2, &consumed, &doff, &dlen) == HTTP1_CHUNK_ERROR &&
	   consumed == 0, "ERROR is sticky");

	ok(decode("0\r\nX: \0\r\n\r\n", 11, 1, big, &out_len, &used) == HTTP1_CHUNK_ERROR,
	   "NUL in a trailer");
	ok(decode("5\0\r\nhello\r\n0\r\n\r\n", 17, 1, big, &out_len, &used) == HTTP1_CHUNK_ERROR,
	   "NUL after the chunk size");

	/* Size line over 4 KiB (a long extension) and trailers over 16 KiB. */
	strcpy(big, "1;x=");
	memset(big + 4, 'a', 4100);
	strcpy(big + 4104, "\r\nA\r\n0\r\n\r\n");
	ok(decode(big, strlen(big), strlen(big), big, &out_len, &used) == HTTP1_CHUNK_ERROR,
	   "size line over 4 KiB");
	memset(big + 4, 'a', 4000);
	strcpy(big + 4004, "\r\nA\r\n0\r\n\r\n");
	ok(decode(big, strlen(big), 1, big + HTTP1_MAX_HEAD, &out_len, &used) == HTTP1_CHUNK_DONE,
	   "size line of 4006 bytes");
	strcpy(big, "0\r\nX: ");
	memset(big + 6, 'a', HTTP1_MAX_HEAD);
	strcpy(big + 6 + HTTP1_MAX_HEAD, "\r\n\r\n");
	ok(decode(big, strlen(big), 4096, big, &out_len, &used) == HTTP1_CHUNK_ERROR,
	   "trailers over 16 KiB");
	strcpy(big + 6 + HTTP1_MAX_HEAD - 16, "\r\n\r\n");
	ok(decode(big, strlen(big), 4096, big, &out_len, &used) == HTTP1_CHUNK_DONE,
	   "trailers under 16 KiB");

	s = "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
	i = (size_t)parse_req(s);
	ok(req.body == HTTP1_BODY_CHUNKED &&
	   decode(s + i, strlen(s) - i, 1, big, &out_len, &used) == HTTP1_CHUNK_DONE &&
	   span_is(big, out_len, "Wikipedia in\r\n\r\nchunks.") && i + used == strlen(s),
	   "chunked request body decodes after its head");
}

static void test_helpers(void)
{
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n";

	ok(parse_req(s) > 0, "helper request parses");
	ok(value_is(http1_find_header(req.headers, req.n_headers, "X-DUP"), "1"),
	   "find_header is case-insensitive and returns the first");
	ok(http1_find_header(req.headers, req.n_headers, "X-Du") == NULL, "no prefix match");
	ok(http1_find_header(req.headers, 0, "Host") == NULL, "empty list");
	ok(http1_list_has_token("keep-alive, Upgrade", 19, "upgrade"), "token in list");
	ok(http1_list_has_token(" ,close\t, ", 10, "CLOSE"), "token with OWS and empties");
	ok(!http1_list_has_token("closed, xclose", 14, "close"), "no partial token match");
	ok(!http1_list_has_token("close", 4, "close"), "respects the length");
	ok(!http1_list_has_token("", 0, "close"), "empty list");
	ok(strcmp(http1_reason(404), "Not Found") == 0, "reason 404");
	ok(strcmp(http1_reason(431), "Request Header Fields Too Large") == 0, "reason 431");
	ok(strcmp(http1_reason(505), "HTTP Version Not Supported") == 0, "reason 505");
	ok(strcmp(http1_reason(101), "Switching Protocols") == 0, "reason 101");
	ok(strcmp(http1_reason(299), "") == 0 && strcmp(http1_reason(-1), "") == 0,
	   "unknown status: empty reason");
}

int main(void)
{
	test_valid_requests();
	test_incremental();
	test_bad_request_line();
	test_bad_fields();
	test_scan_positions();
	test_host();
	test_smuggling();
	test_limits();
	test_responses();
	test_chunked();
	test_helpers();
	return done_testing();
}
