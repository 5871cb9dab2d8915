/* `isol8 run` flags: one table row per flag, see run_args.h. */
#include "cli/run_args.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef int (*flag_apply_fn)(struct isol8_cli_run *run, const char *flag, char *value,
			     struct isol8_error *err);

enum flag_kind {
	FLAG_STRING, /* stores the value at offset (a char * or const char *) */
	FLAG_TRUE,   /* sets the bool at offset */
	FLAG_CALL,   /* calls apply */
};

struct run_flag {
	const char *name; /* long name without "--" */
	char short_name;  /* 0 when none */
	const char *metavar; /* NULL for a flag without value */
	enum flag_kind kind;
	size_t offset;
	flag_apply_fn apply;
	const char *help; /* one line, with the default */
	const char *field; /* the request field it sets, as the daemon's errors name it */
};

#define AT(field) offsetof(struct isol8_cli_run, field)

static int apply_timeout(struct isol8_cli_run *run, const char *flag, char *value,
			 struct isol8_error *err)
{
	int64_t ms;
	int ret = isol8_cli_parse_int(flag, value, 1, INT32_MAX,
				      "a positive number of milliseconds (e.g. 30000)", &ms, err);

	if (ret == 0)
		run->req.timeout_ms = ms;
	return ret;
}

static int apply_pids(struct isol8_cli_run *run, const char *flag, char *value,
		      struct isol8_error *err)
{
	int64_t n;
	int ret = isol8_cli_parse_int(flag, value, 1, 1000000,
				      "a positive number of processes (e.g. 64)", &n, err);

	if (ret == 0)
		run->options.pids_limit = (int)n;
	return ret;
}

static int apply_max_output(struct isol8_cli_run *run, const char *flag, char *value,
			    struct isol8_error *err)
{
	int64_t n;
	int ret = isol8_cli_parse_int(flag, value, 1, INT64_MAX / 2,
				      "a positive number of bytes (e.g. 1048576)", &n, err);

	if (ret == 0)
		run->options.max_output_size = n;
	return ret;
}

static int apply_cpu(struct isol8_cli_run *run, const char *flag, char *value,
		     struct isol8_error *err)
{
	return isol8_cli_parse_cpu(flag, value, &run->options.cpu_limit, err);
}

static int apply_memory(struct isol8_cli_run *run, const char *flag, char *value,
			struct isol8_error *err)
{
	int ret = isol8_cli_check_size(flag, value, err);

	if (ret == 0)
		run->options.memory_limit = value;
	return ret;
}

static int apply_sandbox_size(struct isol8_cli_run *run, const char *flag, char *value,
			      struct isol8_error *err)
{
	int ret = isol8_cli_check_size(flag, value, err);

	if (ret == 0)
		run->options.sandbox_size = value;
	return ret;
}

static int apply_tmp_size(struct isol8_cli_run *run, const char *flag, char *value,
			  struct isol8_error *err)
{
	int ret = isol8_cli_check_size(flag, value, err);

	if (ret == 0)
		run->options.tmp_size = value;
	return ret;
}

static int apply_net(struct isol8_cli_run *run, const char *flag, char *value,
		     struct isol8_error *err)
{
	static const char *const modes[] = {"none", "host", "filtered"};

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(modes); i++) {
		if (strcmp(modes[i], value) == 0) {
			run->options.network = value;
			return 0;
		}
	}
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "%s: \"%s\" is not a network mode (none, host, filtered)", flag,
			       value);
}

static int apply_allow(struct isol8_cli_run *run, const char *flag, char *value,
		       struct isol8_error *err)
{
	return isol8_cli_strv_push(&run->allow, flag, value, err);
}

static int apply_deny(struct isol8_cli_run *run, const char *flag, char *value,
		      struct isol8_error *err)
{
	return isol8_cli_strv_push(&run->deny, flag, value, err);
}

