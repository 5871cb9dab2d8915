/* Each runtime's installer: the install program of a run and the layer
 * `isol8 setup` bakes. See install.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "engine/engine_internal.h"
#include "engine/install.h"

/* Room for an installer's own arguments besides the packages. */
#define INSTALL_ARGS_MAX (24 + 2 * ISOL8_REGISTRY_MAX)

struct argv_builder {
	const char **argv;
	size_t n, cap;
};

static void push(struct argv_builder *b, const char *arg)
{
	if (b->n + 1 < b->cap)
		b->argv[b->n++] = arg;
}

/* pip takes plain http indexes only with --trusted-host. */
static void pip_trusted(struct argv_builder *b, const struct isol8_registries *reg)
{
	for (size_t i = 0; i < reg->n; i++) {
		if (!reg->plain_http[i])
			continue;
		push(b, "--trusted-host");
		push(b, reg->hosts[i]);
	}
}

static void python_argv(struct argv_builder *b, const struct isol8_registries *reg)
{
	static const char *const head[] = {"python3", "-m", "pip", "install", "--user", "--no-input", "--no-cache-dir",
					   "--disable-pip-version-check", "--no-warn-script-location",
					   "--progress-bar", "off", NULL};
	for (size_t i = 0; head[i] != NULL; i++)
		push(b, head[i]);
	push(b, "--index-url");
	push(b, reg->urls[0]);
	pip_trusted(b, reg);
	push(b, "--");
}

static void node_argv(struct argv_builder *b, const struct isol8_registries *reg)
{
	static const char *const head[] = {"npm", "install", "--prefix", "/sandbox", "--no-audit", "--no-fund",
					   "--no-update-notifier", "--no-progress", NULL};
	(void)reg;
	for (size_t i = 0; head[i] != NULL; i++)
		push(b, head[i]);
	push(b, "--");
}

static void bun_argv(struct argv_builder *b, const struct isol8_registries *reg)
{
	(void)reg;
	push(b, "bun");
	push(b, "add");
	push(b, "--no-progress");
}

static void deno_argv(struct argv_builder *b, const struct isol8_registries *reg)
{
	(void)reg;
	push(b, "deno");
	push(b, "cache");
	push(b, "--quiet");
}

/* What each installer is told besides its arguments. The registry is
 * given both ways the tools read it. */
static const char *const python_env[] = {"PYTHONUSERBASE=/sandbox/.local", "PIP_INDEX_URL={registry}", NULL};
static const char *const npm_env[] = {"npm_config_registry={registry}", "NPM_CONFIG_REGISTRY={registry}",
				      "npm_config_cache=/sandbox/.npm", "npm_config_update_notifier=false",
				      "npm_config_fund=false", "npm_config_audit=false", "npm_config_fetch_retries=0",
				      NULL};
static const char *const bun_env[] = {"NPM_CONFIG_REGISTRY={registry}", "BUN_CONFIG_REGISTRY={registry}",
				      "BUN_INSTALL_CACHE_DIR=/sandbox/.bun/cache", "DO_NOT_TRACK=1", NULL};
static const char *const deno_env[] = {"NPM_CONFIG_REGISTRY={registry}", "DENO_DIR=/sandbox/.deno",
				       "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1", NULL};

static const struct installer {
	const char *runtime;
	void (*argv)(struct argv_builder *b, const struct isol8_registries *reg);
	const char *const *env;
	const char *prefix; /* put before each name that lacks it */
} installers[] = {
	{"python", python_argv, python_env, NULL},
	{"node", node_argv, npm_env, NULL},
	{"bun", bun_argv, bun_env, NULL},
	{"deno", deno_argv, deno_env, "npm:"},
};

static const struct installer *installer_find(const char *runtime)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(installers); i++)
		if (strcmp(installers[i].runtime, runtime) == 0)
			return &installers[i];
	return NULL;
}

