/*
 * libisol8: the C client of isol8d.
 *
 * One handle (struct isol8_client) holds a gRPC channel to isol8d; every
 * call below takes it and may be made from many threads at once. Requests
 * are plain structs the caller owns (zero them, or use the _INIT macros, and
 * set what you need: zero means "the daemon's default"); results are
 * allocated by the library and freed with their _free function.
 *
 * Errors follow isol8/error.h: a function returns 0 (or the documented
 * positive value) on success, a negative enum isol8_errc on failure, and
 * fills the caller's struct isol8_error with the code and a one-line message
 * that names what was wrong. err may be NULL.
 *
 * Structs may grow new members at their end in later versions; always start
 * from the _INIT macro or memset(0) so new members keep their defaults.
 *
 * A dozen lines, from the README:
 *
 *   struct isol8_client *c;
 *   struct isol8_result *res;
 *   struct isol8_request req = ISOL8_REQUEST_INIT;
 *   struct isol8_error err = ISOL8_ERROR_INIT;
 *
 *   req.runtime = "python";
 *   req.code = "print('hello from the sandbox')";
 *   if (isol8_client_new(&c, NULL, &err) < 0 || isol8_execute(c, &req, &res, &err) < 0) {
 *           fprintf(stderr, "isol8: %s\n", err.message);
 *           return 1;
 *   }
 *   fwrite(res->stdout_data, 1, res->stdout_size, stdout);
 *   isol8_result_free(res);
 *   isol8_client_free(c);
 */
#ifndef ISOL8_ISOL8_H
#define ISOL8_ISOL8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "isol8/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, e.g. "0.1.0". */
ISOL8_EXPORT const char *isol8_version(void);

/* ---- Connection ------------------------------------------------------- */

struct isol8_client;

struct isol8_client_options {
	/* "unix:/path/isol8d.sock", "HOST:PORT" (also "http://HOST:PORT",
	 * "https://HOST:PORT" = TLS with the system's CAs), or NULL for the local
	 * daemon's socket ($ISOL8_SOCKET, else the default run directory's). */
	const char *target;
	/* Sent with every call as "authorization: Bearer <key>"; NULL = none
	 * (a local unix-socket caller needs none). */
	const char *api_key;
	/* PEM file of a CA to trust; enables TLS. NULL = plaintext, unless the
	 * target says https://. */
	const char *tls_ca;
	/* How long isol8_client_new waits for the daemon to answer: 0 = 5000 ms,
	 * negative = do not wait (the first call connects). */
	int connect_timeout_ms;
};
#define ISOL8_CLIENT_OPTIONS_INIT {NULL, NULL, NULL, 0}

/* Connects to isol8d. opts may be NULL (the local daemon, no key). Fails
 * with ISOL8_E_UNAVAILABLE, naming the target, when nothing answers within
 * connect_timeout_ms. */
ISOL8_EXPORT int isol8_client_new(struct isol8_client **out, const struct isol8_client_options *opts,
				  struct isol8_error *err);

/* A handle on the same channel that sends api_key instead of base's key
 * (NULL = none): what a gateway uses to forward each of its callers' keys
 * over one connection. Cheap; free it with isol8_client_free. base must
 * outlive it. */
ISOL8_EXPORT int isol8_client_with_key(struct isol8_client **out, struct isol8_client *base,
				       const char *api_key, struct isol8_error *err);

/* Frees a handle. Calls still running on it must have returned first. */
ISOL8_EXPORT void isol8_client_free(struct isol8_client *c);

/* ---- Requests --------------------------------------------------------- */

struct isol8_kv {
	const char *key;
	const char *value;
};

/* A file written into /sandbox before the code runs (path relative to
 * /sandbox or absolute under it). */
struct isol8_file {
	const char *path;
	const void *data;
	size_t size;
	uint32_t mode; /* permission bits; 0 = 0644 */
};

/* Container-level options (the original's Isol8Options); each zero member
 * takes the daemon's configured default. */
struct isol8_options {
	const char *network; /* "none", "host", "filtered" */
	const char *const *whitelist; /* filtered mode: host regexes allowed */
	size_t n_whitelist;
	const char *const *blacklist; /* filtered mode: host regexes refused (wins) */
	size_t n_blacklist;
	double cpu_limit;         /* CPUs, e.g. 0.5 */
	const char *memory_limit; /* "512m" */
	int pids_limit;
	int readonly_root_fs; /* -1 or 0 = default, 1 = read-only, 2 = writable */
	int64_t max_output_size; /* bytes per stream */
	const struct isol8_kv *secrets; /* env vars whose values are masked in output */
	size_t n_secrets;
	const char *image;
	const char *sandbox_size; /* "512m" */
	const char *tmp_size;
	const char *seccomp; /* "strict", "unconfined", "custom" */
	const char *seccomp_profile; /* JSON text of a custom profile */
	bool persist;     /* keep the container after the run (until cleanup) */
	bool log_network; /* return the egress proxy's decisions in network_logs */
};
#define ISOL8_OPTIONS_INIT {0}

