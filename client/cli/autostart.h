/*
 * Starting the local isol8d on demand.
 *
 * isol8_cli_daemon_ensure makes sure something answers on the daemon's unix
 * socket: if nothing does, it starts `isol8d --socket PATH --idle-exit SECS`
 * detached (own session, stdin /dev/null, output to isol8d.log beside the
 * socket) and waits for the socket to answer. An flock on
 * "<socket dir>/isol8d.lock" is held while checking, starting and waiting,
 * so CLIs racing end with one daemon: the loser finds it answering.
 *
 * isol8d is looked for at $ISOL8D, beside this executable's real path, in
 * the build tree (../../server/daemon/ from the CLI, or ISOL8D_BUILD_PATH), then
 * on PATH. ISOL8_IDLE_EXIT (seconds) overrides the 900 s idle exit.
 */
#ifndef ISOL8_CLI_AUTOSTART_H
#define ISOL8_CLI_AUTOSTART_H

#include <limits.h>
#include <stdbool.h>

#include "isol8/error.h"

#define ISOL8_CLI_IDLE_EXIT_DEFAULT 900
#define ISOL8_CLI_START_WAIT_MS 15000

struct isol8_cli_daemon_status {
	bool started;             /* this call started a daemon */
	char log_path[PATH_MAX];  /* its log, when started */
};

/* private_dir: the socket directory is ours alone (created 0700, must be
 * owned by us and writable by nobody else). */
int isol8_cli_daemon_ensure(const char *socket_path, bool private_dir,
			    struct isol8_cli_daemon_status *status, struct isol8_error *err);

/* Prints the last lines of the daemon log on stderr. */
void isol8_cli_daemon_log_tail(const char *log_path, int lines);

#endif
