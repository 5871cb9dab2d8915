/* Unit tests of the engine's pure parts: options and their defaults, the
 * runtime table and argv, the container settings, secret masking, SHA-256. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/mask.h"
#include "engine/options.h"
#include "runner.h"
#include "engine/runtime.h"
#include "sandbox/sandbox.h"
#include "docker/seccomp.h"
#include "base/sha256.h"

static Isol8__V1__ExecuteRequest request(const char *runtime, const char *code)
{
	Isol8__V1__ExecuteRequest req;
	isol8__v1__execute_request__init(&req);
	req.runtime = (char *)runtime;
	req.code = (char *)code;
	return req;
}

static void test_option_defaults(void)
{
	Isol8__V1__ExecuteRequest req = request("python", "print(1)");
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.runtime->info->name, "python");
	CU_ASSERT_STRING_EQUAL(o.code_path, "/sandbox/main.py");
	CU_ASSERT_EQUAL(o.timeout_ms, 30000);
	CU_ASSERT_EQUAL(o.container.memory_bytes, 512LL << 20);
	CU_ASSERT_EQUAL(o.container.nano_cpus, 1000000000LL);
	CU_ASSERT_EQUAL(o.container.pids_limit, 64);
	CU_ASSERT_TRUE(o.container.readonly_rootfs);
	CU_ASSERT_EQUAL(o.max_output, 1 << 20);
	CU_ASSERT_EQUAL(o.container.sandbox_size, 512LL << 20);
	CU_ASSERT_EQUAL(o.container.tmp_size, 256LL << 20);
	CU_ASSERT_EQUAL(o.container.network, ISOL8_NET_NONE);
	CU_ASSERT_EQUAL(o.container.seccomp, ISOL8_SECCOMP_STRICT);
	CU_ASSERT_PTR_NULL(o.container.image);
}

static void test_option_values(void)
{
	Isol8__V1__ExecuteRequest req = request("node", "console.log(1)");
	Isol8__V1__ExecutionOptions opts;
	Google__Protobuf__BoolValue ro;
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8__v1__execution_options__init(&opts);
	google__protobuf__bool_value__init(&ro);
	ro.value = false;
	opts.readonly_root_fs = &ro;
	opts.memory_limit = "1g";
	opts.cpu_limit = 0.5;
	opts.pids_limit = 100;
	opts.network = "host";
	opts.seccomp = "unconfined";
	opts.max_output_size = 2048;
	req.options = &opts;
	req.timeout_ms = 1500;
	req.file_extension = "cjs";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.code_path, "/sandbox/main.cjs");
	CU_ASSERT_EQUAL(o.timeout_ms, 1500);
	CU_ASSERT_EQUAL(o.container.memory_bytes, 1LL << 30);
	CU_ASSERT_EQUAL(o.container.nano_cpus, 500000000LL);
	CU_ASSERT_EQUAL(o.container.pids_limit, 100);
	CU_ASSERT_FALSE(o.container.readonly_rootfs);
	CU_ASSERT_EQUAL(o.container.network, ISOL8_NET_HOST);
	CU_ASSERT_EQUAL(o.container.seccomp, ISOL8_SECCOMP_UNCONFINED);
	CU_ASSERT_EQUAL(o.max_output, 2048);
}

/* Resolves req and expects an error of `code` whose message contains `text`. */
static void expect_error(Isol8__V1__ExecuteRequest *req, int code, const char *text)
{
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_options_resolve(req, &o, &err), -code);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, text));
	isol8_exec_options_release(&o);
}