/* One execution (the original's ExecutionRequest). Exactly one of code,
 * cmd and code_url says what runs. */
struct isol8_request {
	const char *runtime; /* "python", "node", "bun", "deno", "bash"; NULL = from code_url/file_extension */
	const char *code;
	const char *cmd; /* a shell command line, run with bash -c in the runtime's image */
	const char *code_url;
	const char *code_hash; /* SHA-256 hex the fetched code must have */
	bool allow_insecure_code_url;
	int64_t timeout_ms; /* 0 = the daemon's default */
	const struct isol8_kv *env;
	size_t n_env;
	const char *file_extension; /* ".py"; NULL = the runtime's */
	const void *stdin_data;
	size_t stdin_size;
	const struct isol8_file *files;
	size_t n_files;
	const char *const *output_paths; /* files returned in the result */
	size_t n_output_paths;
	const char *const *install_packages;
	size_t n_install_packages;
	const char *session_id; /* run in this persistent session (created on first use) */
	const char *setup_script; /* bash, run before the code (phase "setup") */
	const char *workdir;
	const struct isol8_kv *metadata; /* caller's labels, written to the daemon's log line */
	size_t n_metadata;
	bool tty;             /* interactive only: run under a pseudo-terminal */
	unsigned rows, cols;  /* its size; 0 = 24x80 */
	const struct isol8_options *options; /* NULL = defaults */
};
#define ISOL8_REQUEST_INIT {0}

/* ---- Results ---------------------------------------------------------- */

struct isol8_out_file {
	char *path;
	unsigned char *data;
	size_t size;
};

/* One decision of the egress proxy (filtered network with log_network). */
struct isol8_network_log {
	char *timestamp; /* RFC 3339 */
	char *method;    /* "CONNECT", "GET", ... */
	char *host;
	char *path;      /* plain HTTP only; NULL for CONNECT */
	bool allowed;    /* ALLOW or BLOCK */
	int64_t duration_ms;
};

struct isol8_result {
	char *stdout_data; /* NUL-terminated after stdout_size bytes (output may hold NULs) */
	size_t stdout_size;
	char *stderr_data;
	size_t stderr_size;
	int exit_code;
	int signal;     /* the signal that ended the program, 0 if none */
	bool timed_out;
	bool truncated; /* output past max_output_size was dropped */
	bool oom_killed;
	bool state_reset; /* a session's interpreter state was lost before this call */
	int64_t duration_ms;
	char *execution_id;
	char *runtime;
	char *timestamp; /* RFC 3339, UTC: when it started */
	char *container_id;
	char *session_id; /* NULL for a one-off execution */
	struct isol8_out_file *files; /* output_paths that existed */
	size_t n_files;
	bool has_usage;
	int64_t cpu_user_ms, cpu_system_ms, max_rss_kb;
	struct isol8_network_log *network_logs;
	size_t n_network_logs;
	/* Where the time went (isol8d's EngineTimings), in microseconds. */
	struct {
		int64_t queue_us, acquire_us, exec_us, first_output_us, release_us;
		bool cold, prestarted;
	} timings;
};

ISOL8_EXPORT void isol8_result_free(struct isol8_result *res);

/* ---- Executing -------------------------------------------------------- */

/* Runs a request and gathers its output. A program that fails, times out or
 * is killed is still a result (exit_code, timed_out, signal); a negative
 * return means the execution could not be done (bad request, limits, daemon
 * or Docker down, ...). */
ISOL8_EXPORT int isol8_execute(struct isol8_client *c, const struct isol8_request *req, struct isol8_result **out,
			       struct isol8_error *err);

enum isol8_event_type {
	ISOL8_EVENT_STDOUT = 1,
	ISOL8_EVENT_STDERR = 2,
	ISOL8_EVENT_EXIT = 3,  /* last event: result is set */
	/* code 0: what ended the run early, in the original's words ("EXECUTION
	 * TIMED OUT", "Setup script failed (exit code 1)"), and the exit event
	 * follows; code nonzero: last event, the execution failed (data is the
	 * message, code its isol8_errc). */
	ISOL8_EVENT_ERROR = 4,
};

struct isol8_event {
	enum isol8_event_type type;
	const char *phase; /* "code", or "setup" for install and setup-script output */
	const char *data;  /* output bytes or the error message (NUL-terminated after size) */
	size_t size;
	const struct isol8_result *result; /* ISOL8_EVENT_EXIT */
	int code;                          /* ISOL8_EVENT_ERROR */
};

