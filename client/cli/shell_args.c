/* `isol8 shell` flags: a run of `bash -i` on a terminal, see run_args.h. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/run_args.h"

/* An interactive shell outlives the default 30 s run. */
#define SHELL_TIMEOUT_MS "3600000"

/* The run flags a shell takes, and what each says in its help. */
static const struct {
	const char *name;
	const char *help;
} shell_flags[] = {
	{"--session", "NAME  the session whose sandbox the shell runs in (kept between calls)"},
	{"--session-id", "NAME  the same as --session"},
	{"--runtime", "RT  the runtime whose image the shell runs in (default: the session's, else bash); also -r"},
	{"-r", NULL},
	{"--timeout", "MS  end the shell after this long (default 3600000, an hour)"},
	{"--env", "KEY=VALUE  environment variable (repeatable)"},
	{"--host", "HOST:PORT  remote isol8d (also http://HOST:PORT, unix:/PATH)"},
	{"--key", "KEY  API key for --host (default $ISOL8_API_KEY)"},
	{"--debug", "[DEBUG] lines: connection, timings, the execution's details"},
	{"--help", "show this help; also -h"},
	{"-h", NULL},
};

void isol8_cli_shell_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 shell [--session NAME] [--runtime RT] [flags]\n\n"
		     "Opens an interactive bash (`bash -i`) on a terminal in a sandbox: in the\n"
		     "session NAME's sandbox with --session, else in a fresh one removed at the\n"
		     "end. This terminal goes into raw mode until the shell exits. Needs a\n"
		     "terminal on stdin. Exit status: the shell's.\n\nFlags:\n");
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(shell_flags); i++) {
		const char *space = shell_flags[i].help ? strchr(shell_flags[i].help, ' ') : NULL;
		char left[64];

		if (shell_flags[i].help == NULL)
			continue;
		/* "NAME  text": the metavar beside the flag, the text in the column */
		if (space != NULL && space[1] == ' ')
			snprintf(left, sizeof(left), "%s %.*s", shell_flags[i].name, (int)(space - shell_flags[i].help),
				 shell_flags[i].help);
		else
			snprintf(left, sizeof(left), "%s", shell_flags[i].name);
		fprintf(out, "  %-32s %s\n", left, space != NULL && space[1] == ' ' ? space + 2 : shell_flags[i].help);
	}
}

/* Whether arg (a flag, maybe with "=VALUE") is one a shell takes. */
static bool shell_flag_known(const char *arg)
{
	size_t len = strcspn(arg, "=");

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(shell_flags); i++) {
		if (strlen(shell_flags[i].name) == len && strncmp(shell_flags[i].name, arg, len) == 0)
			return true;
	}
	return false;
}

static bool shell_flag_takes_value(const char *arg)
{
	static const char *const valued[] = {"--session", "--session-id", "--runtime", "-r",
					     "--timeout", "--env",        "--host",    "--key"};

	if (strchr(arg, '=') != NULL)
		return false;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(valued); i++)
		if (strcmp(valued[i], arg) == 0)
			return true;
	return false;
}

int isol8_cli_shell_parse(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err)
{
	_cleanup_free_ char **args = NULL;
	bool timeout = false;
	int n = 0, ret;

	/* argv[0], the 3 shell flags, the user's, --timeout and its value, NULL */
	args = calloc((size_t)argc + 6, sizeof(*args));
	if (args == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	args[n++] = argv[0];
	args[n++] = "--cmd";
	args[n++] = "bash -i";
	args[n++] = "--tty";
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "unexpected argument \"%s\" (isol8 shell runs bash; see isol8 shell --help)",
					       argv[i]);
		if (!shell_flag_known(argv[i]))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "unknown flag \"%s\" for isol8 shell (see isol8 shell --help)", argv[i]);
		timeout = timeout || strncmp(argv[i], "--timeout", 9) == 0;
		args[n++] = argv[i];
		if (shell_flag_takes_value(argv[i]) && i + 1 < argc)
			args[n++] = argv[++i];
	}
	if (!timeout) {
		args[n++] = "--timeout";
		args[n++] = SHELL_TIMEOUT_MS;
	}
	args[n] = NULL;
	ret = isol8_cli_run_parse(run, n, args, err);
	if (ret == 0 && run->runtime == NULL) {
		run->runtime = "bash";
		run->runtime_from_session = run->req.session_id != NULL;
	}
	return ret;
}
