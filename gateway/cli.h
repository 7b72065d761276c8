/* The operators' command line (SPEC section 1): cert, app and user
 * commands working on the same database as the daemon. */
#ifndef POSTERN_GATEWAY_CLI_H
#define POSTERN_GATEWAY_CLI_H

/* Run the command in argv[0..argc) (e.g. "cert", "list", "--json") against
 * the instance of config_path. Prints results on stdout and errors on
 * stderr as "postern: error CODE: MESSAGE" (and the API's error object on
 * stdout with --json). Returns the exit status: 0 ok, 1 failed, 2 usage. */
int cli_run(const char *config_path, int argc, char **argv);

/* Print the commands' usage to f (a FILE *). */
void cli_usage(void *f);

#endif