/* Appends "K=V" (with {registry} replaced) within the env's room. */
static int env_append(struct isol8_exec_spec *spec, const char *entry, const char *registry, struct isol8_error *err)
{
	const char *mark = strstr(entry, "{registry}");
	char *s;
	int n;

	if (spec->n_env >= ISOL8_EXEC_MAX_ENV)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "install: environment full");
	if (mark != NULL)
		n = asprintf(&s, "%.*s%s", (int)(mark - entry), entry, registry);
	else
		n = asprintf(&s, "%s", entry);
	if (n < 0)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	spec->env[spec->n_env++] = s;
	spec->exec.env = spec->env;
	spec->exec.n_env = spec->n_env;
	return 0;
}

/* Deno's names get their "npm:" prefix; the strings live in names. */
static int prefixed_names(const struct installer *in, const Isol8__V1__ExecuteRequest *req, char **names,
			  struct isol8_error *err)
{
	for (size_t i = 0; in->prefix != NULL && i < req->n_install_packages; i++) {
		const char *name = req->install_packages[i];
		if (strncmp(name, in->prefix, strlen(in->prefix)) == 0)
			continue;
		if (asprintf(&names[i], "%s%s", in->prefix, name) < 0) {
			names[i] = NULL;
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		}
	}
	return 0;
}

int isol8_install_spec_build(const struct isol8_runtime *rt, const struct isol8_registries *reg,
			     const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			     struct isol8_exec_spec *spec, struct isol8_install_spec *install, struct isol8_error *err)
{
	const struct installer *in = installer_find(rt->info->name);
	const char *const none[] = {"true", NULL};
	struct argv_builder b = {0};
	int ret;

	memset(install, 0, sizeof(*install));
	if (in == NULL || reg->n == 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "install_packages: the %s runtime has no package installer",
				       rt->info->name);
	b.cap = INSTALL_ARGS_MAX + 2 * req->n_install_packages + 1;
	b.argv = calloc(b.cap, sizeof(*b.argv));
	install->names = calloc(req->n_install_packages + 1, sizeof(char *));
	install->n_names = req->n_install_packages;
	if (b.argv == NULL || install->names == NULL) {
		free(b.argv);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	install->argv = b.argv;
	ret = prefixed_names(in, req, install->names, err);
	if (ret < 0)
		return ret;
	in->argv(&b, reg);
	for (size_t i = 0; i < req->n_install_packages; i++)
		push(&b, install->names[i] ? install->names[i] : req->install_packages[i]);
	b.argv[b.n] = NULL;
	ret = isol8_exec_spec_interpreter(rt, none, spec, err);
	for (size_t i = 0; ret == 0 && in->env[i] != NULL; i++)
		ret = env_append(spec, in->env[i], reg->urls[0], err);
	if (ret < 0) {
		isol8_exec_spec_release(spec);
		return ret;
	}
	spec->exec.argv = (char **)b.argv;
	spec->exec.n_argv = b.n;
	spec->exec.timeout_ms = (uint32_t)opts->timeout_ms;
	spec->exec.max_output_bytes = (uint64_t)opts->max_output;
	return 0;
}

void isol8_install_spec_release(struct isol8_install_spec *install)
{
	for (size_t i = 0; install->names != NULL && i < install->n_names; i++)
		free(install->names[i]);
	free(install->names);
	free(install->argv);
	memset(install, 0, sizeof(*install));
}

int isol8_install_code_env(const struct isol8_packages *p, const struct isol8_runtime *rt,
			   const Isol8__V1__ExecuteRequest *req, struct isol8_exec_spec *spec, struct isol8_error *err)
{
	const struct isol8_registries *reg = &p->registries[rt->info - isol8_runtime_infos];

	if (strcmp(rt->info->name, "deno") != 0 || reg->n == 0)
		return 0;
	for (size_t i = 0; i < req->n_env; i++)
		if (strcmp(req->env[i]->key, "NPM_CONFIG_REGISTRY") == 0)
			return 0;
	return env_append(spec, "NPM_CONFIG_REGISTRY={registry}", reg->urls[0], err);
}
