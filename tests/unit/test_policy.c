/* Unit tests of the engine's configured defaults (options.c) and the
 * operator's policy (policy.c): what an unset option becomes, who is held
 * to the policy, and every refusal with its exact text. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/options.h"
#include "engine/policy.h"
#include "runner.h"

static Isol8__V1__ExecuteRequest request(Isol8__V1__ExecutionOptions *o)
{
	Isol8__V1__ExecuteRequest req;

	isol8__v1__execute_request__init(&req);
	isol8__v1__execution_options__init(o);
	req.runtime = "python";
	req.code = "print(1)";
	req.options = o;
	return req;
}

static void operator_defaults(struct isol8_exec_defaults *d)
{
	isol8_exec_defaults_init(d);
	d->timeout_ms = 5000;
	d->max_output = 4096;
	d->container.memory_bytes = 256LL << 20;
	d->container.nano_cpus = 500000000LL;
	d->container.pids_limit = 32;
	d->container.sandbox_size = 64LL << 20;
	d->container.tmp_size = 32LL << 20;
	d->container.readonly_rootfs = false;
	d->container.network = ISOL8_NET_HOST;
	d->container.seccomp = ISOL8_SECCOMP_CUSTOM;
	d->container.seccomp_profile = "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}";
}

/* opts has want's limits, sandbox settings, network and seccomp mode. */
static void assert_resolved(const struct isol8_exec_options *opts, const struct isol8_exec_defaults *want)
{
	CU_ASSERT_EQUAL(opts->timeout_ms, want->timeout_ms);
	CU_ASSERT_EQUAL(opts->max_output, want->max_output);
	CU_ASSERT_EQUAL(opts->container.memory_bytes, want->container.memory_bytes);
	CU_ASSERT_EQUAL(opts->container.nano_cpus, want->container.nano_cpus);
	CU_ASSERT_EQUAL(opts->container.pids_limit, want->container.pids_limit);
	CU_ASSERT_EQUAL(opts->container.sandbox_size, want->container.sandbox_size);
	CU_ASSERT_EQUAL(opts->container.tmp_size, want->container.tmp_size);
	CU_ASSERT_EQUAL(opts->container.readonly_rootfs, want->container.readonly_rootfs);
	CU_ASSERT_EQUAL(opts->container.network, want->container.network);
	CU_ASSERT_EQUAL(opts->container.seccomp, want->container.seccomp);
}

static void test_defaults_fill_unset_options(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	struct isol8_exec_defaults d;
	struct isol8_exec_options opts;
	struct isol8_error err = ISOL8_ERROR_INIT;

	operator_defaults(&d);
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(&req, &d, &opts, &err), 0);
	assert_resolved(&opts, &d);
	CU_ASSERT_PTR_EQUAL(opts.container.seccomp_profile, d.container.seccomp_profile);
	CU_ASSERT_STRING_EQUAL(opts.container.runtime, "python");
	CU_ASSERT_PTR_NULL(opts.container.image);
}

static void test_request_wins_over_defaults(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	Google__Protobuf__BoolValue ro = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
	struct isol8_exec_defaults d;
	struct isol8_exec_options opts;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char key_a[ISOL8_POOL_KEY_MAX], key_b[ISOL8_POOL_KEY_MAX];

	operator_defaults(&d);
	req.timeout_ms = 100;
	o.memory_limit = "1g";
	o.cpu_limit = 1;
	o.pids_limit = 8;
	o.max_output_size = 10;
	o.sandbox_size = "2m";
	o.tmp_size = "3m";
	o.network = "none";
	o.seccomp = "strict";
	ro.value = true;
	o.readonly_root_fs = &ro;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(&req, &d, &opts, &err), 0);
	assert_resolved(&opts, &(struct isol8_exec_defaults){
		.timeout_ms = 100,
		.max_output = 10,
		.container = {.memory_bytes = 1LL << 30, .nano_cpus = 1000000000LL, .pids_limit = 8,
			      .sandbox_size = 2LL << 20, .tmp_size = 3LL << 20, .readonly_rootfs = true,
			      .network = ISOL8_NET_NONE, .seccomp = ISOL8_SECCOMP_STRICT},
	});
	CU_ASSERT_PTR_NULL(opts.container.seccomp_profile);  /* the default's profile does not follow */

	/* the built-in defaults are those of isol8_options_resolve: same pool key */
	isol8_exec_defaults_init(&d);
	req = request(&o);
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(&req, &d, &opts, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_container_key(&opts.container, key_a, sizeof(key_a), &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &opts, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_container_key(&opts.container, key_b, sizeof(key_b), &err), 0);
	CU_ASSERT_STRING_EQUAL(key_a, key_b);
}

