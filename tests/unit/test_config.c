/* Unit tests of the configuration loader (api/config): the defaults, the
 * merge over them, where each value came from, every error the file can
 * get (with its exact text), finding the file, and both printed forms. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "runner.h"

#define FAKE_PATH "/nonexistent-dir/isol8.config.json"

static char tmp_dir[64];

static int suite_init(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/isol8-test-config.XXXXXX");
	return mkdtemp(tmp_dir) == NULL ? -1 : 0;
}

static int suite_cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Asserts that text holds each of the NULL-terminated needles; a failure
 * names the one missing. */
static void assert_contains(const char *text, const char *const *needles)
{
	char what[512];

	for (; *needles != NULL; needles++) {
		snprintf(what, sizeof(what), "the text holds \"%s\"", *needles);
		CU_assertImplementation(strstr(text, *needles) != NULL, __LINE__, what, __FILE__, "", CU_FALSE);
	}
}

/* isol8_config_print_text's output for c (caller frees). */
static char *text_of(const struct isol8_config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(isol8_config_print_text(c, f), 0);
	fclose(f);
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static struct isol8_config *parse_ok(const char *text)
{
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret = isol8_config_parse(&c, text, strlen(text), FAKE_PATH, &err);

	if (ret != 0)
		fprintf(stderr, "\nunexpected error for %s: %s\n", text, err.message);
	CU_ASSERT_EQUAL(ret, 0);
	return c;
}

/* Parses text and expects exactly "<FAKE_PATH>: <message>" with code. */
static void expect_error_full(const char *text, size_t len, int code, const char *message)
{
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char want[ISOL8_ERROR_MESSAGE_MAX];

	snprintf(want, sizeof(want), "%s: %s", FAKE_PATH, message);
	CU_ASSERT_EQUAL(isol8_config_parse(&c, text, len, FAKE_PATH, &err), -code);
	CU_ASSERT_PTR_NULL(c);
	if (strcmp(err.message, want) != 0)
		fprintf(stderr, "\n  file: %s\n  want: %s\n  got:  %s\n", text, want, err.message);
	CU_ASSERT_STRING_EQUAL(err.message, want);
}

static void expect_error_len(const char *text, size_t len, const char *message)
{
	expect_error_full(text, len, ISOL8_E_INVALID, message);
}

static void expect_error(const char *text, const char *message)
{
	expect_error_full(text, strlen(text), ISOL8_E_INVALID, message);
}

static void expect_error_code(const char *text, int code, const char *message)
{
	expect_error_full(text, strlen(text), code, message);
}

static void test_defaults(void)
{
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&c, NULL, 0, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(c->path, "");
	CU_ASSERT_EQUAL(c->max_concurrent, 10);
	CU_ASSERT_FALSE(c->debug);
	CU_ASSERT_EQUAL(c->defaults.timeout_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c->defaults.memory_limit.text, "512m");
	CU_ASSERT_EQUAL(c->defaults.memory_limit.bytes, 512LL << 20);
	CU_ASSERT_EQUAL(c->defaults.cpu_limit, 1.0);
	CU_ASSERT_STRING_EQUAL(c->defaults.network, "none");
	CU_ASSERT_EQUAL(c->defaults.sandbox_size.bytes, 512LL << 20);
	CU_ASSERT_EQUAL(c->defaults.tmp_size.bytes, 256LL << 20);
	CU_ASSERT_TRUE(c->defaults.readonly_root_fs);
	CU_ASSERT_EQUAL(c->defaults.pids_limit, 64);
	CU_ASSERT_EQUAL(c->defaults.max_output_size, 1 << 20);
	CU_ASSERT_EQUAL(c->network.whitelist.n, 0);
	CU_ASSERT_EQUAL(c->network.allowed_ranges.n, 0);
	CU_ASSERT_TRUE(c->cleanup.auto_prune);
	CU_ASSERT_EQUAL(c->cleanup.max_container_age_ms, 3600000);
	CU_ASSERT_STRING_EQUAL(c->security.seccomp, "strict");
	CU_ASSERT_PTR_NULL(c->security.custom_profile);
	CU_ASSERT_STRING_EQUAL(c->pool_strategy, "fast");
	CU_ASSERT_EQUAL(c->pool_size.clean, 1);
	CU_ASSERT_EQUAL(c->pool_size.dirty, 1);
	CU_ASSERT_FALSE(c->remote_code.enabled);
	CU_ASSERT_EQUAL_FATAL(c->remote_code.allowed_schemes.n, 1);
	CU_ASSERT_STRING_EQUAL(c->remote_code.allowed_schemes.items[0], "https");
	CU_ASSERT_EQUAL(c->remote_code.blocked_hosts.n, 10);
	CU_ASSERT_EQUAL(c->remote_code.max_code_size, 10 << 20);
	CU_ASSERT_EQUAL(c->remote_code.cache_ttl, 3600);
	/* safe for remote callers */
	CU_ASSERT_EQUAL(c->policy.max_timeout_ms, 3600000);
	CU_ASSERT_EQUAL(c->policy.max_memory_limit.bytes, 8LL << 30);
	CU_ASSERT_EQUAL(c->policy.max_cpu_limit, (double)sysconf(_SC_NPROCESSORS_ONLN));
	CU_ASSERT_EQUAL(c->policy.max_pids_limit, 4096);
	CU_ASSERT_EQUAL(c->policy.max_output_size, 256 << 20);
	CU_ASSERT_EQUAL(c->policy.max_tmp_size.bytes, 8LL << 30);
	CU_ASSERT_FALSE(c->policy.allow_host_network);
	CU_ASSERT_FALSE(c->policy.allow_seccomp_unconfined);
	CU_ASSERT_FALSE(c->policy.allow_seccomp_custom);
	CU_ASSERT_FALSE(c->policy.allow_writable_root);
	CU_ASSERT_EQUAL(c->policy.allowed_images.n, 0);
	CU_ASSERT_TRUE(c->policy.local_is_trusted);
	CU_ASSERT_EQUAL(c->sessions.idle_timeout_ms, 1800000);
	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		CU_ASSERT_EQUAL(c->pool.prewarm[i], 1);
	CU_ASSERT_EQUAL(c->pool.max_warm, 16);
	CU_ASSERT_EQUAL(c->pool.max_sandboxes, 26);
	CU_ASSERT_TRUE(c->pool.prestart);
	CU_ASSERT_STRING_EQUAL(c->log.level, "info");
	for (size_t i = 0; i < ISOL8_CONFIG_MAX_KEYS; i++)
		CU_ASSERT_EQUAL(c->source[i], ISOL8_CONFIG_DEFAULT);
	isol8_config_free(c);
}

/* The file's keys win, the rest stay; lists replace; sources say which. */
static void test_merge(void)
{
	struct isol8_config *c = parse_ok("{\"$schema\": \"./schema.json\", \"defaults\": {\"timeoutMs\": 60000, "
					  "\"memoryLimit\": \"1g\"}, \"network\": {\"whitelist\": [\"^a\\\\.com$\"]}, "
					  "\"remoteCode\": {\"blockedHosts\": []}, \"dependencies\": {\"python\": "
					  "[\"numpy\", \"pandas\"]}, \"maxConcurrent\": 2e1}");
	char *json;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, FAKE_PATH);
	CU_ASSERT_EQUAL(c->max_concurrent, 20);
	CU_ASSERT_EQUAL(c->defaults.timeout_ms, 60000);
	CU_ASSERT_EQUAL(c->defaults.memory_limit.bytes, 1LL << 30);
	CU_ASSERT_EQUAL(c->defaults.cpu_limit, 1.0);
	CU_ASSERT_STRING_EQUAL(c->defaults.network, "none");
	CU_ASSERT_EQUAL_FATAL(c->network.whitelist.n, 1);
	CU_ASSERT_STRING_EQUAL(c->network.whitelist.items[0], "^a\\.com$");
	CU_ASSERT_EQUAL(c->remote_code.blocked_hosts.n, 0);
	CU_ASSERT_EQUAL(c->remote_code.allowed_schemes.n, 1);
	CU_ASSERT_EQUAL(c->dependencies[ISOL8_RT_PYTHON].n, 2);
	CU_ASSERT_EQUAL(c->dependencies[ISOL8_RT_NODE].n, 0);
	/* derived from the merged maxConcurrent */
	CU_ASSERT_EQUAL(c->pool.max_sandboxes, 36);
	json = isol8_config_to_json(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	assert_contains(json, (const char *const[]){
		"\"$schema\": \"./schema.json\"",
		"\"timeoutMs\": 60000",
		"\"memoryLimit\": \"1g\"",
		"\"cpuLimit\": 1,",
		NULL,
	});
	free(json);
	isol8_config_free(c);
}

/* The original's switches: debug turns on debug logging, poolSize.clean is
 * the prewarm per runtime; pool.prewarm and log.level win over them. */
static void test_derived(void)
{
	struct isol8_config *c = parse_ok("{\"debug\": true, \"poolSize\": 3}");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->log.level, "debug");
	CU_ASSERT_TRUE(c->pool_size.is_number);
	CU_ASSERT_EQUAL(c->pool_size.dirty, 3);
	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		CU_ASSERT_EQUAL(c->pool.prewarm[i], 3);
	isol8_config_free(c);
	c = parse_ok("{\"debug\": true, \"log\": {\"level\": \"warn\"}, \"poolSize\": {\"clean\": 2, \"dirty\": 0}, "
		     "\"pool\": {\"prewarm\": {\"python\": 2, \"bash\": 1}, \"maxWarm\": 4}}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->log.level, "warn");
	CU_ASSERT_FALSE(c->pool_size.is_number);
	CU_ASSERT_TRUE(c->pool.prewarm_by_runtime);
	CU_ASSERT_EQUAL(c->pool.prewarm[ISOL8_RT_PYTHON], 2);
	CU_ASSERT_EQUAL(c->pool.prewarm[ISOL8_RT_NODE], 0);
	CU_ASSERT_EQUAL(c->pool.prewarm[ISOL8_RT_BASH], 1);
	CU_ASSERT_EQUAL(c->pool.max_sandboxes, 14);
	isol8_config_free(c);
}

/* Every key the file gives, once, and a value of each form. */
static const char full_example[] =
	"{\n"
	"  \"$schema\": \"schema/isol8.config.schema.json\",\n"
	"  \"maxConcurrent\": 4, \"debug\": false,\n"
	"  \"defaults\": {\"timeoutMs\": 10000, \"memoryLimit\": \"256m\", \"cpuLimit\": 0.5, \"network\": \"host\",\n"
	"    \"sandboxSize\": \"64m\", \"tmpSize\": \"32MB\", \"readonlyRootFs\": false, \"pidsLimit\": 32,\n"
	"    \"maxOutputSize\": 65536},\n"
	"  \"network\": {\"whitelist\": [\"^pypi\\\\.org$\"], \"blacklist\": [\"evil\"], \"allowedRanges\": [\"127.0.0.1\"]},\n"
	"  \"cleanup\": {\"autoPrune\": false, \"maxContainerAgeMs\": 60000},\n"
	"  \"dependencies\": {\"python\": [\"numpy\"], \"node\": [\"lodash\"], \"bun\": [], \"deno\": [], \"bash\": []},\n"
	"  \"security\": {\"seccomp\": \"unconfined\", \"customProfilePath\": \"p.json\"},\n"
	"  \"poolStrategy\": \"secure\", \"poolSize\": {\"clean\": 2, \"dirty\": 1},\n"
	"  \"pool\": {\"prewarm\": 0, \"maxWarm\": 8, \"maxSandboxes\": 30, \"prestart\": false},\n"
	"  \"remoteCode\": {\"enabled\": true, \"allowedSchemes\": [\"https\", \"http\"], \"allowedHosts\": [\"x\"],\n"
	"    \"blockedHosts\": [], \"maxCodeSize\": 1000, \"fetchTimeoutMs\": 500, \"requireHash\": true,\n"
	"    \"enableCache\": false, \"cacheTtl\": 0},\n"
	"  \"policy\": {\"maxTimeoutMs\": 20000, \"maxMemoryLimit\": \"1g\", \"maxCpuLimit\": 1, \"maxPidsLimit\": 128,\n"
	"    \"maxOutputSize\": 1048576, \"maxSandboxSize\": \"1g\", \"maxTmpSize\": \"1g\", \"allowHostNetwork\": true,\n"
	"    \"allowSeccompUnconfined\": true, \"allowSeccompCustom\": true, \"allowWritableRoot\": true,\n"
	"    \"allowedImages\": [\"python:3.12-slim\"], \"localIsTrusted\": false},\n"
	"  \"sessions\": {\"max\": 8, \"idleTimeoutMs\": 60000},\n"
	"  \"listen\": [\"127.0.0.1:50051\", \"[::1]:0\"],\n"
	"  \"tls\": {\"cert\": \"/etc/isol8/cert.pem\", \"key\": \"/etc/isol8/key.pem\"},\n"
	"  \"log\": {\"level\": \"error\", \"json\": true}\n"
	"}\n";

static void test_every_key(void)
{
	struct isol8_config *c = parse_ok(full_example), *again;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *json, *json2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->defaults.tmp_size.text, "32MB");
	CU_ASSERT_EQUAL(c->defaults.tmp_size.bytes, 32LL << 20);
	CU_ASSERT_STRING_EQUAL(c->defaults.network, "host");
	CU_ASSERT_FALSE(c->defaults.readonly_root_fs);
	CU_ASSERT_STRING_EQUAL(c->security.custom_profile_path, "p.json");
	CU_ASSERT_PTR_NULL(c->security.custom_profile); /* read only with seccomp custom */
	CU_ASSERT_EQUAL(c->pool.prewarm[ISOL8_RT_DENO], 0);
	CU_ASSERT_EQUAL(c->pool.max_sandboxes, 30);
	CU_ASSERT_FALSE(c->pool.prestart);
	CU_ASSERT_EQUAL(c->listen.n, 2);
	CU_ASSERT_EQUAL_FATAL(c->network.allowed_ranges.n, 1);
	CU_ASSERT_STRING_EQUAL(c->network.allowed_ranges.items[0], "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(c->tls.key, "/etc/isol8/key.pem");
	CU_ASSERT_STRING_EQUAL(c->log.level, "error");
	CU_ASSERT_FALSE(c->policy.local_is_trusted);
	CU_ASSERT_EQUAL(c->policy.allowed_images.n, 1);
	/* the JSON output read back resolves to the same JSON */
	json = isol8_config_to_json(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&again, json, strlen(json), FAKE_PATH, &err), 0);
	json2 = isol8_config_to_json(again);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json2);
	CU_ASSERT_STRING_EQUAL(json, json2);
	free(json);
	free(json2);
	isol8_config_free(again);
	isol8_config_free(c);
}

