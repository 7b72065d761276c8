/* The config file (SPEC section 2): INI sections, "key = value", "#"
 * comments. Unknown sections, unknown keys, repeated keys and bad values
 * are errors naming the file, line and key. Process-level settings only. */
#ifndef POSTERN_GATEWAY_CONFIG_FILE_H
#define POSTERN_GATEWAY_CONFIG_FILE_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/error.h"

/* A listen address as written ("0.0.0.0:8080", "[::1]:9443") and parsed. */
struct config_listen {
	char text[128];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int is_loopback; /* 127.0.0.0/8 or ::1 */
};

enum config_log_format {
	CONFIG_LOG_COMBINED,
	CONFIG_LOG_JSON,
	CONFIG_LOG_FORMAT_MAX
};

struct config {
	char *path; /* the file read */

	/* [gateway] */
	struct config_listen http_listen;   /* default 0.0.0.0:8080 */
	struct config_listen https_listen;  /* default 0.0.0.0:8443 */
	int workers;                        /* 0 = auto (number of cores) */
	char *default_certificate;          /* "" = refuse unknown SNI */
	unsigned header_timeout_ms;         /* 10s */
	unsigned idle_timeout_ms;           /* 60s */
	unsigned backend_connect_timeout_ms;/* 5s */
	unsigned backend_timeout_ms;        /* 60s */
	unsigned drain_timeout_ms;          /* 30s */
	char **trusted_proxies;             /* CIDR strings, validated; n below */
	size_t n_trusted_proxies;
	size_t waf_body_limit;              /* 64 KiB */

	/* [admin] */
	struct config_listen admin_listen;  /* 127.0.0.1:9443 */
	int admin_tls;                      /* 1 = on */

	/* [storage] */
	char *data_dir;                     /* "var"; relative = to the working directory */
	unsigned event_retention_s;         /* 30d */

	/* [acme] */
	char *acme_directory_url;           /* Let's Encrypt production */
	char *acme_email;                   /* "" */
	char *acme_ca_bundle;               /* "" */
	char *acme_resolver;                /* "" = system; else host:port */

	/* [log] */
	char *access_log;                   /* "-" = stderr, "" = off, else a path */
	enum config_log_format access_log_format; /* combined */
	char *error_log;                    /* "-" */
	char *log_level;                    /* "info" */
};

/* Fill cfg with the defaults above (all strings malloc'd). Returns 0 or -1
 * when out of memory. */
int config_defaults(struct config *cfg);

/* Read and parse the file at path on top of the defaults. Returns 0, or
 * -1 with err->code "config" and a message "FILE:LINE: ..." naming the
 * key. On failure cfg holds nothing to free. */
int config_load(const char *path, struct config *cfg, struct error *err);

/* Parse text (len bytes, need not be NUL-terminated) as if read from a file
 * called name. Same contract as config_load. */
int config_parse(const char *text, size_t len, const char *name, struct config *cfg,
		 struct error *err);

/* Release everything cfg owns and zero it. */
void config_free(struct config *cfg);

/* Exchange the trusted_proxies lists of a and b (SIGHUP reload: the old
 * list is freed with b). */
void config_swap_trusted_proxies(struct config *a, struct config *b);

/* Parse "10s", "500ms", "5m", "2h", "30d" or a bare number of seconds into
 * milliseconds. Returns 0 or -1. */
int config_parse_duration(const char *text, unsigned long long *ms);

/* Parse "host:port" / "[v6]:port" into out. Returns 0 or -1. */
int config_parse_listen(const char *text, struct config_listen *out);

#endif
