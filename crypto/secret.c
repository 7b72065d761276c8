/* Wiping goes through libsodium's sodium_memzero, which the compiler may not
 * elide. It needs no sodium_init(): it touches no library state, so it is
 * safe to call from any module, before or after initialisation. */
#include "crypto/secret.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void secret_wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	sodium_memzero(p, n);
}

void secret_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	secret_wipe(p, n);
	free(p);
}

void secret_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_free(s, strlen(s));
}
