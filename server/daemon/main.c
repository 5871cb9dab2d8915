/*
 * isol8d: serves the isol8 gRPC services on a unix socket (and TCP when
 * asked), one daemon per socket (an flock on "<socket>.lock" says who owns
 * it). On start it removes containers a dead daemon of the same socket left;
 * on SIGTERM/SIGINT (or after --idle-exit seconds without calls) it stops
 * accepting, lets in-flight calls finish for --grace-ms, cancels the rest,
 * removes its containers and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"

/* Keys of the file that are read and checked but serve nothing yet: an
 * operator who set them must not believe they act. */
static void warn_unserved_keys(const struct isol8d_config *cfg)
{
	static const char *const keys[] = {"poolSize.dirty"};

	for (size_t i = 0; cfg->file != NULL && i < ISOL8_ARRAY_LEN(keys); i++)
		if (isol8_config_source_of(cfg->file, keys[i]) == ISOL8_CONFIG_FILE)
			isol8_log(ISOL8_LOG_WARN, "config: %s is set but not served yet by this isol8d (it has no effect)",
				  keys[i]);
}

static int take_socket(const struct isol8d_config *cfg, int *lock_fd, struct isol8_error *err)
{
	char lock_path[PATH_MAX];
	int fd;

	if (isol8_rpc_unix_prepare(cfg->socket_path, err) < 0)
		return isol8_error_prefix(err, "--socket");
	snprintf(lock_path, sizeof(lock_path), "%s.lock", cfg->socket_path);
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot open \"%s\"", lock_path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "another isol8d is serving \"%s\"",
				       cfg->socket_path);
	}
	*lock_fd = fd; /* listening replaces a stale socket there */
	return 0;
}

static const char *const reserved_paths[] = {
	"/grpc.health.v1.Health/Check", "/isol8.v1.Admin/Info",		"/isol8.v1.Admin/Setup",
	"/isol8.v1.Admin/Cleanup",     "/isol8.v1.Admin/ListSessions", "/isol8.v1.Isol8/DestroySession",
};

static int start_server(struct isol8d *d, struct isol8_error *err)
{
	struct isol8_rpc_server_config rcfg = ISOL8_RPC_SERVER_CONFIG_INIT;
	char addr[160];
	int ret;

	/* running and waiting executions (engine), plus admin and health calls */
	rcfg.max_calls = d->cfg.max_concurrent * 5 + 16;
	ret = isol8_rpc_server_new(&d->server, &rcfg, err);
	if (ret < 0)
		return ret;
	snprintf(addr, sizeof(addr), "unix:%s", d->cfg.socket_path);
	ret = isol8_rpc_server_listen(d->server, addr, NULL, NULL, NULL, err);
	for (int i = 0; ret == 0 && i < d->cfg.n_listen; i++) {
		int port = 0;
		ret = isol8_rpc_server_listen(d->server, d->cfg.listen[i], d->cfg.tls_cert, d->cfg.tls_key, &port, err);
		if (ret < 0)
			isol8_error_prefix(err, "--listen");
		else
			isol8_log(ISOL8_LOG_INFO, "listening on %s (port %d%s)", d->cfg.listen[i], port,
				  d->cfg.tls_cert ? ", TLS" : "");
		if (ret == 0 && d->cfg.tls_cert == NULL && !isol8_rpc_addr_is_loopback(d->cfg.listen[i]))
			isol8_log(ISOL8_LOG_WARN,
				  "listening on %s without TLS: the API key and all code travel in clear; use "
				  "--tls-cert and --tls-key",
				  d->cfg.listen[i]);
	}
	if (ret == 0)
		ret = isol8d_routes_exec(d, err);
	if (ret == 0)
		ret = isol8d_routes_admin(d, err);
	if (ret == 0)
		ret = isol8d_routes_files(d, err);
	if (ret == 0)
		ret = isol8d_routes_other(d, err);
	if (ret == 0)
		ret = isol8d_routes_sessions(d, err);
	/* health and admin calls are answered however many executions are in flight */
	for (size_t i = 0; ret == 0 && i < ISOL8_ARRAY_LEN(reserved_paths); i++)
		ret = isol8_rpc_server_reserve(d->server, reserved_paths[i], err);
	if (ret == 0)
		ret = isol8_rpc_server_start(d->server, err);
	return ret;
}

