/*
 * The runtimes isol8 runs, as both sides know them: one row each (name,
 * image, code file extensions), and which runtime a file's extension picks.
 * isol8d adds how each runs (server/engine/runtime.c); the CLI detects the
 * runtime of a file from here. Adding a runtime is a row here, a row there,
 * and its image under images/.
 */
#ifndef ISOL8_BASE_RUNTIMES_H
#define ISOL8_BASE_RUNTIMES_H

#include <stddef.h>

enum isol8_runtime_id { ISOL8_RT_PYTHON, ISOL8_RT_NODE, ISOL8_RT_BUN, ISOL8_RT_DENO, ISOL8_RT_BASH, ISOL8_RT_COUNT };

struct isol8_runtime_info {
	const char *name;          /* "python" */
	const char *image_suffix;  /* image is "<prefix>:<suffix>", e.g. "isol8:python" */
	const char *default_ext;   /* code file extension without the dot */
	const char *const *exts;   /* extensions the runtime accepts (NULL-terminated) */
	/* The public package registries its installer uses unless the
	 * configuration says (packages.registries.<runtime>): URLs, the first
	 * the index or registry the installer is pointed at, the others further
	 * hosts it downloads from; NULL-terminated, empty without an installer. */
	const char *const *registries;
};

/* The rows, indexed by enum isol8_runtime_id. */
extern const struct isol8_runtime_info isol8_runtime_infos[ISOL8_RT_COUNT];

/* The row named name, or NULL. */
const struct isol8_runtime_info *isol8_runtime_info_find(const char *name);

/* "python, node, bun, deno, bash" */
const char *isol8_runtime_info_names(void);

/* The runtime a file extension (with its dot: ".ts") picks, or NULL; and
 * the code file extension to ask for ("cjs" / "mjs" for Node, else NULL). */
const struct isol8_runtime_info *isol8_runtime_for_extension(const char *ext, const char **file_extension);

/* ".py, .js, .mjs, .cjs, .ts, .mts, .sh": the extensions that pick one. */
const char *isol8_runtime_detected_extensions(void);

#endif
