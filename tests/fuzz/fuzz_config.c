/* libFuzzer target for the config parser: any bytes go through
 * config_parse and config_free (ASan catches leaks and overreads). The
 * value parsers shared with other modules also get the bytes as one
 * NUL-terminated string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_listen listen;
	struct error err;
	unsigned long long ms;
	char *text;

	if (config_parse((const char *)data, size, "fuzz.conf", &cfg, &err) == 0)
		config_free(&cfg);
	else if (strncmp(err.message, "fuzz.conf:", 10) != 0 || strcmp(err.code, "config") != 0)
		abort();   /* every failure must name the file and use the "config" code */
	config_free(&cfg); /* must be safe after either outcome */

	if (size > 256)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)config_parse_duration(text, &ms);
	(void)config_parse_listen(text, &listen);
	free(text);
	return 0;
}
