/* The shape check of a custom seccomp profile: see seccomp.h. */
#include <stdio.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "docker/seccomp.h"

int isol8_seccomp_profile_check(const char *json, char *why, size_t size)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *item;
	int ret = -1;

	if (root == NULL)
		snprintf(why, size, "not valid JSON (near byte %zu)",
			 cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - json) : (size_t)0);
	else if (!cJSON_IsObject(root))
		snprintf(why, size, "not a JSON object");
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "defaultAction")))
		snprintf(why, size, "no \"defaultAction\" string (Docker's seccomp profile format)");
	else if ((item = cJSON_GetObjectItemCaseSensitive(root, "syscalls")) != NULL && !cJSON_IsArray(item))
		snprintf(why, size, "\"syscalls\" is not an array");
	else
		ret = 0;
	cJSON_Delete(root);
	return ret;
}
