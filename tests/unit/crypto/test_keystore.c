/* The instance key file (creation, permission and size checks) and sealing
 * under it. Every key file is made in a fresh mkdtemp directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keystore.h"
#include "crypto/secret.h"
#include "tests/unit/tap.h"

static char dir[64];

static void path_in_dir(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return (n == (ssize_t)len && chmod(path, mode) == 0) ? 0 : -1;
}

/* 1 when the file at path holds exactly the len bytes at data. */
static int file_equals(const char *path, const unsigned char *data, size_t len)
{
	unsigned char buf[128];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)len && memcmp(buf, data, len) == 0;
}

/* Seal with a, unseal with b: 0 when the plaintext comes back intact. */
static int cross_open(const struct keystore *a, const struct keystore *b)
{
	static const unsigned char msg[] = "cross-check";
	unsigned char *sealed = NULL, *pt = NULL;
	size_t sealed_len = 0, pt_len = 0;
	int rc = -1;

	if (keystore_seal(a, msg, sizeof(msg), "test:cross", &sealed, &sealed_len) == 0 &&
	    keystore_unseal(b, sealed, sealed_len, "test:cross", &pt, &pt_len) == 0)
		rc = (pt_len == sizeof(msg) && memcmp(pt, msg, pt_len) == 0) ? 0 : -1;
	free(sealed);
	secret_free(pt, pt_len);
	return rc;
}

static void test_create(void)
{
	char path[128];
	struct error err;
	struct stat st;
	struct keystore *a, *b;

	path_in_dir(path, sizeof(path), "instance.key");
	error_clear(&err);
	a = keystore_open(path, 1, &err);
	ok(a != NULL, "create: keystore_open makes a new key file (%s)", err.message);
	ok(stat(path, &st) == 0, "create: the key file exists");
	ok(S_ISREG(st.st_mode), "create: the key file is a regular file");
	ok((st.st_mode & 07777) == 0600, "create: mode is 0600 (got %04o)",
	   (unsigned)(st.st_mode & 07777));
	ok(st.st_size == KEYSTORE_KEY_BYTES, "create: file holds 32 bytes (got %lld)",
	   (long long)st.st_size);

	error_clear(&err);
	b = keystore_open(path, 1, &err);
	ok(b != NULL, "reopen with create=1 reads the existing file (%s)", err.message);
	ok(stat(path, &st) == 0 && st.st_size == KEYSTORE_KEY_BYTES,
	   "reopen leaves the file at 32 bytes");
	ok(a && b && cross_open(a, b) == 0, "sealed with the first open, opened with the second");
	ok(a && b && cross_open(b, a) == 0, "sealed with the second open, opened with the first");
	keystore_free(b);

	error_clear(&err);
	b = keystore_open(path, 0, &err);
	ok(b != NULL, "reopen with create=0 reads the existing file (%s)", err.message);
	ok(a && b && cross_open(a, b) == 0, "create=0 open holds the same key");
	keystore_free(b);

	path_in_dir(path, sizeof(path), "other.key");
	b = keystore_open(path, 1, &err);
	ok(a && b && cross_open(a, b) != 0, "a second created key file holds a different key");
	keystore_free(b);
	keystore_free(a);
}

