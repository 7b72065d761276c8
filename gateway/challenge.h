/* ACME HTTP-01 answers: token -> key authorization, read by every worker
 * on the HTTP listener, written by the control thread (the ACME client).
 * A reader-writer lock: writes are rare, reads never wait for the
 * database or the network. */
#ifndef POSTERN_GATEWAY_CHALLENGE_H
#define POSTERN_GATEWAY_CHALLENGE_H

#include <stddef.h>

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"

/* Publish token's answer (copied). Visible to every worker on return.
 * Returns 0 or -1 (bad token syntax: only base64url characters, 1..128). */
int challenge_put(const char *token, const char *key_authorization);
/* Remove token (no-op when absent). */
void challenge_remove(const char *token);
/* Copy the answer for token (token_len bytes) into out (size n, NUL-
 * terminated). Returns the answer's length, or -1 when unknown. */
int challenge_get(const char *token, size_t token_len, char *out, size_t n);
/* Remove every token (shutdown). */
void challenge_clear(void);

#endif
