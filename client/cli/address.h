/*
 * Where the CLI connects: --host normalised to a gRPC target, and the local
 * daemon's unix socket path. Pure functions: the uid and environment are
 * parameters so tests can choose them.
 */
#ifndef ISOL8_CLI_ADDRESS_H
#define ISOL8_CLI_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "isol8/error.h"
#include "lib/target.h"

/* Longest unix socket path (sun_path holds 108 bytes with the NUL). */
#define ISOL8_CLI_SOCKET_PATH_MAX ISOL8_TARGET_SOCKET_PATH_MAX

/* --host to a gRPC target: "HOST:PORT", "[V6]:PORT", "http://HOST:PORT[/]"
 * (scheme stripped), "https://HOST:PORT[/]" (stripped, *tls set) or
 * "unix:/path" (kept). A port is required. */
int isol8_cli_host_target(const char *host, char *buf, size_t size, bool *tls,
			  struct isol8_error *err);

/* The local daemon's socket: env_socket (ISOL8_SOCKET) when set and not
 * empty; else /run/isol8/isol8.sock for root; else
 * $XDG_RUNTIME_DIR/isol8/isol8.sock when that is an absolute path; else
 * /tmp/isol8-UID/isol8.sock (isol8_default_socket_path, shared with isol8d).
 * *private_dir is set when the directory is one of
 * ours (to be created 0700 and checked to be owned by uid). */
int isol8_cli_socket_path(char *buf, size_t size, uid_t uid, const char *env_socket,
			  const char *xdg_runtime_dir, bool *private_dir, struct isol8_error *err);

#endif