static void test_option_errors(void)
{
	Isol8__V1__ExecuteRequest req = request("ruby", "puts 1");
	Isol8__V1__ExecutionOptions opts;

	expect_error(&req, ISOL8_E_INVALID, "runtime: unknown runtime \"ruby\" (valid: python, node, bun, deno, bash)");
	req = request("", "x");
	expect_error(&req, ISOL8_E_INVALID, "runtime: required");
	req = request("python", "");
	expect_error(&req, ISOL8_E_INVALID, "code: empty");
	req = request("python", "x");
	req.timeout_ms = -5;
	expect_error(&req, ISOL8_E_INVALID, "timeout_ms");
	req = request("python", "x");
	req.file_extension = "rb";
	expect_error(&req, ISOL8_E_INVALID, "file_extension: \"rb\" is not a python extension");
	isol8__v1__execution_options__init(&opts);
	req = request("python", "x");
	req.options = &opts;
	opts.memory_limit = "lots";
	expect_error(&req, ISOL8_E_INVALID, "options.memory_limit: \"lots\" is not a size");
	opts.memory_limit = "";
	opts.cpu_limit = -1;
	expect_error(&req, ISOL8_E_INVALID, "options.cpu_limit");
	opts.cpu_limit = 0;
	opts.pids_limit = 1;
	expect_error(&req, ISOL8_E_INVALID, "options.pids_limit");
	opts.pids_limit = 0;
	opts.network = "wifi";
	expect_error(&req, ISOL8_E_INVALID, "options.network: unknown mode \"wifi\"");
	opts.network = "";
	opts.seccomp = "custom";
	expect_error(&req, ISOL8_E_INVALID, "options.seccomp_profile");
	opts.seccomp = "";
	req.stdin.len = ISOL8_MAX_PAYLOAD;
	req.stdin.data = (uint8_t *)"";
	expect_error(&req, ISOL8_E_EXHAUSTED, "code, files and stdin");
	req.stdin.len = 0;
	req.session_id = "s 1";
	expect_error(&req, ISOL8_E_INVALID, "session_id: character 2 of the session id");
}

/* network "filtered": the request's rules (or the defaults') compiled once,
 * the proxy environment and the log flag; a bad regex names itself. */
static void test_option_network_filtered(void)
{
	Isol8__V1__ExecuteRequest req = request("python", "x");
	Isol8__V1__ExecutionOptions opts;
	Isol8__V1__NetworkFilter filter;
	char *white[] = {"^example\\.com$", "a("}, *black[] = {"evil"};
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8__v1__execution_options__init(&opts);
	isol8__v1__network_filter__init(&filter);
	req.options = &opts;
	opts.network = "filtered";
	opts.log_network = true;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_EQUAL(o.container.network, ISOL8_NET_FILTERED);
	CU_ASSERT_TRUE(o.proxy_env);
	CU_ASSERT_TRUE(o.log_network);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.rules);
	/* no filter and no configured whitelist: nothing is reachable */
	CU_ASSERT_EQUAL(isol8_egress_rules_check(o.rules, "example.com"), ISOL8_EGRESS_NOT_WHITELISTED);
	isol8_exec_options_release(&o);

	opts.network_filter = &filter;
	filter.whitelist = white;
	filter.n_whitelist = 1;
	filter.blacklist = black;
	filter.n_blacklist = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(o.rules, "example.com"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(o.rules, "other.com"), ISOL8_EGRESS_NOT_WHITELISTED);
	isol8_exec_options_release(&o);

	filter.n_whitelist = 2;
	expect_error(&req, ISOL8_E_INVALID, "options.network_filter.whitelist[1]: \"a(\" is not a valid regular expression");

	/* other modes get no rules and no proxy environment */
	opts.network = "none";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_PTR_NULL(o.rules);
	CU_ASSERT_FALSE(o.proxy_env);
	isol8_exec_options_release(&o);
}

static void test_parse_size(void)
{
	int64_t v;

	CU_ASSERT_EQUAL(isol8_parse_size("512m", &v), 0);
	CU_ASSERT_EQUAL(v, 512LL << 20);
	CU_ASSERT_EQUAL(isol8_parse_size("1G", &v), 0);
	CU_ASSERT_EQUAL(v, 1LL << 30);
	CU_ASSERT_EQUAL(isol8_parse_size("64kb", &v), 0);
	CU_ASSERT_EQUAL(v, 64LL << 10);
	CU_ASSERT_EQUAL(isol8_parse_size("1048576", &v), 0);
	CU_ASSERT_EQUAL(v, 1048576);
	CU_ASSERT_EQUAL(isol8_parse_size("", &v), -1);
	CU_ASSERT_EQUAL(isol8_parse_size("12x", &v), -1);
	CU_ASSERT_EQUAL(isol8_parse_size("-1m", &v), -1);
	CU_ASSERT_EQUAL(isol8_parse_size("99999999999999999999t", &v), -1);
	CU_ASSERT_EQUAL(isol8_parse_size("9000000000t", &v), -1);
}

