/*
 * How isol8d runs each runtime: its shared row (base/runtimes.h: name, image,
 * code file extensions) and its command and environment. Adding a runtime
 * is a row there, a row in runtime.c, and its image under images/.
 */
#ifndef ISOL8_RUNTIME_H
#define ISOL8_RUNTIME_H

#include <stddef.h>

#include "base/runtimes.h"
#include "isol8/error.h"

#define ISOL8_RUNTIME_ARGV_MAX 8

struct isol8_runtime {
	const struct isol8_runtime_info *info;
	/* argv with "{file}" standing for the code file's path */
	const char *const argv[ISOL8_RUNTIME_ARGV_MAX];
	/* extra environment for every run, "K=V", NULL-terminated */
	const char *const *env;
};

/* The runtime named `name`, or NULL. */
const struct isol8_runtime *isol8_runtime_find(const char *name);

/* The table and its size, for listing. */
const struct isol8_runtime *isol8_runtime_all(size_t *count);

/* "python, node, bun, deno, bash" */
const char *isol8_runtime_names(void);

/* Builds the command for running code stored at code_path. argv gets at most
 * ISOL8_RUNTIME_ARGV_MAX entries plus a NULL; the strings point into the
 * table or at code_path. */
void isol8_runtime_argv(const struct isol8_runtime *rt, const char *code_path,
			const char *argv[ISOL8_RUNTIME_ARGV_MAX + 1]);

/* The code file's path for this runtime and an optional extension override
 * (e.g. "cjs" for Node CommonJS; "" or NULL for the default), written into
 * buf as "/sandbox/main.<ext>". ISOL8_E_INVALID if the extension does not
 * belong to the runtime (the message lists those that do). */
int isol8_runtime_code_path(const struct isol8_runtime *rt, const char *ext, char *buf, size_t size,
			    struct isol8_error *err);

#endif
