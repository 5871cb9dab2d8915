/* Unit tests: the gateway's pure parts (client/gateway): the execute
 * envelope's JSON to a request, results and events to JSON, routes, error
 * statuses, bearer tokens, the command line, WebSocket frames. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/args.h"
#include "gateway/auth.h"
#include "gateway/buf.h"
#include "gateway/errors.h"
#include "gateway/json_budget.h"
#include "gateway/mapping.h"
#include "gateway/routes.h"
#include "gateway/ws_frame.h"
#include "runner.h"

/* The route table's handlers, which need isol8d: not called here. */
void gw_handle_health(struct gw_call *call) { (void)call; }
void gw_handle_execute(struct gw_call *call) { (void)call; }
void gw_handle_execute_stream(struct gw_call *call) { (void)call; }
void gw_handle_put_file(struct gw_call *call) { (void)call; }
void gw_handle_get_file(struct gw_call *call) { (void)call; }
void gw_handle_delete_session(struct gw_call *call) { (void)call; }
void gw_handle_sessions(struct gw_call *call) { (void)call; }
void gw_handle_cleanup(struct gw_call *call) { (void)call; }

/* ---- the envelope ---------------------------------------------------- */

static cJSON *root;
static struct gw_exec x;
static struct isol8_error err;

/* Parses text as an envelope: the return of gw_exec_parse. */
static int parse(const char *text)
{
	cJSON_Delete(root);
	root = NULL;
	isol8_error_clear(&err);
	if (gw_json_parse_object(text, strlen(text), "body", &root, &err) < 0)
		return -err.code;
	return gw_exec_parse(root, &x, &err);
}

static void done(void)
{
	gw_exec_free(&x);
	cJSON_Delete(root);
	root = NULL;
}

/* The message of a failing parse. */
static const char *fails(const char *text)
{
	CU_ASSERT(parse(text) < 0);
	cJSON_Delete(root);
	root = NULL;
	return err.message;
}

