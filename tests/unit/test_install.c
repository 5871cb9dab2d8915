/* Unit tests of runtime packages (server/engine/install*.c): the names a
 * request may give, registry URLs and the rules made from their hosts,
 * each runtime's install Exec, the code's environment, and the Dockerfile
 * of a baked layer. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "egress/egress.h"
#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/install.h"
#include "engine/options.h"
#include "runner.h"

static const struct isol8_runtime_info *info(const char *name)
{
	return isol8_runtime_info_find(name);
}

static void expect_names(const char *runtime, bool bake, const char *const *names, size_t n, const char *want)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret = isol8_install_check_names("install_packages", names, n, info(runtime), bake, &err);

	if (want == NULL) {
		CU_ASSERT_EQUAL(ret, 0);
		if (ret != 0)
			fprintf(stderr, "\n  unexpected: %s\n", err.message);
		return;
	}
	CU_ASSERT_EQUAL(ret, -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	if (strcmp(err.message, want) != 0)
		fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, err.message);
}

static void test_names(void)
{
	static const char *const good[] = {"numpy", "requests[socks]>=2.31,<3", "@scope/pkg@^1.2", "a.b_c-d", "x==1.0",
					   "npm:chalk@5"};
	const char *one[1];
	char longest[ISOL8_INSTALL_NAME_MAX + 2];
	const char *many[ISOL8_INSTALL_MAX_PACKAGES + 1];

	expect_names("python", false, good, ISOL8_ARRAY_LEN(good), NULL);
	one[0] = "-r/etc/passwd";
	expect_names("python", false, one, 1,
		     "install_packages[0]: \"-r/etc/passwd\" starts with \"-\" (a package name, not an installer option)");
	one[0] = "";
	expect_names("node", false, one, 1, "install_packages[0]: empty package name");
	one[0] = "a b";
	expect_names("node", false, one, 1,
		     "install_packages[0]: \"a b\" has a character a package name cannot have (letters, digits and "
		     "._-@/:=<>!~^*+,[])");
	static const char *const shell[] = {"ok", "x;rm", "$(id)", "a'b", "a\"b", "a\\b", "a\nb", "a|b", "a&b"};
	for (size_t i = 1; i < ISOL8_ARRAY_LEN(shell); i++) {
		const char *two[] = {shell[0], shell[i]};
		struct isol8_error err = ISOL8_ERROR_INIT;
		CU_ASSERT_EQUAL(isol8_install_check_names("install_packages", two, 2, info("bun"), false, &err),
				-ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "install_packages[1]: "));
	}
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	one[0] = longest;
	expect_names("python", false, one, 1, "install_packages[0]: package name longer than 256 bytes");
	longest[ISOL8_INSTALL_NAME_MAX] = '\0';
	expect_names("python", false, one, 1, NULL);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(many); i++)
		many[i] = "p";
	expect_names("python", false, many, ISOL8_INSTALL_MAX_PACKAGES, NULL);
	expect_names("python", false, many, ISOL8_INSTALL_MAX_PACKAGES + 1, "install_packages: 65 packages, more than 64");
	one[0] = "jq";
	expect_names("bash", false, one, 1,
		     "install_packages: the bash runtime has no package installer (its root file system is read-only, "
		     "so apt cannot install): bake Debian packages into the image with `isol8 setup --bash PKG`");
	expect_names("bash", true, one, 1, NULL);
	one[0] = "jsr:@std/path";
	expect_names("deno", false, one, 1,
		     "install_packages[0]: \"jsr:@std/path\": deno installs npm packages only (a name or \"npm:NAME\")");
	one[0] = "chalk";
	expect_names("deno", false, one, 1, NULL);
	expect_names("deno", true, one, 1,
		     "install_packages: deno packages cannot be baked into the image (Deno's cache lives in DENO_DIR "
		     "on the sandbox's tmpfs): install them per run with `--install`");
	expect_names("bash", false, NULL, 0, NULL);
}

static void expect_host(const char *url, const char *host, bool plain)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char got[ISOL8_REGISTRY_HOST_MAX];
	bool http = !plain;

	CU_ASSERT_EQUAL_FATAL(isol8_registry_host("r", url, got, sizeof(got), &http, &err), 0);
	CU_ASSERT_STRING_EQUAL(got, host);
	CU_ASSERT_EQUAL(http, plain);
}

static void expect_bad_url(const char *url, const char *want)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char got[ISOL8_REGISTRY_HOST_MAX];
	bool http;

	CU_ASSERT_EQUAL(isol8_registry_host("r", url, got, sizeof(got), &http, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	if (strcmp(err.message, want) != 0)
		fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, err.message);
}

static void test_registry_urls(void)
{
	char rule[64];

	expect_host("https://pypi.org/simple", "pypi.org", false);
	expect_host("http://Mirror.Example:3141/simple/", "mirror.example", true);
	expect_host("https://[::1]:8443/", "::1", false);
	expect_host("https://registry.npmjs.org", "registry.npmjs.org", false);
	expect_bad_url("ftp://x/", "r: \"ftp://x/\" is not an http:// or https:// URL");
	expect_bad_url("https:///simple", "r: \"https:///simple\" has no host (or one too long)");
	expect_bad_url("https://u:p@x/", "r: \"https://u:p@x/\": user info in a registry URL is not taken");
	expect_bad_url("https://x/ y", "r: \"https://x/ y\" has a space, quote or control character");
	expect_bad_url("https://x/'", "r: \"https://x/'\" has a space, quote or control character");
	expect_bad_url("", "r: a URL of 1 to 512 bytes is needed");

	CU_ASSERT_EQUAL(isol8_registry_host_rule("files.pythonhosted.org", rule, sizeof(rule)), 0);
	CU_ASSERT_STRING_EQUAL(rule, "^files\\.pythonhosted\\.org$");
	CU_ASSERT_EQUAL(isol8_registry_host_rule("::1", rule, sizeof(rule)), 0);
	CU_ASSERT_STRING_EQUAL(rule, "^::1$");
	CU_ASSERT_EQUAL(isol8_registry_host_rule("a.b", rule, 6), -1);
}

static void test_packages_rules(void)
{
	static const char *const python[] = {"http://vm:3141/simple/", "https://files.example.org"};
	static const char *const bad[] = {"https://ok.example", "gopher://x"};
	struct isol8_engine_packages cfg = {0};
	struct isol8_packages p;
	struct isol8_error err = ISOL8_ERROR_INIT;
	const struct isol8_registries *r;

	CU_ASSERT_EQUAL_FATAL(isol8_packages_init(&p, NULL, &err), 0);
	r = &p.registries[ISOL8_RT_PYTHON];
	CU_ASSERT_EQUAL(r->n, 2);
	CU_ASSERT_STRING_EQUAL(r->urls[0], "https://pypi.org/simple");
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "pypi.org"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "files.pythonhosted.org"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "pypixorg"), ISOL8_EGRESS_NOT_WHITELISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "evil.pypi.org"), ISOL8_EGRESS_NOT_WHITELISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "pypi.org.evil"), ISOL8_EGRESS_NOT_WHITELISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(p.registries[ISOL8_RT_NODE].rules, "registry.npmjs.org"),
			ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(p.registries[ISOL8_RT_BASH].n, 0);
	isol8_packages_release(&p);

	cfg.registries[ISOL8_RT_PYTHON] = python;
	cfg.n_registries[ISOL8_RT_PYTHON] = 2;
	CU_ASSERT_EQUAL_FATAL(isol8_packages_init(&p, &cfg, &err), 0);
	r = &p.registries[ISOL8_RT_PYTHON];
	CU_ASSERT_TRUE(r->plain_http[0]);
	CU_ASSERT_FALSE(r->plain_http[1]);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "vm"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(r->rules, "pypi.org"), ISOL8_EGRESS_NOT_WHITELISTED);
	isol8_packages_release(&p);

	cfg.registries[ISOL8_RT_NODE] = bad;
	cfg.n_registries[ISOL8_RT_NODE] = 2;
	CU_ASSERT_EQUAL(isol8_packages_init(&p, &cfg, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "packages.registries.node[1]: \"gopher://x\" is not an http:// or https:// URL");
}

static void test_install_specs(void)
{
	static const char *const python[] = {"http://vm:3141/simple/"};
	struct isol8_engine_packages cfg = {0};
	struct isol8_packages p;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_exec_options opts = {0};
	struct isol8_install_spec install;
	struct isol8_exec_spec spec;
	Isol8__V1__ExecuteRequest req;
	char *names[] = {"six", "attrs==23.1"};
	char joined[1024] = "";

	cfg.registries[ISOL8_RT_PYTHON] = python;
	cfg.n_registries[ISOL8_RT_PYTHON] = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_packages_init(&p, &cfg, &err), 0);
	isol8__v1__execute_request__init(&req);
	req.install_packages = names;
	req.n_install_packages = 2;
	opts.timeout_ms = 5000;
	opts.max_output = 1000;
	CU_ASSERT_EQUAL_FATAL(isol8_install_spec_build(isol8_runtime_find("python"), &p.registries[ISOL8_RT_PYTHON], &req,
						       &opts, &spec, &install, &err),
			      0);
	for (size_t i = 0; i < spec.exec.n_argv; i++)
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i ? " " : "", spec.exec.argv[i]);
	CU_ASSERT_STRING_EQUAL(joined, "python3 -m pip install --user --no-input --no-cache-dir --disable-pip-version-check "
				       "--no-warn-script-location --progress-bar off --index-url http://vm:3141/simple/ "
				       "--trusted-host vm -- six attrs==23.1");
	CU_ASSERT_EQUAL(spec.exec.uid, 1000);
	CU_ASSERT_STRING_EQUAL(spec.exec.cwd, "/sandbox");
	CU_ASSERT_EQUAL(spec.exec.timeout_ms, 5000);
	CU_ASSERT_EQUAL(spec.exec.max_output_bytes, 1000);
	bool index = false, home = false;
	for (size_t i = 0; i < spec.exec.n_env; i++) {
		index = index || strcmp(spec.exec.env[i], "PIP_INDEX_URL=http://vm:3141/simple/") == 0;
		home = home || strcmp(spec.exec.env[i], "HOME=/sandbox") == 0;
	}
	CU_ASSERT_TRUE(index);
	CU_ASSERT_TRUE(home);
	isol8_exec_spec_release(&spec);
	isol8_install_spec_release(&install);

	/* deno: bare names get npm:, and its code the same registry */
	char *deno_names[] = {"chalk", "npm:ms@2"};
	req.install_packages = deno_names;
	CU_ASSERT_EQUAL_FATAL(isol8_install_spec_build(isol8_runtime_find("deno"), &p.registries[ISOL8_RT_DENO], &req,
						       &opts, &spec, &install, &err),
			      0);
	joined[0] = '\0';
	for (size_t i = 0; i < spec.exec.n_argv; i++)
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i ? " " : "", spec.exec.argv[i]);
	CU_ASSERT_STRING_EQUAL(joined, "deno cache --quiet npm:chalk npm:ms@2");
	isol8_exec_spec_release(&spec);
	isol8_install_spec_release(&install);
	CU_ASSERT_EQUAL_FATAL(isol8_exec_spec_interpreter(isol8_runtime_find("deno"), (const char *const[]){"deno", NULL},
							  &spec, &err),
			      0);
	size_t before = spec.n_env;
	CU_ASSERT_EQUAL(isol8_install_code_env(&p, isol8_runtime_find("deno"), &req, &spec, &err), 0);
	CU_ASSERT_EQUAL_FATAL(spec.n_env, before + 1);
	CU_ASSERT_STRING_EQUAL(spec.env[before], "NPM_CONFIG_REGISTRY=https://registry.npmjs.org");
	CU_ASSERT_EQUAL(isol8_install_code_env(&p, isol8_runtime_find("node"), &req, &spec, &err), 0);
	CU_ASSERT_EQUAL(spec.n_env, before + 1);
	isol8_exec_spec_release(&spec);

	/* bash has none */
	req.install_packages = names;
	CU_ASSERT_EQUAL(isol8_install_spec_build(isol8_runtime_find("bash"), &p.registries[ISOL8_RT_BASH], &req, &opts,
						 &spec, &install, &err),
			-ISOL8_E_INVALID);
	isol8_install_spec_release(&install);
	isol8_packages_release(&p);
}

