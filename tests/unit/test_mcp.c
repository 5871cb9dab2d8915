/* Unit tests of `isol8 mcp`'s protocol layer over a fake backend: the
 * JSON-RPC framing and errors, version negotiation, notifications, the
 * tools' schemas, arguments, results and tool errors, text and base64. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mcp.h"
#include "runner.h"

/* ---- the fake backend: records the last call, answers what it is told ---- */

static struct {
	int fail;                  /* nonzero: the next call fails with this code */
	char fail_message[128];
	char runtime[16], code[256], session[64], stdin_text[64], env[128];
	int64_t timeout_ms;
	const char *out, *err;     /* execute's output */
	size_t out_len, err_len;
	int exit_code;
	char put_session[64], put_path[256];
	unsigned char put_data[64];
	size_t put_size;
	const unsigned char *file;
	size_t file_size;
	char get_path[256];
	bool existed;
} fake;

static int fake_fail(struct isol8_error *err)
{
	int code = fake.fail;

	fake.fail = 0;
	snprintf(err->message, sizeof(err->message), "%s", fake.fail_message);
	err->code = code;
	return -code;
}

static int fake_execute(void *ud, const struct isol8_request *req, struct isol8_result **out, struct isol8_error *err)
{
	struct isol8_result *r;

	(void)ud;
	if (fake.fail)
		return fake_fail(err);
	snprintf(fake.runtime, sizeof(fake.runtime), "%s", req->runtime);
	snprintf(fake.code, sizeof(fake.code), "%s", req->code);
	snprintf(fake.session, sizeof(fake.session), "%s", req->session_id ? req->session_id : "");
	snprintf(fake.stdin_text, sizeof(fake.stdin_text), "%.*s", (int)req->stdin_size,
		 req->stdin_data ? (const char *)req->stdin_data : "");
	fake.env[0] = '\0';
	for (size_t i = 0; i < req->n_env; i++)
		snprintf(fake.env + strlen(fake.env), sizeof(fake.env) - strlen(fake.env), "%s=%s;", req->env[i].key,
			 req->env[i].value);
	fake.timeout_ms = req->timeout_ms;
	r = calloc(1, sizeof(*r));
	CU_ASSERT_FATAL(r != NULL);
	r->stdout_data = (char *)fake.out;
	r->stdout_size = fake.out_len;
	r->stderr_data = (char *)fake.err;
	r->stderr_size = fake.err_len;
	r->exit_code = fake.exit_code;
	r->duration_ms = 12;
	*out = r;
	return 0;
}

static void fake_result_free(struct isol8_result *r)
{
	free(r);
}

static struct isol8_session_info fake_sessions[2] = {
	{"s1", "python", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "c1", false, 500},
	{"s2", "bash", "2026-01-01T00:00:01Z", "2026-01-01T00:02:00Z", "c2", true, 0},
};

static int fake_list(void *ud, struct isol8_session_info **out, size_t *n, struct isol8_error *err)
{
	(void)ud;
	if (fake.fail)
		return fake_fail(err);
	*out = fake_sessions;
	*n = 2;
	return 0;
}

static void fake_infos_free(struct isol8_session_info *list, size_t n)
{
	CU_ASSERT_PTR_EQUAL(list, fake_sessions);
	CU_ASSERT_EQUAL(n, 2);
}

static int fake_destroy(void *ud, const char *id, bool *existed, struct isol8_error *err)
{
	(void)ud;
	if (fake.fail)
		return fake_fail(err);
	snprintf(fake.session, sizeof(fake.session), "%s", id);
	*existed = fake.existed;
	return 0;
}

static int fake_put(void *ud, const char *sid, const char *path, const void *data, size_t size, struct isol8_error *err)
{
	(void)ud;
	if (fake.fail)
		return fake_fail(err);
	snprintf(fake.put_session, sizeof(fake.put_session), "%s", sid);
	snprintf(fake.put_path, sizeof(fake.put_path), "%s", path);
	CU_ASSERT_FATAL(size <= sizeof(fake.put_data));
	memcpy(fake.put_data, data, size);
	fake.put_size = size;
	return 0;
}

