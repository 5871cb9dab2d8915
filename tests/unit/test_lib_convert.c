/*
 * Unit tests of libisol8's pure parts (client/lib): struct isol8_request ->
 * ExecuteRequest (every member, through the wire and back), the replies ->
 * result structs (every field, NUL after the bytes), stream events, the
 * target parser and the execution deadline. No daemon, no RPC.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client.h"
#include "lib/event.h"
#include "lib/request.h"
#include "lib/result.h"
#include "lib/target.h"
#include "runner.h"

/* ---------------------------------------------------------------- helpers */

/* req -> ExecuteRequest -> bytes -> a parsed copy (caller frees), so every
 * member is checked as isol8d will read it. */
static Isol8__V1__ExecuteRequest *round_trip(const struct isol8_request *req)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_request_proto p;
	Isol8__V1__ExecuteRequest *back;
	uint8_t *buf;
	size_t len;

	if (isol8_request_to_proto(&p, req, &err) != 0) {
		CU_FAIL("isol8_request_to_proto failed");
		return NULL;
	}
	len = isol8__v1__execute_request__get_packed_size(&p.msg);
	buf = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(isol8__v1__execute_request__pack(&p.msg, buf), len);
	isol8_request_proto_release(&p);
	back = isol8__v1__execute_request__unpack(NULL, len, buf);
	free(buf);
	CU_ASSERT_PTR_NOT_NULL(back);
	return back;
}

/* The value of key in a string map of n entries (any entry type with key
 * and value strings), or NULL. */
#define MAP_GET(entries, n, k)                                                                     \
	({                                                                                         \
		const char *found_ = NULL;                                                         \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			if (strcmp((entries)[i_]->key, (k)) == 0)                                  \
				found_ = (entries)[i_]->value;                                     \
		found_;                                                                            \
	})

/* Converting req fails with ISOL8_E_INVALID and exactly message. */
static void expect_invalid(const struct isol8_request *req, const char *message)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_request_proto p;

	CU_ASSERT_EQUAL(isol8_request_to_proto(&p, req, &err), -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	if (strcmp(err.message, message) != 0) {
		fprintf(stderr, "\n  want: %s\n  got:  %s\n", message, err.message);
		CU_FAIL("message");
	}
}

/* ---------------------------------------------------------------- requests */