static void test_envelope_full(void)
{
	CU_ASSERT_EQUAL_FATAL(parse("{\"request\":{\"runtime\":\"python\",\"code\":\"print(1)\",\"timeoutMs\":5000,"
				    "\"env\":{\"A\":\"1\",\"B\":\"2\"},\"fileExtension\":\"py\",\"stdin\":\"in\","
				    "\"files\":{\"/sandbox/a.txt\":\"hello\",\"b.bin\":{\"type\":\"Buffer\","
				    "\"data\":[0,255,7]}},\"outputPaths\":[\"/sandbox/out\"],"
				    "\"installPackages\":[\"numpy\"],\"metadata\":{\"user\":\"u1\"},"
				    "\"setupScript\":\"echo s\",\"workdir\":\"sub\",\"codeHash\":\"ab\","
				    "\"allowInsecureCodeUrl\":true,\"unknownKey\":1},"
				    "\"options\":{\"network\":\"filtered\",\"networkFilter\":{\"whitelist\":[\"a\\\\.com\"],"
				    "\"blacklist\":[\"b\"]},\"cpuLimit\":0.5,\"memoryLimit\":\"256m\",\"pidsLimit\":32,"
				    "\"readonlyRootFs\":false,\"maxOutputSize\":1000,\"secrets\":{\"K\":\"v\"},"
				    "\"image\":\"img\",\"sandboxSize\":\"64m\",\"tmpSize\":\"32m\",\"persist\":true,"
				    "\"logNetwork\":true,\"security\":{\"seccomp\":\"strict\"},\"poolStrategy\":\"fast\","
				    "\"poolSize\":{\"clean\":1},\"mode\":\"persistent\",\"debug\":true},"
				    "\"sessionId\":\"s1\"}"),
			      0);
	CU_ASSERT_STRING_EQUAL(x.req.runtime, "python");
	CU_ASSERT_STRING_EQUAL(x.req.code, "print(1)");
	CU_ASSERT_EQUAL(x.req.timeout_ms, 5000);
	CU_ASSERT_EQUAL_FATAL(x.req.n_env, 2);
	CU_ASSERT_STRING_EQUAL(x.req.env[1].key, "B");
	CU_ASSERT_STRING_EQUAL(x.req.env[1].value, "2");
	CU_ASSERT_STRING_EQUAL(x.req.file_extension, "py");
	CU_ASSERT_EQUAL(x.req.stdin_size, 2);
	CU_ASSERT_EQUAL_FATAL(x.req.n_files, 2);
	CU_ASSERT_STRING_EQUAL(x.req.files[0].path, "/sandbox/a.txt");
	CU_ASSERT_EQUAL(x.req.files[0].size, 5);
	CU_ASSERT_EQUAL(x.req.files[1].size, 3);
	CU_ASSERT(memcmp(x.req.files[1].data, "\x00\xff\x07", 3) == 0);
	CU_ASSERT_EQUAL(x.req.n_output_paths, 1);
	CU_ASSERT(x.want_files);
	CU_ASSERT_STRING_EQUAL(x.req.install_packages[0], "numpy");
	CU_ASSERT_STRING_EQUAL(x.req.metadata[0].value, "u1");
	CU_ASSERT_STRING_EQUAL(x.req.setup_script, "echo s");
	CU_ASSERT_STRING_EQUAL(x.req.workdir, "sub");
	CU_ASSERT_STRING_EQUAL(x.req.code_hash, "ab");
	CU_ASSERT(x.req.allow_insecure_code_url);
	CU_ASSERT_STRING_EQUAL(x.req.session_id, "s1");
	CU_ASSERT_PTR_EQUAL(x.req.options, &x.opts);
	CU_ASSERT_STRING_EQUAL(x.opts.network, "filtered");
	CU_ASSERT_EQUAL(x.opts.n_whitelist, 1);
	CU_ASSERT_STRING_EQUAL(x.opts.whitelist[0], "a\\.com");
	CU_ASSERT_STRING_EQUAL(x.opts.blacklist[0], "b");
	CU_ASSERT_DOUBLE_EQUAL(x.opts.cpu_limit, 0.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(x.opts.memory_limit, "256m");
	CU_ASSERT_EQUAL(x.opts.pids_limit, 32);
	CU_ASSERT_EQUAL(x.opts.readonly_root_fs, 2);
	CU_ASSERT_EQUAL(x.opts.max_output_size, 1000);
	CU_ASSERT_STRING_EQUAL(x.opts.secrets[0].key, "K");
	CU_ASSERT_STRING_EQUAL(x.opts.image, "img");
	CU_ASSERT_STRING_EQUAL(x.opts.sandbox_size, "64m");
	CU_ASSERT_STRING_EQUAL(x.opts.tmp_size, "32m");
	CU_ASSERT(x.opts.persist);
	CU_ASSERT(x.opts.log_network && x.log_network);
	CU_ASSERT_STRING_EQUAL(x.opts.seccomp, "strict");
	done();
}

static void test_envelope_minimal(void)
{
	CU_ASSERT_EQUAL_FATAL(parse("{\"request\":{\"runtime\":\"bash\",\"cmd\":\"ls\",\"env\":null},\"options\":null,"
				    "\"sessionId\":null}"),
			      0);
	CU_ASSERT_STRING_EQUAL(x.req.cmd, "ls");
	CU_ASSERT_PTR_NULL(x.req.options);
	CU_ASSERT_PTR_NULL(x.req.session_id);
	CU_ASSERT_EQUAL(x.req.n_env, 0);
	CU_ASSERT_FALSE(x.want_files);
	done();
	/* options.timeoutMs is used when the request has none */
	CU_ASSERT_EQUAL_FATAL(parse("{\"request\":{\"code\":\"1\"},\"options\":{\"timeoutMs\":1234}}"), 0);
	CU_ASSERT_EQUAL(x.req.timeout_ms, 1234);
	CU_ASSERT_EQUAL(x.opts.readonly_root_fs, 0);
	done();
	CU_ASSERT_EQUAL_FATAL(parse("{\"request\":{\"code\":\"1\",\"timeoutMs\":99},\"options\":{\"timeoutMs\":1234,"
				    "\"readonlyRootFs\":true}}"),
			      0);
	CU_ASSERT_EQUAL(x.req.timeout_ms, 99);
	CU_ASSERT_EQUAL(x.opts.readonly_root_fs, 1);
	done();
}

static void test_envelope_errors(void)
{
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":"), "body: not valid JSON");
	/* a NUL in a string would cut it short (C strings): refused, not truncated */
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"code\":\"a\\u0000b\"}}"),
			       "body: a string holds a NUL character (\\u0000), which isol8 cannot pass on");
	CU_ASSERT(gw_json_has_nul("{\"a\":\"\\u0000\"}", strlen("{\"a\":\"\\u0000\"}")));
	CU_ASSERT(!gw_json_has_nul("{\"a\":\"\\\\u0000\"}", strlen("{\"a\":\"\\\\u0000\"}"))); /* an escaped backslash, then text */
	CU_ASSERT(!gw_json_has_nul("{\"a\":\"\\u00001\"}", 8)); /* cut before the escape ends */
	CU_ASSERT(gw_json_has_nul("{\"a\":\"x\0y\"}", 11));
	CU_ASSERT_EQUAL(parse("{\"request\":{\"code\":\"\\u0001\\\\u0000\"}}"), 0);
	CU_ASSERT_STRING_EQUAL(x.req.code, "\001\\u0000");
	done();
	/* JSON.parse refuses anything after the value but whitespace */
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"code\":\"x\"}} trailing"), "body: not valid JSON");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{}}{\"request\":{}}"), "body: not valid JSON");
	CU_ASSERT_EQUAL(gw_json_parse_object("{}\0{}", 5, "body", &root, &err), -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(parse("{\"request\":{\"code\":\"x\"}} \r\n\t"), 0);
	done();
	CU_ASSERT_STRING_EQUAL(fails("[1]"), "body: expected a JSON object");
	CU_ASSERT_STRING_EQUAL(fails("{}"), "request: required (the body is {\"request\":{…}, \"options\":{…}, "
					    "\"sessionId\":\"…\"})");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":\"x\"}"), "request: expected an object");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"timeoutMs\":\"5\"}}"), "request.timeoutMs: expected a number");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"timeoutMs\":-1}}"),
			       "request.timeoutMs: -1 is out of range (0 to 9007199254740991)");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"code\":5}}"), "request.code: expected a string");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"env\":{\"A\":1}}}"), "request.env.A: expected a string");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"env\":[]}}"), "request.env: expected an object");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"outputPaths\":[\"a\",2]}}"),
			       "request.outputPaths[1]: expected a string");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"outputPaths\":\"a\"}}"),
			       "request.outputPaths: expected an array of strings");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"files\":{\"a\":5}}}"),
			       "request.files.a: expected a string or a Buffer ({\"type\":\"Buffer\",\"data\":[…]})");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"files\":{\"a\":{\"type\":\"Buffer\",\"data\":[1,256]}}}}"),
			       "request.files.a.data[1]: expected a byte (0 to 255)");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"allowInsecureCodeUrl\":1}}"),
			       "request.allowInsecureCodeUrl: expected a boolean");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"runtime\":\"agent\"}}"),
			       "request.runtime: unknown runtime \"agent\" (valid: python, node, bun, deno, bash)");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{\"runtime\":\"python\",\"agentFlags\":\"--x\"}}"),
			       "request.agentFlags: the agent runtime is not served here (valid runtimes: python, node, "
			       "bun, deno, bash)");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"options\":[]}"), "options: expected an object");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"options\":{\"cpuLimit\":\"1\"}}"),
			       "options.cpuLimit: expected a number");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"options\":{\"networkFilter\":{\"whitelist\":[1]}}}"),
			       "options.networkFilter.whitelist[0]: expected a string");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"options\":{\"security\":{\"seccomp\":\"custom\","
				     "\"customProfilePath\":\"/etc/p.json\"}}}"),
			       "options.security.customProfilePath: not accepted over HTTP (it names a file on the "
			       "server)");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"options\":{\"persist\":\"yes\"}}"),
			       "options.persist: expected a boolean");
	CU_ASSERT_STRING_EQUAL(fails("{\"request\":{},\"sessionId\":7}"), "sessionId: expected a string");
}