static int fake_get(void *ud, const char *sid, const char *path, size_t max, unsigned char **data, size_t *size,
		    struct isol8_error *err)
{
	(void)ud;
	(void)sid;
	CU_ASSERT_EQUAL(max, ISOL8_MCP_FILE_MAX);
	if (fake.fail)
		return fake_fail(err);
	snprintf(fake.get_path, sizeof(fake.get_path), "%s", path);
	*data = malloc(fake.file_size + 1);
	CU_ASSERT_FATAL(*data != NULL);
	memcpy(*data, fake.file, fake.file_size);
	*size = fake.file_size;
	return 0;
}

static const struct isol8_mcp_backend backend = {fake_execute, fake_result_free, fake_list, fake_infos_free,
						 fake_destroy, fake_put, fake_get, NULL};

/* ---- helpers ---- */

/* Handles line; the reply parsed (NULL when none was due). */
static cJSON *handle(struct isol8_mcp *m, const char *line)
{
	char *reply = NULL;
	cJSON *json;

	CU_ASSERT_EQUAL_FATAL(isol8_mcp_handle(m, line, strlen(line), &reply), 0);
	if (reply == NULL)
		return NULL;
	CU_ASSERT_PTR_NULL(strchr(reply, '\n')); /* one line */
	json = cJSON_Parse(reply);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	free(reply);
	return json;
}

static const cJSON *at(const cJSON *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strtok_r(buf, ".", &save); p && o; p = strtok_r(NULL, ".", &save))
		o = (*p >= '0' && *p <= '9') ? cJSON_GetArrayItem(o, atoi(p)) : cJSON_GetObjectItemCaseSensitive(o, p);
	return o;
}

static const char *str_at(const cJSON *o, const char *path)
{
	const cJSON *v = at(o, path);
	return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

static double num_at(const cJSON *o, const char *path)
{
	const cJSON *v = at(o, path);
	return cJSON_IsNumber(v) ? v->valuedouble : -99999;
}

static void assert_error(cJSON *r, int code, const char *message, bool id_null)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(str_at(r, "jsonrpc"), "2.0");
	CU_ASSERT_EQUAL(num_at(r, "error.code"), code);
	CU_ASSERT_STRING_EQUAL(str_at(r, "error.message"), message);
	if (id_null)
		CU_ASSERT_TRUE(cJSON_IsNull(at(r, "id")));
	CU_ASSERT_PTR_NULL(at(r, "result"));
	cJSON_Delete(r);
}

/* A tools/call's result (asserting a JSON-RPC success). */
static cJSON *call(struct isol8_mcp *m, const char *name, const char *args)
{
	char line[2048];
	cJSON *r, *result;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
		 "\"arguments\":%s}}", name, args);
	r = handle(m, line);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(num_at(r, "id"), 7);
	result = cJSON_DetachItemFromObject(r, "result");
	cJSON_Delete(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(result);
	return result;
}

static void assert_tool_error(struct isol8_mcp *m, const char *name, const char *args, const char *message)
{
	cJSON *r = call(m, name, args);

	CU_ASSERT_TRUE(cJSON_IsTrue(at(r, "isError")));
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.type"), "text");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), message);
	cJSON_Delete(r);
}

/* ---- the protocol ---- */

static void test_initialize(void)
{
	static const char *const versions[][2] = {
		{"2025-11-25", "2025-11-25"}, {"2025-06-18", "2025-06-18"}, {"2025-03-26", "2025-03-26"},
		{"2024-11-05", "2024-11-05"}, {"2099-01-01", "2025-11-25"}, {"", "2025-11-25"},
	};
	struct isol8_mcp m;
	char line[256];

	for (size_t i = 0; i < ISOL8_TESTS_LEN(versions); i++) {
		isol8_mcp_init(&m, &backend);
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":\"init-%zu\",\"method\":\"initialize\",\"params\":"
			 "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
			 i, versions[i][0]);
		cJSON *r = handle(&m, line);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		snprintf(line, sizeof(line), "init-%zu", i);
		CU_ASSERT_STRING_EQUAL(str_at(r, "id"), line);
		CU_ASSERT_STRING_EQUAL(str_at(r, "result.protocolVersion"), versions[i][1]);
		CU_ASSERT_STRING_EQUAL(str_at(r, "result.serverInfo.name"), "isol8");
		CU_ASSERT_STRING_EQUAL(str_at(r, "result.serverInfo.version"), ISOL8_VERSION);
		CU_ASSERT_TRUE(cJSON_IsObject(at(r, "result.capabilities.tools")));
		CU_ASSERT_STRING_EQUAL(m.protocol_version, versions[i][1]);
		cJSON_Delete(r);
	}
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"), -32602,
		     "initialize: params.protocolVersion must be a string", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":[1]}"), -32602,
		     "params must be an object", false);
}