static void test_type_errors(void)
{
	expect_error("[]", "the file must hold one JSON object (keys: $schema, maxConcurrent, debug, defaults, network, "
			   "cleanup, dependencies, packages, security, poolStrategy, poolSize, pool, remoteCode, policy, sessions, "
			   "listen, tls, log)");
	expect_error("{\"defaults\": {\"memoryLimit\": 512}}",
		     "defaults.memoryLimit: expected a size like \"512m\" (a number of bytes, or with k, m or g)");
	expect_error("{\"defaults\": {\"memoryLimit\": \"lots\"}}",
		     "defaults.memoryLimit: expected a size like \"512m\" (a number of bytes, or with k, m or g)");
	expect_error("{\"defaults\": {\"memoryLimit\": \"4k\"}}", "defaults.memoryLimit: \"4k\" is out of range (16m to 64g)");
	expect_error("{\"defaults\": {\"tmpSize\": \"99999999999999999999g\"}}",
		     "defaults.tmpSize: \"99999999999999999999g\" is out of range (1m to 64g)");
	expect_error("{\"defaults\": {\"tmpSize\": \"1m\\n\"}}",
		     "defaults.tmpSize: expected a size like \"512m\" (a number of bytes, or with k, m or g)");
	expect_error("{\"maxConcurrent\": \"10\"}", "maxConcurrent: expected an integer from 1 to 4096");
	expect_error("{\"maxConcurrent\": 1.5}", "maxConcurrent: expected an integer from 1 to 4096");
	expect_error("{\"maxConcurrent\": 0}", "maxConcurrent: expected an integer from 1 to 4096");
	expect_error("{\"maxConcurrent\": true}", "maxConcurrent: expected an integer from 1 to 4096");
	expect_error("{\"maxConcurrent\": 1e400}", "maxConcurrent: expected an integer from 1 to 4096");
	expect_error("{\"debug\": 1}", "debug: expected true or false");
	expect_error("{\"defaults\": {\"cpuLimit\": 0}}", "defaults.cpuLimit: expected a number from 0.01 to 1024");
	expect_error("{\"defaults\": {\"network\": \"wifi\"}}",
		     "defaults.network: expected one of \"none\", \"host\", \"filtered\"");
	expect_error("{\"poolStrategy\": \"slow\"}", "poolStrategy: expected one of \"fast\", \"secure\"");
	expect_error("{\"log\": {\"level\": \"trace\"}}", "log.level: expected one of \"debug\", \"info\", \"warn\", \"error\"");
	expect_error("{\"defaults\": 5}",
		     "defaults: expected an object (keys: timeoutMs, memoryLimit, cpuLimit, network, sandboxSize, tmpSize, "
		     "readonlyRootFs, pidsLimit, maxOutputSize)");
	expect_error("{\"network\": {\"whitelist\": \"x\"}}", "network.whitelist: expected an array of strings");
	expect_error("{\"network\": {\"whitelist\": [\"a\", 3]}}", "network.whitelist[1]: expected a non-empty string");
	expect_error("{\"policy\": {\"allowedImages\": [\"\"]}}", "policy.allowedImages[0]: expected a non-empty string");
	expect_error("{\"security\": {\"customProfilePath\": \"\"}}", "security.customProfilePath: expected a non-empty string");
	expect_error("{\"$schema\": 1}", "$schema: expected a string (the schema's URI or path)");
	expect_error("{\"cleanup\": {\"maxContainerAgeMs\": 10}}",
		     "cleanup.maxContainerAgeMs: expected an integer from 1000 to 31536000000");
}

