/* isol8d's command line and environment: see daemon.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "base/runtimes.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"

static const char usage[] =
	"usage: isol8d [options]\n"
	"\n"
	"Serves isol8.v1.Isol8, isol8.v1.Admin and grpc.health.v1.Health over gRPC.\n"
	"Settings come from the built-in defaults, then the configuration file, then\n"
	"these flags.\n"
	"\n"
	"  --config PATH        configuration file (default: $ISOL8_CONFIG, else\n"
	"                       ./isol8.config.json, else ~/.isol8/config.json)\n"
	"  --check-config       check the configuration, print it with the source of\n"
	"                       each value, and exit\n"
	"  --socket PATH        unix socket (default: /run/isol8/isol8.sock as root,\n"
	"                       $XDG_RUNTIME_DIR/isol8/isol8.sock otherwise; env ISOL8_SOCKET)\n"
	"  --listen HOST:PORT   also serve TCP (repeatable); needs an API key\n"
	"  --key KEY            API key (also --api-key; env ISOL8_API_KEY): TCP calls\n"
	"                       need it, and any call that sends a key is checked\n"
	"  --tls-cert PEM       serve TCP with TLS: certificate chain\n"
	"  --tls-key PEM        serve TCP with TLS: private key\n"
	"  --run-dir DIR        sandbox sockets (default: the socket's directory)\n"
	"  --agent PATH         isol8-agent binary (env ISOL8_AGENT)\n"
	"  --images-dir DIR     image definitions (env ISOL8_IMAGES_DIR)\n"
	"  --base-image NAME    base image (default isol8:base; env ISOL8_BASE_IMAGE)\n"
	"  --image-prefix NAME  runtime images are NAME:<runtime> (default isol8)\n"
	"  --docker-socket PATH Docker Engine socket (default $DOCKER_HOST or /var/run/docker.sock)\n"
	"  --idle-exit SECONDS  exit after this long without calls (default 0: never)\n"
	"  --max-concurrent N   executions at once (default 10); up to 4 x N more wait\n"
	"  --pool-strategy S    fast: reset a used sandbox and reuse it (default);\n"
	"                       secure: never reuse one, replace it in the background\n"
	"  --prewarm N          clean sandboxes kept ready per runtime (default 1; 0: none)\n"
	"  --max-warm N         clean sandboxes across every pool (default 16; 0: none,\n"
	"                       every execution gets a new sandbox)\n"
	"  --max-sandboxes N    live sandboxes in all (default: max-concurrent + max-warm)\n"
	"  --no-prestart        do not keep Python and Node interpreters started in\n"
	"                       clean sandboxes\n"
	"  --grace-ms MS        time in-flight calls get at shutdown (default 10000)\n"
	"  --log-level LEVEL    debug, info, warn, error (default info)\n"
	"  --log-json           log JSON lines\n"
	"  --version, --help\n";

static int parse_int(const char *flag, const char *text, int min, int max, int *out, struct isol8_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not a number from %d to %d", flag,
				       text, min, max);
	*out = (int)v;
	return 0;
}

/* The agent binary: next to isol8d when installed, else the build tree's. */
static void default_agent_path(char *buf, size_t size)
{
	char exe[PATH_MAX], dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		isol8_dirname(exe, dir, sizeof(dir));
		if ((size_t)snprintf(buf, size, "%.*s/isol8-agent", (int)(size - 16), dir) < size &&
		    access(buf, R_OK) == 0)
			return;
	}
	snprintf(buf, size, "%s", ISOL8_AGENT_BUILD_PATH);
}

/* The image definitions: installed beside the binary (../share/isol8/images)
 * when there, else the source tree's. */
static const char *default_images_dir(void)
{
	static char installed[PATH_MAX];
	char exe[PATH_MAX], dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		isol8_dirname(exe, dir, sizeof(dir));
		if ((size_t)snprintf(installed, sizeof(installed), "%.*s/../share/isol8/images",
				     (int)(sizeof(installed) - 32), dir) < sizeof(installed) &&
		    access(installed, R_OK) == 0)
			return installed;
	}
	return ISOL8_IMAGES_DIR_DEFAULT;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && v[0] ? v : fallback;
}