static void test_runtime_argv(void)
{
	static const struct {
		const char *runtime, *ext, *argv;
	} cases[] = {
		{"python", "", "python3 /sandbox/main.py"},
		{"node", "", "node /sandbox/main.mjs"},
		{"node", "cjs", "node /sandbox/main.cjs"},
		{"bun", "", "bun run /sandbox/main.ts"},
		{"deno", "", "deno run --quiet --allow-all /sandbox/main.ts"},
		{"bash", "", "bash /sandbox/main.sh"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct isol8_runtime *rt = isol8_runtime_find(cases[i].runtime);
		const char *argv[ISOL8_RUNTIME_ARGV_MAX + 1];
		char path[64], joined[256] = "";
		struct isol8_error err = ISOL8_ERROR_INIT;

		CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
		CU_ASSERT_EQUAL_FATAL(isol8_runtime_code_path(rt, cases[i].ext, path, sizeof(path), &err), 0);
		isol8_runtime_argv(rt, path, argv);
		for (size_t k = 0; argv[k]; k++)
			snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", k ? " " : "", argv[k]);
		CU_ASSERT_STRING_EQUAL(joined, cases[i].argv);
	}
	CU_ASSERT_PTR_NULL(isol8_runtime_find("ruby"));
}

/* Count of "NAME=VALUE" entries of spec's environment. */
static int env_count(const struct isol8_exec_spec *spec, const char *entry)
{
	int n = 0;

	for (size_t i = 0; i < spec->exec.n_env; i++)
		n += strcmp(spec->exec.env[i], entry) == 0;
	return n;
}

/* A filtered run's programs get the proxy environment; what the request
 * set itself stays; the CA variables only with an operator bundle. */
static void test_exec_spec_proxy_env(void)
{
	Isol8__V1__ExecuteRequest req = request("python", "print(1)");
	Isol8__V1__ExecuteRequest__EnvEntry env = ISOL8__V1__EXECUTE_REQUEST__ENV_ENTRY__INIT, *envs[] = {&env};
	struct isol8_exec_options o;
	struct isol8_exec_spec spec;
	struct isol8_error err = ISOL8_ERROR_INIT;

	env.key = "NO_PROXY";
	env.value = "";
	req.env = envs;
	req.n_env = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_exec_spec_build(&req, &o, &spec, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_proxy_env_add(&spec, false, &err), 0);
	CU_ASSERT_EQUAL(env_count(&spec, "HTTP_PROXY=http://127.0.0.1:8118"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "HTTPS_PROXY=http://127.0.0.1:8118"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "http_proxy=http://127.0.0.1:8118"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "https_proxy=http://127.0.0.1:8118"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "no_proxy=localhost,127.0.0.1,::1"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "NODE_USE_ENV_PROXY=1"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "NO_PROXY="), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "NO_PROXY=localhost,127.0.0.1,::1"), 0);
	CU_ASSERT_EQUAL(env_count(&spec, "SSL_CERT_FILE=/.isol8/ca-bundle.pem"), 0);
	/* added once, however often asked */
	CU_ASSERT_EQUAL_FATAL(isol8_proxy_env_add(&spec, true, &err), 0);
	CU_ASSERT_EQUAL(env_count(&spec, "HTTP_PROXY=http://127.0.0.1:8118"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "SSL_CERT_FILE=/.isol8/ca-bundle.pem"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "NODE_EXTRA_CA_CERTS=/.isol8/ca-bundle.pem"), 1);
	CU_ASSERT_EQUAL(env_count(&spec, "DENO_CERT=/.isol8/ca-bundle.pem"), 1);
	isol8_exec_spec_release(&spec);
	isol8_exec_options_release(&o);
}

