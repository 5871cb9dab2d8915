/* Route lookup: see routes.h. (The table is in handlers.c, beside the handlers.) */
#include "gateway/routes.h"

#include <string.h>

/* Whether path matches pattern; a trailing "/:id" takes one non-empty segment. */
static bool path_matches(const char *pattern, const char *path, const char **param, size_t *param_len)
{
	const char *colon = strstr(pattern, "/:");
	size_t prefix;

	if (colon == NULL)
		return strcmp(pattern, path) == 0;
	prefix = (size_t)(colon - pattern) + 1; /* with the slash */
	if (strncmp(pattern, path, prefix) != 0 || path[prefix] == '\0' || strchr(path + prefix, '/'))
		return false;
	*param = path + prefix;
	*param_len = strlen(path + prefix);
	return true;
}

enum gw_route_match gw_route_find(const struct gw_route *table, size_t n, const char *method, const char *path,
				  const struct gw_route **route, const char **param, size_t *param_len, char *allow,
				  size_t allow_size)
{
	bool any = false;
	const char *p = NULL;
	size_t plen = 0;

	if (allow_size)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!path_matches(table[i].path, path, &p, &plen))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			*route = &table[i];
			*param = p;
			*param_len = plen;
			return GW_ROUTE_FOUND;
		}
		if (allow_size && strlen(allow) + strlen(table[i].method) + 3 < allow_size) {
			if (any)
				strcat(allow, ", ");
			strcat(allow, table[i].method);
		}
		any = true;
	}
	return any ? GW_ROUTE_NO_METHOD : GW_ROUTE_NO_PATH;
}