static void test_notifications_and_ping(void)
{
	struct isol8_mcp m;
	cJSON *r;

	isol8_mcp_init(&m, &backend);
	CU_ASSERT_PTR_NULL(handle(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
	CU_ASSERT_TRUE(m.initialized);
	CU_ASSERT_PTR_NULL(handle(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
				      "{\"requestId\":3}}"));
	CU_ASSERT_PTR_NULL(handle(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\"}"));
	/* a response to us is no request either */
	CU_ASSERT_PTR_NULL(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}"));
	r = handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "id"), "p");
	CU_ASSERT_TRUE(cJSON_IsObject(at(r, "result")));
	CU_ASSERT_EQUAL(cJSON_GetArraySize(at(r, "result")), 0);
	cJSON_Delete(r);
}

static void test_protocol_errors(void)
{
	struct isol8_mcp m;
	cJSON *r;

	isol8_mcp_init(&m, &backend);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}"), -32601,
		     "Method not found: resources/list", false);
	r = handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":-4.5,\"method\":\"nope\"}");
	CU_ASSERT_EQUAL(num_at(r, "id"), -4.5);
	assert_error(r, -32601, "Method not found: nope", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\""), -32700,
		     "Parse error: the message is not JSON", true);
	assert_error(handle(&m, "not json at all"), -32700, "Parse error: the message is not JSON", true);
	assert_error(handle(&m, ""), -32700, "Parse error: the message is not JSON", true);
	assert_error(handle(&m, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]"), -32600,
		     "Invalid Request: a message is one JSON object (no batches)", true);
	assert_error(handle(&m, "42"), -32600, "Invalid Request: a message is one JSON object (no batches)", true);
	assert_error(handle(&m, "{\"id\":1,\"method\":\"ping\"}"), -32600, "Invalid Request: jsonrpc must be \"2.0\"",
		     false);
	assert_error(handle(&m, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}"), -32600,
		     "Invalid Request: jsonrpc must be \"2.0\"", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}"), -32600,
		     "Invalid Request: id must be a string or a number", true);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}"), -32600,
		     "Invalid Request: method must be a string", false);
	/* a line past the limit */
	char *too = isol8_mcp_too_large(ISOL8_MCP_LINE_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(too);
	CU_ASSERT_STRING_EQUAL(too, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid "
				    "Request: the message is longer than 16777216 bytes\"}}");
	free(too);
}

static void test_tools_list(void)
{
	static const char *const names[] = {"execute", "list_sessions", "destroy_session", "put_file", "get_file"};
	struct isol8_mcp m;
	cJSON *r;
	const cJSON *tools, *runtimes;

	isol8_mcp_init(&m, &backend);
	r = handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{}}");
	tools = at(r, "result.tools");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(tools), 5);
	for (int i = 0; i < 5; i++) {
		const cJSON *t = cJSON_GetArrayItem(tools, i);
		CU_ASSERT_STRING_EQUAL(str_at(t, "name"), names[i]);
		CU_ASSERT_STRING_EQUAL(str_at(t, "inputSchema.type"), "object");
		CU_ASSERT_TRUE(strlen(str_at(t, "description")) > 20);
	}
	runtimes = at(tools, "0.inputSchema.properties.runtime.enum");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(runtimes), 5);
	CU_ASSERT_STRING_EQUAL(str_at(tools, "0.inputSchema.required.1"), "code");
	CU_ASSERT_STRING_EQUAL(str_at(tools, "0.inputSchema.properties.timeoutMs.type"), "integer");
	CU_ASSERT_STRING_EQUAL(str_at(tools, "0.inputSchema.properties.env.additionalProperties.type"), "string");
	CU_ASSERT_STRING_EQUAL(str_at(tools, "0.outputSchema.properties.exitCode.type"), "integer");
	CU_ASSERT_STRING_EQUAL(str_at(tools, "2.inputSchema.required.0"), "sessionId");
	CU_ASSERT_TRUE(cJSON_IsObject(at(tools, "3.inputSchema.properties.contentBase64")));
	cJSON_Delete(r);
}