/* ---- results and events ---------------------------------------------- */

static void test_result_json(void)
{
	struct isol8_out_file files[1] = {{"/sandbox/o.txt", (unsigned char *)"hi", 2}};
	struct isol8_network_log logs[2] = {{"2026-01-01T00:00:00.000Z", "CONNECT", "a.com", NULL, true, 5},
					    {"2026-01-01T00:00:01.000Z", "GET", "b.com", "/x", false, 1}};
	struct isol8_result r = {0};
	struct gw_buf b = GW_BUF_INIT(0);

	r.stdout_data = "ok\n\xff\x00z";
	r.stdout_size = 6;
	r.stderr_data = "";
	r.exit_code = 3;
	r.duration_ms = 200;
	r.truncated = true;
	r.execution_id = "e1";
	r.runtime = "python";
	r.timestamp = "2026-01-01T00:00:00.000Z";
	r.container_id = "c1";
	r.files = files;
	r.n_files = 1;
	r.has_usage = true;
	r.cpu_user_ms = 50;
	r.cpu_system_ms = 50;
	r.max_rss_kb = 2048;
	r.network_logs = logs;
	r.n_network_logs = 2;
	r.session_id = "s1";
	CU_ASSERT_EQUAL(gw_result_json(&b, &r, true, true), 0);
	CU_ASSERT_STRING_EQUAL(
		b.data,
		"{\"stdout\":\"ok\\n\xef\xbf\xbd\\u0000z\",\"stderr\":\"\",\"exitCode\":3,\"durationMs\":200,"
		"\"truncated\":true,\"executionId\":\"e1\",\"runtime\":\"python\",\"timestamp\":\"2026-01-01T00:00:00.000Z\","
		"\"containerId\":\"c1\",\"files\":{\"/sandbox/o.txt\":\"aGk=\"},\"resourceUsage\":{\"cpuPercent\":50.00,"
		"\"memoryMB\":2.00,\"peakMemoryMB\":2.00,\"networkBytesIn\":0,\"networkBytesOut\":0},"
		"\"networkLogs\":[{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"method\":\"CONNECT\",\"host\":\"a.com\","
		"\"path\":null,\"action\":\"ALLOW\",\"durationMs\":5},{\"timestamp\":\"2026-01-01T00:00:01.000Z\","
		"\"method\":\"GET\",\"host\":\"b.com\",\"path\":\"/x\",\"action\":\"BLOCK\",\"durationMs\":1}],"
		"\"timedOut\":false,\"signal\":0,\"oomKilled\":false,\"stateReset\":false,\"sessionId\":\"s1\"}");
	gw_buf_free(&b);
	/* without outputPaths and logNetwork: no files, no networkLogs */
	r.has_usage = false;
	r.session_id = NULL;
	r.container_id = NULL;
	CU_ASSERT_EQUAL(gw_result_json(&b, &r, false, false), 0);
	CU_ASSERT_PTR_NULL(strstr(b.data, "files"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "networkLogs"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "containerId"));
	{
		cJSON *parsed = cJSON_Parse(b.data); /* the output of a program is always valid JSON */
		CU_ASSERT_PTR_NOT_NULL(parsed);
		cJSON_Delete(parsed);
	}
	gw_buf_free(&b);
}