static int apply_install(struct isol8_cli_run *run, const char *flag, char *value,
			 struct isol8_error *err)
{
	if (value[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: empty package name", flag);
	return isol8_cli_strv_push(&run->install, flag, value, err);
}

bool isol8_cli_env_name_valid(const char *name)
{
	static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";

	return name[0] != '\0' && strchr(first, name[0]) != NULL &&
	       strspn(name, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") ==
		       strlen(name);
}

/* KEY=VALUE with KEY an environment variable name, appended to v. */
static int push_env_kv(struct isol8_cli_kvv *v, const char *flag, const char *value,
		       struct isol8_error *err)
{
	int ret = isol8_cli_kvv_push(v, flag, value, err);

	if (ret < 0)
		return ret;
	if (!isol8_cli_env_name_valid(v->items[v->n - 1].key))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a variable name (KEY=VALUE, KEY of letters, "
				       "digits and _, not starting with a digit)",
				       flag, v->items[v->n - 1].key);
	return 0;
}

static int apply_secret(struct isol8_cli_run *run, const char *flag, char *value,
			struct isol8_error *err)
{
	return push_env_kv(&run->secrets, flag, value, err);
}

static int apply_env(struct isol8_cli_run *run, const char *flag, char *value,
		     struct isol8_error *err)
{
	return push_env_kv(&run->env, flag, value, err);
}

static int apply_setup(struct isol8_cli_run *run, const char *flag, char *value,
		       struct isol8_error *err)
{
	if (value[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: empty (give a script file or the commands)", flag);
	return isol8_cli_strv_push(&run->setup, flag, value, err);
}

static int apply_workdir(struct isol8_cli_run *run, const char *flag, char *value,
			 struct isol8_error *err)
{
	if (value[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: empty (give a directory inside /sandbox, e.g. src or "
				       "/sandbox/src)",
				       flag);
	run->req.workdir = value;
	return 0;
}

static int apply_cmd(struct isol8_cli_run *run, const char *flag, char *value,
		     struct isol8_error *err)
{
	if (value[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: empty (give a shell command)", flag);
	run->cmd = value;
	return 0;
}

static int apply_stdin(struct isol8_cli_run *run, const char *flag, char *value,
		       struct isol8_error *err)
{
	(void)flag;
	(void)err;
	run->req.stdin_data = value;
	run->req.stdin_size = strlen(value);
	return 0;
}

static int apply_hash(struct isol8_cli_run *run, const char *flag, char *value,
		      struct isol8_error *err)
{
	if (strlen(value) != 64 || strspn(value, "0123456789abcdefABCDEF") != 64)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a SHA-256 digest (64 hex digits)", flag,
				       value);
	run->req.code_hash = value;
	return 0;
}

static int apply_session(struct isol8_cli_run *run, const char *flag, char *value,
			 struct isol8_error *err)
{
	if (value[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: empty (give a session name)", flag);
	run->req.session_id = value;
	return 0;
}

static const struct run_flag run_flags[] = {
	{"eval", 'e', "CODE", FLAG_STRING, AT(eval), NULL, "run this code (python unless --runtime)"},
	{"cmd", 0, "COMMAND", FLAG_CALL, 0, apply_cmd,
	 "run a bash command instead of code (any runtime's image; default bash)", "cmd"},
	{"runtime", 'r', "RT", FLAG_STRING, AT(runtime), NULL,
	 "python, node, bun, deno or bash (default: by extension, else python)", "runtime"},
	{"net", 0, "MODE", FLAG_CALL, 0, apply_net, "network: none, host or filtered (default none)", "options.network"},
	{"allow", 0, "REGEX", FLAG_CALL, 0, apply_allow,
	 "host whitelist regex for --net filtered (repeatable)", "options.network_filter"},
	{"deny", 0, "REGEX", FLAG_CALL, 0, apply_deny,
	 "host blacklist regex for --net filtered (repeatable)", "options.network_filter"},
	{"log-network", 0, NULL, FLAG_TRUE, AT(options.log_network), NULL,
	 "log every network request (with --net filtered)", "options.log_network"},
	{"out", 0, "FILE", FLAG_STRING, AT(out_path), NULL,
	 "also write stdout to FILE (streamed or not)"},
	{"no-stream", 0, NULL, FLAG_TRUE, AT(no_stream), NULL,
	 "print the output at the end instead of as it comes"},
	{"interactive", 'i', NULL, FLAG_TRUE, AT(interactive), NULL,
	 "send stdin to the program as it comes (Ctrl-C: SIGINT; twice in 1 s: SIGKILL)"},
	{"tty", 't', NULL, FLAG_TRUE, AT(tty), NULL,
	 "run on a terminal, this one in raw mode (implies -i; stdin must be a terminal)", "tty"},
	{"persistent", 0, NULL, FLAG_TRUE, AT(persistent), NULL,
	 "keep one sandbox for this call, removed when it ends (one run: a normal run)"},
	{"session-id", 0, "NAME", FLAG_CALL, 0, apply_session,
	 "run in the daemon's session NAME, kept between calls (created on first use)", "session_id"},
	{"session", 0, "NAME", FLAG_CALL, 0, apply_session, "the same as --session-id"},
	{"persist", 0, NULL, FLAG_TRUE, AT(options.persist), NULL,
	 "keep the container after the run for inspection (its id on stderr)", "options.persist"},
	{"debug", 0, NULL, FLAG_TRUE, AT(debug), NULL,
	 "[DEBUG] lines: connection, timings, the execution's details"},
	{"timeout", 0, "MS", FLAG_CALL, 0, apply_timeout,
	 "execution timeout in milliseconds (default 30000)", "timeout_ms"},
	{"memory", 0, "SIZE", FLAG_CALL, 0, apply_memory, "memory limit, e.g. 512m, 1g (default 512m)", "options.memory_limit"},
	{"cpu", 0, "N", FLAG_CALL, 0, apply_cpu, "CPU limit in cores, e.g. 0.5, 2.0 (default 1.0)", "options.cpu_limit"},
	{"image", 0, "NAME", FLAG_STRING, AT(options.image), NULL,
	 "Docker image (default: the runtime's isol8 image)", "options.image"},
	{"pids-limit", 0, "N", FLAG_CALL, 0, apply_pids, "maximum number of processes (default 64)", "options.pids_limit"},
	{"writable", 0, NULL, FLAG_TRUE, AT(writable), NULL,
	 "writable root filesystem (default read-only)", "options.readonly_root_fs"},
	{"max-output", 0, "BYTES", FLAG_CALL, 0, apply_max_output,
	 "cap on output bytes (default 1048576)", "options.max_output_size"},
	{"secret", 0, "KEY=VALUE", FLAG_CALL, 0, apply_secret,
	 "secret environment variable, masked as *** in output (repeatable)", "options.secrets"},
	{"env", 0, "KEY=VALUE", FLAG_CALL, 0, apply_env, "environment variable (repeatable)", "env"},
	{"sandbox-size", 0, "SIZE", FLAG_CALL, 0, apply_sandbox_size,
	 "size of /sandbox, e.g. 512m (default 512m)", "options.sandbox_size"},
	{"tmp-size", 0, "SIZE", FLAG_CALL, 0, apply_tmp_size,
	 "size of /tmp, e.g. 256m (default 256m)", "options.tmp_size"},
	{"stdin", 0, "DATA", FLAG_CALL, 0, apply_stdin, "data for the program's standard input", "stdin"},
	{"install", 0, "PKG", FLAG_CALL, 0, apply_install,
	 "install a package for the runtime first (repeatable)", "install_packages"},
	{"setup", 0, "SCRIPT", FLAG_CALL, 0, apply_setup,
	 "bash run before the code: a script file, or the commands (repeatable)", "setup_script"},
	{"workdir", 0, "DIR", FLAG_CALL, 0, apply_workdir,
	 "working directory inside /sandbox (e.g. src, /sandbox/src)", "workdir"},
	{"files", 0, "DIR", FLAG_STRING, AT(files_dir), NULL,
	 "copy the files under local DIR into /sandbox first", "files"},
	{"url", 0, "URL", FLAG_STRING, AT(url), NULL, "fetch the code from URL", "code_url"},
	{"github", 0, "OWNER/REPO/REF/PATH", FLAG_STRING, AT(github), NULL,
	 "fetch https://raw.githubusercontent.com/OWNER/REPO/REF/PATH"},
	{"gist", 0, "ID/FILE", FLAG_STRING, AT(gist), NULL,
	 "fetch https://gist.githubusercontent.com/ID/raw/FILE"},
	{"hash", 0, "SHA256", FLAG_CALL, 0, apply_hash, "expected SHA-256 of fetched code", "code_hash"},
	{"allow-insecure-code-url", 0, NULL, FLAG_TRUE, AT(req.allow_insecure_code_url), NULL,
	 "allow an http:// code URL"},
	{"host", 0, "HOST:PORT", FLAG_STRING, AT(host), NULL,
	 "remote isol8d (also http://HOST:PORT, unix:/PATH)"},
	{"key", 0, "KEY", FLAG_STRING, AT(key), NULL, "API key for --host (default $ISOL8_API_KEY)"},
	{"help", 'h', NULL, FLAG_TRUE, AT(help), NULL, "show this help"},
};

#define N_FLAGS ISOL8_ARRAY_LEN(run_flags)

const char *isol8_cli_run_flag_of(const char *message)
{
	for (size_t i = 0; i < N_FLAGS; i++) {
		const char *field = run_flags[i].field;
		size_t n = field ? strlen(field) : 0;
		if (n > 0 && strncmp(message, field, n) == 0 && (message[n] == ':' || message[n] == '['))
			return run_flags[i].name;
	}
	return NULL;
}
#define LONG_BASE 256

void isol8_cli_run_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 run [FILE] [flags]\n\n"
		     "Runs code in a sandbox: FILE (\"-\" for stdin), -e CODE, --cmd COMMAND, a code\n"
		     "URL, or code piped on stdin. The runtime comes from --runtime, else FILE's\n"
		     "(or the URL's) extension; -e and stdin run as python. A URL is fetched by\n"
		     "isol8d under its remoteCode policy (off unless its configuration enables it).\n"
		     "Exit status: the program's; 137 when it timed out or ran out of memory,\n"
		     "128+N when signal N killed it; 1 for isol8's own errors (message on stderr).\n"
		     "Flags left out take the daemon's configured defaults (shown below as the\n"
		     "built-in ones). Without --host it uses the local isol8d, started in the\n"
		     "background when none answers (environment: ISOL8_SOCKET, ISOL8D,\n"
		     "ISOL8_IDLE_EXIT; ISOL8_TLS_CA for https:// hosts).\n\nFlags:\n");
	for (size_t i = 0; i < N_FLAGS; i++) {
		const struct run_flag *f = &run_flags[i];
		const char *metavar = f->metavar != NULL ? f->metavar : "";
		const char *space = f->metavar != NULL ? " " : "";
		char left[64];

		if (f->short_name != 0)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", f->short_name, f->name, space,
				 metavar);
		else
			snprintf(left, sizeof(left), "    --%s%s%s", f->name, space, metavar);
		fprintf(out, "  %-32s %s\n", left, f->help);
	}
}

void isol8_cli_run_init(struct isol8_cli_run *run)
{
	*run = (struct isol8_cli_run){0};
	run->req.options = &run->options;
}

void isol8_cli_run_free(struct isol8_cli_run *run)
{
	isol8_cli_strv_free(&run->allow);
	isol8_cli_strv_free(&run->deny);
	isol8_cli_strv_free(&run->install);
	isol8_cli_strv_free(&run->setup);
	isol8_cli_kvv_free(&run->secrets);
	isol8_cli_kvv_free(&run->env);
	free(run->code);
	free(run->code_url);
	free(run->setup_script);
	for (size_t i = 0; i < run->n_files; i++) {
		free((char *)run->files[i].path);
		free((void *)run->files[i].data);
	}
	free(run->files);
	*run = (struct isol8_cli_run){0};
}

static int apply_flag(struct isol8_cli_run *run, const struct run_flag *f, char *value,
		      struct isol8_error *err)
{
	char flag[48];

	snprintf(flag, sizeof(flag), "--%s", f->name);
	switch (f->kind) {
	case FLAG_STRING:
		*(const char **)((char *)run + f->offset) = value;
		return 0;
	case FLAG_TRUE:
		*(bool *)((char *)run + f->offset) = true;
		return 0;
	case FLAG_CALL:
		return f->apply(run, flag, value, err);
	}
	return isol8_error_set(err, ISOL8_E_INTERNAL, "flag --%s has no kind", f->name);
}

/* The row of getopt's answer c, or NULL. */
static const struct run_flag *flag_of(int c)
{
	if (c >= LONG_BASE && c < LONG_BASE + (int)N_FLAGS)
		return &run_flags[c - LONG_BASE];
	for (size_t i = 0; i < N_FLAGS; i++)
		if (run_flags[i].short_name != 0 && run_flags[i].short_name == c)
			return &run_flags[i];
	return NULL;
}

/* Checks that fit no single flag: one code source, --hash needs a URL. */
static int check_sources(struct isol8_cli_run *run, struct isol8_error *err)
{
	int sources = (run->file != NULL) + (run->eval != NULL) + (run->url != NULL) +
		      (run->github != NULL) + (run->gist != NULL);

	if (run->cmd != NULL && sources > 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--cmd cannot be combined with file input, --eval, --url, "
				       "--github, or --gist");
	if (sources > 1)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "give only one code source: FILE, -e, --url, --github or "
				       "--gist");
	if (run->req.code_hash != NULL && run->url == NULL && run->github == NULL &&
	    run->gist == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "--hash needs --url, --github or --gist");
	run->interactive = run->interactive || run->tty;
	run->req.tty = run->tty;
	if (run->interactive && run->no_stream)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--%s streams as it runs: it cannot be combined with --no-stream",
				       run->tty ? "tty" : "interactive");
	if (!run->writable)
		return 0;
	/* Only --writable sets the field: without it the daemon's default holds. */
	run->options.readonly_root_fs = 2;
	return 0;
}

int isol8_cli_run_parse(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err)
{
	struct option longopts[N_FLAGS + 1];
	char shortopts[2 + 2 * N_FLAGS + 1] = ":";
	size_t s = 1;
	int c;

	for (size_t i = 0; i < N_FLAGS; i++) {
		const struct run_flag *f = &run_flags[i];
		longopts[i] = (struct option){f->name, f->metavar ? required_argument : no_argument,
					      NULL, LONG_BASE + (int)i};
		if (f->short_name != 0) {
			shortopts[s++] = f->short_name;
			if (f->metavar != NULL)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	longopts[N_FLAGS] = (struct option){0};

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, shortopts, longopts, "run", err)) != -1) {
		const struct run_flag *f = flag_of(c);
		int ret;

		if (f == NULL)
			return -ISOL8_E_INVALID; /* err filled by isol8_cli_flags_next */
		ret = apply_flag(run, f, optarg, err);
		if (ret < 0)
			return ret;
	}
	if (run->help)
		return 0;
	if (optind < argc)
		run->file = argv[optind++];
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "unexpected argument \"%s\" (only one FILE)", argv[optind]);
	return check_sources(run, err);
}
