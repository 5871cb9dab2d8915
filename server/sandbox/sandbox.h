/*
 * One sandbox: a container running isol8-agent as PID 1, with its run
 * directory (RUN_DIR/sandboxes/<id>/, mounted at /.isol8/run) holding the
 * agent's socket. This module turns container options into the container's
 * settings (DESIGN section 3) and owns the container's life: create, start,
 * wait for the agent, reset, destroy. The registry (registry.h) decides when.
 */
#ifndef ISOL8_SANDBOX_H
#define ISOL8_SANDBOX_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "docker/docker.h"
#include "egress/egress.h"

#define ISOL8_AGENT_MOUNT "/.isol8/agent"
#define ISOL8_RUN_MOUNT "/.isol8/run"
/* Where a filtered sandbox's agent relays to, and where the operator's CA
 * bundle (network.caBundle) is mounted read-only. */
#define ISOL8_EGRESS_MOUNT ISOL8_RUN_MOUNT "/egress.sock"
#define ISOL8_CA_BUNDLE_MOUNT "/.isol8/ca-bundle.pem"
#define ISOL8_AGENT_READY_MS 15000
#define ISOL8_SANDBOX_UID 1000
#define ISOL8_SANDBOX_GID 1000
/* A reset (kill the uid's processes, wipe, verify) that takes longer fails. */
#define ISOL8_RESET_TIMEOUT_MS 5000
/* How long an acquire waits for a pooled sandbox's agent to answer a ping. */
#define ISOL8_ACQUIRE_PING_MS 1000

enum isol8_network { ISOL8_NET_NONE, ISOL8_NET_HOST, ISOL8_NET_FILTERED };
enum isol8_seccomp { ISOL8_SECCOMP_STRICT, ISOL8_SECCOMP_UNCONFINED, ISOL8_SECCOMP_CUSTOM };

/* Everything a container is made with: two executions whose container
 * options are equal may share a pooled sandbox (this is the pool key). */
struct isol8_container_options {
	const char *runtime;          /* runtime name (static), for the label */
	const char *image_suffix;     /* "<prefix>:<suffix>" unless image is set */
	const char *image;            /* override, or NULL for the runtime's image */
	int64_t memory_bytes;
	int64_t nano_cpus;
	int64_t pids_limit;
	int64_t sandbox_size;
	int64_t tmp_size;
	bool readonly_rootfs;
	enum isol8_network network;
	enum isol8_seccomp seccomp;
	const char *seccomp_profile;  /* custom profile JSON */
};

/* The canonical text of opts, equal for equal options: the pool key. A
 * custom seccomp profile enters as its SHA-256. Fails only when buf is too
 * small (ISOL8_E_INVALID). */
#define ISOL8_POOL_KEY_MAX 512
int isol8_container_key(const struct isol8_container_options *opts, char *buf, size_t size,
			struct isol8_error *err);

/* Whether a used sandbox of these options may be reset and used again: not
 * with a writable root (the user may have changed the image's files) nor
 * with a custom image (we do not know what it keeps outside the wiped dirs). */
bool isol8_container_reusable(const struct isol8_container_options *opts);

/* What every sandbox of one daemon shares. */
struct isol8_sandbox_env {
	struct isol8_docker *docker;
	const char *run_dir;      /* host directory; sandboxes/<id> is made under it */
	const char *agent_path;   /* host path of the static isol8-agent */
	const char *owner;        /* label isol8.owner: identifies this daemon across restarts */
	const char *instance_id;  /* label isol8.instance: this run of the daemon */
	const char *image_prefix; /* "isol8" -> images "isol8:<runtime>" */
	/* The egress proxy filtered sandboxes get a port of (NULL: filtered
	 * sandboxes cannot be made), and the operator's CA bundle they trust
	 * besides the image's (host path, or NULL). */
	struct isol8_egress *egress;
	const char *ca_bundle;
};

