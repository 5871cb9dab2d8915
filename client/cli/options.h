/*
 * Flag parsing helpers shared by the CLI verbs: a getopt_long wrapper that
 * turns unknown flags and missing values into errors, strict number and size
 * parsers whose messages name the flag, and small lists for repeatable flags.
 *
 * Every parser returns 0 or a negative isol8 error code with err filled
 * (ISOL8_E_INVALID for bad input). Lists own only their arrays: the strings
 * of a strv point into argv; a kv list owns one copy per item. Both are laid
 * out as libisol8's request fields take them (a string array, struct isol8_kv).
 */
#ifndef ISOL8_CLI_OPTIONS_H
#define ISOL8_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"
#include "isol8/isol8.h"

/* Most items a repeatable flag takes (argv is bounded anyway; this keeps
 * the array sizes obviously small). */
#define ISOL8_CLI_MAX_REPEAT 4096

/* Restarts getopt_long on a new argv (tests parse many times). */
void isol8_cli_flags_reset(void);

/* The next flag, as getopt_long returns it; -1 at the end. shortopts must
 * start with ':'. An unknown flag or a missing value returns '?' with err
 * filled; verb names the command for the hint ("see isol8 VERB --help"). */
int isol8_cli_flags_next(int argc, char **argv, const char *shortopts,
			 const struct option *longopts, const char *verb, struct isol8_error *err);

/* A whole decimal number in [min, max], nothing else (no sign, no blanks).
 * what completes the message: `--timeout: "abc" is not <what>`. */
int isol8_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max,
			const char *what, int64_t *out, struct isol8_error *err);

/* A CPU fraction: a finite decimal in (0, 1024]. */
int isol8_cli_parse_cpu(const char *flag, const char *text, double *out, struct isol8_error *err);

/* A size such as 512m or 1g: digits then at most one of b, k, m, g (any
 * case); not zero. The text itself is the value sent. */
int isol8_cli_check_size(const char *flag, const char *text, struct isol8_error *err);

/* A list of strings that point into argv. */
struct isol8_cli_strv {
	const char **items;
	size_t n;
	size_t cap;
};

int isol8_cli_strv_push(struct isol8_cli_strv *v, const char *flag, const char *item,
			struct isol8_error *err);
void isol8_cli_strv_free(struct isol8_cli_strv *v);

/* KEY=VALUE items: each key is an owned copy cut at the first '=' (freed
 * by isol8_cli_kvv_free); its value points into the same allocation. */
struct isol8_cli_kvv {
	struct isol8_kv *items;
	size_t n;
	size_t cap;
};

/* Parses and appends "KEY=VALUE" (KEY not empty). */
int isol8_cli_kvv_push(struct isol8_cli_kvv *v, const char *flag, const char *text,
		       struct isol8_error *err);
void isol8_cli_kvv_free(struct isol8_cli_kvv *v);

#endif
