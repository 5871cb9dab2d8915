/*
 * The MCP server's tools: a table of name, description, JSON Schemas and
 * handler. A handler reads its arguments (a wrong one is a tool error
 * naming it), calls isol8d through the backend and builds the
 * CallToolResult: one text item, structuredContent where the tool has an
 * output schema, isError for what could not be done. See mcp.h.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/mcp_tool.h"

#define MAX_ENV 256

/* ---- execute ---- */

static const char execute_input[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"runtime\":{\"type\":\"string\",\"enum\":[\"python\",\"node\",\"bun\",\"deno\",\"bash\"],"
	"\"description\":\"the language the code is in\"},"
	"\"code\":{\"type\":\"string\",\"description\":\"the program's source\"},"
	"\"timeoutMs\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"time limit in milliseconds "
	"(default 30000)\"},"
	"\"sessionId\":{\"type\":\"string\",\"description\":\"run in this persistent session (created on first use): "
	"files and interpreter state stay between calls\"},"
	"\"stdin\":{\"type\":\"string\",\"description\":\"the program's standard input\"},"
	"\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},\"description\":\"environment "
	"variables\"}},"
	"\"required\":[\"runtime\",\"code\"],\"additionalProperties\":false}";

static const char execute_output[] =
	"{\"type\":\"object\",\"properties\":{\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"},"
	"\"exitCode\":{\"type\":\"integer\"},\"timedOut\":{\"type\":\"boolean\"},\"durationMs\":{\"type\":\"integer\"}},"
	"\"required\":[\"stdout\",\"stderr\",\"exitCode\",\"timedOut\",\"durationMs\"]}";

/* The request's env from the "env" object (kv[] has MAX_ENV room); a tool error or NULL. */
static cJSON *read_env(const cJSON *args, struct isol8_kv *kv, size_t *n)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(args, "env"), *item;

	*n = 0;
	if (env == NULL || cJSON_IsNull(env))
		return NULL;
	if (!cJSON_IsObject(env))
		return isol8_mcp_tool_error("env: must be an object of strings");
	cJSON_ArrayForEach(item, env) {
		if (!cJSON_IsString(item))
			return isol8_mcp_tool_error("env.%.64s: must be a string", item->string);
		if (*n == MAX_ENV)
			return isol8_mcp_tool_error("env: at most %d variables", MAX_ENV);
		kv[*n] = (struct isol8_kv){item->string, item->valuestring};
		(*n)++;
	}
	return NULL;
}

/* The request from the arguments: a tool error, or NULL with req filled. */
static cJSON *read_execute(const cJSON *args, struct isol8_request *req, struct isol8_kv *env)
{
	static const char *const required[] = {"runtime", "code", NULL};
	const char *values[2], *bad = NULL;
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(args, "timeoutMs");
	cJSON *e = isol8_mcp_required_strings(args, required, values);

	if (e != NULL)
		return e;
	req->runtime = values[0];
	req->code = values[1];
	if (timeout != NULL && !cJSON_IsNull(timeout)) {
		if (!cJSON_IsNumber(timeout) || timeout->valuedouble < 1 || timeout->valuedouble > 86400000.0 ||
		    timeout->valuedouble != (double)(int64_t)timeout->valuedouble)
			return isol8_mcp_tool_error("timeoutMs: must be a whole number of milliseconds from 1 to 86400000");
		req->timeout_ms = (int64_t)timeout->valuedouble;
	}
	req->session_id = isol8_mcp_arg_string(args, "sessionId", &bad);
	const char *stdin_text = isol8_mcp_arg_string(args, "stdin", &bad);
	if (bad != NULL)
		return isol8_mcp_tool_error("%s: must be a string", bad);
	if (stdin_text != NULL) {
		req->stdin_data = stdin_text;
		req->stdin_size = strlen(stdin_text);
	}
	req->env = env;
	return read_env(args, env, &req->n_env);
}

/* "<stdout>\n[stderr:\n<stderr>\n]exit code: N[ (timed out)]" */
static char *execute_text(const char *out, const char *err, const struct isol8_result *res)
{
	size_t lo = strlen(out), le = strlen(err);
	char *text = NULL;

	if (asprintf(&text, "%s%s%s%s%sexit code: %d%s", out, lo && out[lo - 1] != '\n' ? "\n" : "",
		     le ? "stderr:\n" : "", err, le && err[le - 1] != '\n' ? "\n" : "", res->exit_code,
		     res->timed_out ? " (timed out)" : "") < 0)
		return NULL;
	return text;
}

