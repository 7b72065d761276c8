/* Differential fuzzing of the chunked decoder: the input decoded in one
 * piece, split at a fuzzer-chosen point, and one byte at a time must give
 * the same data bytes, the same result and the same end offset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1.h"

struct outcome {
	enum http1_chunk_result result; /* DONE, ERROR or NEED_MORE */
	size_t used;                    /* input bytes consumed */
	size_t data_len;
};

/* Feed in[0..len) to c; appends data to out. Returns the last result. */
static enum http1_chunk_result feed(struct http1_chunked *c, const char *in, size_t len,
				    char *out, struct outcome *o)
{
	size_t off = 0, consumed, doff, dlen;
	enum http1_chunk_result r = HTTP1_CHUNK_NEED_MORE;

	while (off < len) {
		r = http1_chunked_step(c, in + off, len - off, &consumed, &doff, &dlen);
		if (consumed > len - off)
			abort();
		if (r == HTTP1_CHUNK_DATA) {
			if (dlen == 0 || doff + dlen != consumed)
				abort();
			memcpy(out + o->data_len, in + off + doff, dlen);
			o->data_len += dlen;
		} else if (r == HTTP1_CHUNK_NEED_MORE && consumed != len - off) {
			abort();
		}
		off += consumed;
		o->used += consumed;
		if (r == HTTP1_CHUNK_DONE || r == HTTP1_CHUNK_ERROR)
			return r;
	}
	return HTTP1_CHUNK_NEED_MORE;
}

/* Decode in pieces: cuts[0..n_cuts) are ascending split offsets. */
static void decode(const char *in, size_t len, const size_t *cuts, size_t n_cuts, char *out,
		   struct outcome *o)
{
	struct http1_chunked c;
	size_t start = 0, i;

	http1_chunked_init(&c);
	memset(o, 0, sizeof(*o));
	o->result = HTTP1_CHUNK_NEED_MORE;
	for (i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		o->result = feed(&c, in + start, end - start, out, o);
		if (o->result != HTTP1_CHUNK_NEED_MORE)
			return;
		start = end;
	}
}

static void same(const struct outcome *a, const char *da, const struct outcome *b,
		 const char *db)
{
	if (a->result != b->result || a->data_len != b->data_len ||
	    memcmp(da, db, a->data_len) != 0)
		abort();
	if (a->result != HTTP1_CHUNK_ERROR && a->used != b->used)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split, bytes;
	char *o1, *o2, *o3;
	const char *in;
	size_t len, cut, *cuts, i;

	if (size < 2)
		return 0;
	in = (const char *)data + 2;
	len = size - 2;
	cut = ((size_t)data[0] << 8 | data[1]) % (len + 1);
	o1 = malloc(len + 1);
	o2 = malloc(len + 1);
	o3 = malloc(len + 1);
	cuts = malloc((len + 1) * sizeof(*cuts));
	if (!o1 || !o2 || !o3 || !cuts)
		abort();
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	decode(in, len, NULL, 0, o1, &whole);
	decode(in, len, &cut, 1, o2, &split);
	decode(in, len, cuts, len ? len - 1 : 0, o3, &bytes);
	same(&whole, o1, &split, o2);
	same(&whole, o1, &bytes, o3);
	if (whole.result == HTTP1_CHUNK_DONE && whole.used > len)
		abort();
	free(o1);
	free(o2);
	free(o3);
	free(cuts);
	return 0;
}
