/* Sandbox containers: settings and lifecycle. See sandbox.h. */
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/agent_client.h"
#include "docker/seccomp.h"
#include "base/sha256.h"
#include "base/util.h"

/* Capabilities the agent itself needs (user code runs as uid 1000 and keeps
 * none): SYS_NICE gives a pre-started interpreter normal scheduling back. */
static const char *const agent_caps[] = {"SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER", "SYS_NICE",
					 NULL};

/* Limits every process of the sandbox starts with, the agent's own too, so
 * no way of starting a process there escapes them. nofile: 4096 fds per
 * process (the agent's spawn limit; Docker's default would be the daemon's
 * own, about a million), so opening fds without end fails with EMFILE
 * after 4096 instead of eating kernel memory; core: no core dumps. No
 * nproc: RLIMIT_NPROC counts uid 1000 across the whole host, every sandbox
 * together; the pids cgroup (pids_limit) bounds processes per sandbox. */
#define ISOL8_SANDBOX_NOFILE 4096
static const struct isol8_ulimit sandbox_ulimits[] = {
	{"nofile", ISOL8_SANDBOX_NOFILE, ISOL8_SANDBOX_NOFILE},
	{"core", 0, 0},
};

int isol8_random_hex(char *buf, size_t bytes, struct isol8_error *err)
{
	unsigned char raw[32];

	if (bytes > sizeof(raw))
		return isol8_error_set(err, ISOL8_E_INTERNAL, "random id of %zu bytes is too long", bytes);
	if (getrandom(raw, bytes, 0) != (ssize_t)bytes)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "getrandom");
	for (size_t i = 0; i < bytes; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int isol8_container_key(const struct isol8_container_options *opts, char *buf, size_t size,
			struct isol8_error *err)
{
	char profile[65] = "";
	int n;

	if (opts->seccomp == ISOL8_SECCOMP_CUSTOM) {
		struct isol8_sha256 h;
		isol8_sha256_init(&h);
		isol8_sha256_update(&h, opts->seccomp_profile, strlen(opts->seccomp_profile));
		isol8_sha256_hex(&h, profile);
	}
	n = snprintf(buf, size, "%s image=%s mem=%lld cpu=%lld pids=%lld sandbox=%lld tmp=%lld ro=%d net=%d seccomp=%d%s%s",
		     opts->runtime, opts->image ? opts->image : opts->image_suffix, (long long)opts->memory_bytes,
		     (long long)opts->nano_cpus, (long long)opts->pids_limit, (long long)opts->sandbox_size,
		     (long long)opts->tmp_size, opts->readonly_rootfs, (int)opts->network, (int)opts->seccomp,
		     profile[0] ? ":" : "", profile);
	if (n < 0 || (size_t)n >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "options.image: \"%.64s...\" is too long (at most %zu bytes)",
				       opts->image ? opts->image : "", (size_t)ISOL8_POOL_KEY_MAX - 160);
	return 0;
}

bool isol8_container_reusable(const struct isol8_container_options *opts)
{
	return opts->readonly_rootfs && opts->image == NULL;
}

void isol8_sandbox_image(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			 char *buf, size_t size)
{
	if (opts->image != NULL)
		snprintf(buf, size, "%s", opts->image);
	else
		snprintf(buf, size, "%s:%s", env->image_prefix, opts->image_suffix);
}

static const char *seccomp_option(const struct isol8_container_options *opts)
{
	switch (opts->seccomp) {
	case ISOL8_SECCOMP_UNCONFINED:
		return "unconfined";
	case ISOL8_SECCOMP_CUSTOM:
		return opts->seccomp_profile;
	case ISOL8_SECCOMP_STRICT:
		break;
	}
	return isol8_seccomp_strict_profile;
}

int isol8_sandbox_spec_build(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			     const char *image, const char *id, const char *dir,
			     struct isol8_sandbox_spec *out, struct isol8_error *err)
{
	struct isol8_container_spec *s = &out->spec;
	int n;

	memset(out, 0, sizeof(*out));
	n = snprintf(out->bind_agent, sizeof(out->bind_agent), "%s:%s:ro", env->agent_path, ISOL8_AGENT_MOUNT);
	if (n < 0 || (size_t)n >= sizeof(out->bind_agent))
		return isol8_error_set(err, ISOL8_E_INVALID, "agent path \"%s\" is too long", env->agent_path);
	n = snprintf(out->bind_run, sizeof(out->bind_run), "%s:%s", dir, ISOL8_RUN_MOUNT);
	if (n < 0 || (size_t)n >= sizeof(out->bind_run))
		return isol8_error_set(err, ISOL8_E_INVALID, "run dir \"%s\" is too long", dir);
	out->binds[0] = out->bind_agent;
	out->binds[1] = out->bind_run;
	out->entrypoint[0] = ISOL8_AGENT_MOUNT;
	if (opts->network == ISOL8_NET_FILTERED) {
		out->entrypoint[1] = "--egress";
		out->entrypoint[2] = ISOL8_EGRESS_MOUNT;
		if (env->ca_bundle != NULL) {
			n = snprintf(out->bind_ca, sizeof(out->bind_ca), "%s:%s:ro", env->ca_bundle,
				     ISOL8_CA_BUNDLE_MOUNT);
			if (n < 0 || (size_t)n >= sizeof(out->bind_ca))
				return isol8_error_set(err, ISOL8_E_INVALID, "network.caBundle: \"%s\" is too long",
						       env->ca_bundle);
			out->binds[2] = out->bind_ca;
		}
	}
	snprintf(out->tmpfs_sandbox, sizeof(out->tmpfs_sandbox), "rw,exec,nosuid,nodev,size=%lld",
		 (long long)opts->sandbox_size);
	snprintf(out->tmpfs_tmp, sizeof(out->tmpfs_tmp), "rw,noexec,nosuid,nodev,size=%lld,mode=1777",
		 (long long)opts->tmp_size);
	out->tmpfs[0] = (struct isol8_tmpfs){"/sandbox", out->tmpfs_sandbox};
	out->tmpfs[1] = (struct isol8_tmpfs){"/tmp", out->tmpfs_tmp};
	snprintf(out->created, sizeof(out->created), "%lld", (long long)time(NULL));
	out->labels[0] = (struct isol8_label){"isol8.managed", "true"};
	out->labels[1] = (struct isol8_label){"isol8.runtime", opts->runtime};
	out->labels[2] = (struct isol8_label){"isol8.owner", env->owner};
	out->labels[3] = (struct isol8_label){"isol8.instance", env->instance_id};
	out->labels[4] = (struct isol8_label){"isol8.sandbox", id};
	out->labels[5] = (struct isol8_label){"isol8.created", out->created};

	s->image = image;
	s->entrypoint = out->entrypoint;
	s->user = "0:0";
	s->working_dir = "/sandbox";
	s->binds = out->binds;
	s->tmpfs = out->tmpfs;
	s->n_tmpfs = ISOL8_ARRAY_LEN(out->tmpfs);
	s->ulimits = sandbox_ulimits;
	s->n_ulimits = ISOL8_ARRAY_LEN(sandbox_ulimits);
	s->memory_bytes = opts->memory_bytes;
	s->memory_swap_bytes = opts->memory_bytes;
	s->nano_cpus = opts->nano_cpus;
	s->pids_limit = opts->pids_limit;
	s->readonly_rootfs = opts->readonly_rootfs;
	s->network_mode = opts->network == ISOL8_NET_HOST ? "host" : "none";
	/* Docker's network layer is skipped (most of a start's time); the
	 * sandbox still gets a network namespace of its own with only lo, up
	 * (a filtered sandbox's relay listens there). */
	s->network_disabled = opts->network != ISOL8_NET_HOST;
	s->no_new_privileges = true;
	s->seccomp = seccomp_option(opts);
	s->cap_drop_all = true;
	s->cap_add = agent_caps;
	s->labels = out->labels;
	s->n_labels = ISOL8_ARRAY_LEN(out->labels);
	return 0;
}

/* Removes the files of a sandbox's run dir (only the agent's and the egress
 * proxy's sockets live there, no subdirectories) and the dir itself. */
static void remove_run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

static int make_run_dir(const struct isol8_sandbox_env *env, struct isol8_sandbox *sb,
			struct isol8_error *err)
{
	char parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "%s/sandboxes", env->run_dir);
	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create \"%s\"", parent);
	if ((size_t)snprintf(sb->dir, sizeof(sb->dir), "%s/%s", parent, sb->id) >= sizeof(sb->dir) ||
	    (size_t)snprintf(sb->socket, sizeof(sb->socket), "%s/agent.sock", sb->dir) >= sizeof(sb->socket))
		return isol8_error_set(err, ISOL8_E_INVALID, "run dir \"%s\" is too long", env->run_dir);
	if (strlen(sb->socket) >= 108)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "agent socket path \"%s\" is longer than a unix socket allows",
				       sb->socket);
	if (mkdir(sb->dir, 0700) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create \"%s\"", sb->dir);
	return 0;
}

