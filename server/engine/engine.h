/*
 * The execution engine: turns an ExecuteRequest into a run in a sandbox and
 * its result. It owns the Docker client, the sandbox registry (admission,
 * warm pools, resets: sandbox/registry.h) and the image set-up. Thread
 * model: isol8_engine_execute and the image functions are called from many
 * worker threads at once; the engine's own state (the shutdown flag) is an
 * atomic, the registry has its own lock. Callbacks run on the calling thread.
 */
#ifndef ISOL8_ENGINE_H
#define ISOL8_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "egress/egress.h"
#include "base/runtimes.h"
#include "isol8/error.h"
#include "isol8/v1/admin.pb-c.h"
#include "isol8/v1/isol8.pb-c.h"

struct isol8_engine;
struct isol8_exec_defaults;
struct isol8_policy;
struct isol8_remote_settings;

/* Packages (struct isol8_engine_config.packages): lists by enum
 * isol8_runtime_id; a runtime with no registry URL gets its public ones
 * (base/runtimes.h). */
struct isol8_engine_packages {
	const char *const *registries[ISOL8_RT_COUNT];
	size_t n_registries[ISOL8_RT_COUNT];
	const char *const *dependencies[ISOL8_RT_COUNT];
	size_t n_dependencies[ISOL8_RT_COUNT];
};

/* Clean sandboxes across every pool when the configuration does not say. */
#define ISOL8_DEFAULT_MAX_WARM 16

/* Sandboxes kept after their run (persist) at once; past it a persist run
 * is refused with ISOL8_E_EXHAUSTED until cleanup. */
#define ISOL8_MAX_KEPT 16

struct isol8_engine_config {
	const char *docker_socket;  /* NULL: $DOCKER_HOST or /var/run/docker.sock */
	const char *run_dir;        /* host dir for sandbox sockets (created 0700) */
	const char *agent_path;     /* host path of isol8-agent */
	const char *images_dir;     /* folder with base/ and one folder per runtime */
	const char *image_prefix;   /* "isol8" */
	const char *base_image;     /* "isol8:base" (built locally) or e.g. "debian:bookworm-slim" */
	const char *owner;          /* identity of this daemon for labels, e.g. its socket path */
	int max_concurrent;         /* executions at once; more wait for a slot */
	int max_waiting;            /* calls waiting for a slot; past it RESOURCE_EXHAUSTED (0: 4 x max_concurrent) */
	bool secure_pool;           /* never reuse a sandbox (default: fast, reset and reuse) */
	int prewarm;                /* clean sandboxes kept per runtime with default options (-1: 1) */
	int max_warm;               /* clean sandboxes across pools (0: 16; negative: none) */
	int max_sandboxes;          /* live sandboxes of every state (0: max_concurrent + max_warm) */
	bool no_prestart;           /* never pre-start interpreters in clean sandboxes */
	/* What a request gets for the options it leaves unset, and what a
	 * caller the policy applies to may ask for (engine/options.h,
	 * engine/policy.h); NULL: the built-in ones. Copied. */
	const struct isol8_exec_defaults *defaults;
	const struct isol8_policy *policy;
	/* The remote-code policy (engine/remote.h), for every caller; NULL:
	 * the built-in one (disabled). Compiled at start. */
	const struct isol8_remote_settings *remote_code;
	/* Clean sandboxes kept per runtime, by enum isol8_runtime_id; NULL:
	 * prewarm for each. */
	const int *prewarm_by_runtime;
	int max_sessions;           /* sessions at once (0: 64; negative: none allowed) */
	int64_t session_idle_ms;    /* an idle session is removed after this (0: 30 minutes) */
	void (*log)(int level, const char *message); /* pool events; may be NULL */
	/* "filtered" networking: the egress proxy its sandboxes get a port of
	 * (NULL: filtered runs fail; the caller starts and stops it, and it
	 * outlives the engine), the operator's CA bundle mounted into them
	 * (host path, or NULL; copied), and the bytes one execution's phase
	 * may move through the proxy (0: no cap). The rules a request gets by
	 * default are in defaults (whitelist, blacklist). */
	struct isol8_egress *egress;
	const char *ca_bundle;
	int64_t egress_max_bytes;
	/* Package registries (packages.registries) and the packages set-up
	 * bakes into the images (dependencies), engine/install.h; NULL: the
	 * public registries, nothing baked. Copied. */
	const struct isol8_engine_packages *packages;
};