static void test_event_json(void)
{
	struct gw_buf b = GW_BUF_INIT(0);

	CU_ASSERT_EQUAL(gw_event_json(&b, "stdout", "a\"b\\\t\x1b", 6, "code"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"type\":\"stdout\",\"data\":\"a\\\"b\\\\\\t\\u001b\",\"phase\":\"code\"}");
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_event_json(&b, "error", "boom", 4, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"type\":\"error\",\"data\":\"boom\"}");
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_event_json(&b, "exit", "0", 1, "code"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"type\":\"exit\",\"data\":\"0\",\"phase\":\"code\"}");
	gw_buf_free(&b);
}

static void test_sessions_cleanup_json(void)
{
	struct isol8_session_info s[1] = {{"s1", "python", "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", "c1",
					   true, 0}};
	char *errs[1] = {"c2: busy"};
	struct isol8_cleanup_result res = {{2, 0, NULL, 0}, {1, 1, errs, 1}, {0, 0, NULL, 0}, NULL, 0};
	struct gw_buf b = GW_BUF_INIT(0);

	CU_ASSERT_EQUAL(gw_sessions_json(&b, s, 1), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"sessions\":[{\"id\":\"s1\",\"isActive\":true,\"lastAccessedAt\":"
				       "\"2026-01-01T00:01:00.000Z\",\"runtime\":\"python\",\"createdAt\":"
				       "\"2026-01-01T00:00:00.000Z\",\"containerId\":\"c1\"}]}");
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_sessions_json(&b, NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"sessions\":[]}");
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_cleanup_json(&b, &res, false), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"ok\":true,\"sessions\":{\"removed\":2,\"failed\":0,\"errors\":[]},"
				       "\"containers\":{\"removed\":1,\"failed\":1,\"errors\":[\"c2: busy\"]}}");
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_cleanup_json(&b, &res, true), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, ",\"images\":{\"removed\":0,\"failed\":0,\"errors\":[]}}"));
	gw_buf_free(&b);
}

static void test_buf_limits_and_utf8(void)
{
	struct gw_buf b = GW_BUF_INIT(8);
	struct gw_utf8_carry c = {{0}, 0};
	struct gw_buf j = GW_BUF_INIT(0);

	CU_ASSERT_EQUAL(gw_buf_puts(&b, "12345678"), 0);
	CU_ASSERT_EQUAL(gw_buf_puts(&b, "9"), -1);
	CU_ASSERT_EQUAL(b.len, 8);
	gw_buf_free(&b);
	/* "é" (c3 a9) cut between two chunks comes out whole */
	CU_ASSERT_EQUAL(gw_utf8_carry_join(&c, "ab\xc3", 3, &j), 0);
	CU_ASSERT_EQUAL(j.len, 2);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_EQUAL(gw_utf8_carry_join(&c, "\xa9z", 2, &j), 0);
	CU_ASSERT_STRING_EQUAL(j.data, "\xc3\xa9z");
	CU_ASSERT_EQUAL(c.n, 0);
	gw_buf_free(&j);
	CU_ASSERT_EQUAL(gw_utf8_incomplete_tail("\xf0\x9f\x98", 3), 3);
	CU_ASSERT_EQUAL(gw_utf8_incomplete_tail("\xf0\x9f\x98\x80", 4), 0);
	CU_ASSERT_EQUAL(gw_utf8_incomplete_tail("a\xff", 2), 0);
	CU_ASSERT(gw_utf8_valid("h\xc3\xa9", 3));
	CU_ASSERT_FALSE(gw_utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
	CU_ASSERT_FALSE(gw_utf8_valid("\xc0\xaf", 2));      /* overlong */
}

/* ---- routes, errors, auth --------------------------------------------- */

static void test_routes(void)
{
	const struct gw_route *r = NULL;
	const char *param = NULL;
	size_t len = 0;
	char allow[64];

	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "POST", "/execute", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_FOUND);
	CU_ASSERT_STRING_EQUAL(r->name, "execute");
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "GET", "/file", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_FOUND);
	CU_ASSERT_STRING_EQUAL(r->name, "get_file");
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "DELETE", "/session/abc-1", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_FOUND);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT(strncmp(param, "abc-1", len) == 0);
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "DELETE", "/session/", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_NO_PATH);
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "DELETE", "/session/a/b", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_NO_PATH);
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "GET", "/nope", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_NO_PATH);
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "PUT", "/file", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_NO_METHOD);
	CU_ASSERT_STRING_EQUAL(allow, "POST, GET");
	CU_ASSERT_EQUAL(gw_route_find(gw_routes, gw_routes_count, "GET", "/execute", &r, &param, &len, allow,
				      sizeof(allow)),
			GW_ROUTE_NO_METHOD);
	CU_ASSERT_STRING_EQUAL(allow, "POST");
	/* every route but /health needs a key */
	for (size_t i = 0; i < gw_routes_count; i++)
		CU_ASSERT_EQUAL(gw_routes[i].auth, strcmp(gw_routes[i].path, "/health") != 0);
}

