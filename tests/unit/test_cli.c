/* Unit tests of the CLI's pure parts: client/cli (isol8_cli_core). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/address.h"
#include "cli/cp_args.h"
#include "cli/detect.h"
#include "cli/docker_local.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/run_args.h"
#include "runner.h"

#define MAX_ARGS 96

/* Parses a NULL-terminated list of run arguments into run (argv[0] = "run").
 * The strings are literals, so they outlive run. */
static int parse_run(struct isol8_cli_run *run, struct isol8_error *err, ...)
{
	static char *argv[MAX_ARGS];
	va_list ap;
	int argc = 0;

	argv[argc++] = "run";
	va_start(ap, err);
	for (char *a; argc < MAX_ARGS - 1 && (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	CU_ASSERT_FATAL(argc < MAX_ARGS - 1); /* else the list was cut short */
	argv[argc] = NULL;
	isol8_cli_run_init(run);
	isol8_error_clear(err);
	return isol8_cli_run_parse(run, argc, argv, err);
}

/* ---------------------------------------------------------------- runtime detection */

static void test_detect_extensions(void)
{
	static const struct {
		const char *file;
		const char *runtime;
		const char *file_extension;
	} cases[] = {
		{"a.py", "python", NULL},	{"dir/b.js", "node", "mjs"},
		{"c.mjs", "node", "mjs"},	{"d.cjs", "node", "cjs"},
		{"e.ts", "bun", NULL},		{"f.mts", "bun", NULL},
		{"g.sh", "bash", NULL},		{"/x.y/SCRIPT.PY", "python", NULL},
		{"https://h/p/q.cjs?x=1#f", "node", "cjs"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct isol8_cli_runtime_choice c = {0};
		struct isol8_error err = ISOL8_ERROR_INIT;

		CU_ASSERT_EQUAL_FATAL(isol8_cli_detect_runtime(cases[i].file, NULL, &c, &err), 0);
		CU_ASSERT_STRING_EQUAL(c.runtime, cases[i].runtime);
		if (cases[i].file_extension == NULL) {
			CU_ASSERT_PTR_NULL(c.file_extension);
		} else {
			CU_ASSERT_STRING_EQUAL(c.file_extension, cases[i].file_extension);
		}
	}
}

static void test_detect_override(void)
{
	struct isol8_cli_runtime_choice c = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("main.ts", "deno", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.runtime, "deno");
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("main.py", "node", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.runtime, "node");
	CU_ASSERT_PTR_NULL(c.file_extension);
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("lib.cjs", "node", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.file_extension, "cjs");
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime(NULL, "bash", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.runtime, "bash");
}

static void test_detect_errors(void)
{
	struct isol8_cli_runtime_choice c = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("x.py", "ruby", &c, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "unknown runtime \"ruby\" (valid: python, node, bun, deno, bash)");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("prog.rb", NULL, &c, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"prog.rb\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--runtime"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, ".py, .js, .mjs, .cjs, .ts, .mts, .sh"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime("Makefile", NULL, &c, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--runtime"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime(".py", NULL, &c, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_detect_runtime(NULL, NULL, &c, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "pass --runtime"));
}

/* ---------------------------------------------------------------- run flags */

/* Nothing but the code, the runtime and the (empty) options is set. */
static void assert_bare(const struct isol8_cli_run *run)
{
	const struct isol8_request *r = &run->req;
	const struct isol8_options *o = &run->options;

	CU_ASSERT_PTR_NULL(r->code_hash);
	CU_ASSERT_FALSE(r->allow_insecure_code_url);
	CU_ASSERT_PTR_NULL(r->file_extension);
	CU_ASSERT_PTR_NULL(r->stdin_data);
	CU_ASSERT_EQUAL(r->n_output_paths + r->n_install_packages + r->n_metadata, 0);
	CU_ASSERT_FALSE(r->tty);
	CU_ASSERT_EQUAL(r->rows + r->cols, 0);
	CU_ASSERT_EQUAL(o->n_whitelist + o->n_blacklist + o->n_secrets, 0);
	CU_ASSERT_PTR_NULL(o->seccomp);
	CU_ASSERT_PTR_NULL(o->seccomp_profile);
	CU_ASSERT_FALSE(o->persist);
}

/* Each item of the request's lists is set (the library reads n of each). */
static void assert_lists_whole(const struct isol8_cli_run *run)
{
	const struct isol8_request *r = &run->req;
	const struct isol8_options *o = &run->options;

	for (size_t i = 0; i < o->n_secrets; i++)
		CU_ASSERT(o->secrets[i].key != NULL && o->secrets[i].value != NULL);
	for (size_t i = 0; i < r->n_env; i++)
		CU_ASSERT(r->env[i].key != NULL && r->env[i].value != NULL);
	for (size_t i = 0; i < r->n_install_packages; i++)
		CU_ASSERT_PTR_NOT_NULL(r->install_packages[i]);
	for (size_t i = 0; i < o->n_whitelist; i++)
		CU_ASSERT_PTR_NOT_NULL(o->whitelist[i]);
	for (size_t i = 0; i < o->n_blacklist; i++)
		CU_ASSERT_PTR_NOT_NULL(o->blacklist[i]);
}

static void test_run_defaults(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-e", "print(1)", "-r", "python", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code, "print(1)");
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "python");
	/* Only what the user set is sent: the daemon's config decides the rest. */
	CU_ASSERT_EQUAL(run.req.timeout_ms, 0);
	CU_ASSERT_PTR_EQUAL_FATAL(run.req.options, &run.options);
	CU_ASSERT_PTR_NULL(run.options.memory_limit);
	CU_ASSERT_DOUBLE_EQUAL(run.options.cpu_limit, 0.0, 1e-9);
	CU_ASSERT_EQUAL(run.options.pids_limit, 0);
	CU_ASSERT_EQUAL(run.options.readonly_root_fs, 0);
	CU_ASSERT_EQUAL(run.options.max_output_size, 0);
	CU_ASSERT_PTR_NULL(run.options.sandbox_size);
	CU_ASSERT_PTR_NULL(run.options.tmp_size);
	CU_ASSERT_PTR_NULL(run.options.network);
	CU_ASSERT_PTR_NULL(run.options.image);
	CU_ASSERT_FALSE(run.options.log_network);
	CU_ASSERT_PTR_NULL(run.req.cmd);
	CU_ASSERT_PTR_NULL(run.req.setup_script);
	CU_ASSERT_PTR_NULL(run.req.workdir);
	CU_ASSERT_EQUAL(run.req.n_files, 0);
	CU_ASSERT_EQUAL(run.options.n_whitelist, 0);
	CU_ASSERT_EQUAL(run.options.n_blacklist, 0);
	CU_ASSERT_EQUAL(run.options.n_secrets, 0);
	CU_ASSERT_EQUAL(run.req.n_env, 0);
	CU_ASSERT_EQUAL(run.req.stdin_size, 0);
	CU_ASSERT_PTR_NULL(run.req.session_id);
	CU_ASSERT_PTR_NULL(run.req.code_url);
	CU_ASSERT_FALSE(run.no_stream);
	CU_ASSERT_FALSE(run.options.persist);
	/* The request carries the code and runtime only. */
	assert_bare(&run);
	isol8_cli_run_free(&run);
}

/* -e, stdin and --cmd without --runtime: python, python and bash, as the original. */
static void test_run_default_runtime(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int fds[2];

	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-e", "print(1)", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "python");
	isol8_cli_run_free(&run);

	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_EQUAL(write(fds[1], "print(2)", 8), 8);
	close(fds[1]);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, fds[0], false, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "python");
	CU_ASSERT_STRING_EQUAL(run.req.code, "print(2)");
	isol8_cli_run_free(&run);
	close(fds[0]);

	/* --cmd: stdin is not read as code, bash is the default. */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--cmd", "ls -la", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, false, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.cmd, "ls -la");
	CU_ASSERT_PTR_NULL(run.req.code);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "bash");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--cmd", "node -v", "-r", "node", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "node");
	isol8_cli_run_free(&run);

	/* A file still picks by extension. */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "x.sh", NULL), 0);
	run.code = strdup("echo");
	CU_ASSERT_PTR_NOT_NULL_FATAL(run.code);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "bash");
	isol8_cli_run_free(&run);
}