/* Which program of a run output comes from. */
enum isol8_phase {
	ISOL8_PHASE_CODE = 0,   /* the code (or cmd) */
	ISOL8_PHASE_SETUP = 1,  /* the setup script */
};

/* One piece of input for a running program (ExecuteInteractive). */
enum isol8_input_kind {
	ISOL8_INPUT_STDIN,      /* data, len: bytes for its standard input */
	ISOL8_INPUT_STDIN_EOF,  /* the end of its standard input */
	ISOL8_INPUT_SIGNAL,     /* signal: a number from isol8_signal_from_name */
	ISOL8_INPUT_RESIZE,     /* rows, cols: its terminal's new size (tty runs) */
};

struct isol8_input {
	enum isol8_input_kind kind;
	const uint8_t *data;
	size_t len;
	int signal;
	uint32_t rows, cols;
};

/* The signal a client may send by name ("SIGINT", "SIGTERM", "SIGHUP",
 * "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2"); 0 for any other name. */
int isol8_signal_from_name(const char *name);

/* Receives an execution's output (secrets already masked, within the output
 * cap) as it is produced. */
struct isol8_exec_sink {
	/* stream 1 = stdout, 2 = stderr. Nonzero stops the execution. */
	int (*on_output)(void *userdata, enum isol8_phase phase, int stream, const uint8_t *data, size_t len);
	/* Polled while the program runs; true stops it (the client went away). */
	bool (*cancelled)(void *userdata);
	/* Bytes the output files (output_paths, masked) may take after the
	 * output, for the reply to fit; NULL: ISOL8_OUT_FILES_MAX. */
	size_t (*files_room)(void *userdata);
	void *userdata;
	/* An interactive run: set, the program's stdin stays open (after the
	 * request's stdin) and input comes from here while the code runs
	 * (never to a setup script; what comes meanwhile waits). input_fd is
	 * readable when next_input may have some; next_input gives it: 1 with
	 * *in filled (its data valid until the next call), 0 when none is
	 * pending (input_fd then stays unreadable until more comes), a negative
	 * isol8_errc to stop the run with that error. Only with it may the
	 * request ask for a tty. NULL: no input. */
	int (*next_input)(void *input_userdata, struct isol8_input *in);
	int input_fd;
	void *input_userdata;
};

/* Where one execution's time went, in microseconds. */
struct isol8_exec_phases {
	int64_t queue_us;          /* waiting for admission */
	int64_t acquire_us;        /* taking a pooled sandbox, or creating one (cold) */
	int64_t exec_us;           /* the agent conversation: code delivery to exit */
	int64_t first_output_us;   /* from the exec request to the first output (-1: none) */
	int64_t release_us;        /* handing the sandbox back */
	bool cold;
	bool prestarted;           /* ran in a pre-started interpreter */
};

/* A file read back from the sandbox after the run (output_paths). */
struct isol8_out_file {
	char *path;            /* as the request named it */
	uint8_t *data;         /* secrets masked */
	size_t len;
};

