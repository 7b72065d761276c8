/* Automatic certificates for applications (the CNAME flow): every domain
 * of an application with auto_certificate that no usable certificate
 * covers gets an ACME record, which the client then checks (pre-flight),
 * orders, installs and renews. */
#ifndef POSTERN_ACME_AUTOCERT_H
#define POSTERN_ACME_AUTOCERT_H

#include <stddef.h>
#include <time.h>

#include "gateway/instance.h"
#include "gateway/store.h"

/* Create the missing ACME records for the applications in the database,
 * given every certificate record (recs, n). Wildcard domains are skipped
 * (HTTP-01 cannot validate them). Returns the number of records created
 * (0 on errors, which are logged). */
int acme_autocert_scan(struct instance *inst, const struct store_cert *recs, size_t n);

/* 1 when name needs no new record: an ACME record already has it (as its
 * domain or an extra name), or a certificate valid at now covers it. */
int acme_autocert_covered(const char *name, const struct store_cert *recs, size_t n, time_t now);

#endif