static void test_run_all_flags(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(
		parse_run(&run, &err, "--eval", "x", "--runtime", "node", "--net", "filtered",
			  "--allow", "^a$", "--allow", "b", "--deny", "c", "--out", "o.txt",
			  "--no-stream", "--persist", "--debug", "--timeout", "1500", "--memory",
			  "1g", "--cpu", "0.5", "--image", "img:1", "--pids-limit", "10",
			  "--writable", "--max-output", "99", "--secret", "K=v=w", "--secret",
			  "T=", "--sandbox-size", "64m", "--tmp-size", "32M", "--stdin", "in",
			  "--install", "lodash", "--install", "chalk", "--env", "A=1",
			  "--session-id", "s1", "--key", "k", "--host", "h:1", "--workdir", "src",
			  "--setup", "pip list", "--setup", "echo two", "--log-network", NULL),
		0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "node");
	CU_ASSERT_STRING_EQUAL(run.options.network, "filtered");
	CU_ASSERT_EQUAL_FATAL(run.options.n_whitelist, 2);
	CU_ASSERT_STRING_EQUAL(run.options.whitelist[0], "^a$");
	CU_ASSERT_STRING_EQUAL(run.options.whitelist[1], "b");
	CU_ASSERT_EQUAL_FATAL(run.options.n_blacklist, 1);
	CU_ASSERT_STRING_EQUAL(run.options.blacklist[0], "c");
	CU_ASSERT_STRING_EQUAL(run.out_path, "o.txt");
	CU_ASSERT_TRUE(run.no_stream);
	CU_ASSERT_TRUE(run.options.persist);
	CU_ASSERT_TRUE(run.debug);
	CU_ASSERT_EQUAL(run.req.timeout_ms, 1500);
	CU_ASSERT_STRING_EQUAL(run.options.memory_limit, "1g");
	CU_ASSERT_DOUBLE_EQUAL(run.options.cpu_limit, 0.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(run.options.image, "img:1");
	CU_ASSERT_EQUAL(run.options.pids_limit, 10);
	CU_ASSERT_EQUAL(run.options.readonly_root_fs, 2); /* writable */
	CU_ASSERT_EQUAL(run.options.max_output_size, 99);
	CU_ASSERT_EQUAL_FATAL(run.options.n_secrets, 2);
	CU_ASSERT_STRING_EQUAL(run.options.secrets[0].key, "K");
	CU_ASSERT_STRING_EQUAL(run.options.secrets[0].value, "v=w");
	CU_ASSERT_STRING_EQUAL(run.options.secrets[1].key, "T");
	CU_ASSERT_STRING_EQUAL(run.options.secrets[1].value, "");
	CU_ASSERT_STRING_EQUAL(run.options.sandbox_size, "64m");
	CU_ASSERT_STRING_EQUAL(run.options.tmp_size, "32M");
	CU_ASSERT_EQUAL(run.req.stdin_size, 2);
	CU_ASSERT_NSTRING_EQUAL(run.req.stdin_data, "in", 2);
	CU_ASSERT_EQUAL_FATAL(run.req.n_install_packages, 2);
	CU_ASSERT_STRING_EQUAL(run.req.install_packages[1], "chalk");
	CU_ASSERT_EQUAL_FATAL(run.req.n_env, 1);
	CU_ASSERT_STRING_EQUAL(run.req.env[0].key, "A");
	CU_ASSERT_STRING_EQUAL(run.req.env[0].value, "1");
	CU_ASSERT_STRING_EQUAL(run.req.session_id, "s1");
	CU_ASSERT_STRING_EQUAL(run.req.workdir, "src");
	CU_ASSERT_TRUE(run.options.log_network);
	CU_ASSERT_STRING_EQUAL(run.key, "k");
	CU_ASSERT_STRING_EQUAL(run.host, "h:1");
	/* The request's lists are well formed: every item is there. */
	assert_lists_whole(&run);
	isol8_cli_run_free(&run);
}

static void test_run_persistent_session(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	/* --persistent in one call is that call's own sandbox: a normal run. */
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-e", "1", "-r", "bash", "--persistent", NULL), 0);
	CU_ASSERT_TRUE(run.persistent);
	CU_ASSERT_PTR_NULL(run.req.session_id);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-e", "1", "--session", "x", NULL), 0);
	CU_ASSERT_STRING_EQUAL(run.req.session_id, "x");
	isol8_cli_run_free(&run);
}

/* Each bad value gives an error whose message starts with the text given. */
static void test_run_bad_values(void)
{
	static const struct {
		const char *flag;
		const char *value;
		const char *message;
	} cases[] = {
		{"--timeout", "abc",
		 "--timeout: \"abc\" is not a positive number of milliseconds (e.g. 30000)"},
		{"--timeout", "-5", "--timeout: \"-5\" is not a positive number of milliseconds"},
		{"--timeout", "10s", "--timeout: \"10s\" is not a positive number of milliseconds"},
		{"--timeout", "0", "--timeout: 0 is out of range"},
		{"--timeout", "99999999999999999999", "--timeout: 99999999999999999999 is out of range"},
		{"--pids-limit", "x", "--pids-limit: \"x\" is not a positive number of processes"},
		{"--pids-limit", "0", "--pids-limit: 0 is out of range (1 to 1000000)"},
		{"--max-output", "1.5", "--max-output: \"1.5\" is not a positive number of bytes"},
		{"--cpu", "fast", "--cpu: \"fast\" is not a number of CPUs (e.g. 0.5, 2.0)"},
		{"--cpu", "-1", "--cpu: \"-1\" is not a number of CPUs"},
		{"--cpu", "0", "--cpu: 0 is out of range"},
		{"--cpu", "nan", "--cpu: \"nan\" is not a number of CPUs"},
		{"--memory", "lots", "--memory: \"lots\" is not a size (e.g. 256m, 1g)"},
		{"--memory", "512mb", "--memory: \"512mb\" is not a size"},
		{"--memory", "0", "--memory: \"0\" is not a size"},
		{"--sandbox-size", "", "--sandbox-size: \"\" is not a size"},
		{"--tmp-size", "1t", "--tmp-size: \"1t\" is not a size"},
		{"--net", "bridge", "--net: \"bridge\" is not a network mode"},
		{"--secret", "NOVALUE", "--secret: \"NOVALUE\" is not KEY=VALUE"},
		{"--env", "=x", "--env: \"=x\" is not KEY=VALUE"},
		{"--env", "1A=x", "--env: \"1A\" is not a variable name (KEY=VALUE, KEY of letters"},
		{"--env", "A-B=x", "--env: \"A-B\" is not a variable name"},
		{"--secret", "A B=x", "--secret: \"A B\" is not a variable name"},
		{"--setup", "", "--setup: empty (give a script file or the commands)"},
		{"--workdir", "", "--workdir: empty (give a directory inside /sandbox"},
		{"--cmd", "", "--cmd: empty (give a shell command)"},
		{"--session-id", "", "--session-id: empty (give a session name)"},
		{"--hash", "abc", "--hash: \"abc\" is not a SHA-256 digest"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct isol8_cli_run run;
		struct isol8_error err = ISOL8_ERROR_INIT;

		CU_ASSERT_EQUAL(parse_run(&run, &err, "-e", "1", (char *)cases[i].flag,
					  (char *)cases[i].value, NULL),
				-ISOL8_E_INVALID);
		if (strncmp(err.message, cases[i].message, strlen(cases[i].message)) != 0) {
			fprintf(stderr, "\n  %s %s: got \"%s\"\n", cases[i].flag, cases[i].value,
				err.message);
			CU_FAIL("wrong message");
		}
		isol8_cli_run_free(&run);
	}
}

static void test_run_usage_errors(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(parse_run(&run, &err, "--bogus", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unknown flag \"--bogus\""));
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-q", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unknown flag -q"));
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "--timeout", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "flag --timeout needs a value");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "a.py", "b.py", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"b.py\""));
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "a.py", "-e", "1", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "only one code source"));
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-e", "1", "--hash",
				  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				  NULL),
			-ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--hash needs --url, --github or --gist");
	isol8_cli_run_free(&run);
	static const char cmd_alone[] = "--cmd cannot be combined with file input, --eval, --url, "
					"--github, or --gist";
	CU_ASSERT_EQUAL(parse_run(&run, &err, "--cmd", "ls", "-e", "1", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, cmd_alone);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "--cmd", "ls", "a.py", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, cmd_alone);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "--url", "https://x/a.py", "--cmd", "ls", NULL),
			-ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, cmd_alone);
	isol8_cli_run_free(&run);
	/* Flags may follow FILE; --help parses without a code source. */
	CU_ASSERT_EQUAL(parse_run(&run, &err, "s.py", "--timeout", "5", NULL), 0);
	CU_ASSERT_STRING_EQUAL(run.file, "s.py");
	CU_ASSERT_EQUAL(run.req.timeout_ms, 5);
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL(parse_run(&run, &err, "--help", NULL), 0);
	CU_ASSERT_TRUE(run.help);
	isol8_cli_run_free(&run);
}

