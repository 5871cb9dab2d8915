/* Unit tests of the CLI's interactive flags: `isol8 run -i/-t` and `isol8
 * shell` parsed into requests (client/cli, isol8_cli_core; no daemon). */
#include <stdarg.h>
#include <string.h>

#include "cli/run_args.h"
#include "runner.h"

#define MAX_ARGS 32

/* Parses a NULL-terminated list of arguments (argv[0] = verb) with parse. */
static int parse_with(int (*parse)(struct isol8_cli_run *, int, char **, struct isol8_error *), const char *verb,
		      struct isol8_cli_run *run, struct isol8_error *err, ...)
{
	static char *argv[MAX_ARGS];
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)verb;
	va_start(ap, err);
	for (char *a; argc < MAX_ARGS - 1 && (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	isol8_cli_run_init(run);
	isol8_error_clear(err);
	return parse(run, argc, argv, err);
}

#define parse_run(run, err, ...) parse_with(isol8_cli_run_parse, "run", run, err, __VA_ARGS__)
#define parse_shell(run, err, ...) parse_with(isol8_cli_shell_parse, "shell", run, err, __VA_ARGS__)

static void test_interactive_flags(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-i", "-e", "input()", NULL), 0);
	CU_ASSERT_TRUE(run.interactive);
	CU_ASSERT_FALSE(run.tty);
	CU_ASSERT_FALSE(run.req.tty);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--interactive", "-e", "input()", NULL), 0);
	CU_ASSERT_TRUE(run.interactive);
	isol8_cli_run_free(&run);
	/* -t implies -i and asks the daemon for a terminal */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-t", "--cmd", "tty", NULL), 0);
	CU_ASSERT_TRUE(run.interactive);
	CU_ASSERT_TRUE(run.tty);
	CU_ASSERT_TRUE(run.req.tty);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-it", "-e", "1", NULL), 0);
	CU_ASSERT_TRUE(run.req.tty);
	isol8_cli_run_free(&run);
}

static void test_interactive_errors(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(parse_run(&run, &err, "-i", "--no-stream", "-e", "1", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--interactive streams as it runs: it cannot be combined with --no-stream");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-t", "--no-stream", "-e", "1", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--tty streams as it runs: it cannot be combined with --no-stream");
	isol8_cli_run_free(&run);
	/* stdin is the program's: the code cannot come from it */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-i", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, false, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--interactive: stdin is the program's input; give the code as FILE, "
					    "-e CODE, --cmd or a URL");
	isol8_cli_run_free(&run);
	/* a terminal is needed for --tty */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-t", "-e", "1", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, false, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--tty: stdin is not a terminal (use -i alone for piped input)");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, true, &err), 0);
	isol8_cli_run_free(&run);
	/* with -e, stdin is never read (fd -1 would fail) */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-i", "-e", "input()", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, false, &err), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code, "input()");
	isol8_cli_run_free(&run);
}

static void test_shell_defaults(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(parse_shell(&run, &err, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.cmd, "bash -i");
	CU_ASSERT_PTR_NULL(run.req.code);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "bash");
	CU_ASSERT_TRUE(run.interactive);
	CU_ASSERT_TRUE(run.req.tty);
	CU_ASSERT_EQUAL(run.req.timeout_ms, 3600000);
	CU_ASSERT_PTR_NULL(run.req.session_id);
	isol8_cli_run_free(&run);
}

static void test_shell_flags(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(parse_shell(&run, &err, "--session", "dev", "--runtime", "python", "--timeout", "5000",
					  "--env", "A=1", NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.session_id, "dev");
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "python");
	CU_ASSERT_STRING_EQUAL(run.req.cmd, "bash -i");
	CU_ASSERT_EQUAL(run.req.timeout_ms, 5000);
	CU_ASSERT_EQUAL(run.req.n_env, 1);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_shell(&run, &err, "--session-id=dev", "-r", "node", NULL), 0);
	CU_ASSERT_STRING_EQUAL(run.req.session_id, "dev");
	CU_ASSERT_STRING_EQUAL(run.runtime, "node");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_shell(&run, &err, "-h", NULL), 0);
	CU_ASSERT_TRUE(run.help);
	isol8_cli_run_free(&run);
}

static void test_shell_errors(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(parse_shell(&run, &err, "-e", "1", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unknown flag \"-e\" for isol8 shell (see isol8 shell --help)");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_shell(&run, &err, "--cmd", "ls", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unknown flag \"--cmd\" for isol8 shell (see isol8 shell --help)");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_shell(&run, &err, "script.sh", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "unexpected argument \"script.sh\" (isol8 shell runs bash; see isol8 shell --help)");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_shell(&run, &err, "--session", "", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--session: empty (give a session name)");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_shell(&run, &err, "--session", NULL), -ISOL8_E_INVALID);
	isol8_cli_run_free(&run);
}

static void test_usage_texts(void)
{
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	isol8_cli_run_usage(f);
	isol8_cli_shell_usage(f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "-i, --interactive"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "-t, --tty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Usage: isol8 shell [--session NAME] [--runtime RT]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--session NAME"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--timeout MS"));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"run -i and -t", test_interactive_flags},
		{"run -i and -t errors", test_interactive_errors},
		{"shell defaults", test_shell_defaults},
		{"shell flags", test_shell_flags},
		{"shell errors", test_shell_errors},
		{"usage texts", test_usage_texts},
	};

	return isol8_test_run("cli_interactive", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