struct isol8_exec_result {
	char execution_id[33];
	char container_id[65];
	char timestamp[64];        /* RFC 3339, UTC */
	char session_id[129];      /* the session the call ran in, or "" */
	const char *runtime;       /* static name */
	int exit_code;
	int signal;
	bool timed_out;
	bool truncated;
	bool oom_killed;           /* the memory limit was hit and a process killed */
	bool setup_failed;         /* the setup script exited non-zero: the code did not run */
	bool install_failed;       /* the package install exited non-zero: nothing else ran */
	bool state_reset;          /* a session call ended the session's interpreter */
	uint64_t output_bytes;     /* what the program wrote to stdout and stderr */
	int64_t max_output;        /* the run's output cap */
	int64_t memory_bytes;      /* the run's memory limit */
	struct isol8_out_file *files; /* output_paths that exist, in request order */
	size_t n_files;
	bool truncated_files;      /* a file passed the room left and was left out */
	char files_left_out[256];  /* the first such file, as the request named it */
	int64_t files_room;        /* the room that was left then */
	int64_t duration_ms;
	int64_t cpu_user_ms;
	int64_t cpu_system_ms;
	int64_t max_rss_kb;
	struct isol8_exec_phases phases;
	/* A filtered run's egress decisions (options.log_network), in order
	 * across its phases; owned, freed by isol8_exec_result_release. */
	struct isol8_egress_entry *network_logs;
	size_t n_network_logs;
	size_t network_logs_dropped;  /* decisions past what the result keeps */
	uint64_t network_bytes;       /* bytes both ways through the proxy */
	bool network_capped;          /* network.maxBytes was reached */
};


/* Called for each set-up event (image may be "" for the whole set-up). */
typedef void (*isol8_setup_fn)(void *userdata, const char *image, Isol8__V1__SetupEvent__Phase phase,
			       const char *message);

int isol8_engine_new(struct isol8_engine **out, const struct isol8_engine_config *cfg, struct isol8_error *err);

/* Cancels running executions, waits for them, removes every container of this
 * daemon, frees the engine. */
void isol8_engine_free(struct isol8_engine *e);

/* Removes containers left by an earlier run of this daemon (same owner).
 * The caller guarantees no other live daemon has the same owner. */
int isol8_engine_remove_orphans(struct isol8_engine *e, int *removed, struct isol8_error *err);

/* Starts keeping the configured number of clean sandboxes per runtime
 * (after isol8_engine_remove_orphans, which would remove them). */
int isol8_engine_prewarm(struct isol8_engine *e, struct isol8_error *err);

/* Runs one request. local: the caller came over the daemon's unix socket,
 * whose owner the policy trusts unless the configuration says otherwise;
 * every other caller is held to the policy (ISOL8_E_PERMISSION naming the
 * option and the limit). Validation errors are ISOL8_E_INVALID naming the
 * field; missing images ISOL8_E_PRECONDITION; Docker down
 * ISOL8_E_UNAVAILABLE. A program that fails or times out is a result, not
 * an error. */
int isol8_engine_execute(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req, bool local,
			 const struct isol8_exec_sink *sink, struct isol8_exec_result *res,
			 struct isol8_error *err);

/* What output files may take in all, at most. */
#define ISOL8_OUT_FILES_MAX (32u << 20)

/* Frees what a result owns (its files and network logs). */
void isol8_exec_result_release(struct isol8_exec_result *res);

/* Executions running now. */
int isol8_engine_active(struct isol8_engine *e);

/* The sandboxes' counts (sandbox/registry.h). */
struct isol8_registry_stats;
void isol8_engine_pool_stats(struct isol8_engine *e, struct isol8_registry_stats *out);

/* Builds missing or changed images (all with force), reporting progress. */
int isol8_engine_setup(struct isol8_engine *e, const Isol8__V1__SetupRequest *req, isol8_setup_fn cb,
		       void *userdata, struct isol8_error *err);

struct isol8_image_status {
	char image[256];
	bool present;
	bool up_to_date;   /* its input hash matches the current build inputs */
};

/* The state of the image of one runtime ("python", ...). */
int isol8_engine_image_status(struct isol8_engine *e, const char *runtime, struct isol8_image_status *out,
			      struct isol8_error *err);

/* Docker's version and API version. */
int isol8_engine_docker_version(struct isol8_engine *e, char *version, size_t vsize, char *api,
				size_t asize, struct isol8_error *err);

/* What a clean-up did. Each failure is counted, and the first
 * ISOL8_CLEANUP_ERRORS_MAX are described in one line each, naming the
 * session, container or image ("container <id>: <why>", "image <name>:
 * <why>"). */