/* ---------------------------------------------------------------- isol8 cp */

static int parse_cp(struct isol8_cli_cp *cp, struct isol8_error *err, ...)
{
	static char *argv[MAX_ARGS];
	va_list ap;
	int argc = 0;

	argv[argc++] = "cp";
	va_start(ap, err);
	for (char *a; argc < MAX_ARGS - 1 && (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	isol8_error_clear(err);
	return isol8_cli_cp_parse(cp, argc, argv, err);
}

/* --log-network lines are the original's JSON objects: path null for CONNECT. */
static void test_network_log_json(void)
{
	struct isol8_network_log get = {"2026-01-02T03:04:05Z", "GET", "example.com", "/a\"b", true, 12};
	struct isol8_network_log connect = {"2026-01-02T03:04:05Z", "CONNECT", "evil.test", NULL, false, 0};
	char *a = isol8_cli_network_log_json(&get), *b = isol8_cli_network_log_json(&connect);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(a, "{\"timestamp\":\"2026-01-02T03:04:05Z\",\"method\":\"GET\",\"host\":\"example.com\","
			       "\"path\":\"/a\\\"b\",\"action\":\"ALLOW\",\"durationMs\":12}");
	CU_ASSERT_STRING_EQUAL(b, "{\"timestamp\":\"2026-01-02T03:04:05Z\",\"method\":\"CONNECT\",\"host\":\"evil.test\","
			       "\"path\":null,\"action\":\"BLOCK\",\"durationMs\":0}");
	free(a);
	free(b);
}

static void test_cp_sides(void)
{
	struct isol8_cli_cp cp;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(parse_cp(&cp, &err, "data.csv", "s1:/sandbox/data.csv", NULL), 0);
	CU_ASSERT_TRUE(cp.upload);
	CU_ASSERT_STRING_EQUAL(cp.local, "data.csv");
	CU_ASSERT_STRING_EQUAL(cp.session_id, "s1");
	CU_ASSERT_STRING_EQUAL(cp.path, "/sandbox/data.csv");
	CU_ASSERT_PTR_NULL(cp.host);

	/* ids may hold ':' '.' '_' '-'; flags anywhere; - is a local side */
	CU_ASSERT_EQUAL_FATAL(parse_cp(&cp, &err, "--host", "h:1", "a:b.c_d-e:/tmp/x:/y", "-", "--key", "k", NULL), 0);
	CU_ASSERT_FALSE(cp.upload);
	CU_ASSERT_STRING_EQUAL(cp.session_id, "a:b.c_d-e");
	CU_ASSERT_STRING_EQUAL(cp.path, "/tmp/x:/y");
	CU_ASSERT_STRING_EQUAL(cp.local, "-");
	CU_ASSERT_STRING_EQUAL(cp.host, "h:1");
	CU_ASSERT_STRING_EQUAL(cp.key, "k");

	/* a colon after the first '/' or without one keeps a path local */
	CU_ASSERT_EQUAL_FATAL(parse_cp(&cp, &err, "s1:/sandbox/out", "./a:/b", NULL), 0);
	CU_ASSERT_STRING_EQUAL(cp.local, "./a:/b");
	CU_ASSERT_EQUAL_FATAL(parse_cp(&cp, &err, "s1:/sandbox/out", "a:b", NULL), 0);
	CU_ASSERT_STRING_EQUAL(cp.local, "a:b");

	CU_ASSERT_EQUAL(parse_cp(&cp, &err, "--help", NULL), 0);
	CU_ASSERT_TRUE(cp.help);
}

static void test_cp_usage_errors(void)
{
	static const struct {
		const char *src, *dst, *message;
	} bad[] = {
		{"a", "b", "neither \"a\" nor \"b\" names a session's file (SESSION:/abs/path)"},
		{"s1:x", "b", "neither \"s1:x\" nor \"b\" names a session's file (SESSION:/abs/path)"},
		{"s1:/a", "s2:/b", "both \"s1:/a\" and \"s2:/b\" name a session's file: one side must be a local path"},
		{"bad id:/x", "b", "\"bad id:/x\": \"bad id\" is not a session id (letters, digits and . _ : -); write a "
				  "local path with a colon as ./bad id:/x"},
		{"", "s1:/sandbox/x", "the local path is empty (give a file, or - for stdin)"},
	};
	struct isol8_cli_cp cp;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char long_id[ISOL8_CLI_SESSION_ID_MAX + 16];

	for (size_t i = 0; i < ISOL8_TESTS_LEN(bad); i++) {
		CU_ASSERT_EQUAL(parse_cp(&cp, &err, bad[i].src, bad[i].dst, NULL), -ISOL8_E_INVALID);
		if (strcmp(err.message, bad[i].message) != 0) {
			fprintf(stderr, "\n  cp %s %s: got \"%s\"\n", bad[i].src, bad[i].dst, err.message);
			CU_FAIL("wrong message");
		}
	}
	CU_ASSERT_EQUAL(parse_cp(&cp, &err, "a", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "cp needs SRC and DST (see isol8 cp --help)");
	CU_ASSERT_EQUAL(parse_cp(&cp, &err, "a", "s1:/sandbox/a", "c", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unexpected argument \"c\" (cp copies one file)");
	CU_ASSERT_EQUAL(parse_cp(&cp, &err, "--mode", "a", "b", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unknown flag \"--mode\" (see isol8 cp --help)");
	memset(long_id, 'a', ISOL8_CLI_SESSION_ID_MAX + 1);
	snprintf(long_id + ISOL8_CLI_SESSION_ID_MAX + 1, 8, ":/x");
	CU_ASSERT_EQUAL(parse_cp(&cp, &err, long_id, "b", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "a session id is at most 128 characters"));
	/* exactly 128 is fine */
	snprintf(long_id + ISOL8_CLI_SESSION_ID_MAX, 8, ":/x");
	CU_ASSERT_EQUAL(parse_cp(&cp, &err, long_id, "b", NULL), 0);
	CU_ASSERT_EQUAL(strlen(cp.session_id), ISOL8_CLI_SESSION_ID_MAX);
}

/* ---------------------------------------------------------------- code sources */

static void test_run_code_from_file(void)
{
	char path[] = "/tmp/isol8-test-cli-XXXXXX.cjs";
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int fd = mkstemps(path, 4);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "console.log(1)\n", 15), 15);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, path, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, true, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code, "console.log(1)\n");
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "node");
	CU_ASSERT_STRING_EQUAL(run.req.file_extension, "cjs");
	isol8_cli_run_free(&run);
	unlink(path);

	CU_ASSERT_EQUAL(parse_run(&run, &err, "/nonexistent/script.py", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, true, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "File not found: /nonexistent/script.py");
	isol8_cli_run_free(&run);
}

static void test_run_code_from_stdin(void)
{
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_EQUAL(write(fds[1], "echo hi", 7), 7);
	close(fds[1]);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-r", "bash", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, fds[0], false, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code, "echo hi");
	isol8_cli_run_free(&run);
	close(fds[0]);

	/* A terminal on stdin and no other source. */
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-r", "bash", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, true, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "no code: give a file, -e CODE, or pipe code on stdin");
	isol8_cli_run_free(&run);

	/* Empty code is refused. */
	CU_ASSERT_EQUAL(parse_run(&run, &err, "-e", "", "-r", "bash", NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_finish(&run, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "empty"));
	isol8_cli_run_free(&run);
}

static void test_read_all_bound(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char buf[100];
	char *out = NULL;
	size_t len = 0;
	int fds[2];

	memset(buf, 'a', sizeof(buf));
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_EQUAL(write(fds[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fds[1]);
	CU_ASSERT_EQUAL(isol8_cli_read_all(fds[0], "stdin", 99, &out, &len, &err),
			-ISOL8_E_EXHAUSTED);
	CU_ASSERT_PTR_NULL(out);
	close(fds[0]);

	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_EQUAL(write(fds[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fds[1]);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_read_all(fds[0], "stdin", 100, &out, &len, &err), 0);
	CU_ASSERT_EQUAL(len, 100);
	free(out);
	close(fds[0]);
}

/* ---------------------------------------------------------------- code URLs */

static void test_code_urls(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_cli_run run;
	char *url = NULL;

	CU_ASSERT_EQUAL(isol8_cli_github_url("user/repo/main/src/a.py", &url, &err), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://raw.githubusercontent.com/user/repo/main/src/a.py");
	free(url);
	CU_ASSERT_EQUAL(isol8_cli_gist_url("abc123/hello.js", &url, &err), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://gist.githubusercontent.com/abc123/raw/hello.js");
	free(url);
	CU_ASSERT_EQUAL(isol8_cli_gist_url("abc123/sub/dir/x.py", &url, &err), 0);
	CU_ASSERT_STRING_EQUAL(url, "https://gist.githubusercontent.com/abc123/raw/sub/dir/x.py");
	free(url);
	url = NULL;
	CU_ASSERT_EQUAL(isol8_cli_github_url("user/repo/main", &url, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--github: \"user/repo/main\" is not OWNER/REPO/REF/PATH");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_github_url("user//main/a.py", &url, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_gist_url("abc123", &url, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(url);
	CU_ASSERT_STRING_EQUAL(err.message, "--gist: \"abc123\" is not ID/FILE");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_gist_url("/x.py", &url, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(url);
	isol8_error_clear(&err);

	/* --github fills code_url and leaves code and the runtime to isol8d,
	 * which takes it from the URL's extension. */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--github", "u/r/v1/x.sh", "--hash",
					"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, false, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code_url, "https://raw.githubusercontent.com/u/r/v1/x.sh");
	CU_ASSERT_PTR_NULL(run.req.code);
	CU_ASSERT_PTR_NULL(run.req.runtime);
	CU_ASSERT_PTR_NULL(run.req.file_extension);
	CU_ASSERT_EQUAL(strlen(run.req.code_hash), 64);
	isol8_cli_run_free(&run);

	/* --gist with --runtime: the runtime is checked and sent as given. */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--gist", "abc/tool", "--runtime", "python", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, false, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.code_url, "https://gist.githubusercontent.com/abc/raw/tool");
	CU_ASSERT_STRING_EQUAL(run.req.runtime, "python");
	isol8_cli_run_free(&run);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "--url", "https://h/a.py", "--runtime", "ruby", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, false, &err), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_finish(&run, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unknown runtime \"ruby\" (valid: python, node, bun, deno, bash)");
	isol8_cli_run_free(&run);
}

/* ---------------------------------------------------------------- addresses */

static void test_host_target(void)
{
	static const struct {
		const char *host;
		const char *target;
		bool tls;
	} good[] = {
		{"localhost:50051", "localhost:50051", false},
		{"http://server:3000", "server:3000", false},
		{"http://server:3000/", "server:3000", false},
		{"HTTPS://h.example:443", "h.example:443", true},
		{"[::1]:9000", "[::1]:9000", false},
		{"http://[::1]:9000", "[::1]:9000", false},
		{"unix:/run/x.sock", "unix:/run/x.sock", false},
	};
	static const char *const bad[] = {
		"server", "http://server", "server:", "server:0", "server:70000", "server:12ab",
		"ftp://h:1", "http://h:1/path", "::1:80", "unix:", "", "[::1]", ":80",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		bool tls = !good[i].tls;

		CU_ASSERT_EQUAL(isol8_cli_host_target(good[i].host, buf, sizeof(buf), &tls, &err), 0);
		CU_ASSERT_STRING_EQUAL(buf, good[i].target);
		CU_ASSERT_EQUAL(tls, good[i].tls);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		bool tls;

		if (isol8_cli_host_target(bad[i], buf, sizeof(buf), &tls, &err) != -ISOL8_E_INVALID) {
			fprintf(stderr, "\n  accepted --host \"%s\"\n", bad[i]);
			CU_FAIL("bad host accepted");
		}
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--host"));
	}
}

static void test_socket_path(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char buf[256];
	bool priv;
	char long_env[200];

	CU_ASSERT_EQUAL(isol8_cli_socket_path(buf, sizeof(buf), 0, NULL, "/run/user/0", &priv, &err),
			0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/isol8/isol8.sock");
	CU_ASSERT_TRUE(priv);
	CU_ASSERT_EQUAL(
		isol8_cli_socket_path(buf, sizeof(buf), 1000, NULL, "/run/user/1000", &priv, &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/user/1000/isol8/isol8.sock");
	CU_ASSERT_EQUAL(isol8_cli_socket_path(buf, sizeof(buf), 1000, NULL, NULL, &priv, &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/tmp/isol8-1000/isol8.sock");
	CU_ASSERT_EQUAL(isol8_cli_socket_path(buf, sizeof(buf), 1000, "", "relative", &priv, &err),
			0);
	CU_ASSERT_STRING_EQUAL(buf, "/tmp/isol8-1000/isol8.sock");
	CU_ASSERT_EQUAL(
		isol8_cli_socket_path(buf, sizeof(buf), 0, "/srv/d.sock", "/run/user/0", &priv, &err),
		0);
	CU_ASSERT_STRING_EQUAL(buf, "/srv/d.sock");
	CU_ASSERT_FALSE(priv);
	memset(long_env, 'a', sizeof(long_env) - 1);
	long_env[0] = '/';
	long_env[sizeof(long_env) - 1] = '\0';
	CU_ASSERT_EQUAL(isol8_cli_socket_path(buf, sizeof(buf), 1000, long_env, NULL, &priv, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too long"));

}

/* ---------------------------------------------------------------- exit statuses and output */

static void test_exit_status(void)
{
	struct isol8_result res = {0};

	res.exit_code = 3;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 3);
	res.exit_code = 0;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 0);
	res.exit_code = 137;
	res.signal = 9;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 137);
	res.signal = 15;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 143);
	/* A timeout and an OOM kill exit 137, as the original's CLI. */
	res.signal = 0;
	res.exit_code = 0;
	res.timed_out = true;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 137);
	res.timed_out = false;
	res.oom_killed = true;
	CU_ASSERT_EQUAL(isol8_cli_exit_status(&res), 137);
	CU_ASSERT_EQUAL(ISOL8_CLI_EXIT_ERROR, 1);
}

static void test_level_tags(void)
{
	CU_ASSERT_STRING_EQUAL(isol8_cli_level_tag(ISOL8_CLI_INFO), "[INFO]");
	CU_ASSERT_STRING_EQUAL(isol8_cli_level_tag(ISOL8_CLI_WARN), "[WARN]");
	CU_ASSERT_STRING_EQUAL(isol8_cli_level_tag(ISOL8_CLI_ERR), "[ERR]");
	CU_ASSERT_STRING_EQUAL(isol8_cli_level_tag(ISOL8_CLI_DONE), "[DONE]");
	CU_ASSERT_STRING_EQUAL(isol8_cli_level_tag(ISOL8_CLI_DEBUG), "[DEBUG]");
}

static void test_disconnect(void)
{
	static const struct {
		int code;
		const char *message;
		bool disconnect;
	} cases[] = {
		{ISOL8_E_UNAVAILABLE, "Socket closed", true},
		{ISOL8_E_UNAVAILABLE, "Cancelling all calls", true},
		{ISOL8_E_CANCELLED, "Cancelling all calls", true},
		{ISOL8_E_INTERNAL, "Connection reset by peer", true},
		{ISOL8_E_UNAVAILABLE, "docker: cannot reach /var/run/docker.sock", false},
		{ISOL8_E_INVALID, "Socket closed", false},
		{ISOL8_E_UNIMPLEMENTED, "session_id: not served yet", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;

		isol8_error_set(&err, cases[i].code, "%s", cases[i].message);
		if (isol8_cli_error_is_disconnect(&err) != cases[i].disconnect) {
			fprintf(stderr, "\n  %s: wrong\n", cases[i].message);
			CU_FAIL("disconnect misjudged");
		}
	}
}

static void test_setup_line(void)
{
	struct isol8_setup_event ev = {0};
	char buf[256];

	ev.image = "isol8:python";
	ev.phase = ISOL8_SETUP_BUILDING;
	ev.message = "Step 3/7 : RUN apt-get update\n";
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[..] isol8:python: Step 3/7 : RUN apt-get update");
	ev.phase = ISOL8_SETUP_UP_TO_DATE;
	ev.message = "";
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[OK] isol8:python: Up to date");
	ev.phase = ISOL8_SETUP_BUILT;
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[OK] isol8:python: Built");
	ev.phase = ISOL8_SETUP_FAILED;
	ev.message = "exit 1";
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[ERR] isol8:python: exit 1");
	ev.image = "";
	ev.phase = ISOL8_SETUP_DONE;
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "");
	ev.phase = (enum isol8_setup_phase)99; /* unknown phase from a newer daemon */
	ev.message = "x";
	isol8_cli_setup_line(&ev, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "x");
}

/* ---------------------------------------------------------------- --setup and --files */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_run_setup_script(void)
{
	char dir[] = "/tmp/isol8-test-cli-XXXXXX";
	char path[64];
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/setup.sh", dir);
	write_file(path, "pip install x\n");
	/* A value naming a file is its content; any other is the commands. */
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-e", "1", "--setup", path, "--setup",
					"echo two", NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, true, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_STRING_EQUAL(run.req.setup_script, "pip install x\n\necho two");
	isol8_cli_run_free(&run);
	unlink(path);
	rmdir(dir);
}

static void test_run_files_dir(void)
{
	char dir[] = "/tmp/isol8-test-cli-XXXXXX";
	char path[128];
	struct isol8_cli_run run;
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *want[] = {"/sandbox/a.txt", "/sandbox/sub/b.txt"};
	int found = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	write_file(path, "A");
	snprintf(path, sizeof(path), "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/b.txt", dir);
	write_file(path, "BB");
	snprintf(path, sizeof(path), "%s/node_modules", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/node_modules/skip.js", dir);
	write_file(path, "skipped");
	snprintf(path, sizeof(path), "%s/link", dir);
	CU_ASSERT_EQUAL_FATAL(symlink("/etc/hostname", path), 0);

	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-e", "1", "--files", dir, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_load_code(&run, -1, true, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_cli_run_finish(&run, &err), 0);
	CU_ASSERT_EQUAL_FATAL(run.req.n_files, 2);
	for (size_t i = 0; i < run.req.n_files; i++) {
		const struct isol8_file *f = &run.req.files[i];

		if (strcmp(f->path, want[0]) == 0 && f->size == 1 && memcmp(f->data, "A", 1) == 0)
			found |= 1;
		if (strcmp(f->path, want[1]) == 0 && f->size == 2 && memcmp(f->data, "BB", 2) == 0)
			found |= 2;
	}
	CU_ASSERT_EQUAL(found, 3);
	isol8_cli_run_free(&run);

	/* Not a directory. */
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	CU_ASSERT_EQUAL_FATAL(parse_run(&run, &err, "-e", "1", "--files", path, NULL), 0);
	CU_ASSERT_EQUAL(isol8_cli_run_load_code(&run, -1, true, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--files path is not a directory: "));
	isol8_cli_run_free(&run);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(path), 0);
}

/* ---------------------------------------------------------------- Docker lists (cleanup) */

static void test_docker_lists(void)
{
	static const char containers[] =
		"[{\"Id\":\"abc123\",\"Image\":\"isol8:python\",\"State\":\"running\","
		"\"Created\":1700000000,\"Labels\":{\"isol8.managed\":\"true\","
		"\"isol8.instance\":\"i1\",\"isol8.owner\":\"/run/x.sock\"}},"
		"{\"Id\":\"def456\",\"Image\":\"isol8:bash\",\"State\":\"exited\",\"Labels\":{}},"
		"{\"Image\":\"no-id\"}, 7]";
	static const char images[] =
		"[{\"Id\":\"sha256:aa\",\"RepoTags\":[\"isol8:python\",\"other:1\"]},"
		"{\"Id\":\"sha256:bb\",\"RepoTags\":[\"debian:12\"]},"
		"{\"Id\":\"sha256:cc\",\"RepoTags\":null},"
		"{\"Id\":\"sha256:dd\",\"RepoTags\":[\"isol8:base\",\"isol8:latest\"]}]";
	struct isol8_cli_containers c;
	struct isol8_cli_images im;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char sock[128];

	CU_ASSERT_EQUAL_FATAL(isol8_cli_docker_parse_containers(containers, &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, 2);
	CU_ASSERT_STRING_EQUAL(c.items[0].id, "abc123");
	CU_ASSERT_STRING_EQUAL(c.items[0].image, "isol8:python");
	CU_ASSERT_STRING_EQUAL(c.items[0].state, "running");
	CU_ASSERT_STRING_EQUAL(c.items[0].instance, "i1");
	CU_ASSERT_STRING_EQUAL(c.items[0].owner, "/run/x.sock");
	CU_ASSERT_EQUAL(c.items[0].created, 1700000000);
	CU_ASSERT_STRING_EQUAL(c.items[1].instance, "");
	isol8_cli_containers_free(&c);

	CU_ASSERT_EQUAL_FATAL(isol8_cli_docker_parse_images(images, &im, &err), 0);
	CU_ASSERT_EQUAL_FATAL(im.n, 2);
	CU_ASSERT_STRING_EQUAL(im.items[0].tags, "isol8:python");
	CU_ASSERT_STRING_EQUAL(im.items[1].id, "sha256:dd");
	CU_ASSERT_STRING_EQUAL(im.items[1].tags, "isol8:base, isol8:latest");
	isol8_cli_images_free(&im);

	CU_ASSERT_EQUAL(isol8_cli_docker_parse_containers("{\"x\":1}", &c, &err), -ISOL8_E_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not a JSON array"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_cli_docker_parse_images("garbage", &im, &err), -ISOL8_E_PROTOCOL);
	isol8_error_clear(&err);

	CU_ASSERT_EQUAL(isol8_cli_docker_socket(NULL, sock, sizeof(sock), &err), 0);
	CU_ASSERT_STRING_EQUAL(sock, "/var/run/docker.sock");
	CU_ASSERT_EQUAL(isol8_cli_docker_socket("unix:///srv/d.sock", sock, sizeof(sock), &err), 0);
	CU_ASSERT_STRING_EQUAL(sock, "/srv/d.sock");
	CU_ASSERT_EQUAL(isol8_cli_docker_socket("tcp://h:2375", sock, sizeof(sock), &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "DOCKER_HOST"));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"network log lines", test_network_log_json},
		{"cp: the session side and the local side", test_cp_sides},
		{"cp: usage errors", test_cp_usage_errors},
		{"detect extensions", test_detect_extensions},
		{"detect --runtime override", test_detect_override},
		{"detect errors", test_detect_errors},
		{"run defaults", test_run_defaults},
		{"run default runtime", test_run_default_runtime},
		{"run --setup", test_run_setup_script},
		{"run --files", test_run_files_dir},
		{"run every flag", test_run_all_flags},
		{"run --persistent session", test_run_persistent_session},
		{"run bad values name the flag", test_run_bad_values},
		{"run usage errors", test_run_usage_errors},
		{"run code from file", test_run_code_from_file},
		{"run code from stdin", test_run_code_from_stdin},
		{"read_all bound", test_read_all_bound},
		{"code urls", test_code_urls},
		{"host target", test_host_target},
		{"socket path", test_socket_path},
		{"exit status", test_exit_status},
		{"setup line", test_setup_line},
		{"level tags", test_level_tags},
		{"disconnect errors", test_disconnect},
		{"docker lists", test_docker_lists},
	};

	return isol8_test_run("cli", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