static void set_defaults(struct isol8d_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->api_key = env_or("ISOL8_API_KEY", NULL);
	cfg->images_dir = env_or("ISOL8_IMAGES_DIR", default_images_dir());
	cfg->base_image = env_or("ISOL8_BASE_IMAGE", "isol8:base");
	cfg->image_prefix = env_or("ISOL8_IMAGE_PREFIX", "isol8");
	/* max_concurrent, prewarm and the rest the file has: its defaults (api/config) */
	cfg->grace_ms = 10000;
	cfg->log_level = ISOL8_LOG_INFO;
	snprintf(cfg->agent_path, sizeof(cfg->agent_path), "%s", env_or("ISOL8_AGENT", ""));
}

/* A relative path made absolute: the socket path is the daemon's identity
 * (its containers' owner label), so two daemons started in different
 * directories with the same relative --socket must not share it. */
static int make_absolute(const char *flag, char *path, size_t size, struct isol8_error *err)
{
	char cwd[PATH_MAX], joined[PATH_MAX + 2];

	if (path[0] == '/' || path[0] == '\0')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return isol8_error_errno(err, ISOL8_E_INVALID, errno, "%s: \"%s\" is relative and the working directory "
					 "cannot be read", flag, path);
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s/%s\" is too long (at most %zu bytes)", flag, cwd,
				       path, size - 1);
	memcpy(path, joined, strlen(joined) + 1); /* fits: checked above */
	return 0;
}

/* --listen takes TCP only: a unix or abstract socket there would be
 * served as local (no key, trusted), open to every local user. */
static int check_listen(const struct isol8d_config *cfg, struct isol8_error *err)
{
	static const char *const schemes[] = {"unix:", "unix-abstract:", "vsock:", "ipv4:", "ipv6:", "dns:"};

	for (int i = 0; i < cfg->n_listen; i++)
		for (size_t k = 0; k < ISOL8_ARRAY_LEN(schemes); k++)
			if (strncmp(cfg->listen[i], schemes[k], strlen(schemes[k])) == 0)
				return isol8_error_set(err, ISOL8_E_INVALID,
						       "%s: \"%s\" is not HOST:PORT (only TCP is served there; the "
						       "unix socket is --socket)",
						       isol8_config_source_of(cfg->file, "listen") == ISOL8_CONFIG_FILE
							       ? "listen"
							       : "--listen",
						       cfg->listen[i]);
	return 0;
}

static int finish(struct isol8d_config *cfg, struct isol8_error *err)
{
	int ret;

	if (cfg->socket_path[0] == '\0' &&
	    isol8_default_socket_path(cfg->socket_path, sizeof(cfg->socket_path), getuid(),
				      getenv("XDG_RUNTIME_DIR"), getenv("ISOL8_SOCKET")) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "--socket: the default socket path is too long");
	ret = make_absolute("--socket", cfg->socket_path, sizeof(cfg->socket_path), err);
	if (ret == 0)
		ret = make_absolute("--run-dir", cfg->run_dir, sizeof(cfg->run_dir), err);
	if (ret == 0)
		ret = check_listen(cfg, err);
	if (ret < 0)
		return ret;
	if (cfg->run_dir[0] == '\0')
		isol8_dirname(cfg->socket_path, cfg->run_dir, sizeof(cfg->run_dir));
	if (cfg->agent_path[0] == '\0')
		default_agent_path(cfg->agent_path, sizeof(cfg->agent_path));
	if (cfg->n_listen > 0 && (cfg->api_key == NULL || cfg->api_key[0] == '\0'))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: TCP needs an API key (--key KEY or ISOL8_API_KEY)",
				       isol8_config_source_of(cfg->file, "listen") == ISOL8_CONFIG_FILE ? "listen"
													: "--listen");
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		return isol8_error_set(err, ISOL8_E_INVALID, "--tls-cert and --tls-key go together");
	int warm = cfg->max_warm > 0 ? cfg->max_warm : (cfg->max_warm < 0 ? 0 : ISOL8_DEFAULT_MAX_WARM);
	int prewarmed = 0;
	/* no warm sandbox at all, and no prewarm asked for: none prewarmed */
	if (warm == 0 && isol8_config_source_of(cfg->file, "pool.prewarm") == ISOL8_CONFIG_DEFAULT) {
		for (int i = 0; i < ISOL8_RT_COUNT; i++)
			cfg->prewarm_by_runtime[i] = 0;
		cfg->prewarm = 0;
	}
	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		prewarmed += cfg->prewarm_by_runtime[i];
	if (prewarmed > warm) {
		bool file_prewarm = isol8_config_source_of(cfg->file, "pool.prewarm") == ISOL8_CONFIG_FILE;
		bool file_warm = isol8_config_source_of(cfg->file, "pool.maxWarm") == ISOL8_CONFIG_FILE;
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: %d sandboxes in all, more than %s %d",
				       file_prewarm ? "pool.prewarm" : "--prewarm", prewarmed,
				       file_warm ? "pool.maxWarm" : "--max-warm", warm);
	}
	return 0;
}

