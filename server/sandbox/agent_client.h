/*
 * Host side of the agent protocol (used by isol8d): one connection per
 * request to a sandbox's agent socket. Every call is blocking and returns 0
 * or a negative isol8_errc with err filled. An Error frame from the agent
 * becomes an error carrying the agent's message. Thread-safe: no shared state.
 */
#ifndef ISOL8_AGENT_CLIENT_H
#define ISOL8_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame/frame.h"

/* Bytes of a file sent per PutFile chunk. */
#define ISOL8_AGENT_PUT_CHUNK (1024u * 1024u)

/* Connects to the agent socket (close-on-exec). ISOL8_E_UNAVAILABLE when
 * nothing listens there. */
int isol8_agent_connect(const char *socket_path, int *fd, struct isol8_error *err);

/* One connect + Ping; the Pong must come within timeout_ms. */
int isol8_agent_ping(const char *socket_path, int timeout_ms, struct isol8_error *err);

/* A Ping over a prestart connection (isol8_agent_prestart), which stays
 * usable after it. */
int isol8_agent_ping_on(int fd, int timeout_ms, struct isol8_error *err);

/* Retries connect + Ping until a Pong comes back (the socket appears a little
 * after the container starts). ISOL8_E_UNAVAILABLE, naming the path, when the
 * agent has not answered within timeout_ms. */
int isol8_agent_wait_ready(const char *socket_path, int timeout_ms, struct isol8_error *err);

struct isol8_agent_exec_io {
	/* Called for each piece of output as it arrives; stream 1 stdout, 2
	 * stderr. Nonzero aborts: the program's group is killed and the call
	 * returns that value if it is a negative isol8_errc, else
	 * -ISOL8_E_CANCELLED. May be NULL (output dropped). */
	int (*on_output)(void *userdata, int stream, const uint8_t *data, size_t len);
	/* Polled at least every 100 ms; when true, the program is killed and
	 * the call returns ISOL8_E_CANCELLED. May be NULL. */
	bool (*cancelled)(void *userdata);
	void *userdata;
	/* Input during the run, for an Exec with stdin_open; NULL: none.
	 * input_fd is polled with the agent socket; while it is readable
	 * next_input is called: 1 with *frame filled (a Stdin, Signal or
	 * Resize, its pointers valid until the next call), 0 when nothing is
	 * pending (input_fd is then not readable until more comes), a
	 * negative isol8_errc to stop the run (the program is killed
	 * and the call returns that code). A frame is sent on before the next
	 * is asked for, without blocking the output, so the agent's backpressure
	 * (it stops reading while the program's stdin is full) reaches
	 * next_input's source. */
	int (*next_input)(void *userdata, isol8_frame *frame);
	int input_fd;
};

struct isol8_agent_exit {
	int exit_code;   /* 128 + signal when a signal ended the program */
	int signal;      /* 0 when the program exited normally */
	bool timed_out;
	bool truncated;
	uint64_t duration_us;
	uint64_t cpu_user_us;
	uint64_t cpu_system_us;
	uint64_t max_rss_kb;
	bool oom_killed;       /* the OOM killer killed a process of the run */
	uint64_t output_bytes; /* what the program wrote, forwarded or not */
	bool state_reset;      /* a session call ended the session's interpreter driver */
};

/* Runs req in the sandbox and waits for its exit. req stays the caller's.
 * A program that fails, times out or is cut is a result in *out, not an
 * error; an error means the program could not be run or the agent failed. */
int isol8_agent_exec(const char *socket_path, const Isol8__Agent__V1__Exec *req,
		     const struct isol8_agent_exec_io *io, struct isol8_agent_exit *out, struct isol8_error *err);

/* The same over a connection already open to the agent (a prestarted
 * launcher's, see isol8_agent_prestart); the call closes fd. */
int isol8_agent_exec_on(int fd, const Isol8__Agent__V1__Exec *req, const struct isol8_agent_exec_io *io,
			struct isol8_agent_exit *out, struct isol8_error *err);

