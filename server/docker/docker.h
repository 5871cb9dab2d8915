/*
 * A Docker Engine API client over the engine's unix socket (libcurl + cJSON).
 * JSON stays inside this module: callers see only typed C structs.
 *
 * Thread safety: one struct isol8_docker may be used from many threads at
 * once; each request uses its own curl handle.
 * Errors: ISOL8_E_UNAVAILABLE when the socket cannot be reached (the message
 * names the socket path and the cause); ISOL8_E_NOT_FOUND for a missing image
 * or container; other engine errors carry Docker's own message.
 * Every response body is bounded (ISOL8_DOCKER_MAX_BODY).
 */
#ifndef ISOL8_DOCKER_H
#define ISOL8_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"

#define ISOL8_DOCKER_MAX_BODY (8u * 1024u * 1024u)
#define ISOL8_DOCKER_API_VERSION "v1.41"

struct isol8_docker;

struct isol8_label {
	const char *key;
	const char *value;
};

struct isol8_tmpfs {
	const char *path;    /* "/sandbox" */
	const char *options; /* "rw,exec,size=512m" */
};

/* A resource limit every process of the container starts with
 * (HostConfig.Ulimits). */
struct isol8_ulimit {
	const char *name; /* "nofile", "core", ... */
	int64_t soft;
	int64_t hard;
};

/* What a sandbox container is created with. NULL/0 fields are left out of
 * the request (Docker's default applies). */
struct isol8_container_spec {
	const char *image;
	const char *name;                     /* optional container name */
	const char *const *entrypoint;        /* NULL-terminated, e.g. {"/.isol8/agent", NULL} */
	const char *const *cmd;               /* NULL-terminated, optional */
	const char *const *env;               /* NULL-terminated "K=V" */
	const char *user;                     /* "0:0" */
	const char *working_dir;
	const char *const *binds;             /* NULL-terminated "host:container[:ro]" */
	const struct isol8_tmpfs *tmpfs;      /* n_tmpfs entries */
	size_t n_tmpfs;
	const struct isol8_ulimit *ulimits;   /* n_ulimits entries */
	size_t n_ulimits;
	int64_t memory_bytes;                 /* HostConfig.Memory */
	int64_t memory_swap_bytes;            /* HostConfig.MemorySwap (memory + swap) */
	int64_t nano_cpus;                    /* HostConfig.NanoCpus */
	int64_t pids_limit;                   /* HostConfig.PidsLimit */
	bool readonly_rootfs;                 /* HostConfig.ReadonlyRootfs */
	const char *network_mode;             /* "none", "host", "bridge" */
	bool no_new_privileges;               /* SecurityOpt no-new-privileges */
	/* SecurityOpt seccomp: NULL = Docker's default profile, "unconfined",
	 * or the profile's JSON text. */
	const char *seccomp;
	bool cap_drop_all;                    /* CapDrop ["ALL"] */
	const char *const *cap_add;           /* NULL-terminated, e.g. "SETUID" */
	const struct isol8_label *labels;     /* n_labels entries */
	size_t n_labels;
	bool network_disabled;                /* Config.NetworkDisabled */
};

struct isol8_docker_version {
	char version[64];     /* "20.10.24" */
	char api_version[16]; /* "1.41" */
};

struct isol8_docker_container_state {
	bool running;
	int pid;
	int exit_code;
	bool oom_killed;
};

/* A file of an image build context. */
struct isol8_build_file {
	const char *name; /* path inside the context, e.g. "Dockerfile" */
	const void *data;
	size_t len;
	unsigned mode;    /* 0644 if 0 */
};

/* One line of build progress ("stream" text, or "status"); called from the
 * calling thread while the build runs. */
typedef void (*isol8_docker_progress_fn)(const char *line, void *userdata);

/* Called once per listed container. */
typedef void (*isol8_docker_container_fn)(const char *id, const char *name, void *userdata);

/* socket_path NULL: $DOCKER_HOST if it is unix://..., else /var/run/docker.sock.
 * A DOCKER_HOST that is not a unix socket is an ISOL8_E_INVALID error. */
int isol8_docker_new(struct isol8_docker **out, const char *socket_path, struct isol8_error *err);
void isol8_docker_free(struct isol8_docker *d);
const char *isol8_docker_socket_path(const struct isol8_docker *d);

