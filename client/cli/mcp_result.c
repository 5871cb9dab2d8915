/* The MCP tools' results and arguments: see mcp_tool.h. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/mcp_tool.h"

/* {"content":[{"type":"text","text":text}],"isError":is_error}; NULL without memory. */
cJSON *isol8_mcp_text_result(const char *text, bool is_error)
{
	cJSON *r = cJSON_CreateObject(), *content, *item;

	if (r == NULL || (content = cJSON_AddArrayToObject(r, "content")) == NULL ||
	    (item = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(r);
		return NULL;
	}
	cJSON_AddItemToArray(content, item);
	if (!cJSON_AddStringToObject(item, "type", "text") || !cJSON_AddStringToObject(item, "text", text) ||
	    !cJSON_AddBoolToObject(r, "isError", is_error)) {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

cJSON *isol8_mcp_tool_error(const char *fmt, ...)
{
	char message[ISOL8_ERROR_MESSAGE_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return isol8_mcp_text_result(message, true);
}

/* r with structured (taken) as its structuredContent; NULL (both freed) without memory. */
cJSON *isol8_mcp_with_structured(cJSON *r, cJSON *structured)
{
	if (r == NULL || structured == NULL) {
		cJSON_Delete(r);
		cJSON_Delete(structured);
		return NULL;
	}
	cJSON_AddItemToObject(r, "structuredContent", structured);
	return r;
}

/* ---- arguments ---- */

/* A string argument: NULL when absent; *bad names the argument when it is
 * there but not a string. */
const char *isol8_mcp_arg_string(const cJSON *args, const char *name, const char **bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);

	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = name;
		return NULL;
	}
	return v->valuestring;
}

/* The required string arguments of names (NULL-ended) into out, in order;
 * a tool error naming the first one missing or not a string, else NULL. */
cJSON *isol8_mcp_required_strings(const cJSON *args, const char *const *names, const char **out)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *bad = NULL;
		out[i] = isol8_mcp_arg_string(args, names[i], &bad);
		if (out[i] == NULL || out[i][0] == '\0')
			return isol8_mcp_tool_error("%s: required, a non-empty string", names[i]);
	}
	return NULL;
}