/* ---- the tools ---- */

static void test_execute(void)
{
	struct isol8_mcp m;
	cJSON *r;

	isol8_mcp_init(&m, &backend);
	fake.out = "hi\n";
	fake.out_len = 3;
	fake.err = "warn";
	fake.err_len = 4;
	fake.exit_code = 3;
	r = call(&m, "execute", "{\"runtime\":\"python\",\"code\":\"print('hi')\",\"timeoutMs\":5000,\"sessionId\":"
				"\"s1\",\"stdin\":\"in\",\"env\":{\"A\":\"1\",\"B\":\"two\"}}");
	CU_ASSERT_STRING_EQUAL(fake.runtime, "python");
	CU_ASSERT_STRING_EQUAL(fake.code, "print('hi')");
	CU_ASSERT_STRING_EQUAL(fake.session, "s1");
	CU_ASSERT_STRING_EQUAL(fake.stdin_text, "in");
	CU_ASSERT_STRING_EQUAL(fake.env, "A=1;B=two;");
	CU_ASSERT_EQUAL(fake.timeout_ms, 5000);
	CU_ASSERT_TRUE(cJSON_IsFalse(at(r, "isError")));
	CU_ASSERT_EQUAL(cJSON_GetArraySize(at(r, "content")), 1);
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "hi\nstderr:\nwarn\nexit code: 3");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.stdout"), "hi\n");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.stderr"), "warn");
	CU_ASSERT_EQUAL(num_at(r, "structuredContent.exitCode"), 3);
	CU_ASSERT_TRUE(cJSON_IsFalse(at(r, "structuredContent.timedOut")));
	CU_ASSERT_EQUAL(num_at(r, "structuredContent.durationMs"), 12);
	cJSON_Delete(r);

	/* output that is not UTF-8 still makes valid JSON */
	fake.out = "a\0b\xff";
	fake.out_len = 4;
	fake.err_len = 0;
	fake.exit_code = 0;
	r = call(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"x\"}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "a\xef\xbf\xbd" "b\xef\xbf\xbd\nexit code: 0");
	CU_ASSERT_STRING_EQUAL(fake.session, "");
	CU_ASSERT_EQUAL(fake.timeout_ms, 0);
	cJSON_Delete(r);

	/* what could not run is a tool error with the message */
	fake.fail = ISOL8_E_PRECONDITION;
	snprintf(fake.fail_message, sizeof(fake.fail_message), "image \"isol8:python\" is missing: run `isol8 setup`");
	assert_tool_error(&m, "execute", "{\"runtime\":\"python\",\"code\":\"1\"}",
			  "image \"isol8:python\" is missing: run `isol8 setup`");
}

static void test_execute_arguments(void)
{
	struct isol8_mcp m;

	isol8_mcp_init(&m, &backend);
	assert_tool_error(&m, "execute", "{\"runtime\":\"python\"}", "code: required, a non-empty string");
	assert_tool_error(&m, "execute", "{\"code\":\"1\"}", "runtime: required, a non-empty string");
	assert_tool_error(&m, "execute", "{\"runtime\":7,\"code\":\"1\"}", "runtime: required, a non-empty string");
	assert_tool_error(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"1\",\"timeoutMs\":1.5}",
			  "timeoutMs: must be a whole number of milliseconds from 1 to 86400000");
	assert_tool_error(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"1\",\"timeoutMs\":\"9\"}",
			  "timeoutMs: must be a whole number of milliseconds from 1 to 86400000");
	assert_tool_error(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"1\",\"sessionId\":3}",
			  "sessionId: must be a string");
	assert_tool_error(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"1\",\"env\":[]}",
			  "env: must be an object of strings");
	assert_tool_error(&m, "execute", "{\"runtime\":\"bash\",\"code\":\"1\",\"env\":{\"A\":1}}",
			  "env.A: must be a string");
	assert_tool_error(&m, "execute", "{}", "runtime: required, a non-empty string");
}

