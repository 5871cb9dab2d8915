/* The CLI's connection to isol8d: --host, or the local daemon (started on demand). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/address.h"
#include "cli/autostart.h"
#include "cli/cli.h"
#include "cli/run_args.h"
#include "cli/output.h"
#include "base/util.h"

/* How long a daemon that answers may take to complete the gRPC handshake. */
#define READY_MS 5000
#define LOG_TAIL_LINES 15

/* Connects; a failure is printed (libisol8's message names the target)
 * and is ISOL8_CLI_EXIT_ERROR. */
static int open_client(struct isol8_client **out, const char *target, const char *key, const char *tls_ca)
{
	struct isol8_client_options opts = {
		.target = target, .api_key = key, .tls_ca = tls_ca, .connect_timeout_ms = READY_MS};
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_client_new(out, &opts, &err) < 0)
		return isol8_cli_fail(&err);
	return 0;
}

static int open_remote(struct isol8_client **out, const struct isol8_cli_conn *conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *tls_ca = NULL;
	char target[512];
	bool tls;

	if (isol8_cli_host_target(conn->host, target, sizeof(target), &tls, &err) < 0)
		return isol8_cli_fail(&err);
	if (tls) {
		tls_ca = getenv("ISOL8_TLS_CA");
		if (tls_ca == NULL || tls_ca[0] == '\0') {
			isol8_cli_say("--host %s: https needs ISOL8_TLS_CA, the PEM file of the CA "
				      "to trust",
				      conn->host);
			return ISOL8_CLI_EXIT_ERROR;
		}
	}
	if (conn->debug)
		isol8_cli_log(ISOL8_CLI_DEBUG, "connecting to %s%s", target, tls ? " (TLS)" : "");
	/* --key, else $ISOL8_API_KEY; an empty key is no key */
	const char *key = conn->key ? conn->key : getenv("ISOL8_API_KEY");
	if (key != NULL && key[0] == '\0')
		key = NULL;
	return open_client(out, target, key, tls_ca);
}

static int open_local(struct isol8_client **out, const struct isol8_cli_conn *conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_cli_daemon_status status;
	char path[ISOL8_CLI_SOCKET_PATH_MAX + 1];
	char target[ISOL8_CLI_SOCKET_PATH_MAX + 8];
	bool private_dir;

	if (isol8_cli_socket_path(path, sizeof(path), getuid(), getenv("ISOL8_SOCKET"),
				  getenv("XDG_RUNTIME_DIR"), &private_dir, &err) < 0)
		return isol8_cli_fail(&err);
	if (isol8_cli_daemon_ensure(path, private_dir, &status, &err) < 0) {
		isol8_cli_fail(&err);
		if (status.started)
			isol8_cli_daemon_log_tail(status.log_path, LOG_TAIL_LINES);
		return ISOL8_CLI_EXIT_ERROR;
	}
	if (conn->debug)
		isol8_cli_log(ISOL8_CLI_DEBUG, "connecting to unix:%s%s", path,
			      status.started ? " (started isol8d)" : "");
	snprintf(target, sizeof(target), "unix:%s", path);
	if (open_client(out, target, NULL, NULL) != 0) {
		if (status.started)
			isol8_cli_daemon_log_tail(status.log_path, LOG_TAIL_LINES);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return 0;
}

int isol8_cli_open(struct isol8_client **out, const struct isol8_cli_conn *conn)
{
	*out = NULL;
	if (conn->host != NULL)
		return open_remote(out, conn);
	return open_local(out, conn);
}

/* The local daemon's socket path, or "" when it cannot be worked out. */
void isol8_cli_local_socket(char *path, size_t size)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool private_dir;

	if (isol8_cli_socket_path(path, size, getuid(), getenv("ISOL8_SOCKET"),
				  getenv("XDG_RUNTIME_DIR"), &private_dir, &err) < 0)
		path[0] = '\0';
}

void isol8_cli_daemon_log_path(char *buf, size_t size)
{
	char path[ISOL8_CLI_SOCKET_PATH_MAX + 1];
	char *slash;

	buf[0] = '\0';
	isol8_cli_local_socket(path, sizeof(path));
	slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if (snprintf(buf, size, "%s/isol8d.log", path) >= (int)size || access(buf, R_OK) != 0)
		buf[0] = '\0';
}

bool isol8_cli_daemon_running(void)
{
	char path[ISOL8_CLI_SOCKET_PATH_MAX + 1];

	isol8_cli_local_socket(path, sizeof(path));
	return isol8_cli_socket_answers(path);
}

bool isol8_cli_socket_answers(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int ret;

	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path))
		return false;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	do
		ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (ret < 0 && errno == EINTR);
	return ret == 0;
}

/* "options.memory_limit: ..." -> "--memory: options.memory_limit: ...":
 * the daemon names the request field, the user gave a flag. */
static void name_the_flag(const struct isol8_error *in, struct isol8_error *out)
{
	const char *flag = isol8_cli_run_flag_of(in->message);
	int len;

	*out = *in;
	if (flag == NULL)
		return;
	/* the flag first; the field's text cut if it must be */
	len = snprintf(out->message, sizeof(out->message), "--%s: ", flag);
	snprintf(out->message + len, sizeof(out->message) - (size_t)len, "%.*s",
		 (int)(sizeof(out->message) - (size_t)len - 1), in->message);
}

int isol8_cli_call_failed(const struct isol8_error *err, const struct isol8_cli_conn *conn)
{
	char log[PATH_MAX];

	if (!isol8_cli_error_is_disconnect(err)) {
		struct isol8_error named;
		name_the_flag(err, &named);
		return isol8_cli_fail(&named);
	}
	if (conn->host != NULL) {
		isol8_cli_say("the isol8d at %s stopped during the call (%s); see its log on that "
			      "machine",
			      conn->host, err->message);
		return ISOL8_CLI_EXIT_ERROR;
	}
	isol8_cli_daemon_log_path(log, sizeof(log));
	if (log[0] != '\0')
		isol8_cli_say("isol8d stopped during the call (%s); its log: %s", err->message, log);
	else
		isol8_cli_say("isol8d stopped during the call (%s); see the log of the isol8d you "
			      "started (its stderr, or journalctl -u isol8d)",
			      err->message);
	return ISOL8_CLI_EXIT_ERROR;
}

int isol8_cli_parse_conn_only(struct isol8_cli_conn *conn, bool *help, int argc, char **argv, const char *verb,
			      bool positional, struct isol8_error *err)
{
	static const struct option longopts[] = {
		ISOL8_CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, verb, err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			*help = true;
		else
			isol8_cli_conn_option(conn, c, optarg);
	}
	if (!positional && optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}
