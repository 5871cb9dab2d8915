/*
 * `isol8 run -i` / `-t` and `isol8 shell`: the terminal's side of an
 * interactive stream (isol8_interactive_open). The caller's thread reads the
 * events; an input thread sends what comes on stdin as it comes, its EOF as
 * the end of stdin, SIGINT as "SIGINT" (a second one within a second as
 * "SIGKILL") and, with a tty, the window size at the start and at each
 * SIGWINCH. With a tty the terminal is in raw mode between start and stop,
 * and restored on every way out: the end, an error, SIGTERM, SIGHUP, SIGQUIT.
 */
#ifndef ISOL8_CLI_INTERACTIVE_H
#define ISOL8_CLI_INTERACTIVE_H

#include <stdbool.h>

#include "isol8/error.h"
#include "isol8/isol8.h"

struct isol8_cli_input;

/* Starts feeding st (an interactive stream, which must outlive the input)
 * from the terminal. *out is set even when it fails: stop it either way. */
int isol8_cli_input_start(struct isol8_cli_input **out, struct isol8_stream *st, bool tty, struct isol8_error *err);

/* Stops the input thread (cancelling st, a no-op once it ended), restores
 * the terminal and the signals, and frees in. NULL is allowed. */
void isol8_cli_input_stop(struct isol8_cli_input *in);

#endif
