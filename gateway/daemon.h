/* The serving daemon: control thread, worker threads, listeners. */
#ifndef POSTERN_GATEWAY_DAEMON_H
#define POSTERN_GATEWAY_DAEMON_H

/* Run the gateway on the config at config_path until SIGTERM/SIGINT.
 * Returns the process exit status. */
int daemon_run(const char *config_path);

#endif