static void test_call_params(void)
{
	struct isol8_mcp m;

	isol8_mcp_init(&m, &backend);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\"}}"),
		     -32602, "Unknown tool: rm_rf", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}"), -32602,
		     "tools/call: params.name must be a string", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}"), -32602,
		     "tools/call: params.name must be a string", false);
	assert_error(handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
				"\"execute\",\"arguments\":[1]}}"),
		     -32602, "tools/call: params.arguments must be an object", false);
	/* no arguments at all: the tool says what it needs */
	cJSON *r = handle(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
			      "\"destroy_session\"}}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "result.content.0.text"), "sessionId: required, a non-empty string");
	CU_ASSERT_TRUE(cJSON_IsTrue(at(r, "result.isError")));
	cJSON_Delete(r);
}

static void test_sessions(void)
{
	struct isol8_mcp m;
	cJSON *r;

	isol8_mcp_init(&m, &backend);
	r = call(&m, "list_sessions", "{}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "s1 python idle, last used 2026-01-01T00:01:00Z\n"
							    "s2 bash busy, last used 2026-01-01T00:02:00Z");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.sessions.1.id"), "s2");
	CU_ASSERT_TRUE(cJSON_IsTrue(at(r, "structuredContent.sessions.1.busy")));
	CU_ASSERT_EQUAL(num_at(r, "structuredContent.sessions.0.idleMs"), 500);
	cJSON_Delete(r);
	fake.existed = true;
	r = call(&m, "destroy_session", "{\"sessionId\":\"s1\"}");
	CU_ASSERT_STRING_EQUAL(fake.session, "s1");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "session s1 destroyed");
	CU_ASSERT_TRUE(cJSON_IsTrue(at(r, "structuredContent.destroyed")));
	cJSON_Delete(r);
	fake.existed = false;
	r = call(&m, "destroy_session", "{\"sessionId\":\"zz\"}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "no session zz (nothing to destroy)");
	CU_ASSERT_TRUE(cJSON_IsFalse(at(r, "isError")));
	cJSON_Delete(r);
	fake.fail = ISOL8_E_UNAVAILABLE;
	snprintf(fake.fail_message, sizeof(fake.fail_message), "cannot reach isol8d");
	assert_tool_error(&m, "list_sessions", "{}", "cannot reach isol8d");
}