static void test_key_errors(void)
{
	expect_error("{\"defaults\": {\"memoryLimt\": \"1g\"}}",
		     "defaults.memoryLimt: unknown key (valid here: timeoutMs, memoryLimit, cpuLimit, network, sandboxSize, "
		     "tmpSize, readonlyRootFs, pidsLimit, maxOutputSize)");
	expect_error("{\"defaults.timeoutMs\": 5}",
		     "defaults.timeoutMs: unknown key (valid here: $schema, maxConcurrent, debug, defaults, network, cleanup, "
		     "dependencies, packages, security, poolStrategy, poolSize, pool, remoteCode, policy, sessions, listen, tls, log)");
	expect_error("{\"packages\": {\"registries\": {\"bash\": [\"https://deb.debian.org\"]}}}",
		     "packages.registries.bash: unknown key (valid here: python, node, bun, deno)");
	expect_error("{\"packages\": {\"registries\": {\"python\": [\"ftp://x/simple\"]}}}",
		     "packages.registries.python[0]: expected an http:// or https:// URL");
	expect_error("{\"audit\": {\"enabled\": true}}",
		     "audit: a key of the original isol8 that this isol8 does not serve (remove it)");
	expect_error("{\"dependencies\": {\"ruby\": [\"rails\"]}}",
		     "dependencies.ruby: unknown key (valid here: python, node, bun, deno, bash)");
	expect_error("{\"debug\": true, \"debug\": false}", "debug: duplicate key");
	expect_error("{\"tls\": {\"cert\": \"a\", \"cert\": \"b\"}}", "tls.cert: duplicate key");
	expect_error("{\"log\": {\"bad\\nkey\": 1}}", "log.bad?key: unknown key (valid here: level, json)");
}

