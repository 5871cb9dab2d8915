/*
 * struct isol8_container_spec -> the JSON body of POST /containers/create.
 * Fields that are NULL, 0 or false are left out so Docker's defaults apply.
 */
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

/* Integers above 2^53 would lose precision as JSON numbers (doubles). */
#define JSON_INT_MAX (INT64_C(1) << 53)

static bool add_string(cJSON *obj, const char *name, const char *value)
{
	return value == NULL || cJSON_AddStringToObject(obj, name, value) != NULL;
}

static bool add_int(cJSON *obj, const char *name, int64_t value)
{
	return value == 0 || cJSON_AddNumberToObject(obj, name, (double)value) != NULL;
}

static bool add_true(cJSON *obj, const char *name, bool value)
{
	return !value || cJSON_AddTrueToObject(obj, name) != NULL;
}

static bool append_string(cJSON *array, const char *value)
{
	cJSON *item = cJSON_CreateString(value);

	if (item == NULL)
		return false;
	cJSON_AddItemToArray(array, item);
	return true;
}

static bool add_string_array(cJSON *obj, const char *name, const char *const *list)
{
	cJSON *array;

	if (list == NULL)
		return true;
	array = cJSON_AddArrayToObject(obj, name);
	if (array == NULL)
		return false;
	for (; *list != NULL; list++)
		if (!append_string(array, *list))
			return false;
	return true;
}

static bool add_labels(cJSON *config, const struct isol8_container_spec *spec)
{
	cJSON *labels;

	if (spec->n_labels == 0)
		return true;
	labels = cJSON_AddObjectToObject(config, "Labels");
	if (labels == NULL)
		return false;
	for (size_t i = 0; i < spec->n_labels; i++) {
		const char *value = spec->labels[i].value ? spec->labels[i].value : "";
		if (cJSON_AddStringToObject(labels, spec->labels[i].key, value) == NULL)
			return false;
	}
	return true;
}

static bool add_tmpfs(cJSON *host, const struct isol8_container_spec *spec)
{
	cJSON *tmpfs;

	if (spec->n_tmpfs == 0)
		return true;
	tmpfs = cJSON_AddObjectToObject(host, "Tmpfs");
	if (tmpfs == NULL)
		return false;
	for (size_t i = 0; i < spec->n_tmpfs; i++) {
		const char *options = spec->tmpfs[i].options ? spec->tmpfs[i].options : "";
		if (cJSON_AddStringToObject(tmpfs, spec->tmpfs[i].path, options) == NULL)
			return false;
	}
	return true;
}

static bool add_ulimits(cJSON *host, const struct isol8_container_spec *spec)
{
	cJSON *ulimits;

	if (spec->n_ulimits == 0)
		return true;
	ulimits = cJSON_AddArrayToObject(host, "Ulimits");
	if (ulimits == NULL)
		return false;
	for (size_t i = 0; i < spec->n_ulimits; i++) {
		cJSON *item = cJSON_CreateObject();

		if (item == NULL)
			return false;
		cJSON_AddItemToArray(ulimits, item);
		if (cJSON_AddStringToObject(item, "Name", spec->ulimits[i].name) == NULL ||
		    cJSON_AddNumberToObject(item, "Soft", (double)spec->ulimits[i].soft) == NULL ||
		    cJSON_AddNumberToObject(item, "Hard", (double)spec->ulimits[i].hard) == NULL)
			return false;
	}
	return true;
}

static bool add_security_opt(cJSON *host, const struct isol8_container_spec *spec)
{
	_cleanup_free_ char *seccomp = NULL;
	cJSON *opts;

	if (!spec->no_new_privileges && spec->seccomp == NULL)
		return true;
	opts = cJSON_AddArrayToObject(host, "SecurityOpt");
	if (opts == NULL)
		return false;
	if (spec->no_new_privileges && !append_string(opts, "no-new-privileges"))
		return false;
	if (spec->seccomp == NULL)
		return true;
	seccomp = isol8_docker_format(NULL, "seccomp=%s", spec->seccomp);
	return seccomp != NULL && append_string(opts, seccomp);
}

static bool add_caps(cJSON *host, const struct isol8_container_spec *spec)
{
	static const char *const all[] = {"ALL", NULL};

	if (spec->cap_drop_all && !add_string_array(host, "CapDrop", all))
		return false;
	return add_string_array(host, "CapAdd", spec->cap_add);
}