static void test_request_every_member(void)
{
	static const struct isol8_kv env[] = {{"A", "1"}, {"B", ""}};
	static const struct isol8_kv metadata[] = {{"user", "u42"}, {"trace", "t-1"}};
	static const struct isol8_kv secrets[] = {{"TOKEN", "s3cret"}};
	static const char *const wl[] = {"^pypi\\.org$", "files\\.pythonhosted\\.org"};
	static const char *const bl[] = {"evil"};
	static const char *const outs[] = {"/sandbox/out.txt", "b.bin"};
	static const char *const pkgs[] = {"numpy"};
	static const struct isol8_file files[] = {{"a.txt", "abc", 3, 0}, {"run.sh", "#!/bin/sh\0x", 11, 0755}};
	struct isol8_options o = ISOL8_OPTIONS_INIT;
	struct isol8_request r = ISOL8_REQUEST_INIT;
	Isol8__V1__ExecuteRequest *m;

	o.network = "filtered";
	o.whitelist = wl;
	o.n_whitelist = 2;
	o.blacklist = bl;
	o.n_blacklist = 1;
	o.cpu_limit = 0.5;
	o.memory_limit = "256m";
	o.pids_limit = 32;
	o.readonly_root_fs = 2;
	o.max_output_size = 4096;
	o.secrets = secrets;
	o.n_secrets = 1;
	o.image = "my:img";
	o.sandbox_size = "64m";
	o.tmp_size = "32m";
	o.seccomp = "custom";
	o.seccomp_profile = "{}";
	o.persist = true;
	o.log_network = true;
	r.runtime = "python";
	r.code = "print(1)";
	r.cmd = "ls";
	r.code_url = "https://x/y.py";
	r.code_hash = "ab12";
	r.allow_insecure_code_url = true;
	r.timeout_ms = 1234;
	r.env = env;
	r.n_env = 2;
	r.file_extension = "py";
	r.stdin_data = "in\0put";
	r.stdin_size = 6;
	r.files = files;
	r.n_files = 2;
	r.output_paths = outs;
	r.n_output_paths = 2;
	r.install_packages = pkgs;
	r.n_install_packages = 1;
	r.session_id = "s1";
	r.setup_script = "echo setup";
	r.workdir = "sub";
	r.metadata = metadata;
	r.n_metadata = 2;
	r.tty = true;
	r.rows = 40;
	r.cols = 120;
	r.options = &o;

	m = round_trip(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(m->runtime, "python");
	CU_ASSERT_STRING_EQUAL(m->code, "print(1)");
	CU_ASSERT_STRING_EQUAL(m->cmd, "ls");
	CU_ASSERT_STRING_EQUAL(m->code_url, "https://x/y.py");
	CU_ASSERT_STRING_EQUAL(m->code_hash, "ab12");
	CU_ASSERT_TRUE(m->allow_insecure_code_url);
	CU_ASSERT_EQUAL(m->timeout_ms, 1234);
	CU_ASSERT_EQUAL(m->n_env, 2);
	CU_ASSERT_STRING_EQUAL(MAP_GET(m->env, m->n_env, "A"), "1");
	CU_ASSERT_STRING_EQUAL(MAP_GET(m->env, m->n_env, "B"), "");
	CU_ASSERT_STRING_EQUAL(m->file_extension, "py");
	CU_ASSERT_EQUAL(m->stdin.len, 6);
	CU_ASSERT_EQUAL(memcmp(m->stdin.data, "in\0put", 6), 0);
	CU_ASSERT_EQUAL_FATAL(m->n_files, 2);
	CU_ASSERT_STRING_EQUAL(m->files[0]->key, "a.txt");
	CU_ASSERT_EQUAL(m->files[0]->value.len, 3);
	CU_ASSERT_STRING_EQUAL(m->files[1]->key, "run.sh");
	CU_ASSERT_EQUAL(m->files[1]->value.len, 11);
	CU_ASSERT_EQUAL(memcmp(m->files[1]->value.data, "#!/bin/sh\0x", 11), 0);
	/* only the file with a mode has a file_modes entry */
	CU_ASSERT_EQUAL_FATAL(m->n_file_modes, 1);
	CU_ASSERT_STRING_EQUAL(m->file_modes[0]->key, "run.sh");
	CU_ASSERT_EQUAL(m->file_modes[0]->value, 0755);
	CU_ASSERT_EQUAL_FATAL(m->n_output_paths, 2);
	CU_ASSERT_STRING_EQUAL(m->output_paths[0], "/sandbox/out.txt");
	CU_ASSERT_STRING_EQUAL(m->output_paths[1], "b.bin");
	CU_ASSERT_EQUAL_FATAL(m->n_install_packages, 1);
	CU_ASSERT_STRING_EQUAL(m->install_packages[0], "numpy");
	CU_ASSERT_STRING_EQUAL(m->session_id, "s1");
	CU_ASSERT_STRING_EQUAL(m->setup_script, "echo setup");
	CU_ASSERT_STRING_EQUAL(m->workdir, "sub");
	CU_ASSERT_EQUAL(m->n_metadata, 2);
	CU_ASSERT_STRING_EQUAL(MAP_GET(m->metadata, m->n_metadata, "user"), "u42");
	CU_ASSERT_STRING_EQUAL(MAP_GET(m->metadata, m->n_metadata, "trace"), "t-1");
	CU_ASSERT_TRUE(m->tty);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->window);
	CU_ASSERT_EQUAL(m->window->rows, 40);
	CU_ASSERT_EQUAL(m->window->cols, 120);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m->options);
	CU_ASSERT_STRING_EQUAL(m->options->network, "filtered");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->options->network_filter);
	CU_ASSERT_EQUAL_FATAL(m->options->network_filter->n_whitelist, 2);
	CU_ASSERT_STRING_EQUAL(m->options->network_filter->whitelist[0], "^pypi\\.org$");
	CU_ASSERT_STRING_EQUAL(m->options->network_filter->whitelist[1], "files\\.pythonhosted\\.org");
	CU_ASSERT_EQUAL_FATAL(m->options->network_filter->n_blacklist, 1);
	CU_ASSERT_STRING_EQUAL(m->options->network_filter->blacklist[0], "evil");
	CU_ASSERT_DOUBLE_EQUAL(m->options->cpu_limit, 0.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(m->options->memory_limit, "256m");
	CU_ASSERT_EQUAL(m->options->pids_limit, 32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->options->readonly_root_fs);
	CU_ASSERT_FALSE(m->options->readonly_root_fs->value);
	CU_ASSERT_EQUAL(m->options->max_output_size, 4096);
	CU_ASSERT_EQUAL(m->options->n_secrets, 1);
	CU_ASSERT_STRING_EQUAL(MAP_GET(m->options->secrets, m->options->n_secrets, "TOKEN"), "s3cret");
	CU_ASSERT_STRING_EQUAL(m->options->image, "my:img");
	CU_ASSERT_STRING_EQUAL(m->options->sandbox_size, "64m");
	CU_ASSERT_STRING_EQUAL(m->options->tmp_size, "32m");
	CU_ASSERT_STRING_EQUAL(m->options->seccomp, "custom");
	CU_ASSERT_STRING_EQUAL(m->options->seccomp_profile, "{}");
	CU_ASSERT_TRUE(m->options->persist);
	CU_ASSERT_TRUE(m->options->log_network);
	isol8__v1__execute_request__free_unpacked(m, NULL);
}

