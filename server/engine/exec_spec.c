/* The agent Exec request of one execution: see engine_internal.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/launcher.h"
#include "base/util.h"

#define EXEC_MAX_ENV ISOL8_EXEC_MAX_ENV
#define EXEC_MAX_FILES 256

static const char *const base_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/sandbox",
	"USER=sandbox",
	"LANG=C.UTF-8",
	"TMPDIR=/tmp",
	NULL,
};

static bool valid_env_name(const char *name)
{
	if (name == NULL || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return false;
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return false;
	return true;
}

static int env_push(struct isol8_exec_spec *spec, const char *key, const char *value, struct isol8_error *err)
{
	char *entry;

	if (spec->n_env >= EXEC_MAX_ENV)
		return isol8_error_set(err, ISOL8_E_INVALID, "env: more than %d variables", EXEC_MAX_ENV);
	if (value == NULL) {
		entry = strdup(key);
	} else if (asprintf(&entry, "%s=%s", key, value) < 0) {
		entry = NULL;
	}
	if (entry == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	spec->env[spec->n_env++] = entry;
	return 0;
}

static int env_add_pair(struct isol8_exec_spec *spec, const char *field, const char *key, const char *value,
			struct isol8_error *err)
{
	if (!valid_env_name(key))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a valid variable name (letters, digits, _)", field,
				       key ? key : "");
	return env_push(spec, key, value ? value : "", err);
}

/* The environment every run of the runtime starts from. */
static int build_runtime_env(const struct isol8_runtime *rt, struct isol8_exec_spec *spec, struct isol8_error *err)
{
	int ret = 0;

	spec->env = calloc(EXEC_MAX_ENV + 1, sizeof(char *));
	if (spec->env == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (size_t i = 0; base_env[i] && ret == 0; i++)
		ret = env_push(spec, base_env[i], NULL, err);
	for (size_t i = 0; rt->env[i] && ret == 0; i++)
		ret = env_push(spec, rt->env[i], NULL, err);
	return ret;
}

static int build_env(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
		     struct isol8_exec_spec *spec, struct isol8_error *err)
{
	const Isol8__V1__ExecutionOptions *o = req->options;
	int ret = build_runtime_env(opts->runtime, spec, err);

	for (size_t i = 0; i < req->n_env && ret == 0; i++)
		ret = env_add_pair(spec, "env", req->env[i]->key, req->env[i]->value, err);
	for (size_t i = 0; o && i < o->n_secrets && ret == 0; i++)
		ret = env_add_pair(spec, "options.secrets", o->secrets[i]->key, o->secrets[i]->value, err);
	return ret;
}

static int file_path(const char *path, char **out, struct isol8_error *err)
{
	char buf[ISOL8_SANDBOX_PATH_MAX];
	int ret = isol8_inputs_file_path("files", path, buf, sizeof(buf), err);

	if (ret < 0)
		return ret;
	*out = strdup(buf);
	return *out ? 0 : isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
}

static int build_files(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
		       bool code_file, bool with_files, struct isol8_exec_spec *spec, struct isol8_error *err)
{
	size_t n = (with_files ? req->n_files : 0) + 1;

	if (req->n_files > EXEC_MAX_FILES)
		return isol8_error_set(err, ISOL8_E_INVALID, "files: more than %d files", EXEC_MAX_FILES);
	spec->files = calloc(n, sizeof(*spec->files));
	spec->file_ptrs = calloc(n, sizeof(*spec->file_ptrs));
	if (spec->files == NULL || spec->file_ptrs == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		isol8__agent__v1__file__init(&spec->files[i]);
		spec->file_ptrs[i] = &spec->files[i];
	}
	if (code_file) {
		spec->files[0].path = strdup(opts->code_path);
		if (spec->files[0].path == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		spec->files[0].content.data = (uint8_t *)req->code;
		spec->files[0].content.len = strlen(req->code);
		spec->files[0].mode = 0644;
		spec->n_files = 1;
	}
	for (size_t i = 0; with_files && i < req->n_files; i++) {
		Isol8__Agent__V1__File *f = &spec->files[spec->n_files];
		int ret = file_path(req->files[i]->key, &f->path, err);
		if (ret < 0)
			return ret;
		f->content = req->files[i]->value;
		f->mode = 0644;
		for (size_t m = 0; m < req->n_file_modes; m++)
			if (strcmp(req->file_modes[m]->key, req->files[i]->key) == 0)
				f->mode = req->file_modes[m]->value;
		spec->n_files++;
	}
	return 0;
}

/* The Exec of one program of the run: argv (with its storage in spec),
 * environment, files, cwd, identity, stdin, limits. */
static int spec_build(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
		      const char *const *argv, bool code_file, bool with_files, struct isol8_exec_spec *spec,
		      struct isol8_error *err)
{
	Isol8__Agent__V1__Exec *x = &spec->exec;
	int ret;

	memset(spec, 0, sizeof(*spec));
	isol8__agent__v1__exec__init(x);
	for (size_t i = 0; argv[i] != NULL && i < ISOL8_RUNTIME_ARGV_MAX; i++)
		spec->argv[i] = argv[i];
	ret = build_env(req, opts, spec, err);
	if (ret == 0)
		ret = build_files(req, opts, code_file, with_files, spec, err);
	if (ret < 0) {
		isol8_exec_spec_release(spec);
		return ret;
	}
	for (x->n_argv = 0; spec->argv[x->n_argv] != NULL; x->n_argv++)
		;
	x->argv = (char **)spec->argv;
	x->env = spec->env;
	x->n_env = spec->n_env;
	x->files = spec->file_ptrs;
	x->n_files = spec->n_files;
	x->cwd = (char *)opts->workdir;
	x->uid = ISOL8_SANDBOX_UID;
	x->gid = ISOL8_SANDBOX_GID;
	x->stdin = req->stdin;
	x->stdin_open = false;
	x->timeout_ms = (uint32_t)opts->timeout_ms;
	x->max_output_bytes = (uint64_t)opts->max_output;
	return 0;
}

int isol8_exec_spec_build(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			  struct isol8_exec_spec *spec, struct isol8_error *err)
{
	const char *argv[ISOL8_RUNTIME_ARGV_MAX + 1];
	bool setup = req->setup_script && req->setup_script[0];

	if (opts->shell_cmd) {
		argv[0] = "bash";
		argv[1] = "-c";
		argv[2] = req->cmd;
		argv[3] = NULL;
	} else {
		isol8_runtime_argv(opts->runtime, opts->code_path, argv);
	}
	/* with a setup script, the request's files came with it */
	return spec_build(req, opts, argv, !opts->shell_cmd, !setup, spec, err);
}

int isol8_exec_spec_setup(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			  struct isol8_exec_spec *spec, struct isol8_error *err)
{
	const char *argv[] = {"bash", "-c", req->setup_script, NULL};
	int ret = spec_build(req, opts, argv, false, true, spec, err);

	/* what the script starts in the background lives on for the code */
	if (ret == 0) {
		spec->exec.keep_detached = true;
		spec->exec.stdin = (ProtobufCBinaryData){0, NULL};
	}
	return ret;
}

int isol8_exec_spec_interpreter(const struct isol8_runtime *rt, const char *const *argv,
				struct isol8_exec_spec *spec, struct isol8_error *err)
{
	Isol8__Agent__V1__Exec *x = &spec->exec;
	int ret;

	memset(spec, 0, sizeof(*spec));
	isol8__agent__v1__exec__init(x);
	for (x->n_argv = 0; argv[x->n_argv] != NULL && x->n_argv < ISOL8_RUNTIME_ARGV_MAX; x->n_argv++)
		spec->argv[x->n_argv] = argv[x->n_argv];
	ret = build_runtime_env(rt, spec, err);
	if (ret < 0) {
		isol8_exec_spec_release(spec);
		return ret;
	}
	x->argv = (char **)spec->argv;
	x->env = spec->env;
	x->n_env = spec->n_env;
	x->cwd = "/sandbox";
	x->uid = ISOL8_SANDBOX_UID;
	x->gid = ISOL8_SANDBOX_GID;
	return 0;
}

void isol8_exec_spec_release(struct isol8_exec_spec *spec)
{
	for (size_t i = 0; spec->env && i < spec->n_env; i++)
		free(spec->env[i]);
	free(spec->env);
	for (size_t i = 0; spec->files && i < spec->n_files; i++)
		free(spec->files[i].path);
	free(spec->files);
	free(spec->file_ptrs);
	memset(spec, 0, sizeof(*spec));
}