static void test_files(void)
{
	static const unsigned char binary[] = {0x00, 0xff, 0x10, 'x'};
	struct isol8_mcp m;
	cJSON *r;

	isol8_mcp_init(&m, &backend);
	r = call(&m, "put_file", "{\"sessionId\":\"s1\",\"path\":\"data.csv\",\"content\":\"a,b\\n1,2\\n\"}");
	CU_ASSERT_STRING_EQUAL(fake.put_path, "/sandbox/data.csv");
	CU_ASSERT_EQUAL(fake.put_size, 8);
	CU_ASSERT_EQUAL(memcmp(fake.put_data, "a,b\n1,2\n", 8), 0);
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "wrote 8 bytes to /sandbox/data.csv in session s1");
	cJSON_Delete(r);
	r = call(&m, "put_file", "{\"sessionId\":\"s1\",\"path\":\"/tmp/b\",\"contentBase64\":\"AP8QeA==\"}");
	CU_ASSERT_STRING_EQUAL(fake.put_path, "/tmp/b");
	CU_ASSERT_EQUAL(fake.put_size, 4);
	CU_ASSERT_EQUAL(memcmp(fake.put_data, binary, 4), 0);
	cJSON_Delete(r);
	assert_tool_error(&m, "put_file", "{\"sessionId\":\"s1\",\"path\":\"x\"}", "content or contentBase64: give exactly one");
	assert_tool_error(&m, "put_file", "{\"sessionId\":\"s1\",\"path\":\"x\",\"content\":\"a\",\"contentBase64\":\"YQ==\"}",
			  "content or contentBase64: give exactly one");
	assert_tool_error(&m, "put_file", "{\"sessionId\":\"s1\",\"path\":\"x\",\"contentBase64\":\"%%%\"}",
			  "contentBase64: not base64, or more than 8388608 bytes");
	assert_tool_error(&m, "put_file", "{\"path\":\"x\",\"content\":\"a\"}", "sessionId: required, a non-empty string");

	fake.file = (const unsigned char *)"caf\xc3\xa9\n";
	fake.file_size = 6;
	r = call(&m, "get_file", "{\"sessionId\":\"s1\",\"path\":\"out.txt\"}");
	CU_ASSERT_STRING_EQUAL(fake.get_path, "/sandbox/out.txt");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "caf\xc3\xa9\n");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.encoding"), "utf-8");
	CU_ASSERT_EQUAL(num_at(r, "structuredContent.size"), 6);
	cJSON_Delete(r);
	fake.file = binary;
	fake.file_size = 4;
	r = call(&m, "get_file", "{\"sessionId\":\"s1\",\"path\":\"/sandbox/b\"}");
	CU_ASSERT_STRING_EQUAL(str_at(r, "content.0.text"), "(4 bytes, not UTF-8 text: base64)\nAP8QeA==");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.encoding"), "base64");
	CU_ASSERT_STRING_EQUAL(str_at(r, "structuredContent.content"), "AP8QeA==");
	cJSON_Delete(r);
	fake.fail = ISOL8_E_NOT_FOUND;
	snprintf(fake.fail_message, sizeof(fake.fail_message), "file \"/sandbox/nope\" not found in session s1");
	assert_tool_error(&m, "get_file", "{\"sessionId\":\"s1\",\"path\":\"nope\"}",
			  "file \"/sandbox/nope\" not found in session s1");
}

static void test_text(void)
{
	unsigned char *out = NULL;
	size_t size = 0;
	char *s;

	CU_ASSERT_TRUE(isol8_mcp_is_text("", 0));
	CU_ASSERT_TRUE(isol8_mcp_is_text("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	CU_ASSERT_FALSE(isol8_mcp_is_text("a\0b", 3));
	CU_ASSERT_FALSE(isol8_mcp_is_text("\xc0\xaf", 2));         /* overlong */
	CU_ASSERT_FALSE(isol8_mcp_is_text("\xed\xa0\x80", 3));     /* surrogate */
	CU_ASSERT_FALSE(isol8_mcp_is_text("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	CU_ASSERT_FALSE(isol8_mcp_is_text("\xe2\x82", 2));         /* cut */
	s = isol8_mcp_text("\xe2\x82", 2);
	CU_ASSERT_STRING_EQUAL(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = isol8_mcp_base64_encode("", 0);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	s = isol8_mcp_base64_encode("hello!?", 7);
	CU_ASSERT_STRING_EQUAL(s, "aGVsbG8hPw==");
	free(s);
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("aGVsbG8hPw==", 100, &out, &size), 0);
	CU_ASSERT_EQUAL(size, 7);
	CU_ASSERT_EQUAL(memcmp(out, "hello!?", 7), 0);
	free(out);
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("aGVsbG8hPw", 100, &out, &size), 0); /* unpadded */
	CU_ASSERT_EQUAL(size, 7);
	free(out);
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("aGVsbG8hPw==", 6, &out, &size), -1); /* past max */
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("a", 100, &out, &size), -1);
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("ab c", 100, &out, &size), -1);
	CU_ASSERT_EQUAL(isol8_mcp_base64_decode("a===", 100, &out, &size), -1);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"initialize: revisions negotiated", test_initialize},
		{"notifications get no reply; ping", test_notifications_and_ping},
		{"JSON-RPC errors", test_protocol_errors},
		{"tools/list: names and schemas", test_tools_list},
		{"execute: request, result, failure", test_execute},
		{"execute: arguments named when wrong", test_execute_arguments},
		{"tools/call: bad params", test_call_params},
		{"list_sessions, destroy_session", test_sessions},
		{"put_file, get_file", test_files},
		{"text and base64", test_text},
	};
	return isol8_test_run("mcp", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
