/* Image calls other than build (build.c): inspect, remove, list. */
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

/* "/images/<escaped name><suffix>" into *out (caller frees). */
static int image_path(const char *name, const char *suffix, char **out, struct isol8_error *err)
{
	return isol8_docker_object_path("images", "image name", name, suffix, out, err);
}

static const char *image_label(const cJSON *image, const char *label)
{
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(image, "Config");
	const cJSON *labels = cJSON_IsObject(config) ? cJSON_GetObjectItemCaseSensitive(config, "Labels") : NULL;
	const char *value = isol8_json_string(labels, label);

	return value ? value : "";
}

int isol8_docker_image_inspect(struct isol8_docker *d, const char *name, char *id_buf, size_t id_size,
			       const char *label, char *label_buf, size_t label_size, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_cjson_ cJSON *json = NULL;
	const char *id;
	int r;

	if (id_buf != NULL && id_size > 0)
		id_buf[0] = '\0';
	if (label_buf != NULL && label_size > 0)
		label_buf[0] = '\0';
	r = image_path(name, "/json", &path, err);
	if (r < 0)
		return r;
	const struct isol8_docker_request req = {.method = "GET", .path = path};
	r = isol8_docker_request_json(d, &req, &json, err);
	if (r < 0)
		return r;
	id = isol8_json_string(json, "Id");
	if (id == NULL)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: inspect of image \"%s\" lacks Id", name);
	if (id_buf != NULL && (r = isol8_json_copy(id_buf, id_size, id, "image id", err)) < 0)
		return r;
	if (label != NULL && label_buf != NULL)
		return isol8_json_copy(label_buf, label_size, image_label(json, label), "image label", err);
	return 0;
}

int isol8_docker_image_remove(struct isol8_docker *d, const char *name, bool force, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = image_path(name, force ? "?force=1" : "", &path, err);

	return r < 0 ? r : isol8_docker_request_simple(d, "DELETE", path, 0, err);
}

/* The first of RepoTags, "" if none (RepoTags may be null). */
static const char *first_tag(const cJSON *image)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(image, "RepoTags");
	const cJSON *first = cJSON_IsArray(tags) ? cJSON_GetArrayItem(tags, 0) : NULL;

	return cJSON_IsString(first) ? first->valuestring : "";
}

int isol8_docker_image_list(struct isol8_docker *d, const char *label_filter, isol8_docker_container_fn cb,
			    void *userdata, struct isol8_error *err)
{
	return isol8_docker_list(d, "/images/json", "image", label_filter, first_tag, cb, userdata, err);
}
