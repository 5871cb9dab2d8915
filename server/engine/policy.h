/*
 * The operator's policy: what a caller that is not trusted may ask for.
 * Ceilings on the limits a request sets (memory, CPU, pids, timeout,
 * output, tmpfs sizes) and permissions for the options that weaken the
 * sandbox (host network, seccomp unconfined or custom, a writable root, an
 * image of the caller's choosing). A request past it is refused with
 * ISOL8_E_PERMISSION (PERMISSION_DENIED) naming the option and the limit.
 *
 * Who is trusted: the owner of the daemon's unix socket when
 * local_is_trusted (the default), nobody else. A trusted caller is held only
 * to the limits every request has (options.c).
 *
 * The daemon's own defaults (isol8_exec_defaults) are the operator's choice:
 * a permission is needed only for what a request asks beyond them, and the
 * configuration loader refuses defaults above the ceilings.
 */
#ifndef ISOL8_POLICY_H
#define ISOL8_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/options.h"

struct isol8_policy {
	int64_t max_timeout_ms;
	int64_t max_memory;
	int64_t max_nano_cpus;
	int64_t max_pids;
	int64_t max_output;
	int64_t max_sandbox_size;
	int64_t max_tmp_size;
	/* the sizes as the operator wrote them ("8g"), for messages; "" to show bytes */
	char max_memory_text[24], max_sandbox_text[24], max_tmp_text[24];
	bool allow_host_network;
	bool allow_seccomp_unconfined;
	bool allow_seccomp_custom;
	bool allow_writable_root;
	/* images a request may name in options.image (exact names); owned by
	 * whoever filled the struct (the engine keeps its own copy) */
	char **allowed_images;
	size_t n_allowed_images;
	bool local_is_trusted;
};

/* The safe built-in policy: memory 8g, CPU the host's CPUs, pids 4096,
 * timeout 1 h, output 256 MiB, tmpfs 8g each; no host network, no
 * unconfined or custom seccomp, no writable root, no other image; the
 * local socket's owner trusted. */
void isol8_policy_init(struct isol8_policy *p);

/* Copies src into dst with its own image list (isol8_policy_release frees it). */
int isol8_policy_copy(struct isol8_policy *dst, const struct isol8_policy *src, struct isol8_error *err);
void isol8_policy_release(struct isol8_policy *p);

/* Whether a caller is held to the policy: local says it came over the
 * daemon's unix socket. */
bool isol8_policy_applies(const struct isol8_policy *p, bool local);

/* Checks the resolved options of req (opts, resolved over defaults d)
 * against the policy. */
int isol8_policy_check(const struct isol8_policy *p, const struct isol8_exec_defaults *d,
		       const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
		       struct isol8_error *err);

#endif