static void log_pool_event(int level, const char *message)
{
	isol8_log(level, "%s", message);
}

/* Every proxied connection holds two descriptors in isol8d, up to
 * network.maxConnections per filtered sandbox: the usual soft limit of 1024
 * would let a few busy sandboxes starve gRPC and Docker of descriptors, so
 * it is raised to the hard limit (at most ISOL8D_MAX_FILES). */
#define ISOL8D_MAX_FILES 65536
static void raise_file_limit(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	want = rl.rlim_max < ISOL8D_MAX_FILES ? rl.rlim_max : ISOL8D_MAX_FILES;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		isol8_log(ISOL8_LOG_WARN, "cannot raise the open files limit to %llu: %s", (unsigned long long)want,
			  strerror(errno));
}

/* The egress proxy of filtered sandboxes: one event loop, each decision a log line. */
static int start_egress(struct isol8d *d, struct isol8_error *err)
{
	raise_file_limit();
	d->cfg.egress.log = log_pool_event;
	return isol8_egress_start(&d->cfg.egress, &d->egress, err);
}

/* packages.registries and dependencies of the configuration. */
static void packages_from_file(const struct isol8_config *f, struct isol8_engine_packages *pk)
{
	memset(pk, 0, sizeof(*pk));
	for (int i = 0; f != NULL && i < ISOL8_RT_COUNT; i++) {
		pk->registries[i] = (const char *const *)f->packages.registries[i].items;
		pk->n_registries[i] = f->packages.registries[i].n;
		pk->dependencies[i] = (const char *const *)f->dependencies[i].items;
		pk->n_dependencies[i] = f->dependencies[i].n;
	}
}

static int start_engine(struct isol8d *d, struct isol8_error *err)
{
	struct isol8_engine_packages packages;
	struct isol8_engine_config ecfg = {
		.docker_socket = d->cfg.docker_socket,
		.run_dir = d->cfg.run_dir,
		.agent_path = d->cfg.agent_path,
		.images_dir = d->cfg.images_dir,
		.image_prefix = d->cfg.image_prefix,
		.base_image = d->cfg.base_image,
		.owner = d->cfg.socket_path,
		.max_concurrent = d->cfg.max_concurrent,
		.secure_pool = d->cfg.secure_pool,
		.prewarm = d->cfg.prewarm,
		.max_warm = d->cfg.max_warm,
		.max_sandboxes = d->cfg.max_sandboxes,
		.no_prestart = d->cfg.no_prestart,
		.defaults = &d->cfg.defaults,
		.policy = &d->cfg.policy,
		.remote_code = &d->cfg.remote_code,
		.prewarm_by_runtime = d->cfg.prewarm_by_runtime,
		.max_sessions = d->cfg.max_sessions,
		.session_idle_ms = d->cfg.session_idle_ms,
		.log = log_pool_event,
		.egress = d->egress,
		.ca_bundle = d->cfg.ca_bundle[0] ? d->cfg.ca_bundle : NULL,
		.egress_max_bytes = d->cfg.egress_max_bytes,
		.packages = &packages,
	};
	struct isol8_error orphan_err = ISOL8_ERROR_INIT;
	int removed = 0, ret;

	packages_from_file(d->cfg.file, &packages);
	ret = isol8_engine_new(&d->engine, &ecfg, err);
	if (ret < 0)
		return ret;
	isol8_service_init(&d->service, d->engine, d->cfg.api_key);
	if (isol8_engine_remove_orphans(d->engine, &removed, &orphan_err) < 0)
		isol8_log(ISOL8_LOG_WARN, "could not remove containers of an earlier run: %s", orphan_err.message);
	else if (removed > 0)
		isol8_log(ISOL8_LOG_INFO, "removed %d containers left by an earlier run", removed);
	return isol8_engine_prewarm(d->engine, err);
}

