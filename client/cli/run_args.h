/*
 * `isol8 run` flags turned into a libisol8 request (struct isol8_request).
 *
 * Use: isol8_cli_run_init, isol8_cli_run_parse (flags only, no I/O),
 * isol8_cli_run_load_code (reads FILE or stdin when needed),
 * isol8_cli_run_finish (runtime detection, code URL, maps; after it `req` is
 * ready to send), isol8_cli_run_free. Every pointer inside `req` points into
 * the struct itself or into argv, so argv must outlive it. A member of req
 * or options left NULL or zero is not sent.
 */
#ifndef ISOL8_CLI_RUN_ARGS_H
#define ISOL8_CLI_RUN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "isol8/error.h"
#include "isol8/isol8.h"
#include "cli/options.h"

/* Largest code read from a file or stdin. */
#define ISOL8_CLI_MAX_CODE (16u * 1024u * 1024u)

/* Most bytes and files --files reads from a directory (the daemon has its
 * own, smaller limit on a request and says so). */
#define ISOL8_CLI_MAX_FILES_BYTES (64u * 1024u * 1024u)
#define ISOL8_CLI_MAX_FILES 10000

/*
 * Only the flags the user gave enter the request: every option left out is
 * zero (or NULL), so the daemon's configuration decides it (the defaults
 * of the original, 30000 ms, 512m, ..., unless its config says otherwise).
 */
struct isol8_cli_run {
	/* Flags that are not request fields (argv strings, or NULL). */
	const char *file;    /* positional FILE; "-" = stdin */
	const char *eval;    /* -e */
	const char *runtime; /* -r */
	const char *out_path;
	const char *host;
	const char *key; /* --key, else $ISOL8_API_KEY */
	const char *url;
	const char *github;
	const char *gist;
	const char *cmd;       /* --cmd */
	const char *files_dir; /* --files */
	bool no_stream;
	bool persistent;
	bool debug;
	bool help;
	bool writable;
	bool interactive; /* -i: an interactive call, the terminal's stdin to the program */
	bool tty;         /* -t: and the program on a terminal (implies -i) */
	/* shell --session without --runtime: the session's own runtime when it
	 * exists (asked of the daemon), else bash */
	bool runtime_from_session;
	char session_runtime[32];

	/* The request and the parts it points to. */
	struct isol8_request req;
	struct isol8_options options;
	struct isol8_cli_strv allow;
	struct isol8_cli_strv deny;
	struct isol8_cli_strv install;
	struct isol8_cli_strv setup; /* --setup values: a file's path or the script */
	struct isol8_cli_kvv secrets;
	struct isol8_cli_kvv env;
	char *code;     /* owned: read from FILE or stdin */
	char *code_url; /* owned: --url, --github or --gist expanded */
	char *setup_script; /* owned: the --setup values joined by newlines */
	/* --files: "/sandbox/REL" with its content and the local file's
	 * permission bits, path and data owned */
	struct isol8_file *files;
	size_t n_files;
};

void isol8_cli_run_init(struct isol8_cli_run *run);
void isol8_cli_run_free(struct isol8_cli_run *run);

/* The run flag (its long name, without "--") that sets the request field an
 * error message of the daemon starts with ("options.memory_limit: ..."), or
 * NULL. */
const char *isol8_cli_run_flag_of(const char *message);

/* The flag table as help text. */
void isol8_cli_run_usage(FILE *out);

/* Parses argv (argv[0] is the verb) into run. Sets run->help for -h/--help. */
int isol8_cli_run_parse(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err);

/* Reads what the flags name on this machine: the code when it comes from
 * FILE or stdin (stdin only when it is not a terminal; never with -e, --cmd
 * or a code URL; never with -i, where stdin is the program's), the --setup
 * files, and the --files directory. A FILE that does not exist gives "File
 * not found: FILE" (ISOL8_E_NOT_FOUND); --tty wants stdin a terminal. */
int isol8_cli_run_load_code(struct isol8_cli_run *run, int stdin_fd, bool stdin_is_tty,
			    struct isol8_error *err);

/* `isol8 shell` flags (argv[0] is the verb) into run: an interactive
 * `bash -i` on a terminal (in the session's sandbox with --session), with
 * an hour's timeout unless --timeout says. Sets run->help for -h/--help. */
int isol8_cli_shell_parse(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err);
void isol8_cli_shell_usage(FILE *out);

/* Picks the runtime (a code URL's without --runtime is left to isol8d),
 * expands code URLs and fills the request's maps. */
int isol8_cli_run_finish(struct isol8_cli_run *run, struct isol8_error *err);

/* --github OWNER/REPO/REF/PATH and --gist ID/FILE to raw URLs (malloc'd). */
int isol8_cli_github_url(const char *spec, char **out, struct isol8_error *err);
int isol8_cli_gist_url(const char *spec, char **out, struct isol8_error *err);

/* Reads the regular files under dir (recursively; symbolic links and
 * .git, node_modules, __pycache__, .venv, venv, .tox are skipped, as the
 * original does) into run->files as "/sandbox/REL". */
int isol8_cli_run_read_files(struct isol8_cli_run *run, const char *dir, struct isol8_error *err);

/* True when name is an environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool isol8_cli_env_name_valid(const char *name);

/* Reads all of fd, at most max bytes, NUL-terminated; name is for messages. */
int isol8_cli_read_all(int fd, const char *name, size_t max, char **out, size_t *len,
		       struct isol8_error *err);

#endif
