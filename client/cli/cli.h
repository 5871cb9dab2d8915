/*
 * The isol8 CLI's verbs and its connection to isol8d through libisol8 (the
 * executable's own header; the parts without a daemon are in
 * isol8_cli_core's headers).
 *
 * Each verb is `int isol8_cli_VERB_main(int argc, char **argv)` with argv[0]
 * the verb; it returns the process exit status and prints its own messages.
 */
#ifndef ISOL8_CLI_H
#define ISOL8_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "isol8/isol8.h"

int isol8_cli_run_main(int argc, char **argv);
int isol8_cli_shell_main(int argc, char **argv);
int isol8_cli_setup_main(int argc, char **argv);
int isol8_cli_cleanup_main(int argc, char **argv);
int isol8_cli_info_main(int argc, char **argv);
int isol8_cli_config_main(int argc, char **argv);
int isol8_cli_cp_main(int argc, char **argv);
int isol8_cli_session_main(int argc, char **argv);
int isol8_cli_mcp_main(int argc, char **argv);
int isol8_cli_serve_main(int argc, char **argv);

void isol8_cli_setup_usage(FILE *out);
void isol8_cli_cleanup_usage(FILE *out);
void isol8_cli_info_usage(FILE *out);
void isol8_cli_config_usage(FILE *out);
void isol8_cli_cp_usage(FILE *out);
void isol8_cli_session_usage(FILE *out);
void isol8_cli_mcp_usage(FILE *out);
void isol8_cli_serve_usage(FILE *out);

/* Where to connect: --host (NULL = the local daemon, started on demand) and
 * the API key sent with --host. */
struct isol8_cli_conn {
	const char *host;
	const char *key;
	bool debug;
};

/* Connects to isol8d. On failure prints why (with the daemon log's last
 * lines when a daemon it started did not come up) and returns
 * ISOL8_CLI_EXIT_ERROR; 0 with *out set on success. */
int isol8_cli_open(struct isol8_client **out, const struct isol8_cli_conn *conn);

/* Prints a failed call's error as "[ERR] ..." and returns
 * ISOL8_CLI_EXIT_ERROR. An error that says the connection went away during
 * the call (the daemon stopped or drained) says so and where the daemon's
 * log is; other errors print their message (which names the field). */
int isol8_cli_call_failed(const struct isol8_error *err, const struct isol8_cli_conn *conn);

/* Where the local daemon's log is (beside its socket, where the CLI's
 * auto-started daemon writes it), or "" when that file does not exist. */
void isol8_cli_daemon_log_path(char *buf, size_t size);

/* Whether a local daemon answers on its socket now (without starting one). */
bool isol8_cli_daemon_running(void);

/* Whether something accepts connections on the unix socket at path. */
bool isol8_cli_socket_answers(const char *path);

/* The local daemon's socket path ("" if it cannot be worked out). */
void isol8_cli_local_socket(char *path, size_t size);

/* Help lines for --host and --key, shared by the verbs that connect. */
#define ISOL8_CLI_CONN_HELP                                                                        \
	"  --host HOST:PORT   remote isol8d (also http://HOST:PORT, unix:/PATH;\n"               \
	"                     default: the local daemon, started when none answers)\n"            \
	"  --key KEY          API key for --host (default $ISOL8_API_KEY)\n"

/* getopt codes of --host and --key: verbs number their own options from 256. */
enum { ISOL8_CLI_OPT_HOST = 200, ISOL8_CLI_OPT_KEY };

/* The --host and --key entries of a verb's struct option table. */
#define ISOL8_CLI_CONN_OPTIONS                                                                     \
	{"host", required_argument, NULL, ISOL8_CLI_OPT_HOST},                                     \
	{                                                                                          \
		"key", required_argument, NULL, ISOL8_CLI_OPT_KEY                                  \
	}

/* Takes --host or --key into conn; true when opt was one of them. */
static inline bool isol8_cli_conn_option(struct isol8_cli_conn *conn, int opt, const char *arg)
{
	if (opt == ISOL8_CLI_OPT_HOST)
		conn->host = arg;
	else if (opt == ISOL8_CLI_OPT_KEY)
		conn->key = arg;
	else
		return false;
	return true;
}

/* Parses the flags of a verb that takes only --host, --key and --help;
 * with positional, arguments are left from optind on, else one is an
 * error. */
int isol8_cli_parse_conn_only(struct isol8_cli_conn *conn, bool *help, int argc, char **argv, const char *verb,
			      bool positional, struct isol8_error *err);

/* libisol8's handles and results, freed on scope exit. */
static inline void isol8_cli_client_freep(struct isol8_client **c)
{
	if (*c != NULL)
		isol8_client_free(*c);
}

static inline void isol8_cli_result_freep(struct isol8_result **res)
{
	if (*res != NULL)
		isol8_result_free(*res);
}

static inline void isol8_cli_stream_freep(struct isol8_stream **st)
{
	if (*st != NULL)
		isol8_stream_free(*st);
}

#define _cleanup_client_ __attribute__((cleanup(isol8_cli_client_freep)))
#define _cleanup_result_ __attribute__((cleanup(isol8_cli_result_freep)))
#define _cleanup_stream_ __attribute__((cleanup(isol8_cli_stream_freep)))

#endif