static void test_refuse_mode(mode_t mode)
{
	char path[128];
	struct error err;
	struct keystore *ks;
	unsigned char key[KEYSTORE_KEY_BYTES] = {1};
	char want[32];

	path_in_dir(path, sizeof(path), "mode.key");
	unlink(path);
	ok(write_file(path, key, sizeof(key), 0600) == 0, "mode %04o: key file written",
	   (unsigned)mode);
	ok(chmod(path, mode) == 0, "mode %04o: chmod done", (unsigned)mode);
	error_clear(&err);
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL, "mode %04o: keystore_open refuses the file", (unsigned)mode);
	ok(strcmp(err.code, "instance_key") == 0, "mode %04o: error code instance_key (%s)",
	   (unsigned)mode, err.code);
	ok(strstr(err.message, "readable by group or others") != NULL,
	   "mode %04o: message says group/others can read it (%s)", (unsigned)mode, err.message);
	snprintf(want, sizeof(want), "(mode %04o)", (unsigned)mode);
	ok(strstr(err.message, want) != NULL, "mode %04o: message shows the mode",
	   (unsigned)mode);
	ok(strstr(err.message, "chmod 600 ") != NULL && strstr(err.message, path) != NULL,
	   "mode %04o: message names chmod 600 and the path", (unsigned)mode);
	ok(file_equals(path, key, sizeof(key)), "mode %04o: the refused file is left unchanged",
	   (unsigned)mode);
	keystore_free(ks);
}

static void test_refuse_size(size_t size)
{
	char path[128];
	unsigned char buf[64] = {0};
	struct error err;
	struct keystore *ks;
	char want[64];

	path_in_dir(path, sizeof(path), "size.key");
	unlink(path);
	ok(write_file(path, buf, size, 0600) == 0, "size %zu: file written", size);
	error_clear(&err);
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL, "size %zu: keystore_open refuses the file", size);
	ok(strcmp(err.code, "instance_key") == 0, "size %zu: error code instance_key", size);
	snprintf(want, sizeof(want), "has %zu bytes, expected 32", size);
	ok(strstr(err.message, want) != NULL, "size %zu: message gives the size (%s)", size,
	   err.message);
	ok(strstr(err.message, "not a postern instance key") != NULL,
	   "size %zu: message says it is not an instance key", size);
	keystore_free(ks);
}

static void test_refuse_other(void)
{
	char path[128], target[128];
	unsigned char key[KEYSTORE_KEY_BYTES] = {2};
	struct error err;
	struct keystore *ks;
	struct stat st;

	path_in_dir(path, sizeof(path), "missing.key");
	error_clear(&err);
	ks = keystore_open(path, 0, &err);
	ok(ks == NULL, "missing file with create=0 is refused");
	ok(strcmp(err.code, "instance_key") == 0, "missing: error code instance_key");
	ok(strstr(err.message, "does not exist") != NULL && strstr(err.message, path) != NULL,
	   "missing: message names the path and says it does not exist (%s)", err.message);
	ok(stat(path, &st) != 0 && errno == ENOENT, "missing: create=0 did not create the file");
	keystore_free(ks);

	path_in_dir(target, sizeof(target), "target.key");
	path_in_dir(path, sizeof(path), "link.key");
	ok(write_file(target, key, sizeof(key), 0600) == 0 && symlink(target, path) == 0,
	   "symlink to a valid key file made");
	error_clear(&err);
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL, "symlink to a valid key file is refused");
	ok(strcmp(err.code, "instance_key") == 0 && strstr(err.message, "symbolic link") != NULL,
	   "symlink: message says symbolic link (%s)", err.message);
	keystore_free(ks);

	path_in_dir(path, sizeof(path), "dangling.key");
	path_in_dir(target, sizeof(target), "nowhere.key");
	ok(symlink(target, path) == 0, "dangling symlink made");
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL, "dangling symlink is refused, not followed to create a file");
	ok(stat(target, &st) != 0, "dangling symlink target was not created");
	keystore_free(ks);

	path_in_dir(path, sizeof(path), "adir");
	ok(mkdir(path, 0700) == 0, "directory made");
	error_clear(&err);
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL && strstr(err.message, "not a regular file") != NULL,
	   "a directory is refused as not a regular file (%s)", err.message);
	keystore_free(ks);

	path_in_dir(path, sizeof(path), "nodir/sub.key");
	error_clear(&err);
	ks = keystore_open(path, 1, &err);
	ok(ks == NULL && strcmp(err.code, "instance_key") == 0 &&
	   strstr(err.message, "cannot create") != NULL,
	   "create in a missing directory fails with a message (%s)", err.message);
	keystore_free(ks);
}

