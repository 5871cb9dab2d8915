/*
 * What the CLI prints and how it exits.
 *
 * Exit statuses of `isol8 run`: the program's exit code; 128+N when signal N
 * ended it; 124 when it ran past its timeout; 125 for isol8's own errors
 * (bad flags, unreachable daemon, RPC errors), so they do not collide with
 * the program's codes.
 */
#ifndef ISOL8_CLI_OUTPUT_H
#define ISOL8_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"
#include "isol8/v1/admin.pb-c.h"
#include "isol8/v1/isol8.pb-c.h"

#define ISOL8_CLI_EXIT_TIMEOUT 124
#define ISOL8_CLI_EXIT_ERROR 125
#define ISOL8_CLI_EXIT_SIGNAL_BASE 128

/* Prints "isol8: <message>" on stderr and returns ISOL8_CLI_EXIT_ERROR. */
int isol8_cli_fail(const struct isol8_error *err);

/* Prints "isol8: <formatted>" on stderr. */
void isol8_cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The CLI's exit status for a finished execution. */
int isol8_cli_exit_status(const Isol8__V1__ExecuteResult *res);

/* Ends the process with status once the result is out: stdio flushed, and
 * the gRPC core's teardown (joining its threads: a few ms) left to the
 * kernel. Under AddressSanitizer it returns, so the normal exit runs and
 * leaks are still checked. */
void isol8_cli_quick_exit(int status);

/* Prints the timeout and truncation notes of a result on stderr. */
void isol8_cli_result_notes(const Isol8__V1__ExecuteResult *res, int64_t timeout_ms,
			    int64_t max_output);

/* One line for a setup event, without newline:
 * "isol8:python  building  Step 3/7 : RUN ..." */
void isol8_cli_setup_line(const Isol8__V1__SetupEvent *ev, char *buf, size_t size);

/* Writes all of data to fd (write(2), unbuffered), retrying EINTR. */
int isol8_cli_write(int fd, const char *name, const void *data, size_t len,
		    struct isol8_error *err);

#endif