struct isol8_sandbox {
	char id[33];              /* random hex */
	char container_id[65];
	char dir[PATH_MAX];       /* host run dir of this sandbox */
	char socket[PATH_MAX];    /* host path of the agent socket */
	char image[256];
	const char *runtime;      /* static */
	int launcher_fd;          /* open prestart connection (a handler waiting for its Exec), or -1 */
	bool launcher_running;    /* ... with a pre-started interpreter behind it */
	/* A session's sandbox: launcher_fd is its agent session connection (the
	 * interpreter driver behind it), -1 until its first call; session_lost:
	 * that connection was dropped, so the next call's state is new. */
	bool session_lost;
	/* A filtered sandbox's port of the egress proxy (RUN_DIR/sandboxes/<id>/
	 * egress.sock), opened before the container starts, closed by destroy;
	 * NULL otherwise. */
	struct isol8_egress_port *egress;
	bool egress_ca;           /* ... and it has the operator's CA bundle mounted */
};

/* The container settings for opts, with storage for every string they point at. */
struct isol8_sandbox_spec {
	struct isol8_container_spec spec;
	const char *entrypoint[4];
	char bind_agent[PATH_MAX + 64];
	char bind_run[PATH_MAX + 64];
	char bind_ca[PATH_MAX + 64];
	const char *binds[4];
	char tmpfs_sandbox[128];
	char tmpfs_tmp[128];
	struct isol8_tmpfs tmpfs[2];
	char created[24];
	struct isol8_label labels[6];
};

/* The image a sandbox for opts runs: the override, or "<prefix>:<suffix>". */
void isol8_sandbox_image(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			 char *buf, size_t size);

/* Fills out->spec for a sandbox with id `id` whose run dir is `dir`. Pure. */
int isol8_sandbox_spec_build(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			     const char *image, const char *id, const char *dir,
			     struct isol8_sandbox_spec *out, struct isol8_error *err);

/* Creates and starts a sandbox and waits until its agent answers. On failure
 * nothing is left behind. */
int isol8_sandbox_create(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			 struct isol8_sandbox *out, struct isol8_error *err);

/* Makes a used sandbox as it was new, through its agent: kills every process
 * of the sandbox uid, removes its IPC objects, wipes /sandbox, /tmp and
 * /dev/shm, and has the agent verify that nothing is left. */
int isol8_sandbox_reset(struct isol8_sandbox *sb, struct isol8_error *err);

/* Closes the prestart connection, if any (the agent then kills the
 * interpreter waiting behind it). */
void isol8_sandbox_drop_launcher(struct isol8_sandbox *sb);

/* Removes the container (force) and the run directory. */
int isol8_sandbox_destroy(const struct isol8_sandbox_env *env, struct isol8_sandbox *sb,
			  struct isol8_error *err);

/* Removes the run directories under RUN_DIR/sandboxes/ that no container
 * (of any daemon) owns any more, e.g. those of a killed daemon. Sets
 * *removed to how many went. */
int isol8_sandbox_remove_stale_dirs(const struct isol8_sandbox_env *env, int *removed, struct isol8_error *err);

/* What the registry does to sandboxes, as a seam: the one real
 * implementation is isol8_sandbox_docker_ops (Docker and the agent); unit
 * tests put a fake in its place. ctx is passed to every call. */
struct isol8_sandbox_ops {
	int (*create)(void *ctx, const struct isol8_container_options *opts, struct isol8_sandbox *out,
		      struct isol8_error *err);
	int (*reset)(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err);
	int (*destroy)(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err);
	/* the agent answers within timeout_ms (over the prestart connection when open) */
	int (*ping)(void *ctx, struct isol8_sandbox *sb, int timeout_ms, struct isol8_error *err);
	void *ctx;
};

/* The real sandbox operations of env (which must outlive their use). */
struct isol8_sandbox_ops isol8_sandbox_docker_ops(const struct isol8_sandbox_env *env);

/* Random lowercase hex id of 2*bytes characters into buf (size >= 2*bytes+1). */
int isol8_random_hex(char *buf, size_t bytes, struct isol8_error *err);

#endif