/* Starts launcher (an Exec whose program waits for its code on fd 4) and
 * leaves the connection open in *fd for isol8_agent_exec_on. Closing *fd
 * instead kills the launcher. */
int isol8_agent_prestart(const char *socket_path, const Isol8__Agent__V1__Exec *launcher, int timeout_ms,
			 int *fd, struct isol8_error *err);

/* Opens a session: starts driver (the session's interpreter driver, see
 * "session" in agent.proto; the call sets Exec.driver) and waits up to
 * timeout_ms for the Ack. The connection is left in *fd for
 * isol8_agent_session_exec; closing it ends the driver and every process
 * of the session's uid. */
int isol8_agent_session_open(const char *socket_path, const Isol8__Agent__V1__Exec *driver, int timeout_ms,
			     int *fd, struct isol8_error *err);

/* Runs one call of the session open on fd, as isol8_agent_exec does (req
 * stays the caller's; out->state_reset says the call ended the driver). fd
 * stays open for the next call. An Error frame from the agent (the call
 * could not start) leaves the session usable; any other error (the
 * connection, the protocol, a cancel or an aborting output consumer) leaves
 * it in an unknown state: the caller closes fd and drops the session. */
int isol8_agent_session_exec(int fd, const Isol8__Agent__V1__Exec *req, const struct isol8_agent_exec_io *io,
			     struct isol8_agent_exit *out, struct isol8_error *err);

/* Ends the session open on fd and closes fd: waits up to timeout_ms for the
 * agent to have ended the driver and every process of the session's uid
 * (it closes its end then), so a session opened next does not lose its
 * own processes to this one's end. ISOL8_E_DEADLINE when that takes
 * longer (fd is closed all the same). */
int isol8_agent_session_close(int fd, int timeout_ms, struct isol8_error *err);

/* Kills every process of uid (not root) and wipes the contents of wipe_dirs
 * (NULL-ended, absolute paths; may be NULL). */
int isol8_agent_reset(const char *socket_path, uint32_t uid, const char *const *wipe_dirs, int timeout_ms,
		      struct isol8_error *err);

/* Gives a file's bytes a chunk at a time: 1 with *data and *len set (the
 * bytes stay the source's, valid until it is called again), 0 at the end, a
 * negative isol8_errc to abort. */
typedef int (*isol8_agent_source_fn)(void *userdata, const uint8_t **data, size_t *len);

/* Writes a file in the sandbox (absolute normalized path under /sandbox or
 * /tmp, no component a link; parents created), owned by uid:gid (0 = the
 * agent's sandbox user) with mode (permission bits only; 0 = 0644). Its
 * bytes come from next, each chunk sent on (in frames of at most
 * ISOL8_AGENT_PUT_CHUNK) before the next is asked for, so no more than the
 * source's chunk is held. A source that aborts makes the call return its
 * code (-ISOL8_E_CANCELLED when it is not one) and the agent remove the
 * partial file, as it does on its own errors (a full tmpfs:
 * ISOL8_E_EXHAUSTED). *size (may be NULL): the bytes written. */
int isol8_agent_put_file_stream(const char *socket_path, const char *dst_path, uint32_t mode, uint32_t uid,
				uint32_t gid, isol8_agent_source_fn next, void *userdata, uint64_t *size,
				struct isol8_error *err);

/* The same with the file's bytes in one buffer. */
int isol8_agent_put_file(const char *socket_path, const char *dst_path, const uint8_t *data, size_t len,
			 uint32_t mode, uint32_t uid, uint32_t gid, struct isol8_error *err);

/* Reads a regular file of the sandbox (as the sandbox user), chunk by chunk
 * (the same paths as a put; a missing file is ISOL8_E_NOT_FOUND).
 * on_chunk returning nonzero stops the transfer: the call returns that value
 * if it is a negative isol8_errc, else -ISOL8_E_CANCELLED. */
typedef int (*isol8_agent_chunk_fn)(void *userdata, const uint8_t *data, size_t len);
int isol8_agent_get_file(const char *socket_path, const char *path, isol8_agent_chunk_fn on_chunk,
			 void *userdata, struct isol8_error *err);

#endif