enum { OPT_SOCKET = 256, OPT_LISTEN, OPT_KEY, OPT_TLS_CERT, OPT_TLS_KEY, OPT_RUN_DIR, OPT_AGENT, OPT_IMAGES,
       OPT_BASE, OPT_PREFIX, OPT_DOCKER, OPT_IDLE, OPT_MAX, OPT_STRATEGY, OPT_PREWARM, OPT_MAX_WARM, OPT_MAX_SANDBOXES, OPT_NO_PRESTART, OPT_GRACE, OPT_LOG_LEVEL, OPT_LOG_JSON, OPT_VERSION, OPT_HELP,
       OPT_CONFIG, OPT_CHECK_CONFIG };

static const struct option options[] = {
	{"socket", required_argument, NULL, OPT_SOCKET}, {"listen", required_argument, NULL, OPT_LISTEN},
	{"key", required_argument, NULL, OPT_KEY}, {"api-key", required_argument, NULL, OPT_KEY},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY}, {"run-dir", required_argument, NULL, OPT_RUN_DIR},
	{"agent", required_argument, NULL, OPT_AGENT}, {"images-dir", required_argument, NULL, OPT_IMAGES},
	{"base-image", required_argument, NULL, OPT_BASE}, {"image-prefix", required_argument, NULL, OPT_PREFIX}, {"docker-socket", required_argument, NULL, OPT_DOCKER},
	{"idle-exit", required_argument, NULL, OPT_IDLE}, {"max-concurrent", required_argument, NULL, OPT_MAX},
	{"pool-strategy", required_argument, NULL, OPT_STRATEGY}, {"prewarm", required_argument, NULL, OPT_PREWARM},
	{"max-warm", required_argument, NULL, OPT_MAX_WARM},
	{"max-sandboxes", required_argument, NULL, OPT_MAX_SANDBOXES},
	{"no-prestart", no_argument, NULL, OPT_NO_PRESTART},
	{"grace-ms", required_argument, NULL, OPT_GRACE}, {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-json", no_argument, NULL, OPT_LOG_JSON}, {"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP}, {"config", required_argument, NULL, OPT_CONFIG},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG}, {NULL, 0, NULL, 0},
};