/* A zero request is an empty message: every member the daemon's default. */
static void test_request_defaults(void)
{
	struct isol8_request r = ISOL8_REQUEST_INIT;
	struct isol8_options o = ISOL8_OPTIONS_INIT;
	Isol8__V1__ExecuteRequest *m = round_trip(&r);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(m->runtime, "");
	CU_ASSERT_STRING_EQUAL(m->code, "");
	CU_ASSERT_EQUAL(m->timeout_ms, 0);
	CU_ASSERT_EQUAL(m->n_env + m->n_files + m->n_file_modes + m->n_metadata + m->n_output_paths, 0);
	CU_ASSERT_EQUAL(m->stdin.len, 0);
	CU_ASSERT_PTR_NULL(m->options);
	CU_ASSERT_PTR_NULL(m->window);
	CU_ASSERT_FALSE(m->tty);
	isol8__v1__execute_request__free_unpacked(m, NULL);

	/* zero options: an options message of defaults, no filter, no
	 * readonly_root_fs (-1 is a default too); one size given is a window */
	o.readonly_root_fs = -1;
	r.options = &o;
	r.cols = 100;
	m = round_trip(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->options);
	CU_ASSERT_PTR_NULL(m->options->network_filter);
	CU_ASSERT_PTR_NULL(m->options->readonly_root_fs);
	CU_ASSERT_EQUAL(m->options->n_secrets, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->window);
	CU_ASSERT_EQUAL(m->window->rows, 0);
	CU_ASSERT_EQUAL(m->window->cols, 100);
	isol8__v1__execute_request__free_unpacked(m, NULL);

	o.readonly_root_fs = 1;
	m = round_trip(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->options->readonly_root_fs);
	CU_ASSERT_TRUE(m->options->readonly_root_fs->value);
	isol8__v1__execute_request__free_unpacked(m, NULL);

	/* what the request means is the daemon's to judge: no runtime and no
	 * code is still a request */
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.file_extension = NULL;
	m = round_trip(&r);
	CU_ASSERT_PTR_NOT_NULL(m);
	if (m != NULL)
		isol8__v1__execute_request__free_unpacked(m, NULL);
}

static void test_request_errors(void)
{
	static const struct isol8_kv env_bad_key[] = {{"A", "1"}, {NULL, "2"}};
	static const struct isol8_kv env_bad_value[] = {{"A", NULL}};
	static const struct isol8_kv meta_bad[] = {{NULL, "x"}};
	static const struct isol8_kv secret_bad[] = {{"TOKEN", NULL}};
	static const struct isol8_file file_no_path[] = {{"a", "x", 1, 0}, {NULL, "y", 1, 0}};
	static const struct isol8_file file_no_data[] = {{"a.txt", NULL, 3, 0}};
	static const struct isol8_file file_empty[] = {{"empty", NULL, 0, 0}};
	static const char *const outs[] = {"a", NULL};
	static const char *const wl[] = {NULL};
	struct isol8_options o = ISOL8_OPTIONS_INIT;
	struct isol8_request r = ISOL8_REQUEST_INIT;
	Isol8__V1__ExecuteRequest *m;

	expect_invalid(NULL, "request is NULL");
	r.n_env = 2;
	expect_invalid(&r, "env is NULL but its count is 2");
	r.env = env_bad_key;
	expect_invalid(&r, "env[1].key is NULL");
	r.env = env_bad_value;
	r.n_env = 1;
	expect_invalid(&r, "env[0].value (A) is NULL");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.metadata = meta_bad;
	r.n_metadata = 1;
	expect_invalid(&r, "metadata[0].key is NULL");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.stdin_size = 4;
	expect_invalid(&r, "stdin_data is NULL but stdin_size is 4");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.files = file_no_path;
	r.n_files = 2;
	expect_invalid(&r, "files[1].path is NULL");
	r.files = file_no_data;
	r.n_files = 1;
	expect_invalid(&r, "files[0].data (a.txt) is NULL but its size is 3");
	r.files = NULL;
	expect_invalid(&r, "files is NULL but its count is 1");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.output_paths = outs;
	r.n_output_paths = 2;
	expect_invalid(&r, "output_paths[1] is NULL");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.n_install_packages = 1;
	expect_invalid(&r, "install_packages is NULL but its count is 1");
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.options = &o;
	o.secrets = secret_bad;
	o.n_secrets = 1;
	expect_invalid(&r, "options.secrets[0].value (TOKEN) is NULL");
	o = (struct isol8_options)ISOL8_OPTIONS_INIT;
	o.whitelist = wl;
	o.n_whitelist = 1;
	expect_invalid(&r, "options.whitelist[0] is NULL");
	o = (struct isol8_options)ISOL8_OPTIONS_INIT;
	o.n_blacklist = 3;
	expect_invalid(&r, "options.blacklist is NULL but its count is 3");
	o = (struct isol8_options)ISOL8_OPTIONS_INIT;
	o.readonly_root_fs = 3;
	expect_invalid(&r, "options.readonly_root_fs must be -1 or 0 (default), 1 (read-only) or 2 (writable), not 3");

	/* an empty file may have no data */
	r = (struct isol8_request)ISOL8_REQUEST_INIT;
	r.files = file_empty;
	r.n_files = 1;
	m = round_trip(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->n_files, 1);
	CU_ASSERT_EQUAL(m->files[0]->value.len, 0);
	isol8__v1__execute_request__free_unpacked(m, NULL);
}