static void test_cpu_within_the_host(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	struct isol8_exec_options opts;
	struct isol8_error err = ISOL8_ERROR_INIT;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char want[128];

	o.cpu_limit = (double)cpus + 1;
	snprintf(want, sizeof(want), "options.cpu_limit: %ld is more than this host's %ld CPUs", cpus + 1, cpus);
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &opts, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	isol8_error_clear(&err);
	o.cpu_limit = (double)cpus;
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &opts, &err), 0);
	o.cpu_limit = 0.001;
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &opts, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "options.cpu_limit: 0.001 is out of range (a number of cores, at least 0.01)");
}

static void test_who_is_held(void)
{
	struct isol8_policy p;

	isol8_policy_init(&p);
	CU_ASSERT_FALSE(isol8_policy_applies(&p, true));
	CU_ASSERT_TRUE(isol8_policy_applies(&p, false));
	p.local_is_trusted = false;
	CU_ASSERT_TRUE(isol8_policy_applies(&p, true));
}

static void test_safe_builtin_policy(void)
{
	struct isol8_policy p;

	isol8_policy_init(&p);
	CU_ASSERT_EQUAL(p.max_timeout_ms, 3600000);
	CU_ASSERT_EQUAL(p.max_memory, 8LL << 30);
	CU_ASSERT_EQUAL(p.max_nano_cpus, sysconf(_SC_NPROCESSORS_ONLN) * 1000000000LL);
	CU_ASSERT_EQUAL(p.max_pids, 4096);
	CU_ASSERT_EQUAL(p.max_output, 256LL << 20);
	CU_ASSERT_EQUAL(p.max_sandbox_size, 8LL << 30);
	CU_ASSERT_EQUAL(p.max_tmp_size, 8LL << 30);
	CU_ASSERT_FALSE(p.allow_host_network || p.allow_seccomp_unconfined || p.allow_seccomp_custom ||
			p.allow_writable_root);
	CU_ASSERT_EQUAL(p.n_allowed_images, 0);
	CU_ASSERT_TRUE(p.local_is_trusted);
}

/* Resolves req over the built-in defaults and checks it against p: 0, or
 * ISOL8_E_PERMISSION with exactly `want`. */
static void expect_policy(const struct isol8_policy *p, Isol8__V1__ExecuteRequest *req, const char *want)
{
	struct isol8_exec_defaults d;
	struct isol8_exec_options opts;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8_exec_defaults_init(&d);
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(req, &d, &opts, &err), 0);
	if (want == NULL) {
		CU_ASSERT_EQUAL(isol8_policy_check(p, &d, req, &opts, &err), 0);
		if (err.code)
			fprintf(stderr, "\n  unexpected: %s\n", err.message);
		return;
	}
	CU_ASSERT_EQUAL(isol8_policy_check(p, &d, req, &opts, &err), -ISOL8_E_PERMISSION);
	if (strcmp(err.message, want) != 0)
		fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, err.message);
	CU_ASSERT_STRING_EQUAL(err.message, want);
}

static void test_ceilings(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	struct isol8_policy p;

	/* at the built-in defaults of a request: within every ceiling */
	isol8_policy_init(&p);
	p.max_timeout_ms = 60000;
	p.max_nano_cpus = 1000000000LL;
	p.max_pids = 64;
	p.max_output = 1 << 20;
	p.max_sandbox_size = 512LL << 20;
	snprintf(p.max_sandbox_text, sizeof(p.max_sandbox_text), "512m");
	p.max_tmp_size = 256LL << 20;
	p.max_tmp_text[0] = '\0';
	expect_policy(&p, &req, NULL);

	req.timeout_ms = 60001;
	expect_policy(&p, &req, "timeout_ms: 60001 is above this server's limit of 60000 ms");
	req.timeout_ms = 60000;
	expect_policy(&p, &req, NULL);
	o.memory_limit = "16g";
	expect_policy(&p, &req, "options.memory_limit: 16g is above this server's limit of 8g");
	o.memory_limit = "8g";
	expect_policy(&p, &req, NULL);
	p.max_nano_cpus = 500000000LL;
	o.cpu_limit = 1;
	expect_policy(&p, &req, "options.cpu_limit: 1 is above this server's limit of 0.5");
	o.cpu_limit = 0.5;
	o.pids_limit = 65;
	expect_policy(&p, &req, "options.pids_limit: 65 is above this server's limit of 64");
	o.pids_limit = 0;
	o.max_output_size = (1 << 20) + 1;
	expect_policy(&p, &req, "options.max_output_size: 1048577 is above this server's limit of 1048576 bytes");
	o.max_output_size = 0;
	o.sandbox_size = "513m";
	expect_policy(&p, &req, "options.sandbox_size: 513m is above this server's limit of 512m");
	o.sandbox_size = "";
	o.tmp_size = "257m";
	expect_policy(&p, &req, "options.tmp_size: 257m is above this server's limit of 256m");
	p.max_tmp_size = (3LL << 20) / 2;
	o.tmp_size = "2m";
	expect_policy(&p, &req, "options.tmp_size: 2m is above this server's limit of 1536k");
	p.max_tmp_size = 1500000;
	expect_policy(&p, &req, "options.tmp_size: 2m is above this server's limit of 1500000");
	o.tmp_size = "1m";
	expect_policy(&p, &req, NULL);
}