/* cleanup.autoPrune: every half of maxContainerAgeMs, at most a minute apart. */
static void prune_when_due(struct isol8d *d, int64_t *next_ms)
{
	int64_t interval = d->cfg.prune_age_ms / 2;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int removed = 0;

	if (!d->cfg.auto_prune)
		return;
	if (interval > 60000)
		interval = 60000;
	if (*next_ms == 0)
		*next_ms = isol8_now_ms() + interval;
	if (isol8_now_ms() < *next_ms)
		return;
	*next_ms = isol8_now_ms() + interval;
	if (isol8_engine_prune(d->engine, d->cfg.prune_age_ms, &removed, &err) < 0)
		isol8_log(ISOL8_LOG_WARN, "pruning old containers: %s", err.message);
	else if (removed > 0)
		isol8_log(ISOL8_LOG_INFO, "pruned %d containers older than %lld ms", removed,
			  (long long)d->cfg.prune_age_ms);
}

/* Waits for SIGINT/SIGTERM, or for the idle time to pass; prunes meanwhile. */
static void wait_for_stop(struct isol8d *d, const sigset_t *signals)
{
	struct timespec tick = {1, 0};
	int64_t next_prune = 0;

	for (;;) {
		int sig = sigtimedwait(signals, NULL, &tick);
		if (sig > 0) {
			isol8_log(ISOL8_LOG_INFO, "received signal %d: shutting down", sig);
			return;
		}
		prune_when_due(d, &next_prune);
		if (d->cfg.idle_exit_s > 0 && atomic_load(&d->service.calls) == 0 &&
		    isol8_now_ms() - atomic_load(&d->service.last_activity) > (int64_t)d->cfg.idle_exit_s * 1000) {
			isol8_log(ISOL8_LOG_INFO, "idle for %d s: shutting down", d->cfg.idle_exit_s);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	static struct isol8d d;
	struct isol8_error err = ISOL8_ERROR_INIT;
	sigset_t signals;
	int lock_fd = -1, ret;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = isol8d_config_parse(&d.cfg, argc, argv, &err);
	if (ret != 0) {
		if (ret < 0)
			fprintf(stderr, "isol8d: %s\n", err.message);
		isol8d_config_release(&d.cfg);
		return ret < 0 ? 2 : 0;
	}
	isol8_log_setup(d.cfg.log_level, d.cfg.log_json, "isol8d");
	if (d.cfg.file->path[0])
		isol8_log(ISOL8_LOG_INFO, "configuration file %s", d.cfg.file->path);

	ret = take_socket(&d.cfg, &lock_fd, &err);
	if (ret == 0)
		ret = start_egress(&d, &err);
	if (ret == 0)
		ret = start_engine(&d, &err);
	if (ret == 0)
		ret = start_server(&d, &err);
	if (ret < 0) {
		isol8_log(ISOL8_LOG_ERROR, "cannot start: %s", err.message);
		if (d.server)
			isol8_rpc_server_free(d.server);
		isol8_engine_free(d.engine);
		isol8_egress_stop(d.egress);
		if (lock_fd >= 0)
			close(lock_fd);
		isol8d_config_release(&d.cfg);
		return 1;
	}
	isol8_log(ISOL8_LOG_INFO, "serving on unix:%s (instance %s, agent %s)", d.cfg.socket_path,
		  isol8_engine_instance_id(d.engine), d.cfg.agent_path);
	warn_unserved_keys(&d.cfg);

	wait_for_stop(&d, &signals);

	isol8_rpc_server_shutdown(d.server, d.cfg.grace_ms);
	isol8_rpc_server_free(d.server);
	isol8_engine_free(d.engine);
	isol8_egress_stop(d.egress);
	unlink(d.cfg.socket_path);
	close(lock_fd);
	isol8_log(ISOL8_LOG_INFO, "stopped");
	isol8d_config_release(&d.cfg);
	return 0;
}