/* ---------------------------------------------------------------- results */

static void test_result_every_field(void)
{
	Isol8__V1__ExecuteResult m = ISOL8__V1__EXECUTE_RESULT__INIT;
	Isol8__V1__ResourceUsage usage = ISOL8__V1__RESOURCE_USAGE__INIT;
	Isol8__V1__EngineTimings t = ISOL8__V1__ENGINE_TIMINGS__INIT;
	Isol8__V1__ExecuteResult__FilesEntry f0 = ISOL8__V1__EXECUTE_RESULT__FILES_ENTRY__INIT, *files[] = {&f0};
	Isol8__V1__NetworkLogEntry l0 = ISOL8__V1__NETWORK_LOG_ENTRY__INIT, l1 = ISOL8__V1__NETWORK_LOG_ENTRY__INIT;
	Isol8__V1__NetworkLogEntry *logs[] = {&l0, &l1};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *r = NULL;

	m.stdout = (ProtobufCBinaryData){5, (uint8_t *)"a\0bcd"};
	m.stderr = (ProtobufCBinaryData){3, (uint8_t *)"err"};
	m.exit_code = 137;
	m.duration_ms = 42;
	m.truncated = true;
	m.timed_out = true;
	m.execution_id = "e-1";
	m.runtime = "python";
	m.timestamp = "2026-01-02T03:04:05.678Z";
	m.container_id = "c0ffee";
	f0.key = "/sandbox/out.bin";
	f0.value = (ProtobufCBinaryData){4, (uint8_t *)"\x01\0\x02\x03"};
	m.n_files = 1;
	m.files = files;
	usage.cpu_user_ms = 11;
	usage.cpu_system_ms = 12;
	usage.max_rss_kb = 13;
	m.resource_usage = &usage;
	m.session_id = "s1";
	m.signal = 9;
	m.oom_killed = true;
	t.queue_us = 1;
	t.acquire_us = 2;
	t.cold = true;
	t.prestarted = true;
	t.exec_us = 3;
	t.first_output_us = -1;
	t.release_us = 5;
	m.timings = &t;
	m.state_reset = true;
	l0.timestamp = "2026-01-02T03:04:06Z";
	l0.method = "CONNECT";
	l0.host = "pypi.org";
	l0.allowed = true;
	l0.duration_ms = 7;
	l1.timestamp = "2026-01-02T03:04:07Z";
	l1.method = "GET";
	l1.host = "evil.example";
	l1.path = "/x";
	m.n_network_logs = 2;
	m.network_logs = logs;

	CU_ASSERT_EQUAL_FATAL(isol8_result_from_proto(&r, &m, &err), 0);
	CU_ASSERT_EQUAL(r->stdout_size, 5);
	CU_ASSERT_EQUAL(memcmp(r->stdout_data, "a\0bcd", 5), 0);
	CU_ASSERT_EQUAL(r->stdout_data[5], '\0');
	CU_ASSERT_EQUAL(r->stderr_size, 3);
	CU_ASSERT_STRING_EQUAL(r->stderr_data, "err");
	CU_ASSERT_EQUAL(r->exit_code, 137);
	CU_ASSERT_EQUAL(r->signal, 9);
	CU_ASSERT_TRUE(r->timed_out);
	CU_ASSERT_TRUE(r->truncated);
	CU_ASSERT_TRUE(r->oom_killed);
	CU_ASSERT_TRUE(r->state_reset);
	CU_ASSERT_EQUAL(r->duration_ms, 42);
	CU_ASSERT_STRING_EQUAL(r->execution_id, "e-1");
	CU_ASSERT_STRING_EQUAL(r->runtime, "python");
	CU_ASSERT_STRING_EQUAL(r->timestamp, "2026-01-02T03:04:05.678Z");
	CU_ASSERT_STRING_EQUAL(r->container_id, "c0ffee");
	CU_ASSERT_STRING_EQUAL(r->session_id, "s1");
	CU_ASSERT_EQUAL_FATAL(r->n_files, 1);
	CU_ASSERT_STRING_EQUAL(r->files[0].path, "/sandbox/out.bin");
	CU_ASSERT_EQUAL(r->files[0].size, 4);
	CU_ASSERT_EQUAL(memcmp(r->files[0].data, "\x01\0\x02\x03", 4), 0);
	CU_ASSERT_EQUAL(r->files[0].data[4], '\0');
	CU_ASSERT_TRUE(r->has_usage);
	CU_ASSERT_EQUAL(r->cpu_user_ms, 11);
	CU_ASSERT_EQUAL(r->cpu_system_ms, 12);
	CU_ASSERT_EQUAL(r->max_rss_kb, 13);
	CU_ASSERT_EQUAL(r->timings.queue_us, 1);
	CU_ASSERT_EQUAL(r->timings.acquire_us, 2);
	CU_ASSERT_EQUAL(r->timings.exec_us, 3);
	CU_ASSERT_EQUAL(r->timings.first_output_us, -1);
	CU_ASSERT_EQUAL(r->timings.release_us, 5);
	CU_ASSERT_TRUE(r->timings.cold);
	CU_ASSERT_TRUE(r->timings.prestarted);
	CU_ASSERT_EQUAL_FATAL(r->n_network_logs, 2);
	CU_ASSERT_STRING_EQUAL(r->network_logs[0].timestamp, "2026-01-02T03:04:06Z");
	CU_ASSERT_STRING_EQUAL(r->network_logs[0].method, "CONNECT");
	CU_ASSERT_STRING_EQUAL(r->network_logs[0].host, "pypi.org");
	CU_ASSERT_PTR_NULL(r->network_logs[0].path); /* CONNECT has none */
	CU_ASSERT_TRUE(r->network_logs[0].allowed);
	CU_ASSERT_EQUAL(r->network_logs[0].duration_ms, 7);
	CU_ASSERT_STRING_EQUAL(r->network_logs[1].path, "/x");
	CU_ASSERT_FALSE(r->network_logs[1].allowed);
	isol8_result_free(r);
}

