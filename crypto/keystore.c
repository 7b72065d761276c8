/* The instance key file and sealing under it.
 *
 * The key lives in sodium_malloc'd memory: guard pages around it, mlocked
 * so it is not swapped out, read-only once loaded, and wiped by sodium_free.
 *
 * Sealed format: version (1 byte, 0x01) || nonce (24) || ciphertext || tag
 * (16). The version byte is authenticated as the first byte of the associated
 * data, so it cannot be swapped for another format's without detection. */
#include "crypto/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/secret.h"

#define SEAL_VERSION 0x01
#define SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_OVERHEAD (1 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)
#define UID_BYTES 16

struct keystore {
	unsigned char key[KEYSTORE_KEY_BYTES];
};

/* sodium_init is idempotent and thread-safe; it picks the fastest
 * implementations and seeds the random generator. */
static int sodium_ready(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* A writable guarded allocation for the key; the caller fills it and then
 * calls keystore_lock. */
static struct keystore *keystore_alloc(void)
{
	if (sodium_ready() < 0)
		return NULL;
	return sodium_malloc(sizeof(struct keystore));
}

/* After loading, nothing writes the key again until sodium_free. Returns ks,
 * or NULL (ks freed, errno kept) when the protection cannot be changed. */
static struct keystore *keystore_lock(struct keystore *ks)
{
	int saved;

	if (sodium_mprotect_readonly(ks) != 0) {
		saved = errno;
		sodium_free(ks);
		errno = saved;
		return NULL;
	}
	return ks;
}

struct keystore *keystore_from_bytes(const unsigned char key[KEYSTORE_KEY_BYTES])
{
	struct keystore *ks = keystore_alloc();

	if (ks == NULL)
		return NULL;
	memcpy(ks->key, key, KEYSTORE_KEY_BYTES);
	return keystore_lock(ks);
}

void keystore_free(struct keystore *ks)
{
	/* sodium_free makes the region writable, wipes it and unmaps it. */
	if (ks != NULL)
		sodium_free(ks);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; -1 on error, or on early end of file with errno
 * set to 0. */
static int read_all(int fd, unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the new directory entry durable: without this a crash right after
 * first start could lose the key file while the database survives. */
static int fsync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -1;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	/* EINVAL: the file system cannot sync directories; nothing more to do. */
	if (rc != 0 && errno == EINVAL)
		rc = 0;
	close(fd);
	return rc;
}

/* Fill ks with fresh random bytes and write them to a new file at path.
 * Returns 0, 1 when the file appeared meanwhile (caller reopens it), or -1
 * with err filled. */
static int create_key_file(const char *path, struct keystore *ks, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return 1;
	if (fd < 0) {
		error_set(err, "instance_key", "cannot create instance key file %s: %s; check that "
			  "its directory exists and is writable", path, strerror(errno));
		return -1;
	}
	randombytes_buf(ks->key, KEYSTORE_KEY_BYTES);
	if (write_all(fd, ks->key, KEYSTORE_KEY_BYTES) < 0 || fsync(fd) != 0) {
		error_set(err, "instance_key", "cannot write instance key file %s: %s", path,
			  strerror(errno));
		close(fd);
		unlink(path); /* a short file would be refused on the next start */
		return -1;
	}
	if (close(fd) != 0 || fsync_parent_dir(path) != 0) {
		error_set(err, "instance_key", "cannot sync instance key file %s: %s", path,
			  strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Check what fd refers to before trusting it as a key file. */
static int check_key_file(int fd, const char *path, struct error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		error_set(err, "instance_key", "cannot stat instance key file %s: %s", path,
			  strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(err, "instance_key", "instance key file %s is not a regular file; "
			  "point it at the 32-byte key file postern created", path);
		return -1;
	}
	if (st.st_mode & 077) {
		error_set(err, "instance_key", "instance key file %s is readable by group or "
			  "others (mode %04o); run: chmod 600 %s", path,
			  (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_size != KEYSTORE_KEY_BYTES) {
		error_set(err, "instance_key", "instance key file %s has %lld bytes, expected %d: "
			  "it is not a postern instance key", path, (long long)st.st_size,
			  KEYSTORE_KEY_BYTES);
		return -1;
	}
	return 0;
}

static void open_failed(const char *path, int create, struct error *err)
{
	if (errno == ENOENT && !create)
		error_set(err, "instance_key", "instance key file %s does not exist; restore it "
			  "from backup (the database's private keys cannot be opened without it)",
			  path);
	else if (errno == ELOOP)
		error_set(err, "instance_key", "instance key file %s is a symbolic link; "
			  "point the configuration at the real file", path);
	else
		error_set(err, "instance_key", "cannot open instance key file %s: %s", path,
			  strerror(errno));
}

/* Load an existing key file into ks. Returns 0, 1 when the file does not
 * exist (errno ENOENT), or -1 with err filled. */
static int load_key_file(const char *path, int create, struct keystore *ks, struct error *err)
{
	/* O_NONBLOCK: a FIFO planted at path must not hang the start. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 && errno == ENOENT && create)
		return 1;
	if (fd < 0) {
		open_failed(path, create, err);
		return -1;
	}
	if (check_key_file(fd, path, err) < 0) {
		rc = -1;
	} else if (read_all(fd, ks->key, KEYSTORE_KEY_BYTES) < 0) {
		error_set(err, "instance_key", "cannot read instance key file %s: %s", path,
			  errno ? strerror(errno) : "file shrank while reading");
		rc = -1;
	}
	close(fd);
	return rc;
}

struct keystore *keystore_open(const char *path, int create, struct error *err)
{
	struct keystore *ks = keystore_alloc();
	int rc, tries;

	if (ks == NULL) {
		error_set(err, "instance_key", "out of memory while loading the instance key");
		return NULL;
	}
	/* Two rounds: a racing process may create the file between our open
	 * and our O_EXCL create; then the second round reads its key. */
	for (tries = 0; tries < 2; tries++) {
		rc = load_key_file(path, create, ks, err);
		if (rc == 1)
			rc = create_key_file(path, ks, err);
		if (rc != 1)
			break;
	}
	if (rc != 0) {
		if (rc == 1)
			error_set(err, "instance_key", "instance key file %s keeps appearing and "
				  "disappearing; is another postern starting?", path);
		sodium_free(ks);
		return NULL;
	}
	ks = keystore_lock(ks);
	if (ks == NULL)
		error_set(err, "instance_key", "cannot protect the instance key in memory: %s",
			  strerror(errno));
	return ks;
}

/* The associated data is the version byte followed by the caller's string;
 * returns a malloc'd buffer or NULL. */
static unsigned char *build_ad(const char *ad, size_t *ad_len)
{
	size_t n = strlen(ad);
	unsigned char *buf = malloc(n + 1);

	if (buf == NULL)
		return NULL;
	buf[0] = SEAL_VERSION;
	memcpy(buf + 1, ad, n);
	*ad_len = n + 1;
	return buf;
}

int keystore_seal(const struct keystore *ks, const unsigned char *pt, size_t pt_len,
		  const char *ad, unsigned char **out, size_t *out_len)
{
	unsigned char *buf, *full_ad;
	size_t ad_len;

	*out = NULL;
	*out_len = 0;
	if (ks == NULL || ad == NULL || (pt == NULL && pt_len > 0) ||
	    pt_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    pt_len > SIZE_MAX - SEAL_OVERHEAD)
		return -1;
	full_ad = build_ad(ad, &ad_len);
	buf = malloc(pt_len + SEAL_OVERHEAD);
	if (full_ad == NULL || buf == NULL) {
		free(full_ad);
		free(buf);
		return -1;
	}
	buf[0] = SEAL_VERSION;
	randombytes_buf(buf + 1, SEAL_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + 1 + SEAL_NONCE_BYTES, NULL, pt, pt_len,
						   full_ad, ad_len, NULL, buf + 1, ks->key);
	free(full_ad);
	*out = buf;
	*out_len = pt_len + SEAL_OVERHEAD;
	return 0;
}

int keystore_unseal(const struct keystore *ks, const unsigned char *sealed, size_t sealed_len,
		    const char *ad, unsigned char **pt, size_t *pt_len)
{
	const unsigned char *nonce;
	unsigned char *buf, *full_ad;
	size_t ad_len, n;
	int rc;

	*pt = NULL;
	*pt_len = 0;
	if (ks == NULL || ad == NULL || sealed == NULL || sealed_len < SEAL_OVERHEAD ||
	    sealed[0] != SEAL_VERSION)
		return -1;
	nonce = sealed + 1;
	n = sealed_len - SEAL_OVERHEAD;
	full_ad = build_ad(ad, &ad_len);
	buf = malloc(n > 0 ? n : 1); /* malloc(0) may return NULL */
	if (full_ad == NULL || buf == NULL) {
		free(full_ad);
		free(buf);
		return -1;
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(buf, NULL, NULL, nonce + SEAL_NONCE_BYTES,
							sealed_len - 1 - SEAL_NONCE_BYTES,
							full_ad, ad_len, nonce, ks->key);
	free(full_ad);
	if (rc != 0) {
		secret_free(buf, n);
		return -1;
	}
	*pt = buf;
	*pt_len = n;
	return 0;
}

void keystore_new_uid(char out[33])
{
	unsigned char raw[UID_BYTES];

	if (sodium_ready() < 0)
		abort(); /* no random source: nothing safe to hand out */
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, 33, raw, sizeof(raw));
}
