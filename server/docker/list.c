/* Listing a collection (containers, images) by label: see docker_internal.h. */
#include "docker/docker_internal.h"
#include "base/util.h"

int isol8_docker_list_fetch(struct isol8_docker *d, const char *base, const char *what, const char *label_filter,
			    cJSON **out, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_cjson_ cJSON *json = NULL;
	int r;

	*out = NULL;
	r = isol8_docker_list_path(base, label_filter, &path, err);
	if (r < 0)
		return r;
	const struct isol8_docker_request req = {.method = "GET", .path = path};
	r = isol8_docker_request_json(d, &req, &json, err);
	if (r < 0)
		return r;
	if (!cJSON_IsArray(json))
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: %s list is not an array", what);
	*out = json;
	json = NULL;
	return 0;
}

int isol8_docker_list(struct isol8_docker *d, const char *base, const char *what, const char *label_filter,
		      const char *(*name_of)(const cJSON *item), isol8_docker_container_fn cb, void *userdata,
		      struct isol8_error *err)
{
	_cleanup_cjson_ cJSON *json = NULL;
	const cJSON *item;
	int r = isol8_docker_list_fetch(d, base, what, label_filter, &json, err);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(item, json) {
		const char *id = isol8_json_string(item, "Id");
		if (id != NULL && cb != NULL)
			cb(id, name_of(item), userdata);
	}
	return 0;
}
