/* The execute envelope's JSON to struct isol8_request: see mapping.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/runtimes.h"
#include "base/util.h"
#include "gateway/json_budget.h"
#include "gateway/mapping.h"

#define PATH_MAX_LEN 200

/* The member key of obj, NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

static int expected(struct isol8_error *err, const char *path, const char *type)
{
	return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected %s", path, type);
}

int gw_json_get_string(const cJSON *obj, const char *key, const char *path, const char **out, struct isol8_error *err)
{
	const cJSON *v = member(obj, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return expected(err, path, "a string");
	*out = v->valuestring;
	return 0;
}

int gw_json_get_bool(const cJSON *obj, const char *key, const char *path, bool *out, struct isol8_error *err)
{
	const cJSON *v = member(obj, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return expected(err, path, "a boolean");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A number in [lo, hi]; *present says whether there was one. */
static int get_number(const cJSON *obj, const char *key, const char *path, double lo, double hi, double *out,
		      bool *present, struct isol8_error *err)
{
	const cJSON *v = member(obj, key);

	*present = false;
	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return expected(err, path, "a number");
	if (v->valuedouble < lo || v->valuedouble > hi)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: %.16g is out of range (%.16g to %.16g)", path, v->valuedouble,
				       lo, hi);
	*out = v->valuedouble;
	*present = true;
	return 0;
}

static int get_int64(const cJSON *obj, const char *key, const char *path, int64_t *out, struct isol8_error *err)
{
	double d = 0;
	bool present;
	int ret = get_number(obj, key, path, 0, 9007199254740991.0, &d, &present, err);

	if (ret == 0 && present)
		*out = (int64_t)d;
	return ret;
}

static int get_object(const cJSON *obj, const char *key, const char *path, const cJSON **out, struct isol8_error *err)
{
	const cJSON *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return expected(err, path, "an object");
	*out = v;
	return 0;
}

/* An object of strings to an array of key/value pairs. */
static int get_kvs(const cJSON *obj, const char *key, const char *path, struct isol8_kv **out, size_t *n,
		   struct isol8_error *err)
{
	const cJSON *o = NULL, *it;
	size_t count = 0, i = 0;
	int ret = get_object(obj, key, path, &o, err);

	if (ret < 0 || o == NULL)
		return ret;
	cJSON_ArrayForEach(it, o) count++;
	if (count == 0)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "%s: out of memory", path);
	cJSON_ArrayForEach(it, o)
	{
		if (!cJSON_IsString(it))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s.%.*s: expected a string", path, PATH_MAX_LEN,
					       it->string);
		(*out)[i].key = it->string;
		(*out)[i].value = it->valuestring;
		i++;
	}
	*n = count;
	return 0;
}

/* An array of strings. */
static int get_strings(const cJSON *obj, const char *key, const char *path, const char ***out, size_t *n,
		       bool *present, struct isol8_error *err)
{
	const cJSON *a = member(obj, key), *it;
	size_t count, i = 0;

	if (present)
		*present = false;
	if (a == NULL)
		return 0;
	if (!cJSON_IsArray(a))
		return expected(err, path, "an array of strings");
	if (present)
		*present = true;
	count = (size_t)cJSON_GetArraySize(a);
	if (count == 0)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "%s: out of memory", path);
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: expected a string", path, i);
		(*out)[i++] = it->valuestring;
	}
	*n = count;
	return 0;
}

/* Node's Buffer as JSON: {"type":"Buffer","data":[bytes]}. */
static int buffer_bytes(const cJSON *v, const char *path, unsigned char **data, size_t *size, struct isol8_error *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
	const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(v, "data"), *it;
	size_t i = 0;

	if (!cJSON_IsString(type) || strcmp(type->valuestring, "Buffer") != 0 || !cJSON_IsArray(bytes))
		return expected(err, path, "a string or a Buffer ({\"type\":\"Buffer\",\"data\":[…]})");
	*size = (size_t)cJSON_GetArraySize(bytes);
	*data = malloc(*size ? *size : 1);
	if (*data == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "%s: out of memory", path);
	cJSON_ArrayForEach(it, bytes)
	{
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 255 ||
		    it->valuedouble != (double)(int)it->valuedouble)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s.data[%zu]: expected a byte (0 to 255)", path, i);
		(*data)[i++] = (unsigned char)it->valueint;
	}
	return 0;
}

