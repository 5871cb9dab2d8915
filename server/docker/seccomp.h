/*
 * The built-in seccomp profile (seccomp/strict.json, Docker's profile format),
 * compiled into the library. Pass it as isol8_container_spec.seccomp.
 *
 * Default allow; EPERM for the kernel-facing calls a sandbox never needs
 * (mount family, namespaces incl. clone with CLONE_NEW* flags, module and
 * kexec loading, bpf, ptrace and process_vm_*, keyrings, io_uring, clock
 * setting, swap, reboot, ...); ENOSYS for clone3 so libc falls back to clone;
 * socket() and socketpair() only for AF_UNIX, AF_INET and AF_INET6, any other
 * family (netlink, packet, vsock, ...) EAFNOSUPPORT.
 */
#ifndef ISOL8_DOCKER_SECCOMP_H
#define ISOL8_DOCKER_SECCOMP_H

#include <stddef.h>

/* NUL-terminated JSON text of the profile. */
extern const char isol8_seccomp_strict_profile[];

/* Whether json has the shape of a Docker seccomp profile (an object with a
 * defaultAction string and, when present, a syscalls array): 0, or -1 with
 * the reason in why. */
int isol8_seccomp_profile_check(const char *json, char *why, size_t size);

#endif