/* An empty result: empty (NUL-terminated) output, no session, no usage. */
static void test_result_empty(void)
{
	Isol8__V1__ExecuteResult m = ISOL8__V1__EXECUTE_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *r = NULL;

	CU_ASSERT_EQUAL_FATAL(isol8_result_from_proto(&r, &m, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->stdout_data);
	CU_ASSERT_STRING_EQUAL(r->stdout_data, "");
	CU_ASSERT_EQUAL(r->stdout_size, 0);
	CU_ASSERT_STRING_EQUAL(r->stderr_data, "");
	CU_ASSERT_STRING_EQUAL(r->execution_id, "");
	CU_ASSERT_PTR_NULL(r->session_id);
	CU_ASSERT_FALSE(r->has_usage);
	CU_ASSERT_EQUAL(r->n_files + r->n_network_logs, 0);
	isol8_result_free(r);
	isol8_result_free(NULL);
}

static void test_sessions_info(void)
{
	Isol8__V1__SessionInfo s0 = ISOL8__V1__SESSION_INFO__INIT, *ss[] = {&s0};
	Isol8__V1__ListSessionsResult list = ISOL8__V1__LIST_SESSIONS_RESULT__INIT;
	Isol8__V1__InfoResult info = ISOL8__V1__INFO_RESULT__INIT;
	Isol8__V1__InfoResult__Image img = ISOL8__V1__INFO_RESULT__IMAGE__INIT, *imgs[] = {&img};
	Isol8__V1__InfoResult__Sandboxes sb = ISOL8__V1__INFO_RESULT__SANDBOXES__INIT;
	Isol8__V1__InfoResult__KeptSandbox k = ISOL8__V1__INFO_RESULT__KEPT_SANDBOX__INIT, *kept[] = {&k};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_info *out = NULL;
	struct isol8_info *i = NULL;
	size_t n = 99;

	CU_ASSERT_EQUAL(isol8_sessions_from_proto(&out, &n, &list, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(out);
	s0.id = "s1";
	s0.runtime = "bash";
	s0.created_at = "2026-01-01T00:00:00Z";
	s0.last_used_at = "2026-01-01T00:00:01Z";
	s0.busy = true;
	s0.container_id = "c1";
	s0.idle_ms = 5;
	list.n_sessions = 1;
	list.sessions = ss;
	CU_ASSERT_EQUAL_FATAL(isol8_sessions_from_proto(&out, &n, &list, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(out[0].id, "s1");
	CU_ASSERT_STRING_EQUAL(out[0].runtime, "bash");
	CU_ASSERT_STRING_EQUAL(out[0].created_at, "2026-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(out[0].last_used_at, "2026-01-01T00:00:01Z");
	CU_ASSERT_STRING_EQUAL(out[0].container_id, "c1");
	CU_ASSERT_TRUE(out[0].busy);
	CU_ASSERT_EQUAL(out[0].idle_ms, 5);
	isol8_session_infos_free(out, n);

	info.version = "0.1.0";
	info.instance_id = "i1";
	info.docker_version = "24.0";
	info.docker_api_version = "1.43";
	img.runtime = "python";
	img.image = "isol8:python";
	img.present = true;
	info.n_images = 1;
	info.images = imgs;
	info.active_executions = 3;
	sb.strategy = "fast";
	sb.live = 1, sb.clean = 2, sb.in_use = 3, sb.starting = 4, sb.resetting = 5, sb.kept = 6;
	sb.removing = 7, sb.pools = 8, sb.created = 10, sb.reused = 11, sb.resets_failed = 12;
	sb.replaced = 13, sb.sessions = 14;
	info.sandboxes = &sb;
	k.container_id = "k1";
	k.runtime = "node";
	info.n_kept = 1;
	info.kept = kept;
	CU_ASSERT_EQUAL_FATAL(isol8_info_from_proto(&i, &info, &err), 0);
	CU_ASSERT_STRING_EQUAL(i->version, "0.1.0");
	CU_ASSERT_STRING_EQUAL(i->instance_id, "i1");
	CU_ASSERT_STRING_EQUAL(i->docker_version, "24.0");
	CU_ASSERT_STRING_EQUAL(i->docker_api_version, "1.43");
	CU_ASSERT_EQUAL_FATAL(i->n_images, 1);
	CU_ASSERT_STRING_EQUAL(i->images[0].runtime, "python");
	CU_ASSERT_STRING_EQUAL(i->images[0].image, "isol8:python");
	CU_ASSERT_TRUE(i->images[0].present);
	CU_ASSERT_FALSE(i->images[0].up_to_date);
	CU_ASSERT_EQUAL(i->active_executions, 3);
	CU_ASSERT_STRING_EQUAL(i->sandboxes.strategy, "fast");
	CU_ASSERT_EQUAL(i->sandboxes.live + i->sandboxes.clean + i->sandboxes.in_use + i->sandboxes.starting +
				i->sandboxes.resetting + i->sandboxes.kept + i->sandboxes.removing + i->sandboxes.pools,
			36);
	CU_ASSERT_EQUAL(i->sandboxes.sessions, 14);
	CU_ASSERT_EQUAL(i->sandboxes.created, 10);
	CU_ASSERT_EQUAL(i->sandboxes.reused, 11);
	CU_ASSERT_EQUAL(i->sandboxes.resets_failed, 12);
	CU_ASSERT_EQUAL(i->sandboxes.replaced, 13);
	CU_ASSERT_EQUAL_FATAL(i->n_kept, 1);
	CU_ASSERT_STRING_EQUAL(i->kept[0].container_id, "k1");
	CU_ASSERT_STRING_EQUAL(i->kept[0].runtime, "node");
	isol8_info_free(i);

	/* no sandboxes message: an empty strategy */
	info.sandboxes = NULL;
	CU_ASSERT_EQUAL_FATAL(isol8_info_from_proto(&i, &info, &err), 0);
	CU_ASSERT_STRING_EQUAL(i->sandboxes.strategy, "");
	isol8_info_free(i);
}

/* Cleanup's counts, and its one list of errors split by what each names. */
static void test_cleanup(void)
{
	static char *errors[] = {"session s1: busy", "container abc: in use", "image isol8:python: in use",
				 "no such thing: odd", "session s2: gone"};
	static char *kept[] = {"k1", "k2"};
	Isol8__V1__CleanupResult m = ISOL8__V1__CLEANUP_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_cleanup_result *r = NULL;

	m.removed_sessions = 1, m.failed_sessions = 2;
	m.removed_containers = 3, m.failed_containers = 4;
	m.removed_images = 5, m.failed_images = 6;
	m.n_errors = 5;
	m.errors = errors;
	m.n_kept_containers = 2;
	m.kept_containers = kept;
	CU_ASSERT_EQUAL_FATAL(isol8_cleanup_from_proto(&r, &m, &err), 0);
	CU_ASSERT_EQUAL(r->sessions.removed, 1);
	CU_ASSERT_EQUAL(r->sessions.failed, 2);
	CU_ASSERT_EQUAL(r->containers.removed, 3);
	CU_ASSERT_EQUAL(r->containers.failed, 4);
	CU_ASSERT_EQUAL(r->images.removed, 5);
	CU_ASSERT_EQUAL(r->images.failed, 6);
	CU_ASSERT_EQUAL_FATAL(r->sessions.n_errors, 2);
	CU_ASSERT_STRING_EQUAL(r->sessions.errors[0], "session s1: busy");
	CU_ASSERT_STRING_EQUAL(r->sessions.errors[1], "session s2: gone");
	CU_ASSERT_EQUAL_FATAL(r->containers.n_errors, 2);
	CU_ASSERT_STRING_EQUAL(r->containers.errors[0], "container abc: in use");
	CU_ASSERT_STRING_EQUAL(r->containers.errors[1], "no such thing: odd");
	CU_ASSERT_EQUAL_FATAL(r->images.n_errors, 1);
	CU_ASSERT_STRING_EQUAL(r->images.errors[0], "image isol8:python: in use");
	CU_ASSERT_EQUAL_FATAL(r->n_kept_containers, 2);
	CU_ASSERT_STRING_EQUAL(r->kept_containers[1], "k2");
	isol8_cleanup_result_free(r);

	m = (Isol8__V1__CleanupResult)ISOL8__V1__CLEANUP_RESULT__INIT;
	CU_ASSERT_EQUAL_FATAL(isol8_cleanup_from_proto(&r, &m, &err), 0);
	CU_ASSERT_EQUAL(r->sessions.n_errors + r->containers.n_errors + r->images.n_errors + r->n_kept_containers, 0);
	isol8_cleanup_result_free(r);
}

/* ---------------------------------------------------------------- events */

static void test_events(void)
{
	Isol8__V1__ExecuteEvent m = ISOL8__V1__EXECUTE_EVENT__INIT;
	Isol8__V1__ExecuteResult exit = ISOL8__V1__EXECUTE_RESULT__INIT;
	struct isol8_event_store store = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_error status = {ISOL8_E_ABORTED, "session s1 is busy"};
	struct isol8_event ev;

	m.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT;
	m.stdout = (ProtobufCBinaryData){4, (uint8_t *)"hi\0!"};
	m.phase = "code";
	CU_ASSERT_EQUAL(isol8_event_from_proto(&store, &m, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_STDOUT);
	CU_ASSERT_EQUAL(ev.size, 4);
	CU_ASSERT_EQUAL(memcmp(ev.data, "hi\0!", 4), 0);
	CU_ASSERT_EQUAL(ev.data[4], '\0');
	CU_ASSERT_STRING_EQUAL(ev.phase, "code");
	CU_ASSERT_EQUAL(ev.code, 0);

	m.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR;
	m.stderr = (ProtobufCBinaryData){12, (uint8_t *)"installing.."};
	m.phase = "setup";
	CU_ASSERT_EQUAL(isol8_event_from_proto(&store, &m, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_STDERR);
	CU_ASSERT_STRING_EQUAL(ev.data, "installing..");
	CU_ASSERT_STRING_EQUAL(ev.phase, "setup");

	/* the daemon's word on what ended the run: code 0, the exit follows */
	m.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_ERROR;
	m.error = "EXECUTION TIMED OUT";
	m.phase = "";
	CU_ASSERT_EQUAL(isol8_event_from_proto(&store, &m, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_ERROR);
	CU_ASSERT_STRING_EQUAL(ev.data, "EXECUTION TIMED OUT");
	CU_ASSERT_EQUAL(ev.size, strlen("EXECUTION TIMED OUT"));
	CU_ASSERT_EQUAL(ev.code, 0);
	CU_ASSERT_STRING_EQUAL(ev.phase, "code");

	m.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT;
	exit.exit_code = 137;
	exit.timed_out = true;
	m.exit = &exit;
	CU_ASSERT_EQUAL(isol8_event_from_proto(&store, &m, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_EXIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev.result);
	CU_ASSERT_EQUAL(ev.result->exit_code, 137);
	CU_ASSERT_TRUE(ev.result->timed_out);
	CU_ASSERT_EQUAL(ev.size, 0);

	/* a kind a newer isol8d might send is skipped */
	m.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT__NOT_SET;
	CU_ASSERT_EQUAL(isol8_event_from_proto(&store, &m, &ev, &err), 0);

	/* a failed call's status: the last event, with its code */
	CU_ASSERT_EQUAL(isol8_event_from_status(&store, &status, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_ERROR);
	CU_ASSERT_EQUAL(ev.code, ISOL8_E_ABORTED);
	CU_ASSERT_STRING_EQUAL(ev.data, "session s1 is busy");
	CU_ASSERT_EQUAL(err.code, 0);
	isol8_event_store_release(&store);
}

/* ---------------------------------------------------------------- targets */

static void test_targets(void)
{
	static const struct {
		const char *text, *target;
		bool tls;
	} good[] = {
		{"unix:/run/x.sock", "unix:/run/x.sock", false},
		{"localhost:7000", "localhost:7000", false},
		{"http://10.0.0.1:80/", "10.0.0.1:80", false},
		{"HTTPS://isol8.example:443", "isol8.example:443", true},
		{"[::1]:9", "[::1]:9", false},
	};
	static const struct {
		const char *text, *message;
	} bad[] = {
		{"unix:", "target: \"unix:\" has no path"},
		{"host", "target: \"host\" needs a port (HOST:PORT)"},
		{"h:0", "target: \"h:0\" is not HOST:PORT, http://HOST:PORT or unix:/PATH"},
		{"ftp://h:1", "target: \"ftp://h:1\": only http://, https:// and unix: are known"},
	};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char buf[256];
	bool tls;

	for (size_t i = 0; i < ISOL8_TESTS_LEN(good); i++) {
		CU_ASSERT_EQUAL(isol8_target_parse("target", good[i].text, buf, sizeof(buf), &tls, &err), 0);
		CU_ASSERT_STRING_EQUAL(buf, good[i].target);
		CU_ASSERT_EQUAL(tls, good[i].tls);
	}
	for (size_t i = 0; i < ISOL8_TESTS_LEN(bad); i++) {
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_target_parse("target", bad[i].text, buf, sizeof(buf), &tls, &err),
				-ISOL8_E_INVALID);
		CU_ASSERT_STRING_EQUAL(err.message, bad[i].message);
	}
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_target_local(buf, sizeof(buf), 1000, "/tmp/my.sock", "/run/user/1000", &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "unix:/tmp/my.sock");
	CU_ASSERT_EQUAL(isol8_target_local(buf, sizeof(buf), 1000, "", "/run/user/1000", &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "unix:/run/user/1000/isol8/isol8.sock");
	CU_ASSERT_EQUAL(isol8_target_local(buf, sizeof(buf), 1000, NULL, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "unix:/tmp/isol8-1000/isol8.sock");
	CU_ASSERT_EQUAL(isol8_target_local(buf, sizeof(buf), 0, NULL, "/run/user/0", &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "unix:/run/isol8/isol8.sock");
	memset(buf, 'x', 150);
	buf[0] = '/';
	buf[150] = '\0';
	{
		char out[256];
		CU_ASSERT_EQUAL(isol8_target_local(out, sizeof(out), 1000, buf, NULL, &err), -ISOL8_E_INVALID);
		CU_ASSERT_STRING_EQUAL(err.message, "the daemon's socket path is too long (at most 107 bytes; set "
						    "ISOL8_SOCKET to a shorter one)");
	}
}

static void test_deadline(void)
{
	CU_ASSERT_EQUAL(isol8_client_execute_deadline(0), 0);
	CU_ASSERT_EQUAL(isol8_client_execute_deadline(-5), 0);
	CU_ASSERT_EQUAL(isol8_client_execute_deadline(1000), 1000 + ISOL8_CLIENT_DEADLINE_MARGIN_MS);
	CU_ASSERT_EQUAL(ISOL8_CLIENT_DEADLINE_MARGIN_MS, 300000);
	CU_ASSERT_EQUAL(isol8_client_execute_deadline(INT_MAX), 0);
	CU_ASSERT_EQUAL(isol8_client_execute_deadline((int64_t)1 << 40), 0);
	CU_ASSERT_STRING_EQUAL(isol8_version(), ISOL8_VERSION);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"request: every member", test_request_every_member},
		{"request: defaults", test_request_defaults},
		{"request: errors name the member", test_request_errors},
		{"result: every field", test_result_every_field},
		{"result: empty", test_result_empty},
		{"sessions and info", test_sessions_info},
		{"cleanup", test_cleanup},
		{"events", test_events},
		{"targets", test_targets},
		{"deadline and version", test_deadline},
	};

	return isol8_test_run("lib_convert", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