static int parse_files(const cJSON *req, struct gw_exec *x, struct isol8_error *err)
{
	const cJSON *o = NULL, *it;
	size_t count = 0, i = 0;
	int ret = get_object(req, "files", "request.files", &o, err);

	if (ret < 0 || o == NULL)
		return ret;
	cJSON_ArrayForEach(it, o) count++;
	if (count == 0)
		return 0;
	x->files = calloc(count, sizeof(*x->files));
	x->file_data = calloc(count, sizeof(*x->file_data));
	if (x->files == NULL || x->file_data == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "request.files: out of memory");
	cJSON_ArrayForEach(it, o)
	{
		char path[PATH_MAX_LEN + 32];
		struct isol8_file *f = &x->files[i];

		snprintf(path, sizeof(path), "request.files.%.*s", PATH_MAX_LEN, it->string);
		f->path = it->string;
		if (cJSON_IsString(it)) {
			f->data = it->valuestring;
			f->size = strlen(it->valuestring);
		} else if (cJSON_IsObject(it)) {
			size_t size = 0;
			ret = buffer_bytes(it, path, &x->file_data[x->n_file_data], &size, err);
			if (x->file_data[x->n_file_data] != NULL)
				x->n_file_data++;
			if (ret < 0)
				return ret;
			f->data = x->file_data[x->n_file_data - 1];
			f->size = size;
		} else {
			return expected(err, path, "a string or a Buffer ({\"type\":\"Buffer\",\"data\":[…]})");
		}
		i++;
	}
	x->req.files = x->files;
	x->req.n_files = count;
	return 0;
}

/* runtime, and the agent runtime the original has and we do not. */
static int parse_runtime(const cJSON *req, struct gw_exec *x, struct isol8_error *err)
{
	const char *flags = NULL;
	int ret = gw_json_get_string(req, "runtime", "request.runtime", &x->req.runtime, err);

	if (ret == 0 && x->req.runtime != NULL && isol8_runtime_info_find(x->req.runtime) == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "request.runtime: unknown runtime \"%.*s\" (valid: %s)",
				       PATH_MAX_LEN, x->req.runtime, isol8_runtime_info_names());
	if (ret == 0)
		ret = gw_json_get_string(req, "agentFlags", "request.agentFlags", &flags, err);
	if (ret == 0 && flags != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "request.agentFlags: the agent runtime is not served here (valid runtimes: %s)",
				       isol8_runtime_info_names());
	return ret;
}

static int parse_request(const cJSON *req, struct gw_exec *x, struct isol8_error *err)
{
	struct isol8_request *r = &x->req;
	const char *stdin_text = NULL;
	int ret = parse_runtime(req, x, err);

	if (ret == 0)
		ret = gw_json_get_string(req, "code", "request.code", &r->code, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "codeUrl", "request.codeUrl", &r->code_url, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "cmd", "request.cmd", &r->cmd, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "codeHash", "request.codeHash", &r->code_hash, err);
	if (ret == 0)
		ret = gw_json_get_bool(req, "allowInsecureCodeUrl", "request.allowInsecureCodeUrl",
				       &r->allow_insecure_code_url, err);
	if (ret == 0)
		ret = get_int64(req, "timeoutMs", "request.timeoutMs", &r->timeout_ms, err);
	if (ret == 0)
		ret = get_kvs(req, "env", "request.env", &x->env, &r->n_env, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "fileExtension", "request.fileExtension", &r->file_extension, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "stdin", "request.stdin", &stdin_text, err);
	if (ret == 0 && stdin_text != NULL) {
		r->stdin_data = stdin_text;
		r->stdin_size = strlen(stdin_text);
	}
	if (ret == 0)
		ret = parse_files(req, x, err);
	if (ret == 0)
		ret = get_strings(req, "outputPaths", "request.outputPaths", &x->output_paths, &r->n_output_paths,
				  &x->want_files, err);
	if (ret == 0)
		ret = get_strings(req, "installPackages", "request.installPackages", &x->install_packages,
				  &r->n_install_packages, NULL, err);
	if (ret == 0)
		ret = get_kvs(req, "metadata", "request.metadata", &x->metadata, &r->n_metadata, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "setupScript", "request.setupScript", &r->setup_script, err);
	if (ret == 0)
		ret = gw_json_get_string(req, "workdir", "request.workdir", &r->workdir, err);
	r->env = x->env;
	r->output_paths = x->output_paths;
	r->install_packages = x->install_packages;
	r->metadata = x->metadata;
	return ret;
}