static void test_union_errors(void)
{
	expect_error("{\"poolSize\": \"1\"}", "poolSize: expected an integer from 0 to 64 or {\"clean\": N, \"dirty\": N}");
	expect_error("{\"poolSize\": 65}", "poolSize: expected an integer from 0 to 64");
	expect_error("{\"poolSize\": {\"clean\": 1}}", "poolSize: \"clean\" and \"dirty\" are both required");
	expect_error("{\"poolSize\": {\"clean\": 1, \"dirty\": -1}}", "poolSize.dirty: expected an integer from 0 to 64");
	expect_error("{\"poolSize\": {\"clean\": 1, \"dirty\": 1, \"warm\": 1}}",
		     "poolSize.warm: unknown key (valid here: clean, dirty)");
	expect_error("{\"pool\": {\"prewarm\": [1]}}",
		     "pool.prewarm: expected an integer from 0 to 64 or an object of runtimes (\"python\": N, ...)");
	expect_error("{\"pool\": {\"prewarm\": {\"ruby\": 1}}}",
		     "pool.prewarm.ruby: unknown runtime (valid: python, node, bun, deno, bash)");
	expect_error("{\"pool\": {\"prewarm\": {\"node\": 0.5}}}", "pool.prewarm.node: expected an integer from 0 to 64");
}

