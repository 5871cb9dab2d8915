/*
 * `isol8 run -i` / `-t` and `isol8 shell`: one ExecuteInteractive call. This
 * thread reads the events; an input thread sends what comes on stdin as it
 * comes, its EOF as stdin_eof, SIGINT as "SIGINT" (a second one within a
 * second as "SIGKILL") and, with a tty, the window size at the start and at
 * each SIGWINCH. With a tty the terminal is in raw mode for the call and
 * restored on every way out: the end, an error, SIGTERM, SIGHUP, SIGQUIT.
 */
#ifndef ISOL8_CLI_INTERACTIVE_H
#define ISOL8_CLI_INTERACTIVE_H

#include <stdbool.h>

#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"
#include "rpc/rpc.h"

/* Called on the calling thread for each event; negative stops the call. */
typedef int (*isol8_cli_event_fn)(void *userdata, Isol8__V1__ExecuteEvent *ev, struct isol8_error *err);

/* Runs req (its tty field says whether on a terminal) and returns once the
 * stream ended: 0 after its OK status, else the call's error. */
int isol8_cli_interactive(struct isol8_rpc_channel *ch, Isol8__V1__ExecuteRequest *req, int deadline_ms,
			  isol8_cli_event_fn on_event, void *userdata, struct isol8_error *err);

#endif
