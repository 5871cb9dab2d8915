/*
 * The MCP server's JSON-RPC layer: one message in, at most one reply out,
 * and the protocol's own methods (initialize, ping, tools/list, tools/call;
 * notifications are taken silently). A table of methods; the tools are
 * mcp_tools.c. See mcp.h.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/mcp.h"

#define PARSE_ERROR -32700
#define INVALID_REQUEST -32600
#define METHOD_NOT_FOUND -32601
#define INVALID_PARAMS -32602

static const char *const protocol_versions[] = {ISOL8_MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26", "2024-11-05"};

static const char instructions[] =
	"Runs code in isolated, locked-down sandboxes (no network, read-only root, non-root user, memory, CPU, "
	"process and time limits). Use `execute` for Python, Node, Bun, Deno or Bash; pass a sessionId to keep "
	"files and interpreter state between calls, move files with put_file and get_file, and destroy the "
	"session when done.";

static void cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}
#define _cleanup_cjson_ __attribute__((cleanup(cjson_deletep)))

void isol8_mcp_init(struct isol8_mcp *m, const struct isol8_mcp_backend *backend)
{
	memset(m, 0, sizeof(*m));
	m->backend = backend;
}

/* A reply line: {"jsonrpc":"2.0","id":<id>,"result"|"error":...}; takes
 * payload. id NULL: null. */
static int reply_line(const cJSON *id, const char *field, cJSON *payload, char **reply)
{
	_cleanup_cjson_ cJSON *msg = cJSON_CreateObject();
	cJSON *id_copy = id ? cJSON_Duplicate(id, true) : cJSON_CreateNull();

	if (msg == NULL || id_copy == NULL || payload == NULL || !cJSON_AddStringToObject(msg, "jsonrpc", "2.0")) {
		cJSON_Delete(id_copy);
		cJSON_Delete(payload);
		return -ISOL8_E_NOMEM;
	}
	cJSON_AddItemToObject(msg, "id", id_copy);
	cJSON_AddItemToObject(msg, field, payload);
	*reply = cJSON_PrintUnformatted(msg);
	return *reply ? 0 : -ISOL8_E_NOMEM;
}

static int error_reply(const cJSON *id, int code, const char *message, char **reply)
{
	cJSON *e = cJSON_CreateObject();

	if (e != NULL && (!cJSON_AddNumberToObject(e, "code", code) || !cJSON_AddStringToObject(e, "message", message))) {
		cJSON_Delete(e);
		e = NULL;
	}
	return reply_line(id, "error", e, reply);
}

/* A method's answer: its result object, or an error code and message. */
struct answer {
	cJSON *result;
	int code;
	char message[256];
};

static void answer_error(struct answer *a, int code, const char *message)
{
	a->code = code;
	snprintf(a->message, sizeof(a->message), "%s", message);
}

static const char *negotiate(const char *asked)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(protocol_versions); i++)
		if (strcmp(asked, protocol_versions[i]) == 0)
			return protocol_versions[i];
	return ISOL8_MCP_PROTOCOL_LATEST;
}

static void do_initialize(struct isol8_mcp *m, const cJSON *params, struct answer *a)
{
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
	cJSON *r, *caps, *tools, *info;

	if (!cJSON_IsString(version)) {
		answer_error(a, INVALID_PARAMS, "initialize: params.protocolVersion must be a string");
		return;
	}
	snprintf(m->protocol_version, sizeof(m->protocol_version), "%s", negotiate(version->valuestring));
	r = cJSON_CreateObject();
	a->result = r;
	if (r == NULL || !cJSON_AddStringToObject(r, "protocolVersion", m->protocol_version) ||
	    (caps = cJSON_AddObjectToObject(r, "capabilities")) == NULL ||
	    (tools = cJSON_AddObjectToObject(caps, "tools")) == NULL || !cJSON_AddFalseToObject(tools, "listChanged") ||
	    (info = cJSON_AddObjectToObject(r, "serverInfo")) == NULL ||
	    !cJSON_AddStringToObject(info, "name", "isol8") || !cJSON_AddStringToObject(info, "title", "isol8") ||
	    !cJSON_AddStringToObject(info, "version", ISOL8_VERSION) ||
	    !cJSON_AddStringToObject(r, "instructions", instructions)) {
		cJSON_Delete(r);
		a->result = NULL;
	}
}