static void test_error_statuses(void)
{
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_INVALID, "x"), 400);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_NOT_FOUND, "x"), 404);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_ABORTED, "session busy"), 409);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_PRECONDITION,
					"runtime: session \"s\" runs python, this call asks for node (one runtime per "
					"session)"),
			409);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_PRECONDITION, "image \"isol8:python\" is missing: run `isol8 setup`"),
			503);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_EXHAUSTED, "too many executions at once: 4 running and 0 waiting"),
			429);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_EXHAUSTED, "code, files and stdin: 5000000 bytes in all, more than "
							   "the 4128768 bytes one execution carries"),
			413);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_EXHAUSTED, "Received message larger than max (5 vs. 4)"), 413);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_UNAVAILABLE, "x"), 503);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_DEADLINE, "x"), 504);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_UNAUTHENTICATED, "x"), 403);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_PERMISSION, "x"), 403);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_UNIMPLEMENTED, "x"), 501);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_INTERNAL, "x"), 500);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_IO, "x"), 500);
	CU_ASSERT_EQUAL(gw_error_status(ISOL8_E_PROTOCOL, "x"), 500);
	CU_ASSERT_EQUAL(gw_error_status(99, "x"), 500);
}

static const char *renamed(const char *message)
{
	static char out[512];

	gw_error_rename(message, out, sizeof(out));
	return out;
}

static void test_error_rename(void)
{
	CU_ASSERT_STRING_EQUAL(renamed("install_packages[1]: \"-x\" starts with \"-\""),
			       "request.installPackages[1]: \"-x\" starts with \"-\"");
	CU_ASSERT_STRING_EQUAL(renamed("options.memory_limit: \"5x\" is not a size"),
			       "options.memoryLimit: \"5x\" is not a size");
	CU_ASSERT_STRING_EQUAL(renamed("options.max_output_size: 0 is out of range (1 to 2 bytes)"),
			       "options.maxOutputSize: 0 is out of range (1 to 2 bytes)");
	CU_ASSERT_STRING_EQUAL(renamed("runtime: required (valid: python)"), "request.runtime: required (valid: python)");
	CU_ASSERT_STRING_EQUAL(renamed("timeout_ms: too long"), "request.timeoutMs: too long");
	CU_ASSERT_STRING_EQUAL(renamed("session_id: bad"), "sessionId: bad");
	CU_ASSERT_STRING_EQUAL(renamed("code and cmd: give one of them, not both"),
			       "request.code and request.cmd: give one of them, not both");
	CU_ASSERT_STRING_EQUAL(renamed("request.timeoutMs: expected a number"), "request.timeoutMs: expected a number");
	CU_ASSERT_STRING_EQUAL(renamed("isol8d is shutting down"), "isol8d is shutting down");
	CU_ASSERT_STRING_EQUAL(renamed("too many executions at once: 4"), "too many executions at once: 4");
}

