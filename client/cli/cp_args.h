/*
 * `isol8 cp SRC DST` arguments: exactly one side is a session's file,
 * SESSION:/abs/path, the other a local path ("-" for stdin or stdout).
 * Parsing does no I/O; the strings point into argv, which must outlive the
 * struct.
 */
#ifndef ISOL8_CLI_CP_ARGS_H
#define ISOL8_CLI_CP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "isol8/error.h"

/* A session id: 1 to 128 of [A-Za-z0-9._:-] (the daemon's rule). */
#define ISOL8_CLI_SESSION_ID_MAX 128

struct isol8_cli_cp {
	const char *host;  /* --host, or NULL */
	const char *key;   /* --key, or NULL */
	bool help;
	bool upload;       /* local -> session; else session -> local */
	const char *local; /* the local side; "-": stdin (upload) or stdout (download) */
	char session_id[ISOL8_CLI_SESSION_ID_MAX + 1];
	const char *path;  /* the session side's absolute path */
};

/* Splits spec when it names a session's file: the text before the first
 * '/' ends in ':' and is not just ':' (so "./a:/b" and "a:b" are local).
 * 1 with id and *path set, 0 when spec is a local path, negative with err
 * when the session id is not valid. */
int isol8_cli_cp_split(const char *spec, char id[ISOL8_CLI_SESSION_ID_MAX + 1], const char **path,
		       struct isol8_error *err);

/* Parses argv (argv[0] the verb) into cp; ISOL8_E_INVALID naming the
 * problem (a flag, a missing or extra argument, no or two session sides). */
int isol8_cli_cp_parse(struct isol8_cli_cp *cp, int argc, char **argv, struct isol8_error *err);

#endif
