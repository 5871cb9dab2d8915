/*
 * Where a client of isol8d connects: a target as a user writes it
 * ("HOST:PORT", "http://HOST:PORT", "https://HOST:PORT", "unix:/path")
 * normalised to a gRPC target, and the local daemon's socket. No RPC: the
 * CLI's --host is parsed here too (client/cli/address.c).
 */
#ifndef ISOL8_CLIENT_TARGET_H
#define ISOL8_CLIENT_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "isol8/error.h"

/* Longest unix socket path (sun_path holds 108 bytes with the NUL). */
#define ISOL8_TARGET_SOCKET_PATH_MAX 107

/* text to a gRPC target in buf: "HOST:PORT", "[V6]:PORT",
 * "http://HOST:PORT[/]" (scheme stripped), "https://HOST:PORT[/]" (stripped,
 * *tls set) or "unix:/path" (kept). A port is required. Errors are
 * ISOL8_E_INVALID and start with `what` (the name the user knows the text
 * by: "--host", "target"). */
int isol8_target_parse(const char *what, const char *text, char *buf, size_t size, bool *tls,
		       struct isol8_error *err);

/* "unix:" and the local daemon's socket for uid: env_socket ($ISOL8_SOCKET)
 * when set and not empty, else the default of base/paths.h (the one isol8d
 * listens on). */
int isol8_target_local(char *buf, size_t size, uid_t uid, const char *env_socket, const char *xdg_runtime_dir,
		       struct isol8_error *err);

#endif