static void test_error_text(void)
{
	char out[ISOL8_ERROR_MESSAGE_MAX];

	gw_error_text(ISOL8_E_UNAUTHENTICATED, "missing or wrong API key: send \"authorization: Bearer <key>\"", out,
		      sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Invalid API key");
	gw_error_text(ISOL8_E_INVALID, "runtime: required (valid: python)", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "request.runtime: required (valid: python)");
	gw_error_text(ISOL8_E_INVALID, "", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "INVALID_ARGUMENT");
}

static void test_error_json(void)
{
	struct gw_buf b = GW_BUF_INIT(0);

	CU_ASSERT_EQUAL(gw_error_json(&b, "Missing \"x\""), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"error\":\"Missing \\\"x\\\"\"}");
	gw_buf_free(&b);
}

static void test_auth(void)
{
	size_t n = 0;
	const char *t;

	t = gw_auth_token("Bearer abc", &n);
	CU_ASSERT(t && n == 3 && strncmp(t, "abc", 3) == 0);
	t = gw_auth_token("bearer \t abc  ", &n);
	CU_ASSERT(t && n == 3 && strncmp(t, "abc", 3) == 0);
	CU_ASSERT_PTR_NULL(gw_auth_token(NULL, &n));
	CU_ASSERT_PTR_NULL(gw_auth_token("Basic abc", &n));
	CU_ASSERT_PTR_NULL(gw_auth_token("Bearer", &n));
	CU_ASSERT_PTR_NULL(gw_auth_token("Bearer   ", &n));
	CU_ASSERT_PTR_NULL(gw_auth_token("Bearerabc", &n));
	CU_ASSERT(gw_auth_equal("secret", 6, "secret"));
	CU_ASSERT_FALSE(gw_auth_equal("secre", 5, "secret"));
	CU_ASSERT_FALSE(gw_auth_equal("secrets", 7, "secret"));
	CU_ASSERT_FALSE(gw_auth_equal("secreT", 6, "secret"));
	CU_ASSERT_FALSE(gw_auth_equal("", 0, ""));
}

/* ---- the command line ------------------------------------------------- */

static int args(struct gw_config *cfg, const char *a1, const char *a2, const char *a3)
{
	char *argv[5] = {"isol8-gateway", (char *)a1, (char *)a2, (char *)a3, NULL};
	int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);

	isol8_error_clear(&err);
	return gw_args_parse(argc, argv, cfg, &err);
}