/* An execution whose events are read one by one. */
struct isol8_stream;

/* Starts a streaming execution. */
ISOL8_EXPORT int isol8_stream_open(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
				   struct isol8_error *err);

/* Starts an interactive execution: like isol8_stream_open, and the program's
 * stdin, signals and terminal size are fed with the functions below. */
ISOL8_EXPORT int isol8_interactive_open(struct isol8_stream **out, struct isol8_client *c,
					const struct isol8_request *req, struct isol8_error *err);

/* Waits for the next event. Returns 1 with *ev filled (its pointers valid
 * until the next call or isol8_stream_free), 0 after the last event (exit or
 * error) was returned, negative when the call broke: ISOL8_E_CANCELLED after
 * isol8_stream_cancel, ISOL8_E_PROTOCOL when isol8d ended the stream without
 * an exit. A failure isol8d (or gRPC: a lost connection is UNAVAILABLE)
 * reports is the last event, an ISOL8_EVENT_ERROR with its code. */
ISOL8_EXPORT int isol8_stream_next(struct isol8_stream *st, struct isol8_event *ev, struct isol8_error *err);

/* Interactive streams only (ISOL8_E_INVALID otherwise). Each may be called
 * from another thread than the one in isol8_stream_next; one writer at a
 * time. Once isol8_stream_next gave the last event they fail with
 * ISOL8_E_PRECONDITION. */
ISOL8_EXPORT int isol8_stream_write_stdin(struct isol8_stream *st, const void *data, size_t size,
					  struct isol8_error *err);
ISOL8_EXPORT int isol8_stream_close_stdin(struct isol8_stream *st, struct isol8_error *err);
/* name: "SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2" (or without "SIG"). */
ISOL8_EXPORT int isol8_stream_signal(struct isol8_stream *st, const char *name, struct isol8_error *err);
ISOL8_EXPORT int isol8_stream_resize(struct isol8_stream *st, unsigned rows, unsigned cols,
				     struct isol8_error *err);

/* Cancels the execution: isol8d stops the program and a waiting
 * isol8_stream_next returns ISOL8_E_CANCELLED. Safe from any thread, and more
 * than once. */
ISOL8_EXPORT void isol8_stream_cancel(struct isol8_stream *st);

/* Frees a stream (cancelling it if it has not ended). */
ISOL8_EXPORT void isol8_stream_free(struct isol8_stream *st);

/* Called for each event; return nonzero to cancel the execution. */
typedef int (*isol8_event_fn)(const struct isol8_event *ev, void *userdata);

/* Streams an execution through a callback until its last event. Returns 0
 * after an exit event, the error's negative code after an error event (err
 * filled too), ISOL8_E_CANCELLED when on_event asked to stop. */
ISOL8_EXPORT int isol8_execute_stream(struct isol8_client *c, const struct isol8_request *req, isol8_event_fn on_event,
				      void *userdata, struct isol8_error *err);

/* ---- Files in a session ----------------------------------------------- */

/* Reads up to size bytes into buf; returns the count, 0 at the end, -1 on
 * error (errno set). */
typedef ssize_t (*isol8_read_fn)(void *userdata, void *buf, size_t size);
/* Takes size bytes; returns 0, or -1 on error (errno set) to stop. */
typedef int (*isol8_write_fn)(void *userdata, const void *buf, size_t size);

/* Writes a file into a session's /sandbox (mode 0 = 0644). NOT_FOUND when
 * the session does not exist. */
ISOL8_EXPORT int isol8_put_file(struct isol8_client *c, const char *session_id, const char *path, const void *data,
				size_t size, uint32_t mode, struct isol8_error *err);
/* The same, streamed from a reader; *written (may be NULL) gets the size
 * isol8d stored. */
ISOL8_EXPORT int isol8_put_file_from(struct isol8_client *c, const char *session_id, const char *path, uint32_t mode,
				     isol8_read_fn read, void *userdata, uint64_t *written, struct isol8_error *err);

/* Reads a file of a session into a malloc'd buffer (free it with free();
 * NUL-terminated after *size bytes). NOT_FOUND names the session or the
 * file that does not exist; a file of 1 GiB or more is RESOURCE_EXHAUSTED
 * (isol8_get_file_to streams any size). */
ISOL8_EXPORT int isol8_get_file(struct isol8_client *c, const char *session_id, const char *path, unsigned char **data,
				size_t *size, struct isol8_error *err);
/* The same, streamed to a writer. */
ISOL8_EXPORT int isol8_get_file_to(struct isol8_client *c, const char *session_id, const char *path,
				   isol8_write_fn write, void *userdata, struct isol8_error *err);