#define ISOL8_CLEANUP_ERRORS_MAX 64
#define ISOL8_CLEANUP_ERROR_LEN (ISOL8_ERROR_MESSAGE_MAX + 96)
struct isol8_cleanup_report {
	int removed_sessions, failed_sessions;
	int removed_containers, failed_containers;
	int removed_images, failed_images;
	char errors[ISOL8_CLEANUP_ERRORS_MAX][ISOL8_CLEANUP_ERROR_LEN];
	size_t n_errors;
};

/* Removes isol8 containers: this daemon's kept (--persist) sandboxes and
 * those of daemons that are gone (or of none), not this daemon's pooled or
 * running ones and not those of another daemon that still answers on its
 * socket; with sessions, every persistent session first (a call running in
 * one is cancelled; its sandbox goes in the background); with images,
 * isol8 images too. kept (may be NULL) is called for each kept sandbox
 * removed. A container or image that cannot be removed is a failure in the
 * report and the rest go on; an error is returned only when Docker cannot
 * list them (the report then holds what was done before). */
int isol8_engine_cleanup(struct isol8_engine *e, bool sessions, bool images, struct isol8_cleanup_report *out,
			 void (*kept)(const char *container_id, void *userdata), void *userdata,
			 struct isol8_error *err);

/* Whether Docker answers: 0, or the ping's error (ISOL8_E_UNAVAILABLE,
 * ISOL8_E_DEADLINE, ...). The answer is kept for ISOL8_HEALTH_CACHE_MS, so
 * health probes cost at most one ping a second however often they come;
 * concurrent callers wait for the one ping in flight. */
#define ISOL8_HEALTH_CACHE_MS 1000
int isol8_engine_health(struct isol8_engine *e, struct isol8_error *err);

/* Removes isol8 containers older than max_age_ms that this daemon holds in
 * no pool and no execution: those of an earlier run of this daemon, those
 * of other daemons that no longer answer on their socket (a live daemon's
 * are its own to prune), and this daemon's kept (--persist) sandboxes kept
 * for longer than max_age_ms. *removed says how many went. */
int isol8_engine_prune(struct isol8_engine *e, int64_t max_age_ms, int *removed, struct isol8_error *err);

/* Calls fn for each kept (--persist) sandbox. */
void isol8_engine_each_kept(struct isol8_engine *e, void (*fn)(const char *container_id, const char *runtime,
							       void *userdata),
			    void *userdata);

/* Sessions (sandbox/sessions.h). */

/* Destroys session id, cancelling a call or transfer running in it;
 * *destroyed says whether it existed (an unknown id is no error). */
int isol8_engine_destroy_session(struct isol8_engine *e, const char *session_id, bool *destroyed,
				 struct isol8_error *err);

struct isol8_session_info;
int isol8_engine_list_sessions(struct isol8_engine *e, void (*fn)(const struct isol8_session_info *info,
								 void *userdata),
			       void *userdata, struct isol8_error *err);

/* File transfer with a session's sandbox (engine/files.c). Paths are
 * absolute, normalized, under /sandbox or /tmp, and no component may be a
 * link: ISOL8_E_INVALID naming the path otherwise; an unknown session or
 * missing file ISOL8_E_NOT_FOUND; a full tmpfs ISOL8_E_EXHAUSTED.
 *
 * put: next gives the file's bytes a chunk at a time (1 with a chunk, 0 at
 * the end, negative isol8_errc to abort); each chunk is sent on before the
 * next is asked for, so no more than a chunk is held. *size: bytes written. */
typedef int (*isol8_file_source_fn)(void *userdata, const uint8_t **data, size_t *len);
int isol8_engine_put_file(struct isol8_engine *e, const char *session_id, const char *path, uint32_t mode,
			  isol8_file_source_fn next, void *userdata, uint64_t *size, struct isol8_error *err);

/* get: on_chunk gets the file a chunk at a time (nonzero stops). */
int isol8_engine_get_file(struct isol8_engine *e, const char *session_id, const char *path,
			  int (*on_chunk)(void *userdata, const uint8_t *data, size_t len), void *userdata,
			  struct isol8_error *err);

const char *isol8_engine_instance_id(const struct isol8_engine *e);

#endif