static void test_args(void)
{
	struct gw_config c;

	CU_ASSERT_EQUAL(args(&c, NULL, NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.listen_host, "127.0.0.1");
	CU_ASSERT_EQUAL(c.listen_port, 3000);
	CU_ASSERT_EQUAL(c.max_body_size, 10u << 20);
	CU_ASSERT(c.cleanup_enabled);
	CU_ASSERT_EQUAL(c.max_connections, 1024);
	CU_ASSERT_EQUAL(c.request_timeout_ms, 30000);
	CU_ASSERT_EQUAL(c.ready_fd, -1);
	CU_ASSERT_PTR_NULL(c.upstream);
	CU_ASSERT_EQUAL(args(&c, "--listen", "[::1]:0", "--debug"), 0);
	CU_ASSERT_STRING_EQUAL(c.listen_host, "::1");
	CU_ASSERT_EQUAL(c.listen_port, 0);
	CU_ASSERT(c.debug);
	CU_ASSERT_EQUAL(args(&c, "--max-body-size", "512k", NULL), 0);
	CU_ASSERT_EQUAL(c.max_body_size, 512u << 10);
	CU_ASSERT_EQUAL(args(&c, "--max-body-size", "3M", NULL), 0);
	CU_ASSERT_EQUAL(c.max_body_size, 3u << 20);
	CU_ASSERT_EQUAL(args(&c, "--max-body-size", "100", NULL), 0);
	CU_ASSERT_EQUAL(c.max_body_size, 100);
	CU_ASSERT_EQUAL(args(&c, "--cleanup-key", "a", "--cleanup-key=b"), 0);
	CU_ASSERT_EQUAL(c.n_cleanup_keys, 2);
	CU_ASSERT_STRING_EQUAL(c.cleanup_keys[1], "b");
	CU_ASSERT_EQUAL(args(&c, "--upstream", "unix:/tmp/x.sock", "--no-cleanup"), 0);
	CU_ASSERT_STRING_EQUAL(c.upstream, "unix:/tmp/x.sock");
	CU_ASSERT_FALSE(c.cleanup_enabled);
	CU_ASSERT(args(&c, "--max-body-size", "10g", NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "--max-body-size: \"10g\" is not a size from 1 byte to 1024m (a number, or with k or m)");
	CU_ASSERT(args(&c, "--listen", "3000", NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "--listen: \"3000\" is not HOST:PORT");
	CU_ASSERT(args(&c, "--listen", "h:70000", NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "--listen: \"70000\" is not a number from 0 to 65535");
	CU_ASSERT(args(&c, "--max-connections", "0", NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "--max-connections: \"0\" is not a number from 1 to 65536");
	CU_ASSERT(args(&c, "--bogus", NULL, NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "unknown option \"--bogus\" (see --help)");
	CU_ASSERT(args(&c, "--key", NULL, NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "\"--key\" needs a value");
	CU_ASSERT(args(&c, "--no-cleanup", "--cleanup-key", "k") < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "--no-cleanup and --cleanup-key do not go together");
	CU_ASSERT(args(&c, "extra", NULL, NULL) < 0);
	CU_ASSERT_STRING_EQUAL(err.message, "unexpected argument \"extra\" (see --help)");
	/* the key from the environment, and --key over it */
	CU_ASSERT_PTR_NULL(c.key);
	setenv("ISOL8_GATEWAY_KEY", "from-env", 1);
	CU_ASSERT_EQUAL(args(&c, NULL, NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.key, "from-env");
	CU_ASSERT_EQUAL(args(&c, "--key", "flag", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.key, "flag");
	unsetenv("ISOL8_GATEWAY_KEY");
}

/* ---- WebSocket --------------------------------------------------------- */

/* A masked client frame of payload into out; its length. */
static size_t client_frame(unsigned char *out, int opcode, bool fin, const char *payload, size_t n)
{
	static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	size_t h = gw_ws_frame_header(out, opcode, fin, n);

	out[1] |= 0x80;
	memcpy(out + h, mask, 4);
	for (size_t i = 0; i < n; i++)
		out[h + 4 + i] = (unsigned char)payload[i] ^ mask[i & 3];
	return h + 4 + n;
}

static void test_ws_handshake(void)
{
	char accept[29];

	/* RFC 6455 section 1.3's example */
	gw_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
	CU_ASSERT_STRING_EQUAL(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CU_ASSERT(gw_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
	CU_ASSERT_FALSE(gw_ws_key_valid("dGhlIHNhbXBsZQ=="));
	CU_ASSERT_FALSE(gw_ws_key_valid(NULL));
	CU_ASSERT(gw_ws_header_has_token("keep-alive, Upgrade", "upgrade"));
	CU_ASSERT(gw_ws_header_has_token("WebSocket", "websocket"));
	CU_ASSERT_FALSE(gw_ws_header_has_token("upgrades", "upgrade"));
	CU_ASSERT_FALSE(gw_ws_header_has_token(NULL, "upgrade"));
}

static void test_ws_frames(void)
{
	unsigned char buf[70000];
	struct gw_ws_frame f;
	struct gw_ws_message m = {GW_BUF_INIT(0), 0, false};
	const char *reason = NULL;
	int code = 0;
	size_t n;
	char big[300];

	n = client_frame(buf, GW_WS_TEXT, true, "hello", 5);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n - 1, 100, &f, &code, &reason), GW_WS_NEED_MORE);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100, &f, &code, &reason), GW_WS_FRAME);
	CU_ASSERT(f.fin && f.opcode == GW_WS_TEXT && f.payload_len == 5 && f.frame_len == n);
	CU_ASSERT(memcmp(f.payload, "hello", 5) == 0);
	/* fragmented: text + continuation */
	n = client_frame(buf, GW_WS_TEXT, false, "he", 2);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100, &f, &code, &reason), GW_WS_FRAME);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 100, &reason), 0);
	CU_ASSERT_FALSE(m.complete);
	n = client_frame(buf, GW_WS_CONTINUATION, true, "llo", 3);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100, &f, &code, &reason), GW_WS_FRAME);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 100, &reason), 0);
	CU_ASSERT(m.complete);
	CU_ASSERT_STRING_EQUAL(m.data.data, "hello");
	gw_ws_message_reset(&m);
	/* a continuation without a start */
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 100, &reason), GW_WS_PROTOCOL_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "continuation without a message");
	/* a message over the maximum, in pieces */
	n = client_frame(buf, GW_WS_TEXT, false, "123456", 6);
	gw_ws_parse_frame(buf, n, 100, &f, &code, &reason);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 8, &reason), 0);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 8, &reason), GW_WS_PROTOCOL_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "a new message inside a fragmented one");
	n = client_frame(buf, GW_WS_CONTINUATION, false, "123456", 6);
	gw_ws_parse_frame(buf, n, 100, &f, &code, &reason);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 8, &reason), GW_WS_TOO_BIG);
	gw_ws_message_reset(&m);
	/* text that is not UTF-8 */
	n = client_frame(buf, GW_WS_TEXT, true, "\xff", 1);
	gw_ws_parse_frame(buf, n, 100, &f, &code, &reason);
	CU_ASSERT_EQUAL(gw_ws_message_add(&m, &f, 100, &reason), GW_WS_BAD_DATA);
	gw_ws_message_reset(&m);
	/* an unmasked frame */
	n = gw_ws_frame_header(buf, GW_WS_TEXT, true, 1);
	buf[n] = 'x';
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n + 1, 100, &f, &code, &reason), GW_WS_ERROR);
	CU_ASSERT_EQUAL(code, GW_WS_PROTOCOL_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "client frames must be masked");
	/* reserved bits, unknown opcodes, big or fragmented control frames */
	n = client_frame(buf, GW_WS_TEXT, true, "x", 1);
	buf[0] |= 0x40;
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100, &f, &code, &reason), GW_WS_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "reserved bits set");
	n = client_frame(buf, 0x3, true, "x", 1);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100, &f, &code, &reason), GW_WS_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "unknown opcode");
	memset(big, 'a', sizeof(big));
	n = client_frame(buf, GW_WS_PING, true, big, 126);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 1000, &f, &code, &reason), GW_WS_ERROR);
	CU_ASSERT_STRING_EQUAL(reason, "bad control frame");
	n = client_frame(buf, GW_WS_PING, false, "x", 1);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 1000, &f, &code, &reason), GW_WS_ERROR);
	/* a frame over the maximum is refused from its header */
	n = client_frame(buf, GW_WS_BINARY, true, big, 300);
	CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, 4, 200, &f, &code, &reason), GW_WS_ERROR);
	CU_ASSERT_EQUAL(code, GW_WS_TOO_BIG);
	/* 16- and 64-bit lengths */
	{
		static char payload[66000];
		memset(payload, 'p', sizeof(payload));
		n = client_frame(buf, GW_WS_BINARY, true, payload, 300);
		CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100000, &f, &code, &reason), GW_WS_FRAME);
		CU_ASSERT_EQUAL(f.payload_len, 300);
		n = client_frame(buf, GW_WS_BINARY, true, payload, 66000);
		CU_ASSERT_EQUAL(buf[1] & 0x7f, 127);
		CU_ASSERT_EQUAL(gw_ws_parse_frame(buf, n, 100000, &f, &code, &reason), GW_WS_FRAME);
		CU_ASSERT_EQUAL(f.payload_len, 66000);
	}
}