static cJSON *execute_result(const struct isol8_result *res)
{
	_cleanup_free_ char *out = isol8_mcp_text(res->stdout_data, res->stdout_size);
	_cleanup_free_ char *err = isol8_mcp_text(res->stderr_data, res->stderr_size);
	_cleanup_free_ char *text = out && err ? execute_text(out, err, res) : NULL;
	cJSON *s = cJSON_CreateObject();

	if (text == NULL || s == NULL || !cJSON_AddStringToObject(s, "stdout", out) ||
	    !cJSON_AddStringToObject(s, "stderr", err) || !cJSON_AddNumberToObject(s, "exitCode", res->exit_code) ||
	    !cJSON_AddBoolToObject(s, "timedOut", res->timed_out) ||
	    !cJSON_AddNumberToObject(s, "durationMs", (double)res->duration_ms)) {
		cJSON_Delete(s);
		return NULL;
	}
	return isol8_mcp_with_structured(isol8_mcp_text_result(text, false), s);
}

static cJSON *tool_execute(struct isol8_mcp *m, const cJSON *args)
{
	_cleanup_free_ struct isol8_kv *env = calloc(MAX_ENV, sizeof(*env));
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *res = NULL;
	cJSON *r;

	if (env == NULL)
		return NULL;
	r = read_execute(args, &req, env);
	if (r != NULL)
		return r;
	if (m->backend->execute(m->backend->userdata, &req, &res, &err) < 0)
		return isol8_mcp_tool_error("%s", err.message);
	r = execute_result(res);
	m->backend->result_free(res);
	return r;
}

/* ---- sessions ---- */

static const char no_input[] = "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}";

static const char sessions_output[] =
	"{\"type\":\"object\",\"properties\":{\"sessions\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"id\":{\"type\":\"string\"},\"runtime\":{\"type\":\"string\"},\"createdAt\":{\"type\":"
	"\"string\"},\"lastUsedAt\":{\"type\":\"string\"},\"busy\":{\"type\":\"boolean\"},\"idleMs\":{\"type\":"
	"\"integer\"}}}}},\"required\":[\"sessions\"]}";

static cJSON *session_json(const struct isol8_session_info *s)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddStringToObject(o, "id", s->id ? s->id : "") ||
	    !cJSON_AddStringToObject(o, "runtime", s->runtime ? s->runtime : "") ||
	    !cJSON_AddStringToObject(o, "createdAt", s->created_at ? s->created_at : "") ||
	    !cJSON_AddStringToObject(o, "lastUsedAt", s->last_used_at ? s->last_used_at : "") ||
	    !cJSON_AddBoolToObject(o, "busy", s->busy) || !cJSON_AddNumberToObject(o, "idleMs", (double)s->idle_ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* One line per session ("<id> <runtime> busy|idle <ms> ms, last used <time>"), or "no sessions". */
static char *sessions_text(const struct isol8_session_info *list, size_t n)
{
	size_t cap = 32 + n * 320, len = 0;
	char *text = malloc(cap);

	if (text == NULL)
		return NULL;
	len = (size_t)snprintf(text, cap, "%s", n ? "" : "no sessions");
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s%.128s %.16s %s, last used %.40s", i ? "\n" : "",
					list[i].id ? list[i].id : "", list[i].runtime ? list[i].runtime : "",
					list[i].busy ? "busy" : "idle", list[i].last_used_at ? list[i].last_used_at : "");
	return text;
}

static cJSON *sessions_result(const struct isol8_session_info *list, size_t n)
{
	_cleanup_free_ char *text = sessions_text(list, n);
	cJSON *s = cJSON_CreateObject(), *arr = s ? cJSON_AddArrayToObject(s, "sessions") : NULL;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		cJSON *o = session_json(&list[i]);
		if (o == NULL)
			arr = NULL;
		else
			cJSON_AddItemToArray(arr, o);
	}
	if (text == NULL || arr == NULL) {
		cJSON_Delete(s);
		return NULL;
	}
	return isol8_mcp_with_structured(isol8_mcp_text_result(text, false), s);
}

static cJSON *tool_list_sessions(struct isol8_mcp *m, const cJSON *args)
{
	struct isol8_session_info *list = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	size_t n = 0;
	cJSON *r;

	(void)args;
	if (m->backend->list_sessions(m->backend->userdata, &list, &n, &err) < 0)
		return isol8_mcp_tool_error("%s", err.message);
	r = sessions_result(list, n);
	m->backend->session_infos_free(list, n);
	return r;
}

static const char session_input[] =
	"{\"type\":\"object\",\"properties\":{\"sessionId\":{\"type\":\"string\",\"description\":\"the session to "
	"destroy\"}},\"required\":[\"sessionId\"],\"additionalProperties\":false}";

