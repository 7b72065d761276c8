#include "gateway/challenge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A small list is enough: an order has a handful of tokens at a time. */
struct challenge {
	char *token;
	char *answer;
	struct challenge *next;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct challenge *head;

static int valid_token(const char *t, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int challenge_put(const char *token, const char *key_authorization)
{
	struct challenge *c;

	if (!valid_token(token, strlen(token)))
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->token = strdup(token)) == NULL ||
	    (c->answer = strdup(key_authorization)) == NULL) {
		if (c != NULL)
			free(c->token);
		free(c);
		return -1;
	}
	challenge_remove(token);
	pthread_rwlock_wrlock(&lock);
	c->next = head;
	head = c;
	pthread_rwlock_unlock(&lock);
	return 0;
}

void challenge_remove(const char *token)
{
	struct challenge **p, *dead = NULL;

	pthread_rwlock_wrlock(&lock);
	for (p = &head; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->token, token) == 0) {
			dead = *p;
			*p = dead->next;
			break;
		}
	}
	pthread_rwlock_unlock(&lock);
	if (dead != NULL) {
		free(dead->token);
		free(dead->answer);
		free(dead);
	}
}

int challenge_get(const char *token, size_t token_len, char *out, size_t n)
{
	int rc = -1;

	if (!valid_token(token, token_len))
		return -1;
	pthread_rwlock_rdlock(&lock);
	for (struct challenge *c = head; c != NULL; c = c->next) {
		if (strlen(c->token) == token_len && memcmp(c->token, token, token_len) == 0) {
			size_t len = strlen(c->answer);
			if (len < n) {
				memcpy(out, c->answer, len + 1);
				rc = (int)len;
			}
			break;
		}
	}
	pthread_rwlock_unlock(&lock);
	return rc;
}

void challenge_clear(void)
{
	struct challenge *c;

	pthread_rwlock_wrlock(&lock);
	c = head;
	head = NULL;
	pthread_rwlock_unlock(&lock);
	while (c != NULL) {
		struct challenge *next = c->next;
		free(c->token);
		free(c->answer);
		free(c);
		c = next;
	}
}