static void test_ws_server_frames(void)
{
	struct gw_buf b = GW_BUF_INIT(0);
	unsigned char h[10];

	CU_ASSERT_EQUAL(gw_ws_frame_append(&b, GW_WS_TEXT, "hi", 2), 0);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT(memcmp(b.data, "\x81\x02hi", 4) == 0);
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_ws_close_append(&b, 1003, "Invalid JSON"), 0);
	CU_ASSERT(memcmp(b.data, "\x88\x0e\x03\xebInvalid JSON", 16) == 0);
	gw_buf_free(&b);
	CU_ASSERT_EQUAL(gw_ws_frame_header(h, GW_WS_TEXT, true, 200), 4);
	CU_ASSERT(h[1] == 126 && h[2] == 0 && h[3] == 200);
	CU_ASSERT_EQUAL(gw_ws_frame_header(h, GW_WS_BINARY, true, 70000), 10);
	CU_ASSERT(h[1] == 127 && h[7] == 0x01 && h[8] == 0x11 && h[9] == 0x70);
}

/* A parse past the JSON budget fails alone and gives its memory back. */
static void test_json_budget(void)
{
	static char text[40000 * 2 + 16];
	size_t n = 0, before = gw_json_budget_in_use();
	cJSON *tree = NULL;

	n += (size_t)sprintf(text, "{\"a\":[0");
	for (int i = 1; i < 40000; i++)
		n += (size_t)sprintf(text + n, ",0");
	sprintf(text + n, "]}");
	isol8_error_clear(&err);
	gw_json_budget_set(1u << 20);
	CU_ASSERT_EQUAL(gw_json_parse_object(text, strlen(text), "body", &tree, &err), -ISOL8_E_EXHAUSTED);
	CU_ASSERT_STRING_EQUAL(err.message, "body: the gateway holds all the parsed JSON it may (1 MiB): try again later");
	CU_ASSERT_EQUAL(gw_error_status(err.code, err.message), 429);
	CU_ASSERT_PTR_NULL(tree);
	CU_ASSERT_EQUAL(gw_json_budget_in_use(), before);
	/* a small one still fits */
	CU_ASSERT_EQUAL(gw_json_parse_object("{\"a\":[1,2]}", 11, "body", &tree, &err), 0);
	cJSON_Delete(tree);
	tree = NULL;
	gw_json_budget_set(0);
	CU_ASSERT_EQUAL(gw_json_parse_object(text, strlen(text), "body", &tree, &err), 0);
	CU_ASSERT(gw_json_budget_in_use() > before + (40000u * 32));
	cJSON_Delete(tree);
	CU_ASSERT_EQUAL(gw_json_budget_in_use(), before);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"envelope: every field", test_envelope_full},
		{"envelope: null, absent, options.timeoutMs", test_envelope_minimal},
		{"envelope: errors name the field", test_envelope_errors},
		{"result JSON", test_result_json},
		{"event JSON", test_event_json},
		{"sessions and cleanup JSON", test_sessions_cleanup_json},
		{"buffers: limits and UTF-8", test_buf_limits_and_utf8},
		{"routes", test_routes},
		{"error statuses", test_error_statuses},
		{"error field names", test_error_rename},
		{"error text of isol8d's errors", test_error_text},
		{"error JSON", test_error_json},
		{"bearer tokens", test_auth},
		{"command line", test_args},
		{"ws handshake", test_ws_handshake},
		{"ws client frames", test_ws_frames},
		{"ws server frames", test_ws_server_frames},
		{"JSON budget", test_json_budget},
	};

	gw_json_budget_set(0); /* the hooks count every tree of the tests */

	return isol8_test_run("gateway", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