static int copy_path(const char *flag, const char *value, char *buf, size_t size, struct isol8_error *err)
{
	if ((size_t)snprintf(buf, size, "%s", value) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is too long", flag, value);
	return 0;
}

static int apply(struct isol8d_config *cfg, int opt, const char *arg, struct isol8_error *err)
{
	switch (opt) {
	case OPT_SOCKET:
		return copy_path("--socket", arg, cfg->socket_path, sizeof(cfg->socket_path), err);
	case OPT_LISTEN:
		if (cfg->n_listen == ISOL8D_MAX_LISTEN)
			return isol8_error_set(err, ISOL8_E_INVALID, "--listen: at most %d", ISOL8D_MAX_LISTEN);
		cfg->listen[cfg->n_listen++] = arg;
		return 0;
	case OPT_KEY: cfg->api_key = arg; return 0;
	case OPT_TLS_CERT: cfg->tls_cert = arg; return 0;
	case OPT_TLS_KEY: cfg->tls_key = arg; return 0;
	case OPT_RUN_DIR: return copy_path("--run-dir", arg, cfg->run_dir, sizeof(cfg->run_dir), err);
	case OPT_AGENT: return copy_path("--agent", arg, cfg->agent_path, sizeof(cfg->agent_path), err);
	case OPT_IMAGES: cfg->images_dir = arg; return 0;
	case OPT_BASE: cfg->base_image = arg; return 0;
	case OPT_PREFIX: cfg->image_prefix = arg; return 0;
	case OPT_DOCKER: cfg->docker_socket = arg; return 0;
	case OPT_IDLE: return parse_int("--idle-exit", arg, 0, INT_MAX, &cfg->idle_exit_s, err);
	case OPT_MAX: return parse_int("--max-concurrent", arg, 1, 4096, &cfg->max_concurrent, err);
	case OPT_STRATEGY:
		if (strcmp(arg, "fast") != 0 && strcmp(arg, "secure") != 0)
			return isol8_error_set(err, ISOL8_E_INVALID, "--pool-strategy: \"%s\" is not fast or secure", arg);
		cfg->secure_pool = strcmp(arg, "secure") == 0;
		return 0;
	case OPT_PREWARM: return parse_int("--prewarm", arg, 0, 64, &cfg->prewarm, err);
	case OPT_MAX_WARM:
		/* 0 keeps no sandbox warm: every execution gets a new one */
		if (parse_int("--max-warm", arg, 0, 1024, &cfg->max_warm, err) < 0)
			return -err->code;
		if (cfg->max_warm == 0)
			cfg->max_warm = -1;
		return 0;
	case OPT_MAX_SANDBOXES: return parse_int("--max-sandboxes", arg, 1, 8192, &cfg->max_sandboxes, err);
	case OPT_NO_PRESTART: cfg->no_prestart = true; return 0;
	case OPT_GRACE: return parse_int("--grace-ms", arg, 0, 3600000, &cfg->grace_ms, err);
	case OPT_LOG_LEVEL:
		cfg->log_level = isol8_log_level_parse(arg);
		if (cfg->log_level < 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "--log-level: \"%s\" is not one of debug, info, warn, error", arg);
		return 0;
	case OPT_LOG_JSON: cfg->log_json = true; return 0;
	default:
		return isol8_error_set(err, ISOL8_E_INVALID, "unknown option (see isol8d --help)");
	}
}

/* The flags given, kept until the configuration file is read: they win over it. */
struct given_flag {
	int opt;
	const char *arg;
	const char *name;
};

/* The file, then the flags over it, then the checks between settings. */
static int resolve(struct isol8d_config *cfg, struct given_flag *given, size_t n, struct isol8_error *err)
{
	_cleanup_free_ const char **names = calloc(n + 1, sizeof(*names));
	bool listen_flag = false;
	int ret;

	if (names == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	ret = isol8_config_load(&cfg->file, cfg->config_path, err);
	if (ret == 0)
		ret = isol8d_config_file_apply(cfg, err);
	for (size_t i = 0; i < n && ret == 0; i++) {
		/* --listen replaces the file's addresses */
		if (given[i].opt == OPT_LISTEN && !listen_flag) {
			cfg->n_listen = 0;
			listen_flag = true;
		}
		ret = apply(cfg, given[i].opt, given[i].arg, err);
		names[i] = given[i].name;
	}
	if (ret == 0)
		ret = isol8d_config_file_flags(cfg, names, n, err);
	if (ret == 0)
		ret = finish(cfg, err);
	return ret;
}

int isol8d_config_parse(struct isol8d_config *cfg, int argc, char **argv, struct isol8_error *err)
{
	_cleanup_free_ struct given_flag *given = NULL;
	size_t n = 0;
	int opt, index = 0, ret;

	set_defaults(cfg);
	given = calloc((size_t)argc + 1, sizeof(*given));
	if (given == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, &index)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			puts("isol8d " ISOL8_VERSION);
			return 1;
		}
		if (opt == '?')
			return isol8_error_set(err, ISOL8_E_INVALID, "unknown option \"%s\" (see isol8d --help)",
					       argv[optind - 1]);
		if (opt == OPT_CONFIG)
			cfg->config_path = optarg;
		else if (opt == OPT_CHECK_CONFIG)
			cfg->check_config = true;
		else
			given[n++] = (struct given_flag){opt, optarg, options[index].name};
	}
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\"", argv[optind]);
	ret = resolve(cfg, given, n, err);
	if (ret == 0 && cfg->check_config) {
		isol8_config_print_text(cfg->file, stdout);
		return 1;
	}
	return ret;
}

void isol8d_config_release(struct isol8d_config *cfg)
{
	isol8_config_free(cfg->file);
	cfg->file = NULL;
}
