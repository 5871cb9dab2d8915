/* The runtime table: see runtime.h. */
#include "engine/runtime.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"


static const char *const python_env[] = {"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", NULL};
static const char *const node_env[] = {"NODE_NO_WARNINGS=1", NULL};
static const char *const bun_env[] = {"BUN_INSTALL_CACHE_DIR=/sandbox/.bun/cache", NULL};
static const char *const deno_env[] = {"DENO_DIR=/sandbox/.deno", "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1", NULL};
static const char *const no_env[] = {NULL};

static const struct isol8_runtime runtimes[] = {
	{&isol8_runtime_infos[ISOL8_RT_PYTHON], {"python3", "{file}"}, python_env},
	{&isol8_runtime_infos[ISOL8_RT_NODE], {"node", "{file}"}, node_env},
	{&isol8_runtime_infos[ISOL8_RT_BUN], {"bun", "run", "{file}"}, bun_env},
	{&isol8_runtime_infos[ISOL8_RT_DENO], {"deno", "run", "--quiet", "--allow-all", "{file}"}, deno_env},
	{&isol8_runtime_infos[ISOL8_RT_BASH], {"bash", "{file}"}, no_env},
};

const struct isol8_runtime *isol8_runtime_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(runtimes); i++)
		if (strcmp(runtimes[i].info->name, name) == 0)
			return &runtimes[i];
	return NULL;
}

const struct isol8_runtime *isol8_runtime_all(size_t *count)
{
	*count = ISOL8_ARRAY_LEN(runtimes);
	return runtimes;
}

const char *isol8_runtime_names(void)
{
	return isol8_runtime_info_names();
}

void isol8_runtime_argv(const struct isol8_runtime *rt, const char *code_path,
			const char *argv[ISOL8_RUNTIME_ARGV_MAX + 1])
{
	size_t i;

	for (i = 0; i < ISOL8_RUNTIME_ARGV_MAX && rt->argv[i] != NULL; i++)
		argv[i] = strcmp(rt->argv[i], "{file}") == 0 ? code_path : rt->argv[i];
	argv[i] = NULL;
}

int isol8_runtime_code_path(const struct isol8_runtime *rt, const char *ext, char *buf, size_t size,
			    struct isol8_error *err)
{
	char valid[128] = "";
	bool known = false;

	if (ext == NULL || ext[0] == '\0')
		ext = rt->info->default_ext;
	if (ext[0] == '.')
		ext++;
	for (size_t i = 0; rt->info->exts[i] != NULL; i++) {
		if (strcmp(rt->info->exts[i], ext) == 0)
			known = true;
		snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid), "%s%s", i ? ", " : "",
			 rt->info->exts[i]);
	}
	if (!known)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "file_extension: \"%s\" is not a %s extension (valid: %s)", ext,
				       rt->info->name, valid);
	snprintf(buf, size, "/sandbox/main.%s", ext);
	return 0;
}