/* The sandbox's port of the proxy, listening before its agent starts. */
static int open_egress_port(const struct isol8_sandbox_env *env, struct isol8_sandbox *sb, struct isol8_error *err)
{
	char path[PATH_MAX];

	if (env->egress == NULL)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "options.network: \"filtered\" needs the egress proxy, "
				       "which this isol8d has not started");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", sb->dir, ISOL8_EGRESS_SOCKET_NAME) >= 108)
		return isol8_error_set(err, ISOL8_E_INVALID, "egress socket path \"%s\" is longer than a unix socket allows",
				       path);
	sb->egress_ca = env->ca_bundle != NULL;
	return isol8_egress_port_open(env->egress, path, sb->id, &sb->egress, err);
}

int isol8_sandbox_create(const struct isol8_sandbox_env *env, const struct isol8_container_options *opts,
			 struct isol8_sandbox *out, struct isol8_error *err)
{
	struct isol8_sandbox_spec spec;
	int ret;

	memset(out, 0, sizeof(*out));
	out->launcher_fd = -1;
	out->runtime = opts->runtime;
	isol8_sandbox_image(env, opts, out->image, sizeof(out->image));
	ret = isol8_random_hex(out->id, 16, err);
	if (ret == 0)
		ret = make_run_dir(env, out, err);
	if (ret < 0)
		return ret;
	ret = isol8_sandbox_spec_build(env, opts, out->image, out->id, out->dir, &spec, err);
	if (ret == 0 && opts->network == ISOL8_NET_FILTERED)
		ret = open_egress_port(env, out, err);
	if (ret == 0)
		ret = isol8_docker_container_create(env->docker, &spec.spec, out->container_id, err);
	if (ret < 0) {
		isol8_egress_port_close(out->egress);
		out->egress = NULL;
		remove_run_dir(out->dir);
		return isol8_error_prefix(err, "cannot create the sandbox from image \"%s\"", out->image);
	}
	ret = isol8_docker_container_start(env->docker, out->container_id, err);
	if (ret == 0)
		ret = isol8_agent_wait_ready(out->socket, ISOL8_AGENT_READY_MS, err);
	if (ret < 0) {
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		isol8_error_prefix(err, "sandbox %.12s did not start", out->container_id);
		isol8_sandbox_destroy(env, out, &ignored);
		return ret;
	}
	return 0;
}

