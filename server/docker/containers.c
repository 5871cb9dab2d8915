/* Container calls: create, start, kill, remove, inspect, list. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

#define CONTAINER_ID_LEN 64u
/* Every container, running or not. */
#define CONTAINER_LIST "/containers/json?all=1"

/* "/containers/<escaped id><suffix>" into *out (caller frees). */
static int container_path(const char *id, const char *suffix, char **out, struct isol8_error *err)
{
	return isol8_docker_object_path("containers", "container id", id, suffix, out, err);
}

static int copy_container_id(const char *id, char id_out[65], struct isol8_error *err)
{
	size_t len = id ? strlen(id) : 0;

	if (len != CONTAINER_ID_LEN)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: container create returned an id of %zu chars",
				       len);
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)id[i]))
			return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: container create returned a non-hex id");
	memcpy(id_out, id, len + 1);
	return 0;
}

int isol8_docker_container_create(struct isol8_docker *d, const struct isol8_container_spec *spec,
				  char id_out[65], struct isol8_error *err)
{
	_cleanup_free_ char *body = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_cjson_ cJSON *json = NULL;
	int r;

	id_out[0] = '\0';
	r = isol8_docker_spec_to_json(spec, &body, err);
	if (r < 0)
		return r;
	if (spec->name != NULL) {
		r = isol8_docker_check_ref("container name", spec->name, err);
		if (r < 0)
			return r;
		name = isol8_docker_url_escape(spec->name);
		path = name ? isol8_docker_format(NULL, "/containers/create?name=%s", name) : NULL;
	} else {
		path = strdup("/containers/create");
	}
	if (path == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	const struct isol8_docker_request req = {
		.method = "POST", .path = path, .content_type = "application/json", .body = body,
		.body_len = strlen(body),
	};
	r = isol8_docker_request_json(d, &req, &json, err);
	if (r < 0)
		return r;
	return copy_container_id(isol8_json_string(json, "Id"), id_out, err);
}

int isol8_docker_container_start(struct isol8_docker *d, const char *id, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = container_path(id, "/start", &path, err);

	/* 304: already started */
	return r < 0 ? r : isol8_docker_request_simple(d, "POST", path, 304, err);
}

int isol8_docker_container_kill(struct isol8_docker *d, const char *id, const char *signal,
				struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *suffix = NULL;
	_cleanup_free_ char *sig = NULL;
	int r;

	if (signal != NULL) {
		sig = isol8_docker_url_escape(signal);
		suffix = sig ? isol8_docker_format(NULL, "/kill?signal=%s", sig) : NULL;
		if (suffix == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	}
	r = container_path(id, suffix ? suffix : "/kill", &path, err);
	/* 409: the container is not running, which is what a kill wants */
	return r < 0 ? r : isol8_docker_request_simple(d, "POST", path, 409, err);
}

int isol8_docker_container_remove(struct isol8_docker *d, const char *id, bool force, struct isol8_error *err)
{
	_cleanup_response_ struct isol8_docker_response resp = {0};
	_cleanup_free_ char *path = NULL;
	char message[ISOL8_ERROR_MESSAGE_MAX];
	int r;

	r = container_path(id, force ? "?force=1&v=1" : "?v=1", &path, err);
	if (r < 0)
		return r;
	const struct isol8_docker_request req = {.method = "DELETE", .path = path};
	r = isol8_docker_http(d, &req, &resp, err);
	if (r < 0)
		return r;
	if (resp.status == 404)
		return 0; /* already gone */
	if (resp.status == 409) {
		isol8_docker_error_message(&resp, message, sizeof(message));
		if (strstr(message, "already in progress") != NULL)
			return 0; /* another remove of it is under way */
	}
	return isol8_docker_check_status(&resp, err);
}

int isol8_docker_container_inspect(struct isol8_docker *d, const char *id,
				   struct isol8_docker_container_state *out, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_cjson_ cJSON *json = NULL;
	const cJSON *state;
	int r;

	memset(out, 0, sizeof(*out));
	r = container_path(id, "/json", &path, err);
	if (r < 0)
		return r;
	const struct isol8_docker_request req = {.method = "GET", .path = path};
	r = isol8_docker_request_json(d, &req, &json, err);
	if (r < 0)
		return r;
	state = cJSON_GetObjectItemCaseSensitive(json, "State");
	if (!cJSON_IsObject(state))
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: inspect of container \"%s\" lacks State", id);
	out->running = isol8_json_bool(state, "Running");
	out->pid = isol8_json_int(state, "Pid");
	out->exit_code = isol8_json_int(state, "ExitCode");
	out->oom_killed = isol8_json_bool(state, "OOMKilled");
	return 0;
}

/* The first of Names ["/name"], without the slash; "" if none. */
static const char *first_name(const cJSON *container)
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(container, "Names");
	const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
	const char *name = cJSON_IsString(first) ? first->valuestring : "";

	return name[0] == '/' ? name + 1 : name;
}

int isol8_docker_container_list(struct isol8_docker *d, const char *label_filter, isol8_docker_container_fn cb,
				void *userdata, struct isol8_error *err)
{
	return isol8_docker_list(d, CONTAINER_LIST, "container", label_filter, first_name, cb, userdata, err);
}

int isol8_docker_container_list_entries(struct isol8_docker *d, const char *label_filter, isol8_docker_entry_fn cb,
					void *userdata, struct isol8_error *err)
{
	_cleanup_cjson_ cJSON *json = NULL;
	const cJSON *item;
	int r = isol8_docker_list_fetch(d, CONTAINER_LIST, "container", label_filter, &json, err);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(item, json) {
		const cJSON *created = cJSON_GetObjectItemCaseSensitive(item, "Created");
		struct isol8_docker_entry c = {
			.id = isol8_json_string(item, "Id"),
			.created = cJSON_IsNumber(created) ? (int64_t)created->valuedouble : 0,
			.labels = cJSON_GetObjectItemCaseSensitive(item, "Labels"),
		};
		if (c.id != NULL)
			cb(&c, userdata);
	}
	return 0;
}

const char *isol8_docker_entry_label(const struct isol8_docker_entry *c, const char *key)
{
	const char *v = isol8_json_string(c->labels, key);
	return v ? v : "";
}
