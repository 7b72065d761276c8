/* One postern instance on disk: its config, data directory, database and
 * instance key, opened together. The daemon and every CLI command start
 * here, so first-start initialisation happens in exactly one place. */
#ifndef POSTERN_GATEWAY_INSTANCE_H
#define POSTERN_GATEWAY_INSTANCE_H

#include "common/error.h"
#include "crypto/keystore.h"
#include "gateway/config_file.h"
#include "gateway/store.h"

struct instance {
	struct config cfg;
	struct store *store;
	struct keystore *keys;
	char *db_path;  /* <data_dir>/postern.db */
	char *key_path; /* <data_dir>/instance.key */
};

/* Load the config at config_path and open the instance, creating what is
 * missing (SPEC section 1): the data directory (0700), the database with
 * its migrations, the instance key (0600) and the "admin" user, whose
 * password comes from POSTERN_ADMIN_PASSWORD or is generated, printed once
 * on stderr and saved to <data_dir>/initial-admin-password (0600).
 * Refuses, with err code "instance_key", a missing or wrong instance key
 * for an existing database. Returns 0, or -1 with err; on failure inst
 * holds nothing to close. */
int instance_open(const char *config_path, struct instance *inst, struct error *err);

/* Close everything inst holds (the key is wiped) and zero it. */
void instance_close(struct instance *inst);

#endif
