/*
 * The exec request: exec_spawn.c starts the program (the child side:
 * session, identity, files, limits, fds, PATH lookup); exec.c runs the
 * conversation's loop (signals, timeout, drain, the end); exec_io.c moves
 * the bytes (frames from and to the host, stdin, output and its cap).
 * exec_prestart.c serves a launcher's connection and exec_session.c a
 * session's, whose calls run in a persistent interpreter (the driver): a
 * call in the driver is a run whose "main process exited" is "the driver
 * reported the call's status" (report_fd), and whose end kills only what
 * holds the call's pipes, never a driver that reported (when it is the
 * only holder left, the call is over). A driver that closes report_fd
 * without a status (the code exec'd another program) is a program like
 * any other from there on.
 * Everything here lives in one handler process and one thread.
 */
#ifndef ISOL8_AGENT_EXEC_H
#define ISOL8_AGENT_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "frame/frame_reader.h"

/* A started program: its pid (also its process group and session id) and
 * the handler's ends of its standard streams (non-blocking, close-on-exec).
 * On a pty, stdin_fd and stdout_fd are the terminal's master (stdin_fd a
 * dup of it) and stderr_fd is -1. */
struct agent_process {
	pid_t pid;
	bool pty;
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	int control_fd;  /* prestart, driver: the write end of the program's fd 4; else -1 */
	int ready_fd;    /* prestart, driver: the read end of the program's fd 5; else -1 */
};

/* A launcher's control pipe (it reads its program there) and ready pipe (it
 * writes a byte there once it waits for its program): see "prestart" in
 * agent.proto. */
#define AGENT_CONTROL_FD 4
#define AGENT_READY_FD 5
#define AGENT_LAUNCHER_READY_MS 20000

struct exec_run;

/* Starts req's program. On failure returns -errno and writes a one-line
 * message to msg; nothing is left running. */
int agent_spawn(const struct agent_config *cfg, const Isol8__Agent__V1__Exec *req, struct agent_process *proc,
		char *msg, size_t msg_len);

/* Writes req's files as req's uid:gid (in a helper process, as the program's
 * own start does), for a program that is already running. 0 or -errno with
 * msg. */
int agent_write_files(const struct agent_config *cfg, const Isol8__Agent__V1__Exec *req, char *msg, size_t msg_len);

/* exec_pty.c: a new pseudo-terminal for req (its rows x cols, the slave
 * owned by uid:gid), 0 or -errno with msg; the window size of a master;
 * and the bytes that end the terminal's input (its EOF character, twice
 * when a line is started: the first only ends that line's read). */
int agent_pty_open(const Isol8__Agent__V1__Exec *req, uid_t uid, gid_t gid, int *master, int *slave, char *msg,
		   size_t msg_len);
int agent_pty_resize(int master, uint32_t rows, uint32_t cols);
size_t agent_pty_eof(int master, bool line_started, uint8_t out[2]);

/* The prestart conversation (exec_prestart.c). */
int agent_serve_prestart(const struct agent_config *cfg, int conn, const isol8_frame *first);

/* The session conversation (exec_session.c): first->exec has driver set. */
int agent_serve_session(const struct agent_config *cfg, int conn, const isol8_frame *first);

/* Writes req's argv, env and cwd to a launcher's control pipe in the
 * control message format (agent.proto, "prestart"). 0 or -errno. */
int agent_control_write(int fd, const Isol8__Agent__V1__Exec *req, const char *cwd);

/* Waits up to AGENT_LAUNCHER_READY_MS for a launcher's byte on its ready
 * pipe fd (want: the byte it must be, or -1 for any; a session's driver is
 * waited for in exec_session.c, up to the call's deadline and watching the
 * host and the signals too). 0; else
 * -ETIMEDOUT with msg "<late> within <N> ms", or -ECHILD with msg ended
 * (the pipe closed or failed, or another byte came). */
int agent_ready_await(int fd, int want, const char *late, const char *ended, char *msg, size_t msg_len);

/* Waits for the connection's next frame, answering each Ping on the way
 * (the host's check that the sandbox is still alive). With signal_fd >= 0
 * (a signalfd) a SIGTERM or SIGINT read there ends the wait too. 0 with a
 * frame that is not a Ping (the caller frees it), negative when the
 * connection ends or the agent stops. */
int agent_wait_for_exec(int conn, int signal_fd, isol8_frame **next, struct isol8_error *err);

/* Reads every signal pending on signal_fd (a signalfd); whether a SIGTERM
 * or SIGINT was among them. The others are dropped: a SIGCHLD read here is
 * not seen again, so whoever waits for a child checks it with waitid. */
bool agent_stop_requested(int signal_fd);

/* Starts req's program and runs its exec conversation on conn; signal_fd
 * (from exec_signals_open) is taken over. Returns the handler's status. */
int agent_run_program(const struct agent_config *cfg, int conn, int signal_fd, const Isol8__Agent__V1__Exec *req);

/* Runs the exec conversation for a started program: stdin, limits and the
 * timeout from req. Takes over run->proc; returns the handler's status. */
int exec_serve_started(struct exec_run *run, const Isol8__Agent__V1__Exec *req);
int exec_signals_open(void);
void exec_run_release(struct exec_run *run);

#define EXEC_OUTQ_HIGH (256u * 1024u)   /* above it, output pipes are not read */
#define EXEC_STDIN_HIGH (1024u * 1024u) /* above it, the host's frames are not read */
#define EXEC_READ_CHUNK (64u * 1024u)   /* bytes per read of a pipe, per Output frame */
#define EXEC_DRAIN_MS 250               /* after the end kill, for what the pipes still hold */
#define EXEC_DRAIN_MAX (1024u * 1024u)  /* per pipe, read at the end of the drain */
#define EXEC_EXIT_FLUSH_MS 60000
#define EXEC_HOLDER_CHECK_MS 20         /* a driver reported: the first look for the FIFOs' holders */

