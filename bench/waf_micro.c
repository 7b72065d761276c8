/* The WAF matcher alone, without sockets: microseconds (and, under
 * callgrind, instructions) per request for the preset rules on
 *   get    a browser-like GET (query of 3 args, 9 headers)
 *   form   a 16 KiB urlencoded POST body of 32 fields of ~512 bytes of words,
 *          SQL words among them (select, update, from, order...)
 *   lorem  the 16 KiB body bench/waf-bench.sh sends (32 fields of lorem ipsum),
 *          with the head its wrk sends
 * Build and run with bench/waf-micro.sh [get|form|lorem] [ITERATIONS]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "waf/engine.h"
#include "waf/rule.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define H(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }
static const struct http1_header get_headers[] = {
	H("Host", "shop.example.com"),
	H("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
			"Chrome/120.0.0.0 Safari/537.36"),
	H("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"),
	H("Accept-Language", "en-US,en;q=0.9"),
	H("Accept-Encoding", "gzip, deflate, br"),
	H("Referer", "https://shop.example.com/catalog?page=2"),
	H("Cookie", "session=3f2a9c0d8e7b6a5f4e3d2c1b0a998877; theme=dark"),
	H("Sec-Fetch-Mode", "navigate"),
	H("Connection", "keep-alive"),
};
static const struct http1_header form_headers[] = {
	H("Host", "shop.example.com"),
	H("User-Agent", "wrk"),
	H("Content-Type", "application/x-www-form-urlencoded"),
	H("Content-Length", "16384"),
};
/* the head wrk sends in bench/waf-bench.sh */
static const struct http1_header lorem_headers[] = {
	H("Host", "block.test"),
	H("Content-Length", "16384"),
	H("Content-Type", "application/x-www-form-urlencoded"),
	H("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0 "
			"waf-bench"),
	H("Accept", "*/*"),
};

static size_t make_form(char *body, size_t size)
{
	static const char *const words[] = { "hello", "world", "order", "update", "select",
					     "plan", "name", "price", "from", "table",
					     "the", "and", "shipping", "address", "note" };
	size_t len = 0;

	for (int f = 0; f < 32; f++) {
		len += (size_t)snprintf(body + len, size - len, "%sfield%d=", f ? "&" : "", f);
		for (int w = 0; len < (size_t)(f + 1) * 512 - 16; w++)
			len += (size_t)snprintf(body + len, size - len, "%s%s", w ? "+" : "",
						words[(f * 7 + w * 3) % 15]);
	}
	return len;
}

/* bench/waf-bench.sh's body, byte for byte. */
static size_t make_lorem(char *body, size_t size)
{
	static const char text[] =
	    "lorem ipsum dolor sit amet consectetur adipiscing elit do eiusmod tempor "
	    "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
	    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat";
	const char *words[64];
	size_t nw = 0, len = 0;
	static char copy[sizeof(text)];
	char *save = NULL;

	memcpy(copy, text, sizeof(text));
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		words[nw++] = w;
	for (size_t i = 0; i < 32; i++) {
		char field[2048];
		size_t fl = (size_t)snprintf(field, sizeof(field), "field%zu=", i);

		for (size_t j = 0; j < 200 && fl < sizeof(field) - 32; j++)
			fl += (size_t)snprintf(field + fl, sizeof(field) - fl, "%s%s", j ? "+" : "",
			                       words[(i * 5 + j) % nw]);
		if (fl > 511)
			fl = 511;
		while (fl > 0 && field[fl - 1] == '+')
			fl--;
		len += (size_t)snprintf(body + len, size - len, "%s%.*s", i ? "&" : "", (int)fl, field);
	}
	while (len < 16384)
		body[len++] = 'a';
	return 16384;
}

int main(int argc, char **argv)
{
	static char body[32768], arena[4 * 32768 + 16384];
	static struct waf_request r;
	int lorem = argc > 1 && strcmp(argv[1], "lorem") == 0;
	int form = lorem || (argc > 1 && strcmp(argv[1], "form") == 0);
	int iters = argc > 2 ? atoi(argv[2]) : (form ? 2000 : 200000);
	size_t body_len = lorem ? make_lorem(body, sizeof(body))
	                        : form ? make_form(body, sizeof(body)) : 0;
	struct waf_rule *rules;
	size_t n;
	struct error err;
	struct waf_engine *e;
	int blocked = 0;
	double t0, best = 1e9;

	if (waf_preset_rules(&rules, &n) != 0 || (e = waf_engine_build(rules, n, &err)) == NULL) {
		fprintf(stderr, "cannot build the presets: %s\n", err.message);
		return 1;
	}
	if (getenv("WAF_FORM_BITS") != NULL) /* compare the form scan's vector widths */
		waf_form_vector_limit(atoi(getenv("WAF_FORM_BITS")));
	t0 = now();
	for (int i = 0; i < iters; i++) {
		struct waf_hit hit;
		double t1 = now();

		waf_request_init(&r, arena, sizeof(arena));
		r.method = form ? "POST" : "GET";
		r.method_len = strlen(r.method);
		r.target = form ? "/checkout" : "/search?q=blue+shoes&size=42&sort=price";
		r.target_len = strlen(r.target);
		r.headers = lorem ? lorem_headers : form ? form_headers : get_headers;
		r.n_headers = lorem ? 5 : form ? 4 : 9;
		r.client_ip = "192.0.2.1";
		r.client_ip_len = 9;
		r.body = form ? body : NULL;
		r.body_len = r.body_total = body_len;
		if (waf_engine_eval(e, 1, &r, NULL, NULL, &hit, 0) == WAF_BLOCK && blocked++ == 0)
			printf("blocked by rule %lld on %s: %s\n", hit.rule_id, hit.target, hit.excerpt);
		t1 = now() - t1;
		best = t1 < best ? t1 : best;
	}
	/* the fastest request: what the code costs when nothing else on the
	 * machine gets in the way (a noisy host only ever adds time) */
	printf("%s: %.2f us per request over %d, fastest %.2f us (%zu rules, %zu body bytes, "
	       "%zu args), %d blocked\n",
	       lorem ? "lorem" : form ? "form" : "get", (now() - t0) / iters * 1e6, iters, best * 1e6,
	       n, body_len, r.n_args, blocked);
	waf_engine_free(e);
	waf_rule_list_free(rules, n);
	waf_thread_release();
	return blocked != 0;
}