static int parse_security(const cJSON *o, struct gw_exec *x, struct isol8_error *err)
{
	const cJSON *sec = NULL;
	const char *profile_path = NULL;
	int ret = get_object(o, "security", "options.security", &sec, err);

	if (ret < 0 || sec == NULL)
		return ret;
	ret = gw_json_get_string(sec, "seccomp", "options.security.seccomp", &x->opts.seccomp, err);
	if (ret == 0)
		ret = gw_json_get_string(sec, "customProfilePath", "options.security.customProfilePath", &profile_path,
					 err);
	if (ret == 0 && profile_path != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "options.security.customProfilePath: not accepted over HTTP (it names a file "
				       "on the server)");
	return ret;
}

static int parse_network(const cJSON *o, struct gw_exec *x, struct isol8_error *err)
{
	const cJSON *filter = NULL;
	int ret = gw_json_get_string(o, "network", "options.network", &x->opts.network, err);

	if (ret == 0)
		ret = get_object(o, "networkFilter", "options.networkFilter", &filter, err);
	if (ret < 0 || filter == NULL)
		return ret;
	ret = get_strings(filter, "whitelist", "options.networkFilter.whitelist", &x->whitelist,
			  &x->opts.n_whitelist, NULL, err);
	if (ret == 0)
		ret = get_strings(filter, "blacklist", "options.networkFilter.blacklist", &x->blacklist,
				  &x->opts.n_blacklist, NULL, err);
	x->opts.whitelist = x->whitelist;
	x->opts.blacklist = x->blacklist;
	return ret;
}

static int parse_limits(const cJSON *o, struct gw_exec *x, struct isol8_error *err)
{
	struct isol8_options *p = &x->opts;
	double d = 0;
	bool present, ro = false, has_ro = member(o, "readonlyRootFs") != NULL;
	int64_t pids = 0;
	int ret = get_number(o, "cpuLimit", "options.cpuLimit", 0, 1e6, &d, &present, err);

	if (ret == 0 && present)
		p->cpu_limit = d;
	if (ret == 0)
		ret = gw_json_get_string(o, "memoryLimit", "options.memoryLimit", &p->memory_limit, err);
	if (ret == 0)
		ret = get_int64(o, "pidsLimit", "options.pidsLimit", &pids, err);
	if (ret == 0 && pids > 1000000)
		ret = isol8_error_set(err, ISOL8_E_INVALID, "options.pidsLimit: %lld is out of range", (long long)pids);
	p->pids_limit = (int)pids;
	if (ret == 0)
		ret = gw_json_get_bool(o, "readonlyRootFs", "options.readonlyRootFs", &ro, err);
	if (ret == 0 && has_ro)
		p->readonly_root_fs = ro ? 1 : 2;
	if (ret == 0)
		ret = get_int64(o, "maxOutputSize", "options.maxOutputSize", &p->max_output_size, err);
	if (ret == 0)
		ret = gw_json_get_string(o, "sandboxSize", "options.sandboxSize", &p->sandbox_size, err);
	if (ret == 0)
		ret = gw_json_get_string(o, "tmpSize", "options.tmpSize", &p->tmp_size, err);
	return ret;
}