static void test_permissions(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	Google__Protobuf__BoolValue ro = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
	struct isol8_policy p, copy;
	char *images[] = {"python:3.12-slim"};
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8_policy_init(&p);
	o.network = "host";
	expect_policy(&p, &req, "options.network: \"host\" is not allowed by this server's policy (policy.allowHostNetwork)");
	p.allow_host_network = true;
	expect_policy(&p, &req, NULL);
	o.network = "";
	o.seccomp = "unconfined";
	expect_policy(&p, &req,
		      "options.seccomp: \"unconfined\" is not allowed by this server's policy (policy.allowSeccompUnconfined)");
	p.allow_seccomp_unconfined = true;
	expect_policy(&p, &req, NULL);
	o.seccomp = "custom";
	o.seccomp_profile = "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}";
	expect_policy(&p, &req,
		      "options.seccomp: \"custom\" with the caller's profile is not allowed by this server's policy "
		      "(policy.allowSeccompCustom)");
	p.allow_seccomp_custom = true;
	expect_policy(&p, &req, NULL);
	o.seccomp = "";
	ro.value = false;
	o.readonly_root_fs = &ro;
	expect_policy(&p, &req,
		      "options.readonly_root_fs: a writable root file system is not allowed by this server's policy "
		      "(policy.allowWritableRoot)");
	p.allow_writable_root = true;
	expect_policy(&p, &req, NULL);
	o.readonly_root_fs = NULL;
	o.image = "evil:latest";
	expect_policy(&p, &req,
		      "options.image: \"evil:latest\" is not one of this server's allowed images (policy.allowedImages)");
	p.allowed_images = images;
	p.n_allowed_images = 1;
	expect_policy(&p, &req,
		      "options.image: \"evil:latest\" is not one of this server's allowed images (policy.allowedImages)");
	o.image = "python:3.12-slim";
	CU_ASSERT_EQUAL_FATAL(isol8_policy_copy(&copy, &p, &err), 0);
	CU_ASSERT_PTR_NOT_EQUAL(copy.allowed_images, p.allowed_images);
	expect_policy(&copy, &req, NULL);
	isol8_policy_release(&copy);
	CU_ASSERT_EQUAL(copy.n_allowed_images, 0);
}

/* What the daemon's own defaults give needs no permission; asking beyond them does. */
static void test_defaults_need_no_permission(void)
{
	Isol8__V1__ExecutionOptions o;
	Isol8__V1__ExecuteRequest req = request(&o);
	struct isol8_exec_defaults d;
	struct isol8_exec_options opts;
	struct isol8_policy p;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8_policy_init(&p);
	operator_defaults(&d);  /* host network, writable root, custom seccomp */
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(&req, &d, &opts, &err), 0);
	CU_ASSERT_EQUAL(isol8_policy_check(&p, &d, &req, &opts, &err), 0);
	o.seccomp = "custom";
	o.seccomp_profile = "{\"defaultAction\": \"SCMP_ACT_LOG\"}";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve_with(&req, &d, &opts, &err), 0);
	CU_ASSERT_EQUAL(isol8_policy_check(&p, &d, &req, &opts, &err), -ISOL8_E_PERMISSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "policy.allowSeccompCustom"));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"defaults fill what a request leaves unset", test_defaults_fill_unset_options},
		{"a request's options win over the defaults", test_request_wins_over_defaults},
		{"options.cpu_limit within the host's CPUs", test_cpu_within_the_host},
		{"who is held to the policy", test_who_is_held},
		{"the built-in policy is safe", test_safe_builtin_policy},
		{"ceilings", test_ceilings},
		{"permissions", test_permissions},
		{"the daemon's defaults need no permission", test_defaults_need_no_permission},
	};

	return isol8_test_run("policy", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
