/* `isol8 session list` and `isol8 session rm NAME...`: the daemon's
 * persistent sessions (created by `isol8 run --session NAME`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/output.h"

void isol8_cli_session_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 session list\n"
		     "       isol8 session rm NAME [NAME...]\n\n"
		     "Persistent sessions: `isol8 run --session NAME` creates one on first use and runs\n"
		     "in it after (files, background processes and interpreter state are kept).\n"
		     "list shows each session; rm destroys sessions and their sandboxes (a name\n"
		     "that does not exist is not an error).\n\n"
		     "Flags:\n" ISOL8_CLI_CONN_HELP "  -h, --help         show this help\n");
}

static void print_idle(int64_t ms, char *buf, size_t size)
{
	if (ms < 60000)
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
	else if (ms < 3600000)
		snprintf(buf, size, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(buf, size, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

static int list_sessions(struct isol8_client *c, const struct isol8_cli_conn *conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_info *list = NULL;
	size_t n = 0;

	if (isol8_list_sessions(c, &list, &n, &err) < 0)
		return isol8_cli_call_failed(&err, conn);
	if (n == 0) {
		printf("no sessions (`isol8 run --session NAME ...` creates one)\n");
		return 0;
	}
	printf("%-24s %-8s %-6s %-8s %-25s %s\n", "NAME", "RUNTIME", "STATE", "IDLE", "CREATED", "CONTAINER");
	for (size_t i = 0; i < n; i++) {
		const struct isol8_session_info *s = &list[i];
		char idle[32];
		print_idle(s->idle_ms, idle, sizeof(idle));
		printf("%-24s %-8s %-6s %-8s %-25s %.12s\n", s->id, s->runtime, s->busy ? "busy" : "idle",
		       s->busy ? "-" : idle, s->created_at, s->container_id);
	}
	isol8_session_infos_free(list, n);
	return 0;
}

static int remove_sessions(struct isol8_client *c, const struct isol8_cli_conn *conn, int n, char **names)
{
	for (int i = 0; i < n; i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		bool existed = false;

		if (isol8_destroy_session(c, names[i], &existed, &err) < 0)
			return isol8_cli_call_failed(&err, conn);
		if (existed)
			printf("removed %s\n", names[i]);
		else
			printf("%s: no such session (nothing to remove)\n", names[i]);
	}
	return 0;
}

int isol8_cli_session_main(int argc, char **argv)
{
	struct isol8_cli_conn conn = {0};
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool help = false;
	const char *action;
	int status;

	if (isol8_cli_parse_conn_only(&conn, &help, argc, argv, "session", true, &err) < 0)
		return isol8_cli_fail(&err);
	if (help) {
		isol8_cli_session_usage(stdout);
		return 0;
	}
	action = optind < argc ? argv[optind] : NULL;
	if (action == NULL || (strcmp(action, "list") != 0 && strcmp(action, "ls") != 0 && strcmp(action, "rm") != 0)) {
		if (action == NULL)
			isol8_error_set(&err, ISOL8_E_INVALID, "session: say list or rm (see `isol8 session --help`)");
		else
			isol8_error_set(&err, ISOL8_E_INVALID, "session: unknown action \"%s\" (list or rm)", action);
		return isol8_cli_fail(&err);
	}
	if (strcmp(action, "rm") == 0 && optind + 1 >= argc) {
		isol8_error_set(&err, ISOL8_E_INVALID, "session rm: name the session(s) to remove");
		return isol8_cli_fail(&err);
	}
	if (strcmp(action, "rm") != 0 && optind + 1 < argc) {
		isol8_error_set(&err, ISOL8_E_INVALID, "session %s: unexpected argument \"%s\"", action, argv[optind + 1]);
		return isol8_cli_fail(&err);
	}
	status = isol8_cli_open(&c, &conn);
	if (status != 0)
		return status;
	if (strcmp(action, "rm") == 0)
		return remove_sessions(c, &conn, argc - optind - 1, argv + optind + 1);
	return list_sessions(c, &conn);
}
