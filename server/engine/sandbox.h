/*
 * One sandbox: a container running isol8-agent as PID 1, with its run
 * directory (RUN_DIR/sandboxes/<id>/, mounted at /.isol8/run) holding the
 * agent's socket. This module turns options into the container's settings
 * (DESIGN section 3) and owns the container's life: create, start, wait for
 * the agent, destroy.
 */
#ifndef ISOL8_SANDBOX_H
#define ISOL8_SANDBOX_H

#include <limits.h>

#include "docker.h"
#include "options.h"

#define ISOL8_AGENT_MOUNT "/.isol8/agent"
#define ISOL8_RUN_MOUNT "/.isol8/run"
#define ISOL8_AGENT_READY_MS 15000

/* What every sandbox of one daemon shares. */
struct isol8_sandbox_env {
	struct isol8_docker *docker;
	const char *run_dir;      /* host directory; sandboxes/<id> is made under it */
	const char *agent_path;   /* host path of the static isol8-agent */
	const char *owner;        /* label isol8.owner: identifies this daemon across restarts */
	const char *instance_id;  /* label isol8.instance: this run of the daemon */
	const char *image_prefix; /* "isol8" -> images "isol8:<runtime>" */
};

struct isol8_sandbox {
	char id[33];              /* random hex */
	char container_id[65];
	char dir[PATH_MAX];       /* host run dir of this sandbox */
	char socket[PATH_MAX];    /* host path of the agent socket */
	char image[256];
};

/* The container settings for opts, with storage for every string they point at. */
struct isol8_sandbox_spec {
	struct isol8_container_spec spec;
	const char *entrypoint[2];
	char bind_agent[PATH_MAX + 64];
	char bind_run[PATH_MAX + 64];
	const char *binds[3];
	char tmpfs_sandbox[128];
	char tmpfs_tmp[128];
	struct isol8_tmpfs tmpfs[2];
	char created[24];
	struct isol8_label labels[6];
};

/* The image a sandbox for opts runs: the override, or "<prefix>:<runtime>". */
void isol8_sandbox_image(const struct isol8_sandbox_env *env, const struct isol8_exec_options *opts,
			 char *buf, size_t size);

/* Fills out->spec for a sandbox with id `id` whose run dir is `dir`. Pure. */
int isol8_sandbox_spec_build(const struct isol8_sandbox_env *env, const struct isol8_exec_options *opts,
			     const char *image, const char *id, const char *dir,
			     struct isol8_sandbox_spec *out, struct isol8_error *err);

/* Creates and starts a sandbox and waits until its agent answers. On failure
 * nothing is left behind. */
int isol8_sandbox_create(const struct isol8_sandbox_env *env, const struct isol8_exec_options *opts,
			 struct isol8_sandbox *out, struct isol8_error *err);

/* Removes the container (force) and the run directory. */
int isol8_sandbox_destroy(const struct isol8_sandbox_env *env, struct isol8_sandbox *sb,
			  struct isol8_error *err);

/* Random lowercase hex id of 2*bytes characters into buf (size >= 2*bytes+1). */
int isol8_random_hex(char *buf, size_t bytes, struct isol8_error *err);

#endif