static void test_exec_spec(void)
{
	Isol8__V1__ExecuteRequest req = request("python", "print(1)");
	Isol8__V1__ExecuteRequest__EnvEntry env = ISOL8__V1__EXECUTE_REQUEST__ENV_ENTRY__INIT, *envs[] = {&env};
	Isol8__V1__ExecuteRequest__FilesEntry file = ISOL8__V1__EXECUTE_REQUEST__FILES_ENTRY__INIT, *files[] = {&file};
	struct isol8_exec_options o;
	struct isol8_exec_spec spec;
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool has_env = false, has_home = false;

	env.key = "GREETING";
	env.value = "hi";
	req.env = envs;
	req.n_env = 1;
	file.key = "data/in.txt";
	file.value = (ProtobufCBinaryData){3, (uint8_t *)"abc"};
	req.files = files;
	req.n_files = 1;
	req.stdin = (ProtobufCBinaryData){2, (uint8_t *)"x\n"};
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_exec_spec_build(&req, &o, &spec, &err), 0);
	CU_ASSERT_EQUAL(spec.exec.n_argv, 2);
	CU_ASSERT_STRING_EQUAL(spec.exec.argv[0], "python3");
	CU_ASSERT_EQUAL(spec.exec.uid, 1000);
	CU_ASSERT_EQUAL(spec.exec.gid, 1000);
	CU_ASSERT_STRING_EQUAL(spec.exec.cwd, "/sandbox");
	CU_ASSERT_EQUAL(spec.exec.timeout_ms, 30000);
	CU_ASSERT_EQUAL(spec.exec.max_output_bytes, 1 << 20);
	CU_ASSERT_EQUAL(spec.exec.stdin.len, 2);
	CU_ASSERT_EQUAL_FATAL(spec.exec.n_files, 2);
	CU_ASSERT_STRING_EQUAL(spec.exec.files[0]->path, "/sandbox/main.py");
	CU_ASSERT_EQUAL(spec.exec.files[0]->content.len, 8);
	CU_ASSERT_STRING_EQUAL(spec.exec.files[1]->path, "/sandbox/data/in.txt");
	for (size_t i = 0; i < spec.exec.n_env; i++) {
		has_env |= strcmp(spec.exec.env[i], "GREETING=hi") == 0;
		has_home |= strcmp(spec.exec.env[i], "HOME=/sandbox") == 0;
	}
	CU_ASSERT_TRUE(has_env);
	CU_ASSERT_TRUE(has_home);
	isol8_exec_spec_release(&spec);

	env.key = "BAD-NAME";
	CU_ASSERT_EQUAL(isol8_exec_spec_build(&req, &o, &spec, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "env: \"BAD-NAME\""));
	isol8_error_clear(&err);
	env.key = "OK";
	file.key = "../etc/passwd";
	CU_ASSERT_EQUAL(isol8_exec_spec_build(&req, &o, &spec, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "files: \"../etc/passwd\""));
	isol8_error_clear(&err);
	file.key = "/etc/passwd";
	CU_ASSERT_EQUAL(isol8_exec_spec_build(&req, &o, &spec, &err), -ISOL8_E_INVALID);
}

static cJSON *json_array_item_string(cJSON *arr, const char *s)
{
	cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return it;
	return NULL;
}

static void test_container_spec(void)
{
	Isol8__V1__ExecuteRequest req = request("python", "print(1)");
	struct isol8_sandbox_env env = {NULL, "/run/isol8", "/opt/isol8/isol8-agent", "/run/isol8/isol8.sock",
					"abcd1234abcd1234", "isol8"};
	struct isol8_exec_options o;
	struct isol8_sandbox_spec spec;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char image[256];

	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	isol8_sandbox_image(&env, &o.container, image, sizeof(image));
	CU_ASSERT_STRING_EQUAL(image, "isol8:python");
	CU_ASSERT_EQUAL_FATAL(isol8_sandbox_spec_build(&env, &o.container, image, "0011", "/run/isol8/sandboxes/0011", &spec, &err), 0);
	char *text = isol8_docker_container_spec_json(&spec.spec, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	cJSON *root = cJSON_Parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	cJSON *host = cJSON_GetObjectItem(root, "HostConfig");
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(root, "Image")->valuestring, "isol8:python");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(root, "User")->valuestring, "0:0");
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(root, "Entrypoint"), "/.isol8/agent"));
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(host, "Memory")->valuedouble, 512.0 * 1024 * 1024);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(host, "MemorySwap")->valuedouble, 512.0 * 1024 * 1024);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(host, "NanoCpus")->valuedouble, 1e9);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(host, "PidsLimit")->valuedouble, 64);
	CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(host, "ReadonlyRootfs")));
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(host, "NetworkMode")->valuestring, "none");
	CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(root, "NetworkDisabled")));
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "CapDrop"), "ALL"));
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "CapAdd"), "SETUID"));
	CU_ASSERT_PTR_NULL(json_array_item_string(cJSON_GetObjectItem(host, "CapAdd"), "SYS_ADMIN"));
	CU_ASSERT_PTR_NULL(json_array_item_string(cJSON_GetObjectItem(host, "CapAdd"), "NET_ADMIN"));
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "SecurityOpt"), "no-new-privileges"));
	char seccomp[16384];
	snprintf(seccomp, sizeof(seccomp), "seccomp=%s", isol8_seccomp_strict_profile);
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "SecurityOpt"), seccomp));
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "Binds"),
						      "/opt/isol8/isol8-agent:/.isol8/agent:ro"));
	CU_ASSERT_PTR_NOT_NULL(json_array_item_string(cJSON_GetObjectItem(host, "Binds"),
						      "/run/isol8/sandboxes/0011:/.isol8/run"));
	cJSON *tmpfs = cJSON_GetObjectItem(host, "Tmpfs");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(tmpfs, "/sandbox")->valuestring,
			       "rw,exec,nosuid,nodev,size=536870912");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(tmpfs, "/tmp")->valuestring,
			       "rw,noexec,nosuid,nodev,size=268435456,mode=1777");
	cJSON *ulimit = cJSON_GetArrayItem(cJSON_GetObjectItem(host, "Ulimits"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ulimit);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(ulimit, "Name")->valuestring, "nofile");
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(ulimit, "Soft")->valuedouble, 4096);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(ulimit, "Hard")->valuedouble, 4096);
	cJSON *labels = cJSON_GetObjectItem(root, "Labels");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(labels, "isol8.managed")->valuestring, "true");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(labels, "isol8.runtime")->valuestring, "python");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(labels, "isol8.owner")->valuestring, "/run/isol8/isol8.sock");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(labels, "isol8.instance")->valuestring, "abcd1234abcd1234");
	cJSON_Delete(root);
	free(text);
}

