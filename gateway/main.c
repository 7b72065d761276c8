/* postern: entry point. "postern -c FILE" runs the daemon in the
 * foreground; "postern -c FILE COMMAND ..." runs an operator command. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>
#include <sodium.h>

#include "gateway/cli.h"
#include "gateway/daemon.h"

static void usage(FILE *f)
{
	fputs("usage: postern -c FILE                run the gateway in the foreground\n"
	      "       postern -c FILE COMMAND ...    manage certificates, applications, users\n"
	      "       postern --version | --help\n\n",
	      f);
	cli_usage(f);
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int i = 1;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("postern %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		config_path = argv[2];
		i = 3;
	}
	if (config_path == NULL) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("postern: libsodium failed to initialise\n", stderr);
		return 1;
	}
	OPENSSL_init_ssl(0, NULL);
	if (i < argc)
		return cli_run(config_path, argc - i, argv + i);
	return daemon_run(config_path);
}