static void test_options(void)
{
	Isol8__V1__ExecuteRequest req;
	Isol8__V1__ExecutionOptions o;
	struct isol8_exec_options opts;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *names[] = {"six"};

	isol8__v1__execute_request__init(&req);
	isol8__v1__execution_options__init(&o);
	req.runtime = "python";
	req.code = "import six";
	req.install_packages = names;
	req.n_install_packages = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &opts, &err), 0);
	/* network none: a filtered sandbox, but no rules and no proxy for the code */
	CU_ASSERT_EQUAL(opts.container.network, ISOL8_NET_FILTERED);
	CU_ASSERT_PTR_NULL(opts.rules);
	CU_ASSERT_FALSE(opts.proxy_env);
	isol8_exec_options_release(&opts);
	req.options = &o;
	o.network = "host";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &opts, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "install_packages: packages are installed through the filtered egress proxy, "
					    "never with network \"host\" (use network \"none\" or \"filtered\")");
	isol8_exec_options_release(&opts);
}

static void test_bake_dockerfile(void)
{
	static const char *const python[] = {"http://127.0.0.1:3141/simple/"};
	static const char *const names[] = {"numpy", "pandas>=2"};
	struct isol8_engine_packages cfg = {0};
	struct isol8_packages p;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *text = NULL;

	cfg.registries[ISOL8_RT_PYTHON] = python;
	cfg.n_registries[ISOL8_RT_PYTHON] = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_packages_init(&p, &cfg, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_install_bake_dockerfile("dependencies.python", info("python"),
							    &p.registries[ISOL8_RT_PYTHON], "isol8:python", names, 2,
							    &text, &err),
			      0);
	CU_ASSERT_STRING_EQUAL(text, "# Packages baked in by isol8 setup.\nFROM isol8:python\nUSER root\n"
				     "RUN python3 -m pip install --no-cache-dir --disable-pip-version-check "
				     "--no-warn-script-location --progress-bar off --index-url 'http://127.0.0.1:3141/simple/' "
				     "--trusted-host '127.0.0.1' -- 'numpy' 'pandas>=2' \n"
				     "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +\n");
	free(text);
	CU_ASSERT_EQUAL_FATAL(isol8_install_bake_dockerfile("x", info("node"), &p.registries[ISOL8_RT_NODE], "isol8:node",
							    names, 1, &text, &err),
			      0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "npm install --cache /tmp/isol8-npm"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--registry 'https://registry.npmjs.org' -- 'numpy'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "mv node_modules /node_modules"));
	free(text);
	static const char *const evil[] = {"x';id;'"};
	CU_ASSERT_EQUAL(isol8_install_bake_dockerfile("packages[0].packages", info("bash"), &p.registries[ISOL8_RT_BASH],
						      "isol8:bash", evil, 1, &text, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "packages[0].packages[0]: "));
	isol8_packages_release(&p);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"package names", test_names},
		{"registry URLs and host rules", test_registry_urls},
		{"registries and their compiled rules", test_packages_rules},
		{"install Exec per runtime", test_install_specs},
		{"options of a run that installs", test_options},
		{"baked layer's Dockerfile", test_bake_dockerfile},
	};

	return isol8_test_run("install", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