static cJSON *tool_destroy_session(struct isol8_mcp *m, const cJSON *args)
{
	static const char *const required[] = {"sessionId", NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *id[1];
	bool existed = false;
	char text[256];
	cJSON *r = isol8_mcp_required_strings(args, required, id), *s;

	if (r != NULL)
		return r;
	if (m->backend->destroy_session(m->backend->userdata, id[0], &existed, &err) < 0)
		return isol8_mcp_tool_error("%s", err.message);
	snprintf(text, sizeof(text), existed ? "session %.128s destroyed" : "no session %.128s (nothing to destroy)",
		 id[0]);
	s = cJSON_CreateObject();
	if (s != NULL && !cJSON_AddBoolToObject(s, "destroyed", existed)) {
		cJSON_Delete(s);
		s = NULL;
	}
	return isol8_mcp_with_structured(isol8_mcp_text_result(text, false), s);
}

/* ---- the table ---- */

static const struct mcp_tool {
	const char *name, *title, *description;
	const char *input_schema, *output_schema;
	bool read_only, destructive;
	cJSON *(*call)(struct isol8_mcp *m, const cJSON *args);
} tools[] = {
	{"execute", "Run code in a sandbox",
	 "Runs code in a fresh, isolated sandbox (python, node, bun, deno or bash): no network, read-only root, "
	 "512 MiB memory, 30 s by default. Returns stdout, stderr and the exit code. With sessionId the code runs in "
	 "a persistent session whose files and interpreter state (variables, imports) stay for the next call.",
	 execute_input, execute_output, false, false, tool_execute},
	{"list_sessions", "List sessions", "Lists the persistent sessions: id, runtime, busy or idle, last use.",
	 no_input, sessions_output, true, false, tool_list_sessions},
	{"destroy_session", "Destroy a session",
	 "Destroys a persistent session and its sandbox (files and state are gone). An unknown id is not an error.",
	 session_input, NULL, false, true, tool_destroy_session},
	{"put_file", "Write a file into a session",
	 "Writes a file into a session's sandbox (under /sandbox or /tmp), from text (content) or bytes "
	 "(contentBase64), at most 8 MiB.",
	 isol8_mcp_put_input, NULL, false, false, isol8_mcp_put_file},
	{"get_file", "Read a file from a session",
	 "Reads a file from a session's sandbox: its text when it is UTF-8, else its bytes in base64; at most 8 MiB.",
	 isol8_mcp_get_input, isol8_mcp_get_output, true, false, isol8_mcp_get_file},
};

static const struct mcp_tool *find_tool(const char *name)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

bool isol8_mcp_tool_exists(const char *name)
{
	return find_tool(name) != NULL;
}

static cJSON *tool_json(const struct mcp_tool *t)
{
	cJSON *o = cJSON_CreateObject(), *in = cJSON_Parse(t->input_schema);
	cJSON *out = t->output_schema ? cJSON_Parse(t->output_schema) : NULL, *notes;

	if (o == NULL || in == NULL || (t->output_schema && out == NULL) || !cJSON_AddStringToObject(o, "name", t->name) ||
	    !cJSON_AddStringToObject(o, "title", t->title) ||
	    !cJSON_AddStringToObject(o, "description", t->description)) {
		cJSON_Delete(o);
		cJSON_Delete(in);
		cJSON_Delete(out);
		return NULL;
	}
	cJSON_AddItemToObject(o, "inputSchema", in);
	if (out != NULL)
		cJSON_AddItemToObject(o, "outputSchema", out);
	notes = cJSON_AddObjectToObject(o, "annotations");
	if (notes == NULL || !cJSON_AddBoolToObject(notes, "readOnlyHint", t->read_only) ||
	    !cJSON_AddBoolToObject(notes, "destructiveHint", t->destructive) ||
	    !cJSON_AddBoolToObject(notes, "openWorldHint", false)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *isol8_mcp_tools_list(void)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr != NULL && i < ISOL8_ARRAY_LEN(tools); i++) {
		cJSON *t = tool_json(&tools[i]);
		if (t == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, t);
	}
	return arr;
}

cJSON *isol8_mcp_tool_call(struct isol8_mcp *m, const char *name, const cJSON *args)
{
	_cleanup_cjson_ cJSON *empty = args ? NULL : cJSON_CreateObject();
	const struct mcp_tool *t = find_tool(name);

	if (t == NULL || (args == NULL && empty == NULL))
		return NULL;
	return t->call(m, args ? args : empty);
}
