/* Where the local daemon listens: shared by isol8d and its clients. */
#ifndef ISOL8_PATHS_H
#define ISOL8_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The local daemon's unix socket path for a user: root -> /run/isol8/isol8.sock;
 * others -> $XDG_RUNTIME_DIR/isol8/isol8.sock, or /tmp/isol8-<uid>/isol8.sock
 * without XDG_RUNTIME_DIR. `override` (e.g. $ISOL8_SOCKET) wins when set and
 * non-empty. Returns -1 if it does not fit in buf or in a socket address. */
int isol8_default_socket_path(char *buf, size_t size, uid_t uid, const char *xdg_runtime_dir,
			      const char *override);

/* Copies the directory part of path into buf ("." if none). */
void isol8_dirname(const char *path, char *buf, size_t size);

/* Whether the daemon whose socket is at path (a container's isol8.owner
 * label) may be alive: only "nothing there" (connection refused, no such
 * file, not a directory) says it is gone; a socket we may not open, one too
 * busy to accept, or a path that is not absolute counts as alive. Used by
 * every cleanup, so that none removes a live daemon's sandboxes. */
bool isol8_daemon_socket_alive(const char *path);

#endif
