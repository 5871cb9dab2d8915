/* The runtime table both sides share: see runtimes.h. */
#include "base/runtimes.h"

#include <string.h>
#include <strings.h>

#include "base/util.h"

static const char *const python_exts[] = {"py", NULL};
static const char *const node_exts[] = {"mjs", "cjs", "js", NULL};
static const char *const bun_exts[] = {"ts", "js", "mjs", "cjs", "tsx", "mts", NULL};
static const char *const deno_exts[] = {"ts", "js", "mjs", "tsx", "mts", NULL};
static const char *const bash_exts[] = {"sh", "bash", NULL};

/* PyPI's simple index, and where its links point; the npm registry. */
static const char *const pypi[] = {"https://pypi.org/simple", "https://files.pythonhosted.org", NULL};
static const char *const npm[] = {"https://registry.npmjs.org", NULL};
static const char *const none[] = {NULL};

const struct isol8_runtime_info isol8_runtime_infos[ISOL8_RT_COUNT] = {
	[ISOL8_RT_PYTHON] = {"python", "python", "py", python_exts, pypi},
	[ISOL8_RT_NODE] = {"node", "node", "mjs", node_exts, npm},
	[ISOL8_RT_BUN] = {"bun", "bun", "ts", bun_exts, npm},
	[ISOL8_RT_DENO] = {"deno", "deno", "ts", deno_exts, npm},
	[ISOL8_RT_BASH] = {"bash", "bash", "sh", bash_exts, none},
};

/* Which runtime a file's extension picks (the original's rules: .ts is Bun,
 * Deno only when asked for), and the code file extension sent with it. */
static const struct {
	const char *extension;
	enum isol8_runtime_id runtime;
	const char *file_extension;
} detected[] = {
	{".py", ISOL8_RT_PYTHON, NULL}, {".js", ISOL8_RT_NODE, "mjs"}, {".mjs", ISOL8_RT_NODE, "mjs"},
	{".cjs", ISOL8_RT_NODE, "cjs"}, {".ts", ISOL8_RT_BUN, NULL},   {".mts", ISOL8_RT_BUN, NULL},
	{".sh", ISOL8_RT_BASH, NULL},
};

const struct isol8_runtime_info *isol8_runtime_info_find(const char *name)
{
	for (size_t i = 0; name && i < ISOL8_RT_COUNT; i++)
		if (strcmp(isol8_runtime_infos[i].name, name) == 0)
			return &isol8_runtime_infos[i];
	return NULL;
}

const char *isol8_runtime_info_names(void)
{
	return "python, node, bun, deno, bash";
}

const struct isol8_runtime_info *isol8_runtime_for_extension(const char *ext, const char **file_extension)
{
	for (size_t i = 0; ext && i < ISOL8_ARRAY_LEN(detected); i++) {
		if (strcasecmp(detected[i].extension, ext) == 0) {
			*file_extension = detected[i].file_extension;
			return &isol8_runtime_infos[detected[i].runtime];
		}
	}
	return NULL;
}

const char *isol8_runtime_detected_extensions(void)
{
	return ".py, .js, .mjs, .cjs, .ts, .mts, .sh";
}