static void test_semantic_errors(void)
{
	char cpus[128];

	expect_error("{\"network\": {\"blacklist\": [\"(\"]}}",
		     "network.blacklist[0]: not a POSIX extended regular expression (Unmatched ( or \\()");
	expect_error("{\"listen\": [\"localhost\"]}", "listen[0]: expected \"HOST:PORT\"");
	expect_error("{\"listen\": [\"a:1\", \"a:2\", \"a:3\", \"a:4\", \"a:5\", \"a:6\", \"a:7\", \"a:8\", \"a:9\"]}",
		     "listen: at most 8 items");
	expect_error("{\"tls\": {\"cert\": \"c.pem\"}}", "tls: cert and key go together (set both or neither)");
	expect_error("{\"security\": {\"seccomp\": \"custom\"}}",
		     "security.customProfilePath: required when security.seccomp is \"custom\"");
	expect_error_code("{\"security\": {\"seccomp\": \"custom\", \"customProfilePath\": \"missing.json\"}}",
			  ISOL8_E_NOT_FOUND, "security.customProfilePath: \"/nonexistent-dir/missing.json\": No such file or directory");
	expect_error("{\"defaults\": {\"memoryLimit\": \"16g\"}}",
		     "defaults.memoryLimit: 16g is above policy.maxMemoryLimit (8g)");
	expect_error("{\"defaults\": {\"timeoutMs\": 7200000}}",
		     "defaults.timeoutMs: 7200000 is above policy.maxTimeoutMs (3600000)");
	expect_error("{\"defaults\": {\"pidsLimit\": 100}, \"policy\": {\"maxPidsLimit\": 50}}",
		     "defaults.pidsLimit: 100 is above policy.maxPidsLimit (50)");
	snprintf(cpus, sizeof(cpus), "defaults.cpuLimit: 1024 is more than this host's %ld CPUs",
		 sysconf(_SC_NPROCESSORS_ONLN));
	expect_error("{\"defaults\": {\"cpuLimit\": 1024}, \"policy\": {\"maxCpuLimit\": 1024}}", cpus);
	expect_error("{\"defaults\": {\"cpuLimit\": 0.5}, \"policy\": {\"maxCpuLimit\": 0.25}}",
		     "defaults.cpuLimit: 0.5 is above policy.maxCpuLimit (0.25)");
}