static int parse_options(const cJSON *o, struct gw_exec *x, struct isol8_error *err)
{
	int64_t timeout = 0;
	int ret = parse_network(o, x, err);

	if (ret == 0)
		ret = parse_limits(o, x, err);
	if (ret == 0)
		ret = get_kvs(o, "secrets", "options.secrets", &x->secrets, &x->opts.n_secrets, err);
	x->opts.secrets = x->secrets;
	if (ret == 0)
		ret = get_int64(o, "timeoutMs", "options.timeoutMs", &timeout, err);
	if (ret == 0 && x->req.timeout_ms == 0)
		x->req.timeout_ms = timeout;
	if (ret == 0)
		ret = gw_json_get_string(o, "image", "options.image", &x->opts.image, err);
	if (ret == 0)
		ret = gw_json_get_bool(o, "persist", "options.persist", &x->opts.persist, err);
	if (ret == 0)
		ret = gw_json_get_bool(o, "logNetwork", "options.logNetwork", &x->opts.log_network, err);
	x->log_network = x->opts.log_network;
	if (ret == 0)
		ret = parse_security(o, x, err);
	return ret;
}

int gw_exec_parse(const cJSON *envelope, struct gw_exec *out, struct isol8_error *err)
{
	const cJSON *req = member(envelope, "request"), *opts = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (req == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "request: required (the body is {\"request\":{…}, "
							     "\"options\":{…}, \"sessionId\":\"…\"})");
	if (!cJSON_IsObject(req))
		return expected(err, "request", "an object");
	ret = parse_request(req, out, err);
	if (ret == 0)
		ret = get_object(envelope, "options", "options", &opts, err);
	if (ret == 0 && opts != NULL) {
		out->has_options = true;
		ret = parse_options(opts, out, err);
		out->req.options = &out->opts;
	}
	if (ret == 0)
		ret = gw_json_get_string(envelope, "sessionId", "sessionId", &out->req.session_id, err);
	if (ret < 0)
		gw_exec_free(out);
	return ret;
}

void gw_exec_free(struct gw_exec *x)
{
	for (size_t i = 0; i < x->n_file_data; i++)
		free(x->file_data[i]);
	free(x->file_data);
	free(x->files);
	free(x->env);
	free(x->secrets);
	free(x->metadata);
	free(x->output_paths);
	free(x->install_packages);
	free(x->whitelist);
	free(x->blacklist);
	free(x->seccomp_profile);
	memset(x, 0, sizeof(*x));
}

bool gw_json_has_nul(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"')
			in_string = !in_string;
		else if (in_string && text[i] == '\0') /* JSON has none raw; cJSON keeps it */
			return true;
		else if (in_string && text[i] == '\\') {
			if (i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0)
				return true;
			i++; /* the escaped character */
		}
	}
	return false;
}

int gw_json_parse_object(const char *text, size_t len, const char *what, cJSON **out, struct isol8_error *err)
{
	const char *end = NULL;
	cJSON *root;

	gw_json_budget_refused(); /* from this parse on */
	root = cJSON_ParseWithLengthOpts(text ? text : "", len, &end, false);
	*out = NULL;
	/* as JSON.parse: nothing but whitespace after the value */
	while (root != NULL && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (root != NULL && end != text + len) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (root == NULL && gw_json_budget_refused())
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "%s: the gateway holds all the parsed JSON it may (%zu MiB): try again later", what,
				       gw_json_budget() >> 20);
	if (root == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: not valid JSON", what);
	if (gw_json_has_nul(text, len)) {
		cJSON_Delete(root);
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: a string holds a NUL character (\\u0000), which isol8 cannot pass on", what);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected a JSON object", what);
	}
	*out = root;
	return 0;
}