static bool add_host_config(cJSON *config, const struct isol8_container_spec *spec)
{
	cJSON *host = cJSON_AddObjectToObject(config, "HostConfig");

	return host != NULL && add_string_array(host, "Binds", spec->binds) && add_tmpfs(host, spec) &&
	       add_ulimits(host, spec) &&
	       add_int(host, "Memory", spec->memory_bytes) && add_int(host, "MemorySwap", spec->memory_swap_bytes) &&
	       add_int(host, "NanoCpus", spec->nano_cpus) && add_int(host, "PidsLimit", spec->pids_limit) &&
	       add_true(host, "ReadonlyRootfs", spec->readonly_rootfs) &&
	       add_string(host, "NetworkMode", spec->network_mode) && add_security_opt(host, spec) &&
	       add_caps(host, spec);
}

static bool add_config(cJSON *config, const struct isol8_container_spec *spec)
{
	return add_string(config, "Image", spec->image) && add_string_array(config, "Entrypoint", spec->entrypoint) &&
	       add_string_array(config, "Cmd", spec->cmd) && add_string_array(config, "Env", spec->env) &&
	       add_string(config, "User", spec->user) && add_string(config, "WorkingDir", spec->working_dir) &&
	       add_labels(config, spec) && add_true(config, "NetworkDisabled", spec->network_disabled) &&
	       add_host_config(config, spec);
}

static int check_int(const char *name, int64_t value, struct isol8_error *err)
{
	if (value > JSON_INT_MAX || value < -JSON_INT_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "container spec: %s %lld is out of range", name,
				       (long long)value);
	return 0;
}

static int check_spec(const struct isol8_container_spec *spec, struct isol8_error *err)
{
	int r;

	if (spec->image == NULL || spec->image[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "container spec: image is empty");
	if (spec->n_tmpfs > 0 && spec->tmpfs == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "container spec: tmpfs list is NULL");
	for (size_t i = 0; i < spec->n_tmpfs; i++)
		if (spec->tmpfs[i].path == NULL || spec->tmpfs[i].path[0] != '/')
			return isol8_error_set(err, ISOL8_E_INVALID, "container spec: tmpfs %zu has no absolute path", i);
	if (spec->n_labels > 0 && spec->labels == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "container spec: label list is NULL");
	if (spec->n_ulimits > 0 && spec->ulimits == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "container spec: ulimit list is NULL");
	for (size_t i = 0; i < spec->n_ulimits; i++) {
		const struct isol8_ulimit *u = &spec->ulimits[i];

		if (u->name == NULL || u->name[0] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "container spec: ulimit %zu has no name", i);
		if (u->soft < 0 || u->hard < 0 || u->soft > u->hard || u->hard > JSON_INT_MAX)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "container spec: ulimit \"%s\" soft %lld / hard %lld is out of range", u->name,
					       (long long)u->soft, (long long)u->hard);
	}
	for (size_t i = 0; i < spec->n_labels; i++)
		if (spec->labels[i].key == NULL || spec->labels[i].key[0] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "container spec: label %zu has no key", i);
	if ((r = check_int("memory_bytes", spec->memory_bytes, err)) < 0 ||
	    (r = check_int("memory_swap_bytes", spec->memory_swap_bytes, err)) < 0 ||
	    (r = check_int("nano_cpus", spec->nano_cpus, err)) < 0 ||
	    (r = check_int("pids_limit", spec->pids_limit, err)) < 0)
		return r;
	return 0;
}

int isol8_docker_spec_to_json(const struct isol8_container_spec *spec, char **out, struct isol8_error *err)
{
	_cleanup_cjson_ cJSON *config = NULL;
	int r;

	*out = NULL;
	r = check_spec(spec, err);
	if (r < 0)
		return r;
	config = cJSON_CreateObject();
	if (config == NULL || !add_config(config, spec))
		return isol8_error_set(err, ISOL8_E_NOMEM, "container spec: out of memory building JSON");
	*out = cJSON_PrintUnformatted(config);
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "container spec: out of memory printing JSON");
	return 0;
}

char *isol8_docker_container_spec_json(const struct isol8_container_spec *spec, struct isol8_error *err)
{
	char *out;

	return isol8_docker_spec_to_json(spec, &out, err) < 0 ? NULL : out;
}