static void test_round_trip(const struct keystore *ks)
{
	static const char msg[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n";
	unsigned char *sealed = NULL, *pt = NULL;
	size_t sealed_len = 0, pt_len = 0;

	ok(keystore_seal(ks, (const unsigned char *)msg, strlen(msg), "certkey:abc", &sealed,
			 &sealed_len) == 0, "seal succeeds");
	ok(sealed_len == strlen(msg) + 1 + 24 + 16, "sealed length is 1 + 24 + n + 16 (%zu)",
	   sealed_len);
	ok(sealed != NULL && sealed[0] == 0x01, "sealed buffer starts with version byte 0x01");
	ok(sealed && memmem(sealed, sealed_len, msg, strlen(msg)) == NULL,
	   "sealed output does not contain the plaintext");
	ok(sealed && memmem(sealed, sealed_len, "PRIVATE", 7) == NULL,
	   "sealed output does not contain a plaintext fragment");
	ok(keystore_unseal(ks, sealed, sealed_len, "certkey:abc", &pt, &pt_len) == 0,
	   "unseal with the same key and ad succeeds");
	ok(pt_len == strlen(msg) && pt && memcmp(pt, msg, pt_len) == 0,
	   "unsealed plaintext equals the original");
	secret_free(pt, pt_len);
	free(sealed);

	sealed = NULL;
	pt = NULL;
	ok(keystore_seal(ks, NULL, 0, "empty", &sealed, &sealed_len) == 0 && sealed_len == 41,
	   "empty plaintext seals to 41 bytes");
	ok(keystore_unseal(ks, sealed, sealed_len, "empty", &pt, &pt_len) == 0 && pt_len == 0,
	   "empty plaintext unseals to 0 bytes");
	secret_free(pt, pt_len);
	free(sealed);
}

static void test_nonce(const struct keystore *ks)
{
	static const unsigned char msg[] = "same plaintext";
	unsigned char *a = NULL, *b = NULL;
	size_t a_len = 0, b_len = 0;

	keystore_seal(ks, msg, sizeof(msg), "ad", &a, &a_len);
	keystore_seal(ks, msg, sizeof(msg), "ad", &b, &b_len);
	ok(a && b && a_len == b_len, "two seals of the same plaintext have the same length");
	ok(a && b && memcmp(a + 1, b + 1, 24) != 0, "two seals use different nonces");
	ok(a && b && memcmp(a, b, a_len) != 0, "two seals of the same plaintext differ");
	free(a);
	free(b);
}

/* 1 when unseal of (buf, len) under ks and ad fails and leaves outputs empty. */
static int unseal_fails(const struct keystore *ks, const unsigned char *buf, size_t len,
			const char *ad)
{
	unsigned char *pt = (unsigned char *)"sentinel";
	size_t pt_len = 99;
	int rc = keystore_unseal(ks, buf, len, ad, &pt, &pt_len);

	if (rc == 0) {
		secret_free(pt, pt_len);
		return 0;
	}
	return pt == NULL && pt_len == 0;
}

static void test_tamper(const struct keystore *ks)
{
	static const unsigned char msg[] = "key";
	unsigned char other_key[KEYSTORE_KEY_BYTES];
	struct keystore *other;
	unsigned char *sealed = NULL;
	size_t len = 0, i;
	int bit, all_fail = 1;

	memset(other_key, 0x5a, sizeof(other_key));
	other = keystore_from_bytes(other_key);
	ok(other != NULL, "keystore_from_bytes builds a keystore");
	ok(keystore_seal(ks, msg, sizeof(msg), "certkey:1", &sealed, &len) == 0,
	   "short buffer sealed");
	ok(unseal_fails(other, sealed, len, "certkey:1"), "unseal under another key fails");
	ok(unseal_fails(ks, sealed, len, "certkey:2"), "unseal with a different ad fails");
	ok(unseal_fails(ks, sealed, len, ""), "unseal with an empty ad fails");
	ok(unseal_fails(ks, sealed, len, "certkey:1 "), "unseal with a longer ad fails");
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			sealed[i] ^= (unsigned char)(1u << bit);
			if (!unseal_fails(ks, sealed, len, "certkey:1")) {
				all_fail = 0;
				ok(0, "flipping bit %d of byte %zu is detected", bit, i);
			}
			sealed[i] ^= (unsigned char)(1u << bit);
		}
	}
	ok(all_fail, "flipping any single bit of all %zu sealed bytes is detected", len);
	ok(!unseal_fails(ks, sealed, len, "certkey:1"), "the restored buffer still unseals");
	for (i = 0; i < len; i++) {
		if (!unseal_fails(ks, sealed, i, "certkey:1"))
			break;
	}
	ok(i == len, "every truncation (0..%zu bytes) is refused", len - 1);
	ok(unseal_fails(ks, sealed, 40, "certkey:1"), "40 bytes (shorter than overhead) refused");
	ok(unseal_fails(ks, NULL, 0, "certkey:1"), "NULL input refused");
	sealed[0] = 0x02;
	ok(unseal_fails(ks, sealed, len, "certkey:1"), "version byte 0x02 refused");
	sealed[0] = 0x00;
	ok(unseal_fails(ks, sealed, len, "certkey:1"), "version byte 0x00 refused");
	sealed[0] = 0x01;
	ok(unseal_fails(ks, sealed, len, NULL), "NULL ad refused");
	free(sealed);
	keystore_free(other);
}