/* The pool key: equal options give equal keys, any container-level
 * difference a different key; per-run options do not enter it. */
/* A filtered sandbox: still no network but lo; the agent relays to the
 * proxy's socket in its run dir, and the operator's CA bundle is mounted. */
static void test_container_spec_filtered(void)
{
	struct isol8_sandbox_env env = {NULL, "/run/isol8", "/opt/isol8/isol8-agent", "/run/isol8/isol8.sock",
					"abcd1234abcd1234", "isol8", NULL, "/etc/isol8/corp-ca.pem"};
	struct isol8_container_options c = {.runtime = "python", .image_suffix = "python", .network = ISOL8_NET_FILTERED,
					    .sandbox_size = 1 << 20, .tmp_size = 1 << 20};
	struct isol8_sandbox_spec spec;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_sandbox_spec_build(&env, &c, "isol8:python", "0011", "/run/isol8/sandboxes/0011",
						       &spec, &err), 0);
	CU_ASSERT_STRING_EQUAL(spec.spec.network_mode, "none");
	CU_ASSERT_TRUE(spec.spec.network_disabled);
	CU_ASSERT_STRING_EQUAL(spec.spec.entrypoint[1], "--egress");
	CU_ASSERT_STRING_EQUAL(spec.spec.entrypoint[2], "/.isol8/run/egress.sock");
	CU_ASSERT_PTR_NULL(spec.spec.entrypoint[3]);
	CU_ASSERT_STRING_EQUAL(spec.spec.binds[2], "/etc/isol8/corp-ca.pem:/.isol8/ca-bundle.pem:ro");
	CU_ASSERT_PTR_NULL(spec.spec.binds[3]);
	/* without filtering neither is there */
	c.network = ISOL8_NET_NONE;
	CU_ASSERT_EQUAL_FATAL(isol8_sandbox_spec_build(&env, &c, "isol8:python", "0011", "/run/isol8/sandboxes/0011",
						       &spec, &err), 0);
	CU_ASSERT_PTR_NULL(spec.spec.entrypoint[1]);
	CU_ASSERT_PTR_NULL(spec.spec.binds[2]);
}

