/* The inputs of a run: see isol8_inputs_resolve in options.h. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "engine/options.h"

#define SANDBOX "/sandbox"
#define MAX_OUTPUT_PATHS 256

/* Appends the components of path to out (which holds an absolute path),
 * resolving "." and ".." as path.posix.resolve does. False when too long. */
static bool resolve_into(char *out, size_t size, const char *path)
{
	size_t len = strlen(out);

	while (*path) {
		const char *end = strchr(path, '/');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		if (n == 0 || (n == 1 && path[0] == '.')) {
			/* nothing */
		} else if (n == 2 && path[0] == '.' && path[1] == '.') {
			while (len > 1 && out[len - 1] != '/')
				len--;
			if (len > 1)
				len--;
			out[len] = '\0';
		} else {
			if (len + (len > 1) + n >= size)
				return false;
			if (len > 1)
				out[len++] = '/';
			memcpy(out + len, path, n);
			len += n;
			out[len] = '\0';
		}
		path += n + (end != NULL);
	}
	return true;
}

static bool inside_sandbox(const char *p)
{
	return strcmp(p, SANDBOX) == 0 || strncmp(p, SANDBOX "/", sizeof(SANDBOX)) == 0;
}

/* workdir as the original resolves it: against /sandbox, "." and ".."
 * folded; the result must be /sandbox or under it. */
static int resolve_workdir(const char *workdir, char *out, size_t size, struct isol8_error *err)
{
	snprintf(out, size, "%s", workdir[0] == '/' ? "/" : SANDBOX);
	if (!resolve_into(out, size, workdir))
		return isol8_error_set(err, ISOL8_E_INVALID, "workdir: longer than %zu bytes", size - 1);
	if (!inside_sandbox(out))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "workdir: Working directory must be inside /sandbox (\"%s\" resolves to \"%s\")",
				       workdir, out);
	return 0;
}

/* Whether a relative path has an empty, "." or ".." component (a trailing
 * "/" leaves no empty one: the caller checks that). */
static bool has_bad_component(const char *rel)
{
	for (const char *p = rel; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n + (end != NULL);
	}
	return false;
}

int isol8_inputs_file_path(const char *field, const char *path, char *out, size_t size, struct isol8_error *err)
{
	const char *rel = path;

	if (path == NULL || path[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: empty path", field);
	if (path[0] == '/') {
		if (strncmp(path, SANDBOX "/", sizeof(SANDBOX)) != 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s: \"%s\" is outside /sandbox (give a path under /sandbox or a "
					       "relative one)",
					       field, path);
		rel = path + sizeof(SANDBOX);
	}
	if (has_bad_component(rel))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" has an empty, \".\" or \"..\" component (paths must stay "
				       "inside /sandbox)",
				       field, path);
	if (rel[0] == '\0' || rel[strlen(rel) - 1] == '/')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" names no file", field, path);
	if ((size_t)snprintf(out, size, SANDBOX "/%s", rel) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is longer than %zu bytes", field, path,
				       size - 1);
	return 0;
}

static bool has_text(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int isol8_inputs_resolve(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			 struct isol8_error *err)
{
	char path[ISOL8_SANDBOX_PATH_MAX];
	int ret;

	if (has_text(req->code) && has_text(req->cmd))
		return isol8_error_set(err, ISOL8_E_INVALID, "code and cmd: give one of them, not both");
	if (has_text(req->code_url) && (has_text(req->code) || has_text(req->cmd)))
		return isol8_error_set(err, ISOL8_E_INVALID, "code_url: give it instead of %s, not with it",
				       has_text(req->code) ? "code" : "cmd");
	if (has_text(req->code_hash) && !has_text(req->code_url))
		return isol8_error_set(err, ISOL8_E_INVALID, "code_hash: only with code_url (it checks fetched code)");
	if (!has_text(req->code) && !has_text(req->cmd) && !has_text(req->code_url))
		return isol8_error_set(err, ISOL8_E_INVALID, "code: empty (give the source to run, cmd or code_url)");
	opts->shell_cmd = has_text(req->cmd);
	snprintf(opts->workdir, sizeof(opts->workdir), SANDBOX);
	if (has_text(req->workdir)) {
		ret = resolve_workdir(req->workdir, opts->workdir, sizeof(opts->workdir), err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < req->n_files; i++) {
		ret = isol8_inputs_file_path("files", req->files[i]->key, path, sizeof(path), err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < req->n_file_modes; i++) {
		const char *key = req->file_modes[i]->key;
		bool named = false;
		for (size_t j = 0; j < req->n_files && !named; j++)
			named = strcmp(req->files[j]->key, key) == 0;
		if (!named)
			return isol8_error_set(err, ISOL8_E_INVALID, "file_modes: \"%s\" names no files entry", key);
		if (req->file_modes[i]->value > 0777)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "file_modes: %#o for \"%s\" is not a mode from 0 to 0777", req->file_modes[i]->value,
					       key);
	}
	if (req->n_output_paths > MAX_OUTPUT_PATHS)
		return isol8_error_set(err, ISOL8_E_INVALID, "output_paths: more than %d paths", MAX_OUTPUT_PATHS);
	for (size_t i = 0; i < req->n_output_paths; i++) {
		ret = isol8_inputs_file_path("output_paths", req->output_paths[i], path, sizeof(path), err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int isol8_inputs_transfer_path(const char *field, const char *path, struct isol8_error *err)
{
	static const char *const roots[] = {"/sandbox/", "/tmp/"};
	size_t len = path != NULL ? strlen(path) : 0;
	bool under = false;

	if (len == 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: empty (give an absolute path under /sandbox or /tmp)",
				       field);
	if (len >= ISOL8_SANDBOX_PATH_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: longer than %d bytes", field,
				       ISOL8_SANDBOX_PATH_MAX - 1);
	if (path[0] != '/')
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not absolute (give a path under /sandbox or /tmp)", field, path);
	if (has_bad_component(path + 1) || path[len - 1] == '/')
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not normalized (an empty, \".\" or \"..\" component, or a "
				       "trailing \"/\")",
				       field, path);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(roots); i++)
		under = under || strncmp(path, roots[i], strlen(roots[i])) == 0;
	if (!under)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is outside /sandbox and /tmp", field, path);
	return 0;
}
