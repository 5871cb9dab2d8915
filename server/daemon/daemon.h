/*
 * isol8d: the gRPC face of the engine. This header is shared by the
 * daemon's files: its configuration, its state, and the service routes.
 *
 * Threads: the main thread waits for signals and the idle timer; gRPC
 * handlers run on the binding's worker threads and touch only the service
 * layer and the engine (thread safe).
 */
#ifndef ISOL8D_H
#define ISOL8D_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "engine/engine.h"
#include "engine/policy.h"
#include "engine/remote.h"
#include "egress/egress.h"
#include "service/service.h"
#include "rpc/rpc.h"

#define ISOL8D_MAX_LISTEN 8

struct isol8d_config {
	char socket_path[108];
	const char *listen[ISOL8D_MAX_LISTEN];  /* "HOST:PORT" TCP listeners */
	int n_listen;
	const char *api_key;
	const char *tls_cert, *tls_key;
	char run_dir[PATH_MAX];
	char agent_path[PATH_MAX];
	const char *images_dir;
	const char *base_image;
	const char *image_prefix;
	const char *docker_socket;
	int idle_exit_s;      /* 0: never */
	int max_concurrent;
	bool secure_pool;     /* --pool-strategy secure */
	int prewarm;          /* clean sandboxes per runtime */
	int max_warm;         /* 0: the engine's default */
	int max_sandboxes;    /* 0: the engine's default */
	bool no_prestart;     /* --no-prestart */
	int grace_ms;         /* how long in-flight calls may finish at shutdown */
	int log_level;
	bool log_json;

	const char *config_path;      /* --config, or NULL: $ISOL8_CONFIG, ./isol8.config.json, ~/.isol8/config.json */
	bool check_config;            /* --check-config: print the resolved configuration and exit */
	struct isol8_config *file;    /* the resolved configuration (file, defaults, flags), owned */
	/* what the engine gets from it */
	int prewarm_by_runtime[ISOL8_RT_COUNT];
	struct isol8_exec_defaults defaults;  /* profile and strings point into file */
	struct isol8_policy policy;           /* allowed_images point into file */
	struct isol8_remote_settings remote_code; /* remoteCode.*, network.allowedRanges; lists point into file */
	bool auto_prune;
	int64_t prune_age_ms;
	int max_sessions;                     /* sessions.max (-1: none allowed) */
	int64_t session_idle_ms;              /* sessions.idleTimeoutMs */
	/* network: the egress proxy's settings (guard, timeouts, limits), the
	 * operator's CA bundle (absolute host path, "" for none) and the
	 * bytes one execution may move through it */
	struct isol8_egress_config egress;
	char ca_bundle[PATH_MAX];
	int64_t egress_max_bytes;
};

struct isol8d {
	struct isol8d_config cfg;
	struct isol8_engine *engine;
	struct isol8_service service;   /* calls and their accounting, on the engine */
	struct isol8_rpc_server *server;
	struct isol8_egress *egress;    /* the egress proxy of filtered sandboxes */
	atomic_int health_state;        /* the last health check's answer (grpc_other.c) */
};

/* Parses argv, the environment and the configuration file (built-in
 * defaults < file < flags). Returns 0, 1 when it printed help, the version
 * or the checked configuration (exit 0), or negative with err naming the
 * bad flag or key. isol8d_config_release after, either way. */
int isol8d_config_parse(struct isol8d_config *cfg, int argc, char **argv, struct isol8_error *err);
void isol8d_config_release(struct isol8d_config *cfg);

/* config_file.c: the resolved configuration file (cfg->file) onto cfg, and
 * the flags given (long option names, "max-concurrent") written back into it
 * with their source. */
int isol8d_config_file_apply(struct isol8d_config *cfg, struct isol8_error *err);
int isol8d_config_file_flags(struct isol8d_config *cfg, const char *const *flags, size_t n, struct isol8_error *err);

/* Routes every method of the services isol8d serves. */
int isol8d_routes_exec(struct isol8d *d, struct isol8_error *err);
int isol8d_route_interactive(struct isol8d *d, struct isol8_error *err);

/* grpc_exec.c, for every executing method: output as ExecuteStream sends
 * it (events written to call, input none yet); and an execution of a call
 * already begun, its result sent as the one reply or, streamed, as the
 * last event. On an error nothing is sent and the call is not finished. */
void isol8d_stream_output_init(struct isol8_service_output *output, struct isol8_rpc_call *call);
int isol8d_execute_begun(struct isol8d *d, struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
			 const struct isol8_service_output *output, struct isol8_error *err);
int isol8d_routes_admin(struct isol8d *d, struct isol8_error *err);
int isol8d_routes_files(struct isol8d *d, struct isol8_error *err);
int isol8d_routes_other(struct isol8d *d, struct isol8_error *err);
int isol8d_routes_sessions(struct isol8d *d, struct isol8_error *err);

/* Marks the start of a call and checks its credentials: a presented
 * "authorization: Bearer <key>" must match the daemon's key (also on the
 * unix socket); without one only local unix socket calls pass. On failure the
 * call is finished with UNAUTHENTICATED and false is returned; either way
 * isol8d_call_end must follow. */
bool isol8d_call_begin(struct isol8d *d, struct isol8_rpc_call *call);
void isol8d_call_end(struct isol8d *d);

/* Finishes a call with the error's status and message. */
void isol8d_finish_error(struct isol8_rpc_call *call, const struct isol8_error *err);

/* Sends the one reply of a call and finishes it OK (or with the write's error). */
void isol8d_reply(struct isol8_rpc_call *call, const ProtobufCMessage *msg);

#endif