static void test_syntax_errors(void)
{
	static const char nul[] = "{\"debug\": true}\0x";

	expect_error("", "not valid JSON at line 1, column 1 (the file is empty)");
	expect_error("{\"debug\": true,}", "not valid JSON at line 1, column 16 (a comma before the closing bracket)");
	expect_error("{\n  \"debug\": true\n  // no\n}", "not valid JSON at line 3, column 3 (expected ',' or '}')");
	expect_error("{\"maxConcurrent\": 01}", "not valid JSON at line 1, column 19 (a malformed number)");
	expect_error("{\"maxConcurrent\": +1}", "not valid JSON at line 1, column 19 (expected a value)");
	expect_error("{\"maxConcurrent\": .5}", "not valid JSON at line 1, column 19 (expected a value)");
	expect_error("{\"maxConcurrent\": 1.}", "not valid JSON at line 1, column 19 (a malformed number)");
	expect_error("{\"listen\": [\"a\tb:1\"]}",
		     "not valid JSON at line 1, column 15 (a control character inside a string; write it as an escape)");
	expect_error("{\"listen\": [\"a\\u0000:1\"]}",
		     "not valid JSON at line 1, column 16 (\\u0000: no value may hold a NUL character)");
	expect_error("{\"listen\": [\"a\\x\"]}", "not valid JSON at line 1, column 16 (an unknown escape in a string)");
	expect_error("{\"debug\": \"\xff\"}", "not valid JSON at line 1, column 12 (not UTF-8)");
	expect_error("{\"debug\": \"\xc0\xaf\"}", "not valid JSON at line 1, column 12 (not UTF-8)");
	expect_error("\xef\xbb\xbf{}", "not valid JSON at line 1, column 1 (expected a value)");
	expect_error("{\"debug\": tru", "not valid JSON at line 1, column 11 (expected a value)");
	expect_error("{\"debug\": \"x", "not valid JSON at line 1, column 13 (a string that does not end)");
	expect_error_len(nul, sizeof(nul) - 1, "not valid JSON at line 1, column 16 (a NUL byte)");
}

static void test_profile(void)
{
	char config[128], profile[128], text[1024];
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	snprintf(config, sizeof(config), "%s/isol8.config.json", tmp_dir);
	snprintf(profile, sizeof(profile), "%s/profile.json", tmp_dir);
	write_file(profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n");
	snprintf(text, sizeof(text), "{\"security\": {\"seccomp\": \"custom\", \"customProfilePath\": \"profile.json\"}}");
	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&c, text, strlen(text), config, &err), 0);
	CU_ASSERT_STRING_EQUAL(c->security.custom_profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n");
	isol8_config_free(c);

	write_file(profile, "{\"defaultAction\": ");
	CU_ASSERT_EQUAL(isol8_config_parse(&c, text, strlen(text), config, &err), -ISOL8_E_INVALID);
	snprintf(text, sizeof(text),
		 "%s: security.customProfilePath: seccomp profile \"%s\": not valid JSON at line 1, column 19 "
		 "(it ends too early)",
		 config, profile);
	CU_ASSERT_STRING_EQUAL(err.message, text);
	isol8_error_clear(&err);

	write_file(profile, "[]");
	snprintf(text, sizeof(text), "{\"security\": {\"seccomp\": \"custom\", \"customProfilePath\": \"%s\"}}", profile);
	CU_ASSERT_EQUAL(isol8_config_parse(&c, text, strlen(text), "/elsewhere/c.json", &err), -ISOL8_E_INVALID);
	snprintf(text, sizeof(text), "/elsewhere/c.json: security.customProfilePath: seccomp profile \"%s\": not a JSON object",
		 profile);
	CU_ASSERT_STRING_EQUAL(err.message, text);
}

