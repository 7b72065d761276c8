/* Fuzz the tokenizer detectors (waf/detect_sqli.c, waf/detect_xss.c): the
 * input is copied into an allocation of exactly its size, so ASan catches
 * any read past the length; each detector must return 0 or 1, give the
 * same answer twice (no hidden state) and the same answer on a copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waf/detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	int a, b;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	a = waf_detect_sqli(buf, size);
	b = waf_detect_xss(buf, size);
	if ((a != 0 && a != 1) || (b != 0 && b != 1))
		abort();
	if (waf_detect_sqli(buf, size) != a || waf_detect_xss(buf, size) != b)
		abort();
	if (memcmp(buf, data, size) != 0)
		abort(); /* the detectors read, never write */
	free(buf);
	return 0;
}
