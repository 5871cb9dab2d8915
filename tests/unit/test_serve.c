/* Unit tests of `isol8 serve`'s settings: the port from the flag, then
 * $ISOL8_PORT, then $PORT, then 3000; the key from the flag or
 * $ISOL8_API_KEY and the refusal without one; bad values named; the next
 * free port; addresses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/serve_args.h"
#include "runner.h"

static int parse(struct isol8_serve_args *a, const struct isol8_serve_env *env, struct isol8_error *err, ...)
{
	char *argv[16] = {"serve"};
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *s; argc < 15 && (s = va_arg(ap, char *)) != NULL;)
		argv[argc++] = s;
	va_end(ap);
	isol8_error_clear(err);
	return isol8_serve_parse(a, argc, argv, env, err);
}

static void test_port_and_key(void)
{
	struct isol8_serve_env env = {NULL, NULL, "envkey"};
	struct isol8_serve_args a;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), 0);
	CU_ASSERT_EQUAL(a.port, 3000);
	CU_ASSERT_STRING_EQUAL(a.key, "envkey");
	CU_ASSERT_STRING_EQUAL(a.host, "0.0.0.0");
	CU_ASSERT_EQUAL(a.grpc_port, 0);
	CU_ASSERT_FALSE(a.debug);
	env.port = "8080";
	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), 0);
	CU_ASSERT_EQUAL(a.port, 8080);
	env.isol8_port = "9090";
	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), 0);
	CU_ASSERT_EQUAL(a.port, 9090);
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--port", "7000", "--key", "flagkey", "--host", "127.0.0.1", "--grpc-port",
			      "7001", "--debug", NULL),
			0);
	CU_ASSERT_EQUAL(a.port, 7000);
	CU_ASSERT_STRING_EQUAL(a.key, "flagkey");
	CU_ASSERT_STRING_EQUAL(a.host, "127.0.0.1");
	CU_ASSERT_EQUAL(a.grpc_port, 7001);
	CU_ASSERT_TRUE(a.debug);
	/* empty variables are unset */
	env = (struct isol8_serve_env){"", "", ""};
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--key", "k", NULL), 0);
	CU_ASSERT_EQUAL(a.port, 3000);
}

static void test_refusals(void)
{
	struct isol8_serve_env env = {NULL, NULL, NULL};
	struct isol8_serve_args a;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "isol8 serve needs an API key: pass --key KEY or set ISOL8_API_KEY (clients "
					    "then send \"Authorization: Bearer KEY\")");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--key", "", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--help", NULL), 0); /* help needs no key */
	CU_ASSERT_TRUE(a.help);
	env.api_key = "k";
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--port", "0", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--port: 0 is out of range (1 to 65535)");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--port", "70000", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--port: 70000 is out of range (1 to 65535)");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--grpc-port", "x", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--grpc-port: \"x\" is not a port (1 to 65535)");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--port", "4000", "--grpc-port", "4000", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--grpc-port: 4000 is the HTTP port too");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--host", "", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "--host: an empty address");
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "extra", NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "unexpected argument \"extra\"");
	env.isol8_port = "http";
	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "ISOL8_PORT: \"http\" is not a port (1 to 65535)");
	env.isol8_port = NULL;
	env.port = "-1";
	CU_ASSERT_EQUAL(parse(&a, &env, &err, NULL), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "PORT: \"-1\" is not a port (1 to 65535)");
	/* the flag wins over a bad variable */
	CU_ASSERT_EQUAL(parse(&a, &env, &err, "--port", "5000", NULL), 0);
}

static bool taken_below_3003(const char *host, int port)
{
	(void)host;
	return port >= 3003;
}

static bool none_free(const char *host, int port)
{
	(void)host;
	(void)port;
	return false;
}

static void test_ports(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(isol8_serve_next_free("0.0.0.0", 3001, 0, taken_below_3003), 3003);
	CU_ASSERT_EQUAL(isol8_serve_next_free("0.0.0.0", 3001, 3003, taken_below_3003), 3004);
	CU_ASSERT_EQUAL(isol8_serve_next_free("0.0.0.0", 3001, 0, none_free), 0);
	CU_ASSERT_EQUAL(isol8_serve_next_free("0.0.0.0", 65535, 0, taken_below_3003), 65535);
	CU_ASSERT_EQUAL(isol8_serve_next_free("0.0.0.0", 65536, 0, taken_below_3003), 0);
	isol8_serve_address("0.0.0.0", 3000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "0.0.0.0:3000");
	isol8_serve_address("::", 3000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[::]:3000");
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"port and key: flags, environment, defaults", test_port_and_key},
		{"refusals named", test_refusals},
		{"free ports and addresses", test_ports},
	};
	return isol8_test_run("serve", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
