/*
 * Execution options: the defaults, the limits, and the resolution of an
 * ExecuteRequest into checked typed values. Every validation error names the
 * request field it is about.
 */
#ifndef ISOL8_OPTIONS_H
#define ISOL8_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"
#include "engine/runtime.h"
#include "frame/frame.h"
#include "sandbox/sandbox.h"

#define ISOL8_DEFAULT_TIMEOUT_MS 30000
#define ISOL8_MAX_TIMEOUT_MS (24 * 3600 * 1000LL)
#define ISOL8_DEFAULT_MEMORY (512LL << 20)
#define ISOL8_MIN_MEMORY (16LL << 20)
#define ISOL8_DEFAULT_NANO_CPUS 1000000000LL
#define ISOL8_DEFAULT_PIDS 64
#define ISOL8_MAX_PIDS 4096
#define ISOL8_DEFAULT_MAX_OUTPUT (1LL << 20)
#define ISOL8_MAX_OUTPUT_LIMIT (256LL << 20)
#define ISOL8_DEFAULT_SANDBOX_SIZE (512LL << 20)
#define ISOL8_DEFAULT_TMP_SIZE (256LL << 20)
/* What one execution carries to the sandbox in its request: code, files and
 * stdin together (the agent's frame limit less room for the rest). */
#define ISOL8_MAX_PAYLOAD (ISOL8_FRAME_MAX - (64u << 10))

/* Longest path under /sandbox a request may name. */
#define ISOL8_SANDBOX_PATH_MAX 1024

/* One execution's options, split as the pool sees them: what the container
 * is made with (the pool key) and what this run alone uses. */
struct isol8_exec_options {
	const struct isol8_runtime *runtime;
	struct isol8_container_options container;
	/* per run */
	char code_path[64];           /* "/sandbox/main.py" */
	char workdir[ISOL8_SANDBOX_PATH_MAX]; /* "/sandbox" or a directory under it */
	bool shell_cmd;               /* run req->cmd with bash -c instead of the code */
	int64_t timeout_ms;
	int64_t max_output;
	bool persist;
	/* network "filtered": the code phase's compiled rules (owned, freed by
	 * isol8_exec_options_release; NULL allows nothing), whether the setup
	 * script and the code get the proxy environment, and whether the
	 * proxy's decisions go into the result (options.log_network) */
	struct isol8_egress_rules *rules;
	bool proxy_env;
	bool log_network;
};

/* Frees what resolved options own (their rules). Safe on zeroed options. */
void isol8_exec_options_release(struct isol8_exec_options *opts);

/* inputs.c: the run's inputs — exactly one of code and cmd, the setup
 * script, workdir (resolved into opts->workdir), files and output_paths
 * (paths inside /sandbox). ISOL8_E_INVALID naming the field. */
int isol8_inputs_resolve(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			 struct isol8_error *err);

/* A path a request names for a file: relative is under /sandbox, absolute
 * must be under /sandbox; no "." or ".." component, no empty one. Writes
 * the absolute path to out. */
int isol8_inputs_file_path(const char *field, const char *path, char *out, size_t size, struct isol8_error *err);

/* A path a file transfer (PutFile, GetFile) names: absolute, normalized
 * (no empty, "." or ".." component, no trailing "/"), strictly under
 * /sandbox or /tmp, shorter than ISOL8_SANDBOX_PATH_MAX. ISOL8_E_INVALID
 * naming field and the path otherwise. */
int isol8_inputs_transfer_path(const char *field, const char *path, struct isol8_error *err);

/* Parses "512m", "1g", "64k", "1048576" (bytes) into *out. */
int isol8_parse_size(const char *text, int64_t *out);

/* What a request gets for each option it leaves unset: the built-in
 * ISOL8_DEFAULT_* values, or the operator's (the configuration's
 * "defaults" and "security"). container holds every container-level
 * default (its runtime, image_suffix and image are not used);
 * container.seccomp_profile is the custom profile's JSON when seccomp is
 * custom, owned by whoever filled the struct. */
struct isol8_exec_defaults {
	struct isol8_container_options container;
	int64_t timeout_ms;
	int64_t max_output;
	/* the hosts a filtered run may reach when the request gives no
	 * network_filter (config network.whitelist and network.blacklist,
	 * POSIX EREs; borrowed from whoever filled the struct) */
	const char *const *whitelist;
	size_t n_whitelist;
	const char *const *blacklist;
	size_t n_blacklist;
};

/* The built-in defaults. */
void isol8_exec_defaults_init(struct isol8_exec_defaults *d);

/* The runtime of req and its code file extension: the request's own; a
 * request with a code_url and no runtime takes the one the URL's
 * extension picks (engine/remote.h), ISOL8_E_INVALID naming runtime when
 * it picks none; a code_url whose extension's runtime is the one run
 * gives the file extension the request leaves out (.cjs: "cjs"). */
int isol8_options_request_runtime(const Isol8__V1__ExecuteRequest *req, const char **runtime,
				  const char **file_extension, struct isol8_error *err);

/* Fills opts from req with defaults for unset fields and checks every value.
 * A filtered run's rules are compiled here (an invalid regex is
 * ISOL8_E_INVALID naming it, e.g. options.network_filter.whitelist[0]);
 * release opts with isol8_exec_options_release, on failure too. */
int isol8_options_resolve_with(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_defaults *d,
			       struct isol8_exec_options *opts, struct isol8_error *err);

/* isol8_options_resolve_with the built-in defaults. */
int isol8_options_resolve(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			  struct isol8_error *err);

#endif
