/*
 * Execution options: the defaults, the limits, and the resolution of an
 * ExecuteRequest into checked typed values. Every validation error names the
 * request field it is about.
 */
#ifndef ISOL8_OPTIONS_H
#define ISOL8_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"
#include "runtime.h"

#define ISOL8_DEFAULT_TIMEOUT_MS 30000
#define ISOL8_MAX_TIMEOUT_MS (24 * 3600 * 1000LL)
#define ISOL8_DEFAULT_MEMORY (512LL << 20)
#define ISOL8_MIN_MEMORY (16LL << 20)
#define ISOL8_DEFAULT_NANO_CPUS 1000000000LL
#define ISOL8_DEFAULT_PIDS 64
#define ISOL8_MAX_PIDS 4096
#define ISOL8_DEFAULT_MAX_OUTPUT (1LL << 20)
#define ISOL8_MAX_OUTPUT_LIMIT (256LL << 20)
#define ISOL8_DEFAULT_SANDBOX_SIZE (512LL << 20)
#define ISOL8_DEFAULT_TMP_SIZE (256LL << 20)
/* What one execution carries to the sandbox in its request: code, files and
 * stdin together (the agent's frame limit less room for the rest). */
#define ISOL8_MAX_PAYLOAD ((4u << 20) - (64u << 10))
#define ISOL8_SANDBOX_UID 1000
#define ISOL8_SANDBOX_GID 1000

enum isol8_network { ISOL8_NET_NONE, ISOL8_NET_HOST, ISOL8_NET_FILTERED };
enum isol8_seccomp { ISOL8_SECCOMP_STRICT, ISOL8_SECCOMP_UNCONFINED, ISOL8_SECCOMP_CUSTOM };

struct isol8_exec_options {
	const struct isol8_runtime *runtime;
	char code_path[64];           /* "/sandbox/main.py" */
	int64_t timeout_ms;
	int64_t memory_bytes;
	int64_t nano_cpus;
	int64_t pids_limit;
	bool readonly_rootfs;
	int64_t max_output;
	int64_t sandbox_size;
	int64_t tmp_size;
	enum isol8_network network;
	enum isol8_seccomp seccomp;
	const char *seccomp_profile;  /* custom profile JSON (points into the request) */
	const char *image;            /* override, or NULL for the runtime's image */
	bool persist;
};

/* Parses "512m", "1g", "64k", "1048576" (bytes) into *out. */
int isol8_parse_size(const char *text, int64_t *out);

/* Fills opts from req with defaults for unset fields and checks every value.
 * Features not served yet are refused with ISOL8_E_UNIMPLEMENTED naming them. */
int isol8_options_resolve(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			  struct isol8_error *err);

#endif
