/* isol8: the command-line client of isol8d. Dispatches a table of verbs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/run_args.h"
#include "base/util.h"


struct verb {
	const char *name;
	int (*main)(int argc, char **argv);
	void (*usage)(FILE *out);
	const char *summary;
};

static int version_main(int argc, char **argv);
static int help_main(int argc, char **argv);
static void version_usage(FILE *out);
static void help_usage(FILE *out);

static const struct verb verbs[] = {
	{"run", isol8_cli_run_main, isol8_cli_run_usage, "run code in a sandbox"},
	{"shell", isol8_cli_shell_main, isol8_cli_shell_usage, "an interactive bash on a terminal in a sandbox"},
	{"setup", isol8_cli_setup_main, isol8_cli_setup_usage, "build the sandbox images"},
	{"cleanup", isol8_cli_cleanup_main, isol8_cli_cleanup_usage,
	 "remove isol8 containers (and images)"},
	{"info", isol8_cli_info_main, isol8_cli_info_usage, "show the daemon and its images"},
	{"session", isol8_cli_session_main, isol8_cli_session_usage, "list or remove persistent sessions"},
	{"cp", isol8_cli_cp_main, isol8_cli_cp_usage, "copy a file to or from a session"},
	{"config", isol8_cli_config_main, isol8_cli_config_usage, "show the resolved configuration"},
	{"serve", isol8_cli_serve_main, isol8_cli_serve_usage, "run isol8d and the HTTP gateway together"},
	{"mcp", isol8_cli_mcp_main, isol8_cli_mcp_usage, "serve the Model Context Protocol on stdio (for AI agents)"},
	{"version", version_main, version_usage, "print the version"},
	{"help", help_main, help_usage, "show help for a command"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: isol8 [options] [command]\n\nSecure code execution engine: runs "
		     "untrusted code in locked-down\nsandboxes, through the isol8d daemon.\n\n"
		     "Options:\n"
		     "  -V, --version  print the version\n"
		     "  --debug        [DEBUG] lines (the same as `isol8 run --debug`)\n"
		     "  -h, --help     show this help\n\nCommands:\n");
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(verbs); i++)
		fprintf(out, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out, "\nRun `isol8 COMMAND --help` for a command's flags. Exit status: 1 for "
		     "isol8's own\nerrors (message on stderr); `run` passes the program's through.\n");
}

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void version_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 version\n\nPrints the version of this CLI (also "
		     "`isol8 --version`).\n");
}

static int version_main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		version_usage(stdout);
		return 0;
	}
	printf("%s\n", ISOL8_VERSION);
	return 0;
}

static void help_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 help [COMMAND]\n");
}

static int help_main(int argc, char **argv)
{
	const struct verb *v;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	v = find_verb(argv[1]);
	if (v == NULL) {
		isol8_cli_say("unknown command \"%s\" (see isol8 help)", argv[1]);
		return ISOL8_CLI_EXIT_ERROR;
	}
	v->usage(stdout);
	return 0;
}

static int dispatch(int argc, char **argv);

/* `isol8 --debug run ...`, the original's global flag: the verb gets --debug
 * when it takes one (run), else it is dropped. */
static int main_debug(int argc, char **argv)
{
	_cleanup_free_ char **args = NULL;
	const struct verb *v = argc > 2 ? find_verb(argv[2]) : NULL;
	int n = 0;

	if (v == NULL || v->main != isol8_cli_run_main)
		return dispatch(argc - 1, argv + 1);
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL) {
		isol8_cli_say("out of memory");
		return ISOL8_CLI_EXIT_ERROR;
	}
	args[n++] = argv[2];
	args[n++] = "--debug";
	for (int i = 3; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	return v->main(n, args);
}

/* argv[0] is the program; argv[1] the verb or a global flag. */
static int dispatch(int argc, char **argv)
{
	const struct verb *v;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_main(1, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return version_main(1, argv);
	if (strcmp(argv[1], "--debug") == 0)
		return main_debug(argc, argv);
	v = find_verb(argv[1]);
	if (v == NULL) {
		isol8_cli_say("unknown command \"%s\" (see isol8 help)", argv[1]);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return v->main(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	return dispatch(argc, argv);
}
