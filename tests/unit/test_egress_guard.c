/* Unit tests of the SSRF guard (server/egress/guard.c): every non-public
 * range refused with its reason, public addresses let through, allowed
 * ranges, embedded IPv4 forms, and the parse errors' exact text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "egress/guard.h"
#include "runner.h"

static struct sockaddr_storage address(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		CU_ASSERT_FATAL(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		CU_ASSERT_FATAL(inet_pton(AF_INET, text, &in->sin_addr) == 1);
	}
	return ss;
}

static void check(const struct isol8_net_guard *g, const char *addr, const char *want_why)
{
	struct sockaddr_storage ss = address(addr);
	char why[128] = "";
	bool ok = isol8_net_guard_permits(g, (const struct sockaddr *)&ss, why, sizeof(why));

	if (want_why == NULL) {
		if (!ok)
			fprintf(stderr, "refused %s: %s\n", addr, why);
		CU_ASSERT(ok);
	} else {
		CU_ASSERT(!ok);
		if (strcmp(why, want_why) != 0)
			fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", addr, why, want_why);
		CU_ASSERT_STRING_EQUAL(why, want_why);
	}
}

static void test_default_refusals(void)
{
	struct isol8_net_guard g = {0};

	check(&g, "127.0.0.1", "127.0.0.1 is a loopback address");
	check(&g, "127.8.9.10", "127.8.9.10 is a loopback address");
	check(&g, "169.254.169.254", "169.254.169.254 is a link-local address");
	check(&g, "10.1.2.3", "10.1.2.3 is a private address");
	check(&g, "172.31.255.255", "172.31.255.255 is a private address");
	check(&g, "192.168.0.1", "192.168.0.1 is a private address");
	check(&g, "100.100.0.1", "100.100.0.1 is a shared (carrier NAT) address");
	check(&g, "0.0.0.0", "0.0.0.0 is an unspecified address");
	check(&g, "224.0.0.1", "224.0.0.1 is a multicast address");
	check(&g, "255.255.255.255", "255.255.255.255 is a reserved address");
	check(&g, "::1", "::1 is a loopback address");
	check(&g, "::", ":: is an unspecified address");
	check(&g, "fe80::1", "fe80::1 is a link-local address");
	check(&g, "fd12::1", "fd12::1 is a private address");
	check(&g, "ff02::1", "ff02::1 is a multicast address");
}

static void test_embedded_ipv4(void)
{
	struct isol8_net_guard g = {0};

	check(&g, "::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address");
	check(&g, "::ffff:169.254.169.254", "::ffff:169.254.169.254 is a link-local address");
	check(&g, "64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe is a link-local address");
	check(&g, "2002:7f00:1::", "2002:7f00:1:: is a loopback address");
	check(&g, "::ffff:93.184.216.34", NULL);
}

static void test_public_passes(void)
{
	struct isol8_net_guard g = {0};

	check(&g, "93.184.216.34", NULL);
	check(&g, "172.32.0.1", NULL);
	check(&g, "2606:4700::1111", NULL);
	check(&g, "1.1.1.1", NULL);
}

static void test_allowed_ranges(void)
{
	struct isol8_net_guard g = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_net_guard_allow(&g, "network.allowedRanges[0]", "127.0.0.1", &err), 0);
	CU_ASSERT_EQUAL(isol8_net_guard_allow(&g, "network.allowedRanges[1]", "10.1.0.0/16", &err), 0);
	CU_ASSERT_EQUAL(isol8_net_guard_allow(&g, "network.allowedRanges[2]", "fd00::/8", &err), 0);
	check(&g, "127.0.0.1", NULL);
	check(&g, "::ffff:127.0.0.1", NULL);
	check(&g, "127.0.0.2", "127.0.0.2 is a loopback address");
	check(&g, "10.1.200.3", NULL);
	check(&g, "10.2.0.1", "10.2.0.1 is a private address");
	check(&g, "fd12::1", NULL);
	check(&g, "169.254.169.254", "169.254.169.254 is a link-local address");
}

static void parse_error(const char *text, const char *want)
{
	struct isol8_net_range r;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_net_range_parse("network.allowedRanges[0]", text, &r, &err), -ISOL8_E_INVALID);
	if (strcmp(err.message, want) != 0)
		fprintf(stderr, "got \"%s\"\n", err.message);
	CU_ASSERT_STRING_EQUAL(err.message, want);
}

static void test_parse_errors(void)
{
	parse_error("localhost", "network.allowedRanges[0]: \"localhost\" is not an IP address or range (e.g. "
				 "\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\")");
	parse_error("", "network.allowedRanges[0]: \"\" is not an IP address or range (e.g. \"127.0.0.1\", "
			"\"10.0.0.0/8\", \"fd00::/8\")");
	parse_error("10.0.0.0/33", "network.allowedRanges[0]: \"10.0.0.0/33\" needs a prefix length of 0 to 32");
	parse_error("10.0.0.0/", "network.allowedRanges[0]: \"10.0.0.0/\" needs a prefix length of 0 to 32");
	parse_error("10.0.0.0/-1", "network.allowedRanges[0]: \"10.0.0.0/-1\" needs a prefix length of 0 to 32");
	parse_error("::/129", "network.allowedRanges[0]: \"::/129\" needs a prefix length of 0 to 128");
	parse_error("10.0.0.1/8",
		    "network.allowedRanges[0]: \"10.0.0.1/8\" has address bits set past its prefix length");
}

static void test_range_limit(void)
{
	struct isol8_net_guard g = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;

	for (int i = 0; i < ISOL8_NET_GUARD_MAX_RANGES; i++)
		CU_ASSERT_EQUAL(isol8_net_guard_allow(&g, "r", "10.0.0.0/8", &err), 0);
	CU_ASSERT_EQUAL(isol8_net_guard_allow(&g, "r", "10.0.0.0/8", &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "r: at most 64 ranges");
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"default refusals", test_default_refusals}, {"embedded ipv4", test_embedded_ipv4},
		{"public passes", test_public_passes},       {"allowed ranges", test_allowed_ranges},
		{"parse errors", test_parse_errors},         {"range limit", test_range_limit},
	};
	return isol8_test_run("egress_guard", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
