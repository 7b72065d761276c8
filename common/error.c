#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void error_set(struct error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void error_clear(struct error *err)
{
	if (err == NULL)
		return;
	err->code[0] = '\0';
	err->message[0] = '\0';
}
