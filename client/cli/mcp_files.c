/* The MCP tools put_file and get_file: a session's files as text or
 * base64, at most ISOL8_MCP_FILE_MAX bytes. See mcp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/mcp_tool.h"

const char isol8_mcp_put_input[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"sessionId\":{\"type\":\"string\",\"description\":\"an existing session (run execute with it first)\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"where, under /sandbox or /tmp (relative: under /sandbox)\"},"
	"\"content\":{\"type\":\"string\",\"description\":\"the file's text\"},"
	"\"contentBase64\":{\"type\":\"string\",\"description\":\"the file's bytes in base64 (instead of content)\"}},"
	"\"required\":[\"sessionId\",\"path\"],\"additionalProperties\":false}";

const char isol8_mcp_get_input[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"sessionId\":{\"type\":\"string\",\"description\":\"the session\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"the file, under /sandbox or /tmp (relative: under "
	"/sandbox)\"}},"
	"\"required\":[\"sessionId\",\"path\"],\"additionalProperties\":false}";

const char isol8_mcp_get_output[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
	"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf-8\",\"base64\"]},\"content\":{\"type\":\"string\"}},"
	"\"required\":[\"path\",\"size\",\"encoding\",\"content\"]}";

#define PATH_ARG_MAX 4096

/* A relative path is under /sandbox, as the CLI's `cp` takes it; a tool
 * error when it is too long. */
static cJSON *sandbox_path(const char *path, char *out, size_t size)
{
	if (strlen(path) > PATH_ARG_MAX)
		return isol8_mcp_tool_error("path: at most %d bytes", PATH_ARG_MAX);
	snprintf(out, size, "%s%.*s", path[0] == '/' ? "" : "/sandbox/", PATH_ARG_MAX, path);
	return NULL;
}

cJSON *isol8_mcp_put_file(struct isol8_mcp *m, const cJSON *args)
{
	static const char *const required[] = {"sessionId", "path", NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	_cleanup_free_ unsigned char *decoded = NULL;
	const char *v[2], *text, *b64, *bad = NULL;
	const void *data;
	size_t size;
	char path[PATH_ARG_MAX + 16], msg[PATH_ARG_MAX + 256];
	cJSON *r = isol8_mcp_required_strings(args, required, v);

	if (r != NULL)
		return r;
	text = isol8_mcp_arg_string(args, "content", &bad);
	b64 = isol8_mcp_arg_string(args, "contentBase64", &bad);
	if (bad != NULL)
		return isol8_mcp_tool_error("%s: must be a string", bad);
	if ((text == NULL) == (b64 == NULL))
		return isol8_mcp_tool_error("content or contentBase64: give exactly one");
	if (b64 != NULL) {
		if (isol8_mcp_base64_decode(b64, ISOL8_MCP_FILE_MAX, &decoded, &size) < 0)
			return isol8_mcp_tool_error("contentBase64: not base64, or more than %u bytes", ISOL8_MCP_FILE_MAX);
		data = decoded;
	} else {
		data = text;
		size = strlen(text);
	}
	if ((r = sandbox_path(v[1], path, sizeof(path))) != NULL)
		return r;
	if (m->backend->put_file(m->backend->userdata, v[0], path, data, size, &err) < 0)
		return isol8_mcp_tool_error("%s", err.message);
	snprintf(msg, sizeof(msg), "wrote %zu bytes to %.4112s in session %.128s", size, path, v[0]);
	return isol8_mcp_text_result(msg, false);
}

static cJSON *get_result(const char *path, const unsigned char *data, size_t size)
{
	bool is_text = isol8_mcp_is_text(data, size);
	_cleanup_free_ char *content = is_text ? isol8_mcp_text(data, size) : isol8_mcp_base64_encode(data, size);
	_cleanup_free_ char *shown = NULL;
	cJSON *s = cJSON_CreateObject();

	if (content != NULL && !is_text &&
	    asprintf(&shown, "(%zu bytes, not UTF-8 text: base64)\n%s", size, content) < 0)
		shown = NULL;
	if (content == NULL || (!is_text && shown == NULL) || s == NULL || !cJSON_AddStringToObject(s, "path", path) ||
	    !cJSON_AddNumberToObject(s, "size", (double)size) ||
	    !cJSON_AddStringToObject(s, "encoding", is_text ? "utf-8" : "base64") ||
	    !cJSON_AddStringToObject(s, "content", content)) {
		cJSON_Delete(s);
		return NULL;
	}
	return isol8_mcp_with_structured(isol8_mcp_text_result(is_text ? content : shown, false), s);
}

cJSON *isol8_mcp_get_file(struct isol8_mcp *m, const cJSON *args)
{
	static const char *const required[] = {"sessionId", "path", NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	_cleanup_free_ unsigned char *data = NULL;
	const char *v[2];
	size_t size = 0;
	char path[PATH_ARG_MAX + 16];
	cJSON *r = isol8_mcp_required_strings(args, required, v);

	if (r != NULL)
		return r;
	if ((r = sandbox_path(v[1], path, sizeof(path))) != NULL)
		return r;
	if (m->backend->get_file(m->backend->userdata, v[0], path, ISOL8_MCP_FILE_MAX, &data, &size, &err) < 0)
		return isol8_mcp_tool_error("%s", err.message);
	return get_result(path, data, size);
}

