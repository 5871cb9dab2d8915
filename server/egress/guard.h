/*
 * The SSRF guard: which resolved addresses isol8d may dial on a sandbox's
 * behalf (the egress proxy, remote code fetches). By default it refuses
 * every address that is not public: loopback, link-local (169.254.0.0/16,
 * where cloud metadata lives, and fe80::/10), private (10/8, 172.16/12,
 * 192.168/16, fc00::/7), shared (100.64/10), unspecified, multicast,
 * broadcast and reserved ranges, IPv4-mapped and NAT64 forms of them
 * included. The operator lets a range through explicitly (config
 * network.allowedRanges), e.g. "127.0.0.1" for a loopback fixture server or
 * "10.1.0.0/16" for an internal mirror. Pure: no I/O, no allocation after
 * isol8_net_guard_add.
 */
#ifndef ISOL8_EGRESS_GUARD_H
#define ISOL8_EGRESS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "isol8/error.h"

#define ISOL8_NET_GUARD_MAX_RANGES 64

/* An address range: an IPv4 one is stored as IPv4-mapped IPv6
 * (::ffff:a.b.c.d) with prefix + 96, so one comparison serves both. */
struct isol8_net_range {
	uint8_t addr[16];
	int prefix; /* 0..128 */
};

struct isol8_net_guard {
	struct isol8_net_range allowed[ISOL8_NET_GUARD_MAX_RANGES];
	size_t n_allowed;
};

/* "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8" into *out. ISOL8_E_INVALID
 * naming field and the text otherwise (a prefix past the family's bits,
 * host bits set past the prefix, anything not an address). */
int isol8_net_range_parse(const char *field, const char *text, struct isol8_net_range *out,
			  struct isol8_error *err);

/* Adds an allowed range (parsed as above); ISOL8_E_INVALID past
 * ISOL8_NET_GUARD_MAX_RANGES. */
int isol8_net_guard_allow(struct isol8_net_guard *g, const char *field, const char *text,
			  struct isol8_error *err);

/* Whether addr (AF_INET or AF_INET6) may be dialed: a public address, or
 * one inside an allowed range. When not, why gets the reason as the
 * refusal says it, e.g. "127.0.0.1 is a loopback address". */
bool isol8_net_guard_permits(const struct isol8_net_guard *g, const struct sockaddr *addr, char *why,
			     size_t why_size);

#endif
