/*
 * The SSRF guard (guard.h): address ranges as IPv4-mapped IPv6 prefixes,
 * the non-public ones in one table with the word a refusal uses.
 */
#include "egress/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* What is not the public internet, and what a refusal calls it. */
static const struct {
	const char *range;
	const char *kind;
} blocked[] = {
	{"0.0.0.0/8", "an unspecified"},         {"10.0.0.0/8", "a private"},
	{"100.64.0.0/10", "a shared (carrier NAT)"}, {"127.0.0.0/8", "a loopback"},
	{"169.254.0.0/16", "a link-local"},      {"172.16.0.0/12", "a private"},
	{"192.0.0.0/24", "a reserved"},          {"192.0.2.0/24", "a documentation"},
	{"192.168.0.0/16", "a private"},         {"198.18.0.0/15", "a reserved"},
	{"198.51.100.0/24", "a documentation"},  {"203.0.113.0/24", "a documentation"},
	{"224.0.0.0/4", "a multicast"},          {"240.0.0.0/4", "a reserved"},
	{"::/128", "an unspecified"},            {"::1/128", "a loopback"},
	{"::/96", "a reserved"},                 {"100::/64", "a reserved"},
	{"2001:db8::/32", "a documentation"},    {"fc00::/7", "a private"},
	{"fe80::/10", "a link-local"},           {"fec0::/10", "a reserved"},
	{"ff00::/8", "a multicast"},
};

static bool in_range(const uint8_t addr[16], const struct isol8_net_range *r)
{
	int full = r->prefix / 8, rest = r->prefix % 8;

	if (memcmp(addr, r->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ r->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool host_bits_clear(const struct isol8_net_range *r)
{
	for (int bit = r->prefix; bit < 128; bit++)
		if (r->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int isol8_net_range_parse(const char *field, const char *text, struct isol8_net_range *out,
			  struct isol8_error *err)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	struct in_addr v4;
	int max, prefix;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, &v4) == 1) {
		memcpy(out->addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(out->addr + 12, &v4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		max = 128;
	} else {
		goto bad;
	}
	prefix = max;
	if (slash != NULL) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || p > max)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" needs a prefix length of 0 to %d", field, text,
					       max);
		prefix = (int)p;
	}
	out->prefix = prefix + (max == 32 ? 96 : 0);
	if (!host_bits_clear(out))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" has address bits set past its prefix length", field, text);
	return 0;
bad:
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "%s: \"%s\" is not an IP address or range (e.g. \"127.0.0.1\", \"10.0.0.0/8\", "
			       "\"fd00::/8\")",
			       field, text);
}

int isol8_net_guard_allow(struct isol8_net_guard *g, const char *field, const char *text,
			  struct isol8_error *err)
{
	if (g->n_allowed >= ISOL8_NET_GUARD_MAX_RANGES)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: at most %d ranges", field, ISOL8_NET_GUARD_MAX_RANGES);
	if (isol8_net_range_parse(field, text, &g->allowed[g->n_allowed], err) < 0)
		return -err->code;
	g->n_allowed++;
	return 0;
}

/* The address as 16 bytes; an IPv4 one as IPv4-mapped. */
static bool address_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		memcpy(out, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* An IPv4 address carried inside IPv6 (NAT64 64:ff9b::/96, 6to4
 * 2002::/16) is judged as that IPv4 address. */
static void unwrap_embedded_v4(uint8_t addr[16])
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t v4[4];

	if (memcmp(addr, nat64, sizeof(nat64)) == 0)
		memcpy(v4, addr + 12, 4);
	else if (addr[0] == 0x20 && addr[1] == 0x02)
		memcpy(v4, addr + 2, 4);
	else
		return;
	memcpy(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(addr + 12, v4, 4);
}

static void format_address(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *src = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
						     : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, src, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

bool isol8_net_guard_permits(const struct isol8_net_guard *g, const struct sockaddr *addr, char *why,
			     size_t why_size)
{
	char text[INET6_ADDRSTRLEN];
	uint8_t bytes[16];

	if (!address_bytes(addr, bytes)) {
		snprintf(why, why_size, "address family %d is not IP", (int)addr->sa_family);
		return false;
	}
	for (size_t i = 0; i < g->n_allowed; i++)
		if (in_range(bytes, &g->allowed[i]))
			return true;
	unwrap_embedded_v4(bytes);
	for (size_t i = 0; i < g->n_allowed; i++)
		if (in_range(bytes, &g->allowed[i]))
			return true;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(blocked); i++) {
		struct isol8_net_range r;
		struct isol8_error ignored = {0};
		if (isol8_net_range_parse("", blocked[i].range, &r, &ignored) == 0 && in_range(bytes, &r)) {
			format_address(addr, text, sizeof(text));
			snprintf(why, why_size, "%s is %s address", text, blocked[i].kind);
			return false;
		}
	}
	return true;
}
