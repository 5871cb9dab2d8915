/* Internals shared by the engine's files. Not for use outside server/engine. */
#ifndef ISOL8_ENGINE_INTERNAL_H
#define ISOL8_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine/engine.h"
#include "isol8/agent/v1/agent.pb-c.h"
#include "engine/install.h"
#include "engine/options.h"
#include "engine/policy.h"
#include "engine/remote.h"
#include "sandbox/registry.h"
#include "sandbox/sessions.h"


struct isol8_engine {
	atomic_bool shutting_down;
	char *run_dir, *agent_path, *images_dir, *image_prefix, *base_image, *owner;
	struct isol8_egress *egress;   /* borrowed (engine config), or NULL */
	char *ca_bundle;               /* network.caBundle's host path, or NULL */
	int64_t egress_max_bytes;      /* per phase of a run (0: no cap) */
	char instance_id[17];
	struct isol8_docker *docker;
	struct isol8_sandbox_env env;
	struct isol8_registry *registry;
	struct isol8_sessions *sessions;
	int prewarm;                   /* clean sandboxes per runtime */
	int prewarm_by_runtime[ISOL8_RT_COUNT]; /* ... for each, by enum isol8_runtime_id */
	struct isol8_exec_defaults defaults;    /* container.seccomp_profile: default_profile */
	char *default_profile;
	struct isol8_policy policy;             /* with its own image list */
	struct isol8_remote *remote;            /* the remote-code policy and cache */
	bool prestart;                 /* pre-start interpreters in clean sandboxes */
	struct isol8_packages packages; /* registries, their rules, what set-up bakes (install.h) */
	void (*log)(int level, const char *message);
	pthread_mutex_t setup_lock;    /* one image set-up at a time */
	/* the last Docker ping (health.c), under health_lock */
	pthread_mutex_t health_lock;
	int64_t health_at_ms;          /* isol8_now_ms() of it; 0: none yet */
	struct isol8_error health_err; /* its error (code 0: Docker answered) */
};

/* Egress of a filtered run (egress_run.c). A sandbox made with network
 * ISOL8_NET_FILTERED has sb->egress, its port of the proxy.
 *
 * isol8_run_egress_begin starts a use of sb's port for one phase of a run
 * (install, setup+code) of the execution res is the result of: rules NULL
 * allows nothing; the engine's byte cap less what res's earlier phases
 * moved (the cap is per execution); keep_log = options.log_network. A
 * no-op without sb->egress.
 * isol8_run_egress_end ends it: its decisions are appended to res (in
 * order, across phases) and its connections closed; res NULL drops them.
 * isol8_exec_spec_proxy_env adds the proxy environment to a phase's
 * program: HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy
 * (ISOL8_EGRESS_PROXY_URL), NO_PROXY/no_proxy (localhost,127.0.0.1,::1),
 * NODE_USE_ENV_PROXY=1, and the CA bundle variables when the operator set
 * one; a variable the request set itself is left as it set it. */
int isol8_run_egress_begin(struct isol8_engine *e, struct isol8_sandbox *sb, const struct isol8_egress_rules *rules,
			   const struct isol8_exec_result *res, bool keep_log, struct isol8_error *err);
void isol8_run_egress_end(struct isol8_engine *e, struct isol8_sandbox *sb, struct isol8_exec_result *res);
struct isol8_exec_spec;
int isol8_exec_spec_proxy_env(const struct isol8_engine *e, struct isol8_exec_spec *spec, struct isol8_error *err);
/* The same for a program started without the engine at hand (a session's
 * driver): ca_bundle says whether the sandbox has the operator's bundle. */
int isol8_proxy_env_add(struct isol8_exec_spec *spec, bool ca_bundle, struct isol8_error *err);
/* Frees a result's network logs (isol8_exec_result_release calls it). */
void isol8_exec_result_network_release(struct isol8_exec_result *res);

/* One program of a session call in the session's sandbox (session.c). */
struct isol8_agent_exec_io;
struct isol8_agent_exit;
int isol8_session_exec(struct isol8_sandbox *sb, const Isol8__Agent__V1__Exec *exec,
		       const struct isol8_agent_exec_io *io, struct isol8_agent_exit *out, struct isol8_error *err);

#define ISOL8_EXEC_MAX_ENV 512

/* The agent Exec request of one execution, with the storage it points into. */
struct isol8_exec_spec {
	Isol8__Agent__V1__Exec exec;
	const char *argv[ISOL8_RUNTIME_ARGV_MAX + 1];
	char **env;                       /* "K=V", owned */
	size_t n_env;
	Isol8__Agent__V1__File *files;    /* owned array; paths owned, contents borrowed */
	Isol8__Agent__V1__File **file_ptrs;
	size_t n_files;
};

/* The engine's defaults, policy and prewarm counts from cfg (settings.c);
 * released by isol8_engine_settings_release (safe on a zeroed engine). */
int isol8_engine_settings_init(struct isol8_engine *e, const struct isol8_engine_config *cfg,
			       struct isol8_error *err);
void isol8_engine_settings_release(struct isol8_engine *e);

/* A request with a code_url (remote_run.c): its code fetched under the
 * remote-code policy (engine/remote.h) while the caller may cancel, and
 * *copy made req with that code, no code_url, and the runtime and code
 * file extension resolved. *code owns the text copy points to. */
int isol8_engine_fetch_code(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			    const struct isol8_exec_sink *sink, Isol8__V1__ExecuteRequest *copy, char **code,
			    struct isol8_error *err);

/* Builds the Exec for req (code file, argv, environment, files, stdin, limits).
 * Environment names are checked (ISOL8_E_INVALID naming the variable). */
int isol8_exec_spec_build(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			  struct isol8_exec_spec *spec, struct isol8_error *err);
void isol8_exec_spec_release(struct isol8_exec_spec *spec);

/* The Exec of req's setup script: bash -c, the request's files, the run's
 * cwd and environment, no stdin; what it leaves running in the background
 * lives on for the code (keep_detached). */
int isol8_exec_spec_setup(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			  struct isol8_exec_spec *spec, struct isol8_error *err);

/* Builds the Exec of an interpreter that waits for its programs (a
 * launcher's prestart, a session's driver): argv (NULL-ended), the
 * environment every run of the runtime gets, cwd /sandbox and identity. */
int isol8_exec_spec_interpreter(const struct isol8_runtime *rt, const char *const *argv,
				struct isol8_exec_spec *spec, struct isol8_error *err);

/* Turns a failed sandbox creation because of a missing image into
 * ISOL8_E_PRECONDITION telling to run `isol8 setup`. Returns -err->code. */
int isol8_images_explain_create_error(struct isol8_engine *e, const struct isol8_container_options *opts,
				      struct isol8_error *err);

/* Whether the base image is built here (<prefix>:base) rather than pulled. */
bool isol8_images_base_is_local(const struct isol8_engine *e);


/* A growing list of ids or names filled by Docker list callbacks. */
struct isol8_id_list {
	char (*items)[256];
	size_t n, cap;
	bool oom;
};

/* An isol8_docker_container_fn that appends the id to an isol8_id_list. */
void isol8_id_list_collect(const char *id, const char *name, void *userdata);
bool isol8_id_list_has(const struct isol8_id_list *l, const char *id);

#endif
