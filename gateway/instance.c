#include "gateway/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/password.h"
#include "crypto/secret.h"

#define KEY_CHECK_SETTING "instance.key_check"
#define KEY_CHECK_AD "postern:instance-key-check"
#define KEY_CHECK_TEXT "postern instance key check v1"
#define INITIAL_PASSWORD_FILE "initial-admin-password"

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* mkdir -p with mode 0700 for the directories we create. */
static int make_dirs(const char *path, struct error *err)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		error_set(err, "config", "data_dir '%s' is not a usable path", path);
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			error_set(err, "data_dir", "cannot create data directory %s: %s", buf,
				  strerror(errno));
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

/* A sealed constant proves the instance key is the one the database was
 * made with, before any real key is touched. */
static int check_instance_key(struct instance *inst, struct error *err)
{
	unsigned char *val = NULL, *pt = NULL;
	size_t len = 0, pt_len = 0;
	int found = store_setting_get(inst->store, KEY_CHECK_SETTING, &val, &len, err);

	if (found < 0)
		return -1;
	if (found == 0) {
		unsigned char *sealed = NULL;
		size_t sealed_len = 0;
		int rc;

		if (keystore_seal(inst->keys, (const unsigned char *)KEY_CHECK_TEXT,
				  strlen(KEY_CHECK_TEXT), KEY_CHECK_AD, &sealed, &sealed_len) != 0) {
			error_set(err, "instance_key", "cannot seal with the instance key");
			return -1;
		}
		rc = store_setting_set(inst->store, KEY_CHECK_SETTING, sealed, sealed_len, err);
		free(sealed);
		return rc;
	}
	if (keystore_unseal(inst->keys, val, len, KEY_CHECK_AD, &pt, &pt_len) != 0) {
		free(val);
		error_set(err, "instance_key",
			  "the instance key %s does not match the database %s (it was made with "
			  "another key); restore the instance key that belongs to this database",
			  inst->key_path, inst->db_path);
		return -1;
	}
	secret_free(pt, pt_len);
	free(val);
	return 0;
}

static int write_secret_file(const char *path, const char *text, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t n = strlen(text);

	if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, text, n) != (ssize_t)n ||
	    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		error_set(err, "data_dir", "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int create_admin_user(struct instance *inst, struct error *err)
{
	const struct store_actor who = { "system", "first-start" };
	const char *env = getenv("POSTERN_ADMIN_PASSWORD");
	char generated[21];
	char hash[PASSWORD_HASH_MAX];
	const char *pw = env;
	int rc;

	if (pw == NULL || pw[0] == '\0') {
		password_generate(generated, sizeof(generated));
		pw = generated;
	}
	if (password_hash(pw, hash) != 0) {
		error_set(err, "internal", "cannot hash the admin password (out of memory)");
		return -1;
	}
	rc = store_user_create(inst->store, "admin", hash, &who, err);
	if (rc == 0 && pw == generated) {
		char *path = join_path(inst->cfg.data_dir, INITIAL_PASSWORD_FILE);

		rc = path ? write_secret_file(path, generated, err) : -1;
		if (rc == 0)
			fprintf(stderr,
				"postern: created user 'admin' with password: %s\n"
				"postern: (saved in %s, mode 0600; change it with "
				"'postern -c FILE user passwd admin')\n",
				generated, path);
		free(path);
	}
	secret_wipe(generated, sizeof(generated));
	secret_wipe(hash, sizeof(hash));
	return rc;
}

static int ensure_admin_user(struct instance *inst, struct error *err)
{
	long long n = 0;

	if (store_user_count(inst->store, &n, err) != 0)
		return -1;
	return n == 0 ? create_admin_user(inst, err) : 0;
}

static int open_keys(struct instance *inst, int db_existed, struct error *err)
{
	struct stat st;

	if (db_existed && stat(inst->key_path, &st) != 0) {
		error_set(err, "instance_key",
			  "the database %s exists but its instance key %s is missing; restore the key "
			  "file from your backup (without it the stored private keys cannot be "
			  "decrypted)",
			  inst->db_path, inst->key_path);
		return -1;
	}
	inst->keys = keystore_open(inst->key_path, !db_existed, err);
	return inst->keys ? 0 : -1;
}

int instance_open(const char *config_path, struct instance *inst, struct error *err)
{
	struct stat st;
	int db_existed;

	memset(inst, 0, sizeof(*inst));
	if (config_load(config_path, &inst->cfg, err) != 0)
		return -1;
	if (make_dirs(inst->cfg.data_dir, err) != 0)
		goto fail;
	inst->db_path = join_path(inst->cfg.data_dir, "postern.db");
	inst->key_path = join_path(inst->cfg.data_dir, "instance.key");
	if (inst->db_path == NULL || inst->key_path == NULL) {
		error_set(err, "internal", "out of memory");
		goto fail;
	}
	db_existed = stat(inst->db_path, &st) == 0;
	if (open_keys(inst, db_existed, err) != 0)
		goto fail;
	inst->store = store_open(inst->db_path, err);
	if (inst->store == NULL)
		goto fail;
	if (check_instance_key(inst, err) != 0 || ensure_admin_user(inst, err) != 0)
		goto fail;
	return 0;
fail:
	instance_close(inst);
	return -1;
}

void instance_close(struct instance *inst)
{
	if (inst->store != NULL)
		store_close(inst->store);
	keystore_free(inst->keys);
	free(inst->db_path);
	free(inst->key_path);
	config_free(&inst->cfg);
	memset(inst, 0, sizeof(*inst));
}