/* ---- Sessions --------------------------------------------------------- */

struct isol8_session_info {
	char *id;
	char *runtime;
	char *created_at;   /* RFC 3339, UTC */
	char *last_used_at; /* RFC 3339, UTC: the end of its last call */
	char *container_id;
	bool busy;          /* a call is running in it */
	int64_t idle_ms;
};

ISOL8_EXPORT int isol8_list_sessions(struct isol8_client *c, struct isol8_session_info **out, size_t *n,
				     struct isol8_error *err);
ISOL8_EXPORT void isol8_session_infos_free(struct isol8_session_info *list, size_t n);

/* Destroys a session and its sandbox; a session that does not exist is not
 * an error (*existed, may be NULL, says whether there was one). */
ISOL8_EXPORT int isol8_destroy_session(struct isol8_client *c, const char *session_id, bool *existed,
				       struct isol8_error *err);

/* ---- Administration --------------------------------------------------- */

/* 0 when isol8d serves and reaches Docker; ISOL8_E_UNAVAILABLE with the
 * reason otherwise. Needs no key. */
ISOL8_EXPORT int isol8_health(struct isol8_client *c, struct isol8_error *err);

struct isol8_image_info {
	char *runtime;
	char *image;
	bool present;
	bool up_to_date;
};

struct isol8_kept_sandbox {
	char *container_id;
	char *runtime;
};

struct isol8_info {
	char *version;
	char *instance_id;
	char *docker_version;
	char *docker_api_version;
	struct isol8_image_info *images;
	size_t n_images;
	int active_executions;
	struct {
		char *strategy; /* "fast" or "secure" */
		int live, clean, in_use, starting, resetting, kept, removing, pools, sessions;
		int64_t created, reused, resets_failed, replaced;
	} sandboxes;
	struct isol8_kept_sandbox *kept;
	size_t n_kept;
};

ISOL8_EXPORT int isol8_info(struct isol8_client *c, struct isol8_info **out, struct isol8_error *err);
ISOL8_EXPORT void isol8_info_free(struct isol8_info *info);

struct isol8_cleanup_options {
	bool sessions;   /* destroy every persistent session */
	bool images;     /* remove isol8's images too */
};
#define ISOL8_CLEANUP_OPTIONS_INIT {false, false}

struct isol8_cleanup_counts {
	int removed;
	int failed;
	char **errors; /* one line per failure */
	size_t n_errors;
};

struct isol8_cleanup_result {
	struct isol8_cleanup_counts sessions, containers, images;
	char **kept_containers; /* --persist containers removed */
	size_t n_kept_containers;
};

/* Removes isol8's stopped and kept containers (and sessions, images when
 * asked). */
ISOL8_EXPORT int isol8_cleanup(struct isol8_client *c, const struct isol8_cleanup_options *opts,
			       struct isol8_cleanup_result **out, struct isol8_error *err);
ISOL8_EXPORT void isol8_cleanup_result_free(struct isol8_cleanup_result *res);

enum isol8_setup_phase {
	ISOL8_SETUP_CHECKING = 1,
	ISOL8_SETUP_UP_TO_DATE = 2,
	ISOL8_SETUP_BUILDING = 3, /* message: one line of build output */
	ISOL8_SETUP_BUILT = 4,
	ISOL8_SETUP_FAILED = 5, /* message: why */
	ISOL8_SETUP_DONE = 6,
};

struct isol8_setup_event {
	const char *image;
	enum isol8_setup_phase phase;
	const char *message;
};

/* Called for each setup event; nonzero cancels. */
typedef int (*isol8_setup_fn)(const struct isol8_setup_event *ev, void *userdata);

/* Builds (or checks) the runtime images: runtimes NULL/0 = all. */
ISOL8_EXPORT int isol8_setup(struct isol8_client *c, bool force, const char *const *runtimes, size_t n_runtimes,
			     isol8_setup_fn on_event, void *userdata, struct isol8_error *err);

/* Packages to bake into one runtime's image (Admin.Setup's packages): a
 * runtime named here takes this list instead of the daemon's
 * configuration (dependencies.<runtime>); an empty list bakes none. */
struct isol8_setup_packages {
	const char *runtime; /* "python", "node", "bun", "bash" */
	const char *const *packages;
	size_t n_packages;
};

/* isol8_setup, baking the packages of each entry of packages (n_packages
 * entries; NULL/0: the daemon's configuration decides). */
ISOL8_EXPORT int isol8_setup_with(struct isol8_client *c, bool force, const char *const *runtimes, size_t n_runtimes,
				  const struct isol8_setup_packages *packages, size_t n_packages,
				  isol8_setup_fn on_event, void *userdata, struct isol8_error *err);

#ifdef __cplusplus
}
#endif
#endif
