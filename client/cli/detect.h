/*
 * Runtime detection for `isol8 run`: the --runtime flag wins; otherwise the
 * extension of the code's file name picks the runtime, from the table both
 * sides share (base/runtimes.h). A code URL's is isol8d's to pick, from the
 * same table, so that every client gets the same. Node code also gets a file extension so the daemon runs .cjs as
 * CommonJS and everything else as ES modules.
 */
#ifndef ISOL8_CLI_DETECT_H
#define ISOL8_CLI_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "isol8/error.h"

struct isol8_cli_runtime_choice {
	const char *runtime;        /* "python", "node", "bun", "deno" or "bash" */
	const char *file_extension; /* "cjs" / "mjs" for node files, else NULL */
};

/* True when name is one of the runtimes (base/runtimes.h). */
bool isol8_cli_runtime_valid(const char *name);

/* source_name: the file name or URL the code comes from, NULL for -e or
 * stdin. forced: the --runtime value or NULL. Fills *out with static strings. */
int isol8_cli_detect_runtime(const char *source_name, const char *forced,
			     struct isol8_cli_runtime_choice *out, struct isol8_error *err);

#endif