static void test_from_bytes(void)
{
	unsigned char k1[KEYSTORE_KEY_BYTES], k2[KEYSTORE_KEY_BYTES];
	struct keystore *a, *b, *c;

	memset(k1, 0x11, sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[31] ^= 1;
	a = keystore_from_bytes(k1);
	b = keystore_from_bytes(k1);
	c = keystore_from_bytes(k2);
	ok(a && b && cross_open(a, b) == 0, "two keystores from the same bytes interoperate");
	ok(a && c && cross_open(a, c) != 0, "keys differing in one bit do not interoperate");
	keystore_free(a);
	keystore_free(b);
	keystore_free(c);
	keystore_free(NULL);
	ok(1, "keystore_free(NULL) is a no-op");
}

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void test_uid(void)
{
	char a[33], b[33];

	memset(a, 'X', sizeof(a));
	keystore_new_uid(a);
	keystore_new_uid(b);
	ok(a[32] == '\0' && strlen(a) == 32, "uid is 32 characters, NUL-terminated");
	ok(is_lower_hex(a, 32), "uid is lowercase hex (%s)", a);
	ok(is_lower_hex(b, 32) && strlen(b) == 32, "second uid is 32 lowercase hex characters");
	ok(strcmp(a, b) != 0, "two uids differ");
}

static void cleanup(void)
{
	static const char *const names[] = {"instance.key", "other.key", "mode.key", "size.key",
					    "target.key", "link.key", "dangling.key"};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in_dir(path, sizeof(path), names[i]);
		unlink(path);
	}
	path_in_dir(path, sizeof(path), "adir");
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	unsigned char key[KEYSTORE_KEY_BYTES];
	struct keystore *ks;

	snprintf(dir, sizeof(dir), "/tmp/test_keystore.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_create();
	test_refuse_mode(0640);
	test_refuse_mode(0644);
	test_refuse_mode(0604);
	test_refuse_size(0);
	test_refuse_size(31);
	test_refuse_size(33);
	test_refuse_size(64);
	test_refuse_other();

	memset(key, 0xa7, sizeof(key));
	ks = keystore_from_bytes(key);
	ok(ks != NULL, "test keystore built");
	if (ks != NULL) {
		test_round_trip(ks);
		test_nonce(ks);
		test_tamper(ks);
	}
	keystore_free(ks);
	test_from_bytes();
	test_uid();
	cleanup();
	return done_testing();
}
