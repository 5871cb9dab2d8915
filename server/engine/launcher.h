/* Pre-started interpreters: the launcher of a runtime and when a request
 * may use it. See launcher.c. */
#ifndef ISOL8_LAUNCHER_H
#define ISOL8_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>

struct isol8_launcher {
	const char *runtime;
	const char *const argv[4];   /* NULL-ended */
	const char *const *exts;     /* code files it runs (NULL-ended) */
};

/* The launcher of a runtime, or NULL when it has none. */
const struct isol8_launcher *isol8_launcher_find(const char *runtime);

/* Whether a run of code_path with these environment variable names (the
 * request's own, not the runtime's) gives the same result in the launcher
 * as in a fresh interpreter. */
bool isol8_launcher_fits(const struct isol8_launcher *l, const char *code_path, const char *const *env_names,
			 size_t n_names);

#endif