/* A pipe or FIFO, as its holders' fds refer to it; or a terminal's slave,
 * by its device number. */
struct exec_pipe_id {
	dev_t dev;
	ino_t ino;  /* 0: no pipe */
	dev_t rdev; /* a terminal's slave; 0: none */
};

/* A byte queue with a read offset. */
struct exec_bytes {
	uint8_t *data;
	size_t len;
	size_t off;
};

/* One run: the loop's whole state. */
struct exec_run {
	int conn;
	int signal_fd;
	struct agent_process proc;
	struct isol8_frame_reader reader;
	struct exec_bytes outq;
	struct exec_bytes stdin_q;
	bool stdin_open;         /* more Stdin frames may come */
	bool line_started;       /* pty: the last byte typed was not a newline */
	bool host_gone;
	bool exited;             /* the main process exited (seen with WNOWAIT) */
	bool reaped;             /* and was reaped: its pid, the group's id, is free */
	bool terminating;        /* the agent got SIGTERM */
	bool timed_out;
	bool truncated;
	bool ended;              /* the end kill was done: what is left of the program is gone */
	bool keep_detached;      /* end: kill only the holders of the output pipes */
	uid_t uid;               /* the program's uid, whose processes the end kills */
	struct exec_pipe_id pipe_id[2]; /* the stdout and stderr pipes, to find their holders */
	int report_fd;           /* with in_driver: the driver's status pipe (not owned); -1 at its EOF */
	bool in_driver;          /* the run is a call in a session driver (proc.pid is the driver) */
	bool reported;           /* the driver reported the call's status and lives on */
	bool state_reset;        /* the Exit says state_reset (also set when the driver ends) */
	int64_t holder_check_ms; /* reported: when to look for the FIFOs' holders; -1: no more */
	int holder_check_gap_ms;
	uint64_t cpu_base_us[2]; /* a call in a driver: the driver's user and system CPU at its start */
	int64_t oom_before;      /* the cgroup's OOM kill count at the start (-1: unknown) */
	uint64_t total_out;      /* bytes read from the output pipes, forwarded or not */
	int status;
	struct rusage usage;
	uint64_t cap;
	uint64_t sent;
	int64_t start_us;
	int64_t end_us;
	int64_t deadline_ms;     /* -1: none */
	int64_t drain_until_ms;  /* after the end kill; -1: not yet */
	int fail_code;           /* errno-style; set: the run ends with an Error frame */
	char fail_message[ISOL8_ERROR_MESSAGE_MAX];
};

int exec_bytes_append(struct exec_bytes *q, const uint8_t *data, size_t len);

/* Queues bytes for the program's stdin (dropped once it closed it); eof on
 * a pty also queues the terminal's EOF character. 0 or -ENOMEM. */
int exec_stdin_append(struct exec_run *run, const uint8_t *data, size_t len, bool eof);
size_t exec_bytes_pending(const struct exec_bytes *q);

/* Ends the program: kills its process group, then every process of its
 * uid (or, with keep_detached, the main process and every process still
 * holding its stdout or stderr or its terminal, nothing else; a driver
 * that reported is spared), reaps the main process only
 * then (so the group's id cannot be reused while it is signalled), and
 * starts the drain of what the pipes hold. Idempotent. */
void exec_end(struct exec_run *run);
void exec_close(int *fd);

/* exec_end.c: the cgroup's count of OOM kills (-1 when it cannot be read),
 * and the kill of the processes of uid holding one of the pipes (all but
 * spare, when > 0: a session's driver). 0, or -ETIMEDOUT when the helper
 * that does it (as uid) did not finish in EXEC_HELPER_MS. */
int64_t exec_oom_kills(void);
int exec_kill_pipe_holders(uid_t uid, const struct exec_pipe_id id[2], pid_t spare);

/* Whether a process of uid other than spare holds one of the pipes: 1, 0,
 * or negative when the helper failed or did not finish in time. */
int exec_pipe_held_by_others(uid_t uid, const struct exec_pipe_id id[2], pid_t spare);

/* Waits for a helper child (one that became the sandbox uid, which the
 * code may stop) up to ms; past it the helper is killed. 0 with *status,
 * or -ETIMEDOUT (killed and reaped) or -errno. */
#define EXEC_HELPER_MS 5000
int exec_wait_helper(pid_t pid, int ms, int *status);

/* exec_end.c: the CPU time (user, system, its reaped children's included)
 * of a live process and its peak resident size in kB, from /proc; 0 or -1. */
int exec_proc_usage(pid_t pid, uint64_t cpu_us[2], uint64_t *max_rss_kb);

/* Ends the run with an Error frame (the first failure wins) and kills the
 * group; returns -code. */
int exec_fail(struct exec_run *run, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Handlers for the loop's ready fds; negative after exec_fail. */
int exec_on_host(struct exec_run *run);
void exec_on_stdin_writable(struct exec_run *run);
int exec_on_output(struct exec_run *run, int *fd, int stream);
int exec_drain_close(struct exec_run *run, int *fd, int stream);

/* The queue to the host: sent without blocking by exec_flush; at the end
 * exec_flush_all waits for the host up to EXEC_EXIT_FLUSH_MS. */
void exec_flush(struct exec_run *run);
void exec_flush_all(struct exec_run *run);
int exec_queue_error(struct exec_run *run, int code, const char *message);
int exec_queue_exit(struct exec_run *run);

#endif