/* Values and files past their bounds. */
static void test_bounds(void)
{
	char path[128], text[8192], want[512];
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	FILE *f;

	snprintf(text, sizeof(text), "{\"$schema\": \"%0600d\"}", 0);
	expect_error(text, "$schema: longer than 511 bytes");
	snprintf(text, sizeof(text), "{\"tls\": {\"cert\": \"%05000d\", \"key\": \"k\"}}", 0);
	expect_error(text, "tls.cert: longer than 4095 bytes");

	/* a file one byte past the limit */
	snprintf(path, sizeof(path), "%s/big.json", tmp_dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"$schema\": \"", f);
	for (unsigned i = 0; i < ISOL8_CONFIG_FILE_MAX; i++)
		fputc('a', f);
	fputs("\"}", f);
	fclose(f);
	CU_ASSERT_EQUAL(isol8_config_load(&c, path, &err), -ISOL8_E_INVALID);
	snprintf(want, sizeof(want), "configuration file: \"%s\" is larger than %u bytes", path, ISOL8_CONFIG_FILE_MAX);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	isol8_error_clear(&err);

	/* a profile that is a directory */
	snprintf(text, sizeof(text), "{\"security\": {\"seccomp\": \"custom\", \"customProfilePath\": \"%s\"}}", tmp_dir);
	CU_ASSERT_EQUAL(isol8_config_parse(&c, text, strlen(text), FAKE_PATH, &err), -ISOL8_E_INVALID);
	snprintf(want, sizeof(want), "%s: security.customProfilePath: \"%s\" is not a regular file", FAKE_PATH, tmp_dir);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	isol8_error_clear(&err);

	/* nested too deeply for any key */
	memset(text, '[', 100);
	text[100] = '\0';
	expect_error(text, "not valid JSON at line 1, column 65 (nested too deeply)");
}

/* --config, then $ISOL8_CONFIG, then ./isol8.config.json, then ~/.isol8/config.json. */
static void test_find(void)
{
	char old_cwd[PATH_MAX], home[128], work[128], path[PATH_MAX], want[512];
	const char *old_home = getenv("HOME");
	char *saved_home = old_home ? strdup(old_home) : NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_config *c = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(old_cwd, sizeof(old_cwd)));
	snprintf(home, sizeof(home), "%s/home", tmp_dir);
	snprintf(work, sizeof(work), "%s/work", tmp_dir);
	mkdir(home, 0700);
	mkdir(work, 0700);
	CU_ASSERT_EQUAL_FATAL(chdir(work), 0);
	setenv("HOME", home, 1);
	unsetenv(ISOL8_CONFIG_ENV);

	CU_ASSERT_EQUAL(isol8_config_find(NULL, path, sizeof(path), &err), 0);
	CU_ASSERT_STRING_EQUAL(path, "");
	CU_ASSERT_EQUAL(isol8_config_load(&c, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(c->path, "");
	isol8_config_free(c);

	snprintf(want, sizeof(want), "%s/.isol8", home);
	mkdir(want, 0700);
	snprintf(want, sizeof(want), "%s/.isol8/config.json", home);
	write_file(want, "{\"maxConcurrent\": 3}");
	CU_ASSERT_EQUAL(isol8_config_find(NULL, path, sizeof(path), &err), 0);
	CU_ASSERT_STRING_EQUAL(path, want);

	write_file("isol8.config.json", "{\"maxConcurrent\": 4}");
	snprintf(want, sizeof(want), "%s/isol8.config.json", work);
	CU_ASSERT_EQUAL(isol8_config_load(&c, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(c->path, want);
	CU_ASSERT_EQUAL(c->max_concurrent, 4);
	isol8_config_free(c);

	write_file("other.json", "{\"maxConcurrent\": 5}");
	setenv(ISOL8_CONFIG_ENV, "other.json", 1);
	CU_ASSERT_EQUAL(isol8_config_load(&c, NULL, &err), 0);
	CU_ASSERT_EQUAL(c->max_concurrent, 5);
	isol8_config_free(c);
	CU_ASSERT_EQUAL(isol8_config_load(&c, "isol8.config.json", &err), 0);
	CU_ASSERT_EQUAL(c->max_concurrent, 4);
	isol8_config_free(c);

	CU_ASSERT_EQUAL(isol8_config_load(&c, "nope.json", &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "--config: configuration file \"nope.json\" does not exist");
	isol8_error_clear(&err);
	setenv(ISOL8_CONFIG_ENV, "gone.json", 1);
	CU_ASSERT_EQUAL(isol8_config_load(&c, NULL, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "ISOL8_CONFIG: configuration file \"gone.json\" does not exist");
	isol8_error_clear(&err);
	unsetenv(ISOL8_CONFIG_ENV);

	mkdir("dir.json", 0700);
	CU_ASSERT_EQUAL(isol8_config_load(&c, "dir.json", &err), -ISOL8_E_INVALID);
	snprintf(want, sizeof(want), "configuration file: \"%s/dir.json\" is not a regular file", work);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	isol8_error_clear(&err);

	CU_ASSERT_EQUAL(chdir(old_cwd), 0);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
}

static void test_text(void)
{
	struct isol8_config *c = parse_ok("{\"defaults\": {\"timeoutMs\": 5000}}");
	char *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	isol8_config_set_flag(c, "maxConcurrent", "--max-concurrent");
	c->max_concurrent = 7;
	out = text_of(c);
	assert_contains(out, (const char *const[]){
		"\nIsol8 Configuration\n\n  Source: " FAKE_PATH "\n",
		"  ── General ──\n  maxConcurrent                  7                      flag --max-concurrent\n",
		"  defaults.timeoutMs             5000 ms                " FAKE_PATH "\n",
		"  defaults.memoryLimit           512m                   default\n",
		"  network.whitelist              (none)                 default\n",
		"  poolSize                       clean 1, dirty 1       default\n",
		"  pool.prewarm                   1 per runtime          default\n",
		"  tls.cert                       (none)                 default\n",
		NULL,
	});
	free(out);
	isol8_config_free(c);

	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&c, NULL, 0, NULL, &(struct isol8_error)ISOL8_ERROR_INIT), 0);
	out = text_of(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "  Source: defaults (no config file found)\n"));
	free(out);
	isol8_config_free(c);
}

static void test_json_defaults(void)
{
	struct isol8_config *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	cJSON *j;
	char *text;

	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&c, NULL, 0, NULL, &err), 0);
	text = isol8_config_to_json(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_NSTRING_EQUAL(text, "{\n  \"maxConcurrent\": 10,\n  \"debug\": false,\n  \"defaults\": {\n", 56);
	j = cJSON_Parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "$schema"));
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "poolSize"), "clean")->valuedouble, 1);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "security"), "seccomp")->valuestring, "strict");
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "security"), "customProfilePath"));
	CU_ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItem(j, "tls")));
	CU_ASSERT_TRUE(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dependencies"), "python")));
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "remoteCode"), "blockedHosts")), 10);
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pool"), "prewarm")->valuedouble, 1);
	cJSON_Delete(j);
	free(text);
	isol8_config_free(c);
}

