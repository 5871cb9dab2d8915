/*
 * What the CLI prints and how it exits.
 *
 * Exit statuses, as the original's CLI: the program's exit code; 128+N when
 * signal N ended it; 137 when it ran past its timeout or was OOM-killed; 1
 * for isol8's own errors (bad flags, missing file, unreachable daemon,
 * missing images, any RPC error), with the message on stderr.
 *
 * Messages go to stderr as the original words them: "[INFO] ...",
 * "[WARN] ...", "[ERR] ...", "[DONE] ..." and, with --debug, "[DEBUG] ...".
 */
#ifndef ISOL8_CLI_OUTPUT_H
#define ISOL8_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"
#include "isol8/isol8.h"

#define ISOL8_CLI_EXIT_TIMEOUT 137
#define ISOL8_CLI_EXIT_ERROR 1
#define ISOL8_CLI_EXIT_SIGNAL_BASE 128

enum isol8_cli_level {
	ISOL8_CLI_INFO,
	ISOL8_CLI_WARN,
	ISOL8_CLI_ERR,
	ISOL8_CLI_DONE,
	ISOL8_CLI_DEBUG,
};

/* "[INFO]", "[WARN]", "[ERR]", "[DONE]" or "[DEBUG]". */
const char *isol8_cli_level_tag(enum isol8_cli_level level);

/* Prints "<tag> <formatted>" on stderr (stdout flushed first). */
void isol8_cli_log(enum isol8_cli_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints "[ERR] <message>" on stderr and returns ISOL8_CLI_EXIT_ERROR. */
int isol8_cli_fail(const struct isol8_error *err);

/* Prints "[ERR] <formatted>" on stderr. */
void isol8_cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when a call's error says the connection to the daemon went away
 * during the call: gRPC's own texts ("Socket closed", "Cancelling all
 * calls", "Connection reset", ...) with UNAVAILABLE, CANCELLED or
 * UNKNOWN/INTERNAL. */
bool isol8_cli_error_is_disconnect(const struct isol8_error *err);

/* The CLI's exit status for a finished execution. */
int isol8_cli_exit_status(const struct isol8_result *res);

/* Ends the process with status once the result is out: stdio flushed, and
 * the gRPC core's teardown (joining its threads: a few ms) left to the
 * kernel. Under AddressSanitizer it returns, so the normal exit runs and
 * leaks are still checked. */
void isol8_cli_quick_exit(int status);

/* Prints what a finished result says beyond its output on stderr:
 * "[WARN] Output was truncated", and "[ERR] EXECUTION TIMED OUT" or
 * "[ERR] OUT OF MEMORY" unless the daemon already said so (saw_error: a
 * stream `error` event came; else stderr is searched for the marker). */
void isol8_cli_result_notes(const struct isol8_result *res, bool saw_error);

/* One network log entry as the original prints it: a JSON object
 * {"timestamp","method","host","path" (null for CONNECT),"action"
 * ("ALLOW"/"BLOCK"),"durationMs"} on one line (malloc'd; NULL when out of
 * memory). */
char *isol8_cli_network_log_json(const struct isol8_network_log *l);

/* A result's network logs (--log-network) on stderr, after the output:
 * "\n--- Network Logs ---", then one JSON line per entry. Nothing without. */
void isol8_cli_network_logs(const struct isol8_result *res);

/* One line for a setup event, without newline, in the original's words:
 * "[..] isol8:python: Step 3/7 : RUN ...", "[OK] isol8:python: Up to date",
 * "[OK] isol8:python: Built", "[ERR] isol8:python: <why>"; "" for the
 * end event. */
void isol8_cli_setup_line(const struct isol8_setup_event *ev, char *buf, size_t size);

/* Writes all of data to fd (write(2), unbuffered), retrying EINTR. */
int isol8_cli_write(int fd, const char *name, const void *data, size_t len,
		    struct isol8_error *err);

#endif
