/* Unit tests of a run's inputs (server/engine/inputs.c): code or cmd, the
 * workdir as the original resolves it, file and output paths that stay
 * inside /sandbox, the custom seccomp profile's shape, and the Exec of the
 * program and of the setup script. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "docker/seccomp.h"
#include "engine/engine_internal.h"
#include "engine/options.h"
#include "runner.h"

static Isol8__V1__ExecuteRequest request(const char *code)
{
	Isol8__V1__ExecuteRequest req;
	isol8__v1__execute_request__init(&req);
	req.runtime = "bash";
	req.code = (char *)code;
	return req;
}

static void expect_error(const Isol8__V1__ExecuteRequest *req, int code, const char *text)
{
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_options_resolve(req, &o, &err), -code);
	CU_ASSERT_EQUAL(err.code, code);
	if (strstr(err.message, text) == NULL)
		fprintf(stderr, "\n  \"%s\" does not contain \"%s\"\n", err.message, text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, text));
}

static void expect_workdir(const char *workdir, const char *resolved)
{
	Isol8__V1__ExecuteRequest req = request("pwd");
	struct isol8_exec_options o;
	struct isol8_error err = ISOL8_ERROR_INIT;

	req.workdir = (char *)workdir;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.workdir, resolved);
}

static void test_workdir(void)
{
	Isol8__V1__ExecuteRequest req = request("pwd");

	expect_workdir("", "/sandbox");
	expect_workdir("sub", "/sandbox/sub");
	expect_workdir("sub/", "/sandbox/sub");
	expect_workdir("./a//b/.", "/sandbox/a/b");
	expect_workdir("/sandbox/a/../b", "/sandbox/b");
	expect_workdir("/sandbox", "/sandbox");
	expect_workdir("a/..", "/sandbox");
	expect_workdir("/sandbox/../sandbox/x", "/sandbox/x");
	static const char *const outside[] = {"..", "/", "/etc", "/sandboxes", "/sandbox/../tmp", "a/../../x",
					      "../../../../../../etc"};
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(outside); i++) {
		req.workdir = (char *)outside[i];
		expect_error(&req, ISOL8_E_INVALID, "workdir: Working directory must be inside /sandbox");
	}
}

static void test_paths(void)
{
	char out[ISOL8_SANDBOX_PATH_MAX];
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_inputs_file_path("files", "a/b.txt", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/sandbox/a/b.txt");
	CU_ASSERT_EQUAL(isol8_inputs_file_path("files", "/sandbox/x", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/sandbox/x");
	static const char *const bad[] = {"", "/etc/passwd", "/tmp/x", "../x", "a/../b", "a//b", "./a", "a/.",
					  "/sandbox", "/sandbox/", "/sandbox/../etc", "/sandboxx/a", "a/"};
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(bad); i++) {
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_inputs_file_path("output_paths", bad[i], out, sizeof(out), &err),
				-ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "output_paths: "));
	}
	char longp[ISOL8_SANDBOX_PATH_MAX + 8];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_inputs_file_path("files", longp, out, sizeof(out), &err), -ISOL8_E_INVALID);
}

static void test_transfer_paths(void)
{
	static const struct {
		const char *path, *message;
	} bad[] = {
		{"", "path: empty (give an absolute path under /sandbox or /tmp)"},
		{"relative", "path: \"relative\" is not absolute (give a path under /sandbox or /tmp)"},
		{"/sandbox/../etc/passwd", "path: \"/sandbox/../etc/passwd\" is not normalized (an empty, \".\" or "
					   "\"..\" component, or a trailing \"/\")"},
		{"/tmp//x", "path: \"/tmp//x\" is not normalized (an empty, \".\" or \"..\" component, or a trailing "
			    "\"/\")"},
		{"/sandbox/a/", "path: \"/sandbox/a/\" is not normalized (an empty, \".\" or \"..\" component, or a "
				"trailing \"/\")"},
		{"/sandbox/./a", "path: \"/sandbox/./a\" is not normalized (an empty, \".\" or \"..\" component, or a "
				 "trailing \"/\")"},
		{"/etc/passwd", "path: \"/etc/passwd\" is outside /sandbox and /tmp"},
		{"/sandbox", "path: \"/sandbox\" is outside /sandbox and /tmp"},
		{"/tmpx/a", "path: \"/tmpx/a\" is outside /sandbox and /tmp"},
	};
	static const char *const good[] = {"/sandbox/a", "/sandbox/a/b.txt", "/tmp/x", "/tmp/.hidden/..x"};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char longp[ISOL8_SANDBOX_PATH_MAX + 8];

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(good); i++)
		CU_ASSERT_EQUAL(isol8_inputs_transfer_path("path", good[i], &err), 0);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(bad); i++) {
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_inputs_transfer_path("path", bad[i].path, &err), -ISOL8_E_INVALID);
		CU_ASSERT_STRING_EQUAL(err.message, bad[i].message);
	}
	memcpy(longp, "/tmp/", 5);
	memset(longp + 5, 'a', sizeof(longp) - 6);
	longp[sizeof(longp) - 1] = '\0';
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_inputs_transfer_path("path", longp, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "path: longer than 1023 bytes");
}

static void test_request_inputs(void)
{
	Isol8__V1__ExecuteRequest req = request("");
	Isol8__V1__ExecuteRequest__FilesEntry entry = ISOL8__V1__EXECUTE_REQUEST__FILES_ENTRY__INIT;
	Isol8__V1__ExecuteRequest__FilesEntry *entries[] = {&entry};
	char *outs[] = {"/etc/shadow"};

	expect_error(&req, ISOL8_E_INVALID, "code: empty");
	req.cmd = "echo";
	req.code = "echo";
	expect_error(&req, ISOL8_E_INVALID, "code and cmd: give one of them, not both");
	req = request("true");
	entry.key = "../x";
	req.files = entries;
	req.n_files = 1;
	expect_error(&req, ISOL8_E_INVALID, "files: \"../x\"");
	req = request("true");
	req.output_paths = outs;
	req.n_output_paths = 1;
	expect_error(&req, ISOL8_E_INVALID, "output_paths: \"/etc/shadow\" is outside /sandbox");
}

static void test_seccomp_profile_shape(void)
{
	Isol8__V1__ExecuteRequest req = request("true");
	Isol8__V1__ExecutionOptions opts;
	char why[128];

	CU_ASSERT_EQUAL(isol8_seccomp_profile_check(isol8_seccomp_strict_profile, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(isol8_seccomp_profile_check("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", why, sizeof(why)), 0);
	isol8__v1__execution_options__init(&opts);
	req.options = &opts;
	opts.seccomp = "custom";
	opts.seccomp_profile = "{not json";
	expect_error(&req, ISOL8_E_INVALID, "options.seccomp_profile: not valid JSON");
	opts.seccomp_profile = "[1]";
	expect_error(&req, ISOL8_E_INVALID, "options.seccomp_profile: not a JSON object");
	opts.seccomp_profile = "{\"syscalls\":[]}";
	expect_error(&req, ISOL8_E_INVALID, "options.seccomp_profile: no \"defaultAction\"");
	opts.seccomp_profile = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}";
	expect_error(&req, ISOL8_E_INVALID, "options.seccomp_profile: \"syscalls\" is not an array");
}

static void test_exec_specs(void)
{
	Isol8__V1__ExecuteRequest req = request("");
	Isol8__V1__ExecuteRequest__FilesEntry entry = ISOL8__V1__EXECUTE_REQUEST__FILES_ENTRY__INIT;
	Isol8__V1__ExecuteRequest__FilesEntry *entries[] = {&entry};
	struct isol8_exec_options o;
	struct isol8_exec_spec spec;
	struct isol8_error err = ISOL8_ERROR_INIT;

	req.cmd = "echo hi";
	req.workdir = "w";
	req.setup_script = "touch x";
	req.stdin = (ProtobufCBinaryData){3, (uint8_t *)"abc"};
	entry.key = "in.txt";
	entry.value = (ProtobufCBinaryData){1, (uint8_t *)"x"};
	req.files = entries;
	req.n_files = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	/* the program: bash -c, no code file, the files went with the setup */
	CU_ASSERT_EQUAL_FATAL(isol8_exec_spec_build(&req, &o, &spec, &err), 0);
	CU_ASSERT_EQUAL(spec.exec.n_argv, 3);
	CU_ASSERT_STRING_EQUAL(spec.exec.argv[0], "bash");
	CU_ASSERT_STRING_EQUAL(spec.exec.argv[2], "echo hi");
	CU_ASSERT_EQUAL(spec.exec.n_files, 0);
	CU_ASSERT_STRING_EQUAL(spec.exec.cwd, "/sandbox/w");
	CU_ASSERT_FALSE(spec.exec.keep_detached);
	CU_ASSERT_EQUAL(spec.exec.stdin.len, 3);
	isol8_exec_spec_release(&spec);
	/* the setup script: the files, no stdin, detached processes live on */
	CU_ASSERT_EQUAL_FATAL(isol8_exec_spec_setup(&req, &o, &spec, &err), 0);
	CU_ASSERT_STRING_EQUAL(spec.exec.argv[2], "touch x");
	CU_ASSERT_EQUAL(spec.exec.n_files, 1);
	CU_ASSERT_STRING_EQUAL(spec.exec.files[0]->path, "/sandbox/in.txt");
	CU_ASSERT_TRUE(spec.exec.keep_detached);
	CU_ASSERT_EQUAL(spec.exec.stdin.len, 0);
	CU_ASSERT_STRING_EQUAL(spec.exec.cwd, "/sandbox/w");
	isol8_exec_spec_release(&spec);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"workdir as the original resolves it", test_workdir},
		{"file paths stay inside /sandbox", test_paths},
		{"file transfer paths", test_transfer_paths},
		{"code, cmd, files, output_paths", test_request_inputs},
		{"custom seccomp profile shape", test_seccomp_profile_shape},
		{"program and setup Exec", test_exec_specs},
	};

	return isol8_test_run("inputs", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
