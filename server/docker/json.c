/* Small typed accessors over cJSON trees from Docker (see docker_internal.h). */
#include <string.h>

#include "docker/docker_internal.h"

const char *isol8_json_string(const cJSON *obj, const char *name)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return NULL;
	item = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int isol8_json_copy(char *buf, size_t size, const char *src, const char *what, struct isol8_error *err)
{
	size_t len = strlen(src);

	if (len >= size)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: %s from the engine is too long (%zu bytes, max %zu)",
				       what, len, size - 1);
	memcpy(buf, src, len + 1);
	return 0;
}

bool isol8_json_bool(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

int isol8_json_int(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;

	return cJSON_IsNumber(item) ? item->valueint : 0;
}