static void test_parse_size(void)
{
	int64_t v;

	CU_ASSERT_EQUAL(isol8_config_parse_size("512m", &v), 0);
	CU_ASSERT_EQUAL(v, 512LL << 20);
	CU_ASSERT_EQUAL(isol8_config_parse_size("1G", &v), 0);
	CU_ASSERT_EQUAL(v, 1LL << 30);
	CU_ASSERT_EQUAL(isol8_config_parse_size("64kb", &v), 0);
	CU_ASSERT_EQUAL(v, 64LL << 10);
	CU_ASSERT_EQUAL(isol8_config_parse_size("1048576", &v), 0);
	CU_ASSERT_EQUAL(v, 1048576);
	CU_ASSERT_EQUAL(isol8_config_parse_size("100b", &v), 0);
	CU_ASSERT_EQUAL(v, 100);
	CU_ASSERT_EQUAL(isol8_config_parse_size("1bb", &v), -1);
	CU_ASSERT_EQUAL(isol8_config_parse_size("m", &v), -1);
	CU_ASSERT_EQUAL(isol8_config_parse_size("1.5g", &v), -1);
	CU_ASSERT_EQUAL(isol8_config_parse_size("-1m", &v), -1);
	CU_ASSERT_EQUAL(isol8_config_parse_size("9223372036854775807t", &v), -1);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"defaults", test_defaults},
		{"merge over the defaults", test_merge},
		{"values derived from others", test_derived},
		{"every key, and the JSON read back", test_every_key},
		{"wrong types and ranges", test_type_errors},
		{"unknown and duplicate keys", test_key_errors},
		{"poolSize and pool.prewarm forms", test_union_errors},
		{"checks beyond one value", test_semantic_errors},
		{"JSON syntax", test_syntax_errors},
		{"custom seccomp profile file", test_profile},
		{"values and files past their bounds", test_bounds},
		{"finding the file", test_find},
		{"text output and sources", test_text},
		{"JSON output of the defaults", test_json_defaults},
		{"sizes", test_parse_size},
	};

	return isol8_test_run("config", suite_init, suite_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