/* GET /_ping, given ISOL8_DOCKER_PING_TIMEOUT_MS (2 s) to answer. */
int isol8_docker_ping(struct isol8_docker *d, struct isol8_error *err);
int isol8_docker_version(struct isol8_docker *d, struct isol8_docker_version *out, struct isol8_error *err);

/* Image id (sha256:...) into id_buf, and the value of label `label` (may be
 * NULL) into label_buf ("" when the image lacks it). NOT_FOUND if no image. */
int isol8_docker_image_inspect(struct isol8_docker *d, const char *name, char *id_buf, size_t id_size,
			       const char *label, char *label_buf, size_t label_size, struct isol8_error *err);

/* Builds an image from in-memory context files (a tar is made here), tagged
 * `tag`, with labels and build args (key/value). Progress lines go to cb.
 * A failed build is an error carrying Docker's error message. */
int isol8_docker_image_build(struct isol8_docker *d, const char *tag, const struct isol8_build_file *files,
			     size_t n_files, const struct isol8_label *labels, size_t n_labels,
			     const struct isol8_label *build_args, size_t n_build_args,
			     isol8_docker_progress_fn cb, void *userdata, struct isol8_error *err);

/* The same with the build's RUN steps on a network: "host" (the host's,
 * so a registry on its loopback is reachable) or "none"; NULL: Docker's
 * default bridge. */
int isol8_docker_image_build_on(struct isol8_docker *d, const char *network_mode, const char *tag,
				const struct isol8_build_file *files, size_t n_files, const struct isol8_label *labels,
				size_t n_labels, const struct isol8_label *build_args, size_t n_build_args,
				isol8_docker_progress_fn cb, void *userdata, struct isol8_error *err);

/* Imports a root file system: tar_len bytes of a tar read from tar_fd become
 * image `tag`, with Dockerfile-style changes ("ENV K=V", "LABEL k=v",
 * "CMD [...]"; NULL-terminated, may be NULL). Progress lines go to cb. */
int isol8_docker_image_import(struct isol8_docker *d, const char *tag, int tar_fd, size_t tar_len,
			      const char *const *changes, isol8_docker_progress_fn cb, void *userdata,
			      struct isol8_error *err);

int isol8_docker_image_remove(struct isol8_docker *d, const char *name, bool force, struct isol8_error *err);

/* Lists images with this label ("key" or "key=value"), calling cb(id, first tag). */
int isol8_docker_image_list(struct isol8_docker *d, const char *label_filter, isol8_docker_container_fn cb,
			    void *userdata, struct isol8_error *err);

/* Creates a container; its id (64 hex chars) into id_out. */
int isol8_docker_container_create(struct isol8_docker *d, const struct isol8_container_spec *spec,
				  char id_out[65], struct isol8_error *err);
int isol8_docker_container_start(struct isol8_docker *d, const char *id, struct isol8_error *err);
int isol8_docker_container_kill(struct isol8_docker *d, const char *id, const char *signal,
				struct isol8_error *err);
/* force: kill first if running. A container already gone is not an error. */
int isol8_docker_container_remove(struct isol8_docker *d, const char *id, bool force, struct isol8_error *err);
int isol8_docker_container_inspect(struct isol8_docker *d, const char *id,
				   struct isol8_docker_container_state *out, struct isol8_error *err);
/* Lists containers (running or not) with this label ("key" or "key=value"). */
int isol8_docker_container_list(struct isol8_docker *d, const char *label_filter, isol8_docker_container_fn cb,
				void *userdata, struct isol8_error *err);

/* One listed container, for isol8_docker_container_list_entries: its id,
 * when it was created, and its labels (isol8_docker_entry_label). */
struct isol8_docker_entry {
	const char *id;
	int64_t created;        /* seconds since the epoch */
	const void *labels;     /* the listing's Labels object */
};
typedef void (*isol8_docker_entry_fn)(const struct isol8_docker_entry *c, void *userdata);

/* Lists containers (any state) with this label, calling cb for each. */
int isol8_docker_container_list_entries(struct isol8_docker *d, const char *label_filter, isol8_docker_entry_fn cb,
					void *userdata, struct isol8_error *err);

/* The value of label key of a listed container, or "" without it. */
const char *isol8_docker_entry_label(const struct isol8_docker_entry *c, const char *key);

/* The container-create request body for a spec (caller frees). Pure: no I/O.
 * Exposed for tests. */
char *isol8_docker_container_spec_json(const struct isol8_container_spec *spec, struct isol8_error *err);

#endif
