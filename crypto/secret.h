/* The one place key material is wiped. Everything that held a private key,
 * a password or the instance key goes through these before it is freed. */
#ifndef POSTERN_CRYPTO_SECRET_H
#define POSTERN_CRYPTO_SECRET_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop. */
void secret_wipe(void *p, size_t n);
/* Wipe n bytes at p, then free(p). NULL is allowed. */
void secret_free(void *p, size_t n);
/* Wipe a NUL-terminated string (strlen bytes), then free it. NULL is allowed. */
void secret_free_str(char *s);

#endif