static void test_pool_key(void)
{
	Isol8__V1__ExecuteRequest a = request("python", "print(1)"), b = request("python", "print(2)");
	Isol8__V1__ExecutionOptions opts;
	Google__Protobuf__BoolValue ro;
	struct isol8_exec_options oa, ob;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char ka[ISOL8_POOL_KEY_MAX], kb[ISOL8_POOL_KEY_MAX];

	isol8__v1__execution_options__init(&opts);
	b.timeout_ms = 5000;
	b.options = &opts;
	opts.max_output_size = 10;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&a, &oa, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&b, &ob, &err), 0);
	CU_ASSERT_EQUAL(isol8_container_key(&oa.container, ka, sizeof(ka), &err), 0);
	CU_ASSERT_EQUAL(isol8_container_key(&ob.container, kb, sizeof(kb), &err), 0);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	CU_ASSERT_TRUE(isol8_container_reusable(&oa.container));

	opts.memory_limit = "256m";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&b, &ob, &err), 0);
	CU_ASSERT_EQUAL(isol8_container_key(&ob.container, kb, sizeof(kb), &err), 0);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);

	opts.memory_limit = NULL;
	opts.seccomp = "custom";
	opts.seccomp_profile = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&b, &ob, &err), 0);
	CU_ASSERT_EQUAL(isol8_container_key(&ob.container, kb, sizeof(kb), &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(kb, "seccomp=2:"));
	CU_ASSERT_PTR_NULL(strstr(kb, "SCMP_ACT_ALLOW"));

	google__protobuf__bool_value__init(&ro);
	ro.value = false;
	opts.seccomp = NULL;
	opts.readonly_root_fs = &ro;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&b, &ob, &err), 0);
	CU_ASSERT_FALSE(isol8_container_reusable(&ob.container));
	opts.readonly_root_fs = NULL;
	opts.image = "my/image:1";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&b, &ob, &err), 0);
	CU_ASSERT_FALSE(isol8_container_reusable(&ob.container));
	CU_ASSERT_EQUAL(isol8_container_key(&ob.container, kb, sizeof(kb), &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(kb, "image=my/image:1"));
}

struct sink {
	char out[256];
	size_t len;
};

static int sink_emit(void *ud, const uint8_t *data, size_t len)
{
	struct sink *s = ud;
	memcpy(s->out + s->len, data, len);
	s->len += len;
	s->out[s->len] = '\0';
	return 0;
}

static void test_mask_split(void)
{
	struct isol8_mask m = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct sink s = {{0}, 0};
	const char *chunks[] = {"key is hun", "ter2 and ", "again h", "unter", "2!", " hunt"};

	CU_ASSERT_EQUAL(isol8_mask_add(&m, "hunter2", &err), 0);
	CU_ASSERT_EQUAL(isol8_mask_add(&m, "", &err), 0);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		CU_ASSERT_EQUAL(isol8_mask_feed(&m, (const uint8_t *)chunks[i], strlen(chunks[i]), sink_emit, &s), 0);
	CU_ASSERT_EQUAL(isol8_mask_flush(&m, sink_emit, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.out, "key is *** and again ***! hunt");
	isol8_mask_release(&m);
}

static void test_mask_none(void)
{
	struct isol8_mask m = {0};
	struct sink s = {{0}, 0};

	CU_ASSERT_EQUAL(isol8_mask_feed(&m, (const uint8_t *)"plain", 5, sink_emit, &s), 0);
	CU_ASSERT_EQUAL(isol8_mask_flush(&m, sink_emit, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.out, "plain");
	isol8_mask_release(&m);
}

static void test_sha256(void)
{
	struct isol8_sha256 h;
	char hex[65];

	isol8_sha256_init(&h);
	isol8_sha256_hex(&h, hex);
	CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	isol8_sha256_init(&h);
	isol8_sha256_update(&h, "abc", 3);
	isol8_sha256_hex(&h, hex);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	isol8_sha256_init(&h);
	for (int i = 0; i < 1000; i++)
		isol8_sha256_update(&h, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 100);
	isol8_sha256_update(&h, "", 0);
	isol8_sha256_hex(&h, hex);
	/* one hundred thousand 'a's */
	CU_ASSERT_STRING_EQUAL(hex, "6d1cf22d7cc09b085dfc25ee1a1f3ae0265804c607bc2074ad253bcc82fd81ee");
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"option defaults", test_option_defaults},
		{"option values", test_option_values},
		{"option errors name the field", test_option_errors},
		{"filtered network options", test_option_network_filtered},
		{"size parsing", test_parse_size},
		{"argv per runtime", test_runtime_argv},
		{"agent exec request", test_exec_spec},
		{"proxy environment", test_exec_spec_proxy_env},
		{"container settings", test_container_spec},
		{"filtered container settings", test_container_spec_filtered},
		{"pool key", test_pool_key},
		{"secret split across chunks", test_mask_split},
		{"no secrets", test_mask_none},
		{"sha256", test_sha256},
	};

	return isol8_test_run("engine", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