static void do_ping(struct isol8_mcp *m, const cJSON *params, struct answer *a)
{
	(void)m;
	(void)params;
	a->result = cJSON_CreateObject();
}

static void do_tools_list(struct isol8_mcp *m, const cJSON *params, struct answer *a)
{
	cJSON *tools = isol8_mcp_tools_list();

	(void)m;
	(void)params;
	a->result = cJSON_CreateObject();
	if (a->result == NULL || tools == NULL) {
		cJSON_Delete(tools);
		cJSON_Delete(a->result);
		a->result = NULL;
		return;
	}
	cJSON_AddItemToObject(a->result, "tools", tools);
}

static void do_tools_call(struct isol8_mcp *m, const cJSON *params, struct answer *a)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	char message[200];

	if (!cJSON_IsString(name)) {
		answer_error(a, INVALID_PARAMS, "tools/call: params.name must be a string");
		return;
	}
	if (!isol8_mcp_tool_exists(name->valuestring)) {
		snprintf(message, sizeof(message), "Unknown tool: %.100s", name->valuestring);
		answer_error(a, INVALID_PARAMS, message);
		return;
	}
	if (args != NULL && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
		answer_error(a, INVALID_PARAMS, "tools/call: params.arguments must be an object");
		return;
	}
	a->result = isol8_mcp_tool_call(m, name->valuestring, cJSON_IsObject(args) ? args : NULL);
}

static const struct {
	const char *name;
	void (*run)(struct isol8_mcp *m, const cJSON *params, struct answer *a);
} methods[] = {
	{"initialize", do_initialize},
	{"ping", do_ping},
	{"tools/list", do_tools_list},
	{"tools/call", do_tools_call},
};

/* A notification: nothing is answered, whatever it is. */
static void notification(struct isol8_mcp *m, const char *method)
{
	if (strcmp(method, "notifications/initialized") == 0)
		m->initialized = true;
}

static int request(struct isol8_mcp *m, const cJSON *id, const char *method, const cJSON *params, char **reply)
{
	struct answer a = {0};
	char message[200];

	if (params != NULL && !cJSON_IsObject(params) && !cJSON_IsNull(params))
		return error_reply(id, INVALID_PARAMS, "params must be an object", reply);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(methods); i++) {
		if (strcmp(methods[i].name, method) != 0)
			continue;
		methods[i].run(m, cJSON_IsObject(params) ? params : NULL, &a);
		if (a.code != 0)
			return error_reply(id, a.code, a.message, reply);
		return reply_line(id, "result", a.result, reply);
	}
	snprintf(message, sizeof(message), "Method not found: %.100s", method);
	return error_reply(id, METHOD_NOT_FOUND, message, reply);
}

int isol8_mcp_handle(struct isol8_mcp *m, const char *line, size_t len, char **reply)
{
	_cleanup_cjson_ cJSON *msg = cJSON_ParseWithLength(line, len);
	const cJSON *id, *method, *version;

	*reply = NULL;
	if (msg == NULL)
		return error_reply(NULL, PARSE_ERROR, "Parse error: the message is not JSON", reply);
	if (!cJSON_IsObject(msg))
		return error_reply(NULL, INVALID_REQUEST, "Invalid Request: a message is one JSON object (no batches)",
				   reply);
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	version = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
	if (id != NULL && !cJSON_IsString(id) && !cJSON_IsNumber(id))
		return error_reply(NULL, INVALID_REQUEST, "Invalid Request: id must be a string or a number", reply);
	if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0)
		return error_reply(id, INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"", reply);
	if (method == NULL && id != NULL &&
	    (cJSON_HasObjectItem(msg, "result") || cJSON_HasObjectItem(msg, "error")))
		return 0; /* a response to a request of ours: we send none */
	if (!cJSON_IsString(method))
		return error_reply(id, INVALID_REQUEST, "Invalid Request: method must be a string", reply);
	if (id == NULL) {
		notification(m, method->valuestring);
		return 0;
	}
	return request(m, id, method->valuestring, cJSON_GetObjectItemCaseSensitive(msg, "params"), reply);
}

char *isol8_mcp_too_large(size_t limit)
{
	char message[128], *reply = NULL;

	snprintf(message, sizeof(message), "Invalid Request: the message is longer than %zu bytes", limit);
	return error_reply(NULL, INVALID_REQUEST, message, &reply) == 0 ? reply : NULL;
}
