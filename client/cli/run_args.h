/*
 * `isol8 run` flags turned into an ExecuteRequest.
 *
 * Use: isol8_cli_run_init, isol8_cli_run_parse (flags only, no I/O),
 * isol8_cli_run_load_code (reads FILE or stdin when needed),
 * isol8_cli_run_finish (runtime detection, code URL, maps; after it `req` is
 * ready to send), isol8_cli_run_free. Every pointer inside `req` points into
 * the struct itself or into argv, so argv must outlive it.
 */
#ifndef ISOL8_CLI_RUN_ARGS_H
#define ISOL8_CLI_RUN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"
#include "cli/options.h"

/* Largest code read from a file or stdin. */
#define ISOL8_CLI_MAX_CODE (16u * 1024u * 1024u)

/* Defaults of the original CLI's run flags. */
#define ISOL8_CLI_DEFAULT_TIMEOUT_MS 30000
#define ISOL8_CLI_DEFAULT_MEMORY "512m"
#define ISOL8_CLI_DEFAULT_CPU 1.0
#define ISOL8_CLI_DEFAULT_PIDS 64
#define ISOL8_CLI_DEFAULT_MAX_OUTPUT 1048576
#define ISOL8_CLI_DEFAULT_SANDBOX_SIZE "512m"
#define ISOL8_CLI_DEFAULT_TMP_SIZE "256m"
#define ISOL8_CLI_DEFAULT_NETWORK "none"
/* Session used by --persistent without --session. */
#define ISOL8_CLI_DEFAULT_SESSION "default"

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
	bool no_stream;
	bool persistent;
	bool debug;
	bool help;
	bool writable;

	/* The request and the parts it points to. */
	Isol8__V1__ExecuteRequest req;
	Isol8__V1__ExecutionOptions options;
	Isol8__V1__NetworkFilter filter;
	Google__Protobuf__BoolValue readonly;
	struct isol8_cli_strv allow;
	struct isol8_cli_strv deny;
	struct isol8_cli_strv install;
	struct isol8_cli_kvv secrets;
	struct isol8_cli_kvv env;
	Isol8__V1__ExecutionOptions__SecretsEntry *secret_entries;
	Isol8__V1__ExecutionOptions__SecretsEntry **secret_ptrs;
	Isol8__V1__ExecuteRequest__EnvEntry *env_entries;
	Isol8__V1__ExecuteRequest__EnvEntry **env_ptrs;
	char *code;     /* owned: read from FILE or stdin */
	char *code_url; /* owned: --url, --github or --gist expanded */
};

void isol8_cli_run_init(struct isol8_cli_run *run);
void isol8_cli_run_free(struct isol8_cli_run *run);

/* The flag table as help text. */
void isol8_cli_run_usage(FILE *out);

/* Parses argv (argv[0] is the verb) into run. Sets run->help for -h/--help. */
int isol8_cli_run_parse(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err);

/* Reads the code when it comes from FILE or stdin (stdin only when it is
 * not a terminal). No-op for -e and code URLs. */
int isol8_cli_run_load_code(struct isol8_cli_run *run, int stdin_fd, bool stdin_is_tty,
			    struct isol8_error *err);

/* Picks the runtime, expands code URLs and fills the request's maps. */
int isol8_cli_run_finish(struct isol8_cli_run *run, struct isol8_error *err);

/* --github OWNER/REPO/REF/PATH and --gist ID/FILE to raw URLs (malloc'd). */
int isol8_cli_github_url(const char *spec, char **out, struct isol8_error *err);
int isol8_cli_gist_url(const char *spec, char **out, struct isol8_error *err);

/* Reads all of fd, at most max bytes, NUL-terminated; name is for messages. */
int isol8_cli_read_all(int fd, const char *name, size_t max, char **out, size_t *len,
		       struct isol8_error *err);

#endif
