/*
 * isol8-agent internals: the pieces of the in-sandbox agent (main.c is the
 * PID 1 loop; handler.c dispatches one connection; exec*.c, reset.c and
 * files.c serve the requests). See main.c for the design.
 */
#ifndef ISOL8_AGENT_H
#define ISOL8_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "frame/frame.h"

#define ISOL8_AGENT_VERSION ISOL8_VERSION

/* How long a connection may take to send its first frame, or the next chunk
 * of a file, before the handler gives up. */
#define AGENT_REQUEST_TIMEOUT_MS 30000
/* Bytes of a file sent per FileData frame. */
#define AGENT_FILE_CHUNK (256u * 1024u)

struct agent_config {
	const char *socket_path;
	const char *sandbox_dir; /* default cwd of an exec */
	mode_t sandbox_mode;     /* its mode at the start, which a reset restores */
	uid_t uid;               /* sandbox identity: default of exec and put_file, used by get_file */
	gid_t gid;
	pid_t agent_pid;         /* the PID 1 process, reported in Pong */
	const char *egress_socket; /* filtered sandbox: the proxy's socket the relay joins to, or NULL */
};

/* The egress relay (relay.c): 127.0.0.1:AGENT_RELAY_PORT joined to the
 * proxy's unix socket. agent_relay_listen makes the listening socket (fd,
 * or -1 with errno); agent_relay_spawn forks the relay on it (closing
 * close_fds in the child) and returns its pid, or -1; agent_relay_run is
 * its loop. */
#define AGENT_RELAY_PORT 8118
int agent_relay_listen(void);
pid_t agent_relay_spawn(int listen_fd, const char *egress_socket, const int *close_fds, size_t n_close);
int agent_relay_run(int listen_fd, const char *egress_socket);

/* Serves one connection in a handler process; returns the process exit status. */
int agent_handle_connection(const struct agent_config *cfg, int conn);

/* Request handlers: each gets the first frame and owns the conversation. */
int agent_serve_exec(const struct agent_config *cfg, int conn, const isol8_frame *first);
int agent_serve_reset(const struct agent_config *cfg, int conn, const isol8_frame *first);
int agent_serve_put_file(const struct agent_config *cfg, int conn, const isol8_frame *first);
int agent_serve_get_file(const struct agent_config *cfg, int conn, const isol8_frame *first);

/* Sends an Error frame (errno-style code, formatted message); best effort. */
void agent_send_error(int conn, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sends an Ack frame; negative on a write error. */
int agent_send_ack(int conn);

/* Path checks. A path is acceptable when it is not empty, shorter than
 * PATH_MAX, and has no empty, "." or ".." component (so it is normalized);
 * agent_path_absolute also wants a leading '/' and refuses "/" itself. */
bool agent_path_valid(const char *path);
bool agent_path_absolute(const char *path);

/* Creates the missing parent directories of path (mode 0755, owned by the
 * caller, so call it after dropping privileges). Returns 0 or -errno. */
int agent_make_parents(const char *path);

/* Makes the directory path and its parents (0755), following no link. */
int agent_make_dirs(const char *path);

/* open(2) of an absolute normalized path that follows no link in any
 * component (O_NOFOLLOW under directory fds). fd or -errno. */
int agent_open_nofollow(const char *path, int flags, mode_t mode);

/* Drops to uid:gid with no supplementary groups. Returns 0 or -errno. */
int agent_drop_privileges(uid_t uid, gid_t gid);

/* Kills every process of uid (never the agent itself). Returns 0 or -errno. */
int agent_kill_uid(uid_t uid);

/* oom_score_adj of every program the agent starts: the OOM killer takes
 * the sandbox's programs before the agent, which must live to report the
 * kill (raising it needs no capability; lowering it needs CAP_SYS_RESOURCE,
 * which no one in the sandbox has). */
#define AGENT_PROGRAM_OOM_SCORE_ADJ 1000

/* Writes /proc/self/oom_score_adj; 0 or -errno. */
int agent_set_oom_score_adj(int value);

/* Whether a live process of uid is left (true when /proc cannot be read). */
bool agent_uid_has_processes(uid_t uid);

/* Calls match for every process in /proc but PID 1 and the caller (proc_fd
 * is /proc's fd, pid its entry's name); kills each that matches when
 * kill_them; stops after max matches. Returns how many matched, or -errno
 * when /proc cannot be read. */
typedef bool (*agent_proc_match_fn)(int proc_fd, const char *pid, const void *arg);
int agent_proc_scan(agent_proc_match_fn match, const void *arg, bool kill_them, int max);

/* A match: /proc/<pid>/status says a live (not zombie) process of the uid
 * *(const uid_t *)arg. */
bool agent_proc_of_uid(int proc_fd, const char *pid, const void *arg);

/* Removes the contents of dir, not dir itself, without following symlinks
 * or leaving dir's filesystem. Returns 0 or -errno (the first failure). */
int agent_wipe_dir(const char *dir);

#endif