void isol8_sandbox_drop_launcher(struct isol8_sandbox *sb)
{
	if (sb->launcher_fd >= 0)
		close(sb->launcher_fd);
	sb->launcher_fd = -1;
	sb->launcher_running = false;
}

int isol8_sandbox_reset(struct isol8_sandbox *sb, struct isol8_error *err)
{
	static const char *const wipe[] = {"/sandbox", "/tmp", "/dev/shm", "/dev/mqueue", NULL};

	isol8_sandbox_drop_launcher(sb);
	return isol8_agent_reset(sb->socket, ISOL8_SANDBOX_UID, wipe, ISOL8_RESET_TIMEOUT_MS, err);
}

int isol8_sandbox_destroy(const struct isol8_sandbox_env *env, struct isol8_sandbox *sb,
			  struct isol8_error *err)
{
	int ret = 0;

	isol8_sandbox_drop_launcher(sb);
	if (sb->container_id[0] != '\0')
		ret = isol8_docker_container_remove(env->docker, sb->container_id, true, err);
	isol8_egress_port_close(sb->egress);
	sb->egress = NULL;
	if (sb->dir[0] != '\0')
		remove_run_dir(sb->dir);
	return ret;
}

static void count_container(const char *id, const char *name, void *userdata)
{
	(void)id;
	(void)name;
	(*(int *)userdata)++;
}

int isol8_sandbox_remove_stale_dirs(const struct isol8_sandbox_env *env, int *removed, struct isol8_error *err)
{
	char parent[PATH_MAX], dir[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	*removed = 0;
	snprintf(parent, sizeof(parent), "%s/sandboxes", env->run_dir);
	d = opendir(parent);
	if (d == NULL)
		return errno == ENOENT ? 0 : isol8_error_errno(err, ISOL8_E_IO, errno, "cannot open \"%s\"", parent);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		char filter[300];
		int owners = 0;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= 200)
			continue;
		snprintf(filter, sizeof(filter), "isol8.sandbox=%s", de->d_name);
		ret = isol8_docker_container_list(env->docker, filter, count_container, &owners, err);
		if (ret == 0 && owners == 0) {
			if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", parent, de->d_name) < sizeof(dir)) {
				remove_run_dir(dir);
				(*removed)++;
			}
		}
	}
	closedir(d);
	return ret;
}

static int docker_create(void *ctx, const struct isol8_container_options *opts, struct isol8_sandbox *out,
			 struct isol8_error *err)
{
	return isol8_sandbox_create(ctx, opts, out, err);
}

static int docker_reset(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err)
{
	(void)ctx;
	return isol8_sandbox_reset(sb, err);
}

static int docker_destroy(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err)
{
	return isol8_sandbox_destroy(ctx, sb, err);
}

static int docker_ping(void *ctx, struct isol8_sandbox *sb, int timeout_ms, struct isol8_error *err)
{
	(void)ctx;
	/* a waiting handler's connection answers without a new handler */
	if (sb->launcher_fd >= 0)
		return isol8_agent_ping_on(sb->launcher_fd, timeout_ms, err);
	return isol8_agent_ping(sb->socket, timeout_ms, err);
}

struct isol8_sandbox_ops isol8_sandbox_docker_ops(const struct isol8_sandbox_env *env)
{
	return (struct isol8_sandbox_ops){docker_create, docker_reset, docker_destroy, docker_ping, (void *)env};
}
